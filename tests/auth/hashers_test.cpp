// Password hashing: Django's tests/auth_tests/test_hashers.py (TestUtilsHashPass) for the hashers
// tocsin has (pbkdf2_sha256, pbkdf2_sha1), under Django's names, and bad input. Django 6.0's
// iteration count (1,200,000) gives the expected hashes (computed with Python's hashlib).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "tocsin/auth/hashers.hpp"

namespace tocsin::auth {
namespace {

using namespace std::string_literals;

/// Installs `hashers` for one test, the defaults again after it.
class ScopedHashers {
  public:
    explicit ScopedHashers(std::vector<std::shared_ptr<const PasswordHasher>> hashers)
        : saved_(password_hashers()) {
        set_password_hashers(std::move(hashers));
    }
    ~ScopedHashers() { set_password_hashers(saved_); }
    ScopedHashers(const ScopedHashers&) = delete;
    ScopedHashers& operator=(const ScopedHashers&) = delete;

  private:
    std::vector<std::shared_ptr<const PasswordHasher>> saved_;
};

/// The hashers with few iterations, for the tests that do not check the default count.
ScopedHashers fast_hashers(int iterations = 1000) {
    return ScopedHashers({std::make_shared<const Pbkdf2PasswordHasher>(iterations),
                          std::make_shared<const Pbkdf2Sha1PasswordHasher>(iterations)});
}

TEST(TestUtilsHashPass, test_simple) {
    const auto guard = fast_hashers();
    const std::string encoded = make_password("lètmein");
    EXPECT_TRUE(encoded.starts_with("pbkdf2_sha256$"));
    EXPECT_TRUE(is_password_usable(encoded));
    EXPECT_TRUE(check_password("lètmein", encoded));
    EXPECT_FALSE(check_password("lètmeinz", encoded));
    // Blank passwords
    const std::string blank_encoded = make_password("");
    EXPECT_TRUE(blank_encoded.starts_with("pbkdf2_sha256$"));
    EXPECT_TRUE(is_password_usable(blank_encoded));
    EXPECT_TRUE(check_password("", blank_encoded));
    EXPECT_FALSE(check_password(" ", blank_encoded));
}

// Django's test_bytes: a password is bytes; bytes that are not UTF-8 hash as they are.
TEST(TestUtilsHashPass, test_bytes) {
    const auto guard = fast_hashers();
    const std::string bytes = "bytes_password\xff\xfe\x00z"s;
    const std::string encoded = make_password(bytes);
    EXPECT_TRUE(encoded.starts_with("pbkdf2_sha256$"));
    EXPECT_TRUE(is_password_usable(encoded));
    EXPECT_TRUE(check_password(bytes, encoded));
    EXPECT_FALSE(check_password("bytes_password\xff\xfe"s, encoded));  // not cut at the NUL
}

TEST(TestUtilsHashPass, test_pbkdf2) {
    const std::string encoded = make_password("lètmein", "seasalt", "pbkdf2_sha256");
    EXPECT_EQ(encoded,
              "pbkdf2_sha256$1200000$seasalt$6sTlFi4QohxXLuZigqDIUNX8xG9NxrTmV8+flFQdBqE=");
    EXPECT_TRUE(is_password_usable(encoded));
    EXPECT_TRUE(check_password("lètmein", encoded));
    EXPECT_FALSE(check_password("lètmeinz", encoded));
    EXPECT_EQ(identify_hasher(encoded)->algorithm(), "pbkdf2_sha256");
    // Blank passwords (and the rest: with fewer iterations, to keep the test short)
    const auto guard = fast_hashers();
    const std::string blank_encoded = make_password("", "seasalt", "pbkdf2_sha256");
    EXPECT_TRUE(blank_encoded.starts_with("pbkdf2_sha256$"));
    EXPECT_TRUE(is_password_usable(blank_encoded));
    EXPECT_TRUE(check_password("", blank_encoded));
    EXPECT_FALSE(check_password(" ", blank_encoded));
    // Salt entropy check.
    const auto hasher = get_hasher("pbkdf2_sha256");
    const std::string weak = make_password("lètmein", "iodizedsalt", "pbkdf2_sha256");
    const std::string strong = make_password("lètmein", hasher->salt(), "pbkdf2_sha256");
    EXPECT_TRUE(hasher->must_update(weak));
    EXPECT_FALSE(hasher->must_update(strong));
}

TEST(TestUtilsHashPass, test_unusable) {
    const auto guard = fast_hashers();
    const std::string encoded = make_password(std::nullopt);
    EXPECT_EQ(encoded.size(), unusable_password_prefix.size() + unusable_password_suffix_length);
    EXPECT_FALSE(is_password_usable(encoded));
    EXPECT_FALSE(check_password(std::nullopt, encoded));
    EXPECT_FALSE(check_password(encoded, encoded));
    EXPECT_FALSE(check_password(unusable_password_prefix, encoded));
    EXPECT_FALSE(check_password("", encoded));
    EXPECT_FALSE(check_password("lètmein", encoded));
    EXPECT_FALSE(check_password("lètmeinz", encoded));
    EXPECT_THROW(static_cast<void>(identify_hasher(encoded)), UnknownHasherError);
    // The unusable passwords contain a random part.
    EXPECT_NE(encoded, make_password(std::nullopt));
    // Only Django's alphabet after the prefix.
    EXPECT_EQ(encoded.find_first_not_of(random_string_chars, 1), std::string::npos);
}

TEST(TestUtilsHashPass, test_unspecified_password) {
    const auto guard = fast_hashers();
    EXPECT_FALSE(check_password(std::nullopt, make_password("lètmein")));
}

TEST(TestUtilsHashPass, test_bad_algorithm) {
    const std::string msg =
        "Unknown password hashing algorithm 'lolcat'. Did you install it with "
        "tocsin::auth::set_password_hashers()?";
    try {
        static_cast<void>(make_password("lètmein", {}, "lolcat"));
        ADD_FAILURE() << "no exception";
    } catch (const UnknownHasherError& e) {
        EXPECT_EQ(e.what(), msg);
    }
    try {
        static_cast<void>(identify_hasher("lolcat$salt$hash"));
        ADD_FAILURE() << "no exception";
    } catch (const UnknownHasherError& e) {
        EXPECT_EQ(e.what(), msg);
    }
}

TEST(TestUtilsHashPass, test_is_password_usable) {
    EXPECT_TRUE(is_password_usable("lètmein_badencoded"));
    EXPECT_TRUE(is_password_usable(""));
    EXPECT_TRUE(is_password_usable(std::nullopt));
}

TEST(TestUtilsHashPass, test_low_level_pbkdf2) {
    const Pbkdf2PasswordHasher hasher;
    const std::string encoded = hasher.encode("lètmein", "seasalt2");
    EXPECT_EQ(encoded,
              "pbkdf2_sha256$1200000$seasalt2$hPlIUc6GqWsws6cZV1K8OuOARm1UrbZ3vLGFoHkH0ZI=");
    EXPECT_TRUE(hasher.verify("lètmein", encoded));
}

TEST(TestUtilsHashPass, test_low_level_pbkdf2_sha1) {
    const Pbkdf2Sha1PasswordHasher hasher;
    const std::string encoded = hasher.encode("lètmein", "seasalt2");
    EXPECT_EQ(encoded, "pbkdf2_sha1$1200000$seasalt2$RGU4BAy93u+JDPtuMamdllndh+c=");
    EXPECT_TRUE(hasher.verify("lètmein", encoded));
}

// Django's test_upgrade (sha1 and md5 there; pbkdf2_sha1 here): a match with a hasher that is not
// the default one calls the setter.
TEST(TestUtilsHashPass, test_upgrade) {
    const auto guard = fast_hashers();
    EXPECT_EQ(get_hasher("default")->algorithm(), "pbkdf2_sha256");
    const std::string encoded = make_password("lètmein", {}, "pbkdf2_sha1");
    bool upgraded = false;
    EXPECT_TRUE(check_password("lètmein", encoded, [&](std::string_view) { upgraded = true; }));
    EXPECT_TRUE(upgraded);
}

TEST(TestUtilsHashPass, test_no_upgrade) {
    const auto guard = fast_hashers();
    const std::string encoded = make_password("lètmein");
    bool upgraded = false;
    EXPECT_FALSE(check_password("WRONG", encoded, [&](std::string_view) { upgraded = true; }));
    EXPECT_FALSE(upgraded);
}

TEST(TestUtilsHashPass, test_no_upgrade_on_incorrect_pass) {
    const auto guard = fast_hashers();
    const std::string encoded = make_password("lètmein", {}, "pbkdf2_sha1");
    bool upgraded = false;
    EXPECT_FALSE(check_password("WRONG", encoded, [&](std::string_view) { upgraded = true; }));
    EXPECT_FALSE(upgraded);
}

TEST(TestUtilsHashPass, test_pbkdf2_upgrade) {
    std::string encoded;
    {
        // Generate a password with 1 iteration.
        const auto guard = fast_hashers(1);
        encoded = make_password("letmein");
        EXPECT_TRUE(encoded.starts_with("pbkdf2_sha256$1$"));
        // No upgrade is triggered.
        bool upgraded = false;
        EXPECT_TRUE(check_password("letmein", encoded, [&](std::string_view) { upgraded = true; }));
        EXPECT_FALSE(upgraded);
    }
    // Back to the default count: the password would be updated, with the raw password.
    std::string given;
    EXPECT_TRUE(check_password("letmein", encoded, [&](std::string_view p) { given = p; }));
    EXPECT_EQ(given, "letmein");
}

/// Counts encode_iterations() calls and their arguments (Django's test patches encode()).
class CountingHasher : public Pbkdf2PasswordHasher {
  public:
    using Pbkdf2PasswordHasher::Pbkdf2PasswordHasher;
    std::string encode_iterations(std::string_view password, std::string_view salt,
                                  int iterations) const override {
        calls.emplace_back(std::string(password), std::string(salt), iterations);
        return Pbkdf2PasswordHasher::encode_iterations(password, salt, iterations);
    }
    mutable std::vector<std::tuple<std::string, std::string, int>> calls;
};

TEST(TestUtilsHashPass, test_pbkdf2_harden_runtime) {
    const std::string encoded = Pbkdf2PasswordHasher(1).encode("letmein", "seasalt");
    const CountingHasher hasher(6);
    hasher.harden_runtime("wrong_password", encoded);
    // Encode is called once, with the original salt and 5 iterations.
    ASSERT_EQ(hasher.calls.size(), 1U);
    EXPECT_EQ(hasher.calls[0], std::make_tuple("wrong_password"s, "seasalt"s, 5));
}

TEST(TestUtilsHashPass, test_pbkdf2_upgrade_new_hasher) {
    bool upgraded = false;
    const PasswordSetter setter = [&](std::string_view) { upgraded = true; };
    std::string encoded;
    {
        const auto guard = ScopedHashers({std::make_shared<const Pbkdf2PasswordHasher>(1)});
        encoded = make_password("letmein");
        EXPECT_TRUE(encoded.starts_with("pbkdf2_sha256$1$"));
        EXPECT_TRUE(check_password("letmein", encoded, setter));
        EXPECT_FALSE(upgraded);
    }
    {
        const auto guard = ScopedHashers({std::make_shared<const Pbkdf2PasswordHasher>(10)});
        EXPECT_TRUE(check_password("letmein", encoded, setter));
        EXPECT_TRUE(upgraded);
    }
}

// check_password() hardens the runtime only for a wrong password against an outdated hash of
// the preferred hasher (what Django checks with mocks).
TEST(TestUtilsHashPass, test_check_password_calls_harden_runtime) {
    auto counting = std::make_shared<const CountingHasher>(6);
    const auto guard = ScopedHashers({counting});
    const std::string encoded = Pbkdf2PasswordHasher(1).encode("letmein", "seasalt");
    // Correct password supplied, no hardening needed: one encode (the verify).
    EXPECT_TRUE(check_password("letmein", encoded));
    EXPECT_EQ(counting->calls.size(), 1U);
    // Wrong password supplied, hardening needed: the verify and 5 more iterations.
    counting->calls.clear();
    EXPECT_FALSE(check_password("wrong_password", encoded));
    ASSERT_EQ(counting->calls.size(), 2U);
    EXPECT_EQ(std::get<2>(counting->calls[1]), 5);
}

TEST(TestUtilsHashPass, test_encode_invalid_salt) {
    for (const char* salt : {"", "sea$salt"}) {
        try {
            static_cast<void>(Pbkdf2PasswordHasher(1).encode("password", salt));
            ADD_FAILURE() << "no exception for salt '" << salt << "'";
        } catch (const std::invalid_argument& e) {
            EXPECT_STREQ(e.what(), "salt must be provided and cannot contain $.");
        }
    }
    EXPECT_THROW(static_cast<void>(Pbkdf2Sha1PasswordHasher(1).encode("password", "a$")),
                 std::invalid_argument);
}

// ------------------------------------------------------------------------------ not Django's

// New passwords get Django 6.0's iteration count; the salt is fresh each time.
TEST(Hashers, DefaultIsPbkdf2Sha256WithDjango60sIterationCount) {
    EXPECT_EQ(Pbkdf2PasswordHasher::default_iterations, 1'200'000);
    const std::string encoded = make_password("lètmein");
    EXPECT_TRUE(encoded.starts_with("pbkdf2_sha256$1200000$")) << encoded;
    EXPECT_EQ(get_hasher()->decode(encoded).salt.size(), 22U);
    bool upgraded = false;
    EXPECT_TRUE(check_password("lètmein", encoded, [&](std::string_view) { upgraded = true; }));
    EXPECT_FALSE(upgraded);
}

TEST(Hashers, SaltsAreDjangosLengthAndAlphabetAndRandom) {
    const Pbkdf2PasswordHasher hasher;
    const std::string a = hasher.salt();
    EXPECT_EQ(a.size(), 22U);
    EXPECT_EQ(a.find_first_not_of(random_string_chars), std::string::npos);
    EXPECT_NE(a, hasher.salt());
    EXPECT_FALSE(hasher.must_update("pbkdf2_sha256$1200000$" + a + "$hash"));
}

TEST(Hashers, AMegabytePasswordHashesAndChecks) {
    const auto guard = fast_hashers();
    const std::string huge(1 << 20, 'p');
    const std::string encoded = make_password(huge);
    EXPECT_TRUE(check_password(huge, encoded));
    EXPECT_FALSE(check_password(huge.substr(1), encoded));
    EXPECT_FALSE(check_password(huge + "p", encoded));
}

// Values no hasher wrote: an unknown algorithm (or none) is false, as in Django; a malformed
// value of a known algorithm is a PasswordFormatError saying what is wrong, never the value.
TEST(Hashers, UnknownOrMalformedEncodedPasswords) {
    const auto guard = fast_hashers();
    for (const char* encoded : {"", "plain", "md5$salt$hash", "bcrypt$$2b$12$abc", "$$$"}) {
        EXPECT_FALSE(check_password("plain", encoded)) << encoded;
    }
    for (const char* encoded :
         {"pbkdf2_sha256", "pbkdf2_sha256$1000", "pbkdf2_sha256$1000$XyZ", "pbkdf2_sha256$$XyZ$h",
          "pbkdf2_sha256$abc$XyZ$hash", "pbkdf2_sha256$-5$XyZ$hash", "pbkdf2_sha256$0$XyZ$h",
          "pbkdf2_sha256$99999999999$XyZ$hash", "pbkdf2_sha256$1000$$XyZ"}) {
        try {
            static_cast<void>(check_password("secret", encoded));
            ADD_FAILURE() << "no exception for " << encoded;
        } catch (const PasswordFormatError& e) {
            EXPECT_EQ(std::string(e.what()).find("XyZ"), std::string::npos) << e.what();
        }
    }
    // A hash part that is not this password's: false, also with trailing garbage.
    const std::string good = make_password("secret", "seasalt");
    EXPECT_TRUE(check_password("secret", good));
    EXPECT_FALSE(check_password("secret", good + "="));
    EXPECT_FALSE(check_password("secret", good.substr(0, good.size() - 1)));
    // Leading zeros in the count: the value is not what encode() writes, so no match.
    std::string zero = good;
    zero.insert(zero.find('$') + 1, "0");
    EXPECT_FALSE(check_password("secret", zero));
}

TEST(Hashers, SafeSummaryMasksSaltAndHash) {
    const auto summary =
        Pbkdf2PasswordHasher(1).safe_summary(Pbkdf2PasswordHasher(1).encode("x", "seasaltseasalt"));
    EXPECT_EQ(summary.at("algorithm"), "pbkdf2_sha256");
    EXPECT_EQ(summary.at("iterations"), "1");
    EXPECT_EQ(summary.at("salt"), "seasal********");
    EXPECT_EQ(summary.at("hash").substr(6), std::string(38, '*'));
    EXPECT_EQ(mask_hash("abc"), "abc");
}

TEST(Hashers, SetPasswordHashersRefusesBadLists) {
    EXPECT_THROW(set_password_hashers({}), std::invalid_argument);
    EXPECT_THROW(set_password_hashers({nullptr}), std::invalid_argument);
    EXPECT_THROW(set_password_hashers({std::make_shared<const Pbkdf2PasswordHasher>(),
                                       std::make_shared<const Pbkdf2PasswordHasher>(5)}),
                 std::invalid_argument);
    EXPECT_THROW(Pbkdf2PasswordHasher(0), std::invalid_argument);
    EXPECT_EQ(get_hasher()->algorithm(), "pbkdf2_sha256");  // unchanged
}

TEST(Crypto, ConstantTimeCompareAndRandomString) {
    EXPECT_TRUE(constant_time_compare("", ""));
    EXPECT_TRUE(constant_time_compare("abc", "abc"));
    EXPECT_FALSE(constant_time_compare("abc", "abd"));
    EXPECT_FALSE(constant_time_compare("abc", "ab"));
    EXPECT_EQ(random_string(0), "");
    EXPECT_EQ(random_string(1000, "ab").find_first_not_of("ab"), std::string::npos);
    EXPECT_THROW(static_cast<void>(random_string(3, "")), std::invalid_argument);
    EXPECT_EQ(base64_encode("\xff\xfe"), "//4=");
    EXPECT_THROW(static_cast<void>(pbkdf2("p", "s", 0)), std::invalid_argument);
}

}  // namespace
}  // namespace tocsin::auth
