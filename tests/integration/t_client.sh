#!/bin/sh
# t_client.sh - the device clients against the real daemon: lanca-enroll
# and contrib/lanca-enroll.sh enroll after a press (root trusted on first
# use or by fingerprint), wait as pending without one and succeed once an
# admin approves, refuse a wrong root (a failed enroll leaves no directory
# behind, and an existing one as it was), keep key.pem.new when a run fails
# after the gateway took the request, and lanca-enroll renews over mTLS.
. "$(dirname "$0")/lib.sh"

: "${TOP_BUILDDIR:=$TOP_SRCDIR}"
ENROLL="$LANCA_ENROLL"
ENROLL_SH="$TOP_SRCDIR/contrib/lanca-enroll.sh"
[ -x "$ENROLL" ] || fail "no $ENROLL"

D="$T/state"
"$LANCA" init --dir "$D" --name client >/dev/null || fail "init"
ROOT_PEM="$D/root.pem"
start_serve "$D"
GW="https://localhost:$HTTPS_PORT"
FP=$(openssl x509 -in "$ROOT_PEM" -noout -fingerprint -sha256 | sed 's/.*=//')
FP_LOWER=$(printf '%s' "$FP" | tr 'A-F' 'a-f')

# ---- lanca-enroll ----
"$LANCA" press --dir "$D" >/dev/null || fail "press"
"$ENROLL" enroll --gateway "$GW" --id dev-a --name dev-a.local --ip 192.168.1.50 --out "$T/a" \
	--trust-on-first-use --http "$HTTP_URL" --timeout $((30 * LANCA_TIME_FACTOR)) >"$T/out" 2>"$T/err" ||
	fail "enroll after a press: $(cat "$T/err")"
grep -qi "$(printf '%s' "$FP" | tr -d : | tr 'A-F' 'a-f')" "$T/err" ||
	fail "--trust-on-first-use did not print the root's fingerprint"
check_out "$T/a"
openssl x509 -in "$T/a/cert.pem" -noout -subject | grep -q "CN = dev-a" || fail "dev-a subject"
openssl x509 -in "$T/a/cert.pem" -noout -ext subjectAltName | grep -q "DNS:dev-a.local, IP Address:192.168.1.50" ||
	fail "dev-a SANs: $(openssl x509 -in "$T/a/cert.pem" -noout -ext subjectAltName)"
ok "lanca-enroll after a press, trusting on first use: files, modes, chain, key, names"

"$LANCA" press --dir "$D" >/dev/null || fail "second press"
"$ENROLL" enroll --gateway "$GW" --id dev-b --out "$T/b" --fingerprint "$FP_LOWER" \
	--http "$HTTP_URL/ca.crt" --timeout $((30 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" ||
	fail "enroll with --fingerprint: $(cat "$T/err")"
check_out "$T/b"
openssl x509 -in "$T/b/cert.pem" -noout -ext subjectAltName | grep -q "DNS:dev-b.local" ||
	fail "a request without names did not get dev-b.local"
ok "lanca-enroll --fingerprint (lower case, colons); no --name gives DEVICE.local"

bad=$(printf '%064d' 0)
st=0
"$ENROLL" enroll --gateway "$GW" --id dev-c --out "$T/c" --fingerprint "$bad" --http "$HTTP_URL" \
	--timeout $((5 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] || fail "wrong fingerprint exited $st"
grep -q "root fingerprint mismatch: expected $bad, got" "$T/err" || fail "mismatch message: $(cat "$T/err")"
[ ! -e "$T/c" ] || fail "a wrong fingerprint left $T/c: $(ls -la "$T/c")"
ok "a wrong root fingerprint exits 1 before anything is sent or written"

st=0
"$ENROLL" enroll --gateway "$GW" --id dev-d --name www.example.com --out "$T/pub" --fingerprint "$FP" \
	--http "$HTTP_URL" --timeout $((10 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "refused: .*www.example.com" "$T/err" || fail "public name: $st $(cat "$T/err")"
[ ! -e "$T/pub" ] || fail "a refused enroll left its output directory: $(ls -la "$T/pub")"
ok "a refused request exits 1 with the server's message and leaves no directory"

# A directory that was there before a failed enroll is left as it was.
mkdir -m 750 "$T/keep"
echo mine >"$T/keep/notes.txt"
ls -A "$T/keep" >"$T/keep.before"
st=0
"$ENROLL" enroll --gateway "$GW" --id dev-d --name www.example.com --out "$T/keep" --fingerprint "$FP" \
	--http "$HTTP_URL" --timeout $((10 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] || fail "refused into an existing directory: exit $st $(cat "$T/err")"
st=0
"$ENROLL" enroll --gateway "$GW" --id dev-d --out "$T/keep" --fingerprint "$bad" \
	--http "$HTTP_URL" --timeout $((5 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] || fail "wrong fingerprint into an existing directory: exit $st $(cat "$T/err")"
ls -A "$T/keep" >"$T/keep.after"
diff "$T/keep.before" "$T/keep.after" >&2 || fail "a failed enroll changed the existing $T/keep"
[ "$(stat -c %a "$T/keep")" = 750 ] && [ "$(cat "$T/keep/notes.txt")" = mine ] ||
	fail "a failed enroll changed $T/keep or its file"
ok "a failed enroll leaves an existing directory as it was"

st=0
"$ENROLL" enroll --gateway "$GW" --id dev-e --out "$T/e" --fingerprint "$FP" --http "$HTTP_URL" \
	--timeout $((3 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" || st=$?
[ $st -eq 3 ] || fail "without a press: exit $st, want 3: $(cat "$T/err")"
grep -q "still pending after $((3 * LANCA_TIME_FACTOR)) s: request" "$T/err" || fail "pending message: $(cat "$T/err")"
[ -f "$T/e/key.pem.new" ] && [ ! -e "$T/e/key.pem" ] || fail "pending: key.pem.new expected"
[ "$(stat -c %a "$T/e/key.pem.new")" = 600 ] || fail "key.pem.new mode"
id=$(pending_id dev-e)
grep -q "$id" "$T/err" || fail "the pending message does not name request $id"
"$LANCA" approve --dir "$D" "$id" >/dev/null || fail "approve $id"
"$ENROLL" enroll --gateway "$GW" --id dev-e --out "$T/e" --fingerprint "$FP" --http "$HTTP_URL" \
	--timeout $((30 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" || fail "enroll after approve: $(cat "$T/err")"
check_out "$T/e"
ok "without a press: exit 3 at --timeout; after lanca approve the same key is issued"

st=0
"$ENROLL" enroll --gateway "$GW" --id dev-e --out "$T/e" --fingerprint "$FP" --http "$HTTP_URL" \
	>/dev/null 2>&1 || st=$?
[ $st -eq 1 ] || fail "enroll over an enrolled directory exited $st"
st=0; "$ENROLL" enroll --gateway "$GW" --id x --out "$T/x" >/dev/null 2>&1 || st=$?
[ $st -eq 2 ] || fail "enroll without a trust choice exited $st"
st=0; "$ENROLL" frobnicate >"$T/out" 2>"$T/err" || st=$?
[ $st -eq 2 ] || fail "unknown command exited $st"
[ ! -s "$T/out" ] && grep -q "^  enroll " "$T/err" && grep -q "^  renew " "$T/err" ||
	fail "unknown command: no usage listing the commands on stderr: $(cat "$T/err")"
st=0; "$ENROLL" renew --dir "$T/a" --gateway "$GW" >/dev/null 2>&1 || st=$?
[ $st -eq 2 ] || fail "renew with an enroll option exited $st"
st=0; "$ENROLL" enroll --help >"$T/out" 2>&1 || st=$?
[ $st -eq 0 ] && grep -q -- "--trust-on-first-use" "$T/out" && ! grep -q -- "--when-due" "$T/out" ||
	fail "enroll --help: $st $(cat "$T/out")"
ok "an enrolled directory is not overwritten; usage errors exit 2"

# ---- contrib/lanca-enroll.sh ----
"$LANCA" press --dir "$D" >/dev/null || fail "press for the sh client"
sh "$ENROLL_SH" --gateway "$GW" --id sh-a --name sh-a.local --out "$T/sa" --fingerprint "$FP" \
	--http "$HTTP_URL" --timeout $((30 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" || fail "lanca-enroll.sh: $(cat "$T/err")"
check_out "$T/sa"
openssl x509 -in "$T/sa/cert.pem" -noout -ext subjectAltName | grep -q "DNS:sh-a.local" || fail "sh-a SAN"
ok "contrib/lanca-enroll.sh after a press"

st=0
sh "$ENROLL_SH" --gateway "$GW" --id sh-b --out "$T/sb" --fingerprint "$bad" --http "$HTTP_URL" \
	--timeout $((5 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "root fingerprint mismatch" "$T/err" || fail "sh wrong fingerprint: $st"
[ ! -e "$T/sb" ] || fail "lanca-enroll.sh with a wrong fingerprint left $T/sb"
st=0
sh "$ENROLL_SH" --gateway "$GW" --id sh-d --name www.example.com --out "$T/spub" --fingerprint "$FP" \
	--http "$HTTP_URL" --timeout $((10 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "refused: .*www.example.com" "$T/err" || fail "sh public name: $st $(cat "$T/err")"
[ ! -e "$T/spub" ] || fail "a refused lanca-enroll.sh left $T/spub: $(ls -la "$T/spub")"
st=0
sh "$ENROLL_SH" --gateway "$GW" --id sh-b --out "$T/sb" --trust-on-first-use --http "$HTTP_URL" \
	--timeout $((3 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" || st=$?
[ $st -eq 3 ] && grep -q "still pending" "$T/err" || fail "sh without a press: $st $(cat "$T/err")"
id=$(pending_id sh-b)
"$LANCA" approve --dir "$D" "$id" >/dev/null || fail "approve $id"
sh "$ENROLL_SH" --gateway "$GW" --id sh-b --out "$T/sb" --trust-on-first-use --http "$HTTP_URL" \
	--timeout $((30 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" || fail "sh after approve: $(cat "$T/err")"
check_out "$T/sb"
ok "lanca-enroll.sh: wrong fingerprint or refusal exits 1 leaving no directory, pending exits 3, approved gets issued"

# ---- renew ----
old_serial=$(openssl x509 -in "$T/a/cert.pem" -noout -serial)
old_key=$(sha256sum <"$T/a/key.pem")
"$ENROLL" renew --dir "$T/a" --timeout $((30 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" || fail "renew: $(cat "$T/err")"
check_out "$T/a"
[ "$(openssl x509 -in "$T/a/cert.pem" -noout -serial)" != "$old_serial" ] || fail "renew kept the serial"
[ "$(sha256sum <"$T/a/key.pem")" != "$old_key" ] || fail "renew kept the key"
openssl x509 -in "$T/a/cert.pem" -noout -ext subjectAltName | grep -q "DNS:dev-a.local, IP Address:192.168.1.50" ||
	fail "renewal changed the names"
for f in key.pem.new cert.pem.new chain.pem.new; do
	[ ! -e "$T/a/$f" ] || fail "renew left $f"
done
ok "renew over mTLS: new key and serial, same names, files replaced"

# A certificate from another CA does not renew.
foreign_device "$T/s" dev-a "DNS:dev-a.local"
st=0; "$ENROLL" renew --dir "$T/s" --timeout $((10 * LANCA_TIME_FACTOR)) >/dev/null 2>&1 || st=$?
[ $st -eq 1 ] || fail "renew with a foreign certificate exited $st"
cmp -s "$T/stranger.pem.1.pem" "$T/s/cert.pem" || fail "a failed renew replaced cert.pem"
ok "renew with a certificate from another CA fails and changes nothing"

# --when-due on a fresh certificate contacts nobody: the daemon is gone.
stop_serve || true
cp "$T/a/cert.pem" "$T/cert.before"
"$ENROLL" renew --dir "$T/a" --when-due >"$T/out" 2>"$T/err" || fail "--when-due: $(cat "$T/err")"
grep -q "not due" "$T/out" || fail "--when-due did not say not due"
cmp -s "$T/cert.before" "$T/a/cert.pem" || fail "--when-due changed cert.pem"
st=0; "$ENROLL" renew --dir "$T/a" --timeout $((3 * LANCA_TIME_FACTOR)) >/dev/null 2>&1 || st=$?
[ $st -eq 1 ] || fail "renew with the gateway down exited $st"
ok "renew --when-due on a fresh certificate exits 0 without contacting the gateway"

# ---- a failure after the gateway took the request keeps the key ----
# The key of a request the gateway holds is the device's identity there:
# a failed run must keep key.pem.new (and its directory) so that the next
# run goes on with it, where a new key would be another device's.

# pubkey FILE: the public key of a private key file.
pubkey() {
	openssl pkey -in "$1" -pubout
}

# lost_gateway NAME CLIENT...: CLIENT enrolls device NAME into $T/NAME
# without a press; the daemon goes away while it waits on the pending
# answer. The run fails, keeps key.pem.new, and after a restart the next
# run asks about the same request; approved, that key is issued.
lost_gateway() {
	name=$1
	shift
	start_serve "$D"
	GW="https://localhost:$HTTPS_PORT"
	st=0
	"$@" --gateway "$GW" --id "$name" --out "$T/$name" --fingerprint "$FP" --http "$HTTP_URL" \
		--timeout $((60 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" &
	cpid=$!
	waits_pending "$T/err"
	id=$(pending_id "$name")
	stop_serve || true
	wait $cpid || st=$?
	[ $st -eq 1 ] || fail "$name: gateway gone while pending: exit $st, want 1: $(cat "$T/err")"
	[ -f "$T/$name/key.pem.new" ] ||
		fail "$name: a failed poll removed the key of request $id: $(cat "$T/err")"
	grep -q "keeping $T/$name/key.pem.new" "$T/err" || fail "$name: no word about the kept key: $(cat "$T/err")"
	pub=$(pubkey "$T/$name/key.pem.new")
	start_serve "$D"
	GW="https://localhost:$HTTPS_PORT"
	st=0
	"$@" --gateway "$GW" --id "$name" --out "$T/$name" --fingerprint "$FP" --http "$HTTP_URL" \
		--timeout $((2 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" || st=$?
	[ $st -eq 3 ] || fail "$name: the run after: exit $st, want 3: $(cat "$T/err")"
	grep -q "using the key from the earlier attempt" "$T/err" || fail "$name: key not reused: $(cat "$T/err")"
	grep -q "request $id" "$T/err" || fail "$name: not the same request $id: $(cat "$T/err")"
	"$LANCA" approve --dir "$D" "$id" >/dev/null || fail "approve $id"
	"$@" --gateway "$GW" --id "$name" --out "$T/$name" --fingerprint "$FP" --http "$HTTP_URL" \
		--timeout $((30 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" || fail "$name: after approve: $(cat "$T/err")"
	check_out "$T/$name"
	[ "$(pubkey "$T/$name/key.pem")" = "$pub" ] || fail "$name: issued for another key than the kept one"
	stop_serve || true
}

lost_gateway dev-f "$ENROLL" enroll
ok "lanca-enroll: the gateway lost while pending exits 1 keeping key.pem.new; the next run asks about the same request"
lost_gateway sh-f sh "$ENROLL_SH"
ok "lanca-enroll.sh: the gateway lost while pending exits 1 keeping key.pem.new; the next run asks about the same request"

# Issued, but the files cannot be written (root.pem is taken by a
# directory): the files this run wrote go, the key stays, and the next run
# gets the certificate already issued to it.
start_serve "$D"
GW="https://localhost:$HTTPS_PORT"
mkdir -m 700 "$T/g"
mkdir "$T/g/root.pem"
"$LANCA" press --dir "$D" >/dev/null || fail "press for dev-g"
st=0
"$ENROLL" enroll --gateway "$GW" --id dev-g --out "$T/g" --fingerprint "$FP" --http "$HTTP_URL" \
	--timeout $((30 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] || fail "dev-g with root.pem blocked: exit $st, want 1: $(cat "$T/err")"
[ -f "$T/g/key.pem.new" ] || fail "a failed write removed the key of an issued certificate"
[ ! -e "$T/g/cert.pem" ] && [ ! -e "$T/g/chain.pem" ] && [ ! -e "$T/g/key.pem" ] ||
	fail "a failed write left files: $(ls -A "$T/g")"
pub=$(pubkey "$T/g/key.pem.new")
rmdir "$T/g/root.pem"
"$ENROLL" enroll --gateway "$GW" --id dev-g --out "$T/g" --fingerprint "$FP" --http "$HTTP_URL" \
	--timeout $((10 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" || fail "dev-g once root.pem is free: $(cat "$T/err")"
check_out "$T/g"
[ "$(pubkey "$T/g/key.pem")" = "$pub" ] || fail "dev-g: issued for another key than the kept one"
stop_serve || true
ok "issued but not written: exit 1 keeping key.pem.new only; the next run gets that key's certificate"

echo "t_client: $n_ok passed, 0 failed"
