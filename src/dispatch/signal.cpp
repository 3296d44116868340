// What every Signal<…>::connect does after making its slot, compiled once here instead of in
// every file that connects a receiver: filling the slot from the Connect options, making a
// commit-time receiver's target, naming a commit-time receiver that failed.
#include "tocsin/dispatch/signal.hpp"

#include <cstddef>
#include <exception>
#include <latch>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

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
        ::operator delete(storage);
    }
    template <class U>
    friend bool operator==(const TailAllocator& a, const TailAllocator<U>& b) noexcept {
        return a.storage == b.storage;
    }
};

}  // namespace

void* allocate_slot(std::size_t size) {
    return ::operator new(rounded(size) + control_room);
}

void free_slot(void* storage) noexcept {
    ::operator delete(storage);
}

std::shared_ptr<SlotBase> adopt_slot(SlotBase* slot, void* storage, std::size_t size) {
    try {
        return std::shared_ptr<SlotBase>(
            slot, DestroySlot{},
            TailAllocator<SlotBase>(static_cast<unsigned char*>(storage), rounded(size)));
    } catch (...) {  // the control block could not be allocated: the slot is destroyed already
        ::operator delete(storage);
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

void CommitReceiverName::report(const void* code, std::string_view type) const noexcept {
    try {
        report_commit_failure(owner, signal, receiver_name(name, dispatch_uid, code, type),
                              std::current_exception());
    } catch (...) {  // NOLINT(bugprone-empty-catch): naming it failed (out of memory)
    }
}

}  // namespace tocsin::detail
