// Batch receivers (remote::connect_batch): called once per batch with all its events, inside the
// batch's transaction; every event's effect exactly once; a failing event neither loses nor
// duplicates its batch mates (the batch rolls back and runs again one event at a time); a claim
// taken over mid-batch rolls the whole batch back; with a worker's threads running.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "remote_support.hpp"

namespace tocsin::test::remote_test {
namespace {
namespace batch_test {

using namespace std::chrono_literals;
using Event = remote::BatchEvent<std::string, std::int64_t>;

Signal<void(const std::string&, std::int64_t)> ticket{"batchtest.ticket"};

/// What the batch receivers saw.
struct Log {
    std::mutex mutex;
    std::vector<std::size_t> sizes;  ///< the events of each call
    std::set<std::string> stolen;    ///< names whose claim thief() took over already
};
Log& log() {
    static Log l;
    return l;
}

/// The effects of a batch, written with one statement: "batch:<name>", with the event's delivery.
void write_effects(std::span<const Event> events, std::string_view prefix = "batch:") {
    std::vector<Effect> effects;
    effects.reserve(events.size());
    for (const Event& e : events) {
        Effect effect;
        effect.key = std::string(prefix) + e.get<0>();
        effect.idempotency_key = e.delivery.idempotency_key;
        effect.attempt = e.delivery.attempt;
        effect.seen_name = std::to_string(e.get<1>());
        effects.push_back(std::move(effect));
    }
    Effect::objects().bulk_create(effects);
}

void apply_batch(std::span<const Event> events) {
    {
        std::lock_guard lock(log().mutex);
        log().sizes.push_back(events.size());
    }
    EXPECT_EQ(remote::current_delivery(), nullptr);
    write_effects(events);
}

/// The single-event receiver of the same signal.
void apply_one(const std::string& name, std::int64_t) {
    Effect effect;
    effect.key = "one:" + name;
    effect.save();
}

/// Fails while an event named "bad*" is in the batch at its first attempt; its effects first, so
/// that the rollback shows.
void fails_at_bad(std::span<const Event> events) {
    {
        std::lock_guard lock(log().mutex);
        log().sizes.push_back(events.size());
    }
    write_effects(events);
    for (const Event& e : events) {
        if (e.get<0>().rfind("bad", 0) == 0 && e.delivery.attempt == 1) {
            throw std::runtime_error("bad event " + e.get<0>());
        }
    }
}

/// Always fails for the event named "poison".
void poisoned(std::span<const Event> events) {
    write_effects(events);
    for (const Event& e : events) {
        if (e.get<0>() == "poison") {
            throw std::runtime_error("poison");
        }
    }
}

/// Takes over (as another worker whose claim follows an expired visibility timeout) the claims
/// of the events named "steal*", or of every event when one is named "steal all", after writing
/// their effects. The takeover is written in the worker's transaction, which rolls it back with
/// the batch: the names taken once are taken again whenever they run (another worker holds them).
void thief(std::span<const Event> events) {
    write_effects(events);
    std::lock_guard lock(log().mutex);
    for (const Event& e : events) {
        if (e.get<0>() == "steal all") {
            for (const Event& mate : events) {
                log().stolen.insert(mate.get<0>());
            }
        }
        if (e.get<0>().rfind("steal", 0) == 0) {
            log().stolen.insert(e.get<0>());
        }
    }
    for (const Event& e : events) {
        if (log().stolen.count(e.get<0>()) != 0) {
            db::connection().execute(
                "UPDATE tocsin_outbox SET locked_by = 'another worker' WHERE id = " +
                std::to_string(e.delivery.id));
        }
    }
}

class BatchTest : public RemoteTest {
  protected:
    void SetUp() override {
        RemoteTest::SetUp();
        std::lock_guard lock(log().mutex);
        log().sizes.clear();
        log().stolen.clear();
    }
    template <class F>
    void connect_batch(F f, std::string uid, remote::RetryPolicy retry = {}) {
        connections.emplace_back(remote::connect_batch(
            ticket, f, {.queue = "q", .dispatch_uid = std::move(uid), .retry = retry}));
    }
    /// Sends @p names, each in its own write: an outbox row of one event each.
    static void send(const std::vector<std::string>& names) {
        std::int64_t n = 0;
        for (const auto& name : names) {
            ticket.send(Sender{}, name, n++);
        }
    }
    /// Sends @p names in one transaction: one packed row of all of them per receiver.
    static void send_packed(const std::vector<std::string>& names) {
        tocsin::atomic([&] { send(names); });
    }
    static std::vector<std::string> names(int n, const std::string& prefix = "t") {
        std::vector<std::string> out;
        for (int i = 0; i < n; ++i) {
            out.push_back(prefix + std::to_string(i));
        }
        return out;
    }
    static std::vector<std::size_t> sizes() {
        std::lock_guard lock(log().mutex);
        return log().sizes;
    }
};

TEST_F(BatchTest, ABatchReceiverIsCalledOncePerBatchWithEveryEventOnce) {
    connect_batch(&apply_batch, "batchtest.apply");
    send(names(100));
    send(names(150, "u"));
    remote::Worker worker({.batch_size = 100});
    EXPECT_EQ(worker.drain(), 250U);
    EXPECT_EQ(sizes(), (std::vector<std::size_t>{100, 100, 50}));
    EXPECT_EQ(effects(), 250);
    EXPECT_EQ(events_in("done"), 250);
    EXPECT_EQ(worker.stats().done, 250U);
    EXPECT_EQ(worker.drain(), 0U);
    // Each event with its own row's delivery, in the order sent.
    for (const auto& row : remote::outbox_rows()) {
        const Effect e =
            Effect::objects().get(where(&Effect::idempotency_key) == row.idempotency_key);
        EXPECT_EQ(e.attempt, 1);
        const auto payload = nlohmann::json::parse(row.payload);
        EXPECT_EQ(e.key, "batch:" + payload.at(0).get<std::string>());
        EXPECT_EQ(e.seen_name, std::to_string(payload.at(1).get<std::int64_t>()));
    }
    const auto info = remote::find_remote_receiver("batchtest.ticket", "batchtest.apply");
    ASSERT_TRUE(info);
    EXPECT_TRUE(info->batch);
}

TEST_F(BatchTest, BatchAndSingleReceiversOfOneSignalShareTheBatch) {
    connect_batch(&apply_batch, "batchtest.apply");
    connections.emplace_back(
        remote::connect(ticket, &apply_one, {.queue = "q", .dispatch_uid = "batchtest.one"}));
    send(names(30));
    remote::Worker worker({.batch_size = 100});
    EXPECT_EQ(worker.drain(), 60U);
    EXPECT_EQ(sizes(), (std::vector<std::size_t>{30}));
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM outboxtest_effect WHERE key LIKE 'batch:%'"), 30);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM outboxtest_effect WHERE key LIKE 'one:%'"), 30);
    EXPECT_EQ(events_in("done"), 60);
}

TEST_F(BatchTest, WithDeleteDoneTheBatchsRowsGoInItsTransaction) {
    connect_batch(&apply_batch, "batchtest.apply");
    send(names(120));
    remote::Worker worker({.batch_size = 50, .delete_done = true});
    EXPECT_EQ(worker.drain(), 120U);
    EXPECT_EQ(sizes(), (std::vector<std::size_t>{50, 50, 20}));
    EXPECT_EQ(effects(), 120);
    EXPECT_EQ(outbox_size(), 0);
    EXPECT_EQ(worker.stats().done, 120U);
}

TEST_F(BatchTest, AFailingEventNeitherLosesNorDuplicatesItsBatchMates) {
    // A backoff the first drain cannot reach even in a slow (sanitizer) build: the retry is
    // checked below, after it.
    connect_batch(&fails_at_bad, "batchtest.fails", {.delay = 1s});
    auto batch = names(10);
    batch[3] = "bad3";
    send(batch);
    remote::Worker worker({.batch_size = 100});
    EXPECT_EQ(worker.drain(), 10U);
    // Once with the ten (rolled back), then each alone.
    EXPECT_EQ(sizes(), (std::vector<std::size_t>{10, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}));
    EXPECT_EQ(worker.stats().done, 9U);
    EXPECT_EQ(worker.stats().failed, 1U);
    EXPECT_EQ(effects(), 9);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM outboxtest_effect WHERE key = 'batch:bad3'"), 0);
    EXPECT_EQ(events_in("done"), 9);
    for (const auto& row : remote::outbox_rows()) {
        EXPECT_EQ(row.attempts, 1);
        if (row.status == remote::Status::pending) {
            EXPECT_EQ(nlohmann::json::parse(row.payload).at(0), "bad3");
            EXPECT_EQ(row.last_error, "bad event bad3");
        }
    }
    // Its retry, after the backoff: the effect once, nothing of the others again.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (events_in("done") < 10 && std::chrono::steady_clock::now() < deadline) {
        worker.drain();
        std::this_thread::sleep_for(5ms);
    }
    EXPECT_EQ(events_in("done"), 10);
    EXPECT_EQ(effects(), 10);
    EXPECT_EQ(Effect::objects().get(where(&Effect::key) == "batch:bad3").attempt, 2);
}

TEST_F(BatchTest, AnEventThatAlwaysFailsIsDeadAloneWithDeleteDone) {
    connect_batch(&poisoned, "batchtest.poisoned", {.max_attempts = 2, .delay = 5ms});
    auto batch = names(20);
    batch[7] = "poison";
    send(batch);
    remote::Worker worker({.batch_size = 100, .delete_done = true});
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (events_in("dead") < 1 && std::chrono::steady_clock::now() < deadline) {
        worker.drain();
        std::this_thread::sleep_for(5ms);
    }
    EXPECT_EQ(effects(), 19);
    ASSERT_EQ(outbox_size(), 1);
    const auto row = remote::outbox_rows().at(0);
    EXPECT_EQ(row.status, remote::Status::dead);
    EXPECT_EQ(row.attempts, 2);
    EXPECT_EQ(row.last_error, "poison");
    EXPECT_EQ(worker.stats().done, 19U);
}

TEST_F(BatchTest, AClaimTakenOverMidBatchRollsTheWholeBatchBack) {
    connect_batch(&thief, "batchtest.thief");
    auto batch = names(10);
    batch[0] = "steal all";
    send(batch);
    remote::Worker worker({.batch_size = 100});
    EXPECT_EQ(worker.drain(), 10U);
    EXPECT_EQ(worker.stats().lost, 10U);
    EXPECT_EQ(worker.stats().done, 0U);
    EXPECT_EQ(effects(), 0);
    EXPECT_EQ(events_in("pending"), 10);
    // Still this worker's claims (the takeover rolled back with them), until their visibility
    // timeout.
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM tocsin_outbox WHERE locked_by IS NOT NULL"), 10);
}

TEST_F(BatchTest, AClaimTakenOverForOneEventLosesThatEventOnlyWithDeleteDone) {
    connect_batch(&thief, "batchtest.thief");
    auto batch = names(10);
    batch[4] = "steal4";
    send(batch);
    remote::Worker worker({.batch_size = 100, .delete_done = true});
    EXPECT_EQ(worker.drain(), 10U);
    EXPECT_EQ(worker.stats().lost, 1U);
    EXPECT_EQ(worker.stats().done, 9U);
    EXPECT_EQ(effects(), 9);
    ASSERT_EQ(outbox_size(), 1);
    const auto row = remote::outbox_rows().at(0);
    EXPECT_EQ(nlohmann::json::parse(row.payload).at(0), "steal4");
    EXPECT_EQ(row.status, remote::Status::pending);
}

TEST_F(BatchTest, ThreadsRunEveryEventOnce) {
    connect_batch(&apply_batch, "batchtest.apply");
    remote::Worker worker({.concurrency = 2, .batch_size = 30, .poll_interval = 20ms});
    std::thread runner([&] { worker.run(); });
    constexpr int events = 500;
    for (int t = 0; t < events / 100; ++t) {
        send(names(100, "r" + std::to_string(t) + "-"));
    }
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (events_in("done") < events && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(10ms);
    }
    worker.stop();
    runner.join();
    EXPECT_EQ(events_in("done"), events);
    EXPECT_EQ(effects(), events);
    EXPECT_EQ(worker.stats().lost, 0U);
    std::size_t total = 0;
    for (const std::size_t n : sizes()) {
        EXPECT_LE(n, 30U);
        total += n;
    }
    EXPECT_EQ(total, static_cast<std::size_t>(events));
}

TEST_F(BatchTest, ABatchReceiverGetsTheEventsOfItsPackedRowsAtOnceEachWithItsKey) {
    connect_batch(&apply_batch, "batchtest.apply");
    send_packed(names(100));
    send_packed(names(150, "u"));
    const auto rows = remote::outbox_rows();
    ASSERT_EQ(rows.size(), 2U);
    EXPECT_EQ(rows[0].events, 100);
    EXPECT_EQ(rows[1].events, 150);
    // A claim takes rows while fewer than batch_size events come before them: whole rows.
    remote::Worker worker({.batch_size = 100});
    EXPECT_EQ(worker.drain(), 250U);
    EXPECT_EQ(sizes(), (std::vector<std::size_t>{100, 150}));
    EXPECT_EQ(effects(), 250);
    EXPECT_EQ(events_in("done"), 250);
    for (const auto& row : remote::outbox_rows()) {
        const auto payload = nlohmann::json::parse(row.payload);
        for (std::size_t i = 0; i < payload.size(); ++i) {
            const Effect e = Effect::objects().get(where(&Effect::idempotency_key) ==
                                                   row.idempotency_key + "." + std::to_string(i));
            EXPECT_EQ(e.key, "batch:" + payload[i].at(0).get<std::string>());
            EXPECT_EQ(e.attempt, 1);
        }
    }
}

TEST_F(BatchTest, ABatchHoldsAboutBatchSizeEventsOfPackedRows) {
    connect_batch(&apply_batch, "batchtest.apply");
    for (int t = 0; t < 3; ++t) {
        send_packed(names(30, "r" + std::to_string(t) + "-"));
    }
    send(names(3, "single"));
    remote::Worker worker({.batch_size = 50, .delete_done = true});
    EXPECT_EQ(worker.drain(), 93U);
    EXPECT_EQ(sizes(), (std::vector<std::size_t>{60, 33}));
    EXPECT_EQ(effects(), 93);
}

TEST_F(BatchTest, AFailingEventOfAPackedRowIsRetriedAloneWhileItsRowMatesAreDone) {
    connect_batch(&fails_at_bad, "batchtest.fails", {.delay = 1s});
    auto batch = names(10);
    batch[3] = "bad3";
    send_packed(batch);
    const std::string packed_key = remote::outbox_rows().at(0).idempotency_key;
    remote::Worker worker({.batch_size = 100});
    EXPECT_EQ(worker.drain(), 10U);
    // Once with the ten (rolled back), then each alone.
    EXPECT_EQ(sizes(), (std::vector<std::size_t>{10, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}));
    EXPECT_EQ(worker.stats().done, 9U);
    EXPECT_EQ(worker.stats().failed, 1U);
    EXPECT_EQ(effects(), 9);
    EXPECT_EQ(events_in("done"), 9);
    const auto pending = remote::outbox_rows({.status = remote::Status::pending});
    ASSERT_EQ(pending.size(), 1U);  // the failed event, a row of its own
    EXPECT_EQ(pending[0].events, 1);
    EXPECT_EQ(pending[0].attempts, 1);
    EXPECT_EQ(pending[0].idempotency_key, packed_key + ".3");
    EXPECT_EQ(pending[0].last_error, "bad event bad3");
    EXPECT_EQ(nlohmann::json::parse(pending[0].payload).at(0), "bad3");
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (events_in("done") < 10 && std::chrono::steady_clock::now() < deadline) {
        worker.drain();
        std::this_thread::sleep_for(5ms);
    }
    EXPECT_EQ(effects(), 10);
    const Effect bad = Effect::objects().get(where(&Effect::key) == "batch:bad3");
    EXPECT_EQ(bad.attempt, 2);
    EXPECT_EQ(bad.idempotency_key, packed_key + ".3");
}

TEST_F(BatchTest, OrderedIsRefusedAndTheUidIsRequired) {
    EXPECT_THROW(remote::connect_batch(ticket, &apply_batch,
                                       {.queue = "q", .dispatch_uid = "x", .ordered = true}),
                 std::invalid_argument);
    EXPECT_THROW(remote::connect_batch(ticket, &apply_batch, {.queue = "q"}),
                 std::invalid_argument);
}

}  // namespace batch_test
}  // namespace
}  // namespace tocsin::test::remote_test
