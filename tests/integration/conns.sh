#!/bin/bash
# tests/integration/conns.sh - client connections: connection_limit
# sheds politely, idle_timeout and io_timeout close what they should,
# accept() running out of descriptors backs off instead of spinning, and
# the metrics listener keeps answering /healthz while it is abused.
#
# Starts a throwaway PostgreSQL with the ISPmail sample data and vrcptd
# with small limits (connection_limit = 10, io_timeout = 2s, idle_timeout
# = 4s). Prints "conns: N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
# shellcheck source=../lib/harness.sh
. "$ROOT/tests/lib/harness.sh"

LIMIT=10		# connection_limit of the test daemon
IO_TIMEOUT=2		# seconds
IDLE_TIMEOUT=8		# seconds: well past the held connections below (4 s),
			# which must not be closed for being idle
SWEEP=1			# seconds between timeout checks (CONN_SWEEP_MS)
FLOOD=200		# connections opened against the metrics port

harness_init conns
[ -x "$VRCPTD" ] || { bad "$VRCPTD not built"; finish; }
pg_start policy/ispmail.sql policy/ispmail-sample.sql policy/triggers-ispmail.sql || finish
maps_write "$WORK" || finish

SOCK=$WORK/policy.sock
EP=unix:$SOCK
MSOCK=$WORK/metrics.sock
cat >"$WORK/vrcptd.cf" <<EOC
listen = $EP
metrics_listen = unix:$MSOCK
$(maps_cf "$WORK")
connection_limit = $LIMIT
idle_timeout = ${IDLE_TIMEOUT}s
io_timeout = ${IO_TIMEOUT}s
request_timeout = 3s
workers = 2
maillog_file = $WORK/vrcptd.log
EOC
vrcptd_start "$WORK/vrcptd.cf" "$SOCK" || finish
VPID=$VRCPTD_PID

# http PATH - the status code of GET PATH on the metrics socket
http() { http_get "unix:$MSOCK" "$1" | head -n 1; }
metric() { metric_value "unix:$MSOCK" "$1"; }
metric_is() { [ "$(metric "$1")" = "$2" ]; }
# wait_metric NAME VALUE - until the metric reads VALUE (10 s at most)
wait_metric() { retry 10 metric_is "$1" "$2"; }
UNK='550 5.1.1 User unknown in virtual mailbox table'
warnings() { grep -c "$1" "$WORK/vrcptd.log" 2>/dev/null; }

# --- connection_limit: the longest idle connection makes room -------------

pc "$EP" hold "$LIMIT" $((IO_TIMEOUT + 2)) >"$WORK/hold.out" &
holder=$!
wait_metric vrcpt_connections "$LIMIT" ||
    bad "$LIMIT held connections never all open: $(metric vrcpt_connections)"
check "at the limit, a new client is answered" \
    "$(pc "$EP" ask recipient=nosuch@example.com)" "$UNK"
wait "$holder"
check "at the limit, one idle connection was closed for it" \
    "$(tail -1 "$WORK/hold.out")" "closed 1"
check "shed connections are counted" \
    "$(metric 'vrcpt_connections_closed_total{reason="limit_shed"}')" 1
check_ge "the shedding is logged" "$(warnings 'connection_limit (10) reached: closing')" 1

# --- connection_limit with every connection busy: the new one is refused ----

pgtmp_hang
harness_on_exit 'pgtmp_resume 2>/dev/null'
rcpts=()
for ((i = 0; i < LIMIT; i++)); do rcpts+=("busy$i@example.com"); done
pc "$EP" concurrent "$LIMIT" "${rcpts[@]}" >"$WORK/busy.out" &
busy=$!
wait_metric vrcpt_connections "$LIMIT" ||
    bad "$LIMIT busy connections never all open: $(metric vrcpt_connections)"
sleep 0.5	# their requests are read and in flight (request_timeout 3s)
check "at the limit with every request in flight, the new client is refused" \
    "$(pc "$EP" ask recipient=nosuch@example.com)" "(closed)"
pgtmp_resume
wait "$busy"
# each of them is answered: from the database once it runs again, or
# with the lookup failure if request_timeout came first
check "the busy ones were answered" "$(grep -c -E \
    " ($UNK|451 4.3.0 Temporary lookup failure)\$" "$WORK/busy.out")" "$LIMIT"
check "refused connections are counted" \
    "$(metric 'vrcpt_connections_closed_total{reason="limit_refused"}')" 1
check_ge "the refusal is logged" \
    "$(warnings 'reached and every connection has a request in flight')" 1
# PostgreSQL answers again (its connections may need a moment)
for ((i = 0; i < 100; i++)); do
	[ "$(pc "$EP" ask recipient=nosuch@example.com)" = "$UNK" ] && break
	sleep 0.2
done

# --- timeouts -------------------------------------------------------------

check "a client trickling a request is disconnected (io_timeout)" \
    "$(pc "$EP" trickle $((IO_TIMEOUT * 3 + SWEEP)))" "(closed)"
check_ge "the trickle is logged" "$(warnings 'sends an incomplete request')" 1
check "an idle client is disconnected (idle_timeout)" \
    "$(pc "$EP" idle $((IDLE_TIMEOUT * 2 + SWEEP)))" "(closed)"
check "a client that never reads its replies is disconnected (io_timeout)" \
    "$(pc "$EP" noread 100000)" "(closed)"
check_ge "the non-reader is logged" "$(warnings 'does not read its replies')" 1
check "a well-behaved client afterwards" \
    "$(pc "$EP" ask recipient=john@example.com)" DUNNO

# --- out of descriptors: back off, do not spin --------------------------------

# Lower the running daemon's open-file limit to what it uses now plus a
# few, then open more connections than that: accept() fails with EMFILE.
# Before the back-off this logged a warning per failed accept (over a
# million in three seconds); now one line, and the daemon goes on.
nfd=$(ls /proc/"$VPID"/fd | wc -l)
soft=$(prlimit --pid "$VPID" --nofile --noheadings --output=SOFT)
hard=$(prlimit --pid "$VPID" --nofile --noheadings --output=HARD)
prlimit --pid "$VPID" --nofile=$((nfd + 3)):"$hard"
before=$(warnings 'accept: Too many open files')
pc "$EP" hold 8 3 >/dev/null &
holder=$!
sleep 3
wait "$holder"
after=$(warnings 'accept: Too many open files')
check "EMFILE is logged once, not per attempt" "$((after - before))" 1
prlimit --pid "$VPID" --nofile="$soft:$hard"
check "accepting again after EMFILE" \
    "$(pc "$EP" ask recipient=nosuch@example.com)" "$UNK"
if kill -0 "$VPID" 2>/dev/null; then ok; else bad "vrcptd died"; fi

# --- the metrics listener under abuse -------------------------------------

# slow clients that never finish a request, more than the listener keeps:
# /healthz still answers at once, and each slow one is cut at its deadline
perl -MIO::Socket::UNIX -e '
	my ($path, $n) = @ARGV; my @c;
	for (1 .. $n) { my $s = IO::Socket::UNIX->new(Peer => $path) or last;
	    syswrite($s, "G"); push @c, $s }
	sleep 8;' "$MSOCK" "$FLOOD" &
flood=$!
sleep 1
check "/healthz during a flood of slow metrics clients" "$(http /healthz)" 200
check "/readyz during the flood" "$(http /readyz)" 200
# a client trickling its request is cut at METRICS_TIMEOUT_MS (5 s) from
# accept, however often it sends a byte
got=$(perl -MIO::Socket::UNIX -MIO::Select -e '
	my $s = IO::Socket::UNIX->new(Peer => shift) or exit 1;
	my $sel = IO::Select->new($s);
	for my $b (split //, "GET /metrics HTTP/1.0\r\nX-Slow: " . ("y" x 30)) {
		if ($sel->can_read(0.5)) { my $j; unless (sysread($s, $j, 1)) {
			print "(closed)\n"; exit } }
		syswrite($s, $b);
	}
	print "(open)\n";' "$MSOCK")
check "a trickling metrics client is cut at its deadline" "$got" "(closed)"
kill "$flood" 2>/dev/null
wait "$flood" 2>/dev/null
check "/healthz after the flood" "$(http /healthz)" 200

finish
