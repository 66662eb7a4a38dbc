#!/bin/sh
# t_devices.sh - the ways a device gets a certificate besides the button,
# against the real daemon with curl as the device: pre-authorised devices
# (CSV import, per-device secrets, used once, never counted as waiting),
# vendor CAs and factory certificates over mTLS, the admin API's approve
# and deny, SIGUSR1 as the button, 50 devices enrolling at once, renewal
# over mTLS (revoked, expired, grace period, under libfaketime) and the
# per-address rate limit.
. "$(dirname "$0")/lib.sh"

D="$T/state"
"$LANCA" init --dir "$D" --name devices >/dev/null 2>&1 || fail "init"
ROOT_PEM="$D/root.pem"
REAL_LANCA=$LANCA

# ---- helpers (local to this test) ----

# enroll NAME [curl options...]: post_csr that never trips set -e ("000" when
# curl itself failed).
enroll() {
	post_csr "$@" || true
}

# renew NAME CERT KEY: POSTs $T/NAME.csr to /api/v1/renew over mTLS with
# CERT and KEY as the client certificate; prints the status.
renew() {
	openssl req -in "$T/$1.csr" -outform der -out "$T/$1.der"
	tcurl -o "$T/$1.resp" -D "$T/$1.hdr" -w '%{http_code}' --cert "$2" --key "$3" \
		-H 'Content-Type: application/pkcs10' --data-binary @"$T/$1.der" \
		"$HTTPS_URL/api/v1/renew" || true
}

# The serial of a PEM certificate, lower-case hex as the database's hex().
serial_of() {
	openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f'
}

# The CN of a PEM certificate.
cn_of() {
	openssl x509 -in "$1" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p'
}

# in_db SERIAL: the certificate is recorded exactly once.
in_db() {
	[ "$(sql "SELECT count(*) FROM certificates WHERE lower(hex(serial))='$1'")" = 1 ]
}

# cli_deny NAME: denies NAME's request with the CLI, so that it stops
# waiting (a pending key would otherwise count at the next press).
cli_deny() {
	"$LANCA" deny --dir "$D" "$(req_id "$1")" --reason "test clean-up" >/dev/null ||
		fail "lanca deny $1"
}

# start_faked OFFSET SERVE-OPTIONS...: start_serve with the daemon's clock
# OFFSET ahead (e.g. +100d). The clients (curl) keep the real time.
start_faked() {
	faked=$(faked_lanca "$1")
	shift
	LANCA=$faked
	start_serve "$D" "$@"
	LANCA=$REAL_LANCA
}

# ---- pre-authorised devices ----
cat >"$T/pre.csv" <<'EOF'
ID,NAME,SECRET,AUTH_TYPE
pa-1,Plain device,,
pa-2,"Boiler, with a secret",Sekr1t-boiler-42,CERTIFICATES
pa-3,Third,,CERTIFICATES
ren-1,Renews later,,
ren-2,Expires later,,
ren-3,Expires too,,
EOF
"$LANCA" preauth import "$T/pre.csv" --dir "$D" >"$T/out" 2>&1 || fail "preauth import: $(cat "$T/out")"
grep -q "imported 6 devices (1 with an enrollment secret)" "$T/out" || fail "import said: $(cat "$T/out")"
[ "$(sql "SELECT auth_type FROM preauth WHERE device_id='pa-2'")" = CERTIFICATES ] ||
	fail "AUTH_TYPE=CERTIFICATES not kept"
case "$(sql "SELECT secret_hash FROM preauth WHERE device_id='pa-2'")" in
'$argon2id$'*) ;;
*) fail "the secret is not stored as an Argon2id hash" ;;
esac
if store_dump "$D" | grep -q "Sekr1t-boiler-42"; then fail "a clear secret in the database"; fi
ok "preauth import: 4 devices, AUTH_TYPE=CERTIFICATES accepted, the secret only as Argon2id"

# A malformed file: nothing imported, not even the good row before the bad line.
before=$(sql "SELECT count(*) FROM preauth")
printf 'ID,NAME\ngood-1,Fine\nbad-2,"never closed\nbad-3,Three\n' >"$T/bad.csv"
st=0; "$LANCA" preauth import "$T/bad.csv" --dir "$D" >"$T/out" 2>&1 || st=$?
[ $st = 1 ] || fail "malformed CSV: exit $st, not 1"
grep -q "line 3" "$T/out" || fail "the error does not name line 3: $(cat "$T/out")"
[ "$(sql "SELECT count(*) FROM preauth")" = "$before" ] || fail "a malformed file imported rows"
[ "$(sql "SELECT count(*) FROM preauth WHERE device_id='good-1'")" = 0 ] ||
	fail "the valid row before the bad line was imported"
ok "a CSV with an unbalanced quote on line 3: exit 1 naming line 3, nothing imported"

# The main daemon: a limiter that never interferes. Every request left
# pending is denied before the next press, so nothing else waits then.
printf 'Adm1n-devices:pass-9d2e\n' >"$T/pw"
chmod 600 "$T/pw"
"$LANCA" admin passwd admin --dir "$D" --password-file "$T/pw" >/dev/null 2>&1 || fail "admin passwd"
start_serve "$D" --monitor 30 --enroll-burst 1000 --enroll-rate 1000

make_csr pa1 pa-1 "DNS:pa-1.local"
st=$(enroll pa1); [ "$st" = 201 ] || fail "pre-authorised device: $st $(cat "$T/pa1.resp")"
verify_chain "$T/pa1.resp" || fail "the pre-authorised chain does not verify"
[ "$(cn_of "$T/pa1.resp.1.pem")" = pa-1 ] || fail "device id of the pre-authorised certificate"
[ "$(sql "SELECT auth FROM requests WHERE device_id='pa-1'")" = preauth ] || fail "request auth"
[ "$(sql "SELECT used_at IS NOT NULL FROM preauth WHERE device_id='pa-1'")" = 1 ] ||
	fail "the pre-authorisation is not marked used"
[ "$(sql "SELECT preauth_id FROM certificates WHERE lower(hex(serial))='$(serial_of "$T/pa1.resp.1.pem")'")" = pa-1 ] ||
	fail "the certificate does not record the pre-authorisation it used"
ok "a pre-authorised device id enrolls without a press: 201, chain verifies"

# A forged request for a listed device id (well formed, its self-signature
# broken): issued at once, it is verified only by the signer as it signs,
# and it refuses; nothing is recorded and the pre-authorisation stays.
make_csr pa3forged pa-3 "DNS:pa-3.local"
openssl req -in "$T/pa3forged.csr" -outform der -out "$T/pa3forged.der"
python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[-1] ^= 1; open(sys.argv[1], "wb").write(b)' "$T/pa3forged.der"
st=$(tcurl -o "$T/x" -w '%{http_code}' -H 'Content-Type: application/pkcs10' \
	--data-binary @"$T/pa3forged.der" "$HTTPS_URL/api/v1/enroll")
[ "$st" = 400 ] && grep -q '"error": *"bad_signature"' "$T/x" || fail "forged, pre-authorised: $st $(cat "$T/x")"
[ "$(sql "SELECT count(*) FROM requests WHERE device_id='pa-3'")" = 0 ] || fail "the forged request was recorded"
[ "$(sql "SELECT count(*) FROM certificates WHERE device_id='pa-3'")" = 0 ] || fail "the forged request was issued"
[ "$(sql "SELECT used_at IS NULL FROM preauth WHERE device_id='pa-3'")" = 1 ] ||
	fail "a forged request used the pre-authorisation up"
ok "a forged request for a pre-authorised id: 400 bad_signature from the signer, nothing recorded"

make_csr pa1b pa-1
# A new key for a device id that holds a certificate waits for an admin
# (409: renew with the current certificate, or an admin decides).
st=$(enroll pa1b); [ "$st" = 409 ] || fail "pre-authorisation used twice: $st"
[ "$(poll pa1b)" = 202 ] || fail "the second key's request is not pending"
[ "$(sql "SELECT count(*) FROM certificates WHERE device_id='pa-1'")" = 1 ] ||
	fail "a second certificate for a used pre-authorisation"
cli_deny pa1b
ok "a pre-authorisation is used once: the same id with a new key is pending for an admin (409)"

make_csr pa2 pa-2
st=$(enroll pa2); [ "$st" = 403 ] || fail "secret missing: $st"
cp "$T/pa2.resp" "$T/pa2.missing"
st=$(enroll pa2 -H 'X-Lanca-Secret: Sekr1t-boiler-43'); [ "$st" = 403 ] || fail "wrong secret: $st"
cmp -s "$T/pa2.resp" "$T/pa2.missing" || fail "a wrong and a missing secret answer differently"
[ "$(sql "SELECT count(*) FROM certificates WHERE device_id='pa-2'")" = 0 ] || fail "issued without the secret"
st=$(enroll pa2 -H 'X-Lanca-Secret: Sekr1t-boiler-42'); [ "$st" = 201 ] || fail "right secret: $st $(cat "$T/pa2.resp")"
verify_chain "$T/pa2.resp" || fail "pa-2 chain"
if grep -q "Sekr1t-boiler-4" "$T/serve.log"; then fail "a secret is in serve.log"; fi
ok "a device with a secret: missing or wrong X-Lanca-Secret -> 403 (same answer), right -> 201"

# Pre-authorised requests never count as waiting: one ordinary key waits,
# a pre-authorised device enrolls, then a press admits the ordinary one.
make_csr n1 norm-1
st=$(enroll n1); [ "$st" = 202 ] || fail "ordinary device without a press: $st"
make_csr pa3 pa-3
st=$(enroll pa3); [ "$st" = 201 ] || fail "pre-authorised device while another waits: $st"
[ "$(poll n1)" = 202 ] || fail "the ordinary device was issued without a press"
"$LANCA" press --dir "$D" >"$T/press.out" || fail "press"
if grep -qi overlap "$T/press.out"; then fail "a pre-authorised request counted at the press: $(cat "$T/press.out")"; fi
st=$(poll n1); [ "$st" = 200 ] || fail "the waiting device was not admitted at the press: $st $(cat "$T/press.out")"
verify_chain "$T/n1.poll" || fail "norm-1 chain"
ok "a pre-authorised device enrolling while one device waits: no overlap, the press admits the waiting one"

# ---- vendor CAs and factory certificates ----
# A factory certificate names its device: the device asks under that id.
mkca va "Vendor A Root CA"; mkfactory fa va "vdev-a"
mkca vb "Vendor B Root CA"; mkfactory fb vb "vdev-b"
mkca vc "Vendor C Root CA"; mkfactory fc vc "vdev-c"
"$LANCA" vendor add "$T/va.pem" --auto-register --dir "$D" >"$T/out" 2>&1 || fail "vendor add A: $(cat "$T/out")"
grep -q "auto-register: on" "$T/out" || fail "vendor add A said: $(cat "$T/out")"
"$LANCA" vendor add "$T/vb.pem" --dir "$D" >"$T/out" 2>&1 || fail "vendor add B: $(cat "$T/out")"
st=0; "$LANCA" vendor add "$T/fa.pem" --dir "$D" >"$T/out" 2>&1 || st=$?
[ $st = 1 ] || fail "vendor add of a non-CA certificate: exit $st"
[ "$(sql "SELECT count(*) FROM vendors")" = 2 ] || fail "vendor rows"
ok "lanca vendor add: a CA with and without --auto-register; a non-CA certificate exits 1"

make_csr v1 vdev-a
st=$(enroll v1 --cert "$T/fa.pem" --key "$T/fa.key"); [ "$st" = 201 ] ||
	fail "factory certificate of an auto-register vendor: $st $(cat "$T/v1.resp")"
verify_chain "$T/v1.resp" || fail "vdev-a chain"
[ "$(cn_of "$T/v1.resp.1.pem")" = vdev-a ] || fail "vdev-a device id"
[ "$(sql "SELECT auth FROM requests WHERE device_id='vdev-a'")" = vendor ] || fail "vdev-a auth"
# The same factory certificate cannot vouch for another device id.
make_csr v1x vdev-other
st=$(enroll v1x --cert "$T/fa.pem" --key "$T/fa.key"); [ "$st" = 202 ] ||
	fail "vdev-a's factory certificate asking for vdev-other: $st"
cli_deny v1x
# A vendor's certificate made for servers vouches for no device.
mkfactory fs va "vdev-srv" serverAuth
make_csr vs vdev-srv
st=$(enroll vs --cert "$T/fs.pem" --key "$T/fs.key"); [ "$st" = 202 ] ||
	fail "a vendor's server certificate as a factory certificate: $st"
cli_deny vs
ok "a factory certificate of an auto-register vendor over mTLS: 201 without a press, for its own device only, if made for TLS clients"

make_csr v2 vdev-b
st=$(enroll v2 --cert "$T/fb.pem" --key "$T/fb.key"); [ "$st" = 202 ] ||
	fail "factory certificate of a vendor without auto-register: $st"
grep -q "factory certificate" "$T/v2.resp" || fail "the device is not told its certificate was recognised"
make_csr v3 vdev-c
st=$(enroll v3 --cert "$T/fc.pem" --key "$T/fc.key"); [ "$st" = 202 ] ||
	fail "factory certificate of an unregistered CA: $st"
make_csr v4 vdev-d	# no client certificate at all
st=$(enroll v4); [ "$st" = 202 ] || fail "no client certificate: $st"
st=$(enroll v3 --cert "$T/fc.pem" --key "$T/fc.key"); [ "$st" = 202 ] || fail "unregistered CA, again: $st"
[ "$(poll v3)" = 202 ] || fail "the unregistered vendor's device was issued"
[ "$(sql "SELECT count(*) FROM certificates WHERE device_id IN ('vdev-b','vdev-c','vdev-d')")" = 0 ] ||
	fail "a certificate without authorisation"
ok "a vendor without --auto-register, an unregistered CA, no client certificate: 202, nothing issued"

# ---- the admin HTTP API ----
J='Content-Type: application/json'
# areq URL CURL-ARGS...: an admin POST with the cookie jar and CSRF token.
areq() {
	url=$1
	shift
	code=$(tcurl -X POST -b "$T/jar" -c "$T/jar" -H "X-CSRF-Token: $CSRF" -o "$T/ab" \
		-w '%{http_code}' "$@" "$HTTPS_URL$url") || code=000
}
code=$(tcurl -c "$T/jar" -o "$T/login.json" -w '%{http_code}' -H "$J" \
	--data-binary "{\"user\": \"admin\", \"password\": \"$(cat "$T/pw")\"}" \
	"$HTTPS_URL/api/v1/login") || code=000
[ "$code" = 200 ] || fail "login: $code $(cat "$T/login.json")"
CSRF=$(sed -n 's/.*"csrf": *"\([0-9a-f]*\)".*/\1/p' "$T/login.json")
[ -n "$CSRF" ] || fail "no csrf in the login answer: $(cat "$T/login.json")"

code=$(tcurl -b "$T/jar" -o "$T/list.json" -w '%{http_code}' \
	"$HTTPS_URL/api/v1/requests?state=pending") || code=000
[ "$code" = 200 ] || fail "list pending: $code"
for n in v2 v3 v4; do
	grep -q "\"$(req_id $n)\"" "$T/list.json" || fail "$n is not listed as pending: $(cat "$T/list.json")"
done
if grep -q "\"$(req_id v1)\"" "$T/list.json"; then fail "an issued request is listed as pending"; fi
code=$(tcurl -o /dev/null -w '%{http_code}' "$HTTPS_URL/api/v1/requests?state=pending") || code=000
[ "$code" = 401 ] || fail "list without a session: $code"
ok "GET /api/v1/requests?state=pending lists the pending requests (admins only)"

# Pages: one row a page, each naming the next by its cursor, the last
# naming none; together they hold the pending list, newest first.
cursor=
: >"$T/paged"
for i in 1 2 3 4 5; do
	code=$(tcurl -b "$T/jar" -o "$T/page.json" -w '%{http_code}' \
		"$HTTPS_URL/api/v1/requests?state=pending&limit=1${cursor:+&cursor=$cursor}") || code=000
	[ "$code" = 200 ] || fail "page $i: $code $(cat "$T/page.json")"
	cursor=$(python3 - "$T/page.json" "$T/paged" <<'PY'
import json, sys
page = json.load(open(sys.argv[1]))
assert len(page["requests"]) == 1 and "window" in page, page
open(sys.argv[2], "a").write(page["requests"][0]["id"] + "\n")
print(page.get("next", ""))
PY
) || fail "page $i: $(cat "$T/page.json")"
	[ -n "$cursor" ] || break
done
[ -z "$cursor" ] || fail "the pages did not end"
python3 - "$T/list.json" "$T/paged" <<'PY' || fail "the pages are not the list: $(cat "$T/paged")"
import json, sys
whole = [r["id"] for r in json.load(open(sys.argv[1]))["requests"]]
paged = open(sys.argv[2]).read().split()
assert paged == whole and len(paged) >= 3, (paged, whole)
PY
for q in "limit=0" "limit=1001" "limit=x" "cursor=" "cursor=42" "cursor=r1x" "cursor=r1%00"; do
	code=$(tcurl -b "$T/jar" -o "$T/bad.json" -w '%{http_code}' \
		"$HTTPS_URL/api/v1/requests?$q") || code=000
	name=${q%%=*}
	# An encoded NUL is refused before any route (http/strict.c), for
	# what it is rather than for the parameter that holds it.
	case $q in *%00*) name='encoded NUL' ;; esac
	[ "$code" = 400 ] && grep -q "\"bad_request\"" "$T/bad.json" && grep -q "$name" "$T/bad.json" ||
		fail "?$q: $code $(cat "$T/bad.json")"
done
ok "GET /api/v1/requests pages with limit and cursor; a bad limit or cursor is a 400 naming it"

areq "/api/v1/requests/$(req_id v2)/approve"
[ "$code" = 200 ] || fail "approve: $code $(cat "$T/ab")"
st=$(poll v2); [ "$st" = 200 ] || fail "poll after the API approve: $st"
verify_chain "$T/v2.poll" || fail "approved chain"
[ "$(cn_of "$T/v2.poll.1.pem")" = vdev-b ] || fail "approved device id"
areq "/api/v1/requests/$(req_id v2)/approve"
[ "$code" = 409 ] || fail "approving an issued request: $code, not 409"
code=$(tcurl -X POST -b "$T/jar" -o /dev/null -w '%{http_code}' \
	"$HTTPS_URL/api/v1/requests/$(req_id v4)/approve") || code=000
[ "$code" = 403 ] || fail "approve without the CSRF token: $code, not 403"
[ "$(poll v4)" = 202 ] || fail "approved without the CSRF token"
ok "POST /api/v1/requests/{id}/approve: 200, the poll gets the chain; again -> 409; no CSRF token -> 403"

areq "/api/v1/requests/$(req_id v3)/deny" -H "$J" --data-binary '{"reason": "not from a vendor we know"}'
[ "$code" = 200 ] || fail "deny: $code $(cat "$T/ab")"
st=$(poll v3); [ "$st" = 403 ] || fail "poll after the API deny: $st"
grep -q "not from a vendor we know" "$T/v3.poll" || fail "the denial reason: $(cat "$T/v3.poll")"
areq "/api/v1/requests/$(req_id v3)/approve"
[ "$code" = 409 ] || fail "approving a denied request: $code, not 409"
cli_deny v4
ok "POST /api/v1/requests/{id}/deny with a reason: the device's poll gets 403 with it"

# ---- SIGUSR1 is the button ----
kill -USR1 "$SERVE_PID"
i=0
until tcurl "$HTTPS_URL/api/v1/status" | grep -q '"state": *"open"'; do
	[ $i -lt 50 ] || fail "SIGUSR1 did not open the window"
	sleep 0.1
	i=$((i + 1))
done
grep -q "SIGUSR1" "$T/serve.log" || fail "the signal press is not logged"
make_csr s1 sig-1
st=$(enroll s1); [ "$st" = 201 ] || fail "enroll after SIGUSR1: $st $(cat "$T/s1.resp")"
verify_chain "$T/s1.resp" || fail "sig-1 chain"
[ "$(sql "SELECT count(*) FROM audit WHERE event='press' AND actor='signal SIGUSR1'")" = 1 ] ||
	fail "the signal press is not audited"
ok "kill -USR1 opens the window: the next device gets 201"

# ---- 50 pre-authorised devices at once ----
N=50
{
	echo "ID,NAME"
	i=1
	while [ $i -le $N ]; do echo "load-$i,Load device $i"; i=$((i + 1)); done
} >"$T/load.csv"
"$LANCA" preauth import "$T/load.csv" --dir "$D" >"$T/out" 2>&1 || fail "load import: $(cat "$T/out")"
i=1
while [ $i -le $N ]; do
	make_csr "L$i" "load-$i"
	openssl req -in "$T/L$i.csr" -outform der -out "$T/L$i.der"
	i=$((i + 1))
done
# What the daemon logs from here on is the load's.
log_from=$(($(wc -l <"$T/serve.log") + 1))
# Each device from its own loopback address, as real devices would be:
# one address may hold only HTTPD_CONN_PER_IP (32) connections at once.
pids=
i=1
while [ $i -le $N ]; do
	tcurl --interface "127.0.1.$i" -o "$T/L$i.resp" -w '%{http_code}' \
		-H 'Content-Type: application/pkcs10' \
		--data-binary @"$T/L$i.der" "$HTTPS_URL/api/v1/enroll" >"$T/L$i.st" 2>&1 &
	pids="$pids $!"
	i=$((i + 1))
done
# shellcheck disable=SC2086
wait $pids || true	# the statuses are checked below
i=1
while [ $i -le $N ]; do
	[ "$(cat "$T/L$i.st")" = 201 ] || fail "load-$i: $(cat "$T/L$i.st") $(cat "$T/L$i.resp")"
	verify_chain "$T/L$i.resp" || fail "load-$i chain"
	[ "$(cn_of "$T/L$i.resp.1.pem")" = "load-$i" ] || fail "load-$i got another device's certificate"
	s=$(serial_of "$T/L$i.resp.1.pem")
	in_db "$s" || fail "load-$i: serial $s is not in the database"
	echo "$s" >>"$T/serials"
	i=$((i + 1))
done
[ "$(sort -u "$T/serials" | wc -l)" = $N ] || fail "the serials are not distinct"
[ "$(sql "SELECT count(*) FROM certificates WHERE device_id LIKE 'load-%'")" = $N ] ||
	fail "not $N certificate rows for the load devices"
[ "$(sql "SELECT count(*) FROM preauth WHERE device_id LIKE 'load-%' AND used_at IS NULL")" = 0 ] ||
	fail "a pre-authorisation is still unused"
# Only the load's lines (before it, the start-up's word that a sandbox is
# missing: no Landlock in the kernel, or valgrind).
if tail -n +"$log_from" "$T/serve.log" | grep -Eqi "error|warn|fail|limit"; then
	fail "errors in serve.log under load"
fi
ok "$N pre-authorised devices at once: $N x 201, $N distinct serials, all recorded, a clean log"

# ---- renewal over mTLS ----
make_csr r1 ren-1 "DNS:ren-1.local"
st=$(enroll r1); [ "$st" = 201 ] || fail "ren-1 enroll: $st"
split_chain "$T/r1.resp"
CUR="$T/r1.resp.1.pem"
make_csr r2 ren-1 "DNS:ren-1.local"
st=$(renew r2 "$CUR" "$T/r1.key"); [ "$st" = 201 ] || fail "renewal: $st $(cat "$T/r2.resp")"
verify_chain "$T/r2.resp" || fail "renewed chain"
[ "$(cn_of "$T/r2.resp.1.pem")" = ren-1 ] || fail "the renewed certificate has another device id"
[ "$(serial_of "$T/r2.resp.1.pem")" != "$(serial_of "$CUR")" ] || fail "renewal kept the serial"
in_db "$(serial_of "$T/r2.resp.1.pem")" || fail "the renewed certificate is not recorded"
ok "POST /api/v1/renew with the current certificate: 201, a new serial, the same device id"
# A second device for the expiry checks below (ren-1's first certificate
# is superseded by its renewal).
make_csr x1 ren-2 "DNS:ren-2.local"
st=$(enroll x1); [ "$st" = 201 ] || fail "ren-2 enroll: $st"
split_chain "$T/x1.resp"
CUR2="$T/x1.resp.1.pem"
make_csr x2 ren-3 "DNS:ren-3.local"
st=$(enroll x2); [ "$st" = 201 ] || fail "ren-3 enroll: $st"
split_chain "$T/x2.resp"
CUR3="$T/x2.resp.1.pem"

# The renewed certificate was revoked as superseded: it renews no more.
make_csr r2b ren-1 "DNS:ren-1.local"
st=$(renew r2b "$CUR" "$T/r1.key"); [ "$st" = 403 ] || fail "renewal with the superseded certificate: $st"
grep -q "revoked" "$T/r2b.resp" || fail "the refusal does not say revoked: $(cat "$T/r2b.resp")"
[ "$(sql "SELECT revoke_reason FROM certificates WHERE lower(hex(serial))='$(serial_of "$CUR")'")" = superseded ] ||
	fail "the renewed certificate is not revoked as superseded"
make_csr r3 other-device
st=$(renew r3 "$T/r2.resp.1.pem" "$T/r2.key"); [ "$st" = 403 ] || fail "renewal for another device id: $st"
grep -q "other-device" "$T/r3.resp" || fail "the refusal does not name the device id: $(cat "$T/r3.resp")"
[ "$(sql "SELECT count(*) FROM certificates WHERE device_id='other-device'")" = 0 ] ||
	fail "issued to another device id by renewal"
make_csr r4 ren-1
st=$(renew r4 "$T/fa.pem" "$T/fa.key"); [ "$st" = 403 ] || fail "renewal with a factory certificate: $st"
grep -q "not issued by this gateway" "$T/r4.resp" || fail "factory renewal refusal: $(cat "$T/r4.resp")"
openssl req -in "$T/r4.csr" -outform der -out "$T/r4.der"
st=$(tcurl -o /dev/null -w '%{http_code}' -H 'Content-Type: application/pkcs10' \
	--data-binary @"$T/r4.der" "$HTTPS_URL/api/v1/renew") || st=000
[ "$st" = 403 ] || fail "renewal without a client certificate: $st"
ok "renewal for another device id, with a foreign certificate or none: 403"

s2=$(serial_of "$T/r2.resp.1.pem")
sql "UPDATE certificates SET status='revoked', revoked_at=strftime('%s','now') WHERE lower(hex(serial))='$s2'"
split_chain "$T/r2.resp"
st=$(renew r4 "$T/r2.resp.1.pem" "$T/r2.key"); [ "$st" = 403 ] || fail "renewal with a revoked certificate: $st"
grep -q "revoked" "$T/r4.resp" || fail "the refusal does not say revoked: $(cat "$T/r4.resp")"
ok "renewal with a revoked certificate: 403"

# Every certificate a client received from this daemon is in the database.
for f in "$T"/*.resp.1.pem "$T"/*.poll.1.pem; do
	[ -f "$f" ] || continue
	in_db "$(serial_of "$f")" || fail "$f was handed out but is not in the database"
done
stop_serve || fail "serve did not stop cleanly"
# Save the start-up's word that a sandbox is missing (no Landlock in the
# kernel, or valgrind under make check-valgrind).
if grep -v -e "no Landlock here" -e "under valgrind" "$T/serve.log" | grep -Eqi "error|warn"; then
	fail "errors in serve.log: $(grep -v -e "no Landlock here" -e "under valgrind" "$T/serve.log" | grep -Ei "error|warn")"
fi

# Expiry: device certificates last 90 days; the daemon's clock moves on.
if [ -n "$LIBFAKETIME" ]; then
	make_csr r5 ren-2
	start_faked +100d
	st=$(renew r5 "$CUR2" "$T/x1.key"); [ "$st" = 403 ] || fail "expired 10 days ago, no grace: $st"
	grep -q "expired" "$T/r5.resp" || fail "the refusal does not say expired: $(cat "$T/r5.resp")"
	stop_serve || fail "faked serve did not stop cleanly"
	start_faked +100d --renew-grace 30
	st=$(renew r5 "$CUR2" "$T/x1.key"); [ "$st" = 201 ] || fail "expired 10 days ago, 30 days' grace: $st $(cat "$T/r5.resp")"
	split_chain "$T/r5.resp"
	[ "$(cn_of "$T/r5.resp.1.pem")" = ren-2 ] || fail "device id after a renewal in the grace period"
	# The daemon really ran 100 days ahead: so did its signer.
	nb=$(date -d "$(openssl x509 -in "$T/r5.resp.1.pem" -noout -startdate | cut -d= -f2)" +%s)
	[ "$nb" -gt $(( $(date +%s) + 99 * 86400 )) ] || fail "the faked clock did not reach the signer"
	in_db "$(serial_of "$T/r5.resp.1.pem")" || fail "the grace renewal is not recorded"
	stop_serve || fail "faked serve did not stop cleanly"
	make_csr r6 ren-3
	start_faked +130d --renew-grace 30
	st=$(renew r6 "$CUR3" "$T/x2.key"); [ "$st" = 403 ] || fail "expired 40 days ago, 30 days' grace: $st"
grep -q "grace" "$T/r6.resp" || fail "the refusal does not mention the grace period: $(cat "$T/r6.resp")"
	stop_serve || fail "faked serve did not stop cleanly"
	ok "renewal of an expired certificate: 403 without grace, 201 within --renew-grace 30, 403 past it"
else
	ok "# SKIP renewal of an expired certificate: libfaketime not installed"
fi

# ---- the rate limit ----
start_serve "$D" --enroll-rate 1 --enroll-burst 3
make_csr rl rate-1
openssl req -in "$T/rl.csr" -outform der -out "$T/rl.der"
# One curl, one kept-alive connection, ten POSTs: quick whatever the machine.
set --
i=1
while [ $i -le 10 ]; do
	set -- "$@" -o /dev/null "$HTTPS_URL/api/v1/enroll"
	i=$((i + 1))
done
tcurl -D "$T/rl.hdr" -w '%{http_code}\n' -H 'Content-Type: application/pkcs10' \
	--data-binary @"$T/rl.der" "$@" >"$T/rl.codes" || true
[ "$(head -n 3 "$T/rl.codes" | grep -c '^202$')" = 3 ] || fail "the burst of 3 was refused: $(tr '\n' ' ' <"$T/rl.codes")"
limited=$(grep -c '^429$' "$T/rl.codes" || true)
[ "$limited" -ge 6 ] || fail "only $limited of 10 quick POSTs got 429: $(tr '\n' ' ' <"$T/rl.codes")"
[ "$(sed -n 10p "$T/rl.codes")" = 429 ] || fail "the last of the flood was not limited"
# The headers of the last answer: after the last status line.
tr -d '\r' <"$T/rl.hdr" | awk -v base="$T/rl" '/^HTTP\// { n++ } n { print > (base "." n) }'
ra=$(sed -n 's/^[Rr]etry-[Aa]fter: *//p' "$T/rl.10")
[ -n "$ra" ] && [ "$ra" -ge 1 ] || fail "429 without a Retry-After: $(cat "$T/rl.10")"
[ "$(sql "SELECT count(*) FROM requests WHERE device_id='rate-1'")" = 1 ] || fail "rate-1 request rows"
ok "--enroll-rate 1 --enroll-burst 3: 10 quick POSTs -> $limited x 429 with Retry-After: $ra"
stop_serve || fail "serve did not stop cleanly"

echo "t_devices: $n_ok passed, 0 failed"
