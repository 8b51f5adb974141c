# Shared by bench/http_bench.sh and bench/spool_bench.sh (sourced, not run).
# bench_setup builds the release tree and makes TMP (removed, with every server started,
# at exit); start_pair / start_ceiling set PORT and SERVER_PID; run_wrk needs SECS.
PIDS=()
B=build/release

bench_setup() {
  command -v wrk > /dev/null || { echo "wrk is not installed (Debian package wrk)" >&2; exit 1; }
  cmake -S . -B $B -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF > /dev/null
  cmake --build $B -j"$(nproc)" > /dev/null
  ulimit -n "$(ulimit -Hn)" || true
  TMP=$(mktemp -d)
  trap 'for p in "${PIDS[@]}"; do kill -TERM "$p" 2> /dev/null || true; done; wait 2> /dev/null || true; rm -rf "$TMP"' EXIT
}
HZ=$(getconf CLK_TCK)

ready() { # FILE KEY: wait (bounded) for "READY ... KEY=PORT", print PORT
  for _ in $(seq 1 200); do
    if grep -q READY "$1" 2> /dev/null; then sed -n "s/.*$2=\([0-9]*\).*/\1/p" "$1"; return; fi
    sleep 0.05
  done
  echo "not ready: $1" >&2; exit 1
}

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# ACK_DELAY_MS [LINGER] [DURABILITY] [SPOOL_SYNC]: the emulator (--store none) and the station.
start_pair() {
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
  python3 - "$g" "$h" "${2:-5ms}" "${3:-disk}" "${4:-commit}" > "$TMP/config.json" << 'PY'
import json, sys
c = json.load(open("examples/config.json"))
c["databricks"] = {"server_endpoint": "http://127.0.0.1:" + sys.argv[1],
                   "workspace_url": "http://127.0.0.1:" + sys.argv[2]}
c["station"] = {"max_inflight_records": 1000000, "linger_ms": sys.argv[3],
                "durability": sys.argv[4], "spool_sync": sys.argv[5]}
print(json.dumps(c))
PY
  printf 'DATABRICKS_CLIENT_ID=bench\nDATABRICKS_CLIENT_SECRET=bench\n' > "$TMP/.env"
  rm -rf "$TMP/spool"
  $B/src/zerobus-station --config "$TMP/config.json" --env-file "$TMP/.env" --host 127.0.0.1 \
    --port 0 --eager --log-level warn > "$TMP/st.out" 2>> "$TMP/st.err" &
  SERVER_PID=$!
  PIDS+=($SERVER_PID)
  PORT=$(ready "$TMP/st.out" http)
}

start_ceiling() {
  $B/bench/bench_epoll_hello 0 "$(nproc)" > "$TMP/ep.out" &
  SERVER_PID=$!
  PIDS+=($SERVER_PID)
  PORT=$(ready "$TMP/ep.out" http)
}

stop_all() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2> /dev/null || true; done; wait 2> /dev/null || true; PIDS=(); rm -f "$TMP"/*.out; }

# LABEL CONNS PATH: one wrk run (2 threads, sharing the 2 cores with the servers), one line
# "LABEL | req/s | p50 | p90 | p99 | non-2xx | server µs CPU/request" (also kept in results).
run_wrk() {
  local t0 t1 out req
  t0=$(ticks "$SERVER_PID")
  out=$(wrk -t "$(( $2 < 2 ? 1 : 2 ))" -c "$2" -d "${SECS}s" --latency -s bench/post.lua "${SCHEME:-http}://127.0.0.1:$PORT$3")
  t1=$(ticks "$SERVER_PID")
  req=$(echo "$out" | sed -n 's/^ *\([0-9]*\) requests in.*/\1/p')
  echo "$out" | awk -v label="$1" -v req="$req" -v cpu=$((t1 - t0)) -v hz="$HZ" '
    /Requests\/sec/ {rps = $2} / 50%/ {p50 = $2} / 90%/ {p90 = $2} / 99%/ {p99 = $2}
    /Non-2xx/ {bad = $NF} /Socket errors/ {sock = $0}
    END {printf "%s | %.0f | %s | %s | %s | %s | %.1f\n", label, rps, p50, p90, p99,
         bad ? bad : 0, req ? cpu * 1e6 / hz / req : 0
         if (sock) print "   " sock}' | tee -a "$TMP/results"
}


# LABEL...: the median req/s, p50, p99 and CPU/request of each label's lines in results.
medians() {
  for l in "$@"; do
    grep "^$l |" "$TMP/results" | awk -F' [|] ' -v l="$l" '
      {rps[NR] = $2; p50[NR] = $3; p99[NR] = $5; cpu[NR] = $7}
      function med(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
          if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        return a[int((n + 1) / 2)] }
      function ms(v) { if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
        if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
        return substr(v, 1, length(v) - 1) * 1000 }
      END {n = NR; for (i = 1; i <= n; i++) { q[i] = ms(p99[i]); h[i] = ms(p50[i]) }
           printf "  %-22s %8.0f req/s  p50 %.2f ms  p99 %.2f ms  %.1f us/req\n", l, med(rps, n),
             med(h, n), med(q, n), med(cpu, n)}'
  done
}
