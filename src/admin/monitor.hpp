// The admin's view of the sends (the signals panel): a SendObserver of the dispatch core that
// keeps the last sends, each with its receivers' durations, outcomes and errors, for the live log
// (server-sent events), and per-receiver statistics (ReceiverStats). Internal to src/admin.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tocsin/dispatch/profiler.hpp"

namespace tocsin::admin::detail {

/// Observes every send of the process while the admin serves, and forwards to the observer that
/// was set before (so a program's own observer keeps working).
class SignalMonitor : public SendObserver {
  public:
    /// One finished send as the live log shows it: a JSON object, and its number in the log.
    struct Entry {
        std::uint64_t sequence = 0;
        std::string json;
    };

    explicit SignalMonitor(std::shared_ptr<SendObserver> next);
    ~SignalMonitor() override;

    void on_send(const SendEvent& event) noexcept override;
    void on_receiver(const ReceiverEvent& event) noexcept override;
    void on_send_done(std::uint64_t send_id) noexcept override;

    /// The entries after `sequence`, waiting up to `timeout` for one; empty on time-out or once
    /// stop() was called.
    [[nodiscard]] std::vector<Entry> wait_after(std::uint64_t sequence,
                                                std::chrono::milliseconds timeout);
    /// The sequence number of the last entry (0: none yet).
    [[nodiscard]] std::uint64_t last_sequence() const;
    /// Wakes every waiter and makes wait_after return at once from now on.
    void stop();
    /// Whether stop() was called.
    [[nodiscard]] bool stopped() const;
    /// The per-receiver statistics.
    [[nodiscard]] const ReceiverStats& stats() const noexcept { return *stats_; }
    /// The observer that was set before this one (restored when the admin stops).
    [[nodiscard]] const std::shared_ptr<SendObserver>& next() const noexcept { return next_; }

    /// How many finished sends the log keeps.
    static constexpr std::size_t capacity = 500;

  private:
    struct Receiver {
        std::string name;
        std::chrono::nanoseconds duration{0};
        bool ok = true;
        bool deferred = false;
        std::string error;
    };
    struct Open {
        std::string signal;
        std::string sender;
        std::string instance;
        std::chrono::steady_clock::time_point start;
        std::vector<Receiver> receivers;
    };
    /// The sender and instance of a send that deferred a receiver to commit, kept for the
    /// entry of its run (the send's own entry is gone by then).
    struct Subject {
        std::string sender;
        std::string instance;
    };
    void publish(std::string json);

    std::shared_ptr<SendObserver> next_;
    std::shared_ptr<ReceiverStats> stats_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::map<std::uint64_t, Open> open_;
    std::map<std::uint64_t, Subject> deferred_;  ///< the last `capacity` sends that deferred
    std::deque<Entry> log_;
    std::uint64_t sequence_ = 0;
    bool stopped_ = false;
};

/// `text` as a JSON string literal (quotes included; control characters and non-ASCII escaped
/// as \uXXXX where needed, invalid UTF-8 as U+FFFD).
[[nodiscard]] std::string json_string(std::string_view text);

}  // namespace tocsin::admin::detail
