#!/bin/sh
# check-layout.sh - the include rules of docs/architecture.md, enforced.
#
# Each folder of src/ (with its subfolders, such as http/acme/) may include
# headers only from the folders listed for
# it below (its own included). A line `#include "folder/file.h"` naming a
# folder not on the list, or a header without its folder, fails the check;
# so does a source file directly in src/. Run by `make check` (through
# tests/integration/t_layout.sh, which also shows it catches a bad
# include); prints every violation, one per line, as FILE:LINE: what.
#
# usage: check-layout.sh [SRC_DIR]   (default: the src/ beside tests/)
#        check-layout.sh --allowed FOLDER
set -u
src=${1:-$(cd "$(dirname "$0")/.." && pwd)/src}

# folder: the folders it may include (besides itself and config.h).
allowed() {
	case $1 in
	common) echo "" ;;
	ca) echo "common" ;;
	signer) echo "common ca" ;;
	store) echo "common ca" ;;
	daemon) echo "common ca signer store" ;;
	http) echo "common ca signer daemon" ;;
	cli) echo "common ca signer store daemon http" ;;
	client) echo "common" ;;
	*) echo "-" ;;
	esac
}

# `check-layout.sh --allowed FOLDER` prints the folders FOLDER may use
# (tests/check-calls.sh asks, so the table is written once).
if [ "${1:-}" = --allowed ]; then
	allowed "${2:?--allowed FOLDER}"
	exit 0
fi

cd "$src" || exit 1
bad=0
for f in *.c *.h; do
	[ -e "$f" ] || continue
	echo "src/$f: source file outside the folders of src/"
	bad=1
done
for dir in */; do
	dir=${dir%/}
	ok=$(allowed "$dir")
	if [ "$ok" = "-" ]; then
		echo "src/$dir: a folder the layout does not know (add its rule to tests/check-layout.sh)"
		bad=1
		continue
	fi
	for f in "$dir"/*.c "$dir"/*.h "$dir"/*/*.c "$dir"/*/*.h; do
		[ -e "$f" ] || continue
		# "FILE:LINE:HEADER" for every quoted include but config.h.
		grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
		sed 's/^\([0-9]*\):[^"]*"\([^"]*\)".*/\1 \2/' |
		while read -r line hdr; do
			[ "$hdr" = config.h ] && continue
			case $hdr in
			*/*) to=${hdr%%/*} ;;
			*)
				echo "src/$f:$line: \"$hdr\" without its folder"
				echo x >&3
				continue
				;;
			esac
			[ "$to" = "$dir" ] && continue
			case " $ok " in
			*" $to "*) ;;
			*)
				echo "src/$f:$line: $dir/ may not include $hdr"
				echo x >&3
				;;
			esac
		done
	done
done 3>"${TMPDIR:-/tmp}/check-layout.$$"
[ -s "${TMPDIR:-/tmp}/check-layout.$$" ] && bad=1
rm -f "${TMPDIR:-/tmp}/check-layout.$$"
if [ $bad -ne 0 ]; then
	echo "check-layout: FAIL (rules: docs/architecture.md, 'Layout')"
	exit 1
fi
echo "check-layout: every include follows the layout"
