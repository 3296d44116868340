// Changed fields: pre_save / post_save receivers connected with tocsin::track_changes learn which
// fields a save changes and their previous values (what django-model-utils' FieldTracker gives
// Django users, notes §5); models nobody asks about keep no snapshot.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "event_models.hpp"
#include "test_support.hpp"

namespace tocsin::test {
namespace {
namespace changed_fields_test {

using library::Author;
using library::Book;

/// One change as "field: previous -> current" ("born: 1900 -> 1901", "name: none -> 'ann'").
std::string show(const db::Value& v) {
    if (v.is_null()) {
        return "null";
    }
    if (v.type() == db::ValueType::text) {
        return "'" + v.as_text() + "'";
    }
    return std::to_string(v.as_integer());
}
std::vector<std::string> show(const FieldChanges& changes) {
    std::vector<std::string> out;
    for (const auto& c : changes) {
        out.push_back(std::string(c.field) + ": " + (c.previous ? show(*c.previous) : "none") +
                      " -> " + show(c.current));
    }
    return out;
}
using Shown = std::vector<std::string>;

class ChangedFieldsTest : public ModelTest {
  protected:
    void SetUp() override {
        events::build_event_models();
        ModelTest::SetUp();
        pre = pre_save.connect<Author>(track_changes, [this](Author&, const SaveEvent& e) {
            pre_changes.push_back(show(e.changes()));
        });
        post = post_save.connect<Author>(track_changes, [this](Author&, const SaveEvent& e) {
            post_changes.push_back(show(e.changes()));
            if (!e.created) {
                born_changed = e.has_changed("born");
                previous_name = e.previous("name");
            }
        });
    }

    void TearDown() override {
        pre.disconnect();
        post.disconnect();
        ModelTest::TearDown();
    }

    /// An Author as loaded from the database.
    static Author load(const std::string& name) {
        return Author::objects().get(where(&Author::name) == name);
    }

    ScopedConnection pre;
    ScopedConnection post;
    std::vector<Shown> pre_changes;
    std::vector<Shown> post_changes;
    std::optional<bool> born_changed;
    std::optional<db::Value> previous_name;
};

// A new instance: every field is changed, with no previous value.
TEST_F(ChangedFieldsTest, ANewInstanceHasEveryFieldChangedWithoutPrevious) {
    Author::objects().create({.name = "ann", .born = 1900});
    EXPECT_EQ(pre_changes, (std::vector<Shown>{{"name: none -> 'ann'", "born: none -> 1900"}}));
    EXPECT_EQ(post_changes, pre_changes);
}

// Loaded, then modified: exactly the modified fields, with the loaded values.
TEST_F(ChangedFieldsTest, LoadedThenModifiedReportsExactlyThoseFields) {
    Author::objects().create({.name = "ann", .born = 1900});
    pre_changes.clear();
    post_changes.clear();
    Author a = load("ann");
    EXPECT_TRUE(a.tracks_changes());
    a.born = 1901;
    a.save();
    EXPECT_EQ(pre_changes, (std::vector<Shown>{{"born: 1900 -> 1901"}}));
    EXPECT_EQ(post_changes, pre_changes);
    EXPECT_EQ(born_changed, true);
    ASSERT_TRUE(previous_name.has_value());
    EXPECT_EQ(previous_name->as_text(), "ann");
}

// Saving what was loaded changes nothing; after a save, the next save compares with it.
TEST_F(ChangedFieldsTest, AfterASaveTheNextSaveComparesWithWhatWasSaved) {
    Author::objects().create({.name = "ann", .born = 1900});
    post_changes.clear();
    Author a = load("ann");
    a.save();
    EXPECT_EQ(post_changes, (std::vector<Shown>{Shown{}}));
    EXPECT_EQ(born_changed, false);
    a.name = "anne";
    a.save();
    a.save();
    a.born = 1902;
    a.save();
    EXPECT_EQ(post_changes,
              (std::vector<Shown>{{}, {"name: 'ann' -> 'anne'"}, {}, {"born: 1900 -> 1902"}}));
    ASSERT_TRUE(previous_name.has_value());
    EXPECT_EQ(previous_name->as_text(), "anne");
}

// update_fields: only the fields saved are reported and re-snapshotted; an edit left unsaved
// is reported by the save that writes it.
TEST_F(ChangedFieldsTest, UpdateFieldsReportsAndSnapshotsOnlyThoseFields) {
    Author::objects().create({.name = "ann", .born = 1900});
    post_changes.clear();
    Author a = load("ann");
    a.name = "anne";
    a.born = 1901;
    a.save({.update_fields = std::vector<std::string>{"born"}});
    EXPECT_EQ(post_changes, (std::vector<Shown>{{"born: 1900 -> 1901"}}));
    EXPECT_EQ(born_changed, true);
    a.save();
    EXPECT_EQ(post_changes,
              (std::vector<Shown>{{"born: 1900 -> 1901"}, {"name: 'ann' -> 'anne'"}}));
    EXPECT_EQ(born_changed, false);
}

// refresh_from_db reloads the snapshot too: the reloaded values are the new baseline.
TEST_F(ChangedFieldsTest, RefreshFromDbResetsTheSnapshot) {
    Author::objects().create({.name = "ann", .born = 1900});
    post_changes.clear();
    Author a = load("ann");
    Author::objects().filter(where(&Author::name) == "ann").update({assign(&Author::born, 1950)});
    a.born = 1901;
    a.refresh_from_db();
    EXPECT_EQ(a.born, 1950);
    a.save();
    EXPECT_EQ(post_changes, (std::vector<Shown>{Shown{}}));
    a.born = 1951;
    a.save();
    EXPECT_EQ(post_changes, (std::vector<Shown>{{}, {"born: 1950 -> 1951"}}));
}

// A copy shares the snapshot (it is immutable): both compare with the values loaded.
TEST_F(ChangedFieldsTest, ACopyComparesWithTheSameLoadedValues) {
    Author::objects().create({.name = "ann", .born = 1900});
    post_changes.clear();
    const Author a = load("ann");
    Author b = a;
    EXPECT_TRUE(b.tracks_changes());
    b.born = 2000;
    b.save();
    EXPECT_EQ(post_changes, (std::vector<Shown>{{"born: 1900 -> 2000"}}));
}

// Asking about a field the model does not have names the model and the field.
TEST_F(ChangedFieldsTest, AnUnknownFieldIsAnError) {
    std::string message;
    ScopedConnection c = pre_save.connect<Author>([&](Author&, const SaveEvent& e) {
        message = message_of<ModelError>([&] { static_cast<void>(e.has_changed("nope")); });
    });
    Author::objects().create({.name = "ann"});
    EXPECT_TRUE(contains(message, "library.Author has no field named 'nope'"));
}

// No receiver asked about Book: its instances hold no snapshot, and changes() says why it
// cannot answer.
TEST_F(ChangedFieldsTest, NoTrackingWhenNobodyAsked) {
    EXPECT_FALSE(Book::info().tracks_changes());
    EXPECT_TRUE(Author::info().tracks_changes());
    const Author ann = Author::objects().create({.name = "ann"});
    std::string message;
    ScopedConnection c = post_save.connect<Book>([&](Book& b, const SaveEvent& e) {
        EXPECT_EQ(e.tracking, nullptr);
        EXPECT_FALSE(b.tracks_changes());
        message = message_of<ModelError>([&] { static_cast<void>(e.changes()); });
    });
    Book b;
    b.author = ann;
    b.title = "t";
    b.save();
    EXPECT_TRUE(contains(message, "not tracked"));
    const Book loaded = Book::objects().get();
    EXPECT_FALSE(loaded.tracks_changes());
    EXPECT_FALSE(b.tracks_changes());
    EXPECT_FALSE(Book::info().tracks_changes());
}

// An instance loaded before tracking began has no snapshot: its next save reports every field.
TEST_F(ChangedFieldsTest, AnInstanceLoadedBeforeTrackingReportsEveryField) {
    const Author ann = Author::objects().create({.name = "ann"});
    Book b;
    b.author = ann;
    b.title = "t";
    b.save();
    Book before = Book::objects().get();
    EXPECT_FALSE(before.tracks_changes());
    // Page is tracked from now on (and stays so in this process); Book is not.
    ScopedConnection c =
        post_save.connect<library::Page>(track_changes, [](library::Page&, const SaveEvent&) {});
    EXPECT_TRUE(library::Page::info().tracks_changes());
    library::Page p;
    p.book = b;
    p.number = 3;
    p.save();
    // A Page built by hand without snapshot, then saved as an UPDATE.
    library::Page by_hand;
    by_hand.id = p.id;
    by_hand.book = b;
    by_hand.number = 4;
    Shown seen;
    ScopedConnection d = post_save.connect<library::Page>(
        [&](library::Page&, const SaveEvent& e) { seen = show(e.changes()); });
    by_hand.save();
    EXPECT_EQ(seen, (Shown{"book: none -> 1", "number: none -> 4"}));
    EXPECT_TRUE(by_hand.tracks_changes());
}

// Models extending a tracked model: with both flags, every subclass tracks its fields, the
// inherited ones first.
TEST_F(ChangedFieldsTest, SubclassesTrackInheritedFieldsToo) {
    std::vector<Shown> seen;
    ScopedConnection c = post_save.connect<events::Event>(
        with_subclasses | track_changes,
        [&](events::Event&, const SaveEvent& e) { seen.push_back(show(e.changes())); });
    const Author ann = Author::objects().create({.name = "ann"});
    post_changes.clear();
    events::Comment comment;
    comment.user = ann;
    comment.kind = "comment";
    comment.text = "hi";
    comment.save();
    events::Comment loaded = events::Comment::objects().get();
    EXPECT_TRUE(loaded.tracks_changes());
    loaded.kind = "edited";
    loaded.text = "hello";
    loaded.save();
    EXPECT_EQ(seen, (std::vector<Shown>{
                        {"user: none -> 1", "kind: none -> 'comment'", "text: none -> 'hi'"},
                        {"kind: 'comment' -> 'edited'", "text: 'hi' -> 'hello'"}}));
}

}  // namespace changed_fields_test
}  // namespace
}  // namespace tocsin::test
