// ManyToMany<T>, RelatedManager and m2m_changed (notes §2.4). Ported from Django's
// tests/m2m_signals (ManyToManySignalsTest, same models: Part, Car with default_parts and
// optional_parts, Person with fans and symmetrical friends), plus the through table, the
// removal of an owner, set(), transactions, errors and the database alias.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../support/instance_recorder.hpp"
#include "test_support.hpp"
#include "tocsin/dispatch/profiler.hpp"

namespace m2m_signals {

struct Part : tocsin::Model<Part> {
    static constexpr std::string_view label = "m2m_signals.Part";
    std::string name;
    static auto fields() { return tocsin::fields(tocsin::field("name", &Part::name)); }
};

struct Car : tocsin::Model<Car> {
    static constexpr std::string_view label = "m2m_signals.Car";
    std::string name;
    tocsin::ManyToMany<Part> default_parts;
    tocsin::ManyToMany<Part> optional_parts;  // Django: related_name="cars_optional"
    static auto fields() {
        return tocsin::fields(tocsin::field("name", &Car::name),
                              tocsin::field("default_parts", &Car::default_parts),
                              tocsin::field("optional_parts", &Car::optional_parts));
    }
};

struct Person : tocsin::Model<Person> {
    static constexpr std::string_view label = "m2m_signals.Person";
    std::string name;
    tocsin::ManyToMany<Person> fans{{.symmetrical = false}};  // Django: related_name="idols"
    tocsin::ManyToMany<Person> friends;                       // symmetrical by default
    static auto fields() {
        return tocsin::fields(tocsin::field("name", &Person::name),
                              tocsin::field("fans", &Person::fans),
                              tocsin::field("friends", &Person::friends));
    }
};

}  // namespace m2m_signals

namespace auth {
struct Group : tocsin::Model<Group> {
    static constexpr std::string_view label = "auth.Group";
    std::string name;
    static auto fields() { return tocsin::fields(tocsin::field("name", &Group::name)); }
};
struct User : tocsin::Model<User> {
    static constexpr std::string_view label = "auth.User";
    std::string username;
    tocsin::ManyToMany<Group> groups;
    static auto fields() {
        return tocsin::fields(tocsin::field("username", &User::username),
                              tocsin::field("groups", &User::groups));
    }
};
}  // namespace auth

namespace tocsin::test {
namespace {
namespace many_to_many_test {

using auth::Group;
using auth::User;
using m2m_signals::Car;
using m2m_signals::Part;
using m2m_signals::Person;

struct Boom : std::runtime_error {
    Boom() : std::runtime_error("boom") {}
};

/// One m2m_changed as Django's test receiver records it: the instance, the action, reverse,
/// the model and, when pk_set is not empty, the names of those objects (ordered by name).
struct Message {
    const ModelBase* instance = nullptr;
    std::string action;
    bool reverse = false;
    std::string model;
    std::vector<std::string> objects{};
    friend bool operator==(const Message&, const Message&) = default;
    friend std::ostream& operator<<(std::ostream& os, const Message& m) {
        os << "{" << m.instance << " " << m.action << (m.reverse ? " reverse " : " ") << m.model
           << " [";
        for (const auto& o : m.objects) {
            os << o << ",";
        }
        return os << "]}";
    }
};

/// The names of the `M` objects with ids in `ids`, ordered by name (Django's Meta.ordering).
template <class M, class C>
std::vector<std::string> names_of(const std::set<std::int64_t>& ids, std::string C::*name) {
    std::vector<std::string> out;
    const std::vector<std::int64_t> list(ids.begin(), ids.end());
    for (const M& m : M::objects().filter(where(&ModelBase::id).in(list)).order_by(name)) {
        out.push_back(m.*name);
    }
    return out;
}

class ManyToManyTest : public ModelTest {
  protected:
    void SetUp() override {
        static_cast<void>(Part::info());
        static_cast<void>(Car::info());
        static_cast<void>(Person::info());
        static_cast<void>(Group::info());
        static_cast<void>(User::info());
        m2m_baseline_ = m2m_changed.receiver_count();
        ModelTest::SetUp();
        // Django's setUpTestData.
        vw = Car::objects().create({.name = "VW"});
        bmw = Car::objects().create({.name = "BMW"});
        toyota = Car::objects().create({.name = "Toyota"});
        wheelset = Part::objects().create({.name = "Wheelset"});
        doors = Part::objects().create({.name = "Doors"});
        engine = Part::objects().create({.name = "Engine"});
        airbag = Part::objects().create({.name = "Airbag"});
        sunroof = Part::objects().create({.name = "Sunroof"});
        alice = Person::objects().create({.name = "Alice"});
        bob = Person::objects().create({.name = "Bob"});
        chuck = Person::objects().create({.name = "Chuck"});
        daisy = Person::objects().create({.name = "Daisy"});
    }
    void TearDown() override {
        for (auto& c : connections_) {
            c.disconnect();
        }
        EXPECT_EQ(m2m_changed.receiver_count(), m2m_baseline_) << "a receiver was left connected";
        ModelTest::TearDown();
    }

    /// Django's m2m_changed_signal_receiver.
    void record(ModelBase& instance, const M2MChangedEvent& e) {
        Message m{&instance, std::string(to_string(e.action)), e.reverse, e.model->model_name};
        if (e.pk_set && !e.pk_set->empty()) {
            m.objects = e.model == &Part::info()     ? names_of<Part>(*e.pk_set, &Part::name)
                        : e.model == &Car::info()    ? names_of<Car>(*e.pk_set, &Car::name)
                        : e.model == &Person::info() ? names_of<Person>(*e.pk_set, &Person::name)
                                                     : std::vector<std::string>{"?"};
        }
        messages.push_back(std::move(m));
    }
    template <class C, class X>
    void listen(ManyToMany<X> C::*member) {
        connections_.push_back(m2m_changed.connect(
            member, [this](ModelBase& i, const M2MChangedEvent& e) { record(i, e); }));
    }

    /// Django's _initialize_signal_car: a listener on optional_parts; with `add_default_parts`,
    /// the sunroof is added to vw's default parts before default_parts is listened to.
    void initialize_signal_car(bool add_default_parts = false) {
        listen(&Car::optional_parts);
        if (add_default_parts) {
            related(vw, &Car::default_parts).add(sunroof);
        }
        listen(&Car::default_parts);
    }
    /// Django's _initialize_signal_person.
    void initialize_signal_person() {
        listen(&Person::fans);
        listen(&Person::friends);
    }

    /// The (source, target) pairs of a through table, with plain SQL.
    static std::vector<std::pair<std::int64_t, std::int64_t>> pairs(
        const std::string& table, std::string_view alias = "default") {
        std::vector<std::pair<std::int64_t, std::int64_t>> out;
        const auto& relation = table;
        for (const auto& row :
             db::connection(alias).query("SELECT * FROM \"" + relation + "\" ORDER BY 2, 3")) {
            out.emplace_back(row.at(1).as_integer(), row.at(2).as_integer());
        }
        return out;
    }

    Car vw, bmw, toyota;
    Part wheelset, doors, engine, airbag, sunroof;
    Person alice, bob, chuck, daisy;
    std::vector<Message> messages;

  private:
    std::size_t m2m_baseline_ = 0;
    std::vector<Connection> connections_;
};

Message msg(const ModelBase& instance, std::string action, bool reverse, std::string model,
            std::vector<std::string> objects = {}) {
    return Message{&instance, std::move(action), reverse, std::move(model), std::move(objects)};
}

// ------------------------------------------------------------------ the declaration

TEST_F(ManyToManyTest, DescribesTheRelationNotAColumnWithDjangosThroughNames) {
    const ModelInfo& user = User::info();
    EXPECT_EQ(user.fields.size(), 1U);  // username only
    ASSERT_EQ(user.many_to_many.size(), 1U);
    const ManyToManyInfo& groups = user.many_to_many.front();
    EXPECT_EQ(groups.name, "groups");
    EXPECT_EQ(groups.owner, &user);
    EXPECT_EQ(&groups.target(), &Group::info());
    EXPECT_FALSE(groups.symmetrical);
    EXPECT_EQ(groups.source_column, "user_id");
    EXPECT_EQ(groups.target_column, "group_id");
    ASSERT_NE(groups.through, nullptr);
    EXPECT_EQ(groups.through->table, "auth_user_groups");
    EXPECT_EQ(groups.through->label(), "auth.User_groups");
    EXPECT_TRUE(groups.through->auto_created);
    EXPECT_EQ(groups.through->sender.name(), "auth.User_groups");
    EXPECT_EQ(m2m_changed.sender(&User::groups), groups.through->sender);
    EXPECT_NE(groups.through->sender, user.sender);
    EXPECT_NE(m2m_changed.sender(&Car::default_parts), m2m_changed.sender(&Car::optional_parts));
    // Not listed among the declared models (Django's get_models() leaves auto-created out).
    const auto models = all_models();
    EXPECT_EQ(std::find(models.begin(), models.end(), groups.through), models.end());

    const ModelInfo& person = Person::info();
    ASSERT_EQ(person.many_to_many.size(), 2U);
    EXPECT_FALSE(person.relation("fans")->symmetrical);
    EXPECT_TRUE(person.relation("friends")->symmetrical);
    EXPECT_EQ(person.relation("friends")->source_column, "from_person_id");
    EXPECT_EQ(person.relation("friends")->target_column, "to_person_id");
    EXPECT_EQ(person.relation("friends")->through->table, "m2m_signals_person_friends");
}

TEST_F(ManyToManyTest, MigrateCreatesTheThroughTableWithAUniquePair) {
    auto group = Group::objects().create({.name = "staff"});
    auto user = User::objects().create({.username = "alice"});
    auto& database = db::connection("default");
    database.execute("INSERT INTO \"auth_user_groups\" (\"user_id\", \"group_id\") VALUES (" +
                     std::to_string(*user.id) + ", " + std::to_string(*group.id) + ")");
    EXPECT_THROW(
        database.execute("INSERT INTO \"auth_user_groups\" (\"user_id\", \"group_id\") VALUES (" +
                         std::to_string(*user.id) + ", " + std::to_string(*group.id) + ")"),
        db::IntegrityError);
    EXPECT_EQ(rows("auth_user_groups"), 1);
}

// m2m_changed has no commit-time receivers yet (docs/models.md, Not yet): refused at connect.
TEST_F(ManyToManyTest, CommitTimeReceiversAreRefused) {
    EXPECT_THROW(m2m_changed.connect(&Car::default_parts, [](ModelBase&, const M2MChangedEvent&) {},
                                     {.on_commit = true}),
                 std::invalid_argument);
    EXPECT_THROW(
        m2m_changed.connect([](ModelBase&, const M2MChangedEvent&) {}, {.on_commit = true}),
        std::invalid_argument);
    EXPECT_EQ(m2m_changed.receiver_count(), 0U);
}

TEST_F(ManyToManyTest, ActionNamesAreDjangos) {
    EXPECT_EQ(to_string(M2MAction::pre_add), "pre_add");
    EXPECT_EQ(to_string(M2MAction::post_add), "post_add");
    EXPECT_EQ(to_string(M2MAction::pre_remove), "pre_remove");
    EXPECT_EQ(to_string(M2MAction::post_remove), "post_remove");
    EXPECT_EQ(to_string(M2MAction::pre_clear), "pre_clear");
    EXPECT_EQ(to_string(M2MAction::post_clear), "post_clear");
    EXPECT_EQ(m2m_changed.name(), "m2m_changed");
}

// ------------------------------------------------------------------ Django's m2m_signals

// test_pk_set_on_repeated_add_remove
TEST_F(ManyToManyTest, PkSetOnRepeatedAddRemove) {
    std::vector<std::set<std::int64_t>> pk_sets_sent;
    auto c = m2m_changed.connect(&Car::default_parts, [&](ModelBase&, const M2MChangedEvent& e) {
        if (e.action == M2MAction::pre_add || e.action == M2MAction::pre_remove) {
            pk_sets_sent.push_back(*e.pk_set);
        }
    });
    auto parts = related(vw, &Car::default_parts);
    parts.add(wheelset);
    parts.add(wheelset);  // already there: pre_add/post_add still sent, with an empty set
    parts.remove(wheelset);
    parts.remove(wheelset);  // not there any more: every id given is reported
    const std::set<std::int64_t> w{*wheelset.id};
    EXPECT_EQ(pk_sets_sent, (std::vector<std::set<std::int64_t>>{w, {}, w, w}));
    c.disconnect();
}

// test_m2m_relations_add_remove_clear
TEST_F(ManyToManyTest, RelationsAddRemoveClear) {
    initialize_signal_car(/*add_default_parts=*/true);
    EXPECT_TRUE(messages.empty());  // the sunroof was added before anyone listened
    related(vw, &Car::default_parts).add(wheelset, doors, engine);
    std::vector<Message> expected{
        msg(vw, "pre_add", false, "Part", {"Doors", "Engine", "Wheelset"}),
        msg(vw, "post_add", false, "Part", {"Doors", "Engine", "Wheelset"}),
    };
    EXPECT_EQ(messages, expected);
    // Give the BMW and Toyota some doors as well.
    related_set(doors, &Car::default_parts).add(bmw, toyota);
    expected.push_back(msg(doors, "pre_add", true, "Car", {"BMW", "Toyota"}));
    expected.push_back(msg(doors, "post_add", true, "Car", {"BMW", "Toyota"}));
    EXPECT_EQ(messages, expected);
}

// test_m2m_relations_signals_remove_relation
TEST_F(ManyToManyTest, RelationsSignalsRemoveRelation) {
    initialize_signal_car();
    // Remove the engine from vw and the airbag (which is not set but is returned).
    related(vw, &Car::default_parts).remove(engine, airbag);
    EXPECT_EQ(messages, (std::vector<Message>{
                            msg(vw, "pre_remove", false, "Part", {"Airbag", "Engine"}),
                            msg(vw, "post_remove", false, "Part", {"Airbag", "Engine"}),
                        }));
}

// test_m2m_relations_signals_give_the_self_vs_other_arguments
TEST_F(ManyToManyTest, RelationsSignalsGiveTheSelfVsOtherArguments) {
    initialize_signal_car();
    // Give vw some optional parts (second relation to the same model).
    related(vw, &Car::optional_parts).add(airbag, sunroof);
    EXPECT_EQ(messages, (std::vector<Message>{
                            msg(vw, "pre_add", false, "Part", {"Airbag", "Sunroof"}),
                            msg(vw, "post_add", false, "Part", {"Airbag", "Sunroof"}),
                        }));
    // Add the airbag to all the cars (even though vw already has one): only the new ones.
    related_set(airbag, &Car::optional_parts).add(vw, bmw, toyota);
    EXPECT_EQ(messages.at(2), msg(airbag, "pre_add", true, "Car", {"BMW", "Toyota"}));
    EXPECT_EQ(messages.at(3), msg(airbag, "post_add", true, "Car", {"BMW", "Toyota"}));
    EXPECT_EQ(messages.size(), 4U);
}

// test_m2m_relations_signals_clear_all_parts_of_the_self_vs_other_relation
TEST_F(ManyToManyTest, RelationsSignalsClearAllPartsOfTheSelfVsOtherRelation) {
    initialize_signal_car();
    related(vw, &Car::default_parts).add(wheelset, doors);
    messages.clear();
    related(vw, &Car::default_parts).clear();
    EXPECT_EQ(messages, (std::vector<Message>{
                            msg(vw, "pre_clear", false, "Part"),
                            msg(vw, "post_clear", false, "Part"),
                        }));
    EXPECT_EQ(related(vw, &Car::default_parts).count(), 0U);
}

// test_m2m_relations_signals_all_the_doors_off_of_cars
TEST_F(ManyToManyTest, RelationsSignalsAllTheDoorsOffOfCars) {
    initialize_signal_car();
    related(vw, &Car::default_parts).add(doors);
    related(bmw, &Car::default_parts).add(doors, engine);
    messages.clear();
    related_set(doors, &Car::default_parts).clear();
    EXPECT_EQ(messages, (std::vector<Message>{
                            msg(doors, "pre_clear", true, "Car"),
                            msg(doors, "post_clear", true, "Car"),
                        }));
    EXPECT_EQ(pairs("m2m_signals_car_default_parts"),
              (std::vector<std::pair<std::int64_t, std::int64_t>>{{*bmw.id, *engine.id}}));
}

// test_m2m_relations_signals_reverse_relation (clear sent even when nothing is related)
TEST_F(ManyToManyTest, RelationsSignalsReverseRelation) {
    initialize_signal_car();
    related_set(airbag, &Car::optional_parts).clear();
    EXPECT_EQ(messages, (std::vector<Message>{
                            msg(airbag, "pre_clear", true, "Car"),
                            msg(airbag, "post_clear", true, "Car"),
                        }));
}

// test_m2m_relations_signals_reverse_relation_with_custom_related_name
TEST_F(ManyToManyTest, RelationsSignalsReverseRelationWithCustomRelatedName) {
    initialize_signal_car();
    // Remove the airbag from vw (reverse relation).
    related_set(airbag, &Car::optional_parts).remove(vw);
    EXPECT_EQ(messages, (std::vector<Message>{
                            msg(airbag, "pre_remove", true, "Car", {"VW"}),
                            msg(airbag, "post_remove", true, "Car", {"VW"}),
                        }));
}

// test_m2m_relations_signals_alternative_ways
TEST_F(ManyToManyTest, RelationsSignalsAlternativeWays) {
    initialize_signal_car();
    std::vector<std::string> saved;
    auto on_save = post_save.connect<Part>([&](Part& p, const SaveEvent& e) {
        saved.push_back(p.name + (e.created ? " created" : ""));
    });
    // Alternative ways of setting the relation: create() saves, then adds.
    const Part p6 = related(vw, &Car::default_parts).create({.name = "Windows"});
    on_save.disconnect();
    EXPECT_EQ(saved, (std::vector<std::string>{"Windows created"}));
    EXPECT_EQ(Part::objects().get(where(&Part::name) == "Windows").id, p6.id);
    std::vector<Message> expected{
        msg(vw, "pre_add", false, "Part", {"Windows"}),
        msg(vw, "post_add", false, "Part", {"Windows"}),
    };
    EXPECT_EQ(messages, expected);
    // set() removes what is not listed, then adds the new ones.
    related(vw, &Car::default_parts).set({wheelset, doors, engine});
    expected.push_back(msg(vw, "pre_remove", false, "Part", {"Windows"}));
    expected.push_back(msg(vw, "post_remove", false, "Part", {"Windows"}));
    expected.push_back(msg(vw, "pre_add", false, "Part", {"Doors", "Engine", "Wheelset"}));
    expected.push_back(msg(vw, "post_add", false, "Part", {"Doors", "Engine", "Wheelset"}));
    EXPECT_EQ(messages, expected);
}

// test_m2m_relations_signals_clearing_removing
TEST_F(ManyToManyTest, RelationsSignalsClearingRemoving) {
    initialize_signal_car(/*add_default_parts=*/true);
    // Set by clearing.
    related(vw, &Car::default_parts).set({wheelset, doors, engine}, {.clear = true});
    std::vector<Message> expected{
        msg(vw, "pre_clear", false, "Part"),
        msg(vw, "post_clear", false, "Part"),
        msg(vw, "pre_add", false, "Part", {"Doors", "Engine", "Wheelset"}),
        msg(vw, "post_add", false, "Part", {"Doors", "Engine", "Wheelset"}),
    };
    EXPECT_EQ(messages, expected);
    // Set by only removing what's necessary.
    related(vw, &Car::default_parts).set({wheelset, doors}, {.clear = false});
    expected.push_back(msg(vw, "pre_remove", false, "Part", {"Engine"}));
    expected.push_back(msg(vw, "post_remove", false, "Part", {"Engine"}));
    EXPECT_EQ(messages, expected);
}

// test_m2m_relations_with_self_add_friends
TEST_F(ManyToManyTest, RelationsWithSelfAddFriends) {
    initialize_signal_person();
    related(alice, &Person::friends).set({bob, chuck});
    EXPECT_EQ(messages, (std::vector<Message>{
                            msg(alice, "pre_add", false, "Person", {"Bob", "Chuck"}),
                            msg(alice, "post_add", false, "Person", {"Bob", "Chuck"}),
                        }));
    // Symmetrical: the mirror rows were added too, without a signal of their own.
    EXPECT_TRUE(related(bob, &Person::friends).contains(alice));
    EXPECT_TRUE(related(chuck, &Person::friends).contains(alice));
    EXPECT_EQ(rows("m2m_signals_person_friends"), 4);
}

// test_m2m_relations_with_self_add_fan
TEST_F(ManyToManyTest, RelationsWithSelfAddFan) {
    initialize_signal_person();
    related(alice, &Person::fans).set({daisy});
    EXPECT_EQ(messages, (std::vector<Message>{
                            msg(alice, "pre_add", false, "Person", {"Daisy"}),
                            msg(alice, "post_add", false, "Person", {"Daisy"}),
                        }));
    EXPECT_FALSE(related(daisy, &Person::fans).contains(alice));  // not symmetrical
}

// test_m2m_relations_with_self_add_idols
TEST_F(ManyToManyTest, RelationsWithSelfAddIdols) {
    initialize_signal_person();
    related_set(chuck, &Person::fans).set({alice, bob});  // Django: chuck.idols.set(…)
    EXPECT_EQ(messages, (std::vector<Message>{
                            msg(chuck, "pre_add", true, "Person", {"Alice", "Bob"}),
                            msg(chuck, "post_add", true, "Person", {"Alice", "Bob"}),
                        }));
    EXPECT_TRUE(related(alice, &Person::fans).contains(chuck));
    EXPECT_TRUE(related(bob, &Person::fans).contains(chuck));
}

// ------------------------------------------------------------------ beyond Django's file

TEST_F(ManyToManyTest, SymmetricalRemoveAndClearGoBothWays) {
    auto friends = related(alice, &Person::friends);
    friends.add(bob, chuck);
    related(bob, &Person::friends).remove(alice);
    EXPECT_FALSE(friends.contains(bob));
    EXPECT_TRUE(friends.contains(chuck));
    related(chuck, &Person::friends).clear();
    EXPECT_EQ(friends.count(), 0U);
    EXPECT_EQ(rows("m2m_signals_person_friends"), 0);
    EXPECT_TRUE(contains(
        message_of<ModelError>([&] { static_cast<void>(related_set(alice, &Person::friends)); }),
        "'Person.friends' is a symmetrical many-to-many relation"));
}

TEST_F(ManyToManyTest, AllCountAndContainsReadTheRelation) {
    auto parts = related(vw, &Car::default_parts);
    parts.add(doors, engine);
    related(bmw, &Car::default_parts).add(sunroof);
    related(vw, &Car::optional_parts).add(airbag);
    std::vector<std::string> names;
    for (const Part& p : parts.all().order_by(&Part::name)) {
        names.push_back(p.name);
    }
    EXPECT_EQ(names, (std::vector<std::string>{"Doors", "Engine"}));
    EXPECT_EQ(parts.count(), 2U);
    EXPECT_TRUE(parts.contains(doors));
    EXPECT_FALSE(parts.contains(airbag));  // on the other relation
    EXPECT_FALSE(parts.contains(Part{}));  // unsaved
    // all() is lazy: it reads the relation when iterated.
    const auto query = parts.all();
    parts.add(wheelset);
    EXPECT_EQ(query.count(), 3U);
    // Conditions combine with the relation's, and the reverse side reads the other way.
    EXPECT_EQ(parts.all().exclude(where(&Part::name) == "Doors").count(), 2U);
    EXPECT_EQ(related_set(sunroof, &Car::default_parts).all().get().name, "BMW");
    EXPECT_EQ(related_set(doors, &Car::default_parts).count(), 1U);
}

TEST_F(ManyToManyTest, AddAndRemoveTakeIdsAndLists) {
    auto parts = related(vw, &Car::default_parts);
    parts.add(*doors.id, *engine.id);
    parts.add(std::vector<Part>{airbag});
    parts.add(std::vector<std::int64_t>{*sunroof.id});
    EXPECT_EQ(parts.count(), 4U);
    parts.remove(*doors.id);
    parts.remove(std::vector<Part>{engine, airbag});
    EXPECT_EQ(parts.count(), 1U);
    EXPECT_TRUE(parts.contains(sunroof));
    parts.set(std::vector<std::int64_t>{*wheelset.id});
    EXPECT_EQ(pairs("m2m_signals_car_default_parts"),
              (std::vector<std::pair<std::int64_t, std::int64_t>>{{*vw.id, *wheelset.id}}));
}

TEST_F(ManyToManyTest, SetKeepsWhatIsListedAndSendsNothingWhenUnchanged) {
    listen(&Car::default_parts);
    auto parts = related(vw, &Car::default_parts);
    parts.set({doors, engine});
    messages.clear();
    parts.set({engine, doors});  // nothing to remove, nothing to add: nothing sent
    EXPECT_TRUE(messages.empty());
    parts.set({engine, wheelset});
    EXPECT_EQ(messages, (std::vector<Message>{
                            msg(vw, "pre_remove", false, "Part", {"Doors"}),
                            msg(vw, "post_remove", false, "Part", {"Doors"}),
                            msg(vw, "pre_add", false, "Part", {"Wheelset"}),
                            msg(vw, "post_add", false, "Part", {"Wheelset"}),
                        }));
    messages.clear();
    parts.set(std::vector<Part>{});  // everything goes
    EXPECT_EQ(messages, (std::vector<Message>{
                            msg(vw, "pre_remove", false, "Part", {"Engine", "Wheelset"}),
                            msg(vw, "post_remove", false, "Part", {"Engine", "Wheelset"}),
                        }));
    EXPECT_EQ(parts.count(), 0U);
}

TEST_F(ManyToManyTest, EmptyAddOrRemoveSendsNothing) {
    listen(&Car::default_parts);
    related(vw, &Car::default_parts).add(std::vector<Part>{});
    related(vw, &Car::default_parts).remove(std::vector<Part>{});
    EXPECT_TRUE(messages.empty());
}

TEST_F(ManyToManyTest, WithoutListenersAddWritesAndIgnoresDuplicates) {
    listen(&Car::optional_parts);  // another relation's listener hears nothing here
    auto parts = related(vw, &Car::default_parts);
    parts.add(doors, engine);
    parts.add(doors);
    EXPECT_TRUE(messages.empty());
    EXPECT_EQ(rows("m2m_signals_car_default_parts"), 2);
}

TEST_F(ManyToManyTest, AReceiverForEveryRelationHearsThemAllWithTheirSender) {
    std::vector<std::string> heard;
    auto c = m2m_changed.connect([&](const Sender& sender, ModelBase&, const M2MChangedEvent& e) {
        heard.push_back(sender.name() + " " + std::string(to_string(e.action)) + " " +
                        std::string(e.database));
    });
    related(vw, &Car::default_parts).add(doors);
    related(alice, &Person::fans).clear();
    c.disconnect();
    EXPECT_EQ(heard, (std::vector<std::string>{
                         "m2m_signals.Car_default_parts pre_add default",
                         "m2m_signals.Car_default_parts post_add default",
                         "m2m_signals.Person_fans pre_clear default",
                         "m2m_signals.Person_fans post_clear default",
                     }));
}

TEST_F(ManyToManyTest, ASenderDisconnectsOneRelation) {
    const auto receiver = +[](ModelBase&, const M2MChangedEvent&) { throw Boom(); };
    m2m_changed.connect(&Car::default_parts, receiver);
    EXPECT_TRUE(m2m_changed.disconnect(receiver, m2m_changed.sender(&Car::default_parts)));
    related(vw, &Car::default_parts).add(doors);  // no Boom
    EXPECT_EQ(related(vw, &Car::default_parts).count(), 1U);
}

TEST_F(ManyToManyTest, ReceiversRunBeforeAndAfterTheWrite) {
    std::vector<std::size_t> seen;
    auto c = m2m_changed.connect(&Car::default_parts, [&](ModelBase&, const M2MChangedEvent&) {
        seen.push_back(static_cast<std::size_t>(rows("m2m_signals_car_default_parts")));
    });
    auto parts = related(vw, &Car::default_parts);
    parts.add(doors, engine);  // pre_add sees 0 rows, post_add 2
    parts.remove(doors);       // 2, then 1
    parts.clear();             // 1, then 0
    c.disconnect();
    EXPECT_EQ(seen, (std::vector<std::size_t>{0, 2, 2, 1, 1, 0}));
}

TEST_F(ManyToManyTest, AReceiverThatThrowsInsideAddLeavesNothingWritten) {
    auto c = m2m_changed.connect(&Car::default_parts, [](ModelBase&, const M2MChangedEvent& e) {
        if (e.action == M2MAction::post_add) {
            throw Boom();
        }
    });
    EXPECT_THROW(related(vw, &Car::default_parts).add(doors, engine), Boom);
    EXPECT_EQ(rows("m2m_signals_car_default_parts"), 0);
    // The same for a symmetrical relation: the mirror rows are not kept either.
    auto f = m2m_changed.connect(&Person::friends, [](ModelBase&, const M2MChangedEvent& e) {
        if (e.action == M2MAction::post_add) {
            throw Boom();
        }
    });
    EXPECT_THROW(related(alice, &Person::friends).add(bob), Boom);
    EXPECT_EQ(rows("m2m_signals_person_friends"), 0);
    // And inside the caller's block, the whole block rolls back.
    EXPECT_THROW(atomic([&] {
                     related(vw, &Car::optional_parts).add(airbag);
                     related(vw, &Car::default_parts).add(doors);
                 }),
                 Boom);
    EXPECT_EQ(rows("m2m_signals_car_optional_parts"), 0);
    c.disconnect();
    f.disconnect();
}

TEST_F(ManyToManyTest, AReceiverThatThrowsInsideSetUndoesTheRemovalToo) {
    related(vw, &Car::default_parts).add(doors);
    auto c = m2m_changed.connect(&Car::default_parts, [](ModelBase&, const M2MChangedEvent& e) {
        if (e.action == M2MAction::pre_add) {
            throw Boom();
        }
    });
    EXPECT_THROW(related(vw, &Car::default_parts).set({engine}), Boom);
    c.disconnect();
    EXPECT_EQ(pairs("m2m_signals_car_default_parts"),
              (std::vector<std::pair<std::int64_t, std::int64_t>>{{*vw.id, *doors.id}}));
}

TEST_F(ManyToManyTest, UnsavedInstancesAreRefusedWithDjangosMessages) {
    Car unsaved{.name = "Unsaved"};
    EXPECT_EQ(
        message_of<ModelError>([&] { static_cast<void>(related(unsaved, &Car::default_parts)); }),
        "\"<Car: Car object (None)>\" needs to have a value for field \"id\" before this "
        "many-to-many relationship can be used.");
    Part loose{.name = "Loose"};
    listen(&Car::default_parts);
    EXPECT_EQ(message_of<ModelError>([&] { related(vw, &Car::default_parts).add(doors, loose); }),
              "Cannot add \"<Part: Part object (None)>\": the value for field \"part\" is None");
    EXPECT_EQ(message_of<ModelError>([&] { related_set(doors, &Car::default_parts).add(Car{}); }),
              "Cannot add \"<Car: Car object (None)>\": the value for field \"car\" is None");
    EXPECT_THROW(related(vw, &Car::default_parts).remove(loose), ModelError);
    EXPECT_TRUE(messages.empty());
    EXPECT_EQ(rows("m2m_signals_car_default_parts"), 0);
}

// Removing an endpoint removes its through rows, with no pre/post_delete for them and no
// m2m_changed (Django: auto-created models send no delete signals; notes §2.3.10).
TEST_F(ManyToManyTest, RemovingAnOwnerOrATargetRemovesItsThroughRowsSilently) {
    related(vw, &Car::default_parts).add(doors, engine);
    related(bmw, &Car::default_parts).add(doors);
    related(vw, &Car::optional_parts).add(airbag);
    related(alice, &Person::friends).add(bob);
    listen(&Car::default_parts);
    listen(&Car::optional_parts);
    listen(&Person::friends);
    std::vector<std::string> deleted;
    auto pre = pre_delete.connect([&](const Sender& sender, ModelBase& m, const DeleteEvent&) {
        deleted.push_back("pre " + describe(sender, m));
    });
    auto post = post_delete.connect([&](const Sender& sender, ModelBase& m, const DeleteEvent&) {
        deleted.push_back("post " + describe(sender, m));
    });
    const auto vw_id = *vw.id;
    const DeleteResult result = vw.remove();
    EXPECT_EQ(deleted, (std::vector<std::string>{"pre Car " + std::to_string(vw_id),
                                                 "post Car " + std::to_string(vw_id)}));
    EXPECT_EQ(result.total, 4U);
    EXPECT_EQ(result.per_model, (std::map<std::string, std::size_t>{
                                    {"m2m_signals.Car", 1},
                                    {"m2m_signals.Car_default_parts", 2},
                                    {"m2m_signals.Car_optional_parts", 1},
                                }));
    EXPECT_EQ(pairs("m2m_signals_car_default_parts"),
              (std::vector<std::pair<std::int64_t, std::int64_t>>{{*bmw.id, *doors.id}}));
    EXPECT_EQ(rows("m2m_signals_car_optional_parts"), 0);
    // The other side: removing a part (through a query set) removes its rows too.
    Part::objects().filter(where(&Part::name) == "Doors").remove();
    EXPECT_EQ(rows("m2m_signals_car_default_parts"), 0);
    // A symmetrical relation loses both directions.
    bob.remove();
    EXPECT_EQ(rows("m2m_signals_person_friends"), 0);
    pre.disconnect();
    post.disconnect();
    EXPECT_TRUE(messages.empty());
}

// tocsin: relating, unrelating and removing more objects than one statement may bind (999
// parameters: SQLite's SQLITE_MAX_VARIABLE_NUMBER before 3.32, set on the connection here): the
// ids are listed a few hundred per statement; the removal takes the through rows of every
// removed object.
TEST_F(ManyToManyTest, MoreObjectsThanOneStatementBinds) {
    constexpr std::size_t many = 1234;
    if (!on_postgresql()) {  // PostgreSQL binds 65535 parameters: no lower limit to set
        ASSERT_LT(limit_sqlite_parameters(999), static_cast<int>(many));
    }
    std::vector<Part> parts(many);
    for (std::size_t i = 0; i < many; ++i) {
        parts[i].name = "p" + std::to_string(i);
    }
    atomic([&] { Part::objects().bulk_create(parts); });
    std::vector<std::int64_t> ids;
    for (const auto& p : parts) {
        ids.push_back(*p.id);
    }
    std::vector<std::pair<std::string, std::size_t>> heard;
    ScopedConnection c =
        m2m_changed.connect(&Car::default_parts, [&](ModelBase&, const M2MChangedEvent& e) {
            heard.emplace_back(to_string(e.action), e.pk_set ? e.pk_set->size() : 0);
        });
    auto vw_parts = related(vw, &Car::default_parts);
    vw_parts.add(doors, parts[many / 2]);
    std::vector<std::int64_t> with_doors = ids;
    with_doors.push_back(*doors.id);
    vw_parts.add(with_doors);  // the pairs there already are found in their chunks
    EXPECT_EQ(rows("m2m_signals_car_default_parts"), static_cast<std::int64_t>(many + 1));
    vw_parts.remove(ids);
    EXPECT_EQ(heard, (std::vector<std::pair<std::string, std::size_t>>{{"pre_add", 2},
                                                                       {"post_add", 2},
                                                                       {"pre_add", many - 1},
                                                                       {"post_add", many - 1},
                                                                       {"pre_remove", many},
                                                                       {"post_remove", many}}));
    EXPECT_EQ(pairs("m2m_signals_car_default_parts"),
              (std::vector<std::pair<std::int64_t, std::int64_t>>{{*vw.id, *doors.id}}));

    related(bmw, &Car::optional_parts).add(ids);
    vw_parts.add(ids.front(), ids.back());
    EXPECT_EQ(rows("m2m_signals_car_optional_parts"), static_cast<std::int64_t>(many));
    const auto result = Part::objects().filter(where(&ModelBase::id) >= ids.front()).remove();
    EXPECT_EQ(result.per_model, (std::map<std::string, std::size_t>{
                                    {"m2m_signals.Car_default_parts", 2},
                                    {"m2m_signals.Car_optional_parts", many},
                                    {"m2m_signals.Part", many},
                                }));
    EXPECT_EQ(rows("m2m_signals_car_optional_parts"), 0);
    EXPECT_EQ(pairs("m2m_signals_car_default_parts"),
              (std::vector<std::pair<std::int64_t, std::int64_t>>{{*vw.id, *doors.id}}));
    EXPECT_EQ(Part::objects().count(), 5U);
}

TEST_F(ManyToManyTest, UsesTheInstancesDatabase) {
    db::configure({{"default", db::configuration().at("default")},
                   {"other", test_database(dir, "other.db", databases)}});
    migrate("other");
    auto user = Manager<User>("other").create({.username = "alice"});
    auto group = Manager<Group>("other").create({.name = "staff"});
    EXPECT_EQ(user.state().database, "other");
    std::vector<std::string> written_to;
    auto c = m2m_changed.connect(&User::groups, [&](ModelBase&, const M2MChangedEvent& e) {
        written_to.emplace_back(e.database);
    });
    related(user, &User::groups).add(group);
    c.disconnect();
    EXPECT_EQ(written_to, (std::vector<std::string>{"other", "other"}));
    EXPECT_EQ(rows("auth_user_groups", "other"), 1);
    EXPECT_EQ(rows("auth_user_groups", "default"), 0);
    EXPECT_EQ(related(user, &User::groups).all().get().name, "staff");
    EXPECT_TRUE(related_set(group, &User::groups).contains(user));
}

using tocsin::test::InstanceRecorder;

// The send observer (issue 15's live log) sees the instance each model signal is sent for: its
// model's label and id, or "(unsaved)"; m2m_changed's is the instance whose relation changes,
// named by its own model (the sender is the through model). Sends nested in a receiver are about
// their own instance, and other sends about none.
TEST_F(ManyToManyTest, TheSendObserverSeesTheInstance) {
    ScopedConnection pre = pre_save.connect<Part>([](Part&, const SaveEvent&) {});
    ScopedConnection post = post_save.connect<Part>([](Part&, const SaveEvent& e) {
        if (e.created) {
            Signal<void()>("test.nested").send(Sender{});  // no receivers: not observed
            static_cast<void>(Car::objects().create({.name = "made by a receiver"}));
        }
    });
    ScopedConnection car_saved = post_save.connect<Car>([](Car&, const SaveEvent&) {});
    ScopedConnection init = post_init.connect<Part>([](Part&, const InitEvent&) {});
    ScopedConnection pre_del = pre_delete.connect<Part>([](Part&, const DeleteEvent&) {});
    ScopedConnection post_del = post_delete.connect<Part>([](Part&, const DeleteEvent&) {});
    ScopedConnection m2m = m2m_changed.connect([](ModelBase&, const M2MChangedEvent&) {});
    Signal<void(int)> custom{"test.custom"};
    ScopedConnection other = custom.connect([](int) {});

    auto recorder = std::make_shared<InstanceRecorder>();
    const auto previous = set_send_observer(recorder);
    Part part{.name = "Mirror"};
    part.save();
    const std::string id = std::to_string(*part.id);
    const std::string car = std::to_string(*vw.id);
    related(vw, &Car::default_parts).add(part);
    related_set(part, &Car::optional_parts).add(bmw);
    static_cast<void>(Part::objects().get(where(&Part::name) == "Mirror"));
    custom.send(Sender{}, 1);
    part.remove();
    set_send_observer(previous);

    const auto made = Car::objects().get(where(&Car::name) == "made by a receiver");
    const std::string bmw_id = std::to_string(*bmw.id);
    EXPECT_EQ(recorder->sends, (std::vector<std::string>{
                                   "pre_save m2m_signals.Part (unsaved)",
                                   "post_save m2m_signals.Part #" + id,
                                   "post_save m2m_signals.Car #" + std::to_string(*made.id),
                                   "m2m_changed m2m_signals.Car #" + car,
                                   "m2m_changed m2m_signals.Car #" + car,
                                   "m2m_changed m2m_signals.Part #" + id,
                                   "m2m_changed m2m_signals.Part #" + id,
                                   "post_init m2m_signals.Part #" + id,
                                   "test.custom ",
                                   "pre_delete m2m_signals.Part #" + id,
                                   "post_delete m2m_signals.Part #" + id,
                               }));
    // Without an observer nothing is described (and nothing is left for the next send).
    recorder->sends.clear();
    Part::objects().create({.name = "Unobserved"});
    EXPECT_TRUE(recorder->sends.empty());
}

}  // namespace many_to_many_test
}  // namespace
}  // namespace tocsin::test
