#include "migration_commands.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "tocsin/apps/registry.hpp"
#include "tocsin/migrations/autodetector.hpp"
#include "tocsin/migrations/executor.hpp"
#include "tocsin/migrations/loader.hpp"
#include "tocsin/migrations/recorder.hpp"
#include "tocsin/models/model_info.hpp"
#include "tocsin/models/schema.hpp"

namespace tocsin::management::detail {

namespace {

namespace mig = tocsin::migrations;

void root_option(Arguments& a) {
    a.option("migrations-dir",
             "The folder holding <app>/NNNN_name.json (default: $TOCSIN_MIGRATIONS_DIR, else "
             "'migrations')");
}

mig::MigrationLoader load(const Options& o) {
    const auto& root = o.text("migrations-dir");
    return root.empty() ? mig::MigrationLoader() : mig::MigrationLoader(root);
}

void require_installed(const std::string& app) {
    if (Apps::instance().app(app) == nullptr) {
        throw CommandError("App '" + app + "' could not be found. Is it in installed_apps?");
    }
}

std::vector<mig::FieldRename> parse_renames(const std::string& text) {
    std::vector<mig::FieldRename> out;
    std::istringstream items(text);
    for (std::string item; std::getline(items, item, ',');) {
        if (item.empty()) {
            continue;
        }
        const auto eq = item.find('=');
        const auto dot = item.rfind('.', eq);
        if (eq == std::string::npos || dot == std::string::npos || dot == 0 ||
            eq + 1 == item.size()) {
            throw CommandError("--rename takes app.Model.old_name=new_name (got '" + item + "')");
        }
        out.push_back(
            {item.substr(0, dot), item.substr(dot + 1, eq - dot - 1), item.substr(eq + 1)});
    }
    return out;
}

/// `text` as a value of a field of `type` (what --default gives).
db::Value parse_value(const std::string& text, db::LogicalType type, const std::string& item) {
    try {
        switch (type) {
            case db::LogicalType::integer:
            case db::LogicalType::timestamp: {
                std::size_t used = 0;
                const long long v = std::stoll(text, &used);
                if (used == text.size()) {
                    return std::int64_t{v};
                }
                break;
            }
            case db::LogicalType::real: {
                std::size_t used = 0;
                const double v = std::stod(text, &used);
                if (used == text.size()) {
                    return v;
                }
                break;
            }
            case db::LogicalType::boolean:
                if (text == "true" || text == "1") {
                    return std::int64_t{1};
                }
                if (text == "false" || text == "0") {
                    return std::int64_t{0};
                }
                break;
            case db::LogicalType::text:
                return text;
            case db::LogicalType::blob:
                break;
        }
    } catch (const std::exception&) {  // stoll / stod: reported below
    }
    throw CommandError("--default " + item + ": '" + text + "' is not a " +
                       std::string(db::to_string(type)) + " value");
}

/// Applies `--default app.Model.field=VALUE,...` to the AddField / AlterField operations made.
void apply_defaults(std::vector<mig::Migration>& changes, const std::string& text) {
    std::istringstream items(text);
    for (std::string item; std::getline(items, item, ',');) {
        if (item.empty()) {
            continue;
        }
        const auto eq = item.find('=');
        const auto dot = item.rfind('.', eq);
        const auto first_dot = item.find('.');
        if (eq == std::string::npos || dot == std::string::npos || first_dot == dot) {
            throw CommandError("--default takes app.Model.field=VALUE (got '" + item + "')");
        }
        const std::string app = item.substr(0, first_dot);
        const std::string model = item.substr(first_dot + 1, dot - first_dot - 1);
        const std::string field = item.substr(dot + 1, eq - dot - 1);
        bool used = false;
        for (auto& m : changes) {
            for (auto& op : m.operations) {
                if (m.app != app) {
                    continue;
                }
                if (auto* a = std::get_if<mig::AddField>(&op);
                    a != nullptr && a->model == model && a->field.name == field) {
                    a->one_off_default = parse_value(item.substr(eq + 1), a->field.type, item);
                    used = true;
                } else if (auto* c = std::get_if<mig::AlterField>(&op);
                           c != nullptr && c->model == model && c->field.name == field) {
                    c->one_off_default = parse_value(item.substr(eq + 1), c->field.type, item);
                    used = true;
                }
            }
        }
        if (!used) {
            throw CommandError("--default " + item +
                               ": no field added or altered by the new migrations is named so");
        }
    }
}

}  // namespace

Command makemigrations_command() {
    return Command{
        .name = "makemigrations",
        .help = "Write the migrations that bring each app's migrations up to its models",
        .arguments =
            [](Arguments& a) {
                a.positional("apps", "Only these apps (default: every installed app)");
                a.flag("check", "Exit with 1 when a migration is missing, writing nothing");
                a.flag("dry-run", "Show the migrations, writing nothing");
                a.option("name", "The name of the new migrations (after their number)");
                a.option("default",
                         "One-off defaults for the rows that exist, comma-separated: "
                         "app.Model.field=VALUE (a NOT NULL field added without a default)");
                a.option("rename",
                         "Field renames, comma-separated: app.Model.old_name=new_name (a rename "
                         "is never guessed)");
                root_option(a);
            },
        .handle =
            [](const Options& o, std::ostream& out) {
                const auto loader = load(o);
                std::vector<std::string> installed;
                for (const auto& app : Apps::instance().app_configs()) {
                    installed.push_back(app->label());
                }
                mig::AutodetectorOptions options;
                options.apps = o.list("apps");
                for (const auto& app : options.apps) {
                    require_installed(app);
                }
                if (options.apps.empty()) {
                    options.apps = installed;
                }
                for (const auto& app : loader.apps()) {
                    const auto leaves = loader.leaf_nodes(app);
                    if (leaves.size() > 1) {
                        std::string names;
                        for (const auto& l : leaves) {
                            names += (names.empty() ? "" : ", ") + l.second;
                        }
                        throw CommandError(
                            "Conflicting migrations detected; multiple leaf nodes "
                            "in the migration graph: (" +
                            names + " in " + app + ").");
                    }
                    options.leaves[app] = leaves.front().second;
                }
                options.renames = parse_renames(o.text("rename"));
                options.name = o.text("name");
                auto changes = mig::detect_changes(
                    loader.project_state(), mig::ProjectState::from_models(installed), options);
                if (changes.empty()) {
                    if (o.list("apps").size() == 1) {
                        out << "No changes detected in app '" << o.list("apps").front() << "'\n";
                    } else {
                        out << "No changes detected\n";
                    }
                    return;
                }
                apply_defaults(changes, o.text("default"));
                const bool write = !o.flag("check") && !o.flag("dry-run");
                for (const auto& m : changes) {
                    const auto file = loader.directory(m.app) / (m.name + ".json");
                    out << "Migrations for '" << m.app << "':\n  " << file.string() << "\n";
                    for (const auto& op : m.operations) {
                        out << "    - " << mig::describe(op) << "\n";
                        const auto* add = std::get_if<mig::AddField>(&op);
                        if (add != nullptr && !add->field.null &&
                            add->field.default_value.is_null() && !add->one_off_default) {
                            out << "      (NOT NULL without a default: on a table with rows, "
                                   "migrate refuses it; give one with --default "
                                << m.app << "." << add->model << "." << add->field.name
                                << "=VALUE)\n";
                        }
                    }
                    if (o.flag("dry-run")) {
                        out << mig::to_json(m);
                    }
                    if (!write) {
                        continue;
                    }
                    std::filesystem::create_directories(file.parent_path());
                    if (std::filesystem::exists(file)) {
                        throw CommandError("'" + file.string() + "' exists already");
                    }
                    std::ofstream stream(file, std::ios::binary);
                    stream << mig::to_json(m);
                    stream.close();
                    if (!stream) {
                        throw CommandError("cannot write '" + file.string() + "'");
                    }
                }
                if (o.flag("check")) {
                    throw CommandError("Migrations are missing: run makemigrations");
                }
            },
    };
}

Command migrate_command() {
    return Command{
        .name = "migrate",
        .help =
            "Apply (or unapply) the migrations; create the tables of apps without migrations "
            "(existing ones are kept); send pre_migrate and post_migrate",
        .arguments =
            [](Arguments& a) {
                a.positional("target",
                             "APP, then optionally a migration name (or prefix), or 'zero' to "
                             "unapply every migration of APP");
                a.option("database", "The database alias", "default");
                a.flag("fake", "Record the migrations as applied (unapplied) without running them");
                a.flag("fake-initial",
                       "Record an initial migration as applied when its tables already exist "
                       "(a database made by migrate before the app had migrations)");
                root_option(a);
            },
        .handle =
            [](const Options& o, std::ostream& out) {
                const auto& alias = o.text("database");
                const auto& target = o.list("target");
                if (target.size() > 2) {
                    throw CommandError("migrate takes at most APP and MIGRATION");
                }
                const auto loader = load(o);
                if (loader.migrations().empty() && target.empty()) {
                    // No migrations at all: every table made from the models, as before.
                    const auto plan = migrate(alias);
                    out << "Migrated database '" << alias << "': " << plan.size()
                        << (plan.size() == 1 ? " model" : " models") << "\n";
                    for (const ModelInfo* m : plan) {
                        out << "  " << m->label() << " -> " << m->table << "\n";
                    }
                    return;
                }
                mig::MigrateOptions options;
                options.database = alias;
                if (!target.empty()) {
                    require_installed(target[0]);
                    options.app = target[0];
                    if (target.size() == 2) {
                        options.target = target[1];
                    }
                }
                options.fake = o.flag("fake");
                options.fake_initial = o.flag("fake-initial");
                options.log = &out;
                out << "Running migrations on database '" << alias << "':\n";
                const auto result = mig::migrate(loader, options);
                if (result.plan.empty()) {
                    out << "  No migrations to apply.\n";
                }
                if (!result.synced.empty()) {
                    out << "Synchronized apps without migrations: " << result.synced.size()
                        << (result.synced.size() == 1 ? " model" : " models") << "\n";
                    for (const ModelInfo* m : result.synced) {
                        out << "  " << m->label() << " -> " << m->table << "\n";
                    }
                }
            },
    };
}

Command showmigrations_command() {
    return Command{
        .name = "showmigrations",
        .help = "List each app's migrations, [X] when the database has applied it",
        .arguments =
            [](Arguments& a) {
                a.positional("apps", "Only these apps");
                a.option("database", "The database alias", "default");
                root_option(a);
            },
        .handle =
            [](const Options& o, std::ostream& out) {
                const auto loader = load(o);
                const auto applied = mig::MigrationRecorder(o.text("database")).applied();
                auto apps = o.list("apps");
                if (apps.empty()) {
                    for (const auto& app : Apps::instance().app_configs()) {
                        apps.push_back(app->label());
                    }
                }
                for (const auto& app : apps) {
                    require_installed(app);
                    out << app << "\n";
                    bool any = false;
                    for (const auto& key : loader.order()) {
                        if (key.first == app) {
                            any = true;
                            out << (applied.count(key) != 0 ? " [X] " : " [ ] ") << key.second
                                << "\n";
                        }
                    }
                    if (!any) {
                        out << " (no migrations)\n";
                    }
                }
            },
    };
}

Command sqlmigrate_command() {
    return Command{
        .name = "sqlmigrate",
        .help = "Print the SQL of one migration for the database, without running it",
        .arguments =
            [](Arguments& a) {
                a.positional("migration", "APP and MIGRATION (a name or an unambiguous prefix)",
                             true);
                a.option("database", "The database alias", "default");
                a.flag("backwards", "The SQL that unapplies it");
                root_option(a);
            },
        .handle =
            [](const Options& o, std::ostream& out) {
                const auto& args = o.list("migration");
                if (args.size() != 2) {
                    throw CommandError("sqlmigrate takes APP and MIGRATION");
                }
                const auto loader = load(o);
                mig::MigrationKey key{args[0], args[1]};
                if (loader.migrations().count(key) == 0) {
                    std::vector<mig::MigrationKey> matches;
                    for (const auto& [k, m] : loader.migrations()) {
                        if (k.first == args[0] && k.second.rfind(args[1], 0) == 0) {
                            matches.push_back(k);
                        }
                    }
                    if (matches.size() != 1) {
                        throw CommandError(matches.empty()
                                               ? "Cannot find a migration matching '" + args[1] +
                                                     "' from app '" + args[0] + "'."
                                               : "More than one migration matches '" + args[1] +
                                                     "' in app '" + args[0] +
                                                     "'. Please be more specific.");
                    }
                    key = matches.front();
                }
                out << "BEGIN;\n";
                for (const auto& sql :
                     mig::sql_migrate(loader, key, o.flag("backwards"), o.text("database"))) {
                    out << sql << "\n";
                }
                out << "COMMIT;\n";
            },
    };
}

}  // namespace tocsin::management::detail
