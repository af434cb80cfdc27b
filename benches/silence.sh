#!/usr/bin/env bash
# Cost of silence and sensor-health tracking on the shared hospital workload (not a test).
#
#   benches/silence.sh [SIZE]       SIZE defaults to 1GiB (PCAP=... to use a file)
#
# Same run, same capture, 2 workers, EVE to /dev/null, inventory and policies on in both:
#   off   [silence] sensor_secs = 0, no windows (nothing tracked)
#   on    sensor_secs = 300 and a 900 s window for every high-criticality device (every
#         event looks up its devices; the tracked ones are swept each capture second)
# Reports CPU seconds (user+sys), wall time, silence alerts and the ratio against `off`.
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
printf '[baseline]\nenabled = false\n[silence]\nsensor_secs = 0\n' > "$OUT/silence-off.toml"
printf '[baseline]\nenabled = false\n[silence]\nsensor_secs = 300\nhigh_criticality_secs = 900\n' \
    > "$OUT/silence-on.toml"
measure() { # label, config
    /usr/bin/time -f "%U %S %e %M" -o "$OUT/time.txt" "$BIN" replay --workers 2 --config "$2" \
        --eve "$OUT/silence-$1.eve" "$PCAP" > /dev/null 2> "$OUT/silence-$1.stderr"
    read -r u s e m < "$OUT/time.txt"
    local cpu; cpu=$(echo "$u + $s" | bc -l)
    printf '%-4s cpu %7.2fs wall %7.2fs rss %6d MiB silence/sensor alerts %s\n' "$1" "$cpu" "$e" \
        $((m / 1024)) "$(grep -cE '"rule":"(silence|sensor)\.' "$OUT/silence-$1.eve" || true)"
    echo "$cpu" > "$OUT/silence-$1.cpu"
}
echo "workload: $PCAP ($(stat -c %s "$PCAP") bytes)"
measure off "$OUT/silence-off.toml"
measure on "$OUT/silence-on.toml"
printf 'ratio on/off CPU: %.3f\n' "$(echo "$(cat "$OUT/silence-on.cpu") / $(cat "$OUT/silence-off.cpu")" | bc -l)"
