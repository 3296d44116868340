// The outbox table and the rows a send writes: one per remote receiver, in the sender's
// transaction (rolled back with it; a transaction's sends to one receiver packed in one row), in
// its own write outside one; nothing runs in the sender.
#include <gtest/gtest.h>

#include <future>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
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
    /// Creates @p n items in one transaction: one row per receiver, of n events.
    static void create_items_in_one_transaction(int n) {
        tocsin::atomic([&] {
            for (int i = 0; i < n; ++i) {
                Item::objects().create({.name = "i"});
            }
        });
    }
    /// Creates @p n items and writes their outbox rows with SQL as a version before packed rows
    /// did: one row per (send, receiver), without the events column.
    static void insert_rows_as_before(int n) {
        auto& database = db::connection();
        for (int i = 0; i < n; ++i) {
            // The item itself with SQL too: no send writes to the old table.
            database.execute("INSERT INTO outboxtest_item (name, n) VALUES ('before', 0)");
            const std::int64_t pk =
                database.query_value("SELECT MAX(id) FROM outboxtest_item")->as_integer();
            for (const auto& [receiver, queue] :
                 {std::pair<std::string, std::string>{"outboxtest.welcome", "mail"},
                  std::pair<std::string, std::string>{"outboxtest.audit", "audit"}}) {
                database.execute(
                    "INSERT INTO tocsin_outbox (queue, signal, receiver, sender, payload, "
                    "idempotency_key, created_at, available_at) VALUES ('" +
                    queue + "', 'post_save', '" + receiver +
                    "', 'outboxtest.Item', '{\"pk\":" + std::to_string(pk) +
                    ",\"created\":true,\"raw\":false,\"update_fields\":null}', '" + receiver +
                    std::to_string(pk) + "', 1, 1)");
            }
        }
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

/// PostgreSQL: whether the server can compress with lz4 (14 and later, built with it).
bool server_has_lz4() {
    return !db::connection()
                .query(
                    "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' "
                    "= ANY(enumvals)")
                .empty();
}

/// PostgreSQL: how the outbox's payload column compresses, as pg_attribute holds it ("l": lz4,
/// "p": pglz, "": the server's default_toast_compression).
std::string payload_compression() {
    return db::connection()
        .query_value(
            "SELECT CAST(attcompression AS text) FROM pg_attribute WHERE attrelid = "
            "'tocsin_outbox'::regclass AND attname = 'payload'")
        ->as_text();
}

/// PostgreSQL: how many outbox rows have a payload compressed with @p method ("lz4", "pglz").
std::int64_t payloads_compressed_with(const std::string& method) {
    return db::connection()
        .query_value("SELECT count(*) FROM tocsin_outbox WHERE pg_column_compression(payload) = $1",
                     {db::Value(method)})
        ->as_integer();
}

// A packed row's payload is past the TOAST threshold (2 KB): PostgreSQL compresses it with lz4,
// cheaper to write than its default pglz (benchmarks.md, session 14).
TEST_F(OutboxTest, OnPostgresqlThePayloadsAreCompressedWithLz4) {
    if (!test_support::testing_postgresql()) {
        GTEST_SKIP() << "PostgreSQL only (TOAST compression)";
    }
    if (!server_has_lz4()) {
        GTEST_SKIP() << "this PostgreSQL server has no lz4";
    }
    EXPECT_EQ(payload_compression(), "l");
    create_items_in_one_transaction(100);  // a row of 100 events per receiver: ~6 KB each
    EXPECT_EQ(outbox_size(), 2);
    EXPECT_EQ(payloads_compressed_with("lz4"), 2);
    EXPECT_EQ(payloads_compressed_with("pglz"), 0);
}

// An outbox of an earlier version compresses with the server's default (pglz): create_outbox()
// sets lz4 for the payloads written from then on; the rows written before are still read.
TEST_F(OutboxTest, OnPostgresqlAnOutboxCompressingWithPglzIsUpgradedToLz4) {
    if (!test_support::testing_postgresql()) {
        GTEST_SKIP() << "PostgreSQL only (TOAST compression)";
    }
    if (!server_has_lz4()) {
        GTEST_SKIP() << "this PostgreSQL server has no lz4";
    }
    db::connection().execute_script(
        "ALTER TABLE tocsin_outbox ALTER COLUMN payload SET COMPRESSION pglz");
    create_items_in_one_transaction(100);
    EXPECT_EQ(payloads_compressed_with("pglz"), 2);

    remote::create_outbox();
    EXPECT_EQ(payload_compression(), "l");
    create_items_in_one_transaction(100);
    EXPECT_EQ(payloads_compressed_with("pglz"), 2);
    EXPECT_EQ(payloads_compressed_with("lz4"), 2);
    remote::Worker worker;
    EXPECT_EQ(worker.drain(), 400U);
    EXPECT_EQ(effects(), 400);
    EXPECT_EQ(events_in("done"), 400);
}

// A worker starting (create_outbox()) while a producer's transaction that wrote to the outbox is
// still open neither waits for it nor holds back the producers behind it: an outbox already
// current takes no lock on the table (DDL would wait for the open transaction, and every new
// writer would queue behind the DDL).
TEST_F(OutboxTest, OnPostgresqlCreatingACurrentOutboxWaitsForNoOpenTransaction) {
    if (!test_support::testing_postgresql()) {
        GTEST_SKIP() << "PostgreSQL only (SQLite has one writer at a time)";
    }
    std::promise<void> inserted;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::thread producer([&] {
        db::atomic([&] {
            db::connection().execute_script(
                "INSERT INTO tocsin_outbox (queue, signal, receiver, sender, payload, "
                "idempotency_key, created_at, available_at) VALUES ('mail', 's', 'r', 'x', '{}', "
                "'k', 0, 0)");
            inserted.set_value();
            released.wait();
        });
    });
    inserted.get_future().wait();
    // Blocked, the DDL would fail after 2 s instead of waiting for the producer.
    db::connection().execute_script("SET lock_timeout = '2s'");
    EXPECT_NO_THROW(remote::create_outbox());
    db::connection().execute_script("SET lock_timeout = 0");
    release.set_value();
    producer.join();
    EXPECT_EQ(outbox_size(), 1);
}

/// The outbox's indexes (SQLite's automatic ones included), by name.
std::set<std::string> outbox_indexes() {
    std::set<std::string> out;
    const bool pg = test_support::testing_postgresql();
    for (const auto& row : db::connection().query(
             pg ? "SELECT indexname FROM pg_indexes WHERE tablename = 'tocsin_outbox' AND "
                  "schemaname = current_schema()"
                : "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = "
                  "'tocsin_outbox'")) {
        out.insert(row.at(0).as_text());
    }
    return out;
}

std::set<std::string> expected_indexes() {
    std::set<std::string> out{"tocsin_outbox_pending", "tocsin_outbox_pending_queue",
                              "tocsin_outbox_ordered"};
    if (test_support::testing_postgresql()) {
        out.insert("tocsin_outbox_pkey");
    }
    return out;
}

TEST_F(OutboxTest, TheOutboxIndexesItsPendingRowsOnlyNotTheKeyNorTheQueue) {
    // A row costs its primary key and its pending entries (id; queue, id): no unique index on
    // the idempotency key (128 random bits), no (queue, receiver, status) index.
    EXPECT_EQ(outbox_indexes(), expected_indexes());
}

// Each index is both made and looked for (PostgreSQL's catalog check, which spares a current
// outbox the DDL): an outbox lacking any one of them, or with a dropped one back, gets its
// indexes again.
TEST_F(OutboxTest, CreateOutboxMakesAgainAnyOneIndexAnOutboxLacks) {
    auto& database = db::connection();
    for (const char* name :
         {"tocsin_outbox_pending", "tocsin_outbox_pending_queue", "tocsin_outbox_ordered"}) {
        SCOPED_TRACE(name);
        database.execute_script(std::string("DROP INDEX ") + name);
        ASSERT_NE(outbox_indexes(), expected_indexes());
        remote::create_outbox();
        EXPECT_EQ(outbox_indexes(), expected_indexes());
    }
    database.execute_script("CREATE INDEX tocsin_outbox_queue ON tocsin_outbox (queue)");
    remote::create_outbox();
    EXPECT_EQ(outbox_indexes(), expected_indexes());
}

// The CREATE TABLE of an outbox as sessions 11 and 12 made it (before the events column), on the
// engine under test; @p key_constraint follows the idempotency key's NOT NULL (" UNIQUE" in 11).
std::string old_outbox_table(const std::string& key_constraint) {
    const bool pg = test_support::testing_postgresql();
    const std::string id = pg ? "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
                              : "INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT";
    const std::string big = pg ? "BIGINT" : "INTEGER";
    return "CREATE TABLE tocsin_outbox (id " + id +
           ", queue TEXT NOT NULL, signal TEXT NOT NULL, receiver TEXT NOT NULL, sender TEXT NOT "
           "NULL, payload TEXT NOT NULL, idempotency_key TEXT NOT NULL" +
           key_constraint + ", status TEXT NOT NULL DEFAULT 'pending', attempts " + big +
           " NOT NULL DEFAULT 0, created_at " + big + " NOT NULL, available_at " + big +
           " NOT NULL, locked_by TEXT, locked_until " + big + ", finished_at " + big +
           ", last_error TEXT, ordering_key TEXT)" + (pg ? " WITH (fillfactor = 50)" : "") + ";\n";
}

TEST_F(OutboxTest, AnOutboxOfTheSchemaBeforeSession12IsUpgradedAndItsRowsDelivered) {
    auto& database = db::connection();
    // The outbox as 0.2.0's session 11 made it, with the same rows a send writes.
    database.execute_script("DROP TABLE tocsin_outbox");
    database.execute_script(
        old_outbox_table(" UNIQUE") +
        "CREATE INDEX tocsin_outbox_pending ON tocsin_outbox (id) WHERE status = 'pending';\n"
        "CREATE INDEX tocsin_outbox_queue ON tocsin_outbox (queue, receiver, status);\n"
        "CREATE INDEX tocsin_outbox_ordered ON tocsin_outbox (ordering_key, id) WHERE status = "
        "'pending' AND ordering_key IS NOT NULL");
    ASSERT_NE(outbox_indexes(), expected_indexes());
    insert_rows_as_before(3);
    // The last row is gone before the upgrade: its id is not given again after it.
    database.execute_script(
        "DELETE FROM tocsin_outbox WHERE id = (SELECT MAX(id) FROM "
        "tocsin_outbox)");
    // Read with SQL: outbox_rows() reads the events column, which comes with the upgrade.
    struct Old {
        std::int64_t id;
        std::string idempotency_key;
        std::string payload;
    };
    std::vector<Old> before;
    for (const auto& row :
         database.query("SELECT id, idempotency_key, payload FROM tocsin_outbox ORDER BY id")) {
        before.push_back({row.at(0).as_integer(), row.at(1).as_text(), row.at(2).as_text()});
    }
    ASSERT_EQ(before.size(), 5U);

    remote::create_outbox();
    EXPECT_EQ(outbox_indexes(), expected_indexes());
    if (test_support::testing_postgresql() && server_has_lz4()) {
        EXPECT_EQ(payload_compression(), "l");
    }
    const auto after = remote::outbox_rows();
    ASSERT_EQ(after.size(), before.size());
    for (std::size_t i = 0; i < after.size(); ++i) {
        EXPECT_EQ(after[i].id, before[i].id);
        EXPECT_EQ(after[i].idempotency_key, before[i].idempotency_key);
        EXPECT_EQ(after[i].payload, before[i].payload);
        EXPECT_EQ(after[i].status, remote::Status::pending);
        EXPECT_EQ(after[i].events, 1);
    }
    remote::create_outbox();  // once upgraded, nothing more to do
    EXPECT_EQ(outbox_indexes(), expected_indexes());

    // The rows written before are delivered; a row written after gets a new id.
    Item::objects().create({.name = "after"});
    const auto newest = remote::outbox_rows();
    ASSERT_EQ(newest.size(), 7U);
    EXPECT_GT(newest[5].id, before.back().id + 1);
    remote::Worker worker;
    EXPECT_EQ(worker.drain(), 7U);
    EXPECT_EQ(effects(), 7);
    EXPECT_EQ(events_in("done"), 7);
}

TEST_F(OutboxTest, AnOutboxOfTheSchemaBeforeSession13IsUpgradedAndItsRowsDelivered) {
    auto& database = db::connection();
    // The outbox as session 12 made it: no events column.
    database.execute_script("DROP TABLE tocsin_outbox");
    database.execute_script(
        old_outbox_table("") +
        "CREATE INDEX tocsin_outbox_pending ON tocsin_outbox (id) WHERE status = 'pending';\n"
        "CREATE INDEX tocsin_outbox_pending_queue ON tocsin_outbox (queue, id) WHERE status = "
        "'pending';\n"
        "CREATE INDEX tocsin_outbox_ordered ON tocsin_outbox (ordering_key, id) WHERE status = "
        "'pending' AND ordering_key IS NOT NULL");
    ASSERT_EQ(outbox_indexes(), expected_indexes());
    insert_rows_as_before(3);
    // A send of this version cannot write to it (no events column) until it is upgraded.
    EXPECT_THROW(tocsin::atomic([] { Item::objects().create({.name = "too early"}); }),
                 db::ProgrammingError);

    remote::create_outbox();
    remote::create_outbox();  // once upgraded, nothing more to do
    if (test_support::testing_postgresql() && server_has_lz4()) {
        EXPECT_EQ(payload_compression(), "l");
    }
    const auto rows = remote::outbox_rows();
    ASSERT_EQ(rows.size(), 6U);
    for (const auto& row : rows) {
        EXPECT_EQ(row.events, 1);
        EXPECT_EQ(row.status, remote::Status::pending);
    }
    EXPECT_EQ(outbox_indexes(), expected_indexes());
    // Rows written before are delivered beside a packed row written after.
    create_items_in_one_transaction(2);
    EXPECT_EQ(outbox_size(), 8);
    EXPECT_EQ(outbox_events(), 10);
    remote::Worker worker;
    EXPECT_EQ(worker.drain(), 10U);
    EXPECT_EQ(effects(), 10);
    EXPECT_EQ(events_in("done"), 10);
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
        EXPECT_EQ(r.events, 1);
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

TEST_F(OutboxTest, ATransactionsEventsAreWrittenJustBeforeItsCommitPackedInSendOrder) {
    std::vector<std::int64_t> items;
    tocsin::atomic([&] {
        for (int i = 0; i < 3; ++i) {
            items.push_back(*Item::objects().create({.name = "i"}).id);
            tocsin::atomic([&] { items.push_back(*Item::objects().create({.name = "j"}).id); });
        }
        EXPECT_EQ(outbox_size(), 0);  // SQL in the transaction does not see them yet
    });
    // One row per receiver holding its six events, in the order of the sends.
    const auto rows = remote::outbox_rows();
    ASSERT_EQ(rows.size(), 2U);
    std::set<std::string> keys;
    for (const auto& row : rows) {
        EXPECT_EQ(row.events, 6);
        keys.insert(row.idempotency_key);
        const auto payload = nlohmann::json::parse(row.payload);
        ASSERT_TRUE(payload.is_array());
        ASSERT_EQ(payload.size(), items.size());
        for (std::size_t i = 0; i < items.size(); ++i) {
            EXPECT_EQ(payload[i].at("pk").get<std::int64_t>(), items[i]);
            EXPECT_TRUE(payload[i].at("created").get<bool>());
        }
    }
    EXPECT_EQ(keys.size(), 2U);
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
    // SQLite: one cached INSERT per row (in the process, no round trip to save): one per
    // receiver, each holding 50 events.
    EXPECT_EQ(writes, test_support::testing_postgresql() ? 1U : 2U);
    EXPECT_EQ(outbox_size(), 2);
    EXPECT_EQ(outbox_events(), 100);
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
    EXPECT_EQ(outbox_events(), 4);  // the kept items' two receivers each
    EXPECT_EQ(Item::objects().count(), 2);
    std::set<std::int64_t> pks;
    for (const auto& r : remote::outbox_rows()) {
        const auto payload = nlohmann::json::parse(r.payload);
        if (r.events == 1) {
            pks.insert(payload.at("pk").get<std::int64_t>());
            continue;
        }
        for (const auto& event : payload) {
            pks.insert(event.at("pk").get<std::int64_t>());
        }
    }
    EXPECT_EQ(pks.size(), 2U);
    for (const std::int64_t pk : pks) {
        EXPECT_NE(Item::objects().filter(where(&Item::id) == pk).count(), 0) << pk;
    }
}

// In manual transaction mode a before_commit callback that throws leaves the transaction open
// (no atomic block has to roll back): the rows gathered before it wait for their write, which
// writes them once, even after a savepoint in which it wrote them rolled back (the write runs
// again; the sends' callbacks run again too, and must not add their rows a second time).
TEST_F(OutboxTest, InManualTransactionModeAFailedFlushAndARolledBackSavepointLoseNoRow) {
    auto& database = db::connection();
    database.set_autocommit(false);
    Item::objects().create({.name = "a"});
    bool thrown = false;
    database.before_commit([&thrown] {
        if (!thrown) {
            thrown = true;
            throw std::runtime_error("once");
        }
    });
    Item::objects().create({.name = "b"});
    // a's rows gathered (their write waits), b's not yet.
    EXPECT_THROW(remote::flush_outbox(), std::runtime_error);
    try {
        tocsin::atomic([&] {
            remote::flush_outbox();             // a's and b's rows written in the savepoint...
            throw std::runtime_error("inner");  // ...and undone
        });
    } catch (const std::runtime_error&) {
    }
    database.commit();
    database.set_autocommit(true);
    EXPECT_EQ(outbox_events(), 4);  // a and b, to each receiver, once
    EXPECT_EQ(Item::objects().count(), 2);
    remote::Worker worker;
    EXPECT_EQ(worker.drain(), 4U);
    EXPECT_EQ(effects(), 4);
}

// On SQLite a transaction's rows are written one INSERT each: a write failing part-way (here a
// trigger refuses the second row) must leave none of them. The write waits to run again, and in
// manual transaction mode the transaction goes on: run again at the commit, it wrote the rows
// left before twice. (PostgreSQL writes them with one statement, undone as a whole, and the
// failed statement aborts the transaction: only a rollback may follow.)
TEST_F(OutboxTest, OnSqliteAWriteFailingPartWayLeavesNoRowAndTheCommitWritesEachOnce) {
    if (test_support::testing_postgresql()) {
        GTEST_SKIP() << "SQLite only: PostgreSQL writes the rows with one statement";
    }
    auto& database = db::connection();
    database.execute_script(
        "CREATE TRIGGER outboxtest_refuse BEFORE INSERT ON tocsin_outbox WHEN (SELECT COUNT(*) "
        "FROM tocsin_outbox) >= 1 BEGIN SELECT RAISE(ABORT, 'refused'); END");
    database.set_autocommit(false);
    Item::objects().create({.name = "a"});
    Item::objects().create({.name = "b"});
    // Two rows (one per receiver, each of two events): the second refused.
    EXPECT_THROW(remote::flush_outbox(), db::DatabaseError);
    EXPECT_EQ(outbox_size(), 0);  // the first undone with it
    database.execute_script("DROP TRIGGER outboxtest_refuse");
    database.commit();
    database.set_autocommit(true);
    EXPECT_EQ(outbox_size(), 2);
    EXPECT_EQ(outbox_events(), 4);  // a and b, to each receiver, once
    EXPECT_EQ(Item::objects().count(), 2);
    remote::Worker worker;
    EXPECT_EQ(worker.drain(), 4U);
    EXPECT_EQ(effects(), 4);
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
    EXPECT_EQ(outbox_events(), 2 * items);
    EXPECT_EQ(outbox_size(), 4);  // each write packs its events: two writes, two receivers
}

TEST_F(OutboxTest, OutsideATransactionTheRowIsWrittenAtOnce) {
    Item::objects().create({.name = "pen"});
    EXPECT_EQ(events_in("pending"), 2);
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
    EXPECT_EQ(events_in("dead"), 0);
    EXPECT_EQ(scalar("SELECT attempts FROM tocsin_outbox WHERE id = " + std::to_string(dead[0].id)),
              0);

    EXPECT_EQ(remote::purge({.queue = "audit"}), 0);  // nothing done there
    EXPECT_EQ(remote::purge(), 3);
    EXPECT_EQ(outbox_size(), 3);
    EXPECT_THROW((void)remote::status_from_string("lost"), std::invalid_argument);
}

TEST_F(OutboxTest, CountsRetryAndPurgeCountEventsOfPackedRows) {
    create_items_in_one_transaction(4);
    ASSERT_EQ(outbox_size(), 2);
    auto counts = remote::outbox_counts();
    ASSERT_EQ(counts.size(), 2U);
    EXPECT_EQ(counts[0].pending, 4);
    EXPECT_EQ(counts[1].pending, 4);
    const auto rows = remote::outbox_rows({.receiver = "outboxtest.audit"});
    ASSERT_EQ(rows.size(), 1U);
    EXPECT_EQ(rows[0].events, 4);
    auto& db = db::connection();
    db.execute_script(
        "UPDATE tocsin_outbox SET status = 'dead', last_error = 'boom' WHERE receiver = "
        "'outboxtest.audit'");
    db.execute_script(
        "UPDATE tocsin_outbox SET status = 'done' WHERE receiver = 'outboxtest.welcome'");
    counts = remote::outbox_counts();
    EXPECT_EQ(counts[0].dead, 4);
    EXPECT_EQ(counts[1].done, 4);
    EXPECT_EQ(remote::retry_dead(), 4);
    EXPECT_EQ(remote::outbox_counts()[0].pending, 4);
    EXPECT_EQ(remote::outbox_counts()[0].failed, 4);
    EXPECT_EQ(remote::purge(), 4);
    EXPECT_EQ(outbox_size(), 1);
}

}  // namespace outbox_test
}  // namespace
}  // namespace tocsin::test::remote_test
