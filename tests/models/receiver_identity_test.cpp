// Model signals connected by type keep Django's receiver identity: the same function connected
// twice for a model is one receiver, disconnect(function, sender) finds it, and the listing
// names it by its symbol.
#include <gtest/gtest.h>

#include "test_models.hpp"
#include "test_support.hpp"

namespace tocsin::test {

int calls = 0;

// External linkage, so that the executable's dynamic symbol table names it.
void count_author_saves(library::Author&, const SaveEvent&);
void count_author_saves(library::Author&, const SaveEvent&) {
    ++calls;
}

// Receivers of every model, without and with the sender.
void count_any_saves(ModelBase&, const SaveEvent&);
void count_any_saves(ModelBase& /*instance*/, const SaveEvent& /*event*/) {
    ++calls;
}
void count_author_saves_from(const Sender& sender, ModelBase&, const SaveEvent&);
void count_author_saves_from(const Sender& sender, ModelBase& /*instance*/,
                             const SaveEvent& /*event*/) {
    calls += sender == Sender::of<library::Author>() ? 1 : 100;
}
void count_typed_saves_from(const Sender& sender, library::Author&, const SaveEvent&);
void count_typed_saves_from(const Sender& sender, library::Author& author,
                            const SaveEvent& /*event*/) {
    calls += sender == Sender::of<library::Author>() && !author.name.empty() ? 1 : 100;
}

namespace {

/// Internal linkage: no dynamic symbol names it.
void count_hidden_saves(library::Author& /*author*/, const SaveEvent& /*event*/) {
    ++calls;
}

class ReceiverIdentityTest : public ModelTest {};

// Django: test_multiple_registration — connecting the same function again is a no-op.
TEST_F(ReceiverIdentityTest, SameFunctionConnectedTwiceForAModelIsOneReceiver) {
    calls = 0;
    const auto first = post_save.connect<library::Author>(count_author_saves);
    const auto second = post_save.connect<library::Author>(count_author_saves);
    EXPECT_EQ(first, second);
    EXPECT_EQ(post_save.receiver_count(), 1U);
    library::Author a;
    a.name = "Ursula";
    a.save();
    EXPECT_EQ(calls, 1);
    EXPECT_TRUE(post_save.disconnect(&count_author_saves, Sender::of<library::Author>()));
    EXPECT_EQ(post_save.receiver_count(), 0U);
}

TEST_F(ReceiverIdentityTest, ListingNamesTheFunctionBySymbol) {
    ScopedConnection c = post_save.connect<library::Author>(count_author_saves);
    const auto receivers = post_save.receivers();
    ASSERT_EQ(receivers.size(), 1U);
    EXPECT_NE(receivers[0].name.find("count_author_saves"), std::string::npos) << receivers[0].name;
    EXPECT_EQ(receivers[0].sender, Sender::of<library::Author>());
}

// A function with internal linkage has no symbol to name it: the listing falls back to its
// dispatch_uid (or its .name, which comes first), never to its type "void (*)(…)".
TEST_F(ReceiverIdentityTest, ListingNamesAnInternalFunctionByItsUidOrName) {
    ScopedConnection by_uid =
        post_save.connect<library::Author>(&count_hidden_saves, {.dispatch_uid = "hidden.uid"});
    ScopedConnection by_name = pre_save.connect<library::Author>(
        &count_hidden_saves, {.dispatch_uid = "other.uid", .name = "hidden.name"});
    const auto saved = post_save.receivers();
    ASSERT_EQ(saved.size(), 1U);
    EXPECT_EQ(saved[0].name, "hidden.uid");
    const auto before = pre_save.receivers();
    ASSERT_EQ(before.size(), 1U);
    EXPECT_EQ(before[0].name, "hidden.name");
    // Without either, the type is all there is.
    ScopedConnection bare =
        post_delete.connect<library::Author>([](library::Author&, const DeleteEvent&) {}, {});
    EXPECT_FALSE(post_delete.receivers().at(0).name.empty());
}

// A plain function's connects are compiled in the library (ModelSignal's non-template
// overloads and detail::FunctionReceiver), a lambda's in the caller's file: the function stays
// the one receiver Django's identity says, whichever connect made it.
TEST_F(ReceiverIdentityTest, AFunctionConnectedAgainWithFlagsIsTheSameReceiver) {
    calls = 0;
    const auto typed = post_save.connect<library::Author>(count_author_saves);
    const auto flagged =
        post_save.connect<library::Author>(with_subclasses, &count_author_saves, {.priority = 3});
    EXPECT_EQ(typed, flagged);
    EXPECT_EQ(post_save.receiver_count(), 1U);
    library::Author a{.name = "Ursula"};
    a.save();
    EXPECT_EQ(calls, 1);
    EXPECT_TRUE(post_save.disconnect(&count_author_saves, Sender::of<library::Author>()));
    EXPECT_FALSE(typed.connected());
    EXPECT_EQ(post_save.receiver_count(), 0U);
}

TEST_F(ReceiverIdentityTest, AFunctionOfEveryModelIsOneReceiverPerSender) {
    calls = 0;
    const auto all = post_save.connect(count_any_saves);
    EXPECT_EQ(all, post_save.connect(&count_any_saves));
    const auto authors =
        post_save.connect(count_any_saves, {.sender = Sender::of<library::Author>()});
    EXPECT_NE(all, authors);
    EXPECT_EQ(post_save.receiver_count(), 2U);
    for (const ReceiverInfo& r : post_save.receivers()) {
        EXPECT_NE(r.name.find("count_any_saves"), std::string::npos) << r.name;
    }
    library::Author a{.name = "Ursula"};
    a.save();
    EXPECT_EQ(calls, 2);
    EXPECT_TRUE(post_save.disconnect(&count_any_saves, Sender::of<library::Author>()));
    EXPECT_TRUE(post_save.disconnect(&count_any_saves));
    EXPECT_FALSE(post_save.disconnect(&count_any_saves));
    EXPECT_EQ(post_save.receiver_count(), 0U);
}

TEST_F(ReceiverIdentityTest, FunctionsTakingTheSenderGetTheModel) {
    calls = 0;
    ScopedConnection any = pre_save.connect(count_author_saves_from);
    ScopedConnection typed = post_save.connect<library::Author>(&count_typed_saves_from);
    library::Author a{.name = "Ursula"};
    a.save();
    EXPECT_EQ(calls, 2);
    EXPECT_TRUE(pre_save.disconnect(&count_author_saves_from));
    EXPECT_TRUE(post_save.disconnect(&count_typed_saves_from, Sender::of<library::Author>()));
}

// Connected bare, a function without a symbol is listed by its type, as the template route
// listed it (the function pointer's type).
TEST_F(ReceiverIdentityTest, AnInternalFunctionConnectedBareIsListedByItsType) {
    ScopedConnection c = post_save.connect<library::Author>(&count_hidden_saves);
    const auto receivers = post_save.receivers();
    ASSERT_EQ(receivers.size(), 1U);
    EXPECT_EQ(receivers[0].name, detail::type_name<void (*)(library::Author&, const SaveEvent&)>());
}

TEST_F(ReceiverIdentityTest, AFunctionConnectedOnCommitRunsAfterTheCommit) {
    calls = 0;
    ScopedConnection c =
        post_save.connect<library::Author>(count_author_saves, {.on_commit = true});
    ASSERT_EQ(post_save.receivers().size(), 1U);
    EXPECT_TRUE(post_save.receivers()[0].on_commit);
    {
        auto tx = atomic();
        library::Author a{.name = "Ann"};
        a.save();
        EXPECT_EQ(calls, 0);
    }
    EXPECT_EQ(calls, 1);
    // The same function connected again (without on_commit) is the same receiver.
    EXPECT_EQ(post_save.connect<library::Author>(count_author_saves), c.get());
}

}  // namespace
}  // namespace tocsin::test
