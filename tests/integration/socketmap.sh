#!/bin/bash
# tests/integration/socketmap.sh - vrcptd's socketmap (socketmap_listen)
# through its sockets, against a real PostgreSQL: every map name found
# and not found, through unix and inet endpoints and through Postfix's
# own client (postmap -q socketmap:...); extensions, catch-alls,
# @domain -> @otherdomain, aliases to many targets, a value longer than
# the Redis and in-process tiers used to keep; a row changed and the
# next answer right (NOTIFY invalidation); PostgreSQL stopped (TEMP for
# what is not cached, stale answers within cache_stale_ttl, never a
# "not found" from a stale one); hostile netstrings (oversize, bad
# length, no comma, NUL, unknown name, empty key, pipelined requests).
# Prints "socketmap: N passed, M failed".
set -u
T0=$SECONDS
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
# shellcheck source=../lib/harness.sh
. "$ROOT/tests/lib/harness.sh"

harness_init socketmap
[ -x "$VRCPTD" ] || { bad "$VRCPTD not built"; finish; }
pg_start policy/ispmail.sql policy/ispmail-sample.sql \
    policy/triggers-ispmail.sql || finish
maps_write "$WORK" || finish
psql_q() { pgtmp_psql -At -v ON_ERROR_STOP=1 "$@"; }

# shellcheck source=../lib/socketmap.sh
. "$ROOT/tests/lib/socketmap.sh"
smap_rows || finish
smap_maps "$WORK" || finish

PORT=$(pf_free_port)
SOCK=$WORK/smap.sock
cat >"$WORK/vrcptd.cf" <<EOC
listen = unix:$WORK/policy.sock
socketmap_listen = unix:$SOCK, inet:127.0.0.1:$PORT
listen_mode = 0666
control_listen =
metrics_listen = unix:$WORK/metrics.sock
$(smap_maps_cf "$WORK")
request_timeout = 2s
workers = 2
maillog_file = $WORK/vrcptd.log
EOC
vrcptd_start "$WORK/vrcptd.cf" "$SOCK" || finish
# the LISTEN connection: the in-process tier is trusted once it is up
listening() {
	[ "$(psql_q -c "SELECT count(*) FROM pg_stat_activity
	    WHERE application_name = 'vrcptd-listen'")" -ge 1 ]
}
retry 20 listening || bad "the invalidation listener did not start"
# vrcptctl check --live asks each socketmap_listen endpoint too
"$BUILD/vrcptctl" -c "$WORK/vrcptd.cf" check --live >"$WORK/live" 2>&1
check "check --live: exit" "$?" 0
for ep in "unix:$SOCK" "inet:127.0.0.1:$PORT"; do
	grep -q "ok  *socketmap_listen $ep: vrcptd answers" "$WORK/live" ||
	    bad "check --live lacks socketmap_listen $ep: $(cat "$WORK/live")"
done
sm() { perl "$ROOT/tests/lib/smapc.pl" "$@"; }
# ask "name key" - one request on its own connection
ask() { sm "unix:$SOCK" "$1"; }

# --- every name, found and not found ------------------------------------------
# all of them on one connection, then again (from the in-process tier)
qs=()
wants=()
while IFS='|' read -r q want; do
	[ -n "$q" ] || continue
	qs+=("$q")
	wants+=("$want")
done <<'EOT'
virtual_mailbox_domains example.com|OK 1
virtual_mailbox_domains EXAMPLE.COM|OK 1
virtual_mailbox_domains nosuch.test|NOTFOUND 
virtual_mailbox_domains sub.example.com|NOTFOUND 
virtual_mailbox_maps john@example.com|OK example.com/john/
virtual_mailbox_maps john+foo@example.com|OK example.com/john/
virtual_mailbox_maps John+Foo@Example.COM|OK example.com/john/
virtual_mailbox_maps nosuch@example.com|NOTFOUND 
virtual_mailbox_maps bob@example.org|OK example.org/bob/
virtual_alias_maps postmaster@example.com|OK john@example.com
virtual_alias_maps sales+x@example.com|OK jane+x@example.com
virtual_alias_maps anyone@example.org|OK bob@example.org
virtual_alias_maps anyone+x@example.org|OK bob@example.org
virtual_alias_maps bob@example.org|OK bob@example.org
virtual_alias_maps john@example.net|OK john@example.com
virtual_alias_maps John+Z@example.net|OK John+Z@example.com
virtual_alias_maps redirect+q@example.com|OK redirect+q@example.org
virtual_alias_maps chain@example.com|OK sales@example.com
virtual_alias_maps john@example.com|OK john@example.com
virtual_alias_maps john+x@example.com|OK john+x@example.com
virtual_alias_maps nosuch@example.com|NOTFOUND 
virtual_alias_maps empty@example.com|NOTFOUND 
virtual_alias_maps aliasonly.test|OK aliasonly.test
virtual_alias_maps example.com|NOTFOUND 
virtual_alias_domains aliasonly.test|OK aliasonly.test
virtual_alias_domains example.com|NOTFOUND 
virtual_alias_maps a1@aliasonly.test|OK john@example.com
relay_domains relay.test|OK 1
relay_domains example.com|NOTFOUND 
relay_domains sub.relay.test|OK 1
relay_domains xrelay.test|NOTFOUND 
virtual_mailbox_domains sub.example.org|NOTFOUND 
relay_recipient_maps r1@relay.test|OK 1
relay_recipient_maps r1+x@relay.test|OK 1
relay_recipient_maps r2@relay.test|NOTFOUND 
EOT
for round in "" " (cached)"; do
	mapfile -t got < <(sm "unix:$SOCK" "${qs[@]}")
	for i in "${!qs[@]}"; do
		check "${qs[$i]}$round" "${got[$i]:-(none)}" "${wants[$i]}"
	done
done

# many targets: whole, from the database and again from the cache
big=$(ask "virtual_alias_maps big@example.com")
n=$(printf '%s' "$big" | tr ',' '\n' | grep -c '^.*member[0-9]*@example.org$')
check "400 targets" "$n" 400
check "400 targets (cached)" "$(ask "virtual_alias_maps big@example.com")" "$big"
bigx=$(ask "virtual_alias_maps big+e@example.com")
check "400 targets, extension on each" \
    "$(printf '%s' "$bigx" | tr ',' '\n' | grep -c 'member[0-9]*+e@example.org$')" 400

# the inet endpoint, and several requests on one connection
check "inet" "$(sm "inet:127.0.0.1:$PORT" \
    "virtual_mailbox_maps jane@example.com" \
    "virtual_alias_maps abuse@example.com" "relay_domains no.test" |
    tr '\n' '|')" "OK example.com/jane/|OK john@example.com|NOTFOUND |"

# Postfix's own client (dict_sockmap.c)
mkdir -p "$WORK/pf" && : >"$WORK/pf/main.cf"
pq() { postmap -c "$WORK/pf" -q "$1" "socketmap:unix:$SOCK:$2"; }
check "postmap -q mailbox" "$(pq john+x@example.com virtual_mailbox_maps)" \
    "example.com/john/"
# two rows: both, in the order PostgreSQL gives them (as for Postfix)
check "alias to two" "$(ask "virtual_alias_maps team+t@example.com" |
    tr ', ' '\n\n' | sort | tr '\n' ' ')" "OK jane+t@example.com john+t@example.com "
check "postmap -q alias" "$(pq team@example.com virtual_alias_maps |
    tr ',' '\n' | sort | tr '\n' ' ')" "jane@example.com john@example.com "
pq nosuch@example.com virtual_alias_maps >/dev/null; rc=$?
check "postmap -q not found (exit status)" "$rc" 1
out=$(pq x@example.com no_such_map 2>&1)
check "postmap -q unknown map name: an error" "$(printf '%s' "$out" |
    grep -c 'unknown map name')" 1

# --- a change, answered right at once (NOTIFY) --------------------------------
check "before" "$(ask "virtual_mailbox_maps new@example.com")" "NOTFOUND "
psql_q -c "INSERT INTO virtual_users (domain_id, email, password)
    SELECT id, 'new@example.com', '!' FROM virtual_domains
    WHERE name = 'example.com'" >/dev/null
# (the NOTIFY is asynchronous: on a loaded machine the next request may
# come first; a few seconds at most, never a timing assertion)
# eventually WHAT QUERY WANT - QUERY answers WANT within a few seconds
eventually() {
	local what=$1 q=$2 want=$3
	answers() { [ "$(ask "$q")" = "$want" ]; }
	if retry 10 answers; then ok; else
		bad "$what: got \"$(ask "$q")\", want \"$want\""
	fi
}
eventually created "virtual_mailbox_maps new@example.com" \
    "OK example.com/new/"
psql_q -c "INSERT INTO virtual_aliases (domain_id, source, destination)
    SELECT id, 'new@example.com', 'jane@example.com' FROM virtual_domains
    WHERE name = 'example.com'" >/dev/null
eventually aliased "virtual_alias_maps new+z@example.com" \
    "OK jane+z@example.com"
psql_q -c "DELETE FROM virtual_aliases WHERE source = 'new@example.com'" \
    >/dev/null
eventually "alias gone" "virtual_alias_maps new+z@example.com" \
    "OK new+z@example.com"

# --- hostile input ---------------------------------------------------------------
# ns TEXT... - each TEXT (printf escapes) as a netstring
ns() {
	local t
	for t in "$@"; do
		perl -e 'my $b = $ARGV[0]; $b =~ s/\\x([0-9a-f]{2})/chr(hex($1))/ge;
		    print length($b), ":", $b, ",";' "$t"
	done
}
# raw BYTES - sent as they are; the replies and "EOF", '|'-separated
raw() { sm --raw "unix:$SOCK" | tr '\n' '|'; }
check "oversize length: dropped" "$(printf '10001:' | raw)" "EOF|"
check "huge length: dropped" "$(printf '99999999999999999999:x,' | raw)" "EOF|"
check "not a length: dropped" "$(printf 'GET / HTTP/1.0\r\n\r\n' | raw)" \
    "EOF|"
check "no comma: dropped" "$(printf '3:a b;3:a b,' | raw)" "EOF|"
check "NUL byte: PERM, then on" "$(ns 'a b\x00cde' \
    'virtual_mailbox_maps john@example.com' | raw)" \
    "PERM NUL byte in request|OK example.com/john/|EOF|"
check "no space: PERM" "$(ns abc | raw)" 'PERM request is not "name key"|EOF|'
check "empty netstring: PERM" "$(printf '0:,' | raw)" \
    'PERM request is not "name key"|EOF|'
check "unknown name: PERM" "$(ns 'no_such_map x' | raw)" \
    "PERM unknown map name|EOF|"
check "empty key" "$(ns 'virtual_alias_maps ' | raw)" "NOTFOUND |EOF|"
check "CR in key" "$(ns 'virtual_alias_maps a\x0db@c' | raw)" \
    "NOTFOUND |EOF|"
long=$(head -c 9970 /dev/zero | tr '\0' 'k')
check "longest key" "$(ns "virtual_alias_maps $long@x.test" | raw)" \
    "NOTFOUND |EOF|"
check "pipelined" "$(ns 'virtual_mailbox_domains example.com' \
    'virtual_mailbox_domains nosuch.test' 'relay_domains relay.test' |
    raw)" "OK 1|NOTFOUND |OK 1|EOF|"
check "partial then EOF" "$(printf '35:virtual_mailbox_domains exa' | raw)" \
    "EOF|"
# after all that, a well-behaved client is answered
check "still answering" "$(ask "virtual_mailbox_domains example.com")" "OK 1"

# --- PostgreSQL down -------------------------------------------------------------
pgtmp_down
# until vrcptd notices (its LISTEN connection drops), a fresh cached
# answer is still a right one; from then on the cache is not trusted
untrusted() {
	[ "$(metric_value "unix:$WORK/metrics.sock" vrcpt_cache_trusted)" = 0 ]
}
retry 20 untrusted || bad "the cache still trusted with PostgreSQL down"
check "not cached: TEMP" "$(ask "virtual_mailbox_maps never@example.com" |
    cut -c1-5)" "TEMP "
check "cached found: stale but found" \
    "$(ask "virtual_mailbox_maps john@example.com")" "OK example.com/john/"
check "cached not found: never a stale NOTFOUND" \
    "$(ask "virtual_mailbox_maps nosuch@example.com" | cut -c1-5)" "TEMP "
pgtmp_up || { bad "PostgreSQL did not restart"; finish; }
retry 20 sh -c "perl '$ROOT/tests/lib/smapc.pl' 'unix:$SOCK' \
    'virtual_mailbox_maps never@example.com' | grep -q '^NOTFOUND'"
# each worker has its own pool: the other one may still be reconnecting,
# so TEMP is fine for a moment; any other answer is wrong at once
for ((i = 0; i < 50; i++)); do
	got=$(ask "virtual_mailbox_maps never@example.com")
	[ "${got%% *}" = TEMP ] || break
	sleep 0.1
done
check "after the outage" "$got" "NOTFOUND "
grep -q 'vrcptd.*panic\|fatal' "$WORK/vrcptd.log" &&
    bad "vrcptd logged a panic or fatal: $(grep -m1 'panic\|fatal' "$WORK/vrcptd.log")"
note "took $((SECONDS - T0))s"
finish
