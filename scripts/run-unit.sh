#!/bin/sh
# run-unit.sh - run unit test binaries (check suites) from the repo root.
#
#   scripts/run-unit.sh build/tests/check_util build/tests/check_policy ...
#   VALGRIND=1 scripts/run-unit.sh ...   (memcheck, CK_FORK=no)
#
# Prints each suite's output, then one line "unit: N passed, M failed"
# counting suites (binaries). Exits non-zero if any suite failed, or if
# none was given.

# Test binaries named relative to where we were called from.
caller_dir=$(pwd)
cd "$(dirname "$0")/.." || exit 2

if [ $# -eq 0 ]; then
	echo "usage: $0 test-binary ..." >&2
	exit 2
fi

if [ "${VALGRIND:-0}" = 1 ]; then
	if ! command -v valgrind >/dev/null 2>&1; then
		echo "$0: VALGRIND=1 but valgrind is not installed" >&2
		exit 2
	fi
	# Without fork, a leak or error in a test is the binary's own.
	CK_FORK=no
	export CK_FORK
fi

passed=0
failed=0
failed_names=
for t in "$@"; do
	case $t in
	/*)	;;
	*)	t=$caller_dir/$t ;;
	esac
	name=$(basename "$t")
	echo "== $name"
	if [ ! -x "$t" ]; then
		echo "$name: not found or not executable: $t"
		rc=127
	elif [ "${VALGRIND:-0}" = 1 ]; then
		valgrind -q --error-exitcode=99 --leak-check=full \
		    --errors-for-leak-kinds=definite "$t"
		rc=$?
	else
		"$t"
		rc=$?
	fi
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
	else
		echo "$name: FAILED (exit status $rc)"
		failed=$((failed + 1))
		failed_names="$failed_names $name"
	fi
done

if [ -n "$failed_names" ]; then
	echo "unit: $passed passed, $failed failed (${failed_names# })"
else
	echo "unit: $passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
