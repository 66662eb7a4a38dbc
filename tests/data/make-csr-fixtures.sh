#!/bin/sh
# make-csr-fixtures.sh - regenerates the committed CSR fixtures in
# tests/data/csr/ (used by tests/unit/test_csr.c and test_policy.c).
#
# The outputs are committed; this script is kept so that anyone can see how
# each hostile input was made and make them again. Private keys are made in
# a temporary directory and thrown away: no test needs one.
#
# Needs: openssl (3.x) and certtool (GnuTLS). Run from anywhere:
#   sh tests/data/make-csr-fixtures.sh
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out="$here/csr"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$out"

# req NAME KEYSPEC SUBJECT [extra openssl req args...]
# KEYSPEC is an -newkey argument ("ec", "rsa:2048", "ed25519", ...); for
# "ec" the curve comes from $curve.
req() {
	name=$1; keyspec=$2; subj=$3; shift 3
	if [ "$keyspec" = ec ]; then
		openssl req -new -newkey ec -pkeyopt "ec_paramgen_curve:$curve" \
			-nodes -keyout "$tmp/$name.key" -subj "$subj" "$@" \
			-out "$out/$name.pem" 2>/dev/null
	else
		openssl req -new -newkey "$keyspec" -nodes -keyout "$tmp/$name.key" \
			-subj "$subj" "$@" -out "$out/$name.pem" 2>/dev/null
	fi
}

# ctreq NAME TEMPLATE-LINES: a P-256 request made by GnuTLS's certtool
# (which, unlike openssl, lets us write a CN over 64 bytes). certtool writes
# the "NEW CERTIFICATE REQUEST" PEM label.
ctreq() {
	certtool --generate-privkey --key-type ecdsa --curve secp256r1 \
		--outfile "$tmp/$1.key" 2>/dev/null
	printf '%s\n' "$2" > "$tmp/$1.tmpl"
	certtool --generate-request --load-privkey "$tmp/$1.key" \
		--template "$tmp/$1.tmpl" --outfile "$out/$1.pem" 2>/dev/null
}

# --- accepted keys ---------------------------------------------------------
curve=P-256
req p256 ec /CN=dev-p256 -addext "subjectAltName=DNS:x.local,IP:192.168.1.10"
openssl req -in "$out/p256.pem" -outform DER -out "$out/p256.der"
# The SHA-256 of the request's SubjectPublicKeyInfo, as openssl computes it:
# the test compares csr->key_id against this.
openssl req -in "$out/p256.pem" -noout -pubkey |
	openssl pkey -pubin -outform DER |
	openssl dgst -sha256 -r | cut -d' ' -f1 > "$out/p256.keyid"
curve=P-384
req p384 ec /CN=dev-p384 -addext "subjectAltName=DNS:sensor.home.arpa,IP:fd00::10"
req ed25519 ed25519 /CN=dev-ed25519 -addext "subjectAltName=DNS:cam.local"
req rsa2048 rsa:2048 /CN=dev-rsa2048 -addext "subjectAltName=DNS:nas.local"
# The same request with the PEM label older tools (Netscape, MS) write.
sed -e 's/BEGIN CERTIFICATE REQUEST/BEGIN NEW CERTIFICATE REQUEST/' \
    -e 's/END CERTIFICATE REQUEST/END NEW CERTIFICATE REQUEST/' \
    "$out/p256.pem" > "$out/new-header.pem"
# No SANs at all: a client-only device certificate.
curve=P-256
req no-san ec /CN=dev-nosan
# Made with GnuTLS's certtool rather than openssl.
ctreq certtool 'cn = "dev-certtool"
dns_name = "printer.local"
ip_address = "10.1.2.3"'

# --- refused keys ----------------------------------------------------------
req rsa1024 rsa:1024 /CN=dev-rsa1024 -addext "subjectAltName=DNS:old.local"
curve=P-224
req p224 ec /CN=dev-p224
curve=P-521
req p521 ec /CN=dev-p521
curve=secp256k1
req secp256k1 ec /CN=dev-k1
req ed448 ed448 /CN=dev-ed448
openssl genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:2048 \
	-out "$tmp/dsa.param" 2>/dev/null
req dsa "dsa:$tmp/dsa.param" /CN=dev-dsa -sha256

# --- signature hashes --------------------------------------------------------
# SHA-1 self-signatures stay accepted (old devices; the signature only
# proves possession of the key); MD5 is refused, naming the algorithm.
req rsa2048-sha1 rsa:2048 /CN=dev-rsa-sha1 -addext "subjectAltName=DNS:old-rsa.local" -sha1
curve=P-256
req p256-sha1 ec /CN=dev-p256-sha1 -addext "subjectAltName=DNS:old-ec.local" -sha1
req rsa2048-md5 rsa:2048 /CN=dev-rsa-md5 -addext "subjectAltName=DNS:md5.local" -md5

# --- not a request ---------------------------------------------------------
# Fixed bytes, not random, so the file is the same every time.
i=0
: > "$out/garbage.bin"
while [ $i -lt 16 ]; do
	printf 'lanca garbage %02d: \001\002\377 not DER at all\n' $i >> "$out/garbage.bin"
	i=$((i + 1))
done
# A valid DER request cut in half.
size=$(wc -c < "$out/p256.der")
head -c $((size / 2)) "$out/p256.der" > "$out/truncated.der"
# The last byte of the DER is the last byte of the ECDSA signature's s: flip
# one bit so the request still parses but its signature does not verify.
head -c $((size - 1)) "$out/p256.der" > "$out/badsig.der"
last=$(tail -c 1 "$out/p256.der" | od -An -tu1 | tr -d ' ')
printf "$(printf '\\%03o' $((last ^ 1)))" >> "$out/badsig.der"
# PEM armour around garbage.
{
	echo "-----BEGIN CERTIFICATE REQUEST-----"
	echo "bGFuY2EgZ2FyYmFnZSBpbnNpZGUgYSBQRU0gYmxvY2sK"
	echo "-----END CERTIFICATE REQUEST-----"
} > "$out/pem-garbage.pem"

# --- names -----------------------------------------------------------------
curve=P-256
req public-san ec /CN=dev-pub -addext "subjectAltName=DNS:x.local,DNS:www.example.com"
req public-ip ec /CN=dev-pubip -addext "subjectAltName=IP:8.8.8.8"
req localhost ec /CN=dev-lh -addext "subjectAltName=DNS:localhost"
req loopback ec /CN=dev-lo -addext "subjectAltName=IP:127.0.0.1"
req loopback6 ec /CN=dev-lo6 -addext "subjectAltName=IP:::1"
req ca-true ec /CN=dev-ca -addext "basicConstraints=critical,CA:TRUE" \
	-addext "subjectAltName=DNS:ca.local"
ctreq long-cn "cn = \"$(printf 'd%064d' 0)\""
req max-cn ec "/CN=$(printf 'd%063d' 0)"
req bad-cn ec "/CN=dev one"
req no-cn ec "/O=lanca test" -addext "subjectAltName=DNS:nocn.local"
req two-cn ec "/CN=dev-a/CN=dev-b"
req email-san ec /CN=dev-mail -addext "subjectAltName=DNS:m.local,email:a@m.local"
req uri-san ec /CN=dev-uri -addext "subjectAltName=URI:https://u.local/"
req wildcard ec /CN=dev-wild -addext "subjectAltName=DNS:*.w.local"
req bad-dns ec /CN=dev-baddns -addext "subjectAltName=DNS:-bad-.local"
sans=""
i=0
while [ $i -lt 40 ]; do
	sans="${sans}${sans:+,}DNS:d$i.local"
	i=$((i + 1))
done
req many-sans ec /CN=dev-many -addext "subjectAltName=$sans"

# --- over 16 KiB -----------------------------------------------------------
# A well-formed request that is simply too big: 250 long SANs.
sans=""
i=0
while [ $i -lt 250 ]; do
	sans="${sans}${sans:+,}DNS:a-rather-long-device-name-number-$i.sensors.home.arpa"
	i=$((i + 1))
done
req oversized ec /CN=dev-big -addext "subjectAltName=$sans"

# --- a CA certificate with nameConstraints (for policy_from_ca) ------------
certtool --generate-privkey --key-type ecdsa --curve secp256r1 \
	--outfile "$tmp/ca.key" 2>/dev/null
cat > "$tmp/ca.tmpl" <<'EOF'
cn = "lanca test CA"
ca
cert_signing_key
crl_signing_key
expiration_days = 3650
nc_permit_dns = "local"
nc_permit_dns = "home.arpa"
nc_permit_dns = "site.example"
nc_permit_ip = "10.0.0.0/8"
nc_permit_ip = "192.168.0.0/16"
nc_permit_ip = "fc00::/7"
nc_permit_ip = "::1/128"
nc_permit_email = "admin@site.example"
EOF
certtool --generate-self-signed --load-privkey "$tmp/ca.key" \
	--template "$tmp/ca.tmpl" --outfile "$out/ca-nc.pem" 2>/dev/null

chmod 644 "$out"/*
echo "fixtures written to $out"
ls -l "$out"
