// auth.User, the user model setting (Django's AUTH_USER_MODEL) and a swapped user model, after
// Django's tests/auth_tests/test_models.py and test_basic.py, on SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "auth_support.hpp"

// A program's own user model: logs in with the email address, has no is_staff.
namespace accounts {
struct Member : tocsin::Model<Member> {
    static constexpr std::string_view label = "accounts.Member";
    std::string email;
    std::string password;
    std::optional<tocsin::db::Timestamp> last_login;
    bool is_active = true;
    std::string nickname;
    static auto fields() {
        return tocsin::fields(tocsin::field("email", &Member::email, {.unique = true}),
                              tocsin::field("password", &Member::password),
                              tocsin::field("last_login", &Member::last_login),
                              tocsin::field("is_active", &Member::is_active),
                              tocsin::field("nickname", &Member::nickname));
    }
    static auto username_field() { return &Member::email; }
};
}  // namespace accounts

namespace tocsin::auth::test {
namespace {
namespace user_model_test {

static_assert(UserModelType<User>);
static_assert(UserModelType<accounts::Member>);
static_assert(!UserModelType<Session>);

class BasicTestCase : public AuthTest {};

TEST_P(BasicTestCase, test_user) {
    // Users can be created and can set their password.
    auto u = get_user_model().create_user(
        {.username = "testuser", .email = "test@example.com", .password = "testpw"});
    User& user = u.as<User>();
    EXPECT_TRUE(user.has_usable_password());
    EXPECT_FALSE(user.check_password("bad"));
    EXPECT_TRUE(user.check_password("testpw"));
    // Check we can manually set an unusable password.
    user.set_unusable_password();
    user.save();
    EXPECT_FALSE(user.check_password("testpw"));
    EXPECT_FALSE(user.has_usable_password());
    user.set_password("testpw");
    EXPECT_TRUE(user.check_password("testpw"));
    user.set_password("");
    EXPECT_TRUE(user.check_password(""));
    // Check username getter.
    EXPECT_EQ(u.username(), "testuser");
    // Check authentication/permissions.
    EXPECT_TRUE(user.is_active);
    EXPECT_FALSE(user.is_staff);
    EXPECT_FALSE(user.is_superuser);
    EXPECT_GT(user.date_joined.time_since_epoch().count(), 0);
    EXPECT_THROW(static_cast<void>(u.as<accounts::Member>()), std::invalid_argument);
}

TEST_P(BasicTestCase, test_superuser) {
    auto super = get_user_model().create_user({.username = "super",
                                               .email = "super@example.com",
                                               .password = "super",
                                               .is_staff = true,
                                               .is_superuser = true});
    EXPECT_TRUE(super.as<User>().is_superuser);
    EXPECT_TRUE(super.as<User>().is_staff);
    EXPECT_THROW(static_cast<void>(get_user_model().create_user({.username = ""})),
                 std::invalid_argument);
    // A duplicate username is refused by the unique column.
    EXPECT_ANY_THROW(
        static_cast<void>(get_user_model().create_user({.username = "super", .password = "x"})));
}

TEST_P(BasicTestCase, test_get_user_model) {
    // The current user model can be retrieved.
    EXPECT_EQ(get_user_model().label(), "auth.User");
    EXPECT_EQ(user_model_label(), "auth.User");
    EXPECT_EQ(get_user_model().sender(), Sender::of<User>());
}

TEST_P(BasicTestCase, test_get_full_name) {
    User user{.first_name = "John", .last_name = "Doe"};
    EXPECT_EQ(user.full_name(), "John Doe");
    EXPECT_EQ(User{.first_name = "Jo"}.full_name(), "Jo");
    EXPECT_EQ(User{}.full_name(), "");
}

// Django's test_check_password_upgrade: a match against an outdated hash saves the new one.
TEST_P(BasicTestCase, test_check_password_upgrade) {
    auto user = AuthTest::make_user("upgrade", "lètmein");
    user.password = Pbkdf2Sha1PasswordHasher(10).encode("lètmein", "seasaltseasaltseasalt12");
    user.save();
    EXPECT_TRUE(user.check_password("lètmein"));
    EXPECT_TRUE(user.password.starts_with("pbkdf2_sha256$1000$"));
    EXPECT_EQ(User::objects().get(where(&User::username) == "upgrade").password, user.password);
}

// The table is Django's: auth_user with Django's column names.
TEST_P(BasicTestCase, AuthUserHasDjangosColumns) {
    EXPECT_EQ(User::info().table, "auth_user");
    std::vector<std::string> columns;
    for (const auto& f : User::info().fields) {
        columns.push_back(f.column);
    }
    EXPECT_EQ(columns, (std::vector<std::string>{"password", "last_login", "is_superuser",
                                                 "username", "first_name", "last_name", "email",
                                                 "is_staff", "is_active", "date_joined"}));
    EXPECT_EQ(Session::info().table, "django_session");
}

TOCSIN_AUTH_ON_BOTH_ENGINES(BasicTestCase);

// ------------------------------------------------------------------ a swapped user model

class SwappedUserTest : public AuthTest {
  protected:
    std::vector<std::shared_ptr<AppConfig>> installed_apps() override {
        register_user_model<accounts::Member>();
        // A receiver connected lazily to "the user model" before the apps are ready, as
        // seed 001 connects to settings.AUTH_USER_MODEL.
        return {std::make_shared<AuthConfig>(AuthSettings{.auth_user_model = "accounts.Member"}),
                std::make_shared<SessionsConfig>(),
                std::make_shared<App<accounts::Member>>("accounts")};
    }
};

TEST_P(SwappedUserTest, TheSettingChoosesTheUserModel) {
    EXPECT_EQ(user_model_label(), "accounts.Member");
    EXPECT_EQ(get_user_model().label(), "accounts.Member");
    // auth.User is swapped out: not installed, no table.
    EXPECT_EQ(Apps::instance().find_model("auth.User"), nullptr);
    EXPECT_THROW(static_cast<void>(User::objects().count()), ImproperlyConfigured);
}

TEST_P(SwappedUserTest, LazyConnectToTheUserModelHearsItsSaves) {
    std::vector<std::string> created;
    post_save.connect(user_model_label(),
                      [&](ModelBase& m, const SaveEvent& e) {
                          if (e.created) {
                              created.push_back(static_cast<accounts::Member&>(m).email);
                          }
                      },
                      {.dispatch_uid = "test.member_created"});
    static_cast<void>(get_user_model().create_user(
        {.username = "ann@example.com", .email = {}, .password = "pw"}));
    EXPECT_EQ(created, std::vector<std::string>{"ann@example.com"});
    post_save.disconnect("test.member_created", user_model_label());
}

TEST_P(SwappedUserTest, AuthenticateAndLoginWithTheSwappedModel) {
    accounts::Member member{.email = "bob@example.com", .nickname = "bob"};
    set_password(member, "secret");
    member.save();
    std::vector<Sender> senders;
    const ScopedConnection connection(user_logged_in.connect(
        [&](const Sender& s, AnyUser&, SessionStore&) { senders.push_back(s); }));
    auto user = authenticate({{"username", "bob@example.com"}, {"password", "secret"}});
    ASSERT_TRUE(user);
    EXPECT_EQ(user->as<accounts::Member>().nickname, "bob");
    SessionStore session;
    login(session, member);
    EXPECT_EQ(senders, std::vector<Sender>{Sender::of<accounts::Member>()});
    EXPECT_TRUE(member.last_login);
    EXPECT_EQ(get_user(session)->username(), "bob@example.com");
    // is_staff is asked of a model without it.
    EXPECT_THROW(static_cast<void>(
                     get_user_model().create_user({.username = "c@example.com", .is_staff = true})),
                 std::invalid_argument);
}

TOCSIN_AUTH_ON_BOTH_ENGINES(SwappedUserTest);

// The setting names a model no installed app lists: Django's ImproperlyConfigured.
class MissingUserModelTest : public AuthTest {
  protected:
    std::vector<std::shared_ptr<AppConfig>> installed_apps() override {
        return {std::make_shared<AuthConfig>(AuthSettings{.auth_user_model = "accounts.Missing"})};
    }
};

TEST_P(MissingUserModelTest, test_swappable_user_nonexistent_model) {
    try {
        static_cast<void>(get_user_model());
        ADD_FAILURE() << "no exception";
    } catch (const ImproperlyConfigured& e) {
        EXPECT_TRUE(std::string(e.what()).starts_with(
            "AUTH_USER_MODEL refers to model 'accounts.Missing' that has not been installed"))
            << e.what();
    }
    EXPECT_THROW(static_cast<void>(authenticate({{"username", "a"}, {"password", "b"}})),
                 ImproperlyConfigured);
}

TOCSIN_AUTH_ON_BOTH_ENGINES(MissingUserModelTest);

}  // namespace user_model_test
}  // namespace
}  // namespace tocsin::auth::test
