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

}  // namespace
}  // namespace tocsin::test
