// tocsin::auth::User — Django's auth.User, and what any user model needs (Django's
// AbstractBaseUser): a password set and checked through the hashers, last_login, is_active.
#pragma once

#include <concepts>
#include <optional>
#include <string>
#include <string_view>

#include "tocsin/auth/hashers.hpp"
#include "tocsin/db/value.hpp"
#include "tocsin/models.hpp"

namespace tocsin::auth {

/// What the auth app needs of a user model (Django's AbstractBaseUser): a model with
/// `std::string password`, `std::optional<db::Timestamp> last_login`, `bool is_active`, and
/// `static auto username_field()` returning the member that identifies a user
/// (`&Member::username`, Django's USERNAME_FIELD; a unique std::string field).
template <class T>
concept UserModelType = ModelType<T> && requires(T& user) {
    requires std::same_as<decltype(user.password), std::string>;
    requires std::same_as<decltype(user.last_login), std::optional<db::Timestamp>>;
    requires std::same_as<decltype(user.is_active), bool>;
    { T::username_field() } -> std::convertible_to<std::string T::*>;
};

/// Sets `user.password` to the hash of `raw` (nothing is saved; Django's set_password).
template <class T>
void set_password(T& user, std::string_view raw) {
    user.password = make_password(raw);
}

/// Makes `user`'s password unusable (Django's set_unusable_password): "!" and 40 random
/// characters; no password matches it.
template <class T>
void set_unusable_password(T& user) {
    user.password = make_password(std::nullopt);
}

/// Whether `user`'s password is usable (not set_unusable_password()).
template <class T>
[[nodiscard]] bool has_usable_password(const T& user) noexcept {
    return is_password_usable(user.password);
}

/// Whether `raw` is `user`'s password (constant-time). When the stored hash is outdated (another
/// hasher, iteration count or a short salt), a match stores a new hash: `user.password` is set
/// and, for a saved user, saved with update_fields = {"password"} (Django's check_password).
template <class T>
[[nodiscard]] bool check_password(T& user, std::string_view raw) {
    return tocsin::auth::check_password(raw, user.password, [&user](std::string_view again) {
        set_password(user, again);
        if (user.id) {
            user.save({.update_fields = {"password"}});
        }
    });
}

/// Django's auth.User: the default user model of the "auth" app. Django's fields and columns
/// (table auth_user), so that a Django user table is read as it is.
struct User : Model<User> {
    static constexpr std::string_view label = "auth.User";
    std::string password;
    std::optional<db::Timestamp> last_login;
    bool is_superuser = false;
    std::string username;
    std::string first_name;
    std::string last_name;
    std::string email;
    bool is_staff = false;
    bool is_active = true;
    db::Timestamp date_joined{};

    static auto fields() {
        return tocsin::fields(
            field("password", &User::password), field("last_login", &User::last_login),
            field("is_superuser", &User::is_superuser),
            field("username", &User::username, {.unique = true}),
            field("first_name", &User::first_name), field("last_name", &User::last_name),
            field("email", &User::email), field("is_staff", &User::is_staff),
            field("is_active", &User::is_active), field("date_joined", &User::date_joined));
    }
    /// Django's USERNAME_FIELD.
    static auto username_field() { return &User::username; }

    // The members below are defined in src/auth/user.cpp: compiled once, not in every file
    // including this header.

    /// Django's set_password (nothing saved).
    void set_password(std::string_view raw);
    /// Django's check_password (an outdated hash is upgraded and saved).
    [[nodiscard]] bool check_password(std::string_view raw);
    /// Django's set_unusable_password (nothing saved).
    void set_unusable_password();
    /// Django's has_usable_password.
    [[nodiscard]] bool has_usable_password() const noexcept;
    /// first_name and last_name with a space, trimmed (Django's get_full_name).
    [[nodiscard]] std::string full_name() const;
};

}  // namespace tocsin::auth

// User's description is compiled once, in src/auth/user.cpp (TOCSIN_EXTERN_MODEL).
TOCSIN_EXTERN_MODEL(tocsin::auth::User);
