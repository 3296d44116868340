#include "apps.hpp"

#include "models.hpp"
#include "signals.hpp"

namespace events {
EventsConfig::EventsConfig() : tocsin::AppConfig("events") {}
std::vector<const tocsin::apps::ModelDescription*> EventsConfig::models() const {
    return tocsin::describe<Event, StatusChange, Comment>();
}
void EventsConfig::ready() {
    connect_receivers();
}
}  // namespace events
