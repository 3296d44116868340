// tocsin::detail::rcu — the read-copy-update domain that lets sends run without locks.
//
// Readers (every send) mark themselves on a cache line of their own thread: they write nothing
// shared, so sends on many threads scale with the cores. Writers (connect, disconnect) publish a
// new immutable snapshot, then `retire` the old one; it is freed once every reader that could have
// seen it has left its read-side section. The reader's only ordering cost is a compiler barrier:
// the writer pays for a process-wide memory barrier (Linux `membarrier`) before it scans readers.
//
// Without `membarrier` (systems other than Linux, or the CMake option TOCSIN_PORTABLE_BARRIER,
// which defines the macro of that name for tocsin and its users) and under ThreadSanitizer,
// readers mark themselves with a seq_cst exchange (a full barrier on the hardware) and the
// writer with a seq_cst fence: portable C++, at the price of that barrier on every send.
#pragma once

#include <atomic>
#include <cstdint>

#if defined(TOCSIN_PORTABLE_BARRIER) || !defined(__linux__) || defined(TOCSIN_TSAN) || \
    defined(__SANITIZE_THREAD__)
/// 1 when readers order themselves with a full barrier (no process-wide barrier is used).
#define TOCSIN_RCU_FENCED_READS 1
#else
#define TOCSIN_RCU_FENCED_READS 0
#endif

namespace tocsin::detail::rcu {

/// One thread's reader record, on its own cache line. `period` is 0 while the thread is outside
/// any read-side section, else the grace period it saw on entering the outermost one.
struct alignas(64) Reader {
    std::atomic<std::uint64_t> period{0};
    std::atomic<bool> in_use{false};
    Reader* next = nullptr;
};

/// The record a thread's fast path marks while it cannot take that path (see ThreadState::fast):
/// its period is never 0, so enter() always finds it "busy" and sends go the general way. No
/// thread writes it and writers never scan it.
inline constinit Reader detour{{~std::uint64_t{0}}, {true}, nullptr};

/// Per-thread state read on every send. Constant-initialised, so access needs no guard.
struct ThreadState {
    /// The record the fast path of a send marks: the thread's own while it is registered and no
    /// ScopedMute lives on it, else `detour`. One load and one test tell a send whether it may
    /// take the fast path (registered, not nested, not muted).
    Reader* fast = &detour;
    Reader* reader = nullptr;
    std::uint32_t mutes = 0;  ///< count of live ScopedMute objects on this thread

    /// Points `fast` at the right record after `reader` or `mutes` changed.
    void refresh() noexcept { fast = (reader != nullptr && mutes == 0) ? reader : &detour; }
};

inline constinit thread_local ThreadState this_thread{};

/// The grace-period counter, in steps of `period_step` from 2 (so that 0 can mean "not
/// reading"), with `observed_bit` beside it: a send reads both in the one load that marks it as
/// a reader. Periods are compared with the bit in (a reader may store it): retirement stamps
/// and synchronize() targets have it clear, so the order of two periods is the same with it.
extern std::atomic<std::uint64_t> current_period;
/// What a grace period adds to current_period.
inline constexpr std::uint64_t period_step = 2;
/// Set in current_period while a send observer is set (tocsin::set_send_observer).
inline constexpr std::uint64_t observed_bit = 1;

/// Registers the calling thread as a reader (first send on a thread).
Reader* register_thread() noexcept;

/// Marks `r` (a thread's own record, not in a section) as reading from the current period;
/// returns current_period as read (observed_bit included).
inline std::uint64_t mark(Reader* r) noexcept {
    const std::uint64_t period = current_period.load(std::memory_order_acquire);
#if TOCSIN_RCU_FENCED_READS
    // No membarrier from the writer (and ThreadSanitizer models neither membarrier nor
    // fences): a seq_cst exchange (a full barrier on the hardware) orders this side instead.
    r->period.exchange(period, std::memory_order_seq_cst);
#else
    // Compiler barrier only: the writer's membarrier orders this store against its scan.
    r->period.store(period, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
    return period;
}

/// The fast entry of a send, with `r = this_thread.fast`: true when the send must take the
/// general path (ReadGuard) instead — the thread's first send, a send nested in another, or a
/// ScopedMute alive on this thread. Otherwise mark(r) enters the section, and a FastSection
/// leaves it.
[[nodiscard]] inline bool busy(const Reader* r) noexcept {
    return r->period.load(std::memory_order_relaxed) != 0;
}

/// Leaves the read-side section mark(r) entered.
inline void leave(Reader* r) noexcept {
    r->period.store(0, std::memory_order_release);
}

/// Leaves the read-side section mark(r) entered, when it goes out of scope.
class FastSection {
  public:
    explicit FastSection(Reader* r) noexcept : r_(r) {}
    ~FastSection() { leave(r_); }
    FastSection(const FastSection&) = delete;
    FastSection& operator=(const FastSection&) = delete;

  private:
    Reader* r_;
};

/// Leaves the read-side section that mark(this_thread.fast) entered when it goes out of scope,
/// finding the record again in this_thread.reader (the same one: `fast` is not `detour` when a
/// section is marked through it), so that nothing is kept across the section.
class ThreadSection {
  public:
    ThreadSection() noexcept = default;
    ~ThreadSection() { leave(this_thread.reader); }
    ThreadSection(const ThreadSection&) = delete;
    ThreadSection& operator=(const ThreadSection&) = delete;
};

/// A read-side section, for as long as it lives. Nested sections cost a load and a branch: only
/// the outermost one marks the thread's record.
class ReadGuard {
  public:
    ReadGuard() noexcept {
        Reader* r = this_thread.reader;
        if (r == nullptr) [[unlikely]] {
            r = register_thread();
        }
        if (r->period.load(std::memory_order_relaxed) != 0) {
            return;  // nested: the outer section protects us
        }
        outer_ = r;
        mark(r);
    }
    ~ReadGuard() {
        if (outer_ != nullptr) {
            outer_->period.store(0, std::memory_order_release);
        }
    }
    ReadGuard(const ReadGuard&) = delete;
    ReadGuard& operator=(const ReadGuard&) = delete;

  private:
    Reader* outer_ = nullptr;
};

}  // namespace tocsin::detail::rcu
