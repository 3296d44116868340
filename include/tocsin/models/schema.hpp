// Schema creation from the model declarations (the `migrate` of a program without migrations).
#pragma once

#include <string>
#include <string_view>

namespace tocsin {

struct ModelInfo;

/// The CREATE TABLE statement of `model` on the backend of `alias`.
[[nodiscard]] std::string create_table_sql(const ModelInfo& model,
                                           std::string_view alias = "default");

/// Creates the table of every model built so far (installed apps' models are built by setup()),
/// referenced models first, then the through table of each many-to-many relation; tables that
/// exist are left as they are. In one transaction.
void migrate(std::string_view alias = "default");

}  // namespace tocsin
