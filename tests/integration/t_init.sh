#!/bin/sh
# t_init.sh - `lanca init`, `lanca status` and `lanca sign` end to end,
# checked with openssl: the hierarchy SPEC.md describes, the file modes,
# refusal to overwrite, no half-made state, and the refusals of `sign`.
. "$(dirname "$0")/lib.sh"

D="$T/state"
"$LANCA" init --dir "$D" --name "Test Site" --domain example.internal --san gw.home.arpa \
	--net 100.64.0.0/10 >"$T/init.out" || fail "init failed"
ok "init creates a state directory"

[ "$(stat -c %a "$D")" = 700 ] || fail "state dir mode $(stat -c %a "$D")"
[ "$(stat -c %a "$D/keys")" = 700 ] || fail "keys dir mode"
for k in keys/root.key keys/issuing.key gateway.key; do
	[ "$(stat -c %a "$D/$k")" = 600 ] || fail "$k mode $(stat -c %a "$D/$k")"
	grep -q "BEGIN PRIVATE KEY" "$D/$k" || fail "$k is not PKCS#8"
done
ok "keys are PKCS#8 files with mode 0600 in 0700 directories"

fp=$(openssl x509 -in "$D/root.pem" -noout -fingerprint -sha256 | sed 's/.*=//')
grep -q "$fp" "$T/init.out" || fail "init did not print the root fingerprint $fp"
"$LANCA" status --dir "$D" --json >"$T/status.json" || fail "status failed"
lower=$(printf '%s' "$fp" | tr -d : | tr 'A-F' 'a-f')
ifp=$(openssl x509 -in "$D/gateway.pem" -noout -fingerprint -sha256 >/dev/null &&
	awk '/BEGIN CERTIFICATE/ { n++ } n == 2' "$D/gateway.pem" |
	openssl x509 -noout -fingerprint -sha256 | sed 's/.*=//')
[ -n "$ifp" ] || fail "cannot read the issuing CA from gateway.pem"
ilower=$(printf '%s' "$ifp" | tr -d : | tr 'A-F' 'a-f')
python3 - "$T/status.json" "$lower" "$fp" "$ilower" "$ifp" <<'PY' || fail "status --json is wrong"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["root"]["sha256"] == sys.argv[2], s
assert s["root"]["sha256_colon"] == sys.argv[3], s
assert s["issuing"]["sha256"] == sys.argv[4], s
assert s["issuing"]["sha256_colon"] == sys.argv[5], s
assert "Root CA" in s["root"]["subject"] and "Issuing CA" in s["issuing"]["subject"]
assert s["certificates"] == 1, s  # the gateway's own
PY
# The text form shows every fingerprint one way: colon-separated upper-case
# hex, as openssl and the browsers show it.
"$LANCA" status --dir "$D" >"$T/status.txt" || fail "status failed"
[ "$(grep -c 'SHA-256:' "$T/status.txt")" -eq 2 ] || fail "status: $(cat "$T/status.txt")"
grep -q "SHA-256: *$fp\$" "$T/status.txt" || fail "status: root fingerprint not $fp"
grep -q "SHA-256: *$ifp\$" "$T/status.txt" || fail "status: issuing fingerprint not $ifp"
ok "init and status print the CAs' SHA-256 fingerprints (colon form; --json both forms)"

# The root: CA:TRUE critical pathlen 1, keyUsage critical, critical name
# constraints with exactly the permitted local space.
openssl x509 -in "$D/root.pem" -noout -text >"$T/root.txt"
grep -A1 "Basic Constraints: critical" "$T/root.txt" | grep -q "CA:TRUE, pathlen:1" ||
	fail "root basicConstraints"
grep -A1 "Key Usage: critical" "$T/root.txt" | grep -q "Certificate Sign, CRL Sign" ||
	fail "root keyUsage"
grep -q "Subject Key Identifier" "$T/root.txt" || fail "root SKI"
grep -q "Name Constraints: critical" "$T/root.txt" || fail "root nameConstraints not critical"
sed -n '/Name Constraints/,/Subject Key/p' "$T/root.txt" | grep -E 'DNS:|IP:' |
	sed 's/^ *//' | sort >"$T/nc.txt"
sort >"$T/nc.want" <<'NC'
DNS:example.internal
DNS:home.arpa
DNS:local
DNS:localhost
IP:10.0.0.0/255.0.0.0
IP:100.64.0.0/255.192.0.0
IP:127.0.0.0/255.0.0.0
IP:172.16.0.0/255.240.0.0
IP:192.168.0.0/255.255.0.0
IP:0:0:0:0:0:0:0:1/FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF
IP:FC00:0:0:0:0:0:0:0/FE00:0:0:0:0:0:0:0
NC
diff "$T/nc.want" "$T/nc.txt" >&2 || fail "root name constraints differ from SPEC.md"
ok "root: CA:TRUE pathlen 1, keyUsage, SKI and critical name constraints as SPEC.md lists"

# The issuing CA, from the database, via the chain `sign` prints.
make_csr dev1 sensor-1 "DNS:sensor-1.local,DNS:sensor-1.example.internal,IP:192.168.1.20"
"$LANCA" sign "$T/dev1.csr" --dir "$D" >"$T/chain.pem" || fail "sign failed"
split_chain "$T/chain.pem"
[ -f "$T/chain.pem.2.pem" ] && [ ! -f "$T/chain.pem.3.pem" ] || fail "chain is not leaf + issuing"
openssl verify -CAfile "$D/root.pem" -untrusted "$T/chain.pem.2.pem" "$T/chain.pem.1.pem" \
	>/dev/null || fail "openssl verify of the signed chain"
ok "lanca sign prints leaf + issuing CA and openssl verifies it against the root"

openssl x509 -in "$T/chain.pem.2.pem" -noout -text >"$T/issuing.txt"
grep -A1 "Basic Constraints: critical" "$T/issuing.txt" | grep -q "CA:TRUE, pathlen:0" ||
	fail "issuing basicConstraints"
grep -q "Name Constraints: critical" "$T/issuing.txt" || fail "issuing nameConstraints"
grep -q "Authority Key Identifier" "$T/issuing.txt" || fail "issuing AKI"
ok "issuing CA: pathlen 0, critical name constraints, AKI"

openssl x509 -in "$T/chain.pem.1.pem" -noout -text >"$T/leaf.txt"
grep -A1 "Basic Constraints: critical" "$T/leaf.txt" | grep -q "CA:FALSE" || fail "leaf CA:FALSE"
grep -A1 "Extended Key Usage" "$T/leaf.txt" | grep -q "TLS Web Server Authentication, TLS Web Client Authentication" ||
	fail "leaf EKU"
grep -q "DNS:sensor-1.local, DNS:sensor-1.example.internal, IP Address:192.168.1.20" "$T/leaf.txt" ||
	fail "leaf SANs"
grep -q "Subject: CN = sensor-1" "$T/leaf.txt" || fail "leaf subject"
grep -q "URI:http://.*/crl" "$T/leaf.txt" || fail "leaf CRL distribution point"
days=$(( ($(date -d "$(openssl x509 -in "$T/chain.pem.1.pem" -noout -enddate | cut -d= -f2)" +%s) - $(date +%s)) / 86400 ))
[ "$days" -ge 89 ] && [ "$days" -le 90 ] || fail "leaf lifetime $days days, want 90"
serial=$(openssl x509 -in "$T/chain.pem.1.pem" -noout -serial | cut -d= -f2)
[ ${#serial} -eq 40 ] || fail "serial $serial is not 20 bytes"
case $serial in [4-7]?*) ;; *) fail "serial $serial does not start with 0x40..0x7f" ;; esac
ok "leaf: CA:FALSE, serverAuth+clientAuth, the SANs asked for, CRL DP, 90 days, 20-byte serial"

"$LANCA" sign "$T/dev1.csr" --dir "$D" --days 30 >"$T/chain30.pem" || fail "sign --days 30"
end=$(openssl x509 -in "$T/chain30.pem" -noout -enddate | cut -d= -f2)
days=$(( ($(date -d "$end" +%s) - $(date +%s)) / 86400 ))
[ "$days" -ge 29 ] && [ "$days" -le 30 ] || fail "--days 30 gave $days"
ok "lanca sign --days sets the lifetime"

# Refusals: each names what was wrong, exits 1, and issues nothing.
before=$(sql 'SELECT count(*) FROM certificates')
make_csr pub pub-1 "DNS:www.example.com"
st=0; "$LANCA" sign "$T/pub.csr" --dir "$D" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "www.example.com" "$T/err" || fail "public SAN: status $st, $(cat "$T/err")"
make_csr lh lh-1 "DNS:localhost"
st=0; "$LANCA" sign "$T/lh.csr" --dir "$D" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "localhost" "$T/err" || fail "localhost for a device was not refused"
make_csr ip ip-1 "IP:8.8.8.8"
st=0; "$LANCA" sign "$T/ip.csr" --dir "$D" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "8.8.8.8" "$T/err" || fail "public IP was not refused"
openssl req -new -newkey rsa:1024 -nodes -keyout "$T/weak.key" -subj /CN=weak -out "$T/weak.csr" 2>/dev/null
st=0; "$LANCA" sign "$T/weak.csr" --dir "$D" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -qi "1024" "$T/err" || fail "RSA-1024 was not refused: $(cat "$T/err")"
head -c 300 /dev/urandom >"$T/garbage.csr"
st=0; "$LANCA" sign "$T/garbage.csr" --dir "$D" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -qi "request" "$T/err" || fail "garbage was not refused"
after=$(sql 'SELECT count(*) FROM certificates')
[ "$before" = "$after" ] || fail "a refused request left a certificate row"
refusals=$(sql "SELECT count(*) FROM audit WHERE event='refuse'")
[ "$refusals" -ge 5 ] || fail "refusals were not audited ($refusals)"
ok "public name, localhost, public IP, RSA-1024 and garbage are refused by name and audited"

st=0; "$LANCA" sign --dir "$D" >/dev/null 2>&1 || st=$?
[ $st -eq 2 ] || fail "sign without a file exits $st, want 2"
st=0; "$LANCA" frobnicate >/dev/null 2>&1 || st=$?
[ $st -eq 2 ] || fail "unknown command exits $st, want 2"
ok "usage errors exit 2"

# Every certificate row matches what was handed out, and the audit log has it all.
rows=$(sql "SELECT count(*) FROM certificates WHERE profile='device'")
[ "$rows" = 2 ] || fail "expected 2 device certificates, found $rows"
want=$(printf '%s' "$serial" | tr 'A-F' 'a-f')
if [ -f "$D/store.url" ]; then
	got=$(sql "SELECT encode(serial, 'hex') FROM certificates WHERE device_id='sensor-1' ORDER BY id LIMIT 1")
else
	got=$(sql "SELECT lower(hex(serial)) FROM certificates WHERE device_id='sensor-1' ORDER BY id LIMIT 1")
fi
[ "$want" = "$got" ] || fail "stored serial $got differs from issued $want"
for ev in init ca-create issue refuse; do
	n=$(sql "SELECT count(*) FROM audit WHERE event='$ev'")
	[ "$n" -ge 1 ] || fail "no '$ev' event in the audit log"
done
ok "the store holds every issued certificate and the audit log records init, issue and refusals"

# init over an existing state directory: refused, nothing changed.
sum_before=$(cd "$D" && find . -type f -exec sha256sum {} + | sort)
st=0; "$LANCA" init --dir "$D" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "refusing" "$T/err" || fail "second init: status $st, $(cat "$T/err")"
sum_after=$(cd "$D" && find . -type f -exec sha256sum {} + | sort)
[ "$sum_before" = "$sum_after" ] || fail "a refused init changed the state directory"
ok "init refuses an existing state directory and changes nothing"

# An init that fails at its very last step (the gateway's own certificate,
# refused for a public address) leaves nothing behind.
st=0; "$LANCA" init --dir "$T/half" --san 8.8.8.8 >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] || fail "init with a public gateway SAN exited $st"
grep -q "8.8.8.8" "$T/err" || fail "the error does not name 8.8.8.8: $(cat "$T/err")"
[ ! -e "$T/half" ] || fail "a failed init left $T/half"
ls "$T" | grep -q "half.init" && fail "a failed init left a temporary directory"
mkdir "$T/empty"
"$LANCA" init --dir "$T/empty" --key-type ecdsa-p384 >/dev/null || fail "init into an empty directory"
openssl x509 -in "$T/empty/root.pem" -noout -text | grep -q "NIST CURVE: P-384" || fail "P-384 root"
ok "a failed init leaves nothing; init fills an empty directory; --key-type ecdsa-p384 works"

# A passphrase-protected CA: keys encrypted, the passphrase needed to sign.
printf 'correct horse battery staple\n' >"$T/pass"
chmod 600 "$T/pass"
"$LANCA" init --dir "$T/enc" --passphrase-file "$T/pass" >/dev/null || fail "init with a passphrase"
grep -q "BEGIN ENCRYPTED PRIVATE KEY" "$T/enc/keys/issuing.key" || fail "issuing key not encrypted"
make_csr dev2 sensor-2
"$LANCA" sign "$T/dev2.csr" --dir "$T/enc" --passphrase-file "$T/pass" >"$T/enc.pem" ||
	fail "sign with the passphrase"
printf 'wrong\n' >"$T/wrong"
chmod 600 "$T/wrong"
grep -q "DNS:sensor-2.local" <<EOF2 || fail "a request without SANs did not get its .local name"
$(openssl x509 -in "$T/enc.pem" -noout -ext subjectAltName)
EOF2
st=0; "$LANCA" sign "$T/dev2.csr" --dir "$T/enc" --passphrase-file "$T/wrong" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -qi "passphrase" "$T/err" || fail "wrong passphrase: $st $(cat "$T/err")"
ok "an encrypted CA key needs its passphrase; a wrong one is refused by name; a request without SANs gets DEVICE.local"

# --store: the store in a PostgreSQL database, named by DIR/store.url. A
# URL of any other scheme (or none) is refused before anything is made,
# and the password in it is never printed.
for bad in 'mysql://lanca:Zq9secret@127.0.0.1/lanca' 'sqlite:///tmp/Zq9secret.db' '' \
	"$T/Zq9secret.db" 'postgresql://' 'POSTGRESQL://lanca:Zq9secret@127.0.0.1/lanca' \
	'postgresql://lanca:Zq9 secret@127.0.0.1/lanca'; do
	st=0
	"$LANCA" init --dir "$T/pgbad" --store "$bad" >"$T/out" 2>"$T/err" || st=$?
	[ $st -eq 2 ] && grep -q -- "--store" "$T/err" || fail "init --store '$bad': $st $(cat "$T/err")"
	[ ! -e "$T/pgbad" ] || fail "init --store '$bad' left $T/pgbad"
	! ls "$T" | grep -q "pgbad\.init" || fail "init --store '$bad' left a temporary directory"
	! grep -q Zq9secret "$T/out" "$T/err" || fail "init --store printed the password: $(cat "$T/err")"
done
mkdir "$T/pgempty"
st=0
"$LANCA" init --dir "$T/pgempty" --store 'mysql://h/db' >/dev/null 2>&1 || st=$?
[ $st -eq 2 ] && [ -z "$(ls -A "$T/pgempty")" ] || fail "init --store mysql:// into an empty directory"
"$LANCA" init --help | grep -q -- "--store postgresql://" || fail "init --help does not show --store"
ok "init --store refuses a URL that is not postgresql:// (or postgres://) and leaves nothing behind"

# DIR/store.url: only a private (0600) regular file of this user's or
# root's; anything else is refused by every command with a message naming
# the file, and never quoting the password. Under make check-postgresql,
# $D has one; otherwise a copy of $D gets one (no server on port 1: past
# the file's checks, the open fails, still without the password).
if [ -f "$D/store.url" ]; then
	S=$D
else
	S="$T/urlstate"
	mkdir -m 700 "$S"
	cp -a "$D/." "$S/"
	rm -f "$S/lanca.db"
	printf 'postgresql://lanca:Zq9secret@127.0.0.1:1/lanca\n' >"$S/store.url"
	chmod 600 "$S/store.url"
fi
url_refused() {	# WHAT PATTERN: status refuses S, naming S/store.url
	st=0
	"$LANCA" status --dir "$S" >/dev/null 2>"$T/err" || st=$?
	[ $st -eq 1 ] && grep -qF "$S/store.url" "$T/err" && grep -q "$2" "$T/err" ||
		fail "store.url $1: status $st: $(cat "$T/err")"
	! grep -q Zq9secret "$T/err" || fail "store.url $1: the password was printed"
}
chmod 644 "$S/store.url"
url_refused "mode 0644" "is mode 0644"
chmod 640 "$S/store.url"
url_refused "mode 0640" "is mode 0640"
chmod 600 "$S/store.url"
cp "$S/store.url" "$T/store.url.keep"
if [ "$(id -u)" -eq 0 ]; then
	chown nobody "$S/store.url"
	url_refused "of another user" "belongs to uid"
	chown root "$S/store.url"
fi
mv "$S/store.url" "$T/store.url.real"
ln -s "$T/store.url.real" "$S/store.url"
url_refused "a symbolic link" "cannot open"
rm "$S/store.url"
printf 'mysql://lanca:Zq9secret@127.0.0.1/lanca\n' >"$S/store.url"
chmod 600 "$S/store.url"
url_refused "of another scheme" "postgresql://"
printf '\n' >"$S/store.url"
url_refused "empty" "is empty"
cp "$T/store.url.keep" "$S/store.url"
chmod 600 "$S/store.url"
st=0
"$LANCA" status --dir "$S" >/dev/null 2>"$T/err" || st=$?
! grep -q Zq9secret "$T/err" || fail "status printed the store's password: $(cat "$T/err")"
if [ "$S" = "$D" ]; then
	[ $st -eq 0 ] || fail "status on PostgreSQL: $st $(cat "$T/err")"
	"$LANCA" status --dir "$D" --json >"$T/status.json" || fail "status --json"
	python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["store"]; assert s.startswith("postgresql://lanca:***@"), s' \
		"$T/status.json" || fail "status does not show the store masked: $(cat "$T/status.json")"
	"$LANCA" status --dir "$D" | grep -q '^store: *postgresql://lanca:\*\*\*@' || fail "status's store line"
else
	[ $st -eq 1 ] && ! grep -q "mode\|belongs\|is empty" "$T/err" ||
		fail "a good store.url was refused: $(cat "$T/err")"
	"$LANCA" status --dir "$D" --json >"$T/status.json" || fail "status --json"
	python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["store"] == sys.argv[2]' \
		"$T/status.json" "$D/lanca.db" || fail "status does not show the store: $(cat "$T/status.json")"
	"$LANCA" status --dir "$D" | grep -qxF "store:           $D/lanca.db" || fail "status's store line"
fi
ok "store.url must be a private file of this user's with a postgresql:// URL; the password never printed"

# What copies lanca.db refuses a store on PostgreSQL.
st=0
"$LANCA" backup "$T/pg.bk" --dir "$S" --insecure-plaintext >/dev/null 2>"$T/err" || st=$?
[ $st -ne 0 ] && grep -q "the store is PostgreSQL: back it up with pg_dump" "$T/err" ||
	fail "backup of a PostgreSQL store: $st $(cat "$T/err")"
[ ! -e "$T/pg.bk" ] || fail "a backup of a PostgreSQL store was written"
ok "lanca backup refuses a store on PostgreSQL and names pg_dump"

echo "t_init: $n_ok passed, 0 failed"
