// The per-sender index: each sender's receivers are a list of their own, replaced (copy on
// write) when that sender's receivers change, or grown in place by a receiver that goes last and
// shrunk in place by the last one, in a table that grows and forgets emptied senders.
// What is checked: after any history of connects and disconnects over many senders, a send from
// each sender calls exactly its receivers and the sender-less ones, merged in call order; dead
// tracked receivers are purged however many are tracked; sends on one thread stay exact while
// another thread churns receivers of other senders (run under TSan: label concurrency).
#include <tocsin/dispatch.hpp>
#include <tocsin/dispatch/async.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "test_support.hpp"

namespace {
namespace sender_index_test {

using tocsin::Connection;
using tocsin::Sender;
using tocsin::Signal;
using tocsin_test::Strings;

struct Thing {
    int id = 0;
};

// Receivers append their name to the log passed by the send.
using LogSignal = Signal<void(Strings&)>;

Connection add(LogSignal& sig, const std::string& name, Sender sender, int priority = 0) {
    return sig.connect([name](Strings& log) { log.push_back(name); },
                       {.sender = sender, .priority = priority});
}

Strings heard(const LogSignal& sig, Sender sender) {
    Strings log;
    sig.send(sender, log);
    return log;
}

// Connects "r0" for `sender`: it logs its name and, on its first call only, runs `churn` (the
// receivers it disconnects and connects change the list the send is walking).
template <class Churn>
void connect_churning_once(LogSignal& sig, Sender sender, Churn churn) {
    sig.connect(
        [churn = std::move(churn), first = true](Strings& log) mutable {
            log.push_back("r0");
            if (std::exchange(first, false)) {
                churn();
            }
        },
        {.sender = sender});
}

// Connects "r0" for `sender`: it logs, opens `inside`, and waits for `go` (a send on another
// thread stays inside its first receiver while the test changes the signal).
void connect_waiting_first(LogSignal& sig, Sender sender, tocsin_test::Gate& inside,
                           tocsin_test::Gate& go) {
    sig.connect(
        [&inside, &go](Strings& log) {
            log.push_back("r0");
            inside.open();
            EXPECT_TRUE(go.wait());
        },
        {.sender = sender});
}

// Sends for `sender` on another thread and runs `changes` on this one while that send waits in
// its first receiver (connected by connect_waiting_first), then lets it end: the send's log.
template <class Changes>
Strings send_while_changing(const LogSignal& sig, Sender sender, tocsin_test::Gate& inside,
                            tocsin_test::Gate& go, Changes changes) {
    Strings log;
    std::thread sending([&] { sig.send(sender, log); });
    if (inside.wait()) {
        changes();
    } else {
        ADD_FAILURE() << "the send never reached its first receiver";
    }
    go.open();
    sending.join();
    return log;
}

TEST(SenderIndex, ManySendersKeepTheirOwnReceiversThroughChurn) {
    constexpr std::size_t kThings = 300;  // enough for the table to grow several times
    std::vector<Thing> things(kThings);
    LogSignal sig;
    add(sig, "any-high", Sender{}, 5);
    std::vector<std::vector<Connection>> conns(kThings);
    for (std::size_t i = 0; i < kThings; ++i) {
        for (int k = 0; k < 3; ++k) {
            conns[i].push_back(
                add(sig, std::to_string(i) + "." + std::to_string(k), Sender::object(&things[i])));
        }
    }
    add(sig, "any-low", Sender{}, -5);
    // Empty every third sender, disconnect the middle receiver of the others, then reconnect the
    // emptied ones (their buckets were tombstones meanwhile).
    for (std::size_t i = 0; i < kThings; ++i) {
        if (i % 3 == 0) {
            for (const auto& c : conns[i]) {
                EXPECT_TRUE(c.disconnect());
            }
        } else {
            EXPECT_TRUE(conns[i][1].disconnect());
        }
    }
    for (std::size_t i = 0; i < kThings; i += 3) {
        EXPECT_EQ(heard(sig, Sender::object(&things[i])), (Strings{"any-high", "any-low"}));
        if (i % 2 == 0) {
            add(sig, std::to_string(i) + ".again", Sender::object(&things[i]));
        }
    }
    for (std::size_t i = 0; i < kThings; ++i) {
        const std::string n = std::to_string(i);
        Strings want{"any-high"};
        if (i % 3 != 0) {
            want.insert(want.end(), {n + ".0", n + ".2"});
        } else if (i % 2 == 0) {
            want.push_back(n + ".again");
        }
        want.push_back("any-low");
        EXPECT_EQ(heard(sig, Sender::object(&things[i])), want) << "sender " << i;
    }
    Thing stranger;
    EXPECT_EQ(heard(sig, Sender::object(&stranger)), (Strings{"any-high", "any-low"}));
    EXPECT_EQ(heard(sig, Sender{}), (Strings{"any-high", "any-low"}));
    EXPECT_EQ(sig.receiver_count(), 2 + (kThings - kThings / 3) * 2 + kThings / 6);
}

// Each sender's group remembers where its list is in the table, and each receiver its group:
// both must follow the table when it grows (and drops tombstones) and forget a group emptied by
// disconnect_all, so that a later disconnect finds the right receiver or none.
void first_receiver(const Sender&, Strings& log) {
    log.push_back("fn");
}

TEST(SenderIndex, ReceiversConnectedBeforeTheTableGrewAreFoundAndRemovedAfter) {
    std::vector<Thing> things(500);
    LogSignal sig;
    const Sender first = Sender::object(&things[0]);
    const Connection early = add(sig, "early", first, 1);
    sig.connect(&first_receiver, {.sender = first});
    add(sig, "uid", first);
    sig.connect([](Strings& log) { log.push_back("by-uid"); },
                {.sender = first, .dispatch_uid = "u", .priority = -1});
    for (std::size_t i = 1; i < things.size(); ++i) {  // grows the table several times
        const Connection c = add(sig, "x", Sender::object(&things[i]));
        if (i % 2 == 0) {
            EXPECT_TRUE(c.disconnect());  // leaves a tombstone
        }
    }
    EXPECT_EQ(heard(sig, first), (Strings{"early", "fn", "uid", "by-uid"}));
    EXPECT_TRUE(early.disconnect());
    EXPECT_FALSE(early.disconnect());
    EXPECT_TRUE(sig.disconnect(&first_receiver, first));
    EXPECT_TRUE(sig.disconnect("u", first));
    EXPECT_EQ(heard(sig, first), (Strings{"uid"}));
    EXPECT_EQ(heard(sig, Sender::object(&things[3])), (Strings{"x"}));
    EXPECT_TRUE(heard(sig, Sender::object(&things[4])).empty());
    EXPECT_EQ(sig.receiver_count(), 1 + things.size() / 2);

    // After disconnect_all no receiver has a group: old connections disconnect nothing, and a
    // new receiver of the same sender is not confused with them.
    const Connection again = add(sig, "again", first);
    EXPECT_EQ(sig.disconnect_all(), 2 + things.size() / 2);
    EXPECT_FALSE(again.disconnect());
    const Connection fresh = add(sig, "fresh", first);
    EXPECT_FALSE(again.disconnect());
    EXPECT_EQ(heard(sig, first), (Strings{"fresh"}));
    EXPECT_TRUE(fresh.disconnect());
    EXPECT_TRUE(heard(sig, first).empty());
}

// A Connection names one receiver of one signal: another signal's disconnect never touches it,
// even when both have a receiver for the same sender.
TEST(SenderIndex, AConnectionOfAnotherSignalIsNotLookedUpInThisOne) {
    Thing t;
    LogSignal a;
    LogSignal b;
    const Connection in_a = add(a, "a", Sender::object(&t));
    add(b, "b", Sender::object(&t));
    EXPECT_FALSE(b.disconnect(in_a));
    EXPECT_EQ(heard(b, Sender::object(&t)), (Strings{"b"}));
    EXPECT_TRUE(a.disconnect(in_a));
    EXPECT_TRUE(heard(a, Sender::object(&t)).empty());
}

TEST(SenderIndex, SenderLessReceiversChangedLaterStillMergeInCallOrder) {
    Thing a;
    Thing b;
    LogSignal sig;
    add(sig, "a1", Sender::object(&a));
    add(sig, "b1", Sender::object(&b), 2);
    const Connection any1 = add(sig, "any1", Sender{});
    add(sig, "a2", Sender::object(&a), 1);
    add(sig, "any2", Sender{}, 1);
    add(sig, "a3", Sender::object(&a));
    EXPECT_EQ(heard(sig, Sender::object(&a)), (Strings{"a2", "any2", "a1", "any1", "a3"}));
    EXPECT_EQ(heard(sig, Sender::object(&b)), (Strings{"b1", "any2", "any1"}));
    EXPECT_TRUE(any1.disconnect());
    add(sig, "any3", Sender{}, 3);
    EXPECT_EQ(heard(sig, Sender::object(&a)), (Strings{"any3", "a2", "any2", "a1", "a3"}));
    EXPECT_EQ(heard(sig, Sender{}), (Strings{"any3", "any2"}));
}

TEST(SenderIndex, EmptiedSignalForgetsItsSendersAndStartsAgain) {
    std::vector<Thing> things(40);
    LogSignal sig;
    std::vector<Connection> conns;
    for (auto& t : things) {
        conns.push_back(add(sig, "r", Sender::object(&t)));
    }
    for (const auto& c : conns) {
        EXPECT_TRUE(c.disconnect());
    }
    EXPECT_EQ(sig.receiver_count(), 0U);
    for (auto& t : things) {
        EXPECT_FALSE(sig.has_listeners(Sender::object(&t)));
        EXPECT_TRUE(heard(sig, Sender::object(&t)).empty());
    }
    add(sig, "back", Sender::object(&things[7]));
    EXPECT_EQ(heard(sig, Sender::object(&things[7])), (Strings{"back"}));
    EXPECT_TRUE(heard(sig, Sender::object(&things[8])).empty());
}

struct Token {};

TEST(SenderIndex, DeadTrackedReceiversAmongManyArePurgedByLaterChanges) {
    constexpr int kTracked = 200;
    Signal<void()> sig;
    std::vector<std::shared_ptr<int>> owners;
    std::vector<std::weak_ptr<Token>> watches;
    for (int i = 0; i < kTracked; ++i) {
        owners.push_back(std::make_shared<int>(i));
        auto token = std::make_shared<Token>();
        watches.push_back(token);
        sig.connect([token] {}, {.track = owners.back()});
    }
    for (int i = 0; i < kTracked; i += 2) {
        owners[static_cast<std::size_t>(i)].reset();
    }
    // Without a send meeting them, each change looks at a window of the tracked receivers: a
    // bounded number of changes releases every dead one.
    for (int change = 0; change < kTracked; ++change) {
        sig.connect([] {}).disconnect();
    }
    for (int i = 0; i < kTracked; ++i) {
        EXPECT_EQ(watches[static_cast<std::size_t>(i)].expired(), i % 2 == 0) << i;
    }
    EXPECT_EQ(sig.receiver_count(), static_cast<std::size_t>(kTracked / 2));
    // A send that meets a dead one makes the next change purge them all.
    owners[1].reset();
    owners[3].reset();
    sig.send({});
    sig.connect([] {}).disconnect();
    EXPECT_TRUE(watches[1].expired());
    EXPECT_TRUE(watches[3].expired());
}

TEST(SenderIndex, AnAsendThatMeetsDeadTrackedReceiversMakesTheNextChangePurgeThemAll) {
    constexpr int kTracked = 200;
    Signal<void()> sig;
    std::vector<std::shared_ptr<int>> owners;
    std::vector<std::weak_ptr<Token>> watches;
    // Runs first, and lets every other tracked object die before its receiver's turn.
    sig.connect(
        [&owners] {
            for (std::size_t i = 0; i < owners.size(); i += 2) {
                owners[i].reset();
            }
        },
        {.priority = 1});
    for (int i = 0; i < kTracked; ++i) {
        owners.push_back(std::make_shared<int>(i));
        auto token = std::make_shared<Token>();
        watches.push_back(token);
        sig.connect([token] {}, {.track = owners.back()});
    }
    sig.asend({}).get();
    sig.connect([] {}).disconnect();
    for (int i = 0; i < kTracked; ++i) {
        EXPECT_EQ(watches[static_cast<std::size_t>(i)].expired(), i % 2 == 0) << i;
    }
}

TEST(SenderIndex, SendsStayExactWhileAnotherThreadChurnsOtherSenders) {
    constexpr int kStable = 16;
    std::vector<Thing> stable(kStable);
    std::vector<std::atomic<int>> calls(kStable);
    Signal<void(int)> sig;
    for (int i = 0; i < kStable; ++i) {
        sig.connect(
            [&calls, i](int who) { calls[static_cast<std::size_t>(i)] += who == i ? 1 : 1000; },
            {.sender = Sender::object(&stable[static_cast<std::size_t>(i)])});
    }
    std::atomic<bool> stop{false};
    std::thread churner([&] {
        std::vector<Thing> others(200);
        std::vector<Connection> conns;
        while (!stop.load()) {
            for (auto& t : others) {  // many new senders: the table grows and is rebuilt
                conns.push_back(sig.connect([](int) {}, {.sender = Sender::object(&t)}));
            }
            for (const auto& c : conns) {
                c.disconnect();
            }
            conns.clear();
        }
    });
    constexpr int kRounds = 2000;
    for (int round = 0; round < kRounds; ++round) {
        for (int i = 0; i < kStable; ++i) {
            sig.send(Sender::object(&stable[static_cast<std::size_t>(i)]), i);
        }
    }
    stop = true;
    churner.join();
    for (int i = 0; i < kStable; ++i) {
        EXPECT_EQ(calls[static_cast<std::size_t>(i)].load(), kRounds) << i;
    }
}

TEST(SenderIndex, GroupsMovedByTheMapGrowingAreFoundByTheirConnections) {
    // A receiver of the first sender, then receivers of thousands more: the map of groups is
    // rebuilt many times and moves the first sender's group each time.
    constexpr std::size_t kThings = 5000;
    std::vector<Thing> things(kThings);
    LogSignal sig;
    const Connection first = add(sig, "first", Sender::object(&things[0]));
    add(sig, "first.b", Sender::object(&things[0]));
    std::vector<Connection> conns;
    for (std::size_t i = 1; i < kThings; ++i) {
        conns.push_back(add(sig, std::to_string(i), Sender::object(&things[i])));
    }
    EXPECT_EQ(heard(sig, Sender::object(&things[0])), (Strings{"first", "first.b"}));
    EXPECT_TRUE(first.disconnect());
    EXPECT_FALSE(first.disconnect());
    EXPECT_EQ(heard(sig, Sender::object(&things[0])), (Strings{"first.b"}));
    // Every other sender emptied by its connection (tombstones), then new groups fill them.
    for (std::size_t i = 1; i < kThings; i += 2) {
        EXPECT_TRUE(conns[i - 1].disconnect()) << i;
    }
    for (std::size_t i = 1; i < kThings; ++i) {
        const Strings want = i % 2 == 1 ? Strings{} : Strings{std::to_string(i)};
        ASSERT_EQ(heard(sig, Sender::object(&things[i])), want) << i;
    }
    for (std::size_t i = 1; i < kThings; i += 2) {
        conns[i - 1] = add(sig, "again." + std::to_string(i), Sender::object(&things[i]));
    }
    for (std::size_t i = 1; i < kThings; ++i) {
        const std::string name = (i % 2 == 1 ? "again." : "") + std::to_string(i);
        ASSERT_EQ(heard(sig, Sender::object(&things[i])), Strings{name}) << i;
    }
    EXPECT_EQ(sig.receiver_count(), kThings);
    for (const Connection& c : conns) {
        EXPECT_TRUE(c.disconnect());
    }
    EXPECT_EQ(sig.receiver_count(), 1U);
    EXPECT_EQ(heard(sig, Sender::object(&things[0])), (Strings{"first.b"}));
}

TEST(SenderIndex, SendersComingAndGoingKeepTheOthersAndTheMapBounded) {
    // A program that connects per object and disconnects when the object goes: each round makes
    // a group and erases it; the stable senders keep their receivers throughout.
    std::vector<Thing> stable(10);
    LogSignal sig;
    for (std::size_t i = 0; i < stable.size(); ++i) {
        add(sig, "stable." + std::to_string(i), Sender::object(&stable[i]));
    }
    for (int round = 0; round < 20000; ++round) {
        Thing passing;
        const Connection c = add(sig, "passing", Sender::object(&passing));
        ASSERT_EQ(heard(sig, Sender::object(&passing)), Strings{"passing"}) << round;
        ASSERT_TRUE(c.disconnect()) << round;
    }
    for (std::size_t i = 0; i < stable.size(); ++i) {
        EXPECT_EQ(heard(sig, Sender::object(&stable[i])), Strings{"stable." + std::to_string(i)});
    }
    EXPECT_EQ(sig.receiver_count(), stable.size());
}

TEST(SenderIndex, DisconnectsOnOneThreadWhileAnotherGrowsTheMap) {
    // Thread A connects receivers for ever more senders (the map of groups is rebuilt, moving
    // groups) while thread B disconnects its own receivers by their connections.
    constexpr std::size_t kMine = 400;
    std::vector<Thing> mine(kMine);
    Signal<void(int)> sig;
    std::vector<Connection> conns;
    conns.reserve(kMine);
    for (std::size_t i = 0; i < kMine; ++i) {
        conns.push_back(sig.connect([](int) {}, {.sender = Sender::object(&mine[i])}));
    }
    std::atomic<bool> go{false};
    std::thread grower([&] {
        std::vector<Thing> others(4000);
        std::vector<Connection> theirs;
        while (!go.load()) {
        }
        for (auto& t : others) {
            theirs.push_back(sig.connect([](int) {}, {.sender = Sender::object(&t)}));
        }
        for (const auto& c : theirs) {
            c.disconnect();
        }
    });
    go = true;
    std::size_t removed = 0;
    for (const Connection& c : conns) {
        removed += c.disconnect() ? 1 : 0;
    }
    grower.join();
    EXPECT_EQ(removed, kMine);
    EXPECT_EQ(sig.receiver_count(), 0U);
    int calls = 0;
    const Connection last =
        sig.connect([&calls](int) { ++calls; }, {.sender = Sender::object(&mine[0])});
    sig.send(Sender::object(&mine[0]), 1);
    sig.send(Sender::object(&mine[1]), 1);
    EXPECT_EQ(calls, 1);
    EXPECT_TRUE(last.disconnect());
}

// The blocks of retired lists are reused for later lists (a per-thread cache), but only once no
// send can read them: a send that connects and disconnects receivers of its own sender many times
// meanwhile still walks its own list, unchanged, to the end.
TEST(SenderIndex, ListsReusedByLaterChangesAreNeverTheOneASendStillWalks) {
    Thing thing;
    const Sender s = Sender::object(&thing);
    LogSignal sig;
    connect_churning_once(sig, s, [&sig, s] {
        for (int i = 0; i < 100; ++i) {  // lists of 5 and 6 receivers, made and retired
            const Connection c = add(sig, "extra", s);
            c.disconnect();
        }
    });
    for (int i = 1; i < 5; ++i) {
        add(sig, "r" + std::to_string(i), s);
    }
    Strings log;
    sig.send(s, log);
    EXPECT_EQ(log, (Strings{"r0", "r1", "r2", "r3", "r4"}));
    log.clear();
    sig.send(s, log);
    EXPECT_EQ(log, (Strings{"r0", "r1", "r2", "r3", "r4"}));
}

// The same with the changes on another thread, while the send waits inside its first receiver.
TEST(SenderIndex, ListsRetiredWhileAnotherThreadSendsAreNotReusedUnderIt) {
    Thing thing;
    const Sender s = Sender::object(&thing);
    LogSignal sig;
    tocsin_test::Gate inside;
    tocsin_test::Gate go;
    connect_waiting_first(sig, s, inside, go);
    for (int i = 1; i < 5; ++i) {
        add(sig, "r" + std::to_string(i), s);
    }
    const Strings log = send_while_changing(sig, s, inside, go, [&] {
        for (int i = 0; i < 300; ++i) {
            const Connection c = add(sig, "extra", s);
            c.disconnect();
        }
    });
    EXPECT_EQ(log, (Strings{"r0", "r1", "r2", "r3", "r4"}));
    for (int i = 0; i < 300; ++i) {  // now reclaimed and reused: sends stay exact
        const Connection c = add(sig, "extra", s);
        c.disconnect();
    }
    Strings again;
    sig.send(s, again);
    EXPECT_EQ(again, (Strings{"r0", "r1", "r2", "r3", "r4"}));
}

// A Connection reaches its signal's receivers through the receiver itself: disconnecting on one
// thread while another destroys the signal either disconnects it or finds it gone, never reads
// freed memory (run under TSan and ASan).
TEST(SenderIndex, ConnectionsDisconnectedWhileTheirSignalIsDestroyed) {
    constexpr int kRounds = 200;
    constexpr int kReceivers = 16;
    std::vector<Thing> things(4);
    for (int round = 0; round < kRounds; ++round) {
        auto sig = std::make_unique<Signal<void(int)>>();
        std::vector<Connection> conns;
        for (int i = 0; i < kReceivers; ++i) {
            conns.push_back(sig->connect(
                [](int) {}, {.sender = Sender::object(&things[static_cast<std::size_t>(i % 4)])}));
        }
        std::atomic<bool> go{false};
        std::thread disconnecter([&] {
            while (!go.load()) {
            }
            for (const Connection& c : conns) {
                c.disconnect();
            }
        });
        go = true;
        sig.reset();
        disconnecter.join();
        for (const Connection& c : conns) {
            EXPECT_FALSE(c.connected());
            EXPECT_FALSE(c.disconnect());
        }
    }
}

// Slots come from a slab of cells reused for later slots (a per-thread cache), but only once no
// send can read them: receivers disconnected (and their Connections dropped) by a receiver of a
// send in progress keep their cells until the send ends, so new receivers connected meanwhile
// (the same type, so the same size of cell) are never found by that send in their place.
TEST(SenderIndex, SlotsFreedDuringASendAreNotReusedUnderIt) {
    Thing thing;
    Thing other;
    const Sender s = Sender::object(&thing);
    LogSignal sig;
    std::vector<Connection> victims;
    std::vector<Connection> newcomers;
    connect_churning_once(sig, s, [&] {
        for (const Connection& c : victims) {
            c.disconnect();
        }
        victims.clear();  // the last references but the signal's own (until the send ends)
        for (int i = 0; i < 100; ++i) {
            newcomers.push_back(add(sig, "new", Sender::object(&other)));
        }
    });
    for (int i = 1; i < 5; ++i) {
        victims.push_back(add(sig, "r" + std::to_string(i), s));
    }
    Strings log;
    sig.send(s, log);
    EXPECT_EQ(log, (Strings{"r0"}));
    EXPECT_EQ(heard(sig, s), (Strings{"r0"}));
    EXPECT_EQ(heard(sig, Sender::object(&other)).size(), 100U);
    for (const Connection& c : newcomers) {
        c.disconnect();
    }
    newcomers.clear();  // now freed and reused: sends stay exact
    for (int i = 1; i < 5; ++i) {
        victims.push_back(add(sig, "again" + std::to_string(i), s));
    }
    EXPECT_EQ(heard(sig, s), (Strings{"r0", "again1", "again2", "again3", "again4"}));
}

// The same with the disconnects and connects on another thread while the send waits inside its
// first receiver.
TEST(SenderIndex, SlotsFreedWhileAnotherThreadSendsAreNotReusedUnderIt) {
    Thing thing;
    Thing other;
    const Sender s = Sender::object(&thing);
    LogSignal sig;
    tocsin_test::Gate inside;
    tocsin_test::Gate go;
    connect_waiting_first(sig, s, inside, go);
    std::vector<Connection> victims;
    for (int i = 1; i < 5; ++i) {
        victims.push_back(add(sig, "r" + std::to_string(i), s));
    }
    std::vector<Connection> newcomers;
    const Strings log = send_while_changing(sig, s, inside, go, [&] {
        for (const Connection& c : victims) {
            c.disconnect();
        }
        victims.clear();
        for (int i = 0; i < 300; ++i) {
            newcomers.push_back(add(sig, "new", Sender::object(&other)));
        }
    });
    EXPECT_EQ(log, (Strings{"r0"}));
    for (const Connection& c : newcomers) {
        c.disconnect();
    }
    newcomers.clear();
    for (int i = 0; i < 300; ++i) {  // now reclaimed and reused: sends stay exact
        newcomers.push_back(add(sig, "new", Sender::object(&other)));
    }
    EXPECT_EQ(heard(sig, s), (Strings{"r0"}));
    EXPECT_EQ(heard(sig, Sender::object(&other)).size(), 300U);
}

// Slots outlive the thread that made them, and are freed on threads that did not: the threads'
// caches and the chunks they carve give every cell back (run under ASan for leaks and TSan).
TEST(SenderIndex, SlotsMadeAndFreedOnThreadsThatEnd) {
    Thing thing;
    const Sender s = Sender::object(&thing);
    LogSignal sig;
    std::vector<Connection> kept;
    for (int round = 0; round < 4; ++round) {
        std::thread maker([&] {
            for (int i = 0; i < 200; ++i) {  // more than one chunk's worth of cells
                Connection c = add(sig, "t" + std::to_string(round), s);
                if (i % 2 == 0) {
                    kept.push_back(std::move(c));
                } else {
                    c.disconnect();
                }
            }
        });
        maker.join();
        std::thread freer([&] {
            for (std::size_t i = 0; i < kept.size(); i += 2) {
                kept[i].disconnect();
            }
        });
        freer.join();
        EXPECT_EQ(heard(sig, s).size(), kept.size() / 2);
    }
    std::thread last([&] {
        for (const Connection& c : kept) {
            c.disconnect();
        }
        kept.clear();
    });
    last.join();
    EXPECT_TRUE(heard(sig, s).empty());
}

// A sender's list grows in place while it has room and is replaced by a larger one when full:
// every send calls all the receivers connected so far, once each, in connection order, across
// every capacity (1, 2, 4, ... 64).
TEST(SenderIndex, ReceiversAppendedAfterTheirListFillsAreAllCalledInOrder) {
    Thing thing;
    const Sender s = Sender::object(&thing);
    LogSignal sig;
    Strings expected;
    for (int i = 0; i < 40; ++i) {
        const std::string name = "r" + std::to_string(i);
        add(sig, name, s);
        expected.push_back(name);
        ASSERT_EQ(heard(sig, s), expected) << i;
    }
    EXPECT_EQ(sig.receiver_count(), 40U);
}

// Disconnects in the middle of a grown list (a new list), of its last receiver (shrunk in place)
// and connects after either (appended where the last one was): each send calls exactly the
// receivers connected, in call order, and a higher priority still goes first.
TEST(SenderIndex, DisconnectsInTheMiddleAndAtTheEndOfAGrownList) {
    Thing thing;
    const Sender s = Sender::object(&thing);
    LogSignal sig;
    std::vector<Connection> c;
    Strings expected;
    for (int i = 0; i < 12; ++i) {  // a list of capacity 16
        c.push_back(add(sig, "r" + std::to_string(i), s));
        expected.push_back("r" + std::to_string(i));
    }
    const auto drop = [&](int i) {
        EXPECT_TRUE(c[static_cast<std::size_t>(i)].disconnect()) << i;
        std::erase(expected, "r" + std::to_string(i));
        EXPECT_EQ(heard(sig, s), expected) << i;
    };
    drop(5);   // the middle
    drop(11);  // the last
    drop(10);  // the last again
    add(sig, "n0", s);
    expected.push_back("n0");
    EXPECT_EQ(heard(sig, s), expected);
    drop(0);  // the first
    add(sig, "n1", s);
    expected.push_back("n1");
    EXPECT_EQ(heard(sig, s), expected);
    add(sig, "first", s, 10);  // does not go last
    expected.insert(expected.begin(), "first");
    EXPECT_EQ(heard(sig, s), expected);
    for (int i = 9; i > 5; --i) {  // from the end
        drop(i);
    }
    drop(1);
    EXPECT_EQ(heard(sig, s), (Strings{"first", "r2", "r3", "r4", "n0", "n1"}));
    EXPECT_EQ(sig.receiver_count(), 6U);
}

// A send that walks a list whose last receiver is disconnected and another connected meanwhile
// (by its own receiver) calls neither: the freed position is not rewritten while the send may
// still read it, so the new receiver goes to a new list.
TEST(SenderIndex, APositionFreedDuringASendIsNotRewrittenUnderIt) {
    Thing thing;
    const Sender s = Sender::object(&thing);
    LogSignal sig;
    Connection last;
    connect_churning_once(sig, s, [&] {
        for (int i = 0; i < 3; ++i) {
            last.disconnect();
            last = add(sig, "new" + std::to_string(i), s);
        }
    });
    add(sig, "r1", s);
    add(sig, "r2", s);
    last = add(sig, "old", s);
    EXPECT_EQ(heard(sig, s), (Strings{"r0", "r1", "r2"}));
    EXPECT_EQ(heard(sig, s), (Strings{"r0", "r1", "r2", "new2"}));
    last.disconnect();  // no send under way: shrunk, and the next connect appends in its place
    add(sig, "again", s);
    EXPECT_EQ(heard(sig, s), (Strings{"r0", "r1", "r2", "again"}));
}

// The same with the changes on another thread while the send waits inside its first receiver
// (under TSan: a rewrite of the position under the send is a data race).
TEST(SenderIndex, APositionFreedWhileAnotherThreadSendsIsNotRewrittenUnderIt) {
    Thing thing;
    const Sender s = Sender::object(&thing);
    LogSignal sig;
    tocsin_test::Gate inside;
    tocsin_test::Gate go;
    connect_waiting_first(sig, s, inside, go);
    add(sig, "r1", s);
    Connection last = add(sig, "old", s);
    const Strings log = send_while_changing(sig, s, inside, go, [&] {
        for (int i = 0; i < 3; ++i) {
            last.disconnect();
            last = add(sig, "new" + std::to_string(i), s);
        }
    });
    EXPECT_EQ(log, (Strings{"r0", "r1"}));
    last.disconnect();
    add(sig, "again", s);
    Strings after;
    std::thread second([&] { sig.send(s, after); });
    go.open();
    second.join();
    EXPECT_EQ(after, (Strings{"r0", "r1", "again"}));
}

// Sends on one thread while another connects receivers for the same sender (appended in place)
// and disconnects them (from the end, and now and then in the middle): each send calls the first
// receiver, then receivers in connection order, each at most once, and never a half-written
// entry (a wrong call or slot would log a wrong id, or crash; TSan sees the race).
TEST(SenderIndex, ASendRacingConnectsOnItsSenderSeesEachReceiverAtMostOnceAndWhole) {
    using IdSignal = Signal<void(std::vector<int>&)>;
    Thing thing;
    const Sender s = Sender::object(&thing);
    IdSignal sig;
    sig.connect([](std::vector<int>& ids) { ids.push_back(0); }, {.sender = s});
    std::atomic<bool> stop{false};
    std::atomic<int> connected{0};  // the highest id connected (or being connected) so far
    std::thread churner([&] {
        int next = 1;
        while (!stop.load()) {
            std::vector<Connection> conns;
            for (int i = 0; i < 20; ++i) {
                const int id = next++;
                connected.store(id);  // before: a send may call it as soon as it is connected
                conns.push_back(
                    sig.connect([id](std::vector<int>& ids) { ids.push_back(id); }, {.sender = s}));
            }
            conns[7].disconnect();  // the middle: a new list
            for (auto c = conns.rbegin(); c != conns.rend(); ++c) {
                c->disconnect();
            }
        }
    });
    constexpr int kSends = 20000;
    int bad = 0;
    std::size_t longest = 0;
    for (int i = 0; i < kSends && bad < 10; ++i) {
        std::vector<int> ids;
        sig.send(s, ids);
        const int top = connected.load();
        bool ok = !ids.empty() && ids[0] == 0;
        for (std::size_t k = 1; ok && k < ids.size(); ++k) {
            ok = ids[k] > ids[k - 1] && ids[k] <= top;
        }
        if (!ok) {
            ++bad;
            ADD_FAILURE() << "send " << i << " called " << testing::PrintToString(ids);
        }
        longest = std::max(longest, ids.size());
    }
    stop = true;
    churner.join();
    EXPECT_EQ(bad, 0);
    std::vector<int> ids;
    sig.send(s, ids);
    EXPECT_EQ(ids, (std::vector<int>{0}));
    EXPECT_GE(longest, 1U);
}

}  // namespace sender_index_test
}  // namespace
