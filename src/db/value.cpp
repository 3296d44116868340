// tocsin::db::Value accessors and rendering.
#include "tocsin/db/value.hpp"

#include <ostream>
#include <sstream>

#include "tocsin/db/error.hpp"

namespace tocsin::db {

std::string_view to_string(ValueType type) noexcept {
    switch (type) {
        case ValueType::null:
            return "null";
        case ValueType::integer:
            return "integer";
        case ValueType::real:
            return "real";
        case ValueType::text:
            return "text";
        case ValueType::blob:
            return "blob";
    }
    return "unknown";
}

std::string_view to_string(LogicalType type) noexcept {
    switch (type) {
        case LogicalType::integer:
            return "integer";
        case LogicalType::real:
            return "real";
        case LogicalType::text:
            return "text";
        case LogicalType::boolean:
            return "boolean";
        case LogicalType::timestamp:
            return "timestamp";
        case LogicalType::blob:
            return "blob";
    }
    return "unknown";
}

namespace detail {

void throw_type_mismatch(ValueType actual, std::string_view wanted) {
    std::string message = "cannot read ";
    message +=
        actual == ValueType::null ? "NULL" : "a " + std::string(to_string(actual)) + " value";
    message += " as ";
    message += wanted;
    throw DataError(std::move(message));
}

void throw_out_of_range(std::string_view value, std::string_view type) {
    throw DataError("integer " + std::string(value) + " does not fit in " + std::string(type));
}

std::string sql_text_literal(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    out += '\'';
    for (const char c : text) {
        out += c;
        if (c == '\'') {
            out += '\'';
        }
    }
    out += '\'';
    return out;
}

}  // namespace detail

Value::Value() noexcept = default;
Value::Value(Null) noexcept {}
Value::Value(std::nullptr_t) noexcept {}
Value::Value(std::nullopt_t) noexcept {}
Value::Value(std::int64_t v) noexcept : storage_(v) {}
Value::Value(double v) noexcept : storage_(v) {}
Value::Value(std::string v) noexcept : storage_(std::move(v)) {}
Value::Value(std::string_view v) : storage_(std::string(v)) {}
Value::Value(const char* v) : storage_(std::string(v)) {}
Value::Value(Blob v) noexcept : storage_(std::move(v)) {}
Value::Value(const Value& other) = default;
Value::Value(Value&& other) noexcept = default;
Value& Value::operator=(const Value& other) = default;
Value& Value::operator=(Value&& other) noexcept = default;
Value::~Value() = default;

bool operator==(const Value& a, const Value& b) {
    return a.storage_ == b.storage_;
}

std::int64_t Value::as_integer() const {
    if (const auto* v = std::get_if<std::int64_t>(&storage_))
        return *v;
    detail::throw_type_mismatch(type(), "an integer");
}

double Value::as_real() const {
    if (const auto* v = std::get_if<double>(&storage_))
        return *v;
    if (const auto* v = std::get_if<std::int64_t>(&storage_))
        return static_cast<double>(*v);
    detail::throw_type_mismatch(type(), "a real");
}

const std::string& Value::as_text() const {
    if (const auto* v = std::get_if<std::string>(&storage_))
        return *v;
    detail::throw_type_mismatch(type(), "text");
}

const Blob& Value::as_blob() const {
    if (const auto* v = std::get_if<Blob>(&storage_))
        return *v;
    detail::throw_type_mismatch(type(), "a blob");
}

std::string to_string(const Value& value) {
    std::ostringstream out;
    switch (value.type()) {
        case ValueType::null:
            out << "NULL";
            break;
        case ValueType::integer:
            out << value.as_integer();
            break;
        case ValueType::real:
            out.precision(17);
            out << value.as_real();
            break;
        case ValueType::text:
            out << detail::sql_text_literal(value.as_text());
            break;
        case ValueType::blob: {
            static constexpr char digits[] = "0123456789abcdef";
            out << "x'";
            for (std::byte b : value.as_blob()) {
                const auto u = std::to_integer<unsigned>(b);
                out << digits[u >> 4U] << digits[u & 0xFU];
            }
            out << '\'';
            break;
        }
    }
    return out.str();
}

std::ostream& operator<<(std::ostream& os, const Value& value) {
    return os << to_string(value);
}

}  // namespace tocsin::db
