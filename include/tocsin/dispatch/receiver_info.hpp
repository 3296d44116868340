// tocsin::ReceiverInfo — what introspection reports about one receiver.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tocsin/dispatch/connection.hpp"
#include "tocsin/dispatch/sender.hpp"

namespace tocsin {

/// One connected receiver, as `Signal::receivers()` lists it (in call order).
struct ReceiverInfo {
    std::string name;  ///< readable name (Connect::name, the function's symbol, or its type)
    Sender sender;     ///< the sender it hears (none = every sender)
    /// The senders it hears besides `sender` (Signal::add_sender, e.g. a model's subclasses).
    std::vector<Sender> also_senders;
    std::string dispatch_uid;  ///< "" when not given
    int priority = 0;
    bool tracked = false;    ///< disconnected when a tracked object dies
    bool async = false;      ///< runs on an executor
    bool on_commit = false;  ///< runs after the transaction of the send commits
    std::string file;        ///< where connect() was called
    unsigned line = 0;
    Connection connection;  ///< a handle on it
};

/// How a send delivers to this receiver: "on_commit" (after the send's transaction commits),
/// "async" (on its executor) or "sync" (in the sender's thread, in order).
[[nodiscard]] inline std::string_view delivery_mode(const ReceiverInfo& info) noexcept {
    if (info.on_commit) {
        return "on_commit";
    }
    return info.async ? "async" : "sync";
}

}  // namespace tocsin
