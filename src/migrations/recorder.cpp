#include "tocsin/migrations/recorder.hpp"

#include <chrono>

#include "tocsin/db/database.hpp"

namespace tocsin::migrations {

bool table_exists(const std::string& alias, const std::string& name) {
    auto& database = db::connection(alias);
    if (database.backend().vendor() == "postgresql") {
        return database
            .query_value(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() "
                "AND table_name = $1",
                {name})
            .has_value();
    }
    return database
        .query_value("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", {name})
        .has_value();
}

std::vector<std::string> table_columns(const std::string& alias, const std::string& name) {
    auto& database = db::connection(alias);
    std::vector<db::Row> rows;
    if (database.backend().vendor() == "postgresql") {
        rows = database.query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = "
            "current_schema() AND table_name = $1 ORDER BY ordinal_position",
            {name});
    } else {
        rows = database.query("SELECT name FROM pragma_table_info(?1) ORDER BY cid", {name});
    }
    std::vector<std::string> out;
    for (const auto& row : rows) {
        out.push_back(row.at(0).as_text());
    }
    return out;
}

bool MigrationRecorder::has_table() const {
    return table_exists(alias_, table);
}

void MigrationRecorder::ensure_schema() const {
    if (has_table()) {
        return;
    }
    auto& database = db::connection(alias_);
    auto& backend = database.backend();
    database.execute("CREATE TABLE " + backend.quote_name(table) + " (" + backend.quote_name("id") +
                     " " + backend.auto_primary_key_type() + ", " + backend.quote_name("app") +
                     " " + backend.column_type(db::LogicalType::text) + " NOT NULL, " +
                     backend.quote_name("name") + " " + backend.column_type(db::LogicalType::text) +
                     " NOT NULL, " + backend.quote_name("applied") + " " +
                     backend.column_type(db::LogicalType::timestamp) + " NOT NULL)");
}

std::set<MigrationKey> MigrationRecorder::applied() const {
    std::set<MigrationKey> out;
    if (!has_table()) {
        return out;
    }
    auto& database = db::connection(alias_);
    const auto& backend = database.backend();
    for (const auto& row :
         database.query("SELECT " + backend.quote_name("app") + ", " + backend.quote_name("name") +
                        " FROM " + backend.quote_name(table))) {
        out.emplace(row.at(0).as_text(), row.at(1).as_text());
    }
    return out;
}

void MigrationRecorder::record_applied(const MigrationKey& key) const {
    ensure_schema();
    auto& database = db::connection(alias_);
    const auto& backend = database.backend();
    const auto now =
        std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
    database.execute("INSERT INTO " + backend.quote_name(table) + " (" + backend.quote_name("app") +
                         ", " + backend.quote_name("name") + ", " + backend.quote_name("applied") +
                         ") VALUES (" + backend.placeholder(1) + ", " + backend.placeholder(2) +
                         ", " + backend.placeholder(3) + ")",
                     {key.first, key.second, db::Value(now)});
}

void MigrationRecorder::record_unapplied(const MigrationKey& key) const {
    auto& database = db::connection(alias_);
    const auto& backend = database.backend();
    database.execute("DELETE FROM " + backend.quote_name(table) + " WHERE " +
                         backend.quote_name("app") + " = " + backend.placeholder(1) + " AND " +
                         backend.quote_name("name") + " = " + backend.placeholder(2),
                     {key.first, key.second});
}

}  // namespace tocsin::migrations
