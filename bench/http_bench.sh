#!/usr/bin/env bash
# bench/http_bench.sh: single-record POSTs through zerobus-station with wrk on the same
# machine (all on loopback), against zerobus-emulator --store none; with the hand-written
# epoll ceiling (bench_epoll_hello) measured in the same run, alternating with the
# station, ROUNDS times. Figures: docs/BENCHMARKS.md.
#
#   bench/http_bench.sh [SECONDS] [SOAK_SECONDS] [ROUNDS]    (defaults 10, 0 = no soak, 3)
#
# Each line gives wrk's req/s and latency percentiles, and the server's own CPU per
# request (user + system ticks of its process during the run / requests): on 2 shared
# cores wrk's share of the CPU moves the req/s figures by ±20% between runs, the CPU per
# request much less.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
SOAK=${2:-0}
ROUNDS=${3:-3}
. bench/lib.sh
bench_setup

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "$(uname -r), wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}')"
echo "label | req/s | p50 | p90 | p99 | non-2xx | server µs CPU/req"
for r in $(seq 1 "$ROUNDS"); do
  start_ceiling
  run_wrk "ceiling c=64" 64 /ingest/station_one
  stop_all
  start_pair 0
  run_wrk "async c=64" 64 /ingest/station_one
  run_wrk "async c=512" 512 /ingest/station_one
  stop_all
done
# Durable: the station's default linger (a waited-for record does not linger).
for r in $(seq 1 "$ROUNDS"); do
  start_pair 150
  run_wrk "durable c=10" 10 "/ingest/station_one?wait_for_ack=true"
  run_wrk "durable c=2000" 2000 "/ingest/station_one?wait_for_ack=true"
  echo "   station RSS $(ps -o rss= -p "$SERVER_PID") KiB"
  stop_all
done

echo "medians over $ROUNDS rounds (req/s, p99, µs CPU/req):"
medians "ceiling c=64" "async c=64" "async c=512" "durable c=10" "durable c=2000"

if [ "$SOAK" -gt 0 ]; then
  start_pair 0
  echo "RSS soak: async c=64 for ${SOAK}s, station RSS (KiB) every 30 s"
  wrk -t 2 -c 64 -d "${SOAK}s" -s bench/post.lua "http://127.0.0.1:$PORT/ingest/station_one" > "$TMP/soak.txt" &
  W=$!
  while kill -0 $W 2> /dev/null; do echo "  rss $(ps -o rss= -p "$SERVER_PID")"; sleep 30; done
  grep -E "requests in|Requests/sec" "$TMP/soak.txt"
  stop_all
fi
