// authenticate(), login(), logout(), get_user() — Django's django.contrib.auth functions with
// its model backend: a session remembers who is logged in.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tocsin/auth/session.hpp"
#include "tocsin/auth/signals.hpp"
#include "tocsin/auth/user_model.hpp"

namespace tocsin::auth {

/// The session keys login() writes (Django's SESSION_KEY, BACKEND_SESSION_KEY).
inline constexpr std::string_view session_user_id_key = "_auth_user_id";
inline constexpr std::string_view session_backend_key = "_auth_user_backend";
/// The session key of the user's session auth hash (Django's HASH_SESSION_KEY).
inline constexpr std::string_view session_hash_key = "_auth_user_hash";
/// The backend login() records (Django's ModelBackend path).
inline constexpr std::string_view model_backend = "tocsin.auth.ModelBackend";

/// The user of the user model whose username is `credentials["username"]` and whose password is
/// `credentials["password"]`, if that user is active (Django's authenticate with ModelBackend).
/// Otherwise nullopt, after sending user_login_failed with the credentials cleansed; an unknown
/// username costs a password hash too (no faster answer). `session` is passed to the signal.
[[nodiscard]] std::optional<AnyUser> authenticate(const Credentials& credentials,
                                                  SessionStore* session = nullptr);

/// The secret key session auth hashes are made with (Django's SECRET_KEY): the auth app's
/// AuthSettings::secret_key, else the environment variable TOCSIN_SECRET_KEY, else a random key
/// made once per process (then sessions do not outlive the process: their users log in again).
[[nodiscard]] std::string secret_key();
/// The session auth hash of `user` (Django's AbstractBaseUser.get_session_auth_hash): the hex
/// HMAC-SHA256 of the user's password hash, keyed with secret_key() (Django's salted_hmac with
/// the same key salt, so the same value as Django with the same SECRET_KEY). It changes when the
/// password changes: every session made before no longer gives the user (get_user()).
[[nodiscard]] std::string get_session_auth_hash(const AnyUser& user);
namespace detail {
/// The session auth hash of a user whose password hash is `encoded_password`.
[[nodiscard]] std::string session_auth_hash(std::string_view encoded_password);
}  // namespace detail
/// get_session_auth_hash() of the caller's user object.
template <UserModelType T>
[[nodiscard]] std::string get_session_auth_hash(const T& user) {
    return detail::session_auth_hash(user.password);
}
/// After `user` changed their password, keeps `session` logged in (Django's
/// update_session_auth_hash): the session's key is cycled and, if it holds `user`, the new
/// session auth hash is stored; the session is saved. The user's other sessions stay out.
void update_session_auth_hash(SessionStore& session, const AnyUser& user);
/// update_session_auth_hash() with the caller's user object.
template <UserModelType T>
void update_session_auth_hash(SessionStore& session, T& user) {
    update_session_auth_hash(session, AnyUser::ref(user));
}
/// Remembers `user` in `session` (Django's login): a session that held another user, or this
/// user with another session auth hash (another password), is flushed, otherwise its key is
/// cycled (the data stays); the user's id, the backend and the session auth hash are stored, the
/// session saved, and user_logged_in sent (its update_last_login receiver saves last_login).
/// Throws std::invalid_argument for a user not saved.
void login(SessionStore& session, AnyUser& user);
/// login() with the caller's user object: what receivers change (last_login) is changed in it.
template <UserModelType T>
void login(SessionStore& session, T& user) {
    AnyUser any = AnyUser::ref(user);
    login(session, any);
}

/// The user `session` remembers, if that user still exists and is active and the session's auth
/// hash is the user's get_session_auth_hash() (compared in constant time); a session whose hash
/// is missing or another (the password changed since) is flushed (Django's get_user).
[[nodiscard]] std::optional<AnyUser> get_user(SessionStore& session);

/// Sends user_logged_out with the session's user (or none), then flushes the session (Django's
/// logout).
void logout(SessionStore& session);

}  // namespace tocsin::auth
