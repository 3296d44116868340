// <tocsin/management.hpp> — the command line of a tocsin program: tocsin::manage(), and
// flush() (its `flush` command as a function).
#pragma once

#include "tocsin/management/flush.hpp"   // IWYU pragma: export
#include "tocsin/management/manage.hpp"  // IWYU pragma: export
