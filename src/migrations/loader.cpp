#include "tocsin/migrations/loader.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>

#include "tocsin/migrations/errors.hpp"

namespace tocsin::migrations {

namespace {
struct Embedded {
    std::string source;
    std::string json;
};
std::mutex& embedded_mutex() {
    static auto* m = new std::mutex;
    return *m;
}
std::vector<Embedded>& embedded_list() {
    static auto* v = new std::vector<Embedded>;
    return *v;
}
}  // namespace

void register_embedded_migration(std::string_view source, std::string_view json) {
    std::lock_guard lock(embedded_mutex());
    embedded_list().push_back({std::string(source), std::string(json)});
}

std::filesystem::path default_migrations_root() {
    if (const char* env = std::getenv("TOCSIN_MIGRATIONS_DIR"); env != nullptr && *env != '\0') {
        return env;
    }
    return "migrations";
}

MigrationLoader::MigrationLoader(std::filesystem::path root) : root_(std::move(root)) {
    std::set<std::string> on_disk;
    std::error_code ec;
    if (std::filesystem::is_directory(root_, ec)) {
        std::vector<std::filesystem::path> files;
        for (const auto& app_dir : std::filesystem::directory_iterator(root_)) {
            if (!app_dir.is_directory()) {
                continue;
            }
            on_disk.insert(app_dir.path().filename().string());
            for (const auto& file : std::filesystem::directory_iterator(app_dir.path())) {
                if (file.is_regular_file() && file.path().extension() == ".json") {
                    files.push_back(file.path());
                }
            }
        }
        std::sort(files.begin(), files.end());
        for (const auto& file : files) {
            std::ifstream in(file, std::ios::binary);
            std::stringstream text;
            text << in.rdbuf();
            if (!in) {
                throw MigrationError("cannot read the migration file '" + file.string() + "'");
            }
            auto m = parse_migration(text.str(), file.string());
            if (m.app != file.parent_path().filename().string() || m.name != file.stem().string()) {
                throw MigrationError("the migration file '" + file.string() + "' says it is " +
                                     m.label() + ": its folder must be the app and its file " +
                                     "name the migration's name");
            }
            add(std::move(m), file.string());
        }
    }
    std::vector<Embedded> embedded;
    {
        std::lock_guard lock(embedded_mutex());
        embedded = embedded_list();
    }
    for (const auto& e : embedded) {
        auto m = parse_migration(e.json, e.source);
        if (on_disk.count(m.app) != 0) {
            continue;  // the folder on disk is the source of truth for its app
        }
        migrations_.erase({m.app, m.name});
        add(std::move(m), e.source);
    }
    build_graph();
}

void MigrationLoader::add(Migration migration, const std::string& source) {
    MigrationKey key{migration.app, migration.name};
    if (migrations_.count(key) != 0) {
        throw MigrationError("the migration " + migration.label() +
                             " is defined twice (again in '" + source + "')");
    }
    migrations_.emplace(std::move(key), std::move(migration));
}

void MigrationLoader::build_graph() {
    for (const auto& [key, m] : migrations_) {
        for (const auto& dep : m.dependencies) {
            if (migrations_.count(dep) == 0) {
                throw MigrationError("Migration " + m.label() +
                                     " dependencies reference "
                                     "nonexistent parent node ('" +
                                     dep.first + "', '" + dep.second + "')");
            }
        }
    }
    // Kahn's algorithm, taking the smallest free key each time: a stable order.
    std::map<MigrationKey, std::size_t> waiting;
    for (const auto& [key, m] : migrations_) {
        waiting[key] = m.dependencies.size();
    }
    std::set<MigrationKey> free;
    for (const auto& [key, n] : waiting) {
        if (n == 0) {
            free.insert(key);
        }
    }
    while (!free.empty()) {
        const auto key = *free.begin();
        free.erase(free.begin());
        order_.push_back(key);
        for (const auto& [other, m] : migrations_) {
            for (const auto& dep : m.dependencies) {
                if (dep == key && --waiting[other] == 0) {
                    free.insert(other);
                }
            }
        }
    }
    if (order_.size() != migrations_.size()) {
        std::string cycle;
        for (const auto& [key, n] : waiting) {
            if (n != 0) {
                cycle += (cycle.empty() ? "" : ", ") + key.first + "." + key.second;
            }
        }
        throw MigrationError("the dependencies of these migrations form a cycle: " + cycle);
    }
}

std::filesystem::path MigrationLoader::directory(std::string_view app) const {
    return root_ / std::string(app);
}

const Migration& MigrationLoader::get(const MigrationKey& key) const {
    const auto it = migrations_.find(key);
    if (it == migrations_.end()) {
        throw MigrationError("Cannot find a migration matching '" + key.second + "' from app '" +
                             key.first + "'.");
    }
    return it->second;
}

bool MigrationLoader::has_migrations(std::string_view app) const {
    return std::any_of(migrations_.begin(), migrations_.end(),
                       [&](const auto& entry) { return entry.first.first == app; });
}

std::vector<std::string> MigrationLoader::apps() const {
    std::set<std::string> out;
    for (const auto& [key, m] : migrations_) {
        out.insert(key.first);
    }
    return {out.begin(), out.end()};
}

std::vector<MigrationKey> MigrationLoader::leaf_nodes(std::string_view app) const {
    std::vector<MigrationKey> out;
    for (const auto& entry : migrations_) {
        const MigrationKey& key = entry.first;
        if (key.first != app) {
            continue;
        }
        const bool has_child =
            std::any_of(migrations_.begin(), migrations_.end(), [&](const auto& e) {
                return e.first.first == app &&
                       std::find(e.second.dependencies.begin(), e.second.dependencies.end(), key) !=
                           e.second.dependencies.end();
            });
        if (!has_child) {
            out.push_back(key);
        }
    }
    return out;
}

std::vector<MigrationKey> MigrationLoader::forwards_plan(const MigrationKey& key) const {
    std::set<MigrationKey> wanted{key};
    std::vector<MigrationKey> stack{key};
    while (!stack.empty()) {
        const auto k = stack.back();
        stack.pop_back();
        for (const auto& dep : get(k).dependencies) {
            if (wanted.insert(dep).second) {
                stack.push_back(dep);
            }
        }
    }
    std::vector<MigrationKey> out;
    for (const auto& k : order_) {
        if (wanted.count(k) != 0) {
            out.push_back(k);
        }
    }
    return out;
}

std::vector<MigrationKey> MigrationLoader::backwards_plan(const MigrationKey& key) const {
    std::set<MigrationKey> wanted{key};
    for (const auto& k : order_) {  // in order: a dependent comes after what it depends on
        const auto& deps = get(k).dependencies;
        if (std::any_of(deps.begin(), deps.end(),
                        [&](const MigrationKey& d) { return wanted.count(d) != 0; })) {
            wanted.insert(k);
        }
    }
    std::vector<MigrationKey> out;
    for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
        if (wanted.count(*it) != 0) {
            out.push_back(*it);
        }
    }
    return out;
}

ProjectState MigrationLoader::project_state(const std::set<MigrationKey>& nodes) const {
    ProjectState state;
    for (const auto& key : order_) {
        if (nodes.count(key) == 0) {
            continue;
        }
        const auto& m = get(key);
        for (std::size_t i = 0; i < m.operations.size(); ++i) {
            try {
                apply(m.operations[i], m.app, state);
            } catch (const std::invalid_argument& e) {
                throw MigrationError("migration " + m.label() + ", operation " + std::to_string(i) +
                                     ": " + e.what());
            }
        }
    }
    return state;
}

ProjectState MigrationLoader::project_state() const {
    return project_state(std::set<MigrationKey>(order_.begin(), order_.end()));
}

}  // namespace tocsin::migrations
