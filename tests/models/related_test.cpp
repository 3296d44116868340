// ForeignKey and OneToOne: assigning an unsaved object is refused, get() loads the row,
// queries take related objects, a one-to-one key is unique. Ported from Django's
// tests/many_to_one and tests/one_to_one.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_support.hpp"

namespace tocsin::test {
namespace {
namespace related_test {

using library::Author;
using library::Bio;
using library::Book;
using Log = std::vector<std::string>;

class RelatedTest : public ModelTest {};

// Django: many_to_one.tests.ManyToOneTests.test_save_nullable_fk_after_parent /
// test_fk_assignment_and_related_object_cache — "save() prohibited to prevent data loss due to
// unsaved related object 'reporter'." tocsin refuses at assignment, by = and by the {.key = …}
// initializer, and nothing changes.
TEST_F(RelatedTest, AssigningAnUnsavedObjectIsRefused) {
    Author unsaved{.name = "Nobody"};
    auto ann = Author::objects().create({.name = "Ann"});
    Book book{.author = ann, .title = "Dune"};
    EXPECT_TRUE(contains(message_of<ModelError>([&] { book.author = unsaved; }),
                         "save() prohibited to prevent data loss due to unsaved related object"));
    EXPECT_TRUE(book.author == ann);
    EXPECT_THROW(static_cast<void>(Book{.author = unsaved, .title = "x"}), ModelError);
    EXPECT_EQ(rows("library_author"), 1);
}

// Django: many_to_one.tests.ManyToOneTests.test_get (reporter = article.reporter) — get()
// loads the referenced row; the key compares equal to that object.
TEST_F(RelatedTest, GetLoadsTheReferencedRow) {
    auto ann = Author::objects().create({.name = "Ann", .born = 1900});
    auto bob = Author::objects().create({.name = "Bob"});
    Book::objects().create({.author = ann, .title = "Dune"});
    const auto book = Book::objects().get();
    EXPECT_EQ(book.author.id(), ann.id);
    EXPECT_TRUE(book.author == ann);
    EXPECT_FALSE(book.author == bob);
    const auto author = book.author.get();
    EXPECT_EQ(author.name, "Ann");
    EXPECT_EQ(author.born, 1900);
    EXPECT_TRUE(static_cast<bool>(book.author));
}

// Django: related_descriptors — a NULL key has no object (ModelError here), a key to a row
// that is gone raises DoesNotExist ("Author matching query does not exist.").
TEST_F(RelatedTest, GetOfANullOrDanglingKey) {
    Book book{.title = "Dune"};
    EXPECT_FALSE(static_cast<bool>(book.author));
    EXPECT_THROW(static_cast<void>(book.author.get()), ModelError);
    book.author.set_id(42);
    EXPECT_EQ(message_of<DoesNotExist>([&] { static_cast<void>(book.author.get()); }),
              "Author matching query does not exist.");
}

// Django: many_to_one.tests.ManyToOneTests.test_selects (filter(reporter=r),
// filter(reporter__in=[…]), filter(reporter__isnull=…)).
TEST_F(RelatedTest, QueriesTakeRelatedObjects) {
    auto ann = Author::objects().create({.name = "Ann"});
    auto bob = Author::objects().create({.name = "Bob"});
    auto cid = Author::objects().create({.name = "Cid"});
    Book::objects().create({.author = ann, .title = "Dune"});
    Book::objects().create({.author = bob, .title = "Emma"});
    Book::objects().create({.author = ann, .title = "Fire"});
    const auto titles = [](const QuerySet<Book>& q) {
        Log out;
        for (const auto& b : q.order_by(&Book::title)) {
            out.push_back(b.title);
        }
        return out;
    };
    EXPECT_EQ(titles(Book::objects().filter(where(&Book::author) == ann)), (Log{"Dune", "Fire"}));
    EXPECT_EQ(
        titles(Book::objects().filter(where(&Book::author).in(std::vector<Author>{bob, cid}))),
        (Log{"Emma"}));
    const auto emma = Book::objects().get(where(&Book::title) == "Emma");
    EXPECT_EQ(titles(Book::objects().filter(where(&Book::author) == emma.author)), (Log{"Emma"}));
    EXPECT_EQ(titles(Book::objects().filter(where(&Book::author) != bob)), (Log{"Dune", "Fire"}));
}

// Django: one_to_one.tests.OneToOneTests (test_multiple_o2o / unique constraint) — a second
// object for the same target breaks the UNIQUE constraint of the key's column; a plain
// ForeignKey takes many.
TEST_F(RelatedTest, OneToOneIsUnique) {
    auto ann = Author::objects().create({.name = "Ann"});
    Bio::objects().create({.author = ann, .text = "first"});
    Bio second{.author = ann, .text = "second"};
    try {
        second.save();
        ADD_FAILURE() << "no IntegrityError";
    } catch (const db::IntegrityError& e) {
        EXPECT_EQ(e.kind(), db::IntegrityError::Kind::unique);
        EXPECT_EQ(e.columns(), (std::vector<std::string>{"author_id"}));
    }
    EXPECT_EQ(rows("library_bio"), 1);
    EXPECT_TRUE(Bio::info().field("author")->unique);
    EXPECT_TRUE(Bio::info().field("author")->one_to_one);

    Book::objects().create({.author = ann, .title = "Dune"});
    Book::objects().create({.author = ann, .title = "Emma"});
    EXPECT_EQ(rows("library_book"), 2);
    EXPECT_FALSE(Book::info().field("author")->unique);
}

// tocsin: the description of a key keeps what the member was declared with: the on_delete
// behaviour, the column "<name>_id", the target, nullability (SET_NULL implies NULL).
TEST_F(RelatedTest, KeyDescriptions) {
    const auto& book_author = *Book::info().field("author");
    EXPECT_TRUE(book_author.is_relation);
    EXPECT_EQ(book_author.column, "author_id");
    EXPECT_EQ(book_author.on_delete, OnDelete::cascade);
    EXPECT_EQ(&book_author.target(), &Author::info());
    EXPECT_FALSE(book_author.nullable);
    EXPECT_EQ(library::Loan::info().field("book")->on_delete, OnDelete::protect);
    EXPECT_EQ(shop::Payment::info().field("order")->on_delete, OnDelete::restrict);
    EXPECT_EQ(library::Note::info().field("author")->on_delete, OnDelete::do_nothing);
    EXPECT_EQ(shop::Review::info().field("book")->on_delete, OnDelete::set_null);
    EXPECT_TRUE(shop::Review::info().field("book")->nullable);
    EXPECT_EQ(shop::Review::info().field("customer")->on_delete, OnDelete::set_default);
    EXPECT_TRUE(library::Category::info().field("parent")->nullable);
    EXPECT_EQ(Book{}.author.on_delete(), OnDelete::cascade);
    EXPECT_EQ(library::Loan{}.book.on_delete(), OnDelete::protect);
}

}  // namespace related_test
}  // namespace
}  // namespace tocsin::test
