#!/bin/sh
# t_control.sh - the CLI's admin commands through both of their paths: the
# running daemon's control socket, and admin.c in the CLI's own process
# when no daemon runs; the same bounds either way; `lanca deny` without a
# daemon goes through the onboarding core (audited as the CLI's user);
# and a command that finds no CA where it looked names that directory and
# points at a daemon running on another one instead of at `lanca init`.
. "$(dirname "$0")/lib.sh"

D="$T/state"
"$LANCA" init --dir "$D" --name control >/dev/null 2>&1 || fail "init"
ROOT_PEM="$D/root.pem"
DREAL=$(cd "$D" && pwd -P)
ID0=0123456789abcdef0123456789abcdef

# run CMD...: status in $st, stderr and stdout in $T/out.
run() {
	st=0
	"$@" >"$T/out" 2>&1 || st=$?
}

# ---- the same bounds without a daemon ----
run "$LANCA" deny --dir "$D" not-an-id
[ $st = 1 ] && grep -q "32 hex digits" "$T/out" || fail "deny of a malformed id: $st $(cat "$T/out")"
run "$LANCA" deny --dir "$D" "$ID0" --reason "$(printf 'a\033[2Jb')"
[ $st = 2 ] && grep -q "control characters" "$T/out" || fail "deny with an escape: $st $(cat "$T/out")"
run "$LANCA" press --dir "$D" --seconds 3601
[ $st = 2 ] && grep -q "seconds is 1 to 3600" "$T/out" || fail "press --seconds 3601: $st $(cat "$T/out")"
run "$LANCA" press --dir "$D"
[ $st = 1 ] && grep -q "not running on $D" "$T/out" || fail "press without a daemon: $st $(cat "$T/out")"
run "$LANCA" deny --dir "$D" "$ID0"
[ $st = 1 ] && grep -q "$ID0" "$T/out" || fail "deny of an unknown id: $st $(cat "$T/out")"
ok "without a daemon: admin.c's bounds, and no press"

# ---- through the daemon's control socket ----
start_serve "$D"
make_csr a dev-a
make_csr b dev-b
make_csr c dev-c
for n in a b c; do
	[ "$(post_csr $n)" = 202 ] || fail "enroll $n: not pending"
done
run "$LANCA" pending --dir "$D" --json
[ $st = 0 ] || fail "pending through the daemon: $(cat "$T/out")"
python3 - "$T/out" "$(req_id a)" "$(req_id b)" <<'PY' || fail "pending --json: $(cat "$T/out")"
import json, sys
rows = json.load(open(sys.argv[1]))
ids = {r["id"] for r in rows}
assert set(sys.argv[2:]) <= ids, ids
for r in rows:
    assert r["state"] == "pending" and len(r["key"]) == 64 and "expires_at" in r, r
PY
# One page at a time: --limit 2 shows the newest two and the cursor of the
# rest; --cursor goes on from there; the JSON page is the API's.
run "$LANCA" pending --dir "$D" --limit 2
[ $st = 0 ] && grep -q "$(req_id c)" "$T/out" && grep -q "$(req_id b)" "$T/out" &&
	! grep -q "$(req_id a)" "$T/out" || fail "pending --limit 2: $(cat "$T/out")"
cursor=$(sed -n 's/^more: lanca pending --cursor \(r[0-9]*\) --limit 2$/\1/p' "$T/out")
[ -n "$cursor" ] || fail "pending --limit 2 names no next page: $(cat "$T/out")"
run "$LANCA" pending --dir "$D" --json --limit 2 --cursor "$cursor"
python3 - "$T/out" "$(req_id a)" <<'PY' || fail "pending --cursor: $(cat "$T/out")"
import json, sys
page = json.load(open(sys.argv[1]))
assert [r["id"] for r in page["requests"]] == [sys.argv[2]] and "next" not in page, page
PY
for bad in "--limit 0" "--limit 1001" "--cursor 17" "--cursor r"; do
	run "$LANCA" pending --dir "$D" $bad
	[ $st = 2 ] && grep -q "lanca pending: " "$T/out" || fail "pending $bad: $st $(cat "$T/out")"
done
ok "pending --limit/--cursor page through the daemon; bad ones are usage errors"

USER=ctl-admin run "$LANCA" deny --dir "$D" "$(req_id a)" --reason "not ours"
[ $st = 0 ] || fail "deny through the daemon: $(cat "$T/out")"
[ "$(poll a)" = 403 ] && grep -q "not ours" "$T/a.poll" || fail "the device does not see the denial"
[ "$(sql "SELECT count(*) FROM audit WHERE event='deny' AND actor='cli ctl-admin'")" = 1 ] ||
	fail "the denial through the daemon is not audited as the CLI's user"
run "$LANCA" deny --dir "$D" "$(req_id a)"
[ $st = 1 ] || fail "a second denial through the daemon: $st $(cat "$T/out")"
ok "through the control socket: pending --json, deny (audited, seen by the device)"

# ---- the daemon's counters ----
run "$LANCA" stats --dir "$D" --json
[ $st = 0 ] || fail "stats through the daemon: $(cat "$T/out")"
# The WAL's figures are SQLite's: a PostgreSQL store has none (zeros).
wal=1
on_postgresql && wal=0
c0=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["store"]; w=int(sys.argv[2]); assert (s["page_size"] == 1024 and s["wal_bytes"] == s["wal_frames"] * 1048) if w else (s["page_size"] == 0 and s["wal_frames"] == 0), s; print(s["commits"])' "$T/out" "$wal") ||
	fail "stats --json: $(cat "$T/out")"
[ "$(post_csr c)" = 202 ] || fail "enroll c again"
run "$LANCA" stats --dir "$D"
[ $st = 0 ] && grep -q "commits of" "$T/out" || fail "stats: $(cat "$T/out")"
c1=$(echo "$(cat "$T/out")" | sed -n 's/^store: \([0-9]*\) commits.*/\1/p')
[ -n "$c1" ] && [ "$c1" -gt "$c0" ] || fail "stats: commits $c0 then $c1 after a request"
ok "stats: the store's commits and WAL bytes, read from the running daemon"

# A client that connects and says nothing is told why it was dropped.
python3 - "$D/control.sock" >"$T/slow" <<'PY' || fail "slow control client"
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(20)
s.connect(sys.argv[1])
print(s.recv(4096).decode())
PY
grep -q '"error":"bad_request"' "$T/slow" && grep -q "no complete command line within 5 seconds" "$T/slow" ||
	fail "a silent control client: $(cat "$T/slow")"
ok "a control client that sends nothing is dropped after 5 s with the reason"

# ---- no CA where the command looked, while a daemon runs elsewhere ----
M="$T/missing"
for cmd in approve deny; do
	st=0
	env LANCA_DIR="$M" "$LANCA" $cmd "$(req_id b)" >"$T/out" 2>&1 || st=$?
	[ $st = 1 ] || fail "$cmd on a missing directory: exit $st"
	grep -q "no CA in $M" "$T/out" || fail "$cmd does not say where it looked: $(cat "$T/out")"
	# Under a wrapper (make check-valgrind) a daemon's argv[0] is the
	# wrapper's, so no command can tell it is a lanca serve.
	[ -z "${LANCA_WRAPPER:-}" ] || continue
	# Other daemons may run on this machine (make -j check runs tests side
	# by side) and the newest three are named: ours must be among them,
	# unless three newer ones fill the list.
	grep -q -- "use --dir" "$T/out" || fail "$cmd does not point at a daemon: $(cat "$T/out")"
	if ! grep -q "running on .*$DREAL" "$T/out"; then
		named=$(sed -n 's/.*lanca serve is running on \(.*\): use --dir.*/\1/p' "$T/out" |
			tr ',' '\n' | grep -c .)
		[ "$named" -ge 3 ] || fail "$cmd does not point at the running daemon: $(cat "$T/out")"
	fi
	! grep -q "lanca init" "$T/out" || fail "$cmd suggests lanca init with a daemon running: $(cat "$T/out")"
done
ok "approve/deny on a missing directory name it and point at the daemon's --dir, not at init"

# ---- without a daemon: the same actions in this process ----
stop_serve || fail "serve did not stop cleanly"
USER=ctl-admin run "$LANCA" deny --dir "$D" "$(req_id b)" --reason "gone"
[ $st = 0 ] || fail "deny without a daemon: $(cat "$T/out")"
[ "$(sql "SELECT state || ' ' || reason FROM requests WHERE id='$(req_id b)'")" = "denied gone" ] ||
	fail "deny without a daemon did not deny"
[ "$(sql "SELECT count(*) FROM audit WHERE event='deny' AND actor='cli ctl-admin'")" = 2 ] ||
	fail "the denial without a daemon is not audited as the CLI's user"
run "$LANCA" pending --dir "$D" --json
python3 - "$T/out" "$(req_id c)" <<'PY' || fail "pending --json without a daemon: $(cat "$T/out")"
import json, sys
rows = json.load(open(sys.argv[1]))
assert [r["id"] for r in rows] == [sys.argv[2]], rows
assert len(rows[0]["key"]) == 64 and rows[0]["state"] == "pending"
PY
run "$LANCA" approve --dir "$D" "$(req_id c)"
[ $st = 0 ] && grep -q "issued certificate" "$T/out" || fail "approve without a daemon: $(cat "$T/out")"
st=0
env LANCA_DIR="$M" "$LANCA" deny "$(req_id b)" >"$T/out" 2>&1 || st=$?
[ $st = 1 ] && grep -q "no CA in $M" "$T/out" || fail "deny on a missing directory: $(cat "$T/out")"
ok "without a daemon: deny, pending and approve through admin.c, same rows and audit"

echo "t_control: $n_ok passed, 0 failed"
