/*
 * check - vrcptctl check: the configuration as every program of vrcpt
 * reads it, and with --live the parts it names, for real: each database
 * server (store/dbcheck: queries, triggers, LISTEN, sessions), Redis,
 * and vrcptd's sockets (a policy request that is not RCPT on each
 * listen endpoint, a socketmap request settled without a lookup on each
 * socketmap_listen endpoint, the counters on control_listen).
 *
 * Depends on: client/pclient, conf/, core/cachefmt, proto/{control,
 * policy,socketmap}, store/{dbcheck,rcachesync,sentinel}, util/.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/pclient.h"
#include "conf/conf.h"
#include "core/cachefmt.h"
#include "ctl/ctl.h"
#include "proto/control.h"
#include "proto/policy.h"
#include "proto/socketmap.h"
#include "store/dbcheck.h"
#include "store/rcachesync.h"
#include "store/sentinel.h"
#include "util/buf.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define CTL_SOCKET_TIMEOUT_MS	3000

/*
 * ctl_check - the configuration was loaded for every program: say so,
 * and whether Postfix's main.cf was read, then every parameter that is
 * not at its default (all with -a), with where its value comes from
 * (vrcptd.cf:LINE, -o, main.cf:LINE, postfix default, default), as
 * postconf -n does for main.cf
 */
int
ctl_check(const struct conf *cfg, bool all)
{
	size_t	 i;
	char	*v, *o, b[STR_SANITIZE_MAX + 4];

	printf("%s: OK (%zu table%s, %zu database server%s)\n", cfg->path,
	    cfg->nmaps, cfg->nmaps == 1 ? "" : "s", cfg->ndbconfs,
	    cfg->ndbconfs == 1 ? "" : "s");
	if (cfg->maincf != NULL)
		printf("%s: read (postconf): Postfix's parameters that %s "
		    "does not set come from it\n", cfg->maincf, cfg->path);
	else if (*cfg->postfix_config_directory != '\0')
		printf("%s/main.cf: none: Postfix's parameters are this "
		    "file's and vrcpt's defaults\n",
		    cfg->postfix_config_directory);
	for (i = 0; i < CONF_NPARAMS; i++) {
		/* as postconf -n: what is set, here or in main.cf */
		if (!all && (cfg->origin[i].src == CONF_SRC_DEFAULT ||
		    cfg->origin[i].src == CONF_SRC_PFDEFAULT))
			continue;
		v = conf_format(cfg, (enum conf_param_id)i);
		o = conf_origin_text(cfg, (enum conf_param_id)i);
		printf("%s = %s\t# %s\n", conf_params[i].name,
		    printable(b, v), o);
		free(v);
		free(o);
	}
	return 0;
}


/* ctl_live_line - one finding; counts the failures */
static void
ctl_live_line(bool ok, const char *text, size_t *nfailed)
{
	printf("  %-5s %s\n", ok ? "ok" : "FAIL", text);
	if (!ok)
		(*nfailed)++;
}

/*
 * ctl_live_exchange - send req to ep, read a reply framed by frame: 0 and
 * *reply_r (caller frees), or -1 with the failure line counted
 */
static int
ctl_live_exchange(const char *param, const struct endpoint *ep,
    const char *req, pclient_frame frame, char **reply_r, size_t *len_r,
    size_t *nfailed)
{
	struct pclient *pc;
	char	 err[PCLIENT_ERR_LEN], line[1024];
	int	 rc;

	if (pclient_new(ep, CTL_SOCKET_TIMEOUT_MS, &pc, err) < 0) {
		snprintf(line, sizeof(line), "%s %s: %s", param, ep->text,
		    err);
		ctl_live_line(false, line, nfailed);
		return -1;
	}
	if ((rc = pclient_ask_framed(pc, req, strlen(req), frame, reply_r,
	    len_r, err)) < 0) {
		snprintf(line, sizeof(line), "%s %s: %s (is vrcptd running?)",
		    param, ep->text, err);
		ctl_live_line(false, line, nfailed);
	}
	pclient_free(&pc);
	return rc;
}

/* ctl_live_judge - the reply's verdict line: answers, or unexpected */
static void
ctl_live_judge(const char *param, const struct endpoint *ep, bool ok,
    const char *what, size_t *nfailed)
{
	char	 line[1024], b[STR_SANITIZE_MAX + 4];

	if (ok)
		snprintf(line, sizeof(line), "%s %s: vrcptd answers", param,
		    ep->text);
	else
		snprintf(line, sizeof(line), "%s %s: unexpected reply (%s)",
		    param, ep->text, printable(b, what));
	ctl_live_line(ok, line, nfailed);
}

/* ctl_live_ask - a policy request; attribute name in the reply (= want) */
static void
ctl_live_ask(const char *param, const struct endpoint *ep, const char *req,
    const char *name, const char *want, size_t *nfailed)
{
	char	*reply, *v, *what;
	size_t	 len;

	if (ctl_live_exchange(param, ep, req, pclient_policy_frame, &reply,
	    &len, nfailed) < 0)
		return;
	v = pp_reply_value(reply, len, name);
	what = xasprintf("%s=%s", name, v != NULL ? v : "(none)");
	ctl_live_judge(param, ep, v != NULL && (want == NULL ||
	    strcmp(v, want) == 0), what, nfailed);
	free(what);
	free(reply);
	free(v);
}

/*
 * ctl_live_smap - a socketmap request that vrcptd settles without a
 * lookup (an empty key: maps_find() asks nothing), answered NOTFOUND
 */
static void
ctl_live_smap(const struct endpoint *ep, size_t *nfailed)
{
	char	 req[SOCKETMAP_NAME_MAX + 16], *reply;
	const char *want = "9:NOTFOUND ,";
	size_t	 len;

	snprintf(req, sizeof(req), "%zu:%s ,",
	    strlen(CONF_NAME(virtual_mailbox_domains)) + 1,
	    CONF_NAME(virtual_mailbox_domains));
	if (ctl_live_exchange(CONF_NAME(socketmap_listen), ep, req,
	    socketmap_reply_frame, &reply, &len, nfailed) < 0)
		return;
	ctl_live_judge(CONF_NAME(socketmap_listen), ep, len == strlen(want) &&
	    memcmp(reply, want, len) == 0, reply, nfailed);
	free(reply);
}

/*
 * ctl_live_sentinels - each Sentinel alone: where it says the master is,
 * and whether that one says it is the master (one that has not seen a
 * failover yet names the old one)
 */
static void
ctl_live_sentinels(const struct conf *cfg, size_t *nfailed)
{
	struct sentinel *s = ctl_sentinel(cfg);
	char	 who[ENDPOINT_TEXT_MAX + 1], addr[ENDPOINT_TEXT_MAX + 1],
		 err[SENTINEL_ERR_MAX], line[1024];
	size_t	 i;
	bool	 ok;

	if (s == NULL)
		return;
	for (i = 0; i < sentinel_count(s); i++) {
		ok = sentinel_ask(s, i, who, addr, err) == 0;
		if (ok)
			snprintf(line, sizeof(line), "Sentinel %s: master "
			    "%s is %s", who, cfg->cache.sentinels.master,
			    addr);
		else
			snprintf(line, sizeof(line), "Sentinel %s: %s", who,
			    err);
		ctl_live_line(ok, line, nfailed);
	}
	sentinel_unref(&s);
}

/* ctl_live_redis - the shared tier answers */
static void
ctl_live_redis(const struct conf *cfg, size_t *nfailed)
{
	const char *keys[1] = { CACHEFMT_RKEY_EPOCH };
	size_t	 lens[1] = { strlen(CACHEFMT_RKEY_EPOCH) };
	struct rcachesync_val val = { 0 };
	struct rcachesync *rs;
	const char *err;
	char	 line[CONF_CACHE_TEXT_MAX + 512];

	ctl_live_sentinels(cfg, nfailed);
	rs = ctl_redis(cfg);
	if (rcachesync_get(rs, keys, lens, 1, &val, &err) < 0) {
		snprintf(line, sizeof(line), "%s: %s", ctl_cache_text(cfg),
		    err);
		ctl_live_line(false, line, nfailed);
	} else {
		snprintf(line, sizeof(line), "%s: answers (%s)",
		    ctl_cache_text(cfg), val.s != NULL ? "vrcpt keys present" :
		    "no vrcpt keys yet");
		ctl_live_line(true, line, nfailed);
	}
	free(val.s);
	rcachesync_free(&rs);
}

int
ctl_check_live(const struct conf *cfg)
{
	struct dbcheck dc;
	size_t	 i, j, nfailed = 0, shown;

	for (i = 0; i < cfg->ndbconfs; i++) {
		printf("database %s:\n", cfg->dbconfs[i].conn->dbname);
		(void)dbcheck_run(cfg->dbconfs[i].conn, cfg->dbconfs[i].maps,
		    cfg->dbconfs[i].nmaps, CTL_DB_TIMEOUT_MS, &dc);
		shown = 0;
		for (j = 0; j < dc.n; j++)
			ctl_live_line(dc.v[j].ok, dc.v[j].text, &shown);
		/* failures beyond DBCHECK_LINES_MAX lines count as well */
		nfailed += dc.nfailed;
		dbcheck_free(&dc);
	}
	if (ctl_redis_on(cfg)) {
		printf("cache:\n");
		ctl_live_redis(cfg, &nfailed);
	}
	printf("vrcptd:\n");
	for (i = 0; i < cfg->listen.n; i++)
		ctl_live_ask(CONF_NAME(listen), &cfg->listen.v[i],
		    "request=smtpd_access_policy\nprotocol_state=CONNECT\n\n",
		    "action", "DUNNO", &nfailed);
	for (i = 0; i < cfg->socketmap_listen.n; i++)
		ctl_live_smap(&cfg->socketmap_listen.v[i], &nfailed);
	if (cfg->control_listen.kind != ENDPOINT_NONE)
		ctl_live_ask(CONF_NAME(control_listen), &cfg->control_listen,
		    "request=" CONTROL_REQ_STATS "\n\n", "rcpt", NULL,
		    &nfailed);
	if (nfailed > 0) {
		printf("%zu problem%s\n", nfailed, nfailed == 1 ? "" : "s");
		return CTL_EXIT_ERROR;
	}
	printf("everything answers\n");
	return CTL_EXIT_OK;
}
