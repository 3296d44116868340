// accounts/models.hpp — the Profile of a user; the user is tocsin's auth.User (the "auth" app).
#pragma once

#include <string>

#include <tocsin/auth.hpp>
#include <tocsin/models.hpp>

namespace auth {
/// Someone who can sign in: Django's auth.User, from tocsin's auth app.
using User = tocsin::auth::User;
}  // namespace auth

namespace accounts {

/// What a user tells about themselves; one per user, removed with the user. `failed_logins`
/// counts the failed logins in a row (the lockout receiver's state, as django-axes keeps it).
struct Profile : tocsin::Model<Profile> {
    static constexpr std::string_view label = "accounts.Profile";
    tocsin::OneToOne<auth::User> user{tocsin::on_delete::cascade};
    std::string bio;
    int failed_logins = 0;

    static auto fields() {
        return tocsin::fields(tocsin::field("user", &Profile::user),
                              tocsin::field("bio", &Profile::bio),
                              tocsin::field("failed_logins", &Profile::failed_logins));
    }
};

}  // namespace accounts

// Profile's description is compiled once, in apps.cpp, not in every file using it
// (TOCSIN_EXTERN_MODEL: compile time only; auth.User's is in the library).
TOCSIN_EXTERN_MODEL(accounts::Profile);
