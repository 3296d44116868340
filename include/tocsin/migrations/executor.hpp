// tocsin::migrations::migrate() — applies and unapplies migrations on a database (Django's
// MigrationExecutor and the migrate command's core).
#pragma once

#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "tocsin/db/default_alias.hpp"
#include "tocsin/migrations/loader.hpp"
#include "tocsin/migrations/schema_editor.hpp"
#include "tocsin/models/migrate_signals.hpp"

namespace tocsin {
struct ModelInfo;
}

namespace tocsin::migrations {

/// What to migrate.
struct MigrateOptions {
    std::string database{db::default_alias};  ///< the alias
    /// The app to migrate ("" = every app with migrations, to its latest migration).
    std::string app{};
    /// With `app`: the migration to end at (its name, or an unambiguous prefix: "0002"), "zero"
    /// to unapply every migration of the app, "" for its latest. Going back to an applied
    /// migration unapplies what comes after it.
    std::string target{};
    /// Record the plan as applied (or unapplied) without running it (Django's --fake).
    bool fake = false;
    /// An initial migration whose tables all exist with their columns is recorded as applied
    /// without running it (Django's --fake-initial): how a database made by tocsin::migrate()
    /// (no migrations) is adopted.
    bool fake_initial = false;
    /// Where to report each step ("  Applying blog.0002_post_views... OK"); may be null.
    std::ostream* log = nullptr;
};

/// What migrate() did.
struct MigrateResult {
    std::vector<MigrationStep> plan;  ///< the migrations applied or unapplied, in order
    /// The models of apps without migrations whose tables were created (or found), as
    /// tocsin::migrate() does for them (Django's run_syncdb).
    std::vector<const ModelInfo*> synced;
    std::vector<MigrationStep> faked;  ///< the steps recorded without running (fake, fake_initial)
};

/// The steps that bring the database from `applied` to the options' target, in order.
/// MigrationError for an unknown app or migration.
[[nodiscard]] std::vector<MigrationStep> migration_plan(const MigrationLoader& loader,
                                                        const std::set<MigrationKey>& applied,
                                                        const MigrateOptions& options);

/// Migrates the database: sends pre_migrate for every installed app (with the plan), creates the
/// tables of the apps without migrations (as tocsin::migrate()), applies or unapplies each
/// migration of the plan in its own transaction (recording it in django_migrations in that
/// transaction), then sends post_migrate for every installed app. On SQLite, foreign-key
/// enforcement is off during each migration and every key is checked before it commits (the
/// table rebuilds need it); call it outside any atomic block. A migration that fails is rolled
/// back and MigrationError says which migration, which operation and why; the migrations
/// before it stay applied.
MigrateResult migrate(const MigrationLoader& loader, const MigrateOptions& options = {});

/// The SQL of migration `key` (unapplied, with `backwards`) for the database `alias`, without
/// running it (Django's sqlmigrate); parameters are written as literals.
[[nodiscard]] std::vector<std::string> sql_migrate(
    const MigrationLoader& loader, const MigrationKey& key, bool backwards = false,
    const std::string& alias = std::string(db::default_alias));

}  // namespace tocsin::migrations
