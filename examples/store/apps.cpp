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

// The one compile of each model's description (TOCSIN_EXTERN_MODEL in models.hpp).
TOCSIN_INSTANTIATE_MODEL(store::Customer);
TOCSIN_INSTANTIATE_MODEL(store::Product);
TOCSIN_INSTANTIATE_MODEL(store::Order);
TOCSIN_INSTANTIATE_MODEL(store::OrderItem);
TOCSIN_INSTANTIATE_MODEL(store::Cart);
TOCSIN_INSTANTIATE_MODEL(store::CartItem);
