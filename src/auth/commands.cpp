// The auth and sessions apps' commands of manage(): createsuperuser, changepassword,
// clearsessions.
#include <cstdlib>
#include <iostream>
#include <string>

#include "tocsin/auth/session.hpp"
#include "tocsin/auth/user_model.hpp"
#include "tocsin/management/manage.hpp"

namespace tocsin::auth::detail_commands {

namespace {

/// The environment variable createsuperuser reads the password from (Django's
/// DJANGO_SUPERUSER_PASSWORD).
constexpr const char* password_variable = "TOCSIN_SUPERUSER_PASSWORD";

/// One line of the standard input (without its end of line), or nullopt at its end.
std::optional<std::string> read_line() {
    std::string line;
    if (!std::getline(std::cin, line)) {
        return std::nullopt;
    }
    if (!line.empty() && line.back() == '\r') {
        line.pop_back();
    }
    return line;
}

void replace_command(management::Command command) {
    management::remove_command(command.name);
    management::add_command(std::move(command));
}

void create_superuser(const management::Options& options, std::ostream& out) {
    const std::string& username = options.text("username");
    if (username.empty()) {
        throw CommandError("createsuperuser needs --username");
    }
    const UserModel& model = get_user_model();
    if (model.get_by_username(username)) {
        throw CommandError("Error: That username is already taken.");
    }
    std::optional<std::string> password;
    if (const char* env = std::getenv(password_variable); env != nullptr && *env != '\0') {
        password = env;
    } else {
        password = read_line();
    }
    if (!password) {
        throw CommandError(std::string("no password: set ") + password_variable +
                           " or write it on the standard input (never on the command line)");
    }
    if (password->empty()) {
        throw CommandError("Blank passwords aren't allowed.");
    }
    static_cast<void>(model.create_user({.username = username,
                                         .email = options.text("email"),
                                         .password = std::move(password),
                                         .is_staff = true,
                                         .is_superuser = true}));
    out << "Superuser created successfully.\n";
}

void change_password(const management::Options& options, std::ostream& out) {
    const auto& names = options.list("username");
    const std::string username = names.empty() ? std::string() : names.front();
    auto user = get_user_model().get_by_username(username);
    if (!user) {
        throw CommandError("user '" + username + "' does not exist");
    }
    out << "Changing password for user '" << username << "'\n";
    constexpr int max_tries = 3;
    for (int attempt = 0; attempt < max_tries; ++attempt) {
        const auto first = read_line();
        const auto second = read_line();
        if (!first || !second) {
            break;
        }
        if (*first != *second) {
            out << "Passwords do not match. Please try again.\n";
            continue;
        }
        if (first->empty()) {
            out << "Blank passwords aren't allowed.\n";
            continue;
        }
        user->set_password(*first);
        user->save({"password"});
        out << "Password changed successfully for user '" << username << "'\n";
        return;
    }
    throw CommandError("Aborting password change for user '" + username + "' after " +
                       std::to_string(max_tries) + " attempts");
}

}  // namespace

void add_auth_commands() {
    replace_command({.name = "createsuperuser",
                     .help = "Creates a superuser; the password from $TOCSIN_SUPERUSER_PASSWORD "
                             "or the standard input",
                     .arguments =
                         [](management::Arguments& a) {
                             a.option("username", "the superuser's username");
                             a.option("email", "the superuser's email address");
                         },
                     .handle = &create_superuser});
    replace_command({.name = "changepassword",
                     .help = "Changes a user's password (twice on the standard input)",
                     .arguments =
                         [](management::Arguments& a) {
                             a.positional("username", "the user", /*required=*/true);
                         },
                     .handle = &change_password});
}

void add_sessions_commands() {
    replace_command({.name = "clearsessions",
                     .help = "Removes the expired sessions",
                     .handle = [](const management::Options&, std::ostream&) {
                         static_cast<void>(SessionStore::clear_expired());
                     }});
}

}  // namespace tocsin::auth::detail_commands
