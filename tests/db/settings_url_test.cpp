// tocsin::db::parse_database_url and settings_from_environment: dj-database-url's DATABASE_URL.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "tocsin/db.hpp"

namespace tocsin::db::test {
namespace {
namespace settings_url_test {

TEST(DatabaseUrl, PostgresqlWithEveryPart) {
    const Settings s = parse_database_url(
        "postgresql://app:s3cr%40t@db.example.com:6432/shop?sslmode=require&connect_timeout=5");
    EXPECT_EQ(s.engine, "postgresql");
    EXPECT_EQ(s.user, "app");
    EXPECT_EQ(s.password, "s3cr@t");
    EXPECT_EQ(s.host, "db.example.com");
    EXPECT_EQ(s.port, 6432);
    EXPECT_EQ(s.name, "shop");
    EXPECT_EQ(s.options.at("sslmode"), "require");
    EXPECT_EQ(s.options.at("connect_timeout"), "5");
    EXPECT_EQ(s.options.size(), 2U);
}

TEST(DatabaseUrl, PostgresSchemeAndMissingParts) {
    const Settings s = parse_database_url("postgres://localhost/app");
    EXPECT_EQ(s.engine, "postgresql");
    EXPECT_EQ(s.host, "localhost");
    EXPECT_EQ(s.port, 0);
    EXPECT_EQ(s.user, "");
    EXPECT_EQ(s.password, "");
    EXPECT_EQ(s.name, "app");
    const Settings bare = parse_database_url("postgresql://");
    EXPECT_EQ(bare.engine, "postgresql");
    EXPECT_EQ(bare.host, "");
    EXPECT_EQ(bare.name, "");
    const Settings user_only = parse_database_url("postgresql://bob@/db");
    EXPECT_EQ(user_only.user, "bob");
    EXPECT_EQ(user_only.host, "");
}

TEST(DatabaseUrl, UnixSocketHosts) {
    EXPECT_EQ(parse_database_url("postgresql://%2Fvar%2Frun%2Fpostgresql/app").host,
              "/var/run/postgresql");
    const Settings s = parse_database_url("postgresql:///app?host=/tmp/pg%20dir&port=5433");
    EXPECT_EQ(s.host, "/tmp/pg dir");
    EXPECT_EQ(s.port, 5433);
    EXPECT_EQ(s.name, "app");
    EXPECT_TRUE(s.options.empty());
}

TEST(DatabaseUrl, Ipv6Host) {
    const Settings s = parse_database_url("postgresql://u@[::1]:5433/db");
    EXPECT_EQ(s.host, "::1");
    EXPECT_EQ(s.port, 5433);
}

TEST(DatabaseUrl, Sqlite) {
    EXPECT_EQ(parse_database_url("sqlite:///app.db").name, "app.db");
    EXPECT_EQ(parse_database_url("sqlite:////srv/data/app.db").name, "/srv/data/app.db");
    EXPECT_EQ(parse_database_url("sqlite://:memory:").name, ":memory:");
    EXPECT_EQ(parse_database_url("sqlite://").name, ":memory:");
    const Settings s = parse_database_url("sqlite:///app.db?journal_mode=DELETE");
    EXPECT_EQ(s.engine, "sqlite");
    EXPECT_EQ(s.options.at("journal_mode"), "DELETE");
}

void expect_error(const std::string& url, const std::string& part) {
    try {
        (void)parse_database_url(url);
        ADD_FAILURE() << "no error for " << url;
    } catch (const ConfigurationError& e) {
        EXPECT_NE(e.message().find(part), std::string::npos) << e.what();
        EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
    }
}

TEST(DatabaseUrl, BadUrlsNameThePartAndHideThePassword) {
    expect_error("mysql://u:hunter2@h/db", "unknown scheme \"mysql\"");
    expect_error("localhost/db", "no scheme");
    expect_error("postgresql://u:hunter2@h:54x2/db", "the port \"54x2\"");
    expect_error("postgresql://u:hunter2@h:0/db", "the port \"0\"");
    expect_error("postgresql://u:hunter2@h:/db", "the port after ':' is empty");
    expect_error("postgresql://u:hunter2@h/d%zzb", "the database name has an invalid");
    expect_error("postgresql://u:hunter2@h/db%2", "incomplete percent-escape");
    expect_error("postgresql://u:hunter2@h/db?sslmode", "query parameter \"sslmode\"");
    expect_error("postgresql://u:hunter2@h/a/b", "contains '/'");
    expect_error("postgresql://u:hunter2@[::1/db", "'[' without ']'");
    expect_error("sqlite://host/app.db", "sqlite URL has no host");
    try {
        (void)parse_database_url("postgresql://u:hunter2@h:x/db");
    } catch (const ConfigurationError& e) {
        EXPECT_NE(e.message().find("postgresql://u:***@h:x/db"), std::string::npos) << e.what();
    }
}

TEST(DatabaseUrl, FromTheEnvironment) {
    ::unsetenv("TOCSIN_TEST_DATABASE_URL");
    EXPECT_FALSE(settings_from_environment("TOCSIN_TEST_DATABASE_URL").has_value());
    ::setenv("TOCSIN_TEST_DATABASE_URL", "postgresql://h/db", 1);
    const auto s = settings_from_environment("TOCSIN_TEST_DATABASE_URL");
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->name, "db");
    ::setenv("TOCSIN_TEST_DATABASE_URL", "nope", 1);
    try {
        (void)settings_from_environment("TOCSIN_TEST_DATABASE_URL");
        ADD_FAILURE() << "no error";
    } catch (const ConfigurationError& e) {
        EXPECT_NE(e.message().find("TOCSIN_TEST_DATABASE_URL"), std::string::npos) << e.what();
    }
    ::unsetenv("TOCSIN_TEST_DATABASE_URL");
}

}  // namespace settings_url_test
}  // namespace
}  // namespace tocsin::db::test
