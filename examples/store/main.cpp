// examples/store — seed 002 in C++, on SQLite: a Customer for every new User, and a checkout that
// turns a cart into an order in one transaction and tells the rest of the shop through the custom
// signal customer_order_created, sent with send_robust.
//
//   store [database file]                 runs the scenario (default: store.db in the current
//                                         directory, recreated)
//   store <database file> <command> ...   runs a manage command instead (`migrate`,
//                                         `makemigrations`, `showmigrations`, ...; see --help)
//   TOCSIN_DATABASE_URL=postgresql://user@host:port/name store
//                             (that database instead; the scenario needs it empty)
#include <filesystem>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <tocsin/management.hpp>
#include <tocsin/migrations.hpp>
#include <vector>

#include "apps.hpp"
#include "models.hpp"
#include "signals.hpp"

namespace {

using store::Cart;
using store::CartItem;
using store::Customer;
using store::Order;
using store::OrderItem;
using store::Product;
using tocsin::where;

/// A cart holds more than the shop has.
struct OutOfStock : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// The checkout (seed 002's CreateOrderSerializer.save()); it is the sender of
/// customer_order_created.
struct Checkout {
    /// Turns `cart` into an order of its customer, in one transaction: the order, its items
    /// (bulk_create: no signals), the stock, the cart's removal (its items cascade), and
    /// customer_order_created sent with send_robust. Throws OutOfStock (nothing written).
    static Order place_order(const Cart& cart) {
        return tocsin::atomic([&] {
            Order order = Order::objects().create({.customer = cart.customer.get()});
            std::cout << "order #" << *order.id << " created\n";

            std::vector<OrderItem> items;
            for (const auto& line : CartItem::objects()
                                        .filter(where(&CartItem::cart) == cart)
                                        .order_by(&tocsin::ModelBase::id)) {
                Product product = line.product.get();
                if (product.inventory < line.quantity) {
                    throw OutOfStock("only " + std::to_string(product.inventory) + " x " +
                                     product.title + " in stock, " + std::to_string(line.quantity) +
                                     " wanted");
                }
                product.inventory -= line.quantity;
                product.save({.update_fields = std::vector<std::string>{"inventory"}});
                items.push_back(OrderItem{.order = order,
                                          .product = product,
                                          .quantity = line.quantity,
                                          .unit_price = product.unit_price});
            }
            OrderItem::objects().bulk_create(items);

            const auto removed =
                Cart::objects().filter(where(&tocsin::ModelBase::id) == *cart.id).remove();
            const auto lines = removed.per_model.find("store.CartItem");
            std::cout << "order #" << *order.id << ": " << items.size()
                      << " item(s) from the cart; cart removed with "
                      << (lines == removed.per_model.end() ? 0 : lines->second)
                      << " cart item(s)\n";

            // Every receiver runs whatever the others throw; the failures come back here.
            const auto outcomes =
                store::customer_order_created.send_robust(tocsin::Sender::of<Checkout>(), order);
            std::size_t failed = 0;
            for (const auto& outcome : outcomes) {
                failed += outcome.error ? 1 : 0;
            }
            std::cout << "customer_order_created sent to " << outcomes.size() << " receiver(s), "
                      << failed << " failed\n";
            for (const auto& outcome : outcomes) {
                if (outcome.error) {
                    std::cout << "  " << outcome.receiver.name() << ": "
                              << tocsin::describe_exception(outcome.error) << "\n";
                }
            }
            return order;
        });
    }
};

/// Puts `quantity` x `product` in `cart`.
void add_to_cart(const Cart& cart, const Product& product, int quantity) {
    CartItem::objects().create({.cart = cart, .product = product, .quantity = quantity});
    std::cout << "cart #" << *cart.id << ": " << quantity << " x " << product.title << "\n";
}

/// Orders, order items, carts, cart items.
void print_counts() {
    std::cout << Order::objects().count() << " order(s), " << OrderItem::objects().count()
              << " order item(s), " << Cart::objects().count() << " cart(s), "
              << CartItem::objects().count() << " cart item(s)\n";
}

/// The example's database: TOCSIN_DATABASE_URL when set (`postgresql://user@host:port/name`, an
/// empty database), else the SQLite file @p file, removed first when @p fresh.
tocsin::db::Settings database(const std::string& file, bool fresh) {
    if (auto url = tocsin::db::settings_from_environment("TOCSIN_DATABASE_URL"))
        return *url;
    for (const char* suffix : {"", "-wal", "-shm"}) {
        if (fresh)
            std::filesystem::remove(file + suffix);
    }
    return {.engine = "sqlite", .name = file};
}

}  // namespace

int main(int argc, char** argv) {
    const std::string file = argc > 1 ? argv[1] : "store.db";
    const bool command = argc > 2;  // `store store.db showmigrations`: the manage command line
    // Users are those of tocsin's auth app (Django's django.contrib.auth).
    tocsin::setup({.installed_apps = {std::make_shared<tocsin::auth::AuthConfig>(),
                                      std::make_shared<store::StoreConfig>()},
                   .databases = {{"default", database(file, /*fresh=*/!command)}}});
    if (command) {
        std::vector<const char*> args{argv[0]};
        args.insert(args.end(), argv + 2, argv + argc);
        return tocsin::manage(static_cast<int>(args.size()), args.data());
    }
    // The tables, from the migrations compiled into the program (examples/store/migrations,
    // tocsin_add_migrations in CMakeLists.txt): `store <file> migrate` does the same.
    tocsin::migrations::migrate(tocsin::migrations::MigrationLoader());

    using auth::User;

    std::cout << "-- registrations\n";
    auto alice = User::objects().create({.username = "alice", .email = "alice@example.com"});
    auto bob = User::objects().create({.username = "bob", .email = "bob@example.com"});
    std::cout << Customer::objects().count() << " customer(s)\n";

    auto beans =
        Product::objects().create({.title = "Coffee beans", .unit_price = 1250, .inventory = 10});
    auto mug = Product::objects().create({.title = "Mug", .unit_price = 650, .inventory = 3});

    std::cout << "-- alice checks out\n";
    const auto alice_customer = Customer::objects().get(where(&Customer::user) == alice);
    const auto alice_cart = Cart::objects().create({.customer = alice_customer});
    add_to_cart(alice_cart, beans, 2);
    add_to_cart(alice_cart, mug, 1);
    const Order order = Checkout::place_order(alice_cart);
    std::cout << "order #" << *order.id << " placed\n";
    print_counts();

    std::cout << "-- bob checks out, but the mugs run out\n";
    const auto bob_cart = Cart::objects().create(
        {.customer = Customer::objects().get(where(&Customer::user) == bob)});
    add_to_cart(bob_cart, beans, 1);
    add_to_cart(bob_cart, mug, 5);
    try {
        Checkout::place_order(bob_cart);
    } catch (const OutOfStock& e) {
        std::cout << "checkout failed, rolled back: " << e.what() << "\n";
    }
    print_counts();
    beans.refresh_from_db();
    mug.refresh_from_db();
    std::cout << "in stock: " << beans.inventory << " x " << beans.title << ", " << mug.inventory
              << " x " << mug.title << "\n";

    std::cout << "-- an ordered product stays\n";
    try {
        mug.remove();
    } catch (const tocsin::ProtectedError& e) {
        std::cout << "not removed: " << e.what() << "\n";
    }
    return 0;
}
