#include "tocsin/models/schema.hpp"

#include <algorithm>

#include "tocsin/apps/registry.hpp"
#include "tocsin/db/atomic.hpp"
#include "tocsin/db/database.hpp"
#include "tocsin/models/migrate_signals.hpp"
#include "tocsin/models/model_info.hpp"

namespace tocsin {

std::string create_table_sql(const ModelInfo& model, std::string_view alias) {
    auto& backend = db::connection(alias).backend();
    std::string sql = "CREATE TABLE IF NOT EXISTS " + backend.quote_name(model.table) + " (" +
                      backend.quote_name(model.pk_column) + " ";
    if (model.parent == nullptr) {
        sql += backend.auto_primary_key_type();
    } else {
        // Multi-table inheritance: the key is the parent row's (Django's parent_link key,
        // "<parent>_ptr_id").
        sql += backend.column_type(db::LogicalType::integer) + " NOT NULL PRIMARY KEY REFERENCES " +
               backend.quote_name(model.parent->table) + " (" +
               backend.quote_name(model.parent->pk_column) + ") DEFERRABLE INITIALLY DEFERRED";
    }
    for (const auto& f : model.fields) {
        sql += ", " + backend.quote_name(f.column) + " " + backend.column_type(f.type) +
               (f.nullable ? " NULL" : " NOT NULL") + (f.unique ? " UNIQUE" : "");
        if (f.is_relation) {
            sql += " REFERENCES " + backend.quote_name(f.target().table) + " (" +
                   backend.quote_name(f.target().pk_column) + ") DEFERRABLE INITIALLY DEFERRED";
        }
    }
    for (const auto& columns : model.unique_together) {
        sql += ", UNIQUE (";
        for (std::size_t i = 0; i < columns.size(); ++i) {
            sql += (i == 0 ? "" : ", ") + backend.quote_name(columns[i]);
        }
        sql += ")";
    }
    for (const auto& constraint : model.constraints) {
        sql += ", CONSTRAINT " + backend.quote_name(constraint.name) + " UNIQUE (";
        for (std::size_t i = 0; i < constraint.fields.size(); ++i) {
            const FieldInfo* f = model.field(constraint.fields[i]);
            sql += (i == 0 ? "" : ", ") +
                   backend.quote_name(f != nullptr ? f->column : constraint.fields[i]);
        }
        sql += ")";
    }
    return sql + ")";
}

std::vector<std::string> create_index_sql(const ModelInfo& model, std::string_view alias) {
    auto& backend = db::connection(alias).backend();
    std::vector<std::string> out;
    for (const auto& f : model.fields) {
        if (f.db_index || (f.is_relation && !f.unique)) {
            out.push_back("CREATE INDEX IF NOT EXISTS " +
                          backend.quote_name(model.table + "_" + f.column + "_idx") + " ON " +
                          backend.quote_name(model.table) + " (" + backend.quote_name(f.column) +
                          ")");
        }
    }
    for (const auto& index : model.indexes) {
        std::string sql = "CREATE INDEX IF NOT EXISTS " + backend.quote_name(index.name) + " ON " +
                          backend.quote_name(model.table) + " (";
        for (std::size_t i = 0; i < index.fields.size(); ++i) {
            const FieldInfo* f = model.field(index.fields[i]);
            sql += (i == 0 ? "" : ", ") +
                   backend.quote_name(f != nullptr ? f->column : index.fields[i]);
        }
        out.push_back(sql + ")");
    }
    return out;
}

std::vector<const ModelInfo*> migration_plan() {
    // Every model a built model refers to is built first (its description may not be, when only
    // a relation names it), so that the plan holds every table the statements refer to.
    for (std::size_t known = 0, now = all_models().size(); known != now;
         known = now, now = all_models().size()) {
        for (const ModelInfo* m : all_models()) {
            for (const auto& f : m->fields) {
                if (f.is_relation) {
                    static_cast<void>(f.target());
                }
            }
            for (const auto& relation : m->many_to_many) {
                static_cast<void>(relation.target());
            }
        }
    }
    auto pending = all_models();
    // A proxy has no table of its own (Django's migrate creates none).
    std::erase_if(pending, [](const ModelInfo* m) { return m->proxy_for != nullptr; });
    std::vector<const ModelInfo*> ordered;
    while (!pending.empty()) {
        // A model whose referenced models are all created (or that references only itself).
        const auto created = [&](const ModelInfo* m) {
            return std::find(pending.begin(), pending.end(), m) == pending.end();
        };
        auto next = std::find_if(pending.begin(), pending.end(), [&](const ModelInfo* m) {
            return (m->parent == nullptr || created(m->parent)) &&
                   std::all_of(m->fields.begin(), m->fields.end(), [&](const FieldInfo& f) {
                       return !f.is_relation || &f.target() == m || created(&f.target());
                   });
        });
        if (next == pending.end()) {
            next = pending.begin();
        }
        ordered.push_back(*next);
        pending.erase(next);
    }
    // Then the auto-created through tables of the many-to-many relations (they reference the
    // models on both sides).
    const std::size_t declared = ordered.size();
    for (std::size_t i = 0; i < declared; ++i) {
        for (const auto& relation : ordered[i]->many_to_many) {
            ordered.push_back(relation.through);
        }
    }
    return ordered;
}

std::vector<const ModelInfo*> migrate(std::string_view alias) {
    static_cast<void>(db::connection(alias));  // an unknown alias fails before any signal
    const auto plan = migration_plan();
    const auto apps = Apps::instance().app_configs();
    // Django's emit_pre_migrate_signal: every app, before any table is created.
    for (const auto& app : apps) {
        pre_migrate.send(MigrateEvent{*app, alias, plan, {}});
    }
    atomic(alias, [&] {
        auto& database = db::connection(alias);
        for (const ModelInfo* m : plan) {
            database.execute(create_table_sql(*m, alias));
            for (const auto& index : create_index_sql(*m, alias)) {
                database.execute(index);
            }
        }
    });
    // Django's emit_post_migrate_signal: every app, once every table exists.
    for (const auto& app : apps) {
        post_migrate.send(MigrateEvent{*app, alias, plan, {}});
    }
    return plan;
}

}  // namespace tocsin
