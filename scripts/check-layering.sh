#!/bin/sh
# check-layering - includes point inward only (README "Inside"):
#   util <- core <- proto, conf <- store <- server <- daemon
#   client: proto, conf and below
#   ctl: client, conf, proto, store and below; milter: client, conf,
#   proto and below
# nothing but the daemon includes daemon/, the library headers stay in
# the adapters (libpq and hiredis in store/, libevent in store/ and
# server/, libmilter in milter/, the table-file libraries (Berkeley DB,
# LMDB, tinycdb, PCRE2, POSIX regex) in store/ only: vrcpt-milter links
# none of them), and libpq's connect functions are called from
# store/pgconn.c only.
cd "$(dirname "$0")/.." || exit 1
fail=0
bad() { echo "layering: $1"; fail=1; }

check() {	# dir, allowed-project-dirs regex, forbidden system headers regex
	for f in src/$1/*.[ch]; do
		[ -e "$f" ] || continue
		grep -Hn '^#include "' "$f" | while IFS= read -r line; do
			inc=${line#*#include \"}; inc=${inc%%/*}
			echo "$inc" | grep -Eq "^($2)$" ||
				echo "layering: $line (src/$1 may not include src/$inc)"
		done
		if [ -n "$3" ] && grep -En "^#include <($3)" "$f" >/dev/null; then
			grep -HEn "^#include <($3)" "$f" | sed 's/^/layering: forbidden here: /'
		fi
	done
}

M='|db\.h|lmdb\.h|cdb\.h|pcre2\.h|regex\.h'	# table-file libraries
out=$(
	check util  'util' "event2/|libpq|hiredis|libmilter$M"
	check core  'util|core' "event2/|libpq|hiredis|libmilter$M"
	check proto 'util|core|proto' "event2/|libpq|hiredis|libmilter$M"
	check conf  'util|core|conf' "event2/|libpq|hiredis|libmilter$M"
	check store 'util|core|conf|store' 'libmilter'
	check server 'util|core|proto|conf|store|server' "libpq|hiredis|libmilter$M"
	check daemon 'util|core|proto|conf|store|server|daemon' "libpq|hiredis|libmilter$M"
	check client 'util|core|proto|conf|client' "event2/|libpq|hiredis|libmilter$M"
	check ctl   'util|core|proto|conf|store|client|ctl' "event2/|libmilter$M"
	check milter 'util|core|proto|conf|client|milter' "event2/|libpq|hiredis$M"
	# one way to reach PostgreSQL: libpq's connect functions in pgconn.c
	grep -rnE '\<PQ(connect|setdb|ping|reset)[A-Za-z]*\(' src |
	    grep -v '^src/store/pgconn\.c:' |
	    sed 's/^/layering: libpq connect outside store\/pgconn.c: /'
)
if [ -n "$out" ]; then
	echo "$out"
	exit 1
fi
echo "layering: OK"
