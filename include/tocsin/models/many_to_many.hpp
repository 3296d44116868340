// Many-to-many relations: RelatedManager<T> (add, remove, clear, set, all, count, contains) over
// a `ManyToMany<T>` member, and the m2m_changed signal they send, as Django's related managers do.
//
//   struct User : tocsin::Model<User> {
//       static constexpr std::string_view label = "auth.User";
//       std::string username;
//       tocsin::ManyToMany<Group> groups;              // through table "auth_user_groups"
//       static auto fields() {
//           return tocsin::fields(tocsin::field("username", &User::username),
//                                 tocsin::field("groups", &User::groups));
//       }
//   };
//
//   tocsin::related(alice, &User::groups).add(staff, admins);        // user.groups.add(…)
//   tocsin::related_set(staff, &User::groups).remove(alice);         // group.user_set.remove(…)
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "tocsin/models/model.hpp"
#include "tocsin/models/query.hpp"
#include "tocsin/models/signals.hpp"

namespace tocsin {

/// What an m2m_changed send reports (Django's `action` argument).
enum class M2MAction { pre_add, post_add, pre_remove, post_remove, pre_clear, post_clear };

/// Django's name of `action`: "pre_add", "post_add", "pre_remove", "post_remove", "pre_clear",
/// "post_clear".
[[nodiscard]] std::string_view to_string(M2MAction action) noexcept;

/// What m2m_changed tells its receivers (Django's keyword arguments). The instance passed
/// alongside is the object whose relation changes: the user for `related(user, &User::groups)`,
/// the group for `related_set(group, &User::groups)`.
struct M2MChangedEvent {
    M2MAction action = M2MAction::pre_add;
    /// True when the change was made from the reverse side (`related_set`).
    bool reverse = false;
    /// The model of the objects added or removed (Group forward, User reverse).
    const ModelInfo* model = nullptr;
    /// The ids added or removed: for add, only those not related yet (maybe none); for remove,
    /// every id given; nullopt for clear.
    std::optional<std::set<std::int64_t>> pk_set{};
    std::string_view database{};  ///< the database alias
};

/// m2m_changed refuses commit-time receivers (not yet: its instance is not of its sender's model).
template <>
struct commit_copy<M2MChangedEvent> {};

/// Options of RelatedManager::set().
struct M2MSetOptions {
    /// Clear the relation, then add every object given (instead of removing only the missing
    /// ones and adding only the new ones).
    bool clear = false;
};

namespace detail {

/// One relation seen from one saved instance (Django's ManyRelatedManager state).
struct M2MSide {
    const ManyToManyInfo* relation = nullptr;
    ModelBase* instance = nullptr;
    std::int64_t instance_id = 0;
    bool reverse = false;
    const ModelInfo* model = nullptr;  ///< the model of the objects on the other side
    std::string source_column;         ///< the through column naming `instance`
    std::string target_column;         ///< the through column naming the other side
    std::string target_field;          ///< the through field naming the other side ("group")
    std::string database;              ///< the alias all operations use
    tocsin::source_location where{};   ///< the caller, named by the errors of the statements
};

/// The side of `relation` seen from `instance` of `instance_model`; throws ModelError (Django's
/// ValueError) when the instance has no id, or for the reverse side of a symmetrical relation.
[[nodiscard]] M2MSide m2m_side(ModelBase& instance, const ModelInfo& instance_model,
                               const ManyToManyInfo& relation, bool reverse,
                               tocsin::source_location where = tocsin::source_location::current());
/// An item given to add/remove/set: an id, or nullopt for an unsaved object.
using M2MItem = std::optional<std::int64_t>;
void m2m_add(const M2MSide& side, const std::vector<M2MItem>& items);
void m2m_remove(const M2MSide& side, const std::vector<M2MItem>& items);
void m2m_clear(const M2MSide& side);
void m2m_set(const M2MSide& side, const std::vector<M2MItem>& items, const M2MSetOptions& options);
[[nodiscard]] bool m2m_contains(const M2MSide& side, std::int64_t id);
/// The condition selecting the objects related to the side's instance.
[[nodiscard]] Condition m2m_condition(const M2MSide& side);

/// An object of model `T`, or an id.
template <class A, class T>
concept m2m_item = std::is_base_of_v<T, A> ||(std::integral<A> && !std::is_same_v<A, bool>);

template <class T, class A>
M2MItem m2m_item_of(const A& a) {
    if constexpr (std::integral<A>) {
        return static_cast<std::int64_t>(a);
    } else {
        return static_cast<const T&>(a).id;
    }
}

/// The description of `C`'s many-to-many member `member`.
template <class C, class X>
const ManyToManyInfo& many_to_many_of(ManyToMany<X> C::*member) {
    const ManyToManyInfo* found = nullptr;
    detail::apply_fields(
        [&](const auto&... f) {
            (
                [&](const auto& fld) {
                    if constexpr (std::is_same_v<decltype(fld.member), ManyToMany<X> C::*>) {
                        if (found == nullptr && fld.member == member) {
                            found = C::info().relation(fld.name);
                        }
                    }
                }(f),
                ...);
        },
        C::fields());
    if (found == nullptr) {
        throw ModelError("the member given is not a many-to-many field declared in " +
                         std::string(C::label) + "'s fields()");
    }
    return *found;
}

}  // namespace detail

/// The objects of model `T` related to one saved instance through one many-to-many relation
/// (Django's ManyRelatedManager). Get one with `related(user, &User::groups)` (forward, objects
/// are Groups) or `related_set(group, &User::groups)` (reverse, objects are Users). It refers to
/// the instance, which must outlive it. Every change sends m2m_changed (sender: the relation's
/// through model) and runs in one transaction block on the instance's database.
///
/// Errors of the statements name the caller's line: each method takes it as a defaulted last
/// parameter, except the variadic add() and remove(), which name the line of the related() or
/// related_set() call that made the manager (the same line in `related(u, &User::groups).add(g)`).
template <class T>
class RelatedManager {
  public:
    explicit RelatedManager(detail::M2MSide side) : side_(std::move(side)) {}

    /// Relates the objects (or ids) given. Only those not related yet are inserted and reported
    /// in pk_set; pre_add/post_add are sent even when that set is empty, and not at all when no
    /// receiver listens for the relation. Nothing given: nothing sent. An unsaved object throws
    /// ModelError ("Cannot add …: the value for field … is None"), nothing written.
    template <class... A>
    requires(sizeof...(A) > 0 && (detail::m2m_item<A, T> && ...)) void add(const A&... objs) {
        detail::m2m_add(side_, items(objs...));
    }
    /// add() with a list of objects.
    void add(const std::vector<T>& objs,
             tocsin::source_location where = tocsin::source_location::current()) {
        detail::m2m_add(at(where), items_of(objs));
    }
    /// add() with a list of ids.
    void add(const std::vector<std::int64_t>& ids,
             tocsin::source_location where = tocsin::source_location::current()) {
        detail::m2m_add(at(where), items_of(ids));
    }

    /// Unrelates the objects (or ids) given: pre_remove/post_remove report every id given, even
    /// those that were not related. Nothing given: nothing sent.
    template <class... A>
    requires(sizeof...(A) > 0 && (detail::m2m_item<A, T> && ...)) void remove(const A&... objs) {
        detail::m2m_remove(side_, items(objs...));
    }
    /// remove() with a list of objects.
    void remove(const std::vector<T>& objs,
                tocsin::source_location where = tocsin::source_location::current()) {
        detail::m2m_remove(at(where), items_of(objs));
    }
    /// remove() with a list of ids.
    void remove(const std::vector<std::int64_t>& ids,
                tocsin::source_location where = tocsin::source_location::current()) {
        detail::m2m_remove(at(where), items_of(ids));
    }

    /// Unrelates every object: pre_clear/post_clear with no pk_set, sent even when none was.
    void clear(tocsin::source_location where = tocsin::source_location::current()) {
        detail::m2m_clear(at(where));
    }

    /// Makes the related objects exactly `objs`: removes those not listed (pre/post_remove),
    /// then adds the new ones (pre/post_add), as Django's set(); with `{.clear = true}`, clear()
    /// then add() of every object.
    void set(const std::vector<T>& objs, M2MSetOptions options = {},
             tocsin::source_location where = tocsin::source_location::current()) {
        detail::m2m_set(at(where), items_of(objs), options);
    }
    /// set() with a list of ids.
    void set(const std::vector<std::int64_t>& ids, M2MSetOptions options = {},
             tocsin::source_location where = tocsin::source_location::current()) {
        detail::m2m_set(at(where), items_of(ids), options);
    }

    /// Saves `object` as a new row (pre/post_save), then adds it (pre/post_add); returns it.
    T create(T object, tocsin::source_location where = tocsin::source_location::current()) {
        object.save({.database = side_.database, .force_insert = true}, where);
        detail::m2m_add(at(where), {object.id});
        return object;
    }

    /// The related objects, as a lazy query set on the instance's database.
    [[nodiscard]] QuerySet<T> all() const {
        return QuerySet<T>(side_.database).filter(detail::m2m_condition(side_));
    }
    /// How many objects are related.
    [[nodiscard]] std::size_t count(
        tocsin::source_location where = tocsin::source_location::current()) const {
        return all().count(where);
    }
    /// Whether `obj` is related (false for an unsaved object).
    [[nodiscard]] bool contains(
        const T& obj, tocsin::source_location where = tocsin::source_location::current()) const {
        return obj.id.has_value() && detail::m2m_contains(at(where), *obj.id);
    }

    /// True for the reverse side (`related_set`).
    [[nodiscard]] bool reverse() const noexcept { return side_.reverse; }
    /// The relation this manager works on.
    [[nodiscard]] const ManyToManyInfo& relation() const noexcept { return *side_.relation; }

  private:
    /// The side, with the caller's location for the statements' errors.
    [[nodiscard]] detail::M2MSide at(tocsin::source_location where) const {
        detail::M2MSide side = side_;
        side.where = where;
        return side;
    }
    template <class... A>
    static std::vector<detail::M2MItem> items(const A&... objs) {
        std::vector<detail::M2MItem> out;
        out.reserve(sizeof...(A));
        (out.push_back(detail::m2m_item_of<T>(objs)), ...);
        return out;
    }
    template <class V>
    static std::vector<detail::M2MItem> items_of(const std::vector<V>& objs) {
        std::vector<detail::M2MItem> out;
        out.reserve(objs.size());
        for (const auto& o : objs) {
            out.push_back(detail::m2m_item_of<T>(o));
        }
        return out;
    }

    detail::M2MSide side_;
};

/// The objects `instance`'s many-to-many `member` relates it to (Django's `user.groups`):
/// `related(alice, &User::groups).add(staff)`. Throws ModelError when `instance` was never saved.
template <class C, class X>
RelatedManager<X> related(C& instance, ManyToMany<X> C::*member,
                          tocsin::source_location where = tocsin::source_location::current()) {
    return RelatedManager<X>(
        detail::m2m_side(instance, C::info(), detail::many_to_many_of(member), false, where));
}

/// The objects whose many-to-many `member` relates them to `target` (Django's reverse manager,
/// `group.user_set`): `related_set(staff, &User::groups).add(alice)`; receivers see
/// reverse = true. Throws ModelError when `target` was never saved, or for a symmetrical
/// relation (it has no reverse side: use related()).
template <class C, class X>
RelatedManager<C> related_set(X& target, ManyToMany<X> C::*member,
                              tocsin::source_location where = tocsin::source_location::current()) {
    return RelatedManager<C>(
        detail::m2m_side(target, X::info(), detail::many_to_many_of(member), true, where));
}

/// The m2m_changed signal: sent by RelatedManager's add, remove, clear and set, with the
/// relation's through model as sender (Django's `User.groups.through`, named
/// "auth.User_groups"). Connect for one relation with `m2m_changed.connect(&User::groups, f)`,
/// or for every relation with `m2m_changed.connect(f)`; receivers take
/// `(ModelBase& instance, const M2MChangedEvent&)`. Constant-initialised.
class M2MChangedSignal : public detail::ModelLayerSignal<void(ModelBase&, const M2MChangedEvent&)> {
    using Base = detail::ModelLayerSignal<void(ModelBase&, const M2MChangedEvent&)>;

  public:
    using signal_type = Base::signal_type;

    constexpr explicit M2MChangedSignal(std::string_view name) noexcept : Base(name) {}

    /// Connects `receiver` for the relation `member` only (its through model as sender).
    template <class C, class X, class F>
    requires detail::receiver_for<F, ModelBase&, const M2MChangedEvent&> Connection
    connect(ManyToMany<X> C::*member, F&& receiver, Connect options = {},
            tocsin::source_location where = tocsin::source_location::current())
    const {
        return this->template connect_for_model<C>(sender(member), std::forward<F>(receiver),
                                                   std::move(options), where);
    }
    /// Connects `receiver` for every relation, or for `options.sender`.
    template <class F>
    requires detail::receiver_for<F, ModelBase&, const M2MChangedEvent&> Connection
    connect(F&& receiver, Connect options = {},
            tocsin::source_location where = tocsin::source_location::current())
    const { return this->connect_receiver(std::forward<F>(receiver), std::move(options), where); }

    /// The sender for relation `member`: its through model.
    template <class C, class X>
    [[nodiscard]] static Sender sender(ManyToMany<X> C::*member) {
        return detail::many_to_many_of(member).through->sender;
    }

    /// Sends for `instance`, whose relation `sender` names changes.
    void send(const Sender& sender, ModelBase& instance, const M2MChangedEvent& event) const {
        this->send_from(sender, instance, event);
    }
};

/// Sent before and after a many-to-many relation changes (see M2MChangedSignal).
inline constinit M2MChangedSignal m2m_changed{"m2m_changed"};

}  // namespace tocsin
