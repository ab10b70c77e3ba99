/*
 * fuzz_maps - libFuzzer target for the Postfix table parsers and their
 * lookups: regexp: and pcre: files (core/mappat.c with the real engines
 * of store/mapre.c: glibc regcomp/regexec and PCRE2), texthash: files
 * (core/mapidx.c, the postmap source format), and inline:{...} and
 * static:... tables as the configuration loader builds them
 * (conf/tables.c), each searched with the lookup key the way the engine
 * searches it (core/map.c).
 *
 *   make fuzz FUZZ_TARGETS=maps	(build/fuzz/fuzz_maps)
 *
 * Input: one byte choosing the table type (mod 5: regexp, pcre,
 * texthash, inline, static), a lookup key up to the next NUL byte, then
 * the rest: the file's text (binary, NUL bytes included), or the text of
 * the inline or static table specification.
 *
 * regexp: tables hold at most FM_POSIX_REPEATS repetition operators (see
 * there: glibc's regcomp() takes memory exponential in stacked ones).
 *
 * Invariants (a violation aborts):
 *   - a file parses (the limits are far beyond these inputs), every
 *     warning is one line naming the table and a line number, and a
 *     pattern table keeps at most one rule per line;
 *   - a lookup gives the same answer twice; a pattern rule's result is
 *     the substituted text when it has no "$", its emptiness is what
 *     *empty_r says; an indexed value is non-empty and trimmed;
 *   - a rule put before the text ("/^fuzzkey$/ hit") answers for
 *     "fuzzkey" whatever follows it, unless the text's first line
 *     continues it; a texthash record put after the text is found when
 *     the text has no record of that key, and the table is refused
 *     (duplicate key) when it has one;
 *   - inline:{ TEXT, fuzzkey=hit } finds "hit" when TEXT has no braces
 *     of its own; static:TEXT finds its value for every key; a found
 *     value is never empty.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "core/map.h"
#include "core/mapidx.h"
#include "core/mappat.h"
#include "fuzz.h"
#include "store/mapre.h"
#include "util/buf.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define FM_NAME		"/etc/postfix/fuzz"
#define FM_KEY		"fuzzkey"
#define FM_HIT		"hit"
#define FM_SPACE	" \t\n\v\f\r"	/* Postfix ISSPACE(), as mapidx */
#define FM_OUT_MAX	(1024 * 1024)
/*
 * glibc's regcomp() copies the tree of a repeated expression for each
 * repetition operator stacked on it ("c++++": duplicate_tree()), so
 * memory doubles with each one: some forty of them exhaust any machine.
 * That is the C library's (Postfix's dict_regexp.c meets it the same
 * way), not vrcpt's, and tables are written by the administrator: the
 * regexp: tables of this target have at most this many operators.
 */
#define FM_POSIX_REPEATS	16

enum fm_kind { FM_REGEXP, FM_PCRE, FM_TEXTHASH, FM_INLINE, FM_STATIC };

/* fm_msgs - each line of a warning list names the table and a line */
static void
fm_msgs(const char *w)
{
	const char *line, *nl;

	for (line = w; line != NULL && *line != '\0'; line = nl + 1) {
		FUZZ_ASSERT(strstr(line, FM_NAME) != NULL);
		FUZZ_ASSERT(strstr(line, "line ") != NULL);
		if ((nl = strchr(line, '\n')) == NULL)
			break;
	}
}

/*
 * fm_fresh - the first line of text that is not a comment or blank
 * does not start with white space: a line put before text is not
 * continued by it (util/readlline.c)
 */
static bool
fm_fresh(const char *t, size_t len)
{
	size_t	 p = 0, i;

	while (p < len) {
		for (i = p; i < len && t[i] != '\0' && t[i] != '\n' &&
		    strchr(FM_SPACE, t[i]) != NULL; i++)
			;
		if (i < len && t[i] != '\n' && t[i] != '#')
			return i == p;
		while (p < len && t[p] != '\n')
			p++;
		p++;
	}
	return true;
}

static size_t
fm_lines(const char *t, size_t len)
{
	size_t	 n = 1, i;

	for (i = 0; i < len; i++)
		if (t[i] == '\n')
			n++;
	return n;
}

/* fm_pat_lookup - look key up twice; the result (borrowed) */
static const char *
fm_pat_lookup(const struct mappat *p, const char *key)
{
	struct buf out, again;
	const char *r, *r2;
	bool	 empty, empty2;

	buf_init(&out, FM_OUT_MAX);
	buf_init(&again, FM_OUT_MAX);
	r = mappat_lookup(p, key, &out, &empty);
	r2 = mappat_lookup(p, key, &again, &empty2);
	FUZZ_ASSERT(r == r2 && empty == empty2);
	FUZZ_ASSERT(out.len == again.len &&
	    (out.len == 0 || memcmp(out.data, again.data, out.len) == 0));
	if (r != NULL) {
		FUZZ_ASSERT(empty == (out.len == 0));
		if (strchr(r, '$') == NULL)
			FUZZ_ASSERT(strcmp(buf_str(&out), r) == 0);
		/* without an output buffer, the same answer */
		FUZZ_ASSERT(mappat_lookup(p, key, NULL, &empty2) == r &&
		    empty2 == empty);
	} else {
		FUZZ_ASSERT(out.len == 0);
	}
	buf_free(&out);
	buf_free(&again);
	return r;
}

static void
fm_pattern(enum fm_kind k, const char *key, const char *text, size_t len)
{
	enum mappat_dialect d = k == FM_PCRE ? MAPPAT_PCRE : MAPPAT_REGEXP;
	const struct mappat_engine *eng = k == FM_PCRE ? &mapre_pcre :
	    &mapre_posix;
	static const char rule[] = "/^" FM_KEY "$/ " FM_HIT "\n";
	struct mappat *p = NULL;
	char	*warn = NULL, *err = NULL, *t2;
	const char *r;
	size_t	 i, reps = 0;

	for (i = 0; i < len; i++)
		if (strchr("*+?{", text[i]) != NULL && text[i] != '\0')
			reps++;
	if (k == FM_REGEXP && reps > FM_POSIX_REPEATS)
		return;
	FUZZ_ASSERT(mappat_parse(d, eng, FM_NAME, text, len, &p, &warn,
	    &err) == 0);
	fm_msgs(warn);
	free(warn);
	warn = NULL;
	FUZZ_ASSERT(mappat_nrules(p) <= fm_lines(text, len));
	(void)fm_pat_lookup(p, key);
	mappat_free(&p);
	FUZZ_ASSERT(p == NULL);

	t2 = xmalloc(sizeof(rule) - 1 + len);
	memcpy(t2, rule, sizeof(rule) - 1);
	memcpy(t2 + sizeof(rule) - 1, text, len);
	FUZZ_ASSERT(mappat_parse(d, eng, FM_NAME, t2, sizeof(rule) - 1 + len,
	    &p, &warn, &err) == 0);
	fm_msgs(warn);
	r = fm_pat_lookup(p, FM_KEY);
	if (fm_fresh(text, len))
		FUZZ_ASSERT(r != NULL && strcmp(r, FM_HIT) == 0);
	mappat_free(&p);
	free(warn);
	free(t2);
}

/* fm_idx_lookup - key folded as the engine folds it; value or NULL */
static const char *
fm_idx_lookup(const struct mapidx *idx, const char *key)
{
	const char *v = mapidx_lookup(idx, key);

	FUZZ_ASSERT(mapidx_lookup(idx, key) == v);
	if (v != NULL && *v != '\0') {
		FUZZ_ASSERT(strchr(FM_SPACE, v[0]) == NULL);
		FUZZ_ASSERT(strchr(FM_SPACE, v[strlen(v) - 1]) == NULL);
	}
	return v;
}

/* fm_plain_key - a key that stands for itself in the source format */
static bool
fm_plain_key(const char *k)
{
	const char *p;

	if (*k == '\0' || *k == '#')
		return false;
	/* printable ASCII (the file is checked as UTF-8), folded */
	for (p = k; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '\\' ||
		    (*p >= 'A' && *p <= 'Z'))
			return false;
	return true;
}

static void
fm_texthash(const char *key, const char *text, size_t len)
{
	struct mapidx *idx = mapidx_new(), *idx2;
	char	*warn = NULL, *err = NULL, *t2, *fkey;
	const char *v;
	size_t	 len2;
	int	 rc;

	rc = mapidx_parse_text(idx, FM_NAME, text, len, true, &warn, &err);
	fm_msgs(warn);
	free(warn);
	if (rc < 0) {
		/* only a duplicate key is fatal */
		FUZZ_ASSERT(err != NULL && strstr(err, FM_NAME) != NULL);
		free(err);
		mapidx_free(&idx);
		return;
	}
	FUZZ_ASSERT(mapidx_count(idx) <= fm_lines(text, len));
	fkey = str_fold_utf8(key);
	v = fm_idx_lookup(idx, fkey);
	if (fm_plain_key(key) && strlen(key) <= MAPIDX_KEY_MAX) {
		/* the key's record, put after the text (byte for byte:
		 * the text may hold NUL bytes) */
		len2 = len + strlen(key) + sizeof(FM_HIT) + 2;
		t2 = xmalloc(len2);
		memcpy(t2, text, len);
		t2[len] = '\n';
		memcpy(t2 + len + 1, key, strlen(key));
		memcpy(t2 + len + 1 + strlen(key), " " FM_HIT "\n",
		    sizeof(FM_HIT) + 1);
		idx2 = mapidx_new();
		warn = err = NULL;
		rc = mapidx_parse_text(idx2, FM_NAME, t2, len2, true, &warn,
		    &err);
		if (v != NULL) {
			FUZZ_ASSERT(rc < 0);
		} else {
			FUZZ_ASSERT(rc == 0);
			v = fm_idx_lookup(idx2, fkey);
			FUZZ_ASSERT(v != NULL && strcmp(v, FM_HIT) == 0);
		}
		free(warn);
		free(err);
		mapidx_free(&idx2);
		free(t2);
	}
	free(fkey);
	mapidx_free(&idx);
}

/* fm_conf - the table spec as virtual_alias_maps, loaded as vrcptd does */
static void
fm_conf(enum fm_kind k, const char *key, const char *text)
{
	struct conf *cfg = NULL;
	struct conf_msgs msgs = { 0 };
	const struct maplist *ml;
	enum fact_result fr;
	const char *v;
	char	*cf, *fkey;
	static bool once;

	/* "x }, pgsql:/dev/stdin" must not wait for a terminal */
	if (!once) {
		FUZZ_ASSERT(freopen("/dev/null", "r", stdin) != NULL);
		once = true;
	}
	if (k == FM_INLINE)
		cf = xasprintf("virtual_alias_maps = inline:{ %s, " FM_KEY "="
		    FM_HIT " }\n", text);
	else
		cf = xasprintf("virtual_alias_maps = static:%s\n", text);
	if (conf_load_text("/etc/vrcpt/vrcptd.cf", cf, strlen(cf),
	    CONF_D | CONF_TABLES, NULL, 0, &cfg, &msgs) < 0)
		goto out;
	ml = &cfg->engine.virtual_alias_maps;
	if (ml->n == 0)
		goto out;
	fkey = str_fold_utf8(key);
	FUZZ_ASSERT(map_lookup_pure(ml->v[0], fkey, &fr, &v));
	FUZZ_ASSERT(fr == FACT_FOUND || fr == FACT_NOT_FOUND);
	/* found: a value, empty only from inline: "k=" (core/map.h) */
	if (fr == FACT_FOUND)
		FUZZ_ASSERT(v != NULL && (*v != '\0' ||
		    ml->v[0]->type == MAP_INLINE));
	if (k == FM_STATIC && ml->v[0]->type == MAP_STATIC && *fkey != '\0')
		FUZZ_ASSERT(fr == FACT_FOUND &&
		    strcmp(v, ml->v[0]->u.static_value) == 0);
	free(fkey);
	if (k == FM_INLINE && strpbrk(text, "{}") == NULL &&
	    ml->v[0]->type == MAP_INLINE) {
		FUZZ_ASSERT(map_lookup_pure(ml->v[0], FM_KEY, &fr, &v));
		FUZZ_ASSERT(fr == FACT_FOUND && strcmp(v, FM_HIT) == 0);
	}
out:
	conf_unref(&cfg);
	conf_msgs_free(&msgs);
	free(cf);
}

int
FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	enum fm_kind k = (enum fm_kind)(fuzz_byte(&in) % 5);
	char	*key = fuzz_str(&in), *text;
	size_t	 len;

	text = fuzz_bytes(&in, in.n, &len);
	switch (k) {
	case FM_REGEXP:
	case FM_PCRE:
		fm_pattern(k, key, text, len);
		break;
	case FM_TEXTHASH:
		fm_texthash(key, text, len);
		break;
	case FM_INLINE:
	case FM_STATIC:
		fm_conf(k, key, text);
		break;
	}
	free(text);
	free(key);
	return 0;
}
