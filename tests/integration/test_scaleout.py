"""Scale-out: contrib/haproxy.cfg (its ports changed) in front of two stations with their
own spools and one emulator. Uniquely numbered records go through HAProxy; one station is
killed with SIGKILL mid-load and restarted on its spool; every record answered 202/200 must
then be in the store (duplicates allowed: at-least-once)."""
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import ROOT, TIMEOUT_MULT, Station
from test_crash import Load, check, setup, wait_drained  # noqa: F401 (setup is a fixture)
from test_gateway import free_port

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


def haproxy_config(tmp_path, front, ports):
    """contrib/haproxy.cfg with the frontend on front and the stations on ports."""
    text = open(os.path.join(ROOT, "contrib", "haproxy.cfg")).read()
    text = text.replace("bind 127.0.0.1:8080", "bind 127.0.0.1:%d" % front)
    for i, p in enumerate(ports, 1):
        text, n = re.subn(r"server station%d 127\.0\.0\.1:\d+" % i,
                          "server station%d 127.0.0.1:%d" % (i, p), text)
        assert n == 1
    path = tmp_path / "haproxy.cfg"
    path.write_text(text)
    return str(path)


def wait_port(port, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise AssertionError("nothing listens on %d" % port)


@pytest.mark.skipif(not os.path.exists(HAPROXY), reason="haproxy (Debian package) not installed")
def test_haproxy_two_stations_one_killed_loses_nothing(setup):
    tmp_path, e = setup
    ports = [free_port(), free_port()]

    def station(i):
        return Station(tmp_path / "config.json", tmp_path / ".env", "--port", str(ports[i]),
                       "--spool-dir", str(tmp_path / ("spool%d" % i)))

    s = [station(0), station(1)]
    front = free_port()
    cfg = haproxy_config(tmp_path, front, ports)
    assert subprocess.run([HAPROXY, "-c", "-f", cfg], capture_output=True).returncode == 0
    hp = subprocess.Popen([HAPROXY, "-db", "-f", cfg], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    try:
        wait_port(front, 10 * TIMEOUT_MULT)
        load = Load(front)
        load.wait_answers(1500, 60 * TIMEOUT_MULT)
        s[0].proc.p.send_signal(signal.SIGKILL)
        s[0].proc.p.wait()
        killed_at = len(load.answered)
        # the load goes on through the other station
        load.wait_answers(killed_at + 1500, 60 * TIMEOUT_MULT)
        s[0] = station(0)  # the same port and spool: it replays what it held
        load.wait_answers(len(load.answered) + 500, 60 * TIMEOUT_MULT)
        load.finish()
        for st in s:
            wait_drained(st, 60 * TIMEOUT_MULT)
        dups = check(load, e, "haproxy, station1 killed after %d answers" % killed_at)
        assert dups < len(load.answered)
        # both stations took records (the balancer spread them)
        got = [sum(t["accepted"] for t in st.request("GET", "/health")[1]["tables"].values())
               for st in s]
        assert got[1] > 0, got
    finally:
        hp.terminate()
        hp.wait(timeout=10)
        for st in s:
            if st.proc.p.poll() is None:
                st.stop()
