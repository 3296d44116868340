#include "tocsin/auth/user.hpp"

namespace tocsin::auth {

void User::set_password(std::string_view raw) {
    auth::set_password(*this, raw);
}

bool User::check_password(std::string_view raw) {
    return auth::check_password(*this, raw);
}

void User::set_unusable_password() {
    auth::set_unusable_password(*this);
}

bool User::has_usable_password() const noexcept {
    return auth::has_usable_password(*this);
}

std::string User::full_name() const {
    std::string full = first_name + " " + last_name;
    const auto begin = full.find_first_not_of(' ');
    if (begin == std::string::npos) {
        return {};
    }
    return full.substr(begin, full.find_last_not_of(' ') - begin + 1);
}

}  // namespace tocsin::auth

// The one compile of User's description (TOCSIN_EXTERN_MODEL in tocsin/auth/user.hpp).
TOCSIN_INSTANTIATE_MODEL(tocsin::auth::User);
