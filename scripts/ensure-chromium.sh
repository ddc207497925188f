#!/usr/bin/env bash
# Make sure Debian's chromium and chromium-driver are installed, for the web console's browser
# tests (tests/system/test_console_browser.py).
#
# The tests drive /usr/bin/chromium headless through /usr/bin/chromedriver with Selenium, the
# driver's path given explicitly, so nothing is ever downloaded at test time (no Selenium
# Manager, no browser build of its own). A Persian font (fonts-noto-core: Noto Sans Arabic /
# Noto Naskh Arabic) comes along so screenshots show Persian glyphs, not boxes.
#
# The browser is a test tool, not a dependency: when it cannot be installed here this script
# says what to install and succeeds, and those tests skip with the same words.
set -euo pipefail

readonly BROWSER=/usr/bin/chromium DRIVER=/usr/bin/chromedriver
readonly PACKAGES=(chromium chromium-driver fonts-noto-core)

say() { printf 'ensure-chromium: %s\n' "$*" >&2; }

found() {
    local fonts
    fonts=$(fc-list : family 2>/dev/null || true)  # read whole: `| grep -q` would SIGPIPE it
    [[ -x ${BROWSER} && -x ${DRIVER} && ${fonts,,} == *"noto sans arabic"* ]]
}

ok() {
    say "ok: ${BROWSER}, ${DRIVER} ($("${BROWSER}" --version 2>/dev/null || echo 'version unknown'))"
    exit 0
}

skipped() {
    say "chromium not installed: sudo apt-get install ${PACKAGES[*]}"
    say "(the web console's browser tests skip until ${BROWSER} and ${DRIVER} are installed)"
    exit 0
}

if found; then
    ok
fi
say "${BROWSER}, ${DRIVER} or a Persian font (fonts-noto-core) was not found"

# shellcheck source=scripts/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
if apt_install "${PACKAGES[@]}"; then
    if found; then
        ok
    fi
    say "apt-get installed ${PACKAGES[*]}, but ${BROWSER} or ${DRIVER} is still missing"
fi

skipped
