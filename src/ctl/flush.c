/*
 * flush - vrcptctl flush: drop cached answers everywhere.
 *
 * It sends the invalidation message (core/cachefmt.h: "a:KEY",
 * "d:DOMAIN", "all") with NOTIFY vrcpt_invalidate through each database
 * of the configuration, which every running vrcptd LISTENs to (they
 * drop the keys from their in-process caches and from Redis), and
 * applies it to Redis itself as well, so that Redis is right even when
 * no daemon runs. An ADDRESS drops every key Postfix derives from it
 * but the "@domain" catch-all (user+ext@domain, user@domain); @DOMAIN
 * (or a bare domain) drops every key of the domain; --all everything.
 *
 * Depends on: core/, conf/, store/{notify,rcachesync}, util/.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "core/addr.h"
#include "core/cachefmt.h"
#include "ctl/ctl.h"
#include "store/notify.h"
#include "store/rcachesync.h"
#include "util/clock.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define CTL_TOKENS_MAX		(ADDR_KEYS_MAX + 1)

/* ctl_domain_token - "d:" + folded domain, or NULL if empty */
static char *
ctl_domain_token(const char *d)
{
	char	*f = str_fold_utf8(d), *t;
	size_t	 len = strlen(f);

	if (len > 0 && f[len - 1] == '.')
		f[--len] = '\0';
	t = len > 0 ? xasprintf("d:%s", f) : NULL;
	free(f);
	return t;
}

/* ctl_tokens - the invalidation messages for what; -1 if nonsense */
static int
ctl_tokens(const struct conf *cfg, const char *what,
    char *tok[CTL_TOKENS_MAX], size_t *n_r)
{
	struct addr a;
	const char *err;
	size_t	 i, j, n = 0;

	*n_r = 0;
	if (what == NULL) {
		tok[n++] = xstrdup("all");
	} else if (what[0] == '@' || strchr(what, '@') == NULL) {
		tok[n] = ctl_domain_token(what[0] == '@' ? what + 1 : what);
		if (tok[n] == NULL) {
			fprintf(stderr, "vrcptctl: flush: empty domain\n");
			return -1;
		}
		n++;
	} else {
		if (addr_parse(what, &cfg->engine.addr, &a, &err) < 0) {
			fprintf(stderr, "vrcptctl: flush: %s\n", err);
			return -1;
		}
		for (i = 0; i < a.nkeys && n < CTL_TOKENS_MAX; i++) {
			char	*t;

			if (a.keys[i].kind == ADDR_KEY_DOMAIN)
				continue;
			t = xasprintf("a:%s", a.keys[i].key);
			for (j = 0; j < n; j++)
				if (strcmp(tok[j], t) == 0)
					break;
			if (j < n)
				free(t);
			else
				tok[n++] = t;
		}
		addr_free(&a);
	}
	for (i = 0; i < n; i++)
		if (strlen(tok[i]) > CACHEFMT_PAYLOAD_MAX) {
			fprintf(stderr, "vrcptctl: flush: too long\n");
			while (n > 0)
				free(tok[--n]);
			return -1;
		}
	*n_r = n;
	return 0;
}

/* ctl_flush_redis - apply one message to Redis; 0 or -1 */
static int
ctl_flush_redis(const struct conf *cfg, struct rcachesync *rs,
    const char *tok)
{
	char	(*ns)[CACHEFMT_NS_LEN + 1];
	const char *err = NULL;
	size_t	 i, nns = 0;
	int	 rc;

	ns = xcalloc(cfg->nmaps ? cfg->nmaps : 1, sizeof(*ns));
	for (i = 0; i < cfg->nmaps; i++)
		if (cfg->maps[i]->type == MAP_PGSQL)
			cachefmt_ns(cfg->maps[i]->u.sql, ns[nns++]);
	rc = rcachesync_invalidate(rs, tok, (const char (*)[CACHEFMT_NS_LEN +
	    1])ns, nns, clock_wall_ms(), &err);
	if (rc < 0)
		fprintf(stderr, "vrcptctl: %s: %s\n", ctl_cache_text(cfg),
		    err != NULL ? err : "failed");
	free(ns);
	return rc;
}

/*
 * ctl_flush - tell every vrcptd (through NOTIFY on each database) and
 * Redis. Exit status 1 if any part failed.
 */
int
ctl_flush(const struct conf *cfg, const char *what)
{
	char	*tok[CTL_TOKENS_MAX], b[STR_SANITIZE_MAX + 4], *err;
	size_t	 ntok, i, j;
	int	 rc = 0;

	if (ctl_tokens(cfg, what, tok, &ntok) < 0)
		return CTL_EXIT_ERROR;
	for (i = 0; i < cfg->ndbconfs; i++) {
		const char *db = cfg->dbconfs[i].conn->dbname;
		bool	 ok = true;

		for (j = 0; j < ntok && ok; j++)
			if (notify_send(cfg->dbconfs[i].conn, tok[j],
			    CTL_DB_TIMEOUT_MS, &err) < 0) {
				fprintf(stderr, "vrcptctl: database %s: %s; "
				    "running vrcptd were not told (they flush "
				    "everything when they reconnect)\n",
				    printable(b, db), printable(b, err));
				free(err);
				ok = false;
				rc = CTL_EXIT_ERROR;
			}
		if (ok)
			printf("database %s: running vrcptd told\n",
			    printable(b, db));
	}
	if (cfg->ndbconfs == 0)
		printf("no pgsql maps: nothing is cached\n");
	if (ctl_redis_on(cfg) && cfg->ndbconfs > 0) {
		struct rcachesync *rs = ctl_redis(cfg);
		bool	 ok = true;

		for (j = 0; j < ntok && ok; j++)
			if (ctl_flush_redis(cfg, rs, tok[j]) < 0) {
				ok = false;
				rc = CTL_EXIT_ERROR;
			}
		if (ok)
			printf("%s: flushed\n", ctl_cache_text(cfg));
		rcachesync_free(&rs);
	}
	for (j = 0; j < ntok; j++) {
		printf("flushed:   %s\n", printable(b, tok[j]));
		free(tok[j]);
	}
	return rc;
}

