// tocsin::auth::AuthConfig and SessionsConfig — the "auth" and "sessions" apps a program installs
// (Django's django.contrib.auth and django.contrib.sessions), opt-in.
#pragma once

#include <string>
#include <vector>

#include "tocsin/apps/app_config.hpp"

namespace tocsin::auth {

/// The auth app's settings.
struct AuthSettings {
    /// The user model's label (Django's AUTH_USER_MODEL). Another model than "auth.User" must be
    /// listed by an installed app and made known with register_user_model<T>(); auth.User's
    /// table is then not created (Django's swappable model).
    std::string auth_user_model = "auth.User";
    /// The secret the session auth hashes are keyed with (Django's SECRET_KEY; see
    /// tocsin::auth::secret_key()). Keep it out of the sources: read it from the environment or
    /// a file. Empty: the environment variable TOCSIN_SECRET_KEY, else a random key per process.
    std::string secret_key{};
};

/// The "auth" app: auth.User (unless swapped), the update_last_login receiver of
/// user_logged_in, and the createsuperuser and changepassword commands of manage().
class AuthConfig : public AppConfig {
  public:
    /// The app, with `settings`.
    explicit AuthConfig(AuthSettings settings = {});
    /// auth.User, unless the setting names another model.
    [[nodiscard]] std::vector<const apps::ModelDescription*> models() const override;
    /// Connects update_last_login to user_logged_in (dispatch_uid "update_last_login") and adds
    /// the commands.
    void ready() override;
    /// The settings it was made with.
    [[nodiscard]] const AuthSettings& settings() const noexcept { return settings_; }

  private:
    AuthSettings settings_;
};

/// The "sessions" app: the Session model (table django_session) and the clearsessions command.
class SessionsConfig : public AppConfig {
  public:
    /// The app, labelled "sessions".
    SessionsConfig();
    /// sessions.Session.
    [[nodiscard]] std::vector<const apps::ModelDescription*> models() const override;
    /// Adds the clearsessions command.
    void ready() override;
};

}  // namespace tocsin::auth
