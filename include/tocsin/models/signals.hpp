// The model signals: pre_init, post_init, pre_save, post_save, pre_delete, post_delete,
// class_prepared — sent by the model layer with the model as sender, as Django sends them.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tocsin/source_location.hpp>
#include <type_traits>

#include "tocsin/apps/registry.hpp"
#include "tocsin/db/on_commit.hpp"
#include "tocsin/db/value.hpp"
#include "tocsin/dispatch.hpp"
#include "tocsin/dispatch/detail/lazy_signal.hpp"
#include "tocsin/models/changes.hpp"
#include "tocsin/models/model_info.hpp"

namespace tocsin {

class ModelBase;

/// What pre_save and post_save tell their receivers (Django's keyword arguments), and, for the
/// models a receiver connected with `tocsin::track_changes`, which fields the save changes.
struct SaveEvent {
    bool created = false;         ///< post_save: the row was inserted (false in pre_save)
    bool raw = false;             ///< saved as loaded from a fixture: do not touch other rows
    std::string_view database{};  ///< the database alias written to
    /// The fields given to save(update_fields=…), or nullopt when all fields are saved.
    std::optional<std::set<std::string>> update_fields{};
    /// Set by save() when the model's changes are tracked; null otherwise (the model layer's).
    /// Valid during the send only: whoever keeps a copy of the event past it (to deliver it
    /// later) must copy changes() first and reset this to null.
    const detail::SaveChanges* tracking = nullptr;

    /// The fields this save writes (all, or update_fields) whose value differs from the one
    /// loaded or last saved, with both values, in field order. An instance without snapshot (new,
    /// or loaded before tracking began) has every written field changed, previous = nullopt.
    /// Read when asked: in pre_save the instance's values now, in post_save those saved.
    /// Throws ModelError when no receiver of the model asked for changes (track_changes).
    [[nodiscard]] FieldChanges changes() const;
    /// True when changes() lists `field`. Throws ModelError for an unknown field.
    [[nodiscard]] bool has_changed(std::string_view field) const;
    /// The value of `field` when loaded or last saved (nullopt without snapshot). Throws
    /// ModelError for an unknown field.
    [[nodiscard]] std::optional<db::Value> previous(std::string_view field) const;
};

/// Options of ModelSignal::connect<T>(flags, receiver): `tocsin::with_subclasses`,
/// `tocsin::track_changes`, or both (`with_subclasses | track_changes`).
struct ModelFlags {
    bool subclasses = false;  ///< hear the models extending T too
    bool changes = false;     ///< track changed fields (SaveEvent::changes()) of T (and those)

    friend constexpr ModelFlags operator|(ModelFlags a, ModelFlags b) noexcept {
        return ModelFlags{a.subclasses || b.subclasses, a.changes || b.changes};
    }
};
/// The receiver hears every model extending T (registered now or later), as a T.
inline constexpr ModelFlags with_subclasses{true, false};
/// The model keeps a snapshot of its instances' saved values: SaveEvent::changes() works.
inline constexpr ModelFlags track_changes{false, true};

/// Who asked for a removal: an instance's remove(), or a query set's remove().
struct Origin {
    const ModelBase* instance = nullptr;  ///< the instance whose remove() was called, or null
    const void* queryset = nullptr;       ///< the query set whose remove() was called, or null
    Sender model{};                       ///< the model of that instance or query set
};

/// What pre_delete and post_delete tell their receivers.
struct DeleteEvent {
    std::string_view database{};  ///< the database alias
    Origin origin{};              ///< the same for every object of one removal (Django 4.1)
};

/// What pre_init and post_init tell their receivers: the row an instance is built from.
struct InitEvent {
    const db::Row* row = nullptr;  ///< the column values ("id" first), null when not from a row
};

namespace detail {
/// A copy of an event that owns what it refers to, kept for a commit-time receiver; `copy` is
/// the copy of `original`, the instance sent. Defined for the events that can wait for a commit.
template <class Event>
struct CommitCopy;

template <>
struct CommitCopy<SaveEvent> {
    CommitCopy(const SaveEvent& e, const ModelBase* /*copy*/, const ModelBase* /*original*/)
        : database(e.database), event(e) {
        event.database = database;
        event.tracking = nullptr;  // valid during the send only: changes() is not kept
    }
    CommitCopy(const CommitCopy&) = delete;
    CommitCopy& operator=(const CommitCopy&) = delete;
    std::string database;
    SaveEvent event;
};

template <>
struct CommitCopy<DeleteEvent> {
    /// The origin keeps its model; its instance is the copy when it was the instance sent, else
    /// null, and its query set is null: neither outlives the removal.
    CommitCopy(const DeleteEvent& e, const ModelBase* copy, const ModelBase* original)
        : database(e.database), event(e) {
        event.database = database;
        event.origin.instance = e.origin.instance == original ? copy : nullptr;
        event.origin.queryset = nullptr;
    }
    CommitCopy(const CommitCopy&) = delete;
    CommitCopy& operator=(const CommitCopy&) = delete;
    std::string database;
    DeleteEvent event;
};

template <class Event>
inline constexpr bool commit_copyable = requires {
    sizeof(CommitCopy<Event>);
};

/// Connects `receiver` to `signal` for the model labelled `label`, now if it is set up, else
/// when setup() registers it. A label no installed app defines makes setup() fail, naming the
/// receiver (as Django's signals.E001: its name, else its function's symbol, else its type), the
/// signal and the label.
template <class S, class F>
void connect_by_label(S& signal, std::string_view signal_name, std::string_view label, F receiver,
                      Connect options, tocsin::source_location where) {
    std::string receiver_name = options.name;
    if (receiver_name.empty()) {
        receiver_name = symbol_name(code_of(receiver));
    }
    if (receiver_name.empty()) {
        receiver_name = std::string(type_label_v<F>);
    }
    std::string who = "The function '" + receiver_name + "' was connected to the '" +
                      std::string(signal_name) + "' signal";
    Apps::instance().lazy_model_operation(
        label,
        [&signal, f = std::move(receiver), options = std::move(options),
         where](const apps::ModelDescription& model) mutable {
            options.sender = model.sender;
            signal.connect(std::move(f), std::move(options), where);
        },
        std::move(who));
}

/// A copy of `instance`, an instance of the model `model` (through its description).
std::shared_ptr<ModelBase> clone_model(const Sender& model, const ModelBase& instance);
}  // namespace detail

/// A signal sent with a model instance and an event, its sender being the model (Django's
/// ModelSignal). Connect by type (`post_save.connect<User>(…)`, the receiver gets `User&`), for
/// every model, or by label (`post_save.connect("auth.User", …)`) before the model is set up.
/// Constant-initialised, so receivers may connect from static initialisers in any order.
///
/// name(), disconnect(), has_listeners(), receiver_count(), receivers() and signal() come from
/// detail::LazySignal.
template <class Event>
class ModelSignal : public detail::LazySignal<void(ModelBase&, const Event&)> {
  public:
    /// A receiver of model `T`'s signal: `(T&, const Event&)`, or with the sender first.
    template <class F, class T>
    static constexpr bool typed_receiver = std::is_invocable_v<F&, T&, const Event&> ||
                                           std::is_invocable_v<F&, const Sender&, T&, const Event&>;

    /// The underlying signal: receivers get the instance and the event.
    using signal_type = Signal<void(ModelBase&, const Event&)>;

    constexpr explicit ModelSignal(std::string_view name) noexcept
        : detail::LazySignal<void(ModelBase&, const Event&)>(name) {}
    using detail::LazySignal<void(ModelBase&, const Event&)>::signal;

    /// Connects `receiver(T&, const Event&)` (or with the sender first) for the model `T` only.
    template <class T, class F>
    requires typed_receiver<F, T> Connection
    connect(F receiver, Connect options = {},
            tocsin::source_location where = tocsin::source_location::current())
    const {
        options.sender = Sender::of<T>();
        if (options.on_commit) {
            if constexpr (detail::commit_copyable<Event> && std::is_copy_constructible_v<T>) {
                return signal().connect(
                    DeferredTyped<T, F>{std::make_shared<F>(std::move(receiver))},
                    std::move(options), where);
            } else {
                throw std::invalid_argument(std::string(this->name()) +
                                            ": on_commit receivers are not available for this "
                                            "signal or model (its event or instance cannot be "
                                            "copied until the commit)");
            }
        }
        return signal().connect(Typed<T, F>{std::move(receiver)}, std::move(options), where);
    }

    /// Connects `receiver(T&, const Event&)` (or with the sender first) for the model `T` with
    /// `flags`:
    ///  - with_subclasses: the receiver also hears every model extending T, registered now or
    ///    later, and gets their instances as T&. Still one receiver, keyed by (receiver, T):
    ///    its Connection, or disconnect(receiver or uid, Sender::of<T>()), removes it from all;
    ///    connecting it again for T is a no-op (a receiver connected for T without the flag gains
    ///    the subclasses). A subclass for which the same receiver is connected hears it once.
    ///    Sends cost what a send to a receiver of that subclass costs.
    ///  - track_changes: T (and, with both flags, every model extending T) tracks changed
    ///    fields from now on, for every receiver (SaveEvent::changes()); this stays on.
    template <class T, class F>
    requires typed_receiver<F, T> Connection
    connect(ModelFlags flags, F receiver, Connect options = {},
            tocsin::source_location where = tocsin::source_location::current())
    const {
        Connection c = connect<T>(std::move(receiver), std::move(options), where);
        if (flags.subclasses || flags.changes) {
            signal_type* sig = &signal();
            const Sender base = Sender::of<T>();
            detail::watch_models(
                base, flags.subclasses,
                [sig, c, flags, base](const ModelInfo& model) {
                    if (flags.changes) {
                        detail::enable_change_tracking(model);
                    }
                    if (flags.subclasses && !(model.sender == base)) {
                        sig->add_sender(c, model.sender);
                    }
                },
                [c] { return c.connected(); });
        }
        return c;
    }

    /// Connects `receiver(ModelBase&, const Event&)` (or with the sender first) for every model,
    /// or for `options.sender`.
    template <class F>
    requires detail::receiver_for<F, ModelBase&, const Event&> Connection
    connect(F&& receiver, Connect options = {},
            tocsin::source_location where = tocsin::source_location::current())
    const {
        if (options.on_commit) {
            return signal().connect(deferred(std::forward<F>(receiver)), std::move(options), where);
        }
        return signal().connect(std::forward<F>(receiver), std::move(options), where);
    }

    /// Connects `receiver(ModelBase&, const Event&)` for the model labelled `label`
    /// ("auth.User"), now if it is set up, else when setup() registers it. A label that no
    /// installed app defines makes setup() fail, naming this receiver, the signal and the label.
    template <class F>
    requires detail::receiver_for<F, ModelBase&, const Event&>
    void connect(std::string_view label, F receiver, Connect options = {},
                 tocsin::source_location where = tocsin::source_location::current()) const {
        if (options.on_commit) {
            detail::connect_by_label(signal(), this->name(), label, deferred(std::move(receiver)),
                                     std::move(options), where);
        } else {
            detail::connect_by_label(signal(), this->name(), label, std::move(receiver),
                                     std::move(options), where);
        }
    }

    /// Sends for `instance`, whose model is `sender`.
    void send(const Sender& sender, ModelBase& instance, const Event& event) const {
        signal().send(sender, instance, event);
    }

  private:
    /// Adapts `receiver(T&, const Event&)`; keeps the identity and name of what it wraps, so
    /// the same function connected twice is one receiver, as in Django.
    template <class T, class F>
    struct Typed {
        using wrapped_type = F;
        F f;
        void operator()(const Sender& sender, ModelBase& instance, const Event& event) {
            if constexpr (std::is_invocable_v<F&, const Sender&, T&, const Event&>) {
                f(sender, static_cast<T&>(instance), event);
            } else {
                f(static_cast<T&>(instance), event);
            }
        }
        [[nodiscard]] detail::Identity identity() const noexcept { return detail::identity_of(f); }
        [[nodiscard]] const void* code() const noexcept { return detail::code_of(f); }
    };

    /// Adapts `receiver(T&, const Event&)` into a commit-time receiver: a send copies the
    /// instance and the event, the call waits for the commit of the event's database.
    template <class T, class F>
    struct DeferredTyped {
        using wrapped_type = F;
        static constexpr bool defers_to_commit = true;
        std::shared_ptr<F> f;
        void operator()(const Sender& sender, ModelBase& instance, const Event& event) const {
            auto copy = std::make_shared<T>(static_cast<const T&>(instance));
            auto owned =
                std::make_shared<const detail::CommitCopy<Event>>(event, copy.get(), &instance);
            const std::string_view alias = owned->database;
            db::on_commit(
                [f = f, sender, copy = std::move(copy), owned = std::move(owned)] {
                    if constexpr (std::is_invocable_v<F&, const Sender&, T&, const Event&>) {
                        (*f)(sender, *copy, owned->event);
                    } else {
                        (*f)(*copy, owned->event);
                    }
                },
                db::OnCommitOptions{.alias = alias, .robust = true});
        }
        [[nodiscard]] detail::Identity identity() const noexcept { return detail::identity_of(*f); }
        [[nodiscard]] const void* code() const noexcept { return detail::code_of(*f); }
    };

    /// The same for `receiver([const Sender&,] ModelBase&, const Event&)`: the instance is
    /// copied through its model's description.
    template <class F>
    struct DeferredAny {
        using wrapped_type = F;
        static constexpr bool defers_to_commit = true;
        std::shared_ptr<F> f;
        void operator()(const Sender& sender, ModelBase& instance, const Event& event) const {
            std::shared_ptr<ModelBase> copy = detail::clone_model(sender, instance);
            auto owned =
                std::make_shared<const detail::CommitCopy<Event>>(event, copy.get(), &instance);
            const std::string_view alias = owned->database;
            db::on_commit(
                [f = f, sender, copy = std::move(copy), owned = std::move(owned)] {
                    detail::call_receiver<void>(*f, sender, *copy, owned->event);
                },
                db::OnCommitOptions{.alias = alias, .robust = true});
        }
        [[nodiscard]] detail::Identity identity() const noexcept { return detail::identity_of(*f); }
        [[nodiscard]] const void* code() const noexcept { return detail::code_of(*f); }
    };

    /// `receiver` as a commit-time receiver; std::invalid_argument for an event that cannot wait.
    template <class F>
    auto deferred(F&& receiver) const {
        using Fn = std::decay_t<F>;
        if constexpr (detail::commit_copyable<Event>) {
            return DeferredAny<Fn>{std::make_shared<Fn>(std::forward<F>(receiver))};
        } else {
            throw std::invalid_argument(std::string(this->name()) +
                                        ": on_commit receivers are not available for this signal "
                                        "(its event cannot be copied until the commit)");
            return std::forward<F>(receiver);
        }
    }
};

/// Sent when tocsin builds an instance from a row, before its fields are set.
inline constinit ModelSignal<InitEvent> pre_init{"pre_init"};
/// Sent when tocsin has built an instance from a row.
inline constinit ModelSignal<InitEvent> post_init{"post_init"};
/// Sent by save() before it writes.
inline constinit ModelSignal<SaveEvent> pre_save{"pre_save"};
/// Sent by save() after it wrote (in the caller's transaction, not after commit).
inline constinit ModelSignal<SaveEvent> post_save{"post_save"};
/// Sent for every object a removal removes, dependents first, before any row is deleted.
inline constinit ModelSignal<DeleteEvent> pre_delete{"pre_delete"};
/// Sent for every object a removal removed, right after its model's rows were deleted.
inline constinit ModelSignal<DeleteEvent> post_delete{"post_delete"};

/// Sent once per model when its description is built; the sender is the model.
[[nodiscard]] Signal<void(const ModelInfo&)>& class_prepared();

namespace detail {
/// Creates the model signals (and class_prepared) now; returns true.
bool create_model_signals();
/// Creates them during static initialisation, so that all_signals() lists them before their
/// first use.
inline const bool model_signals_listed = create_model_signals();
}  // namespace detail

}  // namespace tocsin
