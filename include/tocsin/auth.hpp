// tocsin/auth.hpp — the auth and sessions apps: Django-compatible password hashes, the user
// model, sessions, authenticate/login/logout and their signals (docs/auth.md).
#pragma once

#include "tocsin/auth/app.hpp"
#include "tocsin/auth/crypto.hpp"
#include "tocsin/auth/hashers.hpp"
#include "tocsin/auth/login.hpp"
#include "tocsin/auth/session.hpp"
#include "tocsin/auth/signals.hpp"
#include "tocsin/auth/user.hpp"
#include "tocsin/auth/user_model.hpp"
