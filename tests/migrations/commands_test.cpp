// The migration commands of manage() with real models, on both engines: makemigrations writes
// the files, migrate applies them, showmigrations and sqlmigrate show them; a database made by
// tocsin::migrate() before the app had migrations is adopted (--fake-initial).
#include <gtest/gtest.h>

#include <sstream>

#include "test_support.hpp"
#include "tocsin/management.hpp"
#include "tocsin/models.hpp"

namespace tocsin::test {
namespace {
namespace commands_test {

namespace blog {
struct Tag : Model<Tag> {
    static constexpr std::string_view label = "blog.Tag";
    std::string name;
    static auto fields() { return tocsin::fields(tocsin::field("name", &Tag::name)); }
};
struct Author : Model<Author> {
    static constexpr std::string_view label = "blog.Author";
    std::string name;
    static auto fields() {
        return tocsin::fields(tocsin::field("name", &Author::name, {.unique = true}));
    }
};
struct Post : Model<Post> {
    static constexpr std::string_view label = "blog.Post";
    std::string title;
    int views = 0;
    ForeignKey<Author> author{on_delete::cascade};
    ManyToMany<Tag> tags;
    static auto fields() {
        return tocsin::fields(tocsin::field("title", &Post::title),
                              tocsin::field("views", &Post::views, {.db_index = true}),
                              tocsin::field("author", &Post::author),
                              tocsin::field("tags", &Post::tags));
    }
    static std::vector<tocsin::Index> indexes() {
        return {{"post_title_views_idx", {"title", "views"}}};
    }
    static std::vector<tocsin::UniqueConstraint> constraints() {
        return {{"post_title_author_uniq", {"title", "author"}}};
    }
};
}  // namespace blog

namespace notes {
/// An app of its own, whose key refers to blog: its migration depends on blog's.
struct Note : Model<Note> {
    static constexpr std::string_view label = "notes.Note";
    std::optional<std::string> text;
    ForeignKey<blog::Post> post{on_delete::cascade};
    static auto fields() {
        return tocsin::fields(tocsin::field("text", &Note::text),
                              tocsin::field("post", &Note::post));
    }
};
}  // namespace notes

template <class... M>
class App : public AppConfig {
  public:
    explicit App(std::string label) : AppConfig(std::move(label)) {}
    [[nodiscard]] std::vector<const apps::ModelDescription*> models() const override {
        return tocsin::describe<M...>();
    }
};

struct Outcome {
    int code;
    std::string out;
    std::string err;
};

class CommandTests : public EngineTest {
  protected:
    void SetUp() override {
        EngineTest::SetUp();
        if (HasFatalFailure() || IsSkipped()) {
            return;
        }
        const auto databases = db::configuration();
        Apps::instance().reset();
        setup(
            {.installed_apps = {std::make_shared<App<blog::Tag, blog::Author, blog::Post>>("blog"),
                                std::make_shared<App<notes::Note>>("notes")},
             .databases = databases});
    }
    void TearDown() override {
        Apps::instance().reset();
        EngineTest::TearDown();
    }
    Outcome run(std::vector<std::string> args) {
        args.insert(args.begin(), "manage");
        args.push_back("--migrations-dir");
        args.push_back(root().string());
        std::vector<const char*> argv;
        for (const auto& a : args) {
            argv.push_back(a.c_str());
        }
        std::ostringstream out;
        std::ostringstream err;
        const int code = manage(static_cast<int>(argv.size()), argv.data(), out, err);
        return {code, out.str(), err.str()};
    }
};

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

TEST_P(CommandTests, MakemigrationsWritesTheInitialMigrations) {
    auto r = run({"makemigrations", "--check"});
    EXPECT_EQ(r.code, 1) << "--check fails while migrations are missing";
    EXPECT_TRUE(contains(r.err, "Migrations are missing")) << r.err;
    EXPECT_FALSE(std::filesystem::exists(root())) << "--check writes nothing";
    r = run({"makemigrations", "--dry-run"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "\"tocsin_migration\": 1")) << r.out;
    EXPECT_FALSE(std::filesystem::exists(root())) << "--dry-run writes nothing";

    r = run({"makemigrations"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "Migrations for 'blog':")) << r.out;
    EXPECT_TRUE(contains(r.out, "    - Create model Post\n")) << r.out;
    EXPECT_TRUE(std::filesystem::exists(root() / "blog" / "0001_initial.json"));
    ASSERT_TRUE(std::filesystem::exists(root() / "notes" / "0001_initial.json"));
    const mig::MigrationLoader loader(root());
    EXPECT_EQ(loader.get({"notes", "0001_initial"}).dependencies,
              (std::vector<mig::MigrationKey>{{"blog", "0001_initial"}}));
    // The through table comes after both sides.
    const auto& ops = loader.get({"blog", "0001_initial"}).operations;
    ASSERT_EQ(ops.size(), 4U);
    EXPECT_EQ(std::get<mig::CreateModel>(ops.back()).model.name, "Post_tags");
    // The migrations add up to the models.
    EXPECT_EQ(loader.project_state(), mig::ProjectState::from_models({"blog", "notes"}));

    r = run({"makemigrations", "--check"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "No changes detected\n");
    r = run({"makemigrations", "blog"});
    EXPECT_EQ(r.out, "No changes detected in app 'blog'\n");
    r = run({"makemigrations", "nope"});
    EXPECT_EQ(r.code, 1);
    EXPECT_TRUE(contains(r.err, "App 'nope' could not be found")) << r.err;
}

TEST_P(CommandTests, MigrateAppliesShowsAndUnapplies) {
    ASSERT_EQ(run({"makemigrations"}).code, 0);
    std::vector<std::string> seen;
    auto pre = pre_migrate.connect([&](const MigrateEvent& e) {
        seen.push_back("pre " + e.app_config.label() + " " +
                       std::to_string(e.migration_plan.size()));
    });
    auto post = post_migrate.connect([&](const MigrateEvent& e) {
        seen.push_back("post " + e.app_config.label() + " " +
                       std::to_string(e.migration_plan.size()));
    });
    auto r = run({"showmigrations"});
    EXPECT_EQ(r.out, "blog\n [ ] 0001_initial\nnotes\n [ ] 0001_initial\n");
    r = run({"migrate"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out,
              "Running migrations on database 'default':\n  Applying blog.0001_initial... OK\n  "
              "Applying notes.0001_initial... OK\n");
    EXPECT_EQ(seen, (std::vector<std::string>{"pre blog 2", "pre notes 2", "post blog 2",
                                              "post notes 2"}));
    r = run({"showmigrations", "blog"});
    EXPECT_EQ(r.out, "blog\n [X] 0001_initial\n");
    // The models work on the tables.
    blog::Author ann;
    ann.name = "ann";
    ann.save();
    blog::Post post_row;
    post_row.title = "hello";
    post_row.author = ann;
    post_row.save();
    blog::Tag tag;
    tag.name = "news";
    tag.save();
    related(post_row, &blog::Post::tags).add(tag);
    EXPECT_EQ(blog::Post::objects().count(), 1);
    r = run({"migrate"});
    EXPECT_EQ(r.out, "Running migrations on database 'default':\n  No migrations to apply.\n");
    // Unapplying blog unapplies notes first (it depends on blog).
    r = run({"migrate", "blog", "zero"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out,
              "Running migrations on database 'default':\n  Unapplying notes.0001_initial... "
              "OK\n  Unapplying blog.0001_initial... OK\n");
    EXPECT_FALSE(mig::table_exists("default", "blog_post"));
    EXPECT_FALSE(mig::table_exists("default", "notes_note"));
    r = run({"migrate", "blog", "0009"});
    EXPECT_EQ(r.code, 1);
    EXPECT_TRUE(contains(r.err, "Cannot find a migration matching '0009' from app 'blog'."))
        << r.err;
    pre.disconnect();
    post.disconnect();
}

TEST_P(CommandTests, SqlmigratePrintsTheSql) {
    ASSERT_EQ(run({"makemigrations"}).code, 0);
    auto r = run({"sqlmigrate", "blog", "0001"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(r.out.starts_with("BEGIN;\nCREATE TABLE \"blog_author\"")) << r.out;
    EXPECT_TRUE(contains(r.out, "CREATE INDEX \"blog_post_views_idx\"")) << r.out;
    EXPECT_TRUE(r.out.ends_with("COMMIT;\n"));
    EXPECT_FALSE(mig::table_exists("default", "blog_tag")) << "sqlmigrate runs nothing";
    r = run({"sqlmigrate", "blog", "0001", "--backwards"});
    EXPECT_TRUE(contains(r.out, "DROP TABLE \"blog_post_tags\";\n")) << r.out;
}

// Django's --fake-initial: a database made by migrate() before the app had migrations (every
// table there, with the columns) is adopted: the initial migrations are recorded, not run.
TEST_P(CommandTests, FakeInitialAdoptsADatabaseMadeWithoutMigrations) {
    migrate();  // today's tables, no migrations
    const std::string before = catalog();
    blog::Author ann;
    ann.name = "ann";
    ann.save();
    ASSERT_EQ(run({"makemigrations"}).code, 0);
    auto r = run({"migrate"});
    EXPECT_EQ(r.code, 1) << "the tables exist: CREATE TABLE fails";
    EXPECT_TRUE(contains(r.err, "Applying blog.0001_initial failed at operation 0")) << r.err;
    r = run({"migrate", "--fake-initial"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "Applying blog.0001_initial... FAKED")) << r.out;
    EXPECT_EQ(mig::MigrationRecorder("default").applied().size(), 2U);
    EXPECT_EQ(blog::Author::objects().count(), 1);
    // And the tables migrate() made are the tables the migrations make.
    r = run({"migrate", "notes", "zero"});
    ASSERT_EQ(r.code, 0) << r.err;
    r = run({"migrate", "blog", "zero"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(catalog(), "");
    ASSERT_EQ(run({"migrate"}).code, 0);
    EXPECT_EQ(catalog(), before);
}

// A field added to a model: the next makemigrations writes an AddField (the story).
TEST_P(CommandTests, ChangedModelsGetTheNextMigration) {
    ASSERT_EQ(run({"makemigrations"}).code, 0);
    // The migrations say Post had no "views" yet: drop it from the initial migration.
    const auto path = root() / "blog" / "0001_initial.json";
    mig::MigrationLoader loader(root());
    auto initial = loader.get({"blog", "0001_initial"});
    for (auto& op : initial.operations) {
        if (auto* c = std::get_if<mig::CreateModel>(&op); c != nullptr && c->model.name == "Post") {
            std::erase_if(c->model.fields,
                          [](const mig::FieldState& f) { return f.name == "views"; });
            c->model.indexes.clear();
        }
    }
    write_migration(root(), initial);
    ASSERT_EQ(run({"migrate"}).code, 0);
    exec("INSERT INTO blog_author (name) VALUES ('ann')");
    exec("INSERT INTO blog_post (title, author_id) VALUES ('hello', 1)");
    auto r = run({"makemigrations", "blog"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "0002_post_views_post_post_title_views_idx.json")) << r.out;
    EXPECT_TRUE(contains(r.out, "    - Add field views to post\n")) << r.out;
    r = run({"migrate"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(blog::Post::objects().get(where(&blog::Post::title) == std::string("hello")).views,
              0);
    blog::Post p = blog::Post::objects().get(where(&blog::Post::title) == std::string("hello"));
    p.views = 5;
    p.save();
    EXPECT_EQ(blog::Post::objects().get(where(&blog::Post::title) == std::string("hello")).views,
              5);
}

// A NOT NULL key added to a table with rows: makemigrations says it needs a default, migrate
// refuses it naming the flag, and --default writes a one-off default that migrate uses.
TEST_P(CommandTests, ANotNullFieldWithoutDefaultAsksForOne) {
    ASSERT_EQ(run({"makemigrations"}).code, 0);
    mig::MigrationLoader loader(root());
    auto initial = loader.get({"blog", "0001_initial"});
    for (auto& op : initial.operations) {
        if (auto* c = std::get_if<mig::CreateModel>(&op); c != nullptr && c->model.name == "Post") {
            std::erase_if(c->model.fields,
                          [](const mig::FieldState& f) { return f.name == "author"; });
            c->model.constraints.clear();
        }
    }
    write_migration(root(), initial);
    const auto first = run({"migrate", "blog"});
    ASSERT_EQ(first.code, 0) << first.err;
    exec("INSERT INTO blog_author (name) VALUES ('ann')");
    exec("INSERT INTO blog_post (title, views) VALUES ('hello', 0)");
    auto r = run({"makemigrations", "blog"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(contains(r.out,
                         "(NOT NULL without a default: on a table with rows, migrate "
                         "refuses it; give one with --default blog.Post.author=VALUE)"))
        << r.out;
    r = run({"migrate", "blog"});
    EXPECT_EQ(r.code, 1);
    EXPECT_TRUE(contains(r.err, "makemigrations --default blog.Post.author=VALUE")) << r.err;
    std::filesystem::remove(root() / "blog" / "0002_post_author_post_post_title_author_uniq.json");
    r = run({"makemigrations", "blog", "--default", "blog.Post.author=1"});
    ASSERT_EQ(r.code, 0) << r.err;
    r = run({"migrate", "blog"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(rows("SELECT author_id FROM blog_post"), (std::vector<db::Row>{{db::Value(1)}}));
    EXPECT_EQ(run({"makemigrations", "blog", "--check"}).code, 0) << "the default is not kept";
    r = run({"makemigrations", "blog", "--default", "blog.Post.nope=1"});
    EXPECT_EQ(r.code, 0) << "no changes: nothing to give a default to";
}

INSTANTIATE_TEST_SUITE_P(Engines, CommandTests, ::testing::Values("sqlite", "postgresql"),
                         engine_name);

}  // namespace commands_test
}  // namespace
}  // namespace tocsin::test
