"""Tables without hand-written fields: columns from the emulator's Unity Catalog API, the
schema cache, the comparison of hand-written fields, `init`, and schema changes."""
import json
import os
import subprocess

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
