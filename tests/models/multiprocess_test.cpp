// Many processes on one PostgreSQL database (issue 10): 4 worker processes × 4 threads saving
// parents with their children, incrementing counters read with select_for_update(), and
// removing parents with their children by cascade — the counts come out exact; a worker killed
// with SIGKILL in the middle of a transaction leaves nothing half-written; a deadlock and a
// serialization failure are reported as OperationalErrors that say they may be retried; a
// server restart in the middle of a run gives clear "connection lost" errors and the next
// transaction succeeds. The workers are tests/models/multiprocess/worker.cpp.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../support/own_pg_cluster.hpp"
#include "../support/postgresql.hpp"
#include "../support/temp_dir.hpp"
#include "multiprocess/models.hpp"
#include "tocsin/db.hpp"
#include "tocsin/models.hpp"

extern char** environ;

#ifndef TOCSIN_MP_WORKER
#define TOCSIN_MP_WORKER ""
#endif

namespace tocsin::test {
namespace {
namespace multiprocess_test {

using mp::Child;
using mp::Counter;
using mp::Parent;

/// A child process with its standard output on a pipe.
class Process {
  public:
    explicit Process(const std::vector<std::string>& args) {
        int fds[2];
        if (::pipe(fds) != 0) {
            throw std::runtime_error("pipe failed");
        }
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
        posix_spawn_file_actions_addclose(&actions, fds[0]);
        posix_spawn_file_actions_addclose(&actions, fds[1]);
        std::vector<char*> argv;
        for (const auto& a : args) {
            argv.push_back(const_cast<char*>(a.c_str()));
        }
        argv.push_back(nullptr);
        const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        ::close(fds[1]);
        out_ = fds[0];
        if (rc != 0) {
            ::close(out_);
            throw std::runtime_error("cannot start " + args[0] + ": " + std::to_string(rc));
        }
    }
    ~Process() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            (void)wait();
        }
        if (out_ >= 0) {
            ::close(out_);
        }
    }
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    /// The next line of its output (without the newline), or nullopt at its end or after
    /// @p timeout.
    std::optional<std::string> read_line(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            if (const auto nl = buffer_.find('\n'); nl != std::string::npos) {
                std::string line = buffer_.substr(0, nl);
                buffer_.erase(0, nl + 1);
                return line;
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                return std::nullopt;
            }
            pollfd p{out_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
                continue;
            }
            char chunk[512];
            const ssize_t n = ::read(out_, chunk, sizeof chunk);
            if (n <= 0) {
                return std::nullopt;
            }
            buffer_.append(chunk, static_cast<std::size_t>(n));
        }
    }
    /// Sends SIGKILL.
    void kill() const { ::kill(pid_, SIGKILL); }
    /// Waits for it to end: its exit status, or -signal when a signal ended it.
    int wait() {
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    }

  private:
    pid_t pid_ = -1;
    int out_ = -1;
    std::string buffer_;
};

/// The worker's arguments for database @p s.
std::vector<std::string> worker_args(const std::string& mode, const db::Settings& s) {
    return {TOCSIN_MP_WORKER, mode, s.host, std::to_string(s.port), s.user, s.name};
}

std::int64_t scalar(const std::string& sql) {
    return db::connection().query_value(sql)->as_integer();
}

/// Parents whose number of children is not children_per_parent (a half-written write).
std::int64_t inconsistent_parents() {
    return scalar(
        "SELECT COUNT(*) FROM \"mp_parent\" p WHERE (SELECT COUNT(*) FROM \"mp_child\" c WHERE "
        "c.\"parent_id\" = p.\"id\") <> " +
        std::to_string(mp::children_per_parent));
}

/// A fresh database of the test cluster with the tables and the counters at 0.
class ManyProcessesTest : public ::testing::Test {
  protected:
    void SetUp() override {
        TOCSIN_REQUIRE_POSTGRESQL(pg);
        mp::build_models();
        db::configure({{"default", pg.settings()}});
        migrate();
        for (int c = 0; c < mp::counters; ++c) {
            Counter::objects().create({.name = "c" + std::to_string(c), .value = 0});
        }
    }
    void TearDown() override {
        db::close_all();
        db::configure({});
    }

    test_support::PgDatabase pg;
};

struct Tally {
    long created = 0;
    long removed = 0;
    long retries = 0;
    std::array<long, mp::counters> increments{};
};

Tally parse_tally(const std::string& line) {
    Tally t;
    std::istringstream in(line);
    std::string word;
    in >> word >> t.created >> word >> t.removed >> word >> t.retries >> word;
    EXPECT_EQ(word, "increments") << line;
    for (auto& n : t.increments) {
        in >> n;
    }
    return t;
}

TEST_F(ManyProcessesTest, FourProcessesOfFourThreadsKeepEveryCountExact) {
    constexpr int processes = 4;
    constexpr int threads = 4;
    constexpr int iterations = 24;
    std::vector<std::unique_ptr<Process>> workers;
    for (int w = 0; w < processes; ++w) {
        auto args = worker_args("mix", pg.settings());
        args.insert(args.end(),
                    {std::to_string(w), std::to_string(threads), std::to_string(iterations)});
        workers.push_back(std::make_unique<Process>(args));
    }
    Tally total;
    for (auto& w : workers) {
        const auto line = w->read_line(std::chrono::seconds(120));
        ASSERT_TRUE(line.has_value()) << "a worker printed nothing";
        const Tally t = parse_tally(*line);
        total.created += t.created;
        total.removed += t.removed;
        total.retries += t.retries;
        for (std::size_t c = 0; c < t.increments.size(); ++c) {
            total.increments[c] += t.increments[c];
        }
        EXPECT_EQ(w->wait(), 0) << "a worker failed (its errors are on stderr)";
    }
    const long per_worker = static_cast<long>(threads) * iterations;
    EXPECT_EQ(total.created, processes * per_worker);
    EXPECT_EQ(total.removed, processes * per_worker / 2);

    // Nothing lost, nothing half-written.
    EXPECT_EQ(Parent::objects().count(), static_cast<std::size_t>(total.created - total.removed));
    EXPECT_EQ(Child::objects().count(),
              static_cast<std::size_t>((total.created - total.removed) * mp::children_per_parent));
    EXPECT_EQ(inconsistent_parents(), 0);
    // Every increment made under select_for_update() is there: none lost to a race.
    long increments = 0;
    for (int c = 0; c < mp::counters; ++c) {
        const Counter counter =
            Counter::objects().get(where(&Counter::name) == "c" + std::to_string(c));
        EXPECT_EQ(counter.value, total.increments[static_cast<std::size_t>(c)]) << counter.name;
        increments += counter.value;
    }
    EXPECT_EQ(increments, processes * per_worker);
    RecordProperty("retries", static_cast<int>(total.retries));
}

TEST_F(ManyProcessesTest, KillNineOfAWriterMidTransactionLeavesNothingHalfWritten) {
    // A writer stopped for sure between two writes of one transaction.
    {
        auto args = worker_args("hold", pg.settings());
        args.push_back("held");
        Process holder(args);
        ASSERT_EQ(holder.read_line(std::chrono::seconds(60)), std::optional<std::string>("mid"));
        holder.kill();
        EXPECT_EQ(holder.wait(), -SIGKILL);
    }
    EXPECT_EQ(Parent::objects().filter(where(&Parent::name) == "held").count(), 0U);
    EXPECT_EQ(Child::objects().count(), 0U);

    // Writers killed wherever they are, while another keeps writing.
    auto args = worker_args("mix", pg.settings());
    auto victim_args = args;
    victim_args.insert(victim_args.end(), {"1", "4", "1000"});
    args.insert(args.end(), {"2", "2", "10"});
    Process victim(victim_args);
    Process survivor(args);
    for (int i = 0; i < 200 && Parent::objects().count() < 20; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    victim.kill();
    EXPECT_EQ(victim.wait(), -SIGKILL);
    ASSERT_TRUE(survivor.read_line(std::chrono::seconds(120)).has_value());
    EXPECT_EQ(survivor.wait(), 0);
    EXPECT_GT(Parent::objects().count(), 0U);
    EXPECT_EQ(inconsistent_parents(), 0);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM \"mp_child\" WHERE \"parent_id\" NOT IN (SELECT "
                     "\"id\" FROM \"mp_parent\")"),
              0);
}

/// Locks counter @p first, waits for the other thread, then locks @p second.
void lock_two(const std::string& first, const std::string& second, std::latch& both_locked) {
    atomic([&] {
        (void)Counter::objects().select_for_update().get(where(&Counter::name) == first);
        both_locked.arrive_and_wait();
        (void)Counter::objects().select_for_update().get(where(&Counter::name) == second);
    });
}

TEST_F(ManyProcessesTest, ADeadlockIsReportedAsAnOperationalErrorThatMayBeRetried) {
    db::Settings fast = pg.settings();
    fast.options["options"] = "-c deadlock_timeout=50ms";
    db::configure({{"default", fast}});
    std::latch both_locked(2);
    std::mutex mutex;
    std::vector<std::string> errors;
    auto run = [&](const char* a, const char* b) {
        try {
            lock_two(a, b, both_locked);
        } catch (const db::OperationalError& e) {
            const std::lock_guard<std::mutex> lock(mutex);
            errors.emplace_back(e.what());
        }
        db::close_all();
    };
    std::thread one(run, "c0", "c1");
    std::thread two(run, "c1", "c0");
    one.join();
    two.join();
    ASSERT_EQ(errors.size(), 1U) << "exactly one of the two transactions is chosen as the victim";
    EXPECT_NE(errors[0].find("deadlock detected"), std::string::npos) << errors[0];
    EXPECT_NE(errors[0].find("may be retried"), std::string::npos) << errors[0];
}

TEST_F(ManyProcessesTest, ASerializationFailureIsReportedAsAnOperationalErrorThatMayBeRetried) {
    db::Settings serializable = pg.settings();
    serializable.options["options"] = "-c default_transaction_isolation=serializable";
    db::configure({{"default", serializable}});
    std::latch both_read(2);
    std::mutex mutex;
    std::vector<std::string> errors;
    auto increment = [&](bool wait) {
        atomic([&] {
            Counter c = Counter::objects().get(where(&Counter::name) == "c0");
            if (wait) {
                both_read.arrive_and_wait();
            }
            c.value += 1;
            c.save({.update_fields = {"value"}});
        });
    };
    auto run = [&] {
        try {
            increment(true);
        } catch (const db::OperationalError& e) {
            {
                const std::lock_guard<std::mutex> lock(mutex);
                errors.emplace_back(e.what());
            }
            increment(false);  // what the message invites
        }
        db::close_all();
    };
    std::thread one(run);
    std::thread two(run);
    one.join();
    two.join();
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_NE(errors[0].find("serialization failure"), std::string::npos) << errors[0];
    EXPECT_NE(errors[0].find("may be retried"), std::string::npos) << errors[0];
    EXPECT_EQ(Counter::objects().get(where(&Counter::name) == "c0").value, 2);
}

TEST(ServerRestart, MidRunGivesConnectionLostErrorsAndTheNextTransactionSucceeds) {
    if (!test_support::pg_cluster_settings()) {
        if (test_support::pg_skip_allowed()) {
            GTEST_SKIP() << "no PostgreSQL (TOCSIN_SKIP_POSTGRESQL=1)";
        }
    }
    test_support::OwnPgCluster cluster;  // a restart would disturb the run's shared cluster
    ASSERT_TRUE(cluster.started()) << "cannot start a PostgreSQL cluster of the test's own";
    mp::build_models();
    db::configure({{"default", cluster.settings()}});
    migrate();

    // The main thread: a transaction open across the restart, and an idle connection.
    std::atomic<bool> stop{false};
    std::atomic<bool> restarted{false};
    std::mutex mutex;
    std::vector<std::string> unexpected;  // errors that do not say what happened
    std::atomic<int> lost{0};
    std::array<std::atomic<int>, 4> after{};  // transactions committed after the restart
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t) {
        writers.emplace_back([&, t] {
            for (int i = 0; !stop; ++i) {
                const bool was_restarted = restarted;
                try {
                    atomic([&] {
                        Parent p = Parent::objects().create(
                            {.name = "t" + std::to_string(t) + "i" + std::to_string(i)});
                        for (int n = 0; n < mp::children_per_parent; ++n) {
                            Child::objects().create({.parent = p, .n = n});
                        }
                    });
                    if (was_restarted) {
                        ++after[static_cast<std::size_t>(t)];
                    }
                } catch (const db::OperationalError& e) {
                    const std::string what = e.what();
                    if (what.find("was lost") != std::string::npos) {
                        ++lost;
                    } else if (what.find("cannot connect") == std::string::npos &&
                               what.find("shutting down") == std::string::npos &&
                               what.find("starting up") == std::string::npos) {
                        const std::lock_guard<std::mutex> lock(mutex);
                        unexpected.push_back(what);
                    }
                    std::this_thread::sleep_for(std::chrono::milliseconds(20));
                } catch (const std::exception& e) {
                    const std::lock_guard<std::mutex> lock(mutex);
                    unexpected.emplace_back(e.what());
                }
            }
            db::close_all();
        });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));

    // A thread whose connection is idle across the restart: its next statement (autocommit)
    // may report the loss once, and the one after it runs on a new connection.
    std::optional<std::string> idle_error;
    bool idle_then_ok = false;
    std::atomic<bool> idle_connected{false};
    std::thread idle([&] {
        (void)Parent::objects().count();
        idle_connected = true;
        while (!restarted) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        try {
            (void)Parent::objects().count();
        } catch (const db::OperationalError& e) {
            idle_error = e.what();
        }
        try {
            (void)Parent::objects().count();
            idle_then_ok = true;
        } catch (const std::exception& e) {
            idle_error = std::string("again: ") + e.what();
        }
        db::close_all();
    });

    // The idle thread's connection must exist before the restart (under TSan a thread starts
    // slowly enough for the restart to come first).
    while (!idle_connected) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }

    // The main thread: a transaction open across the restart.
    std::optional<std::string> in_block;
    try {
        atomic([&] {
            const Parent p = Parent::objects().create({.name = "open across the restart"});
            EXPECT_TRUE(cluster.restart());
            Child::objects().create({.parent = p, .n = 0});
        });
    } catch (const db::OperationalError& e) {
        in_block = e.what();
    }
    restarted = true;
    ASSERT_TRUE(in_block.has_value()) << "a statement after the restart did not fail";
    EXPECT_NE(in_block->find("was lost"), std::string::npos) << *in_block;
    // The next transaction succeeds, on a new connection; the one open across the restart left
    // nothing.
    atomic([&] {
        const Parent p = Parent::objects().create({.name = "after the restart"});
        for (int n = 0; n < mp::children_per_parent; ++n) {
            Child::objects().create({.parent = p, .n = n});
        }
    });
    EXPECT_EQ(Parent::objects().filter(where(&Parent::name) == "open across the restart").count(),
              0U);

    for (int i = 0; i < 250; ++i) {
        bool all = true;
        for (const auto& n : after) {
            all = all && n > 0;
        }
        if (all) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop = true;
    for (auto& w : writers) {
        w.join();
    }
    EXPECT_TRUE(unexpected.empty()) << unexpected.front();
    for (std::size_t t = 0; t < after.size(); ++t) {
        EXPECT_GT(after[t].load(), 0) << "writer " << t << " never committed after the restart";
    }
    idle.join();
    EXPECT_TRUE(idle_then_ok) << idle_error.value_or("");
    if (idle_error) {
        EXPECT_NE(idle_error->find("was lost"), std::string::npos) << *idle_error;
    }
    EXPECT_EQ(inconsistent_parents(), 0);
    RecordProperty("lost", lost.load());
    db::close_all();
    db::configure({});
}

}  // namespace multiprocess_test
}  // namespace
}  // namespace tocsin::test
