// remote::connect: the options it requires, its dispatch_uid identity across the program, the
// custom signals whose arguments travel as JSON, and how a remote receiver is listed.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "remote_support.hpp"

namespace shop {
struct Order {
    int id = 0;
    std::string customer;
    friend bool operator==(const Order&, const Order&) = default;
};
void to_json(nlohmann::json& j, const Order& o) {
    j = nlohmann::json{{"id", o.id}, {"customer", o.customer}};
}
void from_json(const nlohmann::json& j, Order& o) {
    j.at("id").get_to(o.id);
    j.at("customer").get_to(o.customer);
}
struct Checkout {};
}  // namespace shop

namespace tocsin::test::remote_test {
namespace {
namespace connect_test {

Signal<void(const shop::Order&, int)> order_placed{"shop.order_placed"};

struct Placed {
    std::string sender;
    shop::Order order;
    int quantity = 0;
};
std::vector<Placed> placed;

void record(const Sender& sender, const shop::Order& order, int quantity) {
    placed.push_back({sender.name(), order, quantity});
}
void apply(Item& item, const SaveEvent&) {
    apply_effect("apply", item);
}

class ConnectTest : public RemoteTest {
  protected:
    void SetUp() override {
        RemoteTest::SetUp();
        placed.clear();
    }
};

TEST_F(ConnectTest, ADispatchUidIsRequired) {
    try {
        (void)remote::connect<Item>(post_save, &apply, {.queue = "q"});
        FAIL();
    } catch (const std::invalid_argument& e) {
        EXPECT_STREQ(e.what(),
                     "remote::connect to 'post_save': a remote receiver needs a dispatch_uid "
                     "(workers find the function by it)");
    }
    EXPECT_THROW((void)remote::connect<Item>(post_save, &apply, {.queue = "", .dispatch_uid = "u"}),
                 std::invalid_argument);
    EXPECT_FALSE(post_save.has_listeners(Sender::of<Item>()));
}

TEST_F(ConnectTest, PreSaveCannotBeRemote) {
    try {
        (void)remote::connect<Item>(pre_save, &apply, {.dispatch_uid = "outboxtest.apply"});
        FAIL();
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("only post_save can be remote"), std::string::npos);
    }
}

TEST_F(ConnectTest, ConnectingTheSameUidAgainIsANoOp) {
    connections.emplace_back(
        remote::connect<Item>(post_save, &apply, {.dispatch_uid = "outboxtest.apply"}));
    connections.emplace_back(
        remote::connect<Item>(post_save, &apply, {.dispatch_uid = "outboxtest.apply"}));
    Item::objects().create({.name = "x"});
    EXPECT_EQ(outbox_size(), 1);
    // The same uid for another signal or queue names another receiver: refused.
    EXPECT_THROW((void)remote::connect(order_placed, &record, {.dispatch_uid = "outboxtest.apply"}),
                 std::invalid_argument);
    EXPECT_THROW((void)remote::connect<Item>(
                     post_save, &apply, {.queue = "other", .dispatch_uid = "outboxtest.apply"}),
                 std::invalid_argument);
}

TEST_F(ConnectTest, ACustomSignalsArgumentsTravelAsJsonAndComeBackAsValues) {
    connections.emplace_back(remote::connect(order_placed, &record,
                                             {.queue = "orders",
                                              .dispatch_uid = "shop.record",
                                              .sender = Sender::of<shop::Checkout>()}));
    tocsin::atomic([] {
        order_placed.send(Sender::of<shop::Checkout>(), shop::Order{7, "ann"}, 2);
        order_placed.send(Sender::of<Item>(), shop::Order{8, "bob"}, 1);  // not its sender
    });
    EXPECT_TRUE(placed.empty());  // nothing ran here
    const auto rows = remote::outbox_rows();
    ASSERT_EQ(rows.size(), 1U);
    EXPECT_EQ(rows[0].payload, R"([{"customer":"ann","id":7},2])");
    EXPECT_EQ(rows[0].signal, "shop.order_placed");
    EXPECT_EQ(rows[0].queue, "orders");

    remote::Worker worker;
    EXPECT_EQ(worker.drain(), 1U);
    ASSERT_EQ(placed.size(), 1U);
    EXPECT_EQ(placed[0].order, (shop::Order{7, "ann"}));
    EXPECT_EQ(placed[0].quantity, 2);
    EXPECT_EQ(placed[0].sender, Sender::of<shop::Checkout>().name());
    EXPECT_EQ(events_in("done"), 1);
}

TEST_F(ConnectTest, ArgumentsWithQuotesBackslashesAndNonAsciiTextTravelIntactInABatch) {
    connections.emplace_back(
        remote::connect(order_placed, &record, {.queue = "orders", .dispatch_uid = "shop.record"}));
    const std::vector<std::string> names{R"(ann "the" \ \\ {x,y} NULL)", "bob\tq\u00e9\u20ac", "",
                                         "NULL"};
    tocsin::atomic([&] {  // one write of all the rows, just before the commit
        for (std::size_t i = 0; i < names.size(); ++i) {
            order_placed.send(Sender::of<shop::Checkout>(),
                              shop::Order{static_cast<int>(i), names[i]}, 1);
        }
    });
    remote::Worker worker;
    EXPECT_EQ(worker.drain(), names.size());
    ASSERT_EQ(placed.size(), names.size());
    for (std::size_t i = 0; i < names.size(); ++i) {
        EXPECT_EQ(placed[i].order, (shop::Order{static_cast<int>(i), names[i]}));
    }
}

TEST_F(ConnectTest, ACustomSignalCannotBeOrdered) {
    try {
        (void)remote::connect(order_placed, &record,
                              {.queue = "orders", .dispatch_uid = "shop.record", .ordered = true});
        FAIL();
    } catch (const std::invalid_argument& e) {
        EXPECT_STREQ(e.what(),
                     "remote receiver 'shop.record' of shop.order_placed: .ordered is for model "
                     "signals (the events of one instance); a custom signal's sender names no "
                     "object a worker can order by");
    }
    EXPECT_FALSE(remote::find_remote_receiver("shop.order_placed", "shop.record"));
}

TEST_F(ConnectTest, ACustomSignalsRowRollsBackWithItsTransaction) {
    connections.emplace_back(
        remote::connect(order_placed, &record, {.dispatch_uid = "shop.record"}));
    EXPECT_THROW(tocsin::atomic([] {
                     order_placed.send(Sender::of<shop::Checkout>(), shop::Order{7, "ann"}, 2);
                     throw std::runtime_error("no");
                 }),
                 std::runtime_error);
    EXPECT_EQ(outbox_size(), 0);
}

TEST_F(ConnectTest, RemoteReceiversAreListed) {
    connections.emplace_back(remote::connect<Item>(
        post_save, &apply,
        {.queue = "mail", .dispatch_uid = "outboxtest.apply", .retry = {.max_attempts = 7}}));
    const auto all = remote::remote_receivers();
    ASSERT_EQ(all.size(), 1U);
    EXPECT_EQ(all[0].dispatch_uid, "outboxtest.apply");
    EXPECT_EQ(all[0].queue, "mail");
    EXPECT_EQ(all[0].signal, "post_save");
    EXPECT_EQ(all[0].sender, "outboxtest.Item");
    EXPECT_EQ(all[0].retry.max_attempts, 7);
    EXPECT_TRUE(remote::find_remote_receiver("post_save", "outboxtest.apply"));
    EXPECT_FALSE(remote::find_remote_receiver("pre_save", "outboxtest.apply"));
    // The local half is an ordinary receiver of post_save under the same uid.
    const auto receivers = post_save.receivers();
    ASSERT_EQ(receivers.size(), 1U);
    EXPECT_EQ(receivers[0].dispatch_uid, "outboxtest.apply");
    EXPECT_EQ(receivers[0].name, "outboxtest.apply");
}

}  // namespace connect_test
}  // namespace
}  // namespace tocsin::test::remote_test
