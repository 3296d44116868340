// The signals pages: the receivers table and the panel.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <string>
#include <thread>

#include "admin_support.hpp"
#include "tocsin/dispatch/profiler.hpp"

namespace tocsin::admin::test {
namespace {
namespace signals_panel_test {

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
    EXPECT_NE(page.body.find("<td>pre_delete</td><td colspan=\"12\" class=\"help\">no receivers"),
              std::string::npos);
}

/// The live log (/admin/signals/events/) read on a thread of its own until `done(text so far)`,
/// or 20 s. The constructor returns once the stream is open: the server's ": connected" comment
/// has arrived, so every send after it is in the log.
class LiveLog {
  public:
    LiveLog(int port, std::string cookies, std::function<bool(const std::string&)> done) {
        std::promise<void> open;
        auto opened = open.get_future();
        reader_ = std::thread([this, port, cookies = std::move(cookies), done = std::move(done),
                               open = std::move(open)]() mutable {
            bool told = false;
            httplib::Client client("127.0.0.1", port);
            client.set_read_timeout(20, 0);
            static_cast<void>(
                client.Get("/admin/signals/events/", httplib::Headers{{"Cookie", cookies}},
                           [&](const char* data, std::size_t size) {
                               text_.append(data, size);
                               if (!told && text_.find(": connected\n\n") != std::string::npos) {
                                   told = true;
                                   open.set_value();
                               }
                               return !done(text_);
                           }));
            if (!told) {
                open.set_value();
            }
        });
        EXPECT_EQ(opened.wait_for(std::chrono::seconds(20)), std::future_status::ready);
    }
    LiveLog(const LiveLog&) = delete;
    LiveLog& operator=(const LiveLog&) = delete;
    ~LiveLog() {
        if (reader_.joinable()) {
            reader_.join();
        }
    }

    /// What the stream carried, once `done` said so (or the read timed out).
    std::string text() {
        reader_.join();
        return text_;
    }

  private:
    std::string text_;
    std::thread reader_;
};

TEST_F(AdminSignalsPanelTest, TheLiveLogSaysItIsOpenBeforeAnySend) {
    auto b = staff();
    const auto panel = b.get("/admin/signals/");
    EXPECT_NE(panel.body.find("<span id=\"signal-log-status\">connecting</span>"),
              std::string::npos);
    LiveLog live(port_, "sessionid=" + b.cookies["sessionid"], [](const std::string& text) {
        return text.find(": connected\n\n") != std::string::npos;
    });
    EXPECT_EQ(live.text().rfind(": connected\n\n", 0), 0U);
}

TEST_F(AdminSignalsPanelTest, TheLiveLogShowsEachSendWithItsReceivers) {
    ScopedConnection slow = post_save.connect<Author>(
        [](Author&, const SaveEvent&) {
            std::this_thread::sleep_for(std::chrono::milliseconds(3));
        },
        {.dispatch_uid = "library.slow", .name = "library.slow"});
    Signal<void(int)> custom{"library.custom"};
    ScopedConnection failing = custom.connect([](int) { throw std::runtime_error("boom <b>"); },
                                              {.name = "library.failing"});
    auto b = staff();
    const auto panel = b.get("/admin/signals/");
    ASSERT_EQ(panel.status, 200);
    EXPECT_NE(panel.body.find("<table id=\"signal-log\">"), std::string::npos);
    const std::string cookies = "sessionid=" + b.cookies["sessionid"];
    LiveLog live(port_, cookies, [](const std::string& text) {
        return text.find("library.failing") != std::string::npos;
    });
    Author::objects().create({.name = "Ann"});
    for (const auto& outcome : custom.send_robust(Sender{}, 1)) {
        EXPECT_TRUE(outcome.error);
    }
    const std::string log = live.text();
    // One event per finished send: the signal, the receivers with outcome and duration.
    const auto save = log.find("\"signal\":\"post_save\"");
    ASSERT_NE(save, std::string::npos) << log;
    const auto slow_at =
        log.find("{\"name\":\"library.slow\",\"outcome\":\"ok\",\"duration_us\":", save);
    ASSERT_NE(slow_at, std::string::npos) << log;
    const auto us = std::stoll(log.substr(log.find("duration_us\":", slow_at) + 13));
    EXPECT_GE(us, 3000);
    EXPECT_NE(log.find("{\"name\":\"library.failing\",\"outcome\":\"error\""), std::string::npos)
        << log;
    EXPECT_NE(log.find("boom \\u003cb>"), std::string::npos) << log;  // '<' never raw
    EXPECT_NE(log.find("data: {"), std::string::npos);
    // Said once, at the start, however many chunks follow.
    EXPECT_EQ(log.find(": connected\n\n"), 0U) << log;
    EXPECT_EQ(log.find(": connected", 1), std::string::npos) << log;
    // The receivers page shows what each receiver cost.
    const auto receivers = b.get("/admin/signals/receivers/");
    const auto row = receivers.body.find("<td>library.slow</td>");
    ASSERT_NE(row, std::string::npos);
    EXPECT_NE(receivers.body.find("<td class=\"calls\">1</td>", row), std::string::npos);
    const auto failing_row = receivers.body.find("<td>library.failing</td>");
    ASSERT_NE(failing_row, std::string::npos);
    EXPECT_NE(receivers.body.find("boom &lt;b&gt;", failing_row), std::string::npos);
}

// The instance a model signal was sent for is in the live log ("library.Author #3"), and a
// commit-time receiver's run after the commit carries the sender and instance of its send.
TEST_F(AdminSignalsPanelTest, TheLiveLogNamesTheInstanceAlsoAfterTheCommit) {
    ScopedConnection later = post_save.connect<Author>(
        [](Author&, const SaveEvent&) {}, {.name = "library.later", .on_commit = true});
    auto b = staff();
    const auto panel = b.get("/admin/signals/");
    EXPECT_NE(panel.body.find("<th>Instance</th>"), std::string::npos);
    const std::string cookies = "sessionid=" + b.cookies["sessionid"];
    LiveLog live(port_, cookies, [](const std::string& text) {
        return text.find("\"after_commit\":true") != std::string::npos;
    });
    std::int64_t id = 0;
    {
        auto block = atomic();
        id = *Author::objects().create({.name = "Ann"}).id;
    }
    const std::string log = live.text();
    const std::string instance = "\"instance\":\"library.Author #" + std::to_string(id) + "\"";
    // The send's entry: post_save, the instance, the receiver deferred.
    const auto deferred = log.find("{\"name\":\"library.later\",\"outcome\":\"deferred\"");
    ASSERT_NE(deferred, std::string::npos) << log;
    const auto send = log.rfind("data: ", deferred);
    const std::string send_entry = log.substr(send, deferred - send);
    EXPECT_NE(send_entry.find("\"signal\":\"post_save\""), std::string::npos) << send_entry;
    EXPECT_NE(send_entry.find(instance), std::string::npos) << send_entry;
    const auto after = log.find("\"after_commit\":true");
    ASSERT_NE(after, std::string::npos) << log;
    const auto line = log.rfind("data: ", after);
    const std::string entry = log.substr(line, log.find('\n', after) - line);
    EXPECT_NE(entry.find(instance), std::string::npos) << entry;
    EXPECT_EQ(entry.find("\"sender\":\"\""), std::string::npos) << entry;
    EXPECT_NE(entry.find("{\"name\":\"library.later\",\"outcome\":\"ok\""), std::string::npos)
        << entry;
}

TEST(AdminSignalsMonitor, ObservesWhileTheServerLivesAndKeepsTheProgramsObserver) {
    auto mine = std::make_shared<ReceiverStats>();
    const auto before = set_send_observer(mine);
    Signal<void()> ping{"library.ping"};
    ScopedConnection r = ping.connect([] {}, {.name = "library.pong"});
    {
        Server server;
        EXPECT_NE(send_observer(), mine);  // the admin's, forwarding to mine
        ping.send(Sender{});
    }
    EXPECT_EQ(send_observer(), mine);  // set again when the server goes
    ping.send(Sender{});
    const auto stats = mine->snapshot();
    ASSERT_EQ(stats.size(), 1U);
    EXPECT_EQ(stats[0].receiver, "library.pong");
    EXPECT_EQ(stats[0].calls, 2U);
    {
        Server quiet(AdminSettings{.observe_sends = false});
        EXPECT_EQ(send_observer(), mine);
    }
    set_send_observer(before);
}

TEST_F(AdminSignalsPanelTest, ThePanelIsBehindTheLogin) {
    Browser anonymous(port_);
    EXPECT_EQ(anonymous.get("/admin/signals/").status, 302);
    EXPECT_EQ(anonymous.get("/admin/signals/events/").status, 302);
    auto b = staff();
    EXPECT_EQ(b.get("/admin/signals/").status, 200);
    EXPECT_EQ(b.get("/admin/signals/nothing/").status, 404);
}

}  // namespace signals_panel_test
}  // namespace
}  // namespace tocsin::admin::test
