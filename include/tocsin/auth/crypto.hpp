// tocsin::auth crypto helpers: random strings from a CSPRNG, a constant-time compare, PBKDF2 and
// base64 (Django's django.utils.crypto), all through OpenSSL's libcrypto.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tocsin::auth {

/// Django's RANDOM_STRING_CHARS: the alphabet of salts and session keys (62 characters).
inline constexpr std::string_view random_string_chars =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// `length` characters drawn uniformly (no modulo bias) from `allowed_chars` with OpenSSL's
/// CSPRNG (RAND_bytes), as Django's get_random_string. Throws std::invalid_argument for an empty
/// alphabet or one of more than 256 characters, std::runtime_error if the CSPRNG fails.
[[nodiscard]] std::string random_string(std::size_t length,
                                        std::string_view allowed_chars = random_string_chars);

/// Whether `a` and `b` are equal, in a time that depends on their lengths only (CRYPTO_memcmp),
/// as Django's constant_time_compare.
[[nodiscard]] bool constant_time_compare(std::string_view a, std::string_view b) noexcept;

/// The digests PBKDF2 runs HMAC with.
enum class Digest { sha256, sha1 };

/// PBKDF2-HMAC of `password` (any bytes: no encoding is assumed) with `salt`: `key_length` raw
/// bytes (0: the digest's size), as Django's django.utils.crypto.pbkdf2. Throws
/// std::invalid_argument for iterations < 1, std::runtime_error if libcrypto fails.
[[nodiscard]] std::string pbkdf2(std::string_view password, std::string_view salt, int iterations,
                                 Digest digest = Digest::sha256, std::size_t key_length = 0);

/// Standard base64 (RFC 4648, with `=` padding, no line breaks) of `bytes`.
[[nodiscard]] std::string base64_encode(std::string_view bytes);

/// Django's salted_hmac(key_salt, value, secret, algorithm): the HMAC of `value` keyed with the
/// digest of `key_salt + secret`, as raw bytes (hex_encode() gives Django's hexdigest()). Throws
/// std::runtime_error if libcrypto fails.
[[nodiscard]] std::string salted_hmac(std::string_view key_salt, std::string_view value,
                                      std::string_view secret, Digest digest = Digest::sha256);

/// Lower-case hexadecimal of `bytes`, two digits a byte.
[[nodiscard]] std::string hex_encode(std::string_view bytes);

}  // namespace tocsin::auth
