/*
 * vrcpt-milter - the milter frontend: the recipient decisions of vrcptd
 * for Postfix smtpd_milters and Sendmail INPUT_MAIL_FILTER.
 *
 * It decides nothing itself: at RCPT it asks vrcptd over the ordinary
 * policy protocol (one engine, one PostgreSQL pool and cache, in the
 * daemon) and turns the action into a milter reply whose SMTP text is
 * native smtpd's (proto/milter_map.h). libmilter owns main() through
 * smfi_main() and runs the callbacks in its worker threads; callbacks
 * of one SMTP session run one at a time, different sessions run in
 * parallel, so the per-session state hangs off the SMFICTX
 * (smfi_setpriv) and the only shared state is the policy client's pool.
 *
 * Negotiation asks for the least: no headers, body, EOH, DATA or unknown
 * commands, and no replies for connect, HELO and MAIL (the milter never
 * objects there; libmilter fakes these for an MTA that cannot skip
 * them). EOM still comes (there is no flag against it) and needs no
 * callback: per-message state is replaced at the next MAIL and dropped
 * in xxfi_abort and xxfi_close.
 *
 * It reads vrcptd's configuration file, its own parameters only (it
 * opens no table and reads no database password); "-o name=value"
 * overrides a parameter for the milter only (as postfix -o), e.g. its
 * syslog_name:
 * "vrcpt-milter/smtpd" makes pflogsumm --syslog-name=vrcpt-milter count
 * the milter's Postfix-shaped reject lines (milter_log_reject = yes),
 * which it does not for Postfix's own "milter-reject:" lines.
 *
 * Depends on: libmilter, util/, proto/, conf/ (the same file as
 * vrcptd), client/pclient.h. Security: binds its socket, then drops
 * root before serving; every value from the MTA is peer text (sanitised
 * before it is logged, refused by the request formatter if it has CR or
 * LF); when vrcptd cannot answer, lookup_failure_action decides and a
 * warning says so: never a silent accept.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "client/pclient.h"
#include "conf/conf.h"
#include "proto/milter_map.h"
#include "proto/policy.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/priv.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#ifndef VRCPT_VERSION
#define VRCPT_VERSION "dev"
#endif

#define MILTER_NAME		"vrcpt-milter"
#define MILTER_DAEMON_IDENT	"vrcptd"	/* syslog_name default */
#define MILTER_POLICY_SLACK_MS	1000	/* beyond vrcptd's own deadline
					 * (request_timeout), which
					 * answers lookup_failure_action
					 * itself when it fires */
#define MILTER_LOG_LINE_MAX	(8 * 1024)
#define MILTER_ADDR_TEXT_MAX	INET6_ADDRSTRLEN

/* one SMTP session (SMFICTX private data) */
struct msess {
	char	*hostname;		/* xxfi_connect */
	char	*hostaddr;		/* as text, or NULL */
	char	*helo;
	char	*envfrom;		/* raw argv[0] of MAIL, this message */
	char	*protocol;		/* Sendmail's "r" macro */
	unsigned long conn_id;
	unsigned long msg_no;
};

/* the process: set up in main() before smfi_main(), read-only after */
static struct {
	struct conf *cfg;
	struct pclient *pc;
	enum lookup_failure_action lfa;
	bool	 log_reject;
	bool	 log_accept;
	unsigned pid;
	atomic_ulong conn_seq;
} milter;

/* the macros each stage needs (smfi_setsymlist wants char *) */
static char macros_connect[] = "{client_addr} {client_name}";
static char macros_envfrom[] = "i {auth_authen} r";
static char macros_envrcpt[] = "i {rcpt_addr} {auth_authen}";
static char sym_client_addr[] = "{client_addr}";
static char sym_client_name[] = "{client_name}";
static char sym_queue_id[] = "i";
static char sym_auth_authen[] = "{auth_authen}";
static char sym_protocol[] = "r";	/* Sendmail: "ESMTP", "ESMTPSA", .. */

/* ------------------------------------------------------------ session */

static void
msess_message_reset(struct msess *s)
{
	free(s->envfrom);
	s->envfrom = NULL;
	free(s->protocol);
	s->protocol = NULL;
}

static void
msess_free(struct msess **sp)
{
	struct msess *s = *sp;

	*sp = NULL;
	if (s == NULL)
		return;
	msess_message_reset(s);
	free(s->hostname);
	free(s->hostaddr);
	free(s->helo);
	free(s);
}

/* msess_get - this session's state; created if the MTA skipped connect */
static struct msess *
msess_get(SMFICTX *ctx)
{
	struct msess *s = smfi_getpriv(ctx);

	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->conn_id = atomic_fetch_add(&milter.conn_seq, 1) + 1;
		if (smfi_setpriv(ctx, s) != MI_SUCCESS)
			msg_warn("smfi_setpriv failed");
	}
	return s;
}

/* sockaddr_text - the client IP of xxfi_connect, or NULL */
static char *
sockaddr_text(const struct sockaddr *sa)
{
	char	 buf[MILTER_ADDR_TEXT_MAX];
	const void *a;

	if (sa == NULL)
		return NULL;
	switch (sa->sa_family) {
	case AF_INET:
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		break;
	case AF_INET6:
		a = &((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_addr;
		break;
	default:
		return NULL;
	}
	if (inet_ntop(sa->sa_family, a, buf, sizeof(buf)) == NULL)
		return NULL;
	return xstrdup(buf);
}

/* ---------------------------------------------------------- callbacks */

static sfsistat
m_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	const unsigned long skip = SMFIP_NOHDRS | SMFIP_NOBODY | SMFIP_NOEOH |
	    SMFIP_NOUNKNOWN | SMFIP_NODATA;
	const unsigned long noreply = SMFIP_NR_CONN | SMFIP_NR_HELO |
	    SMFIP_NR_MAIL;

	/* no SMFIP_RCPT_REJ: recipients Postfix rejected are none of ours */
	*pf0 = f0 & SMFIF_SETSYMLIST;
	*pf1 = f1 & (skip | noreply);
	*pf2 = 0;
	*pf3 = 0;
	if (*pf0 & SMFIF_SETSYMLIST) {
		if (smfi_setsymlist(ctx, SMFIM_CONNECT, macros_connect) !=
		    MI_SUCCESS ||
		    smfi_setsymlist(ctx, SMFIM_ENVFROM, macros_envfrom) !=
		    MI_SUCCESS ||
		    smfi_setsymlist(ctx, SMFIM_ENVRCPT, macros_envrcpt) !=
		    MI_SUCCESS)
			msg_warn("smfi_setsymlist failed; the MTA's default "
			    "macros will do");
	}
	return SMFIS_CONTINUE;
}

static sfsistat
m_connect(SMFICTX *ctx, char *hostname, struct sockaddr *hostaddr)
{
	struct msess *s = smfi_getpriv(ctx);

	/* a new connection on the same milter session (SMFIC_QUIT_NC) */
	if (s != NULL) {
		msess_free(&s);
		smfi_setpriv(ctx, NULL);
	}
	s = msess_get(ctx);
	s->hostname = hostname != NULL ? xstrdup(hostname) : NULL;
	s->hostaddr = sockaddr_text(hostaddr);
	return SMFIS_NOREPLY;
}

static sfsistat
m_helo(SMFICTX *ctx, char *helohost)
{
	struct msess *s = msess_get(ctx);

	free(s->helo);
	s->helo = helohost != NULL ? xstrdup(helohost) : NULL;
	return SMFIS_NOREPLY;
}

static sfsistat
m_envfrom(SMFICTX *ctx, char **argv)
{
	struct msess *s = msess_get(ctx);
	const char *r = smfi_getsymval(ctx, sym_protocol);

	msess_message_reset(s);
	s->msg_no++;
	s->envfrom = argv != NULL && argv[0] != NULL ? xstrdup(argv[0]) :
	    NULL;
	s->protocol = r != NULL ? xstrdup(r) : NULL;
	return SMFIS_NOREPLY;
}

/* log_outcome - the Postfix-shaped line, when configured */
static void
log_outcome(const struct policy_req *pr, const struct milter_outcome *o,
    const char *lookup, uint64_t delay_us)
{
	struct buf line;
	bool	 want = false;

	switch (o->decision) {
	case MILTER_CONTINUE:
		want = milter.log_accept;
		break;
	case MILTER_REJECT:
	case MILTER_TEMPFAIL:
		want = milter.log_reject;
		break;
	}
	if (!want && log_verbose() == 0)
		return;
	buf_init(&line, MILTER_LOG_LINE_MAX);
	milter_map_log_line(&line, pr, o, lookup, delay_us);
	if (want)
		msg_info("%s", buf_str(&line));
	else
		msg_debug("%s", buf_str(&line));
	buf_free(&line);
}

/* set_reply - the SMTP text; without it the MTA says something generic
 * (Postfix: 550 5.7.1 Command rejected), still the right code class */
static void
set_reply(SMFICTX *ctx, const struct milter_outcome *o, const char *rcpt)
{
	char	 text[MILTER_REPLY_MAX + 1];
	char	 rcode[sizeof(o->rcode)], xcode[sizeof(o->xcode)];
	char	 san[STR_SANITIZE_MAX + 4];

	memcpy(rcode, o->rcode, sizeof(rcode));
	memcpy(xcode, o->xcode, sizeof(xcode));
	if (milter_map_escape(o->text, text) < 0 ||
	    smfi_setreply(ctx, rcode, xcode, text) != MI_SUCCESS)
		msg_warn("cannot set the reply text for <%s>; the MTA will "
		    "send its generic %s reply", str_sanitize(san, rcpt,
		    strlen(rcpt), STR_SANITIZE_MAX), milter_decision_name(
		    o->decision));
}

static sfsistat
m_envrcpt(SMFICTX *ctx, char **argv)
{
	struct msess *s = msess_get(ctx);
	struct milter_env env;
	struct milter_outcome o;
	struct policy_req pr = { 0 };
	struct buf req;
	char	 inst[MILTER_INSTANCE_MAX], err[PCLIENT_ERR_LEN];
	char	 san[STR_SANITIZE_MAX + 4], san2[STR_SANITIZE_MAX + 4];
	const char *lookup = "policy";
	char	*action = NULL, *reply = NULL;
	size_t	 reply_len;
	uint64_t t0 = clock_mono_us();
	sfsistat rc = SMFIS_CONTINUE;

	memset(&env, 0, sizeof(env));
	env.hostname = s->hostname;
	env.hostaddr = s->hostaddr;
	env.mac_client_addr = smfi_getsymval(ctx, sym_client_addr);
	env.mac_client_name = smfi_getsymval(ctx, sym_client_name);
	env.helo = s->helo;
	env.envfrom = s->envfrom;
	env.envrcpt = argv != NULL ? argv[0] : NULL;
	env.mac_protocol = s->protocol;
	env.mac_queue_id = smfi_getsymval(ctx, sym_queue_id);
	env.mac_auth_authen = smfi_getsymval(ctx, sym_auth_authen);
	env.instance = milter_map_instance(inst, milter.pid, s->conn_id,
	    s->msg_no);
	milter_map_request(&env, &pr);
	str_sanitize(san, pr.recipient, strlen(pr.recipient),
	    STR_SANITIZE_MAX);

	buf_init(&req, POLICY_REQUEST_MAX);
	if (milter_map_format_request(&req, &pr) < 0) {
		milter_map_failure(MILTER_CAUSE_BAD_REQUEST, pr.recipient,
		    milter.lfa, &o);
		lookup = "none";
		msg_warn("<%s>: a value is too long or holds CR/LF; not asking "
		    "%s, answering %s (%s)", san, pclient_endpoint(milter.pc),
		    CONF_NAME(lookup_failure_action),
		    milter_decision_name(o.decision));
	} else if (pclient_ask(milter.pc, req.data, req.len, &reply,
	    &reply_len, err) < 0) {
		milter_map_failure(MILTER_CAUSE_UNREACHABLE, pr.recipient,
		    milter.lfa, &o);
		lookup = "unavailable";
		msg_warn("policy service %s: %s; <%s>: answering %s (%s)",
		    pclient_endpoint(milter.pc), err, san,
		    CONF_NAME(lookup_failure_action),
		    milter_decision_name(o.decision));
	} else {
		action = pp_reply_value(reply, reply_len, "action");
		milter_map_action(action, pr.recipient, milter.lfa, &o);
		if (o.cause == MILTER_CAUSE_BAD_ACTION) {
			lookup = "unavailable";
			msg_warn("policy service %s: unusable action \"%s\" "
			    "for <%s>; answering %s (%s)",
			    pclient_endpoint(milter.pc), str_sanitize(san2,
			    o.action, strlen(o.action), STR_SANITIZE_MAX),
			    san, CONF_NAME(lookup_failure_action),
			    milter_decision_name(o.decision));
		}
	}
	switch (o.decision) {
	case MILTER_CONTINUE:
		rc = SMFIS_CONTINUE;
		break;
	case MILTER_REJECT:
		set_reply(ctx, &o, pr.recipient);
		rc = SMFIS_REJECT;
		break;
	case MILTER_TEMPFAIL:
		set_reply(ctx, &o, pr.recipient);
		rc = SMFIS_TEMPFAIL;
		break;
	}
	log_outcome(&pr, &o, lookup, clock_mono_us() - t0);
	free(action);
	free(reply);
	buf_free(&req);
	policy_req_free(&pr);
	return rc;
}

static sfsistat
m_abort(SMFICTX *ctx)
{
	struct msess *s = smfi_getpriv(ctx);

	if (s != NULL)
		msess_message_reset(s);
	return SMFIS_CONTINUE;
}

static sfsistat
m_close(SMFICTX *ctx)
{
	struct msess *s = smfi_getpriv(ctx);

	msess_free(&s);
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

/* ----------------------------------------------------------- start-up */

static void
usage(void)
{
	fprintf(stderr, "usage: vrcpt-milter [-c config_file] "
	    "[-o name=value] [-t] [-v]\n"
	    "  -c FILE  configuration, shared with vrcptd (default %s)\n"
	    "  -o N=V   override parameter N of that file for the milter\n"
	    "           only (repeatable), e.g. -o syslog_name=vrcpt-milter/"
	    "smtpd\n"
	    "  -t       test the configuration and exit\n"
	    "  -v       verbose logging (repeat for more)\n",
	    CONF_DEFAULT_PATH);
	exit(2);
}

static void
print_msgs(const struct conf_msgs *msgs)
{
	size_t	 i;

	for (i = 0; i < msgs->n; i++)
		fprintf(stderr, MILTER_NAME ": %s\n", msgs->v[i]);
}

/*
 * log_ident - vrcptd.cf's syslog_name is vrcptd's; the milter logs as
 * itself: a trailing "vrcptd" becomes "vrcpt-milter" ("postfix/vrcptd"
 * -> "postfix/vrcpt-milter"), any other name is used as it is.
 */
static char *
log_ident(const char *syslog_name)
{
	size_t	 len, dlen = sizeof(MILTER_DAEMON_IDENT) - 1;

	if (syslog_name == NULL || *syslog_name == '\0')
		return xstrdup(MILTER_NAME);
	len = strlen(syslog_name);
	if (len >= dlen && strcmp(syslog_name + len - dlen,
	    MILTER_DAEMON_IDENT) == 0)
		return xasprintf("%.*s" MILTER_NAME, (int)(len - dlen),
		    syslog_name);
	return xstrdup(syslog_name);
}

static void
open_log(const struct conf *cfg)
{
	const char *err;
	char	*ident = log_ident(cfg->syslog_name);

	if (log_open_maillog(ident, cfg->syslog_facility, cfg->maillog_file,
	    &err) < 0)
		msg_fatal("cannot open log: %s", err);
	free(ident);
}

/* policy_service - where to ask: milter_policy_service, else listen[0] */
static const struct endpoint *
policy_service(const struct conf *cfg)
{
	if (cfg->milter_policy_service.kind != ENDPOINT_NONE)
		return &cfg->milter_policy_service;
	return &cfg->listen.v[0];	/* conf: at least one */
}

/* setup - everything -t checks; 0 / -1 with a message on stderr */
static int
setup(const struct conf *cfg, char *spec, size_t spec_size)
{
	char	 err[PCLIENT_ERR_LEN];

	if (cfg->milter_listen.kind == ENDPOINT_NONE) {
		fprintf(stderr, MILTER_NAME ": fatal: %s is empty in %s: set "
		    "it to the endpoint the MTA connects to, e.g. "
		    "inet:127.0.0.1:10024\n", CONF_NAME(milter_listen),
		    cfg->path);
		return -1;
	}
	endpoint_milter_spec(&cfg->milter_listen, spec, spec_size);
	if (pclient_new(policy_service(cfg), cfg->request_timeout +
	    MILTER_POLICY_SLACK_MS, &milter.pc, err) < 0) {
		fprintf(stderr, MILTER_NAME ": fatal: %s: %s\n",
		    CONF_NAME(milter_policy_service), err);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct smfiDesc desc;
	struct conf_msgs msgs = { 0 };
	const char *path = CONF_DEFAULT_PATH;
	const char *unix_path = NULL;
	struct stat st;
	bool	 test_only = false;
	char	 spec[ENDPOINT_TEXT_MAX + 16];
	const char *ov[CONF_OVERRIDES_MAX];
	size_t	 nov = 0;
	int	 ch, verbose = 0, rc;

	while ((ch = getopt(argc, argv, "c:o:tvV")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'o':
			if (nov == CONF_OVERRIDES_MAX) {
				fprintf(stderr, MILTER_NAME ": fatal: more "
				    "than %d -o options\n",
				    CONF_OVERRIDES_MAX);
				return 2;
			}
			ov[nov++] = optarg;
			break;
		case 't':
			test_only = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf(MILTER_NAME " %s\n", VRCPT_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	/* the milter's own parameters only: no table, no password */
	rc = conf_load(path, CONF_M, ov, nov, &milter.cfg, &msgs);
	print_msgs(&msgs);
	conf_msgs_free(&msgs);
	if (rc < 0) {
		fprintf(stderr, MILTER_NAME ": fatal: %s: configuration "
		    "errors\n", path);
		return 1;
	}
	if (setup(milter.cfg, spec, sizeof(spec)) < 0) {
		conf_unref(&milter.cfg);
		return 1;
	}
	if (test_only) {
		pclient_free(&milter.pc);
		conf_unref(&milter.cfg);
		return 0;
	}
	open_log(milter.cfg);
	log_set_verbose(verbose);
	signal(SIGPIPE, SIG_IGN);
	milter.lfa = milter.cfg->lookup_failure_action;
	milter_map_set_utf8(milter.cfg->smtputf8_enable);
	milter.log_reject = milter.cfg->milter_log_reject;
	milter.log_accept = milter.cfg->milter_log_reject &&
	    milter.cfg->log_level >= 1;
	milter.pid = (unsigned)getpid();

	memset(&desc, 0, sizeof(desc));
	desc.xxfi_name = (char *)(uintptr_t)MILTER_NAME;
	desc.xxfi_version = SMFI_VERSION;
	desc.xxfi_flags = SMFIF_SETSYMLIST;
	desc.xxfi_connect = m_connect;
	desc.xxfi_helo = m_helo;
	desc.xxfi_envfrom = m_envfrom;
	desc.xxfi_envrcpt = m_envrcpt;
	desc.xxfi_abort = m_abort;
	desc.xxfi_close = m_close;
	desc.xxfi_negotiate = m_negotiate;
	if (smfi_setconn(spec) != MI_SUCCESS)
		msg_fatal("smfi_setconn %s failed", spec);
	if (smfi_register(desc) != MI_SUCCESS)
		msg_fatal("smfi_register failed");
	/* bind now, as root if we are, and remove a stale socket */
	if (smfi_opensocket(true) != MI_SUCCESS)
		msg_fatal("cannot listen on %s (%s)", spec,
		    CONF_NAME(milter_listen));
	if (milter.cfg->milter_listen.kind == ENDPOINT_UNIX)
		unix_path = milter.cfg->milter_listen.path;
	if (unix_path != NULL) {
		gid_t	 gid = priv_socket_group(milter.cfg->listen_group,
		    milter.cfg->origin[CONF_P_listen_group].src ==
		    CONF_SRC_DEFAULT, CONF_NAME(listen_group));

		if (gid != (gid_t)-1 && chown(unix_path, (uid_t)-1, gid) < 0)
			msg_fatal("chown %s: %s", unix_path, strerror(errno));
		if (chmod(unix_path, milter.cfg->listen_mode) < 0)
			msg_fatal("chmod %s: %s", unix_path, strerror(errno));
	}
	priv_drop(milter.cfg->user);

	msg_info(MILTER_NAME " %s starting: milter %s, policy service %s, "
	    "%s = %s", VRCPT_VERSION, spec, pclient_endpoint(milter.pc),
	    CONF_NAME(lookup_failure_action), milter.lfa == LFA_DEFER ?
	    "defer" : "dunno");
	rc = smfi_main();
	msg_info("stopped");
	/* like vrcptd: leave no socket behind, and never remove a file */
	if (unix_path != NULL && lstat(unix_path, &st) == 0 &&
	    S_ISSOCK(st.st_mode))
		(void)unlink(unix_path);

	pclient_free(&milter.pc);
	conf_unref(&milter.cfg);
	log_close();
	return rc == MI_SUCCESS ? 0 : 1;
}
