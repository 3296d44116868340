// events/signals.hpp — the receivers of the events app, connected in EventsConfig::ready().
#pragma once

namespace events {

/// Connects every receiver of the app (each with a dispatch_uid or a function: connecting twice
/// is a no-op).
void connect_receivers();

}  // namespace events
