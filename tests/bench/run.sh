#!/bin/bash
# make bench - vrcptd against a do-nothing policy server, in one run.
#
# Starts a throwaway PostgreSQL with the ISPmail sample data, the
# do-nothing server (tests/bench/nullpolicy.c: answers DUNNO to every
# request, one epoll loop per thread) and vrcptd, then drives both with
# the same closed-loop load (tests/bench/policyload.c: CONNS connections
# each sending one RCPT request at a time, like Postfix's smtpd
# processes). vrcptd runs three ways: without any cache (every RCPT asks
# PostgreSQL, one pipelined round trip), with the in-process cache, and
# with Redis only. Reports requests/s and latency percentiles of each and
# the ratio to the do-nothing server. Numbers are only comparable within one run: the
# machine is shared and noisy. Nothing here is a test; nothing asserts
# a timing.
#
#   make bench [BENCH_CONNS=16] [BENCH_REQUESTS=20000] [KEEP=1]
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$ROOT" || exit 1
CONNS=${BENCH_CONNS:-16}
REQS=${BENCH_REQUESTS:-20000}

# shellcheck source=../lib/harness.sh
. tests/lib/harness.sh
# shellcheck source=../lib/redis.sh
. tests/lib/redis.sh
# the work directory, the daemons stopped at exit; no checks, no summary
harness_init bench
tmp=$WORK

cc -std=c17 -D_GNU_SOURCE -O2 -o "$tmp/policyload" tests/bench/policyload.c || exit 1
cc -std=c17 -D_GNU_SOURCE -O2 -o "$tmp/nullpolicy" tests/bench/nullpolicy.c -pthread || exit 1

# the triggers let vrcptd trust its caches (policy/README.md)
pg_start policy/ispmail.sql policy/ispmail-sample.sql \
    policy/triggers-ispmail.sql || exit 1
maps_write "$tmp" || exit 1
workers=$(nproc)
# three configurations of the same daemon: no cache at all, the
# in-process cache, and the in-process cache plus Redis
common="$(maps_cf "$tmp")
workers = $workers
${BENCH_EXTRA_CF:-}"
printf 'listen = unix:%s/nocache.sock\nmaillog_file = %s/nocache.log\ncache_max_entries = 0\n%s\n' \
    "$tmp" "$tmp" "$common" > "$tmp/nocache.cf"
printf 'listen = unix:%s/local.sock\nmaillog_file = %s/local.log\n%s\n' \
    "$tmp" "$tmp" "$common" > "$tmp/local.cf"
printf 'listen = unix:%s/redis.sock\nmaillog_file = %s/redis.log\ncache = redis:unix:%s/redis-server.sock\ncache_max_entries = 0\n%s\n' \
    "$tmp" "$tmp" "$tmp" "$common" > "$tmp/redis.cf"

# a realistic mix: 80% existing recipients, 20% unknown ones
valid=$(pgtmp_psql -Atq -c "SELECT email FROM virtual_users")
: > "$tmp/rcpts"
i=0
for v in $valid; do
	for k in 1 2 3 4; do echo "$v" >> "$tmp/rcpts"; done
	echo "nosuch$i@${v#*@}" >> "$tmp/rcpts"
	i=$((i + 1))
done

harness_on_exit redis_stop
REDIS_LOG=$tmp/redis-server.log redis_start "$tmp/redis-server.sock" \
    --maxmemory-policy volatile-lru || { bad "redis-server did not start"; exit 1; }
daemon_start null "$tmp/null.sock" "$tmp/nullpolicy" "unix:$tmp/null.sock" \
    "$workers" || exit 1
for c in nocache local redis; do
	vrcptd_start "$tmp/$c.cf" "$tmp/$c.sock" || exit 1
done
sleep 1		# let the LISTEN connections come up (cache trust)

run() {	# name endpoint
	echo "== $1 ($CONNS connections, $REQS requests, $(wc -l < "$tmp/rcpts") recipients)"
	"$tmp/policyload" -s "$2" -c "$CONNS" -n "$REQS" -w 1000 -f "$tmp/rcpts" |
	    tee "$tmp/$1.out"
}
field() { awk -v f="$2" '/^requests/ { for (i = 1; i < NF; i++) if ($i == f) print $(i + 1) }' "$tmp/$1.out"; }
run null "unix:$tmp/null.sock"
for c in nocache local redis; do
	run "vrcptd-$c" "unix:$tmp/$c.sock"
done
echo "== summary (ratios are against the do-nothing server in this run)"
printf '%-16s %10s %8s %8s %8s %8s\n' server rps ratio p50_us p99_us max_us
for n in null vrcptd-nocache vrcptd-local vrcptd-redis; do
	printf '%-16s %10s %8s %8s %8s %8s\n' "$n" "$(field $n rps)" \
	    "$(awk -v a="$(field $n rps)" -v b="$(field null rps)" 'BEGIN {printf "%.2f", a / b}')" \
	    "$(field $n p50_us)" "$(field $n p99_us)" "$(field $n max_us)"
done
