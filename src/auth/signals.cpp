#include "tocsin/auth/signals.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>

namespace tocsin::auth {

Signal<void(AnyUser& user, SessionStore& session)> user_logged_in{"auth.user_logged_in"};
Signal<void(AnyUser* user, SessionStore& session)> user_logged_out{"auth.user_logged_out"};
Signal<void(const Credentials& credentials, SessionStore* session)> user_login_failed{
    "auth.user_login_failed"};

void update_last_login(AnyUser& user, SessionStore& /*session*/) {
    user.set_last_login(
        std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now()));
    user.save({"last_login"});
}

Credentials cleanse_credentials(Credentials credentials) {
    static constexpr std::string_view sensitive[] = {"api",    "token",    "key",
                                                     "secret", "password", "signature"};
    for (auto& [key, value] : credentials) {
        std::string lower = key;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        for (const auto word : sensitive) {
            if (lower.find(word) != std::string::npos) {
                value = "********************";
                break;
            }
        }
    }
    return credentials;
}

}  // namespace tocsin::auth
