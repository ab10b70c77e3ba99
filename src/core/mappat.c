/*
 * mappat - regexp: and pcre: tables. See mappat.h.
 *
 * Parsing follows util/dict_regexp.c and util/dict_pcre.c line by line,
 * quirks included: logical lines as readllines() joins them, trailing
 * white space trimmed; a line that starts with a letter or digit is IF,
 * ENDIF or ignored; any other line is a match rule. The result text is
 * split once into literal parts and $n references, as mac_parse() splits
 * it (util/mac_parse.c: $$ is '$', ${...} and $(...) nest, a bare $name
 * is letters, digits and '_'); a reference that is not a number from 1
 * up, or beyond the pattern's groups, skips the rule.
 *
 * Depends on: util/, core/mapidx (the line reader). No I/O.
 *
 * Security: the key is untrusted; it is only handed to the engine and
 * copied by offsets the engine returned, checked against its length.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mapidx.h"
#include "core/mappat.h"
#include "util/buf.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define MAPPAT_SPACE	" \t\n\v\f\r"	/* Postfix ISSPACE() */

enum mappat_op {
	MAPPAT_OP_MATCH,
	MAPPAT_OP_IF,
	MAPPAT_OP_ENDIF
};

/* one piece of a result: literal text, or a $n reference (n > 0) */
struct mappat_part {
	char	*text;		/* literal ($$ already '$'), or NULL */
	unsigned n;		/* $n */
};

struct mappat_rule {
	enum mappat_op op;
	unsigned lineno;
	void	*re;		/* MATCH, IF: first pattern */
	bool	 match;		/* MATCH, IF: positive (true) or negated */
	void	*re2;		/* MATCH, regexp only: second pattern */
	bool	 match2;
	char	*result;	/* MATCH: as written, or the literal */
	struct mappat_part *parts;	/* MATCH with $n */
	size_t	 nparts;
	unsigned max_sub;	/* MATCH: largest $n, 0 if none */
	size_t	 endif;		/* IF: index of its ENDIF, or SIZE_MAX */
};

struct mappat {
	enum mappat_dialect dialect;
	const struct mappat_engine *eng;
	struct mappat_rule *rules;
	size_t	 n;
};

/* a pattern as the line gives it, before compiling */
struct mappat_src {
	const char *re;		/* NUL-terminated inside the line */
	unsigned opts;
	bool	 match;
};

static bool
mappat_isspace(char c)
{
	return c != '\0' && strchr(MAPPAT_SPACE, c) != NULL;
}

static bool
mappat_isalnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* mappat_warn - "regexp map NAME, line N: text" into *warn_r */
static void
mappat_warn(char **warn_r, enum mappat_dialect d, const char *name,
    unsigned line, char *text)
{
	char	*m;

	m = xasprintf("%s%s%s map %s, line %u: %s", *warn_r ? *warn_r : "",
	    *warn_r ? "\n" : "", d == MAPPAT_REGEXP ? "regexp" : "pcre",
	    name, line, text);
	free(text);
	free(*warn_r);
	*warn_r = m;
}

/*
 * mappat_get_pat - [!...]<delim>pattern<delim>flags at *bufp
 * (dict_regexp_get_pat, dict_pcre_get_pattern). Returns false (warned)
 * when the rule is to be skipped.
 */
static bool
mappat_get_pat(enum mappat_dialect d, const char *name, unsigned line,
    char **bufp, struct mappat_src *pat, char **warn_r)
{
	char	*p = *bufp, delim;

	pat->match = true;
	for (;; p++) {
		if (*p == '!')
			pat->match = !pat->match;
		else if (!mappat_isspace(*p))
			break;
	}
	if (*p == '\0') {
		mappat_warn(warn_r, d, name, line, xstrdup("no regexp: "
		    "skipping this rule"));
		return false;
	}
	delim = *p++;
	pat->re = p;
	while (*p != '\0') {
		if (*p == '\\') {
			/* regexp: a backslash at the end ends the pattern */
			if (d == MAPPAT_REGEXP) {
				if (p[1] != '\0')
					p++;
				else
					break;
			} else if (*++p == '\0') {
				break;
			}
		} else if (*p == delim) {
			break;
		}
		p++;
	}
	if (*p == '\0') {
		mappat_warn(warn_r, d, name, line, xasprintf("no closing "
		    "regexp delimiter \"%c\": %s this rule", delim,
		    d == MAPPAT_REGEXP ? "skipping" : "ignoring"));
		return false;
	}
	*p++ = '\0';
	if (d == MAPPAT_REGEXP) {
		pat->opts = MAPPAT_O_EXTENDED | MAPPAT_O_ICASE;
		for (; *p != '\0' && !mappat_isspace(*p) && *p != '!'; p++) {
			switch (*p) {
			case 'i':
				pat->opts ^= MAPPAT_O_ICASE;
				break;
			case 'm':
				pat->opts ^= MAPPAT_O_NEWLINE;
				break;
			case 'x':
				pat->opts ^= MAPPAT_O_EXTENDED;
				break;
			default:
				mappat_warn(warn_r, d, name, line, xasprintf(
				    "unknown regexp option \"%c\": skipping "
				    "this rule", *p));
				return false;
			}
		}
	} else {
		pat->opts = MAPPAT_O_ICASE | MAPPAT_O_DOTALL;
		for (; *p != '\0' && !mappat_isspace(*p); p++) {
			switch (*p) {
			case 'i':
				pat->opts ^= MAPPAT_O_ICASE;
				break;
			case 'm':
				pat->opts ^= MAPPAT_O_NEWLINE;
				break;
			case 's':
				pat->opts ^= MAPPAT_O_DOTALL;
				break;
			case 'x':
				pat->opts ^= MAPPAT_O_EXTENDED;
				break;
			case 'A':
				pat->opts ^= MAPPAT_O_ANCHORED;
				break;
			case 'E':
				pat->opts ^= MAPPAT_O_DOLLAR_ENDONLY;
				break;
			case 'U':
				pat->opts ^= MAPPAT_O_UNGREEDY;
				break;
			case 'X':
				/* PCRE2 has no PCRE_EXTRA */
				mappat_warn(warn_r, d, name, line, xasprintf(
				    "ignoring obsolete regexp option \"%c\"",
				    *p));
				break;
			default:
				mappat_warn(warn_r, d, name, line, xasprintf(
				    "unknown regexp option \"%c\": skipping "
				    "this rule", *p));
				return false;
			}
		}
	}
	*bufp = p;
	return true;
}

/* mappat_compile - one pattern; false (warned) if the engine refuses */
static bool
mappat_compile(const struct mappat *pt, const char *name, unsigned line,
    const struct mappat_src *src, unsigned extra, void **re_r,
    size_t *nsub_r, char **warn_r)
{
	char	*err = NULL;

	*re_r = pt->eng->compile(src->re, src->opts | extra, nsub_r, &err);
	if (*re_r == NULL) {
		mappat_warn(warn_r, pt->dialect, name, line, xasprintf("%s",
		    err != NULL ? err : "cannot compile"));
		free(err);
		return false;
	}
	return true;
}

static void
mappat_parts_free(struct mappat_part *parts, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(parts[i].text);
	free(parts);
}

static void
mappat_add_part(struct mappat_part **parts, size_t *n, char *text,
    unsigned num)
{
	*parts = xreallocarray(*parts, *n + 1, sizeof(**parts));
	(*parts)[*n].text = text;
	(*parts)[*n].n = num;
	(*n)++;
}

/*
 * mappat_result - split a result as mac_parse() does and check its $n
 * as the prescan does (dict_regexp_prescan). Returns false (warned)
 * when the rule is to be skipped.
 */
static bool
mappat_result(enum mappat_dialect d, const char *name, unsigned line,
    const char *s, struct mappat_rule *r, char **warn_r)
{
	struct buf lit, var;
	const char *vp = s, *ep, open_p[] = "({", close_p[] = ")}";
	unsigned n;
	size_t	 pi, level;
	bool	 ok = true, isnum;

	buf_init(&lit, 0);
	buf_init(&var, 0);
	r->parts = NULL;
	r->nparts = 0;
	r->max_sub = 0;
	while (*vp != '\0' && ok) {
		if (*vp != '$') {
			buf_append(&lit, vp++, 1);
			continue;
		}
		if (vp[1] == '$') {
			buf_append(&lit, vp, 1);
			vp += 2;
			continue;
		}
		if (lit.len > 0) {
			mappat_add_part(&r->parts, &r->nparts,
			    xstrndup(lit.data, lit.len), 0);
			buf_reset(&lit);
		}
		vp++;
		buf_reset(&var);
		if (*vp == '(' || *vp == '{') {
			pi = *vp == '(' ? 0 : 1;
			level = 1;
			for (ep = ++vp; level > 0; ep++) {
				if (*ep == '\0') {
					mappat_warn(warn_r, d, name, line,
					    xstrdup("truncated macro "
					    "reference"));
					ok = false;
					break;
				}
				if (*ep == open_p[pi])
					level++;
				if (*ep == close_p[pi])
					level--;
			}
			if (!ok)
				break;
			buf_append(&var, vp, (size_t)(ep - vp - 1));
			vp = ep;
		} else {
			for (ep = vp; mappat_isalnum(*ep) || *ep == '_'; ep++)
				;
			buf_append(&var, vp, (size_t)(ep - vp));
			vp = ep;
		}
		if (var.len == 0) {
			mappat_warn(warn_r, d, name, line, xstrdup("empty "
			    "macro name"));
			ok = false;
			break;
		}
		/* dict_regexp_prescan(): $number, 1 and up */
		isnum = var.len <= 9;
		for (pi = 0; isnum && pi < var.len; pi++)
			isnum = var.data[pi] >= '0' && var.data[pi] <= '9';
		if (!isnum) {
			char	 q[STR_SANITIZE_MAX + 4];

			mappat_warn(warn_r, d, name, line, xasprintf("non-"
			    "numeric replacement index \"%s\"", str_sanitize(q,
			    var.data, var.len, 60)));
			ok = false;
			break;
		}
		n = (unsigned)strtoul(var.data, NULL, 10);
		if (n < 1) {
			mappat_warn(warn_r, d, name, line, xasprintf("out%s"
			    "range replacement index \"%s\"",
			    d == MAPPAT_REGEXP ? "-of-" : " of ", var.data));
			ok = false;
			break;
		}
		mappat_add_part(&r->parts, &r->nparts, NULL, n);
		if (n > r->max_sub)
			r->max_sub = n;
	}
	if (ok && lit.len > 0)
		mappat_add_part(&r->parts, &r->nparts,
		    xstrndup(lit.data, lit.len), 0);
	buf_free(&lit);
	buf_free(&var);
	if (!ok) {
		mappat_warn(warn_r, d, name, line, xstrdup("bad replacement "
		    "syntax: skipping this rule"));
		mappat_parts_free(r->parts, r->nparts);
		r->parts = NULL;
		r->nparts = 0;
		return false;
	}
	/* without $n the result is its one literal ($$ made '$') */
	if (r->max_sub == 0) {
		r->result = xstrdup(r->nparts > 0 ? r->parts[0].text : s);
		mappat_parts_free(r->parts, r->nparts);
		r->parts = NULL;
		r->nparts = 0;
	} else {
		r->result = xstrdup(s);
	}
	return true;
}

static void
mappat_rule_free(const struct mappat *pt, struct mappat_rule *r)
{
	if (r->re != NULL)
		pt->eng->free(r->re);
	if (r->re2 != NULL)
		pt->eng->free(r->re2);
	free(r->result);
	mappat_parts_free(r->parts, r->nparts);
	memset(r, 0, sizeof(*r));
}

/* mappat_rule - parse one logical line; false: no rule (warned) */
static bool
mappat_rule(struct mappat *pt, const char *name, unsigned line, char *p,
    size_t nesting, struct mappat_rule *r, char **warn_r)
{
	enum mappat_dialect d = pt->dialect;
	struct mappat_src first, second;
	size_t	 nsub;
	bool	 has_second = false;

	memset(r, 0, sizeof(*r));
	r->lineno = line;
	r->endif = SIZE_MAX;
	if (!mappat_isalnum(*p)) {
		r->op = MAPPAT_OP_MATCH;
		if (!mappat_get_pat(d, name, line, &p, &first, warn_r))
			return false;
		/* regexp: /pat1/!/pat2/ */
		if (d == MAPPAT_REGEXP && *p == '!') {
			if (!mappat_get_pat(d, name, line, &p, &second,
			    warn_r))
				return false;
			has_second = true;
		}
		while (mappat_isspace(*p))
			p++;
		if (*p == '\0')
			mappat_warn(warn_r, d, name, line, xstrdup("no "
			    "replacement text: using empty string"));
		if (!mappat_result(d, name, line, p, r, warn_r))
			return false;
		if (r->max_sub > MAPPAT_SUB_MAX) {
			mappat_warn(warn_r, d, name, line, xasprintf("out of "
			    "range replacement index \"%u\" (vrcpt: at most "
			    "%u): skipping this rule", r->max_sub,
			    MAPPAT_SUB_MAX));
			mappat_rule_free(pt, r);
			return false;
		}
		if (r->max_sub > 0 && !first.match) {
			mappat_warn(warn_r, d, name, line, xstrdup("$number "
			    "found in negative match replacement text: "
			    "skipping this rule"));
			mappat_rule_free(pt, r);
			return false;
		}
		if (!mappat_compile(pt, name, line, &first,
		    r->max_sub == 0 ? MAPPAT_O_NOSUB : 0, &r->re, &nsub,
		    warn_r)) {
			mappat_rule_free(pt, r);
			return false;
		}
		r->match = first.match;
		if (r->max_sub > nsub) {
			mappat_warn(warn_r, d, name, line, xasprintf("out of "
			    "range replacement index \"%u\": skipping this "
			    "rule", r->max_sub));
			mappat_rule_free(pt, r);
			return false;
		}
		if (has_second) {
			if (!mappat_compile(pt, name, line, &second,
			    MAPPAT_O_NOSUB, &r->re2, &nsub, warn_r)) {
				mappat_rule_free(pt, r);
				return false;
			}
			r->match2 = second.match;
		}
		return true;
	}
	if (strncasecmp(p, "IF", 2) == 0 && !mappat_isalnum(p[2])) {
		r->op = MAPPAT_OP_IF;
		p += 2;
		while (mappat_isspace(*p))
			p++;
		if (!mappat_get_pat(d, name, line, &p, &first, warn_r))
			return false;
		while (mappat_isspace(*p))
			p++;
		if (*p != '\0') {
			char	 q[STR_SANITIZE_MAX + 4];

			mappat_warn(warn_r, d, name, line, xasprintf("ignoring "
			    "extra text after IF statement: \"%s\"",
			    str_sanitize(q, p, strlen(p), 60)));
			mappat_warn(warn_r, d, name, line, xstrdup("do not "
			    "prepend whitespace to statements between IF and "
			    "ENDIF"));
		}
		if (!mappat_compile(pt, name, line, &first, 0, &r->re, &nsub,
		    warn_r))
			return false;
		r->match = first.match;
		return true;
	}
	if (strncasecmp(p, "ENDIF", 5) == 0 && !mappat_isalnum(p[5])) {
		r->op = MAPPAT_OP_ENDIF;
		if (nesting == 0) {
			mappat_warn(warn_r, d, name, line, xstrdup("ignoring "
			    "ENDIF without matching IF"));
			return false;
		}
		p += 5;
		while (mappat_isspace(*p))
			p++;
		if (*p != '\0')
			mappat_warn(warn_r, d, name, line, xstrdup("ignoring "
			    "extra text after ENDIF"));
		return true;
	}
	mappat_warn(warn_r, d, name, line, xstrdup("ignoring unrecognized "
	    "request"));
	return false;
}

int
mappat_parse(enum mappat_dialect d, const struct mappat_engine *eng,
    const char *name, const char *text, size_t len, struct mappat **pat_r,
    char **warn_r, char **err_r)
{
	struct mappat *pt;
	struct mappat_rule r;
	size_t	 pos = 0, *stack = NULL, nesting = 0, end;
	unsigned lineno = 0, first;
	char	*line;

	*pat_r = NULL;
	*err_r = NULL;
	pt = xcalloc(1, sizeof(*pt));
	pt->dialect = d;
	pt->eng = eng;
	while ((line = mapidx_next_line(text, len, &pos, &lineno,
	    &first)) != NULL) {
		/* trimblanks() */
		for (end = strlen(line); end > 0 && mappat_isspace(
		    line[end - 1]); end--)
			;
		line[end] = '\0';
		if (*line == '\0' ||
		    !mappat_rule(pt, name, first, line, nesting, &r,
		    warn_r)) {
			free(line);
			continue;
		}
		free(line);
		if (pt->n == MAPPAT_RULES_MAX ||
		    (r.op == MAPPAT_OP_IF && nesting == MAPPAT_NEST_MAX)) {
			*err_r = xasprintf("%s, line %u: more than %u rules or "
			    "%u nested IFs", name, first, MAPPAT_RULES_MAX,
			    MAPPAT_NEST_MAX);
			mappat_rule_free(pt, &r);
			free(stack);
			mappat_free(&pt);
			return -1;
		}
		pt->rules = xreallocarray(pt->rules, pt->n + 1,
		    sizeof(*pt->rules));
		pt->rules[pt->n] = r;
		if (r.op == MAPPAT_OP_IF) {
			stack = xreallocarray(stack, nesting + 1,
			    sizeof(*stack));
			stack[nesting++] = pt->n;
		} else if (r.op == MAPPAT_OP_ENDIF) {
			pt->rules[stack[--nesting]].endif = pt->n;
		}
		pt->n++;
	}
	while (nesting-- > 0)
		mappat_warn(warn_r, d, name, pt->rules[stack[nesting]].lineno,
		    xstrdup("IF has no matching ENDIF"));
	free(stack);
	*pat_r = pt;
	return 0;
}

void
mappat_free(struct mappat **p)
{
	struct mappat *pt = *p;
	size_t	 i;

	*p = NULL;
	if (pt == NULL)
		return;
	for (i = 0; i < pt->n; i++)
		mappat_rule_free(pt, &pt->rules[i]);
	free(pt->rules);
	free(pt);
}

size_t
mappat_nrules(const struct mappat *p)
{
	return p->n;
}

/* mappat_exec - DICT_REGEXP_REGEXEC: a match as the rule wants it */
static bool
mappat_exec(const struct mappat *pt, const void *re, bool match,
    const char *key, size_t klen, size_t *ovec, size_t npairs)
{
	switch (pt->eng->exec(re, key, klen, ovec, npairs)) {
	case 1:
		return match;
	case 0:
		return !match;
	default:
		/* logged by Postfix, then "no match" whatever the sign */
		return false;
	}
}

const char *
mappat_lookup(const struct mappat *pt, const char *key, struct buf *out,
    bool *empty_r)
{
	const struct mappat_rule *r;
	size_t	 ovec[2 * (MAPPAT_SUB_MAX + 1)], klen = strlen(key), i, so,
		 eo, len;
	const struct mappat_part *part;

	*empty_r = true;
	for (i = 0; i < pt->n; i++) {
		r = &pt->rules[i];
		switch (r->op) {
		case MAPPAT_OP_MATCH:
			if (!mappat_exec(pt, r->re, r->match, key, klen, ovec,
			    r->max_sub > 0 ? r->max_sub + 1 : 0))
				continue;
			if (r->re2 != NULL && !mappat_exec(pt, r->re2,
			    r->match2, key, klen, NULL, 0))
				continue;
			if (r->max_sub == 0) {
				*empty_r = r->result[0] == '\0';
				if (out != NULL)
					buf_puts(out, r->result);
				return r->result;
			}
			/* dict_regexp_expand(): "" for an empty or unset
			 * group */
			for (part = r->parts; part < r->parts + r->nparts;
			    part++) {
				if (part->text != NULL) {
					len = strlen(part->text);
					if (len > 0)
						*empty_r = false;
					if (out != NULL)
						buf_append(out, part->text,
						    len);
					continue;
				}
				so = ovec[2 * part->n];
				eo = ovec[2 * part->n + 1];
				if (so == MAPPAT_UNSET || eo == MAPPAT_UNSET ||
				    so >= eo || eo > klen)
					continue;
				*empty_r = false;
				if (out != NULL)
					buf_append(out, key + so, eo - so);
			}
			return r->result;
		case MAPPAT_OP_IF:
			if (mappat_exec(pt, r->re, r->match, key, klen, NULL,
			    0))
				continue;
			/* an IF without ENDIF ends the table */
			if (r->endif == SIZE_MAX)
				return NULL;
			i = r->endif;
			continue;
		case MAPPAT_OP_ENDIF:
			continue;
		}
	}
	return NULL;
}
