#!/usr/bin/env bash
# bench/spool_bench.sh: what the spool costs. Single-record async POSTs at 64 connections
# (wrk, 2 threads, same machine, loopback) for durability=memory, disk + spool_sync=commit
# and disk + spool_sync=interval, alternating within each round; then durable requests
# (wait_for_ack=true), memory vs disk: at 1 and 10 connections with an emulator that acks
# at once (the station's own latency), at 10 and 2,000 with a 150 ms ack delay (Zerobus).
# For disk runs it reads the spool's counters from /health: fsyncs per second and records
# per fsync (the group commit). Figures: docs/BENCHMARKS.md.
#
#   bench/spool_bench.sh [SECONDS] [ROUNDS] [async|durable|all]    (defaults 10, 3, all)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
ROUNDS=${2:-3}
PARTS=${3:-all}
. bench/lib.sh
bench_setup

# The spool counters of station_one: "accepted syncs groups".
counters() {
  curl -s "http://127.0.0.1:$PORT/health/station_one" | python3 -c '
import json, sys
t = json.load(sys.stdin)
print(t["accepted"], t["syncs"], t["commit_groups"])'
}

# LABEL CONNS PATH: run_wrk plus the sync figures.
run_spool() {
  local a0 s0 g0 a1 s1 g1
  read -r a0 s0 g0 < <(counters)
  run_wrk "$@"
  read -r a1 s1 g1 < <(counters)
  awk -v a=$((a1 - a0)) -v s=$((s1 - s0)) -v g=$((g1 - g0)) -v t="$SECS" -v l="$1" 'BEGIN {
    printf "   %s: %d fsyncs/s, %.1f records/fsync, %.1f records/group\n", l, s / t,
      s ? a / s : 0, g ? a / g : 0}' | tee -a "$TMP/syncs"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "$(uname -r), $(df -T "$TMP" | awk 'NR == 2 {print $2}') spool, wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}')"
echo "label | req/s | p50 | p90 | p99 | non-2xx | server µs CPU/req"
for r in $(seq 1 "$ROUNDS"); do
  [ "$PARTS" = durable ] && break
  start_pair 0 5ms memory
  run_spool "memory c=64" 64 /ingest/station_one
  stop_all
  start_pair 0 5ms disk commit
  run_spool "disk+commit c=64" 64 /ingest/station_one
  stop_all
  start_pair 0 5ms disk interval
  run_spool "disk+interval c=64" 64 /ingest/station_one
  stop_all
done
for r in $(seq 1 "$ROUNDS"); do
  [ "$PARTS" = async ] && break
  for m in memory disk; do
    start_pair 0 5ms $m commit
    run_spool "durable $m c=1" 1 "/ingest/station_one?wait_for_ack=true"
    run_spool "durable $m c=10" 10 "/ingest/station_one?wait_for_ack=true"
    stop_all
    start_pair 150 5ms $m commit
    run_spool "durable $m 150ms c=10" 10 "/ingest/station_one?wait_for_ack=true"
    run_spool "durable $m 150ms c=2000" 2000 "/ingest/station_one?wait_for_ack=true"
    stop_all
  done
done

echo "medians over $ROUNDS rounds (req/s, p50, p99, µs CPU/req):"
medians "memory c=64" "disk+commit c=64" "disk+interval c=64" "durable memory c=1" \
  "durable disk c=1" "durable memory c=10" "durable disk c=10" "durable memory 150ms c=10" \
  "durable disk 150ms c=10" "durable memory 150ms c=2000" "durable disk 150ms c=2000"
echo "syncs:"
sort "$TMP/syncs" | awk -F: '{print "  " $0}' | grep -E "disk\+commit|disk\+interval" || true
