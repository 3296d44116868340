// The auth signals (Django's django.contrib.auth.signals): user_logged_in, user_logged_out,
// user_login_failed, and the update_last_login receiver.
#pragma once

#include <map>
#include <string>

#include "tocsin/auth/session.hpp"
#include "tocsin/auth/user_model.hpp"
#include "tocsin/dispatch.hpp"

namespace tocsin::auth {

/// Credentials given to authenticate() (Django's **credentials): "username", "password", …
using Credentials = std::map<std::string, std::string, std::less<>>;

/// The sender of user_login_failed (Django sends it with the module's name,
/// "django.contrib.auth"): `{.sender = tocsin::Sender::of<tocsin::auth::AuthModule>()}`.
struct AuthModule {};

/// Sent by login() after the session holds the user, with the user model as sender
/// (Django's `user_logged_in(sender=user.__class__, request, user)`).
extern Signal<void(AnyUser& user, SessionStore& session)> user_logged_in;
/// Sent by logout() before the session is flushed, with the user model as sender, or no sender
/// and a null user when nobody was logged in.
extern Signal<void(AnyUser* user, SessionStore& session)> user_logged_out;
/// Sent by authenticate() when no user matches, with Sender::of<AuthModule>(): the credentials
/// with every value whose key contains api, token, key, secret, password or signature (any
/// case) replaced by 20 '*' (Django's _clean_credentials), and the session given (or null).
extern Signal<void(const Credentials& credentials, SessionStore* session)> user_login_failed;

/// Sets `user`'s last_login to now and saves that field only (Django's update_last_login). The
/// auth app connects it to user_logged_in with dispatch_uid "update_last_login".
void update_last_login(AnyUser& user, SessionStore& session);

/// `credentials` with the sensitive values masked (see user_login_failed).
[[nodiscard]] Credentials cleanse_credentials(Credentials credentials);

}  // namespace tocsin::auth
