#!/bin/sh
# t_abuse.sh - requests crafted to get what a device should not: a flood of
# waiting keys, a request swapped under a key already recorded, a new key
# claiming a known device id, a renewal grabbing another device's name, a
# revoked certificate handed back, a factory certificate vouching for
# another device. Each must fail safe, and the daemon must keep serving.
. "$(dirname "$0")/lib.sh"

D="$T/state"
"$LANCA" init --dir "$D" --name abuse >/dev/null 2>&1 || fail "init"
ROOT_PEM="$D/root.pem"
printf 'ID,NAME\nsensor-9,Nine\nlamp,Lamp\nren,Renewer\n' >"$T/pre.csv"
"$LANCA" preauth import "$T/pre.csv" --dir "$D" >/dev/null || fail "preauth import"
start_serve "$D" --enroll-burst 1000 --enroll-rate 1000

# 1. More waiting keys than the window looks at: overlap, no crash.
i=0
while [ $i -lt 70 ]; do
	make_csr "w$i" "wait-$i"
	i=$((i + 1))
done
i=0
while [ $i -lt 70 ]; do
	[ "$(post_csr "w$i")" = 202 ] || fail "waiting key $i"
	i=$((i + 1))
done
"$LANCA" press --dir "$D" >"$T/press.out" || fail "press with 70 waiting keys: $(cat "$T/press.out")"
grep -q overlap "$T/press.out" || fail "70 waiting keys are not an overlap: $(cat "$T/press.out")"
kill -0 "$SERVE_PID" || fail "the daemon died"
[ "$(sql "SELECT count(*) FROM certificates WHERE device_id LIKE 'wait-%'")" = 0 ] || fail "issued during overlap"
ok "70 waiting keys at a press: overlap, nothing issued, the daemon lives"
for i in $(seq 0 69); do "$LANCA" deny --dir "$D" "$(req_id "w$i")" >/dev/null || fail "deny $i"; done

# 2. A request swapped under a recorded key: the first request (a name
#    held elsewhere) waits; the same key asking as a pre-authorised
#    device gets a certificate for what it asked the second time only.
make_csr lamp lamp "DNS:lamp.local"
[ "$(post_csr lamp)" = 201 ] || fail "pre-authorised lamp"
make_csr evil evil "DNS:lamp.local"
[ "$(post_csr evil)" = 409 ] || fail "evil asking for lamp.local"
openssl req -new -key "$T/evil.key" -subj /CN=sensor-9 -out "$T/nine.csr" 2>/dev/null
st=$(post_csr nine); [ "$st" = 201 ] || fail "the same key as sensor-9: $st $(cat "$T/nine.resp")"
split_chain "$T/nine.resp"
openssl x509 -in "$T/nine.resp.1.pem" -noout -subject | grep -q "CN *= *sensor-9" ||
	fail "issued $(openssl x509 -in "$T/nine.resp.1.pem" -noout -subject) for sensor-9's request"
openssl x509 -in "$T/nine.resp.1.pem" -noout -ext subjectAltName | grep -q "lamp.local" &&
	fail "the certificate carries lamp.local, which the second request did not ask for"
ok "a request swapped under a recorded key is issued as sent, never as first recorded"

# 3. A new key claiming a device id that holds a certificate: pending.
make_csr lamp2 lamp
st=$(post_csr lamp2); [ "$st" = 409 ] || fail "a second key for lamp: $st"
grep -q "another key" "$T/lamp2.resp" || fail "409 does not say why: $(cat "$T/lamp2.resp")"
"$LANCA" press --dir "$D" >/dev/null
[ "$(poll lamp2)" = 202 ] || fail "a press issued lamp to a second key"
ok "a new key claiming a device id that holds a certificate: 409, never issued by a press"

# 4. Renewal cannot take another device's name.
make_csr ren ren "DNS:ren.local"
[ "$(post_csr ren)" = 201 ] || fail "pre-authorised ren"
split_chain "$T/ren.resp"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ren2.key" \
	-subj /CN=ren -addext "subjectAltName=DNS:lamp.local" -outform der -out "$T/ren2.der" 2>/dev/null
st=$(tcurl -o "$T/ren2.resp" -w '%{http_code}' --cert "$T/ren.resp.1.pem" --key "$T/ren.key" \
	-H 'Content-Type: application/pkcs10' --data-binary @"$T/ren2.der" "$HTTPS_URL/api/v1/renew")
[ "$st" = 409 ] || fail "renewal asking for lamp.local: $st $(cat "$T/ren2.resp")"
ok "a renewal asking for another device's name: 409"

# 5. A revoked certificate is not handed back to its key.
split_chain "$T/lamp.resp"
s=$(openssl x509 -in "$T/lamp.resp.1.pem" -noout -serial | cut -d= -f2)
sql "UPDATE certificates SET status='revoked' WHERE hex(serial)='$s'"
st=$(post_csr lamp); [ "$st" != 201 ] || fail "a revoked certificate came back with 201"
ok "re-posting a key whose certificate was revoked does not return it ($st)"

kill -0 "$SERVE_PID" || fail "the daemon died"
stop_serve || fail "serve did not stop cleanly"
echo "t_abuse: $n_ok passed, 0 failed"
