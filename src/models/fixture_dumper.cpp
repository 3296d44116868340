// dumpdata(): the rows of the installed models written as Django's JSON fixtures.
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

using detail::fixtures::base64_encode;
using detail::fixtures::fixture_label;
using detail::fixtures::format_iso;
using detail::fixtures::json;
using detail::fixtures::lower;
using detail::fixtures::parent_link_name;

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

/// A JSON list of the (JSON) `items` whose "[" is at `level`: one item per line at level + 1
/// when pretty (Python's json.dump layout), "[]" when empty.
std::string json_list(const std::vector<std::string>& items, int indent, int level) {
    if (items.empty()) {
        return "[]";
    }
    const bool pretty = indent > 0;
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i != 0) {
            out += ',';
        }
        if (pretty) {
            newline(out, indent, level + 1);
        } else if (i != 0) {
            out += ' ';
        }
        out += items[i];
    }
    if (pretty) {
        newline(out, indent, level);
    }
    return out + ']';
}

/// Natural keys as dumpdata writes them (Django's --natural-foreign / --natural-primary).
class NaturalKeys {
  public:
    explicit NaturalKeys(const DumpOptions& options) : options_(options) {}

    /// Whether a key to `target` is written as its natural key.
    [[nodiscard]] bool foreign(const ModelInfo& target) const {
        return options_.use_natural_foreign_keys && static_cast<bool>(target.natural_key.of);
    }
    /// Whether an object of `info` is written without its pk.
    [[nodiscard]] bool primary(const ModelInfo& info) const {
        return options_.use_natural_primary_keys && static_cast<bool>(info.natural_key.of);
    }
    /// The natural key of the row `id` of `target` as a JSON list whose "[" is at `level`.
    std::string of(const ModelInfo& target, std::int64_t id, int level) {
        auto [entry, fresh] = cache_.try_emplace(&target);
        auto& keys = entry->second;
        if (fresh) {
            detail::QueryParts q;
            q.info = &target;
            q.database = options_.database;
            for (const auto& row : detail::fetch_rows(q)) {
                const auto instance = target.make();
                detail::load_row(*instance, target, row, options_.database);
                keys.emplace(*instance->id, target.natural_key.of(*instance));
            }
        }
        const auto found = keys.find(id);
        if (found == keys.end()) {
            throw ModelError("dumpdata: " + fixture_label(target) + " pk=" + std::to_string(id) +
                             " does not exist: its natural key cannot be written");
        }
        std::vector<std::string> items;
        FieldInfo part;
        for (std::size_t i = 0; i < found->second.size(); ++i) {
            part.type = target.natural_key.parts[i].type;
            items.push_back(json_value(
                part, found->second[i],
                "the natural key of " + fixture_label(target) + " pk=" + std::to_string(id)));
        }
        return json_list(items, options_.indent, level);
    }

  private:
    const DumpOptions& options_;
    std::map<const ModelInfo*, std::map<std::int64_t, std::vector<db::Value>>> cache_;
};

/// Django's sort_dependencies(allow_cycles=True), used with natural foreign keys: a model comes
/// after the models its natural key is made from (natural_key_dependencies) and after the
/// models with natural keys that it refers to (keys, parents, many-to-many targets); a cycle is
/// broken by taking the last model left over.
std::vector<const ModelInfo*> sort_dependencies(const std::vector<const ModelInfo*>& models) {
    std::vector<std::pair<const ModelInfo*, std::vector<const ModelInfo*>>> pending;
    for (const ModelInfo* m : models) {
        std::vector<const ModelInfo*> deps;
        if (m->natural_key.of) {
            for (const auto& label : m->natural_key.dependencies) {
                const ModelInfo* d = find_model_info(label);
                if (d == nullptr) {
                    throw ModelError("dumpdata: " + m->label() +
                                     "'s natural_key_dependencies name an unknown model: " + label);
                }
                deps.push_back(d);
            }
        }
        const auto add = [&](const ModelInfo& target) {
            if (target.natural_key.of && &target != m) {
                deps.push_back(&target);
            }
        };
        for (const ModelInfo* ancestor : m->ancestors()) {
            add(*ancestor);  // the parent link (Django's _meta.fields holds it)
        }
        for (const FieldInfo* f : m->all_fields) {
            if (f->is_relation) {
                add(f->target());
            }
        }
        for (const auto& relation : m->many_to_many) {
            add(relation.target());
        }
        pending.emplace_back(m, std::move(deps));
    }
    std::reverse(pending.begin(), pending.end());
    std::vector<const ModelInfo*> out;
    const auto placed = [&](const ModelInfo* d) {
        return std::find(models.begin(), models.end(), d) == models.end() ||
               std::find(out.begin(), out.end(), d) != out.end();
    };
    while (!pending.empty()) {
        decltype(pending) skipped;
        bool changed = false;
        while (!pending.empty()) {
            auto entry = std::move(pending.back());
            pending.pop_back();
            if (std::all_of(entry.second.begin(), entry.second.end(), placed)) {
                out.push_back(entry.first);
                changed = true;
            } else {
                skipped.push_back(std::move(entry));
            }
        }
        if (!changed) {
            out.push_back(skipped.back().first);
            skipped.pop_back();
        }
        pending = std::move(skipped);
    }
    return out;
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
/// Natural keys as `natural` says (Django's serializer): no "pk" for a model with a natural key
/// (with --natural-primary, where a child also writes its link to its parent row first), keys
/// and many-to-many targets as natural keys (with --natural-foreign).
void write_object(std::string& out, const ModelInfo& info, const ModelBase& instance,
                  const M2MLists& m2m, int indent, NaturalKeys& natural, bool natural_primary) {
    const bool pretty = indent > 0;
    const std::string label = fixture_label(info);
    const std::string pk = std::to_string(*instance.id);
    const auto key_of = [&](const ModelInfo& target, std::int64_t id, int level) {
        return natural.foreign(target) ? natural.of(target, id, level) : std::to_string(id);
    };
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
    if (!natural.primary(info)) {
        item(1, "pk", pk, false);
    }
    item(1, "fields", "{", false);
    bool first = true;
    if (natural_primary && info.parent != nullptr) {
        item(2, parent_link_name(info), key_of(*info.parent, *instance.id, 2), first);
        first = false;
    }
    for (const auto& f : info.fields) {
        const std::string where = label + " pk=" + pk + ", field '" + f.name + "'";
        const db::Value v = f.get(instance);
        item(2, f.name,
             f.is_relation && !v.is_null() && natural.foreign(f.target())
                 ? natural.of(f.target(), v.as_integer(), 2)
                 : json_value(f, v, where),
             first);
        first = false;
    }
    for (std::size_t i = 0; i < info.many_to_many.size(); ++i) {
        const auto& relation = info.many_to_many[i];
        std::vector<std::string> items;
        if (const auto found = m2m[i].find(*instance.id); found != m2m[i].end()) {
            for (const auto id : found->second) {
                items.push_back(key_of(relation.target(), id, 3));
            }
        }
        item(2, relation.name, json_list(items, indent, 2), first);
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

void dumpdata(std::ostream& out, const DumpOptions& options) {
    out << dumpdata(options);
}

std::string dumpdata(const DumpOptions& options) {
    const bool pretty = options.indent > 0;
    std::string out = "[";
    bool first = true;
    NaturalKeys natural(options);
    auto models = models_to_dump(options.labels);
    if (options.use_natural_foreign_keys) {
        models = sort_dependencies(models);  // as Django's dumpdata does then
    }
    for (const ModelInfo* info : models) {
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
            write_object(out, *info, *instance, m2m, options.indent, natural,
                         options.use_natural_primary_keys);
            first = false;
        }
    }
    out += pretty ? "\n]\n" : "]";
    return out;
}

}  // namespace tocsin
