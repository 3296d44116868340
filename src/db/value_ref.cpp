// tocsin::db::ValueRef.
#include "tocsin/db/value_ref.hpp"

namespace tocsin::db {

ValueRef::ValueRef(const Value& value) noexcept {
    const Value::Storage& v = value.storage();
    switch (value.type()) {
        case ValueType::null:
            break;
        case ValueType::integer:
            storage_.emplace<1>(*std::get_if<1>(&v));
            break;
        case ValueType::real:
            storage_.emplace<2>(*std::get_if<2>(&v));
            break;
        case ValueType::text:
            storage_.emplace<3>(*std::get_if<3>(&v));
            break;
        case ValueType::blob:
            storage_.emplace<4>(*std::get_if<4>(&v));
            break;
    }
}

Value ValueRef::to_value() const {
    return std::visit(
        [](const auto& v) -> Value {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::span<const std::byte>>) {
                return Value(Blob(v.begin(), v.end()));
            } else {
                return Value(v);
            }
        },
        storage_);
}

}  // namespace tocsin::db
