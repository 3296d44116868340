#include "tocsin/auth/app.hpp"

#include "tocsin/auth/session.hpp"
#include "tocsin/auth/signals.hpp"
#include "tocsin/auth/user.hpp"
#include "tocsin/auth/user_model.hpp"
#include "tocsin/models.hpp"

namespace tocsin::auth {

namespace detail_commands {
void add_auth_commands();
void add_sessions_commands();
}  // namespace detail_commands

AuthConfig::AuthConfig(AuthSettings settings) : AppConfig("auth"), settings_(std::move(settings)) {
    register_user_model<User>();
}

std::vector<const apps::ModelDescription*> AuthConfig::models() const {
    if (settings_.auth_user_model == User::label) {
        return describe<User>();
    }
    return {};
}

void AuthConfig::ready() {
    user_logged_in.connect(&update_last_login, {.dispatch_uid = "update_last_login"});
    detail_commands::add_auth_commands();
}

SessionsConfig::SessionsConfig() : AppConfig("sessions") {}

std::vector<const apps::ModelDescription*> SessionsConfig::models() const {
    return describe<Session>();
}

void SessionsConfig::ready() {
    detail_commands::add_sessions_commands();
}

}  // namespace tocsin::auth
