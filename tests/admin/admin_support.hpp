// The admin tests' fixture: the auth, sessions and a "library" app on a fresh database of the
// engine the binary runs on, the admin server on a free loopback port in a thread of its own,
// and a small browser (httplib::Client with a cookie jar) that logs in and posts forms with the
// CSRF token the pages carry.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <map>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../support/engine.hpp"
#include "../support/temp_dir.hpp"
#include "tocsin/admin.hpp"
#include "tocsin/auth.hpp"
#include "tocsin/db.hpp"
#include "tocsin/models.hpp"

namespace tocsin::admin::test {

struct Author : Model<Author> {
    static constexpr std::string_view label = "library.Author";
    std::string name;
    std::string bio;
    static auto fields() {
        return tocsin::fields(field("name", &Author::name, {.unique = true}),
                              field("bio", &Author::bio));
    }
};

struct Tag : Model<Tag> {
    static constexpr std::string_view label = "library.Tag";
    std::string name;
    static auto fields() { return tocsin::fields(field("name", &Tag::name)); }
};

struct Book : Model<Book> {
    static constexpr std::string_view label = "library.Book";
    std::string title;
    ForeignKey<Author> author{on_delete::cascade};
    int pages = 0;
    bool in_print = true;
    std::optional<db::Timestamp> published;
    ManyToMany<Tag> tags;
    static auto fields() {
        return tocsin::fields(field("title", &Book::title), field("author", &Book::author),
                              field("pages", &Book::pages), field("in_print", &Book::in_print),
                              field("published", &Book::published), field("tags", &Book::tags));
    }
};

/// A loan protects its book: a book on loan cannot be removed.
struct Loan : Model<Loan> {
    static constexpr std::string_view label = "library.Loan";
    ForeignKey<Book> book{on_delete::protect};
    std::string reader;
    static auto fields() {
        return tocsin::fields(field("book", &Loan::book), field("reader", &Loan::reader));
    }
};

class LibraryConfig : public AppConfig {
  public:
    LibraryConfig() : AppConfig("library") {}
    [[nodiscard]] std::vector<const apps::ModelDescription*> models() const override {
        return describe<Author, Tag, Book, Loan>();
    }
};

/// A response as the tests read it.
struct Page {
    int status = 0;
    std::string body;
    std::string location;
    std::vector<std::string> set_cookies;
    std::multimap<std::string, std::string> headers;
};

/// A browser: keeps the cookies the server sets, sends them back, and fills in the CSRF token.
class Browser {
  public:
    explicit Browser(int port) : client_("127.0.0.1", port) {
        client_.set_read_timeout(30, 0);
        client_.set_follow_location(false);
    }

    Page get(const std::string& path, const httplib::Headers& extra = {}) {
        auto headers = cookie_headers();
        headers.insert(extra.begin(), extra.end());
        return read(client_.Get(path, headers));
    }
    /// A POST of `fields` as a urlencoded form; with `csrf`, the CSRF cookie's token is added.
    Page post(const std::string& path, std::vector<std::pair<std::string, std::string>> fields,
              bool csrf = true, const httplib::Headers& extra = {}) {
        if (csrf) {
            fields.emplace_back("csrfmiddlewaretoken", cookies["csrftoken"]);
        }
        std::string body;
        for (const auto& [k, v] : fields) {
            if (!body.empty()) {
                body += '&';
            }
            body += httplib::detail::encode_query_param(k) + "=" +
                    httplib::detail::encode_query_param(v);
        }
        auto headers = cookie_headers();
        headers.insert(extra.begin(), extra.end());
        return read(client_.Post(path, headers, body, "application/x-www-form-urlencoded"));
    }
    /// Logs in (GET the login page for the CSRF cookie, then POST).
    Page login(const std::string& username, const std::string& password,
               const std::string& next = "") {
        static_cast<void>(get("/admin/login/"));
        std::vector<std::pair<std::string, std::string>> form{{"username", username},
                                                              {"password", password}};
        if (!next.empty()) {
            form.emplace_back("next", next);
        }
        return post("/admin/login/", form);
    }

    std::map<std::string, std::string> cookies;
    httplib::Client& client() { return client_; }

  private:
    httplib::Headers cookie_headers() const {
        std::string value;
        for (const auto& [k, v] : cookies) {
            if (!value.empty()) {
                value += "; ";
            }
            value += k + "=" + v;
        }
        httplib::Headers headers;
        if (!value.empty()) {
            headers.emplace("Cookie", value);
        }
        return headers;
    }
    Page read(const httplib::Result& result) {
        Page page;
        if (!result) {
            ADD_FAILURE() << "no response: " << httplib::to_string(result.error());
            return page;
        }
        page.status = result->status;
        page.body = result->body;
        page.location = result->get_header_value("Location");
        for (const auto& [k, v] : result->headers) {
            page.headers.emplace(k, v);
            if (k == "Set-Cookie") {
                page.set_cookies.push_back(v);
                const auto eq = v.find('=');
                const auto semi = v.find(';');
                const auto name = v.substr(0, eq);
                const auto value = v.substr(eq + 1, semi - eq - 1);
                if (v.find("Max-Age=0") != std::string::npos) {
                    cookies.erase(name);
                } else {
                    cookies[name] = value;
                }
            }
        }
        return page;
    }
    httplib::Client client_;
};

class AdminTest : public ::testing::Test {
  protected:
    void SetUp() override {
        saved_hashers_ = auth::password_hashers();
        auth::set_password_hashers({std::make_shared<const auth::Pbkdf2PasswordHasher>(1000)});
        Apps::instance().reset();
        setup(
            {.installed_apps = {std::make_shared<auth::AuthConfig>(),
                                std::make_shared<auth::SessionsConfig>(),
                                std::make_shared<LibraryConfig>(), std::make_shared<AdminConfig>()},
             .databases = {{"default", databases_.database(dir_, "admin.db")}}});
        static_cast<void>(migrate());
        staff_ = auth::get_user_model().create_user({.username = "admin",
                                                     .email = "admin@example.com",
                                                     .password = "secret",
                                                     .is_staff = true,
                                                     .is_superuser = true});
        server_ = std::make_unique<Server>(AdminSettings{.per_page = 3});
        port_ = server_->bind("127.0.0.1", 0);
        thread_ = std::thread([this] { server_->listen(); });
        for (int i = 0; i < 200 && !server_->running(); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }
    void TearDown() override {
        server_->stop();
        thread_.join();
        server_.reset();
        Apps::instance().reset();
        db::close_all();
        db::configure({});
        auth::set_password_hashers(saved_hashers_);
    }

    /// A browser logged in as the staff user.
    Browser staff() {
        Browser b(port_);
        const auto page = b.login("admin", "secret");
        EXPECT_EQ(page.status, 302) << page.body;
        return b;
    }

    int port_ = 0;
    std::optional<auth::AnyUser> staff_;

  private:
    test_support::TempDir dir_;
    test_support::TestDatabases databases_;
    std::vector<std::shared_ptr<const auth::PasswordHasher>> saved_hashers_;
    std::unique_ptr<Server> server_;
    std::thread thread_;
};

/// The number of times `needle` occurs in `haystack`.
inline std::size_t occurrences(const std::string& haystack, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = haystack.find(needle); at != std::string::npos;
         at = haystack.find(needle, at + needle.size())) {
        ++n;
    }
    return n;
}

}  // namespace tocsin::admin::test
