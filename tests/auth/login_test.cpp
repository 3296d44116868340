// authenticate(), login(), logout() and their signals, after Django's
// tests/auth_tests/test_signals.py (SignalTestCase) and the model backend's tests
// (test_auth_backends.py), on SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "../support/instance_recorder.hpp"
#include "tocsin/dispatch/profiler.hpp"

#include "auth_support.hpp"

namespace tocsin::auth::test {
namespace {
namespace login_test {

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

using tocsin::test::InstanceRecorder;

// The send observer (the admin's live log) sees the user that user_logged_in and user_logged_out
// are about, as it sees a model signal's instance ("auth.User #3"); user_login_failed is about
// no instance.
TEST_P(SignalTestCase, TheSendObserverSeesTheUserLoggedInAndOut) {
    auto recorder = std::make_shared<InstanceRecorder>();
    const auto previous = set_send_observer(recorder);
    SessionStore session;
    EXPECT_FALSE(authenticate({{"username", "testclient"}, {"password", "bad"}}, &session));
    auto user = authenticate({{"username", "testclient"}, {"password", "password"}}, &session);
    ASSERT_TRUE(user);
    login(session, *user);
    logout(session);
    set_send_observer(previous);
    const std::string me = std::string(user->label()) + " #" + std::to_string(*user->id());
    std::vector<std::string> auth_sends;
    for (const auto& send : recorder->sends) {
        if (send.starts_with("auth.user_")) {
            auth_sends.push_back(send);
        }
    }
    EXPECT_EQ(auth_sends,
              (std::vector<std::string>{"auth.user_login_failed ", "auth.user_logged_in " + me,
                                        "auth.user_logged_out " + me}));
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

// The session auth hash (Django's get_session_auth_hash and update_session_auth_hash): a password
// change logs the user's other sessions out. After Django's tests/auth_tests/test_middleware.py
// (TestAuthenticationMiddleware) and test_views.py (SessionAuthenticationTests).
class SessionAuthHashTest : public AuthTest {
  protected:
    std::vector<std::shared_ptr<AppConfig>> installed_apps() override {
        return {std::make_shared<AuthConfig>(AuthSettings{.secret_key = "tocsin-test-secret"}),
                std::make_shared<SessionsConfig>()};
    }
    /// A new session logged in as `user`, saved.
    static SessionStore logged_in(User& user) {
        SessionStore session;
        login(session, user);
        return session;
    }
};

TEST_P(SessionAuthHashTest, test_changed_password_invalidates_session) {
    auto user = make_user("test_user", "test_password");
    auto session = logged_in(user);
    const auto key = *session.session_key();
    EXPECT_EQ(session.get(session_hash_key), get_session_auth_hash(user));
    user.set_password("new_password");
    user.save();
    SessionStore again(key);
    EXPECT_FALSE(get_user(again));
    // The session is flushed: its row is gone and its key dropped.
    EXPECT_FALSE(again.session_key());
    EXPECT_FALSE(SessionStore().exists(key));
}

TEST_P(SessionAuthHashTest, test_no_password_change_doesnt_invalidate_session) {
    auto user = make_user("test_user", "test_password");
    auto session = logged_in(user);
    user.first_name = "Test";
    user.save();
    SessionStore again(session.session_key());
    const auto current = get_user(again);
    ASSERT_TRUE(current);
    EXPECT_EQ(current->username(), "test_user");
}

// Django's test_user_password_change_updates_session (#21649): the session the password was
// changed in stays logged in, under a new key; every other session of the user is out.
TEST_P(SessionAuthHashTest, test_user_password_change_updates_session) {
    auto user = make_user("test_user", "test_password");
    auto here = logged_in(user);
    auto elsewhere = logged_in(user);
    const auto old_key = *here.session_key();
    user.set_password("password1");
    user.save();
    update_session_auth_hash(here, user);
    EXPECT_NE(*here.session_key(), old_key);
    EXPECT_FALSE(SessionStore().exists(old_key));
    SessionStore here_again(here.session_key());
    ASSERT_TRUE(get_user(here_again));
    EXPECT_EQ(get_user(here_again)->username(), "test_user");
    SessionStore elsewhere_again(elsewhere.session_key());
    EXPECT_FALSE(get_user(elsewhere_again));

    // Another user's session is cycled but not given this user's hash.
    auto other = make_user("other", "password");
    auto theirs = logged_in(other);
    update_session_auth_hash(theirs, user);
    SessionStore theirs_again(theirs.session_key());
    ASSERT_TRUE(get_user(theirs_again));
    EXPECT_EQ(get_user(theirs_again)->username(), "other");
}

// A session of this user from before a password change is not reused by a new login (Django's
// login flushes it); a session without a hash (made before tocsin stored one) gives no user.
TEST_P(SessionAuthHashTest, LoginFlushesASessionWithAnotherHash) {
    auto user = make_user("test_user", "test_password");
    auto session = logged_in(user);
    session.set("cart", "3 books");
    session.save();
    user.set_password("new_password");
    user.save();
    login(session, user);
    EXPECT_FALSE(session.get("cart"));
    EXPECT_EQ(get_user(session)->username(), "test_user");

    SessionStore legacy;
    legacy.set(std::string(session_user_id_key), std::to_string(*user.id));
    legacy.set(std::string(session_backend_key), std::string(model_backend));
    legacy.save();
    EXPECT_FALSE(get_user(legacy));
    EXPECT_FALSE(legacy.session_key());
}

// The hash is Django's: the same SECRET_KEY and password hash give the value Django 3.2 gives
// (salted_hmac("django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash", password,
// algorithm="sha256").hexdigest(), computed with Debian's python3-django 3.2.25 and
// SECRET_KEY = "tocsin-test-secret"); another secret gives another hash.
TEST_P(SessionAuthHashTest, TheHashIsDjangos) {
    User user{.username = "u"};
    user.password = "pbkdf2_sha256$1000$salt$abc";
    EXPECT_EQ(get_session_auth_hash(user),
              "3b18e75c67b55110d3a25c50337f8d2762d6b85f839ec6325c6e93313c493a06");
    EXPECT_EQ(get_session_auth_hash(AnyUser::ref(user)), get_session_auth_hash(user));
    EXPECT_EQ(secret_key(), "tocsin-test-secret");
    EXPECT_EQ(hex_encode(salted_hmac("salt", "value", "other secret")).size(), 64U);
    EXPECT_NE(hex_encode(salted_hmac("django.contrib.auth.models.AbstractBaseUser."
                                     "get_session_auth_hash",
                                     user.password, "other secret")),
              get_session_auth_hash(user));
}

TOCSIN_AUTH_ON_BOTH_ENGINES(SessionAuthHashTest);

}  // namespace login_test
}  // namespace
}  // namespace tocsin::auth::test
