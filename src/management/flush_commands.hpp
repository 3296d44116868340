// The flush commands of manage(): flush and sqlflush (src/management/flush.cpp).
#pragma once

#include "tocsin/management/manage.hpp"

namespace tocsin::management::detail {

/// `flush [--database A] [--noinput]`: asks for "yes" on the standard input unless --noinput.
[[nodiscard]] Command flush_command();
/// `sqlflush [--database A]`: the statements flush would run, one per line ending with ';'.
[[nodiscard]] Command sqlflush_command();

}  // namespace tocsin::management::detail
