// tocsin::db::StatementCache and CachedStatement, on SQLite statements.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

#include "test_support.hpp"
#include "tocsin/db.hpp"

namespace tocsin::db::test {
namespace {
namespace statement_cache_test {

class StatementCacheTest : public ::testing::Test {
  protected:
    std::shared_ptr<Backend> open(std::size_t capacity = 256) {
        return open_backend({.name = dir.file("cache.db"),
                             .options = {{"statement_cache_size", std::to_string(capacity)}}});
    }
    TempDir dir;
};

TEST_F(StatementCacheTest, ReusesThePreparedStatementForTheSameSql) {
    auto db = open();
    const Statement* first = nullptr;
    {
        auto st = db->cached("SELECT 1");
        first = &*st;
        ASSERT_TRUE(st->step());
    }
    {
        auto st = db->cached("SELECT 1");
        EXPECT_EQ(&*st, first);
        ASSERT_TRUE(st->step());  // reset on return: runs again from the start
        EXPECT_EQ(st->column(0), Value(1));
    }
    const auto stats = db->statement_cache().stats();
    EXPECT_EQ(stats.misses, 1U);
    EXPECT_EQ(stats.hits, 1U);
    EXPECT_EQ(stats.idle, 1U);
}

TEST_F(StatementCacheTest, DifferentSqlGetsDifferentStatements) {
    auto db = open();
    auto a = db->cached("SELECT 1");
    auto b = db->cached("SELECT 2");
    EXPECT_NE(&*a, &*b);
    EXPECT_EQ(db->statement_cache().stats().misses, 2U);
}

TEST_F(StatementCacheTest, AStatementInUseIsNotLentTwice) {
    auto db = open();
    db->execute_script("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2)");
    auto outer = db->cached("SELECT x FROM t ORDER BY x");
    ASSERT_TRUE(outer->step());
    {
        // Re-entrant use of the same SQL (a receiver querying the same model mid-iteration).
        auto inner = db->cached("SELECT x FROM t ORDER BY x");
        EXPECT_NE(&*inner, &*outer);
        ASSERT_TRUE(inner->step());
        EXPECT_EQ(inner->column(0), Value(1));
    }
    ASSERT_TRUE(outer->step());  // the outer iteration was not disturbed
    EXPECT_EQ(outer->column(0), Value(2));
    EXPECT_EQ(db->statement_cache().stats().misses, 2U);
}

TEST_F(StatementCacheTest, ReturningClearsBindings) {
    auto db = open();
    {
        auto st = db->cached("SELECT ?1");
        st->bind(1, 42);
        ASSERT_TRUE(st->step());
        EXPECT_EQ(st->column(0), Value(42));
    }
    auto st = db->cached("SELECT ?1");
    ASSERT_TRUE(st->step());
    EXPECT_EQ(st->column(0), Value());  // unbound parameters are NULL
}

TEST_F(StatementCacheTest, KeepsAtMostCapacityIdleStatements) {
    auto db = open(2);
    for (int i = 0; i < 5; ++i) {
        auto st = db->cached("SELECT " + std::to_string(i));
        ASSERT_TRUE(st->step());
    }
    EXPECT_EQ(db->statement_cache().stats().idle, 2U);
    auto none = open(0);
    { auto st = none->cached("SELECT 1"); }
    { auto st = none->cached("SELECT 1"); }
    EXPECT_EQ(none->statement_cache().stats().idle, 0U);
    EXPECT_EQ(none->statement_cache().stats().hits, 0U);
}

TEST_F(StatementCacheTest, ATwinDiesOnReturnAndTheFirstStays) {
    auto db = open();
    const Statement* first = nullptr;
    {
        auto outer = db->cached("SELECT 1");
        first = &*outer;
        auto inner = db->cached("SELECT 1");  // the first is lent: a twin is prepared
        EXPECT_NE(&*inner, first);
    }
    EXPECT_EQ(db->statement_cache().stats().idle, 1U);
    auto again = db->cached("SELECT 1");
    EXPECT_EQ(db->statement_cache().stats().hits, 1U);
    ASSERT_TRUE(again->step());
    EXPECT_EQ(again->column(0), Value(1));
}

TEST_F(StatementCacheTest, MoreLeasesOutThanCapacityShrinkBackOnReturn) {
    auto db = open(1);
    {
        auto a = db->cached("SELECT 1");
        auto b = db->cached("SELECT 2");  // a is lent out: it cannot make room
        ASSERT_TRUE(a->step());
        ASSERT_TRUE(b->step());
        EXPECT_EQ(b->column(0), Value(2));
    }
    EXPECT_EQ(db->statement_cache().stats().idle, 1U);
    for (int i = 0; i < 3; ++i) {
        auto st = db->cached("SELECT 3");
        ASSERT_TRUE(st->step());
        EXPECT_EQ(st->column(0), Value(3));
    }
    EXPECT_EQ(db->statement_cache().stats().idle, 1U);
    EXPECT_EQ(db->statement_cache().stats().hits, 2U);
}

TEST_F(StatementCacheTest, ClearFinalisesALeaseOutWhenItComesBack) {
    auto db = open();
    {
        auto st = db->cached("SELECT 7");
        db->statement_cache().clear();
        ASSERT_TRUE(st->step());  // still usable
        EXPECT_EQ(st->column(0), Value(7));
    }
    EXPECT_EQ(db->statement_cache().stats().idle, 0U);  // not taken back
    auto st = db->cached("SELECT 7");
    EXPECT_EQ(db->statement_cache().stats().misses, 1U);
    ASSERT_TRUE(st->step());
}

TEST_F(StatementCacheTest, ALeaseKeepsItsBackendAlive) {
    auto db = open();
    db->execute_script("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (5)");
    auto st = db->cached("SELECT x FROM t");
    std::weak_ptr<Backend> weak = db;
    db.reset();
    EXPECT_FALSE(weak.expired());
    ASSERT_TRUE(st->step());
    EXPECT_EQ(st->column(0), Value(5));
    st = CachedStatement();
    EXPECT_TRUE(weak.expired());
}

TEST_F(StatementCacheTest, AScopedLeaseSharesTheCacheButNotTheBackendsLife) {
    auto db = open();
    const auto owners = db.use_count();
    const Statement* first = nullptr;
    {
        auto st = db->cached_scoped("SELECT 1");
        first = &*st;
        EXPECT_EQ(db.use_count(), owners);  // not kept alive by the lease
        ASSERT_TRUE(st->step());
    }
    auto again = db->cached("SELECT 1");  // the same cached statement
    EXPECT_EQ(&*again, first);
    EXPECT_GT(db.use_count(), owners);  // an ordinary lease keeps the backend
    EXPECT_EQ(db->statement_cache().stats().hits, 1U);
}

TEST_F(StatementCacheTest, MovingALeaseMovesTheStatement) {
    auto db = open();
    auto a = db->cached("SELECT 1");
    const Statement* p = &*a;
    CachedStatement b = std::move(a);
    EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): a moved-from lease is empty
    ASSERT_TRUE(b);
    EXPECT_EQ(&*b, p);
}

// Held statements (the model layer's save plan): found by key, prepared once, apart from the
// SQL-keyed slots and their counters, finalised by clear().
TEST_F(StatementCacheTest, HeldStatementsAreFoundByKeyAndDroppedByClear) {
    auto db = open();
    db->execute_script("CREATE TABLE t (x TEXT)");
    const std::size_t key = StatementCache::new_held_key();
    EXPECT_NE(StatementCache::new_held_key(), key);
    EXPECT_EQ(db->statement_cache().held(key), nullptr);
    int made = 0;
    const auto sql = [&made] {
        ++made;
        return std::string("INSERT INTO t VALUES (?1)");
    };
    Statement& first = db->held(key, sql, tocsin::source_location::current());
    Statement& again = db->held(key, sql, tocsin::source_location::current());
    EXPECT_EQ(&first, &again);
    EXPECT_EQ(made, 1);
    EXPECT_EQ(db->statement_cache().held(key), &first);
    EXPECT_EQ(db->statement_cache().stats().misses, 0U);
    EXPECT_EQ(db->statement_cache().stats().idle, 0U);
    for (const std::string text : {"one", "two"}) {
        const ValueRef views[] = {ValueRef(std::string_view(text))};
        first.bind_views(views);
        EXPECT_EQ(first.run(), 1);
        first.reset_for_rebinding();  // the bound text dies here: bound again before each run
    }
    db->statement_cache().clear();
    EXPECT_EQ(db->statement_cache().held(key), nullptr);
    auto st = db->cached("SELECT group_concat(x, ',') FROM t");
    ASSERT_TRUE(st->step());
    EXPECT_EQ(st->column(0), Value(std::string("one,two")));
    (void)db->held(key, sql, tocsin::source_location::current());
    EXPECT_EQ(made, 2);
}

}  // namespace statement_cache_test
}  // namespace
}  // namespace tocsin::db::test
