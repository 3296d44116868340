// CSRF: every form carries the token; a POST without it, with another one, or from another
// origin gets 403 and changes nothing.
#include <gtest/gtest.h>

#include "admin_support.hpp"

namespace tocsin::admin::test {
namespace {

using AdminCsrfTest = AdminTest;

TEST_F(AdminCsrfTest, EveryFormCarriesTheToken) {
    auto b = staff();
    for (const std::string path :
         {"/admin/", "/admin/library/author/add/", "/admin/auth/user/add/"}) {
        const auto page = b.get(path);
        ASSERT_EQ(page.status, 200) << path;
        EXPECT_EQ(occurrences(page.body, "<form method=\"post\""),
                  occurrences(page.body, "name=\"csrfmiddlewaretoken\" value=\"" +
                                             b.cookies["csrftoken"] + "\""))
            << path;
    }
    Browser anonymous(port_);
    const auto login = anonymous.get("/admin/login/");
    EXPECT_NE(login.body.find("name=\"csrfmiddlewaretoken\" value=\"" +
                              anonymous.cookies["csrftoken"] + "\""),
              std::string::npos);
    std::string cookie;
    for (const auto& c : login.set_cookies) {
        if (c.starts_with("csrftoken=")) {
            cookie = c;
        }
    }
    EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
    EXPECT_NE(cookie.find("SameSite=Lax"), std::string::npos);
}

TEST_F(AdminCsrfTest, APostWithoutTheTokenIs403) {
    auto b = staff();
    const auto page = b.post("/admin/library/author/add/", {{"name", "Ann"}}, /*csrf=*/false);
    EXPECT_EQ(page.status, 403);
    EXPECT_NE(page.body.find("CSRF token missing"), std::string::npos);
    EXPECT_EQ(Author::objects().count(), 0U);
}

TEST_F(AdminCsrfTest, APostWithAnotherTokenIs403) {
    auto b = staff();
    const auto page = b.post("/admin/library/author/add/",
                             {{"name", "Ann"}, {"csrfmiddlewaretoken", std::string(32, 'a')}},
                             /*csrf=*/false);
    EXPECT_EQ(page.status, 403);
    EXPECT_NE(page.body.find("CSRF token incorrect"), std::string::npos);
    EXPECT_EQ(Author::objects().count(), 0U);
}

TEST_F(AdminCsrfTest, TheTokenInTheUrlDoesNotCount) {
    auto b = staff();
    const auto page =
        b.post("/admin/library/author/add/?csrfmiddlewaretoken=" + b.cookies["csrftoken"],
               {{"name", "Ann"}}, /*csrf=*/false);
    EXPECT_EQ(page.status, 403);
    EXPECT_EQ(Author::objects().count(), 0U);
}

TEST_F(AdminCsrfTest, APostWithoutTheCookieIs403) {
    auto b = staff();
    const auto token = b.cookies["csrftoken"];
    b.cookies.erase("csrftoken");
    const auto page =
        b.post("/admin/library/author/add/", {{"name", "Ann"}, {"csrfmiddlewaretoken", token}},
               /*csrf=*/false);
    EXPECT_EQ(page.status, 403);
    EXPECT_NE(page.body.find("CSRF cookie not set"), std::string::npos);
    EXPECT_EQ(Author::objects().count(), 0U);
}

TEST_F(AdminCsrfTest, APostFromAnotherOriginIs403) {
    auto b = staff();
    const auto page = b.post("/admin/library/author/add/", {{"name", "Ann"}}, true,
                             {{"Origin", "http://evil.example"}});
    EXPECT_EQ(page.status, 403);
    EXPECT_NE(page.body.find("Origin checking failed"), std::string::npos);
    EXPECT_EQ(Author::objects().count(), 0U);
    // The same post from this site's origin works.
    const auto ok = b.post("/admin/library/author/add/", {{"name", "Ann"}}, true,
                           {{"Origin", "http://127.0.0.1:" + std::to_string(port_)}});
    EXPECT_EQ(ok.status, 302) << ok.body;
    EXPECT_EQ(Author::objects().count(), 1U);
}

TEST_F(AdminCsrfTest, LoginAndLogoutNeedTheTokenToo) {
    int failures = 0;
    ScopedConnection receiver = auth::user_login_failed.connect(
        [&](const auth::Credentials&, auth::SessionStore*) { ++failures; });
    Browser b(port_);
    static_cast<void>(b.get("/admin/login/"));
    const auto login =
        b.post("/admin/login/", {{"username", "admin"}, {"password", "secret"}}, /*csrf=*/false);
    EXPECT_EQ(login.status, 403);
    EXPECT_EQ(b.cookies.count("sessionid"), 0U);
    EXPECT_EQ(failures, 0);  // refused before any authentication
    auto s = staff();
    EXPECT_EQ(s.post("/admin/logout/", {}, /*csrf=*/false).status, 403);
    EXPECT_EQ(s.get("/admin/").status, 200);  // still logged in
}

}  // namespace
}  // namespace tocsin::admin::test
