// store/models.hpp — the shop (the "store" app) around the users of tocsin's auth app: customers,
// products, carts and orders, as in the Django storefront of seed 002.
#pragma once

#include <cstdint>
#include <string>

#include <tocsin/auth.hpp>
#include <tocsin/models.hpp>

namespace auth {
/// Someone who can sign in: Django's auth.User, from tocsin's auth app.
using User = tocsin::auth::User;
}  // namespace auth

namespace store {

/// The shop's side of a user: one per user, created by a receiver, removed with the user.
struct Customer : tocsin::Model<Customer> {
    static constexpr std::string_view label = "store.Customer";
    tocsin::OneToOne<auth::User> user{tocsin::on_delete::cascade};
    std::int64_t loyalty_points = 0;

    static auto fields() {
        return tocsin::fields(tocsin::field("user", &Customer::user),
                              tocsin::field("loyalty_points", &Customer::loyalty_points));
    }
};

/// Something to sell. Prices are in cents.
struct Product : tocsin::Model<Product> {
    static constexpr std::string_view label = "store.Product";
    std::string title;
    std::int64_t unit_price = 0;
    int inventory = 0;

    static auto fields() {
        return tocsin::fields(tocsin::field("title", &Product::title, {.unique = true}),
                              tocsin::field("unit_price", &Product::unit_price),
                              tocsin::field("inventory", &Product::inventory));
    }
};

/// An order of a customer; a customer with orders cannot be removed.
struct Order : tocsin::Model<Order> {
    static constexpr std::string_view label = "store.Order";
    tocsin::ForeignKey<Customer> customer{tocsin::on_delete::protect};
    std::string payment_status = "pending";

    static auto fields() {
        return tocsin::fields(tocsin::field("customer", &Order::customer),
                              tocsin::field("payment_status", &Order::payment_status));
    }
};

/// One line of an order, at the price of the day; an ordered product cannot be removed.
struct OrderItem : tocsin::Model<OrderItem> {
    static constexpr std::string_view label = "store.OrderItem";
    tocsin::ForeignKey<Order> order{tocsin::on_delete::cascade};
    tocsin::ForeignKey<Product> product{tocsin::on_delete::protect};
    int quantity = 0;
    std::int64_t unit_price = 0;

    static auto fields() {
        return tocsin::fields(tocsin::field("order", &OrderItem::order),
                              tocsin::field("product", &OrderItem::product),
                              tocsin::field("quantity", &OrderItem::quantity),
                              tocsin::field("unit_price", &OrderItem::unit_price));
    }
};

/// A customer's cart, removed with its items once it becomes an order.
struct Cart : tocsin::Model<Cart> {
    static constexpr std::string_view label = "store.Cart";
    tocsin::ForeignKey<Customer> customer{tocsin::on_delete::cascade};

    static auto fields() { return tocsin::fields(tocsin::field("customer", &Cart::customer)); }
};

/// One product in a cart.
struct CartItem : tocsin::Model<CartItem> {
    static constexpr std::string_view label = "store.CartItem";
    tocsin::ForeignKey<Cart> cart{tocsin::on_delete::cascade};
    tocsin::ForeignKey<Product> product{tocsin::on_delete::cascade};
    int quantity = 1;

    static auto fields() {
        return tocsin::fields(tocsin::field("cart", &CartItem::cart),
                              tocsin::field("product", &CartItem::product),
                              tocsin::field("quantity", &CartItem::quantity));
    }
};

/// "31.00" for 3100 cents.
inline std::string format_price(std::int64_t cents) {
    const std::string rest = std::to_string(cents % 100);
    return std::to_string(cents / 100) + "." + (rest.size() == 1 ? "0" : "") + rest;
}

}  // namespace store

// Each model's description is compiled once, in apps.cpp, not in every file using the models
// (TOCSIN_EXTERN_MODEL: compile time only).
TOCSIN_EXTERN_MODEL(store::Customer);
TOCSIN_EXTERN_MODEL(store::Product);
TOCSIN_EXTERN_MODEL(store::Order);
TOCSIN_EXTERN_MODEL(store::OrderItem);
TOCSIN_EXTERN_MODEL(store::Cart);
TOCSIN_EXTERN_MODEL(store::CartItem);
