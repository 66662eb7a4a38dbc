#!/usr/bin/env python3
"""rawhttp.py - HTTP as no well-behaved client sends it, for lanca's tests.

  rawhttp.py send [--ca ROOT.pem] [--chunked-mib N [--pause S]] PORT REQUEST
      Connects to 127.0.0.1:PORT (over TLS, verifying with ROOT.pem and
      the name localhost, when --ca is given), sends REQUEST (Python
      escapes such as \\r\\n are decoded), then N chunks of 1 MiB (S
      seconds apart) and the last chunk when --chunked-mib is given, and
      reads the response (10 s at most) and whatever follows it for 1 s.
      Prints one line: the status, whether the response is well-formed,
      the JSON error code, whether the server closed the connection after
      it, why it is not well-formed, and the seconds taken to send and in
      all:
        status=400 well_formed=1 error=bad_request close=1 sent_all=1 why=- send_s=0.01 total_s=0.01
      Well-formed: one status line, headers, a Content-Length, exactly
      that many body bytes and nothing after them before the close, and a
      JSON body {"error": ...}.

  rawhttp.py slow --ca ROOT.pem --addrs FIRST-LAST --per N --seconds S PORT
      The slow sender: from each loopback address FIRST..LAST (127.0.0.x)
      keeps N TLS connections, each sending a request line and then one
      header line a second, never finishing; a connection the server
      closes is opened again. Prints "ready" once every slot has been
      tried, then after S seconds (or on SIGTERM) one line of figures:
        opened=.. closed_by_server=.. held=.. longest_s=..
      (held: connections open at the end; longest_s: the longest any
      connection lived before the server closed it).
"""
import argparse
import json
import select
import signal
import socket
import ssl
import sys
import time


def connect(port, ca, src=None, timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if src:
        s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    if ca:
        ctx = ssl.create_default_context(cafile=ca)
        s = ctx.wrap_socket(s, server_hostname="localhost")
    return s


def judge(raw):
    """(status, well_formed, error, why) of one response in raw."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        return 0, 0, "-", "no end of headers"
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        return 0, 0, "-", "no status line"
    status = int(parts[1])
    clen = None
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or name.strip() != name or not name:
            return status, 0, "-", "malformed header line %r" % line[:40]
        if name.lower() == b"content-length":
            if clen is not None:
                return status, 0, "-", "two Content-Length headers"
            clen = int(value.strip())
    if clen is None:
        return status, 0, "-", "no Content-Length"
    if len(body) != clen:
        return status, 0, "-", "body of %d bytes, Content-Length %d" % (len(body), clen)
    try:
        err = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return status, 0, "-", "body is not a JSON error"
    return status, 1, err, "-"


def complete(raw):
    """True once raw holds headers and as many body bytes as announced."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length" and value.strip().isdigit():
            return len(body) >= int(value.strip())
    return False


def cmd_send(a):
    req = a.request.encode("latin1").decode("unicode_escape").encode("latin1")
    t0 = time.monotonic()
    s = connect(a.port, a.ca, timeout=10)
    sent_ok = True
    try:
        s.sendall(req)
        if a.chunked_mib:
            chunk = b"100000\r\n" + b"a" * 0x100000 + b"\r\n"
            for _ in range(a.chunked_mib):
                s.sendall(chunk)
                time.sleep(a.pause)
            s.sendall(b"0\r\n\r\n")
    except OSError:
        sent_ok = False  # the server may answer and close before all is sent
    t_sent = time.monotonic() - t0
    raw = b""
    closed = 0
    deadline = time.monotonic() + 10
    try:
        while time.monotonic() < deadline and not complete(raw):
            b = s.recv(65536)
            if not b:
                closed = 1
                break
            raw += b
        if complete(raw):
            # Anything after the response, before the close, is junk.
            s.settimeout(1)
            b = s.recv(65536)
            raw += b
            closed = int(not b)
    except socket.timeout:
        pass
    except (OSError, ssl.SSLError):
        closed = 1
    status, ok, err, why = judge(raw)
    print("status=%d well_formed=%d error=%s close=%d sent_all=%d why=%s send_s=%.2f total_s=%.2f"
          % (status, ok, err, closed, int(sent_ok), why.replace(" ", "_"), t_sent,
             time.monotonic() - t0))
    return 0


def cmd_slow(a):
    first, last = a.addrs.split("-")
    base = first.rsplit(".", 1)[0]
    lo, hi = int(first.rsplit(".", 1)[1]), int(last.rsplit(".", 1)[1])
    slots = [["%s.%d" % (base, i), None, 0.0] for i in range(lo, hi + 1) for _ in range(a.per)]
    if len(slots) > 300 or base.split(".")[0] != "127":
        sys.exit("rawhttp slow: loopback addresses only, 300 connections at most")
    opened = closed = 0
    longest = 0.0

    def open_slot(slot):
        nonlocal opened
        try:
            s = connect(a.port, a.ca, slot[0], timeout=0.5)
            s.sendall(b"POST /api/v1/enroll HTTP/1.1\r\nHost: localhost\r\n")
            s.setblocking(False)
        except (OSError, ssl.SSLError):
            return
        slot[1], slot[2] = s, time.monotonic()
        opened += 1

    def drop(slot, by_server):
        nonlocal closed, longest
        if by_server:
            closed += 1
            longest = max(longest, time.monotonic() - slot[2])
        try:
            slot[1].close()
        except OSError:
            pass
        slot[1] = None

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    for slot in slots:
        open_slot(slot)
    print("ready", flush=True)
    end = time.monotonic() + a.seconds
    i = 0
    while time.monotonic() < end and not stop:
        socks = [sl[1] for sl in slots if sl[1] is not None]
        readable = select.select(socks, [], [], 0)[0] if socks else []
        for slot in slots:
            if slot[1] is not None and slot[1] in readable:
                try:
                    data = slot[1].recv(4096)
                except ssl.SSLWantReadError:
                    continue
                except (OSError, ssl.SSLError):
                    data = b""
                if not data:
                    drop(slot, True)
        for slot in slots:
            if slot[1] is None:
                open_slot(slot)
            else:
                try:
                    slot[1].send(b"X-Slow-%d: x\r\n" % i)
                except (ssl.SSLWantWriteError, BlockingIOError):
                    pass
                except (OSError, ssl.SSLError):
                    drop(slot, True)
        i += 1
        time.sleep(max(0.0, min(1.0, end - time.monotonic())))
    held = sum(1 for sl in slots if sl[1] is not None)
    print("opened=%d closed_by_server=%d held=%d longest_s=%.1f"
          % (opened, closed, held, longest), flush=True)
    for slot in slots:
        if slot[1] is not None:
            drop(slot, False)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send")
    s.add_argument("--ca")
    s.add_argument("--chunked-mib", type=int, default=0)
    s.add_argument("--pause", type=float, default=0.0)
    s.add_argument("port", type=int)
    s.add_argument("request")
    w = sub.add_parser("slow")
    w.add_argument("--ca", required=True)
    w.add_argument("--addrs", required=True)
    w.add_argument("--per", type=int, required=True)
    w.add_argument("--seconds", type=float, required=True)
    w.add_argument("port", type=int)
    a = p.parse_args()
    return cmd_send(a) if a.cmd == "send" else cmd_slow(a)


if __name__ == "__main__":
    sys.exit(main())
