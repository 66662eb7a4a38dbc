#!/bin/sh
# t_layout.sh - the folders of src/ include and call only what their rules
# allow (tests/check-layout.sh on the sources, tests/check-calls.sh on the
# built libraries), and both checks catch what they should.
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"

check="$TOP_SRCDIR/tests/check-layout.sh"

sh "$check" "$TOP_SRCDIR/src" >"$T/out" 2>&1 || fail "layout: $(cat "$T/out")"
ok "every include in src/ follows the layout"

# A copy of the rules' worst cases: the signer reaching into the store, the
# HTTP edge into the store, the daemon up into HTTP, a header without its
# folder, a file outside the folders, an unknown folder.
mk() { mkdir -p "$(dirname "$T/src/$1")" && printf '%s\n' "$2" >"$T/src/$1"; }
mk common/buf.h '#include <stddef.h>'
mk ca/x509.h '#include "common/buf.h"'
mk store/store.h '#include "ca/x509.h"'
mk signer/sign.c '#include "config.h"
#include "ca/x509.h"'
sh "$check" "$T/src" >"$T/out" 2>&1 || fail "a clean tree was refused: $(cat "$T/out")"
ok "a tree that follows the rules passes"

expect_refused() {
	if sh "$check" "$T/src" >"$T/out" 2>&1; then
		fail "$1: not caught"
	fi
	grep -q "$2" "$T/out" || fail "$1: wrong message: $(cat "$T/out")"
}
mk signer/bad.c '#include "store/store.h"'
expect_refused "signer including store" "src/signer/bad.c:1: signer/ may not include store/store.h"
rm "$T/src/signer/bad.c"
mk http/api.c '#include "store/store.h"'
expect_refused "http including store" "src/http/api.c:1: http/ may not include store/store.h"
rm "$T/src/http/api.c"
mk daemon/enroll.c '  #  include "http/route.h"'
expect_refused "daemon including http" "daemon/ may not include http/route.h"
rm "$T/src/daemon/enroll.c"
mk client/main.c '#include "daemon/state.h"'
expect_refused "client including daemon" "client/ may not include daemon/state.h"
rm "$T/src/client/main.c"
mk ca/names.c '#include "buf.h"'
expect_refused "a header without its folder" '"buf.h" without its folder'
rm "$T/src/ca/names.c"
mk stray.c '/* nothing */'
expect_refused "a file outside the folders" "src/stray.c: source file outside"
rm "$T/src/stray.c"
mk extra/x.c '/* nothing */'
expect_refused "an unknown folder" "src/extra: a folder the layout does not know"
ok "the check catches signer->store, http->store, daemon->http, client->daemon, bare headers, stray files and unknown folders"

# Calls: the built libraries use no symbol of a folder above them.
sh "$TOP_SRCDIR/tests/check-calls.sh" "$TOP_BUILDDIR" >"$T/out" 2>&1 ||
	fail "calls: $(cat "$T/out")"
ok "no library of src/ calls into a folder above it"

# And the call check catches one: six tiny libraries where the signer's
# calls a function the store defines.
cc_lib() {	# FOLDER C-SOURCE
	mkdir -p "$T/b/src/$1"
	printf '%s\n' "$2" >"$T/b/$1.c"
	cc -c -o "$T/b/$1.o" "$T/b/$1.c" && ar rcs "$T/b/src/$1/lib$1.a" "$T/b/$1.o"
}
cc_lib common 'int common_fn(void) { return 1; }'
cc_lib ca 'int common_fn(void); int ca_fn(void) { return common_fn(); }'
cc_lib store 'int ca_fn(void); int store_open_fn(void) { return ca_fn(); }'
cc_lib signer 'int ca_fn(void); int signer_fn(void) { return ca_fn(); }'
cc_lib daemon 'int store_open_fn(void); int signer_fn(void); int daemon_fn(void) { return store_open_fn() + signer_fn(); }'
cc_lib http 'int daemon_fn(void); int http_fn(void) { return daemon_fn(); }'
sh "$TOP_SRCDIR/tests/check-calls.sh" "$T/b" >"$T/out" 2>&1 ||
	fail "calls: a clean set was refused: $(cat "$T/out")"
cc_lib signer 'int store_open_fn(void); int signer_fn(void) { return store_open_fn(); }'
if sh "$TOP_SRCDIR/tests/check-calls.sh" "$T/b" >"$T/out" 2>&1; then
	fail "calls: signer calling the store was not caught"
fi
grep -q "signer/: calls store_open_fn of store/" "$T/out" || fail "calls: wrong message: $(cat "$T/out")"
cc_lib signer 'int ca_fn(void); int signer_fn(void) { return ca_fn(); }'
cc_lib http 'int store_open_fn(void); int http_fn(void) { return store_open_fn(); }'
if sh "$TOP_SRCDIR/tests/check-calls.sh" "$T/b" >"$T/out" 2>&1; then
	fail "calls: http calling the store was not caught"
fi
grep -q "http/: calls store_open_fn of store/" "$T/out" || fail "calls: wrong message: $(cat "$T/out")"
ok "the call check catches signer->store and http->store"

echo "t_layout: $n_ok passed, 0 failed"
