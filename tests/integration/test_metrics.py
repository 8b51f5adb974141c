"""GET /metrics: the Prometheus text format, checked by promtool, and every family's values
moving as known traffic says they must."""
import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import STATION, TIMEOUT_MULT
from test_gateway import T1, T2, env, rows  # noqa: F401  (env is a fixture)

REC = {"device_name": "d", "temp": 1, "humidity": 2}


def scrape(s, headers=None):
    req = urllib.request.Request(s.url + "/metrics", headers=headers or {})
    with urllib.request.urlopen(req, timeout=30 * TIMEOUT_MULT) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers
        return r.read().decode()


def parse(text):
    """{(name, frozenset(labels.items())): value} of every sample; checks TYPE precedes it."""
    out, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        if line.startswith("#") or not line:
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        assert m, line
        name, labels = m.group(1), dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in typed or base in typed, "sample before its TYPE: " + line
        out[(name, frozenset(labels.items()))] = float(m.group(4))
    return out


def val(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def promtool(text, tmp_path):
    tool = shutil.which("promtool")
    if tool is None:
        pytest.skip("promtool (Debian package prometheus) is not installed")
    p = subprocess.run([tool, "check", "metrics"], input=text, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr


def test_metrics_families_move_with_traffic(env, tmp_path):
    e, s = env()
    before = parse(scrape(s))
    assert val(before, "zerobus_station_records_accepted_total", table=T1) == 0
    # 3 accepted (one waited for its ack), a batch of 4, 2 invalid, 1 unknown route
    for _ in range(2):
        assert s.request("POST", "/ingest/station_one", REC)[0] == 202
    assert s.request("POST", "/ingest/station_one?wait_for_ack=true", REC)[0] == 200
    assert s.request("POST", "/ingest/station_one?wait_for_ack=true", [REC] * 4)[0] == 200
    assert s.request("POST", "/ingest/station_one", {"device_name": 5})[0] == 400
    assert s.request("POST", "/ingest/station_one", [REC, {"temp": "x"}])[0] == 400
    assert s.request("GET", "/nope")[0] == 404
    assert s.request("POST", "/flush/station_one", None)[0] == 200
    text = scrape(s)
    promtool(text, tmp_path)
    m = parse(text)
    assert val(m, "zerobus_station_build_info", version=re.search(
        r'version="([^"]+)"', text).group(1), compiler=re.search(
        r'compiler="([^"]+)"', text).group(1)) == 1
    assert val(m, "zerobus_station_records_accepted_total", table=T1) == 7
    assert val(m, "zerobus_station_records_accepted_total", table=T2) == 0
    # the invalid object (1) and the whole all-or-nothing batch (2)
    assert val(m, "zerobus_station_records_rejected_total", table=T1, reason="validation") == 3
    assert val(m, "zerobus_station_records_rejected_total", table=T1, reason="auth") == 0
    assert val(m, "zerobus_station_http_requests_total", route="ingest", code="202") == 2
    assert val(m, "zerobus_station_http_requests_total", route="ingest", code="200") == 2
    assert val(m, "zerobus_station_http_requests_total", route="ingest", code="400") == 2
    assert val(m, "zerobus_station_http_requests_total", route="other", code="404") == 1
    assert val(m, "zerobus_station_http_requests_total", route="flush", code="200") == 1
    assert val(m, "zerobus_station_http_requests_total", route="metrics", code="200") == 1
    assert val(m, "zerobus_station_http_request_duration_seconds_count", route="ingest") == 6
    assert val(m, "zerobus_station_http_request_duration_seconds_bucket", route="ingest",
               le="+Inf") == 6
    assert val(m, "zerobus_station_http_request_duration_seconds_sum", route="ingest") > 0
    assert val(m, "zerobus_station_http_request_bytes_total", route="ingest") > 6 * 50
    # every record is acknowledged after the flush; the ack latency histogram saw them
    assert val(m, "zerobus_station_records_acknowledged_total", table=T1) == 7
    assert val(m, "zerobus_station_records_awaiting_ack", table=T1) == 0
    assert val(m, "zerobus_station_records_inflight", table=T1) == 0
    assert val(m, "zerobus_station_ack_latency_seconds_count", table=T1) >= 1
    assert val(m, "zerobus_station_ack_latency_seconds_count", table=T2) == 0
    assert val(m, "zerobus_station_stream_opens_total", table=T1) >= 1
    assert val(m, "zerobus_station_stream_open", table=T1) == 1
    assert val(m, "zerobus_station_stream_recoveries_total", table=T1) == 0
    # OAuth against the emulator: at least one token fetched, none failed
    assert val(m, "zerobus_station_token_fetches_total") >= 1
    assert val(m, "zerobus_station_token_fetch_failures_total") == 0
    for name in ("process_cpu_seconds_total", "process_resident_memory_bytes",
                 "process_open_fds", "process_start_time_seconds"):
        assert val(m, name) > 0, name
    assert len(rows(e)) == 7


def until(s, pred, what):
    deadline = time.monotonic() + 20 * TIMEOUT_MULT
    while time.monotonic() < deadline:
        m = parse(scrape(s))
        if pred(m):
            return m
        time.sleep(0.05)
    raise AssertionError("metrics never showed " + what)


def test_metrics_stream_errors_and_close_signals(env, tmp_path):
    e, s = env()
    assert s.request("POST", "/ingest/station_one?wait_for_ack=true", REC)[0] == 200
    e.faults(close_signal_now={"duration_ms": 0})
    until(s, lambda m: val(m, "zerobus_station_stream_close_signals_total", table=T1) == 1,
          "the close signal")
    # a stream dropped with a record in flight (retried), then a create Zerobus refuses for
    # good: the record fails (502), counted as an upstream rejection and a fatal error
    assert s.request("POST", "/ingest/station_one?wait_for_ack=true", REC)[0] == 200
    e.faults(drop_after_records=1, fail_create={"count": 5, "status": "INVALID_ARGUMENT",
                                                "message": "no"})
    c, b, _ = s.request("POST", "/ingest/station_one?wait_for_ack=true", REC)
    assert c == 502, b
    text = scrape(s)
    promtool(text, tmp_path)
    m = parse(text)
    assert val(m, "zerobus_station_stream_errors_total", table=T1, code="UNAVAILABLE") >= 1
    assert val(m, "zerobus_station_stream_fatal_errors_total", table=T1,
               code="INVALID_ARGUMENT") == 1
    assert val(m, "zerobus_station_stream_recoveries_total", table=T1) >= 2
    assert val(m, "zerobus_station_records_rejected_total", table=T1,
               reason="upstream_rejected") == 1
    assert val(m, "zerobus_station_records_failed_total", table=T1) == 1
    assert val(m, "zerobus_station_records_accepted_total", table=T1) == 2
    s.proc.stop(expect_code=3)  # a record was dead-lettered


def test_metrics_backpressure_and_auth(env, tmp_path):
    kf = str(tmp_path / "keys.json")
    out = subprocess.run([STATION, "keys", "--keys-file", kf, "new", "--id", "edge",
                          "--tables", "station_one"], capture_output=True, text=True, timeout=30)
    key = out.stdout.strip()
    e, s = env(station={"keys_file": "keys.json", "max_inflight_records": 2,
                        "durability": "memory"},
               emu_args=("--faults", '{"stall_acks_ms": 3000}'))
    hdr = {"Content-Type": "application/json", "Authorization": "Bearer " + key}
    # without a key: 401, and /metrics itself needs one
    assert s.request("POST", "/ingest/station_one", REC)[0] == 401
    assert s.request("POST", "/ingest/station_two", REC, hdr)[0] == 403
    try:
        scrape(s)
        raise AssertionError("/metrics answered without a key")
    except urllib.error.HTTPError as err:
        assert err.code == 401
    codes = [s.request("POST", "/ingest/station_one", REC, hdr)[0] for _ in range(6)]
    assert 429 in codes and 202 in codes, codes
    m = parse(scrape(s, {"Authorization": "Bearer " + key}))
    assert val(m, "zerobus_station_records_rejected_total", table=T1, reason="auth") == 1
    assert val(m, "zerobus_station_records_rejected_total", table=T2, reason="auth") == 1
    assert val(m, "zerobus_station_records_rejected_total", table=T1,
               reason="backpressure") == codes.count(429)
    assert val(m, "zerobus_station_records_accepted_total", table=T1) == codes.count(202)
    assert val(m, "zerobus_station_auth_failures_total") == 2  # the 401 and the keyless scrape
    assert val(m, "zerobus_station_http_requests_total", route="metrics", code="401") == 1


def test_grafana_dashboard_queries_valid_metrics(env, tmp_path):
    """contrib/grafana: every query parses (promtool check rules) and names a family the
    station exports."""
    e, s = env()
    assert s.request("POST", "/ingest/station_one?wait_for_ack=true", REC)[0] == 200
    typed = set(re.findall(r"^# TYPE (\S+)", scrape(s), re.M))
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    dash = json.load(open(os.path.join(root, "contrib", "grafana", "zerobus-station.json")))
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    assert len(exprs) >= 15
    for x in exprs:
        for name in re.findall(r"\b((?:zerobus_station|process)_[a-z_]+)", x):
            assert re.sub(r"_bucket$", "", name) in typed, (name, x)
    tool = shutil.which("promtool")
    if tool is None:
        pytest.skip("promtool (Debian package prometheus) is not installed")
    rules = tmp_path / "rules.yml"
    rules.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": [
        {"record": "dashboard:q%d" % i, "expr": x} for i, x in enumerate(exprs)]}]}))
    p = subprocess.run([tool, "check", "rules", str(rules)], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
