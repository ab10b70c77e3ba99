#!/bin/bash
# run-dev.sh - "make run": vrcptd in the foreground against a private
# PostgreSQL with the ISPmail sample data and a private Redis.
#
# Everything lives in ./run (make distclean removes it):
#   run/pgdata/      PostgreSQL 15 (tests/lib/pgtmp.sh), kept between runs:
#                    created and loaded with policy/ispmail.sql and
#                    policy/ispmail-sample.sql on the first run, started
#                    again on later ones (policy/triggers-ispmail.sql is
#                    loaded every time); it listens on a unix socket in
#                    that directory only
#   run/redis.sock   redis-server --port 0, no persistence
#   run/*.cf         the four ISPmail map files, pointing at run/pgdata
#   run/vrcptd.cf    listen = unix:run/vrcptd.sock, inet:127.0.0.1:10023
# Ctrl-C stops vrcptd, then Redis and PostgreSQL (by pid / pg_ctl).
# As root, PostgreSQL runs as an unprivileged user (see pgtmp.sh).
#
# Environment: BUILD (build directory, default "build"), VRCPT_PORT
# (policy port, default 10023).
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
BUILD=${BUILD:-build}
case $BUILD in
/*)	;;
*)	BUILD=$ROOT/$BUILD ;;
esac
VRCPTD=$BUILD/vrcptd
VRCPTCTL=$BUILD/vrcptctl
RUN=$ROOT/run
PGDIR=$RUN/pgdata
PORT=${VRCPT_PORT:-10023}
PGTMP=$ROOT/tests/lib/pgtmp.sh
REDIS_WAIT=10		# seconds for redis-server to create its socket

export PGTMP_DBNAME=mailserver

# shellcheck source=../tests/lib/postfix.sh
. "$ROOT/tests/lib/postfix.sh"	# pf_write_cf

die() {
	echo "run-dev: $*" >&2
	exit 1
}

[ -x "$VRCPTD" ] || die "$VRCPTD is not built (make)"
command -v redis-server >/dev/null || die "redis-server missing (make deps)"

mkdir -p "$RUN" || exit 1
chmod 755 "$RUN"	# the PostgreSQL user must reach run/pgdata

REDIS_PID=
PG_STARTED=no
VRCPTD_PID=
cleanup() {
	# a second Ctrl-C must not cut the cleanup short
	trap "" INT TERM
	trap - EXIT
	if [ -n "$VRCPTD_PID" ] && kill -0 "$VRCPTD_PID" 2>/dev/null; then
		kill -TERM "$VRCPTD_PID"
		wait "$VRCPTD_PID" 2>/dev/null
	fi
	if [ -n "$REDIS_PID" ] && kill -0 "$REDIS_PID" 2>/dev/null; then
		echo "run-dev: stopping Redis ($REDIS_PID)" >&2
		kill -TERM "$REDIS_PID"
		wait "$REDIS_PID" 2>/dev/null
	fi
	if [ "$PG_STARTED" = yes ]; then
		echo "run-dev: stopping PostgreSQL (data kept in $PGDIR)" >&2
		"$PGTMP" down "$PGDIR"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- PostgreSQL ---------------------------------------------------------

if [ -f "$PGDIR/pgtmp.env" ]; then
	# shellcheck disable=SC1091
	. "$PGDIR/pgtmp.env"
	if /usr/lib/postgresql/15/bin/pg_isready -q -h "$PGHOST" \
	    -p "$PGPORT"; then
		echo "run-dev: PostgreSQL in $PGDIR is already running;" \
		    "using it (and leaving it running)" >&2
	else
		"$PGTMP" up "$PGDIR" || die "PostgreSQL did not start"
		PG_STARTED=yes
	fi
else
	if [ -e "$PGDIR" ]; then
		die "$PGDIR exists but was not made by pgtmp.sh; remove it"
	fi
	env=$("$PGTMP" start "$PGDIR") || die "PostgreSQL did not start"
	eval "$env"
	PG_STARTED=yes
fi
if [ ! -f "$PGDIR/.loaded" ]; then
	echo "run-dev: loading policy/ispmail.sql and ispmail-sample.sql" >&2
	"$PGTMP" psql "$PGDIR" -f "$ROOT/policy/ispmail.sql" \
	    -f "$ROOT/policy/ispmail-sample.sql" >/dev/null ||
	    die "loading the sample data failed"
	touch "$PGDIR/.loaded"
fi
# the change notifications (idempotent: loaded on every run, so that an
# updated file takes effect)
if [ -f "$ROOT/policy/triggers-ispmail.sql" ]; then
	"$PGTMP" psql "$PGDIR" -f "$ROOT/policy/triggers-ispmail.sql" \
	    >/dev/null 2>&1 || die "loading policy/triggers-ispmail.sql failed"
fi

# --- Redis ------------------------------------------------------------------

rm -f "$RUN/redis.sock"
# its own session: Ctrl-C reaches vrcptd, Redis is stopped by us
setsid redis-server --port 0 --unixsocket "$RUN/redis.sock" \
    --unixsocketperm 700 --daemonize no --save '' --appendonly no \
    --dir "$RUN" --logfile "$RUN/redis.log" </dev/null &
REDIS_PID=$!
for ((i = 0; i < REDIS_WAIT * 10; i++)); do
	[ -S "$RUN/redis.sock" ] && break
	kill -0 "$REDIS_PID" 2>/dev/null ||
	    die "redis-server exited; see $RUN/redis.log"
	sleep 0.1
done
[ -S "$RUN/redis.sock" ] || die "redis-server did not create its socket"

# --- configuration --------------------------------------------------------

for f in pgsql-virtual-mailbox-domains.cf pgsql-virtual-mailbox-maps.cf \
    pgsql-virtual-alias-maps.cf pgsql-email2email.cf; do
	pf_write_cf "$ROOT/policy/$f" "$RUN/$f" || exit 1
	chmod 600 "$RUN/$f"
done
cat >"$RUN/vrcptd.cf" <<EOF
# written by scripts/run-dev.sh (make run); rewritten on every run
listen = unix:$RUN/vrcptd.sock, inet:127.0.0.1:$PORT
# vrcptctl query asks the running vrcptd here
control_listen = unix:$RUN/control.sock
# the tables below, not this machine's Postfix (/etc/postfix/main.cf)
postfix_config_directory =
virtual_mailbox_domains = pgsql:$RUN/pgsql-virtual-mailbox-domains.cf
virtual_mailbox_maps = pgsql:$RUN/pgsql-virtual-mailbox-maps.cf
virtual_alias_maps = pgsql:$RUN/pgsql-virtual-alias-maps.cf,
    pgsql:$RUN/pgsql-email2email.cf
recipient_delimiter = +
cache = redis:unix:$RUN/redis.sock
metrics_listen = inet:127.0.0.1:${VRCPT_METRICS_PORT:-9187}
lookup_failure_action = defer
request_timeout = 1s
syslog_name = vrcptd
maillog_file = /dev/stderr
EOF

rel() { printf '%s' "${1#"$ROOT"/}"; }
cat <<EOF

vrcptd is starting with $(rel "$RUN/vrcptd.cf")
  PostgreSQL: $PGHOST (database $PGDATABASE), Redis: $(rel "$RUN/redis.sock")

Try it:
  $(rel "$VRCPTCTL") -c $(rel "$RUN/vrcptd.cf") query john@example.com
  $(rel "$VRCPTCTL") -c $(rel "$RUN/vrcptd.cf") query nosuch@example.com
  printf 'request=smtpd_access_policy\\nprotocol_state=RCPT\\nrecipient=nosuch@example.com\\n\\n' |
    perl -MIO::Socket::INET -e '\$s = IO::Socket::INET->new("127.0.0.1:$PORT") or die "\$!\\n";
      print \$s <STDIN>; while (<\$s>) { print; last if \$_ eq "\\n" }'
  psql -h $PGHOST -p $PGPORT -U $PGUSER $PGDATABASE      (the sample data)
  curl -s http://127.0.0.1:${VRCPT_METRICS_PORT:-9187}/metrics                  (counters)

In Postfix's main.cf (deploy/postfix-main.cf, README "Hooking it up"):
  smtpd_reject_unlisted_recipient = no
  smtpd_relay_before_recipient_restrictions = yes
  smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated,
      reject_unauth_destination
  smtpd_recipient_restrictions = check_policy_service { inet:127.0.0.1:$PORT,
      timeout=10s, default_action=reject_unlisted_recipient }

Ctrl-C stops vrcptd, Redis and PostgreSQL.

EOF

"$VRCPTD" -c "$RUN/vrcptd.cf" &
VRCPTD_PID=$!
wait "$VRCPTD_PID"
rc=$?
VRCPTD_PID=
exit "$rc"
