// The exceptions of tocsin's db layer.
//
// Every error the db layer throws derives from tocsin::db::Error, whose what() says what failed
// and where: the message (which names the table.column, the file or the alias concerned), the SQL
// being run when there is one, and the caller's source location. The hierarchy follows PEP 249
// and Django, so that code written against Django's exceptions maps one to one.
//
//     Error
//     ├── ConfigurationError          unknown alias or engine, bad settings
//     └── DatabaseError               reported by (or about) the database
//         ├── OperationalError        cannot open or write the file, database locked, I/O error
//         ├── IntegrityError          UNIQUE / NOT NULL / FOREIGN KEY / CHECK violated
//         ├── DataError               a value does not fit (type mismatch, too big, NULL)
//         ├── NotSupportedError       the backend cannot do this
//         └── ProgrammingError        bad SQL, bad parameter index, misuse of the API
//             └── TransactionManagementError   misuse of atomic(), commit(), on_commit()
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <tocsin/source_location.hpp>
#include <vector>

namespace tocsin::db {

/// Base of every db-layer exception. what() = message, then the SQL (if any), then the caller's
/// location "file:line"; message(), sql() and location() give the parts.
class Error : public std::runtime_error {
  public:
    /// Builds an error saying @p message, raised on behalf of the caller at @p where.
    explicit Error(std::string message,
                   tocsin::source_location where = tocsin::source_location::current());

    /// The error without the SQL and location suffixes.
    [[nodiscard]] const std::string& message() const noexcept { return message_; }
    /// The SQL statement being run when the error happened, or empty.
    [[nodiscard]] const std::string& sql() const noexcept { return sql_; }
    /// Where the failing call was made (the caller of the db layer, when it passed its location).
    [[nodiscard]] const tocsin::source_location& location() const noexcept { return location_; }

  protected:
    Error(std::string message, std::string sql, tocsin::source_location where);

  private:
    std::string message_;
    std::string sql_;
    tocsin::source_location location_;
};

/// The configuration is wrong: an alias that is not configured, an unknown engine, a bad option.
/// The message names the alias, engine or option.
class ConfigurationError : public Error {
  public:
    using Error::Error;
};

/// Reported by the database (or about it). native_code() is the backend's own code (for SQLite
/// the extended result code, e.g. 2067 for SQLITE_CONSTRAINT_UNIQUE), 0 when there is none.
class DatabaseError : public Error {
  public:
    explicit DatabaseError(std::string message, std::string sql = {}, int native_code = 0,
                           tocsin::source_location where = tocsin::source_location::current());
    /// An error with no SQL and no native code, raised on behalf of the caller at @p where.
    DatabaseError(std::string message, tocsin::source_location where);

    /// The backend's own error code (SQLite: extended result code), or 0.
    [[nodiscard]] int native_code() const noexcept { return native_code_; }

  private:
    int native_code_;
};

/// The database could not do what was asked for reasons outside the SQL: the file cannot be
/// opened or written (the message names the file), the database is locked, an I/O error.
class OperationalError : public DatabaseError {
  public:
    using DatabaseError::DatabaseError;
};

/// A value does not fit: a NULL where a value is required by C++, a type that cannot convert,
/// an integer out of range, a string or blob too big.
class DataError : public DatabaseError {
  public:
    using DatabaseError::DatabaseError;
};

/// The backend does not support the operation.
class NotSupportedError : public DatabaseError {
  public:
    using DatabaseError::DatabaseError;
};

/// The program asked for something wrong: bad SQL, a parameter index out of range, a column
/// that does not exist, a statement used after its connection closed.
class ProgrammingError : public DatabaseError {
  public:
    using DatabaseError::DatabaseError;
};

/// Misuse of transactions: a durable block nested in another, commit() inside atomic(),
/// on_commit() in manual transaction mode, a query after an error in the current atomic block.
class TransactionManagementError : public ProgrammingError {
  public:
    using ProgrammingError::ProgrammingError;
};

/// A constraint was violated. kind() classifies it the same way on every backend; table() and
/// columns() say where (when the backend reports it: SQLite does for UNIQUE and NOT NULL, not for
/// FOREIGN KEY); constraint() is the constraint or index name when that is all that is known.
/// The message is the backend's, e.g. "UNIQUE constraint failed: user.email".
class IntegrityError : public DatabaseError {
  public:
    /// Which constraint failed. A primary-key clash is a unique violation, as in PostgreSQL.
    enum class Kind { unique, not_null, foreign_key, check, other };

    /// Everything an IntegrityError carries besides the message.
    struct Details {
        Kind kind = Kind::other;
        std::string table{};
        std::vector<std::string> columns{};
        std::string constraint{};
    };

    IntegrityError(std::string message, Details details, std::string sql = {}, int native_code = 0,
                   tocsin::source_location where = tocsin::source_location::current());

    [[nodiscard]] Kind kind() const noexcept { return details_.kind; }
    /// The table whose constraint failed, or empty when the backend does not say.
    [[nodiscard]] const std::string& table() const noexcept { return details_.table; }
    /// The columns of the failed constraint, in the backend's order, or empty.
    [[nodiscard]] const std::vector<std::string>& columns() const noexcept {
        return details_.columns;
    }
    /// The constraint or index name, or the CHECK expression, when the backend gives one.
    [[nodiscard]] const std::string& constraint() const noexcept { return details_.constraint; }

  private:
    Details details_;
};

/// "unique", "not_null", "foreign_key", "check" or "other".
[[nodiscard]] std::string_view to_string(IntegrityError::Kind kind) noexcept;

}  // namespace tocsin::db
