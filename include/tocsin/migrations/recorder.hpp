// tocsin::migrations::MigrationRecorder — the `django_migrations` table: which migrations a
// database has applied (Django's MigrationRecorder).
#pragma once

#include <set>
#include <string>

#include "tocsin/migrations/migration.hpp"

namespace tocsin::migrations {

/// Reads and writes the applied migrations of the database `alias`, in the table
/// `django_migrations` (id, app, name, applied: a timestamp, microseconds since the epoch).
class MigrationRecorder {
  public:
    /// The table's name.
    static constexpr const char* table = "django_migrations";

    explicit MigrationRecorder(std::string alias) : alias_(std::move(alias)) {}

    /// True when the table exists.
    [[nodiscard]] bool has_table() const;
    /// Creates the table unless it exists.
    void ensure_schema() const;
    /// The migrations recorded as applied (none when the table does not exist).
    [[nodiscard]] std::set<MigrationKey> applied() const;
    /// Records `key` as applied now.
    void record_applied(const MigrationKey& key) const;
    /// Forgets `key` (it was unapplied).
    void record_unapplied(const MigrationKey& key) const;

  private:
    std::string alias_;
};

/// True when the database `alias` has a table named `table` (the engine's own catalog).
[[nodiscard]] bool table_exists(const std::string& alias, const std::string& table);
/// The columns of `table` in the database `alias`, in order (empty when there is no table).
[[nodiscard]] std::vector<std::string> table_columns(const std::string& alias,
                                                     const std::string& table);

}  // namespace tocsin::migrations
