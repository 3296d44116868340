// tocsin::detail — the receiver registry behind every Signal (the non-template half).
//
// Writers (connect, disconnect) take the registry's mutex and publish, for the sender they change,
// a new immutable List of its receivers, which senders read without locks (see rcu.hpp): a
// connect or disconnect costs in proportion to the receivers of that one sender. A Snapshot holds
// the sender-less receivers and the per-sender index, so a send costs in proportion to the
// receivers that hear it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <tocsin/source_location.hpp>
#include <utility>
#include <vector>

#include "tocsin/dispatch/connect.hpp"
#include "tocsin/dispatch/outcome.hpp"
#include "tocsin/dispatch/receiver_info.hpp"
#include "tocsin/dispatch/sender.hpp"

namespace tocsin::detail {

class Registry;

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

/// One connected receiver. Signal<…> derives a Slot holding the callable.
struct SlotBase : std::enable_shared_from_this<SlotBase> {
    SlotBase() = default;
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

    /// Marks it disconnected: no send calls it from now on. Only its registry calls it, under its
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
    std::string dispatch_uid;
    int priority = 0;
    std::uint64_t order = 0;
    std::shared_ptr<Executor> executor;
    std::string custom_name;      ///< Connect::name, if given
    std::string_view type_label;  ///< the callable's (or the member's class's) type name
    const void* code = nullptr;   ///< function address, to name it by its symbol
    bool is_method = false;
    bool on_commit = false;  ///< a commit-time receiver (Connect::on_commit)
    tocsin::source_location where;
    std::weak_ptr<Registry> registry;
    std::shared_ptr<SlotBase> retired_self;  ///< the registry's reference while retired
    /// Senders it hears besides `sender` (Registry::add_sender; the model layer's receivers
    /// connected for a model and its subclasses). Read and written under the registry's lock.
    std::vector<Sender> extra_senders;
    std::size_t tracked_index = 0;  ///< its place in the registry's list of tracked receivers
    mutable std::atomic<const std::string*> listed_name_{nullptr};  ///< listed_name(), once made

    /// The readable name (see receiver_name): Connect::name, else the function's symbol, else
    /// the dispatch_uid, else the callable's type (listings, which show the uid apart); with
    /// `uid_before_symbol` (error messages) the uid comes before the symbol. Computed when
    /// asked: connect stays cheap.
    [[nodiscard]] std::string name(bool uid_before_symbol = false) const;
    /// name() as listings show it, computed once (the send observer names receivers with it).
    [[nodiscard]] const std::string& listed_name() const;

    /// Destroys the callable (and what it captured); called once no send can be running it.
    virtual void drop_callable() noexcept {}

    /// True while it may be called: connected and, if tracked, its object alive.
    [[nodiscard]] bool alive() const noexcept { return is_live() && !(tracked && track.expired()); }
};

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

/// An immutable list of receivers in call order: those connected for one sender (and those
/// that hear it through add_sender), or those connected without sender. Replaced, never edited;
/// one allocation holds it and its arrays.
struct List {
    Sender sender;  ///< whose receivers these are (none: the sender-less ones)
    bool has_async = false;
    std::size_t count = 0;
    const Entry* entries = nullptr;
    const Rank* ranks = nullptr;  ///< parallel to entries, to merge two lists in call order

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
/// registry edits a bucket in place (a send sees the old list or the new one, both whole) and
/// replaces the table only to grow it, so that a connect for one sender copies that sender's
/// list only.
class Table {
  public:
    /// An empty table of `capacity` buckets (a power of two).
    explicit Table(std::size_t capacity) : mask_(capacity - 1), buckets_(capacity) {}

    /// The list of `sender` (not none), or null.
    [[nodiscard]] const List* find(const Sender& sender) const noexcept {
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
    friend class Registry;
    std::size_t mask_;
    std::vector<std::atomic<const List*>> buckets_;
    // The writer's counts (under the registry's lock).
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
                v.own = {own->entries, own->count};
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
    /// plain_for() of a sender whose plain_mask() is `mask`.
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
          any_end_(any->entries + any->count),
          any_count_(any->count),
          table_(table),
          any_ranks_(any->ranks),
          any_async_(any->has_async),
          flags_(static_cast<std::uint8_t>((any->has_async ? any_async_flag : 0) |
                                           (table != nullptr ? table_flag : 0) |
                                           (any->count == 0 ? any_empty_flag : 0))),
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
    std::uint8_t flags_ = 0;
    const List* any_;  ///< owned
};

/// The mutable side of one signal: its receivers, their keys, its name and error logger.
/// Shared with Connections, which may outlive the signal (it is then detached).
class Registry : public std::enable_shared_from_this<Registry> {
  public:
    Registry(std::atomic<const Snapshot*>& head, std::string name);
    ~Registry();
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;

    /// Adds `slot` unless a receiver with the same key is there; returns the one that stays.
    std::shared_ptr<SlotBase> connect(std::shared_ptr<SlotBase> slot);
    /// Makes the connected `slot` hear `sender` as well (it stays one receiver: one disconnect
    /// removes it from every sender). False when it is not connected here, hears every sender,
    /// or hears `sender` already.
    bool add_sender(const SlotBase* slot, const Sender& sender);
    /// Removes this very receiver; true if it was connected.
    bool disconnect(const SlotBase* slot);
    /// Removes the receiver keyed by (`uid`, `sender`); true if there was one.
    bool disconnect_uid(std::string_view uid, const Sender& sender);
    /// Removes the receiver keyed by (`identity`, `sender`) without uid; true if there was one.
    bool disconnect_identity(const Identity& identity, const Sender& sender);
    /// Removes every receiver; returns how many.
    std::size_t disconnect_all();
    /// The signal is being destroyed: unpublish and disconnect everything.
    void detach();

    /// Live receivers (tracked ones whose object died excluded).
    [[nodiscard]] std::size_t receiver_count() const;
    /// Every live receiver, in call order.
    [[nodiscard]] std::vector<ReceiverInfo> receivers() const;

    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    void set_error_logger(ErrorLogger logger);
    /// Tells this signal's (or the process-wide) logger that `slot` failed with `error`.
    void report(const SlotBase& slot, const std::exception_ptr& error) const;
    /// Tells this signal's error logger (else the process-wide one, else the default) that
    /// `receiver` failed with `error` in `context` ("on_commit()").
    void report(std::string_view receiver, const std::exception_ptr& error,
                std::string_view context) const;
    /// A send met a receiver whose tracked object died: purge it at the next change.
    void note_expired() noexcept { expired_.store(true, std::memory_order_relaxed); }

  private:
    struct Garbage;  ///< what a change leaves behind, retired after the lock is released
    struct Group;    ///< the receivers of one sender (or of none), in call order
    struct Index;    ///< its lock, every group, the published table, the tracked receivers
    Group* find_group(const Sender& sender);
    template <class Match>
    bool remove_first(const Sender& sender, Match match);
    std::size_t remove_all(bool detach);
    void remove_slot(SlotBase* slot, Garbage& garbage, Group* group = nullptr);
    void purge_expired(Garbage& garbage);
    void untrack(SlotBase* slot);
    void republish(const Sender& sender, Garbage& garbage, Group* group = nullptr);
    void table_insert(const List* list, Garbage& garbage);
    void table_replace(const List* old, const List* next);
    void publish_snapshot(Garbage& garbage);
    static void dispose(Garbage& garbage);

    std::atomic<const Snapshot*>* head_;  ///< null once detached
    std::string name_;
    std::unique_ptr<Index> index_;
    std::uint64_t next_order_ = 0;
    std::atomic<bool> expired_{false};
    std::shared_ptr<const ErrorLogger> logger_;
};

/// True when `slot` may be called now: connected and, if tracked, its object alive, then held
/// in `keep` for the call. A tracked object found dead is noted for `registry` to purge. Every
/// send (sync, async, asend) asks this before calling a receiver that is not plain.
inline bool pin(const SlotBase& slot, std::shared_ptr<const void>& keep, Registry& registry) {
    const std::uint8_t state = slot.state.load(std::memory_order_acquire);
    if ((state & SlotBase::dead_bit) != 0) {
        return false;
    }
    if ((state & SlotBase::tracked_bit) == 0) {
        return true;
    }
    keep = slot.track.lock();
    if (!keep) {
        registry.note_expired();
        return false;
    }
    return true;
}

/// Tells `failure` to `own` (a signal's logger) if set, else to the process-wide logger, else
/// writes "tocsin.dispatch ERROR: <message>" to std::cerr. Never throws.
void report_receiver_error(const std::shared_ptr<const ErrorLogger>& own,
                           const ReceiverError& failure) noexcept;

/// Reports that the commit-time receiver `receiver` of the signal whose registry is `registry`
/// (named `signal_name`) failed after the commit: to that signal's logger while it lives.
void report_commit_failure(const std::weak_ptr<const Registry>& registry,
                           std::string_view signal_name, std::string_view receiver,
                           const std::exception_ptr& error) noexcept;

/// The readable name of a function at `address` (its symbol, demangled), or "" if unknown.
[[nodiscard]] std::string symbol_name(const void* address);

/// How error messages name a receiver: its Connect::name, else its dispatch_uid, else the
/// symbol of its function at `code` (none for a lambda, nor for a function with internal
/// linkage), else `fallback` (its type). Without `uid_before_symbol` (listings), the symbol
/// comes before the dispatch_uid.
[[nodiscard]] std::string receiver_name(std::string_view custom_name, std::string_view dispatch_uid,
                                        const void* code, std::string_view fallback,
                                        bool uid_before_symbol = true);

}  // namespace tocsin::detail
