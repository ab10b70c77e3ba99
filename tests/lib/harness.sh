# tests/lib/harness.sh - what every test script shares: counting checks,
# the summary line, the work directory, starting and stopping daemons,
# the throwaway PostgreSQL and its map files, the policy client and the
# metrics endpoint. Source it from bash after setting ROOT (the top of
# the tree); it sources tests/lib/proc.sh, pgtmp.sh and postfix.sh.
#
# Checks and the summary
#   harness_init NAME       NAME prefixes every line; sets BUILD (absolute),
#                           VRCPTD (default $BUILD/vrcptd), WORK (a fresh
#                           temp dir, removed at exit unless KEEP=1 or a
#                           check failed; then its path is on stderr)
#   ok                      one check passed
#   bad TEXT...             one check failed: "NAME: FAIL: TEXT"
#   check WHAT GOT WANT     ok if GOT = WANT, else bad with both
#   check_ge WHAT GOT MIN   ok if the number GOT >= MIN
#   note TEXT...            "NAME: TEXT" (a measurement, a remark)
#   finish                  "NAME: N passed, M failed"; exit status 0 only
#                           when none failed
#   skip TEXT...            "NAME: skipped: TEXT", then finish
#   need_cmd PKG CMD...     bad "CMD not installed (apt-get install PKG)"
#                           and finish unless every CMD is on PATH
#
# At exit
#   harness_on_exit CMD     run CMD (eval) at exit, after the daemons and
#                           background jobs are stopped, before WORK is
#                           removed (the last added runs first)
#
# Background jobs (load generators, churn): their pids in BGPIDS
#   BGPIDS+=($!)            after starting one with &
#   kill_bg                 kill and reap every job in BGPIDS (also at
#                           exit, after the daemons are stopped)
#
# Daemons (stopped at exit, the last started first)
#   daemon_start NAME SOCKET CMD...
#                           run CMD in the background, output in
#                           $WORK/NAME.out; wait until it listens on the
#                           unix socket SOCKET (proc_listening: no probe
#                           connection), HARNESS_START_TIMEOUT s at most;
#                           NAME must not be running already. Sets
#                           DAEMON_PID. On failure bad ("exited at start"
#                           with its output, or "does not listen") and
#                           status 1
#   daemon_stop NAME        SIGTERM, wait up to HARNESS_STOP_TIMEOUT s,
#                           SIGKILL as a last resort (proc_stop); status 0
#                           when it exited on SIGTERM or was not running
#   daemon_pid NAME         print its pid (nothing when not running)
#   vrcptd_start CF SOCKET [ARG...]
#                           daemon_start BASENAME-OF-CF SOCKET $VRCPTD -c CF
#                           ARG...; sets VRCPTD_PID too
#   retry SECONDS CMD...    run CMD every 0.1 s until it succeeds, for at
#                           most SECONDS; status 0 when it did
#
# PostgreSQL (tests/lib/pgtmp.sh) and the map files
#   pg_start [SQL...]       a throwaway PostgreSQL (stopped at exit, after
#                           the daemons), then psql -f each SQL file (path
#                           relative to ROOT, or absolute) into the test
#                           database. On failure bad, the output on
#                           stderr, and status 1
#   maps_write DIR [PATTERN...]
#                           pf_write_cf each file of policy/ that PATTERN
#                           (a glob: 'postfixadmin-*.cf') names into DIR
#                           (created, mode 755), pointing at the test
#                           PostgreSQL (PGDATABASE=db maps_write ... for
#                           another database). Default: the four ISPmail
#                           pgsql-*.cf. On failure (a pattern that names
#                           nothing, too) bad and status 1
#   tables_cf DOMAINS MAILBOXES ALIASES
#                           the vrcptd.cf lines of those table lists
#                           (virtual_mailbox_domains, virtual_mailbox_maps,
#                           virtual_alias_maps), recipient_delimiter = +
#                           and postfix_config_directory = (empty)
#   maps_cf DIR             the vrcptd.cf lines that use the four ISPmail
#                           maps in DIR, as policy/README.md has them, and
#                           recipient_delimiter = +; and
#                           postfix_config_directory = (empty: the
#                           machine's /etc/postfix/main.cf must not change
#                           a test; tests/integration/pfconf.sh tests it)
#
# Clients
#   pc ENDPOINT COMMAND ARG...
#                           the policy client, tests/lib/policyc.pl
#   http_get ENDPOINT PATH  GET PATH over HTTP/1.0 from ENDPOINT
#                           (unix:/path or inet:host:port); prints the
#                           status code ("(none)" without a status line),
#                           then the body, without CRs
#   metric_value ENDPOINT NAME
#                           the value of the sample NAME (labels included,
#                           as in the exposition) of GET /metrics
#   tool_build NAME         cc tests/lib/NAME.c (a C test client; it may
#                           include tests/lib/policyio.h) into $WORK/NAME;
#                           on failure bad and status 1
#
# Knobs: KEEP=1 keeps the work directory; BUILD, VRCPTD as above;
# HARNESS_START_TIMEOUT and HARNESS_STOP_TIMEOUT may be set after
# harness_init. The summary line is what tests/integration/run.sh adds
# up.

# shellcheck source=proc.sh
. "$ROOT/tests/lib/proc.sh"
# shellcheck source=pgtmp.sh
. "$ROOT/tests/lib/pgtmp.sh"
# shellcheck source=postfix.sh
. "$ROOT/tests/lib/postfix.sh"

HARNESS_START_TIMEOUT=20	# seconds for a daemon to listen
HARNESS_STOP_TIMEOUT=10		# seconds for a daemon to exit on SIGTERM

harness_init() {
	HARNESS_NAME=$1
	pass=0
	fail=0
	BUILD=${BUILD:-build}
	case $BUILD in
	/*)	;;
	*)	BUILD=$ROOT/$BUILD ;;
	esac
	VRCPTD=${VRCPTD:-$BUILD/vrcptd}
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/vrcpt-$HARNESS_NAME.XXXXXX") ||
	    exit 1
	chmod 755 "$WORK"
	HARNESS_EXIT=()
	BGPIDS=()			# background jobs (kill_bg)
	HARNESS_DAEMONS=()		# names, in the order started
	declare -g -A HARNESS_PID=()	# name -> pid
	trap harness_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

ok() { pass=$((pass + 1)); }
bad() {
	fail=$((fail + 1))
	printf '%s: FAIL: %s\n' "$HARNESS_NAME" "$*"
}
check() {
	if [ "$2" = "$3" ]; then
		ok
	else
		bad "$1: got \"$2\", want \"$3\""
	fi
}
check_ge() {
	if [ "$2" -ge "$3" ] 2>/dev/null; then
		ok
	else
		bad "$1: got \"$2\", want at least $3"
	fi
}
note() { printf '%s: %s\n' "$HARNESS_NAME" "$*"; }
finish() {
	echo "$HARNESS_NAME: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}
skip() {
	note "skipped: $*"
	finish
}

harness_on_exit() { HARNESS_EXIT=("$1" "${HARNESS_EXIT[@]}"); }

need_cmd() {
	local pkg=$1 c
	shift
	for c in "$@"; do
		command -v "$c" >/dev/null && continue
		bad "$c not installed (apt-get install $pkg)"
		finish
	done
}

kill_bg() {
	local p
	for p in "${BGPIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	BGPIDS=()
}

harness_cleanup() {
	local names=("${HARNESS_DAEMONS[@]}") i c
	for ((i = ${#names[@]} - 1; i >= 0; i--)); do
		daemon_stop "${names[$i]}"
	done
	kill_bg
	for c in "${HARNESS_EXIT[@]}"; do
		eval "$c"
	done
	HARNESS_EXIT=()
	if [ "${KEEP:-0}" = 1 ] || [ "$fail" -gt 0 ]; then
		echo "$HARNESS_NAME: work directory kept: $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}

daemon_start() {
	local name=$1 sock=$2 pid i
	shift 2
	"$@" >"$WORK/$name.out" 2>&1 &
	pid=$!
	DAEMON_PID=$pid
	HARNESS_PID[$name]=$pid
	HARNESS_DAEMONS+=("$name")
	for ((i = 0; i < HARNESS_START_TIMEOUT * 10; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			bad "$name exited at start: $(head -c 800 \
			    "$WORK/$name.out" 2>/dev/null)"
			daemon_stop "$name"
			return 1
		fi
		proc_listening "$sock" && return 0
		sleep 0.1
	done
	bad "$name does not listen on $sock"
	return 1
}

daemon_stop() {
	local name=$1 pid=${HARNESS_PID[$1]:-} i
	[ -n "$pid" ] || return 0
	unset "HARNESS_PID[$name]"
	for i in "${!HARNESS_DAEMONS[@]}"; do
		[ "${HARNESS_DAEMONS[$i]}" = "$name" ] &&
		    unset "HARNESS_DAEMONS[$i]"
	done
	HARNESS_DAEMONS=("${HARNESS_DAEMONS[@]}")
	proc_stop "$pid" "$HARNESS_NAME: $name" "$HARNESS_STOP_TIMEOUT"
}

daemon_pid() { printf '%s\n' "${HARNESS_PID[$1]:-}"; }

vrcptd_start() {
	local cf=$1 sock=$2 name
	shift 2
	name=${cf##*/}
	name=${name%.cf}
	daemon_start "$name" "$sock" "$VRCPTD" -c "$cf" "$@" || return 1
	VRCPTD_PID=$DAEMON_PID
}

retry() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

pg_start() {
	local f rc sql=()
	# pgtmp's watchdog stops the server even if this script is killed;
	# its EXIT trap is replaced by ours, which stops it after the daemons
	pgtmp_start "" >"$WORK/pgtmp.out" 2>&1
	rc=$?
	trap harness_cleanup EXIT
	harness_on_exit 'pgtmp_stop >/dev/null 2>&1'
	if [ "$rc" -ne 0 ]; then
		cat "$WORK/pgtmp.out" >&2
		bad "PostgreSQL did not start"
		return 1
	fi
	[ $# -gt 0 ] || return 0
	for f in "$@"; do
		case $f in
		/*)	sql+=(-f "$f") ;;
		*)	sql+=(-f "$ROOT/$f") ;;
		esac
	done
	if ! pgtmp_psql "${sql[@]}" >"$WORK/load.log" 2>&1; then
		cat "$WORK/load.log" >&2
		bad "loading $*"
		return 1
	fi
}

maps_write() {
	local dir=$1 p f
	shift
	[ $# -gt 0 ] || set -- pgsql-virtual-mailbox-domains.cf \
	    pgsql-virtual-mailbox-maps.cf pgsql-virtual-alias-maps.cf \
	    pgsql-email2email.cf
	if ! { mkdir -p "$dir" && chmod 755 "$dir"; }; then
		bad "maps_write: cannot make $dir"
		return 1
	fi
	for p in "$@"; do
		for f in "$ROOT"/policy/$p; do
			pf_write_cf "$f" "$dir/${f##*/}" ||
			    { bad "maps_write: policy/$p"; return 1; }
		done
	done
}

tables_cf() {
	cat <<EOF
postfix_config_directory =
virtual_mailbox_domains = $1
virtual_mailbox_maps = $2
virtual_alias_maps = $3
recipient_delimiter = +
EOF
}

maps_cf() {
	tables_cf "pgsql:$1/pgsql-virtual-mailbox-domains.cf" \
	    "pgsql:$1/pgsql-virtual-mailbox-maps.cf" \
	    "pgsql:$1/pgsql-virtual-alias-maps.cf, pgsql:$1/pgsql-email2email.cf"
}

pc() { perl "$ROOT/tests/lib/policyc.pl" "$@"; }

http_get() {
	perl -MIO::Socket::UNIX -MIO::Socket::INET -e '
		my ($ep, $path) = @ARGV;
		my $s = $ep =~ /^unix:(.*)$/ ?
		    IO::Socket::UNIX->new(Peer => $1) :
		    $ep =~ /^inet:(.*)$/ ? IO::Socket::INET->new($1) :
		    die "http_get: bad endpoint $ep\n";
		$s or die "http_get: connect $ep: $!\n";
		print $s "GET $path HTTP/1.0\r\nHost: x\r\n\r\n";
		local $/; my $r = <$s> // ""; $r =~ s/\r//g;
		my ($head, $body) = split /\n\n/, $r, 2;
		my ($status) = ($head // "") =~ m{^HTTP/1\.\d (\d+)};
		print $status // "(none)", "\n", $body // "";' "$1" "$2"
}

metric_value() {
	http_get "$1" /metrics | awk -v k="$2" 'NR > 1 && $1 == k { print $2 }'
}

tool_build() {
	if cc -std=c17 -D_GNU_SOURCE -O2 -Wall -I"$ROOT/tests/lib" \
	    -o "$WORK/$1" "$ROOT/tests/lib/$1.c" >"$WORK/$1.cc.out" 2>&1; then
		return 0
	fi
	bad "building tests/lib/$1.c: $(head -c 800 "$WORK/$1.cc.out")"
	return 1
}
