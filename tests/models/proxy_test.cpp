// Proxy models (Django's Meta.proxy): a proxy reads and writes its concrete model's table, has
// no table of its own, and is its own sender. Ported from Django's tests/proxy_models.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "test_support.hpp"

namespace proxy_models {

struct Person : tocsin::Model<Person> {
    static constexpr std::string_view label = "proxy_models.Person";
    std::string name;
    static auto fields() { return tocsin::fields(tocsin::field("name", &Person::name)); }
};

/// Django's MyPerson(Person), Meta.proxy = True.
struct MyPerson : tocsin::Model<MyPerson, Person> {
    static constexpr std::string_view label = "proxy_models.MyPerson";
    static constexpr bool proxy = true;
    static auto fields() { return tocsin::fields(); }
};

/// Django's MyPersonProxy(MyPerson), a proxy of a proxy.
struct MyPersonProxy : tocsin::Model<MyPersonProxy, MyPerson> {
    static constexpr std::string_view label = "proxy_models.MyPersonProxy";
    static constexpr bool proxy = true;
    static auto fields() { return tocsin::fields(); }
};

/// A row referencing a Person: removing a proxy instance cascades to it.
struct Pet : tocsin::Model<Pet> {
    static constexpr std::string_view label = "proxy_models.Pet";
    tocsin::ForeignKey<Person> owner{tocsin::on_delete::cascade};
    static auto fields() { return tocsin::fields(tocsin::field("owner", &Pet::owner)); }
};

void build() {
    tocsin::test::build_test_models();
    static_cast<void>(Person::info());
    static_cast<void>(MyPerson::info());
    static_cast<void>(MyPersonProxy::info());
    static_cast<void>(Pet::info());
}

}  // namespace proxy_models

namespace tocsin::test {
namespace {
namespace proxy_test {

using proxy_models::MyPerson;
using proxy_models::MyPersonProxy;
using proxy_models::Person;
using proxy_models::Pet;
using Log = std::vector<std::string>;

class ProxyModelTests : public ModelTest {
  protected:
    void SetUp() override {
        proxy_models::build();
        ModelTest::SetUp();
    }
};

// Django: proxy_models.tests.ProxyModelTests.test_same_manager_queries — a proxy shares its
// concrete model's table: no table of its own, the same rows through both.
TEST_F(ProxyModelTests, test_same_manager_queries) {
    EXPECT_EQ(MyPerson::info().table, "proxy_models_person");
    EXPECT_EQ(&MyPersonProxy::info().concrete(), &Person::info());
    Log tables;
    for (const auto& table : table_names()) {
        if (table.rfind("proxy_models_", 0) == 0) {
            tables.push_back(table);
        }
    }
    std::sort(tables.begin(), tables.end());
    EXPECT_EQ(tables, (Log{"proxy_models_person", "proxy_models_pet"}));  // person and pet only

    Person::objects().create({.name = "Bruce"});
    MyPerson george;
    george.name = "George";
    george.save();
    Log names;
    for (const MyPerson& p : MyPerson::objects().order_by(&ModelBase::id)) {
        names.push_back(p.name);
    }
    EXPECT_EQ(names, (Log{"Bruce", "George"}));
    EXPECT_EQ(Person::objects().filter(where(&Person::name) == "George").count(), 1U);
}

// Django: proxy_models.tests.ProxyModelTests.test_proxy_model_signals — the save signals of a
// proxy instance are sent with the proxy as sender (not its concrete model's), also for a proxy
// of a proxy.
TEST_F(ProxyModelTests, test_proxy_model_signals) {
    Log output;
    const auto handler = [&](std::string model, std::string event) {
        return [&output, model, event](ModelBase&, const SaveEvent&) {
            output.push_back(model + " " + event + " save");
        };
    };
    std::vector<ScopedConnection> connections;
    connections.emplace_back(
        pre_save.connect(handler("MyPerson", "pre"), {.sender = Sender::of<MyPerson>()}));
    connections.emplace_back(
        post_save.connect(handler("MyPerson", "post"), {.sender = Sender::of<MyPerson>()}));
    connections.emplace_back(
        pre_save.connect(handler("Person", "pre"), {.sender = Sender::of<Person>()}));
    connections.emplace_back(
        post_save.connect(handler("Person", "post"), {.sender = Sender::of<Person>()}));
    MyPerson dino;
    dino.name = "dino";
    static_cast<void>(MyPerson::objects().create(dino));
    EXPECT_EQ(output, (Log{"MyPerson pre save", "MyPerson post save"}));

    output.clear();
    connections.emplace_back(
        pre_save.connect(handler("MyPersonProxy", "pre"), {.sender = Sender::of<MyPersonProxy>()}));
    connections.emplace_back(post_save.connect(handler("MyPersonProxy", "post"),
                                               {.sender = Sender::of<MyPersonProxy>()}));
    MyPersonProxy pebbles;
    pebbles.name = "pebbles";
    static_cast<void>(MyPersonProxy::objects().create(pebbles));
    EXPECT_EQ(output, (Log{"MyPersonProxy pre save", "MyPersonProxy post save"}));
}

// Django: proxy_models.tests.ProxyModelTests.test_proxy_delete — a proxy instance can be removed
// (its concrete model's row goes); its delete signals name the proxy, and what references the
// row cascades.
TEST_F(ProxyModelTests, test_proxy_delete) {
    Person::objects().create({.name = "Bruce"});
    MyPerson george;
    george.name = "George";
    george.save();
    Pet pet;
    pet.owner = george;
    pet.save();
    Log output;
    ScopedConnection mine = pre_delete.connect<MyPerson>([&](MyPerson& p, const DeleteEvent&) {
        output.push_back("pre_delete MyPerson " + p.name);
    });
    ScopedConnection concrete = pre_delete.connect<Person>(
        [&](Person& p, const DeleteEvent&) { output.push_back("pre_delete Person " + p.name); });
    const auto result = george.remove();
    EXPECT_EQ(output, (Log{"pre_delete MyPerson George"}));
    EXPECT_EQ(result.per_model, (std::map<std::string, std::size_t>{{"proxy_models.MyPerson", 1},
                                                                    {"proxy_models.Pet", 1}}));
    Log names;
    for (const MyPerson& p : MyPerson::objects()) {
        names.push_back(p.name);
    }
    EXPECT_EQ(names, (Log{"Bruce"}));
    EXPECT_EQ(rows("proxy_models_pet"), 0);

    // A query set of the proxy: signals with the proxy as sender too.
    output.clear();
    MyPerson::objects().remove();
    EXPECT_EQ(output, (Log{"pre_delete MyPerson Bruce"}));
    EXPECT_EQ(rows("proxy_models_person"), 0);
}

}  // namespace proxy_test
}  // namespace
}  // namespace tocsin::test
