# tests/bench/lib.sh - what the benchmarks share (tests/bench/run.sh,
# tests/bench/postfix.sh). Source it from bash at the top of the tree.
#
# Everything is measured from outside the daemon, through its public
# interfaces only (configuration file, policy socket, metrics endpoint,
# /proc, PostgreSQL's statistics), so that the same harness measures any
# build: BUILD=dir (its vrcptd) or VRCPTD=/path/to/vrcptd.
#
#   bench_init NAME        BUILD and VRCPTD (absolute), TMP (removed at
#                          exit unless KEEP=1), OUT (results directory,
#                          BENCH_OUT, default $BUILD/bench), STAMP; builds
#                          the load tools into $TMP
#   bench_pg_start         a throwaway PostgreSQL 15 (tests/lib/pgtmp.sh)
#                          with PostgreSQL's stock max_connections (100)
#                          and shared_buffers (128MB)
#   bench_dataset N        database bN: the ISPmail schema, N mailboxes
#                          (tests/bench/gendata.sql), then the triggers;
#                          sets DB, MAPS (the four pgsql-*.cf for it),
#                          RCPTS (the load's recipients, "addr<TAB>y|n"),
#                          NKEYS, NDOMAINS, NALIASES, GEN_S
#   bench_dataset_drop     drop it again
#   bench_vrcptd NAME CF   start $VRCPTD -c CF; CF must listen on
#                          unix:$TMP/NAME.sock with metrics on
#                          unix:$TMP/NAME.metrics; waits for the first
#                          right answer (policyload -R) and sets VPID,
#                          VSOCK, READY_MS, FIRST_MS
#   bench_vrcptd_stop      SIGTERM and wait
#   bench_vrcptd_cf NAME EXTRA   print a configuration: the maps of the
#                          current dataset, shipped defaults otherwise,
#                          then BENCH_EXTRA_CF (yours, for every mode),
#                          then the mode's EXTRA lines
#   bench_cpu PID          user+system CPU time so far, in clock ticks
#   bench_rss PID          VmRSS in kB
#   bench_xact             committed + rolled back transactions of $DB
#   bench_sample_start / bench_sample_stop
#                          sample PostgreSQL's client backends of $DB
#                          (and BENCH_BACKENDS_EXTRA, an SQL condition)
#                          every 0.2 s; stop prints "MAX_ALL MAX_ACTIVE"
#   bench_metric NAME SERIES  one series of $TMP/NAME.metrics (0 if absent)
#   bench_fmt_int N        N with thousands separators
#
# The monitoring connects to the database "postgres", so that it never
# counts as a transaction of $DB.
#
# PostgreSQL's counters: a backend sends its transaction counts to the
# shared statistics at most once a second while busy, and within 10 s
# (PGSTAT_IDLE_INTERVAL) after it goes idle, or when it exits. Counts read
# less than BENCH_PGSTAT_SETTLE seconds after a load may miss its tail.

ROOT=$(pwd -P)
# shellcheck source=../lib/pgtmp.sh
. "$ROOT/tests/lib/pgtmp.sh"
# shellcheck source=../lib/proc.sh
. "$ROOT/tests/lib/proc.sh"

BENCH_PGSTAT_SETTLE=${BENCH_PGSTAT_SETTLE:-11}	# s: PGSTAT_IDLE_INTERVAL + margin
BENCH_START_TIMEOUT=60		# seconds for a server to answer
BENCH_STOP_TIMEOUT=10		# seconds for a server to exit on SIGTERM
BENCH_CLK_TCK=$(getconf CLK_TCK)
BENCH_PIDS=()

bench_init() {
	BENCH_NAME=$1
	BUILD=${BUILD:-build}
	case $BUILD in
	/*)	;;
	*)	BUILD=$ROOT/$BUILD ;;
	esac
	VRCPTD=${VRCPTD:-$BUILD/vrcptd}
	case $VRCPTD in
	/*)	;;
	*)	VRCPTD=$ROOT/$VRCPTD ;;
	esac
	if [ ! -x "$VRCPTD" ]; then
		echo "$BENCH_NAME: $VRCPTD: not built (make, or BUILD=/VRCPTD=)" >&2
		exit 1
	fi
	OUT=${BENCH_OUT:-$BUILD/bench}
	mkdir -p "$OUT" || exit 1
	OUT=$(cd "$OUT" && pwd -P)
	STAMP=$(date +%Y%m%d-%H%M%S)
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/vrcpt-bench.XXXXXX") || exit 1
	chmod 755 "$TMP"
	# 1,000 idle connections plus the load need descriptors
	ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	cc -std=c17 -D_GNU_SOURCE -O2 -o "$TMP/policyload" \
	    tests/bench/policyload.c || exit 1
	cc -std=c17 -D_GNU_SOURCE -O2 -pthread -o "$TMP/nullpolicy" \
	    tests/bench/nullpolicy.c || exit 1
	cc -std=c17 -D_GNU_SOURCE -O2 -o "$TMP/smtpload" \
	    tests/bench/smtpload.c || exit 1
}

# bench_on_exit CMD: run CMD at exit (the last added runs first)
BENCH_EXIT=()
bench_on_exit() { BENCH_EXIT=("$1" "${BENCH_EXIT[@]}"); }

bench_cleanup() {
	local p c
	bench_sample_stop >/dev/null 2>&1
	for p in "${BENCH_PIDS[@]}"; do
		proc_stop "$p" "$BENCH_NAME: process" "$BENCH_STOP_TIMEOUT" \
		    2>/dev/null
	done
	for c in "${BENCH_EXIT[@]}"; do
		eval "$c"
	done
	pgtmp_stop
	if [ "${KEEP:-0}" = 1 ]; then
		echo "$BENCH_NAME: work directory kept: $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}

# bench_bg CMD...: start CMD in the background, stopped at exit; BG_PID
bench_bg() {
	"$@" &
	BG_PID=$!
	BENCH_PIDS+=("$BG_PID")
}

# bench_forget PID: it was stopped already
bench_forget() {
	local p keep=()
	for p in "${BENCH_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	BENCH_PIDS=("${keep[@]}")
}

bench_pg_start() {
	pgtmp_start >/dev/null || exit 1
	# pgtmp's small test settings, back to PostgreSQL's defaults: the
	# connection slots are what native pgsql: maps run out of
	pgtmp__as tee -a "$PGTMP_DATA/postgresql.conf" >/dev/null <<EOF
# tests/bench: PostgreSQL's stock sizes
max_connections = 100
shared_buffers = 128MB
EOF
	pgtmp_down && pgtmp_up || exit 1
}

# bench_psql [args]: the monitoring connection (database "postgres")
bench_psql() {
	PGAPPNAME=vrcpt-bench "$PGTMP_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 \
	    -h "$PGTMP_DIR" -p "$PGPORT" -U "$PGTMP_SUPERUSER" -d postgres "$@"
}

bench_dataset() {
	local n=$1 f t0
	DB=b$n
	t0=$(date +%s.%N)
	bench_psql -c "SET client_min_messages = warning" \
	    -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" \
	    >/dev/null || exit 1
	PGDATABASE=$DB pgtmp_psql -f policy/ispmail.sql >/dev/null || exit 1
	PGDATABASE=$DB pgtmp_psql -v n="$n" -f tests/bench/gendata.sql \
	    >/dev/null || exit 1
	# after the data: a notification per generated row helps nobody
	PGDATABASE=$DB pgtmp_psql -f policy/triggers-ispmail.sql >/dev/null ||
	    exit 1
	RCPTS=$TMP/rcpts-$n
	PGDATABASE=$DB pgtmp_psql -At -c "COPY (SELECT rcpt, class FROM
	    bench_rcpt ORDER BY ord) TO STDOUT" >"$RCPTS" || exit 1
	GEN_S=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {
	    printf "%.1f", b - a }')
	NKEYS=$(wc -l <"$RCPTS")
	NDOMAINS=$(PGDATABASE=$DB pgtmp_psql -At -c \
	    "SELECT count(*) FROM virtual_domains")
	NALIASES=$(PGDATABASE=$DB pgtmp_psql -At -c \
	    "SELECT count(*) FROM virtual_aliases")
	MAPS=$TMP/maps-$n
	mkdir -p "$MAPS"
	chmod 755 "$MAPS"
	for f in policy/pgsql-*.cf; do
		sed -e "s|^hosts *=.*|hosts = unix:$PGHOST|" \
		    -e "s|^user *=.*|user = $PGUSER|" \
		    -e "s|^dbname *=.*|dbname = $DB|" -e '/^password/d' \
		    "$f" >"$MAPS/${f##*/}"
		chmod 644 "$MAPS/${f##*/}"
	done
}

bench_dataset_drop() {
	bench_psql -c "DROP DATABASE IF EXISTS $DB" >/dev/null
}

bench_vrcptd_cf() {
	local name=$1
	cat <<EOF
# tests/bench: shipped defaults but for what follows
listen = unix:$TMP/$name.sock
metrics_listen = unix:$TMP/$name.metrics
maillog_file = $TMP/$name.log
virtual_mailbox_domains = pgsql:$MAPS/pgsql-virtual-mailbox-domains.cf
virtual_mailbox_maps = pgsql:$MAPS/pgsql-virtual-mailbox-maps.cf
virtual_alias_maps = pgsql:$MAPS/pgsql-virtual-alias-maps.cf,
    pgsql:$MAPS/pgsql-email2email.cf
recipient_delimiter = +
${BENCH_EXTRA_CF:-}
$2
EOF
}

# bench_vrcptd NAME CF: start it and wait for a right answer
bench_vrcptd() {
	local name=$1 cf=$2 t0 out
	VSOCK=$TMP/$name.sock
	rm -f "$VSOCK" "$TMP/$name.metrics"
	out=$TMP/$name.ready
	t0=$(date +%s%N)
	bench_bg "$VRCPTD" -c "$cf"
	VPID=$BG_PID
	if ! "$TMP/policyload" -s "unix:$VSOCK" -R "$t0" -c 1 -n 1 \
	    -f "$RCPTS" >"$out" 2>&1; then
		echo "$BENCH_NAME: vrcptd -c $cf did not answer:" >&2
		cat "$out" >&2
		tail -n 5 "$TMP/$name.log" >&2 2>/dev/null
		exit 1
	fi
	READY_MS=$(awk '/^first_reply_ms/ { print $4 }' "$out")
	FIRST_MS=$(awk '/^first_reply_ms/ { print $2 }' "$out")
}

bench_vrcptd_stop() {
	proc_stop "$VPID" "$BENCH_NAME: vrcptd" "$BENCH_STOP_TIMEOUT"
	bench_forget "$VPID"
}

bench_cpu() {
	# fields 14 and 15 (utime, stime) counted after the ")" of comm
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" \
	    2>/dev/null || echo 0
}

bench_rss() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

bench_xact() {
	bench_psql -c "SELECT xact_commit + xact_rollback FROM
	    pg_stat_database WHERE datname = '$DB'"
}

# the client backends of $DB: all of them, and those running a query
BENCH_BACKENDS_SQL="SELECT count(*) || ' ' ||
    count(*) FILTER (WHERE state = 'active') FROM pg_stat_activity
    WHERE backend_type = 'client backend' AND datname = "

bench_sample_start() {
	BENCH_SAMPLES=$TMP/samples
	printf '%s\n\\watch 0.2\n' \
	    "$BENCH_BACKENDS_SQL'$DB' ${BENCH_BACKENDS_EXTRA:-}" >"$TMP/sample.sql"
	# psql itself in the background (not a function): $! is psql
	PGAPPNAME=vrcpt-bench "$PGTMP_BIN/psql" -X -q -At -h "$PGTMP_DIR" \
	    -p "$PGPORT" -U "$PGTMP_SUPERUSER" -d postgres \
	    -f "$TMP/sample.sql" >"$BENCH_SAMPLES" 2>/dev/null &
	BENCH_SAMPLER=$!
}

bench_sample_stop() {
	[ -n "${BENCH_SAMPLER:-}" ] || return 0
	kill "$BENCH_SAMPLER" 2>/dev/null
	wait "$BENCH_SAMPLER" 2>/dev/null
	BENCH_SAMPLER=
	awk 'NF == 2 { if ($1 > a) a = $1; if ($2 > b) b = $2 }
	    END { print a + 0, b + 0 }' "$BENCH_SAMPLES"
}

bench_metrics_get() {
	perl -MIO::Socket::UNIX -e '
		my $s = IO::Socket::UNIX->new(Peer => shift) or exit 1;
		print $s "GET /metrics HTTP/1.0\r\n\r\n";
		local $/; my $r = <$s>; $r =~ s/^.*?\r\n\r\n//s; print $r;' \
	    "$TMP/$1.metrics" >"$TMP/$1.metrics.txt" 2>/dev/null || :
}

# bench_metric NAME SERIES: from the last bench_metrics_get NAME
bench_metric() {
	awk -v s="$2" '$1 == s { v = $2 } END { print v + 0 }' \
	    "$TMP/$1.metrics.txt" 2>/dev/null || echo 0
}

bench_fmt_int() {
	printf '%s\n' "$1" | sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/' -e 'ta'
}

# bench_field FILE NAME: a value of policyload's or smtpload's result line
bench_field() {
	awk -v f="$2" '/^requests / { for (i = 1; i < NF; i++)
	    if ($i == f) print $(i + 1) }' "$1"
}

# bench_machine: what the tables were measured on
bench_machine() {
	local cpu
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	printf '%s, %s cores (nproc), %s MHz, %s GiB RAM, %s; %s; PostgreSQL %s, Redis %s, Postfix %s' \
	    "$cpu" "$(nproc)" \
	    "$(awk -F': ' '/^cpu MHz/ { printf "%.0f", $2; exit }' /proc/cpuinfo)" \
	    "$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)" \
	    "$(uname -sr)" \
	    "$(. /etc/os-release && echo "$PRETTY_NAME")" \
	    "$("$PGTMP_BIN/postgres" --version | awk '{ print $3 }')" \
	    "$(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')" \
	    "$(postconf -d -h mail_version 2>/dev/null || echo '?')"
}
