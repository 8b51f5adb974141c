#!/usr/bin/env bash
# bench/metrics_bench.sh: what /metrics costs. A station with 100 tables (each has taken a
# record, so every per-table series is live), memory mode, in front of the emulator:
#   scrape        GET /metrics back to back on one connection: µs per scrape (wall and
#                 station CPU) and the size of the exposition
#   no-scrape     async single-record POSTs (202) at 64 keep-alive connections, wrk -t2
#   scraped-1s    the same while a client scrapes /metrics every second
# Rounds alternate the last two, so both see the same machine. Figures: docs/BENCHMARKS.md.
#
#   bench/metrics_bench.sh [SECONDS] [ROUNDS]    (defaults 8, 3)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-8}
ROUNDS=${2:-3}
. bench/lib.sh
bench_setup
command -v curl > /dev/null || { echo "curl is not installed" >&2; exit 1; }

# 100 tables t000..t099 of the station_one shape; station_one stays the load's table.
start_many() {
  start_pair 0 5ms memory > /dev/null
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2> /dev/null || true
  kill -TERM "${PIDS[0]}"; wait "${PIDS[0]}" 2> /dev/null || true
  PIDS=()
  python3 - "$TMP" << 'PY'
import json, sys
tmp = sys.argv[1]
cat = json.load(open(tmp + "/catalog.json"))
cfg = json.load(open(tmp + "/config.json"))
one = cfg["tables"]["station_one"]
for i in range(99):
    name = "main.zerobus.t%03d" % i
    cat["tables"][name] = cat["tables"]["main.zerobus.station_one"]
    cfg["tables"]["t%03d" % i] = dict(one, table_name=name)
del cfg["tables"]["station_two"]
json.dump(cat, open(tmp + "/catalog.json", "w"))
json.dump(cfg, open(tmp + "/config.json", "w"))
PY
  $B/src/zerobus-emulator --catalog "$TMP/catalog.json" --port 0 --http-port 0 --store none \
    --log-level warn > "$TMP/emu.out" 2>> "$TMP/emu.err" &
  PIDS+=($!)
  local g h
  g=$(ready "$TMP/emu.out" grpc); h=$(ready "$TMP/emu.out" http)
  python3 - "$TMP" "$g" "$h" << 'PY'
import json, sys
tmp, g, h = sys.argv[1:4]
c = json.load(open(tmp + "/config.json"))
c["databricks"] = {"server_endpoint": "http://127.0.0.1:" + g,
                   "workspace_url": "http://127.0.0.1:" + h}
json.dump(c, open(tmp + "/config.json", "w"))
PY
  $B/src/zerobus-station --config "$TMP/config.json" --env-file "$TMP/.env" --host 127.0.0.1 \
    --port 0 --eager --log-level warn > "$TMP/st.out" 2>> "$TMP/st.err" &
  SERVER_PID=$!
  PIDS+=($SERVER_PID)
  PORT=$(ready "$TMP/st.out" http)
  for i in $(seq -w 0 98); do
    curl -s -o /dev/null -X POST "http://127.0.0.1:$PORT/ingest/t0$i?wait_for_ack=true" \
      -H 'Content-Type: application/json' -d '{"device_name": "a", "temp": 1, "humidity": 2}'
  done
}

scrape_cost() { # one connection, back to back: µs/scrape wall and station CPU
  local t0 t1 out n rps
  t0=$(ticks "$SERVER_PID")
  out=$(wrk -t 1 -c 1 -d "${SECS}s" "http://127.0.0.1:$PORT/metrics")
  t1=$(ticks "$SERVER_PID")
  n=$(echo "$out" | sed -n 's/^ *\([0-9]*\) requests in.*/\1/p')
  rps=$(echo "$out" | sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p')
  awk -v n="$n" -v rps="$rps" -v cpu=$((t1 - t0)) -v hz="$HZ" -v bytes="$BYTES" 'BEGIN {
    printf "scrape | %.0f us/scrape wall | %.0f us/scrape station CPU | %d bytes | %d series\n",
      1e6 / rps, cpu * 1e6 / hz / n, bytes, '"$SERIES"' }' | tee -a "$TMP/scrapes"
}

echo "machine: $(nproc) cores, $(uname -r), $(wrk -v 2>&1 | head -1 | cut -c1-40)"
echo "label | req/s | p50 | p90 | p99 | non-2xx | station µs CPU/request"
for r in $(seq 1 "$ROUNDS"); do
  start_many
  BYTES=$(curl -s "http://127.0.0.1:$PORT/metrics" | wc -c)
  SERIES=$(curl -s "http://127.0.0.1:$PORT/metrics" | grep -vc '^#')
  scrape_cost
  if [ $((r % 2)) = 1 ]; then order="no-scrape scraped-1s"; else order="scraped-1s no-scrape"; fi
  for mode in $order; do
    SCRAPER=
    if [ "$mode" = scraped-1s ]; then
      (while :; do curl -s -o /dev/null "http://127.0.0.1:$PORT/metrics"; sleep 1; done) &
      SCRAPER=$!
    fi
    run_wrk "$mode" 64 /ingest/station_one
    if [ -n "$SCRAPER" ]; then kill "$SCRAPER"; wait "$SCRAPER" 2> /dev/null || true; fi
  done
  stop_all
done
echo "medians over $ROUNDS rounds:"
medians no-scrape scraped-1s
sort -t'|' -k2 -n "$TMP/scrapes" | awk -F' [|] ' '{v[NR] = $0} END {print "  median " v[int((NR + 1) / 2)]}'
