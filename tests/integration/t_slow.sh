#!/bin/sh
# t_slow.sh - slow senders cannot shut other clients out (issue 13, defect
# 7; docs/reliability.md).
#
# From 127.0.0.2 to 127.0.0.9 (Linux routes all of 127/8 to lo), 36 TLS
# connections each (288, more than the 256 the server takes) send a request
# line and then one header line a second, never finishing, and reconnect
# when closed. Meanwhile a device enrolls from 127.0.0.1, three times;
# each enrolment's time is printed and must stay under 2 s. Afterwards no
# slow connection may have lived much past the 10 s a request may take to
# arrive (HTTPD_REQUEST_S). Then 4 slow connections alone, too few to be
# closed to make room: each must be closed for its deadline, within
# HTTPD_REQUEST_S and a tick of each side. The whole test takes about 30 s.
. "$(dirname "$0")/lib.sh"

RAW="python3 $TOP_SRCDIR/tests/integration/rawhttp.py"
REQUEST_S=10	# HTTPD_REQUEST_S in src/http/httpd.h
ATTACK_S=30	# at most: stopped after the third enrolment
D="$T/state"
"$LANCA" init --dir "$D" --name slow >/dev/null 2>&1 || fail "init"
ROOT_PEM="$D/root.pem"
printf 'ID,NAME\ndev-1,One\ndev-2,Two\ndev-3,Three\n' >"$T/pre.csv"
"$LANCA" preauth import "$T/pre.csv" --dir "$D" >/dev/null || fail "preauth import"
start_serve "$D"
for i in 1 2 3; do make_csr "d$i" "dev-$i"; done

$RAW slow --ca "$ROOT_PEM" --addrs 127.0.0.2-127.0.0.9 --per 36 --seconds $ATTACK_S \
	"$HTTPS_PORT" >"$T/slow.out" 2>"$T/slow.err" &
slow_pid=$!
i=0
until grep -q '^ready' "$T/slow.out"; do
	kill -0 "$slow_pid" 2>/dev/null || fail "the slow sender died: $(cat "$T/slow.err")"
	[ $i -lt 300 ] || fail "the slow sender did not get going in 30 s"
	sleep 0.1
	i=$((i + 1))
done

# figures FILE WHAT: the slow sender's last line in FILE (printed); sets
# opened, closed and longest.
figures() {
	f=$(grep '^opened=' "$1") || fail "no figures from the slow sender"
	echo "# $2: $f"
	opened=$(echo "$f" | sed 's/.*opened=\([0-9]*\).*/\1/')
	closed=$(echo "$f" | sed 's/.*closed_by_server=\([0-9]*\).*/\1/')
	longest=$(echo "$f" | sed 's/.*longest_s=\([0-9.]*\).*/\1/')
}

# enroll I: one enrolment from 127.0.0.1, timed by curl.
enroll() {
	openssl req -in "$T/d$1.csr" -outform der -out "$T/d$1.der"
	r=$(curl -s --resolve "localhost:$HTTPS_PORT:127.0.0.1" --cacert "$ROOT_PEM" \
		-o "$T/d$1.resp" -w '%{http_code} %{time_total}' --max-time 4 \
		-H 'Content-Type: application/pkcs10' --data-binary @"$T/d$1.der" \
		"$HTTPS_URL/api/v1/enroll") || r="000 ${r#* }"
	echo "# enrolment $1 during the attack: status ${r% *}, ${r#* } s"
	kill -0 "$slow_pid" 2>/dev/null || fail "the attack was over before enrolment $1 ended"
	[ "${r% *}" = 201 ] || fail "enrolment $1 during the attack: status ${r% *}"
	awk -v t="${r#* }" 'BEGIN { exit !(t < 2.0) }' || fail "enrolment $1 took ${r#* } s"
}
sleep 1
enroll 1
sleep 3
enroll 2
# After the first wave of slow connections has met its deadline.
sleep 7
enroll 3
ok "three enrolments from another address during the attack, each under 2 s"

kill -TERM "$slow_pid"
wait "$slow_pid" || fail "the slow sender failed: $(cat "$T/slow.err")"
figures "$T/slow.out" "slow sender"
# The server really was under attack: it took at least its per-address
# limit from every address.
[ "$opened" -ge 256 ] || fail "the slow sender opened only $opened connections"
[ "$closed" -gt 0 ] || fail "the server closed no slow connection"
# The slow sender looks once a second, the server four times.
awk -v t="$longest" -v m="$REQUEST_S" 'BEGIN { exit !(t <= m + 2) }' ||
	fail "a slow connection lived $longest s (a request may take $REQUEST_S s to arrive)"
ok "every slow connection was closed within $longest s (bound: $REQUEST_S s)"

# A few slow connections alone: nothing needs their room, only the
# deadline closes them.
$RAW slow --ca "$ROOT_PEM" --addrs 127.0.0.10-127.0.0.10 --per 4 --seconds $((REQUEST_S + 3)) \
	"$HTTPS_PORT" >"$T/few.out" 2>"$T/few.err" || fail "the slow sender failed: $(cat "$T/few.err")"
figures "$T/few.out" "4 slow connections"
[ "$closed" -ge 4 ] || fail "the server closed $closed of 4 slow connections in $((REQUEST_S + 3)) s"
awk -v t="$longest" -v m="$REQUEST_S" 'BEGIN { exit !(t >= m - 1 && t <= m + 2) }' ||
	fail "4 slow connections were closed after $longest s, not at the $REQUEST_S s deadline"
ok "4 slow connections: closed at their deadline ($longest s)"
kill -0 "$SERVE_PID" || fail "the daemon died"
stop_serve || fail "serve did not stop cleanly"

# --request-timeout sets the deadline (for slow links, and for tests under
# valgrind); out of its range it is refused before anything starts.
for bad in 0 301 -5 10s; do
	st=0
	"$LANCA" serve --dir "$D" --https "127.0.0.1:$(free_port)" --request-timeout "$bad" \
		>"$T/bad.out" 2>&1 || st=$?
	[ $st -eq 2 ] || fail "--request-timeout $bad: exit $st, not 2"
	grep -q -- "--request-timeout $bad: from 1 to 300 seconds" "$T/bad.out" ||
		fail "--request-timeout $bad: no clear refusal: $(cat "$T/bad.out")"
done
SHORT_S=4
start_serve "$D" --request-timeout $SHORT_S
$RAW slow --ca "$ROOT_PEM" --addrs 127.0.0.11-127.0.0.11 --per 2 --seconds $((SHORT_S + 3)) \
	"$HTTPS_PORT" >"$T/short.out" 2>"$T/short.err" || fail "the slow sender failed: $(cat "$T/short.err")"
figures "$T/short.out" "2 slow connections, --request-timeout $SHORT_S"
[ "$closed" -ge 2 ] || fail "the server closed $closed of 2 slow connections in $((SHORT_S + 3)) s"
awk -v t="$longest" -v m="$SHORT_S" 'BEGIN { exit !(t >= m - 1 && t <= m + 2) }' ||
	fail "with --request-timeout $SHORT_S, slow connections were closed after $longest s"
ok "--request-timeout $SHORT_S: slow connections closed at $longest s; 0, 301, -5 and 10s refused"
stop_serve || fail "serve did not stop cleanly"
echo "t_slow: $n_ok passed, 0 failed"
