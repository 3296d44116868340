// The app registry: setup() registers the installed apps and their models, resolves lazy label
// connects, then calls each app's ready() once, in order (Django's Apps.populate, notes §3);
// its errors are Django's (ImproperlyConfigured, signals.E001, invalid model references).
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "../models/test_support.hpp"

namespace tocsin::test {

/// A receiver with a symbol of its own: error messages name it (the binary exports symbols).
void on_invoice_saved(ModelBase& /*instance*/, const SaveEvent& /*event*/) {}

/// What the lazy-disconnect receiver heard (Django's `received` list).
std::vector<std::string>& received() {
    static std::vector<std::string> log;
    return log;
}
/// A function receiver of post_init, disconnected by label in the LazyModelRefTests ports.
void record_init(const Sender& /*sender*/, ModelBase& instance, const InitEvent& /*event*/) {
    received().push_back("post_init id=" + std::to_string(instance.id.value_or(0)));
}

/// A model of the same app, listed by no app and used by no one but the tests that use it.
struct Draft : Model<Draft> {
    static constexpr std::string_view label = "blog.Draft";
    std::string text;
    static auto fields() { return tocsin::fields(tocsin::field("text", &Draft::text)); }
};

/// A receiver with a symbol of its own (external linkage: Draft is outside the anonymous
/// namespace), connected by type for a model no app lists.
void on_draft_saved(Draft& /*draft*/, const SaveEvent& /*event*/) {}

namespace {

using library::Author;
using library::Book;
using shop::Customer;
using Log = std::vector<std::string>;

/// An app whose models are `M...`; its ready() writes to a journal, then runs `on_ready`.
template <class... M>
class TestConfig : public AppConfig {
  public:
    TestConfig(std::string label, Log& journal) : AppConfig(std::move(label)), journal_(journal) {}
    [[nodiscard]] std::vector<const apps::ModelDescription*> models() const override {
        return tocsin::describe<M...>();
    }
    void ready() override {
        journal_.push_back("ready " + label());
        if (on_ready) {
            on_ready();
        }
    }
    std::function<void()> on_ready;

  private:
    Log& journal_;
};

using LibraryConfig = TestConfig<library::Author, library::Book, library::Page, library::Bio,
                                 library::Loan, library::Award, library::Note, library::Category>;
using ShopConfig = TestConfig<shop::Customer, shop::Order, shop::Payment, shop::Review>;
using LabConfig = TestConfig<lab::Sample, lab::Legacy>;

/// A second model labelled "library.Author" (Django's "Conflicting models" case).
struct OtherAuthor : Model<OtherAuthor> {
    static constexpr std::string_view label = "library.Author";
    static constexpr std::string_view db_table = "other_author";
    std::string name;
    static auto fields() { return tocsin::fields(tocsin::field("name", &OtherAuthor::name)); }
};

/// A model described for the first time by the class_prepared test.
struct Fresh : Model<Fresh> {
    static constexpr std::string_view label = "lab.Fresh";
    int value = 0;
    static auto fields() { return tocsin::fields(tocsin::field("value", &Fresh::value)); }
};

/// An app "blog" whose models() forgets Tag: Post refers to it (a foreign key and a
/// many-to-many), Special extends it.
struct Tag : Model<Tag> {
    static constexpr std::string_view label = "blog.Tag";
    std::string name;
    static auto fields() { return tocsin::fields(tocsin::field("name", &Tag::name)); }
};
struct Post : Model<Post> {
    static constexpr std::string_view label = "blog.Post";
    std::string title;
    ForeignKey<Tag> main_tag{on_delete::cascade};
    ManyToMany<Tag> tags;
    static auto fields() {
        return tocsin::fields(tocsin::field("title", &Post::title),
                              tocsin::field("main_tag", &Post::main_tag),
                              tocsin::field("tags", &Post::tags));
    }
};
struct Special : Model<Special, Tag> {
    static constexpr std::string_view label = "blog.Special";
    int rank = 0;
    static auto fields() { return tocsin::fields(tocsin::field("rank", &Special::rank)); }
};
class SetupTest : public ::testing::Test {
  protected:
    void SetUp() override {
        Apps::instance().reset();
        baseline_ = model_receiver_counts();
    }
    void TearDown() override {
        connections.clear();
        token.reset();  // disconnects the lazily connected receivers
        Apps::instance().reset();
        db::close_all();
        db::configure({});
        EXPECT_EQ(model_receiver_counts(), baseline_) << "a receiver was left connected";
    }

    /// setup() with `apps` on a fresh database (test_database()), then migrate().
    void setup_with(std::vector<std::shared_ptr<AppConfig>> apps) {
        setup({.installed_apps = std::move(apps),
               .databases = {{"default", test_database(dir, "default.db", databases)}}});
        migrate();
    }

    TempDir dir;
    test_support::TestDatabases databases;
    Log journal;
    std::shared_ptr<LibraryConfig> library_app =
        std::make_shared<LibraryConfig>("library", journal);
    std::shared_ptr<ShopConfig> shop_app = std::make_shared<ShopConfig>("shop", journal);
    std::shared_ptr<LabConfig> lab_app = std::make_shared<LabConfig>("lab", journal);
    std::vector<ScopedConnection> connections;
    /// Keeps the lazily connected receivers (connected with .track = token) for the test only.
    std::shared_ptr<int> token = std::make_shared<int>(0);

  private:
    std::vector<std::size_t> baseline_;
};

// Django: applications docs / registry.py populate() — ready() is called once per app, in
// INSTALLED_APPS order, after every installed app's models are registered; populate() is
// idempotent.
TEST_F(SetupTest, ReadyIsCalledOnceInOrderAfterEveryModelIsRegistered) {
    shop_app->on_ready = [&] {
        journal.push_back(
            std::string("library.Author registered: ") +
            (Apps::instance().find_model("library.Author") != nullptr ? "yes" : "no"));
    };
    EXPECT_FALSE(Apps::instance().ready());
    setup_with({shop_app, library_app, lab_app});
    EXPECT_EQ(journal,
              (Log{"ready shop", "library.Author registered: yes", "ready library", "ready lab"}));
    EXPECT_TRUE(Apps::instance().ready());
    EXPECT_TRUE(shop_app->is_ready());
    EXPECT_TRUE(library_app->is_ready());

    setup_with({shop_app, library_app, lab_app});
    EXPECT_EQ(journal.size(), 4U) << "ready() ran again";
}

// Django: apps.tests.AppsTests.test_get_model — models are found by "app_label.ModelName", the
// model name case-insensitively, the app label exactly.
TEST_F(SetupTest, ModelsAreRegisteredByLabel) {
    setup_with({library_app, shop_app});
    auto& apps = Apps::instance();
    EXPECT_EQ(apps.find_model("library.Author"), &Author::info());
    EXPECT_EQ(apps.find_model("library.author"), &Author::info());
    EXPECT_EQ(apps.find_model("library.AUTHOR"), &Author::info());
    EXPECT_EQ(apps.find_model("shop.Customer"), &Customer::info());
    EXPECT_EQ(apps.find_model("Library.Author"), nullptr);
    EXPECT_EQ(apps.find_model("library.Nope"), nullptr);
    EXPECT_EQ(apps.find_model("lab.Sample"), nullptr) << "lab is not installed";
    EXPECT_EQ(apps.app("library"), library_app.get());
    EXPECT_EQ(apps.app("lab"), nullptr);
    const auto models = apps.models();
    ASSERT_EQ(models.size(), 12U);
    EXPECT_EQ(models.front()->label(), "library.Author");
    EXPECT_EQ(models[8]->label(), "shop.Customer");
    EXPECT_EQ(models[8]->sender, Sender::of<Customer>());

    apps.reset();
    EXPECT_EQ(apps.find_model("library.Author"), nullptr);
    EXPECT_EQ(apps.app("library"), nullptr);
    EXPECT_FALSE(apps.ready());
}

// describe_sender names a sender as `manage receivers` and the admin do: "(any)", a registered
// model's label, "app:<label>" for an installed app's config, else Sender::name().
TEST_F(SetupTest, DescribeSenderNamesModelsAppsAndOtherSenders) {
    EXPECT_EQ(apps::describe_sender(Sender{}), "(any)");
    EXPECT_EQ(apps::describe_sender(Sender::of<Author>()), Sender::of<Author>().name())
        << "not registered yet";
    setup_with({library_app, shop_app});
    EXPECT_EQ(apps::describe_sender(Sender::of<Author>()), "library.Author");
    EXPECT_EQ(apps::describe_sender(Sender::of<Customer>()), "shop.Customer");
    EXPECT_EQ(apps::describe_sender(library_app->sender()), "app:library");
    EXPECT_EQ(apps::describe_sender(Sender::of<lab::Sample>()), Sender::of<lab::Sample>().name())
        << "lab is not installed";
    const int object = 0;
    EXPECT_EQ(apps::describe_sender(Sender::object(&object)), Sender::object(&object).name());
}

// Django: signals.tests.LazyModelRefTests.test_not_loaded_model and notes §3 item 5 — a connect
// by label before the model is registered waits; setup() connects it, and the receiver then
// hears that model only, with the model (not the string) as sender. The model name of a label
// is case-insensitive ("shop.customer").
TEST_F(SetupTest, LazyLabelConnectsMadeBeforeSetupAreConnectedAtSetup) {
    Log heard;
    const auto before = post_save.receiver_count();
    post_save.connect("library.Author",
                      [&](const Sender& s, ModelBase& m, const SaveEvent& e) {
                          heard.push_back("post_save " + model_name(s) + " " +
                                          static_cast<Author&>(m).name +
                                          (e.created ? " created" : ""));
                      },
                      {.track = token});
    pre_save.connect(
        "shop.customer",
        [&](const Sender& s, ModelBase& m, const SaveEvent&) {
            heard.push_back("pre_save " + model_name(s) + " " + static_cast<Customer&>(m).name);
        },
        {.track = token});
    EXPECT_EQ(post_save.receiver_count(), before) << "connected before its model is registered";

    setup_with({library_app, shop_app});
    EXPECT_EQ(post_save.receiver_count(), before + 1);
    auto ann = Author::objects().create({.name = "Ann"});
    Book::objects().create({.author = ann, .title = "Dune"});
    Customer::objects().create({.name = "John"});
    EXPECT_EQ(heard, (Log{"post_save Author Ann created", "pre_save Customer John"}));
}

// Django: signals.tests.LazyModelRefTests.test_disconnect_registered_model — with the model
// registered, a connect by label then two disconnects by label (each returning nothing, as
// Django's return None) leave nothing connected: building an instance calls no receiver.
TEST_F(SetupTest, test_disconnect_registered_model) {
    setup_with({library_app});
    received().clear();
    const auto before = post_init.receiver_count();
    post_init.connect("library.Author", &record_init);
    EXPECT_EQ(post_init.receiver_count(), before + 1);
    static_assert(std::is_void_v<decltype(post_init.disconnect(&record_init, "library.Author"))>);
    post_init.disconnect(&record_init, "library.Author");
    post_init.disconnect(&record_init, "library.Author");
    EXPECT_EQ(post_init.receiver_count(), before);
    Author::objects().create({.name = "Ann"});
    static_cast<void>(Author::objects().get());
    EXPECT_EQ(received(), std::vector<std::string>{});
}

// Django: signals.tests.LazyModelRefTests.test_disconnect_unregistered_model — before the
// model is registered, the connect and both disconnects wait, and run in the order asked when
// setup() registers it: nothing is connected. A dispatch_uid disconnects the same way.
TEST_F(SetupTest, test_disconnect_unregistered_model) {
    received().clear();
    const auto before = post_init.receiver_count();
    post_init.connect("library.Author", &record_init);
    post_init.disconnect(&record_init, "library.Author");
    post_init.disconnect(&record_init, "library.Author");
    post_init.connect("library.Book",
                      [](ModelBase&, const InitEvent&) { received().push_back("by uid"); },
                      {.dispatch_uid = "book.init"});
    post_init.disconnect("book.init", "library.Book");
    setup_with({library_app});
    EXPECT_EQ(post_init.receiver_count(), before);
    auto ann = Author::objects().create({.name = "Ann"});
    Book::objects().create({.author = ann, .title = "Dune"});
    static_cast<void>(Author::objects().get());
    static_cast<void>(Book::objects().get());
    EXPECT_EQ(received(), std::vector<std::string>{});

    // A disconnect by a label no installed app defines fails setup() as a connect does.
    Apps::instance().reset();
    post_init.disconnect(&record_init, "billing.Invoice");
    EXPECT_TRUE(contains(message_of<ImproperlyConfigured>([&] { setup_with({library_app}); }),
                         "' was disconnected from the 'post_init' signal with a lazy reference "
                         "to the sender 'billing.invoice', but app 'billing' isn't installed."));
}

// Django: registry.py do_pending_operations — the operations waiting for a model run in the
// order they were registered.
TEST_F(SetupTest, LazyConnectsAreMadeInTheOrderTheyWereAsked) {
    Log heard;
    for (const char* name : {"first", "second", "third"}) {
        post_save.connect("library.Author",
                          [&heard, name](ModelBase&, const SaveEvent&) { heard.push_back(name); },
                          {.track = token});
    }
    setup_with({library_app});
    Author::objects().create({.name = "Ann"});
    EXPECT_EQ(heard, (Log{"first", "second", "third"}));
}

// Django: signals.tests.LazyModelRefTests.test_already_loaded_model — once the model is
// registered, a connect by label connects at once.
TEST_F(SetupTest, LazyLabelConnectAfterSetupConnectsAtOnce) {
    setup_with({library_app});
    const auto before = post_save.receiver_count();
    Log heard;
    post_save.connect(
        "library.Author",
        [&](const Sender& s, ModelBase&, const SaveEvent&) { heard.push_back(model_name(s)); },
        {.track = token});
    EXPECT_EQ(post_save.receiver_count(), before + 1);
    Author::objects().create({.name = "Ann"});
    EXPECT_EQ(heard, (Log{"Author"}));
}

// Django: applications docs ("use ready() to register signals"), seed 001 — receivers connected
// in ready(), by type or by label, hear the saves that follow.
TEST_F(SetupTest, ReceiversConnectedInReadyAreHeard) {
    Log heard;
    library_app->on_ready = [&] {
        connections.emplace_back(post_save.connect<Author>(
            [&](Author& a, const SaveEvent&) { heard.push_back("typed " + a.name); }));
        post_save.connect("library.Author",
                          [&](ModelBase& m, const SaveEvent&) {
                              heard.push_back("label " + static_cast<Author&>(m).name);
                          },
                          {.track = token});
    };
    setup_with({library_app});
    Author::objects().create({.name = "Ann"});
    EXPECT_EQ(heard, (Log{"typed Ann", "label Ann"}));
}

// Django: invalid_models_tests.test_models.OtherModelTests.test_lazy_reference_checks
// (signals.E001) — "The function 'dummy_function' was connected to the 'post_init' signal with
// a lazy reference to the sender 'missing-app.model', but app 'missing-app' isn't installed."
// tocsin raises it from setup(), before any ready(), and connects nothing.
TEST_F(SetupTest, LabelOfAnAppNotInstalledIsImproperlyConfigured) {
    const auto before = post_save.receiver_count();
    post_save.connect("billing.Invoice", [](ModelBase&, const SaveEvent&) {},
                      {.track = token, .name = "billing.notify"});
    EXPECT_EQ(message_of<ImproperlyConfigured>([&] {
                  setup_with({library_app, shop_app});
              }),
              "The function 'billing.notify' was connected to the 'post_save' signal with a "
              "lazy reference to the sender 'billing.invoice', but app 'billing' isn't "
              "installed.");
    EXPECT_TRUE(journal.empty()) << "ready() ran";
    EXPECT_FALSE(Apps::instance().ready());
    EXPECT_EQ(post_save.receiver_count(), before);
}

// The same for a receiver given by function: the message names the function.
TEST_F(SetupTest, ImproperlyConfiguredNamesTheReceiverFunction) {
    pre_save.connect("billing.Invoice", &on_invoice_saved, {.track = token});
    const auto message = message_of<ImproperlyConfigured>([&] {
        setup_with({library_app, shop_app});
    });
    EXPECT_TRUE(contains(message, "The function 'tocsin::test::on_invoice_saved"));
    EXPECT_TRUE(contains(message,
                         "' was connected to the 'pre_save' signal with a lazy reference to the "
                         "sender 'billing.invoice', but app 'billing' isn't installed."));
}

// Django: test_lazy_reference_checks — "… lazy reference to auth.imaginarymodel, but app 'auth'
// doesn't provide model 'imaginarymodel'."; every unresolved reference is reported.
TEST_F(SetupTest, LabelOfAModelTheAppDoesNotProvide) {
    pre_delete.connect("library.Nope", [](ModelBase&, const DeleteEvent&) {},
                       {.track = token, .name = "f"});
    post_save.connect("billing.Invoice", [](ModelBase&, const SaveEvent&) {},
                      {.track = token, .name = "g"});
    const auto message = message_of<ImproperlyConfigured>([&] { setup_with({library_app}); });
    EXPECT_TRUE(contains(message,
                         "The function 'f' was connected to the 'pre_delete' signal with a lazy "
                         "reference to the sender 'library.nope', but app 'library' doesn't "
                         "provide model 'nope'."));
    EXPECT_TRUE(contains(message,
                         "The function 'g' was connected to the 'post_save' signal with a lazy "
                         "reference to the sender 'billing.invoice', but app 'billing' isn't "
                         "installed."));
}

// After setup the registry is complete: a label it cannot resolve is refused at once.
TEST_F(SetupTest, LazyLabelConnectAfterSetupToAnUnknownModel) {
    setup_with({library_app});
    const auto before = post_save.receiver_count();
    EXPECT_EQ(message_of<ImproperlyConfigured>([&] {
                  post_save.connect("shop.Customer", [](ModelBase&, const SaveEvent&) {},
                                    {.track = token, .name = "h"});
              }),
              "The function 'h' was connected to the 'post_save' signal with a lazy reference to "
              "the sender 'shop.customer', but app 'shop' isn't installed.");
    EXPECT_EQ(post_save.receiver_count(), before);
}

// Django: signals.tests.LazyModelRefTests.test_invalid_sender_model_name — "Invalid model
// reference 'invalid'. String model references must be of the form 'app_label.ModelName'."
// (a ValueError at connect time, also for too many dots).
TEST_F(SetupTest, MalformedLabelIsInvalidArgumentWithDjangosMessage) {
    const auto receiver = [](ModelBase&, const InitEvent&) {};
    EXPECT_EQ(message_of<std::invalid_argument>(
                  [&] { post_init.connect("invalid", receiver, {.track = token}); }),
              "Invalid model reference 'invalid'. String model references must be of the form "
              "'app_label.ModelName'.");
    EXPECT_EQ(message_of<std::invalid_argument>(
                  [&] { post_init.connect("library.Author.x", receiver, {.track = token}); }),
              "Invalid model reference 'library.Author.x'. String model references must be of "
              "the form 'app_label.ModelName'.");
    setup_with({library_app});  // nothing was left waiting
    EXPECT_THROW(post_init.connect("invalid", receiver, {.track = token}), std::invalid_argument);
    EXPECT_EQ(journal, (Log{"ready library"}));
}

// Django: apps.tests.AppsTests.test_duplicate_labels — "Application labels aren't unique,
// duplicates: library".
TEST_F(SetupTest, DuplicateAppLabels) {
    auto twin = std::make_shared<ShopConfig>("library", journal);
    EXPECT_EQ(message_of<ImproperlyConfigured>([&] {
                  setup_with({library_app, twin});
              }),
              "Application labels aren't unique, duplicates: library");
    EXPECT_TRUE(journal.empty());
}

// Django: registry.py register_model — "Conflicting 'author' models in application 'library'":
// two models with one label.
TEST_F(SetupTest, ConflictingModels) {
    auto app = std::make_shared<TestConfig<Author, OtherAuthor>>("library", journal);
    EXPECT_TRUE(contains(message_of<ImproperlyConfigured>([&] { setup_with({app}); }),
                         "Conflicting 'Author' models in application 'library'"));
}

// tocsin: an app lists only its own models, and its label is a non-empty word without '.'.
TEST_F(SetupTest, ModelOfAnotherAppAndBadAppLabels) {
    auto wrong = std::make_shared<TestConfig<Customer>>("library", journal);
    EXPECT_TRUE(
        contains(message_of<ImproperlyConfigured>([&] { setup_with({wrong}); }), "shop.Customer"));
    EXPECT_THROW(ShopConfig("", journal), ImproperlyConfigured);
    EXPECT_THROW(ShopConfig("a.b", journal), ImproperlyConfigured);
}

// Django: notes §2.8 — class_prepared is sent once per model, with the model as sender, while
// the registry is populated: before any ready().
TEST_F(SetupTest, ClassPreparedIsSentOncePerModelBeforeReady) {
    ScopedConnection c = class_prepared().connect(
        [&](const Sender& s, const ModelInfo& m) {
            EXPECT_EQ(s, Sender::of<Fresh>());
            journal.push_back("class_prepared " + m.label());
        },
        {.sender = Sender::of<Fresh>()});
    auto app = std::make_shared<TestConfig<lab::Sample, Fresh>>("lab", journal);
    setup_with({app});
    static_cast<void>(Fresh::info());
    EXPECT_EQ(journal, (Log{"class_prepared lab.Fresh", "ready lab"}));
    EXPECT_EQ(Apps::instance().find_model("lab.fresh"), &Fresh::info());
}

// A commit-time receiver connected by label copies the instance through the model's
// description (its type is not known where it was connected).
TEST_F(SetupTest, LazyLabelConnectOnCommitGetsACopyMadeAtTheSend) {
    std::vector<std::string> seen;
    post_save.connect(
        "library.Author",
        [&](ModelBase& instance, const SaveEvent& e) {
            seen.push_back(static_cast<Author&>(instance).name + " in " + std::string(e.database));
        },
        {.track = token, .on_commit = true});
    setup_with({library_app});
    {
        auto tx = atomic();
        Author a{.name = "Ann"};
        a.save();
        a.name = "changed after the send";
        EXPECT_TRUE(seen.empty()) << "ran before the commit";
    }
    EXPECT_EQ(seen, std::vector<std::string>{"Ann in default"});
}

// A model used but listed by no installed app is refused by setup(), with Django's wording:
// fields.E307 for a relation of an installed model to it ("The field … was declared with a lazy
// reference to '…', but app '…' doesn't provide model '…'."), one line per field.
TEST_F(SetupTest, ARelationToAModelNoAppListsIsRefused) {
    auto blog = std::make_shared<TestConfig<Post>>("blog", journal);
    const auto message = message_of<ImproperlyConfigured>([&] { setup_with({blog}); });
    EXPECT_EQ(message,
              "The field blog.Post.main_tag was declared with a lazy reference to 'blog.tag', but "
              "app 'blog' doesn't provide model 'tag'.\n"
              "The field blog.Post.tags was declared with a lazy reference to 'blog.tag', but app "
              "'blog' doesn't provide model 'tag'.");
    EXPECT_TRUE(journal.empty()) << "ready() ran";
    EXPECT_FALSE(Apps::instance().ready());
}

// The same for the parent of an installed model (Django's parent link "<parent>_ptr"), and
// for a model of an app that is not installed.
TEST_F(SetupTest, AParentNoAppListsIsRefused) {
    auto blog = std::make_shared<TestConfig<Special>>("blog", journal);
    EXPECT_EQ(message_of<ImproperlyConfigured>([&] { setup_with({blog}); }),
              "The field blog.Special.tag_ptr was declared with a lazy reference to 'blog.tag', "
              "but app 'blog' doesn't provide model 'tag'.");
    Apps::instance().reset();
    auto other = std::make_shared<TestConfig<Special>>("other", journal);
    EXPECT_TRUE(contains(message_of<ImproperlyConfigured>([&] { setup_with({other}); }),
                         "The model 'blog.Special' is listed by the app 'other'"));
}

// A receiver connected by type for a model no installed app lists: setup() refuses it, naming
// the model, why, and the receiver (Django's "Model class … isn't in an application in
// INSTALLED_APPS.").
TEST_F(SetupTest, AModelConnectedByTypeThatNoAppListsIsRefused) {
    connections.emplace_back(post_save.connect<Draft>(&on_draft_saved));
    connections.emplace_back(
        pre_delete.connect<Draft>([](Draft&, const DeleteEvent&) {}, {.dispatch_uid = "d.uid"}));
    auto blog = std::make_shared<TestConfig<Post, Tag>>("blog", journal);
    const auto message = message_of<ImproperlyConfigured>([&] { setup_with({blog}); });
    EXPECT_TRUE(contains(message,
                         "Model class blog.Draft isn't in an application in INSTALLED_APPS: app "
                         "'blog' doesn't list it in its AppConfig::models(). The function "
                         "'tocsin::test::on_draft_saved"));
    EXPECT_TRUE(contains(message, "' was connected to the 'post_save' signal for it."));
    EXPECT_TRUE(contains(message,
                         "\nModel class blog.Draft isn't in an application in INSTALLED_APPS: app "
                         "'blog' doesn't list it in its AppConfig::models(). The function "
                         "'d.uid' was connected to the 'pre_delete' signal for it."));
    EXPECT_TRUE(journal.empty()) << "ready() ran";

    // An app that is not installed at all.
    Apps::instance().reset();
    connections.emplace_back(
        post_save.connect<Draft>([](Draft&, const SaveEvent&) {}, {.name = "drafts"}));
    EXPECT_EQ(message_of<ImproperlyConfigured>([&] { setup_with({library_app}); }),
              "Model class blog.Draft isn't in an application in INSTALLED_APPS: app 'blog' "
              "isn't installed. The function 'drafts' was connected to the 'post_save' signal "
              "for it.");
}

// A receiver disconnected before setup() uses the model no more; once the model is listed,
// the same connect is accepted.
TEST_F(SetupTest, AModelUsedOnlyByADisconnectedReceiverIsNotRefused) {
    post_save.connect<Draft>([](Draft&, const SaveEvent&) {}).disconnect();
    connections.emplace_back(post_save.connect<Tag>([](Tag&, const SaveEvent&) {}));
    setup_with({std::make_shared<TestConfig<Post, Tag>>("blog", journal)});
    EXPECT_EQ(journal, Log{"ready blog"});
}

// After setup(), connecting by type, saving, querying or removing a model no installed app
// lists raises the same error at once, and nothing is connected or written.
TEST_F(SetupTest, AModelNoAppListsCannotBeUsedAfterSetup) {
    setup_with({std::make_shared<TestConfig<Post, Tag>>("blog", journal)});
    const auto before = post_save.receiver_count();
    EXPECT_EQ(message_of<ImproperlyConfigured>([&] {
                  static_cast<void>(
                      post_save.connect<Draft>([](Draft&, const SaveEvent&) {}, {.name = "late"}));
              }),
              "Model class blog.Draft isn't in an application in INSTALLED_APPS: app 'blog' "
              "doesn't list it in its AppConfig::models(). The function 'late' was connected to "
              "the 'post_save' signal for it.");
    EXPECT_EQ(post_save.receiver_count(), before);
    Draft d{.text = "x"};
    const std::string reason =
        "Model class blog.Draft isn't in an application in INSTALLED_APPS: app 'blog' doesn't "
        "list it in its AppConfig::models().";
    EXPECT_EQ(message_of<ImproperlyConfigured>([&] { d.save(); }), reason + " It cannot be saved.");
    EXPECT_FALSE(d.id.has_value());
    EXPECT_EQ(
        message_of<ImproperlyConfigured>([&] { static_cast<void>(Draft::objects().count()); }),
        reason + " It cannot be queried.");
    d.id = 1;
    EXPECT_EQ(message_of<ImproperlyConfigured>([&] { d.remove(); }),
              reason + " It cannot be removed.");
    // The installed models work.
    Tag t{.name = "c++"};
    t.save();
    EXPECT_EQ(Tag::objects().count(), 1U);
}

}  // namespace
}  // namespace tocsin::test
