"""zerobus-emulator driven by an independent client (grpcio + python-protobuf)."""
import json
import os
import subprocess
import time
import uuid

import grpc
import pytest

import zb

T1 = "main.default.station_one"
STATION_COLUMNS = [{"name": "device_name", "type": "STRING"}, {"name": "temp", "type": "INT"},
                   {"name": "humidity", "type": "BIGINT"}]
STATION = zb.message("StationOne", [("device_name", "optional", "string", 1),
                                    ("temp", "optional", "int32", 2),
                                    ("humidity", "optional", "int64", 3)])
Station = zb.record_class(STATION)


def catalog(tmp_path, tables=None, clients=None, **extra):
    doc = {"tables": tables or {T1: {"columns": STATION_COLUMNS}}}
    if clients is not None:
        doc["clients"] = clients
    doc.update(extra)
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(doc))
    return str(path)


def rec(name, temp, hum=None):
    r = Station(device_name=name, temp=temp)
    if hum is not None:
        r.humidity = hum
    return r.SerializeToString()


@pytest.fixture
def emu(emulator_factory, tmp_path):
    return emulator_factory("--catalog", catalog(tmp_path))


def token(e, tables=(T1,)):
    status, body = e.token(tables=list(tables))
    assert status == 200, body
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    return body["access_token"]


def open_stream(pb, e, table=T1, descriptor=STATION, **kw):
    return zb.Stream(pb, e.grpc_port, table, token(e, [table]), descriptor=descriptor, **kw)


# ------------------------------------------------------------------------ the happy paths

def test_single_and_batch_records_cumulative_acks(pb, emu):
    s = open_stream(pb, emu)
    uuid.UUID(s.created())
    s.send(0, rec("a", 1, 10))
    s.send(1, [rec("b", 2), rec("c", 3, 30)])
    s.send(2, rec("d", -4))
    acks = s.ack(2)
    assert acks[-1] == 2 and all(0 <= a <= 2 for a in acks)
    s.close()
    assert s.status()[0] == grpc.StatusCode.OK
    assert emu.rows(T1) == [
        {"device_name": "a", "temp": 1, "humidity": 10},
        {"device_name": "b", "temp": 2, "humidity": None},
        {"device_name": "c", "temp": 3, "humidity": 30},
        {"device_name": "d", "temp": -4, "humidity": None}]
    st = emu.stats()["tables"][T1]
    assert st["rows"] == 4 and st["streams_opened"] == 1 and st["acks_sent"] >= 1


def test_json_records(pb, emu):
    s = open_stream(pb, emu, descriptor=None, record_type=2)
    s.created()
    s.send(0, json.dumps({"device_name": "j", "temp": 5}))
    s.send(1, [json.dumps({"temp": 6, "humidity": 7}), json.dumps({"device_name": "k"})])
    s.ack(1)
    s.send(2, json.dumps({"nope": 1}))
    code, details = s.status()
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "nope" in details
    assert emu.rows(T1) == [
        {"device_name": "j", "temp": 5, "humidity": None},
        {"device_name": None, "temp": 6, "humidity": 7},
        {"device_name": "k", "temp": None, "humidity": None}]


def test_half_close_acks_everything_then_ok(pb, emulator_factory, tmp_path):
    e = emulator_factory("--catalog", catalog(tmp_path), "--ack-delay-ms", "100-200")
    s = open_stream(pb, e)
    s.created()
    for i in range(20):
        s.send(i, rec("x", i))
    s.close()
    acks = []
    while True:
        r = s.next()
        if isinstance(r, tuple):
            assert r[1] == grpc.StatusCode.OK
            break
        acks.append(r.ingest_record_response.durability_ack_up_to_offset)
    assert acks == sorted(acks) and acks[-1] == 19
    assert len(e.rows(T1)) == 20


def test_rows_survive_restart(pb, emulator_factory, tmp_path):
    e = emulator_factory("--catalog", catalog(tmp_path))
    s = open_stream(pb, e)
    s.created()
    s.send(0, [rec("before", 1), rec("before", 2)])
    s.ack(0)
    e.stop()
    e2 = emulator_factory("--catalog", catalog(tmp_path), "--data", e.data)
    s2 = open_stream(pb, e2)
    s2.created()
    s2.send(0, rec("after", 3))
    s2.ack(0)
    s2.close()
    s2.status()
    assert [r["device_name"] for r in e2.rows(T1)] == ["before", "before", "after"]


# ------------------------------------------------------------------------ protocol errors

def test_first_message_must_be_create(pb, emu):
    m, g = pb
    ch = grpc.insecure_channel("127.0.0.1:%d" % emu.grpc_port)
    call = g.ZerobusStub(ch).EphemeralStream(
        iter([m.EphemeralStreamRequest(ingest_record=m.IngestRecordRequest(offset_id=0))]),
        metadata=[("authorization", "Bearer " + token(emu)),
                  ("x-databricks-zerobus-table-name", T1)])
    with pytest.raises(grpc.RpcError) as ei:
        list(call)
    assert ei.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "first message must be CreateStream" in ei.value.details()


@pytest.mark.parametrize("offsets", [[1], [0, 2], [0, 0]])
def test_offsets_must_be_contiguous_from_zero(pb, emu, offsets):
    s = open_stream(pb, emu)
    s.created()
    for o in offsets:
        s.send(o, rec("x", 1))
    code, details = s.status()
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "offset_id" in details


@pytest.mark.parametrize("desc,column", [
    (zb.message("M", [("device_name", "optional", "string", 1), ("temp", "optional", "int64", 2),
                      ("humidity", "optional", "int64", 3)]), "temp"),
    (zb.message("M", [("device_name", "optional", "string", 1),
                      ("humidity", "optional", "int64", 2), ("temp", "optional", "int32", 3)]),
     "temp"),
    (zb.message("M", [("device_name", "optional", "string", 1), ("temp", "optional", "int32", 2)]),
     "humidity"),
    (zb.message("M", [("device_name", "optional", "string", 1), ("temp", "optional", "int32", 2),
                      ("humidity", "optional", "int64", 3), ("extra", "optional", "string", 4)]),
     "extra"),
    (zb.message("M", [("device_name", "required", "string", 1), ("temp", "optional", "int32", 2),
                      ("humidity", "optional", "int64", 3)]), "device_name"),
])
def test_descriptor_mismatch_names_the_column(pb, emu, desc, column):
    s = open_stream(pb, emu, descriptor=desc)
    code, details = s.status()
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert '"%s"' % column in details, details


def test_record_that_does_not_decode(pb, emu):
    s = open_stream(pb, emu)
    s.created()
    s.send(0, b"\x08\x01")  # field 1 as a varint: device_name is a string
    code, details = s.status()
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "does not decode" in details
    assert emu.rows(T1) == []


def test_message_over_the_limit(pb, emulator_factory, tmp_path):
    e = emulator_factory("--catalog", catalog(tmp_path), "--max-message-bytes", "4096")
    s = open_stream(pb, e)
    s.created()
    s.send(0, rec("x" * 5000, 1))
    code, details = s.status()
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "exceeds" in details


# ------------------------------------------------------------------------ auth

def test_auth_failures(pb, emulator_factory, tmp_path):
    tables = {T1: {"columns": STATION_COLUMNS}, "main.other.t2": {"columns": STATION_COLUMNS}}
    clients = [{"client_id": "sp1", "client_secret": "s3cret", "grants": ["main.default.*"]}]
    e = emulator_factory("--catalog", catalog(tmp_path, tables, clients))
    assert e.token("sp1", "wrong")[0] == 401
    assert e.token("nobody", "s3cret")[0] == 401
    assert e.token("sp1", "s3cret", ["main.other.t2"])[0] == 403
    status, body = e.token("sp1", "s3cret", [T1])
    assert status == 200
    tok = body["access_token"]
    # missing token
    s = zb.Stream(pb, e.grpc_port, T1, "", descriptor=STATION, omit_auth=True)
    assert s.status()[0] == grpc.StatusCode.UNAUTHENTICATED
    # unknown token
    s = zb.Stream(pb, e.grpc_port, T1, "forged", descriptor=STATION)
    assert s.status()[0] == grpc.StatusCode.UNAUTHENTICATED
    # a token without a grant for the table
    s = zb.Stream(pb, e.grpc_port, "main.other.t2", tok, descriptor=STATION)
    assert s.status()[0] == grpc.StatusCode.PERMISSION_DENIED
    # unknown table
    s = zb.Stream(pb, e.grpc_port, "main.default.nope", tok, descriptor=STATION)
    assert s.status()[0] == grpc.StatusCode.NOT_FOUND
    # header and create_stream disagree
    s = zb.Stream(pb, e.grpc_port, T1, tok, descriptor=STATION, header_table="main.default.x")
    assert s.status()[0] == grpc.StatusCode.INVALID_ARGUMENT
    # the good token works, then expires
    s = zb.Stream(pb, e.grpc_port, T1, tok, descriptor=STATION)
    s.created()
    e.faults(expire_tokens=True)
    s2 = zb.Stream(pb, e.grpc_port, T1, tok, descriptor=STATION)
    code, details = s2.status()
    assert code == grpc.StatusCode.UNAUTHENTICATED and "expired" in details


def test_token_ttl(pb, emulator_factory, tmp_path):
    e = emulator_factory("--catalog", catalog(tmp_path), "--token-ttl-s", "1")
    status, body = e.token(tables=[T1])
    assert body["expires_in"] == 1
    time.sleep(1.2)  # the TTL itself is what is under test
    s = zb.Stream(pb, e.grpc_port, T1, body["access_token"], descriptor=STATION)
    assert s.status()[0] == grpc.StatusCode.UNAUTHENTICATED


def test_unity_catalog_tables_api(emu):
    tok = token(emu)
    status, body = emu.http("GET", "/api/2.1/unity-catalog/tables/" + T1,
                            headers={"Authorization": "Bearer " + tok})
    assert status == 200
    assert body["full_name"] == T1 and body["catalog_name"] == "main"
    cols = body["columns"]
    assert [c["name"] for c in cols] == ["device_name", "temp", "humidity"]
    assert [c["type_text"] for c in cols] == ["string", "int", "bigint"]
    assert [c["type_name"] for c in cols] == ["STRING", "INT", "LONG"]
    assert [c["position"] for c in cols] == [0, 1, 2]
    assert json.loads(cols[2]["type_json"])["type"] == "long"
    assert emu.http("GET", "/api/2.1/unity-catalog/tables/" + T1)[0] == 401
    assert emu.http("GET", "/api/2.1/unity-catalog/tables/main.default.nope",
                    headers={"Authorization": "Bearer " + tok})[0] == 404


# ------------------------------------------------------------------------ faults

def test_fail_create(pb, emu):
    emu.faults(fail_create={"count": 2, "status": "UNAVAILABLE", "message": "try later"})
    for _ in range(2):
        code, details = open_stream(pb, emu).status()
        assert code == grpc.StatusCode.UNAVAILABLE and details == "try later"
    open_stream(pb, emu).created()
    assert emu.stats()["tables"][T1]["errors"]["UNAVAILABLE"] == 2


def test_drop_after_records(pb, emu):
    emu.faults(drop_after_records=3)
    s = open_stream(pb, emu)
    s.created()
    for i in range(5):
        s.send(i, rec("x", i))
    code, details = s.status()
    assert code == grpc.StatusCode.UNAVAILABLE
    # The 3 records accepted before the drop reach the store (not necessarily acked).
    deadline = time.monotonic() + 5
    while len(emu.rows(T1)) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(emu.rows(T1)) == 3
    s2 = open_stream(pb, emu)  # one-shot: the next stream is fine
    s2.created()
    s2.send(0, [rec("y", 1)] * 4)
    s2.ack(0)


def test_close_signal_then_close(pb, emu):
    s = open_stream(pb, emu)
    s.created()
    s.send(0, rec("x", 1))
    s.ack(0)
    t0 = time.monotonic()
    emu.faults(close_signal_now={"duration_ms": 500})
    r = s.next()
    assert r.HasField("close_stream_signal")
    d = r.close_stream_signal.duration
    assert d.seconds * 1000 + d.nanos // 1000000 == 500
    code, details = s.status()
    assert code == grpc.StatusCode.UNAVAILABLE and "6002" in details
    assert time.monotonic() - t0 >= 0.45


def test_stream_lifetime(pb, emulator_factory, tmp_path):
    e = emulator_factory("--catalog", catalog(tmp_path), "--stream-lifetime-s", "2",
                         "--close-signal-s", "1")
    s = open_stream(pb, e)
    s.created()
    r = s.next(timeout=5)
    assert r.HasField("close_stream_signal")
    assert 0 < r.close_stream_signal.duration.seconds * 1000 + \
        r.close_stream_signal.duration.nanos // 1000000 <= 1000
    code, details = s.status(timeout=5)
    assert code == grpc.StatusCode.UNAVAILABLE and "Stream timeout reached" in details


def test_stall_acks(pb, emu):
    s = open_stream(pb, emu)
    s.created()
    emu.faults(stall_acks_ms=600)
    t0 = time.monotonic()
    s.send(0, rec("x", 1))
    s.ack(0)
    assert time.monotonic() - t0 >= 0.5


def test_refuse_tokens_and_reset(emu):
    emu.faults(refuse_tokens=503)
    assert emu.token()[0] == 503
    emu.faults(refuse_tokens=True)
    assert emu.token()[0] == 401
    emu.http("POST", "/admin/reset", b"")
    assert emu.token()[0] == 200


def test_rate_limit(pb, emu):
    emu.faults(rate_limit_rps=5)
    s = open_stream(pb, emu)
    s.created()
    s.send(0, [rec("x", 1)] * 50)
    code, details = s.status()
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_bad_fault_request(emu):
    status, body = emu.http("POST", "/admin/faults", b'{"nonsense": 1}')
    assert status == 400 and "nonsense" in body["message"]


# ------------------------------------------------------------------------ operations

def test_auto_create_takes_schema_from_descriptor(pb, emulator_factory):
    e = emulator_factory("--auto-create")
    tok = e.token(tables=["cat.sch.auto"])[1]["access_token"]
    s = zb.Stream(pb, e.grpc_port, "cat.sch.auto", tok, descriptor=STATION)
    s.created()
    s.send(0, rec("z", 9, 99))
    s.ack(0)
    s.close()
    s.status()
    assert e.rows("cat.sch.auto") == [{"device_name": "z", "temp": 9, "humidity": 99}]
    status, body = e.http("GET", "/api/2.1/unity-catalog/tables/cat.sch.auto",
                          headers={"Authorization": "Bearer " + tok})
    assert status == 200 and [c["type_name"] for c in body["columns"]] == ["STRING", "INT", "LONG"]
    # a second stream with another shape is a mismatch
    other = zb.message("M", [("x", "optional", "string", 1)])
    s2 = zb.Stream(pb, e.grpc_port, "cat.sch.auto", tok, descriptor=other)
    assert s2.status()[0] == grpc.StatusCode.INVALID_ARGUMENT


def test_stats_command(emu):
    from conftest import EMULATOR
    out = subprocess.run([EMULATOR, "stats", "--http-port", str(emu.http_port)],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    assert T1 in json.loads(out.stdout)["tables"]


def test_store_none(pb, emulator_factory, tmp_path):
    e = emulator_factory("--catalog", catalog(tmp_path), "--store", "none")
    s = open_stream(pb, e)
    s.created()
    s.send(0, [rec("x", 1)] * 10)
    s.ack(0)
    assert e.rows(T1) == [] and e.stats()["tables"][T1]["rows"] == 10


def test_tls(pb, emulator_factory, tmp_path):
    key, crt = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(crt)], check=True, capture_output=True)
    e = emulator_factory("--catalog", catalog(tmp_path), "--tls-cert", str(crt), "--tls-key",
                         str(key))
    creds = grpc.ssl_channel_credentials(root_certificates=crt.read_bytes())
    ch = grpc.secure_channel("127.0.0.1:%d" % e.grpc_port, creds,
                             options=[("grpc.ssl_target_name_override", "localhost")])
    s = zb.Stream(pb, e.grpc_port, T1, token(e), descriptor=STATION, channel=ch)
    s.created()
    s.send(0, rec("tls", 1))
    s.ack(0)
    # plaintext against the TLS port fails
    s2 = open_stream(pb, e)
    assert s2.status()[0] == grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize("method", ["PersistentStream", "RetireStream", "Nope"])
def test_other_methods_are_unimplemented(emu, method):
    ch = grpc.insecure_channel("127.0.0.1:%d" % emu.grpc_port)
    call = ch.stream_stream("/databricks.zerobus.Zerobus/" + method)(iter([b""]), timeout=10)
    with pytest.raises(grpc.RpcError) as ei:
        list(call)
    assert ei.value.code() == grpc.StatusCode.UNIMPLEMENTED
