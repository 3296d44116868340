// post_update.connect<int>(receiver): int is not a model.
#include <tocsin/models.hpp>

struct User : tocsin::Model<User> {
    static constexpr std::string_view label = "auth.User";
    std::string name;
    static auto fields() { return tocsin::fields(tocsin::field("name", &User::name)); }
};

void connect() {
#ifdef TOCSIN_COMPILE_FAIL_CONTROL
    tocsin::post_update.connect<User>([](const tocsin::UpdateEvent&) {});
#else
    tocsin::post_update.connect<int>([](const tocsin::UpdateEvent&) {});
#endif
}
