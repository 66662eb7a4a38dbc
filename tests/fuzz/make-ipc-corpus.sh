#!/bin/sh
# make-ipc-corpus.sh - writes the seed corpus of fuzz_ipc into DIR
# (default: corpus/ipc beside this script): byte streams as one end of the
# daemon <-> signer channel receives them, valid and broken. Each file is
# one or more messages, an 8-byte header {u32 length, u16 type, u16 flags}
# (big-endian) then the payload, in the layouts signer.c documents:
#   ISSUE (2)      u8 profile, u32 days, bytes serial (17), bytes csr
#   OK (0x100)     u64 not_before, u64 not_after, bytes der
#   ERROR (0x101)  str code, u16 http, str message
#   READY (1)      empty
# where bytes and str are a u32 length then the bytes. The output is
# committed; rerun this only to change the seeds.
set -eu

dir=${1:-$(dirname "$0")/corpus/ipc}
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One byte, from its decimal value (printf's octal escapes are portable).
u8() { printf "\\$(printf '%03o' "$(($1 & 255))")"; }
u16() { u8 $(($1 >> 8)); u8 "$1"; }
u32() { u16 $(($1 >> 16)); u16 $(($1 & 65535)); }
u64() { u32 0; u32 "$1"; }	# the values here fit in 32 bits
# Length-prefixed bytes: the file's size, then the file.
bytes() { u32 "$(wc -c < "$1")"; cat "$1"; }
str() { printf '%s' "$1" > "$tmp/s"; bytes "$tmp/s"; }
# A whole message: type, then the payload in file $2, its size as length.
msg() { u32 "$(wc -c < "$2")"; u16 "$1"; u16 0; cat "$2"; }

# A 17-byte serial (first byte 0x01..0x7f: positive, minimal DER), a longer
# one, and a stand-in for a CSR (the framing does not look inside it).
printf '\001\002\003\004\005\006\007\010\011\012\013\014\015\016\017\020\021' > "$tmp/serial"
printf '\001\002\003\004\005\006\007\010\011\012\013\014\015\016\017\020\021\022' > "$tmp/serial18"
printf '0\202\001\000 a certificate request would be here' > "$tmp/csr"

{ u8 1; u32 90; bytes "$tmp/serial"; bytes "$tmp/csr"; } > "$tmp/issue"
{ u8 2; u32 0; bytes "$tmp/serial"; bytes "$tmp/csr"; } > "$tmp/issue-gw"
{ u8 1; u32 90; bytes "$tmp/serial18"; bytes "$tmp/csr"; } > "$tmp/issue-serial18"
{ cat "$tmp/issue"; u8 0; } > "$tmp/issue-trailing"
{ u8 1; u32 90; bytes "$tmp/serial"; u32 16385; cat "$tmp/csr"; } > "$tmp/issue-csr-len"
{ u64 1700000000; u64 1707776000; bytes "$tmp/csr"; } > "$tmp/ok"
{ str bad_csr; u16 400; str "the request's self-signature does not verify"; } > "$tmp/error"
{ printf 'bad'; u8 0; printf 'csr'; } > "$tmp/nul"
{ u32 7; cat "$tmp/nul"; u16 400; str x; } > "$tmp/error-nul"
: > "$tmp/empty"

msg 2 "$tmp/issue" > "$dir/issue"
msg 2 "$tmp/issue-gw" > "$dir/issue-gateway"
msg 2 "$tmp/issue-serial18" > "$dir/issue-serial-too-long"
msg 2 "$tmp/issue-trailing" > "$dir/issue-trailing-byte"
msg 2 "$tmp/issue-csr-len" > "$dir/issue-csr-over-max"
msg 256 "$tmp/ok" > "$dir/ok"
msg 257 "$tmp/error" > "$dir/error"
msg 257 "$tmp/error-nul" > "$dir/error-nul-in-code"
{ msg 1 "$tmp/empty"; msg 2 "$tmp/issue"; msg 256 "$tmp/ok"; } > "$dir/three-messages"
# A header promising more than follows, and one over IPC_MAX (64 KiB).
msg 2 "$tmp/issue" | head -c 40 > "$dir/short-payload"
{ u32 65537; u16 2; u16 0; cat "$tmp/issue"; } > "$dir/length-over-max"
msg 1 "$tmp/empty" | head -c 5 > "$dir/short-header"
