// tocsin::apps::ModelDescription — what the app registry knows of a model.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tocsin/dispatch/sender.hpp"

namespace tocsin::apps {

/// A model that another one refers to by a field: a relation's target, or the parent of a model
/// extending it (its field is then Django's parent link, "<parent>_ptr").
struct ModelReference {
    std::string field;         ///< the referring field ("tags" of "blog.Post")
    std::string target_label;  ///< "blog.Tag"
    Sender target;             ///< Sender::of<Tag>()
};

/// A model as the registry sees it: its label ("app_label.ModelName") and the sender its signals
/// use. The model layer fills it in; the registry never sees the model's type.
struct ModelDescription {
    ModelDescription() = default;
    ModelDescription(const ModelDescription&) = delete;
    ModelDescription& operator=(const ModelDescription&) = delete;
    ~ModelDescription() = default;

    std::string app_label;   ///< "auth"
    std::string model_name;  ///< "User"
    Sender sender;           ///< Sender::of<User>()
    /// The models this one's relations and parent refer to: setup() refuses an installed model
    /// that refers to a model no installed app lists.
    std::vector<ModelReference> references{};
    /// True while an installed app lists the model (set by setup(), cleared by Apps::reset()).
    mutable std::atomic<bool> installed{false};

    /// "app_label.ModelName".
    [[nodiscard]] std::string label() const { return app_label + "." + model_name; }
};

/// Splits "app_label.ModelName"; throws std::invalid_argument with Django's message otherwise.
std::pair<std::string, std::string> split_label(std::string_view label);

}  // namespace tocsin::apps
