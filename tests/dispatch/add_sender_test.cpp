// Signal::add_sender: one receiver hearing several senders (what the model layer uses for a
// receiver of a model and its subclasses). It stays one receiver keyed by its first sender.
#include <tocsin/dispatch.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

struct Base {};
struct Derived {};
struct Other {};

namespace {
namespace add_sender_test {

using tocsin::Connection;
using tocsin::Sender;
using tocsin::Signal;
using Log = std::vector<std::string>;

Log g_log;

void on_any(const Sender& sender) {
    g_log.push_back("on_any " + sender.name());
}

class AddSenderTest : public ::testing::Test {
  protected:
    void SetUp() override { g_log.clear(); }
    Signal<void()> signal{"changed"};
};

TEST_F(AddSenderTest, TheReceiverHearsTheAddedSenderOnly) {
    const Connection c = signal.connect(&on_any, {.sender = Sender::of<Base>()});
    EXPECT_TRUE(signal.add_sender(c, Sender::of<Derived>()));
    signal.send(Sender::of<Base>());
    signal.send(Sender::of<Derived>());
    signal.send(Sender::of<Other>());
    signal.send(Sender{});
    EXPECT_EQ(g_log, (Log{"on_any Base", "on_any Derived"}));
    EXPECT_TRUE(signal.has_listeners(Sender::of<Derived>()));
    EXPECT_FALSE(signal.has_listeners(Sender::of<Other>()));
    EXPECT_EQ(signal.receiver_count(), 1u);
    ASSERT_EQ(signal.receivers().size(), 1u);
    EXPECT_EQ(signal.receivers()[0].sender, Sender::of<Base>());
    EXPECT_EQ(signal.receivers()[0].also_senders, std::vector<Sender>{Sender::of<Derived>()});
}

TEST_F(AddSenderTest, RefusedWhenNotConnectedAlreadyHeardOrForEverySender) {
    const Connection c = signal.connect(&on_any, {.sender = Sender::of<Base>()});
    EXPECT_FALSE(signal.add_sender(c, Sender::of<Base>()));
    EXPECT_TRUE(signal.add_sender(c, Sender::of<Derived>()));
    EXPECT_FALSE(signal.add_sender(c, Sender::of<Derived>()));
    EXPECT_FALSE(signal.add_sender(c, Sender{}));
    const Connection any = signal.connect([](const Sender&) {});
    EXPECT_FALSE(signal.add_sender(any, Sender::of<Derived>()));
    Signal<void()> other;
    EXPECT_FALSE(other.add_sender(c, Sender::of<Other>()));
    c.disconnect();
    EXPECT_FALSE(signal.add_sender(c, Sender::of<Other>()));
    EXPECT_FALSE(signal.add_sender(Connection{}, Sender::of<Other>()));
}

TEST_F(AddSenderTest, OneDisconnectRemovesItFromEverySender) {
    Connection c = signal.connect(&on_any, {.sender = Sender::of<Base>()});
    signal.add_sender(c, Sender::of<Derived>());
    EXPECT_FALSE(signal.disconnect(&on_any, Sender::of<Derived>()));  // keyed by Base
    EXPECT_TRUE(signal.disconnect(&on_any, Sender::of<Base>()));
    signal.send(Sender::of<Derived>());
    EXPECT_TRUE(g_log.empty());
    EXPECT_FALSE(signal.has_listeners(Sender::of<Derived>()));

    c = signal.connect([](const Sender& s) { g_log.push_back("uid " + s.name()); },
                       {.sender = Sender::of<Base>(), .dispatch_uid = "u"});
    signal.add_sender(c, Sender::of<Derived>());
    EXPECT_TRUE(signal.disconnect("u", Sender::of<Base>()));
    signal.send(Sender::of<Derived>());
    EXPECT_TRUE(g_log.empty());
}

// The same receiver connected for the added sender itself is called once per send, whichever
// connected first; the order is the call order of the one kept.
TEST_F(AddSenderTest, TheSameReceiverConnectedForTheSenderIsCalledOnce) {
    const Connection direct = signal.connect(&on_any, {.sender = Sender::of<Derived>()});
    const Connection via_base = signal.connect(&on_any, {.sender = Sender::of<Base>()});
    signal.add_sender(via_base, Sender::of<Derived>());
    signal.send(Sender::of<Derived>());
    EXPECT_EQ(g_log, (Log{"on_any Derived"}));
    direct.disconnect();
    signal.send(Sender::of<Derived>());
    EXPECT_EQ(g_log, (Log{"on_any Derived", "on_any Derived"}));

    // Two receivers adding the same sender: the one connected first is kept.
    g_log.clear();
    const Connection also = signal.connect(&on_any, {.sender = Sender::of<Other>()});
    signal.add_sender(also, Sender::of<Derived>());
    signal.send(Sender::of<Derived>());
    EXPECT_EQ(g_log, (Log{"on_any Derived"}));
    // Lambdas have no identity: both are called.
    g_log.clear();
    const Connection l1 = signal.connect([](const Sender&) { g_log.push_back("l1"); },
                                         {.sender = Sender::of<Base>()});
    signal.add_sender(l1, Sender::of<Derived>());
    signal.send(Sender::of<Derived>());
    EXPECT_EQ(g_log, (Log{"on_any Derived", "l1"}));
}

// Priorities and connection order hold across the added senders.
TEST_F(AddSenderTest, CallOrderFollowsPriorityThenConnectionOrder) {
    signal.connect([](const Sender&) { g_log.push_back("derived, first"); },
                   {.sender = Sender::of<Derived>()});
    const Connection c = signal.connect([](const Sender&) { g_log.push_back("base, urgent"); },
                                        {.sender = Sender::of<Base>(), .priority = 5});
    signal.connect([](const Sender&) { g_log.push_back("everyone"); });
    signal.add_sender(c, Sender::of<Derived>());
    signal.send(Sender::of<Derived>());
    EXPECT_EQ(g_log, (Log{"base, urgent", "derived, first", "everyone"}));
}

}  // namespace add_sender_test
}  // namespace
