# Sourced by the ensure-*.sh scripts: `apt_install PACKAGE...` installs Debian packages when
# this runs as root on a machine with apt-get (returns 0), and returns 1 otherwise, so the
# caller says what to install instead.
apt_install() {
    if [[ ${EUID} -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        return 1
    fi
    say "installing Debian's $*"
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
    hash -r
}
