"""Batch ingest: JSON arrays and NDJSON bodies, all or nothing or partial, per-record errors,
wait_for_ack over the whole batch, chunked request bodies."""
import json
import os
import socket

from conftest import TIMEOUT_MULT, VALGRIND
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


def test_chunked_batch_body(env):
    e, s = env()
    body = ndjson(recs(20))
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 37]), body[i:i + 37])
                      for i in range(0, len(body), 37))
    so = socket.create_connection(("127.0.0.1", s.port), timeout=10 * TIMEOUT_MULT)
    so.sendall(b"POST /ingest/station_one?wait_for_ack=true HTTP/1.1\r\nHost: x\r\n"
               b"Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n"
               b"Connection: close\r\n\r\n" + chunks + b"0\r\n\r\n")
    data = b""
    while True:
        d = so.recv(65536)
        if not d:
            break
        data += d
    so.close()
    assert data.startswith(b"HTTP/1.1 200 "), data
    assert len(rows(e)) == 20


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
