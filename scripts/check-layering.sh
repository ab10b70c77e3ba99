#!/bin/sh
# check-layering - includes point inward only (README "Inside"):
#   util <- core <- proto <- store, server <- daemon, ctl, milter
# and the library headers stay in the adapters.
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

out=$(
	check util  'util' 'event2/|libpq|hiredis|libmilter'
	check core  'util|core' 'event2/|libpq|hiredis|libmilter'
	check proto 'util|core|proto' 'event2/|libpq|hiredis|libmilter'
	check store 'util|core|store' 'libmilter'
	check server 'util|core|proto|store|server|daemon' 'libpq|hiredis|libmilter'
	check daemon 'util|core|proto|store|server|daemon' 'libpq|hiredis|libmilter'
	check ctl   'util|core|proto|store|daemon|ctl' 'event2/|libmilter'
	check milter 'util|core|proto|daemon|milter' 'event2/|libpq|hiredis'
)
if [ -n "$out" ]; then
	echo "$out"
	exit 1
fi
echo "layering: OK"
