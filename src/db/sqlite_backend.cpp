// tocsin::db::SqliteBackend: opening and configuring a SQLite connection.
#include "tocsin/db/sqlite_backend.hpp"

#include <atomic>
#include <mutex>

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <utility>

#include "sqlite_error.hpp"
#include "tocsin/db/error.hpp"
#include "tocsin/db/sqlite_statement.hpp"

namespace tocsin::db {
namespace {

std::string upper(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return out;
}

// The options SqliteBackend understands, validated and with defaults filled in.
struct SqliteOptions {
    std::string journal_mode = "WAL";
    std::string synchronous = "NORMAL";
    std::string foreign_keys = "ON";
    std::string transaction_mode = "IMMEDIATE";
    std::size_t statement_cache_size = 256;
    bool read_only = false;
};

std::string one_of(const std::string& key, std::string_view value,
                   std::initializer_list<std::string_view> allowed,
                   std::string_view what = "sqlite option ") {
    std::string v = upper(value);
    for (std::string_view a : allowed) {
        if (v == a)
            return v;
    }
    std::string list;
    for (std::string_view a : allowed)
        list += (list.empty() ? "" : ", ") + std::string(a);
    throw ConfigurationError(std::string(what) + key + "=\"" + std::string(value) +
                             "\" is not valid (expected one of: " + list + ")");
}

SqliteOptions read_options(const Settings& settings) {
    SqliteOptions o;
    for (const auto& [key, value] : settings.options) {
        if (key == "journal_mode") {
            o.journal_mode =
                one_of(key, value, {"WAL", "DELETE", "TRUNCATE", "PERSIST", "MEMORY", "OFF"});
        } else if (key == "synchronous") {
            o.synchronous = one_of(key, value, {"OFF", "NORMAL", "FULL", "EXTRA"});
        } else if (key == "foreign_keys") {
            o.foreign_keys = one_of(key, value, {"ON", "OFF"});
        } else if (key == "transaction_mode") {
            throw ConfigurationError(
                "sqlite option \"transaction_mode\" is a field of Settings: write "
                "{.transaction_mode = \"" +
                value + "\"} instead of an entry of Settings::options");
        } else if (key == "statement_cache_size") {
            std::size_t n = 0;
            const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            if (ec != std::errc() || end != value.data() + value.size()) {
                throw ConfigurationError("sqlite option statement_cache_size=\"" + value +
                                         "\" is not a non-negative integer");
            }
            o.statement_cache_size = n;
        } else if (key == "read_only") {
            o.read_only = one_of(key, value, {"TRUE", "FALSE"}) == "TRUE";
        } else {
            throw ConfigurationError(
                "unknown sqlite option \"" + key +
                "\" (known: journal_mode, synchronous, foreign_keys, statement_cache_size, "
                "read_only)");
        }
    }
    if (o.read_only)
        o.transaction_mode = "DEFERRED";  // BEGIN IMMEDIATE needs write access
    if (!settings.transaction_mode.empty()) {
        o.transaction_mode = one_of("transaction_mode", settings.transaction_mode,
                                    {"DEFERRED", "IMMEDIATE", "EXCLUSIVE"}, "Settings::");
    }
    return o;
}

// read_options, its errors located at the caller that opens the connection.
SqliteOptions parse_options(const Settings& settings, tocsin::source_location where) {
    try {
        return read_options(settings);
    } catch (const ConfigurationError& e) {
        throw ConfigurationError(e.message(), where);
    }
}

// Runs one statement to completion on the backend's handle (used while opening).
void exec(const SqliteBackend& backend, const char* sql, tocsin::source_location where) {
    sqlite3* db = backend.native_handle();
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
    if (rc != SQLITE_OK)
        sqlite_detail::throw_error(backend, rc, sql, where);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) {
        try {
            sqlite_detail::throw_error(backend, rc, sql, where);
        } catch (...) {
            sqlite3_finalize(stmt);
            throw;
        }
    }
    sqlite3_finalize(stmt);
}

}  // namespace

namespace {
std::atomic<bool> g_keep_memory_statistics{false};

/// Once per process, before SQLite's first use through tocsin: memory statistics off, unless
/// asked to keep them (sqlite3_config fails harmlessly once SQLite is initialised).
void configure_sqlite_once() noexcept {
    static std::once_flag once;
    std::call_once(once, [] {
        if (!g_keep_memory_statistics.load(std::memory_order_relaxed)) {
            (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
        }
    });
}
}  // namespace

void keep_sqlite_memory_statistics(bool keep) noexcept {
    g_keep_memory_statistics.store(keep, std::memory_order_relaxed);
}

SqliteBackend::SqliteBackend(const Settings& settings, tocsin::source_location where)
    : Backend(parse_options(settings, where).statement_cache_size), filename_(settings.name) {
    const SqliteOptions options = parse_options(settings, where);
    if (settings.name.empty()) {
        throw ConfigurationError(
            "sqlite database name is empty: set Settings::name to a file path or \":memory:\"",
            where);
    }
    configure_sqlite_once();
    int flags = SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    flags |=
        options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    const int rc = sqlite3_open_v2(filename_.c_str(), &db_, flags, nullptr);
    try {
        if (rc != SQLITE_OK) {
            std::string message = "cannot open sqlite database \"" + filename_ + "\": ";
            message += db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
            const std::string path = sqlite_detail::database_path(filename_);
            std::error_code ec;
            std::string problem;
            if (!path.empty() && !std::filesystem::exists(path, ec))
                problem = sqlite_detail::directory_problem(path);
            if (!problem.empty()) {
                // The OS's last word is often about another file (ENOENT for a journal that is
                // not there): say what is wrong instead.
                message += " (" + problem + ")";
            } else if (db_ != nullptr) {
                if (const int err = sqlite3_system_errno(db_); err != 0) {
                    message += " (";
                    message += std::strerror(err);
                    message += ')';
                }
            }
            throw OperationalError(std::move(message), std::string(), rc, where);
        }
        if (!options.read_only && sqlite3_db_readonly(db_, "main") == 1) {
            throw OperationalError("cannot open sqlite database \"" + filename_ +
                                       "\" for writing: the file is read-only to this process "
                                       "(set option read_only=true to open it read-only)",
                                   std::string(), SQLITE_READONLY, where);
        }
        configure_connection(settings, where);
        if (options.read_only)
            open_read_only_fallback(where);
        transaction_mode_ = options.transaction_mode;
        begin_sql_ = "BEGIN " + options.transaction_mode;
        if (!options.read_only) {
            const std::string journal = "PRAGMA journal_mode=" + options.journal_mode;
            exec(*this, journal.c_str(), where);
        }
        const std::string sync = "PRAGMA synchronous=" + options.synchronous;
        exec(*this, sync.c_str(), where);
        const std::string fk = "PRAGMA foreign_keys=" + options.foreign_keys;
        exec(*this, fk.c_str(), where);
    } catch (...) {
        sqlite3_close_v2(db_);
        db_ = nullptr;
        throw;
    }
}

void SqliteBackend::open_read_only_fallback(tocsin::source_location where) {
    // A WAL database is read through its -shm file, which SQLite creates next to the database
    // when it is not there: in a directory this process cannot write, reading fails. SQLite's
    // answer is to open the file as immutable (no -wal, no -shm, no locks), which is right when
    // no writer is at work: a writer keeps a -wal file next to the database.
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, "SELECT count(*) FROM sqlite_schema", -1, &stmt, nullptr);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(stmt);
        sqlite3_finalize(stmt);
    }
    if (rc == SQLITE_ROW || rc == SQLITE_DONE || rc == SQLITE_OK)
        return;
    if (rc != SQLITE_READONLY_DIRECTORY && (rc & 0xFF) != SQLITE_CANTOPEN &&
        rc != SQLITE_READONLY_CANTINIT)
        sqlite_detail::throw_error(*this, rc, "SELECT count(*) FROM sqlite_schema", where);
    const std::string path = sqlite_detail::database_path(filename_);
    std::error_code ec;
    const auto wal_size = std::filesystem::file_size(path + "-wal", ec);
    if (path.empty() || (!ec && wal_size > 0)) {
        // A writer is at work (or the last one left its log behind): reading the file alone
        // would miss its commits.
        sqlite_detail::throw_error(*this, rc, "SELECT count(*) FROM sqlite_schema", where);
    }
    std::string uri;
    if (filename_.starts_with("file:")) {
        uri = filename_ + (filename_.find('?') == std::string::npos ? "?" : "&") + "immutable=1";
    } else {
        uri = "file:";
        for (const char c : filename_) {
            if (c == '%' || c == '?' || c == '#') {
                static constexpr char hex[] = "0123456789ABCDEF";
                uri += '%';
                uri += hex[(static_cast<unsigned char>(c) >> 4) & 0xF];
                uri += hex[static_cast<unsigned char>(c) & 0xF];
            } else {
                uri += c;
            }
        }
        uri += "?immutable=1";
    }
    sqlite3_close_v2(db_);
    db_ = nullptr;
    rc = sqlite3_open_v2(
        uri.c_str(), &db_,
        SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_READONLY,
        nullptr);
    if (rc != SQLITE_OK) {
        throw OperationalError(
            "cannot open sqlite database \"" + filename_ + "\" read-only: " + sqlite3_errstr(rc),
            std::string(), rc, where);
    }
    sqlite3_extended_result_codes(db_, 1);
    const auto ms = timeout_.count();
    sqlite3_busy_timeout(db_, static_cast<int>(std::clamp<decltype(ms)>(ms, 0, INT_MAX)));
}

void SqliteBackend::configure_connection(const Settings& settings, tocsin::source_location) {
    sqlite3_extended_result_codes(db_, 1);
    timeout_ = settings.timeout;
    const auto ms = settings.timeout.count();
    sqlite3_busy_timeout(db_, static_cast<int>(std::clamp<decltype(ms)>(ms, 0, INT_MAX)));
    features_.supports_returning = sqlite3_libversion_number() >= 3035000;
    features_.supports_savepoints = true;
    features_.statement_error_aborts_transaction = false;
    features_.supports_transactional_ddl = true;
    features_.max_query_parameters =
        static_cast<std::size_t>(sqlite3_limit(db_, SQLITE_LIMIT_VARIABLE_NUMBER, -1));
    features_.prefers_last_insert_id = true;
    features_.like_ignores_case = true;
    features_.no_limit_value = "-1";
}

SqliteBackend::~SqliteBackend() {
    statement_cache().clear();  // finalise cached statements before the handle goes
    if (db_ != nullptr)
        sqlite3_close_v2(db_);
}

std::shared_ptr<Backend> SqliteBackend::create(const Settings& settings,
                                               tocsin::source_location where) {
    return std::make_shared<SqliteBackend>(settings, where);
}

std::string SqliteBackend::display_name() const {
    return "sqlite database \"" + filename_ + "\"";
}

std::string SqliteBackend::placeholder(std::size_t index) const {
    return "?" + std::to_string(index);
}

std::string SqliteBackend::column_type(LogicalType type) const {
    switch (type) {
        case LogicalType::integer:
        case LogicalType::boolean:
        case LogicalType::timestamp:
            return "INTEGER";
        case LogicalType::real:
            return "REAL";
        case LogicalType::text:
            return "TEXT";
        case LogicalType::blob:
            return "BLOB";
    }
    return "BLOB";
}

std::string SqliteBackend::auto_primary_key_type() const {
    return "INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT";
}

void SqliteBackend::set_statement_observer(std::function<void(const std::string&)> observer) {
    const bool on = static_cast<bool>(observer);
    Backend::set_statement_observer(std::move(observer));
    if (!on) {
        sqlite3_trace_v2(db_, 0, nullptr, nullptr);
        return;
    }
    const auto trace = [](unsigned type, void* context, void* statement, void* text) -> int {
        const auto* sql = static_cast<const char*>(text);
        if (type != SQLITE_TRACE_STMT || (sql != nullptr && sql[0] == '-' && sql[1] == '-')) {
            return 0;  // a statement of a trigger
        }
        std::string query;
        if (char* expanded = sqlite3_expanded_sql(static_cast<sqlite3_stmt*>(statement))) {
            query = expanded;
            sqlite3_free(expanded);
        } else if (sql != nullptr) {
            query = sql;
        }
        static_cast<const SqliteBackend*>(context)->observe(query);
        return 0;
    };
    sqlite3_trace_v2(db_, SQLITE_TRACE_STMT, trace, this);
}

std::string SqliteBackend::case_sensitive_match_sql(TextMatch match, std::string_view column,
                                                    std::string_view param) const {
    const std::string col(column);
    const std::string p(param);
    switch (match) {
        case TextMatch::contains:
            return "instr(" + col + ", " + p + ") > 0";
        case TextMatch::startswith:
            return "instr(" + col + ", " + p + ") = 1";
        case TextMatch::endswith:
            // substr(col, length(col) - length(text) + 1): a start before the text's first
            // character yields fewer characters than the text, never equal.
            return "substr(" + col + ", length(" + col + ") - length(" + p + ") + 1) = " + p;
    }
    return {};
}

std::string SqliteBackend::defer_constraint_checks_sql() const {
    return "PRAGMA defer_foreign_keys = ON";
}

std::vector<std::string> SqliteBackend::flush_sql(
    const std::vector<std::string>& tables,
    const std::vector<std::string>& reset_sequences_of) const {
    auto sql = Backend::flush_sql(tables, {});
    if (!reset_sequences_of.empty()) {
        // sqlite_sequence exists once a table with AUTOINCREMENT was created: every table named
        // here has one.
        std::string names;
        for (const auto& table : reset_sequences_of) {
            names += names.empty() ? "" : ", ";
            names += detail::sql_text_literal(table);
        }
        sql.push_back("DELETE FROM sqlite_sequence WHERE name IN (" + names + ")");
    }
    return sql;
}

std::int64_t SqliteBackend::last_insert_id() const {
    return sqlite3_last_insert_rowid(db_);
}

bool SqliteBackend::in_transaction() const noexcept {
    return db_ != nullptr && sqlite3_get_autocommit(db_) == 0;
}

std::unique_ptr<Statement> SqliteBackend::do_prepare(std::string_view sql, bool persistent,
                                                     tocsin::source_location where) {
    return std::make_unique<SqliteStatement>(*this, sql, persistent, where);
}

void SqliteBackend::do_execute_script(std::string_view sql, tocsin::source_location where) {
    const char* tail = sql.data();
    const char* const end = sql.data() + sql.size();
    while (tail < end) {
        sqlite3_stmt* stmt = nullptr;
        const char* next = nullptr;
        int rc = sqlite3_prepare_v2(db_, tail, static_cast<int>(end - tail), &stmt, &next);
        if (rc != SQLITE_OK) {
            sqlite_detail::throw_error(*this, rc, std::string_view(tail, end - tail), where);
        }
        if (stmt == nullptr) {  // only whitespace or comments left
            tail = next;
            continue;
        }
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        }
        if (rc != SQLITE_DONE) {
            try {
                sqlite_detail::throw_error(*this, rc, std::string_view(tail, next - tail), where);
            } catch (...) {
                sqlite3_finalize(stmt);
                throw;
            }
        }
        sqlite3_finalize(stmt);
        tail = next;
    }
}

}  // namespace tocsin::db
