// The registry of every signal: all_signals() / find_signals() list each live Signal by name with
// its signature and receivers; a signal leaves the list when destroyed; the list stays right
// while other threads build, destroy, connect to and send signals.
#include <tocsin/dispatch.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace {
namespace signal_registry_test {

using tocsin::Connect;
using tocsin::Sender;
using tocsin::Signal;
using tocsin::SignalInfo;
using tocsin_test::Strings;

struct Order {};

/// The display names of every listed signal whose name starts with `prefix`, in listed order.
Strings names_with_prefix(std::string_view prefix) {
    Strings out;
    for (const auto& s : tocsin::all_signals()) {
        if (s.name.starts_with(prefix)) {
            out.push_back(s.name);
        }
    }
    return out;
}

/// The one listed signal named `name`, or nullopt.
std::optional<SignalInfo> only(std::string_view name) {
    auto found = tocsin::find_signals(name);
    if (found.size() != 1) {
        return std::nullopt;
    }
    return std::move(found.front());
}

// tocsin: a named signal is listed from its construction to its destruction, with its
// signature; an unnamed one too, named by its signature.
TEST(SignalRegistry, LiveSignalsAreListedUntilDestroyed) {
    EXPECT_TRUE(tocsin::find_signals("registry.lifetime").empty());
    {
        Signal<void(const Order&, int)> sig{"registry.lifetime"};
        const auto info = only("registry.lifetime");
        ASSERT_TRUE(info);
        EXPECT_EQ(info->name, "registry.lifetime");
        EXPECT_EQ(info->signature, "void(const {anonymous}::signal_registry_test::Order&, int)");
        EXPECT_EQ(info->display_name(), "registry.lifetime");
        EXPECT_TRUE(info->receivers.empty());
    }
    EXPECT_TRUE(tocsin::find_signals("registry.lifetime").empty());
    // A heap signal too.
    auto heap = std::make_unique<Signal<int()>>("registry.heap");
    EXPECT_TRUE(only("registry.heap"));
    heap.reset();
    EXPECT_TRUE(tocsin::find_signals("registry.heap").empty());
}

TEST(SignalRegistry, UnnamedSignalsComeLastNamedByTheirSignature) {
    const auto unnamed_count = [] {
        const auto all = tocsin::all_signals();
        return std::count_if(all.begin(), all.end(),
                             [](const SignalInfo& s) { return s.name.empty(); });
    };
    const auto before = unnamed_count();
    Signal<void(long double)> unnamed;
    Signal<void()> named{"registry.named"};
    EXPECT_EQ(unnamed_count(), before + 1);
    const auto all = tocsin::all_signals();
    const auto first_unnamed =
        std::find_if(all.begin(), all.end(), [](const SignalInfo& s) { return s.name.empty(); });
    EXPECT_TRUE(std::all_of(first_unnamed, all.end(), [](const SignalInfo& s) {
        return s.name.empty();
    })) << "named signals come first";
    const auto mine = std::find_if(all.begin(), all.end(), [](const SignalInfo& s) {
        return s.name.empty() && s.signature == "void(long double)";
    });
    ASSERT_NE(mine, all.end());
    EXPECT_EQ(mine->display_name(), "<unnamed Signal<void(long double)>>");
    EXPECT_TRUE(tocsin::find_signals("").empty()) << "unnamed signals are not found by name";
}

TEST(SignalRegistry, OrderedByNameThenByConstruction) {
    Signal<void()> c{"registry.order.c"};
    Signal<void()> a{"registry.order.a"};
    Signal<void(int)> b2{"registry.order.b"};
    Signal<void()> b1{"registry.order.b"};
    EXPECT_EQ(
        names_with_prefix("registry.order."),
        (Strings{"registry.order.a", "registry.order.b", "registry.order.b", "registry.order.c"}));
    const auto bs = tocsin::find_signals("registry.order.b");
    ASSERT_EQ(bs.size(), 2U);
    EXPECT_EQ(bs[0].signature, "void(int)") << "same name: construction order";
    EXPECT_EQ(bs[1].signature, "void()");
}

// The listing carries what Signal::receivers() says, and the delivery mode of each receiver.
TEST(SignalRegistry, ReceiversAndDeliveryMode) {
    Signal<void(const Order&)> sig{"registry.receivers"};
    auto pool = std::make_shared<tocsin::ThreadPool>(1);
    auto c1 = sig.connect([](const Order&) {},
                          {.sender = Sender::of<Order>(), .dispatch_uid = "registry.first"});
    const unsigned line = __LINE__ - 2;
    auto c2 = sig.connect([](const Order&) {},
                          {.priority = -1, .executor = pool, .name = "registry.async_one"});
    auto c3 = sig.connect([](const Order&) {},
                          {.priority = -2, .name = "registry.after_commit", .on_commit = true});
    const auto info = only("registry.receivers");
    ASSERT_TRUE(info);
    ASSERT_EQ(info->receivers.size(), 3U);
    EXPECT_EQ(tocsin::delivery_mode(info->receivers[2]), "on_commit");
    EXPECT_TRUE(info->receivers[2].on_commit);
    c3.disconnect();
    const auto& first = info->receivers[0];
    EXPECT_EQ(first.dispatch_uid, "registry.first");
    EXPECT_EQ(first.sender, Sender::of<Order>());
    EXPECT_EQ(first.line, line);
    EXPECT_EQ(first.file, __FILE__);
    EXPECT_EQ(tocsin::delivery_mode(first), "sync");
    const auto& second = info->receivers[1];
    EXPECT_EQ(second.name, "registry.async_one");
    EXPECT_EQ(second.priority, -1);
    EXPECT_EQ(tocsin::delivery_mode(second), "async");

    c1.disconnect();
    const auto after = only("registry.receivers");
    ASSERT_TRUE(after);
    ASSERT_EQ(after->receivers.size(), 1U);
    EXPECT_EQ(after->receivers[0].name, "registry.async_one");
}

// A snapshot outlives the signal it describes.
TEST(SignalRegistry, SnapshotOutlivesTheSignal) {
    std::vector<SignalInfo> listed;
    {
        Signal<void()> sig{"registry.snapshot"};
        sig.connect([] {}, {.name = "registry.snapshot_receiver"});
        listed = tocsin::find_signals("registry.snapshot");
    }
    ASSERT_EQ(listed.size(), 1U);
    ASSERT_EQ(listed[0].receivers.size(), 1U);
    EXPECT_EQ(listed[0].receivers[0].name, "registry.snapshot_receiver");
    EXPECT_FALSE(listed[0].receivers[0].connection.connected());
}

// The signature reads the same whichever compiler built the program: clang's spelling of a
// function type is brought to g++'s, and g++'s is kept as it is.
TEST(SignalRegistry, SignaturesReadTheSameWithEveryCompiler) {
    using tocsin::detail::spell_signature;
    EXPECT_EQ(spell_signature("void (const shipping::Order &, int)"),
              "void(const shipping::Order&, int)");
    EXPECT_EQ(spell_signature("void (const (anonymous namespace)::t::Order &, int)"),
              "void(const {anonymous}::t::Order&, int)");
    EXPECT_EQ(spell_signature("void (tocsin::ModelBase &, const tocsin::SaveEvent &)"),
              "void(tocsin::ModelBase&, const tocsin::SaveEvent&)");
    EXPECT_EQ(spell_signature("int (int *, std::string &&)"), "int(int*, std::string&&)");
    EXPECT_EQ(spell_signature("void ()"), "void()");
    // A pointer or a reference to a function keeps its space, in both spellings.
    EXPECT_EQ(spell_signature("void (void (*)(int), int (&)())"), "void(void (*)(int), int (&)())");
    for (const std::string_view gxx :
         {"void(const shipping::Order&, int)", "void(const {anonymous}::t::Order&, int)",
          "void(void (*)(int), int (&)())", "std::pair<int, int>(const char*)", "void()"}) {
        EXPECT_EQ(spell_signature(gxx), gxx);
    }
    // What all_signals() lists is so spelled.
    Signal<void(const Order&, int*)> sig{"registry.spelled"};
    const auto listed = tocsin::find_signals("registry.spelled");
    ASSERT_EQ(listed.size(), 1U);
    EXPECT_EQ(listed[0].signature, "void(const {anonymous}::signal_registry_test::Order&, int*)");
}

// Threads build and destroy signals, connect and send, while others list them: a signal alive
// for the whole test is always listed, with its receiver; the short-lived ones are listed at
// most once each and gone at the end. (Run under ThreadSanitizer: label concurrency.)
TEST(SignalRegistry, ConcurrentConstructionDestructionAndListing) {
    Signal<void(int)> stable{"registry.threads.stable"};
    std::atomic<int> heard{0};
    stable.connect([&](int v) { heard.fetch_add(v, std::memory_order_relaxed); },
                   {.name = "registry.threads.stable_receiver"});
    std::atomic<bool> stop{false};
    std::atomic<int> failures{0};
    std::atomic<int> built{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 300; ++i) {
                Signal<void(int)> temp{"registry.threads.temp" + std::to_string(t)};
                temp.connect([](int) {});
                temp.send(Sender{}, i);
                stable.send(Sender{}, 1);
                built.fetch_add(1, std::memory_order_relaxed);
            }
        });
    }
    for (int t = 0; t < 2; ++t) {
        threads.emplace_back([&] {
            while (!stop.load(std::memory_order_relaxed)) {
                const auto all = tocsin::all_signals();
                int stables = 0;
                for (const auto& s : all) {
                    if (s.name == "registry.threads.stable") {
                        ++stables;
                        if (s.receivers.size() != 1 ||
                            s.receivers[0].name != "registry.threads.stable_receiver") {
                            failures.fetch_add(1);
                        }
                    }
                    if (s.name.starts_with("registry.threads.temp") && s.receivers.size() > 1) {
                        failures.fetch_add(1);
                    }
                }
                if (stables != 1) {
                    failures.fetch_add(1);
                }
                const auto sorted = std::is_sorted(
                    all.begin(), all.end(), [](const SignalInfo& a, const SignalInfo& b) {
                        return !a.name.empty() && (b.name.empty() || a.name < b.name);
                    });
                if (!sorted) {
                    failures.fetch_add(1);
                }
            }
        });
    }
    for (int t = 0; t < 3; ++t) {
        threads[static_cast<std::size_t>(t)].join();
    }
    stop.store(true);
    for (std::size_t t = 3; t < threads.size(); ++t) {
        threads[t].join();
    }
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(built.load(), 900);
    EXPECT_EQ(heard.load(), 900);
    EXPECT_TRUE(names_with_prefix("registry.threads.temp").empty());
    EXPECT_EQ(names_with_prefix("registry.threads."), (Strings{"registry.threads.stable"}));
}

}  // namespace signal_registry_test
}  // namespace
