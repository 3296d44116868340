// The model signals: pre_init, post_init, pre_save, post_save, pre_delete, post_delete,
// class_prepared — sent by the model layer with the model as sender, as Django sends them.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tocsin/source_location.hpp>
#include <type_traits>

#include "tocsin/apps/registry.hpp"
#include "tocsin/db/value.hpp"
#include "tocsin/dispatch.hpp"
#include "tocsin/dispatch/detail/lazy_signal.hpp"
#include "tocsin/models/changes.hpp"
#include "tocsin/models/model_info.hpp"
#include "tocsin/models/signal_base.hpp"

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

/// True when `T` is a model: a class deriving from tocsin::Model<T> (so from ModelBase) that
/// declares its `label`. What connect<T>() and the other typed model APIs need.
template <class T>
concept ModelType = std::is_class_v<T> && std::is_base_of_v<ModelBase, T> && requires {
    { T::label } -> std::convertible_to<std::string_view>;
};

/// True when `F` can receive model `T`'s signal carrying `Event`: callable as
/// `(T&, const Event&)` or `(const Sender&, T&, const Event&)`.
template <class F, class T, class Event>
concept ModelReceiverFor = std::is_invocable_v<F&, T&, const Event&> ||
    std::is_invocable_v<F&, const Sender&, T&, const Event&>;

namespace detail {
template <class...>
inline constexpr bool always_false = false;

/// Checks at compile time that `T` is a model; on failure the compiler prints what is expected.
template <class T>
constexpr bool check_model_type() {
    static_assert(ModelType<T>,
                  "connect<T>(...): T must be a model type (ModelType<T>): a struct T : "
                  "tocsin::Model<T> declaring `static constexpr std::string_view label = "
                  "\"app.Model\";` and `static auto fields()`");
    return ModelType<T>;
}

/// Checks at compile time that `F` receives `T`'s signal carrying `Event` (T is ModelBase for a
/// receiver of every model); on failure the compiler prints the signature expected.
template <class Event, class T, class F>
constexpr bool check_model_receiver() {
    constexpr bool ok = ModelReceiverFor<F, T, Event>;
    constexpr bool any = std::is_same_v<T, ModelBase>;
    if constexpr (!ok && std::is_same_v<Event, SaveEvent>) {
        static_assert(ok || any,
                      "wrong receiver signature for pre_save/post_save connected for model T: "
                      "expected void(T& instance, const tocsin::SaveEvent& event), or "
                      "void(const tocsin::Sender& sender, T& instance, const tocsin::SaveEvent&)");
        static_assert(ok || !any,
                      "wrong receiver signature for pre_save/post_save: expected "
                      "void(tocsin::ModelBase& instance, const tocsin::SaveEvent& event), or "
                      "with const tocsin::Sender& sender first");
    } else if constexpr (!ok && std::is_same_v<Event, DeleteEvent>) {
        static_assert(ok || any,
                      "wrong receiver signature for pre_delete/post_delete connected for model "
                      "T: expected void(T& instance, const tocsin::DeleteEvent& event), or "
                      "with const tocsin::Sender& sender first");
        static_assert(ok || !any,
                      "wrong receiver signature for pre_delete/post_delete: expected "
                      "void(tocsin::ModelBase& instance, const tocsin::DeleteEvent& event), or "
                      "with const tocsin::Sender& sender first");
    } else if constexpr (!ok && std::is_same_v<Event, InitEvent>) {
        static_assert(ok,
                      "wrong receiver signature for pre_init/post_init: expected "
                      "void(T& instance, const tocsin::InitEvent& event) (T: the model "
                      "connected for, or tocsin::ModelBase), or with const tocsin::Sender& "
                      "sender first");
    } else {
        static_assert(ok,
                      "wrong receiver signature for a model signal: expected "
                      "void(T& instance, const Event& event) (T: the model connected for, "
                      "or tocsin::ModelBase; Event: the signal's event type), or with "
                      "const tocsin::Sender& sender first");
    }
    return ok;
}

/// A model signal's receiver that is a plain function, its type erased: what the connects of a
/// function pointer hand to the library, where ModelSignal<Event> compiles them once, instead
/// of a receiver adapter, a slot and their shared_ptr machinery in every file that connects one.
/// The same receiver as the function itself: its identity, code and type name are the
/// function's.
template <class Event>
struct FunctionReceiver {
    /// Calls `fn` (the function, cast back to its own type) with the instance as its model.
    using Call = void (*)(void (*fn)(), const Sender&, ModelBase&, const Event&);
    Call call = nullptr;
    void (*fn)() = nullptr;
    std::string_view type{};  ///< the function pointer's type name (type_label_v)

    void operator()(const Sender& sender, ModelBase& instance, const Event& event) const {
        call(fn, sender, instance, event);
    }
    [[nodiscard]] Identity identity() const noexcept {
        Identity id;
        id.kind = Identity::Kind::function;
        id.bits[0] = reinterpret_cast<std::uintptr_t>(fn);
        return id;
    }
    [[nodiscard]] const void* code() const noexcept {
        return reinterpret_cast<const void*>(
            reinterpret_cast<std::uintptr_t>(fn));  // NOLINT(performance-no-int-to-ptr)
    }
    [[nodiscard]] std::string_view type_label() const noexcept { return type; }
};

/// FunctionReceiver's call for a function of type `Fn` receiving model `T`: one small function
/// per receiver signature.
template <class Fn, class T, class Event>
void call_model_function(void (*fn)(), const Sender& sender, ModelBase& instance,
                         const Event& event) {
    const auto f = reinterpret_cast<Fn>(fn);
    if constexpr (std::is_invocable_v<Fn, const Sender&, T&, const Event&>) {
        f(sender, static_cast<T&>(instance), event);
    } else {
        f(static_cast<T&>(instance), event);
    }
}

/// `f` as a FunctionReceiver of model `T`'s signal carrying `Event`.
template <class T, class Event, class Fn>
FunctionReceiver<Event> function_receiver(Fn f) noexcept {
    return {&call_model_function<Fn, T, Event>, reinterpret_cast<void (*)()>(f), type_label_v<Fn>};
}

}  // namespace detail

/// A commit-time receiver (Connect::on_commit) of a model signal gets a copy of the instance sent,
/// made through the description of its model (the send's sender), so a receiver connected for a
/// model also hearing its subclasses gets the subclass's copy.
template <>
struct commit_copy<ModelBase> {
    /// A copy of `instance`; `context` remembers it, for the event's origin.
    static std::shared_ptr<ModelBase> make(const ModelBase& instance, CommitContext& context);
    /// The copy.
    static ModelBase& get(const std::shared_ptr<ModelBase>& kept) noexcept { return *kept; }
};

/// A commit-time receiver of pre_save/post_save waits for the commit of the save's database and
/// gets a copy of the event owning its alias; changes() is not kept (its tracking is valid during
/// the send only).
template <>
struct commit_copy<SaveEvent> {
    /// The copy: an event whose `database` points to `alias`.
    struct Kept {
        explicit Kept(const SaveEvent& e);
        Kept(const Kept&) = delete;
        Kept& operator=(const Kept&) = delete;
        ~Kept() = default;
        std::string alias;
        SaveEvent event;
    };
    /// Copies `event`; the receiver waits for the commit of `event.database`.
    static std::shared_ptr<const Kept> make(const SaveEvent& event, CommitContext& context);
    /// The copy.
    static const SaveEvent& get(const std::shared_ptr<const Kept>& kept) noexcept {
        return kept->event;
    }
};

/// A commit-time receiver of pre_delete/post_delete waits for the commit of the removal's
/// database and gets a copy of the event: its origin keeps its model; its instance is the copy
/// of the instance sent when that was the origin, else null; its query set is null (neither
/// outlives the removal).
template <>
struct commit_copy<DeleteEvent> {
    /// The copy: an event whose `database` points to `alias`, whose origin holds `origin`.
    struct Kept {
        Kept(const DeleteEvent& e, const CommitContext& context);
        Kept(const Kept&) = delete;
        Kept& operator=(const Kept&) = delete;
        ~Kept() = default;
        std::string alias;
        std::shared_ptr<void> origin;
        DeleteEvent event;
    };
    /// Copies `event`; the receiver waits for the commit of `event.database`.
    static std::shared_ptr<const Kept> make(const DeleteEvent& event, CommitContext& context);
    /// The copy.
    static const DeleteEvent& get(const std::shared_ptr<const Kept>& kept) noexcept {
        return kept->event;
    }
};

/// pre_init/post_init refuse commit-time receivers: the row they carry is the query's.
template <>
struct commit_copy<InitEvent> {};

/// A signal sent with a model instance and an event, its sender being the model (Django's
/// ModelSignal). Connect by type (`post_save.connect<User>(…)`, the receiver gets `User&`), for
/// every model, or by label (`post_save.connect("auth.User", …)`) before the model is set up.
/// Constant-initialised, so receivers may connect from static initialisers in any order.
///
/// name(), disconnect() (also by label), has_listeners(), receiver_count(), receivers() and
/// signal() come from detail::ModelLayerSignal.
template <class Event>
class ModelSignal : public detail::ModelLayerSignal<void(ModelBase&, const Event&)> {
    using Base = detail::ModelLayerSignal<void(ModelBase&, const Event&)>;

  public:
    /// A receiver of model `T`'s signal: `(T&, const Event&)`, or with the sender first.
    template <class F, class T>
    static constexpr bool typed_receiver = ModelReceiverFor<F, T, Event>;

    /// The underlying signal: receivers get the instance and the event.
    using signal_type = Signal<void(ModelBase&, const Event&)>;

    constexpr explicit ModelSignal(std::string_view name) noexcept : Base(name) {}
    using Base::disconnect;
    using Base::signal;

    /// Connects `receiver(T&, const Event&)` (or with the sender first) for the model `T` only.
    /// A `T` that is not a model, or a receiver of another signature, fails to compile with a
    /// message saying what is expected.
    template <class T, class F>
    Connection connect(F receiver, Connect options = {},
                       tocsin::source_location where = tocsin::source_location::current()) const {
        if constexpr (!detail::check_model_type<T>()) {
            return {};
        } else if constexpr (!detail::check_model_receiver<Event, T, F>()) {
            return {};
        } else if constexpr (detail::is_function_pointer_v<F>) {
            return connect_function(Sender::of<T>(), T::label,
                                    detail::function_receiver<T, Event>(receiver),
                                    std::move(options), where, ModelFlags{});
        } else {
            return connect_typed<T>(std::move(receiver), std::move(options), where);
        }
    }

  private:
    /// Connects `receiver` for the model `T` through Typed, also as a commit-time receiver
    /// (Signal::connect's one commit-time route: the instance is copied through its model's
    /// description, the event by commit_copy<Event>, which names the database to wait for).
    template <class T, class F>
    Connection connect_typed(F receiver, Connect options, tocsin::source_location where) const {
        return this->template connect_for_model<T>(
            Sender::of<T>(), Typed<T, F>{std::move(receiver)}, std::move(options), where);
    }

  public:
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
    Connection connect(ModelFlags flags, F receiver, Connect options = {},
                       tocsin::source_location where = tocsin::source_location::current()) const {
        if constexpr (!detail::check_model_type<T>() ||
                      !detail::check_model_receiver<Event, T, F>()) {
            return {};
        } else {
            return connect_with_flags<T>(flags, std::move(receiver), std::move(options), where);
        }
    }

  private:
    template <class T, class F>
    Connection connect_with_flags(ModelFlags flags, F receiver, Connect options,
                                  tocsin::source_location where) const {
        if constexpr (detail::is_function_pointer_v<F>) {
            return connect_function(Sender::of<T>(), T::label,
                                    detail::function_receiver<T, Event>(receiver),
                                    std::move(options), where, flags);
        } else {
            Connection c = connect_typed<T>(std::move(receiver), std::move(options), where);
            watch_flags(flags, c, Sender::of<T>());
            return c;
        }
    }

    /// Applies `flags` to the receiver of `c`, connected for the model `base` (out of line).
    void watch_flags(ModelFlags flags, const Connection& c, const Sender& base) const;

    /// Connects the function `receiver` for `model` (labelled `label`: setup() refuses it unless
    /// an installed app lists it), with `flags`; for every model, or `options.sender`, when
    /// `label` is empty. Compiled in the library.
    Connection connect_function(const Sender& model, std::string_view label,
                                detail::FunctionReceiver<Event> receiver, Connect options,
                                tocsin::source_location where, ModelFlags flags) const;
    /// Connects the function `receiver` for the model labelled `label`, now or when setup()
    /// registers it. Compiled in the library.
    void connect_function(std::string_view label, detail::FunctionReceiver<Event> receiver,
                          Connect options, tocsin::source_location where) const;

  public:
    /// A plain function receiving any model's instance.
    using Function = void (*)(ModelBase&, const Event&);
    /// A plain function receiving any model's instance, with the sender first.
    using SenderFunction = void (*)(const Sender&, ModelBase&, const Event&);

    /// Connects the function `receiver` for every model, or for `options.sender`: the same as
    /// the template below, compiled once in the library (a file connecting plain functions
    /// compiles no receiver adapter of its own).
    Connection connect(Function receiver, Connect options = {},
                       tocsin::source_location where = tocsin::source_location::current()) const;
    /// As above, for a function taking the sender first.
    Connection connect(SenderFunction receiver, Connect options = {},
                       tocsin::source_location where = tocsin::source_location::current()) const;
    /// Connects the function `receiver` for the model labelled `label`, as the template below,
    /// compiled once in the library.
    void connect(std::string_view label, Function receiver, Connect options = {},
                 tocsin::source_location where = tocsin::source_location::current()) const;
    /// As above, for a function taking the sender first.
    void connect(std::string_view label, SenderFunction receiver, Connect options = {},
                 tocsin::source_location where = tocsin::source_location::current()) const;

    /// Connects `receiver(ModelBase&, const Event&)` (or with the sender first) for every model,
    /// or for `options.sender`. Another signature fails to compile, saying the one expected.
    template <class F>
    Connection connect(F&& receiver, Connect options = {},
                       tocsin::source_location where = tocsin::source_location::current()) const {
        if constexpr (!detail::check_model_receiver<Event, ModelBase, std::decay_t<F>>()) {
            return {};
        } else {
            return this->connect_receiver(std::forward<F>(receiver), std::move(options), where);
        }
    }

    /// Connects `receiver(ModelBase&, const Event&)` for the model labelled `label`
    /// ("auth.User"), now if it is set up, else when setup() registers it. A label that no
    /// installed app defines makes setup() fail, naming this receiver, the signal and the label.
    template <class F>
    void connect(std::string_view label, F receiver, Connect options = {},
                 tocsin::source_location where = tocsin::source_location::current()) const {
        if constexpr (!detail::check_model_receiver<Event, ModelBase, F>()) {
            return;
        } else {
            this->connect_for_label(label, std::move(receiver), std::move(options), where);
        }
    }

    /// Sends for `instance`, whose model is `sender` (a send observer sees the instance).
    void send(const Sender& sender, ModelBase& instance, const Event& event) const {
        this->send_instance(sender, instance, event);
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
