/*
 * config - vrcptd.cf: Postfix main.cf syntax and parameter names, turned
 * into an immutable struct config (the engine's tables and the daemon's
 * settings).
 *
 * The text is split into "name = value" assignments by the same reader
 * as pgsql .cf files (sqlmap_cf_read: Postfix readllines/split_nameval).
 * A parameter's value is the last assignment, or its default, with
 * $name, ${name}, $(name), ${name?value}, ${name:value},
 * ${name?{value}:{value}} and $$ expanded as Postfix mac_expand() does
 * (recursively; an undefined name is empty). Lists split like Postfix
 * mystrtokq(): commas and white space, "{ ... }" kept whole. Every
 * problem found is reported (file:line when there is a line); a
 * configuration with errors is not built.
 *
 * Map specifications follow Postfix dict_open(): pgsql:/file.cf (read
 * here; a relative path is taken relative to the directory of
 * vrcptd.cf), proxy:... (proxy: dropped), inline:{...} (dict_inline.c),
 * static:... (dict_static.c), and plain domain names in *_domains. The
 * same table named twice is one struct map.
 *
 * Depends on: libc, util/, core/ (sqlmap, map, engine types). Reads
 * files (the configuration and the .cf files it names); no other I/O.
 *
 * Security: the configuration is trusted (root-owned), but its text is
 * still bounded (CONFIG_FILE_MAX, SQLMAP_TEXT_MAX, expansion depth and
 * work) so that a broken file cannot hang vrcptd -t or a reload. .cf
 * files hold database passwords: they are never echoed into messages.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/config.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define CONFIG_LIST_SEP		", \t\r\n"	/* Postfix CHARS_COMMA_SP */
#define CONFIG_SPACE		" \t\r\n\v\f"
#define CONFIG_EXPAND_STEPS	100000	/* $name expansions per load */
#define CONFIG_SUN_PATH_MAX	107	/* sizeof(sun_path) - 1 */
#define CONFIG_POOL_MAX		64	/* db_pool_size */
#define CONFIG_WORKERS_MAX	64
#define CONFIG_MODE_MAX		07777
#define CONFIG_QUOTE_MAX	60	/* bytes of a value quoted in errors */
#define CONFIG_CACHE_ENTRIES_MAX	100000000	/* cache_max_entries */
#define CONFIG_CONNECTIONS_MAX	1000000		/* connection_limit */
/* Postfix's smtpd_policy_service_max_idle: Postfix closes an idle
 * policy connection first, so idle_timeout should be longer */
#define CONFIG_POLICY_MAX_IDLE_MS	(300ULL * 1000)
/* Postfix's default smtpd_policy_service_timeout */
#define CONFIG_POLICY_TIMEOUT_MS	(100ULL * 1000)

/*
 * The parameters, with Postfix's names and defaults (postconf(5) and
 * mail_params.h) where Postfix has them. deploy/vrcptd.cf documents
 * each one.
 */
static const struct config_param {
	const char *name;
	const char *def;
} config_params[] = {
	{ "listen", "unix:/run/vrcpt/policy.sock" },
	{ "listen_mode", "0666" },
	{ "virtual_alias_maps", "" },
	{ "virtual_alias_domains", "$virtual_alias_maps" },
	{ "virtual_mailbox_maps", "" },
	{ "virtual_mailbox_domains", "$virtual_mailbox_maps" },
	{ "relay_domains", "" },
	{ "relay_recipient_maps", "" },
	{ "recipient_delimiter", "" },
	{ "owner_request_special", "yes" },
	{ "double_bounce_sender", "double-bounce" },
	{ "unknown_virtual_alias_reject_code", "550" },
	{ "unknown_virtual_mailbox_reject_code", "550" },
	{ "unknown_relay_recipient_reject_code", "550" },
	{ "show_user_unknown_table_name", "yes" },
	{ "other_domain_action", "reject_unlisted_recipient" },
	{ "lookup_failure_action", "defer" },
	{ "request_timeout", "1s" },
	{ "connection_limit", "1000" },
	{ "idle_timeout", "600s" },
	{ "io_timeout", "10s" },
	{ "soft_bounce", "no" },
	{ "warn_if_reject", "no" },
	{ "syslog_name", "vrcptd" },
	{ "syslog_facility", "mail" },
	{ "maillog_file", "" },
	{ "log_level", "0" },
	{ "db_pool_size", "4" },
	{ "workers", "0" },
	{ "user", "" },
	{ "metrics_listen", "" },
	{ "milter_listen", "" },
	{ "milter_policy_service", "" },
	{ "milter_log_reject", "no" },
	{ "cache", "none" },
	{ "cache_positive_ttl", "1h" },
	{ "cache_negative_ttl", "60s" },
	{ "cache_stale_ttl", "1d" },
	{ "redis_password", "" },
	{ "redis_db", "0" },
	{ "cache_max_entries", "100000" },
	{ "cache_max_bytes", "67108864" },
	{ "redis_timeout", "5ms" },
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Postfix table types we recognise, to say "unsupported" precisely */
static const char *const config_other_types[] = {
	"btree", "cdb", "cidr", "dbm", "environ", "fail", "hash", "internal",
	"ldap", "lmdb", "memcache", "mongodb", "mysql", "netinfo", "nis",
	"nisplus", "pcre", "pipemap", "randmap", "regexp", "sdbm",
	"socketmap", "sqlite", "tcp", "texthash", "unionmap", "unix",
};

/* a table already built (or refused), so that each is made once */
struct config_cached {
	char	*key;		/* "pgsql:/resolved/path", "inline:{...}"... */
	struct map *map;	/* NULL: refused, already reported */
};

struct config_ld {
	const char *path;	/* vrcptd.cf, for messages */
	char	*dir;		/* its directory, for relative .cf paths */
	struct sqlmap_cf cf;
	struct config *cfg;
	struct config_msgs *msgs;
	size_t	 nerrors;
	struct config_cached *cache;
	size_t	 ncache;
	unsigned nsql;		/* sqlmap ids handed out */
	unsigned long steps;	/* expansion work so far */
	char	**undef;	/* undefined $names already warned about */
	size_t	 nundef;
};

/*
 * Messages.
 */

static void
config_msg_add(struct config_msgs *msgs, char *m)
{
	msgs->v = xreallocarray(msgs->v, msgs->n + 1, sizeof(*msgs->v));
	msgs->v[msgs->n++] = m;
}

/* config_msg_lines - add each line of a multi-line message text */
static void
config_msg_lines(struct config_msgs *msgs, const char *text, size_t *count)
{
	const char *nl;

	while (text != NULL && *text != '\0') {
		nl = strchr(text, '\n');
		config_msg_add(msgs, nl != NULL ?
		    xstrndup(text, (size_t)(nl - text)) : xstrdup(text));
		if (count != NULL)
			(*count)++;
		text = nl != NULL ? nl + 1 : NULL;
	}
}

/* config_where - "file:line" or "file" (a default has no line) */
static char *
config_where(const struct config_ld *ld, unsigned line)
{
	return line > 0 ? xasprintf("%s:%u", ld->path, line) :
	    xstrdup(ld->path);
}

/* config_err - report an error; msg is freed */
static void
config_err(struct config_ld *ld, unsigned line, char *msg)
{
	char	*where = config_where(ld, line);

	config_msg_add(ld->msgs, xasprintf("%s: %s", where, msg));
	ld->nerrors++;
	free(where);
	free(msg);
}

/* config_warn - report a warning; msg is freed */
static void
config_warn(struct config_ld *ld, unsigned line, char *msg)
{
	char	*where = config_where(ld, line);

	config_msg_add(ld->msgs, xasprintf("%s: warning: %s", where, msg));
	free(where);
	free(msg);
}

/* config_quote - a bounded printable copy of a value, for messages */
static char *
config_quote(const char *s)
{
	char	 tmp[CONFIG_QUOTE_MAX + 4];

	str_sanitize(tmp, s, strlen(s), CONFIG_QUOTE_MAX);
	return xstrdup(tmp);
}

void
config_msgs_free(struct config_msgs *msgs)
{
	size_t	 i;

	for (i = 0; i < msgs->n; i++)
		free(msgs->v[i]);
	free(msgs->v);
	msgs->v = NULL;
	msgs->n = 0;
}

/*
 * Parameter values and $name expansion.
 */

static const struct config_param *
config_param_find(const char *name, size_t len)
{
	size_t	 i;

	for (i = 0; i < NELEM(config_params); i++)
		if (strlen(config_params[i].name) == len &&
		    strncmp(config_params[i].name, name, len) == 0)
			return &config_params[i];
	return NULL;
}

/* config_entry - the last assignment of name[0..len), or NULL */
static const struct sqlmap_cf_entry *
config_entry(const struct config_ld *ld, const char *name, size_t len)
{
	size_t	 i;

	for (i = ld->cf.n; i-- > 0;)
		if (strlen(ld->cf.v[i].name) == len &&
		    strncmp(ld->cf.v[i].name, name, len) == 0)
			return &ld->cf.v[i];
	return NULL;
}

/* config_raw - a parameter's unexpanded value: file, default, or NULL */
static const char *
config_raw(const struct config_ld *ld, const char *name, size_t len)
{
	const struct sqlmap_cf_entry *e = config_entry(ld, name, len);
	const struct config_param *p;

	if (e != NULL)
		return e->value;
	if ((p = config_param_find(name, len)) != NULL)
		return p->def;
	return NULL;
}

struct config_exp {
	struct config_ld *ld;
	const char *pname;	/* the parameter being evaluated */
	unsigned line;		/* its line, for messages */
	struct buf out;
	bool	 failed;	/* an error was reported */
};

static void config_mac(struct config_exp *x, const char *s, size_t len,
    unsigned depth);

/* config_exp_fail - report an expansion error once per parameter */
static void
config_exp_fail(struct config_exp *x, char *msg)
{
	if (!x->failed)
		config_err(x->ld, x->line, xasprintf("%s: %s", x->pname, msg));
	x->failed = true;
	free(msg);
}

/* config_curly - "{payload}" at *sp (after white space); NULL if none */
static bool
config_curly(const char **sp, const char *end, const char **pl,
    size_t *pllen)
{
	const char *s = *sp, *cp;
	int	 level;

	while (s < end && strchr(CONFIG_SPACE, *s) != NULL)
		s++;
	if (s >= end || *s != '{')
		return false;
	for (level = 1, cp = s + 1; cp < end; cp++) {
		if (*cp == '{')
			level++;
		else if (*cp == '}' && --level == 0)
			break;
	}
	if (cp >= end)
		return false;
	*pl = s + 1;
	*pllen = (size_t)(cp - s - 1);
	cp++;
	while (cp < end && strchr(CONFIG_SPACE, *cp) != NULL)
		cp++;
	*sp = cp;
	return true;
}

/* config_expr - one "$name" or "${...}" (mac_expand_callback) */
static void
config_expr(struct config_exp *x, const char *e, size_t elen,
    unsigned depth)
{
	const char *end = e + elen, *name, *cp, *val, *pl;
	size_t	 nlen, i, pllen;
	char	 op;
	char	*q;

	if (x->failed)
		return;
	if (depth > CONFIG_EXPAND_DEPTH) {
		q = xstrndup(e, elen);
		config_exp_fail(x, xasprintf("unreasonable macro call nesting: "
		    "\"$%s\" (more than %d levels: a loop?)", q,
		    CONFIG_EXPAND_DEPTH));
		free(q);
		return;
	}
	if (++x->ld->steps > CONFIG_EXPAND_STEPS) {
		config_exp_fail(x, xstrdup("too much $name expansion work"));
		return;
	}
	name = e;
	while (name < end && strchr(CONFIG_SPACE, *name) != NULL)
		name++;
	if (name < end && *name == '{') {
		config_exp_fail(x, xstrdup("relational expressions "
		    "(${{a} == {b}?...}) are not supported"));
		return;
	}
	for (cp = name; cp < end && (isalnum((unsigned char)*cp) ||
	    *cp == '_'); cp++)
		;
	nlen = (size_t)(cp - name);
	while (cp < end && strchr(CONFIG_SPACE, *cp) != NULL)
		cp++;
	op = cp < end ? *cp : '\0';
	if (nlen == 0 || (op != '\0' && op != '?' && op != ':')) {
		q = xstrndup(e, elen);
		config_exp_fail(x, xasprintf("attribute name syntax error in "
		    "\"${%s}\"%s", q, op == '{' ?
		    " (function calls are not supported)" : ""));
		free(q);
		return;
	}
	val = config_raw(x->ld, name, nlen);

	if (op == '\0') {
		if (val == NULL) {
			for (i = 0; i < x->ld->nundef; i++)
				if (strlen(x->ld->undef[i]) == nlen &&
				    strncmp(x->ld->undef[i], name, nlen) == 0)
					return;
			x->ld->undef = xreallocarray(x->ld->undef,
			    x->ld->nundef + 1, sizeof(*x->ld->undef));
			x->ld->undef[x->ld->nundef++] = xstrndup(name, nlen);
			config_warn(x->ld, x->line, xasprintf("%s: undefined "
			    "parameter $%.*s is empty", x->pname, (int)nlen,
			    name));
			return;
		}
		if (*val != '\0')
			config_mac(x, val, strlen(val), depth + 1);
		return;
	}

	/* ${name?value}, ${name?{value}:{value}}, ${name:value} */
	cp++;
	if (op == '?') {
		if (config_curly(&cp, end, &pl, &pllen)) {
			if (val != NULL && *val != '\0')
				config_mac(x, pl, pllen, depth + 1);
			if (cp >= end)
				return;
			if (*cp != ':') {
				config_exp_fail(x, xstrdup("\":\" expected "
				    "after ${name?{value}"));
				return;
			}
			cp++;
		} else {
			if (val != NULL && *val != '\0')
				config_mac(x, cp, (size_t)(end - cp),
				    depth + 1);
			return;
		}
	}
	if (config_curly(&cp, end, &pl, &pllen)) {
		if (cp < end) {
			config_exp_fail(x, xstrdup("unexpected text after "
			    "${name:{value}}"));
			return;
		}
	} else {
		pl = cp;
		pllen = (size_t)(end - cp);
	}
	if (val == NULL || *val == '\0')
		config_mac(x, pl, pllen, depth + 1);
}

/* config_mac - expand s[0..len) into x->out (mac_parse) */
static void
config_mac(struct config_exp *x, const char *s, size_t len, unsigned depth)
{
	const char *cp = s, *end = s + len, *ep;
	char	 open, close;
	int	 level;
	char	*q;

	while (cp < end && !x->failed) {
		if (*cp != '$') {
			for (ep = cp; ep < end && *ep != '$'; ep++)
				;
			if (buf_append(&x->out, cp, (size_t)(ep - cp)) < 0) {
				config_exp_fail(x, xstrdup("value too long "
				    "after $name expansion"));
				return;
			}
			cp = ep;
			continue;
		}
		if (cp + 1 < end && cp[1] == '$') {
			(void)buf_append(&x->out, "$", 1);
			cp += 2;
			continue;
		}
		cp++;
		if (cp < end && (*cp == '{' || *cp == '(')) {
			open = *cp;
			close = open == '{' ? '}' : ')';
			for (level = 1, ep = cp + 1; ep < end; ep++) {
				if (*ep == open)
					level++;
				else if (*ep == close && --level == 0)
					break;
			}
			if (ep >= end) {
				q = config_quote(s);
				config_exp_fail(x, xasprintf("truncated macro "
				    "reference: \"%.*s\"", (int)len, q));
				free(q);
				return;
			}
			config_expr(x, cp + 1, (size_t)(ep - cp - 1), depth);
			cp = ep + 1;
			continue;
		}
		for (ep = cp; ep < end && (isalnum((unsigned char)*ep) ||
		    *ep == '_'); ep++)
			;
		if (ep == cp) {
			q = config_quote(s);
			config_exp_fail(x, xasprintf("empty macro name: \"%s\" "
			    "(write $$ for a literal $)", q));
			free(q);
			return;
		}
		config_expr(x, cp, (size_t)(ep - cp), depth);
		cp = ep;
	}
}

/*
 * config_value - the expanded value of a known parameter (never NULL;
 * caller frees). *line_r: its line, 0 for a default. *ok_r: false when
 * an error was reported; the value is then the unexpanded default, so
 * that one mistake does not cascade into more messages.
 */
static char *
config_value(struct config_ld *ld, const char *name, unsigned *line_r,
    bool *ok_r)
{
	const struct sqlmap_cf_entry *e = config_entry(ld, name, strlen(name));
	const struct config_param *p = config_param_find(name, strlen(name));
	struct config_exp x;
	const char *raw;
	char	*v;

	memset(&x, 0, sizeof(x));
	x.ld = ld;
	x.pname = name;
	x.line = e != NULL ? e->line : 0;
	raw = e != NULL ? e->value : p->def;
	buf_init(&x.out, CONFIG_FILE_MAX);
	config_mac(&x, raw, strlen(raw), 1);
	v = x.failed ? xstrdup(p->def) : xstrndup(buf_str(&x.out), x.out.len);
	buf_free(&x.out);
	*line_r = x.line;
	*ok_r = !x.failed;
	return v;
}

/*
 * Lists.
 */

/*
 * config_tok - the next list element (Postfix mystrtokq with CHARS_BRACE):
 * separated by commas and white space, "{...}" kept whole.
 */
static char *
config_tok(char **sp)
{
	char	*start = *sp + strspn(*sp, CONFIG_LIST_SEP), *cp;
	int	 level = 0;

	if (*start == '\0') {
		*sp = start;
		return NULL;
	}
	for (cp = start; *cp != '\0'; cp++) {
		if (*cp == '{')
			level++;
		else if (level > 0 && *cp == '}')
			level--;
		else if (level == 0 && strchr(CONFIG_LIST_SEP, *cp) != NULL) {
			*cp++ = '\0';
			break;
		}
	}
	*sp = cp;
	return start;
}

/*
 * config_extpar - strip "{ ... }" around s in place (Postfix extpar with
 * EXTPAR_FLAG_STRIP). Returns NULL, or a static error.
 */
static const char *
config_extpar(char **sp)
{
	char	*s = *sp, *cp, *end;
	int	 level;

	if (*s != '{')
		return "no '{' at start of text";
	for (level = 1, cp = s + 1; *cp != '\0'; cp++) {
		if (*cp == '{')
			level++;
		else if (*cp == '}' && --level == 0)
			break;
	}
	if (*cp == '\0')
		return "missing '}'";
	if (cp[1] != '\0')
		return "syntax error after '}'";
	*cp = '\0';
	s++;
	s += strspn(s, CONFIG_SPACE);
	for (end = s + strlen(s); end > s && strchr(CONFIG_SPACE, end[-1]);
	    end--)
		;
	*end = '\0';
	*sp = s;
	return NULL;
}

/*
 * Maps.
 */

static void
config_map_free(struct map *m)
{
	size_t	 i;

	if (m == NULL)
		return;
	switch (m->type) {
	case MAP_DOMAIN:
		free(m->u.domain);
		break;
	case MAP_INLINE:
		for (i = 0; i < m->u.inl.n; i++) {
			free(m->u.inl.kv[i].key);
			free(m->u.inl.kv[i].value);
		}
		free(m->u.inl.kv);
		break;
	case MAP_STATIC:
		free(m->u.static_value);
		break;
	case MAP_PGSQL:
		sqlmap_free(&m->u.sql);
		break;
	}
	free(m->name);
	free(m);
}

/* config_cache_find - a table built before: 1 found (*m_r may be NULL) */
static bool
config_cache_find(const struct config_ld *ld, const char *key,
    struct map **m_r)
{
	size_t	 i;

	for (i = 0; i < ld->ncache; i++)
		if (strcmp(ld->cache[i].key, key) == 0) {
			*m_r = ld->cache[i].map;
			return true;
		}
	return false;
}

/* config_cache_add - remember what key stands for (NULL: refused) */
static void
config_cache_add(struct config_ld *ld, const char *key, struct map *m)
{
	ld->cache = xreallocarray(ld->cache, ld->ncache + 1,
	    sizeof(*ld->cache));
	ld->cache[ld->ncache].key = xstrdup(key);
	ld->cache[ld->ncache].map = m;
	ld->ncache++;
}

/* config_map_add - a new map joins cfg->maps; map->id is its index */
static struct map *
config_map_add(struct config_ld *ld, struct map *m)
{
	struct config *cfg = ld->cfg;

	m->id = (unsigned)cfg->nmaps;
	cfg->maps = xreallocarray(cfg->maps, cfg->nmaps + 1,
	    sizeof(*cfg->maps));
	cfg->maps[cfg->nmaps++] = m;
	return m;
}

/* config_read_file - a whole file, at most max bytes; 0 / -1 + errno */
static int
config_read_file(const char *path, size_t max, char **text_r,
    size_t *len_r)
{
	struct stat st;
	struct buf b;
	char	 chunk[8192];
	ssize_t	 n;
	int	 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
		saved = S_ISDIR(st.st_mode) ? EISDIR : errno;
		close(fd);
		errno = saved;
		return -1;
	}
	buf_init(&b, max);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			saved = errno;
			goto fail;
		}
		if (n == 0)
			break;
		if (buf_append(&b, chunk, (size_t)n) < 0) {
			saved = EFBIG;
			goto fail;
		}
	}
	close(fd);
	/* by length: NUL bytes stay visible to the parser */
	*len_r = b.len;
	*text_r = xmalloc(b.len + 1);
	memcpy(*text_r, buf_str(&b), b.len + 1);
	buf_free(&b);
	return 0;
fail:
	close(fd);
	buf_free(&b);
	errno = saved;
	return -1;
}

/* config_pgsql - a pgsql: table (read and parsed once per file) */
static struct map *
config_pgsql(struct config_ld *ld, const char *pname, unsigned line,
    const char *spec, const char *file)
{
	struct map *m;
	struct sqlmap *sm;
	struct stat st;
	char	*path, *key, *text = NULL, *warn = NULL, *err = NULL;
	size_t	 len;

	if (*file == '\0') {
		config_err(ld, line, xasprintf("%s: \"%s\": need "
		    "pgsql:/path/to/file.cf", pname, spec));
		return NULL;
	}
	path = *file == '/' ? xstrdup(file) :
	    xasprintf("%s/%s", ld->dir, file);
	/* the same file under another name is still the same table */
	if (stat(path, &st) == 0)
		key = xasprintf("pgsql-file:%ju:%ju", (uintmax_t)st.st_dev,
		    (uintmax_t)st.st_ino);
	else
		key = xasprintf("pgsql:%s", path);
	if (config_cache_find(ld, key, &m)) {
		free(key);
		free(path);
		return m;
	}
	m = NULL;
	if (config_read_file(path, SQLMAP_TEXT_MAX, &text, &len) < 0) {
		config_err(ld, line, xasprintf("%s: cannot read %s: %s", pname,
		    path, errno == EFBIG ? "file too large" :
		    strerror(errno)));
	} else if (sqlmap_parse(path, text, len, &sm, &warn, &err) < 0) {
		config_msg_lines(ld->msgs, warn, NULL);
		config_msg_lines(ld->msgs, err, &ld->nerrors);
	} else {
		config_msg_lines(ld->msgs, warn, NULL);
		sm->id = ld->nsql++;
		m = xcalloc(1, sizeof(*m));
		m->type = MAP_PGSQL;
		m->name = xstrdup(spec);
		m->u.sql = sm;
		config_map_add(ld, m);
	}
	config_cache_add(ld, key, m);
	free(text);
	free(warn);
	free(err);
	free(key);
	free(path);
	return m;
}

/*
 * config_qnameval - split "key = value" as Postfix split_qnameval():
 * the key ends at white space or "=" outside "..." quotes; a backslash
 * escapes the next character. Returns NULL or a static error.
 */
static const char *
config_qnameval(char *s, char **key_r, char **value_r)
{
	char	*key, *kend, *val, *end;
	bool	 inq = false;

	key = s + strspn(s, CONFIG_SPACE);
	if (*key == '\0')
		return "no key found; expected format: key = value";
	for (kend = key; *kend != '\0'; kend++) {
		if (*kend == '\\') {
			if (*++kend == '\0')
				break;
		} else if (strchr(CONFIG_SPACE, *kend) != NULL ||
		    *kend == '=') {
			if (!inq)
				break;
		} else if (*kend == '"') {
			inq = !inq;
		}
	}
	if (inq)
		return "unbalanced '\"'";
	val = kend + strspn(kend, CONFIG_SPACE);
	if (*val != '=')
		return "missing '=' after attribute name";
	*kend = '\0';
	val++;
	val += strspn(val, CONFIG_SPACE);
	for (end = val + strlen(val); end > val &&
	    strchr(CONFIG_SPACE, end[-1]) != NULL; end--)
		;
	*end = '\0';
	*key_r = key;
	*value_r = val;
	return NULL;
}

/* config_inline - inline:{ key=value, { key = text, with commas } } */
static struct map *
config_inline(struct config_ld *ld, const char *pname, unsigned line,
    const char *spec, const char *body)
{
	struct map *m;
	char	*copy, *cp, *tok, *key, *val, *fkey, *q;
	const char *err = NULL;
	size_t	 i;

	m = xcalloc(1, sizeof(*m));
	m->type = MAP_INLINE;
	m->name = xstrdup(spec);
	copy = cp = xstrdup(body);
	if (*cp != '{' || config_extpar(&cp) != NULL)
		err = "bad syntax";
	while (err == NULL && (tok = config_tok(&cp)) != NULL) {
		if (*tok == '{' && (err = config_extpar(&tok)) != NULL)
			break;
		if ((err = config_qnameval(tok, &key, &val)) != NULL)
			break;
		fkey = str_fold_utf8(key);
		/* dict_ht update: a key given twice keeps the last value */
		for (i = 0; i < m->u.inl.n; i++)
			if (strcmp(m->u.inl.kv[i].key, fkey) == 0)
				break;
		if (i < m->u.inl.n) {
			free(fkey);
			free(m->u.inl.kv[i].value);
			m->u.inl.kv[i].value = xstrdup(val);
			continue;
		}
		m->u.inl.kv = xreallocarray(m->u.inl.kv, m->u.inl.n + 1,
		    sizeof(*m->u.inl.kv));
		m->u.inl.kv[m->u.inl.n].key = fkey;
		m->u.inl.kv[m->u.inl.n].value = xstrdup(val);
		m->u.inl.n++;
	}
	if (err == NULL && m->u.inl.n == 0)
		err = "empty table";
	free(copy);
	if (err != NULL) {
		q = config_quote(spec);
		config_err(ld, line, xasprintf("%s: %s: \"%s\"; need "
		    "\"inline:{name=value...}\"", pname, err, q));
		free(q);
		config_map_free(m);
		return NULL;
	}
	return config_map_add(ld, m);
}

/* config_static - static:value or static:{ value with spaces } */
static struct map *
config_static(struct config_ld *ld, const char *pname, unsigned line,
    const char *spec, const char *body)
{
	struct map *m;
	char	*copy, *cp, *q;
	const char *err = NULL;

	copy = cp = xstrdup(body);
	if (*cp == '{')
		err = config_extpar(&cp);
	if (err == NULL && *cp == '\0')
		err = "empty value";
	m = NULL;
	if (err != NULL) {
		q = config_quote(spec);
		config_err(ld, line, xasprintf("%s: bad static:name syntax: "
		    "%s: \"%s\"", pname, err, q));
		free(q);
	} else {
		m = xcalloc(1, sizeof(*m));
		m->type = MAP_STATIC;
		m->name = xstrdup(spec);
		m->u.static_value = xstrdup(cp);
		config_map_add(ld, m);
	}
	free(copy);
	return m;
}

/* config_domain - a plain domain name of a *_domains parameter */
static struct map *
config_domain(struct config_ld *ld, const char *pname, unsigned line,
    const char *tok)
{
	struct map *m;
	char	*d, *key, *q;
	size_t	 len;

	if (tok[0] == '/' || tok[0] == '!' || tok[0] == '.' ||
	    tok[0] == '{' || strchr(tok, '/') != NULL) {
		q = config_quote(tok);
		config_err(ld, line, xasprintf("%s: \"%s\": only domain names "
		    "and type:table are supported here (no /file, !pattern "
		    "or .subdomain pattern)", pname, q));
		free(q);
		return NULL;
	}
	d = str_fold_utf8(tok);
	len = strlen(d);
	if (len > 1 && d[len - 1] == '.')
		d[len - 1] = '\0';
	if (d[0] == '.' || d[0] == '\0') {
		config_err(ld, line, xasprintf("%s: \"%s\" is not a domain "
		    "name", pname, tok));
		free(d);
		return NULL;
	}
	key = xasprintf("domain:%s", d);
	if (config_cache_find(ld, key, &m)) {
		free(key);
		free(d);
		return m;
	}
	m = xcalloc(1, sizeof(*m));
	m->type = MAP_DOMAIN;
	m->name = xstrdup(tok);
	m->u.domain = d;
	config_map_add(ld, m);
	config_cache_add(ld, key, m);
	free(key);
	return m;
}

/* config_map_make - one element of a table list, built */
static struct map *
config_map_make(struct config_ld *ld, const char *pname, unsigned line,
    const char *tok, bool domains)
{
	const char *spec = tok, *colon;
	size_t	 tlen, i;
	char	*q;

	colon = strchr(tok, ':');
	if (colon == NULL || (domains && *tok == '{')) {
		if (domains)
			return config_domain(ld, pname, line, tok);
		q = config_quote(tok);
		config_err(ld, line, xasprintf("%s: \"%s\" is not a table: "
		    "need type:name, e.g. pgsql:/etc/postfix/%s.cf", pname, q,
		    pname));
		free(q);
		return NULL;
	}
	/* proxy:pgsql:... is the same table without the proxymap hop */
	if (strncmp(tok, "proxy:", 6) == 0) {
		tok += 6;
		if ((colon = strchr(tok, ':')) == NULL) {
			config_err(ld, line, xasprintf("%s: \"%s\": need "
			    "proxy:type:name", pname, spec));
			return NULL;
		}
	}
	tlen = (size_t)(colon - tok);
	if (tlen == 5 && strncmp(tok, "pgsql", 5) == 0)
		return config_pgsql(ld, pname, line, spec, colon + 1);
	if (tlen == 6 && strncmp(tok, "inline", 6) == 0)
		return config_inline(ld, pname, line, spec, colon + 1);
	if (tlen == 6 && strncmp(tok, "static", 6) == 0)
		return config_static(ld, pname, line, spec, colon + 1);
	q = config_quote(spec);
	for (i = 0; i < NELEM(config_other_types); i++)
		if (strlen(config_other_types[i]) == tlen &&
		    strncmp(config_other_types[i], tok, tlen) == 0)
			break;
	config_err(ld, line, xasprintf("%s: %s table type \"%.*s\" in "
	    "\"%s\" (vrcpt reads pgsql:, inline:, static:%s)", pname,
	    i < NELEM(config_other_types) ? "unsupported" : "unknown",
	    (int)tlen, tok, q, domains ? " and domain names" : ""));
	free(q);
	return NULL;
}

/*
 * config_map - one element of a table list. A table named again (say
 * through virtual_alias_domains = $virtual_alias_maps) is the same map,
 * and a refused one is reported once.
 */
static struct map *
config_map(struct config_ld *ld, const char *pname, unsigned line,
    const char *tok, bool domains)
{
	struct map *m;
	char	*key;

	if (strchr(tok, ':') == NULL)
		return config_map_make(ld, pname, line, tok, domains);
	key = xasprintf("table:%s", tok);
	if (!config_cache_find(ld, key, &m)) {
		m = config_map_make(ld, pname, line, tok, domains);
		config_cache_add(ld, key, m);
	}
	free(key);
	return m;
}

/* config_maplist - a *_maps or *_domains parameter; *line_r its line */
static void
config_maplist(struct config_ld *ld, const char *pname, bool domains,
    struct maplist *ml, unsigned *line_r)
{
	struct map *m;
	unsigned line;
	bool	 ok;
	char	*v, *cp, *tok;

	ml->param = pname;
	ml->v = NULL;
	ml->n = 0;
	v = config_value(ld, pname, &line, &ok);
	if (line_r != NULL)
		*line_r = line;
	cp = v;
	while (ok && (tok = config_tok(&cp)) != NULL) {
		if ((m = config_map(ld, pname, line, tok, domains)) == NULL)
			continue;
		ml->v = xreallocarray(ml->v, ml->n + 1, sizeof(*ml->v));
		ml->v[ml->n++] = m;
	}
	free(v);
}

/* config_both - Postfix resolve.c "do not list domain X in BOTH" */
static void
config_both(struct config_ld *ld, const struct maplist *a,
    const struct maplist *b, unsigned line)
{
	size_t	 i, j;

	for (i = 0; i < a->n; i++) {
		if (a->v[i]->type != MAP_DOMAIN)
			continue;
		for (j = 0; j < b->n; j++)
			if (b->v[j] == a->v[i]) {
				config_warn(ld, line, xasprintf("do not list "
				    "domain %s in BOTH %s and %s",
				    a->v[i]->u.domain, a->param, b->param));
				break;
			}
	}
}

/* config_dbconfs - group the pgsql maps by server identity */
static void
config_dbconfs(struct config *cfg)
{
	const struct sqlmap *sm;
	struct dbconf *dc;
	size_t	 i, j;

	for (i = 0; i < cfg->nmaps; i++) {
		if (cfg->maps[i]->type != MAP_PGSQL)
			continue;
		sm = cfg->maps[i]->u.sql;
		for (j = 0; j < cfg->ndbconfs; j++)
			if (sqlmap_same_conn(cfg->dbconfs[j].conn, &sm->conn))
				break;
		if (j == cfg->ndbconfs) {
			cfg->dbconfs = xreallocarray(cfg->dbconfs,
			    cfg->ndbconfs + 1, sizeof(*cfg->dbconfs));
			dc = &cfg->dbconfs[cfg->ndbconfs++];
			dc->conn = &sm->conn;
			dc->maps = NULL;
			dc->nmaps = 0;
		}
		dc = &cfg->dbconfs[j];
		dc->maps = xreallocarray(dc->maps, dc->nmaps + 1,
		    sizeof(*dc->maps));
		dc->maps[dc->nmaps++] = sm;
	}
}

/*
 * Scalar parameters.
 */

/* config_str - a string parameter, expanded */
static char *
config_str(struct config_ld *ld, const char *name, unsigned *line_r)
{
	unsigned line;
	bool	 ok;
	char	*v = config_value(ld, name, &line, &ok);

	if (line_r != NULL)
		*line_r = line;
	return v;
}

/* config_bad - "bad KIND configuration: name = value" (mail_conf_*.c) */
static void
config_bad(struct config_ld *ld, unsigned line, const char *kind,
    const char *name, const char *v, const char *hint)
{
	char	*q = config_quote(v);

	config_err(ld, line, xasprintf("bad %s configuration: %s = %s%s%s",
	    kind, name, q, hint != NULL ? " " : "", hint != NULL ? hint : ""));
	free(q);
}

static bool
config_bool(struct config_ld *ld, const char *name)
{
	unsigned line;
	bool	 ok, val = false;
	char	*v = config_value(ld, name, &line, &ok);

	if (ok && str_to_bool(v, &val) < 0)
		config_bad(ld, line, "boolean", name, v, "(use yes or no)");
	free(v);
	return val;
}

/* config_uint - a decimal number in [min, max] */
static unsigned
config_uint(struct config_ld *ld, const char *name, unsigned min,
    unsigned max)
{
	unsigned line, val = min;
	bool	 ok;
	char	*v = config_value(ld, name, &line, &ok), *hint;

	if (ok && (str_to_uint(v, &val) < 0 || val < min || val > max)) {
		hint = xasprintf("(use a number from %u to %u)", min, max);
		config_bad(ld, line, "numerical", name, v, hint);
		free(hint);
		val = min;
	}
	free(v);
	return val;
}

/* config_time - a Postfix time value ("60s", "1h"; bare: seconds) */
static unsigned long long
config_time(struct config_ld *ld, const char *name, bool zero_ok)
{
	unsigned line;
	unsigned long long ms = 0;
	bool	 ok;
	char	*v = config_value(ld, name, &line, &ok);

	if (ok && (str_to_time(v, 's', &ms) < 0 || (!zero_ok && ms == 0))) {
		config_bad(ld, line, "time", name, v, zero_ok ?
		    "(use e.g. 60s, 10m, 1h, 1d)" :
		    "(use a time > 0, e.g. 500ms, 1s, 10m, 1h)");
		ms = 0;
	}
	free(v);
	return ms;
}

/* config_code - a reject code: 4xx or 5xx */
static unsigned
config_code(struct config_ld *ld, const char *name)
{
	unsigned line, val = 550;
	bool	 ok;
	char	*v = config_value(ld, name, &line, &ok);

	if (ok && (strlen(v) != 3 || str_to_uint(v, &val) < 0 || val < 400 ||
	    val > 599)) {
		config_bad(ld, line, "numerical", name, v,
		    "(use a 4xx or 5xx SMTP reply code)");
		val = 550;
	}
	free(v);
	return val;
}

/* config_endpoint_ok - "unix:/abs/path" or "inet:[host:]port" */
static bool
config_endpoint_ok(const char *ep)
{
	const char *hp, *port, *close_br;
	unsigned p;

	if (strncmp(ep, "unix:", 5) == 0)
		return ep[5] == '/' && strlen(ep + 5) <= CONFIG_SUN_PATH_MAX;
	if (strncmp(ep, "inet:", 5) != 0)
		return false;
	hp = ep + 5;
	if (*hp == '[') {
		if ((close_br = strchr(hp, ']')) == NULL || close_br[1] != ':')
			return false;
		port = close_br + 2;
	} else if ((port = strrchr(hp, ':')) != NULL) {
		port++;
	} else {
		port = hp;
	}
	return str_to_uint(port, &p) == 0 && p >= 1 && p <= 65535;
}

/* config_endpoint - a single optional endpoint ("" = off) */
static char *
config_endpoint(struct config_ld *ld, const char *name)
{
	unsigned line;
	char	*v = config_str(ld, name, &line);

	if (*v != '\0' && !config_endpoint_ok(v))
		config_bad(ld, line, "endpoint", name, v,
		    "(use unix:/absolute/path or inet:host:port)");
	return v;
}

/*
 * config_milter_listen - milter_listen: our endpoint forms, and
 * libmilter's own (local:/path, inet:port@host, inet6:port@host), as
 * milter_map_conn_spec() takes them
 */
static char *
config_milter_listen(struct config_ld *ld)
{
	unsigned line, port;
	char	*v = config_str(ld, "milter_listen", &line), *num, *at;
	const char *rest = NULL;
	bool	 good = false;

	if (strncmp(v, "local:", 6) == 0)
		good = v[6] == '/' && strlen(v + 6) <= CONFIG_SUN_PATH_MAX;
	else if (strncmp(v, "inet6:", 6) == 0)
		rest = v + 6;
	else if (strncmp(v, "inet:", 5) == 0 && strchr(v, '@') != NULL)
		rest = v + 5;
	if (rest != NULL) {
		/* port@host */
		at = strchr(rest, '@');
		num = at != NULL ? xstrndup(rest, (size_t)(at - rest)) :
		    xstrdup(rest);
		good = str_to_uint(num, &port) == 0 && port >= 1 &&
		    port <= 65535 && (at == NULL || at[1] != '\0');
		free(num);
	} else if (strncmp(v, "local:", 6) != 0) {
		good = *v == '\0' || config_endpoint_ok(v);
	}
	if (!good)
		config_bad(ld, line, "endpoint", "milter_listen", v,
		    "(use unix:/absolute/path, inet:host:port or "
		    "inet:port@host)");
	return v;
}

/* config_listen - listen = endpoint, endpoint ... */
static void
config_listen(struct config_ld *ld, struct config *cfg)
{
	unsigned line;
	char	*v = config_str(ld, "listen", &line), *cp = v, *tok, *q;

	while ((tok = config_tok(&cp)) != NULL) {
		if (!config_endpoint_ok(tok)) {
			q = config_quote(tok);
			config_err(ld, line, xasprintf("listen: bad endpoint "
			    "\"%s\" (use unix:/absolute/path or "
			    "inet:host:port)", q));
			free(q);
			continue;
		}
		if (cfg->nlisten >= CONFIG_LISTEN_MAX) {
			config_err(ld, line, xasprintf("listen: more than %d "
			    "endpoints", CONFIG_LISTEN_MAX));
			break;
		}
		cfg->listen[cfg->nlisten++] = xstrdup(tok);
	}
	if (cfg->nlisten == 0 && ld->nerrors == 0)
		config_err(ld, line, xstrdup("listen: no endpoint (the "
		    "default is unix:/run/vrcpt/policy.sock)"));
	free(v);
}

/* config_mode - listen_mode: an octal file mode */
static unsigned
config_mode(struct config_ld *ld)
{
	unsigned line, mode = 0;
	bool	 ok;
	char	*v = config_value(ld, "listen_mode", &line, &ok);
	const char *cp;

	if (!ok) {
		free(v);
		return 0666;
	}
	for (cp = v; *cp >= '0' && *cp <= '7' && mode <= CONFIG_MODE_MAX;
	    cp++)
		mode = mode * 8 + (unsigned)(*cp - '0');
	if (*v == '\0' || *cp != '\0' || mode > CONFIG_MODE_MAX) {
		config_bad(ld, line, "numerical", "listen_mode", v,
		    "(use an octal mode such as 0660)");
		mode = 0666;
	}
	free(v);
	return mode;
}

/*
 * config_other_action - other_domain_action: what Postfix should do with
 * a domain that is not ours. Restriction names are case-insensitive here
 * and written in Postfix's lower case; DUNNO in upper case as a policy
 * action; a literal "4xx/5xx text" reply is kept as written.
 */
static char *
config_other_action(struct config_ld *ld)
{
	static const char *const names[] = {
		"reject_unlisted_recipient", "reject_unauth_destination",
		"defer_unauth_destination",
	};
	unsigned line, code;
	char	*v = config_str(ld, "other_domain_action", &line), digits[4];
	size_t	 i;

	for (i = 0; i < NELEM(names); i++)
		if (strcasecmp(v, names[i]) == 0) {
			free(v);
			return xstrdup(names[i]);
		}
	if (strcasecmp(v, "dunno") == 0) {
		free(v);
		return xstrdup("DUNNO");
	}
	if (strlen(v) >= 3 && (v[3] == '\0' || v[3] == ' ')) {
		memcpy(digits, v, 3);
		digits[3] = '\0';
		if (str_to_uint(digits, &code) == 0 && code >= 400 &&
		    code <= 599)
			return v;
	}
	config_bad(ld, line, "action", "other_domain_action", v,
	    "(use reject_unlisted_recipient, reject_unauth_destination, "
	    "defer_unauth_destination, dunno, or \"4xx/5xx text\")");
	free(v);
	return xstrdup("reject_unlisted_recipient");
}

/* config_cache_spec - cache = none | redis:unix:/path | redis:inet:h:p */
static char *
config_cache_spec(struct config_ld *ld)
{
	unsigned line;
	char	*v = config_str(ld, "cache", &line), *ep;
	bool	 good;

	if (strcasecmp(v, "none") == 0) {
		free(v);
		return xstrdup("none");
	}
	good = false;
	if (strncmp(v, "redis:", 6) == 0) {
		ep = v + 6;
		if (strncmp(ep, "unix:", 5) == 0 ||
		    strncmp(ep, "inet:", 5) == 0) {
			good = config_endpoint_ok(ep);
		} else {
			ep = xasprintf("inet:%s", ep);
			good = strchr(ep + 5, ':') != NULL &&
			    config_endpoint_ok(ep);
			free(ep);
		}
	}
	if (!good)
		config_bad(ld, line, "cache", "cache", v, "(use none, "
		    "redis:unix:/path/to/redis.sock or redis:inet:host:port)");
	return v;
}

/* config_path_param - "" or an absolute path (maillog_file) */
static char *
config_path_param(struct config_ld *ld, const char *name)
{
	unsigned line;
	char	*v = config_str(ld, name, &line);

	if (*v != '\0' && *v != '/')
		config_bad(ld, line, "path", name, v,
		    "(use an absolute path, /dev/stderr, or nothing for "
		    "syslog)");
	return v;
}

/*
 * The whole file.
 */

/* config_unknown - warn about names that are neither ours nor used */
static void
config_unknown(struct config_ld *ld)
{
	const struct sqlmap_cf_entry *e;
	const char *cp;
	size_t	 i, j, nlen;
	bool	 used;
	char	*q;

	for (i = 0; i < ld->cf.n; i++) {
		e = &ld->cf.v[i];
		nlen = strlen(e->name);
		if (config_param_find(e->name, nlen) != NULL)
			continue;
		if (config_entry(ld, e->name, nlen) != e)
			continue;	/* warn once, at the last line */
		/* postconf: a user-defined name that is referenced is fine */
		used = false;
		for (j = 0; j < ld->cf.n && !used; j++) {
			for (cp = ld->cf.v[j].value;
			    (cp = strchr(cp, '$')) != NULL; cp++) {
				if (cp[1] == '$') {
					cp++;
					continue;
				}
				cp += strspn(cp + 1, "{( \t") + 1;
				if (strncmp(cp, e->name, nlen) == 0 &&
				    !isalnum((unsigned char)cp[nlen]) &&
				    cp[nlen] != '_') {
					used = true;
					break;
				}
				cp--;
			}
		}
		if (used)
			continue;
		q = config_quote(e->name);
		config_warn(ld, e->line, xasprintf("unknown parameter %s", q));
		free(q);
	}
}

static void
config_free(struct config *cfg)
{
	struct maplist *lists[6];
	size_t	 i;

	if (cfg == NULL)
		return;
	lists[0] = &cfg->engine.virtual_alias_domains;
	lists[1] = &cfg->engine.virtual_mailbox_domains;
	lists[2] = &cfg->engine.relay_domains;
	lists[3] = &cfg->engine.virtual_alias_maps;
	lists[4] = &cfg->engine.virtual_mailbox_maps;
	lists[5] = &cfg->engine.relay_recipient_maps;
	for (i = 0; i < NELEM(lists); i++)
		free(lists[i]->v);
	for (i = 0; i < cfg->nmaps; i++)
		config_map_free(cfg->maps[i]);
	free(cfg->maps);
	for (i = 0; i < cfg->ndbconfs; i++)
		free(cfg->dbconfs[i].maps);
	free(cfg->dbconfs);
	for (i = 0; i < cfg->nlisten; i++)
		free(cfg->listen[i]);
	free(cfg->path);
	free(cfg->syslog_name);
	free(cfg->syslog_facility);
	free(cfg->maillog_file);
	free(cfg->user);
	free(cfg->metrics_listen);
	free(cfg->recipient_delimiter);
	free(cfg->double_bounce_sender);
	free(cfg->other_domain_action);
	free(cfg->cache);
	free(cfg->redis_password);
	free(cfg->milter_listen);
	free(cfg->milter_policy_service);
	free(cfg);
}

/* config_build - every parameter, in a fixed order */
static void
config_build(struct config_ld *ld, struct config *cfg)
{
	struct engine_cfg *ec = &cfg->engine;
	const struct sqlmap_cf_entry *e;
	unsigned l_vad, l_vmd, l_rd, line;
	char	*v;

	config_listen(ld, cfg);
	cfg->listen_mode = config_mode(ld);

	/* maps first, so that map ids follow the order admins read */
	config_maplist(ld, "virtual_alias_maps", false,
	    &ec->virtual_alias_maps, NULL);
	config_maplist(ld, "virtual_mailbox_maps", false,
	    &ec->virtual_mailbox_maps, NULL);
	config_maplist(ld, "relay_recipient_maps", false,
	    &ec->relay_recipient_maps, NULL);
	config_maplist(ld, "virtual_alias_domains", true,
	    &ec->virtual_alias_domains, &l_vad);
	config_maplist(ld, "virtual_mailbox_domains", true,
	    &ec->virtual_mailbox_domains, &l_vmd);
	config_maplist(ld, "relay_domains", true, &ec->relay_domains, &l_rd);
	config_both(ld, &ec->virtual_alias_domains,
	    &ec->virtual_mailbox_domains, l_vmd ? l_vmd : l_vad);
	config_both(ld, &ec->virtual_alias_domains, &ec->relay_domains,
	    l_rd ? l_rd : l_vad);
	config_both(ld, &ec->virtual_mailbox_domains, &ec->relay_domains,
	    l_rd ? l_rd : l_vmd);

	cfg->recipient_delimiter = config_str(ld, "recipient_delimiter",
	    NULL);
	ec->addr.recipient_delimiter = cfg->recipient_delimiter;
	ec->addr.owner_request_special = config_bool(ld,
	    "owner_request_special");
	cfg->double_bounce_sender = config_str(ld, "double_bounce_sender",
	    &line);
	if (cfg->double_bounce_sender[0] == '\0')
		config_bad(ld, line, "string", "double_bounce_sender", "",
		    "(the default is double-bounce)");
	ec->addr.double_bounce_sender = cfg->double_bounce_sender;

	ec->unknown_virtual_alias_reject_code = config_code(ld,
	    "unknown_virtual_alias_reject_code");
	ec->unknown_virtual_mailbox_reject_code = config_code(ld,
	    "unknown_virtual_mailbox_reject_code");
	ec->unknown_relay_recipient_reject_code = config_code(ld,
	    "unknown_relay_recipient_reject_code");
	ec->show_user_unknown_table_name = config_bool(ld,
	    "show_user_unknown_table_name");
	ec->soft_bounce = config_bool(ld, "soft_bounce");
	ec->warn_if_reject = config_bool(ld, "warn_if_reject");
	cfg->other_domain_action = config_other_action(ld);
	ec->other_domain_action = cfg->other_domain_action;

	v = config_str(ld, "lookup_failure_action", &line);
	if (strcasecmp(v, "defer") == 0)
		ec->lookup_failure_action = LFA_DEFER;
	else if (strcasecmp(v, "dunno") == 0)
		ec->lookup_failure_action = LFA_DUNNO;
	else
		config_bad(ld, line, "action", "lookup_failure_action", v,
		    "(use defer or dunno)");
	free(v);

	cfg->request_timeout_ms = config_time(ld, "request_timeout", false);
	if (cfg->request_timeout_ms >= CONFIG_POLICY_TIMEOUT_MS) {
		e = config_entry(ld, "request_timeout",
		    strlen("request_timeout"));
		config_warn(ld, e != NULL ? e->line : 0, xstrdup(
		    "request_timeout is not below Postfix's "
		    "smtpd_policy_service_timeout (100s): Postfix gives up "
		    "first"));
	}

	cfg->connection_limit = config_uint(ld, "connection_limit", 1,
	    CONFIG_CONNECTIONS_MAX);
	cfg->idle_timeout_ms = config_time(ld, "idle_timeout", false);
	if (cfg->idle_timeout_ms > 0 &&
	    cfg->idle_timeout_ms <= CONFIG_POLICY_MAX_IDLE_MS) {
		e = config_entry(ld, "idle_timeout", strlen("idle_timeout"));
		config_warn(ld, e != NULL ? e->line : 0, xstrdup(
		    "idle_timeout is not above Postfix's "
		    "smtpd_policy_service_max_idle (300s): vrcptd would close "
		    "connections that Postfix still means to use"));
	}
	cfg->io_timeout_ms = config_time(ld, "io_timeout", false);

	cfg->syslog_name = config_str(ld, "syslog_name", &line);
	if (cfg->syslog_name[0] == '\0')
		config_bad(ld, line, "string", "syslog_name", "",
		    "(the default is vrcptd)");
	cfg->syslog_facility = config_str(ld, "syslog_facility", &line);
	if (!log_facility_valid(cfg->syslog_facility))
		config_bad(ld, line, "facility", "syslog_facility",
		    cfg->syslog_facility, "(use mail, daemon, local0..local7, "
		    "...)");
	cfg->maillog_file = config_path_param(ld, "maillog_file");
	cfg->log_level = config_uint(ld, "log_level", 0, UINT8_MAX);
	cfg->db_pool_size = config_uint(ld, "db_pool_size", 1,
	    CONFIG_POOL_MAX);
	cfg->workers = config_uint(ld, "workers", 0, CONFIG_WORKERS_MAX);
	cfg->user = config_str(ld, "user", NULL);
	cfg->metrics_listen = config_endpoint(ld, "metrics_listen");
	cfg->milter_listen = config_milter_listen(ld);
	cfg->milter_policy_service = config_endpoint(ld,
	    "milter_policy_service");
	cfg->milter_log_reject = config_bool(ld, "milter_log_reject");

	cfg->cache = config_cache_spec(ld);
	cfg->cache_positive_ttl_ms = config_time(ld, "cache_positive_ttl",
	    true);
	cfg->cache_negative_ttl_ms = config_time(ld, "cache_negative_ttl",
	    true);
	cfg->cache_stale_ttl_ms = config_time(ld, "cache_stale_ttl", true);
	cfg->redis_password = config_str(ld, "redis_password", NULL);
	cfg->redis_db = config_uint(ld, "redis_db", 0, UINT16_MAX);
	cfg->cache_max_entries = config_uint(ld, "cache_max_entries", 0,
	    CONFIG_CACHE_ENTRIES_MAX);
	cfg->cache_max_bytes = config_uint(ld, "cache_max_bytes", 0,
	    UINT_MAX);
	cfg->redis_timeout_ms = config_time(ld, "redis_timeout", false);
	if (cfg->redis_timeout_ms >= cfg->request_timeout_ms &&
	    cfg->request_timeout_ms > 0) {
		const struct sqlmap_cf_entry *rt = config_entry(ld,
		    "redis_timeout", strlen("redis_timeout"));

		config_warn(ld, rt != NULL ? rt->line : 0, xstrdup(
		    "redis_timeout is not below request_timeout: a slow Redis "
		    "would use up the whole request"));
	}

	config_dbconfs(cfg);
}

/* config_dirname - the directory part of path ("." if none) */
static char *
config_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

int
config_load_text(const char *path, const char *text, size_t len,
    struct config **cfg_r, struct config_msgs *msgs)
{
	struct config_ld ld;
	struct config *cfg;
	size_t	 i;

	*cfg_r = NULL;
	if (len > CONFIG_FILE_MAX) {
		config_msg_add(msgs, xasprintf("%s: file too large (more "
		    "than %d bytes)", path, CONFIG_FILE_MAX));
		return -1;
	}
	memset(&ld, 0, sizeof(ld));
	ld.path = path;
	ld.dir = config_dirname(path);
	ld.msgs = msgs;
	sqlmap_cf_read(path, text, len, &ld.cf);
	for (i = 0; i < ld.cf.nwarnings; i++)
		config_msg_add(msgs, xstrdup(ld.cf.warnings[i]));
	for (i = 0; i < ld.cf.nerrors; i++)
		config_msg_add(msgs, xstrdup(ld.cf.errors[i]));
	ld.nerrors += ld.cf.nerrors;
	config_unknown(&ld);

	cfg = ld.cfg = xcalloc(1, sizeof(*cfg));
	cfg->path = xstrdup(path);
	atomic_init(&cfg->refs, 1);
	config_build(&ld, cfg);

	for (i = 0; i < ld.ncache; i++)
		free(ld.cache[i].key);
	free(ld.cache);
	for (i = 0; i < ld.nundef; i++)
		free(ld.undef[i]);
	free(ld.undef);
	sqlmap_cf_free(&ld.cf);
	free(ld.dir);
	if (ld.nerrors > 0) {
		config_free(cfg);
		return -1;
	}
	*cfg_r = cfg;
	return 0;
}

int
config_load(const char *path, struct config **cfg_r,
    struct config_msgs *msgs)
{
	char	*text;
	size_t	 len;
	int	 rc;

	*cfg_r = NULL;
	if (config_read_file(path, CONFIG_FILE_MAX, &text, &len) < 0) {
		config_msg_add(msgs, xasprintf("%s: cannot read: %s", path,
		    errno == EFBIG ? "file too large" : strerror(errno)));
		return -1;
	}
	rc = config_load_text(path, text, len, cfg_r, msgs);
	free(text);
	return rc;
}

struct config *
config_ref(struct config *cfg)
{
	atomic_fetch_add(&cfg->refs, 1);
	return cfg;
}

void
config_unref(struct config **cfgp)
{
	struct config *cfg = *cfgp;

	*cfgp = NULL;
	if (cfg == NULL)
		return;
	if (atomic_fetch_sub(&cfg->refs, 1) == 1)
		config_free(cfg);
}
