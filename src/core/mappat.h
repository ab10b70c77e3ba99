#ifndef VRCPT_MAPPAT_H
#define VRCPT_MAPPAT_H
/*
 * mappat - a regexp: or pcre: table (regexp_table(5), pcre_table(5)):
 * its rules, parsed from the file's text, and the lookup that walks
 * them, as Postfix's util/dict_regexp.c and util/dict_pcre.c do:
 *
 *   [!]/pattern/flags result     the first rule that matches wins
 *   /pat1/flags!/pat2/ result    regexp: pat1 matches and pat2 does not
 *   IF [!]/pattern/flags ... ENDIF   the rules inside are tried only
 *                                    when the pattern (does not) match
 *   $1..$99, ${n}, $(n), $$      in the result: matched text ("" when
 *                                the group did not match), a '$'
 *
 * Flags: regexp i (on by default: case-insensitive), x (on by default:
 * extended syntax), m; pcre i (on by default), s (on by default), m, x,
 * A, E, U, X (ignored). A flag letter toggles its default.
 *
 * The regular expression engine itself (POSIX regcomp for regexp:,
 * PCRE2 for pcre:) is reached through struct mappat_engine, which the
 * adapter that opens the file supplies (store/mapre): the core never
 * includes a regular expression library. Bad rules are skipped with a
 * warning, as Postfix skips them.
 *
 * A parsed table is immutable; lookups may run in many threads at once
 * if the engine's exec() allows it.
 *
 * Depends on: util/. No I/O.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define MAPPAT_SUB_MAX		99	/* $n up to (dict_pcre.c
					 * PCRE_MAX_CAPTURE) */
#define MAPPAT_RULES_MAX	100000	/* rules in one table */
#define MAPPAT_NEST_MAX		1000	/* IF nesting */

enum mappat_dialect {
	MAPPAT_REGEXP,		/* POSIX, dict_regexp.c */
	MAPPAT_PCRE		/* dict_pcre.c */
};

/* pattern options, as the flag letters give them; the engine maps them */
#define MAPPAT_O_ICASE		0x01	/* i */
#define MAPPAT_O_NEWLINE	0x02	/* m */
#define MAPPAT_O_EXTENDED	0x04	/* x */
#define MAPPAT_O_DOTALL		0x08	/* s (pcre) */
#define MAPPAT_O_ANCHORED	0x10	/* A (pcre) */
#define MAPPAT_O_DOLLAR_ENDONLY	0x20	/* E (pcre) */
#define MAPPAT_O_UNGREEDY	0x40	/* U (pcre) */
#define MAPPAT_O_NOSUB		0x80	/* no $n will be asked (REG_NOSUB) */

#define MAPPAT_UNSET		SIZE_MAX	/* a group that did not match */

struct mappat_engine {
	/*
	 * compile - re with opts; returns the compiled pattern and sets
	 * *nsub_r to its number of capture groups, or returns NULL with a
	 * fresh *err_r.
	 */
	void	*(*compile)(const char *re, unsigned opts, size_t *nsub_r,
		    char **err_r);
	/*
	 * exec - match s[0..len). Returns 1 when it matches (ovec holds
	 * npairs start/end offsets, MAPPAT_UNSET for groups that did not
	 * take part), 0 when it does not, -1 on an engine error (Postfix
	 * logs it and counts it as no match).
	 */
	int	 (*exec)(const void *re, const char *s, size_t len,
		    size_t *ovec, size_t npairs);
	void	 (*free)(void *re);
};

struct mappat;

/*
 * mappat_parse - the rules of text[0..len) (the file's contents; name
 * for messages), compiled with eng. Warnings ("regexp map NAME, line N:
 * ...", the words of Postfix's own) are appended to *warn_r (fresh or
 * NULL). Returns 0 and *pat_r, or -1 with *err_r (fresh) when a limit
 * is exceeded.
 */
int	mappat_parse(enum mappat_dialect d, const struct mappat_engine *eng,
	    const char *name, const char *text, size_t len,
	    struct mappat **pat_r, char **warn_r, char **err_r);
void	mappat_free(struct mappat **p);

/*
 * mappat_lookup - the result of key: NULL when no rule matches;
 * otherwise the matching rule's result text as written ($$ already
 * "$" when there is no $n), borrowed from the table. *empty_r says
 * whether the result after $n substitution is empty (Postfix maps_find:
 * an error). out (may be NULL) receives the substituted result.
 */
const char *mappat_lookup(const struct mappat *p, const char *key,
	    struct buf *out, bool *empty_r);

/* mappat_nrules - rules kept (after skipping bad ones) */
size_t	mappat_nrules(const struct mappat *p);

#endif
