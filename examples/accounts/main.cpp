// examples/accounts — Django's first signals tutorial in C++, on SQLite, with tocsin's auth app:
// users, logins and a lockout after failed logins.
//
//   accounts [database file]     (default: accounts.db in the current directory; the example
//                                 starts from an empty database: the file is recreated)
//   accounts <database file> <command> ...
//                                runs a manage command instead (`migrate`, `makemigrations`,
//                                `showmigrations`, `createsuperuser`, `runserver [addr:port]`:
//                                the admin at http://127.0.0.1:8000/admin/, ...; see --help)
//   TOCSIN_DATABASE_URL=postgresql://user@host:port/name accounts
//                                (that database instead; the scenario needs it empty)
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <tocsin/management.hpp>
#include <tocsin/migrations.hpp>
#include <vector>
#ifdef ACCOUNTS_WITH_ADMIN
#include <tocsin/admin.hpp>
#endif

#include "apps.hpp"
#include "models.hpp"

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

}  // namespace

int main(int argc, char** argv) {
    const std::string file = argc > 1 ? argv[1] : "accounts.db";
    const bool command = argc > 2;  // `accounts accounts.db showmigrations`: a manage command
    std::vector<std::shared_ptr<tocsin::AppConfig>> apps{
        std::make_shared<tocsin::auth::AuthConfig>(),
        std::make_shared<tocsin::auth::SessionsConfig>(),
        std::make_shared<accounts::AccountsConfig>()};
#ifdef ACCOUNTS_WITH_ADMIN
    apps.push_back(std::make_shared<tocsin::admin::AdminConfig>());  // `runserver`
#endif
    tocsin::setup(
        {.installed_apps = apps, .databases = {{"default", database(file, /*fresh=*/!command)}}});
    if (command) {
        std::vector<const char*> args{argv[0]};
        args.insert(args.end(), argv + 2, argv + argc);
        return tocsin::manage(static_cast<int>(args.size()), args.data());
    }
    // The tables, from the migrations compiled into the program (examples/accounts/migrations,
    // made by `accounts <file> makemigrations --migrations-dir examples/accounts/migrations` and
    // embedded by tocsin_add_migrations in CMakeLists.txt): what `manage migrate` prints.
    tocsin::migrations::MigrateOptions migrate_options;
    migrate_options.log = &std::cout;
    std::cout << "Running migrations on database 'default':\n";
    tocsin::migrations::migrate(tocsin::migrations::MigrationLoader(), migrate_options);

    using accounts::Profile;
    using auth::User;

    // A registration: the receivers create the profile and send the welcome mail.
    auto alice = User::objects().create({.username = "alice", .email = "alice@example.com"});
    auto bob = User::objects().create({.username = "bob", .email = "bob@example.com"});

    // An update is not a creation: no new profile, no mail.
    alice.email = "alice@example.org";
    alice.save();

    // A user created without signals (bulk_create) has no profile: get_or_create gives one.
    std::vector<User> imported{User{.username = "carol", .email = "carol@example.com"}};
    User::objects().bulk_create(imported);
    for (const auto& user : User::objects().order_by(&User::username)) {
        auto [profile, created] = Profile::objects().get_or_create({.user = user});
        std::cout << user.username << ": profile " << (created ? "created now" : "already there")
                  << "\n";
    }

    // Removing a user removes its profile (CASCADE) and tells the admins.
    bob.remove();
    // Removing a profile removes its user, without looping.
    auto carol_profile = Profile::objects().get(tocsin::where(&Profile::user) == imported.front());
    carol_profile.remove();

    std::cout << User::objects().count() << " user(s), " << Profile::objects().count()
              << " profile(s)\n";

    // Logging in (tocsin's auth app): the session remembers alice; last_login is saved.
    namespace tauth = tocsin::auth;
    alice.set_password("correct horse");
    alice.save();
    tauth::SessionStore session;
    if (auto user =
            tauth::authenticate({{"username", "alice"}, {"password", "correct horse"}}, &session)) {
        tauth::login(session, *user);
    }
    std::cout << "session user: " << tauth::get_user(session)->username() << "\n";

    // alice logs in on her phone too, then changes her password here: this session stays logged
    // in (update_session_auth_hash), the phone's is out (Django's session auth hash).
    tauth::SessionStore phone;
    tauth::login(phone, alice);
    alice.set_password("battery staple");
    alice.save();
    tauth::update_session_auth_hash(session, alice);
    std::cout << "after the password change: this session "
              << (tauth::get_user(session) ? "stays logged in" : "is out") << ", the phone's "
              << (tauth::get_user(phone) ? "stays logged in" : "is out") << "\n";
    tauth::logout(session);

    // Three wrong passwords in a row lock the account; the right one no longer opens it.
    for (int attempt = 0; attempt < 3; ++attempt) {
        static_cast<void>(tauth::authenticate({{"username", "alice"}, {"password", "guess"}}));
    }
    if (!tauth::authenticate({{"username", "alice"}, {"password", "battery staple"}})) {
        std::cout << "alice cannot log in\n";
    }
    return 0;
}
