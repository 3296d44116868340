// tocsin::AppConfig — one installed application: its label, its models, its ready().
#pragma once

#include <string>
#include <vector>

#include "tocsin/apps/model_description.hpp"
#include "tocsin/dispatch/sender.hpp"

namespace tocsin {

/// One application of a program (Django's AppConfig). Derive from it, list the app's models in
/// `models()`, and connect the app's receivers in `ready()`, which setup() calls once.
class AppConfig {
  public:
    /// `label` is the app label used in model labels ("accounts" in "accounts.Profile").
    explicit AppConfig(std::string label);
    virtual ~AppConfig();
    AppConfig(const AppConfig&) = delete;
    AppConfig& operator=(const AppConfig&) = delete;

    /// The app label.
    [[nodiscard]] const std::string& label() const noexcept { return label_; }
    /// The app's models (`tocsin::describe<User, Profile>()`). Default: none.
    [[nodiscard]] virtual std::vector<const apps::ModelDescription*> models() const;
    /// Called once by setup(), after every installed app's models are registered.
    virtual void ready();
    /// True once ready() has run.
    [[nodiscard]] bool is_ready() const noexcept { return ready_; }
    /// This app as a sender: what pre_migrate and post_migrate are sent with, so that
    /// `{.sender = app.sender()}` hears this app only. Equal for every view of one object.
    [[nodiscard]] Sender sender() const noexcept { return Sender::object(this); }

  private:
    friend class Apps;
    std::string label_;
    bool ready_ = false;
};

}  // namespace tocsin
