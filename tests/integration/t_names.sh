#!/bin/sh
# t_names.sh - names and request signatures against the real daemon, with
# curl as the device (issue 13, defects 4 and 5): the bare permitted
# suffixes and the bare site domain are no device names; an "xn--" label
# that is not IDNA is refused naming the label, real IDNA is issued; an
# MD5-signed request is refused naming the algorithm; SHA-1-signed
# requests (RSA and ECDSA) are still issued. Every refusal comes with the
# window open, so nothing but the name or the signature refuses it.
. "$(dirname "$0")/lib.sh"

D="$T/state"
"$LANCA" init --dir "$D" --name names --domain site.example >/dev/null 2>&1 || fail "init"
ROOT_PEM="$D/root.pem"
start_serve "$D" --enroll-burst 1000 --enroll-rate 1000

press() {
	"$LANCA" press --dir "$D" >"$T/press.out" || fail "press: $(cat "$T/press.out")"
}

# refused NAME SAN CODE TEXT: with the window open, the request for SAN is
# refused with 400, error CODE and a message containing TEXT; nothing is
# recorded under its key.
refused() {
	make_csr "$1" "$1" "$2"
	st=$(post_csr "$1")
	[ "$st" = 400 ] || fail "$2: $st, want 400: $(cat "$T/$1.resp")"
	python3 - "$T/$1.resp" "$3" "$4" <<'EOF' || fail "$2: $(cat "$T/$1.resp")"
import json, sys
body = json.load(open(sys.argv[1]))
assert body["error"] == sys.argv[2], body
assert sys.argv[3] in body["message"], body
EOF
}

# issued NAME SAN [openssl req options]: press, then the request is issued
# with exactly SAN.
issued() {
	n=$1 san=$2
	shift 2
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$n.key" \
		-subj "/CN=$n" -addext "subjectAltName=$san" "$@" -out "$T/$n.csr" 2>/dev/null ||
		fail "making $n's request"
	press
	st=$(post_csr "$n")
	[ "$st" = 201 ] || fail "$san: $st, want 201: $(cat "$T/$n.resp")"
	verify_chain "$T/$n.resp" || fail "$san: the chain does not verify"
	openssl x509 -in "$T/$n.resp.1.pem" -noout -ext subjectAltName | grep -q "^ *$san\$" ||
		fail "$san: SANs $(openssl x509 -in "$T/$n.resp.1.pem" -noout -ext subjectAltName)"
}

# 1. Bare suffixes: local, home.arpa and the site domain, each alone and
#    beside a good name; one label below is issued.
press
refused bare-local "DNS:local" forbidden_name \
	"local is a permitted domain itself: a device name needs at least one label below it (such as device.local)"
refused bare-arpa "DNS:home.arpa" forbidden_name "home.arpa is a permitted domain itself"
refused bare-site "DNS:site.example" forbidden_name "site.example is a permitted domain itself"
refused bare-mixed "DNS:nas.local,DNS:HOME.ARPA" forbidden_name "home.arpa is a permitted domain itself"
[ "$(sql "SELECT count(*) FROM certificates WHERE profile = 'device' AND (',' || sans || ',' LIKE '%,DNS:local,%'
	OR ',' || sans || ',' LIKE '%,DNS:home.arpa,%' OR ',' || sans || ',' LIKE '%,DNS:site.example,%')")" = 0 ] ||
	fail "a certificate holds a bare suffix: $(sql "SELECT sans FROM certificates")"
issued below-local "DNS:nas.local"
issued below-site "DNS:nas.site.example"
ok "DNS:local, DNS:home.arpa and DNS:site.example are refused (400, forbidden_name); one label below is issued"

# 2. IDNA: a label that does not decode, or decodes to a code point IDNA
#    disallows, is refused, naming it; real IDNA
#    (buecher: xn--bcher-kva) is issued.
press
refused idna-zz "DNS:xn--zz.local" bad_name \
	"\"xn--zz.local\" is not a valid DNS name: its label \"xn--zz\" is not valid IDNA"
refused idna-disallowed "DNS:cam.xn--a-ecp.home.arpa" bad_name "its label \"xn--a-ecp\" is not valid IDNA"
issued idna-ok "DNS:xn--bcher-kva.local"
ok "xn--zz.local is refused naming the label; xn--bcher-kva.local is issued"

# 3. Signature hashes: MD5 refused naming the algorithm; SHA-1 accepted.
press
openssl req -new -newkey rsa:2048 -nodes -keyout "$T/md5.key" -subj "/CN=dev-md5" \
	-addext "subjectAltName=DNS:md5.local" -md5 -out "$T/md5.csr" 2>/dev/null || fail "MD5 request"
st=$(post_csr md5)
[ "$st" = 400 ] || fail "MD5-signed request: $st: $(cat "$T/md5.resp")"
grep -q '"error": *"bad_signature"' "$T/md5.resp" || fail "MD5 error code: $(cat "$T/md5.resp")"
grep -q "signed with RSA-MD5, which lanca does not accept" "$T/md5.resp" ||
	fail "the MD5 refusal does not name the algorithm: $(cat "$T/md5.resp")"
issued sha1-ec "DNS:old-ec.local" -sha1
openssl req -new -newkey rsa:2048 -nodes -keyout "$T/sha1-rsa.key" -subj "/CN=sha1-rsa" \
	-addext "subjectAltName=DNS:old-rsa.local" -sha1 -out "$T/sha1-rsa.csr" 2>/dev/null ||
	fail "SHA-1 RSA request"
press
st=$(post_csr sha1-rsa)
[ "$st" = 201 ] || fail "SHA-1 RSA request: $st: $(cat "$T/sha1-rsa.resp")"
ok "an MD5-signed request is refused naming RSA-MD5; SHA-1-signed requests (ECDSA, RSA) are issued"

stop_serve || fail "serve did not stop cleanly"
echo "1..$n_ok"
