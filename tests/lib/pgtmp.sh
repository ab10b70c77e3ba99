#!/bin/bash
# pgtmp.sh - a throwaway PostgreSQL 15 for tests and "make run".
#
# The server lives in a fresh temporary directory, listens ONLY on a unix
# socket in that directory (listen_addresses = ''), runs with fsync=off,
# trusts local connections, and never runs as root: when started by root
# it runs as the system user $PGTMP_USER (created with useradd --system
# if missing).
#
# Sourced (the usual way):
#
#	. tests/lib/pgtmp.sh
#	pgtmp_start		# exports PGHOST PGPORT PGUSER PGDATABASE
#	pgtmp_psql -c 'CREATE TABLE ...'
#	pgtmp_down; pgtmp_up	# stop/start the same server (outage tests)
#	pgtmp_hang; pgtmp_resume	# SIGSTOP/SIGCONT the postmaster and
#				# every backend (a hung server)
#	pgtmp_pids		# the pids of the postmaster and its children
#	pgtmp_stop		# stop it and remove the directory
#
# pgtmp_start installs an EXIT trap (chained to one already set) so that
# nothing is left running or behind when the script ends, and a small
# watchdog that stops the server if the script dies without running its
# traps (SIGKILL). Set PGTMP_NO_TRAP=1 to manage that yourself. An EXIT
# trap you set after pgtmp_start replaces ours: call pgtmp_stop from it.
# One server per shell.
#
# Executed, for other languages and for "make run" (no trap, no
# watchdog; the server keeps running until "stop"):
#
#	eval "$(tests/lib/pgtmp.sh start [DIR])"   # prints export lines
#	tests/lib/pgtmp.sh psql DIR [psql args]
#	tests/lib/pgtmp.sh down DIR | up DIR | stop DIR
#
# Variables (optional, set before pgtmp_start):
#	PGTMP_BIN	PostgreSQL binaries (/usr/lib/postgresql/15/bin)
#	PGTMP_USER	system user the server runs as when we are root
#			(vrcpt-test)
#	PGTMP_PORT	port number in the socket name (5432; the socket
#			directory is private, so it cannot collide)
#	PGTMP_DBNAME	database created for the tests (vrcpt)
#	PGTMP_KEEP=1	pgtmp_stop leaves the directory (for post-mortems)
# After pgtmp_start: PGTMP_DIR (the temp dir; the socket is there too),
# PGTMP_DATA (data directory), PGTMP_LOG (server log), PGTMP_SUPERUSER.

PGTMP_BIN=${PGTMP_BIN:-/usr/lib/postgresql/15/bin}
PGTMP_USER=${PGTMP_USER:-vrcpt-test}
PGTMP_PORT=${PGTMP_PORT:-5432}
PGTMP_DBNAME=${PGTMP_DBNAME:-vrcpt}
PGTMP_SUPERUSER=postgres
# state belongs to the shell that started the server: a child shell that
# inherited these variables must not stop its parent's server
if [ "${PGTMP__SHELL:-}" != "$$" ]; then
	PGTMP_DIR=
	PGTMP_DATA=
	PGTMP_LOG=
	PGTMP_WATCHDOG=
fi
PGTMP__SHELL=$$
# seconds pg_ctl waits for start-up and shut-down
PGTMP_WAIT_S=30

# pgtmp__as - run a command as the server's user
pgtmp__as() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u "$PGTMP_USER" -- "$@"
	else
		"$@"
	fi
}

# pgtmp__user - make sure the unprivileged user exists (root only)
pgtmp__user() {
	[ "$(id -u)" = 0 ] || return 0
	id -u "$PGTMP_USER" >/dev/null 2>&1 && return 0
	useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin "$PGTMP_USER" >/dev/null 2>&1 ||
	    id -u "$PGTMP_USER" >/dev/null 2>&1 || {
		echo "pgtmp: cannot create user $PGTMP_USER" >&2
		return 1
	}
}

# pgtmp__load DIR - read the state pgtmp_start left in DIR
pgtmp__load() {
	if [ ! -r "$1/pgtmp.env" ]; then
		echo "pgtmp: $1: not a pgtmp directory" >&2
		return 1
	fi
	# shellcheck disable=SC1091
	. "$1/pgtmp.env"
}

# pgtmp__exports - the variables a client needs, as shell lines
pgtmp__exports() {
	printf 'export PGHOST=%q PGPORT=%q PGUSER=%q PGDATABASE=%q\n' \
	    "$PGHOST" "$PGPORT" "$PGUSER" "$PGDATABASE"
	printf 'export PGTMP_DIR=%q PGTMP_DATA=%q PGTMP_LOG=%q\n' \
	    "$PGTMP_DIR" "$PGTMP_DATA" "$PGTMP_LOG"
}

# pgtmp_up - start the server in $PGTMP_DIR (again)
pgtmp_up() {
	if ! pgtmp__as "$PGTMP_BIN/pg_ctl" -D "$PGTMP_DATA" -l "$PGTMP_LOG" \
	    -w -t "$PGTMP_WAIT_S" -s start >/dev/null; then
		echo "pgtmp: server did not start; log follows" >&2
		tail -n 20 "$PGTMP_LOG" >&2
		return 1
	fi
}

# pgtmp_down - stop the server now (immediate), keeping its data (a hung
# one is continued first)
pgtmp_down() {
	local pid

	[ -n "$PGTMP_DATA" ] && [ -f "$PGTMP_DATA/postmaster.pid" ] ||
	    return 0
	pid=$(head -n 1 "$PGTMP_DATA/postmaster.pid" 2>/dev/null)
	# a hung server (pgtmp_hang) would not act on the stop request
	pgtmp_resume
	if ! pgtmp__as "$PGTMP_BIN/pg_ctl" -D "$PGTMP_DATA" -m immediate \
	    -w -t "$PGTMP_WAIT_S" -s stop >/dev/null 2>&1; then
		# pg_ctl failed: kill exactly this postmaster, if still one
		case "$pid" in
		''|*[!0-9]*)	;;
		*)	if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = \
			    postgres ]; then
				kill -KILL "$pid" 2>/dev/null
			fi ;;
		esac
		rm -f "$PGTMP_DATA/postmaster.pid"
	fi
}

# pgtmp_pids - the postmaster and its children (backends, auxiliary
# processes), as a list of pids; nothing when none runs
pgtmp_pids() {
	local pm

	[ -n "$PGTMP_DATA" ] && [ -f "$PGTMP_DATA/postmaster.pid" ] ||
	    return 0
	pm=$(head -n 1 "$PGTMP_DATA/postmaster.pid" 2>/dev/null)
	case "$pm" in
	''|*[!0-9]*)	return 0 ;;
	esac
	echo "$pm" $(pgrep -P "$pm")
}

# pgtmp_hang - stop every process of the server (SIGSTOP): connections
# stay open and nothing answers. pgtmp_resume undoes it (SIGCONT)
pgtmp_hang() {
	local p

	p=$(pgtmp_pids)
	[ -z "$p" ] || kill -STOP $p 2>/dev/null
}

pgtmp_resume() {
	local p

	p=$(pgtmp_pids)
	[ -z "$p" ] || kill -CONT $p 2>/dev/null
}

# pgtmp_start [DIR] - create, start and describe a throwaway server
pgtmp_start() {
	local dir=${1:-} owner

	if [ ! -x "$PGTMP_BIN/initdb" ]; then
		echo "pgtmp: $PGTMP_BIN/initdb not found (postgresql-15)" >&2
		return 1
	fi
	pgtmp__user || return 1
	if [ -z "$dir" ]; then
		dir=$(mktemp -d "${TMPDIR:-/tmp}/vrcpt-pg.XXXXXX") || return 1
	else
		# it is removed again on failure and by pgtmp_stop: never
		# take over a directory that holds something
		if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
			echo "pgtmp: $dir exists and is not empty" >&2
			return 1
		fi
		mkdir -p "$dir" || return 1
	fi
	dir=$(cd "$dir" && pwd -P)
	PGTMP_DIR=$dir
	PGTMP_DATA=$dir/data
	PGTMP_LOG=$dir/server.log
	# shellcheck disable=SC2119
	[ "${PGTMP_NO_TRAP:-0}" = 1 ] || pgtmp__guard
	# The server writes its socket here; clients (root or not) reach it.
	chmod 755 "$dir"
	if [ "$(id -u)" = 0 ]; then
		owner=$PGTMP_USER
		chown "$owner" "$dir"
	fi

	if ! pgtmp__as "$PGTMP_BIN/initdb" -D "$PGTMP_DATA" -A trust \
	    -U "$PGTMP_SUPERUSER" -E UTF8 --locale=C.UTF-8 --no-sync \
	    >"$dir/initdb.log" 2>&1; then
		echo "pgtmp: initdb failed; log follows" >&2
		tail -n 20 "$dir/initdb.log" >&2
		return 1
	fi
	pgtmp__as tee -a "$PGTMP_DATA/postgresql.conf" >/dev/null <<EOF
# pgtmp: throwaway test server
listen_addresses = ''
unix_socket_directories = '$dir'
unix_socket_permissions = 0777
port = $PGTMP_PORT
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 50
shared_buffers = 16MB
log_line_prefix = '%m [%p] %q%u@%d '
EOF
	pgtmp__as touch "$PGTMP_LOG"

	PGHOST=$dir
	PGPORT=$PGTMP_PORT
	PGUSER=$PGTMP_SUPERUSER
	PGDATABASE=$PGTMP_DBNAME
	export PGHOST PGPORT PGUSER PGDATABASE PGTMP_DIR PGTMP_DATA PGTMP_LOG
	pgtmp__exports >"$dir/pgtmp.env"
	# pgtmp.env is sourced later: keep it owned by whoever started us
	chmod 644 "$dir/pgtmp.env"

	pgtmp_up || { pgtmp_stop; return 1; }
	if ! "$PGTMP_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres \
	    -c "CREATE DATABASE \"$PGTMP_DBNAME\"" >/dev/null; then
		pgtmp_stop
		return 1
	fi
}

# pgtmp_psql [psql args] - run psql as the superuser on the test database
pgtmp_psql() {
	"$PGTMP_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGTMP_DIR" \
	    -p "$PGPORT" -U "$PGTMP_SUPERUSER" -d "$PGDATABASE" "$@"
}

# pgtmp_stop - stop the server and remove its directory
pgtmp_stop() {
	if [ -n "${PGTMP_WATCHDOG:-}" ]; then
		kill "$PGTMP_WATCHDOG" 2>/dev/null
		wait "$PGTMP_WATCHDOG" 2>/dev/null
		PGTMP_WATCHDOG=
	fi
	[ -n "$PGTMP_DIR" ] && [ -d "$PGTMP_DIR" ] || return 0
	pgtmp_down
	if [ "${PGTMP_KEEP:-0}" = 1 ]; then
		echo "pgtmp: kept $PGTMP_DIR" >&2
	else
		rm -rf "$PGTMP_DIR"
	fi
	PGTMP_DIR=
	PGTMP_DATA=
}

# pgtmp__guard - stop the server when this shell exits, however it exits
# (its "set --" only parses the output of trap -p)
# shellcheck disable=SC2120
pgtmp__guard() {
	local prev

	PGTMP_PARENT=$$

	# chain to an EXIT trap that is already there
	prev=$(trap -p EXIT)
	if [ -n "$prev" ]; then
		eval "set -- $prev"
		PGTMP_PREV_TRAP=$3
	else
		PGTMP_PREV_TRAP=
	fi
	trap 'pgtmp_stop; eval "$PGTMP_PREV_TRAP"' EXIT
	[ -n "$(trap -p INT)" ] || trap 'exit 130' INT
	[ -n "$(trap -p TERM)" ] || trap 'exit 143' TERM

	# watchdog for deaths that run no trap; it holds no terminal
	# descriptors, so it cannot keep a pipeline or $(...) open
	(
		trap - EXIT INT
		sp=
		trap '[ -z "$sp" ] || kill "$sp" 2>/dev/null; exit 0' TERM
		while kill -0 "$PGTMP_PARENT" 2>/dev/null; do
			sleep 1 &
			sp=$!
			wait "$sp"
			sp=
		done
		pgtmp_down
		rm -rf "$PGTMP_DIR"
	) </dev/null >/dev/null 2>&1 &
	PGTMP_WATCHDOG=$!
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	# executed: a small command interface
	set -u
	cmd=${1:-}
	shift || true
	case "$cmd" in
	start)
		PGTMP_NO_TRAP=1
		pgtmp_start "${1:-}" >&2 || exit 1
		pgtmp__exports ;;
	stop|down|up|psql)
		[ $# -ge 1 ] || {
			echo "usage: $0 $cmd DIR" >&2
			exit 2
		}
		pgtmp__load "$1" || exit 1
		shift
		case "$cmd" in
		stop)	pgtmp_stop ;;
		down)	pgtmp_down ;;
		up)	pgtmp_up ;;
		psql)	pgtmp_psql "$@" ;;
		esac ;;
	*)
		echo "usage: $0 start [DIR] | stop|down|up DIR |" \
		    "psql DIR [args]" >&2
		exit 2 ;;
	esac
	exit
fi
