// Migrations compiled into the binary (tocsin_add_migrations(), tests/migrations/embedded): a
// program migrates without its source tree; a folder on disk for an app takes precedence.
#include <gtest/gtest.h>

#include "test_support.hpp"

namespace tocsin::test {
namespace {

class EmbeddedTests : public EngineTest {};

TEST_P(EmbeddedTests, TheCompiledMigrationsAreLoadedAndApplied) {
    const mig::MigrationLoader loader(dir.path() / "no-such-folder");
    ASSERT_TRUE(loader.has_migrations("shelf"));
    EXPECT_EQ(loader.leaf_nodes("shelf"),
              (std::vector<mig::MigrationKey>{{"shelf", "0002_book_pages"}}));
    mig::migrate(loader, {.app = "shelf", .target = "0001"});
    exec("INSERT INTO shelf_book (title) VALUES ('Dune')");
    const auto result = mig::migrate(loader);
    ASSERT_EQ(result.plan.size(), 1U);
    EXPECT_EQ(rows("SELECT title, pages FROM shelf_book"),
              (std::vector<db::Row>{{db::Value("Dune"), db::Value(100)}}));
}

TEST_P(EmbeddedTests, AFolderOnDiskTakesPrecedence) {
    write_migration(root(), make_migration("shelf", "0001_initial", {}));
    const mig::MigrationLoader loader(root());
    EXPECT_EQ(loader.leaf_nodes("shelf"),
              (std::vector<mig::MigrationKey>{{"shelf", "0001_initial"}}));
    EXPECT_TRUE(loader.get({"shelf", "0001_initial"}).operations.empty());
}

INSTANTIATE_TEST_SUITE_P(Engines, EmbeddedTests, ::testing::Values("sqlite", "postgresql"),
                         engine_name);

}  // namespace
}  // namespace tocsin::test
