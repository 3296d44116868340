// The admin's signals pages: the panel (live log of sends), the receivers table (what `manage
// receivers` prints) and the signal graph (SVG). Internal to src/admin.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "internal.hpp"
#include "tocsin/dispatch/signal_registry.hpp"

namespace httplib {
struct Response;
}

namespace tocsin::admin::detail {

/// The page under /admin/signals/ named by `rest` ("", "receivers/", "graph/", "graph.svg").
[[nodiscard]] Response signals_page(const Request& request, Context& context,
                                    std::string_view rest);
class SignalMonitor;
/// Streams the live log of `monitor` to `out` as server-sent events (each finished send as a
/// JSON object), until the client goes or the monitor stops. Null: 404.
void stream_events(httplib::Response& out, const std::shared_ptr<SignalMonitor>& monitor);

/// The signal graph of `signals` as an SVG document: senders on the left, signals in the
/// middle, receivers on the right, an edge for each (sender, signal) and (signal, receiver).
/// Every label is escaped.
[[nodiscard]] std::string signal_graph_svg(const std::vector<SignalInfo>& signals);

}  // namespace tocsin::admin::detail
