# tests/lib/pgstandby.sh - a streaming standby of the throwaway
# PostgreSQL of tests/lib/pgtmp.sh, for the replication tests. Source it
# from bash after pgtmp.sh (harness.sh sources that), once pgtmp_start
# (or harness's pg_start) has started the primary.
#
#   standby_start DIR [CONF-LINE...]
#	pg_basebackup -R of the running primary into DIR/data (DIR is
#	created, owned by the server's user), listening ONLY on a unix
#	socket in DIR (same port number as the primary: the directories
#	differ), the CONF-LINEs (e.g. "recovery_min_apply_delay = 250ms")
#	appended to its postgresql.conf, then started as the same non-root
#	user pgtmp uses. Sets STANDBY_DIR, STANDBY_DATA, STANDBY_LOG,
#	STANDBY_PID (its postmaster). A watchdog stops it if this shell dies
#	without running its traps; standby_stop stops it and the watchdog.
#	Status 1 on failure (the log on stderr).
#   standby_psql [psql args]
#	psql as the superuser on the test database of the standby
#   standby_promote
#	pg_ctl promote, waiting until it is a primary
#   standby_caught_up
#	status 0 when the standby has replayed everything the primary had
#	written when asked (pg_current_wal_insert_lsn)
#   standby_stop
#	stop it (immediate), exactly the postmaster started, by its pid
#	when pg_ctl fails; keeps DIR (the caller's work directory)
#
# The primary needs nothing beyond pgtmp's defaults: wal_level replica,
# max_wal_senders and the "local replication all trust" line of
# initdb -A trust are PostgreSQL 15's defaults.

STANDBY_DIR=
STANDBY_DATA=
STANDBY_LOG=
STANDBY_PID=
STANDBY_WATCHDOG=

standby_start() {
	local dir=$1 l
	shift
	mkdir -p "$dir" && chmod 755 "$dir" || return 1
	[ "$(id -u)" != 0 ] || chown "$PGTMP_USER" "$dir" || return 1
	dir=$(cd "$dir" && pwd -P)
	STANDBY_DIR=$dir
	STANDBY_DATA=$dir/data
	STANDBY_LOG=$dir/server.log
	if ! pgtmp__as "$PGTMP_BIN/pg_basebackup" -D "$STANDBY_DATA" -R \
	    -X stream -c fast -h "$PGTMP_DIR" -p "$PGPORT" \
	    -U "$PGTMP_SUPERUSER" >"$dir/basebackup.log" 2>&1; then
		echo "pgstandby: pg_basebackup failed" >&2
		cat "$dir/basebackup.log" >&2
		return 1
	fi
	{
		echo "# pgstandby: a standby of $PGTMP_DIR"
		echo "unix_socket_directories = '$dir'"
		for l in "$@"; do
			echo "$l"
		done
	} | pgtmp__as tee -a "$STANDBY_DATA/postgresql.conf" >/dev/null
	pgtmp__as touch "$STANDBY_LOG"
	PGTMP_DATA=$STANDBY_DATA PGTMP_LOG=$STANDBY_LOG pgtmp_up || return 1
	STANDBY_PID=$(head -n 1 "$STANDBY_DATA/postmaster.pid" 2>/dev/null)
	standby__guard
}

standby_psql() {
	"$PGTMP_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$STANDBY_DIR" \
	    -p "$PGPORT" -U "$PGTMP_SUPERUSER" -d "$PGDATABASE" "$@"
}

standby_promote() {
	pgtmp__as "$PGTMP_BIN/pg_ctl" -D "$STANDBY_DATA" -w \
	    -t "$PGTMP_WAIT_S" -s promote
}

standby_caught_up() {
	local lsn
	lsn=$(pgtmp_psql -At -c "SELECT pg_current_wal_insert_lsn()") ||
	    return 1
	[ "$(standby_psql -At -c "SELECT pg_last_wal_replay_lsn() >=
	    '$lsn'::pg_lsn")" = t ]
}

standby_stop() {
	if [ -n "$STANDBY_WATCHDOG" ]; then
		kill "$STANDBY_WATCHDOG" 2>/dev/null
		wait "$STANDBY_WATCHDOG" 2>/dev/null
		STANDBY_WATCHDOG=
	fi
	[ -n "$STANDBY_DATA" ] || return 0
	standby__down
	STANDBY_DATA=
}

# standby__down - pg_ctl stop; if that fails, this postmaster by its pid
standby__down() {
	[ -f "$STANDBY_DATA/postmaster.pid" ] || return 0
	if ! pgtmp__as "$PGTMP_BIN/pg_ctl" -D "$STANDBY_DATA" -m immediate \
	    -w -t "$PGTMP_WAIT_S" -s stop >/dev/null 2>&1; then
		case "$STANDBY_PID" in
		''|*[!0-9]*)	;;
		*)	if [ "$(cat "/proc/$STANDBY_PID/comm" 2>/dev/null)" = \
			    postgres ]; then
				kill -KILL "$STANDBY_PID" 2>/dev/null
			fi ;;
		esac
	fi
}

# standby__guard - stop the standby when this shell dies without traps
standby__guard() {
	local parent=$$
	(
		trap - EXIT INT
		sp=
		trap '[ -z "$sp" ] || kill "$sp" 2>/dev/null; exit 0' TERM
		while kill -0 "$parent" 2>/dev/null; do
			sleep 1 &
			sp=$!
			wait "$sp"
			sp=
		done
		standby__down
	) </dev/null >/dev/null 2>&1 &
	STANDBY_WATCHDOG=$!
}
