// Crash tests with real processes (crash_worker.cpp, running `manage worker`): a worker killed
// with SIGKILL in the middle of a batch, 4 workers on one queue, a receiver that fails twice then
// succeeds and one that always fails. Every event's effect is applied exactly once (the Effect's
// unique key would refuse a second one), none is lost, and only the receiver that always fails
// leaves dead rows. Workers stop gracefully on SIGTERM (exit 0, "Stopped: ..." printed).
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../support/own_pg_cluster.hpp"
#include "../support/postgresql.hpp"
#include "remote_support.hpp"

extern char** environ;

#ifndef TOCSIN_REMOTE_CRASH_WORKER
#define TOCSIN_REMOTE_CRASH_WORKER ""
#endif

namespace tocsin::test::remote_test {
namespace {
namespace crash_test {

using namespace std::chrono_literals;

/// A child process with its standard output on a pipe; killed when it goes.
class Process {
  public:
    Process(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
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
        std::vector<std::string> environment(env);
        for (char** e = environ; *e != nullptr; ++e) {
            environment.emplace_back(*e);
        }
        std::vector<char*> envp;
        for (auto& e : environment) {
            envp.push_back(e.data());
        }
        envp.push_back(nullptr);
        const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
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
        ::close(out_);
    }
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    /// The next line of its output, or nullopt at its end or after @p timeout.
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
    void signal(int sig) const { ::kill(pid_, sig); }
    /// Its exit status, or -signal.
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

/// What a worker printed when it stopped.
struct Stopped {
    long claimed = -1;
    long done = -1;
    long failed = -1;
    long dead = -1;
    long skipped = -1;
    long lost = -1;
};

class CrashTest : public RemoteTest {
  protected:
    void SetUp() override {
        RemoteTest::SetUp();
        settings_ = db::configuration().at("default");
        connections = connect_crash_receivers();
    }

    /// A worker process running `manage worker` with @p arguments; waits until it started.
    std::unique_ptr<Process> start_worker(const std::vector<std::string>& arguments,
                                          const std::vector<std::string>& env = {}) {
        const auto opt = settings_.options.find("options");
        std::vector<std::string> args{TOCSIN_REMOTE_CRASH_WORKER,
                                      settings_.engine,
                                      settings_.name,
                                      settings_.host.empty() ? "-" : settings_.host,
                                      std::to_string(settings_.port),
                                      settings_.user.empty() ? "-" : settings_.user,
                                      opt == settings_.options.end() ? "-" : opt->second,
                                      "worker",
                                      "--poll-interval",
                                      "20"};
        args.insert(args.end(), arguments.begin(), arguments.end());
        auto p = std::make_unique<Process>(args, env);
        const auto line = p->read_line(30s);
        EXPECT_TRUE(line && line->rfind("Worker ", 0) == 0) << line.value_or("(nothing)");
        return p;
    }

    /// Sends SIGTERM and reads its "Stopped: ..." line; expects exit status 0.
    static Stopped stop(Process& p) {
        p.signal(SIGTERM);
        Stopped s;
        while (const auto line = p.read_line(60s)) {
            if (line->rfind("Stopped:", 0) == 0) {
                std::string text = *line;
                for (char& c : text) {
                    c = c == ',' ? ' ' : c;
                }
                std::istringstream in(text);
                std::string w;
                in >> w >> w >> s.claimed >> w >> s.done >> w >> s.failed >> w >> s.dead >> w >>
                    s.skipped >> w >> s.lost;
            }
        }
        EXPECT_EQ(p.wait(), 0);
        return s;
    }

    /// @p items Items saved in transactions of 100.
    static void produce(int items) {
        for (int done = 0; done < items;) {
            tocsin::atomic([&] {
                for (int i = 0; i < 100 && done < items; ++i, ++done) {
                    Item::objects().create({.name = "item" + std::to_string(done)});
                }
            });
        }
    }

    /// The events of the outbox rows matching @p where (a transaction's sends to a receiver
    /// are one packed row).
    static std::int64_t count(const std::string& where) {
        return scalar("SELECT COALESCE(SUM(events), 0) FROM tocsin_outbox WHERE " + where);
    }

    /// Waits until @p done holds (60 s at most).
    template <class F>
    static bool wait_for(F done) {
        const auto deadline = std::chrono::steady_clock::now() + 120s;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) {
                return false;
            }
            std::this_thread::sleep_for(20ms);
        }
        return true;
    }

    /// `pg_ctl restart` while a worker (`--lock-claims` when @p lock_claims) is in the middle of
    /// its third batch of 50: every event applied once; the broken batch is claimed again after
    /// the visibility timeout (2 s), or with lock claims at once (the timeout is an hour here)
    /// and without an attempt counted.
    void restart_mid_run(bool lock_claims) {
        if (!test_support::testing_postgresql()) {
            GTEST_SKIP() << "PostgreSQL only (a server restart)";
        }
        test_support::OwnPgCluster cluster;  // a restart would disturb the run's shared cluster
        ASSERT_TRUE(cluster.started());
        connections.clear();
        remote::detail::clear_receivers();
        setup_outbox_app(cluster.settings());
        connections = connect_crash_receivers();
        settings_ = cluster.settings();

        constexpr int events = 600;
        produce(events);
        std::vector<std::string> arguments{"--queue",
                                           "apply",
                                           "--batch-size",
                                           "50",
                                           "--visibility-timeout",
                                           lock_claims ? "3600" : "2"};
        if (lock_claims) {
            arguments.emplace_back("--lock-claims");
        }
        auto worker = start_worker(arguments, {"TOCSIN_REMOTE_TEST_SLEEP_US=1000"});
        for (int applying = 0; applying < 120;) {  // inside its third batch
            const auto line = worker->read_line(30s);
            ASSERT_TRUE(line) << "the worker stopped after " << applying << " events";
            applying += line->rfind("applying ", 0) == 0 ? 1 : 0;
        }
        ASSERT_TRUE(cluster.restart());
        // This process's connection was lost too: its next statement says so once, then reconnects.
        const auto done = [] {
            try {
                return count("receiver = 'crash.apply' AND status = 'done'");
            } catch (const db::OperationalError&) {
                return std::int64_t{-1};
            }
        };
        ASSERT_TRUE(wait_for([&] { return done() == events; })) << done() << " done";
        const Stopped s = stop(*worker);  // the worker carried on: exit 0
        EXPECT_EQ(s.lost, 0);
        EXPECT_EQ(scalar("SELECT COUNT(*) FROM outboxtest_effect WHERE key LIKE 'apply:%'"),
                  events);
        EXPECT_EQ(count("receiver = 'crash.apply' AND last_error IS NOT NULL"), 0);
        if (lock_claims) {
            EXPECT_EQ(count("receiver = 'crash.apply' AND attempts = 1"), events);
        } else {
            // The batch the restart broke was claimed again after its visibility timeout.
            EXPECT_GT(count("receiver = 'crash.apply' AND attempts = 2"), 0);
        }
        db::close_all();
    }

    /// 4 worker processes (`--lock-claims` when @p lock_claims) run an ordered receiver: each
    /// instance's effects commit in the order of its events.
    void four_workers_in_commit_order(bool lock_claims) {
        connections.clear();  // only the ordered receiver: its rows, its queue
        connections.push_back(connect_ordered_receiver());
        constexpr int items = 10;
        constexpr int saves = 30;
        std::vector<Item> all;
        tocsin::atomic([&] {
            for (int i = 0; i < items; ++i) {
                all.push_back(Item::objects().create({.name = "item" + std::to_string(i)}));
            }
        });
        for (int round = 1; round < saves; ++round) {
            tocsin::atomic([&] {
                for (Item& item : all) {
                    item.n = round;
                    item.save({.update_fields = {&Item::n}});
                }
            });
        }
        std::vector<std::unique_ptr<Process>> workers;
        for (int i = 0; i < 4; ++i) {
            std::vector<std::string> arguments{"--queue", "ordered", "--batch-size", "4"};
            if (lock_claims) {
                arguments.emplace_back("--lock-claims");
            }
            workers.push_back(start_worker(arguments));
        }
        ASSERT_TRUE(wait_for([] {
            return count("receiver = 'crash.ordered' AND status = 'done'") == items * saves;
        }));
        for (auto& w : workers) {
            const Stopped s = stop(*w);
            EXPECT_EQ(s.lost, 0);
            EXPECT_EQ(s.failed, 0);
        }
        // Effects in the order they were written (an event of an item is claimed only once the one
        // before it committed): per item, its outbox rows' ids increase.
        std::map<std::string, std::vector<std::int64_t>> order;
        for (const auto& row :
             db::connection().query("SELECT seen_name, key FROM outboxtest_effect "
                                    "WHERE key LIKE 'ordered:%' ORDER BY id")) {
            order[row.at(0).as_text()].push_back(std::stoll(row.at(1).as_text().substr(8)));
        }
        ASSERT_EQ(order.size(), static_cast<std::size_t>(items));
        for (const auto& [item, rows] : order) {
            EXPECT_EQ(rows.size(), static_cast<std::size_t>(saves)) << "item " << item;
            EXPECT_TRUE(std::is_sorted(rows.begin(), rows.end())) << "item " << item;
        }
    }

    db::Settings settings_;
};

TEST_F(CrashTest, AWorkerKilledInTheMiddleOfABatchLosesNothingAndAppliesNothingTwice) {
    constexpr int events = 600;
    produce(events);
    // Each transaction's 100 sends to a receiver are one packed row.
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM tocsin_outbox WHERE receiver = 'crash.apply'"),
              events / 100);
    {
        auto slow =
            start_worker({"--queue", "apply", "--batch-size", "50", "--visibility-timeout", "2"},
                         {"TOCSIN_REMOTE_TEST_SLEEP_US=2000"});
        // Its receiver prints "applying <id>" before each event: the 120th is the 20th of its
        // second batch (one packed row of 100: a claim takes whole rows), which commits after
        // the 100th.
        for (int applying = 0; applying < 120;) {
            const auto line = slow->read_line(30s);
            ASSERT_TRUE(line) << "the worker stopped after " << applying << " events";
            applying += line->rfind("applying ", 0) == 0 ? 1 : 0;
        }
        slow->signal(SIGKILL);  // in the middle of its third batch
        EXPECT_EQ(slow->wait(), -SIGKILL);
        // The two batches it committed are there; nothing of the third.
        EXPECT_EQ(scalar("SELECT COUNT(*) FROM outboxtest_effect WHERE key LIKE 'apply:%'"), 100);
        EXPECT_EQ(count("receiver = 'crash.apply' AND status = 'done'"), 100);
    }
    auto worker = start_worker({"--queue", "apply", "--visibility-timeout", "2"});
    ASSERT_TRUE(wait_for([] {
        return count("receiver = 'crash.apply' AND status = 'done'") == events;
    })) << count("receiver = 'crash.apply' AND status = 'done'")
        << " done";
    const Stopped s = stop(*worker);
    EXPECT_EQ(s.lost, 0);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM outboxtest_effect WHERE key LIKE 'apply:%'"), events);
    EXPECT_EQ(count("receiver = 'crash.apply' AND last_error IS NOT NULL"), 0);
    // The killed worker's last batch was claimed again after its visibility timeout.
    EXPECT_GT(count("receiver = 'crash.apply' AND attempts = 2"), 0);
    // The other queues were not served.
    EXPECT_EQ(count("receiver <> 'crash.apply' AND status = 'pending' AND attempts = 0"),
              2 * events);
}

TEST_F(CrashTest, WithLockClaimsAKilledWorkersBatchIsFreeAtOnceAndAppliedOnce) {
    // PostgreSQL: the killed worker's locks go with its connection, so its batch is claimed again
    // without waiting for the visibility timeout (an hour here: a lease would hold the batch past
    // the test's two minutes), and the interrupted batch counts no attempt. SQLite claims with a
    // lease either way (a short visibility timeout, its attempts counted).
    const bool pg = test_support::testing_postgresql();
    const std::string timeout = pg ? "3600" : "2";
    constexpr int events = 300;
    produce(events);
    {
        auto slow = start_worker({"--queue", "apply", "--batch-size", "50", "--lock-claims",
                                  "--visibility-timeout", timeout},
                                 {"TOCSIN_REMOTE_TEST_SLEEP_US=2000"});
        for (int applying = 0; applying < 120;) {  // the 20th event of its third batch
            const auto line = slow->read_line(30s);
            ASSERT_TRUE(line) << "the worker stopped after " << applying << " events";
            applying += line->rfind("applying ", 0) == 0 ? 1 : 0;
        }
        slow->signal(SIGKILL);
        EXPECT_EQ(slow->wait(), -SIGKILL);
        EXPECT_EQ(scalar("SELECT COUNT(*) FROM outboxtest_effect WHERE key LIKE 'apply:%'"), 100);
        EXPECT_EQ(count("receiver = 'crash.apply' AND status = 'done'"), 100);
        if (pg) {
            EXPECT_EQ(count("receiver = 'crash.apply' AND (locked_by IS NOT NULL OR attempts <> "
                            "0) AND status = 'pending'"),
                      0);  // nothing written by the interrupted claim
        }
    }
    std::vector<std::unique_ptr<Process>> workers;
    for (int i = 0; i < 2; ++i) {
        workers.push_back(start_worker({"--queue", "apply", "--batch-size", "20", "--lock-claims",
                                        "--visibility-timeout", timeout}));
    }
    ASSERT_TRUE(wait_for([] {
        return count("receiver = 'crash.apply' AND status = 'done'") == events;
    })) << count("receiver = 'crash.apply' AND status = 'done'")
        << " done";
    for (auto& w : workers) {
        const Stopped s = stop(*w);
        EXPECT_EQ(s.lost, 0);
        EXPECT_EQ(s.failed, 0);
    }
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM outboxtest_effect WHERE key LIKE 'apply:%'"), events);
    if (pg) {
        EXPECT_EQ(count("receiver = 'crash.apply' AND attempts = 1"), events);
    } else {
        EXPECT_GT(count("receiver = 'crash.apply' AND attempts = 2"), 0);
        EXPECT_EQ(count("receiver = 'crash.apply' AND attempts IN (1, 2)"), events);
    }
}

TEST_F(CrashTest, AWorkerKilledInTheMiddleOfABatchReceiversCallCommitsNothingOfThatBatch) {
    constexpr int events = 300;
    for (int sent = 0; sent < events;) {
        tocsin::atomic([&] {
            for (int i = 0; i < 100; ++i, ++sent) {
                crash_ticket().send(Sender{}, "t" + std::to_string(sent));
            }
        });
    }
    const auto done = [] { return count("receiver = 'crash.batch' AND status = 'done'"); };
    const auto applied = [] {
        return scalar("SELECT COUNT(*) FROM outboxtest_effect WHERE key LIKE 'batch:%'");
    };
    {
        auto slow =
            start_worker({"--queue", "batch", "--batch-size", "50", "--visibility-timeout", "2"},
                         {"TOCSIN_REMOTE_TEST_SLEEP_US=10000"});
        // "batch of <n>" is printed once the batch's effects are written: at the third, the first
        // two batches committed and the third is in the middle of its transaction. Each
        // transaction's 100 sends are one packed row, claimed whole: batches of 100 events.
        for (int batches = 0; batches < 3;) {
            const auto line = slow->read_line(30s);
            ASSERT_TRUE(line) << "the worker stopped after " << batches << " batches";
            batches += line->rfind("batch of ", 0) == 0 ? 1 : 0;
        }
        slow->signal(SIGKILL);
        EXPECT_EQ(slow->wait(), -SIGKILL);
        EXPECT_EQ(applied(), 200);
        EXPECT_EQ(done(), 200);
    }
    auto worker = start_worker({"--queue", "batch", "--visibility-timeout", "2"});
    ASSERT_TRUE(wait_for([&] { return done() == events; })) << done() << " done";
    const Stopped s = stop(*worker);
    EXPECT_EQ(s.lost, 0);
    EXPECT_EQ(s.failed, 0);
    EXPECT_EQ(applied(), events);  // each once: the key is unique
    // The killed worker's third batch was claimed again after its visibility timeout, and its
    // effects carry the second attempt.
    EXPECT_EQ(count("receiver = 'crash.batch' AND attempts = 2"), 100);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM outboxtest_effect WHERE key LIKE 'batch:%' AND "
                     "attempt = 2"),
              100);
}

TEST_F(CrashTest, FourWorkersOnOneQueueApplyEveryEventOnce) {
    constexpr int events = 1000;
    produce(events);
    std::vector<std::unique_ptr<Process>> workers;
    for (int i = 0; i < 4; ++i) {
        workers.push_back(start_worker({"--queue", "apply", "--batch-size", "20"}));
    }
    ASSERT_TRUE(
        wait_for([] { return count("receiver = 'crash.apply' AND status = 'done'") == events; }));
    long done = 0;
    for (auto& w : workers) {
        const Stopped s = stop(*w);
        EXPECT_EQ(s.lost, 0);
        EXPECT_EQ(s.failed, 0);
        done += s.done;
    }
    EXPECT_EQ(done, events);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM outboxtest_effect WHERE key LIKE 'apply:%'"), events);
    EXPECT_EQ(count("receiver = 'crash.apply' AND attempts <> 1"), 0);
}

TEST_F(CrashTest, FourWorkersRunTheEventsOfEachInstanceInCommitOrder) {
    four_workers_in_commit_order(false);
}

TEST_F(CrashTest, WithLockClaimsFourWorkersRunTheEventsOfEachInstanceInCommitOrder) {
    four_workers_in_commit_order(true);
}

TEST_F(CrashTest, AReceiverThatFailsTwiceSucceedsAndOnlyTheOneThatAlwaysFailsIsDead) {
    constexpr int events = 30;
    produce(events);
    auto a = start_worker({"--queue", "flaky,broken"});
    auto b = start_worker({"--queue", "flaky,broken", "--concurrency", "2"});
    ASSERT_TRUE(wait_for([] {
        return count("receiver = 'crash.flaky' AND status = 'done'") == events &&
               count("receiver = 'crash.broken' AND status = 'dead'") == events;
    }));
    stop(*a);
    stop(*b);
    EXPECT_EQ(count("receiver = 'crash.flaky' AND attempts = 3"), events);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM outboxtest_effect WHERE key LIKE 'flaky:%' AND "
                     "attempt = 3"),
              events);
    EXPECT_EQ(count("receiver = 'crash.broken' AND attempts = 3 AND last_error = 'broken "
                    "receiver'"),
              events);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM outboxtest_effect WHERE key LIKE 'broken:%'"), 0);
    EXPECT_EQ(count("status = 'dead' AND receiver <> 'crash.broken'"), 0);
}

TEST_F(CrashTest, APostgresqlRestartInTheMiddleOfARunLosesNothingAndAppliesNothingTwice) {
    restart_mid_run(false);
}

TEST_F(CrashTest, WithLockClaimsAPostgresqlRestartInTheMiddleOfARunLosesNothingNorCountsAnAttempt) {
    restart_mid_run(true);
}

}  // namespace crash_test
}  // namespace
}  // namespace tocsin::test::remote_test
