#include "tocsin/migrations/schema_editor.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "tocsin/db/atomic.hpp"
#include "tocsin/db/database.hpp"
#include "tocsin/db/error.hpp"
#include "tocsin/migrations/errors.hpp"

namespace tocsin::migrations {

namespace {
std::string field_index_name(const std::string& table, const std::string& column) {
    return table + "_" + column + "_idx";
}

/// The field of `before` that `after_field` comes from: renamed ({old, new}), or the same name.
const FieldState* source_of(const ModelState& before, const FieldState& after_field,
                            const std::vector<std::pair<std::string, std::string>>& renames) {
    for (const auto& [old_name, new_name] : renames) {
        if (new_name == after_field.name) {
            return before.field(old_name);
        }
    }
    for (const auto& [old_name, new_name] : renames) {
        if (old_name == after_field.name) {
            return nullptr;  // that name was renamed away: a new field took it
        }
    }
    return before.field(after_field.name);
}

std::vector<std::string> columns_of(const ModelState& model,
                                    const std::vector<std::string>& names) {
    std::vector<std::string> out;
    for (const auto& n : names) {
        const auto* f = model.field(n);
        if (f == nullptr) {
            throw MigrationError("the index or constraint of " + model.label() +
                                 " names the field '" + n + "', which the model does not have");
        }
        out.push_back(f->column);
    }
    return out;
}
}  // namespace

SchemaEditor::SchemaEditor(std::string alias, bool collect_only)
    : alias_(std::move(alias)),
      vendor_(db::connection(alias_).backend().vendor()),
      collect_only_(collect_only) {}

std::string SchemaEditor::quote(std::string_view name) const {
    return db::connection(alias_).backend().quote_name(name);
}

void SchemaEditor::run(std::string sql, std::vector<db::Value> params) {
    if (!collect_only_) {
        db::connection(alias_).execute(sql, std::span<const db::Value>(params));
    }
    sql_.push_back({std::move(sql), std::move(params)});
}

std::string SchemaEditor::references(const FieldState& field, const ProjectState& state) const {
    const auto* target = state.find(field.to);
    if (target == nullptr) {
        throw MigrationError("the field '" + field.name + "' refers to the model '" + field.to +
                             "', which the migration state does not have (a dependency on its "
                             "app's migration is missing?)");
    }
    return " REFERENCES " + quote(target->table) + " (" + quote(target->pk_column) +
           ") DEFERRABLE INITIALLY DEFERRED";
}

std::string SchemaEditor::column_definition(const FieldState& f, const ProjectState& state) const {
    auto& backend = db::connection(alias_).backend();
    std::string sql = quote(f.column) + " " + backend.column_type(f.type) +
                      (f.null ? " NULL" : " NOT NULL") + (f.unique ? " UNIQUE" : "");
    if (!f.to.empty()) {
        sql += references(f, state);
    }
    return sql;
}

std::string SchemaEditor::create_table_sql(const ModelState& model, const ProjectState& state,
                                           std::string_view table_name) const {
    auto& backend = db::connection(alias_).backend();
    std::string sql = "CREATE TABLE " + quote(table_name.empty() ? model.table : table_name) +
                      " (" + quote(model.pk_column) + " ";
    if (model.parent.empty()) {
        sql += backend.auto_primary_key_type();
    } else {
        const auto* parent = state.find(model.parent);
        if (parent == nullptr) {
            throw MigrationError("the model " + model.label() + " extends '" + model.parent +
                                 "', which the migration state does not have");
        }
        sql += backend.column_type(db::LogicalType::integer) + " NOT NULL PRIMARY KEY REFERENCES " +
               quote(parent->table) + " (" + quote(parent->pk_column) +
               ") DEFERRABLE INITIALLY DEFERRED";
    }
    for (const auto& f : model.fields) {
        sql += ", " + column_definition(f, state);
    }
    for (const auto& columns : model.unique_together) {
        sql += ", UNIQUE (";
        for (std::size_t i = 0; i < columns.size(); ++i) {
            sql += (i == 0 ? "" : ", ") + quote(columns[i]);
        }
        sql += ")";
    }
    for (const auto& c : model.constraints) {
        sql += ", CONSTRAINT " + quote(c.name) + " UNIQUE (";
        const auto columns = columns_of(model, c.fields);
        for (std::size_t i = 0; i < columns.size(); ++i) {
            sql += (i == 0 ? "" : ", ") + quote(columns[i]);
        }
        sql += ")";
    }
    return sql + ")";
}

void SchemaEditor::create_indexes(const ModelState& model) {
    for (const auto& f : model.fields) {
        if (f.indexed()) {
            run("CREATE INDEX " + quote(field_index_name(model.table, f.column)) + " ON " +
                quote(model.table) + " (" + quote(f.column) + ")");
        }
    }
    for (const auto& i : model.indexes) {
        add_index(model, i);
    }
}

void SchemaEditor::create_model(const ModelState& model, const ProjectState& state) {
    run(create_table_sql(model, state));
    create_indexes(model);
}

void SchemaEditor::delete_model(const ModelState& model) {
    run("DROP TABLE " + quote(model.table));
}

void SchemaEditor::add_index(const ModelState& model, const IndexState& index) {
    std::string sql = "CREATE INDEX " + quote(index.name) + " ON " + quote(model.table) + " (";
    const auto columns = columns_of(model, index.fields);
    for (std::size_t i = 0; i < columns.size(); ++i) {
        sql += (i == 0 ? "" : ", ") + quote(columns[i]);
    }
    run(sql + ")");
}

void SchemaEditor::remove_index(const ModelState& model, std::string_view name) {
    static_cast<void>(model);
    run("DROP INDEX " + quote(name));
}

void SchemaEditor::alter_model(const ModelState& before, const ModelState& after,
                               const ProjectState& state,
                               const std::vector<std::pair<std::string, std::string>>& renames) {
    const auto change = [&] {
        if (vendor_ == "postgresql") {
            alter_postgresql(before, after, state, renames);
        } else {
            rebuild(before, after, state, renames);
        }
    };
    if (collect_only_) {
        change();
        return;
    }
    refuse_not_null_without_default(before, after, renames);
    try {
        // In a savepoint of its own: when the database refuses the rows, the transaction is still
        // usable (PostgreSQL aborts it otherwise) to find the row it refused.
        db::atomic(alias_, change);
    } catch (const db::DatabaseError& e) {
        const std::string row = refused_row(before, after, state, renames);
        if (row.empty()) {
            throw;
        }
        throw MigrationError(row + ": " + e.what());
    }
}

std::string SchemaEditor::refused_row(
    const ModelState& before, const ModelState& after, const ProjectState& state,
    const std::vector<std::pair<std::string, std::string>>& renames) const {
    auto& database = db::connection(alias_);
    const std::string t = quote(before.table);
    const std::string pk = quote(before.pk_column);
    const std::string where = "the row with pk ";
    const std::string of = " of \"" + before.table + "\"";
    // The first duplicate of `columns` (of `before`): the later row, its values, the earlier row.
    const auto duplicate = [&](const std::vector<std::string>& columns) -> std::string {
        std::string select = "SELECT a." + pk;
        std::string join;
        for (std::size_t i = 0; i < columns.size(); ++i) {
            select += ", a." + quote(columns[i]);
            join += " AND b." + quote(columns[i]) + " = a." + quote(columns[i]);
        }
        const auto rows = database.query(
            select + ", (SELECT MIN(b." + pk + ") FROM " + t + " b WHERE b." + pk + " < a." + pk +
            join + ") FROM " + t + " a WHERE EXISTS (SELECT 1 FROM " + t + " b WHERE b." + pk +
            " < a." + pk + join + ") ORDER BY a." + pk + " LIMIT 1");
        if (rows.empty()) {
            return {};
        }
        const auto& row = rows.front();
        std::string out = where + db::to_string(row.at(0)) + of + " has ";
        std::string values;
        std::string fields;
        for (std::size_t i = 0; i < columns.size(); ++i) {
            fields += (i == 0 ? "" : ", ") + columns[i];
            values += (i == 0 ? "" : ", ") + db::to_string(row.at(i + 1));
        }
        if (columns.size() == 1) {
            out += fields + " = " + values;
        } else {
            out += "(" + fields + ") = (" + values + ")";
        }
        return out + ", as the row with pk " + db::to_string(row.at(columns.size() + 1)) +
               " has (unique in " + after.label() + ")";
    };
    try {
        return db::atomic(alias_, [&]() -> std::string {
            for (const auto& f : after.fields) {
                const FieldState* from = source_of(before, f, renames);
                if (from == nullptr) {
                    // A new column: every row gets its default.
                    const auto* target = f.to.empty() ? nullptr : state.find(f.to);
                    if (target != nullptr && !f.default_value.is_null()) {
                        const auto first = database.query_value(
                            "SELECT " + pk + " FROM " + t + " WHERE NOT EXISTS (SELECT 1 FROM " +
                                quote(target->table) + " WHERE " + quote(target->pk_column) +
                                " = " + database.backend().placeholder(1) + ") ORDER BY " + pk +
                                " LIMIT 1",
                            {f.default_value});
                        if (first) {
                            return where + db::to_string(*first) + of + " would get " + f.column +
                                   " = " + db::to_string(f.default_value) +
                                   " (the default), which is no row of \"" + target->table + "\"";
                        }
                    }
                    if (f.unique && !f.default_value.is_null()) {
                        const auto rows = database.query("SELECT " + pk + " FROM " + t +
                                                         " ORDER BY " + pk + " LIMIT 2");
                        if (rows.size() > 1) {
                            return where + db::to_string(rows[1].at(0)) + of + " would get " +
                                   f.column + " = " + db::to_string(f.default_value) +
                                   " (the default), as the row with pk " +
                                   db::to_string(rows[0].at(0)) + " (unique in " + after.label() +
                                   ")";
                        }
                    }
                    continue;
                }
                const std::string c = quote(from->column);
                if (!f.null && f.default_value.is_null()) {
                    if (const auto v =
                            database.query_value("SELECT " + pk + " FROM " + t + " WHERE " + c +
                                                 " IS NULL ORDER BY " + pk + " LIMIT 1")) {
                        return where + db::to_string(*v) + of + " holds NULL in " + from->column +
                               ", which becomes NOT NULL";
                    }
                }
                if (f.unique && !from->unique) {
                    if (auto row = duplicate({from->column}); !row.empty()) {
                        return row;
                    }
                }
                if (const auto* target = f.to.empty() ? nullptr : state.find(f.to)) {
                    const auto rows = database.query(
                        "SELECT a." + pk + ", a." + c + " FROM " + t + " a WHERE a." + c +
                        " IS NOT NULL AND NOT EXISTS (SELECT 1 FROM " + quote(target->table) +
                        " b WHERE b." + quote(target->pk_column) + " = a." + c + ") ORDER BY a." +
                        pk + " LIMIT 1");
                    if (!rows.empty()) {
                        return where + db::to_string(rows.front().at(0)) + of + " has " +
                               from->column + " = " + db::to_string(rows.front().at(1)) +
                               ", which is no row of \"" + target->table + "\"";
                    }
                }
            }
            // Unique constraints over several fields (by field name), and unique_together (by
            // column), read from the columns the fields come from.
            std::vector<std::vector<std::string>> sets;
            for (const auto& constraint : after.constraints) {
                sets.emplace_back();
                for (const auto& name : constraint.fields) {
                    const auto* f = after.field(name);
                    const FieldState* from =
                        f == nullptr ? nullptr : source_of(before, *f, renames);
                    if (from == nullptr) {
                        sets.pop_back();
                        break;
                    }
                    sets.back().push_back(from->column);
                }
            }
            for (const auto& columns : after.unique_together) {
                sets.push_back(columns);
            }
            for (const auto& columns : sets) {
                if (auto row = duplicate(columns); !row.empty()) {
                    return row;
                }
            }
            return {};
        });
    } catch (const db::Error&) {
        return {};  // the table cannot be read as `before` says: no row to name
    }
}

void SchemaEditor::refuse_not_null_without_default(
    const ModelState& before, const ModelState& after,
    const std::vector<std::pair<std::string, std::string>>& renames) {
    auto& database = db::connection(alias_);
    for (const auto& f : after.fields) {
        if (f.null || !f.default_value.is_null()) {
            continue;
        }
        const FieldState* from = source_of(before, f, renames);
        if (from != nullptr && !from->null) {
            continue;
        }
        std::string count_sql = "SELECT COUNT(*) FROM " + quote(before.table);
        if (from != nullptr) {
            count_sql += " WHERE " + quote(from->column) + " IS NULL";
        }
        const auto rows = database.query_value(count_sql)->as_integer();
        if (rows == 0) {
            continue;
        }
        std::string first_sql =
            "SELECT " + quote(before.pk_column) + " FROM " + quote(before.table);
        if (from != nullptr) {
            first_sql += " WHERE " + quote(from->column) + " IS NULL";
        }
        first_sql += " ORDER BY " + quote(before.pk_column) + " LIMIT 1";
        const auto first = database.query_value(first_sql);
        throw MigrationError(
            "the column \"" + f.column + "\" of \"" + after.table + "\" becomes NOT NULL without " +
            "a default, and " + std::to_string(rows) + " row(s) " +
            (from == nullptr ? std::string("exist") : "hold NULL there") + " (the first: the row " +
            "with pk " + (first ? db::to_string(*first) : std::string("?")) +
            "): give them a value with makemigrations --default " + after.label() + "." + f.name +
            "=VALUE (a one-off default written into the migration), or give the field a "
            "default or null");
    }
}

// SQLite's recipe for what ALTER TABLE cannot do (https://sqlite.org/lang_altertable.html,
// "Making Other Kinds Of Table Schema Changes"): create the new table under a temporary name,
// copy the rows, drop the old table, rename the new one, create its indexes. The executor turns
// foreign-key enforcement off around the migration and checks every key before it commits.
void SchemaEditor::rebuild(const ModelState& before, const ModelState& after,
                           const ProjectState& state,
                           const std::vector<std::pair<std::string, std::string>>& renames) {
    auto& backend = db::connection(alias_).backend();
    const std::string temporary = "new__" + after.table;
    run(create_table_sql(after, state, temporary));
    std::string columns = quote(after.pk_column);
    std::string select = quote(before.pk_column);
    std::vector<db::Value> params;
    for (const auto& f : after.fields) {
        columns += ", " + quote(f.column);
        const FieldState* from = source_of(before, f, renames);
        std::string expr;
        if (from == nullptr) {
            params.push_back(f.default_value);
            expr = backend.placeholder(params.size());
        } else {
            expr = quote(from->column);
            if (backend.column_type(from->type) != backend.column_type(f.type)) {
                expr = "CAST(" + expr + " AS " + backend.column_type(f.type) + ")";
            }
            if (from->null && !f.null && !f.default_value.is_null()) {
                params.push_back(f.default_value);
                expr = "COALESCE(" + expr + ", " + backend.placeholder(params.size()) + ")";
            }
        }
        select += ", " + expr;
    }
    run("INSERT INTO " + quote(temporary) + " (" + columns + ") SELECT " + select + " FROM " +
            quote(before.table),
        std::move(params));
    run("DROP TABLE " + quote(before.table));
    run("ALTER TABLE " + quote(temporary) + " RENAME TO " + quote(after.table));
    create_indexes(after);
}

std::string SchemaEditor::constraint_name(const std::string& table, const std::string& column,
                                          char kind) const {
    const std::string fallback = table + "_" + column + (kind == 'u' ? "_key" : "_fkey");
    if (collect_only_) {
        return fallback;
    }
    const auto name = db::connection(alias_).query_value(
        "SELECT con.conname FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid "
        "JOIN pg_namespace ns ON ns.oid = rel.relnamespace JOIN pg_attribute att ON "
        "att.attrelid = rel.oid AND att.attnum = con.conkey[1] WHERE ns.nspname = "
        "current_schema() AND rel.relname = $1 AND att.attname = $2 AND con.contype = $3 AND "
        "array_length(con.conkey, 1) = 1 ORDER BY con.conname LIMIT 1",
        {table, column, std::string(1, kind)});
    if (!name || name->is_null()) {
        throw MigrationError("the table \"" + table + "\" has no " +
                             (kind == 'u' ? "unique" : "foreign key") +
                             " constraint on its column \"" + column + "\" to drop");
    }
    return name->as_text();
}

void SchemaEditor::alter_postgresql(
    const ModelState& before, const ModelState& after, const ProjectState& state,
    const std::vector<std::pair<std::string, std::string>>& renames) {
    auto& backend = db::connection(alias_).backend();
    const std::string t = quote(after.table);
    // Named indexes and constraints that go away first (they may cover a column that goes).
    for (const auto& i : before.indexes) {
        if (std::find(after.indexes.begin(), after.indexes.end(), i) == after.indexes.end()) {
            run("DROP INDEX " + quote(i.name));
        }
    }
    for (const auto& c : before.constraints) {
        if (std::find(after.constraints.begin(), after.constraints.end(), c) ==
            after.constraints.end()) {
            run("ALTER TABLE " + t + " DROP CONSTRAINT " + quote(c.name));
        }
    }
    // Columns that go.
    std::set<std::string> kept;
    for (const auto& f : after.fields) {
        if (const auto* from = source_of(before, f, renames)) {
            kept.insert(from->name);
        }
    }
    for (const auto& f : before.fields) {
        if (kept.count(f.name) == 0) {
            run("ALTER TABLE " + t + " DROP COLUMN " + quote(f.column));
        }
    }
    // Keys are added last: PostgreSQL refuses an ALTER TABLE while the deferred checks of rows
    // updated in the same transaction are pending.
    std::vector<FieldState> foreign_keys;
    for (const auto& f : after.fields) {
        const FieldState* from = source_of(before, f, renames);
        const std::string c = quote(f.column);
        if (from == nullptr) {
            // A new column: added NULL, filled with the default, then made NOT NULL.
            run("ALTER TABLE " + t + " ADD COLUMN " + c + " " + backend.column_type(f.type) +
                " NULL");
            if (!f.to.empty()) {
                foreign_keys.push_back(f);
            }
            if (!f.default_value.is_null()) {
                run("UPDATE " + t + " SET " + c + " = " + backend.placeholder(1),
                    {f.default_value});
            }
            if (!f.null) {
                run("ALTER TABLE " + t + " ALTER COLUMN " + c + " SET NOT NULL");
            }
            if (f.unique) {
                run("ALTER TABLE " + t + " ADD CONSTRAINT " +
                    quote(after.table + "_" + f.column + "_key") + " UNIQUE (" + c + ")");
            }
            if (f.indexed()) {
                run("CREATE INDEX " + quote(field_index_name(after.table, f.column)) + " ON " + t +
                    " (" + c + ")");
            }
            continue;
        }
        if (from->column != f.column) {
            run("ALTER TABLE " + t + " RENAME COLUMN " + quote(from->column) + " TO " + c);
            if (from->indexed()) {
                run("ALTER INDEX IF EXISTS " + quote(field_index_name(before.table, from->column)) +
                    " RENAME TO " + quote(field_index_name(after.table, f.column)));
            }
        }
        const bool type_changed = backend.column_type(from->type) != backend.column_type(f.type);
        if (!from->to.empty() && (from->to != f.to || type_changed)) {
            run("ALTER TABLE " + t + " DROP CONSTRAINT " +
                quote(constraint_name(after.table, f.column, 'f')));
        }
        if (from->indexed() && !f.indexed()) {
            run("DROP INDEX IF EXISTS " + quote(field_index_name(after.table, f.column)));
        }
        if (from->unique && !f.unique) {
            run("ALTER TABLE " + t + " DROP CONSTRAINT " +
                quote(constraint_name(after.table, f.column, 'u')));
        }
        if (type_changed) {
            std::string cast = c + "::" + backend.column_type(f.type);
            if (f.type == db::LogicalType::boolean && from->type != db::LogicalType::text) {
                cast = "(" + c + " <> 0)";
            } else if (from->type == db::LogicalType::boolean) {
                cast = c + "::integer::" + backend.column_type(f.type);
            }
            run("ALTER TABLE " + t + " ALTER COLUMN " + c + " TYPE " + backend.column_type(f.type) +
                " USING " + cast);
        }
        if (from->null && !f.null) {
            if (!f.default_value.is_null()) {
                run("UPDATE " + t + " SET " + c + " = " + backend.placeholder(1) + " WHERE " + c +
                        " IS NULL",
                    {f.default_value});
            }
            run("ALTER TABLE " + t + " ALTER COLUMN " + c + " SET NOT NULL");
        } else if (!from->null && f.null) {
            run("ALTER TABLE " + t + " ALTER COLUMN " + c + " DROP NOT NULL");
        }
        if (!from->unique && f.unique) {
            run("ALTER TABLE " + t + " ADD CONSTRAINT " +
                quote(after.table + "_" + f.column + "_key") + " UNIQUE (" + c + ")");
        }
        if (!f.to.empty() && (from->to != f.to || type_changed)) {
            foreign_keys.push_back(f);
        }
        if (!from->indexed() && f.indexed()) {
            run("CREATE INDEX " + quote(field_index_name(after.table, f.column)) + " ON " + t +
                " (" + c + ")");
        }
    }
    for (const auto& c : after.constraints) {
        if (std::find(before.constraints.begin(), before.constraints.end(), c) ==
            before.constraints.end()) {
            std::string sql = "ALTER TABLE " + t + " ADD CONSTRAINT " + quote(c.name) + " UNIQUE (";
            const auto columns = columns_of(after, c.fields);
            for (std::size_t i = 0; i < columns.size(); ++i) {
                sql += (i == 0 ? "" : ", ") + quote(columns[i]);
            }
            run(sql + ")");
        }
    }
    for (const auto& i : after.indexes) {
        if (std::find(before.indexes.begin(), before.indexes.end(), i) == before.indexes.end()) {
            add_index(after, i);
        }
    }
    for (const auto& f : foreign_keys) {
        run("ALTER TABLE " + t + " ADD CONSTRAINT " +
            quote(after.table + "_" + f.column + "_fkey") + " FOREIGN KEY (" + quote(f.column) +
            ")" + references(f, state));
    }
}

std::string SchemaEditor::inline_sql(const SqlStatement& statement) const {
    auto& backend = db::connection(alias_).backend();
    std::string sql = statement.sql;
    for (std::size_t i = statement.params.size(); i > 0; --i) {
        const auto& v = statement.params[i - 1];
        std::string literal;
        switch (v.type()) {
            case db::ValueType::null:
                literal = "NULL";
                break;
            case db::ValueType::integer:
                literal = std::to_string(v.as_integer());
                break;
            case db::ValueType::real: {
                char buffer[32];
                std::snprintf(buffer, sizeof buffer, "%.17g", v.as_real());
                literal = buffer;
                break;
            }
            case db::ValueType::text:
                literal = db::detail::sql_text_literal(v.as_text());
                break;
            case db::ValueType::blob: {
                static constexpr char digits[] = "0123456789abcdef";
                std::string hex;
                for (const std::byte b : v.as_blob()) {
                    hex += digits[std::to_integer<unsigned>(b) >> 4U];
                    hex += digits[std::to_integer<unsigned>(b) & 15U];
                }
                literal = vendor_ == "postgresql" ? "'\\x" + hex + "'::bytea" : "X'" + hex + "'";
                break;
            }
        }
        const std::string placeholder = backend.placeholder(i);
        for (auto at = sql.find(placeholder); at != std::string::npos;
             at = sql.find(placeholder, at + literal.size())) {
            sql.replace(at, placeholder.size(), literal);
        }
    }
    return sql;
}

}  // namespace tocsin::migrations
