// CSRF: every form carries the token; a POST without it, with another one, or from another
// origin gets 403 and changes nothing.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "../../src/admin/internal.hpp"
#include "admin_support.hpp"

namespace tocsin::admin::test {
namespace {
namespace csrf_test {

using AdminCsrfTest = AdminTest;

// Django's csrf_tests vectors: a secret, and two masked forms of it.
constexpr std::string_view TEST_SECRET = "lcccccccX2kcccccccY2jcccccccssIC";
constexpr std::string_view MASKED_TEST_SECRET1 =
    "1bcdefghij2bcdefghij3bcdefghij4bcdefghij5bcdefghij6bcdefghijABCD";
constexpr std::string_view MASKED_TEST_SECRET2 =
    "2JgchWvM1tpxT2lfz9aydoXW9yT1DN3NdLiejYxOOlzzV4nhBbYqmqZYbAV3V5Bf";

/// The CSRF tokens of the forms of `body`.
std::vector<std::string> form_tokens(const std::string& body) {
    static const std::regex token(R"re(name="csrfmiddlewaretoken" value="([^"]*)")re");
    std::vector<std::string> out;
    for (auto it = std::sregex_iterator(body.begin(), body.end(), token);
         it != std::sregex_iterator(); ++it) {
        out.push_back((*it)[1]);
    }
    return out;
}

/// Django's assertMaskedSecretCorrect.
void expect_masked_secret_correct(const std::string& masked, std::string_view secret) {
    EXPECT_EQ(masked.size(), detail::csrf_masked_length) << masked;
    EXPECT_EQ(masked.find_first_not_of(detail::csrf_allowed_chars), std::string::npos) << masked;
    EXPECT_EQ(detail::csrf_unmask_cipher_token(masked), secret) << masked;
}

// Django: csrf_tests.tests.CsrfFunctionTests.
TEST(CsrfFunctionTests, test_unmask_cipher_token) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {std::string(TEST_SECRET), std::string(MASKED_TEST_SECRET1)},
        {std::string(TEST_SECRET), std::string(MASKED_TEST_SECRET2)},
        {std::string(32, 'a'), "vFioG3XOLyGyGsPRFyB9iYUs341ufzIEvFioG3XOLyGyGsPRFyB9iYUs341ufzIE"},
        {std::string(32, 'a'), std::string(64, 'a')},
        {std::string(32, 'a'), std::string(64, 'b')},
        {std::string(32, 'b'), std::string(32, 'a') + std::string(32, 'b')},
        {std::string(32, 'b'), std::string(32, 'b') + std::string(32, 'c')},
        {std::string(32, 'c'), std::string(32, 'a') + std::string(32, 'c')},
    };
    for (const auto& [secret, masked] : cases) {
        EXPECT_EQ(detail::csrf_unmask_cipher_token(masked), secret) << masked;
    }
}

TEST(CsrfFunctionTests, test_mask_cipher_secret) {
    for (const std::string& secret : {std::string(32, 'a'), std::string(TEST_SECRET),
                                      std::string("da4SrUiHJYoJ0HYQ0vcgisoIuFOxx4ER")}) {
        expect_masked_secret_correct(detail::csrf_mask_cipher_secret(secret), secret);
    }
    // With Django's mask, Django's token.
    EXPECT_EQ(detail::csrf_mask_cipher_secret(TEST_SECRET, MASKED_TEST_SECRET1.substr(0, 32)),
              MASKED_TEST_SECRET1);
}

TEST(CsrfFunctionTests, test_check_token_format_valid) {
    for (const std::string_view token : {TEST_SECRET, MASKED_TEST_SECRET1, MASKED_TEST_SECRET2}) {
        EXPECT_EQ(detail::csrf_token_format_error(token), "") << token;
    }
}

TEST(CsrfFunctionTests, test_check_token_format_invalid) {
    EXPECT_EQ(detail::csrf_token_format_error(std::string(64, '*')), "has invalid characters");
    EXPECT_EQ(detail::csrf_token_format_error(std::string(16, 'a')), "has incorrect length");
}

TEST(CsrfFunctionTests, test_does_token_match) {
    EXPECT_TRUE(detail::csrf_token_matches(MASKED_TEST_SECRET1, TEST_SECRET));
    EXPECT_TRUE(detail::csrf_token_matches(MASKED_TEST_SECRET2, TEST_SECRET));
    EXPECT_TRUE(detail::csrf_token_matches(TEST_SECRET, TEST_SECRET));
    EXPECT_FALSE(detail::csrf_token_matches(std::string(32, 'a'), TEST_SECRET));
    EXPECT_FALSE(detail::csrf_token_matches(std::string(64, 'a'), TEST_SECRET));
    // Tampered: one character of the cipher changed.
    std::string tampered(MASKED_TEST_SECRET1);
    tampered[40] = tampered[40] == 'a' ? 'b' : 'a';
    EXPECT_FALSE(detail::csrf_token_matches(tampered, TEST_SECRET));
}

// Django: test_token_node_with_new_csrf_cookie — a page asked for without the cookie sets one
// (the 32-character secret) and its forms carry the secret masked, never the secret itself.
TEST_F(AdminCsrfTest, test_token_node_with_new_csrf_cookie) {
    Browser anonymous(port_);
    const auto login = anonymous.get("/admin/login/");
    const std::string secret = anonymous.cookies["csrftoken"];
    ASSERT_EQ(secret.size(), 32U);
    const auto tokens = form_tokens(login.body);
    ASSERT_EQ(tokens.size(), 1U);
    expect_masked_secret_correct(tokens[0], secret);
    EXPECT_EQ(login.body.find(secret), std::string::npos) << "the secret itself is in the page";
}

// Every form carries the token; each response masks the secret afresh (BREACH): two pages
// never carry the same token, and every one of them is accepted.
TEST_F(AdminCsrfTest, EveryFormCarriesTheTokenMaskedAfreshPerResponse) {
    auto b = staff();
    const std::string secret = b.cookies["csrftoken"];
    std::set<std::string> seen;
    for (const std::string path :
         {"/admin/", "/admin/library/author/add/", "/admin/auth/user/add/", "/admin/"}) {
        const auto page = b.get(path);
        ASSERT_EQ(page.status, 200) << path;
        const auto tokens = form_tokens(page.body);
        EXPECT_EQ(occurrences(page.body, "<form method=\"post\""), tokens.size()) << path;
        ASSERT_FALSE(tokens.empty()) << path;
        for (const auto& token : tokens) {
            expect_masked_secret_correct(token, secret);
            EXPECT_EQ(token, tokens.front()) << "one mask per response";
        }
        EXPECT_TRUE(seen.insert(tokens.front()).second) << "a token seen before: " << path;
    }
    EXPECT_EQ(b.cookies["csrftoken"], secret);  // the cookie stays
    for (const auto& token : seen) {
        const auto ok = b.post("/admin/library/tag/add/",
                               {{"name", "t" + token.substr(0, 6)}, {"csrfmiddlewaretoken", token}},
                               /*csrf=*/false);
        EXPECT_EQ(ok.status, 302) << ok.body;
    }
}

// Django: test_process_request_csrf_cookie_and_token — the page's masked token with its cookie
// passes.
TEST_F(AdminCsrfTest, test_process_request_csrf_cookie_and_token) {
    auto b = staff();
    const auto tokens = form_tokens(b.get("/admin/library/author/add/").body);
    ASSERT_FALSE(tokens.empty());
    const auto page = b.post("/admin/library/author/add/",
                             {{"name", "Ann"}, {"csrfmiddlewaretoken", tokens[0]}}, false);
    EXPECT_EQ(page.status, 302) << page.body;
    EXPECT_EQ(Author::objects().count(), 1U);
}

// Django: test_masked_unmasked_combinations — a masked or unmasked cookie (a cookie masked by
// an older version keeps working) with a masked or unmasked token.
TEST_F(AdminCsrfTest, test_masked_unmasked_combinations) {
    auto b = staff();
    int n = 0;
    for (const std::string_view cookie : {TEST_SECRET, MASKED_TEST_SECRET1}) {
        for (const std::string_view token : {TEST_SECRET, MASKED_TEST_SECRET2}) {
            b.cookies["csrftoken"] = std::string(cookie);
            const auto page = b.post("/admin/library/tag/add/",
                                     {{"name", "tag" + std::to_string(++n)},
                                      {"csrfmiddlewaretoken", std::string(token)}},
                                     false);
            EXPECT_EQ(page.status, 302) << cookie << " " << token << "\n" << page.body;
        }
    }
    // A masked cookie is set again as its secret.
    b.cookies["csrftoken"] = std::string(MASKED_TEST_SECRET1);
    static_cast<void>(b.get("/admin/"));
    EXPECT_EQ(b.cookies["csrftoken"], TEST_SECRET);
}

// Django: test_bad_csrf_cookie_characters, test_bad_csrf_cookie_length, and the bad tokens of
// _test_bad_csrf_token: refused with Django's reasons; a GET replaces a bad cookie.
TEST_F(AdminCsrfTest, BadCookiesAndTokensAreRefusedWithDjangosReasons) {
    auto b = staff();
    const std::vector<std::pair<std::string, std::string>> bad_cookies = {
        {std::string(32, '-'), "CSRF cookie has invalid characters."},
        {std::string(16, 'a'), "CSRF cookie has incorrect length."},
    };
    for (const auto& [cookie, reason] : bad_cookies) {
        b.cookies["csrftoken"] = cookie;
        const auto page =
            b.post("/admin/library/author/add/",
                   {{"name", "Ann"}, {"csrfmiddlewaretoken", std::string(TEST_SECRET)}}, false);
        EXPECT_EQ(page.status, 403);
        EXPECT_NE(page.body.find(reason), std::string::npos) << reason << "\n" << page.body;
        static_cast<void>(b.get("/admin/"));
        EXPECT_EQ(b.cookies["csrftoken"].size(), 32U) << "a GET sets a new secret";
    }
    const std::vector<std::pair<std::string, std::string>> bad_tokens = {
        {std::string(16, 'a'), "CSRF token from POST has incorrect length."},
        {std::string(64, '*'), "CSRF token from POST has invalid characters."},
        {std::string(64, 'a'), "CSRF token from POST incorrect."},
        {std::string(32, 'a'), "CSRF token from POST incorrect."},
        {"", "CSRF token missing."},
    };
    for (const auto& [token, reason] : bad_tokens) {
        const auto page = b.post("/admin/library/author/add/",
                                 {{"name", "Ann"}, {"csrfmiddlewaretoken", token}}, false);
        EXPECT_EQ(page.status, 403);
        EXPECT_NE(page.body.find(reason), std::string::npos) << reason << "\n" << page.body;
    }
    EXPECT_EQ(Author::objects().count(), 0U);
}

// Django: test_csrf_token_in_header — without the form field, the X-CSRFToken header's token
// (masked or not) passes.
TEST_F(AdminCsrfTest, test_csrf_token_in_header) {
    auto b = staff();
    const auto tokens = form_tokens(b.get("/admin/library/author/add/").body);
    ASSERT_FALSE(tokens.empty());
    for (const std::string& token : {tokens[0], b.cookies["csrftoken"]}) {
        const auto page = b.post("/admin/library/author/add/", {{"name", "Ann " + token}},
                                 /*csrf=*/false, {{"X-CSRFToken", token}});
        EXPECT_EQ(page.status, 302) << token << "\n" << page.body;
    }
    EXPECT_EQ(Author::objects().count(), 2U);
}

// Django: test_bad_csrf_token_header — a bad header token is refused with the reasons of
// _test_bad_csrf_token, naming the header; the form field, when present, is what counts.
TEST_F(AdminCsrfTest, test_bad_csrf_token_header) {
    auto b = staff();
    const std::vector<std::pair<std::string, std::string>> bad_tokens = {
        {std::string(16, 'a'),
         "CSRF token from the 'X-Csrftoken' HTTP header has incorrect length."},
        {std::string(64, '*'),
         "CSRF token from the 'X-Csrftoken' HTTP header has invalid characters."},
        {std::string(64, 'a'), "CSRF token from the 'X-Csrftoken' HTTP header incorrect."},
        {std::string(32, 'a'), "CSRF token from the 'X-Csrftoken' HTTP header incorrect."},
    };
    for (const auto& [token, reason] : bad_tokens) {
        const auto page = b.post("/admin/library/author/add/", {{"name", "Ann"}},
                                 /*csrf=*/false, {{"X-CSRFToken", token}});
        EXPECT_EQ(page.status, 403);
        // The page escapes the quotes around the header's name.
        const std::string shown = std::regex_replace(reason, std::regex("'"), "&#x27;");
        EXPECT_NE(page.body.find(shown), std::string::npos) << shown << "\n" << page.body;
    }
    // A wrong form field is not rescued by a right header.
    const auto page = b.post("/admin/library/author/add/",
                             {{"name", "Ann"}, {"csrfmiddlewaretoken", std::string(32, 'a')}},
                             /*csrf=*/false, {{"X-CSRFToken", b.cookies["csrftoken"]}});
    EXPECT_EQ(page.status, 403);
    EXPECT_NE(page.body.find("CSRF token from POST incorrect."), std::string::npos);
    EXPECT_EQ(Author::objects().count(), 0U);
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
    EXPECT_NE(page.body.find("CSRF token from POST incorrect."), std::string::npos);
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

}  // namespace csrf_test
}  // namespace
}  // namespace tocsin::admin::test
