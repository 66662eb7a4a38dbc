#!/bin/sh
# t_http.sh - the HTTP and HTTPS servers as real clients see them.
#
# Needs a running lanca (or tests/tools/httpd_harness, see its header) and:
#   HTTP_URL   plain first-contact server, e.g. http://127.0.0.1:8080
#   HTTPS_URL  HTTPS server, e.g. https://127.0.0.1:8443
#   ROOT_PEM   the root certificate curl must trust (no -k anywhere)
#   BODY_URL   optional: a POST route that takes a body of up to 64 KiB
#              (the harness's $HTTPS_URL/test/body); without it the body
#              limits are checked on GET /api/v1/status, which takes none.
#   PEER_URL   optional: a GET route answering what the handler sees of the
#              client certificate chain (the harness's $HTTPS_URL/test/peer:
#              {"addr": ..., "n": N, "chain": [subject DNs, leaf first]}).
# Prints "ok N - what" per check and exits non-zero on the first failure.
# Uses curl, and gnutls-cli (or openssl) for the TLS version checks.
set -u

: "${HTTP_URL:?set HTTP_URL}" "${HTTPS_URL:?set HTTPS_URL}" "${ROOT_PEM:?set ROOT_PEM}"
BODY_URL=${BODY_URL:-}
PEER_URL=${PEER_URL:-}

T=$(mktemp -d "${TMPDIR:-/tmp}/t_http.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
n=0

ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}

fail() {
	n=$((n + 1))
	echo "not ok $n - $1"
	[ -f "$T/hdr" ] && sed 's/^/# /' "$T/hdr"
	[ -f "$T/body" ] && head -c 400 "$T/body" | sed 's/^/# /' && echo
	exit 1
}

# req NAME CURL-ARGS...: runs curl, leaving headers in $T/hdr, body in
# $T/body and the status code in $code.
req() {
	rm -f "$T/hdr" "$T/body"
	code=$(curl -sS --max-time 20 -D "$T/hdr" -o "$T/body" -w '%{http_code}' "$@" 2>"$T/err") ||
		{ code=000; }
}

# req_big CURL-ARGS...: req for a body the server refuses before reading it
# all. It answers and closes while curl may still be sending, and on a
# loaded machine curl can then fail its send (exit 55) before it reads the
# answer: a race in the client, not the server's answer, so it is tried
# again (three times at most). Expect: 100-continue lets a body with a
# Content-Length wait for the verdict instead.
req_big() {
	i=0
	while :; do
		req -H 'Expect: 100-continue' "$@"
		[ "$code" = 000 ] && [ $i -lt 2 ] || break
		i=$((i + 1))
	done
}

hdr_has() {
	tr -d '\r' <"$T/hdr" | grep -qi "^$1"
}

body_has() {
	grep -q -- "$1" "$T/body"
}

host_port() {
	echo "$1" | sed -e 's,^[a-z]*://,,' -e 's,/.*$,,'
}

TLS="--cacert $ROOT_PEM"

# ---- plain HTTP: first contact ----
req "$HTTP_URL/ca.crt"
[ "$code" = 200 ] && hdr_has 'Content-Type: application/x-x509-ca-cert' &&
	hdr_has 'Content-Disposition: attachment; filename="lanca-root.crt"' ||
	fail "plain GET /ca.crt: 200 application/x-x509-ca-cert attachment"
ok "plain GET /ca.crt: 200 application/x-x509-ca-cert attachment"

if command -v openssl >/dev/null 2>&1; then
	openssl x509 -inform DER -in "$T/body" -noout -fingerprint -sha256 >"$T/fp1" 2>/dev/null &&
	openssl x509 -in "$ROOT_PEM" -noout -fingerprint -sha256 >"$T/fp2" 2>/dev/null &&
	cmp -s "$T/fp1" "$T/fp2" || fail "plain /ca.crt is the DER of ROOT_PEM"
	ok "plain /ca.crt is the DER of ROOT_PEM"
	FP=$(sed 's/^.*=//' "$T/fp2")
fi

req "$HTTP_URL/ca.pem"
[ "$code" = 200 ] && hdr_has 'Content-Type: application/x-pem-file' &&
	body_has 'BEGIN CERTIFICATE' || fail "plain GET /ca.pem: PEM"
ok "plain GET /ca.pem: 200 application/x-pem-file"

req "$HTTP_URL/"
[ "$code" = 200 ] && hdr_has 'Content-Type: text/html' && body_has '/ca.crt' &&
	body_has 'https://' || fail "plain GET /: fingerprint page"
if [ -n "${FP:-}" ]; then
	body_has "$FP" || fail "plain GET / shows the root's SHA-256 fingerprint"
fi
ok "plain GET /: the fingerprint page"

req "$HTTP_URL/api/v1/status"
https_hp=$(host_port "$HTTPS_URL")
https_port=${https_hp##*:}
[ "$code" = 301 ] && tr -d '\r' <"$T/hdr" |
	grep -qi "^Location: https://[^/]*:$https_port/api/v1/status\$" ||
	fail "plain GET /api/v1/status: 301 to https"
ok "plain GET /api/v1/status: 301 to https on port $https_port"

req -H 'Host: evil"host<x>' "$HTTP_URL/x"
[ "$code" = 301 ] && tr -d '\r' <"$T/hdr" | grep -qi "^Location: https://localhost:$https_port/x\$" ||
	fail "plain redirect: a malformed Host becomes localhost"
ok "plain redirect: a malformed Host becomes localhost"

# ---- HTTPS ----
req $TLS "$HTTPS_URL/api/v1/status"
[ "$code" = 200 ] && hdr_has 'Content-Type: application/json' &&
	body_has '"version"' && body_has '"root"' && body_has '"sha256"' &&
	body_has '"issuing"' && body_has '"window"' || fail "HTTPS GET /api/v1/status (curl --cacert)"
ok "HTTPS GET /api/v1/status: JSON, verified against ROOT_PEM"
hdr_has 'Strict-Transport-Security: max-age=31536000' && hdr_has 'X-Content-Type-Options: nosniff' &&
	hdr_has 'Cache-Control: no-store' || fail "HTTPS /api/: security headers"
ok "HTTPS /api/: HSTS, nosniff, no-store"
if command -v python3 >/dev/null 2>&1; then
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["root"]["sha256"])==64; assert d["root"]["not_after"].endswith("Z"); assert d["window"]["state"]' "$T/body" ||
		fail "status JSON has the documented fields"
	ok "status JSON: sha256 hex, RFC 3339 dates, window state"
fi

req -I $TLS "$HTTPS_URL/ca.crt"
[ "$code" = 200 ] && hdr_has 'Content-Type: application/x-x509-ca-cert' || fail "HTTPS HEAD /ca.crt"
ok "HTTPS HEAD /ca.crt"

req $TLS "$HTTPS_URL/"
[ "$code" = 200 ] && hdr_has 'Content-Type: text/html' &&
	hdr_has "Content-Security-Policy: default-src 'self'" || fail "HTTPS GET /: the onboarding page with CSP"
ok "HTTPS GET /: the onboarding page with CSP"

req $TLS "$HTTPS_URL/x"
[ "$code" = 404 ] && hdr_has 'Content-Type: application/json' &&
	body_has '"error":"not_found"' && body_has 'no such path: /x' || fail "HTTPS unknown path: 404 JSON"
ok "HTTPS unknown path: 404 JSON"

req $TLS --path-as-is "$HTTPS_URL/../../etc/passwd"
[ "$code" = 400 ] && body_has '"error":"bad_request"' || fail "HTTPS '..' path: 400 JSON"
ok "HTTPS '..' path: 400 JSON"

req $TLS -X POST "$HTTPS_URL/api/v1/status"
[ "$code" = 405 ] && hdr_has 'Allow: GET' && body_has '"error":"method_not_allowed"' ||
	fail "HTTPS POST /api/v1/status: 405 with Allow"
ok "HTTPS POST /api/v1/status: 405 with Allow: GET"

long=$(printf '%01100d' 0)
req $TLS "$HTTPS_URL/$long"
[ "$code" = 414 ] && body_has '"error":"too_large"' || fail "HTTPS URL over 1024 bytes: 414 JSON"
ok "HTTPS URL over 1024 bytes: 414 JSON"

# Headers live in the per-connection memory (HTTPD_CONN_MEMORY, 32 KiB):
# 16 KB of them are served, 40 KB are refused before any handler runs.
h16=$(head -c 16000 /dev/zero | tr '\0' 'a')
req $TLS -H "X-Big: $h16" "$HTTPS_URL/api/v1/status"
[ "$code" = 200 ] || fail "HTTPS request with 16 KB of headers: 200"
h40=$(head -c 40000 /dev/zero | tr '\0' 'a')
req $TLS -H "X-Big: $h40" "$HTTPS_URL/api/v1/status"
[ "$code" = 431 ] || fail "HTTPS request with 40 KB of headers: 431"
ok "HTTPS headers: 16 KB served, 40 KB refused with 431 (the per-connection memory limit)"

curl -sS -v $TLS -o /dev/null -o /dev/null "$HTTPS_URL/api/v1/status" "$HTTPS_URL/ca.pem" \
	>"$T/ka" 2>&1 && grep -q 'Re-using existing connection' "$T/ka" ||
	fail "HTTPS keep-alive: two requests on one connection"
ok "HTTPS keep-alive: two requests on one connection"

curl -sS -v -o /dev/null -o /dev/null "$HTTP_URL/ca.crt" "$HTTP_URL/ca.pem" \
	>"$T/ka" 2>&1 && grep -q 'Re-using existing connection' "$T/ka" ||
	fail "plain keep-alive: two requests on one connection"
ok "plain keep-alive: two requests on one connection"

# ---- bodies ----
head -c 71680 /dev/zero | tr '\0' 'A' >"$T/big"
if [ -n "$BODY_URL" ]; then
	head -c 1000 /dev/zero | tr '\0' 'A' >"$T/small"
	req $TLS --data-binary @"$T/small" "$BODY_URL"
	[ "$code" = 200 ] || fail "a 1000-byte POST body is accepted"
	ok "a 1000-byte POST body is accepted"
	req_big $TLS --data-binary @"$T/big" "$BODY_URL"
	[ "$code" = 413 ] && body_has 'request body of 71680 bytes exceeds the limit of 65536' ||
		fail "a 70 KB POST body (Content-Length): 413 JSON"
	ok "a 70 KB POST body (Content-Length): 413 JSON"
	req_big $TLS -H 'Transfer-Encoding: chunked' --data-binary @"$T/big" "$BODY_URL"
	[ "$code" = 413 ] && body_has '"error":"too_large"' || fail "a 70 KB chunked POST body: 413 JSON"
	ok "a 70 KB chunked POST body: 413 JSON"
else
	req_big $TLS -X GET --data-binary @"$T/big" "$HTTPS_URL/api/v1/status"
	[ "$code" = 413 ] && body_has '"error":"too_large"' ||
		fail "a 70 KB body (Content-Length) to a route without one: 413 JSON"
	ok "a 70 KB body (Content-Length) to a route without one: 413 JSON"
	req_big $TLS -X GET -H 'Transfer-Encoding: chunked' --data-binary @"$T/big" "$HTTPS_URL/api/v1/status"
	[ "$code" = 413 ] && body_has '"error":"too_large"' ||
		fail "a 70 KB chunked body to a route without one: 413 JSON"
	ok "a 70 KB chunked body to a route without one: 413 JSON"
fi

# ---- TLS versions and suites ----
hp=$(host_port "$HTTPS_URL")
host=${hp%:*}
port=${hp##*:}
host=$(echo "$host" | tr -d '[]')
if command -v gnutls-cli >/dev/null 2>&1; then
	gtls() {
		gnutls-cli --x509cafile "$ROOT_PEM" --priority "$1" -p "$port" "$host" \
			</dev/null >"$T/tls" 2>&1
	}
	gtls 'NORMAL:-VERS-ALL:+VERS-TLS1.2' || fail "TLS 1.2 handshake succeeds (control)"
	ok "TLS 1.2 handshake succeeds"
	gtls 'NORMAL:-VERS-ALL:+VERS-TLS1.3' || fail "TLS 1.3 handshake succeeds"
	ok "TLS 1.3 handshake succeeds"
	gtls 'NORMAL:-VERS-ALL:+VERS-TLS1.1:+VERS-TLS1.0' && fail "TLS 1.1/1.0 refused"
	ok "TLS 1.1 and 1.0 refused"
	gtls 'NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-CBC:+AES-256-CBC:-MAC-ALL:+SHA1:+SHA256' &&
		fail "CBC-only client refused"
	ok "CBC-only client refused"
	gtls 'NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+RSA' && fail "non-forward-secret (RSA kx) client refused"
	ok "non-forward-secret (RSA key exchange) client refused"
elif command -v openssl >/dev/null 2>&1; then
	openssl s_client -connect "$hp" -tls1_1 </dev/null >"$T/tls" 2>&1 &&
		grep -q 'Cipher is [A-Z]' "$T/tls" && fail "TLS 1.1 refused"
	ok "TLS 1.1 refused (openssl)"
fi

# ---- client certificates (requested, never required, never judged) ----
if command -v certtool >/dev/null 2>&1; then
	# A "factory" CA that is in no trust store of the server, a device
	# certificate from it, and an 11-certificate chain (one too many).
	printf 'cn = "t_http vendor CA"\nca\ncert_signing_key\nexpiration_days = 30\n' >"$T/vca.tmpl"
	printf 'cn = "t_http device"\ntls_www_client\nsigning_key\nexpiration_days = 30\n' >"$T/dev.tmpl"
	certtool --generate-privkey --key-type ecdsa --outfile "$T/vca.key" 2>/dev/null &&
	certtool --generate-self-signed --load-privkey "$T/vca.key" --template "$T/vca.tmpl" \
		--outfile "$T/vca.pem" 2>/dev/null &&
	certtool --generate-privkey --key-type ecdsa --outfile "$T/dev.key" 2>/dev/null &&
	certtool --generate-certificate --load-privkey "$T/dev.key" --load-ca-certificate "$T/vca.pem" \
		--load-ca-privkey "$T/vca.key" --template "$T/dev.tmpl" --outfile "$T/dev.pem" 2>/dev/null ||
		fail "certtool: make a client certificate"
	cat "$T/dev.pem" "$T/vca.pem" >"$T/chain.pem"
	cp "$T/dev.pem" "$T/long.pem"
	for i in 1 2 3 4 5 6 7 8 9 10; do cat "$T/vca.pem" >>"$T/long.pem"; done

	CC="--cert $T/chain.pem --key $T/dev.key"
	req $TLS $CC "$HTTPS_URL/api/v1/status"
	[ "$code" = 200 ] || fail "a client certificate from an unknown CA is accepted (TLS 1.3)"
	ok "a client certificate from an unknown CA is accepted (TLS 1.3)"
	req $TLS $CC --tlsv1.2 --tls-max 1.2 "$HTTPS_URL/api/v1/status"
	[ "$code" = 200 ] || fail "a client certificate from an unknown CA is accepted (TLS 1.2)"
	ok "a client certificate from an unknown CA is accepted (TLS 1.2)"
	curl -sS -v $TLS $CC -o /dev/null -o /dev/null "$HTTPS_URL/api/v1/status" "$HTTPS_URL/ca.pem" \
		>"$T/ka" 2>&1 && grep -q 'Re-using existing connection' "$T/ka" ||
		fail "keep-alive with a client certificate"
	ok "keep-alive with a client certificate"

	if command -v openssl >/dev/null 2>&1; then
		for v in -tls1_2 -tls1_3; do
			echo | openssl s_client -connect "$hp" $v -CAfile "$ROOT_PEM" >"$T/sc" 2>&1
			grep -q 'Requested Signature Algorithms' "$T/sc" ||
				fail "openssl s_client $v: the server requests a client certificate"
			grep -q 'No client certificate CA names sent' "$T/sc" ||
				fail "openssl s_client $v: no certificate_authorities list"
		done
		ok "every handshake requests a client certificate, with no CA names"
	fi

	# Session tickets: a returning client resumes its TLS 1.3 session
	# (no certificate exchange, no new key agreement signature), and the
	# handler still sees the chain it presented in the first handshake.
	if [ -n "$PEER_URL" ] && command -v openssl >/dev/null 2>&1; then
		peer_path=$(echo "$PEER_URL" | sed 's,^https://[^/]*,,')
		resume() {
			printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$peer_path" |
				openssl s_client -connect "$hp" -tls1_3 -CAfile "$ROOT_PEM" -quiet \
					-cert "$T/dev.pem" -cert_chain "$T/vca.pem" -key "$T/dev.key" "$@" >"$T/rs" 2>&1
		}
		resume -sess_out "$T/sess.pem"
		grep -q '"n":2' "$T/rs" && [ -s "$T/sess.pem" ] ||
			fail "first connection with a client certificate saves a session ticket"
		printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$peer_path" |
			openssl s_client -connect "$hp" -tls1_3 -CAfile "$ROOT_PEM" -ign_eof \
				-sess_in "$T/sess.pem" >"$T/rs2" 2>&1
		grep -q '^Reused, TLSv1.3' "$T/rs2" || fail "a session ticket resumes the TLS 1.3 session"
		grep -q '"n":2' "$T/rs2" && grep -q '"chain":\["CN=t_http device","CN=t_http vendor CA"\]' "$T/rs2" ||
			fail "a resumed session still shows the handler the chain of the first handshake"
		ok "session tickets: a returning client resumes, its chain still seen by the handler"
	fi

	if [ -n "$PEER_URL" ]; then
		req $TLS $CC "$PEER_URL"
		[ "$code" = 200 ] && body_has '"n":2' &&
			body_has '"chain":\["CN=t_http device","CN=t_http vendor CA"\]' &&
			body_has '"addr":"' || fail "the handler sees the presented chain, leaf first"
		ok "the handler sees the presented chain, leaf first"
		req $TLS "$PEER_URL"
		[ "$code" = 200 ] && body_has '"n":0' || fail "no client certificate: the handler sees none"
		ok "no client certificate: the request works and the handler sees none"
		req $TLS --cert "$T/long.pem" --key "$T/dev.key" "$PEER_URL"
		[ "$code" = 400 ] && body_has 'the client certificate chain was refused' ||
			fail "a chain of 11 certificates is refused by httpd_peer_chain"
		ok "a chain of 11 certificates is refused by httpd_peer_chain"
	fi
fi

exit 0
