#!/bin/sh
# t_est.sh - EST (RFC 7030 with RFC 8951) against the real daemon, with an
# EST client made of curl and openssl, and tests/tools/est_raw.py where
# the test must see what curl hides (the stray CRLF after the body, the
# closed connection, a request bound to its TLS connection).
. "$(dirname "$0")/lib.sh"

D="$T/state"
REAL_LANCA=$LANCA
"$LANCA" init --dir "$D" --name est >/dev/null 2>&1 || fail "init"
ROOT_PEM="$D/root.pem"
RAW="python3 $TOP_SRCDIR/tests/tools/est_raw.py"
EST=/.well-known/est
cat >"$T/pre.csv" <<'EOF'
ID,NAME,SECRET
est-pre,Boiler,Sekr1t-boiler-42
est-pre2,Heat pump,Sekr1t-pump-43
EOF
"$LANCA" preauth import "$T/pre.csv" --dir "$D" >"$T/out" 2>&1 || fail "preauth import: $(cat "$T/out")"
start_serve "$D" --enroll-burst 1000 --enroll-rate 1000 --est-label gw

# est_post NAME PATH [curl options...]: POSTs $T/NAME.csr as base64 (openssl
# wraps it at 64 characters); prints the status; body to $T/NAME.resp,
# headers to $T/NAME.hdr.
est_post() {
	n=$1
	p=$2
	shift 2
	openssl req -in "$T/$n.csr" -outform der | openssl base64 >"$T/$n.b64"
	tcurl -o "$T/$n.resp" -D "$T/$n.hdr" -w '%{http_code}' \
		-H 'Content-Type: application/pkcs10' --data-binary @"$T/$n.b64" "$@" \
		"$HTTPS_URL$EST/$p" || true
}

# est_certs FILE OUT: the certificates of a base64 PKCS#7 answer, as PEM.
est_certs() {
	openssl base64 -d -in "$1" | openssl pkcs7 -inform DER -print_certs -out "$2"
}

# header NAME FIELD: a header's value from $T/NAME.hdr, as sent.
header() {
	sed -n "s/^$2: //p" "$T/$1.hdr" | tr -d '\r'
}

# 1. cacerts: the issuing CA and the root, in the shape the reference
#    client reads: few headers, base64 in lines of at most 64 characters,
#    the connection closed.
st=$(tcurl -o "$T/ca.resp" -D "$T/ca.hdr" -w '%{http_code}' "$HTTPS_URL$EST/cacerts")
[ "$st" = 200 ] || fail "cacerts: $st"
[ "$(header ca Content-Type)" = application/pkcs7-mime ] || fail "cacerts type: $(cat "$T/ca.hdr")"
est_certs "$T/ca.resp" "$T/ca.pem" || fail "cacerts is not a PKCS#7"
grep -q "subject=.*CN *= *est Root CA" "$T/ca.pem" || fail "no root in cacerts: $(cat "$T/ca.pem")"
grep -q "subject=.*OU *= *est Issuing CA" "$T/ca.pem" || fail "no issuing CA in cacerts"
awk 'length($0) > 65 { bad = 1 } END { exit bad }' "$T/ca.resp" || fail "a base64 line over 64 characters"
[ "$(wc -l <"$T/ca.resp")" -gt 1 ] || fail "cacerts is one line"
n=$(grep -c ':' "$T/ca.hdr")
[ "$n" -le 15 ] || fail "cacerts carries $n header lines"
grep -q "^HTTP/1.1 200" "$T/ca.hdr" || fail "status line: $(head -n 1 "$T/ca.hdr")"
[ "$(header ca Connection)" = close ] || fail "cacerts does not close the connection"
[ -n "$(header ca Content-Length)" ] || fail "cacerts without Content-Length"
if grep -qi "strict-transport\|x-frame\|content-security" "$T/ca.hdr"; then fail "web headers on EST"; fi
st=$(tcurl -o "$T/cal.resp" -w '%{http_code}' "$HTTPS_URL$EST/gw/cacerts")
[ "$st" = 200 ] && cmp -s "$T/ca.resp" "$T/cal.resp" || fail "labelled cacerts: $st"
st=$(tcurl -o "$T/cax.resp" -D "$T/cax.hdr" -w '%{http_code}' "$HTTPS_URL$EST/other/cacerts")
[ "$st" = 404 ] || fail "unknown label: $st"
grep -q "no CA is labelled \"other\"" "$T/cax.resp" || fail "unknown label reason: $(cat "$T/cax.resp")"
[ "$(header cax Content-Type)" = "text/plain; charset=us-ascii" ] || fail "EST errors are not text"
ok "cacerts: issuing CA and root in a PKCS#7, 64-character lines, $n header lines, closed; labels"

# csrattrs: base64 DER that openssl reads: P-256, ecdsa-with-SHA256, and
# no challengePassword while binding is not required.
st=$(tcurl -o "$T/attrs.resp" -D "$T/attrs.hdr" -w '%{http_code}' "$HTTPS_URL$EST/csrattrs")
[ "$st" = 200 ] || fail "csrattrs: $st"
[ "$(header attrs Content-Type)" = application/csrattrs ] || fail "csrattrs type"
openssl base64 -d -in "$T/attrs.resp" | openssl asn1parse -inform DER >"$T/attrs.txt" ||
	fail "csrattrs does not parse: $(cat "$T/attrs.resp")"
grep -q "id-ecPublicKey" "$T/attrs.txt" && grep -q "prime256v1" "$T/attrs.txt" &&
	grep -q "ecdsa-with-SHA256" "$T/attrs.txt" || fail "csrattrs content: $(cat "$T/attrs.txt")"
if grep -q "challengePassword" "$T/attrs.txt"; then fail "challengePassword asked for unrequired binding"; fi
st=$(tcurl -o /dev/null -w '%{http_code}' "$HTTPS_URL$EST/gw/csrattrs"); [ "$st" = 200 ] || fail "labelled csrattrs: $st"
ok "csrattrs: P-256 and ecdsa-with-SHA256, parsed by openssl asn1parse"

# 2. simpleenroll during a press: the certificate, verifying to the root.
"$LANCA" press --dir "$D" >/dev/null || fail "press"
make_csr a est-a "DNS:est-a.local"
st=$(est_post a simpleenroll); [ "$st" = 200 ] || fail "enroll in a press: $st $(cat "$T/a.resp")"
case "$(header a Content-Type)" in
"application/pkcs7-mime; smime-type=certs-only"*) ;;
*) fail "enroll content type: $(header a Content-Type)" ;;
esac
awk 'length($0) > 65 { bad = 1 } END { exit bad }' "$T/a.resp" || fail "enroll: a line over 64"
est_certs "$T/a.resp" "$T/a.pem" || fail "the answer is not a PKCS#7"
openssl verify -CAfile "$ROOT_PEM" -untrusted "$T/ca.pem" "$T/a.pem" >/dev/null 2>&1 ||
	fail "the EST certificate does not verify"
openssl x509 -in "$T/a.pem" -noout -subject | grep -q "CN *= *est-a" || fail "subject"
[ "$(sql "SELECT count(*) FROM certificates WHERE device_id='est-a'")" = 1 ] || fail "not on record"
ok "simpleenroll in a press window: 200, certs-only PKCS#7, verifies against the root"

# 3. without a press: 202 + Retry-After; polling with the same key finds
#    the same request; approve; the next poll gets the certificate.
make_csr b est-b
st=$(est_post b simpleenroll); [ "$st" = 202 ] || fail "enroll without a press: $st"
[ -n "$(header b Retry-After)" ] || fail "202 without Retry-After"
id=$(sed -n 's/^pending: request \([0-9a-f]*\).*/\1/p' "$T/b.resp")
[ -n "$id" ] || fail "the 202 does not name the request: $(cat "$T/b.resp")"
st=$(est_post b gw/simpleenroll); [ "$st" = 202 ] || fail "second poll: $st"
[ "$(sql "SELECT count(*) FROM requests WHERE device_id='est-b'")" = 1 ] || fail "a poll made a new request"
"$LANCA" approve --dir "$D" "$id" >/dev/null || fail "approve"
st=$(est_post b simpleenroll); [ "$st" = 200 ] || fail "poll after approve: $st"
est_certs "$T/b.resp" "$T/b.pem" || fail "approved answer"
openssl verify -CAfile "$ROOT_PEM" -untrusted "$T/ca.pem" "$T/b.pem" >/dev/null 2>&1 || fail "verify b"
[ "$(sql "SELECT count(*) FROM requests WHERE device_id='est-b'")" = 1 ] || fail "two requests for b"
ok "simpleenroll without a press: 202 + Retry-After, same request on every poll, 200 once approved"

# 4. HTTP Basic for a pre-authorised device: challenged first, then
#    issued with its secret; a wrong secret is refused and audited.
make_csr p est-pre
st=$(est_post p simpleenroll); [ "$st" = 401 ] || fail "pre-authorised without credentials: $st"
header p WWW-Authenticate | grep -q '^Basic realm=' || fail "401 without a Basic challenge"
st=$(est_post p simpleenroll -u "est-pre:wrong-secret"); [ "$st" = 401 ] || fail "wrong secret: $st"
grep -q "missing or wrong secret" "$T/p.resp" || fail "wrong secret reason: $(cat "$T/p.resp")"
[ "$(sql "SELECT count(*) FROM audit WHERE event='preauth_secret_wrong' AND subject='est-pre'")" = 1 ] ||
	fail "the wrong secret was not audited"
[ "$(sql "SELECT count(*) FROM requests WHERE device_id='est-pre'")" = 0 ] || fail "a wrong secret left a request"
st=$(est_post p simpleenroll -u "est-pre:Sekr1t-boiler-42"); [ "$st" = 200 ] || fail "right secret: $st $(cat "$T/p.resp")"
est_certs "$T/p.resp" "$T/p.pem" || fail "pre-authorised answer"
[ "$(sql "SELECT auth FROM requests WHERE device_id='est-pre'")" = preauth ] || fail "not recorded as preauth"
ok "Basic: 401 + WWW-Authenticate first, wrong secret 401 and audited, right secret 200"

# 5. Wrong secrets are throttled per address.
make_csr g est-pre2
make_csr gx est-nobody
i=0
while [ $i -lt 6 ]; do
	st=$(est_post g simpleenroll -u "est-pre2:guess-$i")
	i=$((i + 1))
	# Credentials on a request that needs none (recorded, pending) do not
	# wipe the count: only a secret that was verified does.
	if [ $i = 4 ]; then
		s2=$(est_post gx simpleenroll -u "est-nobody:anything")
		[ "$s2" = 202 ] || fail "Basic for a device without a secret: $s2"
	fi
done
[ "$st" = 429 ] || fail "the sixth wrong secret in a row: $st"
[ -n "$(header g Retry-After)" ] || fail "429 without Retry-After"
# The same count holds lanca's own API (X-Lanca-Secret).
openssl req -in "$T/g.csr" -outform der -out "$T/g.der"
st=$(tcurl -o "$T/g.api" -w '%{http_code}' -H 'Content-Type: application/pkcs10' \
	-H 'X-Lanca-Secret: yet-another-guess' --data-binary @"$T/g.der" "$HTTPS_URL/api/v1/enroll")
[ "$st" = 429 ] || fail "a wrong X-Lanca-Secret from a blocked address: $st"
ok "wrong secrets from one address are throttled (429 + Retry-After) on EST and the API alike"

# 6. simplereenroll over mTLS: same key and new key; revoked refused.
make_csr a2 est-a
st=$(est_post a2 simplereenroll --cert "$T/a.pem" --key "$T/a.key")
[ "$st" = 200 ] || fail "re-enroll with a new key: $st $(cat "$T/a2.resp")"
est_certs "$T/a2.resp" "$T/a2.pem" || fail "re-enroll answer"
[ "$(openssl x509 -in "$T/a2.pem" -noout -subject)" = "$(openssl x509 -in "$T/a.pem" -noout -subject)" ] ||
	fail "re-enroll changed the subject"
[ "$(openssl x509 -in "$T/a2.pem" -noout -serial)" != "$(openssl x509 -in "$T/a.pem" -noout -serial)" ] ||
	fail "re-enroll gave the same certificate"
# The reference client's re-enroll CSR: the old subject, the same key, and
# copies of the old certificate's extensions (key identifiers included).
openssl req -new -key "$T/a2.key" -subj "/CN=est-a" -out "$T/a3.csr" \
	-addext "basicConstraints=critical,CA:FALSE" -addext "keyUsage=critical,digitalSignature" \
	-addext "extendedKeyUsage=clientAuth,serverAuth" -addext "subjectKeyIdentifier=hash" \
	-addext "subjectAltName=DNS:est-a.local" 2>/dev/null || fail "the copying CSR"
cp "$T/a2.key" "$T/a3.key"
st=$(est_post a3 simplereenroll --cert "$T/a2.pem" --key "$T/a2.key")
[ "$st" = 200 ] || fail "re-enroll with the same key: $st $(cat "$T/a3.resp")"
st=$(est_post a3 simplereenroll); [ "$st" = 403 ] || fail "re-enroll without a client certificate: $st"
make_csr x est-x
st=$(est_post x simplereenroll --cert "$T/a2.pem" --key "$T/a2.key"); [ "$st" = 403 ] ||
	fail "re-enroll for another device: $st"
s=$(openssl x509 -in "$T/a2.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
sql "UPDATE certificates SET status='revoked', revoked_at=strftime('%s','now') WHERE lower(hex(serial))='$s'"
make_csr a4 est-a
st=$(est_post a4 simplereenroll --cert "$T/a2.pem" --key "$T/a2.key"); [ "$st" = 403 ] ||
	fail "re-enroll with a revoked certificate: $st"
grep -q "revoked" "$T/a4.resp" || fail "revoked reason: $(cat "$T/a4.resp")"
ok "simplereenroll over mTLS: new key and same key, same subject; other device, no or revoked certificate: 403"

# A vendor's factory certificate as the TLS client certificate: issued at
# once for its own device, for no other.
mkca vnd "Vendor Root CA"
mkfactory fac vnd "est-vdev"
"$LANCA" vendor add "$T/vnd.pem" --auto-register --dir "$D" >"$T/out" 2>&1 || fail "vendor add: $(cat "$T/out")"
make_csr v est-vdev
st=$(est_post v simpleenroll --cert "$T/fac.pem" --key "$T/fac.key")
[ "$st" = 200 ] || fail "factory certificate over EST: $st $(cat "$T/v.resp")"
[ "$(sql "SELECT auth FROM requests WHERE device_id='est-vdev'")" = vendor ] || fail "not recorded as vendor"
make_csr v2 est-other
st=$(est_post v2 simpleenroll --cert "$T/fac.pem" --key "$T/fac.key")
[ "$st" = 202 ] || fail "a factory certificate vouching for another device: $st"
ok "simpleenroll with a vendor's factory certificate: 200 for its own device, 202 for another"

# 7. Bad input: not base64, base64 of something else, wrong type.
printf 'this is *not* base64\n' >"$T/bad.b64"
st=$(tcurl -o "$T/bad.resp" -w '%{http_code}' -H 'Content-Type: application/pkcs10' \
	--data-binary @"$T/bad.b64" "$HTTPS_URL$EST/simpleenroll")
[ "$st" = 400 ] && grep -q "not base64" "$T/bad.resp" || fail "bad base64: $st $(cat "$T/bad.resp")"
printf 'hello world, not a request' | openssl base64 >"$T/junk.b64"
st=$(tcurl -o "$T/junk.resp" -w '%{http_code}' -H 'Content-Type: application/pkcs10' \
	--data-binary @"$T/junk.b64" "$HTTPS_URL$EST/simpleenroll")
[ "$st" = 400 ] && grep -qi "PKCS#10" "$T/junk.resp" || fail "non-CSR body: $st $(cat "$T/junk.resp")"
st=$(tcurl -o "$T/ct.resp" -w '%{http_code}' -H 'Content-Type: text/plain' \
	--data-binary @"$T/a.b64" "$HTTPS_URL$EST/simpleenroll")
[ "$st" = 415 ] || fail "wrong content type: $st"
# RFC 8951: one long line, no padding, a Content-Transfer-Encoding header.
make_csr c est-c
openssl req -in "$T/c.csr" -outform der | openssl base64 -A | tr -d '=' >"$T/c.b64"
st=$(tcurl -o "$T/c.resp" -w '%{http_code}' -H 'Content-Type: application/pkcs10' \
	-H 'Content-Transfer-Encoding: binary' --data-binary @"$T/c.b64" "$HTTPS_URL$EST/simpleenroll")
[ "$st" = 202 ] || fail "one-line unpadded base64: $st $(cat "$T/c.resp")"
ok "bad base64 and non-CSR bodies 400, wrong type 415; RFC 8951 bodies accepted"

# 8. What the reference client sends: a stray CRLF after the body; it
#    reads until the server closes. And channel binding in challengePassword.
openssl ecparam -name prime256v1 -genkey -noout -out "$T/k.key"
st=$($RAW --port "$HTTPS_PORT" --cafile "$ROOT_PEM" --path "$EST/simpleenroll" --out "$T/r1" \
	--key "$T/k.key" --cn est-raw --tls12) || fail "raw client: $st"
[ "$st" = 202 ] || fail "raw request with a stray CRLF: $st $(cat "$T/r1.body")"
st=$($RAW --port "$HTTPS_PORT" --cafile "$ROOT_PEM" --path "$EST/simpleenroll" --out "$T/r2" \
	--key "$T/k.key" --cn est-raw --tls12 --bind right) || fail "raw client: $st"
[ "$st" = 202 ] || fail "tls-unique binding refused: $st $(cat "$T/r2.body")"
st=$($RAW --port "$HTTPS_PORT" --cafile "$ROOT_PEM" --path "$EST/simpleenroll" --out "$T/r3" \
	--key "$T/k.key" --cn est-raw --tls12 --bind wrong) || fail "raw client: $st"
[ "$st" = 400 ] && grep -q "tls-unique" "$T/r3.body" || fail "wrong binding, TLS 1.2: $st $(cat "$T/r3.body")"
st=$($RAW --port "$HTTPS_PORT" --cafile "$ROOT_PEM" --path "$EST/simpleenroll" --out "$T/r4" \
	--key "$T/k.key" --cn est-raw --bind wrong) || fail "raw client: $st"
[ "$st" = 400 ] && grep -q "tls-exporter" "$T/r4.body" || fail "wrong binding, TLS 1.3: $st $(cat "$T/r4.body")"
# tls-unique is refused on a TLS 1.2 connection without the extended
# master secret (RFC 7627): there it can be made equal on two connections.
st=$($RAW --port "$HTTPS_PORT" --cafile "$ROOT_PEM" --path "$EST/simpleenroll" --out "$T/r9" \
	--key "$T/k.key" --cn est-raw --tls12 --no-ems --bind right) || fail "raw client: $st"
[ "$st" = 400 ] && grep -q "extended master secret" "$T/r9.body" ||
	fail "tls-unique without EMS: $st $(cat "$T/r9.body")"
# tls-unique on a resumed TLS 1.2 session: the abbreviated handshake's.
st=$($RAW --port "$HTTPS_PORT" --cafile "$ROOT_PEM" --path "$EST/simpleenroll" --out "$T/r8" \
	--key "$T/k.key" --cn est-raw --tls12 --resume --bind right) || fail "raw client: $st"
[ "$st" = 202 ] || fail "tls-unique on a resumed session refused: $st $(cat "$T/r8.body")"
# The reference client sends the host it was given as SNI, an IP address too.
printf 'GET %s/cacerts HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' "$EST" |
	timeout 10 openssl s_client -quiet -ign_eof -connect "127.0.0.1:$HTTPS_PORT" \
	-servername 127.0.0.1 -tls1_2 -CAfile "$ROOT_PEM" >"$T/sni.out" 2>"$T/sni.err" || true
grep -q "^HTTP/1.1 200" "$T/sni.out" || fail "an IP address as SNI: $(cat "$T/sni.err")"
# TLS 1.3 with OpenSSL's own tls-exporter value (s_client -keymatexport).
st=$($RAW --port "$HTTPS_PORT" --cafile "$ROOT_PEM" --path "$EST/simpleenroll" --out "$T/r6" \
	--key "$T/k.key" --cn est-raw --bind right --openssl) || fail "raw client: $st"
[ "$st" = 202 ] || fail "tls-exporter binding from OpenSSL refused: $st $(cat "$T/r6.body")"
st=$($RAW --port "$HTTPS_PORT" --cafile "$ROOT_PEM" --path "$EST/simpleenroll" --out "$T/r7" \
	--key "$T/k.key" --cn est-raw --bind wrong --openssl) || fail "raw client: $st"
[ "$st" = 400 ] && grep -q "tls-exporter" "$T/r7.body" || fail "wrong binding over s_client: $st"
[ "$(sql "SELECT count(*) FROM requests WHERE device_id='est-raw'")" = 1 ] || fail "est-raw requests"
ok "stray CRLF, connection closed, IP address as SNI; tls-unique (Python, full and resumed) and tls-exporter (OpenSSL) bindings accepted, wrong ones 400 on TLS 1.2 and 1.3"

stop_serve || fail "serve did not stop cleanly"
# An expired certificate re-enrolls only within --renew-grace (device
# certificates last 90 days; the daemon's clock is 100 days on).
if [ -n "$LIBFAKETIME" ]; then
	LANCA=$(faked_lanca +100d)
	start_serve "$D"
	make_csr b2 est-b
	st=$(est_post b2 simplereenroll --cert "$T/b.pem" --key "$T/b.key"); [ "$st" = 403 ] ||
		fail "re-enroll with an expired certificate: $st"
	grep -q "expired" "$T/b2.resp" || fail "expired reason: $(cat "$T/b2.resp")"
	stop_serve || fail "faked serve did not stop cleanly"
	start_serve "$D" --renew-grace 30
	st=$(est_post b2 simplereenroll --cert "$T/b.pem" --key "$T/b.key"); [ "$st" = 200 ] ||
		fail "re-enroll within the grace period: $st $(cat "$T/b2.resp")"
	stop_serve || fail "faked serve did not stop cleanly"
	LANCA=$REAL_LANCA
	ok "simplereenroll with an expired certificate: 403, 200 within --renew-grace"
else
	ok "# SKIP simplereenroll with an expired certificate: libfaketime not installed"
fi
# --est-require-binding: a request without the binding is refused.
start_serve "$D" --est-require-binding
make_csr n est-n
st=$(est_post n simpleenroll); [ "$st" = 400 ] || fail "no binding, binding required: $st"
grep -q "requires the request to carry the TLS channel binding" "$T/n.resp" || fail "reason: $(cat "$T/n.resp")"
st=$($RAW --port "$HTTPS_PORT" --cafile "$ROOT_PEM" --path "$EST/simpleenroll" --out "$T/r5" \
	--key "$T/k.key" --cn est-raw --tls12 --bind right) || fail "raw client: $st"
[ "$st" = 202 ] || fail "bound request, binding required: $st $(cat "$T/r5.body")"
tcurl "$HTTPS_URL$EST/csrattrs" | openssl base64 -d | openssl asn1parse -inform DER |
	grep -q challengePassword || fail "csrattrs does not ask for the binding it requires"
ok "--est-require-binding: unbound request 400, bound request accepted, csrattrs asks for challengePassword"
make_csr s est-skg
st=$(est_post s serverkeygen); [ "$st" = 404 ] || fail "serverkeygen while off: $st"
grep -q "est-serverkeygen" "$T/s.resp" || fail "the 404 does not say how to turn it on: $(cat "$T/s.resp")"
stop_serve || fail "serve did not stop cleanly"

# serverkeygen (--est-serverkeygen): the key and its certificate in a
# multipart/mixed answer, only when the decision is made at once.
# (--monitor 1: the keys that asked earlier in this test have stopped
# waiting by the press, so it opens a window rather than an overlap.)
start_serve "$D" --est-serverkeygen --enroll-burst 1000 --enroll-rate 1000 --monitor 1
st=$(est_post s serverkeygen); [ "$st" = 403 ] || fail "serverkeygen without a press: $st $(cat "$T/s.resp")"
grep -q "decision at once" "$T/s.resp" || fail "serverkeygen refusal: $(cat "$T/s.resp")"
[ "$(sql "SELECT count(*) FROM requests WHERE device_id='est-skg'")" = 0 ] ||
	fail "a refused serverkeygen left a request"
sleep 2
"$LANCA" press --dir "$D" >"$T/press.out" || fail "press"
grep -q "window open" "$T/press.out" || fail "the press did not open a window: $(cat "$T/press.out")"
st=$(est_post s serverkeygen); [ "$st" = 200 ] || fail "serverkeygen in a press: $st $(cat "$T/s.resp")"
ctype=$(header s Content-Type)
case "$ctype" in multipart/mixed*boundary=*) ;; *) fail "serverkeygen type: $ctype" ;; esac
b=${ctype##*boundary=}
# Split the parts: part N's base64 goes to $T/s.partN.
awk -v b="--$b" -v base="$T/s.part" '
	{ sub(/\r$/, "") }
	$0 == b || $0 == b "--" { n++; body = 0; next }
	n && !body && $0 == "" { body = 1; next }
	n && !body { print > (base n ".hdr"); next }
	n && body { print > (base n) }' "$T/s.resp"
grep -q "^Content-Type: application/pkcs8" "$T/s.part1.hdr" || fail "first part: $(cat "$T/s.part1.hdr")"
grep -q "^Content-Type: application/pkcs7-mime; smime-type=certs-only" "$T/s.part2.hdr" ||
	fail "second part: $(cat "$T/s.part2.hdr")"
openssl base64 -d -in "$T/s.part1" | openssl pkey -inform DER -out "$T/s.gen.key" || fail "the key part"
est_certs "$T/s.part2" "$T/s.pem" || fail "the certificate part"
[ "$(openssl pkey -in "$T/s.gen.key" -pubout)" = "$(openssl x509 -in "$T/s.pem" -noout -pubkey)" ] ||
	fail "the key does not match the certificate"
[ "$(openssl pkey -in "$T/s.gen.key" -pubout)" != "$(openssl pkey -in "$T/s.key" -pubout)" ] ||
	fail "serverkeygen certified the device's own key"
openssl x509 -in "$T/s.pem" -noout -subject | grep -q "CN *= *est-skg" || fail "serverkeygen subject"
openssl verify -CAfile "$ROOT_PEM" -untrusted "$T/ca.pem" "$T/s.pem" >/dev/null 2>&1 || fail "serverkeygen verify"
[ "$(sql "SELECT count(*) FROM audit WHERE event='est_serverkeygen' AND subject='est-skg'")" = 1 ] ||
	fail "serverkeygen not audited"
ok "serverkeygen: off by default (404); 403 and nothing kept outside a press; in a press the key and a matching certificate, audited"
stop_serve || fail "serve did not stop cleanly"
