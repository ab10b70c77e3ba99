#!/bin/bash
# maps.sh - table files beside pgsql: (hash:, btree:, lmdb:, cdb:,
# texthash:, regexp:, pcre:), against Postfix itself:
#   1. every table is built by postmap from one source file (regexp and
#      pcre tables are written as such) and a corpus of keys is looked up
#      with "postmap -q -" and with vrcpt's reader (tests/maplookup, the
#      code vrcptd uses): the same keys found, with the same values;
#   2. a native Postfix and a Postfix asking vrcptd (check_policy_service)
#      with the same mixed lists (virtual_alias_maps = hash:..., regexp:,
#      pgsql:..., virtual_mailbox_maps = lmdb:..., pcre:, pgsql:...) give
#      the same reply to every RCPT of a corpus;
#   3. postmap rebuilding a table changes vrcptd's answer without SIGHUP,
#      and the decision cache never serves the old answer.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
. "$ROOT/tests/lib/harness.sh"

harness_init maps
[ -x "$VRCPTD" ] || { bad "$VRCPTD not built"; finish; }
LOOKUP=$BUILD/tests/maplookup
if [ ! -x "$LOOKUP" ]; then
	make -C "$ROOT" --no-print-directory -s BUILD="$BUILD" \
	    "$BUILD/tests/maplookup" >"$WORK/make.out" 2>&1 ||
	    { cat "$WORK/make.out" >&2; bad "cannot build $LOOKUP"; finish; }
fi
T=$WORK/t
mkdir -p "$T/pf" && chmod 755 "$T" "$T/pf"
# postmap reads main.cf; Debian's compatibility level (smtputf8 on)
printf 'compatibility_level = 3.6\n' >"$T/pf/main.cf"
pm() { postmap -c "$T/pf" "$@"; }
for t in lmdb cdb pcre; do
	postconf -c "$T/pf" -m 2>/dev/null | grep -qx "$t" ||
	    skip "Postfix has no $t: tables (apt-get install postfix-$t)"
done

# ---------------------------------------------------------------- 1.
cat >"$T/src" <<'EOF'
# aliases and mailboxes, as an admin writes them
john@files.example	john
Jane@Files.Example	jane
"a b"@files.example	quoted
o'brien@files.example	obrien
user+tag@files.example	tagged
@catch.example	catchall
files.example	virtual
catch.example	virtual
jürgen@files.example	utf8
Straße@files.example	sharp
ΣΟΦΟΣ@files.example	sigma
multi@files.example	one,
	two
dup@files.example	first
EOF
for t in hash btree lmdb cdb; do
	cp "$T/src" "$T/$t"
	pm "$t:$T/$t" 2>>"$WORK/postmap.err" || bad "postmap $t: $(cat "$WORK/postmap.err")"
done
cp "$T/src" "$T/texthash"
cat >"$T/regexp" <<'EOF'
# regexp: the full address only
/^re-(.*)@files\.example$/	$1
/^(x*)empty@files\.example$/	$1
IF /@files\.example$/
/^in-if@/	inside
ENDIF
/^ANY@regexp\.example$/i	case
!/@/	no-at
/^a+@x\.example$/x	plus
/^bad(@x\.example$/	broken
EOF
cat >"$T/pcre" <<'EOF'
/^pc-(.+)\+(.*)@files\.example$/	$1-$2
/^(?:sales|info)@files\.example$/	role
/^ungreedy-(a+)@x$/U	$1
/^dot.all@x$/s	nodotall
/^anch@x/A	anchored
IF !/^not-/
/^cond@/	cond
ENDIF
EOF
cat >"$WORK/keys" <<'EOF'
john@files.example
jane@files.example
JANE@FILES.EXAMPLE
"a b"@files.example
a b@files.example
o'brien@files.example
user+tag@files.example
user@files.example
@catch.example
anyone@catch.example
files.example
catch.example
jürgen@files.example
JÜRGEN@files.example
strasse@files.example
STRASSE@files.example
straße@files.example
σοφος@files.example
ΣΟΦΟΣ@files.example
multi@files.example
dup@files.example
nobody@files.example
re-bob@files.example
re-@files.example
empty@files.example
xempty@files.example
in-if@files.example
in-if@other.example
any@regexp.example
noatsign
aaa@x.example
a+@x.example
pc-joe+foo@files.example
pc-joe+@files.example
sales@files.example
info@files.example
ungreedy-aaa@x
dot
all@x
anch@x
xanch@x
cond@files.example
not-cond@files.example
EOF
nkeys=$(wc -l <"$WORK/keys")
same=0 differ=0
for t in hash btree lmdb cdb texthash regexp pcre; do
	pm -q - "$t:$T/$t" <"$WORK/keys" >"$WORK/q.postmap.$t" 2>"$WORK/q.postmap.$t.err"
	"$LOOKUP" "$t:$T/$t" <"$WORK/keys" >"$WORK/q.vrcpt.$t" 2>"$WORK/q.vrcpt.$t.err" ||
	    bad "maplookup $t: $(cat "$WORK/q.vrcpt.$t.err")"
	# every key: found with the same value, or not found by both
	while IFS= read -r k; do
		a=$(awk -F'\t' -v k="$k" '$1 == k { print $2; exit }' "$WORK/q.postmap.$t")
		b=$(awk -F'\t' -v k="$k" '$1 == k { print $2; exit }' "$WORK/q.vrcpt.$t")
		if [ "$a" = "$b" ]; then
			same=$((same + 1)); ok
		else
			differ=$((differ + 1))
			bad "$t: \"$k\": postmap -q \"$a\", vrcpt \"$b\""
		fi
	done <"$WORK/keys"
done
note "postmap -q: $((nkeys * 7)) lookups ($nkeys keys x 7 table types): $same identical, $differ different"
# the found keys are not all the same: the corpus exercises both sides
# (UTF-8 keys: Postfix folds them as Unicode, straße = STRASSE = strasse)
check "hash: keys found" "$(wc -l <"$WORK/q.vrcpt.hash")" 18
check "regexp: keys found" "$(wc -l <"$WORK/q.vrcpt.regexp")" 10
check "pcre: keys found" "$(wc -l <"$WORK/q.vrcpt.pcre")" 7
# the regexp rule that does not compile is skipped with Postfix's words
check "regexp: broken rule skipped with a warning" \
    "$(grep -c "regexp map $T/regexp, line 10:" "$WORK/q.vrcpt.regexp.err")" 1

# ---------------------------------------------------------------- 2.
pg_start policy/ispmail.sql policy/ispmail-sample.sql || finish
maps_write "$WORK/maps" || finish
M=$WORK/maps
# virtual_mailbox_maps and virtual_alias_maps mix file tables and pgsql:
printf 'files.example x\ncatch.example x\n' >"$T/domains"
pm "hash:$T/domains"
cat >"$T/aliases" <<'EOF'
alias@files.example john@example.com
@catch.example john@example.com
sales@example.com overrides-nothing
EOF
pm "hash:$T/aliases"
printf 'mbox@files.example x\nmbox2@files.example x\n"q u"@files.example x\n' >"$T/mbox"
pm "lmdb:$T/mbox"
printf 'cdb@files.example x\n' >"$T/mboxc" && pm "cdb:$T/mboxc"
printf 'txt@files.example x\n' >"$T/mbox.txt"
# without "!/@/": that rule makes every domain a virtual alias domain
# (virtual_alias_domains = $virtual_alias_maps), in Postfix as here
grep -v '^!/@/' "$T/regexp" >"$T/aliases.re"
DOMAINS="pgsql:$M/pgsql-virtual-mailbox-domains.cf, hash:$T/domains"
ALIASES="hash:$T/aliases, regexp:$T/aliases.re, pgsql:$M/pgsql-virtual-alias-maps.cf, pgsql:$M/pgsql-email2email.cf"
MAILBOXES="lmdb:$T/mbox, pcre:$T/pcre, pgsql:$M/pgsql-virtual-mailbox-maps.cf, cdb:$T/mboxc, texthash:$T/mbox.txt"

{
	echo "listen = unix:$WORK/policy.sock"
	tables_cf "$DOMAINS" "$MAILBOXES" "$ALIASES"
	echo "maillog_file = $WORK/vrcptd.log"
} >"$WORK/vrcptd.cf"
vrcptd_start "$WORK/vrcptd.cf" "$WORK/policy.sock" || finish

# the RCPT corpus: file tables, pgsql, both, neither; the empty regexp
# result is left out (native: "451 4.3.5 Server configuration error";
# a policy reply adds "<rcpt>: Recipient address rejected: ", below)
cat >"$WORK/rcpts" <<'EOF'
alias@files.example
ALIAS+ext@files.example
anyone@catch.example
re-bob@files.example
Re-Bob+x@files.example
xempty@files.example
in-if@files.example
mbox@files.example
mbox+tag@files.example
MBOX2@FILES.EXAMPLE
"q u"@files.example
txt@files.example
cdb@files.example
pc-joe+foo@files.example
pc-joe@files.example
sales@files.example
info@files.example
cond@files.example
not-cond@files.example
nobody@files.example
john@example.com
john+x@example.com
sales@example.com
nobody@example.com
bob@example.org
anything@example.org
someone@example.net
nobody@elsewhere.example
EOF
if ! pf_available 2>/dev/null; then
	note "Postfix comparison skipped (needs root and postfix-pgsql)"
else
	mapfile -t rcpts <"$WORK/rcpts"
	for flavour in native policy; do
		d=$WORK/pf-$flavour
		port=$(pf_free_port)
		pf_new "$d" "$flavour" "$port" "$M" "unix:$WORK/policy.sock" ||
		    { bad "pf_new $flavour"; finish; }
		postconf -c "$d/etc" -e "virtual_mailbox_domains = $DOMAINS" \
		    "virtual_mailbox_maps = $MAILBOXES" \
		    "virtual_alias_maps = $ALIASES"
		harness_on_exit "pf_stop '$d' >/dev/null 2>&1"
		pf_start "$d" || { bad "pf_start $flavour"; finish; }
		pf_smtp "$port" -s "${rcpts[@]}" >"$WORK/$flavour.replies"
	done
	same=0 differ=0 accepted=0 i=0
	for r in "${rcpts[@]}"; do
		i=$((i + 1))
		n=$(sed -n "${i}p" "$WORK/native.replies")
		p=$(sed -n "${i}p" "$WORK/policy.replies")
		case $n in 250*) accepted=$((accepted + 1)) ;; esac
		if [ "$n" = "$p" ]; then
			same=$((same + 1)); ok
		else
			differ=$((differ + 1))
			bad "$r: policy \"$p\" != native \"$n\""
		fi
	done
	note "native Postfix: ${#rcpts[@]} RCPTs ($accepted accepted natively): $same identical, $differ different"
	check_ge "the corpus has accepts" "$accepted" 15
	check_ge "the corpus has rejects" "$(( ${#rcpts[@]} - accepted ))" 5
	# the one case left out above: an empty result is a configuration
	# error (maps_find(): DICT_ERR_CONFIG), the same code and DSN, and
	# Postfix's two warnings in vrcptd's log
	n=$(pf_smtp "$(cat "$WORK/pf-native/port")" -s empty@files.example)
	check "native: an empty regexp result" "$n" \
	    "451 4.3.5 Server configuration error"
	p=$(pf_smtp "$(cat "$WORK/pf-policy/port")" -s empty@files.example)
	check "policy: an empty regexp result" "$p" \
	    "451 4.3.5 <empty@files.example>: Recipient address rejected: Server configuration error"
	p=$(pc "unix:$WORK/policy.sock" ask recipient=empty@files.example)
	check "vrcptd: an empty regexp result fails the lookup" "$p" \
	    "451 4.3.5 Server configuration error"
	# (asked twice: at most one pair a second, the count in the second)
	w1=$(grep -c 'warning: virtual_alias_maps lookup of empty@files.example returns an empty string result' "$WORK/vrcptd.log")
	w2=$(grep -c 'warning: virtual_alias_maps should return NO RESULT in case of NOT FOUND' "$WORK/vrcptd.log")
	check_ge "vrcptd warns as maps_find() does" "$w1" 1
	check "each warning with its second line" "$w2" "$w1"
fi

# ---------------------------------------------------------------- 3.
UNK="550 5.1.1 User unknown in virtual mailbox table"
ask() { pc "unix:$WORK/policy.sock" ask recipient="$1"; }
answer_is() { [ "$(ask "$1")" = "$2" ]; }
check "before the rebuild: new unknown" "$(ask new@files.example)" "$UNK"
check "asked twice (from the decision cache)" "$(ask new@files.example)" "$UNK"
check "before the rebuild: gone valid" "$(ask mbox2@files.example)" DUNNO
printf 'mbox@files.example x\nnew@files.example x\n' >"$T/mbox"
pm "lmdb:$T/mbox"
if retry 10 answer_is new@files.example DUNNO; then ok; else
	bad "postmap lmdb: new@files.example still $(ask new@files.example)"
fi
check "after the rebuild: gone unknown" "$(ask mbox2@files.example)" "$UNK"
check "reloaded by itself, no SIGHUP" \
    "$(grep -c "table $T/mbox.lmdb has changed -- reloading" "$WORK/vrcptd.log")" 1
# a regexp file edited in place, and one that does not load
printf '/^edited@files\\.example$/ x\n' >>"$T/aliases.re"
if retry 10 answer_is edited@files.example DUNNO; then ok; else
	bad "edited regexp: $(ask edited@files.example)"
fi
printf 'TXT@files.example 2\n' >>"$T/mbox.txt"
retry 10 grep -q 'duplicate entry' "$WORK/vrcptd.log" ||
    bad "texthash duplicate not reported"
sleep 2.5
check "a table that fails to load is tried once per change" \
    "$(grep -c 'duplicate entry' "$WORK/vrcptd.log")" 1
check "it names file and line" "$(grep -c "$T/mbox.txt, line 2: duplicate entry: \"txt@files.example\"" "$WORK/vrcptd.log")" 1
check "and the previous tables still answer" "$(ask edited@files.example)" DUNNO
# a table's warnings are warnings, naming the line that names the table
# (Postfix: "warning: regexp map NAME, line N: ...")
check_ge "a regexp table's warning is logged as one" \
    "$(grep -c "$WORK/vrcptd.cf:[0-9]*: warning: regexp map $T/aliases.re, line [0-9]*: " "$WORK/vrcptd.log")" 1
check "still running" "$(kill -0 "$VRCPTD_PID" 2>/dev/null && echo yes)" yes
finish
