#!/bin/sh
# t_crl.sh - revocation and the CRL against the real daemon, with real
# clients: the CRL served at /crl on both ports (DER, application/pkix-crl,
# ETag and 304) makes `openssl verify -crl_check` refuse a revoked
# certificate and accept a good one, certtool verifies it and shows each
# entry, openssl shows its reason; revocation by serial (CLI and API) and
# by device id; 20 revocations at once give strictly increasing CRL
# numbers and the last CRL lists them all; a renewal revokes the old
# certificate as superseded; a revoked certificate cannot renew (API and
# EST); a press does not admit a device id whose certificate was revoked;
# bad input (unknown reason, serial or device, revoking twice) is refused
# with a clear error and nothing written; `lanca revoke` without a daemon
# is on the CRL the daemon makes when it starts; `lanca crl` prints it.
. "$(dirname "$0")/lib.sh"

command -v certtool >/dev/null 2>&1 || { echo "ok - skipped: no certtool (gnutls-bin)"; exit 0; }

D="$T/state"
PW='Crl-test-pass:phrase-5e1f'
"$LANCA" init --dir "$D" --name crl >/dev/null 2>&1 || fail "init"
ROOT_PEM="$D/root.pem"
ISSUING="$D/keys/issuing.pem"
printf '%s\n' "$PW" >"$T/pw"
"$LANCA" admin passwd admin --dir "$D" --password-file "$T/pw" >/dev/null 2>&1 || fail "admin passwd"
start_serve "$D" --enroll-burst 1000 --enroll-rate 1000 --crl-days 3
J='Content-Type: application/json'

# crl_get URL NAME: GETs the CRL to $T/NAME.der (headers $T/NAME.hdr) and
# $T/NAME.pem; prints the status.
crl_get() {
	st=$(curl -s --max-time 10 --resolve "localhost:$HTTPS_PORT:127.0.0.1" --cacert "$ROOT_PEM" \
		-D "$T/$2.hdr" -o "$T/$2.der" -w '%{http_code}' "$1/crl")
	[ "$st" = 200 ] && openssl crl -inform DER -in "$T/$2.der" -out "$T/$2.pem" 2>/dev/null
	echo "$st"
}
# crl_number FILE.pem: the CRL's number, in decimal.
crl_number() {
	openssl crl -in "$1" -noout -crlnumber | sed 's/^crlNumber=//' | python3 -c 'import sys; print(int(sys.stdin.read().strip(), 16))'
}
serial_of() {
	openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f'
}
# crl_verify CERT CRL: openssl's verdict on CERT with the CRL.
crl_verify() {
	openssl verify -crl_check -CAfile "$ROOT_PEM" -untrusted "$ISSUING" -CRLfile "$2" "$1" >"$T/verify.out" 2>&1
}
enroll_pressed() {
	make_csr "$1" "$1" "DNS:$1.local"
	"$LANCA" press --dir "$D" >/dev/null || fail "press for $1"
	st=$(post_csr "$1"); [ "$st" = 201 ] || fail "enroll $1 after a press: $st $(cat "$T/$1.resp")"
	split_chain "$T/$1.resp"
}

# ---- the first CRL, made at start, on both ports ----
[ "$(crl_get "$HTTP_URL" c1)" = 200 ] || fail "GET /crl over plain HTTP"
[ "$(crl_get "$HTTPS_URL" c1s)" = 200 ] || fail "GET /crl over HTTPS"
cmp -s "$T/c1.der" "$T/c1s.der" || fail "the two ports serve different CRLs"
grep -qi '^content-type: application/pkix-crl' "$T/c1.hdr" || fail "content type: $(cat "$T/c1.hdr")"
grep -qi '^etag: "crl-1"' "$T/c1.hdr" || fail "no ETag: $(cat "$T/c1.hdr")"
grep -qi '^cache-control: public, max-age=2[0-9]*' "$T/c1.hdr" || fail "cache control: $(cat "$T/c1.hdr")"
grep -qi '^last-modified: ' "$T/c1.hdr" || fail "no Last-Modified: $(cat "$T/c1.hdr")"
[ "$(crl_number "$T/c1.pem")" = 1 ] || fail "the first CRL's number"
st=$(curl -s -o /dev/null -w '%{http_code}' -H 'If-None-Match: "crl-1"' "$HTTP_URL/crl")
[ "$st" = 304 ] || fail "If-None-Match the current CRL: $st"
openssl crl -in "$T/c1.pem" -noout -text >"$T/c1.txt"
grep -q 'Version 2' "$T/c1.txt" && grep -q 'No Revoked Certificates' "$T/c1.txt" &&
	grep -q 'X509v3 Authority Key Identifier' "$T/c1.txt" || fail "the first CRL: $(cat "$T/c1.txt")"
# thisUpdate to nextUpdate: the 3 days of --crl-days.
python3 - "$T/c1.der" <<'PY' || fail "the CRL's period is not 3 days"
import subprocess, sys, datetime
out = subprocess.run(["openssl", "crl", "-inform", "DER", "-in", sys.argv[1], "-noout",
		      "-lastupdate", "-nextupdate"], capture_output=True, text=True).stdout
d = dict(l.split("=", 1) for l in out.splitlines())
f = "%b %d %H:%M:%S %Y GMT"
p = lambda s: datetime.datetime.strptime(" ".join(s.split()), f)
sys.exit(0 if (p(d["nextUpdate"]) - p(d["lastUpdate"])).total_seconds() == 3 * 86400 else 1)
PY
# The URL every certificate names answers with it (the host aside).
DP=$(openssl x509 -in "$D/gateway.pem" -noout -ext crlDistributionPoints 2>/dev/null | sed -n 's/.*URI:\(.*\)/\1/p' | head -n 1)
case "$DP" in http://*/crl) ;; *) fail "the certificates' CRL URL: $DP" ;; esac
ok "a CRL at start: /crl on both ports, DER, application/pkix-crl, ETag, 304, v2 with AKI, 3 days"

# ---- devices ----
for d in good bad lost dev1; do enroll_pressed "$d"; done
[ "$(crl_get "$HTTP_URL" c2)" = 200 ] || fail "GET /crl"
crl_verify "$T/bad.resp.1.pem" "$T/c2.pem" || fail "before any revocation: $(cat "$T/verify.out")"

# ---- bad input: clear errors, nothing written ----
SB=$(serial_of "$T/bad.resp.1.pem")
n0=$(sql "SELECT count(*) FROM audit")
"$LANCA" revoke --dir "$D" "$SB" --reason "key lost" >"$T/o" 2>&1 && fail "an unknown reason was taken"
grep -q "unknown revocation reason 'key lost': one of unspecified, keyCompromise" "$T/o" || fail "unknown reason: $(cat "$T/o")"
"$LANCA" revoke --dir "$D" 00112233 >"$T/o" 2>&1 && fail "an unknown serial was taken"
grep -q "no certificate with serial 00112233 and no device 00112233" "$T/o" || fail "unknown serial: $(cat "$T/o")"
"$LANCA" revoke --dir "$D" no-such-device --reason superseded >"$T/o" 2>&1 && fail "an unknown device was taken"
grep -q "no device no-such-device" "$T/o" || fail "unknown device: $(cat "$T/o")"
[ "$(sql "SELECT count(*) FROM audit")" = "$n0" ] || fail "a refused revocation wrote to the audit log"
[ "$(sql "SELECT count(*) FROM crls")" = 1 ] || fail "a refused revocation made a CRL"
[ "$(sql "SELECT count(*) FROM certificates WHERE status = 'revoked'")" = 0 ] || fail "revoked on bad input"
ok "bad input: unknown reason, serial or device refused, saying why; nothing written"

# ---- revoke by serial with the CLI: the daemon makes CRL 2 before it answers ----
"$LANCA" revoke --dir "$D" "$SB" --reason keyCompromise --comment "left in a taxi" >"$T/o" 2>&1 ||
	fail "lanca revoke: $(cat "$T/o")"
grep -q "^revoked certificate $SB (keyCompromise)" "$T/o" && grep -q "^CRL 2 lists it" "$T/o" ||
	fail "lanca revoke said: $(cat "$T/o")"
[ "$(crl_get "$HTTP_URL" c3)" = 200 ] && [ "$(crl_get "$HTTPS_URL" c3s)" = 200 ] || fail "GET /crl after revoking"
[ "$(crl_number "$T/c3.pem")" = 2 ] || fail "the CRL number after the revocation: $(crl_number "$T/c3.pem")"
for c in c3 c3s; do
	crl_verify "$T/bad.resp.1.pem" "$T/$c.pem" && fail "openssl accepted the revoked certificate with $c"
	grep -q "certificate revoked" "$T/verify.out" || fail "openssl's refusal: $(cat "$T/verify.out")"
	crl_verify "$T/good.resp.1.pem" "$T/$c.pem" || fail "the good certificate with $c: $(cat "$T/verify.out")"
done
certtool --verify-crl --load-ca-certificate "$ISSUING" --infile "$T/c3.pem" >"$T/ct.out" 2>&1 ||
	fail "certtool --verify-crl: $(cat "$T/ct.out")"
certtool --verify-crl --load-ca-certificate "$ROOT_PEM" --infile "$T/c3.pem" >/dev/null 2>&1 &&
	fail "certtool verified the CRL under the root"
certtool --crl-info --inder --infile "$T/c3.der" >"$T/ci.out" 2>&1 || fail "certtool --crl-info: $(cat "$T/ci.out")"
grep -q "Revoked certificates (1)" "$T/ci.out" && grep -qi "Serial Number (hex): $SB" "$T/ci.out" &&
	grep -q "CRL Number" "$T/ci.out" || fail "certtool --crl-info: $(cat "$T/ci.out")"
openssl crl -in "$T/c3.pem" -noout -text >"$T/c3.txt"
grep -A4 -i "Serial Number: $SB" "$T/c3.txt" | grep -q "Key Compromise" || fail "no reason in the CRL: $(cat "$T/c3.txt")"
[ "$(sql "SELECT revoke_reason || '/' || revoke_comment FROM certificates WHERE lower(hex(serial)) = '$SB'")" = \
  "keyCompromise/left in a taxi" ] || fail "the stored reason and comment"
[ "$(sql "SELECT count(*) FROM audit WHERE event = 'revoke' AND detail LIKE '%\"comment\":\"left in a taxi\"%' AND detail LIKE '%\"reason\":\"keyCompromise\"%'")" = 1 ] ||
	fail "the revoke audit row"
[ "$(sql "SELECT detail FROM audit WHERE event = 'crl' ORDER BY id DESC LIMIT 1")" != "" ] &&
	[ "$(sql "SELECT count(*) FROM audit WHERE event = 'crl' AND detail LIKE '{\"number\":2,\"entries\":1,%'")" = 1 ] ||
	fail "the crl audit row: $(sql "SELECT detail FROM audit WHERE event = 'crl'")"
# The CRL is a checkpoint of the audit log: its "crl" row is signed.
CRLROW=$(sql "SELECT id FROM audit WHERE event = 'crl' AND detail LIKE '{\"number\":2,%'")
[ -n "$CRLROW" ] && [ "$(sql "SELECT count(*) FROM audit_checkpoints WHERE row_id >= $CRLROW")" -ge 1 ] ||
	fail "no audit checkpoint covers CRL 2's row $CRLROW: $(sql "SELECT group_concat(row_id) FROM audit_checkpoints")"
"$LANCA" audit verify --dir "$D" >"$T/verify.out" 2>&1 || fail "lanca audit verify: $(cat "$T/verify.out")"
ok "revoked with the CLI: CRL 2 on both ports; openssl -crl_check refuses it, accepts the good one; certtool verifies the CRL and lists the entry; reason keyCompromise in the CRL, stored, audited, its row checkpointed"

"$LANCA" revoke --dir "$D" "$SB" >"$T/o" 2>&1 && fail "revoked twice"
grep -q "revoked already" "$T/o" || fail "revoking twice: $(cat "$T/o")"
[ "$(sql "SELECT count(*) FROM crls")" = 2 ] || fail "revoking twice made a CRL"
ok "revoking twice: refused (revoked already), no CRL made"

# ---- the admin API: by serial and by device id ----
code=$(tcurl -X POST -D "$T/h" -o "$T/b" -w '%{http_code}' -H "$J" -H "Origin: https://localhost:$HTTPS_PORT" \
	--data-binary "{\"user\": \"admin\", \"password\": \"$PW\"}" "$HTTPS_URL/api/v1/login")
[ "$code" = 200 ] || fail "login: $code $(cat "$T/b")"
TOKEN=$(tr -d '\r' <"$T/h" | sed -n 's/^[Ss]et-[Cc]ookie: __Host-lanca_session=\([0-9a-f]*\);.*/\1/p')
CSRF=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["csrf"])' "$T/b")
apost() {
	code=$(tcurl -X POST -o "$T/b" -w '%{http_code}' -b "__Host-lanca_session=$TOKEN" -H "$J" \
		-H "X-CSRF-Token: $CSRF" --data-binary "$2" "$HTTPS_URL$1") || code=000
}
apost "/api/v1/devices/lost/revoke" '{"reason": "stolen"}'
[ "$code" = 400 ] && grep -q "unknown revocation reason 'stolen'" "$T/b" || fail "API unknown reason: $code $(cat "$T/b")"
apost "/api/v1/devices/lost/revoke" '{"reason": "cessationOfOperation", "comment": "decommissioned"}'
[ "$code" = 200 ] || fail "revoke a device: $code $(cat "$T/b")"
SL=$(serial_of "$T/lost.resp.1.pem")
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert (j["device_id"], j["revoked"], j["reason"], j["crl_number"]) == ("lost", [sys.argv[2]], "cessationOfOperation", 3), j' \
	"$T/b" "$SL" || fail "the device revocation's answer: $(cat "$T/b")"
apost "/api/v1/devices/lost/revoke" '{}'
[ "$code" = 409 ] && grep -q "holds no valid certificate" "$T/b" || fail "a device without valid certificates: $code $(cat "$T/b")"
apost "/api/v1/certificates/$(serial_of "$T/dev1.resp.1.pem")/revoke" '{"reason": "affiliationChanged"}'
[ "$code" = 200 ] || fail "API revoke by serial: $code $(cat "$T/b")"
[ "$(crl_get "$HTTPS_URL" c4)" = 200 ] || fail "GET /crl"
[ "$(crl_number "$T/c4.pem")" = 4 ] || fail "the CRL number after two API revocations"
openssl crl -in "$T/c4.pem" -noout -text >"$T/c4.txt"
grep -q "Cessation Of Operation" "$T/c4.txt" && grep -q "Affiliation Changed" "$T/c4.txt" ||
	fail "the reasons of the API's revocations: $(cat "$T/c4.txt")"
crl_verify "$T/lost.resp.1.pem" "$T/c4.pem" && fail "openssl accepted the device's revoked certificate"
ok "the API revokes a device's certificates and one by serial, with a reason each; 409 for a device without a valid one"

# ---- revoked cannot renew: API and EST ----
make_csr bad2 bad "DNS:bad.local"
openssl req -in "$T/bad2.csr" -outform der -out "$T/bad2.der"
st=$(tcurl -o "$T/r.resp" -w '%{http_code}' --cert "$T/bad.resp.1.pem" --key "$T/bad.key" \
	-H 'Content-Type: application/pkcs10' --data-binary @"$T/bad2.der" "$HTTPS_URL/api/v1/renew")
[ "$st" = 403 ] && grep -q revoked "$T/r.resp" || fail "renew with a revoked certificate: $st $(cat "$T/r.resp")"
openssl base64 -in "$T/bad2.der" >"$T/bad2.b64"
st=$(tcurl -o "$T/r.resp" -w '%{http_code}' --cert "$T/bad.resp.1.pem" --key "$T/bad.key" \
	-H 'Content-Type: application/pkcs10' --data-binary @"$T/bad2.b64" "$HTTPS_URL/.well-known/est/simplereenroll")
[ "$st" = 403 ] && grep -q revoked "$T/r.resp" || fail "EST simplereenroll with a revoked certificate: $st $(cat "$T/r.resp")"
ok "a revoked certificate cannot renew: 403 over the API and EST"

# ---- a press does not admit a revoked device id ----
make_csr bad3 bad "DNS:bad.local"
"$LANCA" press --dir "$D" >/dev/null || fail "press"
# It waits, as a request a conflict holds does: 409 with state pending.
st=$(post_csr bad3); [ "$st" = 409 ] && grep -q '"state":"pending"' "$T/bad3.resp" ||
	fail "the revoked device id was admitted by a press: $st $(cat "$T/bad3.resp")"
grep -q "had its certificate revoked: an admin must decide" "$T/bad3.resp" || fail "no reason given: $(cat "$T/bad3.resp")"
# ...nor makes an overlap for another device in the same window.
enroll_pressed other
[ "$(sql "SELECT count(*) FROM certificates WHERE device_id = 'other'")" = 1 ] || fail "other was held by the revoked device"
# A press while it waits does not admit it either; an admin's approve does.
"$LANCA" press --dir "$D" >/dev/null || fail "press"
[ "$(sql "SELECT state FROM requests WHERE device_id = 'bad' AND state <> 'issued'")" = pending ] || fail "a press admitted the waiting revoked device"
RID=$(sql "SELECT id FROM requests WHERE device_id = 'bad' AND state = 'pending'")
"$LANCA" approve --dir "$D" "$RID" >"$T/o" 2>&1 || fail "approve: $(cat "$T/o")"
[ "$(sql "SELECT count(*) FROM certificates WHERE device_id = 'bad' AND status = 'valid'")" = 1 ] || fail "approve did not issue"
ok "a press does not admit a revoked device id (it waits, saying why; no overlap for others); an admin's approve issues"

# ---- renewal supersedes ----
SG=$(serial_of "$T/good.resp.1.pem")
make_csr good2 good "DNS:good.local"
openssl req -in "$T/good2.csr" -outform der -out "$T/good2.der"
st=$(tcurl -o "$T/g.resp" -w '%{http_code}' --cert "$T/good.resp.1.pem" --key "$T/good.key" \
	-H 'Content-Type: application/pkcs10' --data-binary @"$T/good2.der" "$HTTPS_URL/api/v1/renew")
[ "$st" = 201 ] || fail "renew: $st $(cat "$T/g.resp")"
split_chain "$T/g.resp"
[ "$(sql "SELECT status || '/' || revoke_reason FROM certificates WHERE lower(hex(serial)) = '$SG'")" = revoked/superseded ] ||
	fail "the renewed certificate is not revoked as superseded"
[ "$(crl_get "$HTTP_URL" c5)" = 200 ] || fail "GET /crl"
openssl crl -in "$T/c5.pem" -noout -text >"$T/c5.txt"
grep -A4 -i "Serial Number: $SG" "$T/c5.txt" | grep -q "Superseded" || fail "the old certificate is not on the CRL as superseded: $(cat "$T/c5.txt")"
crl_verify "$T/good.resp.1.pem" "$T/c5.pem" && fail "the superseded certificate still verifies"
crl_verify "$T/g.resp.1.pem" "$T/c5.pem" || fail "the renewed certificate: $(cat "$T/verify.out")"
# The old one cannot renew again.
st=$(tcurl -o "$T/r.resp" -w '%{http_code}' --cert "$T/good.resp.1.pem" --key "$T/good.key" \
	-H 'Content-Type: application/pkcs10' --data-binary @"$T/good2.der" "$HTTPS_URL/api/v1/renew")
[ "$st" = 403 ] || fail "renewing with the superseded certificate: $st"
ok "a renewal revokes the old certificate as superseded, in the CRL; the new one verifies"

# ---- 20 revocations at once ----
i=1
while [ $i -le 20 ]; do enroll_pressed "par$i"; i=$((i + 1)); done
n_before=$(sql "SELECT max(number) FROM crls")
i=1
while [ $i -le 20 ]; do
	"$LANCA" revoke --dir "$D" "$(serial_of "$T/par$i.resp.1.pem")" --reason privilegeWithdrawn >"$T/par$i.out" 2>&1 &
	i=$((i + 1))
done
wait_all=0
for p in $(jobs -p); do [ "$p" = "$SERVE_PID" ] && continue; wait "$p" || wait_all=1; done
[ $wait_all = 0 ] || fail "a parallel revocation failed: $(cat "$T"/par*.out)"
nums=$(cat "$T"/par*.out | sed -n 's/^CRL \([0-9]*\) lists it$/\1/p' | sort -n)
[ "$(echo "$nums" | wc -l)" = 20 ] && [ "$(echo "$nums" | uniq | wc -l)" = 20 ] ||
	fail "the CRL numbers of 20 revocations are not 20 distinct ones: $nums"
[ "$(echo "$nums" | head -n 1)" -gt "$n_before" ] || fail "a CRL number went back"
[ "$(sql "SELECT max(number) - min(number) + 1 = count(*) FROM crls")" = 1 ] || fail "the CRL numbers have a gap"
[ "$(crl_get "$HTTP_URL" c6)" = 200 ] || fail "GET /crl"
[ "$(crl_number "$T/c6.pem")" = "$(echo "$nums" | tail -n 1)" ] || fail "the served CRL is not the newest"
i=1
while [ $i -le 20 ]; do
	crl_verify "$T/par$i.resp.1.pem" "$T/c6.pem" && fail "par$i is missing from the final CRL"
	i=$((i + 1))
done
ok "20 revocations at once: 20 CRLs with distinct, increasing numbers; the last lists them all"

# ---- without a daemon: the CRL at the next start; lanca crl ----
stop_serve || fail "serve exited badly"
"$LANCA" revoke --dir "$D" bad --reason keyCompromise >"$T/o" 2>&1 || fail "revoke without a daemon: $(cat "$T/o")"
grep -q "no daemon is running: it makes the CRL when it starts" "$T/o" || fail "lanca revoke said: $(cat "$T/o")"
n_stopped=$(sql "SELECT max(number) FROM crls")
"$LANCA" crl --dir "$D" >"$T/lc.pem" 2>"$T/o" || fail "lanca crl: $(cat "$T/o")"
head -n 1 "$T/lc.pem" | grep -q -- '-----BEGIN X509 CRL-----' || fail "lanca crl is not PEM"
[ "$(crl_number "$T/lc.pem")" = "$n_stopped" ] || fail "lanca crl is not the newest"
start_serve "$D" --crl-days 3
[ "$(sql "SELECT max(number) FROM crls")" = $((n_stopped + 1)) ] || fail "no CRL at start after a revocation without the daemon"
[ "$(crl_get "$HTTP_URL" c7)" = 200 ] || fail "GET /crl"
SB2=$(sql "SELECT lower(hex(serial)) FROM certificates WHERE device_id = 'bad' AND revoke_reason = 'keyCompromise' ORDER BY id DESC LIMIT 1")
openssl crl -in "$T/c7.pem" -noout -text | grep -qi "Serial Number: $SB2" || fail "the offline revocation is not on the CRL"
"$LANCA" crl --dir "$D" --der >"$T/lc.der" || fail "lanca crl --der"
cmp -s "$T/lc.der" "$T/c7.der" || fail "lanca crl --der is not what /crl serves"
stop_serve || fail "serve exited badly"
# And a restart with nothing new makes none.
start_serve "$D" --crl-days 3
[ "$(sql "SELECT max(number) FROM crls")" = $((n_stopped + 1)) ] || fail "a restart with nothing new made a CRL"
ok "lanca revoke without a daemon: the daemon's next start makes the CRL; lanca crl prints it (PEM, --der = /crl)"
