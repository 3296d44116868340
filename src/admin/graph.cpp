// The signal graph, drawn by the program as SVG: senders → signals → receivers.
#include <algorithm>
#include <map>
#include <string>

#include "signals_panel.hpp"
#include "tocsin/apps/describe.hpp"

namespace tocsin::admin::detail {

std::string signal_graph_svg(const std::vector<SignalInfo>& signals) {
    // Columns of nodes; a signal without receivers is left out (nothing listens to it).
    std::vector<std::string> senders;
    std::vector<std::string> signal_names;
    std::vector<std::string> receivers;
    std::vector<std::pair<std::size_t, std::size_t>> left_edges;   // sender -> signal
    std::vector<std::pair<std::size_t, std::size_t>> right_edges;  // signal -> receiver
    const auto index = [](std::vector<std::string>& column, const std::string& name) {
        const auto it = std::find(column.begin(), column.end(), name);
        if (it != column.end()) {
            return static_cast<std::size_t>(it - column.begin());
        }
        column.push_back(name);
        return column.size() - 1;
    };
    const auto add_edge = [](std::vector<std::pair<std::size_t, std::size_t>>& edges, std::size_t a,
                             std::size_t b) {
        if (std::find(edges.begin(), edges.end(), std::pair{a, b}) == edges.end()) {
            edges.emplace_back(a, b);
        }
    };
    for (const SignalInfo& s : signals) {
        if (s.receivers.empty()) {
            continue;
        }
        const std::size_t sig = index(signal_names, s.display_name());
        for (const ReceiverInfo& r : s.receivers) {
            add_edge(left_edges, index(senders, tocsin::apps::describe_sender(r.sender)), sig);
            for (const Sender& also : r.also_senders) {
                add_edge(left_edges, index(senders, tocsin::apps::describe_sender(also)), sig);
            }
            add_edge(right_edges, sig, index(receivers, r.name));
        }
    }
    constexpr int row = 34;
    constexpr int box_h = 24;
    constexpr int col_w = 300;
    constexpr int gap = 140;
    const std::size_t rows =
        std::max({senders.size(), signal_names.size(), receivers.size(), std::size_t{1}});
    const int width = 3 * col_w + 2 * gap + 20;
    const int height = static_cast<int>(rows) * row + 60;
    const auto x_of = [&](int column) { return 10 + column * (col_w + gap); };
    const auto y_of = [&](std::size_t i) { return 40 + static_cast<int>(i) * row; };
    std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) +
                      "\" height=\"" + std::to_string(height) + "\" viewBox=\"0 0 " +
                      std::to_string(width) + " " + std::to_string(height) +
                      "\" font-family=\"sans-serif\" font-size=\"12\" id=\"signal-graph\">";
    svg += "<text x=\"10\" y=\"20\" font-weight=\"bold\">Senders</text>";
    svg +=
        "<text x=\"" + std::to_string(x_of(1)) + "\" y=\"20\" font-weight=\"bold\">Signals</text>";
    svg += "<text x=\"" + std::to_string(x_of(2)) +
           "\" y=\"20\" font-weight=\"bold\">Receivers</text>";
    const auto edge = [&](int from_column, std::size_t from, std::size_t to) {
        const int x1 = x_of(from_column) + col_w;
        const int x2 = x_of(from_column + 1);
        const int y1 = y_of(from) + box_h / 2;
        const int y2 = y_of(to) + box_h / 2;
        svg += "<path fill=\"none\" stroke=\"#79aec8\" stroke-width=\"1.5\" d=\"M" +
               std::to_string(x1) + " " + std::to_string(y1) + " C" + std::to_string(x1 + gap / 2) +
               " " + std::to_string(y1) + " " + std::to_string(x2 - gap / 2) + " " +
               std::to_string(y2) + " " + std::to_string(x2) + " " + std::to_string(y2) + "\"/>";
    };
    for (const auto& [a, b] : left_edges) {
        edge(0, a, b);
    }
    for (const auto& [a, b] : right_edges) {
        edge(1, a, b);
    }
    const auto nodes = [&](int column, const std::vector<std::string>& names, const char* fill,
                           const char* cls) {
        for (std::size_t i = 0; i < names.size(); ++i) {
            std::string label = names[i];
            if (label.size() > 46) {
                label = label.substr(0, 45) + "\xE2\x80\xA6";
            }
            svg += "<g class=\"";
            svg += cls;
            svg += "\"><title>" + escape(names[i]) + "</title><rect x=\"" +
                   std::to_string(x_of(column)) + "\" y=\"" + std::to_string(y_of(i)) +
                   "\" width=\"" + std::to_string(col_w) + "\" height=\"" + std::to_string(box_h) +
                   "\" rx=\"4\" fill=\"";
            svg += fill;
            svg += "\" stroke=\"#264b5d\"/><text x=\"" + std::to_string(x_of(column) + 8) +
                   "\" y=\"" + std::to_string(y_of(i) + 16) + "\">" + escape(label) + "</text></g>";
        }
    };
    nodes(0, senders, "#f5f5f5", "sender");
    nodes(1, signal_names, "#f5dd5d", "signal");
    nodes(2, receivers, "#dff0d8", "receiver");
    svg += "</svg>";
    return svg;
}

}  // namespace tocsin::admin::detail
