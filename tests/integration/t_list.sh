#!/bin/sh
# t_list.sh - the inventory from the shell: `lanca list` with each filter
# (status valid, revoked, expired; expiring within a duration; a device)
# as a table and as JSON (parsed with python3), paged with --limit and
# --cursor; `lanca show` by serial and by device id, as text, JSON and
# PEM; `lanca export --chain` verified by openssl; bad input refused with
# a message naming it (exit 2) and unknown serials or devices (exit 1).
# Everything runs twice: with no daemon, and beside a running one.
. "$(dirname "$0")/lib.sh"

D="$T/state"
"$LANCA" init --dir "$D" --name lst >/dev/null 2>&1 || fail "init"
ROOT_PEM="$D/root.pem"
# The gateway's own certificate, issued by init, is the first.
GWS=$(sql "SELECT lower(hex(serial)) FROM certificates WHERE profile = 'gateway'")
[ -n "$GWS" ] || fail "no gateway certificate"

# mk NAME CN DAYS: a certificate for CN valid DAYS days, signed by hand;
# its chain in $T/NAME.chain, its serial (lanca's lower-case hex) printed.
mk() {
	make_csr "$1" "$2"
	"$LANCA" sign "$T/$1.csr" --dir "$D" --days "$3" >"$T/$1.chain" 2>"$T/err" ||
		fail "sign $1: $(cat "$T/err")"
	openssl x509 -in "$T/$1.chain" -noout -serial | sed 's/^serial=//' | tr 'A-F' 'a-f'
}
A1=$(mk a1 dev-a 10)
B=$(mk b dev-b 20)
C=$(mk c dev-c 100)
DD=$(mk d dev-d 5)
A2=$(mk a2 dev-a 200)
"$LANCA" revoke --dir "$D" "$DD" >/dev/null 2>&1 || fail "revoke"

# The serials of a JSON listing (an array, or a page's items), in order.
serials() {
	python3 -c '
import json, sys
d = json.load(sys.stdin)
rows = d["items"] if isinstance(d, dict) else d
for r in rows:
    assert set(r) == {"serial", "device_id", "names", "issued_at", "not_after", "status"}, r
    print(r["serial"])' | tr '\n' ' ' | sed 's/ $//'
}

# expect_err EXIT TEXT CMD...: CMD fails with exit status EXIT and says TEXT.
expect_err() {
	want=$1
	text=$2
	shift 2
	st=0
	"$@" >"$T/out" 2>"$T/err" || st=$?
	[ "$st" = "$want" ] || fail "$*: exit $st, not $want: $(cat "$T/err")"
	grep -q -- "$text" "$T/err" || fail "$*: the message does not say '$text': $(cat "$T/err")"
}

checks() {
	where=$1
	# Every certificate, newest first, as a table and as JSON.
	"$LANCA" list --dir "$D" >"$T/table" || fail "list"
	[ "$(head -n 1 "$T/table" | awk '{ print $1, $2, $3 }')" = "SERIAL DEVICE NOT" ] ||
		fail "list: no header: $(head -n 1 "$T/table")"
	[ "$(sed 1d "$T/table" | awk '{ print $1 }' | tr '\n' ' ')" = "$A2 $DD $C $B $A1 $GWS " ] ||
		fail "list ($where): $(cat "$T/table")"
	grep "^$DD " "$T/table" | grep -q " revoked " || fail "the revoked one is not shown so"
	got=$("$LANCA" list --dir "$D" --json | serials)
	[ "$got" = "$A2 $DD $C $B $A1 $GWS" ] ||
		fail "list --json ($where): $got"
	ok "list ($where): every certificate, newest first, as a table and as the API's JSON rows"

	[ "$("$LANCA" list --dir "$D" --status revoked --json | serials)" = "$DD" ] ||
		fail "--status revoked"
	got=$("$LANCA" list --dir "$D" --status valid --json | serials)
	[ "$got" = "$A2 $C $B $A1 $GWS" ] || fail "--status valid: $got"
	[ "$("$LANCA" list --dir "$D" --status expired --json | serials)" = "" ] ||
		fail "--status expired: something expired already"
	# Expiring: valid ones only (d, revoked, ends sooner), soonest first.
	[ "$("$LANCA" list --dir "$D" --expiring 30d --json | serials)" = "$A1 $B" ] ||
		fail "--expiring 30d"
	[ "$("$LANCA" list --dir "$D" --expiring 15d --status valid --json | serials)" = "$A1" ] ||
		fail "--expiring 15d"
	[ "$("$LANCA" list --dir "$D" --expiring 12h --json | serials)" = "" ] || fail "--expiring 12h"
	[ "$("$LANCA" list --dir "$D" --expiring 950400 --json | serials)" = "$A1" ] ||
		fail "--expiring in seconds"
	[ "$("$LANCA" list --dir "$D" --expiring 264h --json | serials)" = "$A1" ] ||
		fail "--expiring in hours"
	ok "list ($where): --status valid, revoked, expired; --expiring in days, hours, seconds"

	[ "$("$LANCA" list --dir "$D" --device dev-a --json | serials)" = "$A2 $A1" ] ||
		fail "--device dev-a"
	[ "$("$LANCA" list --dir "$D" --device dev-a --expiring 30d --json | serials)" = "$A1" ] ||
		fail "--device with --expiring"
	[ "$("$LANCA" list --dir "$D" --device dev-d --status revoked --json | serials)" = "$DD" ] ||
		fail "--device with --status revoked"
	[ "$("$LANCA" list --dir "$D" --device dev-d --status valid --json | serials)" = "" ] ||
		fail "--device dev-d --status valid"
	[ "$("$LANCA" list --dir "$D" --device nobody --json)" = "[]" ] || fail "--device nobody"
	ok "list ($where): --device, alone and with the other filters"

	# Paging: one page at a time, each cursor passed back, until none.
	for filter in "" "--expiring 300d" "--device dev-a"; do
		all=$("$LANCA" list --dir "$D" $filter --json | serials)
		seen=
		cur=
		pages=0
		while :; do
			# shellcheck disable=SC2086
			"$LANCA" list --dir "$D" $filter --json --limit 2 ${cur:+--cursor "$cur"} \
				>"$T/page" || fail "page $pages of '$filter'"
			seen="$seen $(serials <"$T/page")"
			cur=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["next_cursor"] or "")' <"$T/page")
			pages=$((pages + 1))
			[ $pages -lt 10 ] || fail "paging does not end"
			[ -n "$cur" ] || break
		done
		[ "$(echo $seen)" = "$all" ] || fail "pages of '$filter': $seen, not $all"
	done
	"$LANCA" list --dir "$D" --limit 2 >"$T/table" || fail "list --limit 2"
	[ "$(sed 1d "$T/table" | grep -vc '^more: ')" = 2 ] || fail "a page of 2: $(cat "$T/table")"
	cur=$(sed -n 's/^more: lanca list --cursor \([^ ]*\) --limit 2$/\1/p' "$T/table")
	[ -n "$cur" ] || fail "no next page named: $(cat "$T/table")"
	"$LANCA" list --dir "$D" --limit 2 --cursor "$cur" --json | serials | grep -q "^$C $B$" ||
		fail "the page the table named"
	ok "list ($where): paged with --limit and --cursor, with and without filters, none lost or twice"

	# show: by serial (text, JSON, PEM), by device (every certificate).
	"$LANCA" show --dir "$D" "$A1" >"$T/show" || fail "show"
	grep -q "^serial: *$A1$" "$T/show" && grep -q "^device: *dev-a$" "$T/show" &&
		grep -q "^status: *valid$" "$T/show" && grep -q "  issue " "$T/show" ||
		fail "show: $(cat "$T/show")"
	"$LANCA" show --dir "$D" "$(echo "$DD" | tr 'a-f' 'A-F')" | grep -q "^status: *revoked at" ||
		fail "show of the revoked one (serial in upper case)"
	"$LANCA" show --dir "$D" --json "$A1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert len(d) == 1, d
c = d[0]
assert c["serial"] == sys.argv[1] and c["device_id"] == "dev-a" and c["status"] == "valid", c
assert c["pem"].startswith("-----BEGIN CERTIFICATE-----"), c
assert any(h["event"] == "issue" for h in c["history"]), c["history"]' "$A1" || fail "show --json"
	"$LANCA" show --dir "$D" --pem "$A1" >"$T/a1.pem" || fail "show --pem"
	awk '{ print } /-----END CERTIFICATE-----/ { exit }' "$T/a1.chain" | cmp -s - "$T/a1.pem" ||
		fail "show --pem is not the certificate the device got"
	got=$("$LANCA" show --dir "$D" --json dev-a | python3 -c '
import json, sys
print(" ".join(c["serial"] for c in json.load(sys.stdin)))')
	[ "$got" = "$A2 $A1" ] || fail "show dev-a: $got"
	[ "$("$LANCA" show --dir "$D" --pem dev-a | grep -c 'BEGIN CERTIFICATE')" = 2 ] ||
		fail "show --pem dev-a"
	ok "show ($where): by serial (either case) and by device id, as text, JSON and PEM, with history"

	# export: the certificate; with --chain, the chain enroll answers.
	"$LANCA" export --dir "$D" "$A1" | cmp -s - "$T/a1.pem" || fail "export"
	"$LANCA" export --dir "$D" --chain "$A1" >"$T/exp.chain" || fail "export --chain"
	cmp -s "$T/exp.chain" "$T/a1.chain" || fail "export --chain is not the chain sign gave"
	[ "$(grep -c 'BEGIN CERTIFICATE' "$T/exp.chain")" = 2 ] || fail "the chain is not leaf + issuing"
	openssl verify -CAfile "$ROOT_PEM" -untrusted "$T/exp.chain" "$T/exp.chain" >/dev/null ||
		fail "openssl does not verify the exported chain"
	openssl verify -CAfile "$ROOT_PEM" "$T/a1.pem" >/dev/null 2>&1 &&
		fail "the leaf verified without its chain: the check above proves nothing"
	ok "export ($where): the PEM; --chain leaf and issuing CA, verified by openssl against the root"

	# Bad input: usage errors exit 2, unknown things 1, each named.
	expect_err 2 "status is valid, revoked or expired" "$LANCA" list --dir "$D" --status bogus
	expect_err 2 "a duration is N (seconds), Ns, Nh or Nd" "$LANCA" list --dir "$D" --expiring 3w
	expect_err 2 "a duration is" "$LANCA" list --dir "$D" --expiring 0
	expect_err 2 "expiring lists valid" "$LANCA" list --dir "$D" --expiring 1d --status revoked
	expect_err 2 "cursor is not one a listing gave" "$LANCA" list --dir "$D" --cursor bogus
	expect_err 2 "limit is 1 to" "$LANCA" list --dir "$D" --limit 0
	expect_err 2 "device is a device id" "$LANCA" list --dir "$D" --device ""
	expect_err 1 "no certificate has serial or device id nobody" "$LANCA" show --dir "$D" nobody
	expect_err 1 "no certificate has serial or device id 00ff" "$LANCA" show --dir "$D" 00ff
	expect_err 2 "not a serial" "$LANCA" show --dir "$D" "$(printf 'a\tb')"
	expect_err 2 "exclude each other" "$LANCA" show --dir "$D" --pem --json "$A1"
	expect_err 2 "a serial is 2 to" "$LANCA" export --dir "$D" xyz
	expect_err 1 "no certificate with serial 00ff" "$LANCA" export --dir "$D" 00ff
	expect_err 1 "no CA in" "$LANCA" list --dir "$T/nothing"
	ok "bad input ($where): named, exit 2 for usage and 1 for what is not there"
}

checks "no daemon"

# Later, some have expired: d (revoked) is still only revoked.
if [ -n "$LIBFAKETIME" ]; then
	LATER=$(faked_lanca +50d)
	[ "$("$LATER" list --dir "$D" --status expired --json | serials)" = "$B $A1" ] ||
		fail "--status expired 50 days on"
	got=$("$LATER" list --dir "$D" --status valid --json | serials)
	[ "$got" = "$A2 $C $GWS" ] || fail "--status valid 50 days on: $got"
	[ "$("$LATER" list --dir "$D" --device dev-a --status expired --json | serials)" = "$A1" ] ||
		fail "--device dev-a --status expired"
	"$LATER" list --dir "$D" | grep "^$A1 " | grep -q " expired " || fail "the table's status"
	"$LATER" show --dir "$D" "$A1" | grep -q "^status: *expired$" || fail "show: expired"
	ok "50 days on: expired ones (not the revoked one) latest first, in the table and show"
fi

start_serve "$D"
checks "daemon running"
stop_serve || fail "stop"
echo "t_list: $n_ok passed, 0 failed"
