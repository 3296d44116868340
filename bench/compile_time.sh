#!/bin/sh
# bench/compile_time.sh — the compile time of representative user translation units: each file
# compiled N times to an object file (as a user's build does, -O0 by default), reporting the
# median CPU seconds (user + system) of the compiler per file. Run from the source tree:
#
#   bench/compile_time.sh                      # the default files, 5 times each, -O0
#   bench/compile_time.sh -n 9 -O2 bench/compile/dispatch_user.cpp
#   bench/compile_time.sh --pch                # each file also with tocsin's headers precompiled
#   bench/compile_time.sh --against ../old bench/compile/models_user.cpp
#                                              # the same file against another tree's headers
#
# --pch: the tocsin headers a file includes (`#include <tocsin/...>` lines of the file and of the
# headers beside it) are precompiled once per file (`-x c++-header`, its CPU time reported on a
# line of its own, as a build pays it once per target), then the file is compiled again N times
# with `-include` of it: what `target_precompile_headers(app PRIVATE <tocsin/models.hpp>)` gives
# a user's build (docs/building.md, "Compile time in your own build").
#
# --against DIR: DIR is another source tree of tocsin (a worktree of an older commit: `git worktree
# add ../old <commit>`). Each file (the same file, its own folder on the include path) is compiled
# N times against DIR/include and N times against this tree's include/, alternating (before, after,
# before, ...), so both see the same load; the line reports both medians and the median, min and
# max of the N pairs' ratios (after / before): the figure to quote on a shared, noisy machine.
#
# Default files: bench/compile/dispatch_user.cpp (<tocsin/dispatch.hpp> only),
# bench/compile/models_user.cpp (issue 11's three models and their receivers, declared in the
# file, API old enough for --against the tree issue 11 was filed on) and
# examples/store/signals.cpp (the store example's receivers; its models compiled once elsewhere).
# CXX (default c++) picks the compiler; CXXFLAGS, if set, is added to every compile. On a shared
# machine, compare medians taken in one run (or use --against).
set -eu

n=5
opt=-O0
pch=0
against=
while [ $# -gt 0 ]; do
    case "$1" in
        -n) n="$2"; shift 2 ;;
        --pch) pch=1; shift ;;
        --against)
            against="$2"
            [ -d "$against/include/tocsin" ] || {
                echo "compile_time.sh: --against $against: no include/tocsin there (a tocsin tree?)" >&2
                exit 2
            }
            shift 2 ;;
        -O*) opt="$1"; shift ;;
        -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || set -- bench/compile/dispatch_user.cpp bench/compile/models_user.cpp \
    examples/store/signals.cpp

cxx="${CXX:-c++}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
flags="-std=c++20 $opt ${CXXFLAGS:-} -isystem /usr/include/postgresql"

# cpu_of <include dir> <file> <extra flags...>: one compile, prints its CPU seconds (user + system).
cpu_of() {
    inc="$1"
    f="$2"
    shift 2
    /usr/bin/time -f '%U %S' -o "$out/t" "$cxx" $flags -I"$inc" -I"$(dirname "$f")" "$@" -c "$f" \
        -o "$out/o.o"
    awk '{ printf "%.3f\n", $1 + $2 }' "$out/t"
}

if [ -n "$against" ]; then
    printf '%-40s %8s %8s %8s %8s %8s  (%s, %s, %s pairs)\n' file before after ratio min max \
        "$cxx" "$opt" "$n"
    for f in "$@"; do
        : > "$out/pairs"
        i=0
        while [ "$i" -lt "$n" ]; do
            b="$(cpu_of "$against/include" "$f")"
            a="$(cpu_of include "$f")"
            echo "$b $a" >> "$out/pairs"
            i=$((i + 1))
        done
        # Medians of the befores, the afters and the per-pair ratios (median() sorts the array
        # it is given, so r[1] and r[NR] are then the smallest and largest ratio).
        awk -v f="$f" '
            function median(v, k,   i, j, t) {
                for (i = 2; i <= k; i++)
                    for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
                return (k % 2) ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
            }
            { b[NR] = $1; a[NR] = $2; r[NR] = ($1 > 0) ? $2 / $1 : 0 }
            END {
                mb = median(b, NR); ma = median(a, NR); mr = median(r, NR)
                printf "%-40s %8.2f %8.2f %8.2f %8.2f %8.2f\n", f, mb, ma, mr, r[1], r[NR]
            }' "$out/pairs"
    done
    exit 0
fi

printf '%-40s %8s %8s %8s  (%s, %s, %s runs)\n' file median min max "$cxx" "$opt" "$n"

# time_file <label> <file> <extra flags...>: compile N times, print the median, min and max.
time_file() {
    label="$1"
    f="$2"
    shift 2
    i=0
    : > "$out/times"
    while [ "$i" -lt "$n" ]; do
        cpu_of include "$f" "$@" >> "$out/times"
        i=$((i + 1))
    done
    sort -n "$out/times" | awk -v f="$label" '
        { v[NR] = $1 }
        END {
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%-40s %8.2f %8.2f %8.2f\n", f, m, v[1], v[NR]
        }'
}

for f in "$@"; do
    time_file "$f" "$f"
    [ "$pch" = 1 ] || continue
    # The tocsin headers the file and its neighbouring headers include, once each.
    dir="$(dirname "$f")"
    grep -ho '^#include <tocsin/[^>]*>' "$f" $(ls "$dir"/*.hpp 2>/dev/null) | sort -u \
        > "$out/pch.hpp"
    if [ ! -s "$out/pch.hpp" ]; then
        echo "$f: includes no <tocsin/...> header, nothing to precompile" >&2
        continue
    fi
    /usr/bin/time -f '%U %S' -o "$out/t" "$cxx" $flags -Iinclude -x c++-header "$out/pch.hpp" \
        -o "$out/pch.hpp.gch"
    awk -v f="  precompiling its tocsin headers (once)" \
        '{ printf "%-40s %8.2f\n", f, $1 + $2 }' "$out/t"
    time_file "  with them precompiled" "$f" -include "$out/pch.hpp" -Winvalid-pch
done
