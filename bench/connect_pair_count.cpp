// connect_pair_count: the connect + disconnect pairs of dispatch_bench's connect_pair/tocsin/<N>
// in a plain loop, for counting instructions with callgrind (steady on a loaded machine, where
// timings are not):
//
//   valgrind --tool=callgrind --toggle-collect='*run_pairs*' connect_pair_count 1000 10000
//
// args: N (receivers on the signal, spread over 1,000 object senders) and K (pairs). run_pairs
// runs 2,000 warm-up pairs, then K: instructions per pair = the "Collected" count / (K + 2,000).
#include <tocsin/dispatch.hpp>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

struct Model {
    int id = 0;
};

struct Receiver {
    int calls = 0;
    void on(int) { ++calls; }
};

constexpr std::size_t kSenders = 1000;

/// `k` pairs, each connecting a receiver for the next sender of `senders` (the first `used`) and
/// disconnecting it.
[[gnu::noinline]] std::size_t run_pairs(tocsin::Signal<void(int)>& sig, std::vector<Model>& senders,
                                        std::size_t used, std::size_t next, std::size_t k,
                                        Receiver& extra) {
    for (std::size_t i = 0; i < k; ++i) {
        const tocsin::Connection c =
            sig.connect(&Receiver::on, &extra, {.sender = tocsin::Sender::object(&senders[next])});
        c.disconnect();
        next = next + 1 == used ? 0 : next + 1;
    }
    return next;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s N K\n", argv[0]);
        return 2;
    }
    const std::size_t n = std::strtoul(argv[1], nullptr, 10);
    const std::size_t k = std::strtoul(argv[2], nullptr, 10);
    std::vector<Model> senders(kSenders);
    std::vector<Receiver> receivers(n);
    tocsin::Signal<void(int)> sig("pair");
    for (std::size_t j = 0; j < n; ++j) {
        sig.connect(&Receiver::on, &receivers[j],
                    {.sender = tocsin::Sender::object(&senders[j % kSenders])});
    }
    const std::size_t used = n < kSenders ? n : kSenders;
    Receiver extra;
    const std::size_t next = run_pairs(sig, senders, used, 0, 2000, extra);  // warm-up
    run_pairs(sig, senders, used, next, k, extra);
    sig.send(tocsin::Sender::object(&senders[0]), 1);
    const bool ok =
        extra.calls == 0 && (n == 0 || receivers[0].calls == 1) && sig.receiver_count() == n;
    std::printf("%zu receivers, %zu pairs: %s\n", n, k, ok ? "ok" : "WRONG STATE");
    return ok ? 0 : 1;
}
