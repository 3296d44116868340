// Executors and async receivers: ThreadPool, default_executor(), receivers connected with
// Connect{.executor}, send()/send_robust() with async receivers, asend()/asend_robust().
// Django: notes §1.7 item 26, §1.9, and tests/signals AsyncReceiversTests.
#include <tocsin/dispatch.hpp>
#include <tocsin/dispatch/async.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "test_support.hpp"

struct Handler {};

namespace {
namespace async_test {

using namespace std::chrono_literals;
using tocsin::Connection;
using tocsin::Executor;
using tocsin::Outcome;
using tocsin::Response;
using tocsin::Sender;
using tocsin::Signal;
using tocsin::ThreadPool;
using tocsin_test::ErrorRecorder;
using tocsin_test::Gate;
using tocsin_test::Log;
using tocsin_test::ProcessErrorLogger;
using tocsin_test::Strings;
using tocsin_test::what_of;

// Two parties that must both be inside at once: proves two tasks ran concurrently.
class Rendezvous {
  public:
    explicit Rendezvous(int parties) : waiting_(parties) {}
    // Returns false if the other parties did not arrive within the limit.
    bool arrive_and_wait(std::chrono::milliseconds limit = 5s) {
        std::unique_lock lock(mutex_);
        if (--waiting_ == 0) {
            cv_.notify_all();
            return true;
        }
        return cv_.wait_for(lock, limit, [this] { return waiting_ <= 0; });
    }

  private:
    std::mutex mutex_;
    std::condition_variable cv_;
    int waiting_;
};

// An executor that runs each task on a fresh thread and counts the tasks.
class CountingExecutor final : public Executor {
  public:
    ~CountingExecutor() override {
        for (auto& t : threads_) {
            t.join();
        }
    }
    void execute(std::function<void()> task) override {
        std::lock_guard lock(mutex_);
        ++tasks_;
        threads_.emplace_back(std::move(task));
    }
    int tasks() const {
        std::lock_guard lock(mutex_);
        return tasks_;
    }

  private:
    mutable std::mutex mutex_;
    int tasks_ = 0;
    std::vector<std::thread> threads_;
};

// Records which threads ran receivers.
class Threads {
  public:
    void add(const std::string& who) {
        std::lock_guard lock(mutex_);
        ids_.push_back(std::this_thread::get_id());
        who_.push_back(who);
    }
    std::vector<std::thread::id> ids() const {
        std::lock_guard lock(mutex_);
        return ids_;
    }
    Strings who() const {
        std::lock_guard lock(mutex_);
        return who_;
    }

  private:
    mutable std::mutex mutex_;
    std::vector<std::thread::id> ids_;
    Strings who_;
};

// ------------------------------------------------------------------ executors

TEST(ThreadPool, HasTheRequestedNumberOfThreads) {
    const ThreadPool pool(3);
    EXPECT_EQ(pool.size(), 3u);
}

TEST(ThreadPool, ZeroThreadsMeansHardwareConcurrency) {
    const ThreadPool pool(0);
    const unsigned hardware = std::thread::hardware_concurrency();
    if (hardware == 0) {
        EXPECT_GE(pool.size(), 1u);
    } else {
        EXPECT_EQ(pool.size(), hardware);
    }
}

TEST(ThreadPool, RunsEveryQueuedTaskBeforeItsDestructorReturns) {
    std::atomic<int> ran{0};
    {
        ThreadPool pool(2);
        for (int i = 0; i < 500; ++i) {
            pool.execute([&ran] {
                std::this_thread::yield();
                ++ran;
            });
        }
    }
    EXPECT_EQ(ran.load(), 500);
}

TEST(ThreadPool, RunsTasksOnItsOwnThreads) {
    ThreadPool pool(1);
    std::promise<std::thread::id> ran_on;
    pool.execute([&ran_on] { ran_on.set_value(std::this_thread::get_id()); });
    auto result = ran_on.get_future();
    ASSERT_EQ(result.wait_for(10s), std::future_status::ready);
    EXPECT_NE(result.get(), std::this_thread::get_id());
}

TEST(ThreadPool, RunsTasksConcurrently) {
    ThreadPool pool(2);
    Rendezvous both(2);
    std::promise<bool> first;
    std::promise<bool> second;
    pool.execute([&] { first.set_value(both.arrive_and_wait()); });
    pool.execute([&] { second.set_value(both.arrive_and_wait()); });
    EXPECT_TRUE(first.get_future().get());
    EXPECT_TRUE(second.get_future().get());
}

TEST(ThreadPool, IsAnExecutor) {
    const std::shared_ptr<Executor> executor = std::make_shared<ThreadPool>(1);
    std::promise<int> done;
    executor->execute([&done] { done.set_value(7); });
    EXPECT_EQ(done.get_future().get(), 7);
}

TEST(DefaultExecutor, IsOneProcessWideExecutor) {
    const std::shared_ptr<Executor> a = tocsin::default_executor();
    const std::shared_ptr<Executor> b = tocsin::default_executor();
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a, b);
    std::promise<std::thread::id> ran_on;
    a->execute([&ran_on] { ran_on.set_value(std::this_thread::get_id()); });
    auto result = ran_on.get_future();
    ASSERT_EQ(result.wait_for(10s), std::future_status::ready);
    EXPECT_NE(result.get(), std::this_thread::get_id());
}

// ------------------------------------------------------------------ send() with async receivers

TEST(AsyncReceivers, DjangoTestSend) {
    // Django AsyncReceiversTests.test_send: sync receivers first, then async ones.
    Signal<int(int)> sig;
    auto pool = std::make_shared<ThreadPool>(2);
    std::atomic<int> async_calls{0};
    std::atomic<int> sync_calls{0};
    const Connection async_handler = sig.connect(
        [&async_calls](int param) {
            ++async_calls;
            return param;
        },
        {.executor = pool, .name = "async_handler"});
    const Connection sync_handler = sig.connect(
        [&sync_calls](int param) {
            ++sync_calls;
            return param;
        },
        {.name = "sync_handler"});
    const auto responses = sig.send(Sender::of<Handler>(), 1);
    ASSERT_EQ(responses.size(), 2u);
    EXPECT_EQ(responses[0].receiver, sync_handler);
    EXPECT_EQ(responses[0].value, 1);
    EXPECT_EQ(responses[1].receiver, async_handler);
    EXPECT_EQ(responses[1].value, 1);
    EXPECT_EQ(async_calls.load(), 1);
    EXPECT_EQ(sync_calls.load(), 1);
}

TEST(AsyncReceivers, SyncRunOnTheCallingThreadAsyncOnTheirExecutor) {
    Signal<void()> sig;
    auto pool = std::make_shared<ThreadPool>(1);
    Threads threads;
    sig.connect([&threads] { threads.add("async"); }, {.executor = pool});
    sig.connect([&threads] { threads.add("sync1"); });
    sig.connect([&threads] { threads.add("sync2"); });
    sig.send({});
    EXPECT_EQ(threads.who(), (Strings{"sync1", "sync2", "async"}));
    const auto ids = threads.ids();
    ASSERT_EQ(ids.size(), 3u);
    EXPECT_EQ(ids[0], std::this_thread::get_id());
    EXPECT_EQ(ids[1], std::this_thread::get_id());
    EXPECT_NE(ids[2], std::this_thread::get_id());
}

TEST(AsyncReceivers, EachAsyncReceiverIsOneTaskOnItsOwnExecutor) {
    Signal<void()> sig;
    auto first = std::make_shared<CountingExecutor>();
    auto second = std::make_shared<CountingExecutor>();
    std::atomic<int> calls{0};
    sig.connect([&calls] { ++calls; }, {.executor = first});
    sig.connect([&calls] { ++calls; }, {.executor = second});
    sig.connect([&calls] { ++calls; }, {.executor = second});
    sig.send({});
    EXPECT_EQ(calls.load(), 3);
    EXPECT_EQ(first->tasks(), 1);
    EXPECT_EQ(second->tasks(), 2);
}

TEST(AsyncReceivers, SendWaitsForThem) {
    Signal<void()> sig;
    auto pool = std::make_shared<ThreadPool>(1);
    bool finished = false;  // not atomic: send() returning must make the write visible
    sig.connect(
        [&finished] {
            std::this_thread::sleep_for(50ms);
            finished = true;
        },
        {.executor = pool});
    sig.send({});
    EXPECT_TRUE(finished);
}

TEST(AsyncReceivers, RunConcurrentlyWithEachOther) {
    Signal<int()> sig;
    auto pool = std::make_shared<ThreadPool>(2);
    Rendezvous both(2);
    sig.connect([&both] { return both.arrive_and_wait() ? 1 : 0; }, {.executor = pool});
    sig.connect([&both] { return both.arrive_and_wait() ? 1 : 0; }, {.executor = pool});
    const auto responses = sig.send({});
    ASSERT_EQ(responses.size(), 2u);
    EXPECT_EQ(responses[0].value, 1) << "the async receivers did not run concurrently";
    EXPECT_EQ(responses[1].value, 1) << "the async receivers did not run concurrently";
}

TEST(AsyncReceivers, AsyncExceptionPropagatesFromSend) {
    Signal<void()> sig;
    auto pool = std::make_shared<ThreadPool>(1);
    sig.connect([] { throw std::runtime_error("async failure"); }, {.executor = pool});
    try {
        sig.send({});
        ADD_FAILURE() << "send() did not propagate the async receiver's exception";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "async failure");
    }
}

TEST(AsyncReceivers, SyncExceptionMeansNoAsyncReceiverRuns) {
    // Django item 27: an exception from a sync receiver propagates at once; no async receiver runs.
    Signal<void()> sig;
    auto pool = std::make_shared<ThreadPool>(1);
    std::atomic<int> async_calls{0};
    sig.connect([&async_calls] { ++async_calls; }, {.executor = pool});
    sig.connect([] { throw std::runtime_error("sync failure"); });
    EXPECT_THROW(sig.send({}), std::runtime_error);
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(async_calls.load(), 0);
}

TEST(AsyncReceivers, SenderFilterAppliesToThemToo) {
    Signal<void()> sig;
    auto pool = std::make_shared<ThreadPool>(1);
    std::atomic<int> calls{0};
    sig.connect([&calls] { ++calls; }, {.sender = Sender::of<Handler>(), .executor = pool});
    sig.send({});
    sig.send(Sender::of<Log>());
    EXPECT_EQ(calls.load(), 0);
    sig.send(Sender::of<Handler>());
    EXPECT_EQ(calls.load(), 1);
}

TEST(AsyncReceivers, TrackedAsyncReceiverWhoseObjectDiedIsNotCalled) {
    Signal<int()> sig;
    auto pool = std::make_shared<ThreadPool>(1);
    auto owner = std::make_shared<int>(0);
    std::atomic<int> calls{0};
    sig.connect(
        [&calls] {
            ++calls;
            return 1;
        },
        {.track = owner, .executor = pool});
    EXPECT_EQ(sig.send({}).size(), 1u);
    owner.reset();
    EXPECT_TRUE(sig.send({}).empty());
    EXPECT_TRUE(sig.asend({}).get().empty());
    EXPECT_EQ(calls.load(), 1);
    EXPECT_EQ(sig.receiver_count(), 0u);
}

TEST(AsyncReceivers, DjangoTestSendRobust) {
    // Django AsyncReceiversTests.test_send_robust: connect failing_async, async_handler,
    // sync_handler; results are [(sync, 1), (failing_async, that exception), (async, 1)].
    Signal<int(int)> sig;
    auto pool = std::make_shared<ThreadPool>(2);
    const auto failure = std::make_exception_ptr(std::runtime_error("failing_async"));
    const Connection failing =
        sig.connect([failure](int) -> int { std::rethrow_exception(failure); },
                    {.executor = pool, .name = "failing_async"});
    const Connection async_handler =
        sig.connect([](int param) { return param; }, {.executor = pool, .name = "async_handler"});
    const Connection sync_handler = sig.connect([](int param) { return param; }, {.name = "sync"});
    std::vector<Outcome<int>> outcomes;
    EXPECT_NO_THROW(outcomes = sig.send_robust(Sender::of<Handler>(), 1));
    ASSERT_EQ(outcomes.size(), 3u);
    EXPECT_EQ(outcomes[0].receiver, sync_handler);
    EXPECT_EQ(outcomes[0].value, 1);
    EXPECT_FALSE(outcomes[0].error);
    EXPECT_EQ(outcomes[1].receiver, failing);
    EXPECT_FALSE(outcomes[1].value.has_value());
    EXPECT_EQ(outcomes[1].error, failure) << "not the very exception the receiver threw";
    EXPECT_EQ(outcomes[2].receiver, async_handler);
    EXPECT_EQ(outcomes[2].value, 1);
    EXPECT_FALSE(outcomes[2].error);
}

TEST(AsyncReceivers, SendRobustLogsAsyncFailures) {
    ErrorRecorder recorder;
    const ProcessErrorLogger guard(recorder.logger());
    Signal<void()> sig{"async.signal"};
    auto pool = std::make_shared<ThreadPool>(2);
    sig.connect([] { throw std::runtime_error("one"); }, {.executor = pool, .name = "a1"});
    sig.connect([] {}, {.executor = pool, .name = "a2"});
    sig.send_robust({});
    const auto errors = recorder.errors();
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].signal, "async.signal");
    EXPECT_EQ(errors[0].receiver, "a1");
    EXPECT_EQ(errors[0].message, "Error calling a1 in Signal.send_robust() (one)");
}

// ------------------------------------------------------------------ asend / asend_robust

TEST(Asend, ReturnsFutures) {
    using VoidAsend = decltype(std::declval<const Signal<void(int)>&>().asend(Sender{}, 1));
    using IntAsend = decltype(std::declval<const Signal<int(int)>&>().asend(Sender{}, 1));
    using IntAsendRobust =
        decltype(std::declval<const Signal<int(int)>&>().asend_robust(Sender{}, 1));
    static_assert(std::is_same_v<VoidAsend, std::future<void>>);
    static_assert(std::is_same_v<IntAsend, std::future<std::vector<Response<int>>>>);
    static_assert(std::is_same_v<IntAsendRobust, std::future<std::vector<Outcome<int>>>>);
    SUCCEED();
}

TEST(Asend, DjangoTestAsend) {
    // Django AsyncReceiversTests.test_asend: sync then async connected; [(sync,1), (async,1)].
    Signal<int(int)> sig;
    auto pool = std::make_shared<ThreadPool>(2);
    const Connection sync_handler = sig.connect([](int param) { return param; });
    const Connection async_handler =
        sig.connect([](int param) { return param; }, {.executor = pool});
    auto future = sig.asend(Sender::of<Handler>(), 1);
    ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
    const auto responses = future.get();
    ASSERT_EQ(responses.size(), 2u);
    EXPECT_EQ(responses[0].receiver, sync_handler);
    EXPECT_EQ(responses[0].value, 1);
    EXPECT_EQ(responses[1].receiver, async_handler);
    EXPECT_EQ(responses[1].value, 1);
}

TEST(Asend, SyncFirstThenAsyncInTheResults) {
    Signal<std::string()> sig;
    auto pool = std::make_shared<ThreadPool>(2);
    sig.connect([] { return std::string("async1"); }, {.executor = pool});
    sig.connect([] { return std::string("sync1"); });
    sig.connect([] { return std::string("async2"); }, {.executor = pool});
    sig.connect([] { return std::string("sync2"); });
    Strings values;
    for (const auto& r : sig.asend({}).get()) {
        values.push_back(r.value);
    }
    EXPECT_EQ(values, (Strings{"sync1", "sync2", "async1", "async2"}));
}

TEST(Asend, SyncReceiversRunInOrderAsOneTaskOffTheCallingThread) {
    Signal<void()> sig;
    Threads threads;
    for (const char* name : {"s1", "s2", "s3"}) {
        sig.connect([&threads, name] { threads.add(name); });
    }
    sig.asend({}).get();
    EXPECT_EQ(threads.who(), (Strings{"s1", "s2", "s3"}));
    const auto ids = threads.ids();
    ASSERT_EQ(ids.size(), 3u);
    EXPECT_NE(ids[0], std::this_thread::get_id());
    EXPECT_EQ(ids[1], ids[0]);
    EXPECT_EQ(ids[2], ids[0]);
}

TEST(Asend, DoesNotWaitForItsReceivers) {
    Signal<void()> sig;
    Gate go;
    std::atomic<bool> waited_for_go{false};
    sig.connect([&] { waited_for_go = go.wait(); });
    auto future = sig.asend({});
    go.open();  // if asend() had run the receiver on this thread, it would have timed out
    ASSERT_EQ(future.wait_for(15s), std::future_status::ready);
    future.get();
    EXPECT_TRUE(waited_for_go.load()) << "asend() ran its receivers before returning";
}

TEST(Asend, CopiesItsArguments) {
    Signal<void(const std::string&)> sig;
    Gate go;
    std::string seen;
    sig.connect([&](const std::string& text) {
        go.wait();
        seen = text;
    });
    std::future<void> future;
    {
        std::string text = "original";
        future = sig.asend({}, text);
        text = "changed";
    }  // and destroyed
    go.open();
    future.get();
    EXPECT_EQ(seen, "original");
}

TEST(Asend, ReceiverDisconnectedBeforeItsTurnIsNotCalled) {
    Signal<std::string()> sig;
    Connection victim;
    sig.connect([&victim] {
        victim.disconnect();
        return std::string("first");
    });
    std::atomic<int> victim_calls{0};
    victim = sig.connect([&victim_calls] {
        ++victim_calls;
        return std::string("victim");
    });
    const auto responses = sig.asend({}).get();
    EXPECT_EQ(victim_calls.load(), 0);
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_EQ(responses[0].value, "first");
}

TEST(Asend, GetRethrowsTheFirstError) {
    Signal<int()> sig;
    sig.connect([] { return 1; });
    sig.connect([]() -> int { throw std::domain_error("asend failure"); });
    auto future = sig.asend({});
    try {
        future.get();
        ADD_FAILURE() << "get() did not rethrow";
    } catch (const std::domain_error& e) {
        EXPECT_STREQ(e.what(), "asend failure");
    }
}

TEST(Asend, VoidFutureIsReadyWhenEveryReceiverRan) {
    Signal<void(int)> sig;
    auto pool = std::make_shared<ThreadPool>(2);
    std::atomic<int> sum{0};
    sig.connect([&sum](int v) { sum += v; });
    sig.connect([&sum](int v) { sum += 10 * v; }, {.executor = pool});
    sig.connect([&sum](int v) { sum += 100 * v; }, {.executor = pool});
    sig.asend({}, 2).get();
    EXPECT_EQ(sum.load(), 222);
}

TEST(Asend, NoReceivers) {
    const Signal<int()> sig;
    auto future = sig.asend({});
    ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
    EXPECT_TRUE(future.get().empty());
    EXPECT_TRUE(sig.asend_robust({}).get().empty());
}

TEST(Asend, AsyncReceiversRunConcurrently) {
    Signal<int()> sig;
    auto pool = std::make_shared<ThreadPool>(2);
    Rendezvous both(2);
    sig.connect([&both] { return both.arrive_and_wait() ? 1 : 0; }, {.executor = pool});
    sig.connect([&both] { return both.arrive_and_wait() ? 1 : 0; }, {.executor = pool});
    const auto responses = sig.asend({}).get();
    ASSERT_EQ(responses.size(), 2u);
    EXPECT_EQ(responses[0].value, 1);
    EXPECT_EQ(responses[1].value, 1);
}

TEST(Asend, DjangoTestAsendOnlyAsyncReceivers) {
    // Django test_asend_only_async_receivers (#35174: no crash when every receiver is async).
    Signal<int(int)> sig;
    auto pool = std::make_shared<ThreadPool>(1);
    const Connection async_handler =
        sig.connect([](int param) { return param; }, {.executor = pool});
    const auto responses = sig.asend(Sender::of<Handler>(), 1).get();
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_EQ(responses[0].receiver, async_handler);
    EXPECT_EQ(responses[0].value, 1);
}

TEST(AsendRobust, DjangoTestAsendRobust) {
    // Django test_asend_robust: same list as test_send_robust.
    Signal<int(int)> sig;
    auto pool = std::make_shared<ThreadPool>(2);
    const auto failure = std::make_exception_ptr(std::runtime_error("failing_async"));
    const Connection failing =
        sig.connect([failure](int) -> int { std::rethrow_exception(failure); }, {.executor = pool});
    const Connection async_handler =
        sig.connect([](int param) { return param; }, {.executor = pool});
    const Connection sync_handler = sig.connect([](int param) { return param; });
    auto future = sig.asend_robust(Sender::of<Handler>(), 1);
    ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
    std::vector<Outcome<int>> outcomes;
    EXPECT_NO_THROW(outcomes = future.get());
    ASSERT_EQ(outcomes.size(), 3u);
    EXPECT_EQ(outcomes[0].receiver, sync_handler);
    EXPECT_EQ(outcomes[0].value, 1);
    EXPECT_EQ(outcomes[1].receiver, failing);
    EXPECT_EQ(outcomes[1].error, failure);
    EXPECT_FALSE(outcomes[1].value.has_value());
    EXPECT_EQ(outcomes[2].receiver, async_handler);
    EXPECT_EQ(outcomes[2].value, 1);
}

TEST(AsendRobust, DjangoTestAsendRobustOnlyAsyncReceivers) {
    Signal<int(int)> sig;
    auto pool = std::make_shared<ThreadPool>(1);
    const Connection async_handler =
        sig.connect([](int param) { return param; }, {.executor = pool});
    const auto outcomes = sig.asend_robust(Sender::of<Handler>(), 1).get();
    ASSERT_EQ(outcomes.size(), 1u);
    EXPECT_EQ(outcomes[0].receiver, async_handler);
    EXPECT_EQ(outcomes[0].value, 1);
    EXPECT_FALSE(outcomes[0].error);
}

TEST(AsendRobust, RunsEveryoneAndLogsEachFailure) {
    ErrorRecorder recorder;
    const ProcessErrorLogger guard(recorder.logger());
    Signal<void()> sig{"asend.robust"};
    auto pool = std::make_shared<ThreadPool>(2);
    std::atomic<int> ran{0};
    sig.connect(
        [&ran] {
            ++ran;
            throw std::runtime_error("sync broke");
        },
        {.name = "sync_fails"});
    sig.connect([&ran] { ++ran; }, {.name = "sync_ok"});
    sig.connect(
        [&ran] {
            ++ran;
            throw std::runtime_error("async broke");
        },
        {.executor = pool, .name = "async_fails"});
    const auto outcomes = sig.asend_robust({}).get();
    EXPECT_EQ(ran.load(), 3);
    ASSERT_EQ(outcomes.size(), 3u);
    EXPECT_EQ(what_of(outcomes[0].error), "sync broke");
    EXPECT_FALSE(outcomes[1].error);
    EXPECT_EQ(what_of(outcomes[2].error), "async broke");
    auto messages = recorder.messages();
    std::sort(messages.begin(), messages.end());  // the two failures may be logged in any order
    EXPECT_EQ(messages, (Strings{"Error calling async_fails in Signal.send_robust() (async broke)",
                                 "Error calling sync_fails in Signal.send_robust() (sync broke)"}));
}

}  // namespace async_test
}  // namespace
