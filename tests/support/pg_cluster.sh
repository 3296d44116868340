#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests (the CTest fixture `postgresql` runs this).
#
#   pg_cluster.sh start <state dir>   initdb + start in a private /tmp dir; writes
#                                     <state dir>/conninfo (libpq conninfo over the Unix socket),
#                                     <state dir>/url (postgresql:// over 127.0.0.1:<free port>)
#                                     and <state dir>/pgdir (the private dir, for stop)
#   pg_cluster.sh stop <state dir>    stops the server and removes the private dir
#
# As root the server runs as the `postgres` user (runuser); otherwise as the caller. The server
# listens on a Unix socket in its private dir and on 127.0.0.1 at a free port (for URL tests).
# No PostgreSQL server binaries (/usr/lib/postgresql/*/bin): an error, unless
# TOCSIN_SKIP_POSTGRESQL=1, when nothing is started and the tests skip themselves.
set -euo pipefail

action=${1:-}
state=${2:-}
if [[ -z "$action" || -z "$state" ]]; then
    echo "usage: $0 start|stop <state dir>" >&2
    exit 2
fi

as_server() {
    if [[ "$(id -u)" -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

find_bin() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

# A port nothing listens on at 127.0.0.1 (pg_ctl start is retried on another one if it is taken
# meanwhile).
free_port() {
    local port
    while true; do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
}

stop() {
    [[ -f "$state/pgdir" ]] || return 0
    local pgdir bin
    pgdir=$(cat "$state/pgdir")
    bin=$(cat "$state/pgbin" 2>/dev/null || true)
    if [[ -n "$bin" && -f "$pgdir/data/postmaster.pid" ]]; then
        as_server "$bin/pg_ctl" -D "$pgdir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    case "$pgdir" in
        /tmp/tocsin-pg.*) rm -rf "$pgdir" ;;
    esac
    rm -f "$state/pgdir" "$state/pgbin" "$state/conninfo" "$state/url"
}

start() {
    mkdir -p "$state"
    stop # a cluster left over by an interrupted run
    rm -f "$state/skipped"
    local bin
    if ! bin=$(find_bin); then
        if [[ "${TOCSIN_SKIP_POSTGRESQL:-0}" == 1 ]]; then
            echo "PostgreSQL server binaries not found; TOCSIN_SKIP_POSTGRESQL=1: its tests skip"
            touch "$state/skipped"
            return 0
        fi
        echo "error: no PostgreSQL server in /usr/lib/postgresql/*/bin (install the Debian" \
            "package postgresql: scripts/install-deps.sh; or set TOCSIN_SKIP_POSTGRESQL=1 to" \
            "skip the PostgreSQL tests)" >&2
        return 1
    fi
    local pgdir port
    pgdir=$(mktemp -d /tmp/tocsin-pg.XXXXXX)
    echo "$pgdir" >"$state/pgdir"
    echo "$bin" >"$state/pgbin"
    chmod 700 "$pgdir"
    if [[ "$(id -u)" -eq 0 ]]; then
        chown postgres:postgres "$pgdir"
    fi
    if ! as_server "$bin/initdb" -D "$pgdir/data" -U postgres -A trust --no-sync -E UTF8 \
        --locale=C.UTF-8 >"$pgdir/initdb.log" 2>&1; then
        cat "$pgdir/initdb.log" >&2
        stop
        return 1
    fi
    local tries
    for tries in 1 2 3; do
        port=$(free_port)
        if as_server "$bin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -t 30 \
            -o "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c fsync=off \
                -c synchronous_commit=off -c full_page_writes=off -c max_connections=100" \
            start >/dev/null; then
            echo "host=$pgdir port=$port user=postgres dbname=postgres" >"$state/conninfo"
            echo "postgresql://postgres@127.0.0.1:$port/postgres" >"$state/url"
            echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') started in $pgdir" \
                "(socket) and on 127.0.0.1:$port"
            return 0
        fi
        echo "pg_ctl start failed on port $port (try $tries):" >&2
        tail -n 5 "$pgdir/server.log" >&2 || true
    done
    stop
    return 1
}

case "$action" in
    start) start ;;
    stop) stop ;;
    *)
        echo "usage: $0 start|stop <state dir>" >&2
        exit 2
        ;;
esac
