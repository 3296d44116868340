// tocsin::set_commit_deferrer: one process-wide function pointer.
#include "tocsin/dispatch/commit_deferrer.hpp"

#include <atomic>

namespace tocsin {

namespace {
std::atomic<CommitDeferrer> installed{nullptr};
}  // namespace

void set_commit_deferrer(CommitDeferrer deferrer) noexcept {
    installed.store(deferrer, std::memory_order_release);
}

CommitDeferrer commit_deferrer() noexcept {
    return installed.load(std::memory_order_acquire);
}

namespace detail {
void defer_to_commit(std::function<void()> task, std::string_view alias) {
    if (CommitDeferrer deferrer = commit_deferrer()) {
        deferrer(std::move(task), alias);
    } else {
        task();
    }
}
}  // namespace detail

}  // namespace tocsin
