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
 * AUDIT_CMD_TIMEOUT_MS.
 *
 * Known differences (tests/e2e/differences.txt) are printed as "known"
 * lines and do not count: Postfix before 3.8 talks LATIN1 to PostgreSQL
 * and never finds a UTF-8 row.
 *
 * Exit: 0 everything agrees; 1 a disagreement; 2 an error, or nothing
 * disagreed but something could not be checked.
 *
 * Depends on: conf/, core/, ctl/{daemon,direct,common}, store/{dbsync,
 * rcachesync}, util/; runs postconf and postmap (fork, exec, with a
 * timeout).
 * Security: everything printed that came from a table, Redis, postmap or
 * the daemon is sanitised (printable); keys go to postmap on its
 * standard input, never on a command line, and a key with a line break
 * is not sent at all.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

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
#define AUDIT_CMD_TIMEOUT_MS	60000	/* one postconf or postmap */
#define AUDIT_OUTPUT_MAX	(64 * 1024 * 1024)	/* of one command */
#define AUDIT_LINE_MAX		2048	/* a line of --addresses */
#define AUDIT_ROUNDS_MAX	8	/* engine steps; it needs 2 or 3 */
#define AUDIT_POSTCONF		"postconf"
#define AUDIT_POSTMAP		"postmap"
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

/* --- running postconf and postmap ------------------------------------ */

/*
 * audit_run - argv with in[0..inlen) on its standard input; its standard
 * output in *out_r (NUL-terminated, caller frees) and the first line of
 * its standard error in *err_r (caller frees, may be ""). Returns the
 * exit status, or -1 (could not run, timed out, too much output; *err_r
 * says which).
 */
static int
audit_run(char *const argv[], const char *in, size_t inlen, char **out_r,
    char **err_r)
{
	int	 pin[2], pout[2], perr[2], status, rc = -1;
	struct buf out, err;
	struct pollfd pfd[3];
	uint64_t deadline = clock_mono_us() +
	    (uint64_t)AUDIT_CMD_TIMEOUT_MS * CLOCK_US_PER_MS;
	size_t	 off = 0;
	bool	 timed_out = false;
	pid_t	 pid;

	*out_r = NULL;
	*err_r = NULL;
	if (pipe2(pin, O_CLOEXEC) < 0)
		goto fail;
	if (pipe2(pout, O_CLOEXEC) < 0) {
		close(pin[0]);
		close(pin[1]);
		goto fail;
	}
	if (pipe2(perr, O_CLOEXEC) < 0) {
		close(pin[0]);
		close(pin[1]);
		close(pout[0]);
		close(pout[1]);
		goto fail;
	}
	if ((pid = fork()) < 0) {
		close(pin[0]);
		close(pin[1]);
		close(pout[0]);
		close(pout[1]);
		close(perr[0]);
		close(perr[1]);
		goto fail;
	}
	if (pid == 0) {
		if (dup2(pin[0], 0) < 0 || dup2(pout[1], 1) < 0 ||
		    dup2(perr[1], 2) < 0)
			_exit(127);
		execvp(argv[0], argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	(void)fcntl(pin[1], F_SETFL, O_NONBLOCK);
	if (inlen == 0) {
		close(pin[1]);
		pin[1] = -1;
	}
	buf_init(&out, 0);
	buf_init(&err, 0);
	for (;;) {
		char	 chunk[16384];
		uint64_t now = clock_mono_us();
		ssize_t	 r;
		int	 i, np = 0;

		if (now >= deadline) {
			timed_out = true;
			break;
		}
		pfd[np].fd = pout[0];
		pfd[np++].events = POLLIN;
		pfd[np].fd = perr[0];
		pfd[np++].events = POLLIN;
		if (pin[1] >= 0) {
			pfd[np].fd = pin[1];
			pfd[np++].events = POLLOUT;
		}
		if (pout[0] < 0 && perr[0] < 0)
			break;
		for (i = 0; i < np; i++)
			if (pfd[i].fd < 0)
				pfd[i].events = 0;
		if (poll(pfd, (nfds_t)np, (int)((deadline - now) /
		    CLOCK_US_PER_MS) + 1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < np; i++) {
			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			if (pfd[i].fd == pin[1]) {
				r = write(pin[1], in + off, inlen - off);
				if (r > 0)
					off += (size_t)r;
				if ((r < 0 && errno != EAGAIN) ||
				    off == inlen) {
					close(pin[1]);
					pin[1] = -1;
				}
				continue;
			}
			r = read(pfd[i].fd, chunk, sizeof(chunk));
			if (r > 0) {
				buf_append(pfd[i].fd == pout[0] ? &out : &err,
				    chunk, (size_t)r);
				continue;
			}
			if (r < 0 && errno == EINTR)
				continue;
			if (pfd[i].fd == pout[0]) {
				close(pout[0]);
				pout[0] = -1;
			} else {
				close(perr[0]);
				perr[0] = -1;
			}
		}
		if (out.len > AUDIT_OUTPUT_MAX || err.len > AUDIT_OUTPUT_MAX) {
			timed_out = true;
			break;
		}
	}
	if (pin[1] >= 0)
		close(pin[1]);
	if (pout[0] >= 0)
		close(pout[0]);
	if (perr[0] >= 0)
		close(perr[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	buf_append(&err, "", 1);
	err.data[strcspn(err.data, "\n")] = '\0';
	if (timed_out) {
		*err_r = xasprintf("%s: no answer within %ums (or too much "
		    "output)", argv[0], AUDIT_CMD_TIMEOUT_MS);
		buf_free(&out);
	} else {
		rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
		*err_r = xstrdup(err.data);
		buf_append(&out, "", 1);
		*out_r = xstrdup(out.data);
		buf_free(&out);
	}
	buf_free(&err);
	return rc;
fail:
	*err_r = xasprintf("cannot run %s: %s", argv[0], strerror(errno));
	return -1;
}

/* audit_argv - "postconf"/"postmap" with -c DIR when given */
static size_t
audit_argv(const struct audit *au, const char *prog, char **argv)
{
	size_t	 n = 0;

	argv[n++] = (char *)prog;
	if (au->o->postfix_dir != NULL) {
		argv[n++] = (char *)"-c";
		argv[n++] = (char *)au->o->postfix_dir;
	}
	return n;
}

/* --- main.cf ------------------------------------------------------------ */

/* audit_postconf - main.cf's values of the CONF_PF parameters */
static int
audit_postconf(struct audit *au)
{
	char	*argv[CONF_NPARAMS + 8], *out, *err, *p, *nl;
	char	 b[STR_SANITIZE_MAX + 4];
	size_t	 n, i, ids[CONF_NPARAMS], nids = 0, k;
	unsigned major = 0, minor = 0;
	int	 rc;

	n = audit_argv(au, AUDIT_POSTCONF, argv);
	argv[n++] = (char *)"-x";
	argv[n++] = (char *)"-h";
	argv[n++] = (char *)"mail_version";
	for (i = 0; i < CONF_NPARAMS; i++)
		if (conf_params[i].flags & CONF_PF) {
			argv[n++] = (char *)conf_params[i].name;
			ids[nids++] = i;
		}
	argv[n] = NULL;
	rc = audit_run(argv, NULL, 0, &out, &err);
	if (rc != 0) {
		fprintf(stderr, "vrcptctl: audit: postconf: %s\n",
		    printable(b, err[0] ? err : "failed"));
		free(out);
		free(err);
		return -1;
	}
	free(err);
	p = out;
	for (k = 0; k <= nids; k++) {
		if ((nl = strchr(p, '\n')) == NULL) {
			fprintf(stderr, "vrcptctl: audit: postconf: %zu values "
			    "for %zu parameters\n", k, nids + 1);
			free(out);
			return -1;
		}
		*nl = '\0';
		if (k == 0) {
			if (sscanf(p, "%u.%u", &major, &minor) != 2)
				major = minor = 0;
			au->postfix_old = major < 3 || (major == 3 &&
			    minor < 8);
			au->mail_version = xstrdup(p);
		} else
			au->pfval[ids[k - 1]] = xstrdup(p);
		p = nl + 1;
	}
	free(out);
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

/* --- postmap -q ------------------------------------------------------ */

/* one key of one postmap batch */
struct audit_key {
	const char *key;		/* borrowed */
	enum fact_result result;
	char	*value;
	char	*why;
};

/* audit_mapname - a map's name for postmap: "proxy:" left out */
static const char *
audit_mapname(const struct map *m)
{
	return strncmp(m->name, "proxy:", 6) == 0 ? m->name + 6 : m->name;
}

/*
 * audit_postmap - "postmap -q - MAP" with keys on its standard input:
 * each key's result (a key with a line break cannot be asked: it is
 * UNAVAILABLE)
 */
static void
audit_postmap(const struct audit *au, const struct map *m,
    struct audit_key *k, size_t n)
{
	char	*argv[8], *out = NULL, *err = NULL, *line, *nl;
	struct buf in;
	size_t	 i, j = 0, klen, an;
	int	 rc;

	buf_init(&in, 0);
	for (i = 0; i < n; i++) {
		k[i].result = FACT_NOT_FOUND;
		if (strpbrk(k[i].key, "\r\n") != NULL) {
			k[i].result = FACT_UNAVAILABLE;
			k[i].why = xstrdup("a key with a line break");
			continue;
		}
		buf_append(&in, k[i].key, strlen(k[i].key));
		buf_append(&in, "\n", 1);
	}
	an = audit_argv(au, AUDIT_POSTMAP, argv);
	argv[an++] = (char *)"-q";
	argv[an++] = (char *)"-";
	argv[an++] = (char *)audit_mapname(m);
	argv[an] = NULL;
	rc = in.len > 0 ? audit_run(argv, in.data, in.len, &out, &err) : 0;
	buf_free(&in);
	/* output: "key<TAB>value" for the keys found, in their order */
	for (line = out; rc >= 0 && line != NULL && *line != '\0';
	    line = nl) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl++ = '\0';
		for (; j < n; j++) {
			klen = strlen(k[j].key);
			if (k[j].result != FACT_UNAVAILABLE &&
			    strncmp(line, k[j].key, klen) == 0 &&
			    line[klen] == '\t') {
				/* an empty result: dict_pgsql's "not found" */
				if (line[klen + 1] != '\0') {
					k[j].result = FACT_FOUND;
					k[j].value = xstrdup(line + klen + 1);
				}
				j++;
				break;
			}
		}
	}
	/* a lookup error ends postmap (msg_fatal): the keys after the last
	 * answer are unknown */
	if (rc < 0 || (err != NULL && strstr(err, "fatal:") != NULL))
		for (i = j; i < n; i++)
			if (k[i].result == FACT_NOT_FOUND) {
				k[i].result = FACT_UNAVAILABLE;
				k[i].why = xstrdup(err != NULL && *err ? err :
				    "postmap failed");
			}
	free(out);
	free(err);
}

/* one map's keys of a round */
struct audit_batch {
	const struct map *map;
	struct audit_key *k;
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

static const struct audit_key *
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
			audit_postmap(au, bs[i].map, bs[i].k, bs[i].n);
		for (i = 0; i < au->n; i++) {
			struct audit_item *it = &au->v[i];

			if (!it->ok || it->ndone)
				continue;
			for (j = 0; j < it->need.n; j++) {
				const struct audit_key *k = audit_batch_get(bs,
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
		audit_postmap(au, bs[i].map, bs[i].k, bs[i].n);
	for (i = 0; i < au->n; i++) {
		const struct trace *t = &au->v[i].ntrace;

		if (!au->v[i].ok)
			continue;
		for (j = 0; j < t->n; j++) {
			const struct trace_entry *e = &t->v[j];
			const struct audit_key *k;
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
