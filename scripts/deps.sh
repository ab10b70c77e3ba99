#!/bin/bash
# deps.sh - install the Debian 12 packages vrcpt needs, if missing.
#
#   scripts/deps.sh build   compile vrcptd, vrcptctl, vrcpt-milter and
#                           the unit tests
#   scripts/deps.sh fuzz    build + clang and libFuzzer ("make fuzz")
#   scripts/deps.sh run     build + PostgreSQL 15 and Redis ("make run")
#   scripts/deps.sh check   run + what the tests drive: Postfix with pgsql,
#                           lmdb, cdb and pcre maps, swaks, pflogsumm,
#                           fail2ban (its fail2ban-regex checks deploy/
#                           filters), miltertest, valgrind, pgbouncer,
#                           Dovecot (SASL for the end-to-end tests),
#                           Redis Sentinel, clang and libFuzzer
#                           ("make check"; default)
#   scripts/deps.sh package build + what "make check-package" needs:
#                           debhelper, devscripts, lintian (build and lint
#                           the .debs), logrotate (the shipped rotation),
#                           prometheus (its promtool checks the rules and
#                           /metrics), PostgreSQL 15, Postfix (group
#                           "postfix", Debian's /etc/postfix), fail2ban,
#                           systemd (systemd-analyze verify; it need not
#                           run)
#
# Decides with dpkg-query what is missing; prints nothing and exits 0
# when nothing is. As root it runs "apt-get update" once and installs the
# missing packages without recommends and without questions (Postfix is
# preseeded to "No configuration"). Services of freshly installed
# packages are kept from starting (a temporary policy-rc.d, only if the
# machine has none), and a system Postfix that the install started anyway
# is stopped again; nothing that ran before is touched. Not root: prints
# the apt-get command to run and exits 1.
#
# All of these exist in Debian 12 (bookworm): fail2ban 1.0.2,
# miltertest 2.11.0~beta2, postgresql 15, postfix 3.7, dovecot-core 2.3,
# redis-sentinel 7.0.
set -u

BUILD_PKGS="build-essential pkg-config libpq-dev libevent-dev libhiredis-dev
    check libmilter-dev libdb-dev liblmdb-dev libcdb-dev libpcre2-dev
    libicu-dev"
RUN_PKGS="postgresql redis-server"
CHECK_PKGS="postfix postfix-pgsql postfix-lmdb postfix-cdb postfix-pcre swaks
    pflogsumm fail2ban miltertest valgrind pgbouncer dovecot-core
    redis-sentinel"
# clang with its runtime libraries: libclang_rt.fuzzer, asan, ubsan
FUZZ_PKGS="clang libclang-rt-dev"
PG_BIN=/usr/lib/postgresql/15/bin
POLICY_RC=/usr/sbin/policy-rc.d
# "make check-package" (tests/package/run.sh)
PACKAGE_PKGS="debhelper devscripts fakeroot lintian logrotate prometheus
    postgresql postfix fail2ban man-db groff-base python3 systemd adduser"

mode=${1:-check}
case $mode in
build)	want="$BUILD_PKGS" ;;
fuzz)	want="$BUILD_PKGS $FUZZ_PKGS" ;;
run)	want="$BUILD_PKGS $RUN_PKGS" ;;
check)	want="$BUILD_PKGS $RUN_PKGS $CHECK_PKGS $FUZZ_PKGS" ;;
package) want="$BUILD_PKGS $PACKAGE_PKGS" ;;
-h|--help|help)
	sed -n '2,/^set -u/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
	exit 0 ;;
*)	echo "usage: $0 [build|fuzz|run|check|package]" >&2
	exit 2 ;;
esac

# missing PKG... - print the packages that are not installed
missing() {
	local p st
	for p in "$@"; do
		st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
		case $st in
		*" ok installed") ;;
		*)	printf '%s\n' "$p" ;;
		esac
	done
}

# shellcheck disable=SC2086
todo=$(missing $want | tr '\n' ' ')
todo=${todo% }
if [ -z "$todo" ]; then
	case " $want " in
	*" postgresql "*)
		if [ ! -x "$PG_BIN/initdb" ]; then
			echo "deps.sh: postgresql is installed but $PG_BIN" \
			    "is not PostgreSQL 15 (install postgresql-15)" >&2
			exit 1
		fi ;;
	esac
	exit 0
fi

install_cmd="apt-get install -y --no-install-recommends $todo"
if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing Debian packages: $todo" >&2
	echo "deps.sh: as root, run:" >&2
	case " $todo " in
	*" postfix "*)
		echo "  echo 'postfix postfix/main_mailer_type select" \
		    "No configuration' | debconf-set-selections" >&2 ;;
	esac
	echo "  apt-get update && DEBIAN_FRONTEND=noninteractive $install_cmd" >&2
	exit 1
fi

echo "deps.sh: installing $todo" >&2

# system_postfix_pid - the pid of the running system Postfix master
system_postfix_pid() {
	local pid
	pid=$({ tr -cd '0-9' </var/spool/postfix/pid/master.pid; } 2>/dev/null)
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# Was a system Postfix running before?
postfix_was_running=no
if system_postfix_pid >/dev/null; then
	postfix_was_running=yes
fi

# Keep the packages' services from starting (invoke-rc.d asks
# policy-rc.d; 101 = "action forbidden"). Only our own file is removed.
own_policy_rc=no
cleanup() {
	if [ "$own_policy_rc" = yes ]; then
		rm -f "$POLICY_RC"
	fi
}
trap cleanup EXIT
if [ ! -e "$POLICY_RC" ]; then
	printf '#!/bin/sh\n# written by vrcpt scripts/deps.sh for one install\nexit 101\n' \
	    >"$POLICY_RC" && chmod 755 "$POLICY_RC" && own_policy_rc=yes
fi

case " $todo " in
*" postfix "*)
	echo "postfix postfix/main_mailer_type select No configuration" |
	    debconf-set-selections ;;
esac

export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq; then
	echo "deps.sh: apt-get update failed" >&2
	exit 1
fi
# shellcheck disable=SC2086
if ! apt-get install -y -qq --no-install-recommends $todo; then
	echo "deps.sh: failed: $install_cmd" >&2
	exit 1
fi
cleanup
own_policy_rc=no

# A system Postfix that the install started after all: stop it again.
if [ "$postfix_was_running" = no ]; then
	if pf_pid=$(system_postfix_pid); then
		echo "deps.sh: stopping the system Postfix the install started" >&2
		postfix stop >/dev/null 2>&1 || kill "$pf_pid"
	fi
fi

# shellcheck disable=SC2086
still=$(missing $want | tr '\n' ' ')
if [ -n "${still% }" ]; then
	echo "deps.sh: still missing after install: $still" >&2
	exit 1
fi
echo "deps.sh: done" >&2
exit 0
