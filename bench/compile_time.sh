#!/bin/sh
# bench/compile_time.sh — the compile time of representative user translation units: each file
# compiled N times to an object file (as a user's build does, -O0 by default), reporting the
# median CPU seconds (user + system) of the compiler per file. Run from the source tree:
#
#   bench/compile_time.sh                      # the default files, 5 times each, -O0
#   bench/compile_time.sh -n 9 -O2 bench/compile/dispatch_user.cpp
#
# Default files: bench/compile/dispatch_user.cpp (<tocsin/dispatch.hpp> only) and
# examples/store/signals.cpp (models, their receivers and a signal of the application).
# CXX (default c++) picks the compiler. On a shared machine, compare medians taken in one run.
set -eu

n=5
opt=-O0
while [ $# -gt 0 ]; do
    case "$1" in
        -n) n="$2"; shift 2 ;;
        -O*) opt="$1"; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || set -- bench/compile/dispatch_user.cpp examples/store/signals.cpp

cxx="${CXX:-c++}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
flags="-std=c++20 $opt -Iinclude -isystem /usr/include/postgresql"

printf '%-40s %8s %8s %8s  (%s, %s, %s runs)\n' file median min max "$cxx" "$opt" "$n"
for f in "$@"; do
    dir="$(dirname "$f")"
    i=0
    : > "$out/times"
    while [ "$i" -lt "$n" ]; do
        /usr/bin/time -f '%U %S' -o "$out/t" "$cxx" $flags -I"$dir" -c "$f" -o "$out/o.o"
        awk '{ printf "%.3f\n", $1 + $2 }' "$out/t" >> "$out/times"
        i=$((i + 1))
    done
    sort -n "$out/times" | awk -v f="$f" '
        { v[NR] = $1 }
        END {
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%-40s %8.2f %8.2f %8.2f\n", f, m, v[1], v[NR]
        }'
done
