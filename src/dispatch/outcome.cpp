#include "tocsin/dispatch/outcome.hpp"

#include <exception>

namespace tocsin {

std::string describe_exception(const std::exception_ptr& error) {
    if (!error) {
        return "no error";
    }
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "unknown exception";
    }
}

std::string ReceiverError::message() const {
    std::string m = "Error calling ";
    m.append(receiver)
        .append(" in ")
        .append(context)
        .append(" (")
        .append(describe_exception(error))
        .append(")");
    return m;
}

}  // namespace tocsin
