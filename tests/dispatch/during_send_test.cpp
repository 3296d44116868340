// Changes made while a send is under way, from the same thread (by receivers) and from other
// threads; re-entrant sends. DESIGN.md rules: a receiver connected during a send is heard from the
// next send; a receiver disconnected before its turn is not called, even by the send under way
// (tocsin departs from Django's snapshot here on purpose); receivers run with no lock held.
#include <tocsin/dispatch.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace {
namespace during_send_test {

using namespace std::chrono_literals;
using tocsin::Connection;
using tocsin::Sender;
using tocsin::Signal;
using tocsin_test::Gate;
using tocsin_test::is_clean;
using tocsin_test::Log;
using tocsin_test::Strings;

// ------------------------------------------------------------------ same thread

TEST(DuringSend, ReceiverDisconnectingItselfRunsThisTimeOnly) {
    Signal<void()> sig;
    Log log;
    Connection self;
    self = sig.connect([&] {
        log.add("self");
        EXPECT_TRUE(self.disconnect());
        log.add("self still running");
    });
    sig.connect([&log] { log.add("after"); });
    sig.send({});
    sig.send({});
    EXPECT_EQ(log.entries(), (Strings{"self", "self still running", "after", "after"}));
    EXPECT_EQ(sig.receiver_count(), 1u);
}

TEST(DuringSend, DjangoDisconnectInDispatch) {
    // Django signals/tests.py test_disconnect_in_dispatch: two handlers, each disconnecting itself
    // inside its call; both run, and afterwards the signal has no receivers.
    struct Handler {
        Signal<void()>* signal = nullptr;
        bool ran = false;
        void operator()() {
            ran = true;
            EXPECT_TRUE(signal->disconnect(&Handler::operator(), this));
        }
    };
    Signal<void()> sig;
    Handler a{&sig};
    Handler b{&sig};
    sig.connect(&Handler::operator(), &a);
    sig.connect(&Handler::operator(), &b);
    sig.send({});
    EXPECT_TRUE(a.ran);
    EXPECT_TRUE(b.ran);
    EXPECT_TRUE(is_clean(sig));
}

TEST(DuringSend, ReceiverDisconnectedBeforeItsTurnIsNotCalled) {
    // Django would still call it (snapshot); tocsin does not, because in C++ the receiver's
    // object may already be gone.
    Signal<void()> sig;
    Log log;
    Connection later;
    sig.connect([&] {
        log.add("first");
        EXPECT_TRUE(later.disconnect());
    });
    later = sig.connect([&log] { log.add("later"); });
    sig.connect([&log] { log.add("last"); });
    sig.send({});
    EXPECT_EQ(log.entries(), (Strings{"first", "last"}));
}

TEST(DuringSend, ReceiverDisconnectedByUidBeforeItsTurnIsNotCalled) {
    Signal<void()> sig;
    Log log;
    sig.connect([&] {
        log.add("first");
        EXPECT_TRUE(sig.disconnect("victim"));
    });
    sig.connect([&log] { log.add("victim"); }, {.dispatch_uid = "victim"});
    sig.send({});
    EXPECT_EQ(log.entries(), (Strings{"first"}));
}

TEST(DuringSend, DisconnectingAnEarlierReceiverAffectsOnlyLaterSends) {
    Signal<void()> sig;
    Log log;
    const Connection early = sig.connect([&log] { log.add("early"); });
    sig.connect([&] {
        log.add("second");
        early.disconnect();
    });
    sig.send({});
    sig.send({});
    EXPECT_EQ(log.entries(), (Strings{"early", "second", "second"}));
}

TEST(DuringSend, ReceiverConnectedDuringASendIsHeardFromTheNextSend) {
    Signal<void()> sig;
    Log log;
    bool connected = false;
    sig.connect([&] {
        log.add("connector");
        if (!connected) {
            connected = true;
            sig.connect([&log] { log.add("newcomer"); });
        }
    });
    sig.connect([&log] { log.add("existing"); });
    sig.send({});
    EXPECT_EQ(log.entries(), (Strings{"connector", "existing"}));
    log.clear();
    sig.send({});
    EXPECT_EQ(log.entries(), (Strings{"connector", "existing", "newcomer"}));
}

TEST(DuringSend, ManyReceiversConnectedDuringASend) {
    // Enough new receivers to make any storage grow while the send walks it.
    Signal<void()> sig;
    std::atomic<int> newcomer_calls{0};
    int sends = 0;
    sig.connect([&] {
        if (sends++ == 0) {
            for (int i = 0; i < 200; ++i) {
                sig.connect([&newcomer_calls] { ++newcomer_calls; });
            }
        }
    });
    sig.send({});
    EXPECT_EQ(newcomer_calls.load(), 0);
    sig.send({});
    EXPECT_EQ(newcomer_calls.load(), 200);
    EXPECT_EQ(sig.receiver_count(), 201u);
}

TEST(DuringSend, ReceiverDisconnectingEveryoneStopsTheRestOfTheSend) {
    Signal<void()> sig;
    Log log;
    std::vector<Connection> all;
    all.push_back(sig.connect([&] {
        log.add("sweeper");
        for (const auto& c : all) {
            c.disconnect();
        }
    }));
    for (int i = 0; i < 5; ++i) {
        all.push_back(sig.connect([&log, i] { log.add("r" + std::to_string(i)); }));
    }
    sig.send({});
    sig.send({});
    EXPECT_EQ(log.entries(), (Strings{"sweeper"}));
    EXPECT_TRUE(is_clean(sig));
}

TEST(DuringSend, ReentrantSend) {
    Signal<void(int)> sig;
    Log log;
    sig.connect([&](int depth) {
        log.add("outer@" + std::to_string(depth));
        if (depth < 2) {
            sig.send({}, depth + 1);
        }
    });
    sig.connect([&log](int depth) { log.add("inner@" + std::to_string(depth)); });
    sig.send({}, 0);
    EXPECT_EQ(log.entries(),
              (Strings{"outer@0", "outer@1", "outer@2", "inner@2", "inner@1", "inner@0"}));
}

TEST(DuringSend, ReentrantSendOfAnotherSender) {
    Signal<int()> sig;
    sig.connect([&sig](const Sender& s) {
        if (s == Sender::of<Gate>()) {
            const auto nested = sig.send(Sender::of<Log>());
            int sum = 0;
            for (const auto& r : nested) {
                sum += r.value;
            }
            return 100 + sum;
        }
        return 1;
    });
    sig.connect([] { return 10; }, {.sender = Sender::of<Log>()});
    const auto outer = sig.send(Sender::of<Gate>());
    ASSERT_EQ(outer.size(), 1u);
    EXPECT_EQ(outer[0].value, 111);
}

TEST(DuringSend, NestedSendSeesAReceiverConnectedBeforeIt) {
    // The nested send starts after the connect, so it is "the next send" for the newcomer; the
    // outer send, already under way, does not call it.
    Signal<void(int)> sig;
    Log log;
    sig.connect([&](int depth) {
        log.add("connector@" + std::to_string(depth));
        if (depth == 0) {
            sig.connect([&log](int d) { log.add("newcomer@" + std::to_string(d)); });
            sig.send({}, 1);
        }
    });
    sig.send({}, 0);
    EXPECT_EQ(log.entries(), (Strings{"connector@0", "connector@1", "newcomer@1"}));
}

TEST(DuringSend, NestedSendDisconnectingAReceiverTheOuterSendHasNotReached) {
    Signal<void(int)> sig;
    Log log;
    Connection victim;
    sig.connect([&](int depth) {
        log.add("first@" + std::to_string(depth));
        if (depth == 0) {
            sig.send({}, 1);
        }
    });
    sig.connect([&](int depth) {
        log.add("second@" + std::to_string(depth));
        if (depth == 1) {
            victim.disconnect();
        }
    });
    victim = sig.connect([&log](int depth) { log.add("victim@" + std::to_string(depth)); });
    sig.send({}, 0);
    EXPECT_EQ(log.entries(), (Strings{"first@0", "first@1", "second@1", "second@0"}));
}

TEST(DuringSend, ExceptionInANestedSendLeavesTheSignalUsable) {
    Signal<void(int)> sig;
    Log log;
    sig.connect([&](int depth) {
        log.add("r@" + std::to_string(depth));
        if (depth == 0) {
            EXPECT_THROW(sig.send({}, 1), std::runtime_error);
        }
        if (depth == 1) {
            throw std::runtime_error("nested failure");
        }
    });
    sig.send({}, 0);
    sig.send({}, 2);
    EXPECT_EQ(log.entries(), (Strings{"r@0", "r@1", "r@2"}));
}

// ------------------------------------------------------------------ other threads

// A send on another thread is parked inside receiver "A" while this thread changes the signal.
// Every wait has a time limit, so a deadlock shows up as a failure, not as a hang.
struct ParkedSend {
    Signal<void()> sig{"parked"};
    Log log;
    Gate entered;
    Gate release;
    std::thread sender;

    void connect_parking_receiver() {
        sig.connect([this] {
            log.add("A");
            entered.open();
            release.wait();
        });
    }
    void start() {
        sender = std::thread([this] { sig.send({}); });
    }
    void finish() {
        release.open();
        if (sender.joinable()) {
            sender.join();
        }
    }
    ~ParkedSend() { finish(); }
};

template <class F>
auto run_with_limit(F f, bool& finished) {
    auto result = std::async(std::launch::async, std::move(f));
    finished = result.wait_for(5s) == std::future_status::ready;
    return result;
}

TEST(DuringSendThreads, DisconnectFromAnotherThreadBeforeItsTurn) {
    ParkedSend parked;
    parked.connect_parking_receiver();
    const Connection b = parked.sig.connect([&parked] { parked.log.add("B"); });
    parked.sig.connect([&parked] { parked.log.add("C"); });
    parked.start();
    ASSERT_TRUE(parked.entered.wait());
    bool finished = false;
    auto result = run_with_limit([&b] { return b.disconnect(); }, finished);
    parked.finish();
    EXPECT_TRUE(finished) << "disconnect() waited for another thread's running receiver";
    EXPECT_TRUE(result.get());
    EXPECT_EQ(parked.log.entries(), (Strings{"A", "C"}));
}

TEST(DuringSendThreads, ConnectFromAnotherThreadIsHeardFromTheNextSend) {
    ParkedSend parked;
    parked.connect_parking_receiver();
    parked.start();
    ASSERT_TRUE(parked.entered.wait());
    bool finished = false;
    auto result = run_with_limit(
        [&parked] { return parked.sig.connect([&parked] { parked.log.add("newcomer"); }); },
        finished);
    parked.finish();
    EXPECT_TRUE(finished) << "connect() waited for another thread's running receiver";
    const Connection newcomer = result.get();
    EXPECT_TRUE(newcomer.connected());
    EXPECT_EQ(parked.log.entries(), (Strings{"A"}));
    parked.release.open();  // the next send must not park
    parked.log.clear();
    parked.sig.send({});
    EXPECT_EQ(parked.log.entries(), (Strings{"A", "newcomer"}));
}

TEST(DuringSendThreads, DisconnectTheRunningReceiverFromAnotherThread) {
    ParkedSend parked;
    parked.connect_parking_receiver();
    parked.sig.connect([&parked] { parked.log.add("B"); });
    parked.start();
    ASSERT_TRUE(parked.entered.wait());
    const auto listed = parked.sig.receivers();
    ASSERT_EQ(listed.size(), 2u);
    bool finished = false;
    auto result = run_with_limit([c = listed[0].connection] { return c.disconnect(); }, finished);
    parked.finish();  // A returns normally although it was disconnected meanwhile
    EXPECT_TRUE(finished);
    EXPECT_TRUE(result.get());
    EXPECT_FALSE(listed[0].connection.connected());
    parked.log.clear();
    parked.sig.send({});
    EXPECT_EQ(parked.log.entries(), (Strings{"B"}));
}

TEST(DuringSendThreads, SendFromAnotherThreadWhileOneIsParked) {
    // Receivers run with no lock held: a second send goes through while the first is parked.
    ParkedSend parked;
    std::atomic<int> a_calls{0};
    parked.sig.connect([&parked, &a_calls] {
        if (a_calls++ == 0) {
            parked.entered.open();
            parked.release.wait();
        }
    });
    parked.sig.connect([&parked] { parked.log.add("B"); });
    parked.start();
    ASSERT_TRUE(parked.entered.wait());
    bool finished = false;
    auto result = run_with_limit([&parked] { parked.sig.send({}); }, finished);
    EXPECT_TRUE(finished) << "a concurrent send was blocked by a running receiver";
    EXPECT_EQ(parked.log.entries(), (Strings{"B"}));
    parked.finish();
    result.get();
    EXPECT_EQ(parked.log.entries(), (Strings{"B", "B"}));
}

TEST(DuringSendThreads, TrackedObjectReleasedOnAnotherThreadDuringItsCall) {
    struct Resource {
        Gate* entered = nullptr;
        Gate* release = nullptr;
        std::atomic<bool>* in_call = nullptr;
        std::atomic<bool>* destroyed_during_call = nullptr;
        void on() {
            in_call->store(true);
            entered->open();
            release->wait();
            in_call->store(false);
        }
        ~Resource() {
            if (in_call->load()) {
                destroyed_during_call->store(true);
            }
        }
    };
    Signal<void()> sig;
    Gate entered;
    Gate release;
    std::atomic<bool> in_call{false};
    std::atomic<bool> destroyed_during_call{false};
    auto resource = std::make_shared<Resource>();
    resource->entered = &entered;
    resource->release = &release;
    resource->in_call = &in_call;
    resource->destroyed_during_call = &destroyed_during_call;
    const std::weak_ptr<Resource> watch = resource;
    sig.connect(&Resource::on, resource);
    std::thread sender([&sig] { sig.send({}); });
    const bool parked = entered.wait();
    resource.reset();  // the last owner outside the signal, while on() runs on the other thread
    release.open();
    sender.join();
    ASSERT_TRUE(parked);
    EXPECT_FALSE(destroyed_during_call.load()) << "the object died while its method ran";
    EXPECT_TRUE(watch.expired());
    EXPECT_TRUE(is_clean(sig));
}

TEST(DuringSendThreads, ReceiverConnectedOnAnotherThreadIsHeardByLaterSendsOnThisThread) {
    Signal<void()> sig;
    std::atomic<int> calls{0};
    Connection c;
    std::thread connector([&] { c = sig.connect([&calls] { ++calls; }); });
    connector.join();
    sig.send({});
    EXPECT_EQ(calls.load(), 1);
    std::thread disconnector([&] { EXPECT_TRUE(c.disconnect()); });
    disconnector.join();
    sig.send({});
    EXPECT_EQ(calls.load(), 1);
}

}  // namespace during_send_test
}  // namespace
