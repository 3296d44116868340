// SQLite's process-wide memory statistics: off once tocsin opens its first connection, unless
// keep_sqlite_memory_statistics() asked to keep them. Each case runs in a child process (a
// forked death-test child), because the setting is made once per process, at SQLite's start.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdlib>

#include "test_support.hpp"
#include "tocsin/db.hpp"

namespace tocsin::db::test {
namespace {
namespace sqlite_memory_statistics_test {

/// Whether SQLite counted the memory of a database opened and written through tocsin.
bool statistics_counted() {
    const TempDir dir;
    auto backend = open_backend({.name = dir.file("stats.db")});
    backend->execute_script("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('some text')");
    return sqlite3_memory_used() > 0;
}

/// Exits 0 when the statistics are in the state expected (@p on), 1 otherwise.
[[noreturn]] void open_and_exit_if_statistics(bool on) {
    const bool counted = statistics_counted();
    std::exit(counted == on ? 0 : 1);
}

TEST(SqliteMemoryStatisticsDeathTest, TurnedOffWhenTocsinStartsSqlite) {
    GTEST_FLAG_SET(death_test_style, "fast");  // fork: the child starts SQLite afresh
    EXPECT_EXIT(open_and_exit_if_statistics(false), ::testing::ExitedWithCode(0), "");
}

TEST(SqliteMemoryStatisticsDeathTest, KeptWhenAskedBeforeTheFirstConnection) {
    GTEST_FLAG_SET(death_test_style, "fast");
    EXPECT_EXIT(
        {
            keep_sqlite_memory_statistics();
            open_and_exit_if_statistics(true);
        },
        ::testing::ExitedWithCode(0), "");
}

TEST(SqliteMemoryStatisticsDeathTest, KeptWhenTheProgramStartedSqliteFirst) {
    GTEST_FLAG_SET(death_test_style, "fast");
    EXPECT_EXIT(
        {
            (void)sqlite3_initialize();  // the program's own use of SQLite came first
            open_and_exit_if_statistics(true);
        },
        ::testing::ExitedWithCode(0), "");
}

}  // namespace sqlite_memory_statistics_test
}  // namespace
}  // namespace tocsin::db::test
