// Lists of ids in `IN (…)` lists, cut into statements small enough for the backend: shared by
// the query sets (update of a model extending another), the removal collector and the
// many-to-many managers. Private to the library.
//
// Why: SQLite refuses a statement with more parameters than SQLITE_MAX_VARIABLE_NUMBER allows
// ("too many SQL variables"), and reads numbered parameters (?NNN) in time quadratic in their
// number: an update or removal of 40000 rows took seconds in one statement.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tocsin/db/backend.hpp"
#include "tocsin/db/database.hpp"
#include "tocsin/db/value.hpp"

namespace tocsin::detail {

/// The most ids one statement lists, whatever the backend allows: SQLite allows 32766
/// parameters since 3.32 but 999 before (SQLITE_MAX_VARIABLE_NUMBER), and short statements are
/// prepared and cached more cheaply.
inline constexpr std::size_t max_ids_per_statement = 500;

/// How many ids one statement may list when it binds `reserved` other parameters and `per_id`
/// parameters for each id: at most max_ids_per_statement, within the backend's
/// max_query_parameters, and at least 1.
inline std::size_t id_chunk_size(const db::Backend& backend, std::size_t reserved = 0,
                                 std::size_t per_id = 1) {
    const std::size_t limit = backend.features().max_query_parameters;
    const std::size_t fits = (limit - std::min(limit, reserved)) / std::max<std::size_t>(1, per_id);
    return std::clamp<std::size_t>(fits, 1, max_ids_per_statement);
}

/// `items` cut into consecutive slices of at most `size` (at least 1) elements, in order; none
/// when `items` is empty. The slices view `items`, which must outlive them.
template <class T>
std::vector<std::span<const T>> chunked(const std::vector<T>& items, std::size_t size) {
    size = std::max<std::size_t>(1, size);
    std::vector<std::span<const T>> out;
    out.reserve((items.size() + size - 1) / size);
    for (std::size_t first = 0; first < items.size(); first += size) {
        out.emplace_back(items.data() + first, std::min(size, items.size() - first));
    }
    return out;
}

/// "(?3, ?4, …)" for `ids` (values or integers), appending them to `params`: they are numbered
/// after the parameters `params` holds already.
template <class Id>
std::string in_list(std::span<const Id> ids, std::vector<db::Value>& params,
                    const db::Backend& backend) {
    std::string sql = "(";
    for (std::size_t i = 0; i < ids.size(); ++i) {
        params.emplace_back(ids[i]);
        sql += (i == 0 ? "" : ", ") + backend.placeholder(params.size());
    }
    return sql + ")";
}

/// Runs `sql` (ending in "IN ") followed by the list of one chunk of `ids`, once per chunk in
/// order, each time with `params` bound first; returns the rows changed in all. Call it inside
/// a transaction: a chunk that fails leaves the chunks before it written.
inline std::int64_t execute_in_chunks(
    db::Database& database, const std::string& sql, const std::vector<db::Value>& params,
    const std::vector<db::Value>& ids,
    tocsin::source_location where = tocsin::source_location::current()) {
    auto& backend = database.backend();
    std::int64_t changed = 0;
    for (const auto chunk : chunked(ids, id_chunk_size(backend, params.size()))) {
        std::vector<db::Value> bound = params;
        const std::string in = in_list(chunk, bound, backend);
        changed += database.execute(sql + in, bound, where);
    }
    return changed;
}

}  // namespace tocsin::detail
