#include "tocsin/dispatch/signal_registry.hpp"

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "tocsin/dispatch/detail/receivers.hpp"

namespace tocsin {

namespace {

/// One listed signal: its receivers (kept alive by the Signal while listed), its signature and
/// its rank in construction order.
struct Listed {
    std::weak_ptr<detail::Receivers> receivers;
    std::string_view signature;
    std::uint64_t order = 0;
};

struct SignalTable {
    std::mutex mutex;
    std::unordered_map<const detail::Receivers*, Listed> signals;
    std::uint64_t next_order = 0;
    /// The signatures as spelled for display, one per signal type of the program (a node-based
    /// set: the views given out stay valid, also after the signal is gone).
    std::unordered_set<std::string> signatures;
};

/// Never destroyed: signals with static storage may leave it during exit.
SignalTable& table() {
    static auto* t = new SignalTable;
    return *t;
}

}  // namespace

namespace detail {

std::string spell_signature(std::string_view compiler_spelling) {
    constexpr std::string_view anonymous = "(anonymous namespace)";
    std::string out;
    out.reserve(compiler_spelling.size());
    for (std::size_t i = 0; i < compiler_spelling.size(); ++i) {
        const char c = compiler_spelling[i];
        if (compiler_spelling.substr(i).starts_with(anonymous)) {
            out += "{anonymous}";
            i += anonymous.size() - 1;
            continue;
        }
        if (c == ' ' && i + 1 < compiler_spelling.size() && !out.empty() && out.back() != ',') {
            const char next = compiler_spelling[i + 1];
            // "Order &" -> "Order&", "int *" -> "int*"; "void (int)" -> "void(int)", but not
            // the space of a pointer or reference to a function: "void (*)(int)".
            const bool before_ref = next == '&' || next == '*';
            const bool before_parameters =
                next == '(' && !compiler_spelling.substr(i + 1).starts_with(anonymous) &&
                (i + 2 >= compiler_spelling.size() ||
                 (compiler_spelling[i + 2] != '*' && compiler_spelling[i + 2] != '&'));
            if (before_ref || before_parameters) {
                continue;
            }
        }
        out += c;
    }
    return out;
}

void enlist_signal(const std::shared_ptr<Receivers>& receivers, std::string_view signature) {
    auto& t = table();
    std::lock_guard lock(t.mutex);
    const std::string_view spelled = *t.signatures.insert(spell_signature(signature)).first;
    t.signals.insert_or_assign(receivers.get(), Listed{receivers, spelled, t.next_order++});
}

void delist_signal(const Receivers* receivers) noexcept {
    auto& t = table();
    std::lock_guard lock(t.mutex);
    t.signals.erase(receivers);
}

}  // namespace detail

std::string SignalInfo::display_name() const {
    if (!name.empty()) {
        return name;
    }
    return "<unnamed Signal<" + std::string(signature) + ">>";
}

namespace {

/// The listed signals for which `keep(name)` is true, in all_signals() order.
template <class Keep>
std::vector<SignalInfo> list_signals(Keep keep) {
    // Copy the registries under the table's lock, read them after it: listing never holds two
    // locks at once. A signal destroyed in between is listed with no receivers.
    struct Found {
        std::shared_ptr<detail::Receivers> receivers;
        std::string_view signature;
        std::uint64_t order;
    };
    std::vector<Found> found;
    {
        auto& t = table();
        std::lock_guard lock(t.mutex);
        found.reserve(t.signals.size());
        for (const auto& [raw, listed] : t.signals) {
            auto receivers = listed.receivers.lock();
            if (receivers && keep(receivers->name())) {
                found.push_back(Found{std::move(receivers), listed.signature, listed.order});
            }
        }
    }
    std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
        const auto& an = a.receivers->name();
        const auto& bn = b.receivers->name();
        return std::tuple(an.empty(), std::string_view(an), a.order) <
               std::tuple(bn.empty(), std::string_view(bn), b.order);
    });
    std::vector<SignalInfo> out;
    out.reserve(found.size());
    for (const auto& f : found) {
        out.push_back(SignalInfo{f.receivers->name(), f.signature, f.receivers->receivers()});
    }
    return out;
}

}  // namespace

std::vector<SignalInfo> all_signals() {
    return list_signals([](const std::string&) { return true; });
}

std::vector<SignalInfo> find_signals(std::string_view name) {
    return list_signals([name](const std::string& n) { return !name.empty() && n == name; });
}

}  // namespace tocsin
