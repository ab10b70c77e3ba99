/*
 * vrcptctl - the vrcpt admin tool.
 *
 *   vrcptctl [-c FILE] query ADDRESS...   decision plus every lookup made
 *   vrcptctl [-c FILE] flush [ADDRESS|@DOMAIN|all]   drop cached answers
 *   vrcptctl reference                    the commented reference
 *                                         configuration (deploy/vrcptd.cf)
 *   vrcptctl [-c FILE] check [-a]         test the configuration; show
 *                                         every parameter set (-a: all)
 *                                         and where it comes from
 *
 * "query" runs the same engine and the same SQL as vrcptd, with
 * blocking lookups (store/dbsync), and prints a trace like postmap -q
 * with reasons. It talks to PostgreSQL directly, not to the daemon, so
 * it works (and shows the real table contents) while vrcptd is down.
 * With "cache = redis:..." it also shows, for each lookup, what Redis
 * holds (the shared tier: its answer, age, and whether it is fresh,
 * stale or differs from the database). The in-process caches of the
 * running daemons are not visible from here; their log lines say which
 * tier answered (lookup=cache_local, cache_redis, db).
 *
 * "flush" reaches every cache there is: it sends the invalidation
 * message (core/cachefmt.h: "a:KEY", "d:DOMAIN", "all") with NOTIFY
 * vrcpt_invalidate through each database of the configuration, which
 * every running vrcptd LISTENs to (they drop the keys from their
 * in-process caches and from Redis), and applies it to Redis itself
 * as well, so that Redis is right even when no daemon runs. An ADDRESS
 * drops every key Postfix derives from it but the "@domain" catch-all
 * (user+ext@domain, user@domain); @DOMAIN (or a bare domain) drops
 * every key of the domain; "all" (the default) everything.
 *
 * Depends on: core/, conf/, store/{dbsync,notify,rcachesync}, util/.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/cachefmt.h"
#include "core/engine.h"
#include "conf/conf.h"
#include "conf/reference.h"
#include "store/dbsync.h"
#include "store/notify.h"
#include "store/rcachesync.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define CTL_DB_TIMEOUT_MS	5000
#define CTL_ROUNDS_MAX		8
#define CTL_REDIS_TIMEOUT_MS	2000
#define CTL_TOKENS_MAX		(ADDR_KEYS_MAX + 1)

static void
usage(void)
{
	fprintf(stderr,
	    "usage: vrcptctl [-c config_file] [-o name=value] query "
	    "ADDRESS...\n"
	    "       vrcptctl [-c config_file] [-o name=value] flush "
	    "[ADDRESS|@DOMAIN|all]\n"
	    "       vrcptctl [-c config_file] [-o name=value] check [-a]\n"
	    "       vrcptctl reference\n");
	exit(2);
}

/* ctl_dbs - one blocking connection per database server */
struct ctl_dbs {
	struct dbsync **v;
	size_t	 n;
	const struct conf *cfg;
};

static struct dbsync *
ctl_db_for(struct ctl_dbs *dbs, const struct sqlmap *sm)
{
	size_t i, j;

	for (i = 0; i < dbs->cfg->ndbconfs; i++)
		for (j = 0; j < dbs->cfg->dbconfs[i].nmaps; j++)
			if (dbs->cfg->dbconfs[i].maps[j] == sm) {
				if (dbs->v[i] == NULL)
					dbs->v[i] = dbsync_new(
					    dbs->cfg->dbconfs[i].conn,
					    CTL_DB_TIMEOUT_MS);
				return dbs->v[i];
			}
	msg_panic("ctl_db_for: map %s has no database", sm->path);
}

static const char *
printable(char *buf, const char *s)
{
	if (s == NULL)
		return "";
	return str_sanitize(buf, s, strlen(s), STR_SANITIZE_MAX);
}

static bool
ctl_redis_on(const struct conf *cfg)
{
	return cfg->cache.kind != ENDPOINT_NONE;
}

static const char *
ctl_cache_text(const struct conf *cfg)
{
	static char buf[ENDPOINT_TEXT_MAX + 8];

	return conf_cache_text(cfg, buf, sizeof(buf));
}

static struct rcachesync *
ctl_redis(const struct conf *cfg)
{
	struct rcachesync_opts ro;

	ro.endpoint = &cfg->cache;
	ro.password = cfg->redis_password;
	ro.db = cfg->redis_db;
	ro.timeout_ms = CTL_REDIS_TIMEOUT_MS;
	return rcachesync_new(&ro);
}

/* what Redis holds for the pgsql lookups of one trace */
struct ctl_rview {
	bool	 asked;
	char	*error;			/* the read failed: why */
	struct rcachesync_val *vals;	/* [0] epoch, then domain epoch and
					 * record per trace entry */
	size_t	 nvals;
	int	 slot[ENGINE_TRACE_MAX];	/* trace entry -> its first
						 * value, or -1 */
};

static void
ctl_rview_read(struct rcachesync *rs, const struct trace *trace,
    struct ctl_rview *rv)
{
	const char *keys[RCACHESYNC_KEYS_MAX];
	size_t	 lens[RCACHESYNC_KEYS_MAX], n = 1, i;
	char	*own[RCACHESYNC_KEYS_MAX], ns[CACHEFMT_NS_LEN + 1];
	const char *err;

	memset(rv, 0, sizeof(*rv));
	keys[0] = CACHEFMT_RKEY_EPOCH;
	lens[0] = strlen(CACHEFMT_RKEY_EPOCH);
	own[0] = NULL;
	for (i = 0; i < trace->n; i++) {
		const struct trace_entry *t = &trace->v[i];

		rv->slot[i] = -1;
		if (t->map->type != MAP_PGSQL ||
		    n + CACHEFMT_READ_PER > RCACHESYNC_KEYS_MAX ||
		    !cachefmt_cacheable(t->key, strlen(t->key)))
			continue;
		cachefmt_ns(t->map->u.sql, ns);
		rv->slot[i] = (int)n;
		cachefmt_read_keys(ns, t->key, strlen(t->key), &own[n],
		    &lens[n]);
		keys[n] = own[n];
		keys[n + 1] = own[n + 1];
		n += CACHEFMT_READ_PER;
	}
	rv->asked = true;
	rv->vals = xcalloc(n, sizeof(*rv->vals));
	rv->nvals = n;
	if (rcachesync_get(rs, keys, lens, n, rv->vals, &err) < 0)
		rv->error = xstrdup(err);
	for (i = 1; i < n; i++)
		free(own[i]);
}

static void
ctl_rview_free(struct ctl_rview *rv)
{
	size_t	 i;

	for (i = 0; i < rv->nvals; i++)
		free(rv->vals[i].s);
	free(rv->vals);
	free(rv->error);
}

/* ctl_rview_line - the Redis line of trace entry i */
static void
ctl_rview_line(const struct conf *cfg, const struct ctl_rview *rv,
    size_t i, const struct trace_entry *t)
{
	const struct rcachesync_val *ev, *dv, *rec;
	struct cachefmt_ttl ttl;
	struct cachefmt_rec r;
	uint64_t epoch, depoch, now = clock_wall_ms(), age, life;
	bool	 have_epoch;
	char	 b[STR_SANITIZE_MAX + 4];

	if (!rv->asked || rv->error != NULL || rv->slot[i] < 0)
		return;
	ev = &rv->vals[0];
	dv = &rv->vals[rv->slot[i]];
	rec = &rv->vals[rv->slot[i] + 1];
	have_epoch = ev->s != NULL &&
	    cachefmt_u64_parse(ev->s, ev->len, &epoch) == 0;
	ttl.positive_ms = cfg->cache_positive_ttl;
	ttl.negative_ms = cfg->cache_negative_ttl;
	ttl.stale_ms = cfg->cache_stale_ttl;
	printf("    redis: ");
	memset(&r, 0, sizeof(r));
	switch (cachefmt_judge(&ttl, have_epoch ? &epoch : NULL, dv->s,
	    dv->len, rec->s, rec->len, now, &depoch, &r)) {
	case CACHEFMT_J_ABSENT:
		printf("nothing cached\n");
		return;
	case CACHEFMT_J_UNREADABLE:
		printf("an unreadable record (ignored)\n");
		return;
	case CACHEFMT_J_TOMBSTONE:
		age = now > r.stored_ms ? (now - r.stored_ms) / CLOCK_MS_PER_S :
		    0;
		printf("invalidated %llus ago (no caching for a few seconds)"
		    "\n", (unsigned long long)age);
		return;
	case CACHEFMT_J_FOREIGN:
	case CACHEFMT_J_FLUSHED:
		printf("%s, flushed since (ignored)\n",
		    rec->s != NULL && cachefmt_rec_parse(rec->s, rec->len, &r) ==
		    0 ? fact_result_name(r.result) : "a record");
		return;
	case CACHEFMT_J_FRESH:
	case CACHEFMT_J_STALE:
	case CACHEFMT_J_EXPIRED:
		break;
	}
	age = now > r.stored_ms ? (now - r.stored_ms) / CLOCK_MS_PER_S : 0;
	life = cachefmt_ttl_of(&ttl, r.result) / CLOCK_MS_PER_S;
	printf("%s", fact_result_name(r.result));
	if (r.result == FACT_FOUND)
		printf(" \"%s\"", str_sanitize(b, r.value, r.vlen,
		    STR_SANITIZE_MAX));
	printf(", age %llus", (unsigned long long)age);
	switch (cachefmt_age(&ttl, r.result, r.stored_ms, now)) {
	case CACHEFMT_FRESH:
		printf(", fresh for %llus more",
		    (unsigned long long)(life > age ? life - age : 0));
		if (t->result != FACT_UNAVAILABLE && t->result != r.result)
			printf("; DIFFERS from the database (vrcptctl "
			    "flush)");
		break;
	case CACHEFMT_STALE:
		printf(", stale (used only while PostgreSQL cannot answer)");
		break;
	case CACHEFMT_EXPIRED:
		printf(", expired");
		break;
	}
	printf("\n");
}

static int
ctl_query(const struct conf *cfg, struct ctl_dbs *dbs,
    struct rcachesync *rs, const char *rcpt)
{
	struct ctl_rview rv = { 0 };
	char b1[STR_SANITIZE_MAX + 4], b2[STR_SANITIZE_MAX + 4];
	struct lookup_list need;
	struct factset facts;
	struct trace trace;
	struct verdict v;
	struct addr a;
	const char *err;
	unsigned rounds = 0;
	size_t i, nq = 0;

	if (addr_parse(rcpt, &cfg->engine.addr, &a, &err) < 0) {
		fprintf(stderr, "vrcptctl: %s: %s\n", printable(b1, rcpt), err);
		return 1;
	}
	factset_init(&facts);
	while (engine_decide(&cfg->engine, &a, &facts, &need, &v, &trace) ==
	    ENGINE_NEED) {
		if (++rounds > CTL_ROUNDS_MAX)
			msg_panic("engine did not converge");
		for (i = 0; i < need.n; i++) {
			const struct sqlmap *sm = need.v[i].map->u.sql;
			char *value = NULL, *why = NULL, *warn = NULL;
			enum fact_result fr;

			fr = dbsync_lookup(ctl_db_for(dbs, sm), sm,
			    need.v[i].key, &value, &why, &warn);
			nq++;
			if (warn != NULL)
				fprintf(stderr, "vrcptctl: warning: %s\n",
				    printable(b1, warn));
			factset_add(&facts, need.v[i].map, need.v[i].key, fr,
			    FACT_SRC_DB, value, why);
			free(value);
			free(why);
			free(warn);
		}
	}
	printf("recipient: %s\n", printable(b1, rcpt));
	printf("address:   %s (domain \"%s\"%s%s%s)\n",
	    printable(b1, a.folded), printable(b2, a.domain),
	    a.extension ? ", extension \"" : "",
	    a.extension ? a.extension : "", a.extension ? "\"" : "");
	if (rs != NULL)
		ctl_rview_read(rs, &trace, &rv);
	printf("lookups:\n");
	for (i = 0; i < trace.n; i++) {
		const struct trace_entry *t = &trace.v[i];
		const struct fact_entry *f = factset_get(&facts, t->map,
		    t->key);

		printf("  %-24s %s\n    key \"%s\": %s", t->param,
		    t->map->name, printable(b1, t->key),
		    fact_result_name(t->result));
		if (t->result == FACT_FOUND && t->value)
			printf(" \"%s\"", printable(b2, t->value));
		if (t->result == FACT_UNAVAILABLE && f && f->why)
			printf(" (%s)", printable(b2, f->why));
		printf(" [%s]\n", fact_source_name(t->source));
		ctl_rview_line(cfg, &rv, i, t);
	}
	if (trace.n == 0)
		printf("  (none)\n");
	printf("class:     %s\n", domain_class_name(v.dclass));
	printf("decision:  %s%s\n", verdict_kind_name(v.kind),
	    v.warn_only ? " (warn_if_reject: logged, not enforced)" : "");
	printf("action:    %s\n", v.action);
	if (v.code != 0)
		printf("smtp:      %u %s <%s>: Recipient address rejected: %s\n",
		    v.code, v.dsn, printable(b1, rcpt), v.text);
	printf("queries:   %zu\n", nq);
	if (rs == NULL)
		printf("cache:     %s (the in-process caches of running vrcptd "
		    "are not visible from here)\n", ctl_cache_text(cfg));
	else if (rv.error != NULL)
		printf("cache:     %s: %s\n", ctl_cache_text(cfg),
		    printable(b1, rv.error));
	else
		printf("cache:     %s (shown above; the in-process caches of "
		    "running vrcptd are not visible from here)\n",
		    ctl_cache_text(cfg));
	ctl_rview_free(&rv);
	factset_free(&facts);
	addr_free(&a);
	return 0;
}

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
	if (what == NULL || strcmp(what, "all") == 0) {
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
static int
ctl_flush(const struct conf *cfg, const char *what)
{
	char	*tok[CTL_TOKENS_MAX], b[STR_SANITIZE_MAX + 4], *err;
	size_t	 ntok, i, j;
	int	 rc = 0;

	if (ctl_tokens(cfg, what, tok, &ntok) < 0)
		return 1;
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
				rc = 1;
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
				rc = 1;
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

/*
 * ctl_check - the configuration was loaded for every program: say so,
 * then every parameter that is not at its default (all with -a), with
 * where its value comes from, as postconf -n does for main.cf
 */
static int
ctl_check(const struct conf *cfg, bool all)
{
	size_t	 i;
	char	*v, *o, b[STR_SANITIZE_MAX + 4];

	printf("%s: OK (%zu table%s, %zu database server%s)\n", cfg->path,
	    cfg->nmaps, cfg->nmaps == 1 ? "" : "s", cfg->ndbconfs,
	    cfg->ndbconfs == 1 ? "" : "s");
	for (i = 0; i < CONF_NPARAMS; i++) {
		if (!all && cfg->origin[i].src == CONF_SRC_DEFAULT)
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

int
main(int argc, char **argv)
{
	const char *path = CONF_DEFAULT_PATH;
	struct conf_msgs msgs = { 0 };
	struct conf *cfg = NULL;
	struct ctl_dbs dbs = { 0 };
	struct rcachesync *rs = NULL;
	const char *ov[CONF_OVERRIDES_MAX];
	unsigned what = CONF_C | CONF_TABLES;
	int ch, rc = 0, i;
	size_t j, nov = 0;
	bool all = false;

	while ((ch = getopt(argc, argv, "+c:o:")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'o':
			if (nov == CONF_OVERRIDES_MAX)
				usage();
			ov[nov++] = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	if (strcmp(argv[0], "reference") == 0) {
		struct buf b;
		bool	 man = argc == 2 && strcmp(argv[1], "--man") == 0;

		if (argc != 1 && !man)
			usage();
		buf_init(&b, 0);
		if (man)
			reference_man(&b);	/* vrcptd.cf(5) */
		else
			reference_cf(&b);
		fwrite(b.data, 1, b.len, stdout);
		buf_free(&b);
		return ferror(stdout) ? 1 : 0;
	}
	if (strcmp(argv[0], "check") == 0) {
		all = argc == 2 && strcmp(argv[1], "-a") == 0;
		if (argc > 2 || (argc == 2 && !all))
			usage();
		/* everything any program of vrcpt reads */
		what |= CONF_D | CONF_M;
	} else if (strcmp(argv[0], "query") == 0) {
		if (argc < 2)
			usage();
	} else if (strcmp(argv[0], "flush") == 0) {
		if (argc > 2)
			usage();
	} else
		usage();

	rc = conf_load(path, what, ov, nov, &cfg, &msgs);
	for (j = 0; j < msgs.n; j++)
		fprintf(stderr, "vrcptctl: %s\n", msgs.v[j]);
	conf_msgs_free(&msgs);
	if (rc < 0) {
		fprintf(stderr, "vrcptctl: %s: configuration errors\n", path);
		return 1;
	}
	if (strcmp(argv[0], "check") == 0) {
		rc = ctl_check(cfg, all);
		conf_unref(&cfg);
		return rc;
	}
	if (strcmp(argv[0], "flush") == 0) {
		rc = ctl_flush(cfg, argc > 1 ? argv[1] : NULL);
		conf_unref(&cfg);
		return rc;
	}
	if (ctl_redis_on(cfg))
		rs = ctl_redis(cfg);
	dbs.cfg = cfg;
	dbs.n = cfg->ndbconfs;
	dbs.v = xcalloc(dbs.n ? dbs.n : 1, sizeof(struct dbsync *));
	for (i = 1; i < argc; i++) {
		if (i > 1)
			printf("\n");
		rc |= ctl_query(cfg, &dbs, rs, argv[i]);
	}
	for (j = 0; j < dbs.n; j++)
		if (dbs.v[j] != NULL)
			dbsync_free(&dbs.v[j]);
	free(dbs.v);
	rcachesync_free(&rs);
	conf_unref(&cfg);
	return rc;
}
