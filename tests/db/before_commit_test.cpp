// Database::before_commit: callbacks that write in the transaction just before its COMMIT,
// dropped with a rolled-back savepoint or transaction (what the remote outbox gathers its rows
// with).
#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "test_support.hpp"
#include "tocsin/db.hpp"

namespace tocsin::db::test {
namespace {

class BeforeCommitTest : public DbTest {
  protected:
    void SetUp() override {
        DbTest::SetUp();
        connection().execute_script("CREATE TABLE thing (id " +
                                    connection().backend().auto_primary_key_type() +
                                    ", num INTEGER NOT NULL)");
    }

    /// Registers a callback inserting Thing(num) before the commit.
    void later(int num) {
        connection().before_commit(
            [num] { connection().execute(params("INSERT INTO thing (num) VALUES (?1)"), {num}); });
    }

    static std::vector<int> things() {
        std::vector<int> nums;
        for (const Row& row : connection().query("SELECT num FROM thing ORDER BY id"))
            nums.push_back(from_value<int>(row.at(0)));
        return nums;
    }
};

TEST_F(BeforeCommitTest, RunsAtOnceOutsideATransaction) {
    later(1);
    EXPECT_EQ(things(), std::vector<int>{1});
    EXPECT_EQ(connection().pending_before_commit(), 0U);
}

TEST_F(BeforeCommitTest, RunsInOrderJustBeforeTheOutermostCommit) {
    tocsin::atomic([&] {
        later(1);
        tocsin::atomic([&] { later(2); });
        later(3);
        EXPECT_EQ(things(), std::vector<int>{});  // not yet
        EXPECT_EQ(connection().pending_before_commit(), 3U);
    });
    EXPECT_EQ(things(), (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(connection().pending_before_commit(), 0U);
}

TEST_F(BeforeCommitTest, RunBeforeOnCommitCallbacksInsideTheTransaction) {
    std::vector<std::string> seen;
    tocsin::atomic([&] {
        tocsin::on_commit([&] { seen.emplace_back("on_commit"); });
        connection().before_commit([&] {
            EXPECT_TRUE(connection().in_atomic_block());
            seen.emplace_back("before_commit");
        });
    });
    EXPECT_EQ(seen, (std::vector<std::string>{"before_commit", "on_commit"}));
}

TEST_F(BeforeCommitTest, ACallbackMayUseAtomicBlocks) {
    tocsin::atomic([&] {
        connection().before_commit([&] {
            tocsin::atomic([&] { later(1); });  // a savepoint; registers one more
            try {
                tocsin::atomic([&] {
                    later(2);
                    throw std::runtime_error("inner");
                });
            } catch (const std::runtime_error&) {
            }
        });
    });
    EXPECT_EQ(things(), std::vector<int>{1});
}

TEST_F(BeforeCommitTest, DroppedWhenTheTransactionRollsBack) {
    EXPECT_THROW(tocsin::atomic([&] {
                     later(1);
                     throw std::runtime_error("no");
                 }),
                 std::runtime_error);
    EXPECT_EQ(connection().pending_before_commit(), 0U);
    tocsin::atomic([&] { later(2); });
    EXPECT_EQ(things(), std::vector<int>{2});
}

TEST_F(BeforeCommitTest, ARolledBackSavepointDropsOnlyItsOwn) {
    tocsin::atomic([&] {
        later(1);
        try {
            tocsin::atomic([&] {
                later(2);
                tocsin::atomic([&] { later(3); });
                throw std::runtime_error("inner");
            });
        } catch (const std::runtime_error&) {
        }
        later(4);
    });
    EXPECT_EQ(things(), (std::vector<int>{1, 4}));
}

TEST_F(BeforeCommitTest, ARolledBackSavepointAfterAnEarlyRunUndoesWhatRanInIt) {
    tocsin::atomic([&] {
        later(1);
        try {
            tocsin::atomic([&] {
                later(2);
                connection().run_before_commit();  // 1 and 2 written now
                EXPECT_EQ(things(), (std::vector<int>{1, 2}));
                later(3);
                throw std::runtime_error("inner");
            });
        } catch (const std::runtime_error&) {
        }
        // 2 and 3 were the savepoint's: gone; 1 was written inside it, undone: it waits again.
        EXPECT_EQ(things(), std::vector<int>{});
        EXPECT_EQ(connection().pending_before_commit(), 1U);
        later(4);
    });
    EXPECT_EQ(things(), (std::vector<int>{1, 4}));
}

TEST_F(BeforeCommitTest, AnEarlyRunInANestedSavepointReleasedThenRolledBackRunsThemAgain) {
    tocsin::atomic([&] {
        later(1);
        try {
            tocsin::atomic([&] {
                later(2);
                tocsin::atomic([&] {
                    later(3);
                    connection().run_before_commit();
                });  // released: 1, 2, 3 stay written, inside the middle savepoint
                throw std::runtime_error("middle");
            });
        } catch (const std::runtime_error&) {
        }
        EXPECT_EQ(connection().pending_before_commit(), 1U);
    });
    EXPECT_EQ(things(), std::vector<int>{1});
}

TEST_F(BeforeCommitTest, AThrowingCallbackInAnEarlyRunRollsItsBlockBack) {
    tocsin::atomic([&] {
        later(1);
        try {
            tocsin::atomic([&] {
                later(2);
                connection().before_commit([] { throw std::logic_error("cannot"); });
                connection().run_before_commit();
            });
            FAIL() << "no exception";
        } catch (const std::logic_error&) {
        }
        later(3);
    });
    EXPECT_EQ(things(), (std::vector<int>{1, 3}));
}

TEST_F(BeforeCommitTest, ACallbackMayRegisterMoreWhichRunInTheSamePass) {
    tocsin::atomic([&] {
        connection().before_commit([&] { later(2); });
        later(1);
    });
    EXPECT_EQ(things(), (std::vector<int>{1, 2}));
}

TEST_F(BeforeCommitTest, AThrowingCallbackRollsTheTransactionBack) {
    std::vector<int> committed;
    try {
        tocsin::atomic([&] {
            later(1);
            connection().execute(params("INSERT INTO thing (num) VALUES (?1)"), {5});
            tocsin::on_commit([&] { committed.push_back(1); });
            connection().before_commit([] { throw std::logic_error("cannot"); });
            later(2);
        });
        FAIL() << "no exception";
    } catch (const std::logic_error& e) {
        EXPECT_STREQ(e.what(), "cannot");
    }
    EXPECT_EQ(things(), std::vector<int>{});
    EXPECT_TRUE(committed.empty());
    EXPECT_FALSE(connection().in_atomic_block());
    EXPECT_EQ(connection().pending_before_commit(), 0U);
    later(3);  // the connection works on
    EXPECT_EQ(things(), std::vector<int>{3});
}

TEST_F(BeforeCommitTest, ManualTransactionsRunThemAtCommitAndDropThemAtRollback) {
    connection().set_autocommit(false);
    later(1);
    connection().rollback();
    later(2);
    connection().commit();
    later(3);
    EXPECT_EQ(connection().pending_before_commit(), 1U);
    connection().set_autocommit(true);
    EXPECT_EQ(things(), (std::vector<int>{2, 3}));
}

TEST_F(BeforeCommitTest, AnAtomicBlockInAManualTransactionLeavesThemToItsCommit) {
    connection().set_autocommit(false);
    tocsin::atomic([&] { later(1); });
    EXPECT_EQ(connection().pending_before_commit(), 1U);
    connection().commit();
    connection().set_autocommit(true);
    EXPECT_EQ(things(), std::vector<int>{1});
}

TEST_F(BeforeCommitTest, ClosingTheConnectionDropsThem) {
    connection().set_autocommit(false);
    later(1);
    connection().close();
    EXPECT_EQ(connection().pending_before_commit(), 0U);
    EXPECT_EQ(things(), std::vector<int>{});
}

TEST_F(BeforeCommitTest, AnEmptyCallbackIsRefused) {
    EXPECT_THROW(connection().before_commit({}), ProgrammingError);
}

}  // namespace
}  // namespace tocsin::db::test
