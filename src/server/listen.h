#ifndef VRCPT_LISTEN_H
#define VRCPT_LISTEN_H
/*
 * listen - create listening sockets from "unix:/path" and
 * "inet:host:port" endpoints (Postfix check_policy_service syntax).
 *
 * Unix sockets: a stale socket file is removed first (never any other
 * kind of file), the mode is set after bind. Inet: numeric or resolvable
 * host, SO_REUSEADDR. All sockets are non-blocking and close-on-exec.
 */
#include <sys/types.h>

#define LISTEN_ERR_LEN		256
#define LISTEN_BACKLOG		511

/*
 * listen_open - open one endpoint. Returns the fd, or -1 with err set.
 */
int	listen_open(const char *endpoint, mode_t unix_mode,
	    char err[LISTEN_ERR_LEN]);
/* listen_unix_path - the path of a "unix:" endpoint, or NULL */
const char *listen_unix_path(const char *endpoint);

#endif
