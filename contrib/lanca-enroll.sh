#!/bin/sh
# lanca-enroll.sh - enroll a device with a lanca gateway using only curl and
# openssl, for devices that cannot run lanca-enroll.
#
# The same flow as `lanca-enroll enroll`: make a P-256 key that never leaves
# the device, fetch the gateway's root over plain HTTP and check its SHA-256
# fingerprint (or trust it on first use and say so), then talk HTTPS with
# that root as the only trust anchor: POST the CSR, wait out "pending"
# answers (honouring Retry-After) until a button press or an admin approves
# it, check the chain, and write key.pem, cert.pem, chain.pem, root.pem and
# gateway.url into the output directory, each atomically.
#
# With --est it speaks EST (RFC 7030, RFC 8951) instead of lanca's API, as
# `lanca-enroll enroll --protocol est` does: the root is chosen from
# /.well-known/est[/LABEL]/cacerts (fetched over TLS that checks nothing,
# RFC 7030's bootstrap, and then judged by the fingerprint or on first
# use), the CSR goes to simpleenroll as base64, a 202 is asked again after
# Retry-After, and a 401 that offers Basic is answered with the device id
# and the secret in --secret-file.
#
# `lanca-enroll.sh trust refresh --dir DIR` does what `lanca-enroll trust
# refresh` does: DIR/trust.pem becomes the gateway's bundle's roots that
# DIR's roots vouch for, transitively, and roots the bundle no longer
# lists are dropped (see trust_refresh below).
#
# Exit: 0 issued, 1 refused or failed, 2 usage, 3 still pending at --timeout.
set -eu

prog=lanca-enroll.sh

usage() {
	cat >&2 <<EOF
usage: $prog --gateway https://HOST[:PORT] --id DEVICE_ID --out DIR
              (--fingerprint SHA256 | --trust-on-first-use)
              [--name NAME.local]... [--ip IP]... [--http URL] [--timeout S]
              [--est [--est-label LABEL] [--secret-file FILE]]
       $prog trust refresh --dir DIR [--gateway https://HOST[:PORT]] [--timeout S]

--est speaks EST (RFC 7030) instead of lanca's API: the root comes from
/.well-known/est[/LABEL]/cacerts (--http is not used), the request goes to
simpleenroll, and a gateway asking for HTTP Basic gets the device id and
the pre-authorisation secret in FILE.
EOF
	exit 2
}

die() {
	echo "$prog: $*" >&2
	exit 1
}

# The value of the last header NAME (any case) in a curl -D file.
header() {
	awk -v want="$1" '
		BEGIN { want = tolower(want) }
		{ sub(/\r$/, "") }
		index($0, ":") > 1 {
			name = tolower(substr($0, 1, index($0, ":") - 1))
			if (name == want) {
				v = substr($0, index($0, ":") + 1)
				sub(/^[ \t]+/, "", v); sub(/[ \t]+$/, "", v)
				found = v
			}
		}
		END { print found }' "$2"
}

# A string member of a JSON error body, printable characters only.
json_str() {
	sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\\([^\"]*\\)\".*/\\1/p" "$2" 2>/dev/null |
		head -n 1 | tr -cd '[:print:]'
}

# "message (code)" from a JSON error body, else the HTTP status.
refusal() {
	msg=$(json_str message "$1")
	[ -n "$msg" ] || msg=$(json_str reason "$1")
	[ -n "$msg" ] || msg="HTTP status $2"
	code=$(json_str error "$1")
	[ -n "$code" ] || code=$2
	echo "$msg ($code)"
}

# Writes stdin to DIR/NAME atomically: a temporary file in the same
# directory, synced, renamed, and the directory synced.
put() {
	tmp="$1/.$2.tmp.$$"
	cat >"$tmp" || { rm -f "$tmp"; die "cannot write $1/$2"; }
	chmod "$3" "$tmp"
	sync "$tmp" 2>/dev/null || sync
	mv -f "$tmp" "$1/$2" || { rm -f "$tmp"; die "cannot rename into $1/$2"; }
	sync "$1" 2>/dev/null || sync
}

# fingerprint FILE: the SHA-256 of a PEM certificate, 64 lower-case digits.
fingerprint() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//' | tr -d ':' | tr 'A-F' 'a-f'
}

# subject FILE / issuer FILE: a PEM certificate's names, comparable.
subject() {
	openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject= *//'
}
issuer() {
	openssl x509 -in "$1" -noout -issuer -nameopt RFC2253 | sed 's/^issuer= *//'
}

# pubkey FILE: a PEM certificate's public key, comparable.
pubkey() {
	openssl x509 -in "$1" -noout -pubkey
}

# constraints FILE: the certificate's name constraints extension, its DER
# in hex after "critical:" when it is critical; empty when it has none. A
# certificate OpenSSL cannot take apart stops the refresh: comparing two
# failures would find them equal.
constraints() {
	_asn=$(openssl asn1parse -in "$1" 2>/dev/null) ||
		die "cannot read the name constraints of $(subject "$1"): bundle refused"
	printf '%s\n' "$_asn" | awk '
		/:X509v3 Name Constraints/ { f = 1; next }
		f && /BOOLEAN/ { c = "critical:"; next }
		f && /OCTET STRING/ { sub(/.*HEX DUMP\]:/, ""); print c $0; exit }'
}

# is_ca FILE: whether a PEM certificate is a CA (basicConstraints CA:TRUE).
is_ca() {
	openssl x509 -in "$1" -noout -text | grep -q 'CA:TRUE'
}

# split_pem FILE PREFIX: the certificates of a PEM file into PREFIX1.pem,
# PREFIX2.pem, ...; prints how many.
split_pem() {
	awk -v p="$2" '/-----BEGIN CERTIFICATE-----/ { n++; on = 1 }
		on { print > (p n ".pem") }
		/-----END CERTIFICATE-----/ { on = 0 }
		END { print n + 0 }' "$1"
}

# trust_file DIR: the file of DIR that holds the roots the device trusts
# for HTTPS after enrolment: trust.pem (what trust refresh writes) when it
# exists, else root.pem (what enroll wrote).
trust_file() {
	if [ -f "$1/trust.pem" ]; then
		echo trust.pem
	elif [ -f "$1/root.pem" ]; then
		echo root.pem
	else
		die "$1 holds neither trust.pem nor root.pem: enroll first"
	fi
}

# `lanca-enroll.sh trust refresh --dir DIR [--gateway URL] [--timeout S]`,
# as `lanca-enroll trust refresh` does it: the gateway's /trust-bundle.pem
# over HTTPS verified with the roots DIR trusts (trust.pem, else root.pem)
# and nothing else. The new store is exactly the bundle's roots, in bundle
# order: each one trusted already, or accepted because the bundle also
# holds a CA certificate of its subject and key that verifies under a root
# trusted already or accepted earlier in this refresh (the old root
# vouching for the new one, the new one for the backup root). A root
# nothing vouches for refuses the whole bundle and nothing changes; so
# does a bundle that lists no root. A trusted root the bundle no longer
# lists is dropped and named on stdout. DIR/trust.pem is written
# atomically.
trust_refresh() {
	[ "${1:-}" = refresh ] || { echo "usage: $prog trust refresh --dir DIR [--gateway https://HOST[:PORT]] [--timeout S]" >&2; exit 2; }
	shift
	dir='' gw='' io=30
	while [ $# -gt 0 ]; do
		case $1 in
		--dir | --gateway | --timeout)
			[ $# -ge 2 ] || { echo "$prog: $1 needs a value" >&2; exit 2; }
			case $1 in
			--dir) dir=$2 ;;
			--gateway) gw=$2 ;;
			--timeout)
				case $2 in '' | *[!0-9]*) echo "$prog: --timeout: seconds" >&2; exit 2 ;; esac
				io=$2 ;;
			esac
			shift 2 ;;
		*) echo "$prog: trust refresh: unknown argument $1" >&2; exit 2 ;;
		esac
	done
	[ -n "$dir" ] || { echo "$prog: trust refresh needs --dir" >&2; exit 2; }
	[ -n "$gw" ] || gw=$(head -n 1 "$dir/gateway.url" 2>/dev/null | tr -d '\r') ||
		die "$dir/gateway.url: cannot read it"
	case $gw in
	https://?*) ;;
	*) die "the gateway ($gw) is not an https:// URL" ;;
	esac
	rest=${gw#https://}
	origin="https://${rest%%/*}"
	from=$(trust_file "$dir") || exit 1
	TW=$(mktemp -d "$dir/.trust.XXXXXX") || die "cannot make a temporary directory in $dir"
	trap 'rm -rf "$TW"' EXIT
	# --capath: a directory without hashed certificates, so that no system
	# CA is consulted.
	curl -fsS --max-time "$io" --proto =https --cacert "$dir/$from" --capath "$TW" \
		-o "$TW/bundle.pem" "$origin/trust-bundle.pem" 2>"$TW/err" ||
		die "cannot fetch $origin/trust-bundle.pem: $(cat "$TW/err")"
	nh=$(split_pem "$dir/$from" "$TW/have")
	ng=$(split_pem "$TW/bundle.pem" "$TW/got")
	[ "$nh" -gt 0 ] || die "$dir/$from holds no certificate"
	[ "$nh" -le 16 ] || die "$dir/$from holds more than 16 certificates"
	[ "$ng" -gt 0 ] || die "$origin/trust-bundle.pem holds no certificate; $dir/$from kept as it was"
	[ "$ng" -le 16 ] || die "$origin/trust-bundle.pem holds more than 16 certificates: bundle refused; $dir/$from kept as it was"
	known=''
	i=1
	while [ "$i" -le "$nh" ]; do
		known="$known $(fingerprint "$TW/have$i.pem")"
		i=$((i + 1))
	done
	# Each certificate of the bundle: v (a voucher, or a root listed
	# twice), k (a root trusted already), p (a new root, not vouched for
	# yet), a (a new root accepted).
	listed=''
	i=1
	while [ "$i" -le "$ng" ]; do
		g="$TW/got$i.pem"
		openssl x509 -in "$g" -noout 2>/dev/null || die "$origin/trust-bundle.pem does not parse; $dir/$from kept as it was"
		st=v
		if [ "$(subject "$g")" = "$(issuer "$g")" ]; then
			fp=$(fingerprint "$g")
			case " $listed " in
			*" $fp "*) ;;
			*)
				listed="$listed $fp"
				case " $known " in
				*" $fp "*) st=k ;;
				*)
					name=$(subject "$g")
					is_ca "$g" || die "the bundle's root $name is not a CA: bundle refused; $dir/$from kept as it was"
					# Its own signature, so that what is kept is what its
					# key signed (-trusted alone: never the system's store).
					openssl verify -trusted "$g" -check_ss_sig "$g" >/dev/null 2>&1 ||
						die "the bundle's root $name is not signed by its own key: bundle refused; $dir/$from kept as it was"
					st=p ;;
				esac ;;
			esac
		fi
		eval "st$i=$st"
		i=$((i + 1))
	done
	# The anchors a voucher may verify under, one file each: the device's
	# roots, and each root accepted so far. Rounds until one accepts
	# nothing, so that a root may be vouched for by a root listed after it.
	anchors=''
	i=1
	while [ "$i" -le "$nh" ]; do
		anchors="$anchors $TW/have$i.pem"
		i=$((i + 1))
	done
	progress=1
	added=0
	while [ "$progress" -eq 1 ]; do
		progress=0
		i=1
		while [ "$i" -le "$ng" ]; do
			g="$TW/got$i.pem"
			eval "st=\$st$i"
			i=$((i + 1))
			[ "$st" = p ] || continue
			name=$(subject "$g")
			j=1
			while [ "$j" -le "$ng" ]; do
				v="$TW/got$j.pem"
				eval "sv=\$st$j"
				j=$((j + 1))
				[ "$sv" = v ] && [ "$(subject "$v")" != "$(issuer "$v")" ] || continue
				[ "$(subject "$v")" = "$name" ] || continue
				[ "$(pubkey "$v")" = "$(pubkey "$g")" ] || continue
				is_ca "$v" || continue
				# Under an anchor whose name constraints are the new
				# root's: a root's key cannot vouch its way out of
				# them. -trusted: that root alone, not the system's.
				ok=0
				for a in $anchors; do
					nca=$(constraints "$a") || exit 1
					ncg=$(constraints "$g") || exit 1
					[ "$nca" = "$ncg" ] || continue
					if openssl verify -trusted "$a" "$v" >/dev/null 2>&1; then
						ok=1
						break
					fi
				done
				if [ "$ok" -eq 1 ]; then
					eval "st$((i - 1))=a"
					anchors="$anchors $g"
					added=$((added + 1))
					progress=1
					break
				fi
			done
		done
	done
	: >"$TW/new.pem"
	kept=0 keptfp=''
	i=1
	while [ "$i" -le "$ng" ]; do
		g="$TW/got$i.pem"
		eval "st=\$st$i"
		i=$((i + 1))
		case $st in
		p) die "the bundle's root $(subject "$g") is not vouched for by a root this device trusts: bundle refused; $dir/$from kept as it was" ;;
		k | a)
			cat "$g" >>"$TW/new.pem"
			keptfp="$keptfp $(fingerprint "$g")"
			kept=$((kept + 1)) ;;
		esac
	done
	# Never a store without a root: the roots the fetch was verified with
	# stay unless the bundle gives at least one in their place.
	[ "$kept" -gt 0 ] || die "the trust bundle lists no root: bundle refused; $dir/$from kept as it was"
	[ "$kept" -le 16 ] ||
		die "the trust store would hold more than 16 roots: bundle refused; $dir/$from kept as it was"
	put "$dir" trust.pem 644 <"$TW/new.pem"
	dropped=0 seen=''
	i=1
	while [ "$i" -le "$nh" ]; do
		h="$TW/have$i.pem"
		i=$((i + 1))
		fp=$(fingerprint "$h")
		case " $keptfp $seen " in *" $fp "*) continue ;; esac
		seen="$seen $fp"
		echo "$prog: dropped root $(subject "$h") (SHA-256 $fp): the gateway no longer lists it"
		dropped=$((dropped + 1))
	done
	echo "$prog: $dir/trust.pem: $added new root(s) trusted, $dropped dropped, $kept in all"
	exit 0
}

if [ "${1:-}" = trust ]; then
	shift
	trust_refresh "$@"
fi

GATEWAY='' ID='' OUT='' FP='' TOFU=0 HTTP_URL='' TIMEOUT=300 SAN='' EST=0 LABEL='' SECRET_FILE=''
while [ $# -gt 0 ]; do
	case $1 in
	--gateway | --id | --out | --fingerprint | --http | --timeout | --name | --ip | --est-label | --secret-file)
		[ $# -ge 2 ] || usage
		opt=$1 val=$2
		shift 2
		;;
	--trust-on-first-use)
		TOFU=1
		shift
		continue
		;;
	--est)
		EST=1
		shift
		continue
		;;
	-h | --help) usage ;;
	*) echo "$prog: unknown argument $1" >&2; usage ;;
	esac
	case $opt in
	--gateway) GATEWAY=$val ;;
	--id) ID=$val ;;
	--out) OUT=$val ;;
	--fingerprint) FP=$val ;;
	--http) HTTP_URL=$val ;;
	--timeout) TIMEOUT=$val ;;
	--est-label)
		case $val in
		'' | . | .. | *[!A-Za-z0-9._~-]*) echo "$prog: --est-label $val: letters, digits, '.', '_', '~' and '-' only" >&2; usage ;;
		esac
		[ ${#val} -le 128 ] || { echo "$prog: --est-label: at most 128 characters" >&2; usage; }
		LABEL=$val
		;;
	--secret-file) SECRET_FILE=$val ;;
	--name)
		case $val in
		'' | *[!A-Za-z0-9.-]*) echo "$prog: --name $val: not a DNS name" >&2; usage ;;
		esac
		SAN="${SAN:+$SAN,}DNS:$val"
		;;
	--ip)
		case $val in
		'' | *[!0-9A-Fa-f:.]*) echo "$prog: --ip $val: not an address" >&2; usage ;;
		esac
		SAN="${SAN:+$SAN,}IP:$val"
		;;
	esac
done

if [ -z "$GATEWAY" ] || [ -z "$ID" ] || [ -z "$OUT" ]; then
	usage
fi
if { [ -n "$FP" ] && [ $TOFU = 1 ]; } || { [ -z "$FP" ] && [ $TOFU = 0 ]; }; then
	echo "$prog: give exactly one of --fingerprint and --trust-on-first-use" >&2
	usage
fi
case $ID in
'' | *[!A-Za-z0-9._-]*) echo "$prog: --id: letters, digits, '.', '_' and '-' only" >&2; usage ;;
esac
case $TIMEOUT in
'' | *[!0-9]*) usage ;;
esac
if [ ${#TIMEOUT} -gt 5 ] || [ "$TIMEOUT" -lt 1 ] || [ "$TIMEOUT" -gt 86400 ]; then
	usage
fi
if [ $EST = 0 ] && { [ -n "$LABEL" ] || [ -n "$SECRET_FILE" ]; }; then
	echo "$prog: --est-label and --secret-file need --est" >&2
	usage
fi
if [ $EST = 1 ] && [ -n "$HTTP_URL" ]; then
	echo "$prog: --http is not used with --est: EST takes the root from /cacerts" >&2
	usage
fi
if [ -n "$FP" ]; then
	WANT=$(printf '%s' "$FP" | tr -d ': ' | tr 'A-F' 'a-f')
	case $WANT in
	*[!0-9a-f]*) usage ;;
	esac
	[ ${#WANT} -eq 64 ] || { echo "$prog: --fingerprint: want 64 hex digits" >&2; usage; }
fi

# https://HOST[:PORT][/...] -> ORIGIN https://HOST[:PORT] and HOST (with
# brackets for IPv6) for the default root URL on port 80.
case $GATEWAY in
https://*) ;;
*) echo "$prog: --gateway must be an https:// URL" >&2; usage ;;
esac
rest=${GATEWAY#https://}
hostport=${rest%%/*}
[ -n "$hostport" ] || usage
ORIGIN="https://$hostport"
case $hostport in
\[*\]*) HOST="${hostport%%]*}]" ;;
*) HOST=${hostport%%:*} ;;
esac
if [ -z "$HTTP_URL" ]; then
	HTTP_URL="http://$HOST/ca.crt"
else
	case $HTTP_URL in
	http://*) ;;
	*) echo "$prog: --http must be an http:// URL" >&2; usage ;;
	esac
	while [ "${HTTP_URL%/}" != "$HTTP_URL" ]; do HTTP_URL=${HTTP_URL%/}; done
	case $HTTP_URL in
	*.crt | *.pem) ;;
	*) HTTP_URL="$HTTP_URL/ca.crt" ;;
	esac
fi
IO=$TIMEOUT
[ "$IO" -le 30 ] || IO=30

# A run that fails (exit 1) before the gateway took the request takes back
# what it added: the key it made and the directory if it made it. Once the
# gateway may hold a request for the key (HELD: it answered pending or with
# a certificate, or a POST went out and no answer or a 5xx came back), the
# key is the device's identity there: key.pem.new stays whatever happens
# next, and the next run asks with it again (a new key would meet "device
# holds a certificate for another key"). A run that ends pending (3), or is
# interrupted while waiting, keeps key.pem.new too.
umask 077
W='' MADE_DIR=0 MADE_KEY=0 STOPPED=0 HELD=0 ACCEPTED=0
cleanup() {
	st=$?
	[ -z "$W" ] || rm -rf "$W"
	if [ "$st" -eq 1 ] && [ "$STOPPED" -eq 0 ]; then
		if [ "$HELD" -eq 1 ]; then
			echo "$prog: keeping $OUT/key.pem.new: the gateway may hold a request for it; run this again to go on with the same key" >&2
		else
			[ "$MADE_KEY" -eq 0 ] || rm -f "$OUT/key.pem.new"
			[ "$MADE_DIR" -eq 0 ] || rmdir "$OUT" 2>/dev/null || true
		fi
	fi
}
trap cleanup EXIT
trap 'STOPPED=1; exit 1' INT TERM
[ -d "$OUT" ] || MADE_DIR=1
mkdir -p "$OUT" || die "cannot create $OUT"
[ ! -e "$OUT/key.pem" ] || die "$OUT already holds key.pem: this device is enrolled, or choose another --out"
W=$(mktemp -d "$OUT/.enroll.XXXXXX") || die "cannot make a temporary directory in $OUT"
START=$(date +%s)

# ---- EST (--est) ----
EST_BASE="$ORIGIN/.well-known/est/${LABEL:+$LABEL/}"

# p7_split B64 PREFIX: the certificates of a base64 certs-only PKCS#7 (line
# breaks anywhere, CRLF too) into PREFIX1.pem, PREFIX2.pem, ...; prints how
# many. Fails when it is not one.
p7_split() {
	tr -d '\r' <"$1" | openssl base64 -d >"$W/p7.der" 2>/dev/null || return 1
	openssl pkcs7 -inform der -in "$W/p7.der" -print_certs -out "$W/p7.pem" 2>/dev/null || return 1
	# -print_certs puts subject= and issuer= lines between the certificates.
	awk -v p="$2" '/-----BEGIN CERTIFICATE-----/ { n++; on = 1 }
		on { print > (p n ".pem") }
		/-----END CERTIFICATE-----/ { on = 0 }
		END { print n + 0 }' "$W/p7.pem"
}

# A refusal's text/plain reason, on one line, printable only; else the status.
reason() {
	r=$(tr '\r\n\t' '   ' <"$W/body" | tr -cd '[:print:]' | cut -c1-400 | sed 's/  */ /g; s/^ //; s/ $//')
	[ -n "$r" ] || r="HTTP status $1"
	echo "$r"
}

# est_root: RFC 7030's bootstrap. /cacerts is fetched over TLS that checks
# nothing (--insecure is right here and nowhere else: nothing is sent, and
# what comes back is judged by the fingerprint, or shown for trust on first
# use, before any request goes out). The root offered is the self-signed
# certificate with the fingerprint given, else the one that signed the
# issuing CA beside it (a backup root has signed nothing yet). Writes
# $W/root.pem; the CAs stay in $W/pool-ca*.pem for the chain.
est_root() {
	url="${EST_BASE}cacerts"
	code=$(curl -sS --max-time "$IO" --proto =https --insecure -o "$W/cacerts.b64" \
		-w '%{http_code}' "$url" 2>"$W/err") || die "cannot fetch the root from $url: $(cat "$W/err")"
	[ "$code" = 200 ] || die "fetching the root from $url: HTTP status $code"
	n=$(p7_split "$W/cacerts.b64" "$W/pool-ca") || die "$url is not a base64 certs-only PKCS#7"
	roots='' others='' pick=''
	i=1
	while [ "$i" -le "$n" ]; do
		if [ "$(subject "$W/pool-ca$i.pem")" = "$(issuer "$W/pool-ca$i.pem")" ]; then
			roots="$roots $i"
		else
			others="$others $i"
		fi
		i=$((i + 1))
	done
	[ -n "$roots" ] || die "$url holds no root certificate"
	if [ -n "$FP" ]; then
		for r in $roots; do
			[ "$(fingerprint "$W/pool-ca$r.pem")" != "$WANT" ] || { pick=$r; break; }
		done
	fi
	if [ -z "$pick" ]; then
		for r in $roots; do
			for o in $others; do
				if openssl verify -CAfile "$W/pool-ca$r.pem" "$W/pool-ca$o.pem" >/dev/null 2>&1; then
					pick=$r
					break 2
				fi
			done
		done
	fi
	# shellcheck disable=SC2086
	[ -n "$pick" ] || { set -- $roots; [ $# -ne 1 ] || pick=$1; }
	[ -n "$pick" ] || die "$url holds several roots and none of them signed its other certificates"
	cp "$W/pool-ca$pick.pem" "$W/root.pem"
}

# The pre-authorisation secret, read before anything is sent: 8 to 256
# bytes (one trailing line break is not part of it), no control characters.
AUTH=''
if [ -n "$SECRET_FILE" ]; then
	if [ ! -f "$SECRET_FILE" ] || [ ! -r "$SECRET_FILE" ]; then
		die "--secret-file $SECRET_FILE: cannot read it"
	fi
	[ "$(wc -c <"$SECRET_FILE")" -le 258 ] || die "--secret-file $SECRET_FILE: want a secret of 8 to 256 bytes"
	secret=$(cat "$SECRET_FILE")
	case $secret in
	*[[:cntrl:]]*) die "--secret-file $SECRET_FILE: the secret holds a control character" ;;
	esac
	if [ ${#secret} -lt 8 ] || [ ${#secret} -gt 256 ]; then
		die "--secret-file $SECRET_FILE: want a secret of 8 to 256 bytes"
	fi
	case $ID in
	*:*) die "--id with ':' cannot go with --secret-file (HTTP Basic)" ;;
	esac
	# A curl config file (mode 0600 under the umask), so that the secret is
	# never on a command line for ps to show.
	AUTH="header = \"Authorization: Basic $(printf '%s:%s' "$ID" "$secret" | openssl base64 -A)\""
	secret=''
fi

# The root: from EST's /cacerts, or over plain HTTP; checked before anything
# is sent.
if [ "$EST" -eq 1 ]; then
	est_root
	ROOT_FROM="${EST_BASE}cacerts"
else
	curl -fsS --max-time "$IO" --proto =http -o "$W/ca.der" "$HTTP_URL" ||
		die "cannot fetch the root from $HTTP_URL"
	openssl x509 -inform der -in "$W/ca.der" -out "$W/root.pem" 2>/dev/null ||
		openssl x509 -in "$W/ca.der" -out "$W/root.pem" 2>/dev/null ||
		die "$HTTP_URL is not a certificate"
	ROOT_FROM=$HTTP_URL
fi
GOT=$(openssl x509 -in "$W/root.pem" -noout -fingerprint -sha256 | sed 's/.*=//' | tr -d ':' | tr 'A-F' 'a-f')
if [ -n "$FP" ]; then
	[ "$GOT" = "$WANT" ] || die "root fingerprint mismatch: expected $WANT, got $GOT"
else
	echo "$prog: trusting the root on first use: SHA-256 fingerprint $GOT" >&2
	echo "$prog: compare it with the one the gateway shows; pass --fingerprint next time" >&2
fi
openssl x509 -in "$W/root.pem" -noout -text | grep -q 'CA:TRUE' || die "the root from $ROOT_FROM is not a CA certificate"

# The key: kept as key.pem.new until issued, and used again by a later run
# so that the request an admin approves is the one we ask about.
if [ -f "$OUT/key.pem.new" ]; then
	echo "$prog: using the key from the earlier attempt ($OUT/key.pem.new)" >&2
else
	openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
		openssl pkcs8 -topk8 -nocrypt >"$W/key.pem" || die "key generation failed"
	MADE_KEY=1
	put "$OUT" key.pem.new 600 <"$W/key.pem"
	rm -f "$W/key.pem"
fi
if [ -n "$SAN" ]; then
	openssl req -new -key "$OUT/key.pem.new" -subj "/CN=$ID" -addext "subjectAltName=$SAN" \
		-outform der -out "$W/csr.der" 2>"$W/err" || die "CSR: $(cat "$W/err")"
else
	openssl req -new -key "$OUT/key.pem.new" -subj "/CN=$ID" \
		-outform der -out "$W/csr.der" 2>"$W/err" || die "CSR: $(cat "$W/err")"
fi

# HTTPS with the fetched root as the only anchor: --capath points at a
# directory without hashed certificates so that no system CA is consulted.
https() {
	curl -sS --max-time "$IO" --proto =https --cacert "$W/root.pem" --capath "$W" \
		-o "$W/body" -D "$W/headers" -w '%{http_code}' \
		-H 'Accept: application/pem-certificate-chain' "$@"
}

# pace: how long to wait before asking again after a 202 or 429 into $wait:
# the answer's Retry-After within 1 to 60 s (5 without one) and what is left
# of --timeout; returns 1 once --timeout has run out.
pace() {
	left=$((START + TIMEOUT - $(date +%s)))
	[ $left -gt 0 ] || return 1
	wait=$(header retry-after "$W/headers")
	case $wait in
	'' | *[!0-9]*) wait=5 ;;
	*) [ ${#wait} -le 5 ] || wait=60 ;;
	esac
	[ "$wait" -ge 1 ] || wait=1
	[ "$wait" -le 60 ] || wait=60
	[ "$wait" -le $left ] || wait=$left
	return 0
}

# post_failed STATUS WHAT: a POST that got no answer (curl's exit STATUS).
# Name lookup, connect or TLS set-up failures sent nothing, so the gateway
# holds nothing new.
post_failed() {
	case $1 in
	6 | 7 | 35 | 60) [ "$ACCEPTED" -eq 1 ] || HELD=0 ;;
	esac
	die "POST $2: $(cat "$W/err")"
}

# est_enroll: POSTs the request to simpleenroll as base64 in 64-character
# lines until the certificate comes; leaves the answer's certificates in
# $W/pool-got*.pem and the count in $GOT_N.
est_enroll() {
	url="${EST_BASE}simpleenroll"
	openssl base64 -e -in "$W/csr.der" -out "$W/csr.b64" || die "cannot encode the request"
	cfg=''
	while :; do
		: >"$W/body"
		: >"$W/headers"
		HELD=1
		cst=0
		# shellcheck disable=SC2086
		code=$(curl -sS --max-time "$IO" --proto =https --cacert "$W/root.pem" --capath "$W" \
			-o "$W/body" -D "$W/headers" -w '%{http_code}' ${cfg:+-K "$cfg"} \
			-H 'Content-Type: application/pkcs10' --data-binary "@$W/csr.b64" "$url" \
			2>"$W/err") || cst=$?
		[ $cst -eq 0 ] || post_failed $cst "$url"
		case $code in
		200 | 202) ACCEPTED=1 ;;
		4??) [ "$ACCEPTED" -eq 1 ] || HELD=0 ;;
		esac
		case $code in
		200) break ;;
		202 | 429) ;;
		401)
			# RFC 7030 3.2.3: credentials only where a challenge asks.
			if header www-authenticate "$W/headers" | grep -qi '^basic\([ ,]\|$\)'; then
				if [ -z "$AUTH" ]; then
					die "the gateway asks for this device's pre-authorisation secret (HTTP Basic): give --secret-file: $(reason 401) (HTTP 401)"
				fi
				if [ -z "$cfg" ]; then
					cfg="$W/auth.cfg"
					printf '%s\n' "$AUTH" >"$cfg"
					continue
				fi
				die "the gateway refused the secret for $ID: $(reason 401) (HTTP 401)"
			fi
			die "refused: $(reason 401) (HTTP 401)"
			;;
		*) die "refused: $(reason "$code") (HTTP $code)" ;;
		esac
		# lanca says "pending: request ID"; another server, anything.
		shown=$(reason "$code")
		shown=${shown#pending: }
		if ! pace; then
			echo "$prog: still pending after $TIMEOUT s: $shown" >&2
			echo "$prog: approve it on the gateway (lanca pending, lanca approve ID, or press its button), then run this again: it asks with the same key" >&2
			exit 3
		fi
		[ "$code" != 202 ] || echo "$prog: pending: $shown; asking again in $wait s" >&2
		sleep "$wait"
	done
	ct=$(header content-type "$W/headers" | tr '[:upper:]' '[:lower:]')
	case $ct in
	application/pkcs7-mime | application/pkcs7-mime[\;\ ]*) ;;
	*) die "$url: the server answered with ${ct:-no Content-Type}, not application/pkcs7-mime" ;;
	esac
	GOT_N=$(p7_split "$W/body" "$W/pool-got") || die "$url: the answer is not a base64 certs-only PKCS#7"
}

# est_chain: the answer's certificate for our key, then its issuers up to
# (not including) the root, from the answer or from /cacerts, as lanca's
# API sends the chain: into $W/body for the checks below.
est_chain() {
	pub=$(openssl pkey -in "$OUT/key.pem.new" -pubout)
	leaf=''
	i=1
	while [ "$i" -le "$GOT_N" ]; do
		if [ "$(openssl x509 -in "$W/pool-got$i.pem" -noout -pubkey)" = "$pub" ]; then
			leaf="$W/pool-got$i.pem"
			break
		fi
		i=$((i + 1))
	done
	[ -n "$leaf" ] || die "the certificate the server sent is not for this device's key"
	cat "$leaf" >"$W/body"
	cur=$leaf k=1
	while [ "$(issuer "$cur")" != "$(subject "$cur")" ] && [ $k -lt 8 ]; do
		next=''
		for f in "$W"/pool-got*.pem "$W"/pool-ca*.pem; do
			if [ -f "$f" ] && [ "$f" != "$cur" ] && [ "$(subject "$f")" = "$(issuer "$cur")" ]; then
				next=$f
				break
			fi
		done
		# A missing issuer shows when the chain is verified below.
		if [ -z "$next" ] || [ "$(subject "$next")" = "$(issuer "$next")" ]; then
			break
		fi
		cat "$next" >>"$W/body"
		cur=$next k=$((k + 1))
	done
}

if [ "$EST" -eq 1 ]; then
	est_enroll
	est_chain
else
	POLL='' RID=''
	while :; do
		: >"$W/body"
		: >"$W/headers"
		if [ -z "$POLL" ]; then
			HELD=1
			cst=0
			code=$(https -H 'Content-Type: application/pkcs10' --data-binary "@$W/csr.der" \
				"$ORIGIN/api/v1/enroll" 2>"$W/err") || cst=$?
			[ $cst -eq 0 ] || post_failed $cst "$ORIGIN/api/v1/enroll"
		else
			code=$(https "$POLL" 2>"$W/err") || die "GET $POLL: $(cat "$W/err")"
		fi
		case $code in
		200 | 201 | 202) ACCEPTED=1 ;;
		4??) [ "$ACCEPTED" -eq 1 ] || HELD=0 ;;
		esac
		case $code in
		200 | 201) break ;;
		202)
			loc=$(header location "$W/headers")
			if [ -n "$loc" ]; then
				case $loc in
				/*) POLL="$ORIGIN$loc" ;;
				"$ORIGIN"/*) POLL=$loc ;;
				*) die "the server points the pending request at another place: $loc" ;;
				esac
				RID=${loc##*/}
			fi
			[ -n "$RID" ] || RID=$(json_str id "$W/body")
			;;
		429) ;;
		403)
			[ -n "$POLL" ] && die "denied: $(refusal "$W/body" "$code")"
			die "refused: $(refusal "$W/body" "$code")"
			;;
		410) [ -n "$POLL" ] && die "request $RID expired before anyone approved it"
			die "refused: $(refusal "$W/body" "$code")" ;;
		404) [ -n "$POLL" ] && die "request $RID is unknown to the gateway"
			die "refused: $(refusal "$W/body" "$code")" ;;
		*) die "refused: $(refusal "$W/body" "$code")" ;;
		esac
		if ! pace; then
			echo "$prog: still pending after $TIMEOUT s: request ${RID:-(no id)}" >&2
			[ -z "$POLL" ] || echo "$prog: approve it on the gateway (lanca approve $RID, or press its button), then run this again; it polls $POLL" >&2
			exit 3
		fi
		[ "$code" != 202 ] || echo "$prog: pending${RID:+: request $RID}; asking again in $wait s" >&2
		sleep "$wait"
	done
fi

# Check what came back before writing it: leaf first, our key, not a CA,
# and the chain verifies against the root alone.
awk -v d="$W" '/-----BEGIN CERTIFICATE-----/ { n++ } n { print > (d "/c" n ".pem") } END { print n + 0 > (d "/count") }' "$W/body"
n=$(cat "$W/count")
if [ "$n" -lt 1 ] || [ "$n" -gt 8 ]; then
	die "the server's answer is not a PEM certificate chain"
fi
: >"$W/chain.pem"
i=1
while [ $i -le "$n" ]; do
	openssl x509 -in "$W/c$i.pem" -out "$W/x$i.pem" 2>/dev/null || die "certificate $i of the chain does not parse"
	cat "$W/x$i.pem" >>"$W/chain.pem"
	i=$((i + 1))
done
[ "$(openssl x509 -in "$W/x1.pem" -noout -pubkey)" = "$(openssl pkey -in "$OUT/key.pem.new" -pubout)" ] ||
	die "the certificate the server sent is not for this device's key"
if openssl x509 -in "$W/x1.pem" -noout -text | grep -q 'CA:TRUE'; then
	die "the server sent a CA certificate as the device's"
fi
openssl verify -trusted "$W/root.pem" -untrusted "$W/chain.pem" "$W/x1.pem" >"$W/err" 2>&1 ||
	die "the chain does not verify against the root: $(cat "$W/err")"

put "$OUT" cert.pem 644 <"$W/x1.pem"
put "$OUT" chain.pem 644 <"$W/chain.pem"
put "$OUT" root.pem 644 <"$W/root.pem"
printf '%s\n' "$GATEWAY" | put "$OUT" gateway.url 644
mv -f "$OUT/key.pem.new" "$OUT/key.pem" || die "cannot rename the key"
MADE_KEY=0 MADE_DIR=0 HELD=0
sync "$OUT" 2>/dev/null || sync
serial=$(openssl x509 -in "$OUT/cert.pem" -noout -serial | sed 's/.*=//')
until=$(openssl x509 -in "$OUT/cert.pem" -noout -enddate | sed 's/.*=//')
echo "$prog: issued $ID, serial $serial, valid until $until; files in $OUT"
