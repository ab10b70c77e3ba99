#!/bin/bash
# make bench - vrcptd against a do-nothing policy server, in one run.
#
# Starts a throwaway PostgreSQL with the ISPmail sample data, the
# do-nothing server (tests/bench/nullpolicy.c: answers DUNNO to every
# request, one epoll loop per thread) and vrcptd, then drives both with
# the same closed-loop load (tests/bench/policyload.c: CONNS connections
# each sending one RCPT request at a time, like Postfix's smtpd
# processes). Reports requests/s and latency percentiles of each and the
# ratio vrcptd/null. Numbers are only comparable within one run: the
# machine is shared and noisy. Nothing here is a test; nothing asserts
# a timing.
#
#   make bench [BENCH_CONNS=16] [BENCH_REQUESTS=20000]
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
CONNS=${BENCH_CONNS:-16}
REQS=${BENCH_REQUESTS:-20000}

tmp=$(mktemp -d /tmp/vrcpt-bench.XXXXXX)
chmod 755 "$tmp"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

cc -std=c17 -D_GNU_SOURCE -O2 -o "$tmp/policyload" tests/bench/policyload.c || exit 1
cc -std=c17 -D_GNU_SOURCE -O2 -o "$tmp/nullpolicy" tests/bench/nullpolicy.c -pthread || exit 1

# shellcheck source=tests/lib/pgtmp.sh
. tests/lib/pgtmp.sh
pgtmp_start >/dev/null || exit 1
pgtmp_psql -q -f policy/ispmail.sql >/dev/null
pgtmp_psql -q -f policy/ispmail-sample.sql >/dev/null
for f in policy/pgsql-*.cf; do
	sed -e "s|^hosts *=.*|hosts = unix:$PGHOST|" -e "s|^user *=.*|user = $PGUSER|" \
	    -e "s|^dbname *=.*|dbname = $PGDATABASE|" -e '/^password/d' \
	    "$f" > "$tmp/$(basename "$f")"
done
workers=$(nproc)
cat > "$tmp/vrcptd.cf" <<EOC
listen = unix:$tmp/vrcptd.sock
virtual_mailbox_domains = pgsql:$tmp/pgsql-virtual-mailbox-domains.cf
virtual_mailbox_maps = pgsql:$tmp/pgsql-virtual-mailbox-maps.cf
virtual_alias_maps = pgsql:$tmp/pgsql-virtual-alias-maps.cf, pgsql:$tmp/pgsql-email2email.cf
recipient_delimiter = +
maillog_file = $tmp/vrcptd.log
workers = $workers
${BENCH_EXTRA_CF:-}
EOC

# a realistic mix: 80% existing recipients, 20% unknown ones
valid=$(pgtmp_psql -Atq -c "SELECT email FROM virtual_users")
: > "$tmp/rcpts"
i=0
for v in $valid; do
	for k in 1 2 3 4; do echo "$v" >> "$tmp/rcpts"; done
	echo "nosuch$i@${v#*@}" >> "$tmp/rcpts"
	i=$((i + 1))
done

"$tmp/nullpolicy" "unix:$tmp/null.sock" "$workers" & pids+=($!)
"$BUILD/vrcptd" -c "$tmp/vrcptd.cf" & pids+=($!)
for _ in $(seq 50); do
	[ -S "$tmp/null.sock" ] && [ -S "$tmp/vrcptd.sock" ] && break
	sleep 0.1
done

run() {	# name endpoint
	echo "== $1 ($CONNS connections, $REQS requests, $(wc -l < "$tmp/rcpts") recipients)"
	"$tmp/policyload" -s "$2" -c "$CONNS" -n "$REQS" -w 1000 -f "$tmp/rcpts" |
	    tee "$tmp/$1.out"
}
run null "unix:$tmp/null.sock"
run vrcptd "unix:$tmp/vrcptd.sock"
q0=$(pgtmp_psql -Atq -c "SELECT sum(xact_commit) FROM pg_stat_database")
n_rps=$(awk '/^requests/ {print $8}' "$tmp/null.out")
v_rps=$(awk '/^requests/ {print $8}' "$tmp/vrcptd.out")
echo "== ratio: vrcptd/null throughput $(awk -v a="$v_rps" -v b="$n_rps" 'BEGIN {printf "%.2f", a / b}')" \
    "(p50 $(awk '/^requests/ {print $10}' "$tmp/vrcptd.out")us vs $(awk '/^requests/ {print $10}' "$tmp/null.out")us)"
echo "== PostgreSQL transactions so far: $q0"
