// Value, the one type that crosses the backend boundary, and the mapping of C++ types to
// it (value_traits), which the model layer uses for its fields.
//
// A Value holds one of the five storage classes every backend can carry: NULL, a 64-bit integer,
// a double, UTF-8 text or a blob. C++ types map onto them through value_traits<T>, which also
// gives the logical column type (LogicalType) the backend turns into a column type name:
//
// | C++ type                                  | LogicalType | stored as                          |
// |-------------------------------------------|-------------|------------------------------------|
// | bool                                      | boolean     | integer 0 / 1                      |
// | signed and unsigned integers, enums       | integer     | integer (range-checked both ways)  |
// | float, double                             | real        | double                             |
// | std::string                               | text        | text (UTF-8)                       |
// | Blob (std::vector<std::byte>)             | blob        | blob                               |
// | std::chrono::time_point<system_clock, D>  | timestamp   | integer: microseconds since the    |
// |                                           |             | Unix epoch, UTC (exact, sortable)  |
// | std::optional<T>                          | as T        | as T, or NULL (the column is NULL- |
// |                                           |             | able)                              |
//
// Time points are integers on every backend (PostgreSQL: BIGINT), so the layers above never
// parse dates, values compare and sort as numbers, and microsecond precision round-trips
// exactly. Precision finer than a microsecond is floored.
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <limits>
#include <optional>
#include <ratio>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace tocsin::db {

/// SQL NULL as a C++ value.
struct Null {
    friend constexpr bool operator==(Null, Null) noexcept { return true; }
};
/// Binary data.
using Blob = std::vector<std::byte>;
/// A point in time with the precision the db layer stores: microseconds, UTC.
using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

/// The storage class of a Value.
enum class ValueType { null, integer, real, text, blob };

/// The logical type of a column: what the model layer asks the backend to create
/// (Backend::column_type) and what value_traits<T> maps a C++ type to.
enum class LogicalType { integer, real, text, boolean, timestamp, blob };

/// The NULL value, for `{tocsin::db::null, 42}` parameter lists. (Declared after ValueType:
/// g++ 12's -Wshadow would otherwise take the enumerator ValueType::null for a shadow.)
inline constexpr Null null{};

/// "null", "integer", "real", "text" or "blob".
[[nodiscard]] std::string_view to_string(ValueType type) noexcept;
/// "integer", "real", "text", "boolean", "timestamp" or "blob".
[[nodiscard]] std::string_view to_string(LogicalType type) noexcept;

class Value;

/// Maps a C++ type T onto Value. Specialise it for your own types: it needs
/// `static constexpr LogicalType logical_type`, `static constexpr bool nullable`,
/// `static Value to_value(const T&)` and `static T from_value(const Value&)` (throwing DataError
/// when the value does not fit).
template <class T, class Enable = void>
struct value_traits;

/// A type value_traits knows how to store.
template <class T>
concept Storable = requires(const T& v, const Value& x) {
    { value_traits<T>::logical_type } -> std::convertible_to<LogicalType>;
    { value_traits<T>::nullable } -> std::convertible_to<bool>;
    { value_traits<T>::to_value(v) } -> std::same_as<Value>;
    { value_traits<T>::from_value(x) } -> std::same_as<T>;
};

/// One SQL value: NULL, int64, double, text or blob. Regular (copyable, comparable); a
/// default-constructed Value is NULL. Converts implicitly from the storage types and from every
/// Storable type, so parameter lists read naturally: `{42, "bob", 1.5, tocsin::db::null}`.
class Value {
  public:
    using Storage = std::variant<Null, std::int64_t, double, std::string, Blob>;

    // The constructors (NULL ones too), the copy, the move, the destructor and ==: out of
    // line (src/db/value.cpp), so that a file using values does not compile std::variant's
    // copy, move, destruction and comparison for itself (about a hundred functions per file).
    Value() noexcept;
    Value(Null) noexcept;
    Value(std::nullptr_t) noexcept;
    Value(std::nullopt_t) noexcept;
    Value(std::int64_t v) noexcept;
    Value(double v) noexcept;
    Value(std::string v) noexcept;
    Value(std::string_view v);
    Value(const char* v);
    Value(Blob v) noexcept;
    Value(const Value& other);
    Value(Value&& other) noexcept;
    Value& operator=(const Value& other);
    Value& operator=(Value&& other) noexcept;
    ~Value();

    /// Any other Storable type (bool, int, unsigned, float, time points, optionals, enums...).
    template <class T>
    requires(!std::same_as<std::remove_cvref_t<T>, Value> && Storable<std::remove_cvref_t<T>>)
        Value(const T& v)
        : Value(value_traits<std::remove_cvref_t<T>>::to_value(v)) {}

    [[nodiscard]] ValueType type() const noexcept {
        return static_cast<ValueType>(storage_.index());
    }
    [[nodiscard]] bool is_null() const noexcept { return storage_.index() == 0; }

    /// The integer held; throws DataError naming the actual type otherwise.
    [[nodiscard]] std::int64_t as_integer() const;
    /// The real held, or the integer converted to double; throws DataError otherwise.
    [[nodiscard]] double as_real() const;
    /// The text held; throws DataError otherwise.
    [[nodiscard]] const std::string& as_text() const;
    /// The blob held; throws DataError otherwise.
    [[nodiscard]] const Blob& as_blob() const;

    /// The underlying variant, for std::visit.
    [[nodiscard]] const Storage& storage() const noexcept { return storage_; }

    /// Same storage class and same value (a NaN is not equal to itself).
    friend bool operator==(const Value& a, const Value& b);

  private:
    Storage storage_;
};

/// A row as a vector of values, in column order.
using Row = std::vector<Value>;

/// A readable rendering for messages and test output: NULL, 42, 1.5, 'it''s', x'00ff'.
[[nodiscard]] std::string to_string(const Value& value);
/// Writes to_string(value).
std::ostream& operator<<(std::ostream& os, const Value& value);

namespace detail {
/// Throws DataError("cannot read <actual> as <wanted>").
[[noreturn]] void throw_type_mismatch(ValueType actual, std::string_view wanted);
/// Throws DataError("integer <v> does not fit in <type>").
[[noreturn]] void throw_out_of_range(std::string_view value, std::string_view type);
/// `text` as an SQL string literal: in single quotes, each `'` doubled (`it's` -> `'it''s'`).
/// Standard SQL, read alike by SQLite and PostgreSQL (with standard_conforming_strings, its
/// default: a backslash is an ordinary character). For SQL the library writes itself (names of
/// tables in DDL and maintenance statements, debug renderings), never for user values, which
/// are bound.
[[nodiscard]] std::string sql_text_literal(std::string_view text);
}  // namespace detail

/// Converts a Storable value to a Value.
template <Storable T>
[[nodiscard]] Value to_value(const T& v) {
    return value_traits<T>::to_value(v);
}

/// Converts a Value to T; throws DataError when it does not fit (NULL into a non-optional,
/// text into an integer, 300 into std::int8_t...).
template <Storable T>
[[nodiscard]] T from_value(const Value& v) {
    return value_traits<T>::from_value(v);
}

// ---------------------------------------------------------------- value_traits specialisations

template <class T>
struct value_traits<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>> {
    static constexpr LogicalType logical_type = LogicalType::integer;
    static constexpr bool nullable = false;
    static Value to_value(T v) {
        if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
            if (v > static_cast<T>(std::numeric_limits<std::int64_t>::max()))
                detail::throw_out_of_range(std::to_string(v), "a 64-bit signed integer");
        }
        return Value(static_cast<std::int64_t>(v));
    }
    static T from_value(const Value& v) {
        const std::int64_t i = v.as_integer();
        if (!std::in_range<T>(i))
            detail::throw_out_of_range(std::to_string(i), type_name());
        return static_cast<T>(i);
    }

  private:
    static std::string type_name() {
        return std::string("a ") + std::to_string(sizeof(T) * 8) + "-bit " +
               (std::is_signed_v<T> ? "signed" : "unsigned") + " integer";
    }
};

// After the integers: its to_value() builds a Value from an int64, whose overload resolution
// checks Storable<std::int64_t>; clang caches that answer, so the integer specialisation must
// be declared by then.
template <>
struct value_traits<bool> {
    static constexpr LogicalType logical_type = LogicalType::boolean;
    static constexpr bool nullable = false;
    static Value to_value(bool v) noexcept { return Value(std::int64_t{v ? 1 : 0}); }
    static bool from_value(const Value& v) { return v.as_integer() != 0; }
};

template <class T>
struct value_traits<T, std::enable_if_t<std::is_enum_v<T>>> {
    static constexpr LogicalType logical_type = LogicalType::integer;
    static constexpr bool nullable = false;
    static Value to_value(T v) {
        return value_traits<std::underlying_type_t<T>>::to_value(
            static_cast<std::underlying_type_t<T>>(v));
    }
    static T from_value(const Value& v) {
        return static_cast<T>(value_traits<std::underlying_type_t<T>>::from_value(v));
    }
};

template <class T>
struct value_traits<T, std::enable_if_t<std::is_floating_point_v<T>>> {
    static constexpr LogicalType logical_type = LogicalType::real;
    static constexpr bool nullable = false;
    static Value to_value(T v) noexcept { return Value(static_cast<double>(v)); }
    static T from_value(const Value& v) { return static_cast<T>(v.as_real()); }
};

template <>
struct value_traits<std::string> {
    static constexpr LogicalType logical_type = LogicalType::text;
    static constexpr bool nullable = false;
    static Value to_value(const std::string& v) { return Value(v); }
    static std::string from_value(const Value& v) { return v.as_text(); }
};

template <>
struct value_traits<Blob> {
    static constexpr LogicalType logical_type = LogicalType::blob;
    static constexpr bool nullable = false;
    static Value to_value(const Blob& v) { return Value(v); }
    static Blob from_value(const Value& v) { return v.as_blob(); }
};

template <class Duration>
struct value_traits<std::chrono::time_point<std::chrono::system_clock, Duration>> {
    using time_point = std::chrono::time_point<std::chrono::system_clock, Duration>;
    static constexpr LogicalType logical_type = LogicalType::timestamp;
    static constexpr bool nullable = false;
    static Value to_value(const time_point& v) {
        return Value(static_cast<std::int64_t>(
            std::chrono::floor<std::chrono::microseconds>(v.time_since_epoch()).count()));
    }
    /// Throws DataError when the instant is out of the range of `Duration` (a nanosecond
    /// time_point ends in 2262).
    static time_point from_value(const Value& v) {
        const std::chrono::microseconds us{v.as_integer()};
        if constexpr (std::ratio_less_v<typename Duration::period, std::micro>) {
            constexpr auto lowest = std::chrono::ceil<std::chrono::microseconds>(Duration::min());
            constexpr auto highest = std::chrono::floor<std::chrono::microseconds>(Duration::max());
            if (us < lowest || us > highest) {
                detail::throw_out_of_range(std::to_string(us.count()) + " microseconds",
                                           "this time_point type");
            }
        }
        return time_point(std::chrono::floor<Duration>(us));
    }
};

template <Storable T>
struct value_traits<std::optional<T>> {
    static constexpr LogicalType logical_type = value_traits<T>::logical_type;
    static constexpr bool nullable = true;
    static Value to_value(const std::optional<T>& v) {
        return v ? value_traits<T>::to_value(*v) : Value();
    }
    static std::optional<T> from_value(const Value& v) {
        if (v.is_null())
            return std::nullopt;
        return value_traits<T>::from_value(v);
    }
};

}  // namespace tocsin::db
