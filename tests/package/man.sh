#!/bin/bash
# tests/package/man.sh - the manual pages render without a single
# warning, as lintian and Debian's man check them: groff -ww (every
# warning) and man-db's "man --warnings -l" (what "man" shows a user).
#
#   tests/package/man.sh PAGE...
#
# Prints "man: N passed, M failed" (one check per page and renderer);
# exit status 0 only when none failed.
set -u

pass=0
fail=0
[ $# -gt 0 ] || { echo "usage: $0 PAGE..." >&2; exit 2; }
for p in "$@"; do
	out=$(LC_ALL=C.UTF-8 groff -ww -man -Tutf8 -z "$p" 2>&1)
	if [ -z "$out" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		printf 'man: FAIL: groff -ww %s:\n%s\n' "$p" "$out"
	fi
	# lintian's own command line (checks/documentation/manual.pm)
	out=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 \
	    man --warnings -E UTF-8 -l -Tutf8 -Z "$p" 2>&1 >/dev/null)
	if [ -z "$out" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		printf 'man: FAIL: man --warnings -l %s:\n%s\n' "$p" "$out"
	fi
done
echo "man: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
