// Field declarations: `tocsin::field("username", &User::username, {.unique = true})`.
#pragma once

#include <string>
#include <string_view>
#include <tuple>
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

/// The fields of a model, in column order: `static auto fields() { return tocsin::fields(...); }`.
template <class... F>
constexpr std::tuple<F...> fields(F... f) {
    return std::tuple<F...>{f...};
}

}  // namespace tocsin
