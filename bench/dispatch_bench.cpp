// dispatch_bench: tocsin::Signal side by side with a direct-call loop, a vector of std::function,
// Boost.Signals2 and libsigc++ 3, in one binary and one run (Google Benchmark).
//
// Method (as in the peer comparison of the research notes): every library calls the same
// non-inlined member function Receiver::on(int), so each library pays exactly one real call per
// receiver and the differences are the libraries' own overhead. Each receiver is its own object
// and writes only to itself.
//
// Cases (names group by case so that ratios can be read off adjacent lines):
//   emit/<lib>/<N>                  one emission to N receivers (N = 0, 1, 10, 100), CPU time
//   connect/<lib>, disconnect/<lib> batches of 100 on a signal that already holds 10 receivers;
//                                   manual time of the timed half only, per_op = time per operation
//   filtered/<lib>/<hits>of1000     1,000 receivers over 100 senders, one send from one sender
//   connect_pair/<lib>/<N>          one connect + disconnect of a receiver for one sender, on a
//                                   signal holding N receivers spread over 1,000 object senders
//                                   (peers: one signal holding N receivers), CPU time per pair
//   model_signal/<receiver>         the model layer's shape without a database: a LazySignal of
//                                   void(ModelBase&, const Event&) sent from a model type, one
//                                   receiver: plain_any (no sender), plain_model (for the model)
//                                   or typed (ModelSignal's adapter: cast to the model, then call)
//   emit_mt/<lib>/10                one shared signal, 10 receivers, emitted from 1 and 2 threads
//   emit_paired/<a>_over_<b>/<N>    a and b emitting to N receivers in alternating blocks of
//                                   sends (a first, then b first), the ratio taken per pair of
//                                   blocks; counters: ratio = median of those ratios, a_ns and
//                                   b_ns = each side's median ns per send (CPU time). Steadier
//                                   than two separate medians on a loaded machine.
//   emit_values/<lib>/<N>           one send to N receivers that return a value (int), the
//                                   results collected: std_function (a loop over
//                                   std::function<int(int)> pushing into a reserved vector),
//                                   boost (a combiner collecting into a vector), tocsin
//                                   (Signal<int(int)>::send: vector<Response<int>>) and
//                                   tocsin_robust (send_robust: vector<Outcome<int>>); CPU time
//   emit_observed/<observer>/<N>    emit/tocsin_lambda/<N> with a send observer set
//                                   (tocsin::set_send_observer): noop (a SendObserver that
//                                   does nothing: the probe's own cost) or stats (ReceiverStats)
//                                   (real time per emission of the whole process = 1/throughput)
//
// Counters: allocs_per_send = heap allocations per emission on the emitting thread (global
// operator new is replaced below). tocsin's must be 0: the binary exits with status 1 otherwise,
// and also when a library called the wrong receivers or the wrong number of them.

#include <benchmark/benchmark.h>

#include <sigc++/sigc++.h>
#include <boost/signals2/signal.hpp>

#include <tocsin/dispatch.hpp>
#include <tocsin/dispatch/detail/lazy_signal.hpp>
#include <tocsin/dispatch/profiler.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

// ------------------------------------------------------------------ allocation counting
// Counted per thread (no shared counter, so counting does not slow down allocating libraries in
// the multithreaded cases). A send that hands work to another thread would not be seen, but a
// void send with synchronous receivers runs entirely on the calling thread.
namespace {
thread_local std::uint64_t t_allocs = 0;

void* counted_alloc(std::size_t n) noexcept {
    ++t_allocs;
    return std::malloc(n == 0 ? 1 : n);
}
void* counted_aligned_alloc(std::size_t n, std::align_val_t al) noexcept {
    ++t_allocs;
    const auto a = static_cast<std::size_t>(al);
    const std::size_t size = ((n == 0 ? 1 : n) + a - 1) / a * a;  // a multiple of the alignment
    return std::aligned_alloc(a, size);
}
}  // namespace

// noinline: GCC would otherwise inline delete's free() into callers and warn
// (-Wmismatched-new-delete) that memory from operator new is released with free().
[[gnu::noinline]] void* operator new(std::size_t n) {
    if (void* p = counted_alloc(n)) {
        return p;
    }
    throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t n) {
    if (void* p = counted_alloc(n)) {
        return p;
    }
    throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new(std::size_t n, std::align_val_t al) {
    if (void* p = counted_aligned_alloc(n, al)) {
        return p;
    }
    throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t n, std::align_val_t al) {
    if (void* p = counted_aligned_alloc(n, al)) {
        return p;
    }
    throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    return counted_alloc(n);
}
[[gnu::noinline]] void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    return counted_alloc(n);
}
[[gnu::noinline]] void* operator new(std::size_t n, std::align_val_t al,
                                     const std::nothrow_t&) noexcept {
    return counted_aligned_alloc(n, al);
}
[[gnu::noinline]] void* operator new[](std::size_t n, std::align_val_t al,
                                       const std::nothrow_t&) noexcept {
    return counted_aligned_alloc(n, al);
}
[[gnu::noinline]] void operator delete(void* p) noexcept {
    std::free(p);
}
[[gnu::noinline]] void operator delete[](void* p) noexcept {
    std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::align_val_t) noexcept {
    std::free(p);
}
[[gnu::noinline]] void operator delete[](void* p, std::align_val_t) noexcept {
    std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}
[[gnu::noinline]] void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
[[gnu::noinline]] void operator delete[](void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
    std::free(p);
}
[[gnu::noinline]] void operator delete[](void* p, std::align_val_t,
                                         const std::nothrow_t&) noexcept {
    std::free(p);
}

namespace {

// ------------------------------------------------------------------ failures -> exit status
std::mutex g_failures_mutex;
std::map<std::string, std::string> g_failures;  // case -> what went wrong (its last run)
thread_local std::string t_case;                // the running case's name, set by reg() below

void fail(benchmark::State& state, const std::string& what, bool skip) {
    {
        std::lock_guard lock(g_failures_mutex);
        g_failures[t_case] = what;
    }
    if (skip) {
        state.SkipWithError(what.c_str());
    }
}

// RegisterBenchmark, with the case's name made available to fail().
template <class Fn>
benchmark::internal::Benchmark* reg(const std::string& name, Fn fn) {
    return benchmark::RegisterBenchmark(name.c_str(), [name, fn](benchmark::State& state) {
        t_case = name;
        fn(state);
    });
}

// ------------------------------------------------------------------ receivers
// Single-threaded cases: one small object per receiver, written only by its own on().
struct Receiver {
    [[gnu::noinline]] void on(int v);
    std::uint64_t calls = 0;
    std::int64_t sum = 0;
};
void Receiver::on(int v) {
    ++calls;
    sum += v;
}

// Receivers of the value-returning cases (emit_values): the same work, and a result.
struct ValueReceiver {
    [[gnu::noinline]] int on(int v);
    std::uint64_t calls = 0;
    std::int64_t sum = 0;
};
int ValueReceiver::on(int v) {
    ++calls;
    sum += v;
    return v + 1;
}

template <class Rs>
std::uint64_t total_calls(const Rs& rs) {
    std::uint64_t n = 0;
    for (const auto& r : rs) {
        n += r.calls;
    }
    return n;
}
template <class Rs>
void reset_calls(Rs& rs) {
    for (auto& r : rs) {
        r.calls = 0;
    }
}

// Multithreaded cases: receivers are shared by the emitting threads, so each keeps one counter
// per thread, each on its own cache line, indexed by a thread_local index: no written cache line
// is shared across threads and the threads measure the library, not the receiver.
constexpr int kMaxThreads = 4;
thread_local int t_index = 0;

struct MtReceiver {
    [[gnu::noinline]] void on(int v);
    struct alignas(64) Cell {
        std::uint64_t calls = 0;
        std::int64_t sum = 0;
    };
    std::array<Cell, kMaxThreads> cells{};
};
void MtReceiver::on(int v) {
    Cell& c = cells[static_cast<std::size_t>(t_index)];
    ++c.calls;
    c.sum += v;
}

// ------------------------------------------------------------------ the libraries
// One adapter per library: connect(R*) -> handle, disconnect(handle), emit(int).
// All non-tocsin bindings are the same lambda calling R::on, which the compiler inlines into the
// library's type-erased invoker, leaving exactly the one real call to on().

template <class R>
struct Direct {  // baseline: a loop over object pointers
    static constexpr const char* name = "direct";
    using Handle = R*;
    std::vector<R*> targets;
    Handle connect(R* r) {
        targets.push_back(r);
        return r;
    }
    void disconnect(Handle h) { targets.erase(std::find(targets.begin(), targets.end(), h)); }
    void emit(int v) {
        for (R* r : targets) {
            r->on(v);
        }
    }
};

template <class R>
struct StdFunction {  // baseline: std::vector<std::function<void(int)>>; ids kept on the side
    static constexpr const char* name = "std_function";
    using Handle = std::uint64_t;
    std::vector<std::function<void(int)>> fns;
    std::vector<std::uint64_t> ids;  // parallel to fns, for an order-preserving erase by id
    std::uint64_t next_id = 0;
    Handle connect(R* r) {
        fns.emplace_back([r](int v) { r->on(v); });
        ids.push_back(next_id);
        return next_id++;
    }
    void disconnect(Handle h) {
        const auto i = std::find(ids.begin(), ids.end(), h) - ids.begin();
        ids.erase(ids.begin() + i);
        fns.erase(fns.begin() + i);
    }
    void emit(int v) {
        for (auto& f : fns) {
            f(v);
        }
    }
};

template <class R>
struct Boost {  // thread-safe default: boost::signals2::mutex
    static constexpr const char* name = "boost";
    using Handle = boost::signals2::connection;
    boost::signals2::signal<void(int)> sig;
    Handle connect(R* r) {
        return sig.connect([r](int v) { r->on(v); });
    }
    void disconnect(const Handle& h) { h.disconnect(); }
    void emit(int v) { sig(v); }
};

template <class R>
struct Sigc {  // libsigc++ 3 (not thread-safe)
    static constexpr const char* name = "sigc";
    using Handle = sigc::connection;
    sigc::signal<void(int)> sig;
    Handle connect(R* r) {
        return sig.connect([r](int v) { r->on(v); });
    }
    void disconnect(Handle& h) { h.disconnect(); }
    void emit(int v) { sig.emit(v); }
};

template <class R>
struct Tocsin {  // tocsin's member-function form (has an identity: (method, object))
    static constexpr const char* name = "tocsin";
    using Handle = tocsin::Connection;
    tocsin::Signal<void(int)> sig;
    Handle connect(R* r) { return sig.connect(&R::on, r); }
    void disconnect(const Handle& h) { h.disconnect(); }
    void emit(int v) { sig.send(tocsin::Sender{}, v); }
};

template <class R>
struct TocsinLambda {  // tocsin with the same lambda as the peers (no identity)
    static constexpr const char* name = "tocsin_lambda";
    using Handle = tocsin::Connection;
    tocsin::Signal<void(int)> sig;
    Handle connect(R* r) {
        return sig.connect([r](int v) { r->on(v); });
    }
    void disconnect(const Handle& h) { h.disconnect(); }
    void emit(int v) { sig.send(tocsin::Sender{}, v); }
};

template <class R>
struct TocsinByReceiver {  // Django's style: disconnect(method, object), no handle kept
    static constexpr const char* name = "tocsin_by_receiver";
    using Handle = R*;
    tocsin::Signal<void(int)> sig;
    Handle connect(R* r) {
        sig.connect(&R::on, r);
        return r;
    }
    void disconnect(Handle r) { sig.disconnect(&R::on, r); }
    void emit(int v) { sig.send(tocsin::Sender{}, v); }
};

// The value-returning libraries (emit_values): emit(v) collects every receiver's result and
// checks the last one, so that no library can drop them. Their emit() is not inlined, so that
// callgrind counts one send as emit's inclusive cost per call.
struct ValuesCheck {
    static void check(std::size_t n, int last, int v) {
        if (n != 0 && last != v + 1) {
            std::fprintf(stderr, "emit_values: wrong result %d for %d\n", last, v);
            std::abort();
        }
    }
};

template <class R>
struct StdFunctionValues {  // baseline: std::function<int(int)> results pushed into a vector
    static constexpr const char* name = "std_function";
    std::vector<std::function<int(int)>> fns;
    void connect(R* r) {
        fns.emplace_back([r](int v) { return r->on(v); });
    }
    [[gnu::noinline]] void emit(int v) {
        std::vector<int> out;
        out.reserve(fns.size());
        for (auto& f : fns) {
            out.push_back(f(v));
        }
        benchmark::DoNotOptimize(out.data());
        ValuesCheck::check(out.size(), out.empty() ? 0 : out.back(), v);
    }
};

// Boost.Signals2's combiner that collects every slot's result.
struct CollectInts {
    using result_type = std::vector<int>;
    template <class It>
    result_type operator()(It first, It last) const {
        result_type out;
        for (; first != last; ++first) {
            out.push_back(*first);
        }
        return out;
    }
};

template <class R>
struct BoostValues {
    static constexpr const char* name = "boost";
    boost::signals2::signal<int(int), CollectInts> sig;
    void connect(R* r) {
        sig.connect([r](int v) { return r->on(v); });
    }
    [[gnu::noinline]] void emit(int v) {
        const std::vector<int> out = sig(v);
        benchmark::DoNotOptimize(out.data());
        ValuesCheck::check(out.size(), out.empty() ? 0 : out.back(), v);
    }
};

template <class R>
struct TocsinValues {  // Signal<int(int)>::send: each receiver's Response
    static constexpr const char* name = "tocsin";
    tocsin::Signal<int(int)> sig;
    void connect(R* r) {
        sig.connect([r](int v) { return r->on(v); });
    }
    [[gnu::noinline]] void emit(int v) {
        const auto out = sig.send(tocsin::Sender{}, v);
        benchmark::DoNotOptimize(out.data());
        ValuesCheck::check(out.size(), out.empty() ? 0 : out.back().value, v);
    }
};

template <class R>
struct TocsinRobustValues {  // send_robust: each receiver's Outcome
    static constexpr const char* name = "tocsin_robust";
    tocsin::Signal<int(int)> sig;
    void connect(R* r) {
        sig.connect([r](int v) { return r->on(v); });
    }
    [[gnu::noinline]] void emit(int v) {
        const auto out = sig.send_robust(tocsin::Sender{}, v);
        benchmark::DoNotOptimize(out.data());
        ValuesCheck::check(out.size(), out.empty() ? 0 : *out.back().value, v);
    }
};

template <class Lib>
constexpr bool is_tocsin =
    std::is_same_v<Lib, Tocsin<Receiver>> || std::is_same_v<Lib, TocsinLambda<Receiver>> ||
    std::is_same_v<Lib, TocsinByReceiver<Receiver>>;

// Heap allocations per send on this thread; tocsin's must be 0.
void report_allocs(benchmark::State& state, std::uint64_t allocs, bool must_be_zero) {
    const double per_send = state.iterations() == 0 ? 0.0
                                                    : static_cast<double>(allocs) /
                                                          static_cast<double>(state.iterations());
    state.counters["allocs_per_send"] = per_send;
    if (must_be_zero && allocs != 0) {
        fail(state,
             "tocsin send allocated " + std::to_string(allocs) + " times in " +
                 std::to_string(state.iterations()) + " sends",
             false);
    }
}

// ------------------------------------------------------------------ 1. emit
template <class Lib, class R = Receiver>
void bm_emit(benchmark::State& state, std::size_t n) {
    std::vector<R> receivers(n);
    Lib lib;
    for (auto& r : receivers) {
        lib.connect(&r);
    }
    lib.emit(-1);  // warm-up: lazy one-time set-up (if any) is not counted as per-send cost
    reset_calls(receivers);

    int i = 0;
    const std::uint64_t allocs_before = t_allocs;
    for (auto _ : state) {
        lib.emit(i);
        ++i;
        benchmark::ClobberMemory();
    }
    const std::uint64_t allocs = t_allocs - allocs_before;

    if (total_calls(receivers) != static_cast<std::uint64_t>(state.iterations()) * n) {
        fail(state, "wrong number of receiver calls", true);
        return;
    }
    report_allocs(state, allocs, is_tocsin<Lib>);
}

// ------------------------------------------------------------------ 2. connect / disconnect
// A signal with 10 receivers; each iteration connects a batch of 100 more, then disconnects them.
// Only one half is timed (manual time, no PauseTiming): Time = one batch of 100, per_op = one
// connect (or disconnect), items_per_second = operations per second. Timed disconnects go in
// connection order (the worst case for vectors); untimed ones in reverse, to keep runs short.
constexpr std::size_t kBackground = 10;
constexpr std::size_t kBatch = 100;

enum class Half { connect, disconnect };

template <class Lib>
void bm_connection(benchmark::State& state, Half timed) {
    using Clock = std::chrono::steady_clock;
    std::vector<Receiver> background(kBackground);
    std::vector<Receiver> batch(kBatch);
    Lib lib;
    for (auto& r : background) {
        lib.connect(&r);
    }
    std::vector<typename Lib::Handle> handles;
    handles.reserve(kBatch);

    for (auto _ : state) {
        const auto t0 = Clock::now();
        for (auto& r : batch) {
            handles.push_back(lib.connect(&r));
        }
        const auto t1 = Clock::now();
        if (timed == Half::disconnect) {
            for (auto& h : handles) {  // timed: in connection order (the worst case for vectors)
                lib.disconnect(h);
            }
        } else {
            for (auto h = handles.rbegin(); h != handles.rend(); ++h) {  // untimed: cheapest order
                lib.disconnect(*h);
            }
        }
        const auto t2 = Clock::now();
        handles.clear();
        benchmark::ClobberMemory();
        const auto elapsed = timed == Half::connect ? t1 - t0 : t2 - t1;
        state.SetIterationTime(std::chrono::duration<double>(elapsed).count());
    }

    lib.emit(1);  // still exactly the 10 background receivers?
    if (total_calls(background) != kBackground || total_calls(batch) != 0) {
        fail(state, "connect/disconnect left the signal in a wrong state", true);
        return;
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kBatch));
    state.counters["per_op"] = benchmark::Counter(
        static_cast<double>(kBatch),
        benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// ------------------------------------------------------------------ 3. filtered send
// 1,000 receivers over 100 sender objects, 10 per sender, connected round-robin (receiver j hears
// sender j % 100). One send from sender kHit calls its 10 receivers.
struct Model {
    int id = 0;
};
constexpr std::size_t kSenders = 100;
constexpr std::size_t kPerSender = 10;
constexpr std::size_t kHit = 42;

struct FilteredFixture {
    std::vector<Model> senders = std::vector<Model>(kSenders);
    std::vector<Receiver> receivers = std::vector<Receiver>(kSenders * kPerSender);

    // the receivers that hear sender kHit
    std::vector<Receiver*> hit() {
        std::vector<Receiver*> out;
        for (std::size_t j = kHit; j < receivers.size(); j += kSenders) {
            out.push_back(&receivers[j]);
        }
        return out;
    }
    // after `sends` sends from kHit: the 10 were called `sends` times each, nobody else was
    bool check(std::uint64_t sends) const {
        for (std::size_t j = 0; j < receivers.size(); ++j) {
            if (receivers[j].calls != (j % kSenders == kHit ? sends : 0)) {
                return false;
            }
        }
        return true;
    }
};

void bm_filtered_direct(benchmark::State& state) {
    FilteredFixture fx;
    std::vector<Receiver*> targets = fx.hit();
    int i = 0;
    for (auto _ : state) {
        for (Receiver* r : targets) {
            r->on(i);
        }
        ++i;
        benchmark::ClobberMemory();
    }
    if (!fx.check(static_cast<std::uint64_t>(state.iterations()))) {
        fail(state, "wrong receivers called", true);
    }
}

// hit = true: send from sender kHit (10 receivers); false: from a sender nobody listens to.
void bm_filtered_tocsin(benchmark::State& state, bool hit) {
    FilteredFixture fx;
    tocsin::Signal<void(int)> sig("filtered");
    for (std::size_t j = 0; j < fx.receivers.size(); ++j) {
        sig.connect(&Receiver::on, &fx.receivers[j],
                    {.sender = tocsin::Sender::object(&fx.senders[j % kSenders])});
    }
    Model stranger;
    const Model* from = hit ? &fx.senders[kHit] : &stranger;
    sig.send(tocsin::Sender::object(from), -1);  // warm-up
    reset_calls(fx.receivers);

    int i = 0;
    const std::uint64_t allocs_before = t_allocs;
    for (auto _ : state) {
        sig.send(tocsin::Sender::object(from), i);
        ++i;
        benchmark::ClobberMemory();
    }
    const std::uint64_t allocs = t_allocs - allocs_before;
    if (!fx.check(hit ? static_cast<std::uint64_t>(state.iterations()) : 0)) {
        fail(state, "wrong receivers called", true);
        return;
    }
    report_allocs(state, allocs, true);
}

// Peers have no sender filtering: the equivalent is one signal per sender, found by address.
template <class Sig>
void bm_filtered_peer(benchmark::State& state) {
    FilteredFixture fx;
    std::unordered_map<const void*, std::unique_ptr<Sig>> by_sender;
    for (const auto& s : fx.senders) {
        by_sender.emplace(&s, std::make_unique<Sig>());
    }
    for (std::size_t j = 0; j < fx.receivers.size(); ++j) {
        Receiver* r = &fx.receivers[j];
        by_sender.at(&fx.senders[j % kSenders])->connect([r](int v) { r->on(v); });
    }
    const void* from = &fx.senders[kHit];
    benchmark::DoNotOptimize(from);
    int i = 0;
    for (auto _ : state) {
        auto it = by_sender.find(from);
        if (it != by_sender.end()) {
            (*it->second)(i);
        }
        ++i;
        benchmark::ClobberMemory();
    }
    if (!fx.check(static_cast<std::uint64_t>(state.iterations()))) {
        fail(state, "wrong receivers called", true);
    }
}

// ------------------------------------------------------------------ 3b. connect + disconnect pair
// A signal holding N receivers, receiver j for sender object j % 1,000 (so at N = 10 ten senders
// have receivers, from N = 1,000 every one). Each iteration connects one more receiver for one
// of those senders (rotating) and disconnects it: what a program that connects per object pays.
// Peers have no sender filtering: one signal holding the N receivers.
constexpr std::size_t kPairSenders = 1000;

void bm_pair_tocsin(benchmark::State& state, std::size_t n) {
    std::vector<Model> senders(kPairSenders);
    std::vector<Receiver> receivers(n);
    tocsin::Signal<void(int)> sig("pair");
    for (std::size_t j = 0; j < n; ++j) {
        sig.connect(&Receiver::on, &receivers[j],
                    {.sender = tocsin::Sender::object(&senders[j % kPairSenders])});
    }
    const std::size_t used = std::min(n, kPairSenders);
    Receiver extra;
    std::size_t k = 0;
    for (auto _ : state) {
        const tocsin::Sender from = tocsin::Sender::object(&senders[k]);
        const tocsin::Connection c = sig.connect(&Receiver::on, &extra, {.sender = from});
        c.disconnect();
        k = k + 1 == used ? 0 : k + 1;
    }
    sig.send(tocsin::Sender::object(&senders[0]), 1);
    if (extra.calls != 0 || receivers[0].calls != 1 || sig.receiver_count() != n) {
        fail(state, "connect/disconnect pairs left the signal in a wrong state", true);
    }
}

template <class Sig>
void bm_pair_peer(benchmark::State& state, std::size_t n) {
    std::vector<Receiver> receivers(n);
    Sig sig;
    for (auto& r : receivers) {
        Receiver* p = &r;
        sig.connect([p](int v) { p->on(v); });
    }
    Receiver extra;
    Receiver* e = &extra;
    for (auto _ : state) {
        auto c = sig.connect([e](int v) { e->on(v); });
        c.disconnect();
    }
    sig(1);
    if (extra.calls != 0 || receivers[0].calls != 1) {
        fail(state, "connect/disconnect pairs left the signal in a wrong state", true);
    }
}

// ------------------------------------------------------------------ 3c. model-signal shape
// What a typed model-signal receiver (post_save.connect<User>(f), f taking User&) costs over a
// plain one, with the model layer's shapes but no database: a lazily created signal of
// void(ModelBase&, const Event&), sent from the model's type, and ModelSignal's adapter.
struct ModelBaseLike {
    virtual ~ModelBaseLike() = default;
    std::int64_t id = 0;
};
struct UserLike : ModelBaseLike {
    std::int64_t saves = 0;
};
struct EventLike {
    bool created = false;
};
struct LazyModelSignal : tocsin::detail::LazySignal<void(ModelBaseLike&, const EventLike&)> {
    constexpr LazyModelSignal() : LazySignal("bench.post_save") {}
};
constinit LazyModelSignal g_model_signal;

[[gnu::noinline]] void plain_model_receiver(ModelBaseLike& m, const EventLike&) {
    ++static_cast<UserLike&>(m).saves;
}
[[gnu::noinline]] void typed_model_receiver(UserLike& u, const EventLike&) {
    ++u.saves;
}
template <class T, class F>
struct TypedLike {  // ModelSignal's Typed<T, F>
    F f;
    void operator()(const tocsin::Sender&, ModelBaseLike& instance, const EventLike& event) {
        f(static_cast<T&>(instance), event);
    }
};

enum class ModelCase { plain_any, plain_model, typed };

void bm_model_signal(benchmark::State& state, ModelCase which) {
    auto& sig = g_model_signal.signal();
    const tocsin::Sender user_type = tocsin::Sender::of<UserLike>();
    tocsin::ScopedConnection c;
    switch (which) {
        case ModelCase::plain_any:
            c = sig.connect(&plain_model_receiver);
            break;
        case ModelCase::plain_model:
            c = sig.connect(&plain_model_receiver, {.sender = user_type});
            break;
        case ModelCase::typed:
            c = sig.connect(
                TypedLike<UserLike, void (*)(UserLike&, const EventLike&)>{&typed_model_receiver},
                {.sender = user_type});
            break;
    }
    UserLike user;
    const EventLike event{true};
    const std::uint64_t allocs_before = t_allocs;
    for (auto _ : state) {
        g_model_signal.signal().send(user_type, user, event);
        benchmark::ClobberMemory();
    }
    const std::uint64_t allocs = t_allocs - allocs_before;
    if (user.saves != state.iterations()) {
        fail(state, "wrong number of receiver calls", true);
        return;
    }
    report_allocs(state, allocs, true);
}

// ------------------------------------------------------------------ 4. 1 vs 2 threads
// One signal per library, shared by the threads, built once (thread-safe static) and kept.
template <class Lib>
struct MtFixture {
    static constexpr std::size_t kReceivers = 10;
    std::vector<MtReceiver> receivers = std::vector<MtReceiver>(kReceivers);
    Lib lib;
    MtFixture() {
        for (auto& r : receivers) {
            lib.connect(&r);
        }
    }
    static MtFixture& get() {
        static auto* fx = new MtFixture();  // never destroyed: threads of later runs share it
        return *fx;
    }
    std::uint64_t calls(int thread) const {
        std::uint64_t n = 0;
        for (const auto& r : receivers) {
            n += r.cells[static_cast<std::size_t>(thread)].calls;
        }
        return n;
    }
};

template <class Lib>
void bm_emit_mt(benchmark::State& state) {
    if (state.thread_index() >= kMaxThreads) {
        state.SkipWithError("too many threads for MtReceiver");
        return;
    }
    t_index = state.thread_index();
    auto& fx = MtFixture<Lib>::get();
    const std::uint64_t calls_before = fx.calls(t_index);
    int i = 0;
    for (auto _ : state) {
        fx.lib.emit(i);
        ++i;
        benchmark::ClobberMemory();
    }
    const std::uint64_t calls = fx.calls(t_index) - calls_before;
    if (calls != static_cast<std::uint64_t>(state.iterations()) * MtFixture<Lib>::kReceivers) {
        fail(state, "wrong number of receiver calls", true);
        return;
    }
    state.SetItemsProcessed(state.iterations());
}

// ------------------------------------------------------------------ paired emit
// Each iteration times one block of kPairBlock sends of A and one of B (CPU time of this thread),
// alternating which goes first; the counters are the medians over the iterations.
constexpr int kPairBlock = 20000;

double thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

template <class Lib>
double time_block(Lib& lib, int& value) {
    const double t0 = thread_cpu_ns();
    for (int k = 0; k < kPairBlock; ++k) {
        lib.emit(value++);
        benchmark::ClobberMemory();
    }
    return (thread_cpu_ns() - t0) / kPairBlock;
}

double median_of(std::vector<double> v) {
    if (v.empty()) {
        return 0.0;
    }
    std::sort(v.begin(), v.end());
    const std::size_t m = v.size() / 2;
    return v.size() % 2 == 1 ? v[m] : (v[m - 1] + v[m]) / 2.0;
}

template <class A, class B>
void bm_emit_paired(benchmark::State& state, std::size_t n) {
    std::vector<Receiver> ra(n);
    std::vector<Receiver> rb(n);
    A a;
    B b;
    for (std::size_t j = 0; j < n; ++j) {
        a.connect(&ra[j]);
        b.connect(&rb[j]);
    }
    int value = 0;
    (void)time_block(a, value);  // warm-up
    (void)time_block(b, value);
    reset_calls(ra);
    reset_calls(rb);
    std::vector<double> a_ns;
    std::vector<double> b_ns;
    std::vector<double> ratios;
    bool a_first = true;
    for (auto _ : state) {
        double ta = 0;
        double tb = 0;
        if (a_first) {
            ta = time_block(a, value);
            tb = time_block(b, value);
        } else {
            tb = time_block(b, value);
            ta = time_block(a, value);
        }
        a_first = !a_first;
        a_ns.push_back(ta);
        b_ns.push_back(tb);
        ratios.push_back(tb > 0 ? ta / tb : 0.0);
    }
    const auto sends = static_cast<std::uint64_t>(state.iterations()) * kPairBlock * n;
    if (total_calls(ra) != sends || total_calls(rb) != sends) {
        fail(state, "wrong number of receiver calls", true);
        return;
    }
    state.counters["ratio"] = median_of(ratios);
    state.counters["a_ns"] = median_of(a_ns);
    state.counters["b_ns"] = median_of(b_ns);
}

// ------------------------------------------------------------------ observed emit
// emit/tocsin_lambda/<n> while a send observer is set: what the profiler costs when on. A send
// then allocates (the sender's and receivers' names in the events): not checked.
enum class ObserverCase { noop, stats };

void bm_emit_observed(benchmark::State& state, ObserverCase which, std::size_t n) {
    std::vector<Receiver> receivers(n);
    TocsinLambda<Receiver> lib;
    for (auto& r : receivers) {
        lib.connect(&r);
    }
    std::shared_ptr<tocsin::SendObserver> observer;
    if (which == ObserverCase::noop) {
        observer = std::make_shared<tocsin::SendObserver>();
    } else {
        observer = std::make_shared<tocsin::ReceiverStats>();
    }
    tocsin::set_send_observer(observer);
    lib.emit(-1);
    reset_calls(receivers);
    int i = 0;
    for (auto _ : state) {
        lib.emit(i);
        ++i;
        benchmark::ClobberMemory();
    }
    tocsin::set_send_observer(nullptr);
    if (total_calls(receivers) != static_cast<std::uint64_t>(state.iterations()) * n) {
        fail(state, "wrong number of receiver calls", true);
    }
}

// ------------------------------------------------------------------ registration
template <class... Libs>
void register_emit(std::size_t n) {
    (reg("emit/" + std::string(Libs::name) + "/" + std::to_string(n),
         [n](benchmark::State& s) { bm_emit<Libs>(s, n); }),
     ...);
}

template <class... Libs>
void register_emit_values(std::size_t n) {
    (reg("emit_values/" + std::string(Libs::name) + "/" + std::to_string(n),
         [n](benchmark::State& s) { bm_emit<Libs, ValueReceiver>(s, n); }),
     ...);
}

template <class... Libs>
void register_connection(Half half, const std::string& prefix) {
    (reg(prefix + "/" + Libs::name, [half](benchmark::State& s) { bm_connection<Libs>(s, half); })
         ->UseManualTime(),
     ...);
}

template <class... Libs>
void register_emit_mt() {
    (reg("emit_mt/" + std::string(Libs::name) + "/10", bm_emit_mt<Libs>)
         ->Threads(1)
         ->Threads(2)
         ->UseRealTime(),
     ...);
}

void register_all() {
    using R = Receiver;
    for (std::size_t n : {0, 1, 10, 100}) {
        register_emit<Direct<R>, StdFunction<R>, Boost<R>, Sigc<R>, Tocsin<R>, TocsinLambda<R>>(n);
    }

    using V = ValueReceiver;
    for (std::size_t n : {0, 1, 10}) {
        register_emit_values<StdFunctionValues<V>, BoostValues<V>, TocsinValues<V>,
                             TocsinRobustValues<V>>(n);
    }

    register_connection<Direct<R>, StdFunction<R>, Boost<R>, Sigc<R>, Tocsin<R>, TocsinLambda<R>>(
        Half::connect, "connect");
    register_connection<Direct<R>, StdFunction<R>, Boost<R>, Sigc<R>, Tocsin<R>,
                        TocsinByReceiver<R>>(Half::disconnect, "disconnect");

    reg("filtered/direct/10", bm_filtered_direct);
    reg("filtered/tocsin/10of1000", [](benchmark::State& s) { bm_filtered_tocsin(s, true); });
    reg("filtered/tocsin/0of1000", [](benchmark::State& s) { bm_filtered_tocsin(s, false); });
    reg("filtered/boost_per_sender/10of1000", bm_filtered_peer<boost::signals2::signal<void(int)>>);
    reg("filtered/sigc_per_sender/10of1000", bm_filtered_peer<sigc::signal<void(int)>>);

    for (std::size_t n : {10, 1000, 10000}) {
        const std::string tail = "/" + std::to_string(n);
        reg("connect_pair/boost" + tail,
            [n](benchmark::State& s) { bm_pair_peer<boost::signals2::signal<void(int)>>(s, n); });
        reg("connect_pair/sigc" + tail,
            [n](benchmark::State& s) { bm_pair_peer<sigc::signal<void(int)>>(s, n); });
        reg("connect_pair/tocsin" + tail, [n](benchmark::State& s) { bm_pair_tocsin(s, n); });
    }

    reg("model_signal/plain_any",
        [](benchmark::State& s) { bm_model_signal(s, ModelCase::plain_any); });
    reg("model_signal/plain_model",
        [](benchmark::State& s) { bm_model_signal(s, ModelCase::plain_model); });
    reg("model_signal/typed", [](benchmark::State& s) { bm_model_signal(s, ModelCase::typed); });

    for (std::size_t n : {0, 1, 10, 100}) {
        const std::string tail = "/" + std::to_string(n);
        reg("emit_paired/tocsin_lambda_over_std_function" + tail, [n](benchmark::State& s) {
            bm_emit_paired<TocsinLambda<R>, StdFunction<R>>(s, n);
        })->Iterations(21);
        reg("emit_paired/boost_over_tocsin_lambda" + tail, [n](benchmark::State& s) {
            bm_emit_paired<Boost<R>, TocsinLambda<R>>(s, n);
        })->Iterations(21);
    }

    for (std::size_t n : {1, 10}) {
        reg("emit_observed/noop/" + std::to_string(n),
            [n](benchmark::State& s) { bm_emit_observed(s, ObserverCase::noop, n); });
        reg("emit_observed/stats/" + std::to_string(n),
            [n](benchmark::State& s) { bm_emit_observed(s, ObserverCase::stats, n); });
    }

    using M = MtReceiver;
    register_emit_mt<Direct<M>, StdFunction<M>, Boost<M>, Tocsin<M>>();
}

}  // namespace

int main(int argc, char** argv) {
    register_all();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    std::lock_guard lock(g_failures_mutex);
    for (const auto& [name, what] : g_failures) {
        std::fprintf(stderr, "FAILED %s: %s\n", name.c_str(), what.c_str());
    }
    return g_failures.empty() ? 0 : 1;
}
