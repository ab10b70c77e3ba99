/*
 * priv - dropping root. See priv.h.
 *
 * Depends on: libc, util/log. Security: the order matters (groups, then
 * gid, then uid), and the result is checked by trying to get root back.
 * The user's supplementary groups are kept: they are how it reads files
 * that only its groups may read, after the drop as before.
 */
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/priv.h"

void
priv_drop(const char *user)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return;
	if (user == NULL || *user == '\0') {
		msg_warn("running as root: set \"user = vrcpt\" (or run "
		    "under systemd's DynamicUser) to drop privileges");
		return;
	}
	if ((pw = getpwnam(user)) == NULL)
		msg_fatal("user \"%s\" does not exist", user);
	if (pw->pw_uid == 0)
		msg_fatal("user \"%s\" has uid 0", user);
	/*
	 * The user's own groups too (initgroups): "postfix" lets it read
	 * Postfix's 0640 root:postfix map files again at a reload, as
	 * Postfix's daemons read them.
	 */
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		msg_fatal("cannot drop privileges to %s: %s", user,
		    strerror(errno));
	if (setuid(0) == 0)
		msg_fatal("privileges were not dropped");
}

gid_t
priv_socket_group(const char *name, bool is_default, const char *param)
{
	struct group *gr;

	if (name == NULL || *name == '\0')
		return (gid_t)-1;
	errno = 0;
	if ((gr = getgrnam(name)) != NULL)
		return gr->gr_gid;
	if (!is_default)
		msg_fatal("%s = %s: no such group%s%s", param, name,
		    errno != 0 ? ": " : "", errno != 0 ? strerror(errno) : "");
	msg_warn("%s: no group %s here (is Postfix installed?): the sockets "
	    "keep vrcpt's own group; set %s to the group Postfix's smtpd "
	    "runs with", param, name, param);
	return (gid_t)-1;
}
