#!/usr/bin/env bash
# bench/catalog_bench.sh: what reading tables' columns from Unity Catalog costs at start.
# TABLES tables in the emulator's catalog; the time from exec to READY (the station
# resolves every table before it listens), ROUNDS times each, alternating:
#   fields    hand-written fields, station.schema_check off (no catalog call: the reference)
#   checked   hand-written fields compared with the catalog (schema_check warn)
#   catalog   table names only: columns fetched from the catalog, then cached
#   cache     table names only, the catalog answering 503: columns from the cache
#   far-1     table names only, each catalog answer 50 ms late, one call at a time
#   far-8     the same, station.catalog_parallel 8 (the default)
# and the time of one reload (POST /admin/schema/refresh) with the catalog up.
#
#   bench/catalog_bench.sh [TABLES] [ROUNDS]    (defaults 40, 5)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-40}
ROUNDS=${2:-5}
. bench/lib.sh
bench_setup

python3 - "$N" "$TMP" << 'PY'
import json, sys
n, tmp = int(sys.argv[1]), sys.argv[2]
cols = [{"name": "device_name", "type": "STRING"}, {"name": "temp", "type": "INT"},
        {"name": "humidity", "type": "BIGINT"}, {"name": "at", "type": "TIMESTAMP"},
        {"name": "tags", "type": "ARRAY<STRING>"},
        {"name": "loc", "type": "STRUCT<lat: DOUBLE, lon: DOUBLE>"}]
tables = {"main.bench.t%02d" % i: {"columns": cols} for i in range(n)}
json.dump({"tables": tables, "clients": [{"client_id": "bench", "client_secret": "bench",
                                          "grants": ["*"]}]}, open(tmp + "/catalog.json", "w"))
PY
$B/src/zerobus-emulator --catalog "$TMP/catalog.json" --port 0 --http-port 0 --store none \
  --log-level warn > "$TMP/emu.out" 2>> "$TMP/emu.err" &
PIDS+=($!)
G=$(ready "$TMP/emu.out" grpc)
H=$(ready "$TMP/emu.out" http)
printf 'DATABRICKS_CLIENT_ID=bench\nDATABRICKS_CLIENT_SECRET=bench\n' > "$TMP/.env"
python3 - "$N" "$TMP" "$G" "$H" << 'PY'
import json, sys
n, tmp, g, h = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
cols = [{"name": "device_name", "type": "STRING"}, {"name": "temp", "type": "INT"},
        {"name": "humidity", "type": "BIGINT"}, {"name": "at", "type": "TIMESTAMP"},
        {"name": "tags", "type": "ARRAY<STRING>"},
        {"name": "loc", "type": "STRUCT<lat: DOUBLE, lon: DOUBLE>"}]
db = {"server_endpoint": "http://127.0.0.1:" + g, "workspace_url": "http://127.0.0.1:" + h}
names = ["main.bench.t%02d" % i for i in range(n)]
full = {"t%02d" % i: {"table_name": t, "fields": cols} for i, t in enumerate(names)}
for label, tables, check, par in [("fields", full, "off", 8), ("checked", full, "warn", 8),
                                  ("catalog", names, "warn", 8), ("far1", names, "warn", 1)]:
    json.dump({"databricks": db, "tables": tables,
               "station": {"schema_check": check, "spool_dir": tmp + "/spool",
                           "catalog_parallel": par}},
              open("%s/cfg_%s.json" % (tmp, label), "w"))
PY
fault() { curl -s -X POST "http://127.0.0.1:$H/admin/faults" -d "$1" > /dev/null; }

# One start: ms from exec to READY; the station is stopped again.
start_ms() { # CONFIG
  local t0 t1 pid
  rm -f "$TMP/st.out"
  t0=$(date +%s%N)
  $B/src/zerobus-station --config "$TMP/$1" --env-file "$TMP/.env" --host 127.0.0.1 --port 0 \
    --log-level warn > "$TMP/st.out" 2>> "$TMP/st.err" &
  pid=$!
  PIDS+=($pid)
  PORT=$(ready "$TMP/st.out" http)
  t1=$(date +%s%N)
  echo "$(((t1 - t0) / 1000000))"
  if [ -n "${RELOAD:-}" ]; then
    local r0 r1
    r0=$(date +%s%N)
    curl -s -X POST "http://127.0.0.1:$PORT/admin/schema/refresh" > /dev/null
    r1=$(date +%s%N)
    echo "$(((r1 - r0) / 1000000))" >> "$TMP/reload.ms"
  fi
  kill -TERM "$pid"
  wait "$pid" 2> /dev/null || true
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $N tables"
for r in $(seq 1 "$ROUNDS"); do
  fault '{"catalog_status": 0}'
  echo "fields $(start_ms cfg_fields.json)" >> "$TMP/res"
  echo "checked $(start_ms cfg_checked.json)" >> "$TMP/res"
  echo "catalog $(RELOAD=1 start_ms cfg_catalog.json)" >> "$TMP/res"
  fault '{"catalog_status": 503}'
  echo "cache $(start_ms cfg_catalog.json)" >> "$TMP/res"
  fault '{"catalog_status": 0, "catalog_delay_ms": 50}'
  echo "far-1 $(start_ms cfg_far1.json)" >> "$TMP/res"
  echo "far-8 $(start_ms cfg_catalog.json)" >> "$TMP/res"
  fault '{"catalog_delay_ms": 0}'
done
cat "$TMP/res"
echo "medians over $ROUNDS starts (ms from exec to READY):"
for l in fields checked catalog cache far-1 far-8; do
  printf '  %-8s %s\n' "$l" "$(awk -v l="$l" '$1 == l {print $2}' "$TMP/res" | sort -n |
    awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')"
done
printf '  reload (POST /admin/schema/refresh, catalog up): %s ms\n' \
  "$(sort -n "$TMP/reload.ms" | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')"
