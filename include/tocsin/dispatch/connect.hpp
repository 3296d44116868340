// tocsin::Connect — the options of Signal::connect().
#pragma once

#include <memory>
#include <string>

#include "tocsin/dispatch/executor.hpp"
#include "tocsin/dispatch/sender.hpp"

namespace tocsin {

/// Options of `Signal::connect`. An aggregate: name the members you set, in this order
/// (`{.sender = Sender::of<User>(), .dispatch_uid = "accounts.profile"}`).
struct Connect {
    /// Hear only this sender. The default (no sender) hears every sender.
    Sender sender{};
    /// Identity of the receiver instead of the callable's: connecting the same uid for the same
    /// sender again keeps the first receiver (Django's `dispatch_uid`). Empty = not given.
    std::string dispatch_uid{};
    /// The receiver is disconnected when this expires (Django's weak receivers); while a send
    /// calls it, the tracked object is kept alive.
    std::weak_ptr<const void> track{};
    /// Receivers with a higher priority run first; equal priorities run in connection order.
    int priority = 0;
    /// When set, the receiver is async: it runs on this executor (see Signal::send and asend).
    std::shared_ptr<Executor> executor{};
    /// A readable name for introspection and error reports (default: derived from the callable).
    std::string name{};
    /// A commit-time receiver: a send captures copies of its arguments and the receiver runs
    /// with them after the outermost transaction commits (never after a rollback; at once when
    /// no transaction is open), on the database the send happens on (Django's
    /// `on_commit(using=…)`): the one an argument names through tocsin::commit_copy (the model
    /// layer's events name the database of the save or removal), else "default". Failures are
    /// reported, not thrown (on_commit_robust). Needs a void signal whose arguments commit_copy
    /// can keep and a function or lambda receiver (std::invalid_argument else).
    bool on_commit = false;
};

}  // namespace tocsin
