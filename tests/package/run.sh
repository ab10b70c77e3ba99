#!/bin/bash
# tests/package/run.sh - "make check-package": the Debian packages, built,
# linted, installed into a throwaway root, and vrcptd run there exactly
# as its systemd unit runs it, against files with Debian's modes.
#
#   build     a copy of the work tree (tracked and untracked files, not
#             ignored ones) is built with "dpkg-buildpackage -us -uc -b"
#             (DEB_BUILD_OPTIONS=nocheck: "make check" runs the unit
#             tests; PACKAGE_UNIT_TESTS=1 runs them in the build too).
#             VRCPT_DEBS=DIR uses the .debs in DIR instead.
#   versions  VERSION (GNUmakefile) = debian/changelog = CHANGELOG.md =
#             "vrcptd -V" of the package
#   lintian   no error, no warning (the info tags are printed)
#   install   the throwaway root is an overlay of this machine's "/" (its
#             libraries, adduser, Postfix and the group postfix, read-only
#             below) with a tmpfs on top that takes every write, in a
#             mount namespace of this script only: "dpkg -i" runs the real
#             maintainer scripts there (the vrcpt user, its group
#             postfix, statoverride, directories), and nothing of it
#             reaches this machine. Then the packaged files and modes.
#   unit      systemd-analyze verify; the [Service] lines are parsed and
#             run as systemd would: ExecStartPre, ExecStart, ExecReload
#             with User=, Group=, SupplementaryGroups= (plus the user's
#             own groups, as initgroups), UMask=, LimitNOFILE=,
#             RuntimeDirectory=, and its file-system view (ProtectSystem=
#             strict: "/" read-only but ReadWritePaths= and the runtime
#             directory; PrivateTmp=, ProtectHome=). NOTIFY_SOCKET names
#             a datagram socket this script reads (with the sender's pid:
#             NotifyAccess=main). Not reproduced: the system call filter,
#             capability bounding set and namespace restrictions.
#   daemon    Debian-mode files: /etc/postfix/pgsql-*.cf 0640 root:postfix
#             with a password, /etc/vrcpt/vrcptd.cf 0640 root:vrcpt, a
#             throwaway PostgreSQL (tests/lib/pgtmp.sh) with the ISPmail
#             schema, sample data and triggers. vrcptd answers a policy
#             request; READY=1 and STATUS= arrive; a map change and the unit's
#             ExecReload change the answer (RELOADING=1, READY=1); the
#             shipped logrotate file rotates its log and signals it
#             (vrcptd writes into the new file); /metrics passes "promtool
#             check metrics" and has every metric the alert rules and the
#             dashboard use; vrcpt-milter's unit starts without the group
#             postfix; SIGTERM stops vrcptd.
#   docs      the installed man pages render without warnings; the alert
#             rules pass "promtool check rules" and their unit tests; the
#             dashboard is JSON; the fail2ban jail loads and its filter
#             matches Postfix's reject line, never vrcptd's own.
#   purge     "dpkg --purge" removes what postinst made.
#
# Needs root (mount, chroot, dpkg) and "scripts/deps.sh package". Prints
# "package: N passed, M failed, K skipped"; exit status 0 only when none
# failed. KEEP=1 keeps the work directory (and the root's upper layer).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)

if [ "$(id -u)" != 0 ]; then
	echo "package: needs root (mount, chroot, dpkg)" >&2
	echo "package: 0 passed, 1 failed"
	exit 1
fi
# everything below runs in a mount namespace of its own: the throwaway
# root and its mounts go away with the last process of this test
if [ "${VRCPT_PACKAGE_NS:-}" != "$$" ]; then
	exec env VRCPT_PACKAGE_NS=x unshare --mount --propagation private \
	    -- /bin/bash -c 'VRCPT_PACKAGE_NS=$$ exec /bin/bash "$0" "$@"' \
	    "$0" "$@"
fi

# shellcheck source=../lib/harness.sh
. "$ROOT/tests/lib/harness.sh"
harness_init package
T0=$(date +%s)
skipped=0
skipped() {
	skipped=$((skipped + 1))
	note "SKIP: $*"
}
finish() {
	note "took $(($(date +%s) - T0))s"
	echo "package: $pass passed, $fail failed, $skipped skipped"
	[ "$fail" -eq 0 ]
	exit
}
# stage NAME: a heading, with the seconds since the start
stage() { note "== $1 ($(($(date +%s) - T0))s)"; }

VERSION=$(sed -n 's/^VERSION[[:space:]]*:=[[:space:]]*//p' \
    "$ROOT/GNUmakefile")
R=$WORK/root			# the throwaway root, as this script sees it
TR=/run/vrcpt-test		# the test's own directory, inside the root
PGDIR_IN=/run/vrcpt-test-pg	# PostgreSQL's directory, inside the root
UNIT=/lib/systemd/system/vrcptd.service
MUNIT=/lib/systemd/system/vrcpt-milter.service
PATH_IN=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# --- build -------------------------------------------------------------

stage build
if [ -n "${VRCPT_DEBS:-}" ]; then
	DEBS=$(cd "$VRCPT_DEBS" && pwd -P)
	note "using the packages in $DEBS"
else
	DEBS=$WORK/build
	mkdir -p "$DEBS/vrcpt"
	(cd "$ROOT" && git ls-files -z -co --exclude-standard |
	    tar --null -T - -cf -) | tar -xf - -C "$DEBS/vrcpt"
	opts="parallel=$(nproc)"
	[ "${PACKAGE_UNIT_TESTS:-0}" = 1 ] || opts="$opts nocheck"
	if (cd "$DEBS/vrcpt" && DEB_BUILD_OPTIONS=$opts \
	    dpkg-buildpackage -us -uc -b) >"$WORK/build.log" 2>&1; then
		ok
	else
		tail -n 40 "$WORK/build.log"
		bad "dpkg-buildpackage -us -uc -b failed (log above)"
		finish
	fi
fi
DEB=$DEBS/vrcpt_${VERSION}_$(dpkg --print-architecture).deb
MDEB=$DEBS/vrcpt-milter_${VERSION}_$(dpkg --print-architecture).deb
for f in "$DEB" "$MDEB"; do
	[ -f "$f" ] || { bad "no $f (VERSION $VERSION)"; finish; }
done

# --- versions ----------------------------------------------------------

stage versions
check "debian/changelog version" \
    "$(cd "$ROOT" && dpkg-parsechangelog -S Version)" "$VERSION"
check "CHANGELOG.md's newest entry" \
    "$(sed -n 's/^## \([0-9][^ ]*\).*/\1/p' "$ROOT/CHANGELOG.md" |
    head -n 1)" "$VERSION"
check "package version" "$(dpkg-deb -f "$DEB" Version)" "$VERSION"

# --- lintian -----------------------------------------------------------

stage lintian
lintian --info --display-info --pedantic "$DEB" "$MDEB" \
    >"$WORK/lintian.out" 2>&1
sed 's/^/package: lintian: /' "$WORK/lintian.out"
check "lintian errors and warnings" \
    "$(grep -c '^[EW]: ' "$WORK/lintian.out")" 0

# --- the throwaway root --------------------------------------------------

stage install
mkdir -p "$WORK/layer" "$R"
# unmounted before the harness removes WORK (last of the exit commands):
# its "rm -rf" must never walk into the overlay of "/"; when that fails,
# WORK stays (the mounts end with this namespace anyway)
root_umount() {
	umount -R "$R" 2>/dev/null
	umount "$WORK/layer" 2>/dev/null
	if mountpoint -q "$R" || mountpoint -q "$WORK/layer"; then
		echo "package: cannot unmount $R; keeping $WORK" >&2
		KEEP=1
	fi
}
harness_on_exit root_umount
# /dev: a tmpfs with the few nodes bound in, so that nothing done in
# the root can remove this machine's device nodes
root_dev() {
	local n
	mount -t tmpfs -o mode=755,nosuid dev "$R/dev" || return 1
	for n in null zero full random urandom tty; do
		: >"$R/dev/$n" && mount --bind "/dev/$n" "$R/dev/$n" ||
		    return 1
	done
	ln -s /proc/self/fd "$R/dev/fd"
	ln -s /proc/self/fd/0 "$R/dev/stdin"
	ln -s /proc/self/fd/1 "$R/dev/stdout"
	ln -s /proc/self/fd/2 "$R/dev/stderr"
}
mount -t tmpfs -o mode=755 vrcpt-package "$WORK/layer" &&
    mkdir "$WORK/layer/upper" "$WORK/layer/work" &&
    mount -t overlay vrcpt-package-root -o "lowerdir=/,upperdir=$WORK/layer/upper,workdir=$WORK/layer/work" "$R" &&
    mount -t proc proc "$R/proc" &&
    mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys" &&
    root_dev &&
    mount -t tmpfs -o mode=755 run "$R/run" &&
    mount -t tmpfs -o mode=1777 tmp "$R/tmp" || {
	bad "cannot make the throwaway root (overlay on tmpfs)"
	finish
}
ok
mkdir -p "$R$TR/shim" "$R/run/lock"
chmod 755 "$R$TR"
# no service of any package may start in here
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
chmod 755 "$R/usr/sbin/policy-rc.d"
cp "$DEB" "$MDEB" "$R$TR/"
if chroot "$R" env -i PATH="$PATH_IN" DEBIAN_FRONTEND=noninteractive \
    dpkg -i "$TR/${DEB##*/}" "$TR/${MDEB##*/}" >"$WORK/dpkg.log" 2>&1; then
	ok
else
	cat "$WORK/dpkg.log"
	bad "dpkg -i in the throwaway root failed"
	finish
fi
# what postinst did, and what it printed
sed 's/^/package: dpkg: /' "$WORK/dpkg.log" | grep -v -e '^package: dpkg: (Reading' \
    -e 'Selecting previously' -e 'Preparing to unpack' -e '^package: dpkg: Unpacking' \
    -e '^package: dpkg: Setting up' -e 'Processing triggers'
in_root() { chroot "$R" env -i PATH="$PATH_IN" "$@"; }
check "vrcptd -V" "$(in_root vrcptd -V)" "vrcptd $VERSION"
check "vrcpt-milter -V" "$(in_root vrcpt-milter -V)" "vrcpt-milter $VERSION"
check "vrcpt is a system user" \
    "$(in_root getent passwd vrcpt | cut -d: -f6,7)" \
    "/nonexistent:/usr/sbin/nologin"
check "vrcpt's groups" "$(in_root id -Gn vrcpt | tr ' ' '\n' | sort |
    tr '\n' ' ')" "postfix vrcpt "
check "/etc/vrcpt/vrcptd.cf" "$(in_root stat -c '%a %U %G' /etc/vrcpt/vrcptd.cf)" \
    "640 root vrcpt"
check "its statoverride" \
    "$(in_root dpkg-statoverride --list /etc/vrcpt/vrcptd.cf)" \
    "root vrcpt 640 /etc/vrcpt/vrcptd.cf"
check "conffiles" "$(in_root dpkg-query -W -f='${Conffiles}\n' vrcpt |
    awk 'NF { print $1 }' | sort | tr '\n' ' ')" \
    "/etc/logrotate.d/vrcpt /etc/vrcpt/vrcptd.cf "
check "socket directory in Postfix's chroot" \
    "$(in_root stat -c '%a %U %G' /var/spool/postfix/vrcpt)" "2750 vrcpt postfix"
check "log directory" "$(in_root stat -c '%a %U %G' /var/log/vrcpt)" \
    "2750 vrcpt adm"
check "units installed, not enabled" \
    "$(ls "$R$UNIT" "$R$MUNIT" 2>/dev/null | wc -l)/$(find "$R/etc/systemd" \
    -name 'vrcpt*' 2>/dev/null | wc -l)" "2/0"
check "postfix can reach the socket directory" \
    "$(in_root runuser -u postfix -- test -x /var/spool/postfix/vrcpt &&
    echo yes)" yes
check "others cannot" \
    "$(in_root runuser -u nobody -- test -x /var/spool/postfix/vrcpt ||
    echo no)" no

# --- the unit ------------------------------------------------------------

stage unit
# systemd-analyze verify needs no running systemd; in the root it finds
# the binaries and the man pages of Documentation=
in_root systemd-analyze verify "$UNIT" "$MUNIT" >"$WORK/verify.out" 2>&1
rc=$?
check "systemd-analyze verify (status, output)" \
    "$rc:$(cat "$WORK/verify.out")" "0:"
note "$(in_root systemd-analyze security --offline=true "$UNIT" 2>/dev/null |
    tail -n 1)"

# unit_values FILE KEY: every value of KEY in [Service], in order; an
# empty assignment resets the list, as systemd does
unit_values() {
	awk -v key="$2" '
		/^[ \t]*[#;]/ || /^[ \t]*$/ { next }
		/^\[/ { sec = $0; next }
		sec == "[Service]" && index($0, key "=") == 1 {
			v = substr($0, length(key) + 2)
			if (v == "") n = 0; else vals[n++] = v
		}
		END { for (i = 0; i < n; i++) print vals[i] }' "$R$1"
}
if grep -q '\\$' "$R$UNIT" "$R$MUNIT"; then
	bad "a unit continues a line with \\: this parser does not read that"
fi
check "Type" "$(unit_values "$UNIT" Type)" notify
check "NotifyAccess" "$(unit_values "$UNIT" NotifyAccess)" main
check "ExecReload" "$(unit_values "$UNIT" ExecReload | tail -n 1)" \
    '/bin/kill -HUP $MAINPID'
check "one ExecStart" "$(unit_values "$UNIT" ExecStart | wc -l)" 1

# unit_setup UNIT: what systemd takes from the unit to start a command
unit_setup() {
	local u=$1 g
	U_USER=$(unit_values "$u" User)
	U_GROUP=$(unit_values "$u" Group)
	# initgroups(User, Group), as systemd calls it, plus
	# SupplementaryGroups=
	U_GROUPS=$( { echo "$U_GROUP"; in_root id -Gn "$U_USER" | tr ' ' '\n'
	    unit_values "$u" SupplementaryGroups | tr ' ' '\n'; } |
	    grep -v -x '' | sort -u | paste -sd, -)
	U_UMASK=$(unit_values "$u" UMask)
	U_NOFILE=$(unit_values "$u" LimitNOFILE)
	case $U_NOFILE in *:*) ;; ?*) U_NOFILE=$U_NOFILE:$U_NOFILE ;; esac
	U_RUNTIME=$(unit_values "$u" RuntimeDirectory)
	U_RUNTIME_MODE=$(unit_values "$u" RuntimeDirectoryMode)
	U_RWPATHS=$(unit_values "$u" ReadWritePaths | tr ' ' '\n')
	U_PROTECT=$(unit_values "$u" ProtectSystem)
	U_PRIVTMP=$(unit_values "$u" PrivateTmp)
	U_HOME=$(unit_values "$u" ProtectHome)
	# RuntimeDirectory=: made before the first command, owned by User
	for g in $U_RUNTIME; do
		install -d -o "$(in_root id -u "$U_USER")" \
		    -g "$(in_root getent group "$U_GROUP" | cut -d: -f3)" \
		    -m "${U_RUNTIME_MODE:-0755}" "$R/run/$g"
	done
}
# unit_cmd COMMAND-LINE: UCMD, the command that runs it in the root as
# the unit runs its commands (from unit_setup), NOTIFY_SOCKET set; every
# step "exec"s, so that $! of a background "${UCMD[@]}" is the daemon
unit_cmd() {
	local rw="" p
	for p in $U_RWPATHS; do
		p=${p#-}
		[ -e "$R$p" ] && rw="$rw $p"
	done
	for p in $U_RUNTIME; do rw="$rw /run/$p"; done
	# shellcheck disable=SC2206
	UCMD=(chroot "$R" /usr/bin/env -i PATH="$PATH_IN" LANG=C.UTF-8
	    NOTIFY_SOCKET="$TR/notify.sock"
	    ${U_RUNTIME:+RUNTIME_DIRECTORY=/run/${U_RUNTIME%% *}}
	    unshare --mount --propagation private -- /bin/sh -c '
		set -e
		rw=$1 strict=$2 privtmp=$3 home=$4 umask=$5 nofile=$6
		user=$7 group=$8 groups=$9
		shift 9
		if [ "$strict" = strict ]; then
			for p in $rw; do mount --bind "$p" "$p"; done
			for p in / /run /tmp; do
				mount -o remount,bind,ro "$p"
			done
		fi
		if [ "$privtmp" = yes ]; then
			mount -t tmpfs -o mode=1777 tmp /tmp
			mount -t tmpfs -o mode=1777 vartmp /var/tmp
		fi
		if [ "$home" = yes ]; then
			mount -t tmpfs -o mode=000 home /home
			mount -t tmpfs -o mode=000 root /root
		fi
		umask "$umask"
		exec prlimit --nofile="$nofile" -- setpriv --reuid="$user" \
		    --regid="$group" --groups="$groups" --inh-caps=-all \
		    --bounding-set=-all --no-new-privs -- "$@"' sh
	    "$rw" "$U_PROTECT" "$U_PRIVTMP" "$U_HOME" "${U_UMASK:-0022}"
	    "${U_NOFILE:-1024:524288}" "$U_USER" "$U_GROUP" "$U_GROUPS"
	    $1)
}
# unit_exec COMMAND-LINE: run it so, in the foreground
unit_exec() {
	unit_cmd "$1"
	"${UCMD[@]}"
}
unit_setup "$UNIT"
check "User/Group/SupplementaryGroups (with the user's own)" \
    "$U_USER/$U_GROUP/$U_GROUPS" "vrcpt/vrcpt/postfix,vrcpt"
note "runs as: user $U_USER, group $U_GROUP, groups $U_GROUPS," \
    "umask $U_UMASK, nofile $U_NOFILE, ProtectSystem=$U_PROTECT," \
    "writable: /run/$U_RUNTIME" $U_RWPATHS

# The shipped configuration works without PostgreSQL (and without this
# test's changes): ExecStartPre as the unit runs it
out=$(unit_exec "$(unit_values "$UNIT" ExecStartPre)" 2>&1)
check "the shipped vrcptd.cf passes ExecStartPre (vrcptd -t)" \
    "$?:$out" "0:"

# --- Debian-mode files and a database ------------------------------------

stage daemon
PGTMP_NO_TRAP=0
if ! pgtmp_start "$R$PGDIR_IN" >"$WORK/pgtmp.out" 2>&1; then
	cat "$WORK/pgtmp.out"
	bad "PostgreSQL did not start"
	finish
fi
# pgtmp's trap is replaced by the harness's, which stops it after vrcptd
trap harness_cleanup EXIT
harness_on_exit 'pgtmp_stop >/dev/null 2>&1'
if ! pgtmp_psql -f "$ROOT/policy/ispmail.sql" \
    -f "$ROOT/policy/ispmail-sample.sql" \
    -f "$ROOT/policy/triggers-ispmail.sql" \
    -c "CREATE VIEW virtual_users_v2 AS SELECT email FROM virtual_users
        UNION ALL SELECT 'newbie@example.com'" >"$WORK/load.log" 2>&1; then
	cat "$WORK/load.log"
	bad "loading the ISPmail schema, sample data and triggers"
	finish
fi
ok
PASSWORD=not-for-others-$$
for f in "$ROOT"/policy/pgsql-*.cf; do
	awk -v hosts="unix:$PGDIR_IN" -v pw="$PASSWORD" '
		/^[ \t]*hosts[ \t]*=/	 { print "hosts = " hosts; next }
		/^[ \t]*user[ \t]*=/	 { print "user = postgres"; next }
		/^[ \t]*password[ \t]*=/ { print "password = " pw; next }
		/^[ \t]*dbname[ \t]*=/	 { print "dbname = vrcpt"; next }
					 { print }' "$f" >"$R/etc/postfix/${f##*/}"
done
# as the ISPmail guide and README.Debian have them
chown root:postfix "$R"/etc/postfix/pgsql-*.cf
chmod 640 "$R"/etc/postfix/pgsql-*.cf
METRICS_PORT=$(pf_free_port)
MILTER_PORT=$(pf_free_port)
# the package's file, with the maps, a log file and metrics: edited as
# an administrator would (the file keeps its mode and owner)
sed -i -e 's/^#\(virtual_\|    pgsql:\|recipient_delimiter\)/\1/' \
    -e 's|^#maillog_file = .*|maillog_file = /var/log/vrcpt/vrcptd.log|' \
    -e "s|^#metrics_listen = .*|metrics_listen = inet:127.0.0.1:$METRICS_PORT|" \
    -e "s|^#milter_listen = .*|milter_listen = inet:127.0.0.1:$MILTER_PORT|" \
    "$R/etc/vrcpt/vrcptd.cf"
check "vrcptd.cf keeps its mode" \
    "$(in_root stat -c '%a %U %G' /etc/vrcpt/vrcptd.cf)" "640 root vrcpt"
check "the map files: a password others cannot read" \
    "$(in_root runuser -u nobody -- cat /etc/postfix/pgsql-virtual-mailbox-maps.cf \
    2>/dev/null | grep -c "$PASSWORD")" 0
# the group is what lets vrcptd read them: without it ExecStartPre fails
saved=$U_GROUPS
U_GROUPS=vrcpt
unit_exec "$(unit_values "$UNIT" ExecStartPre)" >"$WORK/nogroup.out" 2>&1
rc=$?
U_GROUPS=$saved
check "without the group postfix, vrcptd -t fails" \
    "$rc/$(grep -c 'pgsql-virtual-mailbox-domains.cf' "$WORK/nogroup.out")" "1/1"
out=$(unit_exec "$(unit_values "$UNIT" ExecStartPre)" 2>&1)
check "ExecStartPre with the maps" "$?:$out" "0:"

# NOTIFY_SOCKET: a datagram socket; one line per field, "PID FIELD"
cat >"$WORK/notify.py" <<'EOF'
import os, socket, struct, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(path)
os.chmod(path, 0o777)
open(out, "a").close()
while True:
    msg, anc, _, _ = s.recvmsg(65536, socket.CMSG_SPACE(12))
    pid = "?"
    for lvl, typ, data in anc:
        if lvl == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
            pid = str(struct.unpack("iII", data[:12])[0])
    with open(out, "a") as f:
        for field in msg.decode(errors="replace").split("\n"):
            if field:
                f.write(pid + " " + field + "\n")
EOF
NOTIFY_LOG=$WORK/notify.log
python3 "$WORK/notify.py" "$R$TR/notify.sock" "$NOTIFY_LOG" \
    >"$WORK/notify.err" 2>&1 &
NOTIFY_PID=$!
harness_on_exit "kill $NOTIFY_PID 2>/dev/null; wait $NOTIFY_PID 2>/dev/null"
retry 5 test -S "$R$TR/notify.sock" || bad "the notify listener did not start"
# notified FIELD [AFTER]: a line "PID FIELD" from the daemon after line AFTER
notified() {
	tail -n +"$((${2:-0} + 1))" "$NOTIFY_LOG" 2>/dev/null |
	    grep -q -x "$VPID $1"
}

# ExecStart, as the unit runs it
SOCK=/var/spool/postfix/vrcpt/policy
unit_cmd "$(unit_values "$UNIT" ExecStart)"
"${UCMD[@]}" >"$WORK/vrcptd.out" 2>&1 &
VPID=$!
harness_on_exit "vrcptd_stop"
vrcptd_stop() {
	[ -n "${VPID:-}" ] || return 0
	kill -TERM "$VPID" 2>/dev/null
	retry 10 eval '! kill -0 "$VPID" 2>/dev/null' || kill -KILL "$VPID"
	wait "$VPID" 2>/dev/null
	VPID=
}
# up: vrcptd runs and accepts on its socket (a connection, not
# /proc/net/unix: another test's vrcptd may listen on the same path in
# its own root)
up() {
	kill -0 "$VPID" 2>/dev/null &&
	    perl -MIO::Socket::UNIX -e \
	    'exit !IO::Socket::UNIX->new(Peer => $ARGV[0])' "$R$SOCK"
}
if ! retry 20 up; then
	cat "$WORK/vrcptd.out"
	bad "vrcptd does not accept on $SOCK"
	finish
fi
ok
pcs() { pc "unix:$R$SOCK" ask recipient="$1"; }
UNK="550 5.1.1 User unknown in virtual mailbox table"
check "a known recipient" "$(pcs john@example.com)" DUNNO
check "an unknown recipient" "$(pcs nosuch@example.com)" "$UNK"
check "process uid/gid" "$(awk '/^Uid:/ { u = $2 } /^Gid:/ { g = $2 }
    END { print u "/" g }' "/proc/$VPID/status")" \
    "$(in_root id -u vrcpt)/$(in_root id -g vrcpt)"
check "process groups" "$(awk '/^Groups:/ { $1 = ""; print }' \
    "/proc/$VPID/status" | tr ' \t' '\n\n' | grep -v '^$' | sort -n |
    paste -sd' ')" \
    "$( { in_root getent group postfix; in_root getent group vrcpt; } |
    cut -d: -f3 | sort -n | paste -sd' ')"
check "socket" "$(in_root stat -c '%U %G %a' "$SOCK")" "vrcpt postfix 660"
can_connect() {
	chroot "$R" runuser -u "$1" -- perl -MIO::Socket::UNIX -e \
	    'print IO::Socket::UNIX->new(Peer => $ARGV[0]) ? "yes" : "no"' \
	    "$SOCK"
}
check "postfix can connect" "$(can_connect postfix)" yes
check "nobody cannot connect" "$(can_connect nobody)" no
check "open-file limit" "$(awk '/^Max open files/ { print $4 ":" $5 }' \
    "/proc/$VPID/limits")" "$U_NOFILE"
retry 20 notified READY=1 || true
check "READY=1 from the main pid (NotifyAccess=main)" \
    "$(grep -c -x "$VPID READY=1" "$NOTIFY_LOG")" 1
check "a STATUS= line" \
    "$(grep -c "^$VPID STATUS=." "$NOTIFY_LOG" | awk '{ print ($1 > 0) }')" 1
check "nothing from another pid" \
    "$(grep -v -c "^$VPID " "$NOTIFY_LOG")" 0
note "notifications: $(paste -sd'|' "$NOTIFY_LOG" | cut -c1-300)"

# --- reload after a map change --------------------------------------------

stage reload
check "before the change" "$(pcs newbie@example.com)" "$UNK"
sed -i 's/FROM virtual_users WHERE/FROM virtual_users_v2 WHERE/' \
    "$R/etc/postfix/pgsql-virtual-mailbox-maps.cf"
check "the map changed, mode kept" "$(grep -c virtual_users_v2 \
    "$R/etc/postfix/pgsql-virtual-mailbox-maps.cf")/$(in_root stat -c '%a %U %G' \
    /etc/postfix/pgsql-virtual-mailbox-maps.cf)" "1/640 root postfix"
nlines=$(wc -l <"$NOTIFY_LOG")
n=0
while IFS= read -r line; do
	n=$((n + 1))
	line=${line//\$MAINPID/$VPID}
	out=$(unit_exec "$line" 2>&1)
	check "ExecReload #$n ($line)" "$?:$out" "0:"
done < <(unit_values "$UNIT" ExecReload)
got=
for _ in $(seq 100); do
	got=$(pcs newbie@example.com)
	[ "$got" = DUNNO ] && break
	sleep 0.1
done
check "after the reload the new map answers" "$got" DUNNO
check "the old answers stay" "$(pcs john@example.com)/$(pcs nosuch@example.com)" \
    "DUNNO/$UNK"
check "still the same process" "$(kill -0 "$VPID" 2>/dev/null && echo yes)" yes
retry 10 notified READY=1 "$nlines" || true
check "RELOADING=1, then READY=1" "$(tail -n +"$((nlines + 1))" \
    "$NOTIFY_LOG" | grep -x -e "$VPID RELOADING=1" -e "$VPID READY=1" |
    cut -d' ' -f2 | head -n 2 | paste -sd' ')" "RELOADING=1 READY=1"

# --- log rotation -----------------------------------------------------------

stage logrotate
LOG=/var/log/vrcpt/vrcptd.log
retry 5 grep -q 'reject: RCPT' "$R$LOG" || true
check "vrcptd logs to its file" "$(grep -c 'NOQUEUE: reject: RCPT' "$R$LOG" |
    awk '{ print ($1 > 0) }')" 1
check "log file mode" "$(in_root stat -c '%a %U %G' "$LOG")" "640 vrcpt adm"
cp "$R$LOG" "$WORK/vrcptd.log.before"
# systemctl, for logrotate's postrotate: what it was asked to do
cat >"$R$TR/shim/systemctl" <<EOF
#!/bin/sh
echo "\$*" >>$TR/systemctl.calls
EOF
chmod 755 "$R$TR/shim/systemctl"
if chroot "$R" env -i PATH="$TR/shim:$PATH_IN" logrotate -f \
    -s "$TR/logrotate.state" /etc/logrotate.d/vrcpt \
    >"$WORK/logrotate.out" 2>&1; then
	ok
else
	cat "$WORK/logrotate.out"
	bad "logrotate -f /etc/logrotate.d/vrcpt failed"
fi
check "rotated" "$(cmp -s "$R$LOG.1" "$WORK/vrcptd.log.before" && echo yes)" yes
check "a new, empty log file" "$(in_root stat -c '%s %a %U %G' "$LOG")" "0 640 vrcpt adm"
check "postrotate signals vrcptd" "$(cat "$R$TR/systemctl.calls" 2>/dev/null)" \
    "kill --kill-whom=main --signal=USR1 vrcptd.service"
# SigCgt: the signals vrcptd catches; SIGUSR1 is bit 10
sigcgt=$(awk '/^SigCgt:/ { print $2 }' "/proc/$VPID/status")
check "vrcptd catches SIGUSR1" "$(( (16#$sigcgt >> 9) & 1 ))" 1
# what "systemctl kill --kill-whom=main --signal=USR1" does
kill -USR1 "$VPID"
sleep 0.5
pcs "rotated$$@example.com" >/dev/null
retry 5 grep -q "rotated$$@" "$R$LOG" || true
check "after SIGUSR1, vrcptd writes into the new file" \
    "$(grep -c "rotated$$@" "$R$LOG")/$(grep -c "rotated$$@" "$R$LOG.1")" "1/0"
check "still running" "$(kill -0 "$VPID" 2>/dev/null && echo yes)" yes

# --- metrics ------------------------------------------------------------

stage metrics
http_get "inet:127.0.0.1:$METRICS_PORT" /metrics >"$WORK/metrics.http"
check "GET /metrics" "$(head -n 1 "$WORK/metrics.http")" 200
tail -n +2 "$WORK/metrics.http" >"$WORK/metrics.txt"
out=$(promtool check metrics <"$WORK/metrics.txt" 2>&1)
check "promtool check metrics" "$?:$out" "0:"
# every metric the alert rules and the dashboard use is there
used=$( { grep -o 'vrcpt_[a-z_]*' "$R/usr/share/doc/vrcpt/examples/prometheus-vrcpt.rules.yml"
    grep -o 'vrcpt_[a-z_]*' "$R/usr/share/doc/vrcpt/examples/grafana-vrcpt.json"; } |
    sed -E 's/_(bucket|sum|count)$//' | sort -u)
missing=$(for m in $used; do
	grep -q "^# TYPE $m " "$WORK/metrics.txt" || echo "$m"
done | paste -sd' ')
check "metrics of the rules and the dashboard" "$missing" ""
check "vrcpt_cache_trusted (triggers loaded, LISTEN up)" \
    "$(metric_value "inet:127.0.0.1:$METRICS_PORT" vrcpt_cache_trusted)" 1

# --- vrcpt-milter's unit ---------------------------------------------------

stage milter
MAIN_RT=$U_RUNTIME
unit_setup "$MUNIT"
# no SupplementaryGroups=postfix; the user's own membership applies
check "milter: User/Group/groups" "$U_USER/$U_GROUP/$U_GROUPS" \
    "vrcpt/vrcpt/postfix,vrcpt"
check "milter: no SupplementaryGroups=" \
    "$(unit_values "$MUNIT" SupplementaryGroups)" ""
# it needs no group postfix: run it without
U_GROUPS=vrcpt
out=$(unit_exec "$(unit_values "$MUNIT" ExecStartPre)" 2>&1)
check "milter ExecStartPre without the group postfix" "$?:$out" "0:"
unit_cmd "$(unit_values "$MUNIT" ExecStart)"
"${UCMD[@]}" >"$WORK/milter.out" 2>&1 &
MPID=$!
harness_on_exit "kill $MPID 2>/dev/null; wait $MPID 2>/dev/null"
port_hex=$(printf '%04X' "$MILTER_PORT")
if retry 10 grep -q ":$port_hex 00000000:0000 0A" /proc/net/tcp; then
	ok
else
	cat "$WORK/milter.out"
	bad "vrcpt-milter does not listen on 127.0.0.1:$MILTER_PORT"
fi
kill -TERM "$MPID" 2>/dev/null
retry 10 eval '! kill -0 "$MPID" 2>/dev/null' || bad "vrcpt-milter did not stop"
U_RUNTIME=$MAIN_RT

# --- stop ----------------------------------------------------------------

stage stop
nlines=$(wc -l <"$NOTIFY_LOG")
kill -TERM "$VPID"
retry 10 eval '! kill -0 "$VPID" 2>/dev/null'
wait "$VPID"
check "SIGTERM: vrcptd exits 0" "$?" 0
VPID_DONE=$VPID
VPID=
check "STOPPING=1" "$(tail -n +"$((nlines + 1))" "$NOTIFY_LOG" |
    grep -c -x "$VPID_DONE STOPPING=1")" 1
check "the socket is gone" "$(test -e "$R$SOCK" || echo gone)" gone

# --- documents -------------------------------------------------------------

stage docs
mkdir -p "$WORK/man"
for f in "$R"/usr/share/man/man[58]/vrcpt*; do
	zcat "$f" >"$WORK/man/$(basename "$f" .gz)"
done
check "installed man pages" "$(ls "$WORK/man" | paste -sd' ')" \
    "vrcpt-milter.8 vrcptctl.8 vrcptd.8 vrcptd.cf.5"
out=$("$ROOT/tests/package/man.sh" "$WORK"/man/*)
rc=$?
check "they render without warnings" "$rc" 0
[ "$rc" -eq 0 ] || echo "$out"
EX=$R/usr/share/doc/vrcpt/examples
out=$(promtool check rules "$EX/prometheus-vrcpt.rules.yml" 2>&1)
check "promtool check rules" "$?" 0
out=$(cd "$ROOT/tests/package" && promtool test rules prometheus-vrcpt.test.yml 2>&1)
check "promtool test rules: $(echo "$out" | grep -v '^ *$' | tail -n 1)" "$?" 0
check "grafana-vrcpt.json is JSON" "$(python3 -m json.tool \
    "$EX/grafana-vrcpt.json" >/dev/null && echo yes)" yes
# the jail loads with Debian's configuration (its own logpath)
mkdir -p "$WORK/f2b"
cp -a /etc/fail2ban "$WORK/f2b/"
rm -f "$WORK/f2b/fail2ban/jail.d/"*
cp "$EX/fail2ban-vrcpt.conf" "$WORK/f2b/fail2ban/jail.d/vrcpt.conf"
: >"$WORK/f2b/mail.log"
printf '[DEFAULT]\npostfix_log = %s\n' "$WORK/f2b/mail.log" \
    >"$WORK/f2b/fail2ban/paths-overrides.local"
out=$(fail2ban-client -c "$WORK/f2b/fail2ban" -t 2>&1)
check "fail2ban-client -t with the jail" "$?" 0
filter=$(sed -n 's/^filter *= *//p' "$EX/fail2ban-vrcpt.conf")
# Postfix's own line for a vrcptd reject matches ...
printf '%s mx postfix/smtpd[4242]: NOQUEUE: reject: RCPT from probe.example.net[192.0.2.7]: %s <nosuch@example.com>: Recipient address rejected: User unknown in virtual mailbox table; from=<a@example.net> to=<nosuch@example.com> proto=ESMTP helo=<probe.example.net>\n' \
    "$(date '+%b %e %H:%M:%S')" "550 5.1.1" >"$WORK/f2b/postfix.log"
check "the jail's filter matches Postfix's reject line" \
    "$(fail2ban-regex "$WORK/f2b/postfix.log" "$filter" 2>&1 |
    sed -n 's/^Lines: [0-9]* lines, [0-9]* ignored, \([0-9]*\) matched.*/\1/p')" 1
# ... and vrcptd's own lines (its real log) never do
check "... and none of vrcptd's own lines ($(cat "$R$LOG.1" "$R$LOG" |
    grep -c 'reject:') rejects)" \
    "$(cat "$R$LOG.1" "$R$LOG" >"$WORK/f2b/vrcptd.log"
    fail2ban-regex "$WORK/f2b/vrcptd.log" "$filter" 2>&1 |
    sed -n 's/^Lines: [0-9]* lines, [0-9]* ignored, \([0-9]*\) matched.*/\1/p')" 0

# --- purge ---------------------------------------------------------------

stage purge
if in_root dpkg --purge vrcpt-milter vrcpt >"$WORK/purge.log" 2>&1; then
	ok
else
	cat "$WORK/purge.log"
	bad "dpkg --purge failed"
fi
check "purge removes the configuration, the directories, the override" \
    "$(ls -d "$R/etc/vrcpt" "$R/var/log/vrcpt" "$R/var/spool/postfix/vrcpt" \
    2>/dev/null | wc -l)/$(in_root dpkg-statoverride --list \
    /etc/vrcpt/vrcptd.cf | wc -l)" "0/0"

finish
