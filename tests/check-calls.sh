#!/bin/sh
# check-calls.sh - the call rules of docs/architecture.md, enforced on the
# built libraries: a folder's library may use symbols defined by its own
# folder and the folders it may include (tests/check-layout.sh's table),
# never one defined by a folder above it. Together with the include check
# this rules out a call circle between folders, whatever the link order.
#
# usage: check-calls.sh BUILD_DIR    (where src/<folder>/lib<folder>.a are)
# Prints every violation as "folder/: calls SYMBOL of other/" and exits 1.
set -u
build=${1:?usage: check-calls.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
folders="common ca signer store daemon http"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-calls.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

for f in $folders; do
	lib="$build/src/$f/lib$f.a"
	[ -f "$lib" ] || { echo "check-calls: $lib is not built"; exit 1; }
	# "SYMBOL FOLDER" for every global symbol the folder defines.
	nm -g --defined-only "$lib" | awk -v f="$f" 'NF == 3 && $2 ~ /[TDBR]/ { print $3, f }' >>"$tmp/defs"
	nm -u "$lib" | awk '{ print $NF }' | sort -u >"$tmp/undef.$f"
done
sort -u "$tmp/defs" >"$tmp/defs.sorted"

bad=0
for f in $folders; do
	ok=$(sh "$here/check-layout.sh" --allowed "$f")
	join "$tmp/undef.$f" "$tmp/defs.sorted" | while read -r sym owner; do
		[ "$owner" = "$f" ] && continue
		case " $ok " in
		*" $owner "*) ;;
		*) echo "$f/: calls $sym of $owner/" ;;
		esac
	done >>"$tmp/bad"
done
if [ -s "$tmp/bad" ]; then
	cat "$tmp/bad"
	echo "check-calls: FAIL (rules: docs/architecture.md, 'Layout')"
	exit 1
fi
echo "check-calls: no folder calls into a folder above it"
