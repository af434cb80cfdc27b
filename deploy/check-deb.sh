#!/usr/bin/env bash
# Checks a wardwatch Debian package built by `cargo deb`: every file the deployment needs
# is in it (binary, unit, configuration, logrotate, dashboards, Prometheus files, docs),
# the unit and example configuration are the ones in deploy/, /etc files are conffiles,
# and the maintainer scripts create the system user. Exits 1 naming each problem.
# Usage: deploy/check-deb.sh target/debian/wardwatch_*.deb
set -euo pipefail
cd "$(dirname "$0")/.."
deb=${1:?usage: deploy/check-deb.sh PACKAGE.deb}
fail=0
problem() { echo "check-deb: $*" >&2; fail=1; }

contents=$(dpkg-deb -c "$deb")
info=$(dpkg-deb -I "$deb")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$deb" "$tmp/root"
dpkg-deb -e "$deb" "$tmp/control"

has() { grep -qE "[[:space:]]\./$1\$" <<<"$contents"; }

expected=(
    usr/bin/wardwatch
    etc/wardwatch/wardwatch.toml
    etc/default/wardwatch
    etc/logrotate.d/wardwatch
    usr/share/doc/wardwatch/README.md
    usr/share/wardwatch/dashboards/README.md
    usr/share/wardwatch/dashboards/provisioning/dashboards/wardwatch.yml
    usr/share/wardwatch/dashboards/provisioning/datasources/prometheus.yml
)
for f in dashboards/*.json deploy/prometheus/*; do
    case $f in
        dashboards/*) expected+=("usr/share/wardwatch/dashboards/$(basename "$f")") ;;
        *) expected+=("usr/share/wardwatch/prometheus/$(basename "$f")") ;;
    esac
done
for f in "${expected[@]}"; do
    has "$f" || problem "missing /$f"
done

# The unit (cargo-deb puts it under /lib or /usr/lib depending on its version).
unit=
for d in lib/systemd/system usr/lib/systemd/system; do
    [ -f "$tmp/root/$d/wardwatch.service" ] && unit="$tmp/root/$d/wardwatch.service"
done
if [ -z "$unit" ]; then
    problem "missing the systemd unit wardwatch.service"
else
    cmp -s "$unit" deploy/systemd/wardwatch.service || problem "unit differs from deploy/systemd"
fi
cmp -s "$tmp/root/etc/wardwatch/wardwatch.toml" deploy/wardwatch.toml ||
    problem "/etc/wardwatch/wardwatch.toml differs from deploy/wardwatch.toml"

grep -qE '^-rwxr-xr-x .* \./usr/bin/wardwatch$' <<<"$contents" ||
    problem "/usr/bin/wardwatch is not mode 0755"
[ -x "$tmp/root/usr/bin/wardwatch" ] && "$tmp/root/usr/bin/wardwatch" --version >/dev/null ||
    problem "the packaged binary does not run"

for c in /etc/wardwatch/wardwatch.toml /etc/default/wardwatch /etc/logrotate.d/wardwatch; do
    grep -qxF "$c" "$tmp/control/conffiles" 2>/dev/null || problem "$c is not a conffile"
done
[ -x "$tmp/control/postinst" ] || problem "no executable postinst"
grep -q 'adduser --system' "$tmp/control/postinst" 2>/dev/null ||
    problem "postinst does not create the system user"
grep -q 'deb-systemd-helper' "$tmp/control/postinst" 2>/dev/null ||
    problem "postinst does not register the unit"
grep -q 'rm -rf /var/lib/wardwatch' "$tmp/control/postrm" 2>/dev/null ||
    problem "postrm does not remove the state on purge"

grep -qE '^ Package: wardwatch$' <<<"$info" || problem "package name is not wardwatch"
grep -qE '^ Depends: .*adduser' <<<"$info" || problem "does not depend on adduser"
grep -qE '^ Section: net$' <<<"$info" || problem "section is not net"

if [ "$fail" = 0 ]; then
    echo "check-deb: $deb: $(wc -l <<<"$contents") entries, all expected files present"
fi
exit "$fail"
