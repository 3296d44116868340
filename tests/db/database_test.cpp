// tocsin::db::Database and the registry of aliases: configure(), connection(), per-thread
// connections, lazy opening, close and reopen, reconfiguration, custom engines.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "tocsin/db.hpp"

namespace tocsin::db::test {
namespace {
namespace database_test {

using namespace std::chrono_literals;

class DatabaseTest : public DbTest {};

TEST_F(DatabaseTest, ConnectionsByAlias) {
    Database& def = connection();
    Database& other = connection("other");
    EXPECT_EQ(def.alias(), "default");
    EXPECT_EQ(other.alias(), "other");
    EXPECT_NE(&def, &other);
    EXPECT_EQ(&connection("default"), &def);  // the same object for the same thread
    EXPECT_EQ(def.settings(), configuration().at("default"));
    EXPECT_EQ(other.settings().engine,
              test_support::testing_postgresql() ? "postgresql" : "sqlite");

    def.execute_script("CREATE TABLE t (x INTEGER)");
    other.execute_script("CREATE TABLE u (y INTEGER)");
    EXPECT_EQ(test_support::table_names(def), std::vector<std::string>{"t"});
    EXPECT_EQ(test_support::table_names(other), std::vector<std::string>{"u"});
}

TEST_F(DatabaseTest, ConfigurationIsReadable) {
    const auto config = configuration();
    ASSERT_EQ(config.size(), 2U);
    EXPECT_EQ(config.at("other"), other_settings);
}

TEST_F(DatabaseTest, AnUnknownAliasIsAConfigurationErrorNamingIt) {
    try {
        (void)connection("replica");
        ADD_FAILURE();
    } catch (const ConfigurationError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("\"replica\" is not configured"), std::string::npos) << what;
        EXPECT_NE(what.find("\"default\", \"other\""), std::string::npos) << what;
        EXPECT_NE(what.find("database_test.cpp:"), std::string::npos) << what;
    }
}

TEST_F(DatabaseTest, WithoutConfigurationTheErrorSaysWhatToDo) {
    configure({});
    try {
        (void)connection();
        ADD_FAILURE();
    } catch (const ConfigurationError& e) {
        EXPECT_NE(std::string(e.what()).find("call tocsin::db::configure() first"),
                  std::string::npos)
            << e.what();
    }
}

TEST_F(DatabaseTest, AnUnknownEngineIsRejectedByConfigure) {
    try {
        configure({{"default", {.engine = "oracle", .name = "x"}}});
        ADD_FAILURE();
    } catch (const ConfigurationError& e) {
        EXPECT_NE(std::string(e.what()).find("\"oracle\""), std::string::npos) << e.what();
    }
    EXPECT_EQ(configuration().size(), 2U);  // the old configuration stays
}

TEST_F(DatabaseTest, TheFileIsOpenedOnFirstUse) {
    // SQLite: a file in a directory that does not exist; PostgreSQL: a database that does not.
    Settings missing{.name = dir.file("missing-dir/x.db")};
    if (test_support::testing_postgresql()) {
        missing = default_settings;
        missing.name = "missing_database";
    }
    configure({{"default", missing}});
    Database& db = connection();  // no error yet
    EXPECT_FALSE(db.is_connected());
    try {
        db.execute("CREATE TABLE t (x INTEGER)");
        ADD_FAILURE();
    } catch (const OperationalError& e) {
        EXPECT_NE(std::string(e.what()).find(missing.name), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("database_test.cpp:"), std::string::npos) << e.what();
    }
}

TEST_F(DatabaseTest, CloseAndReopen) {
    Database& db = connection();
    db.execute_script("CREATE TABLE t (x INTEGER)");
    db.execute(params("INSERT INTO t VALUES (?1)"), {1});
    EXPECT_TRUE(db.is_connected());
    db.close();
    EXPECT_FALSE(db.is_connected());
    EXPECT_EQ(db.query_value("SELECT count(*) FROM t"), Value(1));  // reopened
    EXPECT_TRUE(db.is_connected());
    close_all();
    EXPECT_FALSE(db.is_connected());
    EXPECT_FALSE(connection("other").is_connected());
}

TEST_F(DatabaseTest, ExecuteAndQueryHelpers) {
    Database& db = connection();
    db.execute_script("CREATE TABLE t (x INTEGER, y TEXT)");
    EXPECT_EQ(db.execute(params("INSERT INTO t VALUES (?1, ?2), (?3, ?4)"), {1, "a", 2, null}), 2);
    EXPECT_EQ(db.execute(params("UPDATE t SET y = 'z' WHERE x >= ?1"), {0}), 2);
    const auto rows = db.query("SELECT x, y FROM t ORDER BY x");
    ASSERT_EQ(rows.size(), 2U);
    EXPECT_EQ(rows[0], (Row{1, "z"}));
    EXPECT_EQ(db.query_value(params("SELECT y FROM t WHERE x = ?1"), {2}), Value("z"));
    EXPECT_EQ(db.query_value(params("SELECT y FROM t WHERE x = ?1"), {3}), std::nullopt);
    const std::vector<Value> values{5, "five"};
    EXPECT_EQ(db.execute(params("INSERT INTO t VALUES (?1, ?2)"), values), 1);
    EXPECT_THROW(db.execute(params("INSERT INTO t VALUES (?1, ?2)"), {1}), ProgrammingError);
}

TEST_F(DatabaseTest, StatementsAreCachedPerConnection) {
    Database& db = connection();
    const auto before = db.backend().statement_cache().stats();
    for (int i = 0; i < 10; ++i)
        (void)db.query_value(params("SELECT ?1"), {i});
    const auto after = db.backend().statement_cache().stats();
    EXPECT_EQ(after.misses - before.misses, 1U);
    EXPECT_EQ(after.hits - before.hits, 9U);
}

TEST_F(DatabaseTest, EachThreadHasItsOwnConnection) {
    Database& mine = connection();
    mine.execute_script("CREATE TABLE t (x INTEGER)");
    Database* theirs = nullptr;
    bool their_block_seen = true;
    {
        auto tx = tocsin::atomic();
        mine.execute("INSERT INTO t VALUES (1)");
        std::thread([&] {
            theirs = &connection();
            their_block_seen = theirs->in_atomic_block();
            // Uncommitted work of the main thread is invisible here.
            EXPECT_EQ(theirs->query_value("SELECT count(*) FROM t"), Value(0));
        }).join();
    }
    EXPECT_NE(theirs, &mine);
    EXPECT_FALSE(their_block_seen);
    std::thread([&] {
        EXPECT_EQ(connection().query_value("SELECT count(*) FROM t"), Value(1));
    }).join();
}

TEST_F(DatabaseTest, ConcurrentWritersOnOneFile) {
    connection().execute_script("CREATE TABLE t (thread INTEGER, i INTEGER)");
    constexpr int threads = 4;
    constexpr int per_thread = 50;
    std::vector<std::thread> workers;
    std::atomic<int> failures{0};
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([t, &failures] {
            try {
                for (int i = 0; i < per_thread; ++i) {
                    tocsin::atomic([&] {
                        connection().execute(params("INSERT INTO t VALUES (?1, ?2)"), {t, i});
                    });
                }
            } catch (const Error& e) {
                ++failures;
                ADD_FAILURE() << e.what();
            }
        });
    }
    for (auto& w : workers)
        w.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(connection().query_value("SELECT count(*) FROM t"), Value(threads * per_thread));
}

TEST_F(DatabaseTest, AThreadsConnectionClosesWhenTheThreadEnds) {
    connection().execute_script("CREATE TABLE t (x INTEGER)");
    std::thread([] {
        Database& db = connection();
        db.set_autocommit(false);  // a manual transaction holding the write lock...
        db.execute("INSERT INTO t VALUES (1)");
    }).join();  // ...rolled back and released when the thread's connection closed
    Settings quick = default_settings;
    quick.timeout = 100ms;
    configure({{"default", quick}});
    EXPECT_EQ(connection().execute("INSERT INTO t VALUES (2)"), 1);
    EXPECT_EQ(connection().query_value("SELECT sum(x) FROM t"), Value(2));
}

TEST_F(DatabaseTest, ReconfigurationReopensWithTheNewSettings) {
    Database& db = connection();
    db.execute_script("CREATE TABLE first (x INTEGER)");
    const Settings second = databases.database(dir, "second.db");
    configure({{"default", second}});
    Database& again = connection();
    EXPECT_EQ(&again, &db);  // references stay valid
    EXPECT_EQ(again.settings(), second);
    EXPECT_TRUE(test_support::table_names(again).empty());
}

TEST_F(DatabaseTest, ReconfigurationWaitsForTheOpenTransaction) {
    const Settings second = databases.database(dir, "second.db");
    Database& db = connection();
    db.execute_script("CREATE TABLE t (x INTEGER)");
    {
        auto tx = tocsin::atomic();
        db.execute("INSERT INTO t VALUES (1)");
        configure({{"default", second}});
        EXPECT_EQ(connection().settings(), default_settings);
        db.execute("INSERT INTO t VALUES (2)");
    }
    EXPECT_EQ(connection().settings(), second);
    configure({{"default", default_settings}});
    EXPECT_EQ(connection().query_value("SELECT count(*) FROM t"), Value(2));
}

TEST_F(DatabaseTest, ClosingInsideABlockLosesTheTransaction) {
    Database& db = connection();
    db.execute_script("CREATE TABLE t (x INTEGER)");
    {
        auto tx = tocsin::atomic();
        db.execute("INSERT INTO t VALUES (1)");
        db.close();
        EXPECT_THROW(db.execute("INSERT INTO t VALUES (2)"), TransactionManagementError);
        {
            auto inner = tocsin::atomic();  // allowed, does nothing
        }
    }
    EXPECT_FALSE(db.in_atomic_block());
    EXPECT_TRUE(db.get_autocommit());
    EXPECT_EQ(db.query_value("SELECT count(*) FROM t"), Value(0));
}

TEST_F(DatabaseTest, CustomEnginesCanBeRegistered) {
    std::atomic<int> opened{0};
    const std::string engine = default_settings.engine;
    register_backend("counting-sqlite",
                     [&opened, engine](const Settings& settings, tocsin::source_location where) {
                         ++opened;
                         Settings s = settings;
                         s.engine = engine;
                         return open_backend(s, where);
                     });
    EXPECT_TRUE(has_backend("counting-sqlite"));
    Settings custom = databases.database(dir, "custom.db");
    custom.engine = "counting-sqlite";
    configure({{"default", custom}});
    EXPECT_EQ(connection().query_value("SELECT 40 + 2"), Value(42));
    EXPECT_EQ(opened.load(), 1);
    close_all();
    configure({});
    register_backend("counting-sqlite", [](const Settings& s, tocsin::source_location where) {
        return SqliteBackend::create(s, where);
    });
}

/// A backend written outside the library, on the public interface only: it forwards to the
/// test's engine (SQLite or PostgreSQL) but reports PostgreSQL's rule that a failed statement
/// aborts the transaction.
class AbortingBackend final : public Backend {
  public:
    explicit AbortingBackend(std::shared_ptr<Backend> inner)
        : Backend(16), inner_(std::move(inner)) {
        features_ = inner_->features();
        features_.statement_error_aborts_transaction = true;
    }
    std::string_view vendor() const noexcept override { return "aborting"; }
    std::string display_name() const override { return inner_->display_name(); }
    const Features& features() const noexcept override { return features_; }
    std::string placeholder(std::size_t index) const override { return inner_->placeholder(index); }
    std::string column_type(LogicalType type) const override { return inner_->column_type(type); }
    std::string auto_primary_key_type() const override { return inner_->auto_primary_key_type(); }
    std::int64_t last_insert_id() const override { return inner_->last_insert_id(); }
    bool in_transaction() const noexcept override { return inner_->in_transaction(); }

  protected:
    std::unique_ptr<Statement> do_prepare(std::string_view sql, bool,
                                          tocsin::source_location where) override {
        return inner_->prepare(sql, where);
    }
    void do_execute_script(std::string_view sql, tocsin::source_location where) override {
        inner_->execute_script(sql, where);
    }

  private:
    std::shared_ptr<Backend> inner_;
    Features features_;
};

TEST_F(DatabaseTest, OnBackendsWhereAnErrorAbortsTheTransactionTheNextQueryIsRefusedClearly) {
    const std::string engine = default_settings.engine;
    register_backend("aborting", [engine](const Settings& settings, tocsin::source_location where) {
        Settings s = settings;
        s.engine = engine;
        return std::make_shared<AbortingBackend>(open_backend(s, where));
    });
    Settings aborting = databases.database(dir, "aborting.db");
    aborting.engine = "aborting";
    configure({{"default", aborting}});
    Database& db = connection();
    EXPECT_EQ(db.backend().vendor(), "aborting");
    db.execute_script("CREATE TABLE t (x INTEGER UNIQUE)");
    {
        auto tx = tocsin::atomic();
        db.execute("INSERT INTO t VALUES (1)");
        EXPECT_THROW(db.execute("INSERT INTO t VALUES (1)"), IntegrityError);
        EXPECT_TRUE(db.get_rollback());
        try {
            db.execute("INSERT INTO t VALUES (2)");
            ADD_FAILURE() << "a query ran in an aborted transaction";
        } catch (const TransactionManagementError& e) {
            EXPECT_NE(e.message().find("You can't execute queries until the end of the 'atomic' "
                                       "block."),
                      std::string::npos);
        }
    }  // rolls back
    EXPECT_EQ(db.query_value("SELECT count(*) FROM t"), Value(0));
    // A savepoint contains the damage: the error inside the inner block leaves the outer usable.
    {
        auto outer = tocsin::atomic();
        db.execute("INSERT INTO t VALUES (1)");
        try {
            auto inner = tocsin::atomic();
            db.execute("INSERT INTO t VALUES (1)");
        } catch (const IntegrityError&) {
        }
        db.execute("INSERT INTO t VALUES (2)");
    }
    EXPECT_EQ(db.query_value("SELECT count(*) FROM t"), Value(2));
}

}  // namespace database_test
}  // namespace
}  // namespace tocsin::db::test
