// No SQL from strings, one quoting path (issue 9).
//
// - A condition cannot carry SQL text: its operator is an enum, its column comes from a declared
//   field and is quoted by the backend; SQL text reaches a query only through raw_sql(), whose
//   values are still bound.
// - Every identifier goes through the backend's quote_name(): a model whose db_table and
//   db_column hold `"` migrates, saves, loads, filters, updates, removes (with a cascade and a
//   many-to-many through table), inherits and goes through dumpdata/loaddata.
#include <tocsin/models/fixtures.hpp>

#include <gtest/gtest.h>

#include <string>
#include <type_traits>
#include <vector>

#include "test_support.hpp"

namespace quirk {

/// Every name declared by hand holds a double quote (and the SQL it would end if unquoted).
struct Shelf : tocsin::Model<Shelf> {
    static constexpr std::string_view label = "quirk.Shelf";
    static constexpr std::string_view db_table = "quirk \"shelf\"";
    std::string name;

    static auto fields() {
        return tocsin::fields(tocsin::field("name", &Shelf::name, {.db_column = "na\"me"}));
    }
};

struct Tome : tocsin::Model<Tome> {
    static constexpr std::string_view label = "quirk.Tome";
    static constexpr std::string_view db_table = "quirk\" \"tome";
    tocsin::ForeignKey<Shelf> shelf{tocsin::on_delete::cascade};
    std::string title;
    tocsin::ManyToMany<Shelf> seen_on{{.db_table = "tome\"seen\"on"}};

    static auto fields() {
        return tocsin::fields(tocsin::field("shelf", &Tome::shelf, {.db_column = "shelf\"id"}),
                              tocsin::field("title", &Tome::title, {.db_column = "ti\"\"tle"}),
                              tocsin::field("seen_on", &Tome::seen_on));
    }
};

/// A model extending Tome: queries join the two tables.
struct Scroll : tocsin::Model<Scroll, Tome> {
    static constexpr std::string_view label = "quirk.Scroll";
    static constexpr std::string_view db_table = "quirk\"scroll";
    int length = 0;

    static auto fields() {
        return tocsin::fields(tocsin::field("length", &Scroll::length, {.db_column = "len\"gth"}));
    }
};

}  // namespace quirk

namespace tocsin::test {
namespace {
namespace query_safety_test {

using library::Author;
using quirk::Scroll;
using quirk::Shelf;
using quirk::Tome;

class QuerySafetyTest : public ModelTest {
  protected:
    void SetUp() override {
        static_cast<void>(Shelf::info());   // built before migrate() makes the tables
        static_cast<void>(Scroll::info());  // and Tome, its parent
        ModelTest::SetUp();
    }
};

// Issue 9: `filter(Condition(Leaf{"name", "= 'x' OR 1=1 OR \"name\" =", {"z"}})).remove()`
// removed every row. A condition is now built from a declared field only: nothing public takes
// a column or an operator as text.
static_assert(!std::is_constructible_v<Condition, std::string>);
static_assert(!std::is_constructible_v<Condition, const char*>);
static_assert(
    !std::is_constructible_v<Condition, std::string, std::string, std::vector<db::Value>>);
static_assert(!std::is_constructible_v<Assignment, std::string, db::Value>);
static_assert(!std::is_aggregate_v<Assignment>);

TEST_F(QuerySafetyTest, AnOperatorOrColumnStringCannotRewriteTheQuery) {
    Author::objects().create({.name = "x", .born = 1});
    Author::objects().create({.name = "y", .born = 2});
    // Even the model layer's internal way to name a column cannot carry SQL: the name must be
    // one of the model's columns, and it is quoted by the backend.
    const std::string message = message_of<ModelError>([] {
        Author::objects()
            .filter(detail::column_condition("name\" = 'x' OR 1=1 OR \"name", Condition::Op::eq,
                                             {db::Value("z")}))
            .remove();
    });
    EXPECT_TRUE(contains(message,
                         "Cannot resolve column 'name\" = 'x' OR 1=1 OR \"name' into a "
                         "field of library.Author. Choices are: born, id, name."));
    EXPECT_EQ(rows("library_author"), 2);
    // Hostile text as a value is a bound parameter: it matches nothing.
    EXPECT_EQ(Author::objects().filter(where(&Author::name) == "x' OR 1=1 --").remove().total, 0U);
    EXPECT_EQ(Author::objects().filter(where(&Author::name).contains("' OR 1=1 --")).count(), 0U);
    EXPECT_EQ(rows("library_author"), 2);
}

// Django: lookup.tests.LookupTests.test_error_messages ("Cannot resolve keyword … into field.
// Choices are: …"): a condition or an assignment on another model's field is refused.
TEST_F(QuerySafetyTest, AFieldOfAnotherModelIsRefused) {
    Author::objects().create({.name = "x", .born = 1});
    EXPECT_TRUE(
        contains(message_of<ModelError>([] {
                     static_cast<void>(
                         Author::objects().filter(where(&library::Book::title) == "x").count());
                 }),
                 "Cannot resolve column 'title' into a field of library.Author."));
    EXPECT_TRUE(contains(message_of<ModelError>([] {
                             Author::objects().update({assign(&library::Book::title, "t")});
                         }),
                         "Cannot update library.Author: it has no column 'title'."));
}

// tocsin::raw_sql is Django's RawSQL: the text goes in as written, values are still bound.
TEST_F(QuerySafetyTest, RawSqlBindsItsParameters) {
    Author::objects().create({.name = "Ann", .born = 1900});
    Author::objects().create({.name = "bob", .born = 1950});
    const auto authors = Author::objects().order_by(&Author::name);
    EXPECT_EQ(authors.filter(raw_sql("lower(\"name\") = ?", {db::Value("ann")})).get().name, "Ann");
    EXPECT_EQ(authors.filter(raw_sql("\"born\" > ? AND \"born\" < ?", {1800, 1920})).count(), 1U);
    // A hostile value stays a value.
    EXPECT_EQ(authors.filter(raw_sql("\"name\" = ?", {db::Value("x' OR 1=1 --")})).count(), 0U);
    // Combined with typed conditions and negated; its parameters number after theirs.
    EXPECT_EQ(
        authors.filter(where(&Author::born) >= 1900 && !raw_sql("\"name\" = ?", {db::Value("bob")}))
            .get()
            .name,
        "Ann");
    EXPECT_EQ(authors.exclude(raw_sql("\"born\" = 1950")).get().name, "Ann");
    // A `?` in a string literal, a quoted name or a comment is not a parameter.
    EXPECT_EQ(
        authors
            .filter(raw_sql("\"name\" != '?' AND \"name\" != 'it''s?' AND (SELECT 1 AS \"x?\") = 1 "
                            "/* ? */ -- ?\n AND ? = 1",
                            {db::Value(1)}))
            .count(),
        2U);
    EXPECT_EQ(Author::objects()
                  .filter(raw_sql("\"name\" = ?", {db::Value("bob")}))
                  .update({assign(&Author::born, 1951)}),
              1);
    EXPECT_EQ(Author::objects().get(where(&Author::name) == "bob").born, 1951);
}

TEST_F(QuerySafetyTest, RawSqlRefusesMismatchedPlaceholders) {
    EXPECT_TRUE(contains(message_of<ModelError>([] { static_cast<void>(raw_sql("a = ?")); }),
                         "raw_sql(\"a = ?\"): 1 placeholder(s) '?' but 0 parameter(s)"));
    EXPECT_TRUE(contains(
        message_of<ModelError>([] { static_cast<void>(raw_sql("a = 1", {db::Value(1)})); }),
        "0 placeholder(s) '?' but 1 parameter(s)"));
    EXPECT_TRUE(contains(
        message_of<ModelError>([] { static_cast<void>(raw_sql("a = ?1", {db::Value(1)})); }),
        "numbered placeholders are not supported"));
    EXPECT_TRUE(contains(
        message_of<ModelError>([] { static_cast<void>(raw_sql("a = :a", {db::Value(1)})); }),
        "named placeholders are not supported"));
    EXPECT_TRUE(contains(message_of<ModelError>([] { static_cast<void>(raw_sql("a = 'x")); }),
                         "unterminated '"));
    // Not a parameter: a cast, or `$` inside a name.
    EXPECT_NO_THROW(static_cast<void>(raw_sql("a::text = ? AND b$c = 1", {db::Value(1)})));
}

TEST_F(QuerySafetyTest, NamesHoldingDoubleQuotesWorkEverywhere) {
    Shelf top = Shelf::objects().create({.name = "top"});
    Shelf low = Shelf::objects().create({.name = "low"});
    Tome dune = Tome::objects().create({.shelf = top, .title = "Dune"});
    Tome emma = Tome::objects().create({.shelf = low, .title = "Emma"});
    related(dune, &Tome::seen_on).add(top, low);
    Scroll scroll;
    scroll.shelf = top;
    scroll.title = "Dead Sea";
    scroll.length = 7;
    scroll.save();

    // Load, filter, order.
    EXPECT_EQ(Tome::objects().get(where(&Tome::title) == "Emma").id, emma.id);
    EXPECT_EQ(Tome::objects().filter(where(&Tome::shelf) == top).count(), 2U);
    const auto by_title = Tome::objects().order_by(&Tome::title, true).all();
    ASSERT_EQ(by_title.size(), 3U);
    EXPECT_EQ(by_title.front().title, "Emma");
    EXPECT_EQ(related(dune, &Tome::seen_on).all().count(), 2U);
    EXPECT_TRUE(related(dune, &Tome::seen_on).contains(low));
    EXPECT_EQ(related_set(low, &Tome::seen_on).all().count(), 1U);
    const Scroll loaded = Scroll::objects().get(where(&Scroll::length) == 7);
    EXPECT_EQ(loaded.title, "Dead Sea");
    EXPECT_EQ(loaded.shelf.id(), top.id);

    // Save (UPDATE of every field and of some), refresh, QuerySet::update on both kinds.
    emma.title = "Emma!";
    emma.save();
    emma.save({.update_fields = std::vector<std::string>{"title"}});
    emma.refresh_from_db();
    EXPECT_EQ(emma.title, "Emma!");
    EXPECT_EQ(Tome::objects()
                  .filter(where(&Tome::title) == "Emma!")
                  .update({assign(&Tome::title, "Emma")}),
              1);
    EXPECT_EQ(Scroll::objects().update({assign(&Scroll::length, 8), assign(&Tome::title, "DS")}),
              1);
    EXPECT_EQ(Scroll::objects().get().length, 8);

    // Dump and load back.
    const std::string dump = dumpdata({.labels = {"quirk"}});
    EXPECT_TRUE(contains(dump, "\"title\": \"DS\""));
    related(dune, &Tome::seen_on).remove(low);
    Tome::objects().filter(where(&Tome::title) == "Emma").update({assign(&Tome::title, "x")});
    EXPECT_EQ(loaddata_json(dump).objects, 6U);
    EXPECT_EQ(Tome::objects().filter(where(&Tome::title) == "Emma").count(), 1U);
    EXPECT_EQ(related(dune, &Tome::seen_on).all().count(), 2U);

    // Remove: the cascade from a shelf reaches its tomes, the scroll and the through rows.
    const DeleteResult removed = top.remove();
    EXPECT_EQ(removed.per_model.at("quirk.Tome"), 2U);
    EXPECT_EQ(removed.per_model.at("quirk.Scroll"), 1U);
    EXPECT_EQ(Tome::objects().count(), 1U);
    EXPECT_EQ(Shelf::objects().filter(where(&Shelf::name) == "low").remove().total, 2U);
    EXPECT_EQ(rows("quirk\"\" \"\"tome"), 0);  // the name as quoted by hand
}

}  // namespace query_safety_test
}  // namespace
}  // namespace tocsin::test
