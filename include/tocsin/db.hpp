// The db layer of tocsin: Database and its aliases, the backend interface, the SQLite
// and PostgreSQL backends, atomic() transactions with savepoints, and on_commit(). Depends on the
// standard library, SQLite and libpq only.
#pragma once

#include "tocsin/db/atomic.hpp"
#include "tocsin/db/backend.hpp"
#include "tocsin/db/database.hpp"
#include "tocsin/db/error.hpp"
#include "tocsin/db/log.hpp"
#include "tocsin/db/on_commit.hpp"
#include "tocsin/db/postgresql_backend.hpp"
#include "tocsin/db/settings.hpp"
#include "tocsin/db/sqlite_backend.hpp"
#include "tocsin/db/sqlite_statement.hpp"
#include "tocsin/db/statement.hpp"
#include "tocsin/db/statement_cache.hpp"
#include "tocsin/db/value.hpp"
#include "tocsin/db/value_ref.hpp"
