#!/usr/bin/env bash
# Installs the Debian packages tocsin's build, tests, benchmarks and examples need.
#
#   bash scripts/install-deps.sh          # on its own
#   source scripts/install-deps.sh        # defines tocsin_install_deps (scripts/test.sh, example.sh)
#
# Nothing is done when every package is already installed (no root needed then). Otherwise
# `apt-get install -y --no-install-recommends` runs (through sudo when not root); only if that
# fails is `apt-get update` run and the install tried once more.
# TOCSIN_SKIP_APT=1 skips this step altogether.

TOCSIN_APT_PACKAGES=(
    g++ cmake ninja-build pkg-config time
    libgtest-dev libgmock-dev libbenchmark-dev
    libboost-dev libsigc++-3.0-dev
    libsqlite3-dev sqlite3 libpq-dev postgresql libssl-dev libargon2-dev
    nlohmann-json3-dev libfmt-dev libcli11-dev
    clang-format
    clang libclang-rt-14-dev lld
    python3-django python3-psycopg2 python3-argon2
    python3-celery python3-redis redis-server
    libcpp-httplib-dev chromium chromium-driver python3-selenium
)

tocsin_install_deps() {
    if [[ "${TOCSIN_SKIP_APT:-0}" == 1 ]]; then
        echo "==> packages: skipped (TOCSIN_SKIP_APT=1)"
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
        echo "==> packages: no apt-get/dpkg here; assuming the tools are installed" >&2
        return 0
    fi

    local missing=() pkg
    for pkg in "${TOCSIN_APT_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$pkg")
        fi
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        echo "==> packages: all ${#TOCSIN_APT_PACKAGES[@]} installed"
        return 0
    fi
    echo "==> packages: installing (missing: ${missing[*]})"

    local sudo=()
    if [[ "$(id -u)" -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            echo "error: missing packages (${missing[*]}) and neither root nor sudo" >&2
            return 1
        fi
    fi
    local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)
    if ! "${apt[@]}" install -y --no-install-recommends "${TOCSIN_APT_PACKAGES[@]}"; then
        echo "==> packages: install failed; running apt-get update and retrying"
        "${apt[@]}" update
        "${apt[@]}" install -y --no-install-recommends "${TOCSIN_APT_PACKAGES[@]}"
    fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    tocsin_install_deps
fi
