// tocsin::Connection and tocsin::ScopedConnection — handles on one connected receiver.
#pragma once

#include <memory>
#include <string>
#include <utility>

namespace tocsin {

namespace detail {
struct SlotBase;
template <class Signature>
struct AsyncSends;
}  // namespace detail
template <class Signature>
class Signal;

/// A handle on one connected receiver. A copyable value; default-constructed = not connected.
/// It may outlive its signal: then `connected()` is false and `disconnect()` does nothing.
class Connection {
  public:
    Connection() noexcept = default;
    explicit Connection(std::shared_ptr<detail::SlotBase> slot) noexcept : slot_(std::move(slot)) {}

    /// Disconnects the receiver; true if this call disconnected it. A send under way on another
    /// thread may still be calling it; it is never called again after this returns.
    bool disconnect() const;
    /// Like disconnect(), then waits until no send on any thread is still running the receiver
    /// (so objects it uses may be destroyed). Throws std::logic_error when called from a receiver.
    bool disconnect_and_wait() const;
    /// False once disconnected, expired (tracked object gone), or its signal destroyed.
    [[nodiscard]] bool connected() const noexcept;
    /// The receiver's readable name ("" for an empty connection).
    [[nodiscard]] std::string name() const;

    /// True when both name the same receiver (or are both empty).
    friend bool operator==(const Connection& a, const Connection& b) noexcept {
        return a.slot_ == b.slot_;
    }

  private:
    template <class Signature>
    friend class Signal;
    template <class Signature>
    friend struct detail::AsyncSends;
    std::shared_ptr<detail::SlotBase> slot_;
};

/// Owns a connection: disconnects it when destroyed. Move-only.
class ScopedConnection {
  public:
    ScopedConnection() noexcept = default;
    /// Takes charge of `c` (implicit, so `ScopedConnection s = signal.connect(…)` reads well).
    ScopedConnection(Connection c) noexcept : connection_(std::move(c)) {}  // NOLINT
    ScopedConnection(ScopedConnection&& other) noexcept : connection_(other.release()) {}
    ScopedConnection& operator=(ScopedConnection&& other) noexcept {
        if (this != &other) {
            disconnect();
            connection_ = other.release();
        }
        return *this;
    }
    ScopedConnection(const ScopedConnection&) = delete;
    ScopedConnection& operator=(const ScopedConnection&) = delete;
    /// Disconnects the receiver.
    ~ScopedConnection() { disconnect(); }

    /// The connection held (empty after release()).
    [[nodiscard]] const Connection& get() const noexcept { return connection_; }
    /// Gives up ownership without disconnecting.
    Connection release() noexcept { return std::exchange(connection_, Connection{}); }
    /// Disconnects now; true if this call disconnected it.
    bool disconnect() noexcept {
        try {
            return std::exchange(connection_, Connection{}).disconnect();
        } catch (...) {
            return false;
        }
    }

  private:
    Connection connection_;
};

}  // namespace tocsin
