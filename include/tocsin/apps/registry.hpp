// tocsin::Apps — the registry of installed apps and their models; tocsin::setup().
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "tocsin/apps/app_config.hpp"
#include "tocsin/apps/model_description.hpp"
#include "tocsin/db/settings.hpp"

namespace tocsin {

/// The apps are set up wrongly: a lazy reference to a model no installed app defines, two apps
/// with one label, two models with one label (Django's ImproperlyConfigured / signals.E001).
class ImproperlyConfigured : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// What setup() configures, as a Django project's settings.py: the installed apps, in order
/// (INSTALLED_APPS), and the databases by alias (DATABASES, each a db::Settings).
struct ProjectSettings {
    std::vector<std::shared_ptr<AppConfig>> installed_apps{};
    std::map<std::string, db::Settings> databases{};
};

/// The process-wide registry of apps and models (Django's `apps`).
class Apps {
  public:
    /// The registry.
    static Apps& instance();

    /// Registers the apps and their models, runs every lazy operation waiting for a model, then
    /// calls each app's ready() once, in order. Throws ImproperlyConfigured (naming the receiver,
    /// the signal and the label) when a lazy reference names a model no installed app defines.
    void populate(const std::vector<std::shared_ptr<AppConfig>>& apps);

    /// The model registered under `label` ("auth.User"; the model name is case-insensitive), or
    /// null.
    [[nodiscard]] const apps::ModelDescription* find_model(std::string_view label) const;
    /// Every registered model, in registration order.
    [[nodiscard]] std::vector<const apps::ModelDescription*> models() const;
    /// The installed apps, in setup() order (Django's get_app_configs()).
    [[nodiscard]] std::vector<std::shared_ptr<AppConfig>> app_configs() const;
    /// The installed app with `label`, or null.
    [[nodiscard]] AppConfig* app(std::string_view label) const;
    /// True once populate() has finished.
    [[nodiscard]] bool ready() const;

    /// Runs `operation` with the model `label` names: now if it is registered, else when it is.
    /// `who` describes the waiting party for the error message, e.g. "The function 'f' was
    /// connected to the 'post_save' signal". Throws std::invalid_argument for a malformed label.
    void lazy_model_operation(std::string_view label,
                              std::function<void(const apps::ModelDescription&)> operation,
                              std::string who);

    /// Records that the model labelled `label` (sender `model`) is used, e.g. a receiver is
    /// connected for it by type, while `alive()` holds. setup() refuses a model used so that no
    /// installed app lists ("Model class blog.Tag isn't in an application in INSTALLED_APPS: …"),
    /// and after setup() such a use is refused at once. `who` says who uses it, as a sentence
    /// ("The function 'f' was connected to the 'post_save' signal for it."); it is called only
    /// to build that message.
    void note_model_use(std::string_view label, const Sender& model,
                        std::function<std::string()> who, std::function<bool()> alive);

    /// Throws ImproperlyConfigured once setup() has run when no installed app lists `model`;
    /// `use` says what was attempted ("saved", "queried", "removed"). Cheap when it is listed.
    void require_installed(const apps::ModelDescription& model, std::string_view use) const {
        if (!model.installed.load(std::memory_order_relaxed)) [[unlikely]] {
            refuse_if_ready(model, use);
        }
    }

    /// Forgets every app, model, pending operation and recorded model use (tests).
    void reset();

  private:
    void refuse_if_ready(const apps::ModelDescription& model, std::string_view use) const;
    /// The reason `label` (sender `model`) is not installed, or "" when it is.
    [[nodiscard]] std::string not_installed(std::string_view label, const Sender& model) const;

    struct Use {
        std::string label;
        Sender model;
        std::function<std::string()> who;
        std::function<bool()> alive;
    };
    struct Pending {
        std::string label;
        std::function<void(const apps::ModelDescription&)> operation;
        std::string who;
    };
    mutable std::recursive_mutex mutex_;
    std::vector<std::shared_ptr<AppConfig>> apps_;
    std::vector<const apps::ModelDescription*> models_;
    std::vector<Pending> pending_;
    std::vector<Use> uses_;
    std::size_t prune_uses_at_ = 64;
    bool ready_ = false;
};

/// Configures the databases, then populates the app registry (see Apps::populate).
void setup(const ProjectSettings& settings);

}  // namespace tocsin
