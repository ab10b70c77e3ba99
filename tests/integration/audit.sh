#!/bin/bash
# tests/integration/audit.sh - vrcptctl audit against a running vrcptd
# (Redis as its shared cache), a real PostgreSQL with the ISPmail sample
# data and triggers, and the installed Postfix's postconf and postmap
# over a main.cf of its own (no Postfix runs). A clean setup agrees
# (exit 0; the one UTF-8 row Postfix 3.7 never finds is a "known"
# line); then a disagreement is made three ways and each is reported
# with exit 1: a row deleted behind the caches with the triggers off
# (Redis against the database, and vrcptd against Postfix), a main.cf
# parameter that vrcptd.cf does not have, and a map that answers
# differently for Postfix than for the running vrcptd (its .cf changed
# since vrcptd read it). Also --addresses, --max, --no-daemon and
# vrcptd away (exit 2). Prints "audit: N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
# shellcheck source=../lib/harness.sh
. "$ROOT/tests/lib/harness.sh"
# shellcheck source=../lib/redis.sh
. "$ROOT/tests/lib/redis.sh"

harness_init audit
VRCPTCTL=${VRCPTCTL:-$BUILD/vrcptctl}
for b in "$VRCPTD" "$VRCPTCTL"; do
	[ -x "$b" ] || { bad "$b not built"; finish; }
done
for p in postconf postmap redis-server redis-cli; do
	command -v $p >/dev/null || { bad "$p not installed"; finish; }
done
grep -q "^pgsql[[:space:]]" /etc/postfix/dynamicmaps.cf 2>/dev/null ||
    { bad "postfix-pgsql not installed (dynamicmaps.cf)"; finish; }
harness_on_exit redis_kill
pg_start policy/ispmail.sql policy/ispmail-sample.sql \
    policy/triggers-ispmail.sql || finish
redis_start "$WORK/redis.sock" || { bad "Redis did not start"; finish; }
maps_write "$WORK/maps" || finish
cat >"$WORK/vrcptd.cf" <<EOC
listen = unix:$WORK/policy.sock
control_listen = unix:$WORK/control.sock
virtual_mailbox_domains = pgsql:$WORK/maps/pgsql-virtual-mailbox-domains.cf
virtual_mailbox_maps = pgsql:$WORK/maps/pgsql-virtual-mailbox-maps.cf
virtual_alias_maps = pgsql:$WORK/maps/pgsql-virtual-alias-maps.cf,
    pgsql:$WORK/maps/pgsql-email2email.cf, hash:$WORK/maps/extra
recipient_delimiter = +
mydestination = localhost
cache = redis:unix:$WORK/redis.sock
redis_timeout = 200ms
maillog_file = $WORK/vrcptd.log
EOC
# Postfix's main.cf: the same maps, as an admin writes them
PFX=$WORK/postfix
mkdir -p "$PFX"
cat >"$PFX/main.cf" <<EOC
compatibility_level = 3.6
virtual_mailbox_domains = proxy:pgsql:$WORK/maps/pgsql-virtual-mailbox-domains.cf
virtual_mailbox_maps = proxy:pgsql:$WORK/maps/pgsql-virtual-mailbox-maps.cf
virtual_alias_maps = pgsql:$WORK/maps/pgsql-virtual-alias-maps.cf
	pgsql:$WORK/maps/pgsql-email2email.cf
	hash:$WORK/maps/extra
recipient_delimiter = +
mydestination = localhost
EOC
touch "$PFX/master.cf"
# a table file beside the SQL maps, in both configurations
printf 'extra@example.com\tjohn@example.com\n' >"$WORK/maps/extra"
postmap -c "$PFX" "hash:$WORK/maps/extra" || { bad "postmap hash:"; finish; }
vrcptd_start "$WORK/vrcptd.cf" "$WORK/policy.sock" || finish
retry 10 test -S "$WORK/control.sock" || bad "no control socket"

audit() {
	"$VRCPTCTL" -c "$WORK/vrcptd.cf" audit --postfix-config "$PFX" "$@"
}
summary() { grep '^audit: ' "$1"; }
# n WHAT FILE - a count from the summary line
n() { summary "$2" | sed -nE "s/.* ([0-9]+) $1.*/\\1/p"; }

# --- clean ---------------------------------------------------------------
t0=$SECONDS
audit >"$WORK/a1" 2>"$WORK/a1.err"
check "clean: exit" "$?" 0
note "first audit: $((SECONDS - t0))s: $(summary "$WORK/a1")"
grep -q '^addresses: 1[0-9] from the ISPmail tables, 3 domains$' \
    "$WORK/a1" || bad "enumeration: $(head -3 "$WORK/a1")"
ok
check "clean: unknown samples (2 per domain)" \
    "$(summary "$WORK/a1" | sed -nE 's/.*\(([0-9]+) unknown samples\).*/\1/p')" 6
check "clean: disagreements" "$(n disagreements "$WORK/a1")" 0
check "clean: the UTF-8 row is the one known difference" \
    "$(grep -c '^known ' "$WORK/a1")" 1
grep -q '^known jürgen@example.com: vrcptd says valid, Postfix' "$WORK/a1" ||
    bad "known line: $(grep '^known' "$WORK/a1")"
ok
check_ge "clean: parameters compared" "$(n parameters "$WORK/a1")" 10
check_ge "clean: table-file lookups compared" \
    "$(n 'table lookups' "$WORK/a1")" 10
# the daemon's answers filled Redis: now its records are compared too
audit >"$WORK/a2" 2>&1
check "clean again: exit" "$?" 0
check_ge "clean again: Redis records compared" \
    "$(n 'Redis records' "$WORK/a2")" 10

# --- 1. rows changed behind the caches, triggers off --------------------
# vrcptd has answered "unknown" for newbie@ (Redis holds "not found")
# and "valid" for jane@; then newbie@ is created and jane@ deleted with
# the triggers off: no invalidation reaches the caches
"$VRCPTCTL" -c "$WORK/vrcptd.cf" query newbie@example.com >/dev/null 2>&1
check "newbie@ unknown at first" "$?" 1
# vrcptd fills Redis without waiting: wait until its record is there
retry 5 sh -c "'$VRCPTCTL' -c '$WORK/vrcptd.cf' query --direct \
    newbie@example.com 2>/dev/null | grep -q 'redis: not_found'" ||
    bad "newbie@: no record in Redis"
ok
pgtmp_psql -q -v ON_ERROR_STOP=1 -c "
    ALTER TABLE virtual_users DISABLE TRIGGER USER;
    INSERT INTO virtual_users (domain_id, email, password)
    SELECT id, 'newbie@example.com', '!' FROM virtual_domains
    WHERE name = 'example.com';
    DELETE FROM virtual_users WHERE email = 'jane@example.com';
    ALTER TABLE virtual_users ENABLE TRIGGER USER;" >"$WORK/psql1" 2>&1 ||
    bad "psql: $(cat "$WORK/psql1")"
audit >"$WORK/b1" 2>&1
check "row changed behind Redis: exit" "$?" 1
grep -q '^redis newbie@example.com: pgsql:.*\.cf key "newbie@example.com": Redis has not_found .*the database says found now' \
    "$WORK/b1" || bad "no redis line: $(grep -v '^known' "$WORK/b1")"
ok
grep -q '^answer newbie@example.com: vrcptd says unknown (virtual mailbox) "550 5.1.1 User unknown in virtual mailbox table" \[from .*\]; Postfix says valid (virtual mailbox) "DUNNO"; the database says valid now .*(as Postfix' \
    "$WORK/b1" || bad "no answer line: $(grep -v '^known' "$WORK/b1")"
ok
check "row changed: only newbie disagrees (jane@ is no longer listed)" \
    "$(grep -E '^(answer|redis|param|table) ' "$WORK/b1" |
    grep -vc 'newbie@example.com')" 0
# a deleted row is not in the tables any more: name it
echo jane@example.com | audit --addresses - --unknown 0 >"$WORK/b2" 2>&1
check "row deleted behind Redis: exit" "$?" 1
grep -q '^redis jane@example.com: .* key "jane@example.com": Redis has found .*the database says not_found now' \
    "$WORK/b2" || bad "no redis line for jane: $(cat "$WORK/b2")"
ok
grep -q '^answer jane@example.com: vrcptd says valid .*; Postfix says unknown ' \
    "$WORK/b2" || bad "no answer line for jane: $(cat "$WORK/b2")"
ok
# a change with the triggers on: vrcptd hears of it, all agree again
pgtmp_psql -q -v ON_ERROR_STOP=1 -c "
    INSERT INTO virtual_users (domain_id, email, password)
    SELECT id, 'jane@example.com', '!' FROM virtual_domains
    WHERE name = 'example.com';
    UPDATE virtual_users SET password = '!!'
    WHERE email = 'newbie@example.com';" >"$WORK/psql2" 2>&1 ||
    bad "psql: $(cat "$WORK/psql2")"
retry 10 sh -c "'$VRCPTCTL' -c '$WORK/vrcptd.cf' audit --postfix-config \
    '$PFX' >'$WORK/b3' 2>&1" ||
    bad "rows back: still $(grep -E '^(answer|redis) ' "$WORK/b3")"
ok

# --- 2. a parameter main.cf has and vrcptd.cf does not -------------------
postconf -c "$PFX" -e 'unknown_virtual_mailbox_reject_code = 554'
audit >"$WORK/c1" 2>&1
check "parameter differs: exit" "$?" 1
grep -q '^param unknown_virtual_mailbox_reject_code: vrcptd.cf has "550" (default), main.cf has "554"$' \
    "$WORK/c1" || bad "no param line: $(grep '^param' "$WORK/c1")"
ok
grep -q '^answer nosuch@example.com\|^answer vrcpt-audit-[0-9a-f]*@example.com: vrcptd says unknown (virtual mailbox) "550 5.1.1 User unknown in virtual mailbox table" .*Postfix says unknown (virtual mailbox) "554 5.1.1 User unknown in virtual mailbox table"' \
    "$WORK/c1" || bad "no answer line for the code: $(grep '^answer' \
    "$WORK/c1" | head -3)"
ok
postconf -c "$PFX" -X unknown_virtual_mailbox_reject_code

# --- 3. a map that answers differently ----------------------------------
# the .cf changes under the running vrcptd (which read it at start):
# for Postfix, and for vrcptctl reading vrcptd.cf now, ghost@ exists
cf=$WORK/maps/pgsql-virtual-mailbox-maps.cf
cp "$cf" "$WORK/mailbox.cf.orig"
sed -i "s/^query *=.*/query = SELECT 1 FROM virtual_users WHERE email = '%s' UNION SELECT 1 WHERE '%s' = 'ghost@example.com'/" "$cf"
grep -q ghost "$cf" || bad "could not change $cf"
printf '# the addresses to audit\nghost@example.com\njohn@example.com\n' \
    >"$WORK/list"
audit --addresses "$WORK/list" --unknown 0 >"$WORK/d1" 2>&1
check "map differs: exit" "$?" 1
grep -q '^answer ghost@example.com: vrcptd says unknown (virtual mailbox) .*; Postfix says valid (virtual mailbox) "DUNNO"; the database says valid now through vrcptd.cf.s maps (as Postfix' \
    "$WORK/d1" || bad "no answer line: $(cat "$WORK/d1")"
ok
check "map differs: 2 addresses from the file" \
    "$(summary "$WORK/d1" | sed -nE 's/^audit: ([0-9]+) addresses.*/\1/p')" 2
# the same list from standard input, without the daemon: the database
# (through vrcptd.cf as it is now) agrees with Postfix
audit --addresses - --unknown 0 --no-daemon <"$WORK/list" >"$WORK/d2" 2>&1
check "--no-daemon: exit" "$?" 0
cp "$WORK/mailbox.cf.orig" "$cf"

# --- bounds and errors ---------------------------------------------------
audit --max 3 >"$WORK/e1" 2>&1
check "--max 3: addresses" \
    "$(summary "$WORK/e1" | sed -nE 's/^audit: ([0-9]+) addresses.*/\1/p')" 3
grep -q 'more than 3 addresses' "$WORK/e1" || bad "--max: not said"
ok
"$VRCPTCTL" -c "$WORK/vrcptd.cf" audit --max 0 >/dev/null 2>&1
check "--max 0: usage" "$?" 2
"$VRCPTCTL" -c "$WORK/vrcptd.cf" audit --bogus >/dev/null 2>&1
check "unknown option: usage" "$?" 2
audit --addresses "$WORK/nonexistent" >"$WORK/e2" 2>&1
check "missing address file: exit" "$?" 2
daemon_stop vrcptd
audit >"$WORK/e3" 2>&1
check "vrcptd away: exit" "$?" 2
grep -q -- '--no-daemon' "$WORK/e3" || bad "vrcptd away: $(cat "$WORK/e3")"
ok
audit --no-daemon >"$WORK/e4" 2>&1
check "vrcptd away, --no-daemon: exit" "$?" 0
note "took $((SECONDS - t0))s after setup"
finish
