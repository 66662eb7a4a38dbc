#!/usr/bin/env bash
# run-all.sh - the whole test run, exactly as CI does it (.ci/run calls this).
#
# Installs the Debian packages lanca needs (a no-op when they are there),
# regenerates the build system, builds out of tree in _build/ with
# AddressSanitizer, UndefinedBehaviorSanitizer and -Werror, runs `make check`,
# then the integration tests again on PostgreSQL (`make check-postgresql`),
# then `make distcheck` (a release tarball that builds and passes its tests
# on its own, with -Werror and no sanitizers), then a few integration tests
# under valgrind in a plain build in _build_vg/. Exits non-zero on any failure.
set -euo pipefail

cd "$(dirname "$0")/.."
top=$(pwd)
build="$top/_build"

say() { printf 'run-all: %s\n' "$*"; }

# The integration tests CI runs under valgrind (make check-valgrind).
VALGRIND_CI_TESTS="tests/integration/t_enroll.sh tests/integration/t_admin.sh"

# Counts the results the automake harness recorded in DIR's .trs files and
# prints the closing line "run-all: N passed, N failed, N skipped".
summary() {
	local dir=$1 pass=0 fail=0 skip=0 res
	while IFS= read -r res; do
		case "$res" in
		PASS | XFAIL) pass=$((pass + 1)) ;;
		SKIP) skip=$((skip + 1)) ;;
		*) fail=$((fail + 1)) ;;
		esac
	done < <(find "$dir" -name '*.trs' -exec sed -n 's/^:test-result: //p' {} +)
	say "$pass passed, $fail failed, $skip skipped"
}

# Prints the harness's test-suite.log (it holds the log of every test that
# failed) and names the failed tests, so a CI log explains itself.
show_failures() {
	local dir=$1 log trs
	while IFS= read -r trs; do
		if grep -Eq '^:test-result: (FAIL|ERROR|XPASS)' "$trs"; then
			say "FAILED: ${trs%.trs}"
		fi
	done < <(find "$dir" -name '*.trs' | sort)
	while IFS= read -r log; do
		printf '\n===== %s =====\n' "$log"
		cat "$log"
	done < <(find "$dir" -name test-suite.log | sort)
}

say "installing build dependencies"
bash contrib/debian-deps.sh

# A VPATH build needs a source tree that was never configured in place:
# configure refuses otherwise, and make would pick up stale in-tree objects.
if [ -f config.status ]; then
	say "removing the in-tree build (make distclean) so _build/ starts clean"
	if ! make distclean >/dev/null 2>&1; then
		rm -f config.status config.h config.log stamp-h1 src/schema_sql.c
		find src tests -name '*.o' -delete
	fi
fi

say "autoreconf -fi"
autoreconf -fi

# A failed distcheck leaves a read-only tree behind; make it removable.
if [ -d "$build" ]; then
	chmod -R u+w "$build"
	rm -rf "$build"
fi
mkdir -p "$build"
cd "$build"

say "configure --enable-sanitizers --enable-werror (in _build/)"
../configure --enable-sanitizers --enable-werror

say "make"
make -j2

say "make check"
if ! make -j2 check; then
	show_failures "$build"
	summary "$build"
	exit 1
fi
for log in "$build"/tests/unit/test_*.log; do
	[ -f "$log" ] || continue
	printf '%s: %s\n' "${log#"$build"/}" "$(grep -E '^[0-9]+%: Checks:' "$log" | tail -n 1)"
done
summary "$build"

# The integration suite once more with every test's store on a PostgreSQL
# server the test starts itself (tests/integration/pg.sh; docs/scaling.md).
say "make check-postgresql"
if ! make -j2 check-postgresql; then
	show_failures "$build"
	summary "$build"
	exit 1
fi
summary "$build"

say "make distcheck (-Werror, no sanitizers)"
if ! make -j2 distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror; then
	# distcheck builds in lanca-VERSION/_build/sub; keep its logs visible.
	show_failures "$build"/lanca-*/ 2>/dev/null || true
	say "make distcheck failed"
	exit 1
fi

summary "$build"

# A few integration tests with every lanca process under valgrind's
# memcheck, in a plain build (valgrind and ASan do not mix): the whole
# suite (make check-valgrind) takes too long for CI; see
# docs/reliability.md, "Valgrind".
vbuild="$top/_build_vg"
rm -rf "$vbuild"
mkdir -p "$vbuild"
cd "$vbuild"
say "make check-valgrind (a subset, plain build in _build_vg/)"
../configure --enable-werror CFLAGS='-O1 -g' >/dev/null
make -j2 >/dev/null
if ! make -j2 check-valgrind VALGRIND_TESTS="$VALGRIND_CI_TESTS"; then
	show_failures "$vbuild"
	say "make check-valgrind failed"
	exit 1
fi
say "all checks passed"
