// tocsin::set_send_observer, the send path's probes, and ReceiverStats.
#include "tocsin/dispatch/profiler.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <utility>

#include "tocsin/dispatch/detail/observe.hpp"
#include "tocsin/dispatch/detail/receivers.hpp"
#include "tocsin/dispatch/outcome.hpp"
#include "tocsin/dispatch/sender.hpp"

namespace tocsin {

SendObserver::~SendObserver() = default;

namespace detail {

namespace {

/// The observer; sends copy it under the lock (only while one is set).
struct Installed {
    std::mutex lock;
    std::shared_ptr<SendObserver> observer;
};

Installed& installed() {
    static Installed* const it = new Installed;  // never destroyed: sends may outlive statics
    return *it;
}

std::atomic<std::uint64_t> next_send_id{1};

/// The observed receiver call under way on this thread (innermost).
struct Current {
    const SendProbe* probe = nullptr;
    const SlotBase* slot = nullptr;
};
constinit thread_local Current current{};

/// What the next observed send on this thread is about (SubjectScope), or null.
constinit thread_local const SendSubject* pending_subject = nullptr;

std::int64_t clock_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

std::string error_text(const std::exception_ptr& error) {
    return error ? describe_exception(error) : std::string();
}

}  // namespace

SubjectScope::SubjectScope(const SendSubject& subject) noexcept : previous_(pending_subject) {
    pending_subject = &subject;
}

SubjectScope::~SubjectScope() {
    pending_subject = previous_;
}

SendProbe::SendProbe(std::string_view signal_name, const Sender& sender)
    : observer_(send_observer()), signal_(signal_name) {
    // This send takes the subject: the sends its receivers make are not about it.
    const SendSubject* const subject = std::exchange(pending_subject, nullptr);
    if (!observer_) {
        return;
    }
    id_ = next_send_id.fetch_add(1, std::memory_order_relaxed);
    try {
        SendEvent event;
        event.signal_name = signal_;
        event.sender = sender.name();
        if (subject != nullptr && subject->describe != nullptr) {
            try {
                event.instance = subject->describe(subject->object, subject->context);
            } catch (...) {  // NOLINT(bugprone-empty-catch): the event goes without it
            }
        }
        event.send_id = id_;
        event.start = std::chrono::steady_clock::now();
        observer_->on_send(event);
    } catch (...) {  // NOLINT(bugprone-empty-catch): out of memory naming the sender
    }
}

SendProbe::~SendProbe() {
    if (observer_) {
        observer_->on_send_done(id_);
    }
}

SendProbe::Call SendProbe::begin(const SlotBase* slot) const noexcept {
    Call c{0, current.probe, current.slot, slot};
    current = Current{this, slot};
    c.start_ns = clock_ns();
    return c;
}

void SendProbe::end(const Call& call, const std::exception_ptr& error) const noexcept {
    const std::int64_t stop = clock_ns();
    current = Current{call.outer_probe, call.outer_slot};
    try {
        ReceiverEvent event;
        event.send_id = id_;
        event.signal_name = signal_;
        event.receiver = call.slot->listed_name();
        event.duration = std::chrono::nanoseconds(stop - call.start_ns);
        event.ok = !error;
        event.error = error_text(error);
        event.deferred_to_commit = call.slot->on_commit;
        observer_->on_receiver(event);
    } catch (...) {  // NOLINT(bugprone-empty-catch): out of memory naming the receiver
    }
}

DeferredRun DeferredRun::capture_observed() {
    DeferredRun run;
    if (current.probe != nullptr && current.slot != nullptr) {
        run.send_id_ = current.probe->id_;
        run.signal_ = std::string(current.probe->signal_);
        run.receiver_ = current.slot->listed_name();
    }
    return run;
}

std::int64_t DeferredRun::now_ns() noexcept {
    return clock_ns();
}

void DeferredRun::finish(std::int64_t start_ns, const std::exception_ptr& error) const noexcept {
    const std::int64_t stop = clock_ns();
    const std::shared_ptr<SendObserver> observer = send_observer();
    if (!observer) {
        return;  // unset since the send
    }
    try {
        ReceiverEvent event;
        event.send_id = send_id_;
        event.signal_name = signal_;
        event.receiver = receiver_;
        event.duration = std::chrono::nanoseconds(stop - start_ns);
        event.ok = !error;
        event.error = error_text(error);
        event.deferred_to_commit = false;
        observer->on_receiver(event);
    } catch (...) {  // NOLINT(bugprone-empty-catch): out of memory
    }
}

}  // namespace detail

std::shared_ptr<SendObserver> set_send_observer(std::shared_ptr<SendObserver> observer) {
    auto& it = detail::installed();
    const std::lock_guard lock(it.lock);
    if (observer != nullptr) {
        detail::rcu::current_period.fetch_or(detail::rcu::observed_bit, std::memory_order_relaxed);
    } else {
        detail::rcu::current_period.fetch_and(~detail::rcu::observed_bit,
                                              std::memory_order_relaxed);
    }
    std::swap(it.observer, observer);
    return observer;
}

std::shared_ptr<SendObserver> send_observer() {
    auto& it = detail::installed();
    const std::lock_guard lock(it.lock);
    return it.observer;
}

// ---------------------------------------------------------------------------- ReceiverStats

struct ReceiverStats::State {
    struct Entry {
        ReceiverStat stat;
        std::vector<std::int64_t> samples;  ///< a ring of the last sample_size run times
        std::size_t next = 0;
    };
    mutable std::mutex lock;
    std::map<std::pair<std::string, std::string>, Entry, std::less<>> entries;
};

ReceiverStats::ReceiverStats() : state_(std::make_unique<State>()) {}
ReceiverStats::~ReceiverStats() = default;

void ReceiverStats::on_receiver(const ReceiverEvent& event) noexcept {
    try {
        const std::lock_guard lock(state_->lock);
        auto key = std::make_pair(std::string(event.signal_name), event.receiver);
        auto [it, added] = state_->entries.try_emplace(std::move(key));
        State::Entry& e = it->second;
        if (added) {
            e.stat.signal = it->first.first;
            e.stat.receiver = it->first.second;
        }
        if (event.deferred_to_commit) {
            ++e.stat.deferred;
            return;
        }
        ++e.stat.calls;
        e.stat.total += event.duration;
        if (!event.ok) {
            ++e.stat.errors;
            e.stat.last_error = event.error;
        }
        if (e.samples.size() < sample_size) {
            e.samples.push_back(event.duration.count());
        } else {
            e.samples[e.next] = event.duration.count();
            e.next = (e.next + 1) % sample_size;
        }
    } catch (...) {  // NOLINT(bugprone-empty-catch): out of memory: this event is not counted
    }
}

namespace {
/// The `q`-quantile (0..1) of `v` (nearest rank); 0 for none.
std::chrono::nanoseconds quantile(std::vector<std::int64_t> v, double q) {
    if (v.empty()) {
        return std::chrono::nanoseconds(0);
    }
    const auto nearest = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
    const std::size_t rank = std::min(std::max<std::size_t>(nearest, 1), v.size()) - 1;
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(rank), v.end());
    return std::chrono::nanoseconds(v[rank]);
}
}  // namespace

std::vector<ReceiverStat> ReceiverStats::snapshot() const {
    std::vector<ReceiverStat> out;
    const std::lock_guard lock(state_->lock);
    out.reserve(state_->entries.size());
    for (const auto& [key, e] : state_->entries) {
        ReceiverStat s = e.stat;
        s.p50 = quantile(e.samples, 0.50);
        s.p99 = quantile(e.samples, 0.99);
        out.push_back(std::move(s));
    }
    return out;
}

void ReceiverStats::reset() {
    const std::lock_guard lock(state_->lock);
    state_->entries.clear();
}

}  // namespace tocsin
