#include "tocsin/dispatch/connection.hpp"

#include "rcu.hpp"
#include "tocsin/dispatch/detail/receivers.hpp"

namespace tocsin {

bool Connection::disconnect() const {
    if (!slot_) {
        return false;
    }
    return detail::Receivers::disconnect_connection(*slot_);
}

bool Connection::disconnect_and_wait() const {
    if (detail::rcu::in_read_section()) {
        throw std::logic_error(
            "tocsin: Connection::disconnect_and_wait() called from inside a send (a receiver) "
            "would wait for itself; use disconnect()");
    }
    const bool removed = disconnect();
    detail::rcu::synchronize();
    return removed;
}

bool Connection::connected() const noexcept {
    return slot_ && slot_->alive();
}

std::string Connection::name() const {
    return slot_ ? slot_->name() : std::string();
}

}  // namespace tocsin
