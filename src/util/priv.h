#ifndef VRCPT_PRIV_H
#define VRCPT_PRIV_H
/*
 * priv - leave root after binding, for vrcptd and vrcpt-milter; the
 * group of their sockets.
 */
#include <sys/types.h>

#include <stdbool.h>

/*
 * priv_drop - when running as root, become user (its uid, primary gid
 * and its supplementary groups, as initgroups() gives them) for good; a
 * warning when user is empty.
 * Fatal when the user does not exist, has uid 0, or the switch fails or
 * can be undone. Does nothing when not root.
 */
void	priv_drop(const char *user);

/*
 * priv_socket_group - the group unix sockets are given (listen_group):
 * its gid, or (gid_t)-1 for none (name empty). A group that does not
 * exist is fatal when set (is_default false); at the default it is a
 * warning and the sockets keep the daemon's group.
 */
gid_t	priv_socket_group(const char *name, bool is_default,
	    const char *param);

#endif
