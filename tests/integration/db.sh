#!/bin/bash
# db.sh - build tests/integration/check_db.c and run it against a
# throwaway PostgreSQL (tests/lib/pgtmp.sh).
#
#	tests/integration/db.sh [BUILD]	(default BUILD: build)
#	VALGRIND=1 tests/integration/db.sh	(under valgrind, CK_FORK=no)
#
# Builds $BUILD/tests/check_db with make if needed. Prints check's summary line, then "db: N passed, M failed"
# for tests/integration/run.sh; exits 0 when every check passed.
set -u
cd "$(dirname "$0")/../.." || exit 1

build=${1:-${BUILD:-build}}
bin=$build/tests/check_db
make --no-print-directory -s BUILD="$build" ${SANITIZE:+SANITIZE=$SANITIZE} \
    "$bin" || exit 1

# shellcheck source=tests/lib/pgtmp.sh
. tests/lib/pgtmp.sh
pgtmp_start || exit 1
export PGTMP_SH=$PWD/tests/lib/pgtmp.sh

out=$build/tests/check_db.out
if [ "${VALGRIND:-0}" = 1 ]; then
	CK_FORK=no CK_TIMEOUT_MULTIPLIER=4 valgrind -q --error-exitcode=1 \
	    --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    "$bin" 2>&1 | tee "$out"
else
	"$bin" 2>&1 | tee "$out"
fi
rc=${PIPESTATUS[0]}
pgtmp_stop

# "100%: Checks: 47, Failures: 0, Errors: 0"
sum=$(grep -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' \
    "$out" | tail -n 1)
if [ -n "$sum" ]; then
	re='.*Checks: ([0-9]+), Failures: ([0-9]+), Errors: ([0-9]+).*'
	read -r n f e <<<"$(sed -E "s/$re/\\1 \\2 \\3/" <<<"$sum")"
	echo "db: $((n - f - e)) passed, $((f + e)) failed"
else
	echo "db: 0 passed, 1 failed"
fi
exit "$rc"
