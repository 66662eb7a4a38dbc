#!/bin/sh
# t_metrics.sh - GET /metrics against the real daemon, read with a real
# Prometheus parser (python3-prometheus-client's): devices enrolled over
# the API and EST, renewed, left pending, refused, one revoked, then the
# page fetched with an admin session and with the bearer token of `lanca
# metrics token` and checked against what happened (certificates issued,
# valid, revoked, pending; the window open after a press and its seconds
# left; the decisions by door, request and outcome; the signer's
# round-trip histogram, cumulative, +Inf equal to its count; the CA
# expiry times). Access: 401 with a challenge without credentials, with a
# malformed, wrong, replaced or revoked token, or after logout; a token
# made before the daemon started works, a new one replaces it without a
# restart; only the token's hash is stored, and each change is audited.
. "$(dirname "$0")/lib.sh"

# The parser: Debian's python3-prometheus-client, for whichever python has it.
PY=
for p in python3 /usr/bin/python3; do
	if "$p" -c 'import prometheus_client.parser' 2>/dev/null; then PY=$p; break; fi
done
if [ -z "$PY" ]; then
	echo "SKIP: no python3 with prometheus_client (apt-get install python3-prometheus-client)"
	exit 77
fi

D="$T/state"
PW='Metr1cs-pass:phrase-7c1d'
"$LANCA" init --dir "$D" --name met >/dev/null 2>&1 || fail "init"
ROOT_PEM="$D/root.pem"
printf '%s\n' "$PW" >"$T/pw"
"$LANCA" admin passwd admin --dir "$D" --password-file "$T/pw" >/dev/null 2>&1 || fail "admin passwd"

# A token made with no daemon running.
"$LANCA" metrics token --dir "$D" >"$T/tok0" 2>"$T/tok0.err" || fail "metrics token: $(cat "$T/tok0.err")"
TOK0=$(cat "$T/tok0")
[ "${#TOK0}" = 43 ] && printf '%s' "$TOK0" | grep -q '^[A-Za-z0-9_-]*$' ||
	fail "the token is not 43 characters of URL-safe base64: $TOK0"
start_serve "$D" --enroll-burst 1000 --enroll-rate 1000

# fetch FILE [curl options...]: GET /metrics into $T/FILE (headers
# $T/FILE.hdr); status in $code.
fetch() {
	f=$1
	shift
	code=$(tcurl -o "$T/$f" -D "$T/$f.hdr" -w '%{http_code}' "$@" "$HTTPS_URL/metrics") || code=000
}

# parse FILE: the page read by prometheus_client into $T/FILE.json,
# {"name{label=value,...}": value} over every sample, sorted labels; fails
# when the parser refuses the page, a family lacks HELP or TYPE, or a
# histogram's buckets are not cumulative or end elsewhere than its count.
parse() {
	"$PY" - "$T/$1" >"$T/$1.json" 2>"$T/$1.err" <<'PY' || fail "parsing $1: $(cat "$T/$1.err") $(head -c 2000 "$T/$1")"
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1], encoding="utf-8").read()
out = {}
helps = [l.split()[2] for l in text.splitlines() if l.startswith("# HELP ")]
types = [l.split()[2] for l in text.splitlines() if l.startswith("# TYPE ")]
fams = list(text_string_to_metric_families(text))
assert fams, "no metric families"
for fam in fams:
    n = fam.name + ("_total" if fam.type == "counter" else "")
    assert n in helps or fam.name in helps, "no HELP for " + fam.name
    assert n in types or fam.name in types, "no TYPE for " + fam.name
    assert fam.name.startswith("lanca_"), "outside the lanca_ namespace: " + fam.name
    for s in fam.samples:
        key = s.name + "{" + ",".join("%s=%s" % kv for kv in sorted(s.labels.items())) + "}"
        assert key not in out, "twice: " + key
        out[key] = s.value
    if fam.type == "histogram":
        series = {}
        for s in fam.samples:
            base = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
            series.setdefault(base, {"b": []})
            if s.name.endswith("_bucket"):
                series[base]["b"].append((float(s.labels["le"]), s.value))
            else:
                series[base][s.name.rsplit("_", 1)[1]] = s.value
        for base, h in series.items():
            b = h["b"]
            assert [le for le, _ in b] == sorted(le for le, _ in b), "le out of order"
            assert b[-1][0] == math.inf, "no +Inf bucket"
            assert all(b[i][1] <= b[i + 1][1] for i in range(len(b) - 1)), "buckets not cumulative: %r" % (b,)
            assert b[-1][1] == h["count"], "+Inf %r != count %r" % (b[-1][1], h["count"])
            assert h["sum"] >= 0
print(json.dumps(out, sort_keys=True))
PY
}

# val FILE KEY: one sample's value, as an integer when it is one.
val() {
	"$PY" -c 'import json, sys
v = json.load(open(sys.argv[1])).get(sys.argv[2])
print("missing" if v is None else int(v) if v == int(v) else v)' "$T/$1.json" "$2"
}

# expect FILE KEY VALUE
expect() {
	got=$(val "$1" "$2")
	[ "$got" = "$3" ] || fail "$2 is $got, not $3 ($1)"
}

# ---- who may read it ----
fetch none
[ "$code" = 401 ] || fail "/metrics without credentials: $code"
grep -q '"error": *"unauthorized"' "$T/none" && grep -q 'Bearer TOKEN' "$T/none" || fail "401 body: $(cat "$T/none")"
grep -qi '^WWW-Authenticate: Bearer realm="lanca metrics"' "$T/none.hdr" || fail "no Bearer challenge: $(cat "$T/none.hdr")"
fetch wrong -H "Authorization: Bearer $(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-43)"
[ "$code" = 401 ] || fail "a wrong token: $code"
grep -q "wrong or revoked" "$T/wrong" || fail "wrong token's message: $(cat "$T/wrong")"
fetch short -H "Authorization: Bearer abc"
[ "$code" = 401 ] && grep -q "not a metrics token" "$T/short" || fail "a malformed token: $code $(cat "$T/short")"
fetch basic -u "admin:$PW"
[ "$code" = 401 ] && grep -q "Bearer TOKEN" "$T/basic" || fail "Basic credentials: $code $(cat "$T/basic")"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOK0" "$HTTP_URL/metrics")
[ "$code" = 301 ] || fail "/metrics on plain HTTP is not sent to HTTPS: $code"
fetch first -H "Authorization: Bearer $TOK0"
[ "$code" = 200 ] || fail "the token made before the daemon started: $code $(cat "$T/first")"
ok "/metrics: 401 with a Bearer challenge without credentials, with a wrong, malformed or Basic one; the token made offline works"

grep -qi '^Content-Type: text/plain; version=0.0.4; charset=utf-8' "$T/first.hdr" ||
	fail "Content-Type: $(grep -i content-type "$T/first.hdr")"
parse first
expect first 'lanca_certificates_issued_total{}' 1
expect first 'lanca_window_state{state=closed}' 1
expect first 'lanca_window_state{state=open}' 0
expect first 'lanca_signer_roundtrip_seconds_count{op=issue}' 0
expect first 'lanca_enroll_requests_total{door=api,outcome=issued,request=enroll}' 0
ok "the text format 0.0.4, parsed by prometheus_client: one certificate (the gateway's), closed, nothing counted"

# ---- what happens ----
# Two enrolled over the API after a press each, one over EST.
for n in alpha bravo; do
	make_csr $n $n "DNS:$n.local"
	"$LANCA" press --dir "$D" >/dev/null || fail "press for $n"
	st=$(post_csr $n); [ "$st" = 201 ] || fail "enroll $n: $st $(cat "$T/$n.resp")"
	split_chain "$T/$n.resp"
done
make_csr charlie charlie "DNS:charlie.local"
"$LANCA" press --dir "$D" >/dev/null || fail "press for charlie"
openssl req -in "$T/charlie.csr" -outform der | openssl base64 >"$T/charlie.b64"
st=$(tcurl -o "$T/charlie.resp" -w '%{http_code}' -H 'Content-Type: application/pkcs10' \
	--data-binary @"$T/charlie.b64" "$HTTPS_URL/.well-known/est/simpleenroll")
[ "$st" = 200 ] || fail "EST enroll charlie: $st"
# alpha renews over mTLS with a new key.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/alpha2.key" \
	-subj /CN=alpha -addext "subjectAltName=DNS:alpha.local" -outform der -out "$T/alpha2.der" 2>/dev/null
st=$(tcurl -o "$T/alpha2.resp" -w '%{http_code}' --cert "$T/alpha.resp.1.pem" --key "$T/alpha.key" \
	-H 'Content-Type: application/pkcs10' --data-binary @"$T/alpha2.der" "$HTTPS_URL/api/v1/renew")
[ "$st" = 201 ] || fail "renew alpha: $st $(cat "$T/alpha2.resp")"
# One waits (no press), one is refused (not a request at all).
make_csr delta delta "DNS:delta.local"
st=$(post_csr delta); [ "$st" = 202 ] || fail "delta without a press: $st"
printf 'not a request' >"$T/junk.der"
st=$(tcurl -o "$T/junk.resp" -w '%{http_code}' -H 'Content-Type: application/pkcs10' \
	--data-binary @"$T/junk.der" "$HTTPS_URL/api/v1/enroll")
[ "$st" = 400 ] || fail "junk: $st"
ISSUED=5	# the gateway's, alpha, bravo, charlie, alpha renewed

fetch before -H "Authorization: Bearer $TOK0"
[ "$code" = 200 ] || fail "/metrics with the token: $code"
parse before
expect before 'lanca_certificates_issued_total{}' $ISSUED
expect before 'lanca_requests_pending{}' 1
expect before 'lanca_window_state{state=closed}' 1
expect before 'lanca_window_remaining_seconds{}' 0
ok "with the token: $ISSUED issued, 1 pending, the window closed after its one admission"

# ---- logged in: revoke bravo, press (open), read ----
J='Content-Type: application/json'
ORIGIN="https://localhost:$HTTPS_PORT"
code=$(tcurl -X POST -D "$T/h" -o "$T/b" -w '%{http_code}' -H "$J" -H "Origin: $ORIGIN" \
	--data-binary "{\"user\": \"admin\", \"password\": \"$PW\"}" "$HTTPS_URL/api/v1/login")
[ "$code" = 200 ] || fail "login: $code $(cat "$T/b")"
COOKIE=$(tr -d '\r' <"$T/h" | sed -n 's/^[Ss]et-[Cc]ookie: __Host-lanca_session=\([0-9a-f]*\);.*/\1/p')
CSRF=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["csrf"])' "$T/b")
BRAVO=$(openssl x509 -in "$T/bravo.resp.1.pem" -noout -serial | cut -d= -f2)
code=$(tcurl -X POST -o "$T/b" -w '%{http_code}' -b "__Host-lanca_session=$COOKIE" \
	-H "X-CSRF-Token: $CSRF" -H "Origin: $ORIGIN" "$HTTPS_URL/api/v1/certificates/$BRAVO/revoke")
[ "$code" = 200 ] || fail "revoke bravo: $code $(cat "$T/b")"
# The press admits delta, which is waiting, and stays open for one more.
"$LANCA" press --dir "$D" --count 2 --seconds 300 >/dev/null || fail "the last press"
ISSUED=$((ISSUED + 1))

fetch cookie -b "__Host-lanca_session=$COOKIE"
[ "$code" = 200 ] || fail "/metrics with a session: $code $(cat "$T/cookie")"
parse cookie
NOW=$(date +%s)
VALID=$(sql "SELECT count(*) FROM certificates WHERE status = 'valid' AND not_after > $NOW")
EXPIRING=$(sql "SELECT count(*) FROM certificates WHERE status = 'valid' AND not_after >= $NOW AND not_after < $NOW + 30 * 86400")
expect cookie 'lanca_certificates_issued_total{}' $ISSUED
# Two revoked: bravo, and alpha's first certificate, superseded by its renewal.
expect cookie 'lanca_certificates_revoked{}' 2
expect cookie 'lanca_certificates_valid{}' "$VALID"
[ "$VALID" -ge 3 ] || fail "only $VALID valid certificates"
expect cookie 'lanca_certificates_expiring_30d{}' "$EXPIRING"
expect cookie 'lanca_requests_pending{}' 0
ok "certificates issued ($ISSUED), valid ($VALID), revoked (2), expiring ($EXPIRING), pending (0: the press took delta), with a session"

# The CRL the revocation made: its number, age and next update as the store has them.
CRLNO=$(sql "SELECT max(number) FROM crls")
CRLNEXT=$(sql "SELECT next_update FROM crls ORDER BY number DESC LIMIT 1")
[ "${CRLNO:-0}" -ge 2 ] || fail "no CRL after the revocations: $CRLNO"
expect cookie 'lanca_crl_number{}' "$CRLNO"
expect cookie 'lanca_crl_next_update_timestamp_seconds{}' "$CRLNEXT"
"$PY" - "$T/cookie.json" <<'PY' || fail "lanca_crl_age_seconds: $(grep crl_age "$T/cookie")"
import json, sys
m = json.load(open(sys.argv[1]))
age = m["lanca_crl_age_seconds{}"]
assert 0 <= age < 120, age
PY
ok "the newest CRL: number $CRLNO, its nextUpdate, an age under two minutes"

expect cookie 'lanca_window_state{state=open}' 1
expect cookie 'lanca_window_state{state=closed}' 0
expect cookie 'lanca_window_state{state=overlap}' 0
left=$(val cookie 'lanca_window_remaining_seconds{}')
[ "$left" -gt 0 ] && [ "$left" -le 300 ] || fail "seconds left in the window: $left"
ok "the window: open after the press, $left s left"

expect cookie 'lanca_enroll_requests_total{door=api,outcome=issued,request=enroll}' 2
expect cookie 'lanca_enroll_requests_total{door=api,outcome=pending,request=enroll}' 1
expect cookie 'lanca_enroll_requests_total{door=api,outcome=refused,request=enroll}' 1
expect cookie 'lanca_enroll_requests_total{door=api,outcome=issued,request=renew}' 1
expect cookie 'lanca_enroll_requests_total{door=est,outcome=issued,request=enroll}' 1
expect cookie 'lanca_enroll_requests_total{door=est,outcome=pending,request=enroll}' 0
expect cookie 'lanca_enroll_requests_total{door=api,outcome=error,request=enroll}' 0
ok "decisions by door, request and outcome: api 2 issued, 1 pending, 1 refused, 1 renewed; est 1 issued"

expect cookie 'lanca_signer_roundtrip_seconds_count{op=issue}' 5
n=$(val cookie 'lanca_signer_roundtrip_seconds_count{op=verify}')
[ "$n" -ge 1 ] || fail "no VERIFY round trip counted: $n"
s=$(val cookie 'lanca_signer_roundtrip_seconds_sum{op=issue}')
"$PY" -c "import sys; sys.exit(not 0 < float('$s') < 120)" || fail "issue round trips took $s s in all"
ok "the signer's round trips: 5 issue, $n verify, histograms cumulative, +Inf = count, sum $s s"

# The root as init wrote it, the issuing CA as the chains carry it.
for role in root:$D/root.pem issuing:$T/alpha.resp.2.pem; do
	want=$("$PY" -c 'import sys, calendar, time
print(calendar.timegm(time.strptime(sys.argv[1], "%b %d %H:%M:%S %Y GMT")))' \
		"$(openssl x509 -in "${role#*:}" -noout -enddate | cut -d= -f2 | sed 's/  */ /g')") ||
		fail "the notAfter of ${role#*:}"
	expect cookie "lanca_ca_not_after_timestamp_seconds{role=${role%%:*}}" "$want"
done
ok "the CA expiry times are the certificates' notAfter"

# ---- tokens: replaced, revoked, audited, hashed ----
TOK1=$("$LANCA" metrics token --dir "$D" 2>/dev/null) || fail "a second token"
[ "$TOK1" != "$TOK0" ] || fail "the same token twice"
fetch t0 -H "Authorization: Bearer $TOK0"
[ "$code" = 401 ] || fail "the replaced token still works: $code"
fetch t1 -H "authorization: bearer  $TOK1"
[ "$code" = 200 ] || fail "the new token: $code $(cat "$T/t1")"
HASH=$(sql "SELECT value FROM settings WHERE key = 'metrics_token'")
printf '%s' "$HASH" | grep -qx '[0-9a-f]\{64\}' || fail "the stored value is not a hash: $HASH"
if grep -q "$TOK1" "$D/lanca.db" "$D"/lanca.db-wal 2>/dev/null; then fail "the token itself is in the database"; fi
if store_dump "$D" | grep -q "$TOK1"; then fail "the token itself is in the store"; fi
ok "a new token replaces the old one at once (the daemon not restarted); only a hash is stored"

"$LANCA" metrics token --dir "$D" --revoke 2>"$T/rev.err" || fail "revoke: $(cat "$T/rev.err")"
fetch t1 -H "Authorization: Bearer $TOK1"
[ "$code" = 401 ] || fail "the revoked token still works: $code"
st=0
"$LANCA" metrics token --dir "$D" --revoke 2>"$T/rev2.err" || st=$?
[ "$st" = 1 ] && grep -q "no metrics token is set" "$T/rev2.err" || fail "revoking nothing: $st $(cat "$T/rev2.err")"
st=0
"$LANCA" metrics token --dir "$D" extra 2>/dev/null || st=$?
[ "$st" = 2 ] || fail "an extra argument: exit $st"
[ "$(sql "SELECT count(*) FROM audit WHERE event = 'metrics_token'")" = 3 ] ||
	fail "audit rows: $(sql "SELECT * FROM audit WHERE event = 'metrics_token'")"
[ "$(sql "SELECT detail FROM audit WHERE event = 'metrics_token' ORDER BY id DESC LIMIT 1")" = '{"action":"revoked"}' ] ||
	fail "the revocation's audit row"
fetch cookie2 -b "__Host-lanca_session=$COOKIE"
[ "$code" = 200 ] || fail "the session after the token is revoked: $code"
ok "--revoke: the token stops working, a second --revoke says there is none; three audit rows"
st=0
"$LANCA" metrics token --dir "$D" >/dev/full 2>"$T/full.err" || st=$?
[ "$st" = 1 ] && grep -q "cannot write the new token" "$T/full.err" ||
	fail "a token that could not be printed: exit $st $(cat "$T/full.err")"
ok "a token that cannot be printed is an error (exit 1), not a silent success"

code=$(tcurl -X POST -o "$T/b" -w '%{http_code}' -b "__Host-lanca_session=$COOKIE" \
	-H "X-CSRF-Token: $CSRF" -H "Origin: $ORIGIN" "$HTTPS_URL/api/v1/logout")
[ "$code" = 200 ] || fail "logout: $code"
fetch out -b "__Host-lanca_session=$COOKIE"
[ "$code" = 401 ] && grep -qi '^WWW-Authenticate: Bearer' "$T/out.hdr" || fail "/metrics after logout: $code"
ok "after logout the session no longer reads /metrics"

# ---- later: certificates near their end, counters from zero ----
if [ -z "$LIBFAKETIME" ]; then
	echo "# no libfaketime: the expiring count is checked as 0 only"
	exit 0
fi
TOK2=$("$LANCA" metrics token --dir "$D" 2>/dev/null) || fail "a token after the revocation"
stop_serve || fail "stopping the daemon"
END=$(sql "SELECT min(not_after) FROM certificates WHERE status = 'valid' AND profile = 'device'")
DAYS=$(( (END - $(date +%s)) / 86400 - 10 ))
LANCA=$(faked_lanca "+${DAYS}d") start_serve "$D"
fetch late -H "Authorization: Bearer $TOK2"
[ "$code" = 200 ] || fail "/metrics $DAYS days later: $code $(cat "$T/late")"
parse late
NOW=$(( $(date +%s) + DAYS * 86400 ))
EXPIRING=$(sql "SELECT count(*) FROM certificates WHERE status = 'valid' AND not_after >= $NOW AND not_after < $NOW + 30 * 86400")
VALID=$(sql "SELECT count(*) FROM certificates WHERE status = 'valid' AND not_after > $NOW")
[ "$EXPIRING" -ge 3 ] || fail "only $EXPIRING certificates expire within 30 days of day $DAYS"
expect late 'lanca_certificates_expiring_30d{}' "$EXPIRING"
expect late 'lanca_certificates_valid{}' "$VALID"
expect late 'lanca_enroll_requests_total{door=api,outcome=issued,request=enroll}' 0
expect late 'lanca_window_state{state=closed}' 1
ok "$DAYS days later: $EXPIRING certificates expire within 30 days, $VALID valid; the counters start again from 0"
