// save() and refresh_from_db(): Django's save_base order, with the model signals.
#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <memory>
#include <new>
#include <set>
#include <span>
#include <vector>

#include "tocsin/db/database.hpp"
#include "tocsin/db/error.hpp"
#include "tocsin/models/query.hpp"

namespace tocsin::detail {

// The key of one of the model's save-plan statements (db::StatementCache::hold()), given on
// its first save; a race of two threads keeps one key (the other is never used).
std::size_t save_plan_key(const ModelInfo& model, bool update) {
    std::atomic<std::size_t>& slot = model.save_plan_keys_[update ? 1 : 0];
    std::size_t key = slot.load(std::memory_order_relaxed);
    if (key == 0) [[unlikely]] {
        const std::size_t fresh = db::StatementCache::new_held_key() + 1;
        if (slot.compare_exchange_strong(key, fresh, std::memory_order_relaxed)) {
            key = fresh;
        }
    }
    return key - 1;
}

namespace {
/// `UPDATE <table> SET <col> = ?1, ... WHERE "id" = ?n` over the fields `update_fields` names
/// (all when nullopt); empty when no field is set.
std::string update_sql(const ModelInfo& info, const db::Backend& backend,
                       const std::optional<std::set<std::string>>& update_fields) {
    std::string sets;
    std::size_t n = 0;
    for (const auto& f : info.fields) {
        if (update_fields && update_fields->count(f.name) == 0) {
            continue;
        }
        ++n;
        sets += (n == 1 ? "" : ", ") + quoted(backend, f.column) + " = " + backend.placeholder(n);
    }
    if (n == 0) {
        return {};
    }
    return "UPDATE " + quoted(backend, info.table) + " SET " + sets + " WHERE " +
           quoted(backend, info.pk_column) + " = " + backend.placeholder(n + 1);
}

/// `INSERT INTO <table> (["id", ]<every column>) VALUES (?1, ...)`, with `RETURNING "id"` when
/// `returning`.
std::string insert_sql(const ModelInfo& info, const db::Backend& backend, bool with_id,
                       bool returning) {
    std::string columns;
    std::string values;
    std::size_t n = 0;
    if (with_id) {
        ++n;
        columns = quoted(backend, info.pk_column);
        values = backend.placeholder(1);
    }
    for (const auto& f : info.fields) {
        ++n;
        columns += (n == 1 ? "" : ", ") + quoted(backend, f.column);
        values += (n == 1 ? "" : ", ") + backend.placeholder(n);
    }
    std::string sql =
        "INSERT INTO " + quoted(backend, info.table) +
        (columns.empty() ? " DEFAULT VALUES" : " (" + columns + ") VALUES (" + values + ")");
    if (returning) {
        sql += " RETURNING " + quoted(backend, info.pk_column);
    }
    return sql;
}

/// Resets a statement of the save plan when the write is done (or failed), keeping its
/// bindings: every parameter is bound again before the next run.
class Rearm {
  public:
    explicit Rearm(db::Statement& statement) noexcept : statement_(statement) {}
    ~Rearm() { statement_.reset_for_rebinding(); }
    Rearm(const Rearm&) = delete;
    Rearm& operator=(const Rearm&) = delete;

  private:
    db::Statement& statement_;
};

/// The parameters of one write: views of an instance's fields (text and blobs borrowed from the
/// instance, other values converted into scratch values), with room for 16 on the stack. The
/// stack's views and scratch values are constructed only as they are used (a save is the hot
/// path: no zeroing of unused slots).
class WriteParams {
  public:
    explicit WriteParams(std::size_t capacity) {
        if (capacity > inline_capacity) {
            heap_views_.resize(capacity);
            heap_scratch_.resize(capacity);
            views_ = heap_views_.data();
            scratch_ = heap_scratch_.data();
        }
    }
    ~WriteParams() {
        if (scratch_ != heap_scratch_.data()) {
            std::destroy_n(scratch_, built_);
        }
    }
    WriteParams(const WriteParams&) = delete;
    WriteParams& operator=(const WriteParams&) = delete;

    /// Adds every own field of @p instance (of model @p info or of one extending it), in one
    /// call of the model's view_fields when it has one. A NaN is refused as add_field() does.
    void add_fields(const ModelBase& instance, const ModelInfo& info,
                    tocsin::source_location where) {
        if (info.view_fields != nullptr) [[likely]] {
            const std::size_t nan_at = info.view_fields(instance, views_ + size_);
            if (nan_at != info.fields.size()) [[unlikely]] {
                refuse_nan(info, info.fields[nan_at], where);
            }
            size_ += info.fields.size();  // the views are trivially destructible
            return;
        }
        for (const auto& f : info.fields) {
            add_field(f, instance, info, where);
        }
    }
    /// Adds field @p f of @p instance (a field of @p info). A NaN is refused with a DataError
    /// naming the model, the field and the value: SQLite stores NaN as NULL, so it would fail
    /// as "NOT NULL constraint failed", or come back as a missing value.
    void add_field(const FieldInfo& f, const ModelBase& instance, const ModelInfo& info,
                   tocsin::source_location where) {
        db::Value& scratch = scratch_at(size_);
        // The view is made in its slot (no copy: a copy of the just-returned view stalled on
        // store forwarding, the hottest spot of a save); counted once checked.
        void* slot = views_ + size_;
        const db::ValueRef& view = f.view ? *::new (slot) db::ValueRef(f.view(instance, scratch))
                                          : *::new (slot) db::ValueRef(scratch = f.get(instance));
        if (view.type() == db::ValueType::real && std::isnan(std::get<double>(view.storage())))
            [[unlikely]] {
            refuse_nan(info, f, where);
        }
        ++size_;  // the slot's view is trivially destructible: a refused one is just not counted
    }
    /// Adds an integer (the id).
    void add(std::int64_t v) noexcept { put(db::ValueRef(v)); }
    void clear() noexcept { size_ = 0; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    [[nodiscard]] std::span<const db::ValueRef> views() const noexcept { return {views_, size_}; }

  private:
    [[noreturn]] static void refuse_nan(const ModelInfo& info, const FieldInfo& f,
                                        tocsin::source_location where) {
        throw db::DataError("cannot save " + info.label() + "." + f.name +
                                " = NaN: SQLite stores NaN as NULL, which would fail as "
                                "\"NOT NULL constraint failed\" or come back as a missing "
                                "value (store a number, or make the field a std::optional "
                                "and leave it empty)",
                            where);
    }
    static constexpr std::size_t inline_capacity = 16;
    template <class T>
    struct alignas(T) Raw {
        std::byte bytes[sizeof(T)];
    };

    void put(db::ValueRef view) noexcept {
        ::new (static_cast<void*>(views_ + size_)) db::ValueRef(view);  // trivially destructible
        ++size_;
    }
    db::Value& scratch_at(std::size_t i) {
        if (scratch_ == heap_scratch_.data()) {
            return scratch_[i];
        }
        while (built_ <= i) {
            ::new (static_cast<void*>(&inline_scratch_[built_])) db::Value();
            ++built_;
        }
        return scratch_[i];
    }

    std::array<Raw<db::ValueRef>, inline_capacity> inline_views_;  // the first size_ are put
    std::array<Raw<db::Value>, inline_capacity> inline_scratch_;   // the first built_ are built
    std::vector<db::ValueRef> heap_views_;
    std::vector<db::Value> heap_scratch_;
    db::ValueRef* views_ = reinterpret_cast<db::ValueRef*>(inline_views_.data());
    db::Value* scratch_ = reinterpret_cast<db::Value*>(inline_scratch_.data());
    std::size_t built_ = 0;
    std::size_t size_ = 0;
};

/// Binds @p params to @p insert (an INSERT of `info`'s table), runs it and sets the instance's
/// id: from RETURNING when @p returning, else from the backend's last_insert_id().
void insert_row(db::Statement& insert, ModelBase& instance, const ModelInfo& info,
                const WriteParams& params, bool returning, db::Backend& backend,
                tocsin::source_location where) {
    insert.bind_views(params.views(), where);  // the instance and params outlive the run
    if (!returning) {
        insert.run(where);
        instance.id = backend.last_insert_id();
        return;
    }
    if (!insert.step(where)) {
        throw db::DatabaseError("INSERT INTO " + info.table + " returned no id", where);
    }
    instance.id = insert.column(0).as_integer();
    while (insert.step(where)) {
    }
}

/// UPDATE then INSERT (or INSERT only) of `info`'s own table; returns whether a row was
/// inserted. `info` may be an ancestor of the instance's model (then its part of the instance).
bool write_table(ModelBase& instance, const ModelInfo& info, bool force_insert,
                 const std::optional<std::set<std::string>>& update_fields, db::Database& database,
                 tocsin::source_location where) {
    auto& backend = database.backend(where);
    const bool returning = !cheap_last_insert_id(backend);
    WriteParams params(info.fields.size() + 1);
    if (instance.id && !force_insert) {
        if (update_fields) {
            for (const auto& f : info.fields) {
                if (update_fields->count(f.name) != 0) {
                    params.add_field(f, instance, info, where);
                }
            }
        } else {
            params.add_fields(instance, info, where);
        }
        if (params.empty() && update_fields) {
            return false;  // a parent table none of the update_fields is in: nothing to write
        }
        std::int64_t matched = 0;
        if (params.empty()) {  // nothing to set: does the row exist?
            std::vector<db::Value> id;
            id.emplace_back(*instance.id);
            matched = static_cast<std::int64_t>(
                database
                    .query("SELECT 1 FROM " + quoted(backend, info.table) + " WHERE " +
                               quoted(backend, info.pk_column) + " = " + backend.placeholder(1),
                           id, where)
                    .size());
        } else {
            params.add(*instance.id);
            if (update_fields) {
                matched = database.execute(update_sql(info, backend, update_fields), params.views(),
                                           where);
            } else {  // the plan's UPDATE of every field
                db::Statement& update = database.held_statement(
                    save_plan_key(info, /*update=*/true),
                    [&] { return update_sql(info, backend, std::nullopt); }, where);
                const Rearm rearm(update);
                update.bind_views(params.views(), where);  // the instance outlives the run
                matched = update.run(where);
            }
        }
        if (matched > 0) {
            return false;
        }
        if (update_fields) {
            throw db::DatabaseError("Save with update_fields did not affect any rows (" +
                                        info.label() + " id " + std::to_string(*instance.id) + ")",
                                    where);
        }
        params.clear();
    }
    if (instance.id) {
        params.add(*instance.id);
    }
    params.add_fields(instance, info, where);
    if (instance.id) {  // an explicit id: SQL of its own, from the statement cache
        auto statement = database.scoped_statement(
            insert_sql(info, backend, /*with_id=*/true, returning), where);
        insert_row(*statement, instance, info, params, returning, backend, where);
        return true;
    }
    // The plan's INSERT of a new row.
    db::Statement& insert = database.held_statement(
        save_plan_key(info, /*update=*/false),
        [&] { return insert_sql(info, backend, /*with_id=*/false, returning); }, where);
    const Rearm rearm(insert);
    insert_row(insert, instance, info, params, returning, backend, where);
    return true;
}

/// Writes every table of the model: the root's first (its INSERT gives the id), then each
/// descendant's down to the model's own, as Django's _save_parents; a table below an inserted
/// one is inserted too. Returns whether the model's own row was inserted.
/// The tables are written in one transaction (a block without savepoint), as Django's
/// save_base does for a model with parents: an error leaves none of them written. A raw save
/// (a fixture) writes the model's own table only, as Django's.
bool write(ModelBase& instance, const ModelInfo& info, bool force_insert, bool raw,
           const std::optional<std::set<std::string>>& update_fields, db::Database& database,
           std::string_view alias, tocsin::source_location where) {
    // Django's save_base(raw=True) skips _save_parents: a fixture lists the parent's row as an
    // object of its own, and a child's object holds only the child's fields.
    if (info.parent == nullptr || raw) {
        return write_table(instance, info, force_insert, update_fields, database, where);
    }
    auto chain = info.ancestors();
    std::reverse(chain.begin(), chain.end());
    chain.push_back(&info);
    const auto id_before = instance.id;
    try {
        return db::detail::atomic_at(where, AtomicOptions{.alias = alias, .savepoint = false}, [&] {
            bool inserted = false;
            for (const ModelInfo* m : chain) {
                inserted = write_table(instance, *m, force_insert || inserted, update_fields,
                                       database, where);
            }
            return inserted;
        });
    } catch (...) {
        instance.id = id_before;  // the parent's INSERT was rolled back
        throw;
    }
}

/// The snapshot after a save: the values saved, over the previous snapshot's when only some
/// fields were saved (null when only some were saved and there was no snapshot).
std::shared_ptr<const FieldSnapshot> snapshot_after_save(
    const ModelBase& instance, const ModelInfo& info, const FieldSnapshot* before,
    const std::optional<std::set<std::string>>& update_fields) {
    if (!update_fields) {
        return take_snapshot(instance, info);
    }
    if (before == nullptr) {
        return nullptr;
    }
    auto after = std::make_shared<FieldSnapshot>(*before);
    for (std::size_t i = 0; i < info.all_fields.size(); ++i) {
        if (update_fields->count(info.all_fields[i]->name) != 0) {
            after->values[i] = info.all_fields[i]->get(instance);
        }
    }
    return after;
}
}  // namespace

namespace {
/// save() once its options are checked: `database_option` is save()'s alias ("" = the
/// instance's, else "default"), `update_fields` the names to write (nullopt = every field).
void save_checked(ModelBase& instance, const ModelInfo& info, std::string_view database_option,
                  bool force_insert, bool raw, std::optional<std::set<std::string>> update_fields,
                  tocsin::source_location where);
}  // namespace

void save_instance(ModelBase& instance, const ModelInfo& info, const SaveOptions& options,
                   tocsin::source_location where) {
    Apps::instance().require_installed(info, "saved");
    std::optional<std::set<std::string>> update_fields;
    if (!options.update_fields && !instance.state().deferred.empty() && !options.force_insert &&
        instance.id &&
        (options.database.empty() || options.database == instance.state().database)) {
        // Django: an instance loaded with deferred fields saves the loaded fields only.
        const auto& deferred = instance.state().deferred;
        std::vector<std::string> loaded;
        for (const FieldInfo* f : info.all_fields) {
            if (std::find(deferred.begin(), deferred.end(), f->name) == deferred.end()) {
                loaded.push_back(f->name);
            }
        }
        if (!loaded.empty()) {
            SaveOptions automatic = options;
            automatic.update_fields = std::move(loaded);
            save_instance(instance, info, automatic);
            return;
        }
    }
    if (options.update_fields) {
        if (options.update_fields->empty()) {
            return;  // Django: nothing to save, no query and no signal
        }
        if (options.force_insert) {
            throw ModelError("Cannot force an update in save() with no primary key (" +
                             info.label() + ": force_insert with update_fields).");
        }
        update_fields.emplace();
        std::string unknown;
        for (const auto& name : *options.update_fields) {
            if (info.field(name) == nullptr) {
                unknown += (unknown.empty() ? "" : ", ") + name;
            }
            update_fields->insert(name);
        }
        if (!unknown.empty()) {
            throw ModelError("The following fields do not exist in this model (" + info.label() +
                             "), are m2m fields, or are non-concrete fields: " + unknown);
        }
        if (!instance.id) {
            throw ModelError("Cannot save " + info.label() +
                             " with update_fields: it has no id yet (never saved).");
        }
    }
    save_checked(instance, info, options.database, options.force_insert, options.raw,
                 std::move(update_fields), where);
}

void create_instance(ModelBase& instance, const ModelInfo& info, std::string_view alias,
                     tocsin::source_location where) {
    Apps::instance().require_installed(info, "saved");
    save_checked(instance, info, alias, /*force_insert=*/true, /*raw=*/false, std::nullopt, where);
}

namespace {
void save_checked(ModelBase& instance, const ModelInfo& info, std::string_view database_option,
                  bool force_insert, bool raw, std::optional<std::set<std::string>> update_fields,
                  tocsin::source_location where) {
    // The alias: save()'s option, else the instance's own database (a copy: receivers may
    // change the instance's state), else "default".
    std::string own_database;
    std::string_view alias = db::default_alias;
    if (!database_option.empty()) {
        alias = database_option;
    } else if (!instance.state().database.empty()) {
        own_database = instance.state().database;
        alias = own_database;
    }
    // The event owns the field names; the save reads them from it.
    SaveEvent event{false, raw, alias, std::move(update_fields)};
    // Changed fields, for the models a receiver tracks: the snapshot before this save stays
    // alive (and is what changes() compares with) until post_save returned.
    std::shared_ptr<const FieldSnapshot> before;
    std::optional<SaveChanges> changes;  // built only when tracked (no zeroing on the hot path)
    const bool tracked = info.tracks_changes();
    if (tracked) [[unlikely]] {
        before = SnapshotAccess::get(instance);
        if (before && before->model != &info) {
            before.reset();  // taken as another model (an ancestor): not comparable
        }
        changes.emplace(SaveChanges{&instance, &info, before.get(), &event.update_fields});
        event.tracking = &*changes;
    }
    pre_save.send(info.sender, instance, event);
    auto& database = db::connection(alias, where);
    event.created = database.mark_for_rollback_on_error([&] {
        return write(instance, info, force_insert, raw, event.update_fields, database, alias,
                     where);
    });
    instance.state().adding = false;
    if (instance.state().database != alias) {
        instance.state().database = database.alias();  // the same text, copied without a replace
    }
    if (tracked) [[unlikely]] {
        SnapshotAccess::set(instance,
                            snapshot_after_save(instance, info, before.get(), event.update_fields));
    }
    post_save.send(info.sender, instance, event);
}
}  // namespace

void refresh_instance(ModelBase& instance, const ModelInfo& info,
                      const std::vector<std::string>* fields, tocsin::source_location where) {
    if (!instance.id) {
        throw ModelError("Cannot refresh " + info.label() + " from the database: it has no id.");
    }
    QueryParts q;
    q.info = &info;
    q.database = instance.state().database.empty() ? std::string(db::default_alias)
                                                   : instance.state().database;
    q.condition = column_condition("id", Condition::Op::eq, {db::Value(*instance.id)});
    q.where = where;
    if (fields == nullptr) {
        q.deferred = instance.state().deferred;  // Django: the deferred fields stay deferred
        const auto rows = fetch_rows(q);
        if (rows.empty()) {
            throw DoesNotExist(info.model_name);
        }
        const std::vector<std::string> deferred = q.deferred;
        load_row(instance, info, rows.front(), q.database, deferred);
        return;
    }
    std::string unknown;
    for (const auto& name : *fields) {
        if (info.field(name) == nullptr) {
            unknown += (unknown.empty() ? "" : ", ") + name;
        }
    }
    if (!unknown.empty()) {
        throw ModelError("refresh_from_db: " + info.label() + " has no field " + unknown + ".");
    }
    if (fields->empty()) {
        return;
    }
    std::vector<const FieldInfo*> named;
    for (const FieldInfo* f : info.all_fields) {
        if (std::find(fields->begin(), fields->end(), f->name) == fields->end()) {
            q.deferred.push_back(f->name);
        } else {
            named.push_back(f);
        }
    }
    const auto rows = fetch_rows(q);
    if (rows.empty()) {
        throw DoesNotExist(info.model_name);
    }
    auto& deferred = instance.state().deferred;
    for (std::size_t i = 0; i < named.size(); ++i) {
        named[i]->set(instance, rows.front().at(i + 1));
        std::erase(deferred, named[i]->name);
    }
}

// On SQLite last_insert_id() reads a field of the connection (sqlite3_last_insert_rowid; the id
// column is the rowid), while RETURNING makes every INSERT open, fill and close an ephemeral
// table (about 5x the cost of the INSERT itself for a small row). Backends without RETURNING
// have only last_insert_id().
bool cheap_last_insert_id(db::Backend& backend) {
    const db::Features& features = backend.features();
    return !features.supports_returning || features.prefers_last_insert_id;
}

}  // namespace tocsin::detail
