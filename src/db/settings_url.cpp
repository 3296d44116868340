// tocsin::db::parse_database_url: Settings from a DATABASE_URL (dj-database-url's convention).
#include <charconv>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>

#include "tocsin/db/error.hpp"
#include "tocsin/db/settings.hpp"

namespace tocsin::db {
namespace {

/// The URL with its password replaced by "***", for messages.
std::string masked(std::string_view url) {
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos)
        return std::string(url);
    const std::size_t authority = scheme_end + 3;
    const std::size_t authority_end = url.find_first_of("/?#", authority);
    const std::string_view auth =
        url.substr(authority, authority_end == std::string_view::npos ? std::string_view::npos
                                                                      : authority_end - authority);
    const auto at = auth.rfind('@');
    if (at == std::string_view::npos)
        return std::string(url);
    const auto colon = auth.substr(0, at).find(':');
    if (colon == std::string_view::npos)
        return std::string(url);
    std::string out(url.substr(0, authority + colon + 1));
    out += "***";
    out += url.substr(authority + at);
    return out;
}

[[noreturn]] void bad(std::string_view url, const std::string& what) {
    throw ConfigurationError("database URL \"" + masked(url) + "\": " + what);
}

int hex(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/// Percent-decodes @p part (and '+' as a space in query parameters), naming @p what on error.
std::string decode(std::string_view url, std::string_view part, std::string_view what,
                   bool plus_is_space = false) {
    std::string out;
    out.reserve(part.size());
    for (std::size_t i = 0; i < part.size(); ++i) {
        const char c = part[i];
        if (c == '%') {
            if (i + 2 >= part.size()) {
                bad(url, "the " + std::string(what) + " has an incomplete percent-escape \"" +
                             std::string(part.substr(i)) + "\"");
            }
            const int h = hex(part[i + 1]);
            const int l = hex(part[i + 2]);
            if (h < 0 || l < 0) {
                bad(url, "the " + std::string(what) + " has an invalid percent-escape \"" +
                             std::string(part.substr(i, 3)) + "\"");
            }
            out += static_cast<char>(h * 16 + l);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out += ' ';
        } else {
            out += c;
        }
    }
    return out;
}

int parse_port(std::string_view url, std::string_view text) {
    int port = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || port < 1 ||
        port > 65535) {
        bad(url, "the port \"" + std::string(text) + "\" is not a number from 1 to 65535");
    }
    return port;
}

void parse_query(std::string_view url, std::string_view query, Settings& settings) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view item = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (item.empty())
            continue;
        const auto eq = item.find('=');
        if (eq == std::string_view::npos || eq == 0) {
            bad(url,
                "the query parameter \"" + std::string(item) + "\" is not of the form key=value");
        }
        std::string key = decode(url, item.substr(0, eq), "query parameter name", true);
        std::string value = decode(url, item.substr(eq + 1), "query parameter " + key, true);
        if (settings.engine == "postgresql" && key == "host") {
            settings.host = std::move(value);
        } else if (settings.engine == "postgresql" && key == "port") {
            settings.port = parse_port(url, value);
        } else if (settings.engine == "postgresql" && key == "user") {
            settings.user = std::move(value);
        } else if (settings.engine == "postgresql" && key == "password") {
            settings.password = std::move(value);
        } else if (settings.engine == "postgresql" && key == "dbname") {
            settings.name = std::move(value);
        } else {
            settings.options.insert_or_assign(std::move(key), std::move(value));
        }
    }
}

}  // namespace

Settings parse_database_url(std::string_view url) {
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) {
        bad(url, "no scheme (expected postgresql://, postgres:// or sqlite://)");
    }
    const std::string_view scheme = url.substr(0, scheme_end);
    std::string_view rest = url.substr(scheme_end + 3);
    if (const auto hash = rest.find('#'); hash != std::string_view::npos)
        rest = rest.substr(0, hash);
    std::string_view query;
    if (const auto q = rest.find('?'); q != std::string_view::npos) {
        query = rest.substr(q + 1);
        rest = rest.substr(0, q);
    }

    Settings settings;
    if (scheme == "sqlite") {
        settings.engine = "sqlite";
        // sqlite:// and sqlite://:memory: are in memory; sqlite:///x.db is "x.db" and
        // sqlite:////srv/x.db is "/srv/x.db" (the path after the empty host).
        if (rest.empty() || rest == ":memory:" || rest == "/:memory:") {
            settings.name = ":memory:";
        } else if (rest.front() == '/') {
            settings.name = decode(url, rest.substr(1), "path");
            if (settings.name.empty())
                settings.name = ":memory:";
        } else {
            bad(url,
                "a sqlite URL has no host: write sqlite:///relative.db or "
                "sqlite:////absolute/path.db");
        }
        parse_query(url, query, settings);
        return settings;
    }
    if (scheme != "postgresql" && scheme != "postgres") {
        bad(url, "unknown scheme \"" + std::string(scheme) +
                     "\" (expected postgresql://, postgres:// or sqlite://)");
    }
    settings.engine = "postgresql";
    const auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    if (slash != std::string_view::npos) {
        const std::string_view path = rest.substr(slash + 1);
        if (path.find('/') != std::string_view::npos) {
            bad(url, "the database name \"" + std::string(path) + "\" contains '/'");
        }
        settings.name = decode(url, path, "database name");
    }
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        const std::string_view userinfo = authority.substr(0, at);
        authority = authority.substr(at + 1);
        const auto colon = userinfo.find(':');
        settings.user = decode(url, userinfo.substr(0, colon), "user");
        if (colon != std::string_view::npos)
            settings.password = decode(url, userinfo.substr(colon + 1), "password");
    }
    std::string_view host = authority;
    std::string_view port;
    if (!host.empty() && host.front() == '[') {
        const auto close = host.find(']');
        if (close == std::string_view::npos)
            bad(url, "the host \"" + std::string(host) + "\" has '[' without ']'");
        const std::string_view after = host.substr(close + 1);
        host = host.substr(1, close - 1);
        if (!after.empty()) {
            if (after.front() != ':')
                bad(url, "unexpected \"" + std::string(after) + "\" after the host");
            port = after.substr(1);
            if (port.empty())
                bad(url, "the port after ':' is empty");
        }
        settings.host = std::string(host);
    } else {
        if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
            port = host.substr(colon + 1);
            host = host.substr(0, colon);
            if (port.empty())
                bad(url, "the port after ':' is empty");
        }
        settings.host = decode(url, host, "host");
    }
    if (!port.empty())
        settings.port = parse_port(url, port);
    parse_query(url, query, settings);
    return settings;
}

std::optional<Settings> settings_from_environment(const char* variable) {
    const char* value = std::getenv(variable);
    if (value == nullptr || *value == '\0')
        return std::nullopt;
    try {
        return parse_database_url(value);
    } catch (const ConfigurationError& e) {
        throw ConfigurationError("environment variable " + std::string(variable) + ": " +
                                 e.message());
    }
}

}  // namespace tocsin::db
