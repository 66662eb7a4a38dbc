#!/usr/bin/env python3
# make-jws-corpus.py - seeds for fuzz_jws: ACME request bodies signed as
# certbot, lego and acme.sh sign them (ES256, ES384, RS256, EdDSA; jwk and
# kid; POST-as-GET), with keys and signatures made by openssl; then
# new-account requests with an External Account Binding (HS256, HS384,
# HS512, as certbot --eab-kid/--eab-hmac-key makes it) and the binding
# alone, and keyChange requests with their inner JWS (no nonce, the new
# key as jwk) and the inner JWS alone.
# usage: make-jws-corpus.py OUTDIR
import base64, hashlib, hmac, json, os, subprocess, sys, tempfile

out = sys.argv[1]
tmp = tempfile.mkdtemp()

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def run(*a, inp=None):
    return subprocess.run(a, input=inp, capture_output=True, check=True).stdout

def der_ints(der):
    # SEQUENCE { INTEGER r, INTEGER s } as openssl writes an ECDSA signature
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7f)
    vals = []
    for _ in range(2):
        assert der[i] == 2
        n = der[i + 1]
        vals.append(der[i + 2:i + 2 + n])
        i += 2 + n
    return vals

def key(kind):
    k = os.path.join(tmp, kind + ".pem")
    if kind in ("P-256", "P-384"):
        run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:" + kind, "-out", k)
        pub = run("openssl", "pkey", "-in", k, "-pubout", "-outform", "DER")
        size = 32 if kind == "P-256" else 48
        pt = pub[-(2 * size + 1):]
        return k, {"kty": "EC", "crv": kind, "x": b64u(pt[1:1 + size]), "y": b64u(pt[1 + size:])}
    if kind == "RSA":
        run("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", k)
        mod = run("openssl", "rsa", "-in", k, "-noout", "-modulus").decode().strip().split("=")[1]
        return k, {"kty": "RSA", "n": b64u(bytes.fromhex(mod)), "e": b64u((65537).to_bytes(3, "big"))}
    run("openssl", "genpkey", "-algorithm", "ed25519", "-out", k)
    pub = run("openssl", "pkey", "-in", k, "-pubout", "-outform", "DER")
    return k, {"kty": "OKP", "crv": "Ed25519", "x": b64u(pub[-32:])}

def sign(kind, k, data):
    if kind == "Ed25519":
        f = os.path.join(tmp, "in")
        open(f, "wb").write(data)
        return run("openssl", "pkeyutl", "-sign", "-inkey", k, "-rawin", "-in", f)
    dg = "-sha384" if kind == "P-384" else "-sha256"
    sig = run("openssl", "dgst", dg, "-sign", k, inp=data)
    if kind == "RSA":
        return sig
    size = 32 if kind == "P-256" else 48
    r, s = der_ints(sig)
    return r.lstrip(b"\0").rjust(size, b"\0") + s.lstrip(b"\0").rjust(size, b"\0")

algs = {"P-256": "ES256", "P-384": "ES384", "RSA": "RS256", "Ed25519": "EdDSA"}
n = 0
for kind, alg in algs.items():
    k, jwk = key(kind)
    for hdr, payload in (
        ({"alg": alg, "nonce": "abc_-123", "url": "https://gw.lan/acme/new-acct", "jwk": jwk},
         {"termsOfServiceAgreed": True, "contact": ["mailto:admin@nas.lan"]}),
        ({"alg": alg, "nonce": "def", "url": "https://gw.lan/acme/new-order", "kid": "https://gw.lan/acme/acct/1"},
         {"identifiers": [{"type": "dns", "value": "nas.lan"}, {"type": "ip", "value": "192.168.1.20"}]}),
        ({"alg": alg, "nonce": "ghi", "url": "https://gw.lan/acme/order/1", "kid": "https://gw.lan/acme/acct/1"}, None),
    ):
        p = b64u(json.dumps(hdr, separators=(",", ":")).encode())
        q = "" if payload is None else b64u(json.dumps(payload).encode())
        sig = sign(kind, k, (p + "." + q).encode())
        body = json.dumps({"protected": p, "payload": q, "signature": b64u(sig)})
        n += 1
        with open(os.path.join(out, "%02d-%s" % (n, alg)), "w") as f:
            f.write(body)

def jws(kind, k, hdr, payload):
    p = b64u(json.dumps(hdr, separators=(",", ":")).encode())
    q = "" if payload is None else b64u(json.dumps(payload).encode())
    return {"protected": p, "payload": q, "signature": b64u(sign(kind, k, (p + "." + q).encode()))}

def put(name, obj):
    global n
    n += 1
    with open(os.path.join(out, "%02d-%s" % (n, name)), "w") as f:
        f.write(json.dumps(obj))

eab_key = b"lanca-eab-seed-key-0123456789abc"
k, jwk = key("P-256")
for alg, dg in (("HS256", hashlib.sha256), ("HS384", hashlib.sha384), ("HS512", hashlib.sha512)):
    p = b64u(json.dumps({"alg": alg, "kid": "kid-" + alg, "url": "https://gw.lan/acme/new-acct"},
                        separators=(",", ":")).encode())
    q = b64u(json.dumps(jwk, separators=(",", ":")).encode())
    eab = {"protected": p, "payload": q,
           "signature": b64u(hmac.new(eab_key, (p + "." + q).encode(), dg).digest())}
    put("eab-" + alg, eab)
    put("new-acct-eab-" + alg, jws("P-256", k, {"alg": "ES256", "nonce": "abc_-123",
                                               "url": "https://gw.lan/acme/new-acct", "jwk": jwk},
                                   {"termsOfServiceAgreed": True, "externalAccountBinding": eab}))
for kind in ("P-256", "Ed25519"):
    nk, njwk = key(kind)
    inner = jws(kind, nk, {"alg": algs[kind], "url": "https://gw.lan/acme/key-change", "jwk": njwk},
                {"account": "https://gw.lan/acme/acct/1", "oldKey": jwk})
    put("inner-" + algs[kind], inner)
    put("key-change-" + algs[kind], jws("P-256", k, {"alg": "ES256", "nonce": "jkl",
                                                     "url": "https://gw.lan/acme/key-change",
                                                     "kid": "https://gw.lan/acme/acct/1"}, inner))
print("wrote", n, "seeds to", out)
