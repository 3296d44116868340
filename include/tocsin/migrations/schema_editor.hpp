// tocsin::migrations::SchemaEditor — turns state changes into the SQL of one engine (Django's
// BaseDatabaseSchemaEditor): ALTER TABLE where the engine can, SQLite's table rebuild (new table,
// copy, drop, rename) where it cannot.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tocsin/db/value.hpp"
#include "tocsin/migrations/state.hpp"

namespace tocsin::migrations {

/// One statement and its parameters.
struct SqlStatement {
    std::string sql;
    std::vector<db::Value> params;
};

/// Writes the schema changes of migrations for the database `alias`. With `collect_only`, it
/// runs nothing and only collects the statements (sqlmigrate); otherwise it runs each statement
/// on the calling thread's connection (inside the caller's transaction) and collects it too.
class SchemaEditor {
  public:
    explicit SchemaEditor(std::string alias, bool collect_only = false);

    /// The engine: "sqlite" or "postgresql".
    [[nodiscard]] const std::string& vendor() const noexcept { return vendor_; }
    /// Every statement run (or collected) so far.
    [[nodiscard]] const std::vector<SqlStatement>& statements() const noexcept { return sql_; }

    /// Creates the table of `model` (columns, unique constraints, indexes). `state` resolves the
    /// models its relations refer to.
    void create_model(const ModelState& model, const ProjectState& state);
    /// Drops the table of `model`.
    void delete_model(const ModelState& model);
    /// Makes the table of `before` into the table of `after` (same model; fields matched by name
    /// through `renames` {old name, new name} then by equal names), keeping every row. Columns
    /// new to `after` get their default. A column that becomes NOT NULL without a default while
    /// rows would need a value is refused before anything changes (MigrationError naming the
    /// column, the rows, the first row's pk and the makemigrations --default flag). `state` is
    /// the state after. The change runs in a savepoint: when the database refuses it, the
    /// savepoint is rolled back and, if refused_row() finds the row, a MigrationError names it
    /// before the database's message; otherwise the database's error propagates.
    void alter_model(const ModelState& before, const ModelState& after, const ProjectState& state,
                     const std::vector<std::pair<std::string, std::string>>& renames = {});
    /// A row of `before`'s table that the table of `after` refuses, as a sentence ("the row with
    /// pk 3 of \"blog_post\" has slug = 'a', as the row with pk 1 has (unique in blog.Post)"):
    /// a NULL in a column that becomes NOT NULL without a default, a value a new unique column
    /// or constraint finds twice (the later row named), a key that refers to no row. "" when
    /// there is none or the table cannot be read (its queries run in a savepoint of their own).
    [[nodiscard]] std::string refused_row(
        const ModelState& before, const ModelState& after, const ProjectState& state,
        const std::vector<std::pair<std::string, std::string>>& renames = {}) const;
    /// Creates the named index `index` of `model`.
    void add_index(const ModelState& model, const IndexState& index);
    /// Drops the index named `name`.
    void remove_index(const ModelState& model, std::string_view name);

    /// The statement as text with its parameters written as SQL literals (for sqlmigrate).
    [[nodiscard]] std::string inline_sql(const SqlStatement& statement) const;

    /// The CREATE TABLE statement of `model` (also what the schema comparison of the initial
    /// migration expects).
    [[nodiscard]] std::string create_table_sql(const ModelState& model, const ProjectState& state,
                                               std::string_view table_name = {}) const;

  private:
    void run(std::string sql, std::vector<db::Value> params = {});
    void create_indexes(const ModelState& model);
    void refuse_not_null_without_default(
        const ModelState& before, const ModelState& after,
        const std::vector<std::pair<std::string, std::string>>& renames);
    void rebuild(const ModelState& before, const ModelState& after, const ProjectState& state,
                 const std::vector<std::pair<std::string, std::string>>& renames);
    void alter_postgresql(const ModelState& before, const ModelState& after,
                          const ProjectState& state,
                          const std::vector<std::pair<std::string, std::string>>& renames);
    [[nodiscard]] std::string quote(std::string_view name) const;
    [[nodiscard]] std::string column_definition(const FieldState& field,
                                                const ProjectState& state) const;
    [[nodiscard]] std::string references(const FieldState& field, const ProjectState& state) const;
    [[nodiscard]] std::string constraint_name(const std::string& table, const std::string& column,
                                              char kind) const;

    std::string alias_;
    std::string vendor_;
    bool collect_only_;
    std::vector<SqlStatement> sql_;
};

}  // namespace tocsin::migrations
