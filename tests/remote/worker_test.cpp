// The worker: claims the outbox rows of its queues, runs each receiver once in a transaction that
// also marks the row done, loads model instances fresh, skips removed ones, retries failures
// with backoff, buries what always fails, takes over claims whose visibility timeout expired,
// rolls back a receiver whose claim was taken over, runs in threads until stopped, and (on
// PostgreSQL) is woken by the NOTIFY of a send.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "remote_support.hpp"

namespace tocsin::test::remote_test {
namespace {
namespace worker_test {

using namespace std::chrono_literals;

void apply(Item& item, const SaveEvent&) {
    apply_effect("apply", item);
}
void audit(Item& item, const SaveEvent&) {
    apply_effect("audit", item);
}
void flaky(Item& item, const SaveEvent&) {
    const remote::Delivery* d = remote::current_delivery();
    if (d->attempt <= 2) {
        throw std::runtime_error("flaky at attempt " + std::to_string(d->attempt));
    }
    apply_effect("flaky", item);
}
void broken(Item& item, const SaveEvent&) {
    apply_effect("broken", item);  // rolled back with the failure
    throw std::runtime_error("broken receiver");
}
void thief(Item& item, const SaveEvent&) {
    apply_effect("thief", item);
    // What another worker's claim does once this one's visibility timeout expired.
    db::connection().execute("UPDATE tocsin_outbox SET locked_by = 'another worker' WHERE id = " +
                             std::to_string(remote::current_delivery()->id));
}

// Creates the items "i0" .. "i<n-1>", each in its own write (one outbox row of one event each
// per remote receiver).
void create_items(int n) {
    for (int i = 0; i < n; ++i) {
        Item::objects().create({.name = "i" + std::to_string(i)});
    }
}

// Creates the items "i0" .. "i<n-1>" in one transaction (one outbox row per remote receiver,
// packed: n events).
void create_items_packed(int n) {
    tocsin::atomic([n] {
        for (int i = 0; i < n; ++i) {
            Item::objects().create({.name = "i" + std::to_string(i)});
        }
    });
}

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

class WorkerTest : public RemoteTest {
  protected:
    template <class F>
    void connect(F f, std::string uid, std::string queue, remote::RetryPolicy retry = {}) {
        connections.emplace_back(remote::connect<Item>(
            post_save, f,
            {.queue = std::move(queue), .dispatch_uid = std::move(uid), .retry = retry}));
    }
    /// Drains until @p done holds or 10 s passed.
    template <class Done>
    static bool drain_until(remote::Worker& worker, Done done) {
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) {
                return false;
            }
            worker.drain();
            std::this_thread::sleep_for(2ms);
        }
        return true;
    }
};

/// What another worker sees of the outbox while a batch runs (WorkerOptions::lock_claims): read
/// on a connection of its own (another thread's), the rows it could claim (SKIP LOCKED) and the
/// attempts written so far. Written by probe_then_apply, read by the tests.
struct Probe {
    std::mutex mutex;
    std::vector<std::int64_t> claimable;  ///< per probe, rows another claim would get
    std::vector<std::int64_t> attempts;   ///< per probe, the sum of the rows' attempts
    std::set<std::string> failing;        ///< item names whose receiver throws at attempt 1
} probe;

void probe_then_apply(Item& item, const SaveEvent&) {
    std::int64_t claimable = -1;
    std::int64_t attempts = -1;
    std::thread other([&] {
        db::Database& db = db::connection();
        db.execute_script("BEGIN");
        claimable = static_cast<std::int64_t>(
            db.query("SELECT id FROM tocsin_outbox WHERE status = 'pending' FOR UPDATE SKIP "
                     "LOCKED")
                .size());
        attempts = db.query_value("SELECT SUM(attempts) FROM tocsin_outbox")->as_integer();
        db.execute_script("ROLLBACK");
        db::close_all();
    });
    other.join();
    bool fail = false;
    {
        std::lock_guard lock(probe.mutex);
        probe.claimable.push_back(claimable);
        probe.attempts.push_back(attempts);
        fail = probe.failing.count(item.name) > 0;
    }
    if (fail && remote::current_delivery()->attempt == 1) {
        throw std::runtime_error("fails at attempt 1");
    }
    apply_effect("apply", item);
}

TEST_F(WorkerTest, DrainRunsEachReceiverOnceAndMarksItsRowDone) {
    connect(&apply, "outboxtest.apply", "q");
    create_items(5);
    remote::Worker worker;
    EXPECT_EQ(worker.drain(), 5U);
    EXPECT_EQ(effects(), 5);
    EXPECT_EQ(events_in("done"), 5);
    EXPECT_EQ(worker.stats().done, 5U);
    EXPECT_EQ(worker.stats().claimed, 5U);
    EXPECT_EQ(worker.drain(), 0U);
    for (const auto& row : remote::outbox_rows()) {
        EXPECT_EQ(row.attempts, 1);
        EXPECT_FALSE(row.locked_by);
        EXPECT_TRUE(row.finished_at);
        const Effect e = Effect::objects().get(where(&Effect::idempotency_key) ==
                                               row.idempotency_key);  // the row's key was given
        EXPECT_EQ(e.attempt, 1);
    }
}

TEST_F(WorkerTest, TheInstanceIsLoadedFreshWhenTheReceiverRuns) {
    connect(&apply, "outboxtest.apply", "q");
    Item item = Item::objects().create({.name = "old"});
    Item::objects().filter(where(&Item::name) == "old").update({assign(&Item::name, "new")});
    remote::Worker worker;
    worker.drain();
    EXPECT_EQ(Effect::objects().get().seen_name, "new");
}

TEST_F(WorkerTest, ARemovedInstanceIsSkippedSayingWhy) {
    connect(&apply, "outboxtest.apply", "q");
    Item item = Item::objects().create({.name = "gone"});
    const auto pk = *item.id;
    item.remove();
    remote::Worker worker;
    worker.drain();
    EXPECT_EQ(effects(), 0);
    EXPECT_EQ(worker.stats().skipped, 1U);
    const auto rows = remote::outbox_rows();
    ASSERT_EQ(rows.size(), 1U);
    EXPECT_EQ(rows[0].status, remote::Status::skipped);
    EXPECT_EQ(rows[0].last_error, "outboxtest.Item pk=" + std::to_string(pk) +
                                      " no longer exists (removed after the send)");
}

TEST_F(WorkerTest, AFailingReceiverIsRetriedAfterItsBackoffUntilItSucceeds) {
    connect(&flaky, "outboxtest.flaky", "q", {.max_attempts = 5, .delay = 200ms});
    Item::objects().create({.name = "x"});
    remote::Worker worker;
    EXPECT_EQ(worker.drain(), 1U);
    auto row = remote::outbox_rows().at(0);
    EXPECT_EQ(row.status, remote::Status::pending);
    EXPECT_EQ(row.last_error, "flaky at attempt 1");
    EXPECT_FALSE(row.locked_by);
    // The backoff: 200 ms less a jitter of up to half.
    EXPECT_GE(row.available_at - now_us(), 50'000);
    EXPECT_LE(row.available_at - now_us(), 200'000);
    EXPECT_EQ(worker.drain(), 0U);  // not before its time
    ASSERT_TRUE(drain_until(worker, [] { return events_in("done") == 1; }));
    row = remote::outbox_rows().at(0);
    EXPECT_EQ(row.attempts, 3);
    EXPECT_FALSE(row.last_error);
    EXPECT_EQ(effects(), 1);
    EXPECT_EQ(Effect::objects().get().attempt, 3);
    EXPECT_EQ(worker.stats().failed, 2U);
    EXPECT_EQ(worker.stats().done, 1U);
}

TEST_F(WorkerTest, AnAlwaysFailingReceiverIsDeadAfterMaxAttemptsKeepingItsLastError) {
    connect(&broken, "outboxtest.broken", "q", {.max_attempts = 3, .delay = 1ms});
    connect(&apply, "outboxtest.apply", "q");
    Item::objects().create({.name = "x"});
    remote::Worker worker;
    ASSERT_TRUE(drain_until(worker, [] { return events_in("dead") == 1; }));
    const auto dead = remote::outbox_rows({.status = remote::Status::dead});
    ASSERT_EQ(dead.size(), 1U);
    EXPECT_EQ(dead[0].receiver, "outboxtest.broken");
    EXPECT_EQ(dead[0].attempts, 3);
    EXPECT_EQ(dead[0].last_error, "broken receiver");
    EXPECT_TRUE(dead[0].finished_at);
    // Its writes were rolled back each time; the other receiver's effect is there once.
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM outboxtest_effect WHERE key LIKE 'broken:%'"), 0);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM outboxtest_effect WHERE key LIKE 'apply:%'"), 1);
    EXPECT_EQ(worker.stats().failed, 3U);
    EXPECT_EQ(worker.stats().dead, 1U);

    EXPECT_EQ(remote::retry_dead(), 1);  // manage outbox --retry
    const auto retried = remote::outbox_rows({.receiver = "outboxtest.broken"}).at(0);
    EXPECT_EQ(retried.status, remote::Status::pending);
    EXPECT_EQ(retried.attempts, 0);
    // It runs again. Its retry waits only 1 ms: on a slow machine (sanitizers) the same drain may
    // take it once more, so count the attempts the worker made rather than expect one.
    EXPECT_GE(worker.drain(), 1U);
    const auto after = remote::outbox_rows({.receiver = "outboxtest.broken"}).at(0);
    EXPECT_GE(after.attempts, 1);
    EXPECT_EQ(worker.stats().failed, 3U + static_cast<std::uint64_t>(after.attempts));
}

TEST_F(WorkerTest, AClaimWhoseVisibilityTimeoutExpiredIsTakenAgain) {
    connect(&apply, "outboxtest.apply", "q");
    Item::objects().create({.name = "x"});
    auto& db = db::connection();
    // A worker claimed it an hour ago and died: its claim holds until locked_until.
    db.execute("UPDATE tocsin_outbox SET locked_by = 'dead worker', attempts = 1, locked_until = " +
               std::to_string(now_us() + 3'600'000'000));
    remote::Worker worker;
    EXPECT_EQ(worker.drain(), 0U);  // still held
    db.execute("UPDATE tocsin_outbox SET locked_until = " + std::to_string(now_us() - 1));
    EXPECT_EQ(worker.drain(), 1U);
    const auto row = remote::outbox_rows().at(0);
    EXPECT_EQ(row.status, remote::Status::done);
    EXPECT_EQ(row.attempts, 2);
    EXPECT_EQ(effects(), 1);
}

TEST_F(WorkerTest, TheLastAttemptOfAWorkerThatDiedMakesTheRowDead) {
    connect(&apply, "outboxtest.apply", "q", {.max_attempts = 2});
    Item::objects().create({.name = "x"});
    db::connection().execute(
        "UPDATE tocsin_outbox SET locked_by = 'dead worker', attempts = 2, locked_until = " +
        std::to_string(now_us() - 1));
    remote::Worker worker;
    EXPECT_EQ(worker.drain(), 1U);
    const auto row = remote::outbox_rows().at(0);
    EXPECT_EQ(row.status, remote::Status::dead);
    EXPECT_EQ(row.last_error,
              "attempt 3 of 2 was claimed but its worker stopped before finishing (it died, or "
              "ran longer than the visibility timeout)");
    EXPECT_EQ(effects(), 0);
}

TEST_F(WorkerTest, AReceiverWhoseClaimWasTakenOverIsRolledBack) {
    connect(&thief, "outboxtest.thief", "q");
    Item::objects().create({.name = "x"});
    remote::Worker worker;
    EXPECT_EQ(worker.drain(), 1U);
    EXPECT_EQ(worker.stats().lost, 1U);
    EXPECT_EQ(worker.stats().done, 0U);
    EXPECT_EQ(effects(), 0);
    const auto row = remote::outbox_rows().at(0);
    EXPECT_EQ(row.status, remote::Status::pending);
    EXPECT_TRUE(row.locked_by);  // still this worker's claim, until its visibility timeout
}

TEST_F(WorkerTest, WithDeleteDoneARowGoesInTheTransactionOfItsEffect) {
    connect(&apply, "outboxtest.apply", "q");
    create_items(5);
    remote::Worker worker({.delete_done = true});
    EXPECT_EQ(worker.drain(), 5U);
    EXPECT_EQ(effects(), 5);
    EXPECT_EQ(outbox_size(), 0);
    EXPECT_EQ(worker.stats().done, 5U);
    EXPECT_EQ(worker.drain(), 0U);
}

TEST_F(WorkerTest, WithDeleteDoneAFailedRowStaysAndItsBatchMatesGo) {
    connect(&apply, "outboxtest.apply", "q");
    connect(&broken, "outboxtest.broken", "q");
    tocsin::atomic([] {
        Item::objects().create({.name = "a"});
        Item::objects().create({.name = "b"});
    });
    remote::Worker worker({.delete_done = true});
    EXPECT_EQ(worker.drain(), 4U);  // the batch fails at once, then runs row by row
    EXPECT_EQ(worker.stats().done, 2U);
    EXPECT_EQ(worker.stats().failed, 2U);
    EXPECT_EQ(effects(), 2);  // apply's; broken's rolled back
    const auto rows = remote::outbox_rows();
    ASSERT_EQ(rows.size(), 2U);
    for (const auto& row : rows) {
        EXPECT_EQ(row.receiver, "outboxtest.broken");
        EXPECT_EQ(row.status, remote::Status::pending);
        EXPECT_EQ(row.last_error, "broken receiver");
    }
}

TEST_F(WorkerTest, WithDeleteDoneAReceiverWhoseClaimWasTakenOverIsRolledBackAndItsRowKept) {
    connect(&thief, "outboxtest.thief", "q");
    Item::objects().create({.name = "x"});
    remote::Worker worker({.delete_done = true});
    EXPECT_EQ(worker.drain(), 1U);
    EXPECT_EQ(worker.stats().lost, 1U);
    EXPECT_EQ(worker.stats().done, 0U);
    EXPECT_EQ(effects(), 0);
    ASSERT_EQ(outbox_size(), 1);
    EXPECT_EQ(remote::outbox_rows().at(0).status, remote::Status::pending);
}

TEST_F(WorkerTest, ARowWhoseReceiverThisProgramLacksFails) {
    connect(&apply, "outboxtest.apply", "q");
    Item::objects().create({.name = "x"});
    remote::detail::clear_receivers();  // a worker built without it
    remote::Worker worker;
    worker.drain();
    const auto row = remote::outbox_rows().at(0);
    EXPECT_EQ(row.status, remote::Status::pending);
    EXPECT_EQ(row.last_error,
              "no remote receiver 'outboxtest.apply' (signal post_save) is registered in this "
              "program: remote::connect it before the worker runs");
    EXPECT_EQ(effects(), 0);
}

TEST_F(WorkerTest, AWorkerServesItsQueuesOnly) {
    connect(&apply, "outboxtest.apply", "mail");
    connect(&audit, "outboxtest.audit", "audit");
    Item::objects().create({.name = "x"});
    remote::Worker mail({.queues = {"mail"}});
    EXPECT_EQ(mail.drain(), 1U);
    EXPECT_EQ(events_in("pending"), 1);
    remote::Worker all;
    EXPECT_EQ(all.drain(), 1U);
    EXPECT_EQ(effects(), 2);
}

TEST_F(WorkerTest, ThreadsRunEveryEventOnceAndStopGracefully) {
    connect(&apply, "outboxtest.apply", "q");
    remote::Worker worker({.concurrency = 2, .batch_size = 20, .poll_interval = 20ms});
    std::thread runner([&] { worker.run(); });
    constexpr int events = 300;
    for (int t = 0; t < events / 100; ++t) {
        tocsin::atomic([&] {
            for (int i = 0; i < 100; ++i) {
                Item::objects().create({.name = "i"});
            }
        });
    }
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (events_in("done") < events && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(10ms);
    }
    worker.stop();
    runner.join();
    EXPECT_EQ(events_in("done"), events);
    EXPECT_EQ(effects(), events);
    EXPECT_EQ(worker.stats().done, static_cast<std::uint64_t>(events));
    EXPECT_EQ(worker.stats().lost, 0U);
}

TEST_F(WorkerTest, OnPostgresqlTheNotifyOfASendWakesAWaitingWorker) {
    if (!test_support::testing_postgresql()) {
        GTEST_SKIP() << "PostgreSQL only (LISTEN/NOTIFY)";
    }
    connect(&apply, "outboxtest.apply", "q");
    remote::Worker worker({.poll_interval = 60s});
    std::thread runner([&] { worker.run(); });
    std::this_thread::sleep_for(300ms);  // it has looked and waits
    const auto sent = std::chrono::steady_clock::now();
    tocsin::atomic([] { Item::objects().create({.name = "x"}); });
    while (events_in("done") < 1 && std::chrono::steady_clock::now() - sent < 10s) {
        std::this_thread::sleep_for(5ms);
    }
    const auto waited = std::chrono::steady_clock::now() - sent;
    worker.stop();
    runner.join();
    EXPECT_EQ(events_in("done"), 1);
    EXPECT_LT(waited, 5s);  // far less than the 60 s poll
}

/// When each item's receiver started (steady clock), by item name; the receiver then takes
/// 150 ms, so that the next event is sent while the worker is busy.
struct Starts {
    std::mutex mutex;
    std::map<std::string, std::chrono::steady_clock::time_point> at;
};
Starts starts;
void slow(Item& item, const SaveEvent&) {
    {
        std::lock_guard lock(starts.mutex);
        starts.at.emplace(item.name, std::chrono::steady_clock::now());
    }
    std::this_thread::sleep_for(150ms);
    apply_effect("slow", item);
}

TEST_F(WorkerTest, OnPostgresqlNoNotifiedEventWaitsForThePoll) {
    if (!test_support::testing_postgresql()) {
        GTEST_SKIP() << "PostgreSQL only (LISTEN/NOTIFY)";
    }
    {
        std::lock_guard lock(starts.mutex);
        starts.at.clear();
    }
    connect(&slow, "outboxtest.slow", "q");
    remote::Worker worker({.poll_interval = 60s});
    std::thread runner([&] { worker.run(); });
    // Pairs of events: the first sent as the worker starts (or after a pause), the second while
    // the first runs. Nothing is sent after a pair's second event until it ran: a NOTIFY missed
    // would leave it to the 60 s poll.
    std::map<std::string, std::chrono::steady_clock::time_point> sent;
    const auto send = [&](const std::string& name) {
        tocsin::atomic([&] { Item::objects().create({.name = name}); });
        sent.emplace(name, std::chrono::steady_clock::now());
    };
    const auto started = [&](const std::string& name) {
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (std::chrono::steady_clock::now() < deadline) {
            {
                std::lock_guard lock(starts.mutex);
                if (starts.at.count(name) != 0) {
                    return true;
                }
            }
            std::this_thread::sleep_for(2ms);
        }
        return false;
    };
    for (int pair = 0; pair < 3; ++pair) {
        const std::string first = "first" + std::to_string(pair);
        const std::string second = "second" + std::to_string(pair);
        send(first);
        ASSERT_TRUE(started(first)) << first << " never started";
        send(second);  // while the worker runs the first
        ASSERT_TRUE(started(second)) << second << " never started";
        std::this_thread::sleep_for(pair == 0 ? 0ms : 200ms);
    }
    worker.stop();
    runner.join();
    EXPECT_EQ(events_in("done"), 6);
    std::lock_guard lock(starts.mutex);
    for (const auto& [name, at] : sent) {
        // Far under the 60 s poll; the commit returned before the time was taken.
        EXPECT_LT(starts.at.at(name) - at, 5s) << name;
    }
}

// ------------------------------------------------------------------ ordered receivers

/// What the ordered receivers saw, from any thread: per item, the rows run (by id) and how many
/// ran at once at most.
struct OrderLog {
    std::mutex mutex;
    std::map<std::int64_t, std::vector<std::int64_t>> rows;  // item -> outbox row ids, run order
    std::map<std::int64_t, int> running;
    int most_at_once = 0;
    std::atomic<int> calls{0};
};
OrderLog& order_log() {
    static OrderLog log;
    return log;
}
void ordered(Item& item, const SaveEvent&) {
    OrderLog& log = order_log();
    {
        std::lock_guard lock(log.mutex);
        log.most_at_once = std::max(log.most_at_once, ++log.running[*item.id]);
    }
    std::this_thread::sleep_for(1ms);  // long enough for another thread to take the same item
    {
        std::lock_guard lock(log.mutex);
        --log.running[*item.id];
        log.rows[*item.id].push_back(remote::current_delivery()->id);
    }
    ++log.calls;
}
/// The items whose first update ordered_flaky failed (one thread: drain()).
std::set<std::int64_t>& failed_once() {
    static std::set<std::int64_t> items;
    return items;
}
/// Fails once, at the first update (save with update_fields) of an item named "fails once".
void ordered_flaky(Item& item, const SaveEvent& e) {
    if (item.name == "fails once" && e.update_fields && failed_once().insert(*item.id).second) {
        throw std::runtime_error("not yet");
    }
    ordered(item, e);
}
/// Always fails for the saves of update_fields {"n"}.
void ordered_broken(Item& item, const SaveEvent& e) {
    if (e.update_fields && e.update_fields->count("n") != 0) {
        throw std::runtime_error("never");
    }
    ordered(item, e);
}

class OrderedTest : public WorkerTest {
  protected:
    void SetUp() override {
        WorkerTest::SetUp();
        OrderLog& log = order_log();
        std::lock_guard lock(log.mutex);
        log.rows.clear();
        log.running.clear();
        log.most_at_once = 0;
        log.calls = 0;
        failed_once().clear();
    }
    /// The outbox row ids of @p item's events, oldest first (what commit order gives here).
    static std::vector<std::int64_t> rows_of(std::int64_t item) {
        std::vector<std::int64_t> out;
        for (const auto& r : remote::outbox_rows()) {
            if (r.events == 1 && nlohmann::json::parse(r.payload).at("pk") == item) {
                out.push_back(r.id);
            }
        }
        return out;
    }
};

TEST_F(OrderedTest, TheEventsOfOneInstanceRunOneAtATimeInCommitOrderWithFourThreads) {
    connections.emplace_back(remote::connect<Item>(
        post_save, &ordered, {.queue = "q", .dispatch_uid = "t.ordered", .ordered = true}));
    // Few items, batches of 2 and 4 threads: without ordering, the first four claims alone hold
    // the same items' events at once (rows 1-8 are items 1, 2, 3, 1, 2, 3, 1, 2).
    constexpr int items = 3;
    constexpr int saves = 20;
    std::vector<Item> all;
    tocsin::atomic([&] {
        for (int i = 0; i < items; ++i) {
            all.push_back(Item::objects().create({.name = "i"}));
        }
    });
    for (int round = 1; round < saves; ++round) {  // one transaction per round: interleaved
        tocsin::atomic([&] {
            for (Item& item : all) {
                item.n = round;
                item.save();
            }
        });
    }
    for (const auto& r : remote::outbox_rows()) {
        EXPECT_EQ(r.ordering_key,
                  "t.ordered outboxtest.Item " + nlohmann::json::parse(r.payload).at("pk").dump());
    }
    remote::Worker worker({.concurrency = 4, .batch_size = 2, .poll_interval = 5ms});
    std::thread runner([&] { worker.run(); });
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (order_log().calls < items * saves && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
    }
    worker.stop();
    runner.join();
    EXPECT_EQ(events_in("done"), items * saves);
    OrderLog& log = order_log();
    EXPECT_EQ(log.most_at_once, 1);
    for (const Item& item : all) {
        EXPECT_EQ(log.rows[*item.id], rows_of(*item.id)) << "item " << *item.id;
    }
}

TEST_F(OrderedTest, AFailingEventHoldsBackTheLaterEventsOfItsInstanceOnly) {
    connections.emplace_back(remote::connect<Item>(
        post_save, &ordered_flaky,
        {.queue = "q", .dispatch_uid = "t.ordered", .retry = {.delay = 300ms}, .ordered = true}));
    Item a = Item::objects().create({.name = "fails once"});
    Item b = Item::objects().create({.name = "fine"});
    for (int round = 1; round <= 2; ++round) {
        a.n = round;
        a.save({.update_fields = {&Item::n}});
        b.n = round;
        b.save({.update_fields = {&Item::n}});
    }
    // Batches of one: a failure in a batch runs its batch-mates twice (in memory: the log).
    remote::Worker worker({.batch_size = 1});
    worker.drain();
    OrderLog& log = order_log();
    // a's creation ran, its first update failed and waits for its retry, holding back the second;
    // b's events all ran.
    EXPECT_EQ(log.rows[*a.id].size(), 1U);
    EXPECT_EQ(log.rows[*b.id], rows_of(*b.id));
    EXPECT_EQ(events_in("pending"), 2);
    const auto held = remote::outbox_rows({.status = remote::Status::pending});
    EXPECT_EQ(held[0].attempts, 1);
    EXPECT_EQ(held[0].last_error, "not yet");
    EXPECT_EQ(held[1].attempts, 0);  // never claimed
    ASSERT_TRUE(drain_until(worker, [] { return events_in("done") == 6; }));
    EXPECT_EQ(log.rows[*a.id], rows_of(*a.id));
}

TEST_F(OrderedTest, ADeadEventNoLongerHoldsBackTheLaterOnes) {
    connections.emplace_back(remote::connect<Item>(post_save, &ordered_broken,
                                                   {.queue = "q",
                                                    .dispatch_uid = "t.ordered",
                                                    .retry = {.max_attempts = 2, .delay = 1ms},
                                                    .ordered = true}));
    Item a = Item::objects().create({.name = "a"});
    a.n = 1;
    a.save({.update_fields = {&Item::n}});
    a.name = "fixed";
    a.save();
    remote::Worker worker({.batch_size = 1});
    ASSERT_TRUE(drain_until(worker, [] { return events_in("done") == 2; }));
    EXPECT_EQ(events_in("dead"), 1);
    EXPECT_EQ(order_log().rows[*a.id].size(), 2U);
}

TEST_F(OrderedTest, UnorderedReceiversOfTheSameInstanceAreNotHeldBack) {
    connections.emplace_back(remote::connect<Item>(
        post_save, &ordered_flaky,
        {.queue = "q", .dispatch_uid = "t.unordered", .retry = {.delay = 10s}}));
    Item a = Item::objects().create({.name = "fails once"});
    a.n = 1;
    a.save({.update_fields = {&Item::n}});
    a.n = 2;
    a.save({.update_fields = {&Item::n}});
    remote::Worker worker({.batch_size = 1});
    worker.drain();
    EXPECT_EQ(events_in("done"), 2);  // the creation and the second update; the first waits
    EXPECT_FALSE(remote::outbox_rows().at(0).ordering_key);
}

/// The row held back by ARowReadyBelowAFullBatchIsClaimedInTheSameDrain, which the receiver of
/// "i1" makes ready.
std::int64_t held_back_row = 0;
void release_held_back(Item& item, const SaveEvent&) {
    if (item.name == "i1") {
        db::connection().execute("UPDATE tocsin_outbox SET available_at = 0 WHERE id = " +
                                 std::to_string(held_back_row));
    }
    apply_effect("release", item);
}

TEST_F(WorkerTest, ARowReadyBelowAFullBatchIsClaimedInTheSameDrain) {
    // The claim after a full batch starts after that batch's last id (it need not step over the
    // rows just run); a row with a smaller id that became ready meanwhile is still found.
    connect(&release_held_back, "outboxtest.release", "q");
    const std::vector<remote::WorkerOptions> all{
        {.batch_size = 2},
        {.batch_size = 2, .lock_claims = true},
        {.batch_size = 2, .delete_done = true, .lock_claims = true}};
    std::int64_t expected = 0;
    for (const auto& options : all) {
        create_items(3);
        expected += 3;
        const auto rows = remote::outbox_rows({.status = remote::Status::pending});
        ASSERT_EQ(rows.size(), 3U);
        held_back_row = rows[0].id;  // i0's: ready only once i1's receiver ran
        db::connection().execute(
            "UPDATE tocsin_outbox SET available_at = " + std::to_string(now_us() + 3'600'000'000) +
            " WHERE id = " + std::to_string(held_back_row));
        remote::Worker worker(options);
        EXPECT_EQ(worker.drain(), 3U);
        EXPECT_EQ(remote::outbox_rows({.status = remote::Status::pending}).size(), 0U);
        EXPECT_EQ(effects(), expected);
    }
}

/// The claim modes of the worker: a lease, a lock, a lock whose claim deletes its rows.
std::vector<remote::WorkerOptions> claim_modes(remote::WorkerOptions options) {
    std::vector<remote::WorkerOptions> all(3, options);
    all[1].lock_claims = true;
    all[2].lock_claims = true;
    all[2].delete_done = true;
    return all;
}

TEST_F(WorkerTest, ARunningWorkerClaimsARowThatBecameReadyBelowTheClaimedIds) {
    // A retry whose backoff ended (here: a row made ready by hand) below the ids a running
    // worker claimed is found by a claim from the start (here: the poll's).
    connect(&apply, "outboxtest.apply", "q");
    std::int64_t expected = 0;
    for (const auto& options : claim_modes({.batch_size = 2, .poll_interval = 20ms})) {
        create_items(5);
        expected += 5;
        const auto rows = remote::outbox_rows({.status = remote::Status::pending});
        ASSERT_EQ(rows.size(), 5U);
        db::connection().execute(
            "UPDATE tocsin_outbox SET available_at = " + std::to_string(now_us() + 3'600'000'000) +
            " WHERE id = " + std::to_string(rows[0].id));
        remote::Worker worker(options);
        std::thread runner([&] { worker.run(); });
        const auto deadline = std::chrono::steady_clock::now() + 20s;
        while (worker.stats().claimed < 4 && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(2ms);
        }
        std::this_thread::sleep_for(50ms);  // claims after the mark, finding nothing
        db::connection().execute("UPDATE tocsin_outbox SET available_at = 0 WHERE id = " +
                                 std::to_string(rows[0].id));
        while (effects() < expected && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(2ms);
        }
        worker.stop();
        runner.join();
        EXPECT_EQ(effects(), expected);
    }
}

TEST_F(WorkerTest, WithLockClaimsEachReceiverRunsOnceAndItsAttemptIsCounted) {
    connect(&apply, "outboxtest.apply", "q");
    create_items(5);
    remote::Worker worker({.lock_claims = true});
    EXPECT_EQ(worker.drain(), 5U);
    EXPECT_EQ(worker.drain(), 0U);
    EXPECT_EQ(effects(), 5);
    EXPECT_EQ(events_in("done"), 5);
    EXPECT_EQ(worker.stats().done, 5U);
    for (const auto& row : remote::outbox_rows()) {
        EXPECT_EQ(row.attempts, 1);
        EXPECT_FALSE(row.locked_by);
        EXPECT_FALSE(row.locked_until);
    }
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM outboxtest_effect WHERE attempt = 1"), 5);
}

TEST_F(WorkerTest, WithLockClaimsFailuresAreCountedRetriedAndBuried) {
    connect(&flaky, "outboxtest.flaky", "q", {.max_attempts = 5, .delay = 1ms});
    connect(&broken, "outboxtest.broken", "q", {.max_attempts = 3, .delay = 1ms});
    connect(&apply, "outboxtest.apply", "q");
    Item::objects().create({.name = "x"});
    remote::Worker worker({.delete_done = true, .lock_claims = true});
    ASSERT_TRUE(drain_until(worker, [] { return outbox_size() == 1 && events_in("dead") == 1; }));
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM outboxtest_effect WHERE key LIKE 'apply:%'"), 1);
    EXPECT_EQ(scalar("SELECT attempt FROM outboxtest_effect WHERE key LIKE 'flaky:%'"), 3);
    const auto dead = remote::outbox_rows({.status = remote::Status::dead});
    ASSERT_EQ(dead.size(), 1U);
    EXPECT_EQ(dead[0].attempts, 3);
    EXPECT_EQ(dead[0].last_error, "broken receiver");
    EXPECT_EQ(worker.stats().failed, 5U);  // flaky twice, broken three times
    EXPECT_EQ(worker.stats().dead, 1U);
}

/// Five items, i2's receiver failing at its first attempt, run with lock_claims: what another
/// connection saw while each receiver ran (see Probe).
void run_probed_batch(bool delete_done) {
    {
        std::lock_guard lock(probe.mutex);
        probe.claimable.clear();
        probe.attempts.clear();
        probe.failing = {"i2"};
    }
    create_items(5);
    remote::Worker worker({.delete_done = delete_done, .lock_claims = true});
    EXPECT_GE(worker.drain(), 5U);  // i2 fails once: then maybe its retry (after 1 ms)
}

TEST_F(WorkerTest, OnPostgresqlALockedClaimWritesNothingAndHoldsItsRowsThroughTheCarefulRun) {
    if (!test_support::testing_postgresql()) {
        GTEST_SKIP() << "PostgreSQL only (SQLite claims with a lease)";
    }
    connect(&probe_then_apply, "outboxtest.probe", "q", {.max_attempts = 3, .delay = 1ms});
    run_probed_batch(false);
    remote::Worker worker({.lock_claims = true});
    ASSERT_TRUE(drain_until(worker, [] { return events_in("done") == 5; }));
    EXPECT_EQ(effects(), 5);
    std::lock_guard lock(probe.mutex);
    // The first batch: i0, i1, i2 (throws: rolled back), then the careful run of i0, i1, i3, i4
    // (locked again); then i2's retry alone. While each ran, another worker's claim found no row
    // and no claim had written an attempt.
    ASSERT_EQ(probe.claimable.size(), 8U);
    for (std::size_t i = 0; i < 7; ++i) {
        EXPECT_EQ(probe.claimable[i], 0) << "probe " << i;
        EXPECT_EQ(probe.attempts[i], 0) << "probe " << i;
    }
    EXPECT_EQ(probe.claimable[7], 0);  // i2's retry: locked too
    EXPECT_EQ(probe.attempts[7], 5);   // its first (failed) attempt, and the four done rows' 1
}

TEST_F(WorkerTest, OnPostgresqlALockedClaimThatDeletesItsRowsHoldsThemUntilItsCommit) {
    if (!test_support::testing_postgresql()) {
        GTEST_SKIP() << "PostgreSQL only (SQLite claims with a lease)";
    }
    connect(&probe_then_apply, "outboxtest.probe", "q", {.max_attempts = 3, .delay = 1ms});
    run_probed_batch(true);
    remote::Worker worker({.delete_done = true, .lock_claims = true});
    ASSERT_TRUE(drain_until(worker, [] { return outbox_size() == 0; }));
    EXPECT_EQ(effects(), 5);
    EXPECT_EQ(scalar("SELECT attempt FROM outboxtest_effect WHERE key LIKE '%' AND seen_name = "
                     "'i2'"),
              2);
    std::lock_guard lock(probe.mutex);
    ASSERT_EQ(probe.claimable.size(), 8U);
    for (std::size_t i = 0; i < 7; ++i) {
        EXPECT_EQ(probe.claimable[i], 0) << "probe " << i;
        EXPECT_EQ(probe.attempts[i], 0) << "probe " << i;
    }
    EXPECT_EQ(probe.claimable[7], 0);  // i2's retry
    EXPECT_EQ(probe.attempts[7], 1);   // its failed attempt; the four others are gone
}

// ---------------------------------------------------------------- packed rows (session 13)

/// What picky() saw: per item name, the idempotency key and the attempt of each call.
struct KeyLog {
    std::mutex mutex;
    std::map<std::string, std::vector<std::pair<std::string, int>>> calls;
};
KeyLog& key_log() {
    static KeyLog log;
    return log;
}
/// Fails always for the item named "poison", at attempts 1 and 2 for one named "flaky"; applies
/// its effect (unique per item) otherwise. Logs every call's key and attempt.
void picky(Item& item, const SaveEvent&) {
    const remote::Delivery* d = remote::current_delivery();
    {
        std::lock_guard lock(key_log().mutex);
        key_log().calls[item.name].emplace_back(d->idempotency_key, d->attempt);
    }
    apply_effect("picky", item);  // rolled back with a failure
    if (item.name == "poison") {
        throw std::runtime_error("poisoned");
    }
    if (item.name == "flaky" && d->attempt <= 2) {
        throw std::runtime_error("flaky");
    }
}

/// A receiver with no effect (the events of one item, packed, beside an ordered receiver's).
void noop(Item&, const SaveEvent&) {}

/// The four ways a worker claims and finishes rows: claim_modes()'s three and a lease whose
/// rows are deleted when done.
std::vector<remote::WorkerOptions> all_claim_modes() {
    std::vector<remote::WorkerOptions> out = claim_modes({});
    out.push_back({.delete_done = true});
    return out;
}

/// "lock_claims=<0|1> delete_done=<0|1>", for SCOPED_TRACE.
std::string mode_name(const remote::WorkerOptions& mode) {
    return std::string("lock_claims=") + (mode.lock_claims ? "1" : "0") +
           " delete_done=" + (mode.delete_done ? "1" : "0");
}

class PackedTest : public WorkerTest {
  protected:
    void SetUp() override {
        WorkerTest::SetUp();
        std::lock_guard lock(key_log().mutex);
        key_log().calls.clear();
    }
    /// Empties the outbox, the effects and the items, for the next claim mode.
    static void clear_rows() {
        db::connection().execute_script(
            "DELETE FROM tocsin_outbox; DELETE FROM outboxtest_effect; DELETE FROM "
            "outboxtest_item");
    }
    /// Creates items named @p names in one transaction.
    static void create_named(const std::vector<std::string>& names) {
        tocsin::atomic([&] {
            for (const auto& name : names) {
                Item::objects().create({.name = name});
            }
        });
    }
};

TEST_F(PackedTest, ATransactionsSendsAreOneRowPerReceiverAndEachEventIsAppliedOnce) {
    connect(&apply, "outboxtest.apply", "q");
    connect(&audit, "outboxtest.audit", "q");
    std::int64_t applied = 0;
    for (const remote::WorkerOptions& mode : all_claim_modes()) {
        SCOPED_TRACE(mode_name(mode));
        (void)remote::purge();
        create_items_packed(30);
        const auto rows = remote::outbox_rows({.status = remote::Status::pending});
        ASSERT_EQ(rows.size(), 2U);  // one per receiver
        for (const auto& row : rows) {
            EXPECT_EQ(row.events, 30);
            const auto payload = nlohmann::json::parse(row.payload);
            ASSERT_TRUE(payload.is_array());
            ASSERT_EQ(payload.size(), 30U);
            for (std::size_t i = 1; i < payload.size(); ++i) {  // in send order
                EXPECT_LT(payload[i - 1].at("pk").get<std::int64_t>(),
                          payload[i].at("pk").get<std::int64_t>());
            }
        }
        remote::Worker worker(mode);
        EXPECT_EQ(worker.drain(), 60U);
        applied += 60;
        EXPECT_EQ(effects(), applied);  // each once: the effect's key is unique
        EXPECT_EQ(worker.stats().done, 60U);
        EXPECT_EQ(worker.stats().claimed, 60U);
        EXPECT_EQ(events_in("pending"), 0);
        EXPECT_EQ(events_in("done"), mode.delete_done ? 0 : 60);
        for (const auto& row : remote::outbox_rows({.status = remote::Status::done})) {
            EXPECT_EQ(row.events, 30);
            EXPECT_EQ(row.attempts, 1);
        }
    }
}

TEST_F(PackedTest, APackedRowsAlwaysFailingEventIsRetriedThenDeadAloneWithItsOwnKey) {
    connect(&picky, "outboxtest.picky", "q", {.max_attempts = 3, .delay = 1ms});
    for (const remote::WorkerOptions& mode : all_claim_modes()) {
        SCOPED_TRACE(mode_name(mode));
        clear_rows();
        {
            std::lock_guard lock(key_log().mutex);
            key_log().calls.clear();
        }
        create_named({"a", "b", "poison", "c", "d"});
        const std::string packed_key = remote::outbox_rows().at(0).idempotency_key;
        remote::Worker worker(mode);
        ASSERT_TRUE(drain_until(worker, [] { return events_in("dead") == 1; }));
        EXPECT_EQ(effects(), 4);  // the others, once each
        EXPECT_EQ(events_in("pending"), 0);
        EXPECT_EQ(events_in("done"), mode.delete_done ? 0 : 4);
        const auto dead = remote::outbox_rows({.status = remote::Status::dead});
        ASSERT_EQ(dead.size(), 1U);  // the poison alone
        EXPECT_EQ(dead[0].events, 1);
        EXPECT_EQ(dead[0].attempts, 3);
        EXPECT_EQ(dead[0].last_error, "poisoned");
        EXPECT_EQ(dead[0].idempotency_key, packed_key + ".2");
        EXPECT_EQ(nlohmann::json::parse(dead[0].payload).at("pk").get<std::int64_t>(),
                  *Item::objects().get(where(&Item::name) == "poison").id);
        EXPECT_EQ(worker.stats().dead, 1U);
        EXPECT_EQ(worker.stats().done, 4U);
        std::lock_guard lock(key_log().mutex);
        const auto& poison = key_log().calls["poison"];
        ASSERT_GE(poison.size(), 3U);
        for (const auto& [key, attempt] : poison) {
            EXPECT_EQ(key, packed_key + ".2");  // the same at every attempt
        }
        for (const std::string name : {"a", "b", "c", "d"}) {
            for (const auto& [key, attempt] : key_log().calls[name]) {
                EXPECT_EQ(attempt, 1) << name;
            }
        }
    }
}

TEST_F(PackedTest, APackedRowsEventThatFailsTwiceThenSucceedsIsAppliedOnce) {
    connect(&picky, "outboxtest.picky", "q", {.max_attempts = 5, .delay = 1ms});
    for (const remote::WorkerOptions& mode : all_claim_modes()) {
        SCOPED_TRACE(mode_name(mode));
        clear_rows();
        create_named({"a", "flaky", "b"});
        remote::Worker worker(mode);
        ASSERT_TRUE(
            drain_until(worker, [] { return effects() == 3 && events_in("pending") == 0; }));
        EXPECT_EQ(Effect::objects()
                      .get(where(&Effect::key) ==
                           "picky:" + std::to_string(
                                          *Item::objects().get(where(&Item::name) == "flaky").id))
                      .attempt,
                  3);
        EXPECT_EQ(worker.stats().failed, 2U);
        EXPECT_EQ(worker.stats().done, 3U);
        EXPECT_EQ(events_in("done"), mode.delete_done ? 0 : 3);
        EXPECT_EQ(events_in("dead"), 0);
    }
}

TEST_F(PackedTest, IdempotencyKeysAreDistinctPerEventAndUnchangedAcrossARetry) {
    connect(&picky, "outboxtest.picky", "q", {.max_attempts = 5, .delay = 1ms});
    create_named({"a", "b", "flaky", "c"});
    const std::string packed_key = remote::outbox_rows().at(0).idempotency_key;
    EXPECT_EQ(packed_key.size(), 32U);
    remote::Worker worker;
    ASSERT_TRUE(drain_until(worker, [] { return effects() == 4; }));
    std::lock_guard lock(key_log().mutex);
    const std::vector<std::string> names{"a", "b", "flaky", "c"};
    std::set<std::string> keys;
    for (std::size_t i = 0; i < names.size(); ++i) {
        const auto& calls = key_log().calls[names[i]];
        ASSERT_FALSE(calls.empty()) << names[i];
        for (const auto& [key, attempt] : calls) {
            EXPECT_EQ(key, packed_key + "." + std::to_string(i)) << names[i];
        }
        keys.insert(calls.front().first);
    }
    EXPECT_EQ(keys.size(), names.size());
    EXPECT_EQ(key_log().calls["flaky"].size(), 3U);  // attempts 1, 2 (failed) and 3
    // The effects record the keys they were applied with: one each.
    for (const std::string& key : keys) {
        EXPECT_EQ(Effect::objects().filter(where(&Effect::idempotency_key) == key).count(), 1)
            << key;
    }
}

TEST_F(PackedTest, ASendOutsideATransactionIsARowOfOneEvent) {
    connect(&apply, "outboxtest.apply", "q");
    Item::objects().create({.name = "x"});
    Item::objects().create({.name = "y"});
    const auto rows = remote::outbox_rows();
    ASSERT_EQ(rows.size(), 2U);
    for (const auto& row : rows) {
        EXPECT_EQ(row.events, 1);
        EXPECT_TRUE(nlohmann::json::parse(row.payload).is_object());  // the event itself
    }
    remote::Worker worker;
    EXPECT_EQ(worker.drain(), 2U);
    // A single event's key is the row's.
    for (const auto& row : remote::outbox_rows()) {
        EXPECT_EQ(Effect::objects()
                      .filter(where(&Effect::idempotency_key) == row.idempotency_key)
                      .count(),
                  1);
    }
}

TEST_F(PackedTest, ARemovedInstanceInAPackedRowIsSkippedAloneSayingWhy) {
    connect(&apply, "outboxtest.apply", "q");
    for (const remote::WorkerOptions& mode : all_claim_modes()) {
        SCOPED_TRACE(mode_name(mode));
        clear_rows();
        create_named({"a", "gone", "b"});
        (void)Item::objects().filter(where(&Item::name) == "gone").remove();
        remote::Worker worker(mode);
        EXPECT_EQ(worker.drain(), 3U);
        EXPECT_EQ(effects(), 2);
        EXPECT_EQ(worker.stats().skipped, 1U);
        EXPECT_EQ(worker.stats().done, 2U);
        const auto skipped = remote::outbox_rows({.status = remote::Status::skipped});
        ASSERT_EQ(skipped.size(), 1U);
        EXPECT_EQ(skipped[0].events, 1);
        EXPECT_NE(skipped[0].last_error->find("no longer exists"), std::string::npos);
        const auto done = remote::outbox_rows({.status = remote::Status::done});
        if (mode.delete_done) {
            EXPECT_TRUE(done.empty());
            EXPECT_EQ(outbox_size(), 1);
        } else {
            ASSERT_EQ(done.size(), 1U);
            EXPECT_EQ(done[0].events, 2);  // the events done in it
            EXPECT_EQ(nlohmann::json::parse(done[0].payload).size(), 2U);
        }
    }
}

TEST_F(PackedTest, APackedRowWhoseWorkerDiedInItsLastAttemptIsSplitAndOnlyItsKillerIsDead) {
    connect(&apply, "outboxtest.apply", "q", {.max_attempts = 2});
    create_named({"a", "b", "c"});
    // A worker claimed it at attempt 2 of 2 and died (one of its events killed it).
    db::connection().execute(
        "UPDATE tocsin_outbox SET locked_by = 'dead worker', attempts = 2, locked_until = " +
        std::to_string(now_us() - 1));
    remote::Worker worker;
    EXPECT_EQ(worker.drain(), 6U);  // the packed row, then its three events, one attempt left each
    EXPECT_EQ(effects(), 3);
    EXPECT_EQ(events_in("dead"), 0);
    EXPECT_EQ(events_in("done"), 3);
    const auto rows = remote::outbox_rows();
    ASSERT_EQ(rows.size(), 3U);
    for (const auto& row : rows) {
        EXPECT_EQ(row.events, 1);
        EXPECT_EQ(row.attempts, 2);
    }
}

TEST_F(PackedTest, ABatchSizeCountsEventsNotRows) {
    connect(&apply, "outboxtest.apply", "q");
    for (int t = 0; t < 3; ++t) {
        create_items_packed(30);  // three rows of 30 events
    }
    // Claims take rows while fewer than batch_size events come before them: 30 + 30, then 30.
    remote::Worker worker({.batch_size = 50, .delete_done = true});
    EXPECT_EQ(worker.drain(), 90U);
    EXPECT_EQ(effects(), 90);
    remote::Worker one({.batch_size = 1});
    create_items_packed(30);
    EXPECT_EQ(one.drain(), 30U);  // a packed row is claimed whole
}

TEST_F(PackedTest, OnPostgresqlAClaimAfterPackedRowsLocksFewRows) {
    if (!test_support::testing_postgresql()) {
        GTEST_SKIP() << "PostgreSQL only (SQLite claims with a lease)";
    }
    // A claim locks every row its select reads; after a claim of packed rows the next one reads
    // twice the rows the average row needs to fill a batch (here 2), not batch_size: the rows it
    // does not take stay free for other workers while its batch runs.
    connect(&probe_then_apply, "outboxtest.probe", "q");
    {
        std::lock_guard lock(probe.mutex);
        probe.claimable.clear();
        probe.attempts.clear();
        probe.failing.clear();
    }
    for (int t = 0; t < 5; ++t) {
        create_items_packed(10);  // five rows of ten events
    }
    remote::Worker worker({.batch_size = 10, .delete_done = true, .lock_claims = true});
    EXPECT_EQ(worker.drain(), 50U);
    EXPECT_EQ(effects(), 50);
    std::lock_guard lock(probe.mutex);
    ASSERT_EQ(probe.claimable.size(), 50U);  // one probe per event, ten per batch
    // The first claim knew no better: it locked the five rows (and took one).
    EXPECT_EQ(probe.claimable[0], 0);
    // Then two rows locked per claim: the second batch leaves rows 4 and 5 claimable, the
    // third row 5.
    EXPECT_EQ(probe.claimable[10], 2);
    EXPECT_EQ(probe.claimable[20], 1);
    EXPECT_EQ(probe.claimable[30], 0);
}

TEST_F(OrderedTest, AnOrderedReceiversEventsAreNotPackedAndRunInOrder) {
    connections.emplace_back(remote::connect<Item>(
        post_save, &ordered, {.queue = "q", .dispatch_uid = "t.ordered", .ordered = true}));
    connect(&noop, "outboxtest.noop", "q");
    Item a;
    tocsin::atomic([&] {
        a = Item::objects().create({.name = "a"});
        for (int round = 1; round <= 3; ++round) {
            a.n = round;
            a.save();
        }
    });
    const auto ordered_rows = remote::outbox_rows({.receiver = "t.ordered"});
    ASSERT_EQ(ordered_rows.size(), 4U);
    for (const auto& row : ordered_rows) {
        EXPECT_EQ(row.events, 1);
    }
    const auto audit_rows = remote::outbox_rows({.receiver = "outboxtest.noop"});
    ASSERT_EQ(audit_rows.size(), 1U);
    EXPECT_EQ(audit_rows[0].events, 4);
    remote::Worker worker({.batch_size = 2});
    EXPECT_EQ(worker.drain(), 8U);
    EXPECT_EQ(order_log().rows[*a.id], rows_of(*a.id));
}

}  // namespace worker_test
}  // namespace
}  // namespace tocsin::test::remote_test
