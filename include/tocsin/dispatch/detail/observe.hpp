// tocsin::detail — the send observer's hooks on the send path (the public side is
// <tocsin/dispatch/profiler.hpp>). Kept apart, and free of <chrono>, so that every signal can use
// them without what the observer's users need.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "tocsin/dispatch/detail/rcu.hpp"

namespace tocsin {

class Sender;
class SendObserver;

namespace detail {

struct SlotBase;

/// True while a send observer is set (a bit of the RCU domain's period word, which every send
/// with receivers reads anyway).
[[nodiscard]] inline bool observing() noexcept {
    return (rcu::current_period.load(std::memory_order_relaxed) & rcu::observed_bit) != 0;
}

/// What a send is about, for the observer (SendEvent::instance): the model layer's instance. The
/// description is made only when an observed send reaches receivers.
struct SendSubject {
    const void* object = nullptr;   ///< what the send is about (a model instance)
    const void* context = nullptr;  ///< what describe needs besides it (its model)
    /// Describes `object` ("auth.User #3"); may throw (the event then has no description).
    std::string (*describe)(const void* object, const void* context) = nullptr;
};

/// Makes `subject` what the next observed send on this thread is about, until destroyed (then
/// the previous one is restored). That send's probe takes it: sends nested in its receivers are
/// not about it. Meant to be made only while observing() (it is not needed otherwise).
class SubjectScope {
  public:
    explicit SubjectScope(const SendSubject& subject) noexcept;
    ~SubjectScope();
    SubjectScope(const SubjectScope&) = delete;
    SubjectScope& operator=(const SubjectScope&) = delete;

  private:
    const SendSubject* previous_;
};

/// One observed send: reports on_send when made, each receiver's call made through call(),
/// and on_send_done when destroyed. Inactive (calls only) when the observer was unset between
/// the flag's read and its making.
class SendProbe {
  public:
    SendProbe(std::string_view signal_name, const Sender& sender);
    ~SendProbe();
    SendProbe(const SendProbe&) = delete;
    SendProbe& operator=(const SendProbe&) = delete;

    /// Calls `f()` (receiver `slot`'s call) and reports it: its time, its exception (rethrown).
    template <class F>
    decltype(auto) call(const SlotBase* slot, F&& f) const {
        if (!observer_) {
            return f();
        }
        const Call c = begin(slot);
        try {
            if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
                f();
                end(c, nullptr);
            } else {
                auto result = f();
                end(c, nullptr);
                return result;
            }
        } catch (...) {
            end(c, std::current_exception());
            throw;
        }
    }

  private:
    /// The observed call under way on this thread before this one (restored after it).
    struct Call {
        std::int64_t start_ns;
        const SendProbe* outer_probe;
        const SlotBase* outer_slot;
        const SlotBase* slot;
    };
    Call begin(const SlotBase* slot) const noexcept;
    void end(const Call& call, const std::exception_ptr& error) const noexcept;

    friend class DeferredRun;
    std::shared_ptr<SendObserver> observer_;
    std::string_view signal_;
    std::uint64_t id_ = 0;
};

/// What a commit-time receiver keeps of the observed send that deferred it, to report its own
/// run later (as a ReceiverEvent of that send, deferred_to_commit false). Empty when the send
/// was not observed: run() then only calls.
class DeferredRun {
  public:
    /// The observed receiver call under way on this thread, if any.
    [[nodiscard]] static DeferredRun capture() {
        if (!observing()) [[likely]] {
            return {};
        }
        return capture_observed();
    }

    /// Calls `f()`, reporting its time and exception (rethrown) to the observer set now.
    template <class F>
    void run(F&& f) const {
        if (send_id_ == 0) {
            f();
            return;
        }
        const std::int64_t start = now_ns();
        try {
            f();
        } catch (...) {
            finish(start, std::current_exception());
            throw;
        }
        finish(start, nullptr);
    }

  private:
    static DeferredRun capture_observed();
    static std::int64_t now_ns() noexcept;
    void finish(std::int64_t start_ns, const std::exception_ptr& error) const noexcept;

    std::uint64_t send_id_ = 0;
    std::string signal_;
    std::string receiver_;
};

}  // namespace detail
}  // namespace tocsin
