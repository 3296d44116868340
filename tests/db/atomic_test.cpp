// tocsin::atomic / tocsin::db::Atomic: commit, rollback on exception, nested savepoints,
// savepoint=false, durable, explicit commit()/rollback(), manual transactions, misuse.
#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "tocsin/db.hpp"

namespace tocsin::db::test {
namespace {
namespace atomic_test {

struct ForcedError : std::runtime_error {
    ForcedError() : std::runtime_error("forced error") {}
};

class AtomicTest : public DbTest {
  protected:
    void SetUp() override {
        DbTest::SetUp();
        connection().execute_script("CREATE TABLE item (id " +
                                    connection().backend().auto_primary_key_type() +
                                    ", name TEXT NOT NULL UNIQUE)");
    }

    static void insert(const std::string& name) {
        connection().execute(params("INSERT INTO item (name) VALUES (?1)"), {name});
    }

    static std::vector<std::string> names() {
        std::vector<std::string> out;
        for (const Row& row : connection().query("SELECT name FROM item ORDER BY name"))
            out.push_back(row.at(0).as_text());
        return out;
    }

    /// What a second, independent connection to the same database sees (committed data only).
    std::vector<std::string> committed_names() {
        const auto other = open_backend(default_settings);
        auto st = other->cached("SELECT name FROM item ORDER BY name");
        std::vector<std::string> out;
        while (st->step())
            out.push_back(st->column(0).as_text());
        return out;
    }

    using Names = std::vector<std::string>;
};

TEST_F(AtomicTest, CommitsWhenTheBlockEndsNormally) {
    {
        auto tx = tocsin::atomic();
        insert("a");
        EXPECT_EQ(names(), Names{"a"});
        EXPECT_EQ(committed_names(), Names{});  // not visible to others before the commit
    }
    EXPECT_EQ(committed_names(), Names{"a"});
}

TEST_F(AtomicTest, RollsBackWhenAnExceptionLeavesTheBlock) {
    try {
        auto tx = tocsin::atomic();
        insert("a");
        throw ForcedError();
    } catch (const ForcedError&) {
    }
    EXPECT_EQ(names(), Names{});
    EXPECT_FALSE(connection().in_atomic_block());
    EXPECT_TRUE(connection().get_autocommit());
}

TEST_F(AtomicTest, AStatementErrorLeavingTheBlockRollsBackEverything) {
    insert("existing");
    EXPECT_THROW(
        {
            auto tx = tocsin::atomic();
            insert("a");
            insert("existing");  // UNIQUE violation
        },
        IntegrityError);
    EXPECT_EQ(names(), Names{"existing"});
}

TEST_F(AtomicTest, StateDuringAndAfterABlock) {
    Database& db = connection();
    EXPECT_FALSE(db.in_atomic_block());
    EXPECT_EQ(db.atomic_depth(), 0U);
    {
        auto outer = tocsin::atomic();
        EXPECT_TRUE(db.in_atomic_block());
        EXPECT_FALSE(db.get_autocommit());
        EXPECT_TRUE(db.backend().in_transaction());
        {
            auto inner = tocsin::atomic();
            EXPECT_EQ(db.atomic_depth(), 2U);
        }
        EXPECT_EQ(db.atomic_depth(), 1U);
    }
    EXPECT_FALSE(db.in_atomic_block());
    EXPECT_TRUE(db.get_autocommit());
    EXPECT_FALSE(db.backend().in_transaction());
}

TEST_F(AtomicTest, FunctionFormCommitsAndReturnsTheResult) {
    const std::string result = tocsin::atomic([] {
        insert("a");
        return std::string("done");
    });
    EXPECT_EQ(result, "done");
    EXPECT_EQ(committed_names(), Names{"a"});
}

TEST_F(AtomicTest, FunctionFormRollsBackAndRethrows) {
    EXPECT_THROW(tocsin::atomic([] {
                     insert("a");
                     throw ForcedError();
                 }),
                 ForcedError);
    EXPECT_EQ(names(), Names{});
}

TEST_F(AtomicTest, FunctionFormCanReturnAReference) {
    std::string target = "x";
    std::string& ref = tocsin::atomic([&]() -> std::string& { return target; });
    EXPECT_EQ(&ref, &target);
}

TEST_F(AtomicTest, FunctionFormOnAnotherAlias) {
    connection("other").execute_script("CREATE TABLE item (name TEXT)");
    tocsin::atomic("other", [] {
        EXPECT_TRUE(connection("other").in_atomic_block());
        EXPECT_FALSE(connection().in_atomic_block());
        connection("other").execute("INSERT INTO item (name) VALUES ('o')");
    });
    EXPECT_EQ(connection("other").query_value("SELECT count(*) FROM item"), Value(1));
    EXPECT_EQ(names(), Names{});
}

TEST_F(AtomicTest, AnExceptionInANestedBlockCaughtOutsideItRollsBackOnlyToTheSavepoint) {
    {
        auto outer = tocsin::atomic();
        insert("before");
        try {
            auto inner = tocsin::atomic();
            insert("inside");
            throw ForcedError();
        } catch (const ForcedError&) {
        }
        EXPECT_EQ(names(), Names{"before"});
        insert("after");
    }
    EXPECT_EQ(committed_names(), (Names{"after", "before"}));
}

TEST_F(AtomicTest, AFailedStatementInANestedBlockCaughtOutsideKeepsTheOuterWork) {
    insert("existing");
    {
        auto outer = tocsin::atomic();
        insert("a");
        try {
            auto inner = tocsin::atomic();
            insert("b");
            insert("existing");
        } catch (const IntegrityError&) {
        }
        insert("c");
    }
    EXPECT_EQ(committed_names(), (Names{"a", "c", "existing"}));
}

TEST_F(AtomicTest, AReleasedSavepointIsUndoneByTheOuterRollback) {
    try {
        auto outer = tocsin::atomic();
        {
            auto inner = tocsin::atomic();
            insert("inner");
        }
        throw ForcedError();
    } catch (const ForcedError&) {
    }
    EXPECT_EQ(names(), Names{});
}

TEST_F(AtomicTest, DeeplyNestedBlocks) {
    {
        auto a = tocsin::atomic();
        insert("1");
        {
            auto b = tocsin::atomic();
            insert("2");
            try {
                auto c = tocsin::atomic();
                insert("3");
                {
                    auto d = tocsin::atomic();
                    insert("4");
                }
                throw ForcedError();
            } catch (const ForcedError&) {
            }
            insert("5");
        }
    }
    EXPECT_EQ(committed_names(), (Names{"1", "2", "5"}));
}

TEST_F(AtomicTest, ABlockWithoutSavepointMakesTheEnclosingBlockRollBack) {
    Database& db = connection();
    {
        auto outer = tocsin::atomic();
        insert("a");
        try {
            auto merged = tocsin::atomic({.savepoint = false});
            insert("b");
            throw ForcedError();
        } catch (const ForcedError&) {
        }
        EXPECT_TRUE(db.get_rollback());
        try {
            insert("c");
            ADD_FAILURE() << "a query ran after an error in the atomic block";
        } catch (const TransactionManagementError& e) {
            EXPECT_EQ(e.message(),
                      "An error occurred in the current transaction. You can't execute queries "
                      "until the end of the 'atomic' block.");
        }
    }  // ends without exception, but rolls back
    EXPECT_EQ(names(), Names{});
}

TEST_F(AtomicTest, ABlockWithoutSavepointCommitsWithItsParent) {
    {
        auto outer = tocsin::atomic();
        {
            auto merged = tocsin::atomic({.savepoint = false});
            insert("a");
        }
    }
    EXPECT_EQ(committed_names(), Names{"a"});
}

TEST_F(AtomicTest, DurableBlockCommits) {
    {
        auto tx = tocsin::atomic({.durable = true});
        insert("a");
    }
    EXPECT_EQ(committed_names(), Names{"a"});
}

TEST_F(AtomicTest, DurableBlockCannotBeNested) {
    {
        auto outer = tocsin::atomic();
        insert("a");
        try {
            auto inner = tocsin::atomic({.durable = true});
            ADD_FAILURE() << "a durable block was nested";
        } catch (const TransactionManagementError& e) {
            EXPECT_EQ(e.message(),
                      "A durable atomic block cannot be nested within another atomic block.");
        }
        EXPECT_EQ(connection().atomic_depth(), 1U);
        insert("b");  // the outer block is unharmed
    }
    EXPECT_EQ(committed_names(), (Names{"a", "b"}));
}

TEST_F(AtomicTest, ExplicitCommitEndsTheBlock) {
    auto tx = tocsin::atomic();
    insert("a");
    tx.commit();
    EXPECT_FALSE(tx.active());
    EXPECT_FALSE(connection().in_atomic_block());
    EXPECT_EQ(committed_names(), Names{"a"});
    EXPECT_THROW(tx.commit(), TransactionManagementError);
    EXPECT_THROW(tx.rollback(), TransactionManagementError);
}

TEST_F(AtomicTest, ExplicitRollbackEndsTheBlock) {
    {
        auto outer = tocsin::atomic();
        insert("a");
        {
            auto inner = tocsin::atomic();
            insert("b");
            inner.rollback();
            EXPECT_EQ(names(), Names{"a"});
        }
        insert("c");
    }
    EXPECT_EQ(committed_names(), (Names{"a", "c"}));
}

TEST_F(AtomicTest, SetRollbackMakesTheBlockRollBackWithoutAnException) {
    Database& db = connection();
    EXPECT_THROW(db.set_rollback(true), TransactionManagementError);  // outside a block
    {
        auto tx = tocsin::atomic();
        insert("a");
        db.set_rollback(true);
    }
    EXPECT_EQ(names(), Names{});
}

TEST_F(AtomicTest, MarkForRollbackOnErrorMarksTheBlock) {
    {
        auto tx = tocsin::atomic();
        insert("a");
        try {
            tocsin::db::mark_for_rollback_on_error("default", [] { insert("a"); });
        } catch (const IntegrityError&) {
        }
        EXPECT_TRUE(connection().get_rollback());
    }
    EXPECT_EQ(names(), Names{});
}

TEST_F(AtomicTest, CommitFailureRollsBackAndThrows) {
    // A deferred foreign key is checked at COMMIT: the commit fails.
    Database& db = connection();
    const std::string key = db.backend().auto_primary_key_type();
    db.execute_script("CREATE TABLE parent (id " + key + "); CREATE TABLE child (id " + key +
                      ", parent_id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)");
    bool hook_ran = false;
    try {
        auto tx = tocsin::atomic();
        insert("a");
        db.execute("INSERT INTO child (parent_id) VALUES (42)");
        tocsin::on_commit([&] { hook_ran = true; });
        tx.commit();
        ADD_FAILURE() << "the commit did not fail";
    } catch (const IntegrityError& e) {
        EXPECT_EQ(e.kind(), IntegrityError::Kind::foreign_key);
    }
    EXPECT_FALSE(hook_ran);
    EXPECT_FALSE(db.in_atomic_block());
    EXPECT_TRUE(db.get_autocommit());
    EXPECT_FALSE(db.backend().in_transaction());
    EXPECT_EQ(names(), Names{});
    EXPECT_EQ(db.query_value("SELECT count(*) FROM child"), Value(0));
}

TEST_F(AtomicTest, CommitFailureAtScopeExitThrowsFromTheDestructor) {
    Database& db = connection();
    const std::string key = db.backend().auto_primary_key_type();
    db.execute_script("CREATE TABLE parent (id " + key + "); CREATE TABLE child (id " + key +
                      ", parent_id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)");
    EXPECT_THROW(
        {
            auto tx = tocsin::atomic();
            db.execute("INSERT INTO child (parent_id) VALUES (42)");
        },
        IntegrityError);
    EXPECT_FALSE(db.backend().in_transaction());
    EXPECT_EQ(db.query_value("SELECT count(*) FROM child"), Value(0));
}

TEST_F(AtomicTest, ManualTransactions) {
    Database& db = connection();
    db.set_autocommit(false);
    EXPECT_FALSE(db.get_autocommit());
    insert("a");
    db.rollback();
    EXPECT_EQ(names(), Names{});
    insert("b");
    db.commit();
    EXPECT_EQ(committed_names(), Names{"b"});
    insert("c");
    {
        // An atomic block inside a manual transaction is a savepoint and commits nothing.
        auto tx = tocsin::atomic();
        insert("d");
    }
    EXPECT_FALSE(db.in_atomic_block());
    EXPECT_EQ(committed_names(), Names{"b"});
    db.set_autocommit(true);  // commits the manual transaction
    EXPECT_EQ(committed_names(), (Names{"b", "c", "d"}));
}

TEST_F(AtomicTest, TransactionControlIsForbiddenInsideABlock) {
    Database& db = connection();
    auto tx = tocsin::atomic();
    const std::string message = "This is forbidden when an 'atomic' block is active.";
    try {
        db.commit();
        ADD_FAILURE();
    } catch (const TransactionManagementError& e) {
        EXPECT_EQ(e.message(), message);
    }
    EXPECT_THROW(db.rollback(), TransactionManagementError);
    EXPECT_THROW(db.set_autocommit(false), TransactionManagementError);
}

TEST_F(AtomicTest, ErrorsSayWhereTheCallWasMade) {
    auto outer = tocsin::atomic();
    try {
        auto inner = tocsin::atomic({.durable = true});
        ADD_FAILURE();
    } catch (const TransactionManagementError& e) {
        EXPECT_NE(std::string(e.location().file_name()).find("atomic_test.cpp"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("atomic_test.cpp:"), std::string::npos) << e.what();
    }
}

TEST_F(AtomicTest, BlocksMustEndInReverseOrder) {
    // Run on a thread of its own: the misuse leaves that thread's connection unusable.
    const std::string file = dir.file("default.db");
    std::thread([&] {
        std::optional<Atomic> outer;
        std::optional<Atomic> inner;
        outer.emplace();
        inner.emplace();
        EXPECT_THROW(outer->commit(), TransactionManagementError);
        EXPECT_TRUE(outer->active());  // refused: the block is still open
        inner->commit();
        outer->commit();
        EXPECT_FALSE(connection().in_atomic_block());
    }).join();
}

TEST_F(AtomicTest, ABlockMustEndOnTheThreadThatBeganIt) {
    auto tx = tocsin::atomic();
    insert("a");
    std::thread([&] { EXPECT_THROW(tx.commit(), TransactionManagementError); }).join();
    EXPECT_TRUE(tx.active());
    tx.commit();
    EXPECT_EQ(committed_names(), Names{"a"});
}

TEST_F(AtomicTest, UnknownAliasIsAConfigurationError) {
    EXPECT_THROW(tocsin::atomic("missing", [] {}), ConfigurationError);
}

}  // namespace atomic_test
}  // namespace
}  // namespace tocsin::db::test
