#!/bin/sh
# t_disk.sh - the store's disk fails under the running daemon: every door
# that writes answers 503 store_unavailable (HTTP) or exits 1 (CLI) with a
# message naming the fault, hands out no certificate, leaves nothing
# half-written, and the same daemon works again once the fault clears.
#
# The faults and where they come from:
#   ENOSPC, EIO and EROFS on pwrite(2): libfiu's POSIX preload (fiu-run -x)
#     in `lanca serve`, switched on and off with fiu-ctrl while it runs.
#     SQLite writes its WAL (every commit) and the database file (every
#     checkpoint) with pwrite64, which the preload wraps; EROFS stands for
#     a file system the kernel remounted read-only after an error.
#   EIO on fdatasync(2): the same; SQLite syncs the WAL with fdatasync at
#     every commit (fsync is never called for it).
#   ENOSPC from a real file system: the state directory on a 4 MiB tmpfs in
#     a private mount namespace, filled up with a file and freed again.
#   A read-only database: the same tmpfs remounted read-only under a
#     running daemon is refused by the kernel while the daemon holds the
#     files open for writing, so the daemon is started on a database file
#     bind-mounted read-only (what a read-only volume or a wrong mode gives
#     a non-root daemon): reads answer, writes get 503 naming it.
#
# The doors: POST /api/v1/enroll (curl), lanca-enroll enroll and renew,
# EST simpleenroll and simplereenroll, the admin console's login, press,
# approve, deny and logout, and the CLI (press, approve, deny and revoke
# through the control socket; preauth import writing the store itself). After each fault:
# PRAGMA integrity_check is ok, `lanca audit verify` accepts the chain,
# every certificate a client received is in the store byte for byte, no
# serial was used twice, and each door works again.
#
# Needs root (mounts), unshare, fiu-run and fiu-ctrl; skipped (exit 77)
# otherwise.
if [ -z "${LANCA_DISK_NS:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "skip: needs root for the tmpfs and bind mounts"; exit 77; }
	for c in unshare mount fiu-run fiu-ctrl sqlite3; do
		command -v "$c" >/dev/null || { echo "skip: needs $c"; exit 77; }
	done
	fiu-run -x true 2>/dev/null || { echo "skip: fiu-run -x cannot preload libfiu here"; exit 77; }
	unshare -m true 2>/dev/null || { echo "skip: cannot make mount namespaces here"; exit 77; }
	LANCA_DISK_NS=1 exec unshare -m --propagation private "${SHELL:-/bin/sh}" "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
skip_on_postgresql "it makes the SQLite file's writes fail (libfiu) and mounts lanca.db read-only"
# The tmpfs below must go before lib.sh's cleanup removes $T.
trap 'umount -l "$T/small" 2>/dev/null || true; cleanup' EXIT INT TERM

ENROLL="$TOP_BUILDDIR/src/lanca-enroll"
REAL_LANCA=$LANCA
PW='Disk-admin:phrase-3e8c1f'
GOT="$T/got"	# the certificates clients received from the store in $D
mkdir "$T/got" "$T/got-full"

# lanca under libfiu: the environment `fiu-run -x` sets (its dry run
# prints it), the control fifo under $T. A sanitizer build's runtime must
# come before every other preloaded library (with libfiu's ahead of it,
# lanca crashes at start): the one lanca links goes first.
fiu-run -x -n -f "$T/fiu" true | sed -e '$d' -e 's/ *\\$//' -e 's/^/export /' >"$T/fiu.env"
grep -q '^export LD_PRELOAD=".*fiu' "$T/fiu.env" || fail "fiu-run's dry run: $(cat "$T/fiu.env")"
san=$(ldd "$REAL_LANCA" | awk '/lib(asan|ubsan)\.so/ { printf "%s ", $3 }')
cat >"$T/fiu-lanca" <<EOF
#!/bin/sh
. "$T/fiu.env"
LD_PRELOAD="$san\$LD_PRELOAD"
exec "$REAL_LANCA" "\$@"
EOF
chmod +x "$T/fiu-lanca"

# fault ERRNO [POINT]: POINT (posix/io/rw/pwrite) fails with ERRNO in serve.
fault() {
	fiu-ctrl -f "$T/fiu" -c "enable name=${2:-posix/io/rw/pwrite},failinfo=$1" "$SERVE_PID" ||
		fail "fiu-ctrl cannot reach serve"
}
clear_fault() {
	fiu-ctrl -f "$T/fiu" -c "disable name=${1:-posix/io/rw/pwrite}" "$SERVE_PID" ||
		fail "fiu-ctrl cannot reach serve"
}

# keep NAME FILE: a certificate a client received (the first of FILE's
# PEM certificates) joins those the store must hold.
keep() {
	split_chain "$2"
	cp "$2.1.pem" "$GOT/$1.pem"
	rm -f "$2".*.pem
}

# is503 WHAT FILE WORDS: FILE is a 503 answer naming the fault (WORDS),
# with the JSON error store_unavailable (or EST's text), and no certificate.
is503() {
	[ "$code" = 503 ] || fail "$1: HTTP $code, not 503: $(head -c 300 "$2")"
	grep -q "$3" "$2" || fail "$1: the answer does not say '$3': $(head -c 300 "$2")"
	! grep -q "BEGIN CERTIFICATE\|MII" "$2" || fail "$1: a certificate was handed out"
	case $1 in
	EST*) ;;
	*) grep -q '"error": *"store_unavailable"' "$2" || fail "$1: not store_unavailable: $(cat "$2")" ;;
	esac
}

# The state: an admin for the console, a CA, a device enrolled by
# lanca-enroll and one by EST (to renew later).
D="$T/state"
"$LANCA" init --dir "$D" --name disk >/dev/null 2>&1 || fail "init"
ROOT_PEM="$D/root.pem"
printf '%s\n' "$PW" >"$T/pw"
"$LANCA" admin passwd admin --dir "$D" --password-file "$T/pw" >/dev/null 2>&1 || fail "admin passwd"

LANCA="$T/fiu-lanca"
# A short monitor time: the pending requests below leave the waiting set
# (and no press sees them as an overlap) two seconds after they asked.
start_serve "$D" --enroll-burst 1000 --enroll-rate 1000 --monitor 1
LANCA=$REAL_LANCA
[ -p "$T/fiu-$SERVE_PID.in" ] || fail "serve has no libfiu control fifo"
GW="https://localhost:$HTTPS_PORT"
ORIGIN=$GW
EST="$HTTPS_URL/.well-known/est"

"$LANCA" press --dir "$D" --seconds 3600 --count 64 >/dev/null || fail "press"
"$ENROLL" enroll --gateway "$GW" --id dev-a --out "$T/a" --trust-on-first-use \
	--http "$HTTP_URL" --timeout 30 >/dev/null 2>"$T/err" || fail "lanca-enroll: $(cat "$T/err")"
keep dev-a "$T/a/chain.pem"
make_csr est-a est-a
openssl req -in "$T/est-a.csr" -outform der | openssl base64 >"$T/est-a.b64"
code=$(tcurl -o "$T/est-a.p7" -w '%{http_code}' -H 'Content-Type: application/pkcs10' \
	--data-binary @"$T/est-a.b64" "$EST/simpleenroll")
[ "$code" = 200 ] || fail "EST simpleenroll: $code"
openssl base64 -d -in "$T/est-a.p7" | openssl pkcs7 -inform DER -print_certs -out "$T/est-a.pem" ||
	fail "EST answer"
keep est-a "$T/est-a.pem"
# The EST device's certificate for simplereenroll: the newest it holds.
cp "$T/got/est-a.pem" "$T/est-cur.pem"

# login: POST /api/v1/login; status in $code, body in $T/b, the session
# in $C and $CSRF when it succeeded.
login() {
	code=$(tcurl -o "$T/b" -D "$T/h" -w '%{http_code}' -H 'Content-Type: application/json' \
		-H "Origin: $ORIGIN" --data-binary "{\"user\": \"admin\", \"password\": \"$PW\"}" \
		"$HTTPS_URL/api/v1/login") || code=000
	if [ "$code" = 200 ]; then
		C="__Host-lanca_session=$(tr -d '\r' <"$T/h" |
			sed -n 's/^[Ss]et-[Cc]ookie: __Host-lanca_session=\([0-9a-f]*\);.*/\1/p')"
		CSRF=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["csrf"])' "$T/b")
	fi
}
# admin PATH BODY: an admin action with the session; status in $code.
admin() {
	code=$(tcurl -o "$T/b" -w '%{http_code}' -H 'Content-Type: application/json' -b "$C" \
		-H "X-CSRF-Token: $CSRF" -H "Origin: $ORIGIN" --data-binary "$2" \
		"$HTTPS_URL$1") || code=000
}
login
[ "$code" = 200 ] || fail "login: $code $(cat "$T/b")"

# A request left pending (sent with the window closed) for approve to
# fail on, and one for the console's approve.
"$LANCA" press --dir "$D" --seconds 1 --count 1 >/dev/null || fail "short press"
sleep 1.2
for p in pend-cli pend-web; do
	make_csr $p $p
	st=$(post_csr $p); [ "$st" = 202 ] || fail "$p without a window: $st"
done
sleep 2.5
"$LANCA" press --dir "$D" --seconds 3600 --count 64 >/dev/null || fail "press again"

n_certs() { sql "SELECT count(*) FROM certificates"; }
n_audit() { sql "SELECT count(*) FROM audit"; }

# every_door WORDS TAG: each door while the fault is on.
every_door() {
	words=$1
	tag=$2
	certs0=$(n_certs)
	audit0=$(n_audit)

	make_csr "e-$tag" "e-$tag"
	code=$(post_csr "e-$tag")
	is503 "POST /api/v1/enroll" "$T/e-$tag.resp" "$words"

	st=0
	"$ENROLL" enroll --gateway "$GW" --id "c-$tag" --out "$T/c-$tag" --trust-on-first-use \
		--http "$HTTP_URL" --timeout 10 >/dev/null 2>"$T/err" || st=$?
	[ $st != 0 ] || fail "lanca-enroll enroll succeeded with the disk failing"
	grep -q "$words" "$T/err" || fail "lanca-enroll enroll does not say '$words': $(cat "$T/err")"
	[ ! -e "$T/c-$tag/cert.pem" ] || fail "lanca-enroll enroll wrote a certificate"
	cp "$T/a/cert.pem" "$T/a.before"
	st=0
	"$ENROLL" renew --dir "$T/a" --timeout 10 >/dev/null 2>"$T/err" || st=$?
	[ $st != 0 ] || fail "lanca-enroll renew succeeded with the disk failing"
	grep -q "$words" "$T/err" || fail "lanca-enroll renew does not say '$words': $(cat "$T/err")"
	cmp -s "$T/a/cert.pem" "$T/a.before" || fail "lanca-enroll renew replaced the certificate"

	make_csr "s-$tag" "s-$tag"
	openssl req -in "$T/s-$tag.csr" -outform der | openssl base64 >"$T/s-$tag.b64"
	code=$(tcurl -o "$T/s-$tag.resp" -w '%{http_code}' -H 'Content-Type: application/pkcs10' \
		--data-binary @"$T/s-$tag.b64" "$EST/simpleenroll") || code=000
	is503 "EST simpleenroll" "$T/s-$tag.resp" "$words"
	code=$(tcurl -o "$T/r-$tag.resp" -w '%{http_code}' -H 'Content-Type: application/pkcs10' \
		--cert "$T/est-cur.pem" --key "$T/est-a.key" \
		--data-binary @"$T/est-a.b64" "$EST/simplereenroll") || code=000
	is503 "EST simplereenroll" "$T/r-$tag.resp" "$words"

	login
	is503 "POST /api/v1/login" "$T/b" "$words"
	admin /api/v1/press '{"seconds": 60}'
	is503 "POST /api/v1/press" "$T/b" "$words"
	admin "/api/v1/requests/$(req_id pend-web)/approve" ''
	is503 "POST /api/v1/requests/ID/approve" "$T/b" "$words"
	admin "/api/v1/requests/$(req_id pend-web)/deny" '{"reason": "no"}'
	is503 "POST /api/v1/requests/ID/deny" "$T/b" "$words"
	admin /api/v1/logout ''
	is503 "POST /api/v1/logout" "$T/b" "$words"

	for c in "press --seconds 60" "approve $(req_id pend-cli)" "deny $(req_id pend-cli)" \
		"revoke dev-a"; do
		st=0
		# shellcheck disable=SC2086 # the command and its arguments
		"$LANCA" $c --dir "$D" >"$T/out" 2>"$T/err" || st=$?
		[ $st = 1 ] || fail "lanca $c: exit $st with the disk failing: $(cat "$T/out" "$T/err")"
		grep -q "$words" "$T/err" || fail "lanca $c does not say '$words': $(cat "$T/err")"
	done

	# Reads go on.
	for u in /ca.pem /crl /api/v1/status; do
		code=$(tcurl -o /dev/null -w '%{http_code}' "$HTTPS_URL$u") || code=000
		[ "$code" = 200 ] || fail "GET $u with the disk failing: $code"
	done
	[ "$(n_certs)" = "$certs0" ] || fail "a certificate was recorded while every write failed"
	[ "$(n_audit)" = "$audit0" ] || fail "an audit row was written while every write failed"
}

# check_store: nothing half-written; every certificate received is there.
check_store() {
	[ "$(sql 'PRAGMA integrity_check')" = ok ] || fail "integrity check: $(sql 'PRAGMA integrity_check')"
	"$LANCA" audit verify --dir "$D" >"$T/audit.out" 2>&1 || fail "audit verify: $(cat "$T/audit.out")"
	for f in "$GOT"/*.pem; do
		der=$(openssl x509 -in "$f" -outform der | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F)
		[ "$(sql "SELECT count(*) FROM certificates WHERE hex(der) = '$der'")" = 1 ] ||
			fail "$(basename "$f" .pem): the certificate it received is not in the store"
	done
	[ "$(sql 'SELECT count(*) - count(DISTINCT serial) FROM serials')" = 0 ] ||
		fail "a serial was reserved twice"
	[ "$(sql "SELECT count(*) FROM certificates c JOIN serials s ON s.serial = c.serial \
		WHERE s.used = 1")" = "$(n_certs)" ] || fail "a certificate's serial is not reserved and used once"
}

# recovered TAG: each kind of door works again in the same daemon.
recovered() {
	make_csr "ok-$1" "ok-$1"
	st=$(post_csr "ok-$1"); [ "$st" = 201 ] || fail "enroll after the fault: $st $(cat "$T/ok-$1.resp")"
	keep "ok-$1" "$T/ok-$1.resp"
	"$ENROLL" renew --dir "$T/a" --timeout 30 >/dev/null 2>"$T/err" || fail "renew after the fault: $(cat "$T/err")"
	keep "dev-a-$1" "$T/a/chain.pem"
	code=$(tcurl -o "$T/est.resp" -w '%{http_code}' -H 'Content-Type: application/pkcs10' \
		--cert "$T/est-cur.pem" --key "$T/est-a.key" \
		--data-binary @"$T/est-a.b64" "$EST/simplereenroll") || code=000
	[ "$code" = 200 ] || fail "EST simplereenroll after the fault: $code $(cat "$T/est.resp")"
	openssl base64 -d -in "$T/est.resp" | openssl pkcs7 -inform DER -print_certs -out "$T/est.pem" ||
		fail "EST answer after the fault"
	keep "est-a-$1" "$T/est.pem"
	cp "$GOT/est-a-$1.pem" "$T/est-cur.pem"
	login
	[ "$code" = 200 ] || fail "login after the fault: $code $(cat "$T/b")"
	admin /api/v1/press '{"seconds": 3600, "count": 64}'
	[ "$code" = 200 ] || fail "console press after the fault: $code $(cat "$T/b")"
	"$LANCA" press --dir "$D" --seconds 3600 --count 64 >/dev/null 2>"$T/err" ||
		fail "lanca press after the fault: $(cat "$T/err")"
	check_store
}

# ---- libfiu: ENOSPC, EIO and EROFS on every write, EIO on the WAL's sync ----
for f in "28 posix/io/rw/pwrite disk_is_full" \
	"5 posix/io/rw/pwrite I/O_error" \
	"30 posix/io/rw/pwrite I/O_error" \
	"5 posix/io/sync/fdatasync I/O_error"; do
	set -- $f
	words=$(printf '%s' "$3" | tr _ ' ')
	tag="$1-$(basename "$2")"
	fault "$1" "$2"
	t0=$(date +%s)
	every_door "$words" "$tag"
	t1=$(date +%s)
	clear_fault "$2"
	check_store
	recovered "$tag"
	ok "errno $1 on $(basename "$2"): every door answers 503 / exits 1 saying '$words' ($((t1 - t0)) s);" \
		"store whole, audit chain verifies, the same daemon issues again"
done
grep -q "error: database write failed: the certificate store's disk is full" "$T/serve.log" ||
	fail "serve did not log the failed writes"
stop_serve || fail "serve did not stop cleanly after the faults"
check_store
ok "serve stops cleanly after the faults; $(ls "$GOT" | wc -l) certificates received, all in the store"

# ---- a full file system: the state directory on a 4 MiB tmpfs ----
# (this script runs in its own mount namespace: the mounts vanish with it)
F="$T/small"
mkdir "$F"
mount -t tmpfs -o size=4m,mode=0700 lanca-disk "$F" || fail "mounting a tmpfs"
D="$F/state"
"$LANCA" init --dir "$D" --name full >/dev/null 2>&1 || fail "init on the tmpfs"
ROOT_PEM="$D/root.pem"
printf 'ID,NAME\nfull-pre,Preauthorised\n' >"$T/pre.csv"
printf 'ID,NAME\nro-pre,Preauthorised\n' >"$T/pre2.csv"
GOT="$T/got-full"
start_serve "$D" --enroll-burst 1000 --enroll-rate 1000
GW="https://localhost:$HTTPS_PORT"
"$LANCA" press --dir "$D" --seconds 3600 --count 64 >/dev/null || fail "press on the tmpfs"
make_csr f0 f0
st=$(post_csr f0); [ "$st" = 201 ] || fail "enroll on the tmpfs: $st"
keep f0 "$T/f0.resp"
# Every free block taken (dd stops at ENOSPC).
dd if=/dev/zero of="$F/filler" bs=4k 2>/dev/null || true
[ "$(df --output=avail "$F" | tail -n 1 | tr -d ' ')" = 0 ] || fail "the tmpfs is not full"
certs0=$(n_certs)
make_csr f1 f1
code=$(post_csr f1)
is503 "POST /api/v1/enroll on a full tmpfs" "$T/f1.resp" "disk is full"
make_csr f2 f2
openssl req -in "$T/f2.csr" -outform der | openssl base64 >"$T/f2.b64"
code=$(tcurl -o "$T/f2.resp" -w '%{http_code}' -H 'Content-Type: application/pkcs10' \
	--data-binary @"$T/f2.b64" "$HTTPS_URL/.well-known/est/simpleenroll") || code=000
is503 "EST simpleenroll on a full tmpfs" "$T/f2.resp" "disk is full"
st=0
"$LANCA" press --dir "$D" --seconds 60 >/dev/null 2>"$T/err" || st=$?
[ $st = 1 ] && grep -q "disk is full" "$T/err" || fail "lanca press on a full tmpfs: exit $st, $(cat "$T/err")"
st=0
"$LANCA" preauth import "$T/pre.csv" --dir "$D" >/dev/null 2>"$T/err" || st=$?
[ $st = 1 ] && grep -q "disk is full" "$T/err" || fail "lanca preauth import on a full tmpfs: exit $st, $(cat "$T/err")"
code=$(tcurl -o /dev/null -w '%{http_code}' "$HTTPS_URL/ca.pem") || code=000
[ "$code" = 200 ] || fail "GET /ca.pem on a full tmpfs: $code"
[ "$(n_certs)" = "$certs0" ] || fail "a certificate was recorded on a full disk"
rm -f "$F/filler"
make_csr f3 f3
st=$(post_csr f3); [ "$st" = 201 ] || fail "enroll once space was freed: $st $(cat "$T/f3.resp")"
keep f3 "$T/f3.resp"
"$LANCA" preauth import "$T/pre.csv" --dir "$D" >/dev/null 2>"$T/err" ||
	fail "preauth import once space was freed: $(cat "$T/err")"
check_store
stop_serve || fail "serve did not stop cleanly after the full disk"
check_store
ok "a full tmpfs: enroll and EST 503, lanca press and preauth import exit 1, all saying the disk is full;" \
	"freed, the same daemon issues again; store whole, audit chain verifies"

# ---- a read-only database: the file bind-mounted read-only ----
# The first state directory again (its devices, admin and pending
# requests): serve starts on a database it cannot write.
D="$T/state"
ROOT_PEM="$D/root.pem"
GOT="$T/got"
mount --bind "$D/lanca.db" "$D/lanca.db" && mount -o remount,bind,ro "$D/lanca.db" ||
	fail "bind-mounting the database read-only"
st=0
"$LANCA" preauth import "$T/pre2.csv" --dir "$D" >/dev/null 2>"$T/err" || st=$?
[ $st = 1 ] && grep -q "is read-only" "$T/err" ||
	fail "lanca preauth import on a read-only database: exit $st, $(cat "$T/err")"
"$LANCA" list --dir "$D" >"$T/out" 2>&1 || fail "lanca list on a read-only database: $(cat "$T/out")"
grep -q dev-a "$T/out" || fail "lanca list on a read-only database lacks dev-a: $(cat "$T/out")"
audit0=$(n_audit)
start_serve "$D" --enroll-burst 1000 --enroll-rate 1000 --monitor 1
GW="https://localhost:$HTTPS_PORT"
ORIGIN=$GW
EST="$HTTPS_URL/.well-known/est"
# lanca-enroll renews with the gateway it enrolled with: this one now.
printf '%s\n' "$GW" >"$T/a/gateway.url"
grep -q "is read-only.*the key-load row is written first" "$T/serve.log" ||
	fail "serve does not say the database is read-only: $(cat "$T/serve.log")"
every_door "is read-only" ro
# The mount goes (lazily: serve's open files keep it) and the file under
# it can be written.
umount -l "$D/lanca.db" || fail "umount"
# This daemon's window never opened (each press failed).
"$LANCA" press --dir "$D" --seconds 3600 --count 64 >/dev/null 2>"$T/err" ||
	fail "lanca press once the database is writable: $(cat "$T/err")"
recovered ro
grep -q "can be written again" "$T/serve.log" || fail "serve did not reopen the database"
# The key-load row of this start comes first, before what the doors wrote.
[ "$(sql "SELECT event FROM audit WHERE id > $audit0 ORDER BY id LIMIT 1")" = key-load ] ||
	fail "the first row after the read-only start is not key-load: \
$(sql "SELECT id, event FROM audit WHERE id > $audit0 ORDER BY id LIMIT 3")"
[ "$(sql "SELECT count(*) FROM audit WHERE id > $audit0 AND event = 'key-load'")" = 1 ] ||
	fail "key-load written more than once"
"$LANCA" preauth import "$T/pre2.csv" --dir "$D" >/dev/null 2>"$T/err" ||
	fail "preauth import once the database is writable: $(cat "$T/err")"
stop_serve || fail "serve did not stop cleanly after the read-only database"
check_store
ok "a read-only database: serve starts and serves reads, every door answers 503 / exits 1 saying" \
	"it is read-only; writable again, the same daemon writes its key-load row first, then issues"
