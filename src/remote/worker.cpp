// Worker: claims outbox rows (FOR UPDATE SKIP LOCKED on PostgreSQL, under BEGIN IMMEDIATE on
// SQLite), runs their receivers in one transaction per batch (a batch receiver once with all its
// rows) or, after a failure, one savepoint per row, retries
// with backoff, buries the dead; woken by LISTEN on PostgreSQL, polling otherwise.
#include "tocsin/remote/worker.hpp"

#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "remote_internal.hpp"
#include "tocsin/db/atomic.hpp"
#include "tocsin/db/database.hpp"
#include "tocsin/db/postgresql_backend.hpp"
#include "tocsin/models/model_info.hpp"
#include "tocsin/models/query.hpp"
#include "tocsin/remote/connect.hpp"
#include "tocsin/remote/outbox.hpp"

namespace tocsin::remote {

namespace {

// ---------------------------------------------------------------- stop signals

std::atomic<bool> stop_signal{false};
std::atomic<int> signal_pipe_read{-1};
std::atomic<int> signal_pipe_write{-1};

extern "C" void on_stop_signal(int /*signal*/) {
    stop_signal.store(true);
    const int fd = signal_pipe_write.load();
    if (fd >= 0) {
        const char byte = 1;
        [[maybe_unused]] const auto n = ::write(fd, &byte, 1);
    }
}

// ---------------------------------------------------------------- rows

/// A claimed row.
struct Claimed {
    std::int64_t id = 0;
    std::string queue;
    std::string signal;
    std::string receiver;
    std::string payload;
    std::string idempotency_key;
    int attempts = 0;
    std::int64_t created_at = 0;
    std::string sender;
};

/// Thrown when the row's claim was taken over by another worker: the savepoint rolls back.
struct LeaseLost {};

/// Resets current_delivery() when it goes.
struct CurrentDelivery {
    explicit CurrentDelivery(const Delivery& d) { detail::set_current_delivery(&d); }
    ~CurrentDelivery() { detail::set_current_delivery(nullptr); }
    CurrentDelivery(const CurrentDelivery&) = delete;
    CurrentDelivery& operator=(const CurrentDelivery&) = delete;
};

std::string default_name() {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) {
        host[0] = '\0';
    }
    return std::string(host) + ":" + std::to_string(::getpid());
}

/// The wait before the attempt after failed attempt @p attempts: delay * 2^(attempts-1), at most
/// max_delay, less a random jitter of up to half of it.
std::int64_t backoff_us(const RetryPolicy& policy, int attempts) {
    thread_local std::mt19937_64 generator{std::random_device{}()};
    const double base = static_cast<double>(policy.delay.count()) * 1000.0;
    const double cap = static_cast<double>(policy.max_delay.count()) * 1000.0;
    double wait = base;
    for (int i = 1; i < attempts && wait < cap; ++i) {
        wait *= 2;
    }
    wait = std::min(wait, cap);
    std::uniform_real_distribution<double> jitter(0.0, wait / 2);
    return static_cast<std::int64_t>(wait - jitter(generator));
}

}  // namespace

void handle_stop_signals() {
    static std::once_flag once;
    std::call_once(once, [] {
        int fds[2];
        if (::pipe(fds) == 0) {
            for (const int fd : fds) {
                ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
                ::fcntl(fd, F_SETFD, FD_CLOEXEC);
            }
            signal_pipe_read.store(fds[0]);
            signal_pipe_write.store(fds[1]);
        }
        struct sigaction action {};
        action.sa_handler = &on_stop_signal;
        sigemptyset(&action.sa_mask);
        ::sigaction(SIGTERM, &action, nullptr);
        ::sigaction(SIGINT, &action, nullptr);
    });
}

bool stop_signal_received() noexcept {
    return stop_signal.load();
}

// ---------------------------------------------------------------- the worker

struct Worker::State {
    WorkerOptions options;
    std::string name;
    std::atomic<bool> stopping{false};
    std::mutex mutex;
    std::condition_variable wake;
    std::uint64_t generation = 0;
    std::atomic<std::uint64_t> claim_counter{0};
    /// Tells this worker from those before it in the process (ClaimHint).
    const std::uint64_t serial = [] {
        static std::atomic<std::uint64_t> workers{0};
        return ++workers;
    }();
    int stop_pipe[2] = {-1, -1};

    std::atomic<std::uint64_t> claimed{0};
    std::atomic<std::uint64_t> done{0};
    std::atomic<std::uint64_t> failed{0};
    std::atomic<std::uint64_t> dead{0};
    std::atomic<std::uint64_t> skipped{0};
    std::atomic<std::uint64_t> lost{0};

    [[nodiscard]] bool should_stop() const noexcept {
        return stopping.load() || stop_signal.load();
    }

    void bump() {
        {
            std::lock_guard lock(mutex);
            ++generation;
        }
        wake.notify_all();
    }

    /// Claims a batch. With @p locks (PostgreSQL, WorkerOptions::lock_claims), inside the
    /// batch's transaction: the rows are locked (SELECT ... FOR UPDATE SKIP LOCKED) until it ends
    /// and nothing is written; their attempts are counted when the batch writes its outcome.
    /// Otherwise a lease: one UPDATE writing @p token, locked_until and the attempt.
    /// @p ids (a PostgreSQL array literal, with @p locks): only those rows, when still ready.
    /// @p deletes (with @p locks): the claim deletes its rows (DELETE ... RETURNING) in the
    /// batch's transaction, which then needs no statement of its own to delete them.
    /// @p after: only rows with a greater id (ClaimHint).
    /// On PostgreSQL the statement finds the rows it locked by their ctid (a TID scan), not by
    /// id (a primary key lookup each): a locked row's version cannot move.
    std::vector<Claimed> claim(db::Database& database, const std::string& token, bool locks,
                               const std::string& ids = {}, bool deletes = false,
                               std::optional<std::int64_t> after = std::nullopt) {
        const std::int64_t now = detail::now_us();
        std::vector<db::Value> params;
        if (!locks) {
            params = {db::Value(token), db::Value(now + options.visibility_timeout.count() * 1000)};
        }
        params.emplace_back(now);
        const std::string at_now = "?" + std::to_string(params.size());
        params.emplace_back(static_cast<std::int64_t>(options.batch_size));
        const std::string limit = "?" + std::to_string(params.size());
        // A row still under another worker's lease (locked_until) is not taken, with locks too.
        std::string select = "status = 'pending' AND available_at <= " + at_now +
                             " AND (locked_until IS NULL OR locked_until <= " + at_now +
                             ") AND (ordering_key IS NULL OR NOT EXISTS (SELECT 1 FROM "
                             "tocsin_outbox p WHERE p.ordering_key = o.ordering_key AND "
                             "p.status = 'pending' AND p.id < o.id))";
        if (!options.queues.empty()) {
            select += " AND queue IN (";
            for (std::size_t i = 0; i < options.queues.size(); ++i) {
                params.emplace_back(options.queues[i]);
                select += (i == 0 ? "?" : ", ?") + std::to_string(params.size());
            }
            select += ")";
        }
        if (!ids.empty()) {
            params.emplace_back(ids);
            select += " AND id = ANY(CAST(?" + std::to_string(params.size()) + " AS bigint[]))";
        }
        if (after) {
            params.emplace_back(*after);
            select += " AND id > ?" + std::to_string(params.size());
        }
        select += " ORDER BY id LIMIT " + limit;
        const bool pg = detail::is_postgresql(database);
        if (locks && deletes) {
            return to_claimed(database.query(
                detail::sql(database,
                            "DELETE FROM tocsin_outbox WHERE ctid = ANY(ARRAY(SELECT ctid FROM "
                            "tocsin_outbox o WHERE " +
                                select +
                                " FOR UPDATE SKIP LOCKED)) RETURNING id, queue, signal, "
                                "receiver, payload, idempotency_key, attempts + 1, created_at, "
                                "sender"),
                params));
        }
        if (locks) {
            return to_claimed(database.query(
                detail::sql(database,
                            "SELECT id, queue, signal, receiver, payload, idempotency_key, "
                            "attempts + 1, created_at, sender FROM tocsin_outbox o WHERE " +
                                select + " FOR UPDATE SKIP LOCKED"),
                params));
        }
        select = (pg ? "SELECT ctid FROM tocsin_outbox o WHERE "
                     : "SELECT id FROM tocsin_outbox o WHERE ") +
                 select;
        const std::string text =
            "UPDATE tocsin_outbox SET locked_by = ?1, locked_until = ?2, attempts = attempts + 1 "
            "WHERE " +
            (pg ? "ctid = ANY(ARRAY(" + select + " FOR UPDATE SKIP LOCKED))"
                : "id IN (" + select + ")") +
            " RETURNING id, queue, signal, receiver, payload, idempotency_key, attempts, "
            "created_at, sender";
        const std::string statement = detail::sql(database, text);
        // One statement: atomic by itself. PostgreSQL runs it in autocommit (one round trip);
        // SQLite under BEGIN IMMEDIATE, as every write transaction of tocsin's.
        return to_claimed(
            pg ? database.query(statement, params)
               : db::atomic(options.database, [&] { return database.query(statement, params); }));
    }

    /// The claimed rows, in id order.
    static std::vector<Claimed> to_claimed(const std::vector<db::Row>& rows) {
        std::vector<Claimed> out;
        out.reserve(rows.size());
        for (const auto& row : rows) {
            out.push_back(Claimed{row.at(0).as_integer(), row.at(1).as_text(), row.at(2).as_text(),
                                  row.at(3).as_text(), row.at(4).as_text(), row.at(5).as_text(),
                                  static_cast<int>(row.at(6).as_integer()), row.at(7).as_integer(),
                                  row.at(8).as_text()});
        }
        std::sort(out.begin(), out.end(),
                  [](const Claimed& a, const Claimed& b) { return a.id < b.id; });
        return out;
    }

    /// Records a failed attempt: pending again after the backoff, or dead.
    void fail(db::Database& database, const Claimed& row, const std::string& token,
              const RetryPolicy& policy, const std::string& error, bool force_dead = false) {
        const std::int64_t now = detail::now_us();
        const bool is_dead = force_dead || row.attempts >= policy.max_attempts;
        const std::vector<db::Value> params{
            db::Value(std::string(is_dead ? "dead" : "pending")),
            db::Value(is_dead ? now : now + backoff_us(policy, row.attempts)),
            db::Value(error),
            is_dead ? db::Value(now) : db::Value(db::null),
            db::Value(row.id),
            db::Value(token),
            db::Value(static_cast<std::int64_t>(row.attempts))};
        const std::int64_t changed = database.execute(
            detail::sql(database,
                        "UPDATE tocsin_outbox SET status = ?1, available_at = ?2, last_error = ?3, "
                        "finished_at = ?4, locked_by = NULL, locked_until = NULL, attempts = ?7 "
                        "WHERE id = ?5 AND (locked_by = ?6 OR ?6 = '')"),
            params);
        if (changed == 0) {
            ++lost;
            return;
        }
        if (!force_dead) {
            ++failed;
        }
        if (is_dead) {
            ++dead;
        }
    }

    void handle(db::Database& database, const Claimed& row, const std::string& token) {
        const auto receiver = detail::find_receiver(row.receiver);
        if (!receiver) {
            fail(database, row, token, RetryPolicy{},
                 "no remote receiver '" + row.receiver + "' (signal " + row.signal +
                     ") is registered in this program: remote::connect it before the worker "
                     "runs");
            return;
        }
        if (row.attempts > receiver->info.retry.max_attempts) {
            fail(database, row, token, receiver->info.retry,
                 "attempt " + std::to_string(row.attempts) + " of " +
                     std::to_string(receiver->info.retry.max_attempts) +
                     " was claimed but its worker stopped before finishing (it died, or ran "
                     "longer than the visibility timeout)",
                 true);
            return;
        }
        const Delivery delivery{row.id,       row.queue,      row.receiver,    row.idempotency_key,
                                row.attempts, row.created_at, options.database};
        try {
            db::Atomic savepoint(options.database);
            detail::RunResult result;
            {
                const CurrentDelivery current(delivery);
                const nlohmann::json payload = nlohmann::json::parse(row.payload);
                result = receiver->run({payload, options.database, row.sender});
            }
            std::int64_t changed = 0;
            if (options.delete_done && !result.skipped) {
                changed = database.execute(
                    detail::sql(database,
                                "DELETE FROM tocsin_outbox WHERE id = ?1 AND (locked_by = ?2 OR "
                                "?2 = '')"),
                    {db::Value(row.id), db::Value(token)});
            } else {
                const std::vector<db::Value> params{
                    db::Value(std::string(result.skipped ? "skipped" : "done")),
                    db::Value(detail::now_us()),
                    result.skipped ? db::Value(result.note) : db::Value(db::null),
                    db::Value(row.id),
                    db::Value(token),
                    db::Value(static_cast<std::int64_t>(row.attempts))};
                changed = database.execute(
                    detail::sql(
                        database,
                        "UPDATE tocsin_outbox SET status = ?1, finished_at = ?2, last_error "
                        "= ?3, locked_by = NULL, locked_until = NULL, attempts = ?6 WHERE id = "
                        "?4 AND (locked_by = ?5 OR ?5 = '')"),
                    params);
            }
            if (changed == 0) {
                throw LeaseLost{};
            }
            savepoint.commit();
            ++(result.skipped ? skipped : done);
        } catch (const LeaseLost&) {
            ++lost;
        } catch (const std::exception& e) {
            fail(database, row, token, receiver->info.retry, e.what());
        } catch (...) {
            fail(database, row, token, receiver->info.retry,
                 "the receiver threw something that is not a std::exception");
        }
    }

    /// The receiver that threw in a batch run at once: its row's index, and what it threw.
    struct Failure {
        std::optional<std::size_t> row;
        std::shared_ptr<const detail::RemoteReceiver> receiver;
        std::string error;
    };

    /// Where this thread's next claim may start. The claim reads the pending rows' index in id
    /// order from its start, stepping over the entries of the rows claimed and deleted (or done)
    /// since the last vacuum, which a claim then pays for: 0.7 ms for 100 rows at the start of a
    /// backlog of 20,000, 2.2 ms after 10,000 of them were claimed (benchmarks.md, session 12).
    /// So the claim that follows a full batch of this thread starts after that batch's last id.
    /// A row with a smaller id that became ready meanwhile (a transaction that committed late,
    /// a retry whose backoff ended) waits for a claim from the start: when a claim after the
    /// hint finds less than a full batch (at once, in the same process_batch()), and every
    /// max_hinted_claims claims in a run of full batches.
    struct ClaimHint {
        static constexpr int max_hinted_claims = 16;
        std::uint64_t owner = 0;  ///< the State::serial of the worker whose claim it follows
        std::int64_t after = 0;
        bool full = false;
        int run = 0;

        std::optional<std::int64_t> next(std::uint64_t state) {
            if (owner != state || !full || run >= max_hinted_claims) {
                run = 0;
                return std::nullopt;
            }
            ++run;
            return after;
        }
        /// @p rows in id order.
        void record(std::uint64_t state, const std::vector<Claimed>& rows, int batch_size) {
            owner = state;
            full = rows.size() >= static_cast<std::size_t>(batch_size);
            if (full) {
                after = rows.back().id;
            }
        }
    };
    static ClaimHint& claim_hint() {
        thread_local ClaimHint hint;
        return hint;
    }

    /// Claims one batch and runs it; returns how many rows it claimed. A claim after the hint
    /// that finds less than a full batch is followed by one from the start.
    std::size_t process_batch() {
        db::Database& database = db::connection(options.database);
        std::size_t total = 0;
        for (;;) {
            const std::optional<std::int64_t> after = claim_hint().next(serial);
            const std::size_t n = options.lock_claims && detail::is_postgresql(database)
                                      ? process_locked_batch(database, after)
                                      : process_leased_batch(database, after);
            total += n;
            if (!after || n >= static_cast<std::size_t>(options.batch_size)) {
                return total;
            }
        }
    }

    /// A lease's claim (the default) of the rows after @p after, and their run.
    std::size_t process_leased_batch(db::Database& database, std::optional<std::int64_t> after) {
        const std::string token = name + "#" + std::to_string(++claim_counter);
        const std::vector<Claimed> rows = claim(database, token, false, {}, false, after);
        claim_hint().record(serial, rows, options.batch_size);
        if (rows.empty()) {
            return 0;
        }
        claimed += rows.size();
        run_claimed(database, rows, token);
        return rows.size();
    }

    /// WorkerOptions::lock_claims on PostgreSQL: the claim's row locks last as long as the
    /// batch's transaction, which writes nothing to claim; its rows are deleted or marked done
    /// by that transaction itself (not from a savepoint: a subtransaction that writes a row its
    /// parent locked makes a MultiXact, which costs more than the lease saved). When something
    /// fails the transaction rolls back (the locks go with it) and the careful path locks again
    /// those of the rows still ready — another worker may have taken some meanwhile, which is
    /// fine: each row is run under one lock at a time. A worker that dies releases its locks with
    /// its connection.
    std::size_t process_locked_batch(db::Database& database, std::optional<std::int64_t> after) {
        std::vector<Claimed> rows;
        Failure failure;
        {
            db::Atomic held(options.database);
            // With delete_done the claim deletes the rows: a commit is their end, a rollback
            // (the careful path follows) brings them back.
            rows = claim(database, std::string(), true, {}, options.delete_done, after);
            claim_hint().record(serial, rows, options.batch_size);
            if (rows.empty()) {
                held.commit();
                return 0;
            }
            claimed += rows.size();
            if (run_batch_at_once(database, rows, std::string(), failure, false,
                                  options.delete_done)) {
                held.commit();
                return rows.size();
            }
            held.rollback();  // a block that ends normally commits
        }
        std::optional<std::int64_t> failed_id;
        if (failure.row) {
            failed_id = rows[*failure.row].id;
        }
        std::string ids(1, '{');
        for (const Claimed& row : rows) {
            ids += std::to_string(row.id);
            ids += ',';
        }
        ids.back() = '}';
        db::Atomic held(options.database);
        const std::vector<Claimed> again = claim(database, std::string(), true, ids);
        for (const Claimed& row : again) {
            if (failed_id && *failed_id == row.id) {
                fail(database, row, std::string(), failure.receiver->info.retry, failure.error);
            } else {
                handle(database, row, std::string());
            }
        }
        held.commit();
        return rows.size();
    }

    /// Runs the claimed @p rows: all at once, or when that fails row by row. @p token: the
    /// lease's.
    void run_claimed(db::Database& database, const std::vector<Claimed>& rows,
                     const std::string& token) {
        Failure failure;
        if (!run_batch_at_once(database, rows, token, failure, true, false)) {
            // Something in the batch failed (or needs care): it was rolled back as a whole; run
            // it again row by row, each in its savepoint. The row whose receiver threw is not run
            // again: it failed, like any failed attempt. When a batch receiver threw, each of its
            // rows runs alone (a batch of one): the event at fault is not known.
            db::Atomic batch(options.database);
            for (std::size_t i = 0; i < rows.size(); ++i) {
                if (failure.row && *failure.row == i) {
                    fail(database, rows[i], token, failure.receiver->info.retry, failure.error);
                } else {
                    handle(database, rows[i], token);
                }
            }
            batch.commit();
        }
    }

    /// Loads the instances the batch's post_save rows name: one SELECT per model (WHERE id IN
    /// ...), into @p out, where the receivers' load_save() takes them (null: the row is gone).
    void preload(const std::vector<Claimed>& rows, const std::vector<nlohmann::json>& payloads,
                 detail::BatchInstances& out) {
        std::map<const ModelInfo*, std::vector<db::Value>> ids;
        for (std::size_t i = 0; i < rows.size(); ++i) {
            const nlohmann::json& p = payloads[i];
            if (rows[i].signal != "post_save" || rows[i].sender.empty() || !p.is_object()) {
                continue;
            }
            const auto pk = p.find("pk");
            if (pk == p.end() || !pk->is_number_integer()) {
                continue;
            }
            if (const ModelInfo* info = detail::model_by_label(rows[i].sender); info != nullptr) {
                ids[info].emplace_back(pk->get<std::int64_t>());
            }
        }
        constexpr std::size_t chunk = 500;  // parameters per statement, well under both limits
        for (auto& [info, pks] : ids) {
            detail::watch_batch_model(*info);
            for (const db::Value& pk : pks) {
                out.instances.emplace(std::pair{info, pk.as_integer()}, nullptr);
            }
            for (std::size_t from = 0; from < pks.size(); from += chunk) {
                ::tocsin::detail::QueryParts q;
                q.info = info;
                q.database = options.database;
                q.condition = ::tocsin::detail::column_condition(
                    "id", Condition::Op::in,
                    std::vector<db::Value>(pks.begin() + static_cast<std::ptrdiff_t>(from),
                                           pks.begin() + static_cast<std::ptrdiff_t>(
                                                             std::min(pks.size(), from + chunk))));
                for (const db::Row& r : ::tocsin::detail::fetch_rows(q)) {
                    auto instance = info->make();
                    ::tocsin::detail::load_row(*instance, *info, r, options.database);
                    out.instances[{info, *instance->id}] = std::move(instance);
                }
            }
        }
    }

    /// The fast path: every receiver of the batch in one transaction without savepoints, the
    /// rows marked done by one UPDATE that also checks the claim. False (everything rolled back)
    /// when a receiver threw, a receiver is unknown or out of attempts, or a claim was taken over:
    /// the caller then runs the batch row by row. A receiver that threw is told in @p failure.
    /// @p own_transaction: false when the caller's transaction is the batch's (locked claims:
    /// it rolls back itself on false).
    /// @p deleted: the claim deleted the rows already (a skipped row then goes the careful way).
    bool run_batch_at_once(db::Database& database, const std::vector<Claimed>& rows,
                           const std::string& token, Failure& failure, bool own_transaction,
                           bool deleted) {
        struct Fallback {};
        /// Unsets the thread's batch instances when it goes.
        struct BatchScope {
            explicit BatchScope(detail::BatchInstances* b) { detail::set_batch_instances(b); }
            ~BatchScope() { detail::set_batch_instances(nullptr); }
            BatchScope(const BatchScope&) = delete;
            BatchScope& operator=(const BatchScope&) = delete;
        };
        try {
            // Everything checked before the transaction: a row that needs care goes the careful
            // way at once.
            std::vector<std::shared_ptr<const detail::RemoteReceiver>> receivers;
            std::vector<nlohmann::json> payloads;
            receivers.reserve(rows.size());
            payloads.reserve(rows.size());
            for (const Claimed& row : rows) {
                auto receiver = detail::find_receiver(row.receiver);
                if (!receiver || row.attempts > receiver->info.retry.max_attempts) {
                    return false;
                }
                receivers.push_back(std::move(receiver));
                payloads.push_back(nlohmann::json::parse(row.payload));
            }
            std::optional<db::Atomic> batch;
            if (own_transaction) {
                batch.emplace(options.database);
            }
            detail::BatchInstances instances;
            if (options.preload) {
                preload(rows, payloads, instances);
            }
            const BatchScope scope(&instances);
            std::size_t skipped_rows = 0;
            // The rows of batch receivers (connect_batch), by receiver, in the batch's order:
            // each receiver is called once with all of them after the single receivers ran.
            std::vector<std::pair<const detail::RemoteReceiver*, std::vector<std::size_t>>> grouped;
            for (std::size_t i = 0; i < rows.size(); ++i) {
                const Claimed& row = rows[i];
                if (receivers[i]->run_batch) {
                    const auto group =
                        std::find_if(grouped.begin(), grouped.end(),
                                     [&](const auto& g) { return g.first == receivers[i].get(); });
                    if (group == grouped.end()) {
                        grouped.emplace_back(receivers[i].get(), std::vector<std::size_t>{i});
                    } else {
                        group->second.push_back(i);
                    }
                    continue;
                }
                const Delivery delivery{
                    row.id,       row.queue,      row.receiver,    row.idempotency_key,
                    row.attempts, row.created_at, options.database};
                detail::RunResult result;
                try {
                    const CurrentDelivery current(delivery);
                    result = receivers[i]->run({payloads[i], options.database, row.sender});
                } catch (const std::exception& e) {
                    failure = Failure{i, receivers[i], e.what()};
                    throw Fallback{};
                } catch (...) {
                    failure = Failure{i, receivers[i],
                                      "the receiver threw something that is not a std::exception"};
                    throw Fallback{};
                }
                if (result.skipped) {
                    const std::vector<db::Value> params{
                        db::Value(detail::now_us()), db::Value(result.note), db::Value(row.id),
                        db::Value(token), db::Value(static_cast<std::int64_t>(row.attempts))};
                    if (database.execute(
                            detail::sql(database,
                                        "UPDATE tocsin_outbox SET status = 'skipped', finished_at "
                                        "= ?1, last_error = ?2, locked_by = NULL, locked_until = "
                                        "NULL, attempts = ?5 WHERE id = ?3 AND (locked_by = ?4 OR "
                                        "?4 = '')"),
                            params) != 1) {
                        throw Fallback{};
                    }
                    ++skipped_rows;
                }
            }
            for (const auto& [receiver, indices] : grouped) {
                std::vector<Delivery> deliveries;
                std::vector<detail::BatchRow> batch_rows;
                deliveries.reserve(indices.size());
                batch_rows.reserve(indices.size());
                for (const std::size_t i : indices) {
                    const Claimed& row = rows[i];
                    deliveries.push_back(Delivery{row.id, row.queue, row.receiver,
                                                  row.idempotency_key, row.attempts, row.created_at,
                                                  options.database});
                }
                for (std::size_t k = 0; k < indices.size(); ++k) {
                    batch_rows.push_back(detail::BatchRow{&payloads[indices[k]], &deliveries[k]});
                }
                // When it throws, everything rolls back and the careful path runs each of its
                // rows alone, so that only the events that fail again count a failed attempt.
                receiver->run_batch(batch_rows);
            }
            // The batch's ids as one parameter: a PostgreSQL array, a JSON array for SQLite.
            const bool pg = detail::is_postgresql(database);
            std::string ids(1, pg ? '{' : '[');
            for (const Claimed& row : rows) {
                ids += std::to_string(row.id);
                ids += ',';
            }
            ids.back() = pg ? '}' : ']';
            // Skipped rows were marked above: their status is no longer 'pending'.
            std::int64_t marked = 0;
            if (deleted) {
                marked = static_cast<std::int64_t>(rows.size());
            } else if (options.delete_done) {
                marked = database.execute(
                    detail::sql(database,
                                pg ? "DELETE FROM tocsin_outbox WHERE id = ANY(CAST(?2 AS "
                                     "bigint[])) AND (locked_by = ?1 OR ?1 = '') AND status = "
                                     "'pending'"
                                   : "DELETE FROM tocsin_outbox WHERE id IN (SELECT value FROM "
                                     "json_each(?2)) AND (locked_by = ?1 OR ?1 = '') AND status = "
                                     "'pending'"),
                    {db::Value(token), db::Value(std::move(ids))});
            } else {
                // Under a lease the claim counted the attempt; under a lock it is counted here.
                const std::vector<db::Value> params{
                    db::Value(detail::now_us()), db::Value(token), db::Value(std::move(ids)),
                    db::Value(static_cast<std::int64_t>(token.empty() ? 1 : 0))};
                marked = database.execute(
                    detail::sql(
                        database,
                        pg ? "UPDATE tocsin_outbox SET status = 'done', finished_at = ?1, "
                             "last_error = NULL, locked_by = NULL, locked_until = NULL, attempts "
                             "= attempts + ?4 WHERE id = ANY(CAST(?3 AS bigint[])) AND (locked_by "
                             "= ?2 OR ?2 = '') AND status = 'pending'"
                           : "UPDATE tocsin_outbox SET status = 'done', finished_at = ?1, "
                             "last_error = NULL, locked_by = NULL, locked_until = NULL, attempts "
                             "= attempts + ?4 WHERE id IN (SELECT value FROM json_each(?3)) AND "
                             "(locked_by = ?2 OR ?2 = '') AND status = 'pending'"),
                    params);
            }
            if (static_cast<std::size_t>(marked) + skipped_rows != rows.size()) {
                throw Fallback{};  // a claim was taken over
            }
            if (batch) {
                batch->commit();
            }
            done += rows.size() - skipped_rows;
            skipped += skipped_rows;
            return true;
        } catch (...) {  // NOLINT(bugprone-empty-catch): rolled back; the careful path runs it
            return false;
        }
    }

    void thread_loop() {
        while (!should_stop()) {
            std::uint64_t seen = 0;
            {
                std::lock_guard lock(mutex);
                seen = generation;
            }
            std::size_t n = 0;
            bool error = false;
            try {
                n = process_batch();
            } catch (const std::exception& e) {
                error = true;
                std::cerr << "tocsin.remote worker " << name << ": " << e.what() << std::endl;
            }
            if (!error && n >= static_cast<std::size_t>(options.batch_size)) {
                continue;  // probably more
            }
            std::unique_lock lock(mutex);
            if (error) {
                wake.wait_for(lock, options.poll_interval, [&] { return should_stop(); });
            } else {
                wake.wait(lock, [&] { return generation != seen || should_stop(); });
            }
        }
        db::close_all();
    }

    /// The LISTEN connection (PostgreSQL, WorkerOptions::listen), or null: polling only.
    std::unique_ptr<db::PostgresqlBackend> listener;
    /// Whether this worker listens (PostgreSQL and WorkerOptions::listen).
    bool listens = false;
    db::Settings listen_settings;

    /// Opens the LISTEN connection when the worker listens; on failure says so and polls.
    void connect_listener() {
        try {
            listener = std::make_unique<db::PostgresqlBackend>(listen_settings);
            listener->execute_script("LISTEN " + std::string(notify_channel));
        } catch (const std::exception& e) {
            listener.reset();
            std::cerr << "tocsin.remote worker " << name << ": LISTEN failed, polling (" << e.what()
                      << ")" << std::endl;
        }
    }

    /// Before the threads start (so that no NOTIFY sent after their first claim is missed):
    /// LISTENs when the worker's database is PostgreSQL.
    void start_listening() {
        {
            const auto all = db::configuration();
            const auto it = all.find(options.database);
            if (it != all.end()) {
                listen_settings = it->second;
            }
        }
        listens = options.listen && listen_settings.engine == "postgresql";
        if (listens) {
            connect_listener();
        }
    }

    /// Wakes the threads: on a NOTIFY (PostgreSQL), a stop, or every poll_interval.
    void waker_loop() {
        const bool pg = listens;
        while (!should_stop()) {
            std::vector<pollfd> fds;
            fds.push_back(pollfd{stop_pipe[0], POLLIN, 0});
            if (const int fd = signal_pipe_read.load(); fd >= 0) {
                fds.push_back(pollfd{fd, POLLIN, 0});
            }
            const int listen_fd = listener ? PQsocket(listener->native_handle()) : -1;
            if (listen_fd >= 0) {
                fds.push_back(pollfd{listen_fd, POLLIN, 0});
            }
            const int ready =
                ::poll(fds.data(), fds.size(), static_cast<int>(options.poll_interval.count()));
            if (ready > 0 && listen_fd >= 0 &&
                (fds.back().revents & (POLLIN | POLLERR | POLLHUP))) {
                PGconn* conn = listener->native_handle();
                if (PQconsumeInput(conn) == 0) {
                    listener.reset();  // lost: poll until it is back
                } else {
                    while (PGnotify* n = PQnotifies(conn)) {
                        PQfreemem(n);
                    }
                }
            }
            if (pg && !listener && !should_stop()) {
                connect_listener();
            }
            bump();
        }
        bump();
        listener.reset();
    }
};

Worker::Worker(WorkerOptions options) : state_(std::make_unique<State>()) {
    if (options.concurrency < 1) {
        throw std::invalid_argument("remote::Worker: concurrency must be at least 1");
    }
    if (options.batch_size < 1) {
        throw std::invalid_argument("remote::Worker: batch_size must be at least 1");
    }
    state_->name = options.name.empty() ? default_name() : options.name;
    state_->options = std::move(options);
    if (::pipe(state_->stop_pipe) != 0) {
        throw std::runtime_error("remote::Worker: pipe() failed");
    }
    for (const int fd : state_->stop_pipe) {
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
}

Worker::~Worker() {
    for (const int fd : state_->stop_pipe) {
        if (fd >= 0) {
            ::close(fd);
        }
    }
}

void Worker::run() {
    create_outbox(state_->options.database);
    state_->start_listening();
    std::vector<std::thread> threads;
    threads.reserve(static_cast<std::size_t>(state_->options.concurrency));
    for (int i = 0; i < state_->options.concurrency; ++i) {
        threads.emplace_back([this] { state_->thread_loop(); });
    }
    state_->waker_loop();
    for (auto& t : threads) {
        t.join();
    }
}

std::size_t Worker::drain() {
    create_outbox(state_->options.database);
    std::size_t total = 0;
    for (;;) {
        const std::size_t n = state_->process_batch();
        if (n == 0) {
            return total;
        }
        total += n;
    }
}

void Worker::stop() noexcept {
    state_->stopping.store(true);
    const char byte = 1;
    [[maybe_unused]] const auto n = ::write(state_->stop_pipe[1], &byte, 1);
    {
        std::lock_guard lock(state_->mutex);
        ++state_->generation;
    }
    state_->wake.notify_all();
}

WorkerStats Worker::stats() const noexcept {
    return WorkerStats{state_->claimed.load(), state_->done.load(),    state_->failed.load(),
                       state_->dead.load(),    state_->skipped.load(), state_->lost.load()};
}

const std::string& Worker::name() const noexcept {
    return state_->name;
}

}  // namespace tocsin::remote
