"""The spool's promise, from the outside: every record answered 202 or 200 reaches the
emulator's store, whatever is killed when.

* station crash: 16 connections post uniquely numbered records (4 of them with
  wait_for_ack=true); the station is killed with SIGKILL at a random moment, restarted on
  the same spool, and once its /health shows nothing pending, every answered record must
  be in the store. Duplicates (at-least-once) are counted and printed, never a loss.
  ZS_CRASH_TRIALS sets the number of trials (default 5; bench/crash_trials.sh runs 50).
* emulator crash: the same load while the emulator (standalone, its own data directory)
  is killed with SIGKILL and restarted on the same ports; the station keeps running and
  recovers by itself.
"""
import http.client
import json
import os
import random
import signal
import threading
import time

import pytest

from conftest import EMULATOR, Proc, TIMEOUT_MULT, VALGRIND, Station
from test_gateway import T1, free_port, write_setup

TRIALS = int(os.environ.get("ZS_CRASH_TRIALS", "5"))
CONNS, WAITING = 16, 4


class Load:
    """CONNS keep-alive connections posting records numbered conn * 10^7 + i until stopped
    or the station goes away; .answered holds the numbers answered 202/200."""

    def __init__(self, port):
        self.port = port
        self.answered = set()
        self.sent = 0
        self.codes = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(c,), daemon=True)
                        for c in range(CONNS)]
        for t in self.threads:
            t.start()

    def run(self, c):
        path = "/ingest/station_one" + ("?wait_for_ack=true" if c < WAITING else "")
        i = 0
        conn = None
        while not self.stop.is_set():
            n = c * 10**7 + i
            body = json.dumps({"device_name": "c%d" % c, "temp": i % 1000, "humidity": n})
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                conn.request("POST", path, body, {"Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
            except (OSError, http.client.HTTPException):
                if conn is not None:
                    conn.close()
                conn = None
                if self.stop.wait(0.01):
                    break
                continue  # not answered: the client would retry; we count only answers
            with self.lock:
                self.sent += 1
                self.codes[r.status] = self.codes.get(r.status, 0) + 1
                if r.status in (200, 202):
                    self.answered.add(n)
            i += 1
        if conn is not None:
            conn.close()

    def wait_answers(self, n, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.answered) >= n:
                    return
            time.sleep(0.01)
        raise AssertionError("the load did not get %d answers" % n)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)


def wait_drained(s, timeout):
    """Until /health says nothing is pending for any table (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            code, h, _ = s.request("GET", "/health", timeout=10)
        except OSError:
            code, h = 0, {}
        if h.get("tables") and all(t["pending"] == 0 for t in h["tables"].values()):
            return h
        time.sleep(0.05)
    raise AssertionError("still pending after %ss: %s" % (timeout, h))


def stored(e):
    rows = e.rows(T1)
    nums = [r["humidity"] for r in rows]
    return set(nums), len(nums) - len(set(nums))


def check(load, e, label):
    have, dups = stored(e)
    lost = load.answered - have
    print("%s: answered %d, stored %d distinct, duplicates %d, lost %d, statuses %s"
          % (label, len(load.answered), len(have), dups, len(lost), sorted(load.codes.items())))
    assert not lost, "answered but not stored: %s" % sorted(lost)[:20]
    return dups


@pytest.fixture
def setup(tmp_path, emulator_factory):
    write_setup(tmp_path, 1, 1)
    e = emulator_factory("--catalog", str(tmp_path / "catalog.json"))
    write_setup(tmp_path, e.grpc_port, e.http_port,
                station={"recovery_backoff_ms": 50, "recovery_backoff_max_ms": 500})
    return tmp_path, e


@pytest.mark.parametrize("trial", range(TRIALS))
def test_station_killed_loses_no_answered_record(setup, trial):
    tmp, e = setup
    rng = random.Random(trial)
    s = Station(tmp / "config.json", tmp / ".env")
    try:
        load = Load(s.port)
        load.wait_answers(50, 30 * TIMEOUT_MULT)  # the load is flowing
        time.sleep(rng.uniform(0.0, 1.5) * TIMEOUT_MULT)  # a random moment
        s.proc.p.send_signal(signal.SIGKILL)
        s.proc.p.wait()
        load.finish()
        assert load.answered, "nothing was answered before the kill"
        s = Station(tmp / "config.json", tmp / ".env")  # the same spool
        h = wait_drained(s, 60 * TIMEOUT_MULT)
        dups = check(load, e, "trial %d (kill after %d answers)" % (trial, len(load.answered)))
        replayed = h["tables"]["station_one"]["replayed_from_spool"]
        print("trial %d: replayed from the spool %d" % (trial, replayed))
        assert dups <= replayed + h["tables"]["station_one"]["replayed"]
    finally:
        s.stop()


def test_emulator_killed_and_restarted_under_load(tmp_path, station_factory):
    gp, hp = free_port(), free_port()
    write_setup(tmp_path, gp, hp, station={"recovery_backoff_ms": 50,
                                           "recovery_backoff_max_ms": 300,
                                           "recovery_timeout_ms": "%dms" % (1000 * TIMEOUT_MULT)})
    data = str(tmp_path / "data")
    argv = [EMULATOR, "--catalog", str(tmp_path / "catalog.json"), "--port", str(gp),
            "--http-port", str(hp), "--data", data, "--log-level", "warn"]
    emu = Proc(VALGRIND + argv)
    s = station_factory(tmp_path / "config.json", tmp_path / ".env")
    load = Load(s.port)
    emu2 = None
    try:
        load.wait_answers(100, 30 * TIMEOUT_MULT)
        emu.p.send_signal(signal.SIGKILL)
        emu.p.wait()
        n = len(load.answered)
        load.wait_answers(n + 200, 30 * TIMEOUT_MULT)  # the spool keeps accepting meanwhile
        emu2 = Proc(VALGRIND + argv)  # same ports, same data directory
        load.wait_answers(len(load.answered) + 200, 30 * TIMEOUT_MULT)
        load.finish()
        wait_drained(s, 60 * TIMEOUT_MULT)

        class Store:
            def rows(self, table):
                with open(os.path.join(data, table + ".ndjson")) as f:
                    return [json.loads(line) for line in f]
        check(load, Store(), "emulator restart")
    finally:
        load.finish()
        s.stop()
        if emu2 is not None:
            emu2.stop()
