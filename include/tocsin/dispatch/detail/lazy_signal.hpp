// tocsin::detail::LazySignal — the constant-initialised base of the models layer's global
// signals (ModelSignal, BulkSignal, MigrateSignal): a name and a Signal created on first use.
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tocsin/dispatch/receiver_info.hpp"
#include "tocsin/dispatch/sender.hpp"
#include "tocsin/dispatch/signal.hpp"

namespace tocsin::detail {

/// A named `Signal<Signature>` created on first use and never destroyed (so it outlives every
/// static object that may still use it). The constructor is constexpr: a global of a class
/// deriving from it can be `constinit`, and receivers may connect from static initialisers in
/// any order. The derived class adds its own connect and send.
template <class Signature>
class LazySignal {
  public:
    /// The underlying signal.
    using signal_type = Signal<Signature>;

    constexpr explicit LazySignal(std::string_view name) noexcept : name_(name) {}
    LazySignal(const LazySignal&) = delete;
    LazySignal& operator=(const LazySignal&) = delete;

    /// The signal's name ("post_save", "post_update", "pre_migrate").
    [[nodiscard]] std::string_view name() const noexcept { return name_; }

    /// Disconnects like Signal::disconnect.
    template <class... A>
    requires requires(signal_type& s, A&&... a) { s.disconnect(std::forward<A>(a)...); }
    bool disconnect(A&&... args) const { return signal().disconnect(std::forward<A>(args)...); }

    /// True when a send for `sender` would call a receiver.
    [[nodiscard]] bool has_listeners(const Sender& sender = {}) const {
        return signal().has_listeners(sender);
    }
    /// The live receivers.
    [[nodiscard]] std::size_t receiver_count() const { return signal().receiver_count(); }
    /// Every receiver, as Signal::receivers() lists them.
    [[nodiscard]] std::vector<ReceiverInfo> receivers() const { return signal().receivers(); }

    /// The underlying signal (created on first use, never destroyed). After the first use, one
    /// load and a branch (every model-signal send goes through here).
    [[nodiscard]] signal_type& signal() const {
        if (signal_type* s = signal_.load(std::memory_order_acquire)) [[likely]] {
            return *s;
        }
        return create();
    }

  protected:
    ~LazySignal() = default;

  private:
    [[gnu::noinline]] signal_type& create() const {
        std::call_once(once_, [this] {
            signal_.store(new signal_type(std::string(name_)), std::memory_order_release);
        });
        return *signal_.load(std::memory_order_acquire);
    }

    std::string_view name_;
    mutable std::once_flag once_{};
    mutable std::atomic<signal_type*> signal_{nullptr};
};

}  // namespace tocsin::detail
