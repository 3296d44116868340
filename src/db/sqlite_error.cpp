// Classification of SQLite errors into tocsin::db exceptions.
#include "sqlite_error.hpp"

#include <sqlite3.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "tocsin/db/error.hpp"

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

}  // namespace

void throw_error(sqlite3* db, int rc, std::string_view sql, std::string_view filename,
                 tocsin::source_location where) {
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
    if (db != nullptr && ((rc & 0xFF) == SQLITE_CANTOPEN || (rc & 0xFF) == SQLITE_IOERR)) {
        if (const int err = sqlite3_system_errno(db); err != 0) {
            message += " (";
            message += std::strerror(err);
            message += ')';
        }
    }
    message += " (sqlite database \"";
    message += filename;
    message += "\")";
    throw OperationalError(std::move(message), std::move(text), rc, where);
}

}  // namespace tocsin::db::sqlite_detail
