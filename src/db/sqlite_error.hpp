// Private to the SQLite backend: turning SQLite result codes into tocsin::db exceptions.
#pragma once

#include <string_view>
#include <tocsin/source_location.hpp>

struct sqlite3;

namespace tocsin::db::sqlite_detail {

/// Throws the tocsin::db::Error subclass that classifies SQLite result code @p rc (an extended
/// code), with sqlite3_errmsg(@p db) as the message (the message of an OperationalError also
/// names @p filename), @p sql as the statement and @p where as the caller's location.
[[noreturn]] void throw_error(sqlite3* db, int rc, std::string_view sql, std::string_view filename,
                              tocsin::source_location where);

}  // namespace tocsin::db::sqlite_detail
