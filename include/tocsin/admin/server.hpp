// tocsin::admin::Server — the admin's HTTP server (cpp-httplib), serving every page and asset
// itself: it works offline.
#pragma once

#include <memory>
#include <string>

#include "tocsin/admin/app.hpp"

namespace tocsin::admin {

/// An admin server. Every page needs a logged-in staff user (anonymous: the login page); every
/// form carries a CSRF token (a POST without the right one: 403); the session cookie is HttpOnly
/// and SameSite=Lax; every value is HTML-escaped; `next=` only leads to a path of this site;
/// bodies larger than AdminSettings::max_body_bytes get 413. Requests are served by a pool of
/// threads, one page at a time (pages share the database connections of their threads).
class Server {
  public:
    /// A server with `settings`; nothing listens yet.
    explicit Server(AdminSettings settings = {});
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Binds `host`:`port` (port 0: a free port); returns the port bound. Throws
    /// std::runtime_error when the address cannot be bound.
    int bind(const std::string& host, int port);
    /// Serves requests until stop() (call bind() first). Throws std::runtime_error when the
    /// server could not run.
    void listen();
    /// Makes listen() return; safe from any thread (a signal handler must not call it).
    void stop();
    /// Whether listen() is serving.
    [[nodiscard]] bool running() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Splits "addr:port" (or ":port", or "port") into a host and a port; throws
/// std::invalid_argument with what is wrong.
[[nodiscard]] std::pair<std::string, int> parse_address(const std::string& address,
                                                        const std::string& default_host);

}  // namespace tocsin::admin
