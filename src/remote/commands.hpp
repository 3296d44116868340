// The remote layer's commands of manage(): worker and outbox (not installed).
#pragma once

#include "tocsin/management/manage.hpp"

namespace tocsin::management::detail {

/// `worker [--queue Q,...] [--concurrency N] [--database A] [--batch-size N]
/// [--poll-interval MS] [--visibility-timeout S] [--name NAME] [--drain]`.
[[nodiscard]] Command worker_command();
/// `outbox [--queue Q] [--receiver UID] [--status S] [--list] [--limit N] [--retry] [--purge]
/// [--database A]`.
[[nodiscard]] Command outbox_command();
/// How `receivers` shows a receiver: "remote:<queue>" for the local half of a remote receiver
/// (connected to @p signal under @p dispatch_uid), else empty.
[[nodiscard]] std::string remote_mode(std::string_view signal, std::string_view dispatch_uid);

}  // namespace tocsin::management::detail
