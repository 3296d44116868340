// SessionStore on the Session model, after Django's tests/sessions_tests/tests.py
// (SessionTestsMixin, DatabaseSessionTests), on SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include <chrono>

#include "auth_support.hpp"

namespace tocsin::auth::test {
namespace {
namespace session_test {

using namespace std::chrono_literals;

class SessionTests : public AuthTest {
  protected:
    /// Moves the expiry of the session row `key` by `shift`.
    static void shift_expiry(const std::string& key, std::chrono::seconds shift) {
        auto row = Session::objects().get(where(&Session::session_key) == key);
        row.expire_date += std::chrono::duration_cast<std::chrono::microseconds>(shift);
        row.save();
    }
};

TEST_P(SessionTests, test_new_session) {
    SessionStore session;
    EXPECT_FALSE(session.modified());
    EXPECT_FALSE(session.accessed());
    EXPECT_FALSE(session.session_key());
}

TEST_P(SessionTests, test_get_empty) {
    SessionStore session;
    EXPECT_FALSE(session.get("cat"));
    EXPECT_TRUE(session.accessed());
    EXPECT_FALSE(session.modified());
}

TEST_P(SessionTests, test_store) {
    SessionStore session;
    session.set("cat", "dog");
    EXPECT_TRUE(session.modified());
    EXPECT_EQ(session.get("cat"), "dog");
    EXPECT_TRUE(session.contains("cat"));
    EXPECT_TRUE(session.erase("cat"));
    EXPECT_FALSE(session.erase("cat"));
    EXPECT_TRUE(session.empty());
}

TEST_P(SessionTests, test_save) {
    SessionStore session;
    session.set("a", "1");
    session.set("b", "ü \"quoted\"");
    session.save();
    ASSERT_TRUE(session.session_key());
    const std::string key = *session.session_key();
    EXPECT_EQ(key.size(), SessionStore::key_length);
    EXPECT_EQ(key.find_first_not_of(SessionStore::key_chars), std::string::npos);
    EXPECT_TRUE(session.exists(key));
    EXPECT_FALSE(session.modified());

    SessionStore loaded(key);
    EXPECT_EQ(loaded.keys(), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(loaded.get("b"), "ü \"quoted\"");
    // Saving again updates the same row.
    loaded.set("a", "2");
    loaded.save();
    EXPECT_EQ(loaded.session_key(), key);
    EXPECT_EQ(SessionStore(key).get("a"), "2");
    EXPECT_EQ(Session::objects().count(), 1U);
    // Two sessions never share a key.
    SessionStore other;
    other.save();
    EXPECT_NE(other.session_key(), key);
}

TEST_P(SessionTests, test_flush) {
    SessionStore session;
    session.set("foo", "bar");
    session.save();
    const std::string prev_key = *session.session_key();
    session.flush();
    EXPECT_FALSE(session.exists(prev_key));
    EXPECT_FALSE(session.session_key());
    EXPECT_TRUE(session.modified());
    EXPECT_TRUE(session.accessed());
    EXPECT_FALSE(session.get("foo"));
}

TEST_P(SessionTests, test_cycle) {
    SessionStore session;
    session.set("a", "c");
    session.set("b", "d");
    session.save();
    const std::string prev_key = *session.session_key();
    session.cycle_key();
    EXPECT_FALSE(session.exists(prev_key));
    ASSERT_TRUE(session.session_key());
    EXPECT_NE(*session.session_key(), prev_key);
    EXPECT_EQ(SessionStore(session.session_key()).keys(), (std::vector<std::string>{"a", "b"}));
}

TEST_P(SessionTests, test_cycle_with_no_session_cache) {
    SessionStore session;
    session.set("a", "c");
    session.save();
    SessionStore fresh(session.session_key());
    fresh.cycle_key();
    EXPECT_EQ(fresh.get("a"), "c");
    EXPECT_NE(fresh.session_key(), session.session_key());
}

// A key that does not exist is not taken over: the session saves under a new one (fixation).
TEST_P(SessionTests, test_invalid_key) {
    SessionStore session("nonexistentkey1234");
    session.set("foo", "bar");
    session.save();
    ASSERT_TRUE(session.session_key());
    EXPECT_NE(*session.session_key(), "nonexistentkey1234");
    EXPECT_FALSE(session.exists("nonexistentkey1234"));
}

TEST_P(SessionTests, test_session_key_empty_string_invalid) {
    EXPECT_FALSE(SessionStore("").session_key());
    EXPECT_FALSE(SessionStore("a2345").session_key());
}

TEST_P(SessionTests, test_session_load_does_not_create_record) {
    SessionStore session("someunknownkeywhichdoesnotexist");
    EXPECT_TRUE(session.empty());
    EXPECT_EQ(Session::objects().count(), 0U);
}

TEST_P(SessionTests, test_actual_expiry) {
    SessionStore session;
    session.set("foo", "bar");
    session.set_expiry(60s);
    EXPECT_EQ(session.expiry_age(), 60s);
    session.save();
    const std::string key = *session.session_key();
    const auto row = Session::objects().get(where(&Session::session_key) == key);
    const auto left = row.expire_date - std::chrono::system_clock::now();
    EXPECT_GT(left, 50s);
    EXPECT_LE(left, 60s);
    shift_expiry(key, -61s);
    SessionStore expired(key);
    EXPECT_FALSE(expired.get("foo"));
    EXPECT_FALSE(expired.session_key());
}

TEST_P(SessionTests, test_clearsessions) {
    SessionStore a;
    a.save();
    SessionStore b;
    b.save();
    SessionStore c;
    c.save();
    shift_expiry(*a.session_key(), -SessionStore::default_age - 1s);
    shift_expiry(*b.session_key(), -SessionStore::default_age - 1s);
    EXPECT_EQ(SessionStore::clear_expired(), 2U);
    EXPECT_EQ(Session::objects().count(), 1U);
    EXPECT_TRUE(c.exists(*c.session_key()));
}

// Data that is not a JSON object of strings (a row written by something else) is an empty
// session, never an exception; a value that is not UTF-8 is stored with U+FFFD in its place.
TEST_P(SessionTests, CorruptedDataIsAnEmptySessionAndBytesAreReplaced) {
    for (const char* data : {"not json", "[1,2]", "{\"a\": 1}", ""}) {
        SessionStore session;
        session.save();
        auto row = Session::objects().get(where(&Session::session_key) == *session.session_key());
        row.session_data = data;
        row.save();
        SessionStore loaded(session.session_key());
        EXPECT_TRUE(loaded.empty()) << data;
        EXPECT_FALSE(loaded.session_key()) << data;
    }
    SessionStore session;
    session.set("bytes", "a\xff");
    session.save();
    EXPECT_EQ(SessionStore(session.session_key()).get("bytes"), "a\xef\xbf\xbd");
}

TOCSIN_AUTH_ON_BOTH_ENGINES(SessionTests);

}  // namespace session_test
}  // namespace
}  // namespace tocsin::auth::test
