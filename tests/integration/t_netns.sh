#!/bin/sh
# t_netns.sh - the network-namespace harness of lib.sh that the ACME tests
# stand on (netns_pair, netns_hosts, start_serve_netns, start_webroot,
# start_ualpn, cl_trusting): the daemon in the gateway's namespace answers
# the client's namespace over HTTPS verified with its root, the gateway's
# namespace resolves the client's name from its own hosts file, connections
# from there reach the client's http-01 web server and tls-alpn-01
# responder, and a test that fails leaves nothing behind. Root
# only (skipped otherwise); the host's interfaces and routes are not touched.
# On PostgreSQL (make check-postgresql) the daemon, in a network namespace
# of its own, reaches the test's database over its Unix socket (pg.sh).
PG_URL_VIA=socket
export PG_URL_VIA
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"

netns_pair
in_gw ip -o addr show dev veth-gw | grep -q " $GW_IP/30 " || fail "$GW_IP is not on $GW_NS's veth"
in_cl ip -o addr show dev veth-cl | grep -q " $CL_IP/30 " || fail "$CL_IP is not on $CL_NS's veth"
case "$GW_IP" in 10.*) ;; *) fail "GW_IP $GW_IP is not in 10.0.0.0/8" ;; esac
# Read only: the host has neither address nor either end of the pair.
! ip -o addr show | grep -q -e " $GW_IP/" -e " $CL_IP/" || fail "an address of the pair is on the host"
! ip -o link show | grep -q -e ' veth-gw@' -e ' veth-cl@' || fail "an end of the pair is on the host"
ok "netns_pair: $GW_NS ($GW_IP) and $CL_NS ($CL_IP) joined by a veth pair the host does not see"

# The daemon, started in the gateway's namespace, its certificate for GW_IP.
D="$T/state"
"$LANCA" init --dir "$D" --name netns --san "$GW_IP" >/dev/null || fail "init --san $GW_IP"
if on_postgresql; then
	grep -q '^postgresql://lanca:[^@]*@/lanca_[0-9]*?host=/' "$D/store.url" ||
		fail "the store is not reached over the server's Unix socket"
fi
start_serve_netns "$D"
[ "$(readlink "/proc/$SERVE_PID/ns/net")" = "$(in_gw readlink /proc/self/ns/net)" ] ||
	fail "SERVE_PID $SERVE_PID is not in $GW_NS"
tr '\0' ' ' <"/proc/$SERVE_PID/cmdline" | grep -q " serve --dir $D " ||
	fail "SERVE_PID $SERVE_PID is not lanca serve: $(tr '\0' ' ' <"/proc/$SERVE_PID/cmdline")"
cl_curl -o "$T/status.json" "$HTTPS_URL/api/v1/status" || fail "status from $CL_NS with --cacert"
python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["root"]["sha256"]' "$T/status.json" ||
	fail "status JSON: $(cat "$T/status.json")"
cl_curl -o "$T/ca.pem" "$HTTP_URL/ca.pem" && cmp -s "$T/ca.pem" "$ACME_CA" ||
	fail "/ca.pem over plain HTTP from $CL_NS is not $ACME_CA"
st=0
in_cl curl -s -o /dev/null --max-time 10 "$HTTPS_URL/api/v1/status" || st=$?
[ $st -eq 60 ] || fail "curl without the root: exit $st, not 60 (certificate not verified)"
ok "start_serve_netns: the daemon (pid $SERVE_PID, in $GW_NS) answers $CL_NS at $HTTPS_URL, verified with its root alone"

bundle=/etc/ssl/certs/ca-certificates.crt
sum=$(cksum <"$bundle")
cl_trusting "$ACME_CA" curl -s -o /dev/null --max-time 10 "$HTTPS_URL/api/v1/status" ||
	fail "curl under cl_trusting (the root as the system bundle) in $CL_NS"
[ "$(cksum <"$bundle")" = "$sum" ] || fail "cl_trusting changed the host's $bundle"
! grep -q " $bundle " /proc/self/mountinfo || fail "cl_trusting's mount reached the host"
ok "cl_trusting: a client using the system bundle trusts the root in $CL_NS, the host's bundle untouched"

# The gateway's namespace resolves the client's name through its own hosts
# file, also in a process started before netns_hosts wrote it (the daemon
# is started before a test names its clients).
mkfifo "$T/go"
ip netns exec "$GW_NS" python3 -c '
import socket, sys
print("started", flush=True)
open(sys.argv[1]).readline()
print(socket.getaddrinfo("nas.home.arpa", 80, socket.AF_INET, socket.SOCK_STREAM)[0][4][0])
' "$T/go" >"$T/early.out" 2>&1 &
early=$!
bg_track $early
i=0
until grep -q started "$T/early.out"; do
	[ $i -lt 100 ] || fail "the early resolver did not start: $(cat "$T/early.out")"
	sleep 0.1
	i=$((i + 1))
done
netns_hosts "$GW_NS" "$CL_IP nas.home.arpa nas" "$CL_IP 2.device.home.arpa"
echo go >"$T/go"
wait $early || fail "getaddrinfo in a process started before netns_hosts: $(cat "$T/early.out")"
[ "$(sed -n 2p "$T/early.out")" = "$CL_IP" ] || fail "early resolver got $(cat "$T/early.out")"
[ "$(in_gw getent ahostsv4 nas.home.arpa | awk 'NR == 1 { print $1 }')" = "$CL_IP" ] ||
	fail "getent in $GW_NS: $(in_gw getent ahostsv4 nas.home.arpa)"
[ "$(in_gw getent hosts 2.device.home.arpa | awk '{ print $1 }')" = "$CL_IP" ] ||
	fail "second name in $GW_NS"
! in_cl getent hosts nas.home.arpa >/dev/null || fail "$CL_NS resolves the name written for $GW_NS"
[ "$(getent hosts nas.home.arpa | awk '{ print $1 }')" != "$CL_IP" ] ||
	fail "the host resolves the name written for $GW_NS"
ok "netns_hosts: $GW_NS resolves nas.home.arpa to $CL_IP (getaddrinfo, also in a process already running); $CL_NS and the host do not"

# A connection from the gateway's namespace, by the client's name, fetches
# a file from the client's web server: the path an http-01 check takes.
start_webroot "$T/www"
tok=tok_$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
printf '%s.thumbprint' "$tok" >"$T/www/.well-known/acme-challenge/$tok"
in_gw curl -s --max-time 10 -o "$T/got" "http://nas.home.arpa/.well-known/acme-challenge/$tok" ||
	fail "GET from $GW_NS to http://nas.home.arpa/"
[ "$(cat "$T/got")" = "$tok.thumbprint" ] || fail "the gateway fetched: $(cat "$T/got")"
grep -q "^$GW_IP .*\"GET /.well-known/acme-challenge/$tok HTTP/1.1\" 200" "$T/web-80.log" ||
	fail "the web server did not log the gateway's GET: $(cat "$T/web-80.log")"
st=0
in_gw curl -s --max-time 10 -o /dev/null "http://nas.home.arpa:81/" || st=$?
[ $st -eq 7 ] || fail "a closed port on the client: curl exit $st, not 7"
ok "start_webroot: $GW_NS fetches http://nas.home.arpa/.well-known/acme-challenge/TOKEN from $CL_IP:80 (logged as from $GW_IP)"

# The same for tls-alpn-01 (RFC 8737) through ualpn, uacme's responder, as
# acme-hook.sh drives it: from the gateway's namespace, a TLS connection to
# the client's name on 443 asking for acme-tls/1 gets the certificate with
# the key authorization's digest in its critical acmeIdentifier extension.
if command -v ualpn >/dev/null 2>&1; then
	start_ualpn
	dig=$(printf '%s.thumbprint' "$tok" | openssl dgst -sha256 -binary | od -An -tx1 | tr -d ' \n')
	auth=$(printf '%s.thumbprint' "$tok" | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '=')
	in_cl env UALPN_SOCK="$UALPN_SOCK" "$TOP_SRCDIR/tests/integration/acme-hook.sh" \
		begin tls-alpn-01 nas.home.arpa "$tok" "$auth" || fail "acme-hook.sh begin tls-alpn-01: $(cat "$T/ualpn.log")"
	# ualpn closes the connection after the handshake: s_client's status
	# says nothing, what it printed does. ualpn makes the certificate after
	# `begin` has returned: a handshake that comes first (a loaded machine)
	# is passed on to the fallback port and closed, so it is asked again
	# (5 times at most).
	n=0
	while :; do
		echo | in_gw openssl s_client -connect nas.home.arpa:443 -servername nas.home.arpa \
			-alpn acme-tls/1 >"$T/alpn.txt" 2>&1 || true
		n=$((n + 1))
		grep -q "^ALPN protocol: acme-tls/1" "$T/alpn.txt" || [ $n -ge 5 ] || { sleep 1; continue; }
		break
	done
	grep -q "^ALPN protocol: acme-tls/1" "$T/alpn.txt" || fail "no acme-tls/1: $(cat "$T/alpn.txt")"
	sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' "$T/alpn.txt" >"$T/alpn.pem"
	openssl asn1parse -in "$T/alpn.pem" >"$T/alpn.asn1" || fail "no certificate from ualpn: $(cat "$T/alpn.txt")"
	grep -A2 ":id-pe-acmeIdentifier\|:1.3.6.1.5.5.7.1.31" "$T/alpn.asn1" | tr 'A-F' 'a-f' | grep -q "0420$dig" ||
		fail "the acmeIdentifier extension does not hold the digest: $(cat "$T/alpn.asn1")"
	in_cl env UALPN_SOCK="$UALPN_SOCK" "$TOP_SRCDIR/tests/integration/acme-hook.sh" \
		"done" tls-alpn-01 nas.home.arpa "$tok" "$auth" || fail "acme-hook.sh done tls-alpn-01"
	ok "start_ualpn: $GW_NS gets the tls-alpn-01 certificate for nas.home.arpa from $CL_IP:443 (ALPN acme-tls/1, acmeIdentifier = SHA-256 of the key authorization)"
else
	echo "# ualpn not installed (Debian: uacme): the tls-alpn-01 path is not checked"
fi

# A test that fails with a web server still running leaves no namespace,
# no /etc/netns entry and no process behind.
cat >"$T/child.sh" <<EOF
. "$TOP_SRCDIR/tests/integration/lib.sh"
netns_pair
start_webroot "\$T/www"
echo "\$GW_NS \$CL_NS \$WEB_PID \$T" >"$T/child.made"
fail "failing on purpose"
EOF
st=0
sh "$T/child.sh" >"$T/child.out" 2>&1 || st=$?
[ $st -eq 1 ] || fail "the failing child: exit $st: $(cat "$T/child.out")"
read -r cgw ccl cweb ct <"$T/child.made" || fail "the child made nothing: $(cat "$T/child.out")"
[ "$cgw" != "$GW_NS" ] || fail "the child had our namespace names"
for ns in "$cgw" "$ccl"; do
	[ ! -e "/run/netns/$ns" ] || fail "$ns left behind"
	[ ! -e "/etc/netns/$ns" ] || fail "/etc/netns/$ns left behind"
done
! kill -0 "$cweb" 2>/dev/null || fail "the child's web server $cweb still runs"
[ ! -e "$ct" ] || fail "the child's $ct left behind"
ok "a failing test's EXIT trap removes its namespaces, /etc/netns entries, web server and directory"
