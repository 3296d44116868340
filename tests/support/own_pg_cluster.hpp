// tocsin::test_support::OwnPgCluster — a throw-away PostgreSQL cluster of the caller's own
// (tests/support/pg_cluster.sh in a private state dir), for the tests that must not disturb the
// run's shared cluster (a server restart) and for the benchmarks in bench/. Header-only, no
// GoogleTest: bench/ includes it too. The script's path is TOCSIN_PG_CLUSTER_SCRIPT, defined by
// the target's CMake (tests/remote, tests/models, bench/*.cmake).
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "temp_dir.hpp"
#include "tocsin/db/settings.hpp"

#ifndef TOCSIN_PG_CLUSTER_SCRIPT
#define TOCSIN_PG_CLUSTER_SCRIPT ""
#endif

namespace tocsin::test_support {

/// A PostgreSQL cluster started at construction (initdb, fsync and synchronous_commit off, a
/// Unix socket in a private dir and 127.0.0.1 on a free port: see pg_cluster.sh), stopped and
/// removed at destruction. Construction does not throw when the start fails: ask started().
class OwnPgCluster {
  public:
    OwnPgCluster() { started_ = std::system(command("start").c_str()) == 0 && !skipped(); }
    ~OwnPgCluster() { (void)std::system(command("stop").c_str()); }
    OwnPgCluster(const OwnPgCluster&) = delete;
    OwnPgCluster& operator=(const OwnPgCluster&) = delete;

    /// Whether the server runs (false: no server binaries, or initdb / pg_ctl failed; the
    /// script said why on stderr).
    [[nodiscard]] bool started() const noexcept { return started_; }

    /// Settings for its "postgres" database over the Unix socket.
    [[nodiscard]] db::Settings settings() const {
        db::Settings s{.engine = "postgresql"};
        std::istringstream words(first_line("conninfo"));
        std::string word;
        while (words >> word) {
            const auto eq = word.find('=');
            const std::string key = word.substr(0, eq);
            const std::string value = eq == std::string::npos ? "" : word.substr(eq + 1);
            if (key == "host") {
                s.host = value;
            } else if (key == "port") {
                s.port = std::stoi(value);
            } else if (key == "user") {
                s.user = value;
            } else if (key == "dbname") {
                s.name = value;
            }
        }
        return s;
    }

    /// Its TCP URL, postgresql://postgres@127.0.0.1:<port>/postgres.
    [[nodiscard]] std::string url() const { return first_line("url"); }

    /// pg_ctl restart (fast: sessions are terminated), waiting until it accepts connections.
    /// Returns whether it did.
    [[nodiscard]] bool restart() const {
        const std::string bin = first_line("pgbin");
        const std::string dir = first_line("pgdir");
        std::string cmd = bin + "/pg_ctl -D " + dir + "/data -l " + dir +
                          "/server.log -m fast -w -t 30 restart >/dev/null";
        if (::geteuid() == 0) {
            cmd = "runuser -u postgres -- " + cmd;
        }
        return std::system(cmd.c_str()) == 0;
    }

    /// The server's process id (the postmaster), 0 when it does not run.
    [[nodiscard]] long server_pid() const {
        std::ifstream in(first_line("pgdir") + "/data/postmaster.pid");
        long pid = 0;
        in >> pid;
        return pid;
    }

  private:
    [[nodiscard]] std::string command(const char* action) const {
        return std::string("bash ") + TOCSIN_PG_CLUSTER_SCRIPT + " " + action + " " +
               state_.path().string() + " >/dev/null";
    }
    [[nodiscard]] std::string first_line(const char* name) const {
        std::ifstream in(state_.file(name));
        std::string line;
        std::getline(in, line);
        return line;
    }
    [[nodiscard]] bool skipped() const { return std::ifstream(state_.file("skipped")).good(); }

    TempDir state_;
    bool started_ = false;
};

}  // namespace tocsin::test_support
