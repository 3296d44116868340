// Fixtures: loaddata() and dumpdata() in Django's JSON format. Ported behaviours: Django's
// tests/signals SignalTests.test_save_signals (the raw part), tests/fixtures (FixtureLoadingTests:
// loading, dumpdata layout, errors naming the fixture; loaddata in one transaction) and
// tests/fixtures_regress (forward references, a dangling key, unknown fields, unicode), and
// many-to-many fields as Django's serializers write and read them (tests/serializers
// SerializersTestBase.test_serialize_m2m... and tests/fixtures_regress M2M tests).
#include <tocsin/models/fixtures.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "event_models.hpp"
#include "test_support.hpp"

// Models with many-to-many fields: a relation to another model, and a symmetrical one to self.
namespace club {
struct Group : tocsin::Model<Group> {
    static constexpr std::string_view label = "club.Group";
    std::string name;
    static auto fields() { return tocsin::fields(tocsin::field("name", &Group::name)); }
};
struct Member : tocsin::Model<Member> {
    static constexpr std::string_view label = "club.Member";
    std::string name;
    tocsin::ManyToMany<Group> groups;
    tocsin::ManyToMany<Member> friends;  // symmetrical (Django's default for a relation to self)
    static auto fields() {
        return tocsin::fields(tocsin::field("name", &Member::name),
                              tocsin::field("groups", &Member::groups),
                              tocsin::field("friends", &Member::friends));
    }
};
}  // namespace club

namespace tocsin::test {
namespace {
namespace fixtures_test {

using library::Author;
using library::Book;
using library::Category;
using library::Page;
using shop::Customer;
using Log = std::vector<std::string>;

std::string yes(bool b) {
    return b ? "true" : "false";
}

class FixturesTest : public ModelTest {
  protected:
    void SetUp() override {
        static_cast<void>(club::Group::info());
        static_cast<void>(club::Member::info());
        events::build_event_models();
        ModelTest::SetUp();
    }
    void TearDown() override {
        connections.clear();
        ModelTest::TearDown();
    }

    /// Records pre_save/post_save of every model with raw and created.
    void listen_saves() {
        connections.emplace_back(
            pre_save.connect([this](const Sender& s, ModelBase& m, const SaveEvent& e) {
                log.push_back("pre_save " + describe(s, m) + " raw=" + yes(e.raw) +
                              " adding=" + yes(m.state().adding));
            }));
        connections.emplace_back(
            post_save.connect([this](const Sender& s, ModelBase& m, const SaveEvent& e) {
                log.push_back("post_save " + describe(s, m) + " created=" + yes(e.created) +
                              " raw=" + yes(e.raw));
            }));
    }

    /// The tables of the many-to-many relations (auto-created through models).
    static std::vector<const ManyToManyInfo*> relations() {
        std::vector<const ManyToManyInfo*> out;
        for (const ModelInfo* m : all_models()) {
            for (const auto& r : m->many_to_many) {
                out.push_back(&r);
            }
        }
        return out;
    }

    /// Every row of every test table, read with plain SQL, by table then id; a through table's
    /// rows as (source, target) pairs in order (their own ids are not part of the relation).
    static std::map<std::string, std::vector<db::Row>> snapshot() {
        std::map<std::string, std::vector<db::Row>> out;
        for (const ModelInfo* m : all_models()) {
            out[m->table] = db::connection().query("SELECT * FROM \"" + m->table +
                                                   "\" ORDER BY \"" + m->pk_column + "\"");
        }
        for (const ManyToManyInfo* r : relations()) {
            out[r->through->table] = db::connection().query(
                "SELECT \"" + r->source_column + "\", \"" + r->target_column + "\" FROM \"" +
                r->through->table + "\" ORDER BY 1, 2");
        }
        return out;
    }

    /// Rows in every test table (through tables included) together.
    static std::int64_t total_rows() {
        std::int64_t n = 0;
        for (const ModelInfo* m : all_models()) {
            n += rows(m->table);
        }
        for (const ManyToManyInfo* r : relations()) {
            n += rows(r->through->table);
        }
        return n;
    }

    /// Empties every table (plain SQL, no signals; keys are deferred until the commit).
    static void wipe() {
        atomic([] {
            for (const ManyToManyInfo* r : relations()) {
                db::connection().execute("DELETE FROM \"" + r->through->table + "\"");
            }
            for (const ModelInfo* m : all_models()) {
                db::connection().execute("DELETE FROM \"" + m->table + "\"");
            }
        });
    }

    /// Writes `text` to a file of the test's directory and returns its path.
    std::filesystem::path write(const std::string& name, const std::string& text) {
        const std::filesystem::path path = dir.file(name);
        std::ofstream(path, std::ios::binary) << text;
        return path;
    }

    Log log;
    std::vector<ScopedConnection> connections;
};

// Django: signals.tests.SignalTests.test_save_signals (raw part) and loaddata's raw saves —
// every object of a fixture is saved with raw=True; new pks are inserted (created=true), and
// the instance is "adding" in pre_save, as a deserialized object is in Django.
TEST_F(FixturesTest, ReceiversSeeRawSaves) {
    listen_saves();
    const auto result = loaddata_json(R"([
        {"model": "shop.customer", "pk": 1, "fields": {"name": "John Smith"}},
        {"model": "shop.customer", "pk": 2, "fields": {"name": "Ann", "email": "a@x"}}
    ])");
    EXPECT_EQ(result.objects, 2U);
    EXPECT_EQ(result.fixtures, 1U);
    EXPECT_EQ(log, (Log{"pre_save Customer 1 raw=true adding=true",
                        "post_save Customer 1 created=true raw=true",
                        "pre_save Customer 2 raw=true adding=true",
                        "post_save Customer 2 created=true raw=true"}));
    EXPECT_EQ(Customer::objects().get(where(&ModelBase::id) == 2).email,
              std::optional<std::string>("a@x"));

    // An ordinary save afterwards is not raw.
    log.clear();
    auto john = Customer::objects().get(where(&ModelBase::id) == 1);
    john.save();
    EXPECT_EQ(log, (Log{"pre_save Customer 1 raw=false adding=false",
                        "post_save Customer 1 created=false raw=false"}));
}

// Django's raw save with a pk: an existing row is updated (created=false), its fields absent
// from the fixture reset to the model's defaults (the deserialized object is a new instance).
TEST_F(FixturesTest, AnExistingPkIsUpdated) {
    auto ann = Author::objects().create({.name = "Ann", .born = 1950});
    ASSERT_EQ(ann.id, std::optional<std::int64_t>(1));
    listen_saves();
    loaddata_json(R"([{"model": "library.author", "pk": 1, "fields": {"name": "Anne"}}])");
    EXPECT_EQ(log, (Log{"pre_save Author 1 raw=true adding=true",
                        "post_save Author 1 created=false raw=true"}));
    EXPECT_EQ(rows("library_author"), 1);
    ann.refresh_from_db();
    EXPECT_EQ(ann.name, "Anne");
    EXPECT_EQ(ann.born, 0);  // absent: the default
}

// Django's deserializer builds each object with Model(**data): pre_init and post_init are sent;
// tocsin sends them with the fixture's values as the row ("id" first).
TEST_F(FixturesTest, InitSignalsCarryTheFixtureValues) {
    std::vector<db::Row> seen;
    Log order;
    ScopedConnection pre = pre_init.connect<Author>([&](Author& a, const InitEvent& e) {
        order.push_back("pre_init name='" + a.name + "'");
        ASSERT_NE(e.row, nullptr);
        seen.push_back(*e.row);
    });
    ScopedConnection post = post_init.connect<Author>(
        [&](Author& a, const InitEvent&) { order.push_back("post_init name='" + a.name + "'"); });
    loaddata_json(R"([{"model": "library.author", "pk": 4, "fields": {"name": "Bo", "born": 7}},
                      {"model": "library.author", "fields": {"name": "Cy"}}])");
    EXPECT_EQ(order, (Log{"pre_init name=''", "post_init name='Bo'", "pre_init name=''",
                          "post_init name='Cy'"}));
    ASSERT_EQ(seen.size(), 2U);
    EXPECT_EQ(seen[0], (db::Row{std::int64_t{4}, "Bo", std::int64_t{7}}));
    EXPECT_EQ(seen[1], (db::Row{db::Value(), "Cy", std::int64_t{0}}));
}

// tests/fixtures: an object without "pk" gets a new id; absent fields take the defaults.
TEST_F(FixturesTest, WithoutPkANewIdAndAbsentFieldsTakeDefaults) {
    Author::objects().create({.name = "First"});
    loaddata_json(R"([{"model": "lab.sample", "fields": {"count": 1}},
                      {"model": "library.author", "pk": null, "fields": {"name": "Second"}}])");
    const auto second = Author::objects().get(where(&Author::name) == "Second");
    EXPECT_EQ(second.id, std::optional<std::int64_t>(2));
    const auto sample = lab::Sample::objects().get(where(&lab::Sample::count) == 1);
    const lab::Sample defaults{};
    EXPECT_EQ(sample.big, defaults.big);
    EXPECT_EQ(sample.text, "hello");
    EXPECT_TRUE(sample.flag);
    EXPECT_EQ(sample.note, std::optional<std::string>("n/a"));
    EXPECT_EQ(sample.color, lab::Color::green);
    EXPECT_EQ(sample.day, defaults.day);
}

// Django's sequence_reset_sql after loaddata: a new object after fixtures with explicit pks gets
// the next id (PostgreSQL's identity generator is moved past them; SQLite's AUTOINCREMENT is).
TEST_F(FixturesTest, ANewObjectAfterExplicitPksGetsTheNextId) {
    loaddata_json(R"([{"model": "library.author", "pk": 7, "fields": {"name": "Seven"}}])");
    const auto next = Author::objects().create({.name = "Next"});
    EXPECT_EQ(next.id, std::optional<std::int64_t>(8));
}

// tests/fixtures_regress: forward references load (Django disables constraint checks while
// loading and checks them at the end): a page before its book before its author, a child
// category before its parent.
TEST_F(FixturesTest, ForeignKeysInAnyOrder) {
    const auto result = loaddata_json(R"([
        {"model": "library.page", "pk": 1, "fields": {"book": 2, "number": 1}},
        {"model": "library.book", "pk": 2, "fields": {"author": 3, "title": "Dune", "pages": 9}},
        {"model": "library.category", "pk": 5, "fields": {"name": "child", "parent": 6}},
        {"model": "library.category", "pk": 6, "fields": {"name": "root", "parent": null}},
        {"model": "library.author", "pk": 3, "fields": {"name": "Frank"}}
    ])");
    EXPECT_EQ(result.objects, 5U);
    const auto page = Page::objects().get(where(&ModelBase::id) == 1);
    EXPECT_EQ(page.book.get().author.get().name, "Frank");
    EXPECT_EQ(Category::objects().get(where(&ModelBase::id) == 5).parent.get().name, "root");
}

// Model labels are case-insensitive; a key may be given by its attribute name "<field>_id".
TEST_F(FixturesTest, LabelsAreCaseInsensitiveAndKeysMayUseTheirColumnName) {
    loaddata_json(R"([{"model": "LIBRARY.Author", "pk": 1, "fields": {"name": "A"}},
                      {"model": "library.BOOK", "pk": 1, "fields": {"author_id": 1, "title": "T"}}])");
    EXPECT_EQ(Book::objects().get(where(&ModelBase::id) == 1).author.id(),
              std::optional<std::int64_t>(1));
}

// tests/fixtures: several fixtures load in one transaction; keys may cross files.
TEST_F(FixturesTest, MultipleFiles) {
    const auto books = write("books.json", R"([{"model": "library.book", "pk": 1,
        "fields": {"author": 1, "title": "Emma"}}])");
    const auto authors = write("authors.json", R"([{"model": "library.author", "pk": 1,
        "fields": {"name": "Jane"}}, {"model": "library.author", "pk": 2, "fields": {"name": "X"}}])");
    const auto result = loaddata({books, authors});
    EXPECT_EQ(result.objects, 3U);
    EXPECT_EQ(result.fixtures, 2U);
    EXPECT_EQ(Book::objects().get(where(&ModelBase::id) == 1).author.get().name, "Jane");

    // A bad second file: nothing of the first is loaded either.
    wipe();
    const auto bad =
        write("bad.json", R"([{"model": "library.author", "pk": 9, "fields": {"nme": "?"}}])");
    try {
        static_cast<void>(loaddata({authors, bad}));
        ADD_FAILURE() << "no FixtureError";
    } catch (const FixtureError& e) {
        EXPECT_EQ(e.file(), bad.string());
        EXPECT_EQ(e.object_index(), std::optional<std::size_t>(0));
        EXPECT_EQ(e.field(), "nme");
    }
    EXPECT_EQ(total_rows(), 0);
}

TEST_F(FixturesTest, AMissingFileIsAFixtureError) {
    const auto missing = dir.path() / "nope.json";
    const std::string message =
        message_of<FixtureError>([&] { static_cast<void>(loaddata(missing)); });
    EXPECT_TRUE(contains(message, "nope.json"));
}

// tests/fixtures_regress.test_unicode / test_loaddata_not_ascii: text round-trips as UTF-8,
// \u escapes included.
TEST_F(FixturesTest, UnicodeText) {
    loaddata_json(
        R"([{"model": "library.author", "pk": 1, "fields": {"name": "Zoë 日本語 🎉"}},
            {"model": "library.author", "pk": 2, "fields": {"name": "Caf\u00e9 \ud83c\udf89 \"q\"\n"}}])");
    EXPECT_EQ(Author::objects().get(where(&ModelBase::id) == 1).name, "Zoë 日本語 🎉");
    EXPECT_EQ(Author::objects().get(where(&ModelBase::id) == 2).name, "Café 🎉 \"q\"\n");
    const std::string dumped = dumpdata({.labels = {"library.Author"}});
    // Written as UTF-8 (Django: ensure_ascii=False), with JSON escapes where needed.
    EXPECT_TRUE(contains(dumped, R"("name": "Zoë 日本語 🎉")"));
    EXPECT_TRUE(contains(dumped, R"("name": "Café 🎉 \"q\"\n")"));
}

// ------------------------------------------------------------------------------ dumpdata

// tests/fixtures.test_dumpdata_with_indent: Django's layout — "[", objects separated by ",",
// each json.dump(indent=n, separators=(",", ": ")), "]"; lowercase labels; keys as pks.
TEST_F(FixturesTest, DumpdataWritesDjangosLayout) {
    auto ann = Author::objects().create({.name = "Ann", .born = 1950});
    Book::objects().create({.author = ann, .title = "Emma", .pages = 3});
    Customer::objects().create({.name = "Cy"});
    EXPECT_EQ(dumpdata({.labels = {"library.author", "library.Book", "shop"}}),
              R"([
{
  "model": "library.author",
  "pk": 1,
  "fields": {
    "name": "Ann",
    "born": 1950
  }
},
{
  "model": "library.book",
  "pk": 1,
  "fields": {
    "author": 1,
    "title": "Emma",
    "pages": 3
  }
},
{
  "model": "shop.customer",
  "pk": 1,
  "fields": {
    "name": "Cy",
    "email": null
  }
}
]
)");
    EXPECT_EQ(
        dumpdata({.labels = {"library.Author", "library.Book"}, .indent = -1}),
        R"([{"model": "library.author", "pk": 1, "fields": {"name": "Ann", "born": 1950}}, )"
        R"({"model": "library.book", "pk": 1, "fields": {"author": 1, "title": "Emma", "pages": 3}}])");
    EXPECT_EQ(dumpdata({.labels = {"library.page"}}), "[\n]\n");
    EXPECT_EQ(dumpdata({.labels = {"library.page"}, .indent = -1}), "[]");
    std::ostringstream out;
    dumpdata(out, {.labels = {"shop.customer"}, .indent = 4});
    EXPECT_TRUE(contains(out.str(), "{\n    \"model\": \"shop.customer\",\n"));
}

TEST_F(FixturesTest, DumpdataUnknownLabels) {
    EXPECT_TRUE(contains(
        message_of<ModelError>([] { static_cast<void>(dumpdata({.labels = {"library.Nope"}})); }),
        "library.Nope"));
    EXPECT_TRUE(contains(
        message_of<ModelError>([] { static_cast<void>(dumpdata({.labels = {"nowhere"}})); }),
        "nowhere"));
}

// Every field type, as Django writes it: booleans, ISO 8601 "Z" time points (milliseconds as
// Django's encoder, microseconds when finer), base64 blobs, null.
TEST_F(FixturesTest, DumpdataValueFormats) {
    using namespace std::chrono;
    lab::Sample s;
    s.flag = false;
    s.at = system_clock::time_point(sys_days(year(2024) / 1 / 2) + hours(3) + minutes(4) +
                                    seconds(5) + milliseconds(123));
    s.day = sys_seconds(sys_days(year(1969) / 12 / 31) + hours(23) + minutes(59) + seconds(59));
    s.ratio = 1.0;
    s.data = {std::byte{0}, std::byte{0xff}, std::byte{0x10}, std::byte{'a'}};
    s.note = std::nullopt;
    s.save();
    lab::Sample t;
    t.at = system_clock::time_point(sys_days(year(2024) / 1 / 2) + microseconds(7));
    t.save();
    const std::string text = dumpdata({.labels = {"lab.sample"}, .indent = -1});
    EXPECT_TRUE(contains(
        text,
        R"({"model": "lab.sample", "pk": 1, "fields": {"count": 7, "big": 5000000000, "ratio": 1.0, )"
        R"("text": "hello", "flag": false, "at": "2024-01-02T03:04:05.123Z", )"
        R"("day": "1969-12-31T23:59:59Z", "maybe": null, "note": null, "small": 3, "color": 2, )"
        R"("data": "AP8QYQ=="}})"));
    EXPECT_TRUE(contains(text, R"("at": "2024-01-02T00:00:00.000007Z")"));
}

// What JSON (or loaddata) cannot carry is refused with the model, pk and field named.
TEST_F(FixturesTest, DumpdataRefusesValuesItCannotWriteBack) {
    using namespace std::chrono;
    lab::Sample s;
    s.day = sys_seconds(sys_days(year(12000) / 1 / 1));
    s.save();
    EXPECT_TRUE(contains(message_of<ModelError>([] { static_cast<void>(dumpdata()); }),
                         "lab.sample pk=1, field 'day'"));
    s.day = {};
    s.text = std::string("\xff\xfe");
    if (on_postgresql()) {  // PostgreSQL refuses text that is not UTF-8 when it is written
        EXPECT_TRUE(contains(message_of<db::DataError>([&] { s.save(); }),
                             "invalid byte sequence for encoding \"UTF8\""));
        return;
    }
    s.save();
    EXPECT_TRUE(contains(message_of<ModelError>([] { static_cast<void>(dumpdata()); }),
                         "field 'text' holds text that is not valid UTF-8"));
}

// Dump, wipe, load, dump again: the same text and the same rows (every type, keys, NULLs,
// unicode, a tree).
TEST_F(FixturesTest, RoundTrip) {
    using namespace std::chrono;
    auto ann = Author::objects().create({.name = "Ann ✓", .born = -44});
    auto bob = Author::objects().create({.name = "Bob", .born = 1990});
    auto emma = Book::objects().create({.author = ann, .title = "Emma\t\"1\"", .pages = 300});
    Book::objects().create({.author = bob, .title = "", .pages = 0});
    Page::objects().create({.book = emma, .number = 1});
    library::Bio::objects().create({.author = bob, .text = "line\nbreak"});
    auto root = Category::objects().create({.name = "root"});
    Category::objects().create({.name = "leaf", .parent = root});
    auto cy = Customer::objects().create({.name = "Cy", .email = std::string("c@y")});
    Customer::objects().create({.name = "Di"});
    shop::Review::objects().create({.book = emma, .customer = cy, .stars = 5});
    lab::Sample s;
    s.at = system_clock::time_point(sys_days(year(1901) / 2 / 3) + microseconds(123456));
    s.maybe = -3;
    s.ratio = 0.1;
    s.data = {std::byte{1}, std::byte{2}};
    s.text = "日本";
    s.save();
    lab::Sample{}.save();
    lab::Legacy::objects().create({.title = "legacy"});
    emma.remove();  // a gap in the ids
    Book::objects().create({.author = ann, .title = "Persuasion"});

    const auto before = snapshot();
    const std::string first = dumpdata();
    wipe();
    ASSERT_EQ(total_rows(), 0);
    const auto result = loaddata_json(first, "dump.json");
    std::size_t count = 0;
    for (const auto& [table, table_rows] : before) {
        count += table_rows.size();
    }
    EXPECT_EQ(result.objects, count);
    EXPECT_EQ(count, 13U);  // the page went with its book; the review lost its book
    EXPECT_EQ(snapshot(), before);
    EXPECT_EQ(dumpdata(), first);
    // The one-line form loads too.
    const std::string compact = dumpdata({.indent = -1});
    wipe();
    loaddata_json(compact);
    EXPECT_EQ(snapshot(), before);
}

// ------------------------------------------------------------------------------ errors

struct BadFixture {
    const char* name;
    const char* json;
    std::optional<std::size_t> index;
    const char* field;
    const char* says;
};

// tests/fixtures and fixtures_regress error cases: each throws FixtureError naming the file, the
// object and the field, and loads nothing — the bad object is the 3rd, after two good ones.
TEST_F(FixturesTest, EveryMalformedFixtureLoadsNothing) {
    const std::string good =
        R"({"model": "library.author", "pk": 1, "fields": {"name": "A"}},
           {"model": "library.book", "pk": 1, "fields": {"author": 1, "title": "T"}},)";
    const std::vector<BadFixture> cases = {
        {"bad json", "[{\"model\": ", std::nullopt, "", "invalid JSON"},
        {"not a list", R"({"model": "library.author"})", std::nullopt, "", "JSON list"},
        {"not an object", "[1, 2]", 0, "", "expected an object"},
        {"unknown model", R"({"model": "library.nope", "fields": {}})", 2, "",
         "Invalid model identifier: 'library.nope'"},
        {"no model", R"({"pk": 3, "fields": {}})", 2, "", "missing \"model\""},
        {"model not a string", R"({"model": 3, "fields": {}})", 2, "", "\"model\" must be"},
        {"no fields", R"({"model": "library.author", "pk": 3})", 2, "", "missing \"fields\""},
        {"fields not an object", R"({"model": "library.author", "pk": 3, "fields": []})", 2, "",
         "\"fields\" must be an object"},
        {"bad pk", R"({"model": "library.author", "pk": "x", "fields": {}})", 2, "",
         "\"pk\" must be an integer"},
        {"unknown field", R"({"model": "library.author", "pk": 3, "fields": {"nmae": "B"}})", 2,
         "nmae", "no such field in library.Author"},
        {"wrong type", R"({"model": "library.author", "pk": 3, "fields": {"born": "1950"}})", 2,
         "born", "expected an integer"},
        {"null in a non-null field",
         R"({"model": "library.author", "pk": 3, "fields": {"name": null}})", 2, "name",
         "null is not allowed"},
        {"null key", R"({"model": "library.book", "pk": 3, "fields": {"author": null}})", 2,
         "author", "null is not allowed"},
        {"out of range", R"({"model": "library.author", "pk": 3, "fields": {"born": 3000000000}})",
         2, "born", "does not fit"},
        {"bool for int", R"({"model": "library.author", "pk": 3, "fields": {"born": true}})", 2,
         "born", "expected an integer"},
        {"int for bool", R"({"model": "lab.sample", "pk": 3, "fields": {"flag": 1}})", 2, "flag",
         "expected true or false"},
        {"bad time",
         R"({"model": "lab.sample", "pk": 3, "fields": {"at": "2024-02-30T00:00:00Z"}})", 2, "at",
         "ISO 8601"},
        {"time beyond a nanosecond time_point (2262)",
         R"({"model": "lab.sample", "pk": 3, "fields": {"at": "2300-01-01T00:00:00Z"}})", 2, "at",
         "does not fit"},
        {"time beyond the year 9999 after its offset",
         R"({"model": "lab.sample", "pk": 3, "fields": {"day": "9999-12-31T23:00:00-05:00"}})", 2,
         "day", "ISO 8601"},
        {"bad base64", R"({"model": "lab.sample", "pk": 3, "fields": {"data": "a==="}})", 2, "data",
         "base64"},
        {"natural key", R"({"model": "library.book", "pk": 3, "fields": {"author": ["A"]}})", 2,
         "author", "library.author has no natural key"},
        {"dangling key", R"({"model": "library.book", "pk": 3, "fields": {"author": 99}})", 2,
         "author", "library.author pk=99 does not exist"},
        {"unique violated", R"({"model": "library.author", "pk": 3, "fields": {"name": "A"}})", 2,
         "", "could not save"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const bool whole = c.index == std::nullopt || *c.index == 0;
        const std::string text = whole ? std::string(c.json) : "[" + good + c.json + "]";
        try {
            static_cast<void>(loaddata_json(text, "bad.json"));
            ADD_FAILURE() << "no FixtureError";
        } catch (const FixtureError& e) {
            EXPECT_EQ(e.file(), "bad.json");
            EXPECT_EQ(e.object_index(), c.index);
            EXPECT_EQ(e.field(), c.field);
            const std::string what = e.what();
            EXPECT_TRUE(contains(what, "Problem installing fixture 'bad.json'"));
            EXPECT_TRUE(contains(what, c.says));
            if (c.index) {
                EXPECT_TRUE(contains(what, "object at index " + std::to_string(*c.index)));
            }
            if (*c.field != '\0') {
                EXPECT_TRUE(contains(what, std::string("field '") + c.field + "'"));
            }
        }
        EXPECT_EQ(total_rows(), 0) << "something was loaded";
    }
}

TEST_F(FixturesTest, TheErrorNamesTheObjectsModelAndPk) {
    const std::string message = message_of<FixtureError>([] {
        static_cast<void>(loaddata_json(
            R"([{"model": "library.Book", "pk": 7, "fields": {"author": 99, "title": "x"}}])",
            "books.json"));
    });
    EXPECT_EQ(message,
              "Problem installing fixture 'books.json': object at index 0 (library.Book pk=7), "
              "field 'author': library.author pk=99 does not exist (dangling foreign key)");
}

// A failed load leaves existing rows as they were (an update of a pk included), and receivers
// that ran saw saves that are rolled back.
TEST_F(FixturesTest, AFailedLoadLeavesTheDatabaseAsItWas) {
    Author::objects().create({.name = "Ann", .born = 1});
    const auto before = snapshot();
    listen_saves();
    EXPECT_THROW(static_cast<void>(loaddata_json(R"([
        {"model": "library.author", "pk": 1, "fields": {"name": "Changed"}},
        {"model": "library.author", "pk": 2, "fields": {"name": "New"}},
        {"model": "library.book", "pk": 1, "fields": {"author": 3, "title": "T"}}
    ])")),
                 FixtureError);
    EXPECT_EQ(log.size(), 6U);  // three objects saved, then the key check failed
    EXPECT_EQ(snapshot(), before);
}

// A receiver's own exception propagates unchanged (after the rollback).
TEST_F(FixturesTest, AReceiverExceptionPropagates) {
    struct Boom {};
    ScopedConnection c = post_save.connect<Author>([](Author& a, const SaveEvent&) {
        if (a.name == "B") {
            throw Boom{};
        }
    });
    EXPECT_THROW(static_cast<void>(loaddata_json(
                     R"([{"model": "library.author", "fields": {"name": "A"}},
                         {"model": "library.author", "fields": {"name": "B"}}])")),
                 Boom);
    EXPECT_EQ(rows("library_author"), 0);
}

// Time points: Django's forms (Z, offsets, naive as UTC, a space for T, a date alone).
TEST_F(FixturesTest, TimePointFormats) {
    using namespace std::chrono;
    const auto expected = sys_days(year(2024) / 1 / 2) + hours(3) + minutes(4) + seconds(5);
    const std::vector<std::string> forms = {
        "2024-01-02T03:04:05Z",      "2024-01-02T03:04:05+00:00", "2024-01-02 03:04:05",
        "2024-01-02T05:04:05+02:00", "2024-01-01T22:04:05-0500",  "2024-01-02T03:04:05.000",
        "2024-01-02t03:04:05z",
    };
    std::int64_t pk = 1;
    for (const auto& form : forms) {
        SCOPED_TRACE(form);
        loaddata_json(R"([{"model": "lab.sample", "pk": )" + std::to_string(pk) +
                      R"(, "fields": {"at": ")" + form + R"("}}])");
        EXPECT_EQ(lab::Sample::objects().get(where(&ModelBase::id) == pk).at,
                  system_clock::time_point(expected));
        ++pk;
    }
    loaddata_json(R"([{"model": "lab.sample", "pk": 100, "fields": {"at": "2024-01-02",
        "day": "1970-01-02T00:00:00.999999999Z"}}])");
    const auto s = lab::Sample::objects().get(where(&ModelBase::id) == 100);
    EXPECT_EQ(s.at, system_clock::time_point(sys_days(year(2024) / 1 / 2)));
    EXPECT_EQ(s.day, sys_seconds(sys_days(year(1970) / 1 / 2)));  // floored to the member's unit
}

// loaddata on another alias writes there only.
TEST_F(FixturesTest, AnotherDatabase) {
    db::configure({{"default", db::configuration().at("default")},
                   {"other", test_database(dir, "other.db", databases)}});
    migrate("other");
    loaddata_json(R"([{"model": "library.author", "pk": 5, "fields": {"name": "O"}}])", "o.json",
                  {.database = "other"});
    EXPECT_EQ(rows("library_author", "other"), 1);
    EXPECT_EQ(rows("library_author"), 0);
    EXPECT_TRUE(
        contains(dumpdata({.labels = {"library.author"}, .database = "other"}), "\"pk\": 5"));
}

// ------------------------------------------------------------------------------ many-to-many

using club::Group;
using club::Member;

// Django's serializers (handle_m2m_field): a many-to-many field is written inside "fields",
// after the columns, as the list of the target pks (tocsin orders them by pk); a symmetrical
// relation shows on both sides, as both rows exist. Dump, wipe, load, dump: the same text and
// the same relation rows (tests/serializers SerializersTestBase.test_serialize_m2m... and
// fixtures_regress M2MNaturalKeyFixtureTests' round trips, without natural keys).
TEST_F(FixturesTest, ManyToManyDumpAndRoundTrip) {
    auto staff = Group::objects().create({.name = "staff"});
    auto admins = Group::objects().create({.name = "admins"});
    auto guests = Group::objects().create({.name = "guests"});
    auto ann = Member::objects().create({.name = "Ann"});
    auto bob = Member::objects().create({.name = "Bob"});
    auto cy = Member::objects().create({.name = "Cy"});
    related(ann, &Member::groups).add(guests, staff);
    related(bob, &Member::groups).add(admins);
    related(cy, &Member::friends).add(ann);
    related(bob, &Member::friends).add(cy);

    EXPECT_EQ(dumpdata({.labels = {"club.member"}}), R"([
{
  "model": "club.member",
  "pk": 1,
  "fields": {
    "name": "Ann",
    "groups": [
      1,
      3
    ],
    "friends": [
      3
    ]
  }
},
{
  "model": "club.member",
  "pk": 2,
  "fields": {
    "name": "Bob",
    "groups": [
      2
    ],
    "friends": [
      3
    ]
  }
},
{
  "model": "club.member",
  "pk": 3,
  "fields": {
    "name": "Cy",
    "groups": [],
    "friends": [
      1,
      2
    ]
  }
}
]
)");
    EXPECT_EQ(dumpdata({.labels = {"club.member"}, .indent = -1}),
              R"([{"model": "club.member", "pk": 1, "fields": {"name": "Ann", "groups": [1, 3], )"
              R"("friends": [3]}}, {"model": "club.member", "pk": 2, "fields": {"name": "Bob", )"
              R"("groups": [2], "friends": [3]}}, {"model": "club.member", "pk": 3, "fields": )"
              R"({"name": "Cy", "groups": [], "friends": [1, 2]}}])");

    Author::objects().create({.name = "unrelated"});
    const auto before = snapshot();
    ASSERT_EQ(rows("club_member_groups"), 3);
    ASSERT_EQ(rows("club_member_friends"), 4);
    const std::string first = dumpdata();
    wipe();
    ASSERT_EQ(total_rows(), 0);
    const auto result = loaddata_json(first, "dump.json");
    EXPECT_EQ(result.objects, 7U);  // 3 groups, 3 members, 1 author: relation rows are no objects
    EXPECT_EQ(snapshot(), before);
    EXPECT_EQ(dumpdata(), first);
    const std::string compact = dumpdata({.indent = -1});
    wipe();
    loaddata_json(compact);
    EXPECT_EQ(snapshot(), before);
    EXPECT_EQ(dumpdata({.indent = -1}), compact);
}

// Django's DeserializedObject.save(): after the raw save, each many-to-many field given is set
// with the related manager's set(), in the load's transaction — m2m_changed receivers see it:
// pre_add/post_add for a new object, pre_remove/post_remove of what the fixture drops then
// pre_add/post_add of what it adds for an existing one. A target may come later in the fixture.
TEST_F(FixturesTest, ManyToManyChangedIsSentDuringTheLoad) {
    Group::objects().create({.name = "staff"});
    Group::objects().create({.name = "admins"});
    listen_saves();
    connections.emplace_back(
        m2m_changed.connect(&Member::groups, [this](ModelBase& m, const M2MChangedEvent& e) {
            std::string ids;
            for (const auto id : e.pk_set.value_or(std::set<std::int64_t>{})) {
                ids += " " + std::to_string(id);
            }
            log.push_back(std::string(to_string(e.action)) + " Member " +
                          std::to_string(m.id.value_or(-1)) + (e.reverse ? " reverse" : "") +
                          " model=" + e.model->model_name + " pk_set=[" + ids + " ]" +
                          " in_atomic=" + yes(db::connection().in_atomic_block()));
        }));
    loaddata_json(R"([{"model": "club.member", "pk": 1, "fields": {"name": "Ann",
                                                                   "groups": [2, 1, 2]}}])");
    EXPECT_EQ(log, (Log{
                       "pre_save Member 1 raw=true adding=true",
                       "post_save Member 1 created=true raw=true",
                       "pre_add Member 1 model=Group pk_set=[ 1 2 ] in_atomic=true",
                       "post_add Member 1 model=Group pk_set=[ 1 2 ] in_atomic=true",
                   }));
    log.clear();
    loaddata_json(R"([{"model": "club.member", "pk": 1, "fields": {"name": "Ann",
                                                                   "groups": [2, 3]}},
                      {"model": "club.group", "pk": 3, "fields": {"name": "late"}}])");
    EXPECT_EQ(log, (Log{
                       "pre_save Member 1 raw=true adding=true",
                       "post_save Member 1 created=false raw=true",
                       "pre_remove Member 1 model=Group pk_set=[ 1 ] in_atomic=true",
                       "post_remove Member 1 model=Group pk_set=[ 1 ] in_atomic=true",
                       "pre_add Member 1 model=Group pk_set=[ 3 ] in_atomic=true",
                       "post_add Member 1 model=Group pk_set=[ 3 ] in_atomic=true",
                       "pre_save Group 3 raw=true adding=true",
                       "post_save Group 3 created=true raw=true",
                   }));
    auto ann = Member::objects().get(where(&ModelBase::id) == 1);
    std::vector<std::int64_t> ids;
    for (const Group& g : related(ann, &Member::groups).all().order_by(&ModelBase::id)) {
        ids.push_back(*g.id);
    }
    EXPECT_EQ(ids, (std::vector<std::int64_t>{2, 3}));
}

// Django's deserializer takes a many-to-many value as a list of pks (DeserializationError
// otherwise); tocsin accepts JSON integers only. The error names the file, the object and the
// field, and nothing is loaded.
TEST_F(FixturesTest, ABadManyToManyValueLoadsNothing) {
    const std::string good = R"({"model": "club.group", "pk": 1, "fields": {"name": "staff"}},)";
    const std::vector<std::pair<std::string, std::string>> cases = {
        {R"(1)", "expected a list of the targets' pks (integers), got number 1"},
        {R"(null)", "expected a list of the targets' pks (integers), got null"},
        {R"({"pk": 1})", "expected a list of the targets' pks (integers), got an object"},
        {R"([1, "2"])",
         "item 1 of the list: expected the target's pk (an integer, 64-bit), "
         "got string \"2\""},
        {R"([1.5])", "item 0 of the list: expected the target's pk"},
        {R"([null])",
         "item 0 of the list: expected the target's pk (an integer, 64-bit), got null"},
        {R"([true])", "item 0 of the list: expected the target's pk"},
        {R"([18446744073709551615])", "item 0 of the list: expected the target's pk"},
        {R"([1, ["staff"]])", "item 1 of the list: club.group has no natural key"},
    };
    for (const auto& [value, says] : cases) {
        SCOPED_TRACE(value);
        const std::string text = "[" + good +
                                 R"({"model": "club.member", "pk": 5, "fields": {"name": "Ann", )"
                                 R"("groups": )" +
                                 value + "}}]";
        try {
            static_cast<void>(loaddata_json(text, "club.json"));
            ADD_FAILURE() << "no FixtureError";
        } catch (const FixtureError& e) {
            EXPECT_EQ(e.file(), "club.json");
            EXPECT_EQ(e.object_index(), std::optional<std::size_t>(1));
            EXPECT_EQ(e.model(), "club.member");
            EXPECT_EQ(e.pk(), "5");
            EXPECT_EQ(e.field(), "groups");
            EXPECT_TRUE(contains(e.detail(), says));
            EXPECT_TRUE(contains(e.what(),
                                 "Problem installing fixture 'club.json': object at "
                                 "index 1 (club.member pk=5), field 'groups': "));
        }
        EXPECT_EQ(total_rows(), 0) << "something was loaded";
    }
}

// A many-to-many target that does not exist at the end of the load is an error, like a dangling
// foreign key (Django's check_constraints after loaddata): nothing is loaded, the relation rows
// written before the check included.
TEST_F(FixturesTest, ADanglingManyToManyTargetLoadsNothing) {
    auto old = Group::objects().create({.name = "old"});
    const auto before = snapshot();
    EXPECT_EQ(message_of<FixtureError>([] {
                  static_cast<void>(loaddata_json(R"([
                      {"model": "club.group", "pk": 2, "fields": {"name": "staff"}},
                      {"model": "club.member", "pk": 4, "fields": {"name": "Ann",
                                                                   "groups": [1, 2, 99]}}
                  ])",
                                                  "club.json"));
              }),
              "Problem installing fixture 'club.json': object at index 1 (club.member pk=4), "
              "field 'groups': club.group pk=99 does not exist (dangling many-to-many target)");
    EXPECT_EQ(snapshot(), before);
    EXPECT_EQ(rows("club_member_groups"), 0);

    // A symmetrical relation to self: the same check.
    const auto friends = message_of<FixtureError>([] {
        static_cast<void>(loaddata_json(R"([
            {"model": "club.member", "pk": 1, "fields": {"name": "Ann", "friends": [2]}},
            {"model": "club.member", "pk": 2, "fields": {"name": "Bob", "friends": [1, 7]}}
        ])"));
    });
    EXPECT_TRUE(contains(friends,
                         "object at index 1 (club.member pk=2), field 'friends': "
                         "club.member pk=7 does not exist"));
    EXPECT_EQ(snapshot(), before);
}

// Django sets only the many-to-many fields present in "fields": an absent one leaves a new
// object's relation empty and an existing object's relation as it was; [] empties it.
TEST_F(FixturesTest, AnAbsentManyToManyFieldLeavesTheRelation) {
    loaddata_json(R"([{"model": "club.group", "pk": 1, "fields": {"name": "staff"}},
                      {"model": "club.member", "pk": 1, "fields": {"name": "Ann"}}])");
    EXPECT_EQ(rows("club_member"), 1);
    EXPECT_EQ(rows("club_member_groups"), 0);
    EXPECT_EQ(rows("club_member_friends"), 0);

    auto ann = Member::objects().get(where(&ModelBase::id) == 1);
    related(ann, &Member::groups).add(1);
    loaddata_json(R"([{"model": "club.member", "pk": 1, "fields": {"name": "Anne"}}])");
    EXPECT_EQ(related(ann, &Member::groups).count(), 1U);
    loaddata_json(R"([{"model": "club.member", "pk": 1, "fields": {"name": "Anne",
                                                                   "groups": []}}])");
    EXPECT_EQ(related(ann, &Member::groups).count(), 0U);
}

// A symmetrical relation given on one side only (Django's set() on a symmetrical relation adds
// the mirror rows): both objects are related, and dumpdata writes both directions.
TEST_F(FixturesTest, ASymmetricalRelationGivenOnOneSide) {
    loaddata_json(R"([{"model": "club.member", "pk": 1, "fields": {"name": "Ann", "friends": [2]}},
                      {"model": "club.member", "pk": 2, "fields": {"name": "Bob"}}])");
    auto bob = Member::objects().get(where(&ModelBase::id) == 2);
    EXPECT_EQ(related(bob, &Member::friends).count(), 1U);
    EXPECT_EQ(dumpdata({.labels = {"club.Member"}, .indent = 0}),
              R"([{"model": "club.member", "pk": 1, "fields": {"name": "Ann", "groups": [], )"
              R"("friends": [2]}}, {"model": "club.member", "pk": 2, "fields": {"name": "Bob", )"
              R"("groups": [], "friends": [1]}}])");
}

// ------------------------------------------------------------------------------ inheritance

using events::Comment;
using events::Event;
using events::Reply;
using events::StatusChange;

// Django's deserializer accepts, in a child's object, the fields it inherits (get_field finds
// them), builds the instance with them, and saves it raw: only the child's own table is
// written (save_base(raw=True) skips the parents). The parent row as it was stays; receivers
// see the instance with the fixture's values.
TEST_F(FixturesTest, AChildObjectMayCarryInheritedFields) {
    listen_saves();
    std::vector<std::string> kinds;
    ScopedConnection c = pre_save.connect<StatusChange>(
        [&](StatusChange& s, const SaveEvent&) { kinds.push_back(s.kind); });
    loaddata_json(R"([
        {"model": "library.author", "pk": 1, "fields": {"name": "Ann"}},
        {"model": "events.event", "pk": 7, "fields": {"user": 1, "kind": "status"}},
        {"model": "events.statuschange", "pk": 7,
         "fields": {"user": 1, "kind": "ignored", "status": "open"}}
    ])");
    EXPECT_EQ(kinds, (std::vector<std::string>{"ignored"}));
    EXPECT_EQ(log.back(), "post_save StatusChange 7 created=true raw=true");
    const auto change = StatusChange::objects().get(where(&ModelBase::id) == 7);
    EXPECT_EQ(change.status, "open");
    EXPECT_EQ(change.kind, "status");  // the parent row, not the child's object, holds it
    EXPECT_EQ(change.user.id(), std::optional<std::int64_t>(1));
    EXPECT_EQ(rows("events_event"), 1);
}

// Two levels: a Reply's object may carry Event's and Comment's fields with its own; the
// rows of the parents come from their own objects, in any order.
TEST_F(FixturesTest, AGrandchildObjectMayCarryEveryInheritedField) {
    std::vector<db::Row> seen;
    ScopedConnection c = pre_init.connect<Reply>([&](Reply&, const InitEvent& e) {
        ASSERT_NE(e.row, nullptr);
        seen.push_back(*e.row);
    });
    loaddata_json(R"([
        {"model": "events.reply", "pk": 3, "fields": {"text": "t2", "depth": 2, "user": 1}},
        {"model": "events.comment", "pk": 3, "fields": {"text": "t"}},
        {"model": "events.event", "pk": 3, "fields": {"user": 1, "kind": "comment"}},
        {"model": "library.author", "pk": 1, "fields": {"name": "Ann"}}
    ])");
    // The row of the init signals: "id", then every field, inherited ones first.
    ASSERT_EQ(seen.size(), 1U);
    EXPECT_EQ(seen[0], (db::Row{std::int64_t{3}, std::int64_t{1}, "", "t2", std::int64_t{2}}));
    const auto reply = Reply::objects().get(where(&ModelBase::id) == 3);
    EXPECT_EQ(reply.depth, 2);
    EXPECT_EQ(reply.text, "t");
    EXPECT_EQ(reply.kind, "comment");
}

// The crash of issue 9: a child's object with an inherited field and no parent row. Django's
// load fails at its constraint check; tocsin names the object and the missing parent row.
TEST_F(FixturesTest, AChildWithoutItsParentRowNamesTheObject) {
    Author::objects().create({.name = "Ann"});
    const auto before = snapshot();
    try {
        static_cast<void>(loaddata_json(
            R"([{"model": "events.statuschange", "pk": 7, "fields": {"user": 1}}])", "sc.json"));
        ADD_FAILURE() << "no FixtureError";
    } catch (const FixtureError& e) {
        EXPECT_EQ(std::string(e.what()),
                  "Problem installing fixture 'sc.json': object at index 0 (events.statuschange "
                  "pk=7), field 'event_ptr': events.event pk=7 does not exist (the parent row a "
                  "child's object needs: give its object too)");
        EXPECT_EQ(e.field(), "event_ptr");
    }
    EXPECT_EQ(snapshot(), before);

    // A grandchild whose middle row is missing names that one.
    try {
        static_cast<void>(loaddata_json(R"([
            {"model": "events.event", "pk": 4, "fields": {"user": 1}},
            {"model": "events.reply", "pk": 4, "fields": {"depth": 3}}])"));
        ADD_FAILURE() << "no FixtureError";
    } catch (const FixtureError& e) {
        EXPECT_EQ(e.object_index(), std::optional<std::size_t>(1));
        EXPECT_EQ(e.model(), "events.reply");
        EXPECT_EQ(e.field(), "comment_ptr");
        EXPECT_TRUE(contains(e.what(), "events.comment pk=4 does not exist"));
    }
    EXPECT_EQ(snapshot(), before);
}

// Fields neither the child nor its parents have, and bad values of inherited fields, are
// refused as the child's own are.
TEST_F(FixturesTest, AChildObjectsUnknownOrBadFieldsAreRefused) {
    const auto fails = [](const std::string& json) {
        try {
            static_cast<void>(loaddata_json(json));
        } catch (const FixtureError& e) {
            return e.field() + ": " + e.detail();
        }
        return std::string("loaded");
    };
    EXPECT_EQ(fails(R"([{"model": "events.statuschange", "pk": 1, "fields": {"statu": "x"}}])"),
              "statu: no such field in events.StatusChange");
    EXPECT_EQ(fails(R"([{"model": "events.reply", "pk": 1, "fields": {"user": "x"}}])"),
              "user: expected the target's pk (an integer) or null, got string \"x\"");
    EXPECT_EQ(fails(R"([{"model": "events.reply", "pk": 1, "fields": {"kind": 3}}])"),
              "kind: expected a string, got number 3");
    EXPECT_EQ(total_rows(), 0);
}

// A child dumps its own fields only (Django's local_fields), and the dump loads back.
TEST_F(FixturesTest, AChildDumpsItsOwnFieldsAndRoundTrips) {
    auto ann = Author::objects().create({.name = "Ann"});
    StatusChange change;
    change.user = ann;
    change.kind = "k";
    change.status = "done";
    change.save();
    const std::string first = dumpdata({.labels = {"library", "events"}, .indent = 0});
    EXPECT_TRUE(contains(first, R"({"model": "events.statuschange", "pk": 1, )"
                                R"("fields": {"status": "done"}})"));
    wipe();
    loaddata_json(first);
    EXPECT_EQ(dumpdata({.labels = {"library", "events"}, .indent = 0}), first);
}

// ------------------------------------------------------------------------------ pk limits

// A pk of INT64_MAX would exhaust the table's id sequence (SQLite's AUTOINCREMENT: every later
// insert without an id fails with "database or disk is full"): it is refused, naming the object.
TEST_F(FixturesTest, APkThatExhaustsTheIdSequenceIsRefused) {
    try {
        static_cast<void>(loaddata_json(
            R"([{"model": "library.author", "pk": 9223372036854775807, "fields": {"name": "M"}}])",
            "max.json"));
        ADD_FAILURE() << "no FixtureError";
    } catch (const FixtureError& e) {
        EXPECT_EQ(e.object_index(), std::optional<std::size_t>(0));
        EXPECT_EQ(e.pk(), "9223372036854775807");
        EXPECT_TRUE(contains(e.detail(), "largest id")) << e.detail();
    }
    EXPECT_EQ(rows("library_author"), 0);
    // One below still loads, and ordinary inserts work afterwards.
    loaddata_json(
        R"([{"model": "library.author", "pk": 9223372036854775806, "fields": {"name": "M"}}])");
    EXPECT_NO_THROW(Author::objects().create({.name = "after"}));
}

}  // namespace fixtures_test
}  // namespace
}  // namespace tocsin::test
