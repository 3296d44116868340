// <tocsin/version.hpp> — which tocsin a program was compiled against.
//
// The version is defined here once; CMakeLists.txt reads it from this file for project(VERSION),
// the installed package's tocsinConfigVersion.cmake and tocsin.pc.
#pragma once

#include <compare>

#define TOCSIN_VERSION_MAJOR 0
#define TOCSIN_VERSION_MINOR 2
#define TOCSIN_VERSION_PATCH 0

/// The version as one number, MAJOR * 10000 + MINOR * 100 + PATCH, for `#if` comparisons:
/// `#if TOCSIN_VERSION >= 200` means 0.2.0 or later.
#define TOCSIN_VERSION \
    (TOCSIN_VERSION_MAJOR * 10000 + TOCSIN_VERSION_MINOR * 100 + TOCSIN_VERSION_PATCH)

/// The version as the string "MAJOR.MINOR.PATCH".
#define TOCSIN_VERSION_STRING "0.2.0"

namespace tocsin {

/// The version of the tocsin headers the calling code was compiled with.
struct Version {
    int major;
    int minor;
    int patch;
    /// Versions compare by major, then minor, then patch: `library_version() == version`.
    friend constexpr auto operator<=>(const Version&, const Version&) = default;
};

/// The headers' version ({TOCSIN_VERSION_MAJOR, TOCSIN_VERSION_MINOR, TOCSIN_VERSION_PATCH}).
inline constexpr Version version{TOCSIN_VERSION_MAJOR, TOCSIN_VERSION_MINOR, TOCSIN_VERSION_PATCH};

/// The version of the tocsin library the program is linked with (compare with `version` to
/// catch headers and library from different releases).
[[nodiscard]] Version library_version() noexcept;

}  // namespace tocsin
