// Field lookups on the typed where(): exact/iexact, contains/icontains, startswith/istartswith,
// endswith/iendswith (the text matched literally: `%`, `_`, `\` escaped), gt/gte/lt/lte,
// range, isnull, in_. Ported from Django's tests/lookup (LookupTests: same names, same data)
// and tests/null_queries; tocsin's own tests pin what Django leaves to the backend (case
// sensitivity on SQLite).
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace lookup {

struct Author : tocsin::Model<Author> {
    static constexpr std::string_view label = "lookup.Author";
    std::string name;
    std::optional<std::string> bio{};

    static auto fields() {
        return tocsin::fields(tocsin::field("name", &Author::name),
                              tocsin::field("bio", &Author::bio));
    }
};

struct Article : tocsin::Model<Article> {
    static constexpr std::string_view label = "lookup.Article";
    std::string headline;
    std::string pub_date;  // "2005-07-26 00:00": orders as the date does
    tocsin::ForeignKey<Author> author{tocsin::on_delete::cascade};

    static auto fields() {
        return tocsin::fields(tocsin::field("headline", &Article::headline),
                              tocsin::field("pub_date", &Article::pub_date),
                              tocsin::field("author", &Article::author, {.null = true}));
    }
};

}  // namespace lookup

namespace tocsin::test {
namespace {
namespace lookup_test {

using lookup::Article;
using lookup::Author;
using Log = std::vector<std::string>;

/// Django's LookupTests data: two authors, seven articles.
class LookupTests : public ModelTest {
  protected:
    void SetUp() override {
        static_cast<void>(Author::info());  // built before migrate() makes the tables
        static_cast<void>(Article::info());
        ModelTest::SetUp();
        au1 = Author::objects().create({.name = "Author 1", .bio = "Bio 1"});
        au2 = Author::objects().create({.name = "Author 2"});
        a1 = article("Article 1", "2005-07-26 00:00", au1);
        a2 = article("Article 2", "2005-07-27 00:00", au1);
        a3 = article("Article 3", "2005-07-27 00:00", au1);
        a4 = article("Article 4", "2005-07-28 00:00", au1);
        a5 = article("Article 5", "2005-08-01 09:00", au2);
        a6 = article("Article 6", "2005-08-01 08:00", au2);
        a7 = article("Article 7", "2005-07-27 00:00", au2);
    }

    static Article article(std::string headline, std::string date, const Author& author) {
        Article a;
        a.headline = std::move(headline);
        a.pub_date = std::move(date);
        a.author = author;
        return Article::objects().create(std::move(a));
    }
    /// The headlines of `c`'s articles in Django's Article ordering ("-pub_date", "headline").
    static Log headlines(const Condition& c = {}, bool exclude = false) {
        auto q = Article::objects().order_by(&Article::pub_date, true).order_by(&Article::headline);
        Log out;
        for (const auto& a : (exclude ? q.exclude(c) : q.filter(c)).all()) {
            out.push_back(a.headline);
        }
        return out;
    }

    Author au1, au2;
    Article a1, a2, a3, a4, a5, a6, a7;
    const Log all{"Article 5", "Article 6", "Article 4", "Article 2",
                  "Article 3", "Article 7", "Article 1"};
};

TEST_F(LookupTests, test_escaping) {
    // Underscores, percent signs and backslashes mean something to LIKE; they match themselves.
    article("Article_ with underscore", "2005-11-20 00:00", au1);
    Log expected = all;
    expected.insert(expected.begin(), "Article_ with underscore");
    EXPECT_EQ(headlines(where(&Article::headline).startswith("Article")), expected);
    EXPECT_EQ(headlines(where(&Article::headline).startswith("Article_")),
              (Log{"Article_ with underscore"}));
    article("Article% with percent sign", "2005-11-21 00:00", au1);
    expected.insert(expected.begin(), "Article% with percent sign");
    EXPECT_EQ(headlines(where(&Article::headline).startswith("Article")), expected);
    EXPECT_EQ(headlines(where(&Article::headline).startswith("Article%")),
              (Log{"Article% with percent sign"}));
    article("Article with \\ backslash", "2005-11-22 00:00", au1);
    EXPECT_EQ(headlines(where(&Article::headline).contains("\\")),
              (Log{"Article with \\ backslash"}));
    // tocsin: the same through the LIKE forms (the case-insensitive lookups).
    EXPECT_EQ(headlines(where(&Article::headline).istartswith("article_")),
              (Log{"Article_ with underscore"}));
    EXPECT_EQ(headlines(where(&Article::headline).istartswith("article%")),
              (Log{"Article% with percent sign"}));
    EXPECT_EQ(headlines(where(&Article::headline).icontains("\\")),
              (Log{"Article with \\ backslash"}));
    EXPECT_EQ(headlines(where(&Article::headline).icontains("% with")),
              (Log{"Article% with percent sign"}));
    EXPECT_EQ(headlines(where(&Article::headline).iendswith("H \\ BACKSLASH")),
              (Log{"Article with \\ backslash"}));
    EXPECT_EQ(headlines(where(&Article::headline).iexact("article_ WITH underscore")),
              (Log{"Article_ with underscore"}));
    EXPECT_EQ(headlines(where(&Article::headline).iexact("article_1")), Log{});
}

TEST_F(LookupTests, test_exclude) {
    article("Article_ with underscore", "2005-11-20 00:00", au1);
    article("Article% with percent sign", "2005-11-21 00:00", au1);
    article("Article with \\ backslash", "2005-11-22 00:00", au1);
    // exclude() is the opposite of filter() when doing lookups.
    EXPECT_EQ(headlines(where(&Article::headline).contains("Article") &&
                        !where(&Article::headline).contains("with")),
              all);
    Log expected = all;
    expected.insert(expected.begin(), {"Article with \\ backslash", "Article% with percent sign"});
    EXPECT_EQ(headlines(where(&Article::headline).startswith("Article_"), true), expected);
    Log without7{"Article with \\ backslash", "Article% with percent sign",
                 "Article_ with underscore"};
    for (const auto& h : all) {
        if (h != "Article 7") {
            without7.push_back(h);
        }
    }
    EXPECT_EQ(headlines(where(&Article::headline) == "Article 7", true), without7);
}

TEST_F(LookupTests, test_in) {
    // __in with an empty list matches nothing; its exclusion everything.
    EXPECT_EQ(headlines(where(&ModelBase::id).in_(std::vector<std::int64_t>{})), Log{});
    EXPECT_EQ(headlines(where(&ModelBase::id).in_(std::vector<std::int64_t>{}), true), all);
}

TEST_F(LookupTests, test_in_ignore_none) {
    EXPECT_EQ(headlines(where(&ModelBase::id).in_({std::optional<std::int64_t>{}, a1.id})),
              (Log{"Article 1"}));
}

TEST_F(LookupTests, test_in_ignore_solo_none) {
    EXPECT_EQ(headlines(where(&ModelBase::id).in_({std::optional<std::int64_t>{}})), Log{});
}

TEST_F(LookupTests, test_lookup_int_as_str) {
    // An integer column matched against text.
    EXPECT_EQ(headlines(where(&ModelBase::id).iexact(std::to_string(*a1.id))), (Log{"Article 1"}));
}

TEST_F(LookupTests, test_lookup_date_as_str) {
    EXPECT_EQ(headlines(where(&Article::pub_date).startswith("2005")), all);
}

TEST_F(LookupTests, test_iterator) {
    EXPECT_EQ(headlines(where(&Article::headline).endswith("4")), (Log{"Article 4"}));
}

TEST_F(LookupTests, test_count) {
    EXPECT_EQ(Article::objects().count(), 7U);
    EXPECT_EQ(
        Article::objects().filter(where(&Article::pub_date).exact("2005-07-27 00:00")).count(), 3U);
    EXPECT_EQ(Article::objects().filter(where(&Article::headline).startswith("Blah blah")).count(),
              0U);
}

TEST_F(LookupTests, test_isnull_textfield) {
    const auto names = [](const Condition& c) {
        Log out;
        for (const auto& a : Author::objects().filter(c).all()) {
            out.push_back(a.name);
        }
        return out;
    };
    EXPECT_EQ(names(where(&Author::bio).isnull(true)), (Log{"Author 2"}));
    EXPECT_EQ(names(where(&Author::bio).isnull(false)), (Log{"Author 1"}));
    // Django's test_exact_none_transform: `exact(None)` is `isnull`.
    EXPECT_EQ(names(where(&Author::bio).exact(std::nullopt)), (Log{"Author 2"}));
    EXPECT_EQ(names(where(&Author::bio) == std::nullopt), (Log{"Author 2"}));
}

// Django: null_queries.tests.NullQueriesTests.test_none_as_null — None is refused by every
// lookup but exact (and !=): "Cannot use None as a query value".
TEST_F(LookupTests, test_none_as_null) {
    const std::optional<std::string> none;
    for (const auto& make : std::vector<std::function<Condition()>>{
             [&] { return where(&Author::bio).gt(none); },
             [&] { return where(&Author::bio) < none; },
             [&] { return where(&Author::bio).lte(none); },
             [&] { return where(&Author::bio).range(none, std::string("b")); }}) {
        EXPECT_EQ(message_of<ModelError>([&] { static_cast<void>(make()); }),
                  "Cannot use None as a query value");
    }
}

// tocsin: SQLite's LIKE ignores the case of ASCII letters; contains, startswith and endswith
// do not (they compare the text itself), as on Django's other backends.
TEST_F(LookupTests, CaseSensitiveLookupsAreCaseSensitiveOnSqlite) {
    EXPECT_EQ(headlines(where(&Article::headline).contains("article")), Log{});
    EXPECT_EQ(headlines(where(&Article::headline).contains("icle 3")), (Log{"Article 3"}));
    EXPECT_EQ(headlines(where(&Article::headline).startswith("article")), Log{});
    EXPECT_EQ(headlines(where(&Article::headline).endswith("LE 1")), Log{});
    EXPECT_EQ(headlines(where(&Article::headline).endswith("le 1")), (Log{"Article 1"}));
    EXPECT_EQ(headlines(where(&Article::headline).icontains("ARTICLE")), all);
    EXPECT_EQ(headlines(where(&Article::headline).istartswith("aRTICLE 2")), (Log{"Article 2"}));
    EXPECT_EQ(headlines(where(&Article::headline).iendswith("LE 1")), (Log{"Article 1"}));
    EXPECT_EQ(headlines(where(&Article::headline) == "article 1"), Log{});
    EXPECT_EQ(headlines(where(&Article::headline).iexact("article 1")), (Log{"Article 1"}));
}

// tocsin: the edges of the text lookups: an empty text matches every non-NULL value, a text
// longer than the value matches nothing, a pattern character only itself.
TEST_F(LookupTests, TextLookupEdges) {
    EXPECT_EQ(headlines(where(&Article::headline).contains("")), all);
    EXPECT_EQ(headlines(where(&Article::headline).startswith("")), all);
    EXPECT_EQ(headlines(where(&Article::headline).endswith("")), all);
    EXPECT_EQ(headlines(where(&Article::headline).endswith("An Article 1")), Log{});
    EXPECT_EQ(headlines(where(&Article::headline).endswith("xArticle 1")), Log{});
    article("50% off", "2006-01-01 00:00", au1);
    article("500 off", "2006-01-02 00:00", au1);
    EXPECT_EQ(headlines(where(&Article::headline).contains("50%")), (Log{"50% off"}));
    EXPECT_EQ(headlines(where(&Article::headline).icontains("50%")), (Log{"50% off"}));
    EXPECT_EQ(headlines(where(&Article::headline).contains("_")), Log{});
    // NULL matches no text lookup, and exclude() keeps it (Django's NOT (… AND col IS NOT NULL)).
    const auto bios = [](const Condition& c, bool exclude) {
        const auto q = Author::objects().order_by(&Author::name);
        return (exclude ? q.exclude(c) : q.filter(c)).count();
    };
    EXPECT_EQ(bios(where(&Author::bio).contains(""), false), 1U);
    EXPECT_EQ(bios(where(&Author::bio).icontains("bio"), false), 1U);
    EXPECT_EQ(bios(where(&Author::bio).contains("Bio"), true), 1U);
    EXPECT_EQ(bios(where(&Author::bio).endswith("x"), true), 2U);
    EXPECT_EQ(bios(where(&Author::bio).istartswith("x"), true), 2U);
}

// tocsin: Django's gt/gte/lt/lte by name, range (BETWEEN, both ends included), in_ with a
// braced list; on a foreign key the value may be the related object.
TEST_F(LookupTests, ComparisonsRangeAndIn) {
    const auto pub = [] { return where(&Article::pub_date); };
    EXPECT_EQ(headlines(pub().gt("2005-07-28 00:00")), (Log{"Article 5", "Article 6"}));
    EXPECT_EQ(headlines(pub().gte("2005-07-28 00:00")),
              (Log{"Article 5", "Article 6", "Article 4"}));
    EXPECT_EQ(headlines(pub().lt("2005-07-27 00:00")), (Log{"Article 1"}));
    EXPECT_EQ(headlines(pub().lte("2005-07-26 00:00")), headlines(pub() <= "2005-07-26 00:00"));
    EXPECT_EQ(headlines(pub().range("2005-07-27 00:00", "2005-07-28 00:00")),
              (Log{"Article 4", "Article 2", "Article 3", "Article 7"}));
    EXPECT_EQ(headlines(pub().range("2005-07-27 00:00", "2005-07-28 00:00"), true),
              (Log{"Article 5", "Article 6", "Article 1"}));
    EXPECT_EQ(headlines(pub().range("2005-07-28 00:00", "2005-07-27 00:00")), Log{});
    EXPECT_EQ(headlines(where(&Article::headline).in_({"Article 7", "Article 1", "nope"})),
              (Log{"Article 7", "Article 1"}));
    EXPECT_EQ(headlines(where(&Article::author) == au2),
              (Log{"Article 5", "Article 6", "Article 7"}));
    EXPECT_EQ(headlines(where(&Article::author).in_(std::vector<Author>{au2})),
              (Log{"Article 5", "Article 6", "Article 7"}));
}

}  // namespace lookup_test
}  // namespace
}  // namespace tocsin::test
