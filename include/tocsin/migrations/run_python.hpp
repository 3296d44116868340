// Data migrations: C++ functions registered under a name that a migration's RunPython operation
// names (Django's RunPython, whose code is a Python function).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "tocsin/db/value.hpp"
#include "tocsin/migrations/state.hpp"

namespace tocsin::migrations {

/// What a data migration function gets.
struct RunPythonContext {
    const std::string& database;  ///< the alias migrated: run queries on db::connection(database)
    /// The models as the migration sees them (the state before the operation): use its tables
    /// and columns, not the compiled models', which may be newer (Django's historical models).
    const ProjectState& state;
    bool backwards = false;  ///< running the reverse
    /// The row the function said it works on (at_row()), as the error names it; "" for none.
    mutable std::string current_row{};

    /// Says which row the function works on now: its table and primary key. If the function
    /// then throws, the migration's error names that row ("the row with pk 7 of
    /// \"blog_post\": …") after the operation. Optional; the last call counts.
    void at_row(std::string_view table, const db::Value& pk) const;
};

/// A data migration function. It runs inside the migration's transaction: an exception rolls
/// the whole migration back.
using PythonFunction = std::function<void(const RunPythonContext&)>;

/// Registers `function` under `name` (replacing one of that name). "noop" is reserved: a
/// RunPython whose reverse is "noop" does nothing backwards. Throws std::invalid_argument for
/// an empty name, "noop" or an empty function.
void register_python(std::string name, PythonFunction function);
/// The function registered under `name`, or null.
[[nodiscard]] const PythonFunction* find_python(std::string_view name);

}  // namespace tocsin::migrations
