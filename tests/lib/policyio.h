/*
 * tests/lib/policyio.h - what the C test clients share (rcptload.c,
 * abuse.c): the clock, connecting to an endpoint, a Postfix-shaped
 * policy request and a recipient file with the expected answers.
 * Header-only (static functions), so that each tool stays one cc
 * command: cc -std=c17 -D_GNU_SOURCE -O2 -Itests/lib -o x tests/lib/x.c
 */
#ifndef VRCPT_TESTS_POLICYIO_H
#define VRCPT_TESTS_POLICYIO_H

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PIO_LINE_MAX	1024	/* one line of a recipient file */
#define PIO_REQ_MAX	2048	/* one formatted request */

static uint64_t __attribute__((unused))
pio_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* pio_nofile - raise the soft open-file limit to want (up to the hard) */
static void __attribute__((unused))
pio_nofile(unsigned long want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max ?
	    rl.rlim_max : want;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

/*
 * pio_connect - a connected stream socket to "unix:/path" or
 * "inet:a.b.c.d:port" (blocking connect, at most timeout_ms; then
 * O_NONBLOCK when nonblock), or -1 with errno set.
 */
static int __attribute__((unused))
pio_connect(const char *ep, int timeout_ms, bool nonblock)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	int fd, one = 1, e;

	memset(&ss, 0, sizeof(ss));
	if (strncmp(ep, "unix:", 5) == 0) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;

		sun->sun_family = AF_UNIX;
		if (strlen(ep + 5) >= sizeof(sun->sun_path)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		strcpy(sun->sun_path, ep + 5);
		sslen = sizeof(*sun);
	} else if (strncmp(ep, "inet:", 5) == 0) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		const char *colon = strrchr(ep + 5, ':');
		char host[64];
		size_t hl;

		if (colon == NULL || (hl = (size_t)(colon - ep - 5)) >=
		    sizeof(host)) {
			errno = EINVAL;
			return -1;
		}
		memcpy(host, ep + 5, hl);
		host[hl] = '\0';
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)atoi(colon + 1));
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
			errno = EINVAL;
			return -1;
		}
		sslen = sizeof(*sin);
	} else {
		errno = EINVAL;
		return -1;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&ss, sslen) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (ss.ss_family == AF_INET)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	if (nonblock)
		(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/*
 * pio_request - one RCPT request into req[size]: with the attributes
 * Postfix 3.7's smtpd sends, in its order (smtpd_check.c:
 * check_policy_service), or when small only the three vrcptd needs.
 * Returns its length.
 */
static int __attribute__((unused))
pio_request(char *req, size_t size, const char *rcpt, bool small)
{
	if (small)
		return snprintf(req, size, "request=smtpd_access_policy\n"
		    "protocol_state=RCPT\nrecipient=%s\n\n", rcpt);
	return snprintf(req, size,
	    "request=smtpd_access_policy\nprotocol_state=RCPT\n"
	    "protocol_name=ESMTP\nclient_address=192.0.2.1\n"
	    "client_name=mx.example.net\nclient_port=40000\n"
	    "reverse_client_name=mx.example.net\nserver_address=127.0.0.1\n"
	    "server_port=25\nhelo_name=mx.example.net\n"
	    "sender=sender@example.net\nrecipient=%s\nrecipient_count=0\n"
	    "queue_id=\ninstance=1a2b.3c4d.5e6f.0\nsize=0\n"
	    "etrn_domain=\nstress=\nsasl_method=\nsasl_username=\n"
	    "sasl_sender=\nccert_subject=\nccert_issuer=\n"
	    "ccert_fingerprint=\nccert_pubkey_fingerprint=\n"
	    "encryption_protocol=\nencryption_cipher=\n"
	    "encryption_keysize=0\npolicy_context=\n\n", rcpt);
}

/*
 * A recipient file: "address<TAB>expected action" lines. An address
 * with "%u" in it is a template: each use puts a new number there (a
 * key no cache has seen: the database must answer it).
 */
struct pio_rcpt {
	char	*addr;
	char	*want;
	bool	 fresh;		/* a template */
};

struct pio_rcpts {
	struct pio_rcpt *v;
	size_t	 n;
};

static void __attribute__((unused))
pio_rcpts_load(struct pio_rcpts *rs, const char *file)
{
	FILE *fp = fopen(file, "r");
	char line[PIO_LINE_MAX], *tab;
	size_t cap = 0;

	if (fp == NULL) {
		perror(file);
		exit(2);
	}
	rs->v = NULL;
	rs->n = 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if ((tab = strchr(line, '\t')) == NULL)
			continue;
		*tab = '\0';
		if (rs->n == cap) {
			cap = cap ? cap * 2 : 256;
			rs->v = realloc(rs->v, cap * sizeof(*rs->v));
			if (rs->v == NULL) {
				perror("realloc");
				exit(2);
			}
		}
		rs->v[rs->n].addr = strdup(line);
		rs->v[rs->n].want = strdup(tab + 1);
		rs->v[rs->n].fresh = strstr(line, "%u") != NULL;
		rs->n++;
	}
	fclose(fp);
	if (rs->n == 0) {
		fprintf(stderr, "%s: no \"address<TAB>action\" lines\n", file);
		exit(2);
	}
}

/* pio_rcpt_addr - r's address into out[size], a template filled with seq */
static void __attribute__((unused))
pio_rcpt_addr(const struct pio_rcpt *r, uint64_t seq, char *out, size_t size)
{
	const char *p = strstr(r->addr, "%u");

	if (p == NULL)
		snprintf(out, size, "%s", r->addr);
	else
		snprintf(out, size, "%.*s%llu%s", (int)(p - r->addr), r->addr,
		    (unsigned long long)seq, p + 2);
}

#endif
