// tocsin::db::PostgresqlBackend: a Backend on libpq, its statements and its error classification.
#include "tocsin/db/postgresql_backend.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "tocsin/db/error.hpp"
#include "tocsin/db/statement.hpp"

namespace tocsin::db {
namespace {

struct ResultDeleter {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// Type OIDs of the built-in types read specially (pg_type.h is a server header).
constexpr Oid oid_bool = 16;
constexpr Oid oid_bytea = 17;
constexpr Oid oid_int8 = 20;
constexpr Oid oid_int2 = 21;
constexpr Oid oid_int4 = 23;
constexpr Oid oid_oid = 26;
constexpr Oid oid_float4 = 700;
constexpr Oid oid_float8 = 701;
constexpr Oid oid_numeric = 1700;

std::string trimmed(const char* text) {
    std::string s = text != nullptr ? text : "";
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0)
        s.pop_back();
    return s;
}

std::string field(const PGresult* r, int code) {
    if (r == nullptr)
        return {};
    const char* v = PQresultErrorField(r, code);
    return v != nullptr ? std::string(v) : std::string();
}

bool blank(std::string_view sql) {
    return std::all_of(sql.begin(), sql.end(), [](char c) {
        return c == ';' || std::isspace(static_cast<unsigned char>(c)) != 0;
    });
}

/// "Key (a, b)=(1, 2) already exists." -> {a, b}.
std::vector<std::string> key_columns(const std::string& detail) {
    std::vector<std::string> columns;
    const auto open = detail.find("Key (");
    if (open == std::string::npos)
        return columns;
    const auto close = detail.find(")=", open);
    if (close == std::string::npos)
        return columns;
    std::string_view list = std::string_view(detail).substr(open + 5, close - open - 5);
    while (!list.empty()) {
        const auto comma = list.find(", ");
        std::string_view item = list.substr(0, comma);
        if (item.size() >= 2 && item.front() == '"' && item.back() == '"')
            item = item.substr(1, item.size() - 2);
        columns.emplace_back(item);
        if (comma == std::string_view::npos)
            break;
        list.remove_prefix(comma + 2);
    }
    return columns;
}

std::int64_t parse_int(const char* text, int length) {
    std::int64_t v = 0;
    std::from_chars(text, text + length, v);
    return v;
}

double parse_double(const char* text, int length) {
    const std::string_view s(text, static_cast<std::size_t>(length));
    if (s == "NaN")
        return std::nan("");
    if (s == "Infinity")
        return HUGE_VAL;
    if (s == "-Infinity")
        return -HUGE_VAL;
    double v = 0;
    std::from_chars(text, text + length, v);
    return v;
}

/// bytea's text output ("\x0a1b..."), decoded.
Blob parse_bytea(const char* text, int length) {
    Blob out;
    if (length >= 2 && text[0] == '\\' && text[1] == 'x') {
        out.reserve(static_cast<std::size_t>(length - 2) / 2);
        auto nibble = [](char c) -> int {
            if (c >= '0' && c <= '9')
                return c - '0';
            if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
            return c - 'A' + 10;
        };
        for (int i = 2; i + 1 < length; i += 2)
            out.push_back(static_cast<std::byte>(nibble(text[i]) * 16 + nibble(text[i + 1])));
        return out;
    }
    // The old escape format (bytea_output = escape).
    std::size_t size = 0;
    unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(text), &size);
    if (raw != nullptr) {
        out.resize(size);
        if (size != 0)
            std::memcpy(out.data(), raw, size);
        PQfreemem(raw);
    }
    return out;
}

// ---------------------------------------------------------------- the statement

class PostgresqlStatement final : public Statement {
  public:
    PostgresqlStatement(PostgresqlBackend& backend, std::string_view sql,
                        tocsin::source_location where)
        : Statement(std::string(sql)),
          backend_(&backend),
          conn_(backend.native_handle()),
          name_(backend.next_statement_name()) {
        if (blank(this->sql()))
            throw ProgrammingError("empty SQL statement", this->sql(), 0, where);
        Result prepared(PQprepare(conn_, name_.c_str(), this->sql().c_str(), 0, nullptr));
        if (!prepared || PQresultStatus(prepared.get()) != PGRES_COMMAND_OK)
            backend_->throw_result_error(prepared.get(), this->sql(), where);
        prepared_ = true;
        Result described(PQdescribePrepared(conn_, name_.c_str()));
        if (!described || PQresultStatus(described.get()) != PGRES_COMMAND_OK) {
            deallocate();
            backend_->throw_result_error(described.get(), this->sql(), where);
        }
        backend_->note_success();
        description_ = std::move(described);
        const auto n = static_cast<std::size_t>(PQnparams(description_.get()));
        buffers_.resize(n);
        values_.assign(n, nullptr);
        lengths_.assign(n, 0);
        formats_.assign(n, 0);
        quoted_.assign(n, false);
    }

    ~PostgresqlStatement() override { deallocate(); }

  protected:
    std::size_t do_parameter_count() const override { return values_.size(); }

    void do_bind(std::size_t index, ValueRef value, bool borrowed,
                 tocsin::source_location where) override {
        const std::size_t i = index - 1;
        std::string& buffer = buffers_[i];
        formats_[i] = 0;
        lengths_[i] = 0;
        quoted_[i] = std::holds_alternative<std::string_view>(value.storage());
        std::visit(
            [&](const auto& v) {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, Null>) {
                    values_[i] = nullptr;
                } else if constexpr (std::is_same_v<T, std::int64_t>) {
                    char text[24];
                    const auto end = std::to_chars(text, text + sizeof text, v).ptr;
                    buffer.assign(text, end);
                    values_[i] = buffer.c_str();
                } else if constexpr (std::is_same_v<T, double>) {
                    if (std::isnan(v)) {
                        buffer = "NaN";
                    } else if (std::isinf(v)) {
                        buffer = v > 0 ? "Infinity" : "-Infinity";
                    } else {
                        char text[32];
                        const auto end = std::to_chars(text, text + sizeof text, v).ptr;
                        buffer.assign(text, end);
                    }
                    values_[i] = buffer.c_str();
                } else if constexpr (std::is_same_v<T, std::string_view>) {
                    if (v.find('\0') != std::string_view::npos) {
                        throw DataError("text parameter " + std::to_string(index) +
                                            " contains a NUL character, which PostgreSQL text "
                                            "cannot hold (store it as a blob)",
                                        sql(), 0, where);
                    }
                    buffer.assign(v);  // text parameters must end with NUL: copied
                    values_[i] = buffer.c_str();
                } else {
                    if (v.size() > static_cast<std::size_t>(INT_MAX)) {
                        throw DataError("blob parameter " + std::to_string(index) + " has " +
                                            std::to_string(v.size()) +
                                            " bytes, more than libpq can send (2 GiB)",
                                        sql(), 0, where);
                    }
                    formats_[i] = 1;  // bytea in binary: the bytes themselves
                    lengths_[i] = static_cast<int>(v.size());
                    if (borrowed && !v.empty()) {
                        values_[i] = reinterpret_cast<const char*>(v.data());
                    } else {
                        buffer.assign(reinterpret_cast<const char*>(v.data()), v.size());
                        values_[i] = buffer.data();
                    }
                }
            },
            value.storage());
    }

    bool do_step(tocsin::source_location where) override {
        if (!executed_) {
            executed_ = true;
            if (backend_->observed())
                backend_->observe_statement(with_parameters());
            result_.reset(PQexecPrepared(conn_, name_.c_str(), static_cast<int>(values_.size()),
                                         values_.data(), lengths_.data(), formats_.data(), 0));
            const ExecStatusType status =
                result_ ? PQresultStatus(result_.get()) : PGRES_FATAL_ERROR;
            if (status == PGRES_TUPLES_OK) {
                rows_ = PQntuples(result_.get());
                const char* command = PQcmdStatus(result_.get());
                rows_affected_ = std::strncmp(command, "SELECT", 6) == 0
                                     ? 0
                                     : std::atoll(PQcmdTuples(result_.get()));
            } else if (status == PGRES_COMMAND_OK) {
                rows_ = 0;
                rows_affected_ = std::atoll(PQcmdTuples(result_.get()));
            } else {
                Result failed = std::move(result_);
                executed_ = false;
                backend_->throw_result_error(failed.get(), sql(), where);
            }
            backend_->note_success();
            row_ = -1;
        }
        if (row_ < rows_)
            ++row_;
        return row_ < rows_;
    }

    std::size_t do_column_count() const override {
        return static_cast<std::size_t>(PQnfields(result_ ? result_.get() : description_.get()));
    }

    std::string do_column_name(std::size_t index) const override {
        const char* name =
            PQfname(result_ ? result_.get() : description_.get(), static_cast<int>(index));
        return name != nullptr ? std::string(name) : std::string();
    }

    Value do_column(std::size_t index) const override {
        const PGresult* r = result_.get();
        const int c = static_cast<int>(index);
        if (PQgetisnull(r, row_, c) != 0)
            return Value();
        const char* text = PQgetvalue(r, row_, c);
        const int length = PQgetlength(r, row_, c);
        switch (PQftype(r, c)) {
            case oid_bool:
                return Value(std::int64_t{text[0] == 't' ? 1 : 0});
            case oid_int2:
            case oid_int4:
            case oid_int8:
            case oid_oid:
                return Value(parse_int(text, length));
            case oid_float4:
            case oid_float8:
                return Value(parse_double(text, length));
            case oid_numeric: {
                const std::string_view s(text, static_cast<std::size_t>(length));
                if (s.find_first_of(".eEN") == std::string_view::npos) {
                    std::int64_t v = 0;
                    const auto [end, ec] = std::from_chars(text, text + length, v);
                    if (ec == std::errc() && end == text + length)
                        return Value(v);
                }
                return Value(parse_double(text, length));
            }
            case oid_bytea:
                return Value(parse_bytea(text, length));
            default:
                return Value(std::string(text, static_cast<std::size_t>(length)));
        }
    }

    std::int64_t do_rows_affected() const override { return rows_affected_; }

    void do_reset() noexcept override {
        result_.reset();
        executed_ = false;
        rows_ = 0;
        row_ = -1;
        std::fill(values_.begin(), values_.end(), nullptr);
    }

  private:
    void deallocate() noexcept {
        if (!prepared_)
            return;
        prepared_ = false;
        // The server drops every prepared statement with the session: a lost connection needs
        // nothing; an aborted transaction refuses DEALLOCATE (the name stays unused until the
        // session ends).
        if (PQstatus(conn_) != CONNECTION_OK || backend_->closing() ||
            PQtransactionStatus(conn_) == PQTRANS_INERROR)
            return;
        const std::string sql = "DEALLOCATE " + name_;
        Result ignored(PQexec(conn_, sql.c_str()));
    }

    /// The SQL with each `$n` replaced by its value as a literal (what psycopg2's mogrify shows
    /// Django): NULL, numbers as they are, text and bytea quoted.
    std::string with_parameters() const {
        const std::string& text = sql();
        std::string out;
        for (std::size_t i = 0; i < text.size(); ++i) {
            const char c = text[i];
            if (c != '$' || i + 1 >= text.size() || text[i + 1] < '0' || text[i + 1] > '9') {
                out += c;
                continue;
            }
            std::size_t n = 0;
            std::size_t j = i + 1;
            while (j < text.size() && text[j] >= '0' && text[j] <= '9')
                n = n * 10 + static_cast<std::size_t>(text[j++] - '0');
            if (n == 0 || n > values_.size()) {
                out.append(text, i, j - i);
            } else if (values_[n - 1] == nullptr) {
                out += "NULL";
            } else if (formats_[n - 1] == 1) {
                static constexpr char hex[] = "0123456789abcdef";
                out += "'\\x";
                for (int k = 0; k < lengths_[n - 1]; ++k) {
                    const auto byte = static_cast<unsigned char>(values_[n - 1][k]);
                    out += hex[byte >> 4];
                    out += hex[byte & 15];
                }
                out += '\'';
            } else if (quoted_[n - 1]) {
                out += detail::sql_text_literal(values_[n - 1]);
            } else {
                out += values_[n - 1];
            }
            i = j - 1;
        }
        return out;
    }

    PostgresqlBackend* backend_;
    PGconn* conn_;
    std::string name_;
    bool prepared_ = false;
    bool executed_ = false;
    Result description_;
    Result result_;
    int rows_ = 0;
    int row_ = -1;
    std::int64_t rows_affected_ = 0;
    std::vector<std::string> buffers_;
    std::vector<const char*> values_;
    std::vector<int> lengths_;
    std::vector<int> formats_;
    std::vector<bool> quoted_;  // text parameters, written quoted by with_parameters()
};

// ---------------------------------------------------------------- settings

std::size_t cache_size(const Settings& settings) {
    const auto it = settings.options.find("statement_cache_size");
    if (it == settings.options.end())
        return 256;
    std::size_t n = 0;
    const std::string& value = it->second;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (value.empty() || ec != std::errc() || end != value.data() + value.size()) {
        throw ConfigurationError("postgresql option statement_cache_size=\"" + value +
                                 "\" is not a non-negative integer");
    }
    return n;
}

/// libpq's connection keywords (PQconndefaults()).
std::set<std::string, std::less<>> libpq_keywords() {
    std::set<std::string, std::less<>> out;
    PQconninfoOption* options = PQconndefaults();
    if (options == nullptr)
        return out;
    for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o)
        out.emplace(o->keyword);
    PQconninfoFree(options);
    return out;
}

}  // namespace

// ---------------------------------------------------------------- the backend

PostgresqlBackend::PostgresqlBackend(const Settings& settings, tocsin::source_location where)
    : Backend(cache_size(settings)) {
    const auto known = libpq_keywords();
    std::vector<std::pair<std::string, std::string>> params;
    auto add = [&](const char* key, const std::string& value) {
        if (!value.empty())
            params.emplace_back(key, value);
    };
    add("dbname", settings.name);
    add("user", settings.user);
    add("password", settings.password);
    add("host", settings.host);
    if (settings.port != 0)
        add("port", std::to_string(settings.port));
    for (const auto& [key, value] : settings.options) {
        if (key == "statement_cache_size")
            continue;
        if (known.find(key) == known.end()) {
            std::string list = "statement_cache_size";
            for (const auto& k : known)
                list += ", " + k;
            throw ConfigurationError("unknown postgresql option \"" + key +
                                         "\" (known: libpq's connection keywords: " + list + ")",
                                     where);
        }
        params.emplace_back(key, value);
    }
    params.emplace_back("client_encoding", "UTF8");
    std::vector<const char*> keys;
    std::vector<const char*> values;
    for (const auto& [k, v] : params) {
        keys.push_back(k.c_str());
        values.push_back(v.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    conn_ = PQconnectdbParams(keys.data(), values.data(), 0);
    if (conn_ == nullptr)
        throw OperationalError("cannot connect to postgresql: out of memory", where);

    const char* db = PQdb(conn_);
    const char* host = PQhost(conn_);
    const char* port = PQport(conn_);
    display_name_ = "postgresql database \"" + std::string(db != nullptr ? db : "") + "\"";
    if (host != nullptr && *host == '/') {
        display_name_ += " via socket in " + std::string(host);
    } else if (host != nullptr && *host != '\0') {
        display_name_ += " on " + std::string(host);
    }
    if (port != nullptr && *port != '\0')
        display_name_ += (host != nullptr && *host == '/' ? " port " : ":") + std::string(port);

    if (PQstatus(conn_) != CONNECTION_OK) {
        std::string message =
            "cannot connect to " + display_name_ + ": " + trimmed(PQerrorMessage(conn_));
        PQfinish(conn_);
        conn_ = nullptr;
        throw OperationalError(std::move(message), std::string(), 0, where);
    }
    // Server notices ("relation ... already exists, skipping") are not errors: dropped, as
    // Django drops them (PQsetNoticeProcessor on native_handle() to see them).
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
    features_.supports_returning = true;
    features_.supports_savepoints = true;
    features_.statement_error_aborts_transaction = true;
    features_.supports_transactional_ddl = true;
    features_.max_query_parameters = 65535;
    features_.prefers_last_insert_id = false;
    features_.has_select_for_update = true;
    features_.has_select_for_update_nowait = true;
    features_.has_select_for_update_skip_locked = true;
    features_.has_select_for_update_of = true;
    features_.has_select_for_no_key_update = true;
}

PostgresqlBackend::~PostgresqlBackend() {
    closing_ = true;
    statement_cache().clear();
    if (conn_ != nullptr)
        PQfinish(conn_);
}

std::shared_ptr<Backend> PostgresqlBackend::create(const Settings& settings,
                                                   tocsin::source_location where) {
    return std::make_shared<PostgresqlBackend>(settings, where);
}

int PostgresqlBackend::server_version() const noexcept {
    return PQserverVersion(conn_);
}

std::string PostgresqlBackend::placeholder(std::size_t index) const {
    return "$" + std::to_string(index);
}

std::string PostgresqlBackend::column_type(LogicalType type) const {
    switch (type) {
        case LogicalType::integer:
        case LogicalType::timestamp:
            return "BIGINT";
        case LogicalType::boolean:
            return "BOOLEAN";
        case LogicalType::real:
            return "DOUBLE PRECISION";
        case LogicalType::text:
            return "TEXT";
        case LogicalType::blob:
            return "BYTEA";
    }
    return "BYTEA";
}

std::string PostgresqlBackend::auto_primary_key_type() const {
    return "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY";
}

std::string PostgresqlBackend::defer_constraint_checks_sql() const {
    return "SET CONSTRAINTS ALL DEFERRED";
}

std::string PostgresqlBackend::sequence_reset_sql(std::string_view table,
                                                  std::string_view column) const {
    const std::string col = quote_name(column);
    return "SELECT setval(pg_get_serial_sequence(" + detail::sql_text_literal(quote_name(table)) +
           ", " + detail::sql_text_literal(column) + "), COALESCE(MAX(" + col + "), 1), MAX(" +
           col + ") IS NOT NULL) FROM " + quote_name(table);
}

std::vector<std::string> PostgresqlBackend::flush_sql(
    const std::vector<std::string>& tables,
    const std::vector<std::string>& reset_sequences_of) const {
    if (tables.empty()) {
        return {};
    }
    std::string sql = "TRUNCATE ";
    for (std::size_t i = 0; i < tables.size(); ++i) {
        sql += (i == 0 ? "" : ", ") + quote_name(tables[i]);
    }
    if (!reset_sequences_of.empty()) {
        sql += " RESTART IDENTITY";
    }
    return {sql};
}

std::int64_t PostgresqlBackend::last_insert_id() const {
    throw NotSupportedError(
        "postgresql has no last_insert_id(): read the id with INSERT ... RETURNING");
}

bool PostgresqlBackend::in_transaction() const noexcept {
    if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK)
        return false;
    const PGTransactionStatusType status = PQtransactionStatus(conn_);
    return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
}

bool PostgresqlBackend::check_usable() noexcept {
    if (connection_lost())
        return false;
    // A terminated session has a FATAL message and then the end of the stream waiting: reading
    // them (twice: the message, then the end) turns the status bad. Never blocks.
    for (int i = 0; i < 2 && PQstatus(conn_) == CONNECTION_OK; ++i) {
        if (PQconsumeInput(conn_) == 0)
            break;
    }
    if (PQstatus(conn_) != CONNECTION_OK) {
        set_connection_lost(true);
        return false;
    }
    return true;
}

std::string PostgresqlBackend::next_statement_name() {
    return "tocsin_" + std::to_string(++statement_counter_);
}

void PostgresqlBackend::note_success() noexcept {
    set_transaction_aborted(false);
}

std::unique_ptr<Statement> PostgresqlBackend::do_prepare(std::string_view sql, bool,
                                                         tocsin::source_location where) {
    return std::make_unique<PostgresqlStatement>(*this, sql, where);
}

void PostgresqlBackend::do_execute_script(std::string_view sql, tocsin::source_location where) {
    const std::string text(sql);
    observe(text);
    Result result(PQexec(conn_, text.c_str()));
    const ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY)
        throw_result_error(result.get(), sql, where);
    note_success();
}

void PostgresqlBackend::throw_result_error(const void* raw, std::string_view sql,
                                           tocsin::source_location where) {
    const auto* r = static_cast<const PGresult*>(raw);
    const bool lost = PQstatus(conn_) != CONNECTION_OK;
    if (lost)
        set_connection_lost(true);
    set_transaction_aborted(!lost && PQtransactionStatus(conn_) == PQTRANS_INERROR);

    const std::string state = field(r, PG_DIAG_SQLSTATE);
    std::string message = field(r, PG_DIAG_MESSAGE_PRIMARY);
    if (message.empty() && r != nullptr)
        message = trimmed(PQresultErrorMessage(r));
    if (message.empty())
        message = trimmed(PQerrorMessage(conn_));
    const std::string detail = field(r, PG_DIAG_MESSAGE_DETAIL);
    if (!detail.empty())
        message += " (" + detail + ")";
    const int code = state.size() == 5 ? pg_sqlstate_code(state) : 0;
    std::string text(sql);

    if (lost) {
        throw OperationalError("the connection to " + display_name_ + " was lost: " + message +
                                   " (the next use outside a transaction reconnects)",
                               std::move(text), code, where);
    }
    message += " (" + display_name_ + ")";
    const std::string_view cls =
        std::string_view(state).substr(0, std::min<std::size_t>(2, state.size()));
    if (cls == "23") {
        IntegrityError::Details details;
        if (state == "23505") {
            details.kind = IntegrityError::Kind::unique;
        } else if (state == "23502") {
            details.kind = IntegrityError::Kind::not_null;
        } else if (state == "23503") {
            details.kind = IntegrityError::Kind::foreign_key;
        } else if (state == "23514") {
            details.kind = IntegrityError::Kind::check;
        }
        details.table = field(r, PG_DIAG_TABLE_NAME);
        details.constraint = field(r, PG_DIAG_CONSTRAINT_NAME);
        if (std::string column = field(r, PG_DIAG_COLUMN_NAME); !column.empty()) {
            details.columns.push_back(std::move(column));
        } else if (details.kind != IntegrityError::Kind::check &&
                   detail.find("is still referenced") == std::string::npos) {
            // (A row still referenced: the key named is the referenced table's, not the
            // constraint's columns.)
            details.columns = key_columns(detail);
        }
        // The same summary as SQLite's, "UNIQUE constraint failed: table.column", then the
        // server's own words.
        std::string summary;
        switch (details.kind) {
            case IntegrityError::Kind::unique:
                summary = "UNIQUE";
                break;
            case IntegrityError::Kind::not_null:
                summary = "NOT NULL";
                break;
            case IntegrityError::Kind::foreign_key:
                summary = "FOREIGN KEY";
                break;
            case IntegrityError::Kind::check:
                summary = "CHECK";
                break;
            case IntegrityError::Kind::other:
                summary = "integrity";
                break;
        }
        summary += " constraint failed";
        if (!details.columns.empty()) {
            summary += ": ";
            for (std::size_t i = 0; i < details.columns.size(); ++i) {
                summary += (i == 0 ? "" : ", ") +
                           (details.table.empty() ? "" : details.table + ".") + details.columns[i];
            }
        } else if (!details.constraint.empty()) {
            summary += ": " + details.constraint;
        }
        throw IntegrityError(summary + ": " + message, std::move(details), std::move(text), code,
                             where);
    }
    if (state == "40001" || state == "40P01") {
        throw OperationalError(message +
                                   (state == "40001" ? " [serialization failure" : " [deadlock") +
                                   ": the transaction was rolled back and may be retried]",
                               std::move(text), code, where);
    }
    if (state == "55P03") {
        // SELECT ... FOR UPDATE NOWAIT (or a lock_timeout) met a row another transaction holds.
        throw OperationalError(message +
                                   " [lock not available: the row is locked by another "
                                   "transaction]",
                               std::move(text), code, where);
    }
    if (cls == "42" || cls == "21" || cls == "26" || cls == "34")
        throw ProgrammingError(std::move(message), std::move(text), code, where);
    if (cls == "22")
        throw DataError(std::move(message), std::move(text), code, where);
    if (cls == "0A")
        throw NotSupportedError(std::move(message), std::move(text), code, where);
    if ((cls == "25" && state != "25006") || cls == "3B" || cls == "2D")
        throw TransactionManagementError(std::move(message), std::move(text), code, where);
    throw OperationalError(std::move(message), std::move(text), code, where);
}

int pg_sqlstate_code(std::string_view sqlstate) noexcept {
    int code = 0;
    for (std::size_t i = 0; i < 5 && i < sqlstate.size(); ++i)
        code += ((sqlstate[i] - '0') & 0x3F) << (6 * i);
    return code;
}

std::string pg_sqlstate(int native_code) {
    std::string out;
    for (int i = 0; i < 5; ++i)
        out += static_cast<char>(((native_code >> (6 * i)) & 0x3F) + '0');
    return out;
}

}  // namespace tocsin::db
