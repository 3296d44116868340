// ScopedMute: silences a signal, or one sender of it, on the current thread while it lives
// (factory_boy's mute_signals, done without touching the receiver list).
#include <tocsin/dispatch.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>

#include "test_support.hpp"

struct User {};
struct Group {};

namespace {
namespace mute_test {

using tocsin::ScopedMute;
using tocsin::Sender;
using tocsin::Signal;
using tocsin_test::Log;
using tocsin_test::Strings;

TEST(ScopedMute, SilencesTheSignalWhileItLives) {
    Signal<void()> sig;
    Log log;
    sig.connect([&log](const Sender& s) { log.add(s.name()); });
    {
        const ScopedMute mute(sig);
        sig.send({});
        sig.send(Sender::of<User>());
    }
    sig.send(Sender::of<Group>());
    EXPECT_EQ(log.entries(), (Strings{"Group"}));
}

TEST(ScopedMute, MutedSendReturnsNoResponses) {
    Signal<int()> sig;
    sig.connect([] { return 1; });
    {
        const ScopedMute mute(sig);
        EXPECT_TRUE(sig.send({}).empty());
        EXPECT_TRUE(sig.send_robust({}).empty());
    }
    EXPECT_EQ(sig.send({}).size(), 1u);
}

TEST(ScopedMute, KeepsTheReceiversConnected) {
    Signal<void()> sig;
    const auto c = sig.connect([] {});
    {
        const ScopedMute mute(sig);
        EXPECT_TRUE(c.connected());
        EXPECT_EQ(sig.receiver_count(), 1u);
    }
    EXPECT_TRUE(c.connected());
    EXPECT_EQ(sig.receiver_count(), 1u);
}

TEST(ScopedMute, ConnectAndDisconnectWhileMutedStillWork) {
    Signal<void()> sig;
    Log log;
    const auto old = sig.connect([&log] { log.add("old"); });
    {
        const ScopedMute mute(sig);
        sig.connect([&log] { log.add("new"); });
        EXPECT_TRUE(old.disconnect());
        sig.send({});
    }
    sig.send({});
    EXPECT_EQ(log.entries(), (Strings{"new"}));
}

TEST(ScopedMute, OnlyThatSignal) {
    Signal<void()> muted;
    Signal<void()> other;
    Log log;
    muted.connect([&log] { log.add("muted"); });
    other.connect([&log] { log.add("other"); });
    const ScopedMute mute(muted);
    muted.send({});
    other.send({});
    EXPECT_EQ(log.entries(), (Strings{"other"}));
}

TEST(ScopedMute, OneSenderSilencesItsSendsOnly) {
    Signal<void()> sig;
    Log log;
    sig.connect([&log](const Sender& s) { log.add("any " + s.name()); });
    sig.connect([&log] { log.add("users"); }, {.sender = Sender::of<User>()});
    sig.connect([&log] { log.add("groups"); }, {.sender = Sender::of<Group>()});
    {
        const ScopedMute mute(sig, Sender::of<User>());
        sig.send(Sender::of<User>());   // silenced entirely, sender-less receivers too
        sig.send(Sender::of<Group>());  // heard
        sig.send({});                   // heard
    }
    sig.send(Sender::of<User>());
    EXPECT_EQ(log.entries(), (Strings{"any Group", "groups", "any (none)", "any User", "users"}));
}

TEST(ScopedMute, NestedMutesUnwindInOrder) {
    Signal<void()> sig;
    Log log;
    sig.connect([&log](const Sender& s) { log.add(s.name()); });
    {
        const ScopedMute outer(sig);
        {
            const ScopedMute inner(sig);
            sig.send(Sender::of<User>());
        }
        sig.send(Sender::of<Group>());  // the outer mute still holds
    }
    sig.send({});
    EXPECT_EQ(log.entries(), (Strings{"(none)"}));
}

TEST(ScopedMute, SenderMuteInsideASignalMute) {
    Signal<void()> sig;
    Log log;
    sig.connect([&log](const Sender& s) { log.add(s.name()); });
    std::optional<ScopedMute> whole;
    whole.emplace(sig);
    {
        const ScopedMute users(sig, Sender::of<User>());
        whole.reset();
        sig.send(Sender::of<User>());   // still muted by the sender mute
        sig.send(Sender::of<Group>());  // heard: the signal mute is gone
    }
    sig.send(Sender::of<User>());
    EXPECT_EQ(log.entries(), (Strings{"Group", "User"}));
}

TEST(ScopedMute, OnlyOnTheCurrentThread) {
    Signal<void()> sig;
    std::atomic<int> calls{0};
    sig.connect([&calls] { ++calls; });
    const ScopedMute mute(sig);
    sig.send({});
    EXPECT_EQ(calls.load(), 0);
    std::thread other([&sig] { sig.send({}); });
    other.join();
    EXPECT_EQ(calls.load(), 1);
    sig.send({});
    EXPECT_EQ(calls.load(), 1);
}

TEST(ScopedMute, AnotherThreadsMuteDoesNotSilenceThisOne) {
    Signal<void()> sig;
    std::atomic<int> calls{0};
    sig.connect([&calls] { ++calls; });
    tocsin_test::Gate muted;
    tocsin_test::Gate done;
    std::thread other([&] {
        const ScopedMute mute(sig);
        muted.open();
        done.wait();
    });
    ASSERT_TRUE(muted.wait());
    sig.send({});
    done.open();
    other.join();
    EXPECT_EQ(calls.load(), 1);
}

TEST(ScopedMute, ReceiverCanMuteANestedSend) {
    Signal<void(int)> sig;
    Log log;
    sig.connect([&](int depth) {
        log.add("depth " + std::to_string(depth));
        if (depth == 0) {
            const ScopedMute mute(sig);
            sig.send({}, 1);
        }
    });
    sig.send({}, 0);
    sig.send({}, 2);
    EXPECT_EQ(log.entries(), (Strings{"depth 0", "depth 2"}));
}

TEST(ScopedMute, MutesWorkOnSignalsOfAnySignature) {
    Signal<int(int&, const std::string&)> sig;
    int calls = 0;
    sig.connect([&calls](int& v, const std::string&) {
        ++calls;
        return v;
    });
    int value = 1;
    {
        const ScopedMute mute(sig, Sender::of<User>());
        EXPECT_TRUE(sig.send(Sender::of<User>(), value, "x").empty());
    }
    EXPECT_EQ(sig.send(Sender::of<User>(), value, "x").size(), 1u);
    EXPECT_EQ(calls, 1);
}

}  // namespace mute_test
}  // namespace
