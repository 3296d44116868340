// The db layer's logging hook (robust on_commit callbacks report their errors here).
#pragma once

#include <exception>
#include <functional>
#include <string_view>

namespace tocsin::db {

/// How serious a log record is.
enum class LogLevel { debug, info, warning, error };

/// One log record. The views are valid only during the handler call.
struct LogRecord {
    LogLevel level = LogLevel::error;
    std::string_view logger{};   ///< where it comes from: "tocsin.db"
    std::string_view message{};  ///< e.g. "Error calling ... in on_commit() (...)."
    std::exception_ptr error{};  ///< the exception being reported, if any
};

/// Receives log records; may be called from any thread that uses the db layer.
using LogHandler = std::function<void(const LogRecord&)>;

/// Installs @p handler for the whole process and returns the previous one. An empty handler
/// restores the default, which writes "tocsin.db ERROR: <message>" to std::cerr. Thread-safe.
LogHandler set_log_handler(LogHandler handler);

/// Passes @p record to the installed handler. Never throws: a throwing handler is ignored.
void log(const LogRecord& record) noexcept;

}  // namespace tocsin::db
