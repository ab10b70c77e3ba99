#!/bin/bash
# tests/e2e/run.sh - the differential end-to-end suite: real Postfix 3.7
# with its own pgsql: lookups against Postfix + vrcptd and Postfix +
# vrcpt-milter, on the same data, every reply and log line compared.
#
#   tests/e2e/run.sh            (BUILD=build-x tests another build dir;
#                                VRCPTD=, MILTER= override the binaries;
#                                KEEP=1 keeps the work directory, as a
#                                failure does)
#   tests/e2e/run.sh --record   only the native Postfix: print corpus.txt
#                                with the replies it measured (to record
#                                new cases; review before committing);
#                                --native is the same
#
# What runs, all in one temporary directory, on loopback and unix sockets
# only (tests/lib/pgtmp.sh, tests/lib/postfix.sh, tests/lib/dovecot.sh);
# everything started here is stopped here, by pid:
#   PostgreSQL    policy/ispmail.sql + ispmail-sample.sql + fixture.sql
#   Dovecot       SASL only (passwd-file), for every Postfix
#   Postfix "native"   pgsql: maps as in the ISPmail guide, permits in
#                      smtpd_relay_restrictions and
#                      smtpd_recipient_restrictions, Postfix's own check
#   Postfix "policy"   the same maps + deploy/postfix-main.cf as it is
#                      (its endpoint -> vrcptd, which reads the tables
#                      from this instance's main.cf:
#                      postfix_config_directory)
#   Postfix "milter"   native + deploy/postfix-milter.cf (-> vrcpt-milter
#                      -> its own vrcptd; skipped when vrcpt-milter is not
#                      built)
#   Postfix "warn"     README's roll-out step 1: deploy/postfix-main.cf
#                      with smtpd_reject_unlisted_recipient = yes and
#                      default_action=DUNNO -> a vrcptd with
#                      warn_if_reject = yes
#   Postfix "down"     deploy/postfix-main.cf, no vrcptd behind it (its
#                      default_action)
#   Postfix "socketmap" native, with every map of COMMON a socketmap:
#                      table answered by vrcptd-s (socketmap_listen;
#                      README "Postfix's maps from vrcptd")
#   "native-t", "policy-t", "milter-t": native, policy, milter with
#                      mynetworks = 127.0.0.0/8 (the test client)
#   two Postfix "outage" instances (static domain lists, nothing from
#                      PostgreSQL) -> a vrcptd with lookup_failure_action
#                      = defer, and one with dunno
#   Redis (cache runs only)
# All instances share recipient_delimiter = +-, virtual_alias_domains =
# aliasdom.test, bothdom.test, relay_domains = relay.test, .dotrelay.test,
# localdom.test with relay_recipient_maps, mydestination = localdom.test
# (local first: vrcptd hands it back to Postfix's own check),
# canonical_maps (pgsql:) and recipient_canonical_maps (hash:).
#
# Checks (tests/e2e/e2e.pl check):
#   - native Postfix answers every case of corpus.txt as recorded (a
#     broken setup cannot pass by being broken the same way twice);
#   - policy and milter: the same reply byte for byte, except the cases
#     of differences.txt, which must give the reply listed there; warn
#     and down: the same (differences.txt lists down's);
#   - the "reject:" log line of every case is the same (milter:
#     "milter-reject:", by Postfix's design), and vrcptd's (vrcpt-
#     milter's) own line is Postfix's plus " name=value" extras (warn:
#     "reject_warning:" for "reject:");
#   - the same in one transaction (queue ids instead of NOQUEUE);
#   - vrcpt's lines are attributed to cases by the HELO name of each
#     case (c<N>.e2e.test), or, for lines Postfix and vrcpt cut at 2000
#     bytes, by their order;
#   - pflogsumm and fail2ban-regex (Debian's postfix filter) over the
#     logs of each path as syslog would hold them (Postfix's and vrcpt's
#     lines in one file): the same reject counts, groupings and matched
#     lines. The milter path is read the way README tells admins:
#     vrcpt-milter -o syslog_name=vrcpt-milter/smtpd, pflogsumm
#     --syslog-name=vrcpt-milter;
#   - README's roll-out comparison (grep, sed, diff) over the warn
#     path's log: Postfix's rejects = vrcptd's reject_warning lines;
#   - the whole corpus again from a SASL-authenticated client (AUTH
#     PLAIN on the same instances) and from a client in mynetworks (the
#     -t instances), into v-sasl/ and v-trusted/: native as corpus.txt
#     or trusted.txt says, policy and milter as native (differences.txt),
#     replies and reject lines;
#   - with the cache on (Redis and in-process, then Redis alone), cold
#     then warm: the same replies as without it, the warm runs answered
#     from the cache;
#   - PostgreSQL stopped: every RCPT that vrcptd decided from the
#     database gets 4xx (lookup_failure_action = defer) or is accepted
#     (dunno; or Postfix's own 4xx, as native).
# Prints one line per mismatch, the counts, then "e2e: N passed, M
# failed"; exit 0 only if nothing failed. Needs root (postfix start).
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
HERE=$ROOT/tests/e2e
LOG_SETTLE=50		# tenths of a second to wait for log writers
HELO=e2e.test		# e2e.pl: cases say HELO c<N>.e2e.test
PG_CONNECTIONS=450	# PostgreSQL max_connections
MARK_DOMAIN=snapshot.invalid	# the RCPT of the log marks (snapshot)
MARK_HELO_MAP='regexp:{{/^snap-[a-z]+\./ REJECT log mark}}'
				# rejects a mark whatever the client (e2e.pl
				# is_mark)
DIP_MAP='inline:{{dip@sender.test = DEFER_IF_PERMIT e2e defer_if_permit}}'
				# corpus.txt dip.*: a defer_if_permit
				# before the recipient check
SASL_USER=e2e-user		# the SASL account (tests/lib/dovecot.sh)
SASL_PASS=e2e-secret
TRUSTED_NETWORKS=127.0.0.0/8	# mynetworks of the trusted instances
REQUEST_TIMEOUT=10s	# vrcptd request_timeout (default 1s)
REDIS_TIMEOUT=1s	# vrcptd redis_timeout (default 5ms)
MILTER_IDENT=vrcpt-milter/smtpd	# e2e.pl, README

record=0
case ${1:-} in
--record|--native)
	record=1 ;;
esac

# shellcheck source=../lib/harness.sh
. "$ROOT/tests/lib/harness.sh"
# shellcheck source=../lib/redis.sh
. "$ROOT/tests/lib/redis.sh"
# shellcheck source=../lib/dovecot.sh
. "$ROOT/tests/lib/dovecot.sh"

harness_init e2e
MILTER=${MILTER:-$BUILD/vrcpt-milter}
HARNESS_STOP_TIMEOUT=15	# seconds for a daemon to exit on SIGTERM
			# (libmilter looks at its stop flag every few s)

# --- prerequisites -----------------------------------------------------------

pf_available 2>/dev/null || skip "$(pf_available 2>&1)"
if [ "$record" = 0 ]; then
	[ -x "$VRCPTD" ] || { bad "$VRCPTD not built (make)"; finish; }
	for t in pflogsumm fail2ban-regex; do
		command -v "$t" >/dev/null ||
		    { bad "$t not installed (scripts/deps.sh check)"; finish; }
	done
	dovecot_available 2>/dev/null ||
	    { bad "$(dovecot_available 2>&1)"; finish; }
fi
F2B_FILTER=/etc/fail2ban/filter.d/postfix.conf
[ "$record" = 1 ] || [ -r "$F2B_FILTER" ] ||
    { bad "$F2B_FILTER missing (fail2ban)"; finish; }
HAVE_MILTER=0
[ "$record" = 0 ] && [ -x "$MILTER" ] && HAVE_MILTER=1

# --- PostgreSQL and the data -------------------------------------------------

pg_start || finish
# Every Postfix process keeps its own connection per pgsql: map (smtpd,
# trivial-rewrite, each cleanup; canonical_maps is one more), a dozen
# instances and eight vrcptd pools: far more than pgtmp's 50 slots
# ("sorry, too many clients" = 451 replies, or a cache that never
# trusts itself because its LISTEN connection was refused)
pgtmp_psql -c "ALTER SYSTEM SET max_connections = $PG_CONNECTIONS" &&
    pgtmp_down && pgtmp_up ||
    { bad "PostgreSQL: max_connections = $PG_CONNECTIONS"; finish; }
# the triggers that tell vrcptd's cache about changes, as README asks
sql=(-f "$ROOT/policy/ispmail.sql")
[ -f "$ROOT/policy/triggers-ispmail.sql" ] &&
    sql+=(-f "$ROOT/policy/triggers-ispmail.sql")
sql+=(-f "$ROOT/policy/ispmail-sample.sql" -f "$HERE/fixture.sql")
if ! pgtmp_psql "${sql[@]}" >"$WORK/load.log" 2>&1; then
	cat "$WORK/load.log" >&2
	bad "loading ${sql[*]}"
	finish
fi

M=$WORK/maps
maps_write "$M" || finish
# the canonical maps: a pgsql: table (fixture.sql e2e_canonical) and a
# hash: file, built by postmap with smtputf8_enable = yes (a config
# directory of its own: compatibility_level = 3.6, as every instance),
# so that its keys are case-folded as Postfix folds them
pf_write_cf "$HERE/pgsql-canonical.cf" "$M/pgsql-canonical.cf" &&
    mkdir -p "$M/postmap" && echo "compatibility_level = 3.6" \
    >"$M/postmap/main.cf" &&
    cp "$HERE/recipient_canonical" "$M/recipient_canonical" &&
    postmap -c "$M/postmap" "hash:$M/recipient_canonical" &&
    chmod 644 "$M/recipient_canonical" "$M/recipient_canonical.db" ||
    { bad "writing the canonical maps"; finish; }

# the parameters Postfix and vrcptd share, as the admin copies them
aliases=pgsql:$M/pgsql-virtual-alias-maps.cf
email2email=pgsql:$M/pgsql-email2email.cf
# empty values: a configuration error when reached (maps_find())
emptyval='inline:{ inlineempty@example.com=, sales@example.com= }'
COMMON=(
	"virtual_mailbox_domains = pgsql:$M/pgsql-virtual-mailbox-domains.cf"
	"virtual_mailbox_maps = pgsql:$M/pgsql-virtual-mailbox-maps.cf"
	"virtual_alias_maps = $aliases, $email2email, $emptyval"
	"virtual_alias_domains = aliasdom.test, bothdom.test"
	"relay_domains = relay.test, .dotrelay.test, localdom.test"
	"mydestination = localdom.test"
	"relay_recipient_maps = pgsql:$M/pgsql-virtual-mailbox-maps.cf"
	"canonical_maps = pgsql:$M/pgsql-canonical.cf"
	"recipient_canonical_maps = hash:$M/recipient_canonical"
	"recipient_delimiter = +-"
)
# Postfix only: the local domain's users, checked by Postfix itself (the
# local domain is in relay_domains too, as compatibility_level < 2 has
# it by default: mydestination comes first, in vrcpt as in Postfix)
PF_ONLY=(
	"local_recipient_maps = inline:{ localuser=yes }"
)

CASES=$WORK/cases
perl "$HERE/e2e.pl" cases "$HERE/corpus.txt" >"$CASES" ||
    { bad "corpus.txt does not parse"; finish; }
ncases=$(wc -l <"$CASES")
cp "$HERE/corpus.txt" "$HERE/differences.txt" "$WORK/"

# --- vrcptd and vrcpt-milter -------------------------------------------------

# vrcptd_cf NAME [LINE...]: $WORK/NAME.cf, listening on $WORK/NAME.sock,
# logging to $WORK/NAME.log; the lines given last win. The tables are
# COMMON's, listed, or with PFDIR=DIR those of the Postfix instance whose
# main.cf is in DIR (postfix_config_directory: nothing listed twice);
# never the machine's /etc/postfix/main.cf
vrcptd_cf() {
	local name=$1 l
	shift
	{
		echo "# written by tests/e2e/run.sh"
		echo "listen = unix:$WORK/$name.sock"
		if [ -n "${PFDIR:-}" ]; then
			echo "postfix_config_directory = $PFDIR"
		else
			echo "postfix_config_directory ="
			printf '%s\n' "${COMMON[@]}"
		fi
		echo "lookup_failure_action = defer"
		echo "syslog_name = vrcptd"
		echo "maillog_file = $WORK/$name.log"
		echo "log_level = 1"
		# a loaded machine must not turn a decision into a timeout:
		# what is compared here is the decision (timeouts: daemon.sh,
		# cache.sh)
		echo "request_timeout = $REQUEST_TIMEOUT"
		echo "redis_timeout = $REDIS_TIMEOUT"
		echo "cache = none"
		echo "cache_max_entries = 0"
		for l in "$@"; do
			echo "$l"
		done
	} >"$WORK/$name.cf"
}

if [ "$record" = 0 ]; then
	# the policy path; its log is vrcptd.log (e2e.pl). Its tables are
	# those of the Postfix instances it serves (policy, policy-t: the
	# same COMMON), from pf-policy's main.cf: started once that is
	# written (below)
	PFDIR=$WORK/pf-policy/etc vrcptd_cf vrcptd
	# the milter path: vrcpt-milter and its vrcptd share one file, as
	# deploy/ suggests; the milter's ident comes from -o (README)
	vrcptd_cf vrcptd-m "milter_listen = unix:$WORK/milter.sock" \
	    "milter_log_reject = yes"
	# the first step of README's roll-out: beside Postfix's own check,
	# logging what it would reject, answering DUNNO to everything
	vrcptd_cf vrcptd-warn "warn_if_reject = yes" \
	    "lookup_failure_action = dunno" "other_domain_action = dunno"
	# PostgreSQL stopped
	vrcptd_cf vrcptd-defer "lookup_failure_action = defer"
	vrcptd_cf vrcptd-dunno "lookup_failure_action = dunno"
	# smtputf8_enable = no everywhere (the noutf8 run), as main.cf says
	vrcptd_cf vrcptd-u "smtputf8_enable = no"
	vrcptd_cf vrcptd-m-u "milter_listen = unix:$WORK/milter-u.sock" \
	    "milter_log_reject = yes" "smtputf8_enable = no"
	# Postfix's own check with its maps from vrcptd (socketmap)
	vrcptd_cf vrcptd-s "socketmap_listen = unix:$WORK/smap.sock"
	for n in vrcptd-m vrcptd-warn vrcptd-defer vrcptd-dunno vrcptd-u \
	    vrcptd-m-u vrcptd-s; do
		vrcptd_start "$WORK/$n.cf" "$WORK/$n.sock" || finish
	done
	if [ "$HAVE_MILTER" = 1 ]; then
		daemon_start milter "$WORK/milter.sock" "$MILTER" \
		    -c "$WORK/vrcptd-m.cf" -o "syslog_name=$MILTER_IDENT" \
		    -o "maillog_file=$WORK/milter.log" || finish
		daemon_start milter-u "$WORK/milter-u.sock" "$MILTER" \
		    -c "$WORK/vrcptd-m-u.cf" -o "syslog_name=$MILTER_IDENT" \
		    -o "maillog_file=$WORK/milter-u.log" || finish
	else
		note "vrcpt-milter not built: milter path skipped"
	fi
fi

# --- SASL --------------------------------------------------------------------

# Dovecot's SASL for every instance: the SASL run authenticates, the
# others do not
dovecot_start "$WORK/dovecot" "$SASL_USER" "$SASL_PASS" || finish

# --- the hookups: README and deploy/, as an admin pastes them ----------------

# snippet FILE: the settings of deploy/FILE, "name = value" per line as
# postconf reads them
snippet() {
	local d=$WORK/deploy-${1%.cf}
	mkdir -p "$d" && cp "$ROOT/deploy/$1" "$d/main.cf" &&
	    : >"$d/master.cf" || return 1
	postconf -c "$d" -n | grep -v '^config_directory = '
}
# the example endpoints of the snippets, replaced by the test's
EXAMPLE_EP='inet:127\.0\.0\.1:1002[34]'
SNIP_POLICY=$(snippet postfix-main.cf) &&
    grep -q "check_policy_service .*$EXAMPLE_EP" <<<"$SNIP_POLICY" ||
    { bad "deploy/postfix-main.cf: no check_policy_service" \
    "inet:127.0.0.1:10023"; finish; }
SNIP_MILTER=$(snippet postfix-milter.cf) &&
    grep -q "^smtpd_milters = $EXAMPLE_EP\$" <<<"$SNIP_MILTER" ||
    { bad "deploy/postfix-milter.cf: no smtpd_milters =" \
    "inet:127.0.0.1:10024"; finish; }
# Postfix with its own check, as a site has it before vrcpt: the permits
# in both lists (smtpd_relay_restrictions is Postfix's default, with
# reject instead of defer), a rule of its own after them that trusted
# clients skip (corpus.txt site.*), reject_unlisted_recipient implicit
PERMITS="permit_mynetworks, permit_sasl_authenticated"
SITE_RULE='check_recipient_access inline:{{blocked@example.com = REJECT e2e site rule}}'
NATIVE=(
	"smtpd_relay_restrictions = $PERMITS, reject_unauth_destination"
	"smtpd_recipient_restrictions = $PERMITS, reject_unauth_destination, $SITE_RULE"
)
# hookup KIND ENDPOINT: the settings of an instance beyond pf_new and
# COMMON: native (above); policy (deploy/postfix-main.cf, the site's rule
# at the end of smtpd_relay_restrictions, as README says); warn (the
# first step of README's roll-out: the same with Postfix's own check
# still on and default_action=DUNNO); milter (deploy/postfix-milter.cf,
# the restriction lists of native: the milter hookup does not touch
# them)
hookup() {
	local ep=$2 site="/^smtpd_relay_restrictions = /s|\$|, $SITE_RULE|"
	case $1 in
	native)	printf '%s\n' "${NATIVE[@]}" ;;
	policy)	sed -e "s|$EXAMPLE_EP|$ep|g" -e "$site" <<<"$SNIP_POLICY" ;;
	warn)	sed -e "s|$EXAMPLE_EP|$ep|g" -e "$site" \
		    -e 's/^\(smtpd_reject_unlisted_recipient = \).*/\1yes/' \
		    -e 's/default_action=[^,} ]*/default_action=DUNNO/' \
		    <<<"$SNIP_POLICY" ;;
	milter)	printf '%s\n' "${NATIVE[@]}"
		sed -e "s|$EXAMPLE_EP|$ep|g" <<<"$SNIP_MILTER" ;;
	esac
}

# --- Postfix -----------------------------------------------------------------

# Every instance: the maps (COMMON, PF_ONLY), a log mark that is
# rejected for any client (snapshot), a sender with a defer_if_permit
# (corpus.txt dip.*), SASL through Dovecot (offered to everyone, used
# by the SASL run only)
PF_TEST=(
	"smtpd_helo_restrictions = check_helo_access $MARK_HELO_MAP"
	"smtpd_sender_restrictions = check_sender_access $DIP_MAP"
	"smtpd_sasl_auth_enable = yes"
	"smtpd_sasl_type = dovecot"
	"smtpd_sasl_path = $WORK/dovecot/auth"
)
declare -A PORT=() spid=()
names=()
# at exit: stop every instance, all at once
pf_stop_all() {
	local n pids=()
	for n in "${names[@]}"; do
		pf_stop "$WORK/pf-$n" &
		pids+=($!)
	done
	[ ${#pids[@]} -eq 0 ] || wait "${pids[@]}"
}
harness_on_exit pf_stop_all
# instance NAME FLAVOUR KIND [ENDPOINT [SETTING...]]: write $WORK/pf-NAME
# with the hookup KIND and the SETTINGs last, and start it, in the
# background (started: see below)
instance() {
	local name=$1 flavour=$2 kind=$3 ep=${4:-} d=$WORK/pf-$1 p
	shift 4
	p=$(pf_free_port)
	while [[ " ${PORT[*]} " == *" $p "* ]]; do
		p=$(pf_free_port)
	done
	PORT[$name]=$p
	names+=("$name")
	mapfile -t HOOKUP < <(hookup "$kind" "$ep")
	{
		pf_new "$d" "$flavour" "$p" "$M" "$ep" &&
		    pf_set "$d" "${COMMON[@]}" "${PF_ONLY[@]}" "${PF_TEST[@]}" \
		    "${HOOKUP[@]}" "$@" && pf_start "$d"
	} >"$WORK/pf-$name.start" 2>&1 &
	spid[$name]=$!
}
instance native native native ""
if [ "$record" = 0 ]; then
	instance policy policy policy "unix:$WORK/vrcptd.sock"
	[ "$HAVE_MILTER" = 1 ] &&
	    instance milter milter milter "unix:$WORK/milter.sock"
	# roll-out, step 1: Postfix's own check and vrcptd warning
	instance warn policy warn "unix:$WORK/vrcptd-warn.sock"
	# vrcptd down: default_action of deploy/postfix-main.cf (one try
	# per RCPT: Postfix's pause between tries only slows the run)
	instance down policy policy "unix:$WORK/nowhere.sock" \
	    "smtpd_policy_service_try_limit = 1"
	# native with every map a socketmap to vrcptd-s
	SM=socketmap:unix:$WORK/smap.sock
	instance socketmap native native "" \
	    "virtual_mailbox_domains = $SM:virtual_mailbox_domains" \
	    "virtual_mailbox_maps = $SM:virtual_mailbox_maps" \
	    "virtual_alias_maps = $SM:virtual_alias_maps" \
	    "virtual_alias_domains = $SM:virtual_alias_domains" \
	    "relay_domains = $SM:relay_domains" \
	    "relay_recipient_maps = $SM:relay_recipient_maps"
	# the trusted client: the same three with the client in mynetworks
	instance native-t native native "" "mynetworks = $TRUSTED_NETWORKS"
	instance policy-t policy policy "unix:$WORK/vrcptd.sock" \
	    "mynetworks = $TRUSTED_NETWORKS"
	[ "$HAVE_MILTER" = 1 ] &&
	    instance milter-t milter milter "unix:$WORK/milter.sock" \
	    "mynetworks = $TRUSTED_NETWORKS"
	# smtputf8_enable = no: the same three, with their own vrcpt
	# daemons (tests/e2e/noutf8.txt: what native Postfix answers then)
	instance native-u native native "" "smtputf8_enable = no"
	instance policy-u policy policy "unix:$WORK/vrcptd-u.sock" \
	    "smtputf8_enable = no"
	[ "$HAVE_MILTER" = 1 ] &&
	    instance milter-u milter milter "unix:$WORK/milter-u.sock" \
	    "smtputf8_enable = no"
	# outage: the domain classes from static lists, so that nothing
	# in Postfix needs PostgreSQL and every hosted RCPT reaches vrcptd
	hosted=$(pgtmp_psql -A -t -c "SELECT string_agg(name, ', ' ORDER BY
	    name) FROM virtual_domains WHERE name = lower(name) AND name
	    ~ '^[a-z0-9_.-]*[a-z][a-z0-9_.-]*[a-z0-9]\$'") ||
	    { bad "reading virtual_domains"; finish; }
	for lfa in defer dunno; do
		instance "outage-$lfa" policy policy \
		    "unix:$WORK/vrcptd-$lfa.sock" \
		    "virtual_mailbox_domains = $hosted" \
		    "virtual_mailbox_maps =" "virtual_alias_maps =" \
		    "relay_recipient_maps =" "mydestination =" \
		    "canonical_maps =" "recipient_canonical_maps ="
	done
fi
# started: every instance answers with its banner
for n in "${names[@]}"; do
	wait "${spid[$n]}"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		cat "$WORK/pf-$n.start" >&2
		bad "Postfix $n did not start"
		finish
	fi
done

# vrcptd of the policy path: from pf-policy's main.cf, each parameter
# COMMON sets as Postfix has it there (postconf -x), origin main.cf:LINE
if [ "$record" = 0 ]; then
	vrcptd_start "$WORK/vrcptd.cf" "$WORK/vrcptd.sock" || finish
	VRCPTCTL=${VRCPTCTL:-$BUILD/vrcptctl}
	out=$("$VRCPTCTL" -c "$WORK/vrcptd.cf" check -a 2>&1)
	for l in "${COMMON[@]}"; do
		n=${l%% = *}
		got=$(printf '%s\n' "$out" | awk -F'\t# ' -v n="$n" \
		    'index($1, n " =") == 1 { print $1 "/" \
		    ($2 ~ /pf-policy\/etc\/main\.cf:[0-9]+$/) }')
		check "vrcptd's $n: pf-policy's main.cf" "$got" \
		    "$n = $(postconf -c "$WORK/pf-policy/etc" -x -h "$n" \
		    2>/dev/null)/1"
	done
fi

# --- the corpus, every path at once ------------------------------------------

# session NAME IN OUT [pf_smtp_cases options]: cases IN to instance NAME
session() {
	local name=$1 in=$2 out=$3
	shift 3
	pf_smtp_cases "${PORT[$name]}" "$@" <"$in" >"$WORK/$out" \
	    2>"$WORK/$out.err"
}
# sessions IN OUT-PREFIX NAME... [-- options]: in parallel, one per
# instance, into OUT-PREFIX.NAME
sessions() {
	local in=$1 pfx=$2 n want pids=() names=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		names+=("$1")
		shift
	done
	[ "${1:-}" = -- ] && shift
	want=$(wc -l <"$in")
	for n in "${names[@]}"; do
		session "$n" "$in" "$pfx.$n" "$@" &
		pids+=($!)
	done
	wait "${pids[@]}"
	for n in "${names[@]}"; do
		if [ -s "$WORK/$pfx.$n.err" ]; then
			bad "SMTP session with $n: $(head -c 500 \
			    "$WORK/$pfx.$n.err")"
		fi
		if [ "$(wc -l <"$WORK/$pfx.$n")" -ne "$want" ]; then
			bad "SMTP session with $n: $(wc -l <"$WORK/$pfx.$n")" \
			    "replies for $want cases"
		fi
	done
}

main_paths=(native)
[ "$record" = 0 ] && main_paths+=(policy)
[ "$HAVE_MILTER" = 1 ] && main_paths+=(milter)
[ "$record" = 0 ] && main_paths+=(warn down socketmap)
t0=$SECONDS
if [ "$record" = 1 ]; then
	sessions "$CASES" replies native -- -e -h "$HELO"
	perl "$HERE/e2e.pl" record "$HERE/corpus.txt" "$WORK/replies.native"
	exit 0
fi

# the logs of a run, by the names e2e.pl reads: main/ and div/ (the
# corpus), batch/ (one transaction), v-sasl/ and v-trusted/ (the other
# clients); logs SUFFIX PATH...: of the instances PATH+SUFFIX, and of
# the vrcpt daemons behind them
# (DAEMON_SFX: the vrcpt daemons of those instances have it too, as
# vrcptd-u behind policy-u)
declare -A LOGS=()
logs() {
	local sfx=$1 n d=${DAEMON_SFX:-}
	shift
	LOGS=()
	SNAP_INSTANCES=()
	for n in "$@"; do
		LOGS[$n.maillog]=$WORK/pf-$n$sfx/maillog
		SNAP_INSTANCES+=("$n$sfx")
		case $n in
		policy)	LOGS[vrcptd.log]=$WORK/vrcptd$d.log ;;
		milter)	LOGS[milter.log]=$WORK/milter$d.log
			LOGS[vrcptd-m.log]=$WORK/vrcptd-m$d.log ;;
		warn)	LOGS[vrcptd-warn.log]=$WORK/vrcptd-warn.log ;;
		esac
	done
}
logs "" "${main_paths[@]}"
declare -A LOGOFF=()	# by file
# snapshot DIR: what each log got since the last snapshot, into $WORK/DIR.
# postlogd writes asynchronously: a last RCPT with HELO snap-TAG (TAG:
# DIR's letters), rejected by smtpd_helo_restrictions for any client,
# before any policy or milter, marks the end of the run in each maillog.
# vrcptd and vrcpt-milter write their line before they answer.
snapshot() {
	local dir=$WORK/$1 n f off i tag=${1//[^a-z]/}
	local mark="helo=<snap-$tag.$HELO>"
	mkdir -p "$dir"
	for n in "${SNAP_INSTANCES[@]}"; do
		printf '<>\t<snapshot@%s>\t0\n' "$MARK_DOMAIN" |
		    pf_smtp_cases "${PORT[$n]}" -h "snap-$tag.$HELO" >/dev/null
	done
	for n in "${SNAP_INSTANCES[@]}"; do
		for ((i = 0; i < LOG_SETTLE; i++)); do
			grep -q -F "$mark" "$WORK/pf-$n/maillog" && break
			sleep 0.1
		done
		grep -q -F "$mark" "$WORK/pf-$n/maillog" ||
		    bad "$n: no \"$mark\" in the maillog"
	done
	for n in "${!LOGS[@]}"; do
		f=${LOGS[$n]}
		off=${LOGOFF[$f]:-0}
		tail -c +$((off + 1)) "$f" >"$dir/$n" 2>/dev/null
		LOGOFF[$f]=$((off + $(wc -c <"$dir/$n")))
	done
}

# the cases without a deliberate difference, then those with one: the
# log tools read the first run only
perl "$HERE/e2e.pl" split "$WORK" || { bad "e2e.pl split"; finish; }
snapshot start
sessions "$WORK/cases.main" replies.main "${main_paths[@]}" -- -e -h "$HELO"
snapshot main
sessions "$WORK/cases.div" replies.div "${main_paths[@]}" -- -e -h "$HELO"
snapshot div
for n in "${main_paths[@]}"; do
	perl "$HERE/e2e.pl" merge "$WORK" "$n" || bad "e2e.pl merge $n"
done

# one transaction: the cases with the default sender, no SMTPUTF8 and no
# deliberate difference, after one accepted RCPT (the queue id path)
perl "$HERE/e2e.pl" batch "$WORK" || bad "e2e.pl batch"
declare -A bpid=()
for n in "${main_paths[@]}"; do
	pf_smtp_cases "${PORT[$n]}" -t -h "batch.$HELO" \
	    <"$WORK/batch.cases" >"$WORK/batch.$n" 2>"$WORK/batch.$n.err" &
	bpid[$n]=$!
done
for n in "${main_paths[@]}"; do
	wait "${bpid[$n]}"
	[ -s "$WORK/batch.$n.err" ] &&
	    bad "one transaction with $n: $(head -c 500 "$WORK/batch.$n.err")"
done
snapshot batch
note "corpus: $ncases cases to ${#main_paths[@]} instances, then" \
    "$(($(wc -l <"$WORK/batch.ids"))) in one transaction, in" \
    "$((SECONDS - t0))s"

# --- the other clients: SASL-authenticated, in mynetworks ---------------------

# variant NAME SUFFIX FILE [pf_smtp_cases option...]: the whole corpus,
# one case per transaction, to native, policy and milter (the instances
# PATH+SUFFIX), into $WORK/v-NAME laid out as e2e.pl check reads a run
# directory (every case in main/, none in div/; NAME in "variant"; FILE,
# in "overrides", says where native Postfix answers otherwise than
# corpus.txt)
var_paths=(native policy)
[ "$HAVE_MILTER" = 1 ] && var_paths+=(milter)
variant() {
	local v=$1 sfx=$2 ov=$3 dir=$WORK/v-$1 n insts=()
	shift 3
	mkdir -p "$dir/div" || return 1
	cp "$WORK/corpus.txt" "$WORK/differences.txt" "$HERE/$ov" \
	    "$dir/" || return 1
	echo "$v" >"$dir/variant"
	echo "$ov" >"$dir/overrides"
	cp "$CASES" "$dir/cases.main"
	: >"$dir/cases.div"
	for n in "${var_paths[@]}"; do
		insts+=("$n$sfx")
	done
	logs "$sfx" "${var_paths[@]}"
	snapshot "v-$v/start"
	sessions "$CASES" "v-$v/replies" "${insts[@]}" -- -e -h "$HELO" "$@"
	snapshot "v-$v/main"
	for n in "${var_paths[@]}"; do
		[ -z "$sfx" ] ||
		    mv "$dir/replies.$n$sfx" "$dir/replies.$n" || return 1
		: >"$dir/div/$n.maillog"
	done
}
t0=$SECONDS
variant sasl "" trusted.txt -a "$SASL_USER:$SASL_PASS" ||
    bad "the SASL run"
variant trusted -t trusted.txt || bad "the mynetworks run"
DAEMON_SFX=-u variant noutf8 -u noutf8.txt || bad "the smtputf8_enable = no run"
note "SASL, mynetworks, smtputf8_enable = no: corpus to" \
    "3 x ${#var_paths[@]} instances in $((SECONDS - t0))s"

# --- the log tools -----------------------------------------------------------

# each path's log as syslog would hold it, less the cases that differ
# on purpose; pflogsumm and fail2ban-regex as an admin runs them (warn:
# roll-out step 1 leaves the reports as they were)
tool_paths=()
for p in "${main_paths[@]}"; do
	[ "$p" = down ] || tool_paths+=("$p")
done
for p in "${tool_paths[@]}"; do
	perl "$HERE/e2e.pl" toolinput "$WORK" "$p" >"$WORK/tools.$p" ||
	    bad "e2e.pl toolinput $p"
	case $p in
	milter)	sn=(--syslog-name="${MILTER_IDENT%%/*}") ;;
	*)	sn=() ;;
	esac
	pflogsumm "${sn[@]}" "$WORK/tools.$p" >"$WORK/pflogsumm.$p" \
	    2>"$WORK/pflogsumm.$p.err" || bad "pflogsumm on the $p log failed"
	fail2ban-regex -r --print-all-matched "$WORK/tools.$p" \
	    "$F2B_FILTER" >"$WORK/fail2ban.$p" 2>&1 ||
	    bad "fail2ban-regex on the $p log failed"
done
# what an admin who forgets --syslog-name gets: shown, not checked
[ "$HAVE_MILTER" = 1 ] && pflogsumm "$WORK/tools.milter" \
    >"$WORK/pflogsumm.milter-plain" 2>/dev/null

# README "Rolling it out", step 2, on the warn path's syslog: what
# Postfix rejected as unknown and what vrcptd would have rejected must
# be the same lines. The commands are README's (keep them in step).
rollout_compare() {
	local log=$1 out=$2
	grep -E ' postfix(-[^/ ]*)?(/[^/ ]+)*/smtpd\[[0-9]+\]: (NOQUEUE|[0-9A-F]+): reject: RCPT from .*: User unknown in (virtual mailbox|virtual alias|relay recipient) table;' "$log" |
	    sed -E 's/^[^]]*\]: (NOQUEUE|[0-9A-F]+): reject: //' |
	    cut -c1-1900 | sort >"$out.native"
	grep -E ' vrcptd\[[0-9]+\]: (NOQUEUE|[0-9A-F]+): reject_warning: ' "$log" |
	    sed -E -e 's/^[^]]*\]: (NOQUEUE|[0-9A-F]+): reject_warning: //' \
	    -e 's/( (sasl_username|instance|lookup|delay)=[^ ]*)+$//' |
	    cut -c1-1900 | sort >"$out.vrcptd"
	diff "$out.native" "$out.vrcptd" >"$out.diff"
}
if rollout_compare "$WORK/tools.warn" "$WORK/rollout"; then
	ok
else
	bad "roll-out comparison (README recipe) not empty:" \
	    "$(head -c 1000 "$WORK/rollout.diff")"
fi
check_ge "roll-out comparison: lines compared" \
    "$(wc -l <"$WORK/rollout.vrcptd")" 50
note "roll-out step 1 (warn_if_reject): README's comparison of" \
    "$(wc -l <"$WORK/rollout.native") Postfix rejects with" \
    "$(wc -l <"$WORK/rollout.vrcptd") vrcptd reject_warning lines:" \
    "$(wc -l <"$WORK/rollout.diff") lines differ"

# --- the cache: cold, then warm; Redis and in-process, then Redis alone ------

run_cache() {
	local rsock=$WORK/redis.sock err
	if ! command -v redis-server >/dev/null; then
		note "cache runs skipped: redis-server not installed"
		return 0
	fi
	vrcptd_cf vrcptd-cache "listen = unix:$WORK/vrcptd.sock" \
	    "cache = redis:unix:$rsock" "cache_max_entries = 100000"
	if ! err=$("$VRCPTD" -t -c "$WORK/vrcptd-cache.cf" 2>&1); then
		note "cache runs skipped: vrcptd -t: $(head -c 300 <<<"$err")"
		return 0
	fi
	harness_on_exit redis_stop
	redis_start "$rsock" --unixsocketperm 770 ||
	    { bad "redis-server did not start"; return 1; }
	# the same socket: the policy Postfix does not notice the swap
	daemon_stop vrcptd
	vrcptd_start "$WORK/vrcptd-cache.cf" "$WORK/vrcptd.sock" || return 1
	session policy "$CASES" replies.cache-cold -e -h "cold.$HELO"
	session policy "$CASES" replies.cache-warm -e -h "warm.$HELO"
	note "cache: Redis holds $(rcli dbsize) keys"
	daemon_stop vrcptd-cache
	# the same with Redis alone, so that the warm run reads Redis (a
	# vrcptd that starts cannot know what it missed: it starts Redis
	# afresh)
	vrcptd_cf vrcptd-cache "listen = unix:$WORK/vrcptd.sock" \
	    "cache = redis:unix:$rsock" "cache_max_entries = 0"
	vrcptd_start "$WORK/vrcptd-cache.cf" "$WORK/vrcptd.sock" || return 1
	session policy "$CASES" replies.cache-rcold -e -h "rcold.$HELO"
	session policy "$CASES" replies.cache-rwarm -e -h "rwarm.$HELO"
	daemon_stop vrcptd-cache
	redis_stop
}
t0=$SECONDS
run_cache
note "cache runs in $((SECONDS - t0))s"

# --- PostgreSQL stopped ------------------------------------------------------

t0=$SECONDS
pgtmp_down
sessions "$CASES" replies outage-defer outage-dunno -- -e -h "outage.$HELO"
note "PostgreSQL stopped: corpus to 2 instances in $((SECONDS - t0))s"

# --- compare -----------------------------------------------------------------

# e2epl OUT COMMAND ARG...: perl e2e.pl COMMAND ARG... into $WORK/OUT;
# its lines shown, its "e2e-count PASSED FAILED" line added to ours
e2epl() {
	local out=$WORK/$1 cmd=$2 counts p f
	shift
	perl "$HERE/e2e.pl" "$@" >"$out" 2>&1
	grep -v '^e2e-count ' "$out"
	counts=$(grep '^e2e-count ' "$out" | tail -n 1)
	if [ -z "$counts" ]; then
		bad "e2e.pl $cmd did not finish"
	else
		read -r _ p f <<<"$counts"
		pass=$((pass + p))
		fail=$((fail + f))
	fi
}
e2epl check.out check "$WORK"
for v in sasl trusted noutf8; do
	[ -e "$WORK/v-$v/variant" ] && e2epl "check.$v.out" check "$WORK/v-$v"
done
e2epl tools.out logtools "$WORK" "${tool_paths[@]}"
finish
