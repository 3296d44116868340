#!/usr/bin/env bash
# tocsin's whole check, as CI runs it (`bash .ci/run` calls this):
#
#   0. packages (apt-get, only when something is missing) and the clang-format check
#   1. RelWithDebInfo build in build/ (-O2): the libraries (shared, BUILD_SHARED_LIBS=ON:
#      tocsin.exported_symbols checks what they export), the examples, the benchmarks, and the
#      tests of tests/compile_fail and tests/install; ctest (those, and the examples)
#   2. ASan+UBSan build in build-asan/ (clang), ctest (every test of every other layer, and the
#      examples again); static libraries, with the dispatch core's portable barrier
#      (TOCSIN_PORTABLE_BARRIER=ON) instead of membarrier. It is also the libFuzzer build
#      (TOCSIN_FUZZ=ON: the libraries carry libFuzzer's coverage): beside its tests,
#      loaddata_fuzz runs for 60 s on a copy of fuzz/corpus/loaddata (must exit 0: no crash, leak
#      or sanitizer report)
#   3. TSan build in build-tsan/ (g++) of the binaries labelled concurrency, ctest -L concurrency
#
# So every test runs under ASan+UBSan (the compile-fail and packaging tests, which run a
# compiler or CMake rather than tocsin's code, run in step 1 only), and the concurrency tests
# of every layer also optimised, under TSan (-O1). Steps 1 and 2 include the tests
# labelled `postgresql`: their CTest fixture starts a throw-away PostgreSQL cluster
# (tests/support/pg_cluster.sh; the server from the Debian package postgresql) and removes it at
# the end. They fail when it cannot start; TOCSIN_SKIP_POSTGRESQL=1 makes them skip instead (for
# a developer without the server; CI does not set it).
#
# The steps overlap (docs/building.md, "CI and its cost"): the critical path is the ASan+UBSan
# build and then its tests (and the fuzzing); beside it run, one after the other, build 1 and its
# tests, build 3 and its tests. Every build runs at nice 10, so the tests running
# beside a build get the CPU they ask for. Each build and test run has its own PostgreSQL
# cluster (<build dir>/postgresql, a free port each). The ASan+UBSan steps stream their output;
# the others write it to <prefix>-logs/*.log, printed when they end. Any step failing stops the
# run at once: the steps still running are stopped, the failed step's output is printed, and the
# summary says "FAILED <step>" (also on SIGTERM, SIGINT, SIGHUP: the steps interrupted). The
# summary gives each step's wall time and the CPU time (user+sys) of its processes, which stays
# comparable on a loaded machine.
#
# Compile flags (CI has no ccache, so every run is a cold build; docs/building.md has the
# measurements): the default build (g++) keeps -O2 with line tables only (-g1); the ASan+UBSan
# build is clang, unoptimised (-O0 -g1: clang compiles it in less than half the CPU time g++
# takes, and -O0 in 55-60% of the time of -O1 while the tests, mostly process start-up and
# database work, run about as fast); the TSan build uses g++ at -O1 -g1 (TSan needs the speed), so
# each compiler builds the libraries and tests with -Werror. Everything links with lld when it is installed. The libraries and the test
# binaries use precompiled headers (TOCSIN_PCH, TOCSIN_TEST_PCH: on when there is no compiler
# launcher such as ccache). The test files are compiled in unity batches (TOCSIN_UNITY_TESTS: a
# layer's files with the same labels in one binary, several files per translation unit, so the
# template code they share is compiled once per batch); the ctest names and labels are the same.
# The libraries' own sources and each example are compiled in unity batches too (TOCSIN_UNITY,
# on without a compiler launcher: about half the CPU time of compiling them file by file).
#
# Environment:
#   TOCSIN_BUILD_PREFIX=build    build directories are <prefix>, <prefix>-asan, <prefix>-tsan;
#                                the logs of the steps run beside others in <prefix>-logs
#   TOCSIN_SKIP_SANITIZERS=1     skip steps 2 and 3 (quick local runs; CI does not set it)
#   TOCSIN_SKIP_FUZZ=1           no fuzzing in step 2 (and no libFuzzer instrumentation)
#   TOCSIN_FUZZ_SECONDS=60       how long step 2 fuzzes (beside the ASan+UBSan tests)
#   TOCSIN_JOBS=2                parallel build jobs (and test jobs but for the ASan+UBSan tests)
#   TOCSIN_TEST_JOBS=<jobs+1>    parallel jobs of the ASan+UBSan tests
#   TOCSIN_SKIP_APT=1            do not touch packages
set -euo pipefail
if ((BASH_VERSINFO[0] < 5 || (BASH_VERSINFO[0] == 5 && BASH_VERSINFO[1] < 1))); then
    echo "error: scripts/test.sh needs bash 5.1 or later (wait -n -p)" >&2
    exit 1
fi

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=install-deps.sh
source scripts/install-deps.sh

PREFIX=${TOCSIN_BUILD_PREFIX:-build}
JOBS=${TOCSIN_JOBS:-2}
# The ASan+UBSan tests mostly wait (SQLite files, the PostgreSQL server, process start-up): one
# more than the cores keeps both busy.
TEST_JOBS=${TOCSIN_TEST_JOBS:-$((JOBS + 1))}
SKIP_SANITIZERS=${TOCSIN_SKIP_SANITIZERS:-0}
SKIP_FUZZ=${TOCSIN_SKIP_FUZZ:-0}
FUZZ_SECONDS=${TOCSIN_FUZZ_SECONDS:-60}
LOG_DIR=$PREFIX-logs   # the output of the steps that run beside others

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

# ---------------------------------------------------------------- steps
# Every step is a job of its own (`set -m`: its own process group, so that a failure or a signal
# stops the steps still running, compilers and tests included). One step at a time streams its
# output (`step`); the steps that run beside it (`step_start ... <log>`) write theirs to a log
# file, printed when the main shell waits for them (`step_wait`). Any step failing stops the
# run at once: the steps still running are stopped, the failed step's output is printed, and the
# summary says "FAILED <step>". Each step's CPU time (user+sys of its processes) is taken by
# `times` in the step's own shell (its waited children: ninja's compilers, ctest's tests).
set -m
STATE_DIR=$(mktemp -d)
STEP_IDS=()                # in start order (skipped steps too)
RUNNING=()                 # ids of the steps running
declare -A STEP_DESC=() STEP_PID=() STEP_T0=() STEP_LOG=() STEP_RESULT=() STEP_PRINTED=()
STARTED_AT=$SECONDS
FAILED_STEP=""
INTERRUPTED=""

# _step_body <id> <priority> <command...>: the job's shell. Runs the command with `set -e` in a
# subshell, then writes the CPU time of this shell and of its children (`times`: two lines).
_step_body() {
    local id=$1 priority=$2
    shift 2
    trap - EXIT TERM INT HUP
    set +e
    if [[ $priority == nice ]]; then
        # Yields the CPU to the tests running beside it (their timeouts and waits are tuned for
        # a machine that is not saturated), without waiting for them to be idle.
        renice -n 10 -p "$BASHPID" >/dev/null 2>&1 || true
    fi
    (
        set -e
        "$@"
    ) </dev/null
    local rc=$?
    times >"$STATE_DIR/$id.times"
    exit "$rc"
}

# step_start <id> <description> <log file or -> <normal|nice> <command...>: starts a step.
step_start() {
    local id=$1 what=$2 log=$3 priority=$4
    shift 4
    STEP_IDS+=("$id")
    STEP_DESC[$id]=$what
    STEP_LOG[$id]=$log
    STEP_T0[$id]=$SECONDS
    echo
    if [[ $log == - ]]; then
        echo "==> $what"
        _step_body "$id" "$priority" "$@" &
    else
        echo "==> $what: started beside the others (output in $log, printed when it ends)"
        mkdir -p "$(dirname "$log")"
        _step_body "$id" "$priority" "$@" >"$log" 2>&1 &
    fi
    STEP_PID[$id]=$!
    RUNNING+=("$id")
}

# _step_cpu <id>: the CPU seconds (user+sys) of the step's processes.
_step_cpu() {
    local f="$STATE_DIR/$1.times"
    [[ -s $f ]] || {
        echo "?"
        return
    }
    awk '{ for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] } }
        END { printf "%d", t + 0.5 }' "$f"
}

_print_log() {
    local id=$1 log=${STEP_LOG[$1]}
    if [[ $log != - && -z ${STEP_PRINTED[$id]:-} ]]; then
        STEP_PRINTED[$id]=1
        echo
        echo "==> $(printf '%s' "${STEP_DESC[$id]}"): output ($log)"
        cat "$log" 2>/dev/null || true
        echo "<== end of $(printf '%s' "${STEP_DESC[$id]}")"
    fi
}

# _step_done <id> <exit code>: records a finished step; a failure ends the run.
_step_done() {
    local id=$1 rc=$2 r
    local rest=()
    for r in "${RUNNING[@]}"; do
        [[ $r == "$id" ]] || rest+=("$r")
    done
    RUNNING=("${rest[@]}")
    STEP_RESULT[$id]="($((SECONDS - STEP_T0[$id]))s, cpu $(_step_cpu "$id")s)"
    if [[ $rc -ne 0 ]]; then
        FAILED_STEP=$id
        STEP_RESULT[$id]="${STEP_RESULT[$id]} exit $rc"
        _print_log "$id"
        exit "$rc"
    fi
}

# step_next: waits for the next step to end (any of those running), records it (a failure ends the
# run), prints its output if it went to a log, and leaves its id in STEP_ENDED.
STEP_ENDED=""
step_next() {
    local r pids done rc
    STEP_ENDED=""
    while [[ -z $STEP_ENDED ]]; do
        pids=()
        for r in "${RUNNING[@]}"; do
            pids+=("${STEP_PID[$r]}")
        done
        done=""
        rc=0
        wait -n -p done "${pids[@]}" || rc=$?
        [[ -n $done ]] || continue
        for r in "${RUNNING[@]}"; do
            if [[ ${STEP_PID[$r]} == "$done" ]]; then
                _step_done "$r" "$rc"
                STEP_ENDED=$r
                break
            fi
        done
    done
    _print_log "$STEP_ENDED"
}

# step_wait <id>: waits for the step (recording, and printing the output of, the others that end
# meanwhile: step_next), then prints its output if it went to a log.
step_wait() {
    local id=$1
    while [[ -z ${STEP_RESULT[$id]:-} ]]; do
        step_next
    done
    _print_log "$id"
}

# step <description> <command...>: one step on the critical path, its output streamed.
step() {
    local id="s${#STEP_IDS[@]}"
    step_start "$id" "$1" - normal "${@:2}"
    step_wait "$id"
}

skip() {
    local id="s${#STEP_IDS[@]}"
    STEP_IDS+=("$id")
    STEP_DESC[$id]=$1
    STEP_RESULT[$id]=skipped
}

# Ends the run: stops the steps still running (a failure elsewhere, signals), the PostgreSQL
# clusters their tests may have left, and prints the summary.
finish() {
    local rc=$?
    set +em
    if [[ -n $INTERRUPTED && $rc -eq 0 ]]; then
        rc=1
    fi
    local id stopped=()
    for id in "${RUNNING[@]}"; do
        kill -TERM -- "-${STEP_PID[$id]}" 2>/dev/null
        stopped+=("$id")
    done
    for id in "${stopped[@]}"; do
        wait "${STEP_PID[$id]}" 2>/dev/null
        STEP_RESULT[$id]="stopped after $((SECONDS - STEP_T0[$id]))s"
    done
    if [[ ${#stopped[@]} -gt 0 ]]; then
        local dir
        for dir in "$PREFIX" "$PREFIX-asan" "$PREFIX-tsan"; do
            [[ -f $dir/postgresql/pgdir ]] && bash tests/support/pg_cluster.sh stop "$dir/postgresql"
        done
    fi
    rm -rf "$STATE_DIR"
    echo
    echo "================================ tocsin test summary"
    local status
    for id in "${STEP_IDS[@]}"; do
        case ${STEP_RESULT[$id]:-} in
            skipped) echo "  skipped ${STEP_DESC[$id]}" ;;
            stopped*) echo "  stopped ${STEP_DESC[$id]} (${STEP_RESULT[$id]})" ;;
            "") echo "  ?       ${STEP_DESC[$id]}" ;;
            *)
                status=ok
                [[ $id == "$FAILED_STEP" ]] && status=FAILED
                printf '  %-7s %s %s\n' "$status" "${STEP_DESC[$id]}" "${STEP_RESULT[$id]}"
                ;;
        esac
    done
    if [[ $rc -ne 0 ]]; then
        local what="(setup)"
        if [[ -n $FAILED_STEP ]]; then
            what=${STEP_DESC[$FAILED_STEP]}
        elif [[ ${#stopped[@]} -gt 0 ]]; then
            what=""
            for id in "${stopped[@]}"; do
                what+="${what:+, }${STEP_DESC[$id]}"
            done
        fi
        echo "  FAILED  $what${INTERRUPTED:+ (interrupted by $INTERRUPTED)}"
        echo "  result: FAILED (exit $rc) after $((SECONDS - STARTED_AT))s"
    else
        echo "  result: OK in $((SECONDS - STARTED_AT))s"
    fi
    exit "$rc"
}
trap finish EXIT
# Killed (a CI time limit, ^C): say so, with the steps it stopped, and fail.
on_signal() {
    INTERRUPTED=$1
    trap - "${1#SIG}"
    exit $((128 + $2))
}
trap 'on_signal SIGTERM 15' TERM
trap 'on_signal SIGINT 2' INT
trap 'on_signal SIGHUP 1' HUP

# ---------------------------------------------------------------- helpers
# configure <build dir> <cmake args...>
configure() {
    local dir=$1
    shift
    # A build dir made with another generator, or (CXX set) another compiler, cannot be
    # reconfigured: start afresh.
    if [[ -f "$dir/CMakeCache.txt" ]]; then
        if ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$dir/CMakeCache.txt" ||
            { [[ -n ${CXX:-} ]] &&
                ! grep -q "^CMAKE_CXX_COMPILER:[A-Z]*=\(.*/\)\?${CXX}\$" "$dir/CMakeCache.txt"; }; then
            rm -rf "$dir"
        fi
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
# and ctest under `setarch -R`. Sets TSAN_WRAP, and writes it to <tsan build>/tsan-wrap for the
# step that runs the TSan tests.
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
    : >"$PREFIX-tsan/tsan-wrap"
    if "$dir/probe" >"$dir/probe.log" 2>&1; then
        echo "TSan runs as is"
        return 0
    fi
    cat "$dir/probe.log"
    if setarch "$(uname -m)" -R "$dir/probe"; then
        echo "TSan needs ASLR off here: running the TSan build and tests under setarch -R"
        TSAN_WRAP=(setarch "$(uname -m)" -R)
        echo "setarch $(uname -m) -R" >"$PREFIX-tsan/tsan-wrap"
        return 0
    fi
    echo "error: a TSan program does not run here, even with setarch -R" >&2
    return 1
}

# ---------------------------------------------------------------- the builds' steps
# The test layers (folders of tests/) each build compiles: the ASan+UBSan build every layer of
# tocsin_test() binaries; the optimised build the compile-fail tests and the packaging tests
# (which run a compiler or CMake, and need a build without sanitizers), besides the examples.
# With TOCSIN_SKIP_SANITIZERS=1 the optimised build has every layer.
ASAN_TEST_LAYERS="dispatch;db;apps;models;migrations;management;testing;auth;remote;admin"
DEFAULT_TEST_LAYERS="compile_fail;install"
[[ "$SKIP_SANITIZERS" == 1 ]] && DEFAULT_TEST_LAYERS=""

configure_default() {
    configure "$PREFIX" -DTOCSIN_SANITIZE= \
        "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=$OPT_DEFAULT" -DBUILD_SHARED_LIBS=ON \
        "-DTOCSIN_TEST_LAYERS=$DEFAULT_TEST_LAYERS" \
        -DTOCSIN_BUILD_TESTS=ON -DTOCSIN_UNITY_TESTS=ON -DTOCSIN_BUILD_BENCH=ON -DTOCSIN_BUILD_EXAMPLES=ON
}
# The ASan+UBSan build is clang's (CC/CXX are read when the build dir is first configured: a dir
# configured with another compiler starts afresh), and the libFuzzer build too.
configure_asan() {
    local fuzz=ON
    [[ "$SKIP_FUZZ" == 1 ]] && fuzz=OFF
    CC=clang CXX=clang++ configure "$PREFIX-asan" -DTOCSIN_SANITIZE=address,undefined \
        "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=$OPT_ASAN" -DBUILD_SHARED_LIBS=OFF "-DTOCSIN_FUZZ=$fuzz" \
        -DTOCSIN_PORTABLE_BARRIER=ON "-DTOCSIN_TEST_LAYERS=$ASAN_TEST_LAYERS" \
        -DTOCSIN_BUILD_TESTS=ON -DTOCSIN_UNITY_TESTS=ON -DTOCSIN_BUILD_BENCH=OFF -DTOCSIN_BUILD_EXAMPLES=ON
}
# The TSan build: configure (which may start the dir afresh), the probe, the tests
# labelled concurrency.
tsan_build() {
    configure "$PREFIX-tsan" -DTOCSIN_SANITIZE=thread \
        "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=$OPT_SANITIZE" -DTOCSIN_TEST_LAYERS= \
        -DTOCSIN_BUILD_TESTS=ON -DTOCSIN_UNITY_TESTS=ON -DTOCSIN_BUILD_BENCH=OFF -DTOCSIN_BUILD_EXAMPLES=OFF
    tsan_probe
    "${TSAN_WRAP[@]}" cmake --build "$PREFIX-tsan" --parallel "$JOBS" --target tocsin_concurrency_tests
}
tsan_ctest() {
    local wrap=()
    read -r -a wrap <"$PREFIX-tsan/tsan-wrap" || true
    "${wrap[@]}" ctest --test-dir "$PREFIX-tsan" --output-on-failure -j "$JOBS" -L concurrency \
        --no-tests=error
}
# The fixture loader on arbitrary bytes (fuzz/loaddata_fuzz.cpp), clang with
# -fsanitize=fuzzer,address,undefined. The run works on a copy of the seed corpus in the build
# dir (libFuzzer adds the inputs it finds there); a crash writes crash-* into the build dir.
fuzz_run() {
    local dir="$PREFIX-asan"
    rm -rf "$dir/corpus"
    mkdir -p "$dir/corpus"
    cp fuzz/corpus/loaddata/* "$dir/corpus/"
    "$dir/fuzz/loaddata_fuzz" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
        -artifact_prefix="$dir/" "$dir/corpus"
}

# ---------------------------------------------------------------- 0. set-up and format
step "packages" tocsin_install_deps
step "clang-format" format_check

# ---------------------------------------------------------------- the run
# The critical path is the ASan+UBSan build (every test's file: the largest build) and then its
# tests. Every build runs at nice 10 and every test run at its normal priority (a test's timeouts
# and waits are tuned for a machine that is not saturated), except the TSan tests and the fuzzing
# (nice 10, as before). Beside the ASan+UBSan build, one after the other:
#   - the optimised build (the libraries, examples, benchmarks, compile-fail and install tests),
#     then its tests;
#   - the TSan build (the tests labelled concurrency), then its tests.
# When the ASan+UBSan build ends, its tests and 60 s of fuzzing (its loaddata_fuzz) start.
# Each ctest run has its own PostgreSQL cluster: <build>/postgresql, <build>-asan/postgresql,
# <build>-tsan/postgresql, private directories, each on a free port of its own.
step "configure $PREFIX" configure_default

if [[ "$SKIP_SANITIZERS" == 1 ]]; then
    step "build $PREFIX" build "$PREFIX"
    step "ctest $PREFIX" ctest --test-dir "$PREFIX" --output-on-failure -j "$JOBS"
    skip "ASan+UBSan, TSan and fuzzing (TOCSIN_SKIP_SANITIZERS=1)"
    exit 0
fi

step "configure $PREFIX-asan" configure_asan
step_start build_asan "build $PREFIX-asan (every test; nice 10)" - nice build "$PREFIX-asan"
step_start build_default "build $PREFIX (nice 10)" "$LOG_DIR/build.log" nice build "$PREFIX"
# What starts when a step ends; the run ends when no step is left.
while [[ ${#RUNNING[@]} -gt 0 ]]; do
    step_next
    case $STEP_ENDED in
        build_default)
            step_start ctest_default "ctest $PREFIX" "$LOG_DIR/ctest.log" normal \
                ctest --test-dir "$PREFIX" --output-on-failure -j "$JOBS"
            step_start tsan_build "build $PREFIX-tsan (concurrency tests; nice 10)" \
                "$LOG_DIR/build-tsan.log" nice tsan_build
            ;;
        tsan_build)
            step_start ctest_tsan "ctest $PREFIX-tsan -L concurrency (nice 10)" \
                "$LOG_DIR/ctest-tsan.log" nice tsan_ctest
            ;;
        build_asan)
            step_start ctest_asan "ctest $PREFIX-asan" - normal \
                ctest --test-dir "$PREFIX-asan" --output-on-failure -j "$TEST_JOBS"
            if [[ "$SKIP_FUZZ" != 1 ]]; then
                step_start fuzz_run "fuzz loaddata ${FUZZ_SECONDS}s (nice 10)" "$LOG_DIR/fuzz.log" \
                    nice fuzz_run
            else
                skip "fuzzing (TOCSIN_SKIP_FUZZ=1)"
            fi
            ;;
    esac
done
