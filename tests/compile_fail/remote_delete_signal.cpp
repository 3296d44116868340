// remote::connect to post_delete: only post_save can be remote (the row is gone).
#include <string>
#include <tocsin/remote.hpp>

struct User : tocsin::Model<User> {
    static constexpr std::string_view label = "auth.User";
    std::string name;
    static auto fields() { return tocsin::fields(tocsin::field("name", &User::name)); }
};

void connect() {
#ifdef TOCSIN_COMPILE_FAIL_CONTROL
    tocsin::remote::connect<User>(tocsin::post_save, [](User&, const tocsin::SaveEvent&) {},
                                  {.dispatch_uid = "x"});
#else
    tocsin::remote::connect<User>(tocsin::post_delete, [](User&, const tocsin::DeleteEvent&) {},
                                  {.dispatch_uid = "x"});
#endif
}
