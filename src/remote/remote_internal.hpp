// What the remote layer's sources share (not installed).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tocsin/db/database.hpp"

namespace tocsin::remote {
struct Delivery;
}  // namespace tocsin::remote

namespace tocsin::remote::detail {

/// Microseconds since the Unix epoch, UTC, by this process's clock.
[[nodiscard]] std::int64_t now_us();
/// 32 random hexadecimal digits.
[[nodiscard]] std::string new_idempotency_key();
/// @p text, written with ?1, ?2..., in @p database's placeholder syntax.
[[nodiscard]] std::string sql(db::Database& database, std::string_view text);
/// Sets what current_delivery() returns on this thread (null: none).
void set_current_delivery(const Delivery* delivery) noexcept;
/// Whether @p database is a PostgreSQL connection.
[[nodiscard]] bool is_postgresql(db::Database& database);

}  // namespace tocsin::remote::detail
