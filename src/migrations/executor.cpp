#include "tocsin/migrations/executor.hpp"

#include <algorithm>
#include <optional>

#include "tocsin/apps/registry.hpp"
#include "tocsin/db/atomic.hpp"
#include "tocsin/db/database.hpp"
#include "tocsin/db/error.hpp"
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
    const RunPythonContext context{alias, state, backwards, {}};
    try {
        (*f)(context);
    } catch (const std::exception& e) {
        if (context.current_row.empty()) {
            throw;
        }
        throw MigrationError(context.current_row + ": " + e.what());
    }
}

/// The table of the model `op` works on (in the state before or after it), or "" (RunPython).
std::string operation_table(const Operation& op, const std::string& app, const ProjectState& before,
                            const ProjectState& after) {
    const std::string label =
        std::visit(overloaded{[](const CreateModel& o) { return o.model.label(); },
                              [](const RunPython&) { return std::string(); },
                              [&](const auto& o) { return label_in(app, o.model); }},
                   op);
    if (label.empty()) {
        return {};
    }
    const ModelState* model = after.find(label);
    if (model == nullptr) {
        model = before.find(label);
    }
    return model == nullptr ? std::string() : model->table;
}

/// Which operation of `m` a foreign key broken at the end of the migration comes from: the last
/// one run on the table of the row (`child`), else on the table it refers to (`parent`), else
/// the last RunPython; nullopt when none fits.
std::optional<std::size_t> breaking_operation(const Migration& m, const ProjectState& before,
                                              bool backwards, const std::string& child,
                                              const std::string& parent) {
    std::vector<std::string> tables;
    ProjectState state = before;
    for (const auto& op : m.operations) {
        ProjectState next = state;
        apply(op, m.app, next);
        tables.push_back(operation_table(op, m.app, state, next));
        state = std::move(next);
    }
    std::vector<std::size_t> run_order;
    for (std::size_t i = 0; i < tables.size(); ++i) {
        run_order.push_back(backwards ? tables.size() - 1 - i : i);
    }
    for (const auto& wanted : {child, parent, std::string()}) {
        for (auto it = run_order.rbegin(); it != run_order.rend(); ++it) {
            if (tables[*it] == wanted &&
                (!wanted.empty() || std::holds_alternative<RunPython>(m.operations[*it]))) {
                return *it;
            }
        }
    }
    return std::nullopt;
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

/// A row of SQLite's `PRAGMA foreign_key_check` (table, rowid, parent, fkid) as a sentence: its
/// pk, the key column and value, and the table it refers to.
std::string breaking_key_row(const db::Row& row, const std::string& alias) {
    auto& database = db::connection(alias);
    auto& backend = database.backend();
    const std::string table = row.at(0).as_text();
    std::string out = "the row with pk " + db::to_string(row.at(1)) + " of \"" + table + "\"";
    try {
        for (const auto& key :
             database.query("PRAGMA foreign_key_list(" + backend.quote_name(table) + ")")) {
            if (key.at(0) == row.at(3)) {
                const std::string column = key.at(3).as_text();
                const auto value =
                    database.query_value("SELECT " + backend.quote_name(column) + " FROM " +
                                             backend.quote_name(table) + " WHERE rowid = ?",
                                         {row.at(1)});
                out += " has " + column + " = " + (value ? db::to_string(*value) : "?");
                break;
            }
        }
    } catch (const db::Error&) {
        // the row as SQLite names it is enough
    }
    return out + ", which is no row of \"" + row.at(2).as_text() + "\"";
}

/// What the foreign keys that `PRAGMA foreign_key_check` found broken at the end of `m` (run
/// backwards or not from `before`, the state of the migrations applied before) say: the
/// migration, the operation they most likely come from, the first row, how many.
std::string broken_key_message(const Migration& m, const ProjectState& before, bool backwards,
                               const std::vector<db::Row>& broken, const std::string& alias) {
    const auto& first = broken.front();
    std::string out = std::string(backwards ? "Unapplying " : "Applying ") + m.label();
    std::optional<std::size_t> op;
    try {
        op = breaking_operation(m, before, backwards, first.at(0).as_text(), first.at(2).as_text());
    } catch (const std::exception&) {
        // no operation to name
    }
    if (op) {
        out += " failed at operation " + std::to_string(*op) + " (" +
               operation_name(m.operations[*op]) + ": " + describe(m.operations[*op]) + ")";
    } else {
        out += " failed";
    }
    out += ": it breaks a foreign key: " + breaking_key_row(first, alias) + " (" +
           std::to_string(broken.size()) +
           " row(s) in all; SQLite checks the keys at the end of each migration); the migration "
           "was rolled back";
    return out;
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
                // The state the operations start from: the migrations applied before this one.
                auto without = applied;
                without.erase(key);
                const ProjectState before = loader.project_state(without);
                if (!step.backwards) {
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
                    if (!faked) {
                        SchemaEditor editor(alias);
                        static_cast<void>(run_operations(m, editor, before, true, alias));
                    }
                    recorder.record_unapplied(key);
                }
                if (sqlite) {
                    const auto broken = database.query("PRAGMA foreign_key_check");
                    if (!broken.empty()) {
                        throw MigrationError(
                            broken_key_message(m, before, step.backwards, broken, alias));
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
