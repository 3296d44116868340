// Commit-time receivers (Connect::on_commit): run after the outermost transaction commits, never
// after a rollback, with the data captured when the signal was sent.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace tocsin::test {
namespace {

using library::Author;
using library::Book;

class CommitTimeReceiversTest : public ModelTest {};

TEST_F(CommitTimeReceiversTest, PostSaveWaitsForTheCommitAndSeesTheValuesOfTheSend) {
    std::vector<std::string> seen;
    ScopedConnection c = post_save.connect<Author>(
        [&](Author& a, const SaveEvent& e) {
            seen.push_back(a.name + (e.created ? " created in " : " updated in ") +
                           std::string(e.database));
        },
        {.on_commit = true});
    {
        auto tx = atomic();
        Author a{.name = "Ann"};
        a.save();
        a.name = "Ann B.";  // changed after the send: the receiver sees the value sent
        a.save();
        a.name = "gone";
        EXPECT_TRUE(seen.empty()) << "ran before the commit";
    }
    EXPECT_EQ(seen,
              (std::vector<std::string>{"Ann created in default", "Ann B. updated in default"}));
}

TEST_F(CommitTimeReceiversTest, NeverRunsAfterARollback) {
    int calls = 0;
    ScopedConnection c =
        post_save.connect<Author>([&](Author&, const SaveEvent&) { ++calls; }, {.on_commit = true});
    EXPECT_THROW(
        {
            auto tx = atomic();
            Author::objects().create({.name = "Ann"});
            throw std::runtime_error("abort");
        },
        std::runtime_error);
    EXPECT_EQ(calls, 0);
    EXPECT_EQ(rows("library_author"), 0);
}

TEST_F(CommitTimeReceiversTest, ASavepointRolledBackDropsOnlyItsSends) {
    std::vector<std::string> seen;
    ScopedConnection c = post_save.connect<Author>(
        [&](Author& a, const SaveEvent&) { seen.push_back(a.name); }, {.on_commit = true});
    {
        auto outer = atomic();
        Author::objects().create({.name = "kept"});
        try {
            auto inner = atomic();
            Author::objects().create({.name = "rolled back"});
            throw std::runtime_error("inner");
        } catch (const std::runtime_error&) {
        }
        EXPECT_TRUE(seen.empty());
    }
    EXPECT_EQ(seen, std::vector<std::string>{"kept"});
}

TEST_F(CommitTimeReceiversTest, OutsideATransactionItRunsAtOnce) {
    int calls = 0;
    ScopedConnection c =
        post_save.connect<Author>([&](Author&, const SaveEvent&) { ++calls; }, {.on_commit = true});
    Author::objects().create({.name = "Ann"});
    EXPECT_EQ(calls, 1);
}

TEST_F(CommitTimeReceiversTest, RunsAfterTheImmediateReceivers) {
    std::vector<std::string> order;
    ScopedConnection late = post_save.connect<Author>(
        [&](Author&, const SaveEvent&) { order.push_back("on commit"); }, {.on_commit = true});
    ScopedConnection now =
        post_save.connect<Author>([&](Author&, const SaveEvent&) { order.push_back("at once"); });
    {
        auto tx = atomic();
        Author::objects().create({.name = "Ann"});
        order.push_back("commit");
    }
    EXPECT_EQ(order, (std::vector<std::string>{"at once", "commit", "on commit"}));
}

TEST_F(CommitTimeReceiversTest, DeleteReceiversGetACopyOfTheRemovedInstanceAndTheOrigin) {
    auto ann = Author::objects().create({.name = "Ann"});
    Book::objects().create({.author = ann, .title = "One"});
    std::vector<std::string> seen;
    ScopedConnection c = post_delete.connect(
        [&](const Sender& sender, ModelBase& instance, const DeleteEvent& e) {
            seen.push_back(describe(sender, instance) +
                           (e.origin.instance == &instance ? " (origin)" : ""));
        },
        {.on_commit = true});
    {
        auto tx = atomic();
        ann.remove();
        EXPECT_TRUE(seen.empty());
    }
    ASSERT_EQ(seen.size(), 2U);
    EXPECT_EQ(seen[0], "Book 1");
    EXPECT_EQ(seen[1], "Author 1 (origin)");  // the id of the copy is the one sent
}

TEST_F(CommitTimeReceiversTest, AFailingReceiverIsReportedAndTheOthersRun) {
    int calls = 0;
    ScopedConnection bad = post_save.connect<Author>(
        [](Author&, const SaveEvent&) { throw std::runtime_error("boom"); }, {.on_commit = true});
    ScopedConnection good =
        post_save.connect<Author>([&](Author&, const SaveEvent&) { ++calls; }, {.on_commit = true});
    {
        auto tx = atomic();
        Author::objects().create({.name = "Ann"});
    }  // the commit does not throw
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(rows("library_author"), 1);
}

TEST_F(CommitTimeReceiversTest, IntrospectionShowsTheDeliveryAndIdentityIsKept) {
    struct Fns {
        static void on_save(Author&, const SaveEvent&) {}
    };
    Connection first = post_save.connect<Author>(&Fns::on_save, {.on_commit = true});
    Connection again = post_save.connect<Author>(&Fns::on_save, {.on_commit = true});
    EXPECT_EQ(first, again) << "the same function is one receiver, as in Django";
    bool found = false;
    for (const ReceiverInfo& r : post_save.receivers()) {
        if (r.connection == first) {
            found = true;
            EXPECT_TRUE(r.on_commit);
            EXPECT_FALSE(r.async);
        }
    }
    EXPECT_TRUE(found);
    EXPECT_TRUE(post_save.disconnect(&Fns::on_save, Sender::of<Author>()));
}

TEST_F(CommitTimeReceiversTest, InitSignalsAndAsyncCombinationsAreRefused) {
    EXPECT_THROW(post_init.connect<Author>([](Author&, const InitEvent&) {}, {.on_commit = true}),
                 std::invalid_argument);
    EXPECT_THROW(post_save.connect<Author>([](Author&, const SaveEvent&) {},
                                           {.executor = default_executor(), .on_commit = true}),
                 std::invalid_argument);
}

// Plain signals: the arguments are copied at the send, the "default" database's commit runs them.
TEST_F(CommitTimeReceiversTest, ACustomSignalsReceiverWaitsForTheDefaultDatabasesCommit) {
    Signal<void(const std::string&, int)> order_placed{"store.order_placed"};
    std::vector<std::string> seen;
    order_placed.connect([&](const std::string& who,
                             int total) { seen.push_back(who + ":" + std::to_string(total)); },
                         {.on_commit = true});
    {
        auto tx = atomic();
        std::string who = "ann";
        order_placed.send(Sender{}, who, 3);
        who = "overwritten";  // the receiver keeps the copy made at the send
        EXPECT_TRUE(seen.empty());
    }
    EXPECT_EQ(seen, std::vector<std::string>{"ann:3"});
    EXPECT_THROW(
        {
            auto tx = atomic();
            order_placed.send(Sender{}, std::string("bob"), 1);
            throw std::runtime_error("rollback");
        },
        std::runtime_error);
    EXPECT_EQ(seen.size(), 1U);
    order_placed.send(Sender{}, std::string("cy"), 2);  // autocommit: at once
    EXPECT_EQ(seen.back(), "cy:2");
}

TEST_F(CommitTimeReceiversTest, ACustomSignalRefusesWhatCannotWait) {
    Signal<int(int)> with_result{"with_result"};
    EXPECT_THROW(with_result.connect([](int x) { return x; }, {.on_commit = true}),
                 std::invalid_argument);
    struct Listener {
        void on(int) {}
    };
    Signal<void(int)> plain{"plain"};
    Listener listener;
    EXPECT_THROW(plain.connect(&Listener::on, &listener, {.on_commit = true}),
                 std::invalid_argument);
}

TEST_F(CommitTimeReceiversTest, ATrackedReceiverWhoseObjectDiesBeforeTheCommitDoesNotRun) {
    Signal<void(int)> sig{"tracked"};
    auto owner = std::make_shared<int>(0);
    int calls = 0;
    sig.connect([&](int) { ++calls; },
                {.track = std::weak_ptr<const void>(owner), .on_commit = true});
    {
        auto tx = atomic();
        sig.send(Sender{}, 1);
        owner.reset();
    }
    EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace tocsin::test
