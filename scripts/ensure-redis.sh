#!/usr/bin/env bash
# Make sure a redis-server binary (>= 6.2) is on PATH.
#
# hamta-gateway never talks to a system Redis: the demo and the tests start their own
# private redis-server (gateway/redis_server.py) on a free localhost port in their own
# directory. Only the binary is needed. When this script installs Debian's package, the
# service that package may start on port 6379 is left alone and is never used.
set -euo pipefail

readonly MIN_MAJOR=6 MIN_MINOR=2

say() { printf 'ensure-redis: %s\n' "$*" >&2; }

missing() {
    say "hamta-gateway needs redis-server >= ${MIN_MAJOR}.${MIN_MINOR} on PATH (it runs its own, never port 6379)."
    say "Install it with:  sudo apt-get install redis-server"
    say "or put a redis-server >= ${MIN_MAJOR}.${MIN_MINOR} binary on PATH, then run make again."
    exit 1
}

# "Redis server v=7.0.15 sha=..." -> "7.0.15"
redis_version() {
    redis-server --version 2>/dev/null | sed -n 's/.* v=\([0-9][0-9.]*\).*/\1/p'
}

check() {
    local version major minor rest
    version=$(redis_version || true)
    IFS=. read -r major minor rest <<<"${version:-0.0}"
    if ((major > MIN_MAJOR || (major == MIN_MAJOR && minor >= MIN_MINOR))); then
        say "ok: $(command -v redis-server) (redis ${version})"
        exit 0
    fi
    say "$(command -v redis-server) is too old or unreadable (version '${version}')"
    missing
}

if command -v redis-server >/dev/null 2>&1; then
    check
fi
say "redis-server was not found on PATH"

# shellcheck source=scripts/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
if apt_install redis-server; then
    if command -v redis-server >/dev/null 2>&1; then
        say "installed; the package's own service (port 6379), if it started, is not used"
        check
    fi
    say "apt-get installed redis-server, but it is still not on PATH (PATH=${PATH})"
fi

missing
