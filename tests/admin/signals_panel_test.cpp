// The signals pages: the receivers table and the panel.
#include <gtest/gtest.h>

#include "admin_support.hpp"

namespace tocsin::admin::test {
namespace {

using AdminSignalsPanelTest = AdminTest;

void remember_author(Author&, const SaveEvent&) {}

TEST_F(AdminSignalsPanelTest, TheReceiversPageListsEveryReceiver) {
    ScopedConnection receiver = post_save.connect<Author>(
        &remember_author,
        {.dispatch_uid = "library.remember_author", .name = "library.<remember>"});
    auto b = staff();
    const auto page = b.get("/admin/signals/receivers/");
    ASSERT_EQ(page.status, 200);
    EXPECT_NE(page.body.find("<td>post_save</td><td>library.&lt;remember&gt;</td><td>library.Author"
                             "</td><td>library.remember_author</td><td>0</td><td>sync</td>"),
              std::string::npos);
    // The auth app's receiver of user_logged_in.
    EXPECT_NE(page.body.find("update_last_login"), std::string::npos);
    EXPECT_NE(page.body.find("<td>pre_delete</td><td colspan=\"6\" class=\"help\">no receivers"),
              std::string::npos);
}

TEST_F(AdminSignalsPanelTest, ThePanelIsBehindTheLogin) {
    Browser anonymous(port_);
    EXPECT_EQ(anonymous.get("/admin/signals/").status, 302);
    EXPECT_EQ(anonymous.get("/admin/signals/events/").status, 302);
    auto b = staff();
    EXPECT_EQ(b.get("/admin/signals/").status, 200);
    EXPECT_EQ(b.get("/admin/signals/nothing/").status, 404);
}

}  // namespace
}  // namespace tocsin::admin::test
