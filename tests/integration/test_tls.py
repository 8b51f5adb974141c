"""HTTPS on the ingest port: a throw-away CA made here with the openssl CLI, curl as the
client; a plain and a TLS listener side by side; certificate reload on SIGHUP; mutual TLS
where the client certificate's CN stands for an ingest key."""
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import time

import pytest
from conftest import STATION, TIMEOUT_MULT, recv_all
from test_gateway import rows, env  # noqa: F401  (env is a fixture)

REC = '{"device_name": "d", "temp": 1, "humidity": 2}'
LISTEN = ("--listen", "127.0.0.1:0", "--listen", "127.0.0.1:0,tls")


def sh(cmd, cwd):
    subprocess.run(["bash", "-ec", cmd], cwd=cwd, check=True, capture_output=True,
                   timeout=60 * TIMEOUT_MULT)


@pytest.fixture
def certs(tmp_path):
    """ca.pem; server, other (same names), wronghost, expired, client (CN=edge-01)."""
    d = str(tmp_path)
    sh("""
openssl req -x509 -new -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
  -subj /CN=test-ca -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
mk() {
  openssl req -new -newkey rsa:2048 -nodes -keyout $1.key -out $1.csr -subj "/CN=$2"
  printf "subjectAltName=%s\\nextendedKeyUsage=%s\\n" "$3" "$4" > $1.ext
  openssl x509 -req -in $1.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $1.pem -days 2 \
    -extfile $1.ext
}
mk server localhost "DNS:localhost,IP:127.0.0.1" serverAuth
mk other localhost "DNS:localhost,IP:127.0.0.1" serverAuth
mk wronghost example.com "DNS:example.com" serverAuth
mk client edge-01 "DNS:edge-01" clientAuth
mk stranger nobody "DNS:nobody" clientAuth
mkdir -p db && : > db/index && echo 01 > db/serial
printf '[ca]\\ndefault_ca=d\\n[d]\\ndatabase=db/index\\nserial=db/serial\\nnew_certs_dir=db\\n\
default_md=sha256\\npolicy=p\\ncopy_extensions=copy\\n[p]\\ncommonName=supplied\\n' > ca.cnf
openssl req -new -newkey rsa:2048 -nodes -keyout expired.key -out expired.csr -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1
openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr -out expired.pem \
  -startdate 20200101000000Z -enddate 20200102000000Z -notext
cp server.pem tls.pem && cp server.key tls.key
""", d)
    return d


def curl(url, *args):
    out = subprocess.run(["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "-X", "POST",
                          "-H", "Content-Type: application/json", "-d", REC] + list(args) + [url],
                         capture_output=True, text=True, timeout=30 * TIMEOUT_MULT)
    body, _, code = out.stdout.rpartition("\n")
    return out.returncode, int(code or 0), body


def served_cert(port):
    """The DER certificate a new connection gets."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10 * TIMEOUT_MULT) as so:
        with ctx.wrap_socket(so) as t:
            return t.getpeercert(binary_form=True)


def pem_der(path):
    return ssl.PEM_cert_to_DER_cert(open(path).read())


def test_https_beside_plain(env, certs):
    e, s = env(station={"tls_cert": "tls.pem", "tls_key": "tls.key"}, station_args=LISTEN)
    tls = s.proc.ports["https"]
    ca = os.path.join(certs, "ca.pem")
    # tls.pem lives beside config.json in the test's directory
    assert os.path.dirname(s.config) == certs
    rc, code, body = curl("https://127.0.0.1:%d/ingest/station_one?wait_for_ack=true" % tls,
                          "--cacert", ca)
    assert rc == 0 and code == 200, (rc, code, body)
    rc, code, _ = curl("https://localhost:%d/ingest/station_one" % tls, "--cacert", ca,
                       "--tlsv1.2", "--tls-max", "1.2")
    assert rc == 0 and code == 202
    rc, _, _ = curl("https://127.0.0.1:%d/ingest/station_one" % tls)  # no CA: not trusted
    assert rc == 60
    # plain HTTP to the TLS port: 400 (it says why) and closed; the plain port is not affected
    with socket.create_connection(("127.0.0.1", tls), timeout=10 * TIMEOUT_MULT) as so:
        so.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        data = recv_all(so)
    assert data.startswith(b"HTTP/1.1 400 ") and b"HTTPS" in data, data
    # garbage and a handshake cut short: closed, and others carry on
    for junk in (b"\x16\x03\x01\x00\x05hello", os.urandom(300)):
        with socket.create_connection(("127.0.0.1", tls), timeout=10 * TIMEOUT_MULT) as so:
            so.sendall(junk)
            so.shutdown(socket.SHUT_WR)
            recv_all(so)
    assert s.request("POST", "/ingest/station_one", json.loads(REC))[0] == 202
    rc, code, _ = curl("https://127.0.0.1:%d/ingest/station_one" % tls, "--cacert", ca)
    assert rc == 0 and code == 202
    assert s.request("POST", "/flush/station_one")[0] == 200
    assert len(rows(e)) == 4


def test_certificate_reload_on_sighup(env, certs):
    e, s = env(station={"tls_cert": "tls.pem", "tls_key": "tls.key"}, station_args=LISTEN)
    tls = s.proc.ports["https"]
    ca = os.path.join(certs, "ca.pem")
    assert served_cert(tls) == pem_der(os.path.join(certs, "server.pem"))
    ctx = ssl.create_default_context(cafile=ca)
    old = http.client.HTTPSConnection("127.0.0.1", tls, context=ctx, timeout=10 * TIMEOUT_MULT)
    old.request("POST", "/ingest/station_one", REC, {"Content-Type": "application/json"})
    assert old.getresponse().read() and True

    def swap(name):
        sh("cp %s.pem tls.pem.new && cp %s.key tls.key && mv tls.pem.new tls.pem" % (name, name),
           certs)
        want = pem_der(os.path.join(certs, "%s.pem" % name))
        s.proc.p.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10 * TIMEOUT_MULT
        while served_cert(tls) != want:
            assert time.monotonic() < deadline, "the new certificate is not served"
            time.sleep(0.05)

    swap("other")  # a new certificate for the same names: new connections get it
    rc, code, _ = curl("https://127.0.0.1:%d/ingest/station_one" % tls, "--cacert", ca)
    assert rc == 0 and code == 202
    # the connection opened before goes on with the old one
    old.request("POST", "/ingest/station_one", REC, {"Content-Type": "application/json"})
    r = old.getresponse()
    assert r.status == 202, r.read()
    r.read()
    swap("wronghost")
    rc, _, _ = curl("https://127.0.0.1:%d/ingest/station_one" % tls, "--cacert", ca)
    assert rc == 60  # curl: the name does not match
    swap("expired")
    rc, _, _ = curl("https://127.0.0.1:%d/ingest/station_one" % tls, "--cacert", ca)
    assert rc == 60  # curl: expired
    # a key that does not match its certificate: refused as a whole, the old pair stays
    sh("cp server.pem tls.pem", certs)
    before = s.request("GET", "/health")[1]["auth"]["reloads"]
    assert before == 3  # the three swaps
    s.proc.p.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10 * TIMEOUT_MULT
    while True:
        c, b, _ = s.request("GET", "/health")
        if b["auth"]["reloads"] > before:
            break
        assert time.monotonic() < deadline, b
        time.sleep(0.05)
    assert "station.tls_key" in b["auth"]["reload_error"], b  # the key does not fit
    assert served_cert(tls) == pem_der(os.path.join(certs, "expired.pem"))
    old.close()
    log = s.stop()
    assert "reload refused: the running configuration stays" in log and "tls_key" in log


def test_mutual_tls(env, certs):
    kf = os.path.join(certs, "keys.json")
    subprocess.run([STATION, "keys", "--keys-file", kf, "new", "--id", "edge-01", "--tables",
                    "station_one"], check=True, capture_output=True)
    e, s = env(station={"tls_cert": "tls.pem", "tls_key": "tls.key", "tls_client_ca": "ca.pem",
                        "keys_file": "keys.json"}, station_args=LISTEN)
    tls = s.proc.ports["https"]
    ca = os.path.join(certs, "ca.pem")
    url = "https://127.0.0.1:%d/ingest/station_one" % tls
    rc, _, _ = curl(url, "--cacert", ca)  # no client certificate: the handshake fails
    assert rc in (35, 56), rc
    cert = ["--cacert", ca, "--cert", os.path.join(certs, "client.pem"), "--key",
            os.path.join(certs, "client.key")]
    rc, code, body = curl(url + "?wait_for_ack=true", *cert)  # CN=edge-01 stands for its key
    assert rc == 0 and code == 200, body
    rc, code, body = curl("https://127.0.0.1:%d/ingest/station_two" % tls, *cert)
    assert rc == 0 and code == 403 and "station_two" in body, body
    # a certificate of the CA whose CN is no key id: 401
    rc, code, _ = curl(url, "--cacert", ca, "--cert", os.path.join(certs, "stranger.pem"),
                       "--key", os.path.join(certs, "stranger.key"))
    assert rc == 0 and code == 401
    # the plain listener still needs a key
    assert s.request("POST", "/ingest/station_one", json.loads(REC))[0] == 401
    assert len(rows(e)) == 1
