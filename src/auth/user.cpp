#include "tocsin/auth/user.hpp"

namespace tocsin::auth {

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
