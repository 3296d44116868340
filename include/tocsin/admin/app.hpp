// tocsin::admin::AdminConfig — the "admin" app a program installs (Django's django.contrib.admin):
// staff log in and list, add, change and remove the objects of every installed model through the
// model layer, so every model signal fires as in Django's admin. Its ready() adds
// `manage runserver [addr:port]`.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "tocsin/apps/app_config.hpp"

namespace tocsin::admin {

/// The admin's settings.
struct AdminSettings {
    /// Where `manage runserver` listens when no address is given.
    std::string address = "127.0.0.1:8000";
    /// The largest request body accepted (larger: 413). Form posts are also limited to 8 KiB by
    /// the HTTP library (cpp-httplib's form limit), URLs and each header line to 8 KiB.
    std::size_t max_body_bytes = 1024 * 1024;
    /// Objects per page of a model's list.
    std::size_t per_page = 25;
    /// The most objects a select (foreign key) or multi-select (many-to-many) lists.
    std::size_t max_choices = 1000;
    /// The database alias the admin works on.
    std::string database = "default";
    /// While a Server lives, observe every send of the process (tocsin::set_send_observer): the
    /// signals panel's live log and the receivers' statistics. The observer set before is kept
    /// informed and set again when the server is destroyed.
    bool observe_sends = true;
    /// Models the admin does not show, by label (as Django's admin does not register the
    /// sessions: their keys would let a staff user take over another's session).
    std::vector<std::string> exclude = {"sessions.Session"};
};

/// The "admin" app: no models of its own; ready() adds the `runserver` command of manage().
/// Needs the "auth" and "sessions" apps (staff users log in with a database session).
class AdminConfig : public AppConfig {
  public:
    /// The app, labelled "admin".
    explicit AdminConfig(AdminSettings settings = {});
    /// Adds `runserver [addr:port]` to manage().
    void ready() override;
    /// The settings it was made with.
    [[nodiscard]] const AdminSettings& settings() const noexcept { return settings_; }

  private:
    AdminSettings settings_;
};

}  // namespace tocsin::admin
