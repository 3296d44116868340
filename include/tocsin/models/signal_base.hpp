// tocsin::detail::ModelLayerSignal — the one base of the model layer's signal wrappers
// (ModelSignal, BulkSignal, MigrateSignal, M2MChangedSignal): a constant-initialised name, the
// Signal created on first use (LazySignal), and what every wrapper offers on top: connect for
// every sender, for a model type, or by label before the model is set up; disconnect by label;
// send.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <tocsin/source_location.hpp>
#include <type_traits>
#include <utility>

#include "tocsin/apps/registry.hpp"
#include "tocsin/dispatch.hpp"
#include "tocsin/dispatch/detail/lazy_signal.hpp"

namespace tocsin {
class ModelBase;
}  // namespace tocsin

namespace tocsin::detail {

/// Describes an instance for the send observer (SendEvent::instance): `instance` is a ModelBase
/// of the model whose sender `model` (a Sender) is: "auth.User #3", "auth.User (unsaved)".
[[nodiscard]] std::string describe_sent_instance(const void* instance, const void* model);

/// Runs `send()`, telling the send observer, when one is set, that it is about `instance` of
/// the model `model` (SendEvent::instance). Without an observer: one relaxed load, then send().
template <class F>
void send_about(const Sender& model, const ModelBase& instance, F&& send) {
    if (observing()) [[unlikely]] {
        const SendSubject subject{&instance, &model, &describe_sent_instance};
        const SubjectScope scope(subject);
        std::forward<F>(send)();
        return;
    }
    std::forward<F>(send)();
}

/// Connects `receiver` to `signal` for the model labelled `label`, now if it is set up, else
/// when setup() registers it. A label no installed app defines makes setup() fail, naming the
/// receiver (as Django's signals.E001: its name, else its dispatch_uid, else its function's
/// symbol, else its type), the signal and the label.
template <class S, class F>
void connect_by_label(S& signal, std::string_view signal_name, std::string_view label, F receiver,
                      Connect options, tocsin::source_location where) {
    std::string who = "The function '" +
                      receiver_name(options.name, options.dispatch_uid, code_of(receiver),
                                    type_label_of(receiver)) +
                      "' was connected to the '" + std::string(signal_name) + "' signal";
    Apps::instance().lazy_model_operation(
        label,
        [&signal, f = std::move(receiver), options = std::move(options),
         where](const apps::ModelDescription& model) mutable {
            options.sender = model.sender;
            signal.connect(std::move(f), std::move(options), where);
        },
        std::move(who));
}

/// Disconnects what `key` names (a function, or a dispatch_uid) from `signal` for the model
/// labelled `label`: now if it is set up, else when setup() registers it, after the connects
/// asked before (Django's lazy disconnect).
template <class S, class Key>
void disconnect_by_label(S& signal, std::string_view signal_name, std::string_view label, Key key) {
    std::string name;
    if constexpr (std::is_pointer_v<Key>) {
        name = receiver_name({}, {}, code_of(key), type_label_v<Key>);
    } else {
        name = std::string(key);
    }
    Apps::instance().lazy_model_operation(
        label,
        [&signal, key = std::move(key)](const apps::ModelDescription& model) {
            signal.disconnect(key, model.sender);
        },
        "The function '" + name + "' was disconnected from the '" + std::string(signal_name) +
            "' signal");
}

/// note_model_use's work, out of line (its closures are compiled once, not for every receiver
/// type): `code` and `type` name the receiver (receiver_name).
std::shared_ptr<Connection> note_model_use(std::string_view signal_name, std::string_view label,
                                           const Sender& model, const Connect& options,
                                           const void* code, std::string_view type);

/// Records that a receiver connected to `signal_name` by type uses the model `T`: setup()
/// refuses `T` unless an installed app lists it (after setup(), this throws at once). Returns
/// where to store the receiver's Connection once connected (it is used while connected).
template <class T, class F>
std::shared_ptr<Connection> note_model_use(std::string_view signal_name, const F& receiver,
                                           const Connect& options) {
    return note_model_use(signal_name, T::label, Sender::of<T>(), options, code_of(receiver),
                          type_label_of(receiver));
}

/// The base of the model layer's signals, whose underlying signal is `Signal<Signature>`. The
/// derived wrapper names the public connects (hiding these protected ones where it adapts the
/// receiver) and may replace send.
template <class Signature>
class ModelLayerSignal : public LazySignal<Signature> {
  public:
    /// The underlying signal.
    using signal_type = Signal<Signature>;

    constexpr explicit ModelLayerSignal(std::string_view name) noexcept
        : LazySignal<Signature>(name) {}

    using LazySignal<Signature>::signal;
    using LazySignal<Signature>::disconnect;

    /// Disconnects `function` (connected without uid) for the model labelled `label`
    /// ("auth.User"): now if the model is set up, else once setup() registers it, after the
    /// connects asked before it (Django's `disconnect(f, sender="auth.User")`, which returns
    /// None: whether it was connected is not told).
    template <class Fn>
    requires std::is_function_v<Fn>
    void disconnect(Fn* function, std::string_view label) const {
        disconnect_by_label(signal(), this->name(), label, function);
    }
    /// Disconnects the receiver connected with `dispatch_uid` for the model labelled `label`,
    /// as above.
    void disconnect(std::string_view dispatch_uid, std::string_view label) const {
        disconnect_by_label(signal(), this->name(), label, std::string(dispatch_uid));
    }

  protected:
    ~ModelLayerSignal() = default;

    /// Connects `receiver` as it is, for every sender or `options.sender`.
    template <class F>
    Connection connect_receiver(F&& receiver, Connect options,
                                tocsin::source_location where) const {
        return signal().connect(std::forward<F>(receiver), std::move(options), where);
    }

    /// Connects `receiver` for `sender`, which concerns the model `T`: setup() refuses `T`
    /// unless an installed app lists it (see note_model_use).
    template <class T, class F>
    Connection connect_for_model(const Sender& sender, F&& receiver, Connect options,
                                 tocsin::source_location where) const {
        options.sender = sender;
        const auto used = note_model_use<T>(this->name(), receiver, options);
        return *used = signal().connect(std::forward<F>(receiver), std::move(options), where);
    }

    /// Connects `receiver` for the model labelled `label`, now or when setup() registers it.
    template <class F>
    void connect_for_label(std::string_view label, F receiver, Connect options,
                           tocsin::source_location where) const {
        connect_by_label(signal(), this->name(), label, std::move(receiver), std::move(options),
                         where);
    }

    /// Sends `args` from `sender`.
    template <class... A>
    void send_from(const Sender& sender, A&&... args) const {
        signal().send(sender, std::forward<A>(args)...);
    }

    /// Sends `instance` and `args` from `sender`, the instance's model: a send observer sees
    /// the instance (SendEvent::instance).
    template <class... A>
    void send_instance(const Sender& sender, ModelBase& instance, A&&... args) const {
        send_about(sender, instance, [&] { signal().send(sender, instance, args...); });
    }
};

}  // namespace tocsin::detail
