// A header that uses std::vector without including <vector>: it compiles only after another
// header brought <vector> in, so run_headers_alone.cmake must report it.
#pragma once
#include <string>

namespace fixture {
/// Names, in a vector this header never included.
inline std::vector<std::string> names() {
    return {"leaning"};
}
}  // namespace fixture
