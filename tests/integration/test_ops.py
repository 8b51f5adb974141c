"""What an operator meets: port ownership, signals, JSON logs, the credentials check."""
import json
import signal
import subprocess
import time

from conftest import EMULATOR, STATION, Proc, Station, TIMEOUT_MULT, VALGRIND
from test_gateway import env, free_port, write_setup  # noqa: F401 (env is a fixture)


def test_second_station_on_the_same_port_is_refused(tmp_path, env):
    port = free_port()
    e, s = env(station_args=("--port", str(port)))
    p = subprocess.run(VALGRIND + [STATION, "--config", str(tmp_path / "config.json"),
                                   "--env-file", str(tmp_path / ".env"), "--host", "127.0.0.1",
                                   "--port", str(port), "--spool-dir",
                                   str(tmp_path / "other-spool")],
                       capture_output=True, text=True, timeout=60 * TIMEOUT_MULT)
    assert p.returncode == 1 and "READY" not in p.stdout
    assert "127.0.0.1:%d" % port in p.stderr and "another process" in p.stderr, p.stderr
    # The first one still has all the traffic.
    assert s.request("GET", "/health")[0] == 200


def test_second_station_on_the_same_spool_is_refused(tmp_path, env):
    e, s = env()
    p = subprocess.run([STATION, "--config", str(tmp_path / "config.json"), "--env-file",
                        str(tmp_path / ".env"), "--host", "127.0.0.1", "--port", "0"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "in use by another station" in p.stderr, p.stderr
    assert str(tmp_path / "spool") in p.stderr


def test_second_emulator_on_the_same_ports_is_refused(tmp_path):
    gp, hp = free_port(), free_port()
    write_setup(tmp_path, gp, hp)
    argv = [EMULATOR, "--catalog", str(tmp_path / "catalog.json"), "--port", str(gp),
            "--http-port", str(hp), "--data", str(tmp_path / "d1"), "--log-level", "warn"]
    first = Proc(VALGRIND + argv)
    try:
        for other in (["--port", str(gp), "--http-port", "0"],
                      ["--port", "0", "--http-port", str(hp)]):
            p = subprocess.run([EMULATOR, "--catalog", str(tmp_path / "catalog.json"),
                                "--data", str(tmp_path / "d2"), "--log-level", "warn"] + other,
                               capture_output=True, text=True, timeout=60)
            assert p.returncode != 0 and "READY" not in p.stdout, (other, p.stdout, p.stderr)
    finally:
        first.stop()


def test_sighup_is_not_fatal_and_json_logs_have_fields(env):
    e, s = env(station_args=("--log-format", "json"))
    assert s.request("POST", "/ingest/station_one?wait_for_ack=true", {"temp": 1})[0] == 200
    for _ in range(3):
        s.proc.p.send_signal(signal.SIGHUP)
    time.sleep(0.2 * TIMEOUT_MULT)  # let a fatal signal act, if it were one
    assert s.proc.p.poll() is None
    assert s.request("POST", "/ingest/station_one?wait_for_ack=true", {"temp": 2})[0] == 200
    err = s.stop()
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert lines and len(lines) == len([x for x in err.splitlines() if x.strip()]), err
    for rec in lines:
        assert {"time", "level", "comp", "msg"} <= set(rec), rec
    listening = [r for r in lines if r["msg"] == "listening"][0]
    assert listening["port"] == s.port and listening["durability"] == "disk"
    assert listening["workers"] == 2 and listening["spool_dir"].endswith("spool")
    assert any(r["msg"] == "reloading" and r["by"] == "signal" for r in lines)
    opened = [r for r in lines if r["msg"] == "stream opened"][0]
    assert opened["table"] == "main.zerobus.station_one" and opened["slot"] == 0


def test_health_is_unhealthy_without_credentials(tmp_path, emulator_factory):
    write_setup(tmp_path, 1, 1)
    e = emulator_factory("--catalog", str(tmp_path / "catalog.json"))
    write_setup(tmp_path, e.grpc_port, e.http_port)
    (tmp_path / "empty.env").write_text("")
    s = Station(tmp_path / "config.json", tmp_path / "empty.env")
    try:
        code, h, hdr = s.request("GET", "/health")
        assert code == 503 and h["status"] == "unhealthy", h
        assert any("no credentials" in r for r in h["reasons"])
    finally:
        s.stop()


def test_systemd_notify_ready_reload_watchdog_stopping(tmp_path, env):
    """Type=notify: READY=1 once listening, RELOADING=1 then READY=1 around a SIGHUP,
    WATCHDOG=1 while the workers turn, STOPPING=1 on SIGTERM (a fake $NOTIFY_SOCKET)."""
    import os
    import socket
    e, s = env()  # writes config.json and .env, and gives the emulator
    s.stop()
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10 * TIMEOUT_MULT)
    env_ = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="200000")
    p = Proc(VALGRIND + [STATION, "--config", str(tmp_path / "config.json"), "--env-file",
                         str(tmp_path / ".env"), "--host", "127.0.0.1", "--port", "0",
                         "--workers", "2"], env=env_)

    def until(word):
        seen = []
        while True:
            m = sock.recv(4096).decode()
            seen.append(m)
            if word in m.split("\n"):
                return seen

    try:
        assert any("STATUS=serving" in m for m in until("READY=1"))
        for _ in range(2):
            until("WATCHDOG=1")
        p.p.send_signal(signal.SIGHUP)
        seen = until("RELOADING=1")
        assert any(m.startswith("RELOADING=1") and "MONOTONIC_USEC=" in m for m in seen)
        until("READY=1")
        p.p.send_signal(signal.SIGTERM)
        until("STOPPING=1")
    finally:
        p.stop()
        sock.close()
