// What every Signal<…>::connect does after making its slot, compiled once here instead of in
// every file that connects a receiver: filling the slot from the Connect options, making a
// commit-time receiver's target, naming a commit-time receiver that failed.
#include "tocsin/dispatch/signal.hpp"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <latch>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define TOCSIN_SLAB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TOCSIN_SLAB_ASAN 1
#endif
#endif
#ifdef TOCSIN_SLAB_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace tocsin::detail {

std::vector<std::exception_ptr> run_async(Receivers& receivers,
                                          const std::vector<SlotBase*>& targets,
                                          void (*call)(void* ctx, SlotBase* slot, std::size_t i),
                                          void* ctx) {
    std::vector<std::exception_ptr> errors(targets.size());
    std::latch done(static_cast<std::ptrdiff_t>(targets.size()));
    for (std::size_t i = 0; i < targets.size(); ++i) {
        SlotBase* s = targets[i];
        auto task = [&, s, i] {
            // On the executor's thread, inside a read-side section of its own (the sending
            // thread's covers the wait, not this thread): a receiver here is inside a send, so
            // Connection::disconnect_and_wait() refuses instead of waiting for the send that
            // waits for this receiver.
            const rcu::ReadGuard guard;
            try {
                std::shared_ptr<const void> keep;
                if (pin(*s, keep, receivers)) {
                    call(ctx, s, i);
                }
            } catch (...) {
                errors[i] = std::current_exception();
            }
            done.count_down();
        };
        if (s->extras->executor->runs_on_current_thread()) {
            task();
            continue;
        }
        try {
            s->extras->executor->execute(task);
        } catch (...) {
            errors[i] = std::current_exception();
            done.count_down();
        }
    }
    done.wait();
    return errors;
}

SlotBase::SlotBase() = default;

namespace {

/// Room behind a slot for its control block (a std::shared_ptr with a deleter and an allocator:
/// a vtable, two counts, the pointer, the allocator's two words). A larger one (another
/// standard library) is allocated apart.
constexpr std::size_t control_room = 64;
constexpr std::size_t slot_align = alignof(std::max_align_t);

constexpr std::size_t rounded(std::size_t size) noexcept {
    return (size + slot_align - 1) / slot_align * slot_align;
}

// ----------------------------------------------------------------------------------- the slab
// Slots live in cells of whole cache lines, each starting a line, carved one after the other
// from 16 KiB chunks aligned to their size (one aligned allocation per chunk, none per slot): a
// signal's receivers connected in a row lie side by side, and a send reads each one's hot
// fields and callable on lines no other object shares. A freed cell goes to a per-thread cache
// of its size class (the thread that frees it: a slot's last reference may go on any thread,
// after its signal is gone) and is taken by the next slot of that class. A cell is freed only
// when its slot's last reference goes, and the signal's own reference (SlotBase::self) goes
// only after the slot's RCU grace period: a reused cell is never one a send still reads.
// A chunk counts the cells not given back to it; the last one given back frees it.

constexpr std::size_t line = 64;
constexpr std::size_t chunk_size = std::size_t{16} << 10;
constexpr std::size_t cells_per_chunk = chunk_size / line;
constexpr std::size_t classes = 16;  ///< cells of 1 to 16 lines; larger slots: aligned new
constexpr std::size_t depth = 32;    ///< cells kept per class and thread

/// The head of a chunk (its first line).
struct alignas(line) Chunk {
    /// Cells handed out and not given back, plus `cells_per_chunk + 1` while a thread carves it.
    std::atomic<std::size_t> users{cells_per_chunk + 1};
};

/// The line-rounded size of the cell of a slot of `size` bytes with its control block.
constexpr std::size_t cell_size(std::size_t size) noexcept {
    return (rounded(size) + control_room + line - 1) / line * line;
}

Chunk* chunk_of(void* cell) noexcept {
    return reinterpret_cast<Chunk*>(reinterpret_cast<std::uintptr_t>(cell) & ~(chunk_size - 1));
}

void free_chunk(Chunk* chunk) noexcept {
    chunk->~Chunk();
    ::operator delete (static_cast<void*>(chunk), std::align_val_t{chunk_size});
}

/// Gives `n` cells (or a carver's hold) back to `chunk`, freeing it with the last.
void give_back(Chunk* chunk, std::size_t n) noexcept {
    if (chunk->users.fetch_sub(n, std::memory_order_acq_rel) == n) {
        free_chunk(chunk);
    }
}

#ifdef TOCSIN_SLAB_ASAN
/// A cached cell is poisoned: a send reading a slot whose cell is cached (freed) is reported.
void poison(void* cell, std::size_t size) noexcept {
    ASAN_POISON_MEMORY_REGION(cell, size);
}
void unpoison(void* cell, std::size_t size) noexcept {
    ASAN_UNPOISON_MEMORY_REGION(cell, size);
}
#else
void poison(void* /*cell*/, std::size_t /*size*/) noexcept {}
void unpoison(void* /*cell*/, std::size_t /*size*/) noexcept {}
#endif

/// A cached cell: the next one of its class.
struct FreeCell {
    FreeCell* next;
};

/// A thread's cells: the cached ones by class, and the chunk it carves.
struct Slab {
    std::array<FreeCell*, classes> cached{};
    std::array<std::uint8_t, classes> counts{};
    Chunk* chunk = nullptr;         ///< carved by this thread (holds its extra users)
    std::size_t carved = 0;         ///< cells carved from `chunk`
    unsigned char* next = nullptr;  ///< where the next cell of `chunk` starts
    unsigned char* end = nullptr;   ///< the end of `chunk`
    bool armed = false;             ///< the cleanup at the thread's end is set up (SlabExit)
    bool closed = false;            ///< the thread is ending: cells go back to their chunks

    /// Drops the hold on the chunk being carved (what was not carved is never handed out).
    void release_chunk() noexcept {
        if (chunk != nullptr) {
            give_back(chunk, cells_per_chunk - carved + 1);
            chunk = nullptr;
            next = end = nullptr;
            carved = 0;
        }
    }
};

constinit thread_local Slab slab{};

/// Gives the thread's cached cells back to their chunks at the thread's end, and closes the slab.
struct SlabExit {
    SlabExit() = default;
    SlabExit(const SlabExit&) = delete;
    SlabExit& operator=(const SlabExit&) = delete;
    ~SlabExit() {
        Slab& s = slab;
        s.closed = true;
        for (std::size_t k = 0; k < classes; ++k) {
            while (FreeCell* cell = s.cached[k]) {
                unpoison(cell, (k + 1) * line);
                s.cached[k] = cell->next;
                give_back(chunk_of(cell), 1);
            }
            s.counts[k] = 0;
        }
        s.release_chunk();
    }
};

[[gnu::noinline]] void arm_slab() noexcept {
    static thread_local SlabExit on_exit;
    static_cast<void>(on_exit);
    slab.armed = true;
}

/// allocate_slot() when the thread's cache has no cell of the class: a new one carved.
[[gnu::noinline]] void* carve(std::size_t bytes) {
    if (bytes > classes * line) {
        return ::operator new (bytes, std::align_val_t{line});
    }
    Slab& s = slab;
    if (s.closed) [[unlikely]] {  // a slot made while the thread ends: a chunk of its own
        void* raw = ::operator new (chunk_size, std::align_val_t{chunk_size});
        ::new (raw) Chunk;
        static_cast<Chunk*>(raw)->users.store(1, std::memory_order_relaxed);
        return static_cast<unsigned char*>(raw) + line;
    }
    if (s.chunk == nullptr || static_cast<std::size_t>(s.end - s.next) < bytes) {
        void* raw = ::operator new (chunk_size, std::align_val_t{chunk_size});
        s.release_chunk();
        if (!s.armed) {
            arm_slab();
        }
        s.chunk = ::new (raw) Chunk;
        s.next = static_cast<unsigned char*>(raw) + line;
        s.end = static_cast<unsigned char*>(raw) + chunk_size;
    }
    void* cell = s.next;
    s.next += bytes;
    ++s.carved;
    return cell;
}

/// Frees a cell of allocate_slot(size) whose slot is gone (and no send can read it).
void free_cell(void* cell, std::size_t size) noexcept {
    const std::size_t bytes = cell_size(size);
    const std::size_t k = bytes / line - 1;
    if (k >= classes) {
        ::operator delete (cell, std::align_val_t{line});
        return;
    }
    Slab& s = slab;
    if (s.counts[k] < depth && !s.closed) {
        if (!s.armed) [[unlikely]] {
            arm_slab();
        }
        auto* f = static_cast<FreeCell*>(cell);
        f->next = s.cached[k];
        s.cached[k] = f;
        ++s.counts[k];
        poison(cell, bytes);
        return;
    }
    give_back(chunk_of(cell), 1);
}

/// Destroys a slot made by make_slot; its storage is freed with the control block.
struct DestroySlot {
    void operator()(SlotBase* slot) const noexcept { slot->~SlotBase(); }
};

/// Gives the control block the room behind the slot, and frees the whole storage with it.
template <class T>
struct TailAllocator {
    using value_type = T;
    unsigned char* storage;
    std::size_t offset;

    TailAllocator(unsigned char* s, std::size_t o) noexcept : storage(s), offset(o) {}
    template <class U>
    TailAllocator(const TailAllocator<U>& other) noexcept  // NOLINT: rebinding is implicit
        : storage(other.storage), offset(other.offset) {}

    T* allocate(std::size_t n) {
        if (n * sizeof(T) <= control_room && alignof(T) <= slot_align) {
            return reinterpret_cast<T*>(storage + offset);
        }
        return static_cast<T*>(::operator new(n * sizeof(T)));
    }
    void deallocate(T* p, std::size_t /*n*/) noexcept {
        if (reinterpret_cast<unsigned char*>(p) != storage + offset) {
            ::operator delete(p);
        }
        free_cell(storage, offset);
    }
    template <class U>
    friend bool operator==(const TailAllocator& a, const TailAllocator<U>& b) noexcept {
        return a.storage == b.storage;
    }
};

}  // namespace

void* allocate_slot(std::size_t size) {
    const std::size_t bytes = cell_size(size);
    const std::size_t k = bytes / line - 1;
    Slab& s = slab;
    if (k < classes && s.counts[k] != 0) [[likely]] {
        FreeCell* cell = s.cached[k];
        unpoison(cell, bytes);
        s.cached[k] = cell->next;
        --s.counts[k];
        return cell;
    }
    return carve(bytes);
}

void free_slot(void* storage, std::size_t size) noexcept {
    free_cell(storage, rounded(size));
}

std::shared_ptr<SlotBase> adopt_slot(SlotBase* slot, void* storage, std::size_t size) {
    try {
        return std::shared_ptr<SlotBase>(
            slot, DestroySlot{},
            TailAllocator<SlotBase>(static_cast<unsigned char*>(storage), rounded(size)));
    } catch (...) {  // the control block could not be allocated: the slot is destroyed already
        free_cell(storage, rounded(size));
        throw;
    }
}

void throw_invalid_connect(std::string_view signal, std::string_view what) {
    throw std::invalid_argument("Signal '" + std::string(signal) + "': " + std::string(what));
}

std::shared_ptr<SlotBase> connect_slot(Receivers& receivers, std::shared_ptr<SlotBase> slot,
                                       Connect& options, tocsin::source_location where) {
    if (options.on_commit && options.executor) {
        throw_invalid_connect(receivers.name(),
                              "a receiver cannot be both on_commit and async (an executor)");
    }
    slot->sender = options.sender;
    slot->tracked = was_given(options.track);
    slot->track = std::move(options.track);
    slot->priority = options.priority;
    slot->async = options.executor != nullptr;
    slot->on_commit = options.on_commit;
    if (!options.name.empty() || !options.dispatch_uid.empty() || slot->async) {
        SlotExtras& extras = slot->make_extras();
        extras.custom_name = std::move(options.name);
        extras.dispatch_uid = std::move(options.dispatch_uid);
        extras.executor = std::move(options.executor);
    }
    slot->state.store(static_cast<std::uint8_t>((slot->tracked ? SlotBase::tracked_bit : 0) |
                                                (slot->async ? SlotBase::async_bit : 0)),
                      std::memory_order_relaxed);
    slot->where = where;
    return receivers.connect(std::move(slot));
}

std::shared_ptr<const CommitTimeTarget> make_commit_target(
    const std::shared_ptr<Receivers>& receivers, std::shared_ptr<void> fn, const void* code,
    std::string_view type, const Connect& options) {
    auto target = std::make_shared<CommitTimeTarget>();
    target->fn = std::move(fn);
    target->track = options.track;
    target->tracked = was_given(options.track);
    target->who = CommitReceiverName{receivers, std::string(receivers->name()), options.name,
                                     options.dispatch_uid};
    target->code = code;
    target->type = type;
    return target;
}

std::shared_ptr<const CommitTimeTarget> make_commit_target(
    const std::shared_ptr<Receivers>& receivers, void* fn, void (*destroy)(void*), const void* code,
    std::string_view type, const Connect& options) {
    std::shared_ptr<void> owned(fn, destroy);  // destroys `fn` if it throws
    return make_commit_target(receivers, std::move(owned), code, type, options);
}

void defer_commit_call(const std::shared_ptr<const CommitTimeTarget>& target, const Sender& sender,
                       void* kept, void (*destroy)(void*),
                       void (*call)(const CommitTimeTarget& target, const Sender& sender,
                                    void* kept, void (*invoke)()),
                       void (*invoke)(), std::string_view alias) {
    std::shared_ptr<void> copies(kept, destroy);  // destroys `kept` if it throws
    defer_to_commit(
        [target, call, invoke, sender, run = DeferredRun::capture(),
         copies = std::move(copies)]() mutable {
            std::shared_ptr<const void> keep;
            if (target->tracked && !(keep = target->track.lock())) {
                return;  // its object died before the commit
            }
            try {
                run.run([&] { call(*target, sender, copies.get(), invoke); });
            } catch (...) {
                target->who.report(target->code, target->type);
            }
        },
        alias);
}

void CommitReceiverName::report(const void* code, std::string_view type) const noexcept {
    try {
        report_commit_failure(owner, signal, receiver_name(name, dispatch_uid, code, type),
                              std::current_exception());
    } catch (...) {  // NOLINT(bugprone-empty-catch): naming it failed (out of memory)
    }
}

}  // namespace tocsin::detail
