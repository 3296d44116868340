// <tocsin/dispatch.hpp> — the dispatch core: signals, senders, connections.
//
//   tocsin::Signal<void(const Order&)> order_created{"store.order_created"};
//   auto c = order_created.connect([](const Order& o) { notify(o); },
//                                  {.sender = tocsin::Sender::of<Checkout>()});
//   order_created.send(tocsin::Sender::of<Checkout>(), order);
#pragma once

#include "tocsin/dispatch/connect.hpp"          // IWYU pragma: export
#include "tocsin/dispatch/connection.hpp"       // IWYU pragma: export
#include "tocsin/dispatch/executor.hpp"         // IWYU pragma: export
#include "tocsin/dispatch/mute.hpp"             // IWYU pragma: export
#include "tocsin/dispatch/outcome.hpp"          // IWYU pragma: export
#include "tocsin/dispatch/receiver.hpp"         // IWYU pragma: export
#include "tocsin/dispatch/receiver_info.hpp"    // IWYU pragma: export
#include "tocsin/dispatch/sender.hpp"           // IWYU pragma: export
#include "tocsin/dispatch/signal.hpp"           // IWYU pragma: export
#include "tocsin/dispatch/signal_registry.hpp"  // IWYU pragma: export
