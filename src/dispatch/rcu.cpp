// The writer side of tocsin's RCU domain: reader registry, retirement, grace periods.
#include "rcu.hpp"

#if !TOCSIN_RCU_FENCED_READS
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <cerrno>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace tocsin::detail::rcu {

std::atomic<std::uint64_t> current_period{period_step};
std::atomic<std::uint64_t> passed_period{0};

namespace {
/// A full fence. ThreadSanitizer does not support standalone fences: there a seq_cst
/// read-modify-write on a private atomic stands in for it.
void full_fence() noexcept {
#if defined(TOCSIN_TSAN) || defined(__SANITIZE_THREAD__)
    static std::atomic<int> fence_word{0};
    fence_word.fetch_add(0, std::memory_order_seq_cst);
#else
    std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}
}  // namespace

namespace {

struct Retired {
    void* object;
    void (*deleter)(void*);
    std::uint64_t stamp;
};

/// Process-wide writer state. Leaked on purpose: signals destroyed during static destruction
/// still retire into it.
struct Domain {
    std::atomic<Reader*> readers{nullptr};
    std::mutex mutex;
    std::vector<Retired> retired;
    /// retired.size() as last written under the lock: read without it, a hint that nothing
    /// older waits (retire's direct path).
    std::atomic<std::size_t> waiting{0};
    std::vector<Retired> spare;  ///< an empty vector with capacity, so that batches reuse it
    std::size_t reclaim_at = 64;
    std::once_flag barrier_setup;
    int barrier_kind = 0;  // 0 private expedited, 1 global membarrier, 2 mprotect
};

Domain& domain() {
    static Domain* d = new Domain;
    return *d;
}

#if !TOCSIN_RCU_FENCED_READS
long membarrier(int cmd) {
    return syscall(__NR_membarrier, cmd, 0, 0);
}
#endif

/// Forces every running thread of the process through a full memory barrier, so that the
/// compiler-only fences of readers order their accesses against this thread's. With fenced
/// reads (rcu.hpp) the readers' own barrier pairs with a fence here instead.
void heavy_barrier() {
#if TOCSIN_RCU_FENCED_READS
    full_fence();
#else
    Domain& d = domain();
    std::call_once(d.barrier_setup, [&d] {
        const long supported = membarrier(MEMBARRIER_CMD_QUERY);
        if (supported > 0 && (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0 &&
            membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0) {
            d.barrier_kind = 0;
        } else if (supported > 0 && (supported & MEMBARRIER_CMD_GLOBAL) != 0) {
            d.barrier_kind = 1;
        } else {
            d.barrier_kind = 2;
        }
    });
    full_fence();
    if (d.barrier_kind == 0 && membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) {
        return;
    }
    if (d.barrier_kind <= 1 && membarrier(MEMBARRIER_CMD_GLOBAL) == 0) {
        return;
    }
    // Without membarrier: changing a page's protection makes the kernel interrupt every CPU that
    // runs one of our threads (TLB shootdown), which serialises them like a barrier.
    static std::mutex page_mutex;
    static void* page =
        mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    std::lock_guard lock(page_mutex);
    mprotect(page, 4096, PROT_READ | PROT_WRITE);
    *static_cast<volatile char*>(page) = 1;
    mprotect(page, 4096, PROT_NONE);
    full_fence();
#endif
}

/// True when a thread other than this one holds a reader record.
bool other_readers() {
    const Reader* mine = this_thread.reader;
    for (Reader* r = domain().readers.load(std::memory_order_seq_cst); r != nullptr; r = r->next) {
        if (r != mine && r->in_use.load(std::memory_order_seq_cst)) {
            return true;
        }
    }
    return false;
}

/// The smallest period any reader is in (max when no reader is reading).
std::uint64_t oldest_reader() {
    std::uint64_t oldest = std::numeric_limits<std::uint64_t>::max();
    for (Reader* r = domain().readers.load(std::memory_order_acquire); r != nullptr; r = r->next) {
        const std::uint64_t p = r->period.load(std::memory_order_seq_cst);
        if (p != 0 && p < oldest) {
            oldest = p;
        }
    }
    return oldest;
}

/// Begins a new grace period and returns it (observed_bit clear: see current_period).
std::uint64_t next_period() noexcept {
    return (current_period.fetch_add(period_step, std::memory_order_seq_cst) + period_step) &
           ~observed_bit;
}

/// Records what a scan of the readers found (after a barrier): every stamp up to `bound` (a
/// period begun before the barrier) and up to `oldest` (the oldest reader's period) has passed.
/// The release pairs with passed()'s acquire: the scanned readers' sections (their release of
/// `period`, which the scan read) happen before what a writer does after passed() is true.
void note_passed(std::uint64_t bound, std::uint64_t oldest) noexcept {
    const std::uint64_t now = std::min(bound, oldest);
    std::uint64_t seen = passed_period.load(std::memory_order_relaxed);
    while (seen < now && !passed_period.compare_exchange_weak(seen, now, std::memory_order_release,
                                                              std::memory_order_relaxed)) {
    }
}

thread_local bool thread_exiting = false;

/// Releases the thread's reader record when the thread ends.
struct ThreadExit {
    ThreadExit() = default;
    ThreadExit(const ThreadExit&) = delete;
    ThreadExit& operator=(const ThreadExit&) = delete;
    ~ThreadExit() {
        thread_exiting = true;
        ThreadState& t = this_thread;
        if (t.reader != nullptr) {
            t.reader->period.store(0, std::memory_order_release);
            t.reader->in_use.store(false, std::memory_order_release);
            t.reader = nullptr;
            t.refresh();
        }
    }
};

}  // namespace

Reader* register_thread() noexcept {
    Domain& d = domain();
    Reader* mine = nullptr;
    for (Reader* r = d.readers.load(std::memory_order_acquire); r != nullptr; r = r->next) {
        bool expected = false;
        if (!r->in_use.load(std::memory_order_relaxed) &&
            r->in_use.compare_exchange_strong(expected, true, std::memory_order_seq_cst)) {
            mine = r;
            break;
        }
    }
    if (mine == nullptr) {
        mine = new Reader;
        mine->in_use.store(true, std::memory_order_relaxed);
        Reader* head = d.readers.load(std::memory_order_relaxed);
        do {
            mine->next = head;
        } while (!d.readers.compare_exchange_weak(head, mine, std::memory_order_seq_cst,
                                                  std::memory_order_relaxed));
    }
    // Orders the registration before this thread's first look at a signal (see reclaim()).
    full_fence();
    this_thread.reader = mine;
    this_thread.refresh();
    if (!thread_exiting) {
        // Its construction arms the destructor that frees the record when the thread ends. A
        // send during thread exit (after it ran) keeps its record for good: rare and harmless.
        static thread_local ThreadExit on_exit;
        static_cast<void>(on_exit);
    }
    return mine;
}

void retire(void* object, void (*deleter)(void*)) {
    const Retiree one{object, deleter};
    retire(std::span<const Retiree>(&one, 1), false);
}

namespace {

/// Frees what no reader can see among `batch` (taken from the domain's list), puts the rest
/// back, and gives the domain the vector's capacity back.
void reclaim_batch(Domain& d, std::vector<Retired> batch) {
    const std::uint64_t bound = current_period.load(std::memory_order_seq_cst) & ~observed_bit;
    if (other_readers()) {
        heavy_barrier();
    } else {
        // No other thread has ever registered as a reader: none can be inside a send, and one
        // that registers from now on sees the current snapshots (register_thread's fence).
        full_fence();
    }
    const std::uint64_t oldest = oldest_reader();
    note_passed(bound, oldest);
    const auto still_visible = std::partition(
        batch.begin(), batch.end(), [oldest](const Retired& r) { return r.stamp <= oldest; });
    // A deleter may retire more, or reclaim itself (a receiver's callable that disconnects
    // another): this batch is local, and the domain's lock is not held.
    for (auto r = batch.begin(); r != still_visible; ++r) {
        r->deleter(r->object);
    }
    std::lock_guard lock(d.mutex);
    d.retired.insert(d.retired.end(), still_visible, batch.end());
    d.waiting.store(d.retired.size(), std::memory_order_relaxed);
    // A long read-side section keeps objects alive: back off so that writers do not pay for a
    // barrier on every retirement meanwhile.
    d.reclaim_at = std::max<std::size_t>(64, 2 * d.retired.size());
    batch.clear();
    if (d.spare.capacity() < batch.capacity()) {
        d.spare.swap(batch);
    }
}

/// Takes the domain's retired objects (the caller holds its lock), leaving it an empty list.
std::vector<Retired> take_retired(Domain& d) {
    std::vector<Retired> batch;
    batch.swap(d.retired);
    d.retired.swap(d.spare);  // empty; keeps the capacity of an earlier batch
    d.waiting.store(0, std::memory_order_relaxed);
    return batch;
}

}  // namespace

namespace {

/// The objects of one retirement that may be freed at once, when nothing older waits (the
/// common case of a disconnect outside a send): freed without putting them in the domain's list,
/// so the domain's lock is taken only for what a reader may still see.
constexpr std::size_t direct_limit = 8;

void retire_direct(Domain& d, std::span<const Retiree> objects, std::uint64_t given) {
    const std::uint64_t stamp = given != 0 ? given : next_period();
    if (other_readers()) {
        heavy_barrier();
    } else {
        full_fence();  // as in reclaim_batch
    }
    const std::uint64_t oldest = oldest_reader();
    note_passed(stamp, oldest);
    if (stamp <= oldest) {
        for (const Retiree& o : objects) {  // no lock held: a deleter may retire more
            o.deleter(o.object);
        }
        return;
    }
    std::lock_guard lock(d.mutex);
    for (const Retiree& o : objects) {
        d.retired.push_back({o.object, o.deleter, stamp});
    }
    d.waiting.store(d.retired.size(), std::memory_order_relaxed);
}

}  // namespace

std::uint64_t stamp() noexcept {
    return next_period();
}

void retire(std::span<const Retiree> objects, bool reclaim_now, std::uint64_t given) {
    Domain& d = domain();
    if (reclaim_now && !objects.empty() && objects.size() <= direct_limit &&
        d.waiting.load(std::memory_order_relaxed) == 0) {
        retire_direct(d, objects, given);
        return;
    }
    std::vector<Retired> batch;
    {
        // Readers that enter after this increment see the new snapshots; the stamp names the
        // first period in which the objects were already unreachable.
        const std::uint64_t stamp = objects.empty() ? 0 : given != 0 ? given : next_period();
        std::lock_guard lock(d.mutex);
        for (const Retiree& o : objects) {
            d.retired.push_back({o.object, o.deleter, stamp});
        }
        d.waiting.store(d.retired.size(), std::memory_order_relaxed);
        if ((!reclaim_now && d.retired.size() < d.reclaim_at) || d.retired.empty()) {
            return;
        }
        batch = take_retired(d);
    }
    reclaim_batch(d, std::move(batch));
}

void reclaim() {
    Domain& d = domain();
    std::vector<Retired> batch;
    {
        std::lock_guard lock(d.mutex);
        if (d.retired.empty()) {
            return;
        }
        batch = take_retired(d);
    }
    reclaim_batch(d, std::move(batch));
}

void synchronize() {
    if (in_read_section()) {
        throw std::logic_error(
            "tocsin: waiting for in-flight sends from inside a send (a receiver) would wait for "
            "itself; disconnect without waiting there");
    }
    const std::uint64_t target = next_period();
    heavy_barrier();
    for (Reader* r = domain().readers.load(std::memory_order_acquire); r != nullptr; r = r->next) {
        for (int spins = 0;; ++spins) {
            const std::uint64_t p = r->period.load(std::memory_order_seq_cst);
            if (p == 0 || p >= target) {
                break;
            }
            if (spins < 64) {
                std::this_thread::yield();
            } else {
                std::this_thread::sleep_for(std::chrono::microseconds(50));
            }
        }
    }
    note_passed(target, std::numeric_limits<std::uint64_t>::max());
    reclaim();
}

}  // namespace tocsin::detail::rcu
