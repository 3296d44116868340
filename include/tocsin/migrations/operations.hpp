// The operations a migration is made of (Django's django.db.migrations.operations): each changes
// the state (apply()) and the database (the executor asks the schema editor). Every operation is
// reversible: the state before it tells what to restore.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "tocsin/migrations/state.hpp"

namespace tocsin::migrations {

/// Creates a model's table (with its fields, indexes and constraints).
struct CreateModel {
    ModelState model;
};
/// Drops a model's table (its rows go with it; backwards creates it empty).
struct DeleteModel {
    std::string model;  ///< the model name within the migration's app
};
/// Adds a column; rows that exist get the field's default.
struct AddField {
    std::string model;
    FieldState field;
    /// What the rows that exist get instead of the field's default, this once; not kept in the
    /// state (Django's preserve_default=False): `makemigrations --default`.
    std::optional<db::Value> one_off_default{};
};
/// Drops a column (its values go with it; backwards restores the default).
struct RemoveField {
    std::string model;
    std::string name;
};
/// Changes a field: type, null, default, unique, db_index, relation; values are kept (converted).
struct AlterField {
    std::string model;
    FieldState field;  ///< the field as it becomes (found by name)
    /// What NULLs become when the field becomes NOT NULL, instead of its default, this once
    /// (see AddField::one_off_default).
    std::optional<db::Value> one_off_default{};
};
/// Renames a field (and its column, when it followed the name); never guessed: asked for.
struct RenameField {
    std::string model;
    std::string old_name;
    std::string new_name;
};
/// Creates a named index.
struct AddIndex {
    std::string model;
    IndexState index;
};
/// Drops a named index.
struct RemoveIndex {
    std::string model;
    std::string name;
};
/// Adds a named unique constraint.
struct AddConstraint {
    std::string model;
    IndexState constraint;
};
/// Drops a named unique constraint.
struct RemoveConstraint {
    std::string model;
    std::string name;
};
/// Runs the C++ functions registered under these names (Django's RunPython); see
/// register_python(). `reverse` empty: the migration cannot be unapplied, unless `reverse` is
/// "noop" (nothing to undo).
struct RunPython {
    std::string code;
    std::string reverse;
};

/// One operation.
using Operation =
    std::variant<CreateModel, DeleteModel, AddField, RemoveField, AlterField, RenameField, AddIndex,
                 RemoveIndex, AddConstraint, RemoveConstraint, RunPython>;

/// The operation's name as written in migration files ("AddField").
[[nodiscard]] std::string operation_name(const Operation& op);
/// A one-line description, as Django's describe(): "Add field views to post".
[[nodiscard]] std::string describe(const Operation& op);
/// The fragment an automatic migration name is made of ("post_views", "delete_tag").
[[nodiscard]] std::string name_fragment(const Operation& op);
/// Applies `op` (of a migration of `app_label`) to `state`. Throws std::invalid_argument saying
/// what is missing or already there (a migration that does not fit the state before it).
void apply(const Operation& op, const std::string& app_label, ProjectState& state);

}  // namespace tocsin::migrations
