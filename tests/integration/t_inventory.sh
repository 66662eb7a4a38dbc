#!/bin/sh
# t_inventory.sh - the admin console's inventory API against the real
# daemon, with curl as the console: the door, key type and names of
# pending requests; certificates listed, searched, filtered, sorted and
# paged; one certificate with its PEM (the bytes the device got) and its
# history; revocation (status, audit row, 409 the second time, the CSRF
# token required, the revoked certificate refused for renewal); the audit
# log filtered by event and device; the overview's counts; and a 400 that
# names the problem for each kind of bad input.
. "$(dirname "$0")/lib.sh"

D="$T/state"
PW='Invent0ry-pass:phrase-2b9e'
"$LANCA" init --dir "$D" --name inv >/dev/null 2>&1 || fail "init"
ROOT_PEM="$D/root.pem"
printf '%s\n' "$PW" >"$T/pw"
"$LANCA" admin passwd admin --dir "$D" --password-file "$T/pw" >/dev/null 2>&1 || fail "admin passwd"
start_serve "$D" --enroll-burst 1000 --enroll-rate 1000
# The gateway's own certificate, issued by init, is in the inventory too.
GW=$(sql "SELECT device_id FROM certificates WHERE profile = 'gateway'")
[ -n "$GW" ] || fail "no gateway certificate"
ORIGIN="https://localhost:$HTTPS_PORT"
J='Content-Type: application/json'

# get URL [curl options...]: GET as the admin; body in $T/b, status in $code.
get() {
	url=$1
	shift
	code=$(tcurl -o "$T/b" -w '%{http_code}' -b "$C" "$@" "$HTTPS_URL$url") || code=000
}

# post URL [curl options...]: POST likewise (no CSRF token unless given).
post() {
	url=$1
	shift
	code=$(tcurl -X POST -o "$T/b" -w '%{http_code}' -b "$C" "$@" "$HTTPS_URL$url") || code=000
}

# js EXPR: EXPR evaluated by Python on the last body (as j), printed;
# devs(items) is the items' device ids without the gateway's own ($GW).
js() {
	GW=${GW:-} python3 -c 'import json, os, sys
j = json.load(open(sys.argv[1]))
devs = lambda items: [c.get("device_id", c.get("subject")) for c in items if c.get("device_id", c.get("subject")) != os.environ["GW"]]
r = eval(sys.argv[2])
print(r if not isinstance(r, (list, dict)) else json.dumps(r, sort_keys=True))' \
		"$T/b" "$@" 2>"$T/js.err" || fail "$1 on $(cat "$T/b"): $(cat "$T/js.err")"
}

# bad URL CODE TEXT: a GET that must fail with CODE and a message naming TEXT.
bad() {
	get "$1"
	[ "$code" = "$2" ] || fail "GET $1: $code, not $2: $(cat "$T/b")"
	grep -q "$3" "$T/b" || fail "GET $1 does not say \"$3\": $(cat "$T/b")"
}

# ---- devices: three issued through the API after a press each ----
enroll_pressed() {
	make_csr "$1" "$1" "$2"
	"$LANCA" press --dir "$D" >/dev/null || fail "press for $1"
	st=$(post_csr "$1"); [ "$st" = 201 ] || fail "enroll $1 after a press: $st $(cat "$T/$1.resp")"
	split_chain "$T/$1.resp"
}
enroll_pressed charlie "DNS:charlie.local"
enroll_pressed alpha "DNS:alpha.local"
enroll_pressed bravo "DNS:bravo.local,IP:10.0.0.2"
# Two that wait: one through the API, one through EST.
make_csr waitapi waitapi "DNS:waitapi.local"
st=$(post_csr waitapi); [ "$st" = 202 ] || fail "waitapi without a press: $st"
make_csr waitest waitest "DNS:waitest.local,IP:10.0.0.9"
openssl req -in "$T/waitest.csr" -outform der | openssl base64 >"$T/waitest.b64"
st=$(tcurl -o "$T/waitest.resp" -w '%{http_code}' -H 'Content-Type: application/pkcs10' \
	--data-binary @"$T/waitest.b64" "$HTTPS_URL/.well-known/est/simpleenroll")
[ "$st" = 202 ] || fail "waitest over EST without a press: $st"

# ---- login ----
code=$(tcurl -X POST -D "$T/h" -o "$T/b" -w '%{http_code}' -H "$J" -H "Origin: $ORIGIN" \
	--data-binary "{\"user\": \"admin\", \"password\": \"$PW\"}" "$HTTPS_URL/api/v1/login")
[ "$code" = 200 ] || fail "login: $code $(cat "$T/b")"
TOKEN=$(tr -d '\r' <"$T/h" | sed -n 's/^[Ss]et-[Cc]ookie: __Host-lanca_session=\([0-9a-f]*\);.*/\1/p')
C="__Host-lanca_session=$TOKEN"
CSRF=$(js 'j["csrf"]')

C=none get /api/v1/certificates
[ "$code" = 401 ] || fail "certificates without a session: $code"
for u in /api/v1/audit /api/v1/overview "/api/v1/certificates/$(openssl x509 -in "$T/alpha.resp.1.pem" -noout -serial | cut -d= -f2)"; do
	C=none get "$u"
	[ "$code" = 401 ] || fail "$u without a session: $code"
done
ok "the inventory needs a session: 401 without one"

# ---- requests: door, key type, key id, names ----
get '/api/v1/requests?state=pending'
[ "$code" = 200 ] || fail "requests: $code"
keyhex() {
	openssl req -in "$T/$1.csr" -pubkey -noout | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1
}
[ "$(js '[(r["device_id"], r["door"], r["auth"], r["via"], r["key_type"], r["names"], r["source"]) for r in sorted(j["requests"], key=lambda r: r["device_id"])]')" = \
  '[["waitapi", "api", "none", "none", "ecdsa-p256", ["DNS:waitapi.local"], "127.0.0.1"], ["waitest", "est", "none", "none", "ecdsa-p256", ["DNS:waitest.local", "IP:10.0.0.9"], "127.0.0.1"]]' ] ||
	fail "pending requests: $(cat "$T/b")"
[ "$(js '[r["key_id"] for r in j["requests"] if r["device_id"] == "waitest"][0]')" = "$(keyhex waitest)" ] ||
	fail "waitest's key_id is not the SHA-256 of its key: $(cat "$T/b")"
[ "$(js 'all(isinstance(r["created_at"], int) and r["last_seen"] >= r["created_at"] for r in j["requests"])')" = True ] ||
	fail "created_at / last_seen: $(cat "$T/b")"
[ "$(sql "SELECT door FROM requests WHERE device_id = 'waitest'")" = est ] || fail "the door is not stored"
get '/api/v1/requests?state=issued'
[ "$(js 'sorted(r["door"] for r in j["requests"])')" = '["api", "api", "api"]' ] || fail "issued doors: $(cat "$T/b")"
ok "requests say their door (api, est), key type, key id, names, source and times"

# A press with both waiting: an overlap holds them, and they say so.
"$LANCA" press --dir "$D" >/dev/null || fail "press with two waiting"
get '/api/v1/requests?state=pending'
[ "$(js '[(r["device_id"], r["via"]) for r in sorted(j["requests"], key=lambda r: r["device_id"])]')" = \
  '[["waitapi", "window"], ["waitest", "window"]]' ] || fail "via after an overlap: $(cat "$T/b")"
[ "$(js 'j["window"]["state"]')" = overlap ] || fail "the window after the press: $(cat "$T/b")"
"$LANCA" pending --dir "$D" >"$T/pending.out" 2>&1 || fail "lanca pending: $(cat "$T/pending.out")"
grep -q '^[0-9a-f]*  *waitest  *127\.0\.0\.1  *est/window ' "$T/pending.out" &&
	grep -q '^[0-9a-f]*  *waitapi  *127\.0\.0\.1  *api/window ' "$T/pending.out" ||
	fail "lanca pending names no door and way: $(cat "$T/pending.out")"
ok "an overlap: the requests it holds say via window (API and lanca pending: est/window)"

# ---- certificates: list, sort, page, search, filter ----
serial_of() {
	openssl x509 -in "$T/$1.resp.1.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f'
}
SA=$(serial_of alpha); SB=$(serial_of bravo); SC=$(serial_of charlie)
get /api/v1/certificates
[ "$code" = 200 ] || fail "certificates: $code $(cat "$T/b")"
[ "$(js 'devs(j["items"])')" = '["bravo", "alpha", "charlie"]' ] ||
	fail "default order is not newest issued first: $(cat "$T/b")"
[ "$(js 'j["items"][-1]["device_id"]')" = "$GW" ] || fail "the gateway's is not the oldest: $(cat "$T/b")"
[ "$(js 'j["next_cursor"]')" = None ] || fail "one page holds four: $(cat "$T/b")"
[ "$(js '[(c["serial"], c["names"], c["status"]) for c in j["items"] if c["device_id"] == "bravo"][0]')" = \
  "('$SB', ['DNS:bravo.local', 'IP:10.0.0.2'], 'valid')" ] || fail "bravo's row ($SB): $(cat "$T/b")"
na=$(date -d "$(openssl x509 -in "$T/alpha.resp.1.pem" -noout -enddate | cut -d= -f2)" +%s)
[ "$(js '[c["not_after"] for c in j["items"] if c["device_id"] == "alpha"][0]')" = "$na" ] ||
	fail "alpha's not_after is not its certificate's ($na): $(cat "$T/b")"
get '/api/v1/certificates?sort=device&order=asc'
[ "$(js 'devs(j["items"])')" = '["alpha", "bravo", "charlie"]' ] || fail "sort=device asc: $(cat "$T/b")"
get '/api/v1/certificates?sort=device&order=desc'
[ "$(js 'devs(j["items"])')" = '["charlie", "bravo", "alpha"]' ] || fail "sort=device desc: $(cat "$T/b")"
get '/api/v1/certificates?sort=issued&order=asc'
[ "$(js 'devs(j["items"])')" = '["charlie", "alpha", "bravo"]' ] || fail "sort=issued asc: $(cat "$T/b")"
get '/api/v1/certificates?sort=expires&order=asc'
[ "$(js '[c["not_after"] for c in j["items"]] == sorted(c["not_after"] for c in j["items"]) and len(j["items"])')" = 4 ] ||
	fail "sort=expires asc: $(cat "$T/b")"
ok "certificates: newest first, sorted by device, issuance or expiry, either way"

# A page at a time in every order: each certificate once, in order.
for sort in issued expires device; do
	for order in asc desc; do
		seen=; cursor=; n=0
		while :; do
			get "/api/v1/certificates?sort=$sort&order=$order&limit=1${cursor:+&cursor=$cursor}"
			[ "$code" = 200 ] || fail "page $n of $sort $order: $code $(cat "$T/b")"
			seen="$seen$(js 'j["items"][0]["device_id"]') "
			cursor=$(js 'j["next_cursor"] or ""')
			n=$((n + 1))
			[ -n "$cursor" ] || break
			[ $n -lt 5 ] || fail "$sort $order pages do not end"
		done
		get "/api/v1/certificates?sort=$sort&order=$order"
		[ "$seen" = "$(js '" ".join(c["device_id"] for c in j["items"])') " ] ||
			fail "$sort $order a page at a time: $seen"
	done
done
ok "certificates a page at a time (limit=1, next_cursor) in every order: each once, in order"

get '/api/v1/certificates?q=bravo'
[ "$(js 'devs(j["items"])')" = '["bravo"]' ] || fail "q=bravo: $(cat "$T/b")"
get '/api/v1/certificates?q=CHARLIE.l'
[ "$(js 'devs(j["items"])')" = '["charlie"]' ] || fail "q by name, any case: $(cat "$T/b")"
get '/api/v1/certificates?q=10.0.0.2'
[ "$(js 'devs(j["items"])')" = '["bravo"]' ] || fail "q by IP: $(cat "$T/b")"
pre=$(printf '%s' "$SA" | cut -c1-11)
get "/api/v1/certificates?q=$(printf '%s' "$pre" | tr 'a-f' 'A-F')"
[ "$(js "[c['serial'] for c in j['items'] if c['serial'].startswith('$pre')] == [c['serial'] for c in j['items']] and '$SA' in [c['serial'] for c in j['items']]")" = True ] ||
	fail "q=serial prefix $pre: $(cat "$T/b")"
get '/api/v1/certificates?q=local&sort=device&order=asc'
[ "$(js 'devs(j["items"])')" = '[]' ] || fail "q matches inside a name: $(cat "$T/b")"
get '/api/v1/certificates?q=zzz'
[ "$(js 'j["items"]')" = '[]' ] || fail "q=zzz: $(cat "$T/b")"
ok "q finds a device id, a name (any case, DNS or IP) or a serial prefix; nothing else"

# ---- one certificate ----
get "/api/v1/certificates/$SA"
[ "$code" = 200 ] || fail "alpha's certificate: $code $(cat "$T/b")"
js 'j["pem"]' | sed '/^$/d' >"$T/alpha.api.pem"
cmp -s "$T/alpha.api.pem" "$T/alpha.resp.1.pem" || fail "the PEM is not the device's: $(diff "$T/alpha.api.pem" "$T/alpha.resp.1.pem")"
[ "$(js '(j["serial"], j["device_id"], j["status"], j["revoked_at"], j["revoke_reason"], j["subject"])')" = \
  "('$SA', 'alpha', 'valid', None, None, 'CN=alpha')" ] || fail "alpha's detail: $(cat "$T/b")"
[ "$(js 'j["request_id"]')" = "$(sql "SELECT request_id FROM certificates WHERE device_id = 'alpha'")" ] ||
	fail "request_id: $(cat "$T/b")"
[ "$(js 'sorted(set(h["subject"] for h in j["history"]))')" = '["alpha"]' ] &&
	[ "$(js '[h["event"] for h in j["history"]][0]')" = issue ] &&
	[ "$(js 'j["history"][-1]["event"]')" = enroll ] || fail "alpha's history: $(cat "$T/b")"
[ "$(js 'j["history"][0]["detail"]["serial"]')" = "$SA" ] || fail "history detail: $(cat "$T/b")"
get "/api/v1/certificates/$(printf '%s' "$SA" | tr 'a-f' 'A-F')"
[ "$code" = 200 ] && [ "$(js 'j["serial"]')" = "$SA" ] || fail "an upper-case serial: $code"
ok "a certificate: the PEM the device got, subject, request, history newest first"

bad /api/v1/certificates/xyz 400 "a serial is 2 to 40 hex digits"
bad /api/v1/certificates/abc 400 "a serial is"
bad "/api/v1/certificates/$(printf '%042d' 1)" 400 "a serial is"
bad /api/v1/certificates/00112233 404 "no certificate with serial 00112233"

# ---- revocation ----
post "/api/v1/certificates/$SA/revoke" -H "$J" --data-binary '{"reason": "stolen"}'
[ "$code" = 403 ] || fail "revoke without the CSRF token: $code"
post "/api/v1/certificates/$SA/revoke" -H "$J" -H "X-CSRF-Token: $CSRF" -H 'Origin: https://evil.example' \
	--data-binary '{"reason": "stolen"}'
[ "$code" = 403 ] || fail "revoke from another origin: $code"
[ "$(sql "SELECT status FROM certificates WHERE device_id = 'alpha'")" = valid ] || fail "revoked without the token"
long=$(python3 -c 'print("x" * 201)')
post "/api/v1/certificates/$SA/revoke" -H "$J" -H "X-CSRF-Token: $CSRF" --data-binary "{\"comment\": \"$long\"}"
[ "$code" = 400 ] && grep -q "a comment is text of at most 200 bytes" "$T/b" || fail "a 201-byte comment: $code $(cat "$T/b")"
post "/api/v1/certificates/$SA/revoke" -H "$J" -H "X-CSRF-Token: $CSRF" --data-binary '{"reason": "key lost"}'
[ "$code" = 400 ] && grep -q "unknown revocation reason 'key lost'" "$T/b" || fail "a reason that is no code: $code $(cat "$T/b")"
post "/api/v1/certificates/zz/revoke" -H "$J" -H "X-CSRF-Token: $CSRF" --data-binary '{}'
[ "$code" = 404 ] && grep -q "no certificate with serial zz and no device zz" "$T/b" ||
	fail "revoke a bad serial: $code $(cat "$T/b")"
post "/api/v1/certificates/$SA/revoke" -H "$J" -H "X-CSRF-Token: $CSRF" --data-binary '{"reason": 7}'
[ "$code" = 400 ] || fail "a number for a reason: $code"
[ "$(sql "SELECT count(*) FROM audit WHERE event = 'revoke'")" = 0 ] || fail "a refused revocation was audited"
ok "revoke needs the CSRF token and our origin (403); bad reason or comment: 400, unknown target: 404, nothing written"

post "/api/v1/certificates/$SA/revoke" -H "$J" -H "X-CSRF-Token: $CSRF" --data-binary '{"reason": "keyCompromise", "comment": "key lost"}'
[ "$code" = 200 ] || fail "revoke: $code $(cat "$T/b")"
[ "$(js '(j["serial"], j["status"])')" = "('$SA', 'revoked')" ] || fail "revoke answer: $(cat "$T/b")"
post "/api/v1/certificates/$SA/revoke" -H "$J" -H "X-CSRF-Token: $CSRF" --data-binary '{"reason": "superseded"}'
[ "$code" = 409 ] && grep -q "revoked already" "$T/b" || fail "revoke twice: $code $(cat "$T/b")"
get "/api/v1/certificates/$SA"
[ "$(js '(j["status"], j["revoke_reason"], j["revoke_comment"], j["revoked_at"] >= j["issued_at"], j["history"][0]["event"], j["history"][0]["actor"])')" = \
  "('revoked', 'keyCompromise', 'key lost', True, 'revoke', 'admin admin')" ] || fail "after revoking: $(cat "$T/b")"
[ "$(sql "SELECT count(*) FROM audit WHERE event = 'revoke' AND subject = 'alpha'")" = 1 ] || fail "one revoke row"
get '/api/v1/certificates?status=revoked'
[ "$(js 'devs(j["items"])')" = '["alpha"]' ] || fail "status=revoked: $(cat "$T/b")"
get '/api/v1/certificates?status=valid&sort=device'
[ "$(js 'devs(j["items"])')" = '["charlie", "bravo"]' ] && [ "$(js 'len(j["items"])')" = 3 ] || fail "status=valid: $(cat "$T/b")"
get '/api/v1/certificates?status=revoked&q=alp'
[ "$(js 'devs(j["items"])')" = '["alpha"]' ] || fail "status=revoked&q=alp: $(cat "$T/b")"
get '/api/v1/certificates?status=valid&q=alp'
[ "$(js 'j["items"]')" = '[]' ] || fail "status=valid&q=alp: $(cat "$T/b")"
ok "revoke: 200, the status and reason change, one audit row by the admin, 409 the second time"

make_csr alpha2 alpha "DNS:alpha.local"
openssl req -in "$T/alpha2.csr" -outform der -out "$T/alpha2.der"
st=$(tcurl -o "$T/ren.resp" -w '%{http_code}' --cert "$T/alpha.resp.1.pem" --key "$T/alpha.key" \
	-H 'Content-Type: application/pkcs10' --data-binary @"$T/alpha2.der" "$HTTPS_URL/api/v1/renew")
refused=$st
case "$refused" in 4*) ;; *) fail "renewal with the revoked certificate: $st $(cat "$T/ren.resp")" ;; esac
grep -q "revoked" "$T/ren.resp" || fail "the renewal refusal does not say revoked: $(cat "$T/ren.resp")"
st=$(tcurl -o "$T/ren.resp" -w '%{http_code}' --cert "$T/bravo.resp.1.pem" --key "$T/bravo.key" \
	-H 'Content-Type: application/pkcs10' --data-binary @"$T/bravo.der" "$HTTPS_URL/api/v1/renew")
[ "$st" = 201 ] || fail "renewal with a valid certificate: $st $(cat "$T/ren.resp")"
ok "renewal with the revoked certificate: $refused; a valid one still renews"

# ---- audit ----
get '/api/v1/audit?event=issue'
[ "$code" = 200 ] || fail "audit: $code"
[ "$(js 'devs(j["items"])')" = '["bravo", "bravo", "alpha", "charlie"]' ] &&
	[ "$(js 'j["items"][-1]["subject"]')" = "$GW" ] ||
	fail "event=issue: $(cat "$T/b")"
[ "$(js 'all(r["event"] == "issue" and isinstance(r["at"], int) for r in j["items"])')" = True ] || fail "event=issue rows"
get '/api/v1/audit?device=alpha'
[ "$(js 'sorted(set(r["subject"] for r in j["items"]))')" = '["alpha"]' ] &&
	[ "$(js 'j["items"][0]["event"]')" = revoke ] || fail "device=alpha: $(cat "$T/b")"
[ "$(js '[r["id"] for r in j["items"]] == sorted((r["id"] for r in j["items"]), reverse=True)')" = True ] ||
	fail "audit not newest first"
get '/api/v1/audit?device=alpha&event=revoke'
[ "$(js '[(r["event"], r["subject"], r["detail"]["reason"], r["detail"]["comment"]) for r in j["items"]]')" = '[["revoke", "alpha", "keyCompromise", "key lost"]]' ] ||
	fail "device=alpha&event=revoke: $(cat "$T/b")"
get '/api/v1/audit?device=nobody'
[ "$(js 'j["items"]')" = '[]' ] || fail "device=nobody"
get /api/v1/audit
total=$(js 'len(j["items"])')
seen=0; cursor=
while :; do
	get "/api/v1/audit?limit=2${cursor:+&cursor=$cursor}"
	seen=$((seen + $(js 'len(j["items"])')))
	cursor=$(js 'j["next_cursor"] or ""')
	[ -n "$cursor" ] || break
done
[ "$seen" = "$total" ] || fail "audit pages hold $seen rows, not $total"
ok "audit: newest first, by event, by device, both, a page at a time ($total rows)"

# ---- overview ----
get /api/v1/overview
[ "$code" = 200 ] || fail "overview: $code"
now=$(date +%s)
# The daemon's today: the start of a UTC day, this one (or, a second past
# midnight, the one before).
today=$(js 'j["expiring_per_week"][0]["week_start"]')
[ $((today % 86400)) = 0 ] && [ $((now - today)) -ge 0 ] && [ $((now - today)) -lt 86460 ] ||
	fail "the weeks start at $today, not at the start of today ($now)"
# Valid: charlie, bravo's renewed certificate and the gateway; alpha
# revoked, and bravo's first certificate (superseded by its renewal);
# waitapi and waitest pending.
[ "$(js 'j["totals"]')" = '{"pending": 2, "revoked": 2, "valid": 3}' ] || fail "totals: $(cat "$T/b")"
# Issued: those five, each counted on its day (the test may cross midnight).
sql "SELECT issued_at FROM certificates" >"$T/issued"
[ "$(wc -l <"$T/issued")" = 5 ] || fail "five certificates: $(cat "$T/issued")"
[ "$(js 'len(j["enrollments_per_day"])')" = 30 ] &&
	[ "$(js 'j["enrollments_per_day"][-1]["day"]')" = "$today" ] &&
	[ "$(js 'j["enrollments_per_day"][0]["day"]')" = $((today - 29 * 86400)) ] ||
	fail "enrollments_per_day's days: $(cat "$T/b")"
[ "$(js '[d["count"] for d in j["enrollments_per_day"]] == [sum(1 for t in open(sys.argv[3]) if d["day"] <= int(t) < d["day"] + 86400) for d in j["enrollments_per_day"]] and sum(d["count"] for d in j["enrollments_per_day"])' "$T/issued")" = 5 ] ||
	fail "enrollments_per_day: $(cat "$T/b") for $(cat "$T/issued")"
sql "SELECT not_after FROM certificates WHERE status = 'valid'" >"$T/expiring"
expect=$(awk -v t="$today" '$1 >= t && $1 < t + 91 * 86400' "$T/expiring" | wc -l)
[ "$expect" = 2 ] || fail "the test expects two valid 90-day certificates and a longer-lived gateway's"
[ "$(js '(len(j["expiring_per_week"]), j["expiring_per_week"][12]["week_start"] - j["expiring_per_week"][0]["week_start"])')" = \
  "(13, $((12 * 604800)))" ] || fail "expiring_per_week's weeks: $(cat "$T/b")"
[ "$(js '[w["count"] for w in j["expiring_per_week"]] == [sum(1 for t in open(sys.argv[3]) if w["week_start"] <= int(t) < w["week_start"] + 604800) for w in j["expiring_per_week"]] and sum(w["count"] for w in j["expiring_per_week"])' "$T/expiring")" = 2 ] ||
	fail "expiring_per_week: $(cat "$T/b") for $(cat "$T/expiring")"
ok "overview: 13 weeks of expiries, 30 days of issuances, totals matching what the test enrolled"

# ---- bad input: 400 naming the problem ----
bad '/api/v1/certificates?sort=name' 400 "sort is issued, expires or device"
bad '/api/v1/certificates?order=up' 400 "order is asc or desc"
bad '/api/v1/certificates?status=expired' 400 "status is valid or revoked"
bad '/api/v1/certificates?limit=0' 400 "limit is 1 to 1000"
bad '/api/v1/certificates?limit=1001' 400 "limit is 1 to 1000"
bad '/api/v1/certificates?limit=-1' 400 "limit is 1 to 1000"
bad '/api/v1/certificates?cursor=r1' 400 "the cursor is not one a listing gave"
bad "/api/v1/certificates?sort=device&cursor=c99999" 400 "the cursor names no certificate"
bad "/api/v1/certificates?q=$(python3 -c 'print("a" * 65)')" 400 "q is at most 64 bytes"
bad '/api/v1/certificates?q=a%01b' 400 "q is at most 64 bytes of text without control characters"
# Refused before any route now (http/strict.c), for the NUL itself.
bad '/api/v1/certificates?q=a%00b' 400 "the URL holds an encoded NUL"
bad '/api/v1/audit?event=Issue' 400 "event is 1 to 32 lower-case letters"
bad '/api/v1/audit?device=a%0ab' 400 "device is a device id"
bad '/api/v1/audit?limit=5000' 400 "limit is 1 to 1000"
bad '/api/v1/audit?cursor=c1' 400 "the cursor is not one a listing gave"
ok "bad sort, order, status, limit, cursor, search, event or device: 400 naming it"

# ---- lanca revoke: through the daemon's control socket, then without one ----
st=0; "$LANCA" revoke zz --dir "$D" >/dev/null 2>"$T/err" || st=$?
[ $st = 1 ] && grep -q "no certificate with serial zz and no device zz" "$T/err" ||
	fail "lanca revoke zz: exit $st, $(cat "$T/err")"
st=0; "$LANCA" revoke "$SC" --reason decommissioned --dir "$D" >/dev/null 2>"$T/err" || st=$?
[ $st = 2 ] && grep -q "unknown revocation reason 'decommissioned'" "$T/err" ||
	fail "lanca revoke --reason decommissioned: exit $st, $(cat "$T/err")"
"$LANCA" revoke "$(printf '%s' "$SC" | tr 'a-f' 'A-F')" --reason cessationOfOperation \
	--comment decommissioned --dir "$D" >"$T/out" 2>&1 || fail "lanca revoke: $(cat "$T/out")"
[ "$(head -n 1 "$T/out")" = "revoked certificate $SC (cessationOfOperation)" ] || fail "lanca revoke says: $(cat "$T/out")"
get "/api/v1/certificates/$SC"
[ "$(js '(j["status"], j["revoke_reason"], j["revoke_comment"], j["history"][0]["event"], j["history"][0]["actor"].startswith("cli "))')" = \
  "('revoked', 'cessationOfOperation', 'decommissioned', 'revoke', True)" ] || fail "after lanca revoke: $(cat "$T/b")"
st=0; "$LANCA" revoke "$SC" --dir "$D" >/dev/null 2>"$T/err" || st=$?
[ $st = 1 ] && grep -q "revoked already" "$T/err" || fail "lanca revoke twice: exit $st, $(cat "$T/err")"
ok "lanca revoke SERIAL --reason --comment: through the running daemon, audited as the CLI's user; twice: exit 1"

stop_serve || fail "lanca serve exited non-zero"
# bravo's first certificate was superseded by its renewal: the device id
# revokes the one it holds now.
"$LANCA" revoke bravo --dir "$D" >"$T/out" 2>&1 || fail "lanca revoke without a daemon: $(cat "$T/out")"
[ "$(sql "SELECT group_concat(status) FROM certificates WHERE device_id = 'bravo'")" = revoked,revoked ] &&
	[ "$(sql "SELECT count(*) FROM audit WHERE event = 'revoke'")" = 4 ] || fail "revoked without a daemon"
ok "lanca revoke without a daemon: the same, in the store directly"
