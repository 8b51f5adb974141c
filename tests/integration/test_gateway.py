"""zerobus-station as a real process in front of zerobus-emulator: the original service's
API and statuses, both wait_for_ack modes, flush, health under faults, recovery after the
emulator restarts, graceful shutdown under load, and the original README's curl examples."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request

import pytest

from conftest import EMULATOR, STATION, Proc, TIMEOUT_MULT, VALGRIND

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
T1, T2 = "main.zerobus.station_one", "main.zerobus.station_two"
COLS = [{"name": "device_name", "type": "STRING"}, {"name": "temp", "type": "INT"},
        {"name": "humidity", "type": "BIGINT"}]


def write_setup(tmp_path, grpc_port, http_port, station=None, tables=None):
    with open(os.path.join(ROOT, "examples", "config.json")) as f:
        cfg = json.load(f)
    cfg["databricks"] = {"server_endpoint": "http://127.0.0.1:%d" % grpc_port,
                         "workspace_url": "http://127.0.0.1:%d" % http_port}
    st = {"recovery_backoff_ms": 50, "recovery_timeout_ms": "2s"}
    st.update(station or {})
    cfg["station"] = st
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    (tmp_path / ".env").write_text("DATABRICKS_CLIENT_ID=sp\nDATABRICKS_CLIENT_SECRET=s3cret\n")
    cat = {"tables": tables or {T1: {"columns": COLS},
                                T2: {"columns": COLS + [{"name": "description", "type": "STRING"}]}},
           "clients": [{"client_id": "sp", "client_secret": "s3cret", "grants": ["*"]}]}
    (tmp_path / "catalog.json").write_text(json.dumps(cat))


@pytest.fixture
def env(tmp_path, emulator_factory, station_factory):
    """Emulator + station; call env() with station options or extra emulator args."""
    def make(station=None, emu_args=(), tables=None, station_args=()):
        write_setup(tmp_path, 1, 1, tables=tables)  # the catalog first
        e = emulator_factory("--catalog", str(tmp_path / "catalog.json"), *emu_args)
        write_setup(tmp_path, e.grpc_port, e.http_port, station, tables)
        s = station_factory(tmp_path / "config.json", tmp_path / ".env", *station_args)
        return e, s
    return make


def rows(e, table=T1):
    return e.rows(table)


def test_original_readme_examples(env):
    e, s = env()
    # curl -X POST http://localhost:8000/ingest/station_one -H "Content-Type: application/json"
    #      -d '{"device_name": "sensor-001", "temp": 25, "humidity": 60}'
    code, body, _ = s.request("POST", "/ingest/station_one",
                              b'{"device_name": "sensor-001", "temp": 25, "humidity": 60}')
    assert code == 202 and body["status"] == "success" and body["wait_for_ack"] is False
    assert body["table"] == "station_one"
    code, body, _ = s.request("POST", "/ingest/station_two",
                              b'{"device_name": "sensor-002", "temp": 22, "humidity": 55, '
                              b'"description": "Main entrance"}')
    assert code == 202
    code, body, _ = s.request("POST", "/ingest/station_one?wait_for_ack=true",
                              b'{\n  "device_name": "sensor-001",\n  "temp": 25,\n  "humidity": 60\n}')
    assert code == 200 and body["wait_for_ack"] is True
    for path in ["/", "/health", "/health/station_one", "/health/station_two"]:
        code, body, _ = s.request("GET", path)
        assert code == 200, (path, body)
    code, body, _ = s.request("POST", "/flush/station_one")
    assert code == 200 and body["status"] == "success"
    code, body, _ = s.request("POST", "/flush/station_two")
    assert code == 200
    assert rows(e) == [{"device_name": "sensor-001", "temp": 25, "humidity": 60}] * 2
    assert rows(e, T2) == [{"device_name": "sensor-002", "temp": 22, "humidity": 55,
                            "description": "Main entrance"}]


def test_info_and_docs(env):
    e, s = env()
    code, info, _ = s.request("GET", "/")
    assert info["tables"] == ["station_one", "station_two"]
    assert "ingest" in info["endpoints"]
    code, doc, _ = s.request("GET", "/openapi.json")
    assert code == 200 and doc["openapi"] == "3.1.0"
    body = doc["paths"]["/ingest/station_one"]["post"]["requestBody"]["content"]
    one, batch = body["application/json"]["schema"]["oneOf"]  # a record, or an array of them
    assert batch["type"] == "array" and batch["items"] == one and "application/x-ndjson" in body
    schema = one["$ref"].split("/")[-1]
    props = doc["components"]["schemas"][schema]["properties"]
    assert props["temp"]["type"] == ["integer", "null"] and props["temp"]["maximum"] == 2147483647
    assert set(props) == {"device_name", "temp", "humidity"}
    post = doc["paths"]["/ingest/station_one"]["post"]
    enc = [p for p in post["parameters"] if p["name"] == "Content-Encoding"][0]
    assert enc["in"] == "header" and "zstd" in enc["schema"]["enum"]
    assert {"400", "413", "415", "429"} <= set(post["responses"])
    schemas = doc["components"]["schemas"]
    assert {"index", "field", "reason"} <= set(schemas["RecordError"]["properties"])
    assert {"errors", "accepted", "rejected"} <= set(schemas["Error"]["properties"])
    rest = doc["paths"]["/zerobus/v1/tables/%s/insert" % T1]["post"]
    assert rest["requestBody"]["content"]["application/json"]["schema"]["items"] == one
    err = rest["responses"]["400"]["content"]["application/json"]["schema"]["$ref"]
    assert schemas[err.split("/")[-1]]["required"] == ["error_code", "message"]
    for page in ["/docs", "/redoc"]:
        with urllib.request.urlopen(s.url + page, timeout=10) as r:
            html = r.read().decode()
        assert r.status == 200 and "/openapi.json" in html and "https://" not in html


def test_wait_for_ack_means_the_row_is_stored(env):
    e, s = env(emu_args=("--ack-delay-ms", "50"))
    for i in range(5):
        code, body, _ = s.request("POST", "/ingest/station_one?wait_for_ack=true",
                                  {"device_name": "d%d" % i, "temp": i, "humidity": i})
        assert code == 200
        assert {"device_name": "d%d" % i, "temp": i, "humidity": i} in rows(e)
    assert [b for b in [s.request("POST", "/ingest/station_one?wait_for_ack=false",
                                  {"temp": 1})[0]]] == [202]


@pytest.mark.parametrize("body,code,field,msg", [
    (b"not json", 400, "$", "invalid JSON"),
    (b'{"temp": 300000000000}', 400, "$.temp", "out of range for INT"),
    (b'{"tmp": 1}', 400, "$.tmp", "unknown field"),
    (b'{"temp": 1, "temp": 2}', 400, "$.temp", "duplicate key"),
    (b'"text"', 400, "$", "must be a JSON object"),
    (b'', 400, "$", "empty input"),
])
def test_validation_errors_name_the_field(env, body, code, field, msg):
    e, s = env()
    c, b, _ = s.request("POST", "/ingest/station_one", body)
    assert c == code and b["status_code"] == code and b["field"] == field and msg in b["error"], b


def test_statuses(env):
    e, s = env()
    assert s.request("POST", "/ingest/nope", {})[0] == 404
    assert s.request("GET", "/ingest/station_one")[0] == 405
    assert s.request("GET", "/nothing/here")[0] == 404
    assert s.request("POST", "/ingest/station_one?wait_for_ack=maybe", {})[0] == 400
    # Too large: refused from Content-Length alone, before the body is read.
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as so:
        so.sendall(b"POST /ingest/station_one HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                   % (11 << 20))
        reply = so.recv(4096).decode()
    assert reply.startswith("HTTP/1.1 413 ") and '"status_code":413' in reply


def test_window_full_is_429(env):
    # Memory mode: the Zerobus window is the bound (disk mode spools past it).
    e, s = env(station={"max_inflight_records": 5, "durability": "memory"},
               emu_args=("--faults", '{"stall_acks_ms": 3000}'))
    codes = [s.request("POST", "/ingest/station_one", {"temp": i})[0] for i in range(8)]
    assert codes[:5] == [202] * 5
    assert 429 in codes[5:]
    c, b, h = s.request("POST", "/ingest/station_one", {"temp": 9})
    assert c == 429 and h.get("Retry-After") == "1"


def test_schema_mismatch_upstream_is_502(env):
    tables = {T1: {"columns": [{"name": "device_name", "type": "STRING"},
                               {"name": "temp", "type": "BIGINT"},
                               {"name": "humidity", "type": "BIGINT"}]},
              T2: {"columns": COLS + [{"name": "description", "type": "STRING"}]}}
    e, s = env(tables=tables)
    c, b, _ = s.request("POST", "/ingest/station_one?wait_for_ack=true", {"temp": 1})
    assert c == 502 and "INVALID_ARGUMENT" in b["error"] and "temp" in b["error"]
    c, h, _ = s.request("GET", "/health")
    assert c == 503 and h["status"] == "degraded" and "temp" in h["reasons"][0]
    assert h["tables"]["station_one"]["dead_letters"] == 1
    # A flush over records that were rejected (before it came) is not a 200: it says what
    # failed; it covers every record since the start (no flush before it).
    assert s.request("POST", "/ingest/station_one", {"temp": 2})[0] == 202
    c, b, _ = s.request("POST", "/flush/station_one")
    assert c == 502 and b["records"] == 2 and b["failed"] == 2 and b["acknowledged"] == 0, (c, b)
    assert b["pending"] == 0 and b["table"] == "station_one" and "rejected" in b["error"]
    c, b, _ = s.request("POST", "/flush/station_one")  # told once: nothing new since
    assert c == 200 and b["records"] == 0 and b["status"] == "success", (c, b)
    # A record given up makes the exit status non-zero; it is in the dead-letter file.
    s.proc.stop(expect_code=3)
    with open(os.path.join(os.path.dirname(s.config), "spool", "dead-letter", T1 + ".ndjson")) as f:
        dl = [json.loads(line) for line in f]
    assert len(dl) == 2 and dl[0]["status"] == "ZS_EAUTH" and "temp" in dl[0]["message"]
    assert dl[0]["seq"] == 1 and dl[0]["record_base64"] == "EAE="  # field 2 (temp) = 1
    assert dl[0]["record"] == {"temp": 1}  # decoded back with the table's schema
    out = subprocess.run([STATION, "spool", "--config", s.config, "status"], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0 and re.search(r"main\.zerobus\.station_one +\d+ +0 +\d+ +0 +2",
                                             out.stdout), out.stdout


def test_flush_timeout_is_504(env):
    e, s = env(station={"flush_timeout_ms": 300}, emu_args=("--faults", '{"stall_acks_ms": 5000}'))
    assert s.request("POST", "/ingest/station_one", {"temp": 1})[0] == 202
    c, b, _ = s.request("POST", "/flush/station_one")
    assert c == 504 and "timed out" in b["error"]


def free_port():
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


def test_upstream_down_503_then_recovers_without_restart(tmp_path, station_factory):
    gp, hp = free_port(), free_port()
    # A short create timeout makes the 503 quick once the emulator is gone; under valgrind
    # the live emulator itself needs longer to answer the first create.
    write_setup(tmp_path, gp, hp, station={"recovery_retries": 1,
                                           "recovery_timeout_ms": f"{int(500 * TIMEOUT_MULT)}ms"})
    data = str(tmp_path / "data")
    argv = [EMULATOR, "--catalog", str(tmp_path / "catalog.json"), "--port", str(gp),
            "--http-port", str(hp), "--data", data, "--log-level", "warn"]
    emu = Proc(VALGRIND + argv)
    s = station_factory(tmp_path / "config.json", tmp_path / ".env")
    c, b, _ = s.request("POST", "/ingest/station_one?wait_for_ack=true", {"temp": 1})
    assert c == 200, b
    emu.proc_kill = emu.p.send_signal(signal.SIGKILL)
    emu.p.wait()
    c, b, h = s.request("POST", "/ingest/station_one?wait_for_ack=true", {"temp": 2})
    assert c == 503 and h.get("Retry-After") == "1", b
    c, health, _ = s.request("GET", "/health/station_one")
    assert c == 503 and health["status"] == "degraded" and health["last_error"]
    emu2 = Proc(VALGRIND + argv)  # same ports, same data directory
    try:
        deadline = time.monotonic() + 30 * TIMEOUT_MULT
        while True:
            c, b, _ = s.request("POST", "/ingest/station_one?wait_for_ack=true", {"temp": 3})
            if c == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert c == 200, b
        assert s.request("GET", "/health")[0] == 200
        with open(os.path.join(data, T1 + ".ndjson")) as f:
            temps = [json.loads(x)["temp"] for x in f]
        assert 1 in temps and 3 in temps
    finally:
        emu2.stop()


def test_graceful_shutdown_under_load(env):
    e, s = env(emu_args=("--ack-delay-ms", "5"))
    results, lock = [], threading.Lock()
    stop = threading.Event()

    def client(n):
        i = 0
        while not stop.is_set() and i < 400:
            wait = "true" if i % 3 == 0 else "false"
            rec = {"device_name": "c%d" % n, "temp": i, "humidity": n}
            try:
                c, _, _ = s.request("POST", "/ingest/station_one?wait_for_ack=" + wait, rec,
                                    timeout=20)
            except Exception:
                c = None  # the station stopped accepting
            with lock:
                results.append((c, rec))
            i += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20 * TIMEOUT_MULT
    while len(results) < 300 and time.monotonic() < deadline:
        time.sleep(0.01)
    s.proc.p.send_signal(signal.SIGTERM)
    stop.set()
    for t in threads:
        t.join()
    assert s.proc.p.wait(timeout=30 * TIMEOUT_MULT) == 0
    stored = {(r["device_name"], r["temp"], r["humidity"]) for r in rows(e)}
    accepted = [(r["device_name"], r["temp"], r["humidity"]) for c, r in results if c in (200, 202)]
    assert len(accepted) >= 300
    missing = [a for a in accepted if a not in stored]
    assert missing == [], "%d accepted rows lost" % len(missing)


def test_local_mode(tmp_path):
    """--local starts an emulator child with a generated catalog; rows land under DIR."""
    from conftest import STATION
    env = dict(os.environ)
    env.pop("DATABRICKS_CLIENT_SECRET", None)
    p = Proc(VALGRIND + [STATION, "--config", os.path.join(ROOT, "examples", "config.json"),
                         "--host", "127.0.0.1", "--port", "0", "--local", str(tmp_path / "local")],
             env=env)
    url = "http://127.0.0.1:%d" % p.ports["http"]
    req = urllib.request.Request(url + "/ingest/station_one?wait_for_ack=true",
                                 data=b'{"device_name": "sensor-001", "temp": 25, "humidity": 60}',
                                 method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 200
    p.stop()
    with open(tmp_path / "local" / "data" / (T1 + ".ndjson")) as f:
        assert json.loads(f.readline()) == {"device_name": "sensor-001", "temp": 25, "humidity": 60}
    catalog = (tmp_path / "local" / "catalog.json").read_text()
    assert T1 in catalog and oct(os.stat(tmp_path / "local" / "catalog.json").st_mode)[-3:] == "600"


def test_pipelined_requests_answer_in_order(env):
    """A parked wait_for_ack request holds back the responses behind it on its connection."""
    e, s = env(emu_args=("--ack-delay-ms", "200"))
    body = b'{"device_name": "p", "temp": 1, "humidity": 2}'
    req = lambda q: (b"POST /ingest/station_one%s HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     b"application/json\r\nContent-Length: %d\r\n\r\n%s" % (q, len(body), body))
    with socket.create_connection(("127.0.0.1", s.port), timeout=10 * TIMEOUT_MULT) as so:
        so.sendall(req(b"?wait_for_ack=true") + req(b"") + b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while data.count(b"HTTP/1.1 ") < 3:
            chunk = so.recv(65536)
            assert chunk, data
            data += chunk
    starts = [data.index(b"HTTP/1.1 200"), data.index(b"HTTP/1.1 202")]
    assert starts[0] < starts[1], data  # the durable answer first, in request order
    assert b'"wait_for_ack":true' in data.split(b"HTTP/1.1 202")[0]
    assert data.count(b"\r\nDate: ") == 3


def test_half_close_while_parked_still_gets_every_answer(env):
    """A client that pipelines, then shuts down its sending side while the first request
    waits for its ack, gets every answer in order, then the connection closes."""
    e, s = env(emu_args=("--ack-delay-ms", "200"))
    body = lambda i: b'{"device_name": "hc%d", "temp": %d, "humidity": 2}' % (i, i)
    req = lambda q, i: (b"POST /ingest/station_one%s HTTP/1.1\r\nHost: x\r\nContent-Type: "
                        b"application/json\r\nContent-Length: %d\r\n\r\n%s"
                        % (q, len(body(i)), body(i)))
    with socket.create_connection(("127.0.0.1", s.port), timeout=10 * TIMEOUT_MULT) as so:
        so.sendall(req(b"?wait_for_ack=true", 1) + req(b"?wait_for_ack=true", 2))
        so.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            chunk = so.recv(65536)
            if not chunk:
                break  # the station closes once both are answered
            data += chunk
    assert data.count(b"HTTP/1.1 200 ") == 2, data
    offsets = [int(x) for x in re.findall(rb'"offset":(\d+)', data)]
    assert len(offsets) == 2 and offsets[0] < offsets[1], data
    assert b"Connection: close" in data.split(b"HTTP/1.1 200 ")[2], data
    stored = {r["device_name"] for r in rows(e)}
    assert {"hc1", "hc2"} <= stored


def readme_commands():
    """The README's POST examples (curl, or a pipe into curl), continuation lines joined."""
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    text = open(os.path.join(root, "README.md")).read()
    cmds = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for cmd in re.sub(r"\\\n\s*", "", block).splitlines():
            cmd = cmd.split("  #")[0].strip()
            if "curl -X POST http://localhost:8000" in cmd or \
                    'curl -X POST "http://localhost:8000' in cmd:
                cmds.append(cmd)
    return os.path.abspath(root), cmds


def test_readme_examples_work(env):
    """Every POST example of our README, run as written (against the test's port)."""
    e, s = env()
    root, cmds = readme_commands()
    assert len(cmds) >= 8, cmds
    for cmd in cmds:
        cmd = cmd.replace("http://localhost:8000", s.url) + " -s -o /dev/null -w '%{http_code}'"
        out = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], cwd=root, capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 0 and out.stdout in ("200", "202"), (cmd, out)
    assert s.request("POST", "/flush/station_one")[0] == 200
    assert len(rows(e)) >= 200  # the NDJSON file went in more than once


def test_request_ids_and_access_log(env):
    e, s = env(station={"access_log": "all"})
    c, b, h = s.request("POST", "/ingest/station_one", {"temp": 1},
                        {"Content-Type": "application/json", "X-Request-Id": "edge-42:a.b_c"})
    assert c == 202 and h["X-Request-Id"] == "edge-42:a.b_c", h
    ids = set()
    for bad in ("x" * 65, "a b", 'a"b', "a\u00e9"):
        c, b, h = s.request("POST", "/ingest/station_one", {"temp": 1},
                            {"Content-Type": "application/json",
                             "X-Request-Id": bad.encode("utf-8").decode("latin-1")})
        assert c == 202 and h["X-Request-Id"] != bad and len(h["X-Request-Id"]) == 20, h
        ids.add(h["X-Request-Id"])
    c, b, h = s.request("GET", "/health")
    ids.add(h["X-Request-Id"])
    assert len(ids) == 5  # generated ids differ
    # error bodies carry the id, the HTTP layer's refusals the header
    c, b, h = s.request("POST", "/ingest/station_one", {"tmp": 1})
    assert c == 400 and b["request_id"] == h["X-Request-Id"], (b, h)
    c, b, h = s.request("POST", "/ingest/station_one", b"{}",
                        {"Content-Type": "application/json", "Content-Encoding": "br",
                         "X-Request-Id": "refused-1"})
    assert c == 415 and h["X-Request-Id"] == "refused-1", h
    c, b, h = s.request("POST", "/ingest/nope", {"temp": 1},
                        {"Content-Type": "application/json", "Authorization": "Bearer sekrit.x"})
    assert c == 404 and b["request_id"] == h["X-Request-Id"]
    log = s.stop()
    lines = [ln for ln in log.splitlines() if "comp=access" in ln]
    assert any('method=POST path="/ingest/station_one" status=202' in ln and
               "request_id=edge-42:a.b_c" in ln for ln in lines), lines
    assert any("status=415" in ln and "request_id=refused-1" in ln for ln in lines), lines
    assert any('path="/health" status=200' in ln for ln in lines), lines
    assert "sekrit" not in log  # headers are never logged


def test_access_log_errors_only(env):
    e, s = env(station={"access_log": "errors"})
    assert s.request("POST", "/ingest/station_one", {"temp": 1})[0] == 202
    assert s.request("POST", "/ingest/station_one", {"tmp": 1})[0] == 400
    lines = [ln for ln in s.stop().splitlines() if "comp=access" in ln]
    assert len(lines) == 1 and "status=400" in lines[0], lines
