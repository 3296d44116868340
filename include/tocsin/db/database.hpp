// Database: one connection under an alias, with its transaction state; and the
// process-wide configuration of aliases (Django's DATABASES and `connections[alias]`).
//
// Thread model (as Django's): each thread has its own connection per alias. connection(alias)
// returns the calling thread's Database for that alias, made on first use; the SQLite file is
// opened on the first query. The connection is closed when the thread ends (or close(),
// close_all()). A Database, its statements and its atomic blocks belong to that thread.
// ":memory:" databases are therefore private to each thread; use a file (or a shared-cache URI
// "file:name?mode=memory&cache=shared") to share data between threads.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tocsin/source_location.hpp>
#include <utility>
#include <vector>

#include "tocsin/db/backend.hpp"
#include "tocsin/db/default_alias.hpp"
#include "tocsin/db/settings.hpp"
#include "tocsin/db/statement_cache.hpp"
#include "tocsin/db/value.hpp"

namespace tocsin::db {

class Atomic;

/// One thread's connection to the database configured under an alias, and the transaction
/// state of that connection: autocommit, the stack of atomic blocks and savepoints, the
/// callbacks waiting for commit. Not copyable or movable; references to it stay valid for the
/// life of the thread, even across close() and reconfiguration.
class Database {
  public:
    /// A connection for @p alias that will open with @p settings on first use. Normally made
    /// by connection(); make your own only for a connection outside the registry.
    Database(std::string alias, Settings settings);
    /// Closes the connection (rolling back anything uncommitted).
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    /// The alias, e.g. "default".
    [[nodiscard]] const std::string& alias() const noexcept { return alias_; }
    /// The settings the connection opens with.
    [[nodiscard]] const Settings& settings() const noexcept { return settings_; }

    // ------------------------------------------------------------ the connection

    /// The backend, opening the connection first if needed. Throws OperationalError naming the
    /// file when it cannot be opened, TransactionManagementError when the connection was closed
    /// inside an atomic block that has not ended yet.
    [[nodiscard]] Backend& backend(
        tocsin::source_location where = tocsin::source_location::current());
    /// Whether the connection is open now.
    [[nodiscard]] bool is_connected() const noexcept { return backend_ != nullptr; }
    /// Closes the connection; the next query reopens it. Pending on_commit callbacks are
    /// dropped. Inside an atomic block the transaction is lost: no query can run until the
    /// outermost block ends, which then does nothing more (Django's behaviour).
    void close() noexcept;

    // ------------------------------------------------------------ running SQL

    /// Lends the cached prepared statement for @p sql (see CachedStatement): the fast path for
    /// code that runs the same SQL often. Throws TransactionManagementError when an error in the
    /// current atomic block requires its rollback first.
    [[nodiscard]] CachedStatement statement(
        std::string_view sql, tocsin::source_location where = tocsin::source_location::current());
    /// Like statement(), for a lease given back before this connection can be closed or
    /// dropped (bound, run and returned within one function): cheaper, as it does not keep the
    /// backend alive. execute(), query() and the model layer's writes use it.
    [[nodiscard]] CachedStatement scoped_statement(
        std::string_view sql, tocsin::source_location where = tocsin::source_location::current());

    /// The statement this connection holds under @p key (db::StatementCache::new_held_key()),
    /// prepared from the SQL @p make_sql() returns on first use: for code that runs one SQL
    /// text over and over, found by an index (no lookup of the text, no lease; the model
    /// layer's save plan: each model's INSERT and UPDATE). The caller binds every parameter,
    /// runs it and calls reset() or reset_for_rebinding() before any other code can reach this
    /// connection (no re-entrant use). It lives until the connection closes or its statement
    /// cache is cleared (a migration). Throws as statement() does.
    template <class MakeSql>
    [[nodiscard]] Statement& held_statement(
        std::size_t key, MakeSql&& make_sql,
        tocsin::source_location where = tocsin::source_location::current()) {
        validate_no_broken_transaction(where);
        if (backend_ && backend_->needs_attention()) [[unlikely]]
            attend_to_backend(where);
        return backend(where).held(key, std::forward<MakeSql>(make_sql), where);
    }

    /// Runs @p sql with @p params bound to parameters 1, 2, ...; returns the rows it changed.
    std::int64_t execute(std::string_view sql, std::initializer_list<Value> params = {},
                         tocsin::source_location where = tocsin::source_location::current());
    /// As above, with the parameters in a span.
    std::int64_t execute(std::string_view sql, std::span<const Value> params,
                         tocsin::source_location where = tocsin::source_location::current());
    /// As above, with views of the parameters (see ValueRef): their text and blobs are bound
    /// without a copy and must stay alive until the call returns.
    std::int64_t execute(std::string_view sql, std::span<const ValueRef> params,
                         tocsin::source_location where = tocsin::source_location::current());

    /// Runs @p sql and returns every row it yields.
    [[nodiscard]] std::vector<Row> query(
        std::string_view sql, std::initializer_list<Value> params = {},
        tocsin::source_location where = tocsin::source_location::current());
    /// As above, with the parameters in a span.
    [[nodiscard]] std::vector<Row> query(
        std::string_view sql, std::span<const Value> params,
        tocsin::source_location where = tocsin::source_location::current());

    /// The first column of the first row, or nullopt when there is no row.
    [[nodiscard]] std::optional<Value> query_value(
        std::string_view sql, std::initializer_list<Value> params = {},
        tocsin::source_location where = tocsin::source_location::current());

    /// Runs a script of ';'-separated statements without parameters (schema creation).
    void execute_script(std::string_view sql,
                        tocsin::source_location where = tocsin::source_location::current());

    // ------------------------------------------------------------ transactions

    /// Whether an atomic block is open on this connection.
    [[nodiscard]] bool in_atomic_block() const noexcept { return in_atomic_block_; }
    /// How many atomic blocks are open (1 = only the outermost).
    [[nodiscard]] std::size_t atomic_depth() const noexcept { return atomic_blocks_.size(); }
    /// Whether the connection is in autocommit mode (true unless set_autocommit(false) or an
    /// atomic block is open).
    [[nodiscard]] bool get_autocommit() const noexcept { return autocommit_; }
    /// Manual transaction management (Django's set_autocommit): false begins a transaction that
    /// lasts until commit()/rollback() (each begins the next one) or set_autocommit(true), which
    /// commits it. Throws TransactionManagementError inside an atomic block.
    void set_autocommit(bool autocommit,
                        tocsin::source_location where = tocsin::source_location::current());
    /// Commits the manual transaction (and begins the next). Forbidden inside an atomic block.
    void commit(tocsin::source_location where = tocsin::source_location::current());
    /// Rolls back the manual transaction (and begins the next); drops on_commit callbacks.
    /// Forbidden inside an atomic block.
    void rollback(tocsin::source_location where = tocsin::source_location::current());
    /// Whether the innermost atomic block will roll back when it ends.
    [[nodiscard]] bool get_rollback() const noexcept { return needs_rollback_; }
    /// Forces (true) or cancels (false) the rollback of the innermost atomic block when it
    /// ends. Throws TransactionManagementError outside an atomic block.
    void set_rollback(bool rollback,
                      tocsin::source_location where = tocsin::source_location::current());

    /// Runs @p fn; if it throws inside an atomic block, marks the block for rollback (so that a
    /// caller catching the error cannot commit half a write) and rethrows. What the model
    /// layer wraps each write in (Django's mark_for_rollback_on_error).
    template <std::invocable F>
    decltype(auto) mark_for_rollback_on_error(F&& fn) {
        try {
            return std::invoke(std::forward<F>(fn));
        } catch (...) {
            if (in_atomic_block_)
                needs_rollback_ = true;
            throw;
        }
    }

    // ------------------------------------------------------------ on_commit

    /// Registers @p fn to run after the outermost atomic block commits (see on_commit()), or
    /// runs it now in autocommit mode. @p robust: an exception from @p fn is logged and the next
    /// callback still runs. @p name names it in that log message (default: where it was
    /// registered). Throws TransactionManagementError in manual transaction mode and
    /// ProgrammingError when @p fn is empty.
    void on_commit(std::function<void()> fn, bool robust = false, std::string name = {},
                   tocsin::source_location where = tocsin::source_location::current());
    /// How many callbacks wait for the commit.
    [[nodiscard]] std::size_t pending_on_commit() const noexcept { return run_on_commit_.size(); }

    // ------------------------------------------------------------ before commit

    /// Registers @p fn to run just before the transaction commits, inside it: at the end of the
    /// outermost atomic block that commits (or at commit() / set_autocommit(true) in manual
    /// transaction mode), before COMMIT, in registration order. For writes that belong to the
    /// transaction but are cheaper made at once (the remote outbox writes a transaction's rows
    /// with one statement). Dropped, never run, when the savepoint of the block that registered
    /// it (or of an enclosing block) rolls back, when the transaction rolls back, or when the
    /// connection closes. A callback may register more; they run in the same pass. When one
    /// throws, the transaction is rolled back and the exception propagates from where the
    /// transaction was ending (as a failed COMMIT). Outside a transaction (autocommit): runs
    /// @p fn now.
    void before_commit(std::function<void()> fn);
    /// Runs the before_commit() callbacks registered so far now (in the transaction) and forgets
    /// them: what a reader of the rows they write calls first to see them.
    void run_before_commit();
    /// How many before_commit() callbacks wait.
    [[nodiscard]] std::size_t pending_before_commit() const noexcept {
        return before_commit_.size();
    }

  private:
    friend class Atomic;
    friend Database& connection(std::string_view alias, tocsin::source_location where);

    struct SavepointEntry {
        std::string name;                      // empty: a block without savepoint
        std::size_t hook_mark = 0;             // run_on_commit_.size() when the savepoint was made
        std::uint64_t before_commit_mark = 0;  // the seq of the next before_commit() then
        std::size_t ran_mark = 0;              // ran_before_commit_.size() when it was made
    };
    struct CommitHook {
        std::function<void()> fn;
        bool robust = false;
        std::string name;
        tocsin::source_location where;
    };

    void validate_no_atomic_block(tocsin::source_location where) const;
    void validate_no_broken_transaction(tocsin::source_location where) const;
    void run_control(const std::string& sql, tocsin::source_location where);
    void begin_transaction(tocsin::source_location where);
    void commit_transaction(tocsin::source_location where);
    void rollback_transaction(tocsin::source_location where);
    std::string create_savepoint(tocsin::source_location where);
    void release_savepoint(const std::string& name, tocsin::source_location where);
    void rollback_to_savepoint(const SavepointEntry& savepoint, tocsin::source_location where);
    void restore_autocommit(tocsin::source_location where);
    void run_and_clear_commit_hooks();
    /// run_before_commit() in manual transaction mode; when it throws, rolls back (and begins the
    /// next transaction) before rethrowing.
    void finish_before_commit(tocsin::source_location where);
    void reset_transaction_state() noexcept;
    void note_statement_error() noexcept;
    /// The backend's connection is lost or its transaction aborted (Backend::needs_attention):
    /// reconnects outside a transaction, throws inside one.
    void attend_to_backend(tocsin::source_location where);
    /// Runs a bound statement of execute(); a failure is noted (note_statement_error) and thrown.
    std::int64_t run_bound(Statement& statement, tocsin::source_location where);
    static void call_hook(CommitHook& hook, bool during_transaction);
    /// True on the thread that made this connection (its owner_).
    [[nodiscard]] bool on_owner_thread() const noexcept;

    std::string alias_;
    Settings settings_;
    std::uint64_t generation_ = 0;  // of the configuration settings_ came from
    const void* owner_;  // the making thread's token (a thread_local's address; no <thread> here)
    std::shared_ptr<Backend> backend_;

    bool autocommit_ = true;
    bool in_atomic_block_ = false;
    bool commit_on_exit_ = true;
    bool needs_rollback_ = false;
    bool closed_in_transaction_ = false;
    bool run_commit_hooks_on_autocommit_ = false;
    std::vector<SavepointEntry> savepoint_ids_;
    std::vector<const Atomic*> atomic_blocks_;
    std::vector<CommitHook> run_on_commit_;
    struct BeforeCommitHook {
        std::function<void()> fn;
        std::uint64_t seq = 0;  // registration number: a savepoint's own are those past its mark
    };
    std::vector<BeforeCommitHook> before_commit_;  // by seq
    // Run early (run_before_commit) inside a savepoint made after they were registered: what
    // they wrote goes if that savepoint rolls back, so they wait again then. Cleared at the end
    // of the transaction.
    std::vector<BeforeCommitHook> ran_before_commit_;
    std::uint64_t before_commit_seq_ = 0;  // the seq of the next before_commit()
};

/// Replaces the process-wide configuration: alias -> settings (Django's DATABASES), e.g.
/// `configure({{"default", {.name = "app.db"}}, {"other", {.name = "other.db"}}})`.
/// Throws ConfigurationError naming the engine when one is not registered. Thread-safe. A
/// thread's existing connection whose settings changed is reopened with the new ones at its
/// next connection() call (once no atomic block is open on it).
void configure(std::map<std::string, Settings> databases);
/// A copy of the current configuration.
[[nodiscard]] std::map<std::string, Settings> configuration();
/// The calling thread's connection for @p alias (made on first use, opened on first query).
/// Throws ConfigurationError naming @p alias when it is not configured.
[[nodiscard]] Database& connection(
    std::string_view alias = default_alias,
    tocsin::source_location where = tocsin::source_location::current());
/// Closes every connection of the calling thread (Django's connections.close_all()).
void close_all() noexcept;

}  // namespace tocsin::db
