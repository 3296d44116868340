// The migration commands of manage(): makemigrations, migrate, showmigrations, sqlmigrate.
#pragma once

#include "tocsin/management/manage.hpp"

namespace tocsin::management::detail {

/// `makemigrations [APP...] [--check] [--dry-run] [--name N] [--rename ...]`.
[[nodiscard]] Command makemigrations_command();
/// `migrate [APP [MIGRATION|zero]] [--database A] [--fake] [--fake-initial]`.
[[nodiscard]] Command migrate_command();
/// `showmigrations [APP...] [--database A]`.
[[nodiscard]] Command showmigrations_command();
/// `sqlmigrate APP MIGRATION [--backwards] [--database A]`.
[[nodiscard]] Command sqlmigrate_command();

}  // namespace tocsin::management::detail
