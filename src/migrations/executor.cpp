#include "tocsin/migrations/executor.hpp"

#include <algorithm>

#include "tocsin/apps/registry.hpp"
#include "tocsin/db/atomic.hpp"
#include "tocsin/db/database.hpp"
#include "tocsin/migrations/errors.hpp"
#include "tocsin/migrations/recorder.hpp"
#include "tocsin/migrations/run_python.hpp"
#include "tocsin/models/model_info.hpp"
#include "tocsin/models/schema.hpp"

namespace tocsin::migrations {

namespace {

template <class... F>
struct overloaded : F... {
    using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

/// Whether two versions of a field differ in what the database holds (not default, on_delete).
bool same_in_database(const FieldState& a, const FieldState& b) {
    return a.column == b.column && a.type == b.type && a.null == b.null && a.unique == b.unique &&
           a.indexed() == b.indexed() && a.to == b.to;
}

/// `model` with the default of its field `field` replaced by `one_off` when there is one.
ModelState with_default(const ModelState& model, const std::string& field,
                        const std::optional<db::Value>& one_off) {
    ModelState out = model;
    if (one_off) {
        if (auto* f = out.field(field)) {
            f->default_value = *one_off;
        }
    }
    return out;
}

std::string label_in(const std::string& app, const std::string& model) {
    return app + "." + model;
}

void run_python(const std::string& name, const std::string& migration, const std::string& alias,
                const ProjectState& state, bool backwards) {
    if (name == "noop") {
        return;
    }
    const PythonFunction* f = find_python(name);
    if (f == nullptr) {
        throw MigrationError("the migration " + migration + " runs the C++ function '" + name +
                             "', which is not registered (tocsin::migrations::register_python)");
    }
    (*f)(RunPythonContext{alias, state, backwards});
}

/// Makes the database change of `op` (from state `from` to state `to`).
void database_forwards(const Operation& op, const Migration& m, SchemaEditor& editor,
                       const ProjectState& from, const ProjectState& to, const std::string& alias) {
    const auto& app = m.app;
    std::visit(
        overloaded{
            [&](const CreateModel& o) { editor.create_model(to.get(o.model.label()), to); },
            [&](const DeleteModel& o) { editor.delete_model(from.get(label_in(app, o.model))); },
            [&](const AddField& o) {
                editor.alter_model(
                    from.get(label_in(app, o.model)),
                    with_default(to.get(label_in(app, o.model)), o.field.name, o.one_off_default),
                    to);
            },
            [&](const RemoveField& o) {
                editor.alter_model(from.get(label_in(app, o.model)), to.get(label_in(app, o.model)),
                                   to);
            },
            [&](const AlterField& o) {
                const auto& before = from.get(label_in(app, o.model));
                if (!same_in_database(*before.field(o.field.name), o.field)) {
                    editor.alter_model(before,
                                       with_default(to.get(label_in(app, o.model)), o.field.name,
                                                    o.one_off_default),
                                       to);
                }
            },
            [&](const RenameField& o) {
                editor.alter_model(from.get(label_in(app, o.model)), to.get(label_in(app, o.model)),
                                   to, {{o.old_name, o.new_name}});
            },
            [&](const AddIndex& o) { editor.add_index(to.get(label_in(app, o.model)), o.index); },
            [&](const RemoveIndex& o) {
                editor.remove_index(from.get(label_in(app, o.model)), o.name);
            },
            [&](const AddConstraint& o) {
                editor.alter_model(from.get(label_in(app, o.model)), to.get(label_in(app, o.model)),
                                   to);
            },
            [&](const RemoveConstraint& o) {
                editor.alter_model(from.get(label_in(app, o.model)), to.get(label_in(app, o.model)),
                                   to);
            },
            [&](const RunPython& o) { run_python(o.code, m.label(), alias, from, false); },
        },
        op);
}

/// Undoes the database change of `op`: `from` is the state after it, `to` the state before.
void database_backwards(const Operation& op, const Migration& m, SchemaEditor& editor,
                        const ProjectState& from, const ProjectState& to,
                        const std::string& alias) {
    const auto& app = m.app;
    std::visit(
        overloaded{
            [&](const CreateModel& o) { editor.delete_model(from.get(o.model.label())); },
            [&](const DeleteModel& o) { editor.create_model(to.get(label_in(app, o.model)), to); },
            [&](const AlterField& o) {
                const auto& before = to.get(label_in(app, o.model));
                if (!same_in_database(*before.field(o.field.name), o.field)) {
                    editor.alter_model(from.get(label_in(app, o.model)), before, to);
                }
            },
            [&](const RenameField& o) {
                editor.alter_model(from.get(label_in(app, o.model)), to.get(label_in(app, o.model)),
                                   to, {{o.new_name, o.old_name}});
            },
            [&](const AddIndex& o) {
                editor.remove_index(from.get(label_in(app, o.model)), o.index.name);
            },
            [&](const RemoveIndex& o) {
                const auto& model = to.get(label_in(app, o.model));
                for (const auto& i : model.indexes) {
                    if (i.name == o.name) {
                        editor.add_index(model, i);
                    }
                }
            },
            [&](const RunPython& o) {
                if (o.reverse.empty()) {
                    throw MigrationError("Operation RunPython (" + o.code + ") of " + m.label() +
                                         " is not reversible");
                }
                run_python(o.reverse, m.label(), alias, to, true);
            },
            [&](const auto& o) {  // field and constraint changes: the rebuild goes back
                editor.alter_model(from.get(label_in(app, o.model)), to.get(label_in(app, o.model)),
                                   to);
            },
        },
        op);
}

/// Runs the operations of `m` on `editor`, starting from `before`; returns the state after.
ProjectState run_operations(const Migration& m, SchemaEditor& editor, const ProjectState& before,
                            bool backwards, const std::string& alias) {
    std::vector<ProjectState> states{before};
    for (std::size_t i = 0; i < m.operations.size(); ++i) {
        ProjectState next = states.back();
        try {
            apply(m.operations[i], m.app, next);
        } catch (const std::invalid_argument& e) {
            throw MigrationError("migration " + m.label() + ", operation " + std::to_string(i) +
                                 ": " + e.what());
        }
        states.push_back(std::move(next));
    }
    const auto run = [&](std::size_t i) {
        try {
            if (backwards) {
                database_backwards(m.operations[i], m, editor, states[i + 1], states[i], alias);
            } else {
                database_forwards(m.operations[i], m, editor, states[i], states[i + 1], alias);
            }
        } catch (const std::exception& e) {
            throw MigrationError(std::string(backwards ? "Unapplying " : "Applying ") + m.label() +
                                 " failed at operation " + std::to_string(i) + " (" +
                                 operation_name(m.operations[i]) + ": " +
                                 describe(m.operations[i]) + "): " + e.what() +
                                 "; the migration was rolled back");
        }
    };
    if (backwards) {
        for (std::size_t i = m.operations.size(); i > 0; --i) {
            run(i - 1);
        }
        return states.front();
    }
    for (std::size_t i = 0; i < m.operations.size(); ++i) {
        run(i);
    }
    return states.back();
}

/// Django's detect_soft_applied: every table the initial migration creates exists, with the
/// columns of its fields (and those it adds).
bool soft_applied(const Migration& m, const ProjectState& before, const std::string& alias) {
    bool found_create = false;
    ProjectState state = before;
    for (const auto& op : m.operations) {
        apply(op, m.app, state);
    }
    for (const auto& op : m.operations) {
        const std::string* model = nullptr;
        if (const auto* c = std::get_if<CreateModel>(&op)) {
            found_create = true;
            model = &c->model.name;
        } else if (const auto* a = std::get_if<AddField>(&op)) {
            model = &a->model;
        } else {
            continue;
        }
        const auto* s = state.find(label_in(m.app, *model));
        if (s == nullptr) {
            continue;  // deleted later in the same migration
        }
        const auto columns = table_columns(alias, s->table);
        if (columns.empty()) {
            return false;
        }
        for (const auto& f : s->fields) {
            if (std::find(columns.begin(), columns.end(), f.column) == columns.end()) {
                return false;
            }
        }
    }
    return found_create;
}

MigrationKey resolve(const MigrationLoader& loader, const std::string& app,
                     const std::string& name) {
    std::vector<MigrationKey> matches;
    for (const auto& [key, m] : loader.migrations()) {
        if (key.first == app && key.second == name) {
            return key;
        }
        if (key.first == app && key.second.rfind(name, 0) == 0) {
            matches.push_back(key);
        }
    }
    if (matches.size() > 1) {
        throw MigrationError("More than one migration matches '" + name + "' in app '" + app +
                             "'. Please be more specific.");
    }
    if (matches.empty()) {
        throw MigrationError("Cannot find a migration matching '" + name + "' from app '" + app +
                             "'.");
    }
    return matches.front();
}

}  // namespace

std::vector<MigrationStep> migration_plan(const MigrationLoader& loader,
                                          const std::set<MigrationKey>& applied,
                                          const MigrateOptions& options) {
    std::vector<MigrationStep> plan;
    std::set<MigrationKey> seen;
    const auto add = [&](const MigrationKey& key, bool backwards) {
        if (seen.insert(key).second) {
            plan.push_back({key.first, key.second, backwards});
        }
    };
    std::vector<MigrationKey> targets;
    if (options.app.empty()) {
        for (const auto& app : loader.apps()) {
            for (const auto& leaf : loader.leaf_nodes(app)) {
                targets.push_back(leaf);
            }
        }
    } else {
        if (!loader.has_migrations(options.app)) {
            throw MigrationError("App '" + options.app + "' does not have migrations.");
        }
        if (options.target == "zero") {
            // Every applied migration of the app, and what depends on them, backwards.
            for (auto it = loader.order().rbegin(); it != loader.order().rend(); ++it) {
                if (it->first == options.app && applied.count(*it) != 0) {
                    for (const auto& k : loader.backwards_plan(*it)) {
                        if (applied.count(k) != 0) {
                            add(k, true);
                        }
                    }
                }
            }
            return plan;
        }
        if (options.target.empty()) {
            targets = loader.leaf_nodes(options.app);
        } else {
            const auto key = resolve(loader, options.app, options.target);
            if (applied.count(key) != 0) {
                // Back to it: unapply the migrations of its app that follow it.
                for (const auto& [k, m] : loader.migrations()) {
                    if (k.first == key.first &&
                        std::find(m.dependencies.begin(), m.dependencies.end(), key) !=
                            m.dependencies.end()) {
                        for (const auto& child : loader.backwards_plan(k)) {
                            if (applied.count(child) != 0) {
                                add(child, true);
                            }
                        }
                    }
                }
                return plan;
            }
            targets.push_back(key);
        }
    }
    for (const auto& target : targets) {
        for (const auto& k : loader.forwards_plan(target)) {
            if (applied.count(k) == 0) {
                add(k, false);
            }
        }
    }
    return plan;
}

MigrateResult migrate(const MigrationLoader& loader, const MigrateOptions& options) {
    const std::string& alias = options.database;
    auto& database = db::connection(alias);
    const bool sqlite = database.backend().vendor() == "sqlite";
    if (sqlite && database.in_atomic_block()) {
        throw MigrationError(
            "migrate() cannot run inside an atomic block on SQLite: it turns "
            "foreign-key checks off around each migration, which SQLite "
            "ignores inside a transaction");
    }
    const MigrationRecorder recorder(alias);
    std::set<MigrationKey> applied = recorder.applied();
    MigrateResult result;
    result.plan = migration_plan(loader, applied, options);

    // The apps without migrations get their tables as tocsin::migrate() makes them.
    std::vector<const ModelInfo*> unmigrated;
    for (const ModelInfo* m : tocsin::migration_plan()) {
        if (!loader.has_migrations(m->app_label)) {
            unmigrated.push_back(m);
        }
    }
    const auto apps = Apps::instance().app_configs();
    for (const auto& app : apps) {
        pre_migrate.send(MigrateEvent{*app, alias, unmigrated, result.plan});
    }
    recorder.ensure_schema();  // after pre_migrate, as Django's executor
    atomic(alias, [&] {
        for (const ModelInfo* m : unmigrated) {
            database.execute(create_table_sql(*m, alias));
            for (const auto& index : create_index_sql(*m, alias)) {
                database.execute(index);
            }
        }
    });
    result.synced = unmigrated;

    for (const auto& step : result.plan) {
        const MigrationKey key{step.app, step.name};
        const Migration& m = loader.get(key);
        if (options.log != nullptr) {
            *options.log << (step.backwards ? "  Unapplying " : "  Applying ") << m.label()
                         << "...";
        }
        bool faked = options.fake;
        std::optional<std::int64_t> foreign_keys;
        if (sqlite) {
            foreign_keys = database.query_value("PRAGMA foreign_keys")->as_integer();
            database.execute("PRAGMA foreign_keys = OFF");
        }
        try {
            atomic(alias, [&] {
                if (!step.backwards) {
                    const ProjectState before = loader.project_state(applied);
                    if (!faked && options.fake_initial && m.initial &&
                        soft_applied(m, before, alias)) {
                        faked = true;
                    }
                    if (!faked) {
                        SchemaEditor editor(alias);
                        static_cast<void>(run_operations(m, editor, before, false, alias));
                    }
                    recorder.record_applied(key);
                } else {
                    auto without = applied;
                    without.erase(key);
                    if (!faked) {
                        SchemaEditor editor(alias);
                        static_cast<void>(
                            run_operations(m, editor, loader.project_state(without), true, alias));
                    }
                    recorder.record_unapplied(key);
                }
                if (sqlite) {
                    const auto broken = database.query("PRAGMA foreign_key_check");
                    if (!broken.empty()) {
                        const auto& row = broken.front();
                        throw MigrationError(
                            std::string(step.backwards ? "Unapplying " : "Applying ") + m.label() +
                            " breaks a foreign key: the row with rowid " +
                            db::to_string(row.at(1)) + " of table " + db::to_string(row.at(0)) +
                            " refers to a row of " + db::to_string(row.at(2)) +
                            " that does not exist (" + std::to_string(broken.size()) +
                            " row(s) in all); the migration was rolled back");
                    }
                }
            });
        } catch (...) {
            if (foreign_keys) {
                database.execute("PRAGMA foreign_keys = " + std::to_string(*foreign_keys));
            }
            if (options.log != nullptr) {
                *options.log << " FAILED\n";
            }
            throw;
        }
        if (foreign_keys) {
            database.execute("PRAGMA foreign_keys = " + std::to_string(*foreign_keys));
        }
        // Statements prepared before may describe the old tables (PostgreSQL refuses a cached
        // plan whose result type changed): prepare them again.
        database.backend().statement_cache().clear();
        if (step.backwards) {
            applied.erase(key);
        } else {
            applied.insert(key);
        }
        if (faked) {
            result.faked.push_back(step);
        }
        if (options.log != nullptr) {
            *options.log << (faked ? " FAKED\n" : " OK\n");
        }
    }
    for (const auto& app : apps) {
        post_migrate.send(MigrateEvent{*app, alias, unmigrated, result.plan});
    }
    return result;
}

std::vector<std::string> sql_migrate(const MigrationLoader& loader, const MigrationKey& key,
                                     bool backwards, const std::string& alias) {
    const Migration& m = loader.get(key);
    auto before_nodes = loader.forwards_plan(key);
    before_nodes.pop_back();  // the migration itself comes last
    const ProjectState before =
        loader.project_state(std::set<MigrationKey>(before_nodes.begin(), before_nodes.end()));
    SchemaEditor editor(alias, /*collect_only=*/true);
    std::vector<std::string> out;
    // RunPython runs nothing here: sqlmigrate only shows SQL (Django writes a comment).
    Migration shown = m;
    for (auto& op : shown.operations) {
        if (std::holds_alternative<RunPython>(op)) {
            op = RunPython{"noop", "noop"};
        }
    }
    static_cast<void>(run_operations(shown, editor, before, backwards, alias));
    for (const auto& s : editor.statements()) {
        out.push_back(editor.inline_sql(s) + ";");
    }
    return out;
}

}  // namespace tocsin::migrations
