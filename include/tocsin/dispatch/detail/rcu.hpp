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

/// Per-thread state read on every send. Constant-initialised, so access needs no guard.
struct ThreadState {
    Reader* reader = nullptr;
    std::uint32_t mutes = 0;  ///< count of live ScopedMute objects on this thread
};

inline constinit thread_local ThreadState this_thread{};

/// The grace-period counter; starts at 1 so that 0 can mean "not reading".
extern std::atomic<std::uint64_t> current_period;

/// Registers the calling thread as a reader (first send on a thread).
Reader* register_thread() noexcept;

/// Defers `deleter(object)` until no reader can still see `object`. Never blocks on readers,
/// so it may be called from inside a read-side section (a receiver that disconnects).
void retire(void* object, void (*deleter)(void*));

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
#if TOCSIN_RCU_FENCED_READS
        // No membarrier from the writer (and ThreadSanitizer models neither membarrier nor
        // fences): a seq_cst exchange (a full barrier on the hardware) orders this side instead.
        r->period.exchange(current_period.load(std::memory_order_acquire),
                           std::memory_order_seq_cst);
#else
        // Compiler barrier only: the writer's membarrier orders this store against its scan.
        r->period.store(current_period.load(std::memory_order_acquire), std::memory_order_relaxed);
        std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
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
