// manage worker and manage outbox.
#include "commands.hpp"

#include <chrono>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "tocsin/remote/connect.hpp"
#include "tocsin/remote/outbox.hpp"
#include "tocsin/remote/worker.hpp"

namespace tocsin::management::detail {

namespace {

std::vector<std::string> split_commas(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream in(text);
    std::string part;
    while (std::getline(in, part, ',')) {
        if (!part.empty()) {
            out.push_back(part);
        }
    }
    return out;
}

remote::OutboxFilter filter_of(const Options& o) {
    remote::OutboxFilter filter{.queue = o.text("queue"), .receiver = o.text("receiver")};
    if (!o.text("status").empty()) {
        filter.status = remote::status_from_string(o.text("status"));
    }
    return filter;
}

}  // namespace

Command worker_command() {
    return Command{
        .name = "worker",
        .help = "Run the remote receivers of the outbox (until SIGTERM or SIGINT)",
        .arguments =
            [](Arguments& a) {
                a.option("queue", "The queues to serve, comma-separated (default: every queue)")
                    .integer("concurrency", "Threads claiming and running batches", 1)
                    .option("database", "The database alias of the outbox", "default")
                    .integer("batch-size", "Rows claimed at once by a thread", 100)
                    .integer("poll-interval",
                             "Milliseconds between looks at the outbox when not "
                             "woken (PostgreSQL: NOTIFY wakes it)",
                             500)
                    .integer("visibility-timeout",
                             "Seconds a claim holds its rows (a dead worker's rows are claimed "
                             "again after this)",
                             30)
                    .option("name", "The worker's name in the rows it claims (default host:pid)")
                    .flag("delete-done",
                          "Delete the rows whose receivers ran instead of marking them done")
                    .flag("lock-claims",
                          "PostgreSQL: claim by locking the rows for the batch's transaction "
                          "(FOR UPDATE SKIP LOCKED) instead of writing a lease")
                    .flag("drain", "Run what is ready now, then exit");
            },
        .handle =
            [](const Options& o, std::ostream& out) {
                if (o.integer("concurrency") < 1 || o.integer("batch-size") < 1 ||
                    o.integer("poll-interval") < 1 || o.integer("visibility-timeout") < 1) {
                    throw CommandError(
                        "--concurrency, --batch-size, --poll-interval and --visibility-timeout "
                        "must be at least 1");
                }
                remote::WorkerOptions options{
                    .queues = split_commas(o.text("queue")),
                    .concurrency = static_cast<int>(o.integer("concurrency")),
                    .database = o.text("database"),
                    .batch_size = static_cast<int>(o.integer("batch-size")),
                    .poll_interval = std::chrono::milliseconds(o.integer("poll-interval")),
                    .visibility_timeout = std::chrono::seconds(o.integer("visibility-timeout")),
                    .name = o.text("name"),
                    .delete_done = o.flag("delete-done"),
                    .lock_claims = o.flag("lock-claims"),
                };
                std::string queues;
                for (const auto& q : options.queues) {
                    queues += (queues.empty() ? "" : ",") + q;
                }
                remote::Worker worker(std::move(options));
                if (!o.flag("drain")) {
                    // Before the line saying it runs: a SIGTERM sent once it is read (a test's, a
                    // supervisor's) stops the worker instead of killing the process.
                    remote::handle_stop_signals();
                }
                out << "Worker " << worker.name() << ": queues "
                    << (queues.empty() ? "(all)" : queues) << ", " << o.integer("concurrency")
                    << (o.integer("concurrency") == 1 ? " thread" : " threads") << ", database '"
                    << o.text("database") << "'" << std::endl;
                if (o.flag("drain")) {
                    worker.drain();
                } else {
                    worker.run();
                }
                const auto s = worker.stats();
                out << "Stopped: claimed " << s.claimed << ", done " << s.done << ", failed "
                    << s.failed << ", dead " << s.dead << ", skipped " << s.skipped << ", lost "
                    << s.lost << std::endl;
            },
    };
}

Command outbox_command() {
    return Command{
        .name = "outbox",
        .help = "Count, list, retry or purge the outbox rows of remote receivers",
        .arguments =
            [](Arguments& a) {
                a.option("queue", "Only this queue")
                    .option("receiver", "Only this receiver (its dispatch_uid)")
                    .option("status", "Only rows in this status (--list, --purge)", "",
                            {"", "pending", "done", "dead", "skipped"})
                    .flag("list", "List the rows (id, status, attempts, last error)")
                    .integer("limit", "At most this many rows with --list (0: all)", 100)
                    .flag("retry", "Make the dead rows pending again")
                    .flag("purge", "Delete the rows of --status (default: done)")
                    .option("database", "The database alias of the outbox", "default");
            },
        .handle =
            [](const Options& o, std::ostream& out) {
                const std::string& alias = o.text("database");
                const remote::OutboxFilter filter = filter_of(o);
                if (o.flag("retry") && o.flag("purge")) {
                    throw CommandError("--retry and --purge cannot be given together");
                }
                if (o.flag("retry")) {
                    out << "Requeued " << remote::retry_dead(filter, alias) << " dead event(s)\n";
                    return;
                }
                if (o.flag("purge")) {
                    out << "Purged " << remote::purge(filter, alias) << " "
                        << remote::to_string(filter.status.value_or(remote::Status::done))
                        << " event(s)\n";
                    return;
                }
                if (o.flag("list")) {
                    const auto limit = o.integer("limit");
                    for (const auto& r : remote::outbox_rows(
                             filter, limit < 0 ? 0 : static_cast<std::size_t>(limit), alias)) {
                        out << "#" << r.id << "  queue=" << r.queue << "  receiver=" << r.receiver
                            << "  status=" << remote::to_string(r.status)
                            << "  attempts=" << r.attempts;
                        if (r.events != 1) {
                            out << "  events=" << r.events;  // a packed row
                        }
                        if (r.last_error) {
                            out << "  last_error=" << *r.last_error;
                        }
                        out << "\n";
                    }
                    return;
                }
                const auto counts = remote::outbox_counts(filter, alias);
                if (counts.empty()) {
                    out << "The outbox is empty.\n";
                    return;
                }
                for (const auto& c : counts) {
                    out << c.queue << "  " << c.receiver << "  pending=" << c.pending
                        << "  failed=" << c.failed << "  dead=" << c.dead << "  done=" << c.done
                        << "  skipped=" << c.skipped << "\n";
                }
            },
    };
}

std::string remote_mode(std::string_view signal, std::string_view dispatch_uid) {
    if (dispatch_uid.empty()) {
        return {};
    }
    const auto info = remote::find_remote_receiver(signal, dispatch_uid);
    return info ? "remote:" + info->queue : std::string();
}

}  // namespace tocsin::management::detail
