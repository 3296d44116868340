// tocsin/auth.hpp — the auth app: Django-compatible password hashes (docs/auth.md).
#pragma once

#include "tocsin/auth/crypto.hpp"
#include "tocsin/auth/hashers.hpp"
