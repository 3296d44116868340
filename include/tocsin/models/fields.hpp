// Field declarations: `tocsin::field("username", &User::username, {.unique = true})`.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace tocsin {

/// What a field declaration may add to its member's type.
struct FieldOptions {
    bool unique = false;           ///< a UNIQUE column
    bool null = false;             ///< NULL allowed (std::optional members are always nullable)
    std::string_view db_column{};  ///< column name (default: the field name, "<name>_id" for keys)
    bool db_index = false;         ///< an index on the column (Django's db_index=True)
};

/// An index of a model over some of its fields (Django's Meta.indexes entry):
/// `static std::vector<tocsin::Index> indexes() { return {{"post_title_idx", {"title"}}}; }`.
struct Index {
    std::string name;                 ///< the index's name in the database (unique per database)
    std::vector<std::string> fields;  ///< the field names it covers, in order
};

/// A named unique constraint over fields of a model (Django's UniqueConstraint in
/// Meta.constraints): `static std::vector<tocsin::UniqueConstraint> constraints()`.
struct UniqueConstraint {
    std::string name;                 ///< the constraint's name in the database
    std::vector<std::string> fields;  ///< the field names unique together, in order
};

/// One field of model `T`: its name and the member that holds it.
template <class T, class M>
struct Field {
    std::string_view name;
    M T::*member;
    FieldOptions options;
};

/// Declares a field: `field("email", &User::email)`. The member's type gives the column type; its
/// default member initializer gives the default value.
template <class T, class M>
constexpr Field<T, M> field(std::string_view name, M T::*member, FieldOptions options = {}) {
    return Field<T, M>{name, member, options};
}

namespace detail {
/// One field of a FieldList, at position I.
template <std::size_t I, class F>
struct FieldSlot {
    F field;
};
template <class Indices, class... F>
struct FieldListBase;
template <std::size_t... I, class... F>
struct FieldListBase<std::index_sequence<I...>, F...> : FieldSlot<I, F>... {
    /// `fn(field...)`, in column order.
    template <class Fn>
    constexpr decltype(auto) apply(Fn&& fn) const {
        return static_cast<Fn&&>(fn)(static_cast<const FieldSlot<I, F>&>(*this).field...);
    }
};
}  // namespace detail

/// What fields() returns: the fields of a model, in column order. A plain aggregate (no
/// std::tuple: its constructors cost every file declaring a model a noticeable part of its
/// compile time); apply(fn) calls `fn(field...)`.
template <class... F>
struct FieldList : detail::FieldListBase<std::index_sequence_for<F...>, F...> {
    /// How many fields.
    static constexpr std::size_t size = sizeof...(F);
};

/// The fields of a model, in column order: `static auto fields() { return tocsin::fields(...); }`.
template <class... F>
constexpr FieldList<F...> fields(F... f) {
    return FieldList<F...>{{{f}...}};
}

namespace detail {
/// `fn(field...)` for the fields of a model (`T::fields()`): a FieldList, or a std::tuple of
/// fields from a model declared before FieldList.
template <class Fn, class... F>
constexpr decltype(auto) apply_fields(Fn&& fn, const FieldList<F...>& fields) {
    return fields.apply(static_cast<Fn&&>(fn));
}
template <class Fn, class... F>
constexpr decltype(auto) apply_fields(Fn&& fn, const std::tuple<F...>& fields) {
    return std::apply(static_cast<Fn&&>(fn), fields);
}
/// How many fields a model's fields() lists.
template <class L>
struct field_count;
template <class... F>
struct field_count<FieldList<F...>> : std::integral_constant<std::size_t, sizeof...(F)> {};
template <class... F>
struct field_count<std::tuple<F...>> : std::integral_constant<std::size_t, sizeof...(F)> {};
/// The field types of a model's fields(), as a FieldList type.
template <class L>
struct field_types;
template <class... F>
struct field_types<FieldList<F...>> {
    using type = FieldList<F...>;
};
template <class... F>
struct field_types<std::tuple<F...>> {
    using type = FieldList<F...>;
};
}  // namespace detail

}  // namespace tocsin
