// tocsin::Signal — Django's Signal: receivers connected by sender, sent to in order. What a
// receiver is made of lives in receiver.hpp, async sends in async.hpp, the receiver lists in
// detail/receivers.hpp; this header includes what user code needs to connect and send.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tocsin/source_location.hpp>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "tocsin/dispatch/commit_time.hpp"
#include "tocsin/dispatch/connect.hpp"
#include "tocsin/dispatch/connection.hpp"
#include "tocsin/dispatch/detail/observe.hpp"
#include "tocsin/dispatch/detail/rcu.hpp"
#include "tocsin/dispatch/detail/receivers.hpp"
#include "tocsin/dispatch/detail/type_name.hpp"
#include "tocsin/dispatch/executor.hpp"
#include "tocsin/dispatch/mute.hpp"
#include "tocsin/dispatch/outcome.hpp"
#include "tocsin/dispatch/receiver.hpp"
#include "tocsin/dispatch/receiver_info.hpp"
#include "tocsin/dispatch/sender.hpp"
#include "tocsin/dispatch/signal_registry.hpp"

namespace tocsin {

template <class Signature>
class Signal;

namespace detail {
/// asend and asend_robust, defined by <tocsin/dispatch/async.hpp>.
template <class Signature>
struct AsyncSends;

/// Fills `slot` from `options` (moved from) and `where`, and connects it to `receivers`: what
/// every Signal::connect ends with. Returns the connected slot (the first one connected when
/// one with the same key already was). Throws std::invalid_argument for a receiver both
/// on_commit and async.
std::shared_ptr<SlotBase> connect_slot(Receivers& receivers, std::shared_ptr<SlotBase> slot,
                                       Connect& options, tocsin::source_location where);

/// Runs `call(ctx, slot, index)` for each of `targets` (async receivers of the signal of
/// `receivers`) on its executor, concurrently, each while its receiver is pinned, and waits for
/// all. Returns each target's exception (null when it succeeded or was no longer connected).
std::vector<std::exception_ptr> run_async(Receivers& receivers,
                                          const std::vector<SlotBase*>& targets,
                                          void (*call)(void* ctx, SlotBase* slot, std::size_t i),
                                          void* ctx);

/// Throws std::invalid_argument("Signal '<signal>': <what>") (out of line).
[[noreturn]] void throw_invalid_connect(std::string_view signal, std::string_view what);

/// The target of a commit-time receiver connected to the signal of `receivers` with `options`:
/// `fn` the receiver, `code` and `type` those of the callable given to connect.
std::shared_ptr<const CommitTimeTarget> make_commit_target(
    const std::shared_ptr<Receivers>& receivers, std::shared_ptr<void> fn, const void* code,
    std::string_view type, const Connect& options);
/// make_commit_target() of the receiver at `fn`, destroyed by `destroy` (also when this throws).
std::shared_ptr<const CommitTimeTarget> make_commit_target(
    const std::shared_ptr<Receivers>& receivers, void* fn, void (*destroy)(void*), const void* code,
    std::string_view type, const Connect& options);
/// Destroys the receiver of type `Fn` at `fn`.
template <class Fn>
void destroy_receiver(void* fn) noexcept {
    delete static_cast<Fn*>(fn);
}
}  // namespace detail

/// A signal whose receivers return `R` and get `Args` after the sender (Django's `Signal`).
///
/// Receivers are any callables taking `(const Sender&, Args...)` or just `(Args...)`. Sends are
/// lock-free and may run on many threads at once; connect and disconnect may run at any time,
/// from any thread, including from a receiver during a send. A receiver disconnected before its
/// turn is not called; one connected during a send is heard from the next send.
template <class R, class... Args>
class Signal<R(Args...)> {
  public:
    /// What `send` returns: nothing for a void signal, else each receiver's response in order.
    using send_result = std::conditional_t<std::is_void_v<R>, void, std::vector<Response<R>>>;
    /// What the future of `asend` holds.
    using asend_result = send_result;

    /// An unnamed signal.
    Signal() : Signal(std::string{}) {}
    /// A signal named for introspection and error reports, e.g. "store.customer_order_created".
    /// Every signal is listed by all_signals() while it lives.
    explicit Signal(std::string name)
        : receivers_(detail::Receivers::make(head_, std::move(name))) {
        detail::enlist_signal(receivers_, detail::type_name<R(Args...)>());
    }
    /// Disconnects every receiver. Sends on other threads must have finished.
    ~Signal() {
        detail::delist_signal(receivers_.get());
        receivers_->detach();
    }
    Signal(const Signal&) = delete;
    Signal& operator=(const Signal&) = delete;

    /// The name given at construction ("" if none).
    [[nodiscard]] std::string_view name() const noexcept { return receivers_->name(); }

    /// Connects `receiver`. Connecting again what has the same key — the same `dispatch_uid`, or
    /// the same function pointer, for the same sender — keeps the first receiver and returns a
    /// connection to it. Lambdas and function objects without a uid are always new receivers.
    template <class F>
    requires ReceiverFor<F, Args...> Connection
    connect(F&& receiver, Connect options = {},
            tocsin::source_location where = tocsin::source_location::current()) {
        using Fn = std::decay_t<F>;
        if (options.on_commit) {
            if constexpr (std::is_void_v<R> &&
                          (commit_copyable<std::remove_cvref_t<Args>> && ...)) {
                using Adapter = detail::CommitTimeReceiver<Args...>;
                Adapter adapter{nullptr, &Adapter::template call<Fn>,
                                detail::identity_of(receiver)};
                const void* code = detail::code_of(receiver);
                const std::string_view type = detail::type_label_of<Fn>(receiver);
                return connect_at_commit(std::move(adapter), new Fn(std::forward<F>(receiver)),
                                         &detail::destroy_receiver<Fn>, code, type, options, where);
            } else {
                detail::throw_invalid_connect(
                    name(),
                    "an on_commit receiver needs a void signal whose arguments can be copied "
                    "(they are kept until the commit: tocsin::commit_copy)");
            }
        }
        using SlotT = detail::Slot<R, Fn, Args...>;
        SlotT* s = nullptr;
        auto slot = detail::make_slot(s, std::forward<F>(receiver));
        s->identity = detail::identity_of(s->storage.fn);
        s->call = reinterpret_cast<detail::ErasedCall>(&SlotT::thunk);
        s->type_label = detail::type_label_of(s->storage.fn);
        s->code = detail::code_of(s->storage.fn);
        return add(std::move(slot), options, where);
    }

    /// Connects `object->*method`, tracking the object: once it dies the receiver is gone, and
    /// while a send calls it the object is kept alive.
    template <class C, class M>
    requires std::is_function_v<M> Connection
    connect(M C::*method, std::shared_ptr<C> object, Connect options = {},
            tocsin::source_location where = tocsin::source_location::current()) {
        if (!detail::was_given(options.track)) {
            options.track = std::weak_ptr<const void>(object);
        }
        return connect_method(method, object.get(), options, where);
    }

    /// Connects `object->*method` on a raw pointer: not tracked, the caller keeps `object` alive
    /// while it is connected.
    template <class C, class M>
    requires std::is_function_v<M> Connection
    connect(M C::*method, C* object, Connect options = {},
            tocsin::source_location where = tocsin::source_location::current()) {
        return connect_method(method, object, options, where);
    }

    /// Makes the receiver of `connection` hear `sender` too. It stays one receiver, keyed by the
    /// sender it was connected with: disconnecting it (its Connection, or its function, member
    /// function or uid with that sender) removes it from every sender it hears. A send from
    /// `sender` calls it once, and not at all when the same receiver (same function or uid) is
    /// connected for `sender` itself. False when it is not connected to this signal, hears every
    /// sender already (connected without sender), or hears `sender` already.
    bool add_sender(const Connection& connection, const Sender& sender) {
        return connection.slot_ && receivers_->add_sender(connection.slot_.get(), sender);
    }

    /// Disconnects the receiver of `connection`; true if it was connected to this signal.
    bool disconnect(const Connection& connection) {
        return connection.slot_ && receivers_->disconnect(connection.slot_.get());
    }
    /// Disconnects the receiver connected with `dispatch_uid` for `sender`; true if there was one.
    bool disconnect(std::string_view dispatch_uid, const Sender& sender = {}) {
        return receivers_->disconnect_uid(dispatch_uid, sender);
    }
    /// Disconnects `function` connected (without uid) for `sender`; true if it was connected.
    template <class Fn>
    requires std::is_function_v<Fn>
    bool disconnect(Fn* function, const Sender& sender = {}) {
        return receivers_->disconnect_identity(detail::identity_of(function), sender);
    }
    /// Disconnects `object->*method` connected (without uid) for `sender`; true if it was.
    template <class C, class M>
    requires std::is_function_v<M>
    bool disconnect(M C::*method, const C* object, const Sender& sender = {}) {
        return receivers_->disconnect_identity(detail::identity_of(method, object), sender);
    }
    /// Disconnects `object->*method` connected (without uid) for `sender`; true if it was.
    template <class C, class M>
    requires std::is_function_v<M>
    bool disconnect(M C::*method, const std::shared_ptr<C>& object, const Sender& sender = {}) {
        return disconnect(method, static_cast<const C*>(object.get()), sender);
    }
    /// Disconnects every receiver; returns how many were live.
    std::size_t disconnect_all() { return receivers_->disconnect_all(); }

    /// Calls the receivers for `sender` in order (priority, then connection order). The first
    /// exception stops the send and propagates. Async receivers run after the others, on their
    /// executors, and the send waits for them. A void send allocates nothing.
    [[gnu::always_inline]] send_result send(const Sender& sender,
                                            detail::param_t<Args>... args) const {
        if constexpr (std::is_void_v<R>) {
            if (head_.load(std::memory_order_relaxed) != nullptr) {  // else no receivers
                send_void(sender, args...);
            }
        } else {
            return send_values(sender, args...);
        }
    }

    /// Calls every receiver for `sender`, whatever they throw; never throws a receiver's
    /// exception. Each failure is also told to the error logger. Results are in call order.
    std::vector<Outcome<R>> send_robust(const Sender& sender, detail::param_t<Args>... args) const {
        std::vector<Outcome<R>> out;
        dispatch_collect(
            sender, out,
            [&](detail::SlotBase* s, const detail::SendProbe* probe) {
                Outcome<R>& o = out.emplace_back();
                o.receiver = connection_of(s);
                try {
                    if constexpr (std::is_void_v<R>) {
                        observed_invoke(probe, s, sender, args...);
                    } else {
                        o.value.emplace(observed_invoke(probe, s, sender, args...));
                    }
                } catch (...) {
                    o.error = std::current_exception();
                    receivers_->report(*s, o.error);
                }
            },
            [&](const detail::View& all, const detail::SendProbe* probe) {
                const auto targets = async_targets(all);
                std::vector<Outcome<R>> results(targets.size());
                const auto errors = run_async(targets, [&](detail::SlotBase* s, std::size_t i) {
                    if constexpr (std::is_void_v<R>) {
                        observed_invoke(probe, s, sender, args...);
                    } else {
                        results[i].value.emplace(observed_invoke(probe, s, sender, args...));
                    }
                });
                for (std::size_t i = 0; i < targets.size(); ++i) {
                    results[i].receiver = connection_of(targets[i]);
                    if (errors[i]) {
                        results[i].error = errors[i];
                        receivers_->report(*targets[i], errors[i]);
                    }
                    out.push_back(std::move(results[i]));
                }
            });
        return out;
    }

    /// Django's `asend`: copies the arguments and returns a `std::future` at once. The
    /// synchronous receivers run in order as one task on the default executor, each async
    /// receiver on its own executor, all concurrently. The future holds the responses
    /// (synchronous ones first, as Django orders them); `get()` rethrows the first receiver
    /// exception instead. Defined by `<tocsin/dispatch/async.hpp>`: include it to call asend.
    auto asend(const Sender& sender, detail::param_t<Args>... args) const;

    /// Django's `asend_robust`: like asend, but every receiver runs and the future holds one
    /// outcome per receiver; it never holds a receiver's exception. Defined by
    /// `<tocsin/dispatch/async.hpp>`.
    auto asend_robust(const Sender& sender, detail::param_t<Args>... args) const;

    /// True when a send from `sender` would call a receiver. Receivers without a sender hear
    /// every sender; a receiver for one sender is not heard by `has_listeners()` without one.
    [[nodiscard]] bool has_listeners(const Sender& sender = {}) const {
        if (head_.load(std::memory_order_relaxed) == nullptr) {
            return false;
        }
        detail::rcu::ReadGuard guard;
        const detail::Snapshot* snap = head_.load(std::memory_order_acquire);
        if (snap == nullptr) {
            return false;
        }
        const detail::View v = snap->view(sender);
        for (const auto list : {v.own, v.any}) {
            for (const detail::Entry& e : list) {
                if (e.slot->alive()) {
                    return true;
                }
            }
        }
        return false;
    }

    /// The number of live receivers (tracked receivers whose object died are not counted).
    [[nodiscard]] std::size_t receiver_count() const { return receivers_->receiver_count(); }

    /// Every live receiver, in call order, with its name, sender, uid and where it was connected.
    [[nodiscard]] std::vector<ReceiverInfo> receivers() const { return receivers_->receivers(); }

    /// Sets this signal's error logger (overrides the process-wide one; empty = use that one).
    void set_error_logger(ErrorLogger logger) { receivers_->set_error_logger(std::move(logger)); }

  private:
    friend class ScopedMute;
    friend struct detail::AsyncSends<R(Args...)>;
    using Thunk = R (*)(detail::SlotBase*, const Sender&, detail::param_t<Args>...);

    template <class C, class M>
    Connection connect_method(M C::*method, C* object, Connect& options,
                              tocsin::source_location where) {
        if (options.on_commit) {
            detail::throw_invalid_connect(
                name(), "on_commit needs a function or lambda receiver, not a member function");
        }
        using SlotT = detail::MethodSlot<R, C, M, Args...>;
        static_assert(std::is_invocable_v<M C::*, C*, const Sender&, detail::param_t<Args>...> ||
                          std::is_invocable_v<M C::*, C*, detail::param_t<Args>...>,
                      "the member function must take (const Sender&, Args...) or (Args...)");
        SlotT* s = nullptr;
        auto slot = detail::make_slot(s, method, object);
        s->identity = detail::identity_of(method, object);
        s->call = reinterpret_cast<detail::ErasedCall>(&SlotT::thunk);
        s->type_label = detail::type_label_v<C>;
        s->code = detail::code_of(method);
        s->is_method = true;
        return add(std::move(slot), options, where);
    }

    /// Connects a commit-time receiver (Connect::on_commit) through `adapter`, the one
    /// commit-time adapter of this signal (compiled once per signal, not per receiver type): `fn`
    /// is the receiver (owned from here on, destroyed by `destroy`), `code` and `type_label`
    /// those of the callable given to connect.
    template <class Adapter>
    Connection connect_at_commit(Adapter adapter, void* fn, void (*destroy)(void*),
                                 const void* code, std::string_view type_label, Connect& options,
                                 tocsin::source_location where) {
        using SlotT = detail::Slot<R, Adapter, Args...>;
        adapter.target =
            detail::make_commit_target(receivers_, fn, destroy, code, type_label, options);
        SlotT* s = nullptr;
        auto slot = detail::make_slot(s, std::move(adapter));
        s->identity = s->storage.fn.id;
        s->call = reinterpret_cast<detail::ErasedCall>(&SlotT::thunk);
        s->type_label = type_label;
        s->code = code;
        return add(std::move(slot), options, where);
    }

    /// Fills `slot` from `options` (moved from: the caller's by-value copy) and connects it
    /// (detail::connect_slot, out of line: compiled once, not for every signal).
    Connection add(std::shared_ptr<detail::SlotBase> slot, Connect& options,
                   tocsin::source_location where) {
        return Connection(detail::connect_slot(*receivers_, std::move(slot), options, where));
    }

    /// send() of a signal whose receivers return values: each receiver's response, in order.
    std::vector<Response<R>> send_values(const Sender& sender,
                                         detail::param_t<Args>... args) const {
        std::vector<Response<R>> out;
        dispatch_collect(
            sender, out,
            [&](detail::SlotBase* s, const detail::SendProbe* probe) {
                R value = observed_invoke(probe, s, sender, args...);
                out.push_back(Response<R>{std::move(value), connection_of(s)});
            },
            [&](const detail::View& all, const detail::SendProbe* probe) {
                const auto targets = async_targets(all);
                std::vector<std::optional<R>> values(targets.size());
                const auto errors = run_async(targets, [&](detail::SlotBase* s, std::size_t i) {
                    values[i].emplace(observed_invoke(probe, s, sender, args...));
                });
                rethrow_first(errors);
                for (std::size_t i = 0; i < targets.size(); ++i) {
                    if (values[i]) {
                        out.push_back(
                            Response<R>{std::move(*values[i]), connection_of(targets[i])});
                    }
                }
            });
        return out;
    }

    static R invoke(detail::SlotBase* s, const Sender& sender, detail::param_t<Args>... args) {
        return reinterpret_cast<Thunk>(s->call)(s, sender,
                                                std::forward<detail::param_t<Args>>(args)...);
    }

    /// Calls receiver `s`, through `probe` when the send is observed (null: it is not).
    static R observed_invoke(const detail::SendProbe* probe, detail::SlotBase* s,
                             const Sender& sender, detail::param_t<Args>... args) {
        if (probe == nullptr) [[likely]] {
            return invoke(s, sender, std::forward<detail::param_t<Args>>(args)...);
        }
        return probe->call(s, [&]() -> R {
            return invoke(s, sender, std::forward<detail::param_t<Args>>(args)...);
        });
    }

    static Connection connection_of(detail::SlotBase* s) { return Connection(s->shared()); }

    /// The one loop of the sends (send_void spells the same loop out for speed): calls
    /// `visit(entry)` for each synchronous receiver of `receivers`, in call order, that is live;
    /// a tracked one while its object is kept alive (detail::pin). Async receivers are left to
    /// the caller. Allocates nothing.
    template <class Visit>
    void for_each_sync(const detail::View& receivers, Visit&& visit) const {
        receivers.for_each(
            [&](const detail::Entry& e) { if_live_sync(e.slot, [&] { visit(e); }); });
    }

    /// Calls `call()` if `s` is a synchronous receiver that is live; a tracked one while its
    /// object is kept alive (detail::pin). The one test of "live" for the loops of the sends.
    template <class Call>
    void if_live_sync(detail::SlotBase* s, Call&& call) const {
        const std::uint8_t state = s->state.load(std::memory_order_acquire);
        if (state == 0) [[likely]] {
            call();
        } else if ((state & detail::SlotBase::async_bit) == 0) {
            std::shared_ptr<const void> keep;
            if (detail::pin(*s, keep, *receivers_)) {
                call();
            }
        }
    }

    /// The heart of every send but the void one: calls `sync(slot, probe)` for each synchronous
    /// receiver in order, then `async(receivers, probe)` once if some receiver is async. `probe`
    /// is the send's observer probe, null when the send is not observed (always with `Observe`
    /// false: asend observes its sends itself). Lock-free; allocates nothing.
    template <bool Observe = true, class Sync, class Async>
    void dispatch(const Sender& sender, Sync&& sync, Async&& async) const {
        if (head_.load(std::memory_order_relaxed) == nullptr) {
            return;
        }
        detail::rcu::ReadGuard guard;
        const detail::Snapshot* snap = head_.load(std::memory_order_acquire);
        if (snap == nullptr) [[unlikely]] {
            return;
        }
        if (detail::rcu::this_thread.mutes != 0 && detail::is_muted(receivers_.get(), sender))
            [[unlikely]] {
            return;
        }
        const detail::View receivers = snap->view(sender);
        if constexpr (Observe) {
            if (detail::observing() && !receivers.empty()) [[unlikely]] {
                const detail::SendProbe probe(name(), sender);
                run_view(receivers, &probe, sync, async);
                return;
            }
        }
        run_view(receivers, nullptr, sync, async);
    }

    /// dispatch() for the sends that collect one result per receiver (send with values,
    /// send_robust) into `out`: reserves `out` for every receiver the send may call (one
    /// allocation instead of one per doubling), and on the thread's first-level, unmuted send
    /// marks the thread's reader record as send_void does, instead of a ReadGuard.
    template <class Out, class Sync, class Async>
    void dispatch_collect(const Sender& sender, Out& out, Sync&& sync, Async&& async) const {
        if (head_.load(std::memory_order_relaxed) == nullptr) {
            return;
        }
        detail::rcu::Reader* const reader = detail::rcu::this_thread.fast;
        if (detail::rcu::busy(reader)) [[unlikely]] {
            // The thread's first send, a nested one, or a muted thread: the general way.
            dispatch(sender, sync, async);
            return;
        }
        // Not muted here (`fast` is the thread's own record only while no ScopedMute lives).
        const std::uint64_t period = detail::rcu::mark(reader);
        const detail::rcu::FastSection section(reader);
        const detail::Snapshot* snap = head_.load(std::memory_order_acquire);
        if (snap == nullptr) [[unlikely]] {
            return;
        }
        if (snap->plain_for(detail::Snapshot::plain_mask(sender)) &&
            (period & detail::rcu::observed_bit) == 0) [[likely]] {
            const detail::Entry* e = snap->any_begin();
            const detail::Entry* const end = snap->any_end();
            out.reserve(static_cast<std::size_t>(end - e));
            for (; e != end; ++e) {
                detail::SlotBase* const s = e->slot;
                if_live_sync(s, [&] { sync(s, nullptr); });
            }
            return;
        }
        const detail::View receivers = snap->view(sender);
        out.reserve(receivers.own.size() + receivers.any.size());
        if ((period & detail::rcu::observed_bit) != 0 && !receivers.empty()) [[unlikely]] {
            const detail::SendProbe probe(name(), sender);
            run_view(receivers, &probe, sync, async);
            return;
        }
        run_view(receivers, nullptr, sync, async);
    }

    /// The receivers of one send (dispatch's second half).
    template <class Sync, class Async>
    void run_view(const detail::View& receivers, const detail::SendProbe* probe, Sync& sync,
                  Async& async) const {
        for_each_sync(receivers, [&](const detail::Entry& e) { sync(e.slot, probe); });
        if (receivers.has_async) [[unlikely]] {
            async(receivers, probe);
        }
    }

    /// The body of a void send with receivers, inline at the call site: its fast path — the
    /// thread's first-level send, not muted, with no send observer, to a signal whose only
    /// receiver is plain and sender-less — marks the thread's reader record, calls the receiver and
    /// leaves, keeping nothing across the call (the record is found again in thread-local storage).
    /// Any other send makes one out-of-line call (send_void_rest), so that the code at each call
    /// site stays small enough for its caller to be inlined in turn.
    [[gnu::always_inline]] void send_void(const Sender& sender,
                                          detail::param_t<Args>... args) const {
        detail::rcu::Reader* const reader = detail::rcu::this_thread.fast;
        const bool marked = !detail::rcu::busy(reader);
        if (marked) [[likely]] {
            const std::uint64_t period = detail::rcu::mark(reader);
            const detail::Snapshot* snap = head_.load(std::memory_order_acquire);
            if (snap != nullptr && snap->plain_for(detail::Snapshot::lone_mask()) &&
                (period & detail::rcu::observed_bit) == 0) [[likely]] {
                const detail::Entry* const e = snap->any_begin();
                detail::SlotBase* const s = e->slot;
                if (s->state.load(std::memory_order_acquire) == 0) [[likely]] {
                    const detail::rcu::ThreadSection section;
                    reinterpret_cast<Thunk>(e->call)(s, sender, args...);
                    return;
                }
            }
        }
        send_void_rest(marked, sender, args...);
    }

    /// send_void when its fast path does not apply. With `marked`, inside the section that
    /// send_void marked on this thread's record (which this leaves): the sender-less receivers
    /// alone (several, or a special lone one) or the sender's own list alone (the model
    /// signals' typed receivers) walked in place, else the merged View (send_void_not_plain).
    /// Without, send_void_general: the thread's first send, a nested one, or a muted thread.
    [[gnu::noinline]] void send_void_rest(bool marked, const Sender& sender,
                                          detail::param_t<Args>... args) const {
        if (!marked) [[unlikely]] {
            send_void_general(sender, args...);
            return;
        }
        detail::rcu::Reader* const reader = detail::rcu::this_thread.reader;
        // Read again inside the section: what send_void read, or a newer snapshot.
        const detail::Snapshot* snap = head_.load(std::memory_order_acquire);
        if (snap == nullptr) [[unlikely]] {
            detail::rcu::leave(reader);
            return;
        }
        const bool observed =
            (reader->period.load(std::memory_order_relaxed) & detail::rcu::observed_bit) != 0;
        const detail::Entry* e = nullptr;
        const detail::Entry* end = nullptr;
        if (!observed) [[likely]] {
            if (snap->plain_for(detail::Snapshot::plain_mask(sender))) {
                e = snap->any_begin();  // several sender-less receivers, or a special lone one
                end = snap->any_end();
            } else if (snap->senders_only() && !sender.is_none()) {
                // The model signals' common case: receivers for senders only (typed receivers),
                // none sender-less, none async: the sender's own list, in place, without a View.
                const detail::List* own = snap->own_list(sender);
                if (own == nullptr) {
                    detail::rcu::leave(reader);
                    return;
                }
                if (!own->has_async) [[likely]] {
                    e = own->entries;
                    end = own->entries + own->count.load(std::memory_order_acquire);
                }
            }
        }
        if (e != nullptr) [[likely]] {
            // Walked here, the section left through thread-local storage (no register holds
            // the record across the calls).
            const detail::rcu::ThreadSection section;
            for (; e != end; ++e) {
                detail::SlotBase* const s = e->slot;
                if (s->state.load(std::memory_order_acquire) == 0) [[likely]] {
                    reinterpret_cast<Thunk>(e->call)(s, sender, args...);
                } else {
                    call_special(s, sender, args...);
                }
            }
            return;
        }
        send_void_not_plain(reader, snap, sender, args...);
    }

    /// send_void when neither the sender-less list alone nor the sender's own list alone is
    /// what the send calls (or the send is observed), inside the section that `reader` marks,
    /// which this leaves.
    [[gnu::noinline]] void send_void_not_plain(detail::rcu::Reader* reader,
                                               const detail::Snapshot* snap, const Sender& sender,
                                               detail::param_t<Args>... args) const {
        const detail::rcu::FastSection section(reader);
        send_void_view(snap, sender, args...);
    }

    /// send_void's general path: the thread's first send, a nested send, or a ScopedMute alive
    /// on this thread.
    [[gnu::noinline]] void send_void_general(const Sender& sender,
                                             detail::param_t<Args>... args) const {
        detail::rcu::ReadGuard guard;
        const detail::Snapshot* snap = head_.load(std::memory_order_acquire);
        if (snap == nullptr ||
            (detail::rcu::this_thread.mutes != 0 && detail::is_muted(receivers_.get(), sender))) {
            return;
        }
        send_void_view(snap, sender, args...);
    }

    /// The receivers of a void send from `sender` in `snap` (read inside a read-side section):
    /// its own list merged with the sender-less one, async receivers, a send observer.
    [[gnu::noinline]] void send_void_view(const detail::Snapshot* snap, const Sender& sender,
                                          detail::param_t<Args>... args) const {
        const detail::View receivers = snap->view(sender);
        if (detail::observing()) [[unlikely]] {
            send_void_observed(receivers, sender, args...);
            return;
        }
        receivers.for_each([&](const detail::Entry& e) {
            if (e.slot->state.load(std::memory_order_acquire) == 0) [[likely]] {
                reinterpret_cast<Thunk>(e.call)(e.slot, sender, args...);
            } else {
                call_special(e.slot, sender, args...);
            }
        });
        if (receivers.has_async) [[unlikely]] {
            send_async(receivers, nullptr, sender, args...);
        }
    }

    /// send_void's slow path: a tracked receiver (called while its object is kept alive), an
    /// async one (skipped: it runs after the others) or a disconnected one (skipped).
    [[gnu::noinline]] void call_special(detail::SlotBase* s, const Sender& sender,
                                        detail::param_t<Args>... args) const {
        std::shared_ptr<const void> keep;
        if ((s->state.load(std::memory_order_acquire) & detail::SlotBase::async_bit) == 0 &&
            detail::pin(*s, keep, *receivers_)) {
            invoke(s, sender, std::forward<detail::param_t<Args>>(args)...);
        }
    }

    /// send_void while a send observer is set.
    [[gnu::noinline]] void send_void_observed(const detail::View& receivers, const Sender& sender,
                                              detail::param_t<Args>... args) const {
        if (receivers.empty()) {
            return;
        }
        const detail::SendProbe probe(name(), sender);
        for_each_sync(receivers, [&](const detail::Entry& e) {
            observed_invoke(&probe, e.slot, sender, args...);
        });
        if (receivers.has_async) {
            send_async(receivers, &probe, sender, args...);
        }
    }

    /// Runs the async receivers of a void send on their executors and waits for them.
    void send_async(const detail::View& all, const detail::SendProbe* probe, const Sender& sender,
                    detail::param_t<Args>... args) const {
        const auto targets = async_targets(all);
        const auto errors = run_async(targets, [&](detail::SlotBase* s, std::size_t) {
            observed_invoke(probe, s, sender, args...);
        });
        rethrow_first(errors);
    }

    static std::vector<detail::SlotBase*> async_targets(const detail::View& all) {
        std::vector<detail::SlotBase*> targets;
        all.for_each([&](const detail::Entry& e) {
            if (e.slot->async) {
                targets.push_back(e.slot);
            }
        });
        return targets;
    }

    /// Runs `call(slot, index)` for each target on its executor, concurrently, and waits for all
    /// (detail::run_async, out of line: compiled once, not for every signal and send).
    /// Returns each target's exception (null when it succeeded or was no longer connected).
    template <class Call>
    std::vector<std::exception_ptr> run_async(const std::vector<detail::SlotBase*>& targets,
                                              Call&& call) const {
        return detail::run_async(
            *receivers_, targets,
            [](void* c, detail::SlotBase* s, std::size_t i) {
                (*static_cast<std::remove_reference_t<Call>*>(c))(s, i);
            },
            static_cast<void*>(std::addressof(call)));
    }

    static void rethrow_first(const std::vector<std::exception_ptr>& errors) {
        for (const auto& e : errors) {
            if (e) {
                std::rethrow_exception(e);
            }
        }
    }

    std::atomic<const detail::Snapshot*> head_{nullptr};
    std::shared_ptr<detail::Receivers> receivers_;
};

}  // namespace tocsin
