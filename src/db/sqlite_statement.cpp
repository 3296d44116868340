// tocsin::db::SqliteStatement: a Statement on sqlite3_stmt.
#include "tocsin/db/sqlite_statement.hpp"

#include <sqlite3.h>

#include <cctype>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <variant>

#include "sqlite_error.hpp"
#include "tocsin/db/error.hpp"
#include "tocsin/db/sqlite_backend.hpp"

namespace tocsin::db {
namespace {

// SQLITE_TRANSIENT without its C-style cast: SQLite copies the bound text or blob.
const sqlite3_destructor_type transient =
    reinterpret_cast<sqlite3_destructor_type>(std::intptr_t{-1});

bool only_separators(const char* begin, const char* end) {
    for (const char* p = begin; p < end; ++p) {
        if (*p != ';' && std::isspace(static_cast<unsigned char>(*p)) == 0)
            return false;
    }
    return true;
}

}  // namespace

SqliteStatement::SqliteStatement(const SqliteBackend& backend, std::string_view sql,
                                 bool persistent, tocsin::source_location where)
    : Statement(std::string(sql)), backend_(&backend) {
    sqlite3* db = backend.native_handle();
    const char* tail = nullptr;
    const unsigned flags = persistent ? SQLITE_PREPARE_PERSISTENT : 0U;
    const int rc = sqlite3_prepare_v3(db, this->sql().data(), static_cast<int>(this->sql().size()),
                                      flags, &stmt_, &tail);
    if (rc != SQLITE_OK) {
        sqlite_detail::throw_error(backend, rc, this->sql(), where);
    }
    if (stmt_ == nullptr)
        throw ProgrammingError("empty SQL statement", this->sql(), 0, where);
    if (tail != nullptr && !only_separators(tail, this->sql().data() + this->sql().size())) {
        sqlite3_finalize(stmt_);
        stmt_ = nullptr;
        throw ProgrammingError(
            "more than one SQL statement in one prepare (use execute_script() for several)",
            this->sql(), 0, where);
    }
}

SqliteStatement::~SqliteStatement() {
    sqlite3_finalize(stmt_);
}

std::size_t SqliteStatement::do_parameter_count() const {
    return static_cast<std::size_t>(sqlite3_bind_parameter_count(stmt_));
}

namespace {
// Binds one value; SQLite's result code.
int bind_one(sqlite3_stmt* stmt, int i, const ValueRef& value, sqlite3_destructor_type lifetime) {
    return std::visit(
        [&](const auto& v) -> int {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, Null>) {
                return sqlite3_bind_null(stmt, i);
            } else if constexpr (std::is_same_v<T, std::int64_t>) {
                return sqlite3_bind_int64(stmt, i, v);
            } else if constexpr (std::is_same_v<T, double>) {
                return sqlite3_bind_double(stmt, i, v);
            } else if constexpr (std::is_same_v<T, std::string_view>) {
                return sqlite3_bind_text64(stmt, i, v.data(), v.size(), lifetime, SQLITE_UTF8);
            } else {
                if (v.empty())
                    return sqlite3_bind_zeroblob(stmt, i, 0);
                return sqlite3_bind_blob64(stmt, i, v.data(), v.size(), lifetime);
            }
        },
        value.storage());
}
}  // namespace

void SqliteStatement::do_bind(std::size_t index, ValueRef value, bool borrowed,
                              tocsin::source_location where) {
    // SQLITE_STATIC (a null destructor): SQLite reads the caller's bytes until the reset.
    const auto lifetime = borrowed ? static_cast<sqlite3_destructor_type>(nullptr) : transient;
    const int rc = bind_one(stmt_, static_cast<int>(index), value, lifetime);
    if (rc != SQLITE_OK) {
        sqlite_detail::throw_error(*backend_, rc, sql(), where);
    }
}

void SqliteStatement::do_bind_views(std::span<const ValueRef> views, bool borrowed,
                                    tocsin::source_location where) {
    const auto lifetime = borrowed ? static_cast<sqlite3_destructor_type>(nullptr) : transient;
    for (std::size_t i = 0; i < views.size(); ++i) {
        const int rc = bind_one(stmt_, static_cast<int>(i + 1), views[i], lifetime);
        if (rc != SQLITE_OK) [[unlikely]] {
            sqlite_detail::throw_error(*backend_, rc, sql(), where);
        }
    }
}

void SqliteStatement::do_reset_for_rebinding() noexcept {
    sqlite3_reset(stmt_);
}

bool SqliteStatement::do_step(tocsin::source_location where) {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW)
        return true;
    sqlite3* db = sqlite3_db_handle(stmt_);
    if (rc == SQLITE_DONE) {
        rows_affected_ = sqlite3_stmt_readonly(stmt_) != 0 ? 0 : sqlite3_changes64(db);
        return false;
    }
    try {
        sqlite_detail::throw_error(*backend_, rc, sql(), where);
    } catch (...) {
        sqlite3_reset(stmt_);  // ready to run again; the error was captured above
        throw;
    }
}

std::size_t SqliteStatement::do_column_count() const {
    return static_cast<std::size_t>(sqlite3_column_count(stmt_));
}

std::string SqliteStatement::do_column_name(std::size_t index) const {
    const char* name = sqlite3_column_name(stmt_, static_cast<int>(index));
    return name != nullptr ? std::string(name) : std::string();
}

Value SqliteStatement::do_column(std::size_t index) const {
    const int i = static_cast<int>(index);
    switch (sqlite3_column_type(stmt_, i)) {
        case SQLITE_INTEGER:
            return Value(static_cast<std::int64_t>(sqlite3_column_int64(stmt_, i)));
        case SQLITE_FLOAT:
            return Value(sqlite3_column_double(stmt_, i));
        case SQLITE_TEXT: {
            const auto* text = sqlite3_column_text(stmt_, i);
            const auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i));
            if (text == nullptr)
                return Value(std::string());
            return Value(std::string(reinterpret_cast<const char*>(text), size));
        }
        case SQLITE_BLOB: {
            const void* data = sqlite3_column_blob(stmt_, i);
            const auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i));
            Blob blob(size);
            if (size != 0)
                std::memcpy(blob.data(), data, size);
            return Value(std::move(blob));
        }
        default:
            return Value();
    }
}

std::int64_t SqliteStatement::do_rows_affected() const {
    return rows_affected_;
}

void SqliteStatement::do_reset() noexcept {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

}  // namespace tocsin::db
