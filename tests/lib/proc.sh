# tests/lib/proc.sh - stopping what a test started. Source it from bash.
#
#   proc_stop PID LABEL TIMEOUT_S
#	SIGTERM, then wait up to TIMEOUT_S seconds for PID to exit (it must
#	be a child of this shell, so that it is reaped); SIGKILL as a last
#	resort, with "LABEL PID did not exit on SIGTERM" on stderr.
#	Returns 0 when it exited on SIGTERM (or was gone), 1 when killed.
#   proc_listening SOCKET
#	Something accepts connections on the unix socket SOCKET.

proc_stop() {
	local pid=$1 label=$2 timeout=$3 i
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid"
	for ((i = 0; i < timeout * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "$label $pid did not exit on SIGTERM" >&2
		kill -KILL "$pid"
		wait "$pid" 2>/dev/null
		return 1
	fi
	wait "$pid" 2>/dev/null
	return 0
}

proc_listening() {
	[ -S "$1" ] && perl -MIO::Socket::UNIX -e '
		IO::Socket::UNIX->new(Peer => $ARGV[0]) or exit 1' "$1"
}
