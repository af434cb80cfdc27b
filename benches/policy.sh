#!/usr/bin/env bash
# Cost of policy rules and baselines on the shared hospital workload (not a test).
#
#   benches/policy.sh [SIZE]        SIZE defaults to 1GiB (PCAP=... to use a file, N=5
#                                   rounds, BIN=... to use a built binary)
#
# Same capture, 2 workers, EVE to /dev/null, inventory on in every case. First, once:
#   learning   policies + baselines learning from a fresh state directory (its CPU is
#              printed; it also builds the state the rounds start from)
# then `wardwatch baseline lock --all` and one unmeasured enforcing run, which applies the
# queued lock and leaves every device enforcing. Each round then runs, in rotating order and
# each from its own copy of that same state (the same restored inventory and baselines):
#   off        [alerts] enabled = false: no policy rules, no baselines, no silence watch
#   rules      [baseline] enabled = false: learning off, the policy rules and the silence
#              watch on (the baselines' own cost is enforcing against this)
#   enforcing  every event checked against its device's baseline and the policy rules
#   geo        enforcing with a GeoIP City database (GEOIP_DB=..., default: the GeoLite2
#              file of .venv's maxminddb-geolite2 when installed; skipped without)
#   georules   rules with that database and learning off: what geo is compared with (the
#              database is read whole at start, whether baselines use it or not)
# Reports every run, the median CPU seconds (user+sys) and wall time of each, the ratios of
# the medians to off, and, since each round runs every mode once (the machine's load
# drifts less within a round than across rounds), the median and mean of the per-round
# ratios. Issue 6's target: enforcing under 10% slower than with learning off, read here
# both ways: against `rules` (the baselines off) and against `off` (all alerting off).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-1GiB}
N=${N:-5}
OUT=${BENCH_DIR:-/tmp/wardwatch-bench}
mkdir -p "$OUT"
PCAP=${PCAP:-$OUT/hospital-$SIZE.pcap}
[ -f "$PCAP" ] || python3 ../shared/bench/hospital_pcap.py --size "$SIZE" --out "$PCAP"
if [ -z "${BIN:-}" ]; then
    cargo build --release --quiet --bin wardwatch
    BIN=${CARGO_TARGET_DIR:-target}/release/wardwatch
fi
# The page cache from a known state, as benches/workload.sh does: the file's cached pages
# dropped, then read back (into large folios; mapping 4 KiB pages left by the generator's
# small writes costs ten times the system time, the same in every mode).
dd if="$PCAP" iflag=nocache count=0 status=none
cat "$PCAP" > /dev/null
PREP=$OUT/policy-state
RUN=$OUT/policy-run-state
rm -rf "$PREP" "$RUN"
printf 'state_dir = "%s"\n[alerts]\nenabled = false\n' "$RUN" > "$OUT/off.toml"
printf 'state_dir = "%s"\n' "$RUN" > "$OUT/enforcing.toml"
printf 'state_dir = "%s"\n[baseline]\nenabled = false\n' "$RUN" > "$OUT/rules.toml"
GEOIP_DB=${GEOIP_DB:-$(ls .venv/lib/python3*/site-packages/_maxminddb_geolite2/GeoLite2-City.mmdb 2>/dev/null | head -n 1 || true)}
MODES=(off rules enforcing)
if [ -n "$GEOIP_DB" ]; then
    { cat "$OUT/enforcing.toml"; printf '[geoip]\ncity_db = "%s"\n' "$GEOIP_DB"; } > "$OUT/geo.toml"
    { cat "$OUT/rules.toml"; printf '[geoip]\ncity_db = "%s"\n' "$GEOIP_DB"; } > "$OUT/georules.toml"
    MODES+=(georules geo)
fi

run() { # mode, round
    local mode=$1 cfg=$OUT/$1.toml r
    rm -rf "$RUN"
    cp -a "$PREP" "$RUN"
    /usr/bin/time -f "%U %S %e %M" -o "$OUT/time.txt" \
        "$BIN" replay --workers 2 --config "$cfg" --eve /dev/null "$PCAP" > /dev/null 2> "$OUT/$mode.stderr"
    read -r u s e m < "$OUT/time.txt"
    local cpu; cpu=$(echo "$u + $s" | bc -l)
    printf '%-9s run %2d  cpu %6.2fs  wall %6.2fs  rss %5d MiB  alerts %s\n' "$mode" "$2" "$cpu" "$e" \
        $((m / 1024)) "$(grep -o 'alert=[0-9]*' "$OUT/$mode.stderr" | cut -d= -f2 || echo 0)"
    echo "$cpu $e" >> "$OUT/policy-$mode.runs"
}
median() { # mode, column
    awk -v c="$2" '{print $c}' "$OUT/policy-$1.runs" | sort -g |
        awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'
}

echo "workload: $PCAP ($(stat -c %s "$PCAP") bytes), 2 workers, N=$N"
printf 'state_dir = "%s"\n' "$PREP" > "$OUT/learning.toml"
/usr/bin/time -f "%U %S %e" -o "$OUT/time.txt" \
    "$BIN" replay --workers 2 --config "$OUT/learning.toml" --eve /dev/null "$PCAP" > /dev/null 2>&1
read -r u s e < "$OUT/time.txt"
printf 'learning  (fresh state, once)  cpu %6.2fs  wall %6.2fs\n' "$(echo "$u + $s" | bc -l)" "$e"
"$BIN" baseline lock --all --state-dir "$PREP" --who bench > /dev/null
"$BIN" replay --workers 2 --config "$OUT/learning.toml" --eve /dev/null "$PCAP" > /dev/null 2>&1
rm -f "$OUT"/policy-*.runs
k=${#MODES[@]}
for i in $(seq 1 "$N"); do
    # Rotate which goes first, so a drift in machine load hits all alike.
    for j in $(seq 0 $((k - 1))); do run "${MODES[$(((i + j) % k))]}" "$i"; done
done
off=$(median off 1)
for m in "${MODES[@]}"; do
    printf 'median %-9s cpu %6.3fs  wall %6.3fs\n' "$m" "$(median "$m" 1)" "$(median "$m" 2)"
done
for m in "${MODES[@]:1}"; do
    printf 'ratio %s/off CPU: %.3f\n' "$m" "$(echo "$(median "$m" 1) / $off" | bc -l)"
done
# Per round: mode A's CPU over mode B's of the same round (line i of each runs file).
paired() { # A, B
    paste -d' ' "$OUT/policy-$1.runs" "$OUT/policy-$2.runs" | awk '{print $1 / $3}' | sort -g |
        awk -v l="$1/$2" '{v[NR]=$1; t+=$1} END {
            printf "per-round ratio %s CPU: median %.3f  mean %.3f  (%d rounds, %.3f .. %.3f)\n",
                l, (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2, t / NR, NR, v[1], v[NR]}'
}
paired enforcing rules
paired enforcing off
paired rules off
if [ -n "$GEOIP_DB" ]; then paired geo georules; fi
rm -rf "$RUN"
