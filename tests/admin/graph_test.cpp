// The signal graph: senders -> signals -> receivers, drawn as SVG by the program.
#include <gtest/gtest.h>

#include "admin_support.hpp"

namespace tocsin::admin::test {
namespace {
namespace graph_test {

using AdminGraphTest = AdminTest;

TEST_F(AdminGraphTest, DrawsSendersSignalsAndReceivers) {
    ScopedConnection receiver = post_save.connect<Book>(
        [](Book&, const SaveEvent&) {},
        {.dispatch_uid = "library.index_book", .name = "library.index<book>"});
    auto b = staff();
    const auto svg = b.get("/admin/signals/graph.svg");
    ASSERT_EQ(svg.status, 200);
    EXPECT_EQ(svg.headers.find("Content-Type")->second, "image/svg+xml");
    EXPECT_TRUE(svg.body.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    EXPECT_TRUE(svg.body.ends_with("</svg>"));
    EXPECT_NE(svg.body.find("<g class=\"sender\"><title>library.Book</title>"), std::string::npos);
    EXPECT_NE(svg.body.find("<g class=\"signal\"><title>post_save</title>"), std::string::npos);
    EXPECT_NE(svg.body.find("<g class=\"receiver\"><title>library.index&lt;book&gt;</title>"),
              std::string::npos);
    EXPECT_EQ(svg.body.find("index<book>"), std::string::npos);
    // A signal without receivers is not drawn.
    EXPECT_EQ(svg.body.find("<title>pre_delete</title>"), std::string::npos);
    // One edge per (sender, signal) and per (signal, receiver).
    EXPECT_GE(occurrences(svg.body, "<path "), 2U);
    const auto page = b.get("/admin/signals/graph/");
    EXPECT_NE(page.body.find("src=\"/admin/signals/graph.svg\""), std::string::npos);
}

}  // namespace graph_test
}  // namespace
}  // namespace tocsin::admin::test
