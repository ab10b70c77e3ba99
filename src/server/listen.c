/*
 * listen - listening sockets for vrcptd (policy) endpoints.
 *
 * Depends on: libc, conf/endpoint. Security: removes a stale unix socket before
 * binding; refuses to remove anything that is not a socket, so a
 * mistyped "listen" cannot delete a file.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/endpoint.h"
#include "server/listen.h"

/* listen_in_use - a process accepts connections on the socket at sun */
static bool
listen_in_use(const struct sockaddr_un *sun)
{
	int	 fd, rc;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	return rc == 0;
}

static int
listen_unix(const char *path, mode_t mode, gid_t gid,
    char err[LISTEN_ERR_LEN])
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t	 old;
	int	 fd, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, LISTEN_ERR_LEN, "unix socket path too long: %s",
		    path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, LISTEN_ERR_LEN,
			    "%s exists and is not a socket", path);
			return -1;
		}
		/* another daemon's live socket is not ours to take over */
		if (listen_in_use(&sun)) {
			snprintf(err, LISTEN_ERR_LEN, "%s is in use: another "
			    "process listens there", path);
			return -1;
		}
		if (unlink(path) < 0) {
			snprintf(err, LISTEN_ERR_LEN, "remove %s: %s", path,
			    strerror(errno));
			return -1;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, LISTEN_ERR_LEN, "socket: %s", strerror(errno));
		return -1;
	}
	/* created with the mode asked for: no moment with a wider one */
	old = umask(~mode & 0777);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	(void)umask(old);
	if (rc < 0) {
		snprintf(err, LISTEN_ERR_LEN, "bind %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) < 0) {
		snprintf(err, LISTEN_ERR_LEN, "chown %s to group %lu: %s",
		    path, (unsigned long)gid, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	if (chmod(path, mode) < 0) {
		snprintf(err, LISTEN_ERR_LEN, "chmod %s: %s", path,
		    strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	if (listen(fd, LISTEN_BACKLOG) < 0) {
		snprintf(err, LISTEN_ERR_LEN, "listen %s: %s", path,
		    strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

static int
listen_inet(const struct endpoint *ep, char err[LISTEN_ERR_LEN])
{
	struct addrinfo hints, *res, *ai;
	char port[ENDPOINT_PORT_DIGITS + 1];
	int fd = -1, rc, on = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(ep->host[0] != '\0' ? ep->host : NULL,
	    endpoint_port_text(ep, port), &hints, &res);
	if (rc != 0) {
		snprintf(err, LISTEN_ERR_LEN, "%s: %s", ep->text,
		    gai_strerror(rc));
		return -1;
	}
	snprintf(err, LISTEN_ERR_LEN, "%s: no usable address", ep->text);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			snprintf(err, LISTEN_ERR_LEN, "socket: %s",
			    strerror(errno));
			continue;
		}
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
		    sizeof(on));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
		    listen(fd, LISTEN_BACKLOG) < 0) {
			snprintf(err, LISTEN_ERR_LEN, "bind %s: %s", ep->text,
			    strerror(errno));
			close(fd);
			fd = -1;
			continue;
		}
		break;
	}
	freeaddrinfo(res);
	return fd;
}

int
listen_open(const struct endpoint *ep, mode_t unix_mode, gid_t unix_gid,
    char err[LISTEN_ERR_LEN])
{
	switch (ep->kind) {
	case ENDPOINT_UNIX:
		return listen_unix(ep->path, unix_mode, unix_gid, err);
	case ENDPOINT_INET:
		return listen_inet(ep, err);
	case ENDPOINT_NONE:
		break;
	}
	snprintf(err, LISTEN_ERR_LEN, "no endpoint");
	return -1;
}

void
listen_close(const struct endpoint *ep, int fd)
{
	close(fd);
	listen_unlink(ep);
}

void
listen_unlink(const struct endpoint *ep)
{
	if (ep->kind == ENDPOINT_UNIX)
		(void)unlink(ep->path);
}
