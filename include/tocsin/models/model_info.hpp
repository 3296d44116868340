// tocsin::ModelInfo — the type-erased description of a model that the generic code works on.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tocsin/apps/model_description.hpp"
#include "tocsin/db/value.hpp"
#include "tocsin/models/related.hpp"

namespace tocsin {

class ModelBase;
struct ModelInfo;
namespace detail {
void enable_change_tracking(const ModelInfo& model);
}

/// One field as the generic code (SQL, collector, fixtures) sees it.
struct FieldInfo {
    std::string name;    ///< the field name ("user")
    std::string column;  ///< the column ("user_id")
    db::LogicalType type = db::LogicalType::text;
    bool nullable = false;
    bool unique = false;
    db::Value default_value;  ///< from the member's default initializer
    // Relations.
    bool is_relation = false;
    bool one_to_one = false;
    OnDelete on_delete = OnDelete::do_nothing;
    const ModelInfo& (*target)() = nullptr;  ///< the referenced model (resolved when asked)
    // Access.
    std::function<db::Value(const ModelBase&)> get;
    std::function<void(ModelBase&, const db::Value&)> set;
};

/// A model as the generic code sees it: label, table, fields, and how to make an instance.
///
/// A model extending another concrete model (multi-table inheritance, as in Django) has a
/// `parent`: its table holds its own fields only, and its "id" is also the parent row's id. The
/// parent's fields live in the parent's table; an instance holds them all (`all_fields`).
struct ModelInfo : apps::ModelDescription {
    ModelInfo() = default;
    ModelInfo(const ModelInfo&) = delete;
    ModelInfo& operator=(const ModelInfo&) = delete;
    ~ModelInfo() = default;

    std::string table;              ///< "auth_user"
    std::vector<FieldInfo> fields;  ///< the model's own fields: the columns of `table` but "id"
    /// The concrete model this one extends (multi-table inheritance), or null.
    const ModelInfo* parent = nullptr;
    /// Every field of an instance, inherited ones first (the root model's first), then `fields`:
    /// the columns a query reads, after "id". Filled when the description is built.
    std::vector<const FieldInfo*> all_fields;
    /// A new, default-initialised instance (a shared_ptr: it deletes through the model type, as
    /// ModelBase has no virtual destructor, which would make models non-aggregates).
    std::function<std::shared_ptr<ModelBase>()> make;

    /// The field named `name`, own or inherited, or null.
    [[nodiscard]] const FieldInfo* field(std::string_view name) const noexcept;
    /// "id", then the column of every field (all_fields), for SELECT.
    [[nodiscard]] std::string select_list(std::string_view quote_prefix = {}) const;
    /// The models this one extends, its parent first, the root last (empty without parent).
    [[nodiscard]] std::vector<const ModelInfo*> ancestors() const;
    /// True when this model is `other` or extends it, directly or not.
    [[nodiscard]] bool is_or_extends(const ModelInfo& other) const noexcept;
    /// True when the instances of this model keep a snapshot of their saved values, because a
    /// pre_save / post_save receiver of the model asked for the changed fields.
    [[nodiscard]] bool tracks_changes() const noexcept {
        return tracks_changes_.load(std::memory_order_relaxed);
    }

  private:
    friend void detail::enable_change_tracking(const ModelInfo& model);
    mutable std::atomic<bool> tracks_changes_{false};
};

/// Every model whose description was built in this process, in build order.
[[nodiscard]] std::vector<const ModelInfo*> all_models();

/// The models registered so far that extend `model`, directly or not, in registration order.
[[nodiscard]] std::vector<const ModelInfo*> subclasses_of(const ModelInfo& model);

namespace detail {
/// Completes a freshly built description: its parent (null for none) and all_fields. Throws
/// ModelError when an own field's name or column clashes with an inherited one.
void link_model_info(ModelInfo& info, const ModelInfo* parent);
/// Adds a freshly built model description to all_models(), runs the model hooks waiting for it
/// (watch_models), then sends class_prepared.
void register_model_info(const ModelInfo* info);
/// Runs `action` for the model whose sender is `model` (and, with `subclasses`, for every model
/// extending it): now for those registered already, later for each registered afterwards, as
/// long as `alive()` (its receiver is connected). Actions run under a lock: they must not build
/// or register models.
void watch_models(const Sender& model, bool subclasses,
                  std::function<void(const ModelInfo&)> action, std::function<bool()> alive);
/// "auth_user" from "auth" and "User".
[[nodiscard]] std::string default_table(std::string_view app_label, std::string_view model_name);
}  // namespace detail

}  // namespace tocsin
