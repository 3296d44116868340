// tocsin::migrations::Migration — one migration file: its app, name, dependencies and
// operations, read from and written to JSON (see docs/migrations.md for the format).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tocsin/migrations/operations.hpp"

namespace tocsin::migrations {

/// A migration is (app label, name).
using MigrationKey = std::pair<std::string, std::string>;

/// One migration (Django's Migration class).
struct Migration {
    std::string app;   ///< "blog"
    std::string name;  ///< "0002_post_views"
    /// True for an app's first migration: migrate --fake-initial may mark it applied when its
    /// tables exist already.
    bool initial = false;
    std::vector<MigrationKey> dependencies;  ///< applied before this one
    std::vector<Operation> operations;       ///< in order

    /// "blog.0002_post_views".
    [[nodiscard]] std::string label() const { return app + "." + name; }
};

/// The migration as JSON (two-space indented, keys in a fixed order, a final newline): what
/// makemigrations writes.
[[nodiscard]] std::string to_json(const Migration& migration);

/// Reads a migration from its JSON text; `source` names it in errors (a file name). Throws
/// MigrationError saying where and what is wrong.
[[nodiscard]] Migration parse_migration(std::string_view json, std::string_view source);

}  // namespace tocsin::migrations
