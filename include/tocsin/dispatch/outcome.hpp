// What a send returns: tocsin::Response (send), tocsin::Outcome (send_robust), and the error hook.
#pragma once

#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "tocsin/dispatch/connection.hpp"

namespace tocsin {

/// One receiver's return value from `send` on a non-void signal.
template <class R>
struct Response {
    R value;
    Connection receiver;
};

/// One receiver's result from `send_robust`: `error` is null on success, then `value` is set.
template <class R>
struct Outcome {
    std::optional<R> value;
    std::exception_ptr error;
    Connection receiver;
};

/// One receiver's result from `send_robust` on a void signal: `error` is null on success.
template <>
struct Outcome<void> {
    std::exception_ptr error;
    Connection receiver;
};

/// What an error logger is told when a receiver fails where nothing can throw its exception:
/// in send_robust / asend_robust, or as a commit-time receiver (Connect::on_commit) after the
/// commit.
struct ReceiverError {
    std::string_view signal;  ///< the signal's name
    /// The failing receiver: its Connect::name, else its dispatch_uid, else its function's
    /// symbol, else its type.
    std::string_view receiver;
    std::exception_ptr error;  ///< what it threw
    /// Where it failed: "Signal.send_robust()" (also asend_robust) or "on_commit()".
    std::string_view context = "Signal.send_robust()";

    /// Django's log line: "Error calling <receiver> in Signal.send_robust() (<what>)", or
    /// "Error calling <receiver> in on_commit() (<what>)" for a commit-time receiver.
    [[nodiscard]] std::string message() const;
};

/// A callback told about each receiver that failed in a robust send or at commit time (like
/// Django's `django.dispatch` logger). It must not throw; may be called from any thread.
using ErrorLogger = std::function<void(const ReceiverError&)>;

/// Sets the process-wide error logger, used by signals that have none of their own, and returns
/// the previous one. Empty = the default, which writes "tocsin.dispatch ERROR: <message()>" to
/// std::cerr (Django logs these with logger.error on 'django.dispatch').
ErrorLogger set_error_logger(ErrorLogger logger);

/// The name tocsin's own docs use for set_error_logger: the one hook for receiver failures.
inline ErrorLogger set_receiver_error_handler(ErrorLogger logger) {
    return set_error_logger(std::move(logger));
}

/// Describes an exception for messages: its what() or "unknown exception".
[[nodiscard]] std::string describe_exception(const std::exception_ptr& error);

}  // namespace tocsin
