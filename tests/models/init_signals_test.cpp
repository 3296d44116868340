// pre_init / post_init: sent for every instance built from a row (notes §2.5), ported from
// Django's tests/signals (SignalTests.test_model_pre_init_and_post_init) and the from_db notes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_support.hpp"

namespace tocsin::test {
namespace {
namespace init_signals_test {

using library::Author;
using library::Book;
using library::Page;
using Log = std::vector<std::string>;

class InitSignalsTest : public ModelTest {
  protected:
    void SetUp() override {
        ModelTest::SetUp();
        Author::objects().create({.name = "Ann", .born = 1900});
        Author::objects().create({.name = "Bob", .born = 1950});
        Author::objects().create({.name = "Cid", .born = 1950});
    }
    void TearDown() override {
        connections.clear();
        ModelTest::TearDown();
    }

    /// Records pre_init and post_init of every model: "pre_init Author row=[1, 'Ann', 1900]
    /// id=None name=''", "post_init Author row=[…] id=1 name='Ann'".
    void listen() {
        const auto text = [](const Sender& s, const ModelBase& m, const InitEvent& e) {
            std::string row = "null";
            if (e.row != nullptr) {
                row.clear();
                for (const auto& v : *e.row) {
                    row += (row.empty() ? "" : ", ") + db::to_string(v);
                }
                row = "[" + row + "]";
            }
            std::string name;
            if (s == Sender::of<Author>()) {
                name = " name='" + static_cast<const Author&>(m).name + "'";
            }
            return model_name(s) + " row=" + row +
                   " id=" + (m.id ? std::to_string(*m.id) : "None") + name;
        };
        connections.emplace_back(
            pre_init.connect([this, text](const Sender& s, ModelBase& m, const InitEvent& e) {
                log.push_back("pre_init " + text(s, m, e));
            }));
        connections.emplace_back(
            post_init.connect([this, text](const Sender& s, ModelBase& m, const InitEvent& e) {
                log.push_back("post_init " + text(s, m, e));
            }));
    }

    Log log;
    std::vector<ScopedConnection> connections;
};

// Django: signals.tests.SignalTests.test_model_pre_init_and_post_init and notes §2.5 item 1 —
// pre_init gets the row's values (from_db: cls(*values)) before the fields are set, post_init
// the built instance; one pair per row of a query set, in row order.
TEST_F(InitSignalsTest, PreInitThenPostInitForEachRow) {
    listen();
    const auto all = Author::objects().order_by(&ModelBase::id).all();
    EXPECT_EQ(all.size(), 3U);
    EXPECT_EQ(log, (Log{"pre_init Author row=[1, 'Ann', 1900] id=None name=''",
                        "post_init Author row=[1, 'Ann', 1900] id=1 name='Ann'",
                        "pre_init Author row=[2, 'Bob', 1950] id=None name=''",
                        "post_init Author row=[2, 'Bob', 1950] id=2 name='Bob'",
                        "pre_init Author row=[3, 'Cid', 1950] id=None name=''",
                        "post_init Author row=[3, 'Cid', 1950] id=3 name='Cid'"}));
}

// Django: notes §2.5 item 3 — at post_init `_state` still has its defaults (adding = True,
// db = None) even for a row loaded from the database: from_db sets it after __init__.
TEST_F(InitSignalsTest, StateHasItsDefaultsAtPostInitAndIsSetAfterwards) {
    Log states;
    ScopedConnection c = post_init.connect<Author>([&](Author& a, const InitEvent&) {
        states.push_back(std::string("adding=") + (a.state().adding ? "true" : "false") +
                         " db=" + a.state().database);
    });
    const auto ann = Author::objects().get(where(&Author::name) == "Ann");
    EXPECT_EQ(states, (Log{"adding=true db="}));
    EXPECT_FALSE(ann.state().adding);
    EXPECT_EQ(ann.state().database, "default");
}

// Django: notes §2.5 item 1 — every way of loading rows builds instances and signals: get(),
// first(), iteration, refresh_from_db() (its temporary instance), and the get path of
// get_or_create().
TEST_F(InitSignalsTest, EveryLoadSendsThem) {
    Log loaded;
    ScopedConnection c =
        post_init.connect<Author>([&](Author& a, const InitEvent&) { loaded.push_back(a.name); });
    auto bob = Author::objects().get(where(&Author::name) == "Bob");
    static_cast<void>(Author::objects().order_by(&Author::name, true).first());
    for (const auto& a : Author::objects().filter(where(&Author::born) == 1950)) {
        static_cast<void>(a);
    }
    bob.refresh_from_db();
    static_cast<void>(Author::objects().get_or_create(where(&Author::name) == "Ann"));
    EXPECT_EQ(loaded, (Log{"Bob", "Cid", "Bob", "Cid", "Bob", "Ann"}));
}

// Django: notes §2.3 item 6 — the collector fetches whole instances of the cascaded rows it
// cannot fast-delete, so they are built (and signalled) like any loaded row; rows it
// fast-deletes (no delete receiver, nothing cascading: the Pages) are not read, as in Django.
TEST_F(InitSignalsTest, CascadedRowsAreBuiltToo) {
    auto ann = Author::objects().get(where(&Author::name) == "Ann");
    auto book = Book::objects().create({.author = ann, .title = "Dune"});
    Page::objects().create({.book = book, .number = 1});
    Log loaded;
    ScopedConnection c = post_init.connect(
        [&](const Sender& s, ModelBase& m, const InitEvent&) { loaded.push_back(describe(s, m)); });
    ann.remove();
    EXPECT_EQ(loaded, (Log{"Book 1"}));

    // With a delete receiver for Page, its rows are read (and built) too.
    auto bob = Author::objects().get(where(&Author::name) == "Bob");
    auto emma = Book::objects().create({.author = bob, .title = "Emma"});
    Page::objects().create({.book = emma, .number = 1});
    ScopedConnection pages = pre_delete.connect<Page>([](Page&, const DeleteEvent&) {});
    loaded.clear();
    bob.remove();
    EXPECT_EQ(loaded, (Log{"Book 2", "Page 2"}));
}

// Django: notes §2.5 item 1 and §2.6 — what builds no instance sends no init signal: count(),
// exists() (SELECT … LIMIT 1 without instances), update(), bulk_create() of objects the caller
// built, and saving.
TEST_F(InitSignalsTest, WhatBuildsNoInstanceSendsNothing) {
    listen();
    EXPECT_EQ(Author::objects().count(), 3U);
    EXPECT_TRUE(Author::objects().filter(where(&Author::born) == 1950).exists());
    EXPECT_FALSE(Author::objects().filter(where(&Author::born) == 1).exists());
    Author::objects().filter(where(&Author::name) == "Ann").update({assign(&Author::born, 1901)});
    std::vector<Author> more{{.name = "Dee"}, {.name = "Eve"}};
    Author::objects().bulk_create(more);
    Author::objects().create({.name = "Fay"});
    EXPECT_TRUE(log.empty());
}

// Django: init signals are sent with the model as sender: a receiver for one model does not
// hear the instances of another.
TEST_F(InitSignalsTest, ReceiversForOneModelHearOnlyIt) {
    auto ann = Author::objects().get(where(&Author::name) == "Ann");
    Book::objects().create({.author = ann, .title = "Dune"});
    int authors = 0;
    int books = 0;
    ScopedConnection a = pre_init.connect<Author>([&](Author&, const InitEvent&) { ++authors; });
    ScopedConnection b = pre_init.connect<Book>([&](Book&, const InitEvent&) { ++books; });
    static_cast<void>(Book::objects().all());
    EXPECT_EQ(authors, 0);
    EXPECT_EQ(books, 1);
    static_cast<void>(Author::objects().all());
    EXPECT_EQ(authors, 3);
    EXPECT_EQ(books, 1);
}

}  // namespace init_signals_test
}  // namespace
}  // namespace tocsin::test
