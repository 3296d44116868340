// <tocsin/models.hpp> — models, fields, relations (many-to-many too), queries, the model
// signals, schema creation.
#pragma once

#include "tocsin/apps.hpp"                    // IWYU pragma: export
#include "tocsin/db.hpp"                      // IWYU pragma: export
#include "tocsin/dispatch.hpp"                // IWYU pragma: export
#include "tocsin/models/bulk_signals.hpp"     // IWYU pragma: export
#include "tocsin/models/changes.hpp"          // IWYU pragma: export
#include "tocsin/models/errors.hpp"           // IWYU pragma: export
#include "tocsin/models/fields.hpp"           // IWYU pragma: export
#include "tocsin/models/many_to_many.hpp"     // IWYU pragma: export
#include "tocsin/models/migrate_signals.hpp"  // IWYU pragma: export
#include "tocsin/models/model.hpp"            // IWYU pragma: export
#include "tocsin/models/model_info.hpp"       // IWYU pragma: export
#include "tocsin/models/query.hpp"            // IWYU pragma: export
#include "tocsin/models/related.hpp"          // IWYU pragma: export
#include "tocsin/models/schema.hpp"           // IWYU pragma: export
#include "tocsin/models/signals.hpp"          // IWYU pragma: export
