// tocsin::Sender: who sends. Django compares senders by identity (id(x)), never by equality.
#include <tocsin/dispatch.hpp>

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <type_traits>
#include <unordered_set>

#include "test_support.hpp"

// Model-like types at global scope, so that their readable names are just "User" and "Admin".
struct User {
    int id = 0;
};
struct Admin {
    int id = 0;
};

namespace {
namespace sender_test {

using tocsin::Sender;

TEST(Sender, DefaultConstructedNamesNoSender) {
    constexpr Sender none{};
    EXPECT_TRUE(none.is_none());
    EXPECT_FALSE(static_cast<bool>(none));
    EXPECT_EQ(none.name(), "(none)");
    EXPECT_EQ(none, Sender{});
}

TEST(Sender, OfATypeIsTheSameSenderEveryTime) {
    EXPECT_EQ(Sender::of<User>(), Sender::of<User>());
    EXPECT_EQ(Sender::of<User>().id(), Sender::of<User>().id());
    EXPECT_FALSE(Sender::of<User>().is_none());
    EXPECT_TRUE(static_cast<bool>(Sender::of<User>()));
    EXPECT_NE(Sender::of<User>().id(), nullptr);
}

TEST(Sender, DifferentTypesAreDifferentSenders) {
    EXPECT_NE(Sender::of<User>(), Sender::of<Admin>());
    EXPECT_NE(Sender::of<User>().id(), Sender::of<Admin>().id());
    EXPECT_NE(Sender::of<User>(), Sender{});
}

TEST(Sender, OfATypeIsNamedAfterTheType) {
    EXPECT_EQ(Sender::of<User>().name(), "User");
    EXPECT_EQ(Sender::of<Admin>().name(), "Admin");
}

TEST(Sender, ObjectIsIdentifiedByItsAddressNotItsValue) {
    const User a{7};
    const User b{7};  // equal value, another object: another sender (Django: id(), not ==)
    EXPECT_EQ(Sender::object(&a), Sender::object(&a));
    EXPECT_NE(Sender::object(&a), Sender::object(&b));
    EXPECT_EQ(Sender::object(&a).id(), static_cast<const void*>(&a));
    EXPECT_FALSE(Sender::object(&a).is_none());
    EXPECT_TRUE(static_cast<bool>(Sender::object(&a)));
}

TEST(Sender, AnObjectIsNotItsType) {
    User u;
    EXPECT_NE(Sender::object(&u), Sender::of<User>());
}

TEST(Sender, TypedObjectIsNamedAfterItsType) {
    User u;
    const std::string name = Sender::object(&u).name();
    EXPECT_TRUE(name.starts_with("User@0x")) << name;
}

TEST(Sender, UntypedAndTypedObjectAtOneAddressAreOneSender) {
    User u;
    const Sender untyped = Sender::object(static_cast<const void*>(&u));
    EXPECT_EQ(untyped, Sender::object(&u));
    EXPECT_FALSE(untyped.is_none());
    EXPECT_FALSE(untyped.name().empty());
    EXPECT_NE(untyped.name(), "(none)");
}

TEST(Sender, HashAgreesWithEquality) {
    User u;
    Admin a;
    const std::hash<Sender> hash;
    EXPECT_EQ(hash(Sender::of<User>()), hash(Sender::of<User>()));
    EXPECT_EQ(hash(Sender::object(&u)), hash(Sender::object(&u)));
    const std::unordered_set<Sender> set{
        Sender::of<User>(), Sender::of<User>(), Sender::of<Admin>(), Sender{},
        Sender{},           Sender::object(&u), Sender::object(&u),  Sender::object(&a)};
    EXPECT_EQ(set.size(), 5u);
    EXPECT_EQ(set.count(Sender::of<User>()), 1u);
    EXPECT_EQ(set.count(Sender::object(&u)), 1u);
    EXPECT_EQ(set.count(Sender{}), 1u);
}

TEST(Sender, IsACopyableValue) {
    static_assert(std::is_nothrow_copy_constructible_v<Sender>);
    static_assert(std::is_nothrow_copy_assignable_v<Sender>);
    User u;
    Sender s = Sender::object(&u);
    const Sender copy = s;
    EXPECT_EQ(copy, s);
    s = Sender::of<Admin>();
    EXPECT_EQ(s, Sender::of<Admin>());
    EXPECT_EQ(copy, Sender::object(&u));
}

}  // namespace sender_test
}  // namespace
