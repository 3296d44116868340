// tocsin::detail::rcu, the writer's side (private to src/): retiring what a change made
// unreachable, waiting for readers. The read side, which sends inline, is
// <tocsin/dispatch/detail/rcu.hpp>.
#pragma once

#include <span>

#include "tocsin/dispatch/detail/rcu.hpp"

namespace tocsin::detail::rcu {

/// Defers `deleter(object)` until no reader can still see `object`. Never blocks on readers,
/// so it may be called from inside a read-side section (a receiver that disconnects).
void retire(void* object, void (*deleter)(void*));

/// One object for retire(): `deleter(object)` runs once no reader can see it.
struct Retiree {
    void* object;
    void (*deleter)(void*);
};

/// retire() for several objects made unreachable together: one grace period and one lock for
/// all. With `reclaim_now`, then frees what no reader can see any more, as reclaim() does.
void retire(std::span<const Retiree> objects, bool reclaim_now);

/// Blocks until every read-side section that began before this call has ended. Throws
/// std::logic_error when called from inside a read-side section (it would wait for itself).
void synchronize();

/// Frees every retired object that no reader can see any more (runs a membarrier first).
void reclaim();

/// True while the calling thread is inside a read-side section (a send).
[[nodiscard]] inline bool in_read_section() noexcept {
    const Reader* r = this_thread.reader;
    return r != nullptr && r->period.load(std::memory_order_relaxed) != 0;
}

}  // namespace tocsin::detail::rcu
