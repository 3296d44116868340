#include "apps.hpp"

#include "models.hpp"
#include "signals.hpp"

namespace store {
StoreConfig::StoreConfig() : tocsin::AppConfig("store") {}
std::vector<const tocsin::apps::ModelDescription*> StoreConfig::models() const {
    return tocsin::describe<Customer, Product, Order, OrderItem, Cart, CartItem>();
}
// Django's `def ready(self): import store.signals`.
void StoreConfig::ready() {
    connect_receivers();
}
}  // namespace store
