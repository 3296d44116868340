// tocsin::commit_copy — how a commit-time receiver (Connect::on_commit) keeps its arguments until
// the commit, and which database's commit it waits for; the one route every commit-time receiver
// takes (detail::CommitTimeReceiver), for plain signals and the model layer's alike.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "tocsin/dispatch/commit_deferrer.hpp"
#include "tocsin/dispatch/detail/observe.hpp"
#include "tocsin/dispatch/detail/receivers.hpp"
#include "tocsin/dispatch/sender.hpp"

namespace tocsin {

/// What a send tells the copy traits of a commit-time receiver's arguments (commit_copy), and
/// what they tell it back: the database alias whose transaction the receiver waits for (Django's
/// `on_commit(func, using=alias)`). The arguments are copied in order, left to right.
struct CommitContext {
    /// The sender of the send.
    Sender sender{};
    /// The database alias whose outermost transaction the receiver waits for: "default" unless an
    /// argument's trait names another (the model layer's events name the database of the save or
    /// removal). What it points to must outlive the send (the argument sent, or a literal).
    std::string_view alias = "default";
    /// The last argument a trait copied that a later argument may point to (the model layer's
    /// instance, which a DeleteEvent's origin may name), and its copy: so that the later one
    /// points to the copy.
    const void* original = nullptr;
    std::shared_ptr<void> copy{};
};

/// How a commit-time receiver keeps an argument of type `T` (cv and reference removed) from the
/// send to the commit: `make(value, context)` returns what is kept (copyable: it waits in a
/// std::function), `get(kept)` what the receiver gets then. This primary template keeps a copy.
/// Specialise it for an argument type that refers to the send's data (keep what outlives the
/// send) or that says which database the send happens on (set `context.alias`); a
/// specialisation without `make` refuses commit-time receivers (std::invalid_argument at
/// connect).
template <class T>
struct commit_copy {
    /// A copy of `value`.
    static T make(const T& value,
                  CommitContext& /*context*/) requires std::is_copy_constructible_v<T> {
        return value;
    }
    /// The copy, as the receiver gets it.
    static T& get(T& kept) noexcept { return kept; }
};

/// True when commit-time receivers can get an argument of type `T`: commit_copy<T> makes a
/// copyable value from it.
template <class T>
concept commit_copyable = requires(const T& value, CommitContext& context) {
    commit_copy<T>::make(value, context);
    requires std::is_copy_constructible_v<
        std::decay_t<decltype(commit_copy<T>::make(value, context))>>;
};

namespace detail {

/// What commit_copy<T> keeps of an argument declared as `A`.
template <class A>
using commit_kept_t = std::decay_t<decltype(commit_copy<std::remove_cvref_t<A>>::make(
    std::declval<const std::remove_cvref_t<A>&>(), std::declval<CommitContext&>()))>;

/// What a commit-time receiver of an argument declared as `A` gets at the commit.
template <class A>
using commit_arg_t =
    decltype(commit_copy<std::remove_cvref_t<A>>::get(std::declval<commit_kept_t<A>&>()));

/// Who a commit-time receiver is, to name it when it fails after the commit: its signal (whose
/// error logger is told) and its Connect::name and dispatch_uid.
struct CommitReceiverName {
    std::weak_ptr<const Receivers> owner;  ///< the signal's receivers
    std::string signal;
    std::string name;
    std::string dispatch_uid;

    /// Reports the exception being handled, naming the receiver whose function is at `code`
    /// (of type `type`, see receiver_name).
    void report(const void* code, std::string_view type) const noexcept;
};

/// What one commit-time receiver is, shared by its sends: the receiver (type-erased), what it
/// tracks, and how to name it when it fails.
struct CommitTimeTarget {
    std::shared_ptr<void> fn;           ///< the receiver
    std::weak_ptr<const void> track{};  ///< Connect::track
    bool tracked = false;               ///< whether a track was given
    CommitReceiverName who;             ///< its signal and names
    const void* code = nullptr;         ///< its function's address, for its symbol (or null)
    std::string_view type{};            ///< its type's name
};

/// The one commit-time receiver adapter (Connect::on_commit) of a void signal whose arguments
/// are `Args`: a send copies the arguments (commit_copy, which also names the database) and
/// hands the call to the transaction layer (defer_to_commit); at the commit the receiver runs
/// with the copies, its run reported to the send observer as one of the deferring send's
/// receivers (DeferredRun), an exception it throws told to the error logger (ReceiverError,
/// "on_commit()"). A tracked receiver whose object died before the commit does not run.
///
/// It depends on the signal's arguments only: the receiver's own type is erased behind `fn` and
/// `invoke` (compiled once per receiver type, a few instructions), so the closure, its
/// std::function and the slot holding the adapter are compiled once per signal.
/// Hands a commit-time receiver's call to the transaction layer (defer_to_commit, for the commit
/// of `alias`): at the commit, unless the object `target` tracks died, `call(target, sender,
/// kept, invoke)` runs, reported to the send observer as a receiver of the send under way now
/// (DeferredRun), an exception it throws told to the error logger. `kept` (the arguments'
/// copies) is owned from here on, destroyed by `destroy`. Out of line (src/dispatch/signal.cpp):
/// the closure and its std::function are compiled once, not once per signal.
void defer_commit_call(const std::shared_ptr<const CommitTimeTarget>& target, const Sender& sender,
                       void* kept, void (*destroy)(void*),
                       void (*call)(const CommitTimeTarget& target, const Sender& sender,
                                    void* kept, void (*invoke)()),
                       void (*invoke)(), std::string_view alias);

template <class... Args>
struct CommitTimeReceiver {
    /// Calls the receiver `fn` with the copies.
    using Invoke = void (*)(void* fn, const Sender&, commit_arg_t<Args>...);
    /// The copies of a send's arguments.
    using Kept = std::tuple<commit_kept_t<Args>...>;

    std::shared_ptr<const CommitTimeTarget> target;
    Invoke invoke = nullptr;
    Identity id{};

    void operator()(const Sender& sender, const std::remove_cvref_t<Args>&... args) const {
        CommitContext context{sender};
        // Braced: the arguments are copied left to right (a later one may point to an earlier).
        auto* kept = new Kept{commit_copy<std::remove_cvref_t<Args>>::make(args, context)...};
        defer_commit_call(target, sender, kept, &destroy_kept, &call_kept,
                          reinterpret_cast<void (*)()>(invoke), context.alias);
    }
    /// Destroys the copies of a send.
    static void destroy_kept(void* kept) noexcept { delete static_cast<Kept*>(kept); }
    /// Calls the receiver with the copies of a send.
    static void call_kept(const CommitTimeTarget& target, const Sender& sender, void* kept,
                          void (*invoke)()) {
        std::apply(
            [&](auto&... k) {
                reinterpret_cast<Invoke>(invoke)(target.fn.get(), sender,
                                                 commit_copy<std::remove_cvref_t<Args>>::get(k)...);
            },
            *static_cast<Kept*>(kept));
    }
    /// Calls the receiver `fn`, of type `Fn`, with the copies (with the sender first when it
    /// takes one).
    template <class Fn>
    static void call(void* fn, const Sender& sender, commit_arg_t<Args>... args) {
        Fn& f = *static_cast<Fn*>(fn);
        if constexpr (std::is_invocable_v<Fn&, const Sender&, commit_arg_t<Args>...>) {
            std::invoke(f, sender, std::forward<commit_arg_t<Args>>(args)...);
        } else {
            std::invoke(f, std::forward<commit_arg_t<Args>>(args)...);
        }
    }

    [[nodiscard]] Identity identity() const noexcept { return id; }
    [[nodiscard]] const void* code() const noexcept { return target->code; }
};

}  // namespace detail
}  // namespace tocsin
