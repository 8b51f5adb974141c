#!/usr/bin/env bash
# bench/tls_bench.sh: what HTTPS and the ingest key check cost. Async single-record POSTs
# (202) at 64 keep-alive connections, wrk with 2 threads, on loopback; in the same round:
#   plain        the plain listener of a station without keys
#   tls          the TLS listener of the same station (TLS 1.3, ECDSA P-256 certificate)
#   tls+key      the TLS listener of a station with ingest keys (Authorization: Bearer)
# and new TLS handshakes per second (openssl s_time -new, one client) on that station.
# Memory mode: the spool's disk is not what is measured. Figures: docs/BENCHMARKS.md.
#
#   bench/tls_bench.sh [SECONDS] [ROUNDS]    (defaults 8, 3)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-8}
ROUNDS=${2:-3}
. bench/lib.sh
bench_setup

# A throw-away CA and a certificate for 127.0.0.1.
(cd "$TMP" &&
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key \
    -out ca.pem -days 2 -subj /CN=bench-ca 2> /dev/null &&
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout tls.key \
    -out tls.csr -subj /CN=127.0.0.1 2> /dev/null &&
  printf 'subjectAltName=IP:127.0.0.1\n' > tls.ext &&
  openssl x509 -req -in tls.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out tls.pem -days 2 \
    -extfile tls.ext 2> /dev/null)

# KEYS(0|1): emulator + station with a plain and a TLS listener; PORT (plain), TPORT (TLS).
start_tls_pair() {
  start_pair 0 5ms memory > /dev/null
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2> /dev/null || true
  python3 - "$TMP" "$1" << 'PY'
import json, sys
tmp, keys = sys.argv[1], sys.argv[2] == "1"
c = json.load(open(tmp + "/config.json"))
c["station"].update({"tls_cert": "tls.pem", "tls_key": "tls.key"})
if keys:
    c["station"]["keys_file"] = "keys.json"
json.dump(c, open(tmp + "/config.json", "w"))
PY
  if [ "$1" = 1 ]; then
    rm -f "$TMP/keys.json"
    KEY=$($B/src/zerobus-station keys --keys-file "$TMP/keys.json" new --id bench \
      --tables station_one 2> /dev/null)
  fi
  $B/src/zerobus-station --config "$TMP/config.json" --env-file "$TMP/.env" \
    --listen 127.0.0.1:0 --listen 127.0.0.1:0,tls --eager --log-level warn \
    > "$TMP/st.out" 2>> "$TMP/st.err" &
  SERVER_PID=$!
  PIDS+=($SERVER_PID)
  PORT=$(ready "$TMP/st.out" http)
  TPORT=$(ready "$TMP/st.out" https)
}

handshakes() { # LABEL: new TLS connections per second, one openssl s_time client
  local n
  n=$(openssl s_time -connect "127.0.0.1:$TPORT" -new -time "$SECS" -CAfile "$TMP/ca.pem" \
    2> /dev/null | sed -n 's/^\([0-9]*\) connections in \([0-9.]*\) real seconds.*/\1 \2/p' |
    head -1 | awk '{printf "%.0f", $1 / $2}')
  echo "$1 | $n handshakes/s" | tee -a "$TMP/hs"
}

echo "machine: $(nproc) cores, $(uname -r), $(wrk -v 2>&1 | head -1 | cut -c1-40)"
echo "label | req/s | p50 | p90 | p99 | non-2xx | station µs CPU/request"
for r in $(seq 1 "$ROUNDS"); do
  start_tls_pair 0
  ZS_KEY= run_wrk plain 64 /ingest/station_one
  PORT_PLAIN=$PORT; PORT=$TPORT; SCHEME=https ZS_KEY= run_wrk tls 64 /ingest/station_one
  handshakes handshake
  stop_all
  start_tls_pair 1
  PORT=$TPORT; SCHEME=https ZS_KEY=$KEY run_wrk tls+key 64 /ingest/station_one
  stop_all
done
echo "medians over $ROUNDS rounds:"
medians plain tls tls+key
sort -t'|' -k2 -n "$TMP/hs" | awk -F' [|] ' '{v[NR] = $2} END {print "  new TLS handshakes/s (median): " v[int((NR + 1) / 2)]}'
