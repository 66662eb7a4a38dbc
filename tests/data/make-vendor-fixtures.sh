#!/bin/sh
# make-vendor-fixtures.sh - regenerates the committed vendor (manufacturer)
# CA fixtures in tests/data/vendor/ (used by tests/unit/test_vendor.c).
#
# The outputs are committed; this script shows how each one was made.
# Private keys are made in a temporary directory and thrown away: the tests
# only verify chains, they never sign.
#
# Every certificate is valid from 2020-01-01 to 2099-12-31 unless said
# otherwise, so the tests can pick a fixed "now" in between.
#
#   vendor-root.pem/.der  "Acme Devices Root CA", CA:TRUE, no path length
#   vendor-int.pem        "Acme Factory CA 1" under it, CA:TRUE pathlen 0
#   device.pem            factory (IDevID) cert CN=acme-0001 under vendor-int
#   device-expired.pem    the same for acme-0002, expired on 2021-01-01
#   sub-ca.pem            a CA under vendor-int: breaks its pathlen 0
#   device-deep.pem       CN=acme-0003 under sub-ca (chain violates pathlen)
#   other-root.pem        "Other Corp Root CA", never registered
#   other-device.pem      CN=other-0001 under other-root
#   not-ca.pem            a self-signed end-entity certificate (CA:FALSE)
#   v1.pem                an X.509 v1 certificate (no extensions at all;
#                         made by openssl, valid for 100 years from the run)
#
# Needs: certtool (GnuTLS) and openssl. Run from anywhere:
#   sh tests/data/make-vendor-fixtures.sh
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out="$here/vendor"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$out"

valid='activation_date = "2020-01-01 00:00:00"
expiration_date = "2099-12-31 23:59:59"'

# key NAME: a new P-256 key in $tmp/NAME.key
key() {
	certtool --generate-privkey --key-type ecdsa --curve secp256r1 \
		--outfile "$tmp/$1.key" 2>/dev/null
}

# selfsigned NAME TEMPLATE-LINES
selfsigned() {
	key "$1"
	printf '%s\n' "$2" > "$tmp/$1.tmpl"
	certtool --generate-self-signed --load-privkey "$tmp/$1.key" \
		--template "$tmp/$1.tmpl" --outfile "$out/$1.pem" 2>/dev/null
}

# signed NAME ISSUER TEMPLATE-LINES: NAME's certificate signed by ISSUER
# (whose key is still in $tmp).
signed() {
	key "$1"
	printf '%s\n' "$3" > "$tmp/$1.tmpl"
	certtool --generate-certificate --load-privkey "$tmp/$1.key" \
		--load-ca-certificate "$out/$2.pem" --load-ca-privkey "$tmp/$2.key" \
		--template "$tmp/$1.tmpl" --outfile "$out/$1.pem" 2>/dev/null
}

selfsigned vendor-root "cn = Acme Devices Root CA
organization = Acme
serial = 0x1001
ca
cert_signing_key
crl_signing_key
path_len = -1
$valid"
certtool --certificate-info --infile "$out/vendor-root.pem" --outder \
	--outfile "$out/vendor-root.der" 2>/dev/null

signed vendor-int vendor-root "cn = Acme Factory CA 1
organization = Acme
serial = 0x1002
ca
cert_signing_key
path_len = 0
$valid"

signed device vendor-int "cn = acme-0001
organization = Acme
serial = 0x0a0b0c0d
signing_key
tls_www_client
$valid"

signed device-expired vendor-int "cn = acme-0002
organization = Acme
serial = 0x0a0b0c0e
signing_key
tls_www_client
activation_date = \"2020-01-01 00:00:00\"
expiration_date = \"2021-01-01 00:00:00\""

signed sub-ca vendor-int "cn = Acme Line 7 CA
organization = Acme
serial = 0x1003
ca
cert_signing_key
path_len = 0
$valid"

signed device-deep sub-ca "cn = acme-0003
organization = Acme
serial = 0x0a0b0c0f
signing_key
tls_www_client
$valid"

selfsigned other-root "cn = Other Corp Root CA
organization = Other Corp
serial = 0x2001
ca
cert_signing_key
path_len = -1
$valid"

signed other-device other-root "cn = other-0001
organization = Other Corp
serial = 0x2002
signing_key
tls_www_client
$valid"

selfsigned not-ca "cn = Acme Not A CA
organization = Acme
serial = 0x3001
signing_key
tls_www_server
$valid"

# openssl x509 -req without an extension file writes a version 1
# certificate, which certtool will not.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$tmp/v1.key" -subj "/CN=Acme Version 1/O=Acme" -out "$tmp/v1.csr" 2>/dev/null
openssl x509 -req -in "$tmp/v1.csr" -signkey "$tmp/v1.key" -days 36500 \
	-set_serial 0x3002 -out "$out/v1.pem" 2>/dev/null
