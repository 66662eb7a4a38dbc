#!/bin/sh
# acme-hook.sh - uacme's challenge hook for the ACME tests (lib.sh's
# acme_uacme): uacme runs it as `acme-hook.sh METHOD TYPE IDENT TOKEN AUTH`
# for each challenge the server offers, in the server's order, until one is
# accepted (exit 0). http-01: on begin the key authorization goes to
# $ACME_WEBROOT/.well-known/acme-challenge/TOKEN, which start_webroot serves;
# removed on done or failed. tls-alpn-01, when $UALPN_SOCK names a running
# ualpn (start_ualpn): AUTH (already the SHA-256 digest) is handed to it for
# IDENT, taken back on done or failed. dns-01, when $ACME_DNS_DIR is set
# (start_dnsstub): AUTH (the digest) goes to $ACME_DNS_DIR/_acme-challenge.IDENT,
# removed on done or failed. $ACME_CHALLENGE, when set, is the only
# type taken. Anything else is declined (exit 1).
set -eu
[ $# -eq 5 ] || { echo "acme-hook.sh: 5 arguments expected, got $#" >&2; exit 85; }
method=$1 type=$2 ident=$3 token=$4 auth=$5
[ -z "${ACME_CHALLENGE:-}" ] || [ "$type" = "$ACME_CHALLENGE" ] || exit 1
case "$method" in
begin | done | failed) ;;
*) echo "acme-hook.sh: unknown method $method" >&2; exit 1 ;;
esac
case "$type" in
http-01)
	: "${ACME_WEBROOT:?acme-hook.sh: ACME_WEBROOT is not set}"
	dir="$ACME_WEBROOT/.well-known/acme-challenge"
	case "$token" in
	*/* | .* | "") echo "acme-hook.sh: refusing token '$token'" >&2; exit 1 ;;
	esac
	if [ "$method" = begin ]; then
		mkdir -p "$dir" && printf '%s' "$auth" >"$dir/$token"
	else
		rm -f "$dir/$token"
	fi
	;;
tls-alpn-01)
	[ -n "${UALPN_SOCK:-}" ] || exit 1
	# ualpn 1.7.4 in client mode exits 1 even when it answers OK: its
	# answer decides.
	if [ "$method" = begin ]; then
		out=$(echo "auth $ident $auth" | ualpn -s "$UALPN_SOCK" 2>&1) || true
	else
		out=$(echo "unauth $ident" | ualpn -s "$UALPN_SOCK" 2>&1) || true
	fi
	[ "$out" = OK ] || { echo "acme-hook.sh: ualpn said: $out" >&2; exit 1; }
	;;
dns-01)
	# AUTH is already the digest; start_dnsstub serves the file.
	[ -n "${ACME_DNS_DIR:-}" ] || exit 1
	case "$ident" in
	*/* | .* | "") echo "acme-hook.sh: refusing identifier '$ident'" >&2; exit 1 ;;
	esac
	if [ "$method" = begin ]; then
		printf '%s' "$auth" >"$ACME_DNS_DIR/_acme-challenge.$ident"
	else
		rm -f "$ACME_DNS_DIR/_acme-challenge.$ident"
	fi
	;;
*) exit 1 ;;
esac
