// tocsin/admin.hpp — the admin: staff pages served by the program (`manage runserver`) listing,
// adding, changing and removing the objects of every installed model, with the signals they fire
// (docs/admin.md). Link tocsin::admin.
#pragma once

#include "tocsin/admin/app.hpp"
#include "tocsin/admin/html.hpp"
#include "tocsin/admin/server.hpp"
