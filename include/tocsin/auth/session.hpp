// tocsin::auth::Session and SessionStore — Django's database sessions
// (django.contrib.sessions.backends.db): a key from the CSPRNG, data, an expiry.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tocsin/db/default_alias.hpp"
#include "tocsin/db/value.hpp"
#include "tocsin/models.hpp"

namespace tocsin::auth {

/// One stored session (Django's sessions.Session, table django_session): the key, the data (a
/// JSON object of strings) and when it expires.
struct Session : Model<Session> {
    static constexpr std::string_view label = "sessions.Session";
    static constexpr std::string_view db_table = "django_session";
    std::string session_key;
    std::string session_data;
    db::Timestamp expire_date{};

    static auto fields() {
        return tocsin::fields(field("session_key", &Session::session_key, {.unique = true}),
                              field("session_data", &Session::session_data),
                              field("expire_date", &Session::expire_date));
    }
};

/// A session's data, stored in the Session table of `database` (Django's SessionStore of the db
/// backend). Values are strings. The row is read at the first access and written by save().
/// A key that does not exist, has expired or holds unreadable data gives an empty session whose
/// key is dropped: save() then makes a new one (no session fixation). One store per client; not
/// shared between threads.
class SessionStore {
  public:
    /// Django's SESSION_COOKIE_AGE: two weeks.
    static constexpr std::chrono::seconds default_age{1'209'600};
    /// Characters of a key (Django's VALID_KEY_CHARS) and its length.
    static constexpr std::string_view key_chars = "abcdefghijklmnopqrstuvwxyz0123456789";
    static constexpr std::size_t key_length = 32;

    /// A store for the session `session_key` (nullopt, or shorter than 8 characters: a new
    /// session) on `database`.
    explicit SessionStore(std::optional<std::string> session_key = std::nullopt,
                          std::string database = std::string(db::default_alias));

    /// The key: nullopt for a new session until save(), and after flush().
    [[nodiscard]] const std::optional<std::string>& session_key() const noexcept { return key_; }
    /// The value stored under `key`, or nullopt.
    [[nodiscard]] std::optional<std::string> get(std::string_view key);
    /// Stores `value` under `key`.
    void set(std::string key, std::string value);
    /// Removes `key`; true if it was there.
    bool erase(std::string_view key);
    /// Whether `key` is stored.
    [[nodiscard]] bool contains(std::string_view key);
    /// Every key, sorted.
    [[nodiscard]] std::vector<std::string> keys();
    /// True when nothing is stored (Django's is_empty: also true for a new, unsaved session).
    [[nodiscard]] bool empty();
    /// Removes every value (the key stays).
    void clear();

    /// Writes the session: a new key from the CSPRNG (32 of key_chars, unused) when it has none;
    /// the expiry is now + the age (set_expiry, else default_age).
    void save();
    /// Django's flush(): removes the data and the row, and drops the key (a logout).
    void flush();
    /// Django's cycle_key(): the same data under a new key; the old row is removed (a login).
    void cycle_key();
    /// Whether a row with `session_key` exists (expired or not).
    [[nodiscard]] bool exists(std::string_view session_key) const;

    /// The session expires `age` after each save(); 0: the default again.
    void set_expiry(std::chrono::seconds age);
    /// The age save() uses.
    [[nodiscard]] std::chrono::seconds expiry_age() const noexcept { return age_; }
    /// Whether set(), erase(), clear() (or a key change) happened since the last save().
    [[nodiscard]] bool modified() const noexcept { return modified_; }
    /// Whether the data was read or written.
    [[nodiscard]] bool accessed() const noexcept { return accessed_; }

    /// Removes every expired session of `database` (Django's clear_expired); how many.
    static std::size_t clear_expired(const std::string& database = std::string(db::default_alias));

  private:
    std::map<std::string, std::string, std::less<>>& data();
    std::string new_key() const;

    std::optional<std::string> key_;
    std::string database_;
    std::optional<std::map<std::string, std::string, std::less<>>> data_;
    std::chrono::seconds age_ = default_age;
    bool modified_ = false;
    bool accessed_ = false;
};

}  // namespace tocsin::auth

// Session's description is compiled once, in src/auth/session.cpp (TOCSIN_EXTERN_MODEL).
TOCSIN_EXTERN_MODEL(tocsin::auth::Session);
