#!/bin/sh
# bench/compile_time.sh — the compile time of representative user translation units: each file
# compiled N times to an object file (as a user's build does, -O0 by default), reporting the
# median CPU seconds (user + system) of the compiler per file. Run from the source tree:
#
#   bench/compile_time.sh                      # the default files, 5 times each, -O0
#   bench/compile_time.sh -n 9 -O2 bench/compile/dispatch_user.cpp
#   bench/compile_time.sh --pch                # each file also with tocsin's headers precompiled
#
# --pch: the tocsin headers a file includes (`#include <tocsin/...>` lines of the file and of the
# headers beside it) are precompiled once per file (`-x c++-header`, its CPU time reported on a
# line of its own, as a build pays it once per target), then the file is compiled again N times
# with `-include` of it: what `target_precompile_headers(app PRIVATE <tocsin/models.hpp>)` gives
# a user's build (docs/building.md, "Compile time in your own build").
#
# Default files: bench/compile/dispatch_user.cpp (<tocsin/dispatch.hpp> only) and
# examples/store/signals.cpp (models, their receivers and a signal of the application).
# CXX (default c++) picks the compiler. On a shared machine, compare medians taken in one run.
set -eu

n=5
opt=-O0
pch=0
while [ $# -gt 0 ]; do
    case "$1" in
        -n) n="$2"; shift 2 ;;
        --pch) pch=1; shift ;;
        -O*) opt="$1"; shift ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || set -- bench/compile/dispatch_user.cpp examples/store/signals.cpp

cxx="${CXX:-c++}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
flags="-std=c++20 $opt -Iinclude -isystem /usr/include/postgresql"

printf '%-40s %8s %8s %8s  (%s, %s, %s runs)\n' file median min max "$cxx" "$opt" "$n"

# time_file <label> <file> <extra flags...>: compile N times, print the median, min and max.
time_file() {
    label="$1"
    f="$2"
    shift 2
    i=0
    : > "$out/times"
    while [ "$i" -lt "$n" ]; do
        /usr/bin/time -f '%U %S' -o "$out/t" "$cxx" $flags -I"$(dirname "$f")" "$@" -c "$f" \
            -o "$out/o.o"
        awk '{ printf "%.3f\n", $1 + $2 }' "$out/t" >> "$out/times"
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
    /usr/bin/time -f '%U %S' -o "$out/t" "$cxx" $flags -x c++-header "$out/pch.hpp" \
        -o "$out/pch.hpp.gch"
    awk -v f="  precompiling its tocsin headers (once)" \
        '{ printf "%-40s %8.2f\n", f, $1 + $2 }' "$out/t"
    time_file "  with them precompiled" "$f" -include "$out/pch.hpp" -Winvalid-pch
done
