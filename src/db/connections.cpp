// tocsin::db::configure, connection(), close_all(): the process-wide configuration of database
// aliases (ConnectionHandler, Django's django.db.connections) and each thread's connections.
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "tocsin/db/database.hpp"
#include "tocsin/db/error.hpp"
#include "tocsin/db/on_commit.hpp"
#include "tocsin/dispatch/commit_deferrer.hpp"

namespace tocsin::db {

// ------------------------------------------------- the aliases (Django's ConnectionHandler)

namespace {

/// The configured aliases (Django's ConnectionHandler, whose instance is `connections`): their
/// settings. configure() bumps `configuration_generation`.
struct ConnectionHandler {
    std::mutex mutex;
    std::map<std::string, Settings, std::less<>> databases;
};
/// Bumped by every configure(): a connection made from older settings is checked again. At
/// namespace scope (constant-initialised), so that connection()'s fast path has no guard to test.
constinit std::atomic<std::uint64_t> configuration_generation{1};

ConnectionHandler& connections() {
    static ConnectionHandler instance;
    return instance;
}

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};
/// The connection the thread asked for last (most code asks for the same alias again and again:
/// a compare instead of a hash), or null. Trivially destructible, at namespace scope: reading it
/// needs no initialisation guard.
thread_local constinit Database* last_connection = nullptr;
/// A thread's connections by alias.
struct ThreadConnections {
    ThreadConnections() = default;
    ThreadConnections(const ThreadConnections&) = delete;
    ThreadConnections& operator=(const ThreadConnections&) = delete;
    ~ThreadConnections() { last_connection = nullptr; }
    std::unordered_map<std::string, std::unique_ptr<Database>, StringHash, std::equal_to<>> map;
};

ThreadConnections& thread_connections() {
    thread_local ThreadConnections table;
    return table;
}

/// Commit-time receivers of the dispatch layer wait for the alias's transaction; their failures
/// are logged like on_commit_robust's.
void defer_receiver(std::function<void()> task, std::string_view alias) {
    on_commit(std::move(task), OnCommitOptions{.alias = alias, .robust = true});
}

}  // namespace

void configure(std::map<std::string, Settings> databases) {
    set_commit_deferrer(&defer_receiver);
    for (const auto& [alias, settings] : databases) {
        if (!has_backend(settings.engine)) {
            throw ConfigurationError("database alias \"" + alias + "\" uses unknown engine \"" +
                                     settings.engine + "\"");
        }
    }
    auto& r = connections();
    const std::lock_guard lock(r.mutex);
    r.databases.clear();
    for (auto& [alias, settings] : databases)
        r.databases.emplace(alias, std::move(settings));
    configuration_generation.fetch_add(1, std::memory_order_acq_rel);
}

std::map<std::string, Settings> configuration() {
    auto& r = connections();
    const std::lock_guard lock(r.mutex);
    return {r.databases.begin(), r.databases.end()};
}

Database& connection(std::string_view alias, tocsin::source_location where) {
    const std::uint64_t generation = configuration_generation.load(std::memory_order_acquire);
    if (Database* last = last_connection;
        last != nullptr && last->generation_ == generation && last->alias_ == alias) [[likely]]
        return *last;
    auto& local = thread_connections().map;
    auto it = local.find(alias);
    if (it != local.end() && it->second->generation_ == generation) [[likely]] {
        last_connection = it->second.get();
        return *it->second;
    }
    auto& r = connections();

    Settings settings;
    {
        const std::lock_guard lock(r.mutex);
        auto found = r.databases.find(alias);
        if (found == r.databases.end()) {
            std::string known;
            for (const auto& [name, s] : r.databases) {
                known += known.empty() ? "\"" : ", \"";
                known += name + "\"";
            }
            throw ConfigurationError(
                "database alias \"" + std::string(alias) + "\" is not configured (" +
                    (known.empty() ? std::string("no database is configured: call "
                                                 "tocsin::db::configure() first")
                                   : "configured aliases: " + known) +
                    ")",
                where);
        }
        settings = found->second;
    }
    if (it == local.end()) {
        auto db = std::make_unique<Database>(std::string(alias), std::move(settings));
        db->generation_ = generation;
        it = local.emplace(std::string(alias), std::move(db)).first;
        last_connection = it->second.get();
        return *it->second;
    }
    Database& db = *it->second;
    if (db.settings_ != settings) {
        // Keep the old connection until its transaction ends; re-checked at the next call.
        if (db.in_atomic_block_ || !db.autocommit_)
            return db;
        db.close();
        db.reset_transaction_state();
        db.settings_ = std::move(settings);
    }
    db.generation_ = generation;
    last_connection = &db;
    return db;
}

void close_all() noexcept {
    for (auto& [alias, db] : thread_connections().map)
        db->close();
}

}  // namespace tocsin::db
