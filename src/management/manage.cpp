#include "tocsin/management/manage.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "../remote/commands.hpp"
#include "flush_commands.hpp"
#include "migration_commands.hpp"
#include "tocsin/apps/describe.hpp"
#include "tocsin/apps/registry.hpp"
#include "tocsin/db/default_alias.hpp"
#include "tocsin/dispatch/profiler.hpp"
#include "tocsin/dispatch/signal_registry.hpp"
#include "tocsin/models/fixtures.hpp"
#include "tocsin/models/migrate_signals.hpp"
#include "tocsin/models/model_info.hpp"
#include "tocsin/models/schema.hpp"
#include "tocsin/models/signals.hpp"

namespace tocsin {
namespace management {

// ------------------------------------------------------------------------ Options, Arguments

namespace {
template <class Map>
const typename Map::mapped_type& lookup(const Map& map, std::string_view name, const char* kind) {
    const auto it = map.find(name);
    if (it == map.end()) {
        throw std::out_of_range("the command declares no " + std::string(kind) + " named '" +
                                std::string(name) + "'");
    }
    return it->second;
}
}  // namespace

const std::string& Options::text(std::string_view name) const {
    return lookup(texts_, name, "text option");
}
long long Options::integer(std::string_view name) const {
    return lookup(integers_, name, "integer option");
}
bool Options::flag(std::string_view name) const {
    return lookup(flags_, name, "flag");
}
const std::vector<std::string>& Options::list(std::string_view name) const {
    return lookup(lists_, name, "positional argument");
}

namespace detail {

/// Binds what a command declares to CLI11 options of its subcommand, storing the values in its
/// Options (std::map nodes: the bound references stay valid).
class Parser {
  public:
    Parser(CLI::App& app, Options& values) : app_(app), values_(values) {}

    void option(const std::string& name, const std::string& help, const std::string& value,
                const std::vector<std::string>& choices) {
        auto* opt = app_.add_option("--" + checked(name), values_.texts_[name] = value, help);
        opt->capture_default_str();
        if (!choices.empty()) {
            opt->check(CLI::IsMember(choices));
        }
    }
    void integer(const std::string& name, const std::string& help, long long value) {
        app_.add_option("--" + checked(name), values_.integers_[name] = value, help)
            ->capture_default_str();
    }
    void flag(const std::string& name, const std::string& help) {
        app_.add_flag("--" + checked(name), values_.flags_[name] = false, help);
    }
    void positional(const std::string& name, const std::string& help, bool required) {
        auto* opt = app_.add_option(checked(name), values_.lists_[name], help);
        if (required) {
            opt->required();
        }
    }

    /// Lets `command` declare its arguments.
    void declare(const Command& command) {
        if (command.arguments) {
            Arguments arguments(*this);
            command.arguments(arguments);
        }
    }

  private:
    const std::string& checked(const std::string& name) const {
        if (name.empty() || name.front() == '-') {
            throw std::invalid_argument("the command '" + app_.get_name() +
                                        "' declares an argument named '" + name +
                                        "': give names without dashes");
        }
        return name;
    }

    CLI::App& app_;
    Options& values_;
};

}  // namespace detail

Arguments& Arguments::option(const std::string& name, const std::string& help,
                             const std::string& default_value,
                             const std::vector<std::string>& choices) {
    parser_->option(name, help, default_value, choices);
    return *this;
}
Arguments& Arguments::integer(const std::string& name, const std::string& help,
                              long long default_value) {
    parser_->integer(name, help, default_value);
    return *this;
}
Arguments& Arguments::flag(const std::string& name, const std::string& help) {
    parser_->flag(name, help);
    return *this;
}
Arguments& Arguments::positional(const std::string& name, const std::string& help, bool required) {
    parser_->positional(name, help, required);
    return *this;
}

// ------------------------------------------------------------------------ built-in commands

namespace {

/// A receiver's mode for `receivers`: "remote:<queue>" for the local half of a remote receiver,
/// else delivery_mode().
std::string mode_of(std::string_view signal, const ReceiverInfo& r) {
    std::string remote = detail::remote_mode(signal, r.dispatch_uid);
    return remote.empty() ? std::string(delivery_mode(r)) : remote;
}

void write_text(const std::vector<SignalInfo>& signals, std::ostream& out) {
    for (const auto& signal : signals) {
        const auto n = signal.receivers.size();
        out << signal.display_name() << " ("
            << (n == 0 ? std::string("no receivers")
                       : std::to_string(n) + (n == 1 ? " receiver" : " receivers"))
            << ")\n";
        for (const auto& r : signal.receivers) {
            out << "  " << r.name << "  sender=" << tocsin::apps::describe_sender(r.sender);
            if (!r.also_senders.empty()) {
                out << "  also=";
                for (std::size_t i = 0; i < r.also_senders.size(); ++i) {
                    out << (i == 0 ? "" : ",") << tocsin::apps::describe_sender(r.also_senders[i]);
                }
            }
            out << "  dispatch_uid=" << (r.dispatch_uid.empty() ? "-" : r.dispatch_uid)
                << "  priority=" << r.priority << "  mode=" << mode_of(signal.name, r)
                << "  at=" << r.file << ":" << r.line << "\n";
        }
    }
}

void write_json(const std::vector<SignalInfo>& signals, std::ostream& out) {
    using Json = nlohmann::ordered_json;
    Json list = Json::array();
    for (const auto& signal : signals) {
        Json receivers = Json::array();
        for (const auto& r : signal.receivers) {
            const std::string remote = detail::remote_mode(signal.name, r.dispatch_uid);
            Json receiver{
                {"name", r.name},
                {"sender", r.sender.is_none() ? Json(nullptr)
                                              : Json(tocsin::apps::describe_sender(r.sender))},
                {"dispatch_uid", r.dispatch_uid.empty() ? Json(nullptr) : Json(r.dispatch_uid)},
                {"priority", r.priority},
                {"mode", remote.empty() ? std::string(delivery_mode(r)) : std::string("remote")},
                {"tracked", r.tracked},
                {"file", r.file},
                {"line", r.line},
            };
            if (!r.also_senders.empty()) {  // only for receivers that hear more senders
                Json also = Json::array();
                for (const Sender& s : r.also_senders) {
                    also.push_back(tocsin::apps::describe_sender(s));
                }
                receiver["also_senders"] = std::move(also);
            }
            if (!remote.empty()) {  // only for remote receivers: their queue
                receiver["queue"] = remote.substr(std::string_view("remote:").size());
            }
            receivers.push_back(std::move(receiver));
        }
        list.push_back(Json{
            {"name", signal.name.empty() ? Json(nullptr) : Json(signal.name)},
            {"signature", signal.signature},
            {"receivers", std::move(receivers)},
        });
    }
    out << Json{{"version", 1}, {"signals", std::move(list)}}.dump(2) << "\n";
}

/// `receivers --stats`: the statistics of the ReceiverStats that observes the sends.
void write_stats(const std::vector<ReceiverStat>& stats, const std::string& format,
                 std::ostream& out) {
    const auto us = [](std::chrono::nanoseconds d) {
        return static_cast<double>(d.count()) / 1000.0;
    };
    if (format == "json") {
        using Json = nlohmann::ordered_json;
        Json list = Json::array();
        for (const auto& s : stats) {
            list.push_back(Json{
                {"signal", s.signal},
                {"receiver", s.receiver},
                {"calls", s.calls},
                {"errors", s.errors},
                {"deferred", s.deferred},
                {"total_ns", s.total.count()},
                {"p50_ns", s.p50.count()},
                {"p99_ns", s.p99.count()},
                {"last_error", s.last_error.empty() ? Json(nullptr) : Json(s.last_error)},
            });
        }
        out << Json{{"version", 1}, {"stats", std::move(list)}}.dump(2) << "\n";
        return;
    }
    if (stats.empty()) {
        out << "No receiver has run since the statistics began.\n";
    }
    char line[256];
    for (const auto& s : stats) {
        out << s.signal << "  " << s.receiver;
        std::snprintf(
            line, sizeof line,
            "  calls=%llu  errors=%llu  deferred=%llu  total=%.1fus  p50=%.1fus  "
            "p99=%.1fus",
            static_cast<unsigned long long>(s.calls), static_cast<unsigned long long>(s.errors),
            static_cast<unsigned long long>(s.deferred), us(s.total), us(s.p50), us(s.p99));
        out << line;
        if (!s.last_error.empty()) {
            out << "  last_error=" << s.last_error;
        }
        out << "\n";
    }
}

Command receivers_command() {
    return Command{
        .name = "receivers",
        .help = "List every signal by name with its receivers",
        .arguments =
            [](Arguments& a) {
                a.option("format", "Output format", "text", {"text", "json"});
                a.option("signal", "Only the signal of this name");
                a.flag("stats",
                       "Each receiver's calls, errors and times, from the ReceiverStats set as "
                       "the send observer");
            },
        .handle =
            [](const Options& o, std::ostream& out) {
                const auto& name = o.text("signal");
                if (o.flag("stats")) {
                    const auto stats = std::dynamic_pointer_cast<ReceiverStats>(send_observer());
                    if (!stats) {
                        throw CommandError(
                            "No statistics: the send observer is not a tocsin::ReceiverStats "
                            "(call tocsin::set_send_observer(std::make_shared<tocsin::"
                            "ReceiverStats>()) before the sends to measure).");
                    }
                    auto snapshot = stats->snapshot();
                    if (!name.empty()) {
                        std::erase_if(snapshot,
                                      [&](const ReceiverStat& s) { return s.signal != name; });
                    }
                    write_stats(snapshot, o.text("format"), out);
                    return;
                }
                const auto signals = name.empty() ? all_signals() : find_signals(name);
                if (!name.empty() && signals.empty()) {
                    throw CommandError("No signal is named '" + name + "'.");
                }
                if (o.text("format") == "json") {
                    write_json(signals, out);
                } else {
                    write_text(signals, out);
                }
            },
    };
}

Command loaddata_command() {
    return Command{
        .name = "loaddata",
        .help =
            "Install the fixture files given (Django's JSON format) in one transaction, with "
            "raw saves",
        .arguments =
            [](Arguments& a) {
                a.positional("fixtures", "The fixture files, loaded in order", true);
                a.option("database", "The database alias to load into",
                         std::string(db::default_alias));
            },
        .handle =
            [](const Options& o, std::ostream& out) {
                const auto& names = o.list("fixtures");
                const std::vector<std::filesystem::path> files(names.begin(), names.end());
                const LoadResult result = loaddata(files, {.database = o.text("database")});
                out << "Installed " << result.objects << " object(s) from " << result.fixtures
                    << " fixture(s)\n";
            },
    };
}

/// The largest --indent dumpdata takes.
constexpr long long max_indent = 100;

Command dumpdata_command() {
    return Command{
        .name = "dumpdata",
        .help =
            "Write the rows of the models named (every installed model by default) as a "
            "Django JSON fixture",
        .arguments =
            [](Arguments& a) {
                a.positional("labels",
                             "app_label or app_label.ModelName to dump (default: every installed "
                             "model)");
                a.option("database", "The database alias to read", std::string(db::default_alias));
                a.integer("indent", "Spaces per indentation level; 0 writes everything on one line",
                          2);
                a.option("output", "Write to this file instead of the standard output");
                a.flag("natural-foreign", "Use natural foreign keys if they are available");
                a.flag("natural-primary", "Use natural primary keys if they are available");
            },
        .handle =
            [](const Options& o, std::ostream& out) {
                const long long indent = o.integer("indent");
                if (indent > max_indent) {
                    throw CommandError("--indent must be at most " + std::to_string(max_indent) +
                                       " (got " + std::to_string(indent) + ")");
                }
                // Everything is read before the output file is touched: a failure leaves it as
                // it was.
                const std::string text =
                    dumpdata({.labels = o.list("labels"),
                              .database = o.text("database"),
                              .indent = static_cast<int>(std::max<long long>(indent, 0)),
                              .use_natural_foreign_keys = o.flag("natural-foreign"),
                              .use_natural_primary_keys = o.flag("natural-primary")});
                const auto& output = o.text("output");
                if (output.empty()) {
                    out << text;
                    return;
                }
                std::ofstream file(output, std::ios::binary | std::ios::trunc);
                if (!file) {
                    throw CommandError("cannot open '" + output + "' for writing");
                }
                file << text;
                file.close();
                if (!file) {
                    throw CommandError("cannot write '" + output + "'");
                }
            },
    };
}

/// The built-in commands, in `--help` order. A new one is a function above and a line here.
std::vector<Command> builtin_commands() {
    std::vector<Command> commands;
    commands.push_back(dumpdata_command());
    commands.push_back(detail::flush_command());
    commands.push_back(loaddata_command());
    commands.push_back(detail::makemigrations_command());
    commands.push_back(detail::migrate_command());
    commands.push_back(detail::outbox_command());
    commands.push_back(receivers_command());
    commands.push_back(detail::showmigrations_command());
    commands.push_back(detail::sqlflush_command());
    commands.push_back(detail::sqlmigrate_command());
    commands.push_back(detail::worker_command());
    return commands;
}

// ------------------------------------------------------------------------ added commands

struct Added {
    std::mutex mutex;
    std::vector<Command> commands;
};
Added& added() {
    static auto* a = new Added;
    return *a;
}

}  // namespace

void add_command(Command command) {
    if (command.name.empty() || command.name.front() == '-') {
        throw std::invalid_argument("a command needs a name not starting with '-' (got '" +
                                    command.name + "')");
    }
    if (!command.handle) {
        throw std::invalid_argument("the command '" + command.name + "' has no handle function");
    }
    const auto builtins = builtin_commands();
    auto& a = added();
    std::lock_guard lock(a.mutex);
    const auto same = [&](const Command& c) { return c.name == command.name; };
    if (std::any_of(builtins.begin(), builtins.end(), same) ||
        std::any_of(a.commands.begin(), a.commands.end(), same)) {
        throw std::invalid_argument("a command named '" + command.name + "' already exists");
    }
    a.commands.push_back(std::move(command));
}

bool remove_command(std::string_view name) {
    auto& a = added();
    std::lock_guard lock(a.mutex);
    const auto it = std::find_if(a.commands.begin(), a.commands.end(),
                                 [&](const Command& c) { return c.name == name; });
    if (it == a.commands.end()) {
        return false;
    }
    a.commands.erase(it);
    return true;
}

std::vector<std::string> command_names() {
    std::vector<std::string> names;
    for (const auto& c : builtin_commands()) {
        names.push_back(c.name);
    }
    auto& a = added();
    std::lock_guard lock(a.mutex);
    for (const auto& c : a.commands) {
        names.push_back(c.name);
    }
    return names;
}

}  // namespace management

// ---------------------------------------------------------------------------------- manage()

int manage(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
    using management::Command;
    using management::Options;
    constexpr int failed = 1;
    constexpr int usage = 2;

    std::vector<Command> commands = management::builtin_commands();
    {
        auto& a = management::added();
        std::lock_guard lock(a.mutex);
        commands.insert(commands.end(), a.commands.begin(), a.commands.end());
    }
    std::string program = argc > 0 && argv[0] != nullptr ? argv[0] : "manage";
    if (const auto slash = program.find_last_of('/'); slash != std::string::npos) {
        program.erase(0, slash + 1);
    }

    CLI::App app{"Manage this tocsin program.", program};
    app.require_subcommand(1);
    std::vector<std::unique_ptr<Options>> values;
    std::vector<CLI::App*> subcommands;
    try {
        for (const auto& command : commands) {
            values.push_back(std::make_unique<Options>());
            auto* sub = app.add_subcommand(command.name, command.help);
            management::detail::Parser(*sub, *values.back()).declare(command);
            subcommands.push_back(sub);
        }
    } catch (const std::exception& e) {
        err << "CommandError: " << e.what() << "\n";
        return failed;
    }

    // Django's message for a command that does not exist (CLI11 would only say that a
    // subcommand is required).
    if (argc > 1 && argv[1] != nullptr && argv[1][0] != '-' &&
        std::none_of(commands.begin(), commands.end(),
                     [&](const Command& c) { return c.name == argv[1]; })) {
        err << "Unknown command: '" << argv[1] << "'\nType '" << program << " --help' for usage.\n";
        return usage;
    }
    try {
        if (argc > 0) {
            app.parse(argc, argv);
        } else {
            std::vector<std::string> none;
            app.parse(none);
        }
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e, out, err);
        return code == 0 ? 0 : usage;
    }

    for (std::size_t i = 0; i < commands.size(); ++i) {
        if (!subcommands[i]->parsed()) {
            continue;
        }
        try {
            commands[i].handle(*values[i], out);
        } catch (const std::exception& e) {
            out.flush();
            err << "CommandError: " << e.what() << "\n";
            return failed;
        } catch (...) {
            out.flush();
            err << "CommandError: the command '" << commands[i].name
                << "' failed with an unknown exception\n";
            return failed;
        }
        return 0;
    }
    return usage;  // unreachable: require_subcommand(1) makes the parse fail first
}

}  // namespace tocsin
