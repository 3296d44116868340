// What the fixture loader and dumper share (private to src/models): the JSON type, how a model
// is named in a fixture, and the ISO 8601 and base64 codecs (fixture_codecs.cpp).
#pragma once

#include <cctype>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "tocsin/db/value.hpp"
#include "tocsin/models/model_info.hpp"

namespace tocsin::detail::fixtures {

using json = nlohmann::json;

inline std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

/// "library.book": how Django writes a model label in a fixture.
inline std::string fixture_label(const ModelInfo& info) {
    return lower(info.app_label) + "." + lower(info.model_name);
}

/// The name Django gives the key of a child's row that is its parent's row ("event_ptr").
inline std::string parent_link_name(const ModelInfo& info) {
    return lower(info.parent->model_name) + "_ptr";
}

// ------------------------------------------------------------------------------ codecs

/// Microseconds since the epoch (UTC) from ISO 8601 as Django writes it:
/// "YYYY-MM-DD", or "YYYY-MM-DD[T ]HH:MM[:SS[.fraction]][Z|±HH:MM|±HHMM]". Without a zone the
/// time is taken as UTC; digits of the fraction beyond microseconds are dropped.
std::optional<std::int64_t> parse_iso(std::string_view text);

/// "2024-01-02T03:04:05Z", "…05.123Z" (whole milliseconds, as Django writes), "…05.123456Z";
/// nullopt when the year is outside 0–9999.
std::optional<std::string> format_iso(std::int64_t micros);

/// Standard base64 with padding (Django's BinaryField in fixtures).
std::string base64_encode(const db::Blob& data);

/// Strict standard base64 (padding required); nullopt when malformed.
std::optional<db::Blob> base64_decode(std::string_view text);

}  // namespace tocsin::detail::fixtures
