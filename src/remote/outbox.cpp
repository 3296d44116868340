// The outbox table: its schema on both engines, the row a send writes, and what `manage outbox`
// reads, retries and purges.
#include "tocsin/remote/outbox.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "remote_internal.hpp"
#include "tocsin/db/database.hpp"
#include "tocsin/db/error.hpp"
#include "tocsin/remote/connect.hpp"

namespace tocsin::remote {

std::string_view to_string(Status status) noexcept {
    switch (status) {
        case Status::pending:
            return "pending";
        case Status::done:
            return "done";
        case Status::dead:
            return "dead";
        case Status::skipped:
            return "skipped";
    }
    return "pending";
}

Status status_from_string(std::string_view text) {
    for (const Status s : {Status::pending, Status::done, Status::dead, Status::skipped}) {
        if (to_string(s) == text) {
            return s;
        }
    }
    throw std::invalid_argument("unknown outbox status '" + std::string(text) +
                                "' (pending, done, dead, skipped)");
}

namespace detail {

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string new_idempotency_key() {
    thread_local std::mt19937_64 generator = [] {
        std::random_device device;
        std::seed_seq seed{
            device(),
            device(),
            device(),
            device(),
            static_cast<unsigned>(::getpid()),
            static_cast<unsigned>(std::hash<std::thread::id>{}(std::this_thread::get_id()))};
        return std::mt19937_64(seed);
    }();
    static constexpr char hex[] = "0123456789abcdef";
    std::string key(32, '0');
    for (int half = 0; half < 2; ++half) {
        std::uint64_t bits = generator();
        for (int i = 0; i < 16; ++i) {
            key[static_cast<std::size_t>(half * 16 + i)] = hex[bits & 0xFU];
            bits >>= 4U;
        }
    }
    return key;
}

std::string sql(db::Database& database, std::string_view text) {
    // The statements here are written with ?1, ?2...; PostgreSQL numbers them $1, $2...
    std::string out;
    out.reserve(text.size());
    const bool dollar = database.backend().placeholder(1) != "?1";
    for (const char c : text) {
        out += (c == '?' && dollar) ? '$' : c;
    }
    return out;
}

bool is_postgresql(db::Database& database) {
    return database.backend().vendor() == "postgresql";
}

}  // namespace detail

void create_outbox(std::string_view alias) {
    db::Database& database = db::connection(alias);
    db::Backend& backend = database.backend();
    const std::string big = backend.column_type(db::LogicalType::integer);
    const std::string text = backend.column_type(db::LogicalType::text);
    std::string script = "CREATE TABLE IF NOT EXISTS tocsin_outbox (id ";
    script += backend.auto_primary_key_type();
    script += ", queue " + text + " NOT NULL";
    script += ", signal " + text + " NOT NULL";
    script += ", receiver " + text + " NOT NULL";
    script += ", sender " + text + " NOT NULL";
    script += ", payload " + text + " NOT NULL";
    script += ", idempotency_key " + text + " NOT NULL UNIQUE";
    script += ", status " + text + " NOT NULL DEFAULT 'pending'";
    script += ", attempts " + big + " NOT NULL DEFAULT 0";
    script += ", created_at " + big + " NOT NULL";
    script += ", available_at " + big + " NOT NULL";
    script += ", locked_by " + text;
    script += ", locked_until " + big;
    script += ", finished_at " + big;
    script += ", last_error " + text;
    script += ", ordering_key " + text;
    // PostgreSQL: room on each page, so that a claim (which changes no indexed column) writes the
    // row's new version beside the old one without touching the indexes (a HOT update).
    script += detail::is_postgresql(database) ? ") WITH (fillfactor = 70);\n" : ");\n";
    // The claim reads pending rows in id order: a partial index holds exactly those.
    script +=
        "CREATE INDEX IF NOT EXISTS tocsin_outbox_pending ON tocsin_outbox (id) WHERE status = "
        "'pending';\n"
        "CREATE INDEX IF NOT EXISTS tocsin_outbox_queue ON tocsin_outbox (queue, receiver, "
        "status)";
    database.execute_script(script);
    // An outbox made before ordered receivers (0.2.0 development) lacks their column.
    bool has_ordering_key = false;
    if (detail::is_postgresql(database)) {
        has_ordering_key = !database
                                .query(
                                    "SELECT 1 FROM information_schema.columns WHERE table_name "
                                    "= 'tocsin_outbox' AND column_name = 'ordering_key' AND "
                                    "table_schema = ANY(current_schemas(false))")
                                .empty();
    } else {
        for (const auto& row : database.query("PRAGMA table_info(tocsin_outbox)")) {
            has_ordering_key = has_ordering_key || row.at(1).as_text() == "ordering_key";
        }
    }
    if (!has_ordering_key) {
        database.execute_script("ALTER TABLE tocsin_outbox ADD COLUMN ordering_key " + text);
    }
    // The claim of an ordered row asks whether an older row of its key is still pending.
    database.execute_script(
        "CREATE INDEX IF NOT EXISTS tocsin_outbox_ordered ON tocsin_outbox (ordering_key, id) "
        "WHERE status = 'pending' AND ordering_key IS NOT NULL");
}

namespace detail {

void enqueue(const RemoteReceiver& receiver, std::string_view alias, std::string_view sender,
             const std::string& payload, const std::string* ordering_key) {
    db::Database& database = db::connection(alias);
    const std::int64_t now = now_us();
    const std::vector<db::Value> params{
        db::Value(receiver.info.queue),
        db::Value(receiver.info.signal),
        db::Value(receiver.info.dispatch_uid),
        db::Value(sender),
        db::Value(payload),
        db::Value(new_idempotency_key()),
        db::Value(now),
        ordering_key != nullptr ? db::Value(*ordering_key) : db::Value(db::null)};
    try {
        if (is_postgresql(database)) {
            // One round trip: the row and a NOTIFY, which the server delivers at commit (and
            // drops on rollback); duplicates in one transaction are folded into one.
            (void)database.query(
                "WITH r AS (INSERT INTO tocsin_outbox (queue, signal, receiver, sender, payload, "
                "idempotency_key, created_at, available_at, ordering_key) VALUES ($1, $2, $3, $4, "
                "$5, $6, $7, $7, $8) RETURNING queue) SELECT pg_notify('tocsin_outbox', queue) "
                "FROM r",
                params);
        } else {
            database.execute(
                "INSERT INTO tocsin_outbox (queue, signal, receiver, sender, payload, "
                "idempotency_key, created_at, available_at, ordering_key) VALUES (?1, ?2, ?3, ?4, "
                "?5, ?6, ?7, ?7, ?8)",
                params);
        }
    } catch (const db::TransactionManagementError&) {
        throw;
    } catch (const db::ProgrammingError& e) {
        throw db::ProgrammingError("cannot write the outbox row of remote receiver '" +
                                       receiver.info.dispatch_uid + "' (signal " +
                                       receiver.info.signal + ", database '" + std::string(alias) +
                                       "'): " + e.message() +
                                       " -- is the outbox table there? `manage migrate` or "
                                       "tocsin::remote::create_outbox() "
                                       "creates it",
                                   e.sql(), e.native_code(), e.location());
    }
}

}  // namespace detail

namespace {

/// " AND queue = ?n AND receiver = ?m" for the filter, appending the values to @p params.
std::string filter_sql(const OutboxFilter& filter, std::vector<db::Value>& params,
                       bool with_status) {
    std::string where;
    const auto add = [&](std::string_view column, const std::string& value) {
        params.emplace_back(value);
        where += " AND ";
        where += column;
        where += " = ?" + std::to_string(params.size());
    };
    if (!filter.queue.empty()) {
        add("queue", filter.queue);
    }
    if (!filter.receiver.empty()) {
        add("receiver", filter.receiver);
    }
    if (with_status && filter.status) {
        add("status", std::string(to_string(*filter.status)));
    }
    return where;
}

std::optional<std::string> optional_text(const db::Value& v) {
    if (v.is_null()) {
        return std::nullopt;
    }
    return v.as_text();
}
std::optional<std::int64_t> optional_integer(const db::Value& v) {
    if (v.is_null()) {
        return std::nullopt;
    }
    return v.as_integer();
}

}  // namespace

std::vector<OutboxCounts> outbox_counts(const OutboxFilter& filter, std::string_view alias) {
    db::Database& database = db::connection(alias);
    std::vector<db::Value> params;
    const std::string where = filter_sql(filter, params, false);
    const std::string text =
        "SELECT queue, receiver, status, last_error IS NOT NULL, COUNT(*) FROM tocsin_outbox "
        "WHERE 1 = 1" +
        where +
        " GROUP BY queue, receiver, status, last_error IS NOT NULL ORDER BY queue, receiver";
    std::vector<OutboxCounts> out;
    for (const auto& row : database.query(detail::sql(database, text), params)) {
        const std::string& queue = row.at(0).as_text();
        const std::string& receiver = row.at(1).as_text();
        if (out.empty() || out.back().queue != queue || out.back().receiver != receiver) {
            out.push_back(OutboxCounts{.queue = queue, .receiver = receiver});
        }
        OutboxCounts& c = out.back();
        const std::int64_t n = row.at(4).as_integer();
        switch (status_from_string(row.at(2).as_text())) {
            case Status::pending:
                c.pending += n;
                if (row.at(3).as_integer() != 0) {
                    c.failed += n;
                }
                break;
            case Status::done:
                c.done += n;
                break;
            case Status::dead:
                c.dead += n;
                break;
            case Status::skipped:
                c.skipped += n;
                break;
        }
    }
    return out;
}

std::vector<OutboxRow> outbox_rows(const OutboxFilter& filter, std::size_t limit,
                                   std::string_view alias) {
    db::Database& database = db::connection(alias);
    std::vector<db::Value> params;
    std::string text =
        "SELECT id, queue, signal, receiver, sender, payload, idempotency_key, status, attempts, "
        "created_at, available_at, locked_by, locked_until, finished_at, last_error, "
        "ordering_key FROM tocsin_outbox WHERE 1 = 1" +
        filter_sql(filter, params, true) + " ORDER BY id";
    if (limit != 0) {
        text += " LIMIT " + std::to_string(limit);
    }
    std::vector<OutboxRow> out;
    for (const auto& row : database.query(detail::sql(database, text), params)) {
        OutboxRow r;
        r.id = row.at(0).as_integer();
        r.queue = row.at(1).as_text();
        r.signal = row.at(2).as_text();
        r.receiver = row.at(3).as_text();
        r.sender = row.at(4).as_text();
        r.payload = row.at(5).as_text();
        r.idempotency_key = row.at(6).as_text();
        r.status = status_from_string(row.at(7).as_text());
        r.attempts = static_cast<int>(row.at(8).as_integer());
        r.created_at = row.at(9).as_integer();
        r.available_at = row.at(10).as_integer();
        r.locked_by = optional_text(row.at(11));
        r.locked_until = optional_integer(row.at(12));
        r.finished_at = optional_integer(row.at(13));
        r.last_error = optional_text(row.at(14));
        r.ordering_key = optional_text(row.at(15));
        out.push_back(std::move(r));
    }
    return out;
}

std::int64_t retry_dead(const OutboxFilter& filter, std::string_view alias) {
    if (filter.status && *filter.status != Status::dead) {
        throw std::invalid_argument("only dead outbox rows can be retried (status '" +
                                    std::string(to_string(*filter.status)) + "' given)");
    }
    db::Database& database = db::connection(alias);
    std::vector<db::Value> params{db::Value(detail::now_us())};
    const std::string text =
        "UPDATE tocsin_outbox SET status = 'pending', attempts = 0, available_at = ?1, "
        "locked_by = NULL, locked_until = NULL, finished_at = NULL WHERE status = 'dead'" +
        filter_sql(filter, params, false);
    return database.execute(detail::sql(database, text), params);
}

std::int64_t purge(const OutboxFilter& filter, std::string_view alias) {
    db::Database& database = db::connection(alias);
    std::vector<db::Value> params{
        db::Value(std::string(to_string(filter.status.value_or(Status::done))))};
    const std::string text =
        "DELETE FROM tocsin_outbox WHERE status = ?1" + filter_sql(filter, params, false);
    return database.execute(detail::sql(database, text), params);
}

}  // namespace tocsin::remote
