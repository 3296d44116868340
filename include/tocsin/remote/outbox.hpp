// The outbox table of remote receivers: the events of a send to a remote receiver, written in
// the sender's transaction (one row per transaction, receiver and sender holding all its events:
// a packed row), claimed and marked by workers; and what `manage outbox` reads, retries and
// purges.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tocsin/db/default_alias.hpp"

namespace tocsin::remote {

/// The table every remote receiver's rows go to, in the database the signal was sent on.
inline constexpr std::string_view outbox_table = "tocsin_outbox";
/// The PostgreSQL channel a send NOTIFYs (payload: the queue) and workers LISTEN on.
inline constexpr std::string_view notify_channel = "tocsin_outbox";

/// Where an outbox row stands.
enum class Status {
    pending,  ///< waiting for a worker (new, or a failure waiting for its retry)
    done,     ///< the receiver ran and its transaction committed
    dead,     ///< failed max_attempts times: kept with its last error until retried or purged
    skipped,  ///< not run: the model instance it names was removed since (last_error says which)
};

/// "pending", "done", "dead", "skipped".
[[nodiscard]] std::string_view to_string(Status status) noexcept;
/// The Status spelled @p text; std::invalid_argument naming it for anything else.
[[nodiscard]] Status status_from_string(std::string_view text);

/// Creates the outbox table and its index on @p alias unless they exist (CREATE ... IF NOT
/// EXISTS, so it may run any number of times). migrate() does it too (a post_migrate receiver
/// added by the first remote::connect), and so does a Worker when it starts.
void create_outbox(std::string_view alias = db::default_alias);

/// Writes now the outbox rows sent so far in the current transaction on @p alias. They are
/// otherwise written just before its COMMIT, all with one statement, so that SQL run inside the
/// transaction does not see them; outbox_rows() and outbox_counts() call this first. Nothing to
/// do outside a transaction (a send there writes its row at once).
void flush_outbox(std::string_view alias = db::default_alias);

/// One row of the outbox. Times are microseconds since the Unix epoch, UTC, from the clock of
/// the process that wrote them. A row holds `events` events: the sends of one transaction to one
/// receiver with one sender (a packed row; ordered receivers' rows hold one event each).
struct OutboxRow {
    std::int64_t id = 0;
    std::string queue;     ///< RemoteOptions::queue
    std::string signal;    ///< the signal's name, e.g. "post_save"
    std::string receiver;  ///< the receiver's dispatch_uid
    std::string sender;    ///< the sender's label ("auth.User"), or "" for any sender
    /// The event's arguments, as JSON; with several events a JSON array of theirs, in send order.
    std::string payload;
    /// Unique per row; with several events, event i's Delivery::idempotency_key is this + "." + i.
    std::string idempotency_key;
    std::int64_t events = 1;  ///< how many events the row holds
    Status status = Status::pending;
    int attempts = 0;  ///< how many times a worker claimed it
    std::int64_t created_at = 0;
    std::int64_t available_at = 0;  ///< not claimed before (the retry's backoff)
    std::optional<std::string> locked_by;
    std::optional<std::int64_t> locked_until;  ///< the claim's visibility timeout
    std::optional<std::int64_t> finished_at;   ///< when it became done, dead or skipped
    std::optional<std::string> last_error;     ///< the last failure's what() (or why skipped)
    /// Ordered receivers (RemoteOptions::ordered): "<dispatch_uid> <label> <pk>"; a row is
    /// claimed only when no older row of its key is pending. nullopt for the others.
    std::optional<std::string> ordering_key;
};

/// Which rows an outbox call works on: empty members match everything.
struct OutboxFilter {
    std::string queue{};
    std::string receiver{};  ///< a dispatch_uid
    std::optional<Status> status{};
};

/// The events of one queue and receiver, counted by status (`manage outbox`): the sum of the
/// rows' `events`. `failed` counts the pending events that failed at least once (waiting for a
/// retry); they are in `pending` too.
struct OutboxCounts {
    std::string queue;
    std::string receiver;
    std::int64_t pending = 0;
    std::int64_t failed = 0;
    std::int64_t dead = 0;
    std::int64_t done = 0;
    std::int64_t skipped = 0;
};

/// Counts per (queue, receiver), ordered by queue then receiver. Only the filter's queue and
/// receiver are used.
[[nodiscard]] std::vector<OutboxCounts> outbox_counts(const OutboxFilter& filter = {},
                                                      std::string_view alias = db::default_alias);
/// The rows matching @p filter, by id, at most @p limit of them (0: all).
[[nodiscard]] std::vector<OutboxRow> outbox_rows(const OutboxFilter& filter = {},
                                                 std::size_t limit = 0,
                                                 std::string_view alias = db::default_alias);
/// Makes the dead rows matching @p filter pending again (attempts 0, available now; the last
/// error is kept until the next outcome). A filter status other than dead is an
/// std::invalid_argument. Returns how many events they hold.
std::int64_t retry_dead(const OutboxFilter& filter = {},
                        std::string_view alias = db::default_alias);
/// Deletes the rows matching @p filter whose status is @p filter.status (done when not given).
/// Returns how many events they held.
std::int64_t purge(const OutboxFilter& filter = {}, std::string_view alias = db::default_alias);

}  // namespace tocsin::remote
