#!/bin/sh
# t_session.sh - the first visit and the life of an admin session against
# the real daemon, with curl: the setup code `lanca init` prints (only its
# hash stored), GET and POST /api/v1/setup (wrong code refused and
# throttled, weak password refused, racing setups with the right code: one
# wins, the rest 409, then 409 for good), GET /api/v1/session giving the
# CSRF token back, POST /api/v1/password and `lanca admin passwd` ending
# the other sessions, and the idle (30 min) and absolute (12 h) ends, on a
# daemon whose clock the test moves (libfaketime).
. "$(dirname "$0")/lib.sh"

[ -n "$LIBFAKETIME" ] || { echo "# SKIP: libfaketime is not installed"; exit 77; }

D="$T/state"
PW='Setup-pass:phrase-81c2aa'
PW2='Changed-pass:phrase-0d9e3f'
PW3='Cli-set-pass:phrase-5b7710'

# ---- init prints the code; the database holds only its hash ----
"$LANCA" init --dir "$D" --name session >"$T/init.out" 2>&1 || fail "init: $(cat "$T/init.out")"
CODE=$(sed -n 's/^setup code: \([0-9A-Z-]*\)$/\1/p' "$T/init.out")
printf '%s\n' "$CODE" | grep -Eq '^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$' ||
	fail "init printed no setup code of 4 groups of 4: $(cat "$T/init.out")"
ROOT_PEM="$D/root.pem"
sql "SELECT hash FROM setup_code" | grep -q '^\$argon2id\$' ||
	fail "no Argon2id hash of the setup code in the database"
bare=$(printf '%s' "$CODE" | tr -d -)
for f in "$D"/lanca.db*; do
	if grep -qaF -e "$CODE" -e "$bare" "$f"; then fail "the setup code itself is in $f"; fi
done
ok "lanca init prints a setup code (XXXX-XXXX-XXXX-XXXX); only its Argon2id hash is stored"

# A lost code is replaced from the shell; the old one stops working.
OLD_CODE=$CODE
"$LANCA" admin setup-code --dir "$D" >"$T/code.out" 2>&1 || fail "admin setup-code: $(cat "$T/code.out")"
CODE=$(sed -n 's/^setup code: \([0-9A-Z-]*\)$/\1/p' "$T/code.out")
[ ${#CODE} = 19 ] && [ "$CODE" != "$OLD_CODE" ] || fail "admin setup-code printed no new code: $(cat "$T/code.out")"
ok "lanca admin setup-code replaces the code while no administrator exists"

REAL_LANCA=$LANCA
LANCA=$(clocked_lanca)
start_serve "$D"
LANCA=$REAL_LANCA
ORIGIN="https://localhost:$HTTPS_PORT"
J='Content-Type: application/json'

# post URL BODY CURL-ARGS...: POST JSON, headers in $T/h, body in $T/b, status in $code.
post() {
	url=$1
	body=$2
	shift 2
	rm -f "$T/h" "$T/b"
	code=$(tcurl -X POST -D "$T/h" -o "$T/b" -w '%{http_code}' -H "$J" "$@" \
		--data-binary "$body" "$HTTPS_URL$url") || code=000
}

# get URL CURL-ARGS...
get() {
	url=$1
	shift
	rm -f "$T/h" "$T/b"
	code=$(tcurl -D "$T/h" -o "$T/b" -w '%{http_code}' "$@" "$HTTPS_URL$url") || code=000
}

# The session token of the Set-Cookie in $T/h, or "".
cookie_token() {
	tr -d '\r' <"$T/h" | sed -n 's/^[Ss]et-[Cc]ookie: __Host-lanca_session=\([0-9a-f]*\);.*/\1/p'
}

# json FIELD: a string or boolean field of $T/b.
json() {
	python3 -c 'import json, sys; v = json.load(open(sys.argv[1]))[sys.argv[2]]; print(str(v).lower() if isinstance(v, bool) else v)' \
		"$T/b" "$1"
}

setup_body() {
	printf '{"code": "%s", "user": "%s", "password": "%s"}' "$1" "$2" "$3"
}

login() {
	post /api/v1/login "{\"user\": \"$1\", \"password\": \"$2\"}" -H "Origin: $ORIGIN"
}

# ---- before any admin exists ----
get /api/v1/setup
[ "$code" = 200 ] && [ "$(json needed)" = true ] || fail "GET /api/v1/setup first: $code $(cat "$T/b")"
ok "GET /api/v1/setup: needed while no administrator exists"

post /api/v1/setup "$(setup_body "ABCD-EFGH-JKMN-PQRS" admin "$PW")" -H "Origin: $ORIGIN"
[ "$code" = 403 ] && [ "$(json error)" = forbidden ] || fail "a wrong setup code: $code $(cat "$T/b")"
[ -z "$(cookie_token)" ] || fail "a wrong setup code set a cookie"
post /api/v1/setup "$(setup_body "$OLD_CODE" admin "$PW")"
[ "$code" = 403 ] || fail "the replaced setup code: $code, not 403"
post /api/v1/setup "$(setup_body "not-a-code" admin "$PW")"
[ "$code" = 403 ] || fail "a malformed setup code: $code, not 403"
post /api/v1/setup "$(setup_body "$CODE" admin "$PW")" -H 'Origin: https://evil.example'
[ "$code" = 403 ] && [ -z "$(cookie_token)" ] || fail "setup from another origin: $code, not 403"
post /api/v1/setup "$(setup_body "$CODE" admin short)"
[ "$code" = 400 ] && [ "$(json error)" = bad_request ] || fail "setup with a 5-character password: $code"
post /api/v1/setup "$(setup_body "$CODE" 'bad user' "$PW")"
[ "$code" = 400 ] || fail "setup with a bad user name: $code, not 400"
post /api/v1/setup '{"code": 7}'
[ "$code" = 400 ] || fail "setup with a number for a code: $code, not 400"
get /api/v1/setup
[ "$(json needed)" = true ] || fail "a refused setup made an administrator"
ok "setup: a wrong, replaced or malformed code 403, another origin 403, the passwd rules' refusals 400"

# Wrong codes count as failed logins, per address (here 127.0.4.1).
i=0
while [ $i -lt 6 ]; do
	c=$(curl -s --max-time 20 --interface 127.0.4.1 --resolve "localhost:$HTTPS_PORT:127.0.0.1" \
		--cacert "$ROOT_PEM" -o /dev/null -w '%{http_code}' -H "$J" \
		--data-binary "$(setup_body "ABCD-EFGH-JKMN-PQRS" admin "$PW")" "$HTTPS_URL/api/v1/setup")
	i=$((i + 1))
	[ $i -le 5 ] && { [ "$c" = 403 ] || fail "wrong setup code $i: $c, not 403"; }
done
[ "$c" = 429 ] || fail "a sixth wrong setup code in a row: $c, not 429"
ok "five wrong setup codes from one address make it wait (429), as failed logins do"

# Four setups at once with the right code: one admin, one session. (From
# an address of their own: attempts in flight count against the limit.)
i=0
pids=
while [ $i -lt 4 ]; do
	tcurl --interface 127.0.5.1 -X POST -D "$T/race.h.$i" -o "$T/race.b.$i" -w '%{http_code}' -H "$J" \
		--data-binary "$(setup_body "$(printf '%s' "$CODE" | tr 'A-Z' 'a-z')" "admin$i" "$PW")" \
		"$HTTPS_URL/api/v1/setup" >"$T/race.c.$i" &
	pids="$pids $!"
	i=$((i + 1))
done
# shellcheck disable=SC2086
wait $pids	# not the daemon, which is a background job too
won=$(grep -l '^200$' "$T"/race.c.* | wc -l)
lost=$(grep -l '^409$' "$T"/race.c.* | wc -l)
[ "$won" = 1 ] && [ "$lost" = 3 ] || fail "4 racing setups: $won won, $lost got 409: $(cat "$T"/race.c.*)"
w=$(grep -l '^200$' "$T"/race.c.* | sed 's/.*\.//')
cp "$T/race.h.$w" "$T/h"
cp "$T/race.b.$w" "$T/b"
ADMIN=$(json user)
[ "$ADMIN" = "admin$w" ] || fail "the winner's answer names $ADMIN, not admin$w"
A=$(cookie_token)
[ ${#A} = 64 ] || fail "the setup answer sets no session cookie: $(cat "$T/h")"
tr -d '\r' <"$T/h" | grep -i '^set-cookie:' | grep -q 'Max-Age=43200' ||
	fail "the session cookie does not last 12 hours: $(cat "$T/h")"
CSRF_A=$(json csrf)
[ "$(sql "SELECT count(*) FROM admins")" = 1 ] || fail "racing setups made more than one admin"
[ "$(sql "SELECT count(*) FROM setup_code")" = 0 ] || fail "the setup code outlived the setup"
ok "4 racing setups with the right code (typed in lower case): 1 admin with a 12 h session, 3 got 409"

post /api/v1/setup "$(setup_body "$CODE" other "$PW")" -H "Origin: $ORIGIN"
[ "$code" = 409 ] && [ "$(json error)" = conflict ] || fail "a setup after the first: $code $(cat "$T/b")"
get /api/v1/setup
[ "$(json needed)" = false ] || fail "GET /api/v1/setup after the setup: $(cat "$T/b")"
st=0; "$LANCA" admin setup-code --dir "$D" >/dev/null 2>"$T/err" || st=$?
[ $st = 1 ] && grep -q "exists already" "$T/err" || fail "admin setup-code with an admin: exit $st $(cat "$T/err")"
ok "after the setup: POST /api/v1/setup 409, needed false, no new setup code"

# ---- GET /api/v1/session ----
get /api/v1/session
[ "$code" = 401 ] || fail "GET /api/v1/session without a cookie: $code, not 401"
get /api/v1/session -b "__Host-lanca_session=$A"
[ "$code" = 200 ] || fail "GET /api/v1/session: $code $(cat "$T/b")"
[ "$(json csrf)" = "$CSRF_A" ] && [ "$(json user)" = "$ADMIN" ] ||
	fail "GET /api/v1/session gives another user or CSRF token: $(cat "$T/b")"
python3 - "$T/b" <<'PY' || fail "GET /api/v1/session times: $(cat "$T/b")"
import datetime, json, sys
j = json.load(open(sys.argv[1]))
t = lambda k: datetime.datetime.strptime(j[k], "%Y-%m-%dT%H:%M:%SZ")
assert (t("expires_at") - t("idle_expires_at")).total_seconds() == 11.5 * 3600, j
PY
ok "GET /api/v1/session returns the user, the session's CSRF token and both ends"

# ---- a password change ends the other sessions ----
login "$ADMIN" "$PW"
[ "$code" = 200 ] || fail "login: $code"
B=$(cookie_token)
post /api/v1/password "{\"old\": \"wrong-password-1\", \"new\": \"$PW2\"}" \
	-b "__Host-lanca_session=$A" -H "X-CSRF-Token: $CSRF_A"
[ "$code" = 403 ] || fail "a password change with a wrong old password: $code, not 403"
post /api/v1/password "{\"old\": \"$PW\", \"new\": \"short\"}" \
	-b "__Host-lanca_session=$A" -H "X-CSRF-Token: $CSRF_A"
[ "$code" = 400 ] || fail "a password change to a 5-character password: $code, not 400"
post /api/v1/password "{\"old\": \"$PW\", \"new\": \"$PW2\"}" -b "__Host-lanca_session=$A"
[ "$code" = 403 ] || fail "a password change without the CSRF token: $code, not 403"
get /api/v1/session -b "__Host-lanca_session=$B"
[ "$code" = 200 ] || fail "the other session after refused changes: $code"
post /api/v1/password "{\"old\": \"$PW\", \"new\": \"$PW2\"}" \
	-b "__Host-lanca_session=$A" -H "X-CSRF-Token: $CSRF_A" -H "Origin: $ORIGIN"
[ "$code" = 200 ] || fail "a password change: $code $(cat "$T/b")"
A2=$(cookie_token)
CSRF_A2=$(json csrf)
[ ${#A2} = 64 ] && [ "$A2" != "$A" ] && [ "$CSRF_A2" != "$CSRF_A" ] ||
	fail "a password change gives no new session: $(cat "$T/h")"
get /api/v1/session -b "__Host-lanca_session=$B"
[ "$code" = 401 ] || fail "another session survived the password change: $code"
get /api/v1/session -b "__Host-lanca_session=$A"
[ "$code" = 401 ] || fail "the session that changed the password survived it: $code"
get /api/v1/session -b "__Host-lanca_session=$A2"
[ "$code" = 200 ] && [ "$(json csrf)" = "$CSRF_A2" ] || fail "the new session: $code"
login "$ADMIN" "$PW"
[ "$code" = 401 ] || fail "the old password still logs in: $code"
ok "POST /api/v1/password: wrong old 403, weak new 400; it ends every other session and gives a new one"

login "$ADMIN" "$PW2"
C=$(cookie_token)
printf '%s\n' "$PW3" >"$T/pw3"
"$LANCA" admin passwd "$ADMIN" --dir "$D" --password-file "$T/pw3" >/dev/null 2>&1 || fail "admin passwd"
for t in "$A2" "$C"; do
	get /api/v1/session -b "__Host-lanca_session=$t"
	[ "$code" = 401 ] || fail "a session survived lanca admin passwd: $code"
done
ok "lanca admin passwd ends every session of that admin"

# ---- idle end: 30 minutes without use ----
# The daemon's clock is the real one plus what advance added, so the
# checks before an end keep a minute's margin for the seconds the test
# itself takes.
login "$ADMIN" "$PW3"
S=$(cookie_token)
advance 1740
get /api/v1/session -b "__Host-lanca_session=$S"
[ "$code" = 200 ] || fail "a session used after 29 min: $code, not 200"
advance 1740
get /api/v1/session -b "__Host-lanca_session=$S"
[ "$code" = 200 ] || fail "a session used 29 min after its last use: $code, not 200"
advance 1801
get /api/v1/session -b "__Host-lanca_session=$S"
[ "$code" = 401 ] || fail "a session unused for 30 min 1 s: $code, not 401"
ok "a session ends after 30 minutes without use, and use moves that end on"

# ---- a page's own timer is not use ----
# The console marks its periodic refreshes X-Lanca-Background: 1; they
# answer, but do not move the idle end, so an open tab left alone ends.
login "$ADMIN" "$PW3"
S=$(cookie_token)
i=0
while [ $i -lt 14 ]; do
	advance 120
	get "/api/v1/requests?state=pending" -b "__Host-lanca_session=$S" -H 'X-Lanca-Background: 1'
	[ "$code" = 200 ] || fail "a background refresh at $(( (i + 1) * 2 )) min: $code, not 200"
	i=$((i + 1))
done
advance 180
get /api/v1/session -b "__Host-lanca_session=$S" -H 'X-Lanca-Background: 1'
[ "$code" = 401 ] || fail "a session kept alive by background refreshes only: $code, not 401"
ok "background refreshes (X-Lanca-Background: 1) do not keep an idle session alive"

# ---- absolute end: 12 hours, however much it is used ----
login "$ADMIN" "$PW3"
S=$(cookie_token)
i=0
while [ $i -lt 28 ]; do
	advance 1500
	get /api/v1/session -b "__Host-lanca_session=$S"
	[ "$code" = 200 ] || fail "a session in use after $(( (i + 1) * 25 )) min: $code, not 200"
	i=$((i + 1))
done
advance 1140
get /api/v1/session -b "__Host-lanca_session=$S"
[ "$code" = 200 ] || fail "a session in use at 11 h 59 min: $code, not 200"
advance 61
get /api/v1/session -b "__Host-lanca_session=$S"
[ "$code" = 401 ] || fail "a session in use past 12 h: $code, not 401"
ok "a session used every 25 minutes still ends 12 hours after the login"

# ---- the audit log ----
stop_serve || fail "serve exited non-zero"
sql "SELECT event || ' ' || actor || ' ' || coalesce(subject, '-') FROM audit" \
	>"$T/audit" || fail "reading the audit table"
[ "$(grep -c '^setup-code cli -$' "$T/audit")" = 2 ] || fail "no setup-code audit row: $(cat "$T/audit")"
grep -q "^setup api 127.0.5.1 $ADMIN\$" "$T/audit" || fail "no setup audit row: $(cat "$T/audit")"
grep -q '^setup-failed api 127.0.0.1 -$' "$T/audit" || fail "no setup-failed audit row"
grep -q "^password-failed admin $ADMIN $ADMIN\$" "$T/audit" || fail "no password-failed audit row"
[ "$(grep -c "^admin-set " "$T/audit")" = 2 ] || fail "not two admin-set rows: $(cat "$T/audit")"
for p in "$PW" "$PW2" "$PW3"; do
	if grep -qaF "$p" "$T/serve.log"; then fail "a password is in serve.log"; fi
	for f in "$D"/lanca.db*; do
		if grep -qaF "$p" "$f"; then fail "a password is in $f"; fi
	done
done
ok "setup, wrong codes and password changes are audited; no password in the database or log"
