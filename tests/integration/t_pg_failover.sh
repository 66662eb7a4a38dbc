#!/bin/sh
# t_pg_failover.sh - a PostgreSQL failover under load loses no certificate
# a device was given (issue 16). A primary and its streaming replica run on
# the loopback (pg.sh's pg_start and pg_replica: the primary waits for the
# replica at every commit); lanca's store is one URL naming both
# (pg_url_hosts). Pre-authorised devices enroll through `lanca serve` from
# a background client that keeps every certificate it is answered with
# (HTTP 201) and asks again after a 503 or a lost connection. Mid-load the
# primary dies (pg_crash: pg_ctl stop -m immediate) and, a moment later,
# the replica is promoted (pg_promote); lanca is not restarted. Then:
# every device has its answer; every certificate a device received is in
# the new primary's certificates table byte for byte, its serial once; no
# device holds two; one more enrollment after the failover is issued and
# stored; lanca's log says it connected again. It prints figures: how many
# were answered before and after the crash, and how long the daemon could
# not write (the client's first failure to its first success after).
# The checker is then shown a certificate the store does not hold and a
# serial listed twice, and must refuse both.
#
# PostgreSQL whatever LANCA_TEST_STORE says (it needs two servers of its
# own); skipped (77) where none is installed. LANCA_FAILOVER_DEVICES
# (default 300) devices; everything is bounded (the client gives up after
# 60 s, each PostgreSQL step after PG_WAIT_S; the waits for lanca are
# multiplied by LANCA_TIME_FACTOR). About 10 to 30 s on 2 loaded cores.
. "$(dirname "$0")/lib.sh"
pg_skip_unless_available
DEVICES=${LANCA_FAILOVER_DEVICES:-300}
D="$T/state"
t_begin=$(date +%s)

pg_start a || fail "pg_start a"
pg_replica b a || fail "pg_replica b a"
URL=$(pg_url_hosts a b) || fail "pg_url_hosts a b"
[ "$URL" = "$(pg_url a | sed 's|/lanca$||'),127.0.0.1:$PG_PORT_b/lanca" ] ||
	fail "pg_url_hosts a b: $URL"
URL_B=$(pg_url b)
[ "$(pg_admin_value b 'SELECT pg_is_in_recovery()')" = t ] || fail "b is not a standby"
[ "$(pg_admin_value a "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'b'")" = sync ] ||
	fail "b is not a synchronous standby of a"
[ -z "$(pg_admin_value b 'SHOW synchronous_standby_names')" ] || fail "b would wait for a standby"
[ "$(pg_admin_value b "SELECT datcollate FROM pg_database WHERE datname = 'lanca'")" = C ] ||
	fail "lanca's database on b does not sort bytewise"
# What lanca commits on a is on b when the commit returns.
psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$PG_URL_a" -c "CREATE TABLE probe (x int);
	INSERT INTO probe VALUES (42)" || fail "writing on a"
[ "$(psql -X -q -A -t -d "$URL_B" -c 'SELECT x FROM probe')" = 42 ] || fail "a's commit is not on b"
psql -X -q -d "$PG_URL_a" -c "DROP TABLE probe" || fail "dropping the probe"
ok "a primary on 127.0.0.1:$PG_PORT_a and its synchronous replica on 127.0.0.1:$PG_PORT_b"

"$LANCA" init --dir "$D" --name failover --store "$URL" >"$T/out" 2>&1 ||
	fail "init --store (both hosts): $(cat "$T/out")"
[ "$(head -n 1 "$D/store.url")" = "$URL" ] || fail "store.url is not the two-host URL"

mkdir "$T/csr" "$T/acks"
echo "ID,NAME" >"$T/pre.csv"
i=0
while [ $i -lt "$DEVICES" ]; do
	echo "fo-$i,Device $i" >>"$T/pre.csv"
	i=$((i + 1))
done
echo "fo-last,The one after" >>"$T/pre.csv"
seq 0 $((DEVICES - 1)) | xargs -P 2 -I @ sh -c '
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout /dev/null -subj "/CN=fo-@" -outform der -out "$1/csr/fo-@.der" \
		2>/dev/null' sh "$T" || fail "making the requests"
"$LANCA" preauth import "$T/pre.csv" --dir "$D" >"$T/out" 2>&1 || fail "preauth import: $(cat "$T/out")"

# The devices: 4 threads, each on one keep-alive connection, take the next
# device and ask until it has an answer. A 201's leaf goes to acks/
# (written and renamed before the next request: a file there is an answer
# the device had). A 503 or a lost connection is the store away: logged,
# and the same device asks again 50 ms later on a new connection. A 409
# "already holds a certificate" after such a failure is a commit whose
# answer was lost with the server: the device had no certificate (logged
# as "doubt", and checked against the store below). Anything else, or no
# end within the deadline, fails. events: "END ok|fail|doubt DEVICE BEGAN
# WHY": when the try ended and began, by the wall clock.
cat >"$T/devices.py" <<'PY'
import http.client, os, ssl, sys, threading, time
port, root, top, n, limit = (int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]),
                             float(sys.argv[5]))
ctx = ssl.create_default_context(cafile=root)
todo = list(range(n - 1, -1, -1))
lock = threading.Lock()
events = open(f"{top}/events", "a", buffering=1)
end = time.time() + limit
bad = []

def event(what, i, began, why=""):
    with lock:
        events.write(f"{time.time():.6f} {what} fo-{i} {began:.6f} {why}\n")

def worker():
    conn = None
    while True:
        with lock:
            if not todo or bad:
                return
            i = todo.pop()
        body = open(f"{top}/csr/fo-{i}.der", "rb").read()
        failed = False
        while True:
            if time.time() > end:
                bad.append(f"fo-{i}: no answer within {limit} s")
                return
            began = time.time()
            try:
                if conn is None:
                    conn = http.client.HTTPSConnection("localhost", port, context=ctx,
                                                       timeout=15)
                    conn.connect()
                conn.request("POST", "/api/v1/enroll", body,
                             {"Content-Type": "application/pkcs10"})
                r = conn.getresponse()
                data = r.read()
            except (OSError, http.client.HTTPException) as ex:
                if conn is not None:
                    conn.close()
                conn = None
                event("fail", i, began, f"connection: {type(ex).__name__}")
                failed = True
                time.sleep(0.05)
                continue
            if r.status == 201:
                leaf = (data.decode().split("-----END CERTIFICATE-----")[0] +
                        "-----END CERTIFICATE-----\n")
                tmp = f"{top}/acks/.fo-{i}.tmp"
                with open(tmp, "w") as f:
                    f.write(leaf)
                os.rename(tmp, f"{top}/acks/fo-{i}.pem")
                event("ok", i, began)
                break
            if r.status == 503:
                event("fail", i, began, "503 " + data[:160].decode(errors="replace").replace("\n", " "))
                failed = True
                conn.close()
                conn = None
                time.sleep(0.05)
                continue
            if r.status == 409 and failed and b"already holds a certificate" in data:
                event("doubt", i, began, "409 after a failure")
                break
            bad.append(f"fo-{i}: HTTP {r.status}: {data[:200]!r}")
            return

threads = [threading.Thread(target=worker) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
for b in bad:
    print(b, file=sys.stderr)
sys.exit(3 if bad else 0)
PY

# The checker: check.py ROWS ACKS [SERIALS]: ROWS is the new primary's
# certificates (psql: device|serial hex|DER hex, one a line), ACKS the
# devices' certificates. Prints one line per problem and a summary; exits
# 1 when there is one. A certificate's serial is read from its own bytes
# by openssl (one storeutl for all, which prints them in order), once:
# SERIALS keeps them between runs.
cat >"$T/check.py" <<'PY'
import glob, os, ssl, subprocess, sys
rows, acks = sys.argv[1], sys.argv[2]
bad = []
known = {}
if len(sys.argv) > 3 and os.path.exists(sys.argv[3]):
    known = dict(l.split() for l in open(sys.argv[3]))
by_serial, by_der, per_device = {}, {}, {}
for line in open(rows):
    dev, serial, der = line.rstrip("\n").split("|")
    serial = serial.lstrip("0").upper()
    by_serial.setdefault(serial, []).append(dev)
    by_der.setdefault(bytes.fromhex(der), []).append(dev)
    per_device[dev] = per_device.get(dev, 0) + 1
for s, devs in by_serial.items():
    if len(devs) > 1:
        bad.append(f"serial {s} twice in the store: {devs}")
for dev, k in per_device.items():
    if k > 1:
        bad.append(f"{dev} holds {k} certificates")
def serials(pems):
    """The serials of pems (PEM texts), in order, as openssl reads them."""
    p = subprocess.run(["openssl", "storeutl", "-noout", "-text", "-certs", "/dev/stdin"],
                       input="".join(pems).encode(), capture_output=True)
    out, lines = [], p.stdout.decode().splitlines()
    for k, l in enumerate(lines):
        if l.strip().startswith("Serial Number:"):
            v = l.split(":", 1)[1].strip()
            if "(0x" in v:  # a small one: "Serial Number: 4660 (0x1234)"
                v = v.split("(0x", 1)[1].rstrip(")")
            else:  # on the next line: "6b:15:..."
                v = lines[k + 1].strip().replace(":", "")
            out.append(v.lstrip("0").upper())
    if p.returncode != 0 or len(out) != len(pems):
        sys.exit(f"openssl storeutl read {len(out)} serials of {len(pems)}: "
                 f"{p.stderr.decode()[:300]}")
    return out

lost = 0
seen = {}
files = sorted(glob.glob(f"{acks}/fo-*.pem"))
pems = {f: open(f).read() for f in files}
ders = {f: ssl.PEM_cert_to_DER_cert(pems[f]) for f in files}
new = [f for f in files if ders[f].hex() not in known]
if new:
    known.update(zip((ders[f].hex() for f in new), serials([pems[f] for f in new])))
for f in files:
    dev = os.path.basename(f)[:-4]
    der = ders[f]
    s = known[der.hex()]
    if s in seen:
        bad.append(f"serial {s} received by {seen[s]} and {dev}")
    seen[s] = dev
    if by_serial.get(s) != [dev] or by_der.get(der) != [dev]:
        lost += 1
        bad.append(f"{dev}: the certificate it received (serial {s}) is not in the store "
                   f"(byte for byte, once)")
if len(sys.argv) > 3:
    with open(sys.argv[3], "w") as f:
        f.writelines(f"{h} {v}\n" for h, v in known.items())
for b in bad:
    print(f"# {b}")
print(f"stored={sum(per_device.values())} received={len(files)} lost={lost} problems={len(bad)}")
sys.exit(1 if bad else 0)
PY

# The devices' certificates (a glob: nothing started, so it can be polled).
acked() {
	set -- "$T"/acks/fo-*.pem
	if [ -e "$1" ]; then echo $#; else echo 0; fi
}

now() {
	date +%s.%N
}

start_serve "$D" --enroll-rate 100000 --enroll-burst 100000
serve_pid=$SERVE_PID
python3 "$T/devices.py" "$HTTPS_PORT" "$D/root.pem" "$T" "$DEVICES" $((60 * LANCA_TIME_FACTOR)) \
	2>"$T/devices.err" &
dpid=$!
bg_track $dpid

# The crash once a third of the devices hold a certificate (within 30 s),
# while the rest still ask; the promotion a second later, so that lanca
# meets a dead primary and a standby that refuses writes in between.
i=0
while [ "$(acked)" -lt $((DEVICES / 3)) ] && [ $i -lt $((3000 * LANCA_TIME_FACTOR)) ] &&
	kill -0 $dpid 2>/dev/null; do
	sleep 0.01
	i=$((i + 1))
done
kill -0 $dpid 2>/dev/null || fail "the devices stopped before the crash: $(cat "$T/devices.err")"
[ "$(acked)" -ge $((DEVICES / 3)) ] ||
	fail "only $(acked) devices enrolled in $((30 * LANCA_TIME_FACTOR)) s before the crash"
pm_a=$(pg_postmaster_pid "$T/pg-a") || fail "a does not run"
t_crash=$(now)
pg_crash a || fail "pg_crash a"
at_crash=$(acked)
! pg_alive "$pm_a" || fail "a's postmaster outlived pg_crash"
[ "$at_crash" -lt "$DEVICES" ] || fail "every device enrolled before the crash: no load to fail over"
sleep 1
t_promote=$(now)
pg_promote b || fail "pg_promote b"
t_promoted=$(now)
[ "$(pg_admin_value b 'SELECT pg_is_in_recovery()')" = f ] || fail "b is still a standby"

st=0
wait $dpid || st=$?
BG_PIDS=	# the devices were the only helper, and have ended
[ $st = 0 ] || fail "the devices (status $st): $(cat "$T/devices.err")"
kill -0 "$serve_pid" 2>/dev/null || fail "lanca serve ended during the failover"
[ "$SERVE_PID" = "$serve_pid" ] || fail "lanca serve was restarted"
ok "$DEVICES devices enrolled through a crash of the primary and a promotion, lanca not restarted"

# Every device has an answer: a certificate, or a commit in doubt.
got_ok=$(grep -c ' ok ' "$T/events" || true)
n_doubt=$(grep -c ' doubt ' "$T/events" || true)
[ "$got_ok" = "$(acked)" ] || fail "$got_ok answers logged, $(acked) certificates kept"
[ $((got_ok + n_doubt)) = "$DEVICES" ] ||
	fail "$got_ok certificates and $n_doubt in doubt for $DEVICES devices"

# The new primary holds every one, once.
psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$URL_B" -c "SELECT device_id, encode(serial, 'hex'),
	encode(der, 'hex') FROM certificates WHERE device_id LIKE 'fo-%'" >"$T/rows" ||
	fail "reading the new primary's certificates"
python3 "$T/check.py" "$T/rows" "$T/acks" "$T/serials" >"$T/check.out" ||
	fail "the store: $(cat "$T/check.out")"
for dev in $(awk '$2 == "doubt" { print $3 }' "$T/events"); do
	grep -q "^$dev|" "$T/rows" || fail "$dev was told its key holds a certificate, and none is stored"
done
[ "$(psql -X -q -A -t -d "$URL_B" -c \
	"SELECT count(*) - count(DISTINCT serial) FROM certificates")" = 0 ] ||
	fail "a serial twice in the certificates table"
[ "$(wc -l <"$T/rows")" = "$DEVICES" ] ||
	fail "$(wc -l <"$T/rows") certificates stored for $DEVICES devices"
ok "the new primary holds every certificate a device received, byte for byte," \
	"each serial once: $(cat "$T/check.out")"

# The daemon still issues, on the new primary.
ROOT_PEM="$D/root.pem"
make_csr last fo-last
code=$(post_csr last)
[ "$code" = 201 ] || fail "an enrollment after the failover: HTTP $code: $(head -c 300 "$T/last.resp")"
serial=$(openssl x509 -in "$T/last.resp" -noout -serial | sed 's/^serial=0*//')
[ "$(psql -X -q -A -t -d "$URL_B" -c "SELECT upper(ltrim(encode(serial, 'hex'), '0'))
	FROM certificates WHERE device_id = 'fo-last'")" = "$serial" ] ||
	fail "fo-last's certificate (serial $serial) is not on the new primary"
ok "one more enrollment after the failover is issued (serial $serial) and on the new primary"

# lanca noticed, by itself, and connected again: db_pg.c logs each
# attempt to connect afresh (no line says one succeeded: the writes that
# succeed after the promotion, above and in the figures, do).
grep -q "connection was lost: connecting again" "$T/serve.log" ||
	fail "lanca's log says nothing of connecting again"
ok "lanca's log: $(grep -c "connection was lost: connecting again" "$T/serve.log")" \
	"\"connection was lost: connecting again\"," \
	"$(grep -c "database write failed" "$T/serve.log") \"database write failed\""

# The figures, from the client's clock: answered before and after the
# crash; how long the daemon could not write: from the first failure to
# the first success of a try begun after it (a try begun before may have
# committed before the crash and been answered after the failure).
python3 - "$T/events" "$t_crash" "$t_promote" "$t_promoted" $((10 * LANCA_TIME_FACTOR)) \
	>"$T/figures" <<'PY' ||
import sys
ev = [l.split(None, 4) for l in open(sys.argv[1])]
crash, promote, promoted, bound = map(float, sys.argv[2:6])
ok = [float(e[0]) for e in ev if e[1] == "ok"]
fails = [float(e[0]) for e in ev if e[1] == "fail"]
if not fails:
    print("no failure seen by the devices")
    sys.exit(1)
first_fail = min(fails)
back = min((float(e[0]) for e in ev if e[1] == "ok" and float(e[3]) > first_fail),
          default=None)
if back is None:
    print("no success after the first failure")
    sys.exit(1)
# Nothing can be written between the crash and the promotion; once
# promoted, lanca must find the new primary by itself, soon.
if back < promote:
    print(f"a write succeeded {promote - back:.2f} s before the promotion began")
    sys.exit(1)
if back > promoted + bound:
    print(f"lanca wrote again only {back - promoted:.2f} s after the promotion")
    sys.exit(1)
kinds = {}
for e in ev:
    if e[1] == "fail":
        k = e[4].split(":")[0].split(" {")[0].strip() if len(e) > 4 else "?"
        kinds[k] = kinds.get(k, 0) + 1
print(f"answered {sum(t < crash for t in ok)} before the crash, "
      f"{sum(t >= crash for t in ok)} after; {len(fails)} failed tries "
      f"({', '.join(f'{v} {k}' for k, v in sorted(kinds.items()))}); "
      f"could not write for {back - first_fail:.2f} s "
      f"(the first failure {first_fail - crash:.2f} s after the crash, the first success "
      f"{back - promote:.2f} s after pg_ctl promote began; pg_promote took "
      f"{promoted - promote:.2f} s)")
PY
	fail "figures: $(cat "$T/figures")"
t_end=$(date +%s)
ok "$(cat "$T/figures"); $((t_end - t_begin)) s in all"

# The checker sees a loss and a double: a certificate no store holds (from
# a CA of its own), and a stored serial listed twice.
cp -r "$T/acks" "$T/acks2"
"$LANCA" init --dir "$T/other" --name other --store "$(pg_createdb b other)" >/dev/null 2>&1 ||
	fail "init other"
make_csr stranger fo-stranger
"$LANCA" sign "$T/stranger.csr" --dir "$T/other" >"$T/stranger.pem" 2>"$T/out" ||
	fail "sign stranger: $(cat "$T/out")"
split_chain "$T/stranger.pem"
cp "$T/stranger.pem.1.pem" "$T/acks2/fo-stranger.pem"
! python3 "$T/check.py" "$T/rows" "$T/acks2" "$T/serials" >"$T/check.out" ||
	fail "the checker passed a certificate the store does not hold"
grep -q "fo-stranger: the certificate it received .* is not in the store" "$T/check.out" ||
	fail "the checker missed the lost certificate: $(cat "$T/check.out")"
{ cat "$T/rows"; head -n 1 "$T/rows" | sed 's/^fo-[^|]*|/twice|/'; } >"$T/rows2"
! python3 "$T/check.py" "$T/rows2" "$T/acks" "$T/serials" >"$T/check.out" ||
	fail "the checker passed a serial given twice"
grep -q "twice in the store" "$T/check.out" ||
	fail "the checker missed the serial given twice: $(cat "$T/check.out")"
ok "the checker refuses a lost certificate and a serial given twice"

stop_serve || fail "serve did not stop cleanly"
echo "1..$n_ok"
