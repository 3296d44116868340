// tocsin/testing.hpp: capturing on_commit callbacks (Django's test_utils
// CaptureOnCommitCallbacksTests, ported under their names), counting queries (Django's
// AssertNumQueriesTests), the signal spy, muting every model signal (factory_boy's
// mute_signals) and ScopedMute on the model-layer signal wrappers.
#include <tocsin/testing.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "../models/test_support.hpp"

namespace tocsin::test {
namespace {
namespace testing_test {

using library::Author;
using library::Book;
using testing::AssertionError;
using testing::CaptureOnCommitCallbacks;
using testing::CaptureQueries;
using testing::SignalSpy;
using Log = std::vector<std::string>;

class TestingHelpersTest : public ModelTest {
  protected:
    void SetUp() override {
        ModelTest::SetUp();
        db::configure({{"default", db::configuration().at("default")},
                       {"other", test_database(dir, "other.db", databases)}});
        migrate();
        migrate("other");
    }
    Log done;
    std::function<void()> record(std::string what) {
        return [this, what = std::move(what)] { done.push_back(what); };
    }
};

// ------------------------------------------------------------------ captureOnCommitCallbacks

// Django: CaptureOnCommitCallbacksTests.test_no_arguments — a callback registered in the block
// is captured, not run.
TEST_F(TestingHelpersTest, test_no_arguments) {
    CaptureOnCommitCallbacks callbacks;
    on_commit(record("a"));
    ASSERT_EQ(callbacks.callbacks().size(), 1U);
    EXPECT_TRUE(done.empty());
    callbacks.callbacks()[0]();
    EXPECT_EQ(done, Log{"a"});
}

// Django: test_using — capture the callbacks of another alias.
TEST_F(TestingHelpersTest, test_using) {
    CaptureOnCommitCallbacks callbacks({.alias = "other"});
    on_commit(record("other"), "other");
    ASSERT_EQ(callbacks.callbacks().size(), 1U);
    EXPECT_TRUE(done.empty());
}

// Django: test_different_using — a callback of another alias is not captured (in autocommit it
// runs at once, as on_commit does).
TEST_F(TestingHelpersTest, test_different_using) {
    CaptureOnCommitCallbacks callbacks({.alias = "other"});
    on_commit(record("default"));
    EXPECT_TRUE(callbacks.callbacks().empty());
    EXPECT_EQ(done, Log{"default"});
}

// Django: test_execute — execute=True runs the callbacks when the block ends.
TEST_F(TestingHelpersTest, test_execute) {
    const auto callbacks = testing::capture_on_commit_callbacks(
        [&] {
            on_commit(record("a"));
            on_commit(record("b"));
            EXPECT_TRUE(done.empty());
        },
        {.execute = true});
    EXPECT_EQ(callbacks.size(), 2U);
    EXPECT_EQ(done, (Log{"a", "b"}));
}

// Django: test_pre_callback — a callback registered before the block is not captured.
TEST_F(TestingHelpersTest, test_pre_callback) {
    auto tx = atomic();
    on_commit(record("before"));
    {
        CaptureOnCommitCallbacks callbacks;
        on_commit(record("inside"));
        ASSERT_EQ(callbacks.callbacks().size(), 1U);
        callbacks.execute();
    }
    EXPECT_EQ(done, Log{"inside"});
}

// Django: test_execute_recursive — callbacks registered by a callback run too, in order.
TEST_F(TestingHelpersTest, test_execute_recursive) {
    const auto callbacks = testing::capture_on_commit_callbacks(
        [&] {
            on_commit([&] {
                done.push_back("outer");
                on_commit(record("inner"));
            });
        },
        {.execute = true});
    EXPECT_EQ(callbacks.size(), 2U);
    EXPECT_EQ(done, (Log{"outer", "inner"}));
}

// Django: test_execute_robust — a robust callback's exception is logged, not raised; a
// non-robust one's propagates from execute().
TEST_F(TestingHelpersTest, test_execute_robust) {
    Log logged;
    auto previous = db::set_log_handler(
        [&](const db::LogRecord& r) { logged.push_back(std::string(r.message)); });
    EXPECT_NO_THROW(testing::capture_on_commit_callbacks(
        [&] {
            on_commit([] { throw std::runtime_error("robust failure"); },
                      OnCommitOptions{.robust = true, .name = "hook"});
            on_commit(record("after"));
        },
        {.execute = true}));
    db::set_log_handler(std::move(previous));
    EXPECT_EQ(logged, Log{"Error calling hook in on_commit() (robust failure)."});
    EXPECT_EQ(done, Log{"after"});
    EXPECT_THROW(
        testing::capture_on_commit_callbacks(
            [] { on_commit([] { throw std::runtime_error("plain"); }); }, {.execute = true}),
        std::runtime_error);
}

// The commit-time receivers of a model signal are captured as well, with the values of the
// send, and run by execute().
TEST_F(TestingHelpersTest, CommitTimeReceiversAreCaptured) {
    ScopedConnection c = post_save.connect<Author>(
        [&](Author& a, const SaveEvent& e) {
            done.push_back(a.name + (e.created ? " created" : " updated"));
        },
        {.on_commit = true});
    CaptureOnCommitCallbacks callbacks;
    Author a{.name = "Ann"};
    a.save();
    a.name = "changed";
    ASSERT_EQ(callbacks.callbacks().size(), 1U);
    EXPECT_TRUE(done.empty());
    callbacks.execute();
    callbacks.execute();  // each runs once
    EXPECT_EQ(done, Log{"Ann created"});
}

// ------------------------------------------------------------------ assertNumQueries

// Django: AssertNumQueriesTests.test_assert_num_queries — the block's statements are counted.
TEST_F(TestingHelpersTest, test_assert_num_queries) {
    Author::objects().create({.name = "Ann"});
    testing::assert_num_queries(1, [] { EXPECT_EQ(Author::objects().count(), 1U); });
    testing::assert_num_queries(0, [] {});
    testing::assert_num_queries(2, [] {
        static_cast<void>(Author::objects().count());
        static_cast<void>(Book::objects().count());
    });
}

// A wrong count fails with Django's message, listing the statements with their values.
TEST_F(TestingHelpersTest, AssertNumQueriesSaysWhatRan) {
    try {
        testing::assert_num_queries(1, [] {
            static_cast<void>(Author::objects().filter(where(&Author::name) == "Zed").count());
            static_cast<void>(Book::objects().count());
        });
        ADD_FAILURE() << "no AssertionError";
    } catch (const AssertionError& e) {
        const std::string message = e.what();
        EXPECT_TRUE(
            message.starts_with("2 != 1 : 2 queries executed, 1 expected\n"
                                "Captured queries were:\n1. SELECT"))
            << message;
        EXPECT_TRUE(contains(message, "'Zed'"));
        EXPECT_TRUE(contains(message, "\n2. SELECT"));
    }
}

// CaptureQueries counts one alias and nests; each counter sees the statements of its block.
TEST_F(TestingHelpersTest, CaptureQueriesCountsOneAliasAndNests) {
    CaptureQueries outer;
    static_cast<void>(Author::objects().count());
    {
        CaptureQueries inner;
        static_cast<void>(Author::objects().using_database("other").count());
        static_cast<void>(Book::objects().count());
        EXPECT_EQ(inner.count(), 1U);
    }
    EXPECT_EQ(outer.count(), 2U);
    CaptureQueries other("other");
    static_cast<void>(Author::objects().using_database("other").count());
    EXPECT_EQ(other.count(), 1U);
    EXPECT_EQ(outer.count(), 2U);
}

// ------------------------------------------------------------------ the signal spy

TEST_F(TestingHelpersTest, SpyRecordsModelSendsWithCopies) {
    SignalSpy spy{post_save, Sender::of<Author>()};
    SignalSpy every{pre_save};
    Author a{.name = "Ann"};
    a.save();
    a.name = "Ann B.";
    a.save({.update_fields = std::vector<std::string>{"name"}});
    Book::objects().create({.author = a, .title = "Dune"});
    ASSERT_EQ(spy.count(), 2U);
    EXPECT_EQ(every.count(), 3U);
    EXPECT_EQ(spy.sender(0), Sender::of<Author>());
    EXPECT_EQ(spy.instance<Author>(0)->name, "Ann");  // the copy made at the send
    EXPECT_EQ(spy.instance<Author>(1)->name, "Ann B.");
    EXPECT_TRUE(spy.event(0)->created);
    EXPECT_FALSE(spy.event(1)->created);
    EXPECT_EQ(spy.event(1)->database, "default");
    EXPECT_EQ(spy.event(1)->update_fields, (std::set<std::string>{"name"}));
    spy.clear();
    EXPECT_FALSE(spy.called());
}

TEST_F(TestingHelpersTest, SpyRecordsAnySignal) {
    Signal<void(int, const std::string&, const std::unique_ptr<int>&)> sig{"app.custom"};
    struct Order {};
    SignalSpy spy{sig};
    auto p = std::make_unique<int>(1);
    sig.send(Sender::of<Order>(), 7, "seven", p);
    ASSERT_EQ(spy.count(), 1U);
    EXPECT_EQ(spy.sender(0), Sender::of<Order>());
    EXPECT_EQ(spy.arg<0>(0), 7);
    EXPECT_EQ(spy.arg<1>(0), "seven");
    static_assert(std::is_same_v<decltype(spy.arg<2>(0)), std::monostate>,
                  "a move-only argument is not kept");
    Signal<int(int)> valued;
    valued.connect([](int v) { return v * 2; });
    SignalSpy valued_spy{valued};
    const auto responses = valued.send({}, 4);
    ASSERT_EQ(responses.size(), 2U);
    EXPECT_EQ(responses[0].value, 8);  // the spy runs last
    EXPECT_EQ(valued_spy.arg<0>(0), 4);
}

// ------------------------------------------------------------------ muting

// factory_boy's mute_signals: no model signal calls a receiver in the block, on this thread.
TEST_F(TestingHelpersTest, MuteModelSignalsSilencesEveryModelSignal) {
    ScopedConnection saved =
        post_save.connect([&](ModelBase&, const SaveEvent&) { done.push_back("post_save"); });
    ScopedConnection init =
        post_init.connect([&](ModelBase&, const InitEvent&) { done.push_back("post_init"); });
    ScopedConnection removed =
        pre_delete.connect([&](ModelBase&, const DeleteEvent&) { done.push_back("pre_delete"); });
    ScopedConnection updated =
        post_update.connect([&](const UpdateEvent&) { done.push_back("post_update"); });
    {
        testing::MuteModelSignals mute;
        auto a = Author::objects().create({.name = "Ann"});
        static_cast<void>(Author::objects().get());
        Author::objects().update({assign(&Author::born, 1)});
        a.remove();
    }
    EXPECT_TRUE(done.empty()) << done.front();
    Author::objects().create({.name = "Bob"});
    EXPECT_EQ(done, Log{"post_save"});
}

TEST_F(TestingHelpersTest, MuteModelSignalsForOneSender) {
    ScopedConnection saved = post_save.connect([&](const Sender& s, ModelBase&, const SaveEvent&) {
        done.push_back(s == Sender::of<Author>() ? "Author" : "Book");
    });
    testing::MuteModelSignals mute{Sender::of<Author>()};
    auto a = Author::objects().create({.name = "Ann"});
    Book::objects().create({.author = a, .title = "Dune"});
    EXPECT_EQ(done, Log{"Book"});
}

// docs/dispatch.md's form, `ScopedMute mute{sig}`, works for the signals of the model layer
// (they wrap a Signal), for every sender or one.
TEST_F(TestingHelpersTest, ScopedMuteTakesTheModelLayerSignals) {
    ScopedConnection saved =
        post_save.connect([&](ModelBase&, const SaveEvent&) { done.push_back("post_save"); });
    ScopedConnection bulk =
        post_bulk_create.connect([&](const BulkCreateEvent&) { done.push_back("bulk"); });
    ScopedConnection migrated =
        post_migrate.connect([&](const MigrateEvent&) { done.push_back("post_migrate"); });
    {
        ScopedMute a{post_save};
        ScopedMute b{post_bulk_create};
        ScopedMute c{post_migrate};
        ScopedMute d{m2m_changed};
        ScopedMute e{pre_save, Sender::of<Author>()};
        std::vector<Author> authors{Author{.name = "A"}, Author{.name = "B"}};
        Author::objects().bulk_create(authors);
        Author::objects().create({.name = "C"});
    }
    EXPECT_TRUE(done.empty());
    {
        ScopedMute only_books{post_save, Sender::of<Book>()};
        Author::objects().create({.name = "D"});
    }
    EXPECT_EQ(done, Log{"post_save"});
}

}  // namespace testing_test
}  // namespace
}  // namespace tocsin::test
