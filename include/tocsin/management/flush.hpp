// flush() — empties every table of the installed models, as Django's `flush` command does: the
// tables stay, their rows go, their id sequences start again, and post_migrate is sent again so
// that the data receivers create on it (a default site, permissions…) is back.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tocsin/db/default_alias.hpp"

namespace tocsin {

/// What flush() does besides removing the rows (the arguments of Django's call_command('flush')).
struct FlushOptions {
    /// Start the id sequences of the emptied tables again, so the next row gets id 1 (Django's
    /// reset_sequences, on by default).
    bool reset_sequences = true;
    /// Do not send post_migrate afterwards (Django's inhibit_post_migrate).
    bool inhibit_post_migrate = false;
};

/// The statements flush() runs on the database `alias` (Django's sql_flush; `manage sqlflush`
/// prints them): for the tables of every installed concrete model and many-to-many through
/// table that exists there, TRUNCATE on PostgreSQL, DELETE on SQLite, and with
/// `reset_sequences` what restarts their id sequences. Empty when none of those tables exists.
/// Tables that are not a model's (the migration history, the outbox) are left alone.
[[nodiscard]] std::vector<std::string> sql_flush(std::string_view alias = db::default_alias,
                                                 bool reset_sequences = true);

/// Removes every row of the installed models' tables on the database `alias` in one transaction
/// (with foreign-key checks at its commit), without sending a delete signal for any of them
/// (Django's flush neither), then, unless asked not to and if there was a table to empty, sends
/// post_migrate for every installed app (Django's emit_post_migrate_signal; the event's plan is
/// empty). Returns the tables it emptied. Fails before removing anything when `alias` is not
/// configured; a statement that fails rolls every table back and throws what the database said.
std::vector<std::string> flush(std::string_view alias = db::default_alias,
                               const FlushOptions& options = {});

}  // namespace tocsin
