# tests/lib/dovecot.sh - a throwaway Dovecot (Debian 12: dovecot-core
# 2.3) that serves SASL authentication only, for Postfix's
# smtpd_sasl_type = dovecot. Source it from bash after
# tests/lib/harness.sh (it uses daemon_start, so the Dovecot master is
# stopped at exit, by pid).
#
#   dovecot_available
#	dovecot is installed (scripts/deps.sh check); a message otherwise
#   dovecot_start DIR USER PASSWORD
#	write DIR/dovecot.conf: no mail protocols, no listener but the
#	SASL socket DIR/auth (mode 0666, for Postfix's smtpd), a
#	passwd-file passdb (DIR/users) with USER and PASSWORD (PLAIN
#	scheme), a static userdb; log in DIR/dovecot.log. Start it in the
#	foreground as daemon "dovecot" and wait until DIR/auth listens.
#	Status 1 (and bad) when it does not start. In Postfix:
#	    smtpd_sasl_auth_enable = yes
#	    smtpd_sasl_type = dovecot
#	    smtpd_sasl_path = DIR/auth
#	(without chroot an absolute path works; Debian's chrooted smtpd
#	takes private/auth, the socket under /var/spool/postfix)
#
# DIR must be searchable by the user "dovecot" (the auth process reads
# DIR/users) and by Postfix's mail owner (it connects to DIR/auth).

dovecot_available() {
	if ! command -v dovecot >/dev/null; then
		echo "dovecot.sh: dovecot-core is not installed" \
		    "(scripts/deps.sh check)" >&2
		return 1
	fi
}

dovecot_start() {
	local dir=$1 user=$2 password=$3
	mkdir -p "$dir" && chmod 755 "$dir" || return 1
	# passwd-file: user:{scheme}password:uid:gid:gecos:home:shell:extra
	printf '%s:{PLAIN}%s::::::\n' "$user" "$password" >"$dir/users"
	chmod 644 "$dir/users"
	cat >"$dir/dovecot.conf" <<EOF
# written by tests/lib/dovecot.sh: SASL for Postfix, nothing else
base_dir = $dir/run
state_dir = $dir/state
protocols =
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = $dir/dovecot.log
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dir/users
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=/nonexistent
}
service auth {
  unix_listener $dir/auth {
    mode = 0666
  }
}
EOF
	daemon_start dovecot "$dir/auth" dovecot -F -c "$dir/dovecot.conf"
}
