#!/usr/bin/env bash
# The throughput benchmark on the shared hospital workload (not a test).
#
#   benches/workload.sh [SIZE]        SIZE defaults to 1GiB; ROUNDS=5 rounds
#
# Generates the deterministic capture with ../shared/bench/hospital_pcap.py (once), then
# measures, in the same run: the libpcap read floor (tcpdump -r F -w /dev/null), and
# wardwatch replay with 1 and 2 workers (reassembling every TCP flow: stream.bypass_unknown
# = false), reporting CPU seconds (user+sys), wall time, peak RSS, packets/s and Gbit/s per
# CPU-second, and ratios against tcpdump.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-1GiB}
OUT=${BENCH_DIR:-/tmp/wardwatch-bench}
mkdir -p "$OUT"
PCAP=$OUT/hospital-$SIZE.pcap
[ -f "$PCAP" ] || python3 ../shared/bench/hospital_pcap.py --size "$SIZE" --out "$PCAP"
cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-target}/release/wardwatch
BYTES=$(stat -c %s "$PCAP")
PKTS=$(capinfos -c -M "$PCAP" | awk '/Number of packets/ {print $NF}')
# Warm the page cache from a known state: drop the file's cached pages, then read it back.
# How a file came into the cache decides the size of its pages there: one written in small
# writes (as the generator does) sits in 4 KiB pages, one read back in large folios (2 MiB
# here). Mapping (wardwatch) and read() (tcpdump) both cost less on large folios, mapping
# about ten times less (0.2 -> 0.02 s per GiB on this machine), so an unknown state would
# make the ratio depend on the file's history instead of the code.
dd if="$PCAP" iflag=nocache count=0 status=none
cat "$PCAP" > /dev/null

measure() { # label, command...: one run, printed and appended to $OUT/label.runs
    local label=$1; shift
    /usr/bin/time -f "%U %S %e %M" -o "$OUT/time.txt" "$@" > /dev/null 2> "$OUT/$label.stderr"
    read -r u s e m < "$OUT/time.txt"
    local cpu; cpu=$(echo "$u + $s" | bc -l)
    printf '%-28s cpu %6.2fs (user %5.2f sys %5.2f) wall %6.2fs rss %6d MiB  %6.2f Mpkt/s/cpu  %6.2f Gbit/s/cpu\n' \
        "$label" "$cpu" "$u" "$s" "$e" $((m / 1024)) "$(echo "$PKTS / $cpu / 1000000" | bc -l)" \
        "$(echo "$BYTES * 8 / $cpu / 1000000000" | bc -l)"
    echo "$cpu $e" >> "$OUT/$label.runs"
}
median() { # label, column of $OUT/label.runs
    awk -v c="$2" '{print $c}' "$OUT/$1.runs" | sort -g |
        awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'
}

# Flows + reassembly of every TCP flow, no analyzers: the capture path alone (no
# inventory, rules or risk either: they came with later issues and are on by default).
CFG=$OUT/reassemble-all.toml
printf '[stream]\nbypass_unknown = false\n[inventory]\nenabled = false\n[alerts]\nenabled = false\n' > "$CFG"
# Every analyzer's config section: the fields of AnalyzersConfig.
for a in $(sed -n '/pub struct AnalyzersConfig/,/^}/p' analyzers/src/registry.rs | grep -oE 'pub [a-z0-9_]+:' | cut -d' ' -f2 | tr -d :); do
    printf '[analyzers.%s]\nenabled = false\n' "$a" >> "$CFG"
done
echo "workload: $PCAP ($BYTES bytes, $PKTS packets)"
rm -f "$OUT"/*.runs
# ROUNDS rounds of the read floor and the capture path (one run of each per round, in
# turn, so a drift in machine load hits all alike; ratios of the medians), then one run
# each with the analyzers.
for i in $(seq 1 "${ROUNDS:-5}"); do
    measure tcpdump tcpdump -r "$PCAP" -w /dev/null
    measure wardwatch-1w "$BIN" replay --config "$CFG" --workers 1 --eve /dev/null "$PCAP"
    measure wardwatch-2w "$BIN" replay --config "$CFG" --workers 2 --eve /dev/null "$PCAP"
done
measure wardwatch-2w-analyzers "$BIN" replay --workers 2 --eve /dev/null "$PCAP"
measure wardwatch-2w-eve-file "$BIN" replay --workers 2 --eve "$OUT/eve.json" "$PCAP"
t_cpu=$(median tcpdump 1)
w1_cpu=$(median wardwatch-1w 1); w1_wall=$(median wardwatch-1w 2)
w2_cpu=$(median wardwatch-2w 1); w2_wall=$(median wardwatch-2w 2)
printf 'medians of %s rounds: tcpdump cpu %.2fs; 1 worker cpu %.2fs wall %.2fs (%.2f Gbit/s per CPU-second); 2 workers cpu %.2fs wall %.2fs\n' \
    "${ROUNDS:-5}" "$t_cpu" "$w1_cpu" "$w1_wall" "$(echo "$BYTES * 8 / $w1_cpu / 1000000000" | bc -l)" "$w2_cpu" "$w2_wall"
printf 'ratio wardwatch(1w)/tcpdump CPU: %.2f\n' "$(echo "$w1_cpu / $t_cpu" | bc -l)"
printf 'ratio 2 workers/1 worker CPU: %.2f, wall: %.2f\n' "$(echo "$w2_cpu / $w1_cpu" | bc -l)" "$(echo "$w2_wall / $w1_wall" | bc -l)"
tail -n 4 "$OUT/wardwatch-2w-analyzers.stderr"
