// <tocsin/management.hpp> — the command line of a tocsin program: tocsin::manage().
#pragma once

#include "tocsin/management/manage.hpp"  // IWYU pragma: export
