// models_bench: the model layer against its floor, raw prepared sqlite3 statements (Google
// Benchmark). Django's figure for the same workload comes from bench/django_create_users.py.
//
// Workload (the issue's): create N users in one transaction, a post_save receiver creating each
// user's Profile; SQLite in WAL mode with synchronous=NORMAL and foreign_keys=ON (tocsin's
// defaults, and what Django sets), a unique username, a unique one-to-one key. Every iteration
// starts from a fresh database file in a temporary directory (made outside the timed region).
//
// Cases:
//   create_users/raw_sqlite        the floor: per user, two prepared INSERTs through the sqlite3
//                                  C API (user, then profile with sqlite3_last_insert_rowid),
//                                  BEGIN ... COMMIT around the N users, the same tables
//   create_users/tocsin            User::objects().create(...) per user; a post_save receiver
//                                  does Profile::objects().create({.user = user}); in atomic()
//   create_users/tocsin_over_raw   the two above back to back, P times (alternating which goes
//                                  first), fresh files each time: the medians of the per-pair
//                                  ratios tocsin/floor (ratio_wall, ratio_cpu), steadier on a
//                                  shared machine than the ratio of two separate medians
//   remove_users/tocsin_over_raw   N users and profiles made untimed, then removed one by one
//                                  in one transaction: tocsin's user.remove() (the profile
//                                  cascades) against the floor's two prepared DELETEs per user,
//                                  back to back, P times: the medians of the per-pair ratios
//   save/tocsin/0_receivers        save() of each of S existing users (an UPDATE), S saves in one
//   save/tocsin/10_receivers       atomic() block; with 0 or 10 no-op post_save receivers
//   save/tocsin/10_over_0          the two above alternated on one database, 2P times: the
//                                  medians of the per-pair ratios 10 receivers / 0 receivers
//   create_users/django_over_tocsin  (only with --django) tocsin's create_users and
//                                  bench/django_create_users.py's (Django's ORM, the same
//                                  workload and settings) back to back, P times (alternating
//                                  which goes first): the medians of the per-pair ratios
//                                  Django/tocsin (ratio_wall, ratio_cpu)
//   model_signal/<receiver>        one post_save.send(Sender::of<User>(), user, event) with one
//                                  no-op receiver: none, plain_any (ModelBase&, no sender),
//                                  plain_user (ModelBase&, connected for User on the signal) or
//                                  typed (post_save.connect<User>(f), f taking User&); CPU ns
//   memory/tocsin                  create_users/tocsin's work repeated for 5 rounds of N users on
//                                  one database: heap in use and RSS after round 1 and round 5,
//                                  and the growth per user in between (flat = 0). SQLite's page
//                                  cache (2 MiB by default) fills up during the first rounds, so
//                                  with a small N (the smoke test) the growth is not 0.
//
// Times are real (wall-clock) time, as Django's are measured; per_user (per_save) is the time per
// user (per save), the inverse of items_per_second. Memory counters come from /proc/self/status
// (VmRSS, VmHWM) and mallinfo2() (heap in use), in bytes.
//
// Options (before the Google Benchmark ones): --users=N (default 100000), --saves=S (default
// 10000), --pairs=P (default 5), --django[=PYTHON] (run the Django pairs with that interpreter,
// default /usr/bin/python3; needs Debian's python3-django). The binary exits with status 1 when a
// case did not do its work (row counts, receiver calls, pragmas) or when the tables differ from the
// floor's.

#include <benchmark/benchmark.h>
#include <malloc.h>
#include <sqlite3.h>
#include <unistd.h>

#include <tocsin/apps.hpp>
#include <tocsin/db.hpp>
#include <tocsin/models.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace auth {
/// The benchmark's user: the same fields as examples/accounts.
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
/// One per user (a unique one-to-one key), removed with the user.
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

// ------------------------------------------------------------------ options and failures
std::int64_t g_users = 100000;
std::int64_t g_saves = 10000;
constexpr int memory_rounds = 5;  // the counters below are named rss_round1 ... rss_round5
bool g_failed = false;

void fail(benchmark::State& state, const std::string& what) {
    std::fprintf(stderr, "FAILED: %s\n", what.c_str());
    g_failed = true;
    state.SkipWithError(what.c_str());
}

// The floor's tables: exactly what tocsin::migrate() creates (checked in main()).
constexpr const char* user_table_sql =
    R"(CREATE TABLE IF NOT EXISTS "auth_user" ("id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, )"
    R"("username" TEXT NOT NULL UNIQUE, "email" TEXT NOT NULL, "is_staff" INTEGER NOT NULL))";
constexpr const char* profile_table_sql =
    R"(CREATE TABLE IF NOT EXISTS "accounts_profile" ("id" INTEGER NOT NULL PRIMARY KEY )"
    R"(AUTOINCREMENT, "user_id" INTEGER NOT NULL UNIQUE REFERENCES "auth_user" ("id") )"
    R"(DEFERRABLE INITIALLY DEFERRED, "bio" TEXT NOT NULL))";

// ------------------------------------------------------------------ files
fs::path g_dir;
int g_file_number = 0;

/// A path for a new database file in the temporary directory.
std::string new_database_path(std::string_view kind) {
    return (g_dir / (std::string(kind) + "-" + std::to_string(++g_file_number) + ".sqlite3"))
        .string();
}
/// Removes a database file with its -wal and -shm files.
void remove_database(const std::string& path) {
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm"}) {
        fs::remove(path + suffix, ec);
    }
}

// ------------------------------------------------------------------ memory
struct Memory {
    double rss = 0;   ///< VmRSS, bytes
    double hwm = 0;   ///< VmHWM (peak RSS), bytes
    double heap = 0;  ///< malloc'd bytes in use (mallinfo2)
};
Memory memory_now() {
    Memory m;
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        const auto kib = [&] { return std::strtod(line.c_str() + 6, nullptr) * 1024.0; };
        if (line.rfind("VmRSS:", 0) == 0) {
            m.rss = kib();
        } else if (line.rfind("VmHWM:", 0) == 0) {
            m.hwm = kib();
        }
    }
    const struct mallinfo2 mi = mallinfo2();
    m.heap = static_cast<double>(mi.uordblks + mi.hblkhd);
    return m;
}
void report_memory(benchmark::State& state, const Memory& before, const Memory& after) {
    using C = benchmark::Counter;
    state.counters["rss_before"] = C(before.rss, C::kDefaults, C::kIs1024);
    state.counters["rss_after"] = C(after.rss, C::kDefaults, C::kIs1024);
    state.counters["rss_peak"] = C(after.hwm, C::kDefaults, C::kIs1024);
}
void report_per_item(benchmark::State& state, std::int64_t per_iteration, const char* name) {
    state.SetItemsProcessed(state.iterations() * per_iteration);
    state.counters[name] = benchmark::Counter(
        static_cast<double>(per_iteration),
        benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

std::string username(std::int64_t i) {
    return "user" + std::to_string(i);
}

// ------------------------------------------------------------------ clocks
/// Wall-clock and process CPU seconds of one timed region (for the paired case).
struct Timing {
    double wall = 0;
    double cpu = 0;
};
double cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
template <class F>
Timing timed(F&& work) {
    const auto wall0 = std::chrono::steady_clock::now();
    const double cpu0 = cpu_seconds();
    std::forward<F>(work)();
    const double cpu1 = cpu_seconds();
    const auto wall1 = std::chrono::steady_clock::now();
    return {std::chrono::duration<double>(wall1 - wall0).count(), cpu1 - cpu0};
}

// ------------------------------------------------------------------ the floor: raw sqlite3
struct RawError : std::runtime_error {
    using std::runtime_error::runtime_error;
};
void check_rc(sqlite3* db, int rc, int expected, const char* doing) {
    if (rc != expected) {
        throw RawError(std::string(doing) + ": " + sqlite3_errmsg(db));
    }
}
void raw_exec(sqlite3* db, const char* sql) {
    check_rc(db, sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK, sql);
}
std::int64_t raw_count(sqlite3* db, const char* table) {
    const std::string sql = std::string("SELECT count(*) FROM \"") + table + "\"";
    sqlite3_stmt* st = nullptr;
    check_rc(db, sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK, "prepare");
    std::int64_t n = -1;
    if (sqlite3_step(st) == SQLITE_ROW) {
        n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return n;
}

/// A fresh floor database: a new file opened as tocsin's SQLite backend opens one (WAL,
/// synchronous=NORMAL, foreign keys on), with the tables. Closed and removed on destruction.
class RawDatabase {
  public:
    RawDatabase() : path_(new_database_path("raw")) {
        const int rc = sqlite3_open_v2(path_.c_str(), &db_,
                                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                           SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
                                       nullptr);
        try {
            check_rc(db_, rc, SQLITE_OK, "open");
            sqlite3_busy_timeout(db_, 5000);
            raw_exec(db_, "PRAGMA journal_mode=WAL");
            raw_exec(db_, "PRAGMA synchronous=NORMAL");
            raw_exec(db_, "PRAGMA foreign_keys=ON");
            raw_exec(db_, "BEGIN");
            raw_exec(db_, user_table_sql);
            raw_exec(db_, profile_table_sql);
            raw_exec(db_, "COMMIT");
        } catch (...) {
            close();
            throw;
        }
    }
    ~RawDatabase() { close(); }
    RawDatabase(const RawDatabase&) = delete;
    RawDatabase& operator=(const RawDatabase&) = delete;

    [[nodiscard]] sqlite3* handle() const noexcept { return db_; }
    /// Throws unless the tables hold n users and n profiles.
    void check(std::int64_t n) const {
        const std::int64_t users = raw_count(db_, "auth_user");
        const std::int64_t profiles = raw_count(db_, "accounts_profile");
        if (users != n || profiles != n) {
            throw RawError("expected " + std::to_string(n) + " users and profiles, got " +
                           std::to_string(users) + " and " + std::to_string(profiles));
        }
    }

  private:
    void close() noexcept {
        sqlite3_close_v2(db_);
        db_ = nullptr;
        remove_database(path_);
    }
    std::string path_;
    sqlite3* db_ = nullptr;
};

/// The floor's timed work: users 0..n-1 and their profiles, two prepared INSERTs per user, in
/// one transaction.
[[gnu::noinline]] void insert_users_raw(sqlite3* db, std::int64_t n) {
    const auto prepare = [db](const char* sql) {
        sqlite3_stmt* st = nullptr;
        check_rc(db, sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr),
                 SQLITE_OK, sql);
        return std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)>(st, sqlite3_finalize);
    };
    const auto insert_user =
        prepare(R"(INSERT INTO "auth_user" ("username", "email", "is_staff") VALUES (?1, ?2, ?3))");
    const auto insert_profile =
        prepare(R"(INSERT INTO "accounts_profile" ("user_id", "bio") VALUES (?1, ?2))");
    sqlite3_stmt* const user = insert_user.get();
    sqlite3_stmt* const profile = insert_profile.get();
    raw_exec(db, "BEGIN");
    for (std::int64_t i = 0; i < n; ++i) {
        const std::string name = username(i);
        const std::string email = name + "@example.com";
        sqlite3_bind_text(user, 1, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
        sqlite3_bind_text(user, 2, email.data(), static_cast<int>(email.size()), SQLITE_STATIC);
        sqlite3_bind_int(user, 3, 0);
        check_rc(db, sqlite3_step(user), SQLITE_DONE, "insert user");
        sqlite3_reset(user);
        sqlite3_bind_int64(profile, 1, sqlite3_last_insert_rowid(db));
        sqlite3_bind_text(profile, 2, "", 0, SQLITE_STATIC);
        check_rc(db, sqlite3_step(profile), SQLITE_DONE, "insert profile");
        sqlite3_reset(profile);
    }
    raw_exec(db, "COMMIT");
}

void bm_create_raw(benchmark::State& state) {
    const std::int64_t n = g_users;
    const Memory before = memory_now();
    for (auto _ : state) {
        state.PauseTiming();
        try {
            const RawDatabase db;
            state.ResumeTiming();
            insert_users_raw(db.handle(), n);
            state.PauseTiming();
            db.check(n);
        } catch (const RawError& e) {
            fail(state, std::string("raw_sqlite: ") + e.what());  // no timing calls after this
            break;
        }
        state.ResumeTiming();
    }
    report_per_item(state, n, "per_user");
    report_memory(state, before, memory_now());
}

// ------------------------------------------------------------------ tocsin
std::string g_tocsin_path;

/// Points the "default" alias at a fresh file and creates the tables (the previous file is
/// closed and removed).
void fresh_tocsin_database() {
    tocsin::db::close_all();
    if (!g_tocsin_path.empty()) {
        remove_database(g_tocsin_path);
    }
    g_tocsin_path = new_database_path("tocsin");
    tocsin::db::configure({{"default", {.engine = "sqlite", .name = g_tocsin_path}}});
    tocsin::migrate();
}
void drop_tocsin_database() {
    tocsin::db::close_all();
    if (!g_tocsin_path.empty()) {
        remove_database(g_tocsin_path);
    }
    g_tocsin_path.clear();
}

// The receiver of the workload: a Profile for every new User.
void create_profile(User& user, const tocsin::SaveEvent& event) {
    if (event.created && !event.raw) {
        Profile::objects().create({.user = user});
    }
}
tocsin::ScopedConnection connect_create_profile() {
    return tocsin::post_save.connect<User>(create_profile,
                                           {.dispatch_uid = "bench.create_profile"});
}

/// Creates users first..first+n-1 (and, through the receiver, their profiles) in one atomic block.
[[gnu::noinline]] void create_users(std::int64_t first, std::int64_t n) {
    auto tx = tocsin::atomic();
    for (std::int64_t i = first; i < first + n; ++i) {
        std::string name = username(i);
        std::string email = name + "@example.com";
        User::objects().create({.username = std::move(name), .email = std::move(email)});
    }
    tx.commit();
}

/// Throws unless the database holds n users and n profiles.
void check_tocsin_counts(std::int64_t n) {
    const auto users = static_cast<std::int64_t>(User::objects().count());
    const auto profiles = static_cast<std::int64_t>(Profile::objects().count());
    if (users != n || profiles != n) {
        throw std::runtime_error("expected " + std::to_string(n) + " users and profiles, got " +
                                 std::to_string(users) + " and " + std::to_string(profiles));
    }
}

void bm_create_tocsin(benchmark::State& state) {
    const std::int64_t n = g_users;
    const tocsin::ScopedConnection receiver = connect_create_profile();
    const Memory before = memory_now();
    for (auto _ : state) {
        state.PauseTiming();
        try {
            fresh_tocsin_database();
            state.ResumeTiming();
            create_users(0, n);
            state.PauseTiming();
            check_tocsin_counts(n);
        } catch (const std::exception& e) {
            fail(state, std::string("tocsin: ") + e.what());  // no timing calls after this
            break;
        }
        state.ResumeTiming();
    }
    const Memory after = memory_now();
    drop_tocsin_database();
    report_per_item(state, n, "per_user");
    report_memory(state, before, after);
}

// ------------------------------------------------------------------ paired
std::int64_t g_pairs = 5;

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t m = v.size() / 2;
    return v.size() % 2 == 1 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/// One timed run of the floor's create_users on a fresh file (checked, then removed).
Timing time_raw_create(std::int64_t n) {
    const RawDatabase db;
    const Timing t = timed([&] { insert_users_raw(db.handle(), n); });
    db.check(n);
    return t;
}

/// One timed run of tocsin's create_users on a fresh database (checked, then removed).
Timing time_tocsin_create(std::int64_t n) {
    fresh_tocsin_database();
    const Timing t = timed([&] { create_users(0, n); });
    check_tocsin_counts(n);
    drop_tocsin_database();
    return t;
}

/// One side of a paired case: its counter name ("tocsin" gives tocsin_per_user) and one timed
/// run of n users.
struct Side {
    const char* name;
    std::function<Timing(std::int64_t)> run;
};

/// Two sides back to back, --pairs times, alternating which goes first (`numerator` first in
/// the even pairs when `numerator_first`): on a shared machine, the ratio within a pair shifts
/// far less than either time does from one minute to the next. Counters: the medians of the
/// per-pair ratios numerator / denominator (ratio_wall, ratio_cpu) and of each side's wall time
/// per user (<name>_per_user). The workload's receiver is connected throughout.
void run_pairs(benchmark::State& state, const char* what, const Side& numerator,
               const Side& denominator, bool numerator_first) {
    const std::int64_t n = g_users;
    const tocsin::ScopedConnection receiver = connect_create_profile();
    for (auto _ : state) {
        std::vector<double> wall_ratio;
        std::vector<double> cpu_ratio;
        std::vector<double> numerator_wall;
        std::vector<double> denominator_wall;
        try {
            for (std::int64_t k = 0; k < g_pairs; ++k) {
                Timing num;
                Timing den;
                if ((k % 2 == 0) == numerator_first) {
                    num = numerator.run(n);
                    den = denominator.run(n);
                } else {
                    den = denominator.run(n);
                    num = numerator.run(n);
                }
                wall_ratio.push_back(num.wall / den.wall);
                cpu_ratio.push_back(num.cpu / den.cpu);
                numerator_wall.push_back(num.wall);
                denominator_wall.push_back(den.wall);
            }
        } catch (const std::exception& e) {
            fail(state, std::string(what) + ": " + e.what());
            break;
        }
        state.counters["ratio_wall"] = median(wall_ratio);
        state.counters["ratio_cpu"] = median(cpu_ratio);
        state.counters[std::string(numerator.name) + "_per_user"] =
            median(numerator_wall) / static_cast<double>(n);
        state.counters[std::string(denominator.name) + "_per_user"] =
            median(denominator_wall) / static_cast<double>(n);
    }
    drop_tocsin_database();
}

/// The floor and tocsin back to back (the floor first in the even pairs), each on a fresh file:
/// the medians of the per-pair ratios tocsin / floor.
void bm_paired(benchmark::State& state) {
    run_pairs(state, "paired", {"tocsin", time_tocsin_create}, {"raw", time_raw_create},
              /*numerator_first=*/false);
}

// ------------------------------------------------------------------ remove
/// The floor's timed work of the remove case: per user, the DELETE of its profile then of the
/// user, two prepared statements, in one transaction.
[[gnu::noinline]] void remove_users_raw(sqlite3* db, std::int64_t n) {
    const auto prepare = [db](const char* sql) {
        sqlite3_stmt* st = nullptr;
        check_rc(db, sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr),
                 SQLITE_OK, sql);
        return std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)>(st, sqlite3_finalize);
    };
    const auto delete_profile = prepare(R"(DELETE FROM "accounts_profile" WHERE "user_id" = ?1)");
    const auto delete_user = prepare(R"(DELETE FROM "auth_user" WHERE "id" = ?1)");
    raw_exec(db, "BEGIN");
    for (std::int64_t id = 1; id <= n; ++id) {
        sqlite3_bind_int64(delete_profile.get(), 1, id);
        check_rc(db, sqlite3_step(delete_profile.get()), SQLITE_DONE, "delete profile");
        sqlite3_reset(delete_profile.get());
        sqlite3_bind_int64(delete_user.get(), 1, id);
        check_rc(db, sqlite3_step(delete_user.get()), SQLITE_DONE, "delete user");
        sqlite3_reset(delete_user.get());
    }
    raw_exec(db, "COMMIT");
}

/// One timed run of the floor's remove on a fresh file of n users and profiles (made untimed).
Timing time_raw_remove(std::int64_t n) {
    const RawDatabase db;
    insert_users_raw(db.handle(), n);
    const Timing t = timed([&] { remove_users_raw(db.handle(), n); });
    db.check(0);
    return t;
}

/// tocsin's timed work of the remove case: user.remove() of every user (its profile cascades),
/// in one atomic block.
[[gnu::noinline]] void remove_users(std::vector<User>& users) {
    auto tx = tocsin::atomic();
    for (auto& user : users) {
        user.remove();
    }
    tx.commit();
}

/// One timed run of tocsin's remove on a fresh database of n users and profiles (made and read
/// untimed).
Timing time_tocsin_remove(std::int64_t n) {
    fresh_tocsin_database();
    create_users(0, n);
    std::vector<User> users = User::objects().all();
    const Timing t = timed([&] { remove_users(users); });
    check_tocsin_counts(0);
    drop_tocsin_database();
    return t;
}

/// remove_users/tocsin_over_raw: the floor and tocsin back to back, the medians of the per-pair
/// ratios tocsin / floor (no delete receiver: tocsin's fast delete of the profiles).
void bm_remove_paired(benchmark::State& state) {
    run_pairs(state, "remove pairs", {"tocsin", time_tocsin_remove}, {"raw", time_raw_remove},
              /*numerator_first=*/false);
}

// ------------------------------------------------------------------ Django, side by side
/// The Python interpreter that runs bench/django_create_users.py (--django[=PYTHON]); empty: the
/// case is not registered.
std::string g_python;

/// One run of bench/django_create_users.py for n users on a fresh file: its own timing of the
/// workload (the interpreter's start and Django's setup are outside it), in seconds for n users.
Timing run_django(std::int64_t n) {
    const std::string command = g_python + " " + TOCSIN_DJANGO_SCRIPT + " -n " + std::to_string(n) +
                                " -r 1 --dir " + g_dir.string() + " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
        throw std::runtime_error("cannot run: " + command);
    }
    std::string output;
    char buffer[512];
    std::optional<Timing> result;
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) {
        output += buffer;
        double wall_us = 0;
        double cpu_us = 0;
        if (std::sscanf(buffer, "repetition 1: %lf us/user (wall), %lf us/user (cpu)", &wall_us,
                        &cpu_us) == 2) {
            result = Timing{wall_us * 1e-6 * static_cast<double>(n),
                            cpu_us * 1e-6 * static_cast<double>(n)};
        }
    }
    const int status = ::pclose(pipe);
    if (status != 0 || !result) {
        throw std::runtime_error("Django's run failed (" + command + "):\n" + output);
    }
    return *result;
}

/// tocsin and Django back to back (Django first in the even pairs), each on a fresh file: the
/// medians of the per-pair ratios Django / tocsin. Django's side is bench/django_create_users.py
/// (Debian's python3-django), the same workload and settings.
void bm_django_paired(benchmark::State& state) {
    run_pairs(state, "django pairs", {"django", run_django}, {"tocsin", time_tocsin_create},
              /*numerator_first=*/true);
}

std::int64_t g_noop_calls = 0;
template <int I>
void noop_receiver(User&, const tocsin::SaveEvent&) {
    ++g_noop_calls;
}
template <int... I>
void connect_noops(std::vector<tocsin::ScopedConnection>& out, int count,
                   std::integer_sequence<int, I...>) {
    (
        [&] {
            if (I < count) {
                out.emplace_back(tocsin::post_save.connect<User>(noop_receiver<I>));
            }
        }(),
        ...);
}

void plain_noop_receiver(tocsin::ModelBase&, const tocsin::SaveEvent&) {
    ++g_noop_calls;
}

enum class ModelReceiver { none, plain_any, plain_user, typed };

/// The cost of one model-signal send with one no-op receiver of each kind: what a typed
/// receiver (connect<User>) adds over a plain one.
void bm_model_signal(benchmark::State& state, ModelReceiver kind) {
    tocsin::ScopedConnection c;
    switch (kind) {
        case ModelReceiver::none:
            break;
        case ModelReceiver::plain_any:
            c = tocsin::post_save.signal().connect(&plain_noop_receiver);
            break;
        case ModelReceiver::plain_user:
            c = tocsin::post_save.signal().connect(&plain_noop_receiver,
                                                   {.sender = tocsin::Sender::of<User>()});
            break;
        case ModelReceiver::typed:
            c = tocsin::post_save.connect<User>(noop_receiver<0>);
            break;
    }
    User user{.username = "u", .email = "u@example.com"};
    const tocsin::SaveEvent event{.created = true, .database = "default"};
    g_noop_calls = 0;
    for (auto _ : state) {
        tocsin::post_save.send(tocsin::Sender::of<User>(), user, event);
        benchmark::ClobberMemory();
    }
    const std::int64_t expected = kind == ModelReceiver::none ? 0 : state.iterations();
    if (g_noop_calls != expected) {
        fail(state, "model_signal: expected " + std::to_string(expected) + " receiver calls, got " +
                        std::to_string(g_noop_calls));
    }
}

/// Users 0..n-1, not saved.
std::vector<User> make_users(std::int64_t n) {
    std::vector<User> users;
    users.reserve(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        users.push_back(User{.username = username(i), .email = username(i) + "@example.com"});
    }
    return users;
}

/// The timed work of the save cases: every user changed and saved (an UPDATE), in one atomic
/// block.
[[gnu::noinline]] void save_users(std::vector<User>& users) {
    auto tx = tocsin::atomic();
    for (auto& user : users) {
        user.is_staff = !user.is_staff;
        user.save();
    }
    tx.commit();
}

void bm_save_tocsin(benchmark::State& state, int receivers) {
    const std::int64_t s = g_saves;
    fresh_tocsin_database();
    std::vector<User> users = make_users(s);
    User::objects().bulk_create(users);  // no signals: no profiles, no receivers
    std::vector<tocsin::ScopedConnection> connections;
    connect_noops(connections, receivers, std::make_integer_sequence<int, 10>{});
    if (tocsin::post_save.receiver_count() != static_cast<std::size_t>(receivers)) {
        fail(state, "save: expected " + std::to_string(receivers) + " post_save receivers, got " +
                        std::to_string(tocsin::post_save.receiver_count()));
    }
    g_noop_calls = 0;
    try {
        for (auto _ : state) {
            save_users(users);
        }
    } catch (const std::exception& e) {
        fail(state, std::string("save: ") + e.what());
        drop_tocsin_database();
        return;
    }
    connections.clear();
    const std::int64_t expected = state.iterations() * s * receivers;
    if (g_noop_calls != expected) {
        fail(state, "save: expected " + std::to_string(expected) + " receiver calls, got " +
                        std::to_string(g_noop_calls));
    }
    if (static_cast<std::int64_t>(User::objects().count()) != s) {
        fail(state, "save: an UPDATE became an INSERT");
    }
    drop_tocsin_database();
    report_per_item(state, s, "per_save");
}

/// save/tocsin/0_receivers and 10_receivers back to back on one database, --pairs x 2 times
/// (alternating which goes first), so that both see the same machine: the median of the
/// per-pair ratios 10 receivers / 0 receivers (ratio_wall, ratio_cpu).
void bm_save_paired(benchmark::State& state) {
    const std::int64_t s = g_saves;
    for (auto _ : state) {
        std::vector<double> wall_ratio;
        std::vector<double> cpu_ratio;
        std::vector<double> wall0;
        std::vector<double> wall10;
        try {
            fresh_tocsin_database();
            std::vector<User> users = make_users(s);
            User::objects().bulk_create(users);
            save_users(users);  // warm-up: statements prepared, pages cached
            g_noop_calls = 0;
            std::int64_t expected = 0;
            for (std::int64_t k = 0; k < 2 * g_pairs; ++k) {
                Timing without;
                Timing with;
                const auto run_without = [&] { without = timed([&] { save_users(users); }); };
                const auto run_with = [&] {
                    std::vector<tocsin::ScopedConnection> connections;
                    connect_noops(connections, 10, std::make_integer_sequence<int, 10>{});
                    with = timed([&] { save_users(users); });
                    expected += 10 * s;
                };
                if (k % 2 == 0) {
                    run_without();
                    run_with();
                } else {
                    run_with();
                    run_without();
                }
                wall_ratio.push_back(with.wall / without.wall);
                cpu_ratio.push_back(with.cpu / without.cpu);
                wall0.push_back(without.wall);
                wall10.push_back(with.wall);
            }
            if (g_noop_calls != expected) {
                throw std::runtime_error("expected " + std::to_string(expected) +
                                         " receiver calls, got " + std::to_string(g_noop_calls));
            }
        } catch (const std::exception& e) {
            fail(state, std::string("save paired: ") + e.what());
            break;
        }
        state.counters["ratio_wall"] = median(wall_ratio);
        state.counters["ratio_cpu"] = median(cpu_ratio);
        state.counters["per_save_0"] = median(wall0) / static_cast<double>(s);
        state.counters["per_save_10"] = median(wall10) / static_cast<double>(s);
    }
    drop_tocsin_database();
}

void bm_memory_tocsin(benchmark::State& state) {
    const std::int64_t n = g_users;
    const tocsin::ScopedConnection receiver = connect_create_profile();
    for (auto _ : state) {
        fresh_tocsin_database();
        Memory first;
        Memory last;
        try {
            for (int round = 0; round < memory_rounds; ++round) {
                create_users(round * n, n);
                last = memory_now();
                if (round == 0) {
                    first = last;
                }
            }
        } catch (const std::exception& e) {
            fail(state, std::string("memory: ") + e.what());
            break;
        }
        try {
            check_tocsin_counts(memory_rounds * n);
        } catch (const std::exception& e) {
            fail(state, std::string("memory: ") + e.what());
        }
        using C = benchmark::Counter;
        const double later_users = static_cast<double>((memory_rounds - 1) * n);
        state.counters["rss_round1"] = C(first.rss, C::kDefaults, C::kIs1024);
        state.counters["rss_round5"] = C(last.rss, C::kDefaults, C::kIs1024);
        state.counters["rss_peak"] = C(last.hwm, C::kDefaults, C::kIs1024);
        state.counters["heap_round1"] = C(first.heap, C::kDefaults, C::kIs1024);
        state.counters["heap_round5"] = C(last.heap, C::kDefaults, C::kIs1024);
        state.counters["heap_growth_per_user"] = (last.heap - first.heap) / later_users;
        state.counters["rss_growth_per_user"] = (last.rss - first.rss) / later_users;
    }
    drop_tocsin_database();
    state.SetItemsProcessed(state.iterations() * memory_rounds * n);
}

/// The tables of the floor must be the ones tocsin creates, and tocsin's connection must have
/// the issue's pragmas.
bool check_schema_and_pragmas() {
    fresh_tocsin_database();
    bool ok = true;
    const auto expect = [&](const std::string& got, const std::string& want, const char* what) {
        if (got != want) {
            std::fprintf(stderr, "FAILED: %s:\n  tocsin: %s\n  bench:  %s\n", what, got.c_str(),
                         want.c_str());
            ok = false;
        }
    };
    expect(tocsin::create_table_sql(User::info()), user_table_sql, "user table");
    expect(tocsin::create_table_sql(Profile::info()), profile_table_sql, "profile table");
    auto& db = tocsin::db::connection();
    const auto pragma = [&](const char* sql) {
        const auto v = db.query_value(sql);
        return !v                                         ? std::string("?")
               : v->type() == tocsin::db::ValueType::text ? v->as_text()
                                                          : std::to_string(v->as_integer());
    };
    expect(pragma("PRAGMA journal_mode"), "wal", "journal_mode");
    expect(pragma("PRAGMA synchronous"), "1", "synchronous (1 = NORMAL)");
    expect(pragma("PRAGMA foreign_keys"), "1", "foreign_keys");
    drop_tocsin_database();
    return ok;
}

/// Takes --users=N, --saves=S, --pairs=P and --django[=PYTHON] out of argv.
bool parse_own_options(int& argc, char** argv) {
    int out = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--django") {
            g_python = "/usr/bin/python3";
            continue;
        }
        if (arg.rfind("--django=", 0) == 0) {
            g_python = std::string(arg.substr(9));
            continue;
        }
        std::int64_t* target = nullptr;
        std::string_view value;
        if (arg.rfind("--users=", 0) == 0) {
            target = &g_users;
            value = arg.substr(8);
        } else if (arg.rfind("--saves=", 0) == 0) {
            target = &g_saves;
            value = arg.substr(8);
        } else if (arg.rfind("--pairs=", 0) == 0) {
            target = &g_pairs;
            value = arg.substr(8);
        }
        if (target == nullptr) {
            argv[out++] = argv[i];
            continue;
        }
        char* end = nullptr;
        const long long v = std::strtoll(std::string(value).c_str(), &end, 10);
        if (v <= 0 || end == nullptr || *end != '\0') {
            std::fprintf(stderr, "models_bench: %s: expected a positive integer\n", argv[i]);
            return false;
        }
        *target = v;
    }
    argc = out;
    argv[argc] = nullptr;
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (!parse_own_options(argc, argv)) {
        return 2;
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 2;
    }

    std::string dir_template = (fs::temp_directory_path() / "tocsin-models-bench-XXXXXX").string();
    if (::mkdtemp(dir_template.data()) == nullptr) {
        std::perror("models_bench: mkdtemp");
        return 2;
    }
    g_dir = dir_template;
    tocsin::setup({.installed_apps = {std::make_shared<auth::AuthConfig>(),
                                      std::make_shared<accounts::AccountsConfig>()},
                   .databases = {{"default", {.engine = "sqlite", .name = ":memory:"}}}});

    // tocsin's first connection comes first, as in a program using tocsin: it configures SQLite
    // for the process (memory statistics off), which the floor, in the same process, shares.
    (void)tocsin::db::connection().query_value("SELECT 1");
    int status = 0;
    if (!check_schema_and_pragmas()) {
        status = 1;
    } else {
        benchmark::AddCustomContext("users", std::to_string(g_users));
        benchmark::AddCustomContext("saves", std::to_string(g_saves));
        benchmark::AddCustomContext("pairs", std::to_string(g_pairs));
        benchmark::AddCustomContext("sqlite", sqlite3_libversion());
        benchmark::AddCustomContext("sqlite_memory_statistics",
                                    sqlite3_memory_used() > 0 ? "on" : "off");
        benchmark::AddCustomContext("database_dir", g_dir.string());
        using benchmark::kMillisecond;
        benchmark::RegisterBenchmark("create_users/raw_sqlite", bm_create_raw)
            ->UseRealTime()
            ->Unit(kMillisecond);
        benchmark::RegisterBenchmark("create_users/tocsin", bm_create_tocsin)
            ->UseRealTime()
            ->Unit(kMillisecond);
        benchmark::RegisterBenchmark("create_users/tocsin_over_raw", bm_paired)
            ->UseRealTime()
            ->Unit(benchmark::kSecond)
            ->Iterations(1);
        benchmark::RegisterBenchmark("remove_users/tocsin_over_raw", bm_remove_paired)
            ->UseRealTime()
            ->Unit(benchmark::kSecond)
            ->Iterations(1);
        if (!g_python.empty()) {
            benchmark::RegisterBenchmark("create_users/django_over_tocsin", bm_django_paired)
                ->UseRealTime()
                ->Unit(benchmark::kSecond)
                ->Iterations(1);
        }
        benchmark::RegisterBenchmark("save/tocsin/0_receivers", bm_save_tocsin, 0)
            ->UseRealTime()
            ->Unit(kMillisecond);
        benchmark::RegisterBenchmark("save/tocsin/10_receivers", bm_save_tocsin, 10)
            ->UseRealTime()
            ->Unit(kMillisecond);
        benchmark::RegisterBenchmark("save/tocsin/10_over_0", bm_save_paired)
            ->UseRealTime()
            ->Unit(benchmark::kSecond)
            ->Iterations(1);
        for (const auto& [name, kind] : {std::pair{"none", ModelReceiver::none},
                                         {"plain_any", ModelReceiver::plain_any},
                                         {"plain_user", ModelReceiver::plain_user},
                                         {"typed", ModelReceiver::typed}}) {
            benchmark::RegisterBenchmark((std::string("model_signal/") + name).c_str(),
                                         bm_model_signal, kind);
        }
        benchmark::RegisterBenchmark("memory/tocsin", bm_memory_tocsin)
            ->UseRealTime()
            ->Unit(kMillisecond)
            ->Iterations(1);
        benchmark::RunSpecifiedBenchmarks();
        status = g_failed ? 1 : 0;
    }
    benchmark::Shutdown();
    tocsin::db::close_all();
    std::error_code ec;
    fs::remove_all(g_dir, ec);
    return status;
}
