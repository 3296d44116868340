// The send observer (tocsin::set_send_observer) and ReceiverStats: what a send reports, in what
// order, for every kind of receiver; off by default; set and unset while threads send.
#include <tocsin/dispatch.hpp>
#include <tocsin/dispatch/async.hpp>
#include <tocsin/dispatch/profiler.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {
namespace profiler_test {

using tocsin::ReceiverEvent;
using tocsin::Sender;
using tocsin::SendEvent;
using tocsin::Signal;

struct Order {};
struct Refund {};

/// Records every event as a line, and the raw events, under a lock.
class Recorder : public tocsin::SendObserver {
  public:
    void on_send(const SendEvent& e) noexcept override {
        const std::lock_guard lock(mutex_);
        lines_.push_back("send " + std::string(e.signal_name) + " from " + e.sender);
        sends_.push_back(e.send_id);
        instances_.push_back(e.instance);
        open_.insert(e.send_id);
    }
    void on_receiver(const ReceiverEvent& e) noexcept override {
        const std::lock_guard lock(mutex_);
        std::string line = e.deferred_to_commit ? "defer " : "call ";
        line += e.receiver;
        if (!e.ok) {
            line += " threw " + e.error;
        }
        lines_.push_back(line);
        receivers_.push_back(ReceiverCopy{e.send_id, std::string(e.signal_name), e.receiver,
                                          e.duration, e.ok, e.deferred_to_commit});
    }
    void on_send_done(std::uint64_t id) noexcept override {
        const std::lock_guard lock(mutex_);
        lines_.push_back("done");
        done_.push_back(id);
        open_.erase(id);
    }

    struct ReceiverCopy {
        std::uint64_t send_id;
        std::string signal;
        std::string receiver;
        std::chrono::nanoseconds duration;
        bool ok;
        bool deferred;
    };
    std::vector<std::string> lines() const {
        const std::lock_guard lock(mutex_);
        return lines_;
    }
    std::vector<std::uint64_t> sends() const {
        const std::lock_guard lock(mutex_);
        return sends_;
    }
    std::vector<std::string> instances() const {
        const std::lock_guard lock(mutex_);
        return instances_;
    }
    std::vector<std::uint64_t> done() const {
        const std::lock_guard lock(mutex_);
        return done_;
    }
    std::vector<ReceiverCopy> receivers() const {
        const std::lock_guard lock(mutex_);
        return receivers_;
    }
    std::size_t open() const {
        const std::lock_guard lock(mutex_);
        return open_.size();
    }

  private:
    mutable std::mutex mutex_;
    std::vector<std::string> lines_;
    std::vector<std::uint64_t> sends_;
    std::vector<std::string> instances_;
    std::vector<std::uint64_t> done_;
    std::vector<ReceiverCopy> receivers_;
    std::set<std::uint64_t> open_;
};

/// Sets an observer for the test's duration and unsets it after.
class Profiler : public ::testing::Test {
  protected:
    void SetUp() override { ASSERT_EQ(tocsin::set_send_observer(recorder), nullptr); }
    void TearDown() override { tocsin::set_send_observer(nullptr); }
    std::shared_ptr<Recorder> recorder = std::make_shared<Recorder>();
};

void order_receiver(const Order&) {}

TEST(ProfilerOff, NoObserverByDefault) {
    EXPECT_EQ(tocsin::send_observer(), nullptr);
}

TEST(ProfilerOff, SetReturnsThePreviousObserverAndNullUnsets) {
    auto first = std::make_shared<Recorder>();
    auto second = std::make_shared<Recorder>();
    EXPECT_EQ(tocsin::set_send_observer(first), nullptr);
    EXPECT_EQ(tocsin::send_observer(), first);
    EXPECT_EQ(tocsin::set_send_observer(second), first);
    EXPECT_EQ(tocsin::set_send_observer(nullptr), second);
    EXPECT_EQ(tocsin::send_observer(), nullptr);

    Signal<void(const Order&)> sig{"test.off"};
    sig.connect([](const Order&) {});
    sig.send(Sender::of<Order>(), Order{});
    EXPECT_TRUE(first->lines().empty());
    EXPECT_TRUE(second->lines().empty());
}

TEST_F(Profiler, ASendReportsItsSignalSenderEachReceiverInOrderAndItsEnd) {
    Signal<void(const Order&)> sig{"store.order_created"};
    sig.connect(&order_receiver);
    sig.connect([](const Order&) {}, {.name = "notify_warehouse"});
    sig.connect([](const Order&) {}, {.dispatch_uid = "audit.log", .priority = 5});

    sig.send(Sender::of<Order>(), Order{});

    const auto listed = sig.receivers();
    ASSERT_EQ(listed.size(), 3U);
    EXPECT_EQ(recorder->lines(), (std::vector<std::string>{
                                     "send store.order_created from " + Sender::of<Order>().name(),
                                     "call " + listed[0].name, "call " + listed[1].name,
                                     "call " + listed[2].name, "done"}));
    EXPECT_EQ(listed[0].name, "audit.log");
    EXPECT_EQ(listed[2].name, "notify_warehouse");
    ASSERT_EQ(recorder->sends().size(), 1U);
    const std::uint64_t id = recorder->sends()[0];
    EXPECT_NE(id, 0U);
    EXPECT_EQ(recorder->done(), std::vector<std::uint64_t>{id});
    for (const auto& r : recorder->receivers()) {
        EXPECT_EQ(r.send_id, id);
        EXPECT_EQ(r.signal, "store.order_created");
        EXPECT_TRUE(r.ok);
        EXPECT_FALSE(r.deferred);
        EXPECT_GE(r.duration.count(), 0);
    }
}

TEST_F(Profiler, TheDurationIsTheReceiversTime) {
    Signal<void()> sig{"test.slow"};
    sig.connect([] { std::this_thread::sleep_for(std::chrono::milliseconds(20)); });
    sig.send({});
    ASSERT_EQ(recorder->receivers().size(), 1U);
    EXPECT_GE(recorder->receivers()[0].duration, std::chrono::milliseconds(20));
}

TEST_F(Profiler, EachSendHasItsOwnId) {
    Signal<void()> sig{"test.ids"};
    sig.connect([] {});
    sig.send({});
    sig.send({});
    const auto ids = recorder->sends();
    ASSERT_EQ(ids.size(), 2U);
    EXPECT_NE(ids[0], ids[1]);
    EXPECT_EQ(recorder->done(), ids);
}

TEST_F(Profiler, ASendThatReachesNoReceiverIsNotReported) {
    Signal<void()> never{"test.never_connected"};
    never.send({});
    Signal<void()> other{"test.other_sender"};
    other.connect([] {}, {.sender = Sender::of<Order>()});
    other.send(Sender::of<Refund>());
    EXPECT_TRUE(recorder->lines().empty());
}

TEST_F(Profiler, AThrowingReceiverIsReportedWithItsErrorAndTheSendStillEnds) {
    Signal<void()> sig{"test.throws"};
    sig.connect([] { throw std::runtime_error("out of stock"); }, {.name = "reserve"});
    sig.connect([] {}, {.name = "never_reached"});
    EXPECT_THROW(sig.send({}), std::runtime_error);
    EXPECT_EQ(recorder->lines(),
              (std::vector<std::string>{"send test.throws from (none)",
                                        "call reserve threw out of stock", "done"}));
    ASSERT_EQ(recorder->receivers().size(), 1U);
    EXPECT_FALSE(recorder->receivers()[0].ok);
}

TEST_F(Profiler, SendRobustReportsEveryReceiverAndItsError) {
    Signal<int()> sig{"test.robust"};
    sig.connect([]() -> int { throw std::runtime_error("boom"); }, {.name = "bad"});
    sig.connect([] { return 2; }, {.name = "good"});
    sig.set_error_logger([](const tocsin::ReceiverError&) {});
    const auto outcomes = sig.send_robust({});
    ASSERT_EQ(outcomes.size(), 2U);
    EXPECT_TRUE(outcomes[0].error);
    EXPECT_EQ(*outcomes[1].value, 2);
    EXPECT_EQ(recorder->lines(),
              (std::vector<std::string>{"send test.robust from (none)", "call bad threw boom",
                                        "call good", "done"}));
}

TEST_F(Profiler, ANonVoidSendReportsItsReceiversAndKeepsTheirValues) {
    Signal<int(int)> sig{"test.values"};
    sig.connect([](int v) { return v + 1; }, {.name = "plus_one"});
    const auto responses = sig.send({}, 41);
    ASSERT_EQ(responses.size(), 1U);
    EXPECT_EQ(responses[0].value, 42);
    EXPECT_EQ(recorder->lines(),
              (std::vector<std::string>{"send test.values from (none)", "call plus_one", "done"}));
}

TEST_F(Profiler, ANestedSendIsASendOfItsOwn) {
    Signal<void()> inner{"test.inner"};
    inner.connect([] {}, {.name = "inner_receiver"});
    Signal<void()> outer{"test.outer"};
    outer.connect([&] { inner.send({}); }, {.name = "outer_receiver"});
    outer.send({});
    EXPECT_EQ(
        recorder->lines(),
        (std::vector<std::string>{"send test.outer from (none)", "send test.inner from (none)",
                                  "call inner_receiver", "done", "call outer_receiver", "done"}));
    const auto ids = recorder->sends();
    ASSERT_EQ(ids.size(), 2U);
    EXPECT_EQ(recorder->done(), (std::vector<std::uint64_t>{ids[1], ids[0]}));
    const auto calls = recorder->receivers();
    ASSERT_EQ(calls.size(), 2U);
    EXPECT_EQ(calls[0].send_id, ids[1]);
    EXPECT_EQ(calls[1].send_id, ids[0]);
}

std::string describe_order(const void* object, const void* context) {
    return *static_cast<const std::string*>(context) + " #" +
           std::to_string(static_cast<const Order*>(object) != nullptr ? 7 : 0);
}

// What a send is about (SendEvent::instance, the model layer's instance): the subject set on
// the sending thread is taken by the next observed send only; the sends its receivers make, and
// the sends after the scope, are about nothing.
TEST_F(Profiler, ASendTellsTheInstanceItIsAbout) {
    Signal<void()> nested{"test.nested"};
    nested.connect([] {});
    Signal<void(const Order&)> sig{"store.order_saved"};
    sig.connect([&](const Order&) { nested.send(Sender{}); });
    Signal<void()> silent{"test.silent"};  // no receivers: no probe takes the subject

    const Order order;
    const std::string model = "store.Order";
    const tocsin::detail::SendSubject subject{&order, &model, &describe_order};
    {
        const tocsin::detail::SubjectScope scope(subject);
        sig.send(Sender::of<Order>(), order);
    }
    {
        const tocsin::detail::SubjectScope scope(subject);
        silent.send(Sender{});
    }
    nested.send(Sender{});
    sig.send(Sender::of<Order>(), order);
    EXPECT_EQ(recorder->instances(), (std::vector<std::string>{"store.Order #7", "", "", "", ""}));
}

TEST_F(Profiler, ADeadTrackedReceiverIsNotReported) {
    Signal<void()> sig{"test.tracked"};
    auto owner = std::make_shared<int>(1);
    sig.connect([] {}, {.track = owner, .name = "tracked"});
    sig.connect([] {}, {.name = "plain"});
    owner.reset();
    sig.send({});
    EXPECT_EQ(recorder->lines(),
              (std::vector<std::string>{"send test.tracked from (none)", "call plain", "done"}));
}

TEST_F(Profiler, AsyncReceiversAreReportedFromTheirExecutor) {
    Signal<void()> sig{"test.async"};
    std::atomic<int> calls{0};
    sig.connect([&] { ++calls; }, {.executor = tocsin::default_executor(), .name = "on_pool"});
    sig.connect([&] { ++calls; }, {.name = "in_order"});
    sig.send({});
    EXPECT_EQ(calls.load(), 2);
    EXPECT_EQ(recorder->lines(),
              (std::vector<std::string>{"send test.async from (none)", "call in_order",
                                        "call on_pool", "done"}));
}

TEST_F(Profiler, AsendIsReportedAndEndsAfterItsReceivers) {
    Signal<void(int)> sig{"test.asend"};
    sig.connect([](int) {}, {.name = "first"});
    sig.connect([](int) {}, {.executor = tocsin::default_executor(), .name = "second"});
    sig.asend({}, 1).get();
    // The send's end is reported when its last task lets go of it: wait for it briefly.
    for (int i = 0; i < 500 && recorder->open() != 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    auto lines = recorder->lines();
    ASSERT_EQ(lines.size(), 4U);
    EXPECT_EQ(lines.front(), "send test.asend from (none)");
    EXPECT_EQ(lines.back(), "done");
    EXPECT_EQ(std::set<std::string>(lines.begin() + 1, lines.end() - 1),
              (std::set<std::string>{"call first", "call second"}));
}

/// A commit deferrer standing for an open transaction: tasks wait until commit().
std::vector<std::function<void()>>& pending() {
    static std::vector<std::function<void()>> tasks;
    return tasks;
}
void queue_until_commit(std::function<void()> task, std::string_view /*alias*/) {
    pending().push_back(std::move(task));
}
void commit() {
    auto tasks = std::move(pending());
    pending().clear();
    for (auto& t : tasks) {
        t();
    }
}

TEST_F(Profiler, ACommitTimeReceiverReportsItsDeferralThenItsOwnRun) {
    tocsin::set_commit_deferrer(&queue_until_commit);
    Signal<void(int)> sig{"test.commit_time"};
    sig.connect([](int) {}, {.name = "mail_on_commit", .on_commit = true});
    sig.connect(
        [](int v) {
            if (v == 2) {
                throw std::runtime_error("mail server down");
            }
        },
        {.name = "fails_on_commit", .on_commit = true});
    sig.connect([](int) {}, {.name = "at_once"});
    sig.set_error_logger([](const tocsin::ReceiverError&) {});

    sig.send({}, 2);
    EXPECT_EQ(recorder->lines(),
              (std::vector<std::string>{"send test.commit_time from (none)", "defer mail_on_commit",
                                        "defer fails_on_commit", "call at_once", "done"}));
    commit();
    tocsin::set_commit_deferrer(nullptr);
    const auto lines = recorder->lines();
    ASSERT_EQ(lines.size(), 7U);
    EXPECT_EQ(lines[5], "call mail_on_commit");
    EXPECT_EQ(lines[6], "call fails_on_commit threw mail server down");

    const auto calls = recorder->receivers();
    ASSERT_EQ(calls.size(), 5U);
    const std::uint64_t id = recorder->sends().at(0);
    for (const auto& c : calls) {
        EXPECT_EQ(c.send_id, id) << c.receiver;
        EXPECT_EQ(c.signal, "test.commit_time");
    }
    EXPECT_TRUE(calls[0].deferred);
    EXPECT_FALSE(calls[3].deferred);
    EXPECT_FALSE(calls[4].ok);
}

TEST_F(Profiler, ACommitTimeRunAfterTheObserverWasUnsetIsNotReported) {
    tocsin::set_commit_deferrer(&queue_until_commit);
    Signal<void()> sig{"test.unset_before_commit"};
    sig.connect([] {}, {.name = "later", .on_commit = true});
    sig.send({});
    tocsin::set_send_observer(nullptr);
    commit();
    tocsin::set_commit_deferrer(nullptr);
    EXPECT_EQ(recorder->lines(),
              (std::vector<std::string>{"send test.unset_before_commit from (none)", "defer later",
                                        "done"}));
}

TEST(ReceiverStats, CountsCallsErrorsDeferralsAndTimesPerReceiver) {
    auto stats = std::make_shared<tocsin::ReceiverStats>();
    ASSERT_EQ(tocsin::set_send_observer(stats), nullptr);
    Signal<void(int)> sig{"test.stats"};
    sig.connect(
        [](int v) {
            if (v % 4 == 0) {
                throw std::runtime_error("multiple of four");
            }
        },
        {.name = "picky"});
    sig.connect([](int) { std::this_thread::sleep_for(std::chrono::microseconds(200)); },
                {.name = "slow"});
    sig.set_error_logger([](const tocsin::ReceiverError&) {});
    for (int i = 1; i <= 20; ++i) {
        (void)sig.send_robust({}, i);
    }
    tocsin::set_send_observer(nullptr);
    sig.send({}, 1);  // not counted: the observer is unset

    const auto rows = stats->snapshot();
    ASSERT_EQ(rows.size(), 2U);
    EXPECT_EQ(rows[0].signal, "test.stats");
    EXPECT_EQ(rows[0].receiver, "picky");
    EXPECT_EQ(rows[0].calls, 20U);
    EXPECT_EQ(rows[0].errors, 5U);
    EXPECT_EQ(rows[0].last_error, "multiple of four");
    EXPECT_EQ(rows[1].receiver, "slow");
    EXPECT_EQ(rows[1].calls, 20U);
    EXPECT_EQ(rows[1].errors, 0U);
    EXPECT_GE(rows[1].total, std::chrono::microseconds(20 * 200));
    EXPECT_GE(rows[1].p50, std::chrono::microseconds(200));
    EXPECT_GE(rows[1].p99, rows[1].p50);
    EXPECT_LE(rows[1].p99, rows[1].total);

    stats->reset();
    EXPECT_TRUE(stats->snapshot().empty());
}

TEST(ReceiverStats, PercentilesAreOverTheRuns) {
    tocsin::ReceiverStats stats;
    for (int i = 1; i <= 100; ++i) {
        ReceiverEvent e;
        e.signal_name = "s";
        e.receiver = "r";
        e.duration = std::chrono::nanoseconds(i);
        stats.on_receiver(e);
    }
    ReceiverEvent deferral;
    deferral.signal_name = "s";
    deferral.receiver = "r";
    deferral.duration = std::chrono::seconds(1);
    deferral.deferred_to_commit = true;
    stats.on_receiver(deferral);
    const auto rows = stats.snapshot();
    ASSERT_EQ(rows.size(), 1U);
    EXPECT_EQ(rows[0].calls, 100U);
    EXPECT_EQ(rows[0].deferred, 1U);
    EXPECT_EQ(rows[0].total, std::chrono::nanoseconds(5050));
    EXPECT_EQ(rows[0].p50, std::chrono::nanoseconds(50));
    EXPECT_EQ(rows[0].p99, std::chrono::nanoseconds(99));
}

// Threads send without pause while another sets and unsets observers: every send an observer
// heard begins and ends with it, no event comes without its send, nothing races (TSan).
TEST(ProfilerConcurrency, ObserverSetAndUnsetWhileThreadsSend) {
    Signal<void(int)> sig{"test.concurrent"};
    std::atomic<long> calls{0};
    sig.connect([&](int) { calls.fetch_add(1, std::memory_order_relaxed); }, {.name = "a"});
    sig.connect([&](int) { calls.fetch_add(1, std::memory_order_relaxed); }, {.name = "b"});
    std::atomic<bool> stop{false};
    std::vector<std::thread> senders;
    constexpr int threads = 3;
    std::atomic<long> sent{0};
    for (int t = 0; t < threads; ++t) {
        senders.emplace_back([&, t] {
            while (!stop.load(std::memory_order_relaxed)) {
                if (t == 0) {
                    (void)sig.send_robust({}, t);
                } else {
                    sig.send({}, t);
                }
                sent.fetch_add(1, std::memory_order_relaxed);
            }
        });
    }
    std::vector<std::shared_ptr<Recorder>> recorders;
    for (int round = 0; round < 40; ++round) {
        recorders.push_back(std::make_shared<Recorder>());
        tocsin::set_send_observer(recorders.back());
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        tocsin::set_send_observer(nullptr);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    stop = true;
    for (auto& t : senders) {
        t.join();
    }
    EXPECT_EQ(calls.load(), 2 * sent.load());
    std::size_t heard = 0;
    for (const auto& r : recorders) {
        EXPECT_EQ(r->open(), 0U);  // every on_send got its on_send_done
        const auto sends = r->sends();
        const std::set<std::uint64_t> ids(sends.begin(), sends.end());
        EXPECT_EQ(ids.size(), sends.size());
        const auto done = r->done();
        EXPECT_EQ(std::set<std::uint64_t>(done.begin(), done.end()), ids);
        const auto receivers = r->receivers();
        EXPECT_EQ(receivers.size(), 2 * sends.size());
        for (const auto& c : receivers) {
            EXPECT_TRUE(ids.count(c.send_id) == 1);
        }
        heard += sends.size();
    }
    EXPECT_GT(heard, 0U);
}

}  // namespace profiler_test
}  // namespace
