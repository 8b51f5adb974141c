"""Every Unity Catalog type of docs/TYPES.md through the emulator: protobuf records built by
python-protobuf from a DescriptorProto, rows read back line by line in their natural JSON
forms (dates as YYYY-MM-DD, timestamps as RFC 3339 UTC, decimals as text, VARIANT as JSON,
BINARY as base64, maps as objects)."""
import base64
import json

import grpc
import pytest

import zb

TABLE = "main.types.everything"
COLUMNS = [
    ("c_tinyint", "TINYINT"), ("c_smallint", "SMALLINT"), ("c_int", "INT"),
    ("c_bigint", "BIGINT"), ("c_float", "FLOAT"), ("c_double", "DOUBLE"),
    ("c_boolean", "BOOLEAN"), ("c_string", "STRING"), ("c_binary", "BINARY"),
    ("c_date", "DATE"), ("c_timestamp", "TIMESTAMP"), ("c_timestamp_ntz", "TIMESTAMP_NTZ"),
    ("c_decimal", "DECIMAL(10,2)"), ("c_variant", "VARIANT"), ("c_int_array", "ARRAY<INT>"),
    ("c_struct", "STRUCT<a: INT, b: STRING NOT NULL>"),
    ("readings", "ARRAY<STRUCT<temp: DOUBLE>>"), ("c_map", "MAP<STRING, BIGINT>"),
    ("c_int_map", "MAP<INT, DATE>"), ("c_required", "STRING"),
]

CSTRUCT = zb.message("CStruct", [("a", "optional", "int32", 1), ("b", "required", "string", 2)])
READINGS = zb.message("Readings", [("temp", "optional", "double", 1)])


def entry(name, ktype, vtype):
    m = zb.message(name, [("key", "optional", ktype, 1), ("value", "optional", vtype, 2)])
    m.options.map_entry = True
    return m


ROOT = zb.message("Everything", [
    ("c_tinyint", "optional", "int32", 1), ("c_smallint", "optional", "int32", 2),
    ("c_int", "optional", "int32", 3), ("c_bigint", "optional", "int64", 4),
    ("c_float", "optional", "float", 5), ("c_double", "optional", "double", 6),
    ("c_boolean", "optional", "bool", 7), ("c_string", "optional", "string", 8),
    ("c_binary", "optional", "bytes", 9), ("c_date", "optional", "int32", 10),
    ("c_timestamp", "optional", "int64", 11), ("c_timestamp_ntz", "optional", "int64", 12),
    ("c_decimal", "optional", "string", 13), ("c_variant", "optional", "string", 14),
    ("c_int_array", "repeated", "int32", 15),
    ("c_struct", "optional", ".zbtest.Everything.CStruct", 16),
    ("readings", "repeated", ".zbtest.Everything.Readings", 17),
    ("c_map", "repeated", ".zbtest.Everything.CMapEntry", 18),
    ("c_int_map", "repeated", ".zbtest.Everything.CIntMapEntry", 19),
    ("c_required", "required", "string", 20),
], nested=[CSTRUCT, READINGS, entry("CMapEntry", "string", "int64"),
           entry("CIntMapEntry", "int32", "int32")])
Everything = zb.record_class(ROOT)


@pytest.fixture
def emu(emulator_factory, tmp_path):
    cols = [{"name": n, "type": t, "nullable": n != "c_required"} for n, t in COLUMNS]
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"tables": {TABLE: {"columns": cols}}}))
    return emulator_factory("--catalog", str(path))


def open_stream(pb, e, desc=ROOT):
    tok = e.token(tables=[TABLE])[1]["access_token"]
    return zb.Stream(pb, e.grpc_port, TABLE, tok, descriptor=desc)


def full_record():
    r = Everything(c_tinyint=-128, c_smallint=32767, c_int=-2147483648,
                   c_bigint=9223372036854775807, c_float=1.5, c_double=-2.25, c_boolean=True,
                   c_string="h\u00e9llo \U0001F600", c_binary=b"\x00\xffbin", c_date=19782,
                   c_timestamp=1714566600123456, c_timestamp_ntz=-1, c_decimal="-12345678.90",
                   c_variant='{"a": [1, 2.5, null], "b": "x"}', c_required="r")
    r.c_int_array.extend([1, -2, 3])
    r.c_struct.a = 7
    r.c_struct.b = "inner"
    r.readings.add(temp=21.5)
    r.readings.add()
    r.c_map["k1"] = 1
    r.c_map["k2"] = -2
    r.c_int_map[5] = 0
    return r


FULL_ROW = {
    "c_tinyint": -128, "c_smallint": 32767, "c_int": -2147483648,
    "c_bigint": 9223372036854775807, "c_float": 1.5, "c_double": -2.25, "c_boolean": True,
    "c_string": "h\u00e9llo \U0001F600", "c_binary": base64.b64encode(b"\x00\xffbin").decode(),
    "c_date": "2024-02-29", "c_timestamp": "2024-05-01T12:30:00.123456Z",
    "c_timestamp_ntz": "1969-12-31T23:59:59.999999", "c_decimal": "-12345678.90",
    "c_variant": {"a": [1, 2.5, None], "b": "x"}, "c_int_array": [1, -2, 3],
    "c_struct": {"a": 7, "b": "inner"}, "readings": [{"temp": 21.5}, {"temp": None}],
    "c_map": {"k1": 1, "k2": -2}, "c_int_map": {"5": "1970-01-01"}, "c_required": "r",
}

EMPTY_ROW = {n: None for n, _ in COLUMNS}
EMPTY_ROW.update({"c_int_array": [], "readings": [], "c_map": {}, "c_int_map": {},
                  "c_required": ""})


def test_every_type_round_trips(pb, emu):
    s = open_stream(pb, emu)
    s.created()
    s.send(0, full_record().SerializeToString())
    s.send(1, Everything(c_required="").SerializeToString())
    s.ack(1)
    s.close()
    assert s.status()[0] == grpc.StatusCode.OK
    rows = emu.rows(TABLE)
    assert rows == [FULL_ROW, EMPTY_ROW]


@pytest.mark.parametrize("mutate,reason", [
    (lambda r: setattr(r, "c_tinyint", 300), "out of range for BYTE"),
    (lambda r: setattr(r, "c_smallint", -40000), "out of range for SHORT"),
    (lambda r: setattr(r, "c_decimal", "1.234"), "DECIMAL(10,2)"),
    (lambda r: setattr(r, "c_decimal", "123456789"), "DECIMAL(10,2)"),
    (lambda r: setattr(r, "c_variant", "{not json"), "not JSON"),
    (lambda r: setattr(r, "c_date", 3000000), "c_date"),
])
def test_values_are_checked(pb, emu, mutate, reason):
    s = open_stream(pb, emu)
    s.created()
    r = full_record()
    mutate(r)
    s.send(0, r.SerializeToString())
    code, details = s.status()
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert reason in details, details
    assert emu.rows(TABLE) == []


def test_required_field_missing(pb, emu):
    s = open_stream(pb, emu)
    s.created()
    s.send(0, b"")  # c_required absent
    code, details = s.status()
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "c_required" in details


def test_invalid_utf8_string(pb, emu):
    s = open_stream(pb, emu)
    s.created()
    raw = Everything(c_required="r").SerializeToString() + b"\x42\x02\xc3\x28"  # c_string
    s.send(0, raw)
    code, details = s.status()
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "c_string" in details


def test_relative_type_names_resolve(pb, emu):
    """Rust 2.x writes bare nested names ("CStruct"); protoc writes .pkg.Msg.CStruct."""
    d = type(ROOT)()
    d.CopyFrom(ROOT)
    for f in d.field:
        if f.type_name:
            f.type_name = f.type_name.split(".")[-1]
    s = open_stream(pb, emu, desc=d)
    s.created()
    s.send(0, full_record().SerializeToString())
    s.ack(0)
    assert emu.rows(TABLE) == [FULL_ROW]


def test_nested_mismatch_names_the_path(pb, emu):
    d = type(ROOT)()
    d.CopyFrom(ROOT)
    d.nested_type[0].field[1].label = zb.LABELS["optional"]  # b is NOT NULL in the table
    s = open_stream(pb, emu, desc=d)
    code, details = s.status()
    assert code == grpc.StatusCode.INVALID_ARGUMENT and '"c_struct.b"' in details, details
