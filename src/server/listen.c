/*
 * listen - listening sockets for vrcptd (policy) endpoints.
 *
 * Depends on: libc, util/. Security: removes a stale unix socket before
 * binding; refuses to remove anything that is not a socket, so a
 * mistyped "listen" cannot delete a file.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/listen.h"
#include "util/xalloc.h"

const char *
listen_unix_path(const char *endpoint)
{
	if (strncmp(endpoint, "unix:", 5) == 0)
		return endpoint + 5;
	return NULL;
}

static int
listen_unix(const char *path, mode_t mode, char err[LISTEN_ERR_LEN])
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

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
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		snprintf(err, LISTEN_ERR_LEN, "bind %s: %s", path,
		    strerror(errno));
		close(fd);
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
listen_inet(const char *hostport, char err[LISTEN_ERR_LEN])
{
	struct addrinfo hints, *res, *ai;
	char *host, *port;
	int fd = -1, rc, on = 1;

	host = xstrdup(hostport);
	if (*host == '[') {			/* [::1]:port */
		char *close_br = strchr(host, ']');

		if (close_br == NULL || close_br[1] != ':') {
			snprintf(err, LISTEN_ERR_LEN,
			    "bad inet endpoint: %s", hostport);
			free(host);
			return -1;
		}
		*close_br = '\0';
		port = close_br + 2;
		memmove(host, host + 1, strlen(host + 1) + 1);
	} else if ((port = strrchr(host, ':')) != NULL) {
		*port++ = '\0';
	} else {
		port = host;			/* "inet:port": all hosts */
		host = NULL;
	}
	if (port == NULL || *port == '\0') {
		snprintf(err, LISTEN_ERR_LEN, "bad inet endpoint: %s",
		    hostport);
		free(host ? host : port);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host && *host ? host : NULL, port, &hints, &res);
	free(host ? host : port);
	if (rc != 0) {
		snprintf(err, LISTEN_ERR_LEN, "%s: %s", hostport,
		    gai_strerror(rc));
		return -1;
	}
	snprintf(err, LISTEN_ERR_LEN, "%s: no usable address", hostport);
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
			snprintf(err, LISTEN_ERR_LEN, "bind %s: %s", hostport,
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
listen_open(const char *endpoint, mode_t unix_mode, char err[LISTEN_ERR_LEN])
{
	if (strncmp(endpoint, "unix:", 5) == 0)
		return listen_unix(endpoint + 5, unix_mode, err);
	if (strncmp(endpoint, "inet:", 5) == 0)
		return listen_inet(endpoint + 5, err);
	snprintf(err, LISTEN_ERR_LEN,
	    "unsupported endpoint \"%s\" (use unix:/path or inet:host:port)",
	    endpoint);
	return -1;
}
