// events/apps.hpp — the program's own app (it installs tocsin's auth app besides).
#pragma once

#include <tocsin/apps.hpp>

namespace events {
/// The "events" app: events and their kinds, and the receivers wired in ready().
struct EventsConfig : tocsin::AppConfig {
    EventsConfig();
    std::vector<const tocsin::apps::ModelDescription*> models() const override;
    void ready() override;
};
}  // namespace events
