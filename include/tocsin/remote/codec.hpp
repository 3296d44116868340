// How a remote receiver's arguments travel as data: a custom signal's arguments through
// nlohmann JSON (`to_json` / `from_json` found by ADL, or an `adl_serializer`), a model
// signal's instance by primary key with the event's fields.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "tocsin/db/value.hpp"
#include "tocsin/models/signals.hpp"

namespace tocsin::remote {

/// True when a value of @p T can travel to a worker: nlohmann JSON can write it (`to_json(json&,
/// const T&)` found by ADL, or the built-in conversions of numbers, strings, containers...) and
/// read it back as a `T` (`from_json(const json&, T&)` with T default-constructible, or an
/// `adl_serializer<T>::from_json(const json&)`). What every argument of a custom signal needs
/// to be connected remote.
template <class T>
concept RemoteArgument = std::is_object_v<T> && requires(nlohmann::json& j, const T& value) {
    j = value;
    { std::as_const(j).template get<T>() } -> std::same_as<T>;
};

namespace detail {

/// The arguments of a custom signal as a JSON array, one element per argument.
template <class... Args>
std::string encode_arguments(const Args&... args) {
    nlohmann::json array = nlohmann::json::array();
    (array.push_back(nlohmann::json(args)), ...);
    return array.dump();
}

/// The arguments of a custom signal read back from @p array (what encode_arguments wrote).
/// Throws std::invalid_argument when their number differs, nlohmann's exceptions when one does
/// not read as its type.
template <class... Args>
std::tuple<Args...> decode_arguments(const nlohmann::json& array) {
    if (!array.is_array() || array.size() != sizeof...(Args)) {
        throw std::invalid_argument(
            "the outbox row holds " + std::to_string(array.is_array() ? array.size() : 0) +
            " arguments, the signal takes " + std::to_string(sizeof...(Args)));
    }
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
        return std::tuple<Args...>{array.at(I).template get<Args>()...};
    }
    (std::index_sequence_for<Args...>{});
}

/// A db::Value as JSON: null, a number (an integer stays one: 1 and 1.0 differ), a string; a
/// blob as {"blob": "<hex digits>"}.
nlohmann::json value_to_json(const db::Value& value);
/// Reads what value_to_json wrote; std::invalid_argument when it is not that.
db::Value value_from_json(const nlohmann::json& json);

/// A post_save of @p pk as data: {"pk", "created", "raw", "update_fields"}, and, when the
/// model's changes are tracked (event.tracking set), "changes": [{"field", "previous",
/// "current"}...] as event.changes() lists them ("previous" left out when unknown).
std::string encode_save(std::int64_t pk, const SaveEvent& event);

/// One changed field as the send recorded it.
struct RecordedChange {
    std::string field;
    std::optional<db::Value> previous;  ///< nullopt: unknown (no snapshot at the send)
    db::Value current;
};

/// What decode_save reads: the primary key and the event's own fields.
struct DecodedSave {
    std::int64_t pk = 0;
    bool created = false;
    bool raw = false;
    std::optional<std::set<std::string>> update_fields;
    /// The changed fields, when the send tracked them; nullopt otherwise.
    std::optional<std::vector<RecordedChange>> changes;
};
/// Reads what encode_save wrote; std::invalid_argument when it is not that.
DecodedSave decode_save(const nlohmann::json& payload);

}  // namespace detail
}  // namespace tocsin::remote
