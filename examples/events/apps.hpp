// events/apps.hpp — the two installed apps of the program.
#pragma once

#include <tocsin/apps.hpp>

namespace auth {
/// The "auth" app: users.
struct AuthConfig : tocsin::AppConfig {
    AuthConfig();
    std::vector<const tocsin::apps::ModelDescription*> models() const override;
};
}  // namespace auth

namespace events {
/// The "events" app: events and their kinds, and the receivers wired in ready().
struct EventsConfig : tocsin::AppConfig {
    EventsConfig();
    std::vector<const tocsin::apps::ModelDescription*> models() const override;
    void ready() override;
};
}  // namespace events
