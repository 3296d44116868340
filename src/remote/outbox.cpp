// The outbox table: its schema on both engines, the row a send writes, and what `manage outbox`
// reads, retries and purges.
#include "tocsin/remote/outbox.hpp"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include "remote_internal.hpp"
#include "tocsin/db/atomic.hpp"
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

namespace {

// The outbox's schema beyond its first columns, in one place: each list below makes both the DDL
// create_outbox() runs and the PostgreSQL catalog check that spares an outbox already current
// that DDL (outbox_is_current_postgresql()). A schema change edits the list alone.

/// PostgreSQL's storage parameters of the outbox, as `name=value` (the text pg_class.reloptions
/// holds): the CREATE TABLE's WITH (...), set again on an existing outbox (ALTER TABLE ... SET).
constexpr std::array<std::string_view, 1> table_options{
    // Room on each page, so that a claim (which changes no indexed column) writes the row's new
    // version beside the old one without touching the indexes (a HOT update). A claim takes
    // every row of a page at once (rows are written and claimed in id order), so the page must
    // have room for a second version of each: half empty. At 70 a page's last third of claims
    // were not HOT: 50 took the consume's server CPU per event from 55-58 to 38-39 us
    // (benchmarks.md, session 10).
    "fillfactor=50",
};

/// PostgreSQL: how a column's long values are compressed (TOAST), set on the outbox after its
/// CREATE TABLE (`ALTER COLUMN ... SET COMPRESSION`), where the server has the method (14 and
/// later, built with it: `default_toast_compression` may name it); elsewhere the default stays.
struct ColumnCompression {
    std::string_view column;
    std::string_view method;   ///< as SET COMPRESSION and default_toast_compression name it
    std::string_view catalog;  ///< as pg_attribute.attcompression holds it
};

constexpr std::array<ColumnCompression, 1> column_compressions{{
    // A packed row's payload (a JSON array: 3 KB for 100 events of 30 bytes) is past the 2 KB
    // TOAST threshold, so compressed as it is written; pglz led the server's profile. lz4 took the
    // server's insert from 0.81 to 0.33 us per event (3 KB rows), and produce + consume from 39.0
    // to 29.8 us per event with 300-byte events (outbox_bench --payload-bytes=300); its output is
    // 16 % (3 KB rows) to 35 % (32 KB rows of varied text) larger (benchmarks.md, session 14).
    {"payload", "lz4", "l"},
}};

/// A column added to the outbox after its first version: in the CREATE TABLE (last, in this
/// order) and added to an outbox made before it.
struct AddedColumn {
    std::string_view name;
    db::LogicalType type;
    std::string_view constraints;  ///< after the type, e.g. " NOT NULL DEFAULT 1"
};

constexpr std::array<AddedColumn, 2> added_columns{{
    // Ordered receivers (RemoteOptions::ordered, 0.2.0 development): "<dispatch_uid> <label>
    // <pk>", NULL for the others.
    {"ordering_key", db::LogicalType::text, ""},
    // How many events the row holds (a packed row, session 13: the sends of one transaction to
    // one receiver with one sender; its payload is then a JSON array of theirs). An older outbox
    // held one event per row.
    {"events", db::LogicalType::integer, " NOT NULL DEFAULT 1"},
}};

/// One of the outbox's indexes: `CREATE INDEX IF NOT EXISTS <name> ON tocsin_outbox <on>`.
struct OutboxIndex {
    std::string_view name;
    std::string_view on;  ///< the columns and the partial index's WHERE
};

constexpr std::array<OutboxIndex, 3> outbox_indexes{{
    // The claim reads pending rows in id order: a partial index holds exactly those.
    {"tocsin_outbox_pending", "(id) WHERE status = 'pending'"},
    // A worker of one queue whose rows are few among the pending ones (another queue's backlog)
    // reads them alone, in id order (PostgreSQL's plan for that claim used the (queue, receiver,
    // status) index; this one costs 20 % of a row's WAL, that one 15 % more).
    {"tocsin_outbox_pending_queue", "(queue, id) WHERE status = 'pending'"},
    // The claim of an ordered row asks whether an older row of its key is still pending.
    {"tocsin_outbox_ordered",
     "(ordering_key, id) WHERE status = 'pending' AND ordering_key IS NOT NULL"},
}};

/// Indexes of earlier versions, dropped: before session 12, (queue, receiver, status) instead of
/// the pending rows' (queue, id).
constexpr std::array<std::string_view, 1> dropped_indexes{"tocsin_outbox_queue"};

/// @p items as `'a', 'b'` (SQL text literals of names without quotes), for an IN list.
template <typename Range, typename Name>
std::string quoted_list(const Range& items, Name name) {
    std::string out;
    for (const auto& item : items) {
        out += out.empty() ? "'" : ", '";
        out += name(item);
        out += '\'';
    }
    return out;
}

/// table_options as a WITH (...) or SET (...) takes them.
std::string options_sql() {
    std::string out;
    for (const std::string_view option : table_options) {
        out += out.empty() ? "" : ", ";
        out += option;
    }
    return out;
}

/// The outbox's CREATE TABLE, named @p name.
std::string table_sql(db::Database& database, std::string_view name) {
    db::Backend& backend = database.backend();
    const std::string big = backend.column_type(db::LogicalType::integer);
    const std::string text = backend.column_type(db::LogicalType::text);
    std::string script = "CREATE TABLE IF NOT EXISTS ";
    script += name;
    script += " (id ";
    script += backend.auto_primary_key_type();
    script += ", queue " + text + " NOT NULL";
    script += ", signal " + text + " NOT NULL";
    script += ", receiver " + text + " NOT NULL";
    script += ", sender " + text + " NOT NULL";
    script += ", payload " + text + " NOT NULL";
    // 128 random bits (detail::new_idempotency_key), without an index: nothing looks a row up by
    // its key, and a unique index of random text cost 37 % of a row's WAL (benchmarks.md,
    // session 11). Two keys are equal with a probability of 1.5e-15 in 10^12 rows.
    script += ", idempotency_key " + text + " NOT NULL";
    script += ", status " + text + " NOT NULL DEFAULT 'pending'";
    script += ", attempts " + big + " NOT NULL DEFAULT 0";
    script += ", created_at " + big + " NOT NULL";
    script += ", available_at " + big + " NOT NULL";
    script += ", locked_by " + text;
    script += ", locked_until " + big;
    script += ", finished_at " + big;
    script += ", last_error " + text;
    for (const AddedColumn& column : added_columns) {
        script += ", ";
        script += column.name;
        script += ' ' + backend.column_type(column.type);
        script += column.constraints;
    }
    script += ')';
    if (detail::is_postgresql(database)) {
        script += " WITH (" + options_sql() + ")";
    }
    return script;
}

/// Whether the outbox has column @p column.
bool has_column(db::Database& database, std::string_view column) {
    if (detail::is_postgresql(database)) {
        return !database
                    .query(
                        "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('tocsin_outbox') "
                        "AND attname = $1 AND NOT attisdropped",
                        {db::Value(std::string(column))})
                    .empty();
    }
    for (const auto& row : database.query("PRAGMA table_info(tocsin_outbox)")) {
        if (row.at(1).as_text() == column) {
            return true;
        }
    }
    return false;
}

/// Removes the unique index on idempotency_key of an outbox made before 0.2.0's session 12
/// (`idempotency_key ... UNIQUE`). PostgreSQL drops the constraint; SQLite cannot drop the index
/// of a column constraint, so the table is made again under the new schema and its rows copied
/// (ids, and the sequence of ids, kept), in one transaction.
void drop_unique_key(db::Database& database, std::string_view alias) {
    if (detail::is_postgresql(database)) {
        for (const auto& row : database.query(
                 "SELECT conname FROM pg_constraint WHERE conrelid = to_regclass('tocsin_outbox') "
                 "AND contype = 'u'")) {
            std::string name = row.at(0).as_text();
            std::string quoted = "\"";
            for (const char c : name) {
                quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
            }
            quoted += '"';
            database.execute_script("ALTER TABLE tocsin_outbox DROP CONSTRAINT IF EXISTS " +
                                    quoted);
        }
        return;
    }
    bool unique = false;
    for (const auto& row : database.query("PRAGMA index_list(tocsin_outbox)")) {
        // seq, name, unique, origin ('u': a UNIQUE column constraint), partial
        unique = unique || (row.at(2).as_integer() != 0 && row.at(3).as_text() == "u");
    }
    if (!unique) {
        return;
    }
    static constexpr std::string_view columns =
        "id, queue, signal, receiver, sender, payload, idempotency_key, status, attempts, "
        "created_at, available_at, locked_by, locked_until, finished_at, last_error, ordering_key, "
        "events";
    db::atomic(alias, [&] {
        database.execute_script("DROP TABLE IF EXISTS tocsin_outbox_upgrade");
        database.execute_script(table_sql(database, "tocsin_outbox_upgrade"));
        database.execute_script("INSERT INTO tocsin_outbox_upgrade (" + std::string(columns) +
                                ") SELECT " + std::string(columns) + " FROM tocsin_outbox");
        // AUTOINCREMENT: no id of a row deleted before the upgrade is given again.
        database.execute_script(
            "UPDATE sqlite_sequence SET seq = max(seq, coalesce((SELECT seq FROM sqlite_sequence "
            "WHERE name = 'tocsin_outbox'), 0)) WHERE name = 'tocsin_outbox_upgrade';\n"
            "INSERT INTO sqlite_sequence (name, seq) SELECT 'tocsin_outbox_upgrade', seq FROM "
            "sqlite_sequence WHERE name = 'tocsin_outbox' AND NOT EXISTS (SELECT 1 FROM "
            "sqlite_sequence WHERE name = 'tocsin_outbox_upgrade');\n"
            "DROP TABLE tocsin_outbox;\n"
            "ALTER TABLE tocsin_outbox_upgrade RENAME TO tocsin_outbox");
    });
}

/// PostgreSQL: whether the server has every method of column_compressions (14 and later, built
/// with them: the values default_toast_compression accepts).
bool has_compression_methods(db::Database& database) {
    for (const ColumnCompression& column : column_compressions) {
        if (database
                .query(
                    "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND $1 = "
                    "ANY(enumvals)",
                    {db::Value(std::string(column.method))})
                .empty()) {
            return false;
        }
    }
    return true;
}

/// PostgreSQL: whether the outbox exists with this version's schema (fill factor, columns,
/// indexes; with @p compression, the columns' compression), read from the catalogs alone. DDL, even
/// `CREATE INDEX IF NOT EXISTS` of an index that exists, takes a lock on the table that waits for
/// every open transaction that wrote to it and holds back every new one meanwhile: a worker
/// starting beside busy producers must not take it.
bool outbox_is_current_postgresql(db::Database& database, bool compression) {
    const auto make = [](bool with_compression) {
        std::string text = "SELECT coalesce(c.reloptions @> ARRAY[" +
                           quoted_list(table_options, [](std::string_view o) { return o; }) +
                           "], false)";
        for (const ColumnCompression& column : column_compressions) {
            if (with_compression) {
                text +=
                    " AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = c.oid AND attname "
                    "= '";
                text += column.column;
                text += "' AND attcompression = '";
                text += column.catalog;
                text += "')";
            }
        }
        for (const AddedColumn& column : added_columns) {
            text +=
                " AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = c.oid AND attname = '";
            text += column.name;
            text += "' AND NOT attisdropped)";
        }
        text +=
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = c.oid AND contype = "
            "'u') AND (SELECT count(*) FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid "
            "WHERE i.indrelid = c.oid AND x.relname IN (" +
            quoted_list(outbox_indexes, [](const OutboxIndex& i) { return i.name; }) +
            ")) = " + std::to_string(outbox_indexes.size()) +
            " AND NOT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid "
            "WHERE i.indrelid = c.oid AND x.relname IN (" +
            quoted_list(dropped_indexes, [](std::string_view n) { return n; }) +
            ")) FROM pg_class c WHERE c.oid = to_regclass('tocsin_outbox')";
        return text;
    };
    static const std::array<std::string, 2> checks{make(false), make(true)};
    const auto current = database.query_value(checks[compression ? 1 : 0]);
    return current && !current->is_null() && current->as_integer() != 0;
}

}  // namespace

void create_outbox(std::string_view alias) {
    db::Database& database = db::connection(alias);
    const bool pg = detail::is_postgresql(database);
    const bool compression = pg && has_compression_methods(database);
    if (pg && outbox_is_current_postgresql(database, compression)) {
        return;
    }
    database.execute_script(table_sql(database, "tocsin_outbox"));
    if (pg) {
        // An outbox made with other storage parameters gets these (a fill factor for its new
        // pages), and its columns' compression (for the values written from now on).
        std::string script = "ALTER TABLE tocsin_outbox SET (" + options_sql() + ")";
        for (const ColumnCompression& column : column_compressions) {
            if (compression) {
                script += ", ALTER COLUMN " + std::string(column.column) + " SET COMPRESSION " +
                          std::string(column.method);
            }
        }
        database.execute_script(script);
    }
    // An outbox made before a column lacks it.
    for (const AddedColumn& column : added_columns) {
        if (!has_column(database, column.name)) {
            database.execute_script(
                "ALTER TABLE tocsin_outbox ADD COLUMN " + std::string(column.name) + " " +
                database.backend().column_type(column.type) + std::string(column.constraints));
        }
    }
    // Made before session 12: a unique index on the key (37 % of a row's WAL), and an index on
    // (queue, receiver, status) instead of the pending rows' (queue, id).
    drop_unique_key(database, alias);
    std::string indexes;
    for (const std::string_view name : dropped_indexes) {
        indexes += "DROP INDEX IF EXISTS " + std::string(name) + ";\n";
    }
    for (const OutboxIndex& index : outbox_indexes) {
        indexes += "CREATE INDEX IF NOT EXISTS " + std::string(index.name) + " ON tocsin_outbox " +
                   std::string(index.on) + ";\n";
    }
    database.execute_script(indexes);
}

namespace detail {

namespace {

/// An outbox row sent in a transaction, waiting for the transaction's end to be written: one
/// event, or once packed (pack()) the events of one receiver and sender.
struct PendingRow {
    std::string queue;
    std::string signal;
    std::string receiver;
    std::string sender;
    std::string payload;
    std::string idempotency_key;  ///< given when the row is written
    std::int64_t created_at = 0;
    std::optional<std::string> ordering_key;
    std::int64_t events = 1;
};

using PendingRows = std::vector<PendingRow>;

/// The rows of one transaction gathered for their write (see enqueue()); packed (and given their
/// keys) when the write first runs, and kept so: a savepoint rolled back after it wrote them has
/// it write them again.
struct Batch {
    PendingRows rows;
    bool packed = false;
};

/// Per connection of this thread, the batch still gathering rows for the write that runs last
/// before the commit; it goes when that write first runs. An entry whose batch was dropped (with
/// its write, when the transaction or a savepoint rolled back, or the connection closed) is
/// expired: the next send's batch replaces it.
thread_local std::map<const db::Database*, std::weak_ptr<Batch>> gathering;

std::vector<db::Value> row_params(const PendingRow& row) {
    return {db::Value(row.queue),
            db::Value(row.signal),
            db::Value(row.receiver),
            db::Value(row.sender),
            db::Value(row.payload),
            db::Value(row.idempotency_key),
            db::Value(row.created_at),
            row.ordering_key ? db::Value(*row.ordering_key) : db::Value(db::null),
            db::Value(row.events)};
}

constexpr std::string_view one_row_postgresql =
    // One round trip: the row and a NOTIFY, which the server delivers at commit (and drops on
    // rollback); duplicates in one transaction are folded into one.
    "WITH r AS (INSERT INTO tocsin_outbox (queue, signal, receiver, sender, payload, "
    "idempotency_key, created_at, available_at, ordering_key, events) VALUES ($1, $2, $3, $4, $5, "
    "$6, $7, $7, $8, $9) RETURNING queue) SELECT pg_notify('tocsin_outbox', queue) FROM r";
constexpr std::string_view one_row_sqlite =
    "INSERT INTO tocsin_outbox (queue, signal, receiver, sender, payload, idempotency_key, "
    "created_at, available_at, ordering_key, events) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, "
    "?9)";
/// Many rows, one array per column; in the arrays' order (ordered receivers read the ids).
constexpr std::string_view many_rows_postgresql =
    "WITH r AS (INSERT INTO tocsin_outbox (queue, signal, receiver, sender, payload, "
    "idempotency_key, created_at, available_at, ordering_key, events) SELECT q, s, rc, sd, p, k, "
    "c, c, o, e FROM unnest(CAST($1 AS text[]), CAST($2 AS text[]), CAST($3 AS text[]), CAST($4 "
    "AS text[]), CAST($5 AS text[]), CAST($6 AS text[]), CAST($7 AS bigint[]), CAST($8 AS "
    "text[]), CAST($9 AS bigint[])) WITH ORDINALITY AS t(q, s, rc, sd, p, k, c, o, e, n) ORDER BY "
    "n RETURNING queue) SELECT pg_notify('tocsin_outbox', queue) FROM (SELECT DISTINCT queue FROM "
    "r) d";

/// Appends @p text to the PostgreSQL array literal @p out as a quoted element.
void append_element(std::string& out, std::string_view text) {
    out += '"';
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    out += "\",";
}

/// The events of @p rows packed: one row per (queue, signal, receiver, sender) holding their
/// events in send order (its payload a JSON array of theirs when more than one), where the first
/// of them was; an ordered receiver's rows stay one per event (a failed event keeps its row, and
/// so its place before the later events of its instance). Each row gets its idempotency key.
PendingRows pack(PendingRows rows) {
    using Group =
        std::tuple<std::string_view, std::string_view, std::string_view, std::string_view>;
    // Each row's packed row, by views into the rows (unchanged until all are numbered).
    std::map<Group, std::size_t> groups;
    std::vector<std::size_t> target(rows.size());
    std::size_t count = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const PendingRow& row = rows[i];
        if (row.ordering_key) {
            target[i] = count++;
            continue;
        }
        const auto [it, fresh] =
            groups.try_emplace(Group{row.queue, row.signal, row.receiver, row.sender}, count);
        target[i] = it->second;
        if (fresh) {
            ++count;
        }
    }
    PendingRows out(count);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        PendingRow& packed = out[target[i]];
        if (packed.queue.empty()) {  // the first of its row: every row has a queue
            packed = std::move(rows[i]);
            continue;
        }
        if (packed.events == 1) {
            packed.payload.insert(packed.payload.begin(), '[');
        }
        packed.payload += ',';
        packed.payload += rows[i].payload;
        ++packed.events;
    }
    for (PendingRow& row : out) {
        if (row.events > 1) {
            row.payload += ']';
        }
        row.idempotency_key = new_idempotency_key();
    }
    return out;
}

/// SQLite: writes @p rows, one cached INSERT each (in-process), all or none: several in a
/// savepoint of their own, rolled back when one fails. A transaction's write that failed waits
/// to run again (Database::run_before_commit), and in manual transaction mode the transaction
/// goes on (no atomic block has to roll back): rows it left would then be written twice.
void write_rows_sqlite(db::Database& database, const PendingRows& rows) {
    if (rows.size() == 1) {  // one statement: undone by itself when it fails
        database.execute(one_row_sqlite, row_params(rows.front()));
        return;
    }
    static constexpr std::string_view name = "tocsin_outbox_write";
    const db::Backend& backend = database.backend();
    database.execute(backend.savepoint_sql(name));
    try {
        for (const PendingRow& row : rows) {
            database.execute(one_row_sqlite, row_params(row));
        }
    } catch (...) {
        try {
            database.execute(backend.rollback_to_savepoint_sql(name));
            database.execute(backend.release_savepoint_sql(name));
        } catch (const db::DatabaseError&) {
            // The error ended the transaction (SQLite rolls it back on some, e.g. a full disk):
            // the savepoint and the rows went with it.
        }
        throw;
    }
    database.execute(backend.release_savepoint_sql(name));
}

/// Writes @p rows: one statement on PostgreSQL (undone as a whole when it fails); on SQLite see
/// write_rows_sqlite().
void write_rows(db::Database& database, const PendingRows& rows) {
    if (rows.empty()) {
        return;
    }
    if (!is_postgresql(database)) {
        write_rows_sqlite(database, rows);
        return;
    }
    if (rows.size() == 1) {
        (void)database.query(one_row_postgresql, row_params(rows.front()));
        return;
    }
    std::array<std::string, 9> columns;
    for (std::string& c : columns) {
        c = "{";
    }
    for (const PendingRow& row : rows) {
        append_element(columns[0], row.queue);
        append_element(columns[1], row.signal);
        append_element(columns[2], row.receiver);
        append_element(columns[3], row.sender);
        append_element(columns[4], row.payload);
        append_element(columns[5], row.idempotency_key);
        columns[6] += std::to_string(row.created_at);
        columns[6] += ',';
        if (row.ordering_key) {
            append_element(columns[7], *row.ordering_key);
        } else {
            columns[7] += "NULL,";
        }
        columns[8] += std::to_string(row.events);
        columns[8] += ',';
    }
    std::vector<db::Value> params;
    params.reserve(9);
    for (std::string& c : columns) {
        c.back() = '}';
        params.emplace_back(std::move(c));
    }
    (void)database.query(many_rows_postgresql, params);
}

/// ProgrammingError @p e said again with what was being written and how to mend a missing table.
db::ProgrammingError explain(const db::ProgrammingError& e, const PendingRow& row,
                             std::string_view alias) {
    return db::ProgrammingError("cannot write the outbox row of remote receiver '" + row.receiver +
                                    "' (signal " + row.signal + ", database '" +
                                    std::string(alias) + "'): " + e.message() +
                                    " -- is the outbox table there? `manage migrate` or "
                                    "tocsin::remote::create_outbox() creates it",
                                e.sql(), e.native_code(), e.location());
}

/// Past this many rows waiting in a transaction they are written at once (memory stays bounded;
/// a savepoint rolled back later undoes them in the database).
constexpr std::size_t max_waiting_rows = 4096;

}  // namespace

void enqueue(const RemoteReceiver& receiver, std::string_view alias, std::string_view sender,
             const std::string& payload, const std::string* ordering_key) {
    db::Database& database = db::connection(alias);
    PendingRow row{
        receiver.info.queue,
        receiver.info.signal,
        receiver.info.dispatch_uid,
        std::string(sender),
        payload,
        std::string(),
        now_us(),
        ordering_key != nullptr ? std::optional<std::string>(*ordering_key) : std::nullopt};
    const std::string alias_name(alias);
    if (!database.in_atomic_block() && database.get_autocommit()) {
        // No transaction: the row's own write.
        try {
            write_rows(database, pack(PendingRows{row}));
        } catch (const db::TransactionManagementError&) {
            throw;
        } catch (const db::ProgrammingError& e) {
            throw explain(e, row, alias_name);
        }
        return;
    }
    // In a transaction the row waits for its end: a before_commit callback per row (a rolled-back
    // savepoint drops those of its block), which, run just before the COMMIT, gathers its row
    // into the batch written by a callback the first one registers, which runs after them all:
    // one statement for all the rows of the transaction.
    //
    // A callback may run again: when a savepoint made after it was registered, in which it ran,
    // rolls back (Database::before_commit). The write then writes its batch again (its rows
    // undone), so a row's callback run again adds its row only if the batch it joined is gone
    // (dropped with its write: that write was registered in the savepoint rolled back).
    database.before_commit(
        [&database, alias_name, row = std::move(row), joined = std::weak_ptr<Batch>()]() mutable {
            if (!joined.expired()) {
                return;  // its batch (and so its row) is still to be written
            }
            std::shared_ptr<Batch> batch = gathering[&database].lock();
            if (!batch) {
                batch = std::make_shared<Batch>();
                gathering[&database] = batch;
                database.before_commit([&database, alias_name, batch] {
                    if (!batch->packed) {
                        gathering.erase(&database);  // it takes no more rows
                        batch->rows = pack(std::move(batch->rows));
                        batch->packed = true;
                    }
                    try {
                        write_rows(database, batch->rows);
                    } catch (const db::TransactionManagementError&) {
                        throw;
                    } catch (const db::ProgrammingError& e) {
                        throw explain(e, batch->rows.front(), alias_name);
                    }
                });
            }
            batch->rows.push_back(row);  // a copy: it may be added again (see above)
            joined = batch;
        });
    if (database.pending_before_commit() >= max_waiting_rows) {
        database.run_before_commit();
    }
}

}  // namespace detail

void flush_outbox(std::string_view alias) {
    db::connection(alias).run_before_commit();
}

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

/// The sum of the first column of @p rows (the events of the rows a statement RETURNING events
/// changed).
std::int64_t sum_events(const std::vector<db::Row>& rows) {
    std::int64_t n = 0;
    for (const auto& row : rows) {
        n += row.at(0).as_integer();
    }
    return n;
}

}  // namespace

std::vector<OutboxCounts> outbox_counts(const OutboxFilter& filter, std::string_view alias) {
    db::Database& database = db::connection(alias);
    database.run_before_commit();  // the rows sent in the current transaction too
    std::vector<db::Value> params;
    const std::string where = filter_sql(filter, params, false);
    const std::string text =
        "SELECT queue, receiver, status, last_error IS NOT NULL, CAST(SUM(events) AS bigint) FROM "
        "tocsin_outbox "
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
    database.run_before_commit();  // the rows sent in the current transaction too
    std::vector<db::Value> params;
    std::string text =
        "SELECT id, queue, signal, receiver, sender, payload, idempotency_key, status, attempts, "
        "created_at, available_at, locked_by, locked_until, finished_at, last_error, "
        "ordering_key, events FROM tocsin_outbox WHERE 1 = 1" +
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
        r.events = row.at(16).as_integer();
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
        filter_sql(filter, params, false) + " RETURNING events";
    return sum_events(database.query(detail::sql(database, text), params));
}

std::int64_t purge(const OutboxFilter& filter, std::string_view alias) {
    db::Database& database = db::connection(alias);
    std::vector<db::Value> params{
        db::Value(std::string(to_string(filter.status.value_or(Status::done))))};
    const std::string text = "DELETE FROM tocsin_outbox WHERE status = ?1" +
                             filter_sql(filter, params, false) + " RETURNING events";
    return sum_events(database.query(detail::sql(database, text), params));
}

}  // namespace tocsin::remote
