#!/bin/bash
# db.sh - build tests/integration/check_db.c and run it against a
# throwaway PostgreSQL (tests/lib/pgtmp.sh).
#
#	tests/integration/db.sh [BUILD]	(default BUILD: build)
#	VALGRIND=1 tests/integration/db.sh	(under valgrind, CK_FORK=no)
#
# Builds $BUILD/tests/check_db with make if needed. Prints check's
# summary line, then "db: N passed, M failed" for
# tests/integration/run.sh; exits 0 when every check passed.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$ROOT" || exit 1
# shellcheck source=../lib/harness.sh
. "$ROOT/tests/lib/harness.sh"

build=${1:-${BUILD:-build}}	# as given, for make
BUILD=$build
harness_init db
bin=$BUILD/tests/check_db
make --no-print-directory -s BUILD="$build" ${SANITIZE:+SANITIZE=$SANITIZE} \
    "$build/tests/check_db" || { bad "make $build/tests/check_db"; finish; }

pg_start || finish
export PGTMP_SH=$ROOT/tests/lib/pgtmp.sh

out=$WORK/check_db.out
if [ "${VALGRIND:-0}" = 1 ]; then
	CK_FORK=no CK_TIMEOUT_MULTIPLIER=4 valgrind -q --error-exitcode=1 \
	    --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    "$bin" 2>&1 | tee "$out"
else
	"$bin" 2>&1 | tee "$out"
fi
rc=${PIPESTATUS[0]}

# "100%: Checks: 47, Failures: 0, Errors: 0"
sum=$(grep -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' \
    "$out" | tail -n 1)
if [ -n "$sum" ]; then
	re='.*Checks: ([0-9]+), Failures: ([0-9]+), Errors: ([0-9]+).*'
	read -r n f e <<<"$(sed -E "s/$re/\\1 \\2 \\3/" <<<"$sum")"
	pass=$((n - f - e))
	fail=$((f + e))
	[ "$rc" -eq 0 ] || [ "$fail" -gt 0 ] || bad "check_db exited $rc"
else
	bad "check_db printed no summary (exit status $rc)"
fi
finish
