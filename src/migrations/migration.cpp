#include "tocsin/migrations/migration.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <string>

#include "tocsin/migrations/errors.hpp"

namespace tocsin::migrations {

namespace {

using Json = nlohmann::ordered_json;

constexpr int format_version = 1;

constexpr std::array<std::pair<OnDelete, const char*>, 6> on_delete_names{{
    {OnDelete::cascade, "cascade"},
    {OnDelete::protect, "protect"},
    {OnDelete::restrict, "restrict"},
    {OnDelete::set_null, "set_null"},
    {OnDelete::set_default, "set_default"},
    {OnDelete::do_nothing, "do_nothing"},
}};

constexpr std::array<std::pair<db::LogicalType, const char*>, 6> type_names{{
    {db::LogicalType::integer, "integer"},
    {db::LogicalType::real, "real"},
    {db::LogicalType::text, "text"},
    {db::LogicalType::boolean, "boolean"},
    {db::LogicalType::timestamp, "timestamp"},
    {db::LogicalType::blob, "blob"},
}};

std::string hex(const db::Blob& blob) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const std::byte b : blob) {
        out += digits[std::to_integer<unsigned>(b) >> 4U];
        out += digits[std::to_integer<unsigned>(b) & 15U];
    }
    return out;
}

Json value_json(const db::Value& v, db::LogicalType type) {
    if (v.is_null()) {
        return nullptr;
    }
    switch (type) {
        case db::LogicalType::boolean:
            return v.as_integer() != 0;
        case db::LogicalType::integer:
        case db::LogicalType::timestamp:
            return v.as_integer();
        case db::LogicalType::real:
            return v.as_real();
        case db::LogicalType::text:
            return v.as_text();
        case db::LogicalType::blob:
            return hex(v.as_blob());
    }
    return nullptr;
}

Json field_json(const FieldState& f) {
    Json j{{"name", f.name}, {"column", f.column}};
    for (const auto& [t, n] : type_names) {
        if (t == f.type) {
            j["type"] = n;
        }
    }
    j["null"] = f.null;
    j["unique"] = f.unique;
    j["db_index"] = f.db_index;
    j["default"] = value_json(f.default_value, f.type);
    if (!f.to.empty()) {
        j["to"] = f.to;
        for (const auto& [d, n] : on_delete_names) {
            if (d == f.on_delete) {
                j["on_delete"] = n;
            }
        }
        j["one_to_one"] = f.one_to_one;
    }
    return j;
}

Json indexes_json(const std::vector<IndexState>& list) {
    Json out = Json::array();
    for (const auto& i : list) {
        out.push_back(Json{{"name", i.name}, {"fields", i.fields}});
    }
    return out;
}

Json operation_json(const Operation& op) {
    Json j{{"op", operation_name(op)}};
    if (const auto* o1 = std::get_if<CreateModel>(&op)) {
        const auto& m = o1->model;
        j["name"] = m.name;
        j["table"] = m.table;
        if (m.pk_column != "id") {
            j["pk_column"] = m.pk_column;
        }
        if (!m.parent.empty()) {
            j["parent"] = m.parent;
        }
        if (m.auto_created) {
            j["auto_created"] = true;
        }
        Json fields = Json::array();
        for (const auto& f : m.fields) {
            fields.push_back(field_json(f));
        }
        j["fields"] = std::move(fields);
        if (!m.unique_together.empty()) {
            j["unique_together"] = m.unique_together;
        }
        if (!m.indexes.empty()) {
            j["indexes"] = indexes_json(m.indexes);
        }
        if (!m.constraints.empty()) {
            j["constraints"] = indexes_json(m.constraints);
        }
    } else if (const auto* o2 = std::get_if<DeleteModel>(&op)) {
        j["name"] = o2->model;
    } else if (const auto* o3 = std::get_if<AddField>(&op)) {
        j["model"] = o3->model;
        j["field"] = field_json(o3->field);
        if (o3->one_off_default) {
            j["one_off_default"] = value_json(*o3->one_off_default, o3->field.type);
        }
    } else if (const auto* o4 = std::get_if<RemoveField>(&op)) {
        j["model"] = o4->model;
        j["name"] = o4->name;
    } else if (const auto* o5 = std::get_if<AlterField>(&op)) {
        j["model"] = o5->model;
        j["field"] = field_json(o5->field);
        if (o5->one_off_default) {
            j["one_off_default"] = value_json(*o5->one_off_default, o5->field.type);
        }
    } else if (const auto* o6 = std::get_if<RenameField>(&op)) {
        j["model"] = o6->model;
        j["old_name"] = o6->old_name;
        j["new_name"] = o6->new_name;
    } else if (const auto* o7 = std::get_if<AddIndex>(&op)) {
        j["model"] = o7->model;
        j["index"] = indexes_json({o7->index})[0];
    } else if (const auto* o8 = std::get_if<RemoveIndex>(&op)) {
        j["model"] = o8->model;
        j["name"] = o8->name;
    } else if (const auto* o9 = std::get_if<AddConstraint>(&op)) {
        j["model"] = o9->model;
        j["constraint"] = indexes_json({o9->constraint})[0];
    } else if (const auto* o10 = std::get_if<RemoveConstraint>(&op)) {
        j["model"] = o10->model;
        j["name"] = o10->name;
    } else if (const auto* o11 = std::get_if<RunPython>(&op)) {
        j["code"] = o11->code;
        j["reverse_code"] = o11->reverse;
    }
    return j;
}

// ------------------------------------------------------------------------------ reading

/// Reads JSON values, naming the file and the place in errors.
class Reader {
  public:
    explicit Reader(std::string_view source) : source_(source) {}

    [[noreturn]] void fail(const std::string& where, const std::string& what) const {
        throw MigrationError("migration '" + source_ + "', " + where + ": " + what);
    }
    const Json& member(const Json& j, const char* key, const std::string& where) const {
        if (!j.is_object() || !j.contains(key)) {
            fail(where, std::string("missing \"") + key + "\"");
        }
        return j.at(key);
    }
    std::string text(const Json& j, const char* key, const std::string& where) const {
        const auto& v = member(j, key, where);
        if (!v.is_string()) {
            fail(where, std::string("\"") + key + "\" must be a string");
        }
        return v.get<std::string>();
    }
    std::string text_or(const Json& j, const char* key, const std::string& fallback,
                        const std::string& where) const {
        return j.contains(key) ? text(j, key, where) : fallback;
    }
    bool flag(const Json& j, const char* key, const std::string& where) const {
        if (!j.contains(key)) {
            return false;
        }
        if (!j.at(key).is_boolean()) {
            fail(where, std::string("\"") + key + "\" must be true or false");
        }
        return j.at(key).get<bool>();
    }
    std::vector<std::string> names(const Json& j, const std::string& where) const {
        if (!j.is_array()) {
            fail(where, "expected a list of names");
        }
        std::vector<std::string> out;
        for (const auto& n : j) {
            if (!n.is_string()) {
                fail(where, "expected a list of names");
            }
            out.push_back(n.get<std::string>());
        }
        return out;
    }

    db::Value default_value(const Json& v, db::LogicalType type, const std::string& where) const {
        if (v.is_null()) {
            return {};
        }
        switch (type) {
            case db::LogicalType::boolean:
                if (v.is_boolean()) {
                    return std::int64_t{v.get<bool>() ? 1 : 0};
                }
                break;
            case db::LogicalType::integer:
            case db::LogicalType::timestamp:
                if (v.is_number_integer()) {
                    return v.get<std::int64_t>();
                }
                break;
            case db::LogicalType::real:
                if (v.is_number()) {
                    return v.get<double>();
                }
                break;
            case db::LogicalType::text:
                if (v.is_string()) {
                    return v.get<std::string>();
                }
                break;
            case db::LogicalType::blob:
                if (v.is_string() && v.get_ref<const std::string&>().size() % 2 == 0 &&
                    std::all_of(v.get_ref<const std::string&>().begin(),
                                v.get_ref<const std::string&>().end(), [](char c) {
                                    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
                                })) {
                    db::Blob blob;
                    const auto s = v.get<std::string>();
                    for (std::size_t i = 0; i < s.size(); i += 2) {
                        blob.push_back(
                            static_cast<std::byte>(std::stoi(s.substr(i, 2), nullptr, 16)));
                    }
                    return blob;
                }
                break;
        }
        fail(where, "\"default\" " + v.dump() + " does not fit the type " +
                        std::string(db::to_string(type)));
    }

    FieldState field(const Json& j, const std::string& where) const {
        FieldState f;
        f.name = text(j, "name", where);
        const std::string at = where + ", field '" + f.name + "'";
        f.column = text_or(j, "column", f.name, at);
        const auto type = text(j, "type", at);
        bool known = false;
        for (const auto& [t, n] : type_names) {
            if (type == n) {
                f.type = t;
                known = true;
            }
        }
        if (!known) {
            fail(at, "unknown type \"" + type + "\"");
        }
        f.null = flag(j, "null", at);
        f.unique = flag(j, "unique", at);
        f.db_index = flag(j, "db_index", at);
        if (j.contains("default")) {
            f.default_value = default_value(j.at("default"), f.type, at);
        }
        if (j.contains("to")) {
            f.to = text(j, "to", at);
            const auto on_delete = text_or(j, "on_delete", "cascade", at);
            known = false;
            for (const auto& [d, n] : on_delete_names) {
                if (on_delete == n) {
                    f.on_delete = d;
                    known = true;
                }
            }
            if (!known) {
                fail(at, "unknown on_delete \"" + on_delete + "\"");
            }
            f.one_to_one = flag(j, "one_to_one", at);
        }
        return f;
    }

    std::vector<IndexState> indexes(const Json& j, const std::string& where) const {
        std::vector<IndexState> out;
        if (!j.is_array()) {
            fail(where, "expected a list of indexes");
        }
        for (const auto& i : j) {
            out.push_back(index(i, where));
        }
        return out;
    }
    IndexState index(const Json& j, const std::string& where) const {
        return IndexState{text(j, "name", where), names(member(j, "fields", where), where)};
    }

    Operation operation(const Json& j, const std::string& app, const std::string& where) const {
        const auto op = text(j, "op", where);
        const std::string at = where + " (" + op + ")";
        if (op == "CreateModel") {
            ModelState m;
            m.app_label = app;
            m.name = text(j, "name", at);
            m.table = text(j, "table", at);
            m.pk_column = text_or(j, "pk_column", "id", at);
            m.parent = text_or(j, "parent", "", at);
            m.auto_created = flag(j, "auto_created", at);
            const auto& fields = member(j, "fields", at);
            if (!fields.is_array()) {
                fail(at, "\"fields\" must be a list");
            }
            for (const auto& f : fields) {
                m.fields.push_back(field(f, at));
            }
            if (j.contains("unique_together")) {
                for (const auto& u : j.at("unique_together")) {
                    m.unique_together.push_back(names(u, at));
                }
            }
            if (j.contains("indexes")) {
                m.indexes = indexes(j.at("indexes"), at);
            }
            if (j.contains("constraints")) {
                m.constraints = indexes(j.at("constraints"), at);
            }
            return CreateModel{std::move(m)};
        }
        if (op == "DeleteModel") {
            return DeleteModel{text(j, "name", at)};
        }
        if (op == "AddField" || op == "AlterField") {
            const auto f = field(member(j, "field", at), at);
            std::optional<db::Value> one_off;
            if (j.contains("one_off_default")) {
                one_off = default_value(j.at("one_off_default"), f.type, at);
            }
            if (op == "AddField") {
                return AddField{text(j, "model", at), f, one_off};
            }
            return AlterField{text(j, "model", at), f, one_off};
        }
        if (op == "RemoveField") {
            return RemoveField{text(j, "model", at), text(j, "name", at)};
        }
        if (op == "RenameField") {
            return RenameField{text(j, "model", at), text(j, "old_name", at),
                               text(j, "new_name", at)};
        }
        if (op == "AddIndex") {
            return AddIndex{text(j, "model", at), index(member(j, "index", at), at)};
        }
        if (op == "RemoveIndex") {
            return RemoveIndex{text(j, "model", at), text(j, "name", at)};
        }
        if (op == "AddConstraint") {
            return AddConstraint{text(j, "model", at), index(member(j, "constraint", at), at)};
        }
        if (op == "RemoveConstraint") {
            return RemoveConstraint{text(j, "model", at), text(j, "name", at)};
        }
        if (op == "RunPython") {
            return RunPython{text(j, "code", at), text_or(j, "reverse_code", "", at)};
        }
        fail(where, "unknown operation \"" + op + "\"");
    }

  private:
    std::string source_;
};

}  // namespace

std::string to_json(const Migration& migration) {
    Json deps = Json::array();
    for (const auto& [app, name] : migration.dependencies) {
        deps.push_back(Json::array({app, name}));
    }
    Json ops = Json::array();
    for (const auto& op : migration.operations) {
        ops.push_back(operation_json(op));
    }
    Json j{{"tocsin_migration", format_version},
           {"app", migration.app},
           {"name", migration.name},
           {"initial", migration.initial},
           {"dependencies", std::move(deps)},
           {"operations", std::move(ops)}};
    return j.dump(2) + "\n";
}

Migration parse_migration(std::string_view json, std::string_view source) {
    const Reader r(source);
    Json j;
    try {
        j = Json::parse(json);
    } catch (const nlohmann::json::parse_error& e) {
        throw MigrationError("migration '" + std::string(source) +
                             "' is not valid JSON: " + e.what());
    }
    if (!j.is_object()) {
        r.fail("the top level", "expected an object");
    }
    const auto& version = r.member(j, "tocsin_migration", "the top level");
    if (!version.is_number_integer() || version.get<int>() != format_version) {
        r.fail("\"tocsin_migration\"", "unsupported format version " + version.dump() +
                                           " (this tocsin reads " + std::to_string(format_version) +
                                           ")");
    }
    Migration m;
    m.app = r.text(j, "app", "the top level");
    m.name = r.text(j, "name", "the top level");
    m.initial = r.flag(j, "initial", "the top level");
    const auto& deps = r.member(j, "dependencies", "the top level");
    if (!deps.is_array()) {
        r.fail("\"dependencies\"", "expected a list of [app, name] pairs");
    }
    for (const auto& d : deps) {
        const auto pair = r.names(d, "\"dependencies\"");
        if (pair.size() != 2) {
            r.fail("\"dependencies\"", "expected a list of [app, name] pairs");
        }
        m.dependencies.emplace_back(pair[0], pair[1]);
    }
    const auto& ops = r.member(j, "operations", "the top level");
    if (!ops.is_array()) {
        r.fail("\"operations\"", "expected a list");
    }
    for (std::size_t i = 0; i < ops.size(); ++i) {
        m.operations.push_back(r.operation(ops[i], m.app, "operation " + std::to_string(i)));
    }
    return m;
}

}  // namespace tocsin::migrations
