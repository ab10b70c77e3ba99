#!/bin/bash
# tests/integration/metrics.sh - metrics_listen: /metrics counts what
# happened, /healthz answers, /readyz follows PostgreSQL.
#
# Starts a throwaway PostgreSQL with the ISPmail sample data and vrcptd
# with metrics_listen on a loopback port, sends known requests, and
# checks the Prometheus counters; stops PostgreSQL and checks that
# /readyz turns 503. Prints "metrics: N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
VRCPTD=${VRCPTD:-$BUILD/vrcptd}
# shellcheck source=../lib/pgtmp.sh
. "$ROOT/tests/lib/pgtmp.sh"
# shellcheck source=../lib/postfix.sh
. "$ROOT/tests/lib/postfix.sh"		# pf_write_cf, pf_free_port

pass=0 fail=0
bad() { fail=$((fail + 1)); printf 'metrics: FAIL: %s\n' "$*"; }
check() { if [ "$2" = "$3" ]; then pass=$((pass + 1)); else bad "$1: got \"$2\", want \"$3\""; fi; }
finish() {
	cleanup >/dev/null 2>&1; trap - EXIT
	echo "metrics: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit
}
[ -x "$VRCPTD" ] || { bad "$VRCPTD not built"; finish; }

WORK=$(mktemp -d /tmp/vrcpt-metrics.XXXXXX) || exit 1
chmod 755 "$WORK"
VPID=
cleanup() {
	[ -n "${WORK:-}" ] || return 0
	if [ -n "$VPID" ]; then kill "$VPID" 2>/dev/null; wait "$VPID" 2>/dev/null; fi
	pgtmp_stop >/dev/null 2>&1
	rm -rf "$WORK"
	WORK=
}
trap cleanup EXIT
PGTMP_NO_TRAP=1 pgtmp_start "" >/dev/null || { bad "PostgreSQL did not start"; finish; }
pgtmp_psql -q -f "$ROOT/policy/ispmail.sql" >/dev/null
pgtmp_psql -q -f "$ROOT/policy/ispmail-sample.sql" >/dev/null
for f in "$ROOT"/policy/pgsql-*.cf; do pf_write_cf "$f" "$WORK/$(basename "$f")"; done
PORT=$(pf_free_port)
cat > "$WORK/vrcptd.cf" <<EOC
listen = unix:$WORK/policy.sock
metrics_listen = inet:127.0.0.1:$PORT
virtual_mailbox_domains = pgsql:$WORK/pgsql-virtual-mailbox-domains.cf
virtual_mailbox_maps = pgsql:$WORK/pgsql-virtual-mailbox-maps.cf
virtual_alias_maps = pgsql:$WORK/pgsql-virtual-alias-maps.cf, pgsql:$WORK/pgsql-email2email.cf
recipient_delimiter = +
maillog_file = $WORK/vrcptd.log
EOC
"$VRCPTD" -c "$WORK/vrcptd.cf" & VPID=$!
for _ in $(seq 100); do [ -S "$WORK/policy.sock" ] && break; sleep 0.1; done

# http PATH - "STATUS" line, then the body
http() {
	perl -MIO::Socket::INET -e '
		my $s = IO::Socket::INET->new("127.0.0.1:" . shift) or die "$!\n";
		print $s "GET " . shift() . " HTTP/1.0\r\nHost: x\r\n\r\n";
		local $/; my $r = <$s>; $r =~ s/\r//g;
		my ($head, $body) = split /\n\n/, $r, 2;
		my ($status) = $head =~ m{^HTTP/1\.\d (\d+)};
		print "$status\n$body";' "$PORT" "$1"
}
# ask REQUESTS... - one connection, pipelined; prints the actions
ask() {
	perl -MIO::Socket::UNIX -e '
		my $s = IO::Socket::UNIX->new(Peer => shift) or die "$!\n";
		my $n = 0;
		for my $r (@ARGV) {
			my ($state, $rcpt) = split /:/, $r, 2;
			print $s "request=smtpd_access_policy\nprotocol_state=$state\n" .
			    "client_address=192.0.2.1\nclient_name=x.example\n" .
			    "recipient=$rcpt\n\n"; $n++;
		}
		local $/ = "\n\n";
		for (1 .. $n) { my $a = <$s>; $a =~ s/\n+$//; print "$a\n"; }' \
	    "$WORK/policy.sock" "$@"
}
ask RCPT:john@example.com RCPT:nosuch@example.com RCPT:nosuch2@example.com \
    RCPT:x@[127.0.0.1] DATA:john@example.com >/dev/null
m=$(http /metrics)
check "/metrics status" "$(head -1 <<< "$m")" 200
val() { awk -v k="$1" '$1 == k { print $2 }' <<< "$m"; }
check "requests rcpt" "$(val 'vrcpt_requests_total{state="rcpt"}')" 4
check "requests other" "$(val 'vrcpt_requests_total{state="other"}')" 1
check "valid decisions" "$(val 'vrcpt_decisions_total{decision="valid",class="virtual_mailbox"}')" 1
check "unknown decisions" "$(val 'vrcpt_decisions_total{decision="unknown",class="virtual_mailbox"}')" 2
check "not handled" "$(val 'vrcpt_decisions_total{decision="not_handled",class="other"}')" 1
check "histogram count" "$(val vrcpt_decision_seconds_count)" 4
check "connections total" "$(val vrcpt_connections_total)" 1
up=$(val vrcpt_db_connections_up)
if [ "${up:-0}" -ge 1 ]; then pass=$((pass + 1)); else bad "db connections up: ${up:-none}"; fi
queries=$(val vrcpt_db_queries_total)
if [ "${queries:-0}" -ge 1 ]; then pass=$((pass + 1)); else bad "db queries: ${queries:-none}"; fi
check "/healthz" "$(http /healthz | tr '\n' ' ')" "200 ok "
check "/readyz up" "$(head -1 <<< "$(http /readyz)")" 200
check "unknown path" "$(head -1 <<< "$(http /nope)")" 404

# a protocol violation is counted
printf 'no equals sign here\n\n' | perl -MIO::Socket::UNIX -e '
	my $s = IO::Socket::UNIX->new(Peer => shift) or die; print $s <STDIN>;
	local $/; <$s>;' "$WORK/policy.sock"
m=$(http /metrics)
check "protocol errors" "$(val vrcpt_protocol_errors_total)" 1

pgtmp_down >/dev/null 2>&1
ready=
for _ in $(seq 100); do
	ask RCPT:fresh-$RANDOM@example.com >/dev/null
	ready=$(head -1 <<< "$(http /readyz)")
	[ "$ready" = 503 ] && break
	sleep 0.1
done
check "/readyz with PostgreSQL down" "$ready" 503
pgtmp_up >/dev/null 2>&1
finish
