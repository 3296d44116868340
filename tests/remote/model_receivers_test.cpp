// Remote receivers of post_save beyond connect<T>: for every model, by label, with subclasses,
// with the changed fields and their previous values; and the worker loading a batch's instances
// with one SELECT per model, loading again what an earlier receiver of the batch saved or removed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "remote_support.hpp"
#include "tocsin/testing.hpp"

namespace tocsin::test::remote_test {
namespace {
namespace model_receivers_test {

/// What a receiver was called with.
struct Call {
    std::string label;  ///< the sender's model
    std::int64_t pk = 0;
    std::string name;  ///< Item::name or Note::text as loaded
};
std::vector<Call>& calls() {
    static std::vector<Call> c;
    return c;
}

std::string label_of(const Sender& sender) {
    const ModelInfo* info = find_model_info(sender);
    return info != nullptr ? info->label() : "?";
}

void any_model(const Sender& sender, ModelBase& instance, const SaveEvent&) {
    std::string name;
    if (sender == Sender::of<Note>()) {
        name = static_cast<Note&>(instance).text;
    } else if (sender == Sender::of<Item>() || sender == Sender::of<SpecialItem>()) {
        name = static_cast<Item&>(instance).name;
    }
    calls().push_back({label_of(sender), *instance.id, name});
}

void an_item(const Sender& sender, Item& item, const SaveEvent&) {
    calls().push_back({label_of(sender), *item.id, item.name});
}

/// Disconnects a receiver connected by label when it goes (post_save is global).
struct LabelConnection {
    std::string uid;
    std::string label;
    LabelConnection(std::string u, std::string l) : uid(std::move(u)), label(std::move(l)) {}
    LabelConnection(const LabelConnection&) = delete;
    LabelConnection& operator=(const LabelConnection&) = delete;
    ~LabelConnection() { disconnect(); }
    void disconnect() {
        if (!uid.empty()) {
            post_save.disconnect(uid, label);
            uid.clear();
        }
    }
};

class ModelReceiversTest : public RemoteTest {
  protected:
    void SetUp() override {
        RemoteTest::SetUp();
        calls().clear();
    }
    static std::vector<std::string> labels() {
        std::vector<std::string> out;
        for (const Call& c : calls()) {
            out.push_back(c.label);
        }
        return out;
    }
};

TEST_F(ModelReceiversTest, AReceiverForEveryModelRunsForEachModelsSavesWithItsOwnInstance) {
    connections.emplace_back(
        remote::connect(post_save, &any_model, {.queue = "q", .dispatch_uid = "t.any"}));
    const Item item = Item::objects().create({.name = "an item"});
    const Note note = Note::objects().create({.text = "a note"});
    const SpecialItem special = SpecialItem::objects().create({.level = 3});
    std::vector<std::string> senders;
    for (const auto& row : remote::outbox_rows()) {
        senders.push_back(row.sender);
    }
    EXPECT_EQ(senders, (std::vector<std::string>{"outboxtest.Item", "outboxtest.Note",
                                                 "outboxtest.SpecialItem"}));
    remote::Worker worker;
    EXPECT_EQ(worker.drain(), 3U);
    ASSERT_EQ(calls().size(), 3U);
    EXPECT_EQ(labels(), (std::vector<std::string>{"outboxtest.Item", "outboxtest.Note",
                                                  "outboxtest.SpecialItem"}));
    EXPECT_EQ(calls()[0].pk, *item.id);
    EXPECT_EQ(calls()[0].name, "an item");
    EXPECT_EQ(calls()[1].pk, *note.id);
    EXPECT_EQ(calls()[1].name, "a note");
    EXPECT_EQ(calls()[2].pk, *special.id);
    EXPECT_EQ(events_in("done"), 3);
    const auto info = remote::find_remote_receiver("post_save", "t.any");
    ASSERT_TRUE(info);
    EXPECT_EQ(info->sender, "");
}

TEST_F(ModelReceiversTest, AReceiverForEveryModelWithASenderRunsForThatModelOnly) {
    connections.emplace_back(
        remote::connect(post_save, &any_model,
                        {.queue = "q", .dispatch_uid = "t.one", .sender = Sender::of<Note>()}));
    Item::objects().create({.name = "an item"});
    Note::objects().create({.text = "a note"});
    EXPECT_EQ(outbox_size(), 1);
    remote::Worker worker;
    EXPECT_EQ(worker.drain(), 1U);
    EXPECT_EQ(labels(), (std::vector<std::string>{"outboxtest.Note"}));
    // A row naming another model (written by hand here) is refused.
    db::connection().execute(
        "INSERT INTO tocsin_outbox (queue, signal, receiver, sender, payload, idempotency_key, "
        "created_at, available_at) VALUES ('q', 'post_save', 't.one', 'outboxtest.Item', "
        "'{\"pk\":1}', 'k', 0, 0)");
    worker.drain();
    const auto failed = remote::outbox_rows({.status = remote::Status::pending});
    ASSERT_EQ(failed.size(), 1U);
    EXPECT_NE(failed[0].last_error->find("not the one the receiver is connected for"),
              std::string::npos);
}

TEST_F(ModelReceiversTest, AReceiverConnectedByLabelRunsForThatModelOnly) {
    remote::connect(post_save, "outboxtest.Note", &any_model,
                    {.queue = "q", .dispatch_uid = "t.notes"});
    LabelConnection notes{"t.notes", "outboxtest.Note"};
    Item::objects().create({.name = "an item"});
    Note::objects().create({.text = "a note"});
    EXPECT_EQ(outbox_size(), 1);
    remote::Worker worker;
    EXPECT_EQ(worker.drain(), 1U);
    EXPECT_EQ(labels(), (std::vector<std::string>{"outboxtest.Note"}));
    EXPECT_EQ(remote::find_remote_receiver("post_save", "t.notes")->sender, "outboxtest.Note");

    notes.disconnect();  // post_save.disconnect(uid, label), as locally
    Note::objects().create({.text = "another"});
    EXPECT_EQ(outbox_size(), 1);
}

TEST_F(ModelReceiversTest, WithSubclassesAReceiverOfItemRunsForASpecialItemAsAnItem) {
    connections.emplace_back(remote::connect<Item>(post_save, with_subclasses, &an_item,
                                                   {.queue = "q", .dispatch_uid = "t.items"}));
    Item::objects().create({.name = "plain"});
    SpecialItem special;
    special.name = "special";
    special.level = 2;
    special.save();
    remote::Worker worker;
    EXPECT_EQ(worker.drain(), 2U);
    ASSERT_EQ(calls().size(), 2U);
    EXPECT_EQ(calls()[0].label, "outboxtest.Item");
    EXPECT_EQ(calls()[1].label, "outboxtest.SpecialItem");  // its own sender, as locally
    EXPECT_EQ(calls()[1].name, "special");
    EXPECT_EQ(calls()[1].pk, *special.id);
    EXPECT_EQ(remote::find_remote_receiver("post_save", "t.items")->sender,
              "outboxtest.Item+subclasses");
}

TEST_F(ModelReceiversTest, WithoutSubclassesAReceiverOfItemDoesNotHearASpecialItem) {
    connections.emplace_back(
        remote::connect<Item>(post_save, &an_item, {.queue = "q", .dispatch_uid = "t.only"}));
    SpecialItem special;
    special.name = "special";
    special.save();
    EXPECT_EQ(outbox_size(), 0);
}

TEST_F(ModelReceiversTest, ARowNamingAModelOutsideTheReceiversScopeFails) {
    connections.emplace_back(
        remote::connect<Item>(post_save, &an_item, {.queue = "q", .dispatch_uid = "t.only"}));
    Item::objects().create({.name = "x"});
    db::connection().execute("UPDATE tocsin_outbox SET sender = 'outboxtest.Note'");
    remote::Worker worker;
    worker.drain();
    const auto row = remote::outbox_rows().at(0);
    EXPECT_EQ(row.status, remote::Status::pending);
    EXPECT_EQ(row.last_error,
              "remote receiver 't.only': the outbox row names the model 'outboxtest.Note', not "
              "the one the receiver is connected for (outboxtest.Item)");
    EXPECT_TRUE(calls().empty());
}

// ------------------------------------------------------------------ changed fields

/// What a tracking receiver saw: changes() as "field:previous>current" (previous "?" unknown).
std::vector<std::vector<std::string>>& seen_changes() {
    static std::vector<std::vector<std::string>> c;
    return c;
}
std::string text_of(const db::Value& v) {
    switch (v.type()) {
        case db::ValueType::null:
            return "null";
        case db::ValueType::integer:
            return std::to_string(v.as_integer());
        case db::ValueType::text:
            return v.as_text();
        default:
            return "other";
    }
}
void note_changes(Note& note, const SaveEvent& e) {
    std::vector<std::string> out;
    for (const FieldChange& c : e.changes()) {
        out.push_back(std::string(c.field) + ":" + (c.previous ? text_of(*c.previous) : "?") + ">" +
                      text_of(c.current));
    }
    seen_changes().push_back(out);
    calls().push_back({"outboxtest.Note", *note.id, note.text});
    if (!e.created) {
        EXPECT_FALSE(e.has_changed("stars"));
        EXPECT_EQ(e.previous("stars"), db::Value(std::int64_t{1}));
    }
}

TEST_F(ModelReceiversTest, TheChangedFieldsTravelWithTheirPreviousValuesAsTheSendSawThem) {
    seen_changes().clear();
    connections.emplace_back(remote::connect<Note>(post_save, track_changes, &note_changes,
                                                   {.queue = "q", .dispatch_uid = "t.changes"}));
    Note note = Note::objects().create({.text = "draft", .stars = 1});
    note.text = "final";
    note.save();
    // Changed again since, without signals: the receiver loads this, changes() tells the send's.
    Note::objects().filter(where(&Note::id) == *note.id).update({assign(&Note::text, "later")});

    const auto rows = remote::outbox_rows();
    ASSERT_EQ(rows.size(), 2U);
    const auto payload = nlohmann::json::parse(rows[1].payload);
    EXPECT_EQ(payload.at("changes"),
              nlohmann::json::parse(R"([{"field":"text","previous":"draft","current":"final"}])"));

    remote::Worker worker;
    EXPECT_EQ(worker.drain(), 2U);
    ASSERT_EQ(seen_changes().size(), 2U);
    // Created: every field, no previous value (as locally).
    EXPECT_EQ(seen_changes()[0], (std::vector<std::string>{"text:?>draft", "stars:?>1"}));
    EXPECT_EQ(seen_changes()[1], (std::vector<std::string>{"text:draft>final"}));
    EXPECT_EQ(calls()[1].name, "later");  // the instance itself is loaded fresh
    EXPECT_EQ(events_in("done"), 2);
}

TEST_F(ModelReceiversTest, UpdateFieldsLimitTheChangesToTheFieldsWritten) {
    seen_changes().clear();
    connections.emplace_back(remote::connect<Note>(post_save, track_changes, &note_changes,
                                                   {.queue = "q", .dispatch_uid = "t.changes"}));
    Note note = Note::objects().create({.text = "a", .stars = 1});
    note.text = "b";
    note.save({.update_fields = {&Note::text}});
    remote::Worker worker;
    EXPECT_EQ(worker.drain(), 2U);
    ASSERT_EQ(seen_changes().size(), 2U);
    EXPECT_EQ(seen_changes()[1], (std::vector<std::string>{"text:a>b"}));
}

void untracked(Item&, const SaveEvent& e) {
    EXPECT_THROW((void)e.changes(), ModelError);
    calls().push_back({});
}

TEST_F(ModelReceiversTest, WithoutTrackingTheRowHasNoChangesAndChangesThrowsAsLocally) {
    connections.emplace_back(remote::connect<Item>(post_save, &untracked,
                                                   {.queue = "q", .dispatch_uid = "t.untracked"}));
    Item::objects().create({.name = "x"});
    EXPECT_FALSE(nlohmann::json::parse(remote::outbox_rows().at(0).payload).contains("changes"));
    remote::Worker worker;
    EXPECT_EQ(worker.drain(), 1U);
    EXPECT_EQ(calls().size(), 1U);
}

// ------------------------------------------------------------------ the batch's instances

void apply(Item& item, const SaveEvent&) {
    apply_effect("apply", item);
}

TEST_F(ModelReceiversTest, ABatchLoadsItsInstancesWithOneSelectPerModel) {
    connections.emplace_back(
        remote::connect<Item>(post_save, &apply, {.queue = "q", .dispatch_uid = "t.apply"}));
    remote::connect(post_save, "outboxtest.Note", &any_model,
                    {.queue = "q", .dispatch_uid = "t.notes"});
    const LabelConnection notes{"t.notes", "outboxtest.Note"};
    constexpr int events = 30;
    tocsin::atomic([] {
        for (int i = 0; i < events; ++i) {
            Item::objects().create({.name = "i" + std::to_string(i)});
            Note::objects().create({.text = "n" + std::to_string(i)});
        }
    });
    remote::Worker worker({.batch_size = 100});
    testing::CaptureQueries queries;
    EXPECT_EQ(worker.drain(), static_cast<std::size_t>(2 * events));
    const auto reads = [&](std::string_view table) {
        return std::count_if(
            queries.queries().begin(), queries.queries().end(), [&](const std::string& sql) {
                return sql.rfind("SELECT", 0) == 0 && sql.find(table) != std::string::npos;
            });
    };
    EXPECT_EQ(reads("\"outboxtest_item\""), 1) << queries.numbered();
    EXPECT_EQ(reads("\"outboxtest_note\""), 1) << queries.numbered();
    // Per event, the effect's INSERT; per batch a handful (claim, BEGIN, the SELECTs, the done
    // mark, COMMIT, the empty claim, the outbox's CREATE ... IF NOT EXISTS).
    EXPECT_LE(queries.count(), static_cast<std::size_t>(events + 20)) << queries.numbered();
    EXPECT_EQ(effects(), events);
    EXPECT_EQ(calls().size(), static_cast<std::size_t>(events));
}

/// Renames the next item; removes the one after.
void rename_next(Item& item, const SaveEvent&) {
    calls().push_back({"outboxtest.Item", *item.id, item.name});
    if (item.name != "first") {
        return;
    }
    Item next = Item::objects().get(where(&Item::id) == *item.id + 1);
    next.name = "renamed by the first";
    next.save();
    Item::objects().get(where(&Item::id) == *item.id + 2).remove();
}

TEST_F(ModelReceiversTest, AnInstanceAnEarlierReceiverOfTheBatchSavedOrRemovedIsLoadedAgain) {
    connections.emplace_back(
        remote::connect<Item>(post_save, &rename_next, {.queue = "q", .dispatch_uid = "t.rename"}));
    tocsin::atomic([] {
        Item::objects().create({.name = "first"});
        Item::objects().create({.name = "second"});
        Item::objects().create({.name = "third"});
    });
    remote::Worker worker({.batch_size = 10});
    worker.drain();
    ASSERT_GE(calls().size(), 2U);
    EXPECT_EQ(calls()[0].name, "first");
    EXPECT_EQ(calls()[1].name, "renamed by the first");  // not "second", loaded with the batch
    const auto skipped = remote::outbox_rows({.status = remote::Status::skipped});
    ASSERT_EQ(skipped.size(), 1U);  // the third, removed by the first's receiver
    EXPECT_NE(skipped[0].last_error->find("no longer exists"), std::string::npos);
}

TEST_F(ModelReceiversTest, WithoutPreloadEachRowLoadsItsInstance) {
    connections.emplace_back(
        remote::connect<Item>(post_save, &apply, {.queue = "q", .dispatch_uid = "t.apply"}));
    tocsin::atomic([] {
        for (int i = 0; i < 5; ++i) {
            Item::objects().create({.name = "i"});
        }
    });
    remote::Worker worker({.preload = false});
    testing::CaptureQueries queries;
    EXPECT_EQ(worker.drain(), 5U);
    EXPECT_EQ(std::count_if(queries.queries().begin(), queries.queries().end(),
                            [](const std::string& sql) {
                                return sql.rfind("SELECT", 0) == 0 &&
                                       sql.find("\"outboxtest_item\"") != std::string::npos;
                            }),
              5);
    EXPECT_EQ(effects(), 5);
}

}  // namespace model_receivers_test
}  // namespace
}  // namespace tocsin::test::remote_test
