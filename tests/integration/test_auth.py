"""Ingest authentication: API keys with per-table scopes and rights, the keys tool, reload on
SIGHUP, and no key ever in a log line, an error body or /health."""
import json
import os
import signal
import subprocess
import time

from conftest import STATION, TIMEOUT_MULT
from test_gateway import T1, env, rows  # noqa: F401  (env is a fixture)

REC = {"device_name": "d", "temp": 1, "humidity": 2}


def keys_tool(*args):
    out = subprocess.run([STATION, "keys"] + list(args), capture_output=True, text=True,
                         timeout=30 * TIMEOUT_MULT)
    assert out.returncode == 0, out
    return out.stdout.strip(), out.stderr


def make_keys(tmp_path):
    kf = str(tmp_path / "keys.json")
    k1, _ = keys_tool("--keys-file", kf, "new", "--id", "edge-01", "--tables", "station_one")
    k2, _ = keys_tool("--keys-file", kf, "new", "--id", "ops", "--tables", "*", "--flush")
    assert k1.startswith("edge-01.") and len(k1) == len("edge-01.") + 43
    assert oct(os.stat(kf).st_mode & 0o777) == "0o600"
    return kf, k1, k2


def hdr(key):
    return {"Content-Type": "application/json", "Authorization": "Bearer " + key}


def test_keys_guard_every_write(env, tmp_path):
    kf, k1, k2 = make_keys(tmp_path)
    e, s = env(station={"keys_file": "keys.json"})
    seen = []  # every answer body: no key may show up in one

    def req(method, path, body=None, headers=None):
        c, b, h = s.request(method, path, body, headers)
        seen.append(json.dumps(b) + json.dumps(h))
        return c, b, h

    c, b, h = req("POST", "/ingest/station_one", REC)
    assert c == 401 and h["WWW-Authenticate"].startswith("Bearer") and "API key" in b["error"], b
    wrong = k1[:-4] + ("AAAA" if not k1.endswith("AAAA") else "BBBB")
    for bad in (wrong, "nope.nope", "ops." + k1.split(".")[1], "x"):
        c, b, h = req("POST", "/ingest/station_one", REC, hdr(bad))
        assert c == 401 and 'error="invalid_token"' in h["WWW-Authenticate"], (bad, b)
    c, b, _ = req("POST", "/ingest/station_one", REC, {"Authorization": "Basic Zm9vOmJhcg=="})
    assert c == 401, b
    # a key for station_one may not write station_two; nothing of it lands
    c, b, _ = req("POST", "/ingest/station_two", REC, hdr(k1))
    assert c == 403 and "station_two" in b["error"], b
    c, b, _ = req("POST", "/ingest/station_one", REC, hdr(k1))
    assert c == 202, b
    c, b, _ = req("POST", "/ingest/station_one", REC,
                  {"Content-Type": "application/json", "X-API-Key": k1})
    assert c == 202, b
    # rights: edge-01 may not flush; ops may
    c, b, _ = req("POST", "/flush/station_one", None, hdr(k1))
    assert c == 403 and "flush" in b["error"], b
    c, b, _ = req("POST", "/flush/station_one", None, hdr(k2))
    assert c == 200, b
    c, b, _ = req("POST", "/flush/station_two", None, hdr(k2))
    assert c == 200 and b["records"] == 0, b
    assert len(rows(e)) == 2 and e.rows("main.zerobus.station_two") == []
    # which tables exist is told to key holders only
    assert req("POST", "/ingest/nope", REC)[0] == 401
    assert req("POST", "/ingest/nope", REC, hdr(k1))[0] == 404
    # the REST call: its shape
    c, b, _ = req("POST", "/zerobus/v1/tables/%s/insert" % T1, [REC])
    assert c == 401 and b["error_code"] == "UNAUTHENTICATED", b
    c, b, _ = req("POST", "/zerobus/v1/tables/main.zerobus.station_two/insert", [REC], hdr(k1))
    assert c == 403 and b["error_code"] == "PERMISSION_DENIED", b
    c, b, _ = req("POST", "/zerobus/v1/tables/%s/insert?wait_for_ack=true" % T1, [REC], hdr(k1))
    assert c == 200 and b == {}, b
    # open: /, /docs, the status of /health; the rest needs a key
    c, b, _ = req("GET", "/health")
    assert c == 200 and b == {"status": "healthy", "service": "zerobus-station"}, b
    c, b, _ = req("GET", "/health", None, hdr(k1))
    assert c == 200 and "tables" in b and b["auth"]["keys"] is True, b
    assert b["auth"]["failures"] == 8, b  # each 401 above, counted
    assert req("GET", "/health/station_one")[0] == 401
    assert req("GET", "/health/station_one", None, hdr(k2))[0] == 200
    assert req("GET", "/openapi.json")[0] == 401
    c, doc, _ = req("GET", "/openapi.json", None, hdr(k1))
    assert c == 200 and set(doc["components"]["securitySchemes"]) == {"bearer", "apiKey"}, doc
    assert doc["security"] == [{"bearer": []}, {"apiKey": []}]
    assert doc["paths"]["/health"]["get"]["security"] == []
    assert req("GET", "/")[0] == 200
    log = s.stop()
    assert "authentication failed" in log and "peer=127.0.0.1" in log, log
    for k in (k1, k2, wrong):
        secret = k.split(".", 1)[1]
        assert secret not in log, "a key in the log"
        assert all(secret not in x for x in seen), "a key in an answer"
    assert 'key_id="edge..."' in log, log  # at most 4 characters of the id


def test_revoked_key_after_sighup(env, tmp_path):
    kf, k1, k2 = make_keys(tmp_path)
    e, s = env(station={"keys_file": "keys.json"})
    assert s.request("POST", "/ingest/station_one", REC, hdr(k1))[0] == 202
    keys_tool("--keys-file", kf, "revoke", "edge-01")
    s.proc.p.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10 * TIMEOUT_MULT
    while s.request("POST", "/ingest/station_one", REC, hdr(k1))[0] != 401:
        assert time.monotonic() < deadline, "the revoked key still works"
        time.sleep(0.05)
    # the other key and the stream go on
    c, b, _ = s.request("POST", "/ingest/station_one?wait_for_ack=true", REC, hdr(k2))
    assert c == 200, b
    # a broken keys file is refused as a whole: the keys in force stay
    with open(kf, "w") as f:
        f.write('{"keys": [{"id": "bad id"}]}')
    s.proc.p.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10 * TIMEOUT_MULT
    while True:
        c, b, _ = s.request("GET", "/health", None, hdr(k2))
        assert c == 200, b
        if b["auth"]["reloads"] == 2:
            break
        assert time.monotonic() < deadline, b
        time.sleep(0.05)
    assert "keys[0].id" in b["auth"]["reload_error"], b
    assert s.request("POST", "/ingest/station_one", REC, hdr(k2))[0] == 202
    log = s.stop()
    assert "reload refused: the running configuration stays" in log and "keys[0].id" in log, log
    assert k2.split(".", 1)[1] not in log


def test_key_for_an_unknown_table_stops_the_start(tmp_path):
    from test_gateway import write_setup
    write_setup(tmp_path, 1, 1, {"keys_file": "keys.json"})
    keys_tool("--keys-file", str(tmp_path / "keys.json"), "new", "--id", "a", "--tables", "nope")
    out = subprocess.run([STATION, "--config", str(tmp_path / "config.json"), "--env-file",
                          str(tmp_path / ".env"), "--host", "127.0.0.1", "--port", "0"],
                         capture_output=True, text=True, timeout=30 * TIMEOUT_MULT)
    assert out.returncode != 0 and 'table "nope"' in out.stderr, out
