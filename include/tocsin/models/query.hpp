// Queries: typed conditions (`where(&User::username) == "alice"`), QuerySet<T> and Manager<T>.
// No SQL string ever comes from the user: columns come from declared fields, values are bound.
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "tocsin/db/atomic.hpp"
#include "tocsin/db/backend.hpp"
#include "tocsin/db/default_alias.hpp"
#include "tocsin/db/error.hpp"
#include "tocsin/db/value.hpp"
#include "tocsin/models/errors.hpp"
#include "tocsin/models/model.hpp"

namespace tocsin {

namespace detail {
struct ConditionAccess;
}

/// A condition on columns, combined with `&&`, `||` and `!`. Default-constructed = everything.
///
/// A condition holds no SQL text of the caller's: its comparison is an Op (each renders to a
/// fixed SQL form), its column comes from a declared field (`where(&User::username)`), is
/// checked against the queried model and quoted by the backend, and its values are bound
/// parameters. The only way to put SQL text in a query is raw_sql(), named for it.
class Condition {
  public:
    /// What a leaf of a condition compares (Django's lookups).
    enum class Op : std::uint8_t {
        eq,            ///< `= v` (`IS NULL` for a null value)
        ne,            ///< `!= v` (`IS NOT NULL` for a null value)
        lt,            ///< `< v`
        le,            ///< `<= v`
        gt,            ///< `> v`
        ge,            ///< `>= v`
        in,            ///< `IN (v…)`; an empty list matches nothing
        range,         ///< `BETWEEN a AND b` (both included)
        is_null,       ///< `IS NULL`
        is_not_null,   ///< `IS NOT NULL`
        iexact,        ///< equal ignoring case (ASCII letters on SQLite)
        contains,      ///< holds the text v (case-sensitive)
        icontains,     ///< holds the text v, ignoring case (ASCII letters on SQLite)
        startswith,    ///< begins with v (case-sensitive)
        istartswith,   ///< begins with v, ignoring case
        endswith,      ///< ends with v (case-sensitive)
        iendswith,     ///< ends with v, ignoring case
        in_subselect,  ///< among the rows of a many-to-many relation (internal)
        raw,           ///< SQL text given to raw_sql()
    };

    Condition() = default;

    /// True for the condition that matches everything.
    [[nodiscard]] bool empty() const noexcept { return node_ == nullptr; }
    /// Appends the SQL of the condition on a query of `model` (parameters as
    /// `backend.placeholder(n)`, identifiers through `backend.quote_name`) and its values.
    /// Throws ModelError when a column is not one of `model`'s (own or inherited) fields.
    void render(std::string& sql, std::vector<db::Value>& params, const db::Backend& backend,
                const ModelInfo& model) const;
    /// The `column = value` terms of a condition made only of `==` joined by `&&` (what
    /// get_or_create copies into a new object); empty otherwise.
    [[nodiscard]] std::vector<std::pair<std::string, db::Value>> equalities() const;

    friend Condition operator&&(const Condition& a, const Condition& b);
    friend Condition operator||(const Condition& a, const Condition& b);
    friend Condition operator!(const Condition& a);

    /// The tree behind a condition (defined in query.cpp).
    struct Node;

  private:
    friend struct detail::ConditionAccess;
    std::shared_ptr<const Node> node_;
};

/// SQL text written by the caller, as a condition (Django's `RawSQL` / `extra(where=…)`):
/// `filter(tocsin::raw_sql("lower(\"username\") = ?", {db::Value("bob")}))`.
///
/// The text goes into the query as it is, in parentheses: what it does is the caller's
/// responsibility. Never build it from input; pass every value as a parameter. Each `?` outside
/// quotes ('…', "…", […], `…`) and comments is a parameter, bound to `params` in order (never
/// written into the text). Throws ModelError when the number of `?` differs from
/// `params.size()`, or for a numbered or named placeholder (`?1`, `:name`, `@name`, `$name`).
/// Under `!` / `exclude()` it is negated as written (no NULL handling is added).
[[nodiscard]] Condition raw_sql(std::string_view sql, std::vector<db::Value> params = {});

namespace detail {
/// The rows of another table an Op::in_subselect leaf matches: `column IN (SELECT
/// select_column FROM table WHERE where_column = value)` (a many-to-many relation's rows).
struct Subselect {
    std::string table;
    std::string select_column;
    std::string where_column;
};
/// The model layer's way to build conditions on a declared column (a field's column or "id"),
/// never on text from input: the column is checked against the queried model and quoted by the
/// backend when the query runs.
struct ConditionAccess {
    static Condition leaf(std::string column, Condition::Op op, std::vector<db::Value> values);
    static Condition subselect(std::string column, Subselect subselect, db::Value value);
    static Condition from_node(std::shared_ptr<const Condition::Node> node);
};
/// `column op values` (see ConditionAccess).
inline Condition column_condition(std::string column, Condition::Op op,
                                  std::vector<db::Value> values) {
    return ConditionAccess::leaf(std::move(column), op, std::move(values));
}
/// Throws ModelError "Cannot use None as a query value" (Django's ValueError) for a lookup
/// other than ==, != and iexact given a null value.
void refuse_null(const db::Value& value);
/// The names of `fields` not in `kept` (only()'s deferred fields), in order.
[[nodiscard]] std::vector<std::string> names_except(const std::vector<const FieldInfo*>& fields,
                                                    const std::vector<std::string>& kept);
/// Appends `name` to `names` unless it is there already (defer()).
void add_unique(std::vector<std::string>& names, std::string name);
}  // namespace detail

/// A column of model `C` (from a member pointer), to build conditions and assignments.
template <class C, class M>
class Column {
  public:
    using Op = Condition::Op;
    explicit Column(std::string column) : column_(std::move(column)) {}

    /// `column = v` (`IS NULL` for a null value).
    template <class V>
    Condition operator==(const V& v) const {
        return leaf(Op::eq, {value(v)});
    }
    /// `column != v` (`IS NOT NULL` for a null value).
    template <class V>
    Condition operator!=(const V& v) const {
        return leaf(Op::ne, {value(v)});
    }
    template <class V>
    Condition operator<(const V& v) const {
        return compare(Op::lt, v);
    }
    template <class V>
    Condition operator<=(const V& v) const {
        return compare(Op::le, v);
    }
    template <class V>
    Condition operator>(const V& v) const {
        return compare(Op::gt, v);
    }
    template <class V>
    Condition operator>=(const V& v) const {
        return compare(Op::ge, v);
    }
    /// Django's `exact`: the same as `==`.
    template <class V>
    [[nodiscard]] Condition exact(const V& v) const {
        return *this == v;
    }
    /// Django's `gt`, `gte`, `lt`, `lte`: the same as `>`, `>=`, `<`, `<=`. A null value throws
    /// ModelError ("Cannot use None as a query value"), as Django does.
    template <class V>
    [[nodiscard]] Condition gt(const V& v) const {
        return compare(Op::gt, v);
    }
    template <class V>
    [[nodiscard]] Condition gte(const V& v) const {
        return compare(Op::ge, v);
    }
    template <class V>
    [[nodiscard]] Condition lt(const V& v) const {
        return compare(Op::lt, v);
    }
    template <class V>
    [[nodiscard]] Condition lte(const V& v) const {
        return compare(Op::le, v);
    }
    /// `column BETWEEN low AND high` (Django's `range`: both ends included).
    template <class V, class W>
    [[nodiscard]] Condition range(const V& low, const W& high) const {
        db::Value a = value(low);
        db::Value b = value(high);
        detail::refuse_null(a);
        detail::refuse_null(b);
        return leaf(Op::range, {std::move(a), std::move(b)});
    }
    /// `column IN (…)`; an empty list matches nothing. Null values are left out (NULL is never
    /// equal to anything), as Django does.
    template <class V>
    [[nodiscard]] Condition in(const std::vector<V>& vs) const {
        std::vector<db::Value> values;
        values.reserve(vs.size());
        for (const auto& v : vs) {
            db::Value x = value(v);
            if (!x.is_null()) {
                values.push_back(std::move(x));
            }
        }
        return leaf(Op::in, std::move(values));
    }
    /// Django's `in`: the same as in(); also takes a braced list, `in_({1, 2})`.
    template <class V>
    [[nodiscard]] Condition in_(const std::vector<V>& vs) const {
        return in(vs);
    }
    template <class V>
    [[nodiscard]] Condition in_(std::initializer_list<V> vs) const {
        return in(std::vector<V>(vs));
    }
    /// `column IS NULL`.
    [[nodiscard]] Condition is_null() const { return leaf(Op::is_null, {}); }
    /// Django's `isnull`: `IS NULL` when `null`, else `IS NOT NULL`.
    [[nodiscard]] Condition isnull(bool null) const {
        return leaf(null ? Op::is_null : Op::is_not_null, {});
    }
    /// Equal to `text` ignoring case (Django's `iexact`; `%`, `_` and `\` match literally). On
    /// SQLite only ASCII letters are folded, as with Django on SQLite.
    [[nodiscard]] Condition iexact(std::string_view text) const {
        return pattern(Op::iexact, text);
    }
    /// Holds `text` (Django's `contains`), case-sensitively on every backend; `%`, `_` and `\`
    /// match themselves. The `i` forms ignore case (ASCII letters on SQLite).
    [[nodiscard]] Condition contains(std::string_view text) const {
        return pattern(Op::contains, text);
    }
    [[nodiscard]] Condition icontains(std::string_view text) const {
        return pattern(Op::icontains, text);
    }
    /// Begins with `text` (Django's `startswith`), case-sensitively; `istartswith` ignores case.
    [[nodiscard]] Condition startswith(std::string_view text) const {
        return pattern(Op::startswith, text);
    }
    [[nodiscard]] Condition istartswith(std::string_view text) const {
        return pattern(Op::istartswith, text);
    }
    /// Ends with `text` (Django's `endswith`), case-sensitively; `iendswith` ignores case.
    [[nodiscard]] Condition endswith(std::string_view text) const {
        return pattern(Op::endswith, text);
    }
    [[nodiscard]] Condition iendswith(std::string_view text) const {
        return pattern(Op::iendswith, text);
    }

    /// The declared column this refers to.
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
    Condition leaf(Op op, std::vector<db::Value> values) const {
        return detail::column_condition(column_, op, std::move(values));
    }
    template <class V>
    Condition compare(Op op, const V& v) const {
        db::Value x = value(v);
        detail::refuse_null(x);
        return leaf(op, {std::move(x)});
    }
    Condition pattern(Op op, std::string_view text) const {
        return leaf(op, {db::Value(std::string(text))});
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

/// One `column = value` of QuerySet::update, made by assign() from a declared field:
/// `assign(&User::email, "new@example.com")` (no column is ever named by a string).
class Assignment {
  public:
    /// The declared column assigned.
    [[nodiscard]] const std::string& column() const noexcept { return column_; }
    /// The value assigned (bound as a parameter).
    [[nodiscard]] const db::Value& value() const noexcept { return value_; }

  private:
    template <class C, class M, class V>
    friend Assignment assign(M C::*member, const V& value);
    Assignment(std::string column, db::Value value)
        : column_(std::move(column)), value_(std::move(value)) {}
    std::string column_;
    db::Value value_;
};
/// `member = value` for QuerySet::update().
template <class C, class M, class V>
Assignment assign(M C::*member, const V& value) {
    return Assignment{where(member).column(), Column<C, M>::value(value)};
}

/// How QuerySet::select_for_update() locks the rows it reads (Django's arguments):
/// `qs.select_for_update({.nowait = true})`.
struct SelectForUpdate {
    /// Fail at once with an OperationalError ("... the row is locked by another transaction")
    /// instead of waiting for a row another transaction has locked.
    bool nowait = false;
    /// Leave out the rows another transaction has locked instead of waiting for them. Not with
    /// nowait (ModelError).
    bool skip_locked = false;
    /// Which tables to lock, by Django's names: "self" (the model's table) and, for a model
    /// extending another, its parent links ("event_ptr", "event_ptr__base_ptr"). Empty: every
    /// table read. tocsin reads a model extending another through one derived table, so naming
    /// any of them locks the rows of the model and of its ancestors. Another name is a
    /// ModelError listing the choices.
    std::vector<std::string> of{};
    /// FOR NO KEY UPDATE: a weaker lock that still lets other transactions insert rows
    /// referencing the locked ones (PostgreSQL).
    bool no_key = false;
};

namespace detail {
/// Checks select_for_update()'s options for `model`: nowait with skip_locked, or an `of` name
/// that is not one of the model's choices, throws ModelError with Django's message.
void check_select_for_update(const ModelInfo& model, const SelectForUpdate& options);

/// What a query set asks: the model, the database, the condition, the order, the slice.
struct QueryParts {
    const ModelInfo* info = nullptr;
    std::string database{db::default_alias};
    Condition condition{};
    std::vector<std::pair<std::string, bool>> order{};  ///< column, descending
    std::optional<std::size_t> limit{};                 ///< at most this many rows (LIMIT)
    std::size_t offset = 0;                             ///< after skipping this many (OFFSET)
    /// The fields not read (only() / defer()), by name; empty: every field.
    std::vector<std::string> deferred{};
    /// select_for_update(): lock the rows read until the transaction ends.
    std::optional<SelectForUpdate> lock{};
    /// The caller of the model API, named by the errors of the statements run.
    tocsin::source_location where{};
};
/// True once a slice was taken (a limit or an offset): the query can no longer be filtered,
/// reordered, updated or removed, as in Django.
[[nodiscard]] inline bool is_sliced(const QueryParts& q) noexcept {
    return q.limit.has_value() || q.offset != 0;
}
/// Narrows `q`'s slice as Django's Query.set_limits(low, high) for `qs[low:high]`: `low` (start)
/// and `high` (stop, excluded) are positions counted from the slice's start, and never reach
/// past its end (`qs[2:][0:2]` is rows 2 and 3).
void set_limits(QueryParts& q, std::optional<std::uint64_t> low, std::optional<std::uint64_t> high);
[[noreturn]] void throw_negative_index();
/// A slice bound as a count; a negative one throws ModelError "Negative indexing is not
/// supported." (Django's ValueError).
template <std::integral N>
[[nodiscard]] std::uint64_t slice_bound(N n) {
    if constexpr (std::is_signed_v<N>) {
        if (n < 0) {
            throw_negative_index();
        }
    }
    return static_cast<std::uint64_t>(n);
}
/// The query's " LIMIT n OFFSET m" ("" when not sliced), in `backend`'s syntax: an offset alone
/// gets the backend's no-limit value first where it needs one (SQLite's LIMIT -1).
std::string limit_clause(const QueryParts& q, const db::Backend& backend);
/// `name` as a quoted SQL identifier: the one way the model layer writes a table or column name
/// (Backend::quote_name, which doubles `"`).
std::string quoted(const db::Backend& backend, std::string_view name);
/// What a query on `info` reads FROM: its table, or, for a model extending another, its table
/// joined with its ancestors' (a derived table with "id" and every field's column).
std::string from_clause(const ModelInfo& info, const db::Backend& backend);
/// The rows ("id" first, then the fields' columns) that `q` selects.
std::vector<db::Row> fetch_rows(const QueryParts& q);
/// How many rows `q` selects.
std::size_t count_rows(const QueryParts& q);
/// UPDATE of the rows `q` selects (no signals); returns how many.
std::int64_t update_rows(const QueryParts& q, const std::vector<Assignment>& assignments);
/// Removes the rows `q` selects through the collector (signals for each).
DeleteResult remove_rows(const QueryParts& q, const void* origin);
/// Fills `instance` from `row`, sending pre_init and post_init.
/// `deferred` (from the QueryParts the row was read with) names the fields the row lacks.
void load_row(ModelBase& instance, const ModelInfo& info, const db::Row& row,
              std::string_view database, const std::vector<std::string>& deferred = {});
/// INSERTs every object without signals and sets their ids.
void bulk_insert(std::vector<ModelBase*>& objects, const ModelInfo& info, std::string_view database,
                 tocsin::source_location where = tocsin::source_location::current());
/// Whether an inserted row's id is best read with last_insert_id() rather than RETURNING.
bool cheap_last_insert_id(db::Backend& backend);
/// True when `instance` differs from `info`'s defaults in `field`.
bool differs_from_default(const ModelBase& instance, const FieldInfo& field);
}  // namespace detail

namespace detail {
/// What every QuerySet<T> holds and does whatever its model: the query (QueryParts) and the
/// objects read (type-erased), its copy, move and destruction, and the query's changes and
/// statements, compiled once in the library (src/models/query.cpp) instead of once per queried
/// model in every file. Each change acts on a fresh copy (QuerySet<T> copies first) and drops
/// the objects read.
class QuerySetBase {
  public:
    QuerySetBase(const QuerySetBase& other);
    QuerySetBase(QuerySetBase&& other) noexcept;
    QuerySetBase& operator=(const QuerySetBase& other);
    QuerySetBase& operator=(QuerySetBase&& other) noexcept;
    ~QuerySetBase();

  protected:
    explicit QuerySetBase(std::string database);

    /// `condition && c` (`&& !c` when `negate`); refused once sliced (ModelError).
    void add_condition(const Condition& c, bool negate);
    /// ORDER BY `column` too; refused once sliced (ModelError).
    void add_order(std::string column, bool descending);
    /// Ordered by id unless ordered already (first()).
    void order_by_id_if_unordered();
    /// set_limits(low, high).
    void narrow(std::optional<std::uint64_t> low, std::optional<std::uint64_t> high);
    /// The fields not loaded.
    void set_deferred(std::vector<std::string> names);
    /// `names` not loaded as well (defer()).
    void add_deferred(std::initializer_list<std::string> names);
    /// select_for_update(options), checked against `info`.
    void set_lock(const ModelInfo& info, SelectForUpdate options);
    /// using_database(alias).
    void set_database(std::string alias);

    /// The query on `info`, naming `where` in its errors.
    [[nodiscard]] QueryParts parts_at(const ModelInfo& info, tocsin::source_location where) const;
    /// Reads the matching rows of `info`: `resize(out, n)` makes room for n objects, then each
    /// `at(out, i)` is loaded from row i (pre_init, post_init).
    void read(const ModelInfo& info, tocsin::source_location where, void* out,
              void (*resize)(void* out, std::size_t n),
              ModelBase& (*at)(void* out, std::size_t i)) const;
    /// count() of `info`'s matching rows.
    [[nodiscard]] std::size_t count_at(const ModelInfo& info, tocsin::source_location where) const;
    /// exists().
    [[nodiscard]] bool exists_at(const ModelInfo& info, tocsin::source_location where) const;
    /// update().
    std::int64_t update_at(const ModelInfo& info, std::initializer_list<Assignment> assignments,
                           tocsin::source_location where) const;
    /// remove(), reporting `origin` as the deletion's origin.
    DeleteResult remove_at(const ModelInfo& info, const void* origin,
                           tocsin::source_location where) const;

    [[nodiscard]] const std::string& database() const noexcept { return parts_.database; }
    /// The objects read (a std::vector<T>*), or null before the first read.
    [[nodiscard]] void* rows() const noexcept { return rows_.get(); }
    /// Whether a copy of this query set shares the objects read.
    [[nodiscard]] bool rows_shared() const noexcept;
    /// Keeps `rows` (a std::vector<T>*) as the objects read, destroyed with `destroy`.
    void keep_rows(void* rows, void (*destroy)(void*)) const;

    QueryParts parts_;

  private:
    mutable std::shared_ptr<void> rows_;
};
}  // namespace detail

/// A lazy query over model `T` (Django's QuerySet): nothing runs until it is read.
template <class T>
class QuerySet : public detail::QuerySetBase {
  public:
    explicit QuerySet(std::string database = std::string(db::default_alias))
        : QuerySetBase(std::move(database)) {}

    /// The rows matching `c` as well. Once a slice is taken (limit(), offset(), slice()), a
    /// condition throws ModelError "Cannot filter a query once a slice has been taken." (Django's
    /// TypeError).
    [[nodiscard]] QuerySet filter(const Condition& c) const {
        QuerySet q = *this;
        q.add_condition(c, false);
        return q;
    }
    /// The rows not matching `c` (refused once sliced, as filter()).
    [[nodiscard]] QuerySet exclude(const Condition& c) const {
        QuerySet q = *this;
        q.add_condition(c, true);
        return q;
    }
    /// Sorted by `member` too: the first order_by() is the primary key of the sort, each later
    /// one breaks the ties of those before it (ORDER BY in call order).
    /// Once a slice is taken it throws ModelError "Cannot reorder a query once a slice has been
    /// taken." (Django's TypeError).
    template <class C, class M>
    [[nodiscard]] QuerySet order_by(M C::*member, bool descending = false) const {
        QuerySet q = *this;
        q.add_order(where(member).column(), descending);
        return q;
    }
    /// At most `n` rows (Django's `qs[:n]`, SQL's LIMIT). On a sliced query set it narrows the
    /// slice: `offset(2).limit(3)` is rows 2 to 4, `limit(5).limit(10)` 5 rows. A negative `n`
    /// throws ModelError "Negative indexing is not supported." (Django's ValueError).
    template <std::integral N>
    [[nodiscard]] QuerySet limit(N n) const {
        return narrowed(std::nullopt, detail::slice_bound(n));
    }
    /// Without the first `n` rows (Django's `qs[n:]`, SQL's OFFSET; valid without a limit on
    /// every engine). On a sliced query set it counts from the slice's start and never past its
    /// end. Negative `n`: ModelError as limit().
    template <std::integral N>
    [[nodiscard]] QuerySet offset(N n) const {
        return narrowed(detail::slice_bound(n), std::nullopt);
    }
    /// Rows `start` to `stop` - 1 in the query set's order (Django's `qs[start:stop]`: LIMIT
    /// stop - start OFFSET start; empty when stop <= start). Slicing a slice narrows it, as in
    /// Django (`slice(0, 5).slice(4, 10)` is row 4). A negative bound throws ModelError
    /// "Negative indexing is not supported." (reverse the order instead). Lazy, as every query
    /// set: nothing runs until read.
    template <std::integral A, std::integral B>
    [[nodiscard]] QuerySet slice(A start, B stop) const {
        return narrowed(detail::slice_bound(start), detail::slice_bound(stop));
    }
    /// Loads only these fields (and the id), the others are deferred (Django's `only()`):
    /// `User::objects().only(&User::email)`. A deferred field holds its default value and is
    /// listed in the instance's `state().deferred`; save() writes the loaded fields only.
    template <class... C, class... M>
    requires(sizeof...(M) > 0 && (saveable_member_of<C, M, T> && ...)) [[nodiscard]] QuerySet
        only(M C::*... members) const {
        const std::vector<std::string> kept{detail::field_name_of<C>(members)...};
        QuerySet q = *this;
        q.set_deferred(detail::names_except(T::info().all_fields, kept));
        return q;
    }
    /// Does not load these fields (Django's `defer()`); see only().
    template <class... C, class... M>
    requires(sizeof...(M) > 0 && (saveable_member_of<C, M, T> && ...)) [[nodiscard]] QuerySet
        defer(M C::*... members) const {
        QuerySet q = *this;
        q.add_deferred({detail::field_name_of<C>(members)...});
        return q;
    }
    /// The same query, locking the rows it reads until the transaction ends (Django's
    /// `select_for_update()`: `SELECT ... FOR UPDATE`, see SelectForUpdate). Reading it outside
    /// a transaction (atomic() or set_autocommit(false)) throws db::TransactionManagementError
    /// "select_for_update cannot be used outside of a transaction."; a row locked by another
    /// transaction makes it wait, or, with nowait, throw db::OperationalError saying the row is
    /// locked, or, with skip_locked, leaves the row out. On a backend that cannot lock rows
    /// (SQLite, which locks the whole database on write) it is accepted and adds nothing, as in
    /// Django. count() and update() do not lock. Throws ModelError for nowait with skip_locked
    /// ("The nowait option cannot be used with skip_locked.") and for an unknown `of` name.
    [[nodiscard]] QuerySet select_for_update(SelectForUpdate options = {}) const {
        QuerySet q = *this;
        q.set_lock(T::info(), std::move(options));
        return q;
    }
    /// The same query on another database alias (Django's `using()`).
    [[nodiscard]] QuerySet using_database(std::string alias) const {
        QuerySet q = *this;
        q.set_database(std::move(alias));
        return q;
    }

    /// Every matching object. Like every method that runs SQL, it takes the caller's location
    /// last (defaulted), which the errors of its statements name.
    [[nodiscard]] std::vector<T> all(
        tocsin::source_location where = tocsin::source_location::current()) const {
        std::vector<T> out;
        read(T::info(), where, &out, &resize_rows, &row_at);
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
    /// Iterates over every matching object, which one may change and save (Django's
    /// `for u in qs: u.save()`): `for (User& u : qs) { u.email = …; u.save(); }`. The objects
    /// are this query set's own (a copy of the query set made before keeps the objects it read);
    /// iterating again yields them as changed, without a new query.
    [[nodiscard]] auto begin(tocsin::source_location where = tocsin::source_location::current()) {
        return own_cache(where).begin();
    }
    [[nodiscard]] auto end(tocsin::source_location where = tocsin::source_location::current()) {
        return own_cache(where).end();
    }

    /// How many rows match.
    [[nodiscard]] std::size_t count(
        tocsin::source_location where = tocsin::source_location::current()) const {
        return count_at(T::info(), where);
    }
    /// Whether any row matches (reads no object: no pre_init/post_init, as in Django).
    [[nodiscard]] bool exists(
        tocsin::source_location where = tocsin::source_location::current()) const {
        return exists_at(T::info(), where);
    }
    /// The first matching object (by id unless ordered), or nullopt.
    [[nodiscard]] std::optional<T> first(
        tocsin::source_location where = tocsin::source_location::current()) const {
        QuerySet q = *this;
        q.order_by_id_if_unordered();  // by id (also within a slice, which order_by() refuses)
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
        return update_at(T::info(), assignments, where);
    }
    /// Removes every matching object and what they cascade to, with signals; origin = this.
    DeleteResult remove(tocsin::source_location where = tocsin::source_location::current()) const {
        return remove_at(T::info(), this, where);
    }

  protected:
    [[nodiscard]] detail::QueryParts parts(tocsin::source_location where = {}) const {
        return parts_at(T::info(), where);
    }
    using QuerySetBase::database;

  private:
    [[nodiscard]] QuerySet narrowed(std::optional<std::uint64_t> low,
                                    std::optional<std::uint64_t> high) const {
        QuerySet q = *this;
        q.narrow(low, high);
        return q;
    }
    static void resize_rows(void* out, std::size_t n) {
        static_cast<std::vector<T>*>(out)->resize(n);
    }
    static ModelBase& row_at(void* out, std::size_t i) {
        return (*static_cast<std::vector<T>*>(out))[i];
    }
    static void destroy_rows(void* rows) noexcept { delete static_cast<std::vector<T>*>(rows); }
    const std::vector<T>& cache(tocsin::source_location where) const {
        if (rows() == nullptr) {
            keep_rows(new std::vector<T>(all(where)), &destroy_rows);
        }
        return *static_cast<const std::vector<T>*>(rows());
    }
    /// The cache, not shared with a copy of this query set (copied on first write).
    std::vector<T>& own_cache(tocsin::source_location where) {
        if (rows() == nullptr) {
            keep_rows(new std::vector<T>(all(where)), &destroy_rows);
        } else if (rows_shared()) {
            keep_rows(new std::vector<T>(*static_cast<const std::vector<T>*>(rows())),
                      &destroy_rows);
        }
        return *static_cast<std::vector<T>*>(rows());
    }
};

/// The entry point of a model's queries, plus creation (Django's Manager).
template <class T>
class Manager : public QuerySet<T> {
  public:
    using QuerySet<T>::QuerySet;

    /// Saves `object` as a new row (pre_save/post_save with created = true) and returns it.
    T create(T object, tocsin::source_location where = tocsin::source_location::current()) const {
        // save({.database = database(), .force_insert = true}), without copying the alias
        detail::create_instance(object, T::info(), this->database(), where);
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
                lookup = lookup &&
                         detail::column_condition(f->column, Condition::Op::eq, {f->get(object)});
            }
        }
        return get_or_create(lookup, object, where);
    }
    /// Updates the object matching `lookup` with `update` and saves it, or creates one (the
    /// lookup's `==` terms, then `update`). Returns it and whether it was created. The update
    /// saves with `update_fields` = the fields `update` changed (Django 4.2: the fields of
    /// `defaults`), so receivers see them and a concurrent change to another field is kept; an
    /// update that changes nothing saves nothing and sends no signal.
    std::pair<T, bool> update_or_create(
        const Condition& lookup, const std::function<void(T&)>& update,
        tocsin::source_location where = tocsin::source_location::current()) const {
        const AtomicOptions block{.alias = this->database()};
        return db::detail::atomic_at(where, block, [&]() -> std::pair<T, bool> {
            try {
                T found = this->get(lookup, where);
                const auto& fields = T::info().all_fields;
                std::vector<db::Value> before;
                before.reserve(fields.size());
                for (const FieldInfo* f : fields) {
                    before.push_back(f->get(found));
                }
                update(found);
                std::vector<std::string> changed;
                for (std::size_t i = 0; i < fields.size(); ++i) {
                    if (!(fields[i]->get(found) == before[i])) {
                        changed.push_back(fields[i]->name);
                    }
                }
                found.save(
                    SaveOptions{.update_fields = std::move(changed), .database = this->database()},
                    where);
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
    /// update_or_create with Django's `defaults`: `update_or_create(where(&User::name) == "bob",
    /// {assign(&User::email, "b@x.org")})`. The update saves with `update_fields` = the fields
    /// assigned, changed or not (Django 4.2).
    std::pair<T, bool> update_or_create(
        const Condition& lookup, std::initializer_list<Assignment> defaults,
        tocsin::source_location where = tocsin::source_location::current()) const {
        const std::vector<Assignment> assignments(defaults);
        const AtomicOptions block{.alias = this->database()};
        return db::detail::atomic_at(where, block, [&]() -> std::pair<T, bool> {
            try {
                T found = this->get(lookup, where);
                std::vector<std::string> names;
                for (const auto& a : assignments) {
                    apply(found, a.column(), a.value());
                    for (const FieldInfo* f : T::info().all_fields) {
                        if (f->column == a.column()) {
                            names.push_back(f->name);
                        }
                    }
                }
                found.save(
                    SaveOptions{.update_fields = std::move(names), .database = this->database()},
                    where);
                return {std::move(found), false};
            } catch (const DoesNotExist&) {
            }
            T fresh{};
            for (const auto& [column, value] : lookup.equalities()) {
                apply(fresh, column, value);
            }
            for (const auto& a : assignments) {
                apply(fresh, a.column(), a.value());
            }
            return {create(std::move(fresh), where), true};
        });
    }
    /// The object whose natural key is `key` (Django's manager method): the model's
    /// `static T get_by_natural_key(const Manager<T>&, …)` run on this manager's database.
    /// Throws DoesNotExist when there is none.
    template <class... K>
    requires requires(const Manager<T>& m, const K&... k) { T::get_by_natural_key(m, k...); }
    T get_by_natural_key(const K&... key) const { return T::get_by_natural_key(*this, key...); }
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
    Apps::instance().require_installed(T::info(), "queried");
    return Manager<T>(std::string(db::default_alias));
}

template <class T>
T ForeignKey<T>::get(tocsin::source_location location) const {
    if (!id_) {
        throw ModelError("the foreign key to " + std::string(T::label) + " is NULL");
    }
    return T::objects().get(where(&ModelBase::id) == *id_, location);
}

}  // namespace tocsin
