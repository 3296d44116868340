// Fields: every storable C++ type round-trips through SQLite; defaults come from the member
// initializers; constraint violations are tocsin::db::IntegrityError naming the column and
// leave the database as it was (DESIGN: "Bad input gives an exception that says what and
// where, and leaves the database as it was").
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <latch>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace tocsin::test {
namespace {
namespace fields_test {

using lab::Color;
using lab::Sample;
using library::Author;
using library::Book;
using namespace std::chrono_literals;

class FieldsTest : public ModelTest {
  protected:
    static Sample reload(const Sample& s) {
        return Sample::objects().get(where(&ModelBase::id) == *s.id);
    }
};

// Django: model_fields tests (each field type saves and loads its value) — here the types
// value_traits maps: int, int64, double, std::string, bool, time points, optional (NULL),
// unsigned, enum, blob.
TEST_F(FieldsTest, EveryTypeRoundTrips) {
    Sample s;
    s.count = std::numeric_limits<int>::min();
    s.big = std::numeric_limits<std::int64_t>::max();
    s.ratio = -1.5e300;
    s.text = "it's \"quoted\", ünïcødé, \xF0\x9F\x94\x94";
    s.flag = false;
    s.at = std::chrono::system_clock::time_point{} + 1'700'000'000s + 123'456us;
    s.day = std::chrono::sys_seconds{-86'400s};  // before the epoch
    s.maybe = 0;
    s.note = std::nullopt;
    s.small = std::numeric_limits<std::uint16_t>::max();
    s.color = Color::blue;
    s.data = {std::byte{0}, std::byte{0xff}, std::byte{0x10}};
    s.save();

    const auto r = reload(s);
    EXPECT_EQ(r.count, s.count);
    EXPECT_EQ(r.big, s.big);
    EXPECT_EQ(r.ratio, s.ratio);
    EXPECT_EQ(r.text, s.text);
    EXPECT_EQ(r.flag, false);
    EXPECT_EQ(r.at, s.at);
    EXPECT_EQ(r.day, s.day);
    EXPECT_EQ(r.maybe, std::optional<int>(0));
    EXPECT_EQ(r.note, std::nullopt);
    EXPECT_EQ(r.small, s.small);
    EXPECT_EQ(r.color, Color::blue);
    EXPECT_EQ(r.data, s.data);

    // And back: the optional set, the other one NULL.
    s.maybe = std::nullopt;
    s.note = "set";
    s.save();
    const auto r2 = reload(s);
    EXPECT_EQ(r2.maybe, std::nullopt);
    EXPECT_EQ(r2.note, std::optional<std::string>("set"));
    // NULL is stored as NULL, not as a value.
    EXPECT_TRUE(db::connection()
                    .query_value(params("SELECT CASE WHEN maybe IS NULL THEN 1 ELSE 0 END FROM "
                                        "lab_sample WHERE id = ?1"),
                                 {*s.id})
                    ->as_integer());
}

// value.hpp: time points are stored as microseconds; finer precision is floored.
TEST_F(FieldsTest, TimePointsKeepMicroseconds) {
    Sample s;
    s.at = std::chrono::system_clock::time_point{} +
           std::chrono::duration_cast<std::chrono::system_clock::duration>(1'234'567'891ns);
    s.save();
    EXPECT_EQ(reload(s).at,
              std::chrono::system_clock::time_point{} + std::chrono::microseconds{1'234'567});
}

// Django: Field.default — a field's default is its member's initializer: in the description
// (what SET_DEFAULT uses) and in a saved default-initialised object.
TEST_F(FieldsTest, DefaultsFromMemberInitializers) {
    const auto& info = Sample::info();
    EXPECT_EQ(info.field("count")->default_value, db::Value(7));
    EXPECT_EQ(info.field("big")->default_value, db::Value(std::int64_t{5'000'000'000}));
    EXPECT_EQ(info.field("ratio")->default_value, db::Value(0.25));
    EXPECT_EQ(info.field("text")->default_value, db::Value("hello"));
    EXPECT_EQ(info.field("flag")->default_value, db::Value(true));
    EXPECT_EQ(info.field("maybe")->default_value, db::Value());
    EXPECT_EQ(info.field("note")->default_value, db::Value("n/a"));
    EXPECT_EQ(info.field("color")->default_value, db::Value(2));
    EXPECT_EQ(shop::Review::info().field("customer")->default_value,
              db::Value(shop::default_customer_id));

    Sample s;
    s.save();
    const auto r = reload(s);
    EXPECT_EQ(r.count, 7);
    EXPECT_EQ(r.big, 5'000'000'000);
    EXPECT_EQ(r.ratio, 0.25);
    EXPECT_EQ(r.text, "hello");
    EXPECT_TRUE(r.flag);
    EXPECT_EQ(r.day, std::chrono::sys_seconds{86'400s});
    EXPECT_EQ(r.maybe, std::nullopt);
    EXPECT_EQ(r.note, std::optional<std::string>("n/a"));
    EXPECT_EQ(r.small, 3);
    EXPECT_EQ(r.color, Color::green);
}

// Django: IntegrityError on a unique field (model_forms/validation tests rely on it): the
// exception names the table and column, and the database is as it was — the other row intact,
// nothing added; the object stays unsaved.
TEST_F(FieldsTest, UniqueViolationNamesTheColumnAndChangesNothing) {
    Author::objects().create({.name = "Ann", .born = 1900});
    Author twin{.name = "Ann", .born = 2000};
    try {
        twin.save();
        ADD_FAILURE() << "no IntegrityError";
    } catch (const db::IntegrityError& e) {
        EXPECT_EQ(e.kind(), db::IntegrityError::Kind::unique);
        EXPECT_EQ(e.table(), "library_author");
        EXPECT_EQ(e.columns(), (std::vector<std::string>{"name"}));
        EXPECT_TRUE(contains(e.what(), "library_author.name"));
    }
    EXPECT_FALSE(twin.id.has_value());
    EXPECT_TRUE(twin.state().adding);
    EXPECT_EQ(rows("library_author"), 1);
    EXPECT_EQ(Author::objects().get().born, 1900);

    // An UPDATE into the clash leaves both rows as they were.
    auto bob = Author::objects().create({.name = "Bob", .born = 1950});
    bob.name = "Ann";
    bob.born = 1;
    EXPECT_THROW(bob.save(), db::IntegrityError);
    EXPECT_EQ(Author::objects().get(where(&ModelBase::id) == *bob.id).name, "Bob");
    EXPECT_EQ(Author::objects().get(where(&ModelBase::id) == *bob.id).born, 1950);
}

// docs/db.md: an error's "[at file:line]" is the caller's line, not a line of tocsin's sources
// (it said src/models/save.cpp:216).
TEST_F(FieldsTest, ADatabaseErrorNamesTheCallersLine) {
    const auto at_line = [](const std::exception& e, int line) {
        return contains(e.what(), "[at ") &&
               contains(e.what(), std::string("fields_test.cpp:") + std::to_string(line) + "]");
    };
    Author::objects().create({.name = "Ann", .born = 1900});
    Author twin{.name = "Ann", .born = 2000};
    try {
        twin.save();
        ADD_FAILURE() << "no IntegrityError";
    } catch (const db::IntegrityError& e) {
        EXPECT_TRUE(at_line(e, __LINE__ - 3)) << e.what();
        EXPECT_FALSE(contains(e.what(), "src/models/")) << e.what();
    }
    try {
        (void)Author::objects().create({.name = "Ann", .born = 2001});
        ADD_FAILURE() << "no IntegrityError";
    } catch (const db::IntegrityError& e) {
        EXPECT_TRUE(at_line(e, __LINE__ - 3)) << e.what();
    }
    const auto by_born = where(&Author::born) == 1;
    try {
        (void)Author::objects().get_or_create(by_born, Author{.name = "Ann"});
        ADD_FAILURE() << "no IntegrityError";
    } catch (const db::IntegrityError& e) {
        EXPECT_TRUE(at_line(e, __LINE__ - 3)) << e.what();
    }
    auto bob = Author::objects().create({.name = "Bob", .born = 1950});
    const auto bobs = Author::objects().filter(where(&Author::name) == "Bob");
    try {
        (void)bobs.update({assign(&Author::name, "Ann")});
        ADD_FAILURE() << "no IntegrityError";
    } catch (const db::IntegrityError& e) {
        EXPECT_TRUE(at_line(e, __LINE__ - 3)) << e.what();
    }
    // Reads too, iteration included (the first begin() runs the query).
    db::connection().execute_script("DROP TABLE lab_sample");
    try {
        for (const Sample& sample : Sample::objects()) {
            ADD_FAILURE() << *sample.id;
        }
        ADD_FAILURE() << "no ProgrammingError";
    } catch (const db::ProgrammingError& e) {
        EXPECT_TRUE(at_line(e, __LINE__ - 5)) << e.what();
    }
    try {
        (void)Sample::objects().count();
        ADD_FAILURE() << "no ProgrammingError";
    } catch (const db::ProgrammingError& e) {
        EXPECT_TRUE(at_line(e, __LINE__ - 3)) << e.what();
    }
    if (on_postgresql()) {  // the rest waits on SQLite's database-wide write lock
        return;
    }
    // A lock timeout at BEGIN IMMEDIATE names the caller's line too.
    db::configure({{"default",
                    {.name = db::configuration().at("default").name,
                     .timeout = std::chrono::milliseconds(0)}}});
    std::latch locked(1);
    std::thread holder([&] {
        auto& other = db::connection();
        other.execute_script("BEGIN IMMEDIATE");
        locked.count_down();
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        other.execute_script("COMMIT");
        db::close_all();
    });
    locked.wait();
    try {
        (void)bob.remove();
        ADD_FAILURE() << "no OperationalError";
    } catch (const db::OperationalError& e) {
        EXPECT_TRUE(at_line(e, __LINE__ - 3)) << e.what();
        EXPECT_TRUE(contains(e.what(), "database is locked")) << e.what();
    }
    holder.join();
}

// SQLite stores NaN as NULL: a NaN reached the database as "NOT NULL constraint failed". It is
// refused before the write, naming the model, the field and the value. (Django sends it to the
// database and reports SQLite's IntegrityError.)
TEST_F(FieldsTest, NaNIsRefusedBeforeTheWriteNamingTheField) {
    Sample s;
    s.ratio = std::numeric_limits<double>::quiet_NaN();
    try {
        s.save();
        ADD_FAILURE() << "NaN was saved";
    } catch (const db::DataError& e) {
        EXPECT_TRUE(contains(e.what(), "lab.Sample.ratio = NaN")) << e.what();
        EXPECT_TRUE(contains(e.what(), "SQLite stores NaN as NULL")) << e.what();
        EXPECT_TRUE(contains(e.what(), "fields_test.cpp:")) << e.what();
    }
    EXPECT_FALSE(s.id.has_value());
    EXPECT_EQ(rows("lab_sample"), 0);
    // On update too: the row keeps its value.
    s.ratio = 0.5;
    s.save();
    s.ratio = -std::numeric_limits<double>::quiet_NaN();
    EXPECT_THROW(s.save(), db::DataError);
    EXPECT_EQ(reload(s).ratio, 0.5);
    // Infinities are stored as they are.
    s.ratio = std::numeric_limits<double>::infinity();
    s.save();
    EXPECT_EQ(reload(s).ratio, std::numeric_limits<double>::infinity());
}

// Django: transactions.tests.AtomicErrorsTests.test_atomic_prevents_queries_in_broken_transaction
// — a failed save inside atomic marks the block for rollback (mark_for_rollback_on_error):
// "An error occurred in the current transaction. You can't execute queries until the end of the
// 'atomic' block."; the block then rolls back every write made in it.
TEST_F(FieldsTest, FailedSaveInsideAtomicMarksTheBlockForRollback) {
    Author::objects().create({.name = "Ann"});
    {
        auto block = atomic();
        Author::objects().create({.name = "Bob"});
        Author twin{.name = "Ann"};
        EXPECT_THROW(twin.save(), db::IntegrityError);
        EXPECT_TRUE(db::connection().get_rollback());
        EXPECT_TRUE(contains(message_of<db::TransactionManagementError>(
                                 [] { static_cast<void>(Author::objects().count()); }),
                             "You can't execute queries until the end of the 'atomic' block"));
    }
    EXPECT_EQ(rows("library_author"), 1);
}

// Django: a NOT NULL foreign key left empty is an IntegrityError ("NOT NULL constraint failed:
// library_book.author_id"), and nothing is written.
TEST_F(FieldsTest, NullIntoANonNullForeignKey) {
    Book orphan{.title = "Orphan"};
    try {
        orphan.save();
        ADD_FAILURE() << "no IntegrityError";
    } catch (const db::IntegrityError& e) {
        EXPECT_EQ(e.kind(), db::IntegrityError::Kind::not_null);
        EXPECT_EQ(e.columns(), (std::vector<std::string>{"author_id"}));
        EXPECT_TRUE(contains(e.what(), "library_book.author_id"));
    }
    EXPECT_FALSE(orphan.id.has_value());
    EXPECT_EQ(rows("library_book"), 0);
}

// Django: a key to a row that does not exist violates the FOREIGN KEY constraint (checked at
// the end of the transaction, as Django's SQLite constraints are deferred).
TEST_F(FieldsTest, ForeignKeyToAMissingRow) {
    Book dangling{.title = "Dangling"};
    dangling.author.set_id(42);
    try {
        dangling.save();
        ADD_FAILURE() << "no IntegrityError";
    } catch (const db::IntegrityError& e) {
        EXPECT_EQ(e.kind(), db::IntegrityError::Kind::foreign_key);
    }
    EXPECT_EQ(rows("library_book"), 0);
}

// tocsin: a field declared with {.db_column} and a model with db_table use those names in SQL
// and queries.
TEST_F(FieldsTest, DbTableAndDbColumn) {
    lab::Legacy l{.title = "old"};
    l.save();
    EXPECT_EQ(rows("legacy_things"), 1);
    EXPECT_EQ(db::connection().query_value("SELECT ttl FROM legacy_things")->as_text(), "old");
    EXPECT_EQ(lab::Legacy::objects().get(where(&lab::Legacy::title) == "old").id, l.id);
    EXPECT_EQ(lab::Legacy::info().field("title")->column, "ttl");
}

}  // namespace fields_test
}  // namespace
}  // namespace tocsin::test
