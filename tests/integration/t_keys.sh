#!/bin/sh
# t_keys.sh - privilege separation: the network-facing daemon never holds
# a CA private key (no key file mapped or open, no key bytes in memory),
# while the signer does; both drop root when started as root.
. "$(dirname "$0")/lib.sh"

D="$T/state"
"$LANCA" init --dir "$D" --name keys >/dev/null || fail "init"
ROOT_PEM="$D/root.pem"
user_opt=
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	user_opt="--user nobody"
	chmod 755 "$T"	# nobody must reach the state directory below it
fi
# shellcheck disable=SC2086
start_serve "$D" $user_opt
signer=$(child_pids "$SERVE_PID")
[ -n "$signer" ] || fail "no signer process under serve ($SERVE_PID)"
[ "$(echo "$signer" | wc -l)" = 1 ] || fail "more than one child: $signer"
ok "serve runs one signer child process ($signer)"

if grep -q "keys/" "/proc/$SERVE_PID/maps"; then fail "a key file is mapped in the daemon"; fi
if ls -l "/proc/$SERVE_PID/fd" | grep -q "keys/"; then fail "a key file is open in the daemon"; fi
ok "no CA key file is mapped or open in the daemon"

# A signing request through the daemon makes it touch the signer path.
make_csr d1 d1 "DNS:d1.local"
tcurl "$HTTPS_URL/api/v1/status" >/dev/null || fail "status"

if [ "$(id -u)" = 0 ]; then
	python3 "$TOP_SRCDIR/tests/integration/memscan.py" "$signer" \
		"$D/keys/issuing.key" >"$T/scan.signer" || fail "cannot scan the signer's memory"
	grep -q "^found .*issuing.key" "$T/scan.signer" ||
		fail "control failed: the scanner cannot find the issuing key in the signer"
	ok "control: the scanner finds the issuing key's private scalar in the signer"
	python3 "$TOP_SRCDIR/tests/integration/memscan.py" "$SERVE_PID" \
		"$D/keys/issuing.key" "$D/keys/root.key" >"$T/scan.daemon" || fail "cannot scan the daemon"
	grep -q "^found" "$T/scan.daemon" && fail "CA key bytes in the daemon: $(cat "$T/scan.daemon")"
	ok "no CA private key bytes anywhere in the daemon's memory"
	python3 "$TOP_SRCDIR/tests/integration/memscan.py" "$signer" \
		"$D/keys/root.key" >"$T/scan.root" || fail "cannot scan the signer"
	grep -q "^absent" "$T/scan.root" || fail "the signer holds the root key while serving"
	ok "the root key is not loaded at all while serving"

	if [ -n "$user_opt" ]; then
		nobody=$(id -u nobody)
		for p in "$SERVE_PID" "$signer"; do
			uids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$p/status")
			[ "$uids" = "$nobody $nobody $nobody $nobody" ] || fail "process $p still has uids $uids"
		done
		ok "daemon and signer dropped root for --user nobody after binding"
	fi
	[ "$(awk '/^NoNewPrivs:/ { print $2 }' "/proc/$signer/status")" = 1 ] || fail "signer no_new_privs"
	ok "the signer runs with no_new_privs"
fi

stop_serve || fail "serve did not exit 0 on SIGTERM"
sleep 0.2
kill -0 "$signer" 2>/dev/null && fail "the signer outlived serve"
ok "SIGTERM stops serve and its signer cleanly"

# The daemon's user may write the state directory; a key it planted (or
# took over) is refused by root's signer, and serve does not start.
if [ -n "$user_opt" ]; then
	chown nobody "$D/keys/issuing.key"
	st=0
	"$LANCA" serve --dir "$D" --https "127.0.0.1:$(free_port)" --http "127.0.0.1:$(free_port)" \
		--user nobody >"$T/planted.log" 2>&1 || st=$?
	[ $st -ne 0 ] || fail "serve started with a key owned by nobody"
	grep -q "belongs to uid" "$T/planted.log" || fail "no clear refusal: $(cat "$T/planted.log")"
	chown root "$D/keys/issuing.key"
	ok "a CA key file owned by another user is refused; serve does not start"
fi

echo "t_keys: $n_ok passed, 0 failed"
