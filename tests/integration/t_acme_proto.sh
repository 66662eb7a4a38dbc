#!/bin/sh
# t_acme_proto.sh - lanca's ACME door at the protocol level, with a raw
# client (acme_raw.py) that sends what the real clients of t_acme.sh never
# would: replayed and made-up nonces, broken signatures, foreign urls, the
# wrong alg, content type or header key, refused identifiers, a CSR for
# other names, a challenge nobody answers, key changes, deactivation,
# revocation three ways, and the renewal information of RFC 9773. Every
# refusal is checked for its problem type and status, and for what it did
# not do (no account, order or certificate made).
#
# Part one runs against a daemon on loopback; part two, where the daemon
# must validate http-01 challenges (which it does not do on loopback), in
# the network namespaces of lib.sh (skipped, exit 77, when they cannot be
# made: not root, no veth).
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"

RAW="$TOP_SRCDIR/tests/integration/acme_raw.py"
python3 -c 'import cryptography' 2>/dev/null || {
	echo "SKIP: $LANCA_TEST: python3's cryptography module is not installed"
	exit 77
}

# R ARGS...: acme_raw.py against the daemon of this part, as the client
# ($RUN: nothing on loopback, `ip netns exec CL` in part two).
RUN=
STATE="$T/c"
R() {
	$RUN python3 "$RAW" --dir "$ACME_DIRECTORY" --ca "$ACME_CA" --state "$STATE" "$@"
}
# P DESC post ARGS...: a POST that must answer as --expect says; its
# summary is in $T/p.json.
P() {
	desc=$1
	shift
	R post "$@" >"$T/p.json" 2>"$T/p.err" || fail "$desc: $(cat "$T/p.err")"
}
# J FILE PATH: a member of a JSON file.
J() {
	python3 -S -c 'import json, sys
v = json.load(open(sys.argv[1]))
for k in [k for k in sys.argv[2].split(".") if k]:
    try:
        v = v[int(k)] if isinstance(v, list) else v[k]
    except (KeyError, IndexError, ValueError, TypeError):
        sys.exit(1)
print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"
}
# What must not change when a request is refused.
sqlr() {
	if [ -f "$D/store.url" ]; then
		sql "$1"
	else
		sqlite3 -readonly "$D/lanca.db" "$1"
	fi
}
counts() {
	sqlr "SELECT (SELECT count(*) FROM certificates) || '/' || (SELECT count(*) FROM acme_accounts)
		|| '/' || (SELECT count(*) FROM acme_orders)"
}
# approval ID: the account's approval as `lanca acme accounts --json` says.
approval() {
	"$LANCA" acme accounts --dir "$D" --json >"$T/accts.json" || fail "acme accounts --json"
	python3 -c 'import json, sys
for a in json.load(open(sys.argv[1])):
    if a["id"] == sys.argv[2]:
        print(a["approved"])' "$T/accts.json" "$1"
}
# acct_id NAME: the account id of key NAME (the last part of its URL).
acct_id() {
	basename "$(cat "$T/c/$1.kid")"
}
ids() {
	printf '{"identifiers": [%s]}' "$(for n in "$@"; do
		case $n in *:*) printf '{"type": "%s", "value": "%s"},' "${n%%:*}" "${n#*:}" ;;
		*) printf '{"type": "dns", "value": "%s"},' "$n" ;; esac
	done | sed 's/,$//')"
}

# ==== part one: loopback ====
D="$T/one"
"$LANCA" init --dir "$D" --name acmeproto >"$T/init.log" 2>&1 || fail "init: $(cat "$T/init.log")"
# The per-address limit is not what this test is about: each check sends
# its requests as fast as the machine allows, from one address.
start_serve "$D" --enroll-rate 1000 --enroll-burst 1000
ACME_DIRECTORY="https://localhost:$HTTPS_PORT/acme/directory"
ACME_CA="$D/root.pem"
mkdir -p "$T/c"

# 1. The directory, newNonce.
R directory >"$T/dir.json" || fail "directory"
for k in newNonce newAccount newOrder revokeCert keyChange renewalInfo; do
	u=$(J "$T/dir.json" "$k") || fail "the directory has no $k: $(cat "$T/dir.json")"
	case $u in "https://localhost:$HTTPS_PORT/acme/"*) ;; *) fail "$k is $u" ;; esac
done
[ "$(J "$T/dir.json" meta.externalAccountRequired)" = false ] || fail "meta: $(cat "$T/dir.json")"
n1=$(R nonce) && n2=$(R nonce --get) || fail "newNonce: HEAD must be 200 and GET 204, each with a base64url Replay-Nonce"
[ "$n1" != "$n2" ] || fail "two newNonce answers gave the same nonce $n1"
# RFC 8555 6.3: GET is for the directory and newNonce only.
for u in "$(J "$T/dir.json" newOrder)" "$(J "$T/dir.json" newAccount)" "https://localhost:$HTTPS_PORT/acme/acct/AAAAAAAAAAAAAAAAAAAAAA"; do
	R get "$u" >"$T/get.json" || fail "GET $u"
	[ "$(J "$T/get.json" status)" = 405 ] && [ "$(J "$T/get.json" headers.Allow)" = POST ] ||
		fail "GET $u: $(cat "$T/get.json")"
done
ok "directory lists every resource (renewalInfo too); HEAD newNonce 200, GET 204, base64url Replay-Nonce, no-store; GET elsewhere 405"

# 4. newAccount, and 2. nonces.
base=$(counts)
P "newAccount" newAccount --key acct --jwk --payload '{"termsOfServiceAgreed": true}' --expect 201
loc=$(J "$T/p.json" location)
[ "$loc" = "$(cat "$T/c/acct.kid")" ] && case $loc in
"https://localhost:$HTTPS_PORT/acme/acct/"*) ;; *) false ;; esac || fail "newAccount Location: $loc"
[ "$(J "$T/p.json" body.status)" = valid ] || fail "new account: $(cat "$T/p.json")"
P "newAccount again" newAccount --key acct --jwk --payload '{}' --expect 200
[ "$(J "$T/p.json" location)" = "$loc" ] || fail "newAccount again: Location $(J "$T/p.json" location), not $loc"
ok "newAccount: 201 + Location, again with the same key 200 and the same Location"

N=$(R nonce) || fail "nonce"
P "a fresh nonce" "$loc" --key acct --nonce="$N" --expect 200
P "a replayed nonce" "$loc" --key acct --nonce="$N" --expect 400 badNonce
P "the nonce of the badNonce answer" "$loc" --key acct --nonce "@$T/c/last-nonce" --expect 200
P "a made-up nonce" "$loc" --key acct --nonce "bm90LWEtbm9uY2UtbGFuY2EtbWFkZQ" --expect 400 badNonce
P "a nonce that is not base64url" "$loc" --key acct --nonce 'n+o/n=ce' --expect 400 badNonce
ok "replayed nonce 400 badNonce, whose own fresh nonce then works; a made-up nonce badNonce"

# 3. The JWS.
P "a flipped signature (kid)" "$loc" --key acct --flip --expect 400 malformed
P "a flipped signature (jwk)" newAccount --key acct --jwk --payload '{}' --flip --expect 400 malformed
for alg in none HS256; do
	P "alg $alg" "$loc" --key acct --alg "$alg" --expect 400 badSignatureAlgorithm
	J "$T/p.json" problem.algorithms | grep -q '"ES256"' || fail "alg $alg: no algorithms list: $(cat "$T/p.json")"
done
P "alg ES384 with a P-256 key" "$loc" --key acct --alg ES384 --expect 400 badSignatureAlgorithm
P "a url not the request's" "$loc" --key acct --url-hdr "https://localhost:$HTTPS_PORT/acme/new-order" \
	--expect 403 unauthorized
P "Content-Type application/json" "$loc" --key acct --ctype application/json --expect 415 malformed
P "the kid of no account" newOrder --key acct --kid "https://localhost:$HTTPS_PORT/acme/acct/AAAAAAAAAAAAAAAAAAAAAA" \
	--payload "$(ids nas.home.arpa)" --expect 400 accountDoesNotExist
P "a jwk on newOrder" newOrder --key acct --jwk --payload "$(ids nas.home.arpa)" --expect 400 malformed
P "a kid on newAccount" newAccount --key acct --payload '{}' --expect 400 malformed
[ "$(counts)" = "$(echo "$base" | awk -F/ '{ print $1 "/" $2 + 1 "/" $3 }')" ] ||
	fail "counts: $(counts), from $base and one account"
ok "bad signature malformed; alg none, HS256 badSignatureAlgorithm with algorithms; foreign url unauthorized; wrong Content-Type 415; unknown kid accountDoesNotExist; jwk/kid swapped malformed"

base=$(counts)
P "onlyReturnExisting, unknown key" newAccount --key nobody --jwk --payload '{"onlyReturnExisting": true}' \
	--expect 400 accountDoesNotExist
P "a tel: contact" newAccount --key nobody --jwk --payload '{"contact": ["tel:+15555550100"]}' \
	--expect 400 invalidContact
[ "$(counts)" = "$base" ] || fail "a refused newAccount made something: $(counts), was $base"
for kty in rsa2048 ec384 ed25519; do
	P "newAccount $kty" newAccount --key "k-$kty" --kty "$kty" --jwk \
		--payload '{"contact": ["mailto:admin@home.arpa"]}' --expect 201
	P "a $kty account's kid request" "$(cat "$T/c/k-$kty.kid")" --key "k-$kty" --expect 200
	[ "$(J "$T/p.json" body.contact.0)" = mailto:admin@home.arpa ] || fail "$kty: $(cat "$T/p.json")"
done
ok "onlyReturnExisting accountDoesNotExist, tel: invalidContact, nothing made; RS256, ES256, ES384, EdDSA accounts work"

# 5. An account waits for the admin.
base=$(counts)
id=$(acct_id acct)
[ "$(approval "$id")" = waiting ] || fail "a new account: $(cat "$T/accts.json")"
P "newOrder, unapproved" newOrder --key acct --payload "$(ids nas.home.arpa)" --expect 403 unauthorized \
	--detail "lanca acme approve $id"
[ "$(counts)" = "$base" ] || fail "an unapproved account's newOrder made something: $(counts), was $base"
"$LANCA" acme approve --dir "$D" "$id" >"$T/approve.out" 2>&1 || fail "acme approve: $(cat "$T/approve.out")"
[ "$(approval "$id")" = admin ] || fail "an approved account: $(cat "$T/accts.json")"
! "$LANCA" acme approve --dir "$D" "$id" >"$T/approve.out" 2>&1 || fail "approving twice succeeded"
! "$LANCA" acme approve --dir "$D" AAAAAAAAAAAAAAAAAAAAAA >"$T/approve.out" 2>&1 || fail "approving no account succeeded"
P "newOrder, approved" newOrder --key acct --payload "$(ids nas.home.arpa)" --expect 201 --out "$T/order.json"
case $(J "$T/p.json" location) in "https://localhost:$HTTPS_PORT/acme/order/"*) ;; *) fail "newOrder Location: $(cat "$T/p.json")" ;; esac
[ "$(J "$T/order.json" status)" = pending ] && [ "$(J "$T/order.json" identifiers.0.value)" = nas.home.arpa ] ||
	fail "new order: $(cat "$T/order.json")"
ok "an unapproved account's newOrder is 403 unauthorized naming lanca acme approve; accounts say waiting, then admin; approving twice fails"

# 8. newOrder's refusals (the account is approved).
base=$(counts)
for bad in www.example.com '*.x.home.arpa' localhost ip:127.0.0.1 127.0.0.1 ip:::1 ip:10.0.0.0/8 \
	ip:8.8.8.8 email:admin@home.arpa; do
	P "newOrder $bad" newOrder --key acct --payload "$(ids "$bad")"
	line=$(python3 -S -c 'import json, sys
p = json.load(open(sys.argv[1]))
print(p["status"], p.get("type", "-"), p.get("detail", ""))' "$T/p.json")
	echo "$bad -> $line" >>"$T/refused.txt"
	st=${line%% *}
	ty=${line#* }
	detail=${ty#* }
	ty=${ty%% *}
	[ "$st" = 400 ] || fail "newOrder $bad: $(cat "$T/p.json")"
	case $bad in
	email:*) [ "$ty" = unsupportedIdentifier ] ||
		fail "identifier type email: $ty, not unsupportedIdentifier (RFC 8555 6.7)" ;;
	*) [ "$ty" = rejectedIdentifier ] || fail "newOrder $bad: $(cat "$T/p.json")"
		case $detail in *"${bad#ip:}"*) ;; *) fail "newOrder $bad: the detail does not name it: $detail" ;; esac ;;
	esac
done
sed 's/^/# /' "$T/refused.txt"
P "duplicates" newOrder --key acct --payload "$(ids nas.home.arpa NAS.home.arpa)" --expect 400 malformed
P "an IP twice" newOrder --key acct --payload "$(ids ip:10.1.2.3 10.1.2.3)" --expect 400 malformed
P "17 identifiers" newOrder --key acct --payload "$(ids $(seq -f 'h%g.home.arpa' 17))" --expect 400 malformed
P "no identifiers" newOrder --key acct --payload '{"identifiers": []}' --expect 400 malformed
P "notBefore" newOrder --key acct --payload '{"identifiers": [{"type": "dns", "value": "nas.home.arpa"}], "notBefore": "2030-01-01T00:00:00Z"}' \
	--expect 400 malformed
P "notAfter" newOrder --key acct --payload '{"identifiers": [{"type": "dns", "value": "nas.home.arpa"}], "notAfter": "2030-01-01T00:00:00Z"}' \
	--expect 400 malformed
P "no payload" newOrder --key acct --expect 400 malformed
[ "$(counts)" = "$base" ] || fail "a refused newOrder made something: $(counts), was $base"
P "16 identifiers" newOrder --key acct --payload "$(ids $(seq -f 'h%g.home.arpa' 16))" --expect 201
ok "newOrder refuses names outside policy, wildcards, localhost, loopback (rejectedIdentifier, named), other types, duplicates, 17 identifiers, notBefore/notAfter (malformed); nothing made"

# 13. keyChange.
P "newAccount kc" newAccount --key kc --jwk --payload '{}' --expect 201
kc=$(cat "$T/c/kc.kid")
P "keyChange" keyChange --key kc --new-key kc2 --expect 200
P "the old key's kid" "$kc" --key kc --expect 400 malformed
P "the new key's kid" "$kc" --key kc2 --expect 200
P "the old key on newAccount" newAccount --key kc --jwk --payload '{"onlyReturnExisting": true}' \
	--expect 400 accountDoesNotExist
P "the new key on newAccount" newAccount --key kc2 --jwk --payload '{"onlyReturnExisting": true}' --expect 200
[ "$(J "$T/p.json" location)" = "$kc" ] || fail "the new key's account: $(cat "$T/p.json")"
P "keyChange to a key with an account" keyChange --key kc2 --new-key acct --expect 409 malformed
# RFC 8555 7.3.5: Location is the account that holds the key.
[ "$(J "$T/p.json" location)" = "$(cat "$T/c/acct.kid")" ] ||
	fail "keyChange 409 without the Location of the key's account: $(cat "$T/p.json")"
P "keyChange back to the old key" keyChange --key kc2 --new-key kc --expect 200
P "the old key again" "$kc" --key kc --expect 200
P "keyChange to Ed25519" keyChange --key kc --new-key kc3 --new-kty ed25519 --expect 200
P "the Ed25519 key's kid" "$kc" --key kc3 --expect 200
P "the old P-256 key's kid" "$kc" --key kc --expect 400 badSignatureAlgorithm
ok "keyChange: the old key's kid fails, the new one works; a key that has an account 409"

# 14. Deactivation.
P "newAccount dx" newAccount --key dx --jwk --payload '{}' --expect 201
"$LANCA" acme approve --dir "$D" "$(acct_id dx)" >/dev/null 2>&1 || fail "approve dx"
P "deactivate" "$(cat "$T/c/dx.kid")" --key dx --payload '{"status": "deactivated"}' --expect 200
[ "$(J "$T/p.json" body.status)" = deactivated ] || fail "deactivated: $(cat "$T/p.json")"
P "a deactivated account's kid" "$(cat "$T/c/dx.kid")" --key dx --expect 403 unauthorized
P "a deactivated account's newOrder" newOrder --key dx --payload "$(ids nas.home.arpa)" --expect 403 unauthorized
# newAccount with its key only shows it (RFC 8555 7.3.1: 200 and the account).
P "a deactivated account's key on newAccount" newAccount --key dx --jwk --payload '{}' --expect 200
[ "$(J "$T/p.json" body.status)" = deactivated ] || fail "newAccount with a deactivated key: $(cat "$T/p.json")"
ok "a deactivated account is unauthorized afterwards"

# 6. External Account Binding.
"$LANCA" acme eab new --dir "$D" --json >"$T/eab1.json" || fail "eab new"
"$LANCA" acme eab new --dir "$D" --json >"$T/eab2.json" || fail "eab new"
k1=$(J "$T/eab1.json" kid):$(J "$T/eab1.json" hmac_key)
k2=$(J "$T/eab2.json" kid):$(J "$T/eab2.json" hmac_key)
base=$(counts)
P "EAB, wrong MAC" newAccount --key e0 --jwk --payload '{}' --eab="$k1" --eab-flip --expect 403 unauthorized
P "EAB, another key's JWK" newAccount --key e0 --jwk --payload '{}' --eab="$k1" --eab-key other --expect 400 malformed
P "EAB, an unknown kid" newAccount --key e0 --jwk --payload '{}' --eab="AAAAAAAAAAAAAAAAAAAAAA:$(J "$T/eab1.json" hmac_key)" \
	--expect 403 unauthorized
[ "$(counts)" = "$base" ] || fail "a refused binding made something: $(counts), was $base"
P "EAB" newAccount --key e1 --jwk --payload '{}' --eab="$k1" --expect 201
[ "$(approval "$(acct_id e1)")" = eab ] || fail "an EAB account: $(cat "$T/accts.json")"
P "an EAB account's newOrder" newOrder --key e1 --payload "$(ids eab.home.arpa)" --expect 201
P "EAB, the kid again" newAccount --key e2 --jwk --payload '{}' --eab="$k1" --expect 403 unauthorized
[ "$(counts)" = "$(echo "$base" | awk -F/ '{ print $1 "/" $2 + 1 "/" $3 + 1 }')" ] ||
	fail "counts: $(counts), from $base, one account and one order"
P "EAB, the second key" newAccount --key e2 --jwk --payload '{}' --eab="$k2" --expect 201
ok "EAB: approved at once (eab), newOrder works; wrong MAC and unknown kid unauthorized, a used kid refused, another key's JWK malformed, nothing made"

# 7. The press window (count 1): the first account in it is approved; a
# second key in the same window is not (the window closed with the first,
# and a different key asking before its time was up contests it).
"$LANCA" press --dir "$D" >"$T/press.out" 2>&1 || fail "press: $(cat "$T/press.out")"
P "newAccount in the window" newAccount --key w1 --jwk --payload '{}' --expect 201
[ "$(approval "$(acct_id w1)")" = window ] || fail "an account in a press window: $(cat "$T/accts.json")"
P "a second newAccount in the window" newAccount --key w2 --jwk --payload '{}' --expect 201
[ "$(approval "$(acct_id w2)")" = waiting ] || fail "a second account in a window of one: $(cat "$T/accts.json")"
[ "$(approval "$(acct_id w1)")" = window ] || fail "the first account of the window: $(cat "$T/accts.json")"
"$LANCA" status --dir "$D" --json >"$T/status.json" || fail "status --json"
python3 -c 'import json, sys
w = json.load(open(sys.argv[1]))
w = w.get("window", w)
assert w["admitted"] == 1 and w["contested"] is True, w' "$T/status.json" ||
	fail "the window after two accounts: $(cat "$T/status.json")"
[ "$(sql "SELECT count(*) FROM audit WHERE event = 'contested' AND subject = '$(acct_id w1)'")" = 1 ] ||
	fail "the window's account was not audited as contested"
P "the window's account orders" newOrder --key w1 --payload "$(ids w.home.arpa)" --expect 201
P "the second one waits" newOrder --key w2 --payload "$(ids w.home.arpa)" --expect 403 unauthorized
ok "press window of one: the first account is approved (window), the second waits, the window says contested and the first is audited contested"
stop_serve || fail "lanca serve did not stop cleanly"

# The per-address limit of every door, on what makes something: a third
# order at once is rateLimited with Retry-After; reading is not limited.
# A CA of its own (its URLs differ), and the client's state with it.
D="$T/rl"
"$LANCA" init --dir "$D" --name acmerl >"$T/init.log" 2>&1 || fail "init: $(cat "$T/init.log")"
start_serve "$D" --enroll-rate 1 --enroll-burst 3
ACME_DIRECTORY="https://localhost:$HTTPS_PORT/acme/directory"
ACME_CA="$D/root.pem"
STATE="$T/c-rl"
mkdir -p "$STATE"
P "newAccount rl" newAccount --key rl --jwk --payload '{}' --expect 201
"$LANCA" acme approve --dir "$D" "$(basename "$(cat "$STATE/rl.kid")")" >/dev/null 2>&1 || fail "approve rl"
# Orders as fast as they go, until one is refused: with 3 at once and 1 a
# second after, it comes within a few whatever the machine's speed.
i=0 limited=
while [ $i -lt 8 ] && [ -z "$limited" ]; do
	i=$((i + 1))
	R post newOrder --key rl --payload "$(ids "r$i.home.arpa")" >"$T/p.json" 2>"$T/p.err" ||
		fail "order $i: $(cat "$T/p.err")"
	case $(J "$T/p.json" status) in
	201) ;;
	429) limited=$i ;;
	*) fail "order $i: $(cat "$T/p.json")" ;;
	esac
done
[ -n "$limited" ] && [ "$limited" -ge 3 ] || fail "no order was rateLimited, or one too soon ($limited)"
[ "$(J "$T/p.json" type)" = rateLimited ] && [ -n "$(J "$T/p.json" retry_after)" ] ||
	fail "the refused order: $(cat "$T/p.json")"
for i in 1 2 3 4; do
	P "reading the account, $i" "$(cat "$STATE/rl.kid")" --key rl --expect 200
done
ok "the per-address limit: a third request that makes something is 429 rateLimited with Retry-After; POST-as-GET is not limited"
stop_serve || fail "lanca serve did not stop cleanly"
STATE="$T/c"

# ==== part two: challenges, validated from the gateway's namespace ====
# A daemon in a namespace of its own cannot reach the test's PostgreSQL
# server on the host's loopback: part one is the store's part.
if on_postgresql; then
	echo "# part two (the namespaces) is SQLite's only: its daemon cannot reach PostgreSQL on loopback"
	exit 0
fi
netns_pair
D="$T/two"
"$LANCA" init --dir "$D" --name acmeproto2 --san "$GW_IP" >"$T/init.log" 2>&1 || fail "init: $(cat "$T/init.log")"
start_serve_netns "$D" --enroll-rate 1000 --enroll-burst 1000
netns_hosts "$GW_NS" "$CL_IP nas.home.arpa n2.home.arpa n3.home.arpa nx.home.arpa"
RUN="ip netns exec $CL_NS"
rm -rf "$T/c" && mkdir -p "$T/c"
start_webroot "$T/www"
WK="$T/www/.well-known/acme-challenge"
R directory >"$T/dir.json" || fail "directory from $CL_NS"
RI=$(J "$T/dir.json" renewalInfo)
for a in a b; do
	"$LANCA" acme eab new --dir "$D" --json >"$T/eab.json" || fail "eab new"
	P "EAB account $a" newAccount --key "$a" --jwk --payload '{}' \
		--eab="$(J "$T/eab.json" kid):$(J "$T/eab.json" hmac_key)" --expect 201
done

# order ACCT NAME...: a new order; ORDER (its URL), AUTHZ (the first
# authorization's), FIN (finalize) are set, the order in $T/order.json.
order() {
	acct=$1
	shift
	P "newOrder $*" newOrder --key "$acct" --payload "$(ids "$@")" --expect 201 --out "$T/order.json"
	ORDER=$(J "$T/p.json" location)
	AUTHZ=$(J "$T/order.json" authorizations.0)
	FIN=$(J "$T/order.json" finalize)
}
# challenge ACCT [serve]: starts the authorization's http-01 challenge,
# with the key authorization served (serve) or not; CHALL, TOKEN set.
challenge() {
	P "the authorization" "$AUTHZ" --key "$1" --expect 200 --out "$T/authz.json"
	[ "$(J "$T/authz.json" status)" = pending ] || fail "a new authorization: $(cat "$T/authz.json")"
	[ "$(J "$T/authz.json" challenges.0.type)" = http-01 ] || fail "no http-01 first: $(cat "$T/authz.json")"
	CHALL=$(J "$T/authz.json" challenges.0.url)
	TOKEN=$(J "$T/authz.json" challenges.0.token)
	if [ "${2:-}" = serve ]; then
		R keyauth -- "$1" "$TOKEN" >"$WK/$TOKEN" || fail "keyauth"
	fi
	P "the challenge" "$CHALL" --key "$1" --payload '{}' --expect 200
	grep -qF "<$AUTHZ>;rel=\\\"up\\\"" "$T/p.json" || fail "the challenge has no Link rel=up to $AUTHZ: $(cat "$T/p.json")"
}
# settle ACCT: waits until the authorization is no longer pending
# or processing; its last state in $T/authz.json.
settle() {
	i=0
	while :; do
		P "the authorization" "$AUTHZ" --key "$1" --expect 200 --out "$T/authz.json"
		case $(J "$T/authz.json" status) in pending | processing) ;; *) return 0 ;; esac
		[ $i -lt $((40 * LANCA_TIME_FACTOR)) ] || fail "the authorization stays $(J "$T/authz.json" status)"
		sleep 0.25
		i=$((i + 1))
	done
}
# issue ACCT NAME CERTKEY OUT: a certificate for NAME through the whole
# flow, its chain in OUT.
issue() {
	order "$1" "$2"
	challenge "$1" serve
	settle "$1"
	[ "$(J "$T/authz.json" status)" = valid ] || fail "http-01 for $2: $(cat "$T/authz.json")"
	P "finalize $2" "$FIN" --key "$1" --csr-names "$2" --csr-key "$3" --expect 200 --out "$T/final.json"
	[ "$(J "$T/final.json" status)" = valid ] || fail "finalized: $(cat "$T/final.json")"
	CERT=$(J "$T/final.json" certificate) || fail "a valid order without a certificate: $(cat "$T/final.json")"
	P "the certificate" "$CERT" --key "$1" --expect 200 --out "$4"
	[ "$(J "$T/p.json" ctype)" = application/pem-certificate-chain ] ||
		fail "the certificate as $(J "$T/p.json" ctype)"
}

# 9. Finalize: too early, the wrong names, the right ones.
base=$(counts)
order a nas.home.arpa
P "finalize a pending order" "$FIN" --key a --csr-names nas.home.arpa --csr-key k0 --expect 403 orderNotReady
challenge a serve
settle a
[ "$(J "$T/authz.json" status)" = valid ] || fail "http-01: $(cat "$T/authz.json")"
[ "$(J "$T/authz.json" challenges.0.status)" = valid ] && J "$T/authz.json" challenges.0.validated >/dev/null ||
	fail "the valid challenge: $(cat "$T/authz.json")"
grep -q "^$GW_IP .*GET /.well-known/acme-challenge/$TOKEN HTTP/1.1\" 200" "$T/web-80.log" ||
	fail "the key authorization was not fetched from $GW_IP: $(cat "$T/web-80.log")"
P "the ready order" "$ORDER" --key a --expect 200 --out "$T/order.json"
[ "$(J "$T/order.json" status)" = ready ] || fail "the order: $(cat "$T/order.json")"
P "finalize, other names" "$FIN" --key a --csr-names other.home.arpa --csr-key k0 --expect 400 badCSR
P "the order after a bad CSR" "$ORDER" --key a --expect 200 --out "$T/order.json"
[ "$(J "$T/order.json" status)" = ready ] && ! J "$T/order.json" error >/dev/null 2>&1 ||
	fail "the order after a bad CSR is not ready again: $(cat "$T/order.json")"
[ "$(counts | cut -d/ -f1)" = "$(echo "$base" | cut -d/ -f1)" ] || fail "a certificate was issued: $(counts), was $base"
P "finalize, the right names" "$FIN" --key a --csr-names nas.home.arpa --csr-key k0 --expect 200 \
	--out "$T/order.json"
[ "$(J "$T/order.json" status)" = valid ] || fail "the order after a good CSR: $(cat "$T/order.json")"
ok "finalize before ready 403 orderNotReady; after a real http-01 validation, a CSR for other names 400 badCSR, nothing issued, the order ready again, and a CSR for its names finalizes it"
base=$(counts)

issue a nas.home.arpa k1 "$T/c1.pem"
split_chain "$T/c1.pem"
[ -f "$T/c1.pem.2.pem" ] && [ ! -f "$T/c1.pem.3.pem" ] || fail "the chain is not leaf + issuing CA"
openssl verify -CAfile "$D/root.pem" -untrusted "$T/c1.pem.2.pem" "$T/c1.pem.1.pem" >/dev/null 2>&1 ||
	fail "the ACME certificate does not verify against the root"
openssl x509 -in "$T/c1.pem.1.pem" -noout -ext subjectAltName | grep -q "DNS:nas.home.arpa" ||
	fail "the certificate's names: $(openssl x509 -in "$T/c1.pem.1.pem" -noout -ext subjectAltName)"
[ "$(counts | cut -d/ -f1)" = "$(($(echo "$base" | cut -d/ -f1) + 1))" ] || fail "certificates: $(counts), was $base"
P "finalize a valid order again" "$FIN" --key a --csr-names nas.home.arpa --csr-key k1 --expect 403 orderNotReady
for u in "$CERT" "$ORDER" "$AUTHZ" "$(cat "$T/c/a.kid")/orders"; do
	P "GET with a payload" "$u" --key a --payload '{}' --expect 400 malformed
done
P "the account's orders" "$(cat "$T/c/a.kid")/orders" --key a --expect 200 --out "$T/orders.json"
grep -qF "\"$ORDER\"" "$T/orders.json" || fail "the account's orders without $ORDER: $(cat "$T/orders.json")"
P "another account's orders" "$(cat "$T/c/a.kid")/orders" --key b --expect 403 unauthorized
P "another account's order" "$ORDER" --key b --expect 404 malformed
P "another account's certificate" "$CERT" --key b --expect 404 malformed
ok "a CSR for the order's names: valid order, application/pem-certificate-chain leaf + issuing CA verified against the root; POST-as-GET only; another account's objects 404"

# 10. A challenge nobody answers.
base=$(counts)
order a nx.home.arpa
challenge a
settle a
[ "$(J "$T/authz.json" status)" = invalid ] && [ "$(J "$T/authz.json" challenges.0.status)" = invalid ] ||
	fail "an unanswered challenge: $(cat "$T/authz.json")"
[ "$(J "$T/authz.json" challenges.0.error.type)" = urn:ietf:params:acme:error:incorrectResponse ] &&
	J "$T/authz.json" challenges.0.error.detail | grep -qF "http://nx.home.arpa/.well-known/acme-challenge/$TOKEN" ||
	fail "the challenge's error: $(cat "$T/authz.json")"
P "the order" "$ORDER" --key a --expect 200 --out "$T/order.json"
[ "$(J "$T/order.json" status)" = invalid ] || fail "the order of a failed challenge: $(cat "$T/order.json")"
P "finalize" "$FIN" --key a --csr-names nx.home.arpa --csr-key k9 --expect 403 orderNotReady
[ "$(counts | cut -d/ -f1)" = "$(echo "$base" | cut -d/ -f1)" ] || fail "a failed challenge: $(counts), was $base"
ok "a challenge nobody answers: the authorization invalid (incorrectResponse naming the URL), the order invalid, nothing issued"

# 11. Renewal information (RFC 9773).
certid=$(python3 "$RAW" certid "$T/c1.pem.1.pem") || fail "certid"
python3 "$RAW" certinfo "$T/c1.pem.1.pem" >"$T/c1.json" || fail "certinfo"
R get "$RI/$certid" >"$T/ari.json" || fail "renewal-info"
# ari_window: the window's start and end, checked as RFC 3339.
ari_window() {
	python3 -c 'import datetime, json, sys
a = json.load(open(sys.argv[1]))
assert a["status"] == 200, a
assert int(a["headers"]["Retry-After"]) > 0, a
w = a["body"]["suggestedWindow"]
f = lambda s: int(datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp())
print(f(w["start"]), f(w["end"]))' "$1"
}
win=$(ari_window "$T/ari.json") || fail "renewal-info: $(cat "$T/ari.json")"
nb=$(J "$T/c1.json" not_before)
na=$(J "$T/c1.json" not_after)
ws=${win% *}
we=${win#* }
[ "$ws" -ge $((nb + (na - nb) * 2 / 3)) ] && [ "$we" -le "$na" ] && [ "$ws" -lt "$we" ] ||
	fail "the window $win is not in the last third of $nb..$na"
serial=$(J "$T/c1.json" serial)
"$LANCA" revoke "$serial" --dir "$D" >"$T/revoke.out" 2>&1 || fail "lanca revoke $serial: $(cat "$T/revoke.out")"
R get "$RI/$certid" >"$T/ari.json" || fail "renewal-info"
win=$(ari_window "$T/ari.json") || fail "renewal-info after revoke: $(cat "$T/ari.json")"
[ "${win% *}" -le "$(date +%s)" ] || fail "a revoked certificate's window $win starts later than now"
R get "$RI/${certid%.*}.AQIDBAUGBwgJ" >"$T/ari.json" || fail "renewal-info"
[ "$(J "$T/ari.json" status)" = 404 ] || fail "an unknown certID: $(cat "$T/ari.json")"
R get "$RI/${certid#*.}.${certid%.*}" >"$T/ari.json" || fail "renewal-info"
[ "$(J "$T/ari.json" status)" = 404 ] || fail "a swapped certID: $(cat "$T/ari.json")"
ok "renewalInfo: the certID's window lies in the last third of the validity, Retry-After; after lanca revoke it starts now; an unknown certID 404"

# 12. revokeCert.
# revoked SERIAL: whether lanca list says so.
revoked() {
	"$LANCA" list --dir "$D" --status revoked --json >"$T/list.json" || fail "list --json"
	grep -qi "\"$1\"" "$T/list.json"
}
issue a n2.home.arpa k2 "$T/c2.pem"
issue a n3.home.arpa k3 "$T/c3.pem"
split_chain "$T/c2.pem"
split_chain "$T/c3.pem"
s2=$(python3 "$RAW" certinfo "$T/c2.pem.1.pem" | python3 -c 'import json,sys; print(json.load(sys.stdin)["serial"])')
s3=$(python3 "$RAW" certinfo "$T/c3.pem.1.pem" | python3 -c 'import json,sys; print(json.load(sys.stdin)["serial"])')
! revoked "$s2" || fail "$s2 is revoked before it was"
P "revoke by another account" revokeCert --key b --cert "$T/c2.pem.1.pem" --reason 0 --expect 403 unauthorized
! revoked "$s2" || fail "another account revoked $s2"
P "reason 7" revokeCert --key a --cert "$T/c2.pem.1.pem" --reason 7 --expect 400 badRevocationReason
P "reason 11" revokeCert --key a --cert "$T/c2.pem.1.pem" --reason 11 --expect 400 badRevocationReason
! revoked "$s2" || fail "a refused revocation revoked $s2"
P "revoke by the account" revokeCert --key a --cert "$T/c2.pem.1.pem" --reason 0 --expect 200
revoked "$s2" || fail "$s2 is not listed revoked: $(cat "$T/list.json")"
P "revoke again" revokeCert --key a --cert "$T/c2.pem.1.pem" --expect 400 alreadyRevoked
P "revoke with another key's jwk" revokeCert --key k2 --jwk --cert "$T/c3.pem.1.pem" --reason 1 --expect 403 unauthorized
! revoked "$s3" || fail "the wrong key revoked $s3"
P "revoke with the certificate's key" revokeCert --key k3 --jwk --cert "$T/c3.pem.1.pem" --reason 1 --expect 200
revoked "$s3" || fail "$s3 is not listed revoked: $(cat "$T/list.json")"
ok "revokeCert: by the account 200 and listed revoked, again alreadyRevoked; another account unauthorized; the certificate's own key (jwk) works; reason 7 badRevocationReason"

stop_serve || fail "lanca serve did not stop cleanly"
