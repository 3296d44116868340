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

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "tocsin/db/error.hpp"
#include "tocsin/db/value.hpp"
#include "tocsin/db/value_ref.hpp"
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
    /// The fields a query with only() / defer() did not load (Django's deferred fields), in
    /// field order: they hold their default value, not the row's. save() then writes the other
    /// fields only; refresh_from_db({names}) loads them. Empty for a fully loaded instance.
    std::vector<std::string> deferred{};

    // Copy, move and destruction out of line (src/models/model_info.cpp): compiled once, not in
    // every file copying a model.
    ModelState() = default;
    ModelState(const ModelState& other);
    ModelState(ModelState&& other) noexcept;
    ModelState& operator=(const ModelState& other);
    ModelState& operator=(ModelState&& other) noexcept;
    ~ModelState();
};

/// The fields given to save(update_fields=…), by name: `{"slug", "title"}`, or a
/// `std::vector<std::string>`. Not given (default-constructed, or std::nullopt) = every field; an
/// empty list (`std::vector<std::string>{}`) = none. Reads like a
/// `std::optional<std::vector<std::string>>`.
class UpdateFields {
  public:
    /// Not given: every field is saved.
    UpdateFields() = default;
    UpdateFields(std::nullopt_t) noexcept {}  // NOLINT(google-explicit-constructor)
    /// These names: `{"slug", "title"}`.
    UpdateFields(std::initializer_list<std::string_view> names)  // NOLINT
        : names_(std::in_place) {
        names_->reserve(names.size());
        for (const auto name : names) {
            names_->emplace_back(name);
        }
    }
    /// These names (a list built at run time).
    UpdateFields(std::vector<std::string> names)  // NOLINT(google-explicit-constructor)
        : names_(std::move(names)) {}
    UpdateFields(std::optional<std::vector<std::string>> names)  // NOLINT
        : names_(std::move(names)) {}

    /// True when a list was given (possibly empty).
    [[nodiscard]] bool has_value() const noexcept { return names_.has_value(); }
    explicit operator bool() const noexcept { return names_.has_value(); }
    /// The names given (has_value() must be true).
    [[nodiscard]] const std::vector<std::string>& operator*() const noexcept { return *names_; }
    [[nodiscard]] const std::vector<std::string>* operator->() const noexcept { return &*names_; }

  protected:
    std::optional<std::vector<std::string>> names_{};
};

/// Options of save().
struct SaveOptions {
    /// Save only these fields (UPDATE of those columns). An empty list saves nothing and sends
    /// no signal, as in Django.
    UpdateFields update_fields{};
    /// The database alias (default: the instance's, else "default").
    std::string database{};
    bool force_insert = false;  ///< INSERT even when the instance has an id
    bool raw = false;           ///< a fixture load: receivers see raw = true
};

/// Options of remove(): `x.remove({.keep_parents = true})`.
struct RemoveOptions {
    std::string database{};  ///< the database alias (default: the instance's, else "default")
    /// For a model extending another (multi-table inheritance): remove the model's own row (and
    /// what cascades from it) but keep the rows of the models it extends, and what references
    /// them (Django's `delete(keep_parents=True)`).
    bool keep_parents = false;
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

    // Copy, move and destruction out of line (src/models/model_info.cpp): compiled once, not in
    // every file copying a model.
    ModelBase() = default;
    ModelBase(const ModelBase& other);
    ModelBase(ModelBase&& other) noexcept;
    ModelBase& operator=(const ModelBase& other);
    ModelBase& operator=(ModelBase&& other) noexcept;
    ~ModelBase();

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
/// Saves `instance` as a new row in the database `alias` ("" = the instance's, else "default"):
/// save_instance() with `{.database = alias, .force_insert = true}`, without building the
/// options (Manager::create()). Errors name `where`.
void create_instance(ModelBase& instance, const ModelInfo& info, std::string_view alias,
                     tocsin::source_location where = tocsin::source_location::current());
/// Removes `instance` and everything its removal cascades to, sending the signals; with
/// `keep_parents`, the rows of the models `info` extends stay. Errors name `where`.
DeleteResult remove_instance(ModelBase& instance, const ModelInfo& info, std::string_view alias,
                             bool keep_parents = false,
                             tocsin::source_location where = tocsin::source_location::current());
/// Reloads the fields of `instance` from its row: those named by `fields` (and no init signal),
/// or when null every field it loaded (not the deferred ones, as Django). Errors name `where`.
void refresh_instance(ModelBase& instance, const ModelInfo& info,
                      const std::vector<std::string>* fields = nullptr,
                      tocsin::source_location where = tocsin::source_location::current());

/// True for a proxy model (`static constexpr bool proxy = true;`, Django's Meta.proxy).
template <class T>
inline constexpr bool is_proxy = [] {
    if constexpr (requires { T::proxy; }) {
        return static_cast<bool>(T::proxy);
    } else {
        return false;
    }
}();

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

/// Django's name of the parent link field of a model extending `parent_model_name`: "event_ptr".
[[nodiscard]] std::string parent_link_name(std::string_view parent_model_name);
template <class K>
concept tuple_like = requires {
    std::tuple_size<K>::value;
};

/// Fills `info.natural_key` from T's declarations: `natural_key()` (a std::tuple, std::pair or
/// std::array of storable values), `static T get_by_natural_key(const Manager<T>&, values...)`
/// and `natural_key_dependencies` (labels).
template <class T>
void describe_natural_key(ModelInfo& info) {
    if constexpr (requires(const T& t) { t.natural_key(); }) {
        using Key = std::remove_cvref_t<decltype(std::declval<const T&>().natural_key())>;
        static_assert(tuple_like<Key>,
                      "natural_key() returns a std::tuple (or std::pair, std::array) of values: "
                      "`auto natural_key() const { return std::tuple(name); }`");
        [&info]<std::size_t... I>(std::index_sequence<I...>) {
            static_assert((db::Storable<std::remove_cvref_t<std::tuple_element_t<I, Key>>> && ...),
                          "every value natural_key() returns must be of a type a field can have");
            info.natural_key.parts = {NaturalKeyInfo::Part{
                db::value_traits<std::remove_cvref_t<std::tuple_element_t<I, Key>>>::logical_type,
                db::value_traits<std::remove_cvref_t<std::tuple_element_t<I, Key>>>::nullable}...};
            info.natural_key.of = [](const ModelBase& m) {
                const Key key = static_cast<const T&>(m).natural_key();
                return std::vector<db::Value>{db::to_value(std::get<I>(key))...};
            };
            if constexpr (requires(const Manager<T>& objects) {
                              {
                                  T::get_by_natural_key(objects,
                                                        std::declval<const std::remove_cvref_t<
                                                            std::tuple_element_t<I, Key>>&>()...)
                                  } -> std::convertible_to<const ModelBase&>;
                          }) {
                info.natural_key.lookup =
                    [](const std::vector<db::Value>& key,
                       const std::string& database) -> std::optional<std::int64_t> {
                    if (key.size() != sizeof...(I)) {
                        throw db::DataError("a natural key of " + std::string(T::label) + " has " +
                                            std::to_string(sizeof...(I)) + " value(s), not " +
                                            std::to_string(key.size()));
                    }
                    try {
                        const auto& found = T::get_by_natural_key(
                            Manager<T>(database),
                            db::from_value<std::remove_cvref_t<std::tuple_element_t<I, Key>>>(
                                key[I])...);
                        return static_cast<const ModelBase&>(found).id;
                    } catch (const DoesNotExist&) {
                        return std::nullopt;
                    }
                };
            }
        }
        (std::make_index_sequence<std::tuple_size_v<Key>>{});
    }
    if constexpr (requires { T::natural_key_dependencies; }) {
        for (const auto& label : T::natural_key_dependencies) {
            info.natural_key.dependencies.emplace_back(label);
        }
    }
}

/// Whether a member of type `M` has a view without a scratch value (ModelInfo::view_fields):
/// text and blobs (borrowed), integers, booleans, floating point, keys, and optionals of them.
/// Other types (enums, instants, the user's own) go through the field's `view`.
template <class M>
constexpr bool viewed_directly() {
    if constexpr (relation_traits<M>::is_relation) {
        return true;
    } else if constexpr (is_optional<M>::value) {
        return viewed_directly<typename M::value_type>();
    } else {
        return std::is_same_v<M, std::string> || std::is_same_v<M, db::Blob> ||
               std::is_integral_v<M> || std::is_floating_point_v<M>;
    }
}

/// The view of member value `v` (a type viewed_directly()), as db::view_of() makes it;
/// sets `nan` when it is a floating-point NaN.
template <class M>
db::ValueRef direct_view(const M& v, bool& nan) {
    if constexpr (relation_traits<M>::is_relation) {
        const auto& id = v.id();
        return id ? db::ValueRef(*id) : db::ValueRef(db::null);
    } else if constexpr (is_optional<M>::value) {
        return v ? direct_view(*v, nan) : db::ValueRef(db::null);
    } else if constexpr (std::is_same_v<M, std::string>) {
        return db::ValueRef(std::string_view(v));
    } else if constexpr (std::is_same_v<M, db::Blob>) {
        return db::ValueRef(std::span<const std::byte>(v));
    } else if constexpr (std::is_same_v<M, bool>) {
        return db::ValueRef(std::int64_t{v ? 1 : 0});
    } else if constexpr (std::is_integral_v<M>) {
        if constexpr (std::is_unsigned_v<M> && sizeof(M) >= sizeof(std::int64_t)) {
            if (v > static_cast<M>(std::numeric_limits<std::int64_t>::max())) [[unlikely]] {
                (void)db::value_traits<M>::to_value(v);  // throws the out-of-range DataError
            }
        }
        return db::ValueRef(static_cast<std::int64_t>(v));
    } else {
        static_assert(std::is_floating_point_v<M>);
        const auto d = static_cast<double>(v);
        nan = nan || __builtin_isnan(d);  // std::isnan without <cmath>: 12,000 lines a file
        return db::ValueRef(d);
    }
}

/// ModelInfo::view_fields of model `T`: the view of each own field (not the many-to-many
/// relations), in declaration order.
template <class T>
std::size_t view_fields_of(const ModelBase& instance, db::ValueRef* out) {
    const T& object = static_cast<const T&>(instance);
    std::size_t n = 0;
    std::size_t nan_at = static_cast<std::size_t>(-1);
    apply_fields(
        [&](const auto&... f) {
            (
                [&](const auto& fld) {
                    using M = std::remove_cvref_t<decltype(object.*(fld.member))>;
                    if constexpr (!is_many_to_many<M>::value) {
                        bool nan = false;
                        out[n] = direct_view(object.*(fld.member), nan);
                        if (nan && nan_at == static_cast<std::size_t>(-1)) [[unlikely]] {
                            nan_at = n;
                        }
                        ++n;
                    }
                }(f),
                ...);
        },
        T::fields());
    return nan_at == static_cast<std::size_t>(-1) ? n : nan_at;
}

/// Whether every own field of `T` is viewed_directly() (then view_fields_of<T> serves).
template <class T>
constexpr bool views_fields_directly() {
    return []<class... F>(std::type_identity<FieldList<F...>>) {
        return (([]<class C, class M>(std::type_identity<Field<C, M>>) {
                    return is_many_to_many<M>::value || viewed_directly<M>();
                }(std::type_identity<F>{})) &&
                ...);
    }(std::type_identity<typename field_types<decltype(T::fields())>::type>{});
}

/// A new default-initialised `T`, a copy of `instance` (a `T`) and the deletion of an instance
/// (a `T`): what ModelInfo::make and clone use (set_instance_functions), one small function
/// each per model.
template <class T>
ModelBase* new_instance() {
    return new T();
}
template <class T>
ModelBase* copy_instance(const ModelBase& instance) {
    return new T(static_cast<const T&>(instance));
}
template <class T>
void delete_instance(ModelBase* instance) noexcept {
    delete static_cast<T*>(instance);
}

/// The accessors of a member of type `M` (FieldInfo::get, set and view), applied to an instance
/// through an ErasedMember: compiled once per member type, not per field and model. Those of
/// the common types (TOCSIN_DETAIL_MEMBER_ACCESSORS below) are compiled in the library.
template <class M>
db::Value get_member(const ErasedMember& member, const ModelBase& instance) {
    return db::to_value(instance.*member.get<M>());
}
template <class M>
void set_member(const ErasedMember& member, ModelBase& instance, const db::Value& value) {
    instance.*member.get<M>() = db::from_value<M>(value);
}
template <class M>
db::ValueRef view_member(const ErasedMember& member, const ModelBase& instance,
                         db::Value& scratch) {
    return db::view_of(instance.*member.get<M>(), scratch);
}
/// The accessors of a ForeignKey or OneToOne member `K`: its id.
template <class K>
db::Value get_key(const ErasedMember& member, const ModelBase& instance) {
    return db::Value((instance.*member.get<K>()).id());
}
template <class K>
void set_key(const ErasedMember& member, ModelBase& instance, const db::Value& value) {
    (instance.*member.get<K>())
        .set_id(value.is_null() ? std::nullopt : std::optional<std::int64_t>(value.as_integer()));
}
template <class K>
db::ValueRef view_key(const ErasedMember& member, const ModelBase& instance, db::Value&) {
    const auto& id = (instance.*member.get<K>()).id();
    return id ? db::ValueRef(*id) : db::ValueRef(db::null);
}

// The member types whose accessors the library compiles (src/models/model_info.cpp), for every
// file using a model not to: `X(M)` for each.
// clang-format off
#define TOCSIN_DETAIL_MEMBER_TYPES(X) \
    X(bool)                         \
    X(int)                          \
    X(unsigned)                     \
    X(std::int64_t)                 \
    X(std::uint64_t)                \
    X(double)                       \
    X(std::string)                  \
    X(db::Blob)                     \
    X(db::Timestamp)                \
    X(std::optional<bool>)          \
    X(std::optional<int>)           \
    X(std::optional<std::int64_t>)  \
    X(std::optional<double>)        \
    X(std::optional<std::string>)   \
    X(std::optional<db::Timestamp>)
// clang-format on
// The accessors of member type M, declared with `extern` or defined (explicit instantiation).
#define TOCSIN_DETAIL_MEMBER_ACCESSORS(PREFIX, M)                                          \
    PREFIX template db::Value get_member<M>(const ErasedMember&, const ModelBase&);        \
    PREFIX template void set_member<M>(const ErasedMember&, ModelBase&, const db::Value&); \
    PREFIX template db::ValueRef view_member<M>(const ErasedMember&, const ModelBase&, db::Value&);
#define TOCSIN_DETAIL_EXTERN_MEMBER_ACCESSORS(M) TOCSIN_DETAIL_MEMBER_ACCESSORS(extern, M)
TOCSIN_DETAIL_MEMBER_TYPES(TOCSIN_DETAIL_EXTERN_MEMBER_ACCESSORS)
#undef TOCSIN_DETAIL_EXTERN_MEMBER_ACCESSORS

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
    set_instance_functions(*info, &new_instance<T>, &copy_instance<T>, &delete_instance<T>);
    const T prototype{};
    apply_fields(
        [&](const auto&... f) {
            (
                [&](const auto& fld) {
                    using M = std::remove_cvref_t<decltype(prototype.*(fld.member))>;
                    if constexpr (is_many_to_many<M>::value) {
                        // Not a column: rows of an auto-created through table.
                        using Target = typename M::target_type;
                        const auto& options = (prototype.*(fld.member)).options();
                        info->references.push_back({std::string(fld.name),
                                                    std::string(Target::label),
                                                    Sender::of<Target>()});
                        info->many_to_many.push_back(describe_many_to_many(
                            *info, fld.name, []() -> const ModelInfo& { return T::info(); },
                            Target::label, []() -> const ModelInfo& { return Target::info(); },
                            options.symmetrical, options.db_table));
                    } else {
                        FieldInfo fi;
                        fi.name = std::string(fld.name);
                        fi.type = logical_type_of<M>();
                        fi.unique = fld.options.unique;
                        fi.db_index = fld.options.db_index;
                        const auto member = fld.member;
                        // The member as one of ModelBase (T's base): the accessors of its type
                        // serve every model (see get_member).
                        M T::*const own = member;
                        const ErasedMember erased(static_cast<M ModelBase::*>(own));
                        if constexpr (relation_traits<M>::is_relation) {
                            using Target = typename relation_traits<M>::target;
                            info->references.push_back({std::string(fld.name),
                                                        std::string(Target::label),
                                                        Sender::of<Target>()});
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
                            fi.get = {&get_key<M>, erased};
                            fi.view = {&view_key<M>, erased};
                            fi.set = {&set_key<M>, erased};
                        } else {
                            fi.column = fld.options.db_column.empty()
                                            ? fi.name
                                            : std::string(fld.options.db_column);
                            fi.nullable = fld.options.null || is_optional<M>::value;
                            fi.default_value = db::to_value(prototype.*member);
                            fi.get = {&get_member<M>, erased};
                            fi.view = {&view_member<M>, erased};
                            fi.set = {&set_member<M>, erased};
                        }
                        info->fields.push_back(std::move(fi));
                    }
                }(f),
                ...);
        },
        T::fields());
    if constexpr (views_fields_directly<T>()) {
        info->view_fields = &view_fields_of<T>;
    }
    if constexpr (requires { T::indexes(); }) {
        info->indexes = T::indexes();
    }
    if constexpr (requires { T::constraints(); }) {
        info->constraints = T::constraints();
    }
    describe_natural_key<T>(*info);
    return info;
}

/// The column of member `member` of model `T` (looked up in T::fields()).
template <class T, class C, class M>
std::string column_of(M C::*member) {
    if constexpr (std::is_same_v<C, ModelBase>) {
        return "id";
    } else {
        std::string column;
        apply_fields(
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
/// The declared name of member `member` of model `C` (looked up in C::fields()); ModelError when
/// the member is not a declared field.
template <class C, class M>
std::string field_name_of(M C::*member) {
    std::string name;
    apply_fields(
        [&](const auto&... f) {
            (
                [&](const auto& fld) {
                    if constexpr (std::is_same_v<decltype(fld.member), M C::*>) {
                        if (name.empty() && fld.member == member) {
                            name = std::string(fld.name);
                        }
                    }
                }(f),
                ...);
        },
        C::fields());
    if (name.empty()) {
        throw ModelError("The following fields do not exist in this model (" +
                         std::string(C::label) +
                         "), are m2m fields, or are non-concrete fields: the member given is not "
                         "a declared field");
    }
    return name;
}
}  // namespace detail

/// True when a `M C::*` names a field of model `T` that save(update_fields=…) can write: a
/// member of `T` or of a model it extends, not the id, not a many-to-many relation.
template <class C, class M, class T>
concept saveable_member_of =
    std::is_base_of_v<C, T> && !std::is_same_v<C, ModelBase> && !detail::is_many_to_many<M>::value;

/// The fields given to save(update_fields=…) of model `T`: names (`{"slug"}`) or member
/// pointers of `T` or of a model it extends (`{&Post::slug, &Post::title}`). A member pointer of
/// another model, the `id`, or a many-to-many member does not compile (saveable_member_of); a
/// member that is not a declared field is a ModelError.
template <class T>
class UpdateFieldsOf : public UpdateFields {
  public:
    using UpdateFields::UpdateFields;
    /// The fields these members hold.
    template <class... C, class... M>
    requires(sizeof...(M) > 0 && (saveable_member_of<C, M, T> && ...))
        UpdateFieldsOf(M C::*... members) {  // NOLINT(google-explicit-constructor)
        names_.emplace();
        (names_->push_back(detail::field_name_of<C>(members)), ...);
    }
};

/// Options of Model<T>::save(), with update_fields checked against `T` (see UpdateFieldsOf).
/// Converts to SaveOptions.
template <class T>
struct SaveOptionsOf {
    UpdateFieldsOf<T> update_fields{};  ///< as SaveOptions::update_fields
    std::string database{};             ///< as SaveOptions::database
    bool force_insert = false;          ///< as SaveOptions::force_insert
    bool raw = false;                   ///< as SaveOptions::raw

    /// The untyped options.
    operator SaveOptions() const {  // NOLINT(google-explicit-constructor)
        return SaveOptions{update_fields, database, force_insert, raw};
    }
};

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
/// A proxy model (Django's `Meta.proxy = True`) names the model it stands for as `Parent` and
/// declares `static constexpr bool proxy = true;` and no field: it reads and writes the rows of
/// that model's table (no table of its own), with its own label and sender, so a proxy instance's
/// signals are sent with the proxy as sender.
/// `T` may declare a natural key, as Django's models do for fixtures (`dumpdata
/// --natural-foreign / --natural-primary`, read back by loaddata): `auto natural_key() const`
/// returning a std::tuple (or std::pair, std::array) of field values, and
/// `static T get_by_natural_key(const tocsin::Manager<T>& objects, values...)` (Django's
/// manager method; `objects` reads the database being loaded; throws DoesNotExist when no row
/// has that key), callable as `T::objects().get_by_natural_key(values...)`. Optionally
/// `static constexpr std::array natural_key_dependencies{std::string_view("app.Model"), …}`:
/// the models whose rows the key is made from (Django's `natural_key.dependencies`).
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
            if constexpr (detail::is_proxy<T>) {
                static_assert(!std::is_void_v<Parent>,
                              "a proxy model names the model it stands for as its parent");
                static_assert(detail::field_count<decltype(T::fields())>::value == 0,
                              "a proxy model declares no field (Django: 'Proxy model contains "
                              "model fields.')");
            }
            if constexpr (std::is_void_v<Parent>) {
                return detail::finish_model_info(detail::build_model_info<T>(), nullptr, {}, {},
                                                 false);
            } else {
                const std::string_view parent_label = Parent::label;
                const Sender parent_sender = Sender::of<Parent>();
                return detail::finish_model_info(detail::build_model_info<T>(), parent,
                                                 parent_label, parent_sender, detail::is_proxy<T>);
            }
        }();
        return *built;
    }

    /// The model's manager for the "default" database: `User::objects().create(…)`.
    static Manager<T> objects();

    /// Saves the instance: pre_save, then UPDATE (when it has an id and its row exists) or
    /// INSERT, then post_save with `created`. Throws ModelError for an unknown update_fields name,
    /// db::DataError for a NaN in a floating-point field (SQLite would store NULL), and what the
    /// database throws, naming `where` (the caller's line).
    /// `save({.update_fields = {"slug"}})` or `save({.update_fields = {&Post::slug}})`.
    void save(const SaveOptionsOf<T>& options = {},
              tocsin::source_location where = tocsin::source_location::current()) {
        detail::save_instance(*this, info(), options, where);
    }
    /// save() with options built beforehand as a SaveOptions.
    template <class O>
    requires std::is_same_v<O, SaveOptions>
    void save(const O& options,
              tocsin::source_location where = tocsin::source_location::current()) {
        detail::save_instance(*this, info(), options, where);
    }

    /// Removes the instance and every row its removal cascades to, sending pre_delete and
    /// post_delete for each in Django's order; the id is cleared afterwards. Throws
    /// ProtectedError / RestrictedError (nothing removed) and ModelError when never saved.
    DeleteResult remove(std::string_view database = {},
                        tocsin::source_location where = tocsin::source_location::current()) {
        return detail::remove_instance(*this, info(), database, false, where);
    }
    /// remove() with options: `comment.remove({.keep_parents = true})` removes the Comment row
    /// only (and what cascades from it), keeping its Event row; the id is cleared afterwards.
    DeleteResult remove(const RemoveOptions& options,
                        tocsin::source_location where = tocsin::source_location::current()) {
        return detail::remove_instance(*this, info(), options.database, options.keep_parents,
                                       where);
    }

    /// Reloads every field from the database (DoesNotExist if the row is gone); on an instance
    /// loaded with only() / defer(), the loaded fields only (Django's). Errors name `where`.
    void refresh_from_db(tocsin::source_location where = tocsin::source_location::current()) {
        detail::refresh_instance(*this, info(), nullptr, where);
    }
    /// Reloads the fields named (Django's `refresh_from_db(fields=[…])`), loading deferred ones:
    /// `u.refresh_from_db({"email"})`. ModelError for an unknown name.
    void refresh_from_db(const std::vector<std::string>& fields,
                         tocsin::source_location where = tocsin::source_location::current()) {
        detail::refresh_instance(*this, info(), &fields, where);
    }
};

/// The descriptions of models, for an AppConfig's models(): `return tocsin::describe<User>();`.
template <class... M>
std::vector<const apps::ModelDescription*> describe() {
    return {static_cast<const apps::ModelDescription*>(&M::info())...};
}

}  // namespace tocsin

/// TOCSIN_EXTERN_MODEL(T): compile the description of model `T` (detail::build_model_info<T>,
/// the largest code a model brings: a third of the object of a file using three models at -O0)
/// once, in the file that says TOCSIN_INSTANTIATE_MODEL(T), instead of in every file that uses
/// `T`. Opt-in, and only a matter of compile time: write it after the model in the header that
/// defines it, outside any namespace (an explicit instantiation names the template from the
/// global scope):
///
///     namespace shop { struct Product : tocsin::Model<Product> { … }; }
///     TOCSIN_EXTERN_MODEL(shop::Product);          // shop/models.hpp
///     TOCSIN_INSTANTIATE_MODEL(shop::Product);     // shop/models.cpp, exactly one file
///
/// A program whose header says TOCSIN_EXTERN_MODEL(T) and none of whose files says
/// TOCSIN_INSTANTIATE_MODEL(T) fails to link (`tocsin::detail::build_model_info<T>()` undefined).
#define TOCSIN_EXTERN_MODEL(...) \
    extern template ::tocsin::ModelInfo* ::tocsin::detail::build_model_info<__VA_ARGS__>()
/// TOCSIN_INSTANTIATE_MODEL(T): the one file compiling the description of model `T` declared
/// with TOCSIN_EXTERN_MODEL(T) (outside any namespace, after the header defining `T`).
#define TOCSIN_INSTANTIATE_MODEL(...) \
    template ::tocsin::ModelInfo* ::tocsin::detail::build_model_info<__VA_ARGS__>()
