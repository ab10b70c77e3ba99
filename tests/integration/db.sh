#!/bin/bash
# db.sh - build tests/integration/check_db.c and run it against a
# throwaway PostgreSQL (tests/lib/pgtmp.sh).
#
#	tests/integration/db.sh [BUILD]		(default build dir: build)
#	VALGRIND=1 tests/integration/db.sh	(under valgrind, CK_FORK=no)
#
# Needs $BUILD/libvrcpt_store.a and $BUILD/libvrcpt_pure.a (make them
# first: make BUILD=... $BUILD/libvrcpt_store.a $BUILD/libvrcpt_pure.a).
# Exits 0 when every check passed; prints check's summary line.
set -u
cd "$(dirname "$0")/../.." || exit 1

build=${1:-${BUILD:-build}}
bin=$build/tests/check_db
for lib in "$build/libvrcpt_store.a" "$build/libvrcpt_pure.a"; do
	if [ ! -f "$lib" ]; then
		echo "db.sh: $lib missing; build it first" >&2
		exit 1
	fi
done
mkdir -p "$build/tests"
# shellcheck disable=SC2046
cc -std=c17 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Wno-unused-parameter \
    -Isrc $(pkg-config --cflags libpq libevent_core check) \
    ${SANITIZE:+-fsanitize=$SANITIZE -fno-omit-frame-pointer} \
    -o "$bin" tests/integration/check_db.c \
    "$build/libvrcpt_store.a" "$build/libvrcpt_pure.a" \
    $(pkg-config --libs libpq libevent_core check) -pthread || exit 1

. tests/lib/pgtmp.sh
pgtmp_start || exit 1
export PGTMP_SH=$PWD/tests/lib/pgtmp.sh

if [ "${VALGRIND:-0}" = 1 ]; then
	CK_FORK=no CK_TIMEOUT_MULTIPLIER=4 valgrind -q --error-exitcode=1 \
	    --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    "$bin"
else
	"$bin"
fi
rc=$?
pgtmp_stop
exit $rc
