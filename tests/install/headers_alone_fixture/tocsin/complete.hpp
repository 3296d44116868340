// A header that includes what it uses: compiles on its own (the test of run_headers_alone.cmake).
#pragma once
#include <string>

namespace fixture {
/// A name.
inline std::string name() {
    return "complete";
}
}  // namespace fixture
