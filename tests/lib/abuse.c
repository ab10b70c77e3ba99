/*
 * abuse - hostile clients for the policy and metrics listeners
 * (tests/integration/hostile.sh).
 *
 *   abuse ENDPOINT MODE ARGS...
 *
 * Modes ("http" after the arguments: speak HTTP to a metrics listener
 * instead of the policy protocol):
 *   flood N SECS [ask]    open N connections (as fast as the server
 *                         accepts them) and hold them SECS seconds; with
 *                         "ask" each sends one RCPT for john@example.com
 *                         at once. Prints "connected C failed F closed K
 *                         answered A wrong W": K closed by the server
 *                         meanwhile, A answers, W answers other than
 *                         DUNNO.
 *   slowloris N SECS [http]
 *                         N connections each send a request one byte a
 *                         second. Prints "closed K of N after S s
 *                         replied R" once all are closed, or after SECS.
 *   noread N REQS SECS [http]
 *                         N connections each send REQS requests (as fast
 *                         as the server takes them) and never read.
 *                         Prints "closed K of N after S s".
 *   stream BYTES [http]   one connection sends a request with a line
 *                         that never ends, up to BYTES bytes. Prints
 *                         "closed after X bytes replied R" (R: bytes the
 *                         server sent), or "open after X bytes".
 *   pipeline CONNS N FILE [half] [burst] [http]
 *                         CONNS connections each send N requests at once
 *                         (small ones: request, protocol_state,
 *                         recipient) for recipients of FILE (policyio.h:
 *                         "address<TAB>action", "%u" fresh), in order,
 *                         while reading the replies. With "half" each
 *                         shuts its writing side down after the last
 *                         request (SHUT_WR) and reads to the end. Prints
 *                         "replies R of T wrong W eof E seconds S" (E:
 *                         connections that saw the server close after
 *                         their last reply). With "burst" the requests
 *                         take FILE's lines in order (round robin), and
 *                         all are written before the first reply is read.
 *                         With http: N "GET /healthz" requests on each, R
 *                         counts HTTP responses.
 *
 * Every mode gives up after its own time (SECS, or ABUSE_DEADLINE_S).
 * Exit status 0 unless the tool itself failed. Talks only to the
 * endpoint it is given.
 */
#include <sys/epoll.h>

#include <poll.h>
#include <signal.h>

#include "policyio.h"

#define ABUSE_DEADLINE_S	60
#define ABUSE_CHUNK		65536

static const char *ep;
static bool http;

/* a request of this mode's protocol for rcpt (john@example.com) */
static int
one_request(char *buf, size_t size, const char *rcpt)
{
	if (http)
		return snprintf(buf, size, "GET /healthz HTTP/1.0\r\n"
		    "Host: x\r\n\r\n");
	return pio_request(buf, size, rcpt, false);
}

static int
epoll_add(int epfd, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* drain - read what is there; -1 at EOF or error, else bytes read */
static ssize_t
drain(int fd, char *buf, size_t size)
{
	ssize_t n, total = 0;

	for (;;) {
		n = read(fd, buf, size);
		if (n > 0) {
			total += n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return total;
		return -1;
	}
}

static int
mode_flood(unsigned long n, unsigned long secs, bool ask)
{
	int *fds = calloc(n, sizeof(int)), epfd = epoll_create1(0);
	unsigned long connected = 0, failed = 0, closed = 0, answered = 0,
	    wrong = 0, i;
	char req[PIO_REQ_MAX], buf[ABUSE_CHUNK];
	uint64_t end;
	int len;

	len = one_request(req, sizeof(req), "john@example.com");
	for (i = 0; i < n; i++) {
		fds[i] = pio_connect(ep, 2000, true);
		if (fds[i] < 0) {
			/* a full accept queue: once more, a moment later */
			usleep(10000);
			fds[i] = pio_connect(ep, 2000, true);
		}
		if (fds[i] < 0) {
			failed++;
			continue;
		}
		connected++;
		epoll_add(epfd, fds[i], EPOLLIN | EPOLLRDHUP, i);
		if (ask && write(fds[i], req, (size_t)len) != len) {
			close(fds[i]);
			fds[i] = -1;
			closed++;
		}
	}
	end = pio_now_us() + secs * 1000000;
	while (pio_now_us() < end && closed < connected) {
		struct epoll_event evs[256];
		int k, m = epoll_wait(epfd, evs, 256, 100);

		for (k = 0; k < m; k++) {
			int fd = fds[evs[k].data.u64];
			ssize_t r;

			if (fd < 0)
				continue;
			r = read(fd, buf, sizeof(buf) - 1);
			if (r > 0) {
				buf[r] = '\0';
				/* one reply per connection, in one read */
				answered++;
				if (strcmp(buf, http ? buf : "action=DUNNO\n\n")
				    != 0)
					wrong++;
				continue;
			}
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			close(fd);
			fds[evs[k].data.u64] = -1;
			closed++;
		}
	}
	printf("connected %lu failed %lu closed %lu answered %lu wrong %lu\n",
	    connected, failed, closed, answered, wrong);
	return 0;
}

static int
mode_slowloris(unsigned long n, unsigned long secs)
{
	static const char policy_req[] = "request=smtpd_access_policy\n"
	    "protocol_state=RCPT\nrecipient=slow@example.com\n\n";
	static const char http_req[] = "GET /metrics HTTP/1.0\r\n"
	    "X-Slow: a-very-slow-client-indeed\r\n\r\n";
	const char *msg = http ? http_req : policy_req;
	size_t mlen = strlen(msg), pos = 0;
	int *fds = calloc(n, sizeof(int)), epfd = epoll_create1(0);
	unsigned long open_n = 0, closed = 0, replied = 0, i;
	uint64_t t0 = pio_now_us(), next = t0, end = t0 + secs * 1000000;
	char buf[ABUSE_CHUNK];

	for (i = 0; i < n; i++) {
		if ((fds[i] = pio_connect(ep, 2000, true)) < 0)
			continue;
		open_n++;
		epoll_add(epfd, fds[i], EPOLLIN | EPOLLRDHUP, i);
	}
	while (pio_now_us() < end && closed < open_n) {
		struct epoll_event evs[256];
		int k, m;

		if (pio_now_us() >= next && pos < mlen) {
			for (i = 0; i < n; i++)
				if (fds[i] >= 0 &&
				    write(fds[i], msg + pos, 1) != 1) {
					close(fds[i]);
					fds[i] = -1;
					closed++;
				}
			pos++;
			next += 1000000;
		}
		m = epoll_wait(epfd, evs, 256, 50);
		for (k = 0; k < m; k++) {
			int fd = fds[evs[k].data.u64];
			ssize_t r;

			if (fd < 0)
				continue;
			r = drain(fd, buf, sizeof(buf));
			if (r > 0)
				replied++;
			if (r >= 0)
				continue;
			close(fd);
			fds[evs[k].data.u64] = -1;
			closed++;
		}
	}
	printf("closed %lu of %lu after %.1f s replied %lu\n", closed, open_n,
	    (double)(pio_now_us() - t0) / 1e6, replied);
	return 0;
}

static int
mode_noread(unsigned long n, unsigned long reqs, unsigned long secs)
{
	int *fds = calloc(n, sizeof(int)), epfd = epoll_create1(0);
	unsigned long *sent = calloc(n, sizeof(unsigned long));
	unsigned long open_n = 0, closed = 0, i;
	uint64_t t0 = pio_now_us(), end = t0 + secs * 1000000;
	char req[PIO_REQ_MAX];
	int len;

	len = one_request(req, sizeof(req), "nosuch@example.com");
	for (i = 0; i < n; i++) {
		int small = 4096;

		if ((fds[i] = pio_connect(ep, 2000, true)) < 0)
			continue;
		/* a small receive buffer: the replies back up at once */
		setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &small,
		    sizeof(small));
		open_n++;
		/* no EPOLLIN: what the server sends is never read */
		epoll_add(epfd, fds[i], EPOLLRDHUP, i);
	}
	while (pio_now_us() < end && closed < open_n) {
		struct epoll_event evs[256];
		int k, m;

		for (i = 0; i < n; i++)
			while (fds[i] >= 0 && sent[i] < reqs) {
				ssize_t w = send(fds[i], req, (size_t)len,
				    MSG_NOSIGNAL);

				if (w == len) {
					sent[i]++;
					continue;
				}
				if (w < 0 && (errno == EAGAIN ||
				    errno == EINTR))
					break;
				/* EPIPE, ECONNRESET: the server closed */
				close(fds[i]);
				fds[i] = -1;
				closed++;
			}
		m = epoll_wait(epfd, evs, 256, 100);
		for (k = 0; k < m; k++) {
			int fd = fds[evs[k].data.u64];

			if (fd < 0 || !(evs[k].events &
			    (EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
				continue;
			close(fd);
			fds[evs[k].data.u64] = -1;
			closed++;
		}
	}
	printf("closed %lu of %lu after %.1f s\n", closed, open_n,
	    (double)(pio_now_us() - t0) / 1e6);
	return 0;
}

static int
mode_stream(unsigned long bytes)
{
	static const char policy_head[] = "request=smtpd_access_policy\n"
	    "recipient=";
	static const char http_head[] = "GET /metrics HTTP/1.0\r\nX-Long: ";
	const char *head = http ? http_head : policy_head;
	char chunk[ABUSE_CHUNK], buf[ABUSE_CHUNK];
	unsigned long written = 0;
	uint64_t end = pio_now_us() + ABUSE_DEADLINE_S * 1000000ULL;
	size_t replied = 0;
	bool closed = false;
	int fd;

	if ((fd = pio_connect(ep, 2000, true)) < 0) {
		perror("abuse: connect");
		return 1;
	}
	memset(chunk, 'a', sizeof(chunk));
	if (write(fd, head, strlen(head)) > 0)
		written += strlen(head);
	while (!closed && written < bytes && pio_now_us() < end) {
		struct pollfd p = { .fd = fd, .events = POLLOUT | POLLIN };
		size_t want = bytes - written < sizeof(chunk) ?
		    bytes - written : sizeof(chunk);
		ssize_t w, r;

		if (poll(&p, 1, 2000) == 0)
			break;		/* neither takes nor closes: "open" */
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			r = drain(fd, buf, sizeof(buf));
			if (r > 0)
				replied += (size_t)r;
			if (r < 0)
				closed = true;
		}
		if (closed || !(p.revents & POLLOUT))
			continue;
		w = send(fd, chunk, want, MSG_NOSIGNAL);
		if (w > 0)
			written += (unsigned long)w;
		else if (w < 0 && errno != EAGAIN && errno != EINTR)
			closed = true;
	}
	if (!closed) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		/* all sent: does the server hang up now? */
		while (poll(&p, 1, 3000) > 0) {
			ssize_t r = drain(fd, buf, sizeof(buf));

			if (r > 0)
				replied += (size_t)r;
			if (r < 0) {
				closed = true;
				break;
			}
		}
	}
	printf("%s after %lu bytes replied %zu\n", closed ? "closed" : "open",
	    written, replied);
	return 0;
}

struct pconn {
	int	 fd;
	char	*out;		/* every request, formatted */
	size_t	 outlen, outoff;
	size_t	*want;		/* expected reply of each request (index) */
	unsigned long nsent_req, nreplies;
	char	*in;
	size_t	 inlen;
	bool	 eof, shut;
};

static int
mode_pipeline(unsigned long conns, unsigned long n, const char *file,
    bool half, bool burst)
{
	struct pio_rcpts rs = { NULL, 0 };
	struct pconn *pc = calloc(conns, sizeof(*pc));
	unsigned long replies = 0, wrong = 0, eofs = 0, shown = 0, c, i;
	uint64_t t0 = pio_now_us(), end = t0 + ABUSE_DEADLINE_S * 1000000ULL;
	uint64_t seq = t0;
	int epfd = epoll_create1(0);
	size_t active;

	if (!http)
		pio_rcpts_load(&rs, file);
	for (c = 0; c < conns; c++) {
		struct pconn *p = &pc[c];
		char addr[PIO_LINE_MAX + 32], req[PIO_REQ_MAX];

		p->out = malloc(n * 128 + 1);
		p->want = calloc(n, sizeof(size_t));
		p->in = malloc(ABUSE_CHUNK * 4);
		for (i = 0; i < n; i++) {
			int len;

			if (http) {
				len = one_request(req, sizeof(req), "");
			} else {
				p->want[i] = burst ? i % rs.n :
				    (size_t)((seq * 2654435761u) % rs.n);
				pio_rcpt_addr(&rs.v[p->want[i]], seq++, addr,
				    sizeof(addr));
				len = pio_request(req, sizeof(req), addr, true);
			}
			if (len > 127) {
				fprintf(stderr, "abuse: %s: too long for a "
				    "small request\n", addr);
				return 1;
			}
			memcpy(p->out + p->outlen, req, (size_t)len);
			p->outlen += (size_t)len;
		}
		if ((p->fd = pio_connect(ep, 2000, true)) < 0) {
			perror("abuse: connect");
			return 1;
		}
		epoll_add(epfd, p->fd, burst ? EPOLLOUT : EPOLLIN | EPOLLOUT,
		    c);
	}
	active = conns;
	while (active > 0 && pio_now_us() < end) {
		struct epoll_event evs[64];
		int k, m = epoll_wait(epfd, evs, 64, 100);

		for (k = 0; k < m; k++) {
			struct pconn *p = &pc[evs[k].data.u64];
			ssize_t r;
			char *e;

			if (p->fd < 0)
				continue;
			if ((evs[k].events & EPOLLOUT) &&
			    p->outoff < p->outlen) {
				r = send(p->fd, p->out + p->outoff,
				    p->outlen - p->outoff, MSG_NOSIGNAL);
				if (r > 0)
					p->outoff += (size_t)r;
			}
			if (p->outoff == p->outlen && !p->shut) {
				struct epoll_event ev = { .events = EPOLLIN,
				    .data.u64 = evs[k].data.u64 };

				epoll_ctl(epfd, EPOLL_CTL_MOD, p->fd, &ev);
				if (half)
					shutdown(p->fd, SHUT_WR);
				p->shut = true;
			}
			if (!(evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				continue;
			r = read(p->fd, p->in + p->inlen,
			    ABUSE_CHUNK * 4 - p->inlen - 1);
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r <= 0) {
				if (p->nreplies == n)
					eofs++;
				close(p->fd);
				p->fd = -1;
				active--;
				continue;
			}
			p->inlen += (size_t)r;
			p->in[p->inlen] = '\0';
			while ((e = strstr(p->in, http ? "\r\n\r\n" :
			    "\n\n")) != NULL) {
				size_t used = (size_t)(e - p->in) +
				    (http ? 4 : 2);
				const char *want;

				*e = '\0';
				if (http) {
					/* the body follows: count the heads */
					if (strncmp(p->in, "HTTP/1.", 7) == 0)
						p->nreplies++;
				} else if (p->nreplies >= n) {
					wrong++;
				} else {
					want = rs.v[p->want[p->nreplies]].want;
					if (strncmp(p->in, "action=", 7) != 0 ||
					    strcmp(p->in + 7, want) != 0) {
						wrong++;
						if (shown++ < 5)
							fprintf(stderr, "abuse:"
							    " WRONG reply %lu: "
							    "\"%s\", want "
							    "\"%s\"\n",
							    p->nreplies,
							    p->in, want);
					}
					p->nreplies++;
				}
				memmove(p->in, p->in + used,
				    p->inlen - used + 1);
				p->inlen -= used;
			}
			if (!http && p->nreplies == n && !half) {
				close(p->fd);
				p->fd = -1;
				active--;
			}
		}
	}
	for (c = 0; c < conns; c++)
		replies += pc[c].nreplies;
	printf("replies %lu of %lu wrong %lu eof %lu seconds %.1f\n", replies,
	    conns * n, wrong, eofs, (double)(pio_now_us() - t0) / 1e6);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: abuse ENDPOINT flood N SECS [ask] | "
	    "slowloris N SECS | noread N REQS SECS | stream BYTES |\n"
	    "    pipeline CONNS N FILE [half] [burst]   (each may end with "
	    "http)\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *mode;
	bool half = false, ask = false, burst = false;
	int i;

	if (argc < 3)
		usage();
	ep = argv[1];
	mode = argv[2];
	for (i = 3; i < argc; i++) {
		if (strcmp(argv[i], "http") == 0)
			http = true;
		else if (strcmp(argv[i], "half") == 0)
			half = true;
		else if (strcmp(argv[i], "ask") == 0)
			ask = true;
		else if (strcmp(argv[i], "burst") == 0)
			burst = true;
	}
	signal(SIGPIPE, SIG_IGN);
	pio_nofile(65536);
	if (strcmp(mode, "flood") == 0 && argc >= 5)
		return mode_flood(strtoul(argv[3], NULL, 10),
		    strtoul(argv[4], NULL, 10), ask);
	if (strcmp(mode, "slowloris") == 0 && argc >= 5)
		return mode_slowloris(strtoul(argv[3], NULL, 10),
		    strtoul(argv[4], NULL, 10));
	if (strcmp(mode, "noread") == 0 && argc >= 6)
		return mode_noread(strtoul(argv[3], NULL, 10),
		    strtoul(argv[4], NULL, 10), strtoul(argv[5], NULL, 10));
	if (strcmp(mode, "stream") == 0 && argc >= 4)
		return mode_stream(strtoul(argv[3], NULL, 10));
	if (strcmp(mode, "pipeline") == 0 && argc >= 6)
		return mode_pipeline(strtoul(argv[3], NULL, 10),
		    strtoul(argv[4], NULL, 10), argv[5], half, burst);
	usage();
	return 2;
}
