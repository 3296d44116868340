// tocsin::on_commit: Django's tests/transaction_hooks (TestConnectionOnCommit), ported one to one,
// plus tocsin's own cases (aliases, move-only callbacks, error propagation details).
//
// As in Django, do_thing(n) inserts Thing(num=n) and registers on_commit(notify(n));
// assert_done(nums) checks both the notifications and the rows in the database, so that the
// callbacks and the data are seen to commit or roll back together.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <stdexcept>
#include <vector>

#include "test_support.hpp"
#include "tocsin/db.hpp"

namespace tocsin::db::test {
namespace {
namespace on_commit_test {

struct ForcedError : std::runtime_error {
    explicit ForcedError(const char* what = "forced error") : std::runtime_error(what) {}
};

class OnCommitTest : public DbTest {
  protected:
    void SetUp() override {
        DbTest::SetUp();
        connection().execute_script("CREATE TABLE thing (id " +
                                    connection().backend().auto_primary_key_type() +
                                    ", num INTEGER NOT NULL)");
    }

    void notify(int id) { notified.push_back(id); }

    /// Creates a Thing and registers a callback notifying about it.
    void do_thing(int num) {
        connection().execute(params("INSERT INTO thing (num) VALUES (?1)"), {num});
        tocsin::on_commit([this, num] { notify(num); });
    }

    std::vector<int> things() {
        std::vector<int> nums;
        for (const Row& row : connection().query("SELECT num FROM thing"))
            nums.push_back(from_value<int>(row.at(0)));
        std::sort(nums.begin(), nums.end());
        return nums;
    }

    void assert_done(std::vector<int> nums) {
        EXPECT_EQ(notified, nums);
        std::sort(nums.begin(), nums.end());
        EXPECT_EQ(things(), nums);
    }

    std::vector<int> notified;
};

TEST_F(OnCommitTest, ExecutesImmediatelyIfNoTransaction) {
    do_thing(1);
    assert_done({1});
}

TEST_F(OnCommitTest, RobustIfNoTransaction) {
    LogCapture log;
    tocsin::on_commit([] { throw ForcedError("robust callback"); },
                      {.robust = true, .name = "robust_callback"});
    do_thing(1);

    assert_done({1});
    ASSERT_EQ(log.records.size(), 1U);
    EXPECT_EQ(log.records[0].level, LogLevel::error);
    EXPECT_EQ(log.records[0].logger, "tocsin.db");
    EXPECT_EQ(log.records[0].message,
              "Error calling robust_callback in on_commit() (robust callback).");
    ASSERT_TRUE(log.records[0].error);
    try {
        std::rethrow_exception(log.records[0].error);
    } catch (const ForcedError& e) {
        EXPECT_STREQ(e.what(), "robust callback");
    }
}

TEST_F(OnCommitTest, RobustTransaction) {
    LogCapture log;
    {
        auto tx = tocsin::atomic();
        tocsin::on_commit([] { throw ForcedError("robust callback"); },
                          {.robust = true, .name = "robust_callback"});
        do_thing(1);
    }

    assert_done({1});
    ASSERT_EQ(log.records.size(), 1U);
    EXPECT_EQ(log.records[0].message,
              "Error calling robust_callback in on_commit() during transaction (robust "
              "callback).");
    ASSERT_TRUE(log.records[0].error);
    EXPECT_THROW(std::rethrow_exception(log.records[0].error), ForcedError);
}

TEST_F(OnCommitTest, DelaysExecutionUntilAfterTransactionCommit) {
    {
        auto tx = tocsin::atomic();
        do_thing(1);
        EXPECT_EQ(notified, std::vector<int>{});
    }
    assert_done({1});
}

TEST_F(OnCommitTest, DoesNotExecuteIfTransactionRolledBack) {
    try {
        auto tx = tocsin::atomic();
        do_thing(1);
        throw ForcedError();
    } catch (const ForcedError&) {
    }
    assert_done({});
}

TEST_F(OnCommitTest, ExecutesOnlyAfterFinalTransactionCommitted) {
    {
        auto outer = tocsin::atomic();
        {
            auto inner = tocsin::atomic();
            do_thing(1);
            EXPECT_EQ(notified, std::vector<int>{});
        }
        EXPECT_EQ(notified, std::vector<int>{});
    }
    assert_done({1});
}

TEST_F(OnCommitTest, DiscardsHooksFromRolledBackSavepoint) {
    {
        auto outer = tocsin::atomic();
        {  // one successful savepoint
            auto inner = tocsin::atomic();
            do_thing(1);
        }
        try {  // one failed savepoint
            auto inner = tocsin::atomic();
            do_thing(2);
            throw ForcedError();
        } catch (const ForcedError&) {
        }
        {  // another successful savepoint
            auto inner = tocsin::atomic();
            do_thing(3);
        }
    }
    // only hooks registered during successful savepoints execute
    assert_done({1, 3});
}

TEST_F(OnCommitTest, NoHooksRunFromFailedTransaction) {
    try {
        auto outer = tocsin::atomic();
        {
            auto inner = tocsin::atomic();
            do_thing(1);
        }
        throw ForcedError();
    } catch (const ForcedError&) {
    }
    assert_done({});
}

TEST_F(OnCommitTest, InnerSavepointRolledBackWithOuter) {
    {
        auto outer = tocsin::atomic();
        try {
            auto middle = tocsin::atomic();
            {
                auto inner = tocsin::atomic();
                do_thing(1);
            }
            throw ForcedError();
        } catch (const ForcedError&) {
        }
        do_thing(2);
    }
    assert_done({2});
}

TEST_F(OnCommitTest, NoSavepointsAtomicMergedWithOuter) {
    {
        auto outer = tocsin::atomic();
        {
            auto inner = tocsin::atomic();
            do_thing(1);
            try {
                auto merged = tocsin::atomic({.savepoint = false});
                throw ForcedError();
            } catch (const ForcedError&) {
            }
        }
    }
    assert_done({});
}

TEST_F(OnCommitTest, InnerSavepointDoesNotAffectOuter) {
    {
        auto outer = tocsin::atomic();
        {
            auto inner = tocsin::atomic();
            do_thing(1);
            try {
                auto innermost = tocsin::atomic();
                throw ForcedError();
            } catch (const ForcedError&) {
            }
        }
    }
    assert_done({1});
}

TEST_F(OnCommitTest, RunsHooksInOrderRegistered) {
    {
        auto outer = tocsin::atomic();
        do_thing(1);
        {
            auto inner = tocsin::atomic();
            do_thing(2);
        }
        do_thing(3);
    }
    assert_done({1, 2, 3});
}

TEST_F(OnCommitTest, HooksClearedAfterSuccessfulCommit) {
    {
        auto tx = tocsin::atomic();
        do_thing(1);
    }
    {
        auto tx = tocsin::atomic();
        do_thing(2);
    }
    assert_done({1, 2});  // not [1, 1, 2]
}

TEST_F(OnCommitTest, HooksClearedAfterRollback) {
    try {
        auto tx = tocsin::atomic();
        do_thing(1);
        throw ForcedError();
    } catch (const ForcedError&) {
    }
    {
        auto tx = tocsin::atomic();
        do_thing(2);
    }
    assert_done({2});
}

TEST_F(OnCommitTest, HooksClearedOnReconnect) {
    {
        auto tx = tocsin::atomic();
        do_thing(1);
        connection().close();
    }
    EXPECT_FALSE(connection().is_connected());
    {
        auto tx = tocsin::atomic();
        do_thing(2);
    }
    assert_done({2});
}

TEST_F(OnCommitTest, ErrorInHookDoesntPreventClearingHooks) {
    try {
        auto tx = tocsin::atomic();
        tocsin::on_commit([] { throw ForcedError(); });
    } catch (const ForcedError&) {
    }
    {
        auto tx = tocsin::atomic();
        do_thing(1);
    }
    assert_done({1});
}

TEST_F(OnCommitTest, DbQueryInHook) {
    {
        auto tx = tocsin::atomic();
        connection().execute("INSERT INTO thing (num) VALUES (1)");
        tocsin::on_commit([this] {
            for (int num : things())
                notify(num);
        });
    }
    assert_done({1});
}

TEST_F(OnCommitTest, TransactionInHook) {
    {
        auto tx = tocsin::atomic();
        tocsin::on_commit([this] {
            auto inner = tocsin::atomic();
            connection().execute("INSERT INTO thing (num) VALUES (1)");
            notify(1);
        });
    }
    assert_done({1});
}

TEST_F(OnCommitTest, HookInHook) {
    std::function<void(int, bool)> hook = [&](int i, bool add_hook) {
        auto tx = tocsin::atomic();
        if (add_hook)
            tocsin::on_commit([&hook, i] { hook(i + 10, false); });
        connection().execute(params("INSERT INTO thing (num) VALUES (?1)"), {i});
        notify(i);
    };
    {
        auto tx = tocsin::atomic();
        tocsin::on_commit([&] { hook(1, true); });
        tocsin::on_commit([&] { hook(2, true); });
    }
    assert_done({1, 11, 2, 12});
}

TEST_F(OnCommitTest, RaisesExceptionNonAutocommitMode) {
    bool called = false;
    connection().set_autocommit(false);
    try {
        tocsin::on_commit([&] { called = true; });
        ADD_FAILURE() << "on_commit() in manual transaction mode did not throw";
    } catch (const TransactionManagementError& e) {
        EXPECT_EQ(e.message(), "on_commit() cannot be used in manual transaction management");
    }
    connection().set_autocommit(true);
    EXPECT_FALSE(called);
}

TEST_F(OnCommitTest, RaisesExceptionNonCallable) {
    const std::string message = "on_commit()'s callback must be a callable.";
    try {
        tocsin::on_commit(std::function<void()>());
        ADD_FAILURE() << "an empty std::function was accepted";
    } catch (const ProgrammingError& e) {
        EXPECT_EQ(e.message(), message);
    }
    void (*null_function)() = nullptr;
    try {
        auto tx = tocsin::atomic();
        tocsin::on_commit(null_function);
        ADD_FAILURE() << "a null function pointer was accepted";
    } catch (const ProgrammingError& e) {
        EXPECT_EQ(e.message(), message);
    }
    EXPECT_EQ(connection().pending_on_commit(), 0U);
}

// ---------------------------------------------------------------- beyond Django's suite

TEST_F(OnCommitTest, NonRobustErrorPropagatesAfterCommitAndDropsTheRestOfTheBatch) {
    try {
        auto tx = tocsin::atomic();
        do_thing(1);
        tocsin::on_commit([] { throw ForcedError("hook failed"); });
        do_thing(2);
    } catch (const ForcedError& e) {
        EXPECT_STREQ(e.what(), "hook failed");
    }
    // The transaction committed (both rows are there); the hook after the failing one was
    // dropped, not kept for a later commit.
    EXPECT_EQ(notified, std::vector<int>{1});
    EXPECT_EQ(things(), (std::vector<int>{1, 2}));
    EXPECT_EQ(connection().pending_on_commit(), 0U);
    EXPECT_FALSE(connection().in_atomic_block());
    EXPECT_TRUE(connection().get_autocommit());
    {
        auto tx = tocsin::atomic();
        do_thing(3);
    }
    EXPECT_EQ(notified, (std::vector<int>{1, 3}));
}

TEST_F(OnCommitTest, RobustErrorDoesNotStopTheFollowingHooks) {
    LogCapture log;
    {
        auto tx = tocsin::atomic();
        do_thing(1);
        tocsin::on_commit_robust([] { throw ForcedError("first"); });
        tocsin::on_commit_robust([] { throw 42; });
        do_thing(2);
    }
    assert_done({1, 2});
    ASSERT_EQ(log.records.size(), 2U);
    // Without a name, the callback is named by where it was registered.
    EXPECT_NE(log.records[0].message.find("Error calling <callback at "), std::string::npos)
        << log.records[0].message;
    EXPECT_NE(log.records[0].message.find("on_commit_test.cpp:"), std::string::npos);
    EXPECT_NE(log.records[0].message.find("in on_commit() during transaction (first)."),
              std::string::npos)
        << log.records[0].message;
    EXPECT_NE(log.records[1].message.find("(unknown exception)."), std::string::npos)
        << log.records[1].message;
}

TEST_F(OnCommitTest, HooksRunWithAutocommitRestored) {
    bool autocommit = false;
    bool in_block = true;
    {
        auto tx = tocsin::atomic();
        tocsin::on_commit([&] {
            autocommit = connection().get_autocommit();
            in_block = connection().in_atomic_block();
        });
    }
    EXPECT_TRUE(autocommit);
    EXPECT_FALSE(in_block);
}

TEST_F(OnCommitTest, HookRegisteredInAHookOutsideAtomicRunsAtOnce) {
    {
        auto tx = tocsin::atomic();
        tocsin::on_commit([this] {
            notify(1);
            tocsin::on_commit([this] { notify(11); });  // autocommit: runs now, depth-first
            notify(2);
        });
        tocsin::on_commit([this] { notify(3); });
    }
    EXPECT_EQ(notified, (std::vector<int>{1, 11, 2, 3}));
}

TEST_F(OnCommitTest, EachAliasHasItsOwnTransaction) {
    connection("other").execute_script("CREATE TABLE thing (num INTEGER NOT NULL)");
    {
        auto tx = tocsin::atomic();  // on "default" only
        tocsin::on_commit([this] { notify(1); });
        tocsin::on_commit([this] { notify(2); }, "other");  // "other" is in autocommit: now
        EXPECT_EQ(notified, std::vector<int>{2});
        tocsin::atomic("other", [this] {
            tocsin::on_commit([this] { notify(3); }, "other");
            tocsin::on_commit([this] { notify(4); });  // waits for "default"
        });
        EXPECT_EQ(notified, (std::vector<int>{2, 3}));
    }
    EXPECT_EQ(notified, (std::vector<int>{2, 3, 1, 4}));
}

TEST_F(OnCommitTest, AcceptsMoveOnlyCallables) {
    auto value = std::make_unique<int>(7);
    {
        auto tx = tocsin::atomic();
        tocsin::on_commit([this, v = std::move(value)] { notify(*v); });
    }
    EXPECT_EQ(notified, std::vector<int>{7});
}

TEST_F(OnCommitTest, FunctionFormOfAtomicRunsHooksAfterItReturns) {
    const int result = tocsin::atomic([this] {
        do_thing(1);
        EXPECT_TRUE(notified.empty());
        return 5;
    });
    EXPECT_EQ(result, 5);
    assert_done({1});
}

TEST_F(OnCommitTest, ExplicitRollbackDropsHooks) {
    {
        auto tx = tocsin::atomic();
        do_thing(1);
        tx.rollback();
        EXPECT_FALSE(tx.active());
    }
    assert_done({});
}

TEST_F(OnCommitTest, SetRollbackDropsHooks) {
    {
        auto tx = tocsin::atomic();
        do_thing(1);
        connection().set_rollback(true);
    }
    assert_done({});
}

TEST_F(OnCommitTest, ManualModeHooksRunWhenAutocommitReturnsAfterCommit) {
    Database& db = connection();
    db.set_autocommit(false);
    {
        auto tx = tocsin::atomic();  // inside a manual transaction: a savepoint
        do_thing(1);
    }
    EXPECT_TRUE(notified.empty());
    db.commit();
    EXPECT_TRUE(notified.empty());
    db.set_autocommit(true);
    assert_done({1});
}

TEST_F(OnCommitTest, ClosingTheConnectionDropsPendingHooks) {
    Database& db = connection();
    db.set_autocommit(false);
    {
        auto tx = tocsin::atomic();
        do_thing(1);
    }
    EXPECT_EQ(db.pending_on_commit(), 1U);
    db.close();  // the manual transaction is lost, and its callbacks with it
    EXPECT_EQ(db.pending_on_commit(), 0U);
    EXPECT_TRUE(db.get_autocommit());
    {
        auto tx = tocsin::atomic();
        do_thing(2);
    }
    assert_done({2});
}

}  // namespace on_commit_test
}  // namespace
}  // namespace tocsin::db::test
