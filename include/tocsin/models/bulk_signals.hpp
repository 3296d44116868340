// Opt-in bulk signals: post_bulk_create and post_update, one send per bulk_create() or query-set
// update() call (Django sends nothing for either; tocsin sends these only to those who connect).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "tocsin/models/signal_base.hpp"
#include "tocsin/models/signals.hpp"

namespace tocsin {

/// What post_bulk_create tells its receivers: what one bulk_create() call inserted.
struct BulkCreateEvent {
    /// The ids of the inserted rows, in the order of the objects.
    std::vector<std::int64_t> pks;
    /// The caller's instances, ids set: valid during the send only (a commit-time receiver gets
    /// none and uses `pks`).
    std::vector<ModelBase*> objects;
    std::string database;  ///< the database alias written to

    /// objects[i] as the model type `T` (the sender's model).
    template <class T>
    [[nodiscard]] T& object(std::size_t i) const {
        return static_cast<T&>(*objects.at(i));
    }
};

/// What post_update tells its receivers: what one query-set update() call changed.
struct UpdateEvent {
    std::vector<std::int64_t> pks;    ///< the ids of the rows updated, ascending
    std::vector<std::string> fields;  ///< the fields set, in the order given
    std::string database;             ///< the database alias written to
};

/// A commit-time receiver of post_bulk_create waits for the commit of the bulk create's database
/// and keeps its ids and alias, not the instances.
template <>
struct commit_copy<BulkCreateEvent> {
    /// The ids and the alias.
    static BulkCreateEvent make(const BulkCreateEvent& e, CommitContext& context);
    /// The copy.
    static BulkCreateEvent& get(BulkCreateEvent& kept) noexcept { return kept; }
};

/// A commit-time receiver of post_update waits for the commit of the update's database.
template <>
struct commit_copy<UpdateEvent> {
    /// A copy.
    static UpdateEvent make(const UpdateEvent& e, CommitContext& context);
    /// The copy.
    static UpdateEvent& get(UpdateEvent& kept) noexcept { return kept; }
};

/// A signal about many rows of one model at once; the sender is the model. Receivers take
/// `(const Event&)` (or the sender first). Connecting is what asks for it: with no receiver for
/// a model, its bulk operations do no extra work. name(), disconnect() (also by label),
/// has_listeners(), receiver_count(), receivers() and signal() come from
/// detail::ModelLayerSignal.
template <class Event>
class BulkSignal : public detail::ModelLayerSignal<void(const Event&)> {
    using Base = detail::ModelLayerSignal<void(const Event&)>;

  public:
    /// The underlying signal.
    using signal_type = Signal<void(const Event&)>;

    constexpr explicit BulkSignal(std::string_view name) noexcept : Base(name) {}
    using Base::disconnect;
    using Base::signal;

    /// Connects `receiver(const Event&)` for the model `T` only (a `T` that is not a model fails
    /// to compile, saying so).
    template <class T, class F>
    requires ReceiverFor<F, const Event&> Connection
    connect(F&& receiver, Connect options = {},
            tocsin::source_location where = tocsin::source_location::current())
    const {
        if constexpr (!detail::check_model_type<T>()) {
            return {};
        } else {
            return this->template connect_for_model<T>(Sender::of<T>(), std::forward<F>(receiver),
                                                       std::move(options), where);
        }
    }

    /// Connects `receiver` for every model, or for `options.sender`.
    template <class F>
    requires ReceiverFor<F, const Event&> Connection
    connect(F&& receiver, Connect options = {},
            tocsin::source_location where = tocsin::source_location::current())
    const { return this->connect_receiver(std::forward<F>(receiver), std::move(options), where); }

    /// Connects `receiver` for the model labelled `label` ("auth.User"), now or when setup()
    /// registers it (an unknown label makes setup() fail, as for the model signals).
    template <class F>
    requires ReceiverFor<F, const Event&>
    void connect(std::string_view label, F receiver, Connect options = {},
                 tocsin::source_location where = tocsin::source_location::current()) const {
        this->connect_for_label(label, std::move(receiver), std::move(options), where);
    }

    /// Sends `event` for the model `sender`.
    void send(const Sender& sender, const Event& event) const { this->send_from(sender, event); }
};

/// Sent once per bulk_create() call, after the rows are inserted (inside its transaction).
inline constinit BulkSignal<BulkCreateEvent> post_bulk_create{"post_bulk_create"};
/// Sent once per query-set update() call that matched rows, after the UPDATE (inside its
/// transaction); the affected ids are read before the UPDATE only when a receiver listens.
inline constinit BulkSignal<UpdateEvent> post_update{"post_update"};

}  // namespace tocsin
