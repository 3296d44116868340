// tocsin::manage(): the command line a program gets in one call — `receivers` (every signal with
// its receivers, as text or JSON), `migrate` (tables, pre_migrate/post_migrate), `loaddata` and
// `dumpdata` (Django's fixture commands), the program's own commands, and the exit codes: 0
// done, 1 the command failed, 2 a usage error.
#include <tocsin/dispatch/profiler.hpp>
#include <tocsin/management.hpp>
#include <tocsin/models/fixtures.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "../models/test_support.hpp"

// External linkage: the binary exports its symbols, so receivers connected without a name are
// named by their symbol.
namespace shipping {
struct Order {
    int id = 0;
};
void notify_warehouse(const Order& /*order*/) {}
}  // namespace shipping

// A model with a natural key and one referring to it, for dumpdata's --natural-* flags.
namespace tags {
struct Tag : tocsin::Model<Tag> {
    static constexpr std::string_view label = "tags.Tag";
    std::string name;
    static auto fields() {
        return tocsin::fields(tocsin::field("name", &Tag::name, {.unique = true}));
    }
    [[nodiscard]] auto natural_key() const { return std::tuple(name); }
    static Tag get_by_natural_key(const tocsin::Manager<Tag>& objects, const std::string& name) {
        return objects.get(tocsin::where(&Tag::name) == name);
    }
};
struct Post : tocsin::Model<Post> {
    static constexpr std::string_view label = "tags.Post";
    tocsin::ForeignKey<Tag> tag{tocsin::on_delete::cascade};
    static auto fields() { return tocsin::fields(tocsin::field("tag", &Post::tag)); }
};
}  // namespace tags

namespace tocsin::test {
namespace {

using Log = std::vector<std::string>;

/// What one manage() call returned and wrote.
struct Run {
    int code = -1;
    std::string out;
    std::string err;
};

/// manage() with "manage" as the program name followed by `args`.
Run run(std::vector<std::string> args) {
    args.insert(args.begin(), "/usr/local/bin/manage");
    std::vector<const char*> argv;
    for (const auto& a : args) {
        argv.push_back(a.c_str());
    }
    argv.push_back(nullptr);
    std::ostringstream out;
    std::ostringstream err;
    Run r;
    r.code = manage(static_cast<int>(args.size()), argv.data(), out, err);
    r.out = out.str();
    r.err = err.str();
    return r;
}

/// The whole content of the file at `path` ("" when it cannot be read).
std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    if (in) {
        text << in.rdbuf();
    }
    return std::move(text).str();
}

/// "<this file>:<line>", as receivers prints where connect() was called.
std::string here(unsigned line) {
    return std::string(__FILE__) + ":" + std::to_string(line);
}

/// The lines of `text` that start a signal (not indented). The auth app's signals are left out:
/// they exist in a program only when its auth objects are linked (always with the shared
/// library, only when used with the static one).
Log signal_lines(const std::string& text) {
    Log out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.front() != ' ' && !line.starts_with("auth.")) {
            out.push_back(line);
        }
    }
    return out;
}

/// Installs library and shop (InstalledAppsTest).
class ManageTest : public InstalledAppsTest {
  protected:
    /// Writes `text` to the file `name` of the test's directory; returns its path.
    std::string write(const std::string& name, const std::string& text) {
        const auto path = dir.file(name);
        std::ofstream(path, std::ios::binary) << text;
        return path;
    }
};

// ------------------------------------------------------------------------------ receivers

// tocsin: one line per receiver — its name (Connect::name, else its symbol, else its type), its
// sender (a model's label, "app:<label>", "(any)"), dispatch_uid ("-" when none), priority,
// delivery mode, and where connect() was called; receivers in call order.
TEST_F(ManageTest, ReceiversTextForOneSignal) {
    Signal<void(const shipping::Order&)> shipped{"shipping.order_shipped"};
    auto pool = std::make_shared<ThreadPool>(1);
    const auto at_line1 = tocsin::source_location::current();
    connections.emplace_back(shipped.connect(&shipping::notify_warehouse, {}, at_line1));
    const unsigned line1 = at_line1.line();
    const auto at_line2 = tocsin::source_location::current();
    connections.emplace_back(shipped.connect([](const shipping::Order&) {},
                                             {.sender = Sender::of<shop::Customer>(),
                                              .dispatch_uid = "shipping.bill",
                                              .priority = 5,
                                              .name = "shipping.bill_customer"},
                                             at_line2));
    const unsigned line2 = at_line2.line();
    const auto at_line3 = tocsin::source_location::current();
    connections.emplace_back(shipped.connect(
        [](const shipping::Order&) {},
        {.sender = shop->sender(), .executor = pool, .name = "shipping.audit"}, at_line3));
    const unsigned line3 = at_line3.line();

    const auto r = run({"receivers", "--signal", "shipping.order_shipped"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(r.out,
              "shipping.order_shipped (3 receivers)\n"
              "  shipping.bill_customer  sender=shop.Customer  dispatch_uid=shipping.bill  "
              "priority=5  mode=sync  at=" +
                  here(line2) +
                  "\n"
                  "  shipping::notify_warehouse(shipping::Order const&)  sender=(any)  "
                  "dispatch_uid=-  priority=0  mode=sync  at=" +
                  here(line1) +
                  "\n"
                  "  shipping.audit  sender=app:shop  dispatch_uid=-  priority=0  mode=async  at=" +
                  here(line3) + "\n");
}

// tocsin: `receivers --stats` prints what the ReceiverStats set as the send observer collected:
// per receiver its calls, errors, deferrals, total, p50 and p99 times, and the last error.
TEST_F(ManageTest, ReceiversStatsFromTheSendObserver) {
    Signal<void(int)> paid{"billing.paid"};
    connections.emplace_back(paid.connect([](int) {}, {.name = "billing.receipt"}));
    connections.emplace_back(paid.connect(
        [](int n) {
            if (n == 2) {
                throw std::runtime_error("card declined");
            }
        },
        {.name = "billing.charge"}));
    // Without a ReceiverStats: a clear failure.
    const auto previous = set_send_observer(nullptr);
    const auto none = run({"receivers", "--stats"});
    EXPECT_EQ(none.code, 1);
    EXPECT_NE(none.err.find("No statistics: the send observer is not a tocsin::ReceiverStats"),
              std::string::npos)
        << none.err;
    auto stats = std::make_shared<ReceiverStats>();
    set_send_observer(stats);
    paid.send(Sender{}, 1);
    static_cast<void>(paid.send_robust(Sender{}, 2));
    const auto text = run({"receivers", "--stats", "--signal", "billing.paid"});
    const auto json = run({"receivers", "--stats", "--format", "json"});
    set_send_observer(previous);
    EXPECT_EQ(text.code, 0) << text.err;
    EXPECT_NE(text.out.find("billing.paid  billing.charge  calls=2  errors=1  deferred=0  total="),
              std::string::npos)
        << text.out;
    EXPECT_NE(text.out.find("last_error="), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("card declined"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("billing.paid  billing.receipt  calls=2  errors=0"), std::string::npos)
        << text.out;
    EXPECT_EQ(json.code, 0) << json.err;
    EXPECT_NE(json.out.find("\"receiver\": \"billing.receipt\",\n      \"calls\": 2,"),
              std::string::npos)
        << json.out;
}

// tocsin: the JSON schema (docs/management.md): {"version": 1, "signals": [{"name", "signature",
// "receivers": [{"name", "sender", "dispatch_uid", "priority", "mode", "tracked", "file",
// "line"}]}]}, null for no sender / no uid.
TEST_F(ManageTest, ReceiversJsonForOneSignal) {
    Signal<void(const shipping::Order&)> shipped{"shipping.order_shipped"};
    auto keep = std::make_shared<int>(0);
    const auto at_line = tocsin::source_location::current();
    connections.emplace_back(shipped.connect([](const shipping::Order&) {},
                                             {.dispatch_uid = "shipping.track",
                                              .track = keep,
                                              .priority = -1,
                                              .name = "shipping.tracker"},
                                             at_line));
    const unsigned line = at_line.line();
    const auto at_line2 = tocsin::source_location::current();
    connections.emplace_back(shipped.connect(&shipping::notify_warehouse,
                                             {.sender = Sender::of<library::Book>()}, at_line2));
    const unsigned line2 = at_line2.line();

    const auto r = run({"receivers", "--format", "json", "--signal", "shipping.order_shipped"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, R"j({
  "version": 1,
  "signals": [
    {
      "name": "shipping.order_shipped",
      "signature": "void(const shipping::Order&)",
      "receivers": [
        {
          "name": "shipping::notify_warehouse(shipping::Order const&)",
          "sender": "library.Book",
          "dispatch_uid": null,
          "priority": 0,
          "mode": "sync",
          "tracked": false,
          "file": ")j" + std::string(__FILE__) +
                         R"j(",
          "line": )j" + std::to_string(line2) +
                         R"j(
        },
        {
          "name": "shipping.tracker",
          "sender": null,
          "dispatch_uid": "shipping.track",
          "priority": -1,
          "mode": "sync",
          "tracked": true,
          "file": ")j" + std::string(__FILE__) +
                         R"j(",
          "line": )j" + std::to_string(line) +
                         R"j(
        }
      ]
    }
  ]
}
)j");
}

// tocsin: the model signals are listed (by name, in order) whether or not anything listens, and a
// typed connect shows the model's label as sender. (The fixture commands link the whole model
// layer in, m2m_changed and the bulk signals included.)
TEST_F(ManageTest, ReceiversListsEveryModelSignal) {
    const auto at_line = tocsin::source_location::current();
    connections.emplace_back(post_save.connect<shop::Customer>(
        [](shop::Customer&, const SaveEvent&) {},
        {.dispatch_uid = "shop.welcome", .name = "shop.send_welcome"}, at_line));
    const unsigned line = at_line.line();
    const auto at_line2 = tocsin::source_location::current();
    connections.emplace_back(post_migrate.connect([](const MigrateEvent&) {},
                                                  {.sender = library->sender(),
                                                   .dispatch_uid = "library.defaults",
                                                   .name = "library.create_defaults"},
                                                  at_line2));
    const unsigned line2 = at_line2.line();

    const auto r = run({"receivers"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(
        signal_lines(r.out),
        (Log{"class_prepared (no receivers)", "m2m_changed (no receivers)",
             "post_bulk_create (no receivers)", "post_delete (no receivers)",
             "post_init (no receivers)", "post_migrate (1 receiver)", "post_save (1 receiver)",
             "post_update (no receivers)", "pre_delete (no receivers)", "pre_init (no receivers)",
             "pre_migrate (no receivers)", "pre_save (no receivers)"}));
    EXPECT_TRUE(contains(r.out,
                         "post_save (1 receiver)\n  shop.send_welcome  sender=shop.Customer  "
                         "dispatch_uid=shop.welcome  priority=0  mode=sync  at=" +
                             here(line) + "\n"));
    EXPECT_TRUE(
        contains(r.out,
                 "post_migrate (1 receiver)\n  library.create_defaults  sender=app:library  "
                 "dispatch_uid=library.defaults  priority=0  mode=sync  at=" +
                     here(line2) + "\n"));

    const auto json = run({"receivers", "--format=json", "--signal=pre_save"});
    EXPECT_EQ(json.code, 0) << json.err;
    EXPECT_EQ(json.out, R"j({
  "version": 1,
  "signals": [
    {
      "name": "pre_save",
      "signature": "void(tocsin::ModelBase&, const tocsin::SaveEvent&)",
      "receivers": []
    }
  ]
}
)j");
}

// tocsin: an unnamed signal is listed after the named ones as "<unnamed Signal<signature>>".
TEST_F(ManageTest, ReceiversListsUnnamedSignalsLast) {
    Signal<void(const shipping::Order&, int)> unnamed;
    const auto r = run({"receivers"});
    EXPECT_EQ(r.code, 0) << r.err;
    const auto lines = signal_lines(r.out);
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines.back(), "<unnamed Signal<void(const shipping::Order&, int)>> (no receivers)");
    const auto json = run({"receivers", "--format", "json"});
    EXPECT_TRUE(contains(json.out, R"j("name": null,
      "signature": "void(const shipping::Order&, int)")j"));
}

// A receiver that hears more senders than the one it was connected for (with_subclasses adds
// them) shows them: `also=` in text, "also_senders" in JSON (only for such receivers).
TEST_F(ManageTest, ReceiversShowTheOtherSendersAReceiverHears) {
    Signal<void()> sig{"manage.also"};
    const Connection c =
        sig.connect([] {}, {.sender = Sender::of<library::Author>(), .name = "also.one"});
    ASSERT_TRUE(sig.add_sender(c, Sender::of<library::Book>()));
    const auto text = run({"receivers", "--signal", "manage.also"});
    EXPECT_EQ(text.code, 0) << text.err;
    EXPECT_TRUE(contains(text.out,
                         "  also.one  sender=library.Author  also=library.Book  "
                         "dispatch_uid=-  priority=0  mode=sync  at="))
        << text.out;
    const auto json = run({"receivers", "--signal", "manage.also", "--format", "json"});
    EXPECT_EQ(json.code, 0) << json.err;
    EXPECT_TRUE(contains(json.out, R"j("also_senders": [)j")) << json.out;
    EXPECT_TRUE(contains(json.out, R"j("library.Book")j")) << json.out;
}

TEST_F(ManageTest, ReceiversOfAnUnknownSignalFail) {
    const auto r = run({"receivers", "--signal", "no.such_signal"});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "CommandError: No signal is named 'no.such_signal'.\n");
}

// ------------------------------------------------------------------------------ migrate

// tocsin: `migrate` creates every table, sends pre_migrate and post_migrate for each installed
// app (Django's migrate command), and reports the tables.
TEST_F(ManageTest, MigrateCreatesTablesAndSendsTheSignals) {
    Log log;
    connections.emplace_back(pre_migrate.connect([&](const MigrateEvent& e) {
        log.push_back("pre " + e.app_config.label() + " tables=" + std::to_string(table_count()));
    }));
    connections.emplace_back(post_migrate.connect(
        [&](const MigrateEvent& e) {
            log.push_back("post " + e.app_config.label());
            shop::Customer walk_in;
            walk_in.name = "walk-in";
            walk_in.save();
        },
        {.sender = shop->sender()}));
    const auto r = run({"migrate"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    const auto plan = migration_plan();
    std::string expected =
        "Migrated database 'default': " + std::to_string(plan.size()) + " models\n";
    for (const ModelInfo* m : plan) {
        expected += "  " + m->label() + " -> " + m->table + "\n";
    }
    EXPECT_EQ(r.out, expected);
    EXPECT_TRUE(contains(r.out, "  library.Author -> library_author\n"));
    EXPECT_EQ(table_count(), static_cast<std::int64_t>(plan.size()));
    EXPECT_EQ(log, (Log{"pre library tables=0", "pre shop tables=0", "post shop"}));
    EXPECT_EQ(shop::Customer::objects().count(), 1);
}

/// A model whose description is first built by a post_migrate receiver.
struct BuiltAfterMigrate : Model<BuiltAfterMigrate> {
    static constexpr std::string_view label = "late.BuiltAfterMigrate";
    int value = 0;
    static auto fields() {
        return tocsin::fields(tocsin::field("value", &BuiltAfterMigrate::value));
    }
};

// tocsin: `migrate` reports exactly the tables it created, from the list it created them from,
// even when a model is built while it runs (its table is not made: it is not reported).
TEST_F(ManageTest, MigrateReportsTheTablesItCreated) {
    connections.emplace_back(post_migrate.connect(
        [](const MigrateEvent&) { static_cast<void>(BuiltAfterMigrate::info()); }));
    const auto r = run({"migrate"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_FALSE(contains(r.out, "late.BuiltAfterMigrate"));
    std::int64_t reported = 0;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
        const auto arrow = line.find(" -> ");
        if (arrow == std::string::npos) {
            continue;
        }
        ++reported;
        const auto tables = table_names();
        EXPECT_EQ(std::count(tables.begin(), tables.end(), line.substr(arrow + 4)), 1) << line;
    }
    EXPECT_EQ(reported, table_count()) << r.out;
}

TEST_F(ManageTest, MigrateAnotherDatabase) {
    std::string alias;
    connections.emplace_back(
        post_migrate.connect([&](const MigrateEvent& e) { alias = std::string(e.database); }));
    const auto r = run({"migrate", "--database", "other"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(r.out.starts_with("Migrated database 'other': ")) << r.out;
    EXPECT_EQ(alias, "other");
    EXPECT_GT(table_count("other"), 0);
    EXPECT_EQ(table_count("default"), 0);
}

// tocsin: a failing command exits with 1 and "CommandError: <why>" on the error stream; a
// pre_migrate receiver that throws leaves no table behind.
TEST_F(ManageTest, FailingCommandsExitWithOne) {
    connections.emplace_back(pre_migrate.connect(
        [](const MigrateEvent&) { throw std::runtime_error("the disk is read-only"); }));
    const auto r = run({"migrate"});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "CommandError: the disk is read-only\n");
    EXPECT_EQ(table_count(), 0);
    connections.clear();

    const auto bad_alias = run({"migrate", "--database", "nope"});
    EXPECT_EQ(bad_alias.code, 1);
    EXPECT_TRUE(
        bad_alias.err.starts_with("CommandError: database alias \"nope\" is not "
                                  "configured"))
        << bad_alias.err;
}

// ------------------------------------------------------------------------------ usage

TEST_F(ManageTest, UsageErrorsExitWithTwo) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {},                                 // no command
             {"frobnicate"},                     // unknown command
             {"receivers", "--format", "xml"},   // a value not among the choices
             {"receivers", "--no-such-option"},  // unknown option
             {"migrate", "--database"},          // missing value
         }) {
        const auto r = run(args);
        std::string joined;
        for (const auto& a : args) {
            joined += a + " ";
        }
        EXPECT_EQ(r.code, 2) << joined << "\n" << r.out << r.err;
        EXPECT_FALSE(r.err.empty()) << joined;
    }
    EXPECT_TRUE(contains(run({"frobnicate"}).err, "frobnicate"));
}

TEST_F(ManageTest, HelpListsTheCommands) {
    const auto r = run({"--help"});
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.err, "");
    EXPECT_TRUE(contains(r.out, "manage"));
    EXPECT_TRUE(contains(r.out, "migrate"));
    EXPECT_TRUE(contains(r.out, "receivers"));
    const auto sub = run({"receivers", "--help"});
    EXPECT_EQ(sub.code, 0);
    EXPECT_TRUE(contains(sub.out, "--format"));
    EXPECT_TRUE(contains(sub.out, "--signal"));
}

// ------------------------------------------------------------------------------ own commands

// tocsin: a program adds its own command (Django's management/commands/<name>.py) with options,
// a flag, an integer and positional arguments; it may fail with CommandError.
TEST_F(ManageTest, ProgramsAddTheirOwnCommands) {
    management::add_command({
        .name = "greet",
        .help = "Say hello",
        .arguments =
            [](management::Arguments& a) {
                a.option("greeting", "What to say", "hello")
                    .integer("times", "How often", 1)
                    .flag("shout", "In capitals")
                    .positional("names", "Who to greet", true);
            },
        .handle =
            [](const management::Options& o, std::ostream& out) {
                if (o.integer("times") < 0) {
                    throw CommandError("--times must not be negative");
                }
                for (long long i = 0; i < o.integer("times"); ++i) {
                    for (const auto& name : o.list("names")) {
                        std::string line = o.text("greeting") + " " + name;
                        if (o.flag("shout")) {
                            for (auto& c : line) {
                                c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                            }
                        }
                        out << line << "\n";
                    }
                }
            },
    });
    EXPECT_EQ(management::command_names(),
              (Log{"dumpdata", "flush", "loaddata", "makemigrations", "migrate", "outbox",
                   "receivers", "showmigrations", "sqlflush", "sqlmigrate", "worker", "greet"}));
    EXPECT_TRUE(contains(run({"--help"}).out, "greet"));

    auto r = run({"greet", "ann", "bob"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "hello ann\nhello bob\n");
    r = run({"greet", "--greeting", "hi", "--times", "2", "--shout", "ann"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "HI ANN\nHI ANN\n");
    r = run({"greet", "--times", "-1", "ann"});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err, "CommandError: --times must not be negative\n");
    EXPECT_EQ(run({"greet"}).code, 2) << "names are required";
    EXPECT_EQ(run({"greet", "--times", "many", "ann"}).code, 2) << "not an integer";

    EXPECT_THROW(management::add_command({.name = "greet", .handle = [](auto&, auto&) {}}),
                 std::invalid_argument);
    EXPECT_THROW(management::add_command({.name = "migrate", .handle = [](auto&, auto&) {}}),
                 std::invalid_argument);
    EXPECT_THROW(management::add_command({.name = "nothing"}), std::invalid_argument);
    EXPECT_TRUE(management::remove_command("greet"));
    EXPECT_FALSE(management::remove_command("greet"));
    EXPECT_FALSE(management::remove_command("migrate")) << "built-ins stay";
    EXPECT_EQ(run({"greet", "ann"}).code, 2);
}

// tocsin: asking Options for a name the command did not declare is the command's bug: it fails
// with a message naming it.
TEST_F(ManageTest, UndeclaredOptionIsAnError) {
    management::add_command({.name = "broken",
                             .help = "Reads what it never declared",
                             .handle = [](const management::Options& o, std::ostream&) {
                                 static_cast<void>(o.text("database"));
                             }});
    const auto r = run({"broken"});
    management::remove_command("broken");
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err, "CommandError: the command declares no text option named 'database'\n");
}

// ------------------------------------------------------------------------------ fixtures

// Django's loaddata command: every fixture in one transaction, then "Installed N object(s) from
// M fixture(s)" (tests/fixtures FixtureLoadingTests.test_loading_and_dumping, the message).
TEST_F(ManageTest, LoaddataInstallsTheFixtures) {
    migrate();
    Log saves;
    connections.emplace_back(
        post_save.connect([&](const Sender&, ModelBase& m, const SaveEvent& e) {
            saves.push_back(std::to_string(*m.id) + (e.raw ? " raw" : ""));
        }));
    const auto authors = write("authors.json", R"([
        {"model": "library.author", "pk": 1, "fields": {"name": "Ann", "born": 1950}},
        {"model": "library.book", "pk": 3, "fields": {"author": 1, "title": "Emma"}}
    ])");
    const auto customers = write(
        "customers.json", R"([{"model": "shop.customer", "pk": 2, "fields": {"name": "Cy"}}])");
    const auto r = run({"loaddata", authors, customers});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(r.out, "Installed 3 object(s) from 2 fixture(s)\n");
    EXPECT_EQ(saves, (Log{"1 raw", "3 raw", "2 raw"}));
    EXPECT_EQ(library::Book::objects().get(where(&ModelBase::id) == 3).title, "Emma");
    EXPECT_EQ(shop::Customer::objects().count(), 1);

    // --database: that alias only.
    migrate("other");
    const auto other = run({"loaddata", customers, "--database", "other"});
    EXPECT_EQ(other.code, 0) << other.err;
    EXPECT_EQ(other.out, "Installed 1 object(s) from 1 fixture(s)\n");
    EXPECT_EQ(QuerySet<shop::Customer>("other").count(), 1);
    EXPECT_EQ(shop::Customer::objects().count(), 1);
}

// A broken fixture: exit 1, "CommandError: <the FixtureError>", nothing loaded — the files
// before it included (one transaction). No file at all is a usage error.
TEST_F(ManageTest, LoaddataOfABrokenFixtureLoadsNothing) {
    migrate();
    const auto good =
        write("good.json", R"([{"model": "library.author", "pk": 1, "fields": {"name": "Ann"}}])");
    const auto bad = write("bad.json", R"([
        {"model": "library.author", "pk": 2, "fields": {"name": "Bob"}},
        {"model": "library.book", "pk": 7, "fields": {"author": 99, "title": "x"}}
    ])");
    const auto r = run({"loaddata", good, bad});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "CommandError: Problem installing fixture '" + bad +
                         "': object at index 1 (library.book pk=7), field 'author': "
                         "library.author pk=99 does not exist (dangling foreign key)\n");
    EXPECT_EQ(library::Author::objects().count(), 0);
    EXPECT_EQ(library::Book::objects().count(), 0);

    const auto missing = run({"loaddata", dir.file("nope.json")});
    EXPECT_EQ(missing.code, 1);
    EXPECT_TRUE(missing.err.starts_with("CommandError: Problem installing fixture '"))
        << missing.err;
    EXPECT_TRUE(contains(missing.err, "nope.json"));
    EXPECT_EQ(run({"loaddata"}).code, 2) << "a fixture is required";
}

// Django's dumpdata command: the fixture text on stdout, exactly what tocsin::dumpdata() gives
// for the same labels, database and indent.
TEST_F(ManageTest, DumpdataWritesToTheStandardOutput) {
    migrate();
    auto ann = library::Author::objects().create({.name = "Ann", .born = 1950});
    library::Book::objects().create({.author = ann, .title = "Emma", .pages = 3});
    shop::Customer::objects().create({.name = "Cy"});

    auto r = run({"dumpdata"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(r.out, dumpdata());
    EXPECT_TRUE(contains(r.out, "\"model\": \"shop.customer\""));

    r = run({"dumpdata", "library.Author", "shop"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, dumpdata({.labels = {"library.Author", "shop"}}));
    EXPECT_EQ(r.out.find("library.book"), std::string::npos);

    r = run({"dumpdata", "library.author", "--indent", "4"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, dumpdata({.labels = {"library.author"}, .indent = 4}));
    EXPECT_TRUE(contains(r.out, "{\n    \"model\": \"library.author\",\n"));

    r = run({"dumpdata", "library.author", "--indent", "0"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out,
              R"([{"model": "library.author", "pk": 1, "fields": {"name": "Ann", "born": 1950}}])");

    migrate("other");
    r = run({"dumpdata", "shop.customer", "--database", "other"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "[\n]\n");
}

// --output FILE writes the text there (nothing on stdout); it loads back with loaddata.
TEST_F(ManageTest, DumpdataWritesTheOutputFile) {
    migrate();
    library::Author::objects().create({.name = "Ann", .born = 1950});
    const auto path = dir.file("dump.json");
    auto r = run({"dumpdata", "library", "--output", path, "--indent", "3"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(read_file(path), dumpdata({.labels = {"library"}, .indent = 3}));
    EXPECT_TRUE(contains(read_file(path), "\n   \"model\": \"library.author\""));

    migrate("other");
    r = run({"loaddata", path, "--database", "other"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "Installed 1 object(s) from 1 fixture(s)\n");
    EXPECT_EQ(dumpdata({.labels = {"library"}, .database = "other", .indent = 3}), read_file(path));

    r = run({"dumpdata", "--output", dir.file("no/such/dir/dump.json")});
    EXPECT_EQ(r.code, 1);
    EXPECT_TRUE(contains(r.err, "CommandError: cannot open '")) << r.err;
}

// An unknown model or app label fails (Django's CommandError "Unknown model" / "No installed
// app with label"), and leaves an --output file untouched; so does an --indent too large.
TEST_F(ManageTest, DumpdataOfAnUnknownLabelFails) {
    migrate();
    const auto path = write("keep.json", "kept");
    auto r = run({"dumpdata", "library.Nope", "--output", path});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "CommandError: dumpdata: unknown model: library.Nope\n");
    EXPECT_EQ(read_file(path), "kept");
    r = run({"dumpdata", "nowhere"});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err, "CommandError: dumpdata: no installed app with label 'nowhere'\n");
    r = run({"dumpdata", "--indent", "1000"});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err, "CommandError: --indent must be at most 100 (got 1000)\n");
    EXPECT_EQ(run({"dumpdata", "--indent", "two"}).code, 2);
}

/// Installs library, shop and tags (a model with a natural key).
class ManageNaturalKeysTest : public ManageTest {
  protected:
    [[nodiscard]] std::vector<std::shared_ptr<AppConfig>> installed_apps() const override {
        return {library, shop, std::make_shared<App<tags::Tag, tags::Post>>("tags")};
    }
};

// Django's dumpdata --natural-foreign / --natural-primary: the options of tocsin::dumpdata();
// what they write loads back with loaddata.
TEST_F(ManageNaturalKeysTest, DumpdataNaturalKeys) {
    migrate();
    const auto news = tags::Tag::objects().create({.name = "news"});
    tags::Post::objects().create({.tag = news});
    auto r = run({"dumpdata", "tags", "--indent", "0", "--natural-foreign", "--natural-primary"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, R"([{"model": "tags.tag", "fields": {"name": "news"}}, )"
                     R"({"model": "tags.post", "pk": 1, "fields": {"tag": ["news"]}}])");
    EXPECT_EQ(r.out, dumpdata({.labels = {"tags"},
                               .indent = 0,
                               .use_natural_foreign_keys = true,
                               .use_natural_primary_keys = true}));
    r = run({"dumpdata", "tags.post", "--indent", "0", "--natural-foreign"});
    EXPECT_EQ(r.out, R"([{"model": "tags.post", "pk": 1, "fields": {"tag": ["news"]}}])");
    r = run({"dumpdata", "tags.tag", "--indent", "0", "--natural-primary"});
    EXPECT_EQ(r.out, R"([{"model": "tags.tag", "fields": {"name": "news"}}])");
    r = run({"dumpdata", "tags", "--indent", "0"});
    EXPECT_EQ(r.out, R"([{"model": "tags.tag", "pk": 1, "fields": {"name": "news"}}, )"
                     R"({"model": "tags.post", "pk": 1, "fields": {"tag": 1}}])");

    // Into another database: the tag is inserted (no row has its natural key there), the post
    // refers to it by natural key.
    const auto path = dir.file("tags.json");
    r = run({"dumpdata", "tags", "--natural-foreign", "--natural-primary", "--output", path});
    EXPECT_EQ(r.code, 0) << r.err;
    migrate("other");
    r = run({"loaddata", path, "--database", "other"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "Installed 2 object(s) from 1 fixture(s)\n");
    EXPECT_EQ(dumpdata({.labels = {"tags"}, .database = "other", .indent = 0}),
              R"([{"model": "tags.tag", "pk": 1, "fields": {"name": "news"}}, )"
              R"({"model": "tags.post", "pk": 1, "fields": {"tag": 1}}])");
}

// ------------------------------------------------------------------------------ flush

/// Replaces std::cin's buffer with `text` for its lifetime (the flush prompt reads std::cin).
class StandardInput {
  public:
    explicit StandardInput(const std::string& text)
        : text_(text), old_(std::cin.rdbuf(text_.rdbuf())) {}
    StandardInput(const StandardInput&) = delete;
    StandardInput& operator=(const StandardInput&) = delete;
    ~StandardInput() { std::cin.rdbuf(old_); }

  private:
    std::istringstream text_;
    std::streambuf* old_;
};

/// Authors with books, a customer with an order: rows in four tables that reference each other.
void add_rows() {
    auto ann = library::Author::objects().create({.name = "Ann"});
    library::Book::objects().create({.author = ann, .title = "One"});
    library::Book::objects().create({.author = ann, .title = "Two"});
    auto bob = shop::Customer::objects().create({.name = "Bob"});
    shop::Order::objects().create({.customer = bob, .code = "A1"});
}

// Django's SqlFlushTests.test_sql_flush_no_tables (tests/backends/base/test_operations.py): with
// no table of a model, there is nothing to flush.
TEST_F(ManageTest, test_sql_flush_no_tables) {
    EXPECT_EQ(sql_flush(), std::vector<std::string>{});
    EXPECT_EQ(flush(), std::vector<std::string>{});
    const auto r = run({"flush", "--noinput"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "Flushed database 'default': 0 tables\n");
}

// Django's SqlFlushTests.test_execute_sql_flush_statements: every row goes, and with
// reset_sequences the next row of each table gets id 1 again.
TEST_F(ManageTest, test_execute_sql_flush_statements) {
    static_cast<void>(migrate());
    add_rows();
    EXPECT_EQ(library::Author::objects().count(), 1);
    const auto emptied = flush();
    EXPECT_FALSE(emptied.empty());
    EXPECT_EQ(library::Author::objects().count(), 0);
    EXPECT_EQ(library::Book::objects().count(), 0);
    EXPECT_EQ(shop::Customer::objects().count(), 0);
    EXPECT_EQ(shop::Order::objects().count(), 0);
    EXPECT_EQ(table_count(), static_cast<std::int64_t>(migration_plan().size()))
        << "the tables stay";
    const auto again = library::Author::objects().create({.name = "Cy"});
    EXPECT_EQ(again.id, std::optional<std::int64_t>(1));
    EXPECT_EQ(library::Book::objects().create({.author = again, .title = "Three"}).id,
              std::optional<std::int64_t>(1));
}

// tocsin: without reset_sequences the ids go on where they were (Django's
// execute_sql_flush with reset_sequences=False).
TEST_F(ManageTest, FlushWithoutResetKeepsTheSequences) {
    static_cast<void>(migrate());
    add_rows();
    static_cast<void>(flush("default", {.reset_sequences = false}));
    EXPECT_EQ(library::Author::objects().count(), 0);
    EXPECT_EQ(library::Author::objects().create({.name = "Cy"}).id, std::optional<std::int64_t>(2));
}

// Django's flush command: --noinput flushes without asking, sends post_migrate for every app
// again (receivers may put data back), and no delete signal.
TEST_F(ManageTest, FlushCommandEmptiesTheTablesAndSendsPostMigrate) {
    static_cast<void>(migrate());
    add_rows();
    Log log;
    connections.emplace_back(post_migrate.connect([&](const MigrateEvent& e) {
        log.push_back("post " + e.app_config.label() + " plan=" + std::to_string(e.plan.size()));
    }));
    int deletes = 0;
    connections.emplace_back(
        post_delete.connect([&](const Sender&, ModelBase&, const DeleteEvent&) { ++deletes; }));
    const auto r = run({"flush", "--noinput"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_TRUE(r.out.starts_with("Flushed database 'default': ")) << r.out;
    EXPECT_EQ(log, (Log{"post library plan=0", "post shop plan=0"}));
    EXPECT_EQ(deletes, 0);
    EXPECT_EQ(library::Book::objects().count(), 0);
    EXPECT_EQ(shop::Order::objects().count(), 0);
}

// Django's flush command asks first; anything but "yes" cancels and keeps every row.
TEST_F(ManageTest, FlushAsksAndIsCancelledByAnythingButYes) {
    static_cast<void>(migrate());
    add_rows();
    {
        const StandardInput in("no\n");
        const auto r = run({"flush"});
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_TRUE(contains(r.out, "You have requested a flush of the database."));
        EXPECT_TRUE(contains(r.out, "Type 'yes' to continue, or 'no' to cancel: "));
        EXPECT_TRUE(r.out.ends_with("Flush cancelled.\n")) << r.out;
        EXPECT_EQ(library::Book::objects().count(), 2);
    }
    {
        const StandardInput in("yes\n");
        const auto r = run({"flush"});
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_TRUE(contains(r.out, "Flushed database 'default': ")) << r.out;
        EXPECT_EQ(library::Book::objects().count(), 0);
    }
}

// tocsin: flush touches only the database it is given.
TEST_F(ManageTest, FlushAnotherDatabase) {
    static_cast<void>(migrate());
    static_cast<void>(migrate("other"));
    add_rows();
    const auto r = run({"flush", "--noinput", "--database", "other"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(r.out.starts_with("Flushed database 'other': ")) << r.out;
    EXPECT_EQ(library::Book::objects().count(), 2);
    const auto bad = run({"flush", "--noinput", "--database", "nowhere"});
    EXPECT_EQ(bad.code, 1);
    EXPECT_TRUE(contains(bad.err, "nowhere")) << bad.err;
}

// Django's sqlflush: the statements flush runs, on this engine: one TRUNCATE of every table with
// RESTART IDENTITY on PostgreSQL (Django's postgresql test_sql_flush_sequences), a DELETE per
// table and the sqlite_sequence reset on SQLite (Django's sqlite test_sql_flush_sequences).
TEST_F(ManageTest, SqlflushPrintsTheStatements) {
    static_cast<void>(migrate());
    const auto r = run({"sqlflush"});
    EXPECT_EQ(r.code, 0) << r.err;
    if (on_postgresql()) {
        EXPECT_TRUE(r.out.starts_with("TRUNCATE ")) << r.out;
        EXPECT_TRUE(contains(r.out, "\"library_author\""));
        EXPECT_TRUE(r.out.ends_with(" RESTART IDENTITY;\n")) << r.out;
    } else {
        EXPECT_TRUE(contains(r.out, "DELETE FROM \"library_author\";\n")) << r.out;
        EXPECT_TRUE(contains(r.out, "DELETE FROM \"shop_order\";\n"));
        EXPECT_TRUE(contains(r.out, "DELETE FROM sqlite_sequence WHERE name IN ('library_author'"))
            << r.out;
    }
    EXPECT_EQ(sql_flush("default", false).size(), on_postgresql() ? 1U : migration_plan().size());
}

}  // namespace
}  // namespace tocsin::test
