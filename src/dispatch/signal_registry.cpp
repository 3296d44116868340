#include "tocsin/dispatch/signal_registry.hpp"

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <tuple>
#include <unordered_map>

#include "tocsin/dispatch/detail/registry.hpp"

namespace tocsin {

namespace {

/// One listed signal: its registry (kept alive by the Signal while listed), its signature and
/// its rank in construction order.
struct Listed {
    std::weak_ptr<detail::Registry> registry;
    std::string_view signature;
    std::uint64_t order = 0;
};

struct SignalTable {
    std::mutex mutex;
    std::unordered_map<const detail::Registry*, Listed> signals;
    std::uint64_t next_order = 0;
};

/// Never destroyed: signals with static storage may leave it during exit.
SignalTable& table() {
    static auto* t = new SignalTable;
    return *t;
}

}  // namespace

namespace detail {

void enlist_signal(const std::shared_ptr<Registry>& registry, std::string_view signature) {
    auto& t = table();
    std::lock_guard lock(t.mutex);
    t.signals.insert_or_assign(registry.get(), Listed{registry, signature, t.next_order++});
}

void delist_signal(const Registry* registry) noexcept {
    auto& t = table();
    std::lock_guard lock(t.mutex);
    t.signals.erase(registry);
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
        std::shared_ptr<detail::Registry> registry;
        std::string_view signature;
        std::uint64_t order;
    };
    std::vector<Found> found;
    {
        auto& t = table();
        std::lock_guard lock(t.mutex);
        found.reserve(t.signals.size());
        for (const auto& [raw, listed] : t.signals) {
            auto registry = listed.registry.lock();
            if (registry && keep(registry->name())) {
                found.push_back(Found{std::move(registry), listed.signature, listed.order});
            }
        }
    }
    std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
        const auto& an = a.registry->name();
        const auto& bn = b.registry->name();
        return std::tuple(an.empty(), std::string_view(an), a.order) <
               std::tuple(bn.empty(), std::string_view(bn), b.order);
    });
    std::vector<SignalInfo> out;
    out.reserve(found.size());
    for (const auto& f : found) {
        out.push_back(SignalInfo{f.registry->name(), f.signature, f.registry->receivers()});
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
