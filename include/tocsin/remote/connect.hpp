// remote::connect: a receiver that runs in a worker process instead of the sender's.
//
//     void welcome_mail(User& user, const tocsin::SaveEvent& e);   // an ordinary receiver
//
//     tocsin::remote::connect<User>(tocsin::post_save, &welcome_mail,
//                                   {.queue = "mail", .dispatch_uid = "accounts.welcome"});
//
// Sending the signal then writes an outbox event (in the sender's transaction, whose sends to
// one receiver share one row: a packed row); a Worker of the
// same program (`manage worker --queue mail`) finds the receiver by its dispatch_uid and runs it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tocsin/source_location.hpp>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "tocsin/dispatch.hpp"
#include "tocsin/models/model.hpp"
#include "tocsin/models/query.hpp"
#include "tocsin/models/signals.hpp"
#include "tocsin/remote/codec.hpp"

namespace tocsin::remote {

/// How a worker retries a remote receiver that threw: attempt n waits `delay * 2^(n-1)` (at most
/// `max_delay`), shortened by a random jitter of up to half of it; after `max_attempts` failed
/// attempts the row is dead, keeping the last error.
struct RetryPolicy {
    int max_attempts = 5;
    std::chrono::milliseconds delay{1000};
    std::chrono::milliseconds max_delay{std::chrono::minutes(10)};
};

/// Options of remote::connect. An aggregate: `{.queue = "mail", .dispatch_uid =
/// "accounts.welcome"}`.
struct RemoteOptions {
    /// The queue its rows go to; a worker serves some queues (`manage worker --queue mail`).
    std::string queue = "default";
    /// Required: the receiver's name across processes. A worker of the same program finds the
    /// function by it; connecting it again is a no-op (Django's dispatch_uid).
    std::string dispatch_uid{};
    /// Hear this sender only (none: every sender): a custom signal's sender, or, for
    /// `remote::connect(post_save, f, ...)` (every model), one model (`Sender::of<User>()`).
    /// connect<T> and the label connect name their model themselves and ignore it.
    Sender sender{};
    /// Custom signals: the database alias whose outbox the rows go to (and whose transaction
    /// they join); "" = "default". Model signals use the event's database.
    std::string database{};
    RetryPolicy retry{};
    /// Receivers with a higher priority are enqueued first (Connect::priority).
    int priority = 0;
    /// Model signals: the events of one instance (one model and primary key) run one at a time,
    /// in commit order, whatever the number of workers; a failing event (waiting for its retry)
    /// holds back the later events of that instance only, until it is done, skipped or dead.
    /// Custom signals refuse it (std::invalid_argument: their senders are not objects a worker
    /// can name).
    bool ordered = false;
};

/// The event a worker is running a receiver for: what `current_delivery()` returns. The events
/// of one transaction's sends to a receiver travel in one outbox row (a packed row): they share
/// its id, and each has a key of its own.
struct Delivery {
    std::int64_t id = 0;   ///< the outbox row's id (shared by the events of a packed row)
    std::string queue;     ///< its queue
    std::string receiver;  ///< the receiver's dispatch_uid
    /// Unique per event, the same at every attempt: the row's key, and for the events of a packed
    /// row the row's key + "." + the event's index (kept when a failed event leaves its row).
    std::string idempotency_key;
    int attempt = 0;              ///< 1 at the first attempt
    std::int64_t created_at = 0;  ///< when the row was written (µs since the epoch)
    std::string database;         ///< the alias the worker reads and writes
    int event = 0;                ///< the event's index in its row (0: the first, or the only)
};

/// The delivery being run on this thread, or null outside a worker's call of a remote receiver.
/// Receivers with outside effects (a mail) pass `idempotency_key` on, so that a retry after a
/// crash is recognised.
[[nodiscard]] const Delivery* current_delivery() noexcept;

/// What introspection (`manage receivers`, `manage outbox`) tells of one remote receiver.
struct RemoteReceiverInfo {
    std::string dispatch_uid;
    std::string queue;
    std::string signal;  ///< the signal's name
    /// The model's label ("auth.User"; "auth.User+subclasses" with with_subclasses) or the
    /// sender's name; "" for any sender.
    std::string sender;
    RetryPolicy retry{};
    bool ordered = false;  ///< RemoteOptions::ordered
    bool batch = false;    ///< connected with connect_batch: called once per batch
};

/// One event of the batch a batch receiver (connect_batch) is called with: the signal's
/// arguments read back as values, and the outbox row it came from (`delivery.idempotency_key`
/// is unique per event and the same at every attempt).
template <class... Args>
struct BatchEvent {
    std::tuple<Args...> args;
    Delivery delivery;
    /// The argument at @p I (`event.get<0>()`: the first).
    template <std::size_t I>
    [[nodiscard]] const auto& get() const noexcept {
        return std::get<I>(args);
    }
};

/// Every remote receiver registered in this process, by dispatch_uid.
[[nodiscard]] std::vector<RemoteReceiverInfo> remote_receivers();
/// The remote receiver registered under @p dispatch_uid for the signal named @p signal, if any.
[[nodiscard]] std::optional<RemoteReceiverInfo> find_remote_receiver(std::string_view signal,
                                                                     std::string_view dispatch_uid);

namespace detail {

/// What running one outbox row came to: ran, or skipped with the reason.
struct RunResult {
    bool skipped = false;
    std::string note{};
};

/// One outbox row as a remote receiver runs it.
struct RunContext {
    const nlohmann::json& payload;  ///< the row's payload, parsed
    std::string_view database;      ///< the worker's alias
    std::string_view sender;        ///< the row's sender column (a model's label)
};

/// One row of the batch a batch receiver runs: its payload, parsed, and its delivery.
struct BatchRow {
    const nlohmann::json* payload = nullptr;
    const Delivery* delivery = nullptr;
};

/// A registered remote receiver: its description and how to run it from a row on a database.
/// A batch receiver (connect_batch) also has run_batch, called with all its rows of a batch;
/// its `run` runs one row as a batch of one.
struct RemoteReceiver {
    RemoteReceiverInfo info;
    std::function<RunResult(const RunContext& row)> run;
    std::function<void(std::span<const BatchRow> rows)> run_batch{};
};

/// Registers @p receiver under its dispatch_uid, process-wide; returns what is registered (the
/// earlier one for the same uid and signal: connecting again is a no-op). The same uid on another
/// signal or queue is an std::invalid_argument.
std::shared_ptr<const RemoteReceiver> register_receiver(RemoteReceiver receiver);
/// The receiver registered under @p dispatch_uid, or null.
std::shared_ptr<const RemoteReceiver> find_receiver(std::string_view dispatch_uid);
/// Removes every registration (tests).
void clear_receivers() noexcept;

/// Refuses options without dispatch_uid or queue (std::invalid_argument naming the signal).
void check_options(const RemoteOptions& options, std::string_view signal);

/// Writes the outbox row of one send to @p receiver on @p alias: in the transaction open there,
/// else in its own autocommit write; on PostgreSQL with a NOTIFY delivered at commit. @p sender
/// fills the sender column; @p ordering_key (ordered receivers) the ordering_key column.
void enqueue(const RemoteReceiver& receiver, std::string_view alias, std::string_view sender,
             const std::string& payload, const std::string* ordering_key = nullptr);

/// Writes the outbox row of one post_save of @p instance (model @p sender) to @p receiver.
void enqueue_save(const RemoteReceiver& receiver, const Sender& sender, const ModelBase& instance,
                  const SaveEvent& event);

/// Creates the outbox on every migrate() (post_migrate), once per process.
void connect_outbox_migration();

/// The local receiver of a remote model-signal receiver: writes the row. Named after the
/// function it stands for.
template <class F>
struct ModelEnqueue {
    using wrapped_type = F;
    std::shared_ptr<const RemoteReceiver> receiver;
    std::shared_ptr<F> fn;
    void operator()(const Sender& sender, ModelBase& instance, const SaveEvent& event) const {
        enqueue_save(*receiver, sender, instance, event);
    }
    [[nodiscard]] const void* code() const noexcept { return ::tocsin::detail::code_of(*fn); }
};

/// The local receiver of a remote custom-signal receiver.
template <class F, class... Args>
struct SignalEnqueue {
    using wrapped_type = F;
    std::shared_ptr<const RemoteReceiver> receiver;
    std::shared_ptr<F> fn;
    std::string database;
    void operator()(const std::remove_cvref_t<Args>&... args) const {
        enqueue(*receiver, database, receiver->info.sender, encode_arguments(args...));
    }
    [[nodiscard]] const void* code() const noexcept { return ::tocsin::detail::code_of(*fn); }
};

/// Which models' rows a remote model receiver accepts.
struct ModelScope {
    const ModelInfo* model = nullptr;  ///< this model (with subclasses: or one extending it)
    std::string label{};               ///< or the model labelled so (by label)
    bool subclasses = false;
    Sender sender{};  ///< or the model whose sender this is (RemoteOptions::sender); none: any
};

/// A post_save row made ready for its receiver: the instance loaded fresh (null when removed
/// since: `note` says so) and the event rebuilt, whose changes() tells what the send recorded.
/// Not movable: the event points into it.
struct LoadedSave {
    LoadedSave() = default;
    LoadedSave(const LoadedSave&) = delete;
    LoadedSave& operator=(const LoadedSave&) = delete;

    std::shared_ptr<ModelBase> instance;  ///< an instance of `model`
    const ModelInfo* model = nullptr;
    std::string note;  ///< why the instance is null
    SaveEvent event;
    // What event.tracking points to, when the send recorded the changes.
    std::shared_ptr<ModelBase> at_send;  ///< the instance with the values the save wrote
    std::shared_ptr<const ::tocsin::detail::FieldSnapshot> before;
    ::tocsin::detail::SaveChanges tracking;
};

/// Loads the instance a post_save row names (from the batch the worker loaded, else with a
/// SELECT) and rebuilds its event. std::invalid_argument when the row's model is unknown or
/// outside @p scope.
std::unique_ptr<LoadedSave> load_save(const RunContext& row, const ModelScope& scope,
                                      std::string_view receiver);

/// Loads the instance a post_save row names, fresh, and calls @p fn with it and the event.
template <class T, class F>
RunResult run_model_receiver(F& fn, const RunContext& row, const ModelScope& scope,
                             std::string_view receiver) {
    const std::unique_ptr<LoadedSave> loaded = load_save(row, scope, receiver);
    if (!loaded->instance) {
        return {true, std::move(loaded->note)};
    }
    T& instance = static_cast<T&>(*loaded->instance);
    ::tocsin::detail::call_receiver<void>(fn, loaded->model->sender, instance, loaded->event);
    return {};
}

template <class Event>
inline constexpr bool is_save_event = std::is_same_v<Event, SaveEvent>;

/// Registers a remote receiver of post_save for @p scope; returns it with its function.
template <class T, class F>
std::pair<std::shared_ptr<const RemoteReceiver>, std::shared_ptr<F>> register_model_receiver(
    std::string_view signal_name, F receiver, const RemoteOptions& options, ModelScope scope,
    std::string sender_label) {
    check_options(options, signal_name);
    if (signal_name != "post_save") {
        throw std::invalid_argument(
            "remote receiver '" + options.dispatch_uid + "' of " + std::string(signal_name) +
            ": only post_save can be remote (a worker runs after the commit, when the state "
            "before the write is gone)");
    }
    auto fn = std::make_shared<F>(std::move(receiver));
    std::string uid = options.dispatch_uid;
    RemoteReceiver remote{
        {options.dispatch_uid, options.queue, std::string(signal_name), std::move(sender_label),
         options.retry, options.ordered},
        [fn, scope = std::move(scope), uid = std::move(uid)](const RunContext& row) {
            return run_model_receiver<T>(*fn, row, scope, uid);
        }};
    auto registered = register_receiver(std::move(remote));
    connect_outbox_migration();
    return {std::move(registered), std::move(fn)};
}

/// The Connect options of the local half of a remote receiver.
inline Connect local_options(const RemoteOptions& options) {
    return Connect{.dispatch_uid = options.dispatch_uid,
                   .priority = options.priority,
                   .name = options.dispatch_uid};
}

}  // namespace detail

/// Connects @p receiver (an ordinary receiver of model `T`'s post_save: `(T&, const SaveEvent&)`,
/// or with the sender first) to run in a worker. The sender's process connects a local receiver
/// under the same dispatch_uid that writes one outbox event per save: `T`'s primary key and the
/// event's created, raw and update_fields (and the changed fields with their previous values when
/// the model tracks them), in the save's transaction (its own autocommit write outside one; the
/// events of one transaction share a row, unless the receiver is ordered). The
/// worker loads the row fresh by primary key (skipping it when it was removed since) and calls
/// @p receiver inside a transaction that also marks the outbox row done.
///
/// Only post_save can be remote: pre_save's "before the write" is gone by the time a worker runs
/// (std::invalid_argument), and the delete signals' rows are gone (a compile error: send a
/// custom signal carrying the data instead). `options.dispatch_uid` is required
/// (std::invalid_argument).
template <class T, class F, class Event>
Connection connect(const ModelSignal<Event>& signal, F receiver, RemoteOptions options,
                   tocsin::source_location where = tocsin::source_location::current()) {
    return connect<T>(signal, ModelFlags{}, std::move(receiver), std::move(options), where);
}

/// The same with `flags`, as ModelSignal::connect<T>(flags, ...): `tocsin::with_subclasses` (the
/// receiver also runs for the saves of every model extending `T`, getting them as `T&`; their rows
/// name the model saved), `tocsin::track_changes` (`T` tracks its changed fields: the rows carry
/// them, and the worker's SaveEvent::changes() tells them as they were at the send), or both.
template <class T, class F, class Event>
Connection connect(const ModelSignal<Event>& signal, ModelFlags flags, F receiver,
                   RemoteOptions options,
                   tocsin::source_location where = tocsin::source_location::current()) {
    static_assert(detail::is_save_event<Event>,
                  "tocsin::remote::connect: of the model signals only post_save can be remote "
                  "(a worker loads the instance by primary key; after a removal there is nothing "
                  "to load): send a custom signal carrying the data the receiver needs");
    if constexpr (!detail::is_save_event<Event>) {
        return {};
    } else if constexpr (!::tocsin::detail::check_model_type<T>() ||
                         !::tocsin::detail::check_model_receiver<Event, T, F>()) {
        return {};
    } else {
        auto [registered, fn] = detail::register_model_receiver<T>(
            signal.name(), std::move(receiver), options,
            detail::ModelScope{.model = &T::info(), .subclasses = flags.subclasses},
            std::string(T::label) + (flags.subclasses ? "+subclasses" : ""));
        return signal.template connect<T>(
            flags, detail::ModelEnqueue<F>{std::move(registered), std::move(fn)},
            detail::local_options(options), where);
    }
}

/// Connects @p receiver (`(ModelBase&, const SaveEvent&)`, or with the sender first) of post_save
/// to run in a worker for the saves of every model, or of the model `options.sender` names (the
/// instance is loaded as its own model, the sender is that model). Otherwise as connect<T>.
template <class F>
Connection connect(const ModelSignal<SaveEvent>& signal, F receiver, RemoteOptions options,
                   tocsin::source_location where = tocsin::source_location::current()) {
    if constexpr (!::tocsin::detail::check_model_receiver<SaveEvent, ModelBase, F>()) {
        return {};
    } else {
        auto [registered, fn] = detail::register_model_receiver<ModelBase>(
            signal.name(), std::move(receiver), options,
            detail::ModelScope{.sender = options.sender},
            options.sender.is_none() ? std::string() : options.sender.name());
        Connect local = detail::local_options(options);
        local.sender = options.sender;
        return signal.connect(detail::ModelEnqueue<F>{std::move(registered), std::move(fn)},
                              std::move(local), where);
    }
}

/// Connects @p receiver (`(ModelBase&, const SaveEvent&)`, or with the sender first) of post_save
/// to run in a worker for the model labelled @p label ("auth.User"), now if it is set up, else
/// when setup() registers it (a label no installed app defines makes setup() fail, as
/// ModelSignal::connect(label, ...)). Disconnect it with `post_save.disconnect(uid, label)`.
template <class F>
void connect(const ModelSignal<SaveEvent>& signal, std::string_view label, F receiver,
             RemoteOptions options,
             tocsin::source_location where = tocsin::source_location::current()) {
    if constexpr (!::tocsin::detail::check_model_receiver<SaveEvent, ModelBase, F>()) {
        return;
    } else {
        auto [registered, fn] = detail::register_model_receiver<ModelBase>(
            signal.name(), std::move(receiver), options,
            detail::ModelScope{.label = std::string(label)}, std::string(label));
        signal.connect(label, detail::ModelEnqueue<F>{std::move(registered), std::move(fn)},
                       detail::local_options(options), where);
    }
}

namespace detail {

/// Throws std::invalid_argument for `.ordered` on a custom signal's remote receiver (its sender
/// names no object a worker can order by).
inline void refuse_ordered(const RemoteOptions& options, std::string_view signal) {
    if (options.ordered) {
        throw std::invalid_argument("remote receiver '" + options.dispatch_uid + "' of " +
                                    std::string(signal) +
                                    ": .ordered is for model signals (the events of one "
                                    "instance); a custom signal's sender names no object a "
                                    "worker can order by");
    }
}

/// Registers @p remote and connects to @p signal what writes its outbox rows on
/// `options.database` (remote::connect and remote::connect_batch of a custom signal).
template <class F, class... Args>
Connection connect_enqueue(Signal<void(Args...)>& signal, RemoteReceiver remote,
                           std::shared_ptr<F> fn, const RemoteOptions& options,
                           tocsin::source_location where) {
    auto registered = register_receiver(std::move(remote));
    connect_outbox_migration();
    std::string database =
        options.database.empty() ? std::string(db::default_alias) : options.database;
    return signal.connect(
        SignalEnqueue<F, Args...>{std::move(registered), std::move(fn), std::move(database)},
        Connect{.sender = options.sender,
                .dispatch_uid = options.dispatch_uid,
                .priority = options.priority,
                .name = options.dispatch_uid},
        where);
}

}  // namespace detail

/// Connects @p receiver of a custom signal to run in a worker: each send writes one outbox event
/// (the sends of one transaction share a row) holding the arguments as JSON (every argument type
/// must be a RemoteArgument: a compile error otherwise), in the transaction open on
/// `options.database`, else in its own write. The worker reads them back as values and calls @p
/// receiver (with `options.sender` first when it takes a sender). The signal must return void.
/// `options.dispatch_uid` is required.
template <class F, class... Args>
requires ReceiverFor<F, Args...> Connection
connect(Signal<void(Args...)>& signal, F receiver, RemoteOptions options,
        tocsin::source_location where = tocsin::source_location::current()) {
    static_assert((RemoteArgument<std::remove_cvref_t<Args>> && ...),
                  "tocsin::remote::connect: every argument of the signal must travel as data "
                  "(RemoteArgument<T>): give its type nlohmann JSON to_json(json&, const T&) and "
                  "from_json(const json&, T&), found by ADL");
    if constexpr ((RemoteArgument<std::remove_cvref_t<Args>> && ...)) {
        detail::check_options(options, signal.name());
        detail::refuse_ordered(options, signal.name());
        auto fn = std::make_shared<F>(std::move(receiver));
        const Sender sender = options.sender;
        detail::RemoteReceiver remote{
            {options.dispatch_uid, options.queue, std::string(signal.name()),
             sender.is_none() ? std::string() : sender.name(), options.retry},
            [fn, sender](const detail::RunContext& row) {
                auto values = detail::decode_arguments<std::remove_cvref_t<Args>...>(row.payload);
                std::apply(
                    [&](auto&... a) { ::tocsin::detail::call_receiver<void>(*fn, sender, a...); },
                    values);
                return detail::RunResult{};
            }};
        return detail::connect_enqueue(signal, std::move(remote), std::move(fn), options, where);
    } else {
        return {};
    }
}

/// Connects @p receiver of a custom signal to run in a worker **once per batch**: sends write
/// outbox rows exactly as remote::connect's, and the worker calls
/// `receiver(std::span<const BatchEvent<std::remove_cvref_t<Args>...>> events)` once with all
/// the events of the batch it claimed for this receiver (about WorkerOptions::batch_size: whole
/// packed rows, in the order they were written), inside the batch's transaction — so that it can
/// write all their effects with one statement (`Model::objects().bulk_create(...)`); the rows are
/// then marked done (or deleted: WorkerOptions::delete_done) by one statement of the same
/// transaction, which also checks that this worker still holds every claim. The effect is
/// exactly once for writes through tocsin to the worker's database, as for remote::connect.
///
/// When the call throws (or a claim of the batch was taken over), the whole batch transaction
/// rolls back and the worker runs the batch's rows again one by one, each as a batch of one
/// event in its own savepoint: the events that succeed are done, only those that fail again
/// count a failed attempt (retried after the RetryPolicy's backoff, dead after max_attempts),
/// so one bad event neither loses nor duplicates its batch mates. Read each event's `delivery`,
/// not current_delivery() (null during a call with several events). `.ordered` is refused, as for
/// remote::connect of a custom signal (std::invalid_argument); `options.dispatch_uid` is
/// required. Model signals have no batch receiver yet.
template <class F, class... Args>
Connection connect_batch(Signal<void(Args...)>& signal, F receiver, RemoteOptions options,
                         tocsin::source_location where = tocsin::source_location::current()) {
    using Event = BatchEvent<std::remove_cvref_t<Args>...>;
    static_assert((RemoteArgument<std::remove_cvref_t<Args>> && ...),
                  "tocsin::remote::connect_batch: every argument of the signal must travel as "
                  "data (RemoteArgument<T>): give its type nlohmann JSON to_json(json&, const T&) "
                  "and from_json(const json&, T&), found by ADL");
    static_assert(std::is_invocable_v<F&, std::span<const Event>>,
                  "tocsin::remote::connect_batch: the receiver must take the batch, "
                  "std::span<const tocsin::remote::BatchEvent<Args...>> (the signal's argument "
                  "types without const and &)");
    if constexpr ((RemoteArgument<std::remove_cvref_t<Args>> && ...) &&
                  std::is_invocable_v<F&, std::span<const Event>>) {
        detail::check_options(options, signal.name());
        detail::refuse_ordered(options, signal.name());
        auto fn = std::make_shared<F>(std::move(receiver));
        auto run_batch = [fn](std::span<const detail::BatchRow> rows) {
            std::vector<Event> events;
            events.reserve(rows.size());
            for (const detail::BatchRow& row : rows) {
                events.push_back(
                    Event{detail::decode_arguments<std::remove_cvref_t<Args>...>(*row.payload),
                          *row.delivery});
            }
            (*fn)(std::span<const Event>(events));
        };
        detail::RemoteReceiver remote{
            {options.dispatch_uid, options.queue, std::string(signal.name()),
             options.sender.is_none() ? std::string() : options.sender.name(), options.retry, false,
             true},
            [run_batch](const detail::RunContext& row) {
                const Delivery* current = current_delivery();
                const Delivery fallback{};
                const detail::BatchRow one{&row.payload, current != nullptr ? current : &fallback};
                run_batch(std::span<const detail::BatchRow>(&one, 1));
                return detail::RunResult{};
            },
            run_batch};
        return detail::connect_enqueue(signal, std::move(remote), std::move(fn), options, where);
    } else {
        return {};
    }
}

}  // namespace tocsin::remote
