// Schema creation from the model declarations (the `migrate` of a program without migrations).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tocsin/db/default_alias.hpp"

namespace tocsin {

struct ModelInfo;

/// The CREATE TABLE statement of `model` on the backend of `alias`.
[[nodiscard]] std::string create_table_sql(const ModelInfo& model,
                                           std::string_view alias = db::default_alias);

/// The CREATE INDEX statements of `model` on the backend of `alias`: one per field declared with
/// db_index and per foreign key that is not unique (Django's db_index=True on a ForeignKey; a
/// OneToOne's UNIQUE is its index), named "<table>_<column>_idx" (cascades and reverse lookups
/// by the key use it), then one per index the model declares (Model::indexes()).
[[nodiscard]] std::vector<std::string> create_index_sql(const ModelInfo& model,
                                                        std::string_view alias = db::default_alias);

/// The models whose tables migrate() creates: every model built so far (installed apps' models
/// are built by setup()), in creation order: referenced models first, then the through model of
/// each many-to-many relation.
[[nodiscard]] std::vector<const ModelInfo*> migration_plan();

/// Creates the table of every model of migration_plan(), in that order; tables that exist are
/// left as they are. Sends pre_migrate for every installed app (setup() order) before any table
/// is created, then creates the tables in one transaction, then sends post_migrate for every
/// installed app once it has committed. An exception from a pre_migrate receiver stops it before
/// any table is created; one from a post_migrate receiver propagates with the tables kept.
/// Returns the models whose tables it created (or found), in order: what it did, to report.
std::vector<const ModelInfo*> migrate(std::string_view alias = db::default_alias);

}  // namespace tocsin
