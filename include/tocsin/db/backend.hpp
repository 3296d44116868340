// Backend: the interface every database engine implements (SQLite now, PostgreSQL next),
// and the registry of engines by name.
//
// The layers above talk to a database only through this interface, so a new engine changes
// nothing above it. What differs between engines is asked of the backend, never assumed:
// - placeholders: placeholder(i) renders parameter i ("?1" for SQLite, "$1" for PostgreSQL);
//   both number their parameters, so one parameter may be used twice;
// - identifiers: quote_name() ("user" needs quoting everywhere);
// - column types: column_type(LogicalType) and auto_primary_key_type();
// - what it can do: features() (RETURNING, savepoints, whether an error aborts the transaction);
// - transaction control: begin_sql(), commit_sql(), savepoint_sql(name), ...;
// - errors: every failure is thrown as the tocsin::db::Error subclass that classifies it, with
//   IntegrityError::kind() telling unique, not-null, foreign-key and check violations apart;
// - the id of an inserted row: `INSERT ... RETURNING "id"` when features().supports_returning
//   (both SQLite >= 3.35 and PostgreSQL), last_insert_id() otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <tocsin/source_location.hpp>
#include <vector>

#include "tocsin/db/settings.hpp"
#include "tocsin/db/statement.hpp"
#include "tocsin/db/statement_cache.hpp"
#include "tocsin/db/value.hpp"

namespace tocsin::db {

/// What a backend can do; the layers above choose their SQL from it.
struct Features {
    /// INSERT/UPDATE/DELETE ... RETURNING works (the way to get an inserted row's id).
    bool supports_returning = false;
    /// SAVEPOINT / RELEASE / ROLLBACK TO work (nested atomic blocks need them).
    bool supports_savepoints = true;
    /// After a failed statement in a transaction, only ROLLBACK (TO SAVEPOINT) works
    /// (PostgreSQL). SQLite undoes just the failed statement and carries on.
    bool statement_error_aborts_transaction = false;
    /// CREATE/DROP TABLE take part in transactions.
    bool supports_transactional_ddl = true;
    /// The most parameters one statement may have.
    std::size_t max_query_parameters = 999;
    /// What LIMIT takes to mean "no limit" when an OFFSET needs one before it (Django's
    /// ops.no_limit_value(): "-1" for SQLite, whose OFFSET is part of LIMIT); empty when OFFSET
    /// stands alone (PostgreSQL).
    std::string_view no_limit_value{};
    /// last_insert_id() is cheaper than `RETURNING "id"` for reading an inserted row's id
    /// (SQLite: a field of the connection, while RETURNING fills an ephemeral table).
    /// PostgreSQL has no last_insert_id(): false.
    bool prefers_last_insert_id = false;
    /// `LIKE` ignores the case of ASCII letters by itself (SQLite), so the case-insensitive
    /// lookups need no UPPER() and the case-sensitive ones cannot use LIKE (see
    /// Backend::case_sensitive_match_sql).
    bool like_ignores_case = false;
    /// SELECT ... FOR UPDATE locks the rows read until the transaction ends (Django's
    /// has_select_for_update). False for SQLite, which locks the whole database on write: the
    /// model layer then accepts select_for_update() and adds nothing, as Django does.
    bool has_select_for_update = false;
    /// FOR UPDATE ... NOWAIT: fail at once when a row is locked (has_select_for_update_nowait).
    bool has_select_for_update_nowait = false;
    /// FOR UPDATE ... SKIP LOCKED: leave locked rows out (has_select_for_update_skip_locked).
    bool has_select_for_update_skip_locked = false;
    /// FOR UPDATE OF <table>: lock the rows of the tables named only (has_select_for_update_of).
    bool has_select_for_update_of = false;
    /// FOR NO KEY UPDATE: a weaker lock that lets other transactions insert rows referencing the
    /// locked ones (Django's has_select_for_no_key_update).
    bool has_select_for_no_key_update = false;
};

/// Which part of a text a case-sensitive text lookup matches (Django's contains, startswith,
/// endswith).
enum class TextMatch { contains, startswith, endswith };

/// One open connection to a database, plus that engine's SQL dialect. A backend is used by one
/// thread at a time (tocsin::db::connection() gives each thread its own). Backends are held by
/// std::shared_ptr (made by open_backend()) so that statement leases can keep them alive.
class Backend : public std::enable_shared_from_this<Backend> {
  public:
    virtual ~Backend() = default;
    Backend(const Backend&) = delete;
    Backend& operator=(const Backend&) = delete;

    // ------------------------------------------------------------ identity

    /// The engine: "sqlite", "postgresql".
    [[nodiscard]] virtual std::string_view vendor() const noexcept = 0;
    /// Names the database for messages, e.g. `sqlite database "/srv/app.db"`.
    [[nodiscard]] virtual std::string display_name() const = 0;
    /// What this backend supports.
    [[nodiscard]] virtual const Features& features() const noexcept = 0;

    // ------------------------------------------------------------ SQL dialect

    /// Parameter @p index (1-based) as written in SQL: "?1" (SQLite), "$1" (PostgreSQL).
    [[nodiscard]] virtual std::string placeholder(std::size_t index) const = 0;
    /// @p identifier quoted for use as a table or column name: `"na""me"` by default (standard
    /// SQL, SQLite and PostgreSQL).
    [[nodiscard]] virtual std::string quote_name(std::string_view identifier) const;
    /// The column type to create for @p type, e.g. "INTEGER", "TEXT", "BYTEA".
    [[nodiscard]] virtual std::string column_type(LogicalType type) const = 0;
    /// The type and constraints of an auto-incrementing integer primary key column, to follow
    /// its quoted name in CREATE TABLE, e.g. "INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT".
    [[nodiscard]] virtual std::string auto_primary_key_type() const = 0;

    /// SQL that starts a transaction ("BEGIN").
    [[nodiscard]] virtual std::string begin_sql() const { return "BEGIN"; }
    /// SQL that commits it ("COMMIT").
    [[nodiscard]] virtual std::string commit_sql() const { return "COMMIT"; }
    /// SQL that rolls it back ("ROLLBACK").
    [[nodiscard]] virtual std::string rollback_sql() const { return "ROLLBACK"; }
    /// SQL that creates savepoint @p name (`SAVEPOINT "name"`).
    [[nodiscard]] virtual std::string savepoint_sql(std::string_view name) const;
    /// SQL that releases (keeps the work of) savepoint @p name.
    [[nodiscard]] virtual std::string release_savepoint_sql(std::string_view name) const;
    /// SQL that undoes the work since savepoint @p name (the savepoint stays).
    [[nodiscard]] virtual std::string rollback_to_savepoint_sql(std::string_view name) const;
    /// SQL that, run inside a transaction, makes foreign-key checks wait for its COMMIT (what
    /// loading fixtures with forward references needs): `PRAGMA defer_foreign_keys = ON`
    /// (SQLite, every foreign key), `SET CONSTRAINTS ALL DEFERRED` (PostgreSQL, the constraints
    /// declared DEFERRABLE). Empty when the backend cannot defer them.
    [[nodiscard]] virtual std::string defer_constraint_checks_sql() const { return {}; }
    /// SQL that moves the id generator of @p table's auto-incrementing column @p column past the
    /// largest id in the table, after rows were inserted with explicit ids (Django's
    /// sequence_reset_sql); empty when the backend needs none (SQLite's AUTOINCREMENT follows
    /// explicit ids by itself).
    [[nodiscard]] virtual std::string sequence_reset_sql(std::string_view table,
                                                         std::string_view column) const {
        (void)table;
        (void)column;
        return {};
    }
    /// The statements that remove every row of @p tables (names as declared, quoted here) and
    /// start the id sequences of @p reset_sequences_of (some of those tables, each with an
    /// auto-incrementing id) again, so that their next row gets id 1 (Django's
    /// DatabaseOperations.sql_flush). By default one `DELETE FROM` per table and nothing for the
    /// sequences. The caller runs them in one transaction with foreign-key checks deferred.
    [[nodiscard]] virtual std::vector<std::string> flush_sql(
        const std::vector<std::string>& tables,
        const std::vector<std::string>& reset_sequences_of) const;

    /// SQL true when @p column's text, compared case-sensitively, contains / starts with /
    /// ends with the text bound to the placeholder @p param (unescaped). Empty (the default):
    /// the caller writes `LIKE` with the text escaped, case-sensitive in standard SQL. SQLite,
    /// whose LIKE ignores case, compares with instr() and substr().
    [[nodiscard]] virtual std::string case_sensitive_match_sql(TextMatch match,
                                                               std::string_view column,
                                                               std::string_view param) const {
        (void)match;
        (void)column;
        (void)param;
        return {};
    }
    /// The locking clause that ends a SELECT (Django's for_update_sql()): "FOR UPDATE", with
    /// " OF " and @p of (already quoted, comma-separated) when not empty, " NOWAIT" or
    /// " SKIP LOCKED", and "FOR NO KEY UPDATE" when @p no_key. Empty when the backend cannot
    /// lock rows (features().has_select_for_update false).
    [[nodiscard]] virtual std::string for_update_sql(bool nowait, bool skip_locked,
                                                     std::string_view of, bool no_key) const;

    /// @p column (quoted SQL) read as text for a text lookup (Django's lookup_cast):
    /// `CAST(column AS TEXT)`, so that a lookup such as contains also works on a number column.
    /// SQLite, whose text functions take any value, returns the column as it is.
    [[nodiscard]] virtual std::string lookup_cast_text(std::string_view column) const {
        return "CAST(" + std::string(column) + " AS TEXT)";
    }

    // ------------------------------------------------------------ execution

    /// Prepares @p sql (one statement) without caching it. The statement must not outlive this
    /// backend. Bad SQL throws ProgrammingError naming the SQL.
    [[nodiscard]] std::unique_ptr<Statement> prepare(
        std::string_view sql, tocsin::source_location where = tocsin::source_location::current()) {
        return do_prepare(sql, /*persistent=*/false, where);
    }
    /// Lends the cached statement for @p sql, preparing it on first use (see StatementCache).
    [[nodiscard]] CachedStatement cached(
        std::string_view sql, tocsin::source_location where = tocsin::source_location::current());
    /// Like cached(), but the lease does not keep this backend alive (no reference count
    /// touched): for a lease given back before anything can drop the backend, such as a
    /// statement bound, run and returned within one function.
    [[nodiscard]] CachedStatement cached_scoped(
        std::string_view sql, tocsin::source_location where = tocsin::source_location::current());
    /// The statement this connection holds under @p key (StatementCache::new_held_key()),
    /// prepared from the SQL @p make_sql() returns on first use (see StatementCache::hold()).
    template <class MakeSql>
    [[nodiscard]] Statement& held(std::size_t key, MakeSql&& make_sql,
                                  tocsin::source_location where) {
        if (Statement* statement = cache_.held(key)) [[likely]]
            return *statement;
        const std::string sql = std::forward<MakeSql>(make_sql)();
        return cache_.hold(key, do_prepare(sql, /*persistent=*/true, where));
    }
    /// Runs @p sql, which may hold several statements separated by ';' and no parameters
    /// (schema scripts). Stops at the first error and throws it.
    void execute_script(std::string_view sql,
                        tocsin::source_location where = tocsin::source_location::current()) {
        do_execute_script(sql, where);
    }
    /// The rowid / id of the last row inserted on this connection. Backends without it throw
    /// NotSupportedError: use RETURNING (features().supports_returning) instead.
    [[nodiscard]] virtual std::int64_t last_insert_id() const = 0;
    /// Whether the connection has a transaction open (the database's own view).
    [[nodiscard]] virtual bool in_transaction() const noexcept = 0;
    /// Checks, without waiting, whether the server is still there (Django's is_usable() for
    /// CONN_HEALTH_CHECKS): false, with connection_lost() set, when it has closed the
    /// connection. Database asks before each outermost transaction begins, so that the first
    /// transaction after a server restart runs on a new connection instead of failing. True by
    /// default (SQLite has no server).
    [[nodiscard]] virtual bool check_usable() noexcept { return !connection_lost_; }

    /// This connection's prepared-statement cache.
    [[nodiscard]] StatementCache& statement_cache() noexcept { return cache_; }

    /// Whether the connection to the server was found broken (server restarted, connection
    /// terminated): no statement can run on it any more. Database then opens a new connection
    /// at the next use outside a transaction, and refuses the rest of a transaction that was
    /// open (never a silent retry). Always false for SQLite.
    [[nodiscard]] bool connection_lost() const noexcept { return connection_lost_; }
    /// Whether the open transaction is aborted by a failed statement, so that only a rollback
    /// (to a savepoint) works until it ends (features().statement_error_aborts_transaction).
    [[nodiscard]] bool transaction_aborted() const noexcept { return transaction_aborted_; }
    /// connection_lost() || transaction_aborted(): one test on Database's fast path.
    [[nodiscard]] bool needs_attention() const noexcept {
        return connection_lost_ || transaction_aborted_;
    }

    /// Calls @p observer with the SQL of every statement this connection runs from now on, its
    /// parameters written in as literals (Django's `connection.queries`; what
    /// tocsin::testing::CaptureQueries counts): those of triggers excepted, BEGIN, SAVEPOINT
    /// and COMMIT included. An empty function stops it. One observer per connection.
    virtual void set_statement_observer(std::function<void(const std::string&)> observer) {
        observer_ = std::move(observer);
    }
    /// Whether an observer is set.
    [[nodiscard]] bool observed() const noexcept { return static_cast<bool>(observer_); }

  protected:
    /// For backends: passes one statement's SQL to the observer (see set_statement_observer).
    void observe(const std::string& sql) const {
        if (observer_) {
            observer_(sql);
        }
    }
    /// For backends: records that the connection is broken (see connection_lost()).
    void set_connection_lost(bool lost) noexcept { connection_lost_ = lost; }
    /// For backends: records whether the transaction is aborted (see transaction_aborted()).
    void set_transaction_aborted(bool aborted) noexcept { transaction_aborted_ = aborted; }

    /// @p statement_cache_capacity: idle statements kept (see StatementCache).
    explicit Backend(std::size_t statement_cache_capacity) : cache_(statement_cache_capacity) {}

    /// Prepares one statement; @p persistent hints that it will be reused many times (cached).
    virtual std::unique_ptr<Statement> do_prepare(std::string_view sql, bool persistent,
                                                  tocsin::source_location where) = 0;
    virtual void do_execute_script(std::string_view sql, tocsin::source_location where) = 0;

  private:
    StatementCache cache_;
    std::function<void(const std::string&)> observer_;
    bool connection_lost_ = false;
    bool transaction_aborted_ = false;
};

/// Makes a backend for an engine from its settings (opening the connection); errors carry the
/// given caller location.
using BackendFactory =
    std::function<std::shared_ptr<Backend>(const Settings&, tocsin::source_location)>;

/// Registers (or replaces) the factory for @p engine, so that Settings{.engine = engine} can be
/// configured. "sqlite" and, when tocsin is built with libpq, "postgresql" are built in.
/// Thread-safe.
void register_backend(std::string engine, BackendFactory factory);
/// Whether @p engine has a registered factory.
[[nodiscard]] bool has_backend(std::string_view engine);
/// Opens a connection with the factory registered for settings.engine. Throws
/// ConfigurationError naming the engine when none is registered, and whatever the factory throws
/// (OperationalError naming the file when it cannot be opened).
[[nodiscard]] std::shared_ptr<Backend> open_backend(
    const Settings& settings, tocsin::source_location where = tocsin::source_location::current());

}  // namespace tocsin::db
