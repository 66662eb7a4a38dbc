#!/bin/sh
# t_admin.sh - administrator accounts and sessions against the real
# daemon: `lanca admin passwd`, POST /api/v1/login and /logout, the
# session cookie's flags, the CSRF and Origin checks on an admin action
# (POST /api/v1/press), the failed-login backoff, the audit rows, and no
# password in the database or the daemon's log.
. "$(dirname "$0")/lib.sh"

D="$T/state"
# Distinctive strings, so that grep finds any copy of them.
PW='Adm1n-pass:phrase-7f3a9c'
WRONG='Wr0ng-guess:phrase-51be02'
PW2='Sec0nd-admin:phrase-c4d8e1'

"$LANCA" init --dir "$D" --name admin >/dev/null || fail "init"
ROOT_PEM="$D/root.pem"

# ---- the CLI ----
printf '%s\n' "$PW" >"$T/pw"
"$LANCA" admin passwd admin --dir "$D" --password-file "$T/pw" >"$T/out" 2>&1 ||
	fail "admin passwd --password-file: $(cat "$T/out")"
printf '%s\n' "$PW2" | "$LANCA" admin passwd second --dir "$D" >"$T/out" 2>&1 ||
	fail "admin passwd from a pipe: $(cat "$T/out")"
ok "lanca admin passwd takes the password from a file or a pipe"

st=0; "$LANCA" admin passwd --dir "$D" 2>/dev/null || st=$?
[ $st = 2 ] || fail "admin passwd without a user: exit $st, not 2"
st=0; "$LANCA" admin passwd 'bad user' --dir "$D" --password-file "$T/pw" 2>/dev/null || st=$?
[ $st = 2 ] || fail "admin passwd with a bad user name: exit $st, not 2"
st=0; "$LANCA" admin frobnicate 2>/dev/null || st=$?
[ $st = 2 ] || fail "admin with an unknown subcommand: exit $st, not 2"
printf 'short\n' >"$T/short"
st=0; "$LANCA" admin passwd admin --dir "$D" --password-file "$T/short" 2>"$T/err" || st=$?
[ $st = 1 ] && grep -q "^lanca admin: " "$T/err" || fail "a 5-character password: exit $st, $(cat "$T/err")"
st=0; "$LANCA" admin passwd admin --dir "$D" --password-file "$T/nope" 2>/dev/null || st=$?
[ $st = 1 ] || fail "a missing password file: exit $st, not 1"
ok "lanca admin: usage errors exit 2, a short password or missing file exits 1"

start_serve "$D"
ORIGIN="https://localhost:$HTTPS_PORT"

# req URL CURL-ARGS...: POST, headers in $T/h, body in $T/b, status in $code.
req() {
	url=$1
	shift
	rm -f "$T/h" "$T/b"
	code=$(tcurl -X POST -D "$T/h" -o "$T/b" -w '%{http_code}' "$@" "$HTTPS_URL$url") || code=000
}

login() {
	req /api/v1/login -H 'Content-Type: application/json' -H "Origin: $ORIGIN" \
		--data-binary "{\"user\": \"$1\", \"password\": \"$2\"}"
}

hdr() {
	tr -d '\r' <"$T/h" | grep -i "^$1" || true
}

# ---- login ----
login admin "$WRONG"
[ "$code" = 401 ] || fail "wrong password: $code, not 401"
grep -q '"error":"unauthorized"' "$T/b" && grep -q 'wrong user or password' "$T/b" ||
	fail "wrong password body: $(cat "$T/b")"
[ -z "$(hdr 'Set-Cookie')" ] || fail "a failed login sets a cookie"
cp "$T/b" "$T/wrong.json"
login nosuchadmin "$WRONG"
[ "$code" = 401 ] || fail "unknown user: $code, not 401"
cmp -s "$T/b" "$T/wrong.json" || fail "unknown user and wrong password answer differently"
ok "a wrong password and an unknown user both get the same 401"

req /api/v1/login -H 'Content-Type: text/plain' --data-binary "{\"user\": \"admin\", \"password\": \"$PW\"}"
[ "$code" = 415 ] || fail "login as text/plain: $code, not 415"
req /api/v1/login -H 'Content-Type: application/json' --data-binary '{"user": "admin"'
[ "$code" = 400 ] || fail "login with broken JSON: $code, not 400"
req /api/v1/login -H 'Content-Type: application/json' --data-binary '{"user": "admin", "password": 7}'
[ "$code" = 400 ] || fail "login with a number for a password: $code, not 400"
req /api/v1/login -H 'Content-Type: application/json' -H 'Origin: https://evil.example' \
	--data-binary "{\"user\": \"admin\", \"password\": \"$PW\"}"
[ "$code" = 403 ] && [ -z "$(hdr 'Set-Cookie')" ] || fail "login from another origin: $code, not 403"
ok "login refuses other media types (415), malformed JSON (400), other origins (403)"

login admin "$PW"
[ "$code" = 200 ] || fail "right password: $code, not 200: $(cat "$T/b")"
cookie=$(hdr 'Set-Cookie: __Host-lanca_session=')
[ -n "$cookie" ] || fail "no __Host-lanca_session cookie: $(cat "$T/h")"
for flag in '; Secure' '; HttpOnly' '; SameSite=Strict' '; Path=/' '; Max-Age=43200'; do
	case "$cookie" in
	*"$flag"*) ;;
	*) fail "the session cookie lacks '$flag': $cookie" ;;
	esac
done
TOKEN=$(printf '%s\n' "$cookie" | sed -n 's/^[^=]*: __Host-lanca_session=\([0-9a-f]*\);.*/\1/p')
[ ${#TOKEN} = 64 ] || fail "the session token is not 64 hex digits: $cookie"
CSRF=$(python3 - "$T/b" <<'PY'
import json, re, sys
j = json.load(open(sys.argv[1]))
assert j["user"] == "admin", j
assert re.fullmatch(r"[0-9a-f]{64}", j["csrf"]), j
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", j["expires_at"]), j
print(j["csrf"])
PY
) || fail "login answer: $(cat "$T/b")"
[ "$CSRF" != "$TOKEN" ] || fail "the CSRF token is the session token"
ok "login: 200 with a Secure, HttpOnly, SameSite=Strict session cookie and a CSRF token"

# ---- an admin action: session and CSRF checks ----
C="__Host-lanca_session=$TOKEN"
J='Content-Type: application/json'
req /api/v1/press -H "$J" --data-binary '{"seconds": 30}'
[ "$code" = 401 ] || fail "press without a cookie: $code, not 401"
grep -q 'login required' "$T/b" || fail "press without a cookie: $(cat "$T/b")"
bad=$(printf '%s' "$TOKEN" | tr '0-9a-f' '1-9a-f0')
req /api/v1/press -H "$J" -b "__Host-lanca_session=$bad" -H "X-CSRF-Token: $CSRF" --data-binary '{"seconds": 30}'
[ "$code" = 401 ] || fail "press with an unknown session: $code, not 401"
req /api/v1/press -H "$J" -b "__Host-lanca_session=${TOKEN}0" -H "X-CSRF-Token: $CSRF" --data-binary '{}'
[ "$code" = 401 ] || fail "press with a 65-digit token: $code, not 401"
ok "an admin action without a valid session cookie: 401"

req /api/v1/press -H "$J" -b "$C" --data-binary '{"seconds": 30}'
[ "$code" = 403 ] || fail "press without X-CSRF-Token: $code, not 403"
grep -q 'CSRF' "$T/b" || fail "press without X-CSRF-Token: $(cat "$T/b")"
wrong_csrf=$(printf '%s' "$CSRF" | tr '0-9a-f' '1-9a-f0')
req /api/v1/press -H "$J" -b "$C" -H "X-CSRF-Token: $wrong_csrf" --data-binary '{"seconds": 30}'
[ "$code" = 403 ] || fail "press with a wrong CSRF token: $code, not 403"
req /api/v1/press -H "$J" -b "$C" -H "X-CSRF-Token: $TOKEN" --data-binary '{"seconds": 30}'
[ "$code" = 403 ] || fail "press with the session token as CSRF token: $code, not 403"
req /api/v1/press -H "$J" -b "$C" -H "X-CSRF-Token: $CSRF" -H 'Origin: https://evil.example' \
	--data-binary '{"seconds": 30}'
[ "$code" = 403 ] || fail "press from another origin: $code, not 403"
ok "an admin action without the right CSRF token, or from another origin: 403"

req /api/v1/press -H "$J" -b "$C" -H "X-CSRF-Token: $CSRF" -H "Origin: $ORIGIN" \
	--data-binary '{"seconds": 30}'
[ "$code" = 200 ] || fail "press with session and CSRF token: $code, not 200: $(cat "$T/b")"
req /api/v1/press -H "$J" -b "$C" -H "X-CSRF-Token: $CSRF" --data-binary '{"seconds": 30}'
[ "$code" = 200 ] || fail "press with session and CSRF token, no Origin: $code, not 200"
ok "an admin action with the session cookie and its CSRF token: 200"

# A second session is independent of the first.
login second "$PW2"
[ "$code" = 200 ] || fail "second admin login: $code"
T2=$(hdr 'Set-Cookie: __Host-lanca_session=' | sed -n 's/^[^=]*: __Host-lanca_session=\([0-9a-f]*\);.*/\1/p')
[ ${#T2} = 64 ] && [ "$T2" != "$TOKEN" ] || fail "second session token"
req /api/v1/press -H "$J" -b "__Host-lanca_session=$T2" -H "X-CSRF-Token: $CSRF" --data-binary '{}'
[ "$code" = 403 ] || fail "one session's CSRF token accepted for another: $code"
ok "a CSRF token belongs to its own session"

# ---- logout ----
req /api/v1/logout -b "$C"
[ "$code" = 403 ] || fail "logout without X-CSRF-Token: $code, not 403"
req /api/v1/logout -b "$C" -H "X-CSRF-Token: $CSRF"
[ "$code" = 200 ] || fail "logout: $code, not 200: $(cat "$T/b")"
case "$(hdr 'Set-Cookie: __Host-lanca_session=')" in
*'Max-Age=0'*) ;;
*) fail "logout does not clear the cookie: $(cat "$T/h")" ;;
esac
req /api/v1/press -H "$J" -b "$C" -H "X-CSRF-Token: $CSRF" --data-binary '{"seconds": 30}'
[ "$code" = 401 ] || fail "press after logout: $code, not 401"
req /api/v1/logout -b "$C" -H "X-CSRF-Token: $CSRF"
[ "$code" = 401 ] || fail "logout twice: $code, not 401"
ok "logout ends the session: its cookie then gets 401"

# ---- the audit log ----
sql "SELECT event || ' ' || actor || ' ' || coalesce(subject, '-') FROM audit" \
	>"$T/audit" || fail "reading the audit table"
grep -q '^login api 127.0.0.1 admin$' "$T/audit" || fail "no login audit row: $(cat "$T/audit")"
grep -q '^login-failed api 127.0.0.1 admin$' "$T/audit" || fail "no login-failed row for admin"
grep -q '^login-failed api 127.0.0.1 -$' "$T/audit" || fail "no login-failed row for the unknown user"
if grep -q 'nosuchadmin' "$T/audit"; then fail "the audit log names a user that does not exist"; fi
ok "logins and failed logins are audited with the client address"

# ---- failed-login backoff (last: it locks 127.0.0.1 out) ----
i=0
while [ $i -lt 5 ]; do
	login admin "$WRONG"
	[ "$code" = 401 ] || fail "failed login $i: $code, not 401"
	i=$((i + 1))
done
login admin "$WRONG"
[ "$code" = 429 ] || fail "a sixth failed login in a row: $code, not 429"
ra=$(hdr 'Retry-After:' | sed 's/^[^:]*: *//')
[ -n "$ra" ] && [ "$ra" -gt 0 ] || fail "429 without a positive Retry-After: $(cat "$T/h")"
login admin "$PW"
[ "$code" = 429 ] || fail "the right password during the backoff: $code, not 429"
ok "five failed logins make the address wait (429, Retry-After: $ra)"

# Guesses sent all at once from another address: attempts still being
# checked count against the limit, so at most five are even tried. Not
# under valgrind (make check-valgrind): there some of the sixteen got an
# empty reply, most likely the daemon's 10 s request deadline
# (HTTPD_REQUEST_S) met by queued valgrind-slow handshakes and Argon2id.
i=0
pids=
[ -z "${LANCA_WRAPPER:-}" ] || { echo "# skipped under valgrind: 16 parallel guesses"; i=16; }
while [ $i -lt 16 ]; do
	curl -s --max-time 20 --interface 127.0.3.1 --resolve "localhost:$HTTPS_PORT:127.0.0.1" \
		--cacert "$ROOT_PEM" -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' \
		-H "Origin: $ORIGIN" --data-binary "{\"user\": \"admin\", \"password\": \"$WRONG\"}" \
		"$HTTPS_URL/api/v1/login" >"$T/par.$i" &
	pids="$pids $!"
	i=$((i + 1))
done
if [ -n "$pids" ]; then
	# shellcheck disable=SC2086
	wait $pids	# not the daemon, which is a background job too
	tried=$(cat "$T"/par.* | grep -c '^401$' || true)
	refused=$(cat "$T"/par.* | grep -c '^429$' || true)
	[ "$tried" -le 5 ] && [ $((tried + refused)) = 16 ] ||
		fail "16 parallel guesses: $tried tried (401), $refused refused (429)"
	ok "16 parallel guesses from one address: $tried checked, $refused refused at once"
fi

# ---- no password anywhere ----
stop_serve || fail "serve exited non-zero"
store_dump "$D" >"$T/dump.sql" || fail "dumping the store"
grep -q 'argon2id' "$T/dump.sql" || fail "the dump holds no Argon2id hash: is this the right database?"
for p in "$PW" "$WRONG" "$PW2"; do
	if grep -qF "$p" "$T/dump.sql"; then fail "a password is in the database dump"; fi
	for f in "$D"/lanca.db*; do
		if grep -qaF "$p" "$f"; then fail "a password is in $f"; fi
	done
	if grep -qaF "$p" "$T/serve.log"; then fail "a password is in serve.log"; fi
done
for t in "$TOKEN" "$T2" "$CSRF"; do
	if grep -qaF "$t" "$T/serve.log"; then fail "a token is in serve.log"; fi
done
if grep -qaF "$TOKEN" "$T/dump.sql"; then fail "a session token is in the database"; fi
ok "no password or session token in the database or serve.log"
