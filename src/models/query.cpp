// Query sets: SQL built from declared columns and bound values only.
#include "tocsin/models/query.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

#include "tocsin/models/bulk_signals.hpp"

#include "id_chunks.hpp"
#include "tocsin/db/database.hpp"

namespace tocsin {

// ------------------------------------------------------------------------------- Condition

struct Condition::Node {
    enum class Kind { leaf, all_of, any_of, negation };
    Kind kind = Kind::leaf;
    // A leaf: `column op values`, or (Op::raw) the caller's text split at its `?`.
    std::string column;
    Op op = Op::eq;
    std::vector<db::Value> values;
    detail::Subselect subselect;          ///< Op::in_subselect only
    std::vector<std::string> raw_pieces;  ///< Op::raw only: the text around each `?`
    std::shared_ptr<const Node> a, b;
};

namespace detail {
Condition ConditionAccess::leaf(std::string column, Condition::Op op,
                                std::vector<db::Value> values) {
    auto node = std::make_shared<Condition::Node>();
    node->column = std::move(column);
    node->op = op;
    node->values = std::move(values);
    Condition c;
    c.node_ = std::move(node);
    return c;
}

Condition ConditionAccess::subselect(std::string column, Subselect subselect, db::Value value) {
    auto node = std::make_shared<Condition::Node>();
    node->column = std::move(column);
    node->op = Condition::Op::in_subselect;
    node->values.push_back(std::move(value));
    node->subselect = std::move(subselect);
    Condition c;
    c.node_ = std::move(node);
    return c;
}

void refuse_null(const db::Value& value) {
    if (value.is_null()) {
        throw ModelError("Cannot use None as a query value");
    }
}

Condition ConditionAccess::from_node(std::shared_ptr<const Condition::Node> node) {
    Condition c;
    c.node_ = std::move(node);
    return c;
}
}  // namespace detail

Condition raw_sql(std::string_view sql, std::vector<db::Value> params) {
    const auto fail = [&](const std::string& what) {
        return ModelError("raw_sql(\"" + std::string(sql) + "\"): " + what);
    };
    const auto identifier_char = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '$';
    };
    std::vector<std::string> pieces(1);
    for (std::size_t i = 0; i < sql.size(); ++i) {
        const char c = sql[i];
        const char next = i + 1 < sql.size() ? sql[i + 1] : '\0';
        std::size_t end = std::string_view::npos;  // the last character of a quoted run
        if (c == '\'' || c == '"' || c == '`' || c == '[') {
            end = sql.find(c == '[' ? ']' : c, i + 1);
            if (end == std::string_view::npos) {
                throw fail(std::string("unterminated ") + c);
            }
        } else if (c == '-' && next == '-') {
            end = sql.find('\n', i);
            end = end == std::string_view::npos ? sql.size() - 1 : end;
        } else if (c == '/' && next == '*') {
            end = sql.find("*/", i + 2);
            if (end == std::string_view::npos) {
                throw fail("unterminated /* comment");
            }
            ++end;
        } else if (c == '?') {
            if (std::isdigit(static_cast<unsigned char>(next)) != 0) {
                throw fail("numbered placeholders are not supported: write ? for each parameter");
            }
            pieces.emplace_back();
            continue;
        } else if ((c == ':' || c == '@' || c == '$') &&
                   (std::isalpha(static_cast<unsigned char>(next)) != 0 || next == '_') &&
                   (i == 0 || (!identifier_char(sql[i - 1]) && sql[i - 1] != ':'))) {
            throw fail("named placeholders are not supported: write ? for each parameter");
        }
        if (end != std::string_view::npos) {
            pieces.back().append(sql.substr(i, end - i + 1));
            i = end;
        } else {
            pieces.back() += c;
        }
    }
    if (pieces.size() - 1 != params.size()) {
        throw fail(std::to_string(pieces.size() - 1) + " placeholder(s) '?' but " +
                   std::to_string(params.size()) + " parameter(s)");
    }
    auto node = std::make_shared<Condition::Node>();
    node->op = Condition::Op::raw;
    node->values = std::move(params);
    node->raw_pieces = std::move(pieces);
    return detail::ConditionAccess::from_node(std::move(node));
}

Condition operator&&(const Condition& a, const Condition& b) {
    if (a.empty()) {
        return b;
    }
    if (b.empty()) {
        return a;
    }
    Condition c;
    c.node_ = std::make_shared<const Condition::Node>(
        Condition::Node{Condition::Node::Kind::all_of, {}, {}, {}, {}, {}, a.node_, b.node_});
    return c;
}

Condition operator||(const Condition& a, const Condition& b) {
    if (a.empty() || b.empty()) {
        return Condition{};  // everything
    }
    Condition c;
    c.node_ = std::make_shared<const Condition::Node>(
        Condition::Node{Condition::Node::Kind::any_of, {}, {}, {}, {}, {}, a.node_, b.node_});
    return c;
}

Condition operator!(const Condition& a) {
    if (a.empty()) {
        // Not everything = nothing.
        return detail::column_condition("id", Condition::Op::in, {});
    }
    Condition c;
    c.node_ = std::make_shared<const Condition::Node>(
        Condition::Node{Condition::Node::Kind::negation, {}, {}, {}, {}, {}, a.node_, nullptr});
    return c;
}

namespace {
/// How one condition is written for one query: the backend's dialect, the model it reads.
struct Renderer {
    const db::Backend& backend;
    const ModelInfo& model;
    std::string& sql;
    std::vector<db::Value>& params;

    /// The next parameter's placeholder, `value` bound to it.
    std::string bind(db::Value value) {
        params.push_back(std::move(value));
        return backend.placeholder(params.size());
    }

    /// `column` quoted, after checking it is "id" or a column of the model's fields.
    std::string column(const std::string& name) const {
        if (name != "id" && std::none_of(model.all_fields.begin(), model.all_fields.end(),
                                         [&](const FieldInfo* f) { return f->column == name; })) {
            std::vector<std::string> choices{"id"};
            for (const FieldInfo* f : model.all_fields) {
                choices.push_back(f->column);
            }
            std::sort(choices.begin(), choices.end());
            std::string list;
            for (const auto& c : choices) {
                list += (list.empty() ? "" : ", ") + c;
            }
            throw ModelError("Cannot resolve column '" + name + "' into a field of " +
                             model.label() + ". Choices are: " + list + ".");
        }
        return detail::quoted(backend, name);
    }

    /// `negated`: the node is under a NOT. A comparison with a NULL column is unknown in SQL,
    /// and NOT unknown is unknown: the row would be dropped by the negation too. As Django does,
    /// a comparison under a NOT also requires the column not to be NULL, so that `exclude(c)`
    /// keeps exactly the rows `filter(c)` leaves out.
    void node(const Condition::Node* n, bool negated) {
        using Kind = Condition::Node::Kind;
        switch (n->kind) {
            case Kind::leaf:
                leaf(*n, negated);
                return;
            case Kind::all_of:
            case Kind::any_of:
                sql += "(";
                node(n->a.get(), negated);
                sql += n->kind == Kind::all_of ? " AND " : " OR ";
                node(n->b.get(), negated);
                sql += ")";
                return;
            case Kind::negation:
                sql += "NOT (";
                node(n->a.get(), true);
                sql += ")";
                return;
        }
    }

    void leaf(const Condition::Node& l, bool negated) {
        using Op = Condition::Op;
        if (l.op == Op::raw) {
            sql += "(" + l.raw_pieces.front();
            for (std::size_t i = 0; i < l.values.size(); ++i) {
                sql += bind(l.values[i]) + l.raw_pieces[i + 1];
            }
            sql += ")";
            return;
        }
        const std::string col = column(l.column);
        const auto null_checked = [&](const std::string& test) {
            sql += negated ? "(" + test + " AND " + col + " IS NOT NULL)" : test;
        };
        switch (l.op) {
            case Op::is_null:
                sql += col + " IS NULL";
                return;
            case Op::is_not_null:
                sql += col + " IS NOT NULL";
                return;
            case Op::in_subselect: {
                const auto& sub = l.subselect;
                null_checked(col + " IN (SELECT " + detail::quoted(backend, sub.select_column) +
                             " FROM " + detail::quoted(backend, sub.table) + " WHERE " +
                             detail::quoted(backend, sub.where_column) + " = " +
                             bind(l.values.front()) + ")");
                return;
            }
            case Op::in: {
                if (l.values.empty()) {
                    sql += "1 = 0";
                    return;
                }
                std::string list;
                for (const auto& v : l.values) {
                    list += (list.empty() ? "" : ", ") + bind(v);
                }
                null_checked(col + " IN (" + list + ")");
                return;
            }
            case Op::range: {
                const std::string low = bind(l.values.at(0));
                null_checked(col + " BETWEEN " + low + " AND " + bind(l.values.at(1)));
                return;
            }
            case Op::eq:
            case Op::ne:
                if (l.values.front().is_null()) {
                    sql += col + (l.op == Op::eq ? " IS NULL" : " IS NOT NULL");
                    return;
                }
                null_checked(col + (l.op == Op::eq ? " = " : " != ") + bind(l.values.front()));
                return;
            case Op::lt:
                null_checked(col + " < " + bind(l.values.front()));
                return;
            case Op::le:
                null_checked(col + " <= " + bind(l.values.front()));
                return;
            case Op::gt:
                null_checked(col + " > " + bind(l.values.front()));
                return;
            case Op::ge:
                null_checked(col + " >= " + bind(l.values.front()));
                return;
            default:
                null_checked(pattern(l.op, col, l.values.front()));
                return;
        }
    }

    /// A text lookup. The `i` forms are `LIKE` with the text's `\`, `%` and `_` escaped (`ESCAPE
    /// '\'`), both sides UPPER()ed unless the engine's LIKE ignores case by itself. The
    /// case-sensitive forms are `LIKE` (case-sensitive in standard SQL) unless the backend writes
    /// them otherwise (Backend::case_sensitive_match_sql: SQLite, whose LIKE ignores case). The
    /// column is read as text as the backend says (Backend::lookup_cast_text, Django's
    /// lookup_cast: `CAST("id" AS TEXT)` on PostgreSQL, where an integer has no LIKE or UPPER()).
    std::string pattern(Condition::Op op, const std::string& column, const db::Value& value) {
        using Op = Condition::Op;
        const std::string col = backend.lookup_cast_text(column);
        const std::string* text = &value.as_text();  // Column's text lookups bind text
        if (op == Op::contains || op == Op::startswith || op == Op::endswith) {
            const db::TextMatch match = op == Op::contains     ? db::TextMatch::contains
                                        : op == Op::startswith ? db::TextMatch::startswith
                                                               : db::TextMatch::endswith;
            const std::size_t mark = params.size();
            std::string own = backend.case_sensitive_match_sql(match, col, bind(*text));
            if (!own.empty()) {
                return own;
            }
            // The backend wants LIKE: bind the escaped pattern instead.
            params.erase(params.begin() + static_cast<std::ptrdiff_t>(mark), params.end());
        }
        std::string escaped;
        for (const char c : *text) {
            if (c == '\\' || c == '%' || c == '_') {
                escaped += '\\';
            }
            escaped += c;
        }
        const bool any_start =
            op == Op::contains || op == Op::icontains || op == Op::endswith || op == Op::iendswith;
        const bool any_end = op == Op::contains || op == Op::icontains || op == Op::startswith ||
                             op == Op::istartswith;
        const std::string p = bind((any_start ? "%" : "") + escaped + (any_end ? "%" : ""));
        const bool fold =
            op == Op::iexact || op == Op::icontains || op == Op::istartswith || op == Op::iendswith;
        if (fold && !backend.features().like_ignores_case) {
            return "UPPER(" + col + ") LIKE UPPER(" + p + ") ESCAPE '\\'";
        }
        return col + " LIKE " + p + " ESCAPE '\\'";
    }
};
}  // namespace

void Condition::render(std::string& sql, std::vector<db::Value>& params, const db::Backend& backend,
                       const ModelInfo& model) const {
    if (!node_) {
        sql += "1 = 1";
        return;
    }
    Renderer{backend, model, sql, params}.node(node_.get(), false);
}

namespace {
void collect_equalities(const Condition::Node* n,
                        std::vector<std::pair<std::string, db::Value>>& out, bool& ok) {
    using Kind = Condition::Node::Kind;
    if (n->kind == Kind::leaf && n->op == Condition::Op::eq && n->values.size() == 1) {
        out.emplace_back(n->column, n->values.front());
    } else if (n->kind == Kind::all_of) {
        collect_equalities(n->a.get(), out, ok);
        collect_equalities(n->b.get(), out, ok);
    } else {
        ok = false;
    }
}

/// " WHERE …" for the query's condition (empty when it matches everything).
std::string where_clause(const detail::QueryParts& q, db::Backend& backend,
                         std::vector<db::Value>& params) {
    if (q.condition.empty()) {
        return {};
    }
    std::string sql = " WHERE ";
    q.condition.render(sql, params, backend, *q.info);
    return sql;
}
}  // namespace

std::vector<std::pair<std::string, db::Value>> Condition::equalities() const {
    std::vector<std::pair<std::string, db::Value>> out;
    bool ok = true;
    if (node_) {
        collect_equalities(node_.get(), out, ok);
    }
    return ok ? out : std::vector<std::pair<std::string, db::Value>>{};
}

// ------------------------------------------------------------------------------- query sets

namespace detail {

std::vector<std::string> names_except(const std::vector<const FieldInfo*>& fields,
                                      const std::vector<std::string>& kept) {
    std::vector<std::string> names;
    for (const FieldInfo* f : fields) {
        if (std::find(kept.begin(), kept.end(), f->name) == kept.end()) {
            names.push_back(f->name);
        }
    }
    return names;
}

void add_unique(std::vector<std::string>& names, std::string name) {
    if (std::find(names.begin(), names.end(), name) == names.end()) {
        names.push_back(std::move(name));
    }
}

std::string quoted(const db::Backend& backend, std::string_view name) {
    return backend.quote_name(name);
}

std::string from_clause(const ModelInfo& info, const db::Backend& backend) {
    const auto quoted = [&](std::string_view name) { return detail::quoted(backend, name); };
    if (info.parent == nullptr) {
        return quoted(info.table);
    }
    // (SELECT "child"."parent_ptr_id" AS "id", "root"."a" AS "a", …, "child"."b" AS "b"
    //  FROM "child" INNER JOIN "parent" ON "parent"."<its key>" = "child"."parent_ptr_id" …)
    //  AS "child" (each table's key column is its pk_column)
    auto chain = info.ancestors();
    std::reverse(chain.begin(), chain.end());
    chain.push_back(&info);
    const std::string self = quoted(info.table);
    const std::string self_key = self + "." + quoted(info.pk_column);
    std::string columns = self_key + " AS " + quoted("id");
    std::string joins;
    for (const ModelInfo* m : chain) {
        const std::string table = quoted(m->table);
        for (const FieldInfo& f : m->fields) {
            columns += ", " + table + "." + quoted(f.column) + " AS " + quoted(f.column);
        }
        if (m != &info) {
            joins += " INNER JOIN " + table + " ON " + table + "." + quoted(m->pk_column) + " = " +
                     self_key;
        }
    }
    return "(SELECT " + columns + " FROM " + self + joins + ") AS " + self;
}

namespace {
/// select_for_update(of=...)'s names for `model`: "self", then each parent link followed from
/// it ("event_ptr", "event_ptr__base_ptr"), as Django lists them.
std::vector<std::string> lock_of_choices(const ModelInfo& model) {
    std::vector<std::string> choices{"self"};
    std::string path;
    for (const ModelInfo* m = &model; m->parent != nullptr; m = m->parent) {
        std::string link = m->pk_column;  // "<parent>_ptr_id"
        if (link.size() > 3 && link.compare(link.size() - 3, 3, "_id") == 0) {
            link.resize(link.size() - 3);
        }
        path += (path.empty() ? "" : "__") + link;
        choices.push_back(path);
    }
    return choices;
}

/// The locking clause of `q` on `database` (" FOR UPDATE ..."), or empty when it locks nothing
/// or the backend cannot lock rows. Throws TransactionManagementError outside a transaction.
std::string locking_clause(const QueryParts& q, db::Database& database) {
    if (!q.lock) {
        return {};
    }
    auto& backend = database.backend(q.where);
    const db::Features& features = backend.features();
    if (!features.has_select_for_update) {
        return {};  // SQLite: accepted, nothing to add (Django's has_select_for_update = False)
    }
    if (database.get_autocommit()) {
        throw db::TransactionManagementError(
            "select_for_update cannot be used outside of a transaction.", q.where);
    }
    const SelectForUpdate& lock = *q.lock;
    if (lock.nowait && !features.has_select_for_update_nowait) {
        throw db::NotSupportedError("NOWAIT is not supported on this database backend.", q.where);
    }
    if (lock.skip_locked && !features.has_select_for_update_skip_locked) {
        throw db::NotSupportedError("SKIP LOCKED is not supported on this database backend.",
                                    q.where);
    }
    if (!lock.of.empty() && !features.has_select_for_update_of) {
        throw db::NotSupportedError("FOR UPDATE OF is not supported on this database backend.",
                                    q.where);
    }
    if (lock.no_key && !features.has_select_for_no_key_update) {
        throw db::NotSupportedError("FOR NO KEY UPDATE is not supported on this database backend.",
                                    q.where);
    }
    // Every name is the model's table, or (a model extending another) the derived table that
    // joins its ancestors' under the model's table name: one table to name.
    const std::string of = lock.of.empty() ? std::string() : quoted(backend, q.info->table);
    return " " + backend.for_update_sql(lock.nowait, lock.skip_locked, of, lock.no_key);
}
}  // namespace

void check_select_for_update(const ModelInfo& model, const SelectForUpdate& options) {
    if (options.nowait && options.skip_locked) {
        throw ModelError("The nowait option cannot be used with skip_locked.");
    }
    if (options.of.empty()) {
        return;
    }
    const auto choices = lock_of_choices(model);
    std::string invalid;
    for (const auto& name : options.of) {
        if (std::find(choices.begin(), choices.end(), name) == choices.end()) {
            invalid += (invalid.empty() ? "" : ", ") + name;
        }
    }
    if (!invalid.empty()) {
        std::string list;
        for (const auto& c : choices) {
            list += (list.empty() ? "" : ", ") + c;
        }
        throw ModelError("Invalid field name(s) given in select_for_update(of=(...)): " + invalid +
                         ". Only relational fields followed in the query are allowed. Choices "
                         "are: " +
                         list + ".");
    }
}

namespace {
/// " ORDER BY …" of `q`, or "".
std::string order_clause(const QueryParts& q, const db::Backend& backend) {
    std::string sql;
    for (std::size_t i = 0; i < q.order.size(); ++i) {
        sql += (i == 0 ? " ORDER BY " : ", ") + quoted(backend, q.order[i].first) +
               (q.order[i].second ? " DESC" : " ASC");
    }
    return sql;
}
}  // namespace

void throw_negative_index() {
    throw ModelError("Negative indexing is not supported.");
}

void set_limits(QueryParts& q, std::optional<std::uint64_t> low,
                std::optional<std::uint64_t> high) {
    // Django's Query.set_limits, on (offset, offset + limit); bounds past what SQL's BIGINT
    // holds are held there.
    static constexpr auto most =
        static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    const auto add = [](std::uint64_t a, std::uint64_t b) -> std::uint64_t {
        a = std::min(a, most);
        return b > most - a ? most : a + b;
    };
    std::uint64_t lo = q.offset;
    std::optional<std::uint64_t> hi;
    if (q.limit) {
        hi = add(lo, *q.limit);
    }
    if (high) {
        hi = hi ? std::min(*hi, add(lo, *high)) : add(lo, *high);
    }
    if (low) {
        lo = hi ? std::min(*hi, add(lo, *low)) : add(lo, *low);
    }
    q.offset = static_cast<std::size_t>(lo);
    q.limit = hi ? std::optional<std::size_t>(static_cast<std::size_t>(*hi - lo)) : std::nullopt;
}

std::string limit_clause(const QueryParts& q, const db::Backend& backend) {
    std::string sql;
    if (q.limit) {
        sql += " LIMIT " + std::to_string(*q.limit);
    }
    if (q.offset != 0) {
        const std::string_view no_limit = backend.features().no_limit_value;
        if (!q.limit && !no_limit.empty()) {
            sql += " LIMIT " + std::string(no_limit);
        }
        sql += " OFFSET " + std::to_string(q.offset);
    }
    return sql;
}

std::vector<db::Row> fetch_rows(const QueryParts& q) {
    auto& database = db::connection(q.database, q.where);
    std::vector<db::Value> params;
    auto& backend = database.backend();
    std::string columns;
    if (q.deferred.empty()) {
        columns = q.info->select_list(backend);
    } else {  // only() / defer(): "id" and the loaded fields' columns, in field order
        columns = quoted(backend, "id");
        for (const FieldInfo* f : q.info->all_fields) {
            if (std::find(q.deferred.begin(), q.deferred.end(), f->name) == q.deferred.end()) {
                columns += ", " + quoted(backend, f->column);
            }
        }
    }
    std::string sql = "SELECT " + columns + " FROM " + from_clause(*q.info, backend) +
                      where_clause(q, backend, params);
    sql += order_clause(q, backend);
    sql += limit_clause(q, backend);
    sql += locking_clause(q, database);
    return database.query(sql, params, q.where);
}

std::size_t count_rows(const QueryParts& q) {
    auto& database = db::connection(q.database, q.where);
    std::vector<db::Value> params;
    auto& backend = database.backend();
    const std::string from = from_clause(*q.info, backend) + where_clause(q, backend, params);
    // A sliced query set counts the rows of its slice only, as Django's does.
    const std::string sql = is_sliced(q)
                                ? "SELECT COUNT(*) FROM (SELECT " + quoted(backend, "id") +
                                      " FROM " + from + limit_clause(q, backend) + ") AS sliced"
                                : "SELECT COUNT(*) FROM " + from;
    const auto rows = database.query(sql, params, q.where);
    return static_cast<std::size_t>(rows.at(0).at(0).as_integer());
}

namespace {
/// QuerySet::update on a model extending another: the ids matching first (an assignment may
/// change what the condition reads), then per table that holds assigned columns the UPDATEs of
/// those ids, a few hundred per statement (id_chunks.hpp). Returns how many objects matched.
std::int64_t update_inherited_rows(const QueryParts& q,
                                   const std::vector<Assignment>& assignments) {
    auto& database = db::connection(q.database, q.where);
    auto& backend = database.backend(q.where);
    std::vector<const ModelInfo*> chain;  // the model, then its ancestors
    for (const ModelInfo* m = q.info; m != nullptr; m = m->parent) {
        chain.push_back(m);
    }
    // One transaction: the tables change together or not at all.
    const AtomicOptions block{.alias = q.database, .savepoint = false};
    return db::detail::atomic_at(q.where, block, [&]() -> std::int64_t {
        std::vector<db::Value> params;
        const std::string select = "SELECT " + quoted(backend, "id") + " FROM " +
                                   from_clause(*q.info, backend) + where_clause(q, backend, params);
        const auto rows = database.query(select, params, q.where);
        if (rows.empty()) {
            return 0;
        }
        std::vector<db::Value> ids;
        ids.reserve(rows.size());
        for (const auto& row : rows) {
            ids.push_back(row.at(0));
        }
        for (const ModelInfo* m : chain) {
            std::vector<db::Value> set_params;
            std::string sets;
            for (const auto& a : assignments) {
                if (std::none_of(m->fields.begin(), m->fields.end(),
                                 [&](const FieldInfo& f) { return f.column == a.column(); })) {
                    continue;
                }
                set_params.push_back(a.value());
                sets += (sets.empty() ? "" : ", ") + quoted(backend, a.column()) + " = " +
                        backend.placeholder(set_params.size());
            }
            if (sets.empty()) {
                continue;
            }
            execute_in_chunks(database,
                              "UPDATE " + quoted(backend, m->table) + " SET " + sets + " WHERE " +
                                  quoted(backend, m->pk_column) + " IN ",
                              set_params, ids, q.where);
        }
        if (post_update.has_listeners(q.info->sender)) {
            // As for a model without parents: the fields named as declared, the ids in order.
            UpdateEvent event;
            event.database = q.database;
            for (const auto& a : assignments) {
                std::string name = a.column();
                for (const ModelInfo* m : chain) {
                    for (const auto& f : m->fields) {
                        if (f.column == a.column()) {
                            name = f.name;
                        }
                    }
                }
                event.fields.push_back(std::move(name));
            }
            for (const auto& id : ids) {
                event.pks.push_back(id.as_integer());
            }
            std::sort(event.pks.begin(), event.pks.end());
            post_update.send(q.info->sender, event);
        }
        return static_cast<std::int64_t>(rows.size());
    });
}
}  // namespace

std::int64_t update_rows(const QueryParts& q, const std::vector<Assignment>& assignments) {
    if (is_sliced(q)) {
        throw ModelError("Cannot update a query once a slice has been taken.");
    }
    if (assignments.empty()) {
        return 0;
    }
    for (const auto& a : assignments) {
        // assign() takes declared fields only; one of another model is refused here.
        const bool known = (a.column() == "id" && q.info->parent == nullptr) ||
                           std::any_of(q.info->all_fields.begin(), q.info->all_fields.end(),
                                       [&](const FieldInfo* f) { return f->column == a.column(); });
        if (!known) {
            throw ModelError("Cannot update " + q.info->label() + ": it has no column '" +
                             a.column() + "'.");
        }
    }
    if (q.info->parent != nullptr) {
        return update_inherited_rows(q, assignments);
    }
    auto& database = db::connection(q.database, q.where);
    auto& backend = database.backend(q.where);
    std::vector<db::Value> params;
    std::string sql = "UPDATE " + quoted(backend, q.info->table) + " SET ";
    for (std::size_t i = 0; i < assignments.size(); ++i) {
        params.push_back(assignments[i].value());
        sql += (i == 0 ? "" : ", ") + quoted(backend, assignments[i].column()) + " = " +
               backend.placeholder(params.size());
    }
    sql += where_clause(q, backend, params);
    if (!post_update.has_listeners(q.info->sender)) {
        return database.mark_for_rollback_on_error(
            [&] { return database.execute(sql, params, q.where); });
    }
    // A receiver asked: read the ids the UPDATE will change, in the same transaction.
    return db::detail::atomic_at(q.where, AtomicOptions{.alias = q.database}, [&] {
        UpdateEvent event;
        event.database = q.database;
        for (const auto& a : assignments) {
            std::string name = a.column();
            for (const auto& f : q.info->fields) {
                if (f.column == a.column()) {
                    name = f.name;
                }
            }
            event.fields.push_back(std::move(name));
        }
        std::vector<db::Value> select_params;  // the condition, numbered from 1
        const std::string id = quoted(backend, "id");
        std::string select = "SELECT " + id + " FROM " + quoted(backend, q.info->table) +
                             where_clause(q, backend, select_params) + " ORDER BY " + id;
        for (const auto& row : database.query(select, select_params, q.where)) {
            event.pks.push_back(row.at(0).as_integer());
        }
        const std::int64_t changed = database.execute(sql, params, q.where);
        if (!event.pks.empty()) {
            post_update.send(q.info->sender, event);
        }
        return changed;
    });
}

void load_row(ModelBase& instance, const ModelInfo& info, const db::Row& row,
              std::string_view database, const std::vector<std::string>& deferred) {
    const InitEvent event{&row};
    pre_init.send(info.sender, instance, event);
    instance.id = row.at(0).as_integer();
    if (deferred.empty()) {
        for (std::size_t i = 0; i < info.all_fields.size(); ++i) {
            info.all_fields[i]->set(instance, row.at(i + 1));
        }
        if (!instance.state().deferred.empty()) {
            instance.state().deferred.clear();
        }
    } else {
        // The row holds the loaded fields only, in field order; the others keep their value.
        std::vector<std::string> skipped;
        std::size_t column = 1;
        for (const FieldInfo* f : info.all_fields) {
            if (std::find(deferred.begin(), deferred.end(), f->name) != deferred.end()) {
                skipped.push_back(f->name);
                continue;
            }
            f->set(instance, row.at(column++));
        }
        instance.state().deferred = std::move(skipped);
    }
    if (info.tracks_changes()) [[unlikely]] {
        SnapshotAccess::set(instance, take_snapshot(instance, info));
    }
    post_init.send(info.sender, instance, event);
    instance.state().adding = false;
    instance.state().database = std::string(database);
}

namespace {
/// The most rows of one multi-row INSERT of bulk_create (fewer when the backend's parameter
/// limit says so): large enough that the round trips do not count, small enough that the
/// statement's text and plan stay small.
constexpr std::size_t bulk_batch_rows = 1000;
}  // namespace

void bulk_insert(std::vector<ModelBase*>& objects, const ModelInfo& info,
                 std::string_view database_alias, tocsin::source_location where) {
    if (info.parent != nullptr) {
        throw ModelError("Can't bulk create a multi-table inherited model (" + info.label() +
                         " extends " + info.parent->label() + ").");
    }
    if (objects.empty()) {
        return;
    }
    auto& database = db::connection(database_alias, where);
    auto& backend = database.backend(where);
    std::string columns;
    std::string values;
    for (std::size_t i = 0; i < info.fields.size(); ++i) {
        columns += (i == 0 ? "" : ", ") + quoted(backend, info.fields[i].column);
        values += (i == 0 ? "" : ", ") + backend.placeholder(i + 1);
    }
    const bool returning = !cheap_last_insert_id(backend);
    const std::string sql =
        "INSERT INTO " + quoted(backend, info.table) +
        (columns.empty() ? " DEFAULT VALUES" : " (" + columns + ") VALUES (" + values + ")") +
        (returning ? " RETURNING " + quoted(backend, "id") : "");
    // Backends that read ids with RETURNING (PostgreSQL): multi-row INSERTs, as many rows per
    // statement as its parameters allow (Django's bulk_create on PostgreSQL), the ids read back
    // in the order of the rows. One round trip per batch instead of one per row.
    const std::size_t per_row = info.fields.size();
    const std::size_t max_params = backend.features().max_query_parameters;
    const bool multi_row =
        returning && per_row > 0 && objects.size() > 1 && max_params / per_row > 1;
    const std::size_t batch_rows =
        multi_row ? std::min(max_params / per_row, bulk_batch_rows) : std::size_t{1};
    const auto batch_sql = [&](std::size_t rows) {
        std::string text =
            "INSERT INTO " + quoted(backend, info.table) + " (" + columns + ") VALUES ";
        std::size_t param = 0;
        for (std::size_t r = 0; r < rows; ++r) {
            text += r == 0 ? "(" : ", (";
            for (std::size_t i = 0; i < per_row; ++i) {
                text += (i == 0 ? "" : ", ") + backend.placeholder(++param);
            }
            text += ")";
        }
        return text + " RETURNING " + quoted(backend, "id");
    };
    db::detail::atomic_at(where, AtomicOptions{.alias = database_alias}, [&] {
        for (std::size_t first = 0; multi_row && first < objects.size(); first += batch_rows) {
            const std::size_t rows = std::min(batch_rows, objects.size() - first);
            auto statement = database.statement(batch_sql(rows), where);
            std::size_t param = 0;
            for (std::size_t r = 0; r < rows; ++r) {
                for (std::size_t i = 0; i < per_row; ++i) {
                    statement->bind(++param, info.fields[i].get(*objects[first + r]), where);
                }
            }
            for (std::size_t r = 0; r < rows; ++r) {
                if (!statement->step(where)) {
                    throw db::DatabaseError("INSERT INTO " + info.table + " returned " +
                                                std::to_string(r) + " ids for " +
                                                std::to_string(rows) + " rows",
                                            where);
                }
                ModelBase* object = objects[first + r];
                object->id = statement->column(0).as_integer();
                object->state().adding = false;
                object->state().database = std::string(database_alias);
            }
            while (statement->step(where)) {
            }
        }
        for (ModelBase* object : objects) {
            if (multi_row) {
                break;
            }
            auto statement = database.statement(sql, where);
            for (std::size_t i = 0; i < info.fields.size(); ++i) {
                statement->bind(i + 1, info.fields[i].get(*object), where);
            }
            if (returning) {
                if (!statement->step(where)) {
                    throw db::DatabaseError("INSERT INTO " + info.table + " returned no id", where);
                }
                object->id = statement->column(0).as_integer();
            }
            while (statement->step(where)) {
            }
            if (!returning) {
                object->id = backend.last_insert_id();
            }
            object->state().adding = false;
            object->state().database = std::string(database_alias);
        }
        if (post_bulk_create.has_listeners(info.sender)) {
            BulkCreateEvent event;
            event.database = std::string(database_alias);
            event.objects = objects;
            event.pks.reserve(objects.size());
            for (const ModelBase* object : objects) {
                event.pks.push_back(*object->id);
            }
            post_bulk_create.send(info.sender, event);
        }
    });
}

bool differs_from_default(const ModelBase& instance, const FieldInfo& field) {
    return !(field.get(instance) == field.default_value);
}

// ----------------------------------------------------------------------------- QuerySetBase

QuerySetBase::QuerySetBase(std::string database) : parts_{.database = std::move(database)} {}
QuerySetBase::QuerySetBase(const QuerySetBase& other) = default;
QuerySetBase::QuerySetBase(QuerySetBase&& other) noexcept = default;
QuerySetBase& QuerySetBase::operator=(const QuerySetBase& other) = default;
QuerySetBase& QuerySetBase::operator=(QuerySetBase&& other) noexcept = default;
QuerySetBase::~QuerySetBase() = default;

void QuerySetBase::add_condition(const Condition& c, bool negate) {
    if (!c.empty() && is_sliced(parts_)) {
        throw ModelError("Cannot filter a query once a slice has been taken.");
    }
    parts_.condition = negate ? parts_.condition && !c : parts_.condition && c;
    rows_.reset();
}

void QuerySetBase::add_order(std::string column, bool descending) {
    if (is_sliced(parts_)) {
        throw ModelError("Cannot reorder a query once a slice has been taken.");
    }
    parts_.order.emplace_back(std::move(column), descending);
    rows_.reset();
}

void QuerySetBase::order_by_id_if_unordered() {
    if (parts_.order.empty()) {
        parts_.order.emplace_back("id", false);
        rows_.reset();
    }
}

void QuerySetBase::narrow(std::optional<std::uint64_t> low, std::optional<std::uint64_t> high) {
    set_limits(parts_, low, high);
    rows_.reset();
}

void QuerySetBase::set_deferred(std::vector<std::string> names) {
    parts_.deferred = std::move(names);
    rows_.reset();
}

void QuerySetBase::add_deferred(std::initializer_list<std::string> names) {
    for (const std::string& name : names) {
        add_unique(parts_.deferred, name);
    }
    rows_.reset();
}

void QuerySetBase::set_lock(const ModelInfo& info, SelectForUpdate options) {
    check_select_for_update(info, options);
    parts_.lock = std::move(options);
    rows_.reset();
}

void QuerySetBase::set_database(std::string alias) {
    parts_.database = std::move(alias);
    rows_.reset();
}

QueryParts QuerySetBase::parts_at(const ModelInfo& info, tocsin::source_location where) const {
    QueryParts p = parts_;
    p.info = &info;
    p.where = where;
    return p;
}

void QuerySetBase::read(const ModelInfo& info, tocsin::source_location where, void* out,
                        void (*resize)(void* out, std::size_t n),
                        ModelBase& (*at)(void* out, std::size_t i)) const {
    const auto rows = fetch_rows(parts_at(info, where));
    resize(out, rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        load_row(at(out, i), info, rows[i], parts_.database, parts_.deferred);
    }
}

std::size_t QuerySetBase::count_at(const ModelInfo& info, tocsin::source_location where) const {
    return count_rows(parts_at(info, where));
}

bool QuerySetBase::exists_at(const ModelInfo& info, tocsin::source_location where) const {
    QueryParts q = parts_at(info, where);
    set_limits(q, std::nullopt, 1);
    return !fetch_rows(q).empty();
}

std::int64_t QuerySetBase::update_at(const ModelInfo& info,
                                     std::initializer_list<Assignment> assignments,
                                     tocsin::source_location where) const {
    return update_rows(parts_at(info, where), std::vector<Assignment>(assignments));
}

DeleteResult QuerySetBase::remove_at(const ModelInfo& info, const void* origin,
                                     tocsin::source_location where) const {
    return remove_rows(parts_at(info, where), origin);
}

bool QuerySetBase::rows_shared() const noexcept {
    return rows_.use_count() > 1;
}

void QuerySetBase::keep_rows(void* rows, void (*destroy)(void*)) const {
    rows_ = std::shared_ptr<void>(rows, destroy);
}

}  // namespace detail
}  // namespace tocsin
