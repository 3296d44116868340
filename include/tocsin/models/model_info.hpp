// tocsin::ModelInfo — the type-erased description of a model that the generic code works on.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tocsin/apps/model_description.hpp"
#include "tocsin/db/value.hpp"
#include "tocsin/db/value_ref.hpp"
#include "tocsin/models/fields.hpp"
#include "tocsin/models/related.hpp"

namespace tocsin {

class ModelBase;
struct ModelInfo;
namespace db {
class Backend;
}
namespace detail {
void enable_change_tracking(const ModelInfo& model);
std::size_t save_plan_key(const ModelInfo& model, bool update);
}  // namespace detail

namespace detail {
/// A pointer to a data member of a model with its member type erased: the member `M C::*` of
/// model `T` converted to `M ModelBase::*` (a conversion to a base class of `T`, valid on every
/// instance of `T` and of the models extending it), kept as bytes. What a field's accessors
/// (FieldAccessor) apply to an instance.
class ErasedMember {
  public:
    ErasedMember() noexcept = default;
    /// Holds `member`.
    template <class M>
    explicit ErasedMember(M ModelBase::*member) noexcept {
        static_assert(sizeof member == sizeof bytes_);
        std::memcpy(bytes_, &member, sizeof member);
    }
    /// The member held, as it was given (`M` must be the type it was given with).
    template <class M>
    [[nodiscard]] M ModelBase::*get() const noexcept {
        M ModelBase::*member = nullptr;
        std::memcpy(&member, bytes_, sizeof member);
        return member;
    }

  private:
    alignas(int ModelBase::*) unsigned char bytes_[sizeof(int ModelBase::*)]{};
};
}  // namespace detail

/// How the generic code reads or writes one field of an instance (FieldInfo::get, set, view):
/// a function compiled once per member type (for the common types, in the library) and the
/// member it applies to. Called as the `std::function<Signature>` it stands for; false when
/// not given (it must not be called then).
template <class Signature>
class FieldAccessor;
template <class R, class... A>
class FieldAccessor<R(A...)> {
  public:
    /// What the accessor calls: the function, with the member and the call's arguments.
    using Function = R (*)(const detail::ErasedMember& member, A... args);

    /// An accessor not given.
    FieldAccessor() noexcept = default;
    /// `function`, applied to `member`.
    FieldAccessor(Function function,  // NOLINT(google-explicit-constructor)
                  detail::ErasedMember member = {}) noexcept
        : function_(function), member_(member) {}

    /// The field's accessor run on `args` (an instance, and a value or a scratch value).
    R operator()(A... args) const { return function_(member_, args...); }
    /// True when given.
    explicit operator bool() const noexcept { return function_ != nullptr; }

  private:
    Function function_ = nullptr;
    detail::ErasedMember member_{};
};

/// One field as the generic code (SQL, collector, fixtures) sees it.
struct FieldInfo {
    std::string name;    ///< the field name ("user")
    std::string column;  ///< the column ("user_id")
    db::LogicalType type = db::LogicalType::text;
    bool nullable = false;
    bool unique = false;
    bool db_index = false;    ///< an index on the column was asked for (FieldOptions::db_index)
    db::Value default_value;  ///< from the member's default initializer
    // Relations.
    bool is_relation = false;
    bool one_to_one = false;
    OnDelete on_delete = OnDelete::do_nothing;
    const ModelInfo& (*target)() = nullptr;  ///< the referenced model (resolved when asked)
    // Access.
    FieldAccessor<db::Value(const ModelBase&)> get;         ///< the field's value
    FieldAccessor<void(ModelBase&, const db::Value&)> set;  ///< stores a value in the field
    /// The field's value as a view for binding without a copy (text and blobs borrowed from the
    /// instance, other types converted into the scratch value); may be empty, then `get` serves.
    FieldAccessor<db::ValueRef(const ModelBase&, db::Value& scratch)> view;
};

/// One many-to-many relation (`ManyToMany<Group> groups` of User), as the generic code sees it:
/// not a column of its model, but rows of an auto-created through table.
struct ManyToManyInfo {
    std::string name;                        ///< the field name ("groups")
    const ModelInfo* owner = nullptr;        ///< the model that declares it (User)
    const ModelInfo& (*target)() = nullptr;  ///< the related model (Group; resolved when asked)
    /// The auto-created through model "auth.User_groups" (table "auth_user_groups"), the sender
    /// of m2m_changed for this relation.
    const ModelInfo* through = nullptr;
    std::string source_column;  ///< the through column naming the owner row ("user_id")
    std::string target_column;  ///< the through column naming the related row ("group_id")
    bool symmetrical = false;   ///< a relation to the same model that goes both ways (friends)
};

/// A model's natural key (Django's `natural_key()` and its manager's `get_by_natural_key()`), as
/// the generic code (fixtures) sees it. Filled from the model's declarations (see Model).
struct NaturalKeyInfo {
    /// One value of the key: its type, and whether it may be NULL.
    struct Part {
        db::LogicalType type = db::LogicalType::text;
        bool nullable = false;
    };
    /// The instance's natural key (the model's natural_key()), one value per part; empty when
    /// the model declares no natural_key().
    std::function<std::vector<db::Value>(const ModelBase&)> of;
    /// The type of each value natural_key() returns, in order.
    std::vector<Part> parts;
    /// The id of the row of `database` whose natural key is `key` (one value per part), through
    /// the model's get_by_natural_key(); nullopt when it throws DoesNotExist. Empty when the
    /// model declares no get_by_natural_key(). Throws db::DataError when a value does not fit
    /// its part's C++ type; other exceptions of get_by_natural_key() propagate.
    std::function<std::optional<std::int64_t>(const std::vector<db::Value>& key,
                                              const std::string& database)>
        lookup;
    /// The labels of the models a natural key is made from ("app.Model"; Django's
    /// `natural_key.dependencies`): dumped before this one with natural foreign keys.
    std::vector<std::string> dependencies;
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

    std::string table;  ///< "auth_user"
    /// The primary key column of `table`: "id", or for a model extending another Django's
    /// parent link column "<parent model name, lower case>_ptr_id" ("event_ptr_id"), which is
    /// also a key to the parent's row. Queries read it as "id" (see from_clause).
    std::string pk_column = "id";
    /// The many-to-many relations the model declares (they are not columns).
    std::vector<ManyToManyInfo> many_to_many;
    /// Sets of columns unique together (an auto-created through table's pair of keys).
    std::vector<std::vector<std::string>> unique_together;
    /// The indexes the model declares (`static std::vector<tocsin::Index> indexes()`).
    std::vector<Index> indexes;
    /// The unique constraints the model declares (`static std::vector<tocsin::UniqueConstraint>
    /// constraints()`).
    std::vector<UniqueConstraint> constraints;
    /// True for a model tocsin made itself (a through table): no save or delete signals, as
    /// Django's `_meta.auto_created`; not listed by all_models().
    bool auto_created = false;
    std::vector<FieldInfo> fields;  ///< the model's own fields: the columns of `table` but "id"
    /// The concrete model this one extends (multi-table inheritance), or null. A proxy has its
    /// concrete model's parent.
    const ModelInfo* parent = nullptr;
    /// For a proxy model (Django's Meta.proxy), the concrete model whose table it uses; null for
    /// a concrete model. A proxy has that model's table, key and fields (copies), no table of its
    /// own (migrate skips it), no many-to-many relations of its own, and its own sender.
    const ModelInfo* proxy_for = nullptr;
    /// The model whose table holds the rows: proxy_for, else this model.
    [[nodiscard]] const ModelInfo& concrete() const noexcept {
        return proxy_for != nullptr ? *proxy_for : *this;
    }
    /// Every field of an instance, inherited ones first (the root model's first), then `fields`:
    /// the columns a query reads, after "id". Filled when the description is built.
    std::vector<const FieldInfo*> all_fields;
    /// The views of an instance's own fields for binding (what each field's `view` gives), in
    /// one call: writes `fields.size()` views to `out`, in `fields` order, text and blobs
    /// borrowed from the instance (which must outlive them). Returns the index of the first
    /// field holding a floating-point NaN, else `fields.size()`. Null when a field's type is one
    /// the views need a scratch value for (enums, instants, the user's own types): then each
    /// field's `view` serves. `instance` is of this model or of a model extending it.
    std::size_t (*view_fields)(const ModelBase& instance, db::ValueRef* out) = nullptr;
    /// A new, default-initialised instance (a shared_ptr: it deletes through the model type, as
    /// ModelBase has no virtual destructor, which would make models non-aggregates).
    std::function<std::shared_ptr<ModelBase>()> make;
    /// A copy of an instance of this model (for commit-time receivers).
    std::function<std::shared_ptr<ModelBase>(const ModelBase&)> clone;
    /// The model's natural key, when it declares one (`natural_key.of` is empty otherwise).
    NaturalKeyInfo natural_key;

    /// The field named `name`, own or inherited, or null.
    [[nodiscard]] const FieldInfo* field(std::string_view name) const noexcept;
    /// "id", then the column of every field (all_fields), quoted by `backend`, for SELECT.
    [[nodiscard]] std::string select_list(const db::Backend& backend) const;
    /// The many-to-many relation named `name`, or null.
    [[nodiscard]] const ManyToManyInfo* relation(std::string_view name) const noexcept;
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
    friend std::size_t detail::save_plan_key(const ModelInfo& model, bool update);
    // The keys of the save plan's statements (db::StatementCache::hold()) plus one, 0 until the
    // first save: [0] the INSERT of a new row, [1] the UPDATE of every field.
    mutable std::atomic<std::size_t> save_plan_keys_[2] = {0, 0};
};

/// Every model whose description was built in this process, in build order.
[[nodiscard]] std::vector<const ModelInfo*> all_models();

/// The description of the model whose sender is `model`, or null when none was built.
[[nodiscard]] const ModelInfo* find_model_info(const Sender& model);
/// The models registered so far that extend `model`, directly or not, in registration order.
[[nodiscard]] std::vector<const ModelInfo*> subclasses_of(const ModelInfo& model);
/// The model labelled `label` ("app.Model"), compared case-insensitively as Django's
/// apps.get_model() and fixtures do, among every model built; null when none is.
[[nodiscard]] const ModelInfo* find_model_info(std::string_view label);

/// What references the rows of one concrete model (Django's `_meta.related_objects`): per
/// referencing model, in registration order, the keys that cascade or act on removal, the
/// many-to-many relations whose through rows name it, and whether it extends the model.
/// Computed once for the models registered so far (again only when a model registers).
struct RelatedObjects {
    /// A many-to-many relation whose through rows name the model's rows.
    struct Through {
        const ManyToManyInfo* relation = nullptr;
        bool as_source = false;  ///< through rows name it in relation->source_column
        bool as_target = false;  ///< ... and/or in relation->target_column (both: to itself)
    };
    /// One concrete model that references the model.
    struct Related {
        const ModelInfo* model = nullptr;
        std::vector<Through> through;  ///< its relations naming the model's rows
        bool is_child = false;         ///< it extends the model (multi-table inheritance)
        /// Its foreign keys to the model whose on_delete is not DO_NOTHING.
        std::vector<const FieldInfo*> keys;
    };
    std::vector<Related> related;  ///< empty: nothing references the model
};
/// The related objects of `model`'s concrete model; the pointer stays valid while held.
[[nodiscard]] std::shared_ptr<const RelatedObjects> related_objects(const ModelInfo& model);

namespace detail {
/// Completes a freshly built description: its parent (null for none) and all_fields. Throws
/// ModelError when an own field's name or column clashes with an inherited one.
void link_model_info(ModelInfo& info, const ModelInfo* parent);
/// Completes a freshly built proxy description (its own label, sender, make and clone) from
/// the model it stands for (itself a proxy or not): table, key, parent and copies of its fields.
void make_proxy_info(ModelInfo& info, const ModelInfo& target);
/// Sets `info.make` and `info.clone` from a model's functions making a new instance
/// (`make`), copying one (`copy`) and deleting one (`destroy`): the shared pointers they return
/// delete through `destroy`. Out of line: the shared pointers' code is compiled once, not for
/// every model in every file.
void set_instance_functions(ModelInfo& info, ModelBase* (*make)(),
                            ModelBase* (*copy)(const ModelBase&),
                            void (*destroy)(ModelBase*) noexcept);
/// What Model<T>::info() does with the description `info` build_model_info<T>() made (owned
/// from here on, deleted if this throws): with a `parent` (labelled `parent_label`, sender
/// `parent_sender`), adds the parent link to its references; completes it as a proxy of the
/// parent (`proxy`) or with link_model_info; registers it (register_model_info). Out of line:
/// compiled once, not for every model in every file.
const ModelInfo* finish_model_info(ModelInfo* info, const ModelInfo* parent,
                                   std::string_view parent_label, const Sender& parent_sender,
                                   bool proxy);
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
/// The description of `owner`'s many-to-many field `name` to the model labelled `target_label`
/// (`target` gives its description when asked), with its auto-created through model.
/// `symmetrical`: nullopt = Django's default (true for a relation to the model itself).
[[nodiscard]] ManyToManyInfo describe_many_to_many(const ModelInfo& owner, std::string_view name,
                                                   const ModelInfo& (*owner_info)(),
                                                   std::string_view target_label,
                                                   const ModelInfo& (*target)(),
                                                   std::optional<bool> symmetrical,
                                                   std::string_view db_table);
}  // namespace detail

}  // namespace tocsin
