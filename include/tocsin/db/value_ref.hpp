// ValueRef, a borrowed view of one SQL value, and view_of(), which views a C++ value
// without copying its text or bytes. The model layer binds its fields this way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "tocsin/db/value.hpp"

namespace tocsin::db {

/// One SQL value like Value (NULL, int64, double, text or blob), but text and blobs are borrowed:
/// the viewed characters or bytes must stay alive and unchanged while the view is used (for a
/// statement parameter: until the statement is reset). Trivially copyable.
class ValueRef {
  public:
    using Storage =
        std::variant<Null, std::int64_t, double, std::string_view, std::span<const std::byte>>;

    constexpr ValueRef() noexcept = default;
    constexpr ValueRef(Null) noexcept {}
    constexpr ValueRef(std::int64_t v) noexcept : storage_(std::in_place_index<1>, v) {}
    constexpr ValueRef(double v) noexcept : storage_(std::in_place_index<2>, v) {}
    constexpr ValueRef(std::string_view v) noexcept : storage_(std::in_place_index<3>, v) {}
    constexpr ValueRef(std::span<const std::byte> v) noexcept
        : storage_(std::in_place_index<4>, v) {}
    /// Views @p value, which must outlive the view.
    ValueRef(const Value& value) noexcept;  // NOLINT(google-explicit-constructor)

    /// The storage class viewed (as Value::type()).
    [[nodiscard]] constexpr ValueType type() const noexcept {
        return static_cast<ValueType>(storage_.index());
    }
    /// The underlying variant, for std::visit.
    [[nodiscard]] constexpr const Storage& storage() const noexcept { return storage_; }
    /// An owning copy.
    [[nodiscard]] Value to_value() const;

  private:
    Storage storage_;
};

namespace detail {
/// Whether T is an optional of a type view_of() borrows (text or blob).
template <class T>
struct is_borrowed_optional : std::false_type {};
template <>
struct is_borrowed_optional<std::optional<std::string>> : std::true_type {};
template <>
struct is_borrowed_optional<std::optional<Blob>> : std::true_type {};
}  // namespace detail

/// A view of @p v as an SQL value. Text (std::string) and blobs (Blob), and optionals of them,
/// are viewed in place, so @p v must outlive the view; every other Storable type is converted
/// through value_traits<T>::to_value into @p scratch, which must outlive the view too.
template <Storable T>
[[nodiscard]] ValueRef view_of(const T& v, Value& scratch) {
    if constexpr (std::is_same_v<T, std::string>) {
        return ValueRef(std::string_view(v));
    } else if constexpr (std::is_same_v<T, Blob>) {
        return ValueRef(std::span<const std::byte>(v));
    } else if constexpr (detail::is_borrowed_optional<T>::value) {
        if (!v)
            return ValueRef(null);
        return view_of(*v, scratch);
    } else {
        Value converted = value_traits<T>::to_value(v);
        const ValueType type = converted.type();
        if (type == ValueType::text || type == ValueType::blob) {
            scratch = std::move(converted);  // a custom type stored as text: keep it alive
            return ValueRef(scratch);
        }
        return ValueRef(converted);  // an integer, a real or NULL: copied into the view
    }
}

}  // namespace tocsin::db
