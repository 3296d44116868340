// Changed fields: what a save changes, with the previous values, for the pre_save / post_save
// receivers that ask (`post_save.connect<User>(tocsin::track_changes, fn)`).
//
// Only models with such a receiver keep a snapshot of the loaded (or last saved) values in their
// instances; the others store nothing and their save() does no extra work.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "tocsin/db/value.hpp"

namespace tocsin {

class ModelBase;
struct ModelInfo;

/// One field a save changes.
struct FieldChange {
    std::string_view field;               ///< the field name ("email")
    std::optional<db::Value> previous{};  ///< the value loaded or last saved; nullopt if unknown
    db::Value current{};                  ///< the value the save writes
};

/// The fields a save changes, in field order (inherited fields first).
using FieldChanges = std::vector<FieldChange>;

namespace detail {

/// The values of every field of an instance (ModelInfo::all_fields order) when it was loaded or
/// last saved. Immutable: a save replaces it, copies of an instance share it.
struct FieldSnapshot {
    const ModelInfo* model = nullptr;  ///< the model whose all_fields the values follow
    std::vector<db::Value> values;
};

/// What SaveEvent::changes() reads: the instance, its model, the snapshot taken before this save
/// (null: none, every field counts as changed) and the fields the save writes.
struct SaveChanges {
    const ModelBase* instance = nullptr;
    const ModelInfo* model = nullptr;
    const FieldSnapshot* before = nullptr;
    const std::optional<std::set<std::string>>* update_fields = nullptr;
};

/// The snapshot of `instance`'s current values (every field of `model`).
[[nodiscard]] std::shared_ptr<const FieldSnapshot> take_snapshot(const ModelBase& instance,
                                                                 const ModelInfo& model);
/// Turns change tracking on for `model` (for good: instances loaded or saved from now on keep a
/// snapshot).
void enable_change_tracking(const ModelInfo& model);

}  // namespace detail
}  // namespace tocsin
