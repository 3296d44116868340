// A representative user translation unit of the dispatch layer alone, compiled by
// bench/compile_time.sh: two signals of the application, receivers of every kind (function,
// lambda, member function on a shared object, a sender filter), sends and a send_robust.
#include <tocsin/dispatch.hpp>

#include <memory>
#include <string>

namespace shop {

struct Order {
    int id = 0;
    std::string customer;
};
struct Checkout {};

tocsin::Signal<void(const Order&)> order_created{"shop.order_created"};
tocsin::Signal<int(const Order&, int)> order_scored{"shop.order_scored"};

void audit(const Order& order);
void audit(const Order& order) {
    static_cast<void>(order);
}

struct Mailer {
    int sent = 0;
    void on_order(const tocsin::Sender& /*sender*/, const Order& /*order*/) { ++sent; }
};

int wire_and_send();
int wire_and_send() {
    auto mailer = std::make_shared<Mailer>();
    order_created.connect(&audit, {.dispatch_uid = "audit"});
    order_created.connect(&Mailer::on_order, mailer,
                          {.sender = tocsin::Sender::of<Checkout>(), .priority = 5});
    tocsin::ScopedConnection c =
        order_scored.connect([](const Order& o, int base) { return base + o.id; });
    const Order order{42, "ada"};
    order_created.send(tocsin::Sender::of<Checkout>(), order);
    int total = 0;
    for (const auto& r : order_scored.send({}, order, 1)) {
        total += r.value;
    }
    for (const auto& o : order_created.send_robust({}, order)) {
        total += o.error ? 1 : 0;
    }
    return total + mailer->sent;
}

}  // namespace shop
