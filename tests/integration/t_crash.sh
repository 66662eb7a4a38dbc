#!/bin/sh
# t_crash.sh - no acknowledged certificate is lost when the daemon is
# killed under load. Pre-authorised devices enroll over keep-alive
# connections from several client threads while `lanca serve` is killed
# with SIGKILL at a random moment, again and again; after each kill the
# daemon starts on the same state directory and the devices that got no
# answer ask again. Every certificate a device received (HTTP 201) must be
# in the store byte for byte, no device may hold two valid certificates,
# and the database must pass SQLite's integrity check.
#
# LANCA_CRASH_ROUNDS (default 3) kills, LANCA_CRASH_DEVICES (default 160)
# devices; the long run is LANCA_CRASH_ROUNDS=30 LANCA_CRASH_DEVICES=4000
# (docs/performance.md: the devices must outlast the kills).
. "$(dirname "$0")/lib.sh"

ROUNDS=${LANCA_CRASH_ROUNDS:-3}
DEVICES=${LANCA_CRASH_DEVICES:-160}
D="$T/state"
"$LANCA" init --dir "$D" --name crash >/dev/null 2>&1 || fail "init"

mkdir "$T/csr" "$T/acks"
echo "ID,NAME" >"$T/pre.csv"
i=0
while [ $i -lt "$DEVICES" ]; do
	echo "crash-$i,Device $i" >>"$T/pre.csv"
	i=$((i + 1))
done
seq 0 $((DEVICES - 1)) | xargs -P 2 -I @ sh -c '
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout /dev/null -subj "/CN=crash-@" -outform der -out "$1/csr/crash-@.der" \
		2>/dev/null' sh "$T" || fail "making the requests"
"$LANCA" preauth import "$T/pre.csv" --dir "$D" >"$T/out" 2>&1 || fail "preauth import: $(cat "$T/out")"

# The devices: 8 threads, one keep-alive connection each, take the next
# device without an answer; each 201 chain's leaf goes to acks/ (written
# and renamed before the next request, so a file there is an answer the
# device had). They stop when the daemon stops answering.
cat >"$T/devices.py" <<'PY'
import http.client, os, ssl, sys, threading
port, root, top, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
ctx = ssl.create_default_context(cafile=root)
todo = [i for i in range(n) if not os.path.exists(f"{top}/acks/crash-{i}.pem")]
lock = threading.Lock()

def worker():
    conn = None
    while True:
        with lock:
            if not todo:
                return
            i = todo.pop()
        body = open(f"{top}/csr/crash-{i}.der", "rb").read()
        try:
            if conn is None:
                conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=10)
                conn.connect()
                conn.sock.setsockopt(6, 1, 1)  # TCP_NODELAY
            conn.request("POST", "/api/v1/enroll", body,
                         {"Content-Type": "application/pkcs10"})
            r = conn.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException):
            return  # the daemon is gone: this device asks again next round
        if r.status != 201:
            print(f"crash-{i}: HTTP {r.status}: {data[:200]!r}", file=sys.stderr)
            os._exit(3)
        leaf = data.decode().split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
        tmp = f"{top}/acks/.crash-{i}.tmp"
        with open(tmp, "w") as f:
            f.write(leaf)
        os.rename(tmp, f"{top}/acks/crash-{i}.pem")

threads = [threading.Thread(target=worker) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
PY

acked() {
	ls "$T/acks" | grep -c '\.pem$' || true
}

r=0
rounds=
while [ $r -lt "$ROUNDS" ]; do
	start_serve "$D" --enroll-rate 100000 --enroll-burst 100000
	python3 "$T/devices.py" "$HTTPS_PORT" "$D/root.pem" "$T" "$DEVICES" 2>"$T/devices.err" &
	dpid=$!
	# Once the answers flow, somewhere in the next 0 to 0.2 s.
	before=$(acked)
	i=0
	while [ "$(acked)" = "$before" ] && [ $i -lt 200 ] && kill -0 $dpid 2>/dev/null; do
		sleep 0.05
		i=$((i + 1))
	done
	sleep "0.$(( $(od -An -N1 -tu1 /dev/urandom) % 3 ))"
	kill -KILL "$SERVE_PID"
	wait "$SERVE_PID" 2>/dev/null || true
	rounds="$rounds $(acked)"
	SERVE_PID=
	st=0
	wait "$dpid" || st=$?
	[ $st = 0 ] || fail "a device got a refusal: $(cat "$T/devices.err")"
	r=$((r + 1))
done
acked_before=$(acked)
# The rest enroll without a kill, through a daemon that starts on what
# the last one left.
start_serve "$D" --enroll-rate 100000 --enroll-burst 100000
python3 "$T/devices.py" "$HTTPS_PORT" "$D/root.pem" "$T" "$DEVICES" 2>"$T/devices.err" ||
	fail "the last round: $(cat "$T/devices.err")"
stop_serve || fail "serve did not stop cleanly"

[ "$(sqlite3 "$D/lanca.db" "PRAGMA integrity_check")" = ok ] || fail "integrity check"
missing=0
for f in "$T"/acks/crash-*.pem; do
	dev=$(basename "$f" .pem)
	hex=$(openssl x509 -in "$f" -outform der | od -An -v -tx1 | tr -d ' \n')
	n=$(sqlite3 "$D/lanca.db" "SELECT count(*) FROM certificates WHERE device_id = '$dev' AND der = x'$hex'")
	[ "$n" = 1 ] || { echo "# $dev: its certificate is not in the store" >&2; missing=$((missing + 1)); }
done
[ $missing = 0 ] || fail "$missing acknowledged certificates are missing"
[ "$(acked)" = "$DEVICES" ] || fail "not every device enrolled"
[ "$acked_before" -gt 0 ] || fail "no device had an answer before the last start: the kills came too early"
dup=$(sqlite3 "$D/lanca.db" "SELECT count(*) FROM (SELECT device_id FROM certificates \
	WHERE status = 'valid' AND device_id LIKE 'crash-%' GROUP BY device_id HAVING count(*) > 1)")
[ "$dup" = 0 ] || fail "$dup devices hold two valid certificates"
[ "$(sqlite3 "$D/lanca.db" "SELECT count(*) FROM requests WHERE device_id LIKE 'crash-%' \
	AND (state <> 'issued' OR cert_id IS NULL)")" = 0 ] || fail "a request is not issued and linked"
ok "$ROUNDS kills under load (answered by then:$rounds of $DEVICES): every acknowledged certificate stored, none twice"
