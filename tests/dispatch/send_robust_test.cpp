// Signal::send_robust: every receiver runs, nothing is thrown, each outcome says what happened,
// the error logger hears about each failure. Django: notes §1.8.
#include <tocsin/dispatch.hpp>

#include <gtest/gtest.h>

#include <exception>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "test_support.hpp"

namespace {
namespace send_robust_test {

using tocsin::Connection;
using tocsin::Outcome;
using tocsin::ReceiverError;
using tocsin::Sender;
using tocsin::Signal;
using tocsin_test::ErrorRecorder;
using tocsin_test::Log;
using tocsin_test::ProcessErrorLogger;
using tocsin_test::Strings;
using tocsin_test::what_of;

TEST(SendRobust, ReturnsOutcomes) {
    using IntRobust = decltype(std::declval<const Signal<int(int)>&>().send_robust(Sender{}, 1));
    using VoidRobust = decltype(std::declval<const Signal<void()>&>().send_robust(Sender{}));
    static_assert(std::is_same_v<IntRobust, std::vector<Outcome<int>>>);
    static_assert(std::is_same_v<VoidRobust, std::vector<Outcome<void>>>);
    SUCCEED();
}

TEST(SendRobust, RunsEveryReceiverAndReportsEachOutcome) {
    Signal<int(int)> sig{"robust"};
    Log log;
    const Connection ok1 = sig.connect([&log](int v) {
        log.add("ok1");
        return v;
    });
    const Connection bad = sig.connect([&log](int) -> int {
        log.add("bad");
        throw std::runtime_error("boom");
    });
    const Connection ok2 = sig.connect([&log](int v) {
        log.add("ok2");
        return v * 3;
    });
    std::vector<Outcome<int>> outcomes;
    EXPECT_NO_THROW(outcomes = sig.send_robust({}, 2));
    EXPECT_EQ(log.entries(), (Strings{"ok1", "bad", "ok2"}));
    ASSERT_EQ(outcomes.size(), 3u);

    EXPECT_FALSE(outcomes[0].error);
    ASSERT_TRUE(outcomes[0].value.has_value());
    EXPECT_EQ(*outcomes[0].value, 2);
    EXPECT_EQ(outcomes[0].receiver, ok1);

    EXPECT_TRUE(outcomes[1].error);
    EXPECT_FALSE(outcomes[1].value.has_value());
    EXPECT_EQ(what_of(outcomes[1].error), "boom");
    EXPECT_THROW(std::rethrow_exception(outcomes[1].error), std::runtime_error);
    EXPECT_EQ(outcomes[1].receiver, bad);

    EXPECT_FALSE(outcomes[2].error);
    ASSERT_TRUE(outcomes[2].value.has_value());
    EXPECT_EQ(*outcomes[2].value, 6);
    EXPECT_EQ(outcomes[2].receiver, ok2);
}

TEST(SendRobust, VoidOutcomesCarryOnlyErrors) {
    Signal<void()> sig;
    const Connection ok = sig.connect([] {});
    const Connection bad = sig.connect([] { throw std::logic_error("nope"); });
    const auto outcomes = sig.send_robust({});
    ASSERT_EQ(outcomes.size(), 2u);
    EXPECT_FALSE(outcomes[0].error);
    EXPECT_EQ(outcomes[0].receiver, ok);
    EXPECT_TRUE(outcomes[1].error);
    EXPECT_EQ(what_of(outcomes[1].error), "nope");
    EXPECT_EQ(outcomes[1].receiver, bad);
}

TEST(SendRobust, CatchesExceptionsOfAnyType) {
    Signal<void()> sig;
    Log log;
    sig.connect([] { throw 42; });
    sig.connect([&log] { log.add("still runs"); });
    std::vector<Outcome<void>> outcomes;
    EXPECT_NO_THROW(outcomes = sig.send_robust({}));
    ASSERT_EQ(outcomes.size(), 2u);
    ASSERT_TRUE(outcomes[0].error);
    try {
        std::rethrow_exception(outcomes[0].error);
    } catch (int value) {
        EXPECT_EQ(value, 42);
    } catch (...) {
        ADD_FAILURE() << "the stored error is not the int that was thrown";
    }
    EXPECT_FALSE(outcomes[1].error);
    EXPECT_EQ(log.entries(), (Strings{"still runs"}));
}

TEST(SendRobust, NoReceiversGivesNoOutcomes) {
    const Signal<int(int)> sig;
    EXPECT_TRUE(sig.send_robust({}, 1).empty());
    EXPECT_TRUE(sig.send_robust(Sender::of<Order>(), 1).empty());
}

TEST(SendRobust, HonoursSenderFilteringAndOrder) {
    Signal<int()> sig;
    sig.connect([] { return 1; });
    sig.connect([] { return 2; }, {.sender = Sender::of<Order>()});
    sig.connect([] { return 3; });
    std::vector<int> values;
    for (const auto& outcome : sig.send_robust(Sender::of<Order>())) {
        ASSERT_TRUE(outcome.value.has_value());
        values.push_back(*outcome.value);
    }
    EXPECT_EQ(values, (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(sig.send_robust({}).size(), 2u);
}

TEST(SendRobust, ReceiverErrorMessage) {
    const auto error = std::make_exception_ptr(std::runtime_error("disk full"));
    const ReceiverError e{.signal = "store.order_created", .receiver = "notify", .error = error};
    EXPECT_EQ(e.message(), "Error calling notify in Signal.send_robust() (disk full)");
}

TEST(SendRobust, ProcessWideLoggerIsToldEveryFailure) {
    ErrorRecorder recorder;
    const ProcessErrorLogger guard(recorder.logger());
    Signal<void(int)> sig{"store.order_created"};
    sig.connect([](int) { throw std::runtime_error("first"); }, {.name = "fails_first"});
    sig.connect([](int) {}, {.name = "succeeds"});
    sig.connect([](int) { throw std::invalid_argument("second"); }, {.name = "fails_second"});
    sig.send_robust({}, 1);
    const auto errors = recorder.errors();
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_EQ(errors[0].signal, "store.order_created");
    EXPECT_EQ(errors[0].receiver, "fails_first");
    EXPECT_EQ(errors[0].what, "first");
    EXPECT_EQ(errors[0].message, "Error calling fails_first in Signal.send_robust() (first)");
    EXPECT_EQ(errors[1].signal, "store.order_created");
    EXPECT_EQ(errors[1].receiver, "fails_second");
    EXPECT_EQ(errors[1].what, "second");
    EXPECT_EQ(errors[1].message, "Error calling fails_second in Signal.send_robust() (second)");
}

TEST(SendRobust, LoggerIsToldOncePerFailurePerSend) {
    ErrorRecorder recorder;
    const ProcessErrorLogger guard(recorder.logger());
    Signal<void()> sig;
    sig.connect([] { throw std::runtime_error("again"); }, {.name = "flaky"});
    sig.send_robust({});
    sig.send_robust({});
    sig.send_robust({});
    EXPECT_EQ(recorder.messages(),
              (Strings(3, "Error calling flaky in Signal.send_robust() (again)")));
}

TEST(SendRobust, SuccessfulReceiversAreNotLogged) {
    ErrorRecorder recorder;
    const ProcessErrorLogger guard(recorder.logger());
    Signal<int()> sig;
    sig.connect([] { return 1; });
    sig.send_robust({});
    EXPECT_TRUE(recorder.errors().empty());
}

TEST(SendRobust, SignalLoggerOverridesTheProcessWideOne) {
    ErrorRecorder process;
    ErrorRecorder local;
    const ProcessErrorLogger guard(process.logger());
    Signal<void()> sig{"local"};
    Signal<void()> other{"other"};
    sig.set_error_logger(local.logger());
    sig.connect([] { throw std::runtime_error("x"); }, {.name = "r"});
    other.connect([] { throw std::runtime_error("y"); }, {.name = "s"});
    sig.send_robust({});
    other.send_robust({});
    EXPECT_EQ(local.messages(), (Strings{"Error calling r in Signal.send_robust() (x)"}));
    EXPECT_EQ(process.messages(), (Strings{"Error calling s in Signal.send_robust() (y)"}));
}

TEST(SendRobust, WorksWithNoLoggerAnywhere) {
    tocsin::set_error_logger(nullptr);
    Signal<void()> sig;
    sig.connect([] { throw std::runtime_error("unheard"); });
    const auto outcomes = sig.send_robust({});
    ASSERT_EQ(outcomes.size(), 1u);
    EXPECT_EQ(what_of(outcomes[0].error), "unheard");
}

TEST(SendRobust, LoggerIsToldTheDerivedNameOfAnUnnamedReceiver) {
    ErrorRecorder recorder;
    const ProcessErrorLogger guard(recorder.logger());
    Signal<void()> sig;
    const Connection c = sig.connect([] { throw std::runtime_error("anonymous"); });
    sig.send_robust({});
    const auto errors = recorder.errors();
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_FALSE(c.name().empty());
    EXPECT_EQ(errors[0].receiver, c.name());
    EXPECT_EQ(errors[0].message,
              "Error calling " + c.name() + " in Signal.send_robust() (anonymous)");
}

TEST(SendRobust, SendStillThrowsWhereSendRobustDoesNot) {
    ErrorRecorder recorder;
    const ProcessErrorLogger guard(recorder.logger());
    Signal<void()> sig;
    sig.connect([] { throw std::runtime_error("plain send"); });
    EXPECT_THROW(sig.send({}), std::runtime_error);
    EXPECT_TRUE(recorder.errors().empty()) << "send() must not log, only propagate";
}

}  // namespace send_robust_test
}  // namespace
