/*
 * vrcptctl - the vrcpt admin tool.
 *
 *   vrcptctl [-c FILE] query ADDRESS...   decision plus every lookup made
 *   vrcptctl [-c FILE] check              test the configuration
 *
 * "query" runs the same engine and the same SQL as vrcptd, with
 * blocking lookups (store/dbsync), and prints a trace like postmap -q
 * with reasons. It talks to PostgreSQL directly, not to the daemon, so
 * it works (and shows the real table contents) while vrcptd is down.
 *
 * Depends on: core/, store/dbsync, daemon/config, util/.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/engine.h"
#include "daemon/config.h"
#include "store/dbsync.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define CTL_DB_TIMEOUT_MS	5000
#define CTL_ROUNDS_MAX		8

static void
usage(void)
{
	fprintf(stderr,
	    "usage: vrcptctl [-c config_file] query ADDRESS...\n"
	    "       vrcptctl [-c config_file] check\n");
	exit(2);
}

/* ctl_dbs - one blocking connection per database server */
struct ctl_dbs {
	struct dbsync **v;
	size_t	 n;
	const struct config *cfg;
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

static int
ctl_query(const struct config *cfg, struct ctl_dbs *dbs, const char *rcpt)
{
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
	factset_free(&facts);
	addr_free(&a);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *path = CONFIG_DEFAULT_PATH;
	struct config_msgs msgs = { 0 };
	struct config *cfg = NULL;
	struct ctl_dbs dbs = { 0 };
	int ch, rc = 0, i;
	size_t j;

	while ((ch = getopt(argc, argv, "c:")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	if (strcmp(argv[0], "check") == 0) {
		if (argc != 1)
			usage();
	} else if (strcmp(argv[0], "query") == 0) {
		if (argc < 2)
			usage();
	} else
		usage();

	rc = config_load(path, &cfg, &msgs);
	for (j = 0; j < msgs.n; j++)
		fprintf(stderr, "vrcptctl: %s\n", msgs.v[j]);
	config_msgs_free(&msgs);
	if (rc < 0) {
		fprintf(stderr, "vrcptctl: %s: configuration errors\n", path);
		return 1;
	}
	if (strcmp(argv[0], "check") == 0) {
		printf("%s: OK (%zu maps, %zu database server%s)\n", path,
		    cfg->nmaps, cfg->ndbconfs, cfg->ndbconfs == 1 ? "" : "s");
		config_unref(&cfg);
		return 0;
	}
	dbs.cfg = cfg;
	dbs.n = cfg->ndbconfs;
	dbs.v = xcalloc(dbs.n ? dbs.n : 1, sizeof(struct dbsync *));
	for (i = 1; i < argc; i++) {
		if (i > 1)
			printf("\n");
		rc |= ctl_query(cfg, &dbs, argv[i]);
	}
	for (j = 0; j < dbs.n; j++)
		if (dbs.v[j] != NULL)
			dbsync_free(&dbs.v[j]);
	free(dbs.v);
	config_unref(&cfg);
	return rc;
}
