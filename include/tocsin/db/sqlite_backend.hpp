// SqliteBackend: the Backend on the SQLite C library.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <tocsin/source_location.hpp>

#include "tocsin/db/backend.hpp"
#include "tocsin/db/settings.hpp"

struct sqlite3;

namespace tocsin::db {

/// SQLite's process-wide memory statistics (sqlite3_memory_used(), sqlite3_status64(), the soft
/// heap limit) take a global mutex on every allocation SQLite makes. tocsin turns them off
/// (SQLITE_CONFIG_MEMSTATUS) just before it opens its first SQLite connection, if SQLite has not
/// been initialised by then: about 12 % off every write. Call this with true before that first
/// connection to keep them; a program that initialises SQLite itself first keeps them too.
/// Like sqlite3_config(), the first opening must not race another thread's own SQLite calls.
void keep_sqlite_memory_statistics(bool keep = true) noexcept;

/// One SQLite connection. Opening it:
/// - opens (creating if needed) settings.name: a path, ":memory:" (private to this connection)
///   or a "file:" URI; a file that cannot be opened, or that the OS lets us read but not write,
///   is an OperationalError naming the file (unless option read_only=true); a file that is not
///   there is reported with what is wrong with its directory (missing, not writable);
/// - with option read_only=true, reads a WAL database even in a directory this process cannot
///   write (where SQLite cannot create the -shm file it reads through): when no -wal file is
///   there (no writer at work), the file is opened as immutable (SQLite's `immutable=1`: no
///   locks, and changes made by others while it is open are not seen); when a -wal file is
///   there, that is an OperationalError naming the directory;
/// - sets `PRAGMA journal_mode=WAL` (readers never block the writer), `synchronous=NORMAL`
///   (in WAL mode: durable at checkpoints, never corrupt; the last commits may be lost on power
///   failure, not on a crash of the program), `foreign_keys=ON`, and the busy timeout from
///   settings.timeout (a writer waits that long for the lock before "database is locked");
///   each can be changed through settings.options (see Settings);
/// - begins transactions with `BEGIN IMMEDIATE` (settings.transaction_mode): a transaction
///   takes the write lock when it begins, waiting up to the timeout for it, so that one which
///   reads before it writes never fails at once on the upgrade.
///
/// Errors are classified from SQLite's extended result codes: SQLITE_CONSTRAINT_* ->
/// IntegrityError (kind, table and columns parsed from "UNIQUE constraint failed: t.c"),
/// SQLITE_ERROR/RANGE/MISUSE -> ProgrammingError, SQLITE_TOOBIG/MISMATCH -> DataError, the
/// rest (BUSY, LOCKED, READONLY, CANTOPEN, IOERR, FULL, ...) -> OperationalError naming the file.
///
/// The connection is opened in SQLite's multi-thread mode: use it from one thread at a time.
class SqliteBackend final : public Backend {
  public:
    /// Opens the database described by @p settings (engine must be "sqlite").
    explicit SqliteBackend(const Settings& settings,
                           tocsin::source_location where = tocsin::source_location::current());
    /// Finalises every cached statement and closes the connection.
    ~SqliteBackend() override;

    /// The factory registered for engine "sqlite".
    [[nodiscard]] static std::shared_ptr<Backend> create(const Settings& settings,
                                                         tocsin::source_location where);

    /// The sqlite3 handle, for what the wrapper lacks (user functions, backups, hooks).
    [[nodiscard]] sqlite3* native_handle() const noexcept { return db_; }
    /// The name the database was opened with (settings.name).
    [[nodiscard]] const std::string& filename() const noexcept { return filename_; }
    /// How BEGIN locks: "DEFERRED", "IMMEDIATE" or "EXCLUSIVE" (settings.transaction_mode).
    [[nodiscard]] const std::string& transaction_mode() const noexcept { return transaction_mode_; }
    /// How long a statement waits for a lock (settings.timeout).
    [[nodiscard]] std::chrono::milliseconds busy_timeout() const noexcept { return timeout_; }

    [[nodiscard]] std::string_view vendor() const noexcept override { return "sqlite"; }
    [[nodiscard]] std::string display_name() const override;
    [[nodiscard]] const Features& features() const noexcept override { return features_; }
    [[nodiscard]] std::string placeholder(std::size_t index) const override;
    [[nodiscard]] std::string column_type(LogicalType type) const override;
    [[nodiscard]] std::string auto_primary_key_type() const override;
    [[nodiscard]] std::string begin_sql() const override { return begin_sql_; }
    /// `PRAGMA defer_foreign_keys = ON`: every foreign key is checked at COMMIT.
    [[nodiscard]] std::string defer_constraint_checks_sql() const override;
    /// `DELETE FROM` each table, then `DELETE FROM sqlite_sequence WHERE name IN (…)` for the
    /// sequences to restart (the AUTOINCREMENT counters).
    [[nodiscard]] std::vector<std::string> flush_sql(
        const std::vector<std::string>& tables,
        const std::vector<std::string>& reset_sequences_of) const override;
    /// Traces statements with sqlite3_trace_v2 (their SQL expanded with the values bound).
    void set_statement_observer(std::function<void(const std::string&)> observer) override;
    /// The column as it is: SQLite's LIKE, instr() and substr() take any value.
    [[nodiscard]] std::string lookup_cast_text(std::string_view column) const override {
        return std::string(column);
    }
    /// instr() for contains and startswith, substr() for endswith (SQLite's LIKE ignores case).
    [[nodiscard]] std::string case_sensitive_match_sql(TextMatch match, std::string_view column,
                                                       std::string_view param) const override;
    [[nodiscard]] std::int64_t last_insert_id() const override;
    [[nodiscard]] bool in_transaction() const noexcept override;

  protected:
    std::unique_ptr<Statement> do_prepare(std::string_view sql, bool persistent,
                                          tocsin::source_location where) override;
    void do_execute_script(std::string_view sql, tocsin::source_location where) override;

  private:
    void configure_connection(const Settings& settings, tocsin::source_location where);
    /// With read_only: reopens the file as immutable when its directory keeps SQLite from
    /// reading it as a WAL database (see the class comment).
    void open_read_only_fallback(tocsin::source_location where);

    sqlite3* db_ = nullptr;
    std::string filename_;
    std::string begin_sql_ = "BEGIN";
    std::string transaction_mode_ = "DEFERRED";
    std::chrono::milliseconds timeout_{0};
    Features features_;
};

}  // namespace tocsin::db
