#!/bin/sh
# t_rollover.sh - root rollover end to end, against the real daemon with
# real clients. Devices enrolled under root A: one refreshes its trust
# store (lanca-enroll trust refresh: B is vouched for by A through
# NewWithOld) and then renews under B's issuing CA; one that has not
# refreshed renews too and verifies the gateway and its new chain with A
# alone, through the cross-certificate of the new issuing CA by A (curl,
# openssl verify); the bundle carries A, then B, and both root cross-
# certificates (OldWithNew lets openssl verify an old leaf with B alone);
# the gateway's certificate and the CRLs follow the new issuing CA, while
# the old one's CRL keeps listing its leaves at the URL they carry;
# `lanca rollover status` counts who moved; a bundle entry no trusted root
# vouches for is refused by the client; `finish` makes B the primary and
# retires A (out of the bundle, its key destroyed, NewWithOld kept), and
# devices that refresh drop A. The compromise path:
# `--to-backup` makes the offline backup root the root, revokes the old
# issuing CA (its leaves can no longer renew) and drops the old root from
# the bundle. start and finish refuse while serve runs, and a key switch
# cut short is finished by the next serve.
. "$(dirname "$0")/lib.sh"

: "${TOP_BUILDDIR:=$TOP_SRCDIR}"
ENROLL="$LANCA_ENROLL"
[ -x "$ENROLL" ] || fail "no $ENROLL"

D="$T/state"
ROOT_PEM="$D/root.pem"
printf 'Backup-root pass:phrase-3e91\n' >"$T/bpass"
chmod 600 "$T/bpass"

# fp FILE: a PEM certificate's SHA-256, lower-case hex without colons.
fp() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//' | tr -d ':' | tr 'A-F' 'a-f'
}
# certs FILE PREFIX: writes each certificate of a PEM file to PREFIX.N.pem
# (N from 1) and prints how many there were.
certs() {
	rm -f "$2".*.pem
	awk -v p="$2." '/-----BEGIN CERTIFICATE-----/ { n++; on = 1 }
		on { print > (p n ".pem") } /-----END CERTIFICATE-----/ { on = 0 }
		END { print n + 0 }' "$1"
}
# subj FILE: a certificate's subject, as openssl prints it.
subj() {
	openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject=//'
}
# regw: points every device at the daemon's new port (serve restarts on
# fresh ports; a device keeps its gateway's URL in gateway.url).
regw() {
	for g in "$T"/dev-*/gateway.url; do
		[ -f "$g" ] && printf 'https://localhost:%s\n' "$HTTPS_PORT" >"$g"
	done
	return 0
}
enroll_dev() {
	"$LANCA" press --dir "$D" >/dev/null || fail "press"
	"$ENROLL" enroll --gateway "https://localhost:$HTTPS_PORT" --id "$1" --out "$T/$1" \
		--fingerprint "$RFP" --http "$HTTP_URL" --timeout 30 >/dev/null 2>"$T/err" ||
		fail "enroll $1: $(cat "$T/err")"
}

"$LANCA" init --dir "$D" --name ro --backup-key-out "$T/bk.pem" --backup-pass-file "$T/bpass" \
	>/dev/null 2>"$T/err" || fail "init: $(cat "$T/err")"
cp "$ROOT_PEM" "$T/rootA.pem"
RFP=$(fp "$T/rootA.pem")
BFP=$(fp "$D/backup-root.pem")
start_serve "$D"
enroll_dev dev-a
enroll_dev dev-b
enroll_dev dev-c
"$ENROLL" trust refresh --dir "$T/dev-a" >/dev/null 2>"$T/err" || fail "refresh before: $(cat "$T/err")"
OLD_ISS=$(sql "SELECT id FROM cas WHERE role = 'issuing' AND state = 'active'")
C_SERIAL=$(openssl x509 -in "$T/dev-c/cert.pem" -noout -serial | sed 's/serial=//' | tr 'A-F' 'a-f')

# ---- start refuses while serve runs; then, stopped, it starts ----
st=0
"$LANCA" rollover start --dir "$D" >/dev/null 2>"$T/err" || st=$?
[ $st -ne 0 ] && grep -q "lanca serve is running" "$T/err" || fail "start while serving: $st $(cat "$T/err")"
[ "$(sql "SELECT count(*) FROM rollovers")" = 0 ] || fail "a refused start recorded a rollover"
"$LANCA" rollover status --dir "$D" | grep -q "no root rollover" || fail "status before a rollover"
stop_serve || fail "serve exit status"
"$LANCA" rollover start --dir "$D" >"$T/start.out" 2>"$T/err" || fail "rollover start: $(cat "$T/err")"
cp "$D/keys/root.pem" "$T/rootB.pem"
BRFP=$(fp "$T/rootB.pem")
[ "$BRFP" != "$RFP" ] && [ "$BRFP" != "$BFP" ] || fail "keys/root.pem is not a new root"
cmp -s "$ROOT_PEM" "$T/rootA.pem" || fail "root.pem changed before the rollover finished"
grep -qi "$(openssl x509 -in "$T/rootB.pem" -noout -fingerprint -sha256 | sed 's/.*=//')" "$T/start.out" ||
	fail "start did not print the new root's fingerprint: $(cat "$T/start.out")"
st=0
"$LANCA" rollover start --dir "$D" >/dev/null 2>"$T/err" || st=$?
[ $st -ne 0 ] && grep -q "under way already" "$T/err" || fail "a second start: $st $(cat "$T/err")"
[ ! -e "$D/.rollover" ] || fail "a staging directory was left behind"
for f in previous-issuing.key previous-issuing.pem previous-root.pem previous-root.key; do
	[ -f "$D/keys/$f" ] || fail "keys/ lacks $f"
done
[ "$(stat -c %a "$D/keys/issuing.key")" = 600 ] && [ "$(stat -c %a "$D/keys/previous-issuing.key")" = 600 ] ||
	fail "key modes"
cmp -s "$D/keys/previous-root.pem" "$T/rootA.pem" || fail "previous-root.pem is not root A"
ok "rollover start refuses while serve runs and a second time; stopped, it makes root B and keeps A's issuing CA as previous-* (0600)"

start_serve "$D"
regw
# The served bundle: A (still the primary) first, then B, the backup
# root, then the vouchers. /ca.pem is still A: new devices trust it.
ROOT_PEM="$T/rootA.pem"
tcurl -o "$T/ca.now" "$HTTPS_URL/ca.pem" || fail "GET /ca.pem"
cmp -s "$T/ca.now" "$T/rootA.pem" || fail "/ca.pem is not root A during the rollover"
tcurl -o "$T/bundle.pem" "$HTTPS_URL/trust-bundle.pem" || fail "GET /trust-bundle.pem"
n=$(certs "$T/bundle.pem" "$T/b")
[ "$(fp "$T/b.1.pem")" = "$RFP" ] && [ "$(fp "$T/b.2.pem")" = "$BRFP" ] && [ "$(fp "$T/b.3.pem")" = "$BFP" ] ||
	fail "bundle order: $(for i in 1 2 3; do fp "$T/b.$i.pem"; done)"
nwo= own=
i=4
while [ $i -le "$n" ]; do
	if [ "$(subj "$T/b.$i.pem")" = "$(subj "$T/rootB.pem")" ] &&
		openssl verify -CAfile "$T/rootA.pem" -partial_chain "$T/b.$i.pem" >/dev/null 2>&1; then
		nwo="$T/b.$i.pem"
	fi
	if [ "$(subj "$T/b.$i.pem")" = "$(subj "$T/rootA.pem")" ] &&
		openssl verify -CAfile "$T/rootB.pem" -partial_chain "$T/b.$i.pem" >/dev/null 2>&1; then
		own="$T/b.$i.pem"
	fi
	i=$((i + 1))
done
[ -n "$nwo" ] && [ -n "$own" ] || fail "the bundle lacks NewWithOld or OldWithNew ($n certificates)"
[ "$(openssl x509 -in "$nwo" -noout -pubkey)" = "$(openssl x509 -in "$T/rootB.pem" -noout -pubkey)" ] ||
	fail "NewWithOld does not carry root B's key"
[ "$(openssl x509 -in "$own" -noout -pubkey)" = "$(openssl x509 -in "$T/rootA.pem" -noout -pubkey)" ] ||
	fail "OldWithNew does not carry root A's key"
# The page shows B beside A, and /next-root.pem serves it alone.
tcurl -o "$T/page.html" "$HTTPS_URL/" || fail "GET /"
BCOLON=$(openssl x509 -in "$T/rootB.pem" -noout -fingerprint -sha256 | sed 's/.*=//')
grep -q "<div id=\"next\" >" "$T/page.html" && grep -q "$BCOLON" "$T/page.html" ||
	fail "the page does not show the next root"
tcurl -o "$T/next.pem" "$HTTP_URL/next-root.pem" || fail "GET /next-root.pem"
cmp -s "$T/next.pem" "$T/rootB.pem" || fail "/next-root.pem is not root B"
"$LANCA" status --dir "$D" | grep -q "next root:.*rollover is under way" || fail "lanca status does not show the next root"
ok "during the rollover /ca.pem is A; the bundle holds A, B and the backup root, NewWithOld (B's key under A) and OldWithNew (A's key under B); the page, /next-root.pem and lanca status show B"

# A leaf of root A verifies for a party that trusts only B, through OldWithNew.
split_chain "$T/dev-c/chain.pem"
cat "$T/dev-c/chain.pem.2.pem" "$own" >"$T/c.untrusted"
openssl verify -CAfile "$T/rootB.pem" -untrusted "$T/c.untrusted" "$T/dev-c/cert.pem" >/dev/null 2>"$T/err" ||
	fail "an old leaf does not verify under B through OldWithNew: $(cat "$T/err")"
ok "openssl verifies a leaf under root A with only root B trusted, through OldWithNew"

# The gateway now has a certificate of the new issuing CA (its key, signed
# by it), and its chain carries A's certificate of that CA: a client that
# trusts only A connects.
openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -servername localhost -showcerts </dev/null \
	>"$T/sc.out" 2>/dev/null || true
awk '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/' "$T/sc.out" >"$T/served.pem"
[ "$(certs "$T/served.pem" "$T/s")" = 2 ] || fail "the gateway serves $(certs "$T/served.pem" "$T/s") certificates"
[ "$(openssl x509 -in "$T/s.1.pem" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')" = \
	"$(subj "$D/keys/issuing.pem")" ] || fail "the gateway's certificate is not the new issuing CA's"
openssl verify -CAfile "$D/keys/issuing.pem" -partial_chain "$T/s.1.pem" >/dev/null 2>&1 ||
	fail "the gateway's certificate is not signed by the new issuing CA's key"
[ "$(subj "$T/s.2.pem")" = "$(subj "$D/keys/issuing.pem")" ] &&
	[ "$(openssl x509 -in "$T/s.2.pem" -noout -pubkey)" = "$(openssl x509 -in "$D/keys/issuing.pem" -noout -pubkey)" ] &&
	openssl verify -CAfile "$T/rootA.pem" "$T/s.2.pem" >/dev/null 2>&1 ||
	fail "the chain's CA certificate is not A's certificate of the new issuing CA"
curl -s -o /dev/null --max-time 10 --resolve "localhost:$HTTPS_PORT:127.0.0.1" --cacert "$T/rootA.pem" \
	"$HTTPS_URL/api/v1/status" || fail "curl trusting only A cannot reach the gateway"
ok "the gateway's certificate follows the new issuing CA; its chain carries A's cross-certificate of that CA, and curl trusting A alone connects"

# ---- devices move ----
"$ENROLL" trust refresh --dir "$T/dev-a" >"$T/out" 2>"$T/err" || fail "dev-a refresh: $(cat "$T/err")"
grep -q "1 new root trusted" "$T/out" || fail "dev-a refresh said: $(cat "$T/out")"
grep -q "$BRFP" "$T/dev-a/trust.pem" 2>/dev/null || [ "$(certs "$T/dev-a/trust.pem" "$T/ta")" -ge 3 ] ||
	fail "dev-a's trust.pem lacks root B"
"$ENROLL" renew --dir "$T/dev-a" >/dev/null 2>"$T/err" || fail "dev-a renew: $(cat "$T/err")"
openssl verify -CAfile "$T/rootB.pem" -untrusted "$D/keys/issuing.pem" "$T/dev-a/cert.pem" >/dev/null 2>"$T/err" ||
	fail "dev-a's renewed certificate does not verify under B: $(cat "$T/err")"
openssl verify -CAfile "$T/dev-a/trust.pem" -untrusted "$T/dev-a/chain.pem" "$T/dev-a/cert.pem" >/dev/null 2>"$T/err" ||
	fail "dev-a's renewed chain does not verify with its trust store: $(cat "$T/err")"
ok "a device that refreshed trusts B (vouched by A) and renews under B's issuing CA (openssl verifies)"

# dev-b never refreshed: root.pem is A alone.
"$ENROLL" renew --dir "$T/dev-b" >/dev/null 2>"$T/err" || fail "dev-b renew: $(cat "$T/err")"
[ ! -e "$T/dev-b/trust.pem" ] || fail "dev-b got a trust.pem"
cat "$T/dev-b/chain.pem" >"$T/b.chain"
openssl verify -CAfile "$T/rootA.pem" -untrusted "$T/b.chain" "$T/dev-b/cert.pem" >/dev/null 2>"$T/err" ||
	fail "dev-b's new certificate does not verify under A through the cross-certificate: $(cat "$T/err")"
[ "$(openssl x509 -in "$T/dev-b/cert.pem" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')" = \
	"$(subj "$D/keys/issuing.pem")" ] || fail "dev-b was not renewed under the new issuing CA"
ok "a device that never refreshed renews under B's issuing CA and verifies its chain with A alone, through the cross-certificate"

# Counted: dev-a and dev-b renewed under B; a refresh that shows its
# certificate counts (curl with dev-c's certificate, as a device would).
tcurl --cert "$T/dev-c/cert.pem" --key "$T/dev-c/key.pem" -o /dev/null "$HTTPS_URL/trust-bundle.pem" ||
	fail "mTLS bundle fetch"
"$LANCA" rollover status --dir "$D" --json >"$T/st.json" || fail "status"
python3 - "$T/st.json" <<'EOF' || fail "rollover status: $(cat "$T/st.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["state"] == "under way", s
assert s["devices"] == 3 and s["renewed"] == 2 and s["refreshed"] == 2, s
assert s["compromise"] is False, s
EOF
ok "rollover status: 3 devices, 2 renewed under the new issuing CA, 2 refreshed (lanca-enroll trust refresh and curl, each with its certificate)"

# ---- CRLs: each issuing CA's at the URL its leaves carry ----
"$LANCA" revoke --dir "$D" "$C_SERIAL" >/dev/null 2>"$T/err" || fail "revoke dev-c: $(cat "$T/err")"
old_url=$(openssl x509 -in "$T/dev-c/cert.pem" -noout -ext crlDistributionPoints | sed -n 's/.*URI://p' | tr -d ' ')
new_url=$(openssl x509 -in "$T/dev-a/cert.pem" -noout -ext crlDistributionPoints | sed -n 's/.*URI://p' | tr -d ' ')
[ -n "$old_url" ] && [ -n "$new_url" ] && [ "$old_url" != "$new_url" ] || fail "CRL URLs: '$old_url' '$new_url'"
curl -s -o "$T/old.crl" "$HTTP_URL/${old_url#http://*/}" || fail "GET the old CRL"
curl -s -o "$T/new.crl" "$HTTP_URL/${new_url#http://*/}" || fail "GET the new CRL"
openssl crl -inform der -in "$T/old.crl" -noout -CAfile "$D/keys/previous-issuing.pem" 2>&1 | grep -q "verify OK" ||
	fail "the old CRL is not signed by the old issuing CA"
openssl crl -inform der -in "$T/new.crl" -noout -CAfile "$D/keys/issuing.pem" 2>&1 | grep -q "verify OK" ||
	fail "the new CRL is not signed by the new issuing CA"
openssl crl -inform der -in "$T/old.crl" -noout -text | tr 'A-F' 'a-f' | grep -q "$C_SERIAL" ||
	fail "the old CA's CRL does not list dev-c"
openssl crl -inform der -in "$T/new.crl" -noout -text | tr 'A-F' 'a-f' | grep -q "$C_SERIAL" &&
	fail "the new CA's CRL lists an old leaf"
ok "each issuing CA signs its own CRL at the URL its leaves carry; a revoked old leaf is on the old CA's CRL"

# ---- a bundle entry nobody vouches for is refused by the client ----
# dev-b trusts A alone; a bundle holding B without NewWithOld is refused.
mkdir "$T/www"
cat "$T/b.1.pem" "$T/b.2.pem" >"$T/www/trust-bundle.pem"
WWW_PORT=$(free_port)
(cd "$T/www" && exec openssl s_server -quiet -WWW -accept "127.0.0.1:$WWW_PORT" -cert "$D/gateway.pem" \
	-key "$D/gateway.key" -cert_chain "$D/gateway.pem") >/dev/null 2>&1 &
WWW_PID=$!
i=0
while [ $i -lt 50 ] && ! curl -s -o /dev/null --resolve "localhost:$WWW_PORT:127.0.0.1" --cacert "$T/rootA.pem" \
	"https://localhost:$WWW_PORT/trust-bundle.pem"; do sleep 0.1; i=$((i + 1)); done
st=0
"$ENROLL" trust refresh --dir "$T/dev-b" --gateway "https://localhost:$WWW_PORT" >/dev/null 2>"$T/err" || st=$?
kill "$WWW_PID" 2>/dev/null; wait "$WWW_PID" 2>/dev/null || true
[ $st -ne 0 ] && grep -q "not vouched for" "$T/err" || fail "an unvouched root: $st $(cat "$T/err")"
[ ! -e "$T/dev-b/trust.pem" ] || fail "a refused bundle wrote trust.pem"
ok "a bundle whose new root no trusted root vouches for is refused whole by lanca-enroll"

# dev-b refreshes now, before the finish: it trusts B from here on.
"$ENROLL" trust refresh --dir "$T/dev-b" >/dev/null 2>"$T/err" || fail "dev-b refresh: $(cat "$T/err")"

# ---- finish ----
st=0
"$LANCA" rollover finish --dir "$D" >/dev/null 2>"$T/err" || st=$?
[ $st -ne 0 ] && grep -q "lanca serve is running" "$T/err" || fail "finish while serving: $st"
stop_serve || fail "serve exit status"
"$LANCA" rollover finish --dir "$D" >/dev/null 2>"$T/err" || fail "finish: $(cat "$T/err")"
[ ! -e "$D/keys/previous-root.key" ] || fail "the old root's key survived finish"
[ -f "$D/keys/previous-issuing.key" ] || fail "finish removed the old issuing CA's key (its CRLs need it)"
st=0
"$LANCA" rollover finish --dir "$D" >/dev/null 2>"$T/err" || st=$?
[ $st -ne 0 ] && grep -q "no root rollover is under way" "$T/err" || fail "a second finish: $st"
start_serve "$D"
regw
ROOT_PEM="$T/rootB.pem"
tcurl -o "$T/bundle2.pem" "$HTTPS_URL/trust-bundle.pem" || fail "bundle after finish"
certs "$T/bundle2.pem" "$T/f" >/dev/null
for f in "$T"/f.*.pem; do
	[ "$(fp "$f")" = "$RFP" ] && fail "root A is still in the bundle after finish"
done
found=0
for f in "$T"/f.*.pem; do cmp -s "$f" "$nwo" && found=1; done
[ $found = 1 ] || fail "NewWithOld left the bundle at finish"
"$LANCA" rollover status --dir "$D" | grep -q "finished" || fail "status after finish"
code=$(tcurl -o /dev/null -w '%{http_code}' "$HTTPS_URL/next-root.pem")
[ "$code" = 404 ] || fail "/next-root.pem after finish: $code"
tcurl -o "$T/ca.now" "$HTTPS_URL/ca.pem" || fail "GET /ca.pem after finish"
cmp -s "$T/ca.now" "$T/rootB.pem" || fail "/ca.pem is not root B after finish"
# A device that trusted A and B drops A; dev-b, which refreshed before the
# finish, too.
"$ENROLL" trust refresh --dir "$T/dev-a" >"$T/out" 2>"$T/err" || fail "dev-a refresh after finish: $(cat "$T/err")"
grep -q "$(subj "$T/rootA.pem" | sed 's/,.*//')" "$T/out" || grep -qi "drop" "$T/out" ||
	fail "dev-a's refresh did not say it dropped A: $(cat "$T/out")"
for f in $(certs "$T/dev-a/trust.pem" "$T/ta" >/dev/null; ls "$T"/ta.*.pem); do
	[ "$(fp "$f")" = "$RFP" ] && fail "dev-a still trusts A after finish"
done
"$ENROLL" renew --dir "$T/dev-b" >/dev/null 2>"$T/err" || fail "dev-b renew after finish: $(cat "$T/err")"
stop_serve || fail "serve exit status"
ok "finish retires A (out of the bundle, its key destroyed), keeps NewWithOld; devices that refresh drop A, and keep working"

# ---- a key switch cut short is finished by the next serve ----
D2="$T/state2"
"$LANCA" init --dir "$D2" --name cut >/dev/null 2>&1 || fail "init D2"
cp -a "$D2" "$T/state2.before"
"$LANCA" rollover start --dir "$D2" >/dev/null 2>"$T/err" || fail "start D2: $(cat "$T/err")"
# Put back the old keys/ and a staged copy of the new, as if the exchange
# had not happened after the commit.
mkdir "$D2/.rollover"
mv "$D2/keys" "$D2/.rollover/keys"
cp -a "$T/state2.before/keys" "$D2/keys"
start_serve "$D2"
[ ! -e "$D2/.rollover" ] || fail "serve left the staged keys"
[ "$(fp "$D2/keys/issuing.pem")" = "$(sql_in "$D2" "SELECT fingerprint FROM cas WHERE role = 'issuing' AND state = 'active'")" ] ||
	fail "serve did not finish the key switch"
stop_serve || fail "serve exit status"
ok "a key switch cut short after the commit is completed by the next serve"

# ---- the compromise path ----
D="$T/state3"
ROOT_PEM="$D/root.pem"
"$LANCA" init --dir "$D" --name cp --backup-key-out "$T/bk3.pem" --backup-pass-file "$T/bpass" \
	>/dev/null 2>"$T/err" || fail "init D3: $(cat "$T/err")"
cp "$ROOT_PEM" "$T/rootA3.pem"
cp "$D/backup-root.pem" "$T/backup3.pem"
RFP=$(fp "$T/rootA3.pem")
start_serve "$D"
enroll_dev dev-x
"$ENROLL" trust refresh --dir "$T/dev-x" >/dev/null 2>"$T/err" || fail "dev-x refresh: $(cat "$T/err")"
stop_serve || fail "serve exit status"
printf 'wrong passphrase\n' >"$T/wrong"
chmod 600 "$T/wrong"
st=0
"$LANCA" rollover start --dir "$D" --to-backup "$T/bk3.pem" --backup-pass-file "$T/wrong" >/dev/null 2>"$T/err" || st=$?
[ $st -ne 0 ] && [ "$(sql_in "$D" "SELECT count(*) FROM rollovers")" = 0 ] ||
	fail "a wrong backup passphrase: $st $(cat "$T/err")"
"$LANCA" rollover start --dir "$D" --to-backup "$T/bk3.pem" --backup-pass-file "$T/bpass" >"$T/out" 2>"$T/err" ||
	fail "start --to-backup: $(cat "$T/err")"
grep -q "compromise" "$T/out" || fail "start --to-backup said: $(cat "$T/out")"
cmp -s "$ROOT_PEM" "$T/backup3.pem" || fail "the backup root is not the root now"
[ ! -e "$D/keys/previous-issuing.key" ] && [ ! -e "$D/keys/previous-root.key" ] ||
	fail "the compromised keys were kept"
[ "$(sql_in "$D" "SELECT count(*) FROM cas WHERE revoked_at IS NOT NULL AND role = 'issuing'")" = 1 ] ||
	fail "the old issuing CA is not revoked"
start_serve "$D"
regw
tcurl -o "$T/bundle3.pem" "$HTTPS_URL/trust-bundle.pem" || fail "bundle after compromise"
[ "$(certs "$T/bundle3.pem" "$T/c")" = 1 ] && [ "$(fp "$T/c.1.pem")" = "$(fp "$T/backup3.pem")" ] ||
	fail "the bundle after a compromise: $(certs "$T/bundle3.pem" "$T/c") certificates"
# dev-x trusted A and the backup root: it reaches the gateway, drops A,
# and cannot renew with a certificate of the revoked issuing CA.
"$ENROLL" trust refresh --dir "$T/dev-x" >"$T/out" 2>"$T/err" || fail "dev-x refresh: $(cat "$T/err")"
[ "$(certs "$T/dev-x/trust.pem" "$T/x")" = 1 ] && [ "$(fp "$T/x.1.pem")" = "$(fp "$T/backup3.pem")" ] ||
	fail "dev-x still trusts: $(for f in "$T"/x.*.pem; do fp "$f"; done)"
st=0
"$ENROLL" renew --dir "$T/dev-x" >/dev/null 2>"$T/err" || st=$?
[ $st -ne 0 ] && grep -q "issuing CA was revoked" "$T/err" || fail "renewal under a revoked CA: $st $(cat "$T/err")"
# It onboards again with a press, under the same device id.
RFP=$(fp "$T/backup3.pem")
"$LANCA" press --dir "$D" >/dev/null || fail "press"
"$ENROLL" enroll --gateway "https://localhost:$HTTPS_PORT" --id dev-x --out "$T/dev-x2" \
	--fingerprint "$RFP" --http "$HTTP_URL" --timeout 30 >/dev/null 2>"$T/err" ||
	fail "dev-x onboarding again: $(cat "$T/err")"
stop_serve || fail "serve exit status"
ok "--to-backup: the backup root becomes the root, the old issuing CA is revoked and its keys gone, the old root leaves the bundle and devices drop it; old leaves cannot renew, and their devices onboard again"

# A stage the daemon's user planted: the state directory is its group's
# to write, and the store (which it owns) names the active issuing CA, so
# it can make DIR/.rollover/keys/issuing.pem look like an interrupted
# switch. Recovery must refuse it, and leave keys/ and the stage alone.
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
	chmod 755 "$T"
	D4="$T/state4"
	"$LANCA" init --dir "$D4" --name plant --user nobody >/dev/null 2>&1 || fail "init --user nobody"
	ls "$D4/keys" >"$T/keys.before"
	# The issuing CA's certificate, which nobody reads from the store it
	# owns (handed over here ready-made).
	cp "$D4/keys/issuing.pem" "$T/plant-issuing.pem" && chmod 644 "$T/plant-issuing.pem"
	setpriv --reuid nobody --regid "$(id -g nobody)" --clear-groups sh -c '
		umask 0; mkdir -p "$1/.rollover/keys" && cp "$2" "$1/.rollover/keys/issuing.pem"' \
		sh "$D4" "$T/plant-issuing.pem" ||
		fail "nobody could not plant a stage"
	st=0
	timeout 30 "$LANCA" serve --dir "$D4" --user nobody --https "127.0.0.1:$(free_port)" \
		--http "127.0.0.1:$(free_port)" --web-dir "$TOP_SRCDIR/web" >"$T/plant.log" 2>&1 || st=$?
	[ $st = 1 ] || fail "serve over a planted stage: exit $st $(cat "$T/plant.log")"
	grep -q "is not a directory of uid 0 that only it may write" "$T/plant.log" ||
		fail "no clear refusal of a planted stage: $(cat "$T/plant.log")"
	ls "$D4/keys" | cmp -s - "$T/keys.before" || fail "keys/ changed: $(ls "$D4/keys")"
	[ -f "$D4/keys/issuing.key" ] && [ -f "$D4/keys/root.key" ] || fail "a CA key is gone"
	[ -f "$D4/.rollover/keys/issuing.pem" ] || fail "the planted stage was touched"
	ok "a stage the daemon's user planted is refused: keys/ and the stage stay as they were"
fi
