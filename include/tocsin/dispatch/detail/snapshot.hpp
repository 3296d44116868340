// tocsin::detail::Snapshot — what a send reads: immutable lists of receivers in call order, the
// per-sender index, and the View of one send. Published by detail::Receivers (receivers.hpp).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "tocsin/dispatch/detail/slot.hpp"
#include "tocsin/dispatch/sender.hpp"

namespace tocsin::detail {

/// One receiver as a send sees it: the call thunk beside the slot, so that the call target is
/// read from contiguous memory.
struct Entry {
    ErasedCall call;
    SlotBase* slot;
};

/// Where a receiver stands in call order: higher priority first, then connection order.
struct Rank {
    int priority = 0;
    std::uint64_t order = 0;

    /// True when the receiver ranked `a` is called before the one ranked `b`.
    friend bool operator<(const Rank& a, const Rank& b) noexcept {
        return a.priority != b.priority ? a.priority > b.priority : a.order < b.order;
    }
};

/// A list of receivers in call order: those connected for one sender (and those that hear it
/// through add_sender), or those connected without sender. One allocation holds it and its
/// arrays, with room for `capacity` receivers. A send loads `count` once (acquire) and reads the
/// entries below it, which are never rewritten while a send may read them: a sender's list grows
/// in place (a receiver that goes last is written, then `count` raised with release ordering)
/// and shrinks in place by its last receiver (`count` lowered, the position rewritten only after
/// a grace period); any other change replaces the list (copy-on-write).
struct List {
    Sender sender;  ///< whose receivers these are (none: the sender-less ones)
    bool has_async = false;
    std::atomic<std::size_t> count{0};  ///< entries a send may read (sends: acquire)
    const Entry* entries = nullptr;
    const Rank* ranks = nullptr;  ///< parallel to entries, to merge two lists in call order
    // The writer's (under the Receivers' lock); no send reads them.
    std::size_t capacity = 0;  ///< room in entries and ranks
    std::size_t high = 0;      ///< positions below it were published; [count, high) may be read
    std::uint64_t dirty = 0;   ///< the grace period after which [count, high) may be rewritten

    /// A list of `sender` holding copies of `entries` and their `ranks`.
    static List* make(const Sender& sender, std::span<const Entry> entries,
                      std::span<const Rank> ranks, bool has_async);
    /// Frees a list made by make() (a deleter for rcu::retire).
    static void destroy(void* list) noexcept;
};

/// The receivers of one send: the sender's own list and the sender-less one, called merged in
/// call order.
struct View {
    std::span<const Entry> own;
    const Rank* own_ranks = nullptr;
    std::span<const Entry> any;
    const Rank* any_ranks = nullptr;
    bool has_async = false;

    /// True when no receiver hears the send.
    [[nodiscard]] bool empty() const noexcept { return own.empty() && any.empty(); }

    /// Calls `f(entry)` for every receiver, in call order.
    template <class F>
    void for_each(F&& f) const {
        if (own.empty()) {
            for (const Entry& e : any) {
                f(e);
            }
            return;
        }
        std::size_t a = 0;
        std::size_t b = 0;
        while (a < own.size() && b < any.size()) {
            if (own_ranks[a] < any_ranks[b]) {
                f(own[a++]);
            } else {
                f(any[b++]);
            }
        }
        for (; a < own.size(); ++a) {
            f(own[a]);
        }
        for (; b < any.size(); ++b) {
            f(any[b]);
        }
    }
};

/// The per-sender index: open addressing on the sender, one list pointer per bucket. The
/// receivers edits a bucket in place (a send sees the old list or the new one, both whole) and
/// replaces the table only to grow it, so that a connect for one sender copies that sender's
/// list only.
class Table {
  public:
    /// An empty table of `capacity` buckets (a power of two).
    explicit Table(std::size_t capacity) : mask_(capacity - 1), buckets_(capacity) {}

    /// The list of `sender` (not none), or null.
    [[nodiscard]] [[gnu::always_inline]] const List* find(const Sender& sender) const noexcept {
        std::size_t i = std::hash<Sender>{}(sender)&mask_;
        for (;;) {
            const List* l = buckets_[i].load(std::memory_order_acquire);
            if (l == nullptr || l->sender == sender) {
                return l;
            }
            i = (i + 1) & mask_;
        }
    }

  private:
    friend class Receivers;
    std::size_t mask_;
    std::vector<std::atomic<const List*>> buckets_;
    // The writer's counts (under the Receivers' lock).
    std::size_t live_ = 0;  ///< buckets holding a sender's list
    std::size_t used_ = 0;  ///< live ones and tombstones
};

/// What a send reads first: the sender-less receivers and the per-sender index. Immutable; a
/// change of the sender-less receivers, or a new table, publishes a new one.
class Snapshot {
  public:
    /// The receivers that a send from `sender` calls.
    [[nodiscard]] View view(const Sender& sender) const noexcept {
        View v{{}, nullptr, {any_begin_, any_count_}, any_ranks_, any_async_};
        if (table_ != nullptr && !sender.is_none()) {
            if (const List* own = table_->find(sender)) {
                v.own = {own->entries, own->count.load(std::memory_order_acquire)};
                v.own_ranks = own->ranks;
                v.has_async = v.has_async || own->has_async;
            }
        }
        return v;
    }

    /// True when a send from `sender` calls exactly the sender-less receivers, at least one and
    /// all synchronous: no per-sender list can apply (no sender, or no receiver connected for
    /// one), none async. Such a send walks any_begin()..any_end() without building a View.
    [[nodiscard]] bool plain_for(const Sender& sender) const noexcept {
        return plain_for(plain_mask(sender));
    }
    /// What plain_for(sender) tests, computed apart (before a read-side section's compiler
    /// barrier makes the sender be read again).
    [[nodiscard]] static std::uint8_t plain_mask(const Sender& sender) noexcept {
        // A snapshot without sender-less receivers has a table (else none is published).
        return sender.is_none() ? any_async_flag | any_empty_flag : any_async_flag | table_flag;
    }
    /// What a send tests, with plain_for(mask), to call a lone receiver without a loop: exactly
    /// one sender-less receiver, synchronous, and none connected for a sender (no table), so
    /// that it is what a send from any sender calls.
    [[nodiscard]] static constexpr std::uint8_t lone_mask() noexcept {
        return any_async_flag | table_flag | not_one_flag;
    }
    /// plain_for() of a sender whose plain_mask() is `mask` (or of lone_mask()).
    [[nodiscard]] bool plain_for(std::uint8_t mask) const noexcept { return (flags_ & mask) == 0; }
    /// True when a send from a sender (not none) calls that sender's own list only: no
    /// receiver is sender-less (then a table exists). Such a send walks own_list()'s entries in
    /// place.
    [[nodiscard]] bool senders_only() const noexcept { return (flags_ & any_empty_flag) != 0; }
    /// The receivers of `sender` (not none) connected for it or hearing it, or null; only when
    /// a table exists (senders_only(), or !plain_for(sender)).
    [[nodiscard]] const List* own_list(const Sender& sender) const noexcept {
        return table_->find(sender);
    }
    /// The sender-less receivers, in call order.
    [[nodiscard]] const Entry* any_begin() const noexcept { return any_begin_; }
    /// The end of any_begin()'s range.
    [[nodiscard]] const Entry* any_end() const noexcept { return any_end_; }

    /// Publishes `any` (the sender-less receivers; it takes ownership) with the index `table`
    /// (may be null).
    Snapshot(const List* any, const Table* table) noexcept
        : any_begin_(any->entries),
          any_end_(any->entries + any->count.load(std::memory_order_relaxed)),
          any_count_(any->count.load(std::memory_order_relaxed)),
          table_(table),
          any_ranks_(any->ranks),
          any_async_(any->has_async),
          flags_(static_cast<std::uint8_t>(
              (any->has_async ? any_async_flag : 0) | (table != nullptr ? table_flag : 0) |
              (any_count_ == 0 ? any_empty_flag : 0) | (any_count_ != 1 ? not_one_flag : 0))),
          any_(any) {}
    Snapshot(const Snapshot&) = delete;
    Snapshot& operator=(const Snapshot&) = delete;
    ~Snapshot() { List::destroy(const_cast<List*>(any_)); }

  private:
    // What a send reads first, on one cache line.
    const Entry* any_begin_ = nullptr;
    const Entry* any_end_ = nullptr;
    std::size_t any_count_ = 0;
    const Table* table_ = nullptr;
    const Rank* any_ranks_ = nullptr;
    bool any_async_ = false;
    static constexpr std::uint8_t any_async_flag = 1;  ///< a sender-less receiver is async
    static constexpr std::uint8_t table_flag = 2;      ///< some receiver is for a sender
    static constexpr std::uint8_t any_empty_flag = 4;  ///< no sender-less receiver
    static constexpr std::uint8_t not_one_flag = 8;    ///< not exactly one sender-less receiver
    std::uint8_t flags_ = 0;
    const List* any_;  ///< owned
};

}  // namespace tocsin::detail
