#!/bin/bash
# make bench-postfix - recipient checks end to end through a real Postfix
# (the Debian package, 3.7), RCPT-only SMTP sessions, in one run:
#
#   none     no recipient lookups at all: the domains from a texthash:
#            file in memory, smtpd_reject_unlisted_recipient = no, no
#            virtual_*_maps (the ceiling; unknown recipients are
#            accepted, so its answers are not checked)
#   native   Postfix's own pgsql: maps (reject_unlisted_recipient)
#   proxy    the same maps as proxy:pgsql:, shared through proxymap(8)
#   vrcptd   check_policy_service to vrcptd (shipped defaults, its cache
#            warmed by one pass over the key set first), main.cf keeping
#            its pgsql: maps as the README says (trivial-rewrite still
#            asks them which class a domain is)
#   vrcptd-proxy  the same with the main.cf maps as proxy:pgsql:
#   socketmap  Postfix's own check (reject_unlisted_recipient), every
#            main.cf map a socketmap: table answered by the same vrcptd
#            (socketmap_listen; README "Postfix's maps from vrcptd")
#
#   make bench-postfix [BENCH_PF_SIZES=100000] [BENCH_PF_CONC="4 8 16 32 64"]
#       [BENCH_PF_VARIANTS="none native proxy vrcptd vrcptd-proxy socketmap"]
#       [BENCH_SECONDS=5]
#       [BENCH_PF_RCPTS=10] [BENCH_PF_MSGS=10] [BUILD= | VRCPTD=]
#       [BENCH_PERF=1]
#
# Data and recipients as make bench (tests/bench/gendata.sql): 80%
# existing, 20% unknown. The load (tests/bench/smtpload.c): C SMTP
# clients, each session EHLO, then BENCH_PF_MSGS times MAIL FROM,
# BENCH_PF_RCPTS RCPT TO one at a time and RSET, then QUIT; no DATA.
# Every RCPT reply is compared with the expected one (250 for existing,
# "550 5.1.1" for unknown); anything else (a 451 when PostgreSQL has no
# connection slot left) is a wrong answer.
#
# At each concurrency the variants run one after the other, each on a
# freshly started instance (so that each starts with its own PostgreSQL
# connections and, when stopped, leaves PostgreSQL's counters complete);
# the ratio is against the ceiling measured at the same concurrency.
# Per point: RCPT/s, latency, PostgreSQL transactions per RCPT
# (pg_stat_database of the dataset's database), PostgreSQL client
# backends (most seen, most running a query), wrong answers.
# BENCH_PERF=1: perf(1) samples every CPU while each point's load runs
# and writes, per point, where the machine's CPU went by process
# (perf-N-VARIANT-C.txt beside the results: smtpd, trivial-rewrite,
# vrcptd, the load client, the kernel's share of each). Needs root
# (Postfix starts as root). Results go to $BENCH_OUT (default
# $BUILD/bench). Nothing here asserts a timing.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=lib.sh
. tests/bench/lib.sh
# shellcheck source=../lib/postfix.sh
. tests/lib/postfix.sh

SIZES=${BENCH_PF_SIZES:-100000}
CONC=${BENCH_PF_CONC:-4 8 16 32 64}
VARIANTS=${BENCH_PF_VARIANTS:-none native proxy vrcptd vrcptd-proxy socketmap}
SECS=${BENCH_SECONDS:-5}
PER_MSG=${BENCH_PF_RCPTS:-10}
PER_SESSION=${BENCH_PF_MSGS:-10}
PF_SETTLE_S=30		# at most, for Postfix's backends to go away

pf_available || exit 1
bench_init bench-postfix
bench_pg_start
trap bench_cleanup EXIT		# replaces pgtmp's; calls pgtmp_stop

RAW=$OUT/bench-postfix-$STAMP.tsv
MD=$OUT/bench-postfix-$STAMP.md
printf 'size\tvariant\tconc\trps\tp50_us\tp90_us\tp99_us\tp999_us\tmax_us\txact_per_rcpt\tbackends\tbackends_active\twrong\tchecked\treplies\tsessions\tdrops\terrors\tseconds\treplies_by_code\n' >"$RAW"
: >"$MD"
say() { printf '%s\n' "$*" | tee -a "$MD"; }
calc() { awk "BEGIN { $1 }"; }

PF_DIRS=()
bench_on_exit 'for d in "${PF_DIRS[@]}"; do pf_stop "$d" 2>/dev/null; done'

# pf_variant NAME DIR: write a stopped instance for one variant
pf_variant() {
	local v=$1 dir=$2 port m
	port=$(pf_free_port)
	case $v in
	vrcptd*) pf_new "$dir" policy "$port" "$MAPS" "unix:$VSOCK" ;;
	*)	pf_new "$dir" native "$port" "$MAPS" ;;
	esac || exit 1
	if [ "$v" = socketmap ]; then
		m=socketmap:unix:$SMSOCK
		pf_set "$dir" \
		    "virtual_mailbox_domains = $m:virtual_mailbox_domains" \
		    "virtual_mailbox_maps = $m:virtual_mailbox_maps" \
		    "virtual_alias_maps = $m:virtual_alias_maps" || exit 1
	fi
	PF_DIRS+=("$dir")
	# the load's needs: many sessions from 127.0.0.1, many rejects
	pf_set "$dir" 'default_process_limit = 150' \
	    'smtpd_client_connection_count_limit = 0' \
	    'smtpd_client_connection_rate_limit = 0' \
	    'smtpd_junk_command_limit = 100000' \
	    'smtpd_soft_error_limit = 100000' \
	    'smtpd_hard_error_limit = 100000' || exit 1
	case $v in
	none)
		pf_set "$dir" 'smtpd_reject_unlisted_recipient = no' \
		    "virtual_mailbox_domains = texthash:$TMP/domains-$N" \
		    'virtual_mailbox_maps =' 'virtual_alias_maps =' ;;
	proxy|vrcptd-proxy)
		m=proxy:pgsql:$MAPS
		pf_set "$dir" \
		    "virtual_mailbox_domains = $m/pgsql-virtual-mailbox-domains.cf" \
		    "virtual_mailbox_maps = $m/pgsql-virtual-mailbox-maps.cf" \
		    "virtual_alias_maps = $m/pgsql-virtual-alias-maps.cf, $m/pgsql-email2email.cf"
		echo 'proxymap  unix  -     -     n     -     -     proxymap' \
		    >>"$dir/etc/master.cf" ;;
	esac || exit 1
}

# the client backends of $DB now
backends_now() {
	bench_psql -c "SELECT count(*) FROM pg_stat_activity
	    WHERE backend_type = 'client backend' AND datname = '$DB'
	    ${BENCH_BACKENDS_EXTRA:-}"
}

# pf_perf_start VARIANT C / pf_perf_stop: BENCH_PERF's profile of one
# point: every CPU, by process (comm) and user/kernel, to
# OUT/perf-N-VARIANT-C.txt
PERF_PID=
pf_perf_start() {
	PERF_DATA=$TMP/perf-$N-$1-$2.data
	PERF_TXT=$OUT/perf-$N-$1-$2.txt
	perf record -a -F 997 -q -o "$PERF_DATA" -- sleep "$SECS" \
	    >/dev/null 2>&1 &
	PERF_PID=$!
}
pf_perf_stop() {
	wait "$PERF_PID"
	perf report -i "$PERF_DATA" --stdio --sort comm,dso \
	    --percent-limit 0.5 2>/dev/null | grep -v '^$' >"$PERF_TXT"
	rm -f "$PERF_DATA"
}

# pf_point VARIANT C: start the instance, measure, stop it
pf_point() {
	local v=$1 c=$2 dir=$TMP/pf-$N-$1 out base x0 x1 be i check=-x rep
	out=$TMP/pfpt-$N-$v-$c
	[ "$v" = none ] && check=
	# vrcptd's own connections count only where it is asked
	case $v in
	vrcptd*|socketmap) BENCH_BACKENDS_EXTRA= ;;
	*)	BENCH_BACKENDS_EXTRA="AND application_name NOT LIKE 'vrcptd%'" ;;
	esac
	base=$(backends_now)
	x0=$(bench_xact)
	pf_start "$dir" || exit 1
	bench_sample_start
	[ -z "${BENCH_PERF:-}" ] || pf_perf_start "$v" "$c"
	"$TMP/smtpload" -p "$(cat "$dir/port")" -c "$c" -t "$SECS" \
	    -w $((c * 10)) -f "$RCPTS" -o "$OFF" $check \
	    -r "$PER_MSG" -m "$PER_SESSION" >"$out" 2>&1 ||
	    echo "bench-postfix: $v c=$c: $(tail -n 1 "$out")" >&2
	[ -z "${BENCH_PERF:-}" ] || pf_perf_stop
	be=$(bench_sample_stop)
	pf_stop "$dir"
	# Postfix's backends count their transactions when they exit
	for ((i = 0; i < PF_SETTLE_S * 10; i++)); do
		[ "$(backends_now)" -le "$base" ] && break
		sleep 0.1
	done
	# vrcptd's backends stay: wait until they have counted theirs
	case $v in
	vrcptd*|socketmap) sleep "$BENCH_PGSTAT_SETTLE" ;;
	esac
	x1=$(bench_xact)
	OFF=$(bench_field "$out" next)
	rep=$(bench_field "$out" replies)
	printf '%s\t%s\t%s\t' "$N" "$v" "$c" >>"$RAW"
	for i in rps p50_us p90_us p99_us p999_us max_us; do
		printf '%s\t' "$(bench_field "$out" "$i")" >>"$RAW"
	done
	printf '%s\t%s\t%s\t' \
	    "$(calc "printf \"%.2f\", ($x1 - $x0) / ${rep:-1}")" \
	    "${be% *}" "${be#* }" >>"$RAW"
	for i in wrong checked replies sessions drops errors seconds; do
		printf '%s\t' "$(bench_field "$out" "$i")" >>"$RAW"
	done
	awk '/^  / { printf "%s%s:%s", sep, $2 " " $3, $1; sep = ", " }
	    END { print "" }' "$out" >>"$RAW"
}

variant_name() {
	case $1 in
	none)	echo "no recipient lookups (ceiling)" ;;
	native)	echo "native pgsql: maps" ;;
	proxy)	echo "proxy:pgsql: maps" ;;
	vrcptd)	echo "vrcptd (policy), main.cf pgsql: maps" ;;
	vrcptd-proxy) echo "vrcptd (policy), main.cf proxy:pgsql: maps" ;;
	socketmap) echo "Postfix's check, main.cf maps socketmap: to vrcptd" ;;
	*)	echo "$1" ;;
	esac
}

report() {
	local v
	say ""
	say "### Postfix end to end, $(bench_fmt_int "$N") mailboxes"
	say ""
	say "$(bench_fmt_int "$N") mailboxes in $(bench_fmt_int "$NDOMAINS") domains, $(bench_fmt_int "$NALIASES") aliases; $(bench_fmt_int "$NKEYS") recipients, 80% existing, 20% unknown. Sessions of $PER_SESSION × (MAIL FROM, $PER_MSG × RCPT TO, RSET), no DATA; $SECS s per point; PostgreSQL max_connections = 100. vrcptd warmed by one pass over the key set ($(bench_fmt_int "$NKEYS") RCPTs, ${WARM_S} s)."
	say ""
	say "| variant | c | RCPT/s | × ceiling | p50 ms | p99 ms | SQL xact/RCPT | PG backends (active) | wrong |"
	say "|---|--:|--:|--:|--:|--:|--:|--:|--:|"
	for v in $VARIANTS; do
		awk -F'\t' -v n="$N" -v v="$v" -v name="$(variant_name "$v")" '
			$1 != n { next }
			$2 == "none" { ceil[$3] = $4 }
			$2 == v { rows[++k] = $0 }
			END {
				for (i = 1; i <= k; i++) {
					split(rows[i], f, "\t"); c = f[3]
					printf "| %s | %s | %s | %s | %.1f | %.1f | %s | %s (%s) | %s |\n",
					    name, c, f[4],
					    ceil[c] ? sprintf("%.2f", f[4] / ceil[c]) : "-",
					    f[5] / 1000, f[7] / 1000, f[10], f[11], f[12],
					    v == "none" ? "n/a" : f[13] " of " f[14]
				}
			}' "$RAW" | tee -a "$MD"
	done
}

say "## make bench-postfix, $(date -u '+%Y-%m-%d %H:%M UTC')"
say ""
say "vrcptd: $VRCPTD (tree $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?'), src/ as of $(git -C "$ROOT" log -1 --format=%h -- src 2>/dev/null || echo '?')); machine: $(bench_machine)."
for N in $SIZES; do
	echo "bench-postfix: dataset $N" >&2
	bench_dataset "$N"
	PGDATABASE=$DB pgtmp_psql -At -c "SELECT name || ' OK' FROM
	    virtual_domains" >"$TMP/domains-$N" || exit 1
	chmod 644 "$TMP/domains-$N"
	WARM_S=-
	case " $VARIANTS " in
	*" vrcptd"*|*" socketmap "*)
		SMSOCK=$TMP/vrcptd-smap.sock
		bench_vrcptd_cf vrcptd "socketmap_listen = unix:$SMSOCK
listen_mode = 0666" >"$TMP/vrcptd.cf"
		bench_vrcptd vrcptd "$TMP/vrcptd.cf"
		"$TMP/policyload" -s "unix:$VSOCK" -c 64 -n "$NKEYS" \
		    -f "$RCPTS" -x -D 1800 >"$TMP/warm-$N" 2>&1 ||
		    echo "bench-postfix: warm-up: $(tail -n 1 "$TMP/warm-$N")" >&2
		WARM_S=$(bench_field "$TMP/warm-$N" seconds)
		sleep "$BENCH_PGSTAT_SETTLE"	# its transactions, counted
		;;
	esac
	for v in $VARIANTS; do
		pf_variant "$v" "$TMP/pf-$N-$v"
	done
	OFF=0
	for c in $CONC; do
		for v in $VARIANTS; do
			echo "bench-postfix: $N $v c=$c" >&2
			pf_point "$v" "$c"
		done
	done
	case " $VARIANTS " in
	*" vrcptd"*|*" socketmap "*) bench_vrcptd_stop ;;
	esac
	report
	bench_dataset_drop
done
echo "bench-postfix: wrote $MD and $RAW" >&2
