#include "tocsin/version.hpp"

namespace tocsin {

Version library_version() noexcept {
    return version;
}

}  // namespace tocsin
