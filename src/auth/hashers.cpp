#include "tocsin/auth/hashers.hpp"

#include <climits>
#include <cmath>
#include <mutex>
#include <set>
#include <utility>

namespace tocsin::auth {

namespace {

/// Characters a salt needs for `bits` of entropy with random_string_chars (22 for 128 bits).
std::size_t salt_length_for(int bits) {
    const double per_char = std::log2(static_cast<double>(random_string_chars.size()));
    return static_cast<std::size_t>(std::ceil(static_cast<double>(bits) / per_char));
}

bool salt_too_short(std::string_view salt, int bits) {
    const double per_char = std::log2(static_cast<double>(random_string_chars.size()));
    return static_cast<double>(salt.size()) * per_char < static_cast<double>(bits);
}

/// The algorithm named in `encoded`, for messages: at most 40 characters of it.
std::string shown_algorithm(std::string_view algorithm) {
    if (algorithm.size() > 40) {
        return std::string(algorithm.substr(0, 40)) + "…";
    }
    return std::string(algorithm);
}

struct Hashers {
    std::mutex mutex;
    std::vector<std::shared_ptr<const PasswordHasher>> hashers;
};

Hashers& installed_hashers() {
    static Hashers r{.mutex = {},
                     .hashers = {std::make_shared<const Pbkdf2PasswordHasher>(),
                                 std::make_shared<const Pbkdf2Sha1PasswordHasher>(),
                                 std::make_shared<const Argon2PasswordHasher>()}};
    return r;
}

}  // namespace

// ------------------------------------------------------------------------------ PasswordHasher

PasswordHasher::~PasswordHasher() = default;

std::string PasswordHasher::salt() const {
    return random_string(salt_length_for(salt_entropy));
}

bool PasswordHasher::must_update(std::string_view /*encoded*/) const {
    return false;
}

void PasswordHasher::harden_runtime(std::string_view /*password*/,
                                    std::string_view /*encoded*/) const {}

std::map<std::string, std::string> PasswordHasher::safe_summary(std::string_view encoded) const {
    const DecodedPassword d = decode(encoded);
    return {{"algorithm", d.algorithm}, {"salt", mask_hash(d.salt)}, {"hash", mask_hash(d.hash)}};
}

// ------------------------------------------------------------------------ Pbkdf2PasswordHasher

Pbkdf2PasswordHasher::Pbkdf2PasswordHasher(int iterations)
    : Pbkdf2PasswordHasher("pbkdf2_sha256", Digest::sha256, iterations) {}

Pbkdf2PasswordHasher::Pbkdf2PasswordHasher(std::string algorithm, Digest digest, int iterations)
    : algorithm_(std::move(algorithm)), digest_(digest), iterations_(iterations) {
    if (iterations < 1) {
        throw std::invalid_argument("tocsin::auth: a " + algorithm_ +
                                    " hasher needs at least 1 iteration, not " +
                                    std::to_string(iterations));
    }
}

std::string Pbkdf2PasswordHasher::encode(std::string_view password, std::string_view salt) const {
    return encode_iterations(password, salt, iterations_);
}

std::string Pbkdf2PasswordHasher::encode_iterations(std::string_view password,
                                                    std::string_view salt, int iterations) const {
    if (salt.empty() || salt.find('$') != std::string_view::npos) {
        throw std::invalid_argument("salt must be provided and cannot contain $.");
    }
    const std::string hash = base64_encode(pbkdf2(password, salt, iterations, digest_));
    std::string out;
    out.reserve(algorithm_.size() + salt.size() + hash.size() + 16);
    out.append(algorithm_).append("$").append(std::to_string(iterations)).append("$");
    out.append(salt).append("$").append(hash);
    return out;
}

DecodedPassword Pbkdf2PasswordHasher::decode(std::string_view encoded) const {
    std::string_view parts[3];
    std::string_view rest = encoded;
    for (auto& part : parts) {
        const auto dollar = rest.find('$');
        if (dollar == std::string_view::npos) {
            throw PasswordFormatError("tocsin::auth: a " + algorithm_ +
                                      " password must have 4 '$'-separated parts "
                                      "(algorithm$iterations$salt$hash)");
        }
        part = rest.substr(0, dollar);
        rest.remove_prefix(dollar + 1);
    }
    if (parts[0] != algorithm_) {
        throw PasswordFormatError("tocsin::auth: the " + algorithm_ +
                                  " hasher cannot decode a password of algorithm '" +
                                  shown_algorithm(parts[0]) + "'");
    }
    long long iterations = 0;
    bool digits = !parts[1].empty() && parts[1].size() <= 10;
    for (const char c : parts[1]) {
        if (c < '0' || c > '9') {
            digits = false;
            break;
        }
        iterations = iterations * 10 + (c - '0');
    }
    if (!digits || iterations < 1 || iterations > INT_MAX) {
        throw PasswordFormatError("tocsin::auth: the iteration count of a " + algorithm_ +
                                  " password is not a number from 1 to 2147483647");
    }
    if (parts[2].empty()) {
        throw PasswordFormatError("tocsin::auth: a " + algorithm_ + " password has an empty salt");
    }
    return {.algorithm = std::string(parts[0]),
            .iterations = static_cast<int>(iterations),
            .salt = std::string(parts[2]),
            .hash = std::string(rest)};
}

bool Pbkdf2PasswordHasher::verify(std::string_view password, std::string_view encoded) const {
    const DecodedPassword d = decode(encoded);
    return constant_time_compare(encoded, encode_iterations(password, d.salt, d.iterations));
}

bool Pbkdf2PasswordHasher::must_update(std::string_view encoded) const {
    const DecodedPassword d = decode(encoded);
    return d.iterations != iterations_ || salt_too_short(d.salt, salt_entropy);
}

void Pbkdf2PasswordHasher::harden_runtime(std::string_view password,
                                          std::string_view encoded) const {
    const DecodedPassword d = decode(encoded);
    const long long extra = static_cast<long long>(iterations_) - d.iterations;
    if (extra > 0) {
        static_cast<void>(encode_iterations(password, d.salt, static_cast<int>(extra)));
    }
}

std::map<std::string, std::string> Pbkdf2PasswordHasher::safe_summary(
    std::string_view encoded) const {
    const DecodedPassword d = decode(encoded);
    return {{"algorithm", d.algorithm},
            {"iterations", std::to_string(d.iterations)},
            {"salt", mask_hash(d.salt)},
            {"hash", mask_hash(d.hash)}};
}

Pbkdf2Sha1PasswordHasher::Pbkdf2Sha1PasswordHasher(int iterations)
    : Pbkdf2PasswordHasher("pbkdf2_sha1", Digest::sha1, iterations) {}

// ------------------------------------------------------------------------------ the hashers

void set_password_hashers(std::vector<std::shared_ptr<const PasswordHasher>> hashers) {
    if (hashers.empty()) {
        throw std::invalid_argument("tocsin::auth::set_password_hashers: the list is empty");
    }
    std::set<std::string_view> names;
    for (const auto& hasher : hashers) {
        if (!hasher) {
            throw std::invalid_argument("tocsin::auth::set_password_hashers: a hasher is null");
        }
        if (hasher->algorithm().empty() || !names.insert(hasher->algorithm()).second) {
            throw std::invalid_argument("tocsin::auth::set_password_hashers: the algorithm '" +
                                        std::string(hasher->algorithm()) +
                                        "' is empty or listed twice");
        }
    }
    Hashers& r = installed_hashers();
    const std::lock_guard lock(r.mutex);
    r.hashers = std::move(hashers);
}

std::vector<std::shared_ptr<const PasswordHasher>> password_hashers() {
    Hashers& r = installed_hashers();
    const std::lock_guard lock(r.mutex);
    return r.hashers;
}

std::shared_ptr<const PasswordHasher> get_hasher(std::string_view algorithm) {
    Hashers& r = installed_hashers();
    const std::lock_guard lock(r.mutex);
    if (algorithm == "default") {
        return r.hashers.front();
    }
    for (const auto& hasher : r.hashers) {
        if (hasher->algorithm() == algorithm) {
            return hasher;
        }
    }
    throw UnknownHasherError("Unknown password hashing algorithm '" + shown_algorithm(algorithm) +
                             "'. Did you install it with tocsin::auth::set_password_hashers()?");
}

std::shared_ptr<const PasswordHasher> identify_hasher(std::string_view encoded) {
    const auto dollar = encoded.find('$');
    if (dollar == std::string_view::npos) {
        // Django takes the whole value as the algorithm: a bare "pbkdf2_sha256" is its hasher's
        // (and malformed); anything else is not named in the message (it may be a raw hash).
        for (const auto& hasher : password_hashers()) {
            if (hasher->algorithm() == encoded) {
                return hasher;
            }
        }
        throw UnknownHasherError(
            "Unknown password hashing algorithm: the encoded password has no '$' (no algorithm)");
    }
    return get_hasher(encoded.substr(0, dollar));
}

bool is_password_usable(std::optional<std::string_view> encoded) noexcept {
    return !encoded || !encoded->starts_with(unusable_password_prefix);
}

std::string make_password(std::optional<std::string_view> password, std::string_view salt,
                          std::string_view hasher) {
    if (!password) {
        return std::string(unusable_password_prefix) +
               random_string(unusable_password_suffix_length);
    }
    return make_password(*password, salt, *get_hasher(hasher));
}

std::string make_password(std::string_view password, std::string_view salt,
                          const PasswordHasher& hasher) {
    if (salt.empty()) {
        return hasher.encode(password, hasher.salt());
    }
    return hasher.encode(password, salt);
}

bool check_password(std::optional<std::string_view> password, std::string_view encoded,
                    const PasswordSetter& setter, std::string_view preferred) {
    const auto preferred_hasher = get_hasher(preferred);
    std::shared_ptr<const PasswordHasher> hasher;
    if (password && is_password_usable(encoded)) {
        try {
            hasher = identify_hasher(encoded);
        } catch (const UnknownHasherError&) {
            hasher = nullptr;
        }
    }
    if (!hasher) {
        // As long as a real check: an unusable or unknown password does not answer faster.
        static_cast<void>(
            make_password(random_string(unusable_password_suffix_length), {}, *preferred_hasher));
        return false;
    }
    const bool hasher_changed = hasher->algorithm() != preferred_hasher->algorithm();
    const bool must_update = hasher_changed || preferred_hasher->must_update(encoded);
    const bool is_correct = hasher->verify(*password, encoded);
    if (!is_correct && !hasher_changed && must_update) {
        hasher->harden_runtime(*password, encoded);
    }
    if (setter && is_correct && must_update) {
        setter(*password);
    }
    return is_correct;
}

std::string mask_hash(std::string_view hash, std::size_t show, char mask) {
    const std::size_t shown = std::min(show, hash.size());
    std::string out(hash.substr(0, shown));
    out.append(hash.size() - shown, mask);
    return out;
}

}  // namespace tocsin::auth
