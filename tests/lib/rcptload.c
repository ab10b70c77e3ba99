/*
 * rcptload - steady policy load with every answer checked, for the fault
 * tests (tests/integration/faults.sh).
 *
 *   rcptload -s ENDPOINT -f RCPTS [-c CONNS] [-l LATE_MS] [-S STABLE_MS]
 *            [-m MIN_FRESH] [-M MAX_S] [-t SECONDS]
 *
 * CONNS connections (default 8) each send one RCPT request at a time, as
 * a Postfix smtpd process does, for a recipient drawn at random from
 * RCPTS ("address<TAB>expected action" lines; "%u" in an address is
 * replaced by a new number each time: a key no cache has seen, so that
 * the database must answer it). A connection the server closes is
 * opened again (every 10 ms until it works); a request it had in flight
 * is "lost" (Postfix would retry it).
 *
 * Every reply is one of:
 *   right  the expected action
 *   defer  a 4xx (the database could not answer: allowed)
 *   wrong  anything else: a 5xx for an existing recipient, an accept for
 *          an unknown one, a reply that is not one action line
 * and "late" when it came more than LATE_MS (2000) after its request.
 *
 * SIGUSR1 says "the fault is gone" (time R). From then on rcptload ends
 * by itself once STABLE_MS (1500) have passed since R and since the last
 * reply that was not right (or lost request), with at least MIN_FRESH
 * (5) right answers for fresh keys in that stretch; or, not recovered,
 * MAX_S (60) seconds after R. recovery_ms is the time from R to the last
 * reply that was not right (0 when there was none after R). SIGTERM, or
 * -t SECONDS, ends it at once.
 *
 * Prints one line:
 *   requests N right N defer N wrong N late N lost N max_ms N
 *   recovery_ms N recovered 0|1
 * and on stderr the first wrong and late answers. Exit status 0, or 1
 * when not recovered. Talks only to the endpoint it is given.
 */
#include <sys/epoll.h>

#include <signal.h>

#include "policyio.h"

#define RL_CONNS_MAX	256
#define RL_IN_MAX	4096
#define RL_RECONNECT_US	10000
#define RL_REPORT_MAX	10	/* wrong and late answers shown */

struct rconn {
	int	 fd;
	bool	 busy;
	uint64_t t_sent;
	uint64_t next_try;	/* disconnected: connect again then */
	size_t	 ridx;
	char	 addr[PIO_LINE_MAX + 32];
	size_t	 inlen;
	char	 in[RL_IN_MAX];
};

static volatile sig_atomic_t got_usr1, got_term;
static struct pio_rcpts rs;
static uint64_t seq, rnd;
static int epfd;
static const char *ep;
static unsigned long late_ms = 2000;

static struct {
	unsigned long requests, right, defer, wrong, late, lost, shown_w,
	    shown_l, fresh_ok;
	uint64_t max_us, r_us, last_bad_us;
} st;

static void on_usr1(int sig) { got_usr1 = 1; }
static void on_term(int sig) { got_term = 1; }

static uint64_t
xorshift(void)
{
	rnd ^= rnd << 13;
	rnd ^= rnd >> 7;
	rnd ^= rnd << 17;
	return rnd;
}

static void
bad_now(uint64_t now)
{
	if (now > st.last_bad_us)
		st.last_bad_us = now;
	st.fresh_ok = 0;
}

static void
drop(struct rconn *c, uint64_t now)
{
	if (c->busy) {
		st.lost++;
		bad_now(now);
	}
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->busy = false;
	c->inlen = 0;
	c->next_try = now + RL_RECONNECT_US;
}

static void
send_one(struct rconn *c, uint64_t now)
{
	char req[PIO_REQ_MAX];
	int n;

	c->ridx = (size_t)(xorshift() % rs.n);
	pio_rcpt_addr(&rs.v[c->ridx], seq++, c->addr, sizeof(c->addr));
	n = pio_request(req, sizeof(req), c->addr, false);
	c->t_sent = now;
	c->busy = true;
	if (write(c->fd, req, (size_t)n) != n)
		drop(c, now);
}

static void
try_connect(struct rconn *c, uint64_t now)
{
	struct epoll_event ev = { .events = EPOLLIN };

	if ((c->fd = pio_connect(ep, 1000, true)) < 0) {
		c->next_try = now + RL_RECONNECT_US;
		return;
	}
	ev.data.ptr = c;
	epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
	send_one(c, now);
}

/* answer - one reply (without its "\n\n") for c's request */
static void
answer(struct rconn *c, const char *reply, uint64_t now)
{
	const struct pio_rcpt *r = &rs.v[c->ridx];
	uint64_t lat = now - c->t_sent;

	st.requests++;
	if (lat > st.max_us)
		st.max_us = lat;
	if (!c->busy) {
		st.wrong++;
		bad_now(now);
		fprintf(stderr, "rcptload: WRONG: a reply nobody asked for: "
		    "\"%s\"\n", reply);
		return;
	}
	c->busy = false;
	if (lat > (uint64_t)late_ms * 1000) {
		st.late++;
		if (st.shown_l++ < RL_REPORT_MAX)
			fprintf(stderr, "rcptload: LATE <%s>: %llu ms\n",
			    c->addr, (unsigned long long)(lat / 1000));
	}
	if (strncmp(reply, "action=", 7) == 0 && strchr(reply, '\n') == NULL &&
	    strcmp(reply + 7, r->want) == 0) {
		st.right++;
		if (r->fresh)
			st.fresh_ok++;
		return;
	}
	bad_now(now);
	if (strncmp(reply, "action=4", 8) == 0 && strchr(reply, '\n') == NULL) {
		st.defer++;
		return;
	}
	st.wrong++;
	if (st.shown_w++ < RL_REPORT_MAX)
		fprintf(stderr, "rcptload: WRONG <%s>: got \"%s\", want "
		    "\"action=%s\"\n", c->addr, reply, r->want);
}

int
main(int argc, char **argv)
{
	const char *file = NULL;
	unsigned long nconns = 8, stable_ms = 1500, min_fresh = 5, max_s = 60;
	double seconds = 0;
	struct rconn *cs;
	struct timespec ts;
	uint64_t t_end = 0, now;
	size_t i;
	int ch, recovered = 0;

	while ((ch = getopt(argc, argv, "s:f:c:l:S:m:M:t:")) != -1) {
		switch (ch) {
		case 's': ep = optarg; break;
		case 'f': file = optarg; break;
		case 'c': nconns = strtoul(optarg, NULL, 10); break;
		case 'l': late_ms = strtoul(optarg, NULL, 10); break;
		case 'S': stable_ms = strtoul(optarg, NULL, 10); break;
		case 'm': min_fresh = strtoul(optarg, NULL, 10); break;
		case 'M': max_s = strtoul(optarg, NULL, 10); break;
		case 't': seconds = strtod(optarg, NULL); break;
		default: goto usage;
		}
	}
	if (ep == NULL || file == NULL || nconns == 0 ||
	    nconns > RL_CONNS_MAX) {
usage:
		fprintf(stderr, "usage: rcptload -s ENDPOINT -f RCPTS "
		    "[-c conns] [-l late_ms] [-S stable_ms] [-m min_fresh] "
		    "[-M max_s] [-t seconds]\n");
		return 2;
	}
	pio_rcpts_load(&rs, file);
	clock_gettime(CLOCK_REALTIME, &ts);
	/* fresh keys differ from one run to the next */
	seq = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	rnd = seq | 1;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR1, on_usr1);
	signal(SIGTERM, on_term);
	if ((cs = calloc(nconns, sizeof(*cs))) == NULL ||
	    (epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		perror("rcptload");
		return 2;
	}
	now = pio_now_us();
	if (seconds > 0)
		t_end = now + (uint64_t)(seconds * 1e6);
	for (i = 0; i < nconns; i++) {
		cs[i].fd = -1;
		try_connect(&cs[i], now);
	}
	while (!got_term) {
		struct epoll_event evs[64];
		int n, k;

		n = epoll_wait(epfd, evs, 64, 10);
		now = pio_now_us();
		if (got_usr1 && st.r_us == 0) {
			st.r_us = now;
			st.fresh_ok = 0;
		}
		for (k = 0; k < n; k++) {
			struct rconn *c = evs[k].data.ptr;
			ssize_t r;
			char *end;

			r = read(c->fd, c->in + c->inlen,
			    sizeof(c->in) - c->inlen - 1);
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r <= 0) {
				drop(c, now);
				continue;
			}
			c->inlen += (size_t)r;
			c->in[c->inlen] = '\0';
			while (c->fd >= 0 &&
			    (end = strstr(c->in, "\n\n")) != NULL) {
				size_t used = (size_t)(end - c->in) + 2;

				*end = '\0';
				answer(c, c->in, now);
				memmove(c->in, c->in + used,
				    c->inlen - used + 1);
				c->inlen -= used;
				if (!c->busy && c->inlen == 0)
					send_one(c, now);
			}
			if (c->fd >= 0 && c->inlen >= sizeof(c->in) - 1) {
				st.wrong++;
				bad_now(now);
				fprintf(stderr, "rcptload: WRONG: a reply of "
				    "%zu bytes or more\n", c->inlen);
				drop(c, now);
			}
		}
		for (i = 0; i < nconns; i++)
			if (cs[i].fd < 0 && now >= cs[i].next_try)
				try_connect(&cs[i], now);
		if (t_end != 0 && now >= t_end)
			break;
		if (st.r_us != 0) {
			uint64_t since = st.last_bad_us > st.r_us ?
			    st.last_bad_us : st.r_us;

			if (now - since >= stable_ms * 1000 &&
			    st.fresh_ok >= min_fresh) {
				recovered = 1;
				break;
			}
			if (now - st.r_us >= max_s * 1000000) {
				fprintf(stderr, "rcptload: not recovered %lu s "
				    "after the fault was removed\n", max_s);
				break;
			}
		}
	}
	printf("requests %lu right %lu defer %lu wrong %lu late %lu lost %lu "
	    "max_ms %llu recovery_ms %llu recovered %d\n",
	    st.requests + st.lost, st.right, st.defer, st.wrong, st.late,
	    st.lost, (unsigned long long)(st.max_us / 1000),
	    (unsigned long long)(st.r_us != 0 && st.last_bad_us > st.r_us ?
	    (st.last_bad_us - st.r_us) / 1000 : 0), recovered);
	fflush(stdout);
	return st.r_us != 0 && !recovered ? 1 : 0;
}
