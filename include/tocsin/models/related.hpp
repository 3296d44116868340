// tocsin::ForeignKey, tocsin::OneToOne and tocsin::ManyToMany — the relation members of a model.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "tocsin/models/errors.hpp"
#include "tocsin/source_location.hpp"

namespace tocsin {

/// What removing a referenced row does to the rows that reference it (Django's on_delete).
enum class OnDelete { cascade, protect, restrict, set_null, set_default, do_nothing };

/// The on_delete behaviours by their Django names: `ForeignKey<User> user{on_delete::cascade};`.
namespace on_delete {
inline constexpr OnDelete cascade = OnDelete::cascade;          ///< remove them too
inline constexpr OnDelete protect = OnDelete::protect;          ///< refuse: ProtectedError
inline constexpr OnDelete restrict = OnDelete::restrict;        ///< refuse unless removed too
inline constexpr OnDelete set_null = OnDelete::set_null;        ///< set the key to NULL
inline constexpr OnDelete set_default = OnDelete::set_default;  ///< set the key to its default
inline constexpr OnDelete do_nothing = OnDelete::do_nothing;  ///< leave them (the database decides)
}  // namespace on_delete

/// A many-to-one reference to a `T` row. Holds the referenced id; `get()` loads the row.
/// Assigning an object that was never saved is refused (Django's "save() prohibited to prevent
/// data loss due to unsaved related object").
template <class T>
class ForeignKey {
  public:
    using target_type = T;

    /// A key not pointing anywhere yet, removed according to `behaviour`.
    explicit ForeignKey(OnDelete behaviour) noexcept : on_delete_(behaviour) {}
    /// A key to `target` (which must have been saved).
    ForeignKey(const T& target) : ForeignKey(OnDelete::cascade) { *this = target; }  // NOLINT
    /// Points at `target` (which must have been saved).
    ForeignKey& operator=(const T& target) {
        if (!target.id) {
            throw ModelError(
                "save() prohibited to prevent data loss due to unsaved related "
                "object (assigning an unsaved object to a foreign key)");
        }
        id_ = target.id;
        return *this;
    }

    /// The referenced id, or nullopt (NULL).
    [[nodiscard]] const std::optional<std::int64_t>& id() const noexcept { return id_; }
    /// Sets the referenced id directly (nullopt = NULL).
    void set_id(std::optional<std::int64_t> id) noexcept { id_ = id; }
    /// True when it points at a row.
    explicit operator bool() const noexcept { return id_.has_value(); }
    /// The on_delete behaviour this member was declared with.
    [[nodiscard]] OnDelete on_delete() const noexcept { return on_delete_; }

    /// Loads the referenced row (throws DoesNotExist, or ModelError when the key is NULL);
    /// database errors name @p location, the caller's line.
    [[nodiscard]] T get(
        tocsin::source_location location = tocsin::source_location::current()) const;

    /// True when it points at `target`'s row.
    friend bool operator==(const ForeignKey& key, const T& target) noexcept {
        return key.id_.has_value() && key.id_ == target.id;
    }

  private:
    std::optional<std::int64_t> id_;
    OnDelete on_delete_;
};

/// A one-to-one reference: a ForeignKey whose column is unique.
template <class T>
class OneToOne : public ForeignKey<T> {
  public:
    using ForeignKey<T>::ForeignKey;
    using ForeignKey<T>::operator=;
};

/// What a many-to-many declaration may add: `ManyToMany<Person> fans{{.symmetrical = false}}`.
struct ManyToManyOptions {
    /// For a relation to the model itself: whether it goes both ways (Django's default: yes).
    /// Ignored (false) for a relation to another model.
    std::optional<bool> symmetrical{};
    /// The through table (default: "<the model's table>_<field name>", "auth_user_groups").
    std::string_view db_table{};
};

/// A many-to-many relation to `T` (Django's ManyToManyField). The member holds nothing: the
/// related rows live in an auto-created through table. Reach them with
/// `tocsin::related(user, &User::groups)` and, from the other side,
/// `tocsin::related_set(group, &User::groups)` (<tocsin/models/many_to_many.hpp>).
template <class T>
class ManyToMany {
  public:
    using target_type = T;

    /// A relation with Django's defaults.
    constexpr ManyToMany() noexcept = default;
    /// A relation with `options`.
    constexpr explicit ManyToMany(ManyToManyOptions options) noexcept : options_(options) {}

    /// The options this member was declared with.
    [[nodiscard]] constexpr const ManyToManyOptions& options() const noexcept { return options_; }

  private:
    ManyToManyOptions options_{};
};

namespace detail {
template <class M>
struct is_many_to_many : std::false_type {};
template <class T>
struct is_many_to_many<ManyToMany<T>> : std::true_type {};

template <class M>
struct relation_traits {
    static constexpr bool is_relation = false;
};
template <class T>
struct relation_traits<ForeignKey<T>> {
    static constexpr bool is_relation = true;
    static constexpr bool one_to_one = false;
    using target = T;
};
template <class T>
struct relation_traits<OneToOne<T>> {
    static constexpr bool is_relation = true;
    static constexpr bool one_to_one = true;
    using target = T;
};
}  // namespace detail

}  // namespace tocsin
