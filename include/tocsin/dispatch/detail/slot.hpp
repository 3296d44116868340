// tocsin::detail::SlotBase — one connected receiver as the dispatch layer keeps it (the
// non-template half; Signal derives the Slot holding the callable, see
// <tocsin/dispatch/receiver.hpp>).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <tocsin/source_location.hpp>
#include <utility>
#include <vector>

#include "tocsin/dispatch/connect.hpp"
#include "tocsin/dispatch/sender.hpp"

namespace tocsin::detail {

class Receivers;

/// What makes two connects "the same receiver" (besides sender and dispatch_uid).
struct Identity {
    enum class Kind : std::uint8_t { unique, function, method };
    Kind kind = Kind::unique;
    std::array<std::uintptr_t, 3> bits{};  ///< function address, or member-function bytes + object
    const void* type = nullptr;            ///< the callable's type tag (member functions)

    friend bool operator==(const Identity&, const Identity&) = default;
};

/// A type-erased pointer to a Slot's call thunk; Signal casts it back to its exact type.
using ErasedCall = void (*)();

/// What few receivers have: a dispatch_uid, a name, an executor, senders heard besides their
/// own. A SlotBase allocates it only when one of them is given.
struct SlotExtras {
    std::string dispatch_uid;
    std::string custom_name;             ///< Connect::name, if given
    std::shared_ptr<Executor> executor;  ///< an async receiver's
    /// Senders it hears besides `sender` (Receivers::add_sender; the model layer's receivers
    /// connected for a model and its subclasses). Read and written under the Receivers' lock.
    std::vector<Sender> extra_senders;
};

/// One connected receiver. Signal<…> derives a Slot holding the callable.
struct SlotBase {
    SlotBase();  // out of line: its members' initialisation is compiled once
    SlotBase(const SlotBase&) = delete;
    SlotBase& operator=(const SlotBase&) = delete;
    virtual ~SlotBase();

    // Read by every send: keep together.
    static constexpr std::uint8_t dead_bit = 1;     ///< disconnected, or its signal is gone
    static constexpr std::uint8_t tracked_bit = 2;  ///< has a tracked object
    static constexpr std::uint8_t async_bit = 4;    ///< runs on an executor
    /// 0 for a live plain receiver: a send tests this one byte before the call.
    std::atomic<std::uint8_t> state{0};
    bool tracked = false;
    bool async = false;
    ErasedCall call = nullptr;
    std::weak_ptr<const void> track;

    /// Marks it disconnected: no send calls it from now on. Only its Receivers calls it, under its
    /// lock (the one writer of `state` once published): a store, no read-modify-write.
    void kill() noexcept {
        state.store(state.load(std::memory_order_relaxed) | dead_bit, std::memory_order_release);
    }
    /// True until disconnected.
    [[nodiscard]] bool is_live() const noexcept {
        return (state.load(std::memory_order_acquire) & dead_bit) == 0;
    }

    // Cold.
    Sender sender;
    Identity identity;
    int priority = 0;
    bool is_method = false;
    bool on_commit = false;  ///< a commit-time receiver (Connect::on_commit)
    std::uint64_t order = 0;
    std::string_view type_label;  ///< the callable's (or the member's class's) type name
    const void* code = nullptr;   ///< function address, to name it by its symbol
    tocsin::source_location where;
    /// The Receivers' reference: set when it is connected, reset once it is retired and no send
    /// can see it (never changed in between, so a send may copy it: shared()).
    std::shared_ptr<SlotBase> self;
    /// Its signal's receivers, set once when it is connected (before it is published); valid
    /// while it is live, and inside a read-side section that saw it live (Receivers::make).
    const Receivers* home = nullptr;
    void* group = nullptr;  ///< its group in `home` while connected (written under home's lock)
    std::size_t tracked_index = 0;  ///< its place in the Receivers' list of tracked receivers
    mutable std::atomic<const std::string*> listed_name_{nullptr};  ///< listed_name(), once made
    /// What few receivers have, made only when one is given (make_extras()): connecting and
    /// destroying a receiver without them skips their strings, vector and reference count.
    std::unique_ptr<SlotExtras> extras;

    /// Its dispatch_uid ("" when none was given).
    [[nodiscard]] std::string_view dispatch_uid() const noexcept {
        return extras ? std::string_view(extras->dispatch_uid) : std::string_view();
    }
    /// Its Connect::name ("" when none was given).
    [[nodiscard]] std::string_view custom_name() const noexcept {
        return extras ? std::string_view(extras->custom_name) : std::string_view();
    }
    /// The executor an async receiver runs on (null for a synchronous one; reset once it is
    /// retired and no send can see it).
    [[nodiscard]] Executor* executor() const noexcept {
        return extras ? extras->executor.get() : nullptr;
    }
    /// extras, made empty if there were none.
    SlotExtras& make_extras() {
        if (!extras) {
            extras = std::make_unique<SlotExtras>();
        }
        return *extras;
    }

    /// The readable name (see receiver_name): Connect::name, else the function's symbol, else
    /// the dispatch_uid, else the callable's type (listings, which show the uid apart); with
    /// `uid_before_symbol` (error messages) the uid comes before the symbol. Computed when
    /// asked: connect stays cheap.
    [[nodiscard]] std::string name(bool uid_before_symbol = false) const;
    /// name() as listings show it, computed once (the send observer names receivers with it).
    [[nodiscard]] const std::string& listed_name() const;

    /// A shared reference to this receiver, for a Connection; only while it is connected, or
    /// seen by a send (inside its read-side section).
    [[nodiscard]] std::shared_ptr<SlotBase> shared() const noexcept { return self; }

    /// Destroys the callable (and what it captured); called once no send can be running it.
    virtual void drop_callable() noexcept {}

    /// True while it may be called: connected and, if tracked, its object alive.
    [[nodiscard]] bool alive() const noexcept { return is_live() && !(tracked && track.expired()); }
};

/// Storage for a slot of `size` bytes and, behind it, its shared_ptr's control block: one
/// allocation, as std::make_shared makes, with the control block's type compiled once in the
/// library instead of once per receiver type in the connecting file. It starts a cache line,
/// and comes from the library's slab of slots (reused only once no send can read it).
[[nodiscard]] void* allocate_slot(std::size_t size);
/// Frees storage of allocate_slot(size) whose slot was never constructed (its constructor threw).
void free_slot(void* storage, std::size_t size) noexcept;
/// The shared_ptr owning `slot`, constructed in `storage` (allocate_slot(size)): the last
/// reference destroys it (its virtual destructor) and frees the storage.
[[nodiscard]] std::shared_ptr<SlotBase> adopt_slot(SlotBase* slot, void* storage, std::size_t size);

/// A new `SlotT` made from `args`, owned by the shared_ptr returned; `out` points to it.
template <class SlotT, class... A>
std::shared_ptr<SlotBase> make_slot(SlotT*& out, A&&... args) {
    if constexpr (alignof(SlotT) > alignof(std::max_align_t)) {
        auto slot = std::make_shared<SlotT>(std::forward<A>(args)...);
        out = slot.get();
        return slot;
    } else {
        void* storage = allocate_slot(sizeof(SlotT));
        try {
            out = ::new (storage) SlotT(std::forward<A>(args)...);
        } catch (...) {
            free_slot(storage, sizeof(SlotT));
            throw;
        }
        return adopt_slot(out, storage, sizeof(SlotT));
    }
}

/// How error messages name a receiver: its Connect::name, else its dispatch_uid, else the
/// symbol of its function at `code` (none for a lambda, nor for a function with internal
/// linkage), else `fallback` (its type). Without `uid_before_symbol` (listings), the symbol
/// comes before the dispatch_uid.
[[nodiscard]] std::string receiver_name(std::string_view custom_name, std::string_view dispatch_uid,
                                        const void* code, std::string_view fallback,
                                        bool uid_before_symbol = true);

}  // namespace tocsin::detail
