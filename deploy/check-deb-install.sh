#!/usr/bin/env bash
# Installs a wardwatch .deb on this (throwaway, root) machine and checks what the
# maintainer scripts did: the system user exists, the unit is installed but not enabled,
# the installed unit passes `systemd-analyze verify` as packaged, the binary runs; then
# purges it and checks the state directory is gone. For CI (.ci/run), not for a workstation.
# Usage: deploy/check-deb-install.sh target/debian/wardwatch_*.deb
set -euo pipefail
deb=$(realpath "${1:?usage: deploy/check-deb-install.sh PACKAGE.deb}")
fail=0
problem() { echo "check-deb-install: $*" >&2; fail=1; }
export DEBIAN_FRONTEND=noninteractive

apt-get install -y --no-install-recommends "$deb" >/dev/null
if getent passwd wardwatch >/dev/null; then
    shell=$(getent passwd wardwatch | cut -d: -f7)
    case $shell in */nologin|*/false) ;; *) problem "wardwatch has a login shell: $shell" ;; esac
else
    problem "postinst did not create the user wardwatch"
fi
unit=$(dpkg -L wardwatch | grep '/systemd/system/wardwatch.service$' || true)
[ -n "$unit" ] || problem "no unit installed"
if [ -n "$unit" ]; then
    out=$(systemd-analyze verify "$unit" 2>&1 || echo "exit status $?")
    [ -z "$out" ] || problem "systemd-analyze verify $unit: $out"
fi
state=$(systemctl is-enabled wardwatch 2>/dev/null || true)
[ "$state" = disabled ] || problem "unit is '$state', expected disabled until configured"
/usr/bin/wardwatch --version >/dev/null || problem "/usr/bin/wardwatch does not run"
[ -f /etc/wardwatch/wardwatch.toml ] || problem "no /etc/wardwatch/wardwatch.toml"

mkdir -p /var/lib/wardwatch /var/log/wardwatch
touch /var/lib/wardwatch/api-token /var/log/wardwatch/eve.json
apt-get purge -y wardwatch >/dev/null
for p in /var/lib/wardwatch /var/log/wardwatch /etc/wardwatch /usr/bin/wardwatch; do
    [ ! -e "$p" ] || problem "$p left after purge"
done

[ "$fail" = 0 ] && echo "check-deb-install: $deb installs, verifies and purges cleanly"
exit "$fail"
