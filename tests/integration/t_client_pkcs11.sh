#!/bin/sh
# t_client_pkcs11.sh - lanca-enroll with the device key in a PKCS#11 token
# (SoftHSM2, a private token in $T) against the real daemon: enroll
# --key pkcs11:... makes the key in the token (sensitive, never
# extractable) and gets a certificate for it with no key file written;
# the device directory records the URL, the module and the PIN file's
# path, never the PIN; a pending enroll keeps key.token.new and the next
# run goes on with that token key; renew over lanca's API and over EST
# (simplereenroll) presents the token key for mTLS and keeps it; an
# existing token key is used as it is; a pin-value in the URL is used but
# not recorded; and bad input (not a pkcs11: URL, no such token, a wrong
# PIN, a missing PIN file, a key the device cannot use, a URL that names
# no key, a missing module, a token key without its PIN at renew) fails
# with a message naming the problem and leaves nothing behind.
. "$(dirname "$0")/lib.sh"

: "${TOP_BUILDDIR:=$TOP_SRCDIR}"
ENROLL="$LANCA_ENROLL"
[ -x "$ENROLL" ] || fail "no $ENROLL"
PIN=4711-dev-pin
softhsm_token lanca-dev "$PIN"
printf 'not-the-pin\n' >"$T/badpin"
p11() {
	p11tool --provider "$MOD" --login --set-pin="$PIN" "$@"
}

D="$T/state"
"$LANCA" init --dir "$D" --name p11 >/dev/null || fail "init"
ROOT_PEM="$D/root.pem"
start_serve "$D"
GW="https://localhost:$HTTPS_PORT"
FP=$(openssl x509 -in "$ROOT_PEM" -noout -fingerprint -sha256 | sed 's/.*=//')
W=$((30 * LANCA_TIME_FACTOR))

# enroll_tok ID OUT [ARGS...]: enroll during a press with a token key.
enroll_tok() {
	id=$1
	out=$2
	shift 2
	"$LANCA" press --dir "$D" >/dev/null || fail "press"
	"$ENROLL" enroll --gateway "$GW" --id "$id" --out "$out" --fingerprint "$FP" --http "$HTTP_URL" \
		--timeout "$W" "$@"
}

# cert_pub DIR: the public key in DIR/cert.pem, PEM.
cert_pub() {
	openssl x509 -in "$1/cert.pem" -noout -pubkey
}

# tok_pub LABEL: the token's public key of that label, PEM (as openssl writes it).
tok_pub() {
	p11 --export-pubkey "$TOK;object=$1" 2>/dev/null | openssl pkey -pubin -pubout
}

# check_token_dir DIR: enroll's files but no key file.
check_token_dir() {
	for f in key.token cert.pem chain.pem root.pem gateway.url; do
		[ -f "$1/$f" ] || fail "$1/$f missing"
	done
	for f in key.pem key.pem.new key.token.new; do
		[ ! -e "$1/$f" ] || fail "$1/$f written for a token key"
	done
	[ "$(stat -c %a "$1/key.token")" = 600 ] || fail "$1/key.token mode $(stat -c %a "$1/key.token")"
	! grep -rq -- "-----BEGIN .*PRIVATE KEY" "$1" || fail "a private key was written in $1"
	! grep -rqF -- "$PIN" "$1" || fail "the PIN was written in $1"
}

# ---- enroll makes the key in the token ----
enroll_tok p11-a "$T/a" --key "$TOK;object=dev-a;id=%0a%01" --pin-file "$T/pin" \
	--pkcs11-module "$MOD" >"$T/out" 2>"$T/err" || fail "enroll with a token key: $(cat "$T/err")"
grep -q "made the key in the token: $TOK;object=dev-a;id=%0a%01" "$T/err" ||
	fail "enroll did not say it made the key: $(cat "$T/err")"
check_token_dir "$T/a"
tok_pub dev-a >"$T/a.tokpub" || fail "p11tool --export-pubkey dev-a"
[ -s "$T/a.tokpub" ] && [ "$(cert_pub "$T/a")" = "$(cat "$T/a.tokpub")" ] ||
	fail "the certificate's key is not the token's: $(cert_pub "$T/a") / $(cat "$T/a.tokpub")"
openssl verify -CAfile "$ROOT_PEM" -untrusted "$T/a/chain.pem" "$T/a/cert.pem" >/dev/null ||
	fail "the token key's certificate does not verify"
RECORD_HEAD='# lanca: a key held in a PKCS#11 token (this file names it, it is not the key)'
printf '%s\nurl=%s\nmodule=%s\npin-file=%s\n' "$RECORD_HEAD" \
	"$TOK;object=dev-a;id=%0a%01" "$MOD" "$T/pin" >"$T/a.want"
cmp -s "$T/a/key.token" "$T/a.want" || fail "key.token: $(cat "$T/a/key.token")"
ok "enroll --key: the key made in the token gets the certificate; key.token records URL, module, PIN file"

# The key is sensitive and never leaves the token.
p11 --list-all-privkeys "$TOK;object=dev-a" >"$T/privs" 2>&1 || fail "p11tool --list-all-privkeys: $(cat "$T/privs")"
grep -q "Type: Private key (EC/ECDSA-SECP256R1)" "$T/privs" || fail "token key type: $(cat "$T/privs")"
grep "Flags:" "$T/privs" | grep -q "CKA_SENSITIVE" || fail "the token key is not sensitive: $(cat "$T/privs")"
grep "Flags:" "$T/privs" | grep -q "CKA_NEVER_EXTRACTABLE" ||
	fail "the token key was extractable: $(cat "$T/privs")"
grep "Flags:" "$T/privs" | grep -q "CKA_EXTRACTABLE" && fail "the token key is extractable: $(cat "$T/privs")"
st=0; p11 --export "$TOK;object=dev-a;type=private" >"$T/exported" 2>&1 || st=$?
[ $st -ne 0 ] && ! grep -q "PRIVATE KEY" "$T/exported" || fail "p11tool exported the private key"
ok "the token key is ECDSA P-256, sensitive, never extractable; p11tool cannot export it"

# ---- renew over lanca's API with the token key ----
old_serial=$(openssl x509 -in "$T/a/cert.pem" -noout -serial)
cp "$T/a/key.token" "$T/a.token.before"
"$ENROLL" renew --dir "$T/a" --timeout "$W" >"$T/out" 2>"$T/err" || fail "renew with a token key: $(cat "$T/err")"
grep -q "renewed p11-a" "$T/out" || fail "renew report: $(cat "$T/out")"
[ "$(openssl x509 -in "$T/a/cert.pem" -noout -serial)" != "$old_serial" ] || fail "renew kept the serial"
[ "$(cert_pub "$T/a")" = "$(cat "$T/a.tokpub")" ] || fail "the renewed certificate is not for the token key"
cmp -s "$T/a/key.token" "$T/a.token.before" || fail "renew changed key.token"
check_token_dir "$T/a"
# /api/v1/renew takes only the device's current certificate as TLS client
# certificate: the old one is now superseded by the new one.
[ "$(sql "SELECT count(*) FROM certificates WHERE device_id='p11-a'")" = 2 ] ||
	fail "the gateway does not hold two certificates for p11-a"
ok "renew (API) over mTLS with the token key: new serial, same token key, no key file"

# A certificate the token key does not match is refused before the handshake.
cp "$T/a/cert.pem" "$T/a.cert.keep"
cp "$T/a/chain.pem" "$T/a.chain.keep"
openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
	-subj /CN=p11-a -days 2 -out "$T/a/chain.pem" 2>/dev/null || fail "openssl req"
st=0; "$ENROLL" renew --dir "$T/a" --timeout "$W" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "the client certificate is not for the client key" "$T/err" ||
	fail "renew with a chain for another key: $st $(cat "$T/err")"
cp "$T/a.chain.keep" "$T/a/chain.pem"
ok "a chain.pem that is not for the token key is refused by name"

# ---- renew over EST (simplereenroll) with the token key ----
old_serial=$(openssl x509 -in "$T/a/cert.pem" -noout -serial)
"$ENROLL" renew --protocol est --dir "$T/a" --timeout "$W" >"$T/out" 2>"$T/err" ||
	fail "EST renew with a token key: $(cat "$T/err")"
[ "$(openssl x509 -in "$T/a/cert.pem" -noout -serial)" != "$old_serial" ] || fail "EST renew kept the serial"
[ "$(cert_pub "$T/a")" = "$(cat "$T/a.tokpub")" ] || fail "the EST renewal is not for the token key"
check_token_dir "$T/a"
[ "$(sql "SELECT count(*) FROM certificates WHERE device_id='p11-a'")" = 3 ] ||
	fail "the gateway does not hold three certificates for p11-a"
ok "renew --protocol est over mTLS with the token key"

"$ENROLL" trust refresh --dir "$T/a" >"$T/out" 2>"$T/err" || fail "trust refresh with a token key: $(cat "$T/err")"
ok "trust refresh presents the token key too"

# ---- an existing key is used; a pin-value is used but not recorded ----
p11 --generate-privkey=ecdsa --curve=secp256r1 --label=dev-b "$TOK" >/dev/null 2>&1 ||
	fail "p11tool --generate-privkey dev-b"
tok_pub dev-b >"$T/b.tokpub" || fail "p11tool --export-pubkey dev-b"
enroll_tok p11-b "$T/b" --key "$TOK;object=dev-b?pin-value=$PIN" --pkcs11-module "$MOD" \
	>"$T/out" 2>"$T/err" || fail "enroll with an existing token key: $(cat "$T/err")"
grep -q "using the key in the token: $TOK;object=dev-b\$" "$T/err" || fail "existing key: $(cat "$T/err")"
! grep -qF -- "$PIN" "$T/err" "$T/out" || fail "the PIN was printed"
check_token_dir "$T/b"
[ "$(cert_pub "$T/b")" = "$(cat "$T/b.tokpub")" ] || fail "dev-b's certificate is not for the existing key"
printf '%s\nurl=%s\nmodule=%s\n' "$RECORD_HEAD" "$TOK;object=dev-b" "$MOD" >"$T/b.want"
cmp -s "$T/b/key.token" "$T/b.want" || fail "key.token with a pin-value: $(cat "$T/b/key.token")"
ok "an existing token key is used; the URL's pin-value works and is not recorded"

# Pending: key.token.new stays, and the next run goes on with its key
# without being given --key again.
st=0
"$ENROLL" enroll --gateway "$GW" --id p11-p --out "$T/p" --fingerprint "$FP" --http "$HTTP_URL" \
	--timeout $((3 * LANCA_TIME_FACTOR)) --key "$TOK;object=dev-p" --pin-file "$T/pin" \
	--pkcs11-module "$MOD" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 3 ] || fail "token key without a press: exit $st, want 3: $(cat "$T/err")"
[ -f "$T/p/key.token.new" ] && [ ! -e "$T/p/key.token" ] && [ ! -e "$T/p/key.pem.new" ] ||
	fail "pending with a token key: $(ls -A "$T/p")"
"$LANCA" approve --dir "$D" "$(pending_id p11-p)" >/dev/null || fail "approve p11-p"
"$ENROLL" enroll --gateway "$GW" --id p11-p --out "$T/p" --fingerprint "$FP" --http "$HTTP_URL" \
	--timeout "$W" >/dev/null 2>"$T/err" || fail "enroll after approve: $(cat "$T/err")"
grep -q "using the token key from the earlier attempt ($T/p/key.token.new: $TOK;object=dev-p)" "$T/err" ||
	fail "the second run did not say it used the token key: $(cat "$T/err")"
check_token_dir "$T/p"
[ "$(cert_pub "$T/p")" = "$(tok_pub dev-p)" ] || fail "p11-p's certificate is not for its token key"
ok "pending keeps key.token.new; the next run, without --key, gets the certificate for that token key"

st=0; "$ENROLL" renew --dir "$T/b" --timeout "$W" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "the token wants a PIN: give --pin-file" "$T/err" ||
	fail "renew without a recorded PIN: $st $(cat "$T/err")"
"$ENROLL" renew --dir "$T/b" --pin-file "$T/pin" --timeout "$W" >/dev/null 2>"$T/err" ||
	fail "renew --pin-file: $(cat "$T/err")"
[ "$(cert_pub "$T/b")" = "$(cat "$T/b.tokpub")" ] || fail "dev-b's renewal is not for its key"
st=0; "$ENROLL" trust refresh --dir "$T/b" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "the token wants a PIN: give --pin-file" "$T/err" ||
	fail "trust refresh without a recorded PIN: $st $(cat "$T/err")"
"$ENROLL" trust refresh --dir "$T/b" --pin-file "$T/pin" >/dev/null 2>"$T/err" ||
	fail "trust refresh --pin-file: $(cat "$T/err")"
ok "renew and trust refresh of a key whose PIN was not recorded ask for --pin-file, and work with it"

# ---- bad input ----
st=0; "$ENROLL" enroll --gateway "$GW" --id bad --out "$T/bad" --fingerprint "$FP" \
	--key "file:///etc/key.pem" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 2 ] && grep -q -- "--key: not a pkcs11: URL" "$T/err" && ! grep -q "/etc/key.pem" "$T/err" || fail "non-pkcs11 URL: $st $(cat "$T/err")"
st=0; "$ENROLL" enroll --gateway "$GW" --id bad --out "$T/bad" --fingerprint "$FP" \
	--key "$TOK;type=private" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 2 ] && grep -q "name the key with object=LABEL or id=" "$T/err" || fail "URL without a key name: $st $(cat "$T/err")"
st=0; "$ENROLL" enroll --gateway "$GW" --id bad --out "$T/bad" --fingerprint "$FP" \
	--key "$TOK;object=x%zz" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 2 ] && grep -q "attribute 'object' has a bad percent-escape" "$T/err" || fail "bad escape: $st $(cat "$T/err")"
st=0; "$ENROLL" enroll --gateway "$GW" --id bad --out "$T/bad" --fingerprint "$FP" \
	--key "$TOK;object=x" --pin-file "$T/nopin" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 2 ] && grep -q -- "--pin-file $T/nopin: No such file or directory" "$T/err" ||
	fail "missing PIN file: $st $(cat "$T/err")"
st=0; "$ENROLL" enroll --gateway "$GW" --id bad --out "$T/bad" --fingerprint "$FP" \
	--key "$TOK;object=x" --pkcs11-module "$T/nomodule.so" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 2 ] && grep -q -- "--pkcs11-module $T/nomodule.so: No such file or directory" "$T/err" ||
	fail "missing module: $st $(cat "$T/err")"
st=0; "$ENROLL" enroll --gateway "$GW" --id bad --out "$T/bad" --fingerprint "$FP" \
	--pin-file "$T/pin" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 2 ] && grep -q -- "--pin-file and --pkcs11-module go with --key" "$T/err" ||
	fail "--pin-file without --key: $st $(cat "$T/err")"
[ ! -e "$T/bad" ] || fail "a usage error left $T/bad"
ok "usage errors: not pkcs11:, no key named, bad escape, missing PIN file or module, --pin-file alone"

st=0; enroll_tok bad "$T/bad" --key "pkcs11:token=no-such-token;object=x" --pin-file "$T/pin" \
	--pkcs11-module "$MOD" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "pkcs11:token=no-such-token;object=x: no PKCS#11 token matches it" "$T/err" ||
	fail "no such token: $st $(cat "$T/err")"
[ ! -e "$T/bad" ] || fail "a failed enroll left $T/bad: $(ls -A "$T/bad")"

st=0; enroll_tok bad "$T/bad" --key "$TOK;object=x" --pin-file "$T/badpin" --pkcs11-module "$MOD" \
	>/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "$TOK;object=x: the token refused the PIN ($T/badpin)" "$T/err" ||
	fail "wrong PIN: $st $(cat "$T/err")"
! grep -q "not-the-pin" "$T/err" || fail "the wrong PIN was printed"
[ ! -e "$T/bad" ] || fail "a wrong PIN left $T/bad"

st=0; enroll_tok bad "$T/bad" --key "$TOK;object=x?pin-value=wrong-one" --pkcs11-module "$MOD" \
	>/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "$TOK;object=x: the token refused the PIN (given in the URL)" "$T/err" ||
	fail "wrong pin-value: $st $(cat "$T/err")"
! grep -q "wrong-one" "$T/err" || fail "the URL's PIN was printed"

p11 --generate-privkey=rsa --bits=1024 --label=weak "$TOK" >/dev/null 2>&1 || fail "p11tool RSA-1024"
st=0; enroll_tok bad "$T/bad" --key "$TOK;object=weak" --pin-file "$T/pin" --pkcs11-module "$MOD" \
	>/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "$TOK;object=weak: an unsupported key (RSA, 1024 bits)" "$T/err" ||
	fail "RSA-1024 token key: $st $(cat "$T/err")"
[ ! -e "$T/bad" ] || fail "an unusable key left $T/bad"
ok "no such token, a wrong PIN (file or URL, never printed), a key the device cannot use: exit 1, named"

# No object was made in the token by the failed runs.
p11 --list-all-privkeys "$TOK" 2>/dev/null | grep "Label:" | sort >"$T/labels"
printf '\tLabel: dev-a\n\tLabel: dev-b\n\tLabel: dev-p\n\tLabel: weak\n' | sort | cmp -s - "$T/labels" ||
	fail "token keys after the failures: $(cat "$T/labels")"
ok "the failed runs made no key in the token"

# File keys are as they were: enroll without --key writes key.pem.
enroll_tok p11-f "$T/f" >/dev/null 2>"$T/err" || fail "file-key enroll: $(cat "$T/err")"
check_out "$T/f"
[ ! -e "$T/f/key.token" ] || fail "a file-key enroll wrote key.token"
st=0; "$ENROLL" renew --dir "$T/f" --pin-file "$T/pin" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "are for a key in a token" "$T/err" || fail "renew --pin-file of a file key: $st $(cat "$T/err")"
ok "without --key the key is a file, as before; --pin-file with a file key is refused"

stop_serve || true
echo "t_client_pkcs11: $n_ok passed, 0 failed"
