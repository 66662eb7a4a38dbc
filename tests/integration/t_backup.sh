#!/bin/sh
# t_backup.sh - `lanca backup` and `lanca restore` (issue 14): a CA that
# issued and revoked is backed up while devices enroll, restored into a
# new directory and served from there: the same root and issuing CA, every
# certificate the backup holds with its bytes and status, a CRL number no
# lower, an audit log that verifies, and a device that renews over mTLS
# against it. A changed byte anywhere, a file cut short, a wrong or missing
# passphrase, a newer format, a target that is not empty: each refused with
# its reason, nothing written. A plain backup holds the keys in clear and
# says so; keys under their own passphrase need it to be checked; --user
# hands the daemon's files over.
. "$(dirname "$0")/lib.sh"
skip_on_postgresql "lanca backup and restore copy lanca.db; a PostgreSQL store is backed up with pg_dump"

D="$T/state"
"$LANCA" init --dir "$D" --name backup >/dev/null 2>&1 || fail "init"
ROOT_PEM="$D/root.pem"
printf 'ID,NAME\n' >"$T/pre.csv"
i=1
while [ $i -le 24 ]; do
	printf 'bulk-%d,Bulk %d\n' $i $i >>"$T/pre.csv"
	i=$((i + 1))
done
"$LANCA" preauth import "$T/pre.csv" --dir "$D" >/dev/null || fail "preauth import"
start_serve "$D" --enroll-burst 1000 --enroll-rate 1000
GW="https://localhost:$HTTPS_PORT"
FP=$(openssl x509 -in "$ROOT_PEM" -noout -fingerprint -sha256 | sed 's/.*=//')
printf 'a long backup passphrase\n' >"$T/pw"
printf 'not the passphrase\n' >"$T/wrong"
chmod 600 "$T/pw" "$T/wrong"

# Two devices; one is revoked.
for d in dev-a dev-b; do
	"$LANCA" press --dir "$D" >/dev/null || fail "press"
	"$LANCA_ENROLL" enroll --gateway "$GW" --id $d --out "$T/$d" --fingerprint "$FP" \
		--http "$HTTP_URL" --timeout $((30 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" ||
		fail "enroll $d: $(cat "$T/err")"
done
"$LANCA" revoke --dir "$D" dev-b --reason keyCompromise >/dev/null 2>&1 || fail "revoke dev-b"
crl_number() {
	curl -s --max-time $((10 * LANCA_TIME_FACTOR)) -o "$T/crl.der" "$1/crl" &&
	openssl crl -inform DER -in "$T/crl.der" -noout -crlnumber | sed 's/^crlNumber=//' |
		python3 -c 'import sys; print(int(sys.stdin.read().strip(), 16))'
}
CRL_BEFORE=$(crl_number "$HTTP_URL") || fail "no CRL"
[ "$CRL_BEFORE" -ge 2 ] || fail "the revocation made no CRL: number $CRL_BEFORE"

# ---- back up while devices enroll ----
(
	i=1
	while [ $i -le 24 ]; do
		make_csr "bulk-$i" "bulk-$i"
		post_csr "bulk-$i" >"$T/bulk-$i.st" 2>/dev/null || true
		i=$((i + 1))
	done
) &
bulk=$!
sleep 0.5
printf 'left by a killed backup\n' >"$D/.snapshot-killed"	# swept first
"$LANCA" backup "$T/ca.bk" --dir "$D" --passphrase-file "$T/pw" >"$T/out" 2>"$T/err" ||
	fail "backup while serving: $(cat "$T/err")"
[ ! -e "$D/.snapshot-killed" ] || fail "lanca backup left an old snapshot in place"
wait $bulk
during=$(cat "$T"/bulk-*.st | grep -o 201 | wc -l)
[ "$during" -eq 24 ] || fail "only $during of 24 enrolments during the backup succeeded"
grep -q "^wrote $T/ca.bk: .* encrypted" "$T/out" || fail "backup report: $(cat "$T/out")"
[ "$(stat -c %a "$T/ca.bk")" = 600 ] || fail "the backup's mode is $(stat -c %a "$T/ca.bk")"
ls "$T" | grep -q 'ca.bk.\(tmp\|db\)-' && fail "backup left temporary files: $(ls "$T")"
! grep -aq "PRIVATE KEY" "$T/ca.bk" || fail "the encrypted backup holds a key in clear"
! grep -aq "SQLite format" "$T/ca.bk" || fail "the encrypted backup holds the store in clear"
st=0
"$LANCA" backup "$T/ca.bk" --dir "$D" --passphrase-file "$T/pw" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "exists: a backup never replaces a file" "$T/err" ||
	fail "a second backup onto the first: $st $(cat "$T/err")"
st=0
"$LANCA" backup "$T/x.bk" --dir "$D" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 2 ] && grep -q -- "--insecure-plaintext" "$T/err" && [ ! -e "$T/x.bk" ] ||
	fail "a backup without a passphrase: $st $(cat "$T/err")"
ok "backup while 24 devices enroll: 0600, nothing in clear, never over a file, no passphrase refused"

# ---- what cannot be restored changes nothing ----
R="$T/restored"
refused() {	# refused WHAT PATTERN FILE [ARGS...]: restore into $R fails naming it
	what=$1 pat=$2 file=$3
	shift 3
	st=0
	"$LANCA" restore "$file" --dir "$R" "$@" >/dev/null 2>"$T/err" || st=$?
	[ $st -eq 1 ] || fail "$what: restore exited $st"
	grep -q "$pat" "$T/err" || fail "$what: $(cat "$T/err")"
	[ ! -e "$R" ] || fail "$what: $R was made"
	ls "$T" | grep -q 'restored.restore-' && fail "$what: a stage was left: $(ls "$T")"
	return 0
}
refused "a wrong passphrase" "wrong passphrase for this backup" "$T/ca.bk" --passphrase-file "$T/wrong"
refused "no passphrase" "encrypted: give its passphrase" "$T/ca.bk"
size=$(stat -c %s "$T/ca.bk")
head -c $((size - 1)) "$T/ca.bk" >"$T/cut.bk"
refused "a file cut by one byte" "cut short" "$T/cut.bk" --passphrase-file "$T/pw"
head -c $((size / 2)) "$T/ca.bk" >"$T/cut.bk"
refused "a file cut in half" "cut short" "$T/cut.bk" --passphrase-file "$T/pw"
cp "$T/ca.bk" "$T/more.bk"
printf 'x' >>"$T/more.bk"
refused "a byte after the end" "goes on after its end" "$T/more.bk" --passphrase-file "$T/pw"
cp "$T/ca.bk" "$T/new.bk"
printf '\002' | dd of="$T/new.bk" bs=1 seek=9 conv=notrunc 2>/dev/null
refused "a newer format" "format 2, from a newer lanca" "$T/new.bk" --passphrase-file "$T/pw"
# One byte changed, at places through the whole file: the header (its
# Argon2id cost, salt, keys, the stream's header), the first records and
# the last; a cheaper key derivation keeps this quick.
"$LANCA" backup "$T/cheap.bk" --dir "$D" --passphrase-file "$T/pw" --kdf-memory 8 >/dev/null 2>&1 ||
	fail "backup --kdf-memory 8"
size=$(stat -c %s "$T/cheap.bk")
n=0
for at in 0 8 9 11 13 18 25 40 70 110 125 139 140 150 400 2000 $((size / 3)) $((size / 2)) \
	$((size - 40)) $((size - 1)); do
	cp "$T/cheap.bk" "$T/bad.bk"
	python3 -c 'import sys
p, at = sys.argv[1], int(sys.argv[2])
with open(p, "r+b") as f:
    f.seek(at); b = f.read(1); f.seek(at); f.write(bytes([b[0] ^ 0x04]))' "$T/bad.bk" "$at"
	st=0
	"$LANCA" restore "$T/bad.bk" --dir "$R" --passphrase-file "$T/pw" >/dev/null 2>"$T/err" || st=$?
	[ $st -eq 1 ] && [ -s "$T/err" ] || fail "byte $at changed: restore exited $st"
	[ ! -e "$R" ] || fail "byte $at changed: $R was made"
	n=$((n + 1))
done
ls "$T" | grep -q 'restored.restore-' && fail "a stage was left: $(ls "$T")"
mkdir "$R"
touch "$R/keep"
st=0
"$LANCA" restore "$T/ca.bk" --dir "$R" --passphrase-file "$T/pw" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "not empty" "$T/err" || fail "restore into a used directory: $st $(cat "$T/err")"
[ "$(ls "$R")" = keep ] || fail "restore touched a used directory"
rm -r "$R"
ok "refused, nothing written: wrong or no passphrase, cut short, extended, newer format, $n single changed bytes, a used directory"

# The root the operator expects (what devices show): another is refused.
refused "another root than --root-sha256" "not the one you named" "$T/ca.bk" --passphrase-file "$T/pw" \
	--root-sha256 "$(printf '%064d' 0)"
# The store's snapshot is made in the state directory, never beside the
# backup; none is left there.
ls -a "$D" | grep -q '^\.snapshot-' && fail "a snapshot was left in $D: $(ls -a "$D")"

# ---- restore and serve ----
"$LANCA" restore "$T/ca.bk" --dir "$R" --passphrase-file "$T/pw" --root-sha256 "$FP" >"$T/out" 2>"$T/err" ||
	fail "restore: $(cat "$T/err")"
grep -q "^restored $T/ca.bk:" "$T/out" || fail "restore report: $(cat "$T/out")"
for f in keys/root.key keys/issuing.key keys/root.pem keys/issuing.pem keys/audit.key keys/audit.pub \
	keys/signer.conf gateway.key gateway.pem root.pem; do
	cmp -s "$D/$f" "$R/$f" || fail "$f differs after the restore"
	[ "$(stat -c %a "$D/$f")" = "$(stat -c %a "$R/$f")" ] || fail "$f: mode $(stat -c %a "$R/$f")"
done
[ "$(stat -c %a "$R")" = 700 ] && [ "$(stat -c %a "$R/keys")" = 700 ] || fail "directory modes"
"$LANCA" audit verify --dir "$R" >"$T/out" 2>&1 || fail "audit verify of the restored store: $(cat "$T/out")"
rows() {
	sqlite3 "$1/lanca.db" "SELECT hex(serial), status, hex(der) FROM certificates ORDER BY serial"
}
rows "$D" >"$T/orig.rows"
rows "$R" >"$T/rest.rows"
# The backup is the store as of one commit during the enrolments: each of
# its certificates is the original's, byte for byte, and it has at least
# every one from before the backup began.
[ -z "$(comm -13 "$T/orig.rows" "$T/rest.rows")" ] || fail "the restored store has certificates the original has not"
n_rest=$(wc -l <"$T/rest.rows")
[ "$n_rest" -ge 3 ] || fail "the restored store holds $n_rest certificates"
[ "$(sqlite3 "$R/lanca.db" "SELECT status FROM certificates WHERE device_id = 'dev-b'")" = revoked ] ||
	fail "dev-b is not revoked in the restored store"
[ "$(sqlite3 "$R/lanca.db" "SELECT count(*) FROM certificates WHERE device_id = 'dev-a' AND status = 'valid'")" = 1 ] ||
	fail "dev-a is not in the restored store"
stop_serve || fail "the original daemon did not stop cleanly"
OLD_HTTP=$HTTP_URL
start_serve "$R"
cmp -s "$T/dev-a/root.pem" "$R/root.pem" || fail "the restored root is not the one devices hold"
CRL_AFTER=$(crl_number "$HTTP_URL") || fail "no CRL from the restored daemon"
[ "$CRL_AFTER" -ge "$CRL_BEFORE" ] || fail "CRL number went back: $CRL_BEFORE, then $CRL_AFTER"
openssl crl -inform DER -in "$T/crl.der" -noout -text | grep -qi "$(openssl x509 -in "$T/dev-b/cert.pem" -noout -serial | sed 's/serial=//')" ||
	fail "the restored daemon's CRL does not list dev-b"
printf '%s' "$GW" | sed "s/:[0-9]*$/:$HTTPS_PORT/" >"$T/dev-a/gateway.url"
old=$(openssl x509 -in "$T/dev-a/cert.pem" -noout -serial)
"$LANCA_ENROLL" renew --dir "$T/dev-a" --timeout $((30 * LANCA_TIME_FACTOR)) >/dev/null 2>"$T/err" ||
	fail "dev-a renewing against the restored daemon: $(cat "$T/err")"
[ "$(openssl x509 -in "$T/dev-a/cert.pem" -noout -serial)" != "$old" ] || fail "renew kept the certificate"
openssl verify -CAfile "$R/root.pem" -untrusted "$R/keys/issuing.pem" "$T/dev-a/cert.pem" >/dev/null ||
	fail "the renewed certificate does not verify under the same root"
"$LANCA" audit verify --dir "$R" >"$T/out" 2>&1 || fail "audit verify after serving: $(cat "$T/out")"
stop_serve || fail "the restored daemon did not stop cleanly"
ok "restored and served: same root, keys and chain; $n_rest certificates, each the original's; CRL $CRL_BEFORE -> $CRL_AFTER; audit verifies; dev-a renews over mTLS"

# ---- plain backups; keys under their own passphrase; --user ----
"$LANCA" backup "$T/plain.bk" --dir "$R" --insecure-plaintext >"$T/out" 2>"$T/err" || fail "plain backup: $(cat "$T/err")"
grep -q "NOT ENCRYPTED" "$T/out" && grep -q "unencrypted" "$T/err" || fail "a plain backup does not say so"
grep -aq "PRIVATE KEY" "$T/plain.bk" || fail "the plain backup does not hold the keys in clear"
st=0
"$LANCA" backup "$T/p2.bk" --dir "$R" --insecure-plaintext --passphrase-file "$T/pw" >/dev/null 2>&1 || st=$?
[ $st -eq 2 ] || fail "--insecure-plaintext with a passphrase: $st"
R="$T/r2"
refused "a plain backup without --insecure-plaintext" "not encrypted .*--insecure-plaintext" "$T/plain.bk"
refused "a plain backup with a passphrase" "not encrypted" "$T/plain.bk" --passphrase-file "$T/pw"
R2="$T/r2"
"$LANCA" restore "$T/plain.bk" --dir "$R2/" --insecure-plaintext >/dev/null 2>"$T/err" ||
	fail "restore a plain backup (into DIR/): $(cat "$T/err")"
cmp -s "$R2/keys/root.key" "$D/keys/root.key" || fail "the plain restore's root key"
python3 -c 'import sys
p = sys.argv[1]
with open(p, "r+b") as f:
    f.seek(400); b = f.read(1); f.seek(400); f.write(bytes([b[0] ^ 1]))' "$T/plain.bk"
R="$T/r3"
refused "a changed byte in a plain backup" "checksum does not match\|damaged" "$T/plain.bk" \
	--insecure-plaintext

D2="$T/state2"
printf 'keys passphrase\n' >"$T/kp"
chmod 600 "$T/kp"
"$LANCA" init --dir "$D2" --name backup2 --passphrase-file "$T/kp" >/dev/null 2>&1 || fail "init 2"
"$LANCA" backup "$T/enc.bk" --dir "$D2" --passphrase-file "$T/pw" --kdf-memory 8 >"$T/out" 2>&1 ||
	fail "backup of passphrase keys: $(cat "$T/out")"
grep -q "CA keys: under their own passphrase" "$T/out" || fail "report: $(cat "$T/out")"
R="$T/r4"
refused "keys without their passphrase" "under a passphrase: give it (--keys-passphrase-file)" \
	"$T/enc.bk" --passphrase-file "$T/pw"
refused "keys with a wrong passphrase" "keys do not hold together\|cannot be loaded" "$T/enc.bk" \
	--passphrase-file "$T/pw" --keys-passphrase-file "$T/wrong"
"$LANCA" restore "$T/enc.bk" --dir "$R" --passphrase-file "$T/pw" --keys-passphrase-file "$T/kp" \
	--user nobody >/dev/null 2>"$T/err" || fail "restore with the keys' passphrase: $(cat "$T/err")"
[ "$(stat -c %U "$R/lanca.db")" = nobody ] && [ "$(stat -c %U "$R/gateway.key")" = nobody ] ||
	fail "--user did not hand the daemon's files over"
[ "$(stat -c %U "$R/keys")" = root ] && [ "$(stat -c %U "$R/keys/issuing.key")" = root ] ||
	fail "--user handed keys/ over"
ok "plain backups hold keys in clear and say so, damage caught by the checksum; keys under a passphrase need it; --user"

echo "t_backup: $n_ok passed, 0 failed"
