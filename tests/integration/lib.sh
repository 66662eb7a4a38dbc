# lib.sh - shared set-up for the integration tests (sourced, POSIX sh).
#
# Gives each test a private temporary directory, free loopback ports, a
# lanca binary ($LANCA, set by make check), and helpers to start and stop
# the real daemon. Everything started here is stopped by the EXIT trap.

set -eu

: "${LANCA:?run through make check, or set LANCA to the lanca binary}"
# The binary itself, whatever wraps $LANCA below (valgrind, a database per
# init): what a test asks of the build (is it ASan's?) asks it of this.
LANCA_BIN=$LANCA
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
# The test's shell, which pg.sh's watchdogs outlive by a second at most.
LANCA_TEST_PID=$$
export LANCA_TEST_PID
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

# PostgreSQL servers of the test's own (pg.sh: pg_start, pg_createdb,
# pg_stop; cleanup stops them all).
. "$TOP_SRCDIR/tests/integration/pg.sh"

# What the test started in the background besides the daemon (bg_track)
# and the network namespaces it made (netns_pair): cleanup() stops and
# removes them, and does nothing when there are none.
BG_PIDS=
NETNS_MADE=
NETNS_ETC_MADE=
GW_NS=
CL_NS=
GW_IP=
CL_IP=

# bg_track PID: a background helper cleanup() stops (TERM, then KILL).
bg_track() {
	BG_PIDS="$BG_PIDS $1"
}

# bg_stop PID: stops one tracked helper now and forgets it.
bg_stop() {
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	rest=
	for p in $BG_PIDS; do
		[ "$p" = "$1" ] || rest="$rest $p"
	done
	BG_PIDS=$rest
}

bg_stop_all() {
	for p in $BG_PIDS; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in $BG_PIDS; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	BG_PIDS=
}

# Ends what still runs inside the test's own namespaces (by PID, from `ip
# netns pids`: a namespace made by netns_pair holds only the test's own
# processes), deletes them (their veth pair goes with them) and their
# /etc/netns/NAME directories.
netns_cleanup() {
	for ns in $NETNS_MADE; do
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		# shellcheck disable=SC2086 # a list of pids
		[ -z "$pids" ] || kill -TERM $pids 2>/dev/null || true
	done
	for ns in $NETNS_MADE; do
		i=0
		while [ -n "$(ip netns pids "$ns" 2>/dev/null || true)" ] && [ $i -lt 30 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		# shellcheck disable=SC2086 # a list of pids
		[ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
		case "$ns" in
		lanca-??-[0-9]*) rm -rf "/etc/netns/$ns" ;;
		esac
	done
	# /etc/netns itself only when this test made it and nobody else
	# uses it now (rmdir refuses a directory that is not empty).
	[ -z "$NETNS_ETC_MADE" ] || rmdir /etc/netns 2>/dev/null || true
	NETNS_MADE=
	NETNS_ETC_MADE=
}

cleanup() {
	if [ -n "$SERVE_PID" ] && kill -0 "$SERVE_PID" 2>/dev/null; then
		kill -TERM "$SERVE_PID" 2>/dev/null || true
		wait "$SERVE_PID" 2>/dev/null || true
	fi
	# Helpers started in the background (bg_track), then the network
	# namespaces (netns_pair): nothing to do when none were made.
	bg_stop_all
	netns_cleanup
	# PostgreSQL servers (pg.sh), whoever started them.
	pg_stop_all
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

# LANCA_TEST_STORE=postgresql (`make check-postgresql`): every `lanca
# init` that names no --store gets a new database of its own (--store URL)
# on one cluster of the test's, started at the first (pg_test_database);
# every other command, and an init with its own --store, goes to lanca
# unchanged. $LANCA becomes a script that does it and execs the lanca
# above (LANCA_WRAPPER's when there is one), so the daemon's pid stays the
# program's. Tests that work on the SQLite file itself skip
# (skip_on_postgresql). Unset or "sqlite": the SQLite file, as ever.
case ${LANCA_TEST_STORE:-sqlite} in
sqlite) ;;
postgresql)
	pg_skip_unless_available
	mkdir "$T/pgwrap"
	cat >"$T/pgwrap/lanca" <<EOF
#!/bin/sh
# lanca with a database of its own for each init (tests/integration/lib.sh).
if [ "\${1:-}" = init ]; then
	own=
	for a; do
		case \$a in
		--store | --store=* | -h | --help) own=yes ;;
		esac
	done
	if [ -z "\$own" ]; then
		T='$T'
		TOP_SRCDIR='$TOP_SRCDIR'
		. '$TOP_SRCDIR/tests/integration/pg.sh'
		url=\$(pg_test_database) || {
			echo "lanca (LANCA_TEST_STORE=postgresql): no database for this init" >&2
			exit 1
		}
		set -- "\$@" --store "\$url"
	fi
fi
exec '$LANCA' "\$@"
EOF
	chmod 755 "$T/pgwrap/lanca"
	LANCA="$T/pgwrap/lanca"
	;;
*)
	echo "LANCA_TEST_STORE=$LANCA_TEST_STORE: use sqlite or postgresql" >&2
	exit 1
	;;
esac

# on_postgresql: true under LANCA_TEST_STORE=postgresql, for a step of
# a test that only the SQLite file allows (`if ! on_postgresql; then`).
on_postgresql() {
	[ "${LANCA_TEST_STORE:-sqlite}" = postgresql ]
}

# skip_on_postgresql WHY: skips (exit 77) the test under
# LANCA_TEST_STORE=postgresql, saying WHY: for tests of what only the
# SQLite file has (its bytes, its locks, a copy of it).
skip_on_postgresql() {
	if on_postgresql; then
		echo "SKIP: $LANCA_TEST: $* (LANCA_TEST_STORE=postgresql)"
		exit 77
	fi
}

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

# Several gateways on one site (the t_pg_ tests):
# start_gw DIR NAME [serve options]: a daemon on DIR (start_serve), its
# ports and pid as NAME_PORT, NAME_HTTP and NAME_PID, its log NAME.log.
start_gw() {
	gw_dir=$1
	gw_name=$2
	shift 2
	start_serve "$gw_dir" "$@"
	mv "$T/serve.log" "$T/$gw_name.log"
	eval "${gw_name}_PORT=\$HTTPS_PORT ${gw_name}_HTTP=\$HTTP_PORT ${gw_name}_PID=\$SERVE_PID"
}
# post_to PORT NAME: post_csr through the gateway on PORT.
post_to() {
	HTTPS_PORT=$1
	post_csr "$2"
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

# sql_in DIR QUERY: QUERY on state directory DIR's store: lanca.db, or
# the PostgreSQL database its store.url names (psql prints as sqlite3
# does: unaligned, '|' between columns). Write SQL both understand
# (coalesce, not ifnull). sql QUERY: on $D's.
sql_in() {
	if [ -f "$1/store.url" ]; then
		# The tests' own SQL is SQLite's: the few functions they use
		# that PostgreSQL names otherwise are renamed (hex of a blob,
		# group_concat, the time now), as simple calls without nested
		# parentheses; a truth comes out as SQLite's 1 or 0.
		psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$(head -n 1 "$1/store.url")" -c "$(
			printf '%s' "$2" | sed -e "s/\bhex(\([^()]*\))/upper(encode(\1, 'hex'))/g" \
				-e "s/\bgroup_concat(\([^()]*\))/string_agg(CAST(\1 AS TEXT), ',')/g" \
				-e "s/\bstrftime('%s', *'now')/CAST(extract(epoch FROM now()) AS BIGINT)/g")" |
			sed -e 's/^t$/1/' -e 's/^f$/0/'
	else
		sqlite3 "$1/lanca.db" "$2"
	fi
}
sql() {
	sql_in "$D" "$1"
}

# store_dump DIR: all of DIR's store as SQL text (sqlite3 .dump, or
# pg_dump of the database store.url names), to look for what must not
# be stored.
store_dump() {
	if [ -f "$1/store.url" ]; then
		pg_dump --no-owner --no-privileges -d "$(head -n 1 "$1/store.url")"
	else
		sqlite3 "$1/lanca.db" .dump
	fi
}

# store_file DIR: the file in DIR that holds or names its store
# (store.url, else lanca.db), for its owner and mode.
store_file() {
	if [ -f "$1/store.url" ]; then
		echo "$1/store.url"
	else
		echo "$1/lanca.db"
	fi
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

# ---- two network namespaces joined by a veth pair (ACME) ----
#
# An ACME server validates a challenge by connecting from the gateway to
# the name the client asked for, and lanca's policy refuses loopback names
# and addresses for devices. So a test runs the daemon in one namespace
# ($GW_NS, address $GW_IP) and the ACME client in another ($CL_NS, $CL_IP),
# joined by a veth pair. Each namespace has its own ports (the client's web
# server takes port 80 and tls-alpn-01 port 443 there, the daemon 8443,
# without meeting anything else on the machine) and its own /etc/hosts
# (netns_hosts). The host's own interfaces and routes are never touched: the
# veth pair is made inside the namespaces, and deleting them (cleanup)
# deletes it. netns_pair skips the test (exit 77) without root or namespaces.

# netns_pair: makes lanca-gw-$$ and lanca-cl-$$, the veth pair between them
# and their addresses, a /30 of 10.0.0.0/8 picked by $$ (every pid has its
# own, so two tests side by side differ in the logs too; the namespaces
# keep them apart anyway), loopback up in both; an /etc/netns/NAME/hosts
# for each (netns_hosts). Sets GW_NS CL_NS GW_IP CL_IP. Once per test.
netns_pair() {
	[ -z "$GW_NS" ] || fail "netns_pair: the namespaces are made already"
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: $LANCA_TEST: network namespaces need root (running as $(id -un))"
		exit 77
	fi
	if ! command -v ip >/dev/null 2>&1; then
		echo "SKIP: $LANCA_TEST: ip (iproute2) is not installed"
		exit 77
	fi
	for ns in "lanca-gw-$$" "lanca-cl-$$"; do
		# The same name with nothing inside is a leftover of a killed
		# test that had our pid: it is taken over.
		if [ -e "/run/netns/$ns" ]; then
			[ -z "$(ip netns pids "$ns" 2>/dev/null)" ] ||
				fail "netns_pair: $ns exists and has processes"
			ip netns del "$ns" || fail "netns_pair: removing the leftover $ns"
		fi
		if ! ip netns add "$ns" 2>"$T/netns.err"; then
			[ -z "$NETNS_MADE" ] || fail "ip netns add $ns: $(cat "$T/netns.err")"
			echo "SKIP: $LANCA_TEST: cannot make a network namespace: $(cat "$T/netns.err")"
			exit 77
		fi
		NETNS_MADE="$NETNS_MADE $ns"
	done
	GW_NS=lanca-gw-$$
	CL_NS=lanca-cl-$$
	# Both ends are made inside the namespaces: the host never sees them.
	if ! ip link add veth-gw netns "$GW_NS" type veth peer name veth-cl netns "$CL_NS" \
		2>"$T/netns.err"; then
		echo "SKIP: $LANCA_TEST: cannot make a veth pair: $(cat "$T/netns.err")"
		exit 77
	fi
	n=$(($$ % 4194304 * 4))
	net="10.$((n >> 16 & 255)).$((n >> 8 & 255))"
	GW_IP="$net.$((n % 256 + 1))"
	CL_IP="$net.$((n % 256 + 2))"
	ip -n "$GW_NS" addr add "$GW_IP/30" dev veth-gw &&
	ip -n "$CL_NS" addr add "$CL_IP/30" dev veth-cl &&
	ip -n "$GW_NS" link set lo up && ip -n "$GW_NS" link set veth-gw up &&
	ip -n "$CL_NS" link set lo up && ip -n "$CL_NS" link set veth-cl up ||
		fail "netns_pair: setting up the veth pair"
	# `ip netns exec NS` bind-mounts each file of /etc/netns/NS over its
	# namesake in /etc, for that command only: made now, so it is there
	# for every command, and rewritten in place (the same inode) by
	# netns_hosts, so a process already running sees the change.
	for ns in "$GW_NS" "$CL_NS"; do
		if [ ! -d /etc/netns ]; then
			mkdir /etc/netns 2>/dev/null && NETNS_ETC_MADE=yes
		fi
		# Another test may remove an empty /etc/netns meanwhile: retried.
		i=0
		until mkdir -p "/etc/netns/$ns" 2>/dev/null; do
			[ $i -lt 5 ] || fail "netns_pair: cannot make /etc/netns/$ns"
			i=$((i + 1))
		done
		netns_hosts "$ns"
	done
	# The gateway's DNS server is the client (start_dnsstub answers there
	# for ACME's dns-01): written now, before anything runs in the
	# namespace; nothing answers it until the stub runs.
	printf 'nameserver %s\noptions timeout:1 attempts:2\n' "$CL_IP" >"/etc/netns/$GW_NS/resolv.conf"
}

# netns_hosts NS ["IP NAME..."]...: NS's /etc/hosts becomes localhost and
# the lines given, for everything run with `ip netns exec NS` (glibc reads
# /etc/hosts first: nsswitch.conf's hosts line starts with files; DNS
# behind it has no route from the namespace and fails at once).
netns_hosts() {
	ns=$1
	shift
	case " $NETNS_MADE " in
	*" $ns "*) ;;
	*) fail "netns_hosts: $ns is not a namespace of this test" ;;
	esac
	{
		printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n'
		for l in "$@"; do
			printf '%s\n' "$l"
		done
	} >"/etc/netns/$ns/hosts"
}

# in_gw CMD..., in_cl CMD...: CMD in the gateway's or the client's
# namespace (with that namespace's /etc/hosts). For a command put in the
# background write `ip netns exec "$GW_NS" CMD &` instead: ip execs CMD, so
# $! is CMD's own pid, where a function run with & would give a subshell's.
in_gw() {
	ip netns exec "$GW_NS" "$@"
}
in_cl() {
	ip netns exec "$CL_NS" "$@"
}

# start_serve_netns DIR [serve options...]: `lanca serve` in $GW_NS, HTTPS
# on $GW_IP:8443 and plain HTTP on $GW_IP:8080; waits until the client's
# namespace gets an answer over HTTPS verified with DIR/root.pem (so DIR
# must be made with `lanca init --san $GW_IP`: said so when it was not).
# Sets HTTPS_PORT HTTP_PORT HTTPS_URL HTTP_URL ACME_DIRECTORY ACME_CA
# SERVE_PID (the daemon's own pid: `ip netns exec` execs it; cleanup and
# stop_serve stop it as they stop start_serve's).
start_serve_netns() {
	dir=$1
	shift
	[ -n "$GW_NS" ] || fail "start_serve_netns: call netns_pair first"
	HTTPS_PORT=8443
	HTTP_PORT=8080
	HTTPS_URL="https://$GW_IP:$HTTPS_PORT"
	# shellcheck disable=SC2034 # for the tests (the root over plain HTTP)
	HTTP_URL="http://$GW_IP:$HTTP_PORT"
	ACME_DIRECTORY="$HTTPS_URL/acme/directory"
	ACME_CA="$dir/root.pem"
	ip netns exec "$GW_NS" "$LANCA" serve --dir "$dir" --https "$GW_IP:$HTTPS_PORT" --http "$GW_IP:$HTTP_PORT" \
		--web-dir "$TOP_SRCDIR/web" "$@" >"$T/serve.log" 2>&1 &
	SERVE_PID=$!
	i=0
	while [ $i -lt $((100 * LANCA_TIME_FACTOR)) ]; do
		st=0
		in_cl curl -s -o /dev/null --max-time $((2 * LANCA_TIME_FACTOR)) \
			--cacert "$ACME_CA" "$HTTPS_URL/api/v1/status" || st=$?
		case $st in
		0) return 0 ;;
		51 | 60) fail "the daemon's certificate does not verify as $GW_IP with $ACME_CA" \
			"(curl exit $st): make $dir with lanca init --san $GW_IP" ;;
		esac
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	[ $i -lt $((100 * LANCA_TIME_FACTOR)) ] ||
		fail "lanca serve in $GW_NS did not answer within $((10 * LANCA_TIME_FACTOR)) s"
	wait "$SERVE_PID" 2>/dev/null || true
	skip_unless_locked
	fail "lanca serve exited while starting in $GW_NS"
}

# cl_curl ARGS...: curl from the client's namespace, verifying with the
# daemon's root (never -k).
cl_curl() {
	in_cl curl -s --max-time $((10 * LANCA_TIME_FACTOR)) --cacert "$ACME_CA" "$@"
}

# start_webroot DIR [PORT]: a static web server in $CL_NS on $CL_IP:PORT
# (80 unless given) serving DIR, for the clients that leave the http-01
# token in a directory (uacme's hook, dehydrated's WELLKNOWN, lego's and
# certbot's --webroot): a token TOKEN goes to
# DIR/.well-known/acme-challenge/TOKEN (ACME_WEBROOT is DIR). Its request
# log is $T/web-PORT.log (a line per GET, with the status). Sets WEB_PID
# (tracked: cleanup stops it; bg_stop "$WEB_PID" stops it sooner).
start_webroot() {
	ACME_WEBROOT=$1
	port=${2:-80}
	[ -n "$CL_NS" ] || fail "start_webroot: call netns_pair first"
	mkdir -p "$ACME_WEBROOT/.well-known/acme-challenge"
	ip netns exec "$CL_NS" python3 -m http.server --bind "$CL_IP" --directory "$ACME_WEBROOT" "$port" \
		>"$T/web-$port.log" 2>&1 &
	WEB_PID=$!
	bg_track "$WEB_PID"
	i=0
	until in_cl curl -s -o /dev/null --max-time 2 "http://$CL_IP:$port/"; do
		kill -0 "$WEB_PID" 2>/dev/null || fail "the web server on $CL_IP:$port stopped: $(cat "$T/web-$port.log")"
		[ $i -lt $((50 * LANCA_TIME_FACTOR)) ] || fail "the web server on $CL_IP:$port did not answer"
		sleep 0.1
		i=$((i + 1))
	done
}

# start_dnsstub DIR: a DNS server of TXT records (dnsstub.py) in $CL_NS on
# $CL_IP:53, which the gateway's resolv.conf names: DIR/NAME holds NAME's
# TXT record (acme-hook.sh writes _acme-challenge.IDENT there when
# ACME_DNS_DIR is DIR). Sets ACME_DNS_DIR and DNS_PID (tracked); log
# $T/dns.log, one line a query.
start_dnsstub() {
	ACME_DNS_DIR=$1
	export ACME_DNS_DIR
	mkdir -p "$ACME_DNS_DIR"
	[ -n "$CL_NS" ] || fail "start_dnsstub: call netns_pair first"
	ip netns exec "$CL_NS" python3 "$TOP_SRCDIR/tests/integration/dnsstub.py" "$CL_IP" 53 \
		"$ACME_DNS_DIR" >"$T/dns.log" 2>&1 &
	DNS_PID=$!
	bg_track "$DNS_PID"
	i=0
	until grep -q "dnsstub: serving" "$T/dns.log" 2>/dev/null; do
		kill -0 "$DNS_PID" 2>/dev/null || fail "the DNS stub stopped: $(cat "$T/dns.log")"
		[ $i -lt $((50 * LANCA_TIME_FACTOR)) ] || fail "the DNS stub did not start"
		sleep 0.1
		i=$((i + 1))
	done
}

# start_ualpn: uacme's tls-alpn-01 responder (ualpn, server mode) in $CL_NS
# on $CL_IP:443, its control socket $T/ualpn.sock (UALPN_SOCK, which
# acme-hook.sh uses), log $T/ualpn.log. Connections that are no tls-alpn-01
# check are proxied to a closed port and fail. Sets UALPN_PID (tracked).
start_ualpn() {
	[ -n "$CL_NS" ] || fail "start_ualpn: call netns_pair first"
	UALPN_SOCK="$T/ualpn.sock"
	ip netns exec "$CL_NS" ualpn -b "$CL_IP@443" -c 127.0.0.1@9 -n 1 -v \
		-s "$UALPN_SOCK" -p "$T/ualpn.pid" >"$T/ualpn.log" 2>&1 &
	UALPN_PID=$!
	bg_track "$UALPN_PID"
	i=0
	until [ -S "$UALPN_SOCK" ]; do
		kill -0 "$UALPN_PID" 2>/dev/null || fail "ualpn stopped: $(cat "$T/ualpn.log")"
		[ $i -lt $((50 * LANCA_TIME_FACTOR)) ] || fail "ualpn made no socket: $(cat "$T/ualpn.log")"
		sleep 0.1
		i=$((i + 1))
	done
}

# cl_trusting PEM CMD...: CMD in $CL_NS with PEM as the system's CA bundle
# (/etc/ssl/certs/ca-certificates.crt), bind-mounted for CMD alone: `ip
# netns exec` gives each command a mount namespace of its own whose mounts
# do not reach the host. For clients that have no setting of their own for
# the CA (uacme: libcurl-gnutls reads only that bundle, and libcurl, unlike
# the curl program, reads no CURL_CA_BUNDLE).
cl_trusting() {
	ip netns exec "$CL_NS" sh -c 'mount --bind "$1" /etc/ssl/certs/ca-certificates.crt && shift && exec "$@"' \
		sh "$@"
}

# ---- unmodified ACME clients in $CL_NS against $ACME_DIRECTORY ----
#
# Each runs in the client's namespace with a private directory under $T,
# trusting $ACME_CA in its own way, never -k; the test adds the verb and
# what it checks. Needs netns_pair and start_serve_netns (ACME_DIRECTORY,
# ACME_CA), and for http-01 through a directory start_webroot (ACME_WEBROOT)
# with the gateway's /etc/hosts naming the client (netns_hosts). Ports: in
# the client's namespace http-01 is answered on port 80 and tls-alpn-01 on
# 443, where RFC 8555 8.3 and RFC 8737 3 have the server connect.

# acme_certbot VERB [ARGS...]: certbot 2.1, e.g.
#   acme_certbot certonly --standalone -d nas.home.arpa
#   acme_certbot certonly --standalone -d nas.home.arpa --force-renewal
#   acme_certbot renew --force-renewal --no-random-sleep-on-renew
#   acme_certbot revoke --cert-name nas.home.arpa --no-delete-after-revoke
# Trust: REQUESTS_CA_BUNDLE. Its files: $T/certbot/config/live/NAME/.
acme_certbot() {
	mkdir -p "$T/certbot"
	in_cl env REQUESTS_CA_BUNDLE="$ACME_CA" certbot "$@" --non-interactive \
		--server "$ACME_DIRECTORY" --config-dir "$T/certbot/config" \
		--work-dir "$T/certbot/work" --logs-dir "$T/certbot/logs" \
		--agree-tos --register-unsafely-without-email \
		--http-01-address "$CL_IP" --http-01-port 80
}

# acme_lego [GLOBAL OPTIONS...] VERB [VERB OPTIONS...]: lego 4.9, e.g.
#   acme_lego -d nas.home.arpa --http --http.port "$CL_IP:80" run
#   acme_lego -d nas.home.arpa --tls --tls.port "$CL_IP:443" run
#   acme_lego -d nas.home.arpa --http --http.port "$CL_IP:80" renew --days 100000 --no-random-sleep
#   acme_lego -d nas.home.arpa revoke --keep
# Trust: LEGO_CA_CERTIFICATES. Its files: $T/lego/certificates/NAME.crt.
acme_lego() {
	in_cl env LEGO_CA_CERTIFICATES="$ACME_CA" lego --server "$ACME_DIRECTORY" \
		--path "$T/lego" --accept-tos --email "acme-test@home.arpa" "$@"
}

# acme_uacme VERB [ARGS...]: uacme 1.7, e.g.
#   acme_uacme new
#   acme_uacme issue nas.home.arpa          (exit 1: still current, not reissued)
#   acme_uacme -f issue nas.home.arpa       (options before the verb)
#   acme_uacme revoke "$T/uacme/nas.home.arpa/cert.pem"
# http-01 through tests/integration/acme-hook.sh into $ACME_WEBROOT, and
# tls-alpn-01 through ualpn once start_ualpn ran; ACME_CHALLENGE=tls-alpn-01
# (or http-01) makes the hook take that type only. Trust through cl_trusting
# (uacme has no setting for it). -o: no OCSP request.
# Its files: $T/uacme/NAME/cert.pem, keys in $T/uacme/private/.
acme_uacme() {
	cl_trusting "$ACME_CA" env ACME_WEBROOT="${ACME_WEBROOT:-}" UALPN_SOCK="${UALPN_SOCK:-}" \
		ACME_CHALLENGE="${ACME_CHALLENGE:-}" ACME_DNS_DIR="${ACME_DNS_DIR:-}" uacme -v -o -y -c "$T/uacme" \
		-a "$ACME_DIRECTORY" -h "$TOP_SRCDIR/tests/integration/acme-hook.sh" "$@"
}

# acme_dehydrated ARGS...: dehydrated 0.7 with a config file of the test's
# own ($T/dehydrated/config, written on first use), e.g.
#   acme_dehydrated --register --accept-terms
#   acme_dehydrated -c -d nas.home.arpa
#   acme_dehydrated -c -d nas.home.arpa -x           (force renewal)
#   acme_dehydrated -r "$T/dehydrated/certs/nas.home.arpa/cert.pem"
# http-01: it writes the token into $ACME_WEBROOT/.well-known/acme-challenge
# itself (WELLKNOWN; no hook). Trust: curl's --cacert in CURL_OPTS.
acme_dehydrated() {
	if [ ! -f "$T/dehydrated/config" ]; then
		mkdir -p "$T/dehydrated"
		cat >"$T/dehydrated/config" <<CONF
CA="$ACME_DIRECTORY"
BASEDIR="$T/dehydrated"
WELLKNOWN="${ACME_WEBROOT:-$T/dehydrated/wellknown}/.well-known/acme-challenge"
CURL_OPTS="--cacert $ACME_CA"
CONTACT_EMAIL="acme-test@home.arpa"
CONF
		# dehydrated refuses to start for http-01 without it.
		mkdir -p "${ACME_WEBROOT:-$T/dehydrated/wellknown}/.well-known/acme-challenge"
	fi
	in_cl dehydrated --config "$T/dehydrated/config" "$@"
}
