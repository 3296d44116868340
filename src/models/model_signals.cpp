// The model signals' connects of plain functions (ModelSignal<Event>::connect of a function
// pointer, typed or not, by label, with flags), compiled here once per signal instead of in
// every file that connects a receiver: the receiver reaches the signal as a
// detail::FunctionReceiver, the one receiver type of these connects.
#include <string>
#include <string_view>
#include <utility>

#include "tocsin/models/bulk_signals.hpp"
#include "tocsin/models/migrate_signals.hpp"
#include "tocsin/models/model_info.hpp"
#include "tocsin/models/signals.hpp"

namespace tocsin {

// The commit-time copies of the model layer's events that are not a model signal's, out of line:
// compiled once, not in every file including models.hpp.
std::shared_ptr<const commit_copy<MigrateEvent>::Kept> commit_copy<MigrateEvent>::make(
    const MigrateEvent& event, CommitContext& context) {
    context.alias = event.database;
    return std::make_shared<const Kept>(event);
}

BulkCreateEvent commit_copy<BulkCreateEvent>::make(const BulkCreateEvent& e,
                                                   CommitContext& context) {
    context.alias = e.database;
    return {e.pks, {}, e.database};
}

UpdateEvent commit_copy<UpdateEvent>::make(const UpdateEvent& e, CommitContext& context) {
    context.alias = e.database;
    return e;
}

template <class Event>
void ModelSignal<Event>::watch_flags(ModelFlags flags, const Connection& c,
                                     const Sender& base) const {
    if (!flags.subclasses && !flags.changes) {
        return;
    }
    signal_type* sig = &signal();
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

template <class Event>
Connection ModelSignal<Event>::connect_function(const Sender& model, std::string_view label,
                                                detail::FunctionReceiver<Event> receiver,
                                                Connect options, tocsin::source_location where,
                                                ModelFlags flags) const {
    if (label.empty()) {
        return signal().connect(receiver, std::move(options), where);
    }
    options.sender = model;
    const auto used = detail::note_model_use(this->name(), label, model, options, receiver.code(),
                                             receiver.type_label());
    Connection c = *used = signal().connect(receiver, std::move(options), where);
    watch_flags(flags, c, model);
    return c;
}

template <class Event>
void ModelSignal<Event>::connect_function(std::string_view label,
                                          detail::FunctionReceiver<Event> receiver, Connect options,
                                          tocsin::source_location where) const {
    this->connect_for_label(label, receiver, std::move(options), where);
}

template <class Event>
Connection ModelSignal<Event>::connect(Function receiver, Connect options,
                                       tocsin::source_location where) const {
    return connect_function(Sender{}, {}, detail::function_receiver<ModelBase, Event>(receiver),
                            std::move(options), where, ModelFlags{});
}

template <class Event>
Connection ModelSignal<Event>::connect(SenderFunction receiver, Connect options,
                                       tocsin::source_location where) const {
    return connect_function(Sender{}, {}, detail::function_receiver<ModelBase, Event>(receiver),
                            std::move(options), where, ModelFlags{});
}

template <class Event>
void ModelSignal<Event>::connect(std::string_view label, Function receiver, Connect options,
                                 tocsin::source_location where) const {
    connect_function(label, detail::function_receiver<ModelBase, Event>(receiver),
                     std::move(options), where);
}

template <class Event>
void ModelSignal<Event>::connect(std::string_view label, SenderFunction receiver, Connect options,
                                 tocsin::source_location where) const {
    connect_function(label, detail::function_receiver<ModelBase, Event>(receiver),
                     std::move(options), where);
}

namespace detail {
bool create_migrate_signals() {
    static_cast<void>(pre_migrate.signal());
    static_cast<void>(post_migrate.signal());
    return true;
}
}  // namespace detail

// The members above, for the three model signals' events (explicit instantiation of the class
// compiles its members defined so far, these included).
template class ModelSignal<InitEvent>;
template class ModelSignal<SaveEvent>;
template class ModelSignal<DeleteEvent>;

}  // namespace tocsin
