// authenticate(), login(), logout(), get_user() — Django's django.contrib.auth functions with
// its model backend: a session remembers who is logged in.
#pragma once

#include <optional>
#include <string_view>

#include "tocsin/auth/session.hpp"
#include "tocsin/auth/signals.hpp"
#include "tocsin/auth/user_model.hpp"

namespace tocsin::auth {

/// The session keys login() writes (Django's SESSION_KEY, BACKEND_SESSION_KEY).
inline constexpr std::string_view session_user_id_key = "_auth_user_id";
inline constexpr std::string_view session_backend_key = "_auth_user_backend";
/// The backend login() records (Django's ModelBackend path).
inline constexpr std::string_view model_backend = "tocsin.auth.ModelBackend";

/// The user of the user model whose username is `credentials["username"]` and whose password is
/// `credentials["password"]`, if that user is active (Django's authenticate with ModelBackend).
/// Otherwise nullopt, after sending user_login_failed with the credentials cleansed; an unknown
/// username costs a password hash too (no faster answer). `session` is passed to the signal.
[[nodiscard]] std::optional<AnyUser> authenticate(const Credentials& credentials,
                                                  SessionStore* session = nullptr);

/// Remembers `user` in `session` (Django's login): a session that held another user is flushed,
/// otherwise its key is cycled (the data stays); the user's id and the backend are stored, the
/// session saved, and user_logged_in sent (its update_last_login receiver saves last_login).
/// Throws std::invalid_argument for a user not saved.
void login(SessionStore& session, AnyUser& user);
/// login() with the caller's user object: what receivers change (last_login) is changed in it.
template <UserModelType T>
void login(SessionStore& session, T& user) {
    AnyUser any = AnyUser::ref(user);
    login(session, any);
}

/// The user `session` remembers, if that user still exists and is active (Django's get_user).
[[nodiscard]] std::optional<AnyUser> get_user(SessionStore& session);

/// Sends user_logged_out with the session's user (or none), then flushes the session (Django's
/// logout).
void logout(SessionStore& session);

}  // namespace tocsin::auth
