#include "apps.hpp"

#include "models.hpp"
#include "signals.hpp"

namespace accounts {
AccountsConfig::AccountsConfig() : tocsin::AppConfig("accounts") {}
std::vector<const tocsin::apps::ModelDescription*> AccountsConfig::models() const {
    return tocsin::describe<Profile>();
}
void AccountsConfig::ready() {
    connect_receivers();
}
}  // namespace accounts

// The one compile of Profile's description (TOCSIN_EXTERN_MODEL in models.hpp).
TOCSIN_INSTANTIATE_MODEL(accounts::Profile);
