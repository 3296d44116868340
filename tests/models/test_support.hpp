// Helpers shared by the model, apps and management tests: a private temporary directory, a
// fixture with a fresh database per test (SQLite file; PostgreSQL schema under `pg.`) (configured
// as "default", tables made by migrate()), a fixture that sets up installed apps over fresh
// "default" and "other" files (tables left to the test), a check that no test leaves a model-signal
// receiver connected (Django's BaseSignalSetup, #9989), a lower SQLite parameter limit, and small
// helpers to describe instances and catch exception messages.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>
#include "../support/engine.hpp"
#include "../support/postgresql.hpp"
#include "../support/temp_dir.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "test_models.hpp"
#include "tocsin/db/sqlite_backend.hpp"
#include "tocsin/models.hpp"
#include "tocsin/testing.hpp"

namespace tocsin::test {

using TempDir = tocsin::test_support::TempDir;

/// The live receivers of the six model signals, in a fixed order.
inline std::vector<std::size_t> model_receiver_counts() {
    return {pre_init.receiver_count(),  post_init.receiver_count(),  pre_save.receiver_count(),
            post_save.receiver_count(), pre_delete.receiver_count(), post_delete.receiver_count()};
}

/// Settings for a fresh test database: the file @p file of @p dir on SQLite; with
/// TOCSIN_TEST_ENGINE=postgresql (the `pg.` registration of the test), a fresh schema of the
/// test cluster instead, which the test sees as an empty database (kept alive by @p keep).
inline db::Settings test_database(const TempDir& dir, std::string_view file,
                                  test_support::TestDatabases& keep) {
    return keep.database(dir, file);
}

/// Whether the test runs on PostgreSQL (the `pg.` registration).
inline bool on_postgresql() {
    return test_support::testing_postgresql();
}

/// The tables of `alias`, in the order they were created (either engine).
inline std::vector<std::string> table_names(std::string_view alias = "default") {
    return test_support::table_names(db::connection(alias));
}

/// `sql` with parameters written `?1`, `?2`... in `alias`'s placeholder syntax.
inline std::string params(std::string_view sql, std::string_view alias = "default") {
    return test_support::params(db::connection(alias), sql);
}

/// A fresh database (test_database(): a SQLite file, or a schema on PostgreSQL) as "default" with
/// every test model's table; checks afterwards that the test disconnected every receiver it
/// connected.
class ModelTest : public ::testing::Test {
  protected:
    void SetUp() override {
        build_test_models();
        db::configure({{"default", test_database(dir, "default.db", databases)}});
        migrate();
        baseline_ = model_receiver_counts();
    }
    void TearDown() override {
        EXPECT_EQ(model_receiver_counts(), baseline_) << "a receiver was left connected";
        db::close_all();
        db::configure({});
    }

    /// The rows of `table`, counted with plain SQL (no model code involved).
    static std::int64_t rows(std::string_view table, std::string_view alias = "default") {
        return db::connection(alias)
            .query_value("SELECT COUNT(*) FROM \"" + std::string(table) + "\"")
            ->as_integer();
    }

    TempDir dir;
    /// The test's databases: `databases.database(dir, "x.db")` gives one more fresh one.
    test_support::TestDatabases databases;

  private:
    std::vector<std::size_t> baseline_;
};

/// An app whose models are `M...`.
template <class... M>
class App : public AppConfig {
  public:
    explicit App(std::string label) : AppConfig(std::move(label)) {}
    [[nodiscard]] std::vector<const apps::ModelDescription*> models() const override {
        return tocsin::describe<M...>();
    }
};

/// The apps of the shared test models (test_models.hpp).
using LibraryApp = App<library::Author, library::Book, library::Page, library::Bio, library::Loan,
                       library::Award, library::Note, library::Category>;
using ShopApp = App<shop::Customer, shop::Order, shop::Payment, shop::Review>;

/// A fresh app registry: setup() of installed_apps() with "default" and "other" as fresh
/// databases (test_database()), no table made (the test migrates when it needs them). Checks
/// afterwards, once `connections` are closed, that the test disconnected every model-signal,
/// pre_migrate and post_migrate receiver it connected; then resets the registry and the databases.
class InstalledAppsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        Apps::instance().reset();
        build_test_models();
        setup({.installed_apps = installed_apps(),
               .databases = {{"default", test_database(dir, "default.db", databases)},
                             {"other", test_database(dir, "other.db", databases)}}});
        baseline_ = model_receiver_counts();
    }
    void TearDown() override {
        connections.clear();
        EXPECT_EQ(model_receiver_counts(), baseline_) << "a receiver was left connected";
        EXPECT_EQ(pre_migrate.receiver_count(), 0U);
        EXPECT_EQ(post_migrate.receiver_count(), 0U);
        Apps::instance().reset();
        db::close_all();
        db::configure({});
    }

    /// The apps setup() installs, in order: library, then shop.
    [[nodiscard]] virtual std::vector<std::shared_ptr<AppConfig>> installed_apps() const {
        return {library, shop};
    }

    /// The number of tables in `alias`.
    static std::int64_t table_count(std::string_view alias = "default") {
        return static_cast<std::int64_t>(table_names(alias).size());
    }

    TempDir dir;
    std::shared_ptr<LibraryApp> library = std::make_shared<LibraryApp>("library");
    std::shared_ptr<ShopApp> shop = std::make_shared<ShopApp>("shop");
    /// The test's connections, closed before the checks of TearDown().
    std::vector<ScopedConnection> connections;
    /// The test's databases: `databases.database(dir, "x.db")` gives one more fresh one.
    test_support::TestDatabases databases;

  private:
    std::vector<std::size_t> baseline_;
};

/// Lowers the SQLITE_LIMIT_VARIABLE_NUMBER of `alias`'s connection (of this thread) to `limit`,
/// until it closes: a statement binding more parameters fails ("too many SQL variables"), as
/// with SQLite builds older than 3.32 (999), whatever this build allows (Debian's: 250000).
/// Returns the limit now in force.
inline int limit_sqlite_parameters(int limit, std::string_view alias = "default") {
    auto& backend = dynamic_cast<db::SqliteBackend&>(db::connection(alias).backend());
    sqlite3_limit(backend.native_handle(), SQLITE_LIMIT_VARIABLE_NUMBER, limit);
    return sqlite3_limit(backend.native_handle(), SQLITE_LIMIT_VARIABLE_NUMBER, -1);
}

/// The SQL statements run on `alias`'s connection while it lives (Django's
/// CaptureQueriesContext), through tocsin::testing::CaptureQueries: either engine.
class CapturedQueries {
  public:
    explicit CapturedQueries(std::string_view alias = "default") : capture_(alias) {}

    /// The statements so far, their values written in.
    [[nodiscard]] const std::vector<std::string>& sql() const noexcept {
        return capture_.queries();
    }
    /// How many statements start with `prefix` ("SELECT", "DELETE FROM \"library_page\"").
    [[nodiscard]] std::size_t count(std::string_view prefix) const {
        std::size_t n = 0;
        for (const auto& q : sql()) {
            n += q.rfind(prefix, 0) == 0 ? 1 : 0;
        }
        return n;
    }

  private:
    tocsin::testing::CaptureQueries capture_;
};

/// The model name ("Book") of a model sender.
inline std::string model_name(const Sender& sender) {
    for (const ModelInfo* m : all_models()) {
        if (m->sender == sender) {
            return m->model_name;
        }
    }
    return sender.name();
}

/// "Book 3" (or "Book None" for an instance without id).
inline std::string describe(const Sender& sender, const ModelBase& instance) {
    return model_name(sender) + " " + (instance.id ? std::to_string(*instance.id) : "None");
}

/// The what() of the `E` that `fn` throws; a failure (and "") when it throws nothing.
template <class E, class F>
std::string message_of(F&& fn) {
    try {
        fn();
    } catch (const E& e) {
        return e.what();
    }
    ADD_FAILURE() << "no exception was thrown";
    return {};
}

/// Whether `haystack` contains `needle`, saying both when not.
inline ::testing::AssertionResult contains(std::string_view haystack, std::string_view needle) {
    if (haystack.find(needle) != std::string_view::npos) {
        return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure()
           << "'" << haystack << "' does not contain '" << needle << "'";
}

}  // namespace tocsin::test
