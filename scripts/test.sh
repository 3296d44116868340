#!/usr/bin/env bash
# tocsin's whole check, as CI runs it (`bash .ci/run` calls this):
#
#   0. packages (apt-get, only when something is missing) and the clang-format check
#   1. RelWithDebInfo build in build/,         ctest (everything); tocsin as shared libraries
#      (BUILD_SHARED_LIBS=ON: tocsin.exported_symbols checks what they export; the static
#      library is built and tested by step 2 and by tocsin.fetchcontent)
#   2. ASan+UBSan build in build-asan/,        ctest (everything); static libraries, with the
#      dispatch core's portable barrier (TOCSIN_PORTABLE_BARRIER=ON) instead of membarrier
#   3. TSan build in build-tsan/ of the binaries labelled concurrency, ctest -L concurrency
#   4. libFuzzer build in build-fuzz/ (clang), loaddata_fuzz for 30 s on a copy of
#      fuzz/corpus/loaddata (must exit 0: no crash, leak or sanitizer report)
#
# Steps 1 and 2 include the tests labelled `postgresql`: their CTest fixture starts a throw-away
# PostgreSQL cluster (tests/support/pg_cluster.sh; the server from the Debian package postgresql)
# and removes it at the end. They fail when it cannot start; TOCSIN_SKIP_POSTGRESQL=1 makes them
# skip instead (for a developer without the server; CI does not set it).
#
# Stops at the first failure and prints a summary: each step's wall time and the CPU time
# (user+sys) of its processes, which stays comparable on a loaded machine.
#
# Compile flags (CI has no ccache, so every run is a cold build; docs/building.md has the
# measurements): the default build keeps -O2 with line tables only (-g1); the ASan+UBSan build
# is unoptimised (-O0 -g1: the instrumentation makes every optimisation pass slow, and -O0
# compiles in 55-60% of the CPU time of -O1 while the tests, mostly process start-up and
# database work, run about as fast); the TSan and fuzz builds use -O1 -g1 (TSan and libFuzzer
# need the speed). Everything links with lld when it is installed. The libraries and the test
# binaries use precompiled headers (TOCSIN_PCH, TOCSIN_TEST_PCH: on when there is no compiler
# launcher such as ccache). The test files are compiled in unity batches (TOCSIN_UNITY_TESTS: a
# layer's files with the same labels in one binary, several files per translation unit, so the
# template code they share is compiled once per batch); the ctest names and labels are the same.
#
# Environment:
#   TOCSIN_BUILD_PREFIX=build    build directories are <prefix>, <prefix>-asan, <prefix>-tsan
#   TOCSIN_SKIP_SANITIZERS=1     skip steps 2, 3 and 4 (quick local runs; CI does not set it)
#   TOCSIN_SKIP_FUZZ=1           skip step 4 (the fuzz build and run)
#   TOCSIN_FUZZ_SECONDS=30       how long step 4 fuzzes
#   TOCSIN_JOBS=2                parallel build and test jobs
#   TOCSIN_SKIP_APT=1            do not touch packages
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=install-deps.sh
source scripts/install-deps.sh

PREFIX=${TOCSIN_BUILD_PREFIX:-build}
JOBS=${TOCSIN_JOBS:-2}
SKIP_SANITIZERS=${TOCSIN_SKIP_SANITIZERS:-0}
SKIP_FUZZ=${TOCSIN_SKIP_FUZZ:-0}
FUZZ_SECONDS=${TOCSIN_FUZZ_SECONDS:-30}

# Sanitizer run-time options (callers may override them).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

# Flags per kind of build (see the header comment).
OPT_DEFAULT="-O2 -g1 -DNDEBUG"
OPT_ASAN="-O0 -g1 -DNDEBUG"
OPT_SANITIZE="-O1 -g1 -DNDEBUG"
LINK_FLAGS=()
if command -v ld.lld >/dev/null 2>&1; then
    LINK_FLAGS=(-DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld -DCMAKE_SHARED_LINKER_FLAGS=-fuse-ld=lld
        -DCMAKE_MODULE_LINKER_FLAGS=-fuse-ld=lld)
fi

# ---------------------------------------------------------------- summary
SUMMARY=()
CURRENT=""
STARTED_AT=$SECONDS
INTERRUPTED=""
print_summary() {
    local rc=$?
    if [[ -n $INTERRUPTED && $rc -eq 0 ]]; then
        rc=1
    fi
    rm -f "${CPU_TIMES_FILE:-}"
    echo
    echo "================================ tocsin test summary"
    local line
    for line in "${SUMMARY[@]}"; do
        echo "  $line"
    done
    if [[ $rc -ne 0 ]]; then
        echo "  FAILED  ${CURRENT:-(setup)}${INTERRUPTED:+ (interrupted by $INTERRUPTED)}"
        echo "  result: FAILED (exit $rc) after $((SECONDS - STARTED_AT))s"
    else
        echo "  result: OK in $((SECONDS - STARTED_AT))s"
    fi
}
trap print_summary EXIT
# Killed (a CI time limit, ^C): say so, with the step it stopped in, and fail.
on_signal() {
    INTERRUPTED=$1
    trap - "${1#SIG}"
    exit $((128 + $2))
}
trap 'on_signal SIGTERM 15' TERM
trap 'on_signal SIGINT 2' INT
trap 'on_signal SIGHUP 1' HUP

# children_cpu: sets CHILDREN_CPU_MS to the CPU time (user+sys, milliseconds) used so far by
# this shell's finished children (and theirs, when waited for: ninja's compilers, ctest's
# tests). `times` must run in this shell itself: in a command substitution it would report a
# new subshell, whose children's times start at zero (the bug that printed "cpu 0s").
CPU_TIMES_FILE=$(mktemp)
children_cpu() {
    times >"$CPU_TIMES_FILE"
    CHILDREN_CPU_MS=$(tail -n 1 "$CPU_TIMES_FILE" | awk '{
        t = 0
        for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] }
        printf "%d", t * 1000 + 0.5 }')
}

# step <description> <command...>: run one step, record its wall and CPU time.
step() {
    local what=$1
    shift
    CURRENT=$what
    echo
    echo "==> $what"
    local t0=$SECONDS c0
    children_cpu
    c0=$CHILDREN_CPU_MS
    "$@"
    children_cpu
    SUMMARY+=("ok      $what ($((SECONDS - t0))s, cpu $(((CHILDREN_CPU_MS - c0 + 500) / 1000))s)")
    CURRENT=""
}

skip() {
    SUMMARY+=("skipped $1")
}

# ---------------------------------------------------------------- helpers
# configure <build dir> <cmake args...>
configure() {
    local dir=$1
    shift
    # A build dir made with another generator cannot be reconfigured with Ninja: start afresh.
    if [[ -f "$dir/CMakeCache.txt" ]] &&
        ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$dir/CMakeCache.txt"; then
        rm -rf "$dir"
    fi
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${LINK_FLAGS[@]}" "$@"
}

build() {
    cmake --build "$1" --parallel "$JOBS"
}

format_check() {
    local dirs=() d
    for d in include src tests bench examples fuzz; do
        [[ -d $d ]] && dirs+=("$d")
    done
    local files=()
    if [[ ${#dirs[@]} -gt 0 ]]; then
        mapfile -d '' files < <(find "${dirs[@]}" -type f \( -name '*.hpp' -o -name '*.cpp' \) -print0 | sort -z)
    fi
    if [[ ${#files[@]} -eq 0 ]]; then
        echo "no sources to check"
        return 0
    fi
    echo "clang-format --dry-run -Werror on ${#files[@]} files"
    clang-format --dry-run -Werror "${files[@]}"
}

# TSan's runtime refuses some address-space layouts ("FATAL: ThreadSanitizer: unexpected
# memory mapping", with high vm.mmap_rnd_bits on newer kernels). Probe with a tiny program;
# if it only runs with ASLR off, run the TSan build (gtest discovery runs the test binaries)
# and ctest under `setarch -R`. Sets TSAN_WRAP.
TSAN_WRAP=()
tsan_probe() {
    local dir="$PREFIX-tsan/tsan-probe"
    mkdir -p "$dir"
    cat >"$dir/probe.cpp" <<'CPP'
#include <thread>
int main() {
    int x = 0;
    std::thread t([&x] { x = 1; });
    t.join();
    return x == 1 ? 0 : 1;
}
CPP
    "${CXX:-g++}" -std=c++20 -fsanitize=thread -g "$dir/probe.cpp" -o "$dir/probe"
    if "$dir/probe" >"$dir/probe.log" 2>&1; then
        echo "TSan runs as is"
        return 0
    fi
    cat "$dir/probe.log"
    if setarch "$(uname -m)" -R "$dir/probe"; then
        echo "TSan needs ASLR off here: running the TSan build and tests under setarch -R"
        TSAN_WRAP=(setarch "$(uname -m)" -R)
        return 0
    fi
    echo "error: a TSan program does not run here, even with setarch -R" >&2
    return 1
}

# ---------------------------------------------------------------- 0. set-up and format
step "packages" tocsin_install_deps
step "clang-format" format_check

# ---------------------------------------------------------------- 1. default build
step "configure $PREFIX" configure "$PREFIX" -DTOCSIN_SANITIZE= \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=$OPT_DEFAULT" -DBUILD_SHARED_LIBS=ON \
    -DTOCSIN_BUILD_TESTS=ON -DTOCSIN_UNITY_TESTS=ON -DTOCSIN_BUILD_BENCH=ON -DTOCSIN_BUILD_EXAMPLES=ON
step "build $PREFIX" build "$PREFIX"
step "ctest $PREFIX" ctest --test-dir "$PREFIX" --output-on-failure -j "$JOBS"

if [[ "$SKIP_SANITIZERS" == 1 ]]; then
    skip "ASan+UBSan, TSan and fuzzing (TOCSIN_SKIP_SANITIZERS=1)"
    exit 0
fi

# ---------------------------------------------------------------- 2. ASan + UBSan
step "configure $PREFIX-asan" configure "$PREFIX-asan" -DTOCSIN_SANITIZE=address,undefined \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=$OPT_ASAN" -DBUILD_SHARED_LIBS=OFF \
    -DTOCSIN_PORTABLE_BARRIER=ON \
    -DTOCSIN_BUILD_TESTS=ON -DTOCSIN_UNITY_TESTS=ON -DTOCSIN_BUILD_BENCH=OFF -DTOCSIN_BUILD_EXAMPLES=ON
step "build $PREFIX-asan" build "$PREFIX-asan"
step "ctest $PREFIX-asan" ctest --test-dir "$PREFIX-asan" --output-on-failure -j "$JOBS"

# ---------------------------------------------------------------- 3. TSan
step "TSan probe" tsan_probe
step "configure $PREFIX-tsan" configure "$PREFIX-tsan" -DTOCSIN_SANITIZE=thread \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=$OPT_SANITIZE" \
    -DTOCSIN_BUILD_TESTS=ON -DTOCSIN_UNITY_TESTS=ON -DTOCSIN_BUILD_BENCH=OFF -DTOCSIN_BUILD_EXAMPLES=OFF
step "build $PREFIX-tsan (concurrency tests)" "${TSAN_WRAP[@]}" \
    cmake --build "$PREFIX-tsan" --parallel "$JOBS" --target tocsin_concurrency_tests
step "ctest $PREFIX-tsan -L concurrency" "${TSAN_WRAP[@]}" \
    ctest --test-dir "$PREFIX-tsan" --output-on-failure -j "$JOBS" -L concurrency --no-tests=error

# ---------------------------------------------------------------- 4. libFuzzer
# The fixture loader on arbitrary bytes (fuzz/loaddata_fuzz.cpp), clang with
# -fsanitize=fuzzer,address,undefined. The run works on a copy of the seed corpus in the build
# dir (libFuzzer adds the inputs it finds there); a crash writes crash-* into the build dir.
fuzz_run() {
    local dir="$PREFIX-fuzz"
    rm -rf "$dir/corpus"
    mkdir -p "$dir/corpus"
    cp fuzz/corpus/loaddata/* "$dir/corpus/"
    "$dir/fuzz/loaddata_fuzz" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
        -artifact_prefix="$dir/" "$dir/corpus"
}

if [[ "$SKIP_FUZZ" == 1 ]]; then
    skip "fuzzing (TOCSIN_SKIP_FUZZ=1)"
    exit 0
fi
# libFuzzer needs clang (CC/CXX are read when the build dir is first configured).
configure_fuzz() {
    CC=clang CXX=clang++ configure "$PREFIX-fuzz" -DTOCSIN_FUZZ=ON -DTOCSIN_SANITIZE= \
        "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=$OPT_SANITIZE" \
        -DTOCSIN_BUILD_TESTS=OFF -DTOCSIN_BUILD_EXAMPLES=OFF -DTOCSIN_BUILD_BENCH=OFF
}
step "configure $PREFIX-fuzz" configure_fuzz
step "build $PREFIX-fuzz (loaddata_fuzz)" cmake --build "$PREFIX-fuzz" --parallel "$JOBS" \
    --target loaddata_fuzz
step "fuzz loaddata ${FUZZ_SECONDS}s" fuzz_run
