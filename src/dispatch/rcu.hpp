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
/// all. With `reclaim_now`, then frees what no reader can see any more, as reclaim() does. A
/// nonzero `stamp` (from stamp(), taken after the objects became unreachable) stands for the
/// grace period that retire() would begin otherwise.
void retire(std::span<const Retiree> objects, bool reclaim_now, std::uint64_t stamp = 0);

/// Begins a new grace period and returns it: for memory that a change made unreachable without
/// retiring it (a list's positions above its count), to be reused once passed(stamp) is true.
[[nodiscard]] std::uint64_t stamp() noexcept;

/// The latest period such that every read-side section that began before it has ended, as the
/// last scan of the readers (a retirement's or a reclamation's) found; 0 before any scan.
extern std::atomic<std::uint64_t> passed_period;

/// True when every read-side section that began before stamp() returned `s` has ended, as far
/// as the last scan of the readers knows (false when no scan ran since). What such a section
/// read happens before what the caller writes next.
[[nodiscard]] inline bool passed(std::uint64_t s) noexcept {
    return passed_period.load(std::memory_order_acquire) >= s;
}

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
