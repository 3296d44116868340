// examples/events — seed 004 in C++: insert vs update in pre_save, raw saves from a fixture,
// and one receiver for a base model hearing its subclasses; plus the program's `manage` command.
//
//   events [database file]                 runs the scenario (the file is recreated)
//   events <database file> <command> ...   runs a manage command instead (`receivers`,
//                                          `migrate`, `makemigrations`, `showmigrations`,
//                                          `loaddata`, `dumpdata`; see --help)
//   With TOCSIN_DATABASE_URL=postgresql://user@host:port/name set, the scenario and the commands
//   use that database instead of the file (the scenario needs it empty).
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <tocsin/management.hpp>
#include <tocsin/migrations.hpp>
#include <tocsin/models/fixtures.hpp>
#include <vector>

#include "apps.hpp"
#include "models.hpp"

#ifndef EVENTS_FIXTURE
#define EVENTS_FIXTURE "fixtures/initial_events.json"
#endif

namespace {

/// The example's database: TOCSIN_DATABASE_URL when set (`postgresql://user@host:port/name`, an
/// empty database), else the SQLite file @p file, removed first when @p fresh.
tocsin::db::Settings database(const std::string& file, bool fresh) {
    if (auto url = tocsin::db::settings_from_environment("TOCSIN_DATABASE_URL"))
        return *url;
    for (const char* suffix : {"", "-wal", "-shm"}) {
        if (fresh)
            std::filesystem::remove(file + suffix);
    }
    return {.engine = "sqlite", .name = file};
}

void setup(const std::string& file, bool fresh) {
    tocsin::setup({.installed_apps = {std::make_shared<tocsin::auth::AuthConfig>(),
                                      std::make_shared<events::EventsConfig>()},
                   .databases = {{"default", database(file, fresh)}}});
}

}  // namespace

int main(int argc, char** argv) {
    const std::string file = argc > 1 ? argv[1] : "events.db";
    if (argc > 2) {  // `events app.db receivers --format json`: the manage command line
        setup(file, /*fresh=*/false);
        std::vector<const char*> args{argv[0]};
        args.insert(args.end(), argv + 2, argv + argc);
        return tocsin::manage(static_cast<int>(args.size()), args.data());
    }
    setup(file, /*fresh=*/true);
    // The tables, from the migrations compiled into the program (examples/events/migrations,
    // tocsin_add_migrations in CMakeLists.txt): `events <file> migrate` does the same.
    tocsin::migrations::migrate(tocsin::migrations::MigrationLoader());

    using auth::User;
    using events::Comment;
    using events::StatusChange;

    // Insert vs update, told apart in pre_save by state().adding.
    auto ann = User::objects().create({.username = "ann"});
    ann.username = "ann.b";
    ann.save();

    // A fixture: saved raw, so the activity receiver sends no notification.
    const auto loaded = tocsin::loaddata(EVENTS_FIXTURE);
    std::cout << "Installed " << loaded.objects << " object(s) from " << loaded.fixtures
              << " fixture(s)\n";

    // One receiver, connected for Event, hears every kind of event.
    Comment comment;
    {
        auto transaction = tocsin::atomic();
        StatusChange online;
        online.user = ann;
        online.status = "online";
        online.save();
        comment.user = ann;
        comment.text = "Hello";
        comment.save();
        std::cout << "committing\n";
    }
    comment.text = "Hello, world";
    comment.save();

    std::cout
        << tocsin::db::connection().query_value("SELECT COUNT(*) FROM events_event")->as_integer()
        << " event(s): " << StatusChange::objects().count() << " status change(s), "
        << Comment::objects().count() << " comment(s)\n";
    return 0;
}
