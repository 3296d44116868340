// The codecs of Django's JSON fixtures: ISO 8601 time points and base64 blobs.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "fixture_support.hpp"

namespace tocsin::detail::fixtures {

namespace {

// ------------------------------------------------------------------------------ time points

constexpr std::int64_t micros_per_second = 1'000'000;
constexpr std::int64_t micros_per_day = 86'400 * micros_per_second;

/// Reads `count` decimal digits at `pos`; nullopt when they are not all digits.
std::optional<int> digits(std::string_view text, std::size_t pos, std::size_t count) {
    if (pos + count > text.size()) {
        return std::nullopt;
    }
    int value = 0;
    for (std::size_t i = pos; i < pos + count; ++i) {
        const char c = text[i];
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        value = value * 10 + (c - '0');
    }
    return value;
}

/// `micros` if it falls in the years 0–9999 UTC (what dumpdata can write back), else nullopt.
std::optional<std::int64_t> in_range(std::int64_t micros) {
    using namespace std::chrono;
    constexpr std::int64_t first =
        std::int64_t{sys_days(year(0) / January / 1).time_since_epoch().count()} * micros_per_day;
    constexpr std::int64_t end =
        std::int64_t{sys_days(year(10000) / January / 1).time_since_epoch().count()} *
        micros_per_day;
    if (micros < first || micros >= end) {
        return std::nullopt;
    }
    return micros;
}

// ------------------------------------------------------------------------------ base64

constexpr std::string_view base64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

/// Microseconds since the epoch (UTC) from ISO 8601 as Django writes it:
/// "YYYY-MM-DD", or "YYYY-MM-DD[T ]HH:MM[:SS[.fraction]][Z|±HH:MM|±HHMM]". Without a zone the
/// time is taken as UTC; digits of the fraction beyond microseconds are dropped.
std::optional<std::int64_t> parse_iso(std::string_view text) {
    const auto year = digits(text, 0, 4);
    const auto month = digits(text, 5, 2);
    const auto day = digits(text, 8, 2);
    if (!year || !month || !day || text[4] != '-' || text[7] != '-') {
        return std::nullopt;
    }
    const std::chrono::year_month_day date{std::chrono::year(*year),
                                           std::chrono::month(static_cast<unsigned>(*month)),
                                           std::chrono::day(static_cast<unsigned>(*day))};
    if (!date.ok()) {
        return std::nullopt;
    }
    std::int64_t micros =
        static_cast<std::int64_t>(std::chrono::sys_days(date).time_since_epoch().count()) *
        micros_per_day;
    if (text.size() == 10) {
        return micros;  // a date alone: midnight UTC
    }
    if (text[10] != 'T' && text[10] != 't' && text[10] != ' ') {
        return std::nullopt;
    }
    const auto hour = digits(text, 11, 2);
    const auto minute = digits(text, 14, 2);
    if (!hour || !minute || text.size() < 16 || text[13] != ':' || *hour > 23 || *minute > 59) {
        return std::nullopt;
    }
    micros += (std::int64_t{*hour} * 3600 + std::int64_t{*minute} * 60) * micros_per_second;
    std::size_t pos = 16;
    if (pos < text.size() && text[pos] == ':') {
        const auto second = digits(text, pos + 1, 2);
        if (!second || *second > 59) {
            return std::nullopt;
        }
        micros += std::int64_t{*second} * micros_per_second;
        pos += 3;
        if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
            ++pos;
            std::int64_t fraction = 0;
            std::size_t n = 0;
            while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
                if (n < 6) {
                    fraction = fraction * 10 + (text[pos] - '0');
                }
                ++n;
                ++pos;
            }
            if (n == 0) {
                return std::nullopt;
            }
            for (std::size_t i = n; i < 6; ++i) {
                fraction *= 10;
            }
            micros += fraction;
        }
    }
    if (pos == text.size() || ((text[pos] == 'Z' || text[pos] == 'z') && pos + 1 == text.size())) {
        return in_range(micros);
    }
    if (text[pos] != '+' && text[pos] != '-') {
        return std::nullopt;
    }
    const int sign = text[pos] == '-' ? -1 : 1;
    const auto off_hour = digits(text, pos + 1, 2);
    std::size_t minute_at = pos + 3;
    if (minute_at < text.size() && text[minute_at] == ':') {
        ++minute_at;
    }
    const auto off_minute = digits(text, minute_at, 2);
    if (!off_hour || !off_minute || minute_at + 2 != text.size() || *off_hour > 23 ||
        *off_minute > 59) {
        return std::nullopt;
    }
    // The local time minus the offset is UTC.
    return in_range(micros - sign *
                                 (std::int64_t{*off_hour} * 3600 + std::int64_t{*off_minute} * 60) *
                                 micros_per_second);
}

/// "2024-01-02T03:04:05Z", "…05.123Z" (whole milliseconds, as Django writes), "…05.123456Z";
/// nullopt when the year is outside 0–9999.
std::optional<std::string> format_iso(std::int64_t micros) {
    if (!in_range(micros)) {
        return std::nullopt;
    }
    std::int64_t days = micros / micros_per_day;
    std::int64_t rest = micros % micros_per_day;
    if (rest < 0) {
        rest += micros_per_day;
        --days;
    }
    const std::chrono::year_month_day date{
        std::chrono::sys_days(std::chrono::days(static_cast<int>(days)))};
    const int year = static_cast<int>(date.year());
    const std::int64_t fraction = rest % micros_per_second;
    const std::int64_t seconds = rest / micros_per_second;
    std::array<char, 40> buffer{};
    int n = std::snprintf(buffer.data(), buffer.size(), "%04d-%02u-%02uT%02d:%02d:%02d", year,
                          static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                          static_cast<int>(seconds / 3600), static_cast<int>(seconds / 60 % 60),
                          static_cast<int>(seconds % 60));
    std::string out(buffer.data(), static_cast<std::size_t>(n));
    if (fraction != 0) {
        if (fraction % 1000 == 0) {
            n = std::snprintf(buffer.data(), buffer.size(), ".%03d",
                              static_cast<int>(fraction / 1000));
        } else {
            n = std::snprintf(buffer.data(), buffer.size(), ".%06d", static_cast<int>(fraction));
        }
        out.append(buffer.data(), static_cast<std::size_t>(n));
    }
    return out + "Z";
}

std::string base64_encode(const db::Blob& data) {
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    for (std::size_t i = 0; i < data.size(); i += 3) {
        const std::size_t n = std::min<std::size_t>(3, data.size() - i);
        std::uint32_t chunk = 0;
        for (std::size_t j = 0; j < 3; ++j) {
            chunk = (chunk << 8U) | (j < n ? std::to_integer<std::uint32_t>(data[i + j]) : 0U);
        }
        for (std::size_t j = 0; j < 4; ++j) {
            out += j <= n ? base64_alphabet[(chunk >> (18 - 6 * j)) & 0x3FU] : '=';
        }
    }
    return out;
}

/// Strict standard base64 (padding required); nullopt when malformed.
std::optional<db::Blob> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) {
        return std::nullopt;
    }
    db::Blob out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        std::uint32_t chunk = 0;
        std::size_t padding = 0;
        for (std::size_t j = 0; j < 4; ++j) {
            const char c = text[i + j];
            std::uint32_t v = 0;
            if (c == '=') {
                // Padding only in the last group, only at its end.
                if (i + 4 != text.size() || j < 2) {
                    return std::nullopt;
                }
                ++padding;
            } else {
                if (padding > 0) {
                    return std::nullopt;
                }
                const auto at = base64_alphabet.find(c);
                if (at == std::string_view::npos) {
                    return std::nullopt;
                }
                v = static_cast<std::uint32_t>(at);
            }
            chunk = (chunk << 6U) | v;
        }
        for (std::size_t j = 0; j < 3 - padding; ++j) {
            out.push_back(static_cast<std::byte>((chunk >> (16 - 8 * j)) & 0xFFU));
        }
    }
    return out;
}

}  // namespace tocsin::detail::fixtures
