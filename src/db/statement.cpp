// tocsin::db::Statement: argument checks around the backend's do_* functions.
#include "tocsin/db/statement.hpp"

#include "tocsin/db/error.hpp"

namespace tocsin::db {

void Statement::bind(std::size_t index, const Value& value, tocsin::source_location where) {
    const std::size_t count = do_parameter_count();
    if (index == 0 || index > count) {
        throw ProgrammingError("parameter index " + std::to_string(index) +
                                   " is out of range: the statement has " + std::to_string(count) +
                                   " parameter(s), numbered from 1",
                               sql_, 0, where);
    }
    do_bind(index, value, /*borrowed=*/false, where);
}

template <class V>
void Statement::bind_values(std::span<const V> values, bool borrowed,
                            tocsin::source_location where) {
    const std::size_t count = do_parameter_count();
    if (values.size() != count) {
        throw ProgrammingError("the statement has " + std::to_string(count) + " parameter(s) but " +
                                   std::to_string(values.size()) + " value(s) were supplied",
                               sql_, 0, where);
    }
    for (std::size_t i = 0; i < values.size(); ++i)
        do_bind(i + 1, values[i], borrowed, where);
}

void Statement::bind_all(std::span<const Value> values, tocsin::source_location where) {
    bind_values(values, /*borrowed=*/false, where);
}

void Statement::bind_all_borrowed(std::span<const Value> values, tocsin::source_location where) {
    bind_values(values, /*borrowed=*/true, where);
}

void Statement::bind_views(std::span<const ValueRef> views, tocsin::source_location where) {
    const std::size_t count = do_parameter_count();
    if (views.size() != count) {
        throw ProgrammingError("the statement has " + std::to_string(count) + " parameter(s) but " +
                                   std::to_string(views.size()) + " value(s) were supplied",
                               sql_, 0, where);
    }
    do_bind_views(views, /*borrowed=*/true, where);
}

bool Statement::step(tocsin::source_location where) {
    has_row_ = false;
    has_row_ = do_step(where);
    return has_row_;
}

std::int64_t Statement::run(tocsin::source_location where) {
    while (step(where)) {
    }
    return do_rows_affected();
}

std::string Statement::column_name(std::size_t index) const {
    const std::size_t count = do_column_count();
    if (index >= count) {
        throw ProgrammingError("column index " + std::to_string(index) +
                                   " is out of range: the result has " + std::to_string(count) +
                                   " column(s), numbered from 0",
                               sql_);
    }
    return do_column_name(index);
}

Value Statement::column(std::size_t index) const {
    if (!has_row_)
        throw ProgrammingError("no current row to read a column from", sql_);
    const std::size_t count = do_column_count();
    if (index >= count) {
        throw ProgrammingError("column index " + std::to_string(index) +
                                   " is out of range: the result has " + std::to_string(count) +
                                   " column(s), numbered from 0",
                               sql_);
    }
    return do_column(index);
}

Row Statement::row() const {
    if (!has_row_)
        throw ProgrammingError("no current row to read", sql_);
    const std::size_t count = do_column_count();
    Row out;
    out.reserve(count);
    for (std::size_t i = 0; i < count; ++i)
        out.push_back(do_column(i));
    return out;
}

}  // namespace tocsin::db
