#include "tocsin/dispatch/signal_registry.hpp"

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <tuple>
#include <unordered_map>

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
};

/// Never destroyed: signals with static storage may leave it during exit.
SignalTable& table() {
    static auto* t = new SignalTable;
    return *t;
}

}  // namespace

namespace detail {

void enlist_signal(const std::shared_ptr<Receivers>& receivers, std::string_view signature) {
    auto& t = table();
    std::lock_guard lock(t.mutex);
    t.signals.insert_or_assign(receivers.get(), Listed{receivers, signature, t.next_order++});
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
