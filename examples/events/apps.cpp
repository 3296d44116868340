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

// The one compile of each model's description (TOCSIN_EXTERN_MODEL in models.hpp).
TOCSIN_INSTANTIATE_MODEL(events::Event);
TOCSIN_INSTANTIATE_MODEL(events::StatusChange);
TOCSIN_INSTANTIATE_MODEL(events::Comment);
