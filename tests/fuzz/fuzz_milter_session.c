/*
 * fuzz_milter_session - libFuzzer target for whole milter conversations:
 * vrcpt-milter's own callbacks (milter/msess.c, as msess_init() hands
 * them to libmilter) driven by a stream of events, asking a fake vrcptd
 * through the real policy client (client/pclient.c) over a unix socket.
 *
 *   make fuzz FUZZ_TARGETS=milter_session (build/fuzz/fuzz_milter_session)
 *
 * libMilter itself is replaced by the smfi_*() functions below, which
 * keep the macros and private data of one SMFICTX and check what the
 * milter hands back. The fake vrcptd is a thread serving a socket in a
 * temporary directory; for each request it answers whatever the current
 * RCPT event scripted, in one of a few manners (keep the connection,
 * close after the reply, close without one, reply in two writes). It
 * closes any connection after a reply that is not one complete policy
 * reply, so that no exchange waits for the client's timeout, and sends
 * such a reply in one write (see fms_serve()).
 *
 * Input: one byte of switches (bit 0 lookup_failure_action dunno, bit 1
 * log rejects, bit 2 log accepts, bit 3 verbose), then events until the
 * input ends, each an opcode byte (mod 8) and its operands. A string is
 * a length byte and that many bytes (0xff: NULL; 0xfe: a 2-byte length
 * follows, for values past POLICY_LINE_MAX); NUL bytes inside end the
 * C string early, as they would in libmilter.
 *   0 negotiate  f0, f1 (4 bytes each, little-endian)
 *   1 connect    hostname, family (4: IPv4 + 4 bytes, 6: IPv6 + 16
 *                bytes, 0: no address, other: that sa_family, no bytes)
 *   2 helo       name
 *   3 envfrom    argc byte (0: argv NULL), argc strings
 *   4 envrcpt    argc byte, argc strings, then the fake vrcptd's reply:
 *                manner byte (mod 4), length (2 bytes), bytes
 *   5 abort      6 close
 *   7 macro      which (mod 5: {client_addr} {client_name} i
 *                {auth_authen} r), value
 * The conversation ends with a close, as when the MTA hangs up.
 *
 * Invariants (a violation aborts), with a model of the session kept
 * here from the same events:
 *   - every RCPT gets exactly one verdict: continue, reject or tempfail,
 *     and smfi_setreply() is called once for reject and tempfail and not
 *     at all otherwise, with a code of the verdict's class, a DSN of the
 *     same class, a text of at most MILTER_REPLY_MAX bytes without CR,
 *     LF or controls and with every '%' doubled;
 *   - what vrcptd receives is the policy request the model expects
 *     (instance aside, which must be "<pid>.<conn>.<msg>" in hex), and
 *     none when a value holds CR/LF or is too long;
 *   - the verdict is milter_map_action() of the first action of a
 *     complete reply, and lookup_failure_action when vrcptd closed
 *     without one, sent something that is not a reply, or the request
 *     could not be sent;
 *   - connect, helo and envfrom never ask for a reply (SMFIS_NOREPLY),
 *     negotiation asks for no more than the MTA offers.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "client/pclient.h"
#include "conf/endpoint.h"
#include "fuzz.h"
#include "milter/msess.h"
#include "proto/milter_map.h"
#include "proto/policy.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

#define FMS_DIR_TEMPLATE "/tmp/vrcpt-fuzz-milter.XXXXXX"
#define FMS_CONNS_MAX	64	/* fake vrcptd connections */
#define FMS_ARGV_MAX	8	/* argv entries of one event */
#define FMS_TIMEOUT_MS	5000	/* policy client: never reached */
#define FMS_PID		0x4d53	/* the instance attribute's pid */
#define FMS_READ_CHUNK	4096
#define FMS_STR_NULL	0xff	/* string length byte: NULL */
#define FMS_STR_LONG	0xfe	/* string length byte: 2 bytes follow */

/* the macros the milter asks for, in the stub's order */
static const char *const fms_macro_names[] = {
	"{client_addr}", "{client_name}", "i", "{auth_authen}", "r",
};
#define FMS_NMACROS	(sizeof(fms_macro_names) / sizeof(fms_macro_names[0]))

enum fms_manner {
	FMS_KEEP,		/* reply, keep the connection */
	FMS_CLOSE,		/* reply, then close */
	FMS_HANGUP,		/* close without a reply */
	FMS_SPLIT		/* reply in two writes, keep */
};

/* ------------------------------------------------- libmilter, stubbed */

struct smfi_str {
	void	*priv;
	char	*macros[FMS_NMACROS];
	unsigned nsetreply;		/* calls during this callback */
	char	*rcode, *xcode, *text;	/* the last ones */
};

void *
smfi_getpriv(SMFICTX *ctx)
{
	return ctx->priv;
}

int
smfi_setpriv(SMFICTX *ctx, void *priv)
{
	ctx->priv = priv;
	return MI_SUCCESS;
}

char *
smfi_getsymval(SMFICTX *ctx, char *name)
{
	size_t	 i;

	for (i = 0; i < FMS_NMACROS; i++)
		if (strcmp(name, fms_macro_names[i]) == 0)
			return ctx->macros[i];
	return NULL;
}

int
smfi_setsymlist(SMFICTX *ctx, int stage, char *macros)
{
	FUZZ_ASSERT(stage >= SMFIM_CONNECT && stage <= SMFIM_EOH);
	FUZZ_ASSERT(macros != NULL && strchr(macros, '\n') == NULL);
	return MI_SUCCESS;
}

/* smfi_setreply - what libmilter checks, and what the MTA needs */
int
smfi_setreply(SMFICTX *ctx, char *rcode, char *xcode, char *message)
{
	const unsigned char *p;

	FUZZ_ASSERT(rcode != NULL && strlen(rcode) == 3 &&
	    (rcode[0] == '4' || rcode[0] == '5') &&
	    strspn(rcode, "0123456789") == 3);
	FUZZ_ASSERT(xcode != NULL && xcode[0] == rcode[0] &&
	    xcode[1] == '.' && strlen(xcode) <= MILTER_XCODE_MAX);
	FUZZ_ASSERT(message != NULL && strlen(message) <= MILTER_REPLY_MAX);
	for (p = (const unsigned char *)message; *p != '\0'; p++) {
		FUZZ_ASSERT(*p >= 0x20 && *p != 0x7f);
		if (*p == '%') {
			FUZZ_ASSERT(p[1] == '%');	/* a "%%" pair */
			p++;
		}
	}
	ctx->nsetreply++;
	free(ctx->rcode);
	free(ctx->xcode);
	free(ctx->text);
	ctx->rcode = xstrdup(rcode);
	ctx->xcode = xstrdup(xcode);
	ctx->text = xstrdup(message);
	return MI_SUCCESS;
}

/* ------------------------------------------------------- fake vrcptd */

static struct {
	bool	 up;
	char	 dir[sizeof(FMS_DIR_TEMPLATE)];
	char	*path;			/* the socket */
	char	*endpoint;		/* "unix:" path */
	int	 lfd;
	int	 stop[2];		/* a pipe: ends the thread */
	pthread_t th;
	pthread_mutex_t lock;		/* guards the script and record */
	/* the script: what to answer */
	char	*reply;
	size_t	 rlen;
	enum fms_manner manner;
	/* the record: requests served */
	unsigned long nreq;
	char	*last_req;
	/* connections (server thread only) */
	int	 fd[FMS_CONNS_MAX];
	struct buf in[FMS_CONNS_MAX];
	size_t	 nconn;
	/* the milter side */
	struct pclient *pc;
	struct smfiDesc desc;
	struct msess_opts opts;
} fms;

/* fms_send_all - write everything (the client is reading) */
static bool
fms_send_all(int fd, const char *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static void
fms_conn_drop(size_t i)
{
	close(fms.fd[i]);
	buf_free(&fms.in[i]);
	fms.nconn--;
	fms.fd[i] = fms.fd[fms.nconn];
	fms.in[i] = fms.in[fms.nconn];
}

/*
 * fms_serve - answer the complete requests in connection i's buffer;
 * false when the connection is to go
 */
static bool
fms_serve(size_t i)
{
	struct policy_req pr = { 0 };
	enum pp_error why;
	enum pp_status st;
	size_t	 used, rused, rlen, half;
	char	*reply, *action = NULL;
	enum fms_manner manner;
	bool	 whole;

	for (;;) {
		st = pp_parse(fms.in[i].data, fms.in[i].len, &pr, &used, &why);
		policy_req_free(&pr);
		/* the policy client sends nothing but whole requests */
		FUZZ_ASSERT(st != PP_ERROR);
		if (st == PP_AGAIN)
			return true;
		pthread_mutex_lock(&fms.lock);
		fms.nreq++;
		free(fms.last_req);
		fms.last_req = xstrndup(fms.in[i].data, used);
		reply = xmalloc(fms.rlen + 1);
		if (fms.rlen > 0)
			memcpy(reply, fms.reply, fms.rlen);
		rlen = fms.rlen;
		manner = fms.manner;
		pthread_mutex_unlock(&fms.lock);
		buf_consume(&fms.in[i], used);

		/* one complete reply, nothing after it? */
		whole = milter_map_parse_reply(reply, rlen, &action, &rused,
		    &why) == PP_DONE && rused == rlen;
		free(action);
		action = NULL;
		switch (manner) {
		case FMS_HANGUP:
			free(reply);
			return false;
		case FMS_SPLIT:
			/*
			 * Only a whole reply is split: bytes after a reply
			 * that come in a later write may arrive after the
			 * client pooled the connection and checked it, and
			 * be read as the start of the next reply. A server
			 * that answers twice confuses any client of this
			 * protocol (Postfix attr_clnt alike); that is not
			 * what this target looks for.
			 */
			half = whole ? rlen / 2 : rlen;
			if (!fms_send_all(fms.fd[i], reply, half) ||
			    !fms_send_all(fms.fd[i], reply + half,
			    rlen - half)) {
				free(reply);
				return false;
			}
			break;
		case FMS_KEEP:
		case FMS_CLOSE:
			if (!fms_send_all(fms.fd[i], reply, rlen)) {
				free(reply);
				return false;
			}
			break;
		}
		free(reply);
		if (manner == FMS_CLOSE || !whole)
			return false;
	}
}

/* fms_thread - the fake vrcptd: accept, read, answer */
static void *
fms_thread(void *arg)
{
	struct pollfd pfd[FMS_CONNS_MAX + 2];
	char	 chunk[FMS_READ_CHUNK];
	size_t	 i, n;
	ssize_t	 got;
	int	 fd;

	for (;;) {
		pfd[0].fd = fms.lfd;
		pfd[0].events = POLLIN;
		for (i = 0; i < fms.nconn; i++) {
			pfd[i + 1].fd = fms.fd[i];
			pfd[i + 1].events = POLLIN;
		}
		n = fms.nconn;
		pfd[n + 1].fd = fms.stop[0];
		pfd[n + 1].events = POLLIN;
		if (poll(pfd, n + 2, -1) < 0)
			continue;
		if (pfd[n + 1].revents != 0)
			break;
		/* from the end, so that dropping one moves none unseen */
		for (i = n; i-- > 0;) {
			if (pfd[i + 1].revents == 0)
				continue;
			got = read(fms.fd[i], chunk, sizeof(chunk));
			if (got <= 0 || buf_append(&fms.in[i], chunk,
			    (size_t)got) < 0 || !fms_serve(i))
				fms_conn_drop(i);
		}
		if (pfd[0].revents != 0 &&
		    (fd = accept(fms.lfd, NULL, NULL)) >= 0) {
			if (fms.nconn == FMS_CONNS_MAX) {
				close(fd);
				continue;
			}
			fms.fd[fms.nconn] = fd;
			buf_init(&fms.in[fms.nconn], POLICY_REQUEST_MAX);
			fms.nconn++;
		}
	}
	while (fms.nconn > 0)
		fms_conn_drop(0);
	return arg;
}

/* fms_cleanup - stop the fake vrcptd, remove its socket (atexit) */
static void
fms_cleanup(void)
{
	if (write(fms.stop[1], "", 1) != 1)
		abort();
	pthread_join(fms.th, NULL);
	close(fms.stop[0]);
	close(fms.stop[1]);
	close(fms.lfd);
	pclient_free(&fms.pc);
	(void)unlink(fms.path);
	(void)rmdir(fms.dir);
	free(fms.path);
	free(fms.endpoint);
	free(fms.reply);
	free(fms.last_req);
}

/* fms_init - logging, the fake vrcptd and the policy client, once */
static void
fms_init(void)
{
	struct sockaddr_un sun;
	char	 err[PCLIENT_ERR_LEN];
	const char *lerr, *hint;
	struct endpoint ep;

	if (fms.up)
		return;
	FUZZ_ASSERT(log_open("fuzz", LOG_DEST_FILE, "mail", "/dev/null",
	    &lerr) == 0);
	memcpy(fms.dir, FMS_DIR_TEMPLATE, sizeof(fms.dir));
	FUZZ_ASSERT(mkdtemp(fms.dir) != NULL);
	fms.path = xasprintf("%s/policy.sock", fms.dir);
	fms.endpoint = xasprintf("unix:%s", fms.path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	FUZZ_ASSERT(strlen(fms.path) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, fms.path, strlen(fms.path));
	FUZZ_ASSERT((fms.lfd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	FUZZ_ASSERT(bind(fms.lfd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	FUZZ_ASSERT(listen(fms.lfd, FMS_CONNS_MAX) == 0);
	pthread_mutex_init(&fms.lock, NULL);
	FUZZ_ASSERT(pipe(fms.stop) == 0);
	FUZZ_ASSERT(pthread_create(&fms.th, NULL, fms_thread, NULL) == 0);
	/* milter_policy_service as the milter reads it (conf) */
	FUZZ_ASSERT(endpoint_parse(fms.endpoint, 0, &ep, &hint) == 0 &&
	    ep.kind == ENDPOINT_UNIX);
	FUZZ_ASSERT(pclient_new(&ep, FMS_TIMEOUT_MS, &fms.pc, err) == 0);
	atexit(fms_cleanup);
	fms.up = true;
}

/* ------------------------------------------------------------- model */

/* what the milter should know: msess.c's state, kept independently */
struct fms_model {
	char	*hostname, *hostaddr, *helo, *envfrom, *protocol;
};

static void
fms_model_message(struct fms_model *m)
{
	free(m->envfrom);
	free(m->protocol);
	m->envfrom = m->protocol = NULL;
}

static void
fms_model_reset(struct fms_model *m)
{
	fms_model_message(m);
	free(m->hostname);
	free(m->hostaddr);
	free(m->helo);
	m->hostname = m->hostaddr = m->helo = NULL;
}

static char *
fms_dup(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* ------------------------------------------------------------ events */

/* fms_str - a length and bytes, or NULL (see the top); caller frees */
static char *
fms_str(struct fuzz_in *in)
{
	size_t	 len = fuzz_byte(in);

	if (len == FMS_STR_NULL)
		return NULL;
	if (len == FMS_STR_LONG)
		len = fuzz_u16(in);
	return fuzz_bytes(in, len, NULL);
}

static uint32_t
fms_u32(struct fuzz_in *in)
{
	uint32_t v = (uint32_t)fuzz_u16(in);

	return v | (uint32_t)fuzz_u16(in) << 16;
}

/* fms_argv - argc and strings; NULL for argc 0; argv[] ends at a NULL */
static char **
fms_argv(struct fuzz_in *in, char *store[FMS_ARGV_MAX + 1])
{
	size_t	 argc = fuzz_byte(in) % (FMS_ARGV_MAX + 1), i;

	memset(store, 0, (FMS_ARGV_MAX + 1) * sizeof(*store));
	if (argc == 0)
		return NULL;
	for (i = 0; i < argc; i++)
		if ((store[i] = fms_str(in)) == NULL)
			break;
	return store;
}

static void
fms_argv_free(char *store[FMS_ARGV_MAX + 1])
{
	size_t	 i;

	for (i = 0; i <= FMS_ARGV_MAX; i++)
		free(store[i]);
}

/* fms_instance_ok - "pid.conn.msg" in hex */
static bool
fms_instance_ok(const char *req)
{
	const char *v = strstr(req, "\ninstance=");
	unsigned long pid;
	char	*end;

	if (v == NULL)
		return false;
	pid = strtoul(v + 10, &end, 16);
	if (pid != FMS_PID || *end != '.')
		return false;
	(void)strtoul(end + 1, &end, 16);
	if (*end != '.')
		return false;
	(void)strtoul(end + 1, &end, 16);
	return *end == '\n';
}

/* fms_strip_instance - the request without its instance line */
static char *
fms_strip_instance(const char *req)
{
	const char *v = strstr(req, "\ninstance=");
	const char *nl;

	if (v == NULL)
		return xstrdup(req);
	nl = strchr(v + 1, '\n');
	return xasprintf("%.*s%s", (int)(v - req), req, nl);
}

static void
fms_rcpt(SMFICTX *ctx, struct fms_model *m, char **argv, char *reply,
    size_t rlen, enum fms_manner manner)
{
	struct milter_env env;
	struct milter_outcome o;
	struct policy_req pr = { 0 };
	struct buf req;
	enum pp_error why;
	enum pp_status st;
	char	*action = NULL, *got, *want, esc[MILTER_REPLY_MAX + 1];
	unsigned long nreq0;
	size_t	 used;
	bool	 sendable, check = true;
	sfsistat rc;

	memset(&o, 0, sizeof(o));
	/* the request the milter should send (instance aside) */
	memset(&env, 0, sizeof(env));
	env.hostname = m->hostname;
	env.hostaddr = m->hostaddr;
	env.mac_client_addr = ctx->macros[0];
	env.mac_client_name = ctx->macros[1];
	env.helo = m->helo;
	env.envfrom = m->envfrom;
	env.envrcpt = argv != NULL ? argv[0] : NULL;
	env.mac_protocol = m->protocol;
	env.mac_queue_id = ctx->macros[2];
	env.mac_auth_authen = ctx->macros[3];
	env.instance = "X";
	milter_map_request(&env, &pr);
	buf_init(&req, POLICY_REQUEST_MAX);
	sendable = milter_map_format_request(&req, &pr) == 0;

	/* what vrcptd will say */
	pthread_mutex_lock(&fms.lock);
	free(fms.reply);
	fms.reply = reply;
	fms.rlen = rlen;
	fms.manner = manner;
	nreq0 = fms.nreq;
	pthread_mutex_unlock(&fms.lock);

	ctx->nsetreply = 0;
	rc = fms.desc.xxfi_envrcpt(ctx, argv);

	/* the outcome it should have come to */
	if (!sendable) {
		milter_map_failure(MILTER_CAUSE_BAD_REQUEST, pr.recipient,
		    fms.opts.lfa, &o);
	} else if (manner == FMS_HANGUP) {
		milter_map_failure(MILTER_CAUSE_UNREACHABLE, pr.recipient,
		    fms.opts.lfa, &o);
	} else {
		st = milter_map_parse_reply(reply != NULL ? reply : "", rlen,
		    &action, &used, &why);
		if (st == PP_DONE && used == rlen)
			milter_map_action(action, pr.recipient, fms.opts.lfa,
			    &o);
		else if (st == PP_DONE)
			check = false;	/* more after the reply: the client
					 * may or may not see it in time */
		else
			milter_map_failure(MILTER_CAUSE_UNREACHABLE,
			    pr.recipient, fms.opts.lfa, &o);
		free(action);
	}

	/* what vrcptd got */
	pthread_mutex_lock(&fms.lock);
	if (!sendable) {
		FUZZ_ASSERT(fms.nreq == nreq0);
	} else {
		FUZZ_ASSERT(fms.nreq > nreq0);
		FUZZ_ASSERT(fms_instance_ok(fms.last_req));
		got = fms_strip_instance(fms.last_req);
		want = fms_strip_instance(buf_str(&req));
		FUZZ_ASSERT(strcmp(got, want) == 0);
		free(got);
		free(want);
	}
	pthread_mutex_unlock(&fms.lock);

	/* exactly one verdict, and the reply text only with a reject */
	switch (rc) {
	case SMFIS_CONTINUE:
		FUZZ_ASSERT(ctx->nsetreply == 0);
		if (check)
			FUZZ_ASSERT(o.decision == MILTER_CONTINUE);
		break;
	case SMFIS_REJECT:
	case SMFIS_TEMPFAIL:
		FUZZ_ASSERT(ctx->nsetreply == 1);
		FUZZ_ASSERT(ctx->rcode[0] == (rc == SMFIS_REJECT ? '5' : '4'));
		if (!check)
			break;
		FUZZ_ASSERT(o.decision == (rc == SMFIS_REJECT ?
		    MILTER_REJECT : MILTER_TEMPFAIL));
		FUZZ_ASSERT(strcmp(ctx->rcode, o.rcode) == 0);
		FUZZ_ASSERT(strcmp(ctx->xcode, o.xcode) == 0);
		FUZZ_ASSERT(milter_map_escape(o.text, esc) == 0);
		FUZZ_ASSERT(strcmp(ctx->text, esc) == 0);
		break;
	default:
		FUZZ_ASSERT(!"envrcpt: not continue, reject or tempfail");
	}
	buf_free(&req);
	policy_req_free(&pr);
}

static void
fms_connect(SMFICTX *ctx, struct fms_model *m, struct fuzz_in *in)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)&ss;
	struct sockaddr *sa = (struct sockaddr *)(void *)&ss;
	char	*host = fms_str(in), text[INET6_ADDRSTRLEN];
	uint8_t	 fam = fuzz_byte(in);
	size_t	 i;

	memset(&ss, 0, sizeof(ss));
	fms_model_reset(m);
	switch (fam) {
	case 0:
		sa = NULL;
		break;
	case 4:
		sin->sin_family = AF_INET;
		for (i = 0; i < 4; i++)
			((uint8_t *)&sin->sin_addr)[i] = fuzz_byte(in);
		break;
	case 6:
		sin6->sin6_family = AF_INET6;
		for (i = 0; i < 16; i++)
			sin6->sin6_addr.s6_addr[i] = fuzz_byte(in);
		break;
	default:
		sa->sa_family = fam;
		break;
	}
	if (sa != NULL && sa->sa_family == AF_INET)
		m->hostaddr = xstrdup(inet_ntop(AF_INET, &sin->sin_addr,
		    text, sizeof(text)));
	else if (sa != NULL && sa->sa_family == AF_INET6)
		m->hostaddr = xstrdup(inet_ntop(AF_INET6, &sin6->sin6_addr,
		    text, sizeof(text)));
	m->hostname = fms_dup(host);
	FUZZ_ASSERT(fms.desc.xxfi_connect(ctx, host, sa) == SMFIS_NOREPLY);
	free(host);
}

int
FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct smfi_str ctx;
	struct fms_model m;
	char	*argv_store[FMS_ARGV_MAX + 1], **argv, *s, *reply;
	unsigned long p0, p1, p2, p3, f0, f1;
	uint8_t	 flags, which;
	enum fms_manner manner;
	size_t	 rlen, i;

	fms_init();
	memset(&ctx, 0, sizeof(ctx));
	memset(&m, 0, sizeof(m));
	flags = fuzz_byte(&in);
	memset(&fms.opts, 0, sizeof(fms.opts));
	fms.opts.pc = fms.pc;
	fms.opts.lfa = flags & 1 ? LFA_DUNNO : LFA_DEFER;
	fms.opts.log_reject = (flags & 2) != 0;
	fms.opts.log_accept = (flags & 4) != 0;
	fms.opts.pid = FMS_PID;
	log_set_verbose(flags & 8 ? 1 : 0);
	msess_init(&fms.opts, &fms.desc);

	while (in.n > 0) {
		switch (fuzz_byte(&in) % 8) {
		case 0:
			f0 = fms_u32(&in);
			f1 = fms_u32(&in);
			FUZZ_ASSERT(fms.desc.xxfi_negotiate(&ctx, f0, f1, 0, 0,
			    &p0, &p1, &p2, &p3) == SMFIS_CONTINUE);
			FUZZ_ASSERT((p0 & ~f0) == 0 && (p1 & ~f1) == 0 &&
			    p2 == 0 && p3 == 0);
			break;
		case 1:
			fms_connect(&ctx, &m, &in);
			break;
		case 2:
			s = fms_str(&in);
			free(m.helo);
			m.helo = fms_dup(s);
			FUZZ_ASSERT(fms.desc.xxfi_helo(&ctx, s) ==
			    SMFIS_NOREPLY);
			free(s);
			break;
		case 3:
			argv = fms_argv(&in, argv_store);
			fms_model_message(&m);
			m.envfrom = argv != NULL ? fms_dup(argv[0]) : NULL;
			m.protocol = fms_dup(ctx.macros[4]);
			FUZZ_ASSERT(fms.desc.xxfi_envfrom(&ctx, argv) ==
			    SMFIS_NOREPLY);
			fms_argv_free(argv_store);
			break;
		case 4:
			argv = fms_argv(&in, argv_store);
			manner = (enum fms_manner)(fuzz_byte(&in) % 4);
			rlen = fuzz_u16(&in);
			reply = fuzz_bytes(&in, rlen, &rlen);
			fms_rcpt(&ctx, &m, argv, reply, rlen, manner);
			fms_argv_free(argv_store);
			break;
		case 5:
			fms_model_message(&m);
			FUZZ_ASSERT(fms.desc.xxfi_abort(&ctx) ==
			    SMFIS_CONTINUE);
			break;
		case 6:
			fms_model_reset(&m);
			FUZZ_ASSERT(fms.desc.xxfi_close(&ctx) ==
			    SMFIS_CONTINUE);
			FUZZ_ASSERT(ctx.priv == NULL);
			break;
		case 7:
			which = fuzz_byte(&in) % FMS_NMACROS;
			free(ctx.macros[which]);
			ctx.macros[which] = fms_str(&in);
			break;
		}
	}
	/* the MTA hangs up */
	FUZZ_ASSERT(fms.desc.xxfi_close(&ctx) == SMFIS_CONTINUE);
	FUZZ_ASSERT(ctx.priv == NULL);
	fms_model_reset(&m);
	for (i = 0; i < FMS_NMACROS; i++)
		free(ctx.macros[i]);
	free(ctx.rcode);
	free(ctx.xcode);
	free(ctx.text);
	return 0;
}
