# tests/lib/postfix.sh - a throwaway Postfix (the Debian 12 package, 3.7)
# in a temporary directory, for the end-to-end tests. Source it from bash.
#
# Layout of an instance directory DIR (see testing-with-postfix.md):
#   DIR/etc/main.cf, DIR/etc/master.cf   config_directory
#   DIR/queue, DIR/data                   queue_directory, data_directory
#   DIR/maillog                           maillog_file (via postlogd)
# Nothing is delivered: master.cf has smtpd and the services smtpd needs
# (cleanup, rewrite, anvil, qmgr, bounce, postlog) but no delivery agent,
# and the delivery transports are listed in defer_transports. Only the
# RCPT stage is tested; never send DATA to it.
#
# Functions (all return non-zero with a message on stderr on trouble):
#   pf_available                 Postfix and postfix-pgsql are installed and
#                                we are root (postfix start needs root)
#   pf_free_port                 print a free TCP port on 127.0.0.1
#   pf_write_cf SRC DST          copy a pgsql: .cf with hosts/user/password/
#                                dbname set from PGHOST/PGPORT/PGUSER/
#                                PGDATABASE (the test PostgreSQL)
#   pf_new DIR FLAVOUR PORT MAPSDIR [ENDPOINT]
#                                write an instance. FLAVOUR "native": Postfix
#                                checks recipients itself; "policy":
#                                smtpd_reject_unlisted_recipient = no and
#                                check_policy_service ENDPOINT (unix:/abs/path
#                                or inet:127.0.0.1:port); "milter":
#                                smtpd_reject_unlisted_recipient = no and
#                                smtpd_milters = ENDPOINT (as
#                                deploy/postfix-milter.cf). MAPSDIR holds the
#                                four pgsql-*.cf files (see policy/).
#   pf_set DIR 'name = value'... change main.cf (postconf -e); before
#                                pf_start, or pf_reload after
#   pf_start DIR / pf_stop DIR / pf_reload DIR
#                                pf_start waits for the banner of this
#                                instance (it carries a random token), so
#                                that a port another test took meanwhile
#                                is noticed
#   pf_smtp PORT [-h HELO] [-f FROM] [-u] [-s] RCPT...
#                                one SMTP session: EHLO, MAIL FROM, then one
#                                RCPT TO:<RCPT> per argument; prints each
#                                RCPT reply exactly as received (without
#                                CRLF; a multi-line reply on several lines).
#                                -u: MAIL FROM ... SMTPUTF8. -s: RSET and a
#                                new MAIL FROM before every RCPT after the
#                                first, so that every reject is logged as
#                                NOQUEUE. A reply that never came prints
#                                "(no reply)".
#   pf_smtp_cases PORT [-h HELO] [-e] [-t]
#                                many cases, read from stdin, one per line:
#                                "MAIL-ARG<TAB>RCPT-ARG<TAB>UTF8[<TAB>N]"
#                                (bytes as sent after "MAIL FROM:" and
#                                "RCPT TO:", ESMTP parameters included;
#                                UTF8 1 appends " SMTPUTF8" to MAIL FROM;
#                                N, if given, is the case number used in
#                                the HELO name of -e). Prints one line
#                                per case: the RCPT reply (lines of a
#                                multi-line reply joined with "\n"), or
#                                "MAIL: reply" when MAIL FROM failed, or
#                                "(no reply)". One connection; before every
#                                case after the first, RSET. -e: EHLO again
#                                before every case instead of RSET, with
#                                HELO "c<N>.<HELO>" (N = case number from
#                                1), so that every log line names its case.
#                                -t: one transaction: MAIL FROM of the first
#                                case once, then every RCPT (a reject after
#                                an accepted RCPT is logged with the queue
#                                id). A dropped connection is reopened.
#                                -a USER:PASSWORD: authenticate (AUTH
#                                PLAIN, after an EHLO with HELO) on every
#                                connection, before the first case; a
#                                failed AUTH is fatal.
#   pf_rejects DIR               the "reject:" lines of the maillog, without
#                                timestamp, host, ident and pid, queue id
#                                kept (NOQUEUE unless a RCPT was accepted)
#
# Security: runs Postfix as root with a private config; the instance
# directory must be readable by the mail_owner "postfix" (pf_new makes
# it so). It binds 127.0.0.1 only.

PF_POSTFIX=${PF_POSTFIX:-/usr/sbin/postfix}
PF_MAIL_OWNER=postfix
PF_START_TIMEOUT=30	# seconds to wait for smtpd to answer
PF_STOP_TIMEOUT=30	# seconds to wait for master to exit

pf_available() {
	if [ "$(id -u)" != 0 ]; then
		echo "postfix.sh: starting Postfix needs root" >&2
		return 1
	fi
	if [ ! -x "$PF_POSTFIX" ] || [ ! -e /usr/lib/postfix/postfix-pgsql.so ]
	then
		echo "postfix.sh: postfix and postfix-pgsql are not installed" \
		    "(scripts/deps.sh)" >&2
		return 1
	fi
	if ! getent passwd "$PF_MAIL_OWNER" >/dev/null; then
		echo "postfix.sh: no user $PF_MAIL_OWNER" >&2
		return 1
	fi
	return 0
}

pf_free_port() {
	perl -MIO::Socket::INET -e '
		my $s = IO::Socket::INET->new(Listen => 1,
		    LocalAddr => "127.0.0.1", LocalPort => 0,
		    Proto => "tcp", ReuseAddr => 1) or die "socket: $!\n";
		print $s->sockport, "\n";'
}

# pf_write_cf SRC DST: the map file with the connection lines replaced.
# A unix socket directory is written as "unix:/dir"; Postfix then passes
# no port to libpq, so the port travels in PGPORT (import_environment,
# see pf_new).
pf_write_cf() {
	local src=$1 dst=$2 hosts
	case ${PGHOST:-} in
	/*)	hosts="unix:$PGHOST" ;;
	"")	echo "pf_write_cf: PGHOST is not set" >&2; return 1 ;;
	*)	hosts="inet:$PGHOST:${PGPORT:-5432}" ;;
	esac
	awk -v hosts="$hosts" -v user="${PGUSER:-}" \
	    -v dbname="${PGDATABASE:-}" '
		/^[ \t]*hosts[ \t]*=/	{ print "hosts = " hosts; next }
		/^[ \t]*user[ \t]*=/	{ if (user != "")
					      print "user = " user
					  next }
		/^[ \t]*password[ \t]*=/ { next }
		/^[ \t]*dbname[ \t]*=/	{ print "dbname = " dbname; next }
					{ print }
	' "$src" >"$dst" || return 1
	chmod 644 "$dst"
}

# _pf_readable FILE: can the mail owner read it (every directory above
# must be searchable)?
_pf_readable() {
	runuser -u "$PF_MAIL_OWNER" -- test -r "$1" 2>/dev/null
}

pf_new() {
	local dir=$1 flavour=$2 port=$3 maps=$4 policy=${5:-} f restr token
	case $flavour in
	native)	restr="reject_unauth_destination" ;;
	policy)	[ -n "$policy" ] || {
			echo "pf_new: policy flavour needs an endpoint" >&2
			return 1
		}
		restr="reject_unauth_destination, check_policy_service $policy"
		;;
	milter)	[ -n "$policy" ] || {
			echo "pf_new: milter flavour needs an endpoint" >&2
			return 1
		}
		restr="reject_unauth_destination"
		;;
	*)	echo "pf_new: unknown flavour '$flavour'" >&2; return 1 ;;
	esac
	# in the banner: pf_start must see this instance answer on its
	# port, not another test's that took the port meanwhile
	token=vrcpt-test-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
	mkdir -p "$dir/etc" "$dir/queue" "$dir/data" || return 1
	chmod 755 "$dir" "$dir/etc"
	chown "$PF_MAIL_OWNER" "$dir/data"
	for f in pgsql-virtual-mailbox-domains.cf \
	    pgsql-virtual-mailbox-maps.cf pgsql-virtual-alias-maps.cf \
	    pgsql-email2email.cf; do
		if [ ! -f "$maps/$f" ]; then
			echo "pf_new: missing $maps/$f" >&2
			return 1
		fi
		if ! _pf_readable "$maps/$f"; then
			echo "pf_new: $PF_MAIL_OWNER cannot read $maps/$f" \
			    "(chmod a+x the directories above it)" >&2
			return 1
		fi
	done

	cat >"$dir/etc/main.cf" <<EOF
# written by tests/lib/postfix.sh ($flavour)
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = $PF_MAIL_OWNER
setgid_group = postdrop
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C
    POSTLOG_SERVICE POSTLOG_HOSTNAME PGPORT=${PGPORT:-5432}

myhostname = mx.vrcpt.test
mydomain = vrcpt.test
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks =
biff = no

smtpd_banner = \$myhostname ESMTP $token
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtpd_soft_error_limit = 10000
smtpd_hard_error_limit = 10000
smtpd_error_sleep_time = 0
smtpd_junk_command_limit = 10000
in_flow_delay = 0
defer_transports = smtp relay local virtual lmtp

virtual_mailbox_domains = pgsql:$maps/pgsql-virtual-mailbox-domains.cf
virtual_mailbox_maps = pgsql:$maps/pgsql-virtual-mailbox-maps.cf
virtual_alias_maps = pgsql:$maps/pgsql-virtual-alias-maps.cf,
    pgsql:$maps/pgsql-email2email.cf
recipient_delimiter = +

smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = $restr
EOF
	case $flavour in
	policy)	echo "smtpd_reject_unlisted_recipient = no" \
		    >>"$dir/etc/main.cf" ;;
	milter)	cat >>"$dir/etc/main.cf" <<EOF
# deploy/postfix-milter.cf
smtpd_reject_unlisted_recipient = no
smtpd_milters = $policy
milter_protocol = 6
milter_default_action = tempfail
EOF
		;;
	esac

	# chroot off (5th column "n") so that the daemons see the temp files
	cat >"$dir/etc/master.cf" <<EOF
# written by tests/lib/postfix.sh: smtpd and what it needs, no delivery
127.0.0.1:$port inet n -     n     -     -     smtpd
cleanup   unix  n     -     n     -     0     cleanup
qmgr      unix  n     -     n     300   1     qmgr
rewrite   unix  -     -     n     -     -     trivial-rewrite
bounce    unix  -     -     n     -     0     bounce
defer     unix  -     -     n     -     0     bounce
trace     unix  -     -     n     -     0     bounce
anvil     unix  -     -     n     -     1     anvil
postlog   unix-dgram n -    n     -     1     postlogd
EOF
	: >"$dir/maillog"
	echo "$port" >"$dir/port"
	echo "$token" >"$dir/token"
}

# pf_set DIR 'name = value'...: edit main.cf the way an admin would
pf_set() {
	local dir=$1
	shift
	postconf -c "$dir/etc" -e "$@"
}

_pf_master_pid() {
	local pidf="$1/queue/pid/master.pid" pid
	[ -r "$pidf" ] || return 1
	pid=$(tr -cd '0-9' <"$pidf")
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# pf_start DIR: start and wait until smtpd sends its banner (with this
# instance's token)
pf_start() {
	local dir=$1 port token i
	port=$(cat "$dir/port") || return 1
	token=$(cat "$dir/token") || return 1
	if ! "$PF_POSTFIX" -c "$dir/etc" start >"$dir/start.log" 2>&1; then
		# postfix(1) writes to stderr only when it is a terminal
		echo "pf_start: postfix start failed:" >&2
		script -qc "$PF_POSTFIX -c $dir/etc check" /dev/null >&2
		tail -n 20 "$dir/maillog" >&2
		return 1
	fi
	for ((i = 0; i < PF_START_TIMEOUT * 10; i++)); do
		if perl -MIO::Socket::INET -e '
			my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1",
			    PeerPort => $ARGV[0], Timeout => 2) or exit 1;
			$s->timeout(5);
			my $l = <$s>; print $s "QUIT\r\n";
			exit(defined $l && $l =~ /^220 .* \Q$ARGV[1]\E\r?$/ ?
			    0 : 1);' "$port" "$token"
		then
			return 0
		fi
		sleep 0.1
	done
	echo "pf_start: smtpd on 127.0.0.1:$port did not answer (or not" \
	    "with this instance's banner: port taken?)" >&2
	tail -n 20 "$dir/maillog" >&2
	return 1
}

# pf_stop DIR: stop exactly this instance; make sure its master is gone
pf_stop() {
	local dir=$1 pid i
	pid=$(_pf_master_pid "$dir") || return 0
	"$PF_POSTFIX" -c "$dir/etc" stop >>"$dir/start.log" 2>&1
	for ((i = 0; i < PF_STOP_TIMEOUT * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	echo "pf_stop: master $pid did not exit; killing it" >&2
	kill -KILL "$pid" 2>/dev/null
	return 1
}

# pf_reload DIR: drop cached lookups in smtpd and trivial-rewrite
pf_reload() {
	"$PF_POSTFIX" -c "$1/etc" reload >>"$1/start.log" 2>&1
}

pf_smtp() {
	local port=$1 helo=client.vrcpt.test from=sender@sender.test
	local utf8=0 split=0 opt
	shift
	OPTIND=1
	while getopts h:f:us opt; do
		case $opt in
		h)	helo=$OPTARG ;;
		f)	from=$OPTARG ;;
		u)	utf8=1 ;;
		s)	split=1 ;;
		*)	return 2 ;;
		esac
	done
	shift $((OPTIND - 1))
	perl -e '
use strict;
use warnings;
use IO::Socket::INET;

my ($port, $helo, $from, $utf8, $split, @rcpts) = @ARGV;
my $TIMEOUT = 30;	# seconds per reply
$SIG{PIPE} = "IGNORE";	# a closed connection shows as "(no reply)"
my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port,
    Proto => "tcp", Timeout => $TIMEOUT)
	or die "pf_smtp: connect 127.0.0.1:$port: $!\n";
binmode $s;

# read one reply: all lines up to the one with "NNN " (bytes as received)
sub reply {
	my @lines;
	local $SIG{ALRM} = sub { die "timeout\n" };
	alarm $TIMEOUT;
	while (defined(my $l = <$s>)) {
		$l =~ s/\r?\n\z//;
		push @lines, $l;
		last unless $l =~ /^\d{3}-/;
	}
	alarm 0;
	return @lines;
}
sub cmd {
	print $s $_[0], "\r\n";
	return reply();
}
sub expect {
	my ($what, @r) = @_;
	die "pf_smtp: $what: " . (@r ? join(" | ", @r) : "(no reply)") . "\n"
	    unless @r && $r[-1] =~ /^2/;
}
expect("banner", reply());
expect("EHLO", cmd("EHLO $helo"));
my $mail = "MAIL FROM:<$from>" . ($utf8 ? " SMTPUTF8" : "");
expect("MAIL", cmd($mail));
my $n = 0;
for my $r (@rcpts) {
	if ($split && $n++) {
		expect("RSET", cmd("RSET"));
		expect("MAIL", cmd($mail));
	}
	my @r = cmd("RCPT TO:<$r>");
	print @r ? join("\n", @r) : "(no reply)", "\n";
}
cmd("QUIT");
' "$port" "$helo" "$from" "$utf8" "$split" "$@"
}

pf_smtp_cases() {
	local port=$1 helo=client.vrcpt.test ehlo=0 txn=0 auth= opt
	shift
	OPTIND=1
	while getopts h:eta: opt; do
		case $opt in
		h)	helo=$OPTARG ;;
		e)	ehlo=1 ;;
		t)	txn=1 ;;
		a)	auth=$OPTARG ;;
		*)	return 2 ;;
		esac
	done
	shift $((OPTIND - 1))
	perl -e '
use strict;
use warnings;
use IO::Socket::INET;
use MIME::Base64 qw(encode_base64);

my ($port, $helo, $ehlo, $txn, $auth) = @ARGV;
my $TIMEOUT = 120;	# seconds per reply (Postfix waits 100 s for a
			# policy server)
$SIG{PIPE} = "IGNORE";	# a closed connection shows as "(no reply)"
my $s;

# read one reply: all lines up to the one with "NNN " (bytes as received)
sub reply {
	my @lines;
	return () unless $s;
	local $SIG{ALRM} = sub { die "timeout\n" };
	my $ok = eval {
		alarm $TIMEOUT;
		while (defined(my $l = <$s>)) {
			$l =~ s/\r?\n\z//;
			push @lines, $l;
			last unless $l =~ /^\d{3}-/;
		}
		alarm 0;
		1;
	};
	alarm 0;
	return $ok ? @lines : ();
}
sub cmd {
	return () unless $s;
	print $s $_[0], "\r\n";
	return reply();
}
sub ok { return @_ && $_[-1] =~ /^2/; }
sub text { return @_ ? join("\\n", @_) : "(no reply)"; }
sub hello {
	my ($name) = @_;
	my @r = cmd("EHLO $name");
	die "pf_smtp_cases: EHLO: " . text(@r) . "\n" unless ok(@r);
}
sub connect_smtp {
	$s = IO::Socket::INET->new(PeerAddr => "127.0.0.1",
	    PeerPort => $port, Proto => "tcp", Timeout => $TIMEOUT)
		or die "pf_smtp_cases: connect 127.0.0.1:$port: $!\n";
	binmode $s;
	my @r = reply();
	die "pf_smtp_cases: banner: " . text(@r) . "\n" unless ok(@r);
	hello($helo) unless $ehlo && $auth eq "";
	if ($auth ne "") {
		my ($user, $pass) = split /:/, $auth, 2;
		@r = cmd("AUTH PLAIN " .
		    encode_base64("\0$user\0" . ($pass // ""), ""));
		die "pf_smtp_cases: AUTH: " . text(@r) . "\n"
		    unless @r && $r[-1] =~ /^235 /;
	}
}

binmode STDIN;
binmode STDOUT;
$| = 1;
my ($n, $in_txn) = (0, 0);
while (my $line = <STDIN>) {
	$line =~ s/\r?\n\z//;
	my ($from, $rcpt, $utf8, $num) = split /\t/, $line, -1;
	die "pf_smtp_cases: bad input line: $line\n" unless defined $utf8;
	$n++;
	$num = $n unless defined $num && $num =~ /^\d+$/;
	if (!$s || !$s->connected) {
		connect_smtp();
		$in_txn = 0;
	} elsif ($ehlo) {
		$in_txn = 0;
	} elsif (!$txn && $n > 1) {
		my @r = cmd("RSET");
		$in_txn = 0 if ok(@r);
	}
	hello("c$num.$helo") if $ehlo;
	if (!$in_txn) {
		my @r = cmd("MAIL FROM:$from" . ($utf8 ? " SMTPUTF8" : ""));
		if (!ok(@r)) {
			print "MAIL: ", text(@r), "\n";
			undef $s unless @r;
			next;
		}
		$in_txn = 1;
	}
	my @r = cmd("RCPT TO:$rcpt");
	print text(@r), "\n";
	if (!@r || $r[-1] =~ /^421/) {
		close $s if $s;
		undef $s;
	}
}
cmd("QUIT") if $s;
' "$port" "$helo" "$ehlo" "$txn" "$auth"
}

# pf_rejects DIR: "NOQUEUE: reject: RCPT from ...", one per line
pf_rejects() {
	sed -n -E 's/^.*postfix[^ ]*\/smtpd\[[0-9]+\]: (([0-9A-F]+|NOQUEUE): reject(_warning)?: .*)$/\1/p' \
	    "$1/maillog"
}
