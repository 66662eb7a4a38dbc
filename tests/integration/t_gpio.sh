#!/bin/sh
# t_gpio.sh - contrib/lanca-gpio-button.sh against the real daemon, with a
# fake gpiomon (GPIOMON) in place of libgpiod's: a button event opens the
# onboarding window through `lanca press`; bounces within --debounce are
# ignored; the edge, bias, chip and line reach gpiomon; gpiomon's failure
# is the script's; a daemon that is down does not stop the watching.
. "$(dirname "$0")/lib.sh"

BUTTON="$TOP_SRCDIR/contrib/lanca-gpio-button.sh"
[ -f "$BUTTON" ] || fail "no $BUTTON"

D="$T/state"
"$LANCA" init --dir "$D" --name gpio >/dev/null 2>&1 || fail "init"
ROOT_PEM="$D/root.pem"

# The fake gpiomon records its arguments and prints two events 30 ms
# apart, as a bouncing button does, then exits with $FAKE_STATUS.
cat >"$T/gpiomon" <<'EOF'
#!/bin/sh
printf '%s\n' "$*" >"$FAKE_ARGS"
echo "0 1000.000100000"
echo "0 1000.030200000"
exit "${FAKE_STATUS:-0}"
EOF
chmod +x "$T/gpiomon"
FAKE_ARGS="$T/args"
export FAKE_ARGS

# button ARGS...: runs the script with the fake; status in $st, output in $T/out.
button() {
	st=0
	GPIOMON="$T/gpiomon" sh "$BUTTON" "$@" >"$T/out" 2>&1 || st=$?
}

presses() {
	sql "SELECT count(*) FROM audit WHERE event = 'press'"
}

# ---- usage ----
for args in "" "--line x" "--line 3 --count 0" "--line 3 --seconds 4000" \
	"--line 3 --edge sideways" "--line 3 --bias up" "--line 3 --debounce -1" "--line 3 --frob"; do
	# shellcheck disable=SC2086 # each case is a list of words
	button $args
	[ $st = 2 ] || fail "'$args': exit $st, not 2"
done
button --help
{ [ $st = 0 ] && grep -q "^usage: " "$T/out"; } || fail "--help: exit $st"
ok "usage errors exit 2; --help exits 0"

start_serve "$D"

# ---- one push (two bouncing events) opens the window once ----
before=$(presses)
button --chip gpiochip0 --line 17 --dir "$D" --seconds 60 --count 2 --debounce 5
[ $st = 0 ] || fail "button with a fake gpiomon: exit $st: $(cat "$T/out")"
[ "$(cat "$T/args")" = "--falling-edge --line-buffered --format=%e %s.%n gpiochip0 17" ] ||
	fail "gpiomon arguments: $(cat "$T/args")"
"$LANCA" status --dir "$D" --json >"$T/status.json" || fail "lanca status --json"
python3 - "$T/status.json" <<'PY' || fail "the window is not open: $(cat "$T/status.json")"
import json, sys
w = json.load(open(sys.argv[1]))["window"]
assert w["state"] == "open", w
assert 0 < w["seconds_left"] <= 60, w
assert w["count"] == 2 and w["admitted"] == 0, w
PY
[ "$(presses)" = $((before + 1)) ] || fail "two events within the debounce made $(($(presses) - before)) presses"
grep -q "event ignored" "$T/out" || fail "the bounce was not reported: $(cat "$T/out")"
ok "a button event opens the window (lanca status --json: open, 60 s, count 2); its bounce is ignored"

# ---- without debouncing, each event is a press ----
before=$(presses)
button --line 4 --dir "$D" --debounce 0
[ $st = 0 ] || fail "--debounce 0: exit $st"
[ "$(presses)" = $((before + 2)) ] || fail "--debounce 0 made $(($(presses) - before)) presses, not 2"
ok "--debounce 0: two events, two presses"

# ---- edge and bias reach gpiomon ----
button --chip 1 --line 5 --dir "$D" --edge rising --bias pull-down
{ [ $st = 0 ] && [ "$(cat "$T/args")" = "--rising-edge --bias=pull-down --line-buffered --format=%e %s.%n 1 5" ]; } ||
	fail "--edge rising --bias pull-down: exit $st, arguments $(cat "$T/args")"
button --line 5 --dir "$D" --edge both
{ [ $st = 0 ] && [ "$(cat "$T/args")" = "--line-buffered --format=%e %s.%n gpiochip0 5" ]; } ||
	fail "--edge both: exit $st, arguments $(cat "$T/args")"
ok "--edge and --bias are passed to gpiomon"

# ---- gpiomon failing is the script's failure ----
FAKE_STATUS=1
export FAKE_STATUS
button --line 6 --dir "$D"
unset FAKE_STATUS
{ [ $st = 1 ] && grep -q "gpiomon failed (exit status 1)" "$T/out"; } || fail "failing gpiomon: exit $st: $(cat "$T/out")"
ok "a failing gpiomon makes the script exit 1"

# ---- the daemon down: logged, the watching goes on ----
stop_serve || fail "serve did not stop cleanly"
button --line 7 --dir "$D" --debounce 0
[ $st = 0 ] || fail "with the daemon down: exit $st: $(cat "$T/out")"
[ "$(grep -c "lanca press failed: .*not running" "$T/out")" = 2 ] ||
	fail "with the daemon down, each press should be reported: $(cat "$T/out")"
ok "with the daemon down each press is logged as failed and the script goes on"

echo "t_gpio: $n_ok passed, 0 failed"
