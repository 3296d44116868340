// Schema creation: create_table_sql() and migrate() — referenced tables first, idempotent, on
// any alias.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace tocsin::test {
namespace {

using library::Author;
using library::Book;
using library::Page;
using Log = std::vector<std::string>;

/// Builds Page, then Book, then Author before the other models, so that the build order (the
/// order of all_models()) is the reverse of the order their tables must be created in.
void build_in_reverse_order() {
    static_cast<void>(Page::info());
    static_cast<void>(Book::info());
    static_cast<void>(Author::info());
    build_test_models();
}

/// A model referred to by a foreign key only: nothing builds its description before migrate().
struct Referenced : Model<Referenced> {
    static constexpr std::string_view label = "schema.Referenced";
    int value = 0;
    static auto fields() { return tocsin::fields(tocsin::field("value", &Referenced::value)); }
};
struct Referring : Model<Referring> {
    static constexpr std::string_view label = "schema.Referring";
    ForeignKey<Referenced> target{on_delete::cascade};
    static auto fields() { return tocsin::fields(tocsin::field("target", &Referring::target)); }
};

class SchemaTest : public ::testing::Test {
  protected:
    void SetUp() override {
        build_in_reverse_order();
        db::configure({{"default", {.engine = "sqlite", .name = dir.file("default.db")}},
                       {"other", {.engine = "sqlite", .name = dir.file("other.db")}}});
    }
    void TearDown() override {
        db::close_all();
        db::configure({});
    }

    /// The tables of `alias`, in the order they were created.
    static Log tables(std::string_view alias = "default") {
        Log out;
        for (const auto& row : db::connection(alias).query(
                 "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                 "'sqlite_%' ORDER BY rowid")) {
            out.push_back(row.at(0).as_text());
        }
        return out;
    }
    static std::ptrdiff_t position(const Log& list, const std::string& name) {
        return std::find(list.begin(), list.end(), name) - list.begin();
    }

    TempDir dir;
};

// tocsin: the statement names the table, "id" as the automatic key, every column with its type,
// NULL/NOT NULL, UNIQUE, and keys as deferred REFERENCES (Django's SQLite schema).
TEST_F(SchemaTest, CreateTableSql) {
    EXPECT_EQ(create_table_sql(Author::info()),
              "CREATE TABLE IF NOT EXISTS \"library_author\" (\"id\" INTEGER NOT NULL PRIMARY KEY "
              "AUTOINCREMENT, \"name\" TEXT NOT NULL UNIQUE, \"born\" INTEGER NOT NULL)");
    EXPECT_EQ(create_table_sql(Book::info()),
              "CREATE TABLE IF NOT EXISTS \"library_book\" (\"id\" INTEGER NOT NULL PRIMARY KEY "
              "AUTOINCREMENT, \"author_id\" INTEGER NOT NULL REFERENCES \"library_author\" "
              "(\"id\") DEFERRABLE INITIALLY DEFERRED, \"title\" TEXT NOT NULL, \"pages\" "
              "INTEGER NOT NULL)");
    EXPECT_EQ(create_table_sql(library::Bio::info()),
              "CREATE TABLE IF NOT EXISTS \"library_bio\" (\"id\" INTEGER NOT NULL PRIMARY KEY "
              "AUTOINCREMENT, \"author_id\" INTEGER NOT NULL UNIQUE REFERENCES "
              "\"library_author\" (\"id\") DEFERRABLE INITIALLY DEFERRED, \"text\" TEXT NOT "
              "NULL)");
    EXPECT_EQ(create_table_sql(shop::Customer::info()),
              "CREATE TABLE IF NOT EXISTS \"shop_customer\" (\"id\" INTEGER NOT NULL PRIMARY KEY "
              "AUTOINCREMENT, \"name\" TEXT NOT NULL, \"email\" TEXT NULL)");
    const auto sample = create_table_sql(lab::Sample::info());
    for (const char* column :
         {"\"count\" INTEGER NOT NULL", "\"ratio\" REAL NOT NULL", "\"text\" TEXT NOT NULL",
          "\"flag\" INTEGER NOT NULL", "\"at\" INTEGER NOT NULL", "\"maybe\" INTEGER NULL",
          "\"note\" TEXT NULL", "\"data\" BLOB NOT NULL"}) {
        EXPECT_TRUE(contains(sample, column));
    }
    EXPECT_TRUE(contains(create_table_sql(lab::Legacy::info()),
                         "\"legacy_things\" (\"id\" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "
                         "\"ttl\" TEXT NOT NULL)"));
}

// Django: a ForeignKey has db_index=True, so migrate indexes its column; a OneToOne's UNIQUE is
// its index already. The removal collector's cascades look rows up by these columns.
TEST_F(SchemaTest, MigrateIndexesEveryForeignKeyThatIsNotUnique) {
    EXPECT_EQ(create_index_sql(Book::info()),
              (std::vector<std::string>{"CREATE INDEX IF NOT EXISTS \"library_book_author_id_idx\" "
                                        "ON \"library_book\" (\"author_id\")"}));
    EXPECT_TRUE(create_index_sql(library::Bio::info()).empty());  // one-to-one: UNIQUE
    EXPECT_TRUE(create_index_sql(Author::info()).empty());        // no key
    migrate();
    const auto indexes = db::connection().query(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'library_book'");
    ASSERT_EQ(indexes.size(), 1u);
    EXPECT_EQ(indexes[0].at(0).as_text(), "library_book_author_id_idx");
    // SQLite uses it to find an author's books.
    const auto plan = db::connection().query(
        "EXPLAIN QUERY PLAN SELECT id FROM library_book WHERE author_id = 1");
    ASSERT_FALSE(plan.empty());
    EXPECT_NE(plan[0].back().as_text().find("library_book_author_id_idx"), std::string::npos)
        << plan[0].back().as_text();
    migrate();  // idempotent
}

// Django: migrate creates the referenced tables before the tables that reference them, here
// even though Page and Book were described before Author.
TEST_F(SchemaTest, MigrateCreatesReferencedTablesFirst) {
    const auto models = all_models();
    const auto index = [&](const ModelInfo& m) {
        return std::find(models.begin(), models.end(), &m) - models.begin();
    };
    ASSERT_LT(index(Page::info()), index(Book::info()));
    ASSERT_LT(index(Book::info()), index(Author::info()));

    migrate();
    const auto created = tables();
    EXPECT_EQ(created.size(), models.size());
    for (const ModelInfo* m : models) {
        for (const FieldInfo& f : m->fields) {
            if (f.is_relation && &f.target() != m) {
                EXPECT_LT(position(created, f.target().table), position(created, m->table))
                    << m->table << " references " << f.target().table;
            }
        }
    }
    EXPECT_LT(position(created, "library_author"), position(created, "library_book"));
    EXPECT_LT(position(created, "library_book"), position(created, "library_page"));
}

// Django: migrate is idempotent — tables that exist are left as they are, with their rows.
TEST_F(SchemaTest, MigrateIsIdempotent) {
    migrate();
    auto ann = Author::objects().create({.name = "Ann"});
    Book::objects().create({.author = ann, .title = "Dune"});
    const auto before = tables();
    migrate();
    migrate();
    EXPECT_EQ(tables(), before);
    EXPECT_EQ(Author::objects().get().name, "Ann");
    EXPECT_EQ(Book::objects().count(), 1U);
}

// Django: migrate --database=other creates the tables on that alias only.
TEST_F(SchemaTest, MigrateAnotherAlias) {
    migrate("other");
    EXPECT_EQ(tables("other").size(), all_models().size());
    EXPECT_TRUE(tables("default").empty());
    Author eve{.name = "Eve"};
    eve.save({.database = "other"});
    EXPECT_EQ(Author::objects().using_database("other").count(), 1U);
}

// migrate() creates the table of a model that only a relation names (its description is built
// by the statement that refers to it), and returns what it created: the plan it worked from.
TEST_F(SchemaTest, MigrateCreatesTheTableOfAModelOnlyARelationNames) {
    static_cast<void>(Referring::info());
    const auto plan = migrate();
    const auto created = tables();
    ASSERT_EQ(created.size(), plan.size());
    for (std::size_t i = 0; i < plan.size(); ++i) {
        EXPECT_EQ(created[i], plan[i]->table);
    }
    EXPECT_LT(position(created, "schema_referenced"), position(created, "schema_referring"));
    const auto target = Referenced::objects().create({.value = 7});
    Referring r;
    r.target = target;
    r.save();
    EXPECT_EQ(Referring::objects().get().target.id(), target.id);
}

}  // namespace
}  // namespace tocsin::test
