// Helpers of the migration tests: a fresh database per test on each engine (SQLite file or a
// database of the PostgreSQL test cluster), hand-built states (as Django's autodetector tests
// build ModelStates), migrations written to a folder, and the engine's own catalog as text.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "../support/postgresql.hpp"
#include "../support/temp_dir.hpp"
#include "tocsin/db.hpp"
#include "tocsin/migrations.hpp"

namespace tocsin::test {

namespace mig = tocsin::migrations;

/// A field for a hand-built state.
inline mig::FieldState make_field(std::string name, db::LogicalType type, db::Value def = {},
                                  bool null = false) {
    mig::FieldState f;
    f.column = name;
    f.name = std::move(name);
    f.type = type;
    f.default_value = std::move(def);
    f.null = null;
    return f;
}

/// A foreign key field "<name>" (column "<name>_id") to `to`.
inline mig::FieldState make_key(std::string name, std::string to, bool null = false) {
    mig::FieldState f;
    f.column = name + "_id";
    f.name = std::move(name);
    f.type = db::LogicalType::integer;
    f.to = std::move(to);
    f.on_delete = OnDelete::cascade;
    f.null = null;
    return f;
}

/// A model for a hand-built state.
inline mig::ModelState make_model(std::string app, std::string name,
                                  std::vector<mig::FieldState> fields) {
    mig::ModelState m;
    m.app_label = std::move(app);
    m.name = std::move(name);
    m.table = m.app_label + "_" + mig::state_key(m.name);
    m.fields = std::move(fields);
    return m;
}

/// A state of these models.
inline mig::ProjectState make_state(std::vector<mig::ModelState> models) {
    mig::ProjectState s;
    for (auto& m : models) {
        s.models[mig::state_key(m.label())] = std::move(m);
    }
    return s;
}

/// A migration of `app` named `name` with these operations and dependencies.
inline mig::Migration make_migration(std::string app, std::string name,
                                     std::vector<mig::Operation> ops,
                                     std::vector<mig::MigrationKey> deps = {}) {
    mig::Migration m;
    m.app = std::move(app);
    m.name = std::move(name);
    m.initial = m.name.rfind("0001", 0) == 0;
    m.operations = std::move(ops);
    m.dependencies = std::move(deps);
    return m;
}

/// Writes `m` as `<root>/<app>/<name>.json`.
inline void write_migration(const std::filesystem::path& root, const mig::Migration& m) {
    std::filesystem::create_directories(root / m.app);
    std::ofstream(root / m.app / (m.name + ".json"), std::ios::binary) << mig::to_json(m);
}

/// The engine's catalog of every table but django_migrations, as sorted text lines: columns
/// (name, type, null), indexes (name, unique, columns), foreign keys, unique constraints.
inline std::string catalog(const std::string& alias = "default") {
    auto& database = db::connection(alias);
    std::vector<std::string> lines;
    const auto text = [](const db::Value& v) { return db::to_string(v); };
    if (database.backend().vendor() == "postgresql") {
        for (const auto& r : database.query(
                 "SELECT table_name, column_name, data_type, is_nullable FROM "
                 "information_schema.columns WHERE table_schema = current_schema() AND "
                 "table_name <> 'django_migrations' ORDER BY table_name, ordinal_position")) {
            lines.push_back("column " + text(r[0]) + " " + text(r[1]) + " " + text(r[2]) + " " +
                            text(r[3]));
        }
        for (const auto& r : database.query(
                 "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = "
                 "current_schema() AND tablename <> 'django_migrations'")) {
            lines.push_back("index " + text(r[0]) + " " + text(r[1]) + " " + text(r[2]));
        }
        for (const auto& r :
             database.query("SELECT rel.relname, con.conname, pg_get_constraintdef(con.oid) FROM "
                            "pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid JOIN "
                            "pg_namespace ns ON ns.oid = rel.relnamespace WHERE ns.nspname = "
                            "current_schema() AND rel.relname <> 'django_migrations'")) {
            lines.push_back("constraint " + text(r[0]) + " " + text(r[1]) + " " + text(r[2]));
        }
    } else {
        for (const auto& t :
             database.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                            "'sqlite_%' AND name <> 'django_migrations'")) {
            const auto table = t[0];
            for (const auto& r : database.query(
                     "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1) ORDER BY cid",
                     {table})) {
                lines.push_back("column " + text(table) + " " + text(r[0]) + " " + text(r[1]) +
                                " notnull=" + text(r[2]) + " pk=" + text(r[3]));
            }
            for (const auto& r : database.query(
                     "SELECT name, \"unique\", origin FROM pragma_index_list(?1)", {table})) {
                std::string columns;
                for (const auto& c : database.query(
                         "SELECT name FROM pragma_index_info(?1) ORDER BY seqno", {r[0]})) {
                    columns += " " + text(c[0]);
                }
                const bool automatic = r[0].as_text().rfind("sqlite_autoindex_", 0) == 0;
                lines.push_back("index " + text(table) + " " +
                                (automatic ? std::string("(auto)") : text(r[0])) +
                                " unique=" + text(r[1]) + " " + text(r[2]) + columns);
            }
            for (const auto& r : database.query(
                     "SELECT \"from\", \"table\", \"to\" FROM pragma_foreign_key_list(?1)",
                     {table})) {
                lines.push_back("fk " + text(table) + " " + text(r[0]) + " -> " + text(r[1]) + "." +
                                text(r[2]));
            }
        }
    }
    std::sort(lines.begin(), lines.end());
    std::string out;
    for (const auto& l : lines) {
        out += l + "\n";
    }
    return out;
}

/// A fresh "default" database per test, on the engine of the test's parameter.
class EngineTest : public ::testing::TestWithParam<std::string> {
  protected:
    void SetUp() override {
        if (GetParam() == "postgresql") {
            pg_ = std::make_unique<test_support::PgDatabase>();
            TOCSIN_REQUIRE_POSTGRESQL(*pg_);
            db::configure({{"default", pg_->settings()}});
        } else {
            db::configure({{"default", {.engine = "sqlite", .name = dir.file("default.db")}}});
        }
    }
    void TearDown() override {
        db::close_all();
        db::configure({});
    }

    /// Runs `sql` on "default".
    static std::int64_t exec(const std::string& sql, std::initializer_list<db::Value> params = {}) {
        return db::connection().execute(sql, params);
    }
    /// The rows of `sql` on "default".
    static std::vector<db::Row> rows(const std::string& sql,
                                     std::initializer_list<db::Value> params = {}) {
        return db::connection().query(sql, params);
    }
    /// Migrates "default" with the migrations in `root`: app (""=all) to target.
    mig::MigrateResult migrate_to(const std::string& app = {}, const std::string& target = {}) {
        const mig::MigrationLoader loader(root());
        return mig::migrate(loader, {.database = "default", .app = app, .target = target});
    }
    /// The folder of this test's migrations.
    [[nodiscard]] std::filesystem::path root() const { return dir.path() / "migrations"; }

    test_support::TempDir dir;

  private:
    std::unique_ptr<test_support::PgDatabase> pg_;
};

/// "sqlite" / "postgresql" as the test name's suffix.
inline std::string engine_name(const ::testing::TestParamInfo<std::string>& info) {
    return info.param;
}

}  // namespace tocsin::test
