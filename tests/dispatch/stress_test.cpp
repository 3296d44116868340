// Multi-threaded stress: 4 threads send while 2 threads connect and disconnect other receivers,
// for TOCSIN_STRESS_SECONDS (default 3 s). What the rules promise, and what is checked:
//  - a receiver connected throughout hears every send exactly once (counted per sending thread);
//  - a sender-filtered receiver hears exactly its sender's sends, and never another's;
//  - a churn receiver is never called by a send that began after its disconnect() returned (or
//    after its tracked object died). A send already under way may still be calling it; that is
//    allowed, so it is not counted against the library;
//  - a tracked object is never destroyed while one of its methods runs;
//  - disconnect() returns true exactly once per receiver.
#include <tocsin/dispatch.hpp>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace {
namespace stress_test {

using tocsin::Connection;
using tocsin::ScopedConnection;
using tocsin::Sender;
using tocsin::Signal;

constexpr int kSenders = 4;
constexpr int kChurners = 2;
constexpr std::uint64_t kNever = std::numeric_limits<std::uint64_t>::max();

// A send carries the clock value read just before it began. A receiver whose removal was stamped
// with an earlier clock value must not be called by it.
struct World {
    Signal<void(int thread, std::uint64_t start)> sig{"stress"};
    std::atomic<std::uint64_t> clock{1};
    std::atomic<bool> stop{false};
    std::array<Sender, kSenders> senders{};
    std::array<std::atomic<std::uint64_t>, kSenders> heard_by_stable{};
    std::array<std::atomic<std::uint64_t>, kSenders> heard_by_filtered{};
    std::array<std::uint64_t, kSenders> sent{};  // each written by its own thread only
    std::atomic<std::uint64_t> wrong_sender{0};
    std::atomic<std::uint64_t> late_calls{0};
    std::atomic<std::uint64_t> churn_calls{0};
    std::atomic<std::uint64_t> destroyed_during_call{0};
    std::atomic<std::uint64_t> bad_disconnect_results{0};
    std::atomic<std::uint64_t> churn_rounds{0};

    std::uint64_t stamp() { return clock.fetch_add(1); }
};

// The state of one churn receiver, shared with its callable so that an in-flight call after the
// disconnect touches valid memory.
struct ChurnState {
    World* world;
    std::atomic<std::uint64_t> gone_at{kNever};
    std::atomic<std::uint64_t> calls{0};
    explicit ChurnState(World* w) : world(w) {}
    // Stamps the removal once; a later stamp would only weaken the check.
    void mark_gone() {
        std::uint64_t never = kNever;
        gone_at.compare_exchange_strong(never, world->stamp());
    }
    void called(std::uint64_t start) {
        ++calls;
        world->churn_calls.fetch_add(1, std::memory_order_relaxed);
        if (start > gone_at.load()) {
            world->late_calls.fetch_add(1);
        }
    }
};

// A tracked receiver object; it stamps its own death.
struct ChurnListener {
    std::shared_ptr<ChurnState> state;
    std::atomic<int> in_call{0};
    explicit ChurnListener(std::shared_ptr<ChurnState> s) : state(std::move(s)) {}
    ~ChurnListener() {
        if (in_call.load() != 0) {
            state->world->destroyed_during_call.fetch_add(1);
        }
        state->mark_gone();
    }
    void on(int, std::uint64_t start) {
        ++in_call;
        state->called(start);
        std::this_thread::yield();
        --in_call;
    }
};

// A token whose death ends a Connect{.track} receiver; it stamps that death.
struct ChurnToken {
    std::shared_ptr<ChurnState> state;
    explicit ChurnToken(std::shared_ptr<ChurnState> s) : state(std::move(s)) {}
    ~ChurnToken() { state->mark_gone(); }
};

void sender_thread(World& w, int index) {
    std::uint64_t count = 0;
    do {  // at least one send, however short the run
        const std::uint64_t start = w.clock.load();
        if (count % 16 == 15) {
            for (const auto& outcome : w.sig.send_robust(w.senders[index], index, start)) {
                if (outcome.error) {
                    w.wrong_sender.fetch_add(1);  // no receiver here throws
                }
            }
        } else {
            w.sig.send(w.senders[index], index, start);
        }
        ++count;
    } while (!w.stop.load(std::memory_order_relaxed));
    w.sent[index] = count;
}

// Waits (briefly, bounded) until a churn receiver has been called, so that removals race with
// sends that are really calling it.
void let_it_be_heard(const ChurnState& state) {
    for (int spin = 0; spin < 2000 && state.calls.load() == 0; ++spin) {
        std::this_thread::yield();
    }
}

void churn_thread(World& w, int index) {
    std::mt19937 random(static_cast<std::uint32_t>(1234 + index));
    std::uniform_int_distribution<int> pick_sender(-1, kSenders - 1);
    std::uniform_int_distribution<int> pick_priority(-3, 3);
    std::uniform_int_distribution<int> pick_kind(0, 5);
    std::uint64_t round = 0;
    do {  // at least one round, however short the run
        ++round;
        auto state = std::make_shared<ChurnState>(&w);
        const int s = pick_sender(random);
        const Sender sender = s < 0 ? Sender{} : w.senders[static_cast<std::size_t>(s)];
        const int priority = pick_priority(random);
        auto receiver = [state](int, std::uint64_t start) { state->called(start); };
        const std::string uid = "churn-" + std::to_string(index) + "-" + std::to_string(round);
        switch (pick_kind(random)) {
            case 0: {  // Connection::disconnect()
                const Connection c =
                    w.sig.connect(receiver, {.sender = sender, .priority = priority});
                let_it_be_heard(*state);
                if (!c.disconnect() || c.disconnect() || c.connected()) {
                    w.bad_disconnect_results.fetch_add(1);
                }
                state->mark_gone();
                break;
            }
            case 1: {  // Signal::disconnect(dispatch_uid, sender)
                w.sig.connect(receiver,
                              {.sender = sender, .dispatch_uid = uid, .priority = priority});
                let_it_be_heard(*state);
                if (!w.sig.disconnect(uid, sender) || w.sig.disconnect(uid, sender)) {
                    w.bad_disconnect_results.fetch_add(1);
                }
                state->mark_gone();
                break;
            }
            case 2: {  // ScopedConnection going out of scope
                {
                    const ScopedConnection scoped(
                        w.sig.connect(receiver, {.sender = sender, .priority = priority}));
                    let_it_be_heard(*state);
                }
                state->mark_gone();
                break;
            }
            case 3: {  // Connect{.track}: the token dies (the stamp is taken in its destructor)
                auto token = std::make_shared<ChurnToken>(state);
                w.sig.connect(receiver, {.sender = sender, .track = token, .priority = priority});
                let_it_be_heard(*state);
                token.reset();
                break;
            }
            case 4: {  // member function on a shared_ptr: the object dies
                auto listener = std::make_shared<ChurnListener>(state);
                w.sig.connect(&ChurnListener::on, listener,
                              {.sender = sender, .priority = priority});
                let_it_be_heard(*state);
                listener.reset();
                break;
            }
            default: {  // member function disconnected by (method, object)
                auto listener = std::make_shared<ChurnListener>(state);
                w.sig.connect(&ChurnListener::on, listener,
                              {.sender = sender, .priority = priority});
                let_it_be_heard(*state);
                if (!w.sig.disconnect(&ChurnListener::on, listener, sender)) {
                    w.bad_disconnect_results.fetch_add(1);
                }
                state->mark_gone();
                listener.reset();
                break;
            }
        }
    } while (!w.stop.load(std::memory_order_relaxed));
    w.churn_rounds.fetch_add(round);
}

TEST(Stress, SendersAndChurnersTogether) {
    World w;
    std::array<int, kSenders> sender_objects{};
    for (int i = 0; i < kSenders; ++i) {
        w.senders[static_cast<std::size_t>(i)] =
            Sender::object(&sender_objects[static_cast<std::size_t>(i)]);
    }
    // Connected throughout: one for every sender, one per sender.
    w.sig.connect(
        [&w](const Sender& s, int thread, std::uint64_t) {
            if (thread < 0 || thread >= kSenders ||
                !(s == w.senders[static_cast<std::size_t>(thread)])) {
                w.wrong_sender.fetch_add(1);
                return;
            }
            w.heard_by_stable[static_cast<std::size_t>(thread)].fetch_add(
                1, std::memory_order_relaxed);
        },
        {.name = "stable"});
    for (int i = 0; i < kSenders; ++i) {
        w.sig.connect(
            [&w, i](const Sender& s, int thread, std::uint64_t) {
                if (thread != i || !(s == w.senders[static_cast<std::size_t>(i)])) {
                    w.wrong_sender.fetch_add(1);
                    return;
                }
                w.heard_by_filtered[static_cast<std::size_t>(i)].fetch_add(
                    1, std::memory_order_relaxed);
            },
            {.sender = w.senders[static_cast<std::size_t>(i)],
             .priority = (i % 2 == 0) ? 2 : -2,
             .name = "filtered " + std::to_string(i)});
    }
    const std::size_t stable_receivers = w.sig.receiver_count();
    const auto duration = tocsin_test::stress_duration();
    ASSERT_EQ(stable_receivers, 1u + kSenders);

    {
        std::vector<std::jthread> threads;
        for (int i = 0; i < kSenders; ++i) {
            threads.emplace_back([&w, i] { sender_thread(w, i); });
        }
        for (int i = 0; i < kChurners; ++i) {
            threads.emplace_back([&w, i] { churn_thread(w, i); });
        }
        std::this_thread::sleep_for(duration);
        w.stop = true;
    }  // joined

    std::uint64_t total_sent = 0;
    for (std::size_t i = 0; i < kSenders; ++i) {
        EXPECT_EQ(w.heard_by_stable[i].load(), w.sent[i]) << "sender thread " << i;
        EXPECT_EQ(w.heard_by_filtered[i].load(), w.sent[i]) << "sender thread " << i;
        EXPECT_GT(w.sent[i], 0u) << "sender thread " << i << " never sent";
        total_sent += w.sent[i];
    }
    EXPECT_EQ(w.wrong_sender.load(), 0u);
    EXPECT_EQ(w.late_calls.load(), 0u) << "churn receivers called by sends that began after they "
                                          "were disconnected or their object died";
    EXPECT_EQ(w.destroyed_during_call.load(), 0u);
    EXPECT_EQ(w.bad_disconnect_results.load(), 0u);
    EXPECT_GT(w.churn_rounds.load(), 0u);
    if (duration >= std::chrono::seconds(1)) {  // long enough for churn receivers to be heard
        EXPECT_GT(w.churn_calls.load(), 0u) << "no churn receiver was ever called";
    }
    EXPECT_EQ(w.sig.receiver_count(), stable_receivers);
    RecordProperty("sends", std::to_string(total_sent));
    RecordProperty("churn_rounds", std::to_string(w.churn_rounds.load()));
}

}  // namespace stress_test
}  // namespace
