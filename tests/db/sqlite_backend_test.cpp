// tocsin::db::SqliteBackend (and SqliteStatement): opening and configuring a connection, the
// dialect, type round-trips, error classification, statement atomicity. Real files only.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "test_support.hpp"
#include "tocsin/db.hpp"

namespace tocsin::db::test {
namespace {
namespace sqlite_backend_test {

using namespace std::chrono_literals;

class SqliteBackendTest : public ::testing::Test {
  protected:
    std::shared_ptr<Backend> open(std::string name = "test.db", Settings settings = {}) {
        settings.name = name == ":memory:" ? name : dir.file(name);
        return open_backend(settings);
    }

    static Value pragma(Backend& backend, const std::string& name) {
        auto st = backend.cached("PRAGMA " + name);
        EXPECT_TRUE(st->step());
        return st->column(0);
    }

    TempDir dir;
};

// ---------------------------------------------------------------- opening and configuration

TEST_F(SqliteBackendTest, OpensInWalModeWithNormalSyncAndForeignKeys) {
    auto db = open();
    EXPECT_EQ(db->vendor(), "sqlite");
    EXPECT_EQ(pragma(*db, "journal_mode"), Value("wal"));
    EXPECT_EQ(pragma(*db, "synchronous"), Value(1));  // NORMAL
    EXPECT_EQ(pragma(*db, "foreign_keys"), Value(1));
    db->execute_script("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)");
    EXPECT_TRUE(std::filesystem::exists(dir.file("test.db-wal")));
}

TEST_F(SqliteBackendTest, OptionsOverrideTheDefaults) {
    auto db = open("test.db", {.options = {{"journal_mode", "delete"},
                                           {"synchronous", "FULL"},
                                           {"foreign_keys", "off"}}});
    EXPECT_EQ(pragma(*db, "journal_mode"), Value("delete"));
    EXPECT_EQ(pragma(*db, "synchronous"), Value(2));  // FULL
    EXPECT_EQ(pragma(*db, "foreign_keys"), Value(0));
}

TEST_F(SqliteBackendTest, TransactionsBeginImmediateUnlessTransactionModeSaysOtherwise) {
    EXPECT_EQ(Settings{}.transaction_mode, "");  // the engine's default
    auto db = open();
    EXPECT_EQ(db->begin_sql(), "BEGIN IMMEDIATE");
    EXPECT_EQ(std::static_pointer_cast<SqliteBackend>(db)->transaction_mode(), "IMMEDIATE");
    EXPECT_EQ(open("test.db", {.transaction_mode = "deferred"})->begin_sql(), "BEGIN DEFERRED");
    EXPECT_EQ(open("test.db", {.transaction_mode = "EXCLUSIVE"})->begin_sql(), "BEGIN EXCLUSIVE");
    EXPECT_EQ(open("test.db", {.transaction_mode = "Immediate"})->begin_sql(), "BEGIN IMMEDIATE");
    // Savepoints are unaffected.
    EXPECT_EQ(open("test.db", {.transaction_mode = "EXCLUSIVE"})->savepoint_sql("s1"),
              "SAVEPOINT \"s1\"");
    // BEGIN IMMEDIATE takes the write lock at once: another connection cannot write meanwhile.
    auto other = open("test.db", {.timeout = 0ms});
    db->execute_script("CREATE TABLE t (x INTEGER)");
    db->execute_script(db->begin_sql());
    EXPECT_THROW(other->execute_script("INSERT INTO t VALUES (1)"), OperationalError);
    db->execute_script(db->commit_sql());
    other->execute_script("INSERT INTO t VALUES (1)");
}

TEST_F(SqliteBackendTest, ABadTransactionModeIsAConfigurationErrorNamingIt) {
    try {
        (void)open("test.db", {.transaction_mode = "LAZY"});
        ADD_FAILURE() << "a bad transaction_mode was accepted";
    } catch (const ConfigurationError& e) {
        EXPECT_NE(std::string(e.what()).find("transaction_mode=\"LAZY\" is not valid (expected "
                                             "one of: DEFERRED, IMMEDIATE, EXCLUSIVE)"),
                  std::string::npos)
            << e.what();
        EXPECT_NE(std::string(e.what()).find("sqlite_backend_test.cpp:"), std::string::npos)
            << e.what();
    }
    // Settings::options is not where it goes; the error says where it does.
    try {
        (void)open("test.db", {.options = {{"transaction_mode", "IMMEDIATE"}}});
        ADD_FAILURE() << "transaction_mode was accepted as an option";
    } catch (const ConfigurationError& e) {
        EXPECT_NE(std::string(e.what()).find("{.transaction_mode = \"IMMEDIATE\"}"),
                  std::string::npos)
            << e.what();
    }
    // configure() accepts it; the error comes when the connection opens, naming the value.
    configure({{"default", {.name = dir.file("test.db"), .transaction_mode = "later"}}});
    EXPECT_THROW((void)connection().backend(), ConfigurationError);
    close_all();
    configure({});
}

TEST_F(SqliteBackendTest, BadOptionsAreConfigurationErrorsNamingThem) {
    try {
        (void)open("test.db", {.options = {{"journal_mod", "WAL"}}});
        ADD_FAILURE() << "an unknown option was accepted";
    } catch (const ConfigurationError& e) {
        EXPECT_NE(std::string(e.what()).find("\"journal_mod\""), std::string::npos) << e.what();
    }
    try {
        (void)open("test.db", {.options = {{"synchronous", "SOMETIMES"}}});
        ADD_FAILURE() << "a bad value was accepted";
    } catch (const ConfigurationError& e) {
        EXPECT_NE(std::string(e.what()).find("synchronous=\"SOMETIMES\""), std::string::npos)
            << e.what();
    }
    EXPECT_THROW((void)open_backend({.name = ""}), ConfigurationError);
}

TEST_F(SqliteBackendTest, BusyTimeoutIsApplied) {
    auto db = open("test.db", {.timeout = 1234ms});
    EXPECT_EQ(pragma(*db, "busy_timeout"), Value(1234));
}

TEST_F(SqliteBackendTest, AWriterWaitsForTheBusyTimeoutThenFailsNamingTheFile) {
    auto holder = open();
    holder->execute_script("CREATE TABLE t (x INTEGER)");
    auto waiter = open("test.db", {.timeout = 300ms});
    holder->execute_script("BEGIN IMMEDIATE; INSERT INTO t VALUES (1)");  // holds the write lock

    const auto start = std::chrono::steady_clock::now();
    try {
        waiter->execute_script("INSERT INTO t VALUES (2)");
        ADD_FAILURE() << "the write did not wait for the lock";
    } catch (const OperationalError& e) {
        const auto waited = std::chrono::steady_clock::now() - start;
        EXPECT_GE(waited, 250ms);
        EXPECT_LT(waited, 5s);
        EXPECT_NE(std::string(e.what()).find("database is locked"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find(dir.file("test.db")), std::string::npos) << e.what();
        EXPECT_EQ(e.native_code() & 0xFF, 5);  // SQLITE_BUSY
        // The message says what to change.
        EXPECT_NE(std::string(e.what()).find("longer than the busy timeout (300 ms)"),
                  std::string::npos)
            << e.what();
        EXPECT_NE(std::string(e.what()).find("Raise Settings::timeout"), std::string::npos)
            << e.what();
        EXPECT_NE(std::string(e.what()).find("transactions that write shorter"), std::string::npos)
            << e.what();
        EXPECT_NE(std::string(e.what()).find("Settings::transaction_mode"), std::string::npos)
            << e.what();
    }
    holder->execute_script("COMMIT");
}

TEST_F(SqliteBackendTest, AWriterWaitingWithinTheBusyTimeoutSucceeds) {
    auto holder = open();
    holder->execute_script("CREATE TABLE t (x INTEGER)");
    auto waiter = open("test.db", {.timeout = 10s});
    holder->execute_script("BEGIN IMMEDIATE; INSERT INTO t VALUES (1)");
    std::thread release([&] {
        std::this_thread::sleep_for(150ms);
        holder->execute_script("COMMIT");
    });
    const auto start = std::chrono::steady_clock::now();
    waiter->execute_script("INSERT INTO t VALUES (2)");
    EXPECT_GE(std::chrono::steady_clock::now() - start, 100ms);
    release.join();
    auto st = waiter->cached("SELECT count(*) FROM t");
    ASSERT_TRUE(st->step());
    EXPECT_EQ(st->column(0), Value(2));
}

TEST_F(SqliteBackendTest, AnUnopenableFileIsAnOperationalErrorNamingIt) {
    { std::ofstream(dir.file("plain-file")) << "not a directory"; }
    const std::string path = dir.file("plain-file") + "/app.db";
    try {
        (void)open_backend({.name = path});
        ADD_FAILURE() << "opened a database under a regular file";
    } catch (const OperationalError& e) {
        EXPECT_NE(std::string(e.what()).find("\"" + path + "\""), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("unable to open database file"), std::string::npos)
            << e.what();
        EXPECT_EQ(e.native_code() & 0xFF, 14);  // SQLITE_CANTOPEN
    }
    const std::string missing = dir.file("no-such-dir") + "/app.db";
    try {
        (void)open_backend({.name = missing});
        ADD_FAILURE() << "opened a database in a missing directory";
    } catch (const OperationalError& e) {
        EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("directory \"" + dir.file("no-such-dir") +
                                             "\" does not exist"),
                  std::string::npos)
            << e.what();
    }
}

/// Makes a directory one this process cannot create files in: immutable where the filesystem
/// allows it (works for root too), read-only permissions otherwise. Undone on destruction.
class UnwritableDirectory {
  public:
    explicit UnwritableDirectory(std::string path) : path_(std::move(path)) {
        ::chmod(path_.c_str(), 0555);
        set_immutable(true);
    }
    ~UnwritableDirectory() {
        if (immutable_)
            set_immutable(false);
        ::chmod(path_.c_str(), 0755);
    }
    UnwritableDirectory(const UnwritableDirectory&) = delete;
    UnwritableDirectory& operator=(const UnwritableDirectory&) = delete;

    /// Whether this process really cannot create a file in the directory now.
    [[nodiscard]] bool effective() const {
        const std::string probe = path_ + "/probe";
        const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0)
            return true;
        ::close(fd);
        ::unlink(probe.c_str());
        return false;
    }

  private:
    void set_immutable(bool on) {
        const int fd = ::open(path_.c_str(), O_RDONLY | O_DIRECTORY);
        if (fd < 0)
            return;
        int flags = 0;
        if (::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0) {
            flags = on ? (flags | FS_IMMUTABLE_FL) : (flags & ~FS_IMMUTABLE_FL);
            const bool done = ::ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
            if (on)
                immutable_ = done;
        }
        ::close(fd);
    }

    std::string path_;
    bool immutable_ = false;
};

TEST_F(SqliteBackendTest, ANewDatabaseInADirectoryItCannotWriteSaysPermissionDenied) {
    const std::string locked = dir.file("locked");
    std::filesystem::create_directory(locked);
    UnwritableDirectory guard(locked);
    if (!guard.effective())
        GTEST_SKIP() << "cannot make a directory unwritable here";
    const std::string path = locked + "/app.db";
    try {
        (void)open_backend({.name = path});
        ADD_FAILURE() << "created a database in an unwritable directory";
    } catch (const OperationalError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("\"" + path + "\""), std::string::npos) << what;
        EXPECT_NE(what.find("permission denied: this process cannot create files in directory "
                            "\"" +
                            locked + "\""),
                  std::string::npos)
            << what;
        EXPECT_EQ(what.find("No such file or directory"), std::string::npos) << what;
    }
}

TEST_F(SqliteBackendTest, ReadOnlyOpensAWalDatabaseInADirectoryItCannotWrite) {
    const std::string locked = dir.file("locked");
    std::filesystem::create_directory(locked);
    const std::string path = locked + "/app.db";
    {
        auto db = open_backend({.name = path});  // WAL
        db->execute_script("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)");
    }
    ASSERT_FALSE(std::filesystem::exists(path + "-wal"));  // removed by the last close
    UnwritableDirectory guard(locked);
    if (!guard.effective())
        GTEST_SKIP() << "cannot make a directory unwritable here";
    // For writing, the error names the directory.
    try {
        (void)open_backend({.name = path});
        ADD_FAILURE() << "opened a WAL database for writing in an unwritable directory";
    } catch (const OperationalError& e) {
        EXPECT_NE(std::string(e.what()).find("permission denied: this process cannot create "
                                             "files in directory \"" +
                                             locked + "\""),
                  std::string::npos)
            << e.what();
    }
    // read_only=true reads it, transactions included.
    auto db = open_backend({.name = path, .options = {{"read_only", "true"}}});
    EXPECT_EQ(db->begin_sql(), "BEGIN DEFERRED");  // IMMEDIATE would need to write
    db->execute_script(db->begin_sql());
    auto st = db->cached("SELECT x FROM t");
    ASSERT_TRUE(st->step());
    EXPECT_EQ(st->column(0), Value(1));
    st.get().reset();
    db->execute_script(db->commit_sql());
    EXPECT_THROW(db->execute_script("INSERT INTO t VALUES (2)"), OperationalError);
    // A URI works the same way.
    auto by_uri = open_backend({.name = "file:" + path, .options = {{"read_only", "true"}}});
    auto again = by_uri->cached("SELECT count(*) FROM t");
    ASSERT_TRUE(again->step());
    EXPECT_EQ(again->column(0), Value(1));
}

/// Makes a file unwritable: immutable where the filesystem allows it (works for root too),
/// read-only permissions otherwise. Undone on destruction.
class Unwritable {
  public:
    explicit Unwritable(std::string path) : path_(std::move(path)) {
        ::chmod(path_.c_str(), 0444);
        const int fd = ::open(path_.c_str(), O_RDONLY);
        if (fd >= 0) {
            int flags = 0;
            if (::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0) {
                flags |= FS_IMMUTABLE_FL;
                immutable_ = ::ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
            }
            ::close(fd);
        }
    }
    ~Unwritable() {
        if (immutable_) {
            const int fd = ::open(path_.c_str(), O_RDONLY);
            int flags = 0;
            if (fd >= 0 && ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0) {
                flags &= ~FS_IMMUTABLE_FL;
                ::ioctl(fd, FS_IOC_SETFLAGS, &flags);
            }
            if (fd >= 0)
                ::close(fd);
        }
        ::chmod(path_.c_str(), 0644);
    }
    Unwritable(const Unwritable&) = delete;
    Unwritable& operator=(const Unwritable&) = delete;

    /// Whether this process really cannot open the file for writing now.
    [[nodiscard]] bool effective() const {
        const int fd = ::open(path_.c_str(), O_WRONLY);
        if (fd < 0)
            return true;
        ::close(fd);
        return false;
    }

  private:
    std::string path_;
    bool immutable_ = false;
};

TEST_F(SqliteBackendTest, AnUnwritableFileIsAnOperationalErrorNamingIt) {
    const std::string path = dir.file("locked.db");
    {
        auto db = open_backend({.name = path, .options = {{"journal_mode", "DELETE"}}});
        db->execute_script("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)");
    }
    Unwritable guard(path);
    if (!guard.effective())
        GTEST_SKIP() << "cannot make a file unwritable here";
    try {
        (void)open_backend({.name = path});
        ADD_FAILURE() << "opened an unwritable file for writing";
    } catch (const OperationalError& e) {
        EXPECT_NE(std::string(e.what()).find("\"" + path + "\""), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("read-only"), std::string::npos) << e.what();
    }
    // Asked for, read-only access works.
    auto db = open_backend(
        {.name = path, .options = {{"read_only", "true"}, {"journal_mode", "DELETE"}}});
    auto st = db->cached("SELECT x FROM t");
    ASSERT_TRUE(st->step());
    EXPECT_EQ(st->column(0), Value(1));
}

TEST_F(SqliteBackendTest, AReadOnlyUriIsRefusedForWriting) {
    const std::string path = dir.file("test.db");
    (void)open();
    const std::string uri = "file:" + path + "?mode=ro";
    try {
        (void)open_backend({.name = uri});
        ADD_FAILURE() << "a read-only open was accepted for writing";
    } catch (const OperationalError& e) {
        EXPECT_NE(std::string(e.what()).find(uri), std::string::npos) << e.what();
    }
}

TEST_F(SqliteBackendTest, AFileThatIsNotADatabaseIsAnOperationalErrorNamingIt) {
    { std::ofstream(dir.file("notes.txt")) << std::string(4096, 'x'); }
    try {
        (void)open("notes.txt");
        ADD_FAILURE() << "a text file was opened as a database";
    } catch (const OperationalError& e) {
        EXPECT_NE(std::string(e.what()).find("notes.txt"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("not a database"), std::string::npos) << e.what();
    }
}

TEST_F(SqliteBackendTest, MemoryDatabasesWork) {
    auto db = open(":memory:");
    EXPECT_EQ(pragma(*db, "journal_mode"), Value("memory"));
    db->execute_script("CREATE TABLE t (x); INSERT INTO t VALUES (7)");
    auto st = db->cached("SELECT x FROM t");
    ASSERT_TRUE(st->step());
    EXPECT_EQ(st->column(0), Value(7));
}

// ---------------------------------------------------------------- dialect

TEST_F(SqliteBackendTest, Dialect) {
    auto db = open(":memory:");
    EXPECT_EQ(db->placeholder(1), "?1");
    EXPECT_EQ(db->placeholder(12), "?12");
    EXPECT_EQ(db->quote_name("user"), "\"user\"");
    EXPECT_EQ(db->quote_name("we\"ird"), "\"we\"\"ird\"");
    EXPECT_EQ(db->column_type(LogicalType::integer), "INTEGER");
    EXPECT_EQ(db->column_type(LogicalType::boolean), "INTEGER");
    EXPECT_EQ(db->column_type(LogicalType::timestamp), "INTEGER");
    EXPECT_EQ(db->column_type(LogicalType::real), "REAL");
    EXPECT_EQ(db->column_type(LogicalType::text), "TEXT");
    EXPECT_EQ(db->column_type(LogicalType::blob), "BLOB");
    EXPECT_EQ(db->auto_primary_key_type(), "INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT");
    EXPECT_EQ(db->savepoint_sql("s1"), "SAVEPOINT \"s1\"");
    EXPECT_EQ(db->release_savepoint_sql("s1"), "RELEASE SAVEPOINT \"s1\"");
    EXPECT_EQ(db->rollback_to_savepoint_sql("s1"), "ROLLBACK TO SAVEPOINT \"s1\"");
    EXPECT_TRUE(db->features().supports_returning);
    EXPECT_TRUE(db->features().supports_savepoints);
    EXPECT_FALSE(db->features().statement_error_aborts_transaction);
    EXPECT_GE(db->features().max_query_parameters, 999U);
}

TEST_F(SqliteBackendTest, QuotedNamesAndNumberedPlaceholdersWork) {
    auto db = open(":memory:");
    db->execute_script("CREATE TABLE " + db->quote_name("user") + " (" + db->quote_name("id") +
                       " " + db->auto_primary_key_type() + ", " + db->quote_name("na\"me") + " " +
                       db->column_type(LogicalType::text) + ")");
    auto insert = db->cached("INSERT INTO \"user\" (\"na\"\"me\") VALUES (" + db->placeholder(1) +
                             " || " + db->placeholder(1) + ")");
    ASSERT_EQ(insert->parameter_count(), 1U);  // one parameter used twice
    insert->bind(1, "ab");
    EXPECT_EQ(insert->run(), 1);
    auto select = db->cached("SELECT \"na\"\"me\" FROM \"user\"");
    ASSERT_TRUE(select->step());
    EXPECT_EQ(select->column(0), Value("abab"));
    EXPECT_EQ(select->column_name(0), "na\"me");
}

TEST_F(SqliteBackendTest, ReturningGivesTheInsertedId) {
    auto db = open(":memory:");
    db->execute_script("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, x TEXT)");
    for (int i = 1; i <= 3; ++i) {
        auto st = db->cached("INSERT INTO t (x) VALUES (?1) RETURNING id");
        st->bind(1, "row");
        ASSERT_TRUE(st->step());
        EXPECT_EQ(st->column(0), Value(i));
        EXPECT_FALSE(st->step());
        EXPECT_EQ(st->rows_affected(), 1);
        EXPECT_EQ(db->last_insert_id(), i);
    }
}

// ---------------------------------------------------------------- values

TEST_F(SqliteBackendTest, TypesRoundTrip) {
    enum class Color : std::uint8_t { red = 1, blue = 200 };
    auto db = open();
    db->execute_script(
        "CREATE TABLE v (i INTEGER, r REAL, t TEXT, b BLOB, flag INTEGER, at INTEGER, "
        "maybe INTEGER, color INTEGER)");
    const auto now =
        std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
    const Timestamp before_epoch{std::chrono::microseconds{-1'234'567'890'123}};
    const std::string text("h\xC3\xA9llo \xE2\x9C\x93 with a \0 NUL", 22);
    const Blob blob{std::byte{0}, std::byte{0xFF}, std::byte{0}, std::byte{0x7F}};

    struct Case {
        Value i, r, t, b, flag, at, maybe, color;
    };
    const Case cases[] = {
        {std::numeric_limits<std::int64_t>::max(), 0.1, text, blob, true, now,
         std::optional<int>(42), Color::blue},
        {std::numeric_limits<std::int64_t>::min(), -1e300, std::string(), Blob{}, false,
         before_epoch, std::optional<int>(), Color::red},
        {null, null, null, null, null, null, null, null},
    };
    auto insert = db->cached("INSERT INTO v VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    for (const Case& c : cases) {
        insert->bind_all(std::vector<Value>{c.i, c.r, c.t, c.b, c.flag, c.at, c.maybe, c.color});
        insert->run();
        insert->reset();
    }
    auto select = db->cached("SELECT i, r, t, b, flag, at, maybe, color FROM v ORDER BY rowid");
    for (const Case& c : cases) {
        ASSERT_TRUE(select->step());
        EXPECT_EQ(select->row(), (Row{c.i, c.r, c.t, c.b, c.flag, c.at, c.maybe, c.color}));
    }
    EXPECT_FALSE(select->step());
    select.get().reset();

    ASSERT_TRUE(select->step());
    EXPECT_EQ(select->get<std::int64_t>(0), std::numeric_limits<std::int64_t>::max());
    EXPECT_EQ(select->get<double>(1), 0.1);
    EXPECT_EQ(select->get<std::string>(2), text);
    EXPECT_EQ(select->get<Blob>(3), blob);
    EXPECT_TRUE(select->get<bool>(4));
    EXPECT_EQ(select->get<Timestamp>(5), now);
    EXPECT_EQ(select->get<std::optional<int>>(6), 42);
    EXPECT_EQ(select->get<Color>(7), Color::blue);
    ASSERT_TRUE(select->step());
    EXPECT_EQ(select->get<std::string>(2), "");
    EXPECT_EQ(select->get<Blob>(3), Blob{});
    EXPECT_EQ(select->column(3).type(), ValueType::blob);  // an empty blob is not NULL
    EXPECT_FALSE(select->get<bool>(4));
    EXPECT_EQ(select->get<Timestamp>(5), before_epoch);
    EXPECT_EQ(select->get<std::optional<int>>(6), std::nullopt);
    ASSERT_TRUE(select->step());
    EXPECT_EQ(select->get<std::optional<std::string>>(2), std::nullopt);
    EXPECT_THROW((void)select->get<std::string>(2), DataError);  // NULL into a non-optional
}

TEST_F(SqliteBackendTest, BindCopiesTextAndBlobsSoTheValuesMayDieBeforeTheStep) {
    auto db = open();
    db->execute_script("CREATE TABLE v (t TEXT, b BLOB)");
    auto insert = db->cached("INSERT INTO v VALUES (?1, ?2)");
    {
        std::vector<Value> values{std::string(64, 'x'), Blob{std::byte{1}, std::byte{2}}};
        insert->bind_all(values);
        values.assign({std::string(64, 'y'), Blob{std::byte{9}}});  // overwritten, then freed
    }
    insert->run();
    insert.get().reset();
    auto select = db->cached("SELECT t, b FROM v");
    ASSERT_TRUE(select->step());
    EXPECT_EQ(select->get<std::string>(0), std::string(64, 'x'));
    EXPECT_EQ(select->get<Blob>(1), (Blob{std::byte{1}, std::byte{2}}));
}

TEST_F(SqliteBackendTest, BorrowedBindingsReadTheCallersValuesUntilTheReset) {
    auto db = open();
    db->execute_script("CREATE TABLE v (t TEXT, b BLOB, i INTEGER)");
    auto insert = db->cached("INSERT INTO v VALUES (?1, ?2, ?3)");
    const std::vector<Value> first{std::string("h\xC3\xA9llo"), Blob{std::byte{0}, std::byte{7}},
                                   1};
    const std::vector<Value> second{std::string(1000, 'z'), Blob{}, 2};
    for (const auto* values : {&first, &second}) {
        insert->bind_all_borrowed(*values);
        insert->run();
        insert.get().reset();
    }
    EXPECT_THROW(insert->bind_all_borrowed(std::vector<Value>{1}), ProgrammingError);
    auto select = db->cached("SELECT t, b, i FROM v ORDER BY i");
    for (const auto* values : {&first, &second}) {
        ASSERT_TRUE(select->step());
        EXPECT_EQ(select->row(), *values);
    }
    EXPECT_FALSE(select->step());
}

// ---------------------------------------------------------------- errors

TEST_F(SqliteBackendTest, UniqueViolationIsAnIntegrityErrorNamingTableAndColumn) {
    auto db = open();
    db->execute_script(
        "CREATE TABLE user (id INTEGER PRIMARY KEY, email TEXT UNIQUE);"
        "INSERT INTO user (email) VALUES ('a@example.com')");
    auto st = db->cached("INSERT INTO user (email) VALUES (?1)");
    st->bind(1, "a@example.com");
    try {
        st->run();
        ADD_FAILURE() << "a duplicate was inserted";
    } catch (const IntegrityError& e) {
        EXPECT_EQ(e.kind(), IntegrityError::Kind::unique);
        EXPECT_EQ(e.table(), "user");
        EXPECT_EQ(e.columns(), std::vector<std::string>{"email"});
        EXPECT_EQ(e.message(), "UNIQUE constraint failed: user.email");
        EXPECT_EQ(e.sql(), "INSERT INTO user (email) VALUES (?1)");
        EXPECT_EQ(e.native_code(), 2067);  // SQLITE_CONSTRAINT_UNIQUE
        const std::string what = e.what();
        EXPECT_NE(what.find("user.email"), std::string::npos);
        EXPECT_NE(what.find("INSERT INTO user"), std::string::npos);
        EXPECT_NE(what.find("sqlite_backend_test.cpp:"), std::string::npos) << what;
    }
    // The statement is usable again after the error.
    st->bind(1, "b@example.com");
    EXPECT_EQ(st->run(), 1);
}

TEST_F(SqliteBackendTest, CompositeUniqueAndPrimaryKeyViolations) {
    auto db = open();
    db->execute_script(
        "CREATE TABLE m (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER, UNIQUE (a, b));"
        "INSERT INTO m VALUES (1, 1, 2)");
    try {
        db->execute_script("INSERT INTO m VALUES (2, 1, 2)");
        ADD_FAILURE();
    } catch (const IntegrityError& e) {
        EXPECT_EQ(e.kind(), IntegrityError::Kind::unique);
        EXPECT_EQ(e.table(), "m");
        EXPECT_EQ(e.columns(), (std::vector<std::string>{"a", "b"}));
    }
    try {
        db->execute_script("INSERT INTO m VALUES (1, 5, 5)");
        ADD_FAILURE();
    } catch (const IntegrityError& e) {
        EXPECT_EQ(e.kind(), IntegrityError::Kind::unique);
        EXPECT_EQ(e.table(), "m");
        EXPECT_EQ(e.columns(), std::vector<std::string>{"id"});
    }
}

TEST_F(SqliteBackendTest, NotNullViolationNamesTheColumn) {
    auto db = open();
    db->execute_script("CREATE TABLE user (id INTEGER PRIMARY KEY, email TEXT NOT NULL)");
    auto st = db->cached("INSERT INTO user (email) VALUES (?1)");
    st->bind(1, null);
    try {
        st->run();
        ADD_FAILURE();
    } catch (const IntegrityError& e) {
        EXPECT_EQ(e.kind(), IntegrityError::Kind::not_null);
        EXPECT_EQ(e.table(), "user");
        EXPECT_EQ(e.columns(), std::vector<std::string>{"email"});
        EXPECT_NE(std::string(e.what()).find("NOT NULL constraint failed: user.email"),
                  std::string::npos);
    }
}

TEST_F(SqliteBackendTest, ForeignKeyAndCheckViolations) {
    auto db = open();
    db->execute_script(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
        "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id),"
        "  qty INTEGER CONSTRAINT qty_positive CHECK (qty > 0))");
    try {
        db->execute_script("INSERT INTO child (parent_id, qty) VALUES (99, 1)");
        ADD_FAILURE();
    } catch (const IntegrityError& e) {
        EXPECT_EQ(e.kind(), IntegrityError::Kind::foreign_key);
        EXPECT_NE(std::string(e.what()).find("FOREIGN KEY constraint failed"), std::string::npos);
    }
    try {
        db->execute_script("INSERT INTO child (parent_id, qty) VALUES (NULL, 0)");
        ADD_FAILURE();
    } catch (const IntegrityError& e) {
        EXPECT_EQ(e.kind(), IntegrityError::Kind::check);
        EXPECT_EQ(e.constraint(), "qty_positive");
    }
}

TEST_F(SqliteBackendTest, BadSqlIsAProgrammingErrorNamingIt) {
    auto db = open(":memory:");
    try {
        (void)db->prepare("SELEC 1");
        ADD_FAILURE();
    } catch (const ProgrammingError& e) {
        EXPECT_NE(std::string(e.what()).find("syntax error"), std::string::npos) << e.what();
        EXPECT_EQ(e.sql(), "SELEC 1");
    }
    try {
        (void)db->cached("SELECT * FROM missing_table");
        ADD_FAILURE();
    } catch (const ProgrammingError& e) {
        EXPECT_NE(std::string(e.what()).find("no such table: missing_table"), std::string::npos);
    }
    EXPECT_THROW((void)db->prepare("SELECT 1; SELECT 2"), ProgrammingError);
    EXPECT_THROW((void)db->prepare("   "), ProgrammingError);
    EXPECT_NO_THROW((void)db->prepare("SELECT 1;  "));
}

TEST_F(SqliteBackendTest, BindingAndReadingOutOfRangeAreProgrammingErrors) {
    auto db = open(":memory:");
    auto st = db->prepare("SELECT ?1, ?2");
    EXPECT_THROW(st->bind(0, 1), ProgrammingError);
    EXPECT_THROW(st->bind(3, 1), ProgrammingError);
    EXPECT_THROW(st->bind_all(std::vector<Value>{1}), ProgrammingError);
    EXPECT_THROW((void)st->column(0), ProgrammingError);  // no row yet
    st->bind_all(std::vector<Value>{1, 2});
    ASSERT_TRUE(st->step());
    EXPECT_EQ(st->column(1), Value(2));
    EXPECT_THROW((void)st->column(2), ProgrammingError);
}

TEST_F(SqliteBackendTest, ExecuteScriptStopsAtTheFirstErrorAndNamesThatStatement) {
    auto db = open();
    try {
        db->execute_script(
            "CREATE TABLE a (x INTEGER);"
            "INSERT INTO nope VALUES (1);"
            "CREATE TABLE b (x INTEGER);");
        ADD_FAILURE();
    } catch (const ProgrammingError& e) {
        // The SQL of the error starts at the failing statement.
        EXPECT_TRUE(e.sql().starts_with("INSERT INTO nope VALUES (1);")) << e.sql();
        EXPECT_NE(std::string(e.what()).find("no such table: nope"), std::string::npos);
    } catch (const Error& e) {
        ADD_FAILURE() << e.what();
    }
    auto st = db->cached("SELECT count(*) FROM sqlite_schema WHERE name IN ('a', 'b')");
    ASSERT_TRUE(st->step());
    EXPECT_EQ(st->column(0), Value(1));
}

TEST_F(SqliteBackendTest, AFailedStatementLeavesTheDatabaseAsItWas) {
    auto db = open();
    db->execute_script(
        "CREATE TABLE t (x INTEGER UNIQUE);"
        "INSERT INTO t VALUES (3)");
    // One statement inserting 1, 2, 3: the third violates UNIQUE; none of the three remain.
    EXPECT_THROW(db->execute_script("INSERT INTO t SELECT value FROM json_each('[1,2,3]')"),
                 IntegrityError);
    auto count = db->cached("SELECT count(*), sum(x) FROM t");
    ASSERT_TRUE(count->step());
    EXPECT_EQ(count->row(), (Row{1, 3}));
}

TEST_F(SqliteBackendTest, InTransactionFollowsTheConnection) {
    auto db = open(":memory:");
    EXPECT_FALSE(db->in_transaction());
    db->execute_script(db->begin_sql());
    EXPECT_TRUE(db->in_transaction());
    db->execute_script(db->rollback_sql());
    EXPECT_FALSE(db->in_transaction());
}

}  // namespace sqlite_backend_test
}  // namespace
}  // namespace tocsin::db::test
