/*
 * policyload - a closed-loop load generator for Postfix policy servers.
 *
 *   policyload -s unix:/path|inet:host:port -c CONNS -n REQUESTS
 *              [-f recipients.txt] [-w WARMUP]
 *
 * Each of CONNS connections behaves like one Postfix smtpd process: it
 * sends one RCPT request, waits for the reply, sends the next. The
 * recipients come from the file (one per line, used round-robin) or are
 * "user<N>@example.com". Prints requests/s and latency percentiles
 * (microseconds), and the count of each distinct action.
 *
 * Bounded: stops after REQUESTS replies in total, or 120 s.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PL_CONNS_MAX	1024
#define PL_BUF		8192
#define PL_ACTIONS_MAX	16
#define PL_DEADLINE_S	120

struct plconn {
	int	 fd;
	uint64_t t_sent;
	char	 in[PL_BUF];
	size_t	 inlen;
};

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int
connect_to(const char *ep)
{
	int fd;

	if (strncmp(ep, "unix:", 5) == 0) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", ep + 5);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (void *)&sun, sizeof(sun)) < 0)
			return -1;
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
			return -1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	} else
		return -1;
	return fd;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static char **rcpts;
static size_t nrcpts, next_rcpt;

static int
send_req(struct plconn *c, uint64_t seq)
{
	char req[2048], rbuf[512];
	const char *r;
	int n;

	if (nrcpts > 0)
		r = rcpts[next_rcpt++ % nrcpts];
	else {
		snprintf(rbuf, sizeof(rbuf), "user%llu@example.com",
		    (unsigned long long)(seq % 1000));
		r = rbuf;
	}
	n = snprintf(req, sizeof(req),
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
	c->t_sent = now_us();
	return write(c->fd, req, (size_t)n) == n ? 0 : -1;
}

int
main(int argc, char **argv)
{
	const char *ep = NULL, *file = NULL;
	unsigned long conns = 8, total = 10000, warm = 0, done = 0, sent = 0;
	static struct plconn cs[PL_CONNS_MAX];
	char *act_name[PL_ACTIONS_MAX];
	unsigned long act_count[PL_ACTIONS_MAX];
	size_t nact = 0, i;
	uint64_t *lat, t0, t1;
	int ep_fd, ch, errors = 0;

	while ((ch = getopt(argc, argv, "s:c:n:f:w:")) != -1) {
		switch (ch) {
		case 's': ep = optarg; break;
		case 'c': conns = strtoul(optarg, NULL, 10); break;
		case 'n': total = strtoul(optarg, NULL, 10); break;
		case 'f': file = optarg; break;
		case 'w': warm = strtoul(optarg, NULL, 10); break;
		default: goto usage;
		}
	}
	if (ep == NULL || conns == 0 || conns > PL_CONNS_MAX || total == 0) {
usage:
		fprintf(stderr, "usage: policyload -s ENDPOINT [-c conns] "
		    "[-n requests] [-f rcpts] [-w warmup]\n");
		return 2;
	}
	if (file) {
		FILE *fp = fopen(file, "r");
		char line[1024];

		if (fp == NULL) {
			perror(file);
			return 2;
		}
		while (fgets(line, sizeof(line), fp)) {
			line[strcspn(line, "\r\n")] = '\0';
			if (*line == '\0')
				continue;
			rcpts = realloc(rcpts, (nrcpts + 1) * sizeof(*rcpts));
			rcpts[nrcpts++] = strdup(line);
		}
		fclose(fp);
	}
	lat = calloc(total, sizeof(*lat));
	ep_fd = epoll_create1(0);
	/* warm-up requests are sent and answered but not measured */
	total += warm;
	for (i = 0; i < conns; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &cs[i] };

		if ((cs[i].fd = connect_to(ep)) < 0) {
			fprintf(stderr, "policyload: connect %s: %s\n", ep,
			    strerror(errno));
			return 1;
		}
		epoll_ctl(ep_fd, EPOLL_CTL_ADD, cs[i].fd, &ev);
	}
	t0 = now_us();
	for (i = 0; i < conns && sent < total; i++)
		if (send_req(&cs[i], sent++) < 0)
			errors++;
	while (done < total) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep_fd, evs, 64, 1000), k;

		if (now_us() - t0 > (uint64_t)PL_DEADLINE_S * 1000000) {
			fprintf(stderr, "policyload: deadline reached\n");
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
				if (done >= warm)
					lat[done - warm] = t - c->t_sent;
				if (done == warm)
					t0 = t;
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
				if (sent < total && send_req(c, sent++) < 0)
					errors++;
			}
		}
	}
	t1 = now_us();
	total -= warm;
	done -= warm;
	qsort(lat, done, sizeof(*lat), cmp_u64);
	printf("requests %lu conns %lu seconds %.3f rps %.0f "
	    "p50_us %llu p90_us %llu p99_us %llu max_us %llu errors %d\n",
	    done, conns, (double)(t1 - t0) / 1e6,
	    done / ((double)(t1 - t0) / 1e6),
	    (unsigned long long)lat[done / 2],
	    (unsigned long long)lat[done * 9 / 10],
	    (unsigned long long)lat[done * 99 / 100],
	    (unsigned long long)lat[done - 1], errors);
	for (i = 0; i < nact; i++)
		printf("  %8lu  %s\n", act_count[i], act_name[i]);
	return errors ? 1 : 0;
}
