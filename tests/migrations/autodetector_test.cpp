// The autodetector: the operations that lead from one state to another. Ported from Django's
// tests/migrations/test_autodetector.py (AutodetectorTests) where they apply: states are built
// by hand, as Django builds ModelStates.
#include <gtest/gtest.h>

#include "test_support.hpp"

namespace tocsin::test {
namespace {
namespace autodetector_test {

using db::LogicalType;

mig::ModelState author(std::vector<mig::FieldState> extra = {}) {
    std::vector<mig::FieldState> fields{make_field("name", LogicalType::text, "")};
    for (auto& f : extra) {
        fields.push_back(std::move(f));
    }
    return make_model("testapp", "Author", std::move(fields));
}

std::vector<std::string> names(const mig::Migration& m) {
    std::vector<std::string> out;
    for (const auto& op : m.operations) {
        out.push_back(mig::operation_name(op));
    }
    return out;
}

std::vector<mig::Migration> changes(const mig::ProjectState& before, const mig::ProjectState& after,
                                    mig::AutodetectorOptions options = {}) {
    if (options.leaves.empty()) {
        for (const auto& [key, m] : before.models) {
            options.leaves[m.app_label] = "0001_initial";
        }
    }
    return mig::detect_changes(before, after, options);
}

TEST(AutodetectorTests, test_no_changes) {
    EXPECT_TRUE(changes(make_state({author()}), make_state({author()})).empty());
}

TEST(AutodetectorTests, test_new_model) {
    const auto c = changes({}, make_state({author()}));
    ASSERT_EQ(c.size(), 1U);
    EXPECT_EQ(c[0].name, "0001_initial");
    EXPECT_TRUE(c[0].initial);
    EXPECT_TRUE(c[0].dependencies.empty());
    EXPECT_EQ(names(c[0]), (std::vector<std::string>{"CreateModel"}));
    EXPECT_EQ(std::get<mig::CreateModel>(c[0].operations[0]).model, author());
}

TEST(AutodetectorTests, test_old_model) {
    const auto c = changes(make_state({author()}), {});
    ASSERT_EQ(c.size(), 1U);
    EXPECT_EQ(c[0].name, "0002_delete_author");
    EXPECT_EQ(c[0].dependencies, (std::vector<mig::MigrationKey>{{"testapp", "0001_initial"}}));
    EXPECT_EQ(std::get<mig::DeleteModel>(c[0].operations[0]).model, "Author");
}

TEST(AutodetectorTests, test_add_field) {
    const auto c = changes(make_state({author()}),
                           make_state({author({make_field("age", LogicalType::integer, 0)})}));
    ASSERT_EQ(c.size(), 1U);
    EXPECT_EQ(c[0].name, "0002_author_age");
    ASSERT_EQ(names(c[0]), (std::vector<std::string>{"AddField"}));
    const auto& op = std::get<mig::AddField>(c[0].operations[0]);
    EXPECT_EQ(op.model, "Author");
    EXPECT_EQ(op.field.name, "age");
    EXPECT_EQ(op.field.default_value, db::Value(0));
}

TEST(AutodetectorTests, test_remove_field) {
    const auto c = changes(make_state({author({make_field("age", LogicalType::integer, 0)})}),
                           make_state({author()}));
    ASSERT_EQ(c.size(), 1U);
    EXPECT_EQ(c[0].name, "0002_remove_author_age");
    const auto& op = std::get<mig::RemoveField>(c[0].operations[0]);
    EXPECT_EQ(op.name, "age");
}

TEST(AutodetectorTests, test_alter_field) {
    auto longer = author();
    longer.fields[0].null = true;
    const auto c = changes(make_state({author()}), make_state({longer}));
    ASSERT_EQ(c.size(), 1U);
    EXPECT_EQ(c[0].name, "0002_alter_author_name");
    EXPECT_TRUE(std::get<mig::AlterField>(c[0].operations[0]).field.null);
}

// Django's AlterField covers the default, unique and db_index as well as the type.
TEST(AutodetectorTests, test_alter_field_unique_index_default_type) {
    for (int variant = 0; variant < 4; ++variant) {
        auto after = author();
        auto& f = after.fields[0];
        if (variant == 0) {
            f.unique = true;
        } else if (variant == 1) {
            f.db_index = true;
        } else if (variant == 2) {
            f.default_value = "anonymous";
        } else {
            f.type = LogicalType::blob;
        }
        const auto c = changes(make_state({author()}), make_state({after}));
        ASSERT_EQ(c.size(), 1U) << variant;
        EXPECT_EQ(std::get<mig::AlterField>(c[0].operations[0]).field, f) << variant;
    }
}

// A rename is asked for; then it is a RenameField, not a removal and an addition.
TEST(AutodetectorTests, test_rename_field) {
    auto renamed = author();
    renamed.fields[0].name = "names";
    renamed.fields[0].column = "names";
    const auto c = changes(make_state({author()}), make_state({renamed}),
                           {.renames = {{"testapp.Author", "name", "names"}}});
    ASSERT_EQ(c.size(), 1U);
    ASSERT_EQ(names(c[0]), (std::vector<std::string>{"RenameField"}));
    const auto& op = std::get<mig::RenameField>(c[0].operations[0]);
    EXPECT_EQ(op.old_name, "name");
    EXPECT_EQ(op.new_name, "names");
    EXPECT_EQ(c[0].name, "0002_rename_name_author_names");
}

// tocsin: a rename is never guessed (Django asks interactively; tocsin needs the flag).
TEST(AutodetectorTests, test_rename_field_is_not_guessed) {
    auto renamed = author();
    renamed.fields[0].name = "names";
    renamed.fields[0].column = "names";
    const auto c = changes(make_state({author()}), make_state({renamed}));
    ASSERT_EQ(c.size(), 1U);
    EXPECT_EQ(names(c[0]), (std::vector<std::string>{"RemoveField", "AddField"}));
}

TEST(AutodetectorTests, test_rename_field_and_alter) {
    auto renamed = author();
    renamed.fields[0].name = "names";
    renamed.fields[0].column = "names";
    renamed.fields[0].null = true;
    const auto c = changes(make_state({author()}), make_state({renamed}),
                           {.renames = {{"testapp.Author", "name", "names"}}});
    ASSERT_EQ(c.size(), 1U);
    EXPECT_EQ(names(c[0]), (std::vector<std::string>{"RenameField", "AlterField"}));
}

TEST(AutodetectorTests, test_rename_field_that_does_not_exist) {
    EXPECT_THROW(static_cast<void>(changes(make_state({author()}), make_state({author()}),
                                           {.renames = {{"testapp.Author", "nope", "x"}}})),
                 std::invalid_argument);
}

TEST(AutodetectorTests, test_add_indexes) {
    auto indexed = author();
    indexed.indexes.push_back({"book_title_author_idx", {"name"}});
    auto c = changes(make_state({author()}), make_state({indexed}));
    ASSERT_EQ(c.size(), 1U);
    EXPECT_EQ(std::get<mig::AddIndex>(c[0].operations[0]).index.name, "book_title_author_idx");
    c = changes(make_state({indexed}), make_state({author()}));
    ASSERT_EQ(c.size(), 1U);
    EXPECT_EQ(std::get<mig::RemoveIndex>(c[0].operations[0]).name, "book_title_author_idx");
}

TEST(AutodetectorTests, test_add_constraints) {
    auto constrained = author();
    constrained.constraints.push_back({"name_unique", {"name"}});
    auto c = changes(make_state({author()}), make_state({constrained}));
    ASSERT_EQ(c.size(), 1U);
    EXPECT_EQ(std::get<mig::AddConstraint>(c[0].operations[0]).constraint.name, "name_unique");
    c = changes(make_state({constrained}), make_state({author()}));
    ASSERT_EQ(c.size(), 1U);
    EXPECT_EQ(std::get<mig::RemoveConstraint>(c[0].operations[0]).name, "name_unique");
}

// A model is created after the models its keys refer to, whatever their names.
TEST(AutodetectorTests, test_create_models_referenced_first) {
    const auto book = make_model("testapp", "Aaa", {make_key("author", "testapp.Author")});
    const auto c = changes({}, make_state({book, author()}));
    ASSERT_EQ(c.size(), 1U);
    ASSERT_EQ(c[0].operations.size(), 2U);
    EXPECT_EQ(std::get<mig::CreateModel>(c[0].operations[0]).model.name, "Author");
    EXPECT_EQ(std::get<mig::CreateModel>(c[0].operations[1]).model.name, "Aaa");
}

// Two models referring to each other: one key is added after both tables exist (Django splits
// the CreateModel the same way).
TEST(AutodetectorTests, test_circular_fk_dependency) {
    const auto a = make_model("testapp", "A", {make_key("b", "testapp.B", true)});
    const auto b = make_model("testapp", "B", {make_key("a", "testapp.A", true)});
    const auto c = changes({}, make_state({a, b}));
    ASSERT_EQ(c.size(), 1U);
    EXPECT_EQ(names(c[0]), (std::vector<std::string>{"CreateModel", "CreateModel", "AddField"}));
}

// A key to a model of another app depends on that app's migration (Django's
// test_fk_dependency).
TEST(AutodetectorTests, test_fk_dependency) {
    const auto book = make_model("otherapp", "Book", {make_key("author", "testapp.Author")});
    auto c = changes({}, make_state({author(), book}));
    ASSERT_EQ(c.size(), 2U);
    EXPECT_EQ(c[0].app, "otherapp");
    EXPECT_EQ(c[0].dependencies, (std::vector<mig::MigrationKey>{{"testapp", "0001_initial"}}));
    EXPECT_TRUE(c[1].dependencies.empty());
    // When the other app has migrations already, its latest is the dependency.
    c = mig::detect_changes(make_state({author()}), make_state({author(), book}),
                            {.leaves = {{"testapp", "0003_x"}}});
    ASSERT_EQ(c.size(), 1U);
    EXPECT_EQ(c[0].dependencies, (std::vector<mig::MigrationKey>{{"testapp", "0003_x"}}));
}

// Deleted models: those referring to others first, through tables before everything.
TEST(AutodetectorTests, test_delete_models_referring_first) {
    const auto book = make_model("testapp", "Book", {make_key("author", "testapp.Author")});
    const auto c = changes(make_state({author(), book}), {});
    ASSERT_EQ(c.size(), 1U);
    EXPECT_EQ(std::get<mig::DeleteModel>(c[0].operations[0]).model, "Book");
    EXPECT_EQ(std::get<mig::DeleteModel>(c[0].operations[1]).model, "Author");
}

// A many-to-many relation added: its through table is created after both models.
TEST(AutodetectorTests, test_many_to_many_through_table) {
    auto through = make_model(
        "testapp", "Author_friends",
        {make_key("from_author", "testapp.Author"), make_key("to_author", "testapp.Author")});
    through.auto_created = true;
    through.unique_together = {{"from_author_id", "to_author_id"}};
    const auto c = changes(make_state({author()}), make_state({author(), through}));
    ASSERT_EQ(c.size(), 1U);
    const auto& op = std::get<mig::CreateModel>(c[0].operations[0]);
    EXPECT_TRUE(op.model.auto_created);
    EXPECT_EQ(op.model.unique_together, through.unique_together);
}

// Only the apps asked for get migrations; names are numbered after the leaf.
TEST(AutodetectorTests, test_only_asked_apps_and_numbering) {
    const auto other = make_model("otherapp", "Thing", {});
    auto c = mig::detect_changes(
        make_state({author()}),
        make_state({author({make_field("age", LogicalType::integer, 0)}), other}),
        {.apps = {"testapp"}, .leaves = {{"testapp", "0041_big"}}});
    ASSERT_EQ(c.size(), 1U);
    EXPECT_EQ(c[0].name, "0042_author_age");
    c = mig::detect_changes(make_state({author()}), make_state({author(), other}),
                            {.apps = {"otherapp"}, .name = "things"});
    ASSERT_EQ(c.size(), 1U);
    EXPECT_EQ(c[0].name, "0001_things");
}

// Django's suggest_name: fragments joined while they fit in 52 characters, then "_and_more".
TEST(AutodetectorTests, test_suggest_name) {
    auto after = author();
    for (const char* n : {"first_long_field", "second_long_field", "third_long_field"}) {
        after.fields.push_back(make_field(n, LogicalType::integer, 0));
    }
    const auto c = changes(make_state({author()}), make_state({after}));
    ASSERT_EQ(c.size(), 1U);
    EXPECT_EQ(c[0].name, "0002_author_first_long_field_author_second_long_field_and_more");
}

// The state of the compiled models: a model, its fields, defaults and relations.
TEST(ProjectStateTests, ReplayingMigrationsGivesTheirState) {
    mig::ProjectState state;
    const auto m = make_migration(
        "testapp", "0001_initial",
        {mig::CreateModel{author()},
         mig::AddField{"Author", make_field("age", LogicalType::integer, 3)},
         mig::RenameField{"Author", "age", "years"},
         mig::AlterField{"Author", make_field("years", LogicalType::integer, 4, true)}});
    for (const auto& op : m.operations) {
        mig::apply(op, m.app, state);
    }
    EXPECT_EQ(state, make_state({author({make_field("years", LogicalType::integer, 4, true)})}));
    EXPECT_THROW(mig::apply(mig::RemoveField{"Author", "age"}, "testapp", state),
                 std::invalid_argument);
    EXPECT_THROW(mig::apply(mig::DeleteModel{"Nope"}, "testapp", state), std::invalid_argument);
}

}  // namespace autodetector_test
}  // namespace
}  // namespace tocsin::test
