/*
 * nullpolicy - a do-nothing Postfix policy server, the yardstick of
 * "make bench": it reads requests and answers "action=DUNNO" to each,
 * with one epoll loop per thread (as many threads as vrcptd's workers),
 * so that the ratio vrcptd/nullpolicy shows what vrcpt's own work costs.
 *
 *   nullpolicy unix:/path THREADS
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NP_BUF 65536

struct npconn {
	int	 fd;
	size_t	 len;
	char	 buf[NP_BUF];
};

static int lfd;

static void *
loop(void *arg)
{
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, -1), k;

		for (k = 0; k < n; k++) {
			struct npconn *c = evs[k].data.ptr;
			ssize_t r;
			char *p;

			if (c == NULL) {
				int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
				struct epoll_event cev = { .events = EPOLLIN };

				if (fd < 0)
					continue;
				c = calloc(1, sizeof(*c));
				c->fd = fd;
				cev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
				continue;
			}
			r = read(c->fd, c->buf + c->len, NP_BUF - c->len - 1);
			if (r <= 0) {
				close(c->fd);
				free(c);
				continue;
			}
			c->len += (size_t)r;
			c->buf[c->len] = '\0';
			while ((p = strstr(c->buf, "\n\n")) != NULL) {
				size_t used = (size_t)(p - c->buf) + 2;

				(void)!write(c->fd, "action=DUNNO\n\n", 14);
				memmove(c->buf, c->buf + used, c->len - used + 1);
				c->len -= used;
			}
		}
	}
	return arg;
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	pthread_t t;
	int i, n;

	if (argc != 3 || strncmp(argv[1], "unix:", 5) != 0) {
		fprintf(stderr, "usage: nullpolicy unix:/path THREADS\n");
		return 2;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[1] + 5);
	unlink(sun.sun_path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (bind(lfd, (void *)&sun, sizeof(sun)) < 0 || listen(lfd, 511) < 0) {
		perror(sun.sun_path);
		return 1;
	}
	n = atoi(argv[2]);
	for (i = 1; i < n; i++)
		pthread_create(&t, NULL, loop, NULL);
	loop(NULL);
	return 0;
}
