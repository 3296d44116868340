// Tracked receivers: Connect{.track} and member functions on a shared_ptr (Django's weak
// receivers). Once the object dies the receiver is never called, not counted, not listed, and the
// signal keeps nothing alive.
#include <tocsin/dispatch.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace {
namespace tracking_test {

using tocsin::Connection;
using tocsin::Sender;
using tocsin::Signal;
using tocsin_test::is_clean;
using tocsin_test::Log;
using tocsin_test::Strings;

// Counts live instances, so a test can see that nothing keeps one alive.
struct Widget {
    static inline std::atomic<int> live{0};
    Log* log = nullptr;
    std::string name;
    Widget(Log* l, std::string n) : log(l), name(std::move(n)) { ++live; }
    ~Widget() { --live; }
    Widget(const Widget&) = delete;
    Widget& operator=(const Widget&) = delete;
    void on_event(int v) { log->add(name + " " + std::to_string(v)); }
};

// A capture whose lifetime shows whether the signal still holds a receiver's callable.
struct Token {};

class Tracking : public ::testing::Test {
  protected:
    void SetUp() override { live_before_ = Widget::live.load(); }
    void TearDown() override { EXPECT_EQ(Widget::live.load(), live_before_) << "a Widget leaked"; }

  private:
    int live_before_ = 0;
};

TEST_F(Tracking, TrackedReceiverRunsWhileItsObjectLives) {
    Signal<void(int)> sig;
    Log log;
    auto owner = std::make_shared<int>(0);
    const Connection c =
        sig.connect([&log](int v) { log.add("tracked " + std::to_string(v)); }, {.track = owner});
    EXPECT_TRUE(c.connected());
    sig.send({}, 1);
    sig.send({}, 2);
    EXPECT_EQ(log.entries(), (Strings{"tracked 1", "tracked 2"}));
}

TEST_F(Tracking, AfterTheObjectDiesTheReceiverIsNeverCalledNorCounted) {
    Signal<void(int)> sig;
    Log log;
    auto owner = std::make_shared<int>(0);
    const Connection c =
        sig.connect([&log](int v) { log.add("tracked " + std::to_string(v)); }, {.track = owner});
    sig.connect([&log](int v) { log.add("plain " + std::to_string(v)); });
    EXPECT_EQ(sig.receiver_count(), 2u);
    owner.reset();
    EXPECT_FALSE(c.connected());
    EXPECT_EQ(sig.receiver_count(), 1u);
    ASSERT_EQ(sig.receivers().size(), 1u);
    EXPECT_TRUE(sig.receivers()[0].connection != c);
    sig.send({}, 3);
    EXPECT_EQ(log.entries(), (Strings{"plain 3"}));
}

TEST_F(Tracking, OnlyTrackedReceiverDeadMeansNoListeners) {
    Signal<void()> sig;
    auto owner = std::make_shared<int>(0);
    sig.connect([] {}, {.track = owner});
    sig.connect([] {}, {.sender = Sender::of<Token>(), .track = owner});
    EXPECT_TRUE(sig.has_listeners());
    EXPECT_TRUE(sig.has_listeners(Sender::of<Token>()));
    owner.reset();
    EXPECT_FALSE(sig.has_listeners());
    EXPECT_FALSE(sig.has_listeners(Sender::of<Token>()));
    EXPECT_TRUE(is_clean(sig));
}

TEST_F(Tracking, MemberFunctionOnASharedPtrDoesNotKeepTheObjectAlive) {
    Signal<void(int)> sig;
    Log log;
    auto widget = std::make_shared<Widget>(&log, "w");
    const std::weak_ptr<Widget> watch = widget;
    const int live = Widget::live.load();
    const Connection c = sig.connect(&Widget::on_event, widget);
    EXPECT_EQ(widget.use_count(), 1) << "the signal holds a strong reference";
    sig.send({}, 1);
    widget.reset();
    EXPECT_TRUE(watch.expired());
    EXPECT_EQ(Widget::live.load(), live - 1);
    EXPECT_FALSE(c.connected());
    sig.send({}, 2);
    EXPECT_EQ(log.entries(), (Strings{"w 1"}));
    EXPECT_TRUE(is_clean(sig));
}

TEST_F(Tracking, MemberFunctionsOfTwoObjectsDieSeparately) {
    Signal<void(int)> sig;
    Log log;
    auto first = std::make_shared<Widget>(&log, "first");
    auto second = std::make_shared<Widget>(&log, "second");
    sig.connect(&Widget::on_event, first);
    sig.connect(&Widget::on_event, second);
    first.reset();
    EXPECT_EQ(sig.receiver_count(), 1u);
    sig.send({}, 1);
    EXPECT_EQ(log.entries(), (Strings{"second 1"}));
}

TEST_F(Tracking, SendDoesNotKeepTheTrackedObjectAliveAfterwards) {
    Signal<void(int)> sig;
    Log log;
    auto widget = std::make_shared<Widget>(&log, "w");
    sig.connect(&Widget::on_event, widget);
    for (int i = 0; i < 10; ++i) {
        sig.send({}, i);
        sig.send_robust({}, i);
    }
    EXPECT_EQ(widget.use_count(), 1);
}

TEST_F(Tracking, RawPointerMemberFunctionIsNotTracked) {
    Signal<void(int)> sig;
    Log log;
    Widget widget(&log, "raw");
    sig.connect(&Widget::on_event, &widget);
    const auto listed = sig.receivers();
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_FALSE(listed[0].tracked);
    sig.send({}, 5);
    EXPECT_EQ(log.entries(), (Strings{"raw 5"}));
    EXPECT_TRUE(sig.disconnect(&Widget::on_event, &widget));
}

TEST_F(Tracking, ObjectKilledByAnEarlierReceiverIsNotCalledInTheSameSend) {
    Signal<void(int)> sig;
    Log log;
    auto widget = std::make_shared<Widget>(&log, "w");
    auto owner = std::make_shared<int>(0);
    sig.connect([&](int) {
        log.add("killer");
        widget.reset();
        owner.reset();
    });
    sig.connect(&Widget::on_event, widget);
    sig.connect([&log](int) { log.add("tracked lambda"); }, {.track = owner});
    sig.connect([&log](int) { log.add("last"); });
    sig.send({}, 1);
    EXPECT_EQ(log.entries(), (Strings{"killer", "last"}));
}

TEST_F(Tracking, ObjectReleasedDuringItsOwnCallSurvivesUntilTheCallReturns) {
    // The send holds the tracked object while calling it, so `this` stays valid.
    struct SelfReleasing {
        std::shared_ptr<SelfReleasing>* holder = nullptr;
        std::atomic<bool>* destroyed = nullptr;
        bool* report = nullptr;
        ~SelfReleasing() { *destroyed = true; }
        void on() {
            holder->reset();  // drops the last owner outside the signal
            *report = !destroyed->load();
        }
    };
    Signal<void()> sig;
    std::atomic<bool> destroyed{false};
    bool alive_during_call = false;
    auto object = std::make_shared<SelfReleasing>();
    object->holder = &object;
    object->destroyed = &destroyed;
    object->report = &alive_during_call;
    sig.connect(&SelfReleasing::on, object);
    sig.send({});
    EXPECT_TRUE(alive_during_call) << "the object was destroyed while its receiver ran";
    EXPECT_TRUE(destroyed.load()) << "the object outlived the send";
    EXPECT_TRUE(is_clean(sig));
}

TEST_F(Tracking, DispatchUidOfADeadReceiverCanBeUsedAgain) {
    Signal<void()> sig;
    Log log;
    auto first_owner = std::make_shared<int>(1);
    sig.connect([&log] { log.add("first"); }, {.dispatch_uid = "uid", .track = first_owner});
    first_owner.reset();
    const Connection again = sig.connect([&log] { log.add("second"); }, {.dispatch_uid = "uid"});
    EXPECT_TRUE(again.connected());
    EXPECT_EQ(sig.receiver_count(), 1u);
    sig.send({});
    EXPECT_EQ(log.entries(), (Strings{"second"}));
}

TEST_F(Tracking, MemberFunctionOfADeadObjectCanBeConnectedForANewObject) {
    Signal<void(int)> sig;
    Log log;
    auto old_widget = std::make_shared<Widget>(&log, "old");
    sig.connect(&Widget::on_event, old_widget);
    old_widget.reset();
    auto new_widget = std::make_shared<Widget>(&log, "new");
    const Connection c = sig.connect(&Widget::on_event, new_widget);
    EXPECT_TRUE(c.connected());
    sig.send({}, 1);
    EXPECT_EQ(log.entries(), (Strings{"new 1"}));
}

TEST_F(Tracking, DeadReceiverIsPurgedAndItsCallableReleased) {
    Signal<void()> sig;
    auto token = std::make_shared<Token>();
    const std::weak_ptr<Token> watch = token;
    auto owner = std::make_shared<int>(0);
    sig.connect([token] {}, {.track = owner});
    token.reset();
    EXPECT_FALSE(watch.expired()) << "the connected receiver holds its capture";
    owner.reset();
    // "entries are purged on the next connect/disconnect"
    sig.connect([] {});
    sig.send({});
    EXPECT_TRUE(watch.expired()) << "the purged receiver's callable was not released";
}

TEST_F(Tracking, DisconnectedReceiverReleasesItsCallable) {
    Signal<void()> sig;
    auto token = std::make_shared<Token>();
    const std::weak_ptr<Token> watch = token;
    const Connection c = sig.connect([token] {});
    token.reset();
    EXPECT_TRUE(c.disconnect());
    sig.send({});
    EXPECT_TRUE(watch.expired()) << "the disconnected receiver's callable was not released";
}

TEST_F(Tracking, DestroyingTheSignalReleasesEveryCallable) {
    auto token = std::make_shared<Token>();
    const std::weak_ptr<Token> watch = token;
    Connection c;
    {
        Signal<void()> sig;
        auto owner = std::make_shared<int>(0);
        sig.connect([token] {});
        sig.connect([token] {}, {.track = owner});
        sig.connect([token] {}, {.dispatch_uid = "uid"});
        c = sig.connect([token] {}, {.sender = Sender::of<Token>()});
        token.reset();
        sig.send({});
        EXPECT_FALSE(watch.expired());
    }
    EXPECT_TRUE(watch.expired()) << "the signal's destruction leaked a receiver";
    EXPECT_FALSE(c.connected());
}

TEST_F(Tracking, ConnectionKeepsNeitherTheObjectNorTheCallableAlive) {
    auto token = std::make_shared<Token>();
    const std::weak_ptr<Token> watch = token;
    Log log;
    auto widget = std::make_shared<Widget>(&log, "w");
    const std::weak_ptr<Widget> widget_watch = widget;
    Connection lambda_connection;
    Connection widget_connection;
    {
        Signal<void(int)> sig;
        lambda_connection = sig.connect([token](int) {});
        widget_connection = sig.connect(&Widget::on_event, widget);
        token.reset();
        widget.reset();
        EXPECT_TRUE(widget_watch.expired());
    }
    EXPECT_TRUE(watch.expired()) << "a Connection that outlives its signal keeps the callable";
}

TEST_F(Tracking, TrackedReceiverIsListedAsTracked) {
    Signal<void(int)> sig;
    Log log;
    auto owner = std::make_shared<int>(0);
    auto widget = std::make_shared<Widget>(&log, "w");
    sig.connect([](int) {}, {.name = "lambda"});
    sig.connect([](int) {}, {.track = owner, .name = "tracked lambda"});
    sig.connect(&Widget::on_event, widget, {.name = "member"});
    const auto listed = sig.receivers();
    ASSERT_EQ(listed.size(), 3u);
    EXPECT_EQ(listed[0].name, "lambda");
    EXPECT_FALSE(listed[0].tracked);
    EXPECT_EQ(listed[1].name, "tracked lambda");
    EXPECT_TRUE(listed[1].tracked);
    EXPECT_EQ(listed[2].name, "member");
    EXPECT_TRUE(listed[2].tracked);
}

TEST_F(Tracking, OrderOfTheSurvivorsIsKept) {
    Signal<void()> sig;
    Log log;
    std::vector<std::shared_ptr<int>> owners;
    for (int i = 0; i < 6; ++i) {
        owners.push_back(std::make_shared<int>(i));
        sig.connect([&log, i] { log.add(std::to_string(i)); }, {.track = owners.back()});
    }
    owners[1].reset();
    owners[4].reset();
    sig.send({});
    EXPECT_EQ(log.entries(), (Strings{"0", "2", "3", "5"}));
    EXPECT_EQ(sig.receiver_count(), 4u);
}

}  // namespace tracking_test
}  // namespace
