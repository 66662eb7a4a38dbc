#!/usr/bin/env python3
"""est_raw.py - one EST request sent the way the reference client sends it.

Speaks HTTP/1.1 by hand over Python's ssl module so that the test sees
what curl hides: the request body is followed by a stray CRLF that
Content-Length does not count, the answer is read until the server
closes the connection (a server that keeps it open fails here after
--timeout seconds, as the reference client hangs), and the request may
be bound to the connection: with --bind the CSR is made on the open
connection with a challengePassword holding the base64 of its
tls-unique value (RFC 7030 section 3.5; TLS 1.2 only, as Python has no
tls-exporter), or a wrong value with --bind wrong. With --openssl the
connection is `openssl s_client -tls1_3` instead, and the binding is its
tls-exporter value (RFC 9266: the label EXPORTER-Channel-Binding, 32
bytes, as s_client's -keymatexport prints it): OpenSSL's side of the
computation, independent of the GnuTLS the server uses.

Prints the status code; writes the header lines to OUT.hdr and the
body to OUT.body.

usage: est_raw.py --port P --cafile ROOT --path PATH --out OUT
                  [--key KEY --cn CN [--bind right|wrong]] [--tls12]
                  [--basic USER:PASS] [--body FILE] [--openssl] [--resume] [--no-ems]

--resume (with --tls12) first makes a full handshake and a GET of
cacerts, then sends the request on a resumed session (failing when the
server did not resume it), so that the binding is the abbreviated
handshake's tls-unique.
"""
import argparse
import base64
import os
import socket
import ssl
import subprocess
import sys
import tempfile


def make_csr(key, cn, password):
    """A base64 (64-character lines) CSR for key and cn, made by openssl."""
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "req.cnf")
        with open(cfg, "w") as f:
            f.write("[req]\ndistinguished_name = dn\nprompt = no\n")
            if password is not None:
                f.write("attributes = attrs\n")
            f.write("[dn]\nCN = %s\n" % cn)
            if password is not None:
                f.write("[attrs]\nchallengePassword = %s\n" % password)
        der = subprocess.run(["openssl", "req", "-new", "-key", key, "-config", cfg,
                              "-outform", "DER"], check=True, capture_output=True).stdout
    b64 = base64.b64encode(der).decode()
    return "".join(b64[i:i + 64] + "\r\n" for i in range(0, len(b64), 64))


def openssl_exchange(a, head_for):
    """The request over openssl s_client (TLS 1.3), bound by tls-exporter."""
    cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % a.port,
           "-servername", "localhost", "-CAfile", a.cafile, "-verify_return_error",
           "-tls1_3", "-ign_eof", "-keymatexport", "EXPORTER-Channel-Binding",
           "-keymatexportlen", "32"]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    km = None
    for line in p.stdout:
        if line.strip().startswith(b"Keying material:"):
            km = bytes.fromhex(line.split(b":", 1)[1].strip().decode())
            break
    if km is None:
        p.kill()
        sys.exit("est_raw.py: s_client printed no keying material")
    password = base64.b64encode(km if a.bind == "right" else b"not this connection").decode()
    body = make_csr(a.key, a.cn, password)
    p.stdin.write(head_for(body).encode())
    p.stdin.flush()
    try:
        out, _ = p.communicate(timeout=a.timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        sys.exit("est_raw.py: the server kept the connection open after answering")
    start = out.find(b"HTTP/1.1 ")
    if start < 0:
        sys.exit("est_raw.py: no answer over s_client")
    # s_client prints its own notes (session tickets) after the answer:
    # the body ends where Content-Length says.
    head, _, rest = out[start:].partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head + b"\r\n\r\n" + rest[:length]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cafile", required=True)
    p.add_argument("--path", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--key")
    p.add_argument("--cn")
    p.add_argument("--bind", choices=["right", "wrong"])
    p.add_argument("--tls12", action="store_true")
    p.add_argument("--basic")
    p.add_argument("--body")
    p.add_argument("--timeout", type=float, default=10)
    p.add_argument("--openssl", action="store_true")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--no-ems", action="store_true")
    a = p.parse_args()

    def head_for(body):
        head = ["POST %s HTTP/1.1" % a.path, "Host: localhost:%d" % a.port,
                "Content-Type: application/pkcs10", "Content-Length: %d" % len(body)]
        if a.basic:
            head.append("Authorization: Basic " + base64.b64encode(a.basic.encode()).decode())
        # The stray CRLF after the body, as the reference client sends it.
        return "\r\n".join(head) + "\r\n\r\n" + body + "\r\n"

    if a.openssl:
        write_answer(a, openssl_exchange(a, head_for))
        return

    ctx = ssl.create_default_context(cafile=a.cafile)
    if a.tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if a.no_ems:
        # SSL_OP_NO_EXTENDED_MASTER_SECRET (OpenSSL 3.0): a TLS 1.2
        # handshake without RFC 7627, where tls-unique is not safe.
        ctx.options |= 0x1
    session = None
    if a.resume:
        first = ctx.wrap_socket(socket.create_connection(("127.0.0.1", a.port), timeout=a.timeout),
                                server_hostname="localhost")
        first.sendall(b"GET /.well-known/est/cacerts HTTP/1.1\r\nHost: localhost\r\n\r\n")
        try:
            while first.recv(65536):
                pass
        except (socket.timeout, ssl.SSLError):
            pass
        session = first.session
        first.close()
    raw = socket.create_connection(("127.0.0.1", a.port), timeout=a.timeout)
    t = ctx.wrap_socket(raw, server_hostname="localhost", session=session)
    if a.resume and not t.session_reused:
        sys.exit("est_raw.py: the server did not resume the session")

    if a.body is not None:
        with open(a.body) as f:
            body = f.read()
    else:
        password = None
        if a.bind == "right":
            cb = t.get_channel_binding("tls-unique")
            if cb is None:
                sys.exit("est_raw.py: no tls-unique on this connection (TLS 1.3?)")
            password = base64.b64encode(cb).decode()
        elif a.bind == "wrong":
            password = base64.b64encode(b"not this connection").decode()
        body = make_csr(a.key, a.cn, password)

    t.sendall(head_for(body).encode())

    answer = b""
    try:
        while True:
            chunk = t.recv(65536)
            if not chunk:
                break
            answer += chunk
    except socket.timeout:
        sys.exit("est_raw.py: the server kept the connection open after answering")
    except ssl.SSLError as e:
        # A close without close_notify still ends the answer.
        if "EOF" not in str(e) and "eof" not in str(e):
            raise
    t.close()
    write_answer(a, answer)


def write_answer(a, answer):
    """Headers to OUT.hdr, body to OUT.body; prints the status."""
    headers, _, payload = answer.partition(b"\r\n\r\n")
    lines = headers.decode("latin-1").split("\r\n")
    with open(a.out + ".hdr", "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(a.out + ".body", "wb") as f:
        f.write(payload)
    status = lines[0].split(" ")
    print(status[1] if len(status) > 1 else "000")


if __name__ == "__main__":
    main()
