// Migration files: JSON written and read back, errors that say what and where; the loader's
// graph: dependency order across apps, missing dependencies, cycles, plans.
#include <gtest/gtest.h>

#include "test_support.hpp"

namespace tocsin::test {
namespace {
namespace migration_file_test {

using db::LogicalType;

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const mig::MigrationError& e) {
        return e.what();
    }
    return "(no MigrationError)";
}

TEST(MigrationFileTests, EveryOperationRoundTrips) {
    auto pony = make_model(
        "test_app", "Pony",
        {make_field("pink", LogicalType::integer, 3), make_field("shy", LogicalType::boolean, true),
         make_field("weight", LogicalType::real, 1.5),
         make_field("name", LogicalType::text, "it's"),
         make_field("photo", LogicalType::blob, db::Blob{std::byte{0}, std::byte{255}}),
         make_field("born", LogicalType::timestamp, {}, true),
         make_key("mother", "test_app.Pony", true)});
    pony.indexes.push_back({"pony_idx", {"pink", "weight"}});
    pony.constraints.push_back({"pony_uniq", {"name"}});
    auto child = make_model("test_app", "Foal", {});
    child.parent = "test_app.Pony";
    child.pk_column = "pony_ptr_id";
    auto through = make_model("test_app", "Pony_friends", {make_key("from_pony", "test_app.Pony")});
    through.auto_created = true;
    through.unique_together = {{"from_pony_id"}};
    auto unique = make_field("pink", LogicalType::integer, 4);
    unique.unique = true;
    unique.db_index = true;
    const auto m = make_migration(
        "test_app", "0002_all",
        {mig::CreateModel{pony}, mig::CreateModel{child}, mig::CreateModel{through},
         mig::AddField{"Pony", make_field("height", LogicalType::real, 5.0)},
         mig::RemoveField{"Pony", "height"}, mig::AlterField{"Pony", unique},
         mig::RenameField{"Pony", "pink", "blue"}, mig::AddIndex{"Pony", {"i", {"blue"}}},
         mig::RemoveIndex{"Pony", "i"}, mig::AddConstraint{"Pony", {"c", {"blue"}}},
         mig::RemoveConstraint{"Pony", "c"}, mig::DeleteModel{"Foal"},
         mig::RunPython{"test_app.forwards", "noop"}},
        {{"test_app", "0001_initial"}, {"other", "0003_x"}});
    const auto text = mig::to_json(m);
    const auto back = mig::parse_migration(text, "0002_all.json");
    EXPECT_EQ(mig::to_json(back), text);
    EXPECT_EQ(back.dependencies, m.dependencies);
    EXPECT_EQ(std::get<mig::CreateModel>(back.operations[0]).model, pony);
    EXPECT_EQ(std::get<mig::CreateModel>(back.operations[1]).model, child);
    EXPECT_EQ(std::get<mig::CreateModel>(back.operations[2]).model, through);
    EXPECT_EQ(std::get<mig::AlterField>(back.operations[5]).field, unique);
    EXPECT_TRUE(text.find("\"op\": \"AddField\"") != std::string::npos) << text;
}

TEST(MigrationFileTests, BadFilesSayWhatAndWhere) {
    EXPECT_NE(error_of([] {
                  static_cast<void>(mig::parse_migration("{", "a.json"));
              }).find("migration 'a.json' is not valid JSON"),
              std::string::npos);
    const std::string head =
        R"({"tocsin_migration": 1, "app": "a", "name": "0001_x", "dependencies": [], )";
    EXPECT_EQ(error_of([&] {
                  static_cast<void>(mig::parse_migration(
                      head + R"("operations": [{"op": "Frobnicate"}]})", "a.json"));
              }),
              "migration 'a.json', operation 0: unknown operation \"Frobnicate\"");
    EXPECT_EQ(error_of([&] {
                  static_cast<void>(mig::parse_migration(
                      head + R"("operations": [{"op": "AddField", "model": "M", "field":
                         {"name": "n", "type": "integer", "default": "x"}}]})",
                      "a.json"));
              }),
              "migration 'a.json', operation 0 (AddField), field 'n': \"default\" \"x\" does "
              "not fit the type integer");
    EXPECT_EQ(error_of([&] {
                  static_cast<void>(mig::parse_migration(
                      head + R"("operations": [{"op": "AddField", "model": "M", "field":
                         {"name": "b", "type": "blob", "default": "zz"}}]})",
                      "a.json"));
              }),
              "migration 'a.json', operation 0 (AddField), field 'b': \"default\" \"zz\" does "
              "not fit the type blob");
    EXPECT_EQ(error_of([&] {
                  static_cast<void>(mig::parse_migration(
                      R"({"tocsin_migration": 2, "app": "a", "name": "x", "dependencies": [],
                          "operations": []})",
                      "a.json"));
              }),
              "migration 'a.json', \"tocsin_migration\": unsupported format version 2 (this "
              "tocsin reads 1)");
}

TEST(MigrationLoaderTests, OrderPlansAndErrors) {
    test_support::TempDir dir;
    const auto root = dir.path();
    write_migration(root, make_migration("b", "0001_initial", {}, {{"a", "0002_second"}}));
    write_migration(root, make_migration("a", "0001_initial", {}));
    write_migration(root, make_migration("a", "0002_second", {}, {{"a", "0001_initial"}}));
    write_migration(root, make_migration("b", "0002_more", {}, {{"b", "0001_initial"}}));
    const mig::MigrationLoader loader(root);
    EXPECT_EQ(loader.order(), (std::vector<mig::MigrationKey>{{"a", "0001_initial"},
                                                              {"a", "0002_second"},
                                                              {"b", "0001_initial"},
                                                              {"b", "0002_more"}}));
    EXPECT_EQ(loader.forwards_plan({"b", "0001_initial"}),
              (std::vector<mig::MigrationKey>{
                  {"a", "0001_initial"}, {"a", "0002_second"}, {"b", "0001_initial"}}));
    EXPECT_EQ(loader.backwards_plan({"a", "0002_second"}),
              (std::vector<mig::MigrationKey>{
                  {"b", "0002_more"}, {"b", "0001_initial"}, {"a", "0002_second"}}));
    // Plans: to a's first migration from everything applied unapplies b's, then a's second.
    const std::set<mig::MigrationKey> all(loader.order().begin(), loader.order().end());
    EXPECT_EQ(
        mig::migration_plan(loader, all, {.app = "a", .target = "0001"}),
        (std::vector<MigrationStep>{
            {"b", "0002_more", true}, {"b", "0001_initial", true}, {"a", "0002_second", true}}));
    EXPECT_EQ(mig::migration_plan(loader, {}, {.app = "b", .target = "0001"}).size(), 3U);
    EXPECT_EQ(error_of([&] {
                  static_cast<void>(mig::migration_plan(loader, {}, {.app = "a", .target = "0"}));
              }),
              "More than one migration matches '0' in app 'a'. Please be more specific.");

    write_migration(root, make_migration("c", "0001_initial", {}, {{"a", "0009_nope"}}));
    EXPECT_EQ(error_of([&] { const mig::MigrationLoader broken(root); }),
              "Migration c.0001_initial dependencies reference nonexistent parent node ('a', "
              "'0009_nope')");
    std::filesystem::remove_all(root / "c");
    write_migration(root, make_migration("a", "0001_initial", {}, {{"b", "0002_more"}}));
    EXPECT_NE(error_of([&] {
                  const mig::MigrationLoader broken(root);
              }).find("the dependencies of these migrations form a cycle"),
              std::string::npos);
    std::ofstream(root / "a" / "0003_misnamed.json")
        << mig::to_json(make_migration("a", "0004", {}));
    EXPECT_NE(error_of([&] {
                  const mig::MigrationLoader broken(root);
              }).find("its folder must be the app and its file name the migration's name"),
              std::string::npos);
}

}  // namespace migration_file_test
}  // namespace
}  // namespace tocsin::test
