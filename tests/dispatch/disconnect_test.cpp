// Signal::disconnect and Connection / ScopedConnection. Return values as in Django (notes §1.4):
// true if this call removed a receiver, false otherwise.
#include <tocsin/dispatch.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "test_support.hpp"

namespace {
namespace disconnect_test {

using tocsin::Connection;
using tocsin::ScopedConnection;
using tocsin::Sender;
using tocsin::Signal;
using tocsin_test::is_clean;
using tocsin_test::Log;
using tocsin_test::Strings;

Log g_log;

void audit(const Sender& sender) {
    g_log.add("audit " + sender.name());
}
void never_connected(const Sender&) {
    g_log.add("never");
}

struct Listener {
    int calls = 0;
    void on() { ++calls; }
};

class Disconnect : public ::testing::Test {
  protected:
    void SetUp() override { g_log.clear(); }
};

TEST_F(Disconnect, ByConnectionReturnsTrueThenFalse) {
    Signal<void()> sig;
    Log log;
    const Connection c = sig.connect([&log] { log.add("called"); });
    EXPECT_TRUE(sig.disconnect(c));
    EXPECT_FALSE(sig.disconnect(c));
    EXPECT_FALSE(c.connected());
    sig.send({});
    EXPECT_TRUE(log.entries().empty());
    EXPECT_TRUE(is_clean(sig));
}

TEST_F(Disconnect, ConnectionDisconnectReturnsTrueThenFalse) {
    Signal<void()> sig;
    const Connection c = sig.connect([] {});
    EXPECT_TRUE(c.disconnect());
    EXPECT_FALSE(c.disconnect());
    EXPECT_FALSE(c.connected());
    EXPECT_FALSE(sig.disconnect(c));
    EXPECT_TRUE(is_clean(sig));
}

TEST_F(Disconnect, EveryCopyOfAConnectionSeesTheDisconnect) {
    Signal<void()> sig;
    const Connection c = sig.connect([] {});
    const Connection copy = c;  // NOLINT(performance-unnecessary-copy-initialization)
    EXPECT_TRUE(copy.disconnect());
    EXPECT_FALSE(c.connected());
    EXPECT_FALSE(c.disconnect());
}

TEST_F(Disconnect, DefaultConnectionDisconnectsNothing) {
    Signal<void()> sig;
    sig.connect([] {});
    const Connection empty;
    EXPECT_FALSE(empty.disconnect());
    EXPECT_FALSE(sig.disconnect(empty));
    EXPECT_EQ(sig.receiver_count(), 1u);
}

TEST_F(Disconnect, OnlyTheGivenReceiver) {
    Signal<void()> sig;
    Log log;
    const Connection a = sig.connect([&log] { log.add("a"); });
    sig.connect([&log] { log.add("b"); });
    EXPECT_TRUE(a.disconnect());
    EXPECT_EQ(sig.receiver_count(), 1u);
    sig.send({});
    EXPECT_EQ(log.entries(), (Strings{"b"}));
}

TEST_F(Disconnect, ConnectionOfAnotherSignalIsNotDisconnectedHere) {
    Signal<void()> mine;
    Signal<void()> theirs;
    Log log;
    mine.connect([] {});
    const Connection c = theirs.connect([&log] { log.add("theirs"); });
    EXPECT_FALSE(mine.disconnect(c));
    EXPECT_TRUE(c.connected());
    EXPECT_EQ(mine.receiver_count(), 1u);
    theirs.send({});
    EXPECT_EQ(log.entries(), (Strings{"theirs"}));
}

TEST_F(Disconnect, ByDispatchUid) {
    Signal<void()> sig;
    Log log;
    sig.connect([&log] { log.add("uid"); }, {.dispatch_uid = "app.audit"});
    EXPECT_TRUE(sig.disconnect("app.audit"));
    EXPECT_FALSE(sig.disconnect("app.audit"));
    sig.send({});
    EXPECT_TRUE(log.entries().empty());
    EXPECT_TRUE(is_clean(sig));
}

TEST_F(Disconnect, ByDispatchUidNeedsTheSender) {
    Signal<void()> sig;
    sig.connect([] {}, {.sender = Sender::of<Order>(), .dispatch_uid = "uid"});
    EXPECT_FALSE(sig.disconnect("uid"));
    EXPECT_FALSE(sig.disconnect("uid", Sender::of<Invoice>()));
    EXPECT_EQ(sig.receiver_count(), 1u);
    EXPECT_TRUE(sig.disconnect("uid", Sender::of<Order>()));
    EXPECT_TRUE(is_clean(sig));
}

TEST_F(Disconnect, ByDispatchUidFromAStdString) {
    Signal<void()> sig;
    const std::string uid = "app.audit";
    sig.connect([] {}, {.dispatch_uid = uid});
    EXPECT_TRUE(sig.disconnect(uid));
    EXPECT_TRUE(is_clean(sig));
}

TEST_F(Disconnect, UidReceiverIsNotRemovedByItsFunction) {
    // Django item 14: a receiver connected with a dispatch_uid is removed only by that uid.
    Signal<void()> sig;
    sig.connect(&audit, {.dispatch_uid = "uid"});
    EXPECT_FALSE(sig.disconnect(&audit));
    EXPECT_EQ(sig.receiver_count(), 1u);
    EXPECT_TRUE(sig.disconnect("uid"));
    EXPECT_TRUE(is_clean(sig));
}

TEST_F(Disconnect, ByFunctionPointerForTheGivenSenderOnly) {
    // Django item 14: disconnect(r) does not remove (r, sender=X).
    Signal<void()> sig;
    sig.connect(&audit);
    sig.connect(&audit, {.sender = Sender::of<Order>()});
    EXPECT_FALSE(sig.disconnect(&audit, Sender::of<Invoice>()));
    EXPECT_TRUE(sig.disconnect(&audit));
    EXPECT_FALSE(sig.disconnect(&audit));
    EXPECT_EQ(sig.receiver_count(), 1u);
    sig.send(Sender::of<Order>());
    sig.send({});
    EXPECT_EQ(g_log.entries(), (Strings{"audit Order"}));
    EXPECT_TRUE(sig.disconnect(&audit, Sender::of<Order>()));
    EXPECT_FALSE(sig.disconnect(&audit, Sender::of<Order>()));
    EXPECT_TRUE(is_clean(sig));
}

TEST_F(Disconnect, ByFunctionNameWithoutAmpersand) {
    Signal<void()> sig;
    sig.connect(audit);
    EXPECT_TRUE(sig.disconnect(audit));
    EXPECT_TRUE(is_clean(sig));
}

TEST_F(Disconnect, NeverConnectedFunctionReturnsFalse) {
    // Django test_values_returned_by_disconnection, second half.
    Signal<void()> sig;
    sig.connect(&audit);
    EXPECT_FALSE(sig.disconnect(&never_connected));
    EXPECT_EQ(sig.receiver_count(), 1u);
}

TEST_F(Disconnect, MemberFunctionByRawPointer) {
    Signal<void()> sig;
    auto listener = std::make_shared<Listener>();
    sig.connect(&Listener::on, listener);
    EXPECT_TRUE(sig.disconnect(&Listener::on, listener.get()));
    EXPECT_FALSE(sig.disconnect(&Listener::on, listener.get()));
    sig.send({});
    EXPECT_EQ(listener->calls, 0);
    EXPECT_TRUE(is_clean(sig));
}

TEST_F(Disconnect, MemberFunctionBySharedPtr) {
    Signal<void()> sig;
    Listener raw;
    auto shared = std::make_shared<Listener>();
    sig.connect(&Listener::on, &raw);
    sig.connect(&Listener::on, shared);
    EXPECT_TRUE(sig.disconnect(&Listener::on, shared));
    EXPECT_FALSE(sig.disconnect(&Listener::on, shared));
    EXPECT_TRUE(sig.disconnect(&Listener::on, &raw));
    EXPECT_TRUE(is_clean(sig));
}

TEST_F(Disconnect, MemberFunctionOnAnotherObjectReturnsFalse) {
    Signal<void()> sig;
    Listener connected;
    Listener other;
    sig.connect(&Listener::on, &connected);
    EXPECT_FALSE(sig.disconnect(&Listener::on, &other));
    EXPECT_EQ(sig.receiver_count(), 1u);
}

TEST_F(Disconnect, MemberFunctionForTheGivenSenderOnly) {
    Signal<void()> sig;
    Listener listener;
    sig.connect(&Listener::on, &listener, {.sender = Sender::of<Order>()});
    EXPECT_FALSE(sig.disconnect(&Listener::on, &listener));
    EXPECT_TRUE(sig.disconnect(&Listener::on, &listener, Sender::of<Order>()));
    EXPECT_TRUE(is_clean(sig));
}

TEST_F(Disconnect, ExpiredTrackedReceiverReturnsFalse) {
    // Django item 15: an entry whose referent died is purged before the lookup.
    Signal<void()> sig;
    auto owner = std::make_shared<int>(0);
    const Connection by_connection = sig.connect([] {}, {.track = owner});
    sig.connect([] {}, {.dispatch_uid = "uid", .track = owner});
    auto listener = std::make_shared<Listener>();
    Listener* const raw = listener.get();
    sig.connect(&Listener::on, listener);
    owner.reset();
    listener.reset();
    EXPECT_FALSE(by_connection.disconnect());
    EXPECT_FALSE(sig.disconnect(by_connection));
    EXPECT_FALSE(sig.disconnect("uid"));
    EXPECT_FALSE(sig.disconnect(&Listener::on, raw));
    EXPECT_TRUE(is_clean(sig));
}

TEST_F(Disconnect, ReconnectingAfterDisconnectGoesToTheEnd) {
    Signal<void()> sig;
    sig.connect(&audit, {.name = "audit"});
    sig.connect([] { g_log.add("other"); });
    EXPECT_TRUE(sig.disconnect(&audit));
    const Connection again = sig.connect(&audit);
    EXPECT_TRUE(again.connected());
    sig.send({});
    EXPECT_EQ(g_log.entries(), (Strings{"other", "audit (none)"}));
}

TEST_F(Disconnect, FromOneSignalLeavesTheOthers) {
    Signal<void()> first;
    Signal<void()> second;
    first.connect(&audit);
    second.connect(&audit);
    EXPECT_TRUE(first.disconnect(&audit));
    first.send(Sender::of<Order>());
    second.send(Sender::of<Invoice>());
    EXPECT_EQ(g_log.entries(), (Strings{"audit Invoice"}));
}

TEST_F(Disconnect, ConnectionOutlivingItsSignal) {
    Connection c;
    {
        Signal<void()> sig;
        c = sig.connect([] {});
        EXPECT_TRUE(c.connected());
    }
    EXPECT_FALSE(c.connected());
    EXPECT_FALSE(c.disconnect());
}

TEST_F(Disconnect, ScopedConnectionDisconnectsOnDestruction) {
    Signal<void()> sig;
    Log log;
    Connection plain;
    {
        ScopedConnection scoped = sig.connect([&log] { log.add("scoped"); });
        plain = scoped.get();
        EXPECT_TRUE(plain.connected());
        sig.send({});
    }
    EXPECT_FALSE(plain.connected());
    sig.send({});
    EXPECT_EQ(log.entries(), (Strings{"scoped"}));
    EXPECT_TRUE(is_clean(sig));
}

TEST_F(Disconnect, ScopedConnectionReleaseKeepsTheReceiver) {
    Signal<void()> sig;
    Connection released;
    {
        ScopedConnection scoped(sig.connect([] {}));
        released = scoped.release();
        EXPECT_FALSE(scoped.get().connected());
    }
    EXPECT_TRUE(released.connected());
    EXPECT_EQ(sig.receiver_count(), 1u);
}

TEST_F(Disconnect, ScopedConnectionDisconnectReturnsTrueThenFalse) {
    Signal<void()> sig;
    ScopedConnection scoped(sig.connect([] {}));
    EXPECT_TRUE(scoped.get().connected());
    EXPECT_TRUE(scoped.disconnect());
    EXPECT_FALSE(scoped.disconnect());
    EXPECT_FALSE(scoped.get().connected());
    EXPECT_TRUE(is_clean(sig));
}

TEST_F(Disconnect, ScopedConnectionMoveTransfersOwnership) {
    Signal<void()> sig;
    std::optional<ScopedConnection> outer;
    {
        ScopedConnection inner(sig.connect([] {}));
        outer.emplace(std::move(inner));
    }  // the moved-from one is destroyed: it must not disconnect
    EXPECT_EQ(sig.receiver_count(), 1u);
    EXPECT_TRUE(outer->get().connected());
    outer.reset();
    EXPECT_TRUE(is_clean(sig));
}

TEST_F(Disconnect, ScopedConnectionMoveAssignmentDisconnectsTheOldReceiver) {
    Signal<void()> sig;
    Log log;
    ScopedConnection held(sig.connect([&log] { log.add("old"); }));
    const Connection old = held.get();
    held = ScopedConnection(sig.connect([&log] { log.add("new"); }));
    EXPECT_FALSE(old.connected());
    sig.send({});
    EXPECT_EQ(log.entries(), (Strings{"new"}));
}

TEST_F(Disconnect, DefaultScopedConnectionIsHarmless) {
    ScopedConnection scoped;
    EXPECT_FALSE(scoped.get().connected());
    EXPECT_FALSE(scoped.disconnect());
    EXPECT_FALSE(scoped.release().connected());
}

TEST_F(Disconnect, ScopedConnectionOutlivingItsSignal) {
    std::optional<ScopedConnection> scoped;
    {
        Signal<void()> sig;
        scoped.emplace(sig.connect([] {}));
    }
    EXPECT_FALSE(scoped->get().connected());
    EXPECT_FALSE(scoped->disconnect());
    scoped.reset();  // destroying it after the signal is gone must not crash
}

}  // namespace disconnect_test
}  // namespace
