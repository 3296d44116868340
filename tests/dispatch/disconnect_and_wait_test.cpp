// Connection::disconnect_and_wait(): disconnects, then waits until no send on any thread is still
// running the receiver, so that what the receiver uses may be destroyed. Every path a send takes
// (the void fast path, several receivers, per-sender lists, tracked receivers, send with values,
// send_robust, async receivers, asend) is checked with a receiver held inside its call by a gate;
// the proof that the wait really waited is a flag the receiver sets as its last act, never a
// sleep.
#include <tocsin/dispatch.hpp>
#include <tocsin/dispatch/async.hpp>
#include <tocsin/dispatch/profiler.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "test_support.hpp"

struct Shipment {};
struct Refund {};

namespace {
namespace disconnect_and_wait_test {

using namespace std::chrono_literals;
using tocsin::Connect;
using tocsin::Connection;
using tocsin::ScopedMute;
using tocsin::Sender;
using tocsin::Signal;
using tocsin::ThreadPool;
using tocsin_test::ErrorRecorder;
using tocsin_test::Gate;
using tocsin_test::what_of;

// What disconnect_and_wait() says when called from a receiver.
constexpr const char* from_receiver_message =
    "tocsin: Connection::disconnect_and_wait() called from inside a send (a receiver) would wait "
    "for itself; use disconnect()";

// A receiver body that stops inside its call until released: `entered` opens when it is called,
// it then waits for `release`, and sets `finished` as its very last act.
struct HeldReceiver {
    Gate entered;
    Gate release;
    std::atomic<bool> finished{false};
    std::atomic<int> calls{0};

    void run() {
        calls.fetch_add(1, std::memory_order_relaxed);
        entered.open();
        EXPECT_TRUE(release.wait());
        finished.store(true, std::memory_order_release);
    }
};

// Runs `work` on a thread and fails the whole test binary at once (instead of hanging until the
// ctest timeout) when it has not returned within `limit`: a deadlock shows as a failure.
void finishes_within(const std::function<void()>& work, std::chrono::seconds limit = 20s) {
    std::promise<void> done;
    auto finished = done.get_future();
    std::thread t([&work, &done] {
        work();
        done.set_value();
    });
    if (finished.wait_for(limit) != std::future_status::ready) {
        std::fprintf(stderr, "FATAL: did not finish within %lld s (deadlock)\n",
                     static_cast<long long>(limit.count()));
        std::fflush(stderr);
        std::_Exit(1);
    }
    t.join();
}

// The heart of the "it really waits" tests: `start_send` (run on a thread of its own) makes a
// send that calls `held.run()` through the receiver of `c`. Once the receiver is inside its call,
// this thread calls c.disconnect_and_wait(); a helper releases the receiver only after the
// disconnect took effect (c.connected() is false) and checked that the wait has not returned
// meanwhile. When disconnect_and_wait() returns, the receiver must have finished.
void expect_waits_for(const Connection& c, HeldReceiver& held,
                      const std::function<void()>& start_send) {
    std::thread sender(start_send);
    if (!held.entered.wait()) {
        held.release.open();
        sender.join();
        FAIL() << "the receiver was not called";
    }
    std::atomic<bool> returned{false};
    std::thread releaser([&] {
        while (c.connected()) {
            std::this_thread::yield();
        }
        // Give a wrong implementation the chance to return early (not the proof: see below).
        std::this_thread::sleep_for(20ms);
        EXPECT_FALSE(returned.load()) << "disconnect_and_wait() returned while the receiver ran";
        held.release.open();
    });
    EXPECT_TRUE(c.disconnect_and_wait());
    returned.store(true);
    EXPECT_TRUE(held.finished.load(std::memory_order_acquire))
        << "disconnect_and_wait() returned before the running receiver did";
    releaser.join();
    sender.join();
    EXPECT_FALSE(c.connected());
    EXPECT_EQ(held.calls.load(), 1);
}

// ------------------------------------------------------------------ it waits for a running call

TEST(DisconnectAndWait, WaitsForTheLoneReceiverRunningOnAnotherThread) {
    Signal<void(int)> sig;
    HeldReceiver held;
    const Connection c = sig.connect([&held](int) { held.run(); });
    // A thread's first send takes the general path, the next ones the fast path: both.
    for (int round = 0; round < 2; ++round) {
        HeldReceiver again;
        const Connection d = sig.connect([&again](int) { again.run(); });
        c.disconnect();
        expect_waits_for(d, again, [&sig] {
            sig.send({}, 1);
            sig.send({}, 2);  // not called again: disconnected by now
        });
    }
    EXPECT_EQ(held.calls.load(), 0);
}

TEST(DisconnectAndWait, WaitsWhenTheSendHoldsSeveralReceivers) {
    Signal<void()> sig;
    std::atomic<int> others{0};
    sig.connect([&others] { others.fetch_add(1); });
    HeldReceiver held;
    const Connection c = sig.connect([&held] { held.run(); });
    sig.connect([&others] { others.fetch_add(1); });
    expect_waits_for(c, held, [&sig] { sig.send({}); });
    EXPECT_EQ(others.load(), 2);
    sig.send({});
    EXPECT_EQ(others.load(), 4);
}

TEST(DisconnectAndWait, WaitsForAReceiverOfOneSender) {
    Signal<void()> sig;
    HeldReceiver held;
    const Connection c = sig.connect([&held] { held.run(); }, {.sender = Sender::of<Shipment>()});
    sig.connect([] {});  // a sender-less one too: the send merges both lists
    expect_waits_for(c, held, [&sig] { sig.send(Sender::of<Shipment>()); });
}

TEST(DisconnectAndWait, WaitsForAReceiverOfSendersOnly) {
    Signal<void()> sig;  // no sender-less receiver: the send walks the sender's own list in place
    HeldReceiver held;
    const Connection c = sig.connect([&held] { held.run(); }, {.sender = Sender::of<Shipment>()});
    expect_waits_for(c, held, [&sig] { sig.send(Sender::of<Shipment>()); });
}

TEST(DisconnectAndWait, WaitsForAReceiverHeardThroughAnAddedSender) {
    Signal<void()> sig;
    HeldReceiver held;
    const Connection c = sig.connect([&held] { held.run(); }, {.sender = Sender::of<Shipment>()});
    ASSERT_TRUE(sig.add_sender(c, Sender::of<Refund>()));
    expect_waits_for(c, held, [&sig] {
        sig.send(Sender::of<Refund>());
        sig.send(Sender::of<Shipment>());  // not called: the one disconnect removed both
    });
}

TEST(DisconnectAndWait, WaitsForANonVoidSend) {
    Signal<int(int)> sig;
    HeldReceiver held;
    const Connection c = sig.connect([&held](int v) {
        held.run();
        return v;
    });
    std::vector<tocsin::Response<int>> responses;
    expect_waits_for(c, held, [&] { responses = sig.send({}, 7); });
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_EQ(responses[0].value, 7);
}

TEST(DisconnectAndWait, WaitsForSendRobust) {
    Signal<int()> sig;
    HeldReceiver held;
    const Connection c = sig.connect([&held]() -> int {
        held.run();
        throw std::runtime_error("after the gate");
    });
    ErrorRecorder errors;
    sig.set_error_logger(errors.logger());
    std::vector<tocsin::Outcome<int>> outcomes;
    expect_waits_for(c, held, [&] { outcomes = sig.send_robust({}); });
    ASSERT_EQ(outcomes.size(), 1u);
    EXPECT_EQ(what_of(outcomes[0].error), "after the gate");
}

TEST(DisconnectAndWait, WaitsForAVoidSendWhileASendObserverIsSet) {
    Signal<void()> sig;
    HeldReceiver held;
    const Connection c = sig.connect([&held] { held.run(); });
    tocsin::set_send_observer(std::make_shared<tocsin::ReceiverStats>());
    expect_waits_for(c, held, [&sig] { sig.send({}); });
    tocsin::set_send_observer(nullptr);
}

TEST(DisconnectAndWait, WaitsForATrackedReceiverAndItsObjectOutlivesTheCall) {
    struct Cart {
        Cart(HeldReceiver* h, std::atomic<bool>* d) : held(h), destroyed(d) {}
        Cart(const Cart&) = delete;
        Cart& operator=(const Cart&) = delete;
        HeldReceiver* held;
        std::atomic<bool>* destroyed;
        void on_event() { held->run(); }
        ~Cart() {
            // Destroyed only after the receiver returned (the send kept it alive).
            EXPECT_TRUE(held->finished.load(std::memory_order_acquire));
            destroyed->store(true);
        }
    };
    Signal<void()> sig;
    HeldReceiver held;
    std::atomic<bool> destroyed{false};
    auto cart = std::make_shared<Cart>(&held, &destroyed);
    const Connection c = sig.connect(&Cart::on_event, cart);
    std::thread sender([&sig] { sig.send({}); });
    ASSERT_TRUE(held.entered.wait());
    cart.reset();  // the owner lets go while the receiver runs: the send still holds the object
    EXPECT_FALSE(destroyed.load());
    EXPECT_TRUE(c.connected());
    std::thread releaser([&c, &held] {
        while (c.connected()) {
            std::this_thread::yield();
        }
        held.release.open();
    });
    EXPECT_TRUE(c.disconnect_and_wait());  // still connected when called: its object lived
    EXPECT_TRUE(held.finished.load(std::memory_order_acquire));
    releaser.join();
    sender.join();
    EXPECT_TRUE(destroyed.load());
}

TEST(DisconnectAndWait, WaitsWhileTheSendingThreadMutesAnotherSignal) {
    Signal<void()> sig;
    Signal<void()> other;
    HeldReceiver held;
    const Connection c = sig.connect([&held] { held.run(); });
    expect_waits_for(c, held, [&] {
        const ScopedMute mute(other);  // a muted thread sends by the general path
        sig.send({});
    });
}

// ------------------------------------------------------------------ async receivers and asend

TEST(DisconnectAndWait, WaitsForAnAsyncReceiverOfASend) {
    Signal<void()> sig;
    auto pool = std::make_shared<ThreadPool>(1);
    HeldReceiver held;
    const Connection c = sig.connect([&held] { held.run(); }, {.executor = pool});
    expect_waits_for(c, held, [&sig] { sig.send({}); });
}

TEST(DisconnectAndWait, WaitsForASynchronousReceiverRunByAsend) {
    Signal<int()> sig;
    HeldReceiver held;
    const Connection c = sig.connect([&held] {
        held.run();
        return 3;
    });
    std::future<std::vector<tocsin::Response<int>>> future;
    expect_waits_for(c, held, [&] { future = sig.asend({}); });
    const auto responses = future.get();
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_EQ(responses[0].value, 3);
}

TEST(DisconnectAndWait, WaitsForAnAsyncReceiverRunByAsendRobust) {
    Signal<void()> sig;
    auto pool = std::make_shared<ThreadPool>(1);
    HeldReceiver held;
    const Connection c = sig.connect([&held] { held.run(); }, {.executor = pool});
    std::future<std::vector<tocsin::Outcome<void>>> future;
    expect_waits_for(c, held, [&] { future = sig.asend_robust({}); });
    const auto outcomes = future.get();
    ASSERT_EQ(outcomes.size(), 1u);
    EXPECT_FALSE(outcomes[0].error);
}

TEST(DisconnectAndWait, AnAsendStartedBeforeButNotYetRunningNeverCallsTheReceiver) {
    Signal<void()> sig;
    auto pool = std::make_shared<ThreadPool>(1);
    Gate busy;
    Gate free_pool;
    pool->execute([&] {  // holds the pool's one thread
        busy.open();
        EXPECT_TRUE(free_pool.wait());
    });
    ASSERT_TRUE(busy.wait());
    std::atomic<int> calls{0};
    const Connection c = sig.connect([&calls] { calls.fetch_add(1); }, {.executor = pool});
    auto future = sig.asend_robust({});  // queued behind the task that holds the pool
    EXPECT_TRUE(c.disconnect_and_wait());
    free_pool.open();
    EXPECT_TRUE(future.get().empty());  // disconnected before its turn: not called
    EXPECT_EQ(calls.load(), 0);
}

// ------------------------------------------------------------------ never called again

// Many threads send (every kind of send) while the receiver is disconnected and waited for; from
// the moment disconnect_and_wait() returns, no send may call it, and what it used may be freed.
TEST(DisconnectAndWait, NoSendCallsTheReceiverAfterItReturns) {
    struct Resource {
        std::atomic<long> uses{0};
    };
    constexpr int senders = 6;
    for (int round = 0; round < 20; ++round) {
        Signal<int(int)> sig;
        auto resource = std::make_unique<Resource>();
        Resource* raw = resource.get();
        std::atomic<bool> waited{false};
        std::atomic<int> late_calls{0};
        std::atomic<long> calls{0};
        sig.connect([](int v) { return v; });
        const Connection c = sig.connect(
            [raw, &waited, &late_calls, &calls](int v) {
                if (waited.load(std::memory_order_seq_cst)) {
                    late_calls.fetch_add(1);
                    return v;
                }
                raw->uses.fetch_add(1, std::memory_order_relaxed);  // freed once waited
                calls.fetch_add(1, std::memory_order_relaxed);
                return v;
            },
            {.sender = Sender::of<Shipment>()});
        ASSERT_TRUE(sig.add_sender(c, Sender::of<Refund>()));
        std::atomic<bool> stop{false};
        std::vector<std::thread> threads;
        for (int t = 0; t < senders; ++t) {
            threads.emplace_back([&sig, &stop, t] {
                while (!stop.load(std::memory_order_relaxed)) {
                    switch (t % 3) {
                        case 0:
                            sig.send(Sender::of<Shipment>(), t);
                            break;
                        case 1:
                            sig.send_robust(Sender::of<Refund>(), t);
                            break;
                        default:
                            sig.send(Sender::of<Shipment>(), t);
                            sig.send({}, t);
                            break;
                    }
                }
            });
        }
        while (calls.load(std::memory_order_relaxed) < 50) {
            std::this_thread::yield();
        }
        EXPECT_TRUE(c.disconnect_and_wait());
        resource.reset();  // what the receiver used: safe to destroy now
        waited.store(true, std::memory_order_seq_cst);
        const long after = calls.load(std::memory_order_relaxed);
        // Let every sender make more sends after the wait.
        std::this_thread::sleep_for(5ms);
        stop.store(true);
        for (auto& t : threads) {
            t.join();
        }
        EXPECT_EQ(late_calls.load(), 0) << "round " << round;
        EXPECT_EQ(calls.load(), after) << "round " << round;
        EXPECT_FALSE(c.connected());
    }
}

// ------------------------------------------------------------------ what it returns

TEST(DisconnectAndWait, ReturnsTrueOnceThenFalse) {
    Signal<void()> sig;
    int calls = 0;
    const Connection c = sig.connect([&calls] { ++calls; });
    const Connection copy = c;
    EXPECT_TRUE(c.disconnect_and_wait());
    EXPECT_FALSE(c.disconnect_and_wait());
    EXPECT_FALSE(copy.disconnect_and_wait());
    EXPECT_FALSE(copy.disconnect());
    sig.send({});
    EXPECT_EQ(calls, 0);
    EXPECT_TRUE(tocsin_test::is_clean(sig));
}

TEST(DisconnectAndWait, ReturnsFalseForAnEmptyConnection) {
    const Connection empty;
    EXPECT_FALSE(empty.disconnect_and_wait());
    tocsin::ScopedConnection scoped;
    EXPECT_FALSE(scoped.get().disconnect_and_wait());
}

TEST(DisconnectAndWait, ReturnsFalseWhenDisconnectedOtherwise) {
    Signal<void()> sig;
    const Connection by_signal = sig.connect([] {});
    const Connection by_all = sig.connect([] {});
    const Connection by_uid = sig.connect([] {}, {.dispatch_uid = "uid"});
    const Connection by_handle = sig.connect([] {});
    EXPECT_TRUE(sig.disconnect(by_signal));
    EXPECT_TRUE(sig.disconnect("uid"));
    EXPECT_TRUE(by_handle.disconnect());
    EXPECT_EQ(sig.disconnect_all(), 1u);
    EXPECT_FALSE(by_signal.disconnect_and_wait());
    EXPECT_FALSE(by_all.disconnect_and_wait());
    EXPECT_FALSE(by_uid.disconnect_and_wait());
    EXPECT_FALSE(by_handle.disconnect_and_wait());
}

TEST(DisconnectAndWait, ReturnsFalseForATrackedReceiverWhoseObjectExpired) {
    struct Listener {
        void on_event() {}
    };
    Signal<void()> sig;
    auto listener = std::make_shared<Listener>();
    const Connection c = sig.connect(&Listener::on_event, listener);
    EXPECT_TRUE(c.connected());
    listener.reset();
    EXPECT_FALSE(c.connected());
    EXPECT_FALSE(c.disconnect_and_wait());  // gone with its object, not disconnected by this call
    EXPECT_EQ(sig.receiver_count(), 0u);
    EXPECT_TRUE(tocsin_test::is_clean(sig));

    // The same with Connect::track, after a send met the expired receiver.
    auto owner = std::make_shared<int>(1);
    int calls = 0;
    const Connection d = sig.connect([&calls] { ++calls; }, {.track = owner});
    owner.reset();
    sig.send({});
    EXPECT_EQ(calls, 0);
    EXPECT_FALSE(d.disconnect_and_wait());
    EXPECT_TRUE(tocsin_test::is_clean(sig));
}

TEST(DisconnectAndWait, ReturnsFalseWhenTheSignalWasDestroyed) {
    auto captured = std::make_shared<int>(1);
    const std::weak_ptr<int> watch = captured;
    Connection c;
    {
        Signal<void()> sig;
        c = sig.connect([held = std::move(captured)] {});
        sig.send({});
    }
    EXPECT_FALSE(c.connected());
    EXPECT_FALSE(c.disconnect_and_wait());
    EXPECT_TRUE(watch.expired());  // released by the signal's destruction, not kept by `c`
}

TEST(DisconnectAndWait, ReleasesWhatTheReceiverCapturedBeforeItReturns) {
    Signal<void()> sig;
    auto captured = std::make_shared<int>(1);
    const std::weak_ptr<int> watch = captured;
    const Connection c = sig.connect([held = std::move(captured)] {});
    std::thread([&sig] { sig.send({}); }).join();  // another thread sent, and is done
    EXPECT_TRUE(c.disconnect_and_wait());
    EXPECT_TRUE(watch.expired());
}

TEST(DisconnectAndWait, WorksWhileThisThreadMutesTheSignal) {
    Signal<void()> sig;
    int calls = 0;
    const Connection c = sig.connect([&calls] { ++calls; });
    sig.send({});
    const ScopedMute mute(sig);
    sig.send({});
    EXPECT_TRUE(c.disconnect_and_wait());  // muted is not inside a send
    EXPECT_FALSE(c.connected());
    EXPECT_EQ(calls, 1);
}

// A commit-time receiver's send hands its call to the transaction (Django's on_commit): a call
// deferred before the disconnect still runs at the commit, as Django's queued on_commit callbacks
// do. disconnect_and_wait() neither cancels nor waits for it (docs/dispatch.md says so); sends
// after it defer nothing.
std::vector<std::function<void()>>& deferred() {
    static std::vector<std::function<void()>> tasks;
    return tasks;
}
void defer_until_commit(std::function<void()> task, std::string_view /*alias*/) {
    deferred().push_back(std::move(task));
}

TEST(DisconnectAndWait, ACallAlreadyDeferredToTheCommitStillRuns) {
    tocsin::set_commit_deferrer(&defer_until_commit);
    Signal<void(int)> sig;
    std::vector<int> heard;
    const Connection c = sig.connect([&heard](int v) { heard.push_back(v); }, {.on_commit = true});
    sig.send({}, 1);
    EXPECT_TRUE(c.disconnect_and_wait());
    sig.send({}, 2);  // disconnected: nothing deferred
    tocsin::set_commit_deferrer(nullptr);
    auto tasks = std::move(deferred());
    deferred().clear();
    EXPECT_EQ(tasks.size(), 1u);
    for (auto& task : tasks) {  // the commit
        task();
    }
    EXPECT_EQ(heard, (std::vector<int>{1}));
}

// ------------------------------------------------------------------ from inside a receiver

// Calls `c.disconnect_and_wait()` and returns what it threw ("" if nothing); checks it was a
// std::logic_error.
std::string thrown_by_wait(const Connection& c) {
    try {
        c.disconnect_and_wait();
    } catch (const std::logic_error& e) {
        return e.what();
    } catch (...) {
        return "<not a std::logic_error>";
    }
    return "";
}

TEST(DisconnectAndWait, FromItsOwnReceiverThrowsLogicErrorAndLeavesItConnected) {
    Signal<void()> sig;
    Connection self;
    std::string thrown;
    int calls = 0;
    self = sig.connect([&] {
        ++calls;
        thrown = thrown_by_wait(self);
    });
    sig.send({});  // the thread's first send (general path)
    EXPECT_EQ(thrown, from_receiver_message);
    EXPECT_TRUE(self.connected());  // nothing done: the call refused to run
    thrown.clear();
    sig.send({});  // the fast path
    EXPECT_EQ(thrown, from_receiver_message);
    EXPECT_EQ(calls, 2);
    EXPECT_TRUE(self.connected());
    EXPECT_TRUE(self.disconnect_and_wait());  // outside the send it works
}

TEST(DisconnectAndWait, FromAnotherReceiverOfTheSameSignalThrows) {
    Signal<void()> sig;
    std::atomic<int> later_calls{0};
    Connection later;
    std::string thrown;
    sig.connect([&] { thrown = thrown_by_wait(later); });
    later = sig.connect([&later_calls] { later_calls.fetch_add(1); });
    sig.send({});
    EXPECT_EQ(thrown, from_receiver_message);
    EXPECT_TRUE(later.connected());
    EXPECT_EQ(later_calls.load(), 1);  // the refused call did not disconnect it
}

TEST(DisconnectAndWait, FromAReceiverOfAnotherSignalThrows) {
    Signal<void()> outer;
    Signal<int()> inner;
    const Connection target = inner.connect([] { return 1; });
    std::string thrown;
    outer.connect([&] { thrown = thrown_by_wait(target); });
    outer.send({});
    EXPECT_EQ(thrown, from_receiver_message);
    EXPECT_TRUE(target.connected());
    EXPECT_EQ(inner.send({}).size(), 1u);
}

TEST(DisconnectAndWait, FromANestedSendThrows) {
    Signal<void(int)> sig;
    std::string thrown;
    Connection self;
    self = sig.connect([&](int depth) {
        if (depth == 0) {
            sig.send({}, 1);
        } else {
            thrown = thrown_by_wait(self);
        }
    });
    sig.send({}, 0);
    EXPECT_EQ(thrown, from_receiver_message);
    EXPECT_TRUE(self.connected());
}

TEST(DisconnectAndWait, FromAReceiverOfANonVoidSendThrows) {
    Signal<int()> sig;
    Connection self;
    self = sig.connect([&] { return static_cast<int>(thrown_by_wait(self).size()); });
    const auto responses = sig.send({});
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_EQ(responses[0].value, static_cast<int>(std::string(from_receiver_message).size()));
}

TEST(DisconnectAndWait, FromAReceiverOfSendRobustIsItsOutcome) {
    Signal<void()> sig;
    Connection self;
    self = sig.connect([&] { self.disconnect_and_wait(); });
    ErrorRecorder errors;
    sig.set_error_logger(errors.logger());
    const auto outcomes = sig.send_robust({});
    ASSERT_EQ(outcomes.size(), 1u);
    EXPECT_EQ(what_of(outcomes[0].error), from_receiver_message);
    ASSERT_EQ(errors.errors().size(), 1u);
    EXPECT_EQ(errors.errors()[0].what, from_receiver_message);
    EXPECT_TRUE(self.connected());
}

TEST(DisconnectAndWait, FromAReceiverWhoseThreadIsMutedThrows) {
    Signal<void()> sig;
    Signal<void()> muted;
    Connection self;
    std::string thrown;
    self = sig.connect([&] { thrown = thrown_by_wait(self); });
    const ScopedMute mute(muted);
    sig.send({});
    EXPECT_EQ(thrown, from_receiver_message);
}

// An async receiver runs on its executor's thread while the send waits for it: waiting there
// would wait for the send, which waits for the receiver. It throws instead of deadlocking.
TEST(DisconnectAndWait, FromAnAsyncReceiverOfASendThrowsInsteadOfDeadlocking) {
    Signal<void()> sig;
    auto pool = std::make_shared<ThreadPool>(1);
    Connection self;
    std::string thrown;
    self = sig.connect([&] { thrown = thrown_by_wait(self); }, {.executor = pool});
    finishes_within([&sig] { sig.send({}); });
    EXPECT_EQ(thrown, from_receiver_message);
    EXPECT_TRUE(self.connected());
}

TEST(DisconnectAndWait, FromAReceiverRunByAsendThrows) {
    Signal<void()> sig;
    auto pool = std::make_shared<ThreadPool>(1);
    Connection sync_self;
    Connection async_self;
    std::string sync_thrown;
    std::string async_thrown;
    sync_self = sig.connect([&] { sync_thrown = thrown_by_wait(sync_self); });
    async_self =
        sig.connect([&] { async_thrown = thrown_by_wait(async_self); }, {.executor = pool});
    finishes_within([&sig] { sig.asend({}).get(); });
    EXPECT_EQ(sync_thrown, from_receiver_message);
    EXPECT_EQ(async_thrown, from_receiver_message);
    EXPECT_TRUE(sync_self.connected());
    EXPECT_TRUE(async_self.connected());
}

}  // namespace disconnect_and_wait_test
}  // namespace
