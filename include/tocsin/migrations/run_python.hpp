// Data migrations: C++ functions registered under a name that a migration's RunPython operation
// names (Django's RunPython, whose code is a Python function).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "tocsin/migrations/state.hpp"

namespace tocsin::migrations {

/// What a data migration function gets.
struct RunPythonContext {
    const std::string& database;  ///< the alias migrated: run queries on db::connection(database)
    /// The models as the migration sees them (the state before the operation): use its tables
    /// and columns, not the compiled models', which may be newer (Django's historical models).
    const ProjectState& state;
    bool backwards = false;  ///< running the reverse
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
