"""Tables without hand-written fields: columns from the emulator's Unity Catalog API, the
schema cache, the comparison of hand-written fields, `init`, and schema changes."""
import json
import os
import subprocess

import pytest

from conftest import STATION, TIMEOUT_MULT
from test_gateway import COLS, T1, T2, write_setup

SEED_ROWS = [("station_one", {"device_name": "sensor-001", "temp": 25, "humidity": 60}),
             ("station_two", {"device_name": "sensor-002", "temp": 22, "humidity": 55,
                              "description": "Main entrance"}),
             ("station_one", {"device_name": "sensor-003", "temp": "26", "humidity": 61})]


def names_only(tmp_path, station=None, tables=None):
    """Rewrite config.json with table names only (the short form)."""
    p = tmp_path / "config.json"
    c = json.loads(p.read_text())
    c["tables"] = tables or {"station_one": T1, "station_two": T2}
    if station:
        c["station"].update(station)
    p.write_text(json.dumps(c))


def start(tmp_path, emulator_factory, station_factory, station=None, tables=None, args=()):
    write_setup(tmp_path, 1, 1)
    e = emulator_factory("--catalog", str(tmp_path / "catalog.json"))
    write_setup(tmp_path, e.grpc_port, e.http_port, station)
    names_only(tmp_path, tables=tables)
    s = station_factory(tmp_path / "config.json", tmp_path / ".env", *args)
    return e, s


def ingest_seed(s):
    for key, rec in SEED_ROWS:
        code, body, _ = s.request("POST", "/ingest/%s?wait_for_ack=true" % key, rec)
        assert code == 200, body


def test_table_names_only_ingest_like_hand_written_fields(tmp_path, emulator_factory,
                                                          station_factory):
    # the hand-written configuration of the seed first, into its own store
    hand = tmp_path / "hand"
    hand.mkdir()
    write_setup(hand, 1, 1)
    e1 = emulator_factory("--catalog", str(hand / "catalog.json"), tmp=hand)
    write_setup(hand, e1.grpc_port, e1.http_port)
    s1 = station_factory(hand / "config.json", hand / ".env")
    ingest_seed(s1)
    # then the short form: table names only, the columns from the catalog
    e2, s2 = start(tmp_path, emulator_factory, station_factory)
    ingest_seed(s2)
    assert e2.rows(T1) == e1.rows(T1) and e2.rows(T2) == e1.rows(T2)
    assert len(e2.rows(T1)) == 2 and e2.rows(T1)[1]["temp"] == 26
    # validation works as with fields: unknown keys and bad types are 400 naming the field
    code, body, _ = s2.request("POST", "/ingest/station_one", {"device_name": "x", "tmp": 1})
    assert code == 400 and "tmp" in json.dumps(body), body
    code, body, _ = s2.request("POST", "/ingest/station_one", {"temp": "warm"})
    assert code == 400 and "temp" in json.dumps(body), body
    h = s2.request("GET", "/health")[1]
    sch = h["tables"]["station_one"]["schema"]
    assert sch["source"] == "catalog" and sch["columns"] == 3 and sch["age_s"] < 60, sch
    assert h["tables"]["station_two"]["schema"]["columns"] == 4
    assert s1.request("GET", "/health")[1]["tables"]["station_one"]["schema"] == \
        {"source": "config", "columns": 3}
    # the OpenAPI document lists the catalog's columns
    doc = json.dumps(s2.request("GET", "/openapi.json")[1])
    assert "description" in doc and "humidity" in doc
    # the reply is cached beside the spool
    cached = json.loads((tmp_path / "spool" / "schemas" / (T1 + ".json")).read_text())
    assert [c["name"] for c in cached["columns"]] == ["device_name", "temp", "humidity"]
    assert cached["zerobus_station_fetched_at"] > 0
    # and the log says what was found
    assert 'msg="columns from Unity Catalog" table=%s columns=3' % T1 in s2.stop()


def test_catalog_down_starts_from_the_cache(tmp_path, emulator_factory, station_factory):
    e, s = start(tmp_path, emulator_factory, station_factory)
    assert s.request("POST", "/ingest/station_one?wait_for_ack=true", SEED_ROWS[0][1])[0] == 200
    s.stop()
    e.faults(catalog_status=503)
    s = station_factory(tmp_path / "config.json", tmp_path / ".env")
    h = s.request("GET", "/health")[1]
    assert h["tables"]["station_one"]["schema"]["source"] == "cache", h
    assert h["tables"]["station_one"]["schema"]["age_s"] >= 0
    code, body, _ = s.request("POST", "/ingest/station_two?wait_for_ack=true", SEED_ROWS[1][1])
    assert code == 200, body
    assert e.rows(T2) == [SEED_ROWS[1][1]]
    assert "catalog unreachable: cached columns used" in s.stop()


def test_catalog_down_without_cache_is_a_clear_start_error(tmp_path, emulator_factory):
    write_setup(tmp_path, 1, 1)
    e = emulator_factory("--catalog", str(tmp_path / "catalog.json"))
    write_setup(tmp_path, e.grpc_port, e.http_port)
    names_only(tmp_path)
    e.faults(catalog_status=503)
    r = subprocess.run([STATION, "--config", str(tmp_path / "config.json"), "--env-file",
                        str(tmp_path / ".env"), "--port", "0"], capture_output=True, text=True,
                       timeout=60 * TIMEOUT_MULT)
    assert r.returncode == 1, r
    assert "tables.station_one (%s): no columns:" % T1 in r.stderr, r.stderr
    assert "no cached copy" in r.stderr and "503" in r.stderr, r.stderr
    # a table the catalog does not have: named, whatever the cache
    e.faults(catalog_status=0)
    names_only(tmp_path, tables={"nope": "main.zerobus.nope"})
    r = subprocess.run([STATION, "check", "--config", str(tmp_path / "config.json"),
                        "--env-file", str(tmp_path / ".env")], capture_output=True, text=True,
                       timeout=60 * TIMEOUT_MULT)
    assert r.returncode == 1 and "tables.nope (main.zerobus.nope)" in r.stderr, r.stderr
    assert "404" in r.stderr and "TABLE_DOES_NOT_EXIST" in r.stderr, r.stderr


def test_hand_written_fields_are_checked_against_the_catalog(tmp_path, emulator_factory,
                                                             station_factory):
    tables = {T1: {"columns": COLS}, T2: {"columns": COLS + [
        {"name": "description", "type": "STRING"}, {"name": "site", "type": "STRING"}]}}
    write_setup(tmp_path, 1, 1, tables=tables)
    e = emulator_factory("--catalog", str(tmp_path / "catalog.json"))
    write_setup(tmp_path, e.grpc_port, e.http_port, tables=tables)
    r = subprocess.run([STATION, "check", "--config", str(tmp_path / "config.json"),
                        "--env-file", str(tmp_path / ".env")], capture_output=True, text=True,
                       timeout=60 * TIMEOUT_MULT)
    assert r.returncode == 0, r.stderr
    assert 'msg="fields differ from the catalog" table=%s differences=1' % T2 in r.stderr
    assert "column 'site' (STRING) is in the catalog, not in config.json" in r.stderr, r.stderr
    write_setup(tmp_path, e.grpc_port, e.http_port, {"schema_check": "strict"}, tables=tables)
    r = subprocess.run([STATION, "check", "--config", str(tmp_path / "config.json"),
                        "--env-file", str(tmp_path / ".env")], capture_output=True, text=True,
                       timeout=60 * TIMEOUT_MULT)
    assert r.returncode == 1, r
    assert "tables.station_two (%s): fields differ from the catalog (schema_check: strict)" % T2 \
        in r.stderr, r.stderr


def test_emulator_lists_and_alters_tables(tmp_path, emulator_factory):
    write_setup(tmp_path, 1, 1)
    e = emulator_factory("--catalog", str(tmp_path / "catalog.json"))
    _, tok = e.token("sp", "s3cret")
    auth = {"Authorization": "Bearer " + tok["access_token"]}
    code, body = e.http("GET", "/api/2.1/unity-catalog/tables?catalog_name=main&schema_name=zerobus",
                        headers=auth)
    assert code == 200 and sorted(t["full_name"] for t in body["tables"]) == [T1, T2], body
    assert e.http("GET", "/api/2.1/unity-catalog/tables?catalog_name=main&schema_name=other",
                  headers=auth) == (200, {"tables": []})
    assert e.http("GET", "/api/2.1/unity-catalog/tables?catalog_name=main")[0] == 401

    def alter(body, table=T1):
        return e.http("POST", "/admin/tables/%s/alter" % table, json.dumps(body).encode())
    code, body = alter({"add": [{"name": "site", "type": "STRING"}], "drop": ["humidity"]})
    assert code == 200 and [c["name"] for c in body["columns"]] == ["device_name", "temp", "site"]
    code, body = e.http("GET", "/api/2.1/unity-catalog/tables/" + T1, headers=auth)
    assert [(c["name"], c["type_text"], c["position"]) for c in body["columns"]] == \
        [("device_name", "string", 0), ("temp", "int", 1), ("site", "string", 2)]
    assert alter({"add": [{"name": "x", "type": "INT", "nullable": False}]})[0] == 400
    assert alter({"add": [{"name": "site", "type": "INT"}]})[0] == 400
    assert alter({"add": [{"name": "y", "type": "NOPE"}]})[0] == 400
    assert alter({"drop": ["nope"]})[0] == 400
    assert alter({"drop": ["device_name", "temp", "site"]})[0] == 400
    assert alter({"add": []}, table="main.zerobus.none")[0] == 404
    e.faults(catalog_status=503)
    assert e.http("GET", "/api/2.1/unity-catalog/tables/" + T1, headers=auth)[0] == 503


RICH = "main.zerobus.rich"
RICH_COLS = [{"name": "id", "type": "BIGINT", "nullable": False},
             {"name": "day", "type": "DATE"},
             {"name": "at", "type": "TIMESTAMP"},
             {"name": "price", "type": "DECIMAL(10,2)"},
             {"name": "tags", "type": "ARRAY<STRING>"},
             {"name": "props", "type": "MAP<STRING, INT>"},
             {"name": "loc", "type": "STRUCT<lat: DOUBLE NOT NULL, lon: DOUBLE>"},
             {"name": "small", "type": "TINYINT"}]


def run(args, env=None, ok=True):
    r = subprocess.run([STATION] + args, capture_output=True, text=True, env=env,
                       timeout=60 * TIMEOUT_MULT)
    if ok is not None:
        assert (r.returncode == 0) == ok, (args, r.returncode, r.stdout, r.stderr)
    return r


def test_init_writes_a_config_that_checks_and_round_trips(tmp_path, emulator_factory,
                                                          station_factory):
    tables = {T1: {"columns": COLS}, T2: {"columns": COLS + [{"name": "description",
                                                              "type": "STRING"}]},
              RICH: {"columns": RICH_COLS}}
    write_setup(tmp_path, 1, 1, tables=tables)
    e = emulator_factory("--catalog", str(tmp_path / "catalog.json"))
    out = tmp_path / "new"
    out.mkdir()
    env = dict(os.environ, DATABRICKS_CLIENT_ID="sp", DATABRICKS_CLIENT_SECRET="s3cret")
    args = ["init", "--workspace-url", e.url, "--server-endpoint",
            "http://127.0.0.1:%d" % e.grpc_port, "--schema", "main.zerobus"]
    r = run(args + ["--output", str(out / "config.json")], env)
    assert "wrote %s (3 tables)" % (out / "config.json") in r.stdout, r.stdout
    cfg = json.loads((out / "config.json").read_text())
    # the seed's tables come out exactly as the original service's README writes them
    with open(os.path.join(os.path.dirname(STATION), "..", "..", "..", "examples",
                           "config.json")) as f:
        seed = json.load(f)
    assert cfg["tables"]["station_one"] == seed["tables"]["station_one"]
    assert cfg["tables"]["station_two"] == seed["tables"]["station_two"]
    rich = {f["name"]: f for f in cfg["tables"]["rich"]["fields"]}
    assert rich["id"] == {"name": "id", "type": "int64", "proto_type": "required int64",
                          "field_num": 1}
    assert rich["day"]["type"] == "DATE" and rich["day"]["proto_type"] == "optional int32"
    assert rich["loc"] == {"name": "loc", "type": "STRUCT<lat: DOUBLE NOT NULL, lon: DOUBLE>",
                           "field_num": 7}
    env_text = (out / ".env").read_text()
    assert "DATABRICKS_CLIENT_ID=sp\n" in env_text and "DATABRICKS_CLIENT_SECRET=\n" in env_text
    assert oct(os.stat(out / ".env").st_mode & 0o777) == "0o600"
    # it checks, and its fields equal the catalog's (no difference logged)
    (out / ".env").write_text("DATABRICKS_CLIENT_ID=sp\nDATABRICKS_CLIENT_SECRET=s3cret\n")
    r = run(["check", "--config", str(out / "config.json")])
    assert "OK: 3 table(s)" in r.stdout and "differ" not in r.stderr, r.stderr
    # round trip: the same catalog gives the same file; an existing one needs --force
    run(args + ["--output", str(out / "config.json")], env, ok=False)
    run(args + ["--output", str(out / "again.json"), "--force"], env)
    assert (out / "again.json").read_text() == (out / "config.json").read_text()
    # and it serves: a record with every kind of column lands
    s = station_factory(out / "config.json", out / ".env")
    rec = {"id": 7, "day": "2026-12-05", "at": "2026-12-05T10:00:00Z", "price": "12.5",
           "tags": ["a"], "props": {"k": 1}, "loc": {"lat": 1.5}, "small": 3}
    code, body, _ = s.request("POST", "/ingest/rich?wait_for_ack=true", rec)
    assert code == 200, body
    row = e.rows(RICH)[0]
    assert row["id"] == 7 and row["price"] == "12.50" and row["loc"]["lat"] == 1.5, row


def test_init_local_and_errors(tmp_path, emulator_factory):
    local = tmp_path / "local"
    local.mkdir()
    (local / "catalog.json").write_text(json.dumps({"tables": {RICH: {"columns": RICH_COLS}}}))
    r = run(["init", "--local", str(local), "--table", RICH, "--output",
             str(tmp_path / "config.json")])
    assert "%s: 8 columns -> POST /ingest/rich" % RICH in r.stdout, r.stdout
    r = run(["check", "--no-credentials", "--config", str(tmp_path / "config.json")])
    assert "OK: 1 table(s)" in r.stdout
    # the catalog file keeps its tables (a later --local run serves them)
    assert RICH in json.loads((local / "catalog.json").read_text())["tables"]
    assert run(["init"], ok=None).returncode == 2
    r = run(["init", "--local", str(local), "--table", "main.zerobus.nope", "--output",
             str(tmp_path / "x.json")], ok=False)
    assert "main.zerobus.nope" in r.stderr and "404" in r.stderr, r.stderr
    assert not (tmp_path / "x.json").exists()
    r = run(["init", "--local", str(local), "--schema", "main", "--output",
             str(tmp_path / "x.json")], ok=False)
    assert "is not catalog.schema" in r.stderr


def dead_letters(tmp_path, table):
    p = tmp_path / "spool" / "dead-letter" / (table + ".ndjson")
    return [json.loads(line) for line in p.read_text().splitlines()] if p.exists() else []


@pytest.mark.parametrize("durability", ["disk", "memory"])
def test_column_added_under_load_loses_nothing(tmp_path, emulator_factory, station_factory,
                                               durability):
    from test_crash import Load, check, wait_drained
    e, s = start(tmp_path, emulator_factory, station_factory, station={"durability": durability})
    load = Load(s.port)
    load.wait_answers(200, 60 * TIMEOUT_MULT)
    code, body = e.http("POST", "/admin/tables/%s/alter" % T1,
                        json.dumps({"add": [{"name": "site", "type": "STRING"}]}).encode())
    assert code == 200, body
    # the station sees Zerobus refuse the old descriptor, fetches the columns, switches
    deadline = __import__("time").monotonic() + 30 * TIMEOUT_MULT
    while s.request("GET", "/health")[1]["tables"]["station_one"]["schema"]["columns"] != 4:
        assert __import__("time").monotonic() < deadline, "the new column never showed"
        __import__("time").sleep(0.05)
    code, body, _ = s.request("POST", "/ingest/station_one?wait_for_ack=true",
                              {"device_name": "new", "site": "north", "humidity": -1})
    assert code == 200, body
    assert "site" in json.dumps(s.request("GET", "/openapi.json")[1])
    load.wait_answers(len(load.answered) + 200, 60 * TIMEOUT_MULT)
    load.finish()
    wait_drained(s, 60 * TIMEOUT_MULT)
    check(load, e, "column added")
    assert {"device_name": "new", "temp": None, "humidity": -1, "site": "north"} in e.rows(T1)
    assert dead_letters(tmp_path, T1) == []
    err = s.stop()
    assert "Zerobus refused the table's descriptor: fetching its schema again" in err, err[-3000:]
    assert "msg=\"table schema changed\" table=%s source=catalog detail=\"column 'site' " \
        "(STRING) is in now, not in before\"" % T1 in err, err[-3000:]
    assert "msg=\"records rewritten for the table's new schema\"" in err or \
        "records held" not in err


def test_column_dropped_delivers_what_fits(tmp_path, emulator_factory, station_factory):
    e, s = start(tmp_path, emulator_factory, station_factory,
                 station={"recovery_backoff_max_ms": 200})
    # streams cannot open: what follows stays in the spool until after the ALTER
    e.faults(fail_create={"count": 100000, "status": "UNAVAILABLE"})
    fits = [{"device_name": "fits-%d" % i, "humidity": i} for i in range(5)]
    dropped = [{"device_name": "has-temp-%d" % i, "temp": i, "humidity": 100 + i}
               for i in range(3)]
    for rec in fits + dropped:
        code, body, _ = s.request("POST", "/ingest/station_one", rec)
        assert code == 202, body
    code, body = e.http("POST", "/admin/tables/%s/alter" % T1,
                        json.dumps({"drop": ["temp"]}).encode())
    assert code == 200, body
    e.faults(fail_create={"count": 0, "status": "UNAVAILABLE"})
    import time
    deadline = time.monotonic() + 30 * TIMEOUT_MULT
    while len(dead_letters(tmp_path, T1)) < 3 or \
            len([r for r in e.rows(T1) if r["device_name"].startswith("fits")]) < 5:
        assert time.monotonic() < deadline, (e.rows(T1), dead_letters(tmp_path, T1))
        time.sleep(0.05)
    stored = {r["device_name"] for r in e.rows(T1)}
    assert {r["device_name"] for r in fits} <= stored
    assert not any(n.startswith("has-temp") for n in stored)
    dl = dead_letters(tmp_path, T1)
    assert sorted(d["record"]["device_name"] for d in dl) == \
        sorted(r["device_name"] for r in dropped), dl
    assert all("column 'temp' has a value but is no longer in the table" in d["message"]
               for d in dl), dl
    # new records follow the new columns: temp is now an unknown field
    code, body, _ = s.request("POST", "/ingest/station_one", {"device_name": "x", "temp": 1})
    assert code == 400 and "temp" in json.dumps(body), body
    assert s.request("POST", "/ingest/station_one?wait_for_ack=true",
                     {"device_name": "after", "humidity": 9})[0] == 200
    assert s.request("GET", "/health")[1]["tables"]["station_one"]["schema"]["columns"] == 2
    s.proc.stop(expect_code=3)  # records were dead-lettered: the documented exit status


def test_schema_refresh_by_endpoint_and_sighup(tmp_path, emulator_factory, station_factory):
    import signal
    import time
    e, s = start(tmp_path, emulator_factory, station_factory)
    e.http("POST", "/admin/tables/%s/alter" % T1,
           json.dumps({"add": [{"name": "site", "type": "STRING"}]}).encode())
    code, body, _ = s.request("POST", "/admin/schema/refresh", None)
    assert code == 200 and body["changed"] == ["station_one"] and body["unchanged"] == 1, body
    assert s.request("GET", "/health")[1]["tables"]["station_one"]["schema"]["columns"] == 4
    code, body, _ = s.request("POST", "/ingest/station_one?wait_for_ack=true",
                              {"device_name": "a", "site": "b"})
    assert code == 200, body
    # SIGHUP re-fetches too; nothing changed this time
    e.http("POST", "/admin/tables/%s/alter" % T2,
           json.dumps({"add": [{"name": "site", "type": "STRING"}]}).encode())
    s.proc.p.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 20 * TIMEOUT_MULT
    while s.request("GET", "/health")[1]["tables"]["station_two"]["schema"]["columns"] != 5:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # the catalog down: a refresh keeps the running schemas (the cache) and says so
    e.faults(catalog_status=503)
    code, body, _ = s.request("POST", "/admin/schema/refresh", None)
    assert code == 200 and body["changed"] == [], body
    assert s.request("GET", "/health")[1]["tables"]["station_two"]["schema"]["source"] == "cache"


def test_held_records_wait_for_the_catalog(tmp_path, emulator_factory, station_factory):
    import time
    e, s = start(tmp_path, emulator_factory, station_factory,
                 station={"recovery_backoff_max_ms": 200})
    e.faults(fail_create={"count": 100000, "status": "UNAVAILABLE"})
    recs = [{"device_name": "r%d" % i, "temp": i} for i in range(4)]
    for rec in recs:
        assert s.request("POST", "/ingest/station_one", rec)[0] == 202
    e.faults(catalog_status=503)
    e.http("POST", "/admin/tables/%s/alter" % T1,
           json.dumps({"add": [{"name": "site", "type": "STRING"}]}).encode())
    e.faults(fail_create={"count": 0, "status": "UNAVAILABLE"})
    deadline = time.monotonic() + 20 * TIMEOUT_MULT
    while s.request("GET", "/health")[1]["tables"]["station_one"]["stream_state"] != \
            "awaiting_schema":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)
    assert e.rows(T1) == [] and dead_letters(tmp_path, T1) == []
    code, h, _ = s.request("GET", "/health")
    assert code == 503 and h["tables"]["station_one"]["status"] == "degraded", h
    with __import__("urllib.request").request.urlopen(s.url + "/metrics", timeout=30) as m:
        assert 'zerobus_station_stream_awaiting_schema{table="%s"} 1' % T1 in m.read().decode()
    e.faults(catalog_status=0)  # the next retry (every 5 s) fetches the new columns
    while len(e.rows(T1)) < 4:
        assert time.monotonic() < deadline + 10 * TIMEOUT_MULT, e.rows(T1)
        time.sleep(0.05)
    assert sorted(r["device_name"] for r in e.rows(T1)) == ["r0", "r1", "r2", "r3"]
    assert all(r["site"] is None for r in e.rows(T1))
    assert "records held until the catalog answers" in s.stop()


def test_spooled_records_of_the_old_schema_after_a_restart(tmp_path, emulator_factory,
                                                           station_factory):
    """Records spooled with the old descriptor, the table altered while the station was
    down: the next start replays them with their descriptor, Zerobus refuses it, and they
    are rewritten for the new columns."""
    import time
    e, s = start(tmp_path, emulator_factory, station_factory,
                 station={"recovery_backoff_max_ms": 200})
    e.faults(fail_create={"count": 100000, "status": "UNAVAILABLE"})
    recs = [{"device_name": "old-%d" % i, "temp": i, "humidity": i} for i in range(5)]
    for rec in recs:
        assert s.request("POST", "/ingest/station_one", rec)[0] == 202
    s.stop()
    e.http("POST", "/admin/tables/%s/alter" % T1,
           json.dumps({"add": [{"name": "site", "type": "STRING"}]}).encode())
    e.faults(fail_create={"count": 0, "status": "UNAVAILABLE"})
    s = station_factory(tmp_path / "config.json", tmp_path / ".env")
    deadline = time.monotonic() + 30 * TIMEOUT_MULT
    while len(e.rows(T1)) < 5:
        assert time.monotonic() < deadline, e.rows(T1)
        time.sleep(0.05)
    assert sorted(r["device_name"] for r in e.rows(T1)) == ["old-%d" % i for i in range(5)]
    assert all(r["site"] is None for r in e.rows(T1))
    assert dead_letters(tmp_path, T1) == []
    err = s.stop()
    assert "records rewritten for the table's new schema" in err, err[-3000:]


def test_many_tables_fetched_at_once(tmp_path, emulator_factory, station_factory):
    """20 tables behind a slow catalog, fetched 8 at a time (station.catalog_parallel):
    every one gets its columns, in the configuration's order."""
    names = ["main.zerobus.t%02d" % i for i in range(20)]
    tables = {n: {"columns": COLS + [{"name": "c%02d" % i, "type": "STRING"}]}
              for i, n in enumerate(names)}
    write_setup(tmp_path, 1, 1, tables=tables)
    e = emulator_factory("--catalog", str(tmp_path / "catalog.json"))
    write_setup(tmp_path, e.grpc_port, e.http_port, tables=tables)
    names_only(tmp_path, tables=names)
    e.faults(catalog_delay_ms=100)
    s = station_factory(tmp_path / "config.json", tmp_path / ".env")
    h = s.request("GET", "/health")[1]["tables"]
    assert sorted(h) == ["t%02d" % i for i in range(20)]
    assert all(h[k]["schema"] == dict(h[k]["schema"], source="catalog", columns=4) for k in h)
    code, body, _ = s.request("POST", "/ingest/t19?wait_for_ack=true",
                              {"device_name": "x", "c19": "last"})
    assert code == 200, body
    code, body, _ = s.request("POST", "/ingest/t18", {"c19": "wrong table"})
    assert code == 400 and "c19" in json.dumps(body), body
    err = s.stop()
    found = [line.split("table=")[1].split()[0] for line in err.splitlines()
             if "columns from Unity Catalog" in line]
    assert found == names  # logged in the configuration's order, whatever the fetch order
