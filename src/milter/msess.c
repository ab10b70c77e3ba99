/*
 * msess - vrcpt-milter's callbacks and per-session state. See msess.h.
 *
 * Callbacks of one SMTP session run one at a time, different sessions
 * run in parallel in libmilter's worker threads, so the per-session
 * state hangs off the SMFICTX (smfi_setpriv) and the only shared state
 * is the policy client's pool (and a session counter).
 *
 * Negotiation asks for the least: no headers, body, EOH, DATA or unknown
 * commands, and no replies for connect, HELO and MAIL (the milter never
 * objects there; libmilter fakes these for an MTA that cannot skip
 * them). EOM still comes (there is no flag against it) and needs no
 * callback: per-message state is replaced at the next MAIL and dropped
 * in xxfi_abort and xxfi_close.
 *
 * Depends on: libmilter, util/, proto/, client/pclient.h, conf/ (the
 * parameter names in warnings). Security:
 * every value from the MTA is peer text (sanitised before it is logged,
 * refused by the request formatter if it has CR or LF); when vrcptd
 * cannot answer, lookup_failure_action decides and a warning says so:
 * never a silent accept. Reply texts are bounded, printable and have
 * their '%' escaped (milter_map_escape) before smfi_setreply().
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libmilter/mfapi.h>

#include "client/pclient.h"
#include "conf/conf.h"
#include "milter/msess.h"
#include "proto/milter_map.h"
#include "proto/policy.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/xalloc.h"

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

/* the process: set by msess_init() before smfi_main(), read-only after */
static struct msess_opts milter;
static atomic_ulong msess_conn_seq;	/* session numbers */

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
		s->conn_id = atomic_fetch_add(&msess_conn_seq, 1) + 1;
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

void
msess_init(const struct msess_opts *opts, struct smfiDesc *desc)
{
	milter = *opts;
	memset(desc, 0, sizeof(*desc));
	desc->xxfi_name = (char *)(uintptr_t)MSESS_NAME;
	desc->xxfi_version = SMFI_VERSION;
	desc->xxfi_flags = SMFIF_SETSYMLIST;
	desc->xxfi_connect = m_connect;
	desc->xxfi_helo = m_helo;
	desc->xxfi_envfrom = m_envfrom;
	desc->xxfi_envrcpt = m_envrcpt;
	desc->xxfi_abort = m_abort;
	desc->xxfi_close = m_close;
	desc->xxfi_negotiate = m_negotiate;
}
