// The admin's HTTP server: cpp-httplib (Debian's libcpp-httplib) receives the requests; every
// request goes through the same steps here — limits, parsing, CSRF check of a POST, the session
// and its staff user, then the page — so no page can skip a check.
#include "tocsin/admin/server.hpp"

#include <httplib.h>

#include <charconv>
#include <mutex>
#include <stdexcept>
#include <string>

#include "internal.hpp"
#include "monitor.hpp"
#include "signals_panel.hpp"

namespace tocsin::admin {

namespace detail {

namespace {

Request parse(const httplib::Request& in) {
    Request r;
    r.method = in.method;
    r.target = in.target;
    const auto question = in.target.find('?');
    r.path = url_decode(std::string_view(in.target).substr(0, question)).value_or("");
    if (question != std::string::npos) {
        r.query = parse_fields(std::string_view(in.target).substr(question + 1));
    }
    if (in.method == "POST" &&
        in.get_header_value("Content-Type").starts_with("application/x-www-form-urlencoded")) {
        r.form = parse_fields(in.body);
    }
    r.cookies = parse_cookies(in.get_header_value("Cookie"));
    r.origin = in.get_header_value("Origin");
    r.host = in.get_header_value("Host");
    r.csrf_header = in.get_header_value("X-CSRFToken");
    return r;
}

/// The page for `request` (after the CSRF check, with the session loaded).
Response route(const Request& request, Context& context) {
    const std::string_view path = request.path;
    if (path == "/" || path == "/admin") {
        return redirect("/admin/");
    }
    if (path == "/admin/login/") {
        return login_page(request, context);
    }
    if (!context.user) {
        if (path == "/admin/logout/") {
            return redirect("/admin/login/");
        }
        return redirect("/admin/login/?next=" + url_encode(request.target));
    }
    if (path == "/admin/logout/") {
        return logout_page(request, context);
    }
    if (path == "/admin/") {
        return index_page(request, context);
    }
    if (path.starts_with("/admin/signals/")) {
        return signals_page(request, context, path.substr(15));
    }
    if (!path.starts_with("/admin/")) {
        return error_page(context, 404, "Page not found.");
    }
    // /admin/<app>/<model>/<rest>
    const auto rest = path.substr(7);
    const auto s1 = rest.find('/');
    const auto s2 = s1 == std::string_view::npos ? s1 : rest.find('/', s1 + 1);
    if (s2 == std::string_view::npos) {
        return error_page(context, 404, "Page not found.");
    }
    const ModelInfo* info =
        find_admin_model(*context.settings, rest.substr(0, s1), rest.substr(s1 + 1, s2 - s1 - 1));
    if (info == nullptr) {
        return error_page(context, 404, "Page not found.");
    }
    return model_page(request, context, *info, rest.substr(s2 + 1));
}

void write(const Response& response, httplib::Response& out) {
    out.status = response.status;
    out.set_header("X-Frame-Options", "DENY");
    out.set_header("X-Content-Type-Options", "nosniff");
    out.set_header("Referrer-Policy", "same-origin");
    out.set_header("Content-Security-Policy",
                   "default-src 'self'; frame-ancestors 'none'; form-action 'self'");
    if (response.content_type.starts_with("text/html")) {
        out.set_header("Cache-Control", "no-store");
    }
    for (const auto& c : response.set_cookies) {
        out.headers.emplace("Set-Cookie", c);
    }
    if (!response.location.empty()) {
        out.set_header("Location", response.location);
    }
    out.set_content(response.body, response.content_type);
}

}  // namespace

}  // namespace detail

struct Server::Impl {
    explicit Impl(AdminSettings s) : settings(std::move(s)) {}
    AdminSettings settings;
    httplib::Server http;
    std::mutex pages;  // one page at a time: pages share the database
    bool bound = false;
    std::shared_ptr<detail::SignalMonitor> monitor;  // null: the live log is off

    void handle(const httplib::Request& in, httplib::Response& out) {
        detail::Request request = detail::parse(in);
        detail::Response response;
        detail::Context context;
        context.settings = &settings;
        context.monitor = monitor.get();
        if (request.path.starts_with("/admin/static/")) {
            if (auto a = detail::asset(request.path.substr(14))) {
                a->set_cookies.clear();
                detail::write(*a, out);
                out.set_header("Cache-Control", "max-age=3600");
                return;
            }
        }
        if (request.path == "/admin/signals/events/" && request.method == "GET") {
            // The live log streams for as long as the page is open: outside the page lock.
            std::unique_lock lock(pages);
            context.csrf_token = detail::csrf_token_of(request, response);
            detail::load_user(request, context);
            if (context.user) {
                lock.unlock();
                detail::stream_events(out, monitor);
                return;
            }
        }
        std::lock_guard lock(pages);
        std::vector<std::string> new_cookies;
        {
            detail::Response token_holder;
            context.csrf_token = detail::csrf_token_of(request, token_holder);
            new_cookies = std::move(token_holder.set_cookies);
        }
        try {
            if (request.method == "POST") {
                if (auto why = detail::csrf_failure(request); !why.empty()) {
                    detail::load_user(request, context);
                    response = detail::error_page(
                        context, 403,
                        "Forbidden (CSRF verification failed. Request aborted.): " + why);
                } else {
                    detail::load_user(request, context);
                    response = detail::route(request, context);
                }
            } else if (request.method == "GET" || request.method == "HEAD") {
                detail::load_user(request, context);
                response = detail::route(request, context);
            } else {
                response = detail::error_page(context, 405, "Method not allowed.");
            }
        } catch (const std::exception& e) {
            response = detail::error_page(context, 500, std::string("Server error: ") + e.what());
        }
        response.set_cookies.insert(response.set_cookies.begin(), new_cookies.begin(),
                                    new_cookies.end());
        detail::write(response, out);
    }
};

Server::Server(AdminSettings settings) : impl_(std::make_unique<Impl>(std::move(settings))) {
    if (impl_->settings.observe_sends) {
        impl_->monitor = std::make_shared<detail::SignalMonitor>(send_observer());
        set_send_observer(impl_->monitor);
    }
    auto& http = impl_->http;
    http.set_payload_max_length(impl_->settings.max_body_bytes);
    http.set_read_timeout(10, 0);
    http.set_write_timeout(10, 0);
    http.set_keep_alive_timeout(5);
    Impl* self = impl_.get();
    const auto handler = [self](const httplib::Request& in, httplib::Response& out) {
        self->handle(in, out);
    };
    http.Get(R"(/.*)", handler);
    http.Post(R"(/.*)", handler);
    http.set_error_handler([](const httplib::Request&, httplib::Response& out) {
        if (out.body.empty()) {
            std::string text = std::to_string(out.status);
            if (out.status == 413) {
                text += " Request Entity Too Large";
            }
            out.set_content(text, "text/plain; charset=utf-8");
        }
    });
}

Server::~Server() {
    stop();
    if (impl_->monitor && send_observer() == impl_->monitor) {
        set_send_observer(impl_->monitor->next());
    }
}

int Server::bind(const std::string& host, int port) {
    int bound = 0;
    if (port == 0) {
        bound = impl_->http.bind_to_any_port(host);
        if (bound <= 0) {
            throw std::runtime_error("admin: cannot bind " + host + ":0");
        }
    } else {
        if (!impl_->http.bind_to_port(host, port)) {
            throw std::runtime_error("admin: cannot bind " + host + ":" + std::to_string(port) +
                                     " (in use, or not an address of this machine)");
        }
        bound = port;
    }
    impl_->bound = true;
    return bound;
}

void Server::listen() {
    if (!impl_->bound) {
        throw std::runtime_error("admin: listen() before bind()");
    }
    if (!impl_->http.listen_after_bind()) {
        throw std::runtime_error("admin: the server stopped with an error");
    }
}

void Server::stop() {
    if (impl_->monitor) {
        impl_->monitor->stop();  // the live logs' streams end
    }
    impl_->http.stop();
}

bool Server::running() const {
    return impl_->http.is_running();
}

std::pair<std::string, int> parse_address(const std::string& address,
                                          const std::string& default_host) {
    std::string host = default_host;
    std::string port_text = address;
    if (const auto colon = address.rfind(':'); colon != std::string::npos) {
        host = address.substr(0, colon);
        port_text = address.substr(colon + 1);
        if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
            host = host.substr(1, host.size() - 2);
        }
        if (host.empty()) {
            host = default_host;
        }
    }
    int port = -1;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
        port < 0 || port > 65535) {
        throw std::invalid_argument("\"" + address +
                                    "\" is not a valid port number or address:port pair.");
    }
    return {host, port};
}

}  // namespace tocsin::admin
