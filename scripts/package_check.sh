#!/usr/bin/env bash
# scripts/package_check.sh: build the .deb with CPack, check what is in it, and run it.
#   - always: the package's files and its Depends (dpkg-shlibdeps), the man pages,
#     `systemd-analyze verify` of the unit, and the station run from the package's files
#     (dpkg-deb -x into a temporary root) posting a record to its --local emulator;
#   - as root with CI=true (or ZS_PACKAGE_INSTALL=1): `dpkg -i`, the unit verified where it
#     is installed, the station started through systemd when systemd runs the machine, else
#     directly from /usr/bin; a record posted; then the package purged.
# `make package-check` runs it; `make test` too.
set -euo pipefail
cd "$(dirname "$0")/.."
B=build/pkg
cmake -S . -B $B -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DCMAKE_INSTALL_PREFIX=/usr \
  > /dev/null
cmake --build $B -j"$(nproc)" > /dev/null
rm -f $B/zerobus-station_*.deb
(cd $B && cpack -G DEB > /dev/null)
DEB=$(ls $B/zerobus-station_*.deb)
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2> /dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "package-check: $*" >&2; exit 1; }

echo "package-check: $DEB"
dpkg-deb -f "$DEB" Depends | tee "$TMP/depends"
for lib in libuv1 libjansson4 libgrpc libprotobuf-c1 libcurl4 libssl3 libsystemd0 libzstd1; do
  grep -q "$lib" "$TMP/depends" || fail "Depends lacks $lib"
done
# The Dockerfile's runtime stage installs what the package depends on.
for lib in $(tr ',' '\n' < "$TMP/depends" | awk '{print $1}' | grep -v '^libc6$'); do
  sed -n '/^FROM debian:12-slim/,$p' Dockerfile | grep -qw "$lib" ||
    fail "the Dockerfile's runtime stage lacks $lib"
done
dpkg-deb -c "$DEB" | awk '{print $6}' > "$TMP/files"
for f in ./usr/bin/zerobus-station ./usr/bin/zerobus-emulator \
  ./usr/share/man/man1/zerobus-station.1 ./usr/share/man/man1/zerobus-emulator.1 \
  ./usr/lib/systemd/system/zerobus-station.service ./etc/zerobus-station/config.json \
  ./usr/share/doc/zerobus-station/README.md ./usr/share/doc/zerobus-station/DEPLOY.md \
  ./usr/share/doc/zerobus-station/examples/haproxy.cfg \
  ./usr/share/doc/zerobus-station/examples/zerobus-station.json; do
  grep -qx "$f" "$TMP/files" || fail "the package lacks $f"
done
dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles | grep -qx /etc/zerobus-station/config.json ||
  fail "config.json is not a conffile"

MAN=--man=no
command -v man > /dev/null && MAN=--man=yes

# READY line of FILE: the port after KEY=
ready() {
  for _ in $(seq 1 200); do
    if grep -q READY "$1" 2> /dev/null; then sed -n "s/.*$2=\([0-9]*\).*/\1/p" "$1"; return; fi
    sleep 0.05
  done
  cat "$1" "$1.err" >&2 || true
  fail "not ready: $1"
}

post_one() { # PORT: one record answered 202 and acknowledged after a flush
  local port=$1 out
  out=$(curl -s -w ' %{http_code}' -X POST "http://127.0.0.1:$port/ingest/station_one" \
    -H 'Content-Type: application/json' -d '{"device_name": "pkg", "temp": 1, "humidity": 2}')
  [[ "$out" == *" 202" ]] || fail "ingest answered: $out"
  out=$(curl -s -w ' %{http_code}' -X POST "http://127.0.0.1:$port/flush/station_one")
  [[ "$out" == *" 200" ]] || fail "flush answered: $out"
  curl -s "http://127.0.0.1:$port/metrics" | grep -q '^zerobus_station_records_acknowledged_total{table="main.zerobus.station_one"} 1$' ||
    fail "/metrics does not show the record acknowledged"
}

run_station() { # BIN CONFIG DIR: the station on its --local emulator, a record, SIGTERM
  "$1" --config "$2" --host 127.0.0.1 --port 0 --local "$3" > "$3.out" 2> "$3.out.err" &
  local pid=$!
  PIDS+=($pid)
  post_one "$(ready "$3.out" http)"
  kill -TERM "$pid"
  wait "$pid" || fail "the station exited $?"
  grep -q pkg "$3/data/main.zerobus.station_one.ndjson" || fail "the row is not in the store"
}

# From the package's files, without installing it.
mkdir "$TMP/root"
dpkg-deb -x "$DEB" "$TMP/root"
sed "s|/usr/bin/zerobus-station|$TMP/root/usr/bin/zerobus-station|" \
  "$TMP/root/usr/lib/systemd/system/zerobus-station.service" > "$TMP/zerobus-station.service"
systemd-analyze verify --man=no "$TMP/zerobus-station.service" || fail "systemd-analyze verify"
run_station "$TMP/root/usr/bin/zerobus-station" "$TMP/root/etc/zerobus-station/config.json" \
  "$TMP/extracted"
echo "package-check: the extracted package serves and delivers"

if [ "$(id -u)" != 0 ] || { [ "${CI:-}" != true ] && [ "${ZS_PACKAGE_INSTALL:-}" != 1 ]; }; then
  echo "package-check: dpkg -i skipped (root with CI=true or ZS_PACKAGE_INSTALL=1 does it)"
  exit 0
fi
dpkg -i "$DEB"
trap 'dpkg -P zerobus-station > /dev/null 2>&1 || true; cleanup' EXIT
systemd-analyze verify $MAN /usr/lib/systemd/system/zerobus-station.service ||
  fail "systemd-analyze verify of the installed unit"
if [ "$(ps -p 1 -o comm=)" = systemd ]; then
  # the unit as shipped, with --local: its own emulator stands in for Databricks
  mkdir -p /run/systemd/system/zerobus-station.service.d
  printf '[Service]\nExecStart=\nExecStart=/usr/bin/zerobus-station --config %s --port 8000 --local %s\n' \
    /etc/zerobus-station/config.json /var/lib/zerobus-station/local \
    > /run/systemd/system/zerobus-station.service.d/local.conf
  systemctl daemon-reload
  systemctl start zerobus-station || { journalctl -u zerobus-station --no-pager | tail -30; fail "systemctl start"; }
  post_one 8000
  systemctl reload zerobus-station
  systemctl is-active zerobus-station > /dev/null || fail "not active after reload"
  systemctl stop zerobus-station
  rm -rf /run/systemd/system/zerobus-station.service.d
  systemctl daemon-reload
  echo "package-check: installed and run by systemd"
else
  run_station /usr/bin/zerobus-station /etc/zerobus-station/config.json "$TMP/installed"
  echo "package-check: installed; run from /usr/bin (systemd does not run this machine)"
fi
