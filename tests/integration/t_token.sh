#!/bin/sh
# t_token.sh - the issuing CA's key in a PKCS#11 token (issue 14), with
# SoftHSM2 and a token of this test's own: `lanca init --issuing-key
# pkcs11:...` makes the key inside the token (sensitive, never
# extractable) and keys/issuing.key names it, never holding it or the
# PIN; the daemon's sandboxed signer opens the token and signs leaves and
# CRLs with it, again after a restart; a signer that cannot reach the
# token (wrong PIN, no such token, no module) refuses to start with a
# message naming the problem; a backup holds the URL, not the key, says
# so, and restores only where the token is reachable; `lanca key
# move-to-token` moves a file key (encrypted) into the token, proven and
# audited, and refuses while serve runs, twice, or onto a taken name;
# --root-key keeps the root's key there too (init, backup-root, rollover:
# the previous generation's key stays in the token, the new one moves);
# under --user the signer proves at its start that the token signs as
# that user inside its sandbox, and refuses to start when not. Bad
# input at init (not a pkcs11: URL, a wrong PIN, no such token, a PIN
# file that is not there, token options without --issuing-key) leaves no
# state directory behind.
. "$(dirname "$0")/lib.sh"

PIN=2468-ca-pin
softhsm_token lanca-ca "$PIN"
# A token signer needs Landlock (it keeps the module to its paths).
landlock=$(python3 -c 'import ctypes; print(ctypes.CDLL(None, use_errno=True).syscall(444, None, 0, 1))')
if [ "$landlock" -le 0 ] && [ -z "${LANCA_WRAPPER:-}" ]; then
	echo "# SKIP: no Landlock here: a signer with its key in a token refuses to start without it"
	exit 77
fi
p11() {
	p11tool --provider "$MOD" --login --set-pin="$PIN" "$@"
}
printf 'a long backup passphrase\n' >"$T/pw"
printf 'not-the-pin\n' >"$T/badpin"
chmod 600 "$T/pw" "$T/badpin"
W=$((30 * LANCA_TIME_FACTOR))
URL="$TOK;object=issuing;id=%01"

# token_init DIR URL [ARGS...]: lanca init with the issuing key in the token.
token_init() {
	d=$1
	u=$2
	shift 2
	"$LANCA" init --dir "$d" --name tok --issuing-key "$u" --pin-file "$T/pin" \
		--pkcs11-module "$MOD" --token-path "$T/tokens" "$@"
}

# privkey_flags LABEL: p11tool's Flags: line of the token's private key LABEL.
privkey_flags() {
	p11 --list-all-privkeys "$TOK;object=$1" 2>/dev/null | grep "Flags:"
}

# ---- bad input at init: nothing made ----
st=0
"$LANCA" init --dir "$T/bad" --issuing-key /etc/lanca/issuing.pem >"$T/out" 2>"$T/err" || st=$?
[ $st -eq 2 ] && grep -q -- "--issuing-key: not a pkcs11: URL" "$T/err" ||
	fail "a file path as --issuing-key: $st $(cat "$T/err")"
st=0
"$LANCA" init --dir "$T/bad" --pin-file "$T/pin" >"$T/out" 2>"$T/err" || st=$?
[ $st -eq 2 ] && grep -q -- "go with --issuing-key" "$T/err" || fail "--pin-file alone: $st $(cat "$T/err")"
st=0
"$LANCA" init --dir "$T/bad" --issuing-key "$TOK;object=bad" --pin-file "$T/badpin" \
	--pkcs11-module "$MOD" >"$T/out" 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "$TOK;object=bad: the token refused the PIN ($T/badpin)" "$T/err" ||
	fail "a wrong PIN at init: $st $(cat "$T/err")"
! grep -q "not-the-pin" "$T/err" || fail "the wrong PIN was printed"
st=0
"$LANCA" init --dir "$T/bad" --issuing-key "pkcs11:token=no-such-token;object=x" --pin-file "$T/pin" \
	--pkcs11-module "$MOD" >"$T/out" 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "pkcs11:token=no-such-token;object=x: no PKCS#11 token matches it" "$T/err" ||
	fail "no such token at init: $st $(cat "$T/err")"
st=0
"$LANCA" init --dir "$T/bad" --issuing-key "$TOK;object=bad" --pin-file "$T/nopin" \
	--pkcs11-module "$MOD" >"$T/out" 2>"$T/err" || st=$?
[ $st -eq 2 ] && grep -q "$T/nopin: No such file or directory" "$T/err" ||
	fail "a missing PIN file at init: $st $(cat "$T/err")"
st=0
"$LANCA" init --dir "$T/bad" --issuing-key "$TOK;object=bad?pin-value=$PIN" --pkcs11-module "$MOD" \
	>"$T/out" 2>"$T/err" || st=$?
[ $st -eq 2 ] && grep -q -- "--issuing-key: a CA key's PIN goes in --pin-file, not in the URL" "$T/err" &&
	! grep -qF "$PIN" "$T/err" || fail "a PIN in the URL at init: $st $(cat "$T/err")"
[ ! -e "$T/bad" ] || fail "a refused init left $T/bad"
[ -z "$(p11 --list-all-privkeys "$TOK" 2>/dev/null | grep "Label:")" ] ||
	fail "a refused init left a key in the token: $(p11 --list-all-privkeys "$TOK")"
# A key someone else put there, which the token would give out.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/loose.pem" 2>/dev/null ||
	fail "openssl genpkey"
"$TOP_BUILDDIR/tests/tools/p11put" "$MOD" "$TOK" loose "$T/pin" "$T/loose.pem" || fail "p11put"
st=0
token_init "$T/bad" "$TOK;object=loose" >"$T/out" 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "$TOK;object=loose: the token would give this key out (not sensitive, extractable)" "$T/err" ||
	fail "an extractable key at init: $st $(cat "$T/err")"
[ ! -e "$T/bad" ] || fail "a refused init left $T/bad"
for p in / // /tmp/..; do
	st=0
	"$LANCA" init --dir "$T/bad" --issuing-key "$TOK;object=root-path" --pin-file "$T/pin" --pkcs11-module "$MOD" \
		--token-path "$p" >"$T/out" 2>"$T/err" || st=$?
	[ $st -eq 2 ] && grep -q "token path $p is the root directory" "$T/err" ||
		fail "--token-path $p: $st $(cat "$T/err")"
done
[ -z "$(privkey_flags root-path)" ] && [ ! -e "$T/bad" ] || fail "a refused --token-path made something"
ok "bad --issuing-key input at init: refused, nothing made"

# ---- init makes the key in the token ----
D="$T/state"
token_init "$D" "$URL" >"$T/out" 2>"$T/err" || fail "init with --issuing-key: $(cat "$T/err")"
grep -q "issuing CA key: made (sensitive, never extractable) in the PKCS#11 token: $URL\$" "$T/out" ||
	fail "init did not say it made the key: $(cat "$T/out")"
K="$D/keys/issuing.key"
[ "$(stat -c %a "$K")" = 600 ] || fail "issuing.key mode $(stat -c %a "$K")"
! grep -q "PRIVATE KEY" "$K" || fail "keys/issuing.key holds a key"
! grep -qF "$PIN" "$K" || fail "keys/issuing.key holds the PIN"
grep -qx "url=$URL" "$K" && grep -qx "module=$MOD" "$K" && grep -qx "pin-file=$T/pin" "$K" &&
	grep -qx "allow=$T/tokens" "$K" || fail "the record: $(cat "$K")"
p11 --list-all-privkeys "$TOK;object=issuing" 2>/dev/null | grep -q "Type: Private key (EC/ECDSA-SECP256R1)" ||
	fail "the token key's type: $(p11 --list-all-privkeys "$TOK;object=issuing")"
privkey_flags issuing | grep -q "CKA_SENSITIVE" && privkey_flags issuing | grep -q "CKA_NEVER_EXTRACTABLE" &&
	! privkey_flags issuing | grep -q "CKA_EXTRACTABLE" || fail "the token key's flags: $(privkey_flags issuing)"
p11 --export-pubkey "$TOK;object=issuing" 2>/dev/null | openssl pkey -pubin -pubout >"$T/tok.pub"
openssl x509 -in "$D/keys/issuing.pem" -noout -pubkey >"$T/ca.pub"
[ -s "$T/tok.pub" ] && cmp -s "$T/tok.pub" "$T/ca.pub" || fail "the issuing CA is not for the token's key"
"$LANCA" status --dir "$D" >"$T/status" 2>"$T/err" || fail "status: $(cat "$T/err")"
grep -q "^  key:           PKCS#11 token $URL\$" "$T/status" && grep -q "^  key:           file\$" "$T/status" ||
	fail "status does not say where the keys are: $(cat "$T/status")"
ok "init makes the issuing key in the token (sensitive, never extractable); issuing.key names it"

# ---- the daemon signs with it: leaves and CRLs ----
ROOT_PEM="$D/root.pem"
FP=$(openssl x509 -in "$ROOT_PEM" -noout -fingerprint -sha256 | sed 's/.*=//')
enroll() {
	"$LANCA" press --dir "$D" >/dev/null || fail "press"
	"$LANCA_ENROLL" enroll --gateway "https://localhost:$HTTPS_PORT" --id "$1" --out "$T/$1" \
		--fingerprint "$FP" --http "$HTTP_URL" --timeout "$W" >/dev/null 2>"$T/err" ||
		fail "enroll $1: $(cat "$T/err")"
	openssl verify -CAfile "$ROOT_PEM" -untrusted "$T/$1/chain.pem" "$T/$1/cert.pem" >/dev/null ||
		fail "$1's certificate does not verify"
}
start_serve "$D"
signer=$(child_pids "$SERVE_PID" | head -1)
# Under valgrind (make check-valgrind) the signer runs unconfined.
[ -n "$signer" ] && { [ -n "${LANCA_WRAPPER:-}" ] ||
	[ "$(awk '/^Seccomp:/ { print $2 }' "/proc/$signer/status")" = 2 ]; } ||
	fail "the signer of a token key is not under its system-call filter"
# Only the signer opens the token: the module is mapped there, and never
# in the network process.
grep -q "libsofthsm2" "/proc/$signer/maps" || fail "the signer has not loaded the module"
! grep -q "libsofthsm2" "/proc/$SERVE_PID/maps" || fail "the network process loaded the PKCS#11 module"
enroll dev-a
SERIAL=$(openssl x509 -in "$T/dev-a/cert.pem" -noout -serial | sed 's/serial=//')
"$LANCA" revoke --dir "$D" dev-a --reason keyCompromise >/dev/null 2>"$T/err" || fail "revoke: $(cat "$T/err")"
curl -s --max-time "$W" -o "$T/crl.der" "$HTTP_URL/crl" || fail "no CRL"
openssl crl -inform DER -in "$T/crl.der" -CAfile "$D/keys/issuing.pem" -noout 2>&1 | grep -q "verify OK" ||
	fail "the CRL does not verify under the issuing CA"
openssl crl -inform DER -in "$T/crl.der" -noout -text | grep -q "Serial Number: $SERIAL" ||
	fail "the CRL does not list dev-a ($SERIAL)"
! grep -q "PRIVATE KEY\|$PIN" "$T/serve.log" || fail "the log shows a key or the PIN"
ok "only the sandboxed signer opens the token; it issues and makes CRLs with the token's key"

stop_serve || fail "serve did not stop cleanly"
start_serve "$D"
enroll dev-b
ok "after a restart the signer opens the token again"

# ---- backup holds the URL, not the key ----
# (lanca backup and restore copy lanca.db: not for a store on PostgreSQL.)
if on_postgresql; then
	stop_serve || fail "serve did not stop cleanly"
	echo "# SKIP (LANCA_TEST_STORE=postgresql): backup and restore of a token CA"
	mkdir "$T/empty-tokens"	# for the refusals below
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$T/empty-tokens" \
		>"$T/empty.conf"
else
	"$LANCA" backup "$T/tok.bk" --dir "$D" --passphrase-file "$T/pw" >"$T/out" 2>"$T/err" ||
		fail "backup: $(cat "$T/err")"
	grep -q "issuing CA key: in a PKCS#11 token; the backup holds its URL, not the key: $URL\$" "$T/out" ||
		fail "backup did not say the key is in a token: $(cat "$T/out")"
	stop_serve || fail "serve did not stop cleanly"
	"$LANCA" restore "$T/tok.bk" --dir "$T/restored" --passphrase-file "$T/pw" >"$T/out" 2>"$T/err" ||
		fail "restore where the token is: $(cat "$T/err")"
	grep -q "issuing CA key: in a PKCS#11 token; the backup holds its URL, not the key: $URL\$" "$T/out" ||
		fail "restore did not say the key is in a token: $(cat "$T/out")"
	cmp -s "$T/restored/keys/issuing.key" "$K" || fail "the restored record differs"
	mkdir "$T/empty-tokens"
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$T/empty-tokens" \
		>"$T/empty.conf"
	st=0
	SOFTHSM2_CONF="$T/empty.conf" "$LANCA" restore "$T/tok.bk" --dir "$T/nowhere" --passphrase-file "$T/pw" \
		>"$T/out" 2>"$T/err" || st=$?
	[ $st -ne 0 ] && grep -q "its issuing CA key is in a PKCS#11 token, which restore must reach to check it" "$T/err" &&
		grep -q "no PKCS#11 token matches it" "$T/err" || fail "restore without the token: $st $(cat "$T/err")"
	[ ! -e "$T/nowhere" ] && [ -z "$(ls -d "$T"/nowhere.restore-* 2>/dev/null)" ] ||
		fail "a refused restore left files"
	ok "a backup holds the token key's URL and says so; restore checks the key in the token"
fi

# ---- a signer that cannot reach the token refuses to start ----
# refuses WHY [ENV...]: serve on $D must exit at its start, saying WHY.
refuses() {
	why=$1
	shift
	st=0
	env "$@" timeout $((60 * LANCA_TIME_FACTOR)) "$LANCA" serve --dir "$D" \
		--https "127.0.0.1:$(free_port)" --http "127.0.0.1:$(free_port)" >"$T/refused.log" 2>&1 || st=$?
	[ $st -ne 0 ] && [ $st -ne 124 ] && grep -qF -- "$why" "$T/refused.log" ||
		fail "serve started or said something else ($st), wanted '$why': $(cat "$T/refused.log")"
	grep -q "cannot start the signer" "$T/refused.log" || fail "not the signer's refusal: $(cat "$T/refused.log")"
}
cp "$T/pin" "$T/pin.good"
cp "$T/badpin" "$T/pin"
refuses "issuing.key names a key in a PKCS#11 token: $URL: the token refused the PIN ($T/pin)"
cp "$T/pin.good" "$T/pin"
# SoftHSM2 now says few attempts are left: a start in a restart loop must
# not spend them, even with the right PIN, until someone logs in by hand.
refuses "$URL: the token says few PIN attempts are left before it blocks: lanca does not spend them"
p11 --list-all-privkeys "$TOK" >/dev/null 2>&1 || fail "a login by hand"
refuses "issuing.key names a key in a PKCS#11 token: $URL: no PKCS#11 token matches it" \
	SOFTHSM2_CONF="$T/empty.conf"
cp "$K" "$T/record.good"
sed "s|^module=.*|module=$T/gone.so|" "$T/record.good" >"$K"
refuses "PKCS#11 module $T/gone.so: No such file or directory"
# Landlock leaves the module only the record's allow= paths.
if [ -z "${LANCA_WRAPPER:-}" ]; then
	grep -v "^allow=" "$T/record.good" >"$K"
	refuses "cannot sign as the signer's user, inside its sandbox"
	grep -q "names no allow= paths" "$T/refused.log" || fail "no warning about allow=: $(cat "$T/refused.log")"
fi
cp "$T/record.good" "$K"
ok "a signer that cannot reach the token refuses to start and says why"

# ---- as --user nobody: the module's files must be that user's ----
chmod 711 "$T"
U="$T/ustate"
token_init "$U" "$TOK;object=user" --user nobody >/dev/null 2>"$T/err" || fail "init --user nobody: $(cat "$T/err")"
st=0
timeout $((60 * LANCA_TIME_FACTOR)) "$LANCA" serve --dir "$U" --user nobody --https "127.0.0.1:$(free_port)" \
	--http "127.0.0.1:$(free_port)" >"$T/refused.log" 2>&1 || st=$?
[ $st -ne 0 ] && [ $st -ne 124 ] && grep -q "cannot sign as the signer's user, inside its sandbox" "$T/refused.log" ||
	fail "a token the signer's user cannot reach: $st $(cat "$T/refused.log")"
chown -R nobody "$T/tokens"
D_SAVED=$D
D=$U
ROOT_PEM="$U/root.pem"
FP=$(openssl x509 -in "$ROOT_PEM" -noout -fingerprint -sha256 | sed 's/.*=//')
start_serve "$U" --user nobody
enroll dev-u
stop_serve || fail "serve --user nobody did not stop cleanly"
chown -R root "$T/tokens"
D=$D_SAVED
ok "under --user the signer signs once the token's files are that user's, and refuses before"

# ---- lanca key move-to-token ----
F="$T/fstate"
"$LANCA" init --dir "$F" --name moved --passphrase-file "$T/pw" >/dev/null 2>&1 || fail "init $F"
cp "$F/keys/issuing.key" "$T/file.key"
MURL="$TOK;object=moved"
move() {
	"$LANCA" key move-to-token --dir "$F" --issuing-key "$MURL" --pin-file "$T/pin" \
		--pkcs11-module "$MOD" --token-path "$T/tokens" "$@"
}
st=0
move >"$T/out" 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "is encrypted and no passphrase was given" "$T/err" ||
	fail "move of an encrypted key without its passphrase: $st $(cat "$T/err")"
start_serve "$F" --passphrase-file "$T/pw"
st=0
move --passphrase-file "$T/pw" >"$T/out" 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "lanca serve is running on" "$T/err" || fail "move while serve runs: $st $(cat "$T/err")"
stop_serve || fail "serve did not stop cleanly"
cmp -s "$F/keys/issuing.key" "$T/file.key" || fail "a refused move changed issuing.key"
[ -z "$(privkey_flags moved)" ] || fail "a refused move left a key in the token"
move --passphrase-file "$T/pw" >"$T/out" 2>"$T/err" || fail "move-to-token: $(cat "$T/err")"
grep -q "issuing CA key moved into the PKCS#11 token: $MURL\$" "$T/out" || fail "move report: $(cat "$T/out")"
! grep -q "PRIVATE KEY" "$F/keys/issuing.key" && grep -qx "url=$MURL" "$F/keys/issuing.key" ||
	fail "after the move: $(cat "$F/keys/issuing.key")"
[ "$(stat -c %a "$F/keys/issuing.key")" = 600 ] || fail "moved issuing.key mode"
[ -z "$(ls "$F/keys" | grep -v '^\(root\|issuing\|audit\)\.\(key\|pem\|pub\)$\|^signer.conf$')" ] ||
	fail "the move left files in keys/: $(ls "$F/keys")"
privkey_flags moved | grep -q "CKA_SENSITIVE" && ! privkey_flags moved | grep -q "CKA_EXTRACTABLE" ||
	fail "the moved key's flags: $(privkey_flags moved)"
"$LANCA" audit --dir "$F" --action key-to-token --json >"$T/audit.json" 2>"$T/err" || fail "audit: $(cat "$T/err")"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert len(r)==1 and r[0]["subject"]=="issuing", r' \
	"$T/audit.json" || fail "the move is not audited once: $(cat "$T/audit.json")"
"$LANCA" audit verify --dir "$F" >/dev/null 2>"$T/err" || fail "audit verify after the move: $(cat "$T/err")"
if ! on_postgresql; then
	"$LANCA" backup "$T/f.bk" --dir "$F" --passphrase-file "$T/pw" >"$T/out" 2>"$T/err" || fail "backup of $F: $(cat "$T/err")"
	grep -q "^  CA keys: under their own passphrase\$" "$T/out" &&
		grep -q "issuing CA key: in a PKCS#11 token; the backup holds its URL, not the key: $MURL\$" "$T/out" ||
		fail "backup of an encrypted root key and a token issuing key: $(cat "$T/out")"
fi
st=0
move --passphrase-file "$T/pw" >"$T/out" 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "already names a key in a PKCS#11 token" "$T/err" || fail "a second move: $st $(cat "$T/err")"
G="$T/gstate"
"$LANCA" init --dir "$G" --name other >/dev/null 2>&1 || fail "init $G"
# A name taken by a key lanca cannot use: nothing copied beside it.
p11 --generate-privkey=rsa --bits=1024 --label=weak "$TOK" >/dev/null 2>&1 || fail "p11tool RSA-1024"
p11 --list-all-privkeys "$TOK" 2>/dev/null | grep -c "Label:" >"$T/nkeys"
st=0
"$LANCA" key move-to-token --dir "$G" --issuing-key "$TOK;object=weak" --pin-file "$T/pin" \
	--pkcs11-module "$MOD" >"$T/out" 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "the token holds a private key of that name that lanca cannot use" "$T/err" ||
	fail "a move onto an unusable key's name: $st $(cat "$T/err")"
[ "$(p11 --list-all-privkeys "$TOK" 2>/dev/null | grep -c "Label:")" = "$(cat "$T/nkeys")" ] ||
	fail "a refused move added a key to the token"
st=0
"$LANCA" key move-to-token --dir "$G" --issuing-key "$MURL" --pin-file "$T/pin" --pkcs11-module "$MOD" \
	>"$T/out" 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "the token already holds a private key of that name" "$T/err" ||
	fail "a move onto a taken name: $st $(cat "$T/err")"
grep -q "BEGIN PRIVATE KEY" "$G/keys/issuing.key" || fail "a refused move changed $G's key"
# A move that copied the key and then failed: the next one finds the very
# key there and uses it (p11tool puts it in, as a copy would have).
openssl pkey -in "$G/keys/issuing.key" -pubout -out "$T/g.pub" 2>/dev/null || fail "openssl pkey"
p11 --write --load-privkey "$G/keys/issuing.key" --load-pubkey "$T/g.pub" --label g-pre "$TOK" \
	>/dev/null 2>&1 || fail "p11tool --write"
"$LANCA" key move-to-token --dir "$G" --issuing-key "$TOK;object=g-pre" --pin-file "$T/pin" --pkcs11-module "$MOD" \
	--token-path "$T/tokens" >"$T/out" 2>"$T/err" || fail "a move after a copy: $(cat "$T/err")"
grep -q "the token held this very key under that name already" "$T/out" || fail "no word of the found key: $(cat "$T/out")"
[ "$(p11 --list-all-privkeys "$TOK;object=g-pre" 2>/dev/null | grep -c "Label:")" = 1 ] ||
	fail "a second copy of the found key"
grep -qx "url=$TOK;object=g-pre" "$G/keys/issuing.key" || fail "the found key's record: $(cat "$G/keys/issuing.key")"
# ... but not when the token would give that key out.
H="$T/hstate"
"$LANCA" init --dir "$H" --name loose >/dev/null 2>&1 || fail "init $H"
"$TOP_BUILDDIR/tests/tools/p11put" "$MOD" "$TOK" h-loose "$T/pin" "$H/keys/issuing.key" || fail "p11put $H"
st=0
"$LANCA" key move-to-token --dir "$H" --issuing-key "$TOK;object=h-loose" --pin-file "$T/pin" --pkcs11-module "$MOD" \
	--token-path "$T/tokens" >"$T/out" 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "$TOK;object=h-loose: the token would give this key out" "$T/err" &&
	grep -q "BEGIN PRIVATE KEY" "$H/keys/issuing.key" || fail "a found key the token would give out: $st $(cat "$T/err")"
ROOT_PEM="$F/root.pem"
D=$F
FP=$(openssl x509 -in "$ROOT_PEM" -noout -fingerprint -sha256 | sed 's/.*=//')
start_serve "$F" --passphrase-file "$T/pw"
enroll dev-m
openssl x509 -in "$F/keys/issuing.pem" -noout -pubkey >"$T/f.pub"
p11 --export-pubkey "$MURL" 2>/dev/null | openssl pkey -pubin -pubout >"$T/m.pub"
[ -s "$T/m.pub" ] && cmp -s "$T/m.pub" "$T/f.pub" || fail "the moved key is not the issuing CA's"
stop_serve || fail "serve did not stop cleanly"
ok "key move-to-token: proven, audited, served; refused without the passphrase, while serving, twice, onto a taken name"

# ---- the root's key in the token too; a rollover; its new key moved ----
R="$T/rstate"
st=0
token_init "$R" "$TOK;object=same" --root-key "$TOK;object=same" >"$T/out" 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "name the same key in the token" "$T/err" && [ ! -e "$R" ] ||
	fail "one token key for both CAs: $st $(cat "$T/err")"
p11 --batch --delete "$TOK;object=same" >/dev/null 2>&1 || true
token_init "$R" "$TOK;object=r-issuing" --root-key "$TOK;object=r-root" >"$T/out" 2>"$T/err" ||
	fail "init --root-key: $(cat "$T/err")"
grep -q "root CA key: made (sensitive, never extractable) in the PKCS#11 token: $TOK;object=r-root\$" "$T/out" ||
	fail "init did not say it made the root key: $(cat "$T/out")"
! grep -q "PRIVATE KEY" "$R/keys/root.key" || fail "keys/root.key holds a key"
p11 --export-pubkey "$TOK;object=r-root" 2>/dev/null | openssl pkey -pubin -pubout >"$T/r.pub"
openssl x509 -in "$R/keys/root.pem" -noout -pubkey >"$T/rc.pub"
[ -s "$T/r.pub" ] && cmp -s "$T/r.pub" "$T/rc.pub" || fail "the root is not for the token's root key"
openssl verify -CAfile "$R/keys/root.pem" "$R/keys/issuing.pem" >/dev/null ||
	fail "the issuing CA does not verify under the token-held root"
"$LANCA" backup-root create --dir "$R" --backup-key-out "$T/backup-root.key" --backup-pass-file "$T/pw" \
	>/dev/null 2>"$T/err" || fail "backup-root create with the root key in the token: $(cat "$T/err")"
if ! on_postgresql; then
	"$LANCA" backup "$T/r.bk" --dir "$R" --passphrase-file "$T/pw" >"$T/out" 2>"$T/err" ||
		fail "backup of $R: $(cat "$T/err")"
	grep -q "^  CA keys: none: both are in PKCS#11 tokens\$" "$T/out" || fail "backup of two token keys: $(cat "$T/out")"
fi
# A leaf of the first generation, whose CRL the old key must keep signing.
D=$R
ROOT_PEM="$R/root.pem"
FP=$(openssl x509 -in "$ROOT_PEM" -noout -fingerprint -sha256 | sed 's/.*=//')
start_serve "$R"
enroll dev-r0
stop_serve || fail "serve did not stop cleanly"
"$LANCA" rollover start --dir "$R" >/dev/null 2>"$T/err" || fail "rollover start: $(cat "$T/err")"
grep -qx "url=$TOK;object=r-issuing" "$R/keys/previous-issuing.key" ||
	fail "the previous issuing key's record: $(cat "$R/keys/previous-issuing.key")"
grep -q "BEGIN PRIVATE KEY" "$R/keys/issuing.key" || fail "rollover's new issuing key: $(head -2 "$R/keys/issuing.key")"
st=0
"$LANCA" key move-to-token --dir "$R" --issuing-key "$TOK;object=r-issuing-2" --pin-file "$T/pin" \
	--pkcs11-module "$MOD" >"$T/out" 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "previous-issuing.key reaches its token through another module, PIN file or token paths" "$T/err" ||
	fail "a move that reaches the token another way than the old key: $st $(cat "$T/err")"
grep -q "BEGIN PRIVATE KEY" "$R/keys/issuing.key" || fail "a refused move changed the new issuing key"
"$LANCA" key move-to-token --dir "$R" --issuing-key "$TOK;object=r-issuing-2" --pin-file "$T/pin" \
	--pkcs11-module "$MOD" --token-path "$T/tokens" >/dev/null 2>"$T/err" ||
	fail "move-to-token after a rollover: $(cat "$T/err")"
"$LANCA" status --dir "$R" --json >"$T/status.json" 2>"$T/err" || fail "status --json: $(cat "$T/err")"
python3 - "$T/status.json" "$TOK" <<'PY' || fail "status --json during the rollover: $(cat "$T/status.json")"
import json, sys
j = json.load(open(sys.argv[1]))
tok = sys.argv[2]
assert j["root"]["key"] == {"storage": "pkcs11", "url": tok + ";object=r-root"}, j["root"]
assert j["next_root"]["key"] == {"storage": "file"}, j["next_root"]
assert j["issuing"]["key"] == {"storage": "pkcs11", "url": tok + ";object=r-issuing-2"}, j["issuing"]
PY
ROOT_PEM="$R/root.pem"
FP=$(openssl x509 -in "$ROOT_PEM" -noout -fingerprint -sha256 | sed 's/.*=//')
start_serve "$R"
enroll dev-r
openssl x509 -in "$R/keys/issuing.pem" -noout -pubkey >"$T/n.pub"
p11 --export-pubkey "$TOK;object=r-issuing-2" 2>/dev/null | openssl pkey -pubin -pubout >"$T/n2.pub"
cmp -s "$T/n.pub" "$T/n2.pub" || fail "the new generation's issuing CA is not the moved key's"
# The previous generation's issuing key, still in the token, signs its
# CRL, at the URL its leaves carry; the new one signs the new CRL.
for d in dev-r0:previous-issuing.pem dev-r:issuing.pem; do
	url=$(openssl x509 -in "$T/${d%%:*}/cert.pem" -noout -ext crlDistributionPoints | sed -n 's/.*URI://p' |
		tr -d ' ')
	curl -s --max-time "$W" -o "$T/gen.crl" "$HTTP_URL/${url#http://*/}" || fail "GET $url"
	openssl crl -inform DER -in "$T/gen.crl" -noout -CAfile "$R/keys/${d#*:}" 2>&1 | grep -q "verify OK" ||
		fail "the CRL at $url does not verify under ${d#*:}"
done
stop_serve || fail "serve did not stop cleanly"
ok "--root-key: the root's key in the token signs the issuing CA and the backup root; a rollover keeps the old key in the token, and its new key moves there"

echo "t_token: $n_ok passed, 0 failed"
