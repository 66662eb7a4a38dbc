#!/bin/sh
# t_crash.sh - no acknowledged certificate is lost, and no serial is given
# twice, when the daemon or its signer is killed under load. Pre-authorised
# devices enroll over keep-alive connections from several client threads
# while, at a random moment, SIGKILL goes to `lanca serve` or to its signer
# (chosen at random each round); a dead signer makes serve stop with
# status 1 by design (docs/architecture.md, "A broken signer is ended").
# After each kill the daemon starts on the same state directory and the
# devices that got no certificate ask again. At the end every certificate a
# device received (HTTP 201) must be in the store byte for byte, no serial
# may appear twice (in the serials table, in the certificates table, in the
# certificates' own bytes), no device may hold two valid certificates, every
# certificate has its "issue" audit row, `lanca audit verify` must accept
# the audit chain and the database must pass SQLite's integrity check. The
# checker is then run on three tampered copies of the store (a certificate
# deleted, one with changed bytes, one serial given twice) and must refuse
# each: the test cannot pass with a checker that sees nothing.
#
# LANCA_CRASH_ROUNDS (default 3) kills, shared at random between serve and
# the signer (half each, rounded in serve's favour); LANCA_CRASH_DEVICES
# (default 160) devices. The long run (docs/reliability.md, "Crashes under
# load"): LANCA_CRASH_ROUNDS=40 LANCA_CRASH_DEVICES=6000, 20 kills of each;
# the devices must outlast the kills.
. "$(dirname "$0")/lib.sh"
skip_on_postgresql "it reads lanca.db after each crash with Python's sqlite3 and tampers with a copy of it"
ROUNDS=${LANCA_CRASH_ROUNDS:-3}
DEVICES=${LANCA_CRASH_DEVICES:-160}
D="$T/state"
"$LANCA" init --dir "$D" --name crash >/dev/null 2>&1 || fail "init"

mkdir "$T/csr" "$T/acks" "$T/busy"
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
# device had). They stop when the daemon stops answering, or answers
# `503 signer` (its signer was killed: the device asks again next round,
# and the refusal is counted in busy/); any other answer fails the test.
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
        if r.status == 503 and b'"signer"' in data:
            open(f"{top}/busy/crash-{i}.{os.getpid()}", "w").close()
            return
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

# The checker: check.py DB ACKS [SERIALS] prints one line per problem and a summary,
# and exits 1 when there is a problem. Certificates are compared as DER
# bytes; a serial is read from the certificate's own bytes by openssl.
cat >"$T/check.py" <<'PY'
import glob, os, sqlite3, ssl, subprocess, sys
db, acks = sys.argv[1], sys.argv[2]
c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
bad = []

def one(q, *a):
    return c.execute(q, a).fetchone()[0]

# Serials already read, by the certificate's bytes (SERIALS, a file kept
# between runs: the tampered copies share all but one certificate).
known = {}
if len(sys.argv) > 3 and os.path.exists(sys.argv[3]):
    known = dict(l.split() for l in open(sys.argv[3]))

def der_serial(der):
    h = der.hex()
    if h not in known:
        p = subprocess.run(["openssl", "x509", "-inform", "der", "-noout", "-serial"],
                           input=der, capture_output=True)
        if p.returncode != 0:
            return "unreadable"
        known[h] = p.stdout.decode().strip().split("=", 1)[1].upper()
    return known[h]

integrity = [r[0] for r in c.execute("PRAGMA integrity_check")]
if integrity != ["ok"]:
    bad.append(f"integrity check: {integrity[:5]}")
for table in ("serials", "certificates"):
    n, d = c.execute(f"SELECT count(*), count(DISTINCT serial) FROM {table}").fetchone()
    if n != d:
        bad.append(f"{table}: {n - d} serials appear twice")
n = one("SELECT count(*) FROM certificates c LEFT JOIN serials s ON s.serial = c.serial "
        "WHERE s.serial IS NULL OR s.used <> 1")
if n:
    bad.append(f"{n} certificates whose serial is not reserved and used in serials")

rows = c.execute("SELECT id, device_id, hex(serial), CAST(der AS BLOB) FROM certificates").fetchall()
by_der = {}
by_serial = {}
for cid, dev, col, der in rows:
    by_der.setdefault(bytes(der), []).append(dev)
    s = der_serial(der)
    if s == "unreadable":
        bad.append(f"certificate {cid} ({dev}): openssl cannot read it")
        continue
    if s.lstrip("0") != col.lstrip("0"):
        bad.append(f"certificate {cid} ({dev}): serial column {col}, its bytes {s}")
    by_serial.setdefault(s.lstrip("0"), []).append(cid)
for s, ids in by_serial.items():
    if len(ids) > 1:
        bad.append(f"serial {s} twice: certificates {ids}")

lost = 0
files = sorted(glob.glob(f"{acks}/crash-*.pem"))
for f in files:
    dev = os.path.basename(f)[:-4]
    der = ssl.PEM_cert_to_DER_cert(open(f).read())
    if by_der.get(der) != [dev]:
        lost += 1
        bad.append(f"{dev}: the certificate it received is not in the store "
                   f"(byte for byte, once)")

n = one("SELECT count(*) FROM (SELECT device_id FROM certificates WHERE status = 'valid' "
        "AND device_id LIKE 'crash-%' GROUP BY device_id HAVING count(*) > 1)")
if n:
    bad.append(f"{n} devices hold two valid certificates")
n = one("SELECT count(*) FROM requests WHERE device_id LIKE 'crash-%' "
        "AND (state <> 'issued' OR cert_id IS NULL)")
if n:
    bad.append(f"{n} requests are not issued and linked")
certs = one("SELECT count(*) FROM certificates WHERE device_id LIKE 'crash-%'")
issued = one("SELECT count(*) FROM audit WHERE event = 'issue' AND subject LIKE 'crash-%'")
if certs != issued:
    bad.append(f"{certs} certificates but {issued} issue rows in the audit log")

if len(sys.argv) > 3:
    with open(sys.argv[3], "w") as f:
        f.writelines(f"{h} {v}\n" for h, v in known.items())
for b in bad:
    print(f"# {b}")
print(f"certificates={len(rows)} received={len(files)} lost={lost} "
      f"serials_twice={sum(len(v) - 1 for v in by_serial.values())} problems={len(bad)}")
sys.exit(1 if bad else 0)
PY

# The certificates the devices hold (a glob: no process started, so it
# can be polled often).
acked() {
	set -- "$T"/acks/crash-*.pem
	if [ -e "$1" ]; then echo $#; else echo 0; fi
}

# Waits up to 10 s for process $1 to end (a zombie has ended).
gone() {
	i=0
	while kill -0 "$1" 2>/dev/null &&
		[ "$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null)" != Z ]; do
		[ $i -lt 100 ] || return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# The kinds to come: serve gets the odd one out; each round takes one of
# the remaining kills at random, so any order can happen.
left_serve=$(( (ROUNDS + 1) / 2 ))
left_signer=$(( ROUNDS / 2 ))
k_serve=0
k_signer=0
under_load=0
r=0
rounds=
t0=$(date +%s)
while [ $r -lt "$ROUNDS" ]; do
	start_serve "$D" --enroll-rate 100000 --enroll-burst 100000
	signer=$(child_pids "$SERVE_PID")
	[ -n "$signer" ] && [ "$(echo "$signer" | wc -l)" = 1 ] || fail "serve's signer: '$signer'"
	python3 "$T/devices.py" "$HTTPS_PORT" "$D/root.pem" "$T" "$DEVICES" 2>>"$T/devices.err" &
	dpid=$!
	# A random moment under load: once 1 to `span` more devices hold a
	# certificate (span shares what is left between the kills to come, so
	# the devices outlast them), and 0 to 9 ms later.
	rnd=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
	span=$(( (DEVICES - $(acked)) / (ROUNDS - r + 1) ))
	[ $span -gt 0 ] || span=1
	target=$(( $(acked) + 1 + rnd % span ))
	i=0
	while [ "$(acked)" -lt $target ] && [ $i -lt 2000 ] && kill -0 $dpid 2>/dev/null; do
		sleep 0.005
		i=$((i + 1))
	done
	sleep "$(printf '0.%03d' $((rnd / span % 10)))"
	rnd=$((rnd / span / 10))
	[ "$(acked)" -lt "$DEVICES" ] && under_load=$((under_load + 1))
	if [ $((rnd % (left_serve + left_signer))) -lt $left_serve ]; then
		kill -KILL "$SERVE_PID"
		wait "$SERVE_PID" 2>/dev/null || true
		# The signer dies with its parent (PR_SET_PDEATHSIG): no
		# orphan keeps the keys.
		gone "$signer" || fail "round $r: the signer outlived serve's SIGKILL"
		left_serve=$((left_serve - 1))
		k_serve=$((k_serve + 1))
		rounds="$rounds $(acked)d"
	else
		kill -KILL "$signer"
		gone "$SERVE_PID" || fail "round $r: serve went on after its signer was killed"
		st=0
		wait "$SERVE_PID" || st=$?
		[ $st = 1 ] || fail "round $r: serve ended with status $st after its signer was killed"
		left_signer=$((left_signer - 1))
		k_signer=$((k_signer + 1))
		rounds="$rounds $(acked)s"
	fi
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
t1=$(date +%s)

[ "$(acked)" = "$DEVICES" ] || fail "not every device enrolled"
[ "$acked_before" -gt 0 ] || fail "no device had an answer before the last start: the kills came too early"
# On a loaded machine the devices may all be answered before a late kill
# (the poll above runs behind them); at least one kill must land while
# devices still wait.
[ "$under_load" -gt 0 ] || fail "every kill came after the load: no device was still waiting"
python3 "$T/check.py" "$D/lanca.db" "$T/acks" "$T/serials" >"$T/check.out" || fail "the store: $(cat "$T/check.out")"
"$LANCA" audit verify --dir "$D" >"$T/audit.out" 2>&1 || fail "audit verify: $(cat "$T/audit.out")"
busy=$(ls "$T/busy" | wc -l)
ok "$k_serve kills of serve and $k_signer of its signer under load in $((t1 - t0)) s" \
	"(answered by each, d serve, s signer:$rounds of $DEVICES; $busy answers 503 signer):" \
	"$(cat "$T/check.out"), audit chain: $(head -n 1 "$T/audit.out")"

# The checker sees a loss and a double: on copies of the store, with one
# certificate a device received deleted, one changed by a byte, and one
# certificate's bytes given again under a new row (its serial twice).
tamper() {
	sqlite3 "$D/lanca.db" ".backup '$T/tampered.db'"
	sqlite3 "$T/tampered.db" "$1"
	! python3 "$T/check.py" "$T/tampered.db" "$T/acks" "$T/serials" >"$T/check.out" ||
		fail "the checker passed a store with $2"
	grep -q "$3" "$T/check.out" || fail "the checker missed $2: $(cat "$T/check.out")"
}
tamper "DELETE FROM certificates WHERE device_id = 'crash-0'" "a lost certificate" \
	"crash-0: the certificate it received is not in the store"
tamper "UPDATE certificates SET der = CAST(substr(der, 1, 99) || \
	CASE substr(der, 100, 1) WHEN x'00' THEN x'01' ELSE x'00' END || substr(der, 101) AS BLOB) \
	WHERE device_id = 'crash-1'" "changed bytes" \
	"crash-1: the certificate it received is not in the store"
tamper "INSERT INTO certificates (serial, ca_id, device_id, subject, sans, profile, \
	not_before, not_after, issued_at, key_id, der) SELECT randomblob(16), ca_id, 'twice', \
	subject, sans, profile, not_before, not_after, issued_at, key_id, der FROM certificates \
	WHERE device_id = 'crash-2'" "a serial given twice" "twice: certificates"
ok "the checker refuses a lost certificate, changed bytes and a serial given twice"
