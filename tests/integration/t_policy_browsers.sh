#!/bin/sh
# t_policy_browsers.sh - `lanca export policy` proven in the clients it is
# for, against the real daemon on loopback: the Linux installer fills a
# system store (a temporary tree) that curl then trusts; Debian's
# firefox-esr and chromium, headless with fresh profiles, load the
# daemon's page with the exported policy in place and refuse it without.
#
# The browsers read their policies from fixed system folders
# (/usr/lib/firefox-esr/distribution, /etc/chromium/policies; p11-kit from
# /etc/ssl/certs). Each browser runs in a mount namespace of its own
# (unshare -m) where a test folder is bound over those, so the machine's
# folders and trust store are never touched. How each was found to work:
# shared/policy-formats.md sections 1-3.
. "$(dirname "$0")/lib.sh"

CHROMIUM=${LANCA_CHROMIUM:-/usr/bin/chromium}
FIREFOX=${LANCA_FIREFOX:-firefox-esr}
P11KIT_TRUST=/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-trust.so
for need in "$CHROMIUM" "$FIREFOX" update-ca-certificates curl unshare; do
	command -v "$need" >/dev/null 2>&1 ||
		fail "$need not found: contrib/debian-deps.sh installs what this test needs"
done
[ -d /etc/chromium ] || fail "/etc/chromium not found: Debian's chromium package makes it"
[ -d /usr/lib/firefox-esr/distribution ] ||
	fail "/usr/lib/firefox-esr/distribution not found: Debian's firefox-esr package makes it"
[ -f "$P11KIT_TRUST" ] || fail "$P11KIT_TRUST not found: contrib/debian-deps.sh installs p11-kit-modules"
if ! unshare -m true 2>/dev/null; then
	echo "SKIP: no mount namespace here (unshare -m needs root or CAP_SYS_ADMIN)"
	exit 77
fi

D="$T/state"
"$LANCA" init --dir "$D" --name policygw >/dev/null 2>&1 || fail "init"
ROOT_PEM="$D/root.pem"
start_serve "$D"
URL="https://localhost:$HTTPS_PORT/"

# ---- the files ----
"$LANCA" export policy --dir "$D" --format all --out "$T/pol" >"$T/export.out" 2>&1 ||
	fail "export policy --format all: $(cat "$T/export.out")"
CRT=$(basename "$(ls "$T"/pol/linux/lanca-*.crt)")
for f in linux/"$CRT" linux/install-lanca-roots.sh firefox/"$CRT" firefox/policies.json \
	firefox/policies-linux.json chrome/lanca.json chrome/lanca-unconstrained.json; do
	[ -s "$T/pol/$f" ] || fail "export policy --format all wrote no $f"
done
[ -x "$T/pol/linux/install-lanca-roots.sh" ] || fail "the installer is not executable"
ok "export policy --format all: linux/, firefox/ and chrome/ ($CRT)"

# Bad input: named, with usage's exit 2 and nothing written; no CA: exit 1.
st=0
"$LANCA" export policy --dir "$D" --format nope --out "$T/nope" 2>"$T/nope.err" || st=$?
[ $st -eq 2 ] && grep -q 'unknown format "nope"' "$T/nope.err" && [ ! -e "$T/nope" ] ||
	fail "export policy --format nope: exit $st, $(cat "$T/nope.err")"
st=0
"$LANCA" export policy --dir "$D" --out "$T/nope" 2>"$T/nope.err" || st=$?
[ $st -eq 2 ] && grep -q 'usage: lanca export policy' "$T/nope.err" ||
	fail "export policy without --format: exit $st"
st=0
"$LANCA" export policy --dir "$T/no-such-state" --format chrome --out "$T/nope" 2>"$T/nope.err" || st=$?
[ $st -eq 1 ] && [ ! -e "$T/nope" ] || fail "export policy without a CA: exit $st, $(cat "$T/nope.err")"
ok "export policy: an unknown format or none exits 2, a directory without a CA exits 1, nothing written"

# ---- Linux: the installer into a temporary system tree, then curl ----
S="$T/sys"
mkdir -p "$S/etc/ssl/certs" "$S/usr/share/ca-certificates" "$S/usr/local/share/ca-certificates" \
	"$S/etc/ca-certificates/update.d"
echo '# empty' >"$S/etc/ca-certificates.conf"
# Negative control first: the machine's own store does not know the root.
st=0
curl -s -o /dev/null --max-time 10 --resolve "localhost:$HTTPS_PORT:127.0.0.1" \
	--cacert /etc/ssl/certs/ca-certificates.crt "$URL" || st=$?
[ $st -eq 60 ] || fail "curl with the machine's bundle: exit $st, want 60 (certificate not trusted)"
sh "$T/pol/linux/install-lanca-roots.sh" --root "$S" >"$T/install.out" 2>&1 ||
	fail "install-lanca-roots.sh --root: $(cat "$T/install.out")"
grep -q "1 root(s) in $S/usr/local/share/ca-certificates" "$T/install.out" ||
	fail "the installer did not take the Debian folder: $(cat "$T/install.out")"
cmp -s "$S/usr/local/share/ca-certificates/$CRT" "$ROOT_PEM" ||
	fail "the installed $CRT is not the root's PEM"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --resolve "localhost:$HTTPS_PORT:127.0.0.1" \
	--cacert "$S/etc/ssl/certs/ca-certificates.crt" "$URL") || fail "curl with the installed bundle"
[ "$code" = 200 ] || fail "curl with the installed bundle: HTTP $code"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --resolve "localhost:$HTTPS_PORT:127.0.0.1" \
	--capath "$S/etc/ssl/certs" "$URL") || fail "curl with the hashed folder"
[ "$code" = 200 ] || fail "curl with the hashed folder: HTTP $code"
ok "linux: the installer's store is trusted by curl (bundle and hashed folder); the machine's is not"

# An unknown layout is refused, not guessed at.
mkdir -p "$T/bare"
st=0
sh "$T/pol/linux/install-lanca-roots.sh" --root "$T/bare" >"$T/bare.out" 2>&1 || st=$?
[ $st -eq 1 ] && grep -q "no CA anchor folder" "$T/bare.out" ||
	fail "installer on a tree with no anchor folder: exit $st, $(cat "$T/bare.out")"
ok "linux: a tree without a known anchor folder is refused"

# ---- Firefox: the distribution folder bound to one holding the policy ----
# firefox_load NAME DISTDIR SECS [CERTSDIR]: a fresh profile screenshots
# the page; with CERTSDIR bound over /etc/ssl/certs (the Linux installer's
# store, read through p11-kit). Exit 0 and a PNG when the page loaded; an
# untrusted page never finishes, so timeout ends it (124).
firefox_load() {
	mkdir -p "$T/$1.home" "$T/$1.profile" "$T/empty"
	HOME="$T/$1.home" unshare -m sh -c 'mount --bind "$1" /usr/lib/firefox-esr/distribution &&
		if [ -n "$2" ]; then mount --bind "$2" /etc/ssl/certs; fi &&
		if [ -d /etc/firefox ]; then mount --bind "$3" /etc/firefox; fi && shift 3 && exec "$@"' \
		sh "$2" "${4:-}" "$T/empty" timeout "$3" "$FIREFOX" --headless --no-remote \
		--profile "$T/$1.profile" --screenshot "$T/$1.png" --window-size=800,200 "$URL" \
		>"$T/$1.out" 2>&1
}

# An untrusted page never loads: this run only ends at its timeout, so it
# runs beside chromium's.
mkdir -p "$T/ff-none"
(firefox_load ff-none "$T/ff-none" 20 "$S/etc/ssl/certs" && echo 0 >"$T/ff-none.rc" ||
	echo $? >"$T/ff-none.rc") &
FF_NONE_PID=$!

# ---- Chromium: /etc/chromium bound to a folder holding the policy ----
# chromium_load NAME POLICYFILE|- URL: a fresh profile loads URL with only
# that managed policy; leaves the DOM in $T/NAME.dom, stderr in $T/NAME.err.
chromium_load() {
	mkdir -p "$T/$1.etc/policies/managed" "$T/$1.home" "$T/$1.profile"
	cp /etc/chromium/* "$T/$1.etc/" 2>/dev/null || true
	[ "$2" = - ] || cp "$2" "$T/$1.etc/policies/managed/"
	HOME="$T/$1.home" unshare -m sh -c 'mount --bind "$1" /etc/chromium && shift &&
		exec timeout 60 "$@"' sh "$T/$1.etc" "$CHROMIUM" --headless --no-sandbox --disable-gpu \
		--user-data-dir="$T/$1.profile" --dump-dom "$3" >"$T/$1.dom" 2>"$T/$1.err" || true
}
page_loaded() {
	grep -q "<title>policygw: trust this network" "$1"
}

chromium_load chr-none - "$URL"
! page_loaded "$T/chr-none.dom" && grep -q 'net::ERR_CERT_AUTHORITY_INVALID' "$T/chr-none.err" ||
	fail "chromium without a policy: $(tail -n 3 "$T/chr-none.err")"
chromium_load chr-cons "$T/pol/chrome/lanca.json" "$URL"
page_loaded "$T/chr-cons.dom" || fail "chromium with lanca.json (localhost): $(tail -n 3 "$T/chr-cons.err")"
# The gateway by address: the permitted_cidrs path of the constraints.
chromium_load chr-ip "$T/pol/chrome/lanca.json" "https://127.0.0.1:$HTTPS_PORT/"
page_loaded "$T/chr-ip.dom" || fail "chromium with lanca.json (127.0.0.1): $(tail -n 3 "$T/chr-ip.err")"
chromium_load chr-plain "$T/pol/chrome/lanca-unconstrained.json" "$URL"
page_loaded "$T/chr-plain.dom" ||
	fail "chromium with lanca-unconstrained.json: $(tail -n 3 "$T/chr-plain.err")"
ok "chromium: lanca.json (by name and by address) and lanca-unconstrained.json load the page; without them ERR_CERT_AUTHORITY_INVALID"

# ---- Firefox ----
# Without a policy (started before chromium's runs: it waits out its 20 s
# meanwhile), even with the installer's store at /etc/ssl/certs.
wait "$FF_NONE_PID" || true
st=$(cat "$T/ff-none.rc")
[ "$st" -eq 124 ] && [ ! -s "$T/ff-none.png" ] ||
	fail "firefox without a policy: exit $st (want 124, the untrusted page never loads)"
# policies.json with the root in the distribution's certificates folder.
mkdir -p "$T/ff-install/certificates"
cp "$T/pol/firefox/policies.json" "$T/ff-install/"
cp "$T/pol/firefox/$CRT" "$T/ff-install/certificates/"
st=0
firefox_load ff-install "$T/ff-install" 60 || st=$?
[ $st -eq 0 ] && [ -s "$T/ff-install.png" ] ||
	fail "firefox with policies.json: exit $st: $(tail -n 3 "$T/ff-install.out")"
# policies-linux.json without the file Install names: the root comes only
# through p11-kit from the store the Linux installer filled.
mkdir -p "$T/ff-p11"
cp "$T/pol/firefox/policies-linux.json" "$T/ff-p11/policies.json"
st=0
firefox_load ff-p11 "$T/ff-p11" 60 "$S/etc/ssl/certs" || st=$?
[ $st -eq 0 ] && [ -s "$T/ff-p11.png" ] ||
	fail "firefox with policies-linux.json and the installed store: exit $st: $(tail -n 3 "$T/ff-p11.out")"
ok "firefox: policies.json (Install) and policies-linux.json (p11-kit) load the page; without them it never loads"

stop_serve || fail "serve did not stop cleanly"
