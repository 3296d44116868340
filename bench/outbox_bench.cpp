// outbox_bench: remote receivers end to end, on PostgreSQL and SQLite side by side.
//
//   throughput  N events produced in transactions of 100 (an Item saved; its post_save has one
//               remote receiver, so each save also writes an outbox row), then consumed by a
//               Worker with 1, then 2 threads (each its own connection); the receiver applies a
//               one-row effect (an Effect insert) in the transaction that marks the row done.
//               Reported: produce events/s, consume events/s per worker count, end to end
//               (N / (produce + consume time)).
//   latency     a worker waits (PostgreSQL: LISTEN; SQLite: polling every --sqlite-poll ms);
//               events are sent one per transaction at --rate per second; for each, the time
//               from just before its COMMIT to the start of its receiver. Reported: p50, p99.
//
//   outbox_bench [--url=postgresql://...] [--engines=postgresql,sqlite] [--events=N]
//                [--rounds=R] [--rate=EVENTS_PER_S] [--latency-events=N] [--sqlite-poll=MS]
//                [--batch=N] [--celery[=PYTHON]] [--celery-events=N]
// --celery also runs bench/celery_outbox.py (Celery 5.2 + Redis, Django's on_commit(task.delay))
// on the same PostgreSQL database, with 1 and 2 worker processes, and prints tocsin's end-to-end
// rate over Celery's.
// Without --url it starts a throw-away cluster (tests/support/pg_cluster.sh: fsync off,
// synchronous_commit off, on a Unix socket) and removes it at the end. Exits 1 when an event
// was lost or applied twice, 2 on bad options.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <tocsin/models.hpp>
#include <tocsin/remote.hpp>
#include <vector>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace bench {

struct Item : tocsin::Model<Item> {
    static constexpr std::string_view label = "bench.Item";
    std::int64_t seq = 0;
    static auto fields() { return tocsin::fields(tocsin::field("seq", &Item::seq)); }
};
struct Effect : tocsin::Model<Effect> {
    static constexpr std::string_view label = "bench.Effect";
    std::int64_t item = 0;
    static auto fields() {
        return tocsin::fields(tocsin::field("item", &Effect::item, {.unique = true}));
    }
};
class BenchConfig : public tocsin::AppConfig {
  public:
    BenchConfig() : AppConfig("bench") {}
    [[nodiscard]] std::vector<const tocsin::apps::ModelDescription*> models() const override {
        return tocsin::describe<Item, Effect>();
    }
};

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// The latency phase's records: per sequence number, the time before its commit and the time its
/// receiver started (µs since the epoch).
struct Stamps {
    std::mutex mutex;
    std::vector<std::int64_t> committed;
    std::vector<std::int64_t> started;
};
Stamps stamps;
std::atomic<bool> record_start{false};

void apply(Item& item, const tocsin::SaveEvent&) {
    if (record_start.load(std::memory_order_relaxed)) {
        const std::int64_t t = now_us();
        std::lock_guard lock(stamps.mutex);
        stamps.started.at(static_cast<std::size_t>(item.seq)) = t;
    }
    Effect::objects().create({.item = *item.id});
}

}  // namespace bench

namespace {

/// A throw-away cluster (tests/support/pg_cluster.sh), stopped and removed at destruction.
class Cluster {
  public:
    Cluster() {
        std::string dir = (fs::temp_directory_path() / "tocsin-outbox-bench-XXXXXX").string();
        if (::mkdtemp(dir.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        state_ = dir;
        if (std::system(command("start").c_str()) != 0) {
            throw std::runtime_error("cannot start a PostgreSQL cluster");
        }
    }
    ~Cluster() {
        (void)std::system(command("stop").c_str());
        std::error_code ec;
        fs::remove_all(state_, ec);
    }
    Cluster(const Cluster&) = delete;
    Cluster& operator=(const Cluster&) = delete;

    [[nodiscard]] tocsin::db::Settings settings() const {
        std::ifstream in(state_ / "conninfo");
        tocsin::db::Settings s{.engine = "postgresql"};
        std::string word;
        while (in >> word) {
            const auto eq = word.find('=');
            const std::string key = word.substr(0, eq);
            const std::string value = word.substr(eq + 1);
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

  private:
    [[nodiscard]] std::string command(const char* action) const {
        return std::string("bash ") + TOCSIN_PG_CLUSTER_SCRIPT + " " + action + " " +
               state_.string() + " >/dev/null";
    }
    fs::path state_;
};

struct Options {
    std::string url;
    std::vector<std::string> engines{"postgresql", "sqlite"};
    long events = 20000;
    int rounds = 3;
    long rate = 1000;
    long latency_events = 2000;
    long sqlite_poll_ms = 5;
    int batch = 100;
    std::string python;  // --celery[=PYTHON]
    long celery_events = 5000;
} options;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::int64_t scalar(const std::string& sql) {
    return tocsin::db::connection().query_value(sql)->as_integer();
}

void wipe() {
    auto& db = tocsin::db::connection();
    db.execute_script(
        "DELETE FROM tocsin_outbox; DELETE FROM bench_effect; DELETE FROM bench_item");
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

/// Saves @p n Items in transactions of 100.
void produce(long n) {
    for (long done = 0; done < n;) {
        tocsin::atomic([&] {
            for (int i = 0; i < 100 && done < n; ++i, ++done) {
                bench::Item::objects().create({.seq = done});
            }
        });
    }
}

/// Runs a worker with @p threads threads until @p n rows are done; seconds taken.
double consume(long n, int threads, std::chrono::milliseconds poll) {
    tocsin::remote::Worker worker(
        {.concurrency = threads, .batch_size = options.batch, .poll_interval = poll});
    const auto start = Clock::now();
    std::thread runner([&] { worker.run(); });
    while (worker.stats().done < static_cast<std::uint64_t>(n)) {  // no query: no load added
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        if (seconds_since(start) > 600) {
            break;
        }
    }
    const double took = seconds_since(start);
    worker.stop();
    runner.join();
    return took;
}

bool check(long n, const char* what) {
    const auto effects = scalar("SELECT COUNT(*) FROM bench_effect");
    const auto done = scalar("SELECT COUNT(*) FROM tocsin_outbox WHERE status = 'done'");
    if (effects != n || done != n) {
        std::fprintf(stderr, "%s: %lld effects and %lld rows done for %ld events\n", what,
                     static_cast<long long>(effects), static_cast<long long>(done), n);
        return false;
    }
    return true;
}

/// Runs bench/celery_outbox.py on the same database; its end-to-end events/s, 0 when it failed.
double run_celery(const tocsin::db::Settings& settings, int workers) {
    const std::string command = options.python + " " + TOCSIN_CELERY_SCRIPT + " --host '" +
                                settings.host + "' --port " + std::to_string(settings.port) +
                                " --user '" + settings.user + "' --dbname '" + settings.name +
                                "' -n " + std::to_string(options.celery_events) + " -w " +
                                std::to_string(workers) + " -r " + std::to_string(options.rounds);
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
        return 0;
    }
    double rate = 0;
    char line[512];
    while (std::fgets(line, sizeof line, pipe) != nullptr) {
        const std::string text = line;
        if (text.rfind("celery:", 0) == 0) {
            const auto at = text.find("end to end ");
            if (at != std::string::npos) {
                rate = std::stod(text.substr(at + 11));
            }
        }
    }
    if (::pclose(pipe) != 0) {
        std::fprintf(stderr, "outbox_bench: %s failed\n", command.c_str());
        return 0;
    }
    return rate;
}

bool run_engine(const std::string& engine, const tocsin::db::Settings& settings) {
    tocsin::Apps::instance().reset();
    tocsin::setup({.installed_apps = {std::make_shared<bench::BenchConfig>()},
                   .databases = {{"default", settings}}});
    tocsin::migrate();
    tocsin::remote::create_outbox();
    wipe();
    const bool pg = engine == "postgresql";
    const std::chrono::milliseconds poll =
        pg ? std::chrono::milliseconds(500) : std::chrono::milliseconds(options.sqlite_poll_ms);
    std::printf("\n== %s (%s)\n", engine.c_str(),
                tocsin::db::connection().backend().display_name().c_str());

    // Warm-up (statements prepared, caches filled), not counted.
    produce(200);
    (void)consume(200, 1, poll);
    wipe();

    std::vector<double> produce_rate;
    std::vector<double> consume_rate[2];
    std::vector<double> end_to_end[2];
    std::vector<double> speedup;
    for (int round = 0; round < options.rounds; ++round) {
        double took[2] = {0, 0};
        double produced = 0;
        for (int threads = 1; threads <= 2; ++threads) {
            const auto start = Clock::now();
            produce(options.events);
            produced = seconds_since(start);
            produce_rate.push_back(static_cast<double>(options.events) / produced);
            took[threads - 1] = consume(options.events, threads, poll);
            if (!check(options.events, "throughput")) {
                return false;
            }
            consume_rate[threads - 1].push_back(static_cast<double>(options.events) /
                                                took[threads - 1]);
            end_to_end[threads - 1].push_back(static_cast<double>(options.events) /
                                              (produced + took[threads - 1]));
            wipe();
        }
        speedup.push_back(took[0] / took[1]);
    }
    std::printf("throughput, %ld events, transactions of 100, batches of %d, median of %d rounds\n",
                options.events, options.batch, options.rounds);
    std::printf("  produce                     %9.0f events/s\n", median(produce_rate));
    for (int t = 0; t < 2; ++t) {
        std::printf("  consume, %d worker thread%s  %9.0f events/s   end to end %9.0f events/s\n",
                    t + 1, t == 0 ? " " : "s", median(consume_rate[t]), median(end_to_end[t]));
    }
    std::printf("  2 workers / 1 worker        %9.2fx\n", median(speedup));

    // End to end with the worker running while the events are produced.
    double running[2] = {0, 0};
    for (int threads = 1; threads <= 2; ++threads) {
        std::vector<double> rates;
        for (int round = 0; round < options.rounds; ++round) {
            tocsin::remote::Worker worker(
                {.concurrency = threads, .batch_size = options.batch, .poll_interval = poll});
            std::thread runner([&] { worker.run(); });
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            const auto start = Clock::now();
            produce(options.events);
            while (worker.stats().done < static_cast<std::uint64_t>(options.events) &&
                   seconds_since(start) < 600) {
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
            const double took = seconds_since(start);
            worker.stop();
            runner.join();
            if (!check(options.events, "end to end")) {
                return false;
            }
            rates.push_back(static_cast<double>(options.events) / took);
            wipe();
        }
        running[threads - 1] = median(rates);
        std::printf("  end to end, worker running, %d thread%s %9.0f events/s\n", threads,
                    threads == 1 ? " " : "s", running[threads - 1]);
    }
    if (pg && !options.python.empty()) {
        for (int workers = 1; workers <= 2; ++workers) {
            const double celery = run_celery(settings, workers);
            if (celery > 0) {
                std::printf(
                    "  Celery 5.2 + Redis, on_commit(task.delay), %d worker process%s: "
                    "%9.0f events/s; tocsin %.1fx\n",
                    workers, workers == 1 ? "" : "es", celery, running[workers - 1] / celery);
            }
        }
    }

    // Latency: one event per transaction at options.rate per second, a waiting worker.
    {
        std::lock_guard lock(bench::stamps.mutex);
        bench::stamps.committed.assign(static_cast<std::size_t>(options.latency_events), 0);
        bench::stamps.started.assign(static_cast<std::size_t>(options.latency_events), 0);
    }
    bench::record_start = true;
    tocsin::remote::Worker worker(
        {.concurrency = 1, .batch_size = options.batch, .poll_interval = poll});
    std::thread runner([&] { worker.run(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const auto period = std::chrono::microseconds(1'000'000 / options.rate);
    auto next = Clock::now();
    for (long i = 0; i < options.latency_events; ++i) {
        std::this_thread::sleep_until(next);
        next += period;
        tocsin::atomic([&] {
            bench::Item::objects().create({.seq = i});
            const std::int64_t t = bench::now_us();
            std::lock_guard lock(bench::stamps.mutex);
            bench::stamps.committed[static_cast<std::size_t>(i)] = t;
        });
    }
    const auto start = Clock::now();
    while (worker.stats().done < static_cast<std::uint64_t>(options.latency_events) &&
           seconds_since(start) < 60) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    worker.stop();
    runner.join();
    bench::record_start = false;
    if (!check(options.latency_events, "latency")) {
        return false;
    }
    std::vector<double> latency;
    {
        std::lock_guard lock(bench::stamps.mutex);
        for (std::size_t i = 0; i < bench::stamps.started.size(); ++i) {
            latency.push_back(
                static_cast<double>(bench::stamps.started[i] - bench::stamps.committed[i]) /
                1000.0);
        }
    }
    std::sort(latency.begin(), latency.end());
    const auto at = [&](double q) {
        return latency[std::min(latency.size() - 1,
                                static_cast<std::size_t>(q * static_cast<double>(latency.size())))];
    };
    std::printf("latency, %ld events at %ld/s, one per transaction%s\n", options.latency_events,
                options.rate, pg ? " (LISTEN/NOTIFY)" : "");
    if (!pg) {
        std::printf("  (SQLite polls every %ld ms)\n", options.sqlite_poll_ms);
    }
    std::printf("  commit -> receiver start    p50 %7.2f ms   p99 %7.2f ms   max %7.2f ms\n",
                at(0.50), at(0.99), latency.back());
    wipe();
    return true;
}

bool parse(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        const auto value = [&](std::string_view key, auto& out) {
            if (arg.rfind(key, 0) != 0) {
                return false;
            }
            out = std::stol(std::string(arg.substr(key.size())));
            return true;
        };
        if (arg == "--celery") {
            options.python = "/usr/bin/python3";
        } else if (arg.rfind("--celery=", 0) == 0) {
            options.python = std::string(arg.substr(9));
        } else if (arg.rfind("--url=", 0) == 0) {
            options.url = std::string(arg.substr(6));
        } else if (arg.rfind("--engines=", 0) == 0) {
            options.engines.clear();
            std::stringstream in{std::string(arg.substr(10))};
            std::string e;
            while (std::getline(in, e, ',')) {
                if (e != "postgresql" && e != "sqlite") {
                    return false;
                }
                options.engines.push_back(e);
            }
        } else if (!value("--events=", options.events) && !value("--rounds=", options.rounds) &&
                   !value("--rate=", options.rate) &&
                   !value("--latency-events=", options.latency_events) &&
                   !value("--sqlite-poll=", options.sqlite_poll_ms) &&
                   !value("--batch=", options.batch) &&
                   !value("--celery-events=", options.celery_events)) {
            std::fprintf(stderr, "outbox_bench: unknown option %s\n", argv[i]);
            return false;
        }
    }
    return options.events > 0 && options.rounds > 0 && options.rate > 0 &&
           options.latency_events > 0 && options.batch > 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (!parse(argc, argv)) {
        return 2;
    }
    try {
        const auto connection = tocsin::remote::connect<bench::Item>(
            tocsin::post_save, &bench::apply, {.queue = "bench", .dispatch_uid = "bench.apply"});
        bool ok = true;
        for (const auto& engine : options.engines) {
            if (engine == "postgresql") {
                std::unique_ptr<Cluster> cluster;
                tocsin::db::Settings settings;
                if (options.url.empty()) {
                    cluster = std::make_unique<Cluster>();
                    settings = cluster->settings();
                } else {
                    settings = tocsin::db::parse_database_url(options.url);
                }
                ok = run_engine(engine, settings) && ok;
                tocsin::db::close_all();
            } else {
                std::string dir =
                    (fs::temp_directory_path() / "tocsin-outbox-bench-XXXXXX").string();
                if (::mkdtemp(dir.data()) == nullptr) {
                    throw std::runtime_error("mkdtemp failed");
                }
                ok = run_engine(engine, {.engine = "sqlite", .name = dir + "/bench.db"}) && ok;
                tocsin::db::close_all();
                std::error_code ec;
                fs::remove_all(dir, ec);
            }
        }
        return ok ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "outbox_bench: %s\n", e.what());
        return 1;
    }
}
