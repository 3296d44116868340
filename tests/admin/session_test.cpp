// Staff logins: the login page, the session cookie, the login signals, who may get in, logout,
// and `next=` that never leads off the site.
#include <gtest/gtest.h>

#include "../../src/admin/internal.hpp"
#include "admin_support.hpp"

namespace tocsin::admin::test {
namespace {
namespace session_test {

using AdminSessionTest = AdminTest;

TEST_F(AdminSessionTest, LoginSetsAnHttpOnlySameSiteSessionCookie) {
    Browser b(port_);
    const auto page = b.login("admin", "secret");
    ASSERT_EQ(page.status, 302) << page.body;
    EXPECT_EQ(page.location, "/admin/");
    std::string session_cookie;
    for (const auto& c : page.set_cookies) {
        if (c.starts_with("sessionid=")) {
            session_cookie = c;
        }
    }
    ASSERT_FALSE(session_cookie.empty());
    EXPECT_NE(session_cookie.find("HttpOnly"), std::string::npos);
    EXPECT_NE(session_cookie.find("SameSite=Lax"), std::string::npos);
    EXPECT_NE(session_cookie.find("Path=/"), std::string::npos);
    const auto index = b.get("/admin/");
    EXPECT_EQ(index.status, 200);
    EXPECT_NE(index.body.find("<strong id=\"user-name\">admin</strong>"), std::string::npos);
    // The session is a database session of the auth app, holding the user.
    auth::SessionStore session(b.cookies["sessionid"]);
    ASSERT_TRUE(auth::get_user(session));
    EXPECT_EQ(auth::get_user(session)->username(), "admin");
}

TEST_F(AdminSessionTest, WrongPasswordShowsTheErrorAndFiresUserLoginFailed) {
    std::vector<auth::Credentials> failures;
    ScopedConnection receiver = auth::user_login_failed.connect(
        [&](const auth::Credentials& c, auth::SessionStore*) { failures.push_back(c); });
    Browser b(port_);
    const auto page = b.login("admin", "wrong");
    EXPECT_EQ(page.status, 200);
    EXPECT_NE(page.body.find("Please enter the correct username and password for a staff account"),
              std::string::npos);
    // The username typed is kept, the password is not.
    EXPECT_NE(page.body.find("value=\"admin\""), std::string::npos);
    EXPECT_EQ(page.body.find("wrong"), std::string::npos);
    ASSERT_EQ(failures.size(), 1U);
    EXPECT_EQ(failures[0].at("username"), "admin");
    EXPECT_EQ(failures[0].at("password"), "********************");
    EXPECT_EQ(b.cookies.count("sessionid"), 0U);
    EXPECT_EQ(b.get("/admin/").status, 302);
}

TEST_F(AdminSessionTest, LoginFiresUserLoggedInAndLogoutUserLoggedOut) {
    int logged_in = 0;
    int logged_out = 0;
    ScopedConnection in =
        auth::user_logged_in.connect([&](auth::AnyUser&, auth::SessionStore&) { ++logged_in; });
    ScopedConnection out =
        auth::user_logged_out.connect([&](auth::AnyUser* user, auth::SessionStore&) {
            EXPECT_NE(user, nullptr);
            ++logged_out;
        });
    auto b = staff();
    EXPECT_EQ(logged_in, 1);
    const auto key = b.cookies["sessionid"];
    const auto page = b.post("/admin/logout/", {});
    EXPECT_EQ(page.status, 200);
    EXPECT_NE(page.body.find("Logged out"), std::string::npos);
    EXPECT_EQ(logged_out, 1);
    EXPECT_EQ(b.cookies.count("sessionid"), 0U);
    // The old key is worth nothing any more.
    b.cookies["sessionid"] = key;
    EXPECT_EQ(b.get("/admin/").status, 302);
    // Logging out takes a POST (a link or an image cannot log a user out).
    auto c = staff();
    EXPECT_EQ(c.get("/admin/logout/").status, 405);
    EXPECT_EQ(c.get("/admin/").status, 200);
}

TEST_F(AdminSessionTest, OnlyActiveStaffGetIn) {
    auto& users = auth::get_user_model();
    static_cast<void>(users.create_user({.username = "reader", .password = "pw"}));
    auto locked = users.create_user({.username = "gone", .password = "pw", .is_staff = true});
    auto user = locked.as<auth::User>();
    user.is_active = false;
    user.save();
    for (const char* name : {"reader", "gone"}) {
        Browser b(port_);
        const auto page = b.login(name, "pw");
        EXPECT_EQ(page.status, 200) << name;
        EXPECT_NE(page.body.find("staff account"), std::string::npos) << name;
        EXPECT_EQ(b.get("/admin/").status, 302) << name;
    }
    // A staff user whose staff flag is taken away is out at the next request.
    auto b = staff();
    auto admin = staff_->as<auth::User>();
    admin.refresh_from_db();
    admin.is_staff = false;
    admin.save();
    EXPECT_EQ(b.get("/admin/").status, 302);
}

TEST_F(AdminSessionTest, NextLeadsOnlyToThisSite) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"/admin/library/book/", "/admin/library/book/"},
        {"/admin/auth/user/?q=a", "/admin/auth/user/?q=a"},
        {"//evil.example/", "/admin/"},
        {"http://evil.example/", "/admin/"},
        {"https:evil.example", "/admin/"},
        {"/\\evil.example", "/admin/"},
        {"\\\\evil.example", "/admin/"},
        {"javascript:alert(1)", "/admin/"},
        {"/admin/\r\nSet-Cookie: x=y", "/admin/"},
        {"", "/admin/"},
    };
    for (const auto& [next, expected] : cases) {
        Browser b(port_);
        const auto page = b.login("admin", "secret", next);
        EXPECT_EQ(page.status, 302) << next;
        EXPECT_EQ(page.location, expected) << next;
    }
    // The login page carries next= in its form, escaped.
    Browser b(port_);
    const auto page = b.get("/admin/login/?next=%2Fadmin%2F%22%3E%3Cscript%3E");
    EXPECT_NE(page.body.find("value=\"/admin/&quot;&gt;&lt;script&gt;\""), std::string::npos);
    EXPECT_EQ(page.body.find("\"><script>"), std::string::npos);
}

TEST_F(AdminSessionTest, LoginGivesANewCsrfToken) {
    Browser b(port_);
    static_cast<void>(b.get("/admin/login/"));
    const auto before = b.cookies["csrftoken"];
    ASSERT_EQ(b.login("admin", "secret").status, 302);
    EXPECT_NE(b.cookies["csrftoken"], before);
    EXPECT_EQ(b.cookies["csrftoken"].size(), 32U);
    // The forms of the next pages carry the new secret (masked), and posts with it work.
    const std::string body = b.get("/admin/").body;
    const std::string field = "name=\"csrfmiddlewaretoken\" value=\"";
    const auto at = body.find(field);
    ASSERT_NE(at, std::string::npos);
    EXPECT_EQ(detail::csrf_unmask_cipher_token(body.substr(at + field.size(), 64)),
              b.cookies["csrftoken"]);
    EXPECT_EQ(b.post("/admin/library/tag/add/", {{"name", "x"}}).status, 302);
}

TEST_F(AdminSessionTest, ASessionKeyMadeUpByTheClientIsNotUsed) {
    Browser b(port_);
    b.cookies["sessionid"] = "abcdefghijklmnopqrstuvwxyz012345";
    EXPECT_EQ(b.get("/admin/").status, 302);
    const auto page = b.login("admin", "secret");
    ASSERT_EQ(page.status, 302);
    EXPECT_NE(b.cookies["sessionid"], "abcdefghijklmnopqrstuvwxyz012345");
}

}  // namespace session_test
}  // namespace
}  // namespace tocsin::admin::test
