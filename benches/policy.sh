#!/usr/bin/env bash
# Cost of policy rules and baselines on the shared hospital workload (not a test).
#
#   benches/policy.sh [SIZE]        SIZE defaults to 1GiB (PCAP=... to use a file)
#
# Same run, same capture, 2 workers, EVE to /dev/null, inventory on in every case:
#   off        [alerts] enabled = false (no policy, no baselines; inventory stored too)
#   learning   policies + baselines learning (a fresh state directory)
#   enforcing  the same state directory after `wardwatch baseline lock --all`: every
#              device enforcing, every event checked against its baseline
#   geo        enforcing again with a GeoIP City database (GEOIP_DB=..., default: the
#              GeoLite2 file of .venv's maxminddb-geolite2 when installed; skipped without)
# Reports CPU seconds (user+sys), wall time and the ratios against `off`.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-1GiB}
OUT=${BENCH_DIR:-/tmp/wardwatch-bench}
mkdir -p "$OUT"
PCAP=${PCAP:-$OUT/hospital-$SIZE.pcap}
[ -f "$PCAP" ] || python3 ../shared/bench/hospital_pcap.py --size "$SIZE" --out "$PCAP"
cargo build --release --quiet --bin wardwatch
BIN=${CARGO_TARGET_DIR:-target}/release/wardwatch
cat "$PCAP" > /dev/null
STATE=$OUT/policy-state
rm -rf "$STATE"
rm -rf "$OUT/off-state"
# Both keep the inventory in a state directory, so only rules and baselines differ.
printf 'state_dir = "%s"\n[alerts]\nenabled = false\n' "$OUT/off-state" > "$OUT/off.toml"
printf 'state_dir = "%s"\n[inventory]\ncheckpoint_secs = 5\n' "$STATE" > "$OUT/on.toml"
GEOIP_DB=${GEOIP_DB:-$(ls .venv/lib/python3*/site-packages/_maxminddb_geolite2/GeoLite2-City.mmdb 2>/dev/null | head -n 1 || true)}
if [ -n "$GEOIP_DB" ]; then
    { cat "$OUT/on.toml"; printf '[geoip]\ncity_db = "%s"\n' "$GEOIP_DB"; } > "$OUT/geo.toml"
fi

measure() { # label, command...
    local label=$1; shift
    /usr/bin/time -f "%U %S %e %M" -o "$OUT/time.txt" "$@" > /dev/null 2> "$OUT/$label.stderr"
    read -r u s e m < "$OUT/time.txt"
    local cpu; cpu=$(echo "$u + $s" | bc -l)
    printf '%-10s cpu %7.2fs wall %7.2fs rss %6d MiB alerts %s\n' "$label" "$cpu" "$e" $((m / 1024)) \
        "$(grep -o 'alert=[0-9]*' "$OUT/$label.stderr" | cut -d= -f2 || echo 0)"
    echo "$cpu $e" > "$OUT/$label.cpu"
}
echo "workload: $PCAP ($(stat -c %s "$PCAP") bytes)"
measure off "$BIN" replay --workers 2 --config "$OUT/off.toml" --eve /dev/null "$PCAP"
measure learning "$BIN" replay --workers 2 --config "$OUT/on.toml" --eve /dev/null "$PCAP"
"$BIN" baseline lock --all --state-dir "$STATE" --who bench > /dev/null
measure enforcing "$BIN" replay --workers 2 --config "$OUT/on.toml" --eve /dev/null "$PCAP"
labels="learning enforcing"
if [ -n "$GEOIP_DB" ]; then
    measure geo "$BIN" replay --workers 2 --config "$OUT/geo.toml" --eve /dev/null "$PCAP"
    labels="$labels geo"
fi
read -r off _ < "$OUT/off.cpu"
for l in $labels; do
    read -r c _ < "$OUT/$l.cpu"
    printf 'ratio %s/off CPU: %.3f\n' "$l" "$(echo "$c / $off" | bc -l)"
done
