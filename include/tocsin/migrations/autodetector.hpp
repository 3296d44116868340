// tocsin::migrations::detect_changes() — compares two states and writes the migrations that lead
// from one to the other (Django's MigrationAutodetector).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tocsin/migrations/migration.hpp"
#include "tocsin/migrations/state.hpp"

namespace tocsin::migrations {

/// A field rename asked for (never guessed: a removed field and an added one of the same type
/// are a removal and an addition unless a rename says otherwise).
struct FieldRename {
    std::string model;     ///< "blog.Post"
    std::string old_name;  ///< "title"
    std::string new_name;  ///< "headline"
};

/// What detect_changes() is told.
struct AutodetectorOptions {
    /// Only these apps get migrations (empty: every app of the new state).
    std::vector<std::string> apps{};
    /// The last migration of each app that has migrations (its leaf): the new migration of the
    /// app depends on it and takes the next number. An app missing here gets "0001_initial".
    std::map<std::string, std::string> leaves{};
    std::vector<FieldRename> renames{};
    /// The name of the new migrations, after the number ("" = derived from the operations).
    std::string name{};
};

/// The migrations (at most one per app, in app order) that change `from` into `to`: created and
/// deleted models, added, removed, altered and renamed fields, added and removed indexes and
/// unique constraints, many-to-many through tables, ordered so that every table a key refers
/// to exists first; dependencies on the app's previous migration and on the migrations of other
/// apps whose models its relations refer to. Empty when nothing changed. Throws
/// std::invalid_argument for a rename that does not fit the states.
[[nodiscard]] std::vector<Migration> detect_changes(const ProjectState& from,
                                                    const ProjectState& to,
                                                    const AutodetectorOptions& options = {});

}  // namespace tocsin::migrations
