#!/bin/sh
# debian-deps.sh - install what lanca needs to build, test and run on
# Debian 12 (bookworm).
#
# Runs apt-get only when at least one package is missing, so that CI re-runs
# are fast and work without a network. Needs root; a non-root user goes
# through sudo.
set -eu

PACKAGES="build-essential autoconf automake autoconf-archive pkg-config
libgnutls28-dev libmicrohttpd-dev libsqlite3-dev libsodium-dev
libjansson-dev libtasn1-6-dev check gnutls-bin openssl curl sqlite3 python3 faketime
libcsv-dev ca-certificates libqrencode-dev python3-prometheus-client
qrencode chromium libnss3-tools nodejs
firefox-esr
p11-kit-modules"
# firefox-esr: tests/integration/t_policy_browsers.sh loads the daemon's page
# with the exported policies.json. p11-kit-modules: the same test, Firefox
# reading the Linux installer's store through p11-kit-trust.so.
# tests/integration/t_policy_os.sh: python3-samba (about 22 MB) parses the
# Group Policy Registry.pol; keytool and `java Client.java` (single-file
# source launch needs the JDK's compiler, so the -jdk-headless package,
# about 270 MB with the JRE) read the Java truststore and use it over HTTPS.
PACKAGES="$PACKAGES python3-samba"
PACKAGES="$PACKAGES openjdk-17-jdk-headless"
# tests/integration/t_hosts.sh: dnsmasq (the binary without the service
# that would take port 53) answers the exported names, dig asks it.
PACKAGES="$PACKAGES dnsmasq-base"
PACKAGES="$PACKAGES bind9-dnsutils"
# tests/integration/t_disk.sh: fiu-run and fiu-ctrl (fiu-utils) make the
# daemon's writes fail with ENOSPC, EIO or EROFS while it runs, through
# libfiu's POSIX preload library (libfiu0, which fiu-utils pulls in; no
# code links libfiu, so libfiu-dev is not needed).
PACKAGES="$PACKAGES fiu-utils"
# tests/integration/t_client_pkcs11.sh: lanca-enroll keeps the device key in a
# SoftHSM2 token (p11tool, which inspects it, is gnutls-bin's, above).
PACKAGES="$PACKAGES softhsm2"
# The ACME tests (tests/integration/t_netns.sh and the ACME server's tests):
# the daemon and the client each in a network namespace of the test's own
# (ip netns, iproute2), and Debian's own unmodified ACME clients against the
# daemon: certbot 2.1 (Python), lego 4.9 (Go), uacme 1.7 (C, libcurl-gnutls)
# and dehydrated 0.7 (bash, curl).
PACKAGES="$PACKAGES iproute2 certbot lego uacme dehydrated"
# make check-valgrind (and its subset in tests/run-all.sh): memcheck.
PACKAGES="$PACKAGES valgrind"
# The signer's system-call filter (src/signer/sandbox.c) builds with libseccomp.
PACKAGES="$PACKAGES libseccomp-dev"
# tests/integration/t_sandbox.sh makes the running signer call socket() through gdb.
PACKAGES="$PACKAGES gdb"
# The store on a PostgreSQL server (issue 16): libpq-dev is PostgreSQL's own
# client library, which the store's PostgreSQL driver links (configure
# builds it in when it finds libpq). postgresql (15 on bookworm) is for the
# tests only: tests/integration/pg.sh starts a server of each test's own
# with its initdb and pg_ctl (the package's cluster, which Debian starts on
# port 5432, is not used), and psql (postgresql-client, which it pulls in)
# looks into it.
PACKAGES="$PACKAGES libpq-dev postgresql"
# The browser tests (tests/integration/t_browser.sh) install playwright-core
# with npm. Debian's nodejs comes without it; a nodejs that bundles its own
# npm (NodeSource's) conflicts with Debian's npm package, so ask for it only
# when there is no npm at all.
if ! command -v npm >/dev/null 2>&1; then
	PACKAGES="$PACKAGES npm"
fi

# "ii" in dpkg's abbreviated status means wanted "install" and installed.
missing=""
for p in $PACKAGES; do
	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	case "$status" in
	ii*) ;;
	*) missing="$missing $p" ;;
	esac
done

if [ -z "$missing" ]; then
	echo "debian-deps: all build and test packages are installed"
	exit 0
fi
echo "debian-deps: installing:$missing"

if [ "$(id -u)" -eq 0 ]; then
	as_root=""
elif command -v sudo >/dev/null 2>&1; then
	as_root="sudo"
else
	echo "debian-deps: not root and sudo not found; run as root:" >&2
	echo "  apt-get install$missing" >&2
	exit 1
fi

# Only the missing packages are named, so nothing installed is upgraded.
$as_root apt-get update
# shellcheck disable=SC2086 # $missing is a list of package names
$as_root env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y --no-install-recommends $missing
