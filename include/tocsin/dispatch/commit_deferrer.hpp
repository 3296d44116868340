// tocsin::set_commit_deferrer — how a commit-time receiver (Connect::on_commit) reaches the
// transaction layer. The dispatch layer knows no database: the db layer installs the deferrer
// when databases are configured (tocsin::db::configure, tocsin::setup).
#pragma once

#include <functional>
#include <string_view>

namespace tocsin {

/// Runs `task` after the outermost transaction open on the database `alias` (in this thread)
/// commits, never after a rollback; at once when no transaction is open.
using CommitDeferrer = void (*)(std::function<void()> task, std::string_view alias);

/// Installs the deferrer commit-time receivers use (null = none). Thread-safe.
void set_commit_deferrer(CommitDeferrer deferrer) noexcept;

/// The installed deferrer, or null.
[[nodiscard]] CommitDeferrer commit_deferrer() noexcept;

namespace detail {
/// Hands `task` to the installed deferrer; without one no transaction can be open, so `task`
/// runs at once.
void defer_to_commit(std::function<void()> task, std::string_view alias);
}  // namespace detail

}  // namespace tocsin
