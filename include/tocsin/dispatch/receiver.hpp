// tocsin receivers — what connect() turns a callable into: the receiver adapters (any callable,
// a member function on an object), their identity (Django's lookup key) and their names, and the
// ReceiverFor concept that connect() requires.
#pragma once

#include <concepts>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string_view>
#include <type_traits>
#include <utility>

#include "tocsin/dispatch/detail/slot.hpp"
#include "tocsin/dispatch/detail/type_name.hpp"
#include "tocsin/dispatch/sender.hpp"

namespace tocsin {

namespace detail {

/// How a send passes an argument declared as `T`: references as they are, small trivially
/// copyable values by value, everything else by const reference (one copy for all receivers).
/// (A reference is never measured: its type may still be incomplete where the signal is named.)
template <class T, bool = std::is_reference_v<T>>
struct param_of {
    using type = T;
};
template <class T>
struct param_of<T, false> {
    using type =
        std::conditional_t<std::is_trivially_copyable_v<T> && sizeof(T) <= 2 * sizeof(void*), T,
                           const T&>;
};
template <class T>
using param_t = typename param_of<T>::type;

/// True when `F` can be a receiver of a signal with arguments `Args`.
template <class F, class... Args>
concept receiver_for = std::is_invocable_v<F&, const Sender&, param_t<Args>...> ||
    std::is_invocable_v<F&, param_t<Args>...>;

/// Calls `f` with the sender first when it takes one, else with the arguments only.
template <class R, class F, class... P>
R call_receiver(F&& f, const Sender& sender, P&&... args) {
    if constexpr (std::is_invocable_v<F, const Sender&, P...>) {
        if constexpr (std::is_void_v<R>) {
            std::invoke(std::forward<F>(f), sender, std::forward<P>(args)...);
        } else {
            return static_cast<R>(
                std::invoke(std::forward<F>(f), sender, std::forward<P>(args)...));
        }
    } else {
        if constexpr (std::is_void_v<R>) {
            std::invoke(std::forward<F>(f), std::forward<P>(args)...);
        } else {
            return static_cast<R>(std::invoke(std::forward<F>(f), std::forward<P>(args)...));
        }
    }
}

/// A receiver that is any callable.
template <class R, class Fn, class... Args>
struct Slot final : SlotBase {
    template <class G>
    explicit Slot(G&& g) : storage(std::forward<G>(g)) {}
    ~Slot() override { Slot::drop_callable(); }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

    static R thunk(SlotBase* base, const Sender& sender, param_t<Args>... args) {
        return call_receiver<R>(static_cast<Slot*>(base)->storage.fn, sender,
                                std::forward<param_t<Args>>(args)...);
    }
    void drop_callable() noexcept override {
        if (has_fn) {
            has_fn = false;
            storage.fn.~Fn();
        }
    }
    /// The callable, destroyed by drop_callable() (a union: no destruction of its own).
    union Storage {
        template <class G>
        explicit Storage(G&& g) : fn(std::forward<G>(g)) {}
        Storage(const Storage&) = delete;
        Storage& operator=(const Storage&) = delete;
        ~Storage() {}  // NOLINT(modernize-use-equals-default): Fn may be non-trivial
        Fn fn;
    } storage;
    bool has_fn = true;
};

/// A receiver that is a member function called on an object.
template <class R, class C, class M, class... Args>
struct MethodSlot final : SlotBase {
    MethodSlot(M C::*m, C* o) : method(m), object(o) {}
    static R thunk(SlotBase* base, const Sender& sender, param_t<Args>... args) {
        auto* self = static_cast<MethodSlot*>(base);
        if constexpr (std::is_invocable_v<M C::*, C*, const Sender&, param_t<Args>...>) {
            if constexpr (std::is_void_v<R>) {
                std::invoke(self->method, self->object, sender,
                            std::forward<param_t<Args>>(args)...);
            } else {
                return static_cast<R>(std::invoke(self->method, self->object, sender,
                                                  std::forward<param_t<Args>>(args)...));
            }
        } else {
            if constexpr (std::is_void_v<R>) {
                std::invoke(self->method, self->object, std::forward<param_t<Args>>(args)...);
            } else {
                return static_cast<R>(
                    std::invoke(self->method, self->object, std::forward<param_t<Args>>(args)...));
            }
        }
    }
    M C::*method;
    C* object;
};

template <class Fn>
inline constexpr bool is_function_pointer_v =
    std::is_pointer_v<Fn>&& std::is_function_v<std::remove_pointer_t<Fn>>;

/// A function pointer's identity; an adapter's (a callable with `identity()`) is what it wraps;
/// any other callable is unique.
template <class Fn>
Identity identity_of(const Fn& f) noexcept {
    Identity id;
    if constexpr (requires {
                      { f.identity() } -> std::same_as<Identity>;
                  }) {
        return f.identity();
    } else if constexpr (is_function_pointer_v<Fn>) {
        id.kind = Identity::Kind::function;
        id.bits[0] = reinterpret_cast<std::uintptr_t>(f);
    }
    return id;
}

/// A member function's identity on one object.
template <class C, class M>
Identity identity_of(M C::*method, const void* object) noexcept {
    static_assert(sizeof(method) <= 2 * sizeof(std::uintptr_t));
    Identity id;
    id.kind = Identity::Kind::method;
    std::memcpy(id.bits.data(), &method, sizeof(method));
    id.bits[2] = reinterpret_cast<std::uintptr_t>(object);
    id.type = &type_tag<M C::*>;
    return id;
}

/// The code address of a function pointer, or of the function an adapter (a callable with
/// `code()`) wraps; null for any other callable.
template <class Fn>
const void* code_of(const Fn& f) noexcept {
    if constexpr (requires {
                      { f.code() } -> std::same_as<const void*>;
                  }) {
        return f.code();
    } else if constexpr (is_function_pointer_v<Fn>) {
        return reinterpret_cast<const void*>(
            reinterpret_cast<std::uintptr_t>(f));  // NOLINT(performance-no-int-to-ptr)
    } else {
        return nullptr;
    }
}

/// The code address of a non-virtual member function (null for a virtual one).
template <class C, class M>
const void* code_of(M C::*method) noexcept {
    std::uintptr_t address = 0;
    std::memcpy(&address, &method, sizeof address);
    // Itanium ABI: an odd value is a virtual function's vtable offset.
    return (address & 1U) == 0 ? reinterpret_cast<const void*>(address)  // NOLINT
                               : nullptr;
}

/// `type_name<T>()`, evaluated once at compile time; an adapter (declaring `wrapped_type`) is
/// named after what it wraps.
template <class T>
constexpr std::string_view label_of() {
    if constexpr (requires { typename T::wrapped_type; }) {
        return type_name<typename T::wrapped_type>();
    } else {
        return type_name<T>();
    }
}
template <class T>
inline constexpr std::string_view type_label_v = label_of<T>();

/// The type name introspection gives the receiver `f`: type_label_v<Fn>, or, for an adapter that
/// names what it wraps at run time (a callable with `type_label()`), what that says.
template <class Fn>
std::string_view type_label_of(const Fn& f) noexcept {
    if constexpr (requires {
                      { f.type_label() } -> std::same_as<std::string_view>;
                  }) {
        return f.type_label();
    } else {
        return type_label_v<Fn>;
    }
}

/// True when a weak_ptr was given (even one already expired), false for a default one.
inline bool was_given(const std::weak_ptr<const void>& w) noexcept {
    const std::weak_ptr<const void> none;
    return w.owner_before(none) || none.owner_before(w);
}

}  // namespace detail

/// True when `F` can be a receiver of a signal whose arguments are `Args`: callable as
/// `(const Sender&, Args...)` or `(Args...)` (Signal<R(Args...)>::connect requires it).
template <class F, class... Args>
concept ReceiverFor = detail::receiver_for<F, Args...>;

}  // namespace tocsin
