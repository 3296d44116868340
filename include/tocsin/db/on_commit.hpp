// on_commit: run a callback once the current transaction commits (Django's
// transaction.on_commit).
//
//     tocsin::atomic([&] {
//         order.save();
//         tocsin::on_commit([id = order.id] { send_confirmation(id); });   // after COMMIT
//     });
#pragma once

#include <concepts>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <tocsin/source_location.hpp>
#include <type_traits>
#include <utility>

#include "tocsin/db/database.hpp"
#include "tocsin/db/error.hpp"

namespace tocsin::db {

/// How an on_commit callback is registered.
struct OnCommitOptions {
    /// The database alias whose transaction the callback waits for.
    std::string_view alias = default_alias;
    /// true: an exception from the callback is logged (LogRecord on "tocsin.db") and the next
    /// callback runs; false: it propagates to whoever ended the transaction.
    bool robust = false;
    /// Names the callback in the log message; default: "<callback at file:line>".
    std::string_view name = {};
};

namespace detail {
template <class T>
struct is_std_function : std::false_type {};
template <class R, class... A>
struct is_std_function<std::function<R(A...)>> : std::true_type {};

/// Wraps any callable into a std::function<void()>; move-only callables are shared. Throws
/// ProgrammingError("on_commit()'s callback must be a callable.") for an empty std::function
/// or a null function pointer.
template <class F>
std::function<void()> make_commit_callback(F&& fn, tocsin::source_location where) {
    using D = std::decay_t<F>;
    if constexpr (std::is_pointer_v<D> || is_std_function<D>::value) {
        const D& callable = fn;
        if (!callable)
            throw ProgrammingError("on_commit()'s callback must be a callable.", where);
    }
    if constexpr (std::is_copy_constructible_v<D>) {
        return std::function<void()>(std::forward<F>(fn));
    } else {
        auto shared = std::make_shared<D>(std::forward<F>(fn));
        return [shared] { std::invoke(*shared); };
    }
}

/// tocsin/testing.hpp's CaptureOnCommitCallbacks: takes `fn` (true) when a capture of `alias` is
/// active on this thread, else leaves it (false).
bool capture_on_commit(std::string_view alias, std::function<void()>& fn, bool robust,
                       std::string_view name);
}  // namespace detail

/// Runs @p fn after the current transaction on options.alias commits:
/// - inside an atomic block: after the outermost block commits, in registration order, with
///   autocommit restored (so @p fn may query, open its own atomic block, register callbacks of
///   its own, which then run before the next outer callback). Dropped, never run, when the
///   savepoint of the block that registered it (or of any enclosing block) rolls back, when the
///   transaction rolls back, or when the connection closes;
/// - in autocommit mode (no atomic block): runs @p fn now;
/// - in manual transaction mode (set_autocommit(false)): TransactionManagementError.
/// A non-robust callback's exception propagates from the end of the atomic block (after the
/// commit) and the rest of that batch is dropped; a robust one's is logged as
/// "Error calling <name> in on_commit() during transaction (<what>)." and the next one runs.
template <class F>
requires std::invocable < std::decay_t<F>
& > void on_commit(F&& fn, const OnCommitOptions& options,
                   tocsin::source_location where = tocsin::source_location::current()) {
    Database& database = connection(options.alias, where);
    auto callback = detail::make_commit_callback(std::forward<F>(fn), where);
    if (detail::capture_on_commit(options.alias, callback, options.robust, options.name)) {
        return;  // a test captures it (tocsin/testing.hpp)
    }
    database.on_commit(std::move(callback), options.robust, std::string(options.name), where);
}

/// on_commit() on @p alias, not robust.
template <class F>
requires std::invocable < std::decay_t<F>
& > void on_commit(F&& fn, std::string_view alias = default_alias,
                   tocsin::source_location where = tocsin::source_location::current()) {
    db::on_commit(std::forward<F>(fn), OnCommitOptions{.alias = alias}, where);
}

/// on_commit() on @p alias with robust = true: an exception from @p fn is logged, not thrown.
template <class F>
requires std::invocable < std::decay_t<F>
& > void on_commit_robust(F&& fn, std::string_view alias = default_alias,
                          tocsin::source_location where = tocsin::source_location::current()) {
    db::on_commit(std::forward<F>(fn), OnCommitOptions{.alias = alias, .robust = true}, where);
}

}  // namespace tocsin::db

namespace tocsin {
using db::on_commit;
using db::on_commit_robust;
using db::OnCommitOptions;
}  // namespace tocsin
