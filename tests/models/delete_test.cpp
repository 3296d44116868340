// remove(): Django's deletion Collector (notes §2.3) — pre_delete for every object (dependents
// first, ids ascending), the SET_NULL/SET_DEFAULT updates, then per model the DELETE and its
// post_delete (ids descending); origin; the counts; PROTECT, RESTRICT, DO_NOTHING. Ported from
// Django's tests/signals (SignalTests) and tests/delete (OnDeleteTests, DeletionTests).
#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace tocsin::test {
namespace {
namespace delete_test {

using library::Author;
using library::Award;
using library::Bio;
using library::Book;
using library::Category;
using library::Loan;
using library::Note;
using library::Page;
using shop::Customer;
using shop::Order;
using shop::Payment;
using shop::Review;
using Log = std::vector<std::string>;

struct Boom : std::runtime_error {
    Boom() : std::runtime_error("boom") {}
};

/// What a receiver saw, kept beyond the removal.
struct Seen {
    std::string database;
    Origin origin;
    bool id_set = false;
};

/// The exception `fn` throws, of type E (fails the test when it throws nothing).
template <class E, class F>
E thrown_by(F&& fn) {
    try {
        fn();
    } catch (const E& e) {
        return e;
    }
    ADD_FAILURE() << "nothing thrown";
    return E("");
}

/// `objects` as "Model id" lines.
std::vector<std::string> refs(const std::vector<ObjectRef>& objects) {
    std::vector<std::string> out;
    for (const ObjectRef& o : objects) {
        out.push_back(o.model->model_name + " " + std::to_string(o.id));
    }
    return out;
}

class DeleteTest : public ModelTest {
  protected:
    /// Records every pre_delete and post_delete ("pre_delete Page 1") and its event; and every
    /// pre_save and post_save ("pre_save Review 1"), which a removal must not send.
    void listen() {
        connections.emplace_back(
            pre_delete.connect([this](const Sender& s, ModelBase& m, const DeleteEvent& e) {
                record("pre_delete", s, m, e);
            }));
        connections.emplace_back(
            post_delete.connect([this](const Sender& s, ModelBase& m, const DeleteEvent& e) {
                record("post_delete", s, m, e);
            }));
        connections.emplace_back(
            pre_save.connect([this](const Sender& s, ModelBase& m, const SaveEvent&) {
                saves.push_back("pre_save " + describe(s, m));
            }));
        connections.emplace_back(
            post_save.connect([this](const Sender& s, ModelBase& m, const SaveEvent&) {
                saves.push_back("post_save " + describe(s, m));
            }));
    }
    void record(const char* what, const Sender& s, const ModelBase& m, const DeleteEvent& e) {
        log.push_back(std::string(what) + " " + describe(s, m));
        seen.push_back({std::string(e.database), e.origin, m.id.has_value()});
    }
    void TearDown() override {
        connections.clear();
        ModelTest::TearDown();
    }

    /// Author 1 "Ann" with Book 1 (Pages 1, 2) and Book 2 (Page 3), and Bio 1.
    static Author make_library() {
        auto ann = Author::objects().create({.name = "Ann"});
        auto dune = Book::objects().create({.author = ann, .title = "Dune"});
        auto emma = Book::objects().create({.author = ann, .title = "Emma"});
        Page::objects().create({.book = dune, .number = 1});
        Page::objects().create({.book = dune, .number = 2});
        Page::objects().create({.book = emma, .number = 1});
        Bio::objects().create({.author = ann, .text = "born somewhere"});
        return ann;
    }

    /// Row counts of the library tables, to see that nothing was removed.
    static std::map<std::string, std::int64_t> library_rows() {
        std::map<std::string, std::int64_t> out;
        for (const char* t : {"library_author", "library_book", "library_page", "library_bio",
                              "library_loan", "library_award", "library_note"}) {
            out[t] = rows(t);
        }
        return out;
    }

    Log log;
    Log saves;
    std::vector<Seen> seen;
    std::vector<ScopedConnection> connections;
};

// Django: signals.tests.SignalTests.test_delete_signals — pre_delete then post_delete, the id
// still set in both, origin the instance; afterwards the id is cleared. The other row stays.
TEST_F(DeleteTest, DeleteSignals) {
    auto p1 = Customer::objects().create({.name = "John Smith"});
    Customer p2{.name = "James Jones"};
    p2.id = 99999;
    p2.save();
    p2.id = 99998;
    p2.save();
    listen();
    p1.remove();
    EXPECT_EQ(log, (Log{"pre_delete Customer 1", "post_delete Customer 1"}));
    ASSERT_EQ(seen.size(), 2U);
    for (const auto& s : seen) {
        EXPECT_TRUE(s.id_set);
        EXPECT_EQ(s.origin.instance, &p1);
        EXPECT_EQ(s.origin.queryset, nullptr);
        EXPECT_EQ(s.origin.model, Sender::of<Customer>());
        EXPECT_EQ(s.database, "default");
    }
    EXPECT_FALSE(p1.id.has_value());

    log.clear();
    p2.remove();
    EXPECT_EQ(log, (Log{"pre_delete Customer 99998", "post_delete Customer 99998"}));
    const auto left = Customer::objects().all();
    ASSERT_EQ(left.size(), 1U);
    EXPECT_EQ(left[0].name, "James Jones");
    EXPECT_EQ(left[0].id, std::optional<std::int64_t>(99999));
}

// Django: signals.tests.SignalTests.test_delete_signals_origin_model — a Book with two Pages:
// every pre_delete (Pages first), then every post_delete; origin is the book for all of them.
TEST_F(DeleteTest, OriginIsTheInstanceForTheWholeCascade) {
    auto ann = Author::objects().create({.name = "Ann"});
    auto book = Book::objects().create({.author = ann, .title = "Dune"});
    Page::objects().create({.book = book, .number = 1});
    Page::objects().create({.book = book, .number = 2});
    listen();
    book.remove();
    EXPECT_EQ(log, (Log{"pre_delete Page 1", "pre_delete Page 2", "pre_delete Book 1",
                        "post_delete Page 2", "post_delete Page 1", "post_delete Book 1"}));
    for (const auto& s : seen) {
        EXPECT_EQ(s.origin.instance, &book);
        EXPECT_EQ(s.origin.queryset, nullptr);
        EXPECT_EQ(s.origin.model, Sender::of<Book>());
    }
}

// Django: signals.tests.SignalTests.test_delete_signals_origin_queryset — QuerySet.delete():
// origin is the query set delete() was called on, for every object of the cascade.
TEST_F(DeleteTest, OriginIsTheQuerySetForQuerySetRemove) {
    Customer::objects().create({.name = "John"});
    Customer::objects().create({.name = "Paul"});
    auto ann = Author::objects().create({.name = "Ann"});
    auto book = Book::objects().create({.author = ann, .title = "Dune"});
    Page::objects().create({.book = book, .number = 1});
    Page::objects().create({.book = book, .number = 2});
    listen();

    const QuerySet<Customer> people = Customer::objects();
    people.remove();
    EXPECT_EQ(log, (Log{"pre_delete Customer 1", "pre_delete Customer 2", "post_delete Customer 2",
                        "post_delete Customer 1"}));
    for (const auto& s : seen) {
        EXPECT_EQ(s.origin.queryset, &people);
        EXPECT_EQ(s.origin.instance, nullptr);
        EXPECT_EQ(s.origin.model, Sender::of<Customer>());
    }

    log.clear();
    seen.clear();
    const auto books = Book::objects().filter(where(&Book::title) == "Dune");
    books.remove();
    EXPECT_EQ(log, (Log{"pre_delete Page 1", "pre_delete Page 2", "pre_delete Book 1",
                        "post_delete Page 2", "post_delete Page 1", "post_delete Book 1"}));
    for (const auto& s : seen) {
        EXPECT_EQ(s.origin.queryset, &books);
        EXPECT_EQ(s.origin.model, Sender::of<Book>());
    }
}

// Django: delete.tests.DeletionTests.test_deletion_order, with deletion.py Collector.sort() —
// pre_delete for every object, models that reference others before the models they reference
// (Django's passes over the collection order: Pages and the Bio first, then Books, then the
// Author), ids ascending; then per model the DELETE and its post_delete, ids descending.
TEST_F(DeleteTest, DeletionOrderDependentsFirst) {
    auto ann = make_library();
    listen();
    ann.remove();
    EXPECT_EQ(log, (Log{"pre_delete Page 1", "pre_delete Page 2", "pre_delete Page 3",
                        "pre_delete Bio 1", "pre_delete Book 1", "pre_delete Book 2",
                        "pre_delete Author 1", "post_delete Page 3", "post_delete Page 2",
                        "post_delete Page 1", "post_delete Bio 1", "post_delete Book 2",
                        "post_delete Book 1", "post_delete Author 1"}));
    for (const auto& s : seen) {
        EXPECT_TRUE(s.id_set);
        EXPECT_EQ(s.origin.instance, &ann);
    }
    EXPECT_TRUE(saves.empty());
}

// Django:
// delete.tests.DeletionTests.test_relational_post_delete_signals_happen_before_parent_object —
// post_delete of a child runs right after its model's DELETE, while the parent row exists.
TEST_F(DeleteTest, PostDeleteOfAChildRunsWhileItsParentRowExists) {
    auto ann = make_library();
    Log checks;
    ScopedConnection c = post_delete.connect<Page>([&](Page& page, const DeleteEvent&) {
        const bool page_gone = !Page::objects().filter(where(&ModelBase::id) == *page.id).exists();
        const bool book_there =
            Book::objects().filter(where(&ModelBase::id) == *page.book.id()).exists();
        checks.push_back("Page " + std::to_string(*page.id) + " gone=" + (page_gone ? "1" : "0") +
                         " book=" + (book_there ? "1" : "0"));
    });
    ann.remove();
    EXPECT_EQ(checks,
              (Log{"Page 3 gone=1 book=1", "Page 2 gone=1 book=1", "Page 1 gone=1 book=1"}));
}

// Django: delete.tests.DeletionTests.test_model_delete_returns_num_rows and
// test_queryset_delete_returns_num_rows — (total, {"app.Model": n}) counts every removed row;
// a query set matching nothing gives (0, {}) and sends nothing.
TEST_F(DeleteTest, DeleteResultCountsPerModel) {
    auto ann = make_library();
    auto bob = Author::objects().create({.name = "Bob"});
    Book::objects().create({.author = bob, .title = "Fire"});
    const auto one = ann.remove();
    EXPECT_EQ(one.total, 7U);
    EXPECT_EQ(
        one.per_model,
        (std::map<std::string, std::size_t>{
            {"library.Author", 1}, {"library.Bio", 1}, {"library.Book", 2}, {"library.Page", 3}}));
    const auto all = Author::objects().remove();
    EXPECT_EQ(all.total, 2U);
    EXPECT_EQ(all.per_model,
              (std::map<std::string, std::size_t>{{"library.Author", 1}, {"library.Book", 1}}));

    listen();
    const auto none = Author::objects().filter(where(&Author::name) == "Nobody").remove();
    EXPECT_EQ(none.total, 0U);
    EXPECT_TRUE(none.per_model.empty());
    EXPECT_TRUE(log.empty());
}

// Django: delete.tests.OnDeleteTests.test_protect — ProtectedError "Cannot delete some
// instances of model 'R' because they are referenced through protected foreign keys:
// 'A.protect'.", raised while collecting: before any signal, nothing removed.
TEST_F(DeleteTest, ProtectRefusesBeforeAnySignal) {
    auto ann = make_library();
    auto dune = Book::objects().get(where(&Book::title) == "Dune");
    Loan::objects().create({.book = dune, .borrower = "Zoe"});
    const auto before = library_rows();
    listen();
    const auto error = thrown_by<ProtectedError>([&] { dune.remove(); });
    EXPECT_STREQ(error.what(),
                 "Cannot delete some instances of model 'Book' because they are referenced "
                 "through protected foreign keys: 'Loan.book'.");
    // Django: self.assertEqual(cm.exception.protected_objects, {a}).
    EXPECT_EQ(refs(error.protected_objects()), std::vector<std::string>{"Loan 1"});
    EXPECT_TRUE(log.empty());
    EXPECT_EQ(library_rows(), before);
    EXPECT_TRUE(dune.id.has_value());
    // The same through a query set.
    EXPECT_THROW(Book::objects().remove(), ProtectedError);
    EXPECT_TRUE(log.empty());
    EXPECT_EQ(library_rows(), before);
}

// Django: ProtectedError and RestrictedError are IntegrityErrors (django.db.models.deletion):
// code catching the database's integrity errors catches them too.
TEST_F(DeleteTest, ProtectedAndRestrictedErrorsAreIntegrityErrors) {
    auto ann = make_library();
    auto dune = Book::objects().get(where(&Book::title) == "Dune");
    Loan::objects().create({.book = dune, .borrower = "Zoe"});
    EXPECT_THROW(dune.remove(), db::IntegrityError);
    auto john = Customer::objects().create({.name = "John"});
    auto order = Order::objects().create({.customer = john, .code = "A1"});
    Payment::objects().create(
        {.order = order, .payer = Customer::objects().create({.name = "Paul"}), .amount = 1});
    try {
        order.remove();
        ADD_FAILURE() << "not refused";
    } catch (const db::IntegrityError& e) {
        EXPECT_EQ(e.kind(), db::IntegrityError::Kind::foreign_key);
        EXPECT_NE(dynamic_cast<const RestrictedError*>(&e), nullptr);
    }
}

// Django: delete.tests.OnDeleteTests.test_protect_multiple — every protecting key is named.
TEST_F(DeleteTest, ProtectNamesEveryProtectingKey) {
    auto ann = make_library();
    auto dune = Book::objects().get(where(&Book::title) == "Dune");
    Loan::objects().create({.book = dune, .borrower = "Zoe"});
    Award::objects().create({.book = dune, .prize = "Hugo"});
    Loan::objects().create({.book = dune, .borrower = "Yves"});
    const auto error = thrown_by<ProtectedError>([&] { dune.remove(); });
    EXPECT_STREQ(error.what(),
                 "Cannot delete some instances of model 'Book' because they are referenced "
                 "through protected foreign keys: 'Loan.book', 'Award.book'.");
    // Django: protected_objects == {a, b}: every protecting object, once.
    EXPECT_EQ(refs(error.protected_objects()),
              (std::vector<std::string>{"Loan 1", "Loan 2", "Award 1"}));
}

// Django: delete.tests.OnDeleteTests.test_protect_path — a protected object reached through a
// cascade: the error names the model removed and the key the cascade went through.
TEST_F(DeleteTest, ProtectThroughACascade) {
    auto ann = make_library();
    auto dune = Book::objects().get(where(&Book::title) == "Dune");
    Loan::objects().create({.book = dune, .borrower = "Zoe"});
    const auto before = library_rows();
    listen();
    const auto error = thrown_by<ProtectedError>([&] { ann.remove(); });
    EXPECT_STREQ(error.what(),
                 "Cannot delete some instances of model 'Author' because they are referenced "
                 "through protected foreign keys: 'Book.author'.");
    // Django: protected_objects == {a}: the protecting object, not the key's model.
    EXPECT_EQ(refs(error.protected_objects()), std::vector<std::string>{"Loan 1"});
    EXPECT_TRUE(log.empty());
    EXPECT_EQ(library_rows(), before);
    EXPECT_TRUE(ann.id.has_value());
}

// Django: delete.tests.OnDeleteTests.test_restrict — RestrictedError "Cannot delete some
// instances of model 'R' because they are referenced through restricted foreign keys:
// 'A.restrict'.", before any signal, nothing removed.
TEST_F(DeleteTest, RestrictRefusesBeforeAnySignal) {
    auto john = Customer::objects().create({.name = "John"});
    auto paul = Customer::objects().create({.name = "Paul"});
    auto order = Order::objects().create({.customer = john, .code = "A1"});
    Payment::objects().create({.order = order, .payer = paul, .amount = 10});
    listen();
    const auto error = thrown_by<RestrictedError>([&] { order.remove(); });
    EXPECT_STREQ(error.what(),
                 "Cannot delete some instances of model 'Order' because they are referenced "
                 "through restricted foreign keys: 'Payment.order'.");
    // Django: self.assertEqual(cm.exception.restricted_objects, {a}).
    EXPECT_EQ(refs(error.restricted_objects()), std::vector<std::string>{"Payment 1"});
    EXPECT_TRUE(log.empty());
    EXPECT_EQ(rows("shop_order"), 1);
    EXPECT_EQ(rows("shop_payment"), 1);
    EXPECT_TRUE(order.id.has_value());
}

// Django: delete.tests.OnDeleteTests.test_restrict_path_cascade_indirect — the restricted
// object reached through a cascade refuses the removal of the model at its top...
TEST_F(DeleteTest, RestrictThroughACascade) {
    auto john = Customer::objects().create({.name = "John"});
    auto paul = Customer::objects().create({.name = "Paul"});
    auto order = Order::objects().create({.customer = john, .code = "A1"});
    Payment::objects().create({.order = order, .payer = paul, .amount = 10});
    listen();
    const auto error = thrown_by<RestrictedError>([&] { john.remove(); });
    EXPECT_STREQ(error.what(),
                 "Cannot delete some instances of model 'Customer' because they are referenced "
                 "through restricted foreign keys: 'Payment.order'.");
    EXPECT_EQ(refs(error.restricted_objects()), std::vector<std::string>{"Payment 1"});
    EXPECT_TRUE(log.empty());
    EXPECT_EQ(rows("shop_customer"), 2);
    EXPECT_EQ(rows("shop_order"), 1);
    EXPECT_EQ(rows("shop_payment"), 1);
}

// Django: delete.tests.OnDeleteTests.test_restrict_path_cascade_direct — ...unless the
// restricting object is itself removed by the same cascade. Django's RESTRICT also orders the
// restricting model before the restricted one (add_dependency), so the Payment goes first.
TEST_F(DeleteTest, RestrictedObjectRemovedByTheSameCascade) {
    auto john = Customer::objects().create({.name = "John"});
    auto paul = Customer::objects().create({.name = "Paul"});
    auto order = Order::objects().create({.customer = john, .code = "A1"});
    Payment::objects().create({.order = order, .payer = john, .amount = 10});
    listen();
    const auto result = john.remove();
    EXPECT_EQ(log, (Log{"pre_delete Payment 1", "pre_delete Order 1", "pre_delete Customer 1",
                        "post_delete Payment 1", "post_delete Order 1", "post_delete Customer 1"}));
    EXPECT_EQ(result.total, 3U);
    EXPECT_EQ(rows("shop_order"), 0);
    EXPECT_EQ(rows("shop_payment"), 0);
    EXPECT_EQ(Customer::objects().get().name, "Paul");
}

// Django: delete.tests.OnDeleteTests.test_setnull and test_setdefault, and
// DeletionTests.test_instance_update — SET_NULL and SET_DEFAULT are SQL UPDATEs: no
// pre/post_save, no pre/post_delete for the updated rows, not counted as removed.
TEST_F(DeleteTest, SetNullAndSetDefaultUpdateWithoutSignals) {
    auto fallback = Customer::objects().create({.name = "Default"});
    ASSERT_EQ(fallback.id, std::optional<std::int64_t>(shop::default_customer_id));
    auto john = Customer::objects().create({.name = "John"});
    auto ann = Author::objects().create({.name = "Ann"});
    auto dune = Book::objects().create({.author = ann, .title = "Dune"});
    auto review = Review::objects().create({.book = dune, .customer = john, .stars = 5});
    listen();

    const auto removed_book = dune.remove();
    EXPECT_EQ(log, (Log{"pre_delete Book 1", "post_delete Book 1"}));
    EXPECT_EQ(removed_book.per_model, (std::map<std::string, std::size_t>{{"library.Book", 1}}));
    review.refresh_from_db();
    EXPECT_FALSE(review.book.id().has_value());
    EXPECT_TRUE(review.customer == john);

    log.clear();
    john.remove();
    EXPECT_EQ(log, (Log{"pre_delete Customer 2", "post_delete Customer 2"}));
    review.refresh_from_db();
    EXPECT_EQ(review.customer.id(), std::optional<std::int64_t>(shop::default_customer_id));
    EXPECT_EQ(review.stars, 5);
    EXPECT_TRUE(saves.empty());
}

// tocsin: a removal of more objects than one statement may bind (999 parameters: SQLite's
// SQLITE_MAX_VARIABLE_NUMBER before 3.32, set on the connection here) reads the referencing rows
// (CASCADE, PROTECT, SET_NULL), sets the SET_NULL keys and deletes the rows a few hundred ids per
// statement.
TEST_F(DeleteTest, RemovalOfMoreObjectsThanOneStatementBinds) {
    constexpr std::size_t many = 1234;
    if (!on_postgresql()) {  // PostgreSQL binds 65535 parameters: no lower limit to set
        ASSERT_LT(limit_sqlite_parameters(999), static_cast<int>(many));
    }
    auto ann = Author::objects().create({.name = "Ann"});
    auto reader = Customer::objects().create({.name = "Default"});
    std::vector<Book> books(many);
    atomic([&] {
        for (std::size_t i = 0; i < many; ++i) {
            books[i].author = ann;
            books[i].title = "b" + std::to_string(i);
        }
        Book::objects().bulk_create(books);
        std::vector<Review> reviews(many);
        for (std::size_t i = 0; i < many; ++i) {
            reviews[i].book = books[i];
            reviews[i].customer = reader;
        }
        Review::objects().bulk_create(reviews);
        // Pages of the first, a middle and the last book: found across the chunks.
        std::vector<Page> pages(3);
        pages[0].book = books.front();
        pages[1].book = books[many / 2];
        pages[2].book = books.back();
        Page::objects().bulk_create(pages);
    });
    auto kept = Book::objects().create({.author = ann, .title = "kept"});
    auto kept_review = Review::objects().create({.book = kept, .customer = reader, .stars = 5});
    listen();

    const auto result = Book::objects().filter(where(&Book::title) != "kept").remove();
    EXPECT_EQ(result.total, many + 3);
    EXPECT_EQ(result.per_model,
              (std::map<std::string, std::size_t>{{"library.Book", many}, {"library.Page", 3}}));
    EXPECT_EQ(log.size(), 2 * (many + 3));
    EXPECT_TRUE(saves.empty());
    EXPECT_EQ(rows("library_book"), 1);
    EXPECT_EQ(rows("library_page"), 0);
    EXPECT_EQ(rows("shop_review"), static_cast<std::int64_t>(many + 1));
    EXPECT_EQ(db::connection()
                  .query_value("SELECT COUNT(*) FROM \"shop_review\" WHERE \"book_id\" IS NULL")
                  ->as_integer(),
              static_cast<std::int64_t>(many));
    kept_review.refresh_from_db();
    EXPECT_TRUE(kept_review.book == kept);
}

// Django: delete.tests.OnDeleteTests.test_do_nothing — DO_NOTHING leaves the referencing rows
// to the database: with the foreign key constraint, the removal fails (IntegrityError, rolled
// back); a pre_delete receiver that re-points the rows first makes it work.
TEST_F(DeleteTest, DoNothingLeavesTheRowsToTheDatabase) {
    auto ann = Author::objects().create({.name = "Ann"});
    auto replacement = Author::objects().create({.name = "Replacement"});
    auto note = Note::objects().create({.author = ann, .text = "see also"});

    const auto error = message_of<db::IntegrityError>([&] { ann.remove(); });
    EXPECT_TRUE(contains(error, "FOREIGN KEY"));
    EXPECT_TRUE(ann.id.has_value());
    EXPECT_EQ(rows("library_author"), 2);
    note.refresh_from_db();
    EXPECT_TRUE(note.author == ann);

    ScopedConnection repoint = pre_delete.connect<Author>([&](Author& author, const DeleteEvent&) {
        Note::objects()
            .filter(where(&Note::author) == author)
            .update({assign(&Note::author, replacement)});
    });
    ann.remove();
    note.refresh_from_db();
    EXPECT_TRUE(note.author == replacement);
    EXPECT_EQ(Author::objects().get().name, "Replacement");
}

// Django: delete.tests.DeletionTests.test_instance_update (pk is None after delete) and
// test_pk_none ("M object can't be deleted because its id attribute is set to None.", a
// ValueError; tocsin says "is not set") — the id is cleared after the removal; removing an
// object without id is a ModelError, raised before any signal.
TEST_F(DeleteTest, IdClearedAfterRemovalAndUnsavedRemovalRefused) {
    auto ann = Author::objects().create({.name = "Ann"});
    ann.remove();
    EXPECT_FALSE(ann.id.has_value());
    listen();
    EXPECT_TRUE(contains(message_of<ModelError>([&] { ann.remove(); }),
                         "Author object can't be deleted because its id attribute"));
    Author never{.name = "Never"};
    EXPECT_THROW(never.remove(), ModelError);
    EXPECT_TRUE(log.empty());
}

// Django: notes §2.3 item 8 — "A receiver that raises in pre_delete aborts the delete": the
// exception propagates and nothing is removed.
TEST_F(DeleteTest, PreDeleteExceptionAbortsTheRemoval) {
    auto ann = make_library();
    const auto before = library_rows();
    listen();
    ScopedConnection boom = pre_delete.connect<Page>([](Page& page, const DeleteEvent&) {
        if (page.id == 2) {
            throw Boom();
        }
    });
    EXPECT_THROW(ann.remove(), Boom);
    EXPECT_EQ(log, (Log{"pre_delete Page 1", "pre_delete Page 2"}));
    EXPECT_EQ(library_rows(), before);
    EXPECT_TRUE(ann.id.has_value());
}

// Django: notes §2.3 item 8 — every signal runs inside the collector's atomic block: an
// exception in post_delete rolls back every DELETE of the removal, those already done too.
TEST_F(DeleteTest, PostDeleteExceptionRollsTheWholeRemovalBack) {
    auto ann = make_library();
    const auto before = library_rows();
    ScopedConnection boom =
        post_delete.connect<Book>([](Book&, const DeleteEvent&) { throw Boom(); });
    EXPECT_THROW(ann.remove(), Boom);
    EXPECT_EQ(library_rows(), before);
    EXPECT_TRUE(ann.id.has_value());
}

// Django: notes §2.3 item 8 — inside an outer atomic block nothing is committed yet: the outer
// block's rollback brings every removed row back.
TEST_F(DeleteTest, RemovalInsideAnOuterAtomicBlockRollsBackWithIt) {
    auto ann = make_library();
    const auto before = library_rows();
    EXPECT_THROW(atomic([&] {
                     ann.remove();
                     EXPECT_EQ(rows("library_page"), 0);
                     throw Boom();
                 }),
                 Boom);
    EXPECT_EQ(library_rows(), before);
}

// Django: a self-referential CASCADE (a tree) removes the whole subtree once, ids ascending in
// pre_delete and descending in post_delete, and the collection ends.
TEST_F(DeleteTest, SelfReferentialCascadeRemovesTheSubtree) {
    auto root = Category::objects().create({.name = "root"});
    auto left = Category::objects().create({.name = "left", .parent = root});
    Category::objects().create({.name = "right", .parent = root});
    Category::objects().create({.name = "leaf", .parent = left});
    auto other = Category::objects().create({.name = "other"});
    listen();
    const auto result = root.remove();
    EXPECT_EQ(log, (Log{"pre_delete Category 1", "pre_delete Category 2", "pre_delete Category 3",
                        "pre_delete Category 4", "post_delete Category 4", "post_delete Category 3",
                        "post_delete Category 2", "post_delete Category 1"}));
    EXPECT_EQ(result.total, 4U);
    EXPECT_EQ(Category::objects().get().name, "other");
}

// Django: deletion.py Collector.delete — an instance whose row is already gone still gets its
// pre/post_delete; nothing is counted (delete_batch returned 0) and its id is cleared.
TEST_F(DeleteTest, StaleInstanceSendsSignalsAndCountsNothing) {
    auto ann = Author::objects().create({.name = "Ann"});
    db::connection().execute("DELETE FROM library_author");
    listen();
    const auto result = ann.remove();
    EXPECT_EQ(log, (Log{"pre_delete Author 1", "post_delete Author 1"}));
    EXPECT_EQ(result.total, 0U);
    EXPECT_TRUE(result.per_model.empty());
    EXPECT_FALSE(ann.id.has_value());
}

// Django: delete.tests.FastDeleteTests.test_fast_delete_qs — a query set of a model no delete
// receiver listens to and nothing cascades to is removed by one DELETE, without reading its rows
// (no init signal either).
TEST_F(DeleteTest, test_fast_delete_qs) {
    make_library();
    int loads = 0;
    ScopedConnection count_loads =
        post_init.connect<Page>([&](Page&, const InitEvent&) { ++loads; });
    const CapturedQueries queries;
    const auto result = Page::objects().filter(where(&Page::number) == 1).remove();
    EXPECT_EQ(queries.sql().size(), 1U) << queries.sql().front();
    EXPECT_EQ(queries.count("DELETE FROM \"library_page\" WHERE"), 1U);
    EXPECT_EQ(result.total, 2U);
    EXPECT_EQ(result.per_model, (std::map<std::string, std::size_t>{{"library.Page", 2}}));
    EXPECT_EQ(rows("library_page"), 1);
    EXPECT_EQ(loads, 0);
}

// Django: delete.tests.FastDeleteTests.test_fast_delete_instance_set_pk_none — one DELETE for
// an object without dependencies, its id cleared afterwards.
TEST_F(DeleteTest, test_fast_delete_instance_set_pk_none) {
    make_library();
    auto page = Page::objects().filter(where(&Page::number) == 2).get();
    const CapturedQueries queries;
    const auto result = page.remove();
    EXPECT_EQ(queries.sql().size(), 1U);
    EXPECT_FALSE(page.id.has_value());
    EXPECT_EQ(result.per_model, (std::map<std::string, std::size_t>{{"library.Page", 1}}));
    EXPECT_EQ(rows("library_page"), 2);
}

// Django: delete.tests.FastDeleteTests.test_fast_delete_fk — the rows cascading from a removed
// object are deleted with `key IN (…)` without being read when they can be fast-deleted (Pages
// of a Book); those that cannot (Loans, PROTECT, Reviews, SET_NULL) are still read.
TEST_F(DeleteTest, test_fast_delete_fk) {
    auto ann = make_library();
    auto dune = Book::objects().get(where(&Book::title) == "Dune");
    const CapturedQueries queries;
    const auto result = dune.remove();
    EXPECT_EQ(result.per_model,
              (std::map<std::string, std::size_t>{{"library.Book", 1}, {"library.Page", 2}}));
    EXPECT_EQ(queries.count("DELETE FROM \"library_page\" WHERE \"book_id\" IN"), 1U);
    for (const auto& sql : queries.sql()) {
        EXPECT_EQ(sql.find("FROM \"library_page\" WHERE \"book_id\" IN") != std::string::npos &&
                      sql.rfind("SELECT", 0) == 0,
                  false)
            << sql;
    }
    EXPECT_EQ(rows("library_page"), 1);
    EXPECT_EQ(rows("library_book"), 1);
}

// Django: delete.tests.FastDeleteTests — with a receiver for the model the fast path is not
// taken: the rows are read and every object signalled, in Django's order, origin unchanged.
TEST_F(DeleteTest, FastDeleteNotTakenWhenAReceiverListens) {
    auto ann = make_library();
    auto dune = Book::objects().get(where(&Book::title) == "Dune");
    ScopedConnection pages = post_delete.connect<Page>([&](Page& p, const DeleteEvent& e) {
        log.push_back("post_delete Page " + std::to_string(*p.id) +
                      (e.origin.instance == &dune ? " origin=dune" : "") +
                      (e.origin.queryset != nullptr ? " origin=queryset" : ""));
    });
    dune.remove();
    EXPECT_EQ(log, (Log{"post_delete Page 2 origin=dune", "post_delete Page 1 origin=dune"}));
    log.clear();
    Page::objects().remove();
    EXPECT_EQ(log, (Log{"post_delete Page 3 origin=queryset"}));
}

/// Django's _meta.related_objects: what the collector follows from a model, computed once.
TEST_F(DeleteTest, RelatedObjectsListTheKeysThatActOnRemoval) {
    const auto related = related_objects(Book::info());
    std::vector<std::string> keys;
    for (const auto& entry : related->related) {
        for (const FieldInfo* key : entry.keys) {
            keys.push_back(entry.model->model_name + "." + key->name);
        }
    }
    EXPECT_EQ(keys,
              (std::vector<std::string>{"Page.book", "Loan.book", "Award.book", "Review.book"}));
    // DO_NOTHING keys are not followed: Note.author is absent; Bio.author and Book.author are.
    std::vector<std::string> to_author;
    for (const auto& entry : related_objects(Author::info())->related) {
        for (const FieldInfo* key : entry.keys) {
            to_author.push_back(entry.model->model_name + "." + key->name);
        }
    }
    EXPECT_EQ(to_author, (std::vector<std::string>{"Book.author", "Bio.author"}));
    // The same answer object until a model registers.
    EXPECT_EQ(related_objects(Book::info()).get(), related.get());
    EXPECT_EQ(find_model_info("LIBRARY.book"), &Book::info());
    EXPECT_EQ(find_model_info("library.nosuch"), nullptr);
}

}  // namespace delete_test
}  // namespace
}  // namespace tocsin::test
