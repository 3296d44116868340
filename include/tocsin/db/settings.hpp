/// @file settings.hpp
/// @brief Settings: how to reach one database (Django's DATABASES entry).
#pragma once

#include <chrono>
#include <map>
#include <string>

namespace tocsin::db {

/// How to open one database, as in one entry of Django's DATABASES. An aggregate meant for
/// designated initializers: `{.engine = "sqlite", .name = "app.db"}`.
///
/// SQLite (engine "sqlite") reads `name` (a file path, ":memory:" or a "file:" URI),
/// `timeout` (how long a writer waits for a lock, SQLite's busy timeout), `transaction_mode`
/// (how BEGIN locks: IMMEDIATE unless set), and these options:
///
/// | option               | default    | values                                        |
/// |----------------------|------------|-----------------------------------------------|
/// | journal_mode         | WAL        | WAL, DELETE, TRUNCATE, PERSIST, MEMORY, OFF    |
/// | synchronous          | NORMAL     | OFF, NORMAL, FULL, EXTRA                       |
/// | foreign_keys         | ON         | ON, OFF                                        |
/// | statement_cache_size | 256        | idle prepared statements kept per connection   |
/// | read_only            | false      | true: open read-only instead of failing        |
///
/// An unknown option, or a value not in the list, is a ConfigurationError naming it (as is a
/// transaction_mode other than DEFERRED, IMMEDIATE or EXCLUSIVE).
/// user, password, host and port are for server databases (PostgreSQL) and ignored by SQLite.
struct Settings {
    std::string engine = "sqlite";            ///< which backend: "sqlite" (built in)
    std::string name{};                       ///< file path or database name
    std::string user{};                       ///< server databases only
    std::string password{};                   ///< server databases only
    std::string host{};                       ///< server databases only
    int port = 0;                             ///< server databases only; 0 = default
    std::chrono::milliseconds timeout{5000};  ///< lock wait (SQLite busy timeout)
    /// How the BEGIN of an outermost atomic block (or of a manual transaction) locks the
    /// database (Django 5.1's OPTIONS "transaction_mode"; savepoints are unaffected). Other
    /// engines ignore it. SQLite: "DEFERRED" (lock at the first
    /// read, then at the first write: a block that reads before it writes fails at once with
    /// "database is locked" when another connection writes meanwhile, as SQLite cannot wait to
    /// upgrade a read lock), "IMMEDIATE" (take the write lock at BEGIN, waiting up to `timeout`
    /// for it: blocks that write run one at a time, readers are not blocked in WAL mode) or
    /// "EXCLUSIVE"; any case. Empty: the engine's default, IMMEDIATE for SQLite (DEFERRED for a
    /// read_only connection, which cannot take the write lock).
    std::string transaction_mode{};
    std::map<std::string, std::string> options{};  ///< backend-specific options (see above)

    friend bool operator==(const Settings&, const Settings&) = default;
};

}  // namespace tocsin::db
