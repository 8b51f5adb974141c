#!/usr/bin/env bash
# bench/batch_bench.sh: records per second end to end (HTTP in, through the spool, the
# Zerobus client and the emulator's acks out) for NDJSON batches of 1, 100 and 1,000
# records of the example table, plain and gzip, async (202 after the spool's commit), with
# `zerobus-station send` (the client alone, records transcoded beforehand) as the ceiling
# in the same round. wrk, 2 threads, 16 connections, all on loopback on the same machine.
# Figures: docs/BENCHMARKS.md.
#
#   bench/batch_bench.sh [SECONDS] [ROUNDS] [DURABILITY]    (defaults 10, 3, disk)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
ROUNDS=${2:-3}
DUR=${3:-disk}
. bench/lib.sh
bench_setup

python3 - "$TMP" << 'PY'
import gzip, json, sys
tmp = sys.argv[1]
for n in (1, 100, 1000):
    body = "".join(json.dumps({"device_name": "sensor-%03d" % (i % 1000), "temp": 20 + i % 15,
                               "humidity": 40 + i % 50}) + "\n" for i in range(n)).encode()
    open("%s/b%d.ndjson" % (tmp, n), "wb").write(body)
    open("%s/b%d.ndjson.gz" % (tmp, n), "wb").write(gzip.compress(body, 6))
rows = open("%s/b1000.ndjson" % tmp).read() * 10
open("%s/rows10k.ndjson" % tmp, "w").write(rows)
PY

# LABEL N FILE CODING: one wrk run; "LABEL | records/s | req/s | p50 | p99 | non-2xx | CPU µs/record"
run_batch() {
  local t0 t1 out req
  t0=$(ticks "$SERVER_PID")
  out=$(ZS_BODY="$3" ZS_CODING="$4" wrk -t 2 -c 16 -d "${SECS}s" --latency -s bench/batch.lua \
    "http://127.0.0.1:$PORT/ingest/station_one")
  t1=$(ticks "$SERVER_PID")
  req=$(echo "$out" | sed -n 's/^ *\([0-9]*\) requests in.*/\1/p')
  echo "$out" | awk -v label="$1" -v n="$2" -v req="$req" -v cpu=$((t1 - t0)) -v hz="$HZ" '
    /Requests\/sec/ {rps = $2} / 50%/ {p50 = $2} / 99%/ {p99 = $2} /Non-2xx/ {bad = $NF}
    END {printf "%s | %.0f | %.0f | %s | %s | %s | %.2f\n", label, rps * n, rps, p50, p99,
         bad ? bad : 0, req ? cpu * 1e6 / hz / (req * n) : 0}' | tee -a "$TMP/results"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "$(uname -r), wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), durability $DUR"
echo "label | records/s | req/s | p50 | p99 | non-2xx | station CPU µs/record"
for r in $(seq 1 "$ROUNDS"); do
  start_pair 0 5ms "$DUR"
  for n in 1 100 1000; do
    run_batch "ndjson x$n" "$n" "$TMP/b$n.ndjson" ""
    run_batch "gzip x$n" "$n" "$TMP/b$n.ndjson.gz" gzip
  done
  stop_all
  # The ceiling: the client alone, 10 M records through one stream, same emulator flags.
  start_pair 0 5ms "$DUR"
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2> /dev/null || true
  $B/src/zerobus-station send --config "$TMP/config.json" --env-file "$TMP/.env" station_one \
    --file "$TMP/rows10k.ndjson" --repeat 1000 2>&1 | tail -1 |
    sed -n 's/.*; \([0-9.]*\) s, \([0-9]*\) records\/s.*/send | \2 | - | - | - | 0 | -/p' |
    tee -a "$TMP/results"
  stop_all
done

echo "medians over $ROUNDS rounds (records/s):"
for l in "send" "ndjson x1" "gzip x1" "ndjson x100" "gzip x100" "ndjson x1000" "gzip x1000"; do
  grep "^$l |" "$TMP/results" | awk -F' [|] ' -v l="$l" '{v[NR] = $2; c[NR] = $7}
    function med(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
        if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
      return a[int((n + 1) / 2)] }
    END {printf "  %-14s %10.0f records/s   %s µs CPU/record\n", l, med(v, NR), med(c, NR)}'
done
