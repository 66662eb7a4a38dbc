#!/bin/sh
# acme-hook.sh - uacme's challenge hook for the ACME tests (lib.sh's
# acme_uacme): uacme runs it as `acme-hook.sh METHOD TYPE IDENT TOKEN AUTH`.
# It takes http-01 only: on begin it writes the key authorization to
# $ACME_WEBROOT/.well-known/acme-challenge/TOKEN, which start_webroot serves,
# and removes it on done or failed. Any other type is declined (exit 1), so
# uacme tries the next challenge the server offered.
set -eu
[ $# -eq 5 ] || { echo "acme-hook.sh: 5 arguments expected, got $#" >&2; exit 85; }
method=$1 type=$2 token=$4 auth=$5
[ "$type" = http-01 ] || exit 1
: "${ACME_WEBROOT:?acme-hook.sh: ACME_WEBROOT is not set}"
dir="$ACME_WEBROOT/.well-known/acme-challenge"
case "$token" in
*/* | .* | "") echo "acme-hook.sh: refusing token '$token'" >&2; exit 1 ;;
esac
case "$method" in
begin) mkdir -p "$dir" && printf '%s' "$auth" >"$dir/$token" ;;
done | failed) rm -f "$dir/$token" ;;
*) echo "acme-hook.sh: unknown method $method" >&2; exit 1 ;;
esac
