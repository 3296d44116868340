// tocsin::db::ValueRef.
#include "tocsin/db/value_ref.hpp"

namespace tocsin::db {

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
