// tocsin::ScopedMute — silence a signal, or one sender of it, on the current thread.
#pragma once

#include "tocsin/dispatch/sender.hpp"

namespace tocsin {

namespace detail {
class Receivers;
/// True when a ScopedMute on this thread silences `receivers` for `sender`.
[[nodiscard]] bool is_muted(const Receivers* receivers, const Sender& sender) noexcept;
}  // namespace detail

template <class Signature>
class Signal;

/// While it lives, sends of the signal (or of one sender of it) on the current thread call no
/// receiver and return no results — what factory_boy's `mute_signals` does in Django tests,
/// without touching the signal's receivers. Other threads are not affected. Nests freely.
class ScopedMute {
  public:
    /// Mutes every sender of `signal`.
    template <class Sig>
    explicit ScopedMute(const Signal<Sig>& signal)
        : ScopedMute(signal.receivers_.get(), Sender{}, true) {}
    /// Mutes `sender` of `signal` only.
    template <class Sig>
    ScopedMute(const Signal<Sig>& signal, const Sender& sender)
        : ScopedMute(signal.receivers_.get(), sender, false) {}
    /// Mutes every sender of a signal that wraps a Signal (the model, bulk, migrate and
    /// m2m_changed signals: `ScopedMute mute{tocsin::post_save};`).
    template <class Wrapper>
    requires requires(const Wrapper& w) { w.signal(); }
    explicit ScopedMute(const Wrapper& wrapper) : ScopedMute(wrapper.signal()) {}
    /// Mutes `sender` of a signal that wraps a Signal (`{tocsin::post_save, Sender::of<User>()}`).
    template <class Wrapper>
    requires requires(const Wrapper& w) { w.signal(); }
    ScopedMute(const Wrapper& wrapper, const Sender& sender)
        : ScopedMute(wrapper.signal(), sender) {}
    /// Unmutes.
    ~ScopedMute();
    ScopedMute(const ScopedMute&) = delete;
    ScopedMute& operator=(const ScopedMute&) = delete;

  private:
    ScopedMute(const detail::Receivers* receivers, const Sender& sender, bool every_sender);
    const detail::Receivers* receivers_;
    Sender sender_;
    bool every_sender_;
};

}  // namespace tocsin
