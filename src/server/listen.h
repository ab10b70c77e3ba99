#ifndef VRCPT_LISTEN_H
#define VRCPT_LISTEN_H
/*
 * listen - create listening sockets from endpoints (conf/endpoint.h:
 * unix:/path, inet:host:port, inet:port).
 *
 * Unix sockets: a stale socket file is removed first (never any other
 * kind of file, nor a socket some process still accepts on: that is an
 * error), the socket is created with the mode asked for (umask around
 * bind) and the mode set again after (chmod: umask cannot add bits). Inet: numeric or resolvable
 * host, SO_REUSEADDR. All sockets are non-blocking and close-on-exec.
 */
#include <sys/types.h>

struct endpoint;

#define LISTEN_ERR_LEN		512
#define LISTEN_BACKLOG		511

/*
 * listen_open - open one endpoint; a unix socket gets unix_mode and
 * group unix_gid ((gid_t)-1: the process's). Returns the fd, or -1 with
 * err set.
 */
int	listen_open(const struct endpoint *ep, mode_t unix_mode, gid_t unix_gid,
	    char err[LISTEN_ERR_LEN]);
/* listen_close - close fd and remove the socket file of a unix endpoint */
void	listen_close(const struct endpoint *ep, int fd);
/*
 * listen_unlink - remove the socket file only (a stop begins: new
 * clients fail at once, as they would at a restart, instead of waiting
 * in the backlog of a daemon that no longer accepts)
 */
void	listen_unlink(const struct endpoint *ep);

#endif
