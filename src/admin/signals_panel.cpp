// The admin's signals pages: the receivers table (every live signal and its receivers, what
// `manage receivers` prints) and the signal graph. The live log of sends needs the dispatch
// core's send observer (not in this build yet): the panel says so.
#include "signals_panel.hpp"

#include <httplib.h>

#include <string>

namespace tocsin::admin::detail {

namespace {

Response receivers_page(Context& context) {
    Html h;
    h << Raw(
        "<h1>Receivers</h1><p>Every live signal and its receivers, in call order "
        "(<code>manage receivers</code>).</p><table id=\"receivers\"><thead><tr><th>Signal"
        "</th><th>Receiver</th><th>Sender</th><th>dispatch_uid</th><th>Priority</th><th>Mode"
        "</th><th>Connected at</th></tr></thead><tbody>");
    for (const SignalInfo& s : all_signals()) {
        if (s.receivers.empty()) {
            h << Raw("<tr><td>") << s.display_name()
              << Raw("</td><td colspan=\"6\" class=\"help\">no receivers</td></tr>");
            continue;
        }
        for (const ReceiverInfo& r : s.receivers) {
            std::string sender = sender_text(r.sender);
            for (const Sender& also : r.also_senders) {
                sender += ", " + sender_text(also);
            }
            h << Raw("<tr class=\"receiver\"><td>") << s.display_name() << Raw("</td><td>")
              << r.name << Raw("</td><td>") << sender << Raw("</td><td>")
              << (r.dispatch_uid.empty() ? std::string("-") : r.dispatch_uid) << Raw("</td><td>")
              << r.priority << Raw("</td><td>") << std::string(delivery_mode(r)) << Raw("</td><td>")
              << r.file << Raw(":") << static_cast<std::int64_t>(r.line) << Raw("</td></tr>");
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
    h << Raw(
        "<h1>Signals</h1><p class=\"help\" id=\"panel-unavailable\">The live log of sends "
        "needs the dispatch core's send observer, which this build does not have yet. See "
        "the <a href=\"/admin/signals/receivers/\">receivers</a> and the <a "
        "href=\"/admin/signals/graph/\">signal graph</a>.</p>");
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

void stream_events(httplib::Response& out) {
    out.status = 404;
    out.set_content("no send observer in this build", "text/plain; charset=utf-8");
}

void stop_streams() {}

}  // namespace tocsin::admin::detail
