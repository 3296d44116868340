// quickstart — a custom signal, sender filtering, dispatch_uid, and send_robust.
#include <iostream>
#include <stdexcept>
#include <string>

#include <tocsin/dispatch.hpp>

struct Order {
    int id;
    double total;
};
struct OrderSerializer {};
struct AdminImport {};

// A custom signal: every receiver gets the sender and the order.
tocsin::Signal<void(const Order&)> customer_order_created{"store.customer_order_created"};

int main() {
    // Hears every sender.
    auto audit = customer_order_created.connect([](const tocsin::Sender& sender, const Order& o) {
        std::cout << "audit: order " << o.id << " from " << sender.name() << "\n";
    });
    // Hears one sender only; connecting the same uid again is a no-op (Django's dispatch_uid).
    for (int i = 0; i < 2; ++i) {
        customer_order_created.connect(
            [](const Order& o) { std::cout << "warehouse: ship order " << o.id << "\n"; },
            {.sender = tocsin::Sender::of<OrderSerializer>(), .dispatch_uid = "warehouse.notify"});
    }
    customer_order_created.connect(
        [](const Order& o) {
            if (o.total > 1000) {
                throw std::runtime_error("credit check failed for order " + std::to_string(o.id));
            }
        },
        {.name = "billing.credit_check"});

    customer_order_created.send(tocsin::Sender::of<OrderSerializer>(), Order{1, 20.0});
    customer_order_created.send(tocsin::Sender::of<AdminImport>(), Order{2, 30.0});

    // send_robust never throws a receiver's exception: each outcome says what happened.
    for (const auto& r : customer_order_created.send_robust(tocsin::Sender::of<OrderSerializer>(),
                                                            Order{3, 5000})) {
        if (r.error) {
            std::cout << "failed: " << r.receiver.name() << ": "
                      << tocsin::describe_exception(r.error) << "\n";
        }
    }
    std::cout << customer_order_created.receiver_count() << " receivers\n";
    return audit.connected() ? 0 : 1;
}
