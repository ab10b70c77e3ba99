#ifndef VRCPT_PRIV_H
#define VRCPT_PRIV_H
/*
 * priv - leave root after binding, for vrcptd and vrcpt-milter.
 */

/*
 * priv_drop - when running as root, become user (its uid, primary gid
 * and its supplementary groups, as initgroups() gives them) for good; a
 * warning when user is empty.
 * Fatal when the user does not exist, has uid 0, or the switch fails or
 * can be undone. Does nothing when not root.
 */
void	priv_drop(const char *user);

#endif
