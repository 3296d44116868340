// The worker program of the many-processes test (multiprocess_test.cpp), run as its own process:
//
//   worker mix  <host> <port> <user> <dbname> <worker> <threads> <iterations>
//       each thread, each iteration: writes a Parent and its children in one transaction;
//       increments a Counter read with select_for_update(); every second iteration removes its
//       oldest Parent (the children by cascade). A failure that says it "may be retried"
//       (deadlock, serialization failure) is retried and counted; any other error ends the
//       worker with status 1. Prints "created C removed R retries T increments i0 i1 i2 i3".
//   worker hold <host> <port> <user> <dbname> <name>
//       writes Parent <name> and part of its children in a transaction, prints "mid", and
//       sleeps (to be killed with SIGKILL before it commits).
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "models.hpp"
#include "tocsin/db.hpp"

namespace {

using mp::Child;
using mp::Counter;
using mp::Parent;

struct Tally {
    long created = 0;
    long removed = 0;
    long retries = 0;
    std::array<long, mp::counters> increments{};
};

/// Runs @p fn until it succeeds; a failure the database says may be retried is counted and run
/// again, anything else propagates.
template <class F>
void retrying(Tally& tally, F&& fn) {
    for (;;) {
        try {
            fn();
            return;
        } catch (const tocsin::db::OperationalError& e) {
            if (std::string(e.what()).find("may be retried") == std::string::npos) {
                throw;
            }
            ++tally.retries;
        }
    }
}

void mix_thread(int worker, int thread, int iterations, Tally& tally) {
    std::deque<std::int64_t> kept;
    for (int i = 0; i < iterations; ++i) {
        const std::string name =
            "w" + std::to_string(worker) + "t" + std::to_string(thread) + "i" + std::to_string(i);
        std::int64_t id = 0;
        retrying(tally, [&] {
            tocsin::atomic([&] {
                Parent p = Parent::objects().create({.name = name, .worker = worker});
                for (int n = 0; n < mp::children_per_parent; ++n) {
                    Child::objects().create({.parent = p, .n = n});
                }
                id = *p.id;
            });
        });
        ++tally.created;
        kept.push_back(id);

        const int c = (i * 7 + thread + worker) % mp::counters;
        retrying(tally, [&] {
            tocsin::atomic([&] {
                Counter counter = Counter::objects().select_for_update().get(
                    tocsin::where(&Counter::name) == "c" + std::to_string(c));
                counter.value += 1;
                counter.save({.update_fields = {"value"}});
            });
        });
        ++tally.increments[static_cast<std::size_t>(c)];

        if (i % 2 == 1) {
            const std::int64_t oldest = kept.front();
            kept.pop_front();
            retrying(tally, [&] {
                tocsin::atomic([&] {
                    Parent::objects()
                        .filter(tocsin::where(&tocsin::ModelBase::id) == oldest)
                        .remove();
                });
            });
            ++tally.removed;
        }
    }
}

int mix(int worker, int threads, int iterations) {
    std::vector<Tally> tallies(static_cast<std::size_t>(threads));
    std::vector<std::string> errors;
    std::mutex mutex;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            try {
                mix_thread(worker, t, iterations, tallies[static_cast<std::size_t>(t)]);
            } catch (const std::exception& e) {
                const std::lock_guard<std::mutex> lock(mutex);
                errors.emplace_back(e.what());
            }
            tocsin::db::close_all();
        });
    }
    for (auto& t : pool) {
        t.join();
    }
    Tally total;
    for (const auto& t : tallies) {
        total.created += t.created;
        total.removed += t.removed;
        total.retries += t.retries;
        for (std::size_t c = 0; c < total.increments.size(); ++c) {
            total.increments[c] += t.increments[c];
        }
    }
    std::printf("created %ld removed %ld retries %ld increments", total.created, total.removed,
                total.retries);
    for (const long n : total.increments) {
        std::printf(" %ld", n);
    }
    std::printf("\n");
    for (const auto& e : errors) {
        std::fprintf(stderr, "worker %d: %s\n", worker, e.c_str());
    }
    return errors.empty() ? 0 : 1;
}

int hold(const std::string& name) {
    tocsin::atomic([&] {
        Parent p = Parent::objects().create({.name = name, .worker = -1});
        Child::objects().create({.parent = p, .n = 0});
        Child::objects().create({.parent = p, .n = 1});
        std::printf("mid\n");
        std::fflush(stdout);
        std::this_thread::sleep_for(std::chrono::seconds(60));  // killed before this ends
        Child::objects().create({.parent = p, .n = 2});
    });
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 6) {
        std::fprintf(stderr,
                     "usage: %s mix|hold <host> <port> <user> <dbname> [<worker> <threads> "
                     "<iterations> | <name>]\n",
                     argv[0]);
        return 2;
    }
    const std::string mode = argv[1];
    try {
        mp::build_models();
        tocsin::db::configure({{"default",
                                {.engine = "postgresql",
                                 .name = argv[5],
                                 .user = argv[4],
                                 .host = argv[2],
                                 .port = std::atoi(argv[3])}}});
        if (mode == "mix" && argc == 9) {
            return mix(std::atoi(argv[6]), std::atoi(argv[7]), std::atoi(argv[8]));
        }
        if (mode == "hold" && argc == 7) {
            return hold(argv[6]);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "worker: %s\n", e.what());
        return 1;
    }
    std::fprintf(stderr, "%s: bad arguments\n", argv[0]);
    return 2;
}
