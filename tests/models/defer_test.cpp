// only() / defer(): loading some fields of a model (Django's deferred fields). In C++ a field
// cannot load itself when read: a deferred field holds its default value, the instance's
// state().deferred names it, refresh_from_db({names}) loads it, and save() writes the loaded
// fields only (Django's automatic update_fields for deferred instances). Ported from Django's
// tests/defer and tests/update_only_fields.
#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace tocsin::test {
namespace {
namespace defer_test {

using library::Author;
using library::Book;
using Log = std::vector<std::string>;

class DeferTests : public ModelTest {
  protected:
    void SetUp() override {
        ModelTest::SetUp();
        ann = Author::objects().create({.name = "Ann", .born = 1900});
        Book::objects().create({.author = ann, .title = "Dune", .pages = 412});
    }
    Author ann;
};

// Django: defer.tests.DeferTests.test_defer / test_only — the fields not loaded are listed in
// state().deferred (Django's get_deferred_fields()) and hold their default; the others are read.
TEST_F(DeferTests, test_defer_and_only) {
    const Book deferred = Book::objects().defer(&Book::title).get();
    EXPECT_EQ(deferred.state().deferred, (Log{"title"}));
    EXPECT_EQ(deferred.title, "");
    EXPECT_EQ(deferred.pages, 412);
    EXPECT_TRUE(deferred.author == ann);

    const Book only = Book::objects().only(&Book::pages).get();
    EXPECT_EQ(only.state().deferred, (Log{"author", "title"}));
    EXPECT_EQ(only.pages, 412);
    EXPECT_EQ(only.title, "");
    EXPECT_FALSE(only.author.id().has_value());

    // defer() adds up; only() replaces; a full query loads everything.
    const Book both = Book::objects().defer(&Book::title).defer(&Book::pages).get();
    EXPECT_EQ(both.state().deferred, (Log{"title", "pages"}));
    EXPECT_TRUE(Book::objects().get().state().deferred.empty());
    // A query set iterated and filtered keeps its deferral.
    for (const Book& b : Book::objects().only(&Book::title).filter(where(&Book::pages) > 10)) {
        EXPECT_EQ(b.title, "Dune");
        EXPECT_EQ(b.pages, 0);
    }
}

// Django: defer.tests.DeferTests.test_get / refresh_from_db(fields=…) — a deferred field is
// loaded by naming it; refresh_from_db() alone reloads the loaded fields only.
TEST_F(DeferTests, test_refresh_deferred_fields) {
    Book b = Book::objects().only(&Book::pages).get();
    b.refresh_from_db();
    EXPECT_EQ(b.title, "");
    EXPECT_EQ(b.state().deferred, (Log{"author", "title"}));
    b.refresh_from_db({"title"});
    EXPECT_EQ(b.title, "Dune");
    EXPECT_EQ(b.state().deferred, (Log{"author"}));
    EXPECT_THROW(b.refresh_from_db({"nope"}), ModelError);
}

// Django: defer.tests.DeferTests.test_saving_object_with_deferred_field and
// update_only_fields.tests.UpdateOnlyFieldsTests.test_update_fields_deferred — saving an
// instance with deferred fields writes the loaded fields only (update_fields = those, seen by
// the receivers): the deferred columns keep the row's values, not the defaults the instance
// holds. Unlike Python, assigning a deferred member does not load it: name it in update_fields
// (or refresh it first) to write it.
TEST_F(DeferTests, test_update_fields_deferred) {
    std::vector<std::optional<std::set<std::string>>> seen;
    ScopedConnection pre =
        pre_save.connect<Book>([&](Book&, const SaveEvent& e) { seen.push_back(e.update_fields); });
    Book b = Book::objects().defer(&Book::title, &Book::author).get();
    b.pages = 500;
    b.title = "not written";
    b.save();
    ASSERT_EQ(seen.size(), 1U);
    EXPECT_EQ(seen[0], (std::set<std::string>{"pages"}));
    Book fresh = Book::objects().get();
    EXPECT_EQ(fresh.pages, 500);
    EXPECT_EQ(fresh.title, "Dune");
    EXPECT_TRUE(fresh.author == ann);

    // Named explicitly, a deferred field is written.
    b.save({.update_fields = {&Book::title}});
    fresh.refresh_from_db();
    EXPECT_EQ(fresh.title, "not written");
}

// Removing through a deferred query set reads whole rows (the collector) and removes them.
TEST_F(DeferTests, RemovingADeferredQuerySet) {
    ScopedConnection listens = post_delete.connect<Book>([](Book& b, const DeleteEvent&) {
        EXPECT_EQ(b.title, "Dune");  // whole rows, for the receivers
    });
    EXPECT_EQ(Book::objects().only(&Book::pages).remove().total, 1U);
    EXPECT_EQ(rows("library_book"), 0);
}

}  // namespace defer_test
}  // namespace
}  // namespace tocsin::test
