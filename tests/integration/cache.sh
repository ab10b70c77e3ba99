#!/bin/bash
# tests/integration/cache.sh - the cache tiers against a real PostgreSQL
# and a real Redis: answers with the cache equal answers without it (cold,
# warm, through Redis from another instance), SQL queries per RCPT at
# steady state, push invalidation (ISPmail and PostfixAdmin triggers,
# several vrcptd sharing one Redis), single flight, vrcptctl flush and
# query, a config change, and outages: Redis killed, stopped (slow) and
# restarted; PostgreSQL killed and restarted; the LISTEN connection
# dropped. Prints one line per failure, the measurements, and
# "cache: N passed, M failed".
#
#   tests/integration/cache.sh     (BUILD=build-x, KEEP=1 keeps the
#                                   work directory, VRCPTD_V=1 runs
#                                   vrcptd -v)
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
WAIT_TIMEOUT=20		# seconds for something to recover
MIX_N=2000		# RCPTs of the steady-state measurement
DICT_N=300		# RCPTs of the dictionary attack
FLIP_N=10		# create/RCPT/delete/RCPT rounds per instance
SF_N=20			# concurrent RCPTs for one key
OUTAGE_N=400		# RCPTs of one pass of traffic during an outage
export POLICYC_TIMEOUT=20	# seconds for one reply

# shellcheck source=../lib/harness.sh
. "$ROOT/tests/lib/harness.sh"
# shellcheck source=../lib/redis.sh
. "$ROOT/tests/lib/redis.sh"

harness_init cache
VRCPTCTL=${VRCPTCTL:-$BUILD/vrcptctl}
for b in "$VRCPTD" "$VRCPTCTL"; do
	[ -x "$b" ] || { bad "$b not built (make)"; finish; }
done
need_cmd redis-server redis-server redis-cli

harness_on_exit redis_kill

# ask NAME RCPT... - one connection to vrcptd NAME; one action per line
ask() { local n=$1; shift; pc "unix:$WORK/$n.sock" pipeline "$@"; }
# concurrent NAME N RCPT - N connections at once; their actions
concurrent() {
	local n=$1
	shift
	pc "unix:$WORK/$n.sock" concurrent "$@" | cut -d' ' -f2-
}
# mix_gen SEED N PCT FILE_VALID FILE_UNKNOWN - N recipients, PCT% drawn from
# FILE_VALID, the rest from FILE_UNKNOWN (deterministic)
mix_gen() {
	perl -e '
		my ($seed, $n, $pct, $fv, $fu) = @ARGV;
		my @v = lines($fv);
		my @u = lines($fu);
		srand($seed);
		for (1 .. $n) {
			my $l = rand(100) < $pct ? \@v : \@u;
			print $l->[int(rand(@$l))], "\n";
		}
		sub lines {
			open(my $fh, "<:raw", $_[0]) or die "gen: $_[0]: $!\n";
			chomp(my @l = <$fh>);
			return grep { $_ ne "" } @l;
		}' "$@"
}
# random_addrs SEED N DOMAIN - N random local parts at DOMAIN (deterministic)
random_addrs() {
	perl -e '
		my ($seed, $n, $dom) = @ARGV;
		srand($seed);
		my @ch = ("a" .. "z", "0" .. "9");
		for (1 .. $n) {
			my $len = 5 + int(rand(8));
			print join("", map { $ch[int(rand(@ch))] } 1 .. $len),
			    "\@$dom\n";
		}' "$@"
}

# --- Redis -------------------------------------------------------------------

RSOCK=$WORK/redis.sock
redis_up() {
	redis_start "$RSOCK" --unixsocketperm 777 \
	    --maxmemory-policy volatile-lru && return 0
	bad "redis-server did not start: $(tail -n 3 "$REDIS_LOG")"
	return 1
}

# --- PostgreSQL --------------------------------------------------------------

pg_start || finish
# pg_stat_statements counts the SQL queries vrcptd sends
echo "shared_preload_libraries = 'pg_stat_statements'" |
    pgtmp__as tee -a "$PGTMP_DATA/postgresql.conf" >/dev/null
pgtmp_down
pgtmp_up || { bad "PostgreSQL did not restart"; finish; }
psql_q() { pgtmp_psql -At "$@"; }
psql_pfa() { pgtmp_psql -At -d pfa "$@"; }
if ! { psql_q -c "CREATE EXTENSION pg_stat_statements" &&
    psql_q -f "$ROOT/policy/ispmail.sql" \
	-f "$ROOT/policy/ispmail-sample.sql" \
	-f "$ROOT/policy/triggers-ispmail.sql" &&
    psql_q -c "CREATE DATABASE pfa" &&
    psql_pfa -f "$ROOT/policy/postfixadmin.sql" \
	-f "$ROOT/policy/triggers-postfixadmin.sql"; } >"$WORK/load.log" 2>&1
then
	cat "$WORK/load.log" >&2
	bad "loading policy/*.sql"
	finish
fi
# a realistic population besides the sample rows: 1000 mailboxes
psql_q -c "INSERT INTO virtual_users (domain_id, email, password)
    SELECT d.id, 'user' || g || '@example.com', '!'
    FROM virtual_domains d, generate_series(1, 1000) g
    WHERE d.name = 'example.com'" >/dev/null
# queries vrcptd sent, as PostgreSQL counts them
qcount() {
	psql_q -c "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements
	    WHERE query ~* '^select' AND query ~ 'FROM virtual_'"
}
# qcount_users - those on virtual_users only
qcount_users() {
	psql_q -c "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements
	    WHERE query ~* '^select' AND query ~ 'FROM virtual_users'"
}

maps_write "$WORK/maps" || finish
PGDATABASE=pfa maps_write "$WORK/maps" 'postfixadmin-*.cf' || finish
redis_up || finish

# --- vrcptd ------------------------------------------------------------------

# write_cf NAME [extra "name = value" lines]
write_cf() {
	local name=$1 l
	shift
	{
		echo "# written by tests/integration/cache.sh"
		echo "listen = unix:$WORK/$name.sock"
		maps_cf "$WORK/maps"
		echo "cache = redis:unix:$RSOCK"
		echo "redis_timeout = 200ms"
		echo "request_timeout = 5s"
		echo "workers = 2"
		echo "log_level = 1"
		echo "syslog_name = vrcptd-$name"
		echo "maillog_file = $WORK/$name.log"
		for l in "$@"; do
			echo "$l"
		done
	} >"$WORK/$name.cf"
}

# start NAME [nolisten]: run vrcptd -c NAME.cf, wait until its socket
# answers and (unless it caches nothing: nolisten) its invalidation
# listener is connected
start() {
	vrcptd_start "$WORK/$1.cf" "$WORK/$1.sock" ${VRCPTD_V:+-v} || return 1
	[ -n "${2:-}" ] || wait_for "vrcptd $1's invalidation listener" \
	    listening "$1"
}
# listening NAME - its LISTEN connection is there
listening() {
	[ "$(psql_q -c "SELECT count(*) FROM pg_stat_activity
	    WHERE application_name = 'vrcptd-$1-listen'
	    AND query ~ 'LISTEN|SELECT 1|pg_trigger'")" -ge 1 ]
}
# vstat NAME FIELD - a counter from the "cache statistics" line at stop
vstat() {
	sed -n 's/.*cache statistics: .*[ ]'"$2"'=\([0-9]*\).*/\1/p' \
	    "$WORK/$1.log" | tail -n 1
}
# wait_for WHAT CMD... - until CMD succeeds (WAIT_TIMEOUT)
wait_for() {
	local what=$1
	shift
	retry "$WAIT_TIMEOUT" "$@" && return 0
	bad "$what: not within ${WAIT_TIMEOUT}s"
	return 1
}
R550='550 5.1.1 User unknown in virtual mailbox table'

write_cf a
write_cf b
write_cf ref "cache = none" "cache_max_entries = 0"
start a || finish
start b || finish
start ref nolisten || finish

# --- answers with the cache = answers without it -----------------------------

# the recipients: the sample data's cases, and the plain <address>
# cases of the end-to-end corpus (tests/e2e/corpus.txt; its fixture
# domains are simply not hosted here, which is a case too)
cat >"$WORK/corpus" <<'EOF'
john@example.com
nosuch@example.com
jane@example.com
postmaster@example.com
sales@example.com
team@example.com
empty@example.com
anything@example.org
bob@example.org
postmaster@example.org
anything@example.net
john@example.net
john+tag@example.com
john+tag+more@example.com
sales+tag@example.com
nosuch+tag@example.com
+tag@example.com
john+@example.com
JOHN@EXAMPLE.COM
John@Example.Com
NoSuch@Example.COM
POSTMASTER@EXAMPLE.NET
Mixed.Case@example.com
mixed.case@example.com
john@example.com.
nosuch@example.com.
x@not-hosted.test
john@sub.example.com
john@example.com.evil.test
nosuch@[127.0.0.1]
john@[192.0.2.1]
postmaster
o'brien@example.com
o'nosuch@example.com
x'or'1'='1@example.com
x\'--@example.com
100%@example.com
"john"@example.com
"no such"@example.com
jürgen@example.com
JÜRGEN@example.com
nosüch@example.com
user@exämple.com
user1@example.com
user999@example.com
user1000@example.com
user1001@example.com
user1+tag@example.com
nobody@example.net
postmaster@example.net
bob+x@example.org
nobody@example.info
Bob@Example.ORG.
@example.com
example.com
EOF
if [ -r "$ROOT/tests/e2e/corpus.txt" ]; then
	awk -F ' [|] ' '/^[^#]/ && NF >= 3 { print $3 }' \
	    "$ROOT/tests/e2e/corpus.txt" |
	    sed -n 's/^<\([^<>(){}$ ]*@[^<>(){}$ ]*\)>$/\1/p' |
	    sort -u >>"$WORK/corpus"
fi
ncorpus=$(wc -l <"$WORK/corpus")
[ "$ncorpus" -gt 50 ] || bad "corpus from tests/e2e/run.sh: only $ncorpus lines"
pc "unix:$WORK/ref.sock" file "$WORK/corpus" >"$WORK/ref.out"
paste "$WORK/corpus" "$WORK/ref.out" >"$WORK/truth"
grep -q -F "$R550" "$WORK/ref.out" && grep -q '^DUNNO$' "$WORK/ref.out" ||
    bad "reference answers lack accepts or rejects: $(sort "$WORK/ref.out" | uniq -c)"
pc "unix:$WORK/a.sock" file "$WORK/corpus" >"$WORK/a-cold.out"
check "corpus, cold cache (a): differences from no cache" \
    "$(diff "$WORK/ref.out" "$WORK/a-cold.out" | grep -c '^[<>]')" 0
pc "unix:$WORK/a.sock" file "$WORK/corpus" >"$WORK/a-warm.out"
check "corpus, warm cache (a): differences from no cache" \
    "$(diff "$WORK/ref.out" "$WORK/a-warm.out" | grep -c '^[<>]')" 0
pc "unix:$WORK/b.sock" file "$WORK/corpus" >"$WORK/b-redis.out"
check "corpus, through Redis filled by a (b): differences from no cache" \
    "$(diff "$WORK/ref.out" "$WORK/b-redis.out" | grep -c '^[<>]')" 0
pc "unix:$WORK/b.sock" file "$WORK/corpus" >"$WORK/b-warm.out"
check "corpus, warm cache (b): differences from no cache" \
    "$(diff "$WORK/ref.out" "$WORK/b-warm.out" | grep -c '^[<>]')" 0
# the tier shows in the log line
grep -q 'lookup=cache_local' "$WORK/a.log" ||
    bad "a logged no lookup=cache_local"
grep -q 'lookup=cache_redis' "$WORK/b.log" ||
    bad "b logged no lookup=cache_redis (Redis filled by a)"
[ "$(rcli --scan --pattern 'vrcpt:*' | wc -l)" -gt 10 ] ||
    bad "Redis holds no vrcpt: keys"

# --- steady state: SQL queries per RCPT --------------------------------------

# 80% valid / 20% unknown, over the sample addresses and the mailboxes
grep -v -F "$R550" "$WORK/truth" | grep -P '\tDUNNO$' | cut -f1 >"$WORK/valid"
seq 1 1000 | awk '{ print "user" $1 "@example.com" }' >>"$WORK/valid"
{
	grep -F "$R550" "$WORK/truth" | cut -f1
	seq 1 200 | awk '{ print "typo" $1 "@example.com" }'
} >"$WORK/unknown"
mix_gen 1 "$MIX_N" 80 "$WORK/valid" "$WORK/unknown" >"$WORK/mix"
# warm-up: every address of the mix once, half through each instance
sort -u "$WORK/mix" >"$WORK/mix-set"
pc "unix:$WORK/a.sock" file "$WORK/mix-set" >/dev/null
pc "unix:$WORK/b.sock" file "$WORK/mix-set" >/dev/null
q0=$(qcount)
head -n $((MIX_N / 2)) "$WORK/mix" >"$WORK/mix1"
tail -n +$((MIX_N / 2 + 1)) "$WORK/mix" >"$WORK/mix2"
pc "unix:$WORK/a.sock" file "$WORK/mix1" >"$WORK/mix1.out"
pc "unix:$WORK/b.sock" file "$WORK/mix2" >"$WORK/mix2.out"
q1=$(qcount)
mixq=$((q1 - q0))
note "steady state, $MIX_N RCPTs (80% valid, 20% unknown) over two" \
    "instances: $mixq SQL queries ($(awk -v q=$mixq -v n=$MIX_N \
    'BEGIN { printf "%.4f", q / n }') per RCPT)"
[ $((mixq * 100)) -lt "$MIX_N" ] ||
    bad "steady state: $mixq queries for $MIX_N RCPTs (target < 0.01/RCPT)"
check "mix: answers" "$(cat "$WORK/mix1.out" "$WORK/mix2.out" | sort -u |
    tr '\n' '|')" "550 5.1.1 User unknown in virtual mailbox table|DUNNO|"

# the mix with the answers of the instance without a cache: the traffic
# sent during the outages below
sort -u "$WORK/mix" | head -n "$OUTAGE_N" >"$WORK/mixs"
pc "unix:$WORK/ref.sock" file "$WORK/mixs" >"$WORK/mixs.out"
paste "$WORK/mixs" "$WORK/mixs.out" >"$WORK/mixtruth"

# a dictionary attack: random local parts at one domain
random_addrs 7 "$DICT_N" example.com >"$WORK/dict"
q0=$(qcount)
pc "unix:$WORK/a.sock" file "$WORK/dict" >"$WORK/dict.out"
q1=$(qcount)
dictq=$((q1 - q0))
note "dictionary attack, $DICT_N random unknown users at example.com:" \
    "$dictq SQL queries ($(awk -v q=$dictq -v n=$DICT_N \
    'BEGIN { printf "%.2f", q / n }') per RCPT; the domain and \"@domain\"" \
    "answers are cached, each new local part costs its own keys)"
check "dictionary attack: all rejected" "$(sort -u "$WORK/dict.out")" "$R550"
[ "$dictq" -le $((DICT_N * 3)) ] ||
    bad "dictionary attack: $dictq queries for $DICT_N RCPTs (> 3 each)"

# every key vrcpt wrote into Redis expires, so that no flood of unknown
# recipients can grow it without bound (README: maxmemory)
redis-cli -s "$RSOCK" --scan --pattern 'vrcpt:*' >"$WORK/rkeys"
sed 's/^/PTTL /' "$WORK/rkeys" | redis-cli -s "$RSOCK" >"$WORK/rpttl"
check "Redis keys without an expiry" "$(grep -c -x -- -1 "$WORK/rpttl")" 0
check_ge "Redis keys checked" "$(wc -l <"$WORK/rkeys")" 100
note "Redis after the dictionary attack: $(wc -l <"$WORK/rkeys") keys," \
    "$(redis-cli -s "$RSOCK" info memory | tr -d '\r' |
    sed -n 's/^used_memory_human://p') used"

# --- scan resistance: a flood of unknown recipients keeps the hot set --------

# an in-process tier far smaller than the flood, no Redis: what the hot
# set costs in SQL after the flood says whether it was evicted
write_cf hot "cache = none" "cache_max_entries = 4000"
start hot || finish
head -n 300 "$WORK/valid" >"$WORK/hotset"
for i in 1 2 3; do	# asked again and again: the protected segment
	pc "unix:$WORK/hot.sock" file "$WORK/hotset" >/dev/null
done
random_addrs 11 20000 example.com >"$WORK/flood"
pc "unix:$WORK/hot.sock" file "$WORK/flood" >/dev/null
q0=$(qcount)
pc "unix:$WORK/hot.sock" file "$WORK/hotset" >"$WORK/hot.out"
q1=$(qcount)
note "scan resistance: the 300 hot recipients after 20000 unknown ones" \
    "through a 4000-entry tier: $((q1 - q0)) SQL queries"
check "scan resistance: hot set still cached (SQL queries)" "$((q1 - q0))" 0
check "scan resistance: hot set answers" "$(sort -u "$WORK/hot.out")" DUNNO
daemon_stop hot

# --- push invalidation: create, RCPT, delete, RCPT ---------------------------

ins_user() {
	psql_q -c "INSERT INTO virtual_users (domain_id, email, password)
	    SELECT id, '$1', '!' FROM virtual_domains
	    WHERE name = '${1#*@}'" >/dev/null
}
del_user() { psql_q -c "DELETE FROM virtual_users WHERE email = '$1'" >/dev/null; }

# The first RCPT right after the COMMIT may still see the old answer: the
# NOTIFY reaches vrcptd a moment after psql returns (README, "Caching";
# under a millisecond on an idle host, more on a loaded one). What must
# never happen is an old answer that stays: each instance must give the
# new one within FLIP_SETTLE_S, and the decision and fact caches must
# not keep serving the old one. The immediate answers are reported.
FLIP_SETTLE_S=2
# settled NAME WANT RCPT... - the answers become WANT within
# FLIP_SETTLE_S; counts the first answer in flips_first_ok
settled() {
	local n=$1 want=$2 got i
	shift 2
	got=$(ask "$n" "$@")
	flips_asked=$((flips_asked + 1))
	[ "$got" = "$want" ] && { flips_first_ok=$((flips_first_ok + 1)); return 0; }
	for ((i = 0; i < FLIP_SETTLE_S * 20; i++)); do
		sleep 0.05
		got=$(ask "$n" "$@")
		[ "$got" = "$want" ] && return 0
	done
	echo "cache: $n still answers \"$got\" for $* ${FLIP_SETTLE_S}s after the change" >&2
	return 1
}
flips_bad=0 flips_asked=0 flips_first_ok=0
for ((i = 1; i <= FLIP_N; i++)); do
	u=flip$i@example.com
	# both instances have the negative answer cached (and Redis too)
	for n in a b; do
		[ "$(ask $n "$u")" = "$R550" ] || flips_bad=$((flips_bad + 1))
		[ "$(ask $n "$u")" = "$R550" ] || flips_bad=$((flips_bad + 1))
	done
	ins_user "$u"
	for n in a b; do
		settled $n "DUNNO"$'\n'"DUNNO" "$u" "${u%@*}+ext@example.com" ||
		    flips_bad=$((flips_bad + 1))
	done
	del_user "$u"
	for n in a b; do
		settled $n "$R550" "$u" || flips_bad=$((flips_bad + 1))
	done
done
check "create/RCPT/delete/RCPT x$FLIP_N on two instances: wrong answers" \
    "$flips_bad" 0
note "create/RCPT/delete/RCPT: right at the first RCPT after the COMMIT" \
    "$flips_first_ok of $flips_asked, all within ${FLIP_SETTLE_S}s"

# an alias, a catch-all, a new domain
check "alias before" "$(ask a fwd@example.com)" "$R550"
psql_q -c "INSERT INTO virtual_aliases (domain_id, source, destination)
    SELECT id, 'fwd@example.com', 'john@example.com' FROM virtual_domains
    WHERE name = 'example.com'" >/dev/null
check "alias created: a" "$(ask a fwd@example.com)" DUNNO
check "alias created: b" "$(ask b fwd+x@example.com)" DUNNO
psql_q -c "UPDATE virtual_aliases SET source = 'fwd2@example.com'
    WHERE source = 'fwd@example.com'" >/dev/null
check "alias renamed: old key" "$(ask b fwd@example.com)" "$R550"
check "alias renamed: new key" "$(ask a fwd2@example.com)" DUNNO
psql_q -c "DELETE FROM virtual_aliases WHERE source = 'fwd2@example.com'" \
    >/dev/null
check "alias deleted" "$(ask a fwd2@example.com)" "$R550"
check "catch-all before" "$(ask b whatever@example.com)" "$R550"
psql_q -c "INSERT INTO virtual_aliases (domain_id, source, destination)
    SELECT id, '@example.com', 'john@example.com' FROM virtual_domains
    WHERE name = 'example.com'" >/dev/null
check "catch-all created" "$(ask b whatever@example.com)" DUNNO
psql_q -c "DELETE FROM virtual_aliases WHERE source = '@example.com'" >/dev/null
check "catch-all deleted" "$(ask b whatever@example.com)" "$R550"
nd=$(ask a x@new.test)
check "new domain before: not ours" "$nd" "reject_unlisted_recipient"
psql_q -c "BEGIN; INSERT INTO virtual_domains (name) VALUES ('new.test');
    INSERT INTO virtual_users (domain_id, email, password)
    SELECT id, 'x@new.test', '!' FROM virtual_domains WHERE name = 'new.test';
    COMMIT" >/dev/null
check "new domain with a user: a" "$(ask a x@new.test)" DUNNO
check "new domain, unknown user: b" "$(ask b y@new.test)" "$R550"
psql_q -c "DELETE FROM virtual_domains WHERE name = 'new.test'" >/dev/null
check "domain deleted: a" "$(ask a x@new.test)" "reject_unlisted_recipient"
check "domain deleted: b" "$(ask b y@new.test)" "reject_unlisted_recipient"

# --- PostfixAdmin triggers ---------------------------------------------------

P=$WORK/maps/postfixadmin
write_cf pfa \
    "virtual_mailbox_domains = pgsql:$P-virtual-domains-maps.cf" \
    "virtual_alias_maps = pgsql:$P-virtual-alias-maps.cf,
	pgsql:$P-virtual-alias-domain-maps.cf,
	pgsql:$P-virtual-alias-domain-catchall-maps.cf" \
    "virtual_mailbox_maps = pgsql:$P-virtual-mailbox-maps.cf,
	pgsql:$P-virtual-alias-domain-mailbox-maps.cf"
start pfa || finish
check "pfa: john" "$(ask pfa john@example.com)" DUNNO
check "pfa: newbie unknown" "$(ask pfa newbie@example.com)" "$R550"
check "pfa: newbie unknown in the alias domain" \
    "$(ask pfa newbie@example.net)" "$R550"
psql_pfa -c "INSERT INTO mailbox (username, password, maildir, local_part,
    domain) VALUES ('newbie@example.com', '!', 'x/', 'newbie',
    'example.com')" >/dev/null
check "pfa: mailbox created" "$(ask pfa newbie@example.com)" DUNNO
check "pfa: seen through the alias domain" "$(ask pfa newbie@example.net)" \
    DUNNO
psql_pfa -c "UPDATE mailbox SET active = false
    WHERE username = 'newbie@example.com'" >/dev/null
check "pfa: mailbox switched off" "$(ask pfa newbie@example.com)" "$R550"
check "pfa: switched off in the alias domain" \
    "$(ask pfa newbie@example.net)" "$R550"
check "pfa: alias domain member" "$(ask pfa jane@example.net)" DUNNO
psql_pfa -c "UPDATE alias_domain SET active = false
    WHERE alias_domain = 'example.net'" >/dev/null
check "pfa: alias domain switched off" "$(ask pfa jane@example.net)" \
    "$R550"
psql_pfa -c "UPDATE alias_domain SET active = true
    WHERE alias_domain = 'example.net'" >/dev/null
check "pfa: alias domain back" "$(ask pfa jane@example.net)" DUNNO
check "pfa: catch-all domain" "$(ask pfa any@example.org)" DUNNO
psql_pfa -c "UPDATE domain SET active = false
    WHERE domain = 'example.org'" >/dev/null
check "pfa: domain switched off" "$(ask pfa any@example.org)" \
    "reject_unlisted_recipient"
psql_pfa -c "UPDATE domain SET active = true
    WHERE domain = 'example.org'" >/dev/null
check "pfa: domain back" "$(ask pfa any@example.org)" DUNNO
daemon_stop pfa

# --- canonical_maps in PostgreSQL --------------------------------------------

# a canonical table of the site's own with the aliases' trigger (README,
# "Caching"): a recipient it knows is valid (smtpd_check.c:
# check_rcpt_maps), and a change reaches the cached answers at once
if psql_q -c "CREATE TABLE canon_test (source text PRIMARY KEY,
    destination text NOT NULL);
    CREATE TRIGGER vrcpt_invalidate AFTER INSERT OR UPDATE OR DELETE
    ON canon_test FOR EACH ROW EXECUTE FUNCTION vrcpt_ispmail_aliases()" \
    >/dev/null && printf '%s\n' "hosts = x" "user = x" "dbname = x" \
    "query = SELECT destination FROM canon_test WHERE source='%s'" \
    >"$WORK/canon.src" &&
    pf_write_cf "$WORK/canon.src" "$WORK/maps/pgsql-canon.cf"; then
	write_cf canon \
	    "canonical_maps = pgsql:$WORK/maps/pgsql-canon.cf" \
	    "recipient_canonical_maps = inline:{ rc@example.com=x }"
	start canon || finish
	check "canonical: unknown, cached" \
	    "$(ask canon cx@example.com cx@example.com)" \
	    "$R550"$'\n'"$R550"
	check "canonical: recipient_canonical_maps" \
	    "$(ask canon rc+ext@example.com)" DUNNO
	psql_q -c "INSERT INTO canon_test VALUES ('cx@example.com',
	    'john@example.com')" >/dev/null
	settled canon "DUNNO"$'\n'"DUNNO" cx@example.com cx+ext@example.com
	check "canonical: row created, valid" "$?" 0
	psql_q -c "UPDATE canon_test SET source = '@example.com'
	    WHERE source = 'cx@example.com'" >/dev/null
	settled canon "DUNNO" whoever@example.com
	check "canonical: catch-all row, valid" "$?" 0
	psql_q -c "DELETE FROM canon_test" >/dev/null
	settled canon "$R550"$'\n'"$R550" cx@example.com whoever@example.com
	check "canonical: rows deleted, unknown again" "$?" 0
	daemon_stop canon
else
	bad "canonical: setting up canon_test"
fi

# --- relay_domains: a subdomain's answer follows its parent domain ---------

# relay_domains covers subdomains (parent_domain_matches_subdomains):
# the answer for x@sub.D depends on the row D, which an invalidation of
# D names, not sub.D; such a decision must not be kept as one of sub.D
write_cf rel \
    "relay_domains = pgsql:$WORK/maps/pgsql-virtual-mailbox-domains.cf"
start rel || finish
RUR=reject_unlisted_recipient
check "relay parent: not ours yet (twice: remembered if it could be)" \
    "$(ask rel x@sub.newrelay.test x@sub.newrelay.test)" "$RUR"$'\n'"$RUR"
psql_q -c "INSERT INTO virtual_domains (name) VALUES ('newrelay.test')" \
    >/dev/null
settled rel DUNNO x@sub.newrelay.test
check "relay parent: domain created, the subdomain is relayed" "$?" 0
psql_q -c "DELETE FROM virtual_domains WHERE name = 'newrelay.test'" \
    >/dev/null
settled rel "$RUR" x@sub.newrelay.test
check "relay parent: domain deleted, not ours again" "$?" 0
daemon_stop rel

# --- no triggers, no trust ---------------------------------------------------

# without the triggers nothing would tell vrcptd about changes: cached
# answers must not be used (but are, once the triggers are loaded)
if psql_q -c "CREATE DATABASE notrig" >/dev/null &&
    pgtmp_psql -q -d notrig -f "$ROOT/policy/ispmail.sql" \
	-f "$ROOT/policy/ispmail-sample.sql" >"$WORK/load2.log" 2>&1; then
	PGDATABASE=notrig maps_write "$WORK/maps-nt" || finish
	write_cf nt "cache = none"
	sed -i "s|$WORK/maps/pgsql-|$WORK/maps-nt/pgsql-|" "$WORK/nt.cf"
	start nt || finish
	notrig_warned() { grep -q 'has no vrcpt_\* triggers' "$WORK/nt.log"; }
	wait_for "warning about the missing triggers" notrig_warned
	ask nt john@example.com nosuch@example.com john@example.com \
	    nosuch@example.com >/dev/null
	check "no triggers: cached answers used" \
	    "$(grep -c 'lookup=cache_local' "$WORK/nt.log")" 0
	pgtmp_psql -q -d notrig -f "$ROOT/policy/triggers-ispmail.sql" \
	    >/dev/null 2>&1
	nt_up() { grep -q 'triggers found; caching' "$WORK/nt.log"; }
	wait_for "caching once the triggers are there" nt_up
	ask nt john@example.com john@example.com >/dev/null
	check "triggers loaded: cached answers used" \
	    "$(grep -c 'lookup=cache_local' "$WORK/nt.log")" 1
	daemon_stop nt
else
	bad "creating the database notrig: $(cat "$WORK/load2.log")"
fi

# --- single flight -----------------------------------------------------------

# virtual_users locked: the queries for one key wait; SF_N concurrent
# RCPTs for it must make one query per map and worker, not SF_N. (The
# domain's own keys are made known first: only the new key may miss.)
ask a sfwarm@example.com >/dev/null
q0=$(qcount_users)
psql_q -c "BEGIN; LOCK TABLE virtual_users IN ACCESS EXCLUSIVE MODE;
    SELECT pg_sleep(1.5); COMMIT" >/dev/null 2>&1 &
BGPIDS+=($!)
sleep 0.3
concurrent a "$SF_N" sflight@example.com >"$WORK/sf.out"
wait "${BGPIDS[-1]}"
unset 'BGPIDS[-1]'
q1=$(qcount_users)
check "single flight: answers" "$(sort -u "$WORK/sf.out")" "$R550"
check "single flight: answered" "$(wc -l <"$WORK/sf.out")" "$SF_N"
sfq=$((q1 - q0))
note "single flight: $SF_N concurrent RCPTs for one new key:" \
    "$sfq queries on virtual_users (2 maps read it; 2 workers)"
[ "$sfq" -le 4 ] || bad "single flight: $sfq queries on virtual_users" \
    "for $SF_N concurrent RCPTs (want at most 2 maps x 2 workers):" \
    "$(psql_q -c "SELECT calls, query FROM pg_stat_statements
    WHERE query ~ 'virtual_'")"

# --- vrcptctl flush and query ------------------------------------------------

# changes made with the triggers off (session_replication_role) are not
# pushed: only a flush makes them visible before the TTL
silent() {
	psql_q -c "SET session_replication_role = replica; $1" >/dev/null
}
check "silent insert: before" "$(ask a quiet@example.com)" "$R550"
ask b quiet@example.com >/dev/null
silent "INSERT INTO virtual_users (domain_id, email, password)
    SELECT id, 'quiet@example.com', '!' FROM virtual_domains
    WHERE name = 'example.com'"
check "silent insert: still cached" "$(ask a quiet@example.com)" "$R550"
"$VRCPTCTL" -c "$WORK/a.cf" query --direct quiet@example.com >"$WORK/query.out" 2>&1
grep -q 'redis: not_found, age [0-9]*s, fresh for .*DIFFERS from the database' \
    "$WORK/query.out" ||
    bad "vrcptctl query does not show the stale Redis answer:" \
    "$(cat "$WORK/query.out")"
"$VRCPTCTL" -c "$WORK/a.cf" flush quiet+x@example.com >"$WORK/flush.out" 2>&1
check "vrcptctl flush ADDRESS: exit status" "$?" 0
# (the flush reaches each vrcptd through NOTIFY, asynchronously: within
# a few seconds, never a timing assertion)
flushed() { [ "$(ask "$1" quiet@example.com)" = DUNNO ]; }
for n in a b; do
	if retry 10 flushed "$n"; then ok; else
		bad "flush ADDRESS: $n: $(ask "$n" quiet@example.com)"
	fi
done
silent "DELETE FROM virtual_users WHERE email = 'quiet@example.com'"
check "silent delete: still cached" "$(ask b quiet@example.com)" DUNNO
"$VRCPTCTL" -c "$WORK/a.cf" flush @example.com >>"$WORK/flush.out" 2>&1
check "vrcptctl flush @DOMAIN: exit status" "$?" 0
check "flush @DOMAIN: a" "$(ask a quiet@example.com)" "$R550"
check "flush @DOMAIN: b" "$(ask b quiet@example.com)" "$R550"
silent "INSERT INTO virtual_users (domain_id, email, password)
    SELECT id, 'quiet@example.com', '!' FROM virtual_domains
    WHERE name = 'example.com'"
"$VRCPTCTL" -c "$WORK/a.cf" flush --all >>"$WORK/flush.out" 2>&1
check "vrcptctl flush --all: exit status" "$?" 0
check "flush all: a" "$(ask a quiet@example.com)" DUNNO
check "flush all: b" "$(ask b quiet@example.com)" DUNNO
"$VRCPTCTL" -c "$WORK/a.cf" query --direct quiet@example.com >"$WORK/query.out" 2>&1
grep -q 'redis: found "1", age [0-9]*s, fresh for' "$WORK/query.out" ||
    bad "vrcptctl query does not show the Redis answer:" \
    "$(cat "$WORK/query.out")"
silent "DELETE FROM virtual_users WHERE email = 'quiet@example.com'"
"$VRCPTCTL" -c "$WORK/a.cf" flush quiet@example.com >>"$WORK/flush.out" 2>&1

# --- a changed map never reads the old map's answers -------------------------

Q="query = SELECT 1 FROM virtual_domains WHERE name = '%s'"
Q="$Q AND name <> 'example.com'"
sed "s/^query = .*/$Q/" \
    "$WORK/maps/pgsql-virtual-mailbox-domains.cf" >"$WORK/maps/domains2.cf"
cp "$WORK/a.cf" "$WORK/a.cf.orig"
sed -i "s|pgsql-virtual-mailbox-domains.cf|domains2.cf|" "$WORK/a.cf"
check "before reload: a" "$(ask a john@example.com)" DUNNO
kill -HUP "$(daemon_pid a)"
answer_is() { [ "$(ask "$1" "$2")" = "$3" ]; }
wait_for "reload with a changed map" answer_is a nosuch@example.com \
    reject_unlisted_recipient
check "changed map: a" "$(ask a nosuch@example.com)" \
    reject_unlisted_recipient
check "unchanged map: b (same Redis)" "$(ask b nosuch@example.com)" "$R550"
cp "$WORK/a.cf.orig" "$WORK/a.cf"
kill -HUP "$(daemon_pid a)"
wait_for "reload back" answer_is a nosuch@example.com "$R550"

# --- Redis down, slow, back --------------------------------------------------

compare() {
	pc "unix:$WORK/$1.sock" compare "${2:-$WORK/truth}"
}
# the corpus's rejects: while PostgreSQL is down, each is deferred (a
# stale "not found" never becomes a 5xx), the rest answered from the cache
nreject=$(awk -F '\t' '$2 ~ /^5/' "$WORK/truth" | wc -l)
# traffic NAME OUT: three passes of the mix while something happens;
# sum_traffic OUT: "same N defer N wrong N" over them
traffic() {
	{ compare "$1" "$WORK/mixtruth"; compare "$1" "$WORK/mixtruth"
	    compare "$1" "$WORK/mixtruth"; } >"$2" 2>&1 &
	BGPIDS+=($!)
}
# (sum_traffic runs in $(...), a subshell: wait here first)
traffic_wait() {
	wait "${BGPIDS[-1]}"
	unset 'BGPIDS[-1]'
}
sum_traffic() {
	grep '^same ' "$1" | awk '{ s += $2; d += $4; w += $6 }
	    END { printf "same %d defer %d wrong %d\n", s, d, w }'
	grep '^WRONG' "$1" | head -n 5 >&2
}
# an instance without an in-process cache: it needs Redis or PostgreSQL
# for everything
write_cf c "cache_max_entries = 0"
start c || finish
compare c >/dev/null
compare c "$WORK/mixtruth" >/dev/null
traffic c "$WORK/t-redis"
sleep 0.3
redis_kill
traffic_wait
out=$(sum_traffic "$WORK/t-redis")
note "traffic while Redis was killed (no in-process tier): $out"
check "traffic while Redis was killed: wrong or deferred" \
    "$(awk '{ print $4 + $6 }' <<<"$out")" 0
out=$(compare c)
check "Redis killed: answers" "$(tail -n 1 <<<"$out")" \
    "same $ncorpus defer 0 wrong 0"
out=$(compare a)
check "Redis killed: answers (a)" "$(tail -n 1 <<<"$out")" \
    "same $ncorpus defer 0 wrong 0"
redis_up || finish
reconnected() { grep -q 'connected; using Redis again' "$WORK/c.log"; }
wait_for "c back on Redis" reconnected
# a new Redis is empty: c fills it, then reads it
compare c >/dev/null
daemon_stop c
: >"$WORK/c.log"
start c || finish
compare c >/dev/null
out=$(compare c)
check "Redis back: answers" "$(tail -n 1 <<<"$out")" \
    "same $ncorpus defer 0 wrong 0"
daemon_stop c
check "Redis back: c answered from Redis" \
    "$(grep -c 'lookup=cache_redis' "$WORK/c.log" | awk '{ print ($1 > 0) }')" 1
# slow: stopped, not dead (connections hang instead of failing)
start c || finish
compare c "$WORK/mixtruth" >/dev/null
traffic c "$WORK/t-slow"
sleep 0.3
kill -STOP "$REDIS_PID"
traffic_wait
out=$(sum_traffic "$WORK/t-slow")
note "traffic while Redis was stopped (slow): $out"
check "traffic while Redis was stopped: wrong or deferred" \
    "$(awk '{ print $4 + $6 }' <<<"$out")" 0
out=$(compare c)
check "Redis stopped (slow): answers" "$(tail -n 1 <<<"$out")" \
    "same $ncorpus defer 0 wrong 0"
kill -CONT "$REDIS_PID"
out=$(compare c)
check "Redis continued: answers" "$(tail -n 1 <<<"$out")" \
    "same $ncorpus defer 0 wrong 0"
daemon_stop c
grep -q 'redis:unix:.*no reply for' "$WORK/c.log" ||
    bad "c did not drop the stalled Redis connection"
# an invalidation while Redis cannot take it: Redis must not be used
# until it is flushed, then it is flushed
ask a late@example.com >/dev/null	# "unknown", in Redis too
ask b late@example.com >/dev/null
kill -STOP "$REDIS_PID"
ins_user late@example.com
sleep 0.5
kill -CONT "$REDIS_PID"
check "change while Redis was stopped: a" "$(ask a late@example.com)" DUNNO
check "change while Redis was stopped: b" "$(ask b late@example.com)" DUNNO
redis_clean() { grep -q 'Redis flushed; using it again' "$WORK/a.log"; }
wait_for "Redis flushed after the missed invalidation" redis_clean
"$VRCPTCTL" -c "$WORK/a.cf" query --direct late@example.com >"$WORK/query.out" 2>&1
if grep 'pgsql-virtual-mailbox-maps' -A 2 "$WORK/query.out" |
    grep -q 'redis: not_found.*fresh'; then
	bad "Redis still serves the answer from before the missed change:" \
	    "$(cat "$WORK/query.out")"
else
	ok
fi
del_user late@example.com

# --- PostgreSQL hanging ----------------------------------------------------

# the database does not answer within request_timeout: what the cache
# knows is answered (stale), the rest gets lookup_failure_action
write_cf t "cache = none" "request_timeout = 1s" "cache_positive_ttl = 1s" \
    "cache_negative_ttl = 1s"
start t || finish
check "t: john" "$(ask t john@example.com)" DUNNO
check "t: nosuch" "$(ask t nosuch@example.com)" "$R550"
sleep 1.2	# past the TTL: only stale now
psql_q -c "BEGIN; LOCK TABLE virtual_users IN ACCESS EXCLUSIVE MODE;
    SELECT pg_sleep(5); COMMIT" >/dev/null 2>&1 &
BGPIDS+=($!)
sleep 0.3
# three at once: each waits for its deadline (1s), all within the 5s
concurrent t 1 hang@example.com >"$WORK/hang1" &
BGPIDS+=($!)
check "PostgreSQL hanging: known mailbox (stale)" \
    "$(ask t john@example.com)" DUNNO
# a stale "not found" is not a 550: the mailbox may exist by now
check "PostgreSQL hanging: known unknown (stale): deferred" \
    "$(ask t nosuch@example.com)" "451 4.3.0 Temporary lookup failure"
wait "${BGPIDS[-1]}"
unset 'BGPIDS[-1]'
check "PostgreSQL hanging: never seen" "$(cat "$WORK/hang1")" \
    "451 4.3.0 Temporary lookup failure"
wait "${BGPIDS[-1]}"
unset 'BGPIDS[-1]'
grep -q 'timed out after 1000ms' "$WORK/t.log" ||
    bad "t did not log the request timeout"
daemon_stop t

# --- PostgreSQL down, back ---------------------------------------------------

write_cf s "cache = none" "cache_positive_ttl = 1s" "cache_negative_ttl = 1s" \
    "cache_stale_ttl = 2s"
start s || finish
compare a >/dev/null	# a is warm for the whole corpus
compare a "$WORK/mixtruth" >/dev/null	# and the mix
compare b "$WORK/mixtruth" >/dev/null
traffic a "$WORK/t-pg-a"
check "s: john" "$(ask s john@example.com)" DUNNO
sleep 0.3
t0=$(date +%s.%N)
pgtmp_down
check "PostgreSQL killed: s within cache_stale_ttl" \
    "$(ask s john@example.com)" DUNNO
traffic_wait
out=$(sum_traffic "$WORK/t-pg-a")
note "traffic while PostgreSQL was killed (a): $out"
check "traffic while PostgreSQL was killed (a): wrong" \
    "$(awk '{ print $6 }' <<<"$out")" 0
out=$(compare a)
check "PostgreSQL killed: a answers (known: stale; rejects deferred)" \
    "$(tail -n 1 <<<"$out")" \
    "same $((ncorpus - nreject)) defer $nreject wrong 0"
out=$(compare b "$WORK/mixtruth")
note "PostgreSQL killed: b, the mix: $(tail -n 1 <<<"$out")"
check "PostgreSQL killed: b, the mix: wrong" \
    "$(tail -n 1 <<<"$out" | awk '{ print $6 }')" 0
out=$(compare b)
note "PostgreSQL killed: b, the corpus: $(tail -n 1 <<<"$out")"
check "PostgreSQL killed: b wrong answers" \
    "$(tail -n 1 <<<"$out" | awk '{ print $6 }')" 0
check "PostgreSQL killed: unknown to the cache" \
    "$(ask a never-seen@example.com)" "451 4.3.0 Temporary lookup failure"
grep -q 'answered from the cache, stale' "$WORK/a.log" ||
    bad "a did not log the stale answers"
# past TTL + cache_stale_ttl (3 s after s learnt it)
sleep "$(awk -v t0="$t0" -v now="$(date +%s.%N)" \
    'BEGIN { d = 3.5 - (now - t0); print (d > 0 ? d : 0) }')"
check "PostgreSQL killed: s past cache_stale_ttl" \
    "$(ask s john@example.com)" "451 4.3.0 Temporary lookup failure"
traffic a "$WORK/t-pg-up"
sleep 0.2
pgtmp_up || { bad "PostgreSQL did not restart"; finish; }
traffic_wait
out=$(sum_traffic "$WORK/t-pg-up")
note "traffic while PostgreSQL came back (a): $out"
check "traffic while PostgreSQL came back (a): wrong" \
    "$(awk '{ print $6 }' <<<"$out")" 0
wait_for "a listening again" listening a
wait_for "b listening again" listening b
# until the pools are back, what the cache knows is still answered
out=$(compare a)
check "PostgreSQL back, pools maybe not yet: a" \
    "$(tail -n 1 <<<"$out" | awk '{ print $6 }')" 0
note "PostgreSQL back, pools maybe not yet: a $(tail -n 1 <<<"$out")"
# every worker's pool back: 8 connections at once, all answered by
# PostgreSQL (a new address each time)
# (each worker has its own pool, reconnecting on its own backoff: three
# rounds of 8 connections in a row, so that both workers are asked)
probe=0
pools_back() {
	local round
	for round in 1 2 3; do
		probe=$((probe + 1))
		[ "$(concurrent "$1" 8 "probe$probe@example.com" |
		    sort -u)" = "$R550" ] || return 1
	done
}
wait_for "a's pools back" pools_back a
wait_for "b's pools back" pools_back b
wait_for "s's pools back" pools_back s
ins_user after@example.com
wait_for "new mailbox after the outage (a)" answer_is a after@example.com \
    DUNNO
wait_for "new mailbox after the outage (b)" answer_is b after@example.com \
    DUNNO
wait_for "s after the outage" answer_is s john@example.com DUNNO
out=$(compare a)
check "PostgreSQL back: answers" "$(tail -n 1 <<<"$out")" \
    "same $ncorpus defer 0 wrong 0"
daemon_stop s

# --- the LISTEN connection dropped -------------------------------------------

ask a dropped@example.com >/dev/null
psql_q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
    WHERE application_name = 'vrcptd-a-listen'" >/dev/null
silent "INSERT INTO virtual_users (domain_id, email, password)
    SELECT id, 'dropped@example.com', '!' FROM virtual_domains
    WHERE name = 'example.com'"
# whether the listener is back or not yet, the answer must be new: while
# it is away nothing cached is trusted; when back, it flushed. A 4xx is
# no answer (a worker whose pool still waits out its reconnect backoff
# after the outage above defers); the old 550 is wrong at once
seen_new() {
	local got
	got=$(ask a dropped@example.com)
	case $got in
	DUNNO) return 0 ;;
	4[0-9][0-9]\ *) return 1 ;;
	esac
	bad "listener dropped: change missed, seen anyway: got \"$got\""
}
wait_for "listener dropped: change missed, seen anyway" seen_new && ok
wait_for "a listening again after pg_terminate_backend" listening a
check "listener back: change seen" "$(ask a dropped@example.com)" DUNNO
grep -q 'cache invalidation listener.*listening again' "$WORK/a.log" ||
    bad "a did not log the listener's return"

# --- an invalidation storm ---------------------------------------------------

# any role that may NOTIFY can send these: thousands of domain
# invalidations and unknown messages (each a flush) in one go. vrcptd
# bounds the work (domain walks per second, one Redis epoch a second),
# logs each kind once, and answers right all along.
traffic a "$WORK/t-storm"
psql_q -c "SELECT count(pg_notify('vrcpt_invalidate', 'd:storm' || g ||
    '.example')) FROM generate_series(1, 3000) g" >/dev/null
psql_q -c "SELECT count(pg_notify('vrcpt_invalidate', 'junk' || g))
    FROM generate_series(1, 3000) g" >/dev/null
traffic_wait
out=$(sum_traffic "$WORK/t-storm")
note "traffic during an invalidation storm (a): $out"
check "invalidation storm: wrong or deferred" \
    "$(awk '{ print $4 + $6 }' <<<"$out")" 0
stormed() { grep -q 'more than 20 domain invalidations a second' \
    "$WORK/a.log"; }
wait_for "the storm logged" stormed
check_ge "invalidation storm: junk lines logged (rate-limited)" \
    "$((3 - $(grep -c 'unknown invalidation message' "$WORK/a.log")))" 1
out=$(compare a)
check "after the storm: answers" "$(tail -n 1 <<<"$out")" \
    "same $ncorpus defer 0 wrong 0"

# --- the counters ------------------------------------------------------------

daemon_stop a
daemon_stop b
daemon_stop ref
for n in a b; do
	[ -n "$(vstat $n db_query)" ] || bad "$n logged no cache statistics"
done
note "a: $(grep 'cache statistics' "$WORK/a.log" | tail -n 1 |
    sed 's/.*cache statistics: //')"
[ "$(vstat ref db_query)" -gt 0 ] && [ "$(vstat ref local_hit)" = 0 ] &&
    [ "$(vstat ref redis_hit)" = 0 ] ||
    bad "the instance without a cache used one: $(grep 'cache statistics' \
    "$WORK/ref.log")"
CRASH='\]: (panic|fatal): |AddressSanitizer|runtime error|LeakSanitizer'
if grep -h -E "$CRASH" "$WORK"/*.log "$WORK"/*.out >/dev/null 2>&1; then
	bad "crash: $(grep -h -E "$CRASH" "$WORK"/*.log "$WORK"/*.out |
	    head -n 3)"
fi

finish
