// accounts/signals.cpp — seeds 000, 001, 003: a Profile for every new User, a welcome notice on
// registration, an admin notice on removal, and removing a Profile removes its User; seed 004's
// logins: who logs in and out, and an account locked after 3 failed logins in a row (what
// django-axes does with user_login_failed).
#include "signals.hpp"

#include <iostream>

#include "models.hpp"

namespace accounts {

namespace {

// post_save(sender=User): create the profile of a new user (seed 000/001).
void create_profile(auth::User& user, const tocsin::SaveEvent& event) {
    if (event.created && !event.raw) {
        Profile::objects().get_or_create({.user = user});
        std::cout << "profile created for " << user.username << "\n";
    }
}

// post_save(sender=User): the welcome e-mail of seed 003.
void send_welcome_email(auth::User& user, const tocsin::SaveEvent& event) {
    if (event.created) {
        std::cout << "welcome mail to " << user.email << "\n";
    }
}

// post_delete(sender=User): tell the admins (seed 003).
void notify_admin(auth::User& user, const tocsin::DeleteEvent&) {
    std::cout << "admin notice: user " << user.username << " was removed\n";
}

// post_delete(sender=Profile): removing a profile removes its user (seed 003). When the profile
// goes because its user is being removed (the removal's origin is a User), there is nothing to
// do; otherwise the user's own cascade finds no profile any more, so nothing loops.
void remove_user_of_profile(Profile& profile, const tocsin::DeleteEvent& event) {
    if (event.origin.model == tocsin::Sender::of<auth::User>()) {
        return;
    }
    if (auto users = auth::User::objects().filter(tocsin::where(&tocsin::ModelBase::id) ==
                                                  profile.user.id().value_or(0));
        users.exists()) {
        users.remove();
    }
}

/// Failed logins in a row before an account is locked.
constexpr int max_failed_logins = 3;

// user_login_failed: count the failure on the user's profile; lock the account at the limit.
void lock_after_failures(const tocsin::auth::Credentials& credentials,
                         tocsin::auth::SessionStore*) {
    const auto username = credentials.find("username");
    std::cout << "login failed for "
              << (username != credentials.end() ? username->second : "(no username)")
              << " (password " << credentials.at("password") << ")\n";
    if (username == credentials.end()) {
        return;
    }
    auto user = auth::User::objects()
                    .filter(tocsin::where(&auth::User::username) == username->second)
                    .first();
    if (!user || !user->is_active) {
        return;
    }
    auto [profile, created] = Profile::objects().get_or_create({.user = *user});
    profile.failed_logins += 1;
    profile.save({.update_fields = {&Profile::failed_logins}});
    if (profile.failed_logins >= max_failed_logins) {
        user->is_active = false;
        user->save({.update_fields = {&auth::User::is_active}});
        std::cout << "account " << user->username << " locked after " << profile.failed_logins
                  << " failed logins\n";
    }
}

// user_logged_in: a success ends the run of failures.
void reset_failures(tocsin::auth::AnyUser& user, tocsin::auth::SessionStore&) {
    std::cout << user.username() << " logged in\n";
    Profile::objects()
        .filter(tocsin::where(&Profile::user) == user.as<auth::User>())
        .update({tocsin::assign(&Profile::failed_logins, 0)});
}

// user_logged_out.
void said_goodbye(tocsin::auth::AnyUser* user, tocsin::auth::SessionStore&) {
    std::cout << (user != nullptr ? user->username() : "nobody") << " logged out\n";
}

}  // namespace

void connect_receivers() {
    tocsin::post_save.connect<auth::User>(create_profile,
                                          {.dispatch_uid = "accounts.create_profile"});
    tocsin::post_save.connect<auth::User>(send_welcome_email,
                                          {.dispatch_uid = "accounts.send_welcome_email"});
    tocsin::post_delete.connect<auth::User>(notify_admin,
                                            {.dispatch_uid = "accounts.notify_admin"});
    tocsin::post_delete.connect<Profile>(remove_user_of_profile,
                                         {.dispatch_uid = "accounts.remove_user_of_profile"});
    tocsin::auth::user_login_failed.connect(lock_after_failures,
                                            {.dispatch_uid = "accounts.lock_after_failures"});
    tocsin::auth::user_logged_in.connect(reset_failures,
                                         {.dispatch_uid = "accounts.reset_failures"});
    tocsin::auth::user_logged_out.connect(said_goodbye, {.dispatch_uid = "accounts.said_goodbye"});
}

}  // namespace accounts
