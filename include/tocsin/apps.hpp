// <tocsin/apps.hpp> — installed apps, their models, setup().
#pragma once

#include "tocsin/apps/app_config.hpp"         // IWYU pragma: export
#include "tocsin/apps/describe.hpp"           // IWYU pragma: export
#include "tocsin/apps/model_description.hpp"  // IWYU pragma: export
#include "tocsin/apps/registry.hpp"           // IWYU pragma: export
