#!/bin/sh
# t_ca_expiry.sh - a CA within 90 days of its end is warned about: by
# `lanca status` (text and --json, the CA named with its days left) and
# in the daemon's log when it starts. The clock is moved with libfaketime
# to 60 days before the issuing CA's end (5 years after init); a fresh CA
# gets no warning.
. "$(dirname "$0")/lib.sh"

[ -n "$LIBFAKETIME" ] || { echo "# SKIP: libfaketime is not installed"; exit 77; }
D="$T/state"
# A backup root made and confirmed: its warning is not what is tested here.
printf 'Expiry-backup pass:phrase-0c4f\n' >"$T/bpass"
chmod 600 "$T/bpass"
"$LANCA" init --dir "$D" --name expiring --backup-key-out "$T/backup.key" --backup-pass-file "$T/bpass" \
	>/dev/null 2>&1 || fail "init"
"$LANCA" backup-root confirm --dir "$D" >/dev/null || fail "backup-root confirm"
ROOT_PEM="$D/root.pem"

# Today: nothing to warn about.
"$LANCA" status --dir "$D" >"$T/status" || fail "status"
grep -q WARNING "$T/status" && fail "a fresh CA warned about: $(cat "$T/status")"
"$LANCA" status --dir "$D" --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
for ca in ("root", "issuing"):
    assert s[ca]["warning"] is None, s[ca]
    assert s[ca]["days_left"] > 90, s[ca]
' || fail "status --json of a fresh CA"
ok "a fresh CA: no warning, days left over 90"

# The issuing CA's end from the store, and a clock 60 days before it.
END=$(sql "SELECT not_after FROM cas WHERE role = 'issuing'")
NOW=$(date +%s)
LATER=$(faked_lanca "+$(((END - NOW) / 86400 - 60))d")
"$LATER" status --dir "$D" >"$T/status" || fail "status later"
grep -q "^  WARNING: *the issuing CA .* expires in 6[01] days, on " "$T/status" ||
	fail "status: no warning about the issuing CA: $(cat "$T/status")"
[ "$(grep -c WARNING "$T/status")" = 1 ] || fail "the root (15 years left) is warned about too"
"$LATER" status --dir "$D" --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["root"]["warning"] is None, s["root"]
assert s["issuing"]["days_left"] in (60, 61), s["issuing"]
assert "the issuing CA" in s["issuing"]["warning"], s["issuing"]
' || fail "status --json 60 days before the end"
ok "60 days before the issuing CA's end: lanca status warns (text and --json), not about the root"

# The daemon, on that clock: its log says so when it starts. (Its
# gateway certificate, expired on that clock, is renewed at once with a
# start in the client's future, so the wait is on the log, not on HTTPS.)
"$LATER" serve --dir "$D" --https "127.0.0.1:$(free_port)" --http "127.0.0.1:$(free_port)" \
	--web-dir "$TOP_SRCDIR/web" >"$T/serve.log" 2>&1 &
SERVE_PID=$!
i=0
until grep -qs "warning: the issuing CA .* expires in 6[01] days" "$T/serve.log"; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "the daemon did not log the warning within 10 s"
	kill -0 "$SERVE_PID" 2>/dev/null || fail "the daemon exited"
	sleep 0.1
done
[ "$(grep -c "warning: the issuing CA" "$T/serve.log")" = 1 ] || fail "the warning twice"
grep -q "the root CA" "$T/serve.log" && fail "the daemon warned about the root"
stop_serve || fail "stop"
ok "the daemon logs the warning about the issuing CA when it starts"
echo "t_ca_expiry: $n_ok passed, 0 failed"
