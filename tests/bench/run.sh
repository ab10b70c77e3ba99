#!/bin/bash
# make bench - what an admin needs to size a site: vrcptd against a
# do-nothing policy server and against PostgreSQL itself, at several
# dataset sizes and concurrencies, in one run.
#
#   make bench [BENCH_SIZES="10000 100000"] [BENCH_CONC="1 8 64 512"]
#              [BENCH_SECONDS=5] [BENCH_MODES="warm redis nocache"]
#              [BUILD=dir | VRCPTD=/path/to/vrcptd] [BENCH_OUT=dir]
#              [BENCH_EXTRA_CF="cache_max_entries = 1000000"]
#
# BENCH_SIZES="1000000" adds about 12 minutes. BENCH_EXTRA_CF lines go
# into every mode's vrcptd.cf (before the mode's own lines).
#
# For each size N (tests/bench/gendata.sql: N mailboxes over N/100
# domains, N/5 aliases; the load: every mailbox and alias plus 25% more
# unknown local parts at hosted domains, i.e. 80% existing and 20%
# unknown, in an order spread over the whole key set), with PostgreSQL,
# Redis, the do-nothing server (tests/bench/nullpolicy.c) and vrcptd on
# this machine, and the same closed-loop load (tests/bench/policyload.c:
# C connections each sending one RCPT request at a time with Postfix
# 3.7's attributes, like C smtpd processes):
#
#   warm     vrcptd with the shipped defaults (in-process cache), started
#            with the cache empty: the cold start is measured (process
#            start to first right answer; the load's rate over time until
#            it reaches 90% of the warm rate), then, after that pass over
#            the whole key set, each concurrency
#   redis    the Redis tier only (cache_max_entries = 0), after a pass
#            over the whole key set has filled Redis
#   nocache  no cache at all: every RCPT is one pipelined batch of lookups
#            to PostgreSQL; at each concurrency pgbench then runs the same
#            lookups (tests/bench/miss.pgbench) with as many clients (at
#            most BENCH_PGBENCH_MAX_CLIENTS, 64: PostgreSQL has 100 slots)
#
# At each concurrency the do-nothing server is measured right after
# vrcptd, and the ratios are against that. Per point: RCPT/s, latency
# percentiles, server CPU per RCPT (/proc/PID/stat), PostgreSQL
# transactions per RCPT (pg_stat_database of the dataset's database, read
# once PostgreSQL has counted them, see tests/bench/lib.sh), PostgreSQL
# client backends (most seen, and most running a query), cache hit ratio
# (vrcptd's metrics), wrong answers (every reply compared with the
# expected one). Per mode: RSS after start, after the load and with 1,000
# idle connections open (VmRSS).
#
# Prints one markdown table set per dataset and writes them, with the
# raw numbers (TSV), to $BENCH_OUT (default $BUILD/bench). The machine
# is shared and noisy: compare ratios measured in one run, not absolute
# numbers across runs. Nothing here asserts a timing.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=lib.sh
. tests/bench/lib.sh

SIZES=${BENCH_SIZES:-10000 100000}
CONC=${BENCH_CONC:-1 8 64 512}
SECS=${BENCH_SECONDS:-5}
MODES=${BENCH_MODES:-warm redis nocache}
IDLE_CONNS=${BENCH_IDLE_CONNS:-1000}
PGB_MAX=${BENCH_PGBENCH_MAX_CLIENTS:-64}	# PostgreSQL has 100 slots
PGBENCH=$PGTMP_BIN/pgbench

bench_init bench
bench_pg_start
trap bench_cleanup EXIT		# replaces pgtmp's; calls pgtmp_stop

# the cold start's load: 64 connections, or the most asked for below it
COLD_CONC=
for c in $CONC; do
	[ "$c" -le 64 ] && COLD_CONC=$c
done
COLD_CONC=${BENCH_COLD_CONC:-${COLD_CONC:-64}}

RAW=$OUT/bench-$STAMP.tsv
FACTS=$OUT/bench-$STAMP-facts.tsv
MD=$OUT/bench-$STAMP.md
printf 'size\tmode\tserver\tconc\trps\tp50_us\tp90_us\tp99_us\tp999_us\tmax_us\tcpu_us_per_rcpt\txact_per_rcpt\tbackends\tbackends_active\thit_ratio\twrong\tchecked\treplies\tseconds\n' >"$RAW"
printf 'size\tname\tvalue\n' >"$FACTS"
: >"$MD"

say() { printf '%s\n' "$*" | tee -a "$MD"; }
fact() { printf '%s\t%s\t%s\n' "$N" "$1" "$2" >>"$FACTS"; }
calc() { awk "BEGIN { $1 }"; }

redis-server --port 0 --unixsocket "$TMP/redis-server.sock" --save "" \
    --appendonly no --maxmemory-policy volatile-lru \
    --logfile "$TMP/redis.log" &
BENCH_PIDS+=($!)
REDIS_PID=$!
bench_bg "$TMP/nullpolicy" "unix:$TMP/null.sock" "$(nproc)"
NULL_PID=$BG_PID
for _ in $(seq 100); do
	[ -S "$TMP/null.sock" ] && [ -S "$TMP/redis-server.sock" ] && break
	sleep 0.1
done

# vrcptd's answers from one cache tier: "HITS OTHERS" so far (others:
# misses, and for Redis also timeouts and skipped calls)
hits_now() {	# NAME TIER
	local r o=0
	bench_metrics_get "$1"
	for r in miss timeout skipped; do
		o=$((o + $(bench_metric "$1" \
		    "vrcpt_lookups_total{tier=\"$2\",result=\"$r\"}")))
	done
	echo "$(bench_metric "$1" \
	    "vrcpt_lookups_total{tier=\"$2\",result=\"hit\"}")" "$o"
}

# point MODE SERVER ENDPOINT C PID: one measured window; sets P_* and,
# for vrcptd, leaves the row to finish_point (transactions are counted
# later)
point() {
	local mode=$1 srv=$2 ep=$3 c=$4 pid=$5 out cpu0 cpu1 h0 h1 tier=
	out=$TMP/pt-$N-$mode-$srv-$c
	case $srv/$mode in
	vrcptd/warm)	tier=local ;;
	vrcptd/redis)	tier=redis ;;
	esac
	[ -z "$tier" ] || h0=$(hits_now "$mode" "$tier")
	cpu0=$(bench_cpu "$pid")
	[ "$srv" = null ] || bench_sample_start
	"$TMP/policyload" -s "$ep" -c "$c" -t "$SECS" -w $((c * 4 + 50)) \
	    -f "$RCPTS" -o "$OFF" ${CHECK:+-x} >"$out" 2>&1 ||
	    echo "bench: policyload $srv c=$c: $(tail -n 1 "$out")" >&2
	P_BACKENDS="- -"
	[ "$srv" = null ] || P_BACKENDS=$(bench_sample_stop)
	P_END=$(date +%s.%N)
	cpu1=$(bench_cpu "$pid")
	P_HITS=-
	if [ -n "$tier" ]; then
		h1=$(hits_now "$mode" "$tier")
		P_HITS=$(calc "split(\"$h0\", a); split(\"$h1\", b);
		    h = b[1] - a[1]; m = b[2] - a[2];
		    if (h + m > 0) printf \"%.1f%%\", 100 * h / (h + m);
		    else print \"-\"")
	fi
	[ "$srv" = null ] || OFF=$(bench_field "$out" next)
	P_REPLIES=$(bench_field "$out" replies)
	P_RPS=$(bench_field "$out" rps)
	P_P99=$(bench_field "$out" p99_us)
	P_CPU=$(calc "r = ${P_REPLIES:-0}; if (r > 0)
	    printf \"%.1f\", ($cpu1 - $cpu0) * 1e6 / $BENCH_CLK_TCK / r;
	    else print \"-\"")
	P_ROW=$(printf '%s\t' "$N" "$mode" "$srv" "$c" "$P_RPS" \
	    "$(bench_field "$out" p50_us)" "$(bench_field "$out" p90_us)" \
	    "$P_P99" "$(bench_field "$out" p999_us)" \
	    "$(bench_field "$out" max_us)" "$P_CPU")
	P_TAIL=$(printf '%s\t' "${P_BACKENDS% *}" "${P_BACKENDS#* }" \
	    "$P_HITS" "$(bench_field "$out" wrong)" \
	    "$(bench_field "$out" checked)" "$P_REPLIES")$(bench_field "$out" seconds)
}

# the transactions of the last vrcptd window, once PostgreSQL has them
settle() {	# END
	local wait
	wait=$(calc "w = $1 + $BENCH_PGSTAT_SETTLE - $(date +%s.%N);
	    printf \"%.2f\", (w > 0 ? w : 0)")
	sleep "$wait"
}

# one mode: its table rows go to $TMP/rows-$N-MODE
run_mode() {	# MODE
	local mode=$1 cf=$TMP/$1.cf c x0 x1 rss_start rss_load rss_idle
	local idle_pid i conns row vrow vtail vend vrps vp99 vrep t0 out
	case $mode in
	warm)	bench_vrcptd_cf warm "" >"$cf" ;;
	redis)	bench_vrcptd_cf redis "cache = redis:unix:$TMP/redis-server.sock
cache_max_entries = 0" >"$cf" ;;
	nocache) bench_vrcptd_cf nocache "cache_max_entries = 0" >"$cf" ;;
	esac
	redis-cli -s "$TMP/redis-server.sock" flushall >/dev/null
	t0=$(date +%s%N)
	BENCH_T0=$t0
	bench_vrcptd "$mode" "$cf"
	rss_start=$(bench_rss "$VPID")
	fact "$mode.ready_ms" "$READY_MS"
	fact "$mode.first_reply_ms" "$FIRST_MS"
	fact "$mode.rss_start_kb" "$rss_start"
	OFF=0
	case $mode in
	warm)
		# the cold start: the cache is empty; one pass over the key
		# set and a fifth more (at least 100,000 RCPTs more)
		out=$TMP/cold-$N
		"$TMP/policyload" -s "unix:$VSOCK" -R "$t0" -c "$COLD_CONC" \
		    -n $((NKEYS + (NKEYS / 5 > 100000 ? NKEYS / 5 : 100000))) \
		    -f "$RCPTS" -x -D 1800 \
		    -S "$TMP/series-$N" -i 100 >"$out" 2>&1 ||
		    echo "bench: cold start: $(tail -n 1 "$out")" >&2
		OFF=$(bench_field "$out" next)
		fact cold.conc "$COLD_CONC"
		fact cold.wrong "$(bench_field "$out" wrong)"
		fact cold.rps "$(bench_field "$out" rps)"
		;;
	redis)
		out=$TMP/fill-$N
		"$TMP/policyload" -s "unix:$VSOCK" -c 64 -n "$NKEYS" \
		    -f "$RCPTS" -x -D 1800 >"$out" 2>&1 ||
		    echo "bench: Redis fill: $(tail -n 1 "$out")" >&2
		OFF=$(bench_field "$out" next)
		fact redis.fill_s "$(bench_field "$out" seconds)"
		fact redis.fill_wrong "$(bench_field "$out" wrong)"
		fact redis.used_memory "$(redis-cli -s "$TMP/redis-server.sock" \
		    info memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }')"
		;;
	esac
	sleep "$BENCH_PGSTAT_SETTLE"
	x0=$(bench_xact)
	: >"$TMP/rows-$N-$mode"
	for c in $CONC; do
		CHECK=1 point "$mode" vrcptd "unix:$VSOCK" "$c" "$VPID"
		vrow=$P_ROW
		vtail=$P_TAIL
		vend=$P_END vrps=$P_RPS vp99=$P_P99 vrep=$P_REPLIES
		CHECK= point "$mode" null "unix:$TMP/null.sock" "$c" "$NULL_PID"
		printf '%s-\t%s\n' "$P_ROW" "$P_TAIL" >>"$RAW"
		settle "$vend"
		x1=$(bench_xact)
		row=$vrow$(calc "printf \"%.3f\", ($x1 - $x0) / ${vrep:-1}")
		x0=$x1
		[ "$mode" != nocache ] || x0=$(pgbench_point "$c")
		printf '%s\t%s\n' "$row" "$vtail" >>"$RAW"
		printf '%s\t%s\t%s\t%s\n' "$c" "$vrps" "$P_RPS" "$vp99 $P_P99" \
		    >>"$TMP/rows-$N-$mode"
	done
	rss_load=$(bench_rss "$VPID")
	fact "$mode.rss_load_kb" "$rss_load"
	# idle connections: each sends one request and then waits
	out=$TMP/idle-$N-$mode
	"$TMP/policyload" -s "unix:$VSOCK" -c "$IDLE_CONNS" -n "$IDLE_CONNS" \
	    -f "$RCPTS" -o "$OFF" -H 60 >"$out" 2>&1 &
	idle_pid=$!
	for ((i = 0; i < 600; i++)); do
		grep -q '^holding' "$out" && break
		kill -0 "$idle_pid" 2>/dev/null || break
		sleep 0.1
	done
	rss_idle=$(bench_rss "$VPID")
	bench_metrics_get "$mode"
	conns=$(bench_metric "$mode" vrcpt_connections)
	kill "$idle_pid" 2>/dev/null
	wait "$idle_pid" 2>/dev/null
	grep -q '^holding' "$out" ||
	    echo "bench: $IDLE_CONNS idle connections: $(tail -n 1 "$out")" >&2
	fact "$mode.rss_idle_kb" "$rss_idle"
	fact "$mode.idle_conns_seen" "$conns"
	fact "$mode.log_warnings" "$(grep -c 'warning:' "$TMP/$mode.log" 2>/dev/null)"
	if [ "$mode" = warm ]; then
		cold_report
	fi
	bench_vrcptd_stop
}

# cold start: from the series of the first pass, when the rate over the
# last second first reached 90% of the warm rate at the same concurrency
cold_report() {
	local warm_rps
	warm_rps=$(awk -v c="$COLD_CONC" '$1 == c { print $2 }' \
	    "$TMP/rows-$N-warm")
	fact cold.warm_rps "$warm_rps"
	awk -v keys="$NKEYS" -v target="$(calc "print 0.9 * ${warm_rps:-0}")" '
		{ t[NR] = $1; n[NR] = $2 }
		END {
			sum = 0; win = 0; pass = "-"; t90 = "-"
			for (i = 1; i <= NR; i++) {
				sum += n[i]; win += n[i]
				if (i > 10) win -= n[i - 10]
				if (pass == "-" && sum >= keys)
					pass = (t[i] + 100) / 1000
				if (t90 == "-" && i >= 10 && target > 0 &&
				    win >= target)
					t90 = (t[i] + 100) / 1000
			}
			printf "cold.pass_s\t%s\ncold.t90_s\t%s\ncold.run_s\t%s\n",
			    pass, t90, (NR > 0 ? (t[NR] + 100) / 1000 : "-")
		}' "$TMP/series-$N" | while IFS=$'\t' read -r k v; do
		fact "$k" "$v"
	done
}

# pgbench C: the lookups of one uncached RCPT at the same concurrency,
# right after vrcptd's window; prints the database's transactions after
# it (pgbench's backends count theirs when they exit)
pgbench_point() {
	local c=$1 clients out lat tps i
	clients=$((c < PGB_MAX ? c : PGB_MAX))
	out=$TMP/pgb-$N-$c
	rm -f "$TMP"/pgblog.*
	# (pgbench's -d is --debug: the database is the last argument)
	PGAPPNAME=pgbench "$PGBENCH" -n -M prepared -h "$PGHOST" \
	    -U "$PGUSER" -f tests/bench/miss.pgbench \
	    -D n="$N" -D d="$NDOMAINS" -c "$clients" -j 1 -T "$SECS" \
	    -l --log-prefix="$TMP/pgblog" "$DB" >"$out" 2>&1 ||
	    echo "bench: pgbench c=$clients: $(tail -n 1 "$out")" >&2
	for ((i = 0; i < 100; i++)); do
		[ "$(bench_psql -c "SELECT count(*) FROM pg_stat_activity
		    WHERE application_name = 'pgbench'")" = 0 ] && break
		sleep 0.1
	done
	tps=$(awk '/^tps = / { printf "%.0f", $3 }' "$out")
	lat=$(cat "$TMP"/pgblog.* 2>/dev/null | awk '{ print $3 }' |
	    sort -n | awk '{ v[NR] = $1 } END { if (NR)
	    print v[int(NR / 2) + 1], v[int(NR * 99 / 100) + 1];
	    else print "- -" }')
	printf '%s\t%s\t%s\t%s\n' "$c" "$clients" "${tps:-0}" "$lat" \
	    >>"$TMP/pgbench-$N"
	printf '%s\tpgbench\tpgbench\t%s\t%s\t%s\t-\t%s\t-\t-\t-\t-\t%s\t-\t-\t-\t-\t-\t%s\n' \
	    "$N" "$c" "${tps:-0}" "${lat% *}" "${lat#* }" "$clients" "$SECS" \
	    >>"$RAW"
	bench_xact
}

mode_name() {
	case $1 in
	warm)	echo "warm (in-process cache)" ;;
	redis)	echo "Redis tier only" ;;
	nocache) echo "no cache" ;;
	esac
}

mb() { calc "v = \"$1\"; if (v == \"\") print \"-\"; else printf \"%.1f MB\", v / 1024"; }

get_fact() { awk -F'\t' -v n="$N" -v k="$1" '$1 == n && $2 == k { v = $3 } END { print v }' "$FACTS"; }

report() {
	local mode c first=1
	say ""
	say "### $(bench_fmt_int "$N") mailboxes"
	say ""
	say "$(bench_fmt_int "$N") mailboxes in $(bench_fmt_int "$NDOMAINS") domains, $(bench_fmt_int "$NALIASES") aliases; the load: $(bench_fmt_int "$NKEYS") recipients (80% existing mailboxes and aliases, 20% unknown local parts at hosted domains) spread over the whole key set; generated in $GEN_S s. ${SECS} s per point."
	say ""
	say "| server | c | RCPT/s | × null | p50 µs | p99 µs | p99.9 µs | p99 × null | CPU µs/RCPT | SQL xact/RCPT | PG backends (active) | cache hits | wrong |"
	say "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
	for mode in $MODES; do
		awk -F'\t' -v n="$N" -v m="$mode" -v first="$first" \
		    -v name="$(mode_name "$mode")" '
			$1 != n || $2 != m { next }
			$3 == "null" { null_rps[$4] = $5; null_p99[$4] = $8
				if (first) printf "| do-nothing server | %s | %s | 1.00 | %s | %s | %s | 1.00 | %s | - | - | - | - |\n", $4, $5, $6, $8, $9, $11
				next }
			$3 == "vrcptd" { rows[++k] = $0 }
			END {
				for (i = 1; i <= k; i++) {
					split(rows[i], f, "\t"); c = f[4]
					printf "| %s | %s | %s | %.2f | %s | %s | %s | %.2f | %s | %s | %s (%s) | %s | %s |\n",
					    name, c, f[5], null_rps[c] ? f[5] / null_rps[c] : 0,
					    f[6], f[8], f[9], null_p99[c] ? f[8] / null_p99[c] : 0,
					    f[11], f[12], f[13], f[14], f[15], f[16]
				}
			}' "$RAW" | tee -a "$MD"
		first=0
	done
	if [ -s "$TMP/pgbench-$N" ] && [ -s "$TMP/rows-$N-nocache" ]; then
		say ""
		say "| no cache vs PostgreSQL itself | c | vrcptd RCPT/s | pgbench clients | pgbench tps | vrcptd ÷ pgbench | pgbench p50 µs | pgbench p99 µs |"
		say "|---|--:|--:|--:|--:|--:|--:|--:|"
		awk -F'\t' 'NR == FNR { v[$1] = $2; next }
		    { split($4, l, " ")
		      printf "| no cache / miss.pgbench | %s | %s | %s | %s | %.2f | %s | %s |\n",
		        $1, v[$1], $2, $3, $3 ? v[$1] / $3 : 0, l[1], l[2] }' \
		    "$TMP/rows-$N-nocache" "$TMP/pgbench-$N" | tee -a "$MD"
	fi
	say ""
	say "| start and memory | $(for mode in $MODES; do printf '%s | ' "$(mode_name "$mode")"; done)"
	say "|---|$(for mode in $MODES; do printf -- '--:|'; done)"
	say "| process start to first answer | $(for mode in $MODES; do printf '%s ms | ' "$(get_fact "$mode.first_reply_ms")"; done)"
	say "| process start to first right answer (ready) | $(for mode in $MODES; do printf '%s ms | ' "$(get_fact "$mode.ready_ms")"; done)"
	say "| RSS after start | $(for mode in $MODES; do printf '%s | ' "$(mb "$(get_fact "$mode.rss_start_kb")")"; done)"
	say "| RSS after the load | $(for mode in $MODES; do printf '%s | ' "$(mb "$(get_fact "$mode.rss_load_kb")")"; done)"
	say "| RSS with $(bench_fmt_int "$IDLE_CONNS") idle connections | $(for mode in $MODES; do printf '%s | ' "$(mb "$(get_fact "$mode.rss_idle_kb")")"; done)"
	case " $MODES " in
	*" warm "*)
		say ""
		say "Cold start (cache empty, c=$COLD_CONC, one pass over the key set and a fifth more, at least 100,000 more RCPTs): ready after $(get_fact warm.ready_ms) ms; the pass over all $(bench_fmt_int "$NKEYS") recipients (every lookup a miss) ended $(get_fact cold.pass_s) s after process start, at $(get_fact cold.rps) RCPT/s on average over the run; the rate over one second reached 90% of the warm rate ($(get_fact cold.warm_rps) RCPT/s, local tier hits $(awk -F'\t' -v n="$N" -v c="$COLD_CONC" '$1 == n && $2 == "warm" && $3 == "vrcptd" && $4 == c { print $15 }' "$RAW")) at $(get_fact cold.t90_s) s (\"-\": not within the $(get_fact cold.run_s) s run; at once when the warm rate is no better than a miss's); $(get_fact cold.wrong) wrong answers."
		;;
	esac
	case " $MODES " in
	*" redis "*)
		say ""
		say "Redis: filled by one pass over the key set in $(get_fact redis.fill_s) s at c=64; used_memory $(mb "$(calc "print $(get_fact redis.used_memory) / 1024")")."
		;;
	esac
}

say "## make bench, $(date -u '+%Y-%m-%d %H:%M UTC')"
say ""
say "vrcptd: $VRCPTD (tree $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?'), src/ as of $(git -C "$ROOT" log -1 --format=%h -- src 2>/dev/null || echo '?')), shipped defaults${BENCH_EXTRA_CF:+ and: $(printf '%s' "$BENCH_EXTRA_CF" | tr '\n' ';')}; machine: $(bench_machine)."
for N in $SIZES; do
	echo "bench: dataset $N" >&2
	bench_dataset "$N"
	fact gen_s "$GEN_S"
	fact keys "$NKEYS"
	: >"$TMP/pgbench-$N"
	for mode in $MODES; do
		echo "bench: $N $mode" >&2
		run_mode "$mode"
	done
	report
	bench_dataset_drop
done
echo "bench: wrote $MD, $RAW and $FACTS" >&2
