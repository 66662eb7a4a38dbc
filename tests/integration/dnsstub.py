#!/usr/bin/env python3
"""dnsstub.py - a DNS server of TXT records for ACME's dns-01 tests.

usage: dnsstub.py ADDRESS PORT DIR

Answers UDP queries on ADDRESS:PORT. A TXT query for NAME is answered with
one TXT record holding the contents of DIR/NAME (lower case, no trailing
dot) when that file exists, NXDOMAIN otherwise; any other type gets an
empty answer. The files are read at each query, so a hook can add and
remove records while it runs. Each query is logged to stdout as
"CLIENT NAME TYPE RCODE". It serves the tests only: no recursion, no TCP,
no compression of its own answers beyond a pointer to the question.
"""
import os
import socket
import struct
import sys

TXT = 16


def parse_question(msg):
    """(id, flags, qname, qtype, end of question) of a query."""
    qid, flags, qd = struct.unpack("!HHH", msg[:6])
    if qd != 1:
        raise ValueError("one question expected")
    labels, i = [], 12
    while True:
        n = msg[i]
        if n == 0:
            i += 1
            break
        if n & 0xC0:
            raise ValueError("compressed question")
        labels.append(msg[i + 1:i + 1 + n].decode("ascii"))
        i += 1 + n
    qtype, qclass = struct.unpack("!HH", msg[i:i + 4])
    return qid, flags, ".".join(labels).lower(), qtype, i + 4


def answer(msg, directory):
    qid, flags, name, qtype, end = parse_question(msg)
    question = msg[12:end]
    path = os.path.join(directory, name)
    rd = flags & 0x0100
    if "/" in name or not os.path.isfile(path):
        return struct.pack("!HHHHHH", qid, 0x8183 | rd, 1, 0, 0, 0) + question, name, qtype, 3
    if qtype != TXT:
        return struct.pack("!HHHHHH", qid, 0x8180 | rd, 1, 0, 0, 0) + question, name, qtype, 0
    with open(path, "rb") as f:
        value = f.read().strip()
    strings = b"".join(bytes([len(value[k:k + 255])]) + value[k:k + 255]
                       for k in range(0, max(len(value), 1), 255))
    rr = struct.pack("!HHHIH", 0xC00C, TXT, 1, 0, len(strings)) + strings
    return struct.pack("!HHHHHH", qid, 0x8180 | rd, 1, 1, 0, 0) + question + rr, name, qtype, 0


def main():
    addr, port, directory = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((addr, port))
    print("dnsstub: serving", addr, port, flush=True)
    while True:
        msg, peer = s.recvfrom(4096)
        try:
            out, name, qtype, rcode = answer(msg, directory)
        except (ValueError, IndexError, struct.error, UnicodeDecodeError):
            continue
        s.sendto(out, peer)
        print(peer[0], name, qtype, rcode, flush=True)


if __name__ == "__main__":
    main()
