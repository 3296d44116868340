// The "admin" app and its `runserver` command.
#include "tocsin/admin/app.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>

#include "tocsin/admin/server.hpp"
#include "tocsin/management/manage.hpp"

namespace tocsin::admin {

namespace {

std::atomic<bool> interrupted{false};

extern "C" void on_interrupt(int) {
    interrupted.store(true);
}

void runserver(const AdminSettings& settings, const management::Options& options,
               std::ostream& out) {
    const auto& given = options.list("addrport");
    const std::string address = given.empty() ? settings.address : given.front();
    const auto [host, port] = parse_address(address, "127.0.0.1");
    Server server(settings);
    // A development server's output is read while it runs: what the receivers print too.
    out << std::unitbuf;
    const int bound = server.bind(host, port);
    out << "Starting the tocsin admin at http://" << host << ":" << bound << "/admin/\n"
        << "Quit the server with CONTROL-C.\n"
        << std::flush;
    interrupted.store(false);
    const auto old_int = std::signal(SIGINT, on_interrupt);
    const auto old_term = std::signal(SIGTERM, on_interrupt);
    std::atomic<bool> done{false};
    std::thread watcher([&] {
        while (!done.load()) {
            if (interrupted.load()) {
                server.stop();
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    });
    try {
        server.listen();
    } catch (...) {
        done.store(true);
        watcher.join();
        std::signal(SIGINT, old_int);
        std::signal(SIGTERM, old_term);
        throw;
    }
    done.store(true);
    watcher.join();
    std::signal(SIGINT, old_int);
    std::signal(SIGTERM, old_term);
    out << "Stopped.\n";
}

}  // namespace

AdminConfig::AdminConfig(AdminSettings settings)
    : AppConfig("admin"), settings_(std::move(settings)) {}

void AdminConfig::ready() {
    management::remove_command("runserver");
    const AdminSettings settings = settings_;
    management::add_command({
        .name = "runserver",
        .help = "Serve the admin (default " + settings_.address + ")",
        .arguments =
            [](management::Arguments& a) {
                a.positional("addrport", "Optional address and port, e.g. 127.0.0.1:8000");
            },
        .handle = [settings](const management::Options& options,
                             std::ostream& out) { runserver(settings, options, out); },
    });
}

}  // namespace tocsin::admin
