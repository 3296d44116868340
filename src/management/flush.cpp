// flush(), sql_flush() and the `flush` / `sqlflush` commands of manage() (Django's
// core/management/sql.py and commands/flush.py, sqlflush.py).
#include "tocsin/management/flush.hpp"

#include <iostream>
#include <ostream>
#include <string>
#include <vector>

#include "flush_commands.hpp"
#include "tocsin/apps/registry.hpp"
#include "tocsin/db/atomic.hpp"
#include "tocsin/db/database.hpp"
#include "tocsin/migrations/recorder.hpp"
#include "tocsin/models/migrate_signals.hpp"
#include "tocsin/models/model_info.hpp"
#include "tocsin/models/schema.hpp"

namespace tocsin {
namespace {

/// The tables of the installed models that exist on `alias` (Django's
/// introspection.django_table_names(only_existing=True)), in creation order, and those of them
/// with an auto-incrementing id (a child's key is its parent link: no sequence of its own).
struct FlushTables {
    std::vector<std::string> tables;
    std::vector<std::string> with_sequence;
};

FlushTables flush_tables(std::string_view alias) {
    const std::string name(alias);
    FlushTables out;
    for (const ModelInfo* m : migration_plan()) {
        if (m->proxy_for != nullptr || !migrations::table_exists(name, m->table)) {
            continue;
        }
        out.tables.push_back(m->table);
        if (m->parent == nullptr) {
            out.with_sequence.push_back(m->table);
        }
    }
    return out;
}

std::vector<std::string> flush_statements(std::string_view alias, const FlushTables& found,
                                          bool reset_sequences) {
    return db::connection(alias).backend().flush_sql(
        found.tables, reset_sequences ? found.with_sequence : std::vector<std::string>{});
}

}  // namespace

std::vector<std::string> sql_flush(std::string_view alias, bool reset_sequences) {
    return flush_statements(alias, flush_tables(alias), reset_sequences);
}

std::vector<std::string> flush(std::string_view alias, const FlushOptions& options) {
    static_cast<void>(db::connection(alias));  // an unknown alias fails before anything
    const FlushTables found = flush_tables(alias);
    const auto sql = flush_statements(alias, found, options.reset_sequences);
    if (sql.empty()) {
        return {};
    }
    atomic(alias, [&] {
        auto& database = db::connection(alias);
        if (const auto defer = database.backend().defer_constraint_checks_sql(); !defer.empty()) {
            database.execute(defer);
        }
        for (const auto& statement : sql) {
            database.execute(statement);
        }
    });
    // Django: "Empty sql_list may signify an empty database and post_migrate would then crash";
    // with tables emptied, the receivers that fill them on migrate run again.
    if (!options.inhibit_post_migrate) {
        const std::vector<const ModelInfo*> no_plan;
        for (const auto& app : Apps::instance().app_configs()) {
            post_migrate.send(MigrateEvent{*app, alias, no_plan, {}});
        }
    }
    return found.tables;
}

namespace management::detail {

Command flush_command() {
    return Command{
        .name = "flush",
        .help =
            "Remove every row of the installed models' tables (they stay, their ids start "
            "again at 1), then send post_migrate",
        .arguments =
            [](Arguments& a) {
                a.option("database", "The database alias to flush", std::string(db::default_alias));
                a.flag("noinput", "Do not ask for confirmation (Django's --noinput)");
            },
        .handle =
            [](const Options& o, std::ostream& out) {
                const std::string& alias = o.text("database");
                const std::string name = db::connection(alias).settings().name;
                if (!o.flag("noinput")) {
                    out << "You have requested a flush of the database.\n"
                           "This will IRREVERSIBLY DESTROY all data currently in the '"
                        << name
                        << "' database,\n"
                           "and return each table to an empty state.\n"
                           "Are you sure you want to do this?\n\n"
                           "    Type 'yes' to continue, or 'no' to cancel: "
                        << std::flush;
                    std::string answer;
                    std::getline(std::cin, answer);
                    if (answer != "yes") {
                        out << "\nFlush cancelled.\n";
                        return;
                    }
                    out << "\n";
                }
                try {
                    const auto tables = flush(alias);
                    out << "Flushed database '" << alias << "': " << tables.size() << " tables\n";
                } catch (const std::exception& e) {
                    throw CommandError(
                        "Database " + name + " couldn't be flushed: " + e.what() +
                        "\nHint: look at the output of 'sqlflush'. That's the SQL this command "
                        "wasn't able to run.");
                }
            },
    };
}

Command sqlflush_command() {
    return Command{
        .name = "sqlflush",
        .help = "Print the SQL statements that flush would run",
        .arguments =
            [](Arguments& a) {
                a.option("database", "The database alias to print the SQL for",
                         std::string(db::default_alias));
            },
        .handle =
            [](const Options& o, std::ostream& out) {
                for (const auto& statement : sql_flush(o.text("database"))) {
                    out << statement << ";\n";
                }
            },
    };
}

}  // namespace management::detail
}  // namespace tocsin
