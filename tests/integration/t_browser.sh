#!/bin/sh
# t_browser.sh - the public page and the admin console in a real browser:
# Debian's chromium driven by playwright-core against the real daemon on
# loopback (tests/browser/t_*.mjs; docs/web.md says what each covers).
#
# Set-up: playwright-core, at the version pinned in tests/browser/
# package-lock.json, is installed with `npm ci` into the build tree the
# first time (the only network use; npm's cache serves later runs).
# Screenshots go to $TOP_BUILDDIR/tests/browser/artifacts (not committed).
. "$(dirname "$0")/lib.sh"

: "${TOP_BUILDDIR:=$(pwd)}"
CHROMIUM=${LANCA_CHROMIUM:-/usr/bin/chromium}
for need in "$CHROMIUM" node npm certutil qrencode; do
	command -v "$need" >/dev/null 2>&1 ||
		fail "$need not found: contrib/debian-deps.sh installs what the browser tests need"
done

# ---- playwright-core, into the build tree ----
NM="$TOP_BUILDDIR/tests/browser"
mkdir -p "$NM"
if ! cmp -s "$TOP_SRCDIR/tests/browser/package-lock.json" "$NM/package-lock.json" ||
	[ ! -f "$NM/node_modules/playwright-core/package.json" ]; then
	cp "$TOP_SRCDIR/tests/browser/package.json" "$TOP_SRCDIR/tests/browser/package-lock.json" "$NM/"
	chmod u+w "$NM/package.json" "$NM/package-lock.json"
	# --ignore-scripts: playwright-core must not download browsers of its own.
	(cd "$NM" && npm ci --prefer-offline --ignore-scripts --no-audit --no-fund) >"$T/npm.log" 2>&1 ||
		fail "npm ci in $NM: $(tail -n 5 "$T/npm.log")"
fi
ok "playwright-core $(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$NM/node_modules/playwright-core/package.json") in $NM"

# ---- the daemon, an admin, and two browser homes ----
D="$T/state"
PW='Br0wser-test:phrase-2b9e41'
printf 'Browser-backup pass:phrase-5d2a\n' >"$T/bpass"
chmod 600 "$T/bpass"
"$LANCA" init --dir "$D" --name browsergw --backup-key-out "$T/backup.key" \
	--backup-pass-file "$T/bpass" >/dev/null 2>&1 || fail "init"
ROOT_PEM="$D/root.pem"
printf '%s\n' "$PW" >"$T/pw"
"$LANCA" admin passwd admin --dir "$D" --password-file "$T/pw" >/dev/null 2>&1 || fail "admin passwd"
start_serve "$D" --enroll-burst 1000 --enroll-rate 1000

# A fresh home: no store of its own. A trusting one: the root in its NSS
# store (~/.pki/nssdb), which is where chromium on Linux looks.
mkdir -p "$T/home-fresh" "$T/home-trusted/.pki/nssdb"
certutil -N -d "sql:$T/home-trusted/.pki/nssdb" --empty-password || fail "certutil -N"
certutil -A -d "sql:$T/home-trusted/.pki/nssdb" -t "C,," -n lanca-test-root -i "$ROOT_PEM" ||
	fail "certutil -A"
ok "the root added to the trusting profile's NSS store"

ART="$TOP_BUILDDIR/tests/browser/artifacts"
rm -rf "$ART"
LANCA_NODE_MODULES=$NM LANCA_HTTP_URL="http://127.0.0.1:$HTTP_PORT" \
LANCA_HTTPS_URL="https://127.0.0.1:$HTTPS_PORT" LANCA_ROOT_PEM=$ROOT_PEM LANCA_BACKUP_PEM="$D/backup-root.pem" LANCA_STATE=$D \
LANCA_ADMIN_USER=admin LANCA_ADMIN_PASSWORD=$PW \
LANCA_ARTIFACTS=$ART LANCA_TMP=$T LANCA_CHROMIUM=$CHROMIUM
export LANCA LANCA_NODE_MODULES LANCA_HTTP_URL LANCA_HTTPS_URL LANCA_ROOT_PEM LANCA_BACKUP_PEM LANCA_STATE \
	LANCA_ENROLL LANCA_ADMIN_USER LANCA_ADMIN_PASSWORD LANCA_ARTIFACTS LANCA_TMP LANCA_CHROMIUM

for t in "$TOP_SRCDIR"/tests/browser/t_*.mjs; do
	name=$(basename "$t" .mjs)
	node "$t" >"$T/$name.out" 2>&1 || { cat "$T/$name.out" >&2; fail "$name"; }
	sed 's/^/    /' "$T/$name.out"
	ok "$name"
done
stop_serve || fail "serve did not stop cleanly"

# ---- scheduled backups that start failing: the console's warning ----
# (scheduled backups copy lanca.db: serve refuses --backup-dir on PostgreSQL.)
if on_postgresql; then
	echo "# SKIP (LANCA_TEST_STORE=postgresql): backup_warning"
else
	mkdir "$T/backups"
	start_serve "$D" --backup-dir "$T/backups" --backup-passphrase-file "$T/bpass" --backup-every 5s
	LANCA_HTTP_URL="http://127.0.0.1:$HTTP_PORT" LANCA_HTTPS_URL="https://127.0.0.1:$HTTPS_PORT" \
	LANCA_BACKUP_DIR="$T/backups"
	export LANCA_HTTP_URL LANCA_HTTPS_URL LANCA_BACKUP_DIR
	node "$TOP_SRCDIR/tests/browser/backup_warning.mjs" >"$T/backup_warning.out" 2>&1 ||
		{ cat "$T/backup_warning.out" >&2; fail "backup_warning"; }
	sed 's/^/    /' "$T/backup_warning.out"
	ok "backup_warning"
	stop_serve || fail "serve did not stop cleanly (backups)"
fi

# ---- the first visit, on a gateway with no administrator yet ----
D2="$T/state2"
"$LANCA" init --dir "$D2" --name firstgw >"$T/init2.out" 2>&1 || fail "init 2"
LANCA_SETUP_CODE=$(sed -n 's/^setup code: //p' "$T/init2.out")
[ -n "$LANCA_SETUP_CODE" ] || fail "lanca init printed no setup code: $(cat "$T/init2.out")"
# The trusting profile knows the first gateway's root only: add this one's.
certutil -A -d "sql:$T/home-trusted/.pki/nssdb" -t "C,," -n lanca-test-root-2 -i "$D2/root.pem" ||
	fail "certutil -A (second root)"
start_serve "$D2"
LANCA_HTTP_URL="http://127.0.0.1:$HTTP_PORT" LANCA_HTTPS_URL="https://127.0.0.1:$HTTPS_PORT" \
LANCA_STATE=$D2 LANCA_ROOT_PEM="$D2/root.pem"
export LANCA_HTTP_URL LANCA_HTTPS_URL LANCA_STATE LANCA_ROOT_PEM LANCA_SETUP_CODE
node "$TOP_SRCDIR/tests/browser/setup_flow.mjs" >"$T/setup_flow.out" 2>&1 ||
	{ cat "$T/setup_flow.out" >&2; fail "setup_flow"; }
sed 's/^/    /' "$T/setup_flow.out"
ok "setup_flow"
stop_serve || fail "serve 2 did not stop cleanly"
ok "screenshots in $ART"
echo "t_browser: $n_ok passed, 0 failed"
