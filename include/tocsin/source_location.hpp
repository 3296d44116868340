// tocsin::source_location — where a call was made, for error messages and receiver
// introspection. It is std::source_location wherever the standard library provides it; on a
// library without it (clang 14 with libstdc++ 12, used for the libFuzzer build) it is a
// stand-in with the same members, filled by the builtins GCC and clang both provide.
#pragma once

#include <version>

#if defined(__cpp_lib_source_location)
#include <source_location>

namespace tocsin {
using source_location = std::source_location;
}  // namespace tocsin

#else
#include <cstdint>

namespace tocsin {

/// Same members as std::source_location; current() records the caller's position.
class source_location {
  public:
    /// The position of the call that evaluates this default argument.
    static constexpr source_location current(
        const char* file = __builtin_FILE(), const char* function = __builtin_FUNCTION(),
        std::uint_least32_t line = __builtin_LINE(),
        std::uint_least32_t column = __builtin_COLUMN()) noexcept {
        source_location where;
        where.file_ = file;
        where.function_ = function;
        where.line_ = line;
        where.column_ = column;
        return where;
    }

    constexpr source_location() noexcept = default;
    /// File of the call ("" when unknown).
    constexpr const char* file_name() const noexcept { return file_; }
    /// Function containing the call ("" when unknown).
    constexpr const char* function_name() const noexcept { return function_; }
    /// Line of the call (0 when unknown).
    constexpr std::uint_least32_t line() const noexcept { return line_; }
    /// Column of the call (0 when unknown).
    constexpr std::uint_least32_t column() const noexcept { return column_; }

  private:
    const char* file_ = "";
    const char* function_ = "";
    std::uint_least32_t line_ = 0;
    std::uint_least32_t column_ = 0;
};

}  // namespace tocsin
#endif
