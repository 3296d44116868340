// examples/newsletter — remote receivers: the welcome mail of a new subscriber is sent by a worker
// process, not by the process that saved the subscriber (docs/remote.md).
//
//   newsletter [database file]           subscribes three people (one subscription is rolled back),
//                                        shows the outbox, runs a worker process of this same
//                                        program (`newsletter <file> worker --queue mail --drain`)
//                                        and shows the outbox again
//   newsletter <database file> <command> manage(): worker, outbox, receivers, migrate...
//   TOCSIN_DATABASE_URL=postgresql://user@host:port/name newsletter   (that database instead,
//                                        which must be empty)
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "tocsin/management.hpp"
#include "tocsin/models.hpp"
#include "tocsin/remote.hpp"

extern char** environ;

namespace newsletter {

struct Subscriber : tocsin::Model<Subscriber> {
    static constexpr std::string_view label = "newsletter.Subscriber";
    std::string name;
    std::string email;
    static auto fields() {
        return tocsin::fields(tocsin::field("name", &Subscriber::name),
                              tocsin::field("email", &Subscriber::email, {.unique = true}));
    }
};

/// A mail handed to the mail service, keyed by the delivery's idempotency key: a worker that
/// dies after sending and runs the row again finds it and does not send twice.
struct SentMail : tocsin::Model<SentMail> {
    static constexpr std::string_view label = "newsletter.SentMail";
    std::string idempotency_key;
    std::string recipient;
    static auto fields() {
        return tocsin::fields(
            tocsin::field("idempotency_key", &SentMail::idempotency_key, {.unique = true}),
            tocsin::field("recipient", &SentMail::recipient));
    }
};

/// post_save(Subscriber), run by a worker: the welcome mail.
void send_welcome(Subscriber& subscriber, const tocsin::SaveEvent& event) {
    if (!event.created) {
        return;
    }
    const tocsin::remote::Delivery* delivery = tocsin::remote::current_delivery();
    std::cout << "welcome mail to " << subscriber.email << " (attempt " << delivery->attempt << ")"
              << std::endl;
    // Recorded in the worker's transaction, which also marks the outbox row done.
    SentMail::objects().create(
        {.idempotency_key = delivery->idempotency_key, .recipient = subscriber.email});
}

class NewsletterConfig : public tocsin::AppConfig {
  public:
    NewsletterConfig() : AppConfig("newsletter") {}
    [[nodiscard]] std::vector<const tocsin::apps::ModelDescription*> models() const override {
        return tocsin::describe<Subscriber, SentMail>();
    }
    void ready() override {
        tocsin::remote::connect<Subscriber>(
            tocsin::post_save, &send_welcome,
            {.queue = "mail", .dispatch_uid = "newsletter.welcome"});
    }
};

}  // namespace newsletter

namespace {

tocsin::db::Settings database(const std::string& file, bool fresh) {
    if (auto url = tocsin::db::settings_from_environment("TOCSIN_DATABASE_URL")) {
        return *url;
    }
    for (const char* suffix : {"", "-wal", "-shm"}) {
        if (fresh) {
            std::filesystem::remove(file + suffix);
        }
    }
    return {.engine = "sqlite", .name = file};
}

/// Runs this program again as `<program> <file> <args...>` and waits for it: another process.
int run_self(const std::string& file, const std::vector<std::string>& args) {
    std::vector<std::string> all{"/proc/self/exe", file};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    std::cout.flush();
    pid_t pid = 0;
    if (posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv.data(), environ) != 0) {
        throw std::runtime_error("cannot start the worker process");
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string file = argc > 1 ? argv[1] : "newsletter.db";
    const bool command = argc > 2;
    tocsin::setup({.installed_apps = {std::make_shared<newsletter::NewsletterConfig>()},
                   .databases = {{"default", database(file, /*fresh=*/!command)}}});
    if (command) {  // e.g. the worker process
        std::vector<const char*> args{argv[0]};
        for (int i = 2; i < argc; ++i) {
            args.push_back(argv[i]);
        }
        return tocsin::manage(static_cast<int>(args.size()), args.data());
    }
    tocsin::migrate();  // the models' tables and the outbox

    using newsletter::Subscriber;
    tocsin::atomic([] {
        for (const char* name : {"ann", "bob", "cid"}) {
            Subscriber::objects().create(
                {.name = name, .email = std::string(name) + "@example.com"});
        }
    });
    try {
        tocsin::atomic([] {
            Subscriber::objects().create({.name = "dan", .email = "dan@example.com"});
            throw std::runtime_error("payment declined");  // no subscriber, no mail
        });
    } catch (const std::runtime_error& e) {
        std::cout << "dan not subscribed: " << e.what() << "\n";
    }
    std::cout << Subscriber::objects().count()
              << " subscribers; their welcome mails wait in the outbox:\n";
    const char* outbox[] = {"newsletter", "outbox"};
    tocsin::manage(2, outbox);

    // A worker: another process of this program (on any machine that reaches the database).
    if (run_self(file, {"worker", "--queue", "mail", "--name", "mail-worker", "--drain"}) != 0) {
        return 1;
    }
    tocsin::manage(2, outbox);
    std::cout << newsletter::SentMail::objects().count() << " mails sent\n";
    return 0;
}
