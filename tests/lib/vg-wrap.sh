#!/bin/sh
# tests/lib/vg-wrap.sh ARGS... - run $VG_PROGRAM ARGS under valgrind's
# memcheck, for make check-valgrind (which points VRCPTD here): one log
# per process in $VG_LOG_DIR, checked afterwards by scripts/vg-check.sh.
# A log stays empty unless valgrind found an error or a definite leak.
exec valgrind --quiet --vgdb=no --error-exitcode=99 --leak-check=full \
    --errors-for-leak-kinds=definite --show-leak-kinds=definite \
    --log-file="${VG_LOG_DIR:?}/vg.%p.log" "${VG_PROGRAM:?}" "$@"
