// Signal::send: order, sender filtering, return values, exceptions. Django: notes §1.7.
#include <tocsin/dispatch.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "test_support.hpp"

namespace {
namespace send_test {

using tocsin::Connection;
using tocsin::Response;
using tocsin::Sender;
using tocsin::Signal;
using tocsin_test::Log;
using tocsin_test::Strings;

TEST(Send, VoidSignalReturnsVoidAndOthersReturnResponses) {
    using VoidSend = decltype(std::declval<const Signal<void(int)>&>().send(Sender{}, 1));
    using IntSend = decltype(std::declval<const Signal<int(int)>&>().send(Sender{}, 1));
    static_assert(std::is_void_v<VoidSend>);
    static_assert(std::is_same_v<IntSend, std::vector<Response<int>>>);
    SUCCEED();
}

TEST(Send, ReceiversRunInConnectionOrder) {
    Signal<void()> sig;
    Log log;
    for (const char* name : {"first", "second", "third", "fourth"}) {
        sig.connect([&log, name] { log.add(name); });
    }
    sig.send({});
    EXPECT_EQ(log.entries(), (Strings{"first", "second", "third", "fourth"}));
}

TEST(Send, SenderFilteredAndSenderLessReceiversMergeInConnectionOrder) {
    Signal<void()> sig;
    Log log;
    sig.connect([&log] { log.add("a any"); });
    sig.connect([&log] { log.add("b order"); }, {.sender = Sender::of<Order>()});
    sig.connect([&log] { log.add("c any"); });
    sig.connect([&log] { log.add("d invoice"); }, {.sender = Sender::of<Invoice>()});
    sig.connect([&log] { log.add("e order"); }, {.sender = Sender::of<Order>()});
    sig.send(Sender::of<Order>());
    EXPECT_EQ(log.entries(), (Strings{"a any", "b order", "c any", "e order"}));
    log.clear();
    sig.send(Sender::of<Invoice>());
    EXPECT_EQ(log.entries(), (Strings{"a any", "c any", "d invoice"}));
    log.clear();
    sig.send({});  // no sender: only the sender-less receivers
    EXPECT_EQ(log.entries(), (Strings{"a any", "c any"}));
}

TEST(Send, ReceiverIsToldTheSenderOfThisSend) {
    Signal<void()> sig;
    std::vector<Sender> seen;
    sig.connect([&seen](const Sender& s) { seen.push_back(s); });
    const Order order;
    sig.send(Sender::object(&order));
    sig.send(Sender::of<Invoice>());
    sig.send({});
    EXPECT_EQ(seen, (std::vector<Sender>{Sender::object(&order), Sender::of<Invoice>(), Sender{}}));
}

TEST(Send, ReturnsEveryValueInOrderWithItsReceiver) {
    Signal<std::string(int)> sig;
    const Connection a = sig.connect([](int v) { return "a" + std::to_string(v); });
    const Connection b =
        sig.connect([](const Sender& s, int v) { return s.name() + std::to_string(v); });
    const Connection c = sig.connect([](int) { return std::string("c"); });
    const auto responses = sig.send(Sender::of<Order>(), 7);
    ASSERT_EQ(responses.size(), 3u);
    EXPECT_EQ(responses[0].value, "a7");
    EXPECT_EQ(responses[1].value, "Order7");
    EXPECT_EQ(responses[2].value, "c");
    EXPECT_EQ(responses[0].receiver, a);
    EXPECT_EQ(responses[1].receiver, b);
    EXPECT_EQ(responses[2].receiver, c);
}

TEST(Send, NoReceiversGivesNoResponses) {
    // Django test_send_no_receivers.
    const Signal<int(int)> sig;
    EXPECT_TRUE(sig.send({}, 1).empty());
    EXPECT_TRUE(sig.send(Sender::of<Order>(), 1).empty());
}

TEST(Send, OnlyOtherSendersReceiversGivesNoResponses) {
    Signal<int()> sig;
    sig.connect([] { return 1; }, {.sender = Sender::of<Invoice>()});
    EXPECT_TRUE(sig.send(Sender::of<Order>()).empty());
    EXPECT_TRUE(sig.send({}).empty());
    EXPECT_EQ(sig.send(Sender::of<Invoice>()).size(), 1u);
}

TEST(Send, WorksOnAConstSignal) {
    Signal<int(int)> sig;
    sig.connect([](int v) { return v + 1; });
    const Signal<int(int)>& view = sig;
    const auto responses = view.send({}, 41);
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_EQ(responses[0].value, 42);
}

TEST(Send, FirstExceptionStopsTheSendAndPropagates) {
    Signal<void()> sig;
    Log log;
    sig.connect([&log] { log.add("before"); });
    sig.connect([&log] {
        log.add("fails");
        throw std::runtime_error("receiver failed");
    });
    sig.connect([&log] { log.add("after"); });
    try {
        sig.send({});
        ADD_FAILURE() << "send() did not propagate the receiver's exception";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "receiver failed");
    }
    EXPECT_EQ(log.entries(), (Strings{"before", "fails"}));
}

TEST(Send, FirstExceptionStopsANonVoidSend) {
    Signal<int()> sig;
    Log log;
    sig.connect([&log] {
        log.add("one");
        return 1;
    });
    sig.connect([]() -> int { throw std::invalid_argument("two"); });
    sig.connect([]() -> int { throw std::logic_error("three must not run"); });
    EXPECT_THROW(sig.send({}), std::invalid_argument);
    EXPECT_EQ(log.entries(), (Strings{"one"}));
}

TEST(Send, ExceptionOfAnyTypePropagates) {
    Signal<void()> sig;
    sig.connect([] { throw 42; });
    try {
        sig.send({});
        ADD_FAILURE() << "no exception";
    } catch (int value) {
        EXPECT_EQ(value, 42);
    }
}

TEST(Send, ReceiverThatThrewStaysConnected) {
    Signal<void()> sig;
    Log log;
    bool thrown = false;
    sig.connect([&] {
        log.add("flaky");
        if (!thrown) {
            thrown = true;
            throw std::runtime_error("once");
        }
    });
    sig.connect([&log] { log.add("next"); });
    EXPECT_THROW(sig.send({}), std::runtime_error);
    sig.send({});
    EXPECT_EQ(log.entries(), (Strings{"flaky", "flaky", "next"}));
    EXPECT_EQ(sig.receiver_count(), 2u);
}

// A void send to sender-less receivers takes the send's fast path: a receiver's exception must
// leave the thread outside the send (else a later disconnect would wait, and keep what receivers
// captured, as if called from inside one).
TEST(Send, ExceptionLeavesTheSendBehindItsThread) {
    Signal<void(int)> sig;
    sig.connect([](int) { throw std::runtime_error("receiver failed"); });
    auto captured = std::make_shared<int>(7);
    const std::weak_ptr<int> watch = captured;
    const Connection c = sig.connect([held = std::move(captured)](int) {});
    EXPECT_THROW(sig.send({}, 1), std::runtime_error);
    EXPECT_TRUE(c.disconnect_and_wait());  // throws std::logic_error from inside a send
    EXPECT_TRUE(watch.expired());          // released at once: the thread is outside any send
}

// The same with a lone receiver, which the fast path calls without the receiver loop.
TEST(Send, ExceptionOfALoneReceiverLeavesTheSendBehindItsThread) {
    Signal<void(int)> sig;
    const Connection thrower = sig.connect([](int) { throw std::runtime_error("lone"); });
    // A thread's first send takes the general path: the later ones take the fast one.
    EXPECT_THROW(sig.send({}, 0), std::runtime_error);
    EXPECT_THROW(sig.send({}, 1), std::runtime_error);
    EXPECT_THROW(sig.send({}, 2), std::runtime_error);
    EXPECT_TRUE(thrower.disconnect_and_wait());  // would throw std::logic_error inside a send
    int heard = 0;
    sig.connect([&heard](int v) { heard += v; });
    sig.send({}, 5);
    EXPECT_EQ(heard, 5);
}

// A lone sender-less receiver, while no receiver is for a sender, is called at the call site
// itself, whatever the sender: the same receivers as the general path, in the same order.
TEST(Send, LoneReceiverHearsEverySenderAndKeepsItsPlaceWhenSendersGetTheirOwn) {
    Signal<void(int)> sig;
    Log log;
    sig.connect([&log](int v) { log.add("any" + std::to_string(v)); });
    sig.send({}, 0);  // the thread's first send: the general path
    sig.send({}, 1);
    sig.send(Sender::of<Order>(), 2);
    sig.connect([&log](int v) { log.add("invoice" + std::to_string(v)); },
                {.sender = Sender::of<Invoice>()});
    sig.send(Sender::of<Order>(), 3);
    sig.send(Sender::of<Invoice>(), 4);
    sig.send({}, 5);
    EXPECT_EQ(log.entries(), (Strings{"any0", "any1", "any2", "any3", "any4", "invoice4", "any5"}));
}

// A lone receiver that is tracked is called while its object lives, and not after it died.
TEST(Send, LoneTrackedReceiverIsSkippedOnceItsObjectDies) {
    Signal<void(int)> sig;
    int heard = 0;
    sig.send({}, 0);  // no receiver yet
    {
        const tocsin::ScopedConnection warm = sig.connect([](int) {});
        sig.send({}, 0);  // registers this thread: the next sends take the fast path
    }
    auto owner = std::make_shared<int>(0);
    sig.connect([&heard](int v) { heard += v; }, {.track = std::weak_ptr<const void>(owner)});
    sig.send({}, 1);
    sig.send({}, 2);
    owner.reset();
    sig.send({}, 4);
    EXPECT_EQ(heard, 3);
}

// A receiver may leave a ScopedMute alive after it returns (here: of another signal): the send
// must still leave its thread's read-side section, and the mute must keep working.
TEST(Send, ReceiverThatLeavesAMuteAliveLeavesTheSendBehindItsThread) {
    Signal<void(int)> sig;
    Signal<void(int)> other;
    std::optional<tocsin::ScopedMute> mute;
    int heard = 0;
    const Connection c = sig.connect([&](int v) {
        heard += v;
        if (!mute) {
            mute.emplace(other);
        }
    });
    sig.send({}, 1);  // the thread's first send: the general path
    mute.reset();
    sig.send({}, 2);  // the fast path: the mute begins inside the receiver
    ASSERT_TRUE(mute.has_value());
    int other_heard = 0;
    other.connect([&other_heard](int) { ++other_heard; });
    other.send({}, 1);  // muted
    sig.send({}, 4);    // the general path while a mute lives
    mute.reset();
    EXPECT_EQ(heard, 7);
    EXPECT_EQ(other_heard, 0);
    {
        const tocsin::ScopedMute quiet(sig);
        sig.send({}, 8);  // muted: not heard
    }
    EXPECT_EQ(heard, 7);
    EXPECT_TRUE(c.disconnect_and_wait());  // throws std::logic_error from inside a send
}

// The fast path and the general one (the thread's first send, a send nested in a receiver, a
// sender with receivers of its own) call the same receivers in the same order.
TEST(Send, NestedAndFirstSendsCallTheSameReceivers) {
    Signal<void(int)> sig;
    Log log;
    sig.connect([&](int depth) {
        log.add("any" + std::to_string(depth));
        if (depth == 0) {
            sig.send({}, 1);                   // nested: the general path
            sig.send(Sender::of<Order>(), 2);  // nested, from a sender
        }
    });
    sig.connect([&log](int depth) { log.add("own" + std::to_string(depth)); },
                {.sender = Sender::of<Order>()});
    std::thread first([&] { sig.send({}, 0); });  // that thread's first send
    first.join();
    sig.send({}, 0);
    const Strings once{"any0", "any1", "any2", "own2"};
    Strings twice = once;
    twice.insert(twice.end(), once.begin(), once.end());
    EXPECT_EQ(log.entries(), twice);
}

// Receivers for senders only (none sender-less: the model signals' typed receivers) take the
// send's other fast path, the sender's own list walked in place.
TEST(Send, ReceiversForSendersOnlyRunInOrderAndSkipTheDisconnected) {
    Signal<void(int)> sig;
    Log log;
    Connection second;
    sig.connect(
        [&](int) {
            log.add("first");
            second.disconnect();  // before its turn: not called by this send
        },
        {.sender = Sender::of<Order>()});
    second = sig.connect([&](int) { log.add("second"); }, {.sender = Sender::of<Order>()});
    sig.connect([&](int) { log.add("third"); }, {.sender = Sender::of<Order>()});
    sig.connect([&](int) { log.add("invoice"); }, {.sender = Sender::of<Invoice>()});
    auto owner = std::make_shared<int>(0);
    sig.connect([&](int) { log.add("tracked"); },
                {.sender = Sender::of<Invoice>(), .track = std::weak_ptr<const void>(owner)});
    owner.reset();  // its object died: never called
    sig.send(Sender::of<Order>(), 1);
    sig.send(Sender::of<Invoice>(), 2);
    sig.send(Sender::object(&log), 3);  // a sender nobody listens to
    sig.send({}, 4);                    // no sender: only sender-less receivers hear it
    EXPECT_EQ(log.entries(), (Strings{"first", "third", "invoice"}));
}

// Sends that collect results (send with values, send_robust) walk the sender-less receivers in
// place when nothing else applies (no receiver for a sender, none async, no observer): each of
// these is sent twice, as a thread's first send takes the general path.
TEST(Send, ValuesFromSenderLessReceiversSkipTheDeadAndTheExpired) {
    Signal<int(int)> sig;
    auto owner = std::make_shared<int>(0);
    Connection later;
    sig.connect([&later](int v) {
        later.disconnect();  // inside the send: the later receiver is not called
        return v;
    });
    sig.connect([](int v) { return v * 10; }, {.track = std::weak_ptr<const void>(owner)});
    later = sig.connect([](int v) { return v * 100; });
    const Connection last = sig.connect([](int v) { return v * 1000; });
    for (int round = 0; round < 2; ++round) {
        const auto responses = sig.send({}, 1);
        ASSERT_EQ(responses.size(), 3u);
        EXPECT_EQ(responses[0].value, 1);
        EXPECT_EQ(responses[1].value, 10);  // tracked, its object alive
        EXPECT_EQ(responses[2].value, 1000);
        EXPECT_EQ(responses[2].receiver, last);
    }
    owner.reset();
    for (int round = 0; round < 2; ++round) {
        const auto responses = sig.send({}, 2);
        ASSERT_EQ(responses.size(), 2u);
        EXPECT_EQ(responses[0].value, 2);
        EXPECT_EQ(responses[1].value, 2000);
    }
    for (int round = 0; round < 2; ++round) {
        const auto outcomes = sig.send_robust({}, 3);
        ASSERT_EQ(outcomes.size(), 2u);
        EXPECT_EQ(*outcomes[0].value, 3);
        EXPECT_EQ(*outcomes[1].value, 3000);
        EXPECT_EQ(outcomes[1].receiver, last);
    }
}

TEST(Send, ValuesFromSenderLessAndSenderReceiversMergeInOrder) {
    Signal<int()> sig;
    sig.connect([] { return 1; });
    sig.connect([] { return 2; }, {.sender = Sender::of<Order>()});
    sig.connect([] { return 3; });
    for (int round = 0; round < 2; ++round) {
        std::vector<int> values;
        for (const auto& r : sig.send(Sender::of<Order>())) {
            values.push_back(r.value);
        }
        EXPECT_EQ(values, (std::vector<int>{1, 2, 3}));
        values.clear();
        for (const auto& o : sig.send_robust(Sender::of<Order>())) {
            values.push_back(*o.value);
        }
        EXPECT_EQ(values, (std::vector<int>{1, 2, 3}));
        EXPECT_EQ(sig.send({}).size(), 2u);
        EXPECT_EQ(sig.send(Sender::of<Invoice>()).size(), 2u);
    }
}

// A receiver's exception in a send that collects values leaves the thread outside the send.
TEST(Send, ExceptionOfANonVoidSendLeavesTheSendBehindItsThread) {
    Signal<int(int)> sig;
    sig.connect([](int v) { return v; });
    sig.connect([](int) -> int { throw std::runtime_error("receiver failed"); });
    auto captured = std::make_shared<int>(7);
    const std::weak_ptr<int> watch = captured;
    const Connection c = sig.connect([held = std::move(captured)](int v) { return v; });
    for (int round = 0; round < 3; ++round) {
        EXPECT_THROW(sig.send({}, round), std::runtime_error);
    }
    EXPECT_TRUE(c.disconnect_and_wait());  // throws std::logic_error from inside a send
    EXPECT_TRUE(watch.expired());          // released at once: the thread is outside any send
}

// Nested and muted sends that collect values take the general path: the same receivers.
TEST(Send, NestedAndMutedNonVoidSendsCallTheSameReceivers) {
    Signal<int(int)> sig;
    Signal<void()> other;
    std::vector<std::size_t> nested_sizes;
    sig.connect([&](int depth) {
        if (depth == 0) {
            nested_sizes.push_back(sig.send({}, 1).size());
            nested_sizes.push_back(sig.send_robust({}, 1).size());
        }
        return depth;
    });
    sig.connect([](int depth) { return depth + 1; });
    EXPECT_EQ(sig.send({}, 0).size(), 2u);
    EXPECT_EQ(nested_sizes, (std::vector<std::size_t>{2, 2}));
    const tocsin::ScopedMute mute(other);  // this thread is muted (another signal)
    EXPECT_EQ(sig.send({}, 5).size(), 2u);
    EXPECT_EQ(sig.send_robust({}, 5).size(), 2u);
}

TEST(Send, SeveralArgumentsOfSeveralKinds) {
    Signal<std::string(const std::string&, int, double)> sig;
    sig.connect([](const std::string& name, int count, double price) {
        return name + ":" + std::to_string(count) + ":" +
               std::to_string(static_cast<int>(price * 100));
    });
    const auto responses = sig.send({}, std::string("widget"), 3, 1.25);
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_EQ(responses[0].value, "widget:3:125");
}

TEST(Send, ReceiversSeeEachOthersChangesToAReferenceArgument) {
    Signal<int(std::vector<std::string>&)> sig;
    sig.connect([](std::vector<std::string>& trail) {
        trail.push_back("one");
        return static_cast<int>(trail.size());
    });
    sig.connect([](std::vector<std::string>& trail) {
        trail.push_back("two");
        return static_cast<int>(trail.size());
    });
    std::vector<std::string> trail{"start"};
    const auto responses = sig.send({}, trail);
    EXPECT_EQ(trail, (Strings{"start", "one", "two"}));
    ASSERT_EQ(responses.size(), 2u);
    EXPECT_EQ(responses[0].value, 2);
    EXPECT_EQ(responses[1].value, 3);
}

TEST(Send, MoveOnlyResults) {
    Signal<std::unique_ptr<int>(int)> sig;
    sig.connect([](int v) { return std::make_unique<int>(v); });
    sig.connect([](int v) { return std::make_unique<int>(v * 2); });
    auto responses = sig.send({}, 21);
    ASSERT_EQ(responses.size(), 2u);
    ASSERT_NE(responses[0].value, nullptr);
    ASSERT_NE(responses[1].value, nullptr);
    EXPECT_EQ(*responses[0].value, 21);
    EXPECT_EQ(*responses[1].value, 42);
}

TEST(Send, SendsOnTwoSignalsAreIndependent) {
    Signal<void()> first{"first"};
    Signal<void()> second{"second"};
    Log log;
    first.connect([&log] { log.add("first"); });
    second.connect([&log] { log.add("second"); });
    second.send({});
    first.send({});
    EXPECT_EQ(log.entries(), (Strings{"second", "first"}));
}

}  // namespace send_test
}  // namespace
