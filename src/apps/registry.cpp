#include "tocsin/apps/registry.hpp"

#include "tocsin/apps/describe.hpp"

#include <algorithm>
#include <cctype>

#include "tocsin/db/database.hpp"

namespace tocsin {

namespace apps {
std::pair<std::string, std::string> split_label(std::string_view label) {
    const auto dot = label.find('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == label.size() ||
        label.find('.', dot + 1) != std::string_view::npos) {
        throw std::invalid_argument("Invalid model reference '" + std::string(label) +
                                    "'. String model references must be of the form "
                                    "'app_label.ModelName'.");
    }
    return {std::string(label.substr(0, dot)), std::string(label.substr(dot + 1))};
}

std::string describe_sender(const Sender& sender) {
    if (sender.is_none()) {
        return "(any)";
    }
    const Apps& registry = Apps::instance();
    for (const ModelDescription* model : registry.models()) {
        if (model->sender == sender) {
            return model->label();
        }
    }
    for (const auto& app : registry.app_configs()) {
        if (app->sender() == sender) {
            return "app:" + app->label();
        }
    }
    return sender.name();
}
}  // namespace apps

namespace {
/// Django's signals.E001 for a lazy reference that no installed model resolves. As in Django,
/// the reference is the model key, whose model name is lower-cased: 'billing.invoice'.
std::string unresolved_reference(const std::string& who, std::string_view label,
                                 bool app_installed) {
    auto [app_label, model_name] = apps::split_label(label);
    std::transform(model_name.begin(), model_name.end(), model_name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return who + " with a lazy reference to the sender '" + app_label + "." + model_name +
           "', but app '" + app_label + "' " +
           (app_installed ? "doesn't provide model '" + model_name + "'." : "isn't installed.");
}

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

/// Django's fields.E307, for a relation (or parent link) of an installed model to a model no
/// installed app lists: "The field blog.Post.tags was declared with a lazy reference to
/// 'blog.tag', but app 'blog' doesn't provide model 'tag'."
std::string unresolved_field(const apps::ModelDescription& owner,
                             const apps::ModelReference& reference, bool app_installed) {
    auto [app_label, model_name] = apps::split_label(reference.target_label);
    model_name = lower(model_name);
    return "The field " + owner.label() + "." + reference.field +
           " was declared with a lazy reference to '" + app_label + "." + model_name +
           "', but app '" + app_label + "' " +
           (app_installed ? "doesn't provide model '" + model_name + "'." : "isn't installed.");
}

bool iequal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}
}  // namespace

AppConfig::AppConfig(std::string label) : label_(std::move(label)) {
    if (label_.empty() || label_.find('.') != std::string::npos) {
        throw ImproperlyConfigured("The app label '" + label_ +
                                   "' is not a valid label (non-empty, without '.').");
    }
}
AppConfig::~AppConfig() = default;
std::vector<const apps::ModelDescription*> AppConfig::models() const {
    return {};
}
void AppConfig::ready() {}

Apps& Apps::instance() {
    static auto* apps = new Apps;
    return *apps;
}

const apps::ModelDescription* Apps::find_model(std::string_view label) const {
    const auto [app_label, model_name] = apps::split_label(label);
    std::lock_guard lock(mutex_);
    for (const auto* m : models_) {
        if (m->app_label == app_label && iequal(m->model_name, model_name)) {
            return m;
        }
    }
    return nullptr;
}

std::vector<const apps::ModelDescription*> Apps::models() const {
    std::lock_guard lock(mutex_);
    return models_;
}

std::vector<std::shared_ptr<AppConfig>> Apps::app_configs() const {
    std::lock_guard lock(mutex_);
    return apps_;
}

AppConfig* Apps::app(std::string_view label) const {
    std::lock_guard lock(mutex_);
    for (const auto& a : apps_) {
        if (a->label() == label) {
            return a.get();
        }
    }
    return nullptr;
}

bool Apps::ready() const {
    std::lock_guard lock(mutex_);
    return ready_;
}

std::string Apps::not_installed(std::string_view label, const Sender& model) const {
    const auto* found = find_model(label);
    if (found != nullptr && found->sender == model) {
        return {};
    }
    const auto app_label = apps::split_label(label).first;
    return "Model class " + std::string(label) + " isn't in an application in INSTALLED_APPS: " +
           (app(app_label) == nullptr
                ? "app '" + app_label + "' isn't installed."
                : "app '" + app_label + "' doesn't list it in its AppConfig::models().");
}

void Apps::note_model_use(std::string_view label, const Sender& model,
                          std::function<std::string()> who, std::function<bool()> alive) {
    std::lock_guard lock(mutex_);
    if (ready_) {
        if (auto reason = not_installed(label, model); !reason.empty()) {
            throw ImproperlyConfigured(reason + " " + who());
        }
        return;
    }
    if (uses_.size() >= prune_uses_at_) {
        // Receivers connected and disconnected again without setup(): forget the dead ones, so
        // that the records stay as many as the live receivers (amortised).
        std::erase_if(uses_, [](const Use& u) { return u.alive && !u.alive(); });
        prune_uses_at_ = std::max<std::size_t>(64, 2 * uses_.size());
    }
    uses_.push_back({std::string(label), model, std::move(who), std::move(alive)});
}

void Apps::refuse_if_ready(const apps::ModelDescription& model, std::string_view use) const {
    std::lock_guard lock(mutex_);
    if (!ready_) {
        return;  // before setup(), or a program without apps: every built model may be used
    }
    if (auto reason = not_installed(model.label(), model.sender); !reason.empty()) {
        throw ImproperlyConfigured(reason + " It cannot be " + std::string(use) + ".");
    }
}

void Apps::populate(const std::vector<std::shared_ptr<AppConfig>>& apps) {
    std::lock_guard lock(mutex_);
    // 1. Apps and their models.
    for (const auto& app : apps) {
        if (!app) {
            throw ImproperlyConfigured("installed_apps holds a null AppConfig");
        }
        const auto same = std::find_if(apps_.begin(), apps_.end(),
                                       [&](const auto& a) { return a->label() == app->label(); });
        if (same != apps_.end()) {
            if (*same == app) {
                continue;  // setup() again with the same app: nothing new
            }
            throw ImproperlyConfigured("Application labels aren't unique, duplicates: " +
                                       app->label());
        }
        apps_.push_back(app);
        for (const auto* model : app->models()) {
            if (model->app_label != app->label()) {
                throw ImproperlyConfigured(
                    "The model '" + model->label() + "' is listed by the app '" + app->label() +
                    "' but its label names the app '" + model->app_label + "'.");
            }
            const auto* existing = find_model(model->label());
            if (existing != nullptr && existing != model) {
                throw ImproperlyConfigured("Conflicting '" + model->model_name +
                                           "' models in application '" + model->app_label + "'.");
            }
            if (existing == nullptr) {
                models_.push_back(model);
            }
        }
    }
    // 2. Every model used, or referred to by an installed model, must be installed.
    std::string errors;
    const auto report = [&errors](const std::string& error) {
        errors += (errors.empty() ? "" : "\n") + error;
    };
    for (const auto* model : models_) {
        for (const auto& reference : model->references) {
            if (!not_installed(reference.target_label, reference.target).empty()) {
                report(unresolved_field(
                    *model, reference,
                    app(apps::split_label(reference.target_label).first) != nullptr));
            }
        }
    }
    std::erase_if(uses_, [](const Use& u) { return u.alive && !u.alive(); });
    for (const auto& use : uses_) {
        if (auto reason = not_installed(use.label, use.model); !reason.empty()) {
            const auto error = reason + " " + use.who();
            if (errors.find(error) == std::string::npos) {
                report(error);
            }
        }
    }
    if (!errors.empty()) {
        throw ImproperlyConfigured(errors);
    }
    // 3. Lazy operations waiting for a model.
    std::vector<Pending> waiting = std::move(pending_);
    pending_.clear();
    for (auto& p : waiting) {
        if (const auto* model = find_model(p.label)) {
            p.operation(*model);
            continue;
        }
        errors +=
            (errors.empty() ? "" : "\n") +
            unresolved_reference(p.who, p.label, app(apps::split_label(p.label).first) != nullptr);
    }
    if (!errors.empty()) {
        throw ImproperlyConfigured(errors);
    }
    ready_ = true;
    uses_.clear();
    for (const auto* model : models_) {
        model->installed.store(true, std::memory_order_relaxed);
    }
    // 4. ready(), once per app, in order.
    for (const auto& app : apps_) {
        if (!app->ready_) {
            app->ready_ = true;
            app->ready();
        }
    }
}

void Apps::lazy_model_operation(std::string_view label,
                                std::function<void(const apps::ModelDescription&)> operation,
                                std::string who) {
    static_cast<void>(apps::split_label(label));  // validates the form now
    std::unique_lock lock(mutex_);
    if (ready_) {
        if (const auto* model = find_model(label)) {
            lock.unlock();
            operation(*model);
            return;
        }
        throw ImproperlyConfigured(
            unresolved_reference(who, label, app(apps::split_label(label).first) != nullptr));
    }
    pending_.push_back({std::string(label), std::move(operation), std::move(who)});
}

void Apps::reset() {
    std::lock_guard lock(mutex_);
    for (const auto* model : models_) {
        model->installed.store(false, std::memory_order_relaxed);
    }
    uses_.clear();
    apps_.clear();
    models_.clear();
    pending_.clear();
    ready_ = false;
}

void setup(const ProjectSettings& settings) {
    if (!settings.databases.empty()) {
        db::configure(settings.databases);
    }
    Apps::instance().populate(settings.installed_apps);
}

}  // namespace tocsin
