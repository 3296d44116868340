// accounts/apps.hpp — the program's own app; the "auth" and "sessions" apps are tocsin's.
#pragma once

#include <tocsin/apps.hpp>

namespace accounts {
/// The "accounts" app: profiles, and the receivers wired in ready().
struct AccountsConfig : tocsin::AppConfig {
    AccountsConfig();
    std::vector<const tocsin::apps::ModelDescription*> models() const override;
    void ready() override;
};
}  // namespace accounts
