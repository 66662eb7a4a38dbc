#!/bin/sh
# t_trust_bundle.sh - the backup root and the trust bundle against the real
# daemon, with real clients: `lanca init --backup-key-out` writes the
# backup root's key encrypted (openssl and certtool open it with the
# passphrase and not without) and the state directory holds no copy of it;
# `lanca status` (text and --json) warns until `lanca backup-root confirm`
# (audited, once); /trust-bundle.pem on both ports holds both roots and the
# primary's certificate of the backup (pem-certificate-chain, ETag, 304);
# EST /cacerts holds them too; the web page shows the backup root and
# /backup-root.pem serves it; `lanca-enroll trust refresh` and
# contrib/lanca-enroll.sh trust refresh add the backup root to a device's
# trust.pem and leave root.pem alone; renew trusts trust.pem before
# root.pem; a tampered bundle (a root nobody vouches for, or a voucher
# from an untrusted root) is refused by both and the old store is kept;
# hand-made bundles show both clients accepting a root vouched for by a
# root accepted in the same refresh (listed before it), dropping a root
# the bundle no longer lists (named with its SHA-256), and refusing a
# bundle that lists no root; `lanca backup-root create` gives an older state
# directory one, and refuses a second and a key without a passphrase.
. "$(dirname "$0")/lib.sh"

: "${TOP_BUILDDIR:=$TOP_SRCDIR}"
ENROLL="$LANCA_ENROLL"
ENROLL_SH="$TOP_SRCDIR/contrib/lanca-enroll.sh"
[ -x "$ENROLL" ] || fail "no $ENROLL"

D="$T/state"
ROOT_PEM="$D/root.pem"
BK="$T/backup-key.pem"
printf 'Backup-root pass:phrase-71c2\n' >"$T/bpass"
chmod 600 "$T/bpass"

# fp FILE: a PEM certificate's SHA-256, lower-case hex without colons.
fp() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//' | tr -d ':' | tr 'A-F' 'a-f'
}
# fps FILE: the SHA-256 of every certificate of a PEM file, one a line.
fps() {
	rm -f "$T/fps."*
	awk -v p="$T/fps." '/-----BEGIN CERTIFICATE-----/ { n++; on = 1 }
		on { print > (p n ".pem") } /-----END CERTIFICATE-----/ { on = 0 }' "$1"
	for f in "$T/fps."*.pem; do [ -f "$f" ] && fp "$f"; done
}

# ---- init with a backup root ----
st=0
"$LANCA" init --dir "$T/nopass" --name tb --backup-key-out "$T/nopass.key" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 2 ] && grep -q "backup-pass-file" "$T/err" || fail "init --backup-key-out without a passphrase: $st $(cat "$T/err")"
[ ! -e "$T/nopass" ] && [ ! -e "$T/nopass.key" ] || fail "a refused init left files behind"
# An empty state directory made beforehand: the key may not go into it.
mkdir "$T/pre"
st=0
"$LANCA" init --dir "$T/pre" --name tb --backup-key-out "$T/pre/backup.key" --backup-pass-file "$T/bpass" \
	>/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "inside the state directory" "$T/err" && [ -z "$(ls -A "$T/pre")" ] ||
	fail "init with the key inside an existing state directory: $st $(cat "$T/err")"
"$LANCA" init --dir "$D" --name tb --backup-key-out "$BK" --backup-pass-file "$T/bpass" >"$T/init.out" 2>"$T/err" ||
	fail "init with a backup root: $(cat "$T/err")"
[ -f "$D/backup-root.pem" ] || fail "no backup-root.pem in the state directory"
BFP=$(fp "$D/backup-root.pem")
RFP=$(fp "$ROOT_PEM")
grep -qi "backup root SHA-256 fingerprint: $(openssl x509 -in "$D/backup-root.pem" -noout -fingerprint -sha256 | sed 's/.*=//')" "$T/init.out" ||
	fail "init did not print the backup root's fingerprint: $(cat "$T/init.out")"
grep -q "backup-root confirm" "$T/init.out" || fail "init did not say how to confirm"
[ "$BFP" != "$RFP" ] || fail "the backup root is the primary root"
ok "init --backup-key-out makes a backup root beside the primary; init without a passphrase, or with the key inside the state directory, is refused"

head -n 1 "$BK" | grep -q "BEGIN ENCRYPTED PRIVATE KEY" || fail "the key file is not encrypted PKCS#8: $(head -n 1 "$BK")"
[ "$(stat -c %a "$BK")" = 600 ] || fail "key file mode $(stat -c %a "$BK")"
openssl pkey -in "$BK" -passin file:"$T/bpass" -pubout -out "$T/bk.pub" 2>"$T/err" || fail "openssl cannot open the key with its passphrase: $(cat "$T/err")"
openssl x509 -in "$D/backup-root.pem" -noout -pubkey >"$T/broot.pub"
cmp -s "$T/bk.pub" "$T/broot.pub" || fail "the key file is not the backup root's key"
openssl pkey -in "$BK" -passin pass:wrong-passphrase -noout >/dev/null 2>&1 && fail "openssl opened the key with a wrong passphrase"
openssl pkey -in "$BK" -passin pass: -noout >/dev/null 2>&1 && fail "openssl opened the key without a passphrase"
openssl asn1parse -in "$BK" 2>/dev/null | grep -q "PBES2" || fail "the key is not PBES2-encrypted"
openssl asn1parse -in "$BK" 2>/dev/null | grep -q "aes-256-cbc" || fail "the key is not AES-256-encrypted"
if command -v certtool >/dev/null 2>&1; then
	certtool --key-info --load-privkey "$BK" --password "$(head -n 1 "$T/bpass")" >/dev/null 2>&1 ||
		fail "certtool cannot open the key with its passphrase"
	certtool --key-info --load-privkey "$BK" --password wrong-passphrase >/dev/null 2>&1 &&
		fail "certtool opened the key with a wrong passphrase"
fi
ok "the backup root's key file: PKCS#8, PBES2/AES-256, mode 0600, opened with its passphrase only (openssl, certtool)"

# The private scalar, searched for in every file of the state directory,
# raw and as hex, and the unencrypted PKCS#8 DER.
openssl pkey -in "$BK" -passin file:"$T/bpass" -outform DER -out "$T/bk.der" 2>/dev/null || fail "cannot decrypt the key"
python3 - "$T/bk.der" "$D" <<'EOF' || fail "the state directory holds the backup root's private key"
import os, sys, subprocess
der = open(sys.argv[1], "rb").read()
text = subprocess.run(["openssl", "pkey", "-inform", "DER", "-in", sys.argv[1], "-noout", "-text"],
                      capture_output=True, text=True).stdout
hexes, on = [], False
for line in text.splitlines():
    if line.startswith("priv:"):
        on = True
        continue
    if on and line.startswith("    "):
        hexes.append(line.strip().replace(":", ""))
    elif on:
        break
scalar = bytes.fromhex("".join(hexes)).lstrip(b"\0")
assert len(scalar) >= 30, "no private scalar read"
needles = [der, scalar, scalar.hex().encode(), scalar.hex().upper().encode()]
for top, _, files in os.walk(sys.argv[2]):
    for f in files:
        data = open(os.path.join(top, f), "rb").read()
        for n in needles:
            if n in data:
                print("found in", os.path.join(top, f))
                sys.exit(1)
EOF
ok "the state directory holds no copy of the backup root's private key (DER, raw scalar, hex)"

# ---- status warns until confirm ----
"$LANCA" status --dir "$D" >"$T/status" || fail "status"
grep -q "^backup root: .*Backup Root CA" "$T/status" || fail "status does not show the backup root: $(cat "$T/status")"
grep -q "WARNING: .*backup-root confirm" "$T/status" || fail "status does not warn of an unconfirmed backup root"
"$LANCA" status --dir "$D" --json >"$T/status.json" || fail "status --json"
python3 - "$T/status.json" "$BFP" <<'EOF' || fail "status --json before confirm: $(cat "$T/status.json")"
import json, sys
b = json.load(open(sys.argv[1]))["backup_root"]
assert b["state"] == "unconfirmed" and b["sha256"] == sys.argv[2] and "confirm" in b["warning"], b
EOF
"$LANCA" backup-root status --dir "$D" | grep -q "NOT CONFIRMED" || fail "backup-root status before confirm"
start_serve "$D"
tcurl "$HTTPS_URL/api/v1/status" >"$T/api.json" || fail "GET /api/v1/status"
python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))["backup_root"]; assert b["state"]=="unconfirmed" and b["warning"], b' "$T/api.json" ||
	fail "/api/v1/status before confirm: $(cat "$T/api.json")"
ok "status, status --json, backup-root status and /api/v1/status warn while the key is not confirmed stored"

"$LANCA" backup-root confirm --dir "$D" >/dev/null 2>"$T/err" || fail "backup-root confirm: $(cat "$T/err")"
"$LANCA" status --dir "$D" >"$T/status" || fail "status after confirm"
grep -q "WARNING" "$T/status" && fail "status still warns after confirm: $(cat "$T/status")"
"$LANCA" status --dir "$D" --json >"$T/status.json" || fail "status --json after confirm"
python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))["backup_root"]; assert b["state"]=="confirmed" and b.get("warning") is None, b' "$T/status.json" ||
	fail "status --json after confirm: $(cat "$T/status.json")"
tcurl "$HTTPS_URL/api/v1/status" >"$T/api.json" || fail "GET /api/v1/status"
python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))["backup_root"]; assert b["state"]=="confirmed" and b.get("warning") is None, b' "$T/api.json" ||
	fail "/api/v1/status after confirm: $(cat "$T/api.json")"
[ "$(sql "SELECT count(*) FROM audit WHERE event = 'backup-root-confirm'")" = 1 ] || fail "confirm is not audited once"
st=0
"$LANCA" backup-root confirm --dir "$D" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "confirmed stored already" "$T/err" || fail "a second confirm: $st $(cat "$T/err")"
[ "$(sql "SELECT count(*) FROM audit WHERE event = 'backup-root-confirm'")" = 1 ] || fail "a refused confirm was audited"
ok "backup-root confirm ends the warnings (CLI, JSON, API), is audited once and refuses a second time"

# ---- /trust-bundle.pem, EST, the page ----
for url in "$HTTP_URL" "$HTTPS_URL"; do
	code=$(curl -s --max-time 10 --resolve "localhost:$HTTPS_PORT:127.0.0.1" --cacert "$ROOT_PEM" \
		-D "$T/tb.hdr" -o "$T/tb.pem" -w '%{http_code}' "$url/trust-bundle.pem")
	[ "$code" = 200 ] || fail "GET $url/trust-bundle.pem: $code"
	grep -qi '^content-type: application/pem-certificate-chain' "$T/tb.hdr" || fail "bundle type: $(cat "$T/tb.hdr")"
	grep -qi '^cache-control: .*max-age' "$T/tb.hdr" || fail "bundle without Cache-Control"
	fps "$T/tb.pem" >"$T/tb.fps"
	[ "$(sed -n 1p "$T/tb.fps")" = "$RFP" ] || fail "the bundle's first certificate is not the primary root"
	[ "$(sed -n 2p "$T/tb.fps")" = "$BFP" ] || fail "the bundle's second certificate is not the backup root"
	[ "$(wc -l <"$T/tb.fps")" -eq 3 ] || fail "the bundle holds $(wc -l <"$T/tb.fps") certificates, not 3"
	# The third: the primary's certificate of the backup root's key.
	awk '/-----BEGIN CERTIFICATE-----/ { n++ } n == 3' "$T/tb.pem" >"$T/cross.pem"
	openssl verify -CAfile "$ROOT_PEM" "$T/cross.pem" >/dev/null 2>&1 || fail "the cross-certificate does not verify under the primary"
	[ "$(openssl x509 -in "$T/cross.pem" -noout -pubkey)" = "$(cat "$T/broot.pub")" ] || fail "the cross-certificate carries another key"
	etag=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *//p' "$T/tb.hdr" | tr -d '\r')
	[ -n "$etag" ] || fail "bundle without an ETag"
	code=$(curl -s --max-time 10 --resolve "localhost:$HTTPS_PORT:127.0.0.1" --cacert "$ROOT_PEM" \
		-H "If-None-Match: $etag" -o /dev/null -w '%{http_code}' "$url/trust-bundle.pem")
	[ "$code" = 304 ] || fail "If-None-Match with the bundle's ETag: $code"
done
ok "/trust-bundle.pem on both ports: primary, backup, the primary's voucher for the backup; pem-certificate-chain, ETag and 304"

tcurl -o "$T/cacerts.b64" "$HTTPS_URL/.well-known/est/cacerts" || fail "EST cacerts"
openssl base64 -d -in "$T/cacerts.b64" | openssl pkcs7 -inform DER -print_certs -out "$T/cacerts.pem" 2>/dev/null ||
	fail "EST cacerts is not a PKCS#7"
fps "$T/cacerts.pem" >"$T/cacerts.fps"
grep -qx "$RFP" "$T/cacerts.fps" && grep -qx "$BFP" "$T/cacerts.fps" || fail "EST cacerts lacks a root: $(cat "$T/cacerts.fps")"
grep -qx "$(fp "$D/keys/issuing.pem")" "$T/cacerts.fps" || fail "EST cacerts lacks the issuing CA"
ok "EST /cacerts carries the issuing CA, the primary root and the backup root"

tcurl -o "$T/page.html" "$HTTPS_URL/" || fail "GET /"
fp4=$(printf '%s' "$BFP" | tr 'a-f' 'A-F' | sed 's/\(....\)/\1 /g; s/ $//')
grep -q "$fp4" "$T/page.html" || fail "the page does not show the backup root's fingerprint"
grep -q 'href="/backup-root.pem"' "$T/page.html" || fail "the page does not link the backup root"
tcurl -o "$T/backup.pem" "$HTTPS_URL/backup-root.pem" || fail "GET /backup-root.pem"
cmp -s "$T/backup.pem" "$D/backup-root.pem" || fail "/backup-root.pem is not the backup root"
tcurl -o "$T/backup.der" "$HTTPS_URL/backup-root.crt" || fail "GET /backup-root.crt"
[ "$(openssl x509 -inform DER -in "$T/backup.der" -noout -fingerprint -sha256 | sed 's/.*=//' | tr -d ':' | tr 'A-F' 'a-f')" = "$BFP" ] ||
	fail "/backup-root.crt is not the backup root"
ok "the onboarding page shows the backup root's fingerprint and links; /backup-root.pem and .crt serve it"

# The policy files carry the bundle's roots, primary first: the Linux
# files are the two roots, Firefox installs both, Windows writes both.
"$LANCA" export policy --dir "$D" --format all --out "$T/policy" >"$T/policy.list" 2>"$T/err" ||
	fail "export policy: $(cat "$T/err")"
[ "$(ls "$T"/policy/linux/lanca-*.crt | wc -l)" -eq 2 ] || fail "export policy linux: not two roots"
for c in "$T"/policy/linux/lanca-*.crt; do fp "$c"; done | sort >"$T/policy.fps"
printf '%s\n%s\n' "$(fp "$ROOT_PEM")" "$BFP" | sort >"$T/want.fps"
cmp -s "$T/policy.fps" "$T/want.fps" || fail "export policy linux: not the primary and backup roots"
[ "$(grep -c 'lanca-' "$T/policy/firefox/policies.json")" -ge 2 ] || fail "firefox: not both roots"
grep -qi "$(openssl x509 -in "$D/backup-root.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')" \
	"$T/policy/windows/windows-install-root.ps1" || fail "windows: no backup root"
ok "lanca export policy writes the trust bundle's roots: primary and backup (linux, firefox, windows)"

# The same files from GET /policy/FORMAT/FILE, on both ports; the type
# tells a phone what to do with a profile; anything else is a 404.
for u in "$HTTPS_URL" "$HTTP_URL"; do
	tcurl -D "$T/pol.h" -o "$T/pol.mc" "$u/policy/apple/lanca.mobileconfig" || fail "GET /policy/apple on $u"
	cmp -s "$T/pol.mc" "$T/policy/apple/lanca.mobileconfig" || fail "/policy/apple is not export policy's"
	grep -qi "^content-type: application/x-apple-aspen-config" "$T/pol.h" || fail "profile's type"
done
code=$(curl -s -o "$T/pol.err" -w '%{http_code}' --cacert "$ROOT_PEM" "$HTTPS_URL/policy/nonesuch/x.json")
[ "$code" = 404 ] && grep -q 'no policy format' "$T/pol.err" || fail "unknown format: $code"
code=$(curl -s -o "$T/pol.err" -w '%{http_code}' --cacert "$ROOT_PEM" "$HTTPS_URL/policy/apple/other.plist")
[ "$code" = 404 ] && grep -q 'has no file' "$T/pol.err" || fail "unknown file: $code"
ok "GET /policy/FORMAT/FILE serves export policy's files on both ports, with their types; unknown formats and files are 404"

# ---- devices refresh their trust ----
GW="https://localhost:$HTTPS_PORT"
"$LANCA" press --dir "$D" >/dev/null || fail "press"
"$ENROLL" enroll --gateway "$GW" --id dev-t --out "$T/dev" --fingerprint "$RFP" --http "$HTTP_URL" \
	--timeout 30 >/dev/null 2>"$T/err" || fail "enroll: $(cat "$T/err")"
cp "$T/dev/root.pem" "$T/root.before"
"$ENROLL" trust refresh --dir "$T/dev" >"$T/out" 2>"$T/err" || fail "trust refresh: $(cat "$T/err")"
grep -q "1 new root trusted" "$T/out" || fail "trust refresh said: $(cat "$T/out")"
fps "$T/dev/trust.pem" >"$T/dev.fps"
[ "$(cat "$T/dev.fps")" = "$(printf '%s\n%s' "$RFP" "$BFP")" ] || fail "trust.pem holds: $(cat "$T/dev.fps")"
cmp -s "$T/dev/root.pem" "$T/root.before" || fail "trust refresh changed root.pem"
"$ENROLL" trust refresh --dir "$T/dev" >"$T/out" 2>"$T/err" || fail "second trust refresh: $(cat "$T/err")"
grep -q "0 new roots trusted" "$T/out" || fail "second trust refresh said: $(cat "$T/out")"
[ "$(fps "$T/dev/trust.pem")" = "$(cat "$T/dev.fps")" ] || fail "a second refresh changed trust.pem"
# Renewal still trusts root.pem, which the refresh left as it was.
"$ENROLL" renew --dir "$T/dev" >/dev/null 2>"$T/err" || fail "renew after trust refresh: $(cat "$T/err")"
ok "lanca-enroll trust refresh adds the vouched-for backup root to trust.pem, keeps root.pem, and is idempotent"

# renew trusts trust.pem when there is one: with an unrelated root there,
# the gateway does not verify, whatever root.pem says; with the gateway's
# roots there, an unrelated root.pem does not matter.
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/unrel.key" \
	-out "$T/unrel.pem" -subj "/O=Elsewhere/OU=Unrelated Root CA" -days 3650 \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null ||
	fail "making an unrelated root"
rm -rf "$T/dev2"
cp -a "$T/dev" "$T/dev2"
cp "$T/unrel.pem" "$T/dev2/trust.pem"
cp "$T/dev2/cert.pem" "$T/cert.before"
st=0
"$ENROLL" renew --dir "$T/dev2" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] || fail "renew with an unrelated root in trust.pem: exit $st $(cat "$T/err")"
cmp -s "$T/dev2/cert.pem" "$T/cert.before" || fail "a failed renew changed cert.pem"
cp "$T/dev/trust.pem" "$T/dev2/trust.pem"
cp "$T/unrel.pem" "$T/dev2/root.pem"
"$ENROLL" renew --dir "$T/dev2" >/dev/null 2>"$T/err" || fail "renew with trust.pem and an unrelated root.pem: $(cat "$T/err")"
cmp -s "$T/dev2/cert.pem" "$T/cert.before" && fail "renew did not replace cert.pem"
ok "lanca-enroll renew trusts trust.pem before root.pem"

mkdir "$T/shdev"
cp "$T/dev/root.pem" "$T/dev/gateway.url" "$T/shdev/"
sh "$ENROLL_SH" trust refresh --dir "$T/shdev" >"$T/out" 2>"$T/err" || fail "sh trust refresh: $(cat "$T/err")"
[ "$(fps "$T/shdev/trust.pem")" = "$(cat "$T/dev.fps")" ] || fail "sh trust.pem holds: $(fps "$T/shdev/trust.pem")"
[ "$(stat -c %a "$T/shdev/trust.pem")" = 644 ] || fail "sh trust.pem mode"
ok "contrib/lanca-enroll.sh trust refresh writes the same trust.pem"

# ---- a tampered bundle, served with the gateway's own certificate ----
# openssl s_server -WWW serves files from its working directory, over TLS
# with the gateway's key: the connection verifies, the bundle does not.
mkdir "$T/www"
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/rogue.key" \
	-out "$T/rogue.pem" -subj "/O=lanca/OU=tb Backup Root CA" -days 3650 \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null ||
	fail "making the rogue root"
# A voucher for the rogue root signed by another untrusted root.
mkca other "Other Root"
openssl x509 -x509toreq -in "$T/rogue.pem" -signkey "$T/rogue.key" -out "$T/rogue.req" 2>/dev/null || fail "rogue request"
printf '%s\n' "basicConstraints=critical,CA:TRUE" "keyUsage=critical,keyCertSign,cRLSign" >"$T/ca.ext"
openssl x509 -req -in "$T/rogue.req" -CA "$T/other.pem" -CAkey "$T/other.key" -set_serial 7 -days 365 \
	-extfile "$T/ca.ext" -out "$T/rogue-cross.pem" 2>/dev/null || fail "rogue voucher"
WWW_PORT=$(free_port)
(cd "$T/www" && exec openssl s_server -quiet -WWW -accept "127.0.0.1:$WWW_PORT" \
	-cert "$D/gateway.pem" -cert_chain "$D/gateway.pem" -key "$D/gateway.key" >"$T/www.log" 2>&1) &
WWW_PID=$!
trap 'kill $WWW_PID 2>/dev/null || true; cleanup' EXIT INT TERM
i=0
until curl -s -o /dev/null --max-time 1 --cacert "$ROOT_PEM" --resolve "localhost:$WWW_PORT:127.0.0.1" \
	"https://localhost:$WWW_PORT/none" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 50 ] || fail "openssl s_server did not start: $(cat "$T/www.log")"; sleep 0.1
done
# The real voucher (the bundle's third certificate), and a forged backup
# root: its name and key, other dates, signed by the rogue key.
tcurl "$HTTPS_URL/trust-bundle.pem" | awk '/BEGIN CERT/ { n++ } n == 3' >"$T/real-cross.pem"
openssl x509 -in "$T/real-cross.pem" -noout 2>/dev/null || fail "no voucher in the bundle"
openssl x509 -in "$D/backup-root.pem" -noout -pubkey >"$T/backup.pub"
# Self-issued (no AKI naming the rogue key), so that it reads as a root.
printf '%s\n' "basicConstraints=critical,CA:TRUE" "keyUsage=critical,keyCertSign,cRLSign" \
	"subjectKeyIdentifier=hash" "authorityKeyIdentifier=none" >"$T/forge.ext"
openssl x509 -in "$D/backup-root.pem" -key "$T/rogue.key" -force_pubkey "$T/backup.pub" -days 90 \
	-clrext -extfile "$T/forge.ext" -out "$T/forged.pem" 2>/dev/null || fail "forging the backup root"
for case in unvouched foreign system forged; do
	why="not vouched for by a root this device trusts"
	case $case in
	unvouched) cat "$ROOT_PEM" "$T/rogue.pem" >"$T/www/trust-bundle.pem" ;;
	foreign | system) cat "$ROOT_PEM" "$T/rogue.pem" "$T/rogue-cross.pem" >"$T/www/trust-bundle.pem" ;;
	forged)
		cat "$ROOT_PEM" "$T/forged.pem" "$T/real-cross.pem" >"$T/www/trust-bundle.pem"
		why="not signed by its own key"
		;;
	esac
	# system: the voucher's issuer is in the system's store (OpenSSL's
	# default file and folder, SSL_CERT_FILE and SSL_CERT_DIR), which must
	# not count.
	sysca=/nonexistent sysdir=/nonexistent
	if [ $case = system ]; then
		sysca="$T/other.pem" sysdir="$T/sysdir"
		mkdir -p "$sysdir"
		cp "$T/other.pem" "$sysdir/$(openssl x509 -hash -noout -in "$T/other.pem").0"
	fi
	for client in c sh; do
		cp "$T/dev/trust.pem" "$T/trust.before"
		st=0
		if [ $client = c ]; then
			SSL_CERT_FILE=$sysca SSL_CERT_DIR=$sysdir "$ENROLL" trust refresh --dir "$T/dev" --gateway "https://localhost:$WWW_PORT" >/dev/null 2>"$T/err" || st=$?
		else
			SSL_CERT_FILE=$sysca SSL_CERT_DIR=$sysdir sh "$ENROLL_SH" trust refresh --dir "$T/dev" --gateway "https://localhost:$WWW_PORT" >/dev/null 2>"$T/err" || st=$?
		fi
		[ $st -eq 1 ] || fail "$client client took a $case bundle: exit $st $(cat "$T/err")"
		grep -q "$why" "$T/err" || fail "$client client, $case bundle: $(cat "$T/err")"
		cmp -s "$T/dev/trust.pem" "$T/trust.before" || fail "$client client changed trust.pem on a $case bundle"
		cmp -s "$T/dev/root.pem" "$T/root.before" || fail "$client client changed root.pem on a $case bundle"
		ls -a "$T/dev" | grep -q '^\.trust\.' && fail "$client client left a temporary directory"
	done
done
ok "a bundle with a root no trusted root vouches for, vouched for by an untrusted root (also one in the system's store), or not signed by its own key, is refused whole by both clients; trust.pem and root.pem stay"

# Hand-made bundles from roots whose keys the test holds: N1 vouched for
# by the backup root (its key, opened with the passphrase), N2 by N1. A
# new root must carry its voucher's root's name constraints: these carry
# the backup root's, copied as DER; U has none and is refused.
NC_HEX=$(openssl asn1parse -in "$D/backup-root.pem" |
	awk '/Name Constraints/ { f = 1; next } f && /OCTET STRING/ { sub(/.*HEX DUMP\]:/, ""); print; exit }')
[ -n "$NC_HEX" ] || fail "the backup root has no name constraints"
# mkroot NAME OU [EXT]: a self-signed root, with extension EXT if given.
mkroot() {
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$1.key" \
		-out "$T/$1.pem" -subj "/O=lanca/OU=$2" -days 3650 \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		${3:+-addext "$3"} 2>/dev/null || fail "making root $1"
}
# vouch ISSUER_PEM ISSUER_KEY ROOT: ISSUER's certificate of ROOT's subject and key.
vouch() {
	openssl x509 -x509toreq -in "$T/$3.pem" -signkey "$T/$3.key" -out "$T/$3.req" 2>/dev/null || fail "request for $3"
	openssl x509 -req -in "$T/$3.req" -CA "$1" -CAkey "$2" -passin file:"$T/bpass" -set_serial "0x$(openssl rand -hex 8)" \
		-days 365 -extfile "$T/ca.ext" -out "$T/$3-voucher.pem" 2>/dev/null || fail "voucher for $3"
}
mkroot n1 "tb Next Root CA" "nameConstraints=critical,DER:$NC_HEX"
mkroot n2 "tb Later Root CA" "nameConstraints=critical,DER:$NC_HEX"
mkroot u "tb Unconstrained Root CA"
vouch "$D/backup-root.pem" "$BK" n1
vouch "$T/n1.pem" "$T/n1.key" n2
vouch "$D/backup-root.pem" "$BK" u
openssl verify -trusted "$D/backup-root.pem" "$T/n1-voucher.pem" >/dev/null 2>&1 || fail "N1's voucher does not verify under the backup root"
NFP1=$(fp "$T/n1.pem")
NFP2=$(fp "$T/n2.pem")
# refresh CLIENT CASE: runs CLIENT's trust refresh against the hand-made
# bundle in a fresh copy of the device ($T/dev-CLIENT-CASE, trusting the
# primary and the backup root); the exit status in $st.
refresh() {
	rm -rf "$T/dev-$1-$2"
	mkdir "$T/dev-$1-$2"
	cp "$T/dev/trust.pem" "$T/dev/root.pem" "$T/dev-$1-$2/"
	st=0
	if [ "$1" = c ]; then
		"$ENROLL" trust refresh --dir "$T/dev-$1-$2" --gateway "https://localhost:$WWW_PORT" >"$T/out" 2>"$T/err" || st=$?
	else
		sh "$ENROLL_SH" trust refresh --dir "$T/dev-$1-$2" --gateway "https://localhost:$WWW_PORT" >"$T/out" 2>"$T/err" || st=$?
	fi
}
for client in c sh; do
	# N2 listed before N1, which vouches for it: a second round takes it.
	cat "$T/n2.pem" "$D/backup-root.pem" "$ROOT_PEM" "$T/n1.pem" "$T/n2-voucher.pem" "$T/n1-voucher.pem" \
		>"$T/www/trust-bundle.pem"
	refresh $client transitive
	[ $st -eq 0 ] || fail "$client client, a transitive bundle: exit $st $(cat "$T/err")"
	[ "$(fps "$T/dev-$client-transitive/trust.pem" | tr '\n' ' ')" = "$NFP2 $BFP $RFP $NFP1 " ] ||
		fail "$client client, a transitive bundle: trust.pem holds $(fps "$T/dev-$client-transitive/trust.pem")"
	grep -q "2 new root.* trusted, 0 dropped, 4 in all" "$T/out" || fail "$client client, a transitive bundle said: $(cat "$T/out")"
	grep -q dropped "$T/err" && fail "$client client said on stderr: $(cat "$T/err")"
	# Without the voucher for N1, neither N1 nor N2 is vouched for.
	cat "$T/n2.pem" "$D/backup-root.pem" "$ROOT_PEM" "$T/n1.pem" "$T/n2-voucher.pem" >"$T/www/trust-bundle.pem"
	refresh $client unvouched
	[ $st -eq 1 ] && grep -q "not vouched for by a root this device trusts" "$T/err" ||
		fail "$client client, N2's voucher without N1's: exit $st $(cat "$T/err")"
	cmp -s "$T/dev-$client-unvouched/trust.pem" "$T/dev/trust.pem" || fail "$client client changed trust.pem on a refused bundle"
	# A root without the constraints of the root that vouches for it:
	# refused, although the backup root's own key signed its voucher.
	cat "$D/backup-root.pem" "$ROOT_PEM" "$T/u.pem" "$T/u-voucher.pem" >"$T/www/trust-bundle.pem"
	refresh $client unconstrained
	[ $st -eq 1 ] && grep -q "not vouched for by a root this device trusts" "$T/err" ||
		fail "$client client, a root without its voucher's constraints: exit $st $(cat "$T/err")"
	cmp -s "$T/dev-$client-unconstrained/trust.pem" "$T/dev/trust.pem" || fail "$client client changed trust.pem on a refused bundle"
	# The primary root no longer listed: dropped, and said so.
	cat "$T/n1.pem" "$D/backup-root.pem" "$T/n1-voucher.pem" >"$T/www/trust-bundle.pem"
	refresh $client drop
	[ $st -eq 0 ] || fail "$client client, a bundle without the primary: exit $st $(cat "$T/err")"
	[ "$(fps "$T/dev-$client-drop/trust.pem" | tr '\n' ' ')" = "$NFP1 $BFP " ] ||
		fail "$client client, a bundle without the primary: trust.pem holds $(fps "$T/dev-$client-drop/trust.pem")"
	[ "$(grep -c "dropped root" "$T/out")" -eq 1 ] && grep -q "dropped root .*tb Root CA.*$RFP" "$T/out" &&
		grep -q "1 new root.* trusted, 1 dropped, 2 in all" "$T/out" ||
		fail "$client client, a bundle without the primary said: $(cat "$T/out")"
	cmp -s "$T/dev-$client-drop/root.pem" "$T/root.before" || fail "$client client changed root.pem"
	# A voucher alone lists no root: refused, nothing dropped.
	cat "$T/real-cross.pem" >"$T/www/trust-bundle.pem"
	refresh $client none
	[ $st -eq 1 ] && grep -q "lists no root" "$T/err" || fail "$client client, a bundle with no root: exit $st $(cat "$T/err")"
	cmp -s "$T/dev-$client-none/trust.pem" "$T/dev/trust.pem" || fail "$client client changed trust.pem on a bundle with no root"
	ls -a "$T/dev-$client-none" | grep -q '^\.trust\.' && fail "$client client left a temporary directory"
done
kill $WWW_PID 2>/dev/null || true
ok "both clients accept a root vouched for by a root accepted in the same refresh (listed after it), still refuse a root nothing leads to or one without its voucher's root's name constraints, drop a root the bundle no longer lists (named with its SHA-256, root.pem kept), and refuse a bundle with no root"

stop_serve || fail "serve exited with an error"

# ---- backup-root create on a state directory without one ----
D2="$T/state2"
"$LANCA" init --dir "$D2" --name old >/dev/null 2>"$T/err" || fail "init without a backup root"
grep -q "no backup root was made" "$T/err" || fail "init without --backup-key-out did not warn: $(cat "$T/err")"
[ ! -e "$D2/backup-root.pem" ] || fail "a backup root without --backup-key-out"
"$LANCA" status --dir "$D2" | grep -q "WARNING: .*no backup root" || fail "status does not warn of a missing backup root"
st=0
"$LANCA" backup-root create --dir "$D2" --backup-key-out "$T/k2.pem" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 2 ] && [ ! -e "$T/k2.pem" ] || fail "create without --backup-pass-file: $st $(cat "$T/err")"
: >"$T/k2.pem"
st=0
"$LANCA" backup-root create --dir "$D2" --backup-key-out "$T/k2.pem" --backup-pass-file "$T/bpass" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "already exists" "$T/err" || fail "create over an existing file: $st $(cat "$T/err")"
[ ! -s "$T/k2.pem" ] || fail "create wrote over an existing file"
rm -f "$T/k2.pem"
st=0
"$LANCA" backup-root create --dir "$D2" --backup-key-out "$D2/keys/backup.key" --backup-pass-file "$T/bpass" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "inside the state directory" "$T/err" && [ ! -e "$D2/keys/backup.key" ] ||
	fail "create with the key inside the state directory: $st $(cat "$T/err")"
"$LANCA" backup-root create --dir "$D2" --backup-key-out "$T/k2.pem" --backup-pass-file "$T/bpass" >"$T/out" 2>"$T/err" ||
	fail "backup-root create: $(cat "$T/err")"
[ "$(openssl pkey -in "$T/k2.pem" -passin file:"$T/bpass" -pubout 2>/dev/null)" = "$(openssl x509 -in "$D2/backup-root.pem" -noout -pubkey)" ] ||
	fail "the created key is not the backup root's"
"$LANCA" backup-root status --dir "$D2" --json | python3 -c 'import json,sys; assert json.load(sys.stdin)["state"] == "unconfirmed"' ||
	fail "backup-root status --json after create"
st=0
"$LANCA" backup-root create --dir "$D2" --backup-key-out "$T/k3.pem" --backup-pass-file "$T/bpass" >/dev/null 2>"$T/err" || st=$?
[ $st -eq 1 ] && grep -q "a backup root exists already" "$T/err" && [ ! -e "$T/k3.pem" ] ||
	fail "a second create: $st $(cat "$T/err")"
ok "backup-root create gives an older state directory its backup root, refuses a second one, an existing key file, a key file in the state directory and no passphrase"
