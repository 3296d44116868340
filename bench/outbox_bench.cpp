// outbox_bench: remote receivers end to end, on PostgreSQL and SQLite side by side.
//
//   throughput  N events produced in transactions of 100 (an Item saved; its post_save has one
//               remote receiver, so each save also writes an outbox row), then consumed by a
//               Worker with 1, then 2 threads (each its own connection); the receiver applies a
//               one-row effect (an Effect insert) in the transaction that marks the row done.
//               Reported: produce events/s, consume events/s per worker count, end to end
//               (N / (produce + consume time)); the CPU per event of this process and (own
//               cluster only) of the server's processes, from /proc; and the 1-thread consume
//               again with WorkerOptions::preload off (one SELECT per row), for the ratio.
//   custom      the same job without the Item: a custom signal (an argument of a struct type
//               travelling through nlohmann to_json/from_json) sent 100 times per transaction,
//               its remote receiver applying the same one-row effect; produce, consume with 1
//               and 2 threads, CPU per event, and end to end with a 2-thread worker running.
//   batch       the custom job with a batch receiver (remote::connect_batch): the tickets of a
//               second signal, the same one-row effect per event, but the receiver is called once
//               per claimed batch and writes all its effects with one bulk_create (one multi-row
//               INSERT on PostgreSQL); the same figures as custom.
//   latency     a worker waits (PostgreSQL: LISTEN; SQLite: polling every --sqlite-poll ms);
//               events are sent one per transaction at --rate per second; for each, the time
//               from just before its COMMIT to the start of its receiver. Reported: p50, p99.
//
//   outbox_bench [--url=postgresql://...] [--engines=postgresql,sqlite] [--events=N]
//                [--rounds=R] [--rate=EVENTS_PER_S] [--latency-events=N] [--sqlite-poll=MS]
//                [--batch=N] [--celery[=PYTHON]] [--celery-events=N]
//                [--delete-done] [--lock-claims] [--phases=model,custom,batch,running,latency]
//                [--payload-bytes=N] [--pg-compression=pglz|lz4] [--help]
// --phases: all by default; running includes --celery.
// --payload-bytes=N: the tickets of the custom and batch phases carry N bytes of text (their
// `kind`: fields of words and numbers, different for each event, compressible as the JSON of a
// real ticket is) instead of "issued" (the default: an event's JSON is then ≈ 30 bytes); each
// receiver checks the text it got, and a wrong one fails the run as a lost event does.
// --pg-compression: the PostgreSQL outbox's payload column compresses with this method instead of
// the one create_outbox() sets (lz4 where the server has it), by an ALTER TABLE before each
// produce (a worker's run() calls create_outbox(), which sets lz4 back; the consume then times
// that ALTER too, ~1 ms): to compare both with the same program.
// --celery also runs bench/celery_outbox.py (Celery 5.2 + Redis, Django's on_commit(task.delay))
// on the same PostgreSQL database, with 1 and 2 worker processes, and prints tocsin's end-to-end
// rate over Celery's.
// Without --url it starts a throw-away cluster (tests/support/pg_cluster.sh: fsync off,
// synchronous_commit off, on a Unix socket) and removes it at the end. Exits 1 when an event
// was lost, applied twice or changed, 2 on bad options; --help prints the options.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <tocsin/models.hpp>
#include <tocsin/remote.hpp>
#include <vector>

#include "../tests/support/own_pg_cluster.hpp"

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
/// The custom signal's argument: what an application would send instead of saving a row.
struct Ticket {
    std::int64_t seq = 0;
    std::string kind;
};

/// --payload-bytes: each ticket's kind, by sequence number (empty: "issued").
std::vector<std::string> kinds;
/// Tickets whose receiver got a kind other than the one sent.
std::atomic<long> wrong_kinds{0};

/// What ticket @p seq carries.
const std::string& kind_of(std::int64_t seq) {
    static const std::string issued = "issued";
    return kinds.empty() ? issued : kinds.at(static_cast<std::size_t>(seq));
}

/// About @p bytes of text for ticket @p seq: fields of words and numbers, as the JSON of a real
/// ticket (without its quotes, which JSON would escape in a string), the same keys and words
/// recurring, the values drawn from a generator seeded by @p seq (so every event's differs).
std::string ticket_text(std::int64_t seq, long bytes) {
    static constexpr std::array<std::string_view, 16> keys{
        "customer", "status",  "priority", "city",   "amount", "items",    "product",  "channel",
        "agent",    "subject", "created",  "region", "sku",    "quantity", "discount", "note"};
    static constexpr std::array<std::string_view, 32> words{
        "open",    "pending", "closed",  "high",    "low",   "normal",  "Lyon",     "Berlin",
        "Porto",   "Oslo",    "blue",    "widget",  "cable", "adapter", "refund",   "delivery",
        "invoice", "late",    "damaged", "missing", "email", "phone",   "web",      "please",
        "call",    "before",  "the",     "order",   "was",   "not",     "received", "replacement"};
    const auto mix = [](std::uint64_t z) {  // splitmix64's finalizer
        z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31U);
    };
    // Seeded by a hash of seq: the streams of neighbouring tickets share nothing.
    std::uint64_t state = mix(static_cast<std::uint64_t>(seq) + 1);
    const auto next = [&state, &mix](std::uint64_t bound) {
        state += 0x9E3779B97F4A7C15ULL;
        return mix(state) % bound;
    };
    std::string text = "ticket: " + std::to_string(seq);
    for (std::size_t field = 0; text.size() < static_cast<std::size_t>(bytes); ++field) {
        text += ", ";
        text += keys[field % keys.size()];
        text += ": ";
        if (next(2) == 0) {
            text += std::to_string(next(100000));
            if (next(3) == 0) {
                text += '.' + std::to_string(10 + next(90));
            }
        } else {
            for (std::uint64_t w = 0, n = 1 + next(4); w < n; ++w) {
                text += w == 0 ? "" : " ";
                text += words[next(words.size())];
            }
        }
    }
    text.resize(static_cast<std::size_t>(bytes));
    return text;
}
void to_json(nlohmann::json& j, const Ticket& t) {
    j = nlohmann::json{{"seq", t.seq}, {"kind", t.kind}};
}
void from_json(const nlohmann::json& j, Ticket& t) {
    j.at("seq").get_to(t.seq);
    j.at("kind").get_to(t.kind);
}
tocsin::Signal<void(const Ticket&)> ticket_issued{"bench.ticket_issued"};
/// The batch phase's signal: the same tickets, to a batch receiver.
tocsin::Signal<void(const Ticket&)> ticket_batched{"bench.ticket_batched"};

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

/// The custom signal's remote receiver: the same one-row effect.
void apply_ticket(const Ticket& ticket) {
    if (ticket.kind != kind_of(ticket.seq)) {
        ++wrong_kinds;
    }
    Effect::objects().create({.item = ticket.seq});
}

/// The batch receiver: the same one-row effect per event, all of a batch in one statement.
void apply_tickets(std::span<const tocsin::remote::BatchEvent<Ticket>> events) {
    std::vector<Effect> effects(events.size());
    for (std::size_t i = 0; i < events.size(); ++i) {
        const Ticket& ticket = events[i].get<0>();
        if (ticket.kind != kind_of(ticket.seq)) {
            ++wrong_kinds;
        }
        effects[i].item = ticket.seq;
    }
    Effect::objects().bulk_create(effects);
}

}  // namespace bench

namespace {

/// A throw-away cluster (tests/support/own_pg_cluster.hpp): std::runtime_error when it cannot
/// start.
std::unique_ptr<tocsin::test_support::OwnPgCluster> start_cluster() {
    auto cluster = std::make_unique<tocsin::test_support::OwnPgCluster>();
    if (!cluster->started()) {
        throw std::runtime_error("cannot start a PostgreSQL cluster (tests/support/pg_cluster.sh)");
    }
    return cluster;
}

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
    bool delete_done = false;    // --delete-done: WorkerOptions::delete_done
    bool lock_claims = false;    // --lock-claims: WorkerOptions::lock_claims
    long payload_bytes = 0;      // --payload-bytes: 0: the tickets' kind is "issued"
    std::string pg_compression;  // --pg-compression: the payload column's, after create_outbox
    std::vector<std::string> phases{"model", "custom", "batch", "running", "latency"};
    [[nodiscard]] bool runs(std::string_view phase) const {
        return std::find(phases.begin(), phases.end(), phase) != phases.end();
    }
} options;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::int64_t scalar(const std::string& sql) {
    return tocsin::db::connection().query_value(sql)->as_integer();
}

/// --pg-compression: the payload column's method set (again: a worker's run() calls
/// create_outbox(), which sets create_outbox's method back); untimed, before each produce.
void set_pg_compression() {
    auto& db = tocsin::db::connection();
    if (!options.pg_compression.empty() && db.backend().vendor() == "postgresql") {
        db.execute_script("ALTER TABLE tocsin_outbox ALTER COLUMN payload SET COMPRESSION " +
                          options.pg_compression);
    }
}

/// Runs @p worker on a thread of its own, waits @p settle for its start (its create_outbox(),
/// its LISTEN), then sets --pg-compression again (that create_outbox() set its own method back).
std::thread start_worker(tocsin::remote::Worker& worker, std::chrono::milliseconds settle) {
    std::thread runner([&worker] { worker.run(); });
    std::this_thread::sleep_for(settle);
    set_pg_compression();
    return runner;
}

void wipe() {
    auto& db = tocsin::db::connection();
    db.execute_script(
        "DELETE FROM tocsin_outbox; DELETE FROM bench_effect; DELETE FROM bench_item");
    set_pg_compression();
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

/// Sends @p n tickets (the custom signal; @p batched: the batch phase's) in transactions of 100.
void produce_tickets(long n, bool batched = false) {
    auto& signal = batched ? bench::ticket_batched : bench::ticket_issued;
    for (long done = 0; done < n;) {
        tocsin::atomic([&] {
            for (int i = 0; i < 100 && done < n; ++i, ++done) {
                signal.send(tocsin::Sender{}, bench::Ticket{done, bench::kind_of(done)});
            }
        });
    }
}

/// CPU seconds this process used so far (every thread).
double process_cpu() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    const auto seconds = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

/// The postmaster of the bench's own cluster (0: unknown, e.g. with --url).
long server_pid = 0;

/// CPU seconds the live processes of the bench's cluster used so far (the postmaster and its
/// children: the backends serving the connections, the WAL writer...), from /proc; 0 when the
/// server is not the bench's own.
double server_cpu() {
    if (server_pid == 0) {
        return 0;
    }
    long ticks = 0;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        std::ifstream in(entry.path() / "stat");
        std::string stat;
        std::getline(in, stat);
        const auto close = stat.rfind(')');
        if (close == std::string::npos) {
            continue;
        }
        // After "pid (comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt
        // cmajflt utime stime.
        std::istringstream fields(stat.substr(close + 2));
        std::string state;
        long ppid = 0;
        long skip = 0;
        long utime = 0;
        long stime = 0;
        fields >> state >> ppid;
        for (int i = 0; i < 9; ++i) {
            fields >> skip;
        }
        fields >> utime >> stime;
        if (std::stol(name) == server_pid || ppid == server_pid) {
            ticks += utime + stime;
        }
    }
    return static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

/// What a consume phase took: wall seconds, and CPU seconds of the worker's process and of the
/// server (0 for SQLite and --url).
struct Took {
    double wall = 0;
    double client_cpu = 0;
    double server_cpu = 0;
};

/// Runs a worker with @p threads threads until @p n rows are done.
Took consume(long n, int threads, std::chrono::milliseconds poll, bool preload = true) {
    tocsin::remote::Worker worker({.concurrency = threads,
                                   .batch_size = options.batch,
                                   .poll_interval = poll,
                                   .preload = preload,
                                   .delete_done = options.delete_done,
                                   .lock_claims = options.lock_claims});
    const double cpu0 = process_cpu();
    const double server0 = server_cpu();
    const auto start = Clock::now();
    std::thread runner([&] { worker.run(); });
    while (worker.stats().done < static_cast<std::uint64_t>(n)) {  // no query: no load added
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        if (seconds_since(start) > 600) {
            break;
        }
    }
    Took took{seconds_since(start), process_cpu() - cpu0, 0};
    took.server_cpu = server_cpu() - server0;  // before the worker's backends go
    worker.stop();
    runner.join();
    return took;
}

bool check(long n, const char* what) {
    const auto effects = scalar("SELECT COUNT(*) FROM bench_effect");
    // Rows count their events (a transaction's sends to one receiver are one packed row). With
    // --delete-done the rows run are gone: none may be left.
    const auto done =
        options.delete_done
            ? n - scalar("SELECT COALESCE(SUM(events), 0) FROM tocsin_outbox")
            : scalar("SELECT COALESCE(SUM(events), 0) FROM tocsin_outbox WHERE status = 'done'");
    if (effects != n || done != n) {
        std::fprintf(stderr, "%s: %lld effects and %lld events done for %ld events\n", what,
                     static_cast<long long>(effects), static_cast<long long>(done), n);
        return false;
    }
    if (const long wrong = bench::wrong_kinds.exchange(0); wrong != 0) {
        std::fprintf(stderr, "%s: %ld tickets received with another text than was sent\n", what,
                     wrong);
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

/// The custom-signal job: tickets sent 100 per transaction, the same one-row effect; @p batched:
/// to the batch receiver.
bool run_custom(bool pg, std::chrono::milliseconds poll, bool batched = false) {
    const double n = static_cast<double>(options.events);
    std::vector<double> produce_rate;
    std::vector<double> produce_cpu;
    std::vector<double> consume_rate[2];
    std::vector<double> consume_client_cpu[2];
    std::vector<double> consume_server_cpu[2];
    std::vector<double> running;
    for (int round = 0; round < options.rounds; ++round) {
        for (int threads = 1; threads <= 2; ++threads) {
            const double cpu0 = process_cpu() + server_cpu();
            const auto start = Clock::now();
            produce_tickets(options.events, batched);
            produce_rate.push_back(n / seconds_since(start));
            produce_cpu.push_back((process_cpu() + server_cpu() - cpu0) / n * 1e6);
            const Took t = consume(options.events, threads, poll);
            if (!check(options.events, "custom signal")) {
                return false;
            }
            consume_rate[threads - 1].push_back(n / t.wall);
            consume_client_cpu[threads - 1].push_back(t.client_cpu / n * 1e6);
            consume_server_cpu[threads - 1].push_back(t.server_cpu / n * 1e6);
            wipe();
        }
        // End to end, a 2-thread worker running while the tickets are sent.
        tocsin::remote::Worker worker({.concurrency = 2,
                                       .batch_size = options.batch,
                                       .poll_interval = poll,
                                       .delete_done = options.delete_done,
                                       .lock_claims = options.lock_claims});
        std::thread runner = start_worker(worker, std::chrono::milliseconds(100));
        const double cpu0 = process_cpu() + server_cpu();
        const auto start = Clock::now();
        produce_tickets(options.events, batched);
        while (worker.stats().done < static_cast<std::uint64_t>(options.events) &&
               seconds_since(start) < 600) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        const double took = seconds_since(start);
        const double cpu = process_cpu() + server_cpu() - cpu0;
        worker.stop();
        runner.join();
        if (!check(options.events, "custom signal, end to end")) {
            return false;
        }
        running.push_back(n / took);
        std::printf("  (round %d: %s end to end %.0f events/s, CPU %.1f us/event)\n", round + 1,
                    batched ? "batch" : "custom", n / took, cpu / n * 1e6);
        wipe();
    }
    std::printf(
        "%s (Ticket through to_json/from_json), %ld events, 100 per transaction, "
        "batches of %d, median of %d rounds\n",
        batched ? "custom signal, batch receiver (connect_batch)" : "custom signal", options.events,
        options.batch, options.rounds);
    std::printf("  produce                     %9.0f events/s   CPU %6.1f us/event%s\n",
                median(produce_rate), median(produce_cpu), pg ? " (with the server's)" : "");
    for (int t = 0; t < 2; ++t) {
        std::printf(
            "  consume, %d worker thread%s  %9.0f events/s   CPU %6.1f + %6.1f us/event "
            "(worker + server)\n",
            t + 1, t == 0 ? " " : "s", median(consume_rate[t]), median(consume_client_cpu[t]),
            median(consume_server_cpu[t]));
    }
    const double total =
        median(produce_cpu) + median(consume_client_cpu[0]) + median(consume_server_cpu[0]);
    std::printf(
        "  CPU per event, produce + consume (1 thread): %.1f us: %.0f events per "
        "CPU-second\n",
        total, 1e6 / total);
    std::printf("  end to end, worker running, 2 threads %9.0f events/s\n", median(running));
    return true;
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
    if (options.payload_bytes > 0) {
        std::printf("tickets of %ld bytes of text (--payload-bytes)\n", options.payload_bytes);
    }
    if (pg && !options.pg_compression.empty()) {
        std::printf("payload column compressed with %s (--pg-compression)\n",
                    options.pg_compression.c_str());
    }

    // Warm-up (statements prepared, caches filled), not counted.
    produce(200);
    if (pg) {  // the warm-up's rows (100 events each): past the TOAST threshold, compressed
        const auto method = tocsin::db::connection().query_value(
            "SELECT pg_column_compression(payload) FROM tocsin_outbox WHERE "
            "pg_column_compression(payload) IS NOT NULL LIMIT 1");
        std::printf("payloads compressed with %s\n",
                    method && !method->is_null() ? method->as_text().c_str() : "(none)");
    }
    (void)consume(200, 1, poll);
    wipe();

    if (options.runs("model")) {
        std::vector<double> produce_rate;
        std::vector<double> produce_cpu;  // µs per event, this process + server
        std::vector<double> consume_rate[2];
        std::vector<double> consume_client_cpu[2];  // µs per event
        std::vector<double> consume_server_cpu[2];
        std::vector<double> end_to_end[2];
        std::vector<double> speedup;
        std::vector<double> per_row_rate;  // 1 thread, preload off: one SELECT per row
        std::vector<double> per_row_cpu;
        const double n = static_cast<double>(options.events);
        for (int round = 0; round < options.rounds; ++round) {
            double took[2] = {0, 0};
            double produced = 0;
            for (int threads = 1; threads <= 2; ++threads) {
                const double cpu0 = process_cpu() + server_cpu();
                const auto start = Clock::now();
                produce(options.events);
                produced = seconds_since(start);
                produce_rate.push_back(n / produced);
                produce_cpu.push_back((process_cpu() + server_cpu() - cpu0) / n * 1e6);
                const Took t = consume(options.events, threads, poll);
                took[threads - 1] = t.wall;
                if (!check(options.events, "throughput")) {
                    return false;
                }
                consume_rate[threads - 1].push_back(n / t.wall);
                consume_client_cpu[threads - 1].push_back(t.client_cpu / n * 1e6);
                consume_server_cpu[threads - 1].push_back(t.server_cpu / n * 1e6);
                end_to_end[threads - 1].push_back(n / (produced + t.wall));
                wipe();
            }
            speedup.push_back(took[0] / took[1]);
            // The same consume with each row loading its instance (WorkerOptions::preload off).
            produce(options.events);
            const Took t = consume(options.events, 1, poll, false);
            if (!check(options.events, "throughput, preload off")) {
                return false;
            }
            per_row_rate.push_back(n / t.wall);
            per_row_cpu.push_back((t.client_cpu + t.server_cpu) / n * 1e6);
            wipe();
        }
        std::printf(
            "throughput, %ld events, transactions of 100, batches of %d, median of %d rounds\n",
            options.events, options.batch, options.rounds);
        std::printf("  produce                     %9.0f events/s   CPU %6.1f us/event%s\n",
                    median(produce_rate), median(produce_cpu), pg ? " (with the server's)" : "");
        for (int t = 0; t < 2; ++t) {
            std::printf(
                "  consume, %d worker thread%s  %9.0f events/s   end to end %9.0f events/s   "
                "CPU %6.1f + %6.1f us/event (worker + server)\n",
                t + 1, t == 0 ? " " : "s", median(consume_rate[t]), median(end_to_end[t]),
                median(consume_client_cpu[t]), median(consume_server_cpu[t]));
        }
        std::printf("  2 workers / 1 worker        %9.2fx\n", median(speedup));
        const double batched_cpu = median(consume_client_cpu[0]) + median(consume_server_cpu[0]);
        std::printf(
            "  consume, 1 thread, one SELECT per row (preload off) %9.0f events/s   CPU %6.1f "
            "us/event; batch loading: %.2fx events/s, %.2fx less CPU\n",
            median(per_row_rate), median(per_row_cpu),
            median(consume_rate[0]) / median(per_row_rate), median(per_row_cpu) / batched_cpu);
        std::printf(
            "  CPU per event, produce + consume (1 thread): %.1f us: %.0f events per CPU-second\n",
            median(produce_cpu) + batched_cpu, 1e6 / (median(produce_cpu) + batched_cpu));
    }

    if (options.runs("custom") && !run_custom(pg, poll)) {
        return false;
    }
    if (options.runs("batch") && !run_custom(pg, poll, true)) {
        return false;
    }

    // End to end with the worker running while the events are produced.
    double running[2] = {0, 0};
    for (int threads = 1; threads <= 2 && options.runs("running"); ++threads) {
        std::vector<double> rates;
        for (int round = 0; round < options.rounds; ++round) {
            tocsin::remote::Worker worker({.concurrency = threads,
                                           .batch_size = options.batch,
                                           .poll_interval = poll,
                                           .delete_done = options.delete_done,
                                           .lock_claims = options.lock_claims});
            std::thread runner = start_worker(worker, std::chrono::milliseconds(100));
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
    if (pg && !options.python.empty() && options.runs("running")) {
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
    if (!options.runs("latency")) {
        return true;
    }
    {
        std::lock_guard lock(bench::stamps.mutex);
        bench::stamps.committed.assign(static_cast<std::size_t>(options.latency_events), 0);
        bench::stamps.started.assign(static_cast<std::size_t>(options.latency_events), 0);
    }
    bench::record_start = true;
    tocsin::remote::Worker worker({.concurrency = 1,
                                   .batch_size = options.batch,
                                   .poll_interval = poll,
                                   .delete_done = options.delete_done,
                                   .lock_claims = options.lock_claims});
    std::thread runner = start_worker(worker, std::chrono::milliseconds(300));
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
        if (arg == "--delete-done") {
            options.delete_done = true;
        } else if (arg == "--lock-claims") {
            options.lock_claims = true;
        } else if (arg == "--celery") {
            options.python = "/usr/bin/python3";
        } else if (arg.rfind("--celery=", 0) == 0) {
            options.python = std::string(arg.substr(9));
        } else if (arg.rfind("--phases=", 0) == 0) {
            options.phases.clear();
            std::stringstream in{std::string(arg.substr(9))};
            std::string p;
            while (std::getline(in, p, ',')) {
                if (p != "model" && p != "custom" && p != "batch" && p != "running" &&
                    p != "latency") {
                    return false;
                }
                options.phases.push_back(p);
            }
        } else if (arg.rfind("--pg-compression=", 0) == 0) {
            options.pg_compression = std::string(arg.substr(17));
            if (options.pg_compression != "pglz" && options.pg_compression != "lz4") {
                return false;
            }
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
                   !value("--celery-events=", options.celery_events) &&
                   !value("--payload-bytes=", options.payload_bytes)) {
            std::fprintf(stderr, "outbox_bench: unknown option %s\n", argv[i]);
            return false;
        }
    }
    return options.events > 0 && options.rounds > 0 && options.rate > 0 &&
           options.latency_events > 0 && options.batch > 0 && options.payload_bytes >= 0;
}

}  // namespace

constexpr std::string_view usage =
    "usage: outbox_bench [--url=postgresql://...] [--engines=postgresql,sqlite] [--events=N]\n"
    "         [--rounds=R] [--rate=EVENTS_PER_S] [--latency-events=N] [--sqlite-poll=MS]\n"
    "         [--batch=N] [--celery[=PYTHON]] [--celery-events=N] [--delete-done] [--lock-claims]\n"
    "         [--phases=model,custom,batch,running,latency] [--payload-bytes=N]\n"
    "         [--pg-compression=pglz|lz4]\n"
    "  --events=N           events per phase and round (20000)\n"
    "  --rounds=R           rounds per phase; medians are printed (3)\n"
    "  --phases=...         which phases run (all; running includes --celery)\n"
    "  --payload-bytes=N    the custom and batch phases' tickets carry N bytes of text (fields\n"
    "                       of words and numbers, different for each event, compressible like\n"
    "                       the JSON of a real ticket), checked by their receivers; default: the\n"
    "                       word \"issued\" (an event of ~30 bytes of JSON)\n"
    "  --pg-compression=M   PostgreSQL: the outbox's payload column compressed with M (pglz or\n"
    "                       lz4) instead of what create_outbox() sets, set again before each\n"
    "                       produce (a worker's create_outbox() sets lz4 back), to compare them\n"
    "  --delete-done        WorkerOptions::delete_done; --lock-claims: WorkerOptions::lock_claims\n"
    "  --url=...            a PostgreSQL server to use (default: a throw-away cluster)\n"
    "Exits 1 when an event was lost, applied twice or changed, 2 on bad options.\n";

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
            std::fputs(usage.data(), stdout);
            return 0;
        }
    }
    if (!parse(argc, argv)) {
        std::fputs(usage.data(), stderr);
        return 2;
    }
    if (options.payload_bytes > 0) {
        bench::kinds.reserve(static_cast<std::size_t>(options.events));
        for (long seq = 0; seq < options.events; ++seq) {
            bench::kinds.push_back(bench::ticket_text(seq, options.payload_bytes));
        }
    }
    try {
        const auto connection = tocsin::remote::connect<bench::Item>(
            tocsin::post_save, &bench::apply, {.queue = "bench", .dispatch_uid = "bench.apply"});
        const auto tickets =
            tocsin::remote::connect(bench::ticket_issued, &bench::apply_ticket,
                                    {.queue = "bench", .dispatch_uid = "bench.apply_ticket"});
        const auto batched = tocsin::remote::connect_batch(
            bench::ticket_batched, &bench::apply_tickets,
            {.queue = "bench", .dispatch_uid = "bench.apply_tickets"});
        bool ok = true;
        for (const auto& engine : options.engines) {
            if (engine == "postgresql") {
                std::unique_ptr<tocsin::test_support::OwnPgCluster> cluster;
                tocsin::db::Settings settings;
                if (options.url.empty()) {
                    cluster = start_cluster();
                    settings = cluster->settings();
                    server_pid = cluster->server_pid();
                } else {
                    settings = tocsin::db::parse_database_url(options.url);
                }
                ok = run_engine(engine, settings) && ok;
                tocsin::db::close_all();
                server_pid = 0;
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
