// post_save.connect<User>(receiver) with a receiver taking the wrong event type.
#include <tocsin/models.hpp>

struct User : tocsin::Model<User> {
    static constexpr std::string_view label = "auth.User";
    std::string name;
    static auto fields() { return tocsin::fields(tocsin::field("name", &User::name)); }
};

void connect() {
#ifdef TOCSIN_COMPILE_FAIL_CONTROL
    tocsin::post_save.connect<User>([](User&, const tocsin::SaveEvent&) {});
#else
    tocsin::post_save.connect<User>([](User&, const tocsin::DeleteEvent&) {});
#endif
}
