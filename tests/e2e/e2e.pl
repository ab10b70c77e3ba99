#!/usr/bin/perl
# tests/e2e/e2e.pl - the corpus and the comparisons of tests/e2e/run.sh.
#
#   e2e.pl cases CORPUS           "MAIL<TAB>RCPT<TAB>UTF8<TAB>N" per case
#                                 (N: its number, from 1), for
#                                 pf_smtp_cases (tests/lib/postfix.sh)
#   e2e.pl split DIR              DIR/cases.main: the cases without a
#                                 deliberate difference; DIR/cases.div:
#                                 the others (run apart, so that the log
#                                 tools see the first kind only)
#   e2e.pl merge DIR NAME         DIR/replies.NAME, in corpus order, from
#                                 replies.main.NAME and replies.div.NAME
#   e2e.pl ids CORPUS             the case ids, in order
#   e2e.pl rcpts CORPUS           the address of every RCPT TO argument
#                                 (between < and >, parameters dropped;
#                                 empty ones left out), one per line, for
#                                 other tests
#   e2e.pl record CORPUS REPLIES  the corpus with the native field set to
#                                 the replies measured (one per case)
#   e2e.pl batch DIR              DIR/batch.ids and DIR/batch.cases: the
#                                 one-transaction run
#   e2e.pl toolinput DIR PATH     the syslog of PATH (native, policy,
#                                 milter, warn, down, socketmap) for
#                                 pflogsumm and
#                                 fail2ban:
#                                 Postfix's and vrcpt's lines of main/
#                                 and batch/, merged by time
#   e2e.pl check DIR              the replies and log lines of every path
#   e2e.pl logtools DIR PATH...   the pflogsumm and fail2ban results
#
# DIR is run.sh's work directory: corpus.txt and differences.txt (as
# run), replies.NAME (one line per case), main/, div/ and batch/ (what
# the logs got during the cases without and with a deliberate difference
# and during the one-transaction run: native.maillog, policy.maillog,
# milter.maillog, warn.maillog, down.maillog, socketmap.maillog,
# vrcptd.log, vrcptd-m.log,
# milter.log, vrcptd-warn.log), vrcptd-cache.log, pflogsumm.PATH,
# fail2ban.PATH. Or, for "check", one of run.sh's runs with another
# client (v-sasl/, v-trusted/): the same layout, and "variant" (its name)
# and trusted.txt (native Postfix's replies to a client that may relay).
#
# "check" and "logtools" print one "e2e: FAIL: ..." line per mismatch,
# "e2e: ..." counts, and last "e2e-count PASS FAIL". Everything is bytes:
# no decoding, no locale.
use strict;
use warnings;
use sort 'stable';

my $DEFAULT_FROM = '<sender@sender.test>';
my %ABBREV = (
	MBOX	=> 'Recipient address rejected: User unknown in virtual ' .
		    'mailbox table',
	ALIAS	=> 'Recipient address rejected: User unknown in virtual ' .
		    'alias table',
	RELAY	=> 'Recipient address rejected: User unknown in relay ' .
		    'recipient table',
	LOCAL	=> 'Recipient address rejected: User unknown in local ' .
		    'recipient table',
	DENIED	=> 'Relay access denied',
);
my $HELO_MAIN = 'e2e.test';		# run.sh HELO: cases say c<N>.e2e.test
my $POSTFIX_IDENT = 'postfix/smtpd';
my $MILTER_IDENT = 'vrcpt-milter/smtpd';	# run.sh MILTER_IDENT
my $VRCPTD_IDENT = 'vrcptd';
my $LINE_MAX = 2000;		# Postfix cuts a log line here (msg_syslog.c)
my $WARM_DB_MAX = 0.05;		# share of warm-cache answers that may still
				# come from PostgreSQL (keys too long to cache)
my $OUTAGE_MIN = 100;		# cases that must reach the database

# the reply of a reject by a restriction: "NNN x.y.z <address>: ..."
# (smtpd's reject_server_error() names no recipient: an empty lookup
# result, which vrcpt answers too)
my $CHECK_REJECT = qr/^(?:[45]\d\d [45]\.\d+\.\d+ <|451 4\.3\.5 Server configuration error$)/;
# the rejects Postfix makes itself, before or instead of vrcpt
my $POSTFIX_OWN = qr/(?::\ (?:Relay\ access\ denied |
    Recipient\ address\ rejected:\ User\ unknown\ in\ local
    \ recipient\ table | Recipient\ address\ rejected:\ e2e\ site\ rule)$ |
    >:\ (?:Sender\ address|Helo\ command)\ rejected:\ )/x;
my $WHATSUP = qr/reject|reject_warning|milter-reject|hold|milter-hold|
    discard|milter-discard|permit|pass/x;

# ------------------------------------------------------------- the corpus

sub expand_one {
	my ($m, $reply, $where) = @_;
	return ' ' if $m eq 'SP';
	return chr(hex($1)) if $m =~ /^x([0-9A-Fa-f]{2})$/;
	return $1 x $2 if $m =~ /^(.+)\*(\d+)$/;
	return $ABBREV{$m} if $reply && exists $ABBREV{$m};
	die "$where: unknown \${$m}\n";
}

# expand - the ${...} forms of a field; $reply: the abbreviations too
sub expand {
	my ($s, $reply, $where) = @_;
	$s =~ s/\$\{([^\}]*)\}/expand_one($1, $reply, $where)/ge;
	return $s;
}

# abbreviate - the reverse, for "record"
sub abbreviate {
	my ($s) = @_;
	for my $k (sort keys %ABBREV) {
		my $v = $ABBREV{$k};
		$s =~ s/\Q$v\E/\${$k}/g;
	}
	# bytes that would not survive an editor
	$s =~ s/([^\x20-\x7e\x80-\xff])/sprintf('${x%02X}', ord($1))/ge;
	# long repetitions, as the corpus writes them
	$s =~ s/(([^\$\{\}\*]{1,12}?)\2{7,})/
	    '${' . $2 . '*' . (length($1) \/ length($2)) . '}'/ge;
	return $s;
}

sub read_lines {
	my ($path) = @_;
	open(my $fh, '<:raw', $path) or die "$path: $!\n";
	my @l = <$fh>;
	close $fh;
	s/\r?\n\z// for @l;
	return @l;
}

# read_corpus - a list of { id, from, rcpt, utf8, native, line }
sub read_corpus {
	my ($path) = @_;
	my (@cases, %seen);
	my $n = 0;
	for my $line (read_lines($path)) {
		$n++;
		next if $line =~ /^\s*(#|$)/;
		my @f = split / \| /, $line, 5;
		die "$path:$n: want 5 fields separated by \" | \"\n"
		    unless @f == 5;
		s/^\s+|\s+$//g for @f[0, 1, 3, 4];
		my ($id, $from, $rcpt, $utf8, $native) = @f;
		die "$path:$n: bad id \"$id\"\n" unless $id =~ /^[a-z0-9.-]+$/;
		die "$path:$n: duplicate id $id\n" if $seen{$id}++;
		die "$path:$n: smtputf8 must be u or -\n"
		    unless $utf8 eq 'u' || $utf8 eq '-';
		my $w = "$path:$n";
		push @cases, {
			id => $id, line => $n,
			from => $from eq '-' ? $DEFAULT_FROM :
			    expand($from, 0, $w),
			rcpt => expand($rcpt, 0, $w),
			utf8 => $utf8 eq 'u' ? 1 : 0,
			native => $native eq '?' ? undef :
			    expand($native, 1, $w),
		};
	}
	return @cases;
}

# read_diffs - id -> path -> the reply that path must give
# (a path "policy@noutf8" applies to that run only: run.sh variant;
# plain paths to every run)
sub read_diffs {
	my ($path, $cases, $variant) = @_;
	my %known = map { $_->{id} => 1 } @$cases;
	my %d;
	my $n = 0;
	for my $line (read_lines($path)) {
		$n++;
		next if $line =~ /^\s*(#|$)/;
		my @f = split / \| /, $line, 4;
		die "$path:$n: want 4 fields separated by \" | \"\n"
		    unless @f == 4;
		s/^\s+|\s+$//g for @f;
		my ($id, $paths, $reply, $reason) = @f;
		die "$path:$n: no case $id in the corpus\n" unless $known{$id};
		for my $pv (split /,/, $paths) {
			my ($p, $v) = split /@/, $pv, 2;
			die "$path:$n: path must be policy, milter, " .
			    "vrcptd-m, warn, down or socketmap, optionally " .
			    "\@run\n" unless
			    $p =~ /^(?:policy|milter|vrcptd-m|warn|down|
			    socketmap)$/x &&
			    (!defined $v || $v =~ /^[a-z0-9]+$/);
			next if defined $v && ($variant // '') ne $v;
			die "$path:$n: $id/$p listed twice\n"
			    if $d{$id} && exists $d{$id}{$p};
			$d{$id}{$p} = expand($reply, 1, "$path:$n");
		}
		die "$path:$n: give the reason\n" unless length $reason > 10;
	}
	return %d;
}

# is_diff - a deliberate difference of case $id on path $p (any path
# without $p); never creates entries
sub is_diff {
	my ($diffs, $id, $p) = @_;
	return 0 unless $diffs->{$id};
	return defined $p ? exists $diffs->{$id}{$p} : 1;
}

sub read_replies {
	my ($path, $n) = @_;
	my @r = -e $path ? read_lines($path) : ();
	push @r, '(no reply)' while @r < $n;
	return @r;
}

# ------------------------------------------------------------------ logs

# parse_log - [ident, text, line] per line of a syslog-style file
sub parse_log {
	my ($path) = @_;
	my @out;
	return @out unless -e $path;
	for my $l (read_lines($path)) {
		# "Nov 25 20:00:02 host ident[pid]: text"
		next unless $l =~ /^\w{3}\ [\ \d]\d\ \d\d:\d\d:\d\d(?:\.\d+)?
		    \ \S+\ ([^\[\s:]+)(?:\[\d+\])?:\ (.*)$/x;
		push @out, [$1, $2, $l];
	}
	return @out;
}

# by_postfix, by_vrcpt - could this reply come with a reject line of
# Postfix (any restriction) / of vrcpt (not Postfix's own checks)?
sub by_postfix { return $_[0] =~ $CHECK_REJECT; }
sub by_vrcpt { return $_[0] =~ $CHECK_REJECT && $_[0] !~ $POSTFIX_OWN; }

# case_lines - the decision lines of $ident in the log of one run, by
# case number (1..). A line names its case by HELO (c<N>.e2e.test); a
# line longer than $LINE_MAX was cut before the HELO, as Postfix cuts its
# own: it belongs to the next case after the one before it whose reply
# ($replies, this path's) could have made it ($caused->(reply)), in the
# order the run sent them ($order: case numbers; default all). Returns
# (\%by, \%entry_case).
sub case_lines {
	my ($log, $ident, $replies, $caused, $order) = @_;
	my (%by, %of);
	my $last = 0;
	$order //= [1 .. scalar @{$replies || []}];
	my %pos = map { $order->[$_] => $_ } 0 .. $#$order;
	for my $i (0 .. $#$log) {
		my ($id, $t) = @{$log->[$i]};
		next unless $id eq $ident &&
		    $t =~ /^(?:NOQUEUE|[0-9A-F]+): ($WHATSUP): /;
		my $what = $1;
		my $k;
		if ($t =~ / helo=<c(\d+)\.\Q$HELO_MAIN\E>(?: |$)/) {
			$k = $1;
		} elsif (length($t) >= $LINE_MAX && $replies &&
		    $what =~ /reject|hold|discard/) {
			my $from = $last ? ($pos{$last} // -1) + 1 : 0;
			for my $j (@$order[$from .. $#$order]) {
				if ($caused->($replies->[$j - 1]) && !$by{$j}) {
					$k = $j;
					last;
				}
			}
		}
		next unless defined $k;
		push @{$by{$k}}, $t;
		$of{$i} = $k;
		$last = $k;
	}
	return (\%by, \%of);
}

# run_lines - case_lines() of the main and the divergent run, merged
sub run_lines {
	my ($dir, $file, $ident, $replies, $caused) = @_;
	my %by;
	for my $run (qw(main div)) {
		my @log = parse_log("$dir/$run/$file");
		my @order = map { (split /\t/)[3] }
		    read_lines("$dir/cases.$run");
		my ($rb) = case_lines(\@log, $ident, $replies, $caused,
		    \@order);
		push @{$by{$_}}, @{$rb->{$_}} for keys %$rb;
	}
	return \%by;
}

# lines_of - the decision lines of $ident, in order
sub lines_of {
	my ($log, $ident) = @_;
	return map { $_->[1] } grep { $_->[0] eq $ident &&
	    $_->[1] =~ /^(?:NOQUEUE|[0-9A-F]+): (?:$WHATSUP): / &&
	    !is_mark($_->[1]) } @$log;
}

# is_mark - a line of run.sh's marks between the runs
sub is_mark {
	return $_[0] =~ / helo=<snap-[a-z]+\.\Q$HELO_MAIN\E>$/;
}

# norm - a line as compared: queue id and milter- prefix gone, and the
# " sasl_username=<...>" that Postfix appends to its milter-reject lines
# of an authenticated client (smtpd.c, smtpd_whatsup()) and not to its
# own reject lines (smtpd_check.c, log_whatsup())
sub norm {
	my ($t) = @_;
	$t =~ s/^[0-9A-F]+: /QUEUEID: /;
	$t =~ s/^(\S+: milter-(?:reject|hold|discard): .*) sasl_username=<[^<>]*>$/$1/;
	$t =~ s/^(\S+: )milter-(reject|hold|discard): /$1$2: /;
	return $t;
}

# own_base - a vrcpt line without its extras (" instance=... lookup=...")
sub own_base {
	my ($t) = @_;
	$t =~ s/( helo=<[^>]*>)(?: [a-z_]+=\S*)+$/$1/;
	return $t;
}

# --------------------------------------------------------------- reports

my ($pass, $fail) = (0, 0);
sub ok { $pass++; }
sub bad { $fail++; print "e2e: FAIL: @_\n"; }
sub note { print "e2e: @_\n"; }
sub show {
	my ($s) = @_;
	return '(none)' unless defined $s;
	$s =~ s/([^\x20-\x7e\x80-\xff])/sprintf('\\x%02X', ord($1))/ge;
	$s = abbreviate($s) if length($s) > 300;
	return "\"$s\"";
}

# cmp_seq - two lists of lines, as diff would: one FAIL per line that is
# only in one of them; $st->{$key} counts the lines in both
sub cmp_seq {
	my ($what, $x, $y, $key, $st) = @_;
	my ($i, $j) = (0, 0);
	while ($i < @$x || $j < @$y) {
		if ($i < @$x && $j < @$y && $x->[$i] eq $y->[$j]) {
			ok();
			$st->{$key}++;
			$i++;
			$j++;
			next;
		}
		my ($fi) = $i < @$x ? grep { $y->[$_] eq $x->[$i] } $j .. $#$y :
		    ();
		my ($fj) = $j < @$y ? grep { $x->[$_] eq $y->[$j] } $i .. $#$x :
		    ();
		if (defined $fi && (!defined $fj || $fi - $j <= $fj - $i)) {
			bad("$what: only in the second: " . show($y->[$j++]))
			    while $j < $fi;
		} elsif (defined $fj) {
			bad("$what: only in the first: " . show($x->[$i++]))
			    while $i < $fj;
		} else {
			bad("$what: only in the first: " . show($x->[$i++]))
			    if $i < @$x;
			bad("$what: only in the second: " . show($y->[$j++]))
			    if $j < @$y;
		}
	}
}

# read_trusted - trusted.txt: id -> native reply to a client that may
# relay
sub read_trusted {
	my ($path, $cases) = @_;
	my %known = map { $_->{id} => 1 } @$cases;
	my %t;
	my $n = 0;
	for my $line (read_lines($path)) {
		$n++;
		next if $line =~ /^\s*(#|$)/;
		my @f = split / \| /, $line, 2;
		die "$path:$n: want 2 fields separated by \" | \"\n"
		    unless @f == 2;
		s/^\s+|\s+$//g for @f;
		die "$path:$n: no case $f[0] in the corpus\n"
		    unless $known{$f[0]};
		die "$path:$n: $f[0] listed twice\n" if exists $t{$f[0]};
		$t{$f[0]} = expand($f[1], 1, "$path:$n");
	}
	return %t;
}

# native_want - the reply native Postfix must give for case $c: as
# recorded (a client from the Internet), or for a client that may relay
# as trusted.txt ($tw) says
sub native_want {
	my ($c, $tw) = @_;
	return $tw->{$c->{id}} // $c->{native};
}

# want - the reply path $p must give for case $c
sub want {
	my ($c, $p, $diffs, $native) = @_;
	return is_diff($diffs, $c->{id}, $p) ? $diffs->{$c->{id}}{$p} :
	    $native;
}

# ----------------------------------------------------------------- check

sub check {
	my ($dir) = @_;
	my @cases = read_corpus("$dir/corpus.txt");
	my $n = @cases;
	my %st;
	# a run with another client (run.sh variant): its name
	my ($variant) = -e "$dir/variant" ? read_lines("$dir/variant") : ();
	my %diffs = read_diffs("$dir/differences.txt", \@cases, $variant);
	my $vn = defined $variant ? "[$variant] " : '';
	# its overrides: where native Postfix answers otherwise than recorded
	# (trusted.txt, noutf8.txt)
	my ($ovf) = -e "$dir/overrides" ? read_lines("$dir/overrides") :
	    ('trusted.txt');
	my %tw = defined $variant ? read_trusted("$dir/$ovf", \@cases) : ();
	# a transaction that failed before the RCPT: nothing can differ
	delete @diffs{grep { $tw{$_} =~ /^MAIL: / } keys %tw};

	# --- replies -----------------------------------------------------
	my @nat = read_replies("$dir/replies.native", $n);
	my @paths = grep { -e "$dir/replies.$_" } qw(policy milter warn down
	    socketmap);
	my %rep = map { $_ => [read_replies("$dir/replies.$_", $n)] } @paths;
	for my $i (0 .. $n - 1) {
		my $c = $cases[$i];
		my $want = native_want($c, \%tw);
		if (!defined $want) {
			bad("$c->{id}: no native reply recorded (run.sh " .
			    "--record)");
		} elsif ($nat[$i] eq $want) {
			ok();
			$st{native_ok}++;
			$st{native_relayed}++ if exists $tw{$c->{id}};
		} else {
			bad("$vn$c->{id}: native Postfix " . show($nat[$i]) .
			    ", want " . show($want) . (defined $variant ?
			    " (recorded " . show($c->{native}) . ")" : ''));
		}
		for my $p (@paths) {
			my $got = $rep{$p}[$i];
			my $w = want($c, $p, \%diffs, $nat[$i]);
			my $d = is_diff(\%diffs, $c->{id}, $p);
			if ($got eq $w) {
				ok();
				$st{"${p}_reply_" . ($d ? 'deliberate' :
				    'same')}++;
			} else {
				bad("$vn$c->{id} ($p): native " . show($nat[$i]) .
				    ", $p " . show($got) . ($d ? ", " .
				    "differences.txt wants " . show($w) : ''));
			}
		}
	}

	# --- Postfix's reject lines, case by case ---------------------------
	my $nby = run_lines($dir, 'native.maillog', $POSTFIX_IDENT, \@nat,
	    \&by_postfix);
	bad("the native maillog has no reject line of a case")
	    unless keys %$nby;
	for my $p (@paths) {
		my $pby = run_lines($dir, "$p.maillog", $POSTFIX_IDENT,
		    $rep{$p}, \&by_postfix);
		for my $k (1 .. $n) {
			my $c = $cases[$k - 1];
			my @nl = map { norm($_) } @{$nby->{$k} || []};
			my @pl = map { norm($_) } @{$pby->{$k} || []};
			next if !@nl && !@pl;
			if (is_diff(\%diffs, $c->{id}, $p)) {
				$st{"${p}_log_deliberate"}++;
				next;
			}
			if (join("\n", @nl) eq join("\n", @pl)) {
				ok();
				$st{"${p}_log_same"} += @nl;
				$st{"${p}_log_sasl"} += grep {
				    / sasl_username=<[^<>]*>$/ } @{$pby->{$k}};
			} else {
				bad("$vn$c->{id} ($p): reject log lines differ:" .
				    join('', map { "\n    native: " .
				    show($_) } @nl) . join('', map {
				    "\n    $p: " . show($_) } @pl));
			}
		}
	}

	# --- vrcpt's own lines: native Postfix's line plus extras -----------
	# vrcptd behind the policy Postfix, vrcpt-milter and the vrcptd it
	# asks: one reject line for every reject they caused, none for
	# anything else, and each equal to the line native Postfix logged
	# (warn: vrcptd in warn mode beside Postfix's own check, which
	# rejects: "reject_warning" where Postfix says "reject"; its own
	# decisions differ from native where the policy path's do)
	my @own = (['policy', 'vrcptd.log', $VRCPTD_IDENT, 'policy'],
	    ['milter', 'milter.log', $MILTER_IDENT, 'milter'],
	    ['milter', 'vrcptd-m.log', $VRCPTD_IDENT, 'vrcptd-m'],
	    ['warn', 'vrcptd-warn.log', $VRCPTD_IDENT, 'vrcptd-warn']);
	for my $o (@own) {
		my ($p, $file, $ident, $label) = @$o;
		next unless $rep{$p};
		my $dp = $p eq 'warn' ? 'policy' : $p;
		my $oby = run_lines($dir, $file, $ident, $rep{$p}, \&by_vrcpt);
		for my $k (1 .. $n) {
			my $c = $cases[$k - 1];
			my @o = grep { /^\S+: (?:reject|reject_warning): / }
			    @{$oby->{$k} || []};
			my $caused = by_vrcpt($rep{$p}[$k - 1]);
			next if !@o && !$caused;
			next if $p eq 'warn' && is_diff(\%diffs, $c->{id}, $dp);
			if (@o != ($caused ? 1 : 0)) {
				bad("$vn$c->{id} ($label): reply " .
				    show($rep{$p}[$k - 1]) . ", " . scalar(@o) .
				    " reject lines by $ident" . join('', map {
				    "\n    " . show($_) } @o));
				next;
			}
			next if is_diff(\%diffs, $c->{id}, $dp) ||
			    is_diff(\%diffs, $c->{id}, $label);
			my @nl = map { norm($_) } @{$nby->{$k} || []};
			my $ol = own_base($o[0]);
			# warn mode: never "reject", always "reject_warning"
			# (8 bytes longer: a line cut at $LINE_MAX bytes ends
			# earlier than Postfix's)
			if ($p eq 'warn') {
				$ol = '(not reject_warning) ' . $ol unless
				    $ol =~ s/^(\S+: )reject_warning: /$1reject: /;
				$nl[0] = substr($nl[0], 0, length $ol) if @nl &&
				    length($o[0]) >= $LINE_MAX;
			}
			if (@nl == 1 && $nl[0] eq $ol) {
				ok();
				$st{"${label}_own_same"}++;
			} else {
				bad("$vn$c->{id} ($label): $ident logged " .
				    show($ol) . ", native Postfix " .
				    join(' / ', map { show($_) } @nl));
			}
		}
	}

	# --- one transaction: the queue id instead of NOQUEUE ---------------
	if (-e "$dir/batch.ids") {
		my @bc = read_lines("$dir/batch.ids");
		my %ni = map { $cases[$_]{id} => $_ } 0 .. $n - 1;
		my @bn = read_replies("$dir/batch.native", scalar @bc);
		for my $j (0 .. $#bc) {
			my $i = $ni{$bc[$j]};
			if ($bn[$j] eq $nat[$i]) {
				ok();
			} else {
				bad("$bc[$j]: native in one transaction " .
				    show($bn[$j]) . ", alone " .
				    show($nat[$i]));
			}
		}
		my @bl = map { norm($_) } lines_of([parse_log(
		    "$dir/batch/native.maillog")], $POSTFIX_IDENT);
		bad("one transaction: no native line with a queue id")
		    unless grep { /^QUEUEID: / } @bl;
		for my $p (@paths) {
			my @br = read_replies("$dir/batch.$p", scalar @bc);
			for my $j (0 .. $#bc) {
				if ($br[$j] eq $bn[$j]) {
					ok();
					$st{"${p}_batch_same"}++;
				} else {
					bad("$bc[$j] ($p, one transaction):" .
					    " native " . show($bn[$j]) .
					    ", $p " . show($br[$j]));
				}
			}
			my @pl = map { norm($_) } lines_of([parse_log(
			    "$dir/batch/$p.maillog")], $POSTFIX_IDENT);
			cmp_seq("one transaction ($p), reject lines", \@bl,
			    \@pl, "${p}_batch_log_same", \%st);
		}
		$st{batch_n} = @bc;
		$st{batch_lines} = @bl;
	}

	# --- the cache: the same replies as without it ----------------------
	for my $run (qw(cold warm rcold rwarm)) {
		next unless -e "$dir/replies.cache-$run";
		my @r = read_replies("$dir/replies.cache-$run", $n);
		for my $i (0 .. $n - 1) {
			my $c = $cases[$i];
			my $w = $rep{policy} ? $rep{policy}[$i] :
			    want($c, 'policy', \%diffs, $nat[$i]);
			if ($r[$i] eq $w) {
				ok();
				$st{"cache_${run}_same"}++;
			} else {
				bad("$c->{id} (policy, cache $run): " .
				    show($r[$i]) . ", without the cache " .
				    show($w));
			}
		}
		# where the answers came from (vrcptd log_level = 1)
		my %src;
		for my $e (parse_log("$dir/vrcptd-cache.log")) {
			my ($id, $t) = @$e;
			$src{$1}++ if $id eq $VRCPTD_IDENT && $t =~
			    /\ helo=<c\d+\.$run\.\Q$HELO_MAIN\E>\ .*
			    \ lookup=(\S+)/x;
		}
		$st{"cache_${run}_lookup"} = join(', ', map { "$_ $src{$_}" }
		    sort keys %src);
		# warm: from the in-process cache; rwarm (in-process cache
		# off): from Redis; neither from PostgreSQL
		next if $run =~ /cold/;
		my $want = $run eq 'warm' ? 'cache_local' : 'cache_redis';
		my $hits = 0;
		$hits += $src{$_} for grep { /^cache/ } keys %src;
		my $db = $src{db} // 0;
		if (($src{$want} // 0) > 0 &&
		    $db <= $WARM_DB_MAX * ($hits + $db)) {
			ok();
		} else {
			bad("cache, $run run: $hits answers from a cache " .
			    "(" . ($src{$want} // 0) . " $want), $db from " .
			    "PostgreSQL");
		}
	}

	# --- PostgreSQL stopped ---------------------------------------------
	# the cases vrcptd decided from the database in the main run (not
	# those its pure tables decided alone: a hash: canonical map)
	my @vlog = (parse_log("$dir/main/vrcptd.log"),
	    parse_log("$dir/div/vrcptd.log"));
	my %decided;
	for my $e (@vlog) {
		my ($id, $t) = @$e;
		$decided{$2} = 1 if $id eq $VRCPTD_IDENT && $t =~
		    /^\S+:\ (permit|reject):\ .*
		    \ helo=<c(\d+)\.\Q$HELO_MAIN\E>/x &&
		    $t !~ /\ lookup=pure\ /;
	}
	for my $lfa (qw(defer dunno)) {
		next unless -e "$dir/replies.outage-$lfa";
		my @r = read_replies("$dir/replies.outage-$lfa", $n);
		my ($good, $total) = (0, 0);
		for my $k (sort { $a <=> $b } keys %decided) {
			my $got = $r[$k - 1];
			my $rec = $cases[$k - 1]{native} // '';
			$total++;
			# dunno: accepted, unless Postfix itself defers as
			# native does (defer_if_permit, after vrcptd)
			if ($lfa eq 'defer' ? $got =~ /^4\d\d / :
			    $got =~ /^250 / || ($rec =~ /^4/ && $got eq $rec)) {
				ok();
				$good++;
			} else {
				bad("$cases[$k - 1]{id} (PostgreSQL stopped, " .
				    "lookup_failure_action = $lfa): " .
				    show($got) . ", want " . ($lfa eq 'defer' ?
				    '4xx' : '250'));
			}
		}
		$st{"outage_$lfa"} = "$good of $total";
		if ($total >= $OUTAGE_MIN) {
			ok();
		} else {
			bad("PostgreSQL stopped: only $total cases reached " .
			    "the database");
		}
	}

	# --- summary ----------------------------------------------------------
	my $nd = grep { is_diff(\%diffs, $_->{id}) } @cases;
	my %client = (sasl => 'a SASL-authenticated client',
	    trusted => 'a client in mynetworks',
	    noutf8 => 'a client from the Internet, smtputf8_enable = no');
	note($vn . "cases: $n" . (defined $variant ? ", from " .
	    ($client{$variant} // $variant) : '') . "; native replies as " .
	    (defined $variant ? "recorded or as $ovf says: " .
	    ($st{native_ok} // 0) . " ($ovf: " .
	    ($st{native_relayed} // 0) . ")" : "recorded: " .
	    ($st{native_ok} // 0)) . "; deliberate differences " .
	    "(differences.txt): $nd cases");
	for my $p (@paths) {
		note(sprintf("%s%s: replies identical %d, deliberately " .
		    "different %d (as listed); reject log lines identical " .
		    "%d (%d cases deliberately different)%s%s", $vn, $p,
		    $st{"${p}_reply_same"} // 0,
		    $st{"${p}_reply_deliberate"} // 0,
		    $st{"${p}_log_same"} // 0,
		    $st{"${p}_log_deliberate"} // 0,
		    $st{"${p}_log_sasl"} ? sprintf(" (%d milter-reject " .
		    "lines without their sasl_username=<...>)",
		    $st{"${p}_log_sasl"}) : '',
		    $st{batch_n} ? sprintf("; one transaction of %d: " .
		    "replies identical %d, log lines identical %d of %d",
		    $st{batch_n}, $st{"${p}_batch_same"} // 0,
		    $st{"${p}_batch_log_same"} // 0, $st{batch_lines} // 0) :
		    ''));
	}
	my %own_name = (policy => 'vrcptd', milter => 'vrcpt-milter',
	    'vrcptd-m' => 'vrcptd behind the milter',
	    'vrcptd-warn' => 'vrcptd in warn mode (reject_warning)');
	for my $o (@own) {
		my $l = $o->[3];
		next unless $rep{$o->[0]};
		note(sprintf("%s%s: own reject lines = native Postfix's: %d",
		    $vn, $own_name{$l}, $st{"${l}_own_same"} // 0));
	}
	for my $run (qw(cold warm rcold rwarm)) {
		next unless exists $st{"cache_${run}_lookup"};
		note(sprintf("policy with the cache (%s), %s: replies " .
		    "identical %d of %d (answers by source: %s)",
		    $run =~ /^r/ ? 'Redis alone' : 'Redis and in-process',
		    $run =~ s/^r//r,
		    $st{"cache_${run}_same"} // 0, $n,
		    $st{"cache_${run}_lookup"}));
	}
	for my $lfa (qw(defer dunno)) {
		next unless exists $st{"outage_$lfa"};
		note("PostgreSQL stopped, lookup_failure_action = $lfa: " .
		    $st{"outage_$lfa"} . " RCPTs " . ($lfa eq 'defer' ?
		    'got 4xx' : 'accepted'));
	}
}

# ------------------------------------------------------------- log tools

# toolinput - the log of one path as a syslog file holds it: Postfix's,
# vrcptd's and vrcpt-milter's lines of the main (no deliberate
# difference) and the one-transaction runs, merged by time (stable)
sub toolinput {
	my ($dir, $p) = @_;
	my %files = (native => ['native.maillog'],
	    policy => ['policy.maillog', 'vrcptd.log'],
	    milter => ['milter.maillog', 'milter.log', 'vrcptd-m.log'],
	    warn => ['warn.maillog', 'vrcptd-warn.log'],
	    down => ['down.maillog'],
	    socketmap => ['socketmap.maillog']);
	my %mon = (Jan => 1, Feb => 2, Mar => 3, Apr => 4, May => 5, Jun => 6,
	    Jul => 7, Aug => 8, Sep => 9, Oct => 10, Nov => 11, Dec => 12);
	my @keyed;
	for my $run (qw(main batch)) {
		for my $f (@{$files{$p}}) {
			for my $e (parse_log("$dir/$run/$f")) {
				my $l = $e->[2];
				next if is_mark($e->[1]);
				push @keyed, [$l =~ /^(\w{3}) +(\d+) (\S+)/ ?
				    sprintf("%02d%02d%s", $mon{$1} // 0, $2,
				    $3) : '', $l];
			}
		}
	}
	print "$_->[1]\n" for sort { $a->[0] cmp $b->[0] } @keyed;
}

# pflogsumm_parts - the parts of a pflogsumm report that count rejects:
# the "Grand Totals" message counts and the reject / reject warning /
# hold / discard detail (no times, no paths). pflogsumm sorts by count
# and leaves ties in Perl's (random) hash order: the detail comes out
# with the groups of a command sorted by their heading, and the entries
# of a group sorted.
sub pflogsumm_parts {
	my ($path) = @_;
	my (@tot, @det, $sec, $keep);
	my $sections = qr/^(Grand\ Totals|Per-Hour|Per-Day|Host\/Domain|
	    Senders|Recipients|message\ |smtp\ |Warnings|Fatal|Panics|
	    Master)/x;
	my $wanted = qr/^message (?:reject|reject warning|hold|discard) detail/;
	my ($cmd, $grp);	# the current "  RCPT" and "    reason" lists
	my $flush_grp = sub {
		push @$cmd, [$grp->[0], sort @{$grp}[1 .. $#$grp]] if $grp;
		$grp = undef;
	};
	my $flush_cmd = sub {
		$flush_grp->();
		if ($cmd) {
			push @det, $cmd->[0];
			push @det, @$_ for sort { $a->[0] cmp $b->[0] }
			    @{$cmd}[1 .. $#$cmd];
		}
		$cmd = undef;
	};
	for my $l (read_lines($path)) {
		if ($l =~ $sections) {
			$flush_cmd->();
			$sec = $1;
			$keep = $l =~ $wanted;
			push @det, $l if $keep;
			next;
		}
		next unless defined $sec;
		if ($sec eq 'Grand Totals') {
			push @tot, $l if $l =~ /^\s+\d+\S*\s+(?:received|
			    rejected|reject\ warnings|held|discarded)/x;
			next;
		}
		next unless $keep && $l =~ /\S/ && $l !~ /^-+$/;
		if ($l =~ /^  \S/) {
			$flush_cmd->();
			$cmd = [$l];
		} elsif ($l =~ /\(total: \d+\)$/) {
			$flush_grp->();
			$grp = [$l];
		} elsif ($grp) {
			push @$grp, $l;
		} else {
			push @det, $l;
		}
	}
	$flush_cmd->();
	return (\@tot, \@det);
}

# fail2ban_matches - the lines fail2ban-regex matched, without time, host
# and pid, "milter-reject:" as "reject:"; and its count of matched lines
sub fail2ban_matches {
	my ($path) = @_;
	my (@m, $in, $count);
	for my $l (read_lines($path)) {
		if ($l =~ /^\|- Matched line\(s\):/) {
			$in = 1;
			next;
		}
		if ($in && $l =~ /^\|  (.*)$/) {
			my $t = $1;
			$t =~ s/^\w{3} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ //;
			$t =~ s/^([^\[\s]+)\[\d+\]: /$1: /;
			my ($id, $rest) = split /: /, $t, 2;
			push @m, "$id: " . norm($rest // '');
			next;
		}
		$in = 0;
		$count = $1 if $l =~ /^Lines: .*?(\d+) matched/;
	}
	return (\@m, $count // 0);
}

sub rejected { return (map { /(\d+)\S*\s+rejected/ ? $1 : () } @{$_[0]})[0]; }

sub logtools {
	my ($dir, @paths) = @_;
	my ($ntot, $ndet) = pflogsumm_parts("$dir/pflogsumm.native");
	my ($nm, $nc) = fail2ban_matches("$dir/fail2ban.native");
	my $nrej = rejected($ntot);
	bad("pflogsumm counts no rejects in the native log") unless $nrej;
	bad("fail2ban matches no native line") unless $nc;
	bad("fail2ban: $nc lines matched, " . scalar(@$nm) . " printed")
	    unless $nc == @$nm;
	my $ngroups = grep { /\(total: \d+\)/ } @$ndet;
	note("log tools, native: pflogsumm rejected " . ($nrej // 0) .
	    " in $ngroups groups, " . scalar(@$ndet) . " detail lines; " .
	    "fail2ban matched $nc");
	for my $p (grep { $_ ne 'native' } @paths) {
		my ($ptot, $pdet) = pflogsumm_parts("$dir/pflogsumm.$p");
		my ($pm, $pc) = fail2ban_matches("$dir/fail2ban.$p");
		my %st;
		cmp_seq("pflogsumm totals, native vs $p", $ntot, $ptot, 'tot',
		    \%st);
		cmp_seq("pflogsumm reject detail, native vs $p", $ndet, $pdet,
		    'det', \%st);
		if ($pc == $nc) {
			ok();
		} else {
			bad("fail2ban: $nc native lines matched, $pc $p lines");
		}
		cmp_seq("fail2ban matched lines, native vs $p", $nm, $pm,
		    'f2b', \%st);
		my $groups = grep { /\(total: \d+\)/ } @$pdet;
		note(sprintf("log tools, %s: pflogsumm rejected %s in %d " .
		    "groups, totals identical %d of %d, detail lines " .
		    "identical %d of %d; fail2ban matched %d, identical " .
		    "lines %d of %d", $p, rejected($ptot) // 0, $groups,
		    $st{tot} // 0, scalar @$ntot, $st{det} // 0,
		    scalar @$ndet, $pc, $st{f2b} // 0, $nc));
	}
	if (-e "$dir/pflogsumm.milter-plain") {
		my ($t) = pflogsumm_parts("$dir/pflogsumm.milter-plain");
		note("log tools, milter: pflogsumm without --syslog-name " .
		    "counts " . (rejected($t) // 0) . " rejects (it does not " .
		    "count milter-reject:)");
	}
}

# ------------------------------------------------------------------ main

my $cmd = shift @ARGV // '';
binmode STDOUT, ':raw';
if ($cmd eq 'cases') {
	my $k = 0;
	for my $c (read_corpus($ARGV[0])) {
		$k++;
		print "$c->{from}\t$c->{rcpt}\t$c->{utf8}\t$k\n";
	}
} elsif ($cmd eq 'split') {
	my ($dir) = @ARGV;
	my @cases = read_corpus("$dir/corpus.txt");
	my %diffs = read_diffs("$dir/differences.txt", \@cases);
	open(my $m, '>:raw', "$dir/cases.main") or die "$dir: $!\n";
	open(my $d, '>:raw', "$dir/cases.div") or die "$dir: $!\n";
	for my $k (1 .. @cases) {
		my $c = $cases[$k - 1];
		print { is_diff(\%diffs, $c->{id}) ? $d : $m }
		    "$c->{from}\t$c->{rcpt}\t$c->{utf8}\t$k\n";
	}
	close $m or die;
	close $d or die;
} elsif ($cmd eq 'merge') {
	my ($dir, $name) = @ARGV;
	my @r;
	for my $run (qw(main div)) {
		my @k = map { (split /\t/)[3] } read_lines("$dir/cases.$run");
		my @got = read_replies("$dir/replies.$run.$name", scalar @k);
		$r[$k[$_] - 1] = $got[$_] for 0 .. $#k;
	}
	open(my $fh, '>:raw', "$dir/replies.$name") or die "$dir: $!\n";
	print $fh map { ($_ // '(no reply)') . "\n" } @r;
	close $fh or die;
} elsif ($cmd eq 'ids') {
	print "$_->{id}\n" for read_corpus($ARGV[0]);
} elsif ($cmd eq 'rcpts') {
	for my $c (read_corpus($ARGV[0])) {
		my $r = $c->{rcpt};
		$r =~ s/^\s+//;
		my $addr = $r =~ /^<([^>]*)>/ ? $1 : $r =~ /^(\S+)/ ? $1 : "";
		print "$addr\n" if length $addr;
	}
} elsif ($cmd eq 'record') {
	my ($corpus, $replies) = @ARGV;
	my @cases = read_corpus($corpus);
	my @r = read_replies($replies, scalar @cases);
	my %by = map { $cases[$_]{line} => $r[$_] } 0 .. $#cases;
	my $n = 0;
	for my $line (read_lines($corpus)) {
		$n++;
		if (exists $by{$n}) {
			my @f = split / \| /, $line, 5;
			$f[4] = abbreviate($by{$n});
			$line = join(' | ', @f);
		}
		print "$line\n";
	}
} elsif ($cmd eq 'batch') {
	# one transaction: the default sender, no SMTPUTF8, no deliberate
	# difference; first a valid recipient, so that a queue file exists
	my ($dir) = @ARGV;
	my @cases = read_corpus("$dir/corpus.txt");
	my %diffs = read_diffs("$dir/differences.txt", \@cases);
	my ($first) = grep { $_->{id} eq 'mbox.john' } @cases;
	die "no case mbox.john\n" unless $first;
	my @b = ($first, grep { $_ != $first &&
	    $_->{from} eq $DEFAULT_FROM && !$_->{utf8} &&
	    !is_diff(\%diffs, $_->{id}) } @cases);
	open(my $ids, '>:raw', "$dir/batch.ids") or die "$dir: $!\n";
	open(my $cs, '>:raw', "$dir/batch.cases") or die "$dir: $!\n";
	for my $c (@b) {
		print $ids "$c->{id}\n";
		print $cs "$c->{from}\t$c->{rcpt}\t$c->{utf8}\n";
	}
	close $ids or die;
	close $cs or die;
} elsif ($cmd eq 'toolinput') {
	toolinput(@ARGV);
} elsif ($cmd eq 'check') {
	check($ARGV[0]);
	print "e2e-count $pass $fail\n";
} elsif ($cmd eq 'logtools') {
	logtools(@ARGV);
	print "e2e-count $pass $fail\n";
} else {
	die "usage: e2e.pl cases|ids|rcpts|record|batch|toolinput|check|" .
	    "logtools ...\n";
}
