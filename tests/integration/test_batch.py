"""Batch ingest: JSON arrays and NDJSON bodies, all or nothing or partial, per-record errors,
wait_for_ack over the whole batch, chunked request bodies."""
import json
import os
import socket

from conftest import TIMEOUT_MULT, VALGRIND, recv_all
from test_gateway import T1, env, rows  # noqa: F401  (env is a fixture)
from test_http_hardening import rss_kib

ND = {"Content-Type": "application/x-ndjson"}


def recs(n, start=0):
    return [{"device_name": "d%d" % i, "temp": i, "humidity": 2 * i} for i in range(start, start + n)]


def ndjson(items, crlf=False):
    nl = "\r\n" if crlf else "\n"
    return nl.join(json.dumps(r) for r in items).encode()


def test_array_and_ndjson_land_in_order(env):
    e, s = env()
    c, b, _ = s.request("POST", "/ingest/station_one", recs(50))
    assert c == 202 and b["status"] == "queued" and b["records"] == 50, b
    body = ndjson(recs(30, 50), crlf=True) + b"\n\n"  # blank lines are skipped
    c, b, _ = s.request("POST", "/ingest/station_one?wait_for_ack=true", body, ND)
    assert c == 200 and b["records"] == 30 and b["acknowledged"] == 30 and b["failed"] == 0, b
    got = [r["temp"] for r in rows(e)]
    assert got == list(range(80)), got  # all of them, in order
    for ct in ("application/jsonl", "application/x-jsonlines; charset=utf-8"):
        c, b, _ = s.request("POST", "/ingest/station_one", ndjson(recs(2, 80)), {"Content-Type": ct})
        assert c == 202 and b["records"] == 2, (ct, b)


def test_invalid_record_rejects_the_whole_batch(env):
    e, s = env()
    items = recs(10)
    items[7]["temp"] = "hot"
    items[3]["nope"] = 1
    c, b, _ = s.request("POST", "/ingest/station_one?wait_for_ack=true", items)
    assert c == 400 and b["records"] == 10 and b["rejected"] == 2 and b["accepted"] == 0, b
    assert [x["index"] for x in b["errors"]] == [3, 7], b["errors"]
    assert b["errors"][1]["field"] == "$.temp" and b["errors"][1]["reason"], b["errors"]
    # an array body is a batch: an element that is not an object is named by its index
    c, b, _ = s.request("POST", "/ingest/station_one", b"[1]")
    assert c == 400 and b["errors"] == [{"index": 0, "field": "$",
                                         "reason": b["errors"][0]["reason"]}], b
    assert "must be a JSON object" in b["errors"][0]["reason"]
    # NDJSON: the index is the line number from 0, blank lines counted
    body = b"\n" + ndjson(recs(2)) + b"\n{\"temp\": 1.5}\n"
    c, b, _ = s.request("POST", "/ingest/station_one", body, ND)
    assert c == 400 and b["errors"][0]["index"] == 3, b
    assert s.request("POST", "/flush/station_one")[0] == 200
    assert rows(e) == []  # nothing of either batch landed


def test_partial_accepts_exactly_the_valid_ones(env):
    e, s = env()
    items = recs(6)
    items[1]["temp"] = 2 ** 40  # beyond INT
    items[4] = {"humidity": "x"}
    c, b, _ = s.request("POST", "/ingest/station_one?partial=true&wait_for_ack=true", items)
    assert c == 200 and b["records"] == 4 and b["accepted"] == 4 and b["rejected"] == 2, b
    assert [x["index"] for x in b["errors"]] == [1, 4]
    assert [r["temp"] for r in rows(e)] == [0, 2, 3, 5]
    c, b, _ = s.request("POST", "/ingest/station_one?partial=maybe", items)
    assert c == 400 and b["field"] == "partial"


def test_error_list_is_capped_with_the_total(env):
    e, s = env(station={"max_batch_errors": 5})
    items = [{"temp": "x"}] * 40
    c, b, _ = s.request("POST", "/ingest/station_one", items)
    assert c == 400 and b["rejected"] == 40 and len(b["errors"]) == 5, b


def test_malformed_and_empty_bodies(env):
    e, s = env(station={"max_request_records": 100})
    for body, words in [(b"[{\"temp\": 1}, ", "malformed"), (b"[{\"temp\": 1}] x", "after the array"),
                        (b"[]", "no records"), (b"[{\"temp\": 1} {\"temp\": 2}]", "expected")]:
        c, b, _ = s.request("POST", "/ingest/station_one", body)
        assert c == 400 and words in b["error"], (body, b)
    c, b, _ = s.request("POST", "/ingest/station_one", b"\n \n", ND)
    assert c == 400 and "no records" in b["error"], b
    c, b, _ = s.request("POST", "/ingest/station_one", recs(101))
    assert c == 413 and "more than 100" in b["error"], b


def test_ten_thousand_records_waited(env):
    e, s = env()
    c, b, _ = s.request("POST", "/ingest/station_one?wait_for_ack=true", ndjson(recs(10000)), ND,
                        timeout=60)
    assert c == 200 and b["acknowledged"] == 10000, b
    assert len(rows(e)) == 10000


def post_chunked(s, path, body, headers, size=37):
    """POST body in chunks of size bytes, each sent apart; the raw answer."""
    so = socket.create_connection(("127.0.0.1", s.port), timeout=10 * TIMEOUT_MULT)
    head = "".join("%s: %s\r\n" % kv for kv in headers.items())
    so.sendall(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n" + head.encode() +
               b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    for i in range(0, len(body), size):
        so.sendall(b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size]))
    so.sendall(b"0\r\n\r\n")
    data = recv_all(so)
    so.close()
    return data


def test_chunked_batch_body(env):
    import gzip
    e, s = env()
    data = post_chunked(s, "/ingest/station_one?wait_for_ack=true", ndjson(recs(20)), ND)
    assert data.startswith(b"HTTP/1.1 200 "), data
    assert len(rows(e)) == 20
    # compressed and chunked: decoded piece by piece as the chunks arrive
    packed = gzip.compress(json.dumps(recs(300, 20)).encode())
    data = post_chunked(s, "/ingest/station_one?wait_for_ack=true", packed,
                        {"Content-Type": "application/json", "Content-Encoding": "gzip"}, 64)
    assert data.startswith(b"HTTP/1.1 200 "), data
    assert [r["temp"] for r in rows(e)] == list(range(320))


def zstd_compress(data):
    import ctypes
    z = ctypes.CDLL("libzstd.so.1")
    z.ZSTD_compress.restype = ctypes.c_size_t
    buf = ctypes.create_string_buffer(len(data) + 1024)
    n = z.ZSTD_compress(buf, len(buf), data, len(data), 3)
    return buf.raw[:n]


def test_compressed_bodies_land(env):
    import gzip
    import zlib
    e, s = env()
    body = ndjson(recs(30))
    for i, (coding, packed) in enumerate([("gzip", gzip.compress(body)),
                                          ("deflate", zlib.compress(body)),
                                          ("deflate", zlib.compress(body)[2:-4]),  # raw deflate
                                          ("zstd", zstd_compress(body))]):
        c, b, _ = s.request("POST", "/ingest/station_one?wait_for_ack=true", packed,
                            dict(ND, **{"Content-Encoding": coding}))
        assert c == 200 and b["acknowledged"] == 30, (coding, b)
    one = gzip.compress(json.dumps({"temp": 99}).encode())
    c, b, _ = s.request("POST", "/ingest/station_one?wait_for_ack=true", one,
                        {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert c == 200, b
    assert len(rows(e)) == 4 * 30 + 1


def test_bad_encodings(env):
    import gzip
    e, s = env(station={"max_body_bytes": "1MiB"})
    packed = gzip.compress(ndjson(recs(100)))
    c, b, _ = s.request("POST", "/ingest/station_one", packed[:len(packed) // 2],
                        dict(ND, **{"Content-Encoding": "gzip"}))
    assert c == 400 and "truncated" in b["error"], b
    c, b, _ = s.request("POST", "/ingest/station_one", packed, dict(ND, **{"Content-Encoding": "br"}))
    assert c == 415 and "Content-Encoding" in b["error"], b
    # a bomb: 1 GiB of newlines in ~1 MiB of gzip; stopped at max_body_bytes of output
    bomb = gzip.compress(b"\n" * (1 << 30), compresslevel=9)
    pid = s.proc.p.pid
    c, b, _ = s.request("POST", "/ingest/station_one", bomb, dict(ND, **{"Content-Encoding": "gzip"}))
    assert c == 413 and "too large" in b["error"], b
    if not VALGRIND and os.environ.get("ZS_SANITIZED") != "1":
        assert rss_kib(pid) < 64 * 1024, rss_kib(pid)  # never the whole GiB
    assert rows(e) == []


REST = "/zerobus/v1/tables/%s/insert"


def test_rest_endpoint_takes_arrays(env):
    """Databricks' REST ingest call: a client changes only its base URL."""
    e, s = env()
    c, b, _ = s.request("POST", REST % T1, recs(25))
    assert c == 200 and b == {}, b
    c, b, _ = s.request("POST", REST % T1.upper() + "?wait_for_ack=true", recs(5, 25))
    assert c == 200 and b == {}, b  # UC names are case-insensitive
    assert [r["temp"] for r in rows(e)] == list(range(30))
    c, b, _ = s.request("POST", REST % T1, ndjson(recs(2, 30)), ND)
    assert c == 200, b
    c, b, _ = s.request("POST", REST % T1 + "?wait_for_ack=true", b"")
    assert c == 400 and b["error_code"] == "INVALID_PARAMETER_VALUE", b
    assert s.request("POST", "/flush/station_one")[0] == 200
    assert len(rows(e)) == 32


def test_rest_endpoint_errors_in_its_shape(env):
    import gzip
    e, s = env(station={"max_body_bytes": "64KiB"})
    items = recs(4)
    items[2]["temp"] = "warm"
    c, b, _ = s.request("POST", REST % T1 + "?wait_for_ack=true", items)
    assert c == 400 and b["error_code"] == "INVALID_PARAMETER_VALUE", b
    assert "none was accepted" in b["message"] and b["errors"][0]["index"] == 2, b
    for path, words in [(REST % "main.zerobus.nope", "not configured"),
                        ("/zerobus/v1/tables/%s/upsert" % T1, "unknown call"),
                        ("/zerobus/v1/tables/", "")]:
        c, b, _ = s.request("POST", path, recs(1))
        assert c == 404 and b["error_code"] == "NOT_FOUND" and words in b["message"], (path, b)
    c, b, h = s.request("GET", REST % T1)
    assert c == 405 and set(b) == {"error_code", "message", "details"}, b
    assert b["details"][0]["request_id"] == h["X-Request-Id"], (b, h)
    c, b, _ = s.request("POST", REST % T1, {"temp": 1})  # an object, not an array
    assert c == 400 and "JSON array" in b["message"], b
    c, b, _ = s.request("POST", REST % T1, b"[{\"temp\": 1},")
    assert c == 400 and b["error_code"] == "INVALID_PARAMETER_VALUE", b
    # refusals of the HTTP layer, before the handler, answer in the same shape
    c, b, _ = s.request("POST", REST % T1, recs(1), {"Content-Encoding": "br"})
    assert c == 415 and b["error_code"] == "INVALID_PARAMETER_VALUE", b
    big = json.dumps(recs(3000)).encode()
    c, b, _ = s.request("POST", REST % T1, big)
    assert c == 413 and b["error_code"] == "INVALID_PARAMETER_VALUE", b
    c, b, _ = s.request("POST", REST % T1, gzip.compress(big), {"Content-Encoding": "gzip"})
    assert c == 413 and "too large" in b["message"], b
    # partial=true works here too, and lists what it left out
    c, b, _ = s.request("POST", REST % T1 + "?partial=true&wait_for_ack=true", items)
    assert c == 200 and b["accepted"] == 3 and b["rejected"] == 1, b
    assert [r["temp"] for r in rows(e)] == [0, 1, 3]
    # the original API keeps its own shape
    c, b, _ = s.request("POST", "/ingest/station_one", recs(1), {"Content-Encoding": "br"})
    assert c == 415 and "error" in b and "error_code" not in b, b


def test_rest_endpoint_chunked(env):
    e, s = env()
    data = post_chunked(s, REST % T1 + "?wait_for_ack=true", json.dumps(recs(12)).encode(),
                        {"Content-Type": "application/json"}, 50)
    assert data.startswith(b"HTTP/1.1 200 ") and data.endswith(b"{}"), data
    assert [r["temp"] for r in rows(e)] == list(range(12))
