// Query sets: conditions (filter, exclude, &&, ||, !, in, is_null), order_by, limit, count,
// exists, first, get with Django's DoesNotExist / MultipleObjectsReturned, update() and
// bulk_create() without signals, get_or_create (both forms), update_or_create, iteration.
// Ported from Django's tests/basic, tests/queries, tests/get_or_create and the query.py notes
// (§2.2 item 12, §2.6).
#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "test_support.hpp"

namespace tocsin::test {
namespace {
namespace query_test {

using library::Author;
using library::Book;
using shop::Customer;
using Log = std::vector<std::string>;

struct Boom : std::runtime_error {
    Boom() : std::runtime_error("boom") {}
};

class QueryTest : public ModelTest {
  protected:
    void SetUp() override {
        ModelTest::SetUp();
        Author::objects().create({.name = "Ann", .born = 1900});
        Author::objects().create({.name = "Bob", .born = 1950});
        Author::objects().create({.name = "Cid", .born = 1950});
        Author::objects().create({.name = "Dee", .born = 2000});
    }
    void TearDown() override {
        connections.clear();
        ModelTest::TearDown();
    }

    /// Records every model signal but the init ones: "pre_save Author 5 created=false".
    void listen() {
        connections.emplace_back(
            pre_save.connect([this](const Sender& s, ModelBase& m, const SaveEvent&) {
                log.push_back("pre_save " + describe(s, m));
            }));
        connections.emplace_back(
            post_save.connect([this](const Sender& s, ModelBase& m, const SaveEvent& e) {
                log.push_back("post_save " + describe(s, m) +
                              (e.created ? " created=true" : " created=false"));
            }));
        connections.emplace_back(
            pre_delete.connect([this](const Sender& s, ModelBase& m, const DeleteEvent&) {
                log.push_back("pre_delete " + describe(s, m));
            }));
        connections.emplace_back(
            post_delete.connect([this](const Sender& s, ModelBase& m, const DeleteEvent&) {
                log.push_back("post_delete " + describe(s, m));
            }));
    }

    template <class T>
    static Log names(const QuerySet<T>& q) {
        Log out;
        for (const auto& o : q.all()) {
            out.push_back(o.name);
        }
        return out;
    }
    static QuerySet<Author> authors() { return Author::objects().order_by(&ModelBase::id); }

    Log log;
    std::vector<ScopedConnection> connections;
};

// Django: basic.tests.ModelLookupTest (filter by field, comparison lookups gt/gte/lt/lte).
TEST_F(QueryTest, FilterWithComparisons) {
    EXPECT_EQ(names(authors().filter(where(&Author::born) == 1950)), (Log{"Bob", "Cid"}));
    EXPECT_EQ(names(authors().filter(where(&Author::born) != 1950)), (Log{"Ann", "Dee"}));
    EXPECT_EQ(names(authors().filter(where(&Author::born) > 1950)), (Log{"Dee"}));
    EXPECT_EQ(names(authors().filter(where(&Author::born) >= 1950)), (Log{"Bob", "Cid", "Dee"}));
    EXPECT_EQ(names(authors().filter(where(&Author::born) < 1950)), (Log{"Ann"}));
    EXPECT_EQ(names(authors().filter(where(&Author::born) <= 1950)), (Log{"Ann", "Bob", "Cid"}));
    EXPECT_EQ(names(authors().filter(where(&Author::name) == "Cid")), (Log{"Cid"}));
    EXPECT_EQ(names(authors().filter(where(&ModelBase::id) == 2)), (Log{"Bob"}));
    // Chained filters are ANDed (Django: filter().filter()).
    EXPECT_EQ(
        names(authors().filter(where(&Author::born) == 1950).filter(where(&Author::name) != "Bob")),
        (Log{"Cid"}));
}

// Django: queries.tests (exclude, Q objects combined with &, | and ~).
TEST_F(QueryTest, ExcludeAndCombinations) {
    EXPECT_EQ(names(authors().exclude(where(&Author::born) == 1950)), (Log{"Ann", "Dee"}));
    EXPECT_EQ(
        names(authors().filter(where(&Author::born) == 1950 && where(&Author::name) == "Bob")),
        (Log{"Bob"}));
    EXPECT_EQ(names(authors().filter(where(&Author::born) == 1900 || where(&Author::born) == 2000)),
              (Log{"Ann", "Dee"}));
    EXPECT_EQ(names(authors().filter(!(where(&Author::born) == 1950))), (Log{"Ann", "Dee"}));
    EXPECT_EQ(names(authors().filter(!(where(&Author::born) == 1950) &&
                                     !(where(&Author::name) == "Dee"))),
              (Log{"Ann"}));
    EXPECT_EQ(
        names(authors().filter((where(&Author::name) == "Ann" || where(&Author::name) == "Bob") &&
                               where(&Author::born) == 1950)),
        (Log{"Bob"}));
    // The empty condition matches everything; its negation nothing.
    EXPECT_EQ(authors().filter(Condition{}).count(), 4U);
    EXPECT_EQ(authors().filter(!Condition{}).count(), 0U);
    EXPECT_EQ(authors().filter(Condition{} || where(&Author::name) == "Ann").count(), 4U);
}

// Django: basic.tests.ModelLookupTest (`__in`) and queries.tests (an empty `__in` matches
// nothing, its exclusion everything).
TEST_F(QueryTest, InLists) {
    EXPECT_EQ(names(authors().filter(where(&Author::born).in(std::vector<int>{1900, 2000}))),
              (Log{"Ann", "Dee"}));
    EXPECT_EQ(names(authors().filter(
                  where(&Author::name).in(std::vector<std::string>{"Cid", "Nobody", "Bob"}))),
              (Log{"Bob", "Cid"}));
    EXPECT_EQ(authors().filter(where(&Author::born).in(std::vector<int>{})).count(), 0U);
    EXPECT_EQ(authors().exclude(where(&Author::born).in(std::vector<int>{})).count(), 4U);
}

// Django: null_queries.tests.NullQueriesTests.test_none_as_null (`__isnull`, `= None`).
TEST_F(QueryTest, IsNull) {
    Customer::objects().create({.name = "John", .email = "john@example.com"});
    Customer::objects().create({.name = "Paul"});
    const auto customers = Customer::objects().order_by(&ModelBase::id);
    EXPECT_EQ(names(customers.filter(where(&Customer::email).is_null())), (Log{"Paul"}));
    EXPECT_EQ(names(customers.filter(where(&Customer::email) == std::nullopt)), (Log{"Paul"}));
    EXPECT_EQ(names(customers.exclude(where(&Customer::email).is_null())), (Log{"John"}));
    EXPECT_EQ(names(customers.filter(where(&Customer::email) != std::nullopt)), (Log{"John"}));
}

// Django: queries.tests.NullInExcludeTest.test_null_in_exclude_qs — exclude() keeps the rows
// whose column is NULL: exclude(name__in=["i1"]) still returns the row with name NULL (Django
// writes NOT (col IN (…) AND col IS NOT NULL)). The same for ~Q(col=v).
TEST_F(QueryTest, ExcludeKeepsNullRows) {
    Customer::objects().create({.name = "i1", .email = "i1"});
    Customer::objects().create({.name = "none"});
    const auto customers = Customer::objects().order_by(&ModelBase::id);
    EXPECT_EQ(names(customers.exclude(where(&Customer::email).in(std::vector<std::string>{}))),
              (Log{"i1", "none"}));
    EXPECT_EQ(names(customers.exclude(where(&Customer::email).in(std::vector<std::string>{"i1"}))),
              (Log{"none"}));
    EXPECT_EQ(names(customers.exclude(where(&Customer::email).in(std::vector<std::string>{"i3"}))),
              (Log{"i1", "none"}));
    EXPECT_EQ(names(customers.exclude(where(&Customer::email) == "i1")), (Log{"none"}));
    EXPECT_EQ(names(customers.filter(
                  !(where(&Customer::email) == "i1" || where(&Customer::name) == "nobody"))),
              (Log{"none"}));
    // A double negation is the plain condition again: the NULL row does not match.
    EXPECT_EQ(names(customers.filter(!!(where(&Customer::email) == "i1"))), (Log{"i1"}));
}

// Django: ordering.tests (order_by, descending, several keys); tocsin chains order_by() calls:
// the first is the primary key of the sort, each later one breaks the ties of the previous.
TEST_F(QueryTest, OrderByAndLimit) {
    EXPECT_EQ(names(Author::objects().order_by(&Author::name, true)),
              (Log{"Dee", "Cid", "Bob", "Ann"}));
    EXPECT_EQ(names(Author::objects().order_by(&Author::born, true).order_by(&Author::name)),
              (Log{"Dee", "Bob", "Cid", "Ann"}));
    EXPECT_EQ(names(Author::objects().order_by(&Author::born, true).order_by(&Author::name, true)),
              (Log{"Dee", "Cid", "Bob", "Ann"}));
    EXPECT_EQ(names(Author::objects().order_by(&Author::name).limit(2)), (Log{"Ann", "Bob"}));
    EXPECT_EQ(Author::objects().limit(0).all().size(), 0U);
}

// Django: basic.tests (count(), exists(), first() — by primary key unless ordered — and first()
// of an empty query set is None).
TEST_F(QueryTest, CountExistsFirst) {
    EXPECT_EQ(Author::objects().count(), 4U);
    EXPECT_EQ(Author::objects().filter(where(&Author::born) == 1950).count(), 2U);
    EXPECT_TRUE(Author::objects().exists());
    EXPECT_TRUE(Author::objects().filter(where(&Author::born) == 2000).exists());
    EXPECT_FALSE(Author::objects().filter(where(&Author::born) == 1).exists());
    EXPECT_EQ(Author::objects().first()->name, "Ann");
    EXPECT_EQ(Author::objects().order_by(&Author::name, true).first()->name, "Dee");
    EXPECT_EQ(Author::objects().filter(where(&Author::born) == 1950).first()->name, "Bob");
    EXPECT_FALSE(Author::objects().filter(where(&Author::born) == 1).first().has_value());
}

// Django: basic.tests.ModelLookupTest.test_does_not_exist ("Article matching query does not
// exist.") and test_multiple_objects_max_num_fetched ("get() returned more than one Article --
// it returned 20!", then "… -- it returned more than 20!": get() reads at most 21 rows).
TEST_F(QueryTest, GetRaisesDjangosErrors) {
    EXPECT_EQ(Author::objects().get(where(&Author::name) == "Bob").born, 1950);
    EXPECT_EQ(message_of<DoesNotExist>(
                  [] { static_cast<void>(Author::objects().get(where(&Author::born) == 1)); }),
              "Author matching query does not exist.");
    try {
        static_cast<void>(Author::objects().get(where(&Author::born) == 1));
    } catch (const DoesNotExist& e) {
        EXPECT_EQ(e.model(), "Author");
    }
    EXPECT_EQ(message_of<MultipleObjectsReturned>(
                  [] { static_cast<void>(Author::objects().get(where(&Author::born) == 1950)); }),
              "get() returned more than one Author -- it returned 2!");

    std::vector<Customer> many;
    for (int i = 0; i < 20; ++i) {
        many.push_back({.name = "Area " + std::to_string(i)});
    }
    Customer::objects().bulk_create(many);
    EXPECT_EQ(
        message_of<MultipleObjectsReturned>([] { static_cast<void>(Customer::objects().get()); }),
        "get() returned more than one Customer -- it returned 20!");
    Customer::objects().create({.name = "Area 20"});
    EXPECT_EQ(
        message_of<MultipleObjectsReturned>([] { static_cast<void>(Customer::objects().get()); }),
        "get() returned more than one Customer -- it returned more than 20!");
}

// Django: notes §2.6 — QuerySet.update() sends no pre/post_save; it returns the rows changed.
TEST_F(QueryTest, UpdateSendsNoSignals) {
    listen();
    const auto changed = Author::objects()
                             .filter(where(&Author::born) == 1950)
                             .update({assign(&Author::born, 1951)});
    EXPECT_EQ(changed, 2);
    EXPECT_TRUE(log.empty());
    EXPECT_EQ(names(authors().filter(where(&Author::born) == 1951)), (Log{"Bob", "Cid"}));
    EXPECT_EQ(
        Author::objects().filter(where(&Author::born) == 1).update({assign(&Author::born, 2)}), 0);
    EXPECT_EQ(Author::objects().update({assign(&Author::born, 7)}), 4);
    EXPECT_TRUE(log.empty());
}

// Django: query.py count() — the count of a sliced query set is the number of rows in the
// slice (SELECT COUNT(*) FROM (… LIMIT n)).
TEST_F(QueryTest, CountOfALimitedQuerySet) {
    EXPECT_EQ(Author::objects().limit(2).count(), 2U);
    EXPECT_EQ(Author::objects().limit(10).count(), 4U);
    EXPECT_EQ(Author::objects().filter(where(&Author::born) == 1950).limit(1).count(), 1U);
    EXPECT_EQ(Author::objects().limit(0).count(), 0U);
}

// Django: update.tests.AdvancedTests.test_update_slice_fail ("Cannot update a query once a
// slice has been taken.") and query.py delete() ("Cannot use 'limit' or 'offset' with
// delete().") — both refused, nothing changed, no signal.
TEST_F(QueryTest, UpdateAndRemoveOfALimitedQuerySetAreRefused) {
    EXPECT_EQ(message_of<ModelError>(
                  [] { Author::objects().offset(1).update({assign(&Author::born, 1)}); }),
              "Cannot update a query once a slice has been taken.");
    EXPECT_EQ(message_of<ModelError>([] { Author::objects().offset(1).remove(); }),
              "Cannot use 'limit' or 'offset' with delete().");
    listen();
    EXPECT_EQ(message_of<ModelError>(
                  [] { Author::objects().limit(1).update({assign(&Author::born, 1)}); }),
              "Cannot update a query once a slice has been taken.");
    EXPECT_EQ(message_of<ModelError>([] { Author::objects().limit(1).remove(); }),
              "Cannot use 'limit' or 'offset' with delete().");
    EXPECT_TRUE(log.empty());
    EXPECT_EQ(Author::objects().count(), 4U);
    EXPECT_EQ(Author::objects().filter(where(&Author::born) == 1).count(), 0U);
}

// Django: notes §2.6 and bulk_create docs — "the model's save() method will not be called, and
// the pre_save and post_save signals will not be sent"; the objects get their primary keys.
TEST_F(QueryTest, BulkCreateSendsNoSignalsAndSetsIds) {
    listen();
    std::vector<Customer> customers{{.name = "John"}, {.name = "Paul"}, {.name = "George"}};
    Customer::objects().bulk_create(customers);
    EXPECT_TRUE(log.empty());
    ASSERT_EQ(customers.size(), 3U);
    EXPECT_EQ(customers[0].id, std::optional<std::int64_t>(1));
    EXPECT_EQ(customers[1].id, std::optional<std::int64_t>(2));
    EXPECT_EQ(customers[2].id, std::optional<std::int64_t>(3));
    for (const auto& c : customers) {
        EXPECT_FALSE(c.state().adding);
        EXPECT_EQ(c.state().database, "default");
    }
    EXPECT_EQ(names(Customer::objects().order_by(&ModelBase::id)), (Log{"John", "Paul", "George"}));
}

// Django: get_or_create.tests.GetOrCreateTests (test_get_or_create_method_with_get,
// test_get_or_create_method_with_create) — the get path sends no save signal; the create path
// saves (pre_save/post_save, created) the lookup's values over the defaults.
TEST_F(QueryTest, GetOrCreateWithALookupAndDefaults) {
    listen();
    auto [found, created_found] =
        Author::objects().get_or_create(where(&Author::name) == "Bob", {.born = 1111});
    EXPECT_FALSE(created_found);
    EXPECT_EQ(found.born, 1950);
    EXPECT_TRUE(log.empty());

    auto [made, created_made] = Author::objects().get_or_create(where(&Author::name) == "Eve",
                                                                {.name = "ignored", .born = 1990});
    EXPECT_TRUE(created_made);
    EXPECT_EQ(made.name, "Eve");
    EXPECT_EQ(made.born, 1990);
    EXPECT_EQ(made.id, std::optional<std::int64_t>(5));
    EXPECT_EQ(log, (Log{"pre_save Author None", "post_save Author 5 created=true"}));

    // A lookup that is not only equalities copies nothing into the new object (Django drops
    // the lookups with "__").
    log.clear();
    auto [other, created_other] =
        Customer::objects().get_or_create(where(&Customer::name) != "x", {.name = "Ringo"});
    EXPECT_TRUE(created_other);
    EXPECT_EQ(other.name, "Ringo");
}

// tocsin's `{.field = …}` form (DESIGN: get_or_create({.user = user})): the lookup is made of
// the fields that differ from their defaults.
TEST_F(QueryTest, GetOrCreateWithAnObjectLooksUpTheFieldsThatDifferFromTheirDefaults) {
    listen();
    auto [ann, created_ann] = Author::objects().get_or_create({.name = "Ann"});
    EXPECT_FALSE(created_ann);
    EXPECT_EQ(ann.born, 1900);  // found by name alone: born is at its default, not looked up
    EXPECT_TRUE(log.empty());

    auto [eve, created_eve] = Author::objects().get_or_create({.name = "Eve", .born = 1951});
    EXPECT_TRUE(created_eve);
    EXPECT_EQ(eve.born, 1951);
    EXPECT_EQ(log, (Log{"pre_save Author None", "post_save Author 5 created=true"}));
    log.clear();
    auto [again, created_again] = Author::objects().get_or_create({.name = "Eve", .born = 1951});
    EXPECT_FALSE(created_again);
    EXPECT_EQ(again.id, eve.id);
    EXPECT_TRUE(log.empty());

    // Only born differs from its default: the lookup is born == 1950, which two rows match.
    EXPECT_THROW(static_cast<void>(Author::objects().get_or_create({.born = 1950})),
                 MultipleObjectsReturned);
}

// Django: get_or_create.tests.GetOrCreateTransactionTests / query.py get_or_create — the
// create runs in a savepoint; when it hits an IntegrityError because another connection created
// the row meanwhile, get_or_create gets that row (created = false): pre_save was sent, post_save
// never was. When no row turns up, the IntegrityError propagates.
TEST_F(QueryTest, GetOrCreateFallsBackToGetAfterAnIntegrityError) {
    // The other connection's INSERT is staged by a pre_save receiver, inside the create's block:
    // under the default transaction_mode IMMEDIATE that block holds the write lock, and the
    // INSERT would wait for it. DEFERRED takes the lock at the block's first write, after
    // pre_save, as the race really happens (between the get and the create's BEGIN).
    db::Settings deferred = db::configuration().at("default");
    deferred.transaction_mode = "DEFERRED";  // SQLite's; PostgreSQL ignores it
    db::configure({{"default", deferred}});
    listen();
    bool raced = false;
    ScopedConnection race = pre_save.connect<Author>([&](Author& a, const SaveEvent&) {
        if (a.name == "Eve" && !raced) {
            raced = true;
            std::thread([] {
                db::connection().execute(
                    "INSERT INTO library_author (name, born) VALUES ('Eve', 1977)");
                db::close_all();
            }).join();
        }
    });
    auto [eve, created] = Author::objects().get_or_create(where(&Author::name) == "Eve");
    EXPECT_FALSE(created);
    EXPECT_EQ(eve.born, 1977);
    EXPECT_EQ(log, (Log{"pre_save Author None"}));

    // A clash on another column than the lookup's: the get finds nothing, the error stays.
    log.clear();
    EXPECT_THROW(static_cast<void>(Author::objects().get_or_create(where(&Author::born) == 1234,
                                                                   {.name = "Ann"})),
                 db::IntegrityError);
    EXPECT_EQ(Author::objects().count(), 5U);
}

// Django: update_or_create.tests.UpdateOrCreateTests (test_update, test_create) — the update
// path saves the found object (created = false); the create path saves a new one made of the
// lookup's values and the updates (created = true).
TEST_F(QueryTest, UpdateOrCreate) {
    listen();
    auto [bob, created_bob] = Author::objects().update_or_create(where(&Author::name) == "Bob",
                                                                 [](Author& a) { a.born = 1952; });
    EXPECT_FALSE(created_bob);
    EXPECT_EQ(bob.born, 1952);
    EXPECT_EQ(Author::objects().get(where(&Author::name) == "Bob").born, 1952);
    EXPECT_EQ(log, (Log{"pre_save Author 2", "post_save Author 2 created=false"}));

    log.clear();
    auto [eve, created_eve] = Author::objects().update_or_create(where(&Author::name) == "Eve",
                                                                 [](Author& a) { a.born = 1990; });
    EXPECT_TRUE(created_eve);
    EXPECT_EQ(eve.name, "Eve");
    EXPECT_EQ(eve.born, 1990);
    EXPECT_EQ(log, (Log{"pre_save Author None", "post_save Author 5 created=true"}));
}

// Django 4.2: get_or_create.tests.UpdateOrCreateTests.
// test_update_only_defaults_and_pre_save_fields_when_local_fields — the update path saves with
// update_fields = the fields it set, so pre_save / post_save see them and a column it did not set
// is not written (here changed behind its back by a pre_save receiver, and kept).
TEST_F(QueryTest, test_update_only_defaults_and_pre_save_fields_when_local_fields) {
    const auto ann = Author::objects().get(where(&Author::name) == "Ann");
    const auto bob = Author::objects().get(where(&Author::name) == "Bob");
    Book::objects().create({.author = ann, .title = "Ed & Fred", .pages = 10});
    std::vector<std::optional<std::set<std::string>>> seen;
    ScopedConnection pre = pre_save.connect<Book>([&](Book&, const SaveEvent& e) {
        seen.push_back(e.update_fields);
        db::connection().execute("UPDATE library_book SET author_id = " + std::to_string(*bob.id));
    });
    ScopedConnection post = post_save.connect<Book>(
        [&](Book&, const SaveEvent& e) { seen.push_back(e.update_fields); });

    // The callback form: the fields it changed.
    auto [book, created] = Book::objects().update_or_create(where(&Book::title) == "Ed & Fred",
                                                            [](Book& b) { b.pages = 20; });
    EXPECT_FALSE(created);
    const std::set<std::string> pages{"pages"};
    ASSERT_EQ(seen.size(), 2U);
    EXPECT_EQ(seen[0], pages);
    EXPECT_EQ(seen[1], pages);
    auto fresh = Book::objects().get(where(&Book::title) == "Ed & Fred");
    EXPECT_EQ(fresh.pages, 20);
    EXPECT_EQ(fresh.author.id(), bob.id);  // not overwritten with the author read before

    // Django's defaults form: the fields assigned, changed or not.
    seen.clear();
    db::connection().execute("UPDATE library_book SET author_id = " + std::to_string(*ann.id));
    auto [again, created_again] =
        Book::objects().update_or_create(where(&Book::title) == "Ed & Fred",
                                         {assign(&Book::pages, 20), assign(&Book::title, "E&F")});
    EXPECT_FALSE(created_again);
    const std::set<std::string> both{"pages", "title"};
    ASSERT_EQ(seen.size(), 2U);
    EXPECT_EQ(seen[0], both);
    fresh = Book::objects().get(where(&ModelBase::id) == *book.id);
    EXPECT_EQ(fresh.title, "E&F");
    EXPECT_EQ(fresh.author.id(), bob.id);

    // A callback that changes nothing saves nothing (update_fields = {}), as Django's empty
    // defaults.
    seen.clear();
    static_cast<void>(Book::objects().update_or_create(where(&Book::title) == "E&F", [](Book&) {}));
    EXPECT_TRUE(seen.empty());

    // The create path saves every field (an INSERT), update_fields = nullopt.
    auto [made, made_created] = Book::objects().update_or_create(
        where(&Book::title) == "New", {assign(&Book::author, ann), assign(&Book::pages, 3)});
    EXPECT_TRUE(made_created);
    EXPECT_EQ(made.pages, 3);
    ASSERT_EQ(seen.size(), 2U);
    EXPECT_FALSE(seen[0].has_value());
}

// Django: update_or_create runs in atomic(): an error in the middle leaves nothing changed.
TEST_F(QueryTest, UpdateOrCreateIsAtomic) {
    ScopedConnection boom =
        post_save.connect<Author>([](Author&, const SaveEvent&) { throw Boom(); });
    EXPECT_THROW(static_cast<void>(Author::objects().update_or_create(
                     where(&Author::name) == "Bob", [](Author& a) { a.born = 1; })),
                 Boom);
    EXPECT_EQ(Author::objects().get(where(&Author::name) == "Bob").born, 1950);
}

// Django: `for u in qs: u.save()` — iterating a query set yields objects one may change and
// save; they stay in its cache (iterating again reads nothing and yields them as changed), and a
// copy of the query set made before keeps the objects it read.
TEST_F(QueryTest, IterationYieldsObjectsOneCanChangeAndSave) {
    int loads = 0;
    ScopedConnection count_loads =
        post_init.connect<Author>([&](Author&, const InitEvent&) { ++loads; });
    auto q = authors().filter(where(&Author::born) == 1950);
    static_cast<void>(std::as_const(q).begin());  // read once
    const auto before = q;                        // shares the objects read
    for (Author& a : q) {
        a.born = 1951;
        a.save();
    }
    EXPECT_EQ(loads, 2);
    EXPECT_EQ(names(authors().filter(where(&Author::born) == 1951)), (Log{"Bob", "Cid"}));
    for (const Author& a : q) {
        EXPECT_EQ(a.born, 1951);
    }
    for (const Author& a : before) {
        EXPECT_EQ(a.born, 1950);
    }
    EXPECT_EQ(loads, 4);  // 2 for `q`, 2 for the names() query; none for the iterations
    // A temporary query set too.
    for (Author& a : Author::objects().filter(where(&Author::name) == "Dee")) {
        a.name = "Di";
        a.save();
    }
    EXPECT_EQ(Author::objects().filter(where(&Author::name) == "Di").count(), 1U);
}

// Django: a QuerySet is iterable, evaluated once and then cached (query.py _fetch_all); a
// query set derived from it (filter, order_by, limit) runs its own query.
TEST_F(QueryTest, IterationReadsOnceAndDerivedQuerySetsReadTheirOwnRows) {
    int loads = 0;
    ScopedConnection count_loads =
        post_init.connect<Author>([&](Author&, const InitEvent&) { ++loads; });
    const QuerySet<Author> q = Author::objects();
    Log seen;
    for (const auto& a : q) {
        seen.push_back(a.name);
    }
    for (const auto& a : q) {
        seen.push_back(a.name);
    }
    EXPECT_EQ(seen, (Log{"Ann", "Bob", "Cid", "Dee", "Ann", "Bob", "Cid", "Dee"}));
    EXPECT_EQ(loads, 4);

    Log limited;
    for (const auto& a : q.limit(2)) {
        limited.push_back(a.name);
    }
    EXPECT_EQ(limited, (Log{"Ann", "Bob"}));
    Log reversed;
    for (const auto& a : q.order_by(&Author::name, true)) {
        reversed.push_back(a.name);
    }
    EXPECT_EQ(reversed, (Log{"Dee", "Cid", "Bob", "Ann"}));
    Log filtered;
    for (const auto& a : q.filter(where(&Author::born) == 1950)) {
        filtered.push_back(a.name);
    }
    EXPECT_EQ(filtered, (Log{"Bob", "Cid"}));
}

// Django: QuerySet.using() — the same query on another database alias.
TEST_F(QueryTest, UsingAnotherDatabase) {
    db::configure({{"default", db::configuration().at("default")},
                   {"other", test_database(dir, "other.db", databases)}});
    migrate("other");
    Author eve{.name = "Eve"};
    eve.save({.database = "other"});
    EXPECT_EQ(names(Author::objects().using_database("other")), (Log{"Eve"}));
    EXPECT_EQ(Author::objects().using_database("other").get().state().database, "other");
    EXPECT_EQ(Author::objects().count(), 4U);
}

// Django's tests/queries QuerySetSupportsPythonIdioms: slicing (qs[a:b]) is LIMIT/OFFSET, here
// limit(), offset() and slice(); "Article 1" to "Article 7" are authors.
class QuerySetSupportsPythonIdioms : public ModelTest {
  protected:
    void SetUp() override {
        ModelTest::SetUp();
        for (int i = 1; i <= 7; ++i) {
            Author::objects().create({.name = "Article " + std::to_string(i)});
        }
    }
    static QuerySet<Author> get_ordered_articles() {
        return Author::objects().order_by(&Author::name);
    }
    static Log names(const QuerySet<Author>& q) {
        Log out;
        for (const Author& a : q.all()) {
            out.push_back(a.name);
        }
        return out;
    }
    static Log articles(std::initializer_list<int> numbers) {
        Log out;
        for (const int n : numbers) {
            out.push_back("Article " + std::to_string(n));
        }
        return out;
    }
};

TEST_F(QuerySetSupportsPythonIdioms, test_can_get_items_using_index_and_slice_notation) {
    EXPECT_EQ(get_ordered_articles().slice(0, 1).first()->name, "Article 1");
    EXPECT_EQ(names(get_ordered_articles().slice(1, 3)), articles({2, 3}));
}

TEST_F(QuerySetSupportsPythonIdioms, test_slicing_without_step_is_lazy) {
    const CapturedQueries queries;
    const auto sliced = get_ordered_articles().slice(0, 5);
    EXPECT_TRUE(queries.sql().empty());
}

TEST_F(QuerySetSupportsPythonIdioms, test_slicing_can_slice_again_after_slicing) {
    EXPECT_EQ(names(get_ordered_articles().slice(0, 5).slice(0, 2)), articles({1, 2}));
    EXPECT_EQ(names(get_ordered_articles().slice(0, 5).offset(4)), articles({5}));
    EXPECT_EQ(names(get_ordered_articles().slice(0, 5).offset(5)), articles({}));
    // Some more tests!
    EXPECT_EQ(names(get_ordered_articles().offset(2).slice(0, 2)), articles({3, 4}));
    EXPECT_EQ(names(get_ordered_articles().offset(2).limit(2)), articles({3, 4}));
    EXPECT_EQ(names(get_ordered_articles().offset(2).slice(2, 3)), articles({5}));
    // Using an offset without a limit is also possible (SQLite: LIMIT -1 OFFSET 5).
    EXPECT_EQ(names(get_ordered_articles().offset(5)), articles({6, 7}));
}

TEST_F(QuerySetSupportsPythonIdioms, test_slicing_cannot_filter_queryset_once_sliced) {
    EXPECT_EQ(
        message_of<ModelError>([] {
            static_cast<void>(Author::objects().slice(0, 5).filter(where(&ModelBase::id) == 1));
        }),
        "Cannot filter a query once a slice has been taken.");
    EXPECT_EQ(
        message_of<ModelError>([] {
            static_cast<void>(Author::objects().offset(1).exclude(where(&ModelBase::id) == 1));
        }),
        "Cannot filter a query once a slice has been taken.");
    // get() without a condition stays possible (Django's filter() without arguments).
    EXPECT_EQ(get_ordered_articles().slice(3, 4).get().name, "Article 4");
}

TEST_F(QuerySetSupportsPythonIdioms, test_slicing_cannot_reorder_queryset_once_sliced) {
    EXPECT_EQ(message_of<ModelError>([] {
                  static_cast<void>(Author::objects().slice(0, 5).order_by(&ModelBase::id));
              }),
              "Cannot reorder a query once a slice has been taken.");
}

TEST_F(QuerySetSupportsPythonIdioms, test_slicing_negative_indexing_not_supported_for_range) {
    // Hint (Django's): inverting your ordering might do what you need.
    const std::string msg = "Negative indexing is not supported.";
    EXPECT_EQ(message_of<ModelError>([] { static_cast<void>(Author::objects().slice(0, -5)); }),
              msg);
    EXPECT_EQ(message_of<ModelError>([] { static_cast<void>(Author::objects().slice(-1, 3)); }),
              msg);
    EXPECT_EQ(message_of<ModelError>([] { static_cast<void>(Author::objects().offset(-1)); }), msg);
    EXPECT_EQ(message_of<ModelError>([] { static_cast<void>(Author::objects().limit(-1)); }), msg);
}

// A slice whose stop is before its start is empty (Django: qs[5:2] == []); count() and
// exists() see the slice, with or without a limit; first() takes the slice's first row.
TEST_F(QuerySetSupportsPythonIdioms, CountExistsAndFirstOfASlice) {
    EXPECT_TRUE(names(get_ordered_articles().slice(5, 2)).empty());
    EXPECT_EQ(get_ordered_articles().offset(5).count(), 2U);
    EXPECT_EQ(get_ordered_articles().slice(2, 4).count(), 2U);
    EXPECT_EQ(get_ordered_articles().offset(9).count(), 0U);
    EXPECT_TRUE(get_ordered_articles().offset(6).exists());
    EXPECT_FALSE(get_ordered_articles().offset(7).exists());
    EXPECT_EQ(get_ordered_articles().offset(3).first()->name, "Article 4");
    EXPECT_EQ(Author::objects().offset(3).first()->name, "Article 4");  // by id within the slice
    EXPECT_EQ(names(get_ordered_articles().limit(5).limit(10)), articles({1, 2, 3, 4, 5}));
}

// The SQL of a slice: LIMIT and OFFSET, an offset alone in each engine's syntax.
TEST_F(QuerySetSupportsPythonIdioms, TheSqlOfASlice) {
    const CapturedQueries queries;
    static_cast<void>(get_ordered_articles().slice(2, 5).all());
    static_cast<void>(get_ordered_articles().offset(5).all());
    ASSERT_EQ(queries.sql().size(), 2U);
    EXPECT_NE(queries.sql()[0].find(" LIMIT 3 OFFSET 2"), std::string::npos) << queries.sql()[0];
    const std::string offset_only = on_postgresql() ? " OFFSET 5" : " LIMIT -1 OFFSET 5";
    EXPECT_NE(queries.sql()[1].find("ASC" + offset_only), std::string::npos) << queries.sql()[1];
}

}  // namespace query_test
}  // namespace
}  // namespace tocsin::test
