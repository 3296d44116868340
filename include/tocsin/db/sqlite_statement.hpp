// SqliteStatement: a Statement on sqlite3_stmt.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <tocsin/source_location.hpp>

#include "tocsin/db/statement.hpp"

struct sqlite3_stmt;

namespace tocsin::db {

class SqliteBackend;

/// An RAII sqlite3_stmt: prepared in the constructor, finalised in the destructor. Made by
/// SqliteBackend::prepare() / cached(); must not outlive its backend. Text and blobs are copied
/// when bound, so the bound Value may die before step().
class SqliteStatement final : public Statement {
  public:
    /// Prepares @p sql (exactly one statement; trailing text other than whitespace and ';' is a
    /// ProgrammingError) on @p backend's connection.
    SqliteStatement(const SqliteBackend& backend, std::string_view sql, bool persistent,
                    tocsin::source_location where);
    ~SqliteStatement() override;

    /// The sqlite3_stmt handle.
    [[nodiscard]] sqlite3_stmt* native_handle() const noexcept { return stmt_; }

  protected:
    std::size_t do_parameter_count() const override;
    void do_bind(std::size_t index, ValueRef value, bool borrowed,
                 tocsin::source_location where) override;
    bool do_step(tocsin::source_location where) override;
    std::size_t do_column_count() const override;
    std::string do_column_name(std::size_t index) const override;
    Value do_column(std::size_t index) const override;
    std::int64_t do_rows_affected() const override;
    void do_reset() noexcept override;
    void do_reset_for_rebinding() noexcept override;
    void do_bind_views(std::span<const ValueRef> views, bool borrowed,
                       tocsin::source_location where) override;

  private:
    const SqliteBackend* backend_;
    sqlite3_stmt* stmt_ = nullptr;
    std::int64_t rows_affected_ = 0;
};

}  // namespace tocsin::db
