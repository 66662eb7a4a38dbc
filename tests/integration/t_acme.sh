#!/bin/sh
# t_acme.sh - the ACME door (RFC 8555) with the unmodified clients of
# Debian 12: certbot 2.1, lego 4.9, uacme 1.7 and dehydrated 0.7 each
# obtain, renew and revoke a certificate. The daemon runs in a network
# namespace of the test's own and each client in another, joined by a
# veth pair with private addresses (lib.sh, netns_pair): the daemon
# validates every challenge by connecting from the gateway to the name
# the client asked for, on the real ports 80 and 443.
#
# Each client comes in by one of the ways an account is approved: certbot
# and dehydrated by the admin (`lanca acme approve`), lego with an EAB key
# (`lanca acme eab new`), uacme during a button press. Names follow the
# device ownership rule: a name one account holds is refused to another.
# The protocol's refusals one by one are t_acme_proto.sh's.
# On PostgreSQL (make check-postgresql) the daemon, in a network namespace
# of its own, reaches the test's database over its Unix socket (pg.sh).
PG_URL_VIA=socket
export PG_URL_VIA
. "$(dirname "$0")/lib.sh"

netns_pair
D="$T/state"
"$LANCA" init --dir "$D" --name acme --san "$GW_IP" --domain site.example >"$T/init.log" 2>&1 ||
	fail "init: $(cat "$T/init.log")"
start_serve_netns "$D"
netns_hosts "$GW_NS" "$CL_IP nas.home.arpa dh.home.arpa lego.home.arpa uacme.home.arpa" \
	"$GW_IP gone.home.arpa"

# The account's JSON field of `lanca acme accounts --json`, by position.
account() {
	"$LANCA" acme accounts --dir "$D" --json |
		python3 -c 'import json,sys; a=json.load(sys.stdin); print(a[int(sys.argv[1])][sys.argv[2]])' "$1" "$2"
}
# Every certificate as "serial device_id status", one a line.
certs() {
	"$LANCA" list --dir "$D" --json --limit 100 | python3 -c 'import json,sys
for c in json.load(sys.stdin)["items"]: print(c["serial"], c["device_id"], c["status"])'
}
# The serial of a PEM certificate file, in lanca's hex.
serial_of() {
	openssl x509 -in "$1" -noout -serial | sed 's/^serial=//' | tr 'A-F' 'a-f'
}
# The status `lanca list` gives serial.
status_of() {
	certs | awk -v s="$1" '{ a = $1; b = s; sub(/^0+/, "", a); sub(/^0+/, "", b) }
		a == b { print $3; found = 1 } END { if (!found) print "absent" }'
}
# Whether the CRL the daemon serves lists serial.
crl_lists() {
	in_cl curl -s --max-time 10 -o "$T/crl.der" "$HTTP_URL/crl" &&
		openssl crl -inform DER -in "$T/crl.der" -noout -text |
		tr -d ' :\n' | tr '[:upper:]' '[:lower:]' | grep -q "serialnumber0*$(echo "$1" | sed 's/^0*//')"
}
verify_leaf() {
	openssl verify -CAfile "$D/root.pem" -untrusted "$2" "$1" >"$T/verify.out" 2>&1 ||
		fail "$1 does not verify: $(cat "$T/verify.out")"
}
certbot_error() {
	grep -h 'acme.messages.Error' "$T/certbot/logs/letsencrypt.log" 2>/dev/null | tail -1
}

# ---- certbot: the admin approves ----
acme_certbot certonly --standalone -d nas.home.arpa >"$T/cb1.out" 2>&1 &&
	fail "certbot got a certificate with an account nobody approved"
certbot_error | grep -q "urn:ietf:params:acme:error:unauthorized.*waits for an admin's approval" ||
	fail "an unapproved account's order was not refused as unauthorized: $(certbot_error)"
[ "$(account 0 approved)" = waiting ] || fail "the new account is not listed as waiting"
[ "$(certs | grep -c acme-)" = 0 ] || fail "something was issued to an unapproved account"
CB_ID=$(account 0 id)
"$LANCA" acme approve --dir "$D" "$CB_ID" >"$T/approve.out" 2>&1 || fail "approve: $(cat "$T/approve.out")"
"$LANCA" acme approve --dir "$D" "$CB_ID" >"$T/approve2.out" 2>&1 &&
	fail "an account was approved twice"
[ "$(account 0 approved)" = admin ] || fail "the approved account is not listed as the admin's"
ok "certbot: an unapproved account's order is refused (unauthorized), lanca acme approve lets it order"

acme_certbot certonly --standalone -d nas.home.arpa >"$T/cb2.out" 2>&1 ||
	fail "certbot certonly: $(certbot_error) $(tail -3 "$T/cb2.out")"
live="$T/certbot/config/live/nas.home.arpa"
verify_leaf "$live/cert.pem" "$live/chain.pem"
openssl x509 -in "$live/cert.pem" -noout -ext subjectAltName | grep -q "DNS:nas.home.arpa" ||
	fail "certbot's certificate does not name nas.home.arpa"
CB1=$(serial_of "$live/cert.pem")
certs | grep -q "$CB1 acme-$CB_ID valid" ||
	fail "the certificate is not recorded for the account acme-$CB_ID"
grep -q "GET /.well-known/acme-challenge/" "$T/certbot/logs/letsencrypt.log" ||
	grep -q "$GW_IP" "$T/certbot/logs/letsencrypt.log" ||
	fail "certbot's log shows no validation request from the gateway"
ok "certbot (RS256 account, empty-subject CSR): http-01 validated from the gateway, the chain verifies, recorded for its account"

# An ACME certificate is renewed by a new order, never through a device
# door: the names of the renewal would be proven by nobody.
openssl req -new -key "$live/privkey.pem" -subj "/CN=acme-$CB_ID" \
	-addext "subjectAltName=DNS:never-proven.home.arpa" -out "$T/renew.csr" 2>/dev/null ||
	fail "making the renewal request"
st=$(in_cl curl -s --max-time 10 --cacert "$D/root.pem" --cert "$live/cert.pem" --key "$live/privkey.pem" \
	-H 'Content-Type: application/x-pem-file' --data-binary @"$T/renew.csr" -o "$T/renew.out" \
	-w '%{http_code}' "$HTTPS_URL/api/v1/renew")
[ "$st" = 400 ] && grep -q "is an ACME account's" "$T/renew.out" ||
	fail "an ACME certificate renewed through /api/v1/renew: $st $(cat "$T/renew.out")"
[ "$(certs | grep -c acme-)" = 1 ] || fail "something was issued by the renewal"
ok "an ACME certificate is not renewed through the device API (an account's device id is no device's)"

acme_certbot certonly --standalone -d www.example.com >"$T/cb3.out" 2>&1 &&
	fail "certbot got a name outside the policy"
certbot_error | grep -q "rejectedIdentifier.*www.example.com" ||
	fail "a name outside the policy was not a rejectedIdentifier: $(certbot_error)"
ok "certbot: a name outside the policy is a rejectedIdentifier naming it"

acme_certbot renew --force-renewal --no-random-sleep-on-renew >"$T/cb4.out" 2>&1 ||
	fail "certbot renew: $(certbot_error) $(tail -3 "$T/cb4.out")"
CB2=$(serial_of "$live/cert.pem")
[ "$CB2" != "$CB1" ] || fail "certbot renew kept the old certificate"
verify_leaf "$live/cert.pem" "$live/chain.pem"
ok "certbot renew: a new certificate"

# ---- lego: an EAB key, then tls-alpn-01; the ownership rule ----
"$LANCA" acme eab new --dir "$D" --json >"$T/eab.json" 2>"$T/eab.err" || fail "eab new: $(cat "$T/eab.err")"
KID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kid"])' "$T/eab.json")
HMAC=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["hmac_key"])' "$T/eab.json")
[ "$(stat -c %a "$D/acme-eab.secret")" = 600 ] || fail "the EAB secret is not 0600"
grep -q "$HMAC" "$D/lanca.db" "$D"/lanca.db-wal 2>/dev/null && fail "the EAB MAC key is in the database"
store_dump "$D" | grep -q "$HMAC" && fail "the EAB MAC key is in the store"
acme_lego --eab --kid "$KID" --hmac "$HMAC" -d nas.home.arpa --http --http.port "$CL_IP:80" run \
	>"$T/lego0.out" 2>&1 && fail "lego got nas.home.arpa, which certbot's account holds"
grep -q "nas.home.arpa is held by device acme-$CB_ID" "$T/lego0.out" ||
	fail "a name another account holds was not refused as that account's: $(tail -2 "$T/lego0.out")"
[ "$(account 1 approved)" = eab ] || fail "lego's account is not listed as bound to an EAB key"
ok "lego: the EAB-bound account is approved at once; a name certbot's account holds is refused to it"

acme_lego -d lego.home.arpa --http --http.port "$CL_IP:80" run >"$T/lego1.out" 2>&1 ||
	fail "lego run: $(tail -3 "$T/lego1.out")"
verify_leaf "$T/lego/certificates/lego.home.arpa.crt" "$T/lego/certificates/lego.home.arpa.issuer.crt"
LG1=$(serial_of "$T/lego/certificates/lego.home.arpa.crt")
acme_lego -d lego.home.arpa --tls --tls.port "$CL_IP:443" renew --days 100000 --no-random-sleep \
	>"$T/lego2.out" 2>&1 || fail "lego renew over tls-alpn-01: $(tail -3 "$T/lego2.out")"
grep -q "tls-alpn-01" "$T/lego2.out" || fail "lego did not use tls-alpn-01"
LG2=$(serial_of "$T/lego/certificates/lego.home.arpa.crt")
[ "$LG2" != "$LG1" ] || fail "lego renew kept the old certificate"
verify_leaf "$T/lego/certificates/lego.home.arpa.crt" "$T/lego/certificates/lego.home.arpa.issuer.crt"
ok "lego (ES256 account): http-01, then a renewal over tls-alpn-01 (RFC 8737)"

# ---- uacme: made during a press, an address by RFC 8738 ----
start_webroot "$T/www"
"$LANCA" press --dir "$D" >"$T/press.out" 2>&1 || fail "press: $(cat "$T/press.out")"
acme_uacme new >"$T/uacme0.out" 2>&1 || fail "uacme new: $(tail -3 "$T/uacme0.out")"
[ "$(account 2 approved)" = window ] || fail "uacme's account made during the press is not approved by it"
acme_uacme issue uacme.home.arpa >"$T/uacme1.out" 2>&1 || fail "uacme issue: $(tail -5 "$T/uacme1.out")"
UA="$T/uacme/uacme.home.arpa/cert.pem"
split_chain "$UA"
verify_leaf "$UA.1.pem" "$UA.2.pem"
grep -q "$GW_IP .*GET /.well-known/acme-challenge/" "$T/web-80.log" ||
	fail "the client's web server saw no validation from the gateway"
acme_uacme issue "$CL_IP" >"$T/uacme2.out" 2>&1 || fail "uacme issue $CL_IP: $(tail -5 "$T/uacme2.out")"
UAIP="$T/uacme/$CL_IP/cert.pem"
split_chain "$UAIP"
verify_leaf "$UAIP.1.pem" "$UAIP.2.pem"
openssl x509 -in "$UAIP.1.pem" -noout -ext subjectAltName | grep -q "IP Address:$CL_IP" ||
	fail "the address certificate does not carry IP:$CL_IP"
openssl x509 -in "$UAIP.1.pem" -noout -subject | grep -q "CN" &&
	fail "an address certificate has a CN (GnuTLS would check it as a DNS name)"
# GnuTLS, which checks name constraints on the CN too, takes it.
certtool --verify --load-ca-certificate "$D/root.pem" --infile "$T/uacme/$CL_IP/cert.pem" \
	>"$T/certtool.out" 2>&1 || fail "GnuTLS refuses the address certificate: $(tail -3 "$T/certtool.out")"
ok "uacme (RS256): approved by a press; a name, and an ip identifier (RFC 8738) with an empty subject that GnuTLS verifies"

bg_stop "$WEB_PID"
start_ualpn
ACME_CHALLENGE=tls-alpn-01 acme_uacme -f issue "$CL_IP" >"$T/uacme3.out" 2>&1 ||
	fail "uacme tls-alpn-01 for $CL_IP: $(tail -5 "$T/uacme3.out")"
grep -q "tls-alpn-01" "$T/uacme3.out" || fail "uacme did not use tls-alpn-01"
ok "uacme: an address validated over tls-alpn-01 (reverse-DNS SNI, RFC 8738 section 6)"
bg_stop "$UALPN_PID"

# dns-01: only for a name below a site domain (lanca init --domain), whose
# zone can prove it; the gateway asks its DNS server (the client's stub).
start_dnsstub "$T/dns"
ACME_CHALLENGE=dns-01 acme_uacme issue srv.site.example >"$T/uacme5.out" 2>&1 ||
	fail "uacme dns-01 for srv.site.example: $(tail -5 "$T/uacme5.out")"
split_chain "$T/uacme/srv.site.example/cert.pem"
verify_leaf "$T/uacme/srv.site.example/cert.pem.1.pem" "$T/uacme/srv.site.example/cert.pem.2.pem"
grep -q "^$GW_IP _acme-challenge.srv.site.example 16 0" "$T/dns.log" ||
	fail "the gateway did not ask the TXT record: $(cat "$T/dns.log")"
ACME_CHALLENGE=dns-01 acme_uacme issue uacme2.home.arpa >"$T/uacme6.out" 2>&1 &&
	fail "dns-01 was offered for a name under home.arpa"
[ "$(sql "SELECT count(*) FROM acme_authz WHERE value = 'uacme2.home.arpa' AND chall <> ''")" = 0 ] ||
	fail "a challenge was tried for uacme2.home.arpa"
bg_stop "$DNS_PID"
ok "uacme: dns-01 for a site domain's name, validated by the gateway's TXT query; not offered under home.arpa"

# ---- dehydrated: the admin approves; failure; renewal; revocation ----
start_webroot "$T/www2"
acme_dehydrated --register --accept-terms >"$T/dh0.out" 2>&1 || fail "dehydrated register: $(tail -3 "$T/dh0.out")"
DH_ID=$(account 3 id)
"$LANCA" acme approve --dir "$D" "$DH_ID" >/dev/null 2>&1 || fail "approving dehydrated's account"
n_before=$(certs | grep -c acme-)
acme_dehydrated -c -d gone.home.arpa >"$T/dh1.out" 2>&1 && fail "dehydrated got a name whose challenge failed"
[ "$(sql "SELECT status FROM acme_authz WHERE value = 'gone.home.arpa'")" = invalid ] ||
	fail "the failed challenge's authorization is not invalid"
sql "SELECT error FROM acme_authz WHERE value = 'gone.home.arpa'" |
	grep -q "incorrectResponse.*http://gone.home.arpa/.well-known/acme-challenge/" ||
	fail "the failed challenge's error does not name its URL"
[ "$(certs | grep -c acme-)" = "$n_before" ] || fail "a certificate came of a failed challenge"
ok "dehydrated: a challenge that fails (nothing answers) leaves the authorization invalid, naming the URL, and nothing issued"

acme_dehydrated -c -d dh.home.arpa >"$T/dh2.out" 2>&1 || fail "dehydrated -c: $(tail -5 "$T/dh2.out")"
verify_leaf "$T/dehydrated/certs/dh.home.arpa/cert.pem" "$T/dehydrated/certs/dh.home.arpa/chain.pem"
DH1=$(serial_of "$T/dehydrated/certs/dh.home.arpa/cert.pem")
acme_dehydrated -c -d dh.home.arpa -x >"$T/dh3.out" 2>&1 || fail "dehydrated -x: $(tail -5 "$T/dh3.out")"
DH2=$(serial_of "$T/dehydrated/certs/dh.home.arpa/cert.pem")
[ "$DH2" != "$DH1" ] || fail "dehydrated's renewal kept the old certificate"
ok "dehydrated (RS256, P-384 key): issue and renew"

# ---- revocation by each client ----
acme_dehydrated -r "$T/dehydrated/certs/dh.home.arpa/cert.pem" >"$T/dh4.out" 2>&1 ||
	fail "dehydrated -r: $(tail -3 "$T/dh4.out")"
acme_certbot revoke --cert-name nas.home.arpa --no-delete-after-revoke >"$T/cb5.out" 2>&1 ||
	fail "certbot revoke: $(certbot_error) $(tail -3 "$T/cb5.out")"
acme_lego -d lego.home.arpa revoke --keep >"$T/lego3.out" 2>&1 || fail "lego revoke: $(tail -3 "$T/lego3.out")"
acme_uacme revoke "$T/uacme/uacme.home.arpa/cert.pem" >"$T/uacme4.out" 2>&1 ||
	fail "uacme revoke: $(tail -3 "$T/uacme4.out")"
for s in "$DH2" "$CB2" "$LG2" "$(serial_of "$UA.1.pem")"; do
	[ "$(status_of "$s")" = revoked ] || fail "certificate $s is $(status_of "$s"), not revoked"
	crl_lists "$s" || fail "the CRL does not list $s"
done
[ "$(status_of "$CB1")" = valid ] || fail "certbot's first certificate was revoked with its renewal's"
ok "certbot, lego, uacme and dehydrated each revoke their certificate: revoked in the store and listed by the CRL"

# The name certbot's account held is free once its certificates are
# revoked: lego may have it now only after both went.
bg_stop "$WEB_PID"		# lego binds port 80 itself
acme_certbot revoke --cert-path "$live/../../archive/nas.home.arpa/cert1.pem" --no-delete-after-revoke \
	>"$T/cb6.out" 2>&1 || fail "certbot revoke of the first certificate: $(certbot_error)"
acme_lego -d nas.home.arpa --http --http.port "$CL_IP:80" run >"$T/lego4.out" 2>&1 ||
	fail "lego could not have nas.home.arpa once certbot's certificates were revoked: $(tail -3 "$T/lego4.out")"
ok "a name is another account's once the account that held it has no valid certificate for it"

TOKEN=$("$LANCA" metrics token --dir "$D") || fail "metrics token"
in_cl curl -s --max-time 10 --cacert "$D/root.pem" -H "Authorization: Bearer $TOKEN" \
	-o "$T/metrics.txt" "$HTTPS_URL/metrics" || fail "GET /metrics"
metric() {
	awk -v m="$1" '$1 == m { print $2 }' "$T/metrics.txt"
}
[ "$(metric 'lanca_acme_validations_total{challenge="http-01",result="invalid"}')" = 1 ] &&
	[ "$(metric 'lanca_acme_validations_total{challenge="dns-01",result="valid"}')" = 1 ] &&
	[ "$(metric 'lanca_acme_validations_total{challenge="http-01",result="valid"}')" -ge 7 ] &&
	[ "$(metric 'lanca_acme_validations_total{challenge="tls-alpn-01",result="valid"}')" = 2 ] &&
	[ "$(metric 'lanca_acme_finalizations_total{result="issued"}')" -ge 10 ] &&
	[ "$(metric 'lanca_acme_finalizations_total{result="refused"}')" = 1 ] &&
	[ "$(metric lanca_acme_accounts_waiting)" = 0 ] ||
	fail "the ACME metrics: $(grep lanca_acme "$T/metrics.txt")"
ok "GET /metrics counts the validations by challenge and result, the finalizations, and no account waiting"

# --acme-insecure-ports, for tests only: the same validations on other
# ports, with a warning at the start.
stop_serve || fail "lanca serve did not stop cleanly"
start_serve_netns "$D" --acme-insecure-ports 5002,5001
grep -q "ACME challenges are validated on ports 5002 and 5001, not 80 and 443: for tests only" \
	"$T/serve.log" || fail "no warning for --acme-insecure-ports: $(cat "$T/serve.log")"
acme_lego -d lego.home.arpa --http --http.port "$CL_IP:5002" renew --days 100000 --no-random-sleep \
	>"$T/lego5.out" 2>&1 || fail "lego over http-01 on port 5002: $(tail -3 "$T/lego5.out")"
acme_lego -d lego.home.arpa --tls --tls.port "$CL_IP:5001" renew --days 100000 --no-random-sleep \
	>"$T/lego6.out" 2>&1 || fail "lego over tls-alpn-01 on port 5001: $(tail -3 "$T/lego6.out")"
"$LANCA" serve --acme-insecure-ports 80 >"$T/ports.out" 2>&1 && fail "--acme-insecure-ports 80 was taken"
grep -q "two ports" "$T/ports.out" || fail "--acme-insecure-ports 80: $(cat "$T/ports.out")"
ok "--acme-insecure-ports (tests only) validates http-01 and tls-alpn-01 on the ports given, with a warning"

# Under `init --user`, the EAB secret the CLI (root) makes is the daemon's
# user's, as the store is.
"$LANCA" init --dir "$T/u" --name acmeu --user nobody >"$T/initu.log" 2>&1 || fail "init --user: $(cat "$T/initu.log")"
"$LANCA" acme eab new --dir "$T/u" >/dev/null 2>&1 || fail "eab new under --user"
[ "$(stat -c '%U %a' "$T/u/acme-eab.secret")" = "$(stat -c '%U' "$(store_file "$T/u")") 600" ] ||
	fail "the EAB secret under --user: $(stat -c '%U:%G %a' "$T/u/acme-eab.secret" "$(store_file "$T/u")")"
ok "the EAB secret is 0600 and the daemon's user's, as the store is"

"$LANCA" audit verify --dir "$D" >"$T/audit.out" 2>&1 || fail "audit verify: $(cat "$T/audit.out")"
for ev in acme-account acme-approve acme-order acme-validate acme-eab-new; do
	[ "$(sql "SELECT count(*) FROM audit WHERE event = '$ev'")" -gt 0 ] ||
		fail "no $ev audit row"
done
ok "the audit log holds the accounts, approvals, EAB key, orders and validations, and verifies"
