// tocsin::migrations::MigrationLoader — every migration of the program, from the migrations
// folders on disk and those compiled into the binary, as a dependency graph (Django's
// MigrationLoader and MigrationGraph).
#pragma once

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "tocsin/migrations/migration.hpp"
#include "tocsin/migrations/state.hpp"

namespace tocsin::migrations {

/// Adds a migration compiled into the program (what tocsin_add_migrations() generates): `json`
/// is the file's text, `source` its name for errors. Call it before setup(), e.g. from a static
/// initialiser. A later registration of the same app and name replaces the earlier.
void register_embedded_migration(std::string_view source, std::string_view json);

/// The root folder of the migrations on disk: `<root>/<app_label>/NNNN_name.json`. Default:
/// the environment variable TOCSIN_MIGRATIONS_DIR, else "migrations" (relative to the working
/// directory).
[[nodiscard]] std::filesystem::path default_migrations_root();

/// Every migration known, as a graph.
class MigrationLoader {
  public:
    /// Reads `<root>/<app>/*.json` for every app folder there, and the migrations compiled in
    /// for the apps that have no folder on disk (a deployed binary). Throws MigrationError for a
    /// file that cannot be read, a file whose app or name is not its folder's and file's, a
    /// dependency on a migration that does not exist, or a cycle.
    explicit MigrationLoader(std::filesystem::path root = default_migrations_root());

    /// The folder of `app`'s migrations on disk (it may not exist yet).
    [[nodiscard]] std::filesystem::path directory(std::string_view app) const;
    /// Every migration, by key.
    [[nodiscard]] const std::map<MigrationKey, Migration>& migrations() const noexcept {
        return migrations_;
    }
    /// The migration `key`; MigrationError when there is none.
    [[nodiscard]] const Migration& get(const MigrationKey& key) const;
    /// True when `app` has at least one migration.
    [[nodiscard]] bool has_migrations(std::string_view app) const;
    /// The apps with migrations, in name order.
    [[nodiscard]] std::vector<std::string> apps() const;
    /// The migrations of `app` that no other migration of `app` depends on (normally one).
    [[nodiscard]] std::vector<MigrationKey> leaf_nodes(std::string_view app) const;
    /// Every migration in an order where each comes after its dependencies (stable: by key among
    /// those free to go).
    [[nodiscard]] const std::vector<MigrationKey>& order() const noexcept { return order_; }
    /// `key` and every migration it depends on, directly or not, in order().
    [[nodiscard]] std::vector<MigrationKey> forwards_plan(const MigrationKey& key) const;
    /// `key` and every migration depending on it, directly or not, in reverse order().
    [[nodiscard]] std::vector<MigrationKey> backwards_plan(const MigrationKey& key) const;
    /// The state that the migrations in `nodes` add up to (applied in order()).
    [[nodiscard]] ProjectState project_state(const std::set<MigrationKey>& nodes) const;
    /// The state of every migration.
    [[nodiscard]] ProjectState project_state() const;

  private:
    void add(Migration migration, const std::string& source);
    void build_graph();
    std::filesystem::path root_;
    std::map<MigrationKey, Migration> migrations_;
    std::vector<MigrationKey> order_;
};

}  // namespace tocsin::migrations
