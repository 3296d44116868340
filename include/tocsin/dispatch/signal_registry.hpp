// tocsin::all_signals() — every live Signal of the process, by name, with its receivers.
//
// Each Signal enlists itself when it is constructed and leaves when it is destroyed (under one
// process-wide mutex, taken only then and by all_signals()). Sends never touch this list.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tocsin/dispatch/receiver_info.hpp"

namespace tocsin {

/// One signal as all_signals() saw it: a snapshot, valid after the signal itself is gone.
struct SignalInfo {
    std::string name;  ///< the name given to the constructor, "" if none
    /// The signal's signature, e.g. "void(const Order&)": as g++ spells it (clang's spelling is
    /// brought to it: no space before a parameter list, `&` or `*`; "{anonymous}" namespaces).
    /// Valid for the whole run of the program.
    std::string_view signature;
    std::vector<ReceiverInfo> receivers;  ///< its live receivers, in call order

    /// `name`, or "<unnamed Signal<void(const Order&)>>" for a signal built without a name.
    [[nodiscard]] std::string display_name() const;
};

/// Every live signal of the process: the named ones ordered by name (signals sharing a name in
/// construction order), then the unnamed ones in construction order. Safe to call from any
/// thread while signals are built, destroyed, connected to and sent. The model signals
/// (`pre_save`, …, `class_prepared()`, `pre_migrate`, `post_migrate`) are listed once
/// <tocsin/models.hpp> is part of the program, even before their first use.
[[nodiscard]] std::vector<SignalInfo> all_signals();

/// The live signals named `name` (usually one; none when no such signal exists).
[[nodiscard]] std::vector<SignalInfo> find_signals(std::string_view name);

namespace detail {

class Receivers;

/// `compiler_spelling` (a function type as the compiler prints it) as g++ spells it: clang's
/// "void (const (anonymous namespace)::Order &, int *)" is "void(const {anonymous}::Order&, int*)";
/// a pointer or reference to a function keeps its space ("void (*)(int)"). g++'s own spelling
/// is returned unchanged.
[[nodiscard]] std::string spell_signature(std::string_view compiler_spelling);
/// Adds a signal's receivers to the list of all_signals(); called by the Signal constructor.
void enlist_signal(const std::shared_ptr<Receivers>& receivers, std::string_view signature);
/// Removes it; called by the Signal destructor. Does nothing for receivers not listed.
void delist_signal(const Receivers* receivers) noexcept;

}  // namespace detail

}  // namespace tocsin
