#!/bin/sh
# t_policy_os.sh - `lanca export policy` for Windows, Apple, Java,
# ChromeOS and Android, beside a running daemon, each file read by the
# programs of its world that Debian has:
#   Registry.pol   python3-samba's NDR parser (PReg v1), round-tripped
#   .reg           decoded from UTF-16LE, its hex Blob split into the
#                  certificate property 0x20 and the root's DER
#   .mobileconfig  plistlib; the --sign form verified by openssl cms
#                  against the root, and refused with one byte flipped
#   .p12           keytool lists the root as a trusted entry; a Java
#                  client trusts the daemon's HTTPS with it and fails
#                  without it; java-install-root.sh imports it into a store
#   .onc, .crt     json + base64, openssl x509 (CA:TRUE)
# Wine is not used (about 1.2 GB; docs/enterprise.md says so).
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3	# Debian's: python3-samba installs there
"$PY" -c 'import samba.dcerpc.preg' 2>/dev/null ||
	fail "python3-samba is not installed for $PY (contrib/debian-deps.sh)"
command -v keytool >/dev/null 2>&1 || fail "no keytool (contrib/debian-deps.sh)"

D="$T/state"
"$LANCA" init --dir "$D" --name pol >/dev/null 2>&1 || fail "init"
ROOT_PEM="$D/root.pem"
openssl x509 -in "$ROOT_PEM" -outform DER -out "$T/root.der" || fail "root DER"
SHA1=$(openssl x509 -in "$ROOT_PEM" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
start_serve "$D"

# --- usage errors name the problem, exit 2
st=0; "$LANCA" export policy --dir "$D" --format nonesuch --out "$T" 2>"$T/err" || st=$?
[ $st -eq 2 ] && grep -q "unknown format \"nonesuch\"" "$T/err" || fail "unknown format: $st $(cat "$T/err")"
: >"$T/afile"
st=0; "$LANCA" export policy --dir "$D" --format windows --out "$T/afile" 2>"$T/err" || st=$?
[ $st -ne 0 ] && grep -q "not a directory" "$T/err" || fail "--out a file: $st"
st=0; "$LANCA" export policy --dir "$D" 2>"$T/err" || st=$?
[ $st -eq 2 ] || fail "no --format: $st"
st=0; "$LANCA" export policy --dir "$D" --format java --sign --out "$T" 2>"$T/err" || st=$?
[ $st -eq 2 ] && grep -q "java format is not signed" "$T/err" || fail "--sign java: $st"
ok "bad arguments refused with exit 2"

"$LANCA" export policy --dir "$D" --format all --out "$T/all" >"$T/list" 2>"$T/err" ||
	fail "export all: $(cat "$T/err")"
for f in windows/windows-root.reg windows/Registry.pol windows/windows-install-root.ps1 \
	apple/lanca.mobileconfig java/lanca-truststore.p12 java/java-install-root.sh \
	chromeos/chromeos-lanca.onc android/android-root-1.crt android/android-README.txt; do
	grep -qx "$T/all/$f" "$T/list" && [ -s "$T/all/$f" ] || fail "export all: no $f"
done
ok "export --format all writes every file, each format in its own folder, and names it"

# The rest reads each format exported on its own, into one folder.
for fmt in windows apple java chromeos android; do
	"$LANCA" export policy --dir "$D" --format $fmt --out "$T/pol" >/dev/null 2>"$T/err" ||
		fail "export $fmt: $(cat "$T/err")"
	cmp -s "$T/pol/$(ls "$T/all/$fmt" | head -1)" "$T/all/$fmt/$(ls "$T/all/$fmt" | head -1)" ||
		fail "export $fmt alone differs from its folder of --format all"
done

# --- Windows: the Blob of both registry forms is property 0x20 + the root
"$PY" - "$T/pol/Registry.pol" "$T/root.der" "$SHA1" <<'PYEOF' || fail "Registry.pol"
import struct, sys
from samba.dcerpc import preg
from samba.ndr import ndr_pack, ndr_unpack
data = open(sys.argv[1], "rb").read()
der = open(sys.argv[2], "rb").read()
# ndr_unpack does not check the signature itself
assert data[:4] == b"PReg", data[:4]
f = ndr_unpack(preg.file, data)
assert f.header.version == 1 and f.num_entries == 1, (f.header.version, f.num_entries)
e = f.entries[0]
want = "Software\\Policies\\Microsoft\\SystemCertificates\\Root\\Certificates\\" + sys.argv[3]
assert e.keyname == want, e.keyname
assert e.valuename == "Blob" and e.type == 3, (e.valuename, e.type)
blob = bytes(e.data)
assert e.size == len(blob)
prop, one, n = struct.unpack("<III", blob[:12])
assert (prop, one, n) == (0x20, 1, len(der)), (prop, one, n)
assert blob[12:] == der
assert ndr_pack(f) == data, "not byte-identical after a round trip"
PYEOF
ok "Registry.pol: samba parses PReg v1, the Blob is the root"

"$PY" - "$T/pol/windows-root.reg" "$T/root.der" "$SHA1" <<'PYEOF' || fail ".reg"
import re, struct, sys
raw = open(sys.argv[1], "rb").read()
der = open(sys.argv[2], "rb").read()
assert raw[:2] == b"\xff\xfe", "no UTF-16LE BOM"
text = raw[2:].decode("utf-16-le")
lines = text.split("\r\n")
assert lines[0] == "Windows Registry Editor Version 5.00" and lines[1] == "", lines[:2]
assert "\n" not in text.replace("\r\n", ""), "bare LF"
key = "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\SystemCertificates\\ROOT\\Certificates\\%s]" % sys.argv[3]
assert lines[2] == key, lines[2]
value = text.split(key + "\r\n", 1)[1]
m = re.match(r'"Blob"=hex:((?:[0-9a-f]{2},(?:\\\r\n  )?)*[0-9a-f]{2})\r\n', value)
assert m, value[:80]
blob = bytes(int(h, 16) for h in m.group(1).replace("\\\r\n  ", "").split(","))
assert max(len(l) for l in m.group(0).split("\r\n")) <= 80, "a hex line past 80 columns"
prop, one, n = struct.unpack("<III", blob[:12])
assert (prop, one, n) == (0x20, 1, len(der)) and blob[12:] == der
PYEOF
ok ".reg: UTF-16LE regedit 5, the Root store key by thumbprint, Blob 0x20 + the root"

# --- Apple: plistlib; then signed and verified
"$PY" - "$T/pol/lanca.mobileconfig" "$T/root.der" <<'PYEOF' || fail "mobileconfig"
import plistlib, sys, uuid
p = plistlib.load(open(sys.argv[1], "rb"))
der = open(sys.argv[2], "rb").read()
assert p["PayloadType"] == "Configuration" and p["PayloadVersion"] == 1, p
assert p["PayloadIdentifier"] and p["PayloadDisplayName"]
roots = [c for c in p["PayloadContent"] if c["PayloadType"] == "com.apple.security.root"]
assert len(roots) == 1 and len(p["PayloadContent"]) == 1
assert roots[0]["PayloadContent"] == der
for u in (p["PayloadUUID"], roots[0]["PayloadUUID"]):
    assert uuid.UUID(u).version == 5, u
PYEOF
mkdir "$T/pol2"
"$LANCA" export policy --dir "$D" --format apple --out "$T/pol2" >/dev/null 2>&1 || fail "again"
cmp -s "$T/pol/lanca.mobileconfig" "$T/pol2/lanca.mobileconfig" || fail "profile not stable"
ok ".mobileconfig: plistlib reads one com.apple.security.root payload, the root's DER, stable UUIDs"

mkdir "$T/signed"
"$LANCA" export policy --dir "$D" --format apple --sign --out "$T/signed" >/dev/null 2>"$T/err" ||
	fail "--sign: $(cat "$T/err")"
openssl cms -verify -binary -inform DER -in "$T/signed/lanca.mobileconfig" -CAfile "$ROOT_PEM" \
	-purpose any -out "$T/signed.plist" 2>"$T/err" || fail "cms -verify: $(cat "$T/err")"
cmp -s "$T/signed.plist" "$T/pol/lanca.mobileconfig" || fail "signed content differs"
# the signer is in the inventory, as every certificate lanca issues
"$LANCA" list --dir "$D" --json | "$PY" -c '
import json, sys
assert any(r["device_id"] == "lanca-profile-signer" for r in json.load(sys.stdin))' ||
	fail "the profile signer is not in the inventory"
"$PY" - "$T/signed/lanca.mobileconfig" "$T/flipped" <<'PYEOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
i = b.find(b"PayloadDisplayName")
b[i] ^= 1
open(sys.argv[2], "wb").write(b)
PYEOF
if openssl cms -verify -binary -inform DER -in "$T/flipped" -CAfile "$ROOT_PEM" -purpose any \
	-out /dev/null 2>/dev/null; then
	fail "a flipped byte verified"
fi
ok "--sign: openssl cms verifies the profile against the root; a flipped byte is refused"

# --- Java: keytool, then a client over the daemon's HTTPS
keytool -list -v -keystore "$T/pol/lanca-truststore.p12" -storepass changeit >"$T/kt" 2>&1 ||
	fail "keytool -list: $(cat "$T/kt")"
grep -q "Your keystore contains 1 entry" "$T/kt" && grep -q "Alias name: lanca-root-1" "$T/kt" &&
	grep -q "Entry type: trustedCertEntry" "$T/kt" || fail "keytool: $(cat "$T/kt")"
FP=$(openssl x509 -in "$ROOT_PEM" -noout -fingerprint -sha256 | sed 's/.*=//')
grep -q "SHA256: $FP" "$T/kt" || fail "keytool: not the root"
ok "keytool lists the root as a trusted certificate entry"

cat >"$T/Client.java" <<'JEOF'
import java.net.URL;
import javax.net.ssl.HttpsURLConnection;

public class Client {
	public static void main(String[] a) throws Exception {
		HttpsURLConnection c = (HttpsURLConnection) new URL(a[0]).openConnection();
		c.setConnectTimeout(10000);
		c.setReadTimeout(10000);
		System.out.println("HTTP " + c.getResponseCode());
	}
}
JEOF
URL="https://localhost:$HTTPS_PORT/api/v1/status"
java -Djava.net.preferIPv4Stack=true -Djavax.net.ssl.trustStore="$T/pol/lanca-truststore.p12" \
	-Djavax.net.ssl.trustStorePassword=changeit -Djavax.net.ssl.trustStoreType=PKCS12 \
	"$T/Client.java" "$URL" >"$T/java.out" 2>&1 || fail "java with the truststore: $(cat "$T/java.out")"
grep -q "HTTP 200" "$T/java.out" || fail "java: $(cat "$T/java.out")"
if java -Djava.net.preferIPv4Stack=true "$T/Client.java" "$URL" >"$T/java.out" 2>&1; then
	fail "java trusted the daemon without the truststore"
fi
grep -q "PKIX path building failed" "$T/java.out" || fail "java without: $(cat "$T/java.out")"
ok "a Java client trusts the daemon's HTTPS with the truststore, and not without it"

STOREPASS=secret1 sh "$T/pol/java-install-root.sh" "$T/app.p12" >"$T/inst" 2>&1 ||
	fail "java-install-root.sh: $(cat "$T/inst")"
keytool -list -keystore "$T/app.p12" -storepass secret1 -alias lanca-root-1 2>&1 |
	grep -q trustedCertEntry || fail "java-install-root.sh did not import the root"
ok "java-install-root.sh imports the roots into a keystore and lists them"

# --- ChromeOS and Android
"$PY" - "$T/pol/chromeos-lanca.onc" "$T/root.der" <<'PYEOF' || fail "onc"
import base64, json, sys
o = json.load(open(sys.argv[1]))
der = open(sys.argv[2], "rb").read()
assert o["Type"] == "UnencryptedConfiguration"
c, = o["Certificates"]
assert c["Type"] == "Authority" and c["TrustBits"] == ["Web"] and c["GUID"]
assert base64.b64decode(c["X509"], validate=True) == der
PYEOF
ok "ONC: one Authority certificate, TrustBits Web, the root's DER"

cmp -s "$T/pol/android-root-1.crt" "$T/root.der" || fail "android .crt is not the root's DER"
openssl x509 -inform DER -in "$T/pol/android-root-1.crt" -noout -text | grep -q "CA:TRUE" ||
	fail "android .crt: no CA:TRUE"
grep -q "android-root-1.crt" "$T/pol/android-README.txt" || fail "android README"
ok "Android .crt: the root's DER, CA:TRUE, with instructions"

stop_serve || fail "serve exit status"
