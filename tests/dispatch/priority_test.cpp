// Connect{.priority}: higher runs first; equal priority keeps connection order (Django's FIFO is
// the all-zero case). Sender-filtered and sender-less receivers merge in that one order.
#include <tocsin/dispatch.hpp>

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace {
namespace priority_test {

using tocsin::Sender;
using tocsin::Signal;
using tocsin_test::Log;
using tocsin_test::Strings;

TEST(Priority, HigherRunsFirst) {
    Signal<void()> sig;
    Log log;
    sig.connect([&log] { log.add("low"); }, {.priority = -5});
    sig.connect([&log] { log.add("default"); });
    sig.connect([&log] { log.add("high"); }, {.priority = 10});
    sig.connect([&log] { log.add("middle"); }, {.priority = 3});
    sig.send({});
    EXPECT_EQ(log.entries(), (Strings{"high", "middle", "default", "low"}));
}

TEST(Priority, EqualPriorityKeepsConnectionOrder) {
    Signal<void()> sig;
    Log log;
    sig.connect([&log] { log.add("a1"); }, {.priority = 1});
    sig.connect([&log] { log.add("b0"); });
    sig.connect([&log] { log.add("c1"); }, {.priority = 1});
    sig.connect([&log] { log.add("d0"); });
    sig.connect([&log] { log.add("e1"); }, {.priority = 1});
    sig.send({});
    EXPECT_EQ(log.entries(), (Strings{"a1", "c1", "e1", "b0", "d0"}));
}

TEST(Priority, AllDefaultIsDjangosConnectionOrder) {
    Signal<void()> sig;
    Log log;
    for (int i = 0; i < 8; ++i) {
        sig.connect([&log, i] { log.add(std::to_string(i)); });
    }
    sig.send({});
    EXPECT_EQ(log.entries(), (Strings{"0", "1", "2", "3", "4", "5", "6", "7"}));
}

TEST(Priority, SenderFilteredAndSenderLessMergeByPriority) {
    Signal<void()> sig;
    Log log;
    sig.connect([&log] { log.add("any 0"); });
    sig.connect([&log] { log.add("order 5"); }, {.sender = Sender::of<Order>(), .priority = 5});
    sig.connect([&log] { log.add("any 5"); }, {.priority = 5});
    sig.connect([&log] { log.add("order -1"); }, {.sender = Sender::of<Order>(), .priority = -1});
    sig.connect([&log] { log.add("invoice 9"); }, {.sender = Sender::of<Invoice>(), .priority = 9});
    sig.connect([&log] { log.add("order 0"); }, {.sender = Sender::of<Order>()});
    sig.send(Sender::of<Order>());
    EXPECT_EQ(log.entries(), (Strings{"order 5", "any 5", "any 0", "order 0", "order -1"}));
    log.clear();
    sig.send(Sender::of<Invoice>());
    EXPECT_EQ(log.entries(), (Strings{"invoice 9", "any 5", "any 0"}));
}

TEST(Priority, ResponsesComeInCallOrder) {
    Signal<int()> sig;
    sig.connect([] { return 1; }, {.priority = 1});
    sig.connect([] { return 2; }, {.priority = 2});
    sig.connect([] { return 0; });
    std::vector<int> values;
    for (const auto& r : sig.send({})) {
        values.push_back(r.value);
    }
    EXPECT_EQ(values, (std::vector<int>{2, 1, 0}));
    values.clear();
    for (const auto& r : sig.send_robust({})) {
        ASSERT_TRUE(r.value.has_value());
        values.push_back(*r.value);
    }
    EXPECT_EQ(values, (std::vector<int>{2, 1, 0}));
}

TEST(Priority, ReceiversAreListedInCallOrder) {
    Signal<void()> sig;
    sig.connect([] {}, {.priority = 0, .name = "zero"});
    sig.connect([] {}, {.sender = Sender::of<Order>(), .priority = 7, .name = "seven"});
    sig.connect([] {}, {.priority = -2, .name = "minus two"});
    sig.connect([] {}, {.priority = 7, .name = "seven again"});
    Strings names;
    std::vector<int> priorities;
    for (const auto& info : sig.receivers()) {
        names.push_back(info.name);
        priorities.push_back(info.priority);
    }
    EXPECT_EQ(names, (Strings{"seven", "seven again", "zero", "minus two"}));
    EXPECT_EQ(priorities, (std::vector<int>{7, 7, 0, -2}));
}

TEST(Priority, DisconnectingKeepsTheOrderOfTheRest) {
    Signal<void()> sig;
    Log log;
    sig.connect([&log] { log.add("p1 first"); }, {.priority = 1});
    const auto gone = sig.connect([&log] { log.add("p2"); }, {.priority = 2});
    sig.connect([&log] { log.add("p1 second"); }, {.priority = 1});
    sig.connect([&log] { log.add("p3"); }, {.priority = 3});
    EXPECT_TRUE(gone.disconnect());
    sig.send({});
    EXPECT_EQ(log.entries(), (Strings{"p3", "p1 first", "p1 second"}));
}

TEST(Priority, ReconnectingAnEqualPriorityReceiverPutsItLastAmongItsPeers) {
    Signal<void()> sig;
    Log log;
    const auto a = sig.connect([&log] { log.add("a"); }, {.dispatch_uid = "a", .priority = 1});
    sig.connect([&log] { log.add("b"); }, {.priority = 1});
    EXPECT_TRUE(a.disconnect());
    sig.connect([&log] { log.add("a again"); }, {.dispatch_uid = "a", .priority = 1});
    sig.send({});
    EXPECT_EQ(log.entries(), (Strings{"b", "a again"}));
}

TEST(Priority, HighPriorityConnectedDuringASendWaitsForTheNextSend) {
    Signal<void()> sig;
    Log log;
    bool once = false;
    sig.connect([&] {
        log.add("connector");
        if (!once) {
            once = true;
            sig.connect([&log] { log.add("urgent"); }, {.priority = 100});
        }
    });
    sig.connect([&log] { log.add("tail"); });
    sig.send({});
    sig.send({});
    EXPECT_EQ(log.entries(), (Strings{"connector", "tail", "urgent", "connector", "tail"}));
}

TEST(Priority, ExtremeValues) {
    Signal<void()> sig;
    Log log;
    sig.connect([&log] { log.add("min"); }, {.priority = std::numeric_limits<int>::min()});
    sig.connect([&log] { log.add("max"); }, {.priority = std::numeric_limits<int>::max()});
    sig.connect([&log] { log.add("zero"); });
    sig.send({});
    EXPECT_EQ(log.entries(), (Strings{"max", "zero", "min"}));
}

}  // namespace priority_test
}  // namespace
