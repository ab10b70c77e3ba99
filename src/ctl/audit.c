/*
 * audit - vrcptctl audit: does vrcptd say what Postfix would say, for
 * every address of the tables and a sample of unknown ones?
 *
 * Four comparisons, one output line per disagreement:
 *
 *   param   each recipient parameter Postfix has too (CONF_PF in
 *           conf/params.h) as vrcptd.cf has it, against main.cf's value
 *           (postconf -x -h NAME), compared as lists ("proxy:" left out);
 *   answer  for each address, vrcptd's answer (the running daemon, on
 *           control_listen, through its caches) against Postfix's: the
 *           decision walk of core/engine (Postfix's order and key forms,
 *           user+ext@domain, user@domain, @domain, tested rule for rule
 *           against Postfix 3.7 by tests/e2e) over main.cf's parameters,
 *           every pgsql: lookup answered by "postmap -q" over main.cf's
 *           map chain, i.e. by Postfix's own client. The line shows both
 *           and what the database says now through vrcptd.cf's maps;
 *   redis   each record in the shared Redis that vrcptd would use now
 *           (fresh, current epochs) for a lookup of those addresses,
 *           against the database's answer now (store/rcachesync reads,
 *           core/cachefmt judges: the one key plan);
 *   table   each lookup of a table file (hash:, lmdb:, cdb:, regexp:,
 *           ...) that the walk answered from vrcpt's own reading,
 *           against "postmap -q" of the same table.
 *
 * The addresses: --addresses FILE (one a line, "-" for standard input),
 * else the tables themselves, over the connection of the first pgsql map
 * of vrcptd.cf, for the schemas vrcpt ships (policy/: ISPmail
 * virtual_users/virtual_aliases/virtual_domains, PostfixAdmin
 * mailbox/alias/domain/alias_domain). The unknown sample: --unknown N
 * (CTL_AUDIT_UNKNOWN_DEFAULT) random local parts at each domain. At most
 * --max N (CTL_AUDIT_MAX_DEFAULT) addresses; every command runs within
 * CTL_PF_TIMEOUT_MS (ctl/pfcmd.c).
 *
 * Known differences (tests/e2e/differences.txt) are printed as "known"
 * lines and do not count: Postfix before 3.8 talks LATIN1 to PostgreSQL
 * and never finds a UTF-8 row.
 *
 * Exit: 0 everything agrees; 1 a disagreement; 2 an error, or nothing
 * disagreed but something could not be checked.
 *
 * Depends on: conf/, core/, ctl/{daemon,direct,common,pfcmd},
 * store/{dbsync,rcachesync}, util/.
 * Security: everything printed that came from a table, Redis, postmap or
 * the daemon is sanitised (printable); keys go to postmap as ctl/pfcmd
 * sends them (standard input, never a command line).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/pclient.h"
#include "conf/conf.h"
#include "core/addr.h"
#include "core/cachefmt.h"
#include "core/engine.h"
#include "ctl/ctl.h"
#include "store/dbsync.h"
#include "store/rcachesync.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/rand.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define AUDIT_DOMAINS_MAX	1000	/* domains sampled */
#define AUDIT_LINE_MAX		2048	/* a line of --addresses */
#define AUDIT_ROUNDS_MAX	8	/* engine steps; it needs 2 or 3 */
#define AUDIT_SAMPLE_PREFIX	"vrcpt-audit-"

/* the enumeration of the shipped schemas: addresses, then domains */
static const struct audit_schema {
	const char *name;
	const char *probe;		/* a table only this schema has */
	const char *addresses;
	const char *domains;
} audit_schemas[] = {
	{ "ISPmail", "virtual_users",
	  "SELECT email FROM virtual_users UNION "
	  "SELECT source FROM virtual_aliases ORDER BY 1",
	  "SELECT name FROM virtual_domains ORDER BY 1" },
	{ "PostfixAdmin", "mailbox",
	  "SELECT username FROM mailbox UNION "
	  "SELECT address FROM alias ORDER BY 1",
	  "SELECT domain FROM domain WHERE domain <> 'ALL' UNION "
	  "SELECT alias_domain FROM alias_domain ORDER BY 1" },
};

/* one address being audited */
struct audit_item {
	char	*rcpt;
	bool	 sample;		/* a made-up unknown */
	bool	 ok;			/* parsed by both */
	struct addr a;			/* as vrcptd.cf parses it */
	struct addr na;			/* as main.cf does */
	/* the database now, through vrcptd.cf's maps */
	struct factset facts;
	struct verdict v;
	struct trace trace;
	/* Postfix: main.cf's parameters, postmap */
	struct factset nfacts;
	struct verdict nv;
	struct trace ntrace;
	struct lookup_list need;
	bool	 ndone;
	/* vrcptd */
	bool	 asked;
	struct ctl_answer ans;
};

struct audit {
	const struct conf *cfg;
	struct conf *native;		/* main.cf's values */
	const struct ctl_audit_opts *o;
	char	*pfval[CONF_NPARAMS];	/* postconf -xh (CONF_PF) */
	bool	 postfix_old;		/* before 3.8: LATIN1 pgsql */
	char	*mail_version;		/* postconf mail_version */
	struct audit_item *v;
	size_t	 n, cap;
	char	**domains;
	size_t	 ndomains;
	size_t	 nfrom_tables;
	/* counts */
	size_t	 bad_param, bad_answer, bad_redis, bad_table, known,
		 unchecked, nredis, nparams, ntable;
};

/* --- main.cf ------------------------------------------------------------ */

/* audit_postconf - main.cf's values of the CONF_PF parameters */
static int
audit_postconf(struct audit *au)
{
	const char *names[CONF_NPARAMS + 1];
	char	*values[CONF_NPARAMS + 1], *err;
	char	 b[STR_SANITIZE_MAX + 4];
	size_t	 i, ids[CONF_NPARAMS], n = 0;
	unsigned major = 0, minor = 0;

	names[n++] = "mail_version";
	for (i = 0; i < CONF_NPARAMS; i++)
		if (conf_params[i].flags & CONF_PF) {
			ids[n - 1] = i;
			names[n++] = conf_params[i].name;
		}
	if (ctl_pf_postconf(au->o->postfix_dir, names, n, values, &err) < 0) {
		fprintf(stderr, "vrcptctl: audit: %s\n", printable(b, err));
		free(err);
		return -1;
	}
	if (sscanf(values[0], "%u.%u", &major, &minor) != 2)
		major = minor = 0;
	au->postfix_old = major < 3 || (major == 3 && minor < 8);
	au->mail_version = values[0];
	for (i = 1; i < n; i++)
		au->pfval[ids[i - 1]] = values[i];
	return 0;
}

/* audit_cf_value - a value for conf text: "$" written "$$" */
static void
audit_cf_value(struct buf *b, const char *name, const char *v)
{
	buf_printf(b, "%s = ", name);
	for (; *v != '\0'; v++) {
		if (*v == '$')
			buf_append(b, "$", 1);
		buf_append(b, v, 1);
	}
	buf_append(b, "\n", 1);
}

/*
 * audit_native - the configuration Postfix decides with: main.cf's
 * recipient parameters, and vrcpt's own answers (which Postfix's walk
 * does not have) from vrcptd.cf
 */
static int
audit_native(struct audit *au)
{
	static const enum conf_param_id own[] = { CONF_P_warn_if_reject,
	    CONF_P_other_domain_action, CONF_P_lookup_failure_action };
	struct conf_msgs msgs = { 0 };
	struct buf text;
	char	*path;
	size_t	 i;
	int	 rc;

	buf_init(&text, 0);
	for (i = 0; i < CONF_NPARAMS; i++)
		if (au->pfval[i] != NULL)
			audit_cf_value(&text, conf_params[i].name,
			    au->pfval[i]);
	for (i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		audit_cf_value(&text, conf_params[own[i]].name,
		    au->cfg->raw[own[i]] ? au->cfg->raw[own[i]] : "");
	path = xasprintf("%s/main.cf", au->o->postfix_dir != NULL ?
	    au->o->postfix_dir : "/etc/postfix");
	rc = conf_load_text(path, text.data, text.len, CONF_C | CONF_TABLES,
	    NULL, 0, &au->native, &msgs);
	for (i = 0; i < msgs.n; i++)
		fprintf(stderr, "vrcptctl: audit: main.cf (postconf): %s\n",
		    msgs.v[i]);
	if (rc < 0)
		fprintf(stderr, "vrcptctl: audit: %s: vrcpt cannot read "
		    "main.cf's tables (above)\n", path);
	conf_msgs_free(&msgs);
	buf_free(&text);
	free(path);
	return rc;
}

/* audit_norm - a list value as compared: items one space apart,
 * "proxy:" left out */
static char *
audit_norm(const char *v)
{
	struct buf b;
	const char *p = v;
	char	*out;
	size_t	 len, depth;

	buf_init(&b, 0);
	for (;;) {
		p += strspn(p, ", \t\r\n");
		if (*p == '\0')
			break;
		/* an item, a "{ ... }" group kept whole */
		for (len = 0, depth = 0; p[len] != '\0'; len++) {
			if (p[len] == '{')
				depth++;
			else if (p[len] == '}' && depth > 0)
				depth--;
			else if (depth == 0 && strchr(", \t\r\n", p[len]))
				break;
		}
		if (b.len > 0)
			buf_append(&b, " ", 1);
		if (len > 6 && strncmp(p, "proxy:", 6) == 0)
			buf_append(&b, p + 6, len - 6);
		else
			buf_append(&b, p, len);
		p += len;
	}
	out = xstrdup(buf_str(&b));
	buf_free(&b);
	return out;
}

static void
audit_params(struct audit *au)
{
	char	 b1[STR_SANITIZE_MAX + 4], b2[STR_SANITIZE_MAX + 4];
	char	*x, *y, *where;
	size_t	 i;
	bool	 same;

	for (i = 0; i < CONF_NPARAMS; i++) {
		if (au->pfval[i] == NULL)
			continue;
		au->nparams++;
		x = audit_norm(au->cfg->raw[i] ? au->cfg->raw[i] : "");
		y = audit_norm(au->pfval[i]);
		same = conf_params[i].type == CONF_T_BOOL ?
		    strcasecmp(x, y) == 0 : strcmp(x, y) == 0;
		if (!same) {
			where = conf_origin_text(au->cfg,
			    (enum conf_param_id)i);
			printf("param %s: vrcptd.cf has \"%s\" (%s), main.cf "
			    "has \"%s\"\n", conf_params[i].name,
			    printable(b1, x), where, printable(b2, y));
			free(where);
			au->bad_param++;
		}
		free(x);
		free(y);
	}
}

/* --- the addresses --------------------------------------------------- */

static bool
audit_have(const struct audit *au, const char *rcpt)
{
	size_t	 i;

	for (i = 0; i < au->n; i++)
		if (strcmp(au->v[i].rcpt, rcpt) == 0)
			return true;
	return false;
}

/* audit_add - one address (copied), unless seen or over --max */
static void
audit_add(struct audit *au, const char *rcpt, bool sample)
{
	char	 b[STR_SANITIZE_MAX + 4];

	if (rcpt[0] == '\0' || audit_have(au, rcpt))
		return;
	if (au->n >= au->o->max) {
		static bool said;

		if (!said)
			fprintf(stderr, "vrcptctl: audit: more than %zu "
			    "addresses: the rest are left out (--max)\n",
			    au->o->max);
		said = true;
		return;
	}
	if (strpbrk(rcpt, "\r\n") != NULL) {
		fprintf(stderr, "vrcptctl: audit: %s: a line break: left "
		    "out\n", printable(b, rcpt));
		return;
	}
	if (au->n == au->cap) {
		au->cap = au->cap ? 2 * au->cap : 64;
		au->v = xreallocarray(au->v, au->cap, sizeof(*au->v));
	}
	memset(&au->v[au->n], 0, sizeof(au->v[0]));
	au->v[au->n].rcpt = xstrdup(rcpt);
	au->v[au->n].sample = sample;
	au->n++;
}

static void
audit_add_domain(struct audit *au, const char *d)
{
	size_t	 i;

	if (d[0] == '\0' || strpbrk(d, "\r\n@ ") != NULL ||
	    au->ndomains >= AUDIT_DOMAINS_MAX)
		return;
	for (i = 0; i < au->ndomains; i++)
		if (strcasecmp(au->domains[i], d) == 0)
			return;
	au->domains = xreallocarray(au->domains, au->ndomains + 1,
	    sizeof(char *));
	au->domains[au->ndomains++] = xstrdup(d);
}

/* audit_file - --addresses FILE or "-" */
static int
audit_file(struct audit *au, const char *path)
{
	FILE	*fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char	 line[AUDIT_LINE_MAX + 2], *at;
	char	 b[STR_SANITIZE_MAX + 4];
	size_t	 len;

	if (fp == NULL) {
		fprintf(stderr, "vrcptctl: audit: %s: %s\n", printable(b, path),
		    strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		len = strlen(line);
		if (len > 0 && line[len - 1] != '\n' && !feof(fp)) {
			int	 c;

			fprintf(stderr, "vrcptctl: audit: a line longer than "
			    "%d bytes: left out\n", AUDIT_LINE_MAX);
			while ((c = getc(fp)) != EOF && c != '\n')
				;
			continue;
		}
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		audit_add(au, line, false);
		if ((at = strrchr(line, '@')) != NULL)
			audit_add_domain(au, at + 1);
	}
	if (fp != stdin)
		fclose(fp);
	return 0;
}

/* audit_tables - the shipped schemas, over the first pgsql map's server */
static int
audit_tables(struct audit *au)
{
	struct dbsync *ds;
	char	**rows, *why, *sql, b[STR_SANITIZE_MAX + 4];
	size_t	 n, i, s;
	int	 rc = -1;

	if (au->cfg->ndbconfs == 0) {
		fprintf(stderr, "vrcptctl: audit: no pgsql map in %s to read "
		    "the addresses from: give --addresses FILE\n",
		    au->cfg->path);
		return -1;
	}
	ds = dbsync_new(au->cfg->dbconfs[0].conn, CTL_DB_TIMEOUT_MS);
	dbsync_set_target(ds, au->cfg->db_read_target);
	for (s = 0; s < sizeof(audit_schemas) / sizeof(audit_schemas[0]);
	    s++) {
		sql = xasprintf("SELECT 1 WHERE to_regclass('%s') IS NOT "
		    "NULL", audit_schemas[s].probe);
		if (dbsync_list(ds, sql, &rows, &n, &why) < 0) {
			fprintf(stderr, "vrcptctl: audit: %s\n",
			    printable(b, why));
			free(why);
			free(sql);
			goto out;
		}
		free(sql);
		free(rows);
		if (n > 0)
			break;
	}
	if (s == sizeof(audit_schemas) / sizeof(audit_schemas[0])) {
		fprintf(stderr, "vrcptctl: audit: the database has neither "
		    "the ISPmail nor the PostfixAdmin tables: give --addresses "
		    "FILE\n");
		goto out;
	}
	sql = xasprintf("%s LIMIT %zu", audit_schemas[s].addresses,
	    au->o->max + 1);
	if (dbsync_list(ds, sql, &rows, &n, &why) < 0) {
		fprintf(stderr, "vrcptctl: audit: %s\n", printable(b, why));
		free(why);
		free(sql);
		goto out;
	}
	free(sql);
	for (i = 0; i < n; i++)
		audit_add(au, rows[i], false);
	free(rows);
	au->nfrom_tables = au->n;
	sql = xasprintf("%s LIMIT %d", audit_schemas[s].domains,
	    AUDIT_DOMAINS_MAX);
	if (dbsync_list(ds, sql, &rows, &n, &why) < 0) {
		fprintf(stderr, "vrcptctl: audit: %s\n", printable(b, why));
		free(why);
		free(sql);
		goto out;
	}
	free(sql);
	for (i = 0; i < n; i++)
		audit_add_domain(au, rows[i]);
	free(rows);
	printf("addresses: %zu from the %s tables, %zu domains\n",
	    au->nfrom_tables, audit_schemas[s].name, au->ndomains);
	rc = 0;
out:
	dbsync_free(&ds);
	return rc;
}

/* audit_samples - made-up local parts at each domain */
static void
audit_samples(struct audit *au)
{
	char	*rcpt;
	size_t	 d;
	unsigned k;

	for (d = 0; d < au->ndomains; d++)
		for (k = 0; k < au->o->unknown; k++) {
			rcpt = xasprintf(AUDIT_SAMPLE_PREFIX "%016llx@%s",
			    (unsigned long long)rand_seed(), au->domains[d]);
			audit_add(au, rcpt, true);
			free(rcpt);
		}
}

/* one map's keys of a round */
struct audit_batch {
	const struct map *map;
	struct ctl_pfkey *k;
	size_t	 n, cap;
};

static void
audit_batch_add(struct audit_batch **bs, size_t *nb, const struct map *m,
    const char *key)
{
	struct audit_batch *b = NULL;
	size_t	 i;

	for (i = 0; i < *nb; i++)
		if ((*bs)[i].map == m) {
			b = &(*bs)[i];
			break;
		}
	if (b == NULL) {
		*bs = xreallocarray(*bs, *nb + 1, sizeof(**bs));
		b = &(*bs)[(*nb)++];
		memset(b, 0, sizeof(*b));
		b->map = m;
	}
	for (i = 0; i < b->n; i++)
		if (strcmp(b->k[i].key, key) == 0)
			return;
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 16;
		b->k = xreallocarray(b->k, b->cap, sizeof(*b->k));
	}
	memset(&b->k[b->n], 0, sizeof(b->k[0]));
	b->k[b->n++].key = key;
}

static const struct ctl_pfkey *
audit_batch_get(const struct audit_batch *bs, size_t nb, const struct map *m,
    const char *key)
{
	size_t	 i, j;

	for (i = 0; i < nb; i++)
		if (bs[i].map == m)
			for (j = 0; j < bs[i].n; j++)
				if (strcmp(bs[i].k[j].key, key) == 0)
					return &bs[i].k[j];
	return NULL;
}

static void
audit_batches_free(struct audit_batch *bs, size_t nb)
{
	size_t	 i, j;

	for (i = 0; i < nb; i++) {
		for (j = 0; j < bs[i].n; j++) {
			free(bs[i].k[j].value);
			free(bs[i].k[j].why);
		}
		free(bs[i].k);
	}
	free(bs);
}

/*
 * audit_postfix - Postfix's answers, every address in step: each round
 * asks postmap once per map for the keys all addresses need
 */
static void
audit_postfix(struct audit *au)
{
	struct audit_batch *bs;
	size_t	 nb, i, j, left;
	unsigned round;

	for (round = 0; round < AUDIT_ROUNDS_MAX; round++) {
		bs = NULL;
		nb = 0;
		left = 0;
		for (i = 0; i < au->n; i++) {
			struct audit_item *it = &au->v[i];

			if (!it->ok || it->ndone)
				continue;
			if (engine_decide(&au->native->engine, &it->na,
			    &it->nfacts, &it->need, &it->nv, &it->ntrace) ==
			    ENGINE_DONE) {
				it->ndone = true;
				continue;
			}
			left++;
			for (j = 0; j < it->need.n; j++)
				audit_batch_add(&bs, &nb, it->need.v[j].map,
				    it->need.v[j].key);
		}
		for (i = 0; i < nb; i++)
			ctl_pf_postmap(au->o->postfix_dir,
		    bs[i].map->name, bs[i].k, bs[i].n);
		for (i = 0; i < au->n; i++) {
			struct audit_item *it = &au->v[i];

			if (!it->ok || it->ndone)
				continue;
			for (j = 0; j < it->need.n; j++) {
				const struct ctl_pfkey *k = audit_batch_get(bs,
				    nb, it->need.v[j].map, it->need.v[j].key);

				factset_add(&it->nfacts, it->need.v[j].map,
				    it->need.v[j].key, k->result, FACT_SRC_DB,
				    k->value, k->why);
			}
		}
		audit_batches_free(bs, nb);
		if (left == 0)
			return;
	}
	for (i = 0; i < au->n; i++)
		if (au->v[i].ok && !au->v[i].ndone)
			msg_panic("audit: the engine did not converge");
}

/*
 * audit_tables_files - every table-file lookup of Postfix's walk (vrcpt
 * read the file) against postmap -q of the same table
 */
static void
audit_table_files(struct audit *au)
{
	struct audit_batch *bs = NULL;
	char	 b1[STR_SANITIZE_MAX + 4], b2[STR_SANITIZE_MAX + 4];
	size_t	 nb = 0, i, j;

	for (i = 0; i < au->n; i++) {
		const struct trace *t = &au->v[i].ntrace;

		if (!au->v[i].ok)
			continue;
		for (j = 0; j < t->n; j++)
			if (t->v[j].map->type == MAP_FILE)
				audit_batch_add(&bs, &nb, t->v[j].map,
				    t->v[j].key);
	}
	for (i = 0; i < nb; i++)
		ctl_pf_postmap(au->o->postfix_dir,
		    bs[i].map->name, bs[i].k, bs[i].n);
	for (i = 0; i < au->n; i++) {
		const struct trace *t = &au->v[i].ntrace;

		if (!au->v[i].ok)
			continue;
		for (j = 0; j < t->n; j++) {
			const struct trace_entry *e = &t->v[j];
			const struct ctl_pfkey *k;
			bool	 vf, pf;

			if (e->map->type != MAP_FILE ||
			    (k = audit_batch_get(bs, nb, e->map, e->key)) ==
			    NULL)
				continue;
			au->ntable++;
			if (k->result == FACT_UNAVAILABLE) {
				printf("unchecked table %s key \"%s\": %s\n",
				    printable(b1, e->map->name),
				    printable(b2, e->key), k->why);
				au->unchecked++;
				continue;
			}
			/* an empty value: "found" to a *_domains list */
			vf = e->result == FACT_FOUND;
			pf = k->result == FACT_FOUND ||
			    (vf && e->value != NULL && e->value[0] == '\0');
			if (vf != pf) {
				printf("table %s key \"%s\": vrcpt reads %s, "
				    "postmap -q says %s\n",
				    printable(b1, e->map->name),
				    printable(b2, e->key),
				    fact_result_name(e->result),
				    fact_result_name(k->result));
				au->bad_table++;
			}
		}
	}
	audit_batches_free(bs, nb);
}

/* --- vrcptd, the database, Redis ----------------------------------------- */

static bool
audit_non_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* audit_redis - the fresh Redis records of it's walk against the
 * database's answers */
static void
audit_redis(struct audit *au, struct rcachesync *rs, struct audit_item *it)
{
	struct ctl_rview rv;
	struct cachefmt_rec r;
	char	 b1[STR_SANITIZE_MAX + 4], b2[STR_SANITIZE_MAX + 4];
	char	 b3[STR_SANITIZE_MAX + 4];
	uint64_t age;
	size_t	 i;

	ctl_rview_read(rs, &it->trace, &rv);
	if (rv.error != NULL) {
		printf("unchecked redis %s: %s\n", printable(b1, it->rcpt),
		    printable(b2, rv.error));
		au->unchecked++;
		ctl_rview_free(&rv);
		return;
	}
	for (i = 0; i < it->trace.n; i++) {
		const struct trace_entry *t = &it->trace.v[i];

		if (!ctl_rview_fresh(au->cfg, &rv, i, &r, &age))
			continue;
		au->nredis++;
		if (t->result == FACT_UNAVAILABLE || t->result == r.result)
			continue;
		printf("redis %s: %s key \"%s\": Redis has %s (age %llus, "
		    "used by vrcptd), the database says %s now (vrcptctl "
		    "flush %s)\n", printable(b1, it->rcpt),
		    printable(b2, t->map->name), printable(b3, t->key),
		    fact_result_name(r.result),
		    (unsigned long long)(age / CLOCK_MS_PER_S),
		    fact_result_name(t->result), printable(b3, it->rcpt));
		au->bad_redis++;
	}
	ctl_rview_free(&rv);
}

/* audit_compare - one address: vrcptd (or the database) against Postfix */
static void
audit_compare(struct audit *au, struct audit_item *it)
{
	char	 b1[STR_SANITIZE_MAX + 4], b2[STR_SANITIZE_MAX + 4];
	char	 b3[STR_SANITIZE_MAX + 4], b4[STR_SANITIZE_MAX + 4];
	const char *vd, *va, *vc, *src;
	bool	 same, dbsame;

	if (it->nv.kind == VERDICT_FAILURE) {
		const struct fact_entry *f = it->nv.decided_by;

		printf("unchecked %s: Postfix's lookups failed: %s\n",
		    printable(b1, it->rcpt), printable(b2, f != NULL &&
		    f->why != NULL ? f->why : "lookup failure"));
		au->unchecked++;
		return;
	}
	if (it->asked) {
		vd = it->ans.decision;
		va = it->ans.action;
		vc = it->ans.dclass;
		src = "vrcptd";
	} else {
		vd = verdict_kind_name(it->v.kind);
		va = it->v.action;
		vc = domain_class_name(it->v.dclass);
		src = "the database";
	}
	same = strcmp(vd, verdict_kind_name(it->nv.kind)) == 0 &&
	    strcmp(va, it->nv.action) == 0;
	if (same)
		return;
	dbsame = it->v.kind == it->nv.kind &&
	    strcmp(it->v.action, it->nv.action) == 0;
	/* Postfix 3.7 talks LATIN1 to PostgreSQL: no UTF-8 row is found */
	if (au->postfix_old && audit_non_ascii(it->rcpt) &&
	    it->nv.kind == VERDICT_UNKNOWN && it->v.kind == VERDICT_VALID) {
		printf("known %s: %s says %s, Postfix %s says %s (before "
		    "3.8 it never finds a UTF-8 row: tests/e2e/differences.txt)"
		    "\n", printable(b1, it->rcpt), src, vd,
		    printable(b2, au->mail_version),
		    verdict_kind_name(it->nv.kind));
		au->known++;
		return;
	}
	printf("answer %s: %s says %s (%s) \"%s\"%s%s%s; Postfix says %s "
	    "(%s) \"%s\"", printable(b1, it->rcpt), src, printable(b2, vd),
	    printable(b3, vc), printable(b4, va),
	    it->asked ? " [from " : "", it->asked ? it->ans.tier : "",
	    it->asked ? "]" : "", verdict_kind_name(it->nv.kind),
	    domain_class_name(it->nv.dclass), it->nv.action);
	if (it->asked)
		printf("; the database says %s now through vrcptd.cf's maps%s",
		    verdict_kind_name(it->v.kind), dbsame ? " (as Postfix: "
		    "vrcptd's caches or its configuration are behind)" : "");
	printf("\n");
	au->bad_answer++;
}

static void
audit_free(struct audit *au)
{
	size_t	 i;

	for (i = 0; i < au->n; i++) {
		struct audit_item *it = &au->v[i];

		if (it->ok) {
			factset_free(&it->facts);
			factset_free(&it->nfacts);
			addr_free(&it->a);
			addr_free(&it->na);
		}
		free(it->rcpt);
	}
	free(au->v);
	for (i = 0; i < au->ndomains; i++)
		free(au->domains[i]);
	free(au->domains);
	for (i = 0; i < CONF_NPARAMS; i++)
		free(au->pfval[i]);
	free(au->mail_version);
	conf_unref(&au->native);
}

int
ctl_audit(const struct conf *cfg, const struct ctl_audit_opts *o)
{
	struct audit au;
	struct ctl_dbs *dbs = NULL;
	struct rcachesync *rs = NULL;
	struct pclient *pc = NULL;
	char	 b1[STR_SANITIZE_MAX + 4];
	const char *err;
	size_t	 i, bad, nsamples;
	int	 rc = CTL_EXIT_ERROR;

	memset(&au, 0, sizeof(au));
	au.cfg = cfg;
	au.o = o;
	if (audit_postconf(&au) < 0 || audit_native(&au) < 0)
		goto out;
	audit_params(&au);
	if (o->addresses != NULL ? audit_file(&au, o->addresses) < 0 :
	    audit_tables(&au) < 0)
		goto out;
	audit_samples(&au);
	if (!o->no_daemon && (pc = ctl_daemon_connect(cfg)) == NULL) {
		fprintf(stderr, "vrcptctl: audit: vrcptd cannot be asked "
		    "(--no-daemon compares the database instead)\n");
		goto out;
	}
	if (ctl_redis_on(cfg))
		rs = ctl_redis(cfg);
	dbs = ctl_dbs_new(cfg);
	for (i = 0; i < au.n; i++) {
		struct audit_item *it = &au.v[i];

		if (addr_parse(it->rcpt, &cfg->engine.addr, &it->a, &err) < 0) {
			printf("unchecked %s: %s\n", printable(b1, it->rcpt),
			    err);
			au.unchecked++;
			continue;
		}
		if (addr_parse(it->rcpt, &au.native->engine.addr, &it->na,
		    &err) < 0) {
			addr_free(&it->a);
			printf("unchecked %s: %s\n", printable(b1, it->rcpt),
			    err);
			au.unchecked++;
			continue;
		}
		it->ok = true;
		factset_init(&it->facts);
		factset_init(&it->nfacts);
		(void)ctl_direct_walk(cfg, dbs, &it->a, &it->facts, &it->v,
		    &it->trace);
		if (rs != NULL)
			audit_redis(&au, rs, it);
		if (pc != NULL) {
			if (ctl_daemon_answer(pc, it->rcpt, &it->ans) < 0) {
				fprintf(stderr, "vrcptctl: audit: vrcptd did "
				    "not answer (--no-daemon compares the "
				    "database instead)\n");
				goto out;
			}
			it->asked = true;
		}
	}
	audit_postfix(&au);
	audit_table_files(&au);
	for (i = 0; i < au.n; i++)
		if (au.v[i].ok)
			audit_compare(&au, &au.v[i]);
	bad = au.bad_param + au.bad_answer + au.bad_redis + au.bad_table;
	for (i = 0, nsamples = 0; i < au.n; i++)
		nsamples += au.v[i].sample;
	printf("audit: %zu addresses (%zu unknown samples), %zu parameters, "
	    "%zu Redis records, %zu table lookups: %zu disagreements "
	    "(parameters %zu, answers %zu, Redis %zu, tables %zu), %zu known "
	    "differences, %zu not checked\n", au.n, nsamples, au.nparams,
	    au.nredis, au.ntable, bad, au.bad_param, au.bad_answer,
	    au.bad_redis, au.bad_table, au.known, au.unchecked);
	rc = bad > 0 ? CTL_EXIT_REJECT : au.unchecked > 0 ? CTL_EXIT_ERROR :
	    CTL_EXIT_OK;
out:
	pclient_free(&pc);
	ctl_dbs_free(&dbs);
	rcachesync_free(&rs);
	audit_free(&au);
	return rc;
}
