#!/bin/sh
# t_expiry.sh - a pending request nobody decides on expires after the
# pending period (7 days by default): its device is told so (410), it
# leaves `lanca pending`, and a press no longer admits it.
. "$(dirname "$0")/lib.sh"

[ -n "$LIBFAKETIME" ] || { echo "# SKIP: libfaketime is not installed"; exit 77; }
D="$T/state"
"$LANCA" init --dir "$D" --name expiry >/dev/null 2>&1 || fail "init"
ROOT_PEM="$D/root.pem"
start_serve "$D"
make_csr a dev-a
[ "$(post_csr a)" = 202 ] || fail "enroll"
id=$(req_id a)
"$LANCA" pending --dir "$D" --json | grep -q "$id" || fail "the request is not pending"
stop_serve || fail "stop"

# Eight days on.
REAL_LANCA=$LANCA
LANCA=$(faked_lanca +8d)
start_serve "$D"
st=$(poll a); [ "$st" = 410 ] || fail "poll of an 8-day-old request: $st $(cat "$T/a.poll")"
grep -q expired "$T/a.poll" || fail "410 without the reason"
"$LANCA" pending --dir "$D" --json | grep -q "$id" && fail "an expired request is still pending"
[ "$(sql "SELECT state FROM requests WHERE id='$id'")" = expired ] || fail "state not expired"
"$LANCA" press --dir "$D" >/dev/null || fail "press"
[ "$(poll a)" = 410 ] || fail "a press admitted an expired request"
ok "a request pending for 8 days: 410 expired, gone from lanca pending, never admitted"
stop_serve || fail "stop"
LANCA=$REAL_LANCA
echo "t_expiry: $n_ok passed, 0 failed"
