#!/bin/sh
# t_pg_join_ca.sh - a gateway joining a site with an issuing CA of its own
# (issue 16): `lanca join --site-root-key` makes a new issuing key in the
# new gateway's keys/ and has the site's root sign it, and refuses a key
# that is not the root's; each gateway then issues under its own CA, the
# other gateways' devices renew through it (their certificates accepted
# as the site's), a certificate approved through one gateway is fetched
# through another with its own issuer's chain, every gateway serves every
# issuing CA's CRL, a revocation through one reaches the other's CRL, an
# ACME EAB key works through any gateway holding the secret that made it
# (once for the site), a root rollover is refused on a site of several
# gateways, and `lanca gateway remove` takes one out for good.
#
# Both daemons run on this machine with the test's own PostgreSQL server
# (pg.sh), whatever LANCA_TEST_STORE says.
. "$(dirname "$0")/lib.sh"

pg_skip_unless_available
pg_start site || fail "starting PostgreSQL"
URL=$(pg_url site) || fail "pg_url"
A="$T/gw-a"
B="$T/gw-b"
"$LANCA" init --dir "$A" --name site --store "$URL" >"$T/out" 2>&1 || fail "init: $(cat "$T/out")"
ROOT_PEM="$A/root.pem"

# ---- what join refuses leaves nothing behind ----
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/stranger.key" 2>/dev/null
st=0
"$LANCA" join --dir "$T/x1" --store "$URL" --name gw-x --site-root-key "$T/stranger.key" \
	>"$T/join.out" 2>&1 || st=$?
[ $st = 1 ] && grep -q "is not the site root's key" "$T/join.out" && [ ! -e "$T/x1" ] ||
	fail "a key that is not the root's: exit $st, $(cat "$T/join.out")"
st=0
"$LANCA" join --dir "$T/x2" --store "$URL" --name gw-x --site-root-key "$A/keys/issuing.key" \
	>"$T/join.out" 2>&1 || st=$?
[ $st = 1 ] && grep -q "is not the site root's key" "$T/join.out" && [ ! -e "$T/x2" ] ||
	fail "the issuing CA's key for the root's: exit $st, $(cat "$T/join.out")"
st=0
"$LANCA" join --dir "$T/x3" --store "$URL" --name gw-x --site-root-key "$A/keys/root.key" \
	--issuing-key "pkcs11:object=x" >"$T/join.out" 2>&1 || st=$?
[ $st = 2 ] && [ ! -e "$T/x3" ] || fail "both ways at once: exit $st, $(cat "$T/join.out")"
st=0
"$LANCA" join --dir "$T/x5" --store "$URL" --name gw-x --san 8.8.8.8 \
	--site-root-key "$A/keys/root.key" >"$T/join.out" 2>&1 || st=$?
[ $st = 1 ] && grep -q "8.8.8.8" "$T/join.out" && [ ! -e "$T/x5" ] ||
	fail "a name outside the site's policy: exit $st, $(cat "$T/join.out")"
[ "$(sql_in "$A" "SELECT count(*) FROM cas WHERE gateway IS NOT NULL")" = 0 ] ||
	fail "a refused join recorded a CA"
st=0
"$LANCA" join --dir "$T/x6" --store "$URL" --name gw-x --crl-url "http://gw/crl/a b" \
	--site-root-key "$A/keys/root.key" >"$T/join.out" 2>&1 || st=$?
[ $st = 1 ] && grep -q "CRL URL" "$T/join.out" && [ ! -e "$T/x6" ] ||
	fail "a CRL URL the signer refuses: exit $st, $(cat "$T/join.out")"
[ "$(sql_in "$A" "SELECT count(*) FROM cas WHERE gateway IS NOT NULL")" = 0 ] ||
	fail "a refused join recorded a CA"
ok "join --site-root-key refuses a key that is not the site root's, both ways at once, a name outside the site's policy, a bad CRL URL: no CA made"

# A join that fails after its CA is recorded (every rename(2) failing,
# libfiu: the first is keys/'s files, after the CA) retires that CA, claims
# no name, leaves no directory; the same name joins afterwards.
if command -v fiu-run >/dev/null 2>&1 && fiu-run -x true 2>/dev/null; then
	# fiu-run's own preload libraries (its dry run names them), after a
	# sanitizer build's runtime, which must come first.
	fiu=$(fiu-run -x -n -f "$T/fiu" true | sed -n 's/^LD_PRELOAD="\(.*\)" \\$/\1/p')
	[ -n "$fiu" ] || fail "fiu-run's dry run names no preload library"
	san=$(ldd "$LANCA_BIN" | awk '/lib(asan|ubsan)\.so/ { printf "%s ", $3 }')
	st=0
	# (libfiu's preload keeps a string to its end: no leak report on it.)
	FIU_ENABLE="enable name=posix/io/dir/rename" FIU_CTRL_FIFO="$T/fiu" \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		LD_PRELOAD="$san$fiu" "$LANCA_BIN" join --dir "$B" --store "$URL" --name gw-b \
		--site-root-key "$A/keys/root.key" >"$T/join.out" 2>&1 || st=$?
	[ $st = 1 ] && [ ! -e "$B" ] && ! ls -d "$B".join-* >/dev/null 2>&1 ||
		fail "a join failing after its CA: exit $st, $(cat "$T/join.out")"
	[ "$(sql_in "$A" "SELECT state FROM cas WHERE gateway = 'gw-b'")" = retired ] &&
		[ "$(sql_in "$A" "SELECT count(*) FROM audit WHERE event = 'gateway-ca-retire'")" = 1 ] &&
		[ "$(sql_in "$A" "SELECT count(*) FROM settings WHERE key = 'gateway:gw-b'")" = 0 ] ||
		fail "the failed join's CA: $(sql_in "$A" "SELECT id, state FROM cas WHERE gateway = 'gw-b'")"
	ok "a join failing after its CA is recorded retires it (audited), claims no name, leaves no directory"
else
	echo "# fiu-run (fiu-utils) is not installed: a join failing half-way is not checked"
fi

# ---- the join ----
"$LANCA" join --dir "$B" --store "$URL" --name gw-b --san 127.0.0.2 \
	--site-root-key "$A/keys/root.key" >"$T/join.out" 2>&1 || fail "join: $(cat "$T/join.out")"
[ -f "$B/keys/issuing.key" ] && [ ! -e "$B/keys/root.key" ] &&
	[ "$(stat -c %a "$B/keys/issuing.key")" = 600 ] ||
	fail "B's keys: $(ls -la "$B/keys")"
! cmp -s "$A/keys/issuing.pem" "$B/keys/issuing.pem" || fail "B has the site's issuing CA"
cmp -s "$A/root.pem" "$B/root.pem" || fail "B has another root"
pub() { openssl pkey -in "$1" -pubout 2>/dev/null; }
[ "$(pub "$B/keys/issuing.key")" != "$(pub "$A/keys/issuing.key")" ] ||
	fail "B's issuing key is the site's"
[ "$(openssl x509 -in "$B/keys/issuing.pem" -pubkey -noout)" = "$(pub "$B/keys/issuing.key")" ] ||
	fail "B's issuing certificate is not its key's"
openssl verify -CAfile "$ROOT_PEM" "$B/keys/issuing.pem" >/dev/null 2>&1 ||
	fail "B's issuing CA does not verify under the site's root"
openssl x509 -in "$B/keys/issuing.pem" -noout -ext nameConstraints >"$T/b.nc" 2>&1
openssl x509 -in "$A/keys/issuing.pem" -noout -ext nameConstraints >"$T/a.nc" 2>&1
grep -q critical "$T/b.nc" && cmp -s "$T/a.nc" "$T/b.nc" ||
	fail "B's CA has other name constraints: $(cat "$T/b.nc")"
openssl x509 -in "$B/keys/issuing.pem" -noout -ext basicConstraints | grep -q "pathlen:0" ||
	fail "B's CA may sign CAs"
B_FP=$(openssl x509 -in "$B/keys/issuing.pem" -outform DER | sha256sum | cut -c1-16)
B_CRL=$(sql_in "$A" "SELECT crl_url FROM cas WHERE gateway = 'gw-b' AND state = 'active'")
A_CRL=$(sql_in "$A" "SELECT crl_url FROM cas WHERE role = 'issuing' AND gateway IS NULL")
[ "$B_CRL" = "${A_CRL}/$B_FP" ] || fail "B's CRL URL $B_CRL (the site's $A_CRL, B's CA $B_FP)"
grep -q "^crl_url = $B_CRL\$" "$B/keys/signer.conf" || fail "B's signer: $(cat "$B/keys/signer.conf")"
# B's TLS certificate is its own CA's.
split_chain "$B/gateway.pem"
cmp -s "$B/gateway.pem.2.pem" "$B/keys/issuing.pem" &&
	openssl verify -CAfile "$ROOT_PEM" -untrusted "$B/gateway.pem.2.pem" "$B/gateway.pem.1.pem" \
	>/dev/null 2>&1 || fail "B's TLS chain is not under its own CA"
[ "$(sql_in "$A" "SELECT count(*) FROM audit WHERE event = 'gateway-ca' AND subject = 'gw-b'")" = 2 ] &&
	[ "$(sql_in "$A" "SELECT count(*) FROM audit WHERE event = 'join' AND subject = 'gw-b'")" = 1 ] ||
	fail "the join and its CA are not audited"
st=0
"$LANCA" join --dir "$T/x4" --store "$URL" --name gw-b --site-root-key "$A/keys/root.key" \
	>"$T/join.out" 2>&1 || st=$?
[ $st = 1 ] && grep -q "has joined the site already" "$T/join.out" && [ ! -e "$T/x4" ] &&
	[ "$(sql_in "$A" "SELECT count(*) FROM cas WHERE gateway = 'gw-b' AND state = 'active'")" = 1 ] ||
	fail "a name taken: exit $st, $(cat "$T/join.out")"
ok "join --site-root-key: a new issuing key kept in B's keys (0600, no root key), its CA under the site root with the site's constraints, its own CRL URL, B's TLS certificate under it, audited"

start_gw "$A" A --monitor 2
start_gw "$B" B --monitor 2
# chain_ca FILE: the issuing CA a PEM chain carries, as PEM.
chain_ca() {
	split_chain "$1"
	openssl x509 -in "$1.2.pem"
}

# 1. A device admitted through B is issued under B's CA; one signed on A
#    under A's.
"$LANCA" press --dir "$A" >"$T/out" 2>&1 || fail "press: $(cat "$T/out")"
make_csr x dev-x "DNS:dev-x.local"
st=$(post_to "$B_PORT" x); [ "$st" = 201 ] || fail "enroll through B: $st $(cat "$T/x.resp")"
verify_chain "$T/x.resp" || fail "B's chain does not verify under the site root"
[ "$(chain_ca "$T/x.resp")" = "$(openssl x509 -in "$B/keys/issuing.pem")" ] ||
	fail "the device through B is not under B's CA"
openssl x509 -in "$T/x.resp.1.pem" -noout -ext crlDistributionPoints | grep -q "$B_CRL" ||
	fail "B's leaf does not name B's CRL"
make_csr y dev-y "DNS:dev-y.local"
"$LANCA" sign --dir "$A" "$T/y.csr" >"$T/y.resp" 2>"$T/out" || fail "sign on A: $(cat "$T/out")"
[ "$(chain_ca "$T/y.resp")" = "$(openssl x509 -in "$A/keys/issuing.pem")" ] &&
	verify_chain "$T/y.resp" || fail "A's chain"
ok "each gateway issues under its own CA, both verify under the site's root"

# 2. A request waiting on B, approved through A, is fetched through B
#    with the chain of the CA that signed it (A's).
sleep 3
make_csr z dev-z "DNS:dev-z.local"
st=$(post_to "$B_PORT" z); [ "$st" = 202 ] || fail "a request through B outside a window: $st"
"$LANCA" approve --dir "$A" "$(req_id z)" >"$T/out" 2>&1 || fail "approve on A: $(cat "$T/out")"
HTTPS_PORT=$B_PORT
st=$(poll z); [ "$st" = 200 ] || fail "polling through B: $st $(cat "$T/z.poll")"
[ "$(chain_ca "$T/z.poll")" = "$(openssl x509 -in "$A/keys/issuing.pem")" ] &&
	verify_chain "$T/z.poll" || fail "B served A's certificate with another CA's chain"
# EST answers carry the leaf alone: B's /cacerts lists A's CA too, so an
# EST client whose certificate A's CA signed builds its chain from it.
curl -s --max-time 10 --resolve "localhost:$B_PORT:127.0.0.1" --cacert "$ROOT_PEM" \
	"https://localhost:$B_PORT/.well-known/est/cacerts" | openssl base64 -d 2>/dev/null |
	openssl pkcs7 -inform DER -print_certs -out "$T/cacerts.pem" 2>/dev/null ||
	fail "B's EST /cacerts"
split_chain "$T/z.poll"
openssl verify -CAfile "$ROOT_PEM" -untrusted "$T/cacerts.pem" "$T/z.poll.1.pem" >/dev/null 2>&1 &&
	grep -c "BEGIN CERTIFICATE" "$T/cacerts.pem" | grep -qx 3 ||
	fail "A's certificate does not chain with B's /cacerts: $(grep -c 'BEGIN CERTIFICATE' "$T/cacerts.pem") certificates"
ok "a certificate approved through A and fetched through B comes with A's CA in its chain, and B's EST /cacerts lists A's CA"

# 3. Renewals across gateways: B's device through A, A's device through B.
renew_at() {
	port=$1 n=$2 cert=$3 key=$4
	make_csr "$n" "$5" "DNS:$5.local"
	openssl req -in "$T/$n.csr" -outform der -out "$T/$n.der"
	curl -s --max-time 20 --resolve "localhost:$port:127.0.0.1" --cacert "$ROOT_PEM" \
		-o "$T/$n.resp" -w '%{http_code}' --cert "$cert" --key "$key" \
		-H 'Content-Type: application/pkcs10' --data-binary @"$T/$n.der" \
		"https://localhost:$port/api/v1/renew"
}
split_chain "$T/x.resp"
X_SERIAL=$(openssl x509 -in "$T/x.resp.1.pem" -noout -serial | cut -d= -f2)
st=$(renew_at "$A_PORT" x2 "$T/x.resp.1.pem" "$T/x.key" dev-x)
[ "$st" = 201 ] || fail "B's device renewing through A: $st $(cat "$T/x2.resp")"
[ "$(chain_ca "$T/x2.resp")" = "$(openssl x509 -in "$A/keys/issuing.pem")" ] &&
	verify_chain "$T/x2.resp" || fail "the renewal through A"
split_chain "$T/y.resp"
st=$(renew_at "$B_PORT" y2 "$T/y.resp.1.pem" "$T/y.key" dev-y)
[ "$st" = 201 ] || fail "A's device renewing through B: $st $(cat "$T/y2.resp")"
[ "$(chain_ca "$T/y2.resp")" = "$(openssl x509 -in "$B/keys/issuing.pem")" ] ||
	fail "the renewal through B is not under B's CA"
# A certificate of another CA with a known serial is still refused.
mkca rogue "Rogue CA"
openssl x509 -req -in "$T/x.csr" -CA "$T/rogue.pem" -CAkey "$T/rogue.key" \
	-set_serial "0x$X_SERIAL" -days 30 -out "$T/forged.pem" 2>/dev/null
st=$(renew_at "$A_PORT" x3 "$T/forged.pem" "$T/x.key" dev-x)
[ "$st" = 403 ] || fail "a forged certificate with a site serial: $st $(cat "$T/x3.resp")"
ok "a device renews through the other gateway (under that gateway's CA); a forged certificate is refused"

# 4. Every gateway serves every CA's CRL; B's lists the certificate of
#    B's that the renewal through A superseded once B has made its next
#    CRL (at its next tick: here, its next start).
crl_at() {
	curl -s --max-time 10 -o "$T/$2.der" -w '%{http_code}' "$1"
}
B_PATH=${B_CRL#http://*/}
st=$(crl_at "http://127.0.0.1:$A_HTTP/$B_PATH" b1); [ "$st" = 200 ] ||
	fail "A serving B's CRL at /$B_PATH: $st"
openssl crl -inform DER -in "$T/b1.der" -noout -verify -CAfile "$B/keys/issuing.pem" 2>&1 |
	grep -q "verify OK" || fail "the CRL at B's URL is not signed by B's CA"
kill -TERM "$B_PID"; wait "$B_PID" || true
start_gw "$B" B --monitor 2
st=$(crl_at "http://127.0.0.1:$A_HTTP/$B_PATH" b2); [ "$st" = 200 ] || fail "B's CRL again: $st"
openssl crl -inform DER -in "$T/b2.der" -noout -text | grep -qi "Serial Number: $X_SERIAL" ||
	fail "B's CRL does not list B's certificate superseded through A ($X_SERIAL)"
st=$(crl_at "http://127.0.0.1:$B_HTTP/crl" a1); [ "$st" = 200 ] &&
	openssl crl -inform DER -in "$T/a1.der" -noout -verify -CAfile "$A/keys/issuing.pem" 2>&1 |
	grep -q "verify OK" || fail "B serving the site CA's CRL at /crl: $st"
ok "each gateway serves every issuing CA's CRL; a revocation through A is on B's CRL"

# 5. An ACME EAB key made on A: refused through B until B holds a copy
#    of A's EAB secret, then taken there, once for the whole site.
if python3 -c 'import cryptography' 2>/dev/null; then
	RAW="$TOP_SRCDIR/tests/integration/acme_raw.py"
	eab_post() {
		python3 "$RAW" --dir "https://localhost:$1/acme/directory" --ca "$ROOT_PEM" \
			--state "$T/acme-$1" post newAccount --key "$2" --jwk --payload '{}' \
			--eab="$KID:$HMAC" --expect "$3" ${4:+"$4"} >"$T/acme.out" 2>&1
	}
	"$LANCA" acme eab new --dir "$A" --json >"$T/eab.json" || fail "eab new on A"
	KID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kid"])' "$T/eab.json")
	HMAC=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["hmac_key"])' "$T/eab.json")
	eab_post "$B_PORT" k1 403 unauthorized || fail "A's EAB key through B without its secret: $(cat "$T/acme.out")"
	cp -p "$A/acme-eab.secret" "$B/acme-eab.secret"
	eab_post "$B_PORT" k1 201 || fail "A's EAB key through B with the secret: $(cat "$T/acme.out")"
	eab_post "$A_PORT" k2 403 unauthorized || fail "the EAB key used again through A: $(cat "$T/acme.out")"
	# RFC 9773 renewal information through A for a certificate of B's CA.
	certid=$(python3 "$RAW" certid "$T/y2.resp") || fail "certid"
	st=$(curl -s --max-time 10 --resolve "localhost:$A_PORT:127.0.0.1" --cacert "$ROOT_PEM" \
		-o "$T/ari.json" -w '%{http_code}' "https://localhost:$A_PORT/acme/renewal-info/$certid")
	[ "$st" = 200 ] && grep -q suggestedWindow "$T/ari.json" ||
		fail "renewal information through A for B's certificate: $st $(cat "$T/ari.json")"
	ok "an EAB key made on A works through B once B holds A's EAB secret, and once for the site; A gives B's certificate its renewal information"
else
	echo "# python3's cryptography is not installed: the EAB check is not run"
fi

# 6. A root rollover is refused on a site of several gateways.
kill -TERM "$A_PID"; wait "$A_PID" || true
kill -TERM "$B_PID"; wait "$B_PID" || true
st=0; "$LANCA" rollover start --dir "$A" >"$T/out" 2>&1 || st=$?
[ $st = 1 ] && grep -q "joined this site" "$T/out" &&
	[ "$(sql_in "$A" "SELECT count(*) FROM rollovers")" = 0 ] ||
	fail "a rollover on a site of two gateways: exit $st, $(cat "$T/out")"
ok "a root rollover is refused on a site of several gateways, nothing recorded"

# 7. lanca gateway list and remove: B listed with its CA; B cannot remove
#    itself, an unknown name is refused; removed from A, B's CA is retired
#    (audited, no longer in the site's CA list), B cannot start again, and
#    the site, one gateway again, may roll over.
"$LANCA" gateway list --dir "$A" --json >"$T/gw.json" || fail "gateway list"
python3 -c 'import json, sys
g = json.load(open(sys.argv[1]))
assert [x["name"] for x in g] == ["gw-b"], g
assert g[0]["issuing_sha256"] and "gw-b" in g[0]["issuing_ca"], g' "$T/gw.json" ||
	fail "gateway list: $(cat "$T/gw.json")"
st=0; "$LANCA" gateway remove gw-b --dir "$B" >"$T/out" 2>&1 || st=$?
[ $st = 1 ] && grep -q "is this gateway" "$T/out" || fail "B removing itself: exit $st, $(cat "$T/out")"
st=0; "$LANCA" gateway remove gw-nope --dir "$A" >"$T/out" 2>&1 || st=$?
[ $st = 1 ] && grep -q "no gateway named gw-nope" "$T/out" || fail "an unknown name: exit $st, $(cat "$T/out")"
"$LANCA" gateway remove gw-b --dir "$A" >"$T/out" 2>&1 || fail "gateway remove: $(cat "$T/out")"
[ "$(sql_in "$A" "SELECT count(*) FROM cas WHERE gateway = 'gw-b' AND state = 'active'")" = 0 ] &&
	[ "$(sql_in "$A" "SELECT count(*) FROM settings WHERE key LIKE '%:gw-b'")" = 0 ] &&
	[ "$(sql_in "$A" "SELECT count(*) FROM audit WHERE event = 'gateway-remove' AND subject = 'gw-b'")" = 1 ] ||
	fail "after gateway remove: $(sql_in "$A" "SELECT key FROM settings WHERE key LIKE '%gw-b%'")"
[ "$("$LANCA" gateway list --dir "$A" --json | tr -d ' \n')" = "[]" ] || fail "B still listed"
st=0
"$LANCA" serve --dir "$B" --https "127.0.0.1:$(free_port)" --http "127.0.0.1:$(free_port)" \
	>"$T/removed.log" 2>&1 || st=$?
[ $st -ne 0 ] && grep -q "different generations" "$T/removed.log" ||
	fail "a removed gateway started: exit $st, $(tail -n 3 "$T/removed.log")"
"$LANCA" rollover start --dir "$A" >"$T/out" 2>&1 || fail "rollover with no gateway joined: $(cat "$T/out")"
ok "gateway list shows B with its CA; remove refuses B itself and an unknown name, then retires B's CA (audited), B cannot start, and the site may roll over"
