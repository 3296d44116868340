// A consumer of tocsin (installed, or built by FetchContent): connect a receiver, send, check
// that it ran, and that the headers and the library are the same version.
#include <tocsin/dispatch.hpp>
#include <tocsin/version.hpp>

#include <cstdio>

namespace {
struct Pinger {};
}  // namespace

int main() {
    tocsin::Signal<void(int)> pinged{"consumer.pinged"};
    int received = 0;
    tocsin::Connection connection = pinged.connect([&received](int value) { received = value; });
    pinged.send(tocsin::Sender::of<Pinger>(), 42);
    if (!connection.connected() || received != 42) {
        std::fprintf(stderr, "consumer: the receiver did not run (received=%d)\n", received);
        return 1;
    }
    const tocsin::Version linked = tocsin::library_version();
    static_assert(tocsin::Version{0, 1, 9} < tocsin::Version{0, 2, 0});
    if (linked != tocsin::version || linked.major != TOCSIN_VERSION_MAJOR ||
        linked.minor != TOCSIN_VERSION_MINOR || linked.patch != TOCSIN_VERSION_PATCH) {
        std::fprintf(stderr, "consumer: headers %s, library %d.%d.%d\n", TOCSIN_VERSION_STRING,
                     linked.major, linked.minor, linked.patch);
        return 1;
    }
    std::printf("consumer: ok (tocsin %s)\n", TOCSIN_VERSION_STRING);
    return 0;
}
