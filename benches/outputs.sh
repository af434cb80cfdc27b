#!/usr/bin/env bash
# Cost of the outputs (Prometheus exporter scraped every second + SIEM feeds) on the shared
# hospital workload (not a test; issue 7's target: under 5% throughput).
#
#   benches/outputs.sh [SIZE] [ROUNDS]     SIZE defaults to 1GiB, ROUNDS to 3
#
# Same binary, same capture, 2 workers, EVE to /dev/null, inventory, rules and risk on in
# both cases; runs alternate off/on ROUNDS times:
#   off  no --listen, no syslog feed
#   on   --listen 127.0.0.1:PORT scraped once a second with curl (per-device series on),
#        and two SIEM feeds to local receivers (python3 sockets reading to nowhere, closing
#        at the end as rsyslog does): TCP/JSON (spooled, at-least-once) and UDP/CEF, both
#        with the default event types (alerts and device changes). EVENTS='"alert",
#        "device", "hl7", "dicom"' puts every HL7 and DICOM record on the TCP feed too.
# Reports the median CPU seconds (user+sys) and wall time of each, and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-1GiB}
ROUNDS=${2:-3}
OUT=${BENCH_DIR:-/tmp/wardwatch-bench}
mkdir -p "$OUT"
PCAP=${PCAP:-$OUT/hospital-$SIZE.pcap}
[ -f "$PCAP" ] || python3 ../shared/bench/hospital_pcap.py --size "$SIZE" --out "$PCAP"
cargo build --release --quiet --bin wardwatch
BIN=${CARGO_TARGET_DIR:-target}/release/wardwatch
cat "$PCAP" > /dev/null
TPORT=$((30000 + RANDOM % 10000)); UPORT=$((TPORT + 1)); MPORT=$((TPORT + 2))
python3 - "$TPORT" "$UPORT" <<'PY' &
import socket, sys, threading
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", int(sys.argv[1]))); t.listen(8)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", int(sys.argv[2])))
def drain(c):
    while c.recv(1 << 16):
        pass
    c.close()  # as rsyslog does at the sender's end of stream
def udp():
    while True:
        u.recv(1 << 16)
threading.Thread(target=udp, daemon=True).start()
while True:
    threading.Thread(target=drain, args=(t.accept()[0],), daemon=True).start()
PY
RECV=$!
trap 'kill $RECV 2>/dev/null || true' EXIT
sleep 0.5
EVENTS=${EVENTS:-'"alert", "device"'}
printf '[alerts]\nenabled = true\n' > "$OUT/outputs-off.toml"
cat > "$OUT/outputs-on.toml" <<TOML
[output]
metrics_device_info = true
[[output.syslog]]
name = "bench-tcp"
transport = "tcp"
address = "127.0.0.1:$TPORT"
format = "json"
event_types = [$EVENTS]
spool_dir = "$OUT/outputs-spool"
[[output.syslog]]
name = "bench-udp"
transport = "udp"
address = "127.0.0.1:$UPORT"
format = "cef"
TOML

measure() { # label, command...
    local label=$1; shift
    /usr/bin/time -f "%U %S %e" -o "$OUT/time.txt" "$@" > /dev/null 2> "$OUT/$label.stderr"
    read -r u s e < "$OUT/time.txt"
    echo "$(echo "$u + $s" | bc -l) $e" >> "$OUT/$label.runs"
}
scrape() {
    while sleep 1; do curl -s "http://127.0.0.1:$MPORT/metrics" > /dev/null || true; done
}
rm -f "$OUT/off.runs" "$OUT/on.runs"
echo "workload: $PCAP ($(stat -c %s "$PCAP") bytes), $ROUNDS rounds"
for _ in $(seq 1 "$ROUNDS"); do
    rm -rf "$OUT/outputs-spool"
    measure off "$BIN" replay --workers 2 --config "$OUT/outputs-off.toml" --eve /dev/null "$PCAP"
    scrape & SCRAPER=$!
    measure on "$BIN" replay --workers 2 --config "$OUT/outputs-on.toml" --listen "127.0.0.1:$MPORT" --eve /dev/null "$PCAP"
    kill $SCRAPER 2>/dev/null || true
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for l in off on; do
    c=$(cut -d' ' -f1 "$OUT/$l.runs" | median); w=$(cut -d' ' -f2 "$OUT/$l.runs" | median)
    printf '%-4s median cpu %7.2fs wall %7.2fs  (runs: %s)\n' "$l" "$c" "$w" "$(tr '\n' ';' < "$OUT/$l.runs")"
    echo "$c $w" > "$OUT/$l.med"
done
read -r c0 w0 < "$OUT/off.med"; read -r c1 w1 < "$OUT/on.med"
printf 'ratio on/off: CPU %.3f, wall %.3f\n' "$(echo "$c1 / $c0" | bc -l)" "$(echo "$w1 / $w0" | bc -l)"
grep -h "sent\|spooled" "$OUT/on.stderr" | tail -3 || true
