#!/usr/bin/env python3
"""acme_newacct.py - makes one ACME account on lanca without an ACME client.

usage: acme_newacct.py HTTPS_URL ROOT_PEM [CONTACT]

Fetches the directory, takes a nonce and sends a newAccount request signed
(ES256) with a fresh P-256 key, as RFC 8555 section 7.3 describes; the
server's certificate is verified with ROOT_PEM. Prints the new account's id
(the last segment of its Location) and exits 0 when the answer is 201;
otherwise prints the answer to stderr and exits 1. With the window closed
and no EAB key, such an account waits for an admin (docs/acme.md).

Only python3-cryptography APIs that Debian 12's version 38 has are used.
"""
import base64
import http.client
import json
import ssl
import sys
import urllib.parse

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.split("\n\n")[1])
    base, root = sys.argv[1], sys.argv[2]
    contact = [sys.argv[3]] if len(sys.argv) == 4 else []
    u = urllib.parse.urlsplit(base)
    ctx = ssl.create_default_context(cafile=root)

    def call(method, path, body=None, headers=None):
        c = http.client.HTTPSConnection(u.hostname, u.port or 443, context=ctx, timeout=10)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r, data

    r, data = call("GET", "/acme/directory")
    if r.status != 200:
        sys.exit(f"GET /acme/directory: {r.status} {data!r}")
    new_account = json.loads(data)["newAccount"]
    r, _ = call("HEAD", urllib.parse.urlsplit(json.loads(data)["newNonce"]).path)
    nonce = r.getheader("Replay-Nonce")
    if not nonce:
        sys.exit(f"new-nonce: {r.status}, no Replay-Nonce")

    key = ec.generate_private_key(ec.SECP256R1())
    pub = key.public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-256", "x": b64u(pub.x.to_bytes(32, "big")),
           "y": b64u(pub.y.to_bytes(32, "big"))}
    protected = b64u(json.dumps({"alg": "ES256", "jwk": jwk, "nonce": nonce,
                                 "url": new_account}).encode())
    payload = b64u(json.dumps({"termsOfServiceAgreed": True, "contact": contact}).encode())
    der = key.sign(f"{protected}.{payload}".encode("ascii"), ec.ECDSA(hashes.SHA256()))
    rr, ss = decode_dss_signature(der)
    sig = b64u(rr.to_bytes(32, "big") + ss.to_bytes(32, "big"))
    body = json.dumps({"protected": protected, "payload": payload, "signature": sig})
    r, data = call("POST", urllib.parse.urlsplit(new_account).path, body,
                   {"Content-Type": "application/jose+json"})
    loc = r.getheader("Location") or ""
    if r.status != 201 or "/acme/acct/" not in loc:
        print(f"newAccount: {r.status} {loc} {data!r}", file=sys.stderr)
        return 1
    print(loc.rsplit("/", 1)[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
