#!/usr/bin/env python3
"""acme_raw.py - a raw ACME client (RFC 8555) for t_acme_proto.sh.

It sends exactly what it is told, including what a real client never
would (a replayed or made-up nonce, a flipped signature byte, alg "none",
a foreign url, a jwk where a kid belongs, ...), and checks what every
answer must carry. Python's standard library and `cryptography` (only the
APIs of version 38, Debian 12's) are all it needs.

State lives in a directory (--state): account keys NAME.key (PEM, made
on first use with --kty), their account URLs NAME.kid (saved from a
newAccount's Location), the nonces seen (nonces.txt: a nonce handed out
twice is an error) and the last answer's (last-nonce: the next POST
without --nonce uses it up).

  acme_raw.py --dir URL --ca PEM --state DIR COMMAND ...
    directory                  the directory, checked, printed
    nonce [--get]              HEAD (or GET) newNonce: status and nonce checked
    post TARGET [options]      a JWS POST; TARGET is a directory key
                               (newAccount, newOrder, revokeCert, keyChange)
                               or a URL. Prints {status, type, detail,
                               location, body} as JSON; --expect checks it.
    get URL                    a plain GET: {status, headers, body}
    keyauth NAME TOKEN         the key authorization of TOKEN for NAME's key
    thumbprint NAME            NAME's JWK thumbprint (RFC 7638)
    certid PEM                 the RFC 9773 certificate id of PEM's first cert
    certinfo PEM               {serial, not_before, not_after} (epoch seconds)
    jget FILE PATH             a member of a JSON file (PATH a.b.0.c)
"""
import argparse
import base64
import datetime
import hashlib
import hmac
import ipaddress
import json
import os
import re
import ssl
import sys
import urllib.error
import urllib.request

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

PROBLEM = "urn:ietf:params:acme:error:"
B64URL = re.compile(r"^[A-Za-z0-9_-]+$")


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def die(msg):
    sys.stderr.write("acme_raw: %s\n" % msg)
    sys.exit(1)


def int_bytes(n, size=None):
    if size is None:
        size = max(1, (n.bit_length() + 7) // 8)
    return n.to_bytes(size, "big")


# ---- keys ----

class Key:
    """An account (or certificate) key: its JWK, alg and signer."""

    def __init__(self, priv):
        self.priv = priv
        if isinstance(priv, rsa.RSAPrivateKey):
            pub = priv.public_key().public_numbers()
            self.alg = "RS256"
            self.jwk = {"kty": "RSA", "n": b64(int_bytes(pub.n)), "e": b64(int_bytes(pub.e))}
            self.tp_members = ("e", "kty", "n")
        elif isinstance(priv, ec.EllipticCurvePrivateKey):
            pub = priv.public_key().public_numbers()
            size = (priv.curve.key_size + 7) // 8
            crv = {"secp256r1": "P-256", "secp384r1": "P-384"}[priv.curve.name]
            self.alg = {"P-256": "ES256", "P-384": "ES384"}[crv]
            self.hash = {"P-256": hashes.SHA256(), "P-384": hashes.SHA384()}[crv]
            self.size = size
            self.jwk = {"kty": "EC", "crv": crv, "x": b64(int_bytes(pub.x, size)),
                        "y": b64(int_bytes(pub.y, size))}
            self.tp_members = ("crv", "kty", "x", "y")
        elif isinstance(priv, ed25519.Ed25519PrivateKey):
            raw = priv.public_key().public_bytes(serialization.Encoding.Raw,
                                                 serialization.PublicFormat.Raw)
            self.alg = "EdDSA"
            self.jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64(raw)}
            self.tp_members = ("crv", "kty", "x")
        else:
            die("unsupported key type")

    def sign(self, data):
        if self.alg == "RS256":
            return self.priv.sign(data, padding.PKCS1v15(), hashes.SHA256())
        if self.alg == "EdDSA":
            return self.priv.sign(data)
        r, s = decode_dss_signature(self.priv.sign(data, ec.ECDSA(self.hash)))
        return int_bytes(r, self.size) + int_bytes(s, self.size)

    def thumbprint(self):
        canon = json.dumps({k: self.jwk[k] for k in self.tp_members}, sort_keys=True,
                           separators=(",", ":"))
        return b64(hashlib.sha256(canon.encode()).digest())


def new_private(kty):
    if kty == "rsa2048":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kty == "ec256":
        return ec.generate_private_key(ec.SECP256R1())
    if kty == "ec384":
        return ec.generate_private_key(ec.SECP384R1())
    if kty == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    die("unknown key type %s" % kty)
    return None


def load_key(state, name, kty="ec256"):
    path = os.path.join(state, name + ".key")
    if not os.path.exists(path):
        priv = new_private(kty)
        with open(path, "wb") as f:
            f.write(priv.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    with open(path, "rb") as f:
        return Key(serialization.load_pem_private_key(f.read(), password=None))


def read_kid(state, name):
    path = os.path.join(state, name + ".kid")
    if not os.path.exists(path):
        die("key %s has no account URL (%s)" % (name, path))
    with open(path) as f:
        return f.read().strip()


# ---- HTTP ----

class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name)

    def headers_all(self, name):
        return self.headers.get_all(name) or []

    def json(self):
        try:
            return json.loads(self.body.decode())
        except ValueError:
            return None


class Client:
    def __init__(self, args):
        self.args = args
        self.ctx = ssl.create_default_context(cafile=args.ca)
        self.state = args.state
        os.makedirs(self.state, exist_ok=True)
        self._dir = None

    def request(self, method, url, body=None, ctype=None):
        req = urllib.request.Request(url, data=body, method=method)
        if ctype is not None:
            req.add_header("Content-Type", ctype)
        req.add_header("User-Agent", "acme_raw.py (lanca tests)")
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=20) as r:
                return Answer(r.status, r.headers, r.read())
        except urllib.error.HTTPError as e:
            return Answer(e.code, e.headers, e.read())

    def directory(self):
        """The directory, fetched once per state directory (kept in
        directory.json: a round trip less for every request)."""
        path = os.path.join(self.state, "directory.json")
        if self._dir is None and os.path.exists(path):
            with open(path) as f:
                kept = json.load(f)
            if kept.get("url") == self.args.dir:
                self._dir = kept["directory"]
        if self._dir is None:
            a = self.request("GET", self.args.dir)
            if a.status != 200:
                die("directory: HTTP %d" % a.status)
            self._dir = a.json()
            with open(path, "w") as f:
                json.dump({"url": self.args.dir, "directory": self._dir}, f)
        return self._dir

    # Nonces: each one handed out must be new.
    def note_nonce(self, nonce, what):
        if nonce is None:
            die("%s: no Replay-Nonce" % what)
        if not B64URL.match(nonce):
            die("%s: Replay-Nonce %r is not base64url" % (what, nonce))
        path = os.path.join(self.state, "nonces.txt")
        seen = set()
        if os.path.exists(path):
            with open(path) as f:
                seen = set(f.read().split())
        if nonce in seen:
            die("%s: Replay-Nonce %s was handed out before" % (what, nonce))
        with open(path, "a") as f:
            f.write(nonce + "\n")
        with open(os.path.join(self.state, "last-nonce"), "w") as f:
            f.write(nonce)

    def fresh_nonce(self, method="HEAD"):
        a = self.request(method, self.directory()["newNonce"])
        want = 200 if method == "HEAD" else 204
        if a.status != want:
            die("%s newNonce: HTTP %d, not %d" % (method, a.status, want))
        # RFC 8555 7.2: newNonce's answers are not to be cached.
        if "no-store" not in (a.header("Cache-Control") or ""):
            die("%s newNonce: Cache-Control %r, not no-store" % (method, a.header("Cache-Control")))
        self.note_nonce(a.header("Replay-Nonce"), "%s newNonce" % method)
        return a.header("Replay-Nonce")


def jws(key, protected, payload, flip=False, alg=None):
    """A flattened JWS; payload None is POST-as-GET's empty payload."""
    if alg is not None:
        protected = dict(protected, alg=alg)
    else:
        protected = dict(protected, alg=key.alg)
    p64 = b64(json.dumps(protected))
    pay64 = "" if payload is None else b64(json.dumps(payload))
    signing_input = (p64 + "." + pay64).encode()
    if alg == "HS256":
        sig = hmac.new(b"not a key", signing_input, hashlib.sha256).digest()
    elif alg == "none":
        sig = b"\0"
    else:
        sig = key.sign(signing_input)
    if flip:
        sig = bytearray(sig)
        sig[len(sig) // 2] ^= 0x01
        sig = bytes(sig)
    return {"protected": p64, "payload": pay64, "signature": b64(sig)}


def make_csr(key_priv, names, cn=None):
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    sans = []
    for n in names:
        if re.match(r"^[0-9.]+$", n) or ":" in n:
            sans.append(x509.IPAddress(ipaddress.ip_address(n)))
        else:
            sans.append(x509.DNSName(n))
    b = x509.CertificateSigningRequestBuilder()
    b = b.subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else []))
    b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    alg = None if isinstance(key_priv, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return b.sign(key_priv, alg).public_bytes(serialization.Encoding.DER)


def cmd_post(c, a):
    d = c.directory()
    url = d.get(a.target, a.target)
    key = load_key(c.state, a.key, a.kty)
    # The payload
    if a.payload is not None:
        payload = json.loads(a.payload)
    else:
        payload = None
    if a.eab:
        kid, mac = a.eab.split(":", 1)
        bound = load_key(c.state, a.eab_key, a.kty) if a.eab_key else key
        prot = b64(json.dumps({"alg": "HS256", "kid": kid, "url": url}))
        pay = b64(json.dumps(bound.jwk))
        tag = hmac.new(unb64(mac), (prot + "." + pay).encode(), hashlib.sha256).digest()
        if a.eab_flip:
            tag = bytes([tag[0] ^ 1]) + tag[1:]
        payload = dict(payload or {}, externalAccountBinding={
            "protected": prot, "payload": pay, "signature": b64(tag)})
    if a.csr_names is not None:
        ck = load_key(c.state, a.csr_key, "ec256")
        der = make_csr(ck.priv, [n for n in a.csr_names.split(",") if n], a.csr_cn)
        payload = dict(payload or {}, csr=b64(der))
    if a.cert:
        cert = cert_load(a.cert)
        payload = dict(payload or {}, certificate=b64(cert.public_bytes(
            serialization.Encoding.DER)))
        if a.reason is not None:
            payload["reason"] = a.reason
    if a.new_key:
        new = load_key(c.state, a.new_key, a.new_kty)
        kid = read_kid(c.state, a.key)
        inner = jws(new, {"jwk": new.jwk, "url": url},
                    {"account": kid, "oldKey": key.jwk})
        payload = inner
    # The protected header
    nonce = a.nonce
    last = os.path.join(c.state, "last-nonce")
    if nonce is None and os.path.exists(last):
        # The previous answer's nonce, once (saves a newNonce round trip).
        with open(last) as f:
            nonce = f.read().strip()
        os.unlink(last)
    if nonce is None:
        nonce = c.fresh_nonce()
    elif nonce.startswith("@"):
        with open(nonce[1:]) as f:
            nonce = f.read().strip()
    prot = {"nonce": nonce, "url": a.url_hdr or url}
    if a.jwk:
        prot["jwk"] = key.jwk
    else:
        prot["kid"] = a.kid or read_kid(c.state, a.key)
    body = jws(key, prot, payload, flip=a.flip, alg=a.alg)
    if a.raw_payload is not None:
        # A payload sent verbatim (re-signed): e.g. not JSON at all.
        body["payload"] = b64(a.raw_payload) if a.raw_payload else ""
        body["signature"] = b64(key.sign((body["protected"] + "." + body["payload"]).encode()))
    ans = c.request("POST", url, json.dumps(body).encode(), a.ctype)
    # What every answer carries (RFC 8555 6.5, 7.1): a fresh nonce, the index.
    c.note_nonce(ans.header("Replay-Nonce"), "POST %s" % url)
    index = "<%s>;rel=\"index\"" % c.args.dir
    links = [l.replace(" ", "") for l in ans.headers_all("Link")]
    if index not in links:
        die("POST %s: no Link %s (got %s)" % (url, index, links))
    out = {"status": ans.status, "ctype": ans.header("Content-Type"),
           "location": ans.header("Location"), "retry_after": ans.header("Retry-After"),
           "links": links}
    j = ans.json() if ans.body else None
    if ans.header("Content-Type") == "application/problem+json":
        if not j or not j.get("type", "").startswith(PROBLEM):
            die("POST %s: a problem document without an ACME type: %r" % (url, ans.body))
        out["type"] = j["type"][len(PROBLEM):]
        out["detail"] = j.get("detail", "")
        out["problem"] = j
    elif ans.status >= 400:
        die("POST %s: HTTP %d not as application/problem+json but %s" %
            (url, ans.status, ans.header("Content-Type")))
    out["body"] = j if j is not None else ans.body.decode("latin-1")
    if a.out:
        with open(a.out, "wb") as f:
            f.write(ans.body)
    if a.target == "newAccount" and ans.status in (200, 201) and ans.header("Location"):
        with open(os.path.join(c.state, a.key + ".kid"), "w") as f:
            f.write(ans.header("Location"))
    if a.target == "keyChange" and ans.status == 200 and a.new_key:
        with open(os.path.join(c.state, a.new_key + ".kid"), "w") as f:
            f.write(read_kid(c.state, a.key))
    print(json.dumps(out))
    what = "POST %s (%s)" % (a.target, a.key)
    if a.expect is not None:
        if str(ans.status) != a.expect[0]:
            die("%s: HTTP %d, not %s: %s" % (what, ans.status, a.expect[0], ans.body[:600]))
        want = a.expect[1] if len(a.expect) > 1 else "-"
        got = out.get("type", "-")
        if want != got:
            die("%s: problem type %s, not %s: %s" % (what, got, want, ans.body[:600]))
    if a.detail and a.detail not in out.get("detail", ""):
        die("%s: the detail %r does not name %r" % (what, out.get("detail"), a.detail))


def cmd_get(c, a):
    ans = c.request(a.method, a.url)
    print(json.dumps({"status": ans.status, "headers": dict(ans.headers.items()),
                      "body": ans.json() if ans.json() is not None else
                      ans.body.decode("latin-1")}))


def cmd_directory(c, a):
    c._dir = None
    path = os.path.join(c.state, "directory.json")
    if os.path.exists(path):
        os.unlink(path)
    print(json.dumps(c.directory()))


def der_int(n):
    """A positive INTEGER's DER contents: a leading zero byte when the top
    bit is set (RFC 9773 4.1's certID takes the serial so)."""
    return int_bytes(n, n.bit_length() // 8 + 1)


def cert_load(path):
    from cryptography import x509
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def utc_epoch(dt):
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return int(dt.timestamp())


def cmd_certid(c, a):
    from cryptography import x509
    cert = cert_load(a.pem)
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    print(b64(aki.key_identifier) + "." + b64(der_int(cert.serial_number)))


def cmd_certinfo(c, a):
    cert = cert_load(a.pem)
    nb = getattr(cert, "not_valid_before_utc", None) or cert.not_valid_before
    na = getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after
    # The serial as lanca writes it: its DER bytes in lower-case hex.
    n = cert.serial_number
    print(json.dumps({"serial": der_int(n).hex(), "not_before": utc_epoch(nb),
                      "not_after": utc_epoch(na)}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", help="the directory URL")
    ap.add_argument("--ca", help="the CA to verify the server with")
    ap.add_argument("--state", help="keys, account URLs, nonces seen")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("directory")
    p = sub.add_parser("nonce")
    p.add_argument("--get", action="store_true")
    p = sub.add_parser("post")
    p.add_argument("target")
    p.add_argument("--key", default="acct")
    p.add_argument("--kty", default="ec256")
    p.add_argument("--jwk", action="store_true", help="jwk in the header, not kid")
    p.add_argument("--kid", help="this kid, not the key's account")
    p.add_argument("--payload", help="JSON payload (none: POST-as-GET)")
    p.add_argument("--raw-payload", help="the payload's bytes as they are")
    p.add_argument("--nonce", help="this nonce (@FILE: read from FILE)")
    p.add_argument("--flip", action="store_true", help="flip a signature bit")
    p.add_argument("--alg", help="put this alg in the header")
    p.add_argument("--url-hdr", help="put this url in the header")
    p.add_argument("--ctype", default="application/jose+json")
    p.add_argument("--eab", help="KID:HMAC: an externalAccountBinding")
    p.add_argument("--eab-key", help="bind this key's JWK, not the signer's")
    p.add_argument("--eab-flip", action="store_true")
    p.add_argument("--csr-key", default="certkey")
    p.add_argument("--csr-names", help="finalize: a CSR for these names (a,b)")
    p.add_argument("--csr-cn")
    p.add_argument("--cert", help="revokeCert: this certificate (PEM)")
    p.add_argument("--reason", type=int)
    p.add_argument("--new-key", help="keyChange: roll to this key")
    p.add_argument("--new-kty", default="ec256")
    p.add_argument("--out", help="write the body here")
    p.add_argument("--expect", nargs="+", help="STATUS [PROBLEM-TYPE]")
    p.add_argument("--detail", help="the problem's detail must hold this")
    p = sub.add_parser("get")
    p.add_argument("url")
    p.add_argument("--method", default="GET")
    p = sub.add_parser("keyauth")
    p.add_argument("name")
    p.add_argument("token")
    p = sub.add_parser("thumbprint")
    p.add_argument("name")
    p = sub.add_parser("certid")
    p.add_argument("pem")
    p = sub.add_parser("certinfo")
    p.add_argument("pem")
    p = sub.add_parser("jget")
    p.add_argument("file")
    p.add_argument("path")
    a = ap.parse_args()
    if a.cmd == "jget":
        with open(a.file) as f:
            v = json.load(f)
        for part in [x for x in a.path.split(".") if x]:
            try:
                v = v[int(part)] if isinstance(v, list) else v[part]
            except (KeyError, IndexError, ValueError, TypeError):
                sys.exit(1)
        print(v if isinstance(v, str) else json.dumps(v))
        return
    if a.cmd in ("certid", "certinfo"):
        {"certid": cmd_certid, "certinfo": cmd_certinfo}[a.cmd](None, a)
        return
    c = Client(a)
    if a.cmd == "keyauth":
        print(a.token + "." + load_key(c.state, a.name).thumbprint())
    elif a.cmd == "thumbprint":
        print(load_key(c.state, a.name).thumbprint())
    elif a.cmd == "directory":
        cmd_directory(c, a)
    elif a.cmd == "nonce":
        print(c.fresh_nonce("GET" if a.get else "HEAD"))
    elif a.cmd == "post":
        cmd_post(c, a)
    elif a.cmd == "get":
        cmd_get(c, a)


if __name__ == "__main__":
    main()
