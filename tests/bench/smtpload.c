/*
 * smtpload - closed-loop RCPT-only SMTP load for make bench-postfix.
 *
 *   smtpload -p PORT -c CONNS [-n RCPTS | -t SECONDS] [-w WARMUP]
 *            -f RCPTS [-o OFFSET] [-x] [-r PER_MSG] [-m PER_SESSION]
 *            [-D SECONDS]
 *
 * Each of CONNS connections to 127.0.0.1:PORT is one SMTP client that
 * never sends DATA: banner, EHLO, then PER_SESSION times (default 10)
 * MAIL FROM, PER_MSG (default 10) RCPT TO one at a time and RSET, then
 * QUIT and a new session. One command at a time, each waiting for its
 * reply (no PIPELINING). After WARMUP RCPT replies (not measured) it
 * measures RCPTS RCPT replies, or every one for SECONDS.
 *
 *   -f RCPTS  recipients, one a line: "address<TAB>y|n" (y: exists, n:
 *             unknown), used in order from line OFFSET (-o), round robin.
 *   -x        check every RCPT reply: y wants 250, n wants "550 5.1.1";
 *             anything else (a 4xx when PostgreSQL is out of connection
 *             slots, a dropped connection) is wrong. Warm-up included.
 *
 * Prints one line of "name value" pairs:
 *   requests conns seconds rps p50_us p90_us p99_us p999_us max_us
 *   replies errors wrong checked next sessions drops
 * ("requests" are RCPT replies in the window; "errors" are non-2xx
 * replies to anything but RCPT; "drops" connections the server closed),
 * then the count of each RCPT reply, by its first nine characters.
 *
 * Talks only to 127.0.0.1; bounded in time (-D, default 600 s).
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SL_CONNS_MAX	1024
#define SL_BUF		4096
#define SL_REPLIES_MAX	16
#define SL_REPLY_KEY	9	/* "550 5.1.1" */
#define SL_DEADLINE_S	600
#define SL_DRAIN_S	30	/* Postfix may wait for a map */
#define SL_LINE_MAX	1024

enum sl_state {
	SL_IDLE,		/* not connected */
	SL_BANNER,
	SL_EHLO,
	SL_MAIL,
	SL_RCPT,
	SL_RSET,
	SL_QUIT
};

struct slconn {
	int	 fd;
	enum sl_state state;
	unsigned rcpts;			/* RCPTs in this message */
	unsigned msgs;			/* messages in this session */
	char	 class;			/* of the RCPT in flight */
	uint64_t t_sent;
	size_t	 inlen;
	char	 in[SL_BUF];
};

struct rcpt {
	char	*addr;
	char	 class;
};

static struct rcpt *rcpts;
static size_t nrcpts, next_rcpt;
static unsigned short port;
static int ep_fd;

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
load_rcpts(const char *file)
{
	FILE *fp = fopen(file, "r");
	char line[SL_LINE_MAX], *tab;
	size_t cap = 0;

	if (fp == NULL) {
		perror(file);
		exit(2);
	}
	while (fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (*line == '\0')
			continue;
		if (nrcpts == cap) {
			cap = cap ? cap * 2 : 1024;
			if ((rcpts = realloc(rcpts, cap * sizeof(*rcpts))) ==
			    NULL) {
				perror("realloc");
				exit(2);
			}
		}
		rcpts[nrcpts].class = 0;
		if ((tab = strchr(line, '\t')) != NULL) {
			*tab = '\0';
			rcpts[nrcpts].class = tab[1];
		}
		rcpts[nrcpts++].addr = strdup(line);
	}
	fclose(fp);
	if (nrcpts == 0) {
		fprintf(stderr, "smtpload: %s: no recipients\n", file);
		exit(2);
	}
}

static int
sl_connect(struct slconn *c)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	int one = 1;

	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((c->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	if (connect(c->fd, (void *)&sin, sizeof(sin)) < 0) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	epoll_ctl(ep_fd, EPOLL_CTL_ADD, c->fd, &ev);
	c->state = SL_BANNER;
	c->inlen = 0;
	c->msgs = 0;
	c->rcpts = 0;
	return 0;
}

static void
sl_close(struct slconn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(ep_fd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->state = SL_IDLE;
}

static int
sl_send(struct slconn *c, enum sl_state st, const char *fmt, const char *arg)
{
	char buf[SL_LINE_MAX + 32];
	int n = snprintf(buf, sizeof(buf), fmt, arg);

	c->state = st;
	c->t_sent = now_us();
	return write(c->fd, buf, (size_t)n) == n ? 0 : -1;
}

static int
send_rcpt(struct slconn *c)
{
	struct rcpt *r = &rcpts[next_rcpt++ % nrcpts];

	c->class = r->class;
	c->rcpts++;
	return sl_send(c, SL_RCPT, "RCPT TO:<%s>\r\n", r->addr);
}

static bool
reply_ok(char class, const char *reply)
{
	switch (class) {
	case 'y':
		return strncmp(reply, "250 ", 4) == 0;
	case 'n':
		return strncmp(reply, "550 5.1.1 ", 10) == 0;
	}
	return true;
}

/*
 * next_reply - the last line of one complete reply in c->in, moved to
 * line (NUL-terminated, no CRLF); 0 when none is complete yet.
 */
static int
next_reply(struct slconn *c, char *line, size_t size)
{
	char *p = c->in, *eol;

	while ((eol = memchr(p, '\n', c->inlen - (size_t)(p - c->in))) !=
	    NULL) {
		size_t len = (size_t)(eol - p), used;

		if (len >= 4 && p[3] == '-') {
			p = eol + 1;
			continue;
		}
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len >= size)
			len = size - 1;
		memcpy(line, p, len);
		line[len] = '\0';
		used = (size_t)(eol + 1 - c->in);
		memmove(c->in, eol + 1, c->inlen - used);
		c->inlen -= used;
		return 1;
	}
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: smtpload -p PORT [-c conns] [-n rcpts | "
	    "-t seconds] [-w warmup] -f rcpts [-o offset] [-x]\n"
	    "    [-r rcpts_per_msg] [-m msgs_per_session] [-D seconds]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *file = NULL;
	unsigned long conns = 8, total = 0, warm = 0, done = 0, wrong = 0;
	unsigned long checked = 0, measured = 0, sessions = 0, drops = 0;
	unsigned long per_msg = 10, per_session = 10;
	unsigned long deadline_s = SL_DEADLINE_S, reply_count[SL_REPLIES_MAX];
	char reply_key[SL_REPLIES_MAX][SL_REPLY_KEY + 1];
	double seconds = 0;
	uint64_t *lat = NULL, t0, t1 = 0, t_start, t_end = 0;
	size_t latcap = 0, nreply = 0, i;
	struct slconn *cs;
	bool check = false, stopping = false;
	int ch, errors = 0, active;

	while ((ch = getopt(argc, argv, "p:c:n:t:w:f:o:xr:m:D:")) != -1) {
		switch (ch) {
		case 'p': port = (unsigned short)atoi(optarg); break;
		case 'c': conns = strtoul(optarg, NULL, 10); break;
		case 'n': total = strtoul(optarg, NULL, 10); break;
		case 't': seconds = strtod(optarg, NULL); break;
		case 'w': warm = strtoul(optarg, NULL, 10); break;
		case 'f': file = optarg; break;
		case 'o': next_rcpt = strtoul(optarg, NULL, 10); break;
		case 'x': check = true; break;
		case 'r': per_msg = strtoul(optarg, NULL, 10); break;
		case 'm': per_session = strtoul(optarg, NULL, 10); break;
		case 'D': deadline_s = strtoul(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (port == 0 || file == NULL || conns == 0 || conns > SL_CONNS_MAX ||
	    (total == 0 && seconds <= 0) || per_msg == 0 || per_session == 0)
		usage();
	if (total == 0)
		total = ULONG_MAX / 2;
	signal(SIGPIPE, SIG_IGN);
	load_rcpts(file);
	next_rcpt %= nrcpts;
	if ((cs = calloc(conns, sizeof(*cs))) == NULL) {
		perror("calloc");
		return 1;
	}
	ep_fd = epoll_create1(0);
	for (i = 0; i < conns; i++) {
		cs[i].fd = -1;
		if (sl_connect(&cs[i]) < 0) {
			fprintf(stderr, "smtpload: connect 127.0.0.1:%u: %s\n",
			    port, strerror(errno));
			return 1;
		}
		sessions++;
	}
	t_start = t0 = now_us();
	if (warm == 0 && seconds > 0)
		t_end = t0 + (uint64_t)(seconds * 1e6);
	active = (int)conns;
	while (active > 0) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep_fd, evs, 64, 100), k;
		uint64_t now = now_us();

		if (now - t_start > (uint64_t)deadline_s * 1000000) {
			fprintf(stderr, "smtpload: deadline reached\n");
			break;
		}
		if (!stopping && t_end != 0 && now >= t_end) {
			stopping = true;
			t1 = t_end;
		}
		if (stopping && now - t1 > SL_DRAIN_S * 1000000ULL) {
			fprintf(stderr, "smtpload: %d sessions never finished\n",
			    active);
			break;
		}
		for (k = 0; k < n; k++) {
			struct slconn *c = evs[k].data.ptr;
			char line[SL_BUF];
			ssize_t r;

			if (c->fd < 0)
				continue;
			r = read(c->fd, c->in + c->inlen,
			    sizeof(c->in) - c->inlen);
			if (r <= 0 || (c->inlen += (size_t)r) == sizeof(c->in)) {
				/* closed (a 421 was read already) or flooded */
				if (c->state == SL_RCPT && check) {
					checked++;
					wrong++;
				}
				if (c->state != SL_QUIT)
					drops++;
				sl_close(c);
				goto reconnect;
			}
			while (c->fd >= 0 && next_reply(c, line, sizeof(line))) {
				uint64_t t = now_us();
				bool ok2 = line[0] == '2';

				switch (c->state) {
				case SL_IDLE:
				case SL_QUIT:
					continue;
				case SL_BANNER:
					if (!ok2)
						break;
					if (stopping)
						goto quit;
					if (sl_send(c, SL_EHLO, "EHLO %s\r\n",
					    "client.vrcpt.test") < 0)
						break;
					continue;
				case SL_EHLO:
				case SL_RSET:
					if (!ok2)
						break;
					if (stopping)
						goto quit;
					if (sl_send(c, SL_MAIL, "MAIL FROM:<%s>\r\n",
					    "sender@sender.test") < 0)
						break;
					c->rcpts = 0;
					continue;
				case SL_MAIL:
					if (!ok2)
						break;
					if (stopping)
						goto quit;
					if (send_rcpt(c) < 0)
						break;
					continue;
				case SL_RCPT: {
					size_t a;

					if (check && c->class != 0) {
						checked++;
						if (!reply_ok(c->class, line))
							wrong++;
					}
					if (!stopping && done >= warm) {
						if (measured == latcap) {
							latcap = latcap ?
							    latcap * 2 : 65536;
							lat = realloc(lat,
							    latcap *
							    sizeof(*lat));
						}
						lat[measured++] = t - c->t_sent;
					}
					if (done == warm && warm > 0) {
						t0 = t;
						if (seconds > 0)
							t_end = t0 + (uint64_t)
							    (seconds * 1e6);
					}
					done++;
					for (a = 0; a < nreply; a++)
						if (strncmp(reply_key[a], line,
						    SL_REPLY_KEY) == 0)
							break;
					if (a == nreply &&
					    nreply < SL_REPLIES_MAX) {
						snprintf(reply_key[a],
						    sizeof(reply_key[a]), "%.*s",
						    SL_REPLY_KEY, line);
						reply_count[nreply++] = 0;
					}
					if (a < nreply)
						reply_count[a]++;
					if (!stopping && measured >= total) {
						stopping = true;
						t1 = t;
					}
					if (line[0] == '4' &&
					    strncmp(line, "421", 3) == 0)
						break;
					if (stopping)
						goto quit;
					if (c->rcpts < per_msg) {
						if (send_rcpt(c) < 0)
							break;
					} else if (++c->msgs < per_session) {
						if (sl_send(c, SL_RSET,
						    "RSET\r\n", "") < 0)
							break;
					} else
						goto quit;
					continue;
				}
				}
				/* a failed command: start a new session */
				errors++;
quit:
				(void)!write(c->fd, "QUIT\r\n", 6);
				sl_close(c);
				goto reconnect;
			}
			continue;
reconnect:
			if (stopping) {
				active--;
				continue;
			}
			if (sl_connect(c) < 0) {
				fprintf(stderr, "smtpload: reconnect: %s\n",
				    strerror(errno));
				active--;
				errors++;
				continue;
			}
			sessions++;
		}
		/* at the end, sessions waiting for a reply to anything but
		 * RCPT are not waited for */
		if (stopping)
			for (i = 0; i < conns; i++)
				if (cs[i].fd >= 0 && cs[i].state != SL_RCPT) {
					(void)!write(cs[i].fd, "QUIT\r\n", 6);
					sl_close(&cs[i]);
					active--;
				}
	}
	if (!stopping)
		t1 = now_us();
	if (measured == 0) {
		fprintf(stderr, "smtpload: nothing measured\n");
		return 1;
	}
	qsort(lat, measured, sizeof(*lat), cmp_u64);
	printf("requests %lu conns %lu seconds %.3f rps %.0f "
	    "p50_us %llu p90_us %llu p99_us %llu p999_us %llu max_us %llu "
	    "replies %lu errors %d wrong %lu checked %lu next %zu sessions %lu drops %lu\n",
	    measured, conns, (double)(t1 - t0) / 1e6,
	    measured / ((double)(t1 - t0) / 1e6),
	    (unsigned long long)lat[measured / 2],
	    (unsigned long long)lat[measured * 9 / 10],
	    (unsigned long long)lat[measured * 99 / 100],
	    (unsigned long long)lat[measured * 999 / 1000],
	    (unsigned long long)lat[measured - 1], done, errors, wrong,
	    checked,
	    next_rcpt % nrcpts, sessions, drops);
	for (i = 0; i < nreply; i++)
		printf("  %8lu  %s\n", reply_count[i], reply_key[i]);
	return 0;
}
