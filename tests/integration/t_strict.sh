#!/bin/sh
# t_strict.sh - HTTP that libmicrohttpd 0.9.75 lets through, sent by a raw
# socket client (rawhttp.py) to the real daemon: each must get lanca's own
# well-formed JSON 400, 413, 431 or 501, and the daemon must keep serving.
# (issue 13, defects 3 and 6; docs/reliability.md.)
. "$(dirname "$0")/lib.sh"

RAW="python3 $TOP_SRCDIR/tests/integration/rawhttp.py"
D="$T/state"
"$LANCA" init --dir "$D" --name strict >/dev/null 2>&1 || fail "init"
ROOT_PEM="$D/root.pem"
start_serve "$D"

# expect WHAT STATUS ERROR PORT-ARGS... : one raw request; the answer must
# have STATUS, be well-formed (rawhttp.py's judge) and carry ERROR.
expect() {
	what=$1 want=$2 err=$3
	shift 3
	got=$($RAW send "$@") || fail "$what: rawhttp.py failed"
	echo "# $what: $got"
	case "$got" in
	"status=$want well_formed=1 error=$err "*) ;;
	*) fail "$what: wanted a well-formed $want $err, got: $got" ;;
	esac
}

TLS="--ca $ROOT_PEM $HTTPS_PORT"
H='Host: localhost\r\n'
ENROLL='POST /api/v1/enroll HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/pkcs10\r\n'

# ---- defect 3: %00 ----
# The page exists; with %00 it was served, the rest of the path dropped.
[ "$(tcurl -o /dev/null -w '%{http_code}' "$HTTPS_URL/index.html")" = 200 ] || fail "GET /index.html"
expect "%00 in the path" 400 bad_request $TLS "GET /index.html%00.png HTTP/1.1\r\n$H\r\n"
expect "%00 in the query" 400 bad_request $TLS "GET /api/v1/status?a=%00 HTTP/1.1\r\n$H\r\n"
expect "%00 on plain HTTP" 400 bad_request "$HTTP_PORT" "GET /ca.pem%00x HTTP/1.1\r\nHost: a\r\n\r\n"
# A raw NUL byte, not an escape: libmicrohttpd hands over the path cut
# at it, so /index.html\0.png was served as /index.html.
expect "a raw NUL in the path" 400 bad_request $TLS "GET /index.html\\x00.png HTTP/1.1\r\n$H\r\n"
expect "a raw NUL in the query" 400 bad_request "$HTTP_PORT" "GET /ca.pem?a\\x00b HTTP/1.1\r\nHost: a\r\n\r\n"
# Padded past the longest URI whose length is followed: 414, not served.
pad=$(python3 -c "print('A' * 5000)")
expect "a raw NUL, then 5,000 bytes" 414 too_large $TLS "GET /index.html\\x00.png$pad HTTP/1.1\r\n$H\r\n"
ok "a URL that decodes to a NUL, or holds one: 400 bad_request, on both ports (414 when the line is long)"

# ---- defect 6: framing ----
expect "HTTP/1.1 without Host" 400 bad_request $TLS 'GET /api/v1/status HTTP/1.1\r\n\r\n'
expect "HTTP/1.2 without Host" 400 bad_request $TLS 'GET /api/v1/status HTTP/1.2\r\n\r\n'
expect "HTTP/1.9 without Host" 400 bad_request $TLS 'GET /api/v1/status HTTP/1.9\r\n\r\n'
expect "two Host headers" 400 bad_request $TLS "GET /api/v1/status HTTP/1.1\r\n${H}Host: other\r\n\r\n"
# HTTP/1.0 has no Host requirement: still served.
expect "HTTP/1.0 without Host, a path that is not there" 404 not_found $TLS 'GET /nope HTTP/1.0\r\n\r\n'
ok "HTTP/1.1 (or 1.2 to 1.9) without Host, or two Hosts: 400; HTTP/1.0 without Host is served"

expect "two different Content-Length" 400 bad_request $TLS \
	"${ENROLL}Content-Length: 3\r\nContent-Length: 5\r\n\r\nabcde"
expect "two equal Content-Length" 400 bad_request $TLS \
	"${ENROLL}Content-Length: 5\r\nContent-Length: 5\r\n\r\nabcde"
expect "Content-Length and chunked" 400 bad_request $TLS \
	"${ENROLL}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\n\r\n"
expect "two Transfer-Encoding" 400 bad_request $TLS \
	"${ENROLL}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
expect "a transfer coding other than chunked" 501 bad_request $TLS \
	"${ENROLL}Transfer-Encoding: gzip\r\n\r\n"
ok "two Content-Length, Content-Length with Transfer-Encoding, two or unknown Transfer-Encoding: 400/501"

expect "an absurd Content-Length" 413 too_large $TLS \
	"${ENROLL}Content-Length: 999999999999999999\r\n\r\n"
expect "Content-Length 2^64-1" 413 too_large $TLS \
	"${ENROLL}Content-Length: 18446744073709551615\r\n\r\n"
ok "an absurd Content-Length (that fits 64 bits): 413"

q=$(python3 -c "print('&'.join(['a'] * 5000))")
expect "5,000 query parameters" 431 too_large $TLS "GET /api/v1/status?$q HTTP/1.1\r\n$H\r\n"
q=$(python3 -c "print('&'.join(['a'] * 33))")
expect "33 query parameters" 431 too_large $TLS "GET /api/v1/status?$q HTTP/1.1\r\n$H\r\n"
q=$(python3 -c "print('&'.join(['a=1'] * 32))")
[ "$(tcurl -o /dev/null -w '%{http_code}' "$HTTPS_URL/api/v1/status?$q")" = 200 ] ||
	fail "32 query parameters are refused"
ok "a query of 5,000 (or 33) parameters: 431; 32 are served"

got=$($RAW send --chunked-mib 100 $TLS "${ENROLL}Transfer-Encoding: chunked\r\n\r\n") ||
	fail "100 MiB chunked: rawhttp.py failed"
echo "# 100 MiB chunked: $got"
case "$got" in
"status=413 well_formed=1 error=too_large "*) ;;
*) fail "a 100 MiB chunked body: wanted a well-formed 413, got: $got" ;;
esac
ok "a 100 MiB chunked body: 413 too_large after it"

# Over a slow link: 24 MiB in 12 s, longer than a request may take to
# arrive (10 s), but at more than 1 MiB per 10 s: still answered.
got=$($RAW send --chunked-mib 24 --pause 0.5 $TLS "${ENROLL}Transfer-Encoding: chunked\r\n\r\n") ||
	fail "24 MiB chunked in 12 s: rawhttp.py failed"
echo "# 24 MiB chunked in 12 s: $got"
case "$got" in
"status=413 well_formed=1 error=too_large "*) ;;
*) fail "a chunked body over 12 s: wanted a well-formed 413, got: $got" ;;
esac
ok "a refused chunked body that takes 12 s to arrive still gets its 413"

# The daemon still serves, and a normal enrolment goes through.
make_csr dev dev-1
st=$(post_csr dev) && [ "$st" = 202 ] || fail "an ordinary enrolment after all this: $st $(cat "$T/dev.resp")"
kill -0 "$SERVE_PID" || fail "the daemon died"
ok "the daemon serves an ordinary enrolment afterwards"
stop_serve || fail "serve did not stop cleanly"
echo "t_strict: $n_ok passed, 0 failed"
