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
namespace hashers_test {

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

// ---------------------------------------------------------------------------------- argon2
// Django's TestUtilsHashPassArgon2. The expected hashes were made by Django 3.2's
// Argon2PasswordHasher (Debian python3-django 3.2.25 with python3-argon2 21.1.0, argon2-cffi over
// the reference implementation) and by argon2-cffi's low-level hash_secret (argon2i, argon2d,
// v=16); auth_django_hashers_test checks fresh ones both ways.

/// Argon2 with Django's costs (the default) and a cheap one, for one test.
ScopedHashers argon2_hashers() {
    return ScopedHashers({std::make_shared<const Argon2PasswordHasher>(),
                          std::make_shared<const Pbkdf2PasswordHasher>(1000)});
}

TEST(TestUtilsHashPassArgon2, test_argon2) {
    const auto hashers = argon2_hashers();
    const std::string encoded = make_password("lètmein", "seasaltseasaltseasalt", "argon2");
    EXPECT_EQ(encoded,
              "argon2$argon2id$v=19$m=102400,t=2,p=8$c2Vhc2FsdHNlYXNhbHRzZWFzYWx0$"
              "Zoc4oWNbTIhBDF422P2BEQ");
    EXPECT_TRUE(is_password_usable(encoded));
    EXPECT_TRUE(check_password("lètmein", encoded));
    EXPECT_FALSE(check_password("lètmeinz", encoded));
    EXPECT_EQ(identify_hasher(encoded)->algorithm(), "argon2");
    // Blank passwords.
    const std::string blank = make_password("", "seasaltseasaltseasalt", "argon2");
    EXPECT_TRUE(blank.starts_with("argon2$"));
    EXPECT_TRUE(check_password("", blank));
    EXPECT_FALSE(check_password(" ", blank));
    // Other costs, as Django writes them: verified with their own parameters.
    const Argon2PasswordHasher cheap(1, 64, 2);
    EXPECT_EQ(
        cheap.encode("secret", "seasaltseasaltseasalt"),
        "argon2$argon2id$v=19$m=64,t=1,p=2$c2Vhc2FsdHNlYXNhbHRzZWFzYWx0$QOJRzw/z40FFGBsMIaBntA");
    EXPECT_TRUE(check_password(
        "secret",
        "argon2$argon2id$v=19$m=64,t=1,p=2$c2Vhc2FsdHNlYXNhbHRzZWFzYWx0$QOJRzw/z40FFGBsMIaBntA"));
    // Older varieties and versions (Django before 3.2 wrote argon2i; the oldest had no v=).
    for (const char* old :
         {"argon2$argon2i$v=19$m=8,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$6HRLOY6DqhnllRqS0FJ+vg",
          "argon2$argon2i$m=8,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$"
          "qbTlbPLSAv7tpFqKiyeJ8fRVBjxcUSVtiAwiKRwP/pU",
          "argon2$argon2i$v=16$m=8,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$"
          "qbTlbPLSAv7tpFqKiyeJ8fRVBjxcUSVtiAwiKRwP/pU",
          "argon2$argon2d$v=19$m=8,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$oeUkOKVfZ8p2IrnF/qjmJg"}) {
        SCOPED_TRACE(old);
        EXPECT_TRUE(check_password("secret", old));
        EXPECT_FALSE(check_password("wrong", old));
    }
    // Salt entropy check.
    const auto hasher = get_hasher("argon2");
    EXPECT_TRUE(hasher->must_update(make_password("lètmein", "iodizedsalt", "argon2")));
    EXPECT_FALSE(hasher->must_update(make_password("lètmein", hasher->salt(), "argon2")));
}

TEST(TestUtilsHashPassArgon2, test_argon2_decode) {
    const Argon2PasswordHasher hasher(1, 64, 2);
    const std::string encoded = hasher.encode("lètmein", "seasaltseasaltseasalt");
    const DecodedPassword d = hasher.decode(encoded);
    EXPECT_EQ(d.algorithm, "argon2");
    EXPECT_EQ(d.variety, "argon2id");
    EXPECT_EQ(d.version, 19);
    EXPECT_EQ(d.memory_cost, 64U);
    EXPECT_EQ(d.iterations, 1);
    EXPECT_EQ(d.parallelism, 2U);
    EXPECT_EQ(d.salt, "seasaltseasaltseasalt");
    EXPECT_EQ(d.hash, encoded.substr(encoded.rfind('$') + 1));
    const auto summary = hasher.safe_summary(encoded);
    EXPECT_EQ(summary.at("variety"), "argon2id");
    EXPECT_EQ(summary.at("memory cost"), "64");
    EXPECT_EQ(summary.at("salt"), "seasal***************");
}

TEST(TestUtilsHashPassArgon2, test_argon2_upgrade) {
    const auto hashers = argon2_hashers();
    // A hash with other costs matches and is upgraded to the preferred hasher's.
    const std::string old =
        Argon2PasswordHasher(1, 64, 2).encode("lètmein", "seasaltseasaltseasalt");
    std::string upgraded;
    EXPECT_TRUE(check_password(
        "lètmein", old, [&](std::string_view raw) { upgraded = make_password(raw, {}, "argon2"); },
        "argon2"));
    EXPECT_TRUE(upgraded.starts_with("argon2$argon2id$v=19$m=102400,t=2,p=8$")) << upgraded;
    EXPECT_FALSE(get_hasher("argon2")->must_update(upgraded));
    // No upgrade for a wrong password, nor for a hash with the current costs.
    bool called = false;
    EXPECT_FALSE(check_password(
        "wrong", old, [&](std::string_view) { called = true; }, "argon2"));
    EXPECT_TRUE(check_password(
        "lètmein", upgraded, [&](std::string_view) { called = true; }, "argon2"));
    EXPECT_FALSE(called);
}

TEST(TestUtilsHashPassArgon2, test_argon2_version_upgrade) {
    const auto hashers = argon2_hashers();
    // argon2i (Django before 3.2) with the current costs: upgraded to argon2id.
    std::string argon2i_current = Argon2PasswordHasher().encode("secret", "seasaltseasaltseasalt");
    argon2i_current.replace(argon2i_current.find("argon2id"), 8, "argon2i");
    EXPECT_TRUE(get_hasher("argon2")->must_update(argon2i_current));
    EXPECT_TRUE(
        get_hasher("argon2")->must_update("argon2$argon2i$m=8,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$"
                                          "qbTlbPLSAv7tpFqKiyeJ8fRVBjxcUSVtiAwiKRwP/pU"));
    std::string upgraded;
    EXPECT_TRUE(check_password(
        "secret", "argon2$argon2i$v=19$m=8,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$6HRLOY6DqhnllRqS0FJ+vg",
        [&](std::string_view raw) { upgraded = make_password(raw, {}, "argon2"); }, "argon2"));
    EXPECT_TRUE(upgraded.starts_with("argon2$argon2id$v=19$")) << upgraded;
}

// tocsin: a malformed argon2 hash is a PasswordFormatError saying what is wrong (never the hash),
// including costs that would make the program allocate without bound; bad costs for a hasher are
// refused when it is made.
TEST(Hashers, MalformedArgon2Hashes) {
    const Argon2PasswordHasher hasher(1, 64, 2);
    // Built by append: g++ 12 at -O2 warns falsely on `"…" + std::string`.
    const auto with_salt_hash = [](const char* params) {
        std::string out = params;
        out += "$c29tZXNhbHRzb21lc2FsdA$6HRLOY6DqhnllRqS0FJ+vg";
        return out;
    };
    for (const std::string& bad : std::vector<std::string>{
             "argon2"s, "argon2$argon2id"s, with_salt_hash("argon2$argon2x$v=19$m=8,t=1,p=1"),
             with_salt_hash("argon2$argon2id$v=18$m=8,t=1,p=1"),
             with_salt_hash("argon2$argon2id$v=19$m=8,t=1"),
             with_salt_hash("argon2$argon2id$v=19$m=8,t=1,p=1,x=2"),
             with_salt_hash("argon2$argon2id$v=19$m=x,t=1,p=1"),
             with_salt_hash("argon2$argon2id$v=19$m=4294967295,t=1,p=1"),
             with_salt_hash("argon2$argon2id$v=19$m=99999999999,t=1,p=1"),
             with_salt_hash("argon2$argon2id$v=19$m=8,t=0,p=1"),
             with_salt_hash("argon2$argon2id$v=19$m=8,t=1,p=0"),
             with_salt_hash("argon2$argon2id$v=19$m=8,t=1,p=2"),
             "argon2$argon2id$v=19$m=8,t=1,p=1$c2FsdA$6HRLOY6DqhnllRqS0FJ+vg",
             "argon2$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$!!",
             "argon2$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$"s,
             "argon2$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$6HRLOY6Dq$x"}) {
        SCOPED_TRACE(bad);
        try {
            static_cast<void>(hasher.verify("secret", bad));
            ADD_FAILURE() << "accepted";
        } catch (const PasswordFormatError& e) {
            if (bad.size() > 20) {  // the message never holds the hash
                EXPECT_EQ(std::string(e.what()).find(bad.substr(7)), std::string::npos) << e.what();
            }
        }
    }
    {
        const auto hashers = argon2_hashers();
        EXPECT_THROW(static_cast<void>(check_password(
                         "secret", with_salt_hash("argon2$argon2id$v=19$m=4294967295,t=1,p=1"))),
                     PasswordFormatError);
    }
    EXPECT_THROW(Argon2PasswordHasher(0, 64, 1), std::invalid_argument);
    EXPECT_THROW(Argon2PasswordHasher(1, 64, 0), std::invalid_argument);
    EXPECT_THROW(Argon2PasswordHasher(1, 7, 1), std::invalid_argument);
    EXPECT_THROW(Argon2PasswordHasher(1, Argon2PasswordHasher::max_memory_cost + 1, 1),
                 std::invalid_argument);
    EXPECT_THROW(static_cast<void>(hasher.encode("x", "short")), std::invalid_argument);
    EXPECT_THROW(static_cast<void>(hasher.encode("x", "with$dollar")), std::invalid_argument);
    // Any bytes are a password: empty, not UTF-8, a NUL, a megabyte.
    for (const std::string& pw :
         {""s, "\xff\xfe not UTF-8"s, "nul\0inside"s, std::string(1 << 20, 'x')}) {
        const std::string encoded = hasher.encode(pw, "seasaltseasaltseasalt");
        EXPECT_TRUE(hasher.verify(pw, encoded));
        EXPECT_FALSE(hasher.verify(pw + "z", encoded));
    }
}

}  // namespace hashers_test
}  // namespace
}  // namespace tocsin::auth
