// The admin server: its assets, headers, routing of anonymous requests, size limits, the address
// of runserver, and the escaping writer every page is built with.
#include <gtest/gtest.h>

#include "admin_support.hpp"

namespace tocsin::admin::test {
namespace {
namespace server_test {

using AdminServerTest = AdminTest;

TEST(AdminHtml, EscapesEveryValueAndKeepsLiteralMarkup) {
    Html h;
    h << Raw("<p>") << "<script>alert('x')</script> & \"q\"" << Raw("</p>");
    h << Raw("<a");
    h.attr("href", "\"><script>") << Raw(">");
    EXPECT_EQ(h.str(),
              "<p>&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;q&quot;</p>"
              "<a href=\"&quot;&gt;&lt;script&gt;\">");
}

TEST(AdminHtml, InvalidUtf8AndControlCharacters) {
    EXPECT_EQ(escape("a\xff"
                     "b"),
              "a\xEF\xBF\xBD"
              "b");
    EXPECT_EQ(escape("a\x01\x1b"
                     "b\tc\n"),
              "ab\tc\n");
    EXPECT_EQ(escape("h\xC3\xA9llo"), "h\xC3\xA9llo");          // é kept
    EXPECT_EQ(escape("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/' refused
}

TEST(AdminAddress, ParsesAddrPort) {
    EXPECT_EQ(parse_address("127.0.0.1:8000", "x"),
              (std::pair<std::string, int>{"127.0.0.1", 8000}));
    EXPECT_EQ(parse_address("8001", "127.0.0.1"), (std::pair<std::string, int>{"127.0.0.1", 8001}));
    EXPECT_EQ(parse_address(":0", "127.0.0.1"), (std::pair<std::string, int>{"127.0.0.1", 0}));
    EXPECT_EQ(parse_address("[::1]:9000", "x"), (std::pair<std::string, int>{"::1", 9000}));
    EXPECT_THROW(static_cast<void>(parse_address("127.0.0.1:http", "x")), std::invalid_argument);
    EXPECT_THROW(static_cast<void>(parse_address("127.0.0.1:70000", "x")), std::invalid_argument);
    EXPECT_THROW(static_cast<void>(parse_address("", "x")), std::invalid_argument);
}

TEST_F(AdminServerTest, ServesItsOwnAssets) {
    Browser b(port_);
    const auto css = b.get("/admin/static/admin.css");
    EXPECT_EQ(css.status, 200);
    EXPECT_NE(css.body.find("#header"), std::string::npos);
    const auto js = b.get("/admin/static/admin.js");
    EXPECT_EQ(js.status, 200);
    EXPECT_NE(js.body.find("EventSource"), std::string::npos);
    EXPECT_NE(js.body.find("source.onopen"), std::string::npos);  // data-live="open"
    // A page links its assets on this server only: no CDN.
    const auto login = b.get("/admin/login/");
    EXPECT_NE(login.body.find("href=\"/admin/static/admin.css\""), std::string::npos);
    EXPECT_EQ(login.body.find("http://"), std::string::npos);
    EXPECT_EQ(login.body.find("https://"), std::string::npos);
}

TEST_F(AdminServerTest, AnonymousRequestsGoToTheLoginPage) {
    Browser b(port_);
    for (const std::string path :
         {"/admin/", "/admin/library/book/", "/admin/library/book/add/",
          "/admin/library/book/1/change/", "/admin/library/book/1/delete/", "/admin/signals/",
          "/admin/signals/receivers/", "/admin/signals/graph.svg", "/admin/auth/user/?q=a"}) {
        const auto page = b.get(path);
        EXPECT_EQ(page.status, 302) << path;
        // (httplib's client hands the Location header over percent-decoded.)
        EXPECT_EQ(page.location, "/admin/login/?next=" + path) << path;
    }
    EXPECT_EQ(b.get("/").location, "/admin/");
}

TEST_F(AdminServerTest, PagesCarrySecurityHeaders) {
    auto b = staff();
    const auto page = b.get("/admin/");
    ASSERT_EQ(page.status, 200);
    EXPECT_EQ(page.headers.find("X-Frame-Options")->second, "DENY");
    EXPECT_EQ(page.headers.find("X-Content-Type-Options")->second, "nosniff");
    EXPECT_NE(page.headers.find("Content-Security-Policy")->second.find("default-src 'self'"),
              std::string::npos);
    EXPECT_EQ(page.headers.find("Cache-Control")->second, "no-store");
}

TEST_F(AdminServerTest, UnknownPagesAre404) {
    auto b = staff();
    EXPECT_EQ(b.get("/admin/library/nosuchmodel/").status, 404);
    EXPECT_EQ(b.get("/admin/library/book/abc/change/").status, 404);
    EXPECT_EQ(b.get("/admin/library/book/999/change/").status, 404);
    EXPECT_EQ(b.get("/admin/library/book/1/explode/").status, 404);
    EXPECT_EQ(b.get("/elsewhere").status, 404);
}

TEST_F(AdminServerTest, RequestSizeLimits) {
    auto b = staff();
    // A form body over the form limit (8 KiB in cpp-httplib) or over max_body_bytes: 413.
    const auto big = b.post("/admin/library/author/add/", {{"name", std::string(20000, 'a')}});
    EXPECT_EQ(big.status, 413);
    const auto huge = b.client().Post("/admin/library/author/add/",
                                      std::string(2 * 1024 * 1024, 'x'), "text/plain");
    ASSERT_TRUE(huge);
    EXPECT_EQ(huge->status, 413);
    // An over-long URL: 414.
    const auto url = b.get("/admin/?q=" + std::string(10000, 'a'));
    EXPECT_EQ(url.status, 414);
    EXPECT_EQ(Author::objects().count(), 0U);
}

}  // namespace server_test
}  // namespace
}  // namespace tocsin::admin::test
