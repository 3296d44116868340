// Commit-time receivers (Connect::on_commit): run after the outermost transaction commits, never
// after a rollback, with the data captured when the signal was sent.
#include <gtest/gtest.h>
#include <tocsin/dispatch/profiler.hpp>

#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace tocsin::test {
/// A custom signal's argument that says which database its send happens on.
struct Invoice {
    std::string number;
    std::string database;
};
}  // namespace tocsin::test

/// Commit-time receivers of a signal carrying an Invoice wait for the invoice's database.
template <>
struct tocsin::commit_copy<tocsin::test::Invoice> {
    static tocsin::test::Invoice make(const tocsin::test::Invoice& invoice,
                                      CommitContext& context) {
        context.alias = invoice.database;
        return invoice;
    }
    static tocsin::test::Invoice& get(tocsin::test::Invoice& kept) noexcept { return kept; }
};

namespace tocsin::test {

/// A commit-time receiver with a symbol of its own (the binary exports its symbols).
void failing_after_commit(library::Author& /*author*/, const SaveEvent& /*event*/);
void failing_after_commit(library::Author& /*author*/, const SaveEvent& /*event*/) {
    throw std::runtime_error("mail server down");
}

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

/// Sets the process-wide receiver error hook for one test and records what it is told.
class HookCapture {
  public:
    HookCapture()
        : previous_(set_receiver_error_handler([this](const ReceiverError& e) {
              lines_.push_back(std::string(e.signal) + ": " + e.message());
          })) {}
    ~HookCapture() { set_receiver_error_handler(std::move(previous_)); }
    HookCapture(const HookCapture&) = delete;
    HookCapture& operator=(const HookCapture&) = delete;
    [[nodiscard]] const std::vector<std::string>& lines() const { return lines_; }

  private:
    std::vector<std::string> lines_;
    ErrorLogger previous_;
};

// A commit-time receiver that throws after the commit is told to the one receiver-error hook
// (as send_robust's failures are), named by its .name, else its dispatch_uid, else its symbol:
// never "<callback at …>".
TEST_F(CommitTimeReceiversTest, AFailingReceiverIsToldToTheHookByName) {
    const HookCapture hook;
    ScopedConnection named = post_save.connect<Author>(
        [](Author&, const SaveEvent&) { throw std::runtime_error("a"); },
        {.dispatch_uid = "mail.uid", .name = "mail.welcome", .on_commit = true});
    ScopedConnection by_uid =
        post_save.connect([](ModelBase&, const SaveEvent&) { throw std::runtime_error("b"); },
                          {.dispatch_uid = "audit.uid", .on_commit = true});
    ScopedConnection by_symbol =
        post_save.connect<Author>(&failing_after_commit, {.on_commit = true});
    ScopedConnection by_label_uid = post_delete.connect<Author>(
        [](Author&, const DeleteEvent&) { throw std::runtime_error("c"); },
        {.dispatch_uid = "delete.uid", .on_commit = true});
    {
        auto tx = atomic();
        Author::objects().create({.name = "Ann"}).remove();
    }
    ASSERT_EQ(hook.lines().size(), 4U);
    EXPECT_EQ(hook.lines()[0], "post_save: Error calling mail.welcome in on_commit() (a)");
    EXPECT_EQ(hook.lines()[1], "post_save: Error calling audit.uid in on_commit() (b)");
    EXPECT_TRUE(contains(hook.lines()[2], "post_save: Error calling "));
    EXPECT_TRUE(contains(hook.lines()[2], "failing_after_commit"));
    EXPECT_TRUE(contains(hook.lines()[2], " in on_commit() (mail server down)"));
    EXPECT_EQ(hook.lines()[3], "post_delete: Error calling delete.uid in on_commit() (c)");
}

// A signal's own error logger hears its commit-time receivers' failures too.
TEST_F(CommitTimeReceiversTest, TheSignalsOwnLoggerHearsItsCommitTimeFailures) {
    const HookCapture hook;
    Signal<void(int)> sig{"store.paid"};
    std::vector<std::string> own;
    sig.set_error_logger([&](const ReceiverError& e) { own.push_back(e.message()); });
    sig.connect([](int) { throw std::runtime_error("x"); }, {.name = "bill", .on_commit = true});
    {
        auto tx = atomic();
        sig.send({}, 1);
    }
    EXPECT_EQ(own, std::vector<std::string>{"Error calling bill in on_commit() (x)"});
    EXPECT_TRUE(hook.lines().empty());
}

// The default hook writes the message to stderr, for send_robust and commit-time failures
// alike (Django: logger.error on 'django.dispatch').
TEST_F(CommitTimeReceiversTest, TheDefaultHookWritesToStderr) {
    const auto previous = set_receiver_error_handler(nullptr);
    Signal<void()> sig{"store.audit"};
    sig.connect([] { throw std::runtime_error("r"); }, {.name = "robust.one"});
    ScopedConnection late = post_save.connect<Author>(
        [](Author&, const SaveEvent&) { throw std::runtime_error("late"); },
        {.dispatch_uid = "late.uid", .on_commit = true});
    ::testing::internal::CaptureStderr();
    sig.send_robust({});
    {
        auto tx = atomic();
        Author::objects().create({.name = "Ann"});
    }
    const std::string err = ::testing::internal::GetCapturedStderr();
    set_receiver_error_handler(previous);
    EXPECT_EQ(err,
              "tocsin.dispatch ERROR: Error calling robust.one in Signal.send_robust() (r)\n"
              "tocsin.dispatch ERROR: Error calling late.uid in on_commit() (late)\n");
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

/// "default" and a second database, "other", both with every test model's table.
class CommitTimeReceiversOnTwoDatabasesTest : public ModelTest {
  protected:
    void SetUp() override {
        ModelTest::SetUp();
        db::configure({{"default", db::configuration().at("default")},
                       {"other", test_database(dir, "other.db", databases)}});
        migrate("other");
    }
};

// Django's on_commit(func, using=alias): a commit-time receiver of a save waits for the
// transaction of the database saved to, whatever other transaction is open.
TEST_F(CommitTimeReceiversOnTwoDatabasesTest, ASaveOnAnotherDatabaseWaitsForThatDatabasesCommit) {
    std::vector<std::string> seen;
    ScopedConnection c = post_save.connect<Author>(
        [&](Author& a, const SaveEvent& e) {
            seen.push_back(a.name + " in " + std::string(e.database));
        },
        {.on_commit = true});
    {
        auto tx = atomic("other");
        Manager<Author>("other").create({.name = "Ann"});
        {
            auto default_tx = atomic();  // committing "default" does not run it
        }
        EXPECT_TRUE(seen.empty());
    }
    EXPECT_EQ(seen, std::vector<std::string>{"Ann in other"});
    {
        auto default_tx = atomic();  // "other" is in autocommit: at once
        Manager<Author>("other").create({.name = "Bob"});
        EXPECT_EQ(seen.size(), 2U);
    }
    EXPECT_THROW(
        {
            auto tx = atomic("other");
            Manager<Author>("other").create({.name = "Cy"});
            throw std::runtime_error("rollback");
        },
        std::runtime_error);
    EXPECT_EQ(seen, (std::vector<std::string>{"Ann in other", "Bob in other"}));
    EXPECT_EQ(rows("library_author", "other"), 2);
    EXPECT_EQ(rows("library_author"), 0);
}

TEST_F(CommitTimeReceiversOnTwoDatabasesTest,
       ARemovalOnAnotherDatabaseWaitsForThatDatabasesCommit) {
    auto ann = Manager<Author>("other").create({.name = "Ann"});
    std::vector<std::string> seen;
    ScopedConnection c = post_delete.connect(
        [&](ModelBase& instance, const DeleteEvent& e) {
            seen.push_back(std::string(e.database) +
                           (e.origin.instance == &instance ? " (origin)" : ""));
        },
        {.on_commit = true});
    {
        auto tx = atomic("other");
        ann.remove();
        { auto default_tx = atomic(); }
        EXPECT_TRUE(seen.empty());
    }
    EXPECT_EQ(seen, std::vector<std::string>{"other (origin)"});
}

// The bulk signals name their database too (they waited for "default"'s commit before).
TEST_F(CommitTimeReceiversOnTwoDatabasesTest, BulkSignalsWaitForTheirDatabasesCommit) {
    std::vector<std::string> seen;
    ScopedConnection created = post_bulk_create.connect<Author>(
        [&](const BulkCreateEvent& e) {
            seen.push_back("created " + std::to_string(e.pks.size()) + " in " + e.database);
        },
        {.on_commit = true});
    ScopedConnection updated = post_update.connect<Author>(
        [&](const UpdateEvent& e) {
            seen.push_back("updated " + std::to_string(e.pks.size()) + " in " + e.database);
        },
        {.on_commit = true});
    {
        auto tx = atomic("other");
        std::vector<Author> authors{{.name = "Ann"}, {.name = "Bob"}};
        Manager<Author>("other").bulk_create(authors);
        Manager<Author>("other").update({assign(&Author::born, 1900)});
        { auto default_tx = atomic(); }
        EXPECT_TRUE(seen.empty());
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"created 2 in other", "updated 2 in other"}));
    EXPECT_THROW(
        {
            auto tx = atomic("other");
            std::vector<Author> authors{{.name = "Cy"}};
            Manager<Author>("other").bulk_create(authors);
            throw std::runtime_error("rollback");
        },
        std::runtime_error);
    EXPECT_EQ(seen.size(), 2U);
}

// A custom signal's receivers wait for the database its arguments name (commit_copy), else
// "default".
TEST_F(CommitTimeReceiversOnTwoDatabasesTest, ACustomArgumentNamesTheDatabaseToWaitFor) {
    Signal<void(const Invoice&)> invoiced{"billing.invoiced"};
    std::vector<std::string> seen;
    invoiced.connect([&](const Invoice& i) { seen.push_back(i.number); }, {.on_commit = true});
    {
        auto tx = atomic("other");
        Invoice invoice{"A-1", "other"};
        invoiced.send({}, invoice);
        invoice.number = "changed";  // the receiver keeps the copy made at the send
        {
            auto default_tx = atomic();
            invoiced.send({}, Invoice{"D-1", "default"});
        }
        EXPECT_EQ(seen, std::vector<std::string>{"D-1"});
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"D-1", "A-1"}));
}

// pre_migrate/post_migrate's commit-time receivers keep the plan (a reference to migrate()'s own
// list in the event) and wait for the migrated database.
TEST_F(CommitTimeReceiversTest, PreMigrateAndPostMigrateReceiversGetTheirOwnCopyOfThePlan) {
    const auto library = std::make_shared<LibraryApp>("library");
    const std::vector<const ModelInfo*> plan{&Author::info()};
    std::vector<std::string> seen;
    ScopedConnection c = pre_migrate.connect(
        [&](const MigrateEvent& e) {
            seen.push_back(e.app_config.label() + " " + std::string(e.database) + " " +
                           std::to_string(e.plan.size()));
        },
        {.on_commit = true});
    {
        auto tx = atomic();
        std::vector<const ModelInfo*> local = plan;
        pre_migrate.send(MigrateEvent{*library, "default", local, {}});
        local.clear();  // the receiver keeps its own copy of the plan
        EXPECT_TRUE(seen.empty());
    }
    EXPECT_EQ(seen, std::vector<std::string>{"library default 1"});
}

/// Records the send observer's receiver events as lines.
class ReceiverLines : public SendObserver {
  public:
    void on_receiver(const ReceiverEvent& e) noexcept override {
        const std::lock_guard lock(mutex_);
        lines_.push_back(std::string(e.deferred_to_commit ? "defer " : "run ") +
                         std::string(e.signal_name) + " " + e.receiver + (e.ok ? "" : " failed"));
        ids_.push_back(e.send_id);
    }
    void on_send_done(std::uint64_t /*id*/) noexcept override {
        const std::lock_guard lock(mutex_);
        lines_.emplace_back("done");
    }
    std::vector<std::string> lines() const {
        const std::lock_guard lock(mutex_);
        return lines_;
    }
    std::vector<std::uint64_t> ids() const {
        const std::lock_guard lock(mutex_);
        return ids_;
    }

  private:
    mutable std::mutex mutex_;
    std::vector<std::string> lines_;
    std::vector<std::uint64_t> ids_;
};

TEST_F(CommitTimeReceiversTest, TheSendObserverSeesTheDeferralThenTheRunAtCommit) {
    ScopedConnection typed = post_save.connect<Author>([](Author&, const SaveEvent&) {},
                                                       {.name = "typed", .on_commit = true});
    ScopedConnection any =
        post_save.connect([](ModelBase&, const SaveEvent&) {}, {.name = "any", .on_commit = true});
    auto lines = std::make_shared<ReceiverLines>();
    set_send_observer(lines);
    {
        auto tx = atomic();
        Author::objects().create({.name = "Ann"});
        EXPECT_EQ(lines->lines(), (std::vector<std::string>{"defer post_save typed",
                                                            "defer post_save any", "done"}));
    }
    set_send_observer(nullptr);
    EXPECT_EQ(lines->lines(),
              (std::vector<std::string>{"defer post_save typed", "defer post_save any", "done",
                                        "run post_save typed", "run post_save any"}));
    const auto ids = lines->ids();
    ASSERT_EQ(ids.size(), 4U);
    EXPECT_EQ(ids[0], ids[2]);
    EXPECT_EQ(ids[1], ids[3]);
}

}  // namespace
}  // namespace tocsin::test
