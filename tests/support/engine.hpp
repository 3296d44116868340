// tocsin::test_support: the engine a test binary runs on. ctest registers the db, models, apps,
// management and testing binaries once per engine (tests/CMakeLists.txt, tocsin_test(...
// ENGINES sqlite postgresql)); the PostgreSQL registration sets TOCSIN_TEST_ENGINE=postgresql.
// These helpers give a test its databases and look at their schema the same way on both.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "postgresql.hpp"
#include "temp_dir.hpp"
#include "tocsin/db/database.hpp"
#include "tocsin/db/settings.hpp"

namespace tocsin::test_support {

/// Whether this run is the PostgreSQL registration (TOCSIN_TEST_ENGINE=postgresql).
inline bool testing_postgresql() {
    const char* engine = std::getenv("TOCSIN_TEST_ENGINE");
    return engine != nullptr && std::string_view(engine) == "postgresql";
}

/// A schema of its own in the test cluster's "postgres" database, dropped at destruction: what a
/// test on PostgreSQL gets for each database it asks for. Its settings() set the connection's
/// search_path to it, so that the test's tables, sequences and indexes live there: to the test it
/// is an empty database of its own, at a fraction of CREATE DATABASE's cost (measured on a
/// loaded 2-core machine: CREATE SCHEMA ~10 ms; CREATE DATABASE 45-90 ms, and as much to drop).
class PgSchema {
  public:
    PgSchema() {
        auto admin = pg_cluster_settings();
        if (!admin)
            return;
        static std::atomic<int> counter{0};
        admin_ = *admin;
        db::PostgresqlBackend backend(admin_);
        name_ = "test_" + std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1));
        backend.execute_script("DROP SCHEMA IF EXISTS " + name_ + " CASCADE; CREATE SCHEMA " +
                               name_);
    }
    ~PgSchema() {
        if (name_.empty())
            return;
        try {
            db::PostgresqlBackend backend(admin_);
            backend.execute_script("SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS " + name_ +
                                   " CASCADE");
        } catch (...) {  // the cluster is removed at the end of the run anyway
        }
    }
    PgSchema(const PgSchema&) = delete;
    PgSchema& operator=(const PgSchema&) = delete;

    /// Whether a cluster runs.
    [[nodiscard]] bool available() const noexcept { return !name_.empty(); }
    /// Settings whose connections see this schema only (search_path).
    [[nodiscard]] db::Settings settings() const {
        db::Settings s = admin_;
        s.options["options"] = "-c search_path=" + name_;
        return s;
    }

  private:
    db::Settings admin_;
    std::string name_;
};

/// The databases of one test: each call of database() gives a fresh, empty one — the file
/// @p file of @p dir on SQLite, a schema of its own on the test cluster on PostgreSQL (dropped
/// with this object; PgSchema).
class TestDatabases {
  public:
    /// Settings for a fresh database named after @p file (a SQLite file in @p dir).
    db::Settings database(const TempDir& dir, std::string_view file) {
        if (testing_postgresql()) {
            keep_.push_back(std::make_unique<PgSchema>());
            if (!keep_.back()->available())
                throw std::runtime_error(
                    "TOCSIN_TEST_ENGINE=postgresql but no PostgreSQL test cluster runs (ctest "
                    "starts it: the fixture `postgresql`)");
            return keep_.back()->settings();
        }
        return {.engine = "sqlite", .name = dir.file(file)};
    }

  private:
    std::vector<std::unique_ptr<PgSchema>> keep_;
};

/// Under TOCSIN_TEST_ENGINE=postgresql without a test cluster: every test of the binary is
/// skipped when TOCSIN_SKIP_POSTGRESQL=1 (a developer without the server), fails otherwise.
class PgClusterCheck : public ::testing::Environment {
  public:
    void SetUp() override {
        if (!testing_postgresql() || pg_cluster_settings())
            return;
        if (pg_skip_allowed())
            GTEST_SKIP() << "no PostgreSQL test cluster (TOCSIN_SKIP_POSTGRESQL=1)";
        FAIL() << "TOCSIN_TEST_ENGINE=postgresql but no PostgreSQL test cluster: run the tests "
                  "with ctest (the fixture `postgresql` starts one; needs the Debian package "
                  "postgresql), or set TOCSIN_SKIP_POSTGRESQL=1 to skip them";
    }
};
inline ::testing::Environment* const pg_cluster_check =
    ::testing::AddGlobalTestEnvironment(new PgClusterCheck);

/// The tables of @p db, in the order they were created.
inline std::vector<std::string> table_names(db::Database& db) {
    const char* sql =
        db.backend().vendor() == "postgresql"
            ? "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
              "WHERE n.nspname = current_schema() AND c.relkind = 'r' ORDER BY c.oid"
            : "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
              "ORDER BY rowid";
    std::vector<std::string> out;
    for (const auto& row : db.query(sql))
        out.push_back(row.at(0).as_text());
    return out;
}

/// The indexes of @p table made by CREATE INDEX (not those of PRIMARY KEY or UNIQUE).
inline std::vector<std::string> created_index_names(db::Database& db, std::string_view table) {
    const std::string sql =
        db.backend().vendor() == "postgresql"
            ? "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN "
              "pg_class t ON t.oid = x.indrelid WHERE t.relnamespace = "
              "current_schema()::regnamespace "
              "AND t.relname = '" +
                  std::string(table) +
                  "' AND NOT x.indisprimary AND NOT x.indisunique ORDER BY i.relname"
            : "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND "
              "tbl_name = '" +
                  std::string(table) + "' ORDER BY name";
    std::vector<std::string> out;
    for (const auto& row : db.query(sql))
        out.push_back(row.at(0).as_text());
    return out;
}

/// @p sql with its parameters written `?1`, `?2`... rewritten in @p db's placeholder syntax
/// (`$1` on PostgreSQL): raw SQL of a test that runs on both engines.
inline std::string params(db::Database& db, std::string_view sql) {
    std::string out;
    for (std::size_t i = 0; i < sql.size(); ++i) {
        if (sql[i] == '?' && i + 1 < sql.size() &&
            std::isdigit(static_cast<unsigned char>(sql[i + 1])) != 0) {
            std::size_t j = i + 1;
            while (j < sql.size() && std::isdigit(static_cast<unsigned char>(sql[j])) != 0)
                ++j;
            out += db.backend().placeholder(std::stoul(std::string(sql.substr(i + 1, j - i - 1))));
            i = j - 1;
        } else {
            out += sql[i];
        }
    }
    return out;
}

}  // namespace tocsin::test_support

/// First line of a test about a SQLite-only behaviour (its files, PRAGMAs, limits): on the
/// PostgreSQL registration it is reported skipped, with @p why.
#define TOCSIN_SQLITE_ONLY(why)                              \
    do {                                                     \
        if (::tocsin::test_support::testing_postgresql())    \
            GTEST_SKIP() << "SQLite only (" << (why) << ")"; \
    } while (false)
