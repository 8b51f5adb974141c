#!/usr/bin/env bash
# bench/crash_trials.sh [TRIALS]: the station-crash harness of tests/integration/test_crash.py
# run TRIALS times (default 50) on the release build: SIGKILL of the station at a random
# moment under 16 connections, restart on the same spool, every answered record compared
# with the emulator's store. Prints one line per trial and a summary. docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-50}
B=build/release
cmake -S . -B $B -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF > /dev/null
cmake --build $B -j"$(nproc)" > /dev/null
PY=/usr/bin/python3 # Debian's, with python3-pytest (not a pyenv one earlier on PATH)
[ -x $PY ] || PY=python3
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
ZS_BUILD_DIR=$PWD/$B ZS_CRASH_TRIALS=$N $PY -m pytest -q -s -p no:cacheprovider \
  tests/integration/test_crash.py -k station_killed 2>/dev/null | tee "$OUT" | grep -E "^\.?trial [0-9]+ \(" || true
grep -E "passed|failed" "$OUT" | tail -1
grep -oE "answered [0-9]+, stored [0-9]+ distinct, duplicates [0-9]+, lost [0-9]+" "$OUT" | awk '
  {a += $2; d += $7; l += $9; n++; if ($7 + 0 > m) m = $7 + 0}
  END {printf "trials %d: answered %d, lost %d, duplicates %d (max %d in one trial, %.2f%% of answered)\n",
       n, a, l, d, m, a ? 100 * d / a : 0}'
