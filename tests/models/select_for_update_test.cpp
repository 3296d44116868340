// QuerySet::select_for_update() (Django's tests/select_for_update, ported under Django's names):
// the locking clause on PostgreSQL, nothing on SQLite (Django's has_select_for_update =
// False), the transaction requirement, nowait / skip_locked / of, and rows really locked against
// another connection. Every test runs on both engines; the ones about locks held by another
// connection need FOR UPDATE and skip on SQLite, as Django's skipUnlessDBFeature does.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include "test_support.hpp"
#include "tocsin/db/postgresql_backend.hpp"

namespace sfu {

struct Country : tocsin::Model<Country> {
    static constexpr std::string_view label = "select_for_update.Country";
    std::string name;
    static auto fields() { return tocsin::fields(tocsin::field("name", &Country::name)); }
};

struct EUCountry : tocsin::Model<EUCountry, Country> {
    static constexpr std::string_view label = "select_for_update.EUCountry";
    std::string join_date;
    static auto fields() {
        return tocsin::fields(tocsin::field("join_date", &EUCountry::join_date));
    }
};

struct City : tocsin::Model<City> {
    static constexpr std::string_view label = "select_for_update.City";
    std::string name;
    tocsin::ForeignKey<Country> country{tocsin::on_delete::cascade};
    static auto fields() {
        return tocsin::fields(tocsin::field("name", &City::name),
                              tocsin::field("country", &City::country));
    }
};

struct Person : tocsin::Model<Person> {
    static constexpr std::string_view label = "select_for_update.Person";
    std::string name;
    tocsin::ForeignKey<City> born{tocsin::on_delete::cascade};
    tocsin::ForeignKey<City> died{tocsin::on_delete::cascade};
    static auto fields() {
        return tocsin::fields(tocsin::field("name", &Person::name),
                              tocsin::field("born", &Person::born),
                              tocsin::field("died", &Person::died));
    }
};

}  // namespace sfu

namespace tocsin::test {
namespace {
namespace select_for_update_test {

using sfu::City;
using sfu::Country;
using sfu::EUCountry;
using sfu::Person;

std::string engine_name(const ::testing::TestParamInfo<std::string>& info) {
    return info.param;
}

/// "default" (and "other") on the engine of the parameter, with Django's setUp objects.
class SelectForUpdateTest : public ::testing::TestWithParam<std::string> {
  protected:
    void SetUp() override {
        build_test_models();
        static_cast<void>(Country::info());
        static_cast<void>(EUCountry::info());
        static_cast<void>(City::info());
        static_cast<void>(Person::info());
        if (postgresql()) {
            pg_ = std::make_unique<test_support::PgDatabase>();
            TOCSIN_REQUIRE_POSTGRESQL(*pg_);
        }
        default_ = settings(pg_);
        db::configure({{"default", default_}});
        migrate();
        country1 = Country::objects().create({.name = "Belgium"});
        country2 = Country::objects().create({.name = "France"});
        city1 = City::objects().create({.name = "Liberchies", .country = country1});
        city2 = City::objects().create({.name = "Samois-sur-Seine", .country = country2});
        person = Person::objects().create({.name = "Reinhardt", .born = city1, .died = city2});
    }
    void TearDown() override {
        blocker_.reset();
        db::close_all();
        db::configure({});
    }

    [[nodiscard]] bool postgresql() const { return GetParam() == "postgresql"; }
    /// The settings of a fresh database on the engine of the parameter (kept alive by @p pg).
    db::Settings settings(std::unique_ptr<test_support::PgDatabase>& pg) {
        if (!postgresql()) {
            return {.engine = "sqlite", .name = dir.file("db" + std::to_string(++files_) + ".db")};
        }
        if (!pg) {
            pg = std::make_unique<test_support::PgDatabase>();
        }
        return pg->settings();
    }
    /// Adds a fresh "other" database, with the tables.
    void add_other_database() {
        db::configure({{"default", default_}, {"other", settings(other_pg_)}});
        migrate("other");
    }
    [[nodiscard]] static bool has_select_for_update() {
        return db::connection().backend().features().has_select_for_update;
    }

    /// Django's start_blocking_transaction(): another connection locks every Person row.
    void start_blocking_transaction() {
        blocker_ = std::make_unique<db::PostgresqlBackend>(pg_->settings());
        blocker_->execute_script("BEGIN; SELECT * FROM \"select_for_update_person\" FOR UPDATE");
    }
    /// Django's end_blocking_transaction(): rolls it back, releasing the locks.
    void end_blocking_transaction() {
        blocker_->execute_script("ROLLBACK");
        blocker_.reset();
    }

    /// The SQL the calling thread's "default" connection has run (SQLite: as traced while
    /// `fn` runs; PostgreSQL: its prepared statements, read inside the same transaction).
    template <class F>
    std::vector<std::string> captured_sql(F&& fn) {
        std::vector<std::string> out;
        if (!postgresql()) {
            CapturedQueries queries;
            fn();
            return queries.sql();
        }
        fn();
        for (const auto& row :
             db::connection().query("SELECT statement FROM pg_prepared_statements")) {
            out.push_back(row.at(0).as_text());
        }
        return out;
    }
    static bool has_sql(const std::vector<std::string>& queries, std::string_view fragment) {
        for (const auto& q : queries) {
            if (q.find(fragment) != std::string::npos) {
                return true;
            }
        }
        return false;
    }

    /// Django's run_select_for_update(): in a thread of its own (its own connection), lock the
    /// only Person, rename it Fred and commit; the error, if any, is kept.
    using Outcome =
        std::variant<std::monostate, std::string /*OperationalError*/, bool /*DoesNotExist*/>;
    static Outcome run_select_for_update(SelectForUpdate options) {
        Outcome outcome;
        std::thread t([&] {
            try {
                atomic([&] {
                    Person p = Person::objects().select_for_update(options).get();
                    p.name = "Fred";
                    p.save();
                });
            } catch (const db::OperationalError& e) {
                outcome = std::string(e.what());
            } catch (const DoesNotExist&) {
                outcome = true;
            }
            db::close_all();
        });
        t.join();
        return outcome;
    }

    TempDir dir;
    Country country1, country2;
    City city1, city2;
    Person person;

  private:
    int files_ = 0;
    db::Settings default_;
    std::unique_ptr<test_support::PgDatabase> pg_;
    std::unique_ptr<test_support::PgDatabase> other_pg_;
    std::unique_ptr<db::PostgresqlBackend> blocker_;
};

/// The tests that need FOR UPDATE (Django's skipUnlessDBFeature('has_select_for_update')):
/// PostgreSQL only.
class SelectForUpdateLockTest : public SelectForUpdateTest {};

// Django: test_for_update_sql_generated — the backend's FOR UPDATE appears in the SQL; on
// SQLite (no FOR UPDATE) the query runs without it.
TEST_P(SelectForUpdateTest, test_for_update_sql_generated) {
    std::vector<std::string> queries;
    atomic(
        [&] { queries = captured_sql([] { (void)Person::objects().select_for_update().all(); }); });
    EXPECT_EQ(has_sql(queries, " FOR UPDATE"), postgresql());
    if (!postgresql()) {
        EXPECT_TRUE(has_sql(queries, "FROM \"select_for_update_person\""));
    }
}

// Django: test_for_update_sql_generated_nowait.
TEST_P(SelectForUpdateLockTest, test_for_update_sql_generated_nowait) {
    std::vector<std::string> queries;
    atomic([&] {
        queries =
            captured_sql([] { (void)Person::objects().select_for_update({.nowait = true}).all(); });
    });
    EXPECT_TRUE(has_sql(queries, "FOR UPDATE NOWAIT"));
}

// Django: test_for_update_sql_generated_skip_locked.
TEST_P(SelectForUpdateLockTest, test_for_update_sql_generated_skip_locked) {
    std::vector<std::string> queries;
    atomic([&] {
        queries = captured_sql(
            [] { (void)Person::objects().select_for_update({.skip_locked = true}).all(); });
    });
    EXPECT_TRUE(has_sql(queries, "FOR UPDATE SKIP LOCKED"));
}

// Django 3.2's no_key=True: FOR NO KEY UPDATE.
TEST_P(SelectForUpdateLockTest, test_for_update_sql_generated_no_key) {
    std::vector<std::string> queries;
    atomic([&] {
        queries =
            captured_sql([] { (void)Person::objects().select_for_update({.no_key = true}).all(); });
    });
    EXPECT_TRUE(has_sql(queries, "FOR NO KEY UPDATE"));
}

// Django: test_for_update_sql_generated_of — of=("self",) names the model's table.
TEST_P(SelectForUpdateLockTest, test_for_update_sql_generated_of) {
    std::vector<std::string> queries;
    atomic([&] {
        queries =
            captured_sql([] { (void)Person::objects().select_for_update({.of = {"self"}}).all(); });
    });
    EXPECT_TRUE(has_sql(queries, "FOR UPDATE OF \"select_for_update_person\""));
}

// Django: test_for_update_sql_model_inheritance_generated_of and _ptr_generated_of — on a model
// extending another, "self" and the parent link are accepted and name the model's (derived)
// table, which locks its rows and its parent's.
TEST_P(SelectForUpdateLockTest, test_for_update_sql_model_inheritance_ptr_generated_of) {
    EUCountry::objects().create([] {
        EUCountry c;
        c.name = "Italy";
        c.join_date = "1958";
        return c;
    }());
    std::vector<std::string> queries;
    atomic([&] {
        queries = captured_sql([] {
            const auto rows =
                EUCountry::objects().select_for_update({.of = {"self", "country_ptr"}}).all();
            ASSERT_EQ(rows.size(), 1U);
            EXPECT_EQ(rows[0].name, "Italy");
        });
    });
    EXPECT_TRUE(has_sql(queries, "FOR UPDATE OF \"select_for_update_eucountry\""));
}

// Django: test_nowait_raises_error_on_block — a row locked by another connection makes nowait
// fail at once, with an error saying the row is locked.
TEST_P(SelectForUpdateLockTest, test_nowait_raises_error_on_block) {
    start_blocking_transaction();
    const Outcome outcome = run_select_for_update({.nowait = true});
    end_blocking_transaction();
    ASSERT_TRUE(std::holds_alternative<std::string>(outcome)) << "no OperationalError";
    EXPECT_TRUE(contains(std::get<std::string>(outcome),
                         "the row is locked by another "
                         "transaction"));
    EXPECT_EQ(Person::objects().get().name, "Reinhardt");
}

// Django: test_skip_locked_skips_locked_rows — the locked row is left out: DoesNotExist.
TEST_P(SelectForUpdateLockTest, test_skip_locked_skips_locked_rows) {
    start_blocking_transaction();
    const Outcome outcome = run_select_for_update({.skip_locked = true});
    end_blocking_transaction();
    EXPECT_TRUE(std::holds_alternative<bool>(outcome)) << "the locked row was not skipped";
    EXPECT_EQ(Person::objects().get().name, "Reinhardt");
}

// Django: test_block — without nowait the other connection waits for the lock, then proceeds.
TEST_P(SelectForUpdateLockTest, test_block) {
    start_blocking_transaction();
    std::atomic<bool> done{false};
    Outcome outcome;
    std::thread t([&] {
        try {
            atomic([&] {
                Person p = Person::objects().select_for_update().get();
                p.name = "Fred";
                p.save();
            });
        } catch (const std::exception& e) {
            outcome = std::string(e.what());
        }
        db::close_all();
        done = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_FALSE(done.load()) << "select_for_update did not wait for the lock";
    // Reading without FOR UPDATE does not wait.
    EXPECT_EQ(Person::objects().get(where(&ModelBase::id) == *person.id).name, "Reinhardt");
    end_blocking_transaction();
    t.join();
    EXPECT_TRUE(std::holds_alternative<std::monostate>(outcome));
    EXPECT_EQ(Person::objects().get(where(&ModelBase::id) == *person.id).name, "Fred");
}

// Django: test_raw_lock_not_available — raw SQL meeting a lock fails as the model query does.
TEST_P(SelectForUpdateLockTest, test_raw_lock_not_available) {
    start_blocking_transaction();
    std::optional<std::string> error;
    std::thread t([&] {
        try {
            (void)db::connection().query(
                "SELECT * FROM \"select_for_update_person\" FOR UPDATE NOWAIT");
        } catch (const db::OperationalError& e) {
            error = e.what();
        }
        db::close_all();
    });
    t.join();
    end_blocking_transaction();
    ASSERT_TRUE(error.has_value());
    EXPECT_TRUE(contains(*error, "locked"));
}

// Django: test_for_update_requires_transaction (on SQLite, without FOR UPDATE, it is accepted).
TEST_P(SelectForUpdateTest, test_for_update_requires_transaction) {
    if (!has_select_for_update()) {
        EXPECT_EQ(Person::objects().select_for_update().all().size(), 1U);
        return;
    }
    EXPECT_TRUE(contains(message_of<db::TransactionManagementError>(
                             [] { (void)Person::objects().select_for_update().all(); }),
                         "select_for_update cannot be used outside of a transaction."));
}

// Django: test_for_update_requires_transaction_only_in_execution — making the query set
// outside a transaction is fine; reading it is not.
TEST_P(SelectForUpdateLockTest, test_for_update_requires_transaction_only_in_execution) {
    const auto people = Person::objects().select_for_update();
    EXPECT_THROW((void)people.all(), db::TransactionManagementError);
    atomic([&] { EXPECT_EQ(people.all().size(), 1U); });
}

// Manual transaction mode (set_autocommit(false)) is a transaction too.
TEST_P(SelectForUpdateTest, WorksInManualTransactionMode) {
    auto& db = db::connection();
    db.set_autocommit(false);
    EXPECT_EQ(Person::objects().select_for_update().all().size(), 1U);
    db.rollback();
    db.set_autocommit(true);
}

// Django: test_select_for_update_with_limit.
TEST_P(SelectForUpdateTest, test_select_for_update_with_limit) {
    const Person other =
        Person::objects().create({.name = "Grappeli", .born = city1, .died = city2});
    atomic([&] {
        const auto people =
            Person::objects().order_by(&ModelBase::id, true).select_for_update().limit(1).all();
        ASSERT_EQ(people.size(), 1U);
        EXPECT_EQ(people[0].id, other.id);
    });
}

// Django: test_select_for_update_on_multidb — the query locks on the database it reads: the
// transaction that matters is that database's.
TEST_P(SelectForUpdateTest, test_select_for_update_on_multidb) {
    add_other_database();
    Country spain{.name = "Spain"};
    spain.save({.database = "other"});
    City madrid{.name = "Madrid", .country = spain};
    madrid.save({.database = "other"});
    Person elsewhere{.name = "Elsewhere", .born = madrid, .died = madrid};
    elsewhere.save({.database = "other"});
    const auto query = Person::objects().using_database("other").select_for_update();
    atomic("other", [&] {
        const auto people = query.all();
        ASSERT_EQ(people.size(), 1U);
        EXPECT_EQ(people[0].name, "Elsewhere");
    });
    if (has_select_for_update()) {
        // A transaction on "default" does not make "other" transactional.
        atomic([&] { EXPECT_THROW((void)query.all(), db::TransactionManagementError); });
    }
}

// Django: test_select_for_update_with_get.
TEST_P(SelectForUpdateTest, test_select_for_update_with_get) {
    atomic([&] {
        const Person p =
            Person::objects().select_for_update().get(where(&Person::name) == "Reinhardt");
        EXPECT_EQ(p.name, "Reinhardt");
    });
}

// Django: test_nowait_and_skip_locked (Django's ValueError is tocsin's ModelError).
TEST_P(SelectForUpdateTest, test_nowait_and_skip_locked) {
    EXPECT_EQ(message_of<ModelError>([] {
                  (void)Person::objects().select_for_update({.nowait = true, .skip_locked = true});
              }),
              "The nowait option cannot be used with skip_locked.");
}

// Django: test_unrelated_of_argument_raises_error — a name that is not "self" or a followed
// relation (tocsin follows parent links only) is refused, listing the choices.
TEST_P(SelectForUpdateTest, test_unrelated_of_argument_raises_error) {
    const std::string msg =
        "Invalid field name(s) given in select_for_update(of=(...)): %s. Only relational fields "
        "followed in the query are allowed. Choices are: self.";
    const std::vector<std::vector<std::string>> invalid{
        {"nonexistent"}, {"name"}, {"born"}, {"born__name", "nonexistent"}};
    for (const auto& of : invalid) {
        std::string names;
        for (const auto& n : of) {
            names += (names.empty() ? "" : ", ") + n;
        }
        std::string expected = msg;
        expected.replace(expected.find("%s"), 2, names);
        EXPECT_EQ(
            message_of<ModelError>([&] { (void)Person::objects().select_for_update({.of = of}); }),
            expected);
    }
}

// Django: test_model_inheritance_of_argument_raises_error_ptr_in_choices.
TEST_P(SelectForUpdateTest, test_model_inheritance_of_argument_raises_error_ptr_in_choices) {
    EXPECT_EQ(message_of<ModelError>(
                  [] { (void)EUCountry::objects().select_for_update({.of = {"name"}}); }),
              "Invalid field name(s) given in select_for_update(of=(...)): name. Only relational "
              "fields followed in the query are allowed. Choices are: self, country_ptr.");
}

// Django's delete() drops select_for_update: removing works outside a transaction too, and the
// cascade runs as without it.
TEST_P(SelectForUpdateTest, RemoveIgnoresTheLock) {
    const auto removed =
        City::objects().filter(where(&ModelBase::id) == *city1.id).select_for_update().remove();
    EXPECT_EQ(removed.total, 2U);  // the city and the person born there
    EXPECT_EQ(Person::objects().count(), 0U);
}

// count() reads no row to lock: it works on a locking query set, even outside a transaction.
TEST_P(SelectForUpdateTest, CountDoesNotLock) {
    EXPECT_EQ(Person::objects().select_for_update().count(), 1U);
}

INSTANTIATE_TEST_SUITE_P(Engines, SelectForUpdateTest,
                         ::testing::Values(std::string("sqlite"), std::string("postgresql")),
                         engine_name);
INSTANTIATE_TEST_SUITE_P(Engines, SelectForUpdateLockTest,
                         ::testing::Values(std::string("postgresql")), engine_name);

}  // namespace select_for_update_test
}  // namespace
}  // namespace tocsin::test
