// pre_migrate and post_migrate: migrate() sends pre_migrate for every installed app before any
// table is created and post_migrate for every app once every table exists (Django's
// tests/migrate_signals); a post_migrate receiver creates default rows; a pre_migrate receiver
// that throws stops migrate() before any table is created.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace tocsin::test {
namespace {
namespace migrate_signals_test {

using Log = std::vector<std::string>;

/// An app without models: it is sent the signals too.
using EmptyApp = App<>;

/// Installs library, shop and an app without models.
class MigrateSignalsTest : public InstalledAppsTest {
  protected:
    [[nodiscard]] std::vector<std::shared_ptr<AppConfig>> installed_apps() const override {
        return {library, shop, empty};
    }

    std::shared_ptr<EmptyApp> empty = std::make_shared<EmptyApp>("empty");
};

// Django: migrate_signals.tests.MigrateSignalTests.test_args and test_call_time — each signal is
// sent once per installed app, in INSTALLED_APPS order, with the app config as sender, the
// database alias and the plan; pre_migrate before any table exists, post_migrate after all do.
TEST_F(MigrateSignalsTest, SentForEveryAppInOrderAroundTableCreation) {
    Log log;
    const auto expected_plan = migration_plan();
    ASSERT_EQ(expected_plan.size(), all_models().size());
    const auto record = [&](const char* signal) {
        return [&, signal](const Sender& sender, const MigrateEvent& e) {
            EXPECT_EQ(sender, e.app_config.sender());
            EXPECT_EQ(e.plan, expected_plan);
            log.push_back(std::string(signal) + " " + e.app_config.label() + " " +
                          std::string(e.database) + " tables=" + std::to_string(table_count()));
        };
    };
    connections.emplace_back(pre_migrate.connect(record("pre")));
    connections.emplace_back(post_migrate.connect(record("post")));
    migrate();
    const auto tables = std::to_string(expected_plan.size());
    EXPECT_EQ(log,
              (Log{"pre library default tables=0", "pre shop default tables=0",
                   "pre empty default tables=0", "post library default tables=" + tables,
                   "post shop default tables=" + tables, "post empty default tables=" + tables}));
}

// Django: the `using` argument names the database migrated.
TEST_F(MigrateSignalsTest, EventNamesTheDatabaseMigrated) {
    Log log;
    connections.emplace_back(post_migrate.connect([&](const MigrateEvent& e) {
        log.push_back(e.app_config.label() + "@" + std::string(e.database));
    }));
    migrate("other");
    EXPECT_EQ(log, (Log{"library@other", "shop@other", "empty@other"}));
    EXPECT_GT(table_count("other"), 0);
    EXPECT_EQ(table_count("default"), 0);
}

// tocsin: a receiver connected with one app's sender hears that app only.
TEST_F(MigrateSignalsTest, SenderFiltersOneApp) {
    Log log;
    connections.emplace_back(
        pre_migrate.connect([&](const MigrateEvent& e) { log.push_back(e.app_config.label()); },
                            {.sender = shop->sender()}));
    EXPECT_TRUE(pre_migrate.has_listeners(shop->sender()));
    EXPECT_FALSE(pre_migrate.has_listeners(library->sender()));
    migrate();
    EXPECT_EQ(log, (Log{"shop"}));
}

// Django's typical use (auth's create_permissions, contenttypes): post_migrate creates default
// rows; migrating again finds them and adds nothing.
TEST_F(MigrateSignalsTest, PostMigrateReceiverCreatesDefaultRows) {
    connections.emplace_back(post_migrate.connect(
        [](const MigrateEvent&) {
            for (const char* name : {"walk-in", "online"}) {
                shop::Customer c;
                c.name = name;
                static_cast<void>(shop::Customer::objects().get_or_create(
                    where(&shop::Customer::name) == std::string(name), c));
            }
        },
        {.sender = shop->sender(), .dispatch_uid = "shop.default_customers"}));
    migrate();
    EXPECT_EQ(shop::Customer::objects().count(), 2);
    migrate();
    EXPECT_EQ(shop::Customer::objects().count(), 2) << "defaults are created once";
}

// tocsin: an exception from a pre_migrate receiver stops migrate() before any table is created,
// and reaches the caller.
TEST_F(MigrateSignalsTest, PreMigrateExceptionStopsBeforeAnyTable) {
    Log log;
    connections.emplace_back(pre_migrate.connect(
        [](const MigrateEvent& e) {
            if (e.app_config.label() == "shop") {
                throw std::runtime_error("shop refuses");
            }
        },
        {.name = "shop.refuse"}));
    connections.emplace_back(
        post_migrate.connect([&](const MigrateEvent& e) { log.push_back(e.app_config.label()); }));
    EXPECT_EQ(message_of<std::runtime_error>([] { migrate(); }), "shop refuses");
    EXPECT_EQ(table_count(), 0);
    EXPECT_TRUE(log.empty()) << "post_migrate is not sent";
}

// tocsin: an exception from a post_migrate receiver reaches the caller; the tables, committed
// before post_migrate is sent, stay.
TEST_F(MigrateSignalsTest, PostMigrateExceptionKeepsTheTables) {
    connections.emplace_back(
        post_migrate.connect([](const MigrateEvent&) { throw std::runtime_error("post failed"); }));
    EXPECT_EQ(message_of<std::runtime_error>([] { migrate(); }), "post failed");
    EXPECT_EQ(table_count(), static_cast<std::int64_t>(migration_plan().size()));
}

// tocsin: the model and migrate signals are listed by all_signals() from the start.
TEST(MigrateSignalsListing, ModelSignalsAreListed) {
    for (const char* name : {"class_prepared", "post_delete", "post_init", "post_migrate",
                             "post_save", "pre_delete", "pre_init", "pre_migrate", "pre_save"}) {
        EXPECT_EQ(find_signals(name).size(), 1U) << name;
    }
    const auto pre = find_signals("pre_migrate");
    ASSERT_EQ(pre.size(), 1U);
    EXPECT_EQ(pre[0].signature, "void(const tocsin::MigrateEvent&)");
}

}  // namespace migrate_signals_test
}  // namespace
}  // namespace tocsin::test
