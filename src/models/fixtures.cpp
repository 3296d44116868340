// loaddata() and dumpdata(): Django's JSON fixture format over the type-erased ModelInfo.
#include "tocsin/models/fixtures.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>
#include <sstream>
#include <utility>
#include <variant>

#include "tocsin/apps/registry.hpp"
#include "tocsin/db/atomic.hpp"
#include "tocsin/db/database.hpp"
#include "tocsin/db/error.hpp"
#include "tocsin/models/many_to_many.hpp"
#include "tocsin/models/model.hpp"
#include "tocsin/models/query.hpp"

namespace tocsin {

namespace {

using json = nlohmann::json;

std::string message_of(const std::string& file, const std::optional<std::size_t>& index,
                       const std::string& model, const std::string& pk, const std::string& field,
                       const std::string& detail) {
    std::string out = "Problem installing fixture '" + file + "'";
    if (index) {
        out += ": object at index " + std::to_string(*index);
        if (!model.empty()) {
            out += " (" + model + (pk.empty() ? ", no pk" : " pk=" + pk) + ")";
        }
    }
    if (!field.empty()) {
        out += ", field '" + field + "'";
    }
    return out + ": " + detail;
}

// ------------------------------------------------------------------------------ small helpers

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

/// "library.book": how Django writes a model label in a fixture.
std::string fixture_label(const ModelInfo& info) {
    return lower(info.app_label) + "." + lower(info.model_name);
}

/// The model whose label is `label`, compared case-insensitively, among every built model.
const ModelInfo* find_model(std::string_view label) {
    const std::string wanted = lower(label);
    for (const ModelInfo* m : all_models()) {
        if (fixture_label(*m) == wanted) {
            return m;
        }
    }
    return nullptr;
}

/// A JSON value for a message: its type and, for a scalar, its text (shortened). Containers are
/// not printed: a fixture may nest them deeply.
std::string show(const json& value) {
    if (value.is_null()) {
        return "null";
    }
    if (value.is_array()) {
        return "a list of " + std::to_string(value.size()) + " item(s)";
    }
    if (value.is_object()) {
        return "an object of " + std::to_string(value.size()) + " key(s)";
    }
    if (value.is_string()) {
        const auto& text = value.get_ref<const std::string&>();
        const bool cut = text.size() > 60;
        return "string " +
               json(cut ? text.substr(0, 57) : text)
                   .dump(-1, ' ', false, json::error_handler_t::replace) +
               (cut ? "..." : "");
    }
    return std::string(value.type_name()) + " " + value.dump();
}

/// The JSON integer `value` as an int64, or nullopt (not an integer, or out of range).
std::optional<std::int64_t> json_integer(const json& value) {
    if (value.is_number_unsigned()) {
        const auto u = value.get<std::uint64_t>();
        if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            return std::nullopt;
        }
        return static_cast<std::int64_t>(u);
    }
    if (value.is_number_integer()) {
        return value.get<std::int64_t>();
    }
    return std::nullopt;
}

// ------------------------------------------------------------------------------ time points

constexpr std::int64_t micros_per_second = 1'000'000;
constexpr std::int64_t micros_per_day = 86'400 * micros_per_second;

/// Reads `count` decimal digits at `pos`; nullopt when they are not all digits.
std::optional<int> digits(std::string_view text, std::size_t pos, std::size_t count) {
    if (pos + count > text.size()) {
        return std::nullopt;
    }
    int value = 0;
    for (std::size_t i = pos; i < pos + count; ++i) {
        const char c = text[i];
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        value = value * 10 + (c - '0');
    }
    return value;
}

/// `micros` if it falls in the years 0–9999 UTC (what dumpdata can write back), else nullopt.
std::optional<std::int64_t> in_range(std::int64_t micros) {
    using namespace std::chrono;
    constexpr std::int64_t first =
        std::int64_t{sys_days(year(0) / January / 1).time_since_epoch().count()} * micros_per_day;
    constexpr std::int64_t end =
        std::int64_t{sys_days(year(10000) / January / 1).time_since_epoch().count()} *
        micros_per_day;
    if (micros < first || micros >= end) {
        return std::nullopt;
    }
    return micros;
}

/// Microseconds since the epoch (UTC) from ISO 8601 as Django writes it:
/// "YYYY-MM-DD", or "YYYY-MM-DD[T ]HH:MM[:SS[.fraction]][Z|±HH:MM|±HHMM]". Without a zone the
/// time is taken as UTC; digits of the fraction beyond microseconds are dropped.
std::optional<std::int64_t> parse_iso(std::string_view text) {
    const auto year = digits(text, 0, 4);
    const auto month = digits(text, 5, 2);
    const auto day = digits(text, 8, 2);
    if (!year || !month || !day || text[4] != '-' || text[7] != '-') {
        return std::nullopt;
    }
    const std::chrono::year_month_day date{std::chrono::year(*year),
                                           std::chrono::month(static_cast<unsigned>(*month)),
                                           std::chrono::day(static_cast<unsigned>(*day))};
    if (!date.ok()) {
        return std::nullopt;
    }
    std::int64_t micros =
        static_cast<std::int64_t>(std::chrono::sys_days(date).time_since_epoch().count()) *
        micros_per_day;
    if (text.size() == 10) {
        return micros;  // a date alone: midnight UTC
    }
    if (text[10] != 'T' && text[10] != 't' && text[10] != ' ') {
        return std::nullopt;
    }
    const auto hour = digits(text, 11, 2);
    const auto minute = digits(text, 14, 2);
    if (!hour || !minute || text.size() < 16 || text[13] != ':' || *hour > 23 || *minute > 59) {
        return std::nullopt;
    }
    micros += (std::int64_t{*hour} * 3600 + std::int64_t{*minute} * 60) * micros_per_second;
    std::size_t pos = 16;
    if (pos < text.size() && text[pos] == ':') {
        const auto second = digits(text, pos + 1, 2);
        if (!second || *second > 59) {
            return std::nullopt;
        }
        micros += std::int64_t{*second} * micros_per_second;
        pos += 3;
        if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
            ++pos;
            std::int64_t fraction = 0;
            std::size_t n = 0;
            while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
                if (n < 6) {
                    fraction = fraction * 10 + (text[pos] - '0');
                }
                ++n;
                ++pos;
            }
            if (n == 0) {
                return std::nullopt;
            }
            for (std::size_t i = n; i < 6; ++i) {
                fraction *= 10;
            }
            micros += fraction;
        }
    }
    if (pos == text.size() || ((text[pos] == 'Z' || text[pos] == 'z') && pos + 1 == text.size())) {
        return in_range(micros);
    }
    if (text[pos] != '+' && text[pos] != '-') {
        return std::nullopt;
    }
    const int sign = text[pos] == '-' ? -1 : 1;
    const auto off_hour = digits(text, pos + 1, 2);
    std::size_t minute_at = pos + 3;
    if (minute_at < text.size() && text[minute_at] == ':') {
        ++minute_at;
    }
    const auto off_minute = digits(text, minute_at, 2);
    if (!off_hour || !off_minute || minute_at + 2 != text.size() || *off_hour > 23 ||
        *off_minute > 59) {
        return std::nullopt;
    }
    // The local time minus the offset is UTC.
    return in_range(micros - sign *
                                 (std::int64_t{*off_hour} * 3600 + std::int64_t{*off_minute} * 60) *
                                 micros_per_second);
}

/// "2024-01-02T03:04:05Z", "…05.123Z" (whole milliseconds, as Django writes), "…05.123456Z";
/// nullopt when the year is outside 0–9999.
std::optional<std::string> format_iso(std::int64_t micros) {
    if (!in_range(micros)) {
        return std::nullopt;
    }
    std::int64_t days = micros / micros_per_day;
    std::int64_t rest = micros % micros_per_day;
    if (rest < 0) {
        rest += micros_per_day;
        --days;
    }
    const std::chrono::year_month_day date{
        std::chrono::sys_days(std::chrono::days(static_cast<int>(days)))};
    const int year = static_cast<int>(date.year());
    const std::int64_t fraction = rest % micros_per_second;
    const std::int64_t seconds = rest / micros_per_second;
    std::array<char, 40> buffer{};
    int n = std::snprintf(buffer.data(), buffer.size(), "%04d-%02u-%02uT%02d:%02d:%02d", year,
                          static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                          static_cast<int>(seconds / 3600), static_cast<int>(seconds / 60 % 60),
                          static_cast<int>(seconds % 60));
    std::string out(buffer.data(), static_cast<std::size_t>(n));
    if (fraction != 0) {
        if (fraction % 1000 == 0) {
            n = std::snprintf(buffer.data(), buffer.size(), ".%03d",
                              static_cast<int>(fraction / 1000));
        } else {
            n = std::snprintf(buffer.data(), buffer.size(), ".%06d", static_cast<int>(fraction));
        }
        out.append(buffer.data(), static_cast<std::size_t>(n));
    }
    return out + "Z";
}

// ------------------------------------------------------------------------------ base64

constexpr std::string_view base64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(const db::Blob& data) {
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    for (std::size_t i = 0; i < data.size(); i += 3) {
        const std::size_t n = std::min<std::size_t>(3, data.size() - i);
        std::uint32_t chunk = 0;
        for (std::size_t j = 0; j < 3; ++j) {
            chunk = (chunk << 8U) | (j < n ? std::to_integer<std::uint32_t>(data[i + j]) : 0U);
        }
        for (std::size_t j = 0; j < 4; ++j) {
            out += j <= n ? base64_alphabet[(chunk >> (18 - 6 * j)) & 0x3FU] : '=';
        }
    }
    return out;
}

/// Strict standard base64 (padding required); nullopt when malformed.
std::optional<db::Blob> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) {
        return std::nullopt;
    }
    db::Blob out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        std::uint32_t chunk = 0;
        std::size_t padding = 0;
        for (std::size_t j = 0; j < 4; ++j) {
            const char c = text[i + j];
            std::uint32_t v = 0;
            if (c == '=') {
                // Padding only in the last group, only at its end.
                if (i + 4 != text.size() || j < 2) {
                    return std::nullopt;
                }
                ++padding;
            } else {
                if (padding > 0) {
                    return std::nullopt;
                }
                const auto at = base64_alphabet.find(c);
                if (at == std::string_view::npos) {
                    return std::nullopt;
                }
                v = static_cast<std::uint32_t>(at);
            }
            chunk = (chunk << 6U) | v;
        }
        for (std::size_t j = 0; j < 3 - padding; ++j) {
            out.push_back(static_cast<std::byte>((chunk >> (16 - 8 * j)) & 0xFFU));
        }
    }
    return out;
}

// ------------------------------------------------------------------------------ loading

/// One object of a fixture, validated: its model and its values in column order ("id" first).
struct Parsed {
    const std::string* source = nullptr;
    std::size_t index = 0;
    const ModelInfo* info = nullptr;
    std::string model;  // as written
    std::string pk;     // as written, "" when none
    db::Row row;
    /// The many-to-many fields given, each with its list of target pks (in the fixture's order).
    std::vector<std::pair<const ManyToManyInfo*, std::vector<std::int64_t>>> m2m;
};

/// The field of `info` that the fixture key `key` names: the field name, or (for a key) its
/// attribute name "<name>_id", which Django also accepts.
const FieldInfo* field_for_key(const ModelInfo& info, std::string_view key) {
    if (const FieldInfo* f = info.field(key)) {
        return f;
    }
    for (const auto& f : info.fields) {
        if (f.is_relation && key.size() == f.name.size() + 3 &&
            key.substr(0, f.name.size()) == f.name && key.substr(f.name.size()) == "_id") {
            return &f;
        }
    }
    return nullptr;
}

/// The Value the fixture's `value` stands for in `field`, or an error text.
std::variant<db::Value, std::string> convert(const FieldInfo& field, const json& value) {
    if (value.is_null()) {
        if (!field.nullable) {
            return std::string("null is not allowed: the field is not nullable");
        }
        return db::Value();
    }
    if (field.is_relation) {
        if (value.is_array()) {
            return std::string("natural keys are not supported; give the target's pk, not ") +
                   show(value);
        }
        if (const auto id = json_integer(value)) {
            return db::Value(*id);
        }
        return "expected the target's pk (an integer) or null, got " + show(value);
    }
    switch (field.type) {
        case db::LogicalType::integer:
            if (const auto i = json_integer(value)) {
                return db::Value(*i);
            }
            return "expected an integer (64-bit), got " + show(value);
        case db::LogicalType::real:
            if (value.is_number()) {
                return db::Value(value.get<double>());
            }
            return "expected a number, got " + show(value);
        case db::LogicalType::boolean:
            if (value.is_boolean()) {
                return db::Value(std::int64_t{value.get<bool>() ? 1 : 0});
            }
            return "expected true or false, got " + show(value);
        case db::LogicalType::text:
            if (value.is_string()) {
                return db::Value(value.get<std::string>());
            }
            return "expected a string, got " + show(value);
        case db::LogicalType::timestamp:
            if (value.is_string()) {
                if (const auto micros = parse_iso(value.get_ref<const std::string&>())) {
                    return db::Value(*micros);
                }
            }
            return "expected an ISO 8601 date/time string (\"2024-01-02T03:04:05.123Z\"), got " +
                   show(value);
        case db::LogicalType::blob:
            if (value.is_string()) {
                if (auto bytes = base64_decode(value.get_ref<const std::string&>())) {
                    return db::Value(std::move(*bytes));
                }
            }
            return "expected base64 text, got " + show(value);
    }
    return std::string("unsupported field type");
}

/// The target pks a many-to-many field's `value` lists (Django: `"groups": [1, 4]`), or an
/// error text.
std::variant<std::vector<std::int64_t>, std::string> convert_m2m(const json& value) {
    if (!value.is_array()) {
        return "expected a list of the targets' pks (integers), got " + show(value);
    }
    std::vector<std::int64_t> ids;
    ids.reserve(value.size());
    for (std::size_t i = 0; i < value.size(); ++i) {
        const json& item = value[i];
        if (const auto id = json_integer(item)) {
            ids.push_back(*id);
            continue;
        }
        const std::string where = "item " + std::to_string(i) + " of the list: ";
        if (item.is_array()) {
            return where + "natural keys are not supported; give the target's pk, not " +
                   show(item);
        }
        return where + "expected the target's pk (an integer, 64-bit), got " + show(item);
    }
    return ids;
}

/// Parses and validates the fixture `text` read from `source`, appending its objects.
void parse_fixture(std::string_view text, const std::string& source, std::vector<Parsed>& out) {
    json document;
    try {
        document = json::parse(text.begin(), text.end());
    } catch (const json::exception& e) {
        throw FixtureError(source, std::nullopt, "", "", "",
                           std::string("invalid JSON: ") + e.what());
    }
    if (!document.is_array()) {
        throw FixtureError(
            source, std::nullopt, "", "", "",
            std::string("a fixture is a JSON list of objects, not a ") + document.type_name());
    }
    for (std::size_t index = 0; index < document.size(); ++index) {
        const json& item = document[index];
        Parsed p;
        p.source = &source;
        p.index = index;
        const auto fail = [&](const std::string& field, const std::string& detail) {
            return FixtureError(source, index, p.model, p.pk, field, detail);
        };
        if (!item.is_object()) {
            throw fail("", "expected an object {\"model\": …, \"pk\": …, \"fields\": {…}}, got " +
                               show(item));
        }
        const auto model = item.find("model");
        if (model == item.end()) {
            throw fail("", "missing \"model\"");
        }
        if (!model->is_string()) {
            throw fail("",
                       "\"model\" must be a string \"app_label.modelname\", not " + show(*model));
        }
        p.model = model->get<std::string>();
        p.info = find_model(p.model);
        if (p.info == nullptr) {
            throw fail("", "Invalid model identifier: '" + p.model + "' (no such model)");
        }
        const ModelInfo& info = *p.info;
        p.row.reserve(info.fields.size() + 1);
        const auto pk = item.find("pk");
        if (pk == item.end() || pk->is_null()) {
            p.row.emplace_back();
        } else if (const auto id = json_integer(*pk)) {
            p.pk = std::to_string(*id);
            p.row.emplace_back(*id);
        } else {
            throw fail("", "\"pk\" must be an integer or null, not " + show(*pk));
        }
        const auto fields = item.find("fields");
        if (fields == item.end()) {
            throw fail("", "missing \"fields\"");
        }
        if (!fields->is_object()) {
            throw fail("", "\"fields\" must be an object, not " + show(*fields));
        }
        for (const auto& f : info.fields) {
            p.row.push_back(f.default_value);
        }
        const auto scratch = info.make();
        for (const auto& [key, value] : fields->items()) {
            if (const ManyToManyInfo* relation = info.relation(key)) {
                auto ids = convert_m2m(value);
                if (auto* error = std::get_if<std::string>(&ids)) {
                    throw fail(relation->name, *error);
                }
                p.m2m.emplace_back(relation, std::move(std::get<std::vector<std::int64_t>>(ids)));
                continue;
            }
            const FieldInfo* field = field_for_key(info, key);
            if (field == nullptr) {
                throw fail(key, "no such field in " + info.label());
            }
            auto converted = convert(*field, value);
            if (auto* error = std::get_if<std::string>(&converted)) {
                throw fail(field->name, *error);
            }
            auto& v = std::get<db::Value>(converted);
            try {
                field->set(*scratch, v);  // does it fit the member (range, NULL)?
            } catch (const db::Error& e) {
                throw fail(field->name,
                           "the value " + show(value) + " does not fit: " + e.message());
            }
            p.row[static_cast<std::size_t>(field - info.fields.data()) + 1] = std::move(v);
        }
        out.push_back(std::move(p));
    }
}

/// A key written by the load (a foreign key, or one target of a many-to-many field), to be
/// checked at the end.
struct Reference {
    const Parsed* object;
    const std::string* field;  ///< the field's name
    const ModelInfo* target;   ///< the model the key points at
    std::int64_t target_id;
    bool many_to_many;
};

/// Saves the parsed objects in one transaction on `alias`, then checks every key written.
void install(const std::vector<Parsed>& objects, const std::string& alias) {
    auto& database = db::connection(alias);
    atomic(alias, [&] {
        // Keys are checked at COMMIT (SQLite: every key; PostgreSQL: DEFERRABLE ones).
        if (const auto defer = database.backend().defer_constraint_checks_sql(); !defer.empty())
            database.execute(defer);
        std::map<const ModelInfo*, std::set<std::int64_t>> saved;
        std::vector<Reference> references;
        for (const Parsed& p : objects) {
            const ModelInfo& info = *p.info;
            const auto instance = info.make();
            const InitEvent event{&p.row};
            pre_init.send(info.sender, *instance, event);
            if (!p.row[0].is_null()) {
                instance->id = p.row[0].as_integer();
            }
            for (std::size_t i = 0; i < info.fields.size(); ++i) {
                info.fields[i].set(*instance, p.row[i + 1]);
            }
            post_init.send(info.sender, *instance, event);
            try {
                detail::save_instance(*instance, info, SaveOptions{.database = alias, .raw = true});
            } catch (const FixtureError&) {
                throw;
            } catch (const db::Error& e) {
                throw FixtureError(*p.source, p.index, p.model, p.pk, "",
                                   "could not save: " + e.message());
            } catch (const ModelError& e) {
                throw FixtureError(*p.source, p.index, p.model, p.pk, "",
                                   std::string("could not save: ") + e.what());
            }
            saved[&info].insert(*instance->id);
            for (std::size_t i = 0; i < info.fields.size(); ++i) {
                const FieldInfo& f = info.fields[i];
                if (f.is_relation && !p.row[i + 1].is_null()) {
                    references.push_back(
                        {&p, &f.name, &f.target(), p.row[i + 1].as_integer(), false});
                }
            }
            // Django's DeserializedObject.save(): after the raw save, each many-to-many field
            // given is set to exactly its list (the related manager's set(): m2m_changed is sent).
            for (const auto& [relation, ids] : p.m2m) {
                const auto side = detail::m2m_side(*instance, info, *relation, false);
                try {
                    detail::m2m_set(side, std::vector<detail::M2MItem>(ids.begin(), ids.end()), {});
                } catch (const db::Error& e) {
                    throw FixtureError(*p.source, p.index, p.model, p.pk, relation->name,
                                       "could not set the relation: " + e.message());
                }
                for (const auto id : ids) {
                    references.push_back({&p, &relation->name, &relation->target(), id, true});
                }
            }
        }
        // Every key must point at a row now (Django checks the constraints after loading).
        auto& backend = database.backend();
        for (const Reference& ref : references) {
            const ModelInfo& target = *ref.target;
            auto& known = saved[&target];
            if (known.count(ref.target_id) != 0) {
                continue;
            }
            std::vector<db::Value> id;
            id.emplace_back(ref.target_id);
            const bool exists =
                !database
                     .query("SELECT 1 FROM " + detail::quoted(backend, target.table) + " WHERE " +
                                detail::quoted(backend, target.pk_column) + " = " +
                                backend.placeholder(1),
                            id)
                     .empty();
            if (!exists) {
                const Parsed& p = *ref.object;
                throw FixtureError(
                    *p.source, p.index, p.model, p.pk, *ref.field,
                    fixture_label(target) + " pk=" + std::to_string(ref.target_id) +
                        (ref.many_to_many ? " does not exist (dangling many-to-many target)"
                                          : " does not exist (dangling foreign key)"));
            }
            known.insert(ref.target_id);
        }
        // Explicit ids leave PostgreSQL's id generators behind: move them past the largest id
        // (Django's sequence_reset_sql after loaddata). Nothing to do on SQLite.
        for (const auto& entry : saved) {
            for (const ModelInfo* m = entry.first; m != nullptr; m = m->parent) {
                if (const auto reset = backend.sequence_reset_sql(m->table, "id"); !reset.empty())
                    (void)database.query(reset);
            }
        }
    });
}

LoadResult load_sources(const std::vector<std::pair<std::string, std::string>>& sources,
                        const LoadOptions& options) {
    std::vector<Parsed> objects;
    for (const auto& [name, text] : sources) {
        parse_fixture(text, name, objects);
    }
    if (!objects.empty()) {
        install(objects, options.database);
    }
    return LoadResult{objects.size(), sources.size()};
}

// ------------------------------------------------------------------------------ dumping

/// The JSON string for `text`; ModelError (via `where`) when it is not UTF-8.
std::string json_string(const std::string& text, const std::string& where) {
    try {
        return json(text).dump();
    } catch (const json::exception&) {
        throw ModelError("dumpdata: " + where + " holds text that is not valid UTF-8");
    }
}

/// The fixture value of `field` for the value `v` (as the model's get() returns it).
std::string json_value(const FieldInfo& field, const db::Value& v, const std::string& where) {
    if (v.is_null()) {
        return "null";
    }
    if (field.is_relation) {
        return std::to_string(v.as_integer());
    }
    switch (field.type) {
        case db::LogicalType::integer:
            return std::to_string(v.as_integer());
        case db::LogicalType::boolean:
            return v.as_integer() != 0 ? "true" : "false";
        case db::LogicalType::real: {
            const double d = v.as_real();
            if (!std::isfinite(d)) {
                throw ModelError("dumpdata: " + where + " is not a finite number (JSON has none)");
            }
            return json(d).dump();
        }
        case db::LogicalType::text:
            return json_string(v.as_text(), where);
        case db::LogicalType::timestamp:
            if (auto text = format_iso(v.as_integer())) {
                return "\"" + *text + "\"";
            }
            throw ModelError("dumpdata: " + where + " is a time point outside the years 0-9999");
        case db::LogicalType::blob:
            return "\"" + base64_encode(v.as_blob()) + "\"";
    }
    throw ModelError("dumpdata: " + where + " has an unsupported type");
}

/// The models `labels` name, in order (every installed model when empty).
std::vector<const ModelInfo*> models_to_dump(const std::vector<std::string>& labels) {
    const auto built = all_models();
    std::vector<const ModelInfo*> installed;
    for (const apps::ModelDescription* d : Apps::instance().models()) {
        for (const ModelInfo* m : built) {
            if (static_cast<const apps::ModelDescription*>(m) == d) {
                installed.push_back(m);
            }
        }
    }
    if (installed.empty()) {
        installed = built;  // no app installed: every model built so far
    }
    // A proxy's rows are its concrete model's: Django's dumpdata skips proxies.
    std::erase_if(installed, [](const ModelInfo* m) { return m->proxy_for != nullptr; });
    if (labels.empty()) {
        return installed;
    }
    std::vector<const ModelInfo*> out;
    const auto add = [&](const ModelInfo* m) {
        if (std::find(out.begin(), out.end(), m) == out.end()) {
            out.push_back(m);
        }
    };
    for (const auto& label : labels) {
        const std::string wanted = lower(label);
        bool found = false;
        for (const ModelInfo* m : installed) {
            const bool match = label.find('.') == std::string::npos ? lower(m->app_label) == wanted
                                                                    : fixture_label(*m) == wanted;
            if (match) {
                add(m);
                found = true;
            }
        }
        if (!found) {
            throw ModelError(label.find('.') == std::string::npos
                                 ? "dumpdata: no installed app with label '" + label + "'"
                                 : "dumpdata: unknown model: " + label);
        }
    }
    return out;
}

void newline(std::string& out, int indent, int level) {
    out += '\n';
    out.append(static_cast<std::size_t>(indent * level), ' ');
}

/// A many-to-many field's value: the list of target pks, one per line at level 3 when pretty
/// (Python's json.dump layout), "[]" when empty.
std::string json_list(const std::vector<std::int64_t>& ids, int indent) {
    if (ids.empty()) {
        return "[]";
    }
    const bool pretty = indent > 0;
    std::string out = "[";
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (i != 0) {
            out += ',';
        }
        if (pretty) {
            newline(out, indent, 3);
        } else if (i != 0) {
            out += ' ';
        }
        out += std::to_string(ids[i]);
    }
    if (pretty) {
        newline(out, indent, 2);
    }
    return out + ']';
}

/// For each many-to-many relation of `info` (in declaration order): the target pks of every
/// owner row that has any, by owner pk, each list ordered by pk.
using M2MLists = std::vector<std::map<std::int64_t, std::vector<std::int64_t>>>;
M2MLists m2m_lists(const ModelInfo& info, const std::string& alias) {
    M2MLists out;
    for (const auto& relation : info.many_to_many) {
        auto& lists = out.emplace_back();
        auto& database = db::connection(alias);
        const std::string source = detail::quoted(database.backend(), relation.source_column);
        const std::string target = detail::quoted(database.backend(), relation.target_column);
        for (const auto& row :
             database.query("SELECT " + source + ", " + target + " FROM " +
                            detail::quoted(database.backend(), relation.through->table) +
                            " ORDER BY " + source + ", " + target)) {
            lists[row.at(0).as_integer()].push_back(row.at(1).as_integer());
        }
    }
    return out;
}

/// One object in Django's layout: json.dump(obj, indent=n, separators=(",", ": ")), or on one
/// line with ", " and ": " when indent <= 0.
/// Many-to-many fields follow the columns, as Django's serializer writes local_many_to_many after
/// local_fields.
void write_object(std::string& out, const ModelInfo& info, const ModelBase& instance,
                  const M2MLists& m2m, int indent) {
    const bool pretty = indent > 0;
    const std::string label = fixture_label(info);
    const std::string pk = std::to_string(*instance.id);
    const auto item = [&](int level, const std::string& key, const std::string& value, bool first) {
        if (!first) {
            out += ',';
        }
        if (pretty) {
            newline(out, indent, level);
        } else if (!first) {
            out += ' ';
        }
        out += json(key).dump() + ": " + value;
    };
    out += '{';
    item(1, "model", "\"" + label + "\"", true);
    item(1, "pk", pk, false);
    item(1, "fields", "{", false);
    bool first = true;
    for (const auto& f : info.fields) {
        const std::string where = label + " pk=" + pk + ", field '" + f.name + "'";
        item(2, f.name, json_value(f, f.get(instance), where), first);
        first = false;
    }
    static const std::vector<std::int64_t> none;
    for (std::size_t i = 0; i < info.many_to_many.size(); ++i) {
        const auto found = m2m[i].find(*instance.id);
        item(2, info.many_to_many[i].name,
             json_list(found == m2m[i].end() ? none : found->second, indent), first);
        first = false;
    }
    if (pretty && !first) {
        newline(out, indent, 1);
    }
    out += '}';
    if (pretty) {
        newline(out, indent, 0);
    }
    out += '}';
}

}  // namespace

FixtureError::FixtureError(std::string file, std::optional<std::size_t> object_index,
                           std::string model, std::string pk, std::string field,
                           const std::string& detail)
    : ModelError(message_of(file, object_index, model, pk, field, detail)),
      file_(std::move(file)),
      object_index_(object_index),
      model_(std::move(model)),
      pk_(std::move(pk)),
      field_(std::move(field)),
      detail_(detail) {}

LoadResult loaddata(const std::filesystem::path& file, const LoadOptions& options) {
    return loaddata(std::vector<std::filesystem::path>{file}, options);
}

LoadResult loaddata(const std::vector<std::filesystem::path>& files, const LoadOptions& options) {
    std::vector<std::pair<std::string, std::string>> sources;
    for (const auto& file : files) {
        std::ifstream in(file, std::ios::binary);
        if (!in) {
            throw FixtureError(file.string(), std::nullopt, "", "", "",
                               "cannot open the file (no fixture named '" + file.string() + "')");
        }
        std::ostringstream text;
        text << in.rdbuf();
        if (in.bad()) {
            throw FixtureError(file.string(), std::nullopt, "", "", "", "cannot read the file");
        }
        sources.emplace_back(file.string(), std::move(text).str());
    }
    return load_sources(sources, options);
}

LoadResult loaddata_json(std::string_view json_text, std::string_view source_name,
                         const LoadOptions& options) {
    return load_sources({{std::string(source_name), std::string(json_text)}}, options);
}

void dumpdata(std::ostream& out, const DumpOptions& options) {
    out << dumpdata(options);
}

std::string dumpdata(const DumpOptions& options) {
    const bool pretty = options.indent > 0;
    std::string out = "[";
    bool first = true;
    for (const ModelInfo* info : models_to_dump(options.labels)) {
        detail::QueryParts q;
        q.info = info;
        q.database = options.database;
        q.order.emplace_back("id", false);
        const M2MLists m2m = m2m_lists(*info, options.database);
        for (const auto& row : detail::fetch_rows(q)) {
            const auto instance = info->make();
            try {
                detail::load_row(*instance, *info, row, options.database);
            } catch (const db::DataError& e) {
                throw ModelError("dumpdata: " + fixture_label(*info) + " pk=" +
                                 db::to_string(row.at(0)) + " cannot be read: " + e.message());
            }
            if (!first) {
                out += pretty ? "," : ", ";
            }
            if (pretty) {
                out += '\n';
            }
            write_object(out, *info, *instance, m2m, options.indent);
            first = false;
        }
    }
    out += pretty ? "\n]\n" : "]";
    return out;
}

}  // namespace tocsin
