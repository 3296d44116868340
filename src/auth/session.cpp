#include "tocsin/auth/session.hpp"

#include <nlohmann/json.hpp>

#include "tocsin/auth/crypto.hpp"

namespace tocsin::auth {

namespace {

db::Timestamp now() {
    return std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
}

using Data = std::map<std::string, std::string, std::less<>>;

/// The data of a row, or nullopt when it is not a JSON object of strings.
std::optional<Data> decode(const std::string& text) {
    const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object()) {
        return std::nullopt;
    }
    Data data;
    for (const auto& [key, value] : json.items()) {
        if (!value.is_string()) {
            return std::nullopt;
        }
        data.emplace(key, value.get<std::string>());
    }
    return data;
}

std::string encode(const Data& data) {
    nlohmann::json json = nlohmann::json::object();
    for (const auto& [key, value] : data) {
        json[key] = value;
    }
    // Invalid UTF-8 in a value is replaced, never thrown on.
    return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

SessionStore::SessionStore(std::optional<std::string> session_key, std::string database)
    : key_(std::move(session_key)), database_(std::move(database)) {
    // Django's _validate_session_key: a key shorter than 8 characters is no key.
    if (key_ && key_->size() < 8) {
        key_.reset();
    }
}

Data& SessionStore::data() {
    accessed_ = true;
    if (!data_) {
        data_.emplace();
        if (key_) {
            const auto row = Session::objects()
                                 .using_database(database_)
                                 .filter(where(&Session::session_key) == *key_ &&
                                         where(&Session::expire_date) > now())
                                 .first();
            std::optional<Data> loaded;
            if (row) {
                loaded = decode(row->session_data);
            }
            if (loaded) {
                *data_ = std::move(*loaded);
            } else {
                // Unknown, expired or unreadable: a new session, under a new key when saved.
                key_.reset();
            }
        }
    }
    return *data_;
}

std::optional<std::string> SessionStore::get(std::string_view key) {
    const auto& d = data();
    if (const auto it = d.find(key); it != d.end()) {
        return it->second;
    }
    return std::nullopt;
}

void SessionStore::set(std::string key, std::string value) {
    data()[std::move(key)] = std::move(value);
    modified_ = true;
}

bool SessionStore::erase(std::string_view key) {
    auto& d = data();
    const auto it = d.find(key);
    if (it == d.end()) {
        return false;
    }
    d.erase(it);
    modified_ = true;
    return true;
}

bool SessionStore::contains(std::string_view key) {
    return data().contains(key);
}

std::vector<std::string> SessionStore::keys() {
    std::vector<std::string> out;
    for (const auto& [key, value] : data()) {
        out.push_back(key);
    }
    return out;
}

bool SessionStore::empty() {
    return data().empty();
}

void SessionStore::clear() {
    data().clear();
    modified_ = true;
}

bool SessionStore::exists(std::string_view session_key) const {
    return Session::objects()
        .using_database(database_)
        .filter(where(&Session::session_key) == std::string(session_key))
        .exists();
}

std::string SessionStore::new_key() const {
    for (;;) {
        std::string key = random_string(key_length, key_chars);
        if (!exists(key)) {
            return key;
        }
    }
}

void SessionStore::save() {
    const Data& d = data();
    const db::Timestamp expires =
        now() + std::chrono::duration_cast<std::chrono::microseconds>(age_);
    if (key_) {
        const auto updated = Session::objects()
                                 .using_database(database_)
                                 .filter(where(&Session::session_key) == *key_)
                                 .update({assign(&Session::session_data, encode(d)),
                                          assign(&Session::expire_date, expires)});
        if (updated > 0) {
            modified_ = false;
            return;
        }
    } else {
        key_ = new_key();
    }
    Session row;
    row.session_key = *key_;
    row.session_data = encode(d);
    row.expire_date = expires;
    row.save({.database = database_, .force_insert = true});
    modified_ = false;
}

void SessionStore::flush() {
    data_.emplace();
    accessed_ = true;
    if (key_) {
        Session::objects()
            .using_database(database_)
            .filter(where(&Session::session_key) == *key_)
            .remove();
        key_.reset();
    }
    modified_ = true;
}

void SessionStore::cycle_key() {
    Data kept = data();
    if (key_) {
        Session::objects()
            .using_database(database_)
            .filter(where(&Session::session_key) == *key_)
            .remove();
        key_.reset();
    }
    data_ = std::move(kept);
    modified_ = true;
    save();
}

void SessionStore::set_expiry(std::chrono::seconds age) {
    age_ = age.count() == 0 ? default_age : age;
    modified_ = true;
}

std::size_t SessionStore::clear_expired(const std::string& database) {
    return Session::objects()
        .using_database(database)
        .filter(where(&Session::expire_date) < now())
        .remove()
        .total;
}

}  // namespace tocsin::auth

// The one compile of Session's description (TOCSIN_EXTERN_MODEL in tocsin/auth/session.hpp).
TOCSIN_INSTANTIATE_MODEL(tocsin::auth::Session);
