#!/bin/sh
# t_enroll.sh - button-press onboarding against the real daemon, with curl
# as the device: press then enroll, enroll then press, approve, deny,
# session overlap (both ways), contested admissions, one press one device,
# window expiry, name and key ownership, and the refusals of bad input.
. "$(dirname "$0")/lib.sh"

D="$T/state"
"$LANCA" init --dir "$D" --name enroll >/dev/null 2>&1 || fail "init"
ROOT_PEM="$D/root.pem"
# A short monitor time lets the test make a key go stale and come back;
# the daemon's clock is moved on (advance) rather than waited for. Its
# times are S seconds long: more under valgrind (LANCA_TIME_FACTOR), where
# a lanca command between a post and a press takes longer than 2 s.
S=$LANCA_TIME_FACTOR
REAL_LANCA=$LANCA
LANCA=$(clocked_lanca)
start_serve "$D" --monitor $((2 * S)) --enroll-burst 1000 --enroll-rate 1000
LANCA=$REAL_LANCA

# 1. press, then enroll -> issued at once.
"$LANCA" press --dir "$D" >"$T/press.out" || fail "press: $(cat "$T/press.out")"
grep -q "window open" "$T/press.out" || fail "press did not report an open window"
make_csr a dev-a "DNS:dev-a.local,IP:192.168.7.10"
st=$(post_csr a); [ "$st" = 201 ] || fail "press then enroll: $st $(cat "$T/a.resp")"
grep -qi "^content-type: application/pem-certificate-chain" "$T/a.hdr" || fail "201 content type"
verify_chain "$T/a.resp" || fail "the issued chain does not verify"
openssl x509 -in "$T/a.resp.1.pem" -noout -subject | grep -q "CN *= *dev-a" || fail "device id"
openssl x509 -in "$T/a.resp.1.pem" -noout -ext subjectAltName |
	grep -q "DNS:dev-a.local, IP Address:192.168.7.10" || fail "SANs"
ok "press, then enroll: 201 with a chain that verifies; device id and SANs right"

# 2. one press, one device: a second device right after -> pending, and
#    the admission is marked contested.
make_csr b dev-b
st=$(post_csr b); [ "$st" = 202 ] || fail "second device after one press: $st"
grep -qi "^retry-after: [0-9]" "$T/b.hdr" || fail "202 without Retry-After"
[ -n "$(req_id b)" ] || fail "202 without Location"
[ "$(sql "SELECT contested FROM requests WHERE id='$(req_id a)'")" = 1 ] ||
	fail "the first admission was not marked contested"
[ "$(sql "SELECT count(*) FROM audit WHERE event='contested'")" -ge 1 ] || fail "contest not audited"
"$LANCA" status --dir "$D" | grep -q "contested" || fail "status does not show the contest"
ok "one press admits one device; a second key inside the window stays pending and contests the first"

# 3. the same key again gets the same request (and its certificate), never a new one.
st=$(post_csr a); [ "$st" = 201 ] || fail "re-post of an issued key: $st"
[ "$(sql "SELECT count(*) FROM requests WHERE device_id='dev-a'")" = 1 ] || fail "re-post made a new request"
st=$(post_csr b); [ "$st" = 202 ] || fail "re-post of a pending key: $st"
[ "$(sql "SELECT count(*) FROM requests WHERE device_id='dev-b'")" = 1 ] || fail "re-post made a new request"
ok "a device re-posting gets its same request back"

# 4. approve: the polling device gets its certificate.
st=$(poll b); [ "$st" = 202 ] || fail "poll of a pending request: $st"
"$LANCA" approve --dir "$D" "$(req_id b)" >/dev/null || fail "approve"
st=$(poll b); [ "$st" = 200 ] || fail "poll after approve: $st"
verify_chain "$T/b.poll" || fail "approved chain"
tcurl "$HTTPS_URL/api/v1/requests/$(req_id b)" | grep -q '"state": *"issued"' || fail "JSON state"
ok "enroll without a press -> 202; lanca approve -> the poll gets the chain"

# 5. deny: the device gets a clear refusal with the reason.
advance $((4 * S))	# let earlier keys leave the waiting set
make_csr c dev-c
st=$(post_csr c); [ "$st" = 202 ] || fail "enroll c: $st"
"$LANCA" deny --dir "$D" "$(req_id c)" --reason "not one of ours" >/dev/null || fail "deny"
st=$(poll c); [ "$st" = 403 ] || fail "poll after deny: $st"
grep -q "not one of ours" "$T/c.poll" || fail "the denial reason is not shown: $(cat "$T/c.poll")"
[ "$(sql "SELECT count(*) FROM audit WHERE event='deny'")" -ge 1 ] || fail "deny not audited"
ok "lanca deny -> the device's poll gets 403 with the reason"

# 6. device first, press second: one waiting key is issued at the press.
advance $((4 * S))
make_csr d dev-d
st=$(post_csr d); [ "$st" = 202 ] || fail "enroll d before press: $st"
"$LANCA" press --dir "$D" >/dev/null || fail "press"
st=$(poll d); [ "$st" = 200 ] || fail "poll after the press: $st"
verify_chain "$T/d.poll" || fail "chain issued at press"
ok "device first, press second: the waiting key is issued at the press"

# 7. overlap at the press: two waiting keys -> neither issued.
advance $((4 * S))
make_csr e dev-e; make_csr f dev-f
[ "$(post_csr e)" = 202 ] && [ "$(post_csr f)" = 202 ] || fail "enroll e, f"
"$LANCA" press --dir "$D" >"$T/press.out" || fail "press"
grep -q "overlap" "$T/press.out" || fail "press did not report overlap: $(cat "$T/press.out")"
[ "$(poll e)" = 202 ] && [ "$(poll f)" = 202 ] || fail "overlapped keys were issued"
"$LANCA" status --dir "$D" --json | grep -q '"state": "overlap"' || fail "status does not show overlap"
tcurl "$HTTPS_URL/api/v1/status" | grep -q '"overlap"' || fail "API status does not show overlap"
grep -qi "overlap" "$T/e.poll" || tcurl "$HTTPS_URL/api/v1/requests/$(req_id e)" | grep -qi overlap ||
	fail "the device is not told why it waits"
[ "$(sql "SELECT count(*) FROM audit WHERE event='overlap'")" -ge 1 ] || fail "overlap not audited"
ok "two keys waiting at the press: overlap, neither issued, status shows it, audited"

# 8. overlap at admission: a press, then a key arrives while another
#    distinct key is still waiting (it polled, but was stale at the press).
advance $((4 * S))
make_csr g dev-g
[ "$(post_csr g)" = 202 ] || fail "enroll g"
advance $((4 * S))	# g is stale: not waiting at the press
"$LANCA" press --dir "$D" >"$T/press.out" || fail "press"
grep -q "window open" "$T/press.out" || fail "nothing should be waiting at this press: $(cat "$T/press.out")"
[ "$(poll g)" = 202 ] || fail "poll g"	# g is waiting again, without asking anew
make_csr h dev-h
st=$(post_csr h); [ "$st" = 202 ] || fail "a key arriving while another waits was issued: $st"
[ "$(poll g)" = 202 ] || fail "g was issued"
"$LANCA" status --dir "$D" --json | grep -q '"state": "overlap"' || fail "no overlap at admission"
ok "a key arriving in an open window while another distinct key waits: overlap, nothing issued"

# 9. the window expires.
advance $((4 * S))
"$LANCA" press --dir "$D" --seconds "$S" >/dev/null || fail "press --seconds $S"
advance $((2 * S))
make_csr i dev-i
st=$(post_csr i); [ "$st" = 202 ] || fail "enroll after the window closed: $st"
ok "enroll after the window closed -> pending"

# 10. name ownership: a name dev-a holds is not issued to another device.
advance $((4 * S))
"$LANCA" press --dir "$D" >/dev/null || fail "press"
make_csr j dev-j "DNS:dev-a.local"
st=$(post_csr j); [ "$st" = 409 ] || fail "a name owned by dev-a: $st $(cat "$T/j.resp")"
grep -q "dev-a" "$T/j.resp" || fail "409 does not name the owner"
[ "$(poll j)" = 202 ] || fail "the conflicting request is not pending for the admin"
# It is the only key waiting now, but a press never issues it either.
"$LANCA" press --dir "$D" >/dev/null || fail "press"
[ "$(poll j)" = 202 ] || fail "a press issued a name that another device holds"
"$LANCA" approve --dir "$D" "$(req_id j)" >/dev/null || fail "an admin may still approve it"
ok "a name owned by another device: 409, pending for the admin (a press never issues it), who may approve"

# 11. key ownership: a key holding a certificate for another device id.
openssl req -new -key "$T/a.key" -subj /CN=dev-z -out "$T/z.csr" 2>/dev/null
st=$(post_csr z); [ "$st" = 409 ] || fail "a key of dev-a asking as dev-z: $st"
ok "a key that holds dev-a's certificate cannot enroll as another device (409)"

# 12. bad input: each gets a clear 4xx, nothing is recorded.
before=$(sql "SELECT count(*) FROM requests")
st=$(tcurl -o "$T/x" -w '%{http_code}' -H 'Content-Type: text/plain' --data-binary @"$T/a.der" \
	"$HTTPS_URL/api/v1/enroll"); [ "$st" = 415 ] || fail "wrong content type: $st"
head -c 2000 /dev/urandom >"$T/junk"
st=$(tcurl -o "$T/x" -w '%{http_code}' -H 'Content-Type: application/pkcs10' --data-binary @"$T/junk" \
	"$HTTPS_URL/api/v1/enroll"); [ "$st" = 400 ] && grep -q bad_csr "$T/x" || fail "garbage: $st"
head -c 70000 /dev/zero >"$T/big"
# Expect: 100-continue, so curl waits for the verdict on the announced
# length instead of racing the early 413 with its upload (a send error,
# exit 55, when the daemon closed first on a loaded machine).
st=$(tcurl -o "$T/x" -w '%{http_code}' -H 'Content-Type: application/pkcs10' \
	-H 'Expect: 100-continue' --data-binary @"$T/big" \
	"$HTTPS_URL/api/v1/enroll"); [ "$st" = 413 ] && grep -q too_large "$T/x" ||
	fail "oversized body: $st"
make_csr pub dev-pub "DNS:www.example.com"
st=$(post_csr pub); [ "$st" = 400 ] && grep -q "www.example.com" "$T/pub.resp" || fail "public name: $st"
openssl req -new -newkey rsa:1024 -nodes -keyout "$T/w.key" -subj /CN=weak -out "$T/w.csr" 2>/dev/null
st=$(post_csr w); [ "$st" = 400 ] && grep -q weak_key "$T/w.resp" || fail "RSA-1024: $st"
# A forged request (well formed, its self-signature broken): the signer
# process checks the proof of possession now, with the same answer.
certs_before=$(sql "SELECT count(*) FROM certificates")
st=$(tcurl -o "$T/x" -w '%{http_code}' -H 'Content-Type: application/pkcs10' \
	--data-binary @"$TOP_SRCDIR/tests/data/csr/badsig.der" "$HTTPS_URL/api/v1/enroll")
[ "$st" = 400 ] && grep -q '"error": *"bad_signature"' "$T/x" &&
	grep -q "self-signature does not verify" "$T/x" || fail "forged request: $st $(cat "$T/x")"
[ "$(sql "SELECT count(*) FROM certificates")" = "$certs_before" ] || fail "a forged request was issued"
[ "$(sql "SELECT count(*) FROM requests")" = "$before" ] || fail "bad input left a request row"
st=$(tcurl -o /dev/null -w '%{http_code}' "$HTTPS_URL/api/v1/requests/0123456789abcdef0123456789abcdef")
[ "$st" = 404 ] || fail "unknown request id: $st"
ok "wrong type 415, garbage 400, oversized 413, public name 400, weak key 400, forged 400, unknown id 404"

# 13. every certificate a client received is in the database.
for f in "$T"/*.resp.1.pem "$T"/*.poll.1.pem; do
	[ -f "$f" ] || continue
	s=$(openssl x509 -in "$f" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
	[ "$(sql "SELECT count(*) FROM certificates WHERE lower(hex(serial))='$s'")" = 1 ] ||
		fail "certificate $s was handed out but is not in the database"
done
ok "every certificate a client received is recorded"

stop_serve || fail "serve did not stop cleanly"
echo "t_enroll: $n_ok passed, 0 failed"
