#!/usr/bin/env bash
# Cost of the device inventory on the shared hospital workload (not a test).
#
#   benches/inventory.sh [SIZE]      SIZE defaults to 1GiB; N=7 runs of each (PCAP=... to
#                                    use a file, WORKERS=2, BIN=... to use a built binary)
#
# Rotates, N times, in the same run on the same capture (2 workers, EVE to /dev/null,
# policy rules and baselines off in all, so only the inventory differs):
#   off   [inventory] enabled = false
#   on    the inventory on, with a fresh --state-dir (checkpoints written as deployed),
#         [risk] off: the inventory alone
#   risk  the same with the risk posture on (the default; it runs on the inventory)
# Prints every run, then the median CPU seconds (user+sys) and wall time of each, and the
# ratios to off. Issue 5's target: the inventory costs under 10%.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-1GiB}
N=${N:-7}
WORKERS=${WORKERS:-2}
OUT=${BENCH_DIR:-/tmp/wardwatch-bench}
mkdir -p "$OUT"
PCAP=${PCAP:-$OUT/hospital-$SIZE.pcap}
[ -f "$PCAP" ] || python3 ../shared/bench/hospital_pcap.py --size "$SIZE" --out "$PCAP"
if [ -z "${BIN:-}" ]; then
    cargo build --release --quiet --bin wardwatch
    BIN=${CARGO_TARGET_DIR:-target}/release/wardwatch
fi
cat "$PCAP" > /dev/null # warm the page cache
printf '[inventory]\nenabled = false\n[policy]\nenabled = false\n[baseline]\nenabled = false\n' \
    > "$OUT/inv-off.toml"
printf '[policy]\nenabled = false\n[baseline]\nenabled = false\n[risk]\nenabled = false\n' \
    > "$OUT/inv-on.toml"
printf '[policy]\nenabled = false\n[baseline]\nenabled = false\n' > "$OUT/inv-risk.toml"

run() { # mode -> appends "cpu wall" to $OUT/inv-$mode.runs
    local mode=$1 args=(--config "$OUT/inv-$1.toml")
    rm -rf "$OUT/inv-state"
    [ "$mode" != off ] && args+=(--state-dir "$OUT/inv-state")
    /usr/bin/time -f "%U %S %e" -o "$OUT/inv-time.txt" \
        "$BIN" replay --workers "$WORKERS" --eve /dev/null "${args[@]}" "$PCAP" \
        > /dev/null 2> "$OUT/inv-$mode.stderr"
    read -r u s e < "$OUT/inv-time.txt"
    local cpu; cpu=$(echo "$u + $s" | bc -l)
    printf '%-4s run %2d  cpu %6.2fs  wall %6.2fs\n' "$mode" "$i" "$cpu" "$e"
    echo "$cpu $e" >> "$OUT/inv-$mode.runs"
}
median() { # column of $OUT/inv-$1.runs
    awk -v c="$2" '{print $c}' "$OUT/inv-$1.runs" | sort -g |
        awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'
}
echo "workload: $PCAP ($(stat -c %s "$PCAP") bytes), $WORKERS workers, N=$N"
MODES=(off on risk)
rm -f "$OUT/inv-off.runs" "$OUT/inv-on.runs" "$OUT/inv-risk.runs"
for i in $(seq 1 "$N"); do
    # Rotate which goes first, so a drift in machine load hits all alike.
    for j in 0 1 2; do run "${MODES[$(((i + j) % 3))]}"; done
done
for m in "${MODES[@]}"; do
    printf 'median %-4s cpu %6.3fs  wall %6.3fs\n' "$m" "$(median "$m" 1)" "$(median "$m" 2)"
done
for m in on risk; do
    printf 'ratio %s/off: cpu %.3f  wall %.3f\n' "$m" \
        "$(echo "$(median "$m" 1) / $(median off 1)" | bc -l)" \
        "$(echo "$(median "$m" 2) / $(median off 2)" | bc -l)"
done
