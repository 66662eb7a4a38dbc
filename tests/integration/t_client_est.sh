#!/bin/sh
# t_client_est.sh - the device clients speaking EST (RFC 7030) to the real
# daemon: `lanca-enroll enroll --protocol est` takes the root from
# /cacerts (by fingerprint or on first use, refusing a wrong one before
# anything is sent), is issued during a press, waits out 202 and gets the
# certificate once an admin approves, answers a Basic challenge with a
# pre-authorised device's secret (and fails clearly on a wrong or missing
# one), follows --est-label, and `renew --protocol est` renews over mTLS
# at simplereenroll; contrib/lanca-enroll.sh --est does the same enroll
# flows with curl and openssl. Nothing here can reach lanca's own API by
# accident: the root is never fetched over plain HTTP (no --http, and the
# default one is port 80, where nothing listens), and the labelled runs
# meet a 404 for a label the daemon does not have.
. "$(dirname "$0")/lib.sh"

: "${TOP_BUILDDIR:=$TOP_SRCDIR}"
ENROLL="$LANCA_ENROLL"
ENROLL_SH="$TOP_SRCDIR/contrib/lanca-enroll.sh"
[ -x "$ENROLL" ] || fail "no $ENROLL"

D="$T/state"
# With a backup root, so that /cacerts carries two self-signed roots and
# the primary's certificate of the backup: both clients must still take
# the root that signed the issuing CA.
printf 'Estc-backup pass:phrase-33e1\n' >"$T/bpass"
chmod 600 "$T/bpass"
"$LANCA" init --dir "$D" --name estc --backup-key-out "$T/backup.key" --backup-pass-file "$T/bpass" \
	>/dev/null 2>&1 || fail "init"
ROOT_PEM="$D/root.pem"
start_serve "$D" --est-label site1
GW="https://localhost:$HTTPS_PORT"
FP=$(openssl x509 -in "$ROOT_PEM" -noout -fingerprint -sha256 | sed 's/.*=//')
FP_HEX=$(printf '%s' "$FP" | tr -d : | tr 'A-F' 'a-f')
bad=$(printf '%064d' 0)

# cert_count DEVICE: how many certificates DEVICE holds.
cert_count() {
	sql "SELECT count(*) FROM certificates WHERE device_id='$1'"
}

# ---- lanca-enroll --protocol est ----
"$LANCA" press --dir "$D" >/dev/null || fail "press"
"$ENROLL" enroll --protocol est --gateway "$GW" --id est-a --name est-a.local --ip 192.168.1.60 \
	--out "$T/a" --trust-on-first-use --timeout $((30 * LANCA_TIME_FACTOR)) >"$T/out" 2>"$T/err" ||
	fail "EST enroll after a press: $(cat "$T/err")"
grep -q "trusting the root on first use: SHA-256 fingerprint $FP_HEX" "$T/err" ||
	fail "--trust-on-first-use over EST did not print the root's fingerprint: $(cat "$T/err")"
check_out "$T/a"
openssl x509 -in "$T/a/cert.pem" -noout -subject | grep -q "CN = est-a" || fail "est-a subject"
openssl x509 -in "$T/a/cert.pem" -noout -ext subjectAltName |
	grep -q "DNS:est-a.local, IP Address:192.168.1.60" || fail "est-a SANs"
grep -q "issued est-a, serial" "$T/out" || fail "no report on stdout: $(cat "$T/out")"
ok "lanca-enroll --protocol est after a press: root from /cacerts on first use, files, chain, names"

st=0
"$ENROLL" enroll --protocol est --gateway "$GW" --id est-x --out "$T/x" --fingerprint "$bad" \
	--timeout $((5 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] || fail "EST with a wrong fingerprint exited $st: $(cat "$T/err")"
grep -q "root fingerprint mismatch: expected $bad, got $FP_HEX" "$T/err" || fail "mismatch message: $(cat "$T/err")"
[ ! -e "$T/x" ] || fail "a wrong fingerprint left $T/x"
[ "$(sql "SELECT count(*) FROM requests WHERE device_id='est-x'")" = 0 ] ||
	fail "a request was sent before the root was settled"
ok "lanca-enroll --protocol est with a wrong fingerprint exits 1 before anything is sent or written"

# Without a press: 202, and the same request posted again until an admin
# approves it; then the certificate, in the same run.
"$ENROLL" enroll --protocol est --gateway "$GW" --id est-b --out "$T/b" --fingerprint "$FP" \
	--timeout $((60 * LANCA_TIME_FACTOR)) >"$T/out" 2>"$T/err" &
cpid=$!
waits_pending "$T/err"
id=$(pending_id est-b)
grep -q "pending: request $id.*; asking again in [0-9]* s" "$T/err" || fail "pending message: $(cat "$T/err")"
"$LANCA" approve --dir "$D" "$id" >/dev/null || fail "approve $id"
st=0
wait $cpid || st=$?
[ $st -eq 0 ] || fail "EST enroll after approve exited $st: $(cat "$T/err")"
check_out "$T/b"
[ "$(sql "SELECT count(*) FROM requests WHERE device_id='est-b'")" = 1 ] ||
	fail "polling made more than one request: $(sql "SELECT id, state FROM requests WHERE device_id='est-b'")"
ok "lanca-enroll --protocol est: 202 pending, the same request asked again, issued once approved"

st=0
"$ENROLL" enroll --protocol est --gateway "$GW" --id est-c --out "$T/c" --fingerprint "$FP" \
	--timeout $((2 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" || st=$?
[ $st -eq 3 ] || fail "EST without a press: exit $st, want 3: $(cat "$T/err")"
id=$(pending_id est-c)
grep -q "still pending after $((2 * LANCA_TIME_FACTOR)) s: request $id" "$T/err" || fail "still pending message: $(cat "$T/err")"
[ -f "$T/c/key.pem.new" ] && [ ! -e "$T/c/key.pem" ] || fail "pending: key.pem.new expected"
"$LANCA" approve --dir "$D" "$id" >/dev/null || fail "approve $id"
"$ENROLL" enroll --protocol est --gateway "$GW" --id est-c --out "$T/c" --fingerprint "$FP" \
	--timeout $((30 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" || fail "EST enroll after approve: $(cat "$T/err")"
grep -q "using the key from the earlier attempt" "$T/err" || fail "key not reused: $(cat "$T/err")"
check_out "$T/c"
ok "lanca-enroll --protocol est: exit 3 at --timeout keeping the key; the next run gets the approved request"

# ---- HTTP Basic for a pre-authorised device ----
cat >"$T/pre.csv" <<'EOF'
ID,NAME,SECRET,AUTH_TYPE
pre-1,Boiler,Sekr1t-boiler-42,CERTIFICATES
pre-2,Kettle,Sekr1t-kettle-42,CERTIFICATES
sh-pre,Toaster,Sekr1t-toaster-42,CERTIFICATES
EOF
"$LANCA" preauth import "$T/pre.csv" --dir "$D" >/dev/null || fail "preauth import"
printf 'Sekr1t-boiler-42\n' >"$T/pre-1.secret"
printf 'Sekr1t-kettle-43\n' >"$T/pre-2.wrong"
"$ENROLL" enroll --protocol est --gateway "$GW" --id pre-1 --out "$T/p1" --fingerprint "$FP" \
	--secret-file "$T/pre-1.secret" --timeout $((30 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" ||
	fail "EST enroll with the secret: $(cat "$T/err")"
check_out "$T/p1"
ok "lanca-enroll --protocol est --secret-file: Basic after the 401 challenge, issued without a press"

st=0
"$ENROLL" enroll --protocol est --gateway "$GW" --id pre-2 --out "$T/p2" --fingerprint "$FP" \
	--timeout $((10 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] || fail "EST enroll of a device with a secret, without one: exit $st"
grep -q "the gateway asks for this device's pre-authorisation secret (HTTP Basic): give --secret-file" "$T/err" ||
	fail "missing secret message: $(cat "$T/err")"
[ ! -e "$T/p2" ] || fail "a refused enroll left $T/p2: $(ls -A "$T/p2")"
st=0
"$ENROLL" enroll --protocol est --gateway "$GW" --id pre-2 --out "$T/p2" --fingerprint "$FP" \
	--secret-file "$T/pre-2.wrong" --timeout $((10 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] || fail "EST enroll with a wrong secret: exit $st"
grep -q "the gateway refused the secret for pre-2: .*(HTTP 401)" "$T/err" || fail "wrong secret message: $(cat "$T/err")"
[ ! -e "$T/p2" ] || fail "a wrong secret left $T/p2: $(ls -A "$T/p2")"
[ "$(cert_count pre-2)" = 0 ] || fail "pre-2 was issued without its secret"
if grep -q "Sekr1t-kettle" "$T/err"; then fail "the secret was printed"; fi
ok "lanca-enroll --protocol est: no secret or a wrong one exits 1 saying so, nothing issued or left"

printf 'short\n' >"$T/short.secret"
st=0
"$ENROLL" enroll --protocol est --gateway "$GW" --id pre-2 --out "$T/p2" --fingerprint "$FP" \
	--secret-file "$T/short.secret" --timeout $((10 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "want a secret of 8 to 256 bytes, not 5" "$T/err" || fail "short secret: $st $(cat "$T/err")"
[ ! -e "$T/p2" ] || fail "a short secret left $T/p2"
ok "lanca-enroll: an unusable --secret-file is refused before anything is sent"

# ---- --est-label ----
"$LANCA" press --dir "$D" >/dev/null || fail "press for the label"
"$ENROLL" enroll --protocol est --est-label site1 --gateway "$GW" --id est-l --out "$T/l" \
	--fingerprint "$FP" --timeout $((30 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" || fail "EST enroll under site1: $(cat "$T/err")"
check_out "$T/l"
st=0
"$ENROLL" enroll --protocol est --est-label site2 --gateway "$GW" --id est-m --out "$T/m" \
	--fingerprint "$FP" --timeout $((10 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "GET /.well-known/est/site2/cacerts: .*(HTTP 404)" "$T/err" ||
	fail "an unknown label: $st $(cat "$T/err")"
[ ! -e "$T/m" ] || fail "an unknown label left $T/m"
ok "lanca-enroll --est-label: the labelled paths; a label the gateway lacks is its 404"

# ---- renew --protocol est (simplereenroll over mTLS) ----
old_serial=$(openssl x509 -in "$T/a/cert.pem" -noout -serial)
old_key=$(sha256sum <"$T/a/key.pem")
"$ENROLL" renew --protocol est --dir "$T/a" --timeout $((30 * LANCA_TIME_FACTOR)) >"$T/out" 2>"$T/err" ||
	fail "EST renew: $(cat "$T/err")"
grep -q "renewed est-a, serial" "$T/out" || fail "renew report: $(cat "$T/out")"
check_out "$T/a"
[ "$(openssl x509 -in "$T/a/cert.pem" -noout -serial)" != "$old_serial" ] || fail "renew kept the serial"
[ "$(sha256sum <"$T/a/key.pem")" != "$old_key" ] || fail "renew kept the key"
openssl x509 -in "$T/a/cert.pem" -noout -ext subjectAltName |
	grep -q "DNS:est-a.local, IP Address:192.168.1.60" || fail "renewal changed the names"
for f in key.pem.new cert.pem.new chain.pem.new; do
	[ ! -e "$T/a/$f" ] || fail "renew left $f"
done
ok "lanca-enroll renew --protocol est: simplereenroll over mTLS, new key and serial, same names"

# A certificate the gateway did not issue is refused at simplereenroll.
foreign_device "$T/s" est-a "DNS:est-a.local"
st=0
"$ENROLL" renew --protocol est --dir "$T/s" --timeout $((10 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] || fail "EST renew with a foreign certificate exited $st: $(cat "$T/err")"
cmp -s "$T/stranger.pem.1.pem" "$T/s/cert.pem" || fail "a failed renew replaced cert.pem"
ok "lanca-enroll renew --protocol est with a certificate from another CA fails and changes nothing"

# ---- usage ----
for args in "--protocol bogus" "--est-label site1" "--protocol est --http $HTTP_URL" \
	"--secret-file $T/pre-1.secret" "--protocol est --est-label ../x"; do
	st=0
	# shellcheck disable=SC2086
	"$ENROLL" enroll $args --gateway "$GW" --id u --out "$T/u" --fingerprint "$FP" \
		>/dev/null 2>"$T/err" || st=$?
	[ $st -eq 2 ] || fail "enroll $args exited $st: $(cat "$T/err")"
	[ ! -e "$T/u" ] || fail "enroll $args left $T/u"
done
st=0; "$ENROLL" renew --dir "$T/a" --est-label site1 >/dev/null 2>&1 || st=$?
[ $st -eq 2 ] || fail "renew --est-label without --protocol est exited $st"
"$ENROLL" enroll --help | grep -q -- "--protocol api|est" || fail "enroll --help does not show --protocol"
"$ENROLL" renew --help | grep -q -- "--protocol api|est" || fail "renew --help does not show --protocol"
ok "--protocol, --est-label, --secret-file and --http misused: exit 2, nothing written"

# ---- contrib/lanca-enroll.sh --est ----
"$LANCA" press --dir "$D" >/dev/null || fail "press for the sh client"
sh "$ENROLL_SH" --est --gateway "$GW" --id sh-a --name sh-a.local --out "$T/sa" --trust-on-first-use \
	--timeout $((30 * LANCA_TIME_FACTOR)) >"$T/out" 2>"$T/err" || fail "lanca-enroll.sh --est: $(cat "$T/err")"
grep -q "trusting the root on first use: SHA-256 fingerprint $FP_HEX" "$T/err" ||
	fail "lanca-enroll.sh --est on first use: $(cat "$T/err")"
check_out "$T/sa"
openssl x509 -in "$T/sa/cert.pem" -noout -ext subjectAltName | grep -q "DNS:sh-a.local" || fail "sh-a SAN"
ok "lanca-enroll.sh --est after a press: root from /cacerts, files, chain"

st=0
sh "$ENROLL_SH" --est --gateway "$GW" --id sh-x --out "$T/sx" --fingerprint "$bad" --timeout $((5 * LANCA_TIME_FACTOR)) \
	>/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "root fingerprint mismatch: expected $bad, got $FP_HEX" "$T/err" ||
	fail "sh --est wrong fingerprint: $st $(cat "$T/err")"
[ ! -e "$T/sx" ] || fail "lanca-enroll.sh --est with a wrong fingerprint left $T/sx"
ok "lanca-enroll.sh --est with a wrong fingerprint exits 1 leaving nothing"

sh "$ENROLL_SH" --est --est-label site1 --gateway "$GW" --id sh-b --out "$T/sb" --fingerprint "$FP" \
	--timeout $((60 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" &
cpid=$!
waits_pending "$T/err"
id=$(pending_id sh-b)
"$LANCA" approve --dir "$D" "$id" >/dev/null || fail "approve $id"
st=0
wait $cpid || st=$?
[ $st -eq 0 ] || fail "lanca-enroll.sh --est after approve exited $st: $(cat "$T/err")"
check_out "$T/sb"
ok "lanca-enroll.sh --est --est-label: 202 pending, asked again, issued once approved"

printf 'Sekr1t-toaster-43\n' >"$T/sh-pre.wrong"
st=0
sh "$ENROLL_SH" --est --gateway "$GW" --id sh-pre --out "$T/sp" --fingerprint "$FP" \
	--secret-file "$T/sh-pre.wrong" --timeout $((10 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "the gateway refused the secret for sh-pre: .*(HTTP 401)" "$T/err" ||
	fail "sh --est wrong secret: $st $(cat "$T/err")"
[ ! -e "$T/sp" ] || fail "a wrong secret left $T/sp"
printf 'Sekr1t-toaster-42\n' >"$T/sh-pre.secret"
sh "$ENROLL_SH" --est --gateway "$GW" --id sh-pre --out "$T/sp" --fingerprint "$FP" \
	--secret-file "$T/sh-pre.secret" --timeout $((60 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" ||
	fail "lanca-enroll.sh --est --secret-file: $(cat "$T/err")"
check_out "$T/sp"
ok "lanca-enroll.sh --est --secret-file: a wrong secret exits 1 saying so; the right one is issued"

stop_serve || fail "serve exited non-zero"

# ---- --bind against a gateway that requires the channel binding ----
# lanca-enroll speaks TLS 1.3 here, so the binding is tls-exporter
# (RFC 9266); without --bind the gateway refuses the request.
start_serve "$D" --est-require-binding --monitor 1
GW="https://localhost:$HTTPS_PORT"
sleep 2
"$LANCA" press --dir "$D" >/dev/null || fail "press"
st=0
"$ENROLL" enroll --protocol est --gateway "$GW" --id est-bind --out "$T/nb" --fingerprint "$FP" 	--timeout $((10 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "channel binding" "$T/err" || fail "unbound enroll, binding required: $st $(cat "$T/err")"
"$ENROLL" enroll --protocol est --bind --gateway "$GW" --id est-bind --out "$T/bd" 	--fingerprint "$FP" --timeout $((30 * LANCA_TIME_FACTOR)) >"$T/out" 2>"$T/err" ||
	fail "enroll --bind: $(cat "$T/err")"
check_out "$T/bd"
[ "$(cert_count est-bind)" = 1 ] || fail "est-bind certificates: $(cert_count est-bind)"
old_serial=$(openssl x509 -in "$T/bd/cert.pem" -noout -serial)
"$ENROLL" renew --protocol est --bind --dir "$T/bd" --timeout $((30 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" ||
	fail "renew --bind: $(cat "$T/err")"
[ "$(openssl x509 -in "$T/bd/cert.pem" -noout -serial)" != "$old_serial" ] || fail "renew --bind: same certificate"
st=0
"$ENROLL" enroll --bind --gateway "$GW" --id est-x --out "$T/bx" --fingerprint "$FP" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 2 ] && grep -q "needs --protocol est" "$T/err" || fail "--bind without EST: $st"
ok "--bind: tls-exporter in challengePassword; enroll and renew where the gateway requires it, refused without"
stop_serve || fail "serve exited non-zero"
echo "t_client_est: $n_ok passed, 0 failed"
