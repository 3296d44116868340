// save(): pre_save, the write, post_save, in the order and with the arguments of Django's
// Model.save_base (notes §2.2), ported from Django's tests/signals (SignalTests) and
// tests/update_only_fields, plus the transaction consequences the notes list (§2.2 item 7, §2.7).
#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "event_models.hpp"
#include "test_support.hpp"

namespace tocsin::test {
namespace {
namespace save_test {

using library::Author;
using library::Book;
using shop::Customer;
using Log = std::vector<std::string>;

struct Boom : std::runtime_error {
    Boom() : std::runtime_error("boom") {}
};

std::string yes(bool b) {
    return b ? "true" : "false";
}

class SaveTest : public ModelTest {
  protected:
    /// Records every pre_save and post_save of every model:
    /// "pre_save Customer None raw=false", "post_save Customer 1 created=true raw=false".
    void listen() {
        connections.emplace_back(
            pre_save.connect([this](const Sender& s, ModelBase& m, const SaveEvent& e) {
                log.push_back("pre_save " + describe(s, m) + " raw=" + yes(e.raw));
            }));
        connections.emplace_back(
            post_save.connect([this](const Sender& s, ModelBase& m, const SaveEvent& e) {
                log.push_back("post_save " + describe(s, m) + " created=" + yes(e.created) +
                              " raw=" + yes(e.raw));
            }));
    }
    void TearDown() override {
        connections.clear();
        ModelTest::TearDown();
    }

    static Log author_names() {
        Log names;
        for (const auto& a : Author::objects().order_by(&Author::name)) {
            names.push_back(a.name);
        }
        return names;
    }

    Log log;
    std::vector<ScopedConnection> connections;
};

// Django: signals.tests.SignalTests.test_save_signals — (1) create, (2) update, (3) a raw save,
// (4) a new object with an id set by hand: created, (5) that object with its id changed: the
// UPDATE matches no row, so it is inserted and created is true again.
TEST_F(SaveTest, SaveSignalsCreatedAndRaw) {
    listen();
    auto p1 = Customer::objects().create({.name = "John Smith"});
    EXPECT_EQ(log, (Log{"pre_save Customer None raw=false",
                        "post_save Customer 1 created=true raw=false"}));

    log.clear();
    p1.name = "Tom Smith";
    p1.save();
    EXPECT_EQ(log, (Log{"pre_save Customer 1 raw=false",
                        "post_save Customer 1 created=false raw=false"}));

    log.clear();
    p1.save({.raw = true});
    EXPECT_EQ(log,
              (Log{"pre_save Customer 1 raw=true", "post_save Customer 1 created=false raw=true"}));

    log.clear();
    Customer p2{.name = "James Jones"};
    p2.id = 99999;
    p2.save();
    EXPECT_EQ(log, (Log{"pre_save Customer 99999 raw=false",
                        "post_save Customer 99999 created=true raw=false"}));

    log.clear();
    p2.id = 99998;
    p2.save();
    EXPECT_EQ(log, (Log{"pre_save Customer 99998 raw=false",
                        "post_save Customer 99998 created=true raw=false"}));
    EXPECT_EQ(Customer::objects().count(), 3U);
    EXPECT_TRUE(Customer::objects().filter(where(&ModelBase::id) == 99999).exists());
}

// Django: base.py save_base — pre_save(sender, instance, raw, using, update_fields), then
// post_save with created as well; the sender is the model, the instance the object saved.
TEST_F(SaveTest, ReceiversGetTheModelTheInstanceAndTheArguments) {
    Author a{.name = "Ann"};
    Log seen;
    ScopedConnection pre = pre_save.connect([&](const Sender& s, ModelBase& m, const SaveEvent& e) {
        EXPECT_EQ(s, Sender::of<Author>());
        EXPECT_EQ(&m, &a);
        EXPECT_FALSE(m.id.has_value());
        EXPECT_FALSE(e.created);
        EXPECT_FALSE(e.raw);
        EXPECT_EQ(e.database, "default");
        EXPECT_FALSE(e.update_fields.has_value());
        seen.push_back("pre_save");
    });
    ScopedConnection post =
        post_save.connect([&](const Sender& s, ModelBase& m, const SaveEvent& e) {
            EXPECT_EQ(s, Sender::of<Author>());
            EXPECT_EQ(&m, &a);
            EXPECT_TRUE(m.id.has_value());
            EXPECT_TRUE(e.created);
            EXPECT_FALSE(e.raw);
            EXPECT_EQ(e.database, "default");
            EXPECT_FALSE(e.update_fields.has_value());
            seen.push_back("post_save");
        });
    a.save();
    EXPECT_EQ(seen, (Log{"pre_save", "post_save"}));
    EXPECT_EQ(a.id, std::optional<std::int64_t>(1));
}

// Django: notes §2.2 item 7 — in pre_save `_state.adding` is true for a new object, in
// post_save it is false and `_state.db` is the alias written to.
TEST_F(SaveTest, StateAddingIsTrueInPreSaveOfANewObjectAndFalseInPostSave) {
    const auto state = [](const Author& a) {
        return "adding=" + yes(a.state().adding) + " db=" + a.state().database;
    };
    ScopedConnection pre = pre_save.connect<Author>(
        [&](Author& a, const SaveEvent&) { log.push_back("pre_save " + state(a)); });
    ScopedConnection post = post_save.connect<Author>(
        [&](Author& a, const SaveEvent&) { log.push_back("post_save " + state(a)); });
    Author a{.name = "Ann"};
    a.save();
    a.save();
    EXPECT_EQ(log, (Log{"pre_save adding=true db=", "post_save adding=false db=default",
                        "pre_save adding=false db=default", "post_save adding=false db=default"}));
}

// Django: signals.tests.SignalTests.test_decorators — a receiver for every model and one for
// the model both run, in connection order; a receiver for another model does not.
TEST_F(SaveTest, ReceiversForOneModelAndForEveryModel) {
    ScopedConnection any = post_save.connect([&](const Sender& s, ModelBase& m, const SaveEvent&) {
        log.push_back("any " + describe(s, m));
    });
    ScopedConnection authors = post_save.connect<Author>(
        [&](Author& a, const SaveEvent&) { log.push_back("author " + a.name); });
    ScopedConnection books = post_save.connect<Book>(
        [&](Book& b, const SaveEvent&) { log.push_back("book " + b.title); });
    auto a = Author::objects().create({.name = "Ann"});
    EXPECT_EQ(log, (Log{"any Author 1", "author Ann"}));
    log.clear();
    Book::objects().create({.author = a, .title = "Dune"});
    EXPECT_EQ(log, (Log{"any Book 1", "book Dune"}));
}

// Django: pre_save receivers may change the instance (a slug, a timestamp): what they set is
// written, as save_base writes after sending pre_save.
TEST_F(SaveTest, WhatPreSaveReceiversChangeIsWritten) {
    ScopedConnection fill = pre_save.connect<Author>([](Author& a, const SaveEvent&) {
        if (a.born == 0) {
            a.born = 1999;
        }
    });
    Author::objects().create({.name = "Ann"});
    EXPECT_EQ(Author::objects().get().born, 1999);
}

// Django: update_only_fields.tests.UpdateOnlyFieldsTests.test_update_fields_signals — pre_save
// and post_save both get exactly the fields given; only those columns are written.
TEST_F(SaveTest, UpdateFieldsAreGivenToReceiversAndOnlyTheyAreWritten) {
    auto a = Author::objects().create({.name = "Ann", .born = 1900});
    std::vector<std::optional<std::set<std::string>>> fields;
    ScopedConnection pre = pre_save.connect<Author>(
        [&](Author&, const SaveEvent& e) { fields.push_back(e.update_fields); });
    ScopedConnection post = post_save.connect<Author>([&](Author&, const SaveEvent& e) {
        EXPECT_FALSE(e.created);
        fields.push_back(e.update_fields);
    });
    a.name = "Anne";
    a.born = 1901;
    a.save({.update_fields = std::vector<std::string>{"born"}});
    const std::set<std::string> born{"born"};
    ASSERT_EQ(fields.size(), 2U);
    EXPECT_EQ(fields[0], born);
    EXPECT_EQ(fields[1], born);
    const auto fresh = Author::objects().get(where(&ModelBase::id) == *a.id);
    EXPECT_EQ(fresh.name, "Ann");
    EXPECT_EQ(fresh.born, 1901);
}

// Django: update_only_fields.tests.UpdateOnlyFieldsTests.test_empty_update_fields —
// save(update_fields=[]) runs no query and sends no signal (not even for an unsaved object).
TEST_F(SaveTest, EmptyUpdateFieldsSavesNothingAndSendsNothing) {
    auto a = Author::objects().create({.name = "Ann"});
    listen();
    a.name = "Anne";
    a.save({.update_fields = std::vector<std::string>{}});
    Author b{.name = "Bob"};
    b.save({.update_fields = std::vector<std::string>{}});
    EXPECT_TRUE(log.empty());
    EXPECT_FALSE(b.id.has_value());
    EXPECT_EQ(author_names(), (Log{"Ann"}));
}

// Django: update_only_fields.tests.UpdateOnlyFieldsTests.test_update_fields_incorrect_params —
// "The following fields do not exist in this model…: first_name", a ValueError raised before
// any signal; the primary key is not a field one can name either.
TEST_F(SaveTest, UnknownUpdateFieldIsAModelErrorNamingIt) {
    auto a = Author::objects().create({.name = "Ann"});
    listen();
    a.name = "Anne";
    const auto message = message_of<ModelError>([&] {
        a.save({.update_fields = std::vector<std::string>{"name", "nickname"}});
    });
    EXPECT_TRUE(contains(message, "nickname"));
    EXPECT_TRUE(contains(message, "library.Author"));
    EXPECT_TRUE(contains(message, "The following fields do not exist in this model"));
    EXPECT_TRUE(contains(message, "are m2m fields, or are non-concrete fields"));
    EXPECT_THROW(a.save({.update_fields = {"name", "nickname"}}), ModelError);
    EXPECT_THROW(a.save({.update_fields = std::vector<std::string>{"id"}}), ModelError);
    EXPECT_TRUE(log.empty());
    EXPECT_EQ(author_names(), (Log{"Ann"}));
}

// update_fields as a braced list of names or of member pointers (Django's
// `update_fields=["born"]`): the member pointers of another model, the id and a many-to-many member
// do not compile.
static_assert(std::is_convertible_v<decltype(&Author::born), UpdateFieldsOf<Author>>);
static_assert(!std::is_convertible_v<decltype(&Book::pages), UpdateFieldsOf<Author>>);
static_assert(!std::is_convertible_v<decltype(&ModelBase::id), UpdateFieldsOf<Author>>);
static_assert(!saveable_member_of<Book, int, Author>);

// Django: update_only_fields.tests.UpdateOnlyFieldsTests.test_update_fields_basic — the fields
// named by a braced list of names, or of members, are written, the others not.
TEST_F(SaveTest, test_update_fields_basic) {
    auto a = Author::objects().create({.name = "Ann", .born = 1900});
    std::vector<std::optional<std::set<std::string>>> fields;
    ScopedConnection pre = pre_save.connect<Author>(
        [&](Author&, const SaveEvent& e) { fields.push_back(e.update_fields); });
    a.name = "Anne";
    a.born = 1901;
    a.save({.update_fields = {"born"}});
    auto fresh = Author::objects().get(where(&ModelBase::id) == *a.id);
    EXPECT_EQ(fresh.name, "Ann");
    EXPECT_EQ(fresh.born, 1901);
    a.born = 1902;
    a.save({.update_fields = {&Author::born}});
    fresh.refresh_from_db();
    EXPECT_EQ(fresh.name, "Ann");
    EXPECT_EQ(fresh.born, 1902);
    a.save({.update_fields = {&Author::name, &Author::born}});
    fresh.refresh_from_db();
    EXPECT_EQ(fresh.name, "Anne");
    const std::set<std::string> born{"born"};
    const std::set<std::string> both{"born", "name"};
    EXPECT_EQ(fields, (std::vector<std::optional<std::set<std::string>>>{born, born, both}));

    // Options built beforehand as a SaveOptions.
    SaveOptions options;
    options.update_fields = std::vector<std::string>{"name"};
    a.name = "Annie";
    a.save(options);
    fresh.refresh_from_db();
    EXPECT_EQ(fresh.name, "Annie");
}

// Django: update_only_fields.tests.UpdateOnlyFieldsTests.test_update_fields_inheritance — a
// member of the model extended names its field too (`&Comment::kind` is an Event member).
TEST_F(SaveTest, test_update_fields_inheritance) {
    events::build_event_models();
    migrate();
    const auto ann = Author::objects().create({.name = "Ann"});
    events::Comment c;
    c.user = ann;
    c.kind = "new";
    c.text = "first";
    c.save();
    c.kind = "edited";
    c.text = "not saved";
    c.save({.update_fields = {&events::Comment::kind}});
    const auto fresh = events::Comment::objects().get(where(&ModelBase::id) == *c.id);
    EXPECT_EQ(fresh.kind, "edited");
    EXPECT_EQ(fresh.text, "first");
}

// Django: base.py save() pre-checks — update_fields on an object without primary key ("Cannot
// force an update in save() with no primary key.") and force_insert with update_fields are
// ValueErrors raised before any signal.
TEST_F(SaveTest, UpdateFieldsWithoutIdOrWithForceInsertIsAModelError) {
    listen();
    Author a{.name = "Ann"};
    EXPECT_THROW(a.save({.update_fields = std::vector<std::string>{"name"}}), ModelError);
    auto b = Author::objects().create({.name = "Bob"});
    log.clear();
    EXPECT_THROW(b.save({.update_fields = std::vector<std::string>{"name"}, .force_insert = true}),
                 ModelError);
    EXPECT_TRUE(log.empty());
    EXPECT_EQ(rows("library_author"), 1);
}

// Django: base.py _save_table — "Save with update_fields did not affect any rows." (a
// DatabaseError) when the row is gone; pre_save was sent, post_save is not.
TEST_F(SaveTest, UpdateFieldsOnAMissingRowIsADatabaseError) {
    auto a = Author::objects().create({.name = "Ann"});
    db::connection().execute("DELETE FROM library_author");
    listen();
    const auto message = message_of<db::DatabaseError>(
        [&] { a.save({.update_fields = std::vector<std::string>{"born"}}); });
    EXPECT_TRUE(contains(message, "Save with update_fields did not affect any rows"));
    EXPECT_EQ(log, (Log{"pre_save Author 1 raw=false"}));
    EXPECT_EQ(rows("library_author"), 0);
}

// Django: notes §2.2 item 7 — "An exception in pre_save means nothing is written." Inside an
// atomic block the write never began, so the block is not marked for rollback and goes on.
TEST_F(SaveTest, PreSaveExceptionWritesNothing) {
    listen();
    ScopedConnection refuse = pre_save.connect<Author>([](Author& a, const SaveEvent&) {
        if (a.name == "Bad") {
            throw Boom();
        }
    });
    EXPECT_THROW(Author::objects().create({.name = "Bad"}), Boom);
    EXPECT_EQ(rows("library_author"), 0);

    atomic([&] {
        Author bad{.name = "Bad"};
        EXPECT_THROW(bad.save(), Boom);
        EXPECT_FALSE(bad.id.has_value());
        EXPECT_TRUE(bad.state().adding);
        Author::objects().create({.name = "Good"});
    });
    EXPECT_EQ(author_names(), (Log{"Good"}));
    EXPECT_EQ(log,
              (Log{"pre_save Author None raw=false", "pre_save Author None raw=false",
                   "pre_save Author None raw=false", "post_save Author 1 created=true raw=false"}));
}

// Django: notes §2.2 item 7 — an exception in post_save propagates out of save() after the
// write: in autocommit the row stays.
TEST_F(SaveTest, PostSaveExceptionInAutocommitKeepsTheRow) {
    ScopedConnection boom =
        post_save.connect<Author>([](Author&, const SaveEvent&) { throw Boom(); });
    Author a{.name = "Ann"};
    EXPECT_THROW(a.save(), Boom);
    EXPECT_TRUE(a.id.has_value());
    EXPECT_FALSE(a.state().adding);
    EXPECT_EQ(author_names(), (Log{"Ann"}));
}

// Django: notes §2.2 item 7 — "Inside atomic, that usually rolls the outer block back": the
// exception leaves the block, which rolls back every write made in it.
TEST_F(SaveTest, PostSaveExceptionInsideAtomicRollsTheOuterBlockBack) {
    Author::objects().create({.name = "Before"});
    ScopedConnection boom = post_save.connect<Author>([](Author& a, const SaveEvent&) {
        if (a.name == "Ann") {
            throw Boom();
        }
    });
    EXPECT_THROW(atomic([&] {
                     Author::objects().create({.name = "Zed"});
                     Author::objects().create({.name = "Ann"});
                 }),
                 Boom);
    EXPECT_EQ(author_names(), (Log{"Before"}));
}

// Django: notes §2.2 item 12 — when the INSERT fails (here a unique name), pre_save was sent
// and post_save never is; the object stays unsaved.
TEST_F(SaveTest, FailedWriteSendsPreSaveButNotPostSave) {
    Author::objects().create({.name = "Ann"});
    listen();
    Author twin{.name = "Ann"};
    EXPECT_THROW(twin.save(), db::IntegrityError);
    EXPECT_EQ(log, (Log{"pre_save Author None raw=false"}));
    EXPECT_FALSE(twin.id.has_value());
    EXPECT_TRUE(twin.state().adding);
}

// Django: notes §2.7 item 10 — post_save runs in the caller's transaction: in autocommit the
// row is already committed; inside atomic it is not yet (another connection does not see it),
// and an on_commit() registered by the receiver runs after the outermost block commits.
TEST_F(SaveTest, PostSaveRunsInTheCallersTransaction) {
    const auto committed = [] {
        std::int64_t n = -1;
        std::thread([&n] {
            n = rows("library_author");
            db::close_all();
        }).join();
        return n;
    };
    ScopedConnection c = post_save.connect<Author>([&](Author& a, const SaveEvent&) {
        log.push_back("post_save " + a.name + " committed=" + std::to_string(committed()));
        on_commit([this, name = a.name] { log.push_back("on_commit " + name); });
    });
    Author::objects().create({.name = "Ann"});
    EXPECT_EQ(log, (Log{"post_save Ann committed=1", "on_commit Ann"}));

    log.clear();
    atomic([&] {
        Author::objects().create({.name = "Bob"});
        log.push_back("end of block");
    });
    EXPECT_EQ(log, (Log{"post_save Bob committed=1", "end of block", "on_commit Bob"}));
    EXPECT_EQ(committed(), 2);
}

// Django: signals.tests.SignalTests.test_disconnect_in_dispatch — two receivers that each
// disconnect themselves while post_save is sent both run, and are gone afterwards.
TEST_F(SaveTest, ReceiversDisconnectingThemselvesDuringTheSendBothRun) {
    const auto before = post_save.receiver_count();
    int first = 0;
    int second = 0;
    Connection c1;
    Connection c2;
    c1 = post_save.connect<Customer>([&](Customer&, const SaveEvent&) {
        ++first;
        c1.disconnect();
    });
    c2 = post_save.connect<Customer>([&](Customer&, const SaveEvent&) {
        ++second;
        c2.disconnect();
    });
    Customer::objects().create({.name = "John"});
    Customer::objects().create({.name = "Paul"});
    EXPECT_EQ(first, 1);
    EXPECT_EQ(second, 1);
    EXPECT_EQ(post_save.receiver_count(), before);
}

// Django: notes §2.2 item 10 — `using` is the alias written to: save(using=…), or the
// instance's own database (_state.db) for a later save.
TEST_F(SaveTest, DatabaseIsTheAliasWrittenTo) {
    db::configure({{"default", db::configuration().at("default")},
                   {"other", test_database(dir, "other.db", databases)}});
    migrate("other");
    ScopedConnection pre = pre_save.connect<Author>(
        [&](Author&, const SaveEvent& e) { log.push_back("pre_save " + std::string(e.database)); });
    ScopedConnection post = post_save.connect<Author>([&](Author&, const SaveEvent& e) {
        log.push_back("post_save " + std::string(e.database) + " created=" + yes(e.created));
    });
    Author a{.name = "Ann"};
    a.save({.database = "other"});
    EXPECT_EQ(a.state().database, "other");
    a.born = 1950;
    a.save();
    EXPECT_EQ(log, (Log{"pre_save other", "post_save other created=true", "pre_save other",
                        "post_save other created=false"}));
    EXPECT_EQ(rows("library_author", "other"), 1);
    EXPECT_EQ(rows("library_author"), 0);
    EXPECT_EQ(Author::objects().using_database("other").get().born, 1950);
}

// The save plan: a model's INSERT of a new row and UPDATE of every field are prepared once per
// connection and held there, apart from the statement cache (no lookup of their SQL per save);
// a clear of the cache (a migration) drops them, and the next save prepares them again.
TEST_F(SaveTest, TheSavePlanIsPreparedOncePerConnectionAndAgainAfterAClear) {
    auto& cache = db::connection().backend().statement_cache();
    Author::objects().create({.name = "Ann"});
    Author bob = Author::objects().create({.name = "Bob"});
    bob.born = 1960;
    bob.save();
    const auto before = cache.stats();
    Author cid = Author::objects().create({.name = "Cid"});
    cid.name = "Cy";
    cid.save();
    const auto after = cache.stats();
    EXPECT_EQ(after.hits, before.hits);
    EXPECT_EQ(after.misses, before.misses);
    cache.clear();
    Author dee = Author::objects().create({.name = "Dee"});
    dee.name = "Di";
    dee.save();
    EXPECT_EQ(author_names(), (Log{"Ann", "Bob", "Cy", "Di"}));
    EXPECT_EQ(Author::objects().get(where(&Author::name) == "Bob").born, 1960);
}

// The plan's statements are free again when receivers run: a receiver saving rows of the same
// model (before and after the write) uses them, and a failed INSERT leaves them usable.
TEST_F(SaveTest, ReceiversSavingTheSameModelAndAFailedInsertLeaveThePlanUsable) {
    ScopedConnection pre = pre_save.connect<Author>([](Author& a, const SaveEvent&) {
        if (a.name == "Ann" && !a.id) {
            Author::objects().create({.name = "Ann's pre"});
        }
    });
    ScopedConnection post = post_save.connect<Author>([](Author& a, const SaveEvent& e) {
        if (e.created && a.name == "Ann") {
            Author::objects().create({.name = "Ann's post"});
        }
    });
    Author ann = Author::objects().create({.name = "Ann"});
    EXPECT_THROW(Author::objects().create({.name = "Ann's post"}), db::IntegrityError);
    ann.born = 1940;
    ann.save();
    Author::objects().create({.name = "Bob"});
    EXPECT_EQ(author_names(), (Log{"Ann", "Ann's post", "Ann's pre", "Bob"}));
    EXPECT_EQ(Author::objects().get(where(&Author::name) == "Ann").born, 1940);
    EXPECT_EQ(ann.id, Author::objects().get(where(&Author::name) == "Ann").id);
}

}  // namespace save_test
}  // namespace
}  // namespace tocsin::test
