/*
 * fuzz_config - libFuzzer target for the vrcptd.cf loader: main.cf
 * syntax, $name expansion, lists and table specifications, parameter
 * checks.
 *
 *   make fuzz FUZZ_TARGETS=config	(build/fuzz/fuzz_config)
 *
 * Input: the whole configuration text. It is loaded as
 * <tmpdir>/vrcptd.cf, where <tmpdir> (made once per process) holds the
 * pgsql files a.cf and b.cf (one server) and c.cf (another), so that
 * "pgsql:a.cf" and friends reach the map code.
 *
 * The loader is called in one place, fc_load(): when it moves (the
 * rewrite into src/conf/), that function and fc_check() are all there is
 * to re-point.
 *
 * Invariants (a violation aborts):
 *   - it loads (0, a config) exactly when no message is an error, and
 *     fails (-1, no config) with at least one error;
 *   - every message is one line that names a file (vrcptd.cf or a .cf);
 *   - loading the same text twice gives the same messages;
 *   - a loaded configuration is within its documented bounds (endpoint
 *     forms and counts, modes, limits, codes, timeouts), and its maps
 *     are numbered by their index and are what the lists point to.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/config.h"
#include "fuzz.h"
#include "util/xalloc.h"

#define FC_DIR_TEMPLATE	"/tmp/vrcpt-fuzz-config.XXXXXX"

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
	atexit(fc_cleanup);
}

/* fc_load - the loader under test (the one call to re-point) */
static int
fc_load(const uint8_t *data, size_t size, struct config **cfg_r,
    struct config_msgs *msgs)
{
	return config_load_text(fc_path, (const char *)data, size, cfg_r,
	    msgs);
}

/* fc_endpoint - "unix:/path" or "inet:..." */
static bool
fc_endpoint(const char *ep)
{
	return strncmp(ep, "unix:/", 6) == 0 || strncmp(ep, "inet:", 5) == 0;
}

static void
fc_list(const struct config *cfg, const struct maplist *ml)
{
	size_t	 i, j;

	for (i = 0; i < ml->n; i++) {
		for (j = 0; j < cfg->nmaps; j++)
			if (cfg->maps[j] == ml->v[i])
				break;
		FUZZ_ASSERT(j < cfg->nmaps);
	}
}

/* fc_check - a loaded configuration is within its bounds */
static void
fc_check(const struct config *cfg)
{
	const struct engine_cfg *e = &cfg->engine;
	size_t	 i;

	FUZZ_ASSERT(cfg->nlisten >= 1 && cfg->nlisten <= CONFIG_LISTEN_MAX);
	for (i = 0; i < cfg->nlisten; i++)
		FUZZ_ASSERT(fc_endpoint(cfg->listen[i]));
	FUZZ_ASSERT(cfg->listen_mode <= 07777);
	FUZZ_ASSERT(cfg->connection_limit >= 1);
	FUZZ_ASSERT(cfg->db_pool_size >= 1);
	FUZZ_ASSERT(cfg->request_timeout_ms > 0 && cfg->idle_timeout_ms > 0 &&
	    cfg->io_timeout_ms > 0 && cfg->redis_timeout_ms > 0);
	FUZZ_ASSERT(cfg->log_level <= UINT8_MAX);
	FUZZ_ASSERT(cfg->redis_db <= UINT16_MAX);
	FUZZ_ASSERT(cfg->metrics_listen[0] == '\0' ||
	    fc_endpoint(cfg->metrics_listen));
	FUZZ_ASSERT(cfg->milter_policy_service[0] == '\0' ||
	    fc_endpoint(cfg->milter_policy_service));
	FUZZ_ASSERT(cfg->syslog_name[0] != '\0');
	FUZZ_ASSERT(cfg->maillog_file[0] == '\0' ||
	    cfg->maillog_file[0] == '/');
	FUZZ_ASSERT(strcmp(cfg->cache, "none") == 0 ||
	    strncmp(cfg->cache, "redis:", 6) == 0);
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

/* fc_msgs - one line each, naming a file; returns the error count */
static size_t
fc_msgs(const struct config_msgs *msgs)
{
	size_t	 i, errors = 0;
	const char *loc;

	for (i = 0; i < msgs->n; i++) {
		FUZZ_ASSERT(strchr(msgs->v[i], '\n') == NULL);
		/* ours start with fc_dir; an absolute pgsql: path names
		 * another file */
		FUZZ_ASSERT(msgs->v[i][0] == '/' &&
		    strchr(msgs->v[i], ':') != NULL);
		/* "file[:line]: warning: ...", not a quoted ": warning: " */
		loc = strstr(msgs->v[i], ": ");
		if (loc == NULL || strncmp(loc + 2, "warning: ", 9) != 0)
			errors++;
	}
	return errors;
}

int
FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	struct config_msgs msgs = { 0 }, again = { 0 };
	struct config *cfg = NULL, *cfg2 = NULL, *ref;
	size_t	 errors, i;
	int	 rc;

	fc_init();
	rc = fc_load(data, size, &cfg, &msgs);
	errors = fc_msgs(&msgs);
	if (rc == 0) {
		FUZZ_ASSERT(cfg != NULL && errors == 0);
		fc_check(cfg);
		ref = config_ref(cfg);
		config_unref(&ref);
		FUZZ_ASSERT(ref == NULL);
	} else {
		FUZZ_ASSERT(rc == -1 && cfg == NULL && errors > 0);
	}
	/* the same again (a .cf under /proc or /dev may change between
	 * two reads: only files of our own directory count) */
	if (memmem(data, size, "pgsql:/", 7) == NULL) {
		FUZZ_ASSERT(fc_load(data, size, &cfg2, &again) == rc);
		FUZZ_ASSERT(again.n == msgs.n);
		for (i = 0; i < msgs.n; i++)
			FUZZ_ASSERT(strcmp(msgs.v[i], again.v[i]) == 0);
	}
	config_unref(&cfg);
	config_unref(&cfg2);
	config_msgs_free(&msgs);
	config_msgs_free(&again);
	return 0;
}
