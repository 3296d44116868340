#include "tocsin/dispatch/mute.hpp"

#include <algorithm>
#include <vector>

#include "tocsin/dispatch/detail/rcu.hpp"

namespace tocsin {

namespace {
struct Muted {
    const detail::Receivers* receivers;
    Sender sender;
    bool every_sender;
    const ScopedMute* owner;
};
thread_local std::vector<Muted> muted_here;
}  // namespace

ScopedMute::ScopedMute(const detail::Receivers* receivers, const Sender& sender, bool every_sender)
    : receivers_(receivers), sender_(sender), every_sender_(every_sender) {
    muted_here.push_back({receivers_, sender_, every_sender_, this});
    ++detail::rcu::this_thread.mutes;
    detail::rcu::this_thread.refresh();
}

ScopedMute::~ScopedMute() {
    const auto it = std::find_if(muted_here.rbegin(), muted_here.rend(),
                                 [this](const Muted& m) { return m.owner == this; });
    if (it != muted_here.rend()) {
        muted_here.erase(std::next(it).base());
        --detail::rcu::this_thread.mutes;
        detail::rcu::this_thread.refresh();
    }
}

bool detail::is_muted(const Receivers* receivers, const Sender& sender) noexcept {
    return std::any_of(muted_here.begin(), muted_here.end(), [&](const Muted& m) {
        return m.receivers == receivers && (m.every_sender || m.sender == sender);
    });
}

}  // namespace tocsin
