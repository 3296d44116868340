// tocsin::auth password hashing: Django's encoded passwords ("pbkdf2_sha256$<iterations>$<salt>$
// <base64 hash>"), so that a user table moves between Django and tocsin without resetting a
// single password (django.contrib.auth.hashers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "tocsin/auth/crypto.hpp"

namespace tocsin::auth {

/// Django's UNUSABLE_PASSWORD_PREFIX: an encoded password starting with it never matches.
inline constexpr std::string_view unusable_password_prefix = "!";
/// Django's UNUSABLE_PASSWORD_SUFFIX_LENGTH: random characters after the prefix.
inline constexpr std::size_t unusable_password_suffix_length = 40;

/// An encoded password names an algorithm no installed hasher has, or make_password() was asked
/// for one (Django's ValueError "Unknown password hashing algorithm …").
class UnknownHasherError : public std::invalid_argument {
  public:
    using std::invalid_argument::invalid_argument;
};

/// An encoded password of a known algorithm is malformed (missing parts, iterations that are not
/// a positive number): the database holds something no hasher wrote. The message says what is
/// wrong, never the encoded text.
class PasswordFormatError : public std::invalid_argument {
  public:
    using std::invalid_argument::invalid_argument;
};

/// The parts of an encoded password.
struct DecodedPassword {
    std::string algorithm;
    int iterations = 0;  ///< PBKDF2's iterations; argon2's time cost
    std::string salt;    ///< as given to the hash function (argon2: the decoded bytes)
    std::string hash;    ///< as encoded
    // argon2 only (Django's decode() of Argon2PasswordHasher):
    std::string variety{};          ///< "argon2id", "argon2i" or "argon2d"
    int version = 0;                ///< 19 (0x13), or 16 (0x10) for a hash without "v="
    std::uint32_t memory_cost = 0;  ///< KiB
    std::uint32_t parallelism = 0;  ///< lanes
};

/// One password hashing algorithm (Django's BasePasswordHasher). Immutable once made; used from
/// any thread.
class PasswordHasher {
  public:
    PasswordHasher() = default;
    virtual ~PasswordHasher();
    PasswordHasher(const PasswordHasher&) = delete;
    PasswordHasher& operator=(const PasswordHasher&) = delete;

    /// The algorithm's name: the first `$`-separated part of what encode() returns.
    [[nodiscard]] virtual std::string_view algorithm() const = 0;
    /// A fresh salt from the CSPRNG with at least salt_entropy bits: 22 characters of
    /// random_string_chars (Django's BasePasswordHasher.salt).
    [[nodiscard]] virtual std::string salt() const;
    /// The encoded password of `password` (any bytes, as Django's bytes passwords) with `salt`.
    /// Throws std::invalid_argument when the salt is empty or contains '$'.
    [[nodiscard]] virtual std::string encode(std::string_view password,
                                             std::string_view salt) const = 0;
    /// The parts of `encoded`. Throws PasswordFormatError when it is malformed.
    [[nodiscard]] virtual DecodedPassword decode(std::string_view encoded) const = 0;
    /// Whether `password` is the one `encoded` was made from; the comparison is constant-time.
    /// Throws PasswordFormatError when `encoded` is malformed.
    [[nodiscard]] virtual bool verify(std::string_view password,
                                      std::string_view encoded) const = 0;
    /// Whether `encoded` should be made again with this hasher's current settings (work factor,
    /// salt entropy). Default: false.
    [[nodiscard]] virtual bool must_update(std::string_view encoded) const;
    /// Spends the work `encoded` is short of this hasher's work factor, so that a wrong password
    /// against an old hash takes as long as against a new one. Default: nothing.
    virtual void harden_runtime(std::string_view password, std::string_view encoded) const;
    /// The parts of `encoded` fit to show: the salt and hash masked after 6 characters (Django's
    /// safe_summary with mask_hash).
    [[nodiscard]] virtual std::map<std::string, std::string> safe_summary(
        std::string_view encoded) const;

    /// Bits of entropy a salt must have (Django's salt_entropy).
    static constexpr int salt_entropy = 128;
};

/// PBKDF2 with HMAC-SHA256 (Django's PBKDF2PasswordHasher, the default hasher): "pbkdf2_sha256$
/// <iterations>$<salt>$<base64 of the 32-byte key>".
class Pbkdf2PasswordHasher : public PasswordHasher {
  public:
    /// Django 6.0's default iteration count (Django 3.2's is 260000, 5.2's 1000000). An encoded
    /// password with another count verifies, and check_password() offers to upgrade it.
    static constexpr int default_iterations = 1'200'000;

    /// A hasher encoding with `iterations` (>= 1; std::invalid_argument otherwise).
    explicit Pbkdf2PasswordHasher(int iterations = default_iterations);

    [[nodiscard]] std::string_view algorithm() const override { return algorithm_; }
    [[nodiscard]] std::string encode(std::string_view password,
                                     std::string_view salt) const override;
    /// encode() with an explicit iteration count (>= 1). What verify() and harden_runtime() call.
    [[nodiscard]] virtual std::string encode_iterations(std::string_view password,
                                                        std::string_view salt,
                                                        int iterations) const;
    [[nodiscard]] DecodedPassword decode(std::string_view encoded) const override;
    [[nodiscard]] bool verify(std::string_view password, std::string_view encoded) const override;
    /// True when the iteration count differs from this hasher's or the salt is too short.
    [[nodiscard]] bool must_update(std::string_view encoded) const override;
    /// Runs the iterations `encoded` has fewer than this hasher, once.
    void harden_runtime(std::string_view password, std::string_view encoded) const override;
    [[nodiscard]] std::map<std::string, std::string> safe_summary(
        std::string_view encoded) const override;

    /// The iteration count new passwords get.
    [[nodiscard]] int iterations() const noexcept { return iterations_; }

  protected:
    /// A PBKDF2 hasher named `algorithm` with HMAC over `digest`.
    Pbkdf2PasswordHasher(std::string algorithm, Digest digest, int iterations);

  private:
    std::string algorithm_;
    Digest digest_;
    int iterations_;
};

/// PBKDF2 with HMAC-SHA1 (Django's PBKDF2SHA1PasswordHasher): "pbkdf2_sha1$…", to read hashes
/// made by Django programs that chose it.
class Pbkdf2Sha1PasswordHasher : public Pbkdf2PasswordHasher {
  public:
    /// A hasher encoding with `iterations` (>= 1).
    explicit Pbkdf2Sha1PasswordHasher(int iterations = default_iterations);
};

/// Argon2 (Django's Argon2PasswordHasher) through libargon2, the reference implementation
/// (Debian's libargon2-dev): "argon2$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>",
/// salt and hash in base64 without padding, a 16-byte hash: what Django writes through
/// argon2-cffi, so that each verifies the other's. It verifies argon2id, argon2i (Django before
/// 3.2) and argon2d hashes, with "v=19" or without a version (0x10, the oldest format).
class Argon2PasswordHasher : public PasswordHasher {
  public:
    /// Django's work factors: 2 passes over 100 MiB in 8 lanes.
    static constexpr std::uint32_t default_time_cost = 2;
    static constexpr std::uint32_t default_memory_cost = 102'400;  ///< KiB
    static constexpr std::uint32_t default_parallelism = 8;
    /// The hash length new passwords get (argon2-cffi's DEFAULT_HASH_LENGTH, as Django).
    static constexpr std::uint32_t hash_length = 16;
    /// The most memory a hash may ask for (KiB, 4 GiB): a stored hash asking for more is a
    /// PasswordFormatError rather than an allocation without bound.
    static constexpr std::uint32_t max_memory_cost = 4U * 1024U * 1024U;

    /// A hasher encoding with these costs. Throws std::invalid_argument for a time cost or
    /// parallelism of 0, a parallelism above 2^24 - 1, or a memory cost below 8 KiB per lane or
    /// above max_memory_cost.
    explicit Argon2PasswordHasher(std::uint32_t time_cost = default_time_cost,
                                  std::uint32_t memory_cost = default_memory_cost,
                                  std::uint32_t parallelism = default_parallelism);

    [[nodiscard]] std::string_view algorithm() const override { return "argon2"; }
    /// argon2id of `password` with the bytes of `salt` (at least 8, without '$'; else
    /// std::invalid_argument).
    [[nodiscard]] std::string encode(std::string_view password,
                                     std::string_view salt) const override;
    [[nodiscard]] DecodedPassword decode(std::string_view encoded) const override;
    /// Hashes `password` with the parameters, salt and hash length of `encoded` and compares in
    /// constant time.
    [[nodiscard]] bool verify(std::string_view password, std::string_view encoded) const override;
    /// True when the variety, version, costs or hash length differ from this hasher's, or the
    /// salt is too short (Django's).
    [[nodiscard]] bool must_update(std::string_view encoded) const override;
    /// Nothing, as Django ("the runtime for Argon2 is too complicated").
    void harden_runtime(std::string_view password, std::string_view encoded) const override;
    [[nodiscard]] std::map<std::string, std::string> safe_summary(
        std::string_view encoded) const override;

    [[nodiscard]] std::uint32_t time_cost() const noexcept { return time_cost_; }
    [[nodiscard]] std::uint32_t memory_cost() const noexcept { return memory_cost_; }
    [[nodiscard]] std::uint32_t parallelism() const noexcept { return parallelism_; }

  private:
    std::uint32_t time_cost_;
    std::uint32_t memory_cost_;
    std::uint32_t parallelism_;
};

/// Installs the password hashers (Django's PASSWORD_HASHERS): the first is the default, every
/// one can verify. Throws std::invalid_argument for an empty list, a null entry or two hashers
/// with one algorithm. Default: {Pbkdf2PasswordHasher, Pbkdf2Sha1PasswordHasher,
/// Argon2PasswordHasher} (Django's default list but bcrypt).
void set_password_hashers(std::vector<std::shared_ptr<const PasswordHasher>> hashers);
/// The installed hashers, the default first.
[[nodiscard]] std::vector<std::shared_ptr<const PasswordHasher>> password_hashers();
/// The default hasher for "default", else the installed hasher named `algorithm`. Throws
/// UnknownHasherError ("Unknown password hashing algorithm 'x'. …") when none is.
[[nodiscard]] std::shared_ptr<const PasswordHasher> get_hasher(
    std::string_view algorithm = "default");
/// The installed hasher that made `encoded` (its text before the first '$'). Throws
/// UnknownHasherError when none did.
[[nodiscard]] std::shared_ptr<const PasswordHasher> identify_hasher(std::string_view encoded);

/// False only for what make_password(std::nullopt) / set_unusable_password() made: a value
/// starting with '!' (Django's is_password_usable; nullopt, "" and garbage are "usable").
[[nodiscard]] bool is_password_usable(std::optional<std::string_view> encoded) noexcept;

/// The encoded password of `password` with `salt` (empty: a fresh one) by the hasher named
/// `hasher` ("default": the first installed). For std::nullopt, an unusable password: "!" and
/// 40 random characters (Django's make_password(None)). Throws UnknownHasherError for an
/// unknown hasher, std::invalid_argument for a salt with '$'.
[[nodiscard]] std::string make_password(std::optional<std::string_view> password,
                                        std::string_view salt = {},
                                        std::string_view hasher = "default");
/// make_password() with the hasher object itself.
[[nodiscard]] std::string make_password(std::string_view password, std::string_view salt,
                                        const PasswordHasher& hasher);

/// Called with the raw password when check_password() finds its hash outdated.
using PasswordSetter = std::function<void(std::string_view raw_password)>;

/// Whether `password` matches `encoded` (Django's check_password): the compare is constant-time;
/// for an unusable or unknown-format `encoded`, or std::nullopt, false after hashing a random
/// password once (no faster answer tells an attacker which). On a match whose hasher is not the
/// `preferred` one or whose work factor or salt is outdated, `setter` is called with the password
/// (to store a new hash). A wrong password against an outdated hash runs harden_runtime().
/// Throws PasswordFormatError when `encoded` names a known algorithm but is malformed (as
/// Django's ValueError).
[[nodiscard]] bool check_password(std::optional<std::string_view> password,
                                  std::string_view encoded, const PasswordSetter& setter = {},
                                  std::string_view preferred = "default");

/// Django's mask_hash: the first `show` characters of `hash`, then one `mask` per remaining one.
[[nodiscard]] std::string mask_hash(std::string_view hash, std::size_t show = 6, char mask = '*');

}  // namespace tocsin::auth
