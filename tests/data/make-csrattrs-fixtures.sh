#!/bin/sh
# make-csrattrs-fixtures.sh - regenerates the committed CsrAttrs fixtures
# in tests/data/csrattrs/ (used by tests/unit/test_csrattrs.c and seeded
# into the fuzz_est corpus).
#
# Every file is encoded by openssl from a description of its structure
# (asn1parse -genconf), never by lanca: lanca.der and lanca-binding.der
# are the golden files csrattrs_build must reproduce byte for byte, the
# rest are inputs csrattrs_parse must read or refuse.
#
# Needs: openssl (3.x). Run from anywhere:
#   sh tests/data/make-csrattrs-fixtures.sh
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out="$here/csrattrs"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$out"

# gen NAME: DER from the -genconf text on stdin into $out/NAME.der.
gen() {
	cat > "$tmp/$1.cnf"
	openssl asn1parse -genconf "$tmp/$1.cnf" -out "$out/$1.der" -noout
}

# What lanca asks for: the key (id-ecPublicKey with P-256) and the
# signature algorithm, and with channel binding challengePassword first.
gen lanca <<'CNF'
asn1 = SEQUENCE:attrs
[attrs]
key = SEQUENCE:eckey
sig = OID:1.2.840.10045.4.3.2
[eckey]
type = OID:1.2.840.10045.2.1
values = SET:p256
[p256]
curve = OID:1.2.840.10045.3.1.7
CNF
gen lanca-binding <<'CNF'
asn1 = SEQUENCE:attrs
[attrs]
cp = OID:1.2.840.113549.1.9.7
key = SEQUENCE:eckey
sig = OID:1.2.840.10045.4.3.2
[eckey]
type = OID:1.2.840.10045.2.1
values = SET:p256
[p256]
curve = OID:1.2.840.10045.3.1.7
CNF

# The example of RFC 7030 §4.5.2 (P-384, an extensionRequest for the MAC
# address, ecdsa-with-SHA384).
gen rfc7030 <<'CNF'
asn1 = SEQUENCE:attrs
[attrs]
cp = OID:1.2.840.113549.1.9.7
key = SEQUENCE:eckey
ext = SEQUENCE:extreq
sig = OID:1.2.840.10045.4.3.3
[eckey]
type = OID:1.2.840.10045.2.1
values = SET:p384
[p384]
curve = OID:1.3.132.0.34
[extreq]
type = OID:1.2.840.113549.1.9.14
values = SET:mac
[mac]
mac = OID:1.3.6.1.1.1.1.22
CNF

# An attribute whose value is not an OID (an RSA key size): read, value "".
gen rsa-size <<'CNF'
asn1 = SEQUENCE:attrs
[attrs]
key = SEQUENCE:rsa
[rsa]
type = OID:1.2.840.113549.1.1.1
values = SET:size
[size]
bits = INTEGER:2048
CNF

# An empty CsrAttrs: nothing asked for, which is valid (SIZE (0..MAX)).
gen empty <<'CNF'
asn1 = SEQUENCE:attrs
[attrs]
CNF

# A hundred entries, more than CSRATTRS_MAX.
{
	echo 'asn1 = SEQUENCE:attrs'
	echo '[attrs]'
	i=0
	while [ $i -lt 100 ]; do
		echo "o$i = OID:1.3.6.1.4.1.$i"
		i=$((i + 1))
	done
} | gen hundred

# An OID whose dotted text is longer than CSRATTRS_OID_MAX allows.
gen long-oid <<'CNF'
asn1 = SEQUENCE:attrs
[attrs]
o = OID:1.3.6.1.4.1.1111111111.2222222222.3333333333.4444444444.5555555555.6666666666
CNF

# An attribute with an empty SET of values (SIZE (1..MAX) says at least one).
gen no-values <<'CNF'
asn1 = SEQUENCE:attrs
[attrs]
key = SEQUENCE:eckey
[eckey]
type = OID:1.2.840.10045.2.1
values = SET:none
[none]
CNF

# An entry that is neither an OID nor an Attribute (an INTEGER).
gen integer-entry <<'CNF'
asn1 = SEQUENCE:attrs
[attrs]
sig = OID:1.2.840.10045.4.3.2
n = INTEGER:7
CNF

# The outer SEQUENCE written as a SET.
gen set-outer <<'CNF'
asn1 = SET:attrs
[attrs]
sig = OID:1.2.840.10045.4.3.2
CNF

# Cut short and followed by garbage, from the golden file.
size=$(wc -c < "$out/lanca.der")
head -c $((size - 3)) "$out/lanca.der" > "$out/truncated.der"
{ cat "$out/lanca.der"; printf 'garbage'; } > "$out/trailing.der"
