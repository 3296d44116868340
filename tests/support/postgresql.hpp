// tocsin::test_support: the PostgreSQL cluster of the test run (started by the CTest fixture
// `postgresql`, tests/support/pg_cluster.sh) and a fresh database on it per test.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "tocsin/db/postgresql_backend.hpp"
#include "tocsin/db/settings.hpp"

#ifndef TOCSIN_TEST_PG_STATE
#define TOCSIN_TEST_PG_STATE ""
#endif

namespace tocsin::test_support {

/// The fixture's state dir: TOCSIN_TEST_PG_STATE (environment, else the build's own).
inline std::string pg_state_dir() {
    if (const char* env = std::getenv("TOCSIN_TEST_PG_STATE"); env != nullptr && *env != '\0')
        return env;
    return TOCSIN_TEST_PG_STATE;
}

inline std::string read_first_line(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

/// Settings for the cluster's "postgres" database from a conninfo "host=... port=... user=...
/// dbname=...", or nullopt when no cluster runs. The test run's cluster fixture writes it.
inline std::optional<db::Settings> pg_cluster_settings() {
    const std::string conninfo = read_first_line(pg_state_dir() + "/conninfo");
    if (conninfo.empty())
        return std::nullopt;
    db::Settings s{.engine = "postgresql"};
    std::istringstream words(conninfo);
    std::string word;
    while (words >> word) {
        const auto eq = word.find('=');
        const std::string key = word.substr(0, eq);
        const std::string value = word.substr(eq + 1);
        if (key == "host")
            s.host = value;
        else if (key == "port")
            s.port = std::stoi(value);
        else if (key == "user")
            s.user = value;
        else if (key == "dbname")
            s.name = value;
    }
    return s;
}

/// The cluster's TCP URL (postgresql://postgres@127.0.0.1:<port>/postgres), or empty.
inline std::string pg_cluster_url() {
    return read_first_line(pg_state_dir() + "/url");
}

/// Whether PostgreSQL tests may skip: TOCSIN_SKIP_POSTGRESQL=1 (a developer without the server).
inline bool pg_skip_allowed() {
    const char* env = std::getenv("TOCSIN_SKIP_POSTGRESQL");
    return env != nullptr && std::string(env) == "1";
}

/// A database of its own on the test cluster, dropped at destruction (every connection to it
/// is closed first).
class PgDatabase {
  public:
    PgDatabase() {
        auto admin = pg_cluster_settings();
        if (!admin)
            return;
        static std::atomic<int> counter{0};
        name_ = "tocsin_test_" + std::to_string(::getpid()) + "_" +
                std::to_string(counter.fetch_add(1));
        admin_ = *admin;
        db::PostgresqlBackend backend(admin_);
        backend.execute_script("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
        backend.execute_script("CREATE DATABASE " + name_);
    }
    ~PgDatabase() {
        if (name_.empty())
            return;
        try {
            db::PostgresqlBackend backend(admin_);
            backend.execute_script("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
        } catch (...) {  // the cluster is removed at the end of the run anyway
        }
    }
    PgDatabase(const PgDatabase&) = delete;
    PgDatabase& operator=(const PgDatabase&) = delete;

    /// Whether a cluster runs (otherwise tests skip or fail: see require_postgresql()).
    [[nodiscard]] bool available() const noexcept { return !name_.empty(); }
    /// The database's name.
    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    /// Settings to connect to it.
    [[nodiscard]] db::Settings settings() const {
        db::Settings s = admin_;
        s.name = name_;
        return s;
    }
    /// Settings for the cluster's "postgres" database (to watch or terminate connections).
    [[nodiscard]] const db::Settings& admin_settings() const noexcept { return admin_; }

  private:
    db::Settings admin_;
    std::string name_;
};

}  // namespace tocsin::test_support

/// In a test's SetUp: skips when no cluster runs and TOCSIN_SKIP_POSTGRESQL=1, fails otherwise.
#define TOCSIN_REQUIRE_POSTGRESQL(pgdatabase)                                                  \
    do {                                                                                       \
        if (!(pgdatabase).available()) {                                                       \
            if (::tocsin::test_support::pg_skip_allowed())                                     \
                GTEST_SKIP() << "no PostgreSQL test cluster (TOCSIN_SKIP_POSTGRESQL=1)";       \
            FAIL() << "no PostgreSQL test cluster: run the tests with ctest (the fixture "     \
                      "`postgresql` starts one; needs the Debian package postgresql), or set " \
                      "TOCSIN_SKIP_POSTGRESQL=1 to skip them";                                 \
        }                                                                                      \
    } while (false)
