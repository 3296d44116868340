// Signal::connect: receiver forms, identity (function pointers, member functions, dispatch_uid),
// sender filtering, duplicate connects. Django: notes §1.2-§1.3.
#include <tocsin/dispatch.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "test_support.hpp"

namespace {
namespace connect_test {

using tocsin::Connection;
using tocsin::Sender;
using tocsin::Signal;
using tocsin_test::Log;
using tocsin_test::Strings;

// Plain functions have an identity; they record into this log.
Log g_log;

int twice(int v) {
    g_log.add("twice " + std::to_string(v));
    return 2 * v;
}
void on_order(const Sender& sender, int v) {
    g_log.add("on_order " + sender.name() + " " + std::to_string(v));
}

class Connect : public ::testing::Test {
  protected:
    void SetUp() override { g_log.clear(); }
};

struct Counter {
    int total = 0;
    std::vector<std::string> senders;
    void add(int v) { total += v; }
    void add_from(const Sender& sender, int v) {
        senders.push_back(sender.name());
        total += v;
    }
    int peek(int v) const { return total + v; }
};

TEST_F(Connect, ValueCategoriesOfTheTypes) {
    static_assert(!std::is_copy_constructible_v<Signal<void()>>);
    static_assert(!std::is_move_constructible_v<Signal<void()>>);
    static_assert(!std::is_copy_assignable_v<Signal<void()>>);
    static_assert(!std::is_move_assignable_v<Signal<void()>>);
    static_assert(std::is_copy_constructible_v<Connection>);
    static_assert(std::is_copy_assignable_v<Connection>);
    static_assert(!std::is_copy_constructible_v<tocsin::ScopedConnection>);
    static_assert(std::is_nothrow_move_constructible_v<tocsin::ScopedConnection>);
    static_assert(!std::is_copy_constructible_v<tocsin::ScopedMute>);
    static_assert(!std::is_move_constructible_v<tocsin::ScopedMute>);
    static_assert(std::is_aggregate_v<tocsin::Connect>);
    SUCCEED();
}

TEST_F(Connect, EveryOptionInDeclarationOrder) {
    Signal<void()> sig;
    Log log;
    auto owner = std::make_shared<int>(0);
    auto pool = std::make_shared<tocsin::ThreadPool>(1);
    const Connection c =
        sig.connect([&log] { log.add("all options"); }, {.sender = Sender::of<Order>(),
                                                         .dispatch_uid = "uid",
                                                         .track = owner,
                                                         .priority = 4,
                                                         .executor = pool,
                                                         .name = "everything"});
    EXPECT_EQ(c.name(), "everything");
    sig.send(Sender::of<Invoice>());
    sig.send(Sender::of<Order>());
    EXPECT_EQ(log.entries(), (Strings{"all options"}));
}

TEST_F(Connect, ReceiverReturningAConvertibleType) {
    Signal<long()> sig;
    sig.connect([] { return 7; });  // int for a long signal
    const auto responses = sig.send({});
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_EQ(responses[0].value, 7L);
}

TEST_F(Connect, DefaultConnectionIsNotConnected) {
    const Connection c;
    EXPECT_FALSE(c.connected());
    EXPECT_FALSE(c.disconnect());
    EXPECT_EQ(c.name(), "");
}

TEST_F(Connect, ReturnsAConnectedConnection) {
    Signal<int(int)> sig;
    const Connection c = sig.connect(&twice);
    EXPECT_TRUE(c.connected());
    EXPECT_EQ(sig.receiver_count(), 1u);
    EXPECT_TRUE(sig.has_listeners());
}

TEST_F(Connect, SameFunctionPointerIsOneReceiver) {
    Signal<int(int)> sig;
    const Connection first = sig.connect(&twice);
    const Connection again = sig.connect(&twice);
    EXPECT_EQ(first, again);
    EXPECT_EQ(sig.receiver_count(), 1u);
    const auto responses = sig.send({}, 3);
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_EQ(responses[0].value, 6);
    EXPECT_EQ(g_log.entries(), (Strings{"twice 3"}));
}

TEST_F(Connect, FunctionAndItsAddressAreOneReceiver) {
    Signal<int(int)> sig;
    const Connection by_name = sig.connect(twice);
    const Connection by_address = sig.connect(&twice);
    EXPECT_EQ(by_name, by_address);
    EXPECT_EQ(sig.receiver_count(), 1u);
}

TEST_F(Connect, LambdasWithoutUidAreAlwaysDistinct) {
    Signal<void()> sig;
    Log log;
    auto receiver = [&log] { log.add("called"); };
    const Connection a = sig.connect(receiver);
    const Connection b = sig.connect(receiver);
    EXPECT_NE(a, b);
    EXPECT_EQ(sig.receiver_count(), 2u);
    sig.send({});
    EXPECT_EQ(log.entries(), (Strings{"called", "called"}));
}

TEST_F(Connect, SameDispatchUidIsOneReceiverAndTheFirstStays) {
    Signal<void()> sig;
    Log log;
    const Connection first = sig.connect([&log] { log.add("first"); }, {.dispatch_uid = "uid"});
    const Connection second = sig.connect([&log] { log.add("second"); }, {.dispatch_uid = "uid"});
    EXPECT_EQ(first, second);
    EXPECT_EQ(sig.receiver_count(), 1u);
    sig.send({});
    EXPECT_EQ(log.entries(), (Strings{"first"}));
}

TEST_F(Connect, SameDispatchUidForTwoSendersIsTwoReceivers) {
    Signal<void()> sig;
    Log log;
    sig.connect([&log] { log.add("order"); },
                {.sender = Sender::of<Order>(), .dispatch_uid = "uid"});
    sig.connect([&log] { log.add("invoice"); },
                {.sender = Sender::of<Invoice>(), .dispatch_uid = "uid"});
    EXPECT_EQ(sig.receiver_count(), 2u);
    sig.send(Sender::of<Order>());
    sig.send(Sender::of<Invoice>());
    EXPECT_EQ(log.entries(), (Strings{"order", "invoice"}));
}

TEST_F(Connect, DispatchUidWinsOverTheFunctionIdentity) {
    // Key = dispatch_uid when given: the same function under two uids is two receivers.
    Signal<int(int)> sig;
    sig.connect(&twice, {.dispatch_uid = "one"});
    sig.connect(&twice, {.dispatch_uid = "two"});
    EXPECT_EQ(sig.receiver_count(), 2u);
    sig.send({}, 1);
    EXPECT_EQ(g_log.entries(), (Strings{"twice 1", "twice 1"}));
}

TEST_F(Connect, EmptyDispatchUidCountsAsNotGiven) {
    Signal<void()> sig;
    Log log;
    sig.connect([&log] { log.add("a"); }, {.dispatch_uid = ""});
    sig.connect([&log] { log.add("b"); }, {.dispatch_uid = ""});
    EXPECT_EQ(sig.receiver_count(), 2u);
    sig.send({});
    EXPECT_EQ(log.entries(), (Strings{"a", "b"}));
}

TEST_F(Connect, SameReceiverForNoSenderAndForASenderIsTwoReceivers) {
    // Django item 6: two entries, and send(X) calls the receiver twice.
    Signal<void(int)> sig;
    const Connection any = sig.connect(&on_order);
    const Connection orders = sig.connect(&on_order, {.sender = Sender::of<Order>()});
    EXPECT_NE(any, orders);
    EXPECT_EQ(sig.receiver_count(), 2u);
    sig.send(Sender::of<Order>(), 1);
    sig.send(Sender::of<Invoice>(), 2);
    sig.send({}, 3);
    EXPECT_EQ(g_log.entries(), (Strings{"on_order Order 1", "on_order Order 1",
                                        "on_order Invoice 2", "on_order (none) 3"}));
}

TEST_F(Connect, SenderFilteredReceiverHearsOnlyItsSender) {
    Signal<void()> sig;
    Log log;
    sig.connect([&log] { log.add("orders only"); }, {.sender = Sender::of<Order>()});
    sig.send(Sender::of<Invoice>());
    sig.send({});
    EXPECT_TRUE(log.entries().empty());
    sig.send(Sender::of<Order>());
    EXPECT_EQ(log.entries(), (Strings{"orders only"}));
}

TEST_F(Connect, ObjectSenderFilterIsByIdentity) {
    Signal<void()> sig;
    Log log;
    const Order mine;
    const Order other;
    sig.connect([&log] { log.add("mine"); }, {.sender = Sender::object(&mine)});
    sig.send(Sender::object(&other));
    sig.send(Sender::of<Order>());
    EXPECT_TRUE(log.entries().empty());
    sig.send(Sender::object(&mine));
    EXPECT_EQ(log.entries(), (Strings{"mine"}));
}

TEST_F(Connect, SenderLessReceiverHearsEverySenderAndIsToldWhichOne) {
    Signal<void(int)> sig;
    const Order order;
    sig.connect(&on_order);
    sig.send(Sender::of<Order>(), 1);
    sig.send(Sender::of<Invoice>(), 2);
    sig.send({}, 3);
    sig.send(Sender::object(&order), 4);
    const Strings log = g_log.entries();
    ASSERT_EQ(log.size(), 4u);
    EXPECT_EQ(log[0], "on_order Order 1");
    EXPECT_EQ(log[1], "on_order Invoice 2");
    EXPECT_EQ(log[2], "on_order (none) 3");
    EXPECT_EQ(log[3], "on_order " + Sender::object(&order).name() + " 4");
}

TEST_F(Connect, ReceiverTakingSenderAndArgumentsOrArgumentsOnly) {
    Signal<void(int, const std::string&)> sig;
    Log log;
    sig.connect([&log](const Sender& s, int n, const std::string& text) {
        log.add("with sender " + s.name() + " " + std::to_string(n) + " " + text);
    });
    sig.connect([&log](int n, const std::string& text) {
        log.add("args only " + std::to_string(n) + " " + text);
    });
    sig.send(Sender::of<Order>(), 5, "five");
    EXPECT_EQ(log.entries(), (Strings{"with sender Order 5 five", "args only 5 five"}));
}

TEST_F(Connect, SignalWithNoArguments) {
    Signal<void()> sig;
    Log log;
    sig.connect([&log] { log.add("no args"); });
    sig.connect([&log](const Sender& s) { log.add("sender " + s.name()); });
    sig.send({});
    sig.send(Sender::of<Order>());
    EXPECT_EQ(log.entries(), (Strings{"no args", "sender (none)", "no args", "sender Order"}));
}

TEST_F(Connect, ReferenceArgumentCanBeMutatedByReceivers) {
    Signal<void(int&)> sig;
    sig.connect([](int& v) { v += 1; });
    sig.connect([](const Sender&, int& v) { v *= 10; });
    int value = 1;
    sig.send({}, value);
    EXPECT_EQ(value, 20);
}

struct CopyCounter {
    int* copies;
    explicit CopyCounter(int* c) : copies(c) {}
    CopyCounter(const CopyCounter& other) : copies(other.copies) { ++*copies; }
    CopyCounter& operator=(const CopyCounter& other) {
        copies = other.copies;
        ++*copies;
        return *this;
    }
};

TEST_F(Connect, ConstReferenceArgumentIsNotCopied) {
    Signal<void(const CopyCounter&)> sig;
    int seen = 0;
    sig.connect([&seen](const CopyCounter&) { ++seen; });
    sig.connect([&seen](const Sender&, const CopyCounter&) { ++seen; });
    sig.connect([&seen](const CopyCounter&) { ++seen; });
    int copies = 0;
    const CopyCounter payload(&copies);
    sig.send({}, payload);
    EXPECT_EQ(seen, 3);
    EXPECT_EQ(copies, 0);
}

TEST_F(Connect, MemberFunctionOnASharedObject) {
    Signal<void(int)> sig;
    auto counter = std::make_shared<Counter>();
    const Connection c = sig.connect(&Counter::add, counter);
    EXPECT_TRUE(c.connected());
    sig.send({}, 4);
    sig.send({}, 5);
    EXPECT_EQ(counter->total, 9);
}

TEST_F(Connect, SameMemberFunctionOnSameObjectIsOneReceiver) {
    Signal<void(int)> sig;
    auto counter = std::make_shared<Counter>();
    const Connection a = sig.connect(&Counter::add, counter);
    const Connection b = sig.connect(&Counter::add, counter);
    const Connection c = sig.connect(&Counter::add, counter.get());
    EXPECT_EQ(a, b);
    EXPECT_EQ(a, c);
    EXPECT_EQ(sig.receiver_count(), 1u);
    sig.send({}, 1);
    EXPECT_EQ(counter->total, 1);
}

TEST_F(Connect, SameMemberFunctionOnTwoObjectsIsTwoReceivers) {
    Signal<void(int)> sig;
    auto first = std::make_shared<Counter>();
    auto second = std::make_shared<Counter>();
    EXPECT_NE(sig.connect(&Counter::add, first), sig.connect(&Counter::add, second));
    EXPECT_EQ(sig.receiver_count(), 2u);
    sig.send({}, 2);
    EXPECT_EQ(first->total, 2);
    EXPECT_EQ(second->total, 2);
}

TEST_F(Connect, MemberFunctionOnARawPointer) {
    Signal<void(int)> sig;
    Counter counter;
    const Connection a = sig.connect(&Counter::add, &counter);
    const Connection b = sig.connect(&Counter::add, &counter);
    EXPECT_EQ(a, b);
    EXPECT_EQ(sig.receiver_count(), 1u);
    sig.send({}, 3);
    EXPECT_EQ(counter.total, 3);
}

TEST_F(Connect, MemberFunctionTakingTheSender) {
    Signal<void(int)> sig;
    auto counter = std::make_shared<Counter>();
    sig.connect(&Counter::add_from, counter);
    sig.send(Sender::of<Order>(), 2);
    EXPECT_EQ(counter->total, 2);
    EXPECT_EQ(counter->senders, (Strings{"Order"}));
}

TEST_F(Connect, ConstMemberFunction) {
    Signal<int(int)> sig;
    auto counter = std::make_shared<Counter>();
    counter->total = 10;
    sig.connect(&Counter::peek, counter);
    const auto responses = sig.send({}, 5);
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_EQ(responses[0].value, 15);
}

TEST_F(Connect, DuplicateConnectKeepsTheFirstOptions) {
    Signal<int(int)> sig;
    sig.connect(&twice, {.priority = 0, .name = "first"});
    const Connection again = sig.connect(&twice, {.priority = 10, .name = "second"});
    EXPECT_EQ(again.name(), "first");
    const auto listed = sig.receivers();
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].name, "first");
    EXPECT_EQ(listed[0].priority, 0);
}

TEST_F(Connect, DuplicateConnectReturnsAHandleOnTheExistingReceiver) {
    Signal<void()> sig;
    Log log;
    const Connection first = sig.connect([&log] { log.add("first"); }, {.dispatch_uid = "uid"});
    const Connection second = sig.connect([&log] { log.add("second"); }, {.dispatch_uid = "uid"});
    EXPECT_TRUE(second.disconnect());
    EXPECT_FALSE(first.connected());
    EXPECT_FALSE(first.disconnect());
    sig.send({});
    EXPECT_TRUE(log.entries().empty());
}

TEST_F(Connect, CopiesOfAConnectionAreEqual) {
    Signal<void()> sig;
    const Connection a = sig.connect([] {});
    const Connection copy = a;  // NOLINT(performance-unnecessary-copy-initialization)
    const Connection b = sig.connect([] {});
    EXPECT_EQ(a, copy);
    EXPECT_NE(a, b);
}

TEST_F(Connect, StatefulReceiverKeepsItsStateAcrossSends) {
    Signal<int()> sig;
    sig.connect([n = 0]() mutable { return ++n; });
    std::vector<int> firsts;
    for (int i = 0; i < 3; ++i) {
        const auto responses = sig.send({});
        ASSERT_EQ(responses.size(), static_cast<std::size_t>(i + 1));
        firsts.push_back(responses[0].value);
        sig.connect([] { return 100; });  // changing the receiver list does not reset the state
    }
    EXPECT_EQ(firsts, (std::vector<int>{1, 2, 3}));
}

TEST_F(Connect, OneCallableOnSeveralSignals) {
    // Django ReceiverTestCase.test_receiver_signal_list: @receiver([a, b, c]).
    Signal<void()> a;
    Signal<void()> b;
    Signal<void()> c;
    Log log;
    for (auto* sig : {&a, &b, &c}) {
        sig->connect([&log](const Sender& s) { log.add(s.name()); });
    }
    a.send(Sender::of<Order>());
    c.send(Sender::of<Invoice>());
    b.send({});
    EXPECT_EQ(log.entries(), (Strings{"Order", "Invoice", "(none)"}));
}

TEST_F(Connect, AnySenderAndOneSenderBothRunInRegistrationOrder) {
    // Django signals/tests.py test_decorators: receivers with and without sender=Car both run,
    // in the order they were registered.
    Signal<void()> sig;
    Log log;
    sig.connect([&log] { log.add("any"); });
    sig.connect([&log] { log.add("orders"); }, {.sender = Sender::of<Order>()});
    sig.send(Sender::of<Order>());
    EXPECT_EQ(log.entries(), (Strings{"any", "orders"}));
}

TEST_F(Connect, TrackedReceiversWithTheSameUidAreOneReceiver) {
    Signal<void()> sig;
    Log log;
    auto owner = std::make_shared<int>(1);
    sig.connect([&log] { log.add("first"); }, {.dispatch_uid = "uid", .track = owner});
    sig.connect([&log] { log.add("second"); }, {.dispatch_uid = "uid", .track = owner});
    EXPECT_EQ(sig.receiver_count(), 1u);
    sig.send({});
    EXPECT_EQ(log.entries(), (Strings{"first"}));
}

// Receivers keep a name, uid, executor or extra senders apart from the rest (made only when one
// is given): receivers with and without them, side by side, each keep what they were given.
TEST_F(Connect, ReceiversWithAndWithoutOptionalPartsSideBySide) {
    Signal<void()> sig;
    Log log;
    auto pool = std::make_shared<tocsin::ThreadPool>(1);
    const Connection plain = sig.connect([&log] { log.add("plain"); }, {.priority = 3});
    const Connection named =
        sig.connect([&log] { log.add("named"); }, {.priority = 2, .name = "audit.named"});
    const Connection uid =
        sig.connect([&log] { log.add("uid"); }, {.dispatch_uid = "audit.uid", .priority = 1});
    const Connection async = sig.connect([&log] { log.add("async"); }, {.executor = pool});
    const Connection heard =
        sig.connect([&log] { log.add("heard"); }, {.sender = Sender::of<Order>(), .priority = -1});
    EXPECT_TRUE(sig.add_sender(heard, Sender::of<Invoice>()));
    EXPECT_FALSE(sig.add_sender(heard, Sender::of<Invoice>()));
    EXPECT_FALSE(sig.add_sender(plain, Sender::of<Invoice>()));  // hears every sender already

    const auto listed = sig.receivers();
    ASSERT_EQ(listed.size(), 5U);
    EXPECT_EQ(listed[0].dispatch_uid, "");
    EXPECT_TRUE(listed[0].also_senders.empty());
    EXPECT_EQ(listed[1].name, "audit.named");
    EXPECT_EQ(listed[2].dispatch_uid, "audit.uid");
    EXPECT_TRUE(listed[3].async);
    EXPECT_FALSE(listed[0].async);
    EXPECT_EQ(listed[4].also_senders, (std::vector<Sender>{Sender::of<Invoice>()}));
    EXPECT_EQ(named.name(), "audit.named");
    EXPECT_EQ(uid.name(), "audit.uid");

    sig.send(Sender::of<Invoice>());
    EXPECT_EQ(log.entries(), (Strings{"plain", "named", "uid", "heard", "async"}));
    log.clear();

    // The same uid again is the same receiver; a lambda without one never is.
    EXPECT_EQ(sig.connect([&log] { log.add("uid again"); }, {.dispatch_uid = "audit.uid"}), uid);
    EXPECT_TRUE(sig.disconnect("audit.uid"));
    EXPECT_FALSE(uid.connected());
    EXPECT_TRUE(heard.disconnect());  // from Order and from Invoice
    EXPECT_TRUE(async.disconnect());
    sig.send(Sender::of<Invoice>());
    EXPECT_EQ(log.entries(), (Strings{"plain", "named"}));
    EXPECT_EQ(sig.receiver_count(), 2U);
}

}  // namespace connect_test
}  // namespace
