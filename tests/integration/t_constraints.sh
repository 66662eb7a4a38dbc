#!/bin/sh
# t_constraints.sh - the name constraints really bind: a certificate for a
# public name, forged with the issuing CA's own key outside lanca (openssl
# signs whatever it is told), fails verification against lanca's root.
. "$(dirname "$0")/lib.sh"

D="$T/state"
"$LANCA" init --dir "$D" --name constraints >/dev/null || fail "init"
make_csr ok1 ok-1 "DNS:ok-1.local"
"$LANCA" sign "$T/ok1.csr" --dir "$D" >"$T/ok.pem" || fail "sign"
split_chain "$T/ok.pem"
ISSUING="$T/ok.pem.2.pem"

forge() {
	name=$1 san=$2
	printf 'basicConstraints=critical,CA:FALSE\nsubjectAltName=%s\nextendedKeyUsage=serverAuth\n' \
		"$san" >"$T/$name.ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$name.key" \
		-subj "/CN=$3" -out "$T/$name.csr" 2>/dev/null
	openssl x509 -req -in "$T/$name.csr" -CA "$ISSUING" -CAkey "$D/keys/issuing.key" \
		-CAcreateserial -days 30 -extfile "$T/$name.ext" -out "$T/$name.pem" 2>/dev/null ||
		fail "openssl could not forge $name"
}

# The control: a forged certificate inside the constraints does verify, so
# the failures below are the constraints at work, not a broken forgery.
forge inside "DNS:printer.local" printer.local
openssl verify -CAfile "$D/root.pem" -untrusted "$ISSUING" "$T/inside.pem" >/dev/null ||
	fail "a forged certificate for a local name should verify (control)"
ok "control: a certificate for printer.local made with the issuing key verifies"

for case in "public:DNS:www.example.com:www.example.com" "bank:DNS:login.bank.com:login.bank.com" \
	"ip:IP:8.8.8.8:8.8.8.8"; do
	name=${case%%:*}; rest=${case#*:}
	san=${rest%:*}; cn=${rest##*:}
	forge "$name" "$san" "$cn"
	st=0
	openssl verify -CAfile "$D/root.pem" -untrusted "$ISSUING" "$T/$name.pem" >"$T/$name.out" 2>&1 || st=$?
	[ $st -ne 0 ] || fail "a forged certificate for $san verified: the constraints do not bind"
	grep -qi "subtree" "$T/$name.out" || fail "$san failed for another reason: $(cat "$T/$name.out")"
	ok "a forged certificate for $san fails openssl verify (permitted subtree violation)"
done

# GnuTLS agrees (certtool --verify with the root as the only anchor).
if command -v certtool >/dev/null 2>&1; then
	cat "$T/public.pem" "$ISSUING" >"$T/public-chain.pem"
	st=0
	certtool --verify --load-ca-certificate "$D/root.pem" --infile "$T/public-chain.pem" \
		>"$T/certtool.out" 2>&1 || st=$?
	[ $st -ne 0 ] || fail "certtool accepted the forged chain"
	ok "GnuTLS's certtool also rejects the forged chain"
fi

echo "t_constraints: $n_ok passed, 0 failed"
