#include "tocsin/auth/login.hpp"

#include <charconv>
#include <stdexcept>
#include <string>

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

}  // namespace

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
    if (session.contains(session_user_id_key)) {
        if (session.get(session_user_id_key) != id) {
            // Another user's session is never reused.
            session.flush();
        }
    } else {
        session.cycle_key();
    }
    session.set(std::string(session_user_id_key), id);
    session.set(std::string(session_backend_key), std::string(model_backend));
    session.save();
    user_logged_in.send(user.sender(), user, session);
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
    return user;
}

void logout(SessionStore& session) {
    auto user = get_user(session);
    if (user) {
        user_logged_out.send(user->sender(), &*user, session);
    } else {
        user_logged_out.send(Sender{}, nullptr, session);
    }
    session.flush();
}

}  // namespace tocsin::auth
