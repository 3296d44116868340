// Atomic: Django's transaction.atomic as an RAII guard and as a function.
//
//     {
//         auto tx = tocsin::atomic();        // BEGIN (or SAVEPOINT when nested)
//         user.save();
//         profile.save();
//     }                                      // COMMIT (or RELEASE); ROLLBACK if unwinding
//
//     auto id = tocsin::atomic([&] { return order.save(); });       // returns the result
//     tocsin::atomic("other", [&] { ... });                         // another alias
//     tocsin::atomic({.durable = true}, [&] { ... });               // must be outermost
#pragma once

#include <concepts>
#include <functional>
#include <string_view>
#include <tocsin/source_location.hpp>
#include <type_traits>
#include <utility>

#include "tocsin/db/database.hpp"

namespace tocsin::db {

/// How an atomic block behaves (Django's atomic(using, savepoint, durable)).
struct AtomicOptions {
    /// The database alias.
    std::string_view alias = default_alias;
    /// Nested blocks make a savepoint so that they can roll back alone. false: the block merges
    /// with its parent, and an error in it makes the enclosing block roll back.
    bool savepoint = true;
    /// The block must be the outermost one: when it ends without error its work is committed
    /// for good. Nesting it in another block is a TransactionManagementError.
    bool durable = false;
};

/// An atomic block. Construction begins it: the outermost block on the connection runs BEGIN,
/// a nested one creates a savepoint (unless savepoint = false). It ends at the first of
/// commit(), rollback() or destruction:
/// - ended normally (destroyed outside stack unwinding, or commit()): the savepoint is released
///   or, for the outermost block, the transaction is committed and then the on_commit callbacks
///   run, in the order they were registered, with autocommit restored;
/// - ended by an exception (destroyed while an exception thrown after its construction unwinds
///   the stack), or rollback(), or after set_rollback(true): the work since the block began is
///   rolled back, with the on_commit callbacks registered in it. A block without savepoint
///   cannot roll back alone: it marks its parent for rollback.
///
/// The destructor may throw when the block ends normally: a failed COMMIT (after rolling
/// back) or an exception from a non-robust on_commit callback (after the commit; the rest of
/// that batch of callbacks is dropped). Call commit() to get those errors at a place of your
/// choosing. Blocks must end in the reverse order they began, on the thread that began them:
/// commit() or rollback() out of turn throws TransactionManagementError and leaves the block open.
/// Not copyable or movable; `auto tx = tocsin::atomic();` works through copy elision.
class [[nodiscard]] Atomic {
  public:
    /// Begins a block on the calling thread's connection for @p alias.
    explicit Atomic(std::string_view alias = default_alias,
                    tocsin::source_location where = tocsin::source_location::current());
    /// Begins a block as @p options say.
    explicit Atomic(const AtomicOptions& options,
                    tocsin::source_location where = tocsin::source_location::current());
    /// Ends the block if still active: commits normally, rolls back during stack unwinding.
    ~Atomic() noexcept(false);

    Atomic(const Atomic&) = delete;
    Atomic& operator=(const Atomic&) = delete;

    /// Ends the block now as if it left its scope normally (see the class comment). Throws
    /// what the commit or the on_commit callbacks throw; the block is ended either way.
    void commit(tocsin::source_location where = tocsin::source_location::current());
    /// Ends the block now, rolling back to where it began (or marking the parent block for
    /// rollback when this one has no savepoint). Never throws a database error: if the rollback
    /// itself fails the connection is closed, as Django does.
    void rollback(tocsin::source_location where = tocsin::source_location::current());

    /// Whether the block has not ended yet.
    [[nodiscard]] bool active() const noexcept { return active_; }
    /// The connection the block runs on.
    [[nodiscard]] Database& database() const noexcept { return *db_; }

  private:
    void enter(const AtomicOptions& options, tocsin::source_location where);
    void exit(bool success, tocsin::source_location where);

    Database* db_;
    int uncaught_;
    bool active_ = false;
    tocsin::source_location began_;
};

/// Begins an atomic block on @p alias; keep the result: `auto tx = tocsin::atomic();`.
[[nodiscard]] inline Atomic atomic(
    std::string_view alias = default_alias,
    tocsin::source_location where = tocsin::source_location::current()) {
    return Atomic(alias, where);
}

/// Begins an atomic block as @p options say: `auto tx = tocsin::atomic({.savepoint = false});`.
[[nodiscard]] inline Atomic atomic(
    const AtomicOptions& options,
    tocsin::source_location where = tocsin::source_location::current()) {
    return Atomic(options, where);
}

/// Runs @p fn inside an atomic block as @p options say and returns its result. The block
/// commits when @p fn returns and rolls back when it throws (the exception propagates).
template <std::invocable F>
std::invoke_result_t<F&> atomic(
    const AtomicOptions& options, F&& fn,
    tocsin::source_location where = tocsin::source_location::current()) {
    using R = std::invoke_result_t<F&>;
    Atomic block(options, where);
    if constexpr (std::is_void_v<R>) {
        std::invoke(fn);
        block.commit(where);
    } else {
        R result = std::invoke(fn);
        block.commit(where);
        return result;
    }
}

/// Runs @p fn inside an atomic block on @p alias and returns its result.
template <std::invocable F>
std::invoke_result_t<F&> atomic(
    std::string_view alias, F&& fn,
    tocsin::source_location where = tocsin::source_location::current()) {
    return db::atomic(AtomicOptions{.alias = alias}, std::forward<F>(fn), where);
}

/// Runs @p fn inside an atomic block on the default alias and returns its result.
template <std::invocable F>
std::invoke_result_t<F&> atomic(
    F&& fn, tocsin::source_location where = tocsin::source_location::current()) {
    return db::atomic(AtomicOptions{}, std::forward<F>(fn), where);
}

namespace detail {
/// db::atomic(options, fn, where) with the caller's location first, for code whose lambda
/// comes last (the model layer passes its caller's location through).
template <std::invocable F>
std::invoke_result_t<F&> atomic_at(tocsin::source_location where, const AtomicOptions& options,
                                   F&& fn) {
    return db::atomic(options, std::forward<F>(fn), where);
}
}  // namespace detail

/// Django's mark_for_rollback_on_error on the calling thread's connection for @p alias.
template <std::invocable F>
decltype(auto) mark_for_rollback_on_error(std::string_view alias, F&& fn) {
    return connection(alias).mark_for_rollback_on_error(std::forward<F>(fn));
}

}  // namespace tocsin::db

namespace tocsin {
using db::Atomic;
using db::atomic;
using db::AtomicOptions;
}  // namespace tocsin
