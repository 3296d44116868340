// loaddata(): Django's JSON fixtures read, validated and saved over the type-erased ModelInfo.
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

#include "fixture_support.hpp"

namespace tocsin {

namespace {

using detail::fixtures::base64_decode;
using detail::fixtures::fixture_label;
using detail::fixtures::json;
using detail::fixtures::lower;
using detail::fixtures::parent_link_name;
using detail::fixtures::parse_iso;

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

// ------------------------------------------------------------------------------ loading

/// A natural key given in a fixture (Django's natural foreign key): the values, and the JSON
/// text as written (for messages).
struct NaturalKey {
    std::vector<db::Value> values;
    std::string text;
};

/// A key given in a fixture: the target's pk, or its natural key (resolved through the target's
/// get_by_natural_key() when the object is saved).
struct GivenKey {
    std::int64_t id = 0;
    std::optional<NaturalKey> natural{};
};

/// One object of a fixture, validated: its model and its values as a row read from the database
/// holds them: "id", then every field of the instance (ModelInfo::all_fields, inherited first).
struct Parsed {
    const std::string* source = nullptr;
    std::size_t index = 0;
    const ModelInfo* info = nullptr;
    std::string model;  // as written
    std::string pk;     // as written, "" when none
    db::Row row;
    /// The many-to-many fields given, each with its list of targets (in the fixture's order).
    std::vector<std::pair<const ManyToManyInfo*, std::vector<GivenKey>>> m2m;
    /// The key fields given as natural keys: their position in `row`, and the key.
    std::vector<std::pair<std::size_t, NaturalKey>> natural_fks;
    /// A child's link to its parent row given as a field (Django's "event_ptr", written with
    /// --natural-primary), by pk or natural key; it gives the object's pk.
    std::optional<GivenKey> parent_link;
};

/// The field of `info` that the fixture key `key` names: the field name, or (for a key) its
/// attribute name "<name>_id", which Django also accepts.
const FieldInfo* field_for_key(const ModelInfo& info, std::string_view key) {
    if (const FieldInfo* f = info.field(key)) {
        return f;
    }
    for (const FieldInfo* f : info.all_fields) {
        if (f->is_relation && key.size() == f->name.size() + 3 &&
            key.substr(0, f->name.size()) == f->name && key.substr(f->name.size()) == "_id") {
            return f;
        }
    }
    return nullptr;
}

/// The position of `field` (one of info.all_fields) in a row: after "id".
std::size_t row_index(const ModelInfo& info, const FieldInfo* field) {
    const auto at = std::find(info.all_fields.begin(), info.all_fields.end(), field);
    return static_cast<std::size_t>(at - info.all_fields.begin()) + 1;
}

/// The position in a row of the first of `info`'s own fields (they follow the inherited ones).
std::size_t first_own_index(const ModelInfo& info) {
    return info.all_fields.size() - info.fields.size() + 1;
}

/// The key column of `info`'s table (where a key to `info` points).
std::string key_column(const ModelInfo& info) {
    return info.pk_column;
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

/// The values of `value`, a natural key of `target` (a JSON list, Django's natural foreign
/// key), or an error text.
std::variant<NaturalKey, std::string> convert_natural_key(const ModelInfo& target,
                                                          const json& value) {
    const NaturalKeyInfo& natural = target.natural_key;
    if (!natural.lookup) {
        return fixture_label(target) +
               " has no natural key (natural_key() and get_by_natural_key()); give the "
               "target's pk, not " +
               show(value);
    }
    if (value.size() != natural.parts.size()) {
        return "expected a natural key of " + fixture_label(target) + " (a list of " +
               std::to_string(natural.parts.size()) + " value(s)), got " + show(value);
    }
    NaturalKey key;
    key.text = value.dump(-1, ' ', false, json::error_handler_t::replace);
    for (std::size_t i = 0; i < value.size(); ++i) {
        FieldInfo part;
        part.type = natural.parts[i].type;
        part.nullable = natural.parts[i].nullable;
        auto converted = convert(part, value[i]);
        if (auto* error = std::get_if<std::string>(&converted)) {
            return "value " + std::to_string(i) + " of the natural key " + key.text + ": " + *error;
        }
        key.values.push_back(std::move(std::get<db::Value>(converted)));
    }
    return key;
}

/// The targets a many-to-many field's `value` lists (Django: `"groups": [1, 4]`, or natural
/// keys `[["staff"], ["admins"]]`), or an error text.
std::variant<std::vector<GivenKey>, std::string> convert_m2m(const ManyToManyInfo& relation,
                                                             const json& value) {
    if (!value.is_array()) {
        return "expected a list of the targets' pks (integers), got " + show(value);
    }
    std::vector<GivenKey> keys;
    keys.reserve(value.size());
    for (std::size_t i = 0; i < value.size(); ++i) {
        const json& item = value[i];
        if (const auto id = json_integer(item)) {
            keys.push_back({*id});
            continue;
        }
        const std::string where = "item " + std::to_string(i) + " of the list: ";
        if (item.is_array()) {
            auto natural = convert_natural_key(relation.target(), item);
            if (auto* error = std::get_if<std::string>(&natural)) {
                return where + *error;
            }
            keys.push_back({0, std::move(std::get<NaturalKey>(natural))});
            continue;
        }
        return where + "expected the target's pk (an integer, 64-bit), got " + show(item);
    }
    return keys;
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
        p.info = find_model_info(p.model);
        if (p.info == nullptr) {
            throw fail("", "Invalid model identifier: '" + p.model + "' (no such model)");
        }
        const ModelInfo& info = *p.info;
        p.row.reserve(info.all_fields.size() + 1);
        const auto pk = item.find("pk");
        if (pk == item.end() || pk->is_null()) {
            p.row.emplace_back();
        } else if (const auto id = json_integer(*pk)) {
            p.pk = std::to_string(*id);
            if (*id == std::numeric_limits<std::int64_t>::max() && info.parent == nullptr) {
                // SQLite's AUTOINCREMENT never gives an id below the largest one used: after
                // this pk every insert without one would fail ("database or disk is full"). (A
                // child's table takes its ids from its parent's rows: it has no sequence.)
                throw fail("", "\"pk\" " + p.pk +
                                   " is the largest id: the table could take no new row after "
                                   "it (its id sequence would be exhausted); use a smaller pk");
            }
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
        for (const FieldInfo* f : info.all_fields) {
            p.row.push_back(f->default_value);
        }
        const auto scratch = info.make();
        for (const auto& [key, value] : fields->items()) {
            if (const ManyToManyInfo* relation = info.relation(key)) {
                auto keys = convert_m2m(*relation, value);
                if (auto* error = std::get_if<std::string>(&keys)) {
                    throw fail(relation->name, *error);
                }
                p.m2m.emplace_back(relation, std::move(std::get<std::vector<GivenKey>>(keys)));
                continue;
            }
            if (info.parent != nullptr &&
                (key == parent_link_name(info) || key == parent_link_name(info) + "_id")) {
                // Django writes a child's link to its parent with --natural-primary: the pk.
                if (const auto id = json_integer(value)) {
                    p.parent_link = GivenKey{*id};
                    if (p.pk.empty()) {
                        p.pk = std::to_string(*id);  // for messages
                    }
                } else if (value.is_array()) {
                    auto natural = convert_natural_key(*info.parent, value);
                    if (auto* error = std::get_if<std::string>(&natural)) {
                        throw fail(parent_link_name(info), *error);
                    }
                    p.parent_link = GivenKey{0, std::move(std::get<NaturalKey>(natural))};
                } else {
                    throw fail(
                        parent_link_name(info),
                        "expected the parent's pk (an integer) or natural key, got " + show(value));
                }
                continue;
            }
            const FieldInfo* field = field_for_key(info, key);
            if (field == nullptr) {
                throw fail(key, "no such field in " + info.label());
            }
            if (field->is_relation && value.is_array()) {
                auto natural = convert_natural_key(field->target(), value);
                if (auto* error = std::get_if<std::string>(&natural)) {
                    throw fail(field->name, *error);
                }
                p.natural_fks.emplace_back(row_index(info, field),
                                           std::move(std::get<NaturalKey>(natural)));
                continue;
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
            p.row[row_index(info, field)] = std::move(v);
        }
        out.push_back(std::move(p));
    }
}

/// A key written by the load (a foreign key, or one target of a many-to-many field), to be
/// checked at the end.
struct Reference {
    const Parsed* object;
    std::string field;        ///< the field's name
    const ModelInfo* target;  ///< the model the key points at
    std::int64_t target_id;
    bool many_to_many;
    bool parent_link = false;  ///< a child's row naming its parent's row
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
        // The id of the row of `target` whose natural key is `key` (get_by_natural_key), or
        // nullopt; a lookup that fails otherwise is the object's error.
        const auto look_up = [&](const Parsed& p, const std::string& field, const ModelInfo& target,
                                 const NaturalKey& key) -> std::optional<std::int64_t> {
            const auto fail = [&](const std::string& why) {
                return FixtureError(*p.source, p.index, p.model, p.pk, field,
                                    "the natural key " + key.text + " of " + fixture_label(target) +
                                        " cannot be looked up: " + why);
            };
            try {
                return target.natural_key.lookup(key.values, alias);
            } catch (const db::Error& e) {
                throw fail(e.message());
            } catch (const MultipleObjectsReturned& e) {
                throw fail(e.what());
            }
        };
        const auto no_row = [](const ModelInfo& target, const NaturalKey& key) {
            return "no " + fixture_label(target) + " has the natural key " + key.text;
        };
        // The saves of Django's DeserializedObject.save(): raw, then each many-to-many field
        // given set to exactly its list (the related manager's set(): m2m_changed is sent).
        const auto save = [&](const Parsed& p, ModelBase& instance) {
            try {
                detail::save_instance(instance, *p.info,
                                      SaveOptions{.database = alias, .raw = true});
            } catch (const FixtureError&) {
                throw;
            } catch (const db::Error& e) {
                throw FixtureError(*p.source, p.index, p.model, p.pk, "",
                                   "could not save: " + e.message());
            } catch (const ModelError& e) {
                throw FixtureError(*p.source, p.index, p.model, p.pk, "",
                                   std::string("could not save: ") + e.what());
            }
            saved[p.info].insert(*instance.id);
        };
        const auto set_m2m = [&](const Parsed& p, ModelBase& instance,
                                 const ManyToManyInfo& relation,
                                 const std::vector<std::int64_t>& ids) {
            const auto side = detail::m2m_side(instance, *p.info, relation, false);
            try {
                detail::m2m_set(side, std::vector<detail::M2MItem>(ids.begin(), ids.end()), {});
            } catch (const db::Error& e) {
                throw FixtureError(*p.source, p.index, p.model, p.pk, relation.name,
                                   "could not set the relation: " + e.message());
            }
            for (const auto id : ids) {
                references.push_back({&p, relation.name, &relation.target(), id, true});
            }
        };
        // The targets of a many-to-many field, natural keys resolved; nullopt when one of them
        // names no row yet (Django defers the whole field to the end of the load).
        const auto m2m_ids =
            [&](const Parsed& p, const ManyToManyInfo& relation,
                const std::vector<GivenKey>& keys) -> std::optional<std::vector<std::int64_t>> {
            std::vector<std::int64_t> ids;
            ids.reserve(keys.size());
            for (const GivenKey& k : keys) {
                if (!k.natural) {
                    ids.push_back(k.id);
                } else if (const auto id =
                               look_up(p, relation.name, relation.target(), *k.natural)) {
                    ids.push_back(*id);
                } else {
                    return std::nullopt;
                }
            }
            return ids;
        };
        // Objects with a natural foreign key to a row not saved yet (Django's deferred fields,
        // handle_forward_references): saved without it, then set and saved again at the end.
        struct Deferred {
            const Parsed* object;
            std::shared_ptr<ModelBase> instance;
            std::vector<const std::pair<std::size_t, NaturalKey>*> fks;
            std::vector<const std::pair<const ManyToManyInfo*, std::vector<GivenKey>>*> m2m;
        };
        std::vector<Deferred> deferred;
        const auto key_references = [&](const Parsed& p, const db::Row& row, std::size_t from) {
            for (std::size_t i = from; i < row.size(); ++i) {
                const FieldInfo& f = *p.info->all_fields[i - 1];
                if (f.is_relation && !row[i].is_null()) {
                    references.push_back({&p, f.name, &f.target(), row[i].as_integer(), false});
                }
            }
        };
        for (const Parsed& p : objects) {
            const ModelInfo& info = *p.info;
            db::Row row = p.row;
            Deferred later{&p, nullptr, {}, {}};
            for (const auto& natural_fk : p.natural_fks) {
                const FieldInfo& f = *info.all_fields[natural_fk.first - 1];
                if (const auto id = look_up(p, f.name, f.target(), natural_fk.second)) {
                    row[natural_fk.first] = db::Value(*id);
                } else if (f.nullable) {
                    later.fks.push_back(&natural_fk);
                } else {
                    throw FixtureError(
                        *p.source, p.index, p.model, p.pk, f.name,
                        no_row(f.target(), natural_fk.second) +
                            " (a natural key to an object saved later must be in a nullable "
                            "field: it is set at the end of the load, as in Django)");
                }
            }
            if (p.parent_link) {
                std::optional<std::int64_t> id = p.parent_link->id;
                if (p.parent_link->natural) {
                    id = look_up(p, parent_link_name(info), *info.parent, *p.parent_link->natural);
                    if (!id) {
                        throw FixtureError(*p.source, p.index, p.model, p.pk,
                                           parent_link_name(info),
                                           no_row(*info.parent, *p.parent_link->natural) +
                                               " (the parent's object comes first)");
                    }
                }
                row[0] = db::Value(*id);
            }
            const auto instance = info.make();
            if (row[0].is_null() && info.natural_key.of && info.natural_key.lookup) {
                // Django's build_instance: an object without pk whose model has natural keys
                // is the row with its natural key when there is one (updated), else a new row.
                // Its natural_key() sees the values given, in the database being loaded.
                const auto scratch = info.make();
                scratch->state().database = alias;
                for (std::size_t i = 0; i < info.all_fields.size(); ++i) {
                    info.all_fields[i]->set(*scratch, row[i + 1]);
                }
                NaturalKey key{info.natural_key.of(*scratch), "["};
                for (const auto& v : key.values) {
                    key.text += (key.text.size() > 1 ? ", " : "") + db::to_string(v);
                }
                key.text += "]";
                if (const auto id = look_up(p, "", info, key)) {
                    row[0] = db::Value(*id);
                }
            }
            const InitEvent event{&row};
            pre_init.send(info.sender, *instance, event);
            if (!row[0].is_null()) {
                instance->id = row[0].as_integer();
            }
            for (std::size_t i = 0; i < info.all_fields.size(); ++i) {
                info.all_fields[i]->set(*instance, row[i + 1]);
            }
            post_init.send(info.sender, *instance, event);
            save(p, *instance);
            // The keys written: the own fields' (a raw save writes the model's own table only,
            // as Django's: an inherited field given in a child's object is not written), and a
            // child's link to its parent's row.
            key_references(p, row, first_own_index(info));
            if (info.parent != nullptr) {
                references.push_back(
                    {&p, parent_link_name(info), info.parent, *instance->id, false, true});
            }
            for (const auto& entry : p.m2m) {
                if (const auto ids = m2m_ids(p, *entry.first, entry.second)) {
                    set_m2m(p, *instance, *entry.first, *ids);
                } else {
                    later.m2m.push_back(&entry);
                }
            }
            if (!later.fks.empty() || !later.m2m.empty()) {
                later.instance = instance;
                deferred.push_back(std::move(later));
            }
        }
        // Django's save_deferred_fields(): every deferred key must name a row now; the object
        // is saved again (raw) with them, and its deferred many-to-many fields are set.
        for (const Deferred& d : deferred) {
            const Parsed& p = *d.object;
            const ModelInfo& info = *p.info;
            for (const auto* natural_fk : d.fks) {
                const FieldInfo& f = *info.all_fields[natural_fk->first - 1];
                const auto id = look_up(p, f.name, f.target(), natural_fk->second);
                if (!id) {
                    throw FixtureError(*p.source, p.index, p.model, p.pk, f.name,
                                       no_row(f.target(), natural_fk->second));
                }
                f.set(*d.instance, db::Value(*id));
                if (natural_fk->first >= first_own_index(info)) {
                    references.push_back({&p, f.name, &f.target(), *id, false});
                }
            }
            if (!d.fks.empty()) {
                save(p, *d.instance);
            }
            for (const auto* entry : d.m2m) {
                const auto ids = m2m_ids(p, *entry->first, entry->second);
                if (!ids) {
                    const GivenKey* first_missing = nullptr;
                    for (const GivenKey& k : entry->second) {
                        if (first_missing == nullptr && k.natural &&
                            !look_up(p, entry->first->name, entry->first->target(), *k.natural)) {
                            first_missing = &k;
                        }
                    }
                    throw FixtureError(
                        *p.source, p.index, p.model, p.pk, entry->first->name,
                        first_missing == nullptr
                            ? std::string("a natural key names no row")
                            : no_row(entry->first->target(), *first_missing->natural));
                }
                set_m2m(p, *d.instance, *entry->first, *ids);
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
                                detail::quoted(backend, key_column(target)) + " = " +
                                backend.placeholder(1),
                            id)
                     .empty();
            if (!exists) {
                const Parsed& p = *ref.object;
                const std::string missing =
                    fixture_label(target) + " pk=" + std::to_string(ref.target_id);
                throw FixtureError(
                    *p.source, p.index, p.model, p.pk, ref.field,
                    missing + (ref.parent_link    ? " does not exist (the parent row a child's "
                                                    "object needs: give its object too)"
                               : ref.many_to_many ? " does not exist (dangling many-to-many target)"
                                                  : " does not exist (dangling foreign key)"));
            }
            known.insert(ref.target_id);
        }
        // Explicit ids leave PostgreSQL's id generators behind: move them past the largest id
        // (Django's sequence_reset_sql after loaddata). Nothing to do on SQLite. Only the root
        // of a model's parents has a generated id: a child's key is its parent link.
        for (const auto& entry : saved) {
            const ModelInfo* root = entry.first;
            while (root->parent != nullptr)
                root = root->parent;
            if (const auto reset = backend.sequence_reset_sql(root->table, root->pk_column);
                !reset.empty())
                (void)database.query(reset);
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

}  // namespace tocsin
