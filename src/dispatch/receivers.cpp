#include "tocsin/dispatch/detail/receivers.hpp"

#include <iostream>
#include <utility>

#include <cxxabi.h>
#include <dlfcn.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

#include "rcu.hpp"

namespace tocsin::detail {

namespace {

/// The readable name of a function at `address` (its symbol, demangled), or "" if unknown.
std::string symbol_name(const void* address);

/// Tells `failure` to `own` (a signal's logger) if set, else to the process-wide logger, else
/// writes "tocsin.dispatch ERROR: <message>" to std::cerr. Never throws.
void report_receiver_error(const std::shared_ptr<const ErrorLogger>& own,
                           const ReceiverError& failure) noexcept;

}  // namespace

SlotBase::~SlotBase() {
    delete listed_name_.load(std::memory_order_acquire);
}

const std::string& SlotBase::listed_name() const {
    if (const std::string* known = listed_name_.load(std::memory_order_acquire)) {
        return *known;
    }
    auto made = std::make_unique<std::string>(name());
    const std::string* expected = nullptr;
    if (listed_name_.compare_exchange_strong(expected, made.get(), std::memory_order_acq_rel,
                                             std::memory_order_acquire)) {
        return *made.release();
    }
    return *expected;  // another thread made it first
}

std::string SlotBase::name(bool uid_before_symbol) const {
    return receiver_name(
        custom_name(), dispatch_uid(), code,
        is_method ? std::string(type_label) + "::(member function)" : std::string(type_label),
        uid_before_symbol);
}

std::string receiver_name(std::string_view custom_name, std::string_view dispatch_uid,
                          const void* code, std::string_view fallback, bool uid_before_symbol) {
    if (!custom_name.empty()) {
        return std::string(custom_name);
    }
    if (uid_before_symbol && !dispatch_uid.empty()) {
        return std::string(dispatch_uid);
    }
    if (std::string symbol = symbol_name(code); !symbol.empty()) {
        return symbol;
    }
    if (!dispatch_uid.empty()) {
        return std::string(dispatch_uid);
    }
    return std::string(fallback);
}

// ------------------------------------------------------------------------------------ Snapshot

namespace {

/// True when `a` and `b` are the same receiver whatever their senders: the same dispatch_uid,
/// or (without uid) the same function or member function on the same object.
bool same_receiver(const SlotBase& a, const SlotBase& b) {
    if (!a.dispatch_uid().empty() || !b.dispatch_uid().empty()) {
        return a.dispatch_uid() == b.dispatch_uid();
    }
    return a.identity.kind != Identity::Kind::unique && a.identity == b.identity;
}

/// A hash of what same_receiver() compares: equal for the same receiver, 0 for one that has no
/// identity (a lambda without uid), so that a connect compares few slots.
std::uint64_t key_of(const SlotBase& s) noexcept {
    std::uint64_t h = 0;
    if (!s.dispatch_uid().empty()) {
        h = std::hash<std::string_view>{}(s.dispatch_uid());
    } else if (s.identity.kind != Identity::Kind::unique) {
        h = static_cast<std::uint64_t>(s.identity.kind);
        for (const std::uintptr_t b : s.identity.bits) {
            h = (h ^ b) * 0x9E3779B97F4A7C15ULL;
        }
        h ^= reinterpret_cast<std::uintptr_t>(s.identity.type);
    } else {
        return 0;
    }
    return h | 1U;
}

Rank rank_of(const SlotBase& s) noexcept {
    return Rank{s.priority, s.order};
}

/// A tracked receiver whose object died.
bool expired(const SlotBase& s) noexcept {
    return s.tracked && s.track.expired();
}

/// What a bucket holds once its sender has no receivers left: it matches no sender, and keeps
/// the probe chains of the others whole.
const List* tombstone() {
    static const List* t = List::make(Sender{}, {}, {}, false);
    return t;
}

}  // namespace

namespace {

/// Blocks of freed lists, kept per thread by capacity class for the next lists of that class:
/// a connect + disconnect pair makes two lists and retires two, and reusing their blocks saves
/// the allocator's work for both. A block enters the cache only through List::destroy, which
/// runs once no send can read the list (its RCU grace period is over, or it was never
/// published), so a reused block is never one a send still reads.
struct ListCache {
    static constexpr std::size_t classes = 5;  ///< capacities 1, 2, 4, 8, 16 entries
    static constexpr std::size_t depth = 8;    ///< blocks kept per class
    std::array<std::array<void*, depth>, classes> blocks{};
    std::array<std::uint8_t, classes> counts{};
    bool armed = false;   ///< the cleanup at the thread's end is set up (ListCacheExit)
    bool closed = false;  ///< the thread is ending: blocks go back to the allocator

    /// The class of a list of capacity `n` (a power of two: 1 << class), or `classes` when too
    /// big.
    static std::size_t class_of(std::size_t n) noexcept {
        return n <= 1 ? 0 : static_cast<std::size_t>(std::bit_width(n - 1));
    }
    /// The capacity of a list of `n` entries: room to grow in place to the next power of two.
    static std::size_t capacity_of(std::size_t n) noexcept {
        return std::bit_ceil(std::max<std::size_t>(n, 1));
    }
    /// The size of a block of class `c`.
    static std::size_t block_size(std::size_t c) noexcept {
        return sizeof(List) + (std::size_t{1} << c) * (sizeof(Entry) + sizeof(Rank));
    }
};

constinit thread_local ListCache list_cache{};

/// Frees the blocks of the thread's cache when the thread ends, and closes it.
struct ListCacheExit {
    ListCacheExit() = default;
    ListCacheExit(const ListCacheExit&) = delete;
    ListCacheExit& operator=(const ListCacheExit&) = delete;
    ~ListCacheExit() {
        ListCache& c = list_cache;
        c.closed = true;
        for (std::size_t k = 0; k < ListCache::classes; ++k) {
            for (std::size_t i = 0; i < c.counts[k]; ++i) {
                ::operator delete(c.blocks[k][i]);
            }
            c.counts[k] = 0;
        }
    }
};

/// Sets up the cleanup of the thread's cache at the thread's end (its first cached block).
[[gnu::noinline]] void arm_list_cache() noexcept {
    static thread_local ListCacheExit on_exit;
    static_cast<void>(on_exit);
    list_cache.armed = true;
}

/// allocate_block() when the thread's cache has no block of capacity `n`.
[[gnu::noinline]] void* new_block(std::size_t n) {
    const std::size_t c = ListCache::class_of(n);
    return ::operator new(c < ListCache::classes
                              ? ListCache::block_size(c)
                              : sizeof(List) + n * (sizeof(Entry) + sizeof(Rank)));
}

/// A block for a list of capacity `n`: a cached one of its class, else a new one.
[[gnu::always_inline]] inline void* allocate_block(std::size_t n) {
    const std::size_t c = ListCache::class_of(n);
    ListCache& cache = list_cache;
    if (c < ListCache::classes && cache.counts[c] != 0) [[likely]] {
        return cache.blocks[c][--cache.counts[c]];
    }
    return new_block(n);
}

/// Gives back the block of a list of capacity `n`, no longer readable by any send.
void free_block(void* block, std::size_t n) noexcept {
    const std::size_t c = ListCache::class_of(n);
    ListCache& cache = list_cache;
    if (c < ListCache::classes && cache.counts[c] < ListCache::depth && !cache.closed) {
        if (!cache.armed) [[unlikely]] {
            arm_list_cache();
        }
        cache.blocks[c][cache.counts[c]++] = block;
        return;
    }
    ::operator delete(block);
}

/// A list of `n` receivers of `sender` in one block with room to grow (ListCache::capacity_of),
/// its arrays left for the caller to fill (through `entries` and `ranks`) before it is
/// published.
[[gnu::always_inline]] inline List* allocate_list(const Sender& sender, std::size_t n,
                                                  bool has_async, Entry*& entries, Rank*& ranks) {
    static_assert(sizeof(List) % alignof(Rank) == 0 && sizeof(Entry) % alignof(Rank) == 0);
    static_assert(std::is_trivially_copyable_v<Entry> && std::is_trivially_copyable_v<Rank>);
    static_assert(std::is_trivially_destructible_v<List>);
    const std::size_t capacity = ListCache::capacity_of(n);
    void* block = allocate_block(capacity);
    auto* list = new (block) List;
    entries = reinterpret_cast<Entry*>(static_cast<char*>(block) + sizeof(List));
    ranks = reinterpret_cast<Rank*>(entries + capacity);
    list->sender = sender;
    list->has_async = has_async;
    list->count.store(n, std::memory_order_relaxed);  // published with the list (release)
    list->entries = entries;
    list->ranks = ranks;
    list->capacity = capacity;
    list->high = n;
    return list;
}

}  // namespace

List* List::make(const Sender& sender, std::span<const Entry> entries, std::span<const Rank> ranks,
                 bool has_async) {
    Entry* e = nullptr;
    Rank* r = nullptr;
    List* list = allocate_list(sender, entries.size(), has_async, e, r);
    std::uninitialized_copy(entries.begin(), entries.end(), e);
    std::uninitialized_copy(ranks.begin(), ranks.end(), r);
    return list;
}

void List::destroy(void* list) noexcept {
    auto* l = static_cast<List*>(list);
    const std::size_t n = l->capacity;
    l->~List();
    free_block(list, n);
}

// ------------------------------------------------------------------------------------ Receivers

/// One receiver of a group: what its sender's list reads, in one array so that a change reads
/// no receiver's slot. The group's reference to the slot is the slot's own `self`.
struct Member {
    ErasedCall call;
    SlotBase* slot;
    Rank rank;
};

/// The receivers of one sender (or of none), in call order, in one vector (Member), and the
/// receivers connected for other senders that hear this one.
struct Receivers::Group {
    std::vector<Member> own;  ///< connected for this sender, in call order
    /// key_of() of each of own, apart: a connect's duplicate check reads 8 bytes a receiver.
    std::vector<std::uint64_t> keys;
    std::size_t async_count = 0;    ///< in own
    std::vector<SlotBase*> extras;  ///< connected for another, hearing this one
    const List* list = nullptr;     ///< published in the table (sender groups)
    std::size_t bucket = 0;         ///< where `list` is in the table, while it is there

    /// Adds `slot`, whose key_of() is `key` (the group's reference is kept in slot->self).
    void insert(std::shared_ptr<SlotBase> slot, std::uint64_t key) {
        // After every receiver of the same or a higher priority: connection order within one.
        SlotBase* raw = slot.get();
        const Member member{raw->call, raw, rank_of(*raw)};
        if (keys.size() == keys.capacity()) {  // so that no insertion into keys throws after own's
            keys.reserve(std::max<std::size_t>(4, 2 * keys.capacity()));
        }
        if (own.empty() || own.back().rank.priority >= raw->priority) {
            own.push_back(member);  // the common case: it goes last
            keys.push_back(key);
        } else {
            const auto at = std::find_if(own.begin(), own.end(), [&](const Member& m) {
                return m.rank.priority < raw->priority;
            });
            const auto k = keys.begin() + (at - own.begin());
            own.insert(at, member);
            keys.insert(k, key);
        }
        async_count += raw->async ? 1 : 0;
        raw->group = this;
        raw->self = std::move(slot);
    }
    /// The index of `slot` in own, or own.size(). Looked for from the end: the receiver
    /// disconnected is most often one of the last connected.
    [[nodiscard]] std::size_t find(const SlotBase* slot) const noexcept {
        for (std::size_t i = own.size(); i-- != 0;) {
            if (own[i].slot == slot) {
                return i;
            }
        }
        return own.size();
    }
    /// Removes own[i]; returns it (its reference stays in its `self` until it is released).
    SlotBase* erase(std::size_t i) {
        SlotBase* raw = own[i].slot;
        own.erase(own.begin() + static_cast<std::ptrdiff_t>(i));
        keys.erase(keys.begin() + static_cast<std::ptrdiff_t>(i));
        async_count -= raw->async ? 1 : 0;
        raw->group = nullptr;
        return raw;
    }
    [[nodiscard]] bool empty() const noexcept { return own.empty() && extras.empty(); }

    /// The list of `sender`'s receivers: own merged in call order with extras (connected for
    /// another sender, hearing this one), dropping an extra when the same receiver is there
    /// already: connected for `sender` itself, or an extra connected earlier. A send calls each
    /// receiver once per sender, as Django's lookup keys make it.
    [[nodiscard]] List* make_list(const Sender& sender) const {
        if (extras.empty()) {
            Entry* e = nullptr;
            Rank* r = nullptr;
            List* made = allocate_list(sender, own.size(), async_count != 0, e, r);
            for (const Member& m : own) {
                *e++ = Entry{m.call, m.slot};
                *r++ = m.rank;
            }
            return made;
        }
        return make_merged_list(sender);
    }

    /// make_list() when receivers of other senders hear this one (apart: its vectors would
    /// make every list's copy pay for their stack frame).
    [[gnu::noinline]] List* make_merged_list(const Sender& sender) const {
        std::vector<SlotBase*> all;
        all.reserve(own.size() + extras.size());
        std::size_t a = 0;
        std::size_t b = 0;
        while (a < own.size() || b < extras.size()) {
            if (b == extras.size() || (a < own.size() && own[a].rank < rank_of(*extras[b]))) {
                all.push_back(own[a++].slot);
            } else {
                all.push_back(extras[b++]);
            }
        }
        const auto extra = [&](const SlotBase* s) { return !(s->sender == sender); };
        std::vector<Entry> e;
        std::vector<Rank> r;
        bool async = false;
        for (SlotBase* s : all) {
            const bool duplicate =
                extra(s) && std::any_of(all.begin(), all.end(), [&](const SlotBase* other) {
                    return other != s && same_receiver(*other, *s) &&
                           (!extra(other) || other->order < s->order);
                });
            if (!duplicate) {
                e.push_back(Entry{s->call, s});
                r.push_back(rank_of(*s));
                async = async || s->async;
            }
        }
        return List::make(sender, e, r, async);
    }
};

/// The groups of the senders that have receivers, keyed by sender: open addressing (linear
/// probing) with the groups in the buckets themselves, so that finding a sender's group is one
/// probe into one array, with no node to follow and no division. An erased group leaves a
/// tombstone; the array is rebuilt (grown, or cleared of tombstones) when live groups and
/// tombstones fill three quarters of it. Rebuilding moves the groups: each group's receivers are
/// told their group's new address (SlotBase::group), so a Group* is valid until the next
/// insert() only.
class Receivers::GroupMap {
  public:
    /// The group of `sender` (not none), or null.
    [[nodiscard]] Group* find(const Sender& sender) noexcept {
        if (buckets_.empty()) {
            return nullptr;
        }
        for (std::size_t i = start(sender);; i = (i + 1) & mask_) {
            Bucket& b = buckets_[i];
            if (b.state == Bucket::live && b.sender == sender) {
                return &b.group;
            }
            if (b.state == Bucket::empty) {
                return nullptr;
            }
        }
    }
    /// The group of `sender` (not none), made empty if there was none. Moves the other groups
    /// when the array is rebuilt.
    Group& get(const Sender& sender) {
        if (Group* g = find(sender)) {
            return *g;
        }
        if (4 * (used_ + 1) > 3 * buckets_.size()) {
            rebuild(std::max<std::size_t>(8, std::bit_ceil(2 * (live_ + 1))));
        }
        Bucket& b = buckets_[free_bucket(sender)];
        used_ += b.state == Bucket::empty ? 1 : 0;
        ++live_;
        b.state = Bucket::live;
        b.sender = sender;
        return b.group;
    }
    /// Erases the group of `sender` (there is one): destroyed, its bucket a tombstone.
    void erase(const Sender& sender) noexcept {
        std::size_t i = start(sender);
        while (!(buckets_[i].state == Bucket::live && buckets_[i].sender == sender)) {
            i = (i + 1) & mask_;
        }
        buckets_[i].group = Group{};
        buckets_[i].state = Bucket::tombstone;
        --live_;
    }
    /// Calls `f(group)` for every group.
    template <class F>
    void for_each(F&& f) {
        for (Bucket& b : buckets_) {
            if (b.state == Bucket::live) {
                f(b.group);
            }
        }
    }
    template <class F>
    void for_each(F&& f) const {
        for (const Bucket& b : buckets_) {
            if (b.state == Bucket::live) {
                f(b.group);
            }
        }
    }
    /// Forgets every group (their receivers are taken already).
    void clear() noexcept {
        buckets_.clear();
        buckets_.shrink_to_fit();
        mask_ = 0;
        live_ = 0;
        used_ = 0;
    }
    [[nodiscard]] std::size_t size() const noexcept { return live_; }
    [[nodiscard]] std::size_t capacity() const noexcept { return buckets_.size(); }

  private:
    struct Bucket {
        static constexpr std::uint8_t empty = 0;
        static constexpr std::uint8_t live = 1;
        static constexpr std::uint8_t tombstone = 2;
        std::uint8_t state = empty;
        Sender sender;
        Group group;
    };

    [[nodiscard]] std::size_t start(const Sender& sender) const noexcept {
        return std::hash<Sender>{}(sender)&mask_;
    }
    /// The first empty bucket or tombstone of `sender`'s probe chain (not in the map).
    [[nodiscard]] std::size_t free_bucket(const Sender& sender) const noexcept {
        std::size_t i = start(sender);
        while (buckets_[i].state == Bucket::live) {
            i = (i + 1) & mask_;
        }
        return i;
    }
    /// Moves every live group into a new array of `capacity` buckets (no tombstones).
    void rebuild(std::size_t capacity) {
        std::vector<Bucket> old(capacity);
        old.swap(buckets_);
        mask_ = capacity - 1;
        used_ = live_;
        for (Bucket& from : old) {
            if (from.state != Bucket::live) {
                continue;
            }
            Bucket& to = buckets_[free_bucket(from.sender)];
            to.state = Bucket::live;
            to.sender = from.sender;
            to.group = std::move(from.group);
            for (const Member& m : to.group.own) {
                m.slot->group = &to.group;
            }
        }
    }

    std::vector<Bucket> buckets_;
    std::size_t mask_ = 0;
    std::size_t live_ = 0;  ///< buckets holding a group
    std::size_t used_ = 0;  ///< live ones and tombstones
};

/// What a change leaves behind, retired after the Receivers' lock is released, in one batch
/// (rcu::retire). The few items of one connect or disconnect fit without allocating.
struct Receivers::Garbage {
    std::array<rcu::Retiree, 4> few{};
    std::size_t count = 0;
    std::vector<rcu::Retiree> more;
    bool slots = false;  ///< a receiver is among them: release what it captured at once
    /// A list shrunk in place by this change (shrink_in_place): its freed position may be
    /// rewritten once the grace period `stamp` (taken by settle()) has passed.
    List* shrunk = nullptr;
    std::uint64_t stamp = 0;  ///< the grace period of this change's retirement (0: its own)

    void retire(void* object, void (*deleter)(void*)) {
        if (count < few.size()) {
            few[count++] = rcu::Retiree{object, deleter};
        } else {
            more.push_back(rcu::Retiree{object, deleter});
        }
    }
    /// Disconnects `slot` (no send calls it from now on) and retires it: the Receivers' reference
    /// stays in the slot (`self`, which sends may copy) until it is released.
    void add(SlotBase* slot);
};

/// The Receivers' lock and everything the writers edit under it.
struct Receivers::Index {
    std::mutex mutex;
    Group any;                       ///< receivers without sender
    GroupMap groups;                 ///< receivers for (or hearing) each sender
    Table* table = nullptr;          ///< the published index (null: no sender)
    std::vector<SlotBase*> tracked;  ///< tracked receivers, to purge dead ones
    std::size_t scan = 0;            ///< where the next partial purge starts

    /// What connects left behind (old lists; a snapshot and a table when one grew), waiting
    /// for the next change's retirement: no reader needs them freed soon, and a retirement of
    /// their own costs a grace period and the domain's lock.
    std::array<rcu::Retiree, 8> deferred{};
    std::size_t deferred_count = 0;

    Group* find(const Sender& sender) { return sender.is_none() ? &any : groups.find(sender); }

    /// Ends a change (under the lock): with `defer` (a connect), keeps what `garbage` holds for
    /// a later retirement when it holds no receiver and there is room; otherwise adds what
    /// earlier connects deferred to `garbage`, retired with it.
    /// A list shrunk in place gets the grace period that the change's retirement will use,
    /// begun here, after everything the change made unreachable.
    void settle(Garbage& garbage, bool defer) {
        if (defer && !garbage.slots && garbage.more.empty() &&
            deferred_count + garbage.count <= deferred.size()) {
            std::copy_n(garbage.few.begin(), garbage.count, deferred.begin() + deferred_count);
            deferred_count += garbage.count;
            garbage.count = 0;
            return;
        }
        for (std::size_t i = 0; i < deferred_count; ++i) {
            garbage.retire(deferred[i].object, deferred[i].deleter);
        }
        deferred_count = 0;
        if (garbage.shrunk != nullptr) {
            garbage.stamp = rcu::stamp();
            garbage.shrunk->dirty = garbage.stamp;
        }
    }
};

namespace {

std::shared_ptr<const ErrorLogger>& global_logger() {
    static auto* logger = new std::shared_ptr<const ErrorLogger>;
    return *logger;
}
std::mutex& global_logger_mutex() {
    static auto* m = new std::mutex;
    return *m;
}

template <class T>
void delete_as(void* p) {
    delete static_cast<T*>(p);
}

/// After the grace period: destroy the receiver's callable and drop the Receivers' reference.
/// A Connection may keep the slot's shell, never what the receiver captured.
void release_slot(void* p) {
    auto* slot = static_cast<SlotBase*>(p);
    slot->drop_callable();
    slot->track.reset();
    if (slot->extras) {
        slot->extras->executor.reset();
    }
    slot->self.reset();  // may destroy *slot: touch nothing after this
}

/// The extra senders of a receiver without extras.
const std::vector<Sender> no_senders;

/// A change looks for dead tracked receivers among this many (all of them when a send met a
/// dead one), so that it costs the same however many receivers are tracked.
constexpr std::size_t purge_window = 32;

}  // namespace

void Receivers::Garbage::add(SlotBase* slot) {
    slot->kill();
    retire(slot, release_slot);
    slots = true;
}

void Receivers::dispose(Garbage& garbage) {
    // Release what disconnected receivers captured now, unless this thread is itself inside a
    // send (then a later reclamation does it).
    if (garbage.count == 0 && garbage.more.empty()) {
        return;
    }
    const bool reclaim_now = garbage.slots && !rcu::in_read_section();
    if (garbage.more.empty()) {
        rcu::retire(std::span<const rcu::Retiree>(garbage.few.data(), garbage.count), reclaim_now,
                    garbage.stamp);
    } else {
        garbage.more.insert(garbage.more.begin(), garbage.few.begin(),
                            garbage.few.begin() + static_cast<std::ptrdiff_t>(garbage.count));
        rcu::retire(garbage.more, reclaim_now, garbage.stamp);
    }
}

std::shared_ptr<Receivers> Receivers::make(std::atomic<const Snapshot*>& head, std::string name) {
    return std::shared_ptr<Receivers>(new Receivers(head, std::move(name)), [](Receivers* r) {
        // A Connection::disconnect on another thread may have seen one of its receivers live
        // inside its read-side section: freed after the grace period (at once when no send is
        // under way and nothing older waits).
        const rcu::Retiree one{r, delete_as<Receivers>};
        rcu::retire(std::span<const rcu::Retiree>(&one, 1), !rcu::in_read_section());
    });
}

Receivers::Receivers(std::atomic<const Snapshot*>& head, std::string name)
    : head_(&head), name_(std::move(name)), index_(std::make_unique<Index>()) {}

Receivers::~Receivers() {
    // detach() ran (the Signal's destructor): everything published is retired already, and
    // what connects deferred with it.
    assert(index_->deferred_count == 0);
    delete index_->table;
}

std::shared_ptr<SlotBase> Receivers::connect(std::shared_ptr<SlotBase> slot) {
    Garbage garbage;
    std::shared_ptr<SlotBase> kept;
    {
        std::lock_guard lock(index_->mutex);
        if (head_ == nullptr) {  // cannot happen while the Signal lives; be safe anyway
            slot->kill();
            return slot;
        }
        purge_expired(garbage);
        Group* g = index_->find(slot->sender);
        const std::uint64_t key = key_of(*slot);
        if (key != 0 && g != nullptr) {
            for (std::size_t i = 0; i < g->keys.size(); ++i) {
                if (g->keys[i] == key && same_receiver(*g->own[i].slot, *slot)) {
                    kept = g->own[i].slot->self;  // Django: the first registration stays
                    break;
                }
            }
            if (kept && expired(*kept)) {  // its object died: purged, and this one connects
                remove_slot(kept.get(), garbage, g);
                kept.reset();
                g = index_->find(slot->sender);  // the group may be gone with it
            }
        }
        if (!kept) {
            slot->order = next_order_++;
            slot->home = this;
            if (slot->tracked) {
                slot->tracked_index = index_->tracked.size();
                index_->tracked.push_back(slot.get());
            }
            const Sender sender = slot->sender;
            kept = slot;
            if (g == nullptr) {
                g = &index_->groups.get(sender);
            }
            g->insert(std::move(slot), key);
            if (!append_in_place(*g, kept.get())) {
                republish(sender, garbage, g);
            }
        }
        index_->settle(garbage, /*defer=*/true);
    }
    dispose(garbage);
    return kept;
}

void Receivers::untrack(SlotBase* slot) {
    if (!slot->tracked) {
        return;
    }
    auto& tracked = index_->tracked;
    const std::size_t i = slot->tracked_index;
    if (i < tracked.size() && tracked[i] == slot) {
        tracked[i] = tracked.back();
        tracked[i]->tracked_index = i;
        tracked.pop_back();
    }
}

void Receivers::remove_slot(SlotBase* slot, Garbage& garbage, Group* group) {
    // A connected slot of this signal knows its group (a dead one may not have one any more).
    Group* g = group != nullptr ? group : static_cast<Group*>(slot->group);
    if (g == nullptr) {
        return;
    }
    const std::size_t i = g->find(slot);
    if (i == g->own.size() || shrink_in_place(*g, i, garbage)) {
        return;
    }
    untrack(slot);
    garbage.add(g->erase(i));
    for (const Sender& extra : slot->extras ? slot->extras->extra_senders : no_senders) {
        if (Group* e = index_->find(extra)) {
            e->extras.erase(std::remove(e->extras.begin(), e->extras.end(), slot), e->extras.end());
            republish(extra, garbage);
        }
    }
    republish(slot->sender, garbage, g);
}

template <class Match>
bool Receivers::remove_first(const Sender& sender, Match match) {
    Garbage garbage;
    bool removed = false;
    {
        std::lock_guard lock(index_->mutex);
        if (head_ == nullptr) {
            return false;
        }
        purge_expired(garbage);
        if (Group* g = index_->find(sender)) {
            const std::size_t i = match(*g);
            if (i < g->own.size()) {
                // A tracked receiver whose object died is purged, but was not connected any more.
                removed = !expired(*g->own[i].slot);
                remove_slot(g->own[i].slot, garbage, g);
            }
        }
        index_->settle(garbage, false);
    }
    dispose(garbage);
    return removed;
}

bool Receivers::add_sender(const SlotBase* slot, const Sender& sender) {
    Garbage garbage;
    bool added = false;
    {
        std::lock_guard lock(index_->mutex);
        if (head_ == nullptr || sender.is_none() || slot->sender.is_none() ||
            slot->sender == sender) {
            return false;
        }
        Group* g = index_->find(slot->sender);
        if (g == nullptr) {
            return false;
        }
        const std::size_t i = g->find(slot);
        if (i == g->own.size()) {
            return false;
        }
        SlotBase* s = g->own[i].slot;
        std::vector<Sender>& heard = s->make_extras().extra_senders;
        if (std::find(heard.begin(), heard.end(), sender) != heard.end()) {
            return false;
        }
        heard.push_back(sender);
        Group& target = index_->groups.get(sender);
        const auto at = std::find_if(target.extras.begin(), target.extras.end(),
                                     [&](const SlotBase* e) { return rank_of(*s) < rank_of(*e); });
        target.extras.insert(at, s);
        added = true;
        republish(sender, garbage);
        index_->settle(garbage, /*defer=*/true);
    }
    dispose(garbage);
    return added;
}

bool Receivers::disconnect(const SlotBase* slot) {
    Garbage garbage;
    bool removed = false;
    {
        std::lock_guard lock(index_->mutex);
        if (head_ == nullptr) {
            return false;
        }
        purge_expired(garbage);
        // A receiver of this signal (`home` is set once, when it is connected) knows its group
        // while it is connected (`group` is written under this lock only): no lookup.
        if (slot->home == this && slot->group != nullptr) {
            // A tracked receiver whose object died is purged, but was not connected any more.
            removed = !expired(*slot);
            remove_slot(const_cast<SlotBase*>(slot), garbage, static_cast<Group*>(slot->group));
        }
        index_->settle(garbage, false);
    }
    dispose(garbage);
    return removed;
}

bool Receivers::disconnect_connection(const SlotBase& slot) {
    Garbage garbage;
    bool removed = false;
    {
        // Inside a read-side section, a receiver seen live has its signal's receivers alive
        // (detach kills every receiver before the Receivers can be retired; make() retires it).
        const rcu::ReadGuard guard;
        if (!slot.is_live() || slot.home == nullptr) {
            return false;  // disconnected, or its signal is gone
        }
        auto* self = const_cast<Receivers*>(slot.home);
        std::lock_guard lock(self->index_->mutex);
        if (self->head_ == nullptr) {
            return false;
        }
        self->purge_expired(garbage);
        if (slot.group != nullptr) {
            // A tracked receiver whose object died is purged, but was not connected any more.
            removed = !expired(slot);
            self->remove_slot(const_cast<SlotBase*>(&slot), garbage,
                              static_cast<Group*>(slot.group));
        }
        self->index_->settle(garbage, false);
    }
    dispose(garbage);
    return removed;
}

bool Receivers::disconnect_uid(std::string_view uid, const Sender& sender) {
    if (uid.empty()) {
        return false;
    }
    return remove_first(sender, [&](const Group& g) {
        std::size_t i = 0;
        while (i < g.own.size() && g.own[i].slot->dispatch_uid() != uid) {
            ++i;
        }
        return i;
    });
}

bool Receivers::disconnect_identity(const Identity& identity, const Sender& sender) {
    return remove_first(sender, [&](const Group& g) {
        std::size_t i = 0;
        while (i < g.own.size() &&
               !(g.own[i].slot->dispatch_uid().empty() && g.own[i].slot->identity == identity)) {
            ++i;
        }
        return i;
    });
}

std::size_t Receivers::disconnect_all() {
    return remove_all(false);
}

void Receivers::detach() {
    remove_all(true);
}

std::size_t Receivers::remove_all(bool detach) {
    Garbage garbage;
    std::size_t count = 0;
    {
        std::lock_guard lock(index_->mutex);
        if (head_ == nullptr) {
            return 0;
        }
        const auto take = [&](Group& g) {
            for (const Member& m : g.own) {
                count += m.slot->alive() ? 1 : 0;
                m.slot->group = nullptr;
                garbage.add(m.slot);
            }
            if (g.list != nullptr) {
                garbage.retire(const_cast<List*>(g.list), List::destroy);
            }
        };
        take(index_->any);
        index_->groups.for_each(take);
        index_->any = Group{};
        index_->groups.clear();
        index_->tracked.clear();
        if (index_->table != nullptr) {
            garbage.retire(index_->table, delete_as<Table>);
            index_->table = nullptr;
        }
        publish_snapshot(garbage);
        index_->settle(garbage, false);
        if (detach) {
            head_ = nullptr;
        }
    }
    dispose(garbage);
    return count;
}

void Receivers::purge_expired(Garbage& garbage) {
    if (index_->tracked.empty() && !expired_.load(std::memory_order_relaxed)) {
        return;  // the common case, tested before the rest (which keeps registers busy)
    }
    purge_tracked(garbage);
}

void Receivers::purge_tracked(Garbage& garbage) {
    const bool seen = expired_.load(std::memory_order_relaxed) &&
                      expired_.exchange(false, std::memory_order_relaxed);
    auto& tracked = index_->tracked;
    if (tracked.empty()) {
        return;
    }
    const std::size_t n = seen ? tracked.size() : std::min(tracked.size(), purge_window);
    std::vector<SlotBase*> dead;
    for (std::size_t k = 0; k < n; ++k) {
        SlotBase* s = tracked[(index_->scan + k) % tracked.size()];
        if (s->track.expired()) {
            dead.push_back(s);
        }
    }
    index_->scan = (index_->scan + n) % tracked.size();
    for (SlotBase* s : dead) {
        remove_slot(s, garbage);
    }
}

void Receivers::republish(const Sender& sender, Garbage& garbage, Group* group) {
    if (sender.is_none()) {
        publish_snapshot(garbage);
        return;
    }
    if (group == nullptr) {
        group = index_->groups.find(sender);
        if (group == nullptr) {
            return;
        }
    }
    Group& g = *group;
    const List* next = g.empty() ? nullptr : g.make_list(sender);
    const List* old = g.list;
    g.list = next;
    if (old != nullptr) {
        table_replace(g, old, next != nullptr ? next : tombstone());
        garbage.retire(const_cast<List*>(old), List::destroy);
    } else if (next != nullptr) {
        table_insert(g, garbage);
    }
    if (next == nullptr) {
        index_->groups.erase(sender);  // destroys g
        if (old != nullptr && --index_->table->live_ == 0) {
            // No receiver for any sender: sends need no lookup.
            garbage.retire(index_->table, delete_as<Table>);
            index_->table = nullptr;
            publish_snapshot(garbage);
        }
    }
}

bool Receivers::append_in_place(Group& g, const SlotBase* slot) {
    auto* list = const_cast<List*>(g.list);  // null for the sender-less group
    if (list == nullptr || !g.extras.empty() || g.own.back().slot != slot) {
        return false;  // a new list, a merged one, or the receiver does not go last
    }
    const std::size_t n = list->count.load(std::memory_order_relaxed);
    if (n + 1 != g.own.size() || n == list->capacity || (slot->async && !list->has_async) ||
        (n < list->high && !rcu::passed(list->dirty))) {
        return false;  // full, has_async would change, or a send may still read position n
    }
    const Member& m = g.own.back();
    const_cast<Entry*>(list->entries)[n] = Entry{m.call, m.slot};
    const_cast<Rank*>(list->ranks)[n] = m.rank;
    list->count.store(n + 1, std::memory_order_release);  // publishes the entry
    list->high = std::max(list->high, n + 1);
    return true;
}

bool Receivers::shrink_in_place(Group& g, std::size_t i, Garbage& garbage) {
    auto* list = const_cast<List*>(g.list);  // null for the sender-less group
    SlotBase* slot = g.own[i].slot;
    if (list == nullptr || i == 0 || i + 1 != g.own.size() || !g.extras.empty() ||
        garbage.shrunk != nullptr || (slot->extras && !slot->extras->extra_senders.empty()) ||
        list->count.load(std::memory_order_relaxed) != g.own.size() ||
        (slot->async && g.async_count == 1)) {
        return false;  // not the last of several, a merged list, or has_async would change
    }
    untrack(slot);
    garbage.add(g.erase(i));  // killed: a send that still reads it skips it
    list->count.store(i, std::memory_order_release);
    // Not to be rewritten before settle() stamps it with this change's grace period.
    list->dirty = ~std::uint64_t{0};
    garbage.shrunk = list;
    return true;
}

void Receivers::table_replace(const Group& group, const List* old, const List* next) {
    Table& t = *index_->table;
    assert(group.bucket <= t.mask_ &&
           t.buckets_[group.bucket].load(std::memory_order_relaxed) == old);
    (void)old;
    t.buckets_[group.bucket].store(next, std::memory_order_release);
}

namespace {

/// Puts `list` in the first free bucket (empty, or a tombstone when `reuse`) of its sender's
/// probe chain in `table`; returns that bucket.
std::size_t place(const List* list, std::atomic<const List*>* buckets, std::size_t mask,
                  std::size_t& used, bool reuse) {
    std::size_t i = std::hash<Sender>{}(list->sender) & mask;
    for (;;) {
        const List* l = buckets[i].load(std::memory_order_relaxed);
        if (l == nullptr || (reuse && l == tombstone())) {
            used += l == nullptr ? 1 : 0;
            break;
        }
        i = (i + 1) & mask;
    }
    buckets[i].store(list, std::memory_order_release);
    return i;
}

}  // namespace

void Receivers::table_insert(Group& group, Garbage& garbage) {
    Table* table = index_->table;
    if (table == nullptr || 2 * (table->used_ + 1) > table->mask_ + 1) {
        // Grow (or clear the tombstones): a new table of the live lists, published with a new
        // snapshot; the lists themselves are shared, not copied. Each group learns its bucket.
        const std::size_t live = table == nullptr ? 0 : table->live_;
        auto* next = new Table(std::max<std::size_t>(8, std::bit_ceil(4 * (live + 1))));
        if (table != nullptr) {
            index_->groups.for_each([&](Group& g) {
                if (g.list != nullptr && &g != &group) {
                    g.bucket =
                        place(g.list, next->buckets_.data(), next->mask_, next->used_, false);
                }
            });
            next->live_ = live;
            garbage.retire(table, delete_as<Table>);
        }
        index_->table = table = next;
        publish_snapshot(garbage);  // publishes the filled table (release)
    }
    group.bucket = place(group.list, table->buckets_.data(), table->mask_, table->used_, true);
    ++table->live_;
}

void Receivers::publish_snapshot(Garbage& garbage) {
    const Snapshot* next = nullptr;
    if (!index_->any.own.empty() || index_->table != nullptr) {
        next = new Snapshot(index_->any.make_list(Sender{}), index_->table);
    }
    if (const Snapshot* old = head_->exchange(next, std::memory_order_seq_cst)) {
        garbage.retire(const_cast<Snapshot*>(old), delete_as<Snapshot>);
    }
}

std::size_t Receivers::receiver_count() const {
    std::lock_guard lock(index_->mutex);
    const auto live = [](const Group& g) {
        return static_cast<std::size_t>(std::count_if(
            g.own.begin(), g.own.end(), [](const Member& m) { return m.slot->alive(); }));
    };
    std::size_t n = live(index_->any);
    index_->groups.for_each([&](const Group& g) { n += live(g); });
    return n;
}

std::vector<ReceiverInfo> Receivers::receivers() const {
    std::lock_guard lock(index_->mutex);
    std::vector<SlotBase*> all;
    const auto add = [&](const Group& g) {
        for (const Member& m : g.own) {
            if (m.slot->alive()) {
                all.push_back(m.slot);
            }
        }
    };
    add(index_->any);
    index_->groups.for_each(add);
    std::sort(all.begin(), all.end(),
              [](const SlotBase* a, const SlotBase* b) { return rank_of(*a) < rank_of(*b); });
    std::vector<ReceiverInfo> out;
    out.reserve(all.size());
    for (SlotBase* s : all) {
        ReceiverInfo info;
        info.name = s->name();
        info.sender = s->sender;
        if (s->extras) {
            info.also_senders = s->extras->extra_senders;
        }
        info.dispatch_uid = s->dispatch_uid();
        info.priority = s->priority;
        info.tracked = s->tracked;
        info.async = s->async;
        info.on_commit = s->on_commit;
        info.file = s->where.file_name();
        info.line = s->where.line();
        info.connection = Connection(s->self);
        out.push_back(std::move(info));
    }
    return out;
}

void Receivers::set_error_logger(ErrorLogger logger) {
    auto next = logger ? std::make_shared<const ErrorLogger>(std::move(logger)) : nullptr;
    std::lock_guard lock(index_->mutex);
    logger_ = std::move(next);
}

void Receivers::report(const SlotBase& slot, const std::exception_ptr& error) const {
    report(slot.name(/*uid_before_symbol=*/true), error, "Signal.send_robust()");
}

void Receivers::report(std::string_view receiver, const std::exception_ptr& error,
                       std::string_view context) const {
    std::shared_ptr<const ErrorLogger> logger;
    {
        std::lock_guard lock(index_->mutex);
        logger = logger_;
    }
    report_receiver_error(logger, ReceiverError{name_, receiver, error, context});
}

namespace {

void report_receiver_error(const std::shared_ptr<const ErrorLogger>& own,
                           const ReceiverError& failure) noexcept {
    try {
        std::shared_ptr<const ErrorLogger> logger = own;
        if (!logger) {
            std::lock_guard lock(global_logger_mutex());
            logger = global_logger();
        }
        if (logger && *logger) {
            (*logger)(failure);
        } else {
            std::cerr << "tocsin.dispatch ERROR: " + failure.message() + "\n";
        }
    } catch (...) {  // NOLINT(bugprone-empty-catch): a logger must not break the caller
    }
}

}  // namespace

void report_commit_failure(const std::weak_ptr<const Receivers>& receivers,
                           std::string_view signal_name, std::string_view receiver,
                           const std::exception_ptr& error) noexcept {
    if (const auto r = receivers.lock()) {
        r->report(receiver, error, "on_commit()");
    } else {
        report_receiver_error(nullptr, ReceiverError{signal_name, receiver, error, "on_commit()"});
    }
}

namespace {

std::string symbol_name(const void* address) {
    Dl_info info{};
    if (address == nullptr || dladdr(address, &info) == 0 || info.dli_sname == nullptr ||
        info.dli_saddr != address) {
        return {};
    }
    int status = 0;
    char* demangled = abi::__cxa_demangle(info.dli_sname, nullptr, nullptr, &status);
    std::string name = (status == 0 && demangled != nullptr) ? demangled : info.dli_sname;
    std::free(demangled);  // NOLINT(cppcoreguidelines-no-malloc): __cxa_demangle's contract
    return name;
}

}  // namespace

}  // namespace tocsin::detail

// ------------------------------------------------------------------------------ process-wide

namespace tocsin {

ErrorLogger set_error_logger(ErrorLogger logger) {
    auto next = logger ? std::make_shared<const ErrorLogger>(std::move(logger)) : nullptr;
    std::lock_guard lock(detail::global_logger_mutex());
    auto previous = std::exchange(detail::global_logger(), std::move(next));
    return previous ? *previous : ErrorLogger{};
}

}  // namespace tocsin
