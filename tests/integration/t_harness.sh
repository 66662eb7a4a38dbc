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
echo "t_harness: $n_ok passed, 0 failed"
