// The outbox table and the rows a send writes: one per remote receiver, in the sender's
// transaction (rolled back with it), in its own write outside one; nothing runs in the sender.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "remote_support.hpp"
#include "tocsin/testing.hpp"

namespace tocsin::test::remote_test {
namespace {
namespace outbox_test {

int local_calls = 0;

void welcome(Item& item, const SaveEvent&) {
    ++local_calls;
    apply_effect("welcome", item);
}
void audit(Item& item, const SaveEvent&) {
    ++local_calls;
    apply_effect("audit", item);
}

class OutboxTest : public RemoteTest {
  protected:
    void SetUp() override {
        RemoteTest::SetUp();
        local_calls = 0;
        connections.emplace_back(remote::connect<Item>(
            post_save, &welcome, {.queue = "mail", .dispatch_uid = "outboxtest.welcome"}));
        connections.emplace_back(remote::connect<Item>(
            post_save, &audit, {.queue = "audit", .dispatch_uid = "outboxtest.audit"}));
    }
};

TEST_F(OutboxTest, CreateOutboxMayRunAgain) {
    remote::create_outbox();
    remote::create_outbox();
    EXPECT_EQ(outbox_size(), 0);
}

TEST_F(OutboxTest, OnPostgresqlTheOutboxPagesAreHalfEmptyForHotClaims) {
    if (!test_support::testing_postgresql()) {
        GTEST_SKIP() << "PostgreSQL only (fillfactor)";
    }
    const auto options = [] {
        return db::connection()
            .query_value(
                "SELECT array_to_string(reloptions, ',') FROM pg_class WHERE oid = "
                "'tocsin_outbox'::regclass")
            ->as_text();
    };
    EXPECT_EQ(options(), "fillfactor=50");
    // An outbox made with another fill factor gets this one.
    db::connection().execute_script("ALTER TABLE tocsin_outbox SET (fillfactor = 70)");
    remote::create_outbox();
    EXPECT_EQ(options(), "fillfactor=50");
}

TEST_F(OutboxTest, SaveInATransactionWritesOneRowPerRemoteReceiverAndRunsNothing) {
    Item item;
    tocsin::atomic([&] {
        item.name = "pen";
        item.save();
    });
    EXPECT_EQ(local_calls, 0);
    EXPECT_EQ(effects(), 0);
    const auto rows = remote::outbox_rows();
    ASSERT_EQ(rows.size(), 2U);
    std::set<std::string> receivers;
    std::set<std::string> keys;
    for (const auto& r : rows) {
        receivers.insert(r.receiver);
        keys.insert(r.idempotency_key);
        EXPECT_EQ(r.signal, "post_save");
        EXPECT_EQ(r.sender, "outboxtest.Item");
        EXPECT_EQ(r.status, remote::Status::pending);
        EXPECT_EQ(r.attempts, 0);
        EXPECT_FALSE(r.locked_by);
        EXPECT_EQ(r.idempotency_key.size(), 32U);
        const auto payload = nlohmann::json::parse(r.payload);
        EXPECT_EQ(payload.at("pk").get<std::int64_t>(), *item.id);
        EXPECT_TRUE(payload.at("created").get<bool>());
        EXPECT_TRUE(payload.at("update_fields").is_null());
        EXPECT_EQ(r.queue, r.receiver == "outboxtest.welcome" ? "mail" : "audit");
    }
    EXPECT_EQ(receivers, (std::set<std::string>{"outboxtest.audit", "outboxtest.welcome"}));
    EXPECT_EQ(keys.size(), 2U);
}

TEST_F(OutboxTest, UpdateFieldsTravelWithTheEvent) {
    Item item = Item::objects().create({.name = "pen"});
    item.n = 3;
    item.save({.update_fields = {"n"}});
    const auto rows = remote::outbox_rows({.receiver = "outboxtest.welcome"});
    ASSERT_EQ(rows.size(), 2U);
    const auto second = nlohmann::json::parse(rows[1].payload);
    EXPECT_FALSE(second.at("created").get<bool>());
    EXPECT_EQ(second.at("update_fields").get<std::set<std::string>>(),
              (std::set<std::string>{"n"}));
}

TEST_F(OutboxTest, ARolledBackTransactionLeavesNoRow) {
    EXPECT_THROW(tocsin::atomic([&] {
                     Item::objects().create({.name = "pen"});
                     throw std::runtime_error("changed my mind");
                 }),
                 std::runtime_error);
    EXPECT_EQ(outbox_size(), 0);
    EXPECT_EQ(Item::objects().count(), 0);
}

TEST_F(OutboxTest, ARolledBackSavepointDropsItsRowsOnly) {
    tocsin::atomic([&] {
        Item::objects().create({.name = "kept"});
        try {
            tocsin::atomic([&] {
                Item::objects().create({.name = "dropped"});
                throw std::runtime_error("inner");
            });
        } catch (const std::runtime_error&) {
        }
    });
    EXPECT_EQ(outbox_size(), 2);  // the kept item's two receivers
    EXPECT_EQ(Item::objects().count(), 1);
}

TEST_F(OutboxTest, ATransactionsRowsAreWrittenJustBeforeItsCommitInSendOrder) {
    std::vector<std::int64_t> items;
    tocsin::atomic([&] {
        for (int i = 0; i < 3; ++i) {
            items.push_back(*Item::objects().create({.name = "i"}).id);
            tocsin::atomic([&] { items.push_back(*Item::objects().create({.name = "j"}).id); });
        }
        EXPECT_EQ(outbox_size(), 0);  // SQL in the transaction does not see them yet
    });
    const auto rows = remote::outbox_rows();
    ASSERT_EQ(rows.size(), 2 * items.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {  // by id: the order of the sends
        EXPECT_EQ(nlohmann::json::parse(rows[i].payload).at("pk").get<std::int64_t>(),
                  items[i / 2]);
    }
}

TEST_F(OutboxTest, OutboxRowsAndCountsSeeTheRowsOfTheCurrentTransaction) {
    tocsin::atomic([&] {
        Item::objects().create({.name = "pen"});
        EXPECT_EQ(remote::outbox_rows().size(), 2U);
        Item::objects().create({.name = "ink"});
        ASSERT_EQ(remote::outbox_counts().size(), 2U);
        EXPECT_EQ(remote::outbox_counts()[0].pending, 2);
        Item::objects().create({.name = "cap"});
        remote::flush_outbox();
        EXPECT_EQ(outbox_size(), 6);
    });
    EXPECT_EQ(outbox_size(), 6);
}

TEST_F(OutboxTest, OnPostgresqlATransactionsRowsAreOneStatement) {
    std::size_t writes = 0;
    tocsin::atomic([&] {
        for (int i = 0; i < 50; ++i) {
            Item::objects().create({.name = "i"});
        }
        const testing::CaptureQueries queries;
        remote::flush_outbox();
        for (const std::string& q : queries.queries()) {
            writes += q.find("INSERT INTO tocsin_outbox") != std::string::npos ? 1 : 0;
        }
    });
    // SQLite: one cached INSERT per row (in the process, no round trip to save).
    EXPECT_EQ(writes, test_support::testing_postgresql() ? 1U : 100U);
    EXPECT_EQ(outbox_size(), 100);
}

TEST_F(OutboxTest, ASavepointRolledBackAfterAFlushDropsItsRows) {
    tocsin::atomic([&] {
        Item::objects().create({.name = "kept"});
        try {
            tocsin::atomic([&] {
                Item::objects().create({.name = "dropped"});
                remote::flush_outbox();  // written in the savepoint
                Item::objects().create({.name = "dropped too"});
                throw std::runtime_error("inner");
            });
        } catch (const std::runtime_error&) {
        }
        Item::objects().create({.name = "kept too"});
    });
    EXPECT_EQ(outbox_size(), 4);  // the kept items' two receivers each
    EXPECT_EQ(Item::objects().count(), 2);
    std::set<std::int64_t> pks;
    for (const auto& r : remote::outbox_rows()) {
        pks.insert(nlohmann::json::parse(r.payload).at("pk").get<std::int64_t>());
    }
    EXPECT_EQ(pks.size(), 2U);
    for (const std::int64_t pk : pks) {
        EXPECT_NE(Item::objects().filter(where(&Item::id) == pk).count(), 0) << pk;
    }
}

TEST_F(OutboxTest, ALongTransactionWritesItsRowsAsItGoes) {
    constexpr int items = 2100;  // 4,200 rows: more than wait in memory (4,096)
    tocsin::atomic([&] {
        for (int i = 0; i < items; ++i) {
            Item::objects().create({.name = "i"});
        }
        EXPECT_GT(outbox_size(), 0);
        EXPECT_LT(db::connection().pending_before_commit(), 4096U);
    });
    EXPECT_EQ(outbox_size(), 2 * items);
}

TEST_F(OutboxTest, OutsideATransactionTheRowIsWrittenAtOnce) {
    Item::objects().create({.name = "pen"});
    EXPECT_EQ(rows_in("pending"), 2);
}

TEST_F(OutboxTest, AMissingOutboxTableIsAClearErrorAndTheSaveIsRolledBack) {
    db::connection().execute_script("DROP TABLE tocsin_outbox");
    try {
        tocsin::atomic([&] { Item::objects().create({.name = "pen"}); });
        FAIL() << "the save did not fail";
    } catch (const db::ProgrammingError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("remote receiver 'outboxtest."), std::string::npos) << what;
        EXPECT_NE(what.find("create_outbox()"), std::string::npos) << what;
    }
    EXPECT_EQ(Item::objects().count(), 0);
}

TEST_F(OutboxTest, MigrateCreatesTheOutbox) {
    db::connection().execute_script("DROP TABLE tocsin_outbox");
    migrate();
    Item::objects().create({.name = "pen"});
    EXPECT_EQ(outbox_size(), 2);
}

TEST_F(OutboxTest, CountsListRetryAndPurge) {
    for (int i = 0; i < 3; ++i) {
        Item::objects().create({.name = "i" + std::to_string(i)});
    }
    auto& db = db::connection();
    db.execute_script(
        "UPDATE tocsin_outbox SET status = 'dead', last_error = 'boom' WHERE receiver = "
        "'outboxtest.audit' AND id IN (SELECT MIN(id) FROM tocsin_outbox WHERE receiver = "
        "'outboxtest.audit')");
    db.execute_script(
        "UPDATE tocsin_outbox SET status = 'done' WHERE receiver = 'outboxtest.welcome'");
    db.execute_script(
        "UPDATE tocsin_outbox SET last_error = 'flaky', attempts = 1 WHERE status = 'pending' "
        "AND id = (SELECT MAX(id) FROM tocsin_outbox)");
    const auto counts = remote::outbox_counts();
    ASSERT_EQ(counts.size(), 2U);
    EXPECT_EQ(counts[0].queue, "audit");
    EXPECT_EQ(counts[0].receiver, "outboxtest.audit");
    EXPECT_EQ(counts[0].pending, 2);
    EXPECT_EQ(counts[0].failed, 1);
    EXPECT_EQ(counts[0].dead, 1);
    EXPECT_EQ(counts[1].queue, "mail");
    EXPECT_EQ(counts[1].done, 3);

    const auto dead = remote::outbox_rows({.status = remote::Status::dead});
    ASSERT_EQ(dead.size(), 1U);
    EXPECT_EQ(dead[0].last_error, "boom");

    EXPECT_THROW((void)remote::retry_dead({.status = remote::Status::done}), std::invalid_argument);
    EXPECT_EQ(remote::retry_dead({.queue = "mail"}), 0);
    EXPECT_EQ(remote::retry_dead(), 1);
    EXPECT_EQ(rows_in("dead"), 0);
    EXPECT_EQ(scalar("SELECT attempts FROM tocsin_outbox WHERE id = " + std::to_string(dead[0].id)),
              0);

    EXPECT_EQ(remote::purge({.queue = "audit"}), 0);  // nothing done there
    EXPECT_EQ(remote::purge(), 3);
    EXPECT_EQ(outbox_size(), 3);
    EXPECT_THROW((void)remote::status_from_string("lost"), std::invalid_argument);
}

}  // namespace outbox_test
}  // namespace
}  // namespace tocsin::test::remote_test
