#!/bin/sh
# t_acme_console.sh - ACME accounts in the admin API against the real
# daemon on loopback (docs/api.md, "GET /api/v1/acme/accounts"): an
# account made with no window open and no EAB key waits; GET
# /api/v1/acme/accounts needs a session and lists it as "waiting" (and
# ?approved= filters, refusing a word it does not know); POST
# .../approve needs the CSRF token, approves it ("admin", audited with the
# admin's name, as `lanca acme accounts --json` then says too), and
# answers 409 a second time, 404 for an unknown id and 400 for a
# malformed one; with `serve --no-acme` the listing is 404.
# The account is made by acme_newacct.py (a signed newAccount request,
# python3-cryptography), so no ACME client is needed.
. "$(dirname "$0")/lib.sh"

D="$T/state"
PW='Acme-c0nsole:phrase-93d1f7'
"$LANCA" init --dir "$D" --name acmeconsole >/dev/null 2>&1 || fail "init"
ROOT_PEM="$D/root.pem"
printf '%s\n' "$PW" >"$T/pw"
"$LANCA" admin passwd admin --dir "$D" --password-file "$T/pw" >/dev/null 2>&1 || fail "admin passwd"
start_serve "$D"
NEWACCT="$TOP_SRCDIR/tests/integration/acme_newacct.py"

# call METHOD URL CURL-ARGS...: headers in $T/h, body in $T/b, status in $code.
call() {
	m=$1
	url=$2
	shift 2
	rm -f "$T/h" "$T/b"
	code=$(tcurl -X "$m" -D "$T/h" -o "$T/b" -w '%{http_code}' "$@" "$HTTPS_URL$url") || code=000
}

# jq-less JSON checks: py FILE EXPRESSION (j is the parsed file).
py() {
	python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$1" "$2"
}

ACCT=$(python3 "$NEWACCT" "$HTTPS_URL" "$ROOT_PEM" mailto:nas@example.org 2>"$T/newacct.err") ||
	fail "newAccount: $(cat "$T/newacct.err")"
[ ${#ACCT} = 22 ] || fail "newAccount gave no 22-character account id: '$ACCT'"
ok "a newAccount request with no window open and no EAB key: account $ACCT"

# ---- without a session ----
call GET /api/v1/acme/accounts
[ "$code" = 401 ] || fail "GET /api/v1/acme/accounts without a session: $code, not 401"
call POST "/api/v1/acme/accounts/$ACCT/approve"
[ "$code" = 401 ] || fail "approve without a session: $code, not 401"
ok "the ACME accounts listing and approval without a session: 401"

# ---- an admin's session ----
call POST /api/v1/login -H 'Content-Type: application/json' \
	--data-binary "{\"user\": \"admin\", \"password\": \"$PW\"}"
[ "$code" = 200 ] || fail "login: $code $(cat "$T/b")"
TOKEN=$(tr -d '\r' <"$T/h" | sed -n 's/^[Ss]et-[Cc]ookie: __Host-lanca_session=\([0-9a-f]*\);.*/\1/p')
CSRF=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["csrf"])' "$T/b")
[ ${#TOKEN} = 64 ] && [ ${#CSRF} = 64 ] || fail "no session token or CSRF token: $(cat "$T/h" "$T/b")"
C="__Host-lanca_session=$TOKEN"

call GET /api/v1/acme/accounts -b "$C"
[ "$code" = 200 ] || fail "GET /api/v1/acme/accounts: $code $(cat "$T/b")"
py "$T/b" "[(a['id'], a['approved'], a['status'], a['contact'], a['source'], a['approved_at'])
	for a in j['items']] == [('$ACCT', 'waiting', 'valid', ['mailto:nas@example.org'], '127.0.0.1', 0)]
	and len(j['items'][0]['thumbprint']) == 43 and j['items'][0]['created_at'] > 0" ||
	fail "the listing does not show $ACCT waiting: $(cat "$T/b")"
call GET '/api/v1/acme/accounts?approved=waiting' -b "$C"
[ "$code" = 200 ] && py "$T/b" "[a['id'] for a in j['items']] == ['$ACCT']" ||
	fail "?approved=waiting: $code $(cat "$T/b")"
call GET '/api/v1/acme/accounts?approved=admin' -b "$C"
[ "$code" = 200 ] && py "$T/b" "j['items'] == []" || fail "?approved=admin before: $code $(cat "$T/b")"
call GET '/api/v1/acme/accounts?approved=pending' -b "$C"
[ "$code" = 400 ] && py "$T/b" "j['error'] == 'bad_request' and 'approved=pending' in j['message']" ||
	fail "?approved=pending: $code $(cat "$T/b")"
ok "an admin lists the account as waiting, with its contact, address and thumbprint; ?approved= filters, and an unknown word is 400"

# ---- approval: CSRF, then the decision ----
call POST "/api/v1/acme/accounts/$ACCT/approve" -b "$C"
[ "$code" = 403 ] || fail "approve without the CSRF token: $code, not 403"
wrong=$(printf '%s' "$CSRF" | tr '0-9a-f' '1-9a-f0')
call POST "/api/v1/acme/accounts/$ACCT/approve" -b "$C" -H "X-CSRF-Token: $wrong"
[ "$code" = 403 ] || fail "approve with a wrong CSRF token: $code, not 403"
call POST "/api/v1/acme/accounts/$ACCT/approve" -b "$C" -H "X-CSRF-Token: $CSRF" \
	-H 'Origin: https://evil.example'
[ "$code" = 403 ] || fail "approve from another origin: $code, not 403"
"$LANCA" acme accounts --dir "$D" --json >"$T/cli.json" || fail "lanca acme accounts --json"
py "$T/cli.json" "[a['approved'] for a in j] == ['waiting']" ||
	fail "refused approvals changed the account: $(cat "$T/cli.json")"
ok "approve without the CSRF token, with a wrong one or from another origin: 403, still waiting"

call POST "/api/v1/acme/accounts/$ACCT/approve" -b "$C" -H "X-CSRF-Token: $CSRF"
[ "$code" = 200 ] || fail "approve: $code $(cat "$T/b")"
py "$T/b" "j == {'id': '$ACCT', 'approved': 'admin'}" || fail "approve answer: $(cat "$T/b")"
call GET /api/v1/acme/accounts -b "$C"
py "$T/b" "[(a['id'], a['approved']) for a in j['items']] == [('$ACCT', 'admin')]
	and j['items'][0]['approved_at'] >= j['items'][0]['created_at'] > 0" ||
	fail "the listing after the approval: $(cat "$T/b")"
call GET '/api/v1/acme/accounts?approved=waiting' -b "$C"
py "$T/b" "j['items'] == []" || fail "still waiting after the approval: $(cat "$T/b")"
"$LANCA" acme accounts --dir "$D" --json >"$T/cli.json" || fail "lanca acme accounts --json"
py "$T/cli.json" "[(a['id'], a['approved']) for a in j] == [('$ACCT', 'admin')]" ||
	fail "lanca acme accounts --json disagrees: $(cat "$T/cli.json")"
call GET '/api/v1/audit?event=acme-approve' -b "$C"
py "$T/b" "[(a['actor'], a['subject']) for a in j['items']] == [('admin admin', '$ACCT')]" ||
	fail "the approval's audit row: $(cat "$T/b")"
ok "approve with the token: 200 {id, approved: admin}, audited as admin admin; the listing and lanca acme accounts --json say admin"

call POST "/api/v1/acme/accounts/$ACCT/approve" -b "$C" -H "X-CSRF-Token: $CSRF"
[ "$code" = 409 ] && py "$T/b" "j['error'] == 'conflict'" || fail "approve again: $code $(cat "$T/b")"
call POST /api/v1/acme/accounts/AAAAAAAAAAAAAAAAAAAAAA/approve -b "$C" -H "X-CSRF-Token: $CSRF"
[ "$code" = 404 ] && py "$T/b" "j['error'] == 'not_found'" || fail "approve an unknown id: $code $(cat "$T/b")"
for bad in short AAAAAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAAA. AAAAAAAAAAAAAAAAAAAA~A; do
	call POST "/api/v1/acme/accounts/$bad/approve" -b "$C" -H "X-CSRF-Token: $CSRF"
	[ "$code" = 400 ] && py "$T/b" "j['error'] == 'bad_request' and 'account id' in j['message']" ||
		fail "approve the malformed id $bad: $code $(cat "$T/b")"
done
ok "approve again: 409; an unknown id: 404; a malformed one: 400"
stop_serve || fail "serve did not stop cleanly"

# ---- the door off ----
start_serve "$D" --no-acme
call POST /api/v1/login -H 'Content-Type: application/json' \
	--data-binary "{\"user\": \"admin\", \"password\": \"$PW\"}"
[ "$code" = 200 ] || fail "login (--no-acme): $code $(cat "$T/b")"
TOKEN=$(tr -d '\r' <"$T/h" | sed -n 's/^[Ss]et-[Cc]ookie: __Host-lanca_session=\([0-9a-f]*\);.*/\1/p')
CSRF=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["csrf"])' "$T/b")
C="__Host-lanca_session=$TOKEN"
call GET /api/v1/acme/accounts -b "$C"
[ "$code" = 404 ] && py "$T/b" "j['error'] == 'not_found' and '--no-acme' in j['message']" ||
	fail "GET /api/v1/acme/accounts with --no-acme: $code $(cat "$T/b")"
call POST "/api/v1/acme/accounts/$ACCT/approve" -b "$C" -H "X-CSRF-Token: $CSRF"
[ "$code" = 404 ] || fail "approve with --no-acme: $code $(cat "$T/b")"
ok "with serve --no-acme: 404 saying the door is off"
stop_serve || fail "serve (--no-acme) did not stop cleanly"
echo "t_acme_console: $n_ok passed, 0 failed"
