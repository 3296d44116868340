// The model forms: one input per field, values checked, errors beside their field (never a 500),
// unique values looked up, foreign keys as a select and many-to-many as a multi-select.
#include <gtest/gtest.h>

#include "admin_support.hpp"

namespace tocsin::admin::test {
namespace {
namespace forms_test {

using AdminFormsTest = AdminTest;

TEST_F(AdminFormsTest, TheAddFormHasAnInputPerField) {
    auto ann = Author::objects().create({.name = "Ann"});
    Tag::objects().create({.name = "red"});
    auto b = staff();
    const auto page = b.get("/admin/library/book/add/");
    ASSERT_EQ(page.status, 200);
    EXPECT_NE(page.body.find("<input type=\"text\" name=\"title\""), std::string::npos);
    EXPECT_NE(page.body.find("<select name=\"author\" id=\"id_author\"><option value=\"\">"),
              std::string::npos);
    EXPECT_NE(page.body.find("<option value=\"" + std::to_string(*ann.id) + "\">Ann</option>"),
              std::string::npos);
    EXPECT_NE(page.body.find("name=\"pages\" id=\"id_pages\" value=\"0\""), std::string::npos);
    EXPECT_NE(page.body.find("<input type=\"checkbox\" value=\"on\" name=\"in_print\" "
                             "id=\"id_in_print\" checked>"),
              std::string::npos);
    EXPECT_NE(page.body.find("name=\"published\""), std::string::npos);
    EXPECT_NE(page.body.find("multiple"), std::string::npos);
    EXPECT_NE(page.body.find(">red</option>"), std::string::npos);
}

TEST_F(AdminFormsTest, BadValuesAreShownBesideTheirFieldAndNothingIsSaved) {
    auto b = staff();
    int saves = 0;
    ScopedConnection receiver = pre_save.connect<Book>([&](Book&, const SaveEvent&) { ++saves; });
    const auto page = b.post("/admin/library/book/add/", {{"title", "T"},
                                                          {"author", "999"},
                                                          {"pages", "many"},
                                                          {"published", "yesterday"},
                                                          {"tags", "12345"}});
    EXPECT_EQ(page.status, 400);
    EXPECT_NE(page.body.find("Please correct the errors below."), std::string::npos);
    const auto row = [&](const std::string& name) {
        const auto start = page.body.find("id=\"row_" + name + "\"");
        return page.body.substr(start, page.body.find("</div>", start) - start);
    };
    EXPECT_NE(row("author").find("Select a valid choice."), std::string::npos);
    EXPECT_NE(row("pages").find("Enter a whole number."), std::string::npos);
    EXPECT_NE(row("published").find("Enter a valid date/time"), std::string::npos);
    EXPECT_NE(row("tags").find("Select a valid choice. 12345 is not one of the available choices."),
              std::string::npos);
    EXPECT_EQ(row("title").find("errorlist"), std::string::npos);
    // What was typed is kept.
    EXPECT_NE(row("pages").find("value=\"many\""), std::string::npos);
    EXPECT_EQ(saves, 0);
    EXPECT_EQ(Book::objects().count(), 0U);
}

TEST_F(AdminFormsTest, AUniqueValueTakenIsShownBesideTheField) {
    auto ann = Author::objects().create({.name = "Ann"});
    auto bob = Author::objects().create({.name = "Bob"});
    auto b = staff();
    const auto page = b.post("/admin/library/author/add/", {{"name", "Ann"}, {"bio", ""}});
    EXPECT_EQ(page.status, 400);
    EXPECT_NE(page.body.find("Author with this Name already exists."), std::string::npos);
    EXPECT_EQ(Author::objects().count(), 2U);
    // Changing an object to its own value is fine; to another's is not.
    const std::string url = "/admin/library/author/" + std::to_string(*ann.id) + "/change/";
    EXPECT_EQ(b.post(url, {{"name", "Ann"}, {"bio", "x"}}).status, 302);
    const auto taken = b.post(url, {{"name", "Bob"}, {"bio", "x"}});
    EXPECT_EQ(taken.status, 400);
    EXPECT_NE(taken.body.find("Author with this Name already exists."), std::string::npos);
    // A unique text field must be filled in.
    const auto empty = b.post("/admin/library/author/add/", {{"name", ""}});
    EXPECT_EQ(empty.status, 400);
    EXPECT_NE(empty.body.find("This field is required."), std::string::npos);
    static_cast<void>(bob);
}

TEST_F(AdminFormsTest, AUniqueViolationFoundByTheDatabaseIsAFormError) {
    // A receiver that takes the name after the form's check: the database refuses the INSERT.
    bool busy = false;
    ScopedConnection receiver = pre_save.connect<Author>(
        [&busy](Author& a, const SaveEvent&) {
            if (a.name == "Racer" && !busy) {
                busy = true;
                Author::objects().create({.name = "Racer"});
            }
        },
        {.dispatch_uid = "racer"});
    auto b = staff();
    const auto page = b.post("/admin/library/author/add/", {{"name", "Racer"}});
    EXPECT_EQ(page.status, 400);
    EXPECT_NE(page.body.find("could not be saved"), std::string::npos);
    EXPECT_EQ(Author::objects().count(), 0U);  // rolled back, the receiver's row too
}

TEST_F(AdminFormsTest, ARequiredForeignKeyMustBeChosen) {
    auto b = staff();
    const auto page = b.post("/admin/library/book/add/", {{"title", "T"}, {"author", ""}});
    EXPECT_EQ(page.status, 400);
    const auto start = page.body.find("id=\"row_author\"");
    EXPECT_NE(page.body.find("This field is required.", start), std::string::npos);
}

}  // namespace forms_test
}  // namespace
}  // namespace tocsin::admin::test
