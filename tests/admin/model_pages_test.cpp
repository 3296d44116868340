// The model pages: the index, a model's list (pages, sort, search), add, change and delete with
// the cascade confirmation; every write through save() / remove(), so the signals fire.
#include <gtest/gtest.h>

#include "admin_support.hpp"

namespace tocsin::admin::test {
namespace {
namespace model_pages_test {

using AdminModelPagesTest = AdminTest;

TEST_F(AdminModelPagesTest, TheIndexListsEveryInstalledModel) {
    auto b = staff();
    const auto page = b.get("/admin/");
    ASSERT_EQ(page.status, 200);
    for (const char* url : {"/admin/auth/user/", "/admin/library/author/", "/admin/library/tag/",
                            "/admin/library/book/", "/admin/library/loan/"}) {
        EXPECT_NE(page.body.find(std::string("href=\"") + url + "\""), std::string::npos) << url;
    }
    // The sessions are not shown (AdminSettings::exclude): their keys are credentials.
    EXPECT_EQ(page.body.find("/admin/sessions/session/"), std::string::npos);
    EXPECT_EQ(b.get("/admin/sessions/session/").status, 404);
    // The auto-created through table of Book.tags is not a model of its own here.
    EXPECT_EQ(page.body.find("book_tags"), std::string::npos);
}

TEST_F(AdminModelPagesTest, TheListIsPaginatedSortedAndSearched) {
    for (const char* name : {"Dora", "Abe", "Carl", "Bea", "Eve"}) {
        Author::objects().create({.name = name, .bio = std::string("bio of ") + name});
    }
    auto b = staff();
    // per_page = 3 in the fixture; sorted by id by default.
    const auto first = b.get("/admin/library/author/");
    ASSERT_EQ(first.status, 200);
    EXPECT_NE(first.body.find("5 author"), std::string::npos);
    EXPECT_NE(first.body.find("page 1 of 2"), std::string::npos);
    EXPECT_NE(first.body.find(">Dora<"), std::string::npos);
    EXPECT_EQ(first.body.find(">Eve<"), std::string::npos);
    const auto second = b.get("/admin/library/author/?p=2");
    EXPECT_NE(second.body.find(">Bea<"), std::string::npos);
    EXPECT_NE(second.body.find(">Eve<"), std::string::npos);
    EXPECT_EQ(second.body.find(">Dora<"), std::string::npos);
    EXPECT_EQ(second.body.find(">Carl<"), std::string::npos);  // the last of page 1
    // Sorted by name, then descending.
    const auto by_name = b.get("/admin/library/author/?o=name");
    EXPECT_LT(by_name.body.find(">Abe<"), by_name.body.find(">Bea<"));
    EXPECT_LT(by_name.body.find(">Bea<"), by_name.body.find(">Carl<"));
    EXPECT_EQ(by_name.body.find(">Dora<"), std::string::npos);
    const auto descending = b.get("/admin/library/author/?o=-name");
    EXPECT_LT(descending.body.find(">Eve<"), descending.body.find(">Dora<"));
    // An unknown column is ignored, never SQL.
    EXPECT_EQ(b.get("/admin/library/author/?o=name%3B%20DROP%20TABLE").status, 200);
    // Searched on the text fields, ignoring case.
    const auto found = b.get("/admin/library/author/?q=BIO%20OF%20c");
    EXPECT_NE(found.body.find(">Carl<"), std::string::npos);
    EXPECT_EQ(found.body.find(">Abe<"), std::string::npos);
    EXPECT_NE(found.body.find("1 author<"), std::string::npos);
    // A page past the end shows the last one.
    EXPECT_NE(b.get("/admin/library/author/?p=99").body.find(">Eve<"), std::string::npos);
}

TEST_F(AdminModelPagesTest, AddingSavesThroughTheModelLayer) {
    std::vector<std::string> events;
    ScopedConnection pre = pre_save.connect<Author>([&](Author& a, const SaveEvent& e) {
        events.push_back("pre_save " + a.name + (e.created ? " created" : ""));
    });
    ScopedConnection post = post_save.connect<Author>([&](Author& a, const SaveEvent& e) {
        events.push_back("post_save " + a.name + (e.created ? " created" : ""));
    });
    auto b = staff();
    const auto page = b.post("/admin/library/author/add/", {{"name", "Ann"}, {"bio", "writes"}});
    ASSERT_EQ(page.status, 302) << page.body;
    EXPECT_EQ(page.location, "/admin/library/author/");
    EXPECT_EQ(events, (std::vector<std::string>{"pre_save Ann", "post_save Ann created"}));
    const auto ann = Author::objects().get(where(&Author::name) == "Ann");
    EXPECT_EQ(ann.bio, "writes");
    const auto list = b.get("/admin/library/author/");
    EXPECT_NE(list.body.find("The author \u201c"
                             "Ann\u201d was added successfully."),
              std::string::npos);
    // Shown once.
    EXPECT_EQ(b.get("/admin/library/author/").body.find("was added"), std::string::npos);
}

TEST_F(AdminModelPagesTest, ChangingSavesTheFieldsAndTheRelations) {
    auto ann = Author::objects().create({.name = "Ann"});
    auto bob = Author::objects().create({.name = "Bob"});
    auto red = Tag::objects().create({.name = "red"});
    auto blue = Tag::objects().create({.name = "blue"});
    Book book{.title = "Old"};
    book.author = ann;
    book.save();
    std::vector<std::string> m2m;
    ScopedConnection changed = m2m_changed.connect(
        &Book::tags,
        [&](ModelBase&, const M2MChangedEvent& e) { m2m.emplace_back(to_string(e.action)); });
    auto b = staff();
    const std::string url = "/admin/library/book/" + std::to_string(*book.id) + "/change/";
    const auto form = b.get(url);
    ASSERT_EQ(form.status, 200);
    EXPECT_NE(form.body.find("value=\"Old\""), std::string::npos);
    EXPECT_NE(
        form.body.find("<option value=\"" + std::to_string(*ann.id) + "\" selected>Ann</option>"),
        std::string::npos);
    EXPECT_NE(form.body.find("<select name=\"tags\" id=\"id_tags\" multiple"), std::string::npos);
    const auto page = b.post(url, {{"title", "New"},
                                   {"author", std::to_string(*bob.id)},
                                   {"pages", "321"},
                                   {"published", "2024-02-29 12:30:00"},
                                   {"tags", std::to_string(*red.id)},
                                   {"tags", std::to_string(*blue.id)}});
    ASSERT_EQ(page.status, 302) << page.body;
    book.refresh_from_db();
    EXPECT_EQ(book.title, "New");
    EXPECT_EQ(book.author.id(), bob.id);
    EXPECT_EQ(book.pages, 321);
    EXPECT_FALSE(book.in_print);  // an unchecked checkbox
    ASSERT_TRUE(book.published);
    EXPECT_EQ(book.published->time_since_epoch().count(), 1709209800LL * 1000000);
    EXPECT_EQ(related(book, &Book::tags).count(), 2U);
    EXPECT_EQ(m2m, (std::vector<std::string>{"pre_add", "post_add"}));
    const auto again = b.get(url);
    EXPECT_NE(again.body.find("value=\"2024-02-29 12:30:00\""), std::string::npos);
}

TEST_F(AdminModelPagesTest, TheDeletePageListsTheCascadeBeforeRemovingAnything) {
    auto ann = Author::objects().create({.name = "Ann"});
    Book one{.title = "One"};
    one.author = ann;
    one.save();
    Book two{.title = "Two"};
    two.author = ann;
    two.save();
    std::vector<std::string> deleted;
    ScopedConnection pre = pre_delete.connect([&](ModelBase& m, const DeleteEvent&) {
        deleted.push_back("pre " + std::to_string(*m.id));
    });
    auto b = staff();
    const std::string url = "/admin/library/author/" + std::to_string(*ann.id) + "/delete/";
    const auto confirm = b.get(url);
    ASSERT_EQ(confirm.status, 200);
    EXPECT_NE(confirm.body.find("Are you sure you want to delete the author \u201c"
                                "Ann\u201d?"),
              std::string::npos);
    EXPECT_NE(confirm.body.find("Author: <a href=\"/admin/library/author/" +
                                std::to_string(*ann.id) + "/change/\">Ann</a>"),
              std::string::npos);
    EXPECT_NE(confirm.body.find("Book: <a href=\"/admin/library/book/" + std::to_string(*one.id) +
                                "/change/\">One</a>"),
              std::string::npos);
    EXPECT_NE(confirm.body.find("<li>Book: 2</li>"), std::string::npos);
    EXPECT_TRUE(deleted.empty());  // nothing removed, no delete signal
    EXPECT_EQ(Book::objects().count(), 2U);
    const auto done = b.post(url, {});
    ASSERT_EQ(done.status, 302) << done.body;
    EXPECT_EQ(Author::objects().count(), 0U);
    EXPECT_EQ(Book::objects().count(), 0U);
    EXPECT_EQ(deleted.size(), 3U);
    EXPECT_NE(b.get("/admin/library/author/").body.find("was deleted successfully"),
              std::string::npos);
}

TEST_F(AdminModelPagesTest, AProtectedObjectBlocksTheRemoval) {
    auto ann = Author::objects().create({.name = "Ann"});
    Book book{.title = "Lent"};
    book.author = ann;
    book.save();
    Loan loan{.reader = "Zoe"};
    loan.book = book;
    loan.save();
    auto b = staff();
    const std::string url = "/admin/library/author/" + std::to_string(*ann.id) + "/delete/";
    const auto page = b.get(url);
    ASSERT_EQ(page.status, 200);
    EXPECT_NE(page.body.find("would require deleting the following protected related objects"),
              std::string::npos);
    EXPECT_NE(page.body.find("Loan: <a href=\"/admin/library/loan/" + std::to_string(*loan.id)),
              std::string::npos);
    EXPECT_EQ(page.body.find("confirm-delete"), std::string::npos);
    const auto post = b.post(url, {});
    EXPECT_EQ(post.status, 409);
    EXPECT_EQ(Author::objects().count(), 1U);
    EXPECT_EQ(Book::objects().count(), 1U);
}

TEST_F(AdminModelPagesTest, ValuesAreShownAsTextNeverAsMarkup) {
    auto& users = auth::get_user_model();
    static_cast<void>(
        users.create_user({.username = "<script>alert(1)</script>", .password = "x"}));
    Author::objects().create({.name = "<img src=x onerror=alert(2)>", .bio = "\"><b>bold</b>"});
    auto b = staff();
    for (const std::string path :
         {"/admin/auth/user/", "/admin/library/author/", "/admin/library/author/?q=%3Cimg"}) {
        const auto page = b.get(path);
        ASSERT_EQ(page.status, 200) << path;
        EXPECT_EQ(page.body.find("<script>alert"), std::string::npos) << path;
        EXPECT_EQ(page.body.find("<img src=x"), std::string::npos) << path;
        EXPECT_EQ(page.body.find("<b>bold"), std::string::npos) << path;
    }
    EXPECT_NE(b.get("/admin/auth/user/").body.find("&lt;script&gt;alert(1)&lt;/script&gt;"),
              std::string::npos);
    // The search box shows the query escaped too.
    const auto search = b.get("/admin/library/author/?q=%22%3E%3Cscript%3E");
    EXPECT_EQ(search.body.find("\"><script>"), std::string::npos);
}

TEST_F(AdminModelPagesTest, AddingAUserHashesThePassword) {
    auto b = staff();
    const auto page = b.post("/admin/auth/user/add/", {{"username", "dora"},
                                                       {"password", "s3cret"},
                                                       {"email", "d@x.org"},
                                                       {"is_active", "on"},
                                                       {"date_joined", "2024-01-01 00:00:00"}});
    ASSERT_EQ(page.status, 302) << page.body;
    auto dora = auth::get_user_model().get_by_username("dora");
    ASSERT_TRUE(dora);
    EXPECT_TRUE(dora->password().starts_with("pbkdf2_sha256$"));
    EXPECT_TRUE(dora->check_password("s3cret"));
    // The hash is never put in a page; changing without a new password keeps it.
    const std::string url = "/admin/auth/user/" + std::to_string(*dora->id()) + "/change/";
    const auto form = b.get(url);
    EXPECT_EQ(form.body.find("pbkdf2_sha256"), std::string::npos);
    const auto keep = b.post(url, {{"username", "dora"},
                                   {"password", ""},
                                   {"email", "e@x.org"},
                                   {"is_active", "on"},
                                   {"date_joined", "2024-01-01 00:00:00"}});
    ASSERT_EQ(keep.status, 302) << keep.body;
    EXPECT_TRUE(auth::get_user_model().get_by_username("dora")->check_password("s3cret"));
}

}  // namespace model_pages_test
}  // namespace
}  // namespace tocsin::admin::test
