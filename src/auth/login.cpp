#include "tocsin/auth/login.hpp"

#include <charconv>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "tocsin/apps/registry.hpp"
#include "tocsin/auth/app.hpp"
#include "tocsin/auth/crypto.hpp"
#include "tocsin/models/signal_base.hpp"

namespace tocsin::auth {

namespace {

std::optional<std::int64_t> session_user_id(SessionStore& session) {
    const auto text = session.get(session_user_id_key);
    if (!text) {
        return std::nullopt;
    }
    std::int64_t id = 0;
    const auto* end = text->data() + text->size();
    const auto [ptr, ec] = std::from_chars(text->data(), end, id);
    if (ec != std::errc{} || ptr != end) {
        return std::nullopt;
    }
    return id;
}

/// Django's key salt of get_session_auth_hash (its class path), so that the hash is Django's.
constexpr std::string_view session_hash_salt =
    "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash";

/// Whether `session`'s auth hash is `user`'s current one (constant time).
bool session_hash_matches(SessionStore& session, const AnyUser& user) {
    const auto stored = session.get(session_hash_key);
    return stored && !stored->empty() &&
           constant_time_compare(*stored, get_session_auth_hash(user));
}

}  // namespace

std::string secret_key() {
    if (const auto* app = dynamic_cast<const AuthConfig*>(Apps::instance().app("auth"))) {
        if (!app->settings().secret_key.empty()) {
            return app->settings().secret_key;
        }
    }
    if (const char* env = std::getenv("TOCSIN_SECRET_KEY"); env != nullptr && *env != '\0') {
        return env;
    }
    // 50 characters as Django's get_random_secret_key, made once (thread-safe static).
    static const std::string per_process = random_string(50);
    return per_process;
}

namespace detail {
std::string session_auth_hash(std::string_view encoded_password) {
    return hex_encode(salted_hmac(session_hash_salt, encoded_password, secret_key()));
}
}  // namespace detail

std::string get_session_auth_hash(const AnyUser& user) {
    return detail::session_auth_hash(user.password());
}

void update_session_auth_hash(SessionStore& session, const AnyUser& user) {
    session.cycle_key();
    const auto id = session_user_id(session);
    if (user.id() && id && *id == *user.id()) {
        session.set(std::string(session_hash_key), get_session_auth_hash(user));
        session.save();
    }
}

std::optional<AnyUser> authenticate(const Credentials& credentials, SessionStore* session) {
    const auto username = credentials.find("username");
    const auto password = credentials.find("password");
    if (username != credentials.end() && password != credentials.end()) {
        const UserModel& model = get_user_model();
        if (auto user = model.get_by_username(username->second)) {
            if (user->check_password(password->second) && user->is_active()) {
                return user;
            }
        } else {
            // As long as a real check: an unknown username does not answer faster (Django runs
            // the default hasher once, #20760).
            static_cast<void>(make_password(password->second));
        }
    }
    user_login_failed.send(Sender::of<AuthModule>(), cleanse_credentials(credentials), session);
    return std::nullopt;
}

void login(SessionStore& session, AnyUser& user) {
    if (!user.id()) {
        throw std::invalid_argument("tocsin::auth::login: the user is not saved (no id)");
    }
    const std::string id = std::to_string(*user.id());
    const std::string hash = get_session_auth_hash(user);
    if (session.contains(session_user_id_key)) {
        if (session.get(session_user_id_key) != id ||
            !constant_time_compare(session.get(session_hash_key).value_or(""), hash)) {
            // Another user's session, or this user's from before a password change, is never
            // reused.
            session.flush();
        }
    } else {
        session.cycle_key();
    }
    session.set(std::string(session_user_id_key), id);
    session.set(std::string(session_backend_key), std::string(model_backend));
    session.set(std::string(session_hash_key), hash);
    session.save();
    const Sender sender = user.sender();
    tocsin::detail::send_about(sender, user.instance(),
                               [&] { user_logged_in.send(sender, user, session); });
}

std::optional<AnyUser> get_user(SessionStore& session) {
    const auto id = session_user_id(session);
    if (!id || session.get(session_backend_key) != model_backend) {
        return std::nullopt;
    }
    auto user = get_user_model().get(*id);
    if (!user || !user->is_active()) {
        return std::nullopt;
    }
    if (!session_hash_matches(session, *user)) {
        // The password changed since this session logged in (or it predates the hash): out.
        session.flush();
        return std::nullopt;
    }
    return user;
}

void logout(SessionStore& session) {
    auto user = get_user(session);
    if (user) {
        const Sender sender = user->sender();
        tocsin::detail::send_about(sender, user->instance(),
                                   [&] { user_logged_out.send(sender, &*user, session); });
    } else {
        user_logged_out.send(Sender{}, nullptr, session);
    }
    session.flush();
}

}  // namespace tocsin::auth
