// Django 3.2 (Debian's python3-django) and tocsin check each other's password hashes: hashes
// Django makes now, with its own salt and iteration count (260000), verify in tocsin (and ask for
// an upgrade to tocsin's count); tocsin's verify in Django. Passwords include "", non-ASCII,
// bytes that are not UTF-8, a NUL and a long one. Skipped without python3-django. The same for
// argon2 (Django's Argon2PasswordHasher through python3-argon2; skipped without it): Django's
// argon2 hashes verify in tocsin with its default costs (Django's), tocsin's in Django.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "../support/temp_dir.hpp"
#include "tocsin/auth/hashers.hpp"

namespace tocsin::auth {
namespace {
namespace django_hashers_test {

using namespace std::string_literals;

constexpr const char* python = "/usr/bin/python3";

std::string hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const char c : bytes) {
        const auto b = static_cast<unsigned char>(c);
        out.push_back(digits[b >> 4U]);
        out.push_back(digits[b & 15U]);
    }
    return out;
}

std::vector<std::string> read_lines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
        out.push_back(line);
    }
    return out;
}

std::vector<std::string> passwords() {
    // Built by append: g++ 12 at -O2 warns falsely (-Warray-bounds) on `std::string&& + "…"`.
    std::string long_one(5000, 'x');
    long_one.append("ü");
    return {"lètmein",      "",      " ", "correct horse battery staple", "\xff\xfe\x80 not UTF-8"s,
            "nul\0inside"s, long_one};
}

class DjangoHashersTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!std::filesystem::exists(python) || django("check") != 0) {
            GTEST_SKIP() << "python3-django is not installed (" << python
                         << " cannot import django)";
        }
    }

    /// Runs tests/auth/django/hashers.py with `args`; its exit status (output in a log shown on
    /// failure).
    int django(const std::string& args) {
        const std::string log = dir.file("django.log");
        std::ostringstream line;
        line << python << " '" << TOCSIN_DJANGO_HASHERS_SCRIPT << "' " << args << " > '" << log
             << "' 2>&1";
        const std::string command = line.str();
        const int status = std::system(command.c_str());
        if (status != 0 && args != "check") {
            std::ifstream in(log);
            std::ostringstream text;
            text << in.rdbuf();
            ADD_FAILURE() << command << " failed:\n" << text.str();
        }
        return status;
    }

    test_support::TempDir dir;
};

TEST_F(DjangoHashersTest, TocsinChecksPasswordsDjangoHashed) {
    const auto pws = passwords();
    const std::string in = dir.file("make.txt");
    {
        std::ofstream out(in);
        for (const auto& pw : pws) {
            out << "pbkdf2_sha256 " << hex(pw) << '\n';
        }
        out << "pbkdf2_sha1 " << hex(pws[0]) << '\n';
        out << "pbkdf2_sha1 " << hex(pws[4]) << '\n';
    }
    const std::string made = dir.file("made.txt");
    ASSERT_EQ(django("make '" + in + "' '" + made + "'"), 0);
    const auto encoded = read_lines(made);
    ASSERT_EQ(encoded.size(), pws.size() + 2);
    for (std::size_t i = 0; i < encoded.size(); ++i) {
        const std::string& pw = i < pws.size() ? pws[i] : pws[i == pws.size() ? 0 : 4];
        SCOPED_TRACE("password " + std::to_string(i) + ", " + encoded[i]);
        EXPECT_TRUE(encoded[i].starts_with(i < pws.size() ? "pbkdf2_sha256$260000$"
                                                          : "pbkdf2_sha1$260000$"));
        std::string upgraded_with;
        EXPECT_TRUE(check_password(pw, encoded[i], [&](std::string_view p) { upgraded_with = p; }));
        // Django 3.2's count (or sha1) is outdated here: the setter gets the raw password.
        EXPECT_EQ(upgraded_with, pw);
        // A wrong password is refused (Django's sha1 hashes directly; the sha256 ones are
        // hardened to tocsin's count, so only two of them).
        if (i < 2 || i >= pws.size()) {
            EXPECT_FALSE(check_password(pw + "z", encoded[i]));
        }
    }
}

TEST_F(DjangoHashersTest, DjangoChecksPasswordsTocsinHashed) {
    const auto pws = passwords();
    std::vector<std::pair<std::string, std::string>> cases;  // password, encoded
    // tocsin's default (Django 6.0's count) for two passwords; fewer iterations for the rest.
    cases.emplace_back(pws[0], make_password(pws[0]));
    cases.emplace_back(pws[4], make_password(pws[4]));
    const Pbkdf2PasswordHasher sha256(1000);
    const Pbkdf2Sha1PasswordHasher sha1(1000);
    for (const auto& pw : pws) {
        cases.emplace_back(pw, make_password(pw, {}, sha256));
        cases.emplace_back(pw, make_password(pw, {}, sha1));
    }
    const std::string in = dir.file("verify.txt");
    {
        std::ofstream out(in);
        for (const auto& [pw, encoded] : cases) {
            out << hex(pw) << ' ' << encoded << '\n';
        }
        // Wrong ones (each hardened by Django to its own count when the hash has fewer).
        out << hex("lètmeinz") << ' ' << cases[0].second << '\n';
        out << hex("lètmeinz") << ' ' << cases[2].second << '\n';
    }
    const std::string verdicts = dir.file("verdicts.txt");
    ASSERT_EQ(django("verify '" + in + "' '" + verdicts + "'"), 0);
    const auto results = read_lines(verdicts);
    ASSERT_EQ(results.size(), cases.size() + 2);
    for (std::size_t i = 0; i < cases.size(); ++i) {
        EXPECT_EQ(results[i], "1") << cases[i].second;
    }
    EXPECT_EQ(results[cases.size()], "0");
    EXPECT_EQ(results[cases.size() + 1], "0");
}

TEST_F(DjangoHashersTest, TocsinChecksArgon2PasswordsDjangoHashed) {
    if (django("check-argon2") != 0) {
        GTEST_SKIP() << "python3-argon2 is not installed";
    }
    // Django's argon2 hashes str passwords only: UTF-8 ones, a NUL included.
    const std::vector<std::string> pws{"lètmein", "", "correct horse battery staple",
                                       "nul\0inside"s};
    const std::string in = dir.file("make.txt");
    {
        std::ofstream out(in);
        for (const auto& pw : pws) {
            out << "argon2 " << hex(pw) << '\n';
        }
    }
    const std::string made = dir.file("made.txt");
    ASSERT_EQ(django("make '" + in + "' '" + made + "'"), 0);
    const auto encoded = read_lines(made);
    ASSERT_EQ(encoded.size(), pws.size());
    const Argon2PasswordHasher tocsin_default;
    for (std::size_t i = 0; i < encoded.size(); ++i) {
        SCOPED_TRACE("password " + std::to_string(i) + ", " + encoded[i]);
        EXPECT_TRUE(encoded[i].starts_with("argon2$argon2id$v=19$m=102400,t=2,p=8$"));
        EXPECT_TRUE(tocsin_default.verify(pws[i], encoded[i]));
        EXPECT_FALSE(tocsin_default.verify(pws[i] + "z", encoded[i]));
        // Django's costs are tocsin's: nothing to upgrade.
        EXPECT_FALSE(tocsin_default.must_update(encoded[i]));
        EXPECT_TRUE(check_password(pws[i], encoded[i]));
    }
}

TEST_F(DjangoHashersTest, DjangoChecksArgon2PasswordsTocsinHashed) {
    if (django("check-argon2") != 0) {
        GTEST_SKIP() << "python3-argon2 is not installed";
    }
    const auto pws = passwords();
    std::vector<std::pair<std::string, std::string>> cases;  // password, encoded
    cases.emplace_back(pws[0], make_password(pws[0], {}, Argon2PasswordHasher()));
    const Argon2PasswordHasher cheap(1, 64, 2);
    for (const auto& pw : pws) {
        cases.emplace_back(pw, make_password(pw, {}, cheap));
    }
    const std::string in = dir.file("verify.txt");
    {
        std::ofstream out(in);
        for (const auto& [pw, encoded] : cases) {
            out << hex(pw) << ' ' << encoded << '\n';
        }
        out << hex("lètmeinz") << ' ' << cases[0].second << '\n';
        out << hex("lètmeinz") << ' ' << cases[1].second << '\n';
    }
    const std::string verdicts = dir.file("verdicts.txt");
    ASSERT_EQ(django("verify '" + in + "' '" + verdicts + "'"), 0);
    const auto results = read_lines(verdicts);
    ASSERT_EQ(results.size(), cases.size() + 2);
    for (std::size_t i = 0; i < cases.size(); ++i) {
        EXPECT_EQ(results[i], "1") << cases[i].second;
    }
    EXPECT_EQ(results[cases.size()], "0");
    EXPECT_EQ(results[cases.size() + 1], "0");
}

}  // namespace django_hashers_test
}  // namespace
}  // namespace tocsin::auth
