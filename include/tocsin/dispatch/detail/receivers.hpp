// tocsin::detail::Receivers — the receivers of one signal (the non-template half of Signal).
//
// Writers (connect, disconnect) take its mutex and publish, for the sender they change, a new
// List of its receivers, which senders read without locks (see rcu.hpp), or append its last
// receiver to the list in place, or take its last one off: a connect that goes last or a
// disconnect of the last costs the same however many receivers the sender has, any other change
// in proportion to the receivers of that one sender. A Snapshot (snapshot.hpp)
// holds the sender-less receivers and the per-sender index, so a send costs in proportion to the
// receivers that hear it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tocsin/dispatch/detail/slot.hpp"
#include "tocsin/dispatch/detail/snapshot.hpp"
#include "tocsin/dispatch/outcome.hpp"
#include "tocsin/dispatch/receiver_info.hpp"
#include "tocsin/dispatch/sender.hpp"

namespace tocsin::detail {

/// The mutable side of one signal: its receivers, their keys, its name and error logger.
/// Shared with async sends and commit-time receivers, which may outlive the signal (it is then
/// detached); a Connection finds it through its receiver (SlotBase::home) while connected.
class Receivers {
  public:
    /// The receivers of the signal whose published snapshot is `head`. Its memory is freed only
    /// once no read-side section that began before its last owner let go is still running, so
    /// that a Connection may reach it through a receiver seen connected inside such a section
    /// (disconnect_connection).
    static std::shared_ptr<Receivers> make(std::atomic<const Snapshot*>& head, std::string name);
    Receivers(std::atomic<const Snapshot*>& head, std::string name);
    ~Receivers();
    Receivers(const Receivers&) = delete;
    Receivers& operator=(const Receivers&) = delete;

    /// Adds `slot` unless a receiver with the same key is there; returns the one that stays.
    std::shared_ptr<SlotBase> connect(std::shared_ptr<SlotBase> slot);
    /// Makes the connected `slot` hear `sender` as well (it stays one receiver: one disconnect
    /// removes it from every sender). False when it is not connected here, hears every sender,
    /// or hears `sender` already.
    bool add_sender(const SlotBase* slot, const Sender& sender);
    /// Removes this very receiver; true if it was connected.
    bool disconnect(const SlotBase* slot);
    /// Removes `slot` from its signal's receivers (Connection::disconnect), which may be gone
    /// (then does nothing); true if it was connected.
    static bool disconnect_connection(const SlotBase& slot);
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
    class GroupMap;  ///< the groups of the senders, keyed by sender
    struct Index;    ///< its lock, every group, the published table, the tracked receivers
    Group* find_group(const Sender& sender);
    template <class Match>
    bool remove_first(const Sender& sender, Match match);
    std::size_t remove_all(bool detach);
    void remove_slot(SlotBase* slot, Garbage& garbage, Group* group = nullptr);
    void purge_expired(Garbage& garbage);
    [[gnu::noinline]] void purge_tracked(Garbage& garbage);
    void untrack(SlotBase* slot);
    void republish(const Sender& sender, Garbage& garbage, Group* group = nullptr);
    /// Publishes `slot`, just inserted in `g`, by appending it to g's list in place; false when
    /// it cannot (the list must be replaced: republish).
    static bool append_in_place(Group& g, const SlotBase* slot);
    /// Removes g.own[i], the last of several, by lowering its list's count in place; false when
    /// it cannot (nothing done).
    bool shrink_in_place(Group& g, std::size_t i, Garbage& garbage);
    void table_insert(Group& group, Garbage& garbage);
    void table_replace(const Group& group, const List* old, const List* next);
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
/// in `keep` for the call. A tracked object found dead is noted for `receivers` to purge. Every
/// send (sync, async, asend) asks this before calling a receiver that is not plain.
inline bool pin(const SlotBase& slot, std::shared_ptr<const void>& keep, Receivers& receivers) {
    const std::uint8_t state = slot.state.load(std::memory_order_acquire);
    if ((state & SlotBase::dead_bit) != 0) {
        return false;
    }
    if ((state & SlotBase::tracked_bit) == 0) {
        return true;
    }
    keep = slot.track.lock();
    if (!keep) {
        receivers.note_expired();
        return false;
    }
    return true;
}

/// Reports that the commit-time receiver `receiver` of the signal whose receivers is `receivers`
/// (named `signal_name`) failed after the commit: to that signal's logger while it lives.
void report_commit_failure(const std::weak_ptr<const Receivers>& receivers,
                           std::string_view signal_name, std::string_view receiver,
                           const std::exception_ptr& error) noexcept;

}  // namespace tocsin::detail
