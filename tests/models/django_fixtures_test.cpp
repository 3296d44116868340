// Django 3.2 and tocsin read each other's natural-key fixtures, byte for byte: the same models on
// both sides (tests/models/django/django_fixtures.py is Django's), a dump with natural foreign
// and primary keys written by one is loaded by the other, whose dump is the same text. Skipped
// when Debian's python3-django is not installed.
#include <tocsin/models/fixtures.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>

#include "test_support.hpp"

// The models of django_fixtures.py's app "nk".
namespace nk {

struct Person : tocsin::Model<Person> {
    static constexpr std::string_view label = "nk.Person";
    std::string name;
    int born = 0;
    static auto fields() {
        return tocsin::fields(tocsin::field("name", &Person::name, {.unique = true}),
                              tocsin::field("born", &Person::born));
    }
    [[nodiscard]] auto natural_key() const { return std::tuple(name); }
    static Person get_by_natural_key(const tocsin::Manager<Person>& objects,
                                     const std::string& name) {
        return objects.get(tocsin::where(&Person::name) == name);
    }
};

struct Book : tocsin::Model<Book> {
    static constexpr std::string_view label = "nk.Book";
    std::string title;
    tocsin::ForeignKey<Person> author{tocsin::on_delete::cascade};
    tocsin::ForeignKey<Person> editor{tocsin::on_delete::set_null};
    tocsin::ManyToMany<Person> readers;
    static auto fields() {
        return tocsin::fields(tocsin::field("title", &Book::title),
                              tocsin::field("author", &Book::author),
                              tocsin::field("editor", &Book::editor, {.null = true}),
                              tocsin::field("readers", &Book::readers));
    }
};

struct Event : tocsin::Model<Event> {
    static constexpr std::string_view label = "nk.Event";
    std::string name;
    static auto fields() {
        return tocsin::fields(tocsin::field("name", &Event::name, {.unique = true}));
    }
    [[nodiscard]] auto natural_key() const { return std::tuple(name); }
    static Event get_by_natural_key(const tocsin::Manager<Event>& objects,
                                    const std::string& name) {
        return objects.get(tocsin::where(&Event::name) == name);
    }
};

struct Talk : tocsin::Model<Talk, Event> {
    static constexpr std::string_view label = "nk.Talk";
    std::string room;
    static auto fields() { return tocsin::fields(tocsin::field("room", &Talk::room)); }
};

}  // namespace nk

namespace tocsin::test {
namespace {
namespace django_fixtures_test {

constexpr const char* python = "/usr/bin/python3";

class DjangoFixturesTest : public ModelTest {
  protected:
    void SetUp() override {
        static_cast<void>(nk::Person::info());
        static_cast<void>(nk::Book::info());
        static_cast<void>(nk::Event::info());
        static_cast<void>(nk::Talk::info());
        ModelTest::SetUp();
        if (!std::filesystem::exists(python) || django("check") != 0) {
            GTEST_SKIP() << "python3-django is not installed (" << python
                         << " cannot import django)";
        }
    }

    /// Runs django_fixtures.py with `args`; returns its exit status (its output goes to a log
    /// printed on failure).
    int django(const std::string& args) {
        const std::string log = dir.file("django.log");
        const std::string command = std::string(python) + " '" + TOCSIN_DJANGO_FIXTURES_SCRIPT +
                                    "' " + args + " > '" + log + "' 2>&1";
        const int status = std::system(command.c_str());
        if (status != 0 && args != "check") {
            ADD_FAILURE() << command << " failed:\n" << read(log);
        }
        return status;
    }

    static std::string read(const std::string& path) {
        std::ifstream in(path, std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        return std::move(text).str();
    }

    /// dumpdata nk --natural-foreign --natural-primary --indent 2, as the script's dumps.
    static std::string natural_dump() {
        return dumpdata(
            {.labels = {"nk"}, .use_natural_foreign_keys = true, .use_natural_primary_keys = true});
    }
};

// tocsin writes the rows the script creates: Django reads the dump and writes it back unchanged,
// and it is the text Django writes for the same rows.
TEST_F(DjangoFixturesTest, DjangoReadsAndWritesTocsinsNaturalKeyFixture) {
    auto ann = nk::Person::objects().create({.name = "Ann", .born = 1950});
    auto bob = nk::Person::objects().create({.name = "Bob Ö"});
    auto emma = nk::Book::objects().create({.title = "Emma", .author = ann});
    related(emma, &nk::Book::readers).set({ann, bob});
    nk::Book::objects().create({.title = "Dune", .author = bob, .editor = ann});
    nk::Event::objects().create({.name = "kickoff"});
    nk::Talk talk;
    talk.name = "keynote";
    talk.room = "A";
    talk.save();

    const std::string ours = natural_dump();
    const std::string tocsin_path = dir.file("tocsin.json");
    std::ofstream(tocsin_path, std::ios::binary) << ours;
    const std::string reloaded_path = dir.file("reloaded.json");
    ASSERT_EQ(django("reload '" + tocsin_path + "' '" + reloaded_path + "'"), 0);
    EXPECT_EQ(read(reloaded_path), ours);

    const std::string created_path = dir.file("created.json");
    ASSERT_EQ(django("create '" + created_path + "'"), 0);
    EXPECT_EQ(read(created_path), ours);
}

// Django writes the fixture: tocsin loads it (objects without pk inserted, keys looked up by
// natural key, the talk's event_ptr giving its pk), and its dump is Django's text.
TEST_F(DjangoFixturesTest, TocsinReadsDjangosNaturalKeyFixture) {
    const std::string path = dir.file("django.json");
    ASSERT_EQ(django("create '" + path + "'"), 0);
    const auto result = loaddata(std::filesystem::path(path));
    EXPECT_EQ(result.objects, 7U);
    EXPECT_EQ(natural_dump(), read(path));

    const auto dune = nk::Book::objects().get(where(&nk::Book::title) == "Dune");
    EXPECT_EQ(dune.author.get().name, "Bob Ö");
    EXPECT_EQ(dune.editor.get().name, "Ann");
    const auto keynote = nk::Talk::objects().get(where(&nk::Talk::room) == "A");
    EXPECT_EQ(keynote.name, "keynote");

    // Loaded again: every object without pk finds its row by natural key; nothing is added.
    static_cast<void>(loaddata(std::filesystem::path(path)));
    EXPECT_EQ(rows("nk_person"), 2);
    EXPECT_EQ(rows("nk_event"), 2);
    EXPECT_EQ(rows("nk_talk"), 1);
    EXPECT_EQ(natural_dump(), read(path));
}

}  // namespace django_fixtures_test
}  // namespace
}  // namespace tocsin::test
