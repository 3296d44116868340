// manage outbox (counts, list, retry, purge), manage worker (--drain) and manage receivers'
// mode=remote:<queue>.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "remote_support.hpp"
#include "tocsin/management.hpp"

namespace tocsin::test::remote_test {
namespace {
namespace commands_test {

struct Run {
    int code = 0;
    std::string out;
    std::string err;
};

Run run(std::vector<std::string> args) {
    args.insert(args.begin(), "app");
    std::vector<const char*> argv;
    for (const auto& a : args) {
        argv.push_back(a.c_str());
    }
    std::ostringstream out;
    std::ostringstream err;
    const int code = tocsin::manage(static_cast<int>(argv.size()), argv.data(), out, err);
    return {code, out.str(), err.str()};
}

void welcome(Item& item, const SaveEvent&) {
    apply_effect("welcome", item);
}
void broken(Item&, const SaveEvent&) {
    throw std::runtime_error("smtp down");
}

class CommandsTest : public RemoteTest {
  protected:
    void SetUp() override {
        RemoteTest::SetUp();
        connections.emplace_back(remote::connect<Item>(
            post_save, &welcome, {.queue = "mail", .dispatch_uid = "outboxtest.welcome"}));
        connections.emplace_back(remote::connect<Item>(
            post_save, &broken,
            {.queue = "audit", .dispatch_uid = "outboxtest.broken", .retry = {.max_attempts = 1}}));
    }
};

TEST_F(CommandsTest, OutboxCountsPerQueueAndReceiver) {
    EXPECT_EQ(run({"outbox"}).out, "The outbox is empty.\n");
    Item::objects().create({.name = "a"});
    Item::objects().create({.name = "b"});
    const auto r = run({"outbox"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out,
              "audit  outboxtest.broken  pending=2  failed=0  dead=0  done=0  skipped=0\n"
              "mail  outboxtest.welcome  pending=2  failed=0  dead=0  done=0  skipped=0\n");
    EXPECT_EQ(run({"outbox", "--queue", "mail"}).out,
              "mail  outboxtest.welcome  pending=2  failed=0  dead=0  done=0  skipped=0\n");
}

TEST_F(CommandsTest, OutboxCountsListsRetriesAndPurgesTheEventsOfPackedRows) {
    tocsin::atomic([] {
        for (const char* name : {"a", "b", "c"}) {
            Item::objects().create({.name = name});
        }
    });
    EXPECT_EQ(run({"outbox"}).out,
              "audit  outboxtest.broken  pending=3  failed=0  dead=0  done=0  skipped=0\n"
              "mail  outboxtest.welcome  pending=3  failed=0  dead=0  done=0  skipped=0\n");
    const auto id = remote::outbox_rows({.receiver = "outboxtest.welcome"}).at(0).id;
    EXPECT_EQ(run({"outbox", "--list", "--queue", "mail"}).out,
              "#" + std::to_string(id) +
                  "  queue=mail  receiver=outboxtest.welcome  status=pending  attempts=0  "
                  "events=3\n");
    db::connection().execute_script(
        "UPDATE tocsin_outbox SET status = 'dead' WHERE receiver = 'outboxtest.broken'");
    EXPECT_EQ(run({"outbox", "--retry"}).out, "Requeued 3 dead event(s)\n");
    EXPECT_EQ(run({"outbox", "--purge", "--status", "pending"}).out, "Purged 6 pending event(s)\n");
}

TEST_F(CommandsTest, WorkerDeleteDoneDeletesTheRowsItRan) {
    Item::objects().create({.name = "a"});
    auto r = run({"worker", "--drain", "--delete-done", "--name", "w1"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out,
              "Worker w1: queues (all), 1 thread, database 'default'\n"
              "Stopped: claimed 2, done 1, failed 1, dead 1, skipped 0, lost 0\n");
    EXPECT_EQ(effects(), 1);
    EXPECT_EQ(run({"outbox"}).out,
              "audit  outboxtest.broken  pending=0  failed=0  dead=1  done=0  skipped=0\n");
}

TEST_F(CommandsTest, WorkerDrainRunsTheRowsThenOutboxListsRetriesAndPurges) {
    Item::objects().create({.name = "a"});
    auto r = run({"worker", "--drain", "--name", "w1"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out,
              "Worker w1: queues (all), 1 thread, database 'default'\n"
              "Stopped: claimed 2, done 1, failed 1, dead 1, skipped 0, lost 0\n");
    EXPECT_EQ(effects(), 1);
    EXPECT_EQ(run({"outbox"}).out,
              "audit  outboxtest.broken  pending=0  failed=0  dead=1  done=0  skipped=0\n"
              "mail  outboxtest.welcome  pending=0  failed=0  dead=0  done=1  skipped=0\n");
    const auto id = remote::outbox_rows({.status = remote::Status::dead}).at(0).id;
    EXPECT_EQ(run({"outbox", "--list", "--status", "dead"}).out,
              "#" + std::to_string(id) +
                  "  queue=audit  receiver=outboxtest.broken  status=dead  attempts=1  "
                  "last_error=smtp down\n");
    EXPECT_EQ(run({"outbox", "--retry"}).out, "Requeued 1 dead event(s)\n");
    EXPECT_EQ(run({"outbox", "--purge"}).out, "Purged 1 done event(s)\n");
    EXPECT_EQ(run({"outbox"}).out,
              "audit  outboxtest.broken  pending=1  failed=1  dead=0  done=0  skipped=0\n");
    EXPECT_EQ(run({"outbox", "--purge", "--status", "pending"}).out, "Purged 1 pending event(s)\n");
    EXPECT_EQ(run({"outbox"}).out, "The outbox is empty.\n");
}

TEST_F(CommandsTest, BadArgumentsAreRefused) {
    EXPECT_EQ(run({"outbox", "--status", "lost"}).code, 2);
    const auto both = run({"outbox", "--retry", "--purge"});
    EXPECT_EQ(both.code, 1);
    EXPECT_EQ(both.err, "CommandError: --retry and --purge cannot be given together\n");
    EXPECT_EQ(run({"worker", "--concurrency", "0"}).code, 1);
}

TEST_F(CommandsTest, ReceiversShowsWhichAreRemote) {
    const auto text = run({"receivers", "--signal", "post_save"});
    EXPECT_NE(text.out.find("outboxtest.welcome  sender=outboxtest.Item  "
                            "dispatch_uid=outboxtest.welcome  priority=0  mode=remote:mail  at="),
              std::string::npos)
        << text.out;
    const auto json =
        nlohmann::json::parse(run({"receivers", "--signal", "post_save", "--format", "json"}).out);
    const auto& first = json.at("signals").at(0).at("receivers").at(0);
    EXPECT_EQ(first.at("mode"), "remote");
    EXPECT_EQ(first.at("queue"), "mail");
}

}  // namespace commands_test
}  // namespace
}  // namespace tocsin::test::remote_test
