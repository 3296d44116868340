// models_pg_bench: the model layer on PostgreSQL against its floor, raw libpq issuing the same
// statements with the same round trips, and against Django 3.2 + psycopg2, side by side in one
// run on one server.
//
// Workload (the seeds'): four phases, each timed,
//   create   N users in one transaction; a post_save receiver creates each user's Profile
//            (tocsin: User::objects().create() and Profile::objects().create(), each an
//            `INSERT ... RETURNING "id"`; floor: the same two prepared INSERTs per user)
//   load     every user (User::objects().all(); floor: the same SELECT, rows into structs)
//   update   each user's email changed and saved with update_fields, in one transaction
//            (floor: the same prepared UPDATE per user)
//   remove   User::objects().remove(): the profiles by cascade (the floor: the same SELECT and
//            DELETEs the collector issues)
// and bulk: bulk_create() of M users (tocsin: multi-row INSERTs of up to 1000 rows ... RETURNING
// "id"; floor: the same statements).
//
// Each round runs the floor, tocsin and (with --django) Django back to back, alternating the
// order; the figures are the medians over the rounds of each side's time and of the per-round
// ratios tocsin/floor and Django/tocsin, which a shared machine disturbs less than the ratio of
// two medians. Times are wall-clock.
//
//   models_pg_bench [--url=postgresql://...] [--users=N] [--bulk=M] [--rounds=R]
//                   [--django[=PYTHON]]
// Without --url it starts a throw-away cluster (tests/support/pg_cluster.sh: fsync off,
// synchronous_commit off, on a Unix socket) and removes it at the end. Exits 1 when a side did
// not do its work (row counts) and 2 on bad options.
#include <libpq-fe.h>
#include <unistd.h>

#include <tocsin/apps.hpp>
#include <tocsin/db.hpp>
#include <tocsin/models.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../tests/support/own_pg_cluster.hpp"

namespace auth {
/// The benchmark's user: the same fields as examples/accounts and models_bench.
struct User : tocsin::Model<User> {
    static constexpr std::string_view label = "auth.User";
    std::string username;
    std::string email;
    bool is_staff = false;

    static auto fields() {
        return tocsin::fields(tocsin::field("username", &User::username, {.unique = true}),
                              tocsin::field("email", &User::email),
                              tocsin::field("is_staff", &User::is_staff));
    }
};
struct AuthConfig : tocsin::AppConfig {
    AuthConfig() : tocsin::AppConfig("auth") {}
    std::vector<const tocsin::apps::ModelDescription*> models() const override {
        return tocsin::describe<User>();
    }
};
}  // namespace auth

namespace accounts {
struct Profile : tocsin::Model<Profile> {
    static constexpr std::string_view label = "accounts.Profile";
    tocsin::OneToOne<auth::User> user{tocsin::on_delete::cascade};
    std::string bio;

    static auto fields() {
        return tocsin::fields(tocsin::field("user", &Profile::user),
                              tocsin::field("bio", &Profile::bio));
    }
};
struct AccountsConfig : tocsin::AppConfig {
    AccountsConfig() : tocsin::AppConfig("accounts") {}
    std::vector<const tocsin::apps::ModelDescription*> models() const override {
        return tocsin::describe<Profile>();
    }
};
}  // namespace accounts

namespace {

using accounts::Profile;
using auth::User;
namespace fs = std::filesystem;

constexpr std::array<const char*, 4> phase_names{"create", "load", "update", "remove"};
using Phases = std::array<double, 4>;  // seconds per phase

std::int64_t g_users = 10000;
std::int64_t g_bulk = 100000;
int g_rounds = 5;
std::string g_python;
std::string g_url;

double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    if (v.empty()) {
        return 0;
    }
    const std::size_t m = v.size() / 2;
    return v.size() % 2 == 1 ? v[m] : (v[m - 1] + v[m]) / 2;
}

std::string username(std::int64_t i) {
    return "user" + std::to_string(i);
}

// ------------------------------------------------------------------ the cluster
/// A throw-away cluster (tests/support/own_pg_cluster.hpp): std::runtime_error when it cannot
/// start.
std::unique_ptr<tocsin::test_support::OwnPgCluster> start_cluster() {
    auto cluster = std::make_unique<tocsin::test_support::OwnPgCluster>();
    if (!cluster->started()) {
        throw std::runtime_error("cannot start a PostgreSQL cluster (tests/support/pg_cluster.sh)");
    }
    return cluster;
}

tocsin::db::Settings g_settings;

// ------------------------------------------------------------------ the floor: raw libpq
struct PgResultDeleter {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, PgResultDeleter>;

/// One libpq connection with the floor's prepared statements: what a careful C program would
/// write by hand (text parameters and results, as tocsin's backend uses).
class Raw {
  public:
    Raw() {
        const std::string port = std::to_string(g_settings.port);
        const char* keys[] = {"host", "port", "user", "dbname", "password", "client_encoding",
                              nullptr};
        const char* values[] = {g_settings.host.c_str(),
                                port.c_str(),
                                g_settings.user.c_str(),
                                g_settings.name.c_str(),
                                g_settings.password.c_str(),
                                "UTF8",
                                nullptr};
        conn_ = PQconnectdbParams(keys, values, 0);
        if (PQstatus(conn_) != CONNECTION_OK) {
            throw std::runtime_error(std::string("floor: ") + PQerrorMessage(conn_));
        }
    }
    ~Raw() { PQfinish(conn_); }
    Raw(const Raw&) = delete;
    Raw& operator=(const Raw&) = delete;

    void exec(const char* sql) {
        Result r(PQexec(conn_, sql));
        check(r.get(), sql);
    }
    /// Prepares @p sql under @p name once per connection.
    const char* prepare(const char* name, const std::string& sql) {
        prepare(std::string(name), sql);
        return name;
    }
    void prepare(const std::string& name, const std::string& sql) {
        if (prepared_.emplace(name).second) {
            Result r(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr));
            check(r.get(), sql.c_str());
        }
    }
    Result run(const char* name, int n, const char* const* params) {
        Result r(PQexecPrepared(conn_, name, n, params, nullptr, nullptr, 0));
        check(r.get(), name);
        return r;
    }
    std::int64_t count(const char* table) {
        const std::string sql = std::string("SELECT COUNT(*) FROM \"") + table + "\"";
        Result r(PQexec(conn_, sql.c_str()));
        check(r.get(), sql.c_str());
        return std::atoll(PQgetvalue(r.get(), 0, 0));
    }

  private:
    void check(const PGresult* r, const char* what) {
        const auto status = PQresultStatus(r);
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
            throw std::runtime_error(std::string("floor: ") + what + ": " + PQerrorMessage(conn_));
        }
    }
    PGconn* conn_ = nullptr;
    std::set<std::string> prepared_;
};

/// A user as the floor reads it.
struct RawUser {
    std::int64_t id = 0;
    std::string username;
    std::string email;
    bool is_staff = false;
};

/// The statements of tocsin's collector removing every user: per chunk of 500 ids the
/// profiles' DELETE, then per chunk the users' DELETE (prepared once per chunk size).
void floor_remove_chunks(Raw& raw, const std::vector<std::int64_t>& ids) {
    constexpr std::size_t chunk = 500;
    std::vector<std::string> text(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
        text[i] = std::to_string(ids[i]);
    }
    for (const char* target : {"profile", "user"}) {
        for (std::size_t first = 0; first < ids.size(); first += chunk) {
            const std::size_t n = std::min(chunk, ids.size() - first);
            std::string sql = std::string(target) == "profile"
                                  ? R"(DELETE FROM "accounts_profile" WHERE "user_id" IN ()"
                                  : R"(DELETE FROM "auth_user" WHERE "id" IN ()";
            for (std::size_t i = 0; i < n; ++i) {
                sql += (i == 0 ? "$" : ", $") + std::to_string(i + 1);
            }
            sql += ")";
            const std::string name = std::string("delete_") + target + "_" + std::to_string(n);
            raw.prepare(name, sql);
            std::vector<const char*> params;
            for (std::size_t i = 0; i < n; ++i) {
                params.push_back(text[first + i].c_str());
            }
            (void)raw.run(name.c_str(), static_cast<int>(n), params.data());
        }
    }
}

/// The floor's four phases: the statements tocsin issues, one round trip each.
Phases floor_workload(Raw& raw, std::int64_t n) {
    Phases t{};
    const char* insert_user = raw.prepare(
        "insert_user",
        R"(INSERT INTO "auth_user" ("username", "email", "is_staff") VALUES ($1, $2, $3) )"
        R"(RETURNING "id")");
    const char* insert_profile = raw.prepare(
        "insert_profile",
        R"(INSERT INTO "accounts_profile" ("user_id", "bio") VALUES ($1, $2) RETURNING "id")");
    const char* select_users = raw.prepare(
        "select_users", R"(SELECT "id", "username", "email", "is_staff" FROM "auth_user")");
    const char* update_email =
        raw.prepare("update_email", R"(UPDATE "auth_user" SET "email" = $1 WHERE "id" = $2)");

    double start = now();
    raw.exec("BEGIN");
    for (std::int64_t i = 0; i < n; ++i) {
        const std::string name = username(i);
        const std::string email = name + "@example.com";
        const char* user_params[] = {name.c_str(), email.c_str(), "0"};
        const Result user = raw.run(insert_user, 3, user_params);
        const char* profile_params[] = {PQgetvalue(user.get(), 0, 0), ""};
        (void)raw.run(insert_profile, 2, profile_params);
    }
    raw.exec("COMMIT");
    t[0] = now() - start;

    start = now();
    std::vector<RawUser> users;
    {
        const Result rows = raw.run(select_users, 0, nullptr);
        const int count = PQntuples(rows.get());
        users.reserve(static_cast<std::size_t>(count));
        for (int r = 0; r < count; ++r) {
            users.push_back({std::atoll(PQgetvalue(rows.get(), r, 0)), PQgetvalue(rows.get(), r, 1),
                             PQgetvalue(rows.get(), r, 2), PQgetvalue(rows.get(), r, 3)[0] == 't'});
        }
    }
    t[1] = now() - start;

    start = now();
    raw.exec("BEGIN");
    for (auto& u : users) {
        u.email = "new." + u.email;
        const std::string id = std::to_string(u.id);
        const char* params[] = {u.email.c_str(), id.c_str()};
        (void)raw.run(update_email, 2, params);
    }
    raw.exec("COMMIT");
    t[2] = now() - start;

    // The collector's statements: the users (whole rows, to send their signals), then per
    // chunk of ids the profiles' DELETE and the users' DELETE, in one transaction.
    start = now();
    raw.exec("BEGIN");
    std::vector<std::int64_t> ids;
    {
        const Result rows = raw.run(select_users, 0, nullptr);
        const int count = PQntuples(rows.get());
        for (int r = 0; r < count; ++r) {
            ids.push_back(std::atoll(PQgetvalue(rows.get(), r, 0)));
        }
    }
    floor_remove_chunks(raw, ids);
    raw.exec("COMMIT");
    t[3] = now() - start;
    if (static_cast<std::int64_t>(users.size()) != n || raw.count("auth_user") != 0 ||
        raw.count("accounts_profile") != 0) {
        throw std::runtime_error("floor: the workload did not do its work");
    }
    return t;
}

// ------------------------------------------------------------------ tocsin
tocsin::ScopedConnection connect_create_profile() {
    return tocsin::post_save.connect<User>(
        [](User& user, const tocsin::SaveEvent& event) {
            if (event.created && !event.raw) {
                Profile::objects().create({.user = user});
            }
        },
        {.dispatch_uid = "bench.create_profile"});
}

Phases tocsin_workload(std::int64_t n) {
    Phases t{};
    const tocsin::ScopedConnection receiver = connect_create_profile();
    double start = now();
    tocsin::atomic([&] {
        for (std::int64_t i = 0; i < n; ++i) {
            const std::string name = username(i);
            User::objects().create({.username = name, .email = name + "@example.com"});
        }
    });
    t[0] = now() - start;

    start = now();
    std::vector<User> users = User::objects().all();
    t[1] = now() - start;

    start = now();
    tocsin::atomic([&] {
        for (auto& u : users) {
            u.email = "new." + u.email;
            u.save({.update_fields = {"email"}});
        }
    });
    t[2] = now() - start;

    start = now();
    (void)User::objects().remove();
    t[3] = now() - start;
    if (static_cast<std::int64_t>(users.size()) != n || User::objects().count() != 0 ||
        Profile::objects().count() != 0) {
        throw std::runtime_error("tocsin: the workload did not do its work");
    }
    return t;
}

void truncate_tables() {
    tocsin::db::connection().execute_script(
        R"(TRUNCATE "accounts_profile", "auth_user" RESTART IDENTITY CASCADE)");
}

// ------------------------------------------------------------------ Django
Phases django_workload(std::int64_t n) {
    const std::string command =
        g_python + " " + TOCSIN_DJANGO_PG_SCRIPT + " --host " + g_settings.host + " --port " +
        std::to_string(g_settings.port) + " --user " + g_settings.user + " --dbname " +
        g_settings.name +
        (g_settings.password.empty() ? "" : " --password " + g_settings.password) + " -n " +
        std::to_string(n) + " -r 1 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
        throw std::runtime_error("cannot run: " + command);
    }
    std::string output;
    char buffer[512];
    std::optional<Phases> result;
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) {
        output += buffer;
        Phases p{};
        if (std::sscanf(buffer, "repetition 1: create=%lf load=%lf update=%lf remove=%lf", &p[0],
                        &p[1], &p[2], &p[3]) == 4) {
            result = p;
        }
    }
    if (::pclose(pipe) != 0 || !result) {
        throw std::runtime_error("Django's run failed (" + command + "):\n" + output);
    }
    return *result;
}

// ------------------------------------------------------------------ bulk
std::vector<User> make_users(std::int64_t n) {
    std::vector<User> users;
    users.reserve(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        users.push_back(User{.username = username(i), .email = username(i) + "@example.com"});
    }
    return users;
}

double tocsin_bulk(std::int64_t m) {
    std::vector<User> users = make_users(m);
    const double start = now();
    User::objects().bulk_create(users);
    const double t = now() - start;
    if (static_cast<std::int64_t>(User::objects().count()) != m || !users.back().id) {
        throw std::runtime_error("tocsin: bulk_create did not do its work");
    }
    return t;
}

/// The floor of bulk_create: the same multi-row INSERTs (1000 rows, RETURNING "id", the ids
/// read back), in one transaction.
double floor_bulk(Raw& raw, std::int64_t m) {
    constexpr std::int64_t batch = 1000;
    const auto sql = [](std::int64_t rows) {
        std::string s = R"(INSERT INTO "auth_user" ("username", "email", "is_staff") VALUES )";
        int p = 0;
        for (std::int64_t r = 0; r < rows; ++r) {
            s += r == 0 ? "(" : ", (";
            for (int c = 0; c < 3; ++c) {
                s += (c == 0 ? "$" : ", $") + std::to_string(++p);
            }
            s += ")";
        }
        return s + R"( RETURNING "id")";
    };
    std::vector<User> users = make_users(m);
    const double start = now();
    raw.exec("BEGIN");
    std::vector<std::string> text;
    std::vector<const char*> params;
    for (std::int64_t first = 0; first < m; first += batch) {
        const std::int64_t rows = std::min(batch, m - first);
        const char* name = raw.prepare(rows == batch ? "bulk_full" : "bulk_rest", sql(rows));
        params.clear();
        for (std::int64_t r = 0; r < rows; ++r) {
            const User& u = users[static_cast<std::size_t>(first + r)];
            params.push_back(u.username.c_str());
            params.push_back(u.email.c_str());
            params.push_back(u.is_staff ? "1" : "0");
        }
        const Result ids = raw.run(name, static_cast<int>(params.size()), params.data());
        for (int r = 0; r < PQntuples(ids.get()); ++r) {
            users[static_cast<std::size_t>(first + r)].id = std::atoll(PQgetvalue(ids.get(), r, 0));
        }
    }
    raw.exec("COMMIT");
    const double t = now() - start;
    if (raw.count("auth_user") != m || !users.back().id) {
        throw std::runtime_error("floor: bulk did not do its work");
    }
    return t;
}

// ------------------------------------------------------------------ main
bool parse_options(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        const auto number = [&](std::string_view prefix, auto& target) {
            if (arg.rfind(prefix, 0) != 0) {
                return false;
            }
            target = static_cast<std::remove_reference_t<decltype(target)>>(
                std::atoll(std::string(arg.substr(prefix.size())).c_str()));
            return true;
        };
        if (arg == "--django") {
            g_python = "/usr/bin/python3";
        } else if (arg.rfind("--django=", 0) == 0) {
            g_python = std::string(arg.substr(9));
        } else if (arg.rfind("--url=", 0) == 0) {
            g_url = std::string(arg.substr(6));
        } else if (!number("--users=", g_users) && !number("--bulk=", g_bulk) &&
                   !number("--rounds=", g_rounds)) {
            std::fprintf(stderr, "models_pg_bench: unknown option %s\n", argv[i]);
            return false;
        }
    }
    return g_users > 0 && g_bulk > 0 && g_rounds > 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (!parse_options(argc, argv)) {
        return 2;
    }
    try {
        std::unique_ptr<tocsin::test_support::OwnPgCluster> cluster;
        if (g_url.empty()) {
            cluster = start_cluster();
            g_settings = cluster->settings();
        } else {
            g_settings = tocsin::db::parse_database_url(g_url);
        }
        tocsin::setup({.installed_apps = {std::make_shared<auth::AuthConfig>(),
                                          std::make_shared<accounts::AccountsConfig>()},
                       .databases = {{"default", g_settings}}});
        tocsin::migrate();
        Raw raw;
        truncate_tables();
        std::printf("PostgreSQL %d, %s; %lld users per round, bulk %lld, %d rounds\n",
                    dynamic_cast<tocsin::db::PostgresqlBackend&>(tocsin::db::connection().backend())
                        .server_version(),
                    tocsin::db::connection().backend().display_name().c_str(),
                    static_cast<long long>(g_users), static_cast<long long>(g_bulk), g_rounds);

        std::array<std::vector<double>, 5> floor_t, tocsin_t, django_t, over_floor, over_tocsin;
        std::vector<double> bulk_floor, bulk_tocsin, bulk_ratio;
        // A warm-up round of each (statements prepared, caches filled), not counted.
        (void)floor_workload(raw, std::min<std::int64_t>(g_users, 1000));
        truncate_tables();
        (void)tocsin_workload(std::min<std::int64_t>(g_users, 1000));
        truncate_tables();
        for (int round = 0; round < g_rounds; ++round) {
            Phases f{};
            Phases t{};
            if (round % 2 == 0) {
                f = floor_workload(raw, g_users);
                truncate_tables();
                t = tocsin_workload(g_users);
                truncate_tables();
            } else {
                t = tocsin_workload(g_users);
                truncate_tables();
                f = floor_workload(raw, g_users);
                truncate_tables();
            }
            std::optional<Phases> d;
            if (!g_python.empty()) {
                d = django_workload(g_users);
            }
            double ft = 0;
            double tt = 0;
            double dt = 0;
            for (std::size_t p = 0; p < 4; ++p) {
                floor_t[p].push_back(f[p]);
                tocsin_t[p].push_back(t[p]);
                over_floor[p].push_back(t[p] / f[p]);
                ft += f[p];
                tt += t[p];
                if (d) {
                    django_t[p].push_back((*d)[p]);
                    over_tocsin[p].push_back((*d)[p] / t[p]);
                    dt += (*d)[p];
                }
            }
            floor_t[4].push_back(ft);
            tocsin_t[4].push_back(tt);
            over_floor[4].push_back(tt / ft);
            if (d) {
                django_t[4].push_back(dt);
                over_tocsin[4].push_back(dt / tt);
            }

            double bf = 0;
            double bt = 0;
            if (round % 2 == 0) {
                bf = floor_bulk(raw, g_bulk);
                truncate_tables();
                bt = tocsin_bulk(g_bulk);
                truncate_tables();
            } else {
                bt = tocsin_bulk(g_bulk);
                truncate_tables();
                bf = floor_bulk(raw, g_bulk);
                truncate_tables();
            }
            bulk_floor.push_back(bf);
            bulk_tocsin.push_back(bt);
            bulk_ratio.push_back(bt / bf);
            std::fprintf(stderr, "round %d done\n", round + 1);
        }

        std::printf("\n%-8s %12s %12s %12s %14s %15s\n", "phase", "floor us/u", "tocsin us/u",
                    "django us/u", "tocsin/floor", "django/tocsin");
        const double per = 1e6 / static_cast<double>(g_users);
        for (std::size_t p = 0; p < 5; ++p) {
            const char* name = p < 4 ? phase_names[p] : "total";
            std::printf(
                "%-8s %12.2f %12.2f %12s %14.2f %15s\n", name, median(floor_t[p]) * per,
                median(tocsin_t[p]) * per,
                g_python.empty() ? "-"
                                 : std::to_string(median(django_t[p]) * per).substr(0, 8).c_str(),
                median(over_floor[p]),
                g_python.empty() ? "-"
                                 : std::to_string(median(over_tocsin[p])).substr(0, 5).c_str());
        }
        const double bper = 1e6 / static_cast<double>(g_bulk);
        std::printf("%-8s %12.2f %12.2f %12s %14.2f %15s\n", "bulk", median(bulk_floor) * bper,
                    median(bulk_tocsin) * bper, "-", median(bulk_ratio), "-");
        std::printf("(medians over %d rounds; ratios: medians of the per-round ratios)\n",
                    g_rounds);
        tocsin::db::close_all();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "models_pg_bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
