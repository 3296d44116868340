// Worker: runs the remote receivers of the outbox rows of some queues, in this process
// (any process of the same program, on any machine that reaches the database).
//
//     tocsin::remote::handle_stop_signals();                   // SIGTERM/SIGINT stop gracefully
//     tocsin::remote::Worker({.queues = {"mail"}, .concurrency = 2}).run();
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tocsin/db/default_alias.hpp"

namespace tocsin::remote {

/// How a Worker works.
struct WorkerOptions {
    /// The queues it serves; empty: every queue.
    std::vector<std::string> queues{};
    /// Threads claiming and running batches, each on its own connection.
    int concurrency = 1;
    /// The database alias of the outbox (and of the receivers' transactions).
    std::string database{db::default_alias};
    /// Events claimed at once by a thread (one transaction runs them all): rows in id order
    /// while the events of those before number fewer than batch_size, so a claim holds at least
    /// one row and at most batch_size rows (a packed row holds several events: the sends of one
    /// transaction to one receiver).
    int batch_size = 100;
    /// How often a waiting worker looks at the outbox without being woken (SQLite always polls;
    /// PostgreSQL is woken by NOTIFY and polls as a fallback).
    std::chrono::milliseconds poll_interval{500};
    /// How long a claim holds its rows: a row claimed by a worker that died (or is still busy)
    /// is claimed again after this long.
    std::chrono::milliseconds visibility_timeout{std::chrono::seconds(30)};
    /// Names the worker in the rows it claims (locked_by); default "<host>:<pid>".
    std::string name{};
    /// PostgreSQL: LISTEN for the sends' NOTIFY on a connection of its own.
    bool listen = true;
    /// Loads the model instances a batch's rows name with one SELECT per model at the start of
    /// the batch's transaction, instead of one per row. An instance saved or removed through
    /// tocsin by an earlier receiver of the batch is loaded again; one changed by a query set's
    /// update() or raw SQL is not: turn this off when receivers do that to rows that later rows
    /// of the same batch name.
    bool preload = true;
    /// Deletes a row once its receiver ran and committed, in the same transaction, instead of
    /// marking it done: the done mark rewrites the row and its index entries (status is
    /// indexed), a delete does not, and the table stays small without `manage outbox --purge`.
    /// The lease check is the same (a row whose claim was taken over is not deleted, and its
    /// receiver's writes roll back); WorkerStats::done still counts them. Skipped, failed and
    /// dead rows stay. Off by default: done rows are then kept as a record until purged.
    bool delete_done = false;
    /// PostgreSQL: claims a batch by locking its rows (`SELECT ... FOR UPDATE SKIP LOCKED`) in
    /// the batch's transaction, held until its commit, instead of a lease written to the rows
    /// (an UPDATE of locked_by, locked_until and attempts per claim): no write per claim. The
    /// attempt is counted with the batch's outcome (done, failed, dead), so a batch whose worker
    /// died or lost its connection is not counted as an attempt (its locks went with the
    /// connection and the rows are claimed again at once, visibility_timeout plays no part): a
    /// receiver that kills its process is retried without end. A receiver that runs long keeps
    /// its rows (no takeover after visibility_timeout). With delete_done the claim itself deletes
    /// the rows (DELETE ... RETURNING), undone if the batch rolls back. When a receiver fails the
    /// batch rolls back and its rows still ready are locked again for the row-by-row run.
    /// Ignored on SQLite (a lease, as without).
    bool lock_claims = false;
};

/// What a Worker did, counted since it was made, in events (a packed row counts its events).
struct WorkerStats {
    std::uint64_t claimed = 0;  ///< events claimed
    std::uint64_t done = 0;     ///< events whose receivers ran and committed
    std::uint64_t failed = 0;   ///< events whose attempt threw (each waits for its retry)
    std::uint64_t dead = 0;     ///< events that became dead
    std::uint64_t skipped = 0;  ///< events whose model instance was removed since the send
    std::uint64_t lost = 0;     ///< events another worker had claimed again meanwhile (rolled back)
};

/// Claims outbox rows of its queues and runs their remote receivers (registered in this process
/// by remote::connect, found by dispatch_uid). Delivery is at least once; the effect is exactly
/// once for receivers that write through tocsin to the worker's database: a batch runs in one
/// transaction, each row in a savepoint holding the receiver's writes and the row's "done"
/// mark, which is refused (and the savepoint rolled back) when the claim was taken over. A batch
/// receiver (connect_batch) is called once with all its rows of the batch, in its transaction.
///
/// A receiver that throws is retried after its RetryPolicy's backoff and is dead after
/// max_attempts; a row whose receiver is not registered in this program fails the same way.
/// run() and drain() may be called from one thread at a time; stop() and stats() from any.
class Worker {
  public:
    /// A worker (nothing runs until run() or drain()).
    explicit Worker(WorkerOptions options = {});
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    /// Creates the outbox if missing, then runs `concurrency` threads claiming batches until
    /// stop() (or a stop signal after handle_stop_signals()): each thread finishes its batch and
    /// claims no more. Returns when all have ended. A database error is reported on std::cerr
    /// and the thread tries again after poll_interval.
    void run();
    /// Runs every row that is ready now in the calling thread, batch after batch, until none is
    /// left (rows waiting for a retry stay); returns how many events it claimed. For tests and
    /// cron-like use.
    std::size_t drain();
    /// Asks run() to stop after the current batches. Thread-safe; may be called before run().
    void stop() noexcept;
    /// The counts so far.
    [[nodiscard]] WorkerStats stats() const noexcept;
    /// The name written to locked_by.
    [[nodiscard]] const std::string& name() const noexcept;

  private:
    struct State;
    std::unique_ptr<State> state_;
};

/// Installs handlers for SIGTERM and SIGINT that make every Worker of the process stop
/// gracefully (finish the batch, claim no more). Idempotent.
void handle_stop_signals();
/// Whether a stop signal was received since handle_stop_signals().
[[nodiscard]] bool stop_signal_received() noexcept;

}  // namespace tocsin::remote
