#!/bin/sh
# t_signer_trust.sh - the signer trusts only what is in root's keys/, never
# the store the daemon's user may write: a CA chain planted in the store
# (a root of the attacker's own, without lanca's name constraints, over an
# issuing certificate that carries the real issuing key) widens nothing:
# `lanca sign` refuses outside the signer's own space, and serve refuses to
# start on a store whose issuing CA is not keys/'s;
# the same chain planted in keys/ stops serve from starting; a state
# directory from before keys/ held the chain gets it back from the store
# only when the keys prove it.
. "$(dirname "$0")/lib.sh"

D="$T/state"
"$LANCA" init --dir "$D" --name trust >/dev/null || fail "init"
ROOT_PEM="$D/root.pem"
for f in root.pem issuing.pem signer.conf; do
	[ -f "$D/keys/$f" ] || fail "init did not write keys/$f"
done
grep -q '^crl_url = http://' "$D/keys/signer.conf" || fail "signer.conf: $(cat "$D/keys/signer.conf")"
cmp -s "$D/root.pem" "$D/keys/root.pem" || fail "keys/root.pem is not the root"
ok "init writes keys/root.pem, keys/issuing.pem and keys/signer.conf beside the keys"

# The attacker's chain: a root of its own with no name constraints, and
# under it an "issuing CA" for the real issuing key that permits com.
openssl pkey -in "$D/keys/issuing.key" -pubout -out "$T/issuing.pub" || fail "issuing pubkey"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/evil-root.key" \
	-subj "/CN=Evil Root" -days 365 -out "$T/evil-root.pem" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
	2>/dev/null || fail "fake root"
openssl x509 -in "$T/evil-root.pem" -noout -text | grep -q "Name Constraints" &&
	fail "the fake root should have no name constraints"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/dummy.key" \
	-subj "/OU=Evil Issuing" -out "$T/dummy.csr" 2>/dev/null || fail "dummy csr"
printf '%s\n' "basicConstraints=critical,CA:TRUE,pathlen:0" "keyUsage=critical,keyCertSign,cRLSign" \
	"nameConstraints=critical,permitted;DNS:com,permitted;DNS:local" >"$T/evil.ext"
openssl x509 -req -in "$T/dummy.csr" -force_pubkey "$T/issuing.pub" -CA "$T/evil-root.pem" \
	-CAkey "$T/evil-root.key" -CAcreateserial -days 365 -extfile "$T/evil.ext" \
	-out "$T/evil-issuing.pem" 2>/dev/null || fail "fake issuing"
openssl verify -CAfile "$T/evil-root.pem" "$T/evil-issuing.pem" >/dev/null || fail "fake chain"
[ "$(openssl x509 -in "$T/evil-issuing.pem" -noout -pubkey)" = "$(cat "$T/issuing.pub")" ] ||
	fail "the fake issuing certificate does not carry the real issuing key"
ok "control: a fake root without constraints over the real issuing key verifies on its own"

# plant_store DIR: makes the fake chain the store's active root and issuing
# CA (a blob literal in SQLite's syntax or PostgreSQL's).
der_hex() {
	openssl x509 -in "$1" -outform der | od -An -v -tx1 | tr -d ' \n'
}
plant_store() {
	if on_postgresql; then
		r="decode('$(der_hex "$T/evil-root.pem")', 'hex')"
		i="decode('$(der_hex "$T/evil-issuing.pem")', 'hex')"
	else
		r="X'$(der_hex "$T/evil-root.pem")'"
		i="X'$(der_hex "$T/evil-issuing.pem")'"
	fi
	sql_in "$1" "INSERT INTO cas (role, state, subject, fingerprint, der, created_at)
		VALUES ('root', 'active', 'CN=Evil Root', 'evil-root', $r, 0);
		INSERT INTO cas (role, state, subject, fingerprint, der, created_at)
		VALUES ('issuing', 'active', 'OU=Evil Issuing', 'evil-issuing', $i, 0);" ||
		fail "cannot plant the fake chain"
}

# 1. The fake chain in the store: the daemon now believes com is
#    permitted; the signer does not.
plant_store "$D"
[ "$(sql "SELECT subject FROM cas WHERE role = 'issuing' AND state = 'active' ORDER BY id DESC LIMIT 1")" = "OU=Evil Issuing" ] ||
	fail "the plant did not take"
make_csr pub pub-1 "DNS:www.example.com"
st=0
"$LANCA" sign "$T/pub.csr" --dir "$D" >"$T/pub.out" 2>"$T/pub.err" || st=$?
[ $st -ne 0 ] || fail "lanca sign issued for www.example.com: $(openssl x509 -in "$T/pub.out" -noout -subject -ext subjectAltName)"
grep -q "www.example.com" "$T/pub.err" || fail "no clear refusal: $(cat "$T/pub.err")"
ok "lanca sign refuses www.example.com although the store's issuing CA permits com"

# serve does not start on a store whose issuing CA is not keys/'s: it
# would record what the signer issues under another CA.
st=0
"$LANCA" serve --dir "$D" --https "127.0.0.1:$(free_port)" --http "127.0.0.1:$(free_port)" \
	>"$T/planted-store.log" 2>&1 || st=$?
[ $st -ne 0 ] || fail "serve started on a store with a planted issuing CA"
grep -q "keys/ and the store are of different generations" "$T/planted-store.log" ||
	fail "no clear refusal: $(cat "$T/planted-store.log")"
[ "$(sql "SELECT count(*) FROM certificates WHERE profile = 'device'")" = 0 ] || fail "a certificate was recorded"
ok "serve refuses a store whose active issuing CA is not the one in keys/ (planted: OU=Evil Issuing)"

# 2. The fake issuing certificate in keys/ itself: serve refuses to start.
D2="$T/state2"
"$LANCA" init --dir "$D2" --name trust2 >/dev/null || fail "init 2"
openssl pkey -in "$D2/keys/issuing.key" -pubout -out "$T/issuing.pub" || fail "issuing pubkey 2"
openssl x509 -req -in "$T/dummy.csr" -force_pubkey "$T/issuing.pub" -CA "$T/evil-root.pem" \
	-CAkey "$T/evil-root.key" -CAcreateserial -days 365 -extfile "$T/evil.ext" \
	-out "$T/evil-issuing2.pem" 2>/dev/null || fail "fake issuing 2"
cp "$T/evil-issuing2.pem" "$D2/keys/issuing.pem"
st=0
"$LANCA" serve --dir "$D2" --https "127.0.0.1:$(free_port)" --http "127.0.0.1:$(free_port)" \
	>"$T/planted.log" 2>&1 || st=$?
[ $st -ne 0 ] || fail "serve started with a fake keys/issuing.pem"
grep -q "do not form a valid CA chain" "$T/planted.log" || fail "no clear refusal: $(cat "$T/planted.log")"
grep -q "issuing CA does not verify under the root" "$T/planted.log" ||
	fail "the refusal does not name the chain: $(cat "$T/planted.log")"
ok "a fake issuing certificate in keys/ stops serve: $(grep -o 'the issuing CA does not verify[^.]*' "$T/planted.log" | head -n 1)"

# 3. A state directory from before keys/ held the chain (passphrase-
#    protected keys): serve writes the files once, after proving them.
D3="$T/state3"
printf 'correct horse\n' >"$T/pass"
chmod 600 "$T/pass"
"$LANCA" init --dir "$D3" --name trust3 --passphrase-file "$T/pass" >/dev/null || fail "init 3"
mkdir "$T/orig"
cp "$D3/keys/root.pem" "$D3/keys/issuing.pem" "$D3/keys/signer.conf" "$T/orig/"
rm "$D3/keys/root.pem" "$D3/keys/issuing.pem" "$D3/keys/signer.conf"
ROOT_PEM="$D3/root.pem"
start_serve "$D3" --passphrase-file "$T/pass"
for f in root.pem issuing.pem signer.conf; do
	cmp -s "$T/orig/$f" "$D3/keys/$f" || fail "keys/$f was not recreated as it was"
done
make_csr old old-1 "DNS:old-1.local"
"$LANCA" press --dir "$D3" >/dev/null || fail "press"
st=$(post_csr old)
[ "$st" = 201 ] || fail "enroll after recreating keys/: $st $(cat "$T/old.resp")"
stop_serve || fail "serve did not exit 0"
ok "an older state directory gets keys/'s chain and settings from the store, and serves"

# ... but not a chain the keys do not prove.
rm "$D3/keys/root.pem" "$D3/keys/issuing.pem" "$D3/keys/signer.conf"
plant_store "$D3"
st=0
"$LANCA" serve --dir "$D3" --https "127.0.0.1:$(free_port)" --http "127.0.0.1:$(free_port)" \
	--passphrase-file "$T/pass" >"$T/adopt.log" 2>&1 || st=$?
[ $st -ne 0 ] || fail "serve adopted the store's fake chain"
grep -q "the store's root certificate is not for .*keys/root.key" "$T/adopt.log" ||
	fail "no clear refusal: $(cat "$T/adopt.log")"
[ ! -e "$D3/keys/issuing.pem" ] || fail "a fake keys/issuing.pem was written"
ok "a chain in the store that the keys do not prove is refused; nothing is written"

echo "t_signer_trust: $n_ok passed, 0 failed"
