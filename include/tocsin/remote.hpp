// <tocsin/remote.hpp> — remote receivers: a transactional outbox in the database, workers that
// run the receivers in other processes (docs/remote.md).
#pragma once

#include "tocsin/remote/codec.hpp"    // IWYU pragma: export
#include "tocsin/remote/connect.hpp"  // IWYU pragma: export
#include "tocsin/remote/outbox.hpp"   // IWYU pragma: export
#include "tocsin/remote/worker.hpp"   // IWYU pragma: export
