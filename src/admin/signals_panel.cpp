// The admin's signals pages: the panel (a live log of every send, with each receiver's duration,
// outcome and error, through the dispatch core's send observer: monitor.hpp), the receivers
// table (what `manage receivers` prints, with each receiver's statistics) and the signal graph.
#include "signals_panel.hpp"

#include <httplib.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "monitor.hpp"
#include "tocsin/apps/describe.hpp"

namespace tocsin::admin::detail {

namespace {

std::string duration_text(std::chrono::nanoseconds d) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.1f µs", static_cast<double>(d.count()) / 1000.0);
    return buffer;
}

Response receivers_page(Context& context) {
    std::vector<ReceiverStat> stats;
    if (context.monitor != nullptr) {
        stats = context.monitor->stats().snapshot();
    }
    const auto stat_of = [&](const std::string& signal, const std::string& receiver) {
        const auto it = std::find_if(stats.begin(), stats.end(), [&](const ReceiverStat& s) {
            return s.signal == signal && s.receiver == receiver;
        });
        return it == stats.end() ? nullptr : &*it;
    };
    Html h;
    h << Raw(
        "<h1>Receivers</h1><p>Every live signal and its receivers, in call order "
        "(<code>manage receivers</code>), with what each cost since the admin started "
        "(<code>manage receivers --stats</code>).</p><table id=\"receivers\"><thead><tr>"
        "<th>Signal</th><th>Receiver</th><th>Sender</th><th>dispatch_uid</th><th>Priority"
        "</th><th>Mode</th><th>Connected at</th><th>Calls</th><th>Errors</th><th>Total</th>"
        "<th>p50</th><th>p99</th><th>Last error</th></tr></thead><tbody>");
    for (const SignalInfo& s : all_signals()) {
        if (s.receivers.empty()) {
            h << Raw("<tr><td>") << s.display_name()
              << Raw("</td><td colspan=\"12\" class=\"help\">no receivers</td></tr>");
            continue;
        }
        for (const ReceiverInfo& r : s.receivers) {
            std::string sender = tocsin::apps::describe_sender(r.sender);
            for (const Sender& also : r.also_senders) {
                sender += ", " + tocsin::apps::describe_sender(also);
            }
            h << Raw("<tr class=\"receiver\"><td>") << s.display_name() << Raw("</td><td>")
              << r.name << Raw("</td><td>") << sender << Raw("</td><td>")
              << (r.dispatch_uid.empty() ? std::string("-") : r.dispatch_uid) << Raw("</td><td>")
              << r.priority << Raw("</td><td>") << std::string(delivery_mode(r)) << Raw("</td><td>")
              << r.file << Raw(":") << static_cast<std::int64_t>(r.line) << Raw("</td>");
            if (const ReceiverStat* stat = stat_of(s.name, r.name)) {
                h << Raw("<td class=\"calls\">") << static_cast<std::int64_t>(stat->calls)
                  << Raw("</td><td>") << static_cast<std::int64_t>(stat->errors) << Raw("</td><td>")
                  << duration_text(stat->total) << Raw("</td><td>") << duration_text(stat->p50)
                  << Raw("</td><td>") << duration_text(stat->p99)
                  << Raw("</td><td class=\"error\">") << stat->last_error << Raw("</td>");
            } else {
                h << Raw("<td class=\"calls\">0</td><td></td><td></td><td></td><td></td><td></td>");
            }
            h << Raw("</tr>");
        }
    }
    h << Raw("</tbody></table>");
    return page(context, "Receivers", h);
}

Response graph_page(Context& context) {
    Html h;
    h << Raw(
        "<h1>Signal graph</h1><p>Senders &rarr; signals &rarr; receivers, for every signal "
        "with a receiver.</p><p><img src=\"/admin/signals/graph.svg\" alt=\"signal graph\" "
        "id=\"graph-image\"></p>");
    return page(context, "Signal graph", h);
}

Response panel_page(Context& context) {
    Html h;
    h << Raw("<h1>Signals</h1>");
    if (context.monitor == nullptr) {
        h << Raw(
            "<p class=\"help\" id=\"panel-unavailable\">The live log is off "
            "(AdminSettings::observe_sends).</p>");
        return page(context, "Signals", h);
    }
    h << Raw(
        "<p>Every send of the program as it happens (newest first): the signal, its "
        "sender, the instance it was sent for (a model signal's), each receiver with its outcome "
        "and duration, and the error it threw. A "
        "commit-time receiver shows <em>deferred</em> at the send and a line of its own "
        "when it runs after the commit.</p><p class=\"help\">Live log: <span "
        "id=\"signal-log-status\">connecting</span></p><table "
        "id=\"signal-log\"><thead><tr><th>Signal"
        "</th><th>Sender</th><th>Instance</th><th>Receivers</th><th>Total</th></tr></thead><tbody>"
        "</tbody></table>");
    return page(context, "Signals", h);
}

}  // namespace

Response signals_page(const Request&, Context& context, std::string_view rest) {
    if (rest.empty()) {
        return panel_page(context);
    }
    if (rest == "receivers/") {
        return receivers_page(context);
    }
    if (rest == "graph/") {
        return graph_page(context);
    }
    if (rest == "graph.svg") {
        Response r;
        r.content_type = "image/svg+xml";
        r.body = signal_graph_svg(all_signals());
        return r;
    }
    return error_page(context, 404, "Page not found.");
}

void stream_events(httplib::Response& out, const std::shared_ptr<SignalMonitor>& monitor) {
    if (!monitor) {
        out.status = 404;
        out.set_content("the live log is off", "text/plain; charset=utf-8");
        return;
    }
    // A comment first (a client knows the stream is open, before any send), the last sends
    // (up to 50), then each new one as it finishes.
    const auto last = monitor->last_sequence();
    auto sequence = std::make_shared<std::uint64_t>(last > 50 ? last - 50 : 0);
    out.set_header("Cache-Control", "no-store");
    out.set_header("X-Content-Type-Options", "nosniff");
    out.set_chunked_content_provider(
        "text/event-stream", [monitor, sequence](std::size_t offset, httplib::DataSink& sink) {
            if (monitor->stopped()) {
                sink.done();
                return false;
            }
            if (offset == 0) {  // nothing written yet: the stream has just opened
                constexpr std::string_view hello = ": connected\n\n";
                return sink.write(hello.data(), hello.size());
            }
            std::string chunk;
            for (const auto& entry :
                 monitor->wait_after(*sequence, std::chrono::milliseconds(1000))) {
                chunk += "id: " + std::to_string(entry.sequence) + "\ndata: " + entry.json + "\n\n";
                *sequence = entry.sequence;
            }
            if (chunk.empty()) {
                chunk = ": keep-alive\n\n";
            }
            return sink.write(chunk.data(), chunk.size());
        });
}

}  // namespace tocsin::admin::detail
