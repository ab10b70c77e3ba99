# tests/lib/proc.sh - stopping what a test started. Source it from bash.
#
#   proc_stop PID LABEL TIMEOUT_S
#	SIGTERM, then wait up to TIMEOUT_S seconds for PID to exit (it must
#	be a child of this shell, so that it is reaped); SIGKILL as a last
#	resort, with "LABEL PID did not exit on SIGTERM" on stderr.
#	Returns 0 when it exited on SIGTERM (or was gone), 1 when killed.
#   proc_listening SOCKET
#	Something listens on the unix socket SOCKET (a stream socket bound
#	to that path in the listening state, as /proc/net/unix shows it):
#	asked without connecting, so that no daemon counts a connection.
#   proc_rss PID
#	its resident memory (VmRSS) in kB; nothing when it is gone.

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
	# Flags 00010000: __SO_ACCEPTCON, listen() was called
	[ -S "$1" ] && awk -v p="$1" '
		$4 == "00010000" && $5 == "0001" && $NF == p { found = 1 }
		END { exit !found }' /proc/net/unix
}

proc_rss() {
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null
}
