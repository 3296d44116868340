// tocsin::SendObserver and tocsin::ReceiverStats — an opt-in observer of every send: which signal
// was sent by whom, each receiver it called, how long that took and what it threw; and a
// ready-made observer that keeps per-receiver statistics (`manage receivers --stats`).
//
//   auto stats = std::make_shared<tocsin::ReceiverStats>();
//   tocsin::set_send_observer(stats);   // on, for every signal of the process
//   ...                                 // sends as usual
//   tocsin::set_send_observer(nullptr); // off again: sends cost what they cost without it
//   for (const auto& r : stats->snapshot()) print(r.signal, r.receiver, r.calls, r.p99);
//
// Off (the default) it costs a send one relaxed load of a process-wide flag, read once per send
// that has receivers (docs/benchmarks.md measures it).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tocsin {

/// A send that reached receivers, told to SendObserver::on_send before its first receiver runs.
/// The views are valid during the call only.
struct SendEvent {
    std::string_view signal_name;  ///< the signal's name ("" for an unnamed signal)
    std::string sender;            ///< the sender as Sender::name() prints it ("(none)", "User")
    /// What the send is about: for the model layer's signals sent for an instance (pre_init,
    /// post_init, pre_save, post_save, pre_delete, post_delete, m2m_changed), the instance as
    /// its model's label and primary key, "auth.User #3" ("auth.User (unsaved)" before it has
    /// one); "" for other sends. Made only for observed sends.
    std::string instance;
    std::uint64_t send_id = 0;  ///< unique in the process (never 0): ties the events of a send
    std::chrono::steady_clock::time_point start;  ///< when the send reached its receivers
};

/// One receiver's call in an observed send, told to SendObserver::on_receiver after it returned
/// or threw. The views are valid during the call only.
struct ReceiverEvent {
    std::uint64_t send_id = 0;     ///< the send (SendEvent::send_id) that called it
    std::string_view signal_name;  ///< that send's signal
    /// The receiver's name as Signal::receivers() (and `manage receivers`) shows it.
    std::string receiver;
    std::chrono::nanoseconds duration{0};  ///< how long the call took (wall clock)
    bool ok = true;                        ///< false when it threw
    std::string error;                     ///< what it threw (describe()), when it threw
    /// True for a commit-time receiver (Connect::on_commit) at the send: the call only handed
    /// its work to the transaction; its own run is reported later (when the transaction
    /// commits, at once without one) as another event of the same send_id with this false.
    bool deferred_to_commit = false;
};

/// Observes sends; set one with set_send_observer. The callbacks run on the sending thread (an
/// async receiver's on its executor's thread, a commit-time receiver's where the commit runs),
/// possibly on several threads at once: an observer must be thread-safe. They must not throw
/// (they are noexcept) and should be quick: the send waits for them. A send that calls a
/// receiver may itself send (nested sends are observed as sends of their own).
class SendObserver {
  public:
    SendObserver() = default;
    SendObserver(const SendObserver&) = delete;
    SendObserver& operator=(const SendObserver&) = delete;
    virtual ~SendObserver();

    /// A send found receivers for its sender (a send that finds none is not reported).
    virtual void on_send(const SendEvent& /*event*/) noexcept {}
    /// One receiver of a send was called (or, for a commit-time one, deferred or run).
    virtual void on_receiver(const ReceiverEvent& /*event*/) noexcept {}
    /// The send `send_id` returned (normally or by a receiver's exception). Commit-time
    /// receivers it deferred report their runs after this.
    virtual void on_send_done(std::uint64_t /*send_id*/) noexcept {}
};

/// Sets the process-wide send observer (nullptr: none, the default) and returns the previous
/// one. Thread-safe, also while other threads send: sends that began before the change may
/// still report to the previous observer, which they keep alive until they are done; each send
/// reports all its events (on_send, on_receiver, on_send_done) to one observer. Every signal is
/// observed, including sends through asend and the model signals.
std::shared_ptr<SendObserver> set_send_observer(std::shared_ptr<SendObserver> observer);

/// The observer set by set_send_observer, or null.
[[nodiscard]] std::shared_ptr<SendObserver> send_observer();

/// Statistics of one receiver of one signal, as ReceiverStats collects them.
struct ReceiverStat {
    std::string signal;                 ///< the signal's name
    std::string receiver;               ///< the receiver's name (as `manage receivers` shows it)
    std::uint64_t calls = 0;            ///< runs (a commit-time receiver's deferral is not a run)
    std::uint64_t errors = 0;           ///< runs that threw
    std::uint64_t deferred = 0;         ///< sends that deferred it to commit (Connect::on_commit)
    std::chrono::nanoseconds total{0};  ///< the time of every run
    std::chrono::nanoseconds p50{0};    ///< median run time of the last sample_size runs
    std::chrono::nanoseconds p99{0};    ///< 99th percentile of the same runs
    std::string last_error;             ///< what the last failing run threw ("" if none)
};

/// A SendObserver that counts, per (signal, receiver): runs, errors, deferrals to commit, total
/// time, and the median and 99th percentile of the last `sample_size` runs. Thread-safe.
class ReceiverStats : public SendObserver {
  public:
    /// Percentiles are taken over each receiver's most recent runs, this many.
    static constexpr std::size_t sample_size = 4096;

    ReceiverStats();
    ~ReceiverStats() override;

    void on_receiver(const ReceiverEvent& event) noexcept override;

    /// Every receiver seen so far, sorted by signal, then receiver.
    [[nodiscard]] std::vector<ReceiverStat> snapshot() const;
    /// Forgets everything collected.
    void reset();

  private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace tocsin
