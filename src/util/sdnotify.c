/*
 * sdnotify - the sd_notify(3) datagram protocol. See sdnotify.h.
 *
 * Depends on: libc. Security: the socket path comes from the
 * environment systemd gives us; it is bounded (sun_path) and only ever
 * sent to, never bound or created.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/sdnotify.h"

bool
sdnotify_enabled(void)
{
	const char *e = getenv("NOTIFY_SOCKET");

	return e != NULL && (*e == '/' || *e == '@');
}

int
sdnotify(const char *fmt, ...)
{
	const char *e = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	char	 msg[SDNOTIFY_MAX];
	socklen_t len;
	va_list	 ap;
	ssize_t	 n;
	int	 fd, saved;

	if (e == NULL || (*e != '/' && *e != '@'))
		return 0;
	if (strlen(e) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, e, strlen(e));
	if (*e == '@')
		sun.sun_path[0] = '\0';		/* abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(e));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	n = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
	    (const struct sockaddr *)&sun, len);
	saved = errno;
	close(fd);
	errno = saved;
	return n < 0 ? -1 : 0;
}
