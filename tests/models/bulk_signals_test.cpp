// Opt-in bulk signals: post_bulk_create and post_update, one send per call, only to receivers
// that connected (Django sends no signal for either; tocsin keeps that default).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace tocsin::test {
namespace {
namespace bulk_signals_test {

using library::Author;
using library::Book;

class BulkSignalsTest : public ModelTest {};

TEST_F(BulkSignalsTest, BulkCreateSendsOnceWithEveryObjectAndItsId) {
    std::vector<BulkCreateEvent> events;
    std::vector<std::string> names;
    ScopedConnection c = post_bulk_create.connect<Author>([&](const BulkCreateEvent& e) {
        events.push_back(e);
        for (std::size_t i = 0; i < e.objects.size(); ++i) {
            names.push_back(e.object<Author>(i).name);
        }
    });
    std::vector<Author> authors{{.name = "Ann"}, {.name = "Bob"}, {.name = "Cy"}};
    Author::objects().bulk_create(authors);
    ASSERT_EQ(events.size(), 1U);
    EXPECT_EQ(events[0].pks,
              (std::vector<std::int64_t>{*authors[0].id, *authors[1].id, *authors[2].id}));
    EXPECT_EQ(events[0].database, "default");
    EXPECT_EQ(names, (std::vector<std::string>{"Ann", "Bob", "Cy"}));
}

TEST_F(BulkSignalsTest, OnlyTheConnectedModelsSenderIsHeardAndSaveSignalsStaySilent) {
    int bulk = 0;
    int saves = 0;
    ScopedConnection c = post_bulk_create.connect<Book>([&](const BulkCreateEvent&) { ++bulk; });
    ScopedConnection s = post_save.connect<Author>([&](Author&, const SaveEvent&) { ++saves; });
    std::vector<Author> authors{{.name = "Ann"}};
    Author::objects().bulk_create(authors);
    EXPECT_EQ(bulk, 0) << "a Book receiver heard an Author bulk_create";
    EXPECT_EQ(saves, 0) << "bulk_create sends no post_save, as in Django";
}

TEST_F(BulkSignalsTest, AnEmptyBulkCreateSendsNothing) {
    int bulk = 0;
    ScopedConnection c = post_bulk_create.connect<Author>([&](const BulkCreateEvent&) { ++bulk; });
    std::vector<Author> none;
    Author::objects().bulk_create(none);
    EXPECT_EQ(bulk, 0);
}

TEST_F(BulkSignalsTest, AReceiverThatThrowsRollsTheBulkCreateBack) {
    ScopedConnection c = post_bulk_create.connect<Author>(
        [](const BulkCreateEvent&) { throw std::runtime_error("refused"); });
    std::vector<Author> authors{{.name = "Ann"}, {.name = "Bob"}};
    EXPECT_THROW(Author::objects().bulk_create(authors), std::runtime_error);
    EXPECT_EQ(rows("library_author"), 0);
}

TEST_F(BulkSignalsTest, UpdateSendsTheIdsOfTheRowsItChangedAndTheFields) {
    std::vector<Author> authors{
        {.name = "Ann", .born = 1900}, {.name = "Bob", .born = 1950}, {.name = "Cy", .born = 1960}};
    Author::objects().bulk_create(authors);
    std::vector<UpdateEvent> events;
    ScopedConnection c =
        post_update.connect<Author>([&](const UpdateEvent& e) { events.push_back(e); });
    const auto changed = Author::objects()
                             .filter(where(&Author::born) >= 1950)
                             .update({assign(&Author::born, 2000)});
    EXPECT_EQ(changed, 2);
    ASSERT_EQ(events.size(), 1U);
    EXPECT_EQ(events[0].pks, (std::vector<std::int64_t>{*authors[1].id, *authors[2].id}));
    EXPECT_EQ(events[0].fields, std::vector<std::string>{"born"});
    EXPECT_EQ(events[0].database, "default");
    EXPECT_EQ(Author::objects().filter(where(&Author::born) == 2000).count(), 2U);
}

TEST_F(BulkSignalsTest, AnUpdateThatMatchesNothingSendsNothing) {
    int calls = 0;
    ScopedConnection c = post_update.connect<Author>([&](const UpdateEvent&) { ++calls; });
    EXPECT_EQ(Author::objects()
                  .filter(where(&Author::name) == "nobody")
                  .update({assign(&Author::born, 1)}),
              0);
    EXPECT_EQ(calls, 0);
}

TEST_F(BulkSignalsTest, ByLabelAndForEveryModel) {
    std::vector<std::string> heard;
    ScopedConnection any = post_update.connect([&](const Sender& s, const UpdateEvent& e) {
        heard.push_back(model_name(s) + " " + std::to_string(e.pks.size()));
    });
    auto ann = Author::objects().create({.name = "Ann"});
    Book::objects().create({.author = ann, .title = "One"});
    Book::objects().create({.author = ann, .title = "Two"});
    Book::objects().update({assign(&Book::pages, 10)});
    Author::objects().update({assign(&Author::born, 1)});
    EXPECT_EQ(heard, (std::vector<std::string>{"Book 2", "Author 1"}));
}

TEST_F(BulkSignalsTest, ACommitTimeReceiverKeepsTheIdsButNotTheInstances) {
    std::vector<std::int64_t> pks;
    std::size_t objects = 99;
    ScopedConnection c = post_bulk_create.connect<Author>(
        [&](const BulkCreateEvent& e) {
            pks = e.pks;
            objects = e.objects.size();
        },
        {.on_commit = true});
    {
        auto tx = atomic();
        std::vector<Author> authors{{.name = "Ann"}, {.name = "Bob"}};
        Author::objects().bulk_create(authors);
        EXPECT_TRUE(pks.empty());
    }
    EXPECT_EQ(pks.size(), 2U);
    EXPECT_EQ(objects, 0U);
}

}  // namespace bulk_signals_test
}  // namespace
}  // namespace tocsin::test
