// CSRF protection (Django's CsrfViewMiddleware, double-submit form): a random token in an
// HttpOnly cookie, the same token in a hidden field of every form; a POST whose field does not
// match its cookie, or whose Origin names another site, is refused with 403.
#include <string>

#include "internal.hpp"

namespace tocsin::admin::detail {

namespace {
constexpr std::size_t token_length = csrf_token_length;
constexpr long long token_age = csrf_token_age;

bool well_formed(std::string_view token) {
    if (token.size() != token_length) {
        return false;
    }
    for (const char c : token) {
        if (auth::random_string_chars.find(c) == std::string_view::npos) {
            return false;
        }
    }
    return true;
}
}  // namespace

std::string csrf_token_of(const Request& request, Response& response) {
    const auto it = request.cookies.find(csrf_cookie_name);
    if (it != request.cookies.end() && well_formed(it->second)) {
        return it->second;
    }
    auto token = auth::random_string(token_length);
    response.set_cookies.push_back(cookie(csrf_cookie_name, token, token_age));
    return token;
}

std::string csrf_failure(const Request& request) {
    if (!request.origin.empty() && request.origin != "http://" + request.host &&
        request.origin != "https://" + request.host) {
        return "Origin checking failed - " + request.origin +
               " does not match any trusted origins.";
    }
    const auto it = request.cookies.find(csrf_cookie_name);
    if (it == request.cookies.end() || !well_formed(it->second)) {
        return "CSRF cookie not set.";
    }
    if (!request.posted(csrf_field_name)) {
        return "CSRF token missing.";
    }
    if (!auth::constant_time_compare(request.post(csrf_field_name), it->second)) {
        return "CSRF token incorrect.";
    }
    return {};
}

Html csrf_input(const Context& context) {
    Html h;
    h << Raw("<input type=\"hidden\"") << Raw(" name=\"csrfmiddlewaretoken\"");
    h.attr("value", context.csrf_token) << Raw(">");
    return h;
}

}  // namespace tocsin::admin::detail
