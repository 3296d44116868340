// What the remote layer's sources share (not installed).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "tocsin/db/database.hpp"

namespace tocsin {
class ModelBase;
struct ModelInfo;
}  // namespace tocsin
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

/// The instances a worker thread loaded for the batch it runs (one SELECT per model), by model
/// and primary key; a null instance: the batch looked for it and the row is gone.
struct BatchInstances {
    std::map<std::pair<const ModelInfo*, std::int64_t>, std::shared_ptr<ModelBase>> instances;
};
/// Sets the batch of this thread (null: none); load_save() takes its instances from it.
void set_batch_instances(BatchInstances* batch) noexcept;
/// The batch of this thread, or null.
[[nodiscard]] BatchInstances* batch_instances() noexcept;
/// find_model_info(label), remembered per thread (the registry's lookup compares every label).
[[nodiscard]] const ModelInfo* model_by_label(std::string_view label);

/// Makes saves and removals of @p model's instances on any thread drop them from that thread's
/// batch (a receiver that saves an instance a later row of its batch names: that row loads it
/// again). Connects a post_save and a post_delete receiver for the model, once.
void watch_batch_model(const ModelInfo& model);

}  // namespace tocsin::remote::detail
