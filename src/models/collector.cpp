// Removal: Django's deletion Collector — collect the cascade, refuse PROTECT/RESTRICT, then in
// one transaction: every pre_delete (dependents first, ids ascending), the through rows of the
// many-to-many relations of the removed objects (no signal, as Django's fast deletes of
// auto-created models), SET_NULL/SET_DEFAULT updates, then per model the DELETE followed by its
// post_delete (ids descending). Every list of ids is read or written a few hundred ids per
// statement (id_chunks.hpp), inside that transaction.
//
// Fast delete (Django's Collector.can_fast_delete): the rows of a model that no pre_delete /
// post_delete receiver listens to, that extends no model and that no model extends, and that is
// referenced only through DO_NOTHING keys, are removed by a bare `DELETE … WHERE` without being
// read: the whole removal for such a model, or, in a cascade, the rows referencing the removed
// ones (`DELETE … WHERE key IN (…)`, after the pre_delete signals, as Django's fast deletes).
#include <algorithm>
#include <iterator>
#include <map>
#include <set>

#include "id_chunks.hpp"
#include "tocsin/db/database.hpp"
#include "tocsin/models/deletion.hpp"
#include "tocsin/models/query.hpp"

namespace tocsin {

ProtectedError::ProtectedError(std::string message, std::vector<ObjectRef> protected_objects)
    : db::IntegrityError(std::move(message), {.kind = Kind::foreign_key}, {}, 0, {}),
      objects_(std::move(protected_objects)) {}

RestrictedError::RestrictedError(std::string message, std::vector<ObjectRef> restricted_objects)
    : db::IntegrityError(std::move(message), {.kind = Kind::foreign_key}, {}, 0, {}),
      objects_(std::move(restricted_objects)) {}

}  // namespace tocsin

namespace tocsin::detail {

namespace {

/// Django's Collector.can_fast_delete for the rows of `info`: no delete receiver for the model,
/// no parent and no model extending it, no many-to-many relation (its through rows cascade), and
/// every key to it DO_NOTHING. Then removing its rows needs no read: nothing to signal, nothing
/// to cascade.
bool can_fast_delete(const ModelInfo& info) {
    if (info.auto_created || info.parent != nullptr || pre_delete.has_listeners(info.sender) ||
        post_delete.has_listeners(info.sender)) {
        return false;
    }
    // A proxy's rows are its concrete model's: nothing extends it, no relation names it, no key
    // to it acts on removal.
    return related_objects(info)->related.empty();
}

/// The DELETE of the rows of `info` (no parent) whose `column` is one of `ids`, a few hundred
/// ids per statement; returns how many.
std::int64_t fast_delete_in(db::Database& database, const ModelInfo& info,
                            const std::string& column, const std::vector<db::Value>& ids,
                            tocsin::source_location where) {
    return execute_in_chunks(database,
                             "DELETE FROM " + quoted(database.backend(), info.table) + " WHERE " +
                                 quoted(database.backend(), column) + " IN ",
                             {}, ids, where);
}

class Collector {
  public:
    Collector(std::string alias, Origin origin, tocsin::source_location where)
        : alias_(std::move(alias)), origin_(origin), where_(where) {}

    /// A collector that only looks (preview_removal): it reads the rows fast deletes would
    /// remove unread, and records each row that blocks the removal.
    void set_preview() noexcept { preview_ = true; }

    /// Adds `objects` of `info` and everything their removal reaches. `via` names the key the
    /// cascade left the removed model through ("'Book.author'"), empty at the top: a protected
    /// object is reported under it, as Django does.
    /// `with_parents` false (Django's keep_parents, for the removed model only): the rows of
    /// the models it extends stay, and so does what references them.
    void collect(const ModelInfo& info, const std::vector<ModelBase*>& objects,
                 const std::string& via = {}, bool with_parents = true) {
        std::vector<ModelBase*> added;
        auto& mine = data_[&info];
        if (std::find(order_.begin(), order_.end(), &info) == order_.end()) {
            order_.push_back(&info);
        }
        for (ModelBase* o : objects) {
            if (mine.emplace(*o->id, o).second) {
                added.push_back(o);
            }
        }
        if (added.empty()) {
            return;
        }
        // Multi-table inheritance (Django's collect_parents): the parent rows go too. The
        // instance serves as its parent's (a Comment is an Event): receivers for the parent get
        // it as the parent type.
        if (info.parent != nullptr && with_parents) {
            collect(*info.parent, added, via);
        }
        std::vector<db::Value> ids;
        ids.reserve(added.size());
        for (const ModelBase* o : added) {
            ids.emplace_back(*o->id);
        }
        // A proxy's rows are its concrete model's: what references them references that model
        // (related_objects() answers for the concrete model).
        const auto references = related_objects(info);
        for (const RelatedObjects::Related& entry : references->related) {
            const ModelInfo* related = entry.model;
            // The through rows naming a removed object go with it, without signals.
            for (const RelatedObjects::Through& t : entry.through) {
                if (t.as_source) {
                    through_deletes_.push_back(
                        {t.relation->through, t.relation->source_column, ids});
                }
                if (t.as_target) {
                    through_deletes_.push_back(
                        {t.relation->through, t.relation->target_column, ids});
                }
            }
            if (entry.is_child) {
                collect_children(*related, ids, via);
            }
            for (const FieldInfo* reference : entry.keys) {
                const FieldInfo& field = *reference;
                if (field.on_delete == OnDelete::cascade && !preview_ &&
                    can_fast_delete(*related)) {
                    fast_deletes_.push_back({related, field.column, ids});
                    continue;
                }
                const auto rows = rows_where_in(*related, field.column, ids);
                if (rows.empty()) {
                    continue;
                }
                const std::string key =
                    via.empty() ? "'" + related->model_name + "." + field.name + "'" : via;
                switch (field.on_delete) {
                    case OnDelete::cascade:
                        collect(*related, load(*related, rows), key);
                        break;
                    case OnDelete::protect:
                        if (std::find(protected_.begin(), protected_.end(), key) ==
                            protected_.end()) {
                            protected_.push_back(key);
                        }
                        for (const auto& row : rows) {
                            const ObjectRef object{related, row.at(0).as_integer()};
                            if (std::find(protected_rows_.begin(), protected_rows_.end(), object) ==
                                protected_rows_.end()) {
                                protected_rows_.push_back(object);
                            }
                        }
                        break;
                    case OnDelete::restrict:
                        for (const auto& row : rows) {
                            restricted_.push_back({related, &field, row.at(0).as_integer()});
                        }
                        break;
                    case OnDelete::set_null:
                    case OnDelete::set_default: {
                        Update u{related,
                                 &field,
                                 field.on_delete == OnDelete::set_null ? db::Value{}
                                                                       : field.default_value,
                                 {}};
                        for (const auto& row : rows) {
                            u.ids.push_back(row.at(0));
                        }
                        updates_.push_back(std::move(u));
                        break;
                    }
                    case OnDelete::do_nothing:
                        break;
                }
            }
        }
    }

    /// The rows of `child` (a model extending the one removed) whose ids are in `ids`: they go
    /// too, as Django's parent link cascades. Rows collected already are not read again.
    void collect_children(const ModelInfo& child, const std::vector<db::Value>& ids,
                          const std::string& via) {
        const auto mine = data_.find(&child);
        std::vector<db::Value> missing;
        for (const auto& id : ids) {
            if (mine == data_.end() || mine->second.count(id.as_integer()) == 0) {
                missing.push_back(id);
            }
        }
        if (missing.empty()) {
            return;
        }
        const auto rows = rows_where_in(child, "id", missing);
        if (!rows.empty()) {
            collect(child, load(child, rows), via);
        }
    }

    /// Refuses the removal when PROTECT or RESTRICT forbid it (nothing has been removed yet),
    /// with Django's messages: "Cannot delete some instances of model 'Book' because they are
    /// referenced through protected foreign keys: 'Loan.book'."
    void check(const ModelInfo& origin_model) const {
        const auto join = [](const std::vector<std::string>& keys) {
            std::string list;
            for (const auto& k : keys) {
                list += (list.empty() ? "" : ", ") + k;
            }
            return list;
        };
        if (!protected_.empty()) {
            throw ProtectedError("Cannot delete some instances of model '" +
                                     origin_model.model_name +
                                     "' because they are referenced through protected foreign "
                                     "keys: " +
                                     join(protected_) + ".",
                                 protected_rows_);
        }
        std::vector<std::string> keys;
        std::vector<ObjectRef> objects;
        for (const auto& r : restricted_) {
            const auto it = data_.find(r.model);
            if (it != data_.end() && it->second.count(r.id) != 0) {
                continue;  // removed by the same removal
            }
            const std::string key = "'" + r.model->model_name + "." + r.field->name + "'";
            if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
                keys.push_back(key);
            }
            const ObjectRef object{r.model, r.id};
            if (std::find(objects.begin(), objects.end(), object) == objects.end()) {
                objects.push_back(object);
            }
        }
        if (!keys.empty()) {
            throw RestrictedError("Cannot delete some instances of model '" +
                                      origin_model.model_name +
                                      "' because they are referenced through restricted foreign "
                                      "keys: " +
                                      join(keys) + ".",
                                  std::move(objects));
        }
    }

    /// What preview_removal() reports: the collected objects in collection order, the rows that
    /// block the removal, and check()'s message.
    RemovalPreview preview(const ModelInfo& origin_model) const {
        RemovalPreview out;
        for (const ModelInfo* m : order_) {
            const auto it = data_.find(m);
            if (it == data_.end()) {
                continue;
            }
            for (const auto& [id, object] : it->second) {
                out.objects.push_back({m, id});
            }
        }
        out.blocking = protected_rows_;
        for (const auto& r : restricted_) {
            const auto it = data_.find(r.model);
            if (it == data_.end() || it->second.count(r.id) == 0) {
                out.blocking.push_back({r.model, r.id});
            }
        }
        try {
            check(origin_model);
        } catch (const std::exception& e) {
            out.blocked = e.what();
        }
        return out;
    }

    /// Sends the signals and deletes, in one transaction (a savepoint-less block).
    DeleteResult run() {
        const auto models = sorted();
        DeleteResult result;
        const DeleteEvent event{alias_, origin_};
        auto& database = db::connection(alias_, where_);
        db::detail::atomic_at(where_, AtomicOptions{.alias = alias_, .savepoint = false}, [&] {
            for (const ModelInfo* m : models) {
                for (auto& [id, object] : data_[m]) {
                    pre_delete.send(m->sender, *object, event);
                }
            }
            for (const auto& d : through_deletes_) {
                const auto removed = execute_in_chunks(
                    database,
                    "DELETE FROM " + quoted(database.backend(), d.through->table) + " WHERE " +
                        quoted(database.backend(), d.column) + " IN ",
                    {}, d.ids, where_);
                result.total += static_cast<std::size_t>(removed);
                if (removed > 0) {
                    result.per_model[d.through->label()] += static_cast<std::size_t>(removed);
                }
            }
            for (const auto& d : fast_deletes_) {
                const auto removed = fast_delete_in(database, *d.through, d.column, d.ids, where_);
                result.total += static_cast<std::size_t>(removed);
                if (removed > 0) {
                    result.per_model[d.through->label()] += static_cast<std::size_t>(removed);
                }
            }
            for (const auto& u : updates_) {
                std::vector<db::Value> params;
                params.push_back(u.value);
                execute_in_chunks(database,
                                  "UPDATE " + quoted(database.backend(), u.model->table) + " SET " +
                                      quoted(database.backend(), u.field->column) + " = " +
                                      database.backend().placeholder(1) + " WHERE " +
                                      quoted(database.backend(), u.model->pk_column) + " IN ",
                                  params, u.ids, where_);
            }
            for (const ModelInfo* m : models) {
                auto& objects = data_[m];
                std::vector<db::Value> ids;
                ids.reserve(objects.size());
                for (const auto& [id, object] : objects) {
                    ids.emplace_back(id);
                }
                const auto removed = execute_in_chunks(
                    database,
                    "DELETE FROM " + quoted(database.backend(), m->table) + " WHERE " +
                        quoted(database.backend(), m->pk_column) + " IN ",
                    {}, ids, where_);
                result.total += static_cast<std::size_t>(removed);
                if (removed > 0) {
                    result.per_model[m->label()] += static_cast<std::size_t>(removed);
                }
                for (auto it = objects.rbegin(); it != objects.rend(); ++it) {
                    post_delete.send(m->sender, *it->second, event);
                }
            }
        });
        return result;
    }

    /// Clears the id of every collected instance: once the removal's transaction block ended.
    void clear_ids() {
        for (auto& [model, objects] : data_) {
            for (auto& [id, object] : objects) {
                object->id.reset();
            }
        }
    }

    /// Instances built from `rows` (kept alive by the collector).
    std::vector<ModelBase*> load(const ModelInfo& info, const std::vector<db::Row>& rows) {
        std::vector<ModelBase*> out;
        for (const auto& row : rows) {
            owned_.push_back(info.make());
            load_row(*owned_.back(), info, row, alias_);
            out.push_back(owned_.back().get());
        }
        return out;
    }

  private:
    /// The rows of `info` whose `column` is one of `ids`, ordered by id, as one SELECT would
    /// return them: one SELECT per chunk of ids.
    std::vector<db::Row> rows_where_in(const ModelInfo& info, const std::string& column,
                                       const std::vector<db::Value>& ids) const {
        const auto chunks = chunked(ids, id_chunk_size(db::connection(alias_).backend()));
        std::vector<db::Row> rows;
        for (const auto chunk : chunks) {
            QueryParts q;
            q.info = &info;
            q.database = alias_;
            q.condition = column_condition(column, Condition::Op::in,
                                           std::vector<db::Value>(chunk.begin(), chunk.end()));
            q.order = {{"id", false}};
            q.where = where_;
            auto part = fetch_rows(q);
            rows.insert(rows.end(), std::make_move_iterator(part.begin()),
                        std::make_move_iterator(part.end()));
        }
        if (chunks.size() > 1) {
            std::sort(rows.begin(), rows.end(), [](const db::Row& a, const db::Row& b) {
                return a.at(0).as_integer() < b.at(0).as_integer();
            });
        }
        return rows;
    }

    struct Update {
        const ModelInfo* model;
        const FieldInfo* field;
        db::Value value;
        std::vector<db::Value> ids;
    };
    /// Rows of `through` (a through table, or a model fast-deleted) whose `column` is in `ids`.
    struct ThroughDelete {
        const ModelInfo* through;
        std::string column;
        std::vector<db::Value> ids;
    };
    struct Restricted {
        const ModelInfo* model;
        const FieldInfo* field;
        std::int64_t id;
    };

    /// Collected models, those that reference others before the ones they reference (Django's
    /// Collector.sort): passes over the models in collection order, each taking every model
    /// whose dependents are taken already; a model's dependents are the other collected models
    /// that reference it through a non-null CASCADE key or a RESTRICT key. A pass that takes
    /// nothing (a cycle) leaves the collection order.
    std::vector<const ModelInfo*> sorted() const {
        const auto must_go_first = [](const ModelInfo* from, const ModelInfo* to) {
            return from != to &&
                   (from->parent == to ||  // a child row before its parent row
                    std::any_of(from->fields.begin(), from->fields.end(), [&](const FieldInfo& f) {
                        return f.is_relation && &f.target() == to &&
                               ((f.on_delete == OnDelete::cascade && !f.nullable) ||
                                f.on_delete == OnDelete::restrict);
                    }));
        };
        std::vector<const ModelInfo*> out;
        const auto taken = [&](const ModelInfo* m) {
            return std::find(out.begin(), out.end(), m) != out.end();
        };
        while (out.size() < order_.size()) {
            bool found = false;
            for (const ModelInfo* m : order_) {
                if (taken(m) || std::any_of(order_.begin(), order_.end(), [&](const ModelInfo* o) {
                        return !taken(o) && must_go_first(o, m);
                    })) {
                    continue;
                }
                out.push_back(m);
                found = true;
            }
            if (!found) {
                return order_;
            }
        }
        return out;
    }

    std::string alias_;
    Origin origin_;
    tocsin::source_location where_;  // the caller of the model API, named by errors
    std::vector<std::shared_ptr<ModelBase>> owned_;
    std::map<const ModelInfo*, std::map<std::int64_t, ModelBase*>> data_;
    std::vector<const ModelInfo*> order_;
    std::vector<Update> updates_;
    std::vector<ThroughDelete> through_deletes_;
    std::vector<ThroughDelete> fast_deletes_;  ///< rows of a model removed without reading them
    std::vector<std::string> protected_;
    std::vector<Restricted> restricted_;
    bool preview_ = false;
    std::vector<ObjectRef> protected_rows_;  ///< the rows whose PROTECT keys refuse it
};

}  // namespace

DeleteResult remove_instance(ModelBase& instance, const ModelInfo& info, std::string_view alias,
                             bool keep_parents, tocsin::source_location where) {
    Apps::instance().require_installed(info, "removed");
    if (!instance.id) {
        throw ModelError(info.model_name +
                         " object can't be deleted because its id attribute is not set.");
    }
    const std::string database = !alias.empty() ? std::string(alias)
                                 : !instance.state().database.empty()
                                     ? instance.state().database
                                     : std::string(db::default_alias);
    if (can_fast_delete(info)) {
        // Django's "a single object and no dependencies": one DELETE, no transaction block.
        auto& connection = db::connection(database);
        std::vector<db::Value> id;
        id.emplace_back(*instance.id);
        const auto removed = connection.mark_for_rollback_on_error([&] {
            const auto& backend = connection.backend();
            return connection.execute("DELETE FROM " + quoted(backend, info.table) + " WHERE " +
                                          quoted(backend, info.pk_column) + " = " +
                                          backend.placeholder(1),
                                      id, where);
        });
        instance.id.reset();
        DeleteResult result;
        if (removed > 0) {
            result.total = static_cast<std::size_t>(removed);
            result.per_model[info.label()] = result.total;
        }
        return result;
    }
    Collector collector(database, Origin{&instance, nullptr, info.sender}, where);
    DeleteResult result;
    db::detail::atomic_at(where, AtomicOptions{.alias = database, .savepoint = false}, [&] {
        collector.collect(info, {&instance}, {}, /*with_parents=*/!keep_parents);
        collector.check(info);
        result = collector.run();
    });
    collector.clear_ids();
    return result;
}

DeleteResult remove_rows(const QueryParts& deferred_q, const void* origin) {
    QueryParts q = deferred_q;
    q.deferred.clear();  // the collector reads whole rows (only() / defer() do not apply)
    q.lock.reset();      // as Django's delete(): no select_for_update
    if (is_sliced(q)) {
        throw ModelError("Cannot use 'limit' or 'offset' with delete().");
    }
    if (can_fast_delete(*q.info)) {
        // Django's fast delete of a query set: one `DELETE … WHERE <its condition>`, nothing read.
        auto& connection = db::connection(q.database);
        std::vector<db::Value> params;
        std::string sql = "DELETE FROM " + quoted(connection.backend(), q.info->table);
        if (!q.condition.empty()) {
            sql += " WHERE ";
            q.condition.render(sql, params, connection.backend(), *q.info);
        }
        const auto removed = connection.mark_for_rollback_on_error(
            [&] { return connection.execute(sql, params, q.where); });
        DeleteResult result;
        if (removed > 0) {
            result.total = static_cast<std::size_t>(removed);
            result.per_model[q.info->label()] = result.total;
        }
        return result;
    }
    Collector collector(q.database, Origin{nullptr, origin, q.info->sender}, q.where);
    DeleteResult result;
    db::detail::atomic_at(q.where, AtomicOptions{.alias = q.database, .savepoint = false}, [&] {
        const auto objects = collector.load(*q.info, fetch_rows(q));
        if (objects.empty()) {
            return;
        }
        collector.collect(*q.info, objects);
        collector.check(*q.info);
        result = collector.run();
    });
    collector.clear_ids();
    return result;
}

}  // namespace tocsin::detail

namespace tocsin {

RemovalPreview preview_removal(ModelBase& instance, const ModelInfo& info,
                               std::string_view database) {
    Apps::instance().require_installed(info, "removed");
    if (!instance.id) {
        throw ModelError(info.model_name +
                         " object can't be deleted because its id attribute is not set.");
    }
    const std::string alias = !database.empty()                    ? std::string(database)
                              : !instance.state().database.empty() ? instance.state().database
                                                                   : std::string(db::default_alias);
    detail::Collector collector(alias, Origin{&instance, nullptr, info.sender},
                                tocsin::source_location::current());
    collector.set_preview();
    collector.collect(info, {&instance});
    return collector.preview(info);
}

}  // namespace tocsin
