#!/usr/bin/env bash
# bench/http_bench.sh: single-record POSTs through zerobus-station with wrk on the same
# machine (all on loopback), against zerobus-emulator --store none; with the hand-written
# epoll ceiling (bench_epoll_hello) measured in the same run. Figures: docs/BENCHMARKS.md.
#
#   bench/http_bench.sh [SECONDS] [SOAK_SECONDS]     (defaults 10 and 0: no RSS soak)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
SOAK=${2:-0}
B=build/release
cmake -S . -B $B -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF > /dev/null
cmake --build $B -j"$(nproc)" > /dev/null
ulimit -n "$(ulimit -Hn)" || true
TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2> /dev/null || true; done; wait 2> /dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT

ready() { # FILE KEY: wait (bounded) for "READY ... KEY=PORT", print PORT
  for _ in $(seq 1 200); do
    if grep -q READY "$1" 2> /dev/null; then sed -n "s/.*$2=\([0-9]*\).*/\1/p" "$1"; return; fi
    sleep 0.05
  done
  echo "not ready: $1" >&2; exit 1
}

start_pair() { # ACK_DELAY_MS MAX_INFLIGHT [LINGER]
  cat > "$TMP/catalog.json" << JSON
{"tables": {"main.zerobus.station_one": {"columns": [{"name": "device_name", "type": "STRING"},
 {"name": "temp", "type": "INT"}, {"name": "humidity", "type": "BIGINT"}]}},
 "clients": [{"client_id": "bench", "client_secret": "bench", "grants": ["*"]}]}
JSON
  $B/src/zerobus-emulator --catalog "$TMP/catalog.json" --port 0 --http-port 0 --store none \
    --ack-delay-ms "$1" --log-level warn > "$TMP/emu.out" 2>> "$TMP/emu.err" &
  PIDS+=($!)
  local g h
  g=$(ready "$TMP/emu.out" grpc); h=$(ready "$TMP/emu.out" http)
  python3 - "$g" "$h" "$2" "${3:-5ms}" > "$TMP/config.json" << 'PY'
import json, sys
c = json.load(open("examples/config.json"))
c["databricks"] = {"server_endpoint": "http://127.0.0.1:" + sys.argv[1],
                   "workspace_url": "http://127.0.0.1:" + sys.argv[2]}
c["station"] = {"max_inflight_records": int(sys.argv[3]), "linger_ms": sys.argv[4]}
print(json.dumps(c))
PY
  printf 'DATABRICKS_CLIENT_ID=bench\nDATABRICKS_CLIENT_SECRET=bench\n' > "$TMP/.env"
  $B/src/zerobus-station --config "$TMP/config.json" --env-file "$TMP/.env" --host 127.0.0.1 \
    --port 0 --eager --log-level warn > "$TMP/st.out" 2>> "$TMP/st.err" &
  STATION_PID=$!
  PIDS+=($STATION_PID)
  PORT=$(ready "$TMP/st.out" http)
}

stop_pair() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2> /dev/null || true; done; wait 2> /dev/null || true; PIDS=(); rm -f "$TMP"/*.out; }

run_wrk() { # LABEL CONNS URL (wrk's 2 threads share the 2 cores with the servers)
  echo "== $1 (c=$2, ${SECS}s)"
  wrk -t 2 -c "$2" -d "${SECS}s" --latency -s bench/post.lua "$3" | \
    grep -E "Requests/sec|Latency |  50%|  90%|  99%|Non-2xx|Socket errors|requests in"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

$B/bench/bench_epoll_hello 0 2 > "$TMP/ep.out" &
PIDS+=($!)
EP=$(ready "$TMP/ep.out" http)
run_wrk "epoll ceiling (fixed 202, no work)" 64 "http://127.0.0.1:$EP/ingest/station_one"
kill -TERM "${PIDS[-1]}"; unset 'PIDS[-1]'

start_pair 0 1000000
run_wrk "station async, wait_for_ack=false" 64 "http://127.0.0.1:$PORT/ingest/station_one"
run_wrk "station async, wait_for_ack=false" 512 "http://127.0.0.1:$PORT/ingest/station_one"
echo "station RSS after async runs: $(ps -o rss= -p "$STATION_PID") KiB"
stop_pair

for linger in 5ms 0ms; do
  start_pair 150 1000000 $linger
  run_wrk "station durable, wait_for_ack=true, emulator ack delay 150 ms, linger_ms $linger" 2000 \
    "http://127.0.0.1:$PORT/ingest/station_one?wait_for_ack=true"
  echo "station RSS: $(ps -o rss= -p "$STATION_PID") KiB"
  stop_pair
done

if [ "$SOAK" -gt 0 ]; then
  start_pair 0 1000000
  echo "== RSS soak: async c=64 for ${SOAK}s, RSS every 30 s (KiB)"
  wrk -t 2 -c 64 -d "${SOAK}s" -s bench/post.lua "http://127.0.0.1:$PORT/ingest/station_one" > "$TMP/soak.txt" &
  W=$!
  while kill -0 $W 2> /dev/null; do echo "  rss $(ps -o rss= -p "$STATION_PID")"; sleep 30; done
  grep -E "Requests/sec" "$TMP/soak.txt"
  stop_pair
fi
