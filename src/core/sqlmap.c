/*
 * sqlmap - Postfix pgsql_table(5) map files: parsing, query compilation,
 * key expansion and result formatting, without any I/O.
 *
 * A .cf file is read the way Postfix reads it (cfg_parser.c on top of
 * dict_load_fp(): readllines() logical lines, split_nameval(), last
 * assignment wins). The query template is then compiled once into SQL
 * with $n parameters, and each lookup only computes parameter values
 * (db_common_expand() rules), so that the key never becomes SQL text.
 *
 * Query compilation scans the template with PostgreSQL's lexical rules:
 *   'text'      a single-quoted literal: if it contains a % expansion it
 *               becomes one parameter whose template is the literal's
 *               content ('' unescaped to '); otherwise it stays in the
 *               SQL with %% turned into %, as Postfix would send it;
 *   %s (etc.)   outside quotes: a parameter of its own; it must stand
 *               alone as a value (not glued to an identifier or quote);
 *   %%          a % everywhere (Postfix expands %% in the whole query);
 *   E'..', U&'..', B'..', X'..', N'..'   copied as written (E'' with
 *               backslash escapes honoured to find its end), but a %
 *               expansion in one is an error: its escapes would have to
 *               be interpreted to build the parameter;
 *   "ident"     copied; a % expansion in it is an error (Postfix would
 *               paste the key into an identifier);
 *   -- and slash-star comments   copied; expansions in them count for
 *               the suppression rules (Postfix scans the whole template)
 *               but produce no parameter;
 *   $1 or $$..$$ / $tag$..$tag$  outside quotes: an error (numbering would
 *               clash; dollar quoting is not scanned);
 *   ;           only at the very end (dropped): one statement.
 * Plain literals are assumed to follow standard_conforming_strings = on
 * (PostgreSQL's default since 9.1): a backslash in '...' is a backslash.
 * A parameter that is an argument of a function taking VARIADIC "any"
 * (concat(), format(), ...) is written $n::text, because PostgreSQL cannot
 * infer a parameter's type there, while the quoted literal it replaces
 * would have been taken as text.
 *
 * Depends on: libc, util/ (xalloc, buf, strutil). Pure: no I/O, no clock.
 *
 * Security: this is where untrusted keys meet SQL. Keys only ever become
 * parameter values (sqlmap_expand); the SQL text comes from the .cf file
 * alone. Keys quoted in messages are sanitised here, because those
 * messages go to the log.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/sqlmap.h"
#include "util/buf.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define SQLMAP_DEFAULT_HOST	"localhost"
#define SQLMAP_DEFAULT_FORMAT	"%s"
#define SQLMAP_DEFAULT_RETRY	60	/* dict_pgsql.c DEF_RETRY_INTV */
#define SQLMAP_DEFAULT_IDLE	60	/* dict_pgsql.c DEF_IDLE_INTV */
#define SQLMAP_LIST_SEP		", \t\r\n"	/* Postfix CHARS_COMMA_SP */
#define SQLMAP_SPACE		" \t\r\n\v\f"
#define SQLMAP_QUOTE_MAX	60	/* bytes of a line quoted in errors */
#define SQLMAP_SQL_MAX		(SQLMAP_TEXT_MAX * 2)	/* compiled SQL */
#define SQLMAP_PAREN_MAX	64	/* ( nesting tracked for ::text */

/* the parameters a pgsql .cf file may set (pgsql_table(5)) */
static const char *const sqlmap_known[] = {
	"hosts", "user", "password", "dbname", "query", "result_format",
	"domain", "expansion_limit", "retry_interval", "idle_interval",
	"encoding", "select_function", "table", "select_field",
	"where_field", "additional_conditions",
};

/*
 * PostgreSQL functions whose arguments are VARIADIC "any" (or "any"): a
 * parameter of unknown type cannot be resolved there.
 */
static const char *const sqlmap_any_funcs[] = {
	"concat", "concat_ws", "format", "pg_typeof", "num_nulls",
	"num_nonnulls", "json_build_array", "json_build_object",
	"jsonb_build_array", "jsonb_build_object",
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* sqlmap_is_space - Postfix ISSPACE() */
static bool
sqlmap_is_space(char c)
{
	return c != '\0' && strchr(SQLMAP_SPACE, c) != NULL;
}

/* sqlmap_is_ident - a character that continues an SQL identifier */
static bool
sqlmap_is_ident(char c)
{
	unsigned char uc = (unsigned char)c;

	return isalnum(uc) || c == '_' || uc >= 0x80;
}

/* sqlmap_msg_add - append one message line to a growing string list */
static void
sqlmap_msg_add(char ***v, size_t *n, char *msg)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = msg;
}

/* sqlmap_quote - a bounded, printable copy of text for a message */
static char *
sqlmap_quote(const char *text, size_t len)
{
	char	 tmp[SQLMAP_QUOTE_MAX + 4];

	str_sanitize(tmp, text, len, SQLMAP_QUOTE_MAX);
	return xstrdup(tmp);
}

/*
 * Postfix main.cf syntax.
 */

/*
 * The names read so far, for the "overriding earlier entry" check: an
 * open-addressing table of entry indexes (+1; 0 is free), so that a
 * file of many names costs linear time, not quadratic (a 1 MB vrcptd.cf
 * took minutes to load with a scan back per line).
 */
#define SQLMAP_NAMES_MIN	64	/* first table size, a power of two */

struct sqlmap_names {
	size_t	*slot;
	size_t	 cap;		/* a power of two; at most half used */
	size_t	 used;
};

/* sqlmap_name_hash - FNV-1a of a name */
static size_t
sqlmap_name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return (size_t)h;
}

/* sqlmap_name_slot - the slot of name: its entry, or a free one */
static size_t *
sqlmap_name_slot(const struct sqlmap_names *t, const struct sqlmap_cf *cf,
    const char *name)
{
	size_t	 i = sqlmap_name_hash(name) & (t->cap - 1);

	while (t->slot[i] != 0 && strcmp(cf->v[t->slot[i] - 1].name,
	    name) != 0)
		i = (i + 1) & (t->cap - 1);
	return &t->slot[i];
}

/* sqlmap_names_grow - double the table (and fill it) when half full */
static void
sqlmap_names_grow(struct sqlmap_names *t, const struct sqlmap_cf *cf)
{
	struct sqlmap_names bigger;
	size_t	 i;

	if (t->slot != NULL && 2 * (t->used + 1) <= t->cap)
		return;
	bigger.cap = t->cap != 0 ? 2 * t->cap : SQLMAP_NAMES_MIN;
	bigger.slot = xcalloc(bigger.cap, sizeof(*bigger.slot));
	bigger.used = t->used;
	for (i = 0; i < t->cap; i++)
		if (t->slot[i] != 0)
			*sqlmap_name_slot(&bigger, cf,
			    cf->v[t->slot[i] - 1].name) = t->slot[i];
	free(t->slot);
	*t = bigger;
}

/* sqlmap_cf_flush - split one logical line (split_nameval.c) */
static void
sqlmap_cf_flush(const char *path, struct buf *lbuf, unsigned line,
    struct sqlmap_cf *cf, struct sqlmap_names *names)
{
	char	*s = lbuf->data, *name, *ep, *cp, *value;
	const char *why = NULL;
	size_t	*slot;

	if (lbuf->len == 0)
		return;
	name = s + strspn(s, SQLMAP_SPACE);
	if (*name == '\0' || *name == '=') {
		why = "missing attribute name";
	} else {
		for (ep = name; *ep && !sqlmap_is_space(*ep) && *ep != '=';
		    ep++)
			;
		cp = ep + strspn(ep, SQLMAP_SPACE);
		if (*cp != '=')
			why = "missing '=' after attribute name";
	}
	if (why != NULL) {
		/* not the line's text: it may be a password on its own */
		sqlmap_msg_add(&cf->errors, &cf->nerrors,
		    xasprintf("%s:%u: %s (the line is not shown: it may hold "
		    "a password)", path, line, why));
		buf_reset(lbuf);
		return;
	}
	*ep = '\0';
	value = cp + 1;
	value += strspn(value, SQLMAP_SPACE);
	for (ep = value + strlen(value); ep > value && sqlmap_is_space(ep[-1]);
	    ep--)
		;
	*ep = '\0';

	/* dict_load_fp(): a changed value is worth a warning */
	sqlmap_names_grow(names, cf);
	slot = sqlmap_name_slot(names, cf, name);
	if (*slot != 0 && strcmp(cf->v[*slot - 1].value, value) != 0)
		sqlmap_msg_add(&cf->warnings, &cf->nwarnings,
		    xasprintf("%s:%u: warning: overriding earlier entry: %s "
		    "(line %u)", path, line, name, cf->v[*slot - 1].line));
	if (*slot == 0)
		names->used++;
	*slot = cf->n + 1;	/* the last assignment is the one compared */
	if (cf->n == cf->vcap) {
		/* geometric: one realloc per line copies quadratically
		 * where realloc cannot grow in place (valgrind) */
		cf->vcap = cf->vcap != 0 ? 2 * cf->vcap : SQLMAP_NAMES_MIN;
		cf->v = xreallocarray(cf->v, cf->vcap, sizeof(*cf->v));
	}
	cf->v[cf->n].name = xstrdup(name);
	cf->v[cf->n].value = xstrdup(value);
	cf->v[cf->n].line = line;
	cf->n++;
	buf_reset(lbuf);
}

/* sqlmap_cf_read - logical lines as readllines() builds them */
void
sqlmap_cf_read(const char *path, const char *text, size_t len,
    struct sqlmap_cf *cf)
{
	struct buf lbuf;
	struct sqlmap_names names = { NULL, 0, 0 };
	size_t	 pos = 0, plen, skip;
	unsigned lineno = 0, first = 0;
	const char *p, *nl;
	bool	 orphan = false;

	memset(cf, 0, sizeof(*cf));
	buf_init(&lbuf, 0);
	while (pos < len) {
		p = text + pos;
		nl = memchr(p, '\n', len - pos);
		plen = nl != NULL ? (size_t)(nl - p) : len - pos;
		pos += plen + (nl != NULL);
		lineno++;
		if (memchr(p, '\0', plen) != NULL) {
			sqlmap_msg_add(&cf->errors, &cf->nerrors,
			    xasprintf("%s:%u: NUL byte in line", path, lineno));
			continue;
		}
		/* blank and comment lines never end a logical line */
		for (skip = 0; skip < plen && sqlmap_is_space(p[skip]); skip++)
			;
		if (skip == plen || p[skip] == '#')
			continue;
		if (skip > 0) {
			if (lbuf.len > 0) {
				buf_append(&lbuf, p, plen);
				continue;
			}
			if (!orphan)
				sqlmap_msg_add(&cf->warnings, &cf->nwarnings,
				    xasprintf("%s:%u: warning: logical line "
				    "must not start with whitespace (ignored; "
				    "the line is not shown: it may hold a "
				    "password)", path, lineno));
			orphan = true;
			continue;
		}
		sqlmap_cf_flush(path, &lbuf, first, cf, &names);
		orphan = false;
		first = lineno;
		buf_append(&lbuf, p, plen);
	}
	sqlmap_cf_flush(path, &lbuf, first, cf, &names);
	buf_free(&lbuf);
	free(names.slot);
}

void
sqlmap_cf_free(struct sqlmap_cf *cf)
{
	size_t	 i;

	for (i = 0; i < cf->n; i++) {
		free(cf->v[i].name);
		free(cf->v[i].value);
	}
	for (i = 0; i < cf->nerrors; i++)
		free(cf->errors[i]);
	for (i = 0; i < cf->nwarnings; i++)
		free(cf->warnings[i]);
	free(cf->v);
	free(cf->errors);
	free(cf->warnings);
	memset(cf, 0, sizeof(*cf));
}

/* sqlmap_cf_get - the last assignment of name, or NULL */
static const struct sqlmap_cf_entry *
sqlmap_cf_get(const struct sqlmap_cf *cf, const char *name)
{
	size_t	 i;

	for (i = cf->n; i-- > 0;)
		if (strcmp(cf->v[i].name, name) == 0)
			return &cf->v[i];
	return NULL;
}

/*
 * Templates.
 */

/*
 * sqlmap_scan_needs - validate a template's % sequences and collect what
 * it needs of the key (db_common_parse). Returns NULL, or a static
 * description of the first bad sequence.
 */
static const char *
sqlmap_scan_needs(const char *tmpl, bool query, struct sqlmap_needs *n)
{
	const char *cp;

	for (cp = tmpl; *cp != '\0'; cp++) {
		if (*cp != '%')
			continue;
		switch (*++cp) {
		case '%':
		case 's':
		case 'S':
			break;
		case 'u':
			if (query)
				n->key_user = true;
			else
				n->val_user = true;
			break;
		case 'd':
			if (query)
				n->key_domain = true;
			else
				n->val_domain = true;
			break;
		case 'U':
			n->key_user = true;
			break;
		case 'D':
			n->key_domain = true;
			break;
		case '1': case '2': case '3': case '4': case '5':
		case '6': case '7': case '8': case '9':
			if (n->nparts < (unsigned)(*cp - '0'))
				n->nparts = (unsigned)(*cp - '0');
			n->key_domain = true;
			break;
		case '\0':
			return "a lone '%' at the end (write %% for a "
			    "literal %)";
		default:
			return "an unknown % expansion (valid: %% %s %u %d "
			    "%S %U %D %1..%9; write %% for a literal %)";
		}
	}
	return NULL;
}

/* sqlmap_needs - what both templates of a map need (one db_common ctx) */
static void
sqlmap_needs(const struct sqlmap *sm, struct sqlmap_needs *n)
{
	memset(n, 0, sizeof(*n));
	(void)sqlmap_scan_needs(sm->query_tmpl, true, n);
	(void)sqlmap_scan_needs(sm->result_format, false, n);
}

/*
 * sqlmap_labels - the domain's labels as Postfix argv_split(domain, ".")
 * makes them: empty labels are dropped (mystrtok), so "a..b" has two.
 * Fills starts/lens for at most SQLMAP_LABELS labels counted from the
 * right; returns the total number of labels.
 */
#define SQLMAP_LABELS	9

static size_t
sqlmap_labels(const char *dom, const char *starts[SQLMAP_LABELS],
    size_t lens[SQLMAP_LABELS])
{
	size_t	 total = 0;
	const char *end, *start;

	if (dom == NULL)
		return 0;
	end = dom + strlen(dom);
	while (end > dom) {
		while (end > dom && end[-1] == '.')
			end--;
		if (end == dom)
			break;
		/* pointers only, never end[-len - 1]: with an unsigned len
		 * that is end + SIZE_MAX - len, undefined (UBSan) */
		for (start = end; start > dom && start[-1] != '.'; start--)
			;
		if (total < SQLMAP_LABELS) {
			starts[total] = start;
			lens[total] = (size_t)(end - start);
		}
		total++;
		end = start;
	}
	return total;
}

/*
 * sqlmap_key_ok - the key has what the templates need (the checks at the
 * top of db_common_expand() for a query): a non-empty local part for %u,
 * a non-empty domain for %d, enough labels for %N.
 */
static bool
sqlmap_key_ok(const struct sqlmap_needs *n, const char *key)
{
	const char *at = strrchr(key, '@');
	const char *starts[SQLMAP_LABELS];
	size_t	 lens[SQLMAP_LABELS];

	if (n->key_domain && (at == NULL || at[1] == '\0'))
		return false;
	if (n->key_user && at == key)
		return false;
	if (n->nparts > 0 &&
	    sqlmap_labels(at + 1, starts, lens) < n->nparts)
		return false;
	return true;
}

/* sqlmap_part - append the local part or the domain of s */
static void
sqlmap_part(struct buf *out, const char *s, bool domain)
{
	const char *at = strrchr(s, '@');

	if (domain)
		buf_puts(out, at != NULL ? at + 1 : "");
	else if (at != NULL)
		buf_append(out, s, (size_t)(at - s));
	else
		buf_puts(out, s);
}

/*
 * sqlmap_subst - expand tmpl into out (the substitution loop of
 * db_common_expand()). value is the key for a query, a result value for
 * result_format; key is NULL for a query and the lookup key for a
 * result. The caller has checked that the needed parts exist.
 */
static void
sqlmap_subst(struct buf *out, const char *tmpl, const char *value,
    const char *key)
{
	const char *cp, *k = key != NULL ? key : value, *at;
	const char *starts[SQLMAP_LABELS];
	size_t	 lens[SQLMAP_LABELS], nl, idx;

	for (cp = tmpl; *cp != '\0'; cp++) {
		if (*cp != '%') {
			buf_append(out, cp, 1);
			continue;
		}
		switch (*++cp) {
		case '%':
			buf_append(out, "%", 1);
			break;
		case 's':
			buf_puts(out, value);
			break;
		case 'u':
			sqlmap_part(out, value, false);
			break;
		case 'd':
			sqlmap_part(out, value, true);
			break;
		case 'S':
			buf_puts(out, k);
			break;
		case 'U':
			sqlmap_part(out, k, false);
			break;
		case 'D':
			sqlmap_part(out, k, true);
			break;
		case '1': case '2': case '3': case '4': case '5':
		case '6': case '7': case '8': case '9':
			at = strrchr(k, '@');
			nl = sqlmap_labels(at != NULL ? at + 1 : NULL, starts,
			    lens);
			idx = (size_t)(*cp - '1');
			if (idx < nl && idx < SQLMAP_LABELS)
				buf_append(out, starts[idx], lens[idx]);
			break;
		case '\0':
			/* rejected by sqlmap_parse(); never read past NUL */
			return;
		default:
			break;
		}
	}
}

/*
 * Query compilation.
 */

struct sqlmap_compile {
	const char *t;		/* the template */
	size_t	 len;
	struct buf sql;
	struct sqlmap *sm;
	const char *err;	/* static reason */
	size_t	 errpos;	/* where, in t */
	/* paren nesting: is each open paren a VARIADIC "any" call? */
	bool	 anyfunc[SQLMAP_PAREN_MAX];
	size_t	 depth;
};

/* sqlmap_fail - remember the first compilation error */
static void
sqlmap_fail(struct sqlmap_compile *c, size_t pos, const char *why)
{
	if (c->err == NULL) {
		c->err = why;
		c->errpos = pos;
	}
}

/* sqlmap_is_exp - "%X" with X an expansion letter (not %%) */
static bool
sqlmap_is_exp(char x)
{
	return x != '\0' && strchr("sudSUD123456789", x) != NULL;
}

/*
 * sqlmap_glued - a character that would make an unquoted expansion part
 * of a name, a string or an address instead of a value of its own
 */
static bool
sqlmap_glued(char c)
{
	return sqlmap_is_ident(c) || (c != '\0' && strchr("$.'\"@", c) != NULL);
}

/* sqlmap_any_call - is the identifier before pos a VARIADIC "any" fn */
static bool
sqlmap_any_call(const struct sqlmap_compile *c, size_t pos)
{
	size_t	 end = pos, start, i;

	while (end > 0 && sqlmap_is_space(c->t[end - 1]))
		end--;
	start = end;
	while (start > 0 && sqlmap_is_ident(c->t[start - 1]))
		start--;
	if (start == end)
		return false;
	for (i = 0; i < NELEM(sqlmap_any_funcs); i++)
		if (strlen(sqlmap_any_funcs[i]) == end - start &&
		    strncasecmp(sqlmap_any_funcs[i], c->t + start,
		    end - start) == 0)
			return true;
	return false;
}

/* sqlmap_add_param - emit $n for a new parameter with template tmpl */
static void
sqlmap_add_param(struct sqlmap_compile *c, size_t pos, const char *tmpl,
    size_t tlen)
{
	struct sqlmap *sm = c->sm;

	if (sm->nparams >= SQLMAP_PARAMS_MAX) {
		sqlmap_fail(c, pos, "too many % expansions (the limit is "
		    "16 quoted strings or expansions)");
		return;
	}
	sm->params[sm->nparams].tmpl = xstrndup(tmpl, tlen);
	sm->nparams++;
	buf_printf(&c->sql, "$%zu", sm->nparams);
	if (c->depth > 0 && c->depth <= SQLMAP_PAREN_MAX &&
	    c->anyfunc[c->depth - 1])
		buf_puts(&c->sql, "::text");
}

/*
 * sqlmap_literal - a single-quoted literal starting at t[i] (the quote).
 * prefixed: a letter or & stands right before it (E'', U&'', B'', ...);
 * escapes: E'' (backslash escapes). Returns the index after it.
 */
static size_t
sqlmap_literal(struct sqlmap_compile *c, size_t i, bool prefixed,
    bool escapes)
{
	struct buf content, raw;
	size_t	 start = i, j = i + 1;
	bool	 has_exp = false;
	char	 ch;

	buf_init(&content, 0);
	buf_init(&raw, 0);
	for (;;) {
		if (j >= c->len) {
			sqlmap_fail(c, start, "unterminated quoted string");
			break;
		}
		ch = c->t[j];
		if (escapes && ch == '\\' && j + 1 < c->len) {
			buf_append(&raw, c->t + j, 2);
			j += 2;
			continue;
		}
		if (ch == '\'') {
			if (j + 1 < c->len && c->t[j + 1] == '\'') {
				buf_append(&content, "'", 1);
				buf_append(&raw, "''", 2);
				j += 2;
				continue;
			}
			j++;
			break;
		}
		if (ch == '%') {
			if (j + 1 < c->len && c->t[j + 1] == '%') {
				buf_append(&content, "%%", 2);
				buf_append(&raw, "%", 1);
			} else {
				buf_append(&content, c->t + j, 2);
				has_exp = true;
			}
			j += 2;
			continue;
		}
		buf_append(&content, &ch, 1);
		buf_append(&raw, &ch, 1);
		j++;
	}
	if (has_exp && prefixed)
		sqlmap_fail(c, start, "a % expansion inside an E'...', "
		    "U&'...' or other prefixed string (use a plain '...')");
	else if (has_exp) {
		sqlmap_add_param(c, start, buf_str(&content), content.len);
		/*
		 * The closing quote ended the token; $n must not run into
		 * what follows: '%u'0 is not $10, '%s'AS k not $1AS k
		 * (PostgreSQL 15: "trailing junk after parameter").
		 */
		if (j < c->len && sqlmap_is_ident(c->t[j]))
			buf_append(&c->sql, " ", 1);
	} else {
		buf_append(&c->sql, "'", 1);
		buf_append(&c->sql, buf_str(&raw), raw.len);
		buf_append(&c->sql, "'", 1);
	}
	buf_free(&content);
	buf_free(&raw);
	return j;
}

/*
 * sqlmap_verbatim - copy t[i..end) with %% turned into % and other %
 * sequences dropped (comments) or rejected (quoted identifiers).
 */
static void
sqlmap_verbatim(struct sqlmap_compile *c, size_t i, size_t end,
    bool reject_exp)
{
	while (i < end) {
		if (c->t[i] == '%' && i + 1 < end) {
			if (c->t[i + 1] == '%')
				buf_append(&c->sql, "%", 1);
			else if (reject_exp)
				sqlmap_fail(c, i, "a % expansion inside a "
				    "\"quoted identifier\"");
			else
				buf_append(&c->sql, c->t + i, 2);
			i += 2;
			continue;
		}
		buf_append(&c->sql, c->t + i, 1);
		i++;
	}
}

/* sqlmap_compile - turn sm->query_tmpl into sm->sql and sm->params */
static const char *
sqlmap_compile(struct sqlmap *sm, size_t *errpos_r)
{
	struct sqlmap_compile c;
	size_t	 i, j, level, rest;
	char	 ch, prev;
	bool	 prefixed;

	memset(&c, 0, sizeof(c));
	c.t = sm->query_tmpl;
	c.len = strlen(c.t);
	c.sm = sm;
	buf_init(&c.sql, SQLMAP_SQL_MAX);
	i = 0;
	while (i < c.len && c.err == NULL) {
		ch = c.t[i];
		prev = i > 0 ? c.t[i - 1] : ' ';
		switch (ch) {
		case '\'':
			/* a$'..' would become a$$1: a name, not a value */
			prefixed = sqlmap_is_ident(prev) || prev == '&' ||
			    prev == '$';
			i = sqlmap_literal(&c, i, prefixed,
			    (prev == 'E' || prev == 'e') &&
			    (i < 2 || !sqlmap_is_ident(c.t[i - 2])));
			continue;
		case '"':
			for (j = i + 1; j < c.len; j++) {
				if (c.t[j] == '"' && j + 1 < c.len &&
				    c.t[j + 1] == '"')
					j++;
				else if (c.t[j] == '"')
					break;
			}
			if (j >= c.len) {
				sqlmap_fail(&c, i, "unterminated quoted "
				    "identifier");
				continue;
			}
			sqlmap_verbatim(&c, i, j + 1, true);
			i = j + 1;
			continue;
		case '-':
			if (i + 1 < c.len && c.t[i + 1] == '-') {
				sqlmap_verbatim(&c, i, c.len, false);
				i = c.len;
				continue;
			}
			break;
		case '/':
			if (i + 1 < c.len && c.t[i + 1] == '*') {
				/* PostgreSQL block comments nest */
				for (level = 1, j = i + 2; j < c.len &&
				    level > 0; j++) {
					if (c.t[j] == '/' && j + 1 < c.len &&
					    c.t[j + 1] == '*') {
						level++;
						j++;
					} else if (c.t[j] == '*' &&
					    j + 1 < c.len &&
					    c.t[j + 1] == '/') {
						level--;
						j++;
					}
				}
				if (level > 0) {
					sqlmap_fail(&c, i, "unterminated /* "
					    "comment");
					continue;
				}
				sqlmap_verbatim(&c, i, j, false);
				i = j;
				continue;
			}
			break;
		case '%':
			if (i + 1 < c.len && c.t[i + 1] == '%') {
				buf_append(&c.sql, "%", 1);
				i += 2;
				continue;
			}
			if (i + 1 >= c.len || !sqlmap_is_exp(c.t[i + 1])) {
				sqlmap_fail(&c, i, "an unknown % expansion "
				    "(write %% for a literal %)");
				continue;
			}
			/* a value on its own, not part of a name or string */
			if (sqlmap_glued(prev) || (i + 2 < c.len &&
			    (sqlmap_glued(c.t[i + 2]) || (c.t[i + 2] == '%' &&
			    i + 3 < c.len && sqlmap_is_exp(c.t[i + 3]))))) {
				sqlmap_fail(&c, i, "a % expansion outside "
				    "quotes must stand alone as a value "
				    "(vrcpt passes it as a query parameter, "
				    "it cannot become part of a name)");
				continue;
			}
			sqlmap_add_param(&c, i, c.t + i, 2);
			i += 2;
			continue;
		case '$':
			if (i + 1 < c.len &&
			    isdigit((unsigned char)c.t[i + 1])) {
				sqlmap_fail(&c, i, "a $n placeholder (vrcpt "
				    "numbers its own query parameters)");
				continue;
			}
			if (!sqlmap_is_ident(prev)) {
				sqlmap_fail(&c, i, "a dollar-quoted string "
				    "(use '...')");
				continue;
			}
			break;
		case ';':
			rest = strspn(c.t + i + 1, SQLMAP_SPACE ";");
			if (i + 1 + rest != c.len) {
				sqlmap_fail(&c, i, "more than one SQL "
				    "statement");
				continue;
			}
			i = c.len;
			continue;
		case '(':
			if (c.depth < SQLMAP_PAREN_MAX)
				c.anyfunc[c.depth] = sqlmap_any_call(&c, i);
			c.depth++;
			break;
		case ')':
			if (c.depth > 0)
				c.depth--;
			break;
		default:
			break;
		}
		buf_append(&c.sql, &ch, 1);
		i++;
	}
	/* white space before a dropped ";" (or after the legacy query) */
	while (c.sql.len > 0 && sqlmap_is_space(c.sql.data[c.sql.len - 1]))
		c.sql.data[--c.sql.len] = '\0';
	if (c.err == NULL && c.sql.len == 0)
		sqlmap_fail(&c, 0, "empty query");
	if (c.err != NULL) {
		buf_free(&c.sql);
		*errpos_r = c.errpos;
		return c.err;
	}
	sm->sql = xstrndup(buf_str(&c.sql), c.sql.len);
	buf_free(&c.sql);
	return NULL;
}

/*
 * Parsing.
 */

/* sqlmap_err - add "path:line: msg" (line 0: "path: msg"); frees msg */
static void
sqlmap_err(struct buf *errs, const char *path, unsigned line, char *msg)
{
	if (errs->len > 0)
		buf_append(errs, "\n", 1);
	if (line > 0)
		buf_printf(errs, "%s:%u: %s", path, line, msg);
	else
		buf_printf(errs, "%s: %s", path, msg);
	free(msg);
}

/* sqlmap_uint - a plain decimal number >= min */
static void
sqlmap_uint(const struct sqlmap_cf *cf, const char *path, const char *name,
    unsigned min, unsigned *val, struct buf *errs)
{
	const struct sqlmap_cf_entry *e = sqlmap_cf_get(cf, name);
	unsigned v;

	if (e == NULL)
		return;
	if (str_to_uint(e->value, &v) < 0 || v < min) {
		sqlmap_err(errs, path, e->line, xasprintf("bad %s value "
		    "\"%s\": need a whole number >= %u", name, e->value,
		    min));
		return;
	}
	*val = v;
}

/* sqlmap_hosts - "hosts =": kept as written, checked for sense */
static void
sqlmap_hosts(struct sqlmap *sm, const struct sqlmap_cf_entry *e,
    struct buf *errs)
{
	char	*copy, *cp, *h;
	const char *rest;
	bool	 bad;

	if (e == NULL || e->value[0] == '\0') {
		sm->conn.hosts[sm->conn.nhosts++] =
		    xstrdup(SQLMAP_DEFAULT_HOST);
		return;
	}
	copy = cp = xstrdup(e->value);
	while ((h = strsep(&cp, SQLMAP_LIST_SEP)) != NULL) {
		if (*h == '\0')
			continue;
		if (sm->conn.nhosts >= SQLMAP_HOSTS_MAX) {
			sqlmap_err(errs, sm->path, e->line, xasprintf(
			    "too many hosts (more than %d)",
			    SQLMAP_HOSTS_MAX));
			break;
		}
		/* dict_pgsql.c host_init(): URI, unix:/path, inet:h:p, h:p */
		if (strncmp(h, "postgresql://", 13) == 0 ||
		    strncmp(h, "postgres://", 11) == 0) {
			bad = false;
		} else if (strncmp(h, "unix:", 5) == 0) {
			bad = h[5] != '/';
		} else if (strncmp(h, "inet:", 5) == 0) {
			rest = h + 5;
			bad = rest[0] == '\0' || rest[0] == '/' ||
			    rest[0] == ':';
		} else {
			bad = h[0] == ':';
		}
		if (bad) {
			sqlmap_err(errs, sm->path, e->line, xasprintf(
			    "bad hosts entry \"%s\": use inet:host:port, "
			    "host:port, host, unix:/directory or a "
			    "postgresql:// URI", h));
			continue;
		}
		sm->conn.hosts[sm->conn.nhosts++] = xstrdup(h);
	}
	free(copy);
	if (sm->conn.nhosts == 0 && errs->len == 0)
		sm->conn.hosts[sm->conn.nhosts++] =
		    xstrdup(SQLMAP_DEFAULT_HOST);
}

/* sqlmap_domains - "domain =": plain domain names only */
static void
sqlmap_domains(struct sqlmap *sm, const struct sqlmap_cf_entry *e,
    struct buf *errs)
{
	char	*copy, *cp, *d;

	if (e == NULL || e->value[0] == '\0')
		return;
	copy = cp = xstrdup(e->value);
	while ((d = strsep(&cp, SQLMAP_LIST_SEP)) != NULL) {
		if (*d == '\0')
			continue;
		if (strchr(d, ':') != NULL || d[0] == '/' || d[0] == '!' ||
		    d[0] == '{') {
			sqlmap_err(errs, sm->path, e->line, xasprintf(
			    "domain = \"%s\" is not supported: list domain "
			    "names only (no type:table, /file or !pattern)",
			    d));
			continue;
		}
		if (sm->ndomains >= SQLMAP_DOMAINS_MAX) {
			sqlmap_err(errs, sm->path, e->line, xasprintf(
			    "too many domains (more than %d)",
			    SQLMAP_DOMAINS_MAX));
			break;
		}
		sm->domains = xreallocarray(sm->domains, sm->ndomains + 1,
		    sizeof(*sm->domains));
		sm->domains[sm->ndomains++] = str_fold_utf8(d);
	}
	free(copy);
}

/* sqlmap_str - a string parameter; "" counts as unset (libpq does too) */
static char *
sqlmap_str(const struct sqlmap_cf *cf, const char *name)
{
	const struct sqlmap_cf_entry *e = sqlmap_cf_get(cf, name);

	return e != NULL && e->value[0] != '\0' ? xstrdup(e->value) : NULL;
}

/* sqlmap_query - "query =", or the one Postfix builds from legacy fields */
static void
sqlmap_query(struct sqlmap *sm, const struct sqlmap_cf *cf,
    struct buf *errs, unsigned *line_r)
{
	const struct sqlmap_cf_entry *q, *fn, *tab, *sel, *wh, *add;

	q = sqlmap_cf_get(cf, "query");
	fn = sqlmap_cf_get(cf, "select_function");
	if (q != NULL) {
		*line_r = q->line;
		sm->query_tmpl = xstrdup(q->value);
		return;
	}
	if (fn != NULL) {
		/* dict_pgsql.c pgsql_parse_config() */
		*line_r = fn->line;
		sm->query_tmpl = xasprintf("SELECT %s('%%s')", fn->value);
		return;
	}
	tab = sqlmap_cf_get(cf, "table");
	sel = sqlmap_cf_get(cf, "select_field");
	wh = sqlmap_cf_get(cf, "where_field");
	add = sqlmap_cf_get(cf, "additional_conditions");
	if (tab == NULL && sel == NULL && wh == NULL) {
		sqlmap_err(errs, sm->path, 0, xstrdup("no query: set "
		    "query = SELECT ... WHERE ... = '%s'"));
		return;
	}
	if (tab == NULL || sel == NULL || wh == NULL) {
		sqlmap_err(errs, sm->path, 0, xasprintf("no query, and the "
		    "legacy form needs all of table, select_field and "
		    "where_field (missing: %s)", tab == NULL ? "table" :
		    sel == NULL ? "select_field" : "where_field"));
		return;
	}
	/* db_common_sql_build_query(), spacing included */
	*line_r = tab->line;
	sm->query_tmpl = xasprintf("SELECT %s FROM %s WHERE %s='%%s' %s",
	    sel->value, tab->value, wh->value,
	    add != NULL ? add->value : "");
}

/* sqlmap_encoding_utf8 - a PostgreSQL name for UTF-8 ("UTF8", "utf-8") */
static bool
sqlmap_encoding_utf8(const char *enc)
{
	char	 clean[16];
	size_t	 n = 0;

	/* pg_char_to_encoding() ignores everything but letters and digits */
	for (; *enc != '\0' && n < sizeof(clean) - 1; enc++)
		if (isalnum((unsigned char)*enc))
			clean[n++] = (char)tolower((unsigned char)*enc);
	clean[n] = '\0';
	return strcmp(clean, "utf8") == 0 || strcmp(clean, "unicode") == 0;
}

static void
sqlmap_warn(char **warnings_r, const char *msg)
{
	char	*w;

	if (warnings_r == NULL)
		return;
	if (*warnings_r == NULL) {
		*warnings_r = xstrdup(msg);
		return;
	}
	w = xasprintf("%s\n%s", *warnings_r, msg);
	free(*warnings_r);
	*warnings_r = w;
}

int
sqlmap_parse(const char *path, const char *text, size_t len,
    struct sqlmap **sm_r, char **warnings_r, char **error_r)
{
	struct sqlmap_cf cf;
	struct sqlmap *sm;
	struct sqlmap_needs needs;
	const struct sqlmap_cf_entry *e;
	struct buf errs;
	const char *why;
	size_t	 i, k, errpos;
	unsigned qline = 0;
	char	*w, *q;

	*sm_r = NULL;
	*error_r = NULL;
	if (len > SQLMAP_TEXT_MAX) {
		*error_r = xasprintf("%s: file too large (more than %d "
		    "bytes)", path, SQLMAP_TEXT_MAX);
		return -1;
	}
	buf_init(&errs, 0);
	sqlmap_cf_read(path, text, len, &cf);
	for (i = 0; i < cf.nerrors; i++) {
		if (errs.len > 0)
			buf_append(&errs, "\n", 1);
		buf_puts(&errs, cf.errors[i]);
	}
	for (i = 0; i < cf.nwarnings; i++)
		sqlmap_warn(warnings_r, cf.warnings[i]);

	sm = xcalloc(1, sizeof(*sm));
	sm->path = xstrdup(path);
	sm->conn.retry_interval_s = SQLMAP_DEFAULT_RETRY;
	sm->conn.idle_interval_s = SQLMAP_DEFAULT_IDLE;

	for (i = 0; i < cf.n; i++) {
		for (k = 0; k < NELEM(sqlmap_known); k++)
			if (strcmp(cf.v[i].name, sqlmap_known[k]) == 0)
				break;
		if (k == NELEM(sqlmap_known)) {
			q = sqlmap_quote(cf.v[i].name, strlen(cf.v[i].name));
			w = xasprintf("%s:%u: warning: unknown parameter %s",
			    path, cf.v[i].line, q);
			sqlmap_warn(warnings_r, w);
			free(w);
			free(q);
		}
	}

	sqlmap_hosts(sm, sqlmap_cf_get(&cf, "hosts"), &errs);
	sm->conn.user = sqlmap_str(&cf, "user");
	sm->conn.password = sqlmap_str(&cf, "password");
	sm->conn.dbname = sqlmap_str(&cf, "dbname");
	if (sm->conn.dbname == NULL) {
		e = sqlmap_cf_get(&cf, "dbname");
		sqlmap_err(&errs, path, e != NULL ? e->line : 0,
		    xstrdup("dbname is required (the database to query)"));
	}
	sqlmap_uint(&cf, path, "retry_interval", 1,
	    &sm->conn.retry_interval_s, &errs);
	sqlmap_uint(&cf, path, "idle_interval", 1,
	    &sm->conn.idle_interval_s, &errs);
	sqlmap_uint(&cf, path, "expansion_limit", 0, &sm->expansion_limit,
	    &errs);

	if ((e = sqlmap_cf_get(&cf, "encoding")) != NULL &&
	    !sqlmap_encoding_utf8(e->value)) {
		q = sqlmap_quote(e->value, strlen(e->value));
		w = xasprintf("%s:%u: warning: encoding = %s ignored: vrcpt "
		    "always talks UTF8 to PostgreSQL", path, e->line, q);
		sqlmap_warn(warnings_r, w);
		free(w);
		free(q);
	}

	e = sqlmap_cf_get(&cf, "result_format");
	sm->result_format = xstrdup(e != NULL ? e->value :
	    SQLMAP_DEFAULT_FORMAT);
	memset(&needs, 0, sizeof(needs));
	if (e != NULL && e->value[0] == '\0')
		sqlmap_err(&errs, path, e->line, xstrdup("result_format is "
		    "empty (the default is %s)"));
	else if (e != NULL &&
	    (why = sqlmap_scan_needs(e->value, false, &needs)) != NULL)
		sqlmap_err(&errs, path, e->line, xasprintf("result_format: "
		    "%s", why));

	sqlmap_domains(sm, sqlmap_cf_get(&cf, "domain"), &errs);

	sqlmap_query(sm, &cf, &errs, &qline);
	if (sm->query_tmpl != NULL) {
		if ((why = sqlmap_scan_needs(sm->query_tmpl, true, &needs))
		    != NULL) {
			sqlmap_err(&errs, path, qline, xasprintf("query: %s",
			    why));
		} else if ((why = sqlmap_compile(sm, &errpos)) != NULL) {
			q = sqlmap_quote(sm->query_tmpl + errpos,
			    strlen(sm->query_tmpl + errpos));
			sqlmap_err(&errs, path, qline, xasprintf(
			    "query: %s at \"%s\"", why, q));
			free(q);
		}
	}
	sqlmap_cf_free(&cf);

	if (errs.len > 0) {
		*error_r = xstrndup(buf_str(&errs), errs.len);
		buf_free(&errs);
		sqlmap_free(&sm);
		return -1;
	}
	buf_free(&errs);
	/* once, not per lookup: what the templates need of a key */
	sqlmap_needs(sm, &sm->needs);
	*sm_r = sm;
	return 0;
}

void
sqlmap_free(struct sqlmap **smp)
{
	struct sqlmap *sm = *smp;
	size_t	 i;

	if (sm == NULL)
		return;
	for (i = 0; i < sm->conn.nhosts; i++)
		free(sm->conn.hosts[i]);
	free(sm->conn.user);
	free(sm->conn.password);
	free(sm->conn.dbname);
	free(sm->path);
	free(sm->query_tmpl);
	free(sm->sql);
	for (i = 0; i < sm->nparams; i++)
		free(sm->params[i].tmpl);
	for (i = 0; i < sm->ndomains; i++)
		free(sm->domains[i]);
	free(sm->domains);
	free(sm->result_format);
	free(sm);
	*smp = NULL;
}

/*
 * Lookups.
 */

/* sqlmap_applies - db_common_check_domain() */
bool
sqlmap_applies(const struct sqlmap *sm, const char *key)
{
	const char *at;
	size_t	 i;

	if (sm->domains == NULL)
		return true;
	at = strrchr(key, '@');
	if (at == NULL || at == key)
		return false;
	for (i = 0; i < sm->ndomains; i++)
		if (strcasecmp(sm->domains[i], at + 1) == 0)
			return true;
	return false;
}

bool
sqlmap_suppressed(const struct sqlmap *sm, const char *key)
{
	return !sqlmap_key_ok(&sm->needs, key);
}

bool
sqlmap_expand(const struct sqlmap *sm, const char *key,
    char *params[SQLMAP_PARAMS_MAX])
{
	struct buf b;
	size_t	 i;

	if (!sqlmap_key_ok(&sm->needs, key))
		return false;
	for (i = 0; i < sm->nparams; i++) {
		buf_init(&b, 0);
		sqlmap_subst(&b, sm->params[i].tmpl, key, NULL);
		params[i] = xstrndup(buf_str(&b), b.len);
		buf_free(&b);
	}
	return true;
}

/* sqlmap_value_ok - a result value has what result_format needs */
static bool
sqlmap_value_ok(const struct sqlmap_needs *n, const char *v)
{
	const char *at;

	if (!n->val_user && !n->val_domain)
		return true;
	at = strrchr(v, '@');
	if (n->val_domain && (at == NULL || at[1] == '\0'))
		return false;
	if (n->val_user && at == v)
		return false;
	return true;
}

/* sqlmap_keep - append what fits of p[0..n) (out has a max) */
static void
sqlmap_keep(struct buf *out, const char *p, size_t n)
{
	size_t	 room = out->max - out->len;

	(void)buf_append(out, p, n < room ? n : room);
}

enum fact_result
sqlmap_result(const struct sqlmap *sm, const char *key,
    const char *const *vals, size_t nvals, char **value_r, char **why_r,
    char **warn_r)
{
	const struct sqlmap_needs *needs = &sm->needs;
	struct buf out, one;
	char	 skey[STR_SANITIZE_MAX + 4];
	size_t	 i;
	unsigned expanded = 0;
	bool	 warned = false, found = false;

	*value_r = NULL;
	*why_r = NULL;
	*warn_r = NULL;
	if (!sqlmap_key_ok(needs, key))
		return FACT_NOT_FOUND;	/* the query should not have run */
	str_sanitize(skey, key, strlen(key), STR_SANITIZE_MAX);

	buf_init(&out, SQLMAP_VALUE_MAX);
	for (i = 0; i < nvals; i++) {
		/* PQgetvalue() gives "" for NULL: Postfix warns for both */
		if (vals[i] == NULL || vals[i][0] == '\0') {
			if (!warned)
				*warn_r = xasprintf("table \"pgsql:%s\": "
				    "empty lookup result for: \"%s\" -- "
				    "ignored", sm->path, skey);
			warned = true;
			continue;
		}
		if (!sqlmap_value_ok(needs, vals[i]))
			continue;
		buf_init(&one, 0);
		sqlmap_subst(&one, sm->result_format, vals[i], key);
		/*
		 * A value too big to keep is still counted and found
		 * (dict_pgsql.c keeps it all; we keep what fits, for
		 * traces): "found" must not depend on out having room,
		 * or one long value (a big alias list) would be "User
		 * unknown".
		 */
		if (one.len > 0) {
			if (found)
				sqlmap_keep(&out, ",", 1);
			sqlmap_keep(&out, buf_str(&one), one.len);
			found = true;
		}
		buf_free(&one);
		if (sm->expansion_limit > 0 &&
		    ++expanded > sm->expansion_limit) {
			*why_r = xasprintf("dict_pgsql_lookup: %s: Expansion "
			    "limit exceeded for key: '%s'", sm->path, skey);
			buf_free(&out);
			return FACT_UNAVAILABLE;
		}
	}
	if (!found) {
		buf_free(&out);
		return FACT_NOT_FOUND;
	}
	*value_r = xstrndup(buf_str(&out), out.len);
	buf_free(&out);
	return FACT_FOUND;
}

/* sqlmap_eq - NULL-safe string equality */
static bool
sqlmap_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

bool
sqlmap_same_conn(const struct sqlmap_conn *a, const struct sqlmap_conn *b)
{
	size_t	 i;

	if (a->nhosts != b->nhosts)
		return false;
	for (i = 0; i < a->nhosts; i++)
		if (strcmp(a->hosts[i], b->hosts[i]) != 0)
			return false;
	return sqlmap_eq(a->user, b->user) &&
	    sqlmap_eq(a->password, b->password) &&
	    sqlmap_eq(a->dbname, b->dbname);
}
