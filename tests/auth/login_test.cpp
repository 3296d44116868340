// authenticate(), login(), logout() and their signals, after Django's
// tests/auth_tests/test_signals.py (SignalTestCase) and the model backend's tests
// (test_auth_backends.py), on SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include <vector>

#include "auth_support.hpp"

namespace tocsin::auth::test {
namespace {

class SignalTestCase : public AuthTest {
  protected:
    void SetUp() override {
        AuthTest::SetUp();
        if (IsSkipped() || HasFatalFailure()) {
            return;
        }
        connections_.push_back(ScopedConnection(user_logged_in.connect(
            [this](AnyUser& user, SessionStore&) { logged_in.push_back(user.username()); })));
        connections_.push_back(
            ScopedConnection(user_logged_out.connect([this](AnyUser* user, SessionStore&) {
                logged_out.push_back(user != nullptr ? user->username() : "<none>");
            })));
        connections_.push_back(ScopedConnection(
            user_login_failed.connect([this](const Credentials& c, SessionStore* s) {
                login_failed.push_back(c);
                failed_with_session.push_back(s != nullptr);
            })));
        make_user("testclient", "password");
        make_user("staff", "password");
    }

    std::vector<std::string> logged_in;
    std::vector<std::string> logged_out;
    std::vector<Credentials> login_failed;
    std::vector<bool> failed_with_session;

  private:
    std::vector<ScopedConnection> connections_;
};

TEST_P(SignalTestCase, test_login) {
    SessionStore session;
    // Only a successful login fires the login signal.
    EXPECT_FALSE(authenticate({{"username", "testclient"}, {"password", "bad"}}, &session));
    EXPECT_TRUE(logged_in.empty());
    ASSERT_EQ(login_failed.size(), 1U);
    EXPECT_EQ(login_failed[0].at("username"), "testclient");
    // The password is cleansed.
    EXPECT_EQ(login_failed[0].at("password"), "********************");
    EXPECT_TRUE(failed_with_session[0]);

    auto user = authenticate({{"username", "testclient"}, {"password", "password"}}, &session);
    ASSERT_TRUE(user);
    login(session, *user);
    EXPECT_EQ(logged_in, std::vector<std::string>{"testclient"});
    EXPECT_EQ(login_failed.size(), 1U);
}

TEST_P(SignalTestCase, test_logout_anonymous) {
    SessionStore session;
    logout(session);
    EXPECT_EQ(logged_out, std::vector<std::string>{"<none>"});
}

TEST_P(SignalTestCase, test_logout) {
    SessionStore session;
    auto user = authenticate({{"username", "testclient"}, {"password", "password"}});
    ASSERT_TRUE(user);
    login(session, *user);
    const auto key = session.session_key();
    ASSERT_TRUE(key);
    logout(session);
    EXPECT_EQ(logged_out, std::vector<std::string>{"testclient"});
    // The session is flushed: its row is gone and it holds no user.
    EXPECT_FALSE(session.session_key());
    EXPECT_FALSE(session.exists(*key));
    EXPECT_FALSE(get_user(session));
}

TEST_P(SignalTestCase, test_update_last_login) {
    // Only last_login is updated in update_last_login.
    auto user = User::objects().get(where(&User::username) == "staff");
    EXPECT_FALSE(user.last_login);
    user.first_name = "not saved";
    SessionStore session;
    login(session, user);
    EXPECT_TRUE(user.last_login);  // the caller's object
    const auto stored = User::objects().get(where(&User::username) == "staff");
    EXPECT_EQ(stored.last_login, user.last_login);
    EXPECT_EQ(stored.first_name, "");  // update_fields = {"last_login"}
}

TEST_P(SignalTestCase, test_failed_login_without_request) {
    EXPECT_FALSE(authenticate({{"username", "testclient"}, {"password", "bad"}}));
    ASSERT_EQ(failed_with_session.size(), 1U);
    EXPECT_FALSE(failed_with_session[0]);
}

// Django's _clean_credentials: every key containing api, token, key, secret, password or
// signature, in any case, is masked; the others are kept.
TEST_P(SignalTestCase, test_login_failed_cleanses_sensitive_credentials) {
    EXPECT_FALSE(authenticate({{"username", "nobody"},
                               {"password", "p"},
                               {"API_key", "k"},
                               {"Token", "t"},
                               {"otp_signature", "s"},
                               {"remember", "yes"}}));
    ASSERT_EQ(login_failed.size(), 1U);
    const Credentials expected{{"username", "nobody"},
                               {"password", "********************"},
                               {"API_key", "********************"},
                               {"Token", "********************"},
                               {"otp_signature", "********************"},
                               {"remember", "yes"}};
    EXPECT_EQ(login_failed[0], expected);
}

// ModelBackend: an inactive user does not authenticate (test_authenticate_inactive); missing
// credentials do not either.
TEST_P(SignalTestCase, test_authenticate_inactive) {
    make_user("inactive", "password", /*is_active=*/false);
    EXPECT_FALSE(authenticate({{"username", "inactive"}, {"password", "password"}}));
    EXPECT_FALSE(authenticate({{"username", "testclient"}}));
    EXPECT_FALSE(authenticate({}));
    EXPECT_EQ(login_failed.size(), 3U);
}

// Django's test_login_preserves_data / session fixation: a login keeps the anonymous data but
// changes the key; logging in as someone else flushes the other user's data.
TEST_P(SignalTestCase, LoginCyclesTheKeyAndNeverReusesAnotherUsersSession) {
    SessionStore session;
    session.set("cart", "3 books");
    session.save();
    const auto anonymous_key = *session.session_key();
    auto client = authenticate({{"username", "testclient"}, {"password", "password"}});
    ASSERT_TRUE(client);
    login(session, *client);
    EXPECT_NE(*session.session_key(), anonymous_key);
    EXPECT_FALSE(session.exists(anonymous_key));
    EXPECT_EQ(session.get("cart"), "3 books");

    // The same session, read again from the database by its key.
    SessionStore again(session.session_key());
    const auto current = get_user(again);
    ASSERT_TRUE(current);
    EXPECT_EQ(current->username(), "testclient");

    auto staff = authenticate({{"username", "staff"}, {"password", "password"}});
    ASSERT_TRUE(staff);
    login(again, *staff);
    EXPECT_FALSE(again.get("cart"));
    EXPECT_EQ(get_user(again)->username(), "staff");
}

// A user made inactive after logging in is no longer the session's user.
TEST_P(SignalTestCase, GetUserIgnoresInactiveOrRemovedUsers) {
    SessionStore session;
    auto user = User::objects().get(where(&User::username) == "testclient");
    login(session, user);
    ASSERT_TRUE(get_user(session));
    user.is_active = false;
    user.save();
    EXPECT_FALSE(get_user(session));
    user.remove();
    EXPECT_FALSE(get_user(session));
    SessionStore tampered;
    tampered.set(std::string(session_user_id_key), "not a number");
    tampered.set(std::string(session_backend_key), std::string(model_backend));
    EXPECT_FALSE(get_user(tampered));
    User unsaved;
    EXPECT_THROW(login(session, unsaved), std::invalid_argument);
}

// A login with an outdated hash (Django 3.2's count) stores the upgraded one.
TEST_P(SignalTestCase, AuthenticateUpgradesAnOutdatedHash) {
    auto user = User::objects().get(where(&User::username) == "testclient");
    user.password = Pbkdf2PasswordHasher(10).encode("password", "seasaltseasaltseasalt1");
    user.save();
    ASSERT_TRUE(authenticate({{"username", "testclient"}, {"password", "password"}}));
    auto stored = User::objects().get(where(&User::username) == "testclient");
    EXPECT_TRUE(stored.password.starts_with("pbkdf2_sha256$1000$")) << stored.password;
    EXPECT_TRUE(stored.check_password("password"));
}

TOCSIN_AUTH_ON_BOTH_ENGINES(SignalTestCase);

}  // namespace
}  // namespace tocsin::auth::test
