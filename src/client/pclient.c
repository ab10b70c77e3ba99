/*
 * pclient - blocking policy-protocol client with a connection pool (and
 * any other framing, pclient_ask_framed). See pclient.h.
 *
 * Depends on: libc, pthread, util/ (buf, clock, xalloc), proto/policy
 * (the grammar and limits of a reply). Used by the libmilter callback
 * threads and by vrcptctl, so
 * everything here is thread-safe: the pool is the only shared state and
 * it is guarded by one mutex that is never held across I/O.
 *
 * Security: all sockets are non-blocking and every wait is a poll() that
 * ends at the request's deadline, so a stuck vrcptd costs one thread at
 * most timeout_ms. Writes use MSG_NOSIGNAL (no SIGPIPE). Reply bytes are
 * bounded by POLICY_REQUEST_MAX.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/endpoint.h"
#include "client/pclient.h"
#include "proto/policy.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/xalloc.h"

#define PCLIENT_TRIES		2	/* a dead pooled connection is
					 * replaced once */

struct pclient {
	char	*endpoint;		/* as configured, for messages */
	char	*unix_path;		/* unix:, or NULL */
	char	*host;			/* inet: */
	char	*port;
	unsigned long long timeout_ms;
	pthread_mutex_t lock;		/* guards idle[], nidle */
	int	 idle[PCLIENT_IDLE_MAX];
	size_t	 nidle;
};

/* the outcome of one exchange on one connection */
enum pc_io {
	PC_IO_OK,
	PC_IO_FAIL,		/* give up */
	PC_IO_RETRY		/* the server had closed it: try another */
};

int
pclient_new(const struct endpoint *ep, unsigned long long timeout_ms,
    struct pclient **pc_r, char err[PCLIENT_ERR_LEN])
{
	struct pclient *pc;
	char	 port[ENDPOINT_PORT_DIGITS + 1];

	*pc_r = NULL;
	switch (ep->kind) {
	case ENDPOINT_NONE:
		snprintf(err, PCLIENT_ERR_LEN, "no endpoint");
		return -1;
	case ENDPOINT_UNIX:
	case ENDPOINT_INET:
		break;
	}
	pc = xcalloc(1, sizeof(*pc));
	pc->endpoint = xstrdup(ep->text);
	pc->timeout_ms = timeout_ms;
	if (ep->kind == ENDPOINT_UNIX) {
		pc->unix_path = xstrdup(ep->path);
	} else {
		pc->host = xstrdup(ep->host[0] != '\0' ? ep->host :
		    "localhost");
		pc->port = xstrdup(endpoint_port_text(ep, port));
	}
	pthread_mutex_init(&pc->lock, NULL);
	*pc_r = pc;
	return 0;
}

void
pclient_free(struct pclient **pcp)
{
	struct pclient *pc = *pcp;
	size_t	 i;

	*pcp = NULL;
	if (pc == NULL)
		return;
	for (i = 0; i < pc->nidle; i++)
		close(pc->idle[i]);
	pthread_mutex_destroy(&pc->lock);
	free(pc->endpoint);
	free(pc->unix_path);
	free(pc->host);
	free(pc->port);
	free(pc);
}

const char *
pclient_endpoint(const struct pclient *pc)
{
	return pc->endpoint;
}

/* ms_left - milliseconds until deadline (microseconds), 0 if past */
static int
ms_left(uint64_t deadline)
{
	uint64_t now = clock_mono_us(), left;

	if (now >= deadline)
		return 0;
	left = (deadline - now + CLOCK_US_PER_MS - 1) / CLOCK_US_PER_MS;
	return left > INT32_MAX ? INT32_MAX : (int)left;
}

/*
 * wait_fd - poll fd for events until the deadline. 1 ready, 0 timed out,
 * -1 error (errno).
 */
static int
wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd pfd;
	int	 rc, ms;

	for (;;) {
		if ((ms = ms_left(deadline)) == 0)
			return 0;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		rc = poll(&pfd, 1, ms);
		if (rc > 0)
			return 1;
		if (rc == 0)
			continue;	/* re-check the clock */
		if (errno != EINTR)
			return -1;
	}
}

/* connect_one - connect a non-blocking socket by the deadline; 0 / -1 */
static int
connect_one(int fd, const struct sockaddr *sa, socklen_t salen,
    uint64_t deadline, const char *what, char err[PCLIENT_ERR_LEN])
{
	int	 soerr = 0, rc;
	socklen_t len = sizeof(soerr);

	if (connect(fd, sa, salen) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EAGAIN && errno != EINTR) {
		snprintf(err, PCLIENT_ERR_LEN, "connect to %s: %s", what,
		    strerror(errno));
		return -1;
	}
	if ((rc = wait_fd(fd, POLLOUT, deadline)) <= 0) {
		snprintf(err, PCLIENT_ERR_LEN, "connect to %s: %s", what,
		    rc == 0 ? "timed out" : strerror(errno));
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (soerr != 0) {
		snprintf(err, PCLIENT_ERR_LEN, "connect to %s: %s", what,
		    strerror(soerr));
		return -1;
	}
	return 0;
}

/* connect_fresh - a new connection to the endpoint, or -1 with err */
static int
connect_fresh(struct pclient *pc, uint64_t deadline,
    char err[PCLIENT_ERR_LEN])
{
	struct addrinfo hints, *res, *ai;
	struct sockaddr_un sun;
	int	 fd, rc;

	if (pc->unix_path != NULL) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, pc->unix_path, strlen(pc->unix_path));
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd < 0) {
			snprintf(err, PCLIENT_ERR_LEN, "socket: %s",
			    strerror(errno));
			return -1;
		}
		if (connect_one(fd, (struct sockaddr *)&sun, sizeof(sun),
		    deadline, pc->endpoint, err) < 0) {
			close(fd);
			return -1;
		}
		return fd;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(pc->host, pc->port, &hints, &res)) != 0) {
		snprintf(err, PCLIENT_ERR_LEN, "%s: %s", pc->endpoint,
		    gai_strerror(rc));
		return -1;
	}
	snprintf(err, PCLIENT_ERR_LEN, "%s: no usable address", pc->endpoint);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			snprintf(err, PCLIENT_ERR_LEN, "socket: %s",
			    strerror(errno));
			continue;
		}
		if (connect_one(fd, ai->ai_addr, ai->ai_addrlen, deadline,
		    pc->endpoint, err) == 0) {
			freeaddrinfo(res);
			return fd;
		}
		close(fd);
	}
	freeaddrinfo(res);
	return -1;
}

/* pool_take - an idle connection, or -1 */
static int
pool_take(struct pclient *pc)
{
	int	 fd = -1;

	pthread_mutex_lock(&pc->lock);
	if (pc->nidle > 0)
		fd = pc->idle[--pc->nidle];
	pthread_mutex_unlock(&pc->lock);
	return fd;
}

/* pool_put - keep a healthy connection, or close it if the pool is full */
static void
pool_put(struct pclient *pc, int fd)
{
	pthread_mutex_lock(&pc->lock);
	if (pc->nidle < PCLIENT_IDLE_MAX) {
		pc->idle[pc->nidle++] = fd;
		fd = -1;
	}
	pthread_mutex_unlock(&pc->lock);
	if (fd >= 0)
		close(fd);
}

/*
 * still_open - an idle connection has nothing to read: anything there
 * (data or EOF) means the server has given up on it.
 */
static bool
still_open(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 0;
}

/* send_all - write the request by the deadline */
static enum pc_io
send_all(int fd, const char *p, size_t len, uint64_t deadline, bool reused,
    const char *what, char err[PCLIENT_ERR_LEN])
{
	ssize_t	 n;
	int	 rc;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((rc = wait_fd(fd, POLLOUT, deadline)) > 0)
				continue;
			snprintf(err, PCLIENT_ERR_LEN, "write to %s: %s", what,
			    rc == 0 ? "timed out" : strerror(errno));
			return PC_IO_FAIL;
		}
		snprintf(err, PCLIENT_ERR_LEN, "write to %s: %s", what,
		    n < 0 ? strerror(errno) : "nothing written");
		return reused && (errno == EPIPE || errno == ECONNRESET) ?
		    PC_IO_RETRY : PC_IO_FAIL;
	}
	return PC_IO_OK;
}

/* pclient_policy_frame - pclient_frame of the policy protocol: a reply has the
 * grammar and limits of a request */
int
pclient_policy_frame(const char *data, size_t len, size_t *used_r,
    const char **why_r)
{
	struct policy_req scratch = { 0 };
	enum pp_status st;
	enum pp_error why;

	st = pp_parse(data, len, &scratch, used_r, &why);
	policy_req_free(&scratch);
	if (st == PP_AGAIN)
		return 0;
	if (st == PP_ERROR) {
		*why_r = pp_strerror(why);
		return -1;
	}
	return 1;
}

/* exchange - one request and its reply (framed by frame) on fd */
static enum pc_io
exchange(struct pclient *pc, int fd, bool reused, const char *req,
    size_t len, pclient_frame frame, uint64_t deadline, char **reply_r,
    size_t *reply_len_r, char err[PCLIENT_ERR_LEN])
{
	char	 chunk[PCLIENT_READ_CHUNK];
	enum pc_io io;
	const char *why = NULL;
	struct buf in;
	size_t	 used = 0;
	ssize_t	 n;
	int	 rc, st;

	if ((io = send_all(fd, req, len, deadline, reused, pc->endpoint,
	    err)) != PC_IO_OK)
		return io;
	buf_init(&in, POLICY_REQUEST_MAX);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((rc = wait_fd(fd, POLLIN, deadline)) > 0)
				continue;
			snprintf(err, PCLIENT_ERR_LEN, "read from %s: %s",
			    pc->endpoint, rc == 0 ? "timed out" :
			    strerror(errno));
			io = PC_IO_FAIL;
			break;
		}
		if (n <= 0) {
			snprintf(err, PCLIENT_ERR_LEN, "read from %s: %s",
			    pc->endpoint, n == 0 ?
			    "connection closed by server" : strerror(errno));
			/* a pooled connection that vrcptd dropped just
			 * before our request arrived: nothing was answered */
			io = reused && in.len == 0 ? PC_IO_RETRY : PC_IO_FAIL;
			break;
		}
		if (buf_append(&in, chunk, (size_t)n) < 0) {
			snprintf(err, PCLIENT_ERR_LEN, "reply from %s: %s",
			    pc->endpoint,
			    pp_strerror(PP_ERR_REQUEST_TOO_LARGE));
			io = PC_IO_FAIL;
			break;
		}
		st = frame(in.data, in.len, &used, &why);
		if (st == 0)
			continue;
		if (st < 0) {
			snprintf(err, PCLIENT_ERR_LEN, "reply from %s: %s",
			    pc->endpoint, why != NULL ? why : "bad reply");
			io = PC_IO_FAIL;
			break;
		}
		if (used != in.len) {
			/* a second reply nobody asked for: out of step */
			snprintf(err, PCLIENT_ERR_LEN, "reply from %s: "
			    "unexpected bytes after the reply", pc->endpoint);
			io = PC_IO_FAIL;
			break;
		}
		*reply_r = xmalloc(used + 1);
		memcpy(*reply_r, in.data, used);
		(*reply_r)[used] = '\0';
		*reply_len_r = used;
		io = PC_IO_OK;
		break;
	}
	buf_free(&in);
	return io;
}

int
pclient_ask(struct pclient *pc, const char *req, size_t len,
    char **reply_r, size_t *reply_len_r, char err[PCLIENT_ERR_LEN])
{
	return pclient_ask_framed(pc, req, len, pclient_policy_frame, reply_r,
	    reply_len_r, err);
}

int
pclient_ask_framed(struct pclient *pc, const char *req, size_t len,
    pclient_frame frame, char **reply_r, size_t *reply_len_r,
    char err[PCLIENT_ERR_LEN])
{
	uint64_t deadline;
	enum pc_io io;
	bool	 reused, fresh_only = false;
	int	 fd, tries;

	*reply_r = NULL;
	*reply_len_r = 0;
	err[0] = '\0';
	deadline = clock_mono_us() + pc->timeout_ms * CLOCK_US_PER_MS;
	for (tries = 0; tries < PCLIENT_TRIES; ) {
		if (!fresh_only && (fd = pool_take(pc)) >= 0) {
			if (!still_open(fd)) {
				close(fd);	/* closed while idle: free */
				continue;
			}
			reused = true;
		} else {
			if ((fd = connect_fresh(pc, deadline, err)) < 0)
				return -1;
			reused = false;
		}
		tries++;
		io = exchange(pc, fd, reused, req, len, frame, deadline,
		    reply_r, reply_len_r, err);
		switch (io) {
		case PC_IO_OK:
			pool_put(pc, fd);
			return 0;
		case PC_IO_FAIL:
			close(fd);
			return -1;
		case PC_IO_RETRY:
			close(fd);
			if (ms_left(deadline) == 0)
				return -1;
			fresh_only = true;	/* others may be as stale */
			break;
		}
	}
	return -1;
}
