// remote::connect of a signal whose argument has no JSON form: RemoteArgument says so.
#include <nlohmann/json.hpp>
#include <tocsin/remote.hpp>

struct Opaque {
    int* pointer = nullptr;
};
struct Order {
    int id = 0;
};
void to_json(nlohmann::json& j, const Order& o) {
    j = o.id;
}
void from_json(const nlohmann::json& j, Order& o) {
    o.id = j.get<int>();
}

void connect() {
#ifdef TOCSIN_COMPILE_FAIL_CONTROL
    static tocsin::Signal<void(const Order&)> placed{"placed"};
    tocsin::remote::connect(placed, [](const Order&) {}, {.dispatch_uid = "x"});
#else
    static tocsin::Signal<void(const Opaque&)> placed{"placed"};
    tocsin::remote::connect(placed, [](const Opaque&) {}, {.dispatch_uid = "x"});
#endif
}
