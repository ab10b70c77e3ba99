#!/bin/bash
# tests/integration/metrics.sh - metrics_listen: /metrics counts what
# happened, /healthz answers, /readyz follows PostgreSQL and the cache's
# trust (the vrcpt triggers and the LISTEN connection).
#
# Starts a throwaway PostgreSQL with the ISPmail sample data and vrcptd
# with metrics_listen on a loopback port, sends known requests, and
# checks the Prometheus counters; stops PostgreSQL and checks that
# /readyz turns 503. Prints "metrics: N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
# shellcheck source=../lib/harness.sh
. "$ROOT/tests/lib/harness.sh"

harness_init metrics
[ -x "$VRCPTD" ] || { bad "$VRCPTD not built"; finish; }
pg_start policy/ispmail.sql policy/ispmail-sample.sql || finish
maps_write "$WORK" || finish
PORT=$(pf_free_port)
cat > "$WORK/vrcptd.cf" <<EOC
listen = unix:$WORK/policy.sock
metrics_listen = inet:127.0.0.1:$PORT
$(maps_cf "$WORK")
maillog_file = $WORK/vrcptd.log
EOC
vrcptd_start "$WORK/vrcptd.cf" "$WORK/policy.sock" || finish
EP=unix:$WORK/policy.sock

# http PATH - "STATUS" line, then the body
http() { http_get "inet:127.0.0.1:$PORT" "$1"; }
# one connection, pipelined
pc "$EP" pipeline RCPT:john@example.com RCPT:nosuch@example.com \
    RCPT:nosuch2@example.com 'RCPT:x@[127.0.0.1]' DATA:john@example.com \
    >/dev/null
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
if [ "${up:-0}" -ge 1 ]; then ok; else bad "db connections up: ${up:-none}"; fi
queries=$(val vrcpt_db_queries_total)
if [ "${queries:-0}" -ge 1 ]; then ok; else bad "db queries: ${queries:-none}"; fi
check "/healthz" "$(http /healthz | tr '\n' ' ')" "200 ok "
# no vrcpt triggers in the database: the cache is not trusted, and
# /readyz says so (an admin forgot policy/triggers-ispmail.sql)
check "cache trust without the triggers" "$(val vrcpt_cache_trusted)" 0
check "/readyz without the triggers" "$(http /readyz | tr '\n' ' ')" \
    "503 cache not trusted: no LISTEN connection, or no vrcpt triggers in the database "
pgtmp_psql -q -f "$ROOT/policy/triggers-ispmail.sql" >/dev/null
ready=
for _ in $(seq 150); do
	ready=$(head -1 <<< "$(http /readyz)")
	[ "$ready" = 200 ] && break
	sleep 0.1
done
check "/readyz once the triggers are there" "$ready" 200
m=$(http /metrics)
check "cache trust with the triggers" "$(val vrcpt_cache_trusted)" 1
check "unknown path" "$(head -1 <<< "$(http /nope)")" 404

# a protocol violation is counted
pc "$EP" raw '"no equals sign here\n\n"' >/dev/null
m=$(http /metrics)
check "protocol errors" "$(val vrcpt_protocol_errors_total)" 1

pgtmp_down >/dev/null 2>&1
ready=
for _ in $(seq 100); do
	pc "$EP" ask recipient="fresh-$RANDOM@example.com" >/dev/null
	ready=$(head -1 <<< "$(http /readyz)")
	[ "$ready" = 503 ] && break
	sleep 0.1
done
check "/readyz with PostgreSQL down" "$ready" 503
pgtmp_up >/dev/null 2>&1
finish
