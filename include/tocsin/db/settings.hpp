// Settings: how to reach one database (Django's DATABASES entry).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

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
///
/// PostgreSQL (engine "postgresql") reads name (the database), user, password, host (a name,
/// an address, or a directory holding the server's Unix socket; empty: libpq's default) and
/// port (0: libpq's default, 5432). Its options are libpq's own connection keywords, passed
/// through (sslmode, connect_timeout, application_name, options, target_session_attrs, ...:
/// whatever PQconndefaults() lists), plus tocsin's statement_cache_size (default 256). An
/// unknown keyword is a ConfigurationError naming it. `timeout` is not used (set a lock wait
/// with options {"options", "-c lock_timeout=5000"}).
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

/// Settings from a database URL, the DATABASE_URL convention of dj-database-url:
/// - `postgresql://user:password@host:port/name?sslmode=require&application_name=app` (also
///   `postgres://`): every part optional; user, password, host and name percent-decoded; a host
///   that starts with '/' once decoded (`%2Fvar%2Frun%2Fpostgresql`) is a Unix-socket
///   directory; `[::1]` is an IPv6 address; query parameters host, port, user, password and
///   dbname set those fields, the others become options (libpq keywords);
/// - `sqlite:///relative/path.db`, `sqlite:////absolute/path.db`, `sqlite://:memory:` and
///   `sqlite://` (in memory); query parameters become options.
/// A malformed URL is a ConfigurationError naming the part that is wrong (scheme, port,
/// percent-escape, query parameter); its message never contains the password.
[[nodiscard]] Settings parse_database_url(std::string_view url);

/// parse_database_url() of environment variable @p variable (default DATABASE_URL), or nullopt
/// when it is unset or empty.
[[nodiscard]] std::optional<Settings> settings_from_environment(
    const char* variable = "DATABASE_URL");

}  // namespace tocsin::db
