// store/apps.hpp — the program's own app (it installs tocsin's auth app besides).
#pragma once

#include <tocsin/apps.hpp>

namespace store {
/// The "store" app: customers, products, carts, orders, and the receivers wired in ready().
struct StoreConfig : tocsin::AppConfig {
    StoreConfig();
    std::vector<const tocsin::apps::ModelDescription*> models() const override;
    void ready() override;
};
}  // namespace store
