// manage createsuperuser, changepassword and clearsessions, after Django's
// tests/auth_tests/test_management.py and sessions_tests' test_clearsessions_command, on SQLite
// and PostgreSQL. The password never comes from argv: the environment or the standard input.
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "auth_support.hpp"
#include "tocsin/management.hpp"

namespace tocsin::auth::test {
namespace {
namespace commands_test {

/// Feeds `text` to std::cin while alive.
class StdinFrom {
  public:
    explicit StdinFrom(const std::string& text) : in_(text), saved_(std::cin.rdbuf(in_.rdbuf())) {}
    ~StdinFrom() {
        std::cin.rdbuf(saved_);
        std::cin.clear();
    }
    StdinFrom(const StdinFrom&) = delete;
    StdinFrom& operator=(const StdinFrom&) = delete;

  private:
    std::istringstream in_;
    std::streambuf* saved_;
};

class ManagementTest : public AuthTest {
  protected:
    void TearDown() override {
        ::unsetenv("TOCSIN_SUPERUSER_PASSWORD");
        AuthTest::TearDown();
    }
    /// Runs manage() with `args`; the exit code, output in `out` and `err`.
    int run(std::vector<std::string> args) {
        args.insert(args.begin(), "app");
        std::vector<const char*> argv;
        for (const auto& a : args) {
            argv.push_back(a.c_str());
        }
        out.str({});
        err.str({});
        return manage(static_cast<int>(argv.size()), argv.data(), out, err);
    }
    std::ostringstream out;
    std::ostringstream err;
};

TEST_P(ManagementTest, test_createsuperuser_password_from_environment) {
    ::setenv("TOCSIN_SUPERUSER_PASSWORD", "test_password", 1);
    ASSERT_EQ(run({"createsuperuser", "--username", "joe", "--email", "joe@somewhere.org"}), 0)
        << err.str();
    EXPECT_EQ(out.str(), "Superuser created successfully.\n");
    auto u = User::objects().get(where(&User::username) == "joe");
    EXPECT_EQ(u.email, "joe@somewhere.org");
    EXPECT_TRUE(u.is_superuser);
    EXPECT_TRUE(u.is_staff);
    EXPECT_TRUE(u.check_password("test_password"));
}

TEST_P(ManagementTest, test_createsuperuser_password_from_stdin) {
    const StdinFrom stdin_text("from stdin\n");
    ASSERT_EQ(run({"createsuperuser", "--username", "ann"}), 0) << err.str();
    auto u = User::objects().get(where(&User::username) == "ann");
    EXPECT_TRUE(u.check_password("from stdin"));
}

TEST_P(ManagementTest, test_createsuperuser_refuses) {
    {
        const StdinFrom stdin_text("\n");
        EXPECT_EQ(run({"createsuperuser", "--username", "ann"}), 1);
        EXPECT_NE(err.str().find("Blank passwords aren't allowed."), std::string::npos)
            << err.str();
    }
    {
        const StdinFrom stdin_text("");
        EXPECT_EQ(run({"createsuperuser", "--username", "ann"}), 1);
        EXPECT_NE(err.str().find("TOCSIN_SUPERUSER_PASSWORD"), std::string::npos) << err.str();
    }
    EXPECT_EQ(run({"createsuperuser"}), 1);
    // There is no password option: argv never carries it.
    EXPECT_EQ(run({"createsuperuser", "--username", "ann", "--password", "x"}), 2);
    ::setenv("TOCSIN_SUPERUSER_PASSWORD", "pw", 1);
    ASSERT_EQ(run({"createsuperuser", "--username", "ann"}), 0) << err.str();
    EXPECT_EQ(run({"createsuperuser", "--username", "ann"}), 1);
    EXPECT_NE(err.str().find("Error: That username is already taken."), std::string::npos);
    EXPECT_EQ(User::objects().count(), 1U);
}

TEST_P(ManagementTest, test_that_changepassword_command_changes_joes_password) {
    make_user("joe", "qwerty");
    {
        const StdinFrom stdin_text("not qwerty\nnot qwerty\n");
        ASSERT_EQ(run({"changepassword", "joe"}), 0) << err.str();
    }
    EXPECT_EQ(out.str(),
              "Changing password for user 'joe'\nPassword changed successfully for user 'joe'\n");
    EXPECT_TRUE(User::objects().get(where(&User::username) == "joe").check_password("not qwerty"));
}

TEST_P(ManagementTest, test_that_max_tries_exits_1) {
    make_user("joe", "qwerty");
    const StdinFrom stdin_text("a\nb\nc\nd\n\n\n");
    EXPECT_EQ(run({"changepassword", "joe"}), 1);
    EXPECT_NE(err.str().find("Aborting password change for user 'joe' after 3 attempts"),
              std::string::npos)
        << err.str();
    EXPECT_TRUE(User::objects().get(where(&User::username) == "joe").check_password("qwerty"));
}

TEST_P(ManagementTest, test_nonexistent_username) {
    EXPECT_EQ(run({"changepassword", "nobody"}), 1);
    EXPECT_NE(err.str().find("user 'nobody' does not exist"), std::string::npos);
}

TEST_P(ManagementTest, test_clearsessions_command) {
    SessionStore live;
    live.save();
    SessionStore old;
    old.save();
    auto row = Session::objects().get(where(&Session::session_key) == *old.session_key());
    row.expire_date -= std::chrono::duration_cast<std::chrono::microseconds>(
        SessionStore::default_age + std::chrono::seconds(1));
    row.save();
    EXPECT_EQ(Session::objects().count(), 2U);
    ASSERT_EQ(run({"clearsessions"}), 0) << err.str();
    EXPECT_EQ(Session::objects().count(), 1U);
    EXPECT_TRUE(live.exists(*live.session_key()));
}

TOCSIN_AUTH_ON_BOTH_ENGINES(ManagementTest);

}  // namespace commands_test
}  // namespace
}  // namespace tocsin::auth::test
