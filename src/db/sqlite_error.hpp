// Private to the SQLite backend: turning SQLite result codes into tocsin::db exceptions.
#pragma once

#include <string>
#include <string_view>
#include <tocsin/source_location.hpp>

struct sqlite3;

namespace tocsin::db {
class SqliteBackend;
}

namespace tocsin::db::sqlite_detail {

/// Throws the tocsin::db::Error subclass that classifies SQLite result code @p rc (an extended
/// code) on @p backend's connection, with sqlite3_errmsg() as the message (the message of an
/// OperationalError also names the file; a "database is locked" one (SQLITE_BUSY) also says what
/// to change, from the backend's timeout and transaction mode), @p sql as the statement and
/// @p where as the caller's location.
[[noreturn]] void throw_error(const SqliteBackend& backend, int rc, std::string_view sql,
                              tocsin::source_location where);

/// The file-system path of the database named @p name (a path or a "file:" URI), or "" for an
/// in-memory database.
[[nodiscard]] std::string database_path(std::string_view name);

/// Why this process cannot create a file next to @p path ("permission denied: this process
/// cannot create files in directory \"d\"", "directory \"d\" does not exist", ...), or "" when
/// nothing is wrong with the directory.
[[nodiscard]] std::string directory_problem(const std::string& path);

}  // namespace tocsin::db::sqlite_detail
