// tocsin::Sender — who sends a signal: nobody, a type, or one object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "tocsin/dispatch/detail/type_name.hpp"

namespace tocsin {

namespace detail {
/// One static tag per type: its address is the type's identity as a sender.
struct TypeTag {
    std::string_view name;
};
template <class T>
inline constexpr TypeTag type_tag{type_name<T>()};
}  // namespace detail

/// A small value naming who sends: nobody (default), a type (`Sender::of<User>()`) or one
/// object (`Sender::object(&order)`). Two senders are equal when they name the same type or the
/// same address; equality never looks at the object's value (Django compares by identity).
class Sender {
  public:
    /// What a sender names.
    enum class Kind : std::uint8_t { none, type, object };

    /// No sender: a receiver connected with it hears every sender.
    constexpr Sender() noexcept = default;

    /// The type `T` (cv-qualifiers and references ignored) as a sender.
    template <class T>
    [[nodiscard]] static constexpr Sender of() noexcept {
        using U = std::remove_cvref_t<T>;
        return Sender{&detail::type_tag<U>, &detail::type_tag<U>, Kind::type};
    }

    /// A type made at run time (such as a model's auto-created many-to-many through table),
    /// identified by the address of `tag` and named by it: `tag` must outlive every use.
    [[nodiscard]] static constexpr Sender of_runtime_type(const detail::TypeTag& tag) noexcept {
        return Sender{&tag, &tag, Kind::type};
    }

    /// One object, identified by its address; named "object@0x…".
    [[nodiscard]] static constexpr Sender object(const void* p) noexcept {
        return Sender{p, nullptr, Kind::object};
    }

    /// One object, identified by its address; named "<its type>@0x…".
    template <class T>
    [[nodiscard]] static constexpr Sender object(const T* p) noexcept {
        return Sender{static_cast<const void*>(p), &detail::type_tag<std::remove_cv_t<T>>,
                      Kind::object};
    }

    /// What this sender names.
    [[nodiscard]] constexpr Kind kind() const noexcept { return kind_; }
    /// True for the default "no sender".
    [[nodiscard]] constexpr bool is_none() const noexcept { return kind_ == Kind::none; }
    /// True when this names a sender (a type or an object).
    constexpr explicit operator bool() const noexcept { return kind_ != Kind::none; }
    /// The identity: the type's tag address or the object's address (null for no sender).
    [[nodiscard]] constexpr const void* id() const noexcept { return id_; }

    /// A readable name: "(none)", "User", or "Order@0x7ffd…".
    [[nodiscard]] std::string name() const;

    friend constexpr bool operator==(const Sender& a, const Sender& b) noexcept {
        return a.id_ == b.id_ && a.kind_ == b.kind_;
    }

  private:
    constexpr Sender(const void* id, const detail::TypeTag* type, Kind kind) noexcept
        : id_(id), type_(type), kind_(kind) {}

    const void* id_ = nullptr;
    const detail::TypeTag* type_ = nullptr;
    Kind kind_ = Kind::none;
};

}  // namespace tocsin

/// Hashes a sender by its identity.
template <>
struct std::hash<tocsin::Sender> {
    std::size_t operator()(const tocsin::Sender& s) const noexcept {
        auto v = reinterpret_cast<std::uintptr_t>(s.id());
        v ^= static_cast<std::uintptr_t>(s.kind()) << 1;
        return static_cast<std::size_t>(v * 0x9E3779B97F4A7C15ull >> 7);
    }
};
