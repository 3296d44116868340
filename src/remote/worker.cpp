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
    std::int64_t events = 1;  ///< a packed row's: its payload is a JSON array of theirs
};

/// The events of @p rows.
std::size_t events_of(const std::vector<Claimed>& rows) {
    std::size_t n = 0;
    for (const Claimed& row : rows) {
        n += static_cast<std::size_t>(row.events);
    }
    return n;
}

/// Event @p event's idempotency key in @p row: the row's, with ".<event>" in a packed row.
std::string event_key(const Claimed& row, int event) {
    return row.events > 1 ? row.idempotency_key + "." + std::to_string(event) : row.idempotency_key;
}

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
    /// @p row_limit: at most this many rows (0: batch_size; ClaimHint::limit()).
    /// On PostgreSQL the statement finds the rows it locked by their ctid (a TID scan), not by
    /// id (a primary key lookup each): a locked row's version cannot move.
    std::vector<Claimed> claim(db::Database& database, const std::string& token, bool locks,
                               const std::string& ids = {}, bool deletes = false,
                               std::optional<std::int64_t> after = std::nullopt,
                               std::size_t row_limit = 0) {
        const std::int64_t now = detail::now_us();
        std::vector<db::Value> params;
        if (!locks) {
            params = {db::Value(token), db::Value(now + options.visibility_timeout.count() * 1000)};
        }
        params.emplace_back(now);
        const std::string at_now = "?" + std::to_string(params.size());
        params.emplace_back(static_cast<std::int64_t>(options.batch_size));
        const std::string limit = "?" + std::to_string(params.size());
        params.emplace_back(static_cast<std::int64_t>(
            row_limit != 0 ? row_limit : static_cast<std::size_t>(options.batch_size)));
        const std::string rows_limit = "?" + std::to_string(params.size());
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
        select += " ORDER BY id LIMIT " + rows_limit;
        // batch_size counts events: of the (at most row_limit) rows the select finds, in id
        // order, those whose events before them number fewer than batch_size (at least one row;
        // the others it locked are free again at the statement's or the transaction's end).
        const auto capped = [&](const std::string& inner, const std::string& outer,
                                std::string_view lock) {
            return "SELECT " + outer +
                   " FROM (SELECT l.*, sum(l.events) OVER (ORDER BY l.id) AS run_ FROM (SELECT " +
                   inner + " FROM tocsin_outbox o WHERE " + select + std::string(lock) +
                   ") l) w WHERE w.run_ - w.events < " + limit;
        };
        const bool pg = detail::is_postgresql(database);
        if (locks && deletes) {
            return to_claimed(database.query(
                detail::sql(database,
                            "DELETE FROM tocsin_outbox WHERE ctid = ANY(ARRAY(" +
                                capped("ctid, id, events", "ctid", " FOR UPDATE SKIP LOCKED") +
                                ")) RETURNING id, queue, signal, receiver, payload, "
                                "idempotency_key, attempts + 1, created_at, sender, events"),
                params));
        }
        if (locks) {
            return to_claimed(database.query(
                detail::sql(database, capped("id, queue, signal, receiver, payload, "
                                             "idempotency_key, attempts + 1 AS attempts, "
                                             "created_at, sender, events",
                                             "id, queue, signal, receiver, payload, "
                                             "idempotency_key, attempts, created_at, sender, "
                                             "events",
                                             " FOR UPDATE SKIP LOCKED")),
                params));
        }
        const std::string text =
            "UPDATE tocsin_outbox SET locked_by = ?1, locked_until = ?2, attempts = attempts + 1 "
            "WHERE " +
            (pg ? "ctid = ANY(ARRAY(" +
                      capped("ctid, id, events", "ctid", " FOR UPDATE SKIP LOCKED") + "))"
                : "id IN (" + capped("id, events", "id", "") + ")") +
            " RETURNING id, queue, signal, receiver, payload, idempotency_key, attempts, "
            "created_at, sender, events";
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
                                  row.at(8).as_text(), row.at(9).as_integer()});
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
        const auto events = static_cast<std::uint64_t>(row.events);
        if (changed == 0) {
            lost += events;
            return;
        }
        if (!force_dead) {
            failed += events;
        }
        if (is_dead) {
            dead += events;
        }
    }

    /// Deletes @p row unless its claim was taken over (a lease of another token); how many rows.
    static std::int64_t delete_row(db::Database& database, const Claimed& row,
                                   const std::string& token) {
        return database.execute(
            detail::sql(database,
                        "DELETE FROM tocsin_outbox WHERE id = ?1 AND (locked_by = ?2 OR ?2 = '')"),
            {db::Value(row.id), db::Value(token)});
    }

    /// The failure of a row whose receiver this program never connected.
    static std::string not_registered(const Claimed& row) {
        return "no remote receiver '" + row.receiver + "' (signal " + row.signal +
               ") is registered in this program: remote::connect it before the worker runs";
    }

    void handle(db::Database& database, const Claimed& row, const std::string& token) {
        const auto receiver = detail::find_receiver(row.receiver);
        if (!receiver) {
            fail(database, row, token, RetryPolicy{}, not_registered(row));
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
        const Delivery delivery{row.id,       row.queue,      row.receiver,     row.idempotency_key,
                                row.attempts, row.created_at, options.database, 0};
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
                changed = delete_row(database, row, token);
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

    /// The receiver that threw in a batch run at once: its row's index, its event's, and what it
    /// threw.
    struct Failure {
        std::optional<std::size_t> row;
        int event = 0;  ///< the event's index in its row
        std::shared_ptr<const detail::RemoteReceiver> receiver;
        std::string error;
    };

    /// What became of one event of a packed row on the careful path.
    struct EventOutcome {
        enum class Kind { done, skipped, failed } kind = Kind::done;
        std::string note;  ///< why skipped, or what it threw
    };

    /// Writes event @p event of the packed @p row (its JSON @p payload) as a row of its own: one
    /// event, the event's key (so its Delivery::idempotency_key stays the same), the packed row's
    /// created_at and attempts, in @p status.
    void write_event_row(db::Database& database, const Claimed& row, int event,
                         const nlohmann::json& payload, std::string_view status, int attempts,
                         std::int64_t available_at, std::optional<std::int64_t> finished_at,
                         const std::string& error) {
        const std::vector<db::Value> params{
            db::Value(row.queue),
            db::Value(row.signal),
            db::Value(row.receiver),
            db::Value(row.sender),
            db::Value(payload.dump()),
            db::Value(event_key(row, event)),
            db::Value(std::string(status)),
            db::Value(static_cast<std::int64_t>(attempts)),
            db::Value(row.created_at),
            db::Value(available_at),
            finished_at ? db::Value(*finished_at) : db::Value(db::null),
            db::Value(error)};
        database.execute(
            detail::sql(database,
                        "INSERT INTO tocsin_outbox (queue, signal, receiver, sender, payload, "
                        "idempotency_key, status, attempts, created_at, available_at, "
                        "finished_at, last_error, events) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                        "?9, ?10, ?11, ?12, 1)"),
            params);
    }

    /// The careful run of a packed row (several events): each event in a savepoint of its own
    /// (@p failure's event, which already threw in the batch run at once, is not run again). The
    /// events that failed or were skipped leave the row: each becomes a row of its own (one event,
    /// its key, the attempts so far; pending after its backoff, dead, or skipped), written in the
    /// same transaction that applies the others and deletes the packed row (delete_done, or no
    /// event done) or marks it done holding the events done. A claim taken over rolls it all back.
    /// A row whose worker died during its last allowed attempt is split without being run: each
    /// event a row of its own with one attempt left, so that only an event that kills its worker
    /// again is dead.
    void handle_packed(db::Database& database, const Claimed& row, const std::string& token,
                       const Failure* failure) {
        const auto receiver = detail::find_receiver(row.receiver);
        if (!receiver) {
            fail(database, row, token, RetryPolicy{}, not_registered(row));
            return;
        }
        const RetryPolicy& policy = receiver->info.retry;
        nlohmann::json packed;
        try {
            packed = nlohmann::json::parse(row.payload);
        } catch (const std::exception& e) {
            fail(database, row, token, policy, e.what(), true);
            return;
        }
        if (!packed.is_array() || packed.size() != static_cast<std::size_t>(row.events)) {
            fail(database, row, token, policy,
                 "the packed row's payload is not a JSON array of its " +
                     std::to_string(row.events) + " events",
                 true);
            return;
        }
        const auto n = static_cast<int>(row.events);
        const std::int64_t now = detail::now_us();
        const auto finish_row = [&](std::int64_t done_events, const nlohmann::json* done_payload) {
            std::int64_t changed = 0;
            if (options.delete_done || done_events == 0) {
                changed = delete_row(database, row, token);
            } else {
                const std::vector<db::Value> params{
                    db::Value(now),
                    db::Value(static_cast<std::int64_t>(row.attempts)),
                    db::Value(done_events),
                    done_payload != nullptr ? db::Value(done_payload->dump()) : db::Value(db::null),
                    db::Value(row.id),
                    db::Value(token)};
                changed = database.execute(
                    detail::sql(database,
                                "UPDATE tocsin_outbox SET status = 'done', finished_at = ?1, "
                                "last_error = NULL, locked_by = NULL, locked_until = NULL, "
                                "attempts = ?2, events = ?3, payload = coalesce(?4, payload) "
                                "WHERE id = ?5 AND (locked_by = ?6 OR ?6 = '')"),
                    params);
            }
            if (changed == 0) {
                throw LeaseLost{};
            }
        };
        try {
            db::Atomic whole(options.database);
            if (row.attempts > policy.max_attempts) {
                const std::string error =
                    "attempt " + std::to_string(row.attempts) + " of " +
                    std::to_string(policy.max_attempts) +
                    " of a packed row was claimed but its worker stopped before finishing (it "
                    "died, or ran longer than the visibility timeout): its events were split";
                for (int i = 0; i < n; ++i) {
                    write_event_row(database, row, i, packed[static_cast<std::size_t>(i)],
                                    "pending", std::max(0, policy.max_attempts - 1), now,
                                    std::nullopt, error);
                }
                finish_row(0, nullptr);
                whole.commit();
                return;
            }
            std::vector<EventOutcome> outcomes(static_cast<std::size_t>(n));
            for (int i = 0; i < n; ++i) {
                EventOutcome& outcome = outcomes[static_cast<std::size_t>(i)];
                if (failure != nullptr && failure->event == i) {
                    outcome = {EventOutcome::Kind::failed, failure->error};
                    continue;
                }
                const Delivery delivery{
                    row.id,       row.queue,      row.receiver,     event_key(row, i),
                    row.attempts, row.created_at, options.database, i};
                try {
                    db::Atomic savepoint(options.database);
                    detail::RunResult result;
                    {
                        const CurrentDelivery current(delivery);
                        result = receiver->run(
                            {packed[static_cast<std::size_t>(i)], options.database, row.sender});
                    }
                    savepoint.commit();
                    if (result.skipped) {
                        outcome = {EventOutcome::Kind::skipped, std::move(result.note)};
                    }
                } catch (const std::exception& e) {
                    outcome = {EventOutcome::Kind::failed, e.what()};
                } catch (...) {
                    outcome = {EventOutcome::Kind::failed,
                               "the receiver threw something that is not a std::exception"};
                }
            }
            const bool is_dead = row.attempts >= policy.max_attempts;
            nlohmann::json done_events = nlohmann::json::array();
            std::uint64_t n_failed = 0;
            std::uint64_t n_skipped = 0;
            for (int i = 0; i < n; ++i) {
                const EventOutcome& outcome = outcomes[static_cast<std::size_t>(i)];
                const nlohmann::json& payload = packed[static_cast<std::size_t>(i)];
                switch (outcome.kind) {
                    case EventOutcome::Kind::done:
                        done_events.push_back(payload);
                        break;
                    case EventOutcome::Kind::skipped:
                        write_event_row(database, row, i, payload, "skipped", row.attempts, now,
                                        now, outcome.note);
                        ++n_skipped;
                        break;
                    case EventOutcome::Kind::failed:
                        write_event_row(database, row, i, payload, is_dead ? "dead" : "pending",
                                        row.attempts,
                                        is_dead ? now : now + backoff_us(policy, row.attempts),
                                        is_dead ? std::optional<std::int64_t>(now) : std::nullopt,
                                        outcome.note);
                        ++n_failed;
                        break;
                }
            }
            const auto n_done = static_cast<std::int64_t>(done_events.size());
            if (n_done == n) {
                finish_row(n_done, nullptr);
            } else if (n_done == 1) {
                finish_row(n_done, &done_events.front());
            } else {
                finish_row(n_done, &done_events);
            }
            whole.commit();
            done += static_cast<std::uint64_t>(n_done);
            skipped += n_skipped;
            failed += n_failed;
            if (is_dead) {
                dead += n_failed;
            }
        } catch (const LeaseLost&) {
            lost += static_cast<std::uint64_t>(n);
        } catch (const std::exception& e) {
            fail(database, row, token, policy, e.what());
        }
    }

    /// The careful run of @p rows, each row in a savepoint (a packed row: each event), after the
    /// batch run at once failed with @p failure. The event whose receiver threw is not run again:
    /// it failed, like any failed attempt.
    void run_carefully(db::Database& database, const std::vector<Claimed>& rows,
                       const std::string& token, const Failure& failure,
                       std::optional<std::int64_t> failed_id) {
        for (const Claimed& row : rows) {
            const bool threw = failed_id && *failed_id == row.id;
            if (row.events > 1) {
                handle_packed(database, row, token, threw ? &failure : nullptr);
            } else if (threw) {
                fail(database, row, token, failure.receiver->info.retry, failure.error);
            } else {
                handle(database, row, token);
            }
        }
    }

    /// Where this thread's next claim may start. The claim reads the pending rows' index in id
    /// order from its start, stepping over the entries of the rows claimed and deleted (or done)
    /// since the last vacuum, which a claim then pays for: 0.7 ms for 100 rows at the start of a
    /// backlog of 20,000, 2.2 ms after 10,000 of them were claimed (benchmarks.md, session 12).
    /// So the claim that follows a full batch of this thread starts after that batch's last id.
    /// A row with a smaller id that became ready meanwhile (a transaction that committed late,
    /// a retry whose backoff ended) waits for a claim from the start: when a claim after the
    /// hint finds less than a full batch (at once, in the same process_batch()), and every
    /// max_hinted_claims claims in a run of full batches.
    /// It also sizes the claim in rows: every row a claim's select finds is locked (a write
    /// on PostgreSQL), so when the last claim's rows were packed (several events each) the next
    /// one reads fewer rows, twice as many as the last claim's average row needs to fill a batch
    /// (at least 1, at most batch_size).
    struct ClaimHint {
        static constexpr int max_hinted_claims = 16;
        std::uint64_t owner = 0;  ///< the State::serial of the worker whose claim it follows
        std::int64_t after = 0;
        bool full = false;
        int run = 0;
        std::size_t rows = 0;  ///< the next claim's row limit (0: batch_size)

        [[nodiscard]] std::size_t limit(std::uint64_t state, int batch_size) const {
            const auto batch = static_cast<std::size_t>(batch_size);
            return owner != state || rows == 0 ? batch : std::min(rows, batch);
        }

        std::optional<std::int64_t> next(std::uint64_t state) {
            if (owner != state || !full || run >= max_hinted_claims) {
                run = 0;
                return std::nullopt;
            }
            ++run;
            return after;
        }
        /// @p batch_rows in id order, by a claim of at most @p limit rows; full: batch_size events
        /// or more, or @p limit rows (probably more).
        void record(std::uint64_t state, const std::vector<Claimed>& batch_rows, int batch_size,
                    std::size_t limit) {
            owner = state;
            const std::size_t events = events_of(batch_rows);
            const auto batch = static_cast<std::size_t>(batch_size);
            full = !batch_rows.empty() && (events >= batch || batch_rows.size() >= limit);
            if (full) {
                after = batch_rows.back().id;
            }
            if (!batch_rows.empty()) {
                // rows needed at the average row's events, doubled
                const std::size_t per_row = std::max<std::size_t>(1, events / batch_rows.size());
                rows = std::min(batch, 2 * ((batch + per_row - 1) / per_row));
            }
        }
    };
    static ClaimHint& claim_hint() {
        thread_local ClaimHint hint;
        return hint;
    }

    /// Claims one batch and runs it; returns how many events it claimed. A claim after the hint
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
            if (!after || claim_hint().full) {
                return total;
            }
        }
    }

    /// A lease's claim (the default) of the rows after @p after, and their run; how many events.
    std::size_t process_leased_batch(db::Database& database, std::optional<std::int64_t> after) {
        const std::string token = name + "#" + std::to_string(++claim_counter);
        const std::size_t limit = claim_hint().limit(serial, options.batch_size);
        const std::vector<Claimed> rows = claim(database, token, false, {}, false, after, limit);
        claim_hint().record(serial, rows, options.batch_size, limit);
        if (rows.empty()) {
            return 0;
        }
        const std::size_t events = events_of(rows);
        claimed += events;
        run_claimed(database, rows, token);
        return events;
    }

    /// WorkerOptions::lock_claims on PostgreSQL: the claim's row locks last as long as the
    /// batch's transaction, which writes nothing to claim; its rows are deleted or marked done
    /// by that transaction itself (not from a savepoint: a subtransaction that writes a row its
    /// parent locked makes a MultiXact, which costs more than the lease saved). When something
    /// fails the transaction rolls back (the locks go with it) and the careful path locks again
    /// those of the rows still ready — another worker may have taken some meanwhile, which is
    /// fine: each row is run under one lock at a time. A worker that dies releases its locks with
    /// its connection. Returns how many events it claimed.
    std::size_t process_locked_batch(db::Database& database, std::optional<std::int64_t> after) {
        std::vector<Claimed> rows;
        Failure failure;
        std::size_t events = 0;
        {
            db::Atomic held(options.database);
            // With delete_done the claim deletes the rows: a commit is their end, a rollback
            // (the careful path follows) brings them back.
            const std::size_t limit = claim_hint().limit(serial, options.batch_size);
            rows = claim(database, std::string(), true, {}, options.delete_done, after, limit);
            claim_hint().record(serial, rows, options.batch_size, limit);
            if (rows.empty()) {
                held.commit();
                return 0;
            }
            events = events_of(rows);
            claimed += events;
            if (run_batch_at_once(database, rows, std::string(), failure, false,
                                  options.delete_done)) {
                held.commit();
                return events;
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
        run_carefully(database, again, std::string(), failure, failed_id);
        held.commit();
        return events;
    }

    /// Runs the claimed @p rows: all at once, or when that fails row by row. @p token: the
    /// lease's.
    void run_claimed(db::Database& database, const std::vector<Claimed>& rows,
                     const std::string& token) {
        Failure failure;
        if (!run_batch_at_once(database, rows, token, failure, true, false)) {
            // Something in the batch failed (or needs care): it was rolled back as a whole; run
            // it again row by row, each in its savepoint (a packed row: each event). The event
            // whose receiver threw is not run again: it failed, like any failed attempt. When a
            // batch receiver threw, each of its events runs alone (a batch of one): the event at
            // fault is not known.
            std::optional<std::int64_t> failed_id;
            if (failure.row) {
                failed_id = rows[*failure.row].id;
            }
            db::Atomic batch(options.database);
            run_carefully(database, rows, token, failure, failed_id);
            batch.commit();
        }
    }

    /// One event of a claimed batch: its row, and its index there.
    struct Unit {
        std::size_t row = 0;
        int event = 0;
    };

    /// Loads the instances the batch's post_save events name: one SELECT per model (WHERE id IN
    /// ...), into @p out, where the receivers' load_save() takes them (null: the row is gone).
    void preload(const std::vector<Claimed>& rows, const std::vector<Unit>& units,
                 const std::vector<nlohmann::json>& payloads, detail::BatchInstances& out) {
        std::map<const ModelInfo*, std::vector<db::Value>> ids;
        for (std::size_t u = 0; u < units.size(); ++u) {
            const Claimed& row = rows[units[u].row];
            const nlohmann::json& p = payloads[u];
            if (row.signal != "post_save" || row.sender.empty() || !p.is_object()) {
                continue;
            }
            const auto pk = p.find("pk");
            if (pk == p.end() || !pk->is_number_integer()) {
                continue;
            }
            if (const ModelInfo* info = detail::model_by_label(row.sender); info != nullptr) {
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

    /// The fast path: every receiver of the batch in one transaction without savepoints (each
    /// event of a packed row in turn), the rows marked done by one UPDATE that also checks the
    /// claim. False (everything rolled back) when a receiver threw, a receiver is unknown or out
    /// of attempts, an event of a packed row was skipped, or a claim was taken over: the caller
    /// then runs the batch row by row. A receiver that threw is told in @p failure.
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
            std::vector<Unit> units;
            std::vector<nlohmann::json> payloads;
            receivers.reserve(rows.size());
            units.reserve(rows.size());
            payloads.reserve(rows.size());
            for (std::size_t i = 0; i < rows.size(); ++i) {
                const Claimed& row = rows[i];
                auto receiver = detail::find_receiver(row.receiver);
                if (!receiver || row.attempts > receiver->info.retry.max_attempts) {
                    return false;
                }
                receivers.push_back(std::move(receiver));
                nlohmann::json payload = nlohmann::json::parse(row.payload);
                if (row.events == 1) {
                    units.push_back(Unit{i, 0});
                    payloads.push_back(std::move(payload));
                    continue;
                }
                if (!payload.is_array() || payload.size() != static_cast<std::size_t>(row.events)) {
                    return false;
                }
                for (std::size_t k = 0; k < payload.size(); ++k) {
                    units.push_back(Unit{i, static_cast<int>(k)});
                    payloads.push_back(std::move(payload[k]));
                }
            }
            std::optional<db::Atomic> batch;
            if (own_transaction) {
                batch.emplace(options.database);
            }
            detail::BatchInstances instances;
            if (options.preload) {
                preload(rows, units, payloads, instances);
            }
            const BatchScope scope(&instances);
            std::size_t skipped_rows = 0;
            // The events of batch receivers (connect_batch), by receiver, in the batch's order:
            // each receiver is called once with all of them after the single receivers ran.
            std::vector<std::pair<const detail::RemoteReceiver*, std::vector<std::size_t>>> grouped;
            for (std::size_t u = 0; u < units.size(); ++u) {
                const std::size_t i = units[u].row;
                const Claimed& row = rows[i];
                if (receivers[i]->run_batch) {
                    const auto group =
                        std::find_if(grouped.begin(), grouped.end(),
                                     [&](const auto& g) { return g.first == receivers[i].get(); });
                    if (group == grouped.end()) {
                        grouped.emplace_back(receivers[i].get(), std::vector<std::size_t>{u});
                    } else {
                        group->second.push_back(u);
                    }
                    continue;
                }
                const Delivery delivery{
                    row.id,       row.queue,      row.receiver,     event_key(row, units[u].event),
                    row.attempts, row.created_at, options.database, units[u].event};
                detail::RunResult result;
                try {
                    const CurrentDelivery current(delivery);
                    result = receivers[i]->run({payloads[u], options.database, row.sender});
                } catch (const std::exception& e) {
                    failure = Failure{i, units[u].event, receivers[i], e.what()};
                    throw Fallback{};
                } catch (...) {
                    failure = Failure{i, units[u].event, receivers[i],
                                      "the receiver threw something that is not a std::exception"};
                    throw Fallback{};
                }
                if (result.skipped) {
                    if (row.events > 1) {
                        throw Fallback{};  // the event leaves its row: the careful path does it
                    }
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
                for (const std::size_t u : indices) {
                    const Claimed& row = rows[units[u].row];
                    deliveries.push_back(
                        Delivery{row.id, row.queue, row.receiver, event_key(row, units[u].event),
                                 row.attempts, row.created_at, options.database, units[u].event});
                }
                for (std::size_t k = 0; k < indices.size(); ++k) {
                    batch_rows.push_back(detail::BatchRow{&payloads[indices[k]], &deliveries[k]});
                }
                // When it throws, everything rolls back and the careful path runs each of its
                // events alone, so that only the events that fail again count a failed attempt.
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
            done += events_of(rows) - skipped_rows;  // a skipped row held one event
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
            if (!error && n > 0 && claim_hint().full) {
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
