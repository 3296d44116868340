// Request parsing for the admin: percent-decoding, query strings and urlencoded bodies, cookies,
// and the check that keeps `next=` on this site.
#include <string>

#include "internal.hpp"

namespace tocsin::admin::detail {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

}  // namespace

std::string Request::get(std::string_view name) const {
    for (const auto& [k, v] : query) {
        if (k == name) {
            return v;
        }
    }
    return {};
}

std::string Request::post(std::string_view name) const {
    for (const auto& [k, v] : form) {
        if (k == name) {
            return v;
        }
    }
    return {};
}

std::vector<std::string> Request::post_all(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : form) {
        if (k == name) {
            out.push_back(v);
        }
    }
    return out;
}

bool Request::posted(std::string_view name) const {
    for (const auto& field : form) {
        if (field.first == name) {
            return true;
        }
    }
    return false;
}

std::optional<std::string> url_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '+') {
            out += ' ';
        } else if (c == '%') {
            if (i + 2 >= text.size()) {
                return std::nullopt;
            }
            const int hi = hex_value(text[i + 1]);
            const int lo = hex_value(text[i + 2]);
            if (hi < 0 || lo < 0) {
                return std::nullopt;
            }
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else {
            out += c;
        }
    }
    return out;
}

std::string url_encode(std::string_view text) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
            out += c;
        } else {
            out += '%';
            out += digits[u >> 4];
            out += digits[u & 15];
        }
    }
    return out;
}

Fields parse_fields(std::string_view text) {
    Fields out;
    while (!text.empty()) {
        const auto amp = text.find('&');
        const auto pair = text.substr(0, amp);
        text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
        if (pair.empty()) {
            continue;
        }
        const auto eq = pair.find('=');
        auto name = url_decode(pair.substr(0, eq));
        auto value =
            url_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
        if (name && value) {
            out.emplace_back(std::move(*name), std::move(*value));
        }
    }
    return out;
}

std::map<std::string, std::string, std::less<>> parse_cookies(std::string_view header) {
    std::map<std::string, std::string, std::less<>> out;
    while (!header.empty()) {
        const auto semi = header.find(';');
        const auto pair = trim(header.substr(0, semi));
        header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
        const auto eq = pair.find('=');
        if (eq == std::string_view::npos || eq == 0) {
            continue;
        }
        out.emplace(std::string(trim(pair.substr(0, eq))), std::string(trim(pair.substr(eq + 1))));
    }
    return out;
}

std::string cookie(std::string_view name, std::string_view value, long long max_age) {
    std::string out(name);
    out += '=';
    out += max_age < 0 ? std::string_view{} : value;
    out += "; Path=/; HttpOnly; SameSite=Lax; Max-Age=";
    out += std::to_string(max_age < 0 ? 0 : max_age);
    return out;
}

std::string safe_next(std::string_view next, std::string_view fallback) {
    const bool ok = next.size() > 0 && next.size() < 2048 && next.front() == '/' &&
                    (next.size() == 1 || (next[1] != '/' && next[1] != '\\')) &&
                    next.find('\\') == std::string_view::npos && [&] {
                        for (const char c : next) {
                            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
                                return false;
                            }
                        }
                        return true;
                    }();
    return std::string(ok ? next : fallback);
}

Response redirect(std::string location) {
    Response r;
    r.status = 302;
    r.location = std::move(location);
    r.content_type = "text/plain; charset=utf-8";
    return r;
}

}  // namespace tocsin::admin::detail
