/*
 * policyload - a closed-loop load generator for Postfix policy servers.
 *
 *   policyload -s unix:/path|inet:host:port [-c CONNS]
 *              [-n REQUESTS | -t SECONDS] [-w WARMUP] [-f RCPTS] [-o OFFSET]
 *              [-x] [-R START_NS] [-S SERIES -i MS] [-H SECONDS] [-D SECONDS]
 *
 * Each of CONNS connections behaves like one Postfix smtpd process: it
 * sends one RCPT request (Postfix 3.7's attribute set, in its order),
 * waits for the reply, sends the next. After WARMUP replies (not
 * measured) it measures REQUESTS replies, or every reply for SECONDS.
 *
 *   -f RCPTS   recipients, one a line: "address" or "address<TAB>y|n"
 *              (y: exists, n: unknown); used in order, round robin over
 *              all connections, starting at line OFFSET (-o). Without
 *              -f: "user<N>@example.com".
 *   -x         check every reply against the line's class: y wants
 *              "action=DUNNO", n wants "action=550 5.1.1 ..."; other
 *              replies are counted as wrong (warm-up included).
 *   -R NS      cold start: before the load, connect (retrying every
 *              millisecond) and send the first "y" recipient until the
 *              reply is "action=DUNNO"; report the time of the first
 *              reply of any kind and of that first correct one, in ms
 *              since NS (CLOCK_REALTIME nanoseconds, e.g. `date +%s%N`
 *              taken just before the server was started).
 *   -S FILE    time series: "MS COUNT" lines, the replies in each -i
 *              interval (default 100 ms) from the start of the load
 *              (or from -R's NS), warm-up included.
 *   -H SECONDS after the run, print "holding" and keep every connection
 *              open, idle, for SECONDS (the caller reads the server's
 *              memory meanwhile and may end us with SIGTERM).
 *   -D SECONDS give up after this long (default 600).
 *
 * Prints one line of "name value" pairs:
 *   requests conns seconds rps p50_us p90_us p99_us p999_us max_us
 *   replies errors wrong checked next
 * ("next" is the line the next run should start at: -o), then the
 * count of each distinct reply. With -R, first a line
 *   first_reply_ms X ready_ms Y
 *
 * Bounded in time (-D) and count; talks only to the endpoint it is given.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PL_CONNS_MAX	4096
#define PL_BUF		8192
#define PL_ACTIONS_MAX	16
#define PL_DEADLINE_S	600
#define PL_DRAIN_S	10	/* wait for replies in flight at the end */
#define PL_READY_S	60	/* -R: give up waiting for the server */
#define PL_LINE_MAX	1024

struct plconn {
	int	 fd;
	bool	 busy;			/* a request is in flight */
	char	 class;			/* of that request: 'y', 'n', 0 */
	uint64_t t_sent;
	size_t	 inlen;
	char	 in[PL_BUF];
};

struct rcpt {
	char	*addr;
	char	 class;
};

static struct rcpt *rcpts;
static size_t nrcpts, next_rcpt;

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t
realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

static int
connect_to(const char *ep)
{
	int fd = -1;

	if (strncmp(ep, "unix:", 5) == 0) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", ep + 5);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (void *)&sun, sizeof(sun)) < 0)
			goto fail;
	} else if (strncmp(ep, "inet:", 5) == 0) {
		struct sockaddr_in sin = { .sin_family = AF_INET };
		char host[64];
		const char *colon = strrchr(ep + 5, ':');
		int one = 1;

		if (colon == NULL || (size_t)(colon - ep - 5) >= sizeof(host))
			return -1;
		memcpy(host, ep + 5, (size_t)(colon - ep - 5));
		host[colon - ep - 5] = '\0';
		sin.sin_port = htons((uint16_t)atoi(colon + 1));
		if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
			return -1;
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (void *)&sin, sizeof(sin)) < 0)
			goto fail;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	} else
		return -1;
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * format_req - one RCPT request with the attributes Postfix 3.7's smtpd
 * sends (smtpd_check.c: check_policy_service), in that order.
 */
static int
format_req(char *req, size_t size, const char *r, uint64_t seq)
{
	return snprintf(req, size,
	    "request=smtpd_access_policy\nprotocol_state=RCPT\n"
	    "protocol_name=ESMTP\nclient_address=192.0.2.1\n"
	    "client_name=mx.example.net\nclient_port=40000\n"
	    "reverse_client_name=mx.example.net\nserver_address=127.0.0.1\n"
	    "server_port=25\nhelo_name=mx.example.net\n"
	    "sender=sender@example.net\nrecipient=%s\nrecipient_count=0\n"
	    "queue_id=\ninstance=1a2b.3c4d.5e6f.%llu\nsize=0\n"
	    "etrn_domain=\nstress=\nsasl_method=\nsasl_username=\n"
	    "sasl_sender=\nccert_subject=\nccert_issuer=\n"
	    "ccert_fingerprint=\nccert_pubkey_fingerprint=\n"
	    "encryption_protocol=\nencryption_cipher=\n"
	    "encryption_keysize=0\npolicy_context=\n\n", r,
	    (unsigned long long)seq);
}

static int
send_req(struct plconn *c, uint64_t seq)
{
	char req[2048], rbuf[512];
	const char *r;
	int n;

	c->class = 0;
	if (nrcpts > 0) {
		struct rcpt *rc = &rcpts[next_rcpt++ % nrcpts];

		r = rc->addr;
		c->class = rc->class;
	} else {
		snprintf(rbuf, sizeof(rbuf), "user%llu@example.com",
		    (unsigned long long)(seq % 1000));
		r = rbuf;
	}
	n = format_req(req, sizeof(req), r, seq);
	c->t_sent = now_us();
	c->busy = true;
	return write(c->fd, req, (size_t)n) == n ? 0 : -1;
}

/* reply_ok - is this reply (without its "\n\n") right for the class? */
static bool
reply_ok(char class, const char *reply)
{
	switch (class) {
	case 'y':
		return strcmp(reply, "action=DUNNO") == 0;
	case 'n':
		return strncmp(reply, "action=550 5.1.1 ", 17) == 0;
	}
	return true;
}

static void
load_rcpts(const char *file)
{
	FILE *fp = fopen(file, "r");
	char line[PL_LINE_MAX], *tab;
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
		fprintf(stderr, "policyload: %s: no recipients\n", file);
		exit(2);
	}
}

/*
 * wait_ready - -R: retry until the server gives the right answer for an
 * existing recipient; print when it first answered at all, and when
 * rightly, in ms since start_ns.
 */
static int
wait_ready(const char *ep, uint64_t start_ns)
{
	const char *r = "postmaster@example.com";
	char req[2048], in[PL_BUF];
	uint64_t first = 0, deadline = now_us() + PL_READY_S * 1000000ULL;
	size_t i, len;
	int fd = -1, n;

	for (i = 0; i < nrcpts; i++)
		if (rcpts[i].class == 'y') {
			r = rcpts[i].addr;
			break;
		}
	n = format_req(req, sizeof(req), r, 0);
	while (now_us() < deadline) {
		ssize_t got;

		if (fd < 0 && (fd = connect_to(ep)) < 0) {
			usleep(1000);
			continue;
		}
		len = 0;
		if (write(fd, req, (size_t)n) != n)
			goto again;
		while (len < sizeof(in) - 1 &&
		    (got = read(fd, in + len, sizeof(in) - 1 - len)) > 0) {
			len += (size_t)got;
			in[len] = '\0';
			if (strstr(in, "\n\n") != NULL)
				break;
		}
		if (strstr(in, "\n\n") == NULL || len == 0)
			goto again;
		*strstr(in, "\n\n") = '\0';
		if (first == 0)
			first = realtime_ns();
		if (strcmp(in, "action=DUNNO") == 0) {
			uint64_t t = realtime_ns();

			printf("first_reply_ms %.1f ready_ms %.1f\n",
			    (double)(first - start_ns) / 1e6,
			    (double)(t - start_ns) / 1e6);
			fflush(stdout);
			close(fd);
			return 0;
		}
		usleep(1000);
		continue;
again:
		close(fd);
		fd = -1;
		usleep(1000);
	}
	fprintf(stderr, "policyload: %s not ready after %d s\n", ep,
	    PL_READY_S);
	return -1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: policyload -s ENDPOINT [-c conns] "
	    "[-n requests | -t seconds] [-w warmup] [-f rcpts] [-o offset]\n"
	    "    [-x] [-R start_ns] [-S series -i ms] [-H seconds] "
	    "[-D seconds]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *ep = NULL, *file = NULL, *series = NULL;
	unsigned long conns = 8, total = 0, warm = 0, done = 0, sent = 0;
	unsigned long wrong = 0, checked = 0, measured = 0, inflight = 0;
	unsigned long interval_ms = 100, hold_s = 0, deadline_s = PL_DEADLINE_S;
	unsigned long *slots = NULL, nslots = 0;
	double seconds = 0;
	uint64_t start_ns = 0, *lat = NULL, t0, t1 = 0, t_start, t_end = 0;
	uint64_t t_series0;
	size_t latcap = 0, nact = 0, i;
	char *act_name[PL_ACTIONS_MAX];
	unsigned long act_count[PL_ACTIONS_MAX];
	struct plconn *cs;
	bool check = false, stopping = false;
	int ep_fd, ch, errors = 0;

	while ((ch = getopt(argc, argv, "s:c:n:t:f:w:o:xR:S:i:H:D:")) != -1) {
		switch (ch) {
		case 's': ep = optarg; break;
		case 'c': conns = strtoul(optarg, NULL, 10); break;
		case 'n': total = strtoul(optarg, NULL, 10); break;
		case 't': seconds = strtod(optarg, NULL); break;
		case 'f': file = optarg; break;
		case 'w': warm = strtoul(optarg, NULL, 10); break;
		case 'o': next_rcpt = strtoul(optarg, NULL, 10); break;
		case 'x': check = true; break;
		case 'R': start_ns = strtoull(optarg, NULL, 10); break;
		case 'S': series = optarg; break;
		case 'i': interval_ms = strtoul(optarg, NULL, 10); break;
		case 'H': hold_s = strtoul(optarg, NULL, 10); break;
		case 'D': deadline_s = strtoul(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (ep == NULL || conns == 0 || conns > PL_CONNS_MAX ||
	    (total == 0 && seconds <= 0) || interval_ms == 0)
		usage();
	if (total == 0)
		total = ULONG_MAX / 2;
	signal(SIGPIPE, SIG_IGN);
	{
		/* every connection is a descriptor */
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur < conns + 64 && rl.rlim_max >= conns + 64) {
			rl.rlim_cur = conns + 64;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	if (file)
		load_rcpts(file);
	if (nrcpts > 0)
		next_rcpt %= nrcpts;
	if (start_ns != 0 && wait_ready(ep, start_ns) < 0)
		return 1;
	if ((cs = calloc(conns, sizeof(*cs))) == NULL) {
		perror("calloc");
		return 1;
	}
	ep_fd = epoll_create1(0);
	for (i = 0; i < conns; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &cs[i] };

		if ((cs[i].fd = connect_to(ep)) < 0) {
			fprintf(stderr, "policyload: connect %s (%zu of %lu): "
			    "%s\n", ep, i + 1, conns, strerror(errno));
			return 1;
		}
		epoll_ctl(ep_fd, EPOLL_CTL_ADD, cs[i].fd, &ev);
	}
	t_start = t0 = now_us();
	t_series0 = start_ns != 0 ?
	    t_start - (realtime_ns() - start_ns) / 1000 : t_start;
	if (warm == 0 && seconds > 0)
		t_end = t0 + (uint64_t)(seconds * 1e6);
	for (i = 0; i < conns && sent < warm + total; i++) {
		if (send_req(&cs[i], sent++) < 0)
			errors++;
		else
			inflight++;
	}
	while (inflight > 0) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep_fd, evs, 64, 100), k;
		uint64_t now = now_us();

		if (now - t_start > (uint64_t)deadline_s * 1000000) {
			fprintf(stderr, "policyload: deadline reached\n");
			break;
		}
		if (!stopping && t_end != 0 && now >= t_end) {
			/* the window is over: count nothing more */
			stopping = true;
			t1 = t_end;
		}
		if (stopping && now - t1 > PL_DRAIN_S * 1000000ULL) {
			fprintf(stderr, "policyload: %lu replies never came\n",
			    inflight);
			break;
		}
		for (k = 0; k < n; k++) {
			struct plconn *c = evs[k].data.ptr;
			ssize_t r = read(c->fd, c->in + c->inlen,
			    sizeof(c->in) - c->inlen - 1);
			char *end;

			if (r <= 0) {
				fprintf(stderr, "policyload: server closed\n");
				return 1;
			}
			c->inlen += (size_t)r;
			c->in[c->inlen] = '\0';
			while ((end = strstr(c->in, "\n\n")) != NULL) {
				uint64_t t = now_us();
				size_t used = (size_t)(end - c->in) + 2, a;

				*end = '\0';
				c->busy = false;
				inflight--;
				if (series != NULL) {
					unsigned long s = (unsigned long)
					    ((t - t_series0) / 1000 / interval_ms);

					if (s >= nslots) {
						unsigned long m = s * 2 + 64;

						slots = realloc(slots,
						    m * sizeof(*slots));
						memset(slots + nslots, 0,
						    (m - nslots) *
						    sizeof(*slots));
						nslots = m;
					}
					slots[s]++;
				}
				if (check && c->class != 0) {
					checked++;
					if (!reply_ok(c->class, c->in))
						wrong++;
				}
				if (!stopping && done >= warm) {
					if (measured == latcap) {
						latcap = latcap ? latcap * 2 :
						    65536;
						lat = realloc(lat, latcap *
						    sizeof(*lat));
					}
					lat[measured++] = t - c->t_sent;
				}
				if (done == warm && warm > 0) {
					t0 = t;
					if (seconds > 0)
						t_end = t0 +
						    (uint64_t)(seconds * 1e6);
				}
				done++;
				for (a = 0; a < nact; a++)
					if (strcmp(act_name[a], c->in) == 0)
						break;
				if (a == nact && nact < PL_ACTIONS_MAX) {
					act_name[nact] = strdup(c->in);
					act_count[nact++] = 0;
				}
				if (a < nact)
					act_count[a]++;
				memmove(c->in, c->in + used, c->inlen - used + 1);
				c->inlen -= used;
				if (!stopping && measured >= total) {
					stopping = true;
					t1 = t;
				}
				if (!stopping && sent < warm + total) {
					if (send_req(c, sent++) < 0)
						errors++;
					else
						inflight++;
				}
			}
		}
	}
	if (!stopping)
		t1 = now_us();
	if (measured == 0) {
		fprintf(stderr, "policyload: nothing measured\n");
		return 1;
	}
	qsort(lat, measured, sizeof(*lat), cmp_u64);
	printf("requests %lu conns %lu seconds %.3f rps %.0f "
	    "p50_us %llu p90_us %llu p99_us %llu p999_us %llu max_us %llu "
	    "replies %lu errors %d wrong %lu checked %lu next %zu\n",
	    measured, conns, (double)(t1 - t0) / 1e6,
	    measured / ((double)(t1 - t0) / 1e6),
	    (unsigned long long)lat[measured / 2],
	    (unsigned long long)lat[measured * 9 / 10],
	    (unsigned long long)lat[measured * 99 / 100],
	    (unsigned long long)lat[measured * 999 / 1000],
	    (unsigned long long)lat[measured - 1], done, errors, wrong,
	    checked,
	    nrcpts > 0 ? next_rcpt % nrcpts : 0);
	for (i = 0; i < nact; i++)
		printf("  %8lu  %s\n", act_count[i], act_name[i]);
	if (series != NULL) {
		FILE *fp = fopen(series, "w");
		unsigned long s, last = 0;

		for (s = 0; s < nslots; s++)
			if (slots[s] != 0)
				last = s;
		for (s = 0; fp != NULL && s <= last && nslots > 0; s++)
			fprintf(fp, "%lu %lu\n", s * interval_ms, slots[s]);
		if (fp == NULL || fclose(fp) != 0)
			perror(series);
	}
	fflush(stdout);
	if (hold_s > 0) {
		printf("holding\n");
		fflush(stdout);
		sleep((unsigned)hold_s);
	}
	return errors || inflight ? 1 : 0;
}
