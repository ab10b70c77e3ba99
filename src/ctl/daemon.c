/*
 * daemon - vrcptctl query and stats through the running vrcptd, on its
 * control_listen socket (proto/control.h): the answer Postfix gets now,
 * through the same caches, and where it came from.
 *
 * Depends on: client/pclient, conf/, proto/{control,policy}, util/.
 * Security: the reply comes from a root-only socket; it is still parsed
 * with limits and printed sanitised.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/pclient.h"
#include "conf/conf.h"
#include "ctl/ctl.h"
#include "proto/control.h"
#include "proto/policy.h"
#include "util/buf.h"
#include "util/strutil.h"

/* the control request's own lines besides the recipient, bytes */
#define CTL_REQ_OVERHEAD	64

static const struct {
	const char *tier;
	const char *text;
} ctl_tiers[] = {
	{ "decision_cache", "vrcptd's decision cache" },
	{ "cache_local", "vrcptd's in-process cache" },
	{ "cache_redis", "Redis" },
	{ "db", "PostgreSQL" },
	{ "pure", "the configuration alone (no lookup)" },
	{ "timeout", "nothing: the request timed out" },
};

static const char *
ctl_tier_text(const char *tier)
{
	size_t	 i;

	for (i = 0; i < sizeof(ctl_tiers) / sizeof(ctl_tiers[0]); i++)
		if (strcmp(ctl_tiers[i].tier, tier) == 0)
			return ctl_tiers[i].text;
	return tier;
}

/* ctl_connect - a client of control_listen, or NULL (said why) */
static struct pclient *
ctl_connect(const struct conf *cfg)
{
	struct pclient *pc;
	char	 err[PCLIENT_ERR_LEN];

	if (cfg->control_listen.kind == ENDPOINT_NONE) {
		fprintf(stderr, "vrcptctl: %s is empty in %s: the daemon "
		    "cannot be asked (query --direct reads the database)\n",
		    CONF_NAME(control_listen), cfg->path);
		return NULL;
	}
	if (pclient_new(&cfg->control_listen, CTL_DAEMON_TIMEOUT_MS, &pc,
	    err) < 0) {
		fprintf(stderr, "vrcptctl: %s\n", err);
		return NULL;
	}
	return pc;
}

/* ctl_ask - one request, its reply parsed; an exit code */
static int
ctl_ask(struct pclient *pc, const struct buf *req, struct control_reply *r)
{
	char	 err[PCLIENT_ERR_LEN], b[STR_SANITIZE_MAX + 4], *text;
	const char *why, *e;
	size_t	 len;

	if (pclient_ask(pc, req->data, req->len, &text, &len, err) < 0) {
		fprintf(stderr, "vrcptctl: cannot ask vrcptd: %s (is it "
		    "running? query --direct reads the database instead)\n",
		    err);
		return CTL_EXIT_ERROR;
	}
	if (control_reply_parse(text, len, r, &why) < 0) {
		fprintf(stderr, "vrcptctl: reply from %s: %s\n",
		    pclient_endpoint(pc), why);
		free(text);
		return CTL_EXIT_ERROR;
	}
	free(text);
	if ((e = control_reply_get(r, "error")) != NULL) {
		fprintf(stderr, "vrcptctl: vrcptd: %s\n", printable(b, e));
		control_reply_free(r);
		return CTL_EXIT_ERROR;
	}
	return CTL_EXIT_OK;
}

/* ctl_get - an attribute of the reply, printable, "" when absent */
static const char *
ctl_get(const struct control_reply *r, const char *name, char *buf)
{
	const char *v = control_reply_get(r, name);

	return printable(buf, v != NULL ? v : "");
}

/* ctl_query_one - one address through the daemon; an exit code */
static int
ctl_query_one(struct pclient *pc, const char *rcpt)
{
	struct control_reply r;
	struct buf req;
	char	 b1[STR_SANITIZE_MAX + 4], b2[STR_SANITIZE_MAX + 4];
	char	 b3[STR_SANITIZE_MAX + 4], b4[STR_SANITIZE_MAX + 4];
	const char *code, *delay;
	int	 rc;

	if (strpbrk(rcpt, "\r\n") != NULL ||
	    strlen(rcpt) > POLICY_LINE_MAX - CTL_REQ_OVERHEAD) {
		fprintf(stderr, "vrcptctl: %s: not an address Postfix could "
		    "send (a line break, or too long)\n", printable(b1, rcpt));
		return CTL_EXIT_ERROR;
	}
	buf_init(&req, POLICY_REQUEST_MAX);
	control_attr(&req, "request", CONTROL_REQ_QUERY);
	control_attr(&req, "recipient", rcpt);
	control_end(&req);
	rc = ctl_ask(pc, &req, &r);
	buf_free(&req);
	if (rc != CTL_EXIT_OK)
		return rc;
	printf("recipient: %s\n", printable(b1, rcpt));
	printf("decision:  %s (%s)\n", ctl_get(&r, "decision", b1),
	    ctl_get(&r, "class", b2));
	printf("action:    %s\n", ctl_get(&r, "action", b1));
	if (strcmp(ctl_get(&r, "warn_only", b1), "yes") == 0)
		printf("note:      warn_if_reject: the reject is logged, not "
		    "enforced\n");
	code = control_reply_get(&r, "code");
	if (code != NULL)
		printf("smtp:      %s %s <%s>: Recipient address rejected: "
		    "%s\n", printable(b1, code), ctl_get(&r, "dsn", b2),
		    printable(b3, rcpt), ctl_get(&r, "text", b4));
	delay = control_reply_get(&r, "delay_us");
	printf("answered:  by vrcptd from %s, in %sus\n",
	    ctl_tier_text(ctl_get(&r, "tier", b1)),
	    printable(b2, delay != NULL ? delay : "?"));
	if (strcmp(ctl_get(&r, "stale", b1), "0") != 0)
		printf("stale:     %s lookup(s) answered from the cache past "
		    "their TTL: PostgreSQL did not answer\n", b1);
	rc = ctl_exit_for(control_reply_get(&r, "decision"),
	    control_reply_get(&r, "action"));
	control_reply_free(&r);
	return rc;
}

int
ctl_query_daemon(const struct conf *cfg, char *const *addrs, int n)
{
	struct pclient *pc;
	int	 i, rc = CTL_EXIT_OK, r;

	if ((pc = ctl_connect(cfg)) == NULL)
		return CTL_EXIT_ERROR;
	for (i = 0; i < n; i++) {
		if (i > 0)
			printf("\n");
		if ((r = ctl_query_one(pc, addrs[i])) > rc)
			rc = r;
		if (r == CTL_EXIT_ERROR && i == 0 && n > 1)
			break;		/* the daemon is not there */
	}
	pclient_free(&pc);
	return rc;
}

int
ctl_stats(const struct conf *cfg)
{
	struct control_reply r;
	struct pclient *pc;
	struct buf req;
	char	 b[STR_SANITIZE_MAX + 4];
	size_t	 i;
	int	 rc;

	if ((pc = ctl_connect(cfg)) == NULL)
		return CTL_EXIT_ERROR;
	buf_init(&req, POLICY_REQUEST_MAX);
	control_attr(&req, "request", CONTROL_REQ_STATS);
	control_end(&req);
	rc = ctl_ask(pc, &req, &r);
	buf_free(&req);
	pclient_free(&pc);
	if (rc != CTL_EXIT_OK)
		return rc;
	for (i = 0; i < r.n; i++)
		printf("%s = %s\n", r.name[i], printable(b, r.value[i]));
	control_reply_free(&r);
	return CTL_EXIT_OK;
}
