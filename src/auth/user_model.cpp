#include "tocsin/auth/user_model.hpp"

#include <map>
#include <mutex>
#include <vector>

#include "tocsin/auth/app.hpp"

namespace tocsin::auth {

UserModel::~UserModel() = default;

namespace {

struct UserModels {
    std::mutex mutex;
    std::map<std::string, std::shared_ptr<const UserModel>, std::less<>> models;
    /// Replaced registrations: kept, since get_user_model() handed out references to them.
    std::vector<std::shared_ptr<const UserModel>> retired;
};

UserModels& user_models() {
    static UserModels r;
    return r;
}

}  // namespace

void detail::register_user_model(std::shared_ptr<const UserModel> model) {
    UserModels& r = user_models();
    const std::lock_guard lock(r.mutex);
    const std::string label(model->label());
    auto& slot = r.models[label];
    if (slot) {
        r.retired.push_back(std::move(slot));
    }
    slot = std::move(model);
}

std::string user_model_label() {
    if (const auto* app = dynamic_cast<const AuthConfig*>(Apps::instance().app("auth"))) {
        return app->settings().auth_user_model;
    }
    return "auth.User";
}

const UserModel& get_user_model() {
    const std::string label = user_model_label();
    if (label.find('.') == std::string::npos) {
        throw ImproperlyConfigured("AUTH_USER_MODEL must be of the form 'app_label.model_name'");
    }
    const auto* description = Apps::instance().find_model(label);
    std::shared_ptr<const UserModel> model;
    {
        UserModels& r = user_models();
        const std::lock_guard lock(r.mutex);
        if (const auto it = r.models.find(label); it != r.models.end()) {
            model = it->second;
        }
    }
    if (description == nullptr || !description->installed.load() || !model) {
        throw ImproperlyConfigured("AUTH_USER_MODEL refers to model '" + label +
                                   "' that has not been installed" +
                                   (model ? "" : " (no tocsin::auth::register_user_model<T>())"));
    }
    return *model;  // the registry keeps it until the program ends
}

}  // namespace tocsin::auth
