#!/bin/sh
# t_pg_gateways.sh - two gateways on one PostgreSQL database (issue 16):
# `lanca join` makes the second (the site's issuing key in a PKCS#11
# token both reach, here a SoftHSM2 token of the test's own) and refuses
# what it must; the site's onboarding window is one (a press on one
# gateway admits one device, whichever gateway it asks through; a second
# device contests it; overlap is seen across both); concurrent enrollments
# through both give no serial twice and no name to two devices; and a
# gateway killed under load loses no certificate it acknowledged while the
# other keeps serving.
#
# Both daemons run on this machine, each on its own ports, with the
# database's server the test's own (pg.sh). It uses PostgreSQL whatever
# LANCA_TEST_STORE says.
. "$(dirname "$0")/lib.sh"

pg_skip_unless_available
PIN=1357-site-pin
softhsm_token site-ca "$PIN"
# A token signer needs Landlock (it keeps the module to its paths).
landlock=$(python3 -c 'import ctypes; print(ctypes.CDLL(None, use_errno=True).syscall(444, None, 0, 1))')
if [ "$landlock" -le 0 ] && [ -z "${LANCA_WRAPPER:-}" ]; then
	echo "# SKIP: no Landlock here: a signer with its key in a token refuses to start without it"
	exit 77
fi
pg_start site || fail "starting PostgreSQL"
URL=$(pg_url site) || fail "pg_url"
DEVICES=${LANCA_GATEWAYS_DEVICES:-60}
KEY="$TOK;object=issuing;id=%01"
TOKEN_OPTS="--pin-file $T/pin --pkcs11-module $MOD --token-path $T/tokens"

A="$T/gw-a"
B="$T/gw-b"
# shellcheck disable=SC2086
"$LANCA" init --dir "$A" --name site --store "$URL" --issuing-key "$KEY" $TOKEN_OPTS \
	>"$T/out" 2>&1 || fail "init: $(cat "$T/out")"
ROOT_PEM="$A/root.pem"

# ---- lanca join: what it refuses leaves nothing behind ----
# join_b DIR [ARGS...]: lanca join with the site's URL and token.
join_b() {
	d=$1
	shift
	# shellcheck disable=SC2086
	"$LANCA" join --dir "$d" --store "$URL" $TOKEN_OPTS "$@" >"$T/join.out" 2>&1
}
p11tool --provider "$MOD" --login --set-pin="$PIN" --generate-privkey ecdsa --curve secp256r1 \
	--label other "$TOK" >/dev/null 2>&1 || fail "a second key in the token"
st=0; join_b "$T/x1" --name gw-x --issuing-key "$TOK;object=other" || st=$?
[ $st = 1 ] && grep -q "not the site's issuing CA's" "$T/join.out" && [ ! -e "$T/x1" ] ||
	fail "a key that is not the issuing CA's: exit $st, $(cat "$T/join.out")"
EMPTY=$(pg_createdb site empty) || fail "pg_createdb"
st=0
# shellcheck disable=SC2086
"$LANCA" join --dir "$T/x2" --store "$EMPTY" --name gw-x --issuing-key "$KEY" $TOKEN_OPTS \
	>"$T/join.out" 2>&1 || st=$?
[ $st = 1 ] && grep -q "holds no CA" "$T/join.out" && [ ! -e "$T/x2" ] ||
	fail "a database without a site: exit $st, $(cat "$T/join.out")"
st=0; "$LANCA" join --dir "$T/x3" --store "$A/lanca.db" --issuing-key "$KEY" >"$T/join.out" 2>&1 || st=$?
[ $st = 2 ] && [ ! -e "$T/x3" ] || fail "a store that is not a URL: exit $st, $(cat "$T/join.out")"
st=0; join_b "$T/x4" --name Bad_Name --issuing-key "$KEY" || st=$?
[ $st = 1 ] && grep -q "DNS label" "$T/join.out" && [ ! -e "$T/x4" ] ||
	fail "a bad name: exit $st, $(cat "$T/join.out")"
st=0
"$LANCA" init --dir "$T/x6" --name again --store "$URL" >"$T/out" 2>&1 || st=$?
[ $st = 1 ] && grep -q "holds a CA already" "$T/out" && [ ! -e "$T/x6" ] &&
	[ "$(sql_in "$A" "SELECT count(*) FROM cas WHERE role = 'root'")" = 1 ] ||
	fail "a second init on the site's database: exit $st, $(cat "$T/out")"
ok "lanca join refuses a key that is not the issuing CA's, a database without a site, a file, a bad name; init refuses a database that holds a site: nothing made"

join_b "$B" --name gw-b --san 127.0.0.2 --issuing-key "$KEY" || fail "join: $(cat "$T/join.out")"
[ "$(cat "$B/gateway.name")" = gw-b ] && [ -f "$B/store.url" ] && [ ! -e "$B/keys/root.key" ] &&
	grep -q "pkcs11:" "$B/keys/issuing.key" || fail "the joined directory: $(ls -la "$B" "$B/keys")"
cmp -s "$A/root.pem" "$B/root.pem" || fail "the joined gateway has another root"
openssl x509 -in "$B/gateway.pem" -noout -ext subjectAltName | grep -q "DNS:gw-b.local" &&
	openssl x509 -in "$B/gateway.pem" -noout -ext subjectAltName | grep -q "IP Address:127.0.0.2" ||
	fail "B's certificate lacks its own names"
! openssl x509 -in "$A/gateway.pem" -noout -ext subjectAltName | grep -q "gw-b" ||
	fail "A's certificate has B's names"
st=0; join_b "$T/x5" --name gw-b --issuing-key "$KEY" || st=$?
[ $st = 1 ] && grep -q "has joined the site already" "$T/join.out" && [ ! -e "$T/x5" ] ||
	fail "a name taken: exit $st, $(cat "$T/join.out")"
[ "$(sql_in "$A" "SELECT count(*) FROM audit WHERE event = 'join' AND subject = 'gw-b'")" = 1 ] ||
	fail "the join is not audited"
ok "lanca join: the site's root, the issuing key's record and no root key, its own names in its certificate, the name held, audited"

# Both daemons (lib.sh's start_gw). A short monitor time (2 s): a key
# stops waiting soon after it last asked, so each step starts with none.
start_gw "$A" A --monitor 2 --enroll-burst 1000 --enroll-rate 1000
start_gw "$B" B --monitor 2 --enroll-burst 1000 --enroll-rate 1000

# 1. A press on gateway A admits one device asking through gateway B; a
#    second device asking through A right after is pending and contests it.
"$LANCA" press --dir "$A" >"$T/out" 2>&1 || fail "press on A: $(cat "$T/out")"
make_csr x dev-x "DNS:dev-x.local"
st=$(post_to "$B_PORT" x); [ "$st" = 201 ] || fail "A's press, device through B: $st $(cat "$T/x.resp")"
verify_chain "$T/x.resp" || fail "the chain B issued does not verify"
make_csr y dev-y
st=$(post_to "$A_PORT" y); [ "$st" = 202 ] || fail "second device through A after one press: $st"
[ "$(sql_in "$A" "SELECT contested FROM requests WHERE device_id = 'dev-x'")" = 1 ] ||
	fail "the admission through B was not contested by the device through A"
"$LANCA" status --dir "$B" >"$T/status" 2>&1 && grep -q contested "$T/status" ||
	fail "B's status does not show the site's window: $(cat "$T/status")"
ok "a press on one gateway admits one device through the other; a second device contests it"

# 2. Overlap across gateways: one device waits on each, then a press on B
#    sees both and admits neither.
sleep 3
make_csr p dev-p
make_csr q dev-q
st=$(post_to "$A_PORT" p); [ "$st" = 202 ] || fail "device p through A before the press: $st"
st=$(post_to "$B_PORT" q); [ "$st" = 202 ] || fail "device q through B before the press: $st"
"$LANCA" press --dir "$B" >"$T/out" 2>&1 || fail "press on B: $(cat "$T/out")"
grep -qi overlap "$T/out" || fail "the press on B did not see the device waiting on A: $(cat "$T/out")"
[ "$(sql_in "$A" "SELECT count(*) FROM certificates WHERE device_id IN ('dev-p', 'dev-q')")" = 0 ] ||
	fail "a device was issued despite the overlap"
ok "two devices waiting on two gateways are an overlap for a press on either"

# 3. Concurrent enrollments through both: pre-authorised devices, each
#    asked through both gateways at once, and pairs of devices racing for
#    one name, one through each gateway.
sleep 3
mkdir "$T/csr" "$T/acks"
echo "ID,NAME" >"$T/pre.csv"
i=0
while [ $i -lt "$DEVICES" ]; do
	echo "gw-$i,Device $i" >>"$T/pre.csv"
	i=$((i + 1))
done
for i in 0 1 2 3 4 5; do
	echo "race-$i-a,Racer" >>"$T/pre.csv"
	echo "race-$i-b,Racer" >>"$T/pre.csv"
done
"$LANCA" preauth import "$T/pre.csv" --dir "$B" >"$T/out" 2>&1 || fail "preauth import: $(cat "$T/out")"
seq 0 $((DEVICES - 1)) | xargs -P 2 -I @ sh -c '
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
		-subj "/CN=gw-@" -outform der -out "$1/csr/gw-@.der" 2>/dev/null' sh "$T" ||
	fail "making the requests"
for i in 0 1 2 3 4 5; do
	for s in a b; do
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
			-subj "/CN=race-$i-$s" -addext "subjectAltName=DNS:shared-$i.local" \
			-outform der -out "$T/csr/race-$i-$s.der" 2>/dev/null || fail "racer's request"
	done
done

# devices.py PORTS TOP NAMES...: every name's request is posted through
# every port at about the same moment (16 threads take the (name, port)
# pairs in turn, a name's ports one after the other); each 201's leaf goes
# to acks/NAME.PORT.pem. A refused connection or a dead daemon is no
# answer (the device would ask again); a 202 or 409 is an answer that
# holds no certificate. Prints "NAME PORT STATUS" per answer.
cat >"$T/devices.py" <<'PY'
import http.client, os, ssl, sys, threading
ports, top, names = [int(p) for p in sys.argv[1].split(",")], sys.argv[2], sys.argv[3:]
ctx = ssl.create_default_context(cafile=f"{top}/gw-a/root.pem")
out = []
lock = threading.Lock()

def ask(name, port):
    body = open(f"{top}/csr/{name}.der", "rb").read()
    try:
        c = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=20)
        c.request("POST", "/api/v1/enroll", body, {"Content-Type": "application/pkcs10"})
        r = c.getresponse()
        data = r.read()
    except (OSError, http.client.HTTPException):
        return
    if r.status == 201:
        leaf = data.decode().split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
        tmp = f"{top}/acks/.{name}.{port}.tmp"
        with open(tmp, "w") as f:
            f.write(leaf)
        os.rename(tmp, f"{top}/acks/{name}.{port}.pem")
    with lock:
        out.append(f"{name} {port} {r.status}")

work = [(n, p) for n in names for p in ports]

def worker():
    while True:
        with lock:
            if not work:
                return
            n, p = work.pop(0)
        ask(n, p)

threads = [threading.Thread(target=worker) for _ in range(16)]
for t in threads: t.start()
for t in threads: t.join()
print("\n".join(out))
PY

names=""
i=0
while [ $i -lt "$DEVICES" ]; do
	names="$names gw-$i"
	i=$((i + 1))
done
# shellcheck disable=SC2086
python3 "$T/devices.py" "$A_PORT,$B_PORT" "$T" $names race-0-a race-0-b race-1-a race-1-b \
	race-2-a race-2-b race-3-a race-3-b race-4-a race-4-b race-5-a race-5-b >"$T/answers" ||
	fail "the devices' client failed"
bad=$(awk '$3 != 201 && $3 != 202 && $3 != 409' "$T/answers")
[ -z "$bad" ] || fail "answers other than 201, 202 or 409: $bad"
# Each pre-authorised device got one certificate, whichever gateway(s)
# answered it (both may, with the same certificate).
i=0
while [ $i -lt "$DEVICES" ]; do
	[ "$(sql_in "$A" "SELECT count(*) FROM certificates WHERE device_id = 'gw-$i'")" = 1 ] ||
		fail "gw-$i has $(sql_in "$A" "SELECT count(*) FROM certificates WHERE device_id = 'gw-$i'") certificates"
	i=$((i + 1))
done
[ "$(sql_in "$A" "SELECT count(*) - count(DISTINCT serial) FROM certificates")" = 0 ] ||
	fail "a serial was given twice"
[ "$(sql_in "$A" "SELECT count(*) FROM serials WHERE used = 1")" = \
  "$(sql_in "$A" "SELECT count(*) FROM certificates")" ] || fail "serials used without a certificate"
for i in 0 1 2 3 4 5; do
	n=$(sql_in "$A" "SELECT count(DISTINCT c.device_id) FROM cert_names n JOIN certificates c
		ON c.id = n.cert_id WHERE n.name = 'DNS:shared-$i.local' AND c.status = 'valid'")
	[ "$n" = 1 ] || fail "shared-$i.local is held by $n devices"
done
for f in "$T"/acks/*.pem; do
	s=$(openssl x509 -in "$f" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
	[ "$(sql_in "$A" "SELECT count(*) FROM certificates WHERE encode(serial, 'hex') = '$s'")" = 1 ] ||
		fail "$(basename "$f") was handed out but is not in the database"
done
ok "$DEVICES devices asked through both gateways at once: one certificate each, no serial twice; six names raced for through both: one device each"

# A revocation through one gateway is on the CRL the other serves: the
# CRL is the site's, made with the shared key, kept in the store.
s0=$(sql_in "$A" "SELECT encode(serial, 'hex') FROM certificates WHERE device_id = 'gw-0'")
"$LANCA" revoke "$s0" --dir "$B" --reason keyCompromise >"$T/out" 2>&1 ||
	fail "revoke through B: $(cat "$T/out")"
curl -s --max-time 10 -o "$T/a.crl" "http://127.0.0.1:$A_HTTP/crl" || fail "A's CRL"
openssl crl -inform der -in "$T/a.crl" -noout -text >"$T/crl.txt" 2>&1 || fail "A's CRL: $(cat "$T/crl.txt")"
grep -qi "$(echo "$s0" | tr 'a-f' 'A-F')" "$T/crl.txt" ||
	fail "A's CRL does not list $s0, revoked through B: $(cat "$T/crl.txt")"
ok "a certificate revoked through one gateway is listed by the CRL the other serves"

# 4. One gateway killed under load: every certificate it acknowledged is
#    in the database, and the other goes on serving, the rest of the load
#    included.
rm -f "$T"/acks/*.pem
: >"$T/pre.csv"
echo "ID,NAME" >"$T/pre.csv"
i=0
while [ $i -lt "$DEVICES" ]; do
	echo "kill-$i,Device $i" >>"$T/pre.csv"
	i=$((i + 1))
done
"$LANCA" preauth import "$T/pre.csv" --dir "$A" >"$T/out" 2>&1 || fail "preauth import: $(cat "$T/out")"
seq 0 $((DEVICES - 1)) | xargs -P 2 -I @ sh -c '
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
		-subj "/CN=kill-@" -outform der -out "$1/csr/kill-@.der" 2>/dev/null' sh "$T" ||
	fail "making the requests"
names=""
i=0
while [ $i -lt "$DEVICES" ]; do
	names="$names kill-$i"
	i=$((i + 1))
done
# shellcheck disable=SC2086
python3 "$T/devices.py" "$A_PORT,$B_PORT" "$T" $names >"$T/answers" &
load=$!
# Kill A once it has answered a few, while the rest are in flight.
i=0
while [ $i -lt 200 ] && [ "$(ls "$T/acks" | grep -c "\.$A_PORT\.pem$")" -lt 3 ]; do
	sleep 0.05
	i=$((i + 1))
done
kill -KILL "$A_PID"
wait "$A_PID" 2>/dev/null || true
wait "$load" || fail "the devices' client failed"
acked_a=$(ls "$T/acks" | grep -c "\.$A_PORT\.pem$" || true)
[ "$acked_a" -ge 1 ] || fail "A acknowledged nothing before it was killed"
for f in "$T"/acks/*.pem; do
	s=$(openssl x509 -in "$f" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
	[ "$(sql_in "$A" "SELECT count(*) FROM certificates WHERE encode(serial, 'hex') = '$s'")" = 1 ] ||
		fail "$(basename "$f") was acknowledged but is not in the database"
done
# Whoever A left unanswered asks B again.
missing=""
i=0
while [ $i -lt "$DEVICES" ]; do
	[ "$(sql_in "$A" "SELECT count(*) FROM certificates WHERE device_id = 'kill-$i'")" = 1 ] ||
		missing="$missing kill-$i"
	i=$((i + 1))
done
if [ -n "$missing" ]; then
	# shellcheck disable=SC2086
	python3 "$T/devices.py" "$B_PORT" "$T" $missing >"$T/answers2" || fail "second round"
	! awk '$3 != 201' "$T/answers2" | grep -q . || fail "B refused: $(cat "$T/answers2")"
fi
[ "$(sql_in "$A" "SELECT count(*) FROM certificates WHERE device_id LIKE 'kill-%'")" = "$DEVICES" ] ||
	fail "not every device has its certificate after B took over"
[ "$(sql_in "$A" "SELECT count(*) - count(DISTINCT serial) FROM certificates")" = 0 ] ||
	fail "a serial was given twice"
kill -0 "$B_PID" || fail "B died with A"
ok "A killed under load: its $acked_a acknowledged certificates are all in the database; B served the rest"

HTTPS_PORT=$B_PORT
SERVE_PID=$B_PID
stop_serve || fail "B exited non-zero"

# 5. One audit log for the site, whose checkpoints each gateway signs with
#    its own key: it verifies with both keys, not with one alone.
"$LANCA" audit verify --dir "$A" --key "$A/keys/audit.pub" --key "$B/keys/audit.pub" \
	>"$T/out" 2>&1 || fail "audit verify with both keys: $(cat "$T/out")"
grep -q "^OK" "$T/out" || fail "audit verify: $(cat "$T/out")"
st=0; "$LANCA" audit verify --dir "$A" >"$T/out" 2>&1 || st=$?
[ $st != 0 ] && grep -q "does not verify with the audit key" "$T/out" ||
	fail "audit verify with A's key alone: exit $st, $(cat "$T/out")"
ok "the site's audit log verifies with both gateways' keys, and not with one alone"
