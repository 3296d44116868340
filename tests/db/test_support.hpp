// Helpers shared by the db tests: a private temporary directory, a fixture that configures the
// "default" and "other" aliases on real SQLite files in it, and a capture of log records.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>
#include "../support/engine.hpp"
#include "../support/temp_dir.hpp"

#include <atomic>
#include <chrono>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "tocsin/db.hpp"

namespace tocsin::db::test {

using TempDir = tocsin::test_support::TempDir;

/// Configures "default" and "other" on two fresh databases: files of a fresh TempDir, or with
/// TOCSIN_TEST_ENGINE=postgresql (the `pg.` registration) two databases of the test cluster;
/// closes this thread's connections and clears the configuration afterwards.
class DbTest : public ::testing::Test {
  protected:
    void SetUp() override {
        default_settings = databases.database(dir, "default.db");
        other_settings = databases.database(dir, "other.db");
        configure({{"default", default_settings}, {"other", other_settings}});
    }
    void TearDown() override {
        close_all();
        configure({});
    }

    /// `sql` with parameters written `?1`, `?2`... in `alias`'s placeholder syntax.
    static std::string params(std::string_view sql, std::string_view alias = "default") {
        return test_support::params(connection(alias), sql);
    }

    TempDir dir;
    /// The test's databases: `databases.database(dir, "x.db")` gives one more fresh one.
    test_support::TestDatabases databases;
    Settings default_settings;  ///< what "default" was configured with
    Settings other_settings;    ///< what "other" was configured with
};

/// Captures the db layer's log records while alive.
class LogCapture {
  public:
    struct Record {
        LogLevel level;
        std::string logger;
        std::string message;
        std::exception_ptr error;
    };

    LogCapture() {
        previous_ = set_log_handler([this](const LogRecord& r) {
            records.push_back({r.level, std::string(r.logger), std::string(r.message), r.error});
        });
    }
    ~LogCapture() { set_log_handler(std::move(previous_)); }
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;

    std::vector<Record> records;

  private:
    LogHandler previous_;
};

}  // namespace tocsin::db::test
