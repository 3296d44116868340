// tocsin::db::Backend defaults and the registry of engines.
#include "tocsin/db/backend.hpp"

#include <map>
#include <mutex>
#include <utility>

#include "tocsin/db/error.hpp"
#include "tocsin/db/postgresql_backend.hpp"
#include "tocsin/db/sqlite_backend.hpp"

namespace tocsin::db {

std::string Backend::quote_name(std::string_view identifier) const {
    std::string out;
    out.reserve(identifier.size() + 2);
    out += '"';
    for (char c : identifier) {
        if (c == '"')
            out += '"';
        out += c;
    }
    out += '"';
    return out;
}

std::string Backend::for_update_sql(bool nowait, bool skip_locked, std::string_view of,
                                    bool no_key) const {
    if (!features().has_select_for_update)
        return {};
    std::string sql = no_key ? "FOR NO KEY UPDATE" : "FOR UPDATE";
    if (!of.empty()) {
        sql += " OF ";
        sql += of;
    }
    if (nowait)
        sql += " NOWAIT";
    if (skip_locked)
        sql += " SKIP LOCKED";
    return sql;
}

std::string Backend::savepoint_sql(std::string_view name) const {
    return "SAVEPOINT " + quote_name(name);
}

std::vector<std::string> Backend::flush_sql(
    const std::vector<std::string>& tables,
    const std::vector<std::string>& reset_sequences_of) const {
    static_cast<void>(reset_sequences_of);
    std::vector<std::string> sql;
    sql.reserve(tables.size());
    for (const auto& table : tables) {
        sql.push_back("DELETE FROM " + quote_name(table));
    }
    return sql;
}

std::string Backend::release_savepoint_sql(std::string_view name) const {
    return "RELEASE SAVEPOINT " + quote_name(name);
}

std::string Backend::rollback_to_savepoint_sql(std::string_view name) const {
    return "ROLLBACK TO SAVEPOINT " + quote_name(name);
}

CachedStatement Backend::cached(std::string_view sql, tocsin::source_location where) {
    return cache_.acquire(
        sql, [&](std::string_view text) { return do_prepare(text, /*persistent=*/true, where); },
        weak_from_this().lock());
}

CachedStatement Backend::cached_scoped(std::string_view sql, tocsin::source_location where) {
    return cache_.acquire(
        sql, [&](std::string_view text) { return do_prepare(text, /*persistent=*/true, where); });
}

namespace {

struct Engines {
    std::mutex mutex;
    std::map<std::string, BackendFactory, std::less<>> factories{
        {"sqlite", &SqliteBackend::create}, {"postgresql", &PostgresqlBackend::create}};
};

Engines& engines() {
    static Engines instance;
    return instance;
}

}  // namespace

void register_backend(std::string engine, BackendFactory factory) {
    auto& e = engines();
    const std::lock_guard lock(e.mutex);
    e.factories.insert_or_assign(std::move(engine), std::move(factory));
}

bool has_backend(std::string_view engine) {
    auto& e = engines();
    const std::lock_guard lock(e.mutex);
    return e.factories.find(engine) != e.factories.end();
}

std::shared_ptr<Backend> open_backend(const Settings& settings, tocsin::source_location where) {
    BackendFactory factory;
    {
        auto& e = engines();
        const std::lock_guard lock(e.mutex);
        if (auto it = e.factories.find(settings.engine); it != e.factories.end()) {
            factory = it->second;
        } else {
            std::string known;
            for (const auto& [name, f] : e.factories)
                known += (known.empty() ? "" : ", ") + name;
            throw ConfigurationError("unknown database engine \"" + settings.engine +
                                         "\" (registered engines: " + known + ")",
                                     where);
        }
    }
    return factory(settings, where);
}

}  // namespace tocsin::db
