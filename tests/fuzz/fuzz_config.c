/*
 * fuzz_config - libFuzzer target for the configuration loader (src/conf):
 * main.cf syntax, $name expansion, -o overrides, the typed parameter
 * table (conf/params.h), endpoints, lists and table specifications.
 *
 *   make fuzz FUZZ_TARGETS=config	(build/fuzz/fuzz_config)
 *
 * Input: the configuration text up to the first NUL byte, then up to
 * FC_OV_MAX NUL-separated "-o" overrides. The text is loaded with
 * conf_load_text() as <tmpdir>/vrcptd.cf, as vrcptd loads it (CONF_D |
 * CONF_TABLES, a table-file opener registered first), where <tmpdir>
 * (made once per process) holds the pgsql files a.cf and b.cf (one
 * server) and c.cf (another), so that "pgsql:a.cf" and friends reach
 * the map code; then as vrcpt-milter loads it (CONF_M). The table-file
 * opener is a stand-in for store/mapload (which needs Berkeley DB, LMDB,
 * PCRE2): any name gives a small table, one holding "bad" is refused
 * and one holding "warn" warns, so that conf/tables' handling of both
 * is reached; the file parsers themselves are fuzz_maps.
 *
 * Invariants (a violation aborts):
 *   - it loads (0, a config) exactly when no message is an error, and
 *     fails (-1, no config) with at least one error;
 *   - every message is one line that names a file (vrcptd.cf or a .cf)
 *     or "-o";
 *   - loading the same input twice gives the same messages;
 *   - every parameter of a loaded configuration is within what the
 *     parameter table says (numbers within min..max, endpoints of the
 *     accepted forms, non-empty text where required, absolute paths),
 *     each numeric value read back through "-o name=VALUE" with
 *     conf_format()'s text is the same value, and the maps are
 *     numbered by their index and are what the lists point to.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/filemaps.h"
#include "core/map.h"
#include "core/mapidx.h"
#include "core/mappat.h"
#include "fuzz.h"
#include "util/xalloc.h"

#define FC_DIR_TEMPLATE	"/tmp/vrcpt-fuzz-config.XXXXXX"
#define FC_OV_MAX	(CONF_OVERRIDES_MAX + 1)	/* one too many */
#define FC_DAEMON	(CONF_D | CONF_TABLES)		/* as daemon/main.c */
#define FC_MILTER	CONF_M				/* as milter.c */
#define FC_RECORD	"fuzz@example.com"	/* in every stand-in table */

static const struct {
	const char *name;
	const char *text;
} fc_files[] = {
	{ "a.cf", "hosts = unix:/run/postgresql\ndbname = mail\n"
	    "user = vrcpt\nquery = SELECT 1 FROM mailbox WHERE "
	    "username = '%s' AND active\n" },
	{ "b.cf", "hosts = unix:/run/postgresql\ndbname = mail\n"
	    "user = vrcpt\nquery = SELECT goto FROM alias WHERE "
	    "address = '%u@%d'\nresult_format = %s\n"
	    "domain = example.com, example.org\n" },
	{ "c.cf", "hosts = inet:db.example:5432\ndbname = other\n"
	    "query = SELECT '%1' WHERE %s IS NOT NULL\n"
	    "expansion_limit = 2\n" },
};

static conf_map_open_fn fc_open;

static char fc_dir[sizeof(FC_DIR_TEMPLATE)];
static char *fc_path;

/* fc_cleanup - remove the temporary directory (atexit) */
static void
fc_cleanup(void)
{
	size_t	 i;
	char	*f;

	for (i = 0; i < sizeof(fc_files) / sizeof(fc_files[0]); i++) {
		f = xasprintf("%s/%s", fc_dir, fc_files[i].name);
		(void)unlink(f);
		free(f);
	}
	(void)rmdir(fc_dir);
	free(fc_path);
}

/* fc_init - the directory with the .cf files, once */
static void
fc_init(void)
{
	FILE	*fp;
	char	*f;
	size_t	 i;

	if (fc_path != NULL)
		return;
	/* "pgsql:/dev/stdin" must not wait for a terminal */
	FUZZ_ASSERT(freopen("/dev/null", "r", stdin) != NULL);
	memcpy(fc_dir, FC_DIR_TEMPLATE, sizeof(fc_dir));
	FUZZ_ASSERT(mkdtemp(fc_dir) != NULL);
	for (i = 0; i < sizeof(fc_files) / sizeof(fc_files[0]); i++) {
		f = xasprintf("%s/%s", fc_dir, fc_files[i].name);
		FUZZ_ASSERT((fp = fopen(f, "w")) != NULL);
		fputs(fc_files[i].text, fp);
		FUZZ_ASSERT(fclose(fp) == 0);
		free(f);
	}
	fc_path = xasprintf("%s/vrcptd.cf", fc_dir);
	conf_map_opener(fc_open);
	atexit(fc_cleanup);
}

/* the stand-in regular expression engine: a pattern matches a key that
 * holds it (no groups) */
static void *
fc_re_compile(const char *re, unsigned opts, size_t *nsub_r, char **err_r)
{
	*nsub_r = 0;
	return xstrdup(re);
}

static int
fc_re_exec(const void *re, const char *s, size_t len, size_t *ovec,
    size_t npairs)
{
	return strstr(s, re) != NULL;
}

static void
fc_re_free(void *re)
{
	free(re);
}

static const struct mappat_engine fc_engine = {
	fc_re_compile, fc_re_exec, fc_re_free
};

/* fc_open - conf_map_open_fn: the stand-in for store/mapload_open() */
static int
fc_open(const char *type, const char *name, bool utf8,
    struct map_file **mf_r, char **warn_r, char **err_r)
{
	static const char rules[] = "/" FC_RECORD "/ OK\n";
	struct map_file *mf;
	char	*perr = NULL;

	*mf_r = NULL;
	*err_r = NULL;
	FUZZ_ASSERT(conf_map_file_type(type, strlen(type)));
	if (strstr(name, "bad") != NULL) {
		*err_r = xasprintf("open %s: refused by the fuzz target",
		    name);
		return -1;
	}
	if (strstr(name, "warn") != NULL)
		*warn_r = xasprintf("%s, line 1: a warning", name);
	mf = xcalloc(1, sizeof(*mf));
	mf->type = xstrdup(type);
	mf->path = xstrdup(name);
	if (strcmp(type, "regexp") == 0 || strcmp(type, "pcre") == 0) {
		FUZZ_ASSERT(mappat_parse(type[0] == 'p' ? MAPPAT_PCRE :
		    MAPPAT_REGEXP, &fc_engine, name, rules, sizeof(rules) - 1,
		    &mf->pat, warn_r, &perr) == 0);
	} else {
		mf->idx = mapidx_new();
		FUZZ_ASSERT(mapidx_put(mf->idx, FC_RECORD, sizeof(FC_RECORD),
		    "OK", 2, NULL) == 0);
		mf->content = mapidx_content(mf->idx);
	}
	*mf_r = mf;
	return 0;
}

/* fc_load - the loader under test, as the programs call it */
static int
fc_load(const char *text, size_t len, unsigned what, const char *const *ov,
    size_t nov, struct conf **cfg_r, struct conf_msgs *msgs)
{
	return conf_load_text(fc_path, text, len, what, ov, nov, cfg_r, msgs);
}

/* fc_endpoint - an endpoint of the kinds the type accepts */
static void
fc_endpoint(const struct endpoint *ep, enum conf_type type, bool empty_ok)
{
	const char *hint;
	struct endpoint back;

	if (ep->kind == ENDPOINT_NONE) {
		FUZZ_ASSERT(empty_ok && ep->text[0] == '\0');
		return;
	}
	if (ep->kind == ENDPOINT_UNIX) {
		FUZZ_ASSERT(ep->path[0] == '/' &&
		    strlen(ep->path) <= ENDPOINT_PATH_MAX);
		FUZZ_ASSERT(strncmp(ep->text, "unix:/", 6) == 0);
	} else {
		FUZZ_ASSERT(type != CONF_T_UENDPOINT);
		FUZZ_ASSERT(ep->port >= 1 && ep->port <= 65535);
		FUZZ_ASSERT(strncmp(ep->text, "inet:", 5) == 0);
		FUZZ_ASSERT(ep->host[0] != '\0' || type != CONF_T_ENDPOINT);
	}
	/* the canonical text is the same endpoint again */
	FUZZ_ASSERT(endpoint_parse(ep->text, ENDPOINT_ANY_HOST, &back,
	    &hint) == 0);
	FUZZ_ASSERT(strcmp(back.text, ep->text) == 0 &&
	    back.kind == ep->kind && back.port == ep->port &&
	    strcmp(back.host, ep->host) == 0);
}

static void
fc_list(const struct conf *cfg, const struct maplist *ml)
{
	size_t	 i, j;

	for (i = 0; i < ml->n; i++) {
		for (j = 0; j < cfg->nmaps; j++)
			if (cfg->maps[j] == ml->v[i])
				break;
		FUZZ_ASSERT(j < cfg->nmaps);
	}
}

/* fc_param - one parameter is within what its table row says */
static void
fc_param(const struct conf *cfg, const struct conf_param *p)
{
	const void *field = (const char *)cfg + p->offset;
	unsigned long long v = 0;
	bool	 number = false;
	const char *str;
	const struct endpoint_list *el;
	const struct conf_cache *cc;
	size_t	 i;

	switch (p->type) {
	case CONF_T_UINT:
	case CONF_T_CODE:
	case CONF_T_MODE:
		v = *(const unsigned *)field;
		number = true;
		break;
	case CONF_T_TIME:
	case CONF_T_SIZE:
		v = *(const uint64_t *)field;
		number = true;
		break;
	case CONF_T_BOOL:
	case CONF_T_LFA:
	case CONF_T_TARGET:
		break;
	case CONF_T_STR:
	case CONF_T_MAPS:
	case CONF_T_DOMAINS:
		FUZZ_ASSERT(*(char *const *)field != NULL);
		break;
	case CONF_T_NONEMPTY:
	case CONF_T_FACILITY:
	case CONF_T_ODA:
		str = *(char *const *)field;
		FUZZ_ASSERT(str != NULL && str[0] != '\0');
		break;
	case CONF_T_PATH:
		str = *(char *const *)field;
		FUZZ_ASSERT(str != NULL && (str[0] == '\0' || str[0] == '/'));
		break;
	case CONF_T_ENDPOINT:
	case CONF_T_MENDPOINT:
	case CONF_T_UENDPOINT:
		fc_endpoint(field, p->type, true);
		break;
	case CONF_T_ENDPOINTS:
		el = field;
		FUZZ_ASSERT(el->n >= p->min && el->n <= CONF_LISTEN_MAX);
		for (i = 0; i < el->n; i++)
			fc_endpoint(&el->v[i], p->type, false);
		break;
	case CONF_T_CACHE:
		cc = field;
		if (cc->kind == CONF_CACHE_REDIS)
			fc_endpoint(&cc->redis, CONF_T_ENDPOINT, false);
		else if (cc->kind == CONF_CACHE_SENTINEL) {
			FUZZ_ASSERT(cc->sentinels.n >= 1 &&
			    cc->sentinels.n <= ENDPOINT_SENTINELS_MAX);
			FUZZ_ASSERT(cc->sentinels.master[0] != '\0');
		}
		break;
	}
	if (number && p->max != 0)
		FUZZ_ASSERT(v >= p->min && v <= p->max);
}

/* fc_numeric - a type whose conf_format() text reads back as-is */
static bool
fc_numeric(enum conf_type t)
{
	return t == CONF_T_BOOL || t == CONF_T_UINT || t == CONF_T_TIME ||
	    t == CONF_T_SIZE || t == CONF_T_MODE || t == CONF_T_CODE ||
	    t == CONF_T_LFA || t == CONF_T_TARGET;
}

/*
 * fc_reread - the numeric values of cfg, given as "-o name=VALUE" with
 * conf_format()'s text over an empty file, are the same values
 */
static void
fc_reread(const struct conf *cfg, unsigned what)
{
	const char *ov[CONF_OVERRIDES_MAX];
	char	*f;
	size_t	 nov = 0, i;
	enum conf_param_id ids[CONF_OVERRIDES_MAX];
	struct conf *back = NULL;
	struct conf_msgs msgs = { 0 };

	for (i = 0; i < CONF_NPARAMS && nov < CONF_OVERRIDES_MAX; i++) {
		if (!(conf_params[i].flags & what) ||
		    !fc_numeric(conf_params[i].type))
			continue;
		f = conf_format(cfg, (enum conf_param_id)i);
		ov[nov] = xasprintf("%s=%s", conf_params[i].name, f);
		ids[nov++] = (enum conf_param_id)i;
		free(f);
	}
	FUZZ_ASSERT(fc_load("", 0, what, ov, nov, &back, &msgs) == 0);
	for (i = 0; i < nov; i++) {
		char	*a = conf_format(cfg, ids[i]);
		char	*b = conf_format(back, ids[i]);

		FUZZ_ASSERT(strcmp(a, b) == 0);
		free(a);
		free(b);
		free((char *)ov[i]);
	}
	conf_unref(&back);
	conf_msgs_free(&msgs);
}

/* fc_check - a loaded configuration is within its bounds */
static void
fc_check(const struct conf *cfg, unsigned what)
{
	const struct engine_cfg *e = &cfg->engine;
	size_t	 i;

	FUZZ_ASSERT(cfg->what == what);
	for (i = 0; i < CONF_NPARAMS; i++)
		if (conf_params[i].flags & what)
			fc_param(cfg, &conf_params[i]);
	fc_reread(cfg, what);
	if (!(what & CONF_TABLES))
		return;
	FUZZ_ASSERT(e->unknown_virtual_alias_reject_code >= 400 &&
	    e->unknown_virtual_alias_reject_code <= 599);
	FUZZ_ASSERT(e->unknown_virtual_mailbox_reject_code >= 400 &&
	    e->unknown_virtual_mailbox_reject_code <= 599);
	FUZZ_ASSERT(e->unknown_relay_recipient_reject_code >= 400 &&
	    e->unknown_relay_recipient_reject_code <= 599);
	FUZZ_ASSERT(e->other_domain_action != NULL &&
	    e->other_domain_action[0] != '\0');
	FUZZ_ASSERT(e->addr.double_bounce_sender[0] != '\0');
	for (i = 0; i < cfg->nmaps; i++)
		FUZZ_ASSERT(cfg->maps[i]->id == i);
	fc_list(cfg, &e->virtual_alias_domains);
	fc_list(cfg, &e->virtual_mailbox_domains);
	fc_list(cfg, &e->relay_domains);
	fc_list(cfg, &e->virtual_alias_maps);
	fc_list(cfg, &e->virtual_mailbox_maps);
	fc_list(cfg, &e->relay_recipient_maps);
	for (i = 0; i < cfg->ndbconfs; i++)
		FUZZ_ASSERT(cfg->dbconfs[i].nmaps >= 1);
}

/* fc_msgs - one line each, naming a file or "-o"; the error count */
static size_t
fc_msgs(const struct conf_msgs *msgs)
{
	size_t	 i, errors = 0;
	const char *loc, *m;

	for (i = 0; i < msgs->n; i++) {
		m = msgs->v[i];
		/* ours start with fc_dir; an absolute pgsql: path names
		 * another file; "-o name: ..." or "-o: ..." */
		if (strchr(m, '\n') != NULL || !((m[0] == '/' &&
		    strchr(m, ':') != NULL) || strncmp(m, "-o", 2) == 0)) {
			fprintf(stderr, "message: %s\n", m);
			FUZZ_ASSERT(!"a message is one line naming where");
		}
		/* "file[:line]: warning: ...", not a quoted ": warning: " */
		loc = strstr(m, ": ");
		if (loc == NULL || strncmp(loc + 2, "warning: ", 9) != 0)
			errors++;
	}
	return errors;
}

/* fc_once - load as a program does; the return code */
static int
fc_once(const char *text, size_t len, unsigned what, const char *const *ov,
    size_t nov, const uint8_t *data, size_t size)
{
	struct conf_msgs msgs = { 0 }, again = { 0 };
	struct conf *cfg = NULL, *cfg2 = NULL, *ref;
	size_t	 errors, i;
	int	 rc;

	rc = fc_load(text, len, what, ov, nov, &cfg, &msgs);
	errors = fc_msgs(&msgs);
	if (rc == 0) {
		for (i = 0; errors != 0 && i < msgs.n; i++)
			fprintf(stderr, "message: %s\n", msgs.v[i]);
		FUZZ_ASSERT(cfg != NULL && errors == 0);
		fc_check(cfg, what);
		ref = conf_ref(cfg);
		conf_unref(&ref);
		FUZZ_ASSERT(ref == NULL && cfg->refs == 1);
	} else {
		FUZZ_ASSERT(rc == -1 && cfg == NULL && errors > 0);
	}
	/* the same again (a .cf under /proc or /dev may change between
	 * two reads: only files of our own directory count) */
	if (memmem(data, size, "pgsql:/", 7) == NULL) {
		FUZZ_ASSERT(fc_load(text, len, what, ov, nov, &cfg2,
		    &again) == rc);
		FUZZ_ASSERT(again.n == msgs.n);
		for (i = 0; i < msgs.n; i++)
			FUZZ_ASSERT(strcmp(msgs.v[i], again.v[i]) == 0);
	}
	conf_unref(&cfg);
	conf_unref(&cfg2);
	conf_msgs_free(&msgs);
	conf_msgs_free(&again);
	return rc;
}

int
FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	char	*text, *ov[FC_OV_MAX];
	size_t	 nov = 0, len, i;

	fc_init();
	text = fuzz_str(&in);
	len = strlen(text);
	while (in.n > 0 && nov < FC_OV_MAX)
		ov[nov++] = fuzz_str(&in);
	(void)fc_once(text, len, FC_DAEMON, (const char *const *)ov, nov,
	    data, size);
	(void)fc_once(text, len, FC_MILTER, (const char *const *)ov, nov,
	    data, size);
	for (i = 0; i < nov; i++)
		free(ov[i]);
	free(text);
	return 0;
}
