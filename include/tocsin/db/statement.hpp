// Statement: one prepared SQL statement of a backend (bind, step, read columns).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <tocsin/source_location.hpp>

#include "tocsin/db/value.hpp"
#include "tocsin/db/value_ref.hpp"

namespace tocsin::db {

/// A prepared statement. Backends implement the protected do_* functions; callers use the public
/// ones, which check arguments and carry the caller's location into errors.
///
/// Use: bind parameters (1-based, as in SQL: the parameter rendered by Backend::placeholder(i)),
/// then step() until it returns false, reading columns (0-based) while it returns true; then
/// reset() to run it again. A statement belongs to one connection and so to one thread; it is not
/// copyable. Errors throw the DatabaseError subclass that classifies them.
class Statement {
  public:
    virtual ~Statement() = default;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    /// The SQL text the statement was prepared from.
    [[nodiscard]] const std::string& sql() const noexcept { return sql_; }

    /// Number of parameters the SQL has (the highest parameter index).
    [[nodiscard]] std::size_t parameter_count() const { return do_parameter_count(); }

    /// Binds @p value to parameter @p index (1-based). Throws ProgrammingError when the index is
    /// out of range, naming the index and the SQL.
    void bind(std::size_t index, const Value& value,
              tocsin::source_location where = tocsin::source_location::current());

    /// Binds values[0] to parameter 1, values[1] to parameter 2, ... Throws ProgrammingError
    /// unless values.size() == parameter_count().
    void bind_all(std::span<const Value> values,
                  tocsin::source_location where = tocsin::source_location::current());

    /// Like bind_all(), but the backend may keep pointers to the values' text and blobs instead
    /// of copying them: the values must stay alive and unchanged until reset() (Database's
    /// execute/query do this; it saves a copy of every string parameter).
    void bind_all_borrowed(std::span<const Value> values,
                           tocsin::source_location where = tocsin::source_location::current());

    /// Binds views[0] to parameter 1, views[1] to parameter 2, ... without copying: the viewed
    /// text and blobs must stay alive and unchanged until reset() (the model layer binds an
    /// instance's fields this way). Throws ProgrammingError unless views.size() ==
    /// parameter_count().
    void bind_views(std::span<const ValueRef> views,
                    tocsin::source_location where = tocsin::source_location::current());

    /// Runs the statement to its next row: true when a row is available, false when it is done.
    /// A failure (constraint, lock, I/O) throws and leaves the database as the statement found it.
    [[nodiscard]] bool step(tocsin::source_location where = tocsin::source_location::current());

    /// Steps until the statement is done, ignoring rows; returns rows_affected().
    std::int64_t run(tocsin::source_location where = tocsin::source_location::current());

    /// Number of columns in the result (0 for statements that return no rows).
    [[nodiscard]] std::size_t column_count() const { return do_column_count(); }
    /// Name of result column @p index (0-based), as the database reports it.
    [[nodiscard]] std::string column_name(std::size_t index) const;
    /// Value of column @p index (0-based) in the current row. Throws ProgrammingError when there
    /// is no current row or the index is out of range.
    [[nodiscard]] Value column(std::size_t index) const;
    /// Column @p index converted to T (see value_traits); throws DataError when it does not fit.
    template <Storable T>
    [[nodiscard]] T get(std::size_t index) const {
        return from_value<T>(column(index));
    }
    /// All columns of the current row.
    [[nodiscard]] Row row() const;

    /// Rows inserted, updated or deleted by the last completed run of this statement.
    [[nodiscard]] std::int64_t rows_affected() const { return do_rows_affected(); }

    /// Makes the statement ready to run again and clears its bindings. Never throws.
    void reset() noexcept {
        has_row_ = false;
        do_reset();
    }

    /// Makes the statement ready to run again, keeping its bindings (their borrowed text may
    /// die: it is not read again): for a caller that binds every parameter before each run
    /// (cheaper than reset() on SQLite, which clears them). Never throws.
    void reset_for_rebinding() noexcept {
        has_row_ = false;
        do_reset_for_rebinding();
    }
    /// Whether the last step() produced a row that can be read.
    [[nodiscard]] bool has_row() const noexcept { return has_row_; }

  protected:
    explicit Statement(std::string sql) : sql_(std::move(sql)) {}

    virtual std::size_t do_parameter_count() const = 0;
    /// Binds a value; the index is already checked against do_parameter_count(). When
    /// @p borrowed, the value outlives the binding (until do_reset()) and need not be copied.
    virtual void do_bind(std::size_t index, ValueRef value, bool borrowed,
                         tocsin::source_location where) = 0;
    virtual bool do_step(tocsin::source_location where) = 0;
    virtual std::size_t do_column_count() const = 0;
    virtual std::string do_column_name(std::size_t index) const = 0;
    /// Reads a column; the index is already checked and a row is current.
    virtual Value do_column(std::size_t index) const = 0;
    virtual std::int64_t do_rows_affected() const = 0;
    /// Resets the statement and clears its bindings; must not throw.
    virtual void do_reset() noexcept = 0;
    /// Resets the statement; its bindings may stay (all are bound again before it runs). By
    /// default do_reset().
    virtual void do_reset_for_rebinding() noexcept { do_reset(); }
    /// Binds views[0] to parameter 1, ... (the count is already checked), borrowed when
    /// @p borrowed. By default one do_bind() per value; a backend may bind them in one call.
    virtual void do_bind_views(std::span<const ValueRef> views, bool borrowed,
                               tocsin::source_location where) {
        for (std::size_t i = 0; i < views.size(); ++i)
            do_bind(i + 1, views[i], borrowed, where);
    }

  private:
    template <class V>
    void bind_values(std::span<const V> values, bool borrowed, tocsin::source_location where);

    std::string sql_;
    bool has_row_ = false;
};

}  // namespace tocsin::db
