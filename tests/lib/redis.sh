# tests/lib/redis.sh - a throwaway redis-server for the tests, on a unix
# socket only. Source it from bash after tests/lib/proc.sh (harness.sh
# sources that). One server per shell.
#
#   redis_start SOCKET [OPTION...]
#	start redis-server with --port 0 (no TCP), --unixsocket SOCKET, no
#	persistence, --dir the socket's directory, then the redis-server
#	OPTIONs; its output is appended to REDIS_LOG (default redis.log
#	beside SOCKET). Waits up to REDIS_START_TIMEOUT s until it answers
#	PING. Sets REDIS_PID and REDIS_SOCK; status 1 when it does not
#	answer (REDIS_PID is still set: stop it with redis_kill)
#   redis_stop
#	SIGCONT (it may be stopped), SIGTERM, wait (proc_stop); nothing
#	when none runs
#   redis_kill
#	SIGCONT, SIGKILL, wait, remove the socket: a crash
#   rcli ARG...
#	redis-cli on REDIS_SOCK

REDIS_START_TIMEOUT=${REDIS_START_TIMEOUT:-20}
REDIS_STOP_TIMEOUT=10	# seconds for redis-server to exit on SIGTERM
REDIS_PID=
REDIS_SOCK=

redis_start() {
	local sock=$1 i
	shift
	REDIS_SOCK=$sock
	REDIS_LOG=${REDIS_LOG:-${sock%/*}/redis.log}
	redis-server --port 0 --unixsocket "$sock" --save "" \
	    --appendonly no --dir "${sock%/*}" "$@" >>"$REDIS_LOG" 2>&1 &
	REDIS_PID=$!
	for ((i = 0; i < REDIS_START_TIMEOUT * 10; i++)); do
		[ "$(rcli ping 2>/dev/null)" = PONG ] && return 0
		kill -0 "$REDIS_PID" 2>/dev/null || break
		sleep 0.1
	done
	return 1
}

redis_stop() {
	[ -n "$REDIS_PID" ] || return 0
	kill -CONT "$REDIS_PID" 2>/dev/null
	proc_stop "$REDIS_PID" "redis-server" "$REDIS_STOP_TIMEOUT"
	REDIS_PID=
}

redis_kill() {
	[ -n "$REDIS_PID" ] || return 0
	kill -CONT "$REDIS_PID" 2>/dev/null
	kill -KILL "$REDIS_PID" 2>/dev/null
	wait "$REDIS_PID" 2>/dev/null
	REDIS_PID=
	rm -f "$REDIS_SOCK"
}

rcli() { redis-cli -s "$REDIS_SOCK" "$@"; }
