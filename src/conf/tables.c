/*
 * tables - the tables of the *_maps and *_domains parameters and the
 * engine's configuration. See tables.h.
 *
 * Map specifications follow Postfix dict_open(): pgsql:/file.cf (read
 * here; a relative path is taken relative to the directory of
 * vrcptd.cf), proxy:... (proxy: dropped), inline:{...} (dict_inline.c),
 * static:... (dict_static.c), table files (hash:, btree:, lmdb:, cdb:,
 * texthash:, regexp:, pcre:; read by the registered opener: filemaps.h)
 * and plain domain names in *_domains.
 *
 * Depends on: libc, util/, core/{map,sqlmap,engine,cachefmt}, conf/.
 * Reads the pgsql .cf files; stat()s table files (conf_maps_changed).
 *
 * Security: .cf files hold database passwords: their lines are never
 * echoed into messages (sqlmap_parse reports file:line and what is
 * wrong).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "conf/filemaps.h"
#include "conf/load.h"
#include "conf/tables.h"
#include "core/cachefmt.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define TABLES_SPACE	" \t\r\n\v\f"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Postfix table types we recognise, to say "unsupported" precisely */
static const char *const tables_other_types[] = {
	"cidr", "dbm", "environ", "fail", "internal",
	"ldap", "memcache", "mongodb", "mysql", "netinfo", "nis",
	"nisplus", "pipemap", "randmap", "sdbm",
	"socketmap", "sqlite", "tcp", "unionmap", "unix",
};

/* the table files: read by the opener that the program registered */
static const char *const tables_file_types[] = {
	"btree", "cdb", "hash", "lmdb", "pcre", "regexp", "texthash",
};

static conf_map_open_fn *tables_opener;

/* a table already built (or refused), so that each is made once */
struct tables_cached {
	char	*key;		/* "pgsql:/resolved/path", "inline:{...}"... */
	struct map *map;	/* NULL: refused, already reported */
};


/*
 * tables_extpar - strip "{ ... }" around s in place (Postfix extpar with
 * EXTPAR_FLAG_STRIP). Returns NULL, or a static error.
 */
static const char *
tables_extpar(char **sp)
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
	s += strspn(s, TABLES_SPACE);
	for (end = s + strlen(s); end > s && strchr(TABLES_SPACE, end[-1]);
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
tables_map_free(struct map *m)
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
	case MAP_FILE:
		map_file_free(&m->u.file);
		break;
	}
	free(m->name);
	free(m);
}

/* tables_cache_find - a table built before: 1 found (*m_r may be NULL) */
static bool
tables_cache_find(const struct conf_ld *ld, const char *key,
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

/* tables_cache_add - remember what key stands for (NULL: refused) */
static void
tables_cache_add(struct conf_ld *ld, const char *key, struct map *m)
{
	ld->cache = xreallocarray(ld->cache, ld->ncache + 1,
	    sizeof(*ld->cache));
	ld->cache[ld->ncache].key = xstrdup(key);
	ld->cache[ld->ncache].map = m;
	ld->ncache++;
}

/* tables_map_add - a new map joins cfg->maps; map->id is its index */
static struct map *
tables_map_add(struct conf_ld *ld, struct map *m)
{
	struct conf *cfg = ld->cfg;

	m->id = (unsigned)cfg->nmaps;
	cfg->maps = xreallocarray(cfg->maps, cfg->nmaps + 1,
	    sizeof(*cfg->maps));
	cfg->maps[cfg->nmaps++] = m;
	return m;
}

/* tables_pgsql - a pgsql: table (read and parsed once per file) */
static struct map *
tables_pgsql(struct conf_ld *ld, const char *pname, const struct conf_origin *o,
    const char *spec, const char *file)
{
	struct map *m;
	struct sqlmap *sm;
	struct stat st;
	char	*path, *key, *text = NULL, *warn = NULL, *err = NULL;
	size_t	 len;

	if (*file == '\0') {
		conf_err(ld, o, pname, xasprintf("%s: \"%s\": need "
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
	if (tables_cache_find(ld, key, &m)) {
		free(key);
		free(path);
		return m;
	}
	m = NULL;
	if (conf_read_file(path, SQLMAP_TEXT_MAX, &text, &len) < 0) {
		conf_err(ld, o, pname, xasprintf("%s: cannot read %s: %s",
		    pname, path, errno == EFBIG ? "file too large" :
		    strerror(errno)));
	} else if (sqlmap_parse(path, text, len, &sm, &warn, &err) < 0) {
		conf_msg_lines(ld->msgs, warn, NULL);
		conf_msg_lines(ld->msgs, err, &ld->nerrors);
	} else {
		conf_msg_lines(ld->msgs, warn, NULL);
		sm->id = ld->nsql++;
		m = xcalloc(1, sizeof(*m));
		m->type = MAP_PGSQL;
		m->name = xstrdup(spec);
		m->u.sql = sm;
		tables_map_add(ld, m);
	}
	tables_cache_add(ld, key, m);
	free(text);
	free(warn);
	free(err);
	free(key);
	free(path);
	return m;
}

/*
 * Table files.
 */

void
conf_map_opener(conf_map_open_fn *fn)
{
	tables_opener = fn;
}

bool
conf_map_file_type(const char *type, size_t len)
{
	size_t	 i;

	for (i = 0; i < NELEM(tables_file_types); i++)
		if (strlen(tables_file_types[i]) == len &&
		    strncmp(tables_file_types[i], type, len) == 0)
			return true;
	return false;
}

/*
 * tables_file_warn - a table reader's warnings ("NAME, line N: text", one
 * per line), each as a warning of the parameter that names the table,
 * as Postfix logs them ("warning: regexp map NAME, line N: ...")
 */
static void
tables_file_warn(struct conf_ld *ld, const struct conf_origin *o,
    const char *pname, const char *warn)
{
	const char *nl;

	while (warn != NULL && *warn != '\0') {
		nl = strchr(warn, '\n');
		conf_warn(ld, o, pname, nl != NULL ?
		    xstrndup(warn, (size_t)(nl - warn)) : xstrdup(warn));
		warn = nl != NULL ? nl + 1 : NULL;
	}
}

/* tables_file - hash:/path and the other file types (filemaps.h) */
static struct map *
tables_file(struct conf_ld *ld, const char *pname, const struct conf_origin *o,
    const char *spec, const char *type, size_t tlen, const char *file)
{
	struct map *m = NULL;
	struct map_file *mf;
	char	*path, *t, *warn = NULL, *err = NULL;

	t = xstrndup(type, tlen);
	if (*file == '\0') {
		conf_err(ld, o, pname, xasprintf("%s: \"%s\": need "
		    "%s:/path/to/file", pname, spec, t));
		free(t);
		return NULL;
	}
	if (tables_opener == NULL) {
		conf_err(ld, o, pname, xasprintf("%s: \"%s\": this program "
		    "does not read %s: tables", pname, spec, t));
		free(t);
		return NULL;
	}
	path = *file == '/' ? xstrdup(file) :
	    xasprintf("%s/%s", ld->dir, file);
	if (tables_opener(t, path, ld->cfg->smtputf8_enable, &mf, &warn,
	    &err) < 0) {
		tables_file_warn(ld, o, pname, warn);
		conf_err(ld, o, pname, xasprintf("%s: %s", pname, err));
	} else {
		tables_file_warn(ld, o, pname, warn);
		m = xcalloc(1, sizeof(*m));
		m->type = MAP_FILE;
		m->name = xstrdup(spec);
		m->u.file = mf;
		tables_map_add(ld, m);
	}
	free(warn);
	free(err);
	free(path);
	free(t);
	return m;
}

bool
conf_maps_changed(const struct conf *cfg, const char **path_r,
    uint64_t *sig_r)
{
	const struct map_file *mf;
	struct stat st;
	struct map_stamp now;
	bool	 changed = false;
	size_t	 i;

	*sig_r = CACHEFMT_HASH_INIT;
	*path_r = NULL;
	for (i = 0; i < cfg->nmaps; i++) {
		if (cfg->maps[i]->type != MAP_FILE)
			continue;
		mf = cfg->maps[i]->u.file;
		memset(&now, 0, sizeof(now));
		if (stat(mf->path, &st) == 0) {
			now.dev = (uint64_t)st.st_dev;
			now.ino = (uint64_t)st.st_ino;
			now.size = (uint64_t)st.st_size;
			now.mtime_ns = (int64_t)st.st_mtim.tv_sec *
			    1000000000 + st.st_mtim.tv_nsec;
		}
		*sig_r = cachefmt_hash(&now, sizeof(now), *sig_r);
		if (!changed && memcmp(&now, &mf->stamp, sizeof(now)) != 0) {
			changed = true;
			*path_r = mf->path;
		}
	}
	return changed;
}

/*
 * tables_qnameval - split "key = value" as Postfix split_qnameval():
 * the key ends at white space or "=" outside "..." quotes; a backslash
 * escapes the next character. Returns NULL or a static error.
 */
static const char *
tables_qnameval(char *s, char **key_r, char **value_r)
{
	char	*key, *kend, *val, *end;
	bool	 inq = false;

	key = s + strspn(s, TABLES_SPACE);
	if (*key == '\0')
		return "no key found; expected format: key = value";
	for (kend = key; *kend != '\0'; kend++) {
		if (*kend == '\\') {
			if (*++kend == '\0')
				break;
		} else if (strchr(TABLES_SPACE, *kend) != NULL ||
		    *kend == '=') {
			if (!inq)
				break;
		} else if (*kend == '"') {
			inq = !inq;
		}
	}
	if (inq)
		return "unbalanced '\"'";
	val = kend + strspn(kend, TABLES_SPACE);
	if (*val != '=')
		return "missing '=' after attribute name";
	*kend = '\0';
	val++;
	val += strspn(val, TABLES_SPACE);
	for (end = val + strlen(val); end > val &&
	    strchr(TABLES_SPACE, end[-1]) != NULL; end--)
		;
	*end = '\0';
	*key_r = key;
	*value_r = val;
	return NULL;
}

/* tables_inline - inline:{ key=value, { key = text, with commas } } */
static struct map *
tables_inline(struct conf_ld *ld, const char *pname,
    const struct conf_origin *o, const char *spec, const char *body)
{
	struct map *m;
	char	*copy, *cp, *tok, *key, *val, *fkey, *q;
	const char *err = NULL;
	size_t	 i;

	m = xcalloc(1, sizeof(*m));
	m->type = MAP_INLINE;
	m->name = xstrdup(spec);
	copy = cp = xstrdup(body);
	if (*cp != '{' || tables_extpar(&cp) != NULL)
		err = "bad syntax";
	while (err == NULL && (tok = conf_tok(&cp)) != NULL) {
		if (*tok == '{' && (err = tables_extpar(&tok)) != NULL)
			break;
		if ((err = tables_qnameval(tok, &key, &val)) != NULL)
			break;
		/* dict_utf8 (smtputf8_enable) or dict_ht folds the key */
		fkey = str_casefold(key, ld->cfg->smtputf8_enable);
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
		q = conf_quote(spec);
		conf_err(ld, o, pname, xasprintf("%s: %s: \"%s\"; need "
		    "\"inline:{name=value...}\"", pname, err, q));
		free(q);
		tables_map_free(m);
		return NULL;
	}
	return tables_map_add(ld, m);
}

/* tables_static - static:value or static:{ value with spaces } */
static struct map *
tables_static(struct conf_ld *ld, const char *pname,
    const struct conf_origin *o, const char *spec, const char *body)
{
	struct map *m;
	char	*copy, *cp, *q;
	const char *err = NULL;

	copy = cp = xstrdup(body);
	if (*cp == '{')
		err = tables_extpar(&cp);
	if (err == NULL && *cp == '\0')
		err = "empty value";
	m = NULL;
	if (err != NULL) {
		q = conf_quote(spec);
		conf_err(ld, o, pname, xasprintf("%s: bad static:name syntax: "
		    "%s: \"%s\"", pname, err, q));
		free(q);
	} else {
		m = xcalloc(1, sizeof(*m));
		m->type = MAP_STATIC;
		m->name = xstrdup(spec);
		m->u.static_value = xstrdup(cp);
		tables_map_add(ld, m);
	}
	free(copy);
	return m;
}

/* tables_domain - a plain domain name of a *_domains parameter */
static struct map *
tables_domain(struct conf_ld *ld, const char *pname,
    const struct conf_origin *o, const char *tok)
{
	struct map *m;
	char	*d, *key, *q;
	size_t	 len;
	bool	 dot_ok;

	/* relay_domains is a domain_list: ".example.com" is a pattern */
	dot_ok = strcmp(pname, conf_params[CONF_P_relay_domains].name) == 0;
	if (tok[0] == '/' || tok[0] == '!' || (tok[0] == '.' && !dot_ok) ||
	    tok[0] == '{' || strchr(tok, '/') != NULL) {
		q = conf_quote(tok);
		conf_err(ld, o, pname, xasprintf("%s: \"%s\": only domain "
		    "names and type:table are supported here (no /file, "
		    "!pattern%s)", pname, q, dot_ok ? "" :
		    " or .subdomain pattern"));
		free(q);
		return NULL;
	}
	/* match_list_parse(): the pattern is case-folded as written */
	d = str_casefold(tok, ld->cfg->smtputf8_enable);
	len = strlen(d);
	if (len > 1 && d[len - 1] == '.')
		d[len - 1] = '\0';
	if (dot_ok && d[0] == '.' && d[1] != '\0' && d[1] != '.' &&
	    ld->cfg->engine.relay_domains_parent) {
		q = conf_quote(tok);
		conf_warn(ld, o, pname, xasprintf("%s: \"%s\" matches no "
		    "domain while parent_domain_matches_subdomains lists "
		    "relay_domains (as in Postfix): \"%s\" covers %s and its "
		    "subdomains", pname, q, d + 1, d + 1));
		free(q);
	}
	if ((d[0] == '.' && (!dot_ok || d[1] == '\0' || d[1] == '.')) ||
	    d[0] == '\0') {
		conf_err(ld, o, pname, xasprintf("%s: \"%s\" is not a domain "
		    "name", pname, tok));
		free(d);
		return NULL;
	}
	key = xasprintf("domain:%s", d);
	if (tables_cache_find(ld, key, &m)) {
		free(key);
		free(d);
		return m;
	}
	m = xcalloc(1, sizeof(*m));
	m->type = MAP_DOMAIN;
	m->name = xstrdup(tok);
	m->u.domain = d;
	tables_map_add(ld, m);
	tables_cache_add(ld, key, m);
	free(key);
	return m;
}

/* tables_map_make - one element of a table list, built */
static struct map *
tables_map_make(struct conf_ld *ld, const char *pname,
    const struct conf_origin *o, const char *tok, bool domains)
{
	const char *spec = tok, *colon;
	size_t	 tlen, i;
	char	*q;

	colon = strchr(tok, ':');
	if (colon == NULL || (domains && *tok == '{')) {
		if (domains)
			return tables_domain(ld, pname, o, tok);
		q = conf_quote(tok);
		conf_err(ld, o, pname, xasprintf("%s: \"%s\" is not a table: "
		    "need type:name, e.g. pgsql:/etc/postfix/%s.cf", pname, q,
		    pname));
		free(q);
		return NULL;
	}
	/* proxy:pgsql:... is the same table without the proxymap hop */
	if (strncmp(tok, "proxy:", 6) == 0) {
		tok += 6;
		if ((colon = strchr(tok, ':')) == NULL) {
			conf_err(ld, o, pname, xasprintf("%s: \"%s\": need "
			    "proxy:type:name", pname, spec));
			return NULL;
		}
	}
	tlen = (size_t)(colon - tok);
	if (tlen == 5 && strncmp(tok, "pgsql", 5) == 0)
		return tables_pgsql(ld, pname, o, spec, colon + 1);
	if (tlen == 6 && strncmp(tok, "inline", 6) == 0)
		return tables_inline(ld, pname, o, spec, colon + 1);
	if (tlen == 6 && strncmp(tok, "static", 6) == 0)
		return tables_static(ld, pname, o, spec, colon + 1);
	if (conf_map_file_type(tok, tlen))
		return tables_file(ld, pname, o, spec, tok, tlen, colon + 1);
	q = conf_quote(spec);
	for (i = 0; i < NELEM(tables_other_types); i++)
		if (strlen(tables_other_types[i]) == tlen &&
		    strncmp(tables_other_types[i], tok, tlen) == 0)
			break;
	conf_err(ld, o, pname, xasprintf("%s: %s table type \"%.*s\" in "
	    "\"%s\" (vrcpt reads pgsql:, inline:, static:, hash:, btree:, "
	    "lmdb:, cdb:, texthash:, regexp:, pcre:%s)%s", pname,
	    i < NELEM(tables_other_types) ? "unsupported" : "unknown",
	    (int)tlen, tok, q, domains ? " and domain names" : "",
	    tlen == 9 && strncmp(tok, "socketmap", 9) == 0 ?
	    "; when main.cf's maps are vrcptd's socketmap, vrcptd.cf must "
	    "name the tables itself (and postfix_config_directory =)" : ""));
	free(q);
	return NULL;
}

/*
 * tables_map - one element of a table list. A table named again (say
 * through virtual_alias_domains = $virtual_alias_maps) is the same map,
 * and a refused one is reported once.
 */
static struct map *
tables_map(struct conf_ld *ld, const char *pname, const struct conf_origin *o,
    const char *tok, bool domains)
{
	struct map *m;
	char	*key;

	if (strchr(tok, ':') == NULL)
		return tables_map_make(ld, pname, o, tok, domains);
	key = xasprintf("table:%s", tok);
	if (!tables_cache_find(ld, key, &m)) {
		m = tables_map_make(ld, pname, o, tok, domains);
		tables_cache_add(ld, key, m);
	}
	free(key);
	return m;
}

/* tables_maplist - a *_maps or *_domains parameter, from its text */
static void
tables_maplist(struct conf_ld *ld, enum conf_param_id id,
    struct maplist *ml)
{
	const struct conf_param *p = &conf_params[id];
	const struct conf_origin *o = &ld->cfg->origin[id];
	bool	 domains = p->type == CONF_T_DOMAINS;
	const char *pname = p->name;
	struct map *m;
	char	*v, *cp, *tok;

	ml->param = pname;
	ml->v = NULL;
	ml->n = 0;
	if (ld->bad[id])
		return;		/* reported */
	cp = v = xstrdup(ld->cfg->raw[id]);
	while ((tok = conf_tok(&cp)) != NULL) {
		/* mydestination is read from Postfix, where a /file list is
		 * common (local-host-names): what is in it is not known
		 * here, and that is no reason to refuse to start */
		if (id == CONF_P_mydestination && tok[0] == '/') {
			char	*q = conf_quote(tok);

			conf_warn(ld, o, pname, xasprintf("%s: \"%s\": a /file "
			    "list is not read; the domains in it are not "
			    "known to be local here (list them, or use a "
			    "table)", pname, q));
			free(q);
			continue;
		}
		if ((m = tables_map(ld, pname, o, tok, domains)) == NULL)
			continue;
		ml->v = xreallocarray(ml->v, ml->n + 1, sizeof(*ml->v));
		ml->v[ml->n++] = m;
	}
	free(v);
}

/*
 * tables_both - Postfix resolve.c "do not list domain X in BOTH"; said
 * at the later of the two parameters (where the admin repeated it)
 */
static void
tables_both(struct conf_ld *ld, const struct maplist *a,
    const struct maplist *b, enum conf_param_id aid, enum conf_param_id bid)
{
	const struct conf_origin *o = &ld->cfg->origin[bid];
	size_t	 i, j;

	if (o->src == CONF_SRC_DEFAULT)
		o = &ld->cfg->origin[aid];
	for (i = 0; i < a->n; i++) {
		if (a->v[i]->type != MAP_DOMAIN)
			continue;
		for (j = 0; j < b->n; j++)
			if (b->v[j] == a->v[i]) {
				conf_warn(ld, o, b->param, xasprintf("do not "
				    "list domain %s in BOTH %s and %s",
				    a->v[i]->u.domain, a->param, b->param));
				break;
			}
	}
}

/*
 * tables_parent_style - does parent_domain_matches_subdomains list
 * relay_domains? It is a string_list (match_parent_style.c): the first
 * element that names it decides, "!relay_domains" saying no. Only
 * parameter names make sense there; a table or /file is refused.
 */
static void
tables_parent_style(struct conf_ld *ld)
{
	enum conf_param_id id = CONF_P_parent_domain_matches_subdomains;
	const struct conf_origin *o = &ld->cfg->origin[id];
	const char *pname = conf_params[id].name;
	const char *relay = conf_params[CONF_P_relay_domains].name;
	char	*v, *cp, *tok, *name, *q;
	bool	 match, decided = false;

	ld->cfg->engine.relay_domains_parent = false;
	if (ld->bad[id])
		return;
	cp = v = xstrdup(ld->cfg->raw[id]);
	while ((tok = conf_tok(&cp)) != NULL) {
		for (match = true, name = tok; *name == '!'; name++)
			match = !match;
		if (*name == '\0' || *name == '/' || *name == '{' ||
		    strchr(name, ':') != NULL) {
			q = conf_quote(tok);
			conf_err(ld, o, pname, xasprintf("%s: \"%s\": only "
			    "parameter names are supported here", pname, q));
			free(q);
			continue;
		}
		if (!decided && strcasecmp(name, relay) == 0) {
			ld->cfg->engine.relay_domains_parent = match;
			decided = true;
		}
	}
	free(v);
}

/* tables_dbconfs - group the pgsql maps by server identity */
static void
tables_dbconfs(struct conf *cfg)
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
 * tables_propagate - propagate_unmatched_extensions as Postfix reads it
 * (mail_params.c: name_mask of "canonical, virtual, alias, forward,
 * include, generic"); only canonical and virtual concern us
 */
static void
tables_propagate(struct conf_ld *ld, struct engine_cfg *ec)
{
	static const char *const known[] = { "canonical", "virtual", "alias",
	    "forward", "include", "generic" };
	struct conf *cfg = ld->cfg;
	const enum conf_param_id id = CONF_P_propagate_unmatched_extensions;
	const char *v = cfg->propagate_unmatched_extensions;
	char	*copy, *cp, *tok, *q;
	size_t	 i;

	ec->propagate_virtual = ec->propagate_canonical = false;
	if (v == NULL)
		return;
	copy = xstrdup(v);
	for (cp = copy; (tok = strsep(&cp, " \t,")) != NULL;) {
		if (*tok == '\0')
			continue;
		for (i = 0; i < NELEM(known); i++)
			if (strcasecmp(tok, known[i]) == 0)
				break;
		if (i == NELEM(known)) {
			q = conf_quote(tok);
			conf_err(ld, &cfg->origin[id], conf_params[id].name,
			    xasprintf("%s: unknown name \"%s\" (canonical, "
			    "virtual, alias, forward, include, generic)",
			    conf_params[id].name, q));
			free(q);
		} else if (i == 0)
			ec->propagate_canonical = true;
		else if (i == 1)
			ec->propagate_virtual = true;
	}
	free(copy);
}

void
tables_build(struct conf_ld *ld)
{
	struct conf *cfg = ld->cfg;
	struct engine_cfg *ec = &cfg->engine;
	size_t	 i;

	tables_parent_style(ld);
	/* maps first, so that map ids follow the order admins read */
	tables_maplist(ld, CONF_P_virtual_alias_maps, &ec->virtual_alias_maps);
	tables_maplist(ld, CONF_P_virtual_mailbox_maps,
	    &ec->virtual_mailbox_maps);
	tables_maplist(ld, CONF_P_relay_recipient_maps,
	    &ec->relay_recipient_maps);
	tables_maplist(ld, CONF_P_recipient_canonical_maps,
	    &ec->recipient_canonical_maps);
	tables_maplist(ld, CONF_P_canonical_maps, &ec->canonical_maps);
	tables_maplist(ld, CONF_P_virtual_alias_domains,
	    &ec->virtual_alias_domains);
	tables_maplist(ld, CONF_P_virtual_mailbox_domains,
	    &ec->virtual_mailbox_domains);
	tables_maplist(ld, CONF_P_relay_domains, &ec->relay_domains);
	tables_maplist(ld, CONF_P_mydestination, &ec->mydestination);
	tables_both(ld, &ec->mydestination, &ec->virtual_alias_domains,
	    CONF_P_mydestination, CONF_P_virtual_alias_domains);
	tables_both(ld, &ec->mydestination, &ec->virtual_mailbox_domains,
	    CONF_P_mydestination, CONF_P_virtual_mailbox_domains);
	tables_both(ld, &ec->virtual_alias_domains,
	    &ec->virtual_mailbox_domains, CONF_P_virtual_alias_domains,
	    CONF_P_virtual_mailbox_domains);
	tables_both(ld, &ec->virtual_alias_domains, &ec->relay_domains,
	    CONF_P_virtual_alias_domains, CONF_P_relay_domains);
	tables_both(ld, &ec->virtual_mailbox_domains, &ec->relay_domains,
	    CONF_P_virtual_mailbox_domains, CONF_P_relay_domains);
	tables_dbconfs(cfg);

	ec->addr.recipient_delimiter = cfg->recipient_delimiter;
	ec->addr.owner_request_special = cfg->owner_request_special;
	ec->addr.double_bounce_sender = cfg->double_bounce_sender;
	ec->addr.utf8 = cfg->smtputf8_enable;
	ec->unknown_virtual_alias_reject_code =
	    cfg->unknown_virtual_alias_reject_code;
	ec->unknown_virtual_mailbox_reject_code =
	    cfg->unknown_virtual_mailbox_reject_code;
	ec->unknown_relay_recipient_reject_code =
	    cfg->unknown_relay_recipient_reject_code;
	ec->show_user_unknown_table_name = cfg->show_user_unknown_table_name;
	ec->soft_bounce = cfg->soft_bounce;
	ec->warn_if_reject = cfg->warn_if_reject;
	ec->lookup_failure_action = cfg->lookup_failure_action;
	ec->other_domain_action = cfg->other_domain_action;
	tables_propagate(ld, ec);

	for (i = 0; i < ld->ncache; i++)
		free(ld->cache[i].key);
	free(ld->cache);
	ld->cache = NULL;
	ld->ncache = 0;
}

void
tables_free(struct conf *cfg)
{
	struct engine_cfg *ec = &cfg->engine;
	struct maplist *lists[] = {
		&ec->mydestination,
		&ec->virtual_alias_domains, &ec->virtual_mailbox_domains,
		&ec->relay_domains, &ec->virtual_alias_maps,
		&ec->virtual_mailbox_maps, &ec->relay_recipient_maps,
		&ec->recipient_canonical_maps, &ec->canonical_maps,
	};
	size_t	 i;

	for (i = 0; i < NELEM(lists); i++)
		free(lists[i]->v);
	for (i = 0; i < cfg->nmaps; i++)
		tables_map_free(cfg->maps[i]);
	free(cfg->maps);
	for (i = 0; i < cfg->ndbconfs; i++)
		free(cfg->dbconfs[i].maps);
	free(cfg->dbconfs);
}
