#!/bin/sh
# t_serve.sh - the real daemon on loopback: root over plain HTTP, status
# over HTTPS verified with the root, the TLS chain, the HTTP behaviour
# (t_http.sh), renewal of the gateway certificate, and the daemon
# noticing a dead signer.
. "$(dirname "$0")/lib.sh"

D="$T/state"
"$LANCA" init --dir "$D" --name serve >/dev/null || fail "init"
ROOT_PEM="$D/root.pem"
start_serve "$D"
ok "lanca serve answers on loopback"

openssl x509 -in "$ROOT_PEM" -outform der -out "$T/root.der"
curl -s -D "$T/h" -o "$T/got.der" "$HTTP_URL/ca.crt" || fail "GET /ca.crt over HTTP"
cmp -s "$T/root.der" "$T/got.der" || fail "/ca.crt over HTTP is not the root"
grep -qi "^content-type: application/x-x509-ca-cert" "$T/h" || fail "/ca.crt content type"
curl -s -o "$T/got.pem" "$HTTP_URL/ca.pem" && cmp -s "$ROOT_PEM" "$T/got.pem" || fail "/ca.pem"
ok "plain HTTP serves the root as DER (/ca.crt) and PEM (/ca.pem)"

fp=$(openssl x509 -in "$ROOT_PEM" -noout -fingerprint -sha256 | sed 's/.*=//')
curl -s "$HTTP_URL/" | grep -q "$fp" || fail "the plain HTTP page does not show $fp"
ok "the plain HTTP page shows the root's SHA-256 fingerprint"

tcurl -o "$T/status.json" "$HTTPS_URL/api/v1/status" || fail "status over HTTPS with --cacert"
lower=$(printf '%s' "$fp" | tr -d : | tr 'A-F' 'a-f')
python3 - "$T/status.json" "$lower" <<'PY' || fail "status JSON"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["root"]["sha256"] == sys.argv[2], s
assert s["issuing"]["sha256"] and s["version"] and s["window"]["state"] == "closed", s
PY
ok "GET /api/v1/status over HTTPS verifies with the root alone and reports the CAs"

echo | openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -servername localhost \
	-CAfile "$ROOT_PEM" -verify_return_error -showcerts >"$T/sc.txt" 2>&1 || fail "s_client: $(tail -5 "$T/sc.txt")"
grep -q "Verify return code: 0 (ok)" "$T/sc.txt" || fail "TLS chain does not verify"
[ "$(grep -c 'BEGIN CERTIFICATE' "$T/sc.txt")" = 2 ] || fail "the server does not send gateway + issuing"
ok "TLS: the gateway sends its certificate and the issuing CA; openssl verifies with the root"

HTTP_URL=$HTTP_URL HTTPS_URL=$HTTPS_URL ROOT_PEM=$ROOT_PEM HTTPS_PORT=$HTTPS_PORT \
	sh "$TOP_SRCDIR/tests/integration/t_http.sh" || fail "t_http.sh"
ok "HTTP behaviour (t_http.sh)"

stop_serve || fail "SIGTERM: serve exited non-zero"
ok "SIGTERM stops serve with status 0"

# The signer dies: serve must notice and exit non-zero, not hang. Signals
# meant for the daemon (a GPIO script's USR1, a terminal's Ctrl-C to the
# process group) do not kill it.
start_serve "$D"
signer=$(child_pids "$SERVE_PID")
kill -USR1 "$signer"; kill -HUP "$signer"; kill -INT "$signer"
sleep 0.3
kill -0 "$signer" 2>/dev/null && kill -0 "$SERVE_PID" 2>/dev/null ||
	fail "USR1/HUP/INT sent to the signer stopped it"
tcurl -o /dev/null "$HTTPS_URL/api/v1/status" || fail "serve stopped answering"
kill -KILL "$signer"
i=0
while kill -0 "$SERVE_PID" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 "$SERVE_PID" 2>/dev/null && fail "serve still runs 5 s after its signer died"
st=0; wait "$SERVE_PID" || st=$?
SERVE_PID=
[ $st -ne 0 ] || fail "serve exited 0 after its signer died"
grep -q "signer" "$T/serve.log" || fail "serve did not say why it stopped"
ok "a dead signer stops serve with a non-zero status ($st)"

# Renewal: 300 days on, a third of the gateway certificate's life is left,
# so serve renews it (new key, new serial) before it starts serving.
if [ -n "$LIBFAKETIME" ]; then
	old=$(openssl x509 -in "$D/gateway.pem" -noout -serial)
	oldkey=$(sha256sum <"$D/gateway.key")
	HTTP_PORT=$(free_port); HTTPS_PORT=$(free_port)
	"$(faked_lanca +300d)" serve --dir "$D" --https "127.0.0.1:$HTTPS_PORT" \
		--http "127.0.0.1:$HTTP_PORT" --web-dir "$TOP_SRCDIR/web" >"$T/serve.log" 2>&1 &
	SERVE_PID=$!
	i=0
	while ! grep -q "renewed the gateway certificate" "$T/serve.log" && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
	stop_serve || true
	new=$(openssl x509 -in "$D/gateway.pem" -noout -serial)
	[ "$old" != "$new" ] || fail "the gateway certificate was not renewed: $(tail -5 "$T/serve.log")"
	[ "$oldkey" != "$(sha256sum <"$D/gateway.key")" ] || fail "renewal kept the old key"
	[ "$(stat -c %a "$D/gateway.key")" = 600 ] || fail "renewed key mode"
	split_chain "$D/gateway.pem"
	openssl verify -attime $(( $(date +%s) + 300 * 86400 )) -CAfile "$ROOT_PEM" \
		-untrusted "$D/gateway.pem.2.pem" "$D/gateway.pem.1.pem" >/dev/null || fail "renewed chain"
	rm -f "$D"/gateway.pem.*.pem
	ok "serve renews the gateway certificate when a third of its life is left"
fi

echo "t_serve: $n_ok passed, 0 failed"
