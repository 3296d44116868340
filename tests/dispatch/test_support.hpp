// Helpers shared by the dispatch tests: call logs, gates with time limits, "clean signal" checks.
#pragma once

#include <tocsin/dispatch.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

// Sender types of several test files, at global scope (a sender prints as "Order"): defined
// here once, as the files are compiled together in unity batches (TOCSIN_UNITY_TESTS).
struct Order {};
struct Invoice {};

namespace tocsin {
// Readable gtest output for the library's value types (found by ADL).
inline void PrintTo(const Sender& sender, std::ostream* os) {
    *os << "Sender(" << sender.name() << ")";
}
inline void PrintTo(const Connection& connection, std::ostream* os) {
    *os << "Connection(\"" << connection.name() << "\", "
        << (connection.connected() ? "connected" : "not connected") << ")";
}
}  // namespace tocsin

namespace tocsin_test {

using Strings = std::vector<std::string>;

// A thread-safe record of calls, compared with EXPECT_EQ against the expected sequence.
class Log {
  public:
    void add(std::string entry) {
        std::lock_guard lock(mutex_);
        entries_.push_back(std::move(entry));
    }
    Strings entries() const {
        std::lock_guard lock(mutex_);
        return entries_;
    }
    std::size_t size() const {
        std::lock_guard lock(mutex_);
        return entries_.size();
    }
    void clear() {
        std::lock_guard lock(mutex_);
        entries_.clear();
    }

  private:
    mutable std::mutex mutex_;
    Strings entries_;
};

// A one-shot gate. wait() gives up after a time limit, so a broken implementation makes a test
// fail instead of hanging it.
class Gate {
  public:
    void open() {
        {
            std::lock_guard lock(mutex_);
            open_ = true;
        }
        cv_.notify_all();
    }
    bool wait(std::chrono::milliseconds limit = std::chrono::seconds(10)) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, limit, [this] { return open_; });
    }
    bool is_open() const {
        std::lock_guard lock(mutex_);
        return open_;
    }

  private:
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    bool open_ = false;
};

// The text of an exception held in an exception_ptr.
inline std::string what_of(const std::exception_ptr& error) {
    if (!error) {
        return "<no error>";
    }
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "<not a std::exception>";
    }
}

// Django's assertTestIsClean(): nobody listens, nothing is connected, nothing is listed.
template <class Sig>
::testing::AssertionResult is_clean(const tocsin::Signal<Sig>& signal) {
    if (signal.has_listeners()) {
        return ::testing::AssertionFailure() << "has_listeners() is true";
    }
    if (auto n = signal.receiver_count(); n != 0) {
        return ::testing::AssertionFailure() << "receiver_count() is " << n;
    }
    if (auto listed = signal.receivers(); !listed.empty()) {
        return ::testing::AssertionFailure() << "receivers() lists " << listed.size()
                                             << ", first \"" << listed.front().name << "\"";
    }
    return ::testing::AssertionSuccess();
}

// Whether connect() accepts this receiver (a constrained template rejects bad receivers).
template <class Sig, class F>
concept Connectable = requires(Sig& signal, F&& receiver) {
    signal.connect(std::forward<F>(receiver));
};

// One error reported to an ErrorLogger, copied out of the ReceiverError.
struct LoggedError {
    std::string signal;
    std::string receiver;
    std::string message;
    std::string what;
};

// A thread-safe ErrorLogger that records what it is told.
class ErrorRecorder {
  public:
    tocsin::ErrorLogger logger() {
        return [this](const tocsin::ReceiverError& e) {
            std::lock_guard lock(mutex_);
            errors_.push_back(
                {std::string(e.signal), std::string(e.receiver), e.message(), what_of(e.error)});
        };
    }
    std::vector<LoggedError> errors() const {
        std::lock_guard lock(mutex_);
        return errors_;
    }
    Strings messages() const {
        std::lock_guard lock(mutex_);
        Strings out;
        for (const auto& e : errors_) {
            out.push_back(e.message);
        }
        return out;
    }

  private:
    mutable std::mutex mutex_;
    std::vector<LoggedError> errors_;
};

// Sets the process-wide error logger for one test and removes it afterwards.
class ProcessErrorLogger {
  public:
    explicit ProcessErrorLogger(tocsin::ErrorLogger logger) {
        tocsin::set_error_logger(std::move(logger));
    }
    ~ProcessErrorLogger() { tocsin::set_error_logger(nullptr); }
    ProcessErrorLogger(const ProcessErrorLogger&) = delete;
    ProcessErrorLogger& operator=(const ProcessErrorLogger&) = delete;
};

// How long the concurrency tests run: TOCSIN_STRESS_SECONDS if set, else the default.
inline std::chrono::milliseconds stress_duration(double default_seconds = 3.0) {
    double seconds = default_seconds;
    if (const char* env = std::getenv("TOCSIN_STRESS_SECONDS")) {
        char* end = nullptr;
        const double parsed = std::strtod(env, &end);
        if (end != env && parsed > 0) {
            seconds = parsed;
        }
    }
    return std::chrono::milliseconds(static_cast<long long>(seconds * 1000.0));
}

}  // namespace tocsin_test
