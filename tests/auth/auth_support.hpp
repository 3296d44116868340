// The auth tests' fixture: a fresh app registry with the auth and sessions apps (and the test's
// own), on a fresh database of the engine the test is instantiated for: a SQLite file, or a
// database of the PostgreSQL test cluster (the ctest fixture `postgresql`). Password hashers
// with few iterations, the defaults again afterwards.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "../support/postgresql.hpp"
#include "../support/temp_dir.hpp"
#include "tocsin/apps.hpp"
#include "tocsin/auth.hpp"
#include "tocsin/db.hpp"
#include "tocsin/models.hpp"

namespace tocsin::auth::test {

/// An app listing `M...`.
template <class... M>
class App : public AppConfig {
  public:
    explicit App(std::string label) : AppConfig(std::move(label)) {}
    [[nodiscard]] std::vector<const apps::ModelDescription*> models() const override {
        return tocsin::describe<M...>();
    }
};

class AuthTest : public ::testing::TestWithParam<std::string> {
  protected:
    void SetUp() override {
        saved_hashers_ = password_hashers();
        set_password_hashers({std::make_shared<const Pbkdf2PasswordHasher>(1000),
                              std::make_shared<const Pbkdf2Sha1PasswordHasher>(1000)});
        db::Settings database{.engine = "sqlite", .name = dir.file("auth.db")};
        if (GetParam() == "postgresql") {
            pg_ = std::make_unique<test_support::PgDatabase>();
            TOCSIN_REQUIRE_POSTGRESQL(*pg_);
            database = pg_->settings();
        }
        Apps::instance().reset();
        setup({.installed_apps = installed_apps(), .databases = {{"default", database}}});
        static_cast<void>(migrate());
    }
    void TearDown() override {
        Apps::instance().reset();
        db::close_all();
        db::configure({});
        set_password_hashers(saved_hashers_);
    }
    /// The apps of the test: auth and sessions.
    virtual std::vector<std::shared_ptr<AppConfig>> installed_apps() {
        return {std::make_shared<AuthConfig>(), std::make_shared<SessionsConfig>()};
    }

    /// A saved auth.User with `password`.
    static User make_user(const std::string& username, const std::string& password,
                          bool is_active = true) {
        User user{.username = username, .email = username + "@example.com"};
        user.is_active = is_active;
        user.set_password(password);
        user.save();
        return user;
    }

    test_support::TempDir dir;

  private:
    std::unique_ptr<test_support::PgDatabase> pg_;
    std::vector<std::shared_ptr<const PasswordHasher>> saved_hashers_;
};

/// Instantiates a test suite on both engines.
#define TOCSIN_AUTH_ON_BOTH_ENGINES(suite)                         \
    INSTANTIATE_TEST_SUITE_P(                                      \
        Engines, suite, ::testing::Values("sqlite", "postgresql"), \
        [](const ::testing::TestParamInfo<std::string>& engine) { return engine.param; })

}  // namespace tocsin::auth::test
