/*
 * direct - vrcptctl query --direct: the same engine and the same SQL as
 * vrcptd, with blocking lookups (store/dbsync), printed as a trace like
 * postmap -q with reasons. It talks to PostgreSQL itself, not to the
 * daemon, so it works (and shows the real table contents) while vrcptd
 * is down. With "cache = redis:..." it also shows, for each lookup,
 * what Redis holds (the shared tier: its answer, age, and whether it is
 * fresh, stale or differs from the database). The in-process caches of
 * the running daemons are not visible from here: "vrcptctl query"
 * without --direct asks the daemon, and says which tier answered.
 *
 * Depends on: core/, conf/, store/{dbsync,rcachesync}, util/.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "core/addr.h"
#include "core/cachefmt.h"
#include "core/engine.h"
#include "ctl/ctl.h"
#include "store/dbsync.h"
#include "store/rcachesync.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define CTL_ROUNDS_MAX		8

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
				if (dbs->v[i] == NULL) {
					dbs->v[i] = dbsync_new(
					    dbs->cfg->dbconfs[i].conn,
					    CTL_DB_TIMEOUT_MS);
					dbsync_set_target(dbs->v[i],
					    dbs->cfg->db_read_target);
				}
				return dbs->v[i];
			}
	msg_panic("ctl_db_for: map %s has no database", sm->path);
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
	case CACHEFMT_J_NO_DEPOCH:
		printf("%s, its domain has no epoch (ignored)\n",
		    rec->s != NULL ? "a record" : "nothing cached");
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

/* ctl_query_one - one address: the trace, and the exit code */
static int
ctl_query_one(const struct conf *cfg, struct ctl_dbs *dbs,
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
		return CTL_EXIT_ERROR;
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
	return ctl_exit_for(verdict_kind_name(v.kind), v.action);
}

int
ctl_query_direct(const struct conf *cfg, char *const *addrs, int n)
{
	struct ctl_dbs dbs = { 0 };
	struct rcachesync *rs = NULL;
	int	 i, rc = CTL_EXIT_OK, r;
	size_t	 j;

	if (ctl_redis_on(cfg))
		rs = ctl_redis(cfg);
	dbs.cfg = cfg;
	dbs.n = cfg->ndbconfs;
	dbs.v = xcalloc(dbs.n ? dbs.n : 1, sizeof(struct dbsync *));
	for (i = 0; i < n; i++) {
		if (i > 0)
			printf("\n");
		if ((r = ctl_query_one(cfg, &dbs, rs, addrs[i])) > rc)
			rc = r;
	}
	for (j = 0; j < dbs.n; j++)
		if (dbs.v[j] != NULL)
			dbsync_free(&dbs.v[j]);
	free(dbs.v);
	rcachesync_free(&rs);
	return rc;
}
