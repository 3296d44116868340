#include "tocsin/auth/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <climits>
#include <stdexcept>
#include <vector>

namespace tocsin::auth {

namespace {

void random_bytes(unsigned char* out, std::size_t n) {
    while (n > 0) {
        const int chunk = n > 4096 ? 4096 : static_cast<int>(n);
        if (RAND_bytes(out, chunk) != 1) {
            throw std::runtime_error("tocsin::auth: OpenSSL's RAND_bytes failed (no entropy)");
        }
        out += chunk;
        n -= static_cast<std::size_t>(chunk);
    }
}

}  // namespace

std::string random_string(std::size_t length, std::string_view allowed_chars) {
    if (allowed_chars.empty() || allowed_chars.size() > 256) {
        throw std::invalid_argument(
            "tocsin::auth::random_string: the alphabet must have 1 to 256 characters, not " +
            std::to_string(allowed_chars.size()));
    }
    // A byte is used only below the largest multiple of the alphabet's size: every character
    // is then equally likely.
    const unsigned alphabet = static_cast<unsigned>(allowed_chars.size());
    const unsigned limit = 256U - (256U % alphabet);
    std::string out;
    out.reserve(length);
    std::array<unsigned char, 64> buffer{};
    while (out.size() < length) {
        random_bytes(buffer.data(), buffer.size());
        for (const unsigned char byte : buffer) {
            if (byte < limit && out.size() < length) {
                out.push_back(allowed_chars[byte % alphabet]);
            }
        }
    }
    return out;
}

bool constant_time_compare(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string pbkdf2(std::string_view password, std::string_view salt, int iterations, Digest digest,
                   std::size_t key_length) {
    if (iterations < 1) {
        throw std::invalid_argument("tocsin::auth::pbkdf2: iterations must be at least 1, not " +
                                    std::to_string(iterations));
    }
    const EVP_MD* md = digest == Digest::sha256 ? EVP_sha256() : EVP_sha1();
    if (key_length == 0) {
        key_length = static_cast<std::size_t>(EVP_MD_get_size(md));
    }
    if (password.size() > INT_MAX || salt.size() > INT_MAX || key_length > INT_MAX) {
        throw std::invalid_argument("tocsin::auth::pbkdf2: password, salt or key over 2 GiB");
    }
    // libcrypto reads from the pointers only; an empty view's data() may be null.
    static constexpr char empty = '\0';
    std::string key(key_length, '\0');
    if (PKCS5_PBKDF2_HMAC(
            password.empty() ? &empty : password.data(), static_cast<int>(password.size()),
            reinterpret_cast<const unsigned char*>(salt.empty() ? &empty : salt.data()),
            static_cast<int>(salt.size()), iterations, md, static_cast<int>(key_length),
            reinterpret_cast<unsigned char*>(key.data())) != 1) {
        throw std::runtime_error("tocsin::auth::pbkdf2: OpenSSL's PKCS5_PBKDF2_HMAC failed");
    }
    return key;
}

std::string base64_encode(std::string_view bytes) {
    if (bytes.empty()) {
        return {};
    }
    if (bytes.size() > INT_MAX / 2) {
        throw std::invalid_argument("tocsin::auth::base64_encode: input over 1 GiB");
    }
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                        reinterpret_cast<const unsigned char*>(bytes.data()),
                                        static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(written));
    return out;
}

std::string salted_hmac(std::string_view key_salt, std::string_view value, std::string_view secret,
                        Digest digest) {
    const EVP_MD* md = digest == Digest::sha256 ? EVP_sha256() : EVP_sha1();
    std::string material(key_salt);
    material += secret;
    std::array<unsigned char, EVP_MAX_MD_SIZE> key{};
    unsigned int key_length = 0;
    if (EVP_Digest(material.data(), material.size(), key.data(), &key_length, md, nullptr) != 1) {
        throw std::runtime_error("tocsin::auth::salted_hmac: libcrypto's digest failed");
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned int mac_length = 0;
    if (HMAC(md, key.data(), static_cast<int>(key_length),
             reinterpret_cast<const unsigned char*>(value.data()), value.size(), mac.data(),
             &mac_length) == nullptr) {
        throw std::runtime_error("tocsin::auth::salted_hmac: libcrypto's HMAC failed");
    }
    return {reinterpret_cast<const char*>(mac.data()), mac_length};
}

std::string hex_encode(std::string_view bytes) {
    static constexpr std::string_view digits = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char c : bytes) {
        const auto b = static_cast<unsigned char>(c);
        out += digits[b >> 4U];
        out += digits[b & 15U];
    }
    return out;
}

}  // namespace tocsin::auth
