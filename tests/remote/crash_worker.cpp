// The worker program of the remote crash tests (crash_test.cpp), run as its own process: the
// same app and remote receivers as the test, then manage() with the rest of the arguments.
//
//   crash_worker <engine> <name> <host> <port> <user> <options|-> <command> [arguments...]
//
// <options> is libpq's "options" keyword (the test schema's search_path), "-" for none.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "outbox_models.hpp"
#include "tocsin/management.hpp"

int main(int argc, char** argv) {
    using namespace tocsin::test::remote_test;
    if (argc < 8) {
        std::fprintf(stderr,
                     "usage: %s <engine> <name> <host> <port> <user> <options|-> <command> ...\n",
                     argv[0]);
        return 2;
    }
    try {
        tocsin::db::Settings settings;
        settings.engine = argv[1];
        settings.name = argv[2];
        const auto given = [](const char* arg) { return std::string(arg) == "-" ? "" : arg; };
        settings.host = given(argv[3]);
        settings.port = std::atoi(argv[4]);
        settings.user = given(argv[5]);
        if (std::string(argv[6]) != "-") {
            settings.options["options"] = argv[6];
        }
        tocsin::setup({.installed_apps = {std::make_shared<OutboxTestApp>()},
                       .databases = {{"default", settings}}});
        const auto connections = connect_crash_receivers();
        const tocsin::ScopedConnection ordered = connect_ordered_receiver();
        std::vector<const char*> args{argv[0]};
        for (int i = 7; i < argc; ++i) {
            args.push_back(argv[i]);
        }
        return tocsin::manage(static_cast<int>(args.size()), args.data());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "crash_worker: %s\n", e.what());
        return 1;
    }
}
