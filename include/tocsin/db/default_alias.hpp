// tocsin::db::default_alias: the name every API uses when no database alias is given (Django's
// DEFAULT_DB_ALIAS), in a header of its own so that headers naming it stay light.
#pragma once

#include <string_view>

namespace tocsin::db {

/// The name of the default database alias: "default", as in Django.
inline constexpr std::string_view default_alias = "default";

}  // namespace tocsin::db
