// CSRF protection (Django's CsrfViewMiddleware since 4.1, double-submit form): a random secret
// in an HttpOnly cookie; every response's forms carry it masked afresh (BREACH mitigation, as
// Django since 1.10); a POST whose form token, masked or not, does not match the cookie's
// secret, or whose Origin names another site, is refused with 403.
#include <string>

#include "internal.hpp"

namespace tocsin::admin::detail {

namespace {
constexpr std::size_t secret_length = csrf_token_length;
constexpr std::size_t token_length = csrf_masked_length;
constexpr std::size_t alphabet = csrf_allowed_chars.size();

std::size_t index_of(char c) {
    return csrf_allowed_chars.find(c);
}

/// The secret a well-formed cookie holds (a masked one is unmasked), or "" for none or a bad one.
std::string cookie_secret(const Request& request, std::string* format_error = nullptr) {
    const auto it = request.cookies.find(csrf_cookie_name);
    if (it == request.cookies.end()) {
        return {};
    }
    if (auto why = csrf_token_format_error(it->second); !why.empty()) {
        if (format_error != nullptr) {
            *format_error = std::move(why);
        }
        return {};
    }
    return it->second.size() == token_length ? csrf_unmask_cipher_token(it->second) : it->second;
}
}  // namespace

std::string csrf_mask_cipher_secret(std::string_view secret, std::string_view mask) {
    std::string chosen =
        mask.empty() ? auth::random_string(secret_length, csrf_allowed_chars) : std::string(mask);
    std::string out = chosen;
    for (std::size_t i = 0; i < secret.size() && i < chosen.size(); ++i) {
        out += csrf_allowed_chars[(index_of(secret[i]) + index_of(chosen[i])) % alphabet];
    }
    return out;
}

std::string csrf_unmask_cipher_token(std::string_view token) {
    const std::string_view mask = token.substr(0, secret_length);
    const std::string_view cipher = token.substr(secret_length);
    std::string secret;
    for (std::size_t i = 0; i < cipher.size() && i < mask.size(); ++i) {
        secret +=
            csrf_allowed_chars[(alphabet + index_of(cipher[i]) - index_of(mask[i])) % alphabet];
    }
    return secret;
}

std::string csrf_token_format_error(std::string_view token) {
    if (token.size() != secret_length && token.size() != token_length) {
        return "has incorrect length";
    }
    if (token.find_first_not_of(csrf_allowed_chars) != std::string_view::npos) {
        return "has invalid characters";
    }
    return {};
}

bool csrf_token_matches(std::string_view token, std::string_view secret) {
    const std::string unmasked =
        token.size() == token_length ? csrf_unmask_cipher_token(token) : std::string(token);
    return unmasked.size() == secret_length && secret.size() == secret_length &&
           auth::constant_time_compare(unmasked, secret);
}

std::string csrf_token_of(const Request& request, Response& response) {
    const auto it = request.cookies.find(csrf_cookie_name);
    std::string secret = cookie_secret(request);
    if (secret.empty()) {
        secret = auth::random_string(secret_length, csrf_allowed_chars);
        response.set_cookies.push_back(cookie(csrf_cookie_name, secret, csrf_token_age));
    } else if (it->second.size() != secret_length) {
        // A masked cookie (set before Django 4.1's change): keep its secret, store it plain.
        response.set_cookies.push_back(cookie(csrf_cookie_name, secret, csrf_token_age));
    }
    return csrf_mask_cipher_secret(secret);
}

std::string csrf_failure(const Request& request) {
    if (!request.origin.empty() && request.origin != "http://" + request.host &&
        request.origin != "https://" + request.host) {
        return "Origin checking failed - " + request.origin +
               " does not match any trusted origins.";
    }
    std::string cookie_error;
    const std::string secret = cookie_secret(request, &cookie_error);
    if (!cookie_error.empty()) {
        return "CSRF cookie " + cookie_error + ".";
    }
    if (secret.empty()) {
        return "CSRF cookie not set.";
    }
    // The form field first; without it, the X-CSRFToken header (as Django, for scripts).
    std::string token = request.post(csrf_field_name);
    std::string_view source = "POST";
    if (token.empty()) {
        if (request.csrf_header.empty()) {
            return "CSRF token missing.";
        }
        token = request.csrf_header;
        source = "the 'X-Csrftoken' HTTP header";
    }
    if (auto why = csrf_token_format_error(token); !why.empty()) {
        return "CSRF token from " + std::string(source) + " " + why + ".";
    }
    if (!csrf_token_matches(token, secret)) {
        return "CSRF token from " + std::string(source) + " incorrect.";
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
