// tocsin::manage() — the `manage.py` of a tocsin program: `migrate`, `loaddata`, `dumpdata`,
// `receivers`, and the program's own commands, in one call from main():
//
//   int main(int argc, char** argv) {
//       tocsin::setup({.installed_apps = {...}, .databases = {...}});
//       return tocsin::manage(argc, argv);
//   }
#pragma once

#include <functional>
#include <iostream>
#include <map>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tocsin {

/// A command failed in a way its user can fix: manage() prints "CommandError: <what>" on its
/// error stream and returns 1 (Django's CommandError). Any other std::exception a command throws
/// is reported the same way.
class CommandError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// Runs the command named by `argv[1]` with the rest of `argv` as its arguments, writing to `out`
/// (and errors to `err`). Returns the exit code: 0 when the command succeeded (or help was
/// printed), 1 when it failed ("CommandError: …" on `err`), 2 for a usage error (an unknown
/// command or option, a missing argument; the parser's message on `err`). `--help` lists the
/// commands; `<command> --help` describes one. Call it after setup().
///
/// Built-in commands: `dumpdata [LABEL...] [--database ALIAS] [--indent N] [--output FILE]`
/// (tocsin::dumpdata() to `out` or FILE), `loaddata FILE... [--database ALIAS]`
/// (tocsin::loaddata(), then "Installed N object(s) from M fixture(s)"), `migrate [--database
/// ALIAS]`, `receivers [--format text|json] [--signal NAME]`, `flush [--database ALIAS]
/// [--noinput]` (tocsin::flush(); without --noinput it asks for "yes" on std::cin) and
/// `sqlflush [--database ALIAS]`. See docs/management.md.
int manage(int argc, const char* const* argv, std::ostream& out = std::cout,
           std::ostream& err = std::cerr);

namespace management {

namespace detail {
class Parser;
}  // namespace detail

/// The values a command's arguments got on the command line (Django's `**options`), by the
/// name they were declared with. Asking for a name the command did not declare (or with the
/// wrong kind) throws std::out_of_range naming it: a mistake in the command.
class Options {
  public:
    /// A text option's value (its default when not given).
    [[nodiscard]] const std::string& text(std::string_view name) const;
    /// An integer option's value (its default when not given).
    [[nodiscard]] long long integer(std::string_view name) const;
    /// Whether a flag was given.
    [[nodiscard]] bool flag(std::string_view name) const;
    /// The values of a positional argument, in order (empty when none were given).
    [[nodiscard]] const std::vector<std::string>& list(std::string_view name) const;

  private:
    friend class detail::Parser;
    std::map<std::string, std::string, std::less<>> texts_;
    std::map<std::string, long long, std::less<>> integers_;
    std::map<std::string, bool, std::less<>> flags_;
    std::map<std::string, std::vector<std::string>, std::less<>> lists_;
};

/// What a command declares it takes (Django's `add_arguments(parser)`). Names are given without
/// dashes: `option("database", …)` is `--database VALUE` on the command line.
class Arguments {
  public:
    /// `--name VALUE`: a text option with a default; with `choices`, only those are accepted.
    Arguments& option(const std::string& name, const std::string& help,
                      const std::string& default_value = {},
                      const std::vector<std::string>& choices = {});
    /// `--name N`: an integer option with a default.
    Arguments& integer(const std::string& name, const std::string& help,
                       long long default_value = 0);
    /// `--name`: a flag, false unless given.
    Arguments& flag(const std::string& name, const std::string& help);
    /// `NAME...`: positional values, any number of them (at least one when `required`).
    Arguments& positional(const std::string& name, const std::string& help, bool required = false);

  private:
    friend class detail::Parser;
    explicit Arguments(detail::Parser& parser) : parser_(&parser) {}
    detail::Parser* parser_;
};

/// One subcommand of manage() (Django's BaseCommand).
struct Command {
    std::string name;  ///< what follows the program's name: "migrate"
    std::string help;  ///< one line for `--help`
    /// Declares its options and positional arguments; may be empty (no arguments).
    std::function<void(Arguments&)> arguments{};
    /// Runs it with the parsed values, writing its report to `out`. Throws CommandError (or
    /// any std::exception) to fail: manage() then returns 1.
    std::function<void(const Options&, std::ostream& out)> handle{};
};

/// Adds a program's own command to manage() (Django's `management/commands/<name>.py`). Throws
/// std::invalid_argument when the name is empty, starts with '-', or is already taken (by a
/// built-in command or an earlier add_command), or when `handle` is empty.
void add_command(Command command);

/// Removes a command added by add_command(); true if there was one. Built-ins stay.
bool remove_command(std::string_view name);

/// The names of every command manage() knows, built-ins first, then added ones in order.
[[nodiscard]] std::vector<std::string> command_names();

}  // namespace management
}  // namespace tocsin
