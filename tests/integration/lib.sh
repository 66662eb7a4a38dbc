# lib.sh - shared set-up for the integration tests (sourced, POSIX sh).
#
# Gives each test a private temporary directory, free loopback ports, a
# lanca binary ($LANCA, set by make check), and helpers to start and stop
# the real daemon. Everything started here is stopped by the EXIT trap.

set -eu

: "${LANCA:?run through make check, or set LANCA to the lanca binary}"
: "${TOP_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"

T=$(mktemp -d "${TMPDIR:-/tmp}/lanca-test.XXXXXX")
SERVE_PID=
n_ok=0

# LANCA_WRAPPER (set by `make check-valgrind`, empty otherwise) is a
# command put in front of every lanca and lanca-enroll the tests run: $LANCA
# and $LANCA_ENROLL become small scripts that exec it with the real binary,
# so a test that runs "$LANCA" or "$LANCA_ENROLL" needs no change and the
# daemon's pid stays the program's. LANCA_TEST names the test for the
# wrapper (valgrind's --log-file takes it with %q{LANCA_TEST}).
# LANCA_TIME_FACTOR multiplies the waits that allow for a slow process,
# and the daemon's own request deadline: the wrapper gives every `lanca
# serve` --request-timeout of 10 s times the factor (tests that time the
# deadline itself do not run under a wrapper).
: "${TOP_BUILDDIR:=$TOP_SRCDIR}"
LANCA_ENROLL="$TOP_BUILDDIR/src/lanca-enroll"
LANCA_TIME_FACTOR=${LANCA_TIME_FACTOR:-1}
LANCA_TEST=$(basename "$0" .sh)
export LANCA_TEST
if [ -n "${LANCA_WRAPPER:-}" ]; then
	mkdir "$T/wrapped"
	deadline=$((10 * LANCA_TIME_FACTOR))
	[ $deadline -le 300 ] || deadline=300
	for b in "$LANCA:lanca" "$LANCA_ENROLL:lanca-enroll"; do
		{
			echo '#!/bin/sh'
			[ "${b##*:}" = lanca ] &&
				echo "[ \"\${1:-}\" != serve ] || set -- \"\$@\" --request-timeout $deadline"
			echo "exec $LANCA_WRAPPER \"${b%:*}\" \"\$@\""
		} >"$T/wrapped/${b##*:}"
		chmod 755 "$T/wrapped/${b##*:}"
	done
	LANCA="$T/wrapped/lanca"
	LANCA_ENROLL="$T/wrapped/lanca-enroll"
fi

cleanup() {
	if [ -n "$SERVE_PID" ] && kill -0 "$SERVE_PID" 2>/dev/null; then
		kill -TERM "$SERVE_PID" 2>/dev/null || true
		wait "$SERVE_PID" 2>/dev/null || true
	fi
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

ok() {
	n_ok=$((n_ok + 1))
	echo "ok $n_ok - $*"
}

fail() {
	echo "not ok - $*" >&2
	if [ -f "$T/serve.log" ]; then
		echo "--- serve.log" >&2
		tail -n 40 "$T/serve.log" >&2
	fi
	exit 1
}

# A free TCP port on 127.0.0.1 (the kernel picks it).
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Makes a P-256 key and CSR: make_csr NAME CN [SAN-extension]
make_csr() {
	if [ -n "${3:-}" ]; then
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$T/$1.key" -subj "/CN=$2" -addext "subjectAltName=$3" \
			-out "$T/$1.csr" 2>/dev/null
	else
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$T/$1.key" -subj "/CN=$2" -out "$T/$1.csr" 2>/dev/null
	fi
}

# mkca NAME CN: a self-signed P-256 CA certificate and key in $T.
mkca() {
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$1.key" -out "$T/$1.pem" -subj "/O=Vendor/CN=$2" -days 3650 \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null || fail "making CA $1"
}

# mkfactory NAME CA CN [EKU]: a factory (IDevID-like) certificate from CA,
# for TLS clients unless EKU says otherwise.
mkfactory() {
	printf '%s\n' "basicConstraints=critical,CA:FALSE" \
		"keyUsage=critical,digitalSignature" "extendedKeyUsage=${4:-clientAuth}" >"$T/leaf.ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$1.key" -subj "/O=Vendor/CN=$3" -out "$T/$1.req" 2>/dev/null &&
	openssl x509 -req -in "$T/$1.req" -CA "$T/$2.pem" -CAkey "$T/$2.key" \
		-set_serial "0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" -days 3650 \
		-extfile "$T/leaf.ext" -out "$T/$1.pem" 2>/dev/null || fail "making factory cert $1"
}

# Splits a PEM chain file into FILE.1.pem, FILE.2.pem, ...
split_chain() {
	awk -v base="$1" '/-----BEGIN CERTIFICATE-----/ { n++ } n { print > (base "." n ".pem") }' "$1"
}

# A user other than root with a finite memory-lock limit cannot start the
# signer (it refuses keys that could be swapped out): the test is skipped
# (exit 77), saying so, rather than failed. Root raises its own limit.
skip_unless_locked() {
	if [ "$(id -u)" -ne 0 ] && grep -q "cannot lock the key memory" "$T/serve.log" 2>/dev/null; then
		echo "SKIP: $LANCA_TEST: the signer cannot lock its key memory as $(id -un)" \
			"(ulimit -l is $(ulimit -l)): run the tests as root, or with ulimit -l unlimited"
		exit 77
	fi
}

# Starts `lanca serve` on fresh loopback ports; sets HTTP_PORT, HTTPS_PORT,
# HTTP_URL, HTTPS_URL, SERVE_PID and waits until HTTPS answers. A port
# is free when free_port looks and may be taken before serve binds it
# (tests run side by side): a start that fails to bind tries new ports,
# up to 5 times.
start_serve() {
	dir=$1
	shift
	tries=0
	while :; do
		tries=$((tries + 1))
		HTTP_PORT=$(free_port)
		HTTPS_PORT=$(free_port)
		HTTP_URL="http://127.0.0.1:$HTTP_PORT"
		HTTPS_URL="https://localhost:$HTTPS_PORT"
		"$LANCA" serve --dir "$dir" --https "127.0.0.1:$HTTPS_PORT" --http "127.0.0.1:$HTTP_PORT" \
			--web-dir "$TOP_SRCDIR/web" "$@" >"$T/serve.log" 2>&1 &
		SERVE_PID=$!
		i=0
		while [ $i -lt $((100 * LANCA_TIME_FACTOR)) ]; do
			# Long enough for a slow daemon's handshake: a probe that
			# gave up in mid-handshake would be logged as a TLS error.
			if curl -s -o /dev/null --max-time $((2 * LANCA_TIME_FACTOR)) \
				--resolve "localhost:$HTTPS_PORT:127.0.0.1" \
				--cacert "$dir/root.pem" "$HTTPS_URL/api/v1/status"; then
				return 0
			fi
			kill -0 "$SERVE_PID" 2>/dev/null || break
			sleep 0.1
			i=$((i + 1))
		done
		[ $i -lt $((100 * LANCA_TIME_FACTOR)) ] ||
			fail "lanca serve did not answer within $((10 * LANCA_TIME_FACTOR)) s"
		wait "$SERVE_PID" 2>/dev/null || true
		if [ $tries -lt 5 ] && grep -q "Address already in use" "$T/serve.log"; then
			continue
		fi
		skip_unless_locked
		fail "lanca serve exited while starting"
	done
}

# curl against the HTTPS port, verifying with the root (never -k).
tcurl() {
	curl -s --max-time $((10 * LANCA_TIME_FACTOR)) --resolve "localhost:$HTTPS_PORT:127.0.0.1" --cacert "$ROOT_PEM" "$@"
}

# Stops the daemon with SIGTERM and returns its exit status.
stop_serve() {
	kill -TERM "$SERVE_PID"
	st=0
	wait "$SERVE_PID" || st=$?
	SERVE_PID=
	return $st
}

# The children of a process (the signer is serve's only child).
child_pids() {
	for p in /proc/[0-9]*; do
		pp=$(awk '/^PPid:/ { print $2 }' "$p/status" 2>/dev/null || true)
		[ "$pp" = "$1" ] && basename "$p"
	done
	return 0
}

# ---- enrollment helpers (curl as the device) ----

# post_csr NAME [curl options...]: POSTs $T/NAME.csr as DER; prints the
# status; the body goes to $T/NAME.resp, the headers to $T/NAME.hdr.
post_csr() {
	n=$1
	shift
	openssl req -in "$T/$n.csr" -outform der -out "$T/$n.der"
	tcurl -o "$T/$n.resp" -D "$T/$n.hdr" -w '%{http_code}' \
		-H 'Content-Type: application/pkcs10' --data-binary @"$T/$n.der" "$@" \
		"$HTTPS_URL/api/v1/enroll"
}

# The request id from NAME's last answer (its Location header).
req_id() {
	sed -n 's|^[Ll]ocation: /api/v1/requests/\([0-9a-f]*\).*|\1|p' "$T/$1.hdr" | tr -d '\r' | tail -n 1
}

# poll NAME: polls NAME's request for its chain; prints the status; the
# body goes to $T/NAME.poll.
poll() {
	tcurl -o "$T/$1.poll" -w '%{http_code}' -H 'Accept: application/pem-certificate-chain' \
		"$HTTPS_URL/api/v1/requests/$(req_id "$1")"
}

# verify_chain FILE: the PEM chain (leaf, issuing) verifies against the
# root, at the daemon's time (advance may have moved it on beyond the
# minute a certificate is backdated).
verify_chain() {
	split_chain "$1"
	openssl verify -attime $(($(date +%s) + CLOCK_OFFSET)) -CAfile "$ROOT_PEM" \
		-untrusted "$1.2.pem" "$1.1.pem" >/dev/null 2>&1
}

# sql QUERY: one value from the state directory's database.
sql() {
	sqlite3 "$D/lanca.db" "$1"
}

# ---- device clients (lanca-enroll, contrib/lanca-enroll.sh) ----

# check_out DIR: an enrolled output directory: files and modes, the chain
# (leaf + issuing) verifies against $ROOT_PEM, the key is the certificate's,
# gateway.url is $GW.
check_out() {
	out=$1
	for f in key.pem cert.pem chain.pem root.pem gateway.url; do
		[ -f "$out/$f" ] || fail "$out/$f missing"
	done
	[ ! -e "$out/key.pem.new" ] || fail "$out/key.pem.new left behind"
	[ "$(stat -c %a "$out")" = 700 ] || fail "$out mode $(stat -c %a "$out")"
	[ "$(stat -c %a "$out/key.pem")" = 600 ] || fail "$out/key.pem mode $(stat -c %a "$out/key.pem")"
	for f in "$out"/*tmp* "$out"/.*tmp* "$out"/.enroll.*; do
		[ ! -e "$f" ] || fail "temporary file $f left in $out"
	done
	cmp -s "$out/root.pem" "$ROOT_PEM" || fail "$out/root.pem is not the gateway's root"
	[ "$(cat "$out/gateway.url")" = "$GW" ] || fail "$out/gateway.url: $(cat "$out/gateway.url")"
	split_chain "$out/chain.pem"
	[ -f "$out/chain.pem.2.pem" ] && [ ! -f "$out/chain.pem.3.pem" ] || fail "$out/chain.pem is not leaf + issuing"
	cmp -s "$out/chain.pem.1.pem" "$out/cert.pem" || fail "$out/chain.pem does not start with cert.pem"
	openssl verify -CAfile "$ROOT_PEM" -untrusted "$out/chain.pem.2.pem" "$out/cert.pem" >/dev/null ||
		fail "openssl verify of $out/cert.pem"
	[ "$(openssl pkey -in "$out/key.pem" -pubout)" = "$(openssl x509 -in "$out/cert.pem" -noout -pubkey)" ] ||
		fail "$out/key.pem is not the key of $out/cert.pem"
	rm -f "$out"/chain.pem.*.pem
}

# foreign_device DIR CN NAMES: an output directory like lanca-enroll's
# ($T/a's root and gateway.url) holding a certificate for CN that another
# CA issued ($T/other, made here): what a renewal must refuse.
# $T/stranger.pem.1.pem is that certificate.
foreign_device() {
	"$LANCA" init --dir "$T/other" --name other >/dev/null || fail "init other"
	make_csr stranger "$2" "$3"
	"$LANCA" sign "$T/stranger.csr" --dir "$T/other" >"$T/stranger.pem" 2>/dev/null ||
		fail "sign stranger"
	mkdir -m 700 "$1"
	cp "$T/a/root.pem" "$T/a/gateway.url" "$1/"
	split_chain "$T/stranger.pem"
	cp "$T/stranger.pem.1.pem" "$1/cert.pem"
	cp "$T/stranger.pem" "$1/chain.pem"
	cp "$T/stranger.key" "$1/key.pem"
}

# pending_id DEVICE: the id of the pending request of DEVICE (its CSR's
# common name) in the state directory $D.
pending_id() {
	"$LANCA" pending --dir "$D" --json >"$T/pending.json" || fail "lanca pending --json"
	python3 - "$T/pending.json" "$1" <<'PY' || fail "no pending request for $1: $(cat "$T/pending.json")"
import json, sys
reqs = json.load(open(sys.argv[1]))
mine = [r for r in reqs if sys.argv[2] in [v for v in r.values() if isinstance(v, str)]]
if not mine and len(reqs) == 1:
    mine = reqs
assert len(mine) == 1, reqs
print(mine[0]["id"])
PY
}

# waits_pending FILE: waits until a client's stderr says it is pending.
waits_pending() {
	i=0
	until grep -q "pending: request" "$1"; do
		[ $i -lt $((200 * LANCA_TIME_FACTOR)) ] || fail "no pending answer: $(cat "$1")"
		sleep 0.1
		i=$((i + 1))
	done
}

# ---- a daemon with its clock moved (libfaketime) ----

# The libfaketime preload library, or "" when it is not installed. The
# daemon is started with the library itself rather than through the
# faketime wrapper, which does not pass SIGTERM on to its child: then
# SERVE_PID is the daemon.
LIBFAKETIME=
for f in /usr/lib/*/faketime/libfaketimeMT.so.1 /usr/lib/faketime/libfaketimeMT.so.1 \
	/usr/lib64/faketime/libfaketimeMT.so.1; do
	if [ -f "$f" ]; then LIBFAKETIME=$f; break; fi
done

# faked_lanca OFFSET: writes a lanca that runs with its clock OFFSET ahead
# (e.g. +100d) and prints its path. Clients keep the real time.
faked_lanca() {
	cat >"$T/lanca-faked$1" <<EOF
#!/bin/sh
LD_PRELOAD="$LIBFAKETIME"
FAKETIME="$1"
# libfaketime is preloaded ahead of the ASan runtime in sanitizer builds.
ASAN_OPTIONS="\${ASAN_OPTIONS:-}:verify_asan_link_order=0"
export LD_PRELOAD FAKETIME ASAN_OPTIONS
exec "$LANCA" "\$@"
EOF
	chmod 755 "$T/lanca-faked$1"
	echo "$T/lanca-faked$1"
}

# ---- a daemon whose clock the test moves (libfaketime) ----

# clocked_lanca: writes a lanca whose clock runs $T/clock ahead of the real
# one, read afresh on every call (FAKETIME_NO_CACHE), and prints its path;
# `advance N` then moves that clock N whole seconds on, so a test ages keys
# and windows without sleeping. Without libfaketime it prints $LANCA and
# advance sleeps instead.
CLOCK_OFFSET=0
clocked_lanca() {
	if [ -z "$LIBFAKETIME" ]; then
		echo "$LANCA"
		return
	fi
	echo "+0" >"$T/clock"
	cat >"$T/lanca-clocked" <<EOF
#!/bin/sh
LD_PRELOAD="$LIBFAKETIME"
FAKETIME_TIMESTAMP_FILE="$T/clock"
FAKETIME_NO_CACHE=1
ASAN_OPTIONS="\${ASAN_OPTIONS:-}:verify_asan_link_order=0"
export LD_PRELOAD FAKETIME_TIMESTAMP_FILE FAKETIME_NO_CACHE ASAN_OPTIONS
exec "$LANCA" "\$@"
EOF
	chmod 755 "$T/lanca-clocked"
	echo "$T/lanca-clocked"
}

advance() {
	if [ -z "$LIBFAKETIME" ]; then
		sleep "$1"
		return
	fi
	CLOCK_OFFSET=$((CLOCK_OFFSET + $1))
	# Renamed into place: the daemon never reads a half-written file.
	echo "+$CLOCK_OFFSET" >"$T/clock.new" && mv "$T/clock.new" "$T/clock"
}

# ---- contrib/lanca.service, read by the tests that run the daemon under it ----

# The unit the tests follow; LANCA_UNIT points them at another (a copy with
# a line changed, to see a test fail).
UNIT=${LANCA_UNIT:-$TOP_SRCDIR/contrib/lanca.service}

# unit_get KEY: the values of the unit's KEY= lines, joined by a space (a
# list setting given on several lines adds up, as in systemd).
unit_get() {
	sed -n "s/^$1=//p" "$UNIT" | paste -sd' ' -
}

# unit_caps: the unit's CapabilityBoundingSet= in setpriv's form
# (-all,+cap,...).
unit_caps() {
	c=$(unit_get CapabilityBoundingSet | tr ' ' '\n' | sed -n 's/^CAP_\(.*\)/+\1/p' |
		tr 'A-Z' 'a-z' | paste -sd, -)
	[ -n "$c" ] || fail "no CapabilityBoundingSet in $UNIT"
	echo "-all,$c"
}

# ---- a SoftHSM2 token of the test's own (PKCS#11 tests) ----

# softhsm_token LABEL PIN: makes a token in $T/tokens, named by
# $T/softhsm2.conf (exported as SOFTHSM2_CONF), its PIN in $T/pin (0600);
# sets MOD to the SoftHSM2 module and TOK to the token's URL. Skips the
# test (exit 77) when SoftHSM2 or p11tool is missing
# (contrib/debian-deps.sh installs them).
softhsm_token() {
	for c in softhsm2-util p11tool; do
		if ! command -v $c >/dev/null 2>&1; then
			echo "# SKIP: $c not installed (Debian: softhsm2, gnutls-bin)"
			exit 77
		fi
	done
	MOD=
	for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
		/usr/lib64/pkcs11/libsofthsm2.so /usr/lib/pkcs11/libsofthsm2.so; do
		[ -f "$m" ] && MOD=$m && break
	done
	if [ -z "$MOD" ]; then
		echo "# SKIP: the SoftHSM2 module libsofthsm2.so was not found"
		exit 77
	fi
	mkdir -p "$T/tokens"
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$T/tokens" >"$T/softhsm2.conf"
	SOFTHSM2_CONF="$T/softhsm2.conf"
	export SOFTHSM2_CONF
	softhsm2-util --init-token --free --label "$1" --pin "$2" --so-pin "8642-so-$2" >/dev/null ||
		fail "softhsm2-util --init-token $1"
	printf '%s\n' "$2" >"$T/pin"
	chmod 600 "$T/pin"
	TOK="pkcs11:token=$1"
}
