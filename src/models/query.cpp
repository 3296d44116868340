// Query sets: SQL built from declared columns and bound values only.
#include "tocsin/models/query.hpp"

#include <algorithm>
#include "tocsin/models/bulk_signals.hpp"

#include "id_chunks.hpp"
#include "tocsin/db/database.hpp"

namespace tocsin {

// ------------------------------------------------------------------------------- Condition

struct Condition::Node {
    enum class Kind { leaf, all_of, any_of, negation };
    Kind kind = Kind::leaf;
    Leaf leaf;
    std::shared_ptr<const Node> a, b;
};

Condition::Condition(Leaf leaf)
    : node_(std::make_shared<const Node>(Node{Node::Kind::leaf, std::move(leaf), {}, {}})) {}

Condition operator&&(const Condition& a, const Condition& b) {
    if (a.empty()) {
        return b;
    }
    if (b.empty()) {
        return a;
    }
    Condition c;
    c.node_ = std::make_shared<const Condition::Node>(
        Condition::Node{Condition::Node::Kind::all_of, {}, a.node_, b.node_});
    return c;
}

Condition operator||(const Condition& a, const Condition& b) {
    if (a.empty() || b.empty()) {
        return Condition{};  // everything
    }
    Condition c;
    c.node_ = std::make_shared<const Condition::Node>(
        Condition::Node{Condition::Node::Kind::any_of, {}, a.node_, b.node_});
    return c;
}

Condition operator!(const Condition& a) {
    Condition c;
    if (a.empty()) {
        // Not everything = nothing.
        c = Condition(Condition::Leaf{"id", "IN", {}});
        return c;
    }
    c.node_ = std::make_shared<const Condition::Node>(
        Condition::Node{Condition::Node::Kind::negation, {}, a.node_, nullptr});
    return c;
}

namespace {
void render_node(const Condition::Node* n, std::string& sql, std::vector<db::Value>& params,
                 const std::function<std::string(std::size_t)>& placeholder, bool negated);
}

void Condition::render(std::string& sql, std::vector<db::Value>& params,
                       const std::function<std::string(std::size_t)>& placeholder) const {
    if (!node_) {
        sql += "1 = 1";
        return;
    }
    render_node(node_.get(), sql, params, placeholder, false);
}

namespace {
/// `negated`: the node is under a NOT. A comparison with a NULL column is unknown in SQL, and
/// NOT unknown is unknown: the row would be dropped by the negation too. As Django does, a
/// comparison under a NOT also requires the column not to be NULL, so that `exclude(c)` keeps
/// exactly the rows `filter(c)` leaves out.
void render_node(const Condition::Node* n, std::string& sql, std::vector<db::Value>& params,
                 const std::function<std::string(std::size_t)>& placeholder, bool negated) {
    using Kind = Condition::Node::Kind;
    switch (n->kind) {
        case Kind::leaf: {
            const auto& l = n->leaf;
            const std::string column = "\"" + l.column + "\"";
            if (l.op == "IN SELECT") {
                params.push_back(l.values.front());
                const auto& sub = l.subselect;
                sql += (negated ? "(" : "") + column + " IN (SELECT \"" + sub.select_column +
                       "\" FROM \"" + sub.table + "\" WHERE \"" + sub.where_column +
                       "\" = " + placeholder(params.size()) + ")";
                sql += negated ? " AND " + column + " IS NOT NULL)" : "";
                return;
            }
            if (l.op == "IN") {
                if (l.values.empty()) {
                    sql += "1 = 0";
                    return;
                }
                sql += (negated ? "(" : "") + column + " IN (";
                for (std::size_t i = 0; i < l.values.size(); ++i) {
                    params.push_back(l.values[i]);
                    sql += (i == 0 ? "" : ", ") + placeholder(params.size());
                }
                sql += negated ? ") AND " + column + " IS NOT NULL)" : ")";
                return;
            }
            if (l.values.front().is_null() && (l.op == "=" || l.op == "!=")) {
                sql += column + (l.op == "=" ? " IS NULL" : " IS NOT NULL");
                return;
            }
            params.push_back(l.values.front());
            sql += negated ? "(" + column + " " + l.op + " " + placeholder(params.size()) +
                                 " AND " + column + " IS NOT NULL)"
                           : column + " " + l.op + " " + placeholder(params.size());
            return;
        }
        case Kind::all_of:
        case Kind::any_of:
            sql += "(";
            render_node(n->a.get(), sql, params, placeholder, negated);
            sql += n->kind == Kind::all_of ? " AND " : " OR ";
            render_node(n->b.get(), sql, params, placeholder, negated);
            sql += ")";
            return;
        case Kind::negation:
            sql += "NOT (";
            render_node(n->a.get(), sql, params, placeholder, true);
            sql += ")";
            return;
    }
}

void collect_equalities(const Condition::Node* n,
                        std::vector<std::pair<std::string, db::Value>>& out, bool& ok) {
    using Kind = Condition::Node::Kind;
    if (n->kind == Kind::leaf && n->leaf.op == "=" && n->leaf.values.size() == 1) {
        out.emplace_back(n->leaf.column, n->leaf.values.front());
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
    q.condition.render(sql, params, [&](std::size_t i) { return backend.placeholder(i); });
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

std::string quoted(const std::string& name) {
    return "\"" + name + "\"";
}

std::string from_clause(const ModelInfo& info) {
    if (info.parent == nullptr) {
        return quoted(info.table);
    }
    // (SELECT "child"."id" AS "id", "root"."a" AS "a", …, "child"."b" AS "b" FROM "child"
    //  INNER JOIN "parent" ON "parent"."id" = "child"."id" …) AS "child"
    auto chain = info.ancestors();
    std::reverse(chain.begin(), chain.end());
    chain.push_back(&info);
    const std::string self = quoted(info.table);
    std::string columns = self + ".\"id\" AS \"id\"";
    std::string joins;
    for (const ModelInfo* m : chain) {
        const std::string table = quoted(m->table);
        for (const FieldInfo& f : m->fields) {
            columns += ", " + table + "." + quoted(f.column) + " AS " + quoted(f.column);
        }
        if (m != &info) {
            joins += " INNER JOIN " + table + " ON " + table + ".\"id\" = " + self + ".\"id\"";
        }
    }
    return "(SELECT " + columns + " FROM " + self + joins + ") AS " + self;
}

std::vector<db::Row> fetch_rows(const QueryParts& q) {
    auto& database = db::connection(q.database, q.where);
    std::vector<db::Value> params;
    std::string sql = "SELECT " + q.info->select_list() + " FROM " + from_clause(*q.info) +
                      where_clause(q, database.backend(), params);
    if (!q.order.empty()) {
        sql += " ORDER BY ";
        for (std::size_t i = 0; i < q.order.size(); ++i) {
            sql += (i == 0 ? "" : ", ") + quoted(q.order[i].first) +
                   (q.order[i].second ? " DESC" : " ASC");
        }
    }
    if (q.limit) {
        sql += " LIMIT " + std::to_string(*q.limit);
    }
    return database.query(sql, params, q.where);
}

std::size_t count_rows(const QueryParts& q) {
    auto& database = db::connection(q.database, q.where);
    std::vector<db::Value> params;
    const std::string from = from_clause(*q.info) + where_clause(q, database.backend(), params);
    // A sliced query set counts the rows of its slice only, as Django's does.
    const std::string sql = q.limit ? "SELECT COUNT(*) FROM (SELECT \"id\" FROM " + from +
                                          " LIMIT " + std::to_string(*q.limit) + ")"
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
    for (const auto& a : assignments) {
        const bool known = std::any_of(chain.begin(), chain.end(), [&](const ModelInfo* m) {
            return std::any_of(m->fields.begin(), m->fields.end(),
                               [&](const FieldInfo& f) { return f.column == a.column; });
        });
        if (!known) {
            throw ModelError("Cannot update " + q.info->label() + ": it has no column '" +
                             a.column + "'.");
        }
    }
    // One transaction: the tables change together or not at all.
    const AtomicOptions block{.alias = q.database, .savepoint = false};
    return db::detail::atomic_at(q.where, block, [&]() -> std::int64_t {
        std::vector<db::Value> params;
        const std::string select =
            "SELECT \"id\" FROM " + from_clause(*q.info) + where_clause(q, backend, params);
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
                                 [&](const FieldInfo& f) { return f.column == a.column; })) {
                    continue;
                }
                set_params.push_back(a.value);
                sets += (sets.empty() ? "" : ", ") + quoted(a.column) + " = " +
                        backend.placeholder(set_params.size());
            }
            if (sets.empty()) {
                continue;
            }
            execute_in_chunks(database,
                              "UPDATE " + quoted(m->table) + " SET " + sets + " WHERE \"id\" IN ",
                              set_params, ids, q.where);
        }
        if (post_update.has_listeners(q.info->sender)) {
            // As for a model without parents: the fields named as declared, the ids in order.
            UpdateEvent event;
            event.database = q.database;
            for (const auto& a : assignments) {
                std::string name = a.column;
                for (const ModelInfo* m : chain) {
                    for (const auto& f : m->fields) {
                        if (f.column == a.column) {
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
    if (q.limit) {
        throw ModelError("Cannot update a query once a slice has been taken.");
    }
    if (assignments.empty()) {
        return 0;
    }
    if (q.info->parent != nullptr) {
        return update_inherited_rows(q, assignments);
    }
    auto& database = db::connection(q.database, q.where);
    auto& backend = database.backend(q.where);
    std::vector<db::Value> params;
    std::string sql = "UPDATE " + quoted(q.info->table) + " SET ";
    for (std::size_t i = 0; i < assignments.size(); ++i) {
        params.push_back(assignments[i].value);
        sql += (i == 0 ? "" : ", ") + quoted(assignments[i].column) + " = " +
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
            std::string name = a.column;
            for (const auto& f : q.info->fields) {
                if (f.column == a.column) {
                    name = f.name;
                }
            }
            event.fields.push_back(std::move(name));
        }
        std::vector<db::Value> select_params;  // the condition, numbered from 1
        std::string select = "SELECT \"id\" FROM " + quoted(q.info->table) +
                             where_clause(q, backend, select_params) + " ORDER BY \"id\"";
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
              std::string_view database) {
    const InitEvent event{&row};
    pre_init.send(info.sender, instance, event);
    instance.id = row.at(0).as_integer();
    for (std::size_t i = 0; i < info.all_fields.size(); ++i) {
        info.all_fields[i]->set(instance, row.at(i + 1));
    }
    if (info.tracks_changes()) [[unlikely]] {
        SnapshotAccess::set(instance, take_snapshot(instance, info));
    }
    post_init.send(info.sender, instance, event);
    instance.state().adding = false;
    instance.state().database = std::string(database);
}

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
        columns += (i == 0 ? "" : ", ") + quoted(info.fields[i].column);
        values += (i == 0 ? "" : ", ") + backend.placeholder(i + 1);
    }
    const bool returning = !cheap_last_insert_id(backend);
    const std::string sql =
        "INSERT INTO " + quoted(info.table) +
        (columns.empty() ? " DEFAULT VALUES" : " (" + columns + ") VALUES (" + values + ")") +
        (returning ? " RETURNING \"id\"" : "");
    db::detail::atomic_at(where, AtomicOptions{.alias = database_alias}, [&] {
        for (ModelBase* object : objects) {
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

}  // namespace detail
}  // namespace tocsin
