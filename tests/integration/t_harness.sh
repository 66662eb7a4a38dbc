#!/bin/sh
# t_harness.sh - t_http.sh against tests/tools/httpd_harness: the HTTP and
# HTTPS servers alone, with the harness's two test routes, so the body
# limits are checked on a route that takes a body and the client chain as
# a handler sees it (what `lanca serve` has no route to show).
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"

harness=${TOP_BUILDDIR:?run through make check}/tests/tools/httpd_harness
[ -x "$harness" ] || fail "$harness is not built (make check builds it)"

https=$(free_port)
http=$(free_port)
BIND=127.0.0.1 "$harness" "$https" "$http" "$TOP_SRCDIR/web" >"$T/harness.out" 2>"$T/harness.err" &
hpid=$!
i=0
while ! grep -q '^ready ' "$T/harness.out" 2>/dev/null; do
	kill -0 "$hpid" 2>/dev/null || fail "the harness died: $(cat "$T/harness.err")"
	[ $i -lt 100 ] || fail "the harness did not start in 10 s"
	sleep 0.1
	i=$((i + 1))
done
dir=$(sed -n 's/^ready //p' "$T/harness.out")

rc=0
HTTP_URL=http://127.0.0.1:$http HTTPS_URL=https://127.0.0.1:$https ROOT_PEM=$dir/root.pem \
	BODY_URL=https://127.0.0.1:$https/test/body PEER_URL=https://127.0.0.1:$https/test/peer \
	sh "$TOP_SRCDIR/tests/integration/t_http.sh" || rc=$?
kill -TERM "$hpid" 2>/dev/null || true
wait "$hpid" 2>/dev/null || true
[ $rc -eq 0 ] || fail "t_http.sh against the harness failed ($rc)"
ok "t_http.sh passes against the harness (body limits on a route with a body, client chains)"

# lib.sh's start_serve, when a port it picked is taken before serve binds
# it (tests run side by side): it tries new ports.
"$LANCA" init --dir "$T/state" --name harnessgw >/dev/null 2>&1 || fail "init"
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True); time.sleep(60)' >"$T/busy" &
busy_pid=$!
i=0
while [ ! -s "$T/busy" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
busy=$(cat "$T/busy")
[ -n "$busy" ] || fail "no busy port"
real_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
# The first pick is the busy port; later picks are free ones. (Picks run
# in command substitutions, subshells: they count in a file.)
free_port() {
	echo x >>"$T/picks"
	if [ "$(wc -l <"$T/picks")" -eq 1 ]; then echo "$busy"; else real_free_port; fi
}
start_serve "$T/state"
picks=$(wc -l <"$T/picks")
[ "$HTTP_PORT" != "$busy" ] && [ "$picks" -ge 4 ] || fail "start_serve kept port $HTTP_PORT ($picks picks)"
stop_serve || fail "serve did not stop cleanly"
kill "$busy_pid" 2>/dev/null || true
ok "start_serve picks new ports when one it chose is taken"
echo "t_harness: $n_ok passed, 0 failed"
