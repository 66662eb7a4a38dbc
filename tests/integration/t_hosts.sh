#!/bin/sh
# t_hosts.sh - names that resolve: each certificate keeps the address its
# device asked from; `lanca export hosts` lists the home.arpa and site
# names of the valid certificates with it (an IP SAN wins, .local names
# are left to mDNS) as a hosts file, dnsmasq host-record lines or unbound
# local-data; `lanca serve --hosts-file` keeps such a file current after
# an enrollment, a renewal and a revocation; and Debian's dnsmasq, reading
# it with --addn-hosts on a loopback port, answers dig with the device's
# address.
. "$(dirname "$0")/lib.sh"

if ! command -v dnsmasq >/dev/null 2>&1 || ! command -v dig >/dev/null 2>&1; then
	echo "# SKIP: dnsmasq or dig is not installed (contrib/debian-deps.sh)"
	exit 77
fi

D="$T/state"
"$LANCA" init --dir "$D" --name hosts --domain example.lan >/dev/null 2>&1 || fail "init"
ROOT_PEM="$D/root.pem"
HOSTS="$T/hosts"
start_serve "$D" --hosts-file "$HOSTS"
[ -f "$HOSTS" ] || fail "serve --hosts-file did not write $HOSTS at start"
[ "$(stat -c %a "$HOSTS")" = 644 ] || fail "$HOSTS mode $(stat -c %a "$HOSTS")"
grep -qv '^#' "$HOSTS" && fail "names before any device: $(cat "$HOSTS")"
ok "serve --hosts-file writes the file at start (0644), with no names yet"

# waits_for FILE PATTERN: up to 5 s for FILE to match (or, with !, not).
waits_for() {
	i=0
	while :; do
		if [ "$2" = "!" ]; then
			grep -q -- "$3" "$1" || return 0
		else
			grep -q -- "$2" "$1" && return 0
		fi
		[ $i -lt 50 ] || return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# ---- two devices, each from an address of its own ----
"$LANCA" press --dir "$D" >/dev/null || fail "press"
make_csr nas nas "DNS:nas.home.arpa,DNS:nas.local"
st=$(post_csr nas --interface 127.0.3.7); [ "$st" = 201 ] || fail "enroll nas: $st $(cat "$T/nas.resp")"
"$LANCA" press --dir "$D" >/dev/null || fail "press"
make_csr prn printer "DNS:printer.example.lan,DNS:printer.home.arpa,IP:192.168.77.5"
st=$(post_csr prn --interface 127.0.3.8); [ "$st" = 201 ] || fail "enroll printer: $st $(cat "$T/prn.resp")"
[ "$(sql "SELECT address FROM certificates WHERE device_id = 'nas'")" = 127.0.3.7 ] ||
	fail "the certificate does not keep the address nas asked from"
waits_for "$HOSTS" '^127\.0\.3\.7 nas\.home\.arpa$' || fail "nas not in the hosts file: $(cat "$HOSTS")"
waits_for "$HOSTS" '^192\.168\.77\.5 printer\.example\.lan$' || fail "printer: $(cat "$HOSTS")"
grep -q 'printer.home.arpa' "$HOSTS" || fail "printer.home.arpa: $(cat "$HOSTS")"
grep -q '127\.0\.3\.8' "$HOSTS" && fail "the printer's IP SAN did not win: $(cat "$HOSTS")"
grep -q '\.local' "$HOSTS" && fail "a .local name (mDNS's) in the hosts file: $(cat "$HOSTS")"
ok "each enrollment rewrites the hosts file: the address it came from, or the IP SAN; no .local names"

# ---- dnsmasq answers from the file ----
DNS_PORT=$(free_port)
dnsmasq --no-daemon --port "$DNS_PORT" --listen-address 127.0.0.1 --bind-interfaces \
	--no-resolv --no-hosts --addn-hosts "$HOSTS" --conf-file=/dev/null --pid-file= \
	--user="$(id -un)" >"$T/dnsmasq.log" 2>&1 &
DNSMASQ_PID=$!
trap 'kill "$DNSMASQ_PID" 2>/dev/null || true; cleanup' EXIT INT TERM
# ask NAME: dnsmasq's answer (A records), waiting up to 5 s for it to listen.
ask() {
	i=0
	until dig @127.0.0.1 -p "$DNS_PORT" +short +time=1 +tries=1 "$1" A >"$T/dig" 2>&1; do
		[ $i -lt 50 ] || fail "dnsmasq does not answer: $(cat "$T/dig" "$T/dnsmasq.log")"
		sleep 0.1
		i=$((i + 1))
	done
	cat "$T/dig"
}
[ "$(ask nas.home.arpa)" = 127.0.3.7 ] || fail "dig nas.home.arpa: $(cat "$T/dig")"
[ "$(ask printer.example.lan)" = 192.168.77.5 ] || fail "dig printer.example.lan: $(cat "$T/dig")"
[ -z "$(ask nas.local)" ] || fail "dig nas.local answered: $(cat "$T/dig")"
ok "dnsmasq --addn-hosts on a loopback port answers dig with each device's address"

# ---- a renewal from elsewhere moves the name; a revocation removes it ----
split_chain "$T/nas.resp"
make_csr nas2 nas "DNS:nas.home.arpa"
openssl req -in "$T/nas2.csr" -outform der -out "$T/nas2.der"
st=$(tcurl --interface 127.0.3.9 -o "$T/nas2.resp" -w '%{http_code}' --cert "$T/nas.resp.1.pem" \
	--key "$T/nas.key" -H 'Content-Type: application/pkcs10' --data-binary @"$T/nas2.der" \
	"$HTTPS_URL/api/v1/renew")
[ "$st" = 201 ] || fail "renew nas: $st $(cat "$T/nas2.resp")"
waits_for "$HOSTS" '^127\.0\.3\.9 nas\.home\.arpa$' || fail "renewal not in the file: $(cat "$HOSTS")"
grep -q '127\.0\.3\.7' "$HOSTS" && fail "the superseded certificate's address stayed: $(cat "$HOSTS")"
kill -HUP "$DNSMASQ_PID"	# dnsmasq reads --addn-hosts again on SIGHUP
i=0
until [ "$(ask nas.home.arpa)" = 127.0.3.9 ]; do
	[ $i -lt 50 ] || fail "dnsmasq after SIGHUP: $(cat "$T/dig")"
	sleep 0.1
	i=$((i + 1))
done
"$LANCA" revoke --dir "$D" printer >"$T/out" 2>&1 || fail "revoke printer: $(cat "$T/out")"
waits_for "$HOSTS" ! 'printer' || fail "the revoked printer stayed: $(cat "$HOSTS")"
kill -HUP "$DNSMASQ_PID"
i=0
until [ -z "$(ask printer.example.lan)" ]; do
	[ $i -lt 50 ] || fail "dnsmasq still answers for the revoked printer: $(cat "$T/dig")"
	sleep 0.1
	i=$((i + 1))
done
ok "a renewal from another address moves the name, a revocation removes it (file and dnsmasq)"

# ---- lanca export hosts, in three formats ----
"$LANCA" export hosts --dir "$D" >"$T/x.hosts" || fail "export hosts"
cmp -s "$T/x.hosts" "$HOSTS" || fail "export hosts differs from serve's file: $(diff "$T/x.hosts" "$HOSTS")"
"$LANCA" export hosts --dir "$D" --format dnsmasq --out "$T/x.conf" >"$T/out" ||
	fail "export hosts --format dnsmasq --out"
grep -q "^1 entries written to $T/x.conf" "$T/out" || fail "--out says: $(cat "$T/out")"
grep -qx 'host-record=nas.home.arpa,127.0.3.9' "$T/x.conf" || fail "dnsmasq format: $(cat "$T/x.conf")"
kill "$DNSMASQ_PID"
wait "$DNSMASQ_PID" 2>/dev/null || true
dnsmasq --no-daemon --port "$DNS_PORT" --listen-address 127.0.0.1 --bind-interfaces \
	--no-resolv --no-hosts --conf-file="$T/x.conf" --pid-file= --user="$(id -un)" \
	>"$T/dnsmasq.log" 2>&1 &
DNSMASQ_PID=$!
[ "$(ask nas.home.arpa)" = 127.0.3.9 ] || fail "dnsmasq with the host-record lines: $(cat "$T/dig")"
ok "--format dnsmasq: host-record lines dnsmasq answers from"

"$LANCA" export hosts --dir "$D" --format unbound >"$T/x.unbound" || fail "--format unbound"
python3 - "$T/x.unbound" <<'PY' || fail "unbound format: $(cat "$T/x.unbound")"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
body = [l for l in lines if not l.startswith("#")]
assert body[0] == "server:", body
data = [l for l in body[1:] if l.startswith("\tlocal-data: ")]
ptr = [l for l in body[1:] if l.startswith("\tlocal-data-ptr: ")]
assert len(data) + len(ptr) == len(body) - 1, body
assert data == ['\tlocal-data: "nas.home.arpa. IN A 127.0.3.9"'], data
assert ptr == ['\tlocal-data-ptr: "127.0.3.9 nas.home.arpa."'], ptr
PY
if command -v unbound-checkconf >/dev/null 2>&1; then
	unbound-checkconf "$T/x.unbound" >"$T/out" 2>&1 || fail "unbound-checkconf: $(cat "$T/out")"
fi
st=0; "$LANCA" export hosts --dir "$D" --format bind >/dev/null 2>"$T/err" || st=$?
[ $st = 2 ] && grep -q -- "--format bind is not a format; the formats are: hosts, dnsmasq, unbound" \
	"$T/err" || fail "an unknown format: exit $st, $(cat "$T/err")"
ok "--format unbound: a server: clause of local-data and local-data-ptr; an unknown format: exit 2"

kill "$DNSMASQ_PID"
wait "$DNSMASQ_PID" 2>/dev/null || true
stop_serve || fail "serve did not stop cleanly"
