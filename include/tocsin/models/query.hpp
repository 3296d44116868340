// Queries: typed conditions (`where(&User::username) == "alice"`), QuerySet<T> and Manager<T>.
// No SQL string ever comes from the user: columns come from declared fields, values are bound.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tocsin/db/atomic.hpp"
#include "tocsin/db/error.hpp"
#include "tocsin/db/value.hpp"
#include "tocsin/models/model.hpp"

namespace tocsin {

/// A condition on columns, combined with `&&`, `||` and `!`. Default-constructed = everything.
class Condition {
  public:
    /// The rows of another table a leaf with op "IN SELECT" matches: `column IN (SELECT
    /// select_column FROM table WHERE where_column = values[0])` (a many-to-many relation's rows).
    struct Subselect {
        std::string table;
        std::string select_column;
        std::string where_column;
    };
    /// One comparison: `column op value(s)`. `op` is one of = != < <= > >= IN, IN SELECT.
    struct Leaf {
        std::string column;
        std::string op;
        std::vector<db::Value> values;
        Subselect subselect{};  ///< for "IN SELECT" only
    };

    Condition() = default;
    explicit Condition(Leaf leaf);

    /// True for the condition that matches everything.
    [[nodiscard]] bool empty() const noexcept { return node_ == nullptr; }
    /// Appends the SQL (parameters as `placeholder(n)`) and its values.
    void render(std::string& sql, std::vector<db::Value>& params,
                const std::function<std::string(std::size_t)>& placeholder) const;
    /// The `column = value` terms of a condition made only of `==` joined by `&&` (what
    /// get_or_create copies into a new object); empty otherwise.
    [[nodiscard]] std::vector<std::pair<std::string, db::Value>> equalities() const;

    friend Condition operator&&(const Condition& a, const Condition& b);
    friend Condition operator||(const Condition& a, const Condition& b);
    friend Condition operator!(const Condition& a);

    /// The tree behind a condition (defined in query.cpp).
    struct Node;

  private:
    std::shared_ptr<const Node> node_;
};

/// A column of model `C` (from a member pointer), to build conditions and assignments.
template <class C, class M>
class Column {
  public:
    explicit Column(std::string column) : column_(std::move(column)) {}

    /// `column = v` (`IS NULL` for a null value).
    template <class V>
    Condition operator==(const V& v) const {
        return leaf("=", {value(v)});
    }
    template <class V>
    Condition operator!=(const V& v) const {
        return leaf("!=", {value(v)});
    }
    template <class V>
    Condition operator<(const V& v) const {
        return leaf("<", {value(v)});
    }
    template <class V>
    Condition operator<=(const V& v) const {
        return leaf("<=", {value(v)});
    }
    template <class V>
    Condition operator>(const V& v) const {
        return leaf(">", {value(v)});
    }
    template <class V>
    Condition operator>=(const V& v) const {
        return leaf(">=", {value(v)});
    }
    /// `column IN (…)`; an empty list matches nothing.
    template <class V>
    Condition in(const std::vector<V>& vs) const {
        std::vector<db::Value> values;
        values.reserve(vs.size());
        for (const auto& v : vs) {
            values.push_back(value(v));
        }
        return leaf("IN", std::move(values));
    }
    /// `column IS NULL`.
    [[nodiscard]] Condition is_null() const { return leaf("=", {db::Value{}}); }

    [[nodiscard]] const std::string& column() const noexcept { return column_; }

    /// A value for this column: a related object gives its id.
    template <class V>
    static db::Value value(const V& v) {
        if constexpr (detail::relation_traits<M>::is_relation && std::is_base_of_v<ModelBase, V>) {
            return db::Value(v.id);
        } else if constexpr (detail::relation_traits<M>::is_relation &&
                             detail::relation_traits<V>::is_relation) {
            return db::Value(v.id());
        } else {
            return db::Value(v);
        }
    }

  private:
    Condition leaf(const char* op, std::vector<db::Value> values) const {
        return Condition(Condition::Leaf{column_, op, std::move(values)});
    }
    std::string column_;
};

/// A column of the model that declares `member`: `where(&User::username) == "alice"`.
template <class C, class M>
Column<C, M> where(M C::*member) {
    if constexpr (std::is_same_v<C, ModelBase>) {
        return Column<C, M>("id");
    } else {
        return Column<C, M>(detail::column_of<C>(member));
    }
}

/// One `column = value` of QuerySet::update: `assign(&User::email, "new@example.com")`.
struct Assignment {
    std::string column;
    db::Value value;
};
template <class C, class M, class V>
Assignment assign(M C::*member, const V& value) {
    return Assignment{where(member).column(), Column<C, M>::value(value)};
}

namespace detail {
/// What a query set asks: the model, the database, the condition, the order, the limit.
struct QueryParts {
    const ModelInfo* info = nullptr;
    std::string database = "default";
    Condition condition{};
    std::vector<std::pair<std::string, bool>> order{};  ///< column, descending
    std::optional<std::size_t> limit{};
    /// The caller of the model API, named by the errors of the statements run.
    tocsin::source_location where{};
};
/// `name` as a quoted SQL identifier (names come from declarations, never from input).
std::string quoted(const std::string& name);
/// What a query on `info` reads FROM: its table, or, for a model extending another, its table
/// joined with its ancestors' (a derived table with "id" and every field's column).
std::string from_clause(const ModelInfo& info);
/// The rows ("id" first, then the fields' columns) that `q` selects.
std::vector<db::Row> fetch_rows(const QueryParts& q);
/// How many rows `q` selects.
std::size_t count_rows(const QueryParts& q);
/// UPDATE of the rows `q` selects (no signals); returns how many.
std::int64_t update_rows(const QueryParts& q, const std::vector<Assignment>& assignments);
/// Removes the rows `q` selects through the collector (signals for each).
DeleteResult remove_rows(const QueryParts& q, const void* origin);
/// Fills `instance` from `row`, sending pre_init and post_init.
void load_row(ModelBase& instance, const ModelInfo& info, const db::Row& row,
              std::string_view database);
/// INSERTs every object without signals and sets their ids.
void bulk_insert(std::vector<ModelBase*>& objects, const ModelInfo& info, std::string_view database,
                 tocsin::source_location where = tocsin::source_location::current());
/// Whether an inserted row's id is best read with last_insert_id() rather than RETURNING.
bool cheap_last_insert_id(db::Backend& backend);
/// True when `instance` differs from `info`'s defaults in `field`.
bool differs_from_default(const ModelBase& instance, const FieldInfo& field);
}  // namespace detail

/// A lazy query over model `T` (Django's QuerySet): nothing runs until it is read.
template <class T>
class QuerySet {
  public:
    explicit QuerySet(std::string database = "default") { parts_.database = std::move(database); }

    /// The rows matching `c` as well.
    [[nodiscard]] QuerySet filter(const Condition& c) const { return with(parts_.condition && c); }
    /// The rows not matching `c`.
    [[nodiscard]] QuerySet exclude(const Condition& c) const {
        return with(parts_.condition && !c);
    }
    /// Sorted by `member` too: the first order_by() is the primary key of the sort, each later
    /// one breaks the ties of those before it (ORDER BY in call order).
    template <class C, class M>
    [[nodiscard]] QuerySet order_by(M C::*member, bool descending = false) const {
        QuerySet q = *this;
        q.parts_.order.emplace_back(where(member).column(), descending);
        q.cache_.reset();
        return q;
    }
    /// At most `n` rows.
    [[nodiscard]] QuerySet limit(std::size_t n) const {
        QuerySet q = *this;
        q.parts_.limit = n;
        q.cache_.reset();
        return q;
    }
    /// The same query on another database alias (Django's `using()`).
    [[nodiscard]] QuerySet using_database(std::string alias) const {
        QuerySet q = *this;
        q.parts_.database = std::move(alias);
        q.cache_.reset();
        return q;
    }

    /// Every matching object. Like every method that runs SQL, it takes the caller's location
    /// last (defaulted), which the errors of its statements name.
    [[nodiscard]] std::vector<T> all(
        tocsin::source_location where = tocsin::source_location::current()) const {
        const auto rows = detail::fetch_rows(parts(where));
        std::vector<T> out(rows.size());
        for (std::size_t i = 0; i < rows.size(); ++i) {
            detail::load_row(out[i], T::info(), rows[i], parts_.database);
        }
        return out;
    }
    /// Iterates over every matching object (read once, at the first begin(), then kept).
    [[nodiscard]] auto begin(
        tocsin::source_location where = tocsin::source_location::current()) const {
        return cache(where).begin();
    }
    [[nodiscard]] auto end(
        tocsin::source_location where = tocsin::source_location::current()) const {
        return cache(where).end();
    }

    /// How many rows match.
    [[nodiscard]] std::size_t count(
        tocsin::source_location where = tocsin::source_location::current()) const {
        return detail::count_rows(parts(where));
    }
    /// Whether any row matches (reads no object: no pre_init/post_init, as in Django).
    [[nodiscard]] bool exists(
        tocsin::source_location where = tocsin::source_location::current()) const {
        return !detail::fetch_rows(limit(1).parts(where)).empty();
    }
    /// The first matching object (by id unless ordered), or nullopt.
    [[nodiscard]] std::optional<T> first(
        tocsin::source_location where = tocsin::source_location::current()) const {
        QuerySet q = parts_.order.empty() ? order_by(&ModelBase::id) : *this;
        auto v = q.limit(1).all(where);
        if (v.empty()) {
            return std::nullopt;
        }
        return std::move(v.front());
    }
    /// The one object matching `c`: DoesNotExist or MultipleObjectsReturned otherwise.
    [[nodiscard]] T get(const Condition& c = {},
                        tocsin::source_location where = tocsin::source_location::current()) const {
        auto v = filter(c).limit(21).all(where);
        if (v.empty()) {
            throw DoesNotExist(T::info().model_name);
        }
        if (v.size() > 1) {
            throw MultipleObjectsReturned(T::info().model_name, v.size());
        }
        return std::move(v.front());
    }
    /// UPDATE of every matching row, without signals (as in Django); returns how many.
    std::int64_t update(std::initializer_list<Assignment> assignments,
                        tocsin::source_location where = tocsin::source_location::current()) const {
        return detail::update_rows(parts(where), std::vector<Assignment>(assignments));
    }
    /// Removes every matching object and what they cascade to, with signals; origin = this.
    DeleteResult remove(tocsin::source_location where = tocsin::source_location::current()) const {
        return detail::remove_rows(parts(where), this);
    }

  protected:
    [[nodiscard]] detail::QueryParts parts(tocsin::source_location where = {}) const {
        detail::QueryParts p = parts_;
        p.info = &T::info();
        p.where = where;
        return p;
    }
    [[nodiscard]] const std::string& database() const noexcept { return parts_.database; }

  private:
    [[nodiscard]] QuerySet with(Condition c) const {
        QuerySet q = *this;
        q.parts_.condition = std::move(c);
        q.cache_.reset();
        return q;
    }
    const std::vector<T>& cache(tocsin::source_location where) const {
        if (!cache_) {
            cache_ = std::make_shared<std::vector<T>>(all(where));
        }
        return *cache_;
    }
    detail::QueryParts parts_;
    mutable std::shared_ptr<std::vector<T>> cache_;
};

/// The entry point of a model's queries, plus creation (Django's Manager).
template <class T>
class Manager : public QuerySet<T> {
  public:
    using QuerySet<T>::QuerySet;

    /// Saves `object` as a new row (pre_save/post_save with created = true) and returns it.
    T create(T object, tocsin::source_location where = tocsin::source_location::current()) const {
        object.save({.database = this->database(), .force_insert = true}, where);
        return object;
    }

    /// The object matching `lookup`, or a new one: `defaults`, then the lookup's `==` terms,
    /// saved. Returns it and whether it was created. Races on a unique column are handled as in
    /// Django: the create runs in a savepoint, and an IntegrityError falls back to get().
    std::pair<T, bool> get_or_create(
        const Condition& lookup, T defaults = T{},
        tocsin::source_location where = tocsin::source_location::current()) const {
        try {
            return {this->get(lookup, where), false};
        } catch (const DoesNotExist&) {
        }
        for (const auto& [column, value] : lookup.equalities()) {
            apply(defaults, column, value);
        }
        try {
            T created = atomic(
                this->database(), [&] { return create(std::move(defaults), where); }, where);
            return {std::move(created), true};
        } catch (const db::IntegrityError&) {
            try {
                return {this->get(lookup, where), false};
            } catch (const DoesNotExist&) {
            }
            throw;
        }
    }
    /// get_or_create with the lookup made of the fields of `object` that differ from their
    /// defaults: `Profile::objects().get_or_create({.user = user})`.
    std::pair<T, bool> get_or_create(
        const T& object, tocsin::source_location where = tocsin::source_location::current()) const {
        Condition lookup;
        for (const FieldInfo* f : T::info().all_fields) {
            if (detail::differs_from_default(object, *f)) {
                lookup = lookup && Condition(Condition::Leaf{f->column, "=", {f->get(object)}});
            }
        }
        return get_or_create(lookup, object, where);
    }
    /// Updates the object matching `lookup` with `update` and saves it, or creates one (the
    /// lookup's `==` terms, then `update`). Returns it and whether it was created.
    std::pair<T, bool> update_or_create(
        const Condition& lookup, const std::function<void(T&)>& update,
        tocsin::source_location where = tocsin::source_location::current()) const {
        const AtomicOptions block{.alias = this->database()};
        return db::detail::atomic_at(where, block, [&]() -> std::pair<T, bool> {
            try {
                T found = this->get(lookup, where);
                update(found);
                found.save({.database = this->database()}, where);
                return {std::move(found), false};
            } catch (const DoesNotExist&) {
            }
            T fresh{};
            for (const auto& [column, value] : lookup.equalities()) {
                apply(fresh, column, value);
            }
            update(fresh);
            return {create(std::move(fresh), where), true};
        });
    }
    /// INSERTs every object in one go, without signals (as in Django), and sets their ids.
    void bulk_create(std::vector<T>& objects,
                     tocsin::source_location where = tocsin::source_location::current()) const {
        std::vector<ModelBase*> bases;
        bases.reserve(objects.size());
        for (auto& o : objects) {
            bases.push_back(&o);
        }
        detail::bulk_insert(bases, T::info(), this->database(), where);
    }

  private:
    static void apply(T& object, const std::string& column, const db::Value& value) {
        for (const FieldInfo* f : T::info().all_fields) {
            if (f->column == column) {
                f->set(object, value);
            }
        }
    }
};

template <class T, class Parent>
Manager<T> Model<T, Parent>::objects() {
    return Manager<T>("default");
}

template <class T>
T ForeignKey<T>::get(tocsin::source_location location) const {
    if (!id_) {
        throw ModelError("the foreign key to " + std::string(T::label) + " is NULL");
    }
    return T::objects().get(where(&ModelBase::id) == *id_, location);
}

}  // namespace tocsin
