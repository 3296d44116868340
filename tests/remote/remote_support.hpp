// Helpers shared by the remote tests: the models of the outbox tests (an Item whose post_save
// has remote receivers, and the Effect each receiver applies, unique per receiver and item), their
// app, and a fixture with a fresh database per test (SQLite file; PostgreSQL schema under `pg.`).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "../support/engine.hpp"
#include "../support/temp_dir.hpp"
#include "outbox_models.hpp"
#include "tocsin/models.hpp"
#include "tocsin/remote.hpp"

namespace tocsin::test::remote_test {

/// Sets up the app on @p settings as "default" and makes the tables and the outbox.
inline void setup_outbox_app(const db::Settings& settings) {
    Apps::instance().reset();
    setup({.installed_apps = {std::make_shared<OutboxTestApp>()},
           .databases = {{"default", settings}}});
    migrate();
    remote::create_outbox();
}

/// A fresh database per test with the app's tables and the outbox, no remote receiver registered;
/// the test's connections (`connections`) are disconnected at the end.
class RemoteTest : public ::testing::Test {
  protected:
    void SetUp() override {
        remote::detail::clear_receivers();
        setup_outbox_app(databases.database(dir, "default.db"));
    }
    void TearDown() override {
        connections.clear();
        remote::detail::clear_receivers();
        Apps::instance().reset();
        db::close_all();
        db::configure({});
    }

    /// A number read with SQL (either engine).
    static std::int64_t scalar(const std::string& sql) {
        return db::connection().query_value(sql)->as_integer();
    }
    /// The outbox rows in @p status.
    static std::int64_t rows_in(std::string_view status) {
        return scalar("SELECT COUNT(*) FROM tocsin_outbox WHERE status = '" + std::string(status) +
                      "'");
    }
    /// All outbox rows.
    static std::int64_t outbox_size() { return scalar("SELECT COUNT(*) FROM tocsin_outbox"); }
    /// The events of the outbox rows in @p status (a packed row holds several).
    static std::int64_t events_in(std::string_view status) {
        return scalar("SELECT COALESCE(SUM(events), 0) FROM tocsin_outbox WHERE status = '" +
                      std::string(status) + "'");
    }
    /// The events of all outbox rows.
    static std::int64_t outbox_events() {
        return scalar("SELECT COALESCE(SUM(events), 0) FROM tocsin_outbox");
    }
    /// The effects applied.
    static std::int64_t effects() { return scalar("SELECT COUNT(*) FROM outboxtest_effect"); }

    test_support::TempDir dir;
    test_support::TestDatabases databases;
    std::vector<ScopedConnection> connections;
};

}  // namespace tocsin::test::remote_test
