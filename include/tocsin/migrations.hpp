// tocsin migrations: makemigrations, migrate forwards and backwards, on SQLite and PostgreSQL
// (Django's django.db.migrations). See docs/migrations.md.
#pragma once

#include "tocsin/migrations/autodetector.hpp"   // IWYU pragma: export
#include "tocsin/migrations/errors.hpp"         // IWYU pragma: export
#include "tocsin/migrations/executor.hpp"       // IWYU pragma: export
#include "tocsin/migrations/loader.hpp"         // IWYU pragma: export
#include "tocsin/migrations/migration.hpp"      // IWYU pragma: export
#include "tocsin/migrations/operations.hpp"     // IWYU pragma: export
#include "tocsin/migrations/recorder.hpp"       // IWYU pragma: export
#include "tocsin/migrations/run_python.hpp"     // IWYU pragma: export
#include "tocsin/migrations/schema_editor.hpp"  // IWYU pragma: export
#include "tocsin/migrations/state.hpp"          // IWYU pragma: export
