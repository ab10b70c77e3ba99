#ifndef VRCPT_SQLMAP_H
#define VRCPT_SQLMAP_H
/*
 * sqlmap - Postfix pgsql_table(5) map definitions, pure part.
 *
 * Parses a Postfix "pgsql:/path.cf" file (given as text: the caller reads
 * the file) and turns its query template into SQL with $n parameters, so
 * that no key text is ever pasted into SQL. Every single-quoted literal
 * of the template that contains a % expansion becomes one parameter whose
 * value is the literal's content with the expansions applied ('' -> ').
 * An expansion outside quotes becomes a parameter of its own. %% is a
 * literal %.
 *
 * Expansion rules follow Postfix db_common.c db_common_expand():
 *   %s whole key, %u local part (whole key when it has no @), %d domain,
 *   %1..%9 domain labels counted from the right, %% a percent sign.
 *   The query is suppressed (the key is "not found") when %u is used and
 *   the local part is empty, when %d is used and the key has no @, and
 *   when %N names a label that does not exist or is empty.
 *   With "domain = a.example, b.example" only keys user@listed-domain are
 *   looked up at all (db_common_check_domain).
 *
 * Results follow dict_pgsql.c: every column of every row is formatted
 * with result_format (%s the value, %u/%d/%1..%9 its parts, %S %U %D
 * the key's) and joined with ","; NULL or empty values are skipped; no
 * value left is "not found"; more than expansion_limit values (0 = no
 * limit) is a lookup failure.
 *
 * Depends on: util/, core/fact.h. No I/O.
 */
#include <stdbool.h>
#include <stddef.h>

#include "core/fact.h"

#define SQLMAP_PARAMS_MAX	16	/* $n parameters in one query */
#define SQLMAP_HOSTS_MAX	16	/* entries in "hosts =" */
#define SQLMAP_DOMAINS_MAX	1024	/* entries in "domain =" */
#define SQLMAP_TEXT_MAX		(64 * 1024)	/* size of a .cf file */
/* the formatted result kept: Postfix's socketmap reply limit
 * (dict_sockmap.c: DICT_SOCKMAP_DEF_MAX_REPLY). A longer result is cut
 * to exactly this many bytes, so that a value of this length is known
 * to be cut (core/smap.c answers it as a lookup error). */
#define SQLMAP_VALUE_MAX	100000

/* how to reach the database: what the .cf says, kept as written */
struct sqlmap_conn {
	char	*hosts[SQLMAP_HOSTS_MAX];	/* "inet:h:p", "unix:/dir",
						 * "h", "h:p"; default
						 * "localhost" */
	size_t	 nhosts;
	char	*user;		/* NULL if unset */
	char	*password;	/* NULL if unset */
	char	*dbname;	/* required */
	unsigned retry_interval_s;	/* failed host skipped (60) */
	unsigned idle_interval_s;	/* idle connection closed (60) */
};

/* what the templates need of the key, as db_common_parse() collects it */
struct sqlmap_needs {
	bool	 key_user;	/* %u %U (query), %U (result) */
	bool	 key_domain;	/* %d %D %1..%9 (query), %D %1..%9 (result) */
	bool	 val_user;	/* %u (result) */
	bool	 val_domain;	/* %d (result) */
	unsigned nparts;	/* highest %1..%9 */
};

struct sqlmap_param {
	char	*tmpl;		/* literal content with % expansions */
};

struct sqlmap {
	char	*path;		/* the .cf file, for messages */
	struct sqlmap_conn conn;
	char	*query_tmpl;	/* "query =" as written (or built from the
				 * legacy select_field/table/where_field) */
	char	*sql;		/* compiled: the template with $1..$n */
	struct sqlmap_param params[SQLMAP_PARAMS_MAX];
	size_t	 nparams;
	char	**domains;	/* "domain =" filter, lower-case; NULL = none */
	size_t	 ndomains;
	char	*result_format;	/* default "%s" */
	unsigned expansion_limit;	/* 0 = none */
	struct sqlmap_needs needs;	/* of both templates, found once */
	unsigned id;		/* set by the config loader: statement index,
				 * unique across the configuration */
};

/*
 * sqlmap_parse - parse .cf text. path is used in messages only. Unknown
 * parameters give a warning (appended to *warnings_r as "path:line:
 * warning: ..." lines, caller frees; may be NULL). Returns 0 and *sm_r, or
 * -1 and *error_r ("path:line: message", caller frees).
 */
int	sqlmap_parse(const char *path, const char *text, size_t len,
	    struct sqlmap **sm_r, char **warnings_r, char **error_r);
void	sqlmap_free(struct sqlmap **smp);

/*
 * sqlmap_applies - false when the "domain =" filter rules the key out
 * (then the lookup is "not found" without a query).
 */
bool	sqlmap_applies(const struct sqlmap *sm, const char *key);

/*
 * sqlmap_suppressed - the query is not made for key (pgsql_table(5): %u
 * with an empty local part, %d without a domain, %N without that label):
 * the lookup is "not found". No allocation.
 */
bool	sqlmap_suppressed(const struct sqlmap *sm, const char *key);

/*
 * sqlmap_expand - compute the parameter values for key. Returns true and
 * fills params[0..nparams-1] with fresh strings (free each with free()),
 * or false when the query is suppressed (nothing allocated).
 */
bool	sqlmap_expand(const struct sqlmap *sm, const char *key,
	    char *params[SQLMAP_PARAMS_MAX]);

/*
 * sqlmap_result - turn the values of a successful query (all columns of
 * all rows, row-major; NULL entries are SQL NULLs) into a fact.
 * FACT_FOUND: *value_r is the joined result, cut at SQLMAP_VALUE_MAX
 * bytes when longer (found all the same; caller frees).
 * FACT_NOT_FOUND: nothing allocated.
 * FACT_UNAVAILABLE: *why_r says why (expansion limit; caller frees).
 * Warnings Postfix would log (empty values) are returned in *warn_r
 * (caller frees, NULL if none) for the caller to log.
 */
enum fact_result sqlmap_result(const struct sqlmap *sm, const char *key,
	    const char *const *vals, size_t nvals, char **value_r,
	    char **why_r, char **warn_r);

/* sqlmap_same_conn - both maps use the same server, user and database */
bool	sqlmap_same_conn(const struct sqlmap_conn *a,
	    const struct sqlmap_conn *b);

/*
 * Postfix main.cf syntax, shared with the vrcptd.cf loader (config.c),
 * so that both read files exactly alike: logical lines as Postfix
 * readllines() builds them (a line that starts with white space
 * continues the previous one; empty, blank and "#" lines are skipped
 * and do not end a logical line; "#" elsewhere is text), split as
 * split_nameval() does ("name = value", white space trimmed). No $name
 * expansion here: pgsql .cf files have none, config.c does its own.
 */
struct sqlmap_cf_entry {
	char	*name;
	char	*value;
	unsigned line;		/* first physical line of the logical line */
};

struct sqlmap_cf {
	struct sqlmap_cf_entry *v;	/* file order, duplicates kept */
	size_t	 n;
	size_t	 vcap;			/* entries allocated */
	char	**errors;		/* "path:line: message" */
	size_t	 nerrors;
	char	**warnings;		/* "path:line: warning: message" */
	size_t	 nwarnings;
};

/*
 * sqlmap_cf_read - split text[0..len) into assignments. Never fails as a
 * whole: a bad line is an entry in cf->errors and is skipped, so that a
 * caller can report every error. A name assigned again with a different
 * value gives Postfix's "overriding earlier entry" warning; the caller
 * lets the last one win. Free with sqlmap_cf_free().
 */
void	sqlmap_cf_read(const char *path, const char *text, size_t len,
	    struct sqlmap_cf *cf);
void	sqlmap_cf_free(struct sqlmap_cf *cf);

#endif
