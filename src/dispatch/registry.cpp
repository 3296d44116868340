#include "tocsin/dispatch/detail/registry.hpp"

#include <iostream>
#include <utility>

#include <cxxabi.h>
#include <dlfcn.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <unordered_map>

#include "tocsin/dispatch/detail/rcu.hpp"

namespace tocsin::detail {

SlotBase::~SlotBase() = default;

std::string SlotBase::name(bool uid_before_symbol) const {
    return receiver_name(
        custom_name, dispatch_uid, code,
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
    if (!a.dispatch_uid.empty() || !b.dispatch_uid.empty()) {
        return a.dispatch_uid == b.dispatch_uid;
    }
    return a.identity.kind != Identity::Kind::unique && a.identity == b.identity;
}

/// In the receivers of `sender`, drops those that hear it as an extra sender when the same
/// receiver is there already: connected for `sender` itself, or an extra one connected earlier.
/// A send calls each receiver once per sender, as Django's lookup keys make it.
void drop_duplicate_extras(const Sender& sender, std::vector<Entry>& group) {
    const auto extra = [&](const SlotBase* s) { return !(s->sender == sender); };
    if (std::none_of(group.begin(), group.end(), [&](const Entry& e) { return extra(e.slot); })) {
        return;
    }
    std::vector<Entry> kept;
    kept.reserve(group.size());
    for (const Entry& e : group) {
        const bool duplicate =
            extra(e.slot) && std::any_of(group.begin(), group.end(), [&](const Entry& other) {
                return other.slot != e.slot && same_receiver(*other.slot, *e.slot) &&
                       (!extra(other.slot) || other.slot->order < e.slot->order);
            });
        if (!duplicate) {
            kept.push_back(e);
        }
    }
    group = std::move(kept);
}

}  // namespace

Snapshot::Snapshot(const std::vector<std::shared_ptr<SlotBase>>& slots) {
    const bool filtered =
        std::any_of(slots.begin(), slots.end(), [](const auto& s) { return !s->sender.is_none(); });
    if (!filtered) {  // the common case: one list, no index
        entries_.reserve(slots.size());
        for (const auto& s : slots) {
            has_async_ = has_async_ || s->async;
            entries_.push_back(Entry{s->call, s.get()});
        }
        any_count_ = entries_.size();
        pool_ = entries_.data();
        return;
    }
    // Group the sender receivers by sender, keeping call order inside each group.
    std::vector<Entry> any;
    std::unordered_map<Sender, std::vector<Entry>> groups;
    std::vector<Sender> sender_order;
    for (const auto& s : slots) {
        has_async_ = has_async_ || s->async;
        const Entry e{s->call, s.get()};
        if (s->sender.is_none()) {
            any.push_back(e);
            continue;
        }
        const auto add_to = [&](const Sender& sender) {
            auto [it, inserted] = groups.try_emplace(sender);
            if (inserted) {
                sender_order.push_back(sender);
            }
            it->second.push_back(e);
        };
        add_to(s->sender);
        for (const Sender& extra : s->extra_senders) {
            add_to(extra);
        }
    }
    for (auto& [sender, group] : groups) {
        drop_duplicate_extras(sender, group);
    }
    any_count_ = any.size();
    entries_ = any;
    if (!groups.empty()) {
        // Each sender's list is its own receivers merged with the sender-less ones, in call order.
        const auto before = [](const Entry& a, const Entry& b) {
            return a.slot->priority != b.slot->priority ? a.slot->priority > b.slot->priority
                                                        : a.slot->order < b.slot->order;
        };
        bucket_storage_.resize(std::bit_ceil(2 * groups.size()));
        mask_ = bucket_storage_.size() - 1;
        for (const Sender& sender : sender_order) {
            const auto& mine = groups[sender];
            const auto begin = static_cast<std::uint32_t>(entries_.size());
            std::merge(mine.begin(), mine.end(), any.begin(), any.end(),
                       std::back_inserter(entries_), before);
            std::size_t i = std::hash<Sender>{}(sender)&mask_;
            while (bucket_storage_[i].id != nullptr) {
                i = (i + 1) & mask_;
            }
            bucket_storage_[i] = Bucket{sender.id(), sender.kind(), begin,
                                        static_cast<std::uint32_t>(entries_.size() - begin)};
        }
    }
    pool_ = entries_.data();
    buckets_ = bucket_storage_.data();
}

// ------------------------------------------------------------------------------------ Registry

namespace {

std::shared_ptr<const ErrorLogger>& global_logger() {
    static auto* logger = new std::shared_ptr<const ErrorLogger>;
    return *logger;
}
std::mutex& global_logger_mutex() {
    static auto* m = new std::mutex;
    return *m;
}

void delete_snapshot(void* p) {
    delete static_cast<const Snapshot*>(p);
}

/// After the grace period: destroy the receiver's callable and drop the registry's reference.
/// A Connection may keep the slot's shell, never what the receiver captured.
void release_slot(void* p) {
    auto* slot = static_cast<SlotBase*>(p);
    slot->drop_callable();
    slot->track.reset();
    slot->executor.reset();
    slot->retired_self.reset();  // may destroy *slot: touch nothing after this
}

bool same_key(const SlotBase& a, const SlotBase& b) {
    return a.sender == b.sender && same_receiver(a, b);
}

}  // namespace

void Registry::Garbage::add(std::shared_ptr<SlotBase> slot) {
    slot->kill();
    slots.push_back(std::move(slot));
}

void Registry::dispose(Garbage garbage) {
    if (garbage.snapshot != nullptr) {
        rcu::retire(const_cast<Snapshot*>(garbage.snapshot), delete_snapshot);
    }
    if (garbage.slots.empty()) {
        return;
    }
    for (auto& slot : garbage.slots) {
        SlotBase* raw = slot.get();
        raw->retired_self = std::move(slot);
        rcu::retire(raw, release_slot);
    }
    // Release what the receivers captured now, unless this thread is itself inside a send (then
    // the next reclamation does it).
    if (!rcu::in_read_section()) {
        rcu::reclaim();
    }
}

Registry::Registry(std::atomic<const Snapshot*>& head, std::string name)
    : head_(&head), name_(std::move(name)) {}

Registry::~Registry() = default;

std::shared_ptr<SlotBase> Registry::connect(std::shared_ptr<SlotBase> slot) {
    Garbage garbage;
    std::shared_ptr<SlotBase> kept;
    {
        std::lock_guard lock(mutex_);
        if (head_ == nullptr) {  // cannot happen while the Signal lives; be safe anyway
            slot->kill();
            return slot;
        }
        purge_expired(garbage);
        for (const auto& s : slots_) {
            if (same_key(*s, *slot)) {
                kept = s;  // Django: the first registration stays, the second is a no-op
                break;
            }
        }
        if (!kept) {
            slot->order = next_order_++;
            slot->registry = weak_from_this();
            // After every receiver of the same or a higher priority: connection order within one.
            const auto at = std::find_if(slots_.begin(), slots_.end(), [&](const auto& s) {
                return s->priority < slot->priority;
            });
            slots_.insert(at, slot);
            kept = std::move(slot);
        }
        publish(garbage);
    }
    dispose(std::move(garbage));
    return kept;
}

template <class Match>
bool Registry::remove_first(Match match) {
    Garbage garbage;
    bool removed = false;
    {
        std::lock_guard lock(mutex_);
        if (head_ == nullptr) {
            return false;
        }
        purge_expired(garbage);
        const auto it =
            std::find_if(slots_.begin(), slots_.end(), [&](const auto& s) { return match(*s); });
        if (it != slots_.end()) {
            garbage.add(std::move(*it));
            slots_.erase(it);
            removed = true;
        }
        if (removed || !garbage.slots.empty()) {
            publish(garbage);
        }
    }
    dispose(std::move(garbage));
    return removed;
}

bool Registry::add_sender(const SlotBase* slot, const Sender& sender) {
    Garbage garbage;
    bool added = false;
    {
        std::lock_guard lock(mutex_);
        if (head_ == nullptr || sender.is_none()) {
            return false;
        }
        const auto it = std::find_if(slots_.begin(), slots_.end(),
                                     [&](const auto& s) { return s.get() == slot; });
        if (it == slots_.end() || (*it)->sender.is_none() || (*it)->sender == sender ||
            std::find((*it)->extra_senders.begin(), (*it)->extra_senders.end(), sender) !=
                (*it)->extra_senders.end()) {
            return false;
        }
        (*it)->extra_senders.push_back(sender);
        added = true;
        publish(garbage);
    }
    dispose(std::move(garbage));
    return added;
}

bool Registry::disconnect(const SlotBase* slot) {
    return remove_first([slot](const SlotBase& s) { return &s == slot; });
}

bool Registry::disconnect_uid(std::string_view uid, const Sender& sender) {
    if (uid.empty()) {
        return false;
    }
    return remove_first(
        [&](const SlotBase& s) { return s.sender == sender && s.dispatch_uid == uid; });
}

bool Registry::disconnect_identity(const Identity& identity, const Sender& sender) {
    return remove_first([&](const SlotBase& s) {
        return s.sender == sender && s.dispatch_uid.empty() && s.identity == identity;
    });
}

std::size_t Registry::disconnect_all() {
    return remove_all(false);
}

void Registry::detach() {
    remove_all(true);
}

std::size_t Registry::remove_all(bool detach) {
    Garbage garbage;
    std::size_t count = 0;
    {
        std::lock_guard lock(mutex_);
        if (head_ == nullptr) {
            return 0;
        }
        for (auto& s : slots_) {
            count += s->alive() ? 1 : 0;
            garbage.add(std::move(s));
        }
        slots_.clear();
        publish(garbage);
        if (detach) {
            head_ = nullptr;
        }
    }
    dispose(std::move(garbage));
    return count;
}

void Registry::purge_expired(Garbage& garbage) {
    if (!expired_.exchange(false, std::memory_order_relaxed) &&
        std::none_of(slots_.begin(), slots_.end(),
                     [](const auto& s) { return s->tracked && s->track.expired(); })) {
        return;
    }
    const auto dead = std::stable_partition(slots_.begin(), slots_.end(), [](const auto& s) {
        return !(s->tracked && s->track.expired());
    });
    for (auto it = dead; it != slots_.end(); ++it) {
        garbage.add(std::move(*it));
    }
    slots_.erase(dead, slots_.end());
}

void Registry::publish(Garbage& garbage) {
    const Snapshot* next = slots_.empty() ? nullptr : new Snapshot(slots_);
    garbage.snapshot = head_->exchange(next, std::memory_order_seq_cst);
}

std::size_t Registry::receiver_count() const {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(
        std::count_if(slots_.begin(), slots_.end(), [](const auto& s) { return s->alive(); }));
}

std::vector<ReceiverInfo> Registry::receivers() const {
    std::lock_guard lock(mutex_);
    std::vector<ReceiverInfo> out;
    out.reserve(slots_.size());
    for (const auto& s : slots_) {
        if (!s->alive()) {
            continue;
        }
        ReceiverInfo info;
        info.name = s->name();
        info.sender = s->sender;
        info.also_senders = s->extra_senders;
        info.dispatch_uid = s->dispatch_uid;
        info.priority = s->priority;
        info.tracked = s->tracked;
        info.async = s->async;
        info.on_commit = s->on_commit;
        info.file = s->where.file_name();
        info.line = s->where.line();
        info.connection = Connection(s);
        out.push_back(std::move(info));
    }
    return out;
}

void Registry::set_error_logger(ErrorLogger logger) {
    auto next = logger ? std::make_shared<const ErrorLogger>(std::move(logger)) : nullptr;
    std::lock_guard lock(mutex_);
    logger_ = std::move(next);
}

void Registry::report(const SlotBase& slot, const std::exception_ptr& error) const {
    report(slot.name(/*uid_before_symbol=*/true), error, "Signal.send_robust()");
}

void Registry::report(std::string_view receiver, const std::exception_ptr& error,
                      std::string_view context) const {
    std::shared_ptr<const ErrorLogger> logger;
    {
        std::lock_guard lock(mutex_);
        logger = logger_;
    }
    report_receiver_error(logger, ReceiverError{name_, receiver, error, context});
}

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

void report_commit_failure(const std::weak_ptr<const Registry>& registry,
                           std::string_view signal_name, std::string_view receiver,
                           const std::exception_ptr& error) noexcept {
    if (const auto r = registry.lock()) {
        r->report(receiver, error, "on_commit()");
    } else {
        report_receiver_error(nullptr, ReceiverError{signal_name, receiver, error, "on_commit()"});
    }
}

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
