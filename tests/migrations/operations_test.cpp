// Every operation forwards and backwards, with rows in the tables and their values checked, on
// SQLite and PostgreSQL. Ported from Django's tests/migrations/test_operations.py
// (OperationTests) where they apply: Django's "Pony" models and test names.
#include <gtest/gtest.h>

#include "test_support.hpp"

namespace tocsin::test {
namespace {
namespace operations_test {

using db::LogicalType;

mig::ModelState pony() {
    return make_model("test_app", "Pony",
                      {make_field("pink", LogicalType::integer, 3),
                       make_field("weight", LogicalType::real, 1.0)});
}

class OperationTests : public EngineTest {
  protected:
    /// Writes 0001_initial (Pony) and these later migrations, one each, in a chain.
    void write(const std::vector<std::vector<mig::Operation>>& later,
               std::vector<mig::Operation> initial = {mig::CreateModel{pony()}}) {
        write_migration(root(), make_migration("test_app", "0001_initial", std::move(initial)));
        std::string previous = "0001_initial";
        for (std::size_t i = 0; i < later.size(); ++i) {
            const std::string name = "000" + std::to_string(i + 2) + "_step";
            write_migration(root(),
                            make_migration("test_app", name, later[i], {{"test_app", previous}}));
            previous = name;
        }
    }
    /// Two ponies: (pink 1, weight 2.5) and (pink 7, weight 0.5).
    static void add_ponies() {
        exec("INSERT INTO test_app_pony (pink, weight) VALUES (1, 2.5)");
        exec("INSERT INTO test_app_pony (pink, weight) VALUES (7, 0.5)");
    }
    static std::vector<std::string> columns(const std::string& table) {
        return mig::table_columns("default", table);
    }
    static std::string values(const std::string& sql) {
        std::string out;
        for (const auto& row : rows(sql)) {
            for (const auto& v : row) {
                out += db::to_string(v) + " ";
            }
            out += "| ";
        }
        return out;
    }
};

TEST_P(OperationTests, test_create_model) {
    write({});
    EXPECT_FALSE(mig::table_exists("default", "test_app_pony"));
    const auto result = migrate_to();
    ASSERT_EQ(result.plan.size(), 1U);
    EXPECT_EQ(result.plan[0], (MigrationStep{"test_app", "0001_initial", false}));
    EXPECT_EQ(columns("test_app_pony"), (std::vector<std::string>{"id", "pink", "weight"}));
    add_ponies();
    EXPECT_EQ(values("SELECT pink, weight FROM test_app_pony ORDER BY id"), "1 2.5 | 7 0.5 | ");
    // Backwards: the table goes.
    const auto back = migrate_to("test_app", "zero");
    ASSERT_EQ(back.plan.size(), 1U);
    EXPECT_TRUE(back.plan[0].backwards);
    EXPECT_FALSE(mig::table_exists("default", "test_app_pony"));
    EXPECT_TRUE(mig::MigrationRecorder("default").applied().empty());
}

TEST_P(OperationTests, test_delete_model) {
    write({{mig::DeleteModel{"Pony"}}});
    migrate_to("test_app", "0001");
    add_ponies();
    migrate_to();
    EXPECT_FALSE(mig::table_exists("default", "test_app_pony"));
    migrate_to("test_app", "0001");
    EXPECT_EQ(columns("test_app_pony"), (std::vector<std::string>{"id", "pink", "weight"}));
    EXPECT_EQ(values("SELECT COUNT(*) FROM test_app_pony"), "0 | ");  // created empty again
}

TEST_P(OperationTests, test_add_field) {
    write({{mig::AddField{"Pony", make_field("height", LogicalType::real, 5.0)}}});
    migrate_to("test_app", "0001");
    add_ponies();
    migrate_to();
    EXPECT_EQ(values("SELECT pink, weight, height FROM test_app_pony ORDER BY id"),
              "1 2.5 5 | 7 0.5 5 | ");
    exec("UPDATE test_app_pony SET height = 9 WHERE pink = 7");
    migrate_to("test_app", "0001");
    EXPECT_EQ(columns("test_app_pony"), (std::vector<std::string>{"id", "pink", "weight"}));
    EXPECT_EQ(values("SELECT id, pink, weight FROM test_app_pony ORDER BY id"),
              "1 1 2.5 | 2 7 0.5 | ");
}

TEST_P(OperationTests, test_add_field_text_and_boolean_defaults) {
    write({{mig::AddField{"Pony", make_field("name", LogicalType::text, "it's")},
            mig::AddField{"Pony", make_field("shy", LogicalType::boolean, true)},
            mig::AddField{"Pony", make_field("nick", LogicalType::text, {}, true)}}});
    migrate_to("test_app", "0001");
    add_ponies();
    migrate_to();
    EXPECT_EQ(values("SELECT name, nick FROM test_app_pony ORDER BY id"),
              "'it''s' NULL | 'it''s' NULL | ");
    EXPECT_EQ(values("SELECT COUNT(*) FROM test_app_pony WHERE shy"), "2 | ");
}

TEST_P(OperationTests, test_remove_field) {
    write({{mig::RemoveField{"Pony", "pink"}}});
    migrate_to("test_app", "0001");
    add_ponies();
    migrate_to();
    EXPECT_EQ(columns("test_app_pony"), (std::vector<std::string>{"id", "weight"}));
    EXPECT_EQ(values("SELECT id, weight FROM test_app_pony ORDER BY id"), "1 2.5 | 2 0.5 | ");
    // Backwards: the column comes back with its default; the other values are kept.
    migrate_to("test_app", "0001");
    EXPECT_EQ(values("SELECT id, pink, weight FROM test_app_pony ORDER BY id"),
              "1 3 2.5 | 2 3 0.5 | ");
}

TEST_P(OperationTests, test_alter_field) {
    auto nullable = make_field("pink", LogicalType::integer, 3, true);
    write({{mig::AlterField{"Pony", nullable}}});
    migrate_to("test_app", "0001");
    add_ponies();
    migrate_to();
    exec("INSERT INTO test_app_pony (pink, weight) VALUES (NULL, 4)");
    EXPECT_EQ(values("SELECT pink, weight FROM test_app_pony ORDER BY id"),
              "1 2.5 | 7 0.5 | NULL 4 | ");
    // Backwards: NOT NULL again, the NULL filled with the default.
    migrate_to("test_app", "0001");
    EXPECT_EQ(values("SELECT pink, weight FROM test_app_pony ORDER BY id"),
              "1 2.5 | 7 0.5 | 3 4 | ");
    EXPECT_THROW(exec("INSERT INTO test_app_pony (pink, weight) VALUES (NULL, 4)"),
                 db::IntegrityError);
}

TEST_P(OperationTests, test_alter_field_type) {
    write({{mig::AlterField{"Pony", make_field("pink", LogicalType::text, "3")}}});
    migrate_to("test_app", "0001");
    add_ponies();
    migrate_to();
    EXPECT_EQ(values("SELECT pink FROM test_app_pony ORDER BY id"), "'1' | '7' | ");
    migrate_to("test_app", "0001");
    EXPECT_EQ(values("SELECT pink FROM test_app_pony ORDER BY id"), "1 | 7 | ");
}

TEST_P(OperationTests, test_alter_field_unique) {
    auto unique = make_field("pink", LogicalType::integer, 3);
    unique.unique = true;
    write({{mig::AlterField{"Pony", unique}}});
    migrate_to("test_app", "0001");
    add_ponies();
    migrate_to();
    EXPECT_THROW(exec("INSERT INTO test_app_pony (pink, weight) VALUES (1, 1)"),
                 db::IntegrityError);
    migrate_to("test_app", "0001");
    exec("INSERT INTO test_app_pony (pink, weight) VALUES (1, 1)");
    EXPECT_EQ(values("SELECT COUNT(*) FROM test_app_pony WHERE pink = 1"), "2 | ");
    // The new row's pk: 3 on SQLite, 4 on PostgreSQL (whose sequence the refused insert used).
    const std::string duplicate = db::to_string(
        *db::connection().query_value("SELECT MAX(id) FROM test_app_pony WHERE pink = 1"));
    // Forwards again fails on the duplicate: rolled back, and says which operation and which row
    // (on SQLite while copying the rows into the rebuilt table, on PostgreSQL at ADD CONSTRAINT).
    try {
        migrate_to();
        FAIL() << "a unique column over duplicates";
    } catch (const mig::MigrationError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("Applying test_app.0002_step failed at operation 0 (AlterField: Alter "
                            "field pink on pony): the row with pk " +
                            duplicate +
                            " of \"test_app_pony\" has pink = 1, as the row with pk 1 has "
                            "(unique in test_app.Pony): "),
                  std::string::npos)
            << what;
        EXPECT_NE(what.find("; the migration was rolled back"), std::string::npos) << what;
    }
    EXPECT_EQ(mig::MigrationRecorder("default").applied().count({"test_app", "0002_step"}), 0U);
    EXPECT_EQ(values("SELECT COUNT(*) FROM test_app_pony"), "3 | ");
}

TEST_P(OperationTests, test_alter_field_db_index) {
    auto indexed = make_field("pink", LogicalType::integer, 3);
    indexed.db_index = true;
    write({{mig::AlterField{"Pony", indexed}}});
    migrate_to("test_app", "0001");
    add_ponies();
    migrate_to();
    EXPECT_NE(catalog().find("test_app_pony_pink_idx"), std::string::npos) << catalog();
    migrate_to("test_app", "0001");
    EXPECT_EQ(catalog().find("test_app_pony_pink_idx"), std::string::npos) << catalog();
    EXPECT_EQ(values("SELECT pink FROM test_app_pony ORDER BY id"), "1 | 7 | ");
}

TEST_P(OperationTests, test_rename_field) {
    write({{mig::RenameField{"Pony", "pink", "blue"}}});
    migrate_to("test_app", "0001");
    add_ponies();
    migrate_to();
    EXPECT_EQ(columns("test_app_pony"), (std::vector<std::string>{"id", "blue", "weight"}));
    EXPECT_EQ(values("SELECT blue FROM test_app_pony ORDER BY id"), "1 | 7 | ");
    migrate_to("test_app", "0001");
    EXPECT_EQ(columns("test_app_pony"), (std::vector<std::string>{"id", "pink", "weight"}));
    EXPECT_EQ(values("SELECT pink FROM test_app_pony ORDER BY id"), "1 | 7 | ");
}

TEST_P(OperationTests, test_add_index) {
    write({{mig::AddIndex{"Pony", {"test_adin_pony_pink_idx", {"pink", "weight"}}}}});
    migrate_to("test_app", "0001");
    add_ponies();
    migrate_to();
    EXPECT_NE(catalog().find("test_adin_pony_pink_idx"), std::string::npos);
    migrate_to("test_app", "0001");
    EXPECT_EQ(catalog().find("test_adin_pony_pink_idx"), std::string::npos);
    EXPECT_EQ(values("SELECT COUNT(*) FROM test_app_pony"), "2 | ");
}

TEST_P(OperationTests, test_remove_index) {
    write({{mig::AddIndex{"Pony", {"pony_test_idx", {"pink"}}}},
           {mig::RemoveIndex{"Pony", "pony_test_idx"}}});
    migrate_to();
    EXPECT_EQ(catalog().find("pony_test_idx"), std::string::npos);
    migrate_to("test_app", "0002");
    EXPECT_NE(catalog().find("pony_test_idx"), std::string::npos);
}

TEST_P(OperationTests, test_add_constraint) {
    write({{mig::AddConstraint{"Pony",
                               {"test_constraint_pony_pink_weight_uniq", {"pink", "weight"}}}}});
    migrate_to("test_app", "0001");
    add_ponies();
    migrate_to();
    EXPECT_THROW(exec("INSERT INTO test_app_pony (pink, weight) VALUES (1, 2.5)"),
                 db::IntegrityError);
    exec("INSERT INTO test_app_pony (pink, weight) VALUES (1, 3.5)");
    migrate_to("test_app", "0001");
    exec("INSERT INTO test_app_pony (pink, weight) VALUES (1, 2.5)");
    EXPECT_EQ(values("SELECT COUNT(*) FROM test_app_pony"), "4 | ");
}

TEST_P(OperationTests, test_remove_constraint) {
    write({{mig::AddConstraint{"Pony", {"pink_uniq", {"pink"}}}},
           {mig::RemoveConstraint{"Pony", "pink_uniq"}}});
    migrate_to();
    add_ponies();
    exec("INSERT INTO test_app_pony (pink, weight) VALUES (1, 9)");
    // Backwards the constraint comes back: the duplicate refuses it, and nothing is lost.
    EXPECT_THROW(migrate_to("test_app", "0002"), mig::MigrationError);
    EXPECT_EQ(values("SELECT COUNT(*) FROM test_app_pony"), "3 | ");
    exec("DELETE FROM test_app_pony WHERE weight = 9");
    migrate_to("test_app", "0002");
    EXPECT_THROW(exec("INSERT INTO test_app_pony (pink, weight) VALUES (1, 9)"),
                 db::IntegrityError);
}

// Relations: a key to Pony survives Pony's rebuild, its values kept and still checked.
TEST_P(OperationTests, test_add_field_foreign_key_and_rebuild_referenced) {
    auto rider = make_model("test_app", "Rider", {make_key("pony", "test_app.Pony")});
    write({{mig::AddField{"Pony", make_field("height", LogicalType::real, 5.0)}},
           {mig::AddField{"Rider", make_key("friend", "test_app.Pony", true)}}},
          {mig::CreateModel{pony()}, mig::CreateModel{rider}});
    migrate_to("test_app", "0001");
    add_ponies();
    exec("INSERT INTO test_app_rider (pony_id) VALUES (2)");
    migrate_to();
    EXPECT_EQ(values("SELECT pony_id, friend_id FROM test_app_rider"), "2 NULL | ");
    exec("UPDATE test_app_rider SET friend_id = 1");
    EXPECT_THROW(db::atomic([] { exec("INSERT INTO test_app_rider (pony_id) VALUES (99)"); }),
                 db::IntegrityError);
    migrate_to("test_app", "0001");
    EXPECT_EQ(values("SELECT pony_id FROM test_app_rider"), "2 | ");
    EXPECT_THROW(db::atomic([] { exec("INSERT INTO test_app_rider (pony_id) VALUES (99)"); }),
                 db::IntegrityError);
}

// tocsin: a NOT NULL column without a default on a table with rows is refused before anything
// changes, naming the operation, the column, the rows and the flag that gives a one-off default.
TEST_P(OperationTests, test_add_field_not_null_without_default_is_refused) {
    const auto owner = make_key("owner", "test_app.Pony");  // NOT NULL, no default
    write({{mig::AddField{"Pony", owner}}});
    migrate_to("test_app", "0001");
    add_ponies();
    try {
        migrate_to();
        FAIL() << "refused";
    } catch (const mig::MigrationError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("Applying test_app.0002_step failed at operation 0 (AddField: Add "
                            "field owner to pony): the column \"owner_id\" of \"test_app_pony\" "
                            "becomes NOT NULL without a default, and 2 row(s) exist (the first: "
                            "the row with pk 1): give them a value with makemigrations --default "
                            "test_app.Pony.owner=VALUE"),
                  std::string::npos)
            << what;
    }
    EXPECT_EQ(columns("test_app_pony"), (std::vector<std::string>{"id", "pink", "weight"}));
    // With a one-off default: the rows get it, the state keeps no default.
    std::filesystem::remove(root() / "test_app" / "0002_step.json");
    write({{mig::AddField{"Pony", owner, db::Value(1)}}});
    migrate_to();
    EXPECT_EQ(values("SELECT owner_id FROM test_app_pony ORDER BY id"), "1 | 1 | ");
    EXPECT_TRUE(mig::MigrationLoader(root())
                    .project_state()
                    .get("test_app.Pony")
                    .field("owner")
                    ->default_value.is_null());
}

TEST_P(OperationTests, test_alter_field_not_null_fills_nulls_or_refuses) {
    write({{mig::AlterField{"Pony", make_field("pink", LogicalType::integer, 3, true)}},
           {mig::AlterField{"Pony", make_field("pink", LogicalType::integer, {}, false)}}});
    migrate_to("test_app", "0002");
    add_ponies();
    exec("INSERT INTO test_app_pony (pink, weight) VALUES (NULL, 4)");
    try {
        migrate_to();
        FAIL() << "a NULL in a column that becomes NOT NULL";
    } catch (const mig::MigrationError& e) {
        EXPECT_NE(std::string(e.what()).find("Applying test_app.0003_step failed at operation 0 "
                                             "(AlterField: Alter field pink on pony): the column "
                                             "\"pink\" of \"test_app_pony\" becomes NOT NULL "
                                             "without a default, and 1 row(s) hold NULL there "
                                             "(the first: the row with pk 3)"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_EQ(values("SELECT pink FROM test_app_pony ORDER BY id"), "1 | 7 | NULL | ");
    std::filesystem::remove(root() / "test_app" / "0003_step.json");
    write_migration(
        root(),
        make_migration("test_app", "0003_step",
                       {mig::AlterField{"Pony", make_field("pink", LogicalType::integer, {}, false),
                                        db::Value(42)}},
                       {{"test_app", "0002_step"}}));
    migrate_to();
    EXPECT_EQ(values("SELECT pink FROM test_app_pony ORDER BY id"), "1 | 7 | 42 | ");
}

// tocsin: a migration the rows refuse names the row, on both engines: a unique constraint over
// two fields, a new unique column whose default every row would get, and the failure of
// unapplying (the rows are those of the table as the operation found it).
TEST_P(OperationTests, test_failed_migration_names_the_row) {
    write({{mig::AddConstraint{"Pony", {"pony_pink_weight_uniq", {"pink", "weight"}}}}});
    migrate_to("test_app", "0001");
    add_ponies();
    exec("INSERT INTO test_app_pony (pink, weight) VALUES (7, 0.5)");
    try {
        migrate_to();
        FAIL() << "a unique constraint over duplicates";
    } catch (const mig::MigrationError& e) {
        EXPECT_NE(std::string(e.what()).find(
                      "Applying test_app.0002_step failed at operation 0 (AddConstraint: Create "
                      "constraint pony_pink_weight_uniq on model pony): the row with pk 3 of "
                      "\"test_app_pony\" has (pink, weight) = (7, 0.5), as the row with pk 2 "
                      "has (unique in test_app.Pony): "),
                  std::string::npos)
            << e.what();
    }
    EXPECT_EQ(values("SELECT COUNT(*) FROM test_app_pony"), "3 | ");
    EXPECT_EQ(mig::MigrationRecorder("default").applied().size(), 1U);

    // A new unique column with a default: the second row would repeat the first's value.
    std::filesystem::remove(root() / "test_app" / "0002_step.json");
    auto code = make_field("code", LogicalType::text, "x");
    code.unique = true;
    write({{mig::AddField{"Pony", code}}});
    try {
        migrate_to();
        FAIL() << "a unique column whose default every row gets";
    } catch (const mig::MigrationError& e) {
        EXPECT_NE(std::string(e.what()).find(
                      "Applying test_app.0002_step failed at operation 0 (AddField: Add field code "
                      "to pony): the row with pk 2 of \"test_app_pony\" would get code = 'x' "
                      "(the default), as the row with pk 1 (unique in test_app.Pony): "),
                  std::string::npos)
            << e.what();
    }
    EXPECT_EQ(columns("test_app_pony"), (std::vector<std::string>{"id", "pink", "weight"}));
}

// Unapplying is refused by the rows too: a column that was unique before 0002 and repeats values
// since.
TEST_P(OperationTests, test_unapplying_names_the_row) {
    auto unique = make_field("pink", LogicalType::integer, 3);
    unique.unique = true;
    write({{mig::AlterField{"Pony", make_field("pink", LogicalType::integer, 3)}}},
          {mig::CreateModel{make_model("test_app", "Pony",
                                       {unique, make_field("weight", LogicalType::real, 1.0)})}});
    migrate_to();
    add_ponies();
    exec("INSERT INTO test_app_pony (pink, weight) VALUES (7, 9)");
    try {
        migrate_to("test_app", "0001");
        FAIL() << "a unique column again over duplicates";
    } catch (const mig::MigrationError& e) {
        EXPECT_NE(std::string(e.what()).find(
                      "Unapplying test_app.0002_step failed at operation 0 (AlterField: Alter "
                      "field pink on pony): the row with pk 3 of \"test_app_pony\" has pink = 7, "
                      "as the row with pk 2 has (unique in test_app.Pony): "),
                  std::string::npos)
            << e.what();
    }
    EXPECT_EQ(mig::MigrationRecorder("default").applied().size(), 2U);
    EXPECT_EQ(values("SELECT COUNT(*) FROM test_app_pony"), "3 | ");
}

// tocsin: a key that refers to no row names the row: on PostgreSQL the ALTER TABLE refuses it at
// its operation; on SQLite the keys are checked at the end of the migration, which names the
// operation that last changed the table.
TEST_P(OperationTests, test_failed_migration_names_the_row_of_a_broken_key) {
    auto rider = make_model("test_app", "Rider", {make_field("name", LogicalType::text, "")});
    write({{mig::AddField{"Rider", make_key("pony", "test_app.Pony"), db::Value(99)}}},
          {mig::CreateModel{pony()}, mig::CreateModel{rider}});
    migrate_to("test_app", "0001");
    add_ponies();
    exec("INSERT INTO test_app_rider (name) VALUES ('ann')");
    try {
        migrate_to();
        FAIL() << "a key to no row";
    } catch (const mig::MigrationError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("Applying test_app.0002_step failed at operation 0 (AddField: Add "
                            "field pony to rider): "),
                  std::string::npos)
            << what;
        // SQLite finds the row after the copy, PostgreSQL before the ALTER TABLE that refused it.
        EXPECT_TRUE(what.find("the row with pk 1 of \"test_app_rider\" has pony_id = 99, which is "
                              "no row of \"test_app_pony\"") != std::string::npos ||
                    what.find("the row with pk 1 of \"test_app_rider\" would get pony_id = 99 "
                              "(the default), which is no row of \"test_app_pony\"") !=
                        std::string::npos)
            << what;
    }
    EXPECT_EQ(columns("test_app_rider"), (std::vector<std::string>{"id", "name"}));
    EXPECT_EQ(values("SELECT name FROM test_app_rider"), "'ann' | ");
}

// A many-to-many through table, created and removed with its rows.
TEST_P(OperationTests, test_create_model_m2m) {
    auto stable = make_model("test_app", "Stable", {});
    auto through =
        make_model("test_app", "Stable_ponies",
                   {make_key("stable", "test_app.Stable"), make_key("pony", "test_app.Pony")});
    through.auto_created = true;
    through.unique_together = {{"stable_id", "pony_id"}};
    write({{mig::CreateModel{stable}, mig::CreateModel{through}}});
    migrate_to();
    add_ponies();
    exec("INSERT INTO test_app_stable DEFAULT VALUES");
    exec("INSERT INTO test_app_stable_ponies (stable_id, pony_id) VALUES (1, 1)");
    EXPECT_THROW(exec("INSERT INTO test_app_stable_ponies (stable_id, pony_id) VALUES (1, 1)"),
                 db::IntegrityError);
    migrate_to("test_app", "0001");
    EXPECT_FALSE(mig::table_exists("default", "test_app_stable_ponies"));
    EXPECT_FALSE(mig::table_exists("default", "test_app_stable"));
    EXPECT_EQ(values("SELECT COUNT(*) FROM test_app_pony"), "2 | ");
}

// Data migrations: a registered C++ function, forwards and backwards, in the transaction.
TEST_P(OperationTests, test_run_python) {
    mig::register_python("test_app.double_pink", [](const mig::RunPythonContext& c) {
        EXPECT_NE(c.state.find("test_app.Pony"), nullptr);
        db::connection(c.database).execute("UPDATE test_app_pony SET pink = pink * 2");
    });
    mig::register_python("test_app.halve_pink", [](const mig::RunPythonContext& c) {
        EXPECT_TRUE(c.backwards);
        db::connection(c.database).execute("UPDATE test_app_pony SET pink = pink / 2");
    });
    write({{mig::RunPython{"test_app.double_pink", "test_app.halve_pink"}},
           {mig::AddField{"Pony", make_field("height", LogicalType::real, 5.0)},
            mig::RunPython{"test_app.fails", ""}}});
    migrate_to("test_app", "0001");
    add_ponies();
    migrate_to("test_app", "0002");
    EXPECT_EQ(values("SELECT pink FROM test_app_pony ORDER BY id"), "2 | 14 | ");
    // A function that is not registered fails the migration, which is rolled back whole.
    EXPECT_THROW(migrate_to(), mig::MigrationError);
    EXPECT_EQ(columns("test_app_pony"), (std::vector<std::string>{"id", "pink", "weight"}));
    migrate_to("test_app", "0001");
    EXPECT_EQ(values("SELECT pink FROM test_app_pony ORDER BY id"), "1 | 7 | ");
}

// tocsin: a data migration that throws names the migration, the operation and, when the
// function said which row it was working on (RunPythonContext::at_row), that row; the whole
// migration is rolled back.
TEST_P(OperationTests, test_run_python_failure_names_the_row) {
    mig::register_python("test_app.check_pink", [](const mig::RunPythonContext& c) {
        auto& database = db::connection(c.database);
        for (const auto& row : database.query("SELECT id, pink FROM test_app_pony ORDER BY id")) {
            c.at_row("test_app_pony", row.at(0));
            if (row.at(1).as_integer() > 5) {
                throw std::runtime_error("pink " + db::to_string(row.at(1)) + " is too pink");
            }
            database.execute("UPDATE test_app_pony SET pink = pink + 1 WHERE id = " +
                                 database.backend().placeholder(1),
                             {row.at(0)});
        }
    });
    mig::register_python("test_app.fails_anywhere", [](const mig::RunPythonContext&) {
        throw std::runtime_error("no row involved");
    });
    write({{mig::AddField{"Pony", make_field("height", LogicalType::real, 5.0)},
            mig::RunPython{"test_app.check_pink", "noop"}},
           {mig::RunPython{"test_app.fails_anywhere", "noop"}}});
    migrate_to("test_app", "0001");
    add_ponies();
    try {
        migrate_to();
        FAIL() << "the function threw";
    } catch (const mig::MigrationError& e) {
        EXPECT_NE(std::string(e.what()).find(
                      "Applying test_app.0002_step failed at operation 1 (RunPython: Raw C++ "
                      "operation test_app.check_pink): the row with pk 2 of \"test_app_pony\": "
                      "pink 7 is too pink; "
                      "the migration was rolled back"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_EQ(values("SELECT pink FROM test_app_pony ORDER BY id"), "1 | 7 | ");
    EXPECT_EQ(columns("test_app_pony"), (std::vector<std::string>{"id", "pink", "weight"}));

    exec("UPDATE test_app_pony SET pink = 2 WHERE id = 2");
    try {
        migrate_to();
        FAIL() << "the second function threw";
    } catch (const mig::MigrationError& e) {
        EXPECT_NE(
            std::string(e.what()).find("Applying test_app.0003_step failed at operation 0 "
                                       "(RunPython: Raw C++ operation test_app.fails_anywhere): "
                                       "no row involved; "
                                       "the migration was rolled back"),
            std::string::npos)
            << e.what();
    }
    EXPECT_EQ(values("SELECT pink FROM test_app_pony ORDER BY id"), "2 | 3 | ");
}

// A migration whose RunPython has no reverse cannot be unapplied.
TEST_P(OperationTests, test_run_python_irreversible) {
    mig::register_python("test_app.nothing", [](const mig::RunPythonContext&) {});
    write({{mig::RunPython{"test_app.nothing", ""}}});
    migrate_to();
    EXPECT_THROW(migrate_to("test_app", "0001"), mig::MigrationError);
    EXPECT_EQ(mig::MigrationRecorder("default").applied().size(), 2U);
}

// pre_migrate and post_migrate carry the plan.
TEST_P(OperationTests, test_migrate_signals_carry_the_plan) {
    write({{mig::RemoveField{"Pony", "pink"}}});
    std::vector<std::vector<MigrationStep>> seen;
    auto pre =
        pre_migrate.connect([&](const MigrateEvent& e) { seen.push_back(e.migration_plan); });
    auto post =
        post_migrate.connect([&](const MigrateEvent& e) { seen.push_back(e.migration_plan); });
    // No installed app: no signal (they are sent per installed app).
    migrate_to();
    EXPECT_TRUE(seen.empty());
    pre.disconnect();
    post.disconnect();
}

// A database migrated step by step ends with the schema a fresh database gets from the final
// state in one CreateModel (the engine's own catalog compared).
TEST_P(OperationTests, test_step_by_step_equals_fresh) {
    auto rider = make_model("test_app", "Rider", {make_key("pony", "test_app.Pony", true)});
    auto indexed = make_field("weight", LogicalType::real, 1.0);
    indexed.db_index = true;
    auto unique = make_field("blue", LogicalType::text, "", true);
    unique.unique = true;
    write({{mig::AddField{"Pony", make_field("height", LogicalType::real, 5.0)}},
           {mig::RenameField{"Pony", "pink", "blue"}},
           {mig::AlterField{"Pony", unique}, mig::AlterField{"Pony", indexed}},
           {mig::AddIndex{"Pony", {"pony_height_idx", {"height"}}},
            mig::AddConstraint{"Pony", {"pony_height_weight_uniq", {"height", "weight"}}},
            mig::RemoveField{"Rider", "pony"},
            mig::AddField{"Rider", make_key("mount", "test_app.Pony", true)}}},
          {mig::CreateModel{pony()}, mig::CreateModel{rider}});
    for (const char* step : {"0001", "0002", "0003", "0004", "0005"}) {
        migrate_to("test_app", step);
        if (std::string(step) == "0001") {
            add_ponies();
            exec("INSERT INTO test_app_rider (pony_id) VALUES (1)");
        }
    }
    const std::string stepwise = catalog();
    const auto final_state = mig::MigrationLoader(root()).project_state();
    // A fresh database: drop everything, create the final state's tables directly.
    migrate_to("test_app", "zero");
    EXPECT_EQ(catalog(), "");
    std::filesystem::remove_all(root());
    write({}, {mig::CreateModel{final_state.get("test_app.Pony")},
               mig::CreateModel{final_state.get("test_app.Rider")}});
    db::connection().execute("DELETE FROM django_migrations");
    migrate_to();
    EXPECT_EQ(catalog(), stepwise);
}

INSTANTIATE_TEST_SUITE_P(Engines, OperationTests, ::testing::Values("sqlite", "postgresql"),
                         engine_name);

}  // namespace operations_test
}  // namespace
}  // namespace tocsin::test
