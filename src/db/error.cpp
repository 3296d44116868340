// tocsin::db::Error and its subclasses: composing what() from message, SQL and location.
#include "tocsin/db/error.hpp"

#include <utility>

namespace tocsin::db {
namespace {

constexpr std::size_t max_sql_in_message = 300;

std::string compose(const std::string& message, const std::string& sql,
                    const tocsin::source_location& where) {
    std::string out = message;
    if (!sql.empty()) {
        out += " [SQL: ";
        if (sql.size() > max_sql_in_message) {
            out.append(sql, 0, max_sql_in_message);
            out += "...";
        } else {
            out += sql;
        }
        out += ']';
    }
    if (where.line() != 0 && where.file_name() != nullptr && *where.file_name() != '\0') {
        out += " [at ";
        out += where.file_name();
        out += ':';
        out += std::to_string(where.line());
        out += ']';
    }
    return out;
}

}  // namespace

Error::Error(std::string message, tocsin::source_location where)
    : Error(std::move(message), std::string(), where) {}

Error::Error(std::string message, std::string sql, tocsin::source_location where)
    : std::runtime_error(compose(message, sql, where)),
      message_(std::move(message)),
      sql_(std::move(sql)),
      location_(where) {}

DatabaseError::DatabaseError(std::string message, std::string sql, int native_code,
                             tocsin::source_location where)
    : Error(std::move(message), std::move(sql), where), native_code_(native_code) {}

DatabaseError::DatabaseError(std::string message, tocsin::source_location where)
    : DatabaseError(std::move(message), std::string(), 0, where) {}

IntegrityError::IntegrityError(std::string message, Details details, std::string sql,
                               int native_code, tocsin::source_location where)
    : DatabaseError(std::move(message), std::move(sql), native_code, where),
      details_(std::move(details)) {}

std::string_view to_string(IntegrityError::Kind kind) noexcept {
    switch (kind) {
        case IntegrityError::Kind::unique:
            return "unique";
        case IntegrityError::Kind::not_null:
            return "not_null";
        case IntegrityError::Kind::foreign_key:
            return "foreign_key";
        case IntegrityError::Kind::check:
            return "check";
        case IntegrityError::Kind::other:
            break;
    }
    return "other";
}

}  // namespace tocsin::db
