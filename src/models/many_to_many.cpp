// Many-to-many relations: the auto-created through model of each relation, and the related
// managers' writes with their m2m_changed sends, in the order Django's ManyRelatedManager uses.
#include "tocsin/models/many_to_many.hpp"

#include <algorithm>
#include <cctype>

#include "id_chunks.hpp"
#include "tocsin/db/database.hpp"

namespace tocsin {

std::string_view to_string(M2MAction action) noexcept {
    switch (action) {
        case M2MAction::pre_add:
            return "pre_add";
        case M2MAction::post_add:
            return "post_add";
        case M2MAction::pre_remove:
            return "pre_remove";
        case M2MAction::post_remove:
            return "post_remove";
        case M2MAction::pre_clear:
            return "pre_clear";
        case M2MAction::post_clear:
            return "post_clear";
    }
    return "unknown";
}

namespace detail {

namespace {

/// One row of a through table, as the generic code sees it.
struct ThroughRow : ModelBase {
    db::Value source;
    db::Value target;
};

/// A through model's description, with the tag that makes it a sender named by its label.
struct ThroughInfo : ModelInfo {
    std::string sender_name;
    TypeTag tag;
};

std::string lower(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (const char c : s) {
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

/// A key of the through model to `target`: NOT NULL, removed with the row it names.
FieldInfo through_key(const std::string& name, const ModelInfo& (*target)(),
                      db::Value ThroughRow::*slot) {
    FieldInfo f;
    f.name = name;
    f.column = name + "_id";
    f.type = db::LogicalType::integer;
    f.is_relation = true;
    f.on_delete = OnDelete::cascade;
    f.target = target;
    const detail::ErasedMember member(static_cast<db::Value ModelBase::*>(slot));
    f.get = {
        [](const detail::ErasedMember& m, const ModelBase& row) { return row.*m.get<db::Value>(); },
        member};
    f.set = {[](const detail::ErasedMember& m, ModelBase& row, const db::Value& v) {
                 row.*m.get<db::Value>() = v;
             },
             member};
    return f;
}

/// Django's repr of an unsaved instance: "<Group: Group object (None)>".
std::string unsaved_repr(const ModelInfo& model) {
    return "<" + model.model_name + ": " + model.model_name + " object (None)>";
}

/// The ids of `items`; an unsaved object throws Django's ValueError text for `verb`.
std::set<std::int64_t> ids_of(const M2MSide& side, const std::vector<M2MItem>& items,
                              std::string_view verb) {
    std::set<std::int64_t> ids;
    for (const auto& item : items) {
        if (!item) {
            throw ModelError("Cannot " + std::string(verb) + " \"" + unsaved_repr(*side.model) +
                             "\": the value for field \"" + side.target_field + "\" is None");
        }
        ids.insert(*item);
    }
    return ids;
}

void send(const M2MSide& side, M2MAction action, const std::optional<std::set<std::int64_t>>& ids) {
    M2MChangedEvent event;
    event.action = action;
    event.reverse = side.reverse;
    event.model = side.model;
    event.pk_set = ids;
    event.database = side.database;
    // The observer sees the instance whose relation changes, of its own model (not the sender).
    const Sender& instance_model =
        side.reverse ? side.relation->target().sender : side.relation->owner->sender;
    detail::send_about(instance_model, *side.instance, [&] {
        m2m_changed.send(side.relation->through->sender, *side.instance, event);
    });
}

/// Runs @p fn in a savepoint-less atomic block on the side's database; its errors name the
/// side's caller.
template <class F>
void in_block(const M2MSide& side, F&& fn) {
    db::detail::atomic_at(side.where, AtomicOptions{.alias = side.database, .savepoint = false},
                          std::forward<F>(fn));
}

/// Django's _add_items: relates `side`'s instance (in `source`) to every item (in `target`).
/// `primary` is false for the mirror rows of a symmetrical relation, which send nothing.
void add_items(const M2MSide& side, const std::string& source, const std::string& target,
               const std::vector<M2MItem>& items, bool primary) {
    const std::set<std::int64_t> ids = ids_of(side, items, "add");
    auto& database = db::connection(side.database);
    const auto& through = *side.relation->through;
    const std::string insert = "INSERT INTO " + quoted(database.backend(), through.table) + " (" +
                               quoted(database.backend(), source) + ", " +
                               quoted(database.backend(), target) + ") VALUES (" +
                               database.backend().placeholder(1) + ", " +
                               database.backend().placeholder(2) + ") ON CONFLICT DO NOTHING";
    const auto insert_all = [&](const std::set<std::int64_t>& targets) {
        for (const auto id : targets) {
            std::vector<db::Value> params;
            params.emplace_back(side.instance_id);
            params.emplace_back(id);
            database.execute(insert, std::span<const db::Value>(params), side.where);
        }
    };
    const bool must_send = primary && m2m_changed.has_listeners(through.sender);
    if (!must_send) {
        // Nobody listens: insert, ignoring the pairs already there (Django's fast add).
        insert_all(ids);
        return;
    }
    std::set<std::int64_t> missing = ids;
    const std::vector<std::int64_t> list(ids.begin(), ids.end());
    for (const auto chunk : chunked(list, id_chunk_size(database.backend(), 1))) {
        std::vector<db::Value> params;
        params.emplace_back(side.instance_id);
        const std::string sql = "SELECT " + quoted(database.backend(), target) + " FROM " +
                                quoted(database.backend(), through.table) + " WHERE " +
                                quoted(database.backend(), source) + " = " +
                                database.backend().placeholder(1) + " AND " +
                                quoted(database.backend(), target) + " IN " +
                                in_list(chunk, params, database.backend());
        for (const auto& row :
             database.query(sql, std::span<const db::Value>(params), side.where)) {
            missing.erase(row.at(0).as_integer());
        }
    }
    in_block(side, [&] {
        send(side, M2MAction::pre_add, missing);
        insert_all(missing);
        send(side, M2MAction::post_add, missing);
    });
}

/// The ids currently related to `side`'s instance.
std::set<std::int64_t> current_ids(const M2MSide& side) {
    auto& database = db::connection(side.database);
    std::vector<db::Value> params;
    params.emplace_back(side.instance_id);
    const std::string sql = "SELECT " + quoted(database.backend(), side.target_column) + " FROM " +
                            quoted(database.backend(), side.relation->through->table) + " WHERE " +
                            quoted(database.backend(), side.source_column) + " = " +
                            database.backend().placeholder(1);
    std::set<std::int64_t> ids;
    for (const auto& row : database.query(sql, std::span<const db::Value>(params), side.where)) {
        ids.insert(row.at(0).as_integer());
    }
    return ids;
}

}  // namespace

ManyToManyInfo describe_many_to_many(const ModelInfo& owner, std::string_view name,
                                     const ModelInfo& (*owner_info)(),
                                     std::string_view target_label, const ModelInfo& (*target)(),
                                     std::optional<bool> symmetrical, std::string_view db_table) {
    const auto [target_app, target_model] = apps::split_label(target_label);
    const bool to_self = target_app == owner.app_label && target_model == owner.model_name;
    ManyToManyInfo relation;
    relation.name = std::string(name);
    relation.owner = &owner;
    relation.target = target;
    relation.symmetrical = to_self && symmetrical.value_or(true);
    // Django's through field names: "user" and "group", or "from_person" and "to_person".
    std::string from = lower(owner.model_name);
    std::string to = lower(target_model);
    if (to_self) {
        from = "from_" + from;
        to = "to_" + to;
    }
    relation.source_column = from + "_id";
    relation.target_column = to + "_id";

    auto* through = new ThroughInfo;  // lives as long as the program, as every description
    through->app_label = owner.app_label;
    through->model_name = owner.model_name + "_" + relation.name;
    through->table = db_table.empty() ? owner.table + "_" + relation.name : std::string(db_table);
    through->auto_created = true;
    through->sender_name = through->label();
    through->tag = TypeTag{through->sender_name};
    through->sender = Sender::of_runtime_type(through->tag);
    through->fields.push_back(through_key(from, owner_info, &ThroughRow::source));
    through->fields.push_back(through_key(to, target, &ThroughRow::target));
    through->unique_together.push_back({relation.source_column, relation.target_column});
    through->make = [] { return std::shared_ptr<ModelBase>(std::make_shared<ThroughRow>()); };
    relation.through = through;
    return relation;
}

M2MSide m2m_side(ModelBase& instance, const ModelInfo& instance_model,
                 const ManyToManyInfo& relation, bool reverse, tocsin::source_location where) {
    if (!instance.id) {
        throw ModelError("\"" + unsaved_repr(instance_model) +
                         "\" needs to have a value for field \"id\" before this many-to-many "
                         "relationship can be used.");
    }
    if (reverse && relation.symmetrical) {
        throw ModelError("'" + relation.owner->model_name + "." + relation.name +
                         "' is a symmetrical many-to-many relation: it has no reverse side "
                         "(use related())");
    }
    M2MSide side;
    side.relation = &relation;
    side.instance = &instance;
    side.instance_id = *instance.id;
    side.reverse = reverse;
    const auto& through = *relation.through;
    if (reverse) {
        side.model = relation.owner;
        side.source_column = relation.target_column;
        side.target_column = relation.source_column;
        side.target_field = through.fields.at(0).name;
    } else {
        side.model = &relation.target();
        side.source_column = relation.source_column;
        side.target_column = relation.target_column;
        side.target_field = through.fields.at(1).name;
    }
    side.database = instance.state().database.empty() ? std::string(db::default_alias)
                                                      : instance.state().database;
    side.where = where;
    return side;
}

void m2m_add(const M2MSide& side, const std::vector<M2MItem>& items) {
    if (items.empty()) {
        return;
    }
    in_block(side, [&] {
        add_items(side, side.source_column, side.target_column, items, true);
        if (side.relation->symmetrical) {
            // The mirror rows, without signals.
            add_items(side, side.target_column, side.source_column, items, false);
        }
    });
}

void m2m_remove(const M2MSide& side, const std::vector<M2MItem>& items) {
    if (items.empty()) {
        return;
    }
    const std::set<std::int64_t> ids = ids_of(side, items, "remove");
    auto& database = db::connection(side.database);
    const std::string table = quoted(database.backend(), side.relation->through->table);
    const std::string source = quoted(database.backend(), side.source_column);
    const std::string target = quoted(database.backend(), side.target_column);
    in_block(side, [&] {
        send(side, M2MAction::pre_remove, ids);
        const bool both_ways = side.relation->symmetrical;
        const std::vector<std::int64_t> list(ids.begin(), ids.end());
        for (const auto chunk :
             chunked(list, id_chunk_size(database.backend(), 1, both_ways ? 2 : 1))) {
            std::vector<db::Value> params;
            params.emplace_back(side.instance_id);
            const std::string me = database.backend().placeholder(1);
            std::string sql = "DELETE FROM " + table + " WHERE (" + source + " = " + me + " AND " +
                              target + " IN " + in_list(chunk, params, database.backend()) + ")";
            if (both_ways) {
                sql += " OR (" + target + " = " + me + " AND " + source + " IN " +
                       in_list(chunk, params, database.backend()) + ")";
            }
            database.execute(sql, std::span<const db::Value>(params), side.where);
        }
        send(side, M2MAction::post_remove, ids);
    });
}

void m2m_clear(const M2MSide& side) {
    auto& database = db::connection(side.database);
    in_block(side, [&] {
        send(side, M2MAction::pre_clear, std::nullopt);
        std::vector<db::Value> params;
        params.emplace_back(side.instance_id);
        const std::string me = database.backend().placeholder(1);
        std::string sql = "DELETE FROM " +
                          quoted(database.backend(), side.relation->through->table) + " WHERE " +
                          quoted(database.backend(), side.source_column) + " = " + me;
        if (side.relation->symmetrical) {
            sql += " OR " + quoted(database.backend(), side.target_column) + " = " + me;
        }
        database.execute(sql, std::span<const db::Value>(params), side.where);
        send(side, M2MAction::post_clear, std::nullopt);
    });
}

void m2m_set(const M2MSide& side, const std::vector<M2MItem>& items, const M2MSetOptions& options) {
    in_block(side, [&] {
        if (options.clear) {
            m2m_clear(side);
            m2m_add(side, items);
            return;
        }
        std::set<std::int64_t> old_ids = current_ids(side);
        std::vector<M2MItem> new_items;
        for (const auto& item : items) {
            if (item && old_ids.erase(*item) > 0) {
                continue;
            }
            new_items.push_back(item);
        }
        m2m_remove(side, std::vector<M2MItem>(old_ids.begin(), old_ids.end()));
        m2m_add(side, new_items);
    });
}

bool m2m_contains(const M2MSide& side, std::int64_t id) {
    auto& database = db::connection(side.database);
    std::vector<db::Value> params;
    params.emplace_back(side.instance_id);
    params.emplace_back(id);
    const std::string sql =
        "SELECT 1 FROM " + quoted(database.backend(), side.relation->through->table) + " WHERE " +
        quoted(database.backend(), side.source_column) + " = " + database.backend().placeholder(1) +
        " AND " + quoted(database.backend(), side.target_column) + " = " +
        database.backend().placeholder(2) + " LIMIT 1";
    return !database.query(sql, std::span<const db::Value>(params), side.where).empty();
}

Condition m2m_condition(const M2MSide& side) {
    return ConditionAccess::subselect(
        "id", Subselect{side.relation->through->table, side.target_column, side.source_column},
        db::Value(side.instance_id));
}

}  // namespace detail
}  // namespace tocsin
