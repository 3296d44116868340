// Argon2PasswordHasher: Django's argon2 format through libargon2 (the reference implementation).
// The only file that includes <argon2.h>.
#include <argon2.h>

#include <climits>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "tocsin/auth/hashers.hpp"

namespace tocsin::auth {

namespace {

constexpr std::string_view base64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 without the '=' padding, as argon2's encoded strings hold it.
std::string base64_unpadded(std::string_view bytes) {
    std::string out = base64_encode(bytes);
    while (!out.empty() && out.back() == '=') {
        out.pop_back();
    }
    return out;
}

/// The bytes of unpadded (or padded) base64 `text`; nullopt for a character outside the
/// alphabet or a length no encoding has.
std::optional<std::string> base64_decode(std::string_view text) {
    while (!text.empty() && text.back() == '=') {
        text.remove_suffix(1);
    }
    if (text.size() % 4 == 1) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(text.size() * 3 / 4);
    std::uint32_t buffer = 0;
    int bits = 0;
    for (const char c : text) {
        const auto at = base64_alphabet.find(c);
        if (at == std::string_view::npos) {
            return std::nullopt;
        }
        buffer = (buffer << 6U) | static_cast<std::uint32_t>(at);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buffer >> static_cast<unsigned>(bits)) & 0xFFU);
        }
    }
    return out;
}

/// A decimal number of at most 10 digits that fits in uint32_t; nullopt otherwise.
std::optional<std::uint32_t> parse_u32(std::string_view text) {
    if (text.empty() || text.size() > 10) {
        return std::nullopt;
    }
    std::uint64_t n = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (n > UINT32_MAX) {
        return std::nullopt;
    }
    return static_cast<std::uint32_t>(n);
}

[[noreturn]] void malformed(const std::string& what) {
    throw PasswordFormatError("tocsin::auth: an argon2 password " + what);
}

/// The costs a hash may have; the message says which is out of range.
void check_costs(std::uint32_t time_cost, std::uint32_t memory_cost, std::uint32_t parallelism,
                 const std::function<void(const std::string&)>& fail) {
    if (time_cost < 1) {
        fail("has a time cost of 0");
    }
    if (parallelism < 1 || parallelism > ARGON2_MAX_LANES) {
        fail("has a parallelism that is not from 1 to 16777215");
    }
    if (memory_cost < 8U * parallelism) {
        fail("has a memory cost below 8 KiB per lane");
    }
    if (memory_cost > Argon2PasswordHasher::max_memory_cost) {
        fail("asks for more than 4 GiB of memory (" + std::to_string(memory_cost) + " KiB)");
    }
}

argon2_type type_of(std::string_view variety) {
    if (variety == "argon2id") {
        return Argon2_id;
    }
    if (variety == "argon2i") {
        return Argon2_i;
    }
    return Argon2_d;
}

/// The raw argon2 hash of `password` with the parameters of `d` (its salt as bytes).
std::string raw_hash(std::string_view password, const DecodedPassword& d, std::size_t length) {
    std::string out(length, '\0');
    const int rc = argon2_hash(static_cast<std::uint32_t>(d.iterations), d.memory_cost,
                               d.parallelism, password.data(), password.size(), d.salt.data(),
                               d.salt.size(), out.data(), out.size(), nullptr, 0,
                               type_of(d.variety), static_cast<argon2_version>(d.version));
    if (rc == ARGON2_MEMORY_ALLOCATION_ERROR) {
        throw std::bad_alloc();
    }
    if (rc != ARGON2_OK) {
        malformed(std::string("cannot be hashed: ") + argon2_error_message(rc));
    }
    return out;
}

}  // namespace

Argon2PasswordHasher::Argon2PasswordHasher(std::uint32_t time_cost, std::uint32_t memory_cost,
                                           std::uint32_t parallelism)
    : time_cost_(time_cost), memory_cost_(memory_cost), parallelism_(parallelism) {
    check_costs(time_cost, memory_cost, parallelism, [](const std::string& what) {
        throw std::invalid_argument("tocsin::auth: an argon2 hasher " + what);
    });
}

std::string Argon2PasswordHasher::encode(std::string_view password, std::string_view salt) const {
    if (salt.empty() || salt.find('$') != std::string_view::npos) {
        throw std::invalid_argument("salt must be provided and cannot contain $.");
    }
    if (salt.size() < ARGON2_MIN_SALT_LENGTH) {
        throw std::invalid_argument("tocsin::auth: an argon2 salt needs at least 8 bytes");
    }
    DecodedPassword d{.algorithm = "argon2",
                      .iterations = static_cast<int>(time_cost_),
                      .salt = std::string(salt),
                      .hash = {},
                      .variety = "argon2id",
                      .version = ARGON2_VERSION_13,
                      .memory_cost = memory_cost_,
                      .parallelism = parallelism_};
    const std::string hash = raw_hash(password, d, hash_length);
    std::string out = "argon2$argon2id$v=19$m=";
    out += std::to_string(memory_cost_);
    out += ",t=";
    out += std::to_string(time_cost_);
    out += ",p=";
    out += std::to_string(parallelism_);
    out += "$";
    out += base64_unpadded(salt);
    out += "$";
    out += base64_unpadded(hash);
    return out;
}

DecodedPassword Argon2PasswordHasher::decode(std::string_view encoded) const {
    std::vector<std::string_view> parts;
    for (std::string_view rest = encoded;;) {
        const auto dollar = rest.find('$');
        parts.push_back(rest.substr(0, dollar));
        if (dollar == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(dollar + 1);
    }
    if (parts.front() != "argon2") {
        malformed("must start with 'argon2$'");
    }
    // argon2$<variety>[$v=<version>]$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>
    if (parts.size() != 5 && parts.size() != 6) {
        malformed(
            "must have 5 or 6 '$'-separated parts (argon2$variety$v=19$m=…,t=…,p=…$salt$hash)");
    }
    DecodedPassword d;
    d.algorithm = "argon2";
    d.variety = std::string(parts[1]);
    if (d.variety != "argon2id" && d.variety != "argon2i" && d.variety != "argon2d") {
        malformed("names a variety that is not argon2id, argon2i or argon2d");
    }
    std::size_t at = 2;
    d.version = ARGON2_VERSION_10;
    if (parts.size() == 6) {
        const auto v = parts[2].starts_with("v=") ? parse_u32(parts[2].substr(2)) : std::nullopt;
        if (!v || (*v != ARGON2_VERSION_10 && *v != ARGON2_VERSION_13)) {
            malformed("has a version that is not v=16 or v=19");
        }
        d.version = static_cast<int>(*v);
        at = 3;
    }
    std::optional<std::uint32_t> m;
    std::optional<std::uint32_t> t;
    std::optional<std::uint32_t> p;
    std::string_view params = parts[at];
    for (int i = 0; i < 3; ++i) {
        const auto comma = params.find(',');
        const std::string_view item = params.substr(0, comma);
        params = comma == std::string_view::npos ? std::string_view() : params.substr(comma + 1);
        if (item.size() < 2 || item[1] != '=' ||
            (item[0] != 'm' && item[0] != 't' && item[0] != 'p')) {
            break;
        }
        auto& slot = item[0] == 'm' ? m : item[0] == 't' ? t : p;
        slot = parse_u32(item.substr(2));
    }
    if (!m || !t || !p || !params.empty()) {
        malformed("must give its parameters as m=<KiB>,t=<passes>,p=<lanes>");
    }
    check_costs(*t, *m, *p, [](const std::string& what) { malformed(what); });
    if (*t > static_cast<std::uint32_t>(INT32_MAX)) {
        malformed("has a time cost above 2147483647");
    }
    d.iterations = static_cast<int>(*t);
    d.memory_cost = *m;
    d.parallelism = *p;
    auto salt = base64_decode(parts[at + 1]);
    if (!salt || salt->size() < ARGON2_MIN_SALT_LENGTH) {
        malformed("has a salt that is not base64 of at least 8 bytes");
    }
    d.salt = std::move(*salt);
    const auto hash = base64_decode(parts[at + 2]);
    if (!hash || hash->size() < ARGON2_MIN_OUTLEN || hash->size() > 1024) {
        malformed("has a hash that is not base64 of 4 to 1024 bytes");
    }
    d.hash = std::string(parts[at + 2]);
    return d;
}

bool Argon2PasswordHasher::verify(std::string_view password, std::string_view encoded) const {
    const DecodedPassword d = decode(encoded);
    const auto expected = base64_decode(d.hash);
    return constant_time_compare(raw_hash(password, d, expected->size()), *expected);
}

bool Argon2PasswordHasher::must_update(std::string_view encoded) const {
    const DecodedPassword d = decode(encoded);
    const double per_char = std::log2(static_cast<double>(random_string_chars.size()));
    const bool salt_too_short =
        static_cast<double>(d.salt.size()) * per_char < static_cast<double>(salt_entropy);
    return d.variety != "argon2id" || d.version != ARGON2_VERSION_13 ||
           static_cast<std::uint32_t>(d.iterations) != time_cost_ ||
           d.memory_cost != memory_cost_ || d.parallelism != parallelism_ ||
           base64_decode(d.hash)->size() != hash_length || salt_too_short;
}

void Argon2PasswordHasher::harden_runtime(std::string_view /*password*/,
                                          std::string_view /*encoded*/) const {}

std::map<std::string, std::string> Argon2PasswordHasher::safe_summary(
    std::string_view encoded) const {
    const DecodedPassword d = decode(encoded);
    return {{"algorithm", d.algorithm},
            {"variety", d.variety},
            {"version", std::to_string(d.version)},
            {"memory cost", std::to_string(d.memory_cost)},
            {"time cost", std::to_string(d.iterations)},
            {"parallelism", std::to_string(d.parallelism)},
            {"salt", mask_hash(d.salt)},
            {"hash", mask_hash(d.hash)}};
}

}  // namespace tocsin::auth
