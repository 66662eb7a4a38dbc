#!/bin/sh
# demo.sh - build lanca and run a demo CA on this machine's loopback.
#
# Installs the Debian packages (a no-op when present), builds in the source
# tree, creates a demo CA in ./demo on first use, prints the root's
# fingerprint and the URLs, then runs `lanca serve` in the foreground on
# 127.0.0.1:8443 (HTTPS) and 127.0.0.1:8080 (HTTP). Ctrl-C stops it.
set -eu

cd "$(dirname "$0")/.."

sh contrib/debian-deps.sh
autoreconf -fi
./configure
make -j2

if [ ! -f demo/lanca.db ]; then
	echo "demo: creating a demo CA in ./demo"
	src/lanca init --dir ./demo --name demo --san localhost
fi

echo
src/lanca status --dir ./demo
echo
echo "HTTPS: https://localhost:8443  (onboarding page, API)"
echo "HTTP:  http://localhost:8080   (root download: http://localhost:8080/ca.crt)"
echo "Compare the root's SHA-256 fingerprint above with what a client downloads."
echo

exec src/lanca serve --dir ./demo --https 127.0.0.1:8443 --http 127.0.0.1:8080 --web-dir ./web
