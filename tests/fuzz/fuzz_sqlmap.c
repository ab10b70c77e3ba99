/*
 * fuzz_sqlmap - libFuzzer target for pgsql .cf files and what comes of
 * them (core/sqlmap.c): the main.cf-syntax reader, the map parser and
 * query compiler, key expansion into query parameters and result
 * formatting.
 *
 *   make fuzz FUZZ_TARGETS=sqlmap	(build/fuzz/fuzz_sqlmap)
 *
 * Input: NUL-separated fields (fuzz.h): two lookup keys, three result
 * values ("" stands for an SQL NULL in the first), then the rest of the
 * input as the .cf text (NUL bytes and all).
 *
 * Invariants (a violation aborts):
 *   - the reader's entries have a non-empty name without white space or
 *     '=', a value trimmed of white space, in file order; every error
 *     and warning is one line that names the file;
 *   - a map that parses has SQL with exactly $1..$n for its n
 *     parameters, in order, each parameter template holding an
 *     expansion; the SQL never changes with the key (it is compiled
 *     once), only parameter values do;
 *   - expansion is suppressed exactly as db_common_expand() says (%u
 *     with an empty local part, %d/%1..%9 without a domain or label),
 *     (sqlmap_suppressed() agreeing with sqlmap_expand()), and
 *     otherwise substitutes like a second, plain implementation;
 *   - a result is FOUND exactly when some value is non-empty, usable by
 *     result_format and formats to something (and the expansion limit
 *     holds); its text is the formatted values joined with ",", cut at
 *     SQLMAP_VALUE_MAX bytes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cachefmt.h"
#include "core/sqlmap.h"
#include "fuzz.h"
#include "util/buf.h"
#include "util/xalloc.h"

#define FS_PATH		"/etc/postfix/fuzz.cf"
#define FS_NVALS	3
#define FS_SPACE	" \t\r\n\v\f"
#define FS_LABELS	9

/* fs_lines_ok - every line of a message list starts with the path */
static void
fs_lines_ok(const char *text)
{
	const char *line, *nl;

	for (line = text; line != NULL && *line != '\0'; line = nl + 1) {
		FUZZ_ASSERT(strncmp(line, FS_PATH ":", strlen(FS_PATH) + 1) ==
		    0);
		if ((nl = strchr(line, '\n')) == NULL)
			break;
	}
}

static void
fs_cf(const char *text, size_t len)
{
	struct sqlmap_cf cf;
	size_t	 i, vlen;
	unsigned line = 0;

	sqlmap_cf_read(FS_PATH, text, len, &cf);
	for (i = 0; i < cf.n; i++) {
		FUZZ_ASSERT(cf.v[i].name[0] != '\0');
		FUZZ_ASSERT(strpbrk(cf.v[i].name, FS_SPACE "=") == NULL);
		vlen = strlen(cf.v[i].value);
		FUZZ_ASSERT(vlen == 0 || (strchr(FS_SPACE, cf.v[i].value[0])
		    == NULL && strchr(FS_SPACE, cf.v[i].value[vlen - 1]) ==
		    NULL));
		FUZZ_ASSERT(cf.v[i].line > line);
		line = cf.v[i].line;
	}
	for (i = 0; i < cf.nerrors; i++) {
		fs_lines_ok(cf.errors[i]);
		FUZZ_ASSERT(strchr(cf.errors[i], '\n') == NULL);
	}
	for (i = 0; i < cf.nwarnings; i++) {
		fs_lines_ok(cf.warnings[i]);
		FUZZ_ASSERT(strchr(cf.warnings[i], '\n') == NULL);
	}
	sqlmap_cf_free(&cf);
}

/* fs_labels - domain labels from the right, empty ones dropped */
static size_t
fs_labels(const char *dom, char *labels[FS_LABELS])
{
	char	*copy = xstrdup(dom), **all = NULL, *cp = copy, *l;
	size_t	 n = 0, i;

	while ((l = strsep(&cp, ".")) != NULL) {
		if (*l == '\0')
			continue;
		all = xreallocarray(all, n + 1, sizeof(*all));
		all[n++] = l;
	}
	for (i = 0; i < n && i < FS_LABELS; i++)
		labels[i] = xstrdup(all[n - 1 - i]);
	free(all);
	free(copy);
	return n;
}

/*
 * fs_subst - db_common_expand()'s substitution, written again plainly:
 * value is what %s %u %d take apart, key what %S %U %D %1..%9 do
 */
static char *
fs_subst(const char *tmpl, const char *value, const char *key)
{
	struct buf b;
	const char *cp, *at, *s;
	char	*labels[FS_LABELS], *out;
	size_t	 n, i;

	buf_init(&b, 0);
	for (cp = tmpl; *cp != '\0'; cp++) {
		if (*cp != '%') {
			buf_append(&b, cp, 1);
			continue;
		}
		cp++;
		s = strchr("sud", *cp) != NULL ? value : key;
		at = strrchr(s, '@');
		switch (*cp) {
		case '%':
			buf_puts(&b, "%");
			break;
		case 's': case 'S':
			buf_puts(&b, s);
			break;
		case 'u': case 'U':
			buf_append(&b, s, at != NULL ? (size_t)(at - s) :
			    strlen(s));
			break;
		case 'd': case 'D':
			buf_puts(&b, at != NULL ? at + 1 : "");
			break;
		default:
			FUZZ_ASSERT(*cp >= '1' && *cp <= '9');
			n = fs_labels(at != NULL ? at + 1 : "", labels);
			if ((size_t)(*cp - '1') < n)
				buf_puts(&b, labels[*cp - '1']);
			for (i = 0; i < n && i < FS_LABELS; i++)
				free(labels[i]);
			break;
		}
	}
	out = xstrdup(buf_str(&b));
	buf_free(&b);
	return out;
}

/* fs_uses - does the template hold %c (pairs of %% skipped)? */
static bool
fs_uses(const char *tmpl, const char *set)
{
	const char *cp;

	for (cp = tmpl; *cp != '\0'; cp++)
		if (*cp == '%' && *++cp != '\0' && strchr(set, *cp) != NULL)
			return true;
	return false;
}

/* fs_maxlabel - the highest %1..%9 of a template */
static size_t
fs_maxlabel(const char *tmpl)
{
	const char *cp;
	size_t	 m = 0;

	for (cp = tmpl; *cp != '\0'; cp++)
		if (*cp == '%' && *++cp >= '1' && *cp <= '9' &&
		    (size_t)(*cp - '0') > m)
			m = (size_t)(*cp - '0');
	return m;
}

/* fs_key_ok - db_common_expand()'s checks for a query key */
static bool
fs_key_ok(const struct sqlmap *sm, const char *key)
{
	const char *at = strrchr(key, '@');
	char	*labels[FS_LABELS];
	size_t	 need, n, i;
	bool	 dom, user;

	dom = fs_uses(sm->query_tmpl, "dD123456789") ||
	    fs_uses(sm->result_format, "D123456789");
	user = fs_uses(sm->query_tmpl, "uU") ||
	    fs_uses(sm->result_format, "U");
	if (dom && (at == NULL || at[1] == '\0'))
		return false;
	if (user && at == key)
		return false;
	need = fs_maxlabel(sm->query_tmpl);
	if (fs_maxlabel(sm->result_format) > need)
		need = fs_maxlabel(sm->result_format);
	if (need > 0) {
		n = fs_labels(at + 1, labels);
		for (i = 0; i < n && i < FS_LABELS; i++)
			free(labels[i]);
		if (n < need)
			return false;
	}
	return true;
}

static void
fs_sql(const struct sqlmap *sm)
{
	const char *cp;
	size_t	 next = 1, i;
	char	 ns[CACHEFMT_NS_LEN + 1];

	FUZZ_ASSERT(sm->sql != NULL && sm->sql[0] != '\0');
	FUZZ_ASSERT(sm->nparams <= SQLMAP_PARAMS_MAX);
	/* $1..$n in order, outside of what the template quoted */
	for (cp = sm->sql; (cp = strchr(cp, '$')) != NULL; cp++) {
		if (cp[1] < '1' || cp[1] > '9')
			continue;
		if (cp > sm->sql && (cp[-1] == '_' ||
		    (cp[-1] >= 'a' && cp[-1] <= 'z') ||
		    (cp[-1] >= 'A' && cp[-1] <= 'Z') ||
		    (cp[-1] >= '0' && cp[-1] <= '9')))
			continue;	/* part of a name, like a$1 */
		if (strtoul(cp + 1, NULL, 10) == next)
			next++;
	}
	FUZZ_ASSERT(next - 1 >= sm->nparams);
	for (i = 0; i < sm->nparams; i++)
		FUZZ_ASSERT(fs_uses(sm->params[i].tmpl, "sudSUD123456789"));
	cachefmt_ns(sm, ns);
	FUZZ_ASSERT(strlen(ns) == CACHEFMT_NS_LEN &&
	    strspn(ns, "0123456789abcdef") == CACHEFMT_NS_LEN);
}

static void
fs_expand(const struct sqlmap *sm, const char *key)
{
	char	*params[SQLMAP_PARAMS_MAX], *want;
	size_t	 i;
	bool	 ok = sqlmap_expand(sm, key, params);

	FUZZ_ASSERT(ok == fs_key_ok(sm, key));
	/* the allocation-free test says the same as the expansion */
	FUZZ_ASSERT(sqlmap_suppressed(sm, key) == !ok);
	if (!ok)
		return;
	for (i = 0; i < sm->nparams; i++) {
		want = fs_subst(sm->params[i].tmpl, key, key);
		FUZZ_ASSERT(strcmp(params[i], want) == 0);
		free(want);
		free(params[i]);
	}
}

static void
fs_result(const struct sqlmap *sm, const char *key,
    const char *const vals[FS_NVALS])
{
	enum fact_result fr;
	char	*value, *why, *warn, *want = NULL, *one, *t;
	size_t	 i, usable = 0, wlen = 0;
	bool	 user, dom;
	const char *at;

	fr = sqlmap_result(sm, key, vals, FS_NVALS, &value, &why, &warn);
	FUZZ_ASSERT(warn == NULL || strchr(warn, '\n') == NULL);
	free(warn);
	if (!fs_key_ok(sm, key)) {
		FUZZ_ASSERT(fr == FACT_NOT_FOUND);
		return;
	}
	user = fs_uses(sm->result_format, "u");
	dom = fs_uses(sm->result_format, "d");
	for (i = 0; i < FS_NVALS; i++) {
		if (vals[i] == NULL || vals[i][0] == '\0')
			continue;
		at = strrchr(vals[i], '@');
		if ((dom && (at == NULL || at[1] == '\0')) ||
		    (user && at == vals[i]))
			continue;
		usable++;
		one = fs_subst(sm->result_format, vals[i], key);
		if (one[0] == '\0') {
			free(one);	/* counted, but nothing found */
			continue;
		}
		t = xasprintf("%s%s%s", want != NULL ? want : "",
		    want != NULL ? "," : "", one);
		free(want);
		free(one);
		want = t;
	}
	wlen = want != NULL ? strlen(want) : 0;
	if (sm->expansion_limit > 0 && usable > sm->expansion_limit) {
		FUZZ_ASSERT(fr == FACT_UNAVAILABLE && why != NULL);
		fs_lines_ok(why + strlen("dict_pgsql_lookup: "));
	} else if (want != NULL) {
		/* Postfix: any value found is found, however long; what is
		 * kept of it is its start */
		FUZZ_ASSERT(fr == FACT_FOUND);
		FUZZ_ASSERT(strlen(value) ==
		    (wlen < SQLMAP_VALUE_MAX ? wlen : SQLMAP_VALUE_MAX));
		FUZZ_ASSERT(strncmp(value, want, strlen(value)) == 0);
	} else {
		FUZZ_ASSERT(fr == FACT_NOT_FOUND);
	}
	free(want);
	free(value);
	free(why);
}

int
FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	char	*key1 = fuzz_str(&in), *key2 = fuzz_str(&in);
	char	*v[FS_NVALS], *text, *warn = NULL, *err = NULL;
	const char *vals[FS_NVALS];
	struct sqlmap *sm;
	size_t	 i, len;

	for (i = 0; i < FS_NVALS; i++)
		v[i] = fuzz_str(&in);
	text = fuzz_bytes(&in, in.n, &len);
	vals[0] = v[0][0] != '\0' ? v[0] : NULL;
	vals[1] = v[1];
	vals[2] = v[2];

	fs_cf(text, len);
	if (sqlmap_parse(FS_PATH, text, len, &sm, &warn, &err) == 0) {
		FUZZ_ASSERT(err == NULL);
		fs_sql(sm);
		fs_expand(sm, key1);
		fs_expand(sm, key2);
		fs_result(sm, key1, vals);
		fs_result(sm, key2, vals);
		FUZZ_ASSERT(sqlmap_same_conn(&sm->conn, &sm->conn));
		(void)sqlmap_applies(sm, key1);
		sqlmap_free(&sm);
		FUZZ_ASSERT(sm == NULL);
	} else {
		FUZZ_ASSERT(err != NULL && sm == NULL);
		fs_lines_ok(err);
	}
	fs_lines_ok(warn);
	free(warn);
	free(err);
	for (i = 0; i < FS_NVALS; i++)
		free(v[i]);
	free(key1);
	free(key2);
	free(text);
	return 0;
}
