// Classification of SQLite errors into tocsin::db exceptions.
#include "sqlite_error.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "tocsin/db/error.hpp"
#include "tocsin/db/sqlite_backend.hpp"

namespace tocsin::db::sqlite_detail {
namespace {

IntegrityError::Kind kind_of(int rc) {
    switch (rc) {
        case SQLITE_CONSTRAINT_UNIQUE:
        case SQLITE_CONSTRAINT_PRIMARYKEY:
        case SQLITE_CONSTRAINT_ROWID:
            return IntegrityError::Kind::unique;
        case SQLITE_CONSTRAINT_NOTNULL:
            return IntegrityError::Kind::not_null;
        case SQLITE_CONSTRAINT_FOREIGNKEY:
            return IntegrityError::Kind::foreign_key;
        case SQLITE_CONSTRAINT_CHECK:
            return IntegrityError::Kind::check;
        default:
            return IntegrityError::Kind::other;
    }
}

// "UNIQUE constraint failed: user.email, user.name" -> table "user", columns {email, name};
// "UNIQUE constraint failed: index 'ix'" -> constraint "ix";
// "CHECK constraint failed: positive" -> constraint "positive".
IntegrityError::Details parse_constraint(int rc, const std::string& message) {
    IntegrityError::Details details;
    details.kind = kind_of(rc);
    static constexpr std::string_view marker = "constraint failed: ";
    const auto at = message.find(marker);
    if (at == std::string::npos)
        return details;
    std::string_view rest = std::string_view(message).substr(at + marker.size());
    if (details.kind == IntegrityError::Kind::check) {
        details.constraint = std::string(rest);
        return details;
    }
    if (rest.starts_with("index '") && rest.ends_with("'")) {
        details.constraint = std::string(rest.substr(7, rest.size() - 8));
        return details;
    }
    while (!rest.empty()) {
        const auto comma = rest.find(", ");
        const std::string_view item = rest.substr(0, comma);
        const auto dot = item.find('.');
        if (dot != std::string_view::npos) {
            if (details.table.empty())
                details.table = std::string(item.substr(0, dot));
            details.columns.emplace_back(item.substr(dot + 1));
        } else {
            details.columns.emplace_back(item);
        }
        if (comma == std::string_view::npos)
            break;
        rest.remove_prefix(comma + 2);
    }
    return details;
}

// What to change after "database is locked" on @p backend's connection.
std::string busy_advice(const SqliteBackend& backend, int rc) {
    sqlite3* db = backend.native_handle();
    const bool in_transaction = db != nullptr && sqlite3_get_autocommit(db) == 0;
    if (rc == SQLITE_BUSY_SNAPSHOT ||
        (in_transaction && backend.transaction_mode() == "DEFERRED")) {
        return "this transaction began DEFERRED and read before it wrote: SQLite cannot make it "
               "wait for the write lock another connection took meanwhile, so it failed without "
               "waiting for the busy timeout. Set Settings::transaction_mode to \"IMMEDIATE\" "
               "(the default), which takes the write lock at BEGIN, waiting for it";
    }
    return "another connection held the lock for longer than the busy timeout (" +
           std::to_string(backend.busy_timeout().count()) +
           " ms). Raise Settings::timeout, make the transactions that write shorter (no slow "
           "work between BEGIN and COMMIT), or check Settings::transaction_mode (IMMEDIATE, the "
           "default, waits for the write lock at BEGIN; DEFERRED fails at once when a "
           "transaction that has read tries to write)";
}

[[noreturn]] void raise(sqlite3* db, int rc, std::string_view sql, std::string_view filename,
                        tocsin::source_location where, const SqliteBackend& backend) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    std::string text(sql);
    switch (rc & 0xFF) {
        case SQLITE_CONSTRAINT: {
            auto details = parse_constraint(rc, message);
            throw IntegrityError(std::move(message), std::move(details), std::move(text), rc,
                                 where);
        }
        case SQLITE_ERROR:
        case SQLITE_RANGE:
        case SQLITE_MISUSE:
        case SQLITE_AUTH:
            throw ProgrammingError(std::move(message), std::move(text), rc, where);
        case SQLITE_TOOBIG:
        case SQLITE_MISMATCH:
            throw DataError(std::move(message), std::move(text), rc, where);
        default:
            break;
    }
    std::string directory;
    if (rc == SQLITE_READONLY_DIRECTORY || (rc & 0xFF) == SQLITE_CANTOPEN)
        directory = directory_problem(database_path(filename));
    if (!directory.empty()) {
        // What the OS said last is often about another file (ENOENT for a journal not there):
        // say what is wrong instead.
        message += " (" + directory + ")";
    } else if (db != nullptr && ((rc & 0xFF) == SQLITE_CANTOPEN || (rc & 0xFF) == SQLITE_IOERR)) {
        if (const int err = sqlite3_system_errno(db); err != 0) {
            message += " (";
            message += std::strerror(err);
            message += ')';
        }
    }
    message += " (sqlite database \"";
    message += filename;
    message += "\")";
    if ((rc & 0xFF) == SQLITE_BUSY) {
        message += ": ";
        message += busy_advice(backend, rc);
    }
    throw OperationalError(std::move(message), std::move(text), rc, where);
}

}  // namespace

std::string database_path(std::string_view name) {
    if (name.empty() || name == ":memory:")
        return {};
    if (!name.starts_with("file:"))
        return std::string(name);
    std::string_view rest = name.substr(5);
    const auto query = rest.find_first_of("?#");
    const std::string_view options =
        query == std::string_view::npos ? std::string_view() : rest.substr(query);
    if (options.find("mode=memory") != std::string_view::npos)
        return {};
    rest = rest.substr(0, query);
    if (rest.starts_with("//")) {  // file://host/path: the path starts at the next '/'
        rest.remove_prefix(2);
        const auto slash = rest.find('/');
        rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    }
    std::string path;
    for (std::size_t i = 0; i < rest.size(); ++i) {
        if (rest[i] == '%' && i + 2 < rest.size()) {
            const std::string hex(rest.substr(i + 1, 2));
            char* end = nullptr;
            const long c = std::strtol(hex.c_str(), &end, 16);
            if (end == hex.c_str() + 2) {
                path += static_cast<char>(c);
                i += 2;
                continue;
            }
        }
        path += rest[i];
    }
    return path;
}

std::string directory_problem(const std::string& path) {
    if (path.empty())
        return {};
    namespace fs = std::filesystem;
    fs::path directory = fs::path(path).parent_path();
    if (directory.empty())
        directory = ".";
    std::error_code ec;
    const auto status = fs::status(directory, ec);
    if (status.type() == fs::file_type::not_found)
        return "directory \"" + directory.string() + "\" does not exist";
    if (ec)
        return "cannot reach directory \"" + directory.string() + "\" (" + ec.message() + ")";
    if (status.type() != fs::file_type::directory)
        return "\"" + directory.string() + "\" is not a directory";
    if (::access(directory.c_str(), W_OK | X_OK) != 0) {
        const int err = errno;
        return std::string(err == EACCES || err == EPERM || err == EROFS ? "permission denied"
                                                                         : std::strerror(err)) +
               ": this process cannot create files in directory \"" + directory.string() +
               "\", where SQLite keeps the database's -wal and -shm (or -journal) files";
    }
    return {};
}

void throw_error(const SqliteBackend& backend, int rc, std::string_view sql,
                 tocsin::source_location where) {
    raise(backend.native_handle(), rc, sql, backend.filename(), where, backend);
}

}  // namespace tocsin::db::sqlite_detail
