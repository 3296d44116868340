// preview_removal(): what a removal would remove and what blocks it, without removing anything or
// sending a delete signal (what Django's admin shows before deleting: get_deleted_objects).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "tocsin/models/deletion.hpp"

namespace tocsin::test {
namespace {
namespace removal_preview_test {

using library::Author;
using library::Bio;
using library::Book;
using library::Loan;
using library::Page;

using RemovalPreviewTest = ModelTest;

std::vector<std::string> names(const std::vector<RemovalPreview::Object>& objects) {
    std::vector<std::string> out;
    for (const auto& o : objects) {
        out.push_back(o.model->model_name + " " + std::to_string(o.id));
    }
    return out;
}

TEST_F(RemovalPreviewTest, ListsTheCascadeAndRemovesNothing) {
    auto ann = Author::objects().create({.name = "Ann"});
    auto dune = Book::objects().create({.author = ann, .title = "Dune"});
    Page::objects().create({.book = dune, .number = 1});
    Page::objects().create({.book = dune, .number = 2});
    Bio::objects().create({.author = ann, .text = "b"});
    int deletes = 0;
    ScopedConnection pre = pre_delete.connect([&](ModelBase&, const DeleteEvent&) { ++deletes; });
    const auto preview = preview_removal(ann);
    EXPECT_TRUE(preview.blocked.empty());
    EXPECT_TRUE(preview.blocking.empty());
    auto listed = names(preview.objects);
    EXPECT_EQ(listed.front(), "Author " + std::to_string(*ann.id));
    std::sort(listed.begin(), listed.end());
    EXPECT_EQ(listed,
              (std::vector<std::string>{"Author 1", "Bio 1", "Book 1", "Page 1", "Page 2"}));
    EXPECT_EQ(deletes, 0);
    EXPECT_EQ(rows("library_page"), 2);
    EXPECT_EQ(rows("library_author"), 1);
    EXPECT_TRUE(ann.id.has_value());
}

TEST_F(RemovalPreviewTest, ListsFastDeletedRowsToo) {
    // No delete receiver: a removal would delete the pages without reading them; the preview
    // still lists them.
    auto ann = Author::objects().create({.name = "Ann"});
    auto dune = Book::objects().create({.author = ann, .title = "Dune"});
    Page::objects().create({.book = dune, .number = 1});
    const auto preview = preview_removal(dune);
    EXPECT_EQ(names(preview.objects), (std::vector<std::string>{"Book 1", "Page 1"}));
}

TEST_F(RemovalPreviewTest, NamesTheProtectedObjects) {
    auto ann = Author::objects().create({.name = "Ann"});
    auto dune = Book::objects().create({.author = ann, .title = "Dune"});
    auto loan = Loan::objects().create({.book = dune, .borrower = "Zoe"});
    const auto preview = preview_removal(ann);
    EXPECT_EQ(names(preview.blocking),
              (std::vector<std::string>{"Loan " + std::to_string(*loan.id)}));
    EXPECT_EQ(preview.blocked,
              "Cannot delete some instances of model 'Author' because they are referenced through "
              "protected foreign keys: 'Book.author'.");
    EXPECT_THROW(static_cast<void>(ann.remove()), ProtectedError);
}

TEST_F(RemovalPreviewTest, AnUnsavedObjectIsRefused) {
    Author nobody{.name = "x"};
    EXPECT_THROW(static_cast<void>(preview_removal(nobody)), ModelError);
}

}  // namespace removal_preview_test
}  // namespace
}  // namespace tocsin::test
