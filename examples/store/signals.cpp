// store/signals.cpp — seed 002: a Customer for every new User (post_save connected by label), and
// the receivers of the store's own signal customer_order_created.
//
// The receivers are plain functions with external linkage (no anonymous namespace): their
// symbols give the readable names that introspection and send_robust's outcomes report.
#include "signals.hpp"

#include <iostream>
#include <stdexcept>

#include "models.hpp"

namespace store {

tocsin::Signal<void(const Order&)> customer_order_created{"store.customer_order_created"};

// post_save(sender=settings.AUTH_USER_MODEL): a new user becomes a customer (seed 002's
// create_refer_in_customer_with_userid). Connected by label, so the receiver gets the instance
// as a ModelBase; the label guarantees it is a User. A fixture load (raw) creates nothing.
void create_customer(tocsin::ModelBase& instance, const tocsin::SaveEvent& event) {
    if (event.created && !event.raw) {
        const auto& user = static_cast<const auth::User&>(instance);
        Customer::objects().create({.user = user});
        std::cout << "customer created for " << user.username << "\n";
    }
}

// customer_order_created: the warehouse gets the picking list at once (inside the transaction).
void notify_warehouse(const Order& order) {
    int units = 0;
    std::size_t lines = 0;
    for (const auto& item :
         OrderItem::objects().filter(tocsin::where(&OrderItem::order) == order)) {
        units += item.quantity;
        ++lines;
    }
    std::cout << "warehouse notice: pack order #" << *order.id << ", " << units << " unit(s) in "
              << lines << " line(s)\n";
}

// customer_order_created: the confirmation e-mail leaves only once the order is committed; if the
// transaction rolls back, on_commit drops it and no customer hears of an order that never was.
void send_order_confirmation(const Order& order) {
    const auto user = order.customer.get().user.get();
    std::int64_t total = 0;
    for (const auto& item :
         OrderItem::objects().filter(tocsin::where(&OrderItem::order) == order)) {
        total += item.quantity * item.unit_price;
    }
    tocsin::on_commit([email = user.email, id = *order.id, total] {
        std::cout << "after commit: confirmation mail to " << email << ": order #" << id
                  << ", total " << format_price(total) << "\n";
    });
}

// customer_order_created: the loyalty-points service is down today. With send_robust its failure
// is reported to the sender and the order still goes through.
void award_loyalty_points(const Order& order) {
    const auto customer = order.customer.get();
    throw std::runtime_error("loyalty service unavailable, no points for customer #" +
                             std::to_string(*customer.id));
}

void connect_receivers() {
    // By label, lazily: "the user model" (Django's settings.AUTH_USER_MODEL, here tocsin's
    // auth.User) is resolved when the apps are set up.
    tocsin::post_save.connect(tocsin::auth::user_model_label(), create_customer,
                              {.dispatch_uid = "store.create_customer"});
    customer_order_created.connect(notify_warehouse, {.dispatch_uid = "store.notify_warehouse"});
    customer_order_created.connect(send_order_confirmation,
                                   {.dispatch_uid = "store.send_order_confirmation"});
    customer_order_created.connect(award_loyalty_points,
                                   {.dispatch_uid = "store.award_loyalty_points"});
}

}  // namespace store
