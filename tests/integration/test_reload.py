"""Reload (SIGHUP, POST /admin/reload): tables added, removed and changed under load,
invalid configurations refused whole, a SIGHUP storm; unchanged tables lose nothing and
keep their streams."""
import copy
import json
import re
import signal
import subprocess
import time
import urllib.request

from conftest import STATION, TIMEOUT_MULT
from test_crash import Load, check, wait_drained
from test_gateway import COLS, T1, T2, env  # noqa: F401 (env is a fixture)

T3 = "main.zerobus.station_three"
REC = {"device_name": "d", "temp": 1, "humidity": 2}
TABLES = {T1: {"columns": COLS}, T2: {"columns": COLS + [{"name": "description", "type": "STRING"}]},
          T3: {"columns": COLS}}


def opens(s, table=T1):
    with urllib.request.urlopen(s.url + "/metrics", timeout=30 * TIMEOUT_MULT) as r:
        text = r.read().decode()
    m = re.search(r'^zerobus_station_stream_opens_total\{table="%s"\} (\d+)$' % re.escape(table),
                  text, re.M)
    return int(m.group(1)) if m else None


def edit_config(tmp_path, fn):
    p = tmp_path / "config.json"
    c = json.loads(p.read_text())
    fn(c)
    p.write_text(json.dumps(c))


def reload_count(s):
    return s.request("GET", "/health")[1]["reload"]["count"]


def until(pred, what):
    deadline = time.monotonic() + 20 * TIMEOUT_MULT
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("never: " + what)


def test_reload_adds_changes_removes_tables_under_load(env, tmp_path):
    e, s = env(tables=TABLES, station={"streams_per_table": 1})
    assert s.request("POST", "/ingest/station_two",
                     dict(REC, description="before"))[0] == 202
    assert s.request("POST", "/ingest/station_two", dict(REC, zzz=1))[0] == 400
    assert s.request("POST", "/ingest/station_three", REC)[0] == 404
    load = Load(s.port)
    load.wait_answers(300, 60 * TIMEOUT_MULT)
    until(lambda: (opens(s) or 0) >= 1, "the stream of station_one open")
    opened = opens(s)

    def change(c):
        three = copy.deepcopy(c["tables"]["station_one"])
        three.update(table_name=T3, proto_package="station_three", message_name="StationThree")
        c["tables"]["station_three"] = three
        # a new descriptor (another message name) and a new rule for unknown keys
        c["tables"]["station_two"].update(message_name="StationTwoV2", unknown_fields="ignore")
    edit_config(tmp_path, change)
    c, b, _ = s.request("POST", "/admin/reload", None)
    assert c == 200, b
    assert b["status"] == "reloaded" and b["added"] == ["station_three"], b
    assert b["changed"] == ["station_two"] and b["removed"] == [] and b["unchanged"] == 1, b
    assert b["restart_needed"] == [], b
    # the new table serves; the changed one takes the new schema for new records
    assert s.request("POST", "/ingest/station_three?wait_for_ack=true", REC)[0] == 200
    c, b, _ = s.request("POST", "/ingest/station_two?wait_for_ack=true",
                        dict(REC, description="after", zzz=1))
    assert c == 200, b
    assert "station_three" in s.request("GET", "/openapi.json")[1]["paths"].__repr__()
    load.wait_answers(len(load.answered) + 300, 60 * TIMEOUT_MULT)
    # removed by SIGHUP: 404 from then on, and /health shows it draining beside the others
    edit_config(tmp_path, lambda c: c["tables"].pop("station_three"))
    s.proc.p.send_signal(signal.SIGHUP)
    until(lambda: reload_count(s) == 2, "the SIGHUP reload")
    assert s.request("POST", "/ingest/station_three", REC)[0] == 404
    h = s.request("GET", "/health")[1]
    assert T3 in h["spool_only_tables"] and h["reload"]["last"]["removed"] == ["station_three"], h
    load.wait_answers(len(load.answered) + 300, 60 * TIMEOUT_MULT)
    load.finish()
    # the unchanged table: no stream reopened, no request failed, nothing lost
    assert opens(s) == opened
    assert set(load.codes) <= {200, 202}, load.codes
    assert s.request("POST", "/flush/station_one", None)[0] == 200
    wait_drained(s, 30 * TIMEOUT_MULT)
    check(load, e, "reload under load")
    rows2 = e.rows(T2)
    assert [r["description"] for r in rows2] == ["before", "after"], rows2
    assert len(e.rows(T3)) == 1


def test_reload_refuses_an_invalid_configuration_whole(env, tmp_path):
    e, s = env()
    good = (tmp_path / "config.json").read_text()
    (tmp_path / "config.json").write_text(good.replace('"tables"', '"tables": {}, "x"', 1)[:-5])
    s.proc.p.send_signal(signal.SIGHUP)
    until(lambda: reload_count(s) == 1, "the refused reload")
    h = s.request("GET", "/health")[1]
    assert h["reload"]["failures"] == 1 and "config.json" in h["reload"]["error"], h
    c, b, _ = s.request("POST", "/admin/reload", None)
    assert c == 422 and b["status"] == "refused" and "config.json" in b["error"], b
    # the running configuration stays
    assert s.request("POST", "/ingest/station_one?wait_for_ack=true", REC)[0] == 200
    # a table naming an unknown type: refused too, nothing changes
    def bad_type(c):
        c["tables"]["station_one"]["fields"][0]["type"] = "blob"
    (tmp_path / "config.json").write_text(good)
    edit_config(tmp_path, bad_type)
    assert s.request("POST", "/admin/reload", None)[0] == 422
    assert s.request("POST", "/ingest/station_one", REC)[0] == 202
    # an option a reload cannot apply is reported, the rest applies
    (tmp_path / "config.json").write_text(good)
    edit_config(tmp_path, lambda c: c["station"].update(linger_ms=50, max_batch_errors=3))
    c, b, _ = s.request("POST", "/admin/reload", None)
    assert c == 200 and b["restart_needed"] == ["station.linger_ms"], b
    assert s.request("GET", "/health")[1]["reload"]["error"] is None
    c, b, _ = s.request("POST", "/ingest/station_one?partial=true", [{"temp": "x"}] * 5 + [REC])
    assert c == 202 and b["rejected"] == 5 and len(b["errors"]) == 3, b  # max_batch_errors live


def test_sighup_storm_loses_nothing(env):
    e, s = env()
    load = Load(s.port)
    load.wait_answers(300, 60 * TIMEOUT_MULT)
    until(lambda: (opens(s) or 0) >= 1, "the stream of station_one open")
    opened = opens(s)
    for _ in range(10):
        s.proc.p.send_signal(signal.SIGHUP)
        time.sleep(0.1)
    until(lambda: reload_count(s) == 10, "ten reloads")
    load.wait_answers(len(load.answered) + 300, 60 * TIMEOUT_MULT)
    load.finish()
    assert set(load.codes) <= {200, 202}, load.codes
    assert opens(s) == opened
    h = s.request("GET", "/health")[1]
    assert h["reload"]["failures"] == 0 and h["reload"]["last"]["unchanged"] == 2, h
    wait_drained(s, 30 * TIMEOUT_MULT)
    check(load, e, "SIGHUP storm")


def test_admin_reload_needs_the_admin_right(env, tmp_path):
    kf = str(tmp_path / "keys.json")

    def key(*args):
        out = subprocess.run([STATION, "keys", "--keys-file", kf, "new"] + list(args),
                             capture_output=True, text=True, timeout=30)
        return out.stdout.strip()
    ingest, admin = key("--id", "edge", "--tables", "*"), key("--id", "ops", "--tables", "*",
                                                              "--admin")
    e, s = env(station={"keys_file": "keys.json"})
    assert s.request("POST", "/admin/reload", None)[0] == 401
    c, b, _ = s.request("POST", "/admin/reload", None, {"Authorization": "Bearer " + ingest})
    assert c == 403 and "admin" in b["error"], b
    assert s.request("GET", "/admin/reload", None, {"Authorization": "Bearer " + admin})[0] == 405
    c, b, _ = s.request("POST", "/admin/reload", None, {"Authorization": "Bearer " + admin})
    assert c == 200 and b["status"] == "reloaded", b
