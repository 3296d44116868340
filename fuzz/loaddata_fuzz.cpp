// libFuzzer target for tocsin::loaddata_json(): arbitrary bytes as a fixture, loaded into an
// in-memory SQLite database holding a few models (a key, a one-to-one, a tree with a
// symmetrical many-to-many, every field type, a child of a multi-table inheritance, a natural
// key). A FixtureError is the expected answer to bad input;
// anything else escaping the loader is a bug and aborts the run (libFuzzer reports an uncaught
// exception as a crash). A fixture that loads must also round-trip: dumpdata, wipe, loaddata of the
// dump, and a second dumpdata giving the same text; and the same through a dump with natural
// foreign keys.
//
//   cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DTOCSIN_FUZZ=ON
//         -DTOCSIN_BUILD_TESTS=OFF -DTOCSIN_BUILD_EXAMPLES=OFF -DTOCSIN_BUILD_BENCH=OFF
//   (one command: a backslash ending a // comment would continue the comment, -Wcomment)
//   ninja -C build-fuzz loaddata_fuzz
//   build-fuzz/fuzz/loaddata_fuzz -max_total_time=60 build-fuzz/corpus fuzz/corpus/loaddata
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "tocsin/models.hpp"
#include "tocsin/models/fixtures.hpp"

namespace fuzzmodels {

struct Author : tocsin::Model<Author> {
    static constexpr std::string_view label = "fz.Author";
    std::string name;
    int born = 0;
    static auto fields() {
        return tocsin::fields(tocsin::field("name", &Author::name, {.unique = true}),
                              tocsin::field("born", &Author::born));
    }
    // A natural key: `"author": ["name"]`, and objects without pk matched by name.
    [[nodiscard]] auto natural_key() const { return std::tuple(name); }
    static Author get_by_natural_key(const tocsin::Manager<Author>& objects,
                                     const std::string& name) {
        return objects.get(tocsin::where(&Author::name) == name);
    }
};

struct Book : tocsin::Model<Book> {
    static constexpr std::string_view label = "fz.Book";
    tocsin::ForeignKey<Author> author{tocsin::on_delete::cascade};
    tocsin::ForeignKey<Author> editor{tocsin::on_delete::set_null};
    std::string title;
    static auto fields() {
        return tocsin::fields(tocsin::field("author", &Book::author),
                              tocsin::field("editor", &Book::editor),
                              tocsin::field("title", &Book::title));
    }
};

// A child of a multi-table inheritance: its objects may carry Book's fields too.
struct Novel : tocsin::Model<Novel, Book> {
    static constexpr std::string_view label = "fz.Novel";
    int chapters = 0;
    static auto fields() { return tocsin::fields(tocsin::field("chapters", &Novel::chapters)); }
};

struct Bio : tocsin::Model<Bio> {
    static constexpr std::string_view label = "fz.Bio";
    tocsin::OneToOne<Author> author{tocsin::on_delete::cascade};
    std::optional<std::string> text{};
    static auto fields() {
        return tocsin::fields(tocsin::field("author", &Bio::author),
                              tocsin::field("text", &Bio::text));
    }
};

struct Node : tocsin::Model<Node> {
    static constexpr std::string_view label = "fz.Node";
    tocsin::ForeignKey<Node> parent{tocsin::on_delete::cascade};
    std::string name;
    tocsin::ManyToMany<Node> links;  // symmetrical: set() writes the mirror rows too
    static auto fields() {
        return tocsin::fields(tocsin::field("parent", &Node::parent, {.null = true}),
                              tocsin::field("name", &Node::name),
                              tocsin::field("links", &Node::links));
    }
};

enum class Color : std::uint8_t { red = 1, green = 2 };

struct Kind : tocsin::Model<Kind> {
    static constexpr std::string_view label = "fz.Kind";
    int count = 7;
    std::int64_t big = 0;
    double ratio = 0.5;
    bool flag = true;
    std::chrono::system_clock::time_point at{};
    std::chrono::sys_seconds day{};
    std::optional<int> maybe{};
    std::uint16_t small = 3;
    Color color = Color::green;
    tocsin::db::Blob data{};
    static auto fields() {
        return tocsin::fields(
            tocsin::field("count", &Kind::count), tocsin::field("big", &Kind::big),
            tocsin::field("ratio", &Kind::ratio), tocsin::field("flag", &Kind::flag),
            tocsin::field("at", &Kind::at), tocsin::field("day", &Kind::day),
            tocsin::field("maybe", &Kind::maybe), tocsin::field("small", &Kind::small),
            tocsin::field("color", &Kind::color), tocsin::field("data", &Kind::data));
    }
};

}  // namespace fuzzmodels

namespace {

[[noreturn]] void bug(const char* what, const std::string& detail) {
    std::fprintf(stderr, "loaddata_fuzz: %s\n%s\n", what, detail.c_str());
    std::abort();
}

void set_up() {
    static const bool done = [] {
        static_cast<void>(fuzzmodels::Author::info());
        static_cast<void>(fuzzmodels::Book::info());
        static_cast<void>(fuzzmodels::Novel::info());
        static_cast<void>(fuzzmodels::Bio::info());
        static_cast<void>(fuzzmodels::Node::info());
        static_cast<void>(fuzzmodels::Kind::info());
        tocsin::db::configure({{"default", {.engine = "sqlite", .name = ":memory:"}}});
        tocsin::migrate();
        return true;
    }();
    static_cast<void>(done);
}

/// Every table: the models' and their many-to-many through tables.
std::vector<std::string> tables() {
    std::vector<std::string> out;
    for (const tocsin::ModelInfo* m : tocsin::all_models()) {
        out.push_back(m->table);
        for (const auto& relation : m->many_to_many) {
            out.push_back(relation.through->table);
        }
    }
    return out;
}

/// Empties every table (one transaction: keys are checked at its end) and resets the id
/// sequences, so that no input sees the ids an earlier one used up (an earlier pk near INT64_MAX
/// would make the next automatic id one that a reload refuses).
void wipe() {
    tocsin::atomic([] {
        for (const auto& table : tables()) {
            tocsin::db::connection().execute("DELETE FROM \"" + table + "\"");
        }
        tocsin::db::connection().execute("DELETE FROM sqlite_sequence");
    });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    set_up();
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    bool loaded = false;
    try {
        static_cast<void>(tocsin::loaddata_json(text, "fuzz.json"));
        loaded = true;
    } catch (const tocsin::FixtureError&) {
        // the expected answer to a bad fixture; nothing may have been written
    }
    if (!loaded) {
        for (const auto& table : tables()) {
            const auto n =
                tocsin::db::connection().query_value("SELECT COUNT(*) FROM \"" + table + "\"");
            if (!n || n->as_integer() != 0) {
                bug("a failed load left rows in", table);
            }
        }
        return 0;
    }
    // What loaded must round-trip through dumpdata.
    const std::string first = tocsin::dumpdata();
    wipe();
    try {
        static_cast<void>(tocsin::loaddata_json(first, "dump.json"));
    } catch (const tocsin::FixtureError& e) {
        bug("the dump of a loaded fixture does not load", std::string(e.what()) + "\n" + first);
    }
    const std::string second = tocsin::dumpdata();
    if (second != first) {
        bug("dump, load, dump differs", first + "\n----\n" + second);
    }
    // The same with natural foreign keys (authors by name, dumped first).
    const std::string natural = tocsin::dumpdata({.use_natural_foreign_keys = true});
    wipe();
    try {
        static_cast<void>(tocsin::loaddata_json(natural, "natural.json"));
    } catch (const tocsin::FixtureError& e) {
        bug("the natural-key dump of a loaded fixture does not load",
            std::string(e.what()) + "\n" + natural);
    }
    const std::string third = tocsin::dumpdata();
    if (third != first) {
        bug("dump, load of the natural-key dump, dump differs", first + "\n----\n" + third);
    }
    wipe();
    return 0;
}
