// tocsin::Model<T> — a model: a struct whose declared fields map to a table's columns.
//
//   struct User : tocsin::Model<User> {
//       static constexpr std::string_view label = "auth.User";
//       std::string username;
//       std::string email;
//       static auto fields() {
//           return tocsin::fields(tocsin::field("username", &User::username, {.unique = true}),
//                                 tocsin::field("email", &User::email));
//       }
//   };
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "tocsin/db/value.hpp"
#include "tocsin/models/changes.hpp"
#include "tocsin/models/errors.hpp"
#include "tocsin/models/fields.hpp"
#include "tocsin/models/model_info.hpp"
#include "tocsin/models/related.hpp"
#include "tocsin/models/signals.hpp"
#include "tocsin/source_location.hpp"

namespace tocsin {

/// Where an instance stands (Django's `_state`): not yet saved, and which database it is in.
struct ModelState {
    bool adding = true;    ///< true until the instance is saved or loaded
    std::string database;  ///< the alias it was saved to or loaded from ("" before)
};

/// Options of save().
struct SaveOptions {
    /// Save only these fields (UPDATE of those columns). An empty list saves nothing and sends
    /// no signal, as in Django.
    std::optional<std::vector<std::string>> update_fields{};
    /// The database alias (default: the instance's, else "default").
    std::string database{};
    bool force_insert = false;  ///< INSERT even when the instance has an id
    bool raw = false;           ///< a fixture load: receivers see raw = true
};

/// What a removal removed: the total and the count per model label (Django's return value).
struct DeleteResult {
    std::size_t total = 0;
    std::map<std::string, std::size_t> per_model;
};

namespace detail {
struct SnapshotAccess;
}

/// The part of every model that is not a declared field: the primary key and the state.
class ModelBase {
  public:
    /// The automatic integer primary key; nullopt until the row exists.
    std::optional<std::int64_t> id{};

    /// Where the instance stands.
    [[nodiscard]] const ModelState& state() const noexcept { return state_; }
    /// Where the instance stands (the model layer updates it).
    [[nodiscard]] ModelState& state() noexcept { return state_; }

    /// True when the instance holds a snapshot of its loaded (or last saved) values, to tell
    /// pre_save / post_save receivers what changed. Only models with a receiver connected with
    /// `tocsin::track_changes` keep one; the others store nothing.
    [[nodiscard]] bool tracks_changes() const noexcept { return snapshot_ != nullptr; }

  private:
    friend struct detail::SnapshotAccess;
    ModelState state_{};
    std::shared_ptr<const detail::FieldSnapshot> snapshot_{};  ///< immutable, shared by copies
};

namespace detail {
/// The model layer's access to an instance's snapshot.
struct SnapshotAccess {
    static const std::shared_ptr<const FieldSnapshot>& get(const ModelBase& m) noexcept {
        return m.snapshot_;
    }
    static void set(ModelBase& m, std::shared_ptr<const FieldSnapshot> s) noexcept {
        m.snapshot_ = std::move(s);
    }
};
}  // namespace detail

template <class T>
class Manager;
template <class T>
class QuerySet;

namespace detail {
/// Saves `instance` of the model `info` (pre_save, INSERT or UPDATE, post_save); errors name
/// `where`, the caller of the model API.
void save_instance(ModelBase& instance, const ModelInfo& info, const SaveOptions& options,
                   tocsin::source_location where = tocsin::source_location::current());
/// Removes `instance` and everything its removal cascades to, sending the signals.
DeleteResult remove_instance(ModelBase& instance, const ModelInfo& info, std::string_view alias,
                             tocsin::source_location where = tocsin::source_location::current());
/// Reloads every field of `instance` from its row.
void refresh_instance(ModelBase& instance, const ModelInfo& info,
                      tocsin::source_location where = tocsin::source_location::current());

template <class M>
constexpr db::LogicalType logical_type_of() {
    if constexpr (relation_traits<M>::is_relation) {
        return db::LogicalType::integer;
    } else {
        return db::value_traits<M>::logical_type;
    }
}
template <class M>
struct is_optional : std::false_type {};
template <class M>
struct is_optional<std::optional<M>> : std::true_type {};

/// Builds the description of model `T` from its label and fields().
template <class T>
ModelInfo* build_model_info() {
    auto* info = new ModelInfo;
    const auto [app_label, model_name] = apps::split_label(T::label);
    info->app_label = app_label;
    info->model_name = model_name;
    info->sender = Sender::of<T>();
    if constexpr (requires { T::db_table; }) {
        info->table = std::string(T::db_table);
    } else {
        info->table = default_table(app_label, model_name);
    }
    info->make = [] { return std::shared_ptr<ModelBase>(std::make_shared<T>()); };
    info->clone = [](const ModelBase& m) {
        return std::shared_ptr<ModelBase>(std::make_shared<T>(static_cast<const T&>(m)));
    };
    const T prototype{};
    std::apply(
        [&](const auto&... f) {
            (
                [&](const auto& fld) {
                    using M = std::remove_cvref_t<decltype(prototype.*(fld.member))>;
                    if constexpr (is_many_to_many<M>::value) {
                        // Not a column: rows of an auto-created through table.
                        using Target = typename M::target_type;
                        const auto& options = (prototype.*(fld.member)).options();
                        info->many_to_many.push_back(describe_many_to_many(
                            *info, fld.name, []() -> const ModelInfo& { return T::info(); },
                            Target::label, []() -> const ModelInfo& { return Target::info(); },
                            options.symmetrical, options.db_table));
                    } else {
                        FieldInfo fi;
                        fi.name = std::string(fld.name);
                        fi.type = logical_type_of<M>();
                        fi.unique = fld.options.unique;
                        const auto member = fld.member;
                        if constexpr (relation_traits<M>::is_relation) {
                            using Target = typename relation_traits<M>::target;
                            fi.column = fld.options.db_column.empty()
                                            ? fi.name + "_id"
                                            : std::string(fld.options.db_column);
                            fi.is_relation = true;
                            fi.one_to_one = relation_traits<M>::one_to_one;
                            fi.unique = fi.unique || fi.one_to_one;
                            fi.on_delete = (prototype.*member).on_delete();
                            fi.nullable = fld.options.null || fi.on_delete == OnDelete::set_null;
                            fi.target = []() -> const ModelInfo& { return Target::info(); };
                            fi.default_value = db::Value((prototype.*member).id());
                            fi.get = [member](const ModelBase& m) {
                                return db::Value((static_cast<const T&>(m).*member).id());
                            };
                            fi.view = [member](const ModelBase& m, db::Value&) {
                                const auto id = (static_cast<const T&>(m).*member).id();
                                return id ? db::ValueRef(*id) : db::ValueRef(db::null);
                            };
                            fi.set = [member](ModelBase& m, const db::Value& v) {
                                (static_cast<T&>(m).*member)
                                    .set_id(v.is_null()
                                                ? std::nullopt
                                                : std::optional<std::int64_t>(v.as_integer()));
                            };
                        } else {
                            fi.column = fld.options.db_column.empty()
                                            ? fi.name
                                            : std::string(fld.options.db_column);
                            fi.nullable = fld.options.null || is_optional<M>::value;
                            fi.default_value = db::to_value(prototype.*member);
                            fi.get = [member](const ModelBase& m) {
                                return db::to_value(static_cast<const T&>(m).*member);
                            };
                            fi.view = [member](const ModelBase& m, db::Value& scratch) {
                                return db::view_of(static_cast<const T&>(m).*member, scratch);
                            };
                            fi.set = [member](ModelBase& m, const db::Value& v) {
                                static_cast<T&>(m).*member = db::from_value<M>(v);
                            };
                        }
                        info->fields.push_back(std::move(fi));
                    }
                }(f),
                ...);
        },
        T::fields());
    return info;
}

/// The column of member `member` of model `T` (looked up in T::fields()).
template <class T, class C, class M>
std::string column_of(M C::*member) {
    if constexpr (std::is_same_v<C, ModelBase>) {
        return "id";
    } else {
        std::string column;
        std::apply(
            [&](const auto&... f) {
                (
                    [&](const auto& fld) {
                        if constexpr (std::is_same_v<decltype(fld.member), M C::*> &&
                                      !is_many_to_many<M>::value) {
                            if (column.empty() && fld.member == member) {
                                column = T::info().field(fld.name)->column;
                            }
                        }
                    }(f),
                    ...);
            },
            T::fields());
        if (column.empty()) {
            throw ModelError("the member given is not a declared field of " +
                             std::string(T::label));
        }
        return column;
    }
}
}  // namespace detail

namespace detail {
/// What Model<T, Parent> derives from: ModelBase, or the parent model.
template <class Parent>
struct model_base {
    using type = Parent;
};
template <>
struct model_base<void> {
    using type = ModelBase;
};
}  // namespace detail

/// The base of every model `T` (CRTP). `T` declares `static constexpr std::string_view label`
/// ("app_label.ModelName") and `static auto fields()`; it gets an automatic `id`, save(),
/// remove(), refresh_from_db(), objects() and its description info().
///
/// `Parent`, when given, is a concrete model that `T` extends (Django's multi-table
/// inheritance): `struct Comment : tocsin::Model<Comment, Event> { … }`. A Comment is then an
/// Event (one `id`, Event's fields inherited); its fields() lists its own fields only. Its row
/// is an Event row plus a Comment row with the same id; Event's queries see the Event part of
/// every Comment. Comment's save(), remove(), info() and objects() hide Event's: call them on a
/// Comment (through an `Event&`, Event's run, on the Event part only).
template <class T, class Parent = void>
class Model : public detail::model_base<Parent>::type {
  public:
    /// The model this one extends (void for none).
    using parent_model = Parent;

    /// The model's description, built on first use (and class_prepared sent); the parent's is
    /// built first.
    static const ModelInfo& info() {
        static_assert(std::is_void_v<Parent> || std::is_base_of_v<ModelBase, Parent>,
                      "the parent of a model must be a model");
        static const ModelInfo* built = [] {
            const ModelInfo* parent = nullptr;
            if constexpr (!std::is_void_v<Parent>) {
                static_assert(T::label != Parent::label,
                              "a model extending another declares its own label");
                parent = &Parent::info();
            }
            std::unique_ptr<ModelInfo> i(detail::build_model_info<T>());
            detail::link_model_info(*i, parent);  // throws on a clash: nothing registered
            const ModelInfo* built_info = i.release();
            detail::register_model_info(built_info);
            return built_info;
        }();
        return *built;
    }

    /// The model's manager for the "default" database: `User::objects().create(…)`.
    static Manager<T> objects();

    /// Saves the instance: pre_save, then UPDATE (when it has an id and its row exists) or
    /// INSERT, then post_save with `created`. Throws ModelError for an unknown update_fields name,
    /// db::DataError for a NaN in a floating-point field (SQLite would store NULL), and what the
    /// database throws, naming `where` (the caller's line).
    void save(const SaveOptions& options = {},
              tocsin::source_location where = tocsin::source_location::current()) {
        detail::save_instance(*this, info(), options, where);
    }

    /// Removes the instance and every row its removal cascades to, sending pre_delete and
    /// post_delete for each in Django's order; the id is cleared afterwards. Throws
    /// ProtectedError / RestrictedError (nothing removed) and ModelError when never saved.
    DeleteResult remove(std::string_view database = {},
                        tocsin::source_location where = tocsin::source_location::current()) {
        return detail::remove_instance(*this, info(), database, where);
    }

    /// Reloads every field from the database (DoesNotExist if the row is gone).
    void refresh_from_db(tocsin::source_location where = tocsin::source_location::current()) {
        detail::refresh_instance(*this, info(), where);
    }
};

/// The descriptions of models, for an AppConfig's models(): `return tocsin::describe<User>();`.
template <class... M>
std::vector<const apps::ModelDescription*> describe() {
    return {static_cast<const apps::ModelDescription*>(&M::info())...};
}

}  // namespace tocsin
