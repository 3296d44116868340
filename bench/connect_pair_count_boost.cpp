// connect_pair_count_boost: the connect + disconnect pairs of dispatch_bench's
// connect_pair/boost/<N> in a plain loop, for counting Boost.Signals2's instructions with
// callgrind beside connect_pair_count's (docs/benchmarks.md):
//
//   valgrind --tool=callgrind --toggle-collect='*run_pairs*' connect_pair_count_boost 1000 10000
//
// args: N (receivers on the signal) and K (pairs). run_pairs runs 2,000 warm-up pairs, then K:
// instructions per pair = the "Collected" count / (K + 2,000).
#include <boost/signals2/signal.hpp>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

struct Receiver {
    int calls = 0;
    void on(int) { ++calls; }
};

using Sig = boost::signals2::signal<void(int)>;

/// `k` pairs, each connecting a receiver and disconnecting it.
[[gnu::noinline]] void run_pairs(Sig& sig, std::size_t k, Receiver& extra) {
    Receiver* e = &extra;
    for (std::size_t i = 0; i < k; ++i) {
        auto c = sig.connect([e](int v) { e->on(v); });
        c.disconnect();
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s N K\n", argv[0]);
        return 2;
    }
    const std::size_t n = std::strtoul(argv[1], nullptr, 10);
    const std::size_t k = std::strtoul(argv[2], nullptr, 10);
    std::vector<Receiver> receivers(n);
    Sig sig;
    for (auto& r : receivers) {
        Receiver* p = &r;
        sig.connect([p](int v) { p->on(v); });
    }
    Receiver extra;
    run_pairs(sig, 2000, extra);  // warm-up
    run_pairs(sig, k, extra);
    sig(1);
    const bool ok = extra.calls == 0 && (n == 0 || receivers[0].calls == 1) && sig.num_slots() == n;
    std::printf("%zu receivers, %zu pairs: %s\n", n, k, ok ? "ok" : "WRONG STATE");
    return ok ? 0 : 1;
}
