#!/usr/bin/env bash
# Make sure Kannel's bearerbox and smsbox are installed, for the Kannel interop tests.
#
# tests/integration/test_interop_kannel.py runs its own bearerbox and smsbox on free localhost
# ports with a configuration in the test's temporary directory; only the binaries are needed.
# When this script installs Debian's kannel package, the service that package may start
# (/etc/kannel/kannel.conf, ports 13000-13013) is left alone and is never used.
#
# Kannel is a test peer, not a dependency: when it cannot be installed here this script says
# what to install and succeeds, and those tests skip with the same words.
set -euo pipefail

readonly SEARCH_PATH="${PATH}:/usr/sbin:/usr/local/sbin"  # a non-root PATH often lacks sbin

say() { printf 'ensure-kannel: %s\n' "$*" >&2; }

found() {
    PATH="${SEARCH_PATH}" command -v bearerbox >/dev/null 2>&1 &&
        PATH="${SEARCH_PATH}" command -v smsbox >/dev/null 2>&1
}

ok() {
    say "ok: $(PATH="${SEARCH_PATH}" command -v bearerbox), $(PATH="${SEARCH_PATH}" command -v smsbox)"
    exit 0
}

skipped() {
    say "kannel not installed: sudo apt-get install kannel"
    say "(the Kannel interop tests skip until bearerbox and smsbox are installed)"
    exit 0
}

if found; then
    ok
fi
say "bearerbox/smsbox were not found (looked in ${SEARCH_PATH})"

# shellcheck source=scripts/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
if apt_install kannel; then
    if found; then
        say "installed; the package's own service, if it started, is not used"
        ok
    fi
    say "apt-get installed kannel, but bearerbox/smsbox are still not found"
fi

skipped
