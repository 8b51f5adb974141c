"""Fixtures for black-box tests of zerobus-emulator (and, later, zerobus-station).

Processes run on ephemeral loopback ports with their own temp dirs; readiness is the
"READY ..." line on stdout (never a sleep); every process is stopped with SIGTERM and
must exit 0 with no sanitizer report on stderr.
"""
import base64
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("ZS_BUILD_DIR", os.path.join(ROOT, "build", "dev"))
EMULATOR = os.path.join(BUILD, "src", "zerobus-emulator")
STATION = os.path.join(BUILD, "src", "zerobus-station")
TIMEOUT_MULT = float(os.environ.get("ZS_TEST_TIMEOUT_MULTIPLIER", "1"))
# ZS_VALGRIND=1 runs every daemon under valgrind: any error or definite leak fails its stop().
VALGRIND = ["valgrind", "--quiet", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite",
            "--track-fds=no"] if os.environ.get("ZS_VALGRIND") else []
if VALGRIND:
    TIMEOUT_MULT *= 10


@pytest.fixture(scope="session")
def pb(tmp_path_factory):
    """Python stubs for the Zerobus service, generated now with protoc + grpc_python_plugin."""
    out = tmp_path_factory.mktemp("pb")
    subprocess.run(
        ["protoc", "-I" + os.path.join(ROOT, "proto"), "-I/usr/include",
         "--python_out=" + str(out), "--grpc_out=" + str(out),
         "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin", "zerobus_service.proto"],
        check=True)
    sys.path.insert(0, str(out))
    import zerobus_service_pb2 as m  # noqa: E402
    import zerobus_service_pb2_grpc as g  # noqa: E402
    return m, g


def recv_all(so):
    """Everything the peer sends until it closes."""
    data = b""
    while True:
        d = so.recv(65536)
        if not d:
            return data
        data += d


class Proc:
    """A daemon started with ephemeral ports; .ports holds what its READY line said."""

    def __init__(self, argv, env=None):
        self.argv = argv
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=env, text=True)
        self.ports = {}
        deadline = time.monotonic() + 20 * TIMEOUT_MULT
        line = ""
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.p.stdout], [], [], 0.2)
            if r:
                line = self.p.stdout.readline()
                if line.startswith("READY"):
                    self.ports = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}
                    return
                if line == "":
                    break
            if self.p.poll() is not None:
                break
        err = self.p.stderr.read() if self.p.poll() is not None else ""
        self.p.kill()
        raise RuntimeError("%s did not become ready: %s %s" % (argv[0], line, err))

    def stop(self, expect_code=0):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            code = self.p.wait(timeout=20 * TIMEOUT_MULT)
        except subprocess.TimeoutExpired:
            self.p.kill()
            raise AssertionError("%s did not stop on SIGTERM" % self.argv[0])
        err = self.p.stderr.read()
        assert "Sanitizer" not in err and "runtime error" not in err, err
        assert code == expect_code, "exit %d: %s" % (code, err[-2000:])
        return err


class Emulator:
    def __init__(self, tmp, args):
        self.data = os.path.join(str(tmp), "data")
        self.proc = Proc(VALGRIND + [EMULATOR, "--port", "0", "--http-port", "0", "--data", self.data,
                          "--log-level", "warn"] + args)
        self.grpc_port = self.proc.ports["grpc"]
        self.http_port = self.proc.ports["http"]
        self.url = "http://127.0.0.1:%d" % self.http_port

    # HTTP helpers ----------------------------------------------------------------
    def http(self, method, path, body=None, headers=None):
        req = urllib.request.Request(self.url + path, data=body, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def token(self, client_id="cid", secret="secret", tables=None):
        form = {"grant_type": "client_credentials", "scope": "all-apis",
                "resource": "api://databricks/workspaces/127/zerobusDirectWriteApi"}
        if tables is not None:
            details = []
            for t in tables:
                cat, sch, _ = t.split(".")
                details += [
                    {"type": "unity_catalog_privileges", "privileges": ["USE CATALOG"],
                     "object_type": "CATALOG", "object_full_path": cat},
                    {"type": "unity_catalog_privileges", "privileges": ["USE SCHEMA"],
                     "object_type": "SCHEMA", "object_full_path": cat + "." + sch},
                    {"type": "unity_catalog_privileges", "privileges": ["SELECT", "MODIFY"],
                     "object_type": "TABLE", "object_full_path": t,
                     "operations": ["zerobuswrite"]}]
            form["authorization_details"] = json.dumps(details)
        basic = base64.b64encode(("%s:%s" % (client_id, secret)).encode()).decode()
        return self.http("POST", "/oidc/v1/token", urllib.parse.urlencode(form).encode(),
                         {"Authorization": "Basic " + basic,
                          "Content-Type": "application/x-www-form-urlencoded"})

    def faults(self, **kw):
        status, body = self.http("POST", "/admin/faults", json.dumps(kw).encode(),
                                 {"Content-Type": "application/json"})
        assert status == 200, body
        return body

    def stats(self):
        return self.http("GET", "/api/stats")[1]

    def rows(self, table):
        path = os.path.join(self.data, table + ".ndjson")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f]

    def stop(self):
        return self.proc.stop()


def _tracked(start):
    """A factory fixture's body: start(...) daemons, stop the ones still running at teardown."""
    started = []

    def make(*args, **kwargs):
        d = start(*args, **kwargs)
        started.append(d)
        return d

    yield make
    for d in started:
        if d.proc.p.poll() is None:
            d.stop()


@pytest.fixture
def emulator_factory(tmp_path):
    yield from _tracked(lambda *args, tmp=None: Emulator(tmp or tmp_path, list(args)))


class Station:
    """zerobus-station serving on an ephemeral port (READY http=PORT)."""

    def __init__(self, config, env_file, *args):
        self.config = str(config)
        self.proc = Proc(VALGRIND + [STATION, "--config", str(config), "--env-file", str(env_file),
                                     "--host", "127.0.0.1", "--port", "0", "--workers", "2"] +
                         list(args))
        self.port = self.proc.ports["http"]
        self.url = "http://127.0.0.1:%d" % self.port

    def request(self, method, path, body=None, headers=None, timeout=30):
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers=headers or {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout * TIMEOUT_MULT) as r:
                return r.status, json.loads(r.read() or b"{}"), dict(r.headers)
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {"raw": raw.decode(errors="replace")}
            return e.code, body, dict(e.headers)

    def stop(self):
        return self.proc.stop()


@pytest.fixture
def station_factory():
    yield from _tracked(Station)
