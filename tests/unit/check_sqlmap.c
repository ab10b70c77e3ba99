/*
 * check_sqlmap - Postfix pgsql_table(5) files: parsing, query
 * compilation to $n parameters, % expansion with Postfix's suppression
 * rules, result formatting and the domain filter.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sqlmap.h"
#include "util/buf.h"

/* table rows leave trailing fields out on purpose: they are 0/NULL/false */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define CF_HEAD		"dbname = mail\n"
#define MAXV		8

/* parse text that must be valid; warnings are returned in *w (may be NULL) */
static struct sqlmap *
parse_ok(const char *text, char **w)
{
	struct sqlmap *sm = NULL;
	char	*err = NULL, *warn = NULL;

	if (sqlmap_parse("/etc/postfix/t.cf", text, strlen(text), &sm, &warn,
	    &err) != 0)
		ck_abort_msg("parse failed for <%s>: %s", text, err);
	ck_assert_ptr_nonnull(sm);
	if (w != NULL)
		*w = warn;
	else
		free(warn);
	return sm;
}

/* parse_query - a map with this query (and result_format, if any) */
static struct sqlmap *
parse_query(const char *query, const char *fmt)
{
	char	*text;
	struct sqlmap *sm;

	if (fmt != NULL)
		ck_assert_int_gt(asprintf(&text, CF_HEAD "query = %s\n"
		    "result_format = %s\n", query, fmt), 0);
	else
		ck_assert_int_gt(asprintf(&text, CF_HEAD "query = %s\n",
		    query), 0);
	sm = parse_ok(text, NULL);
	free(text);
	return sm;
}

/*
 * Query compilation: the SQL PostgreSQL sees and the templates of its
 * parameters. A key must never be able to change the SQL text.
 */
static const struct {
	const char *query;
	const char *sql;
	const char *params[MAXV];	/* NULL-terminated */
} compile_cases[] = {
	/* ISPmail */
	{ "SELECT 1 FROM virtual_domains WHERE name='%s'",
	  "SELECT 1 FROM virtual_domains WHERE name=$1", { "%s" } },
	{ "SELECT destination FROM virtual_aliases WHERE source='%s'",
	  "SELECT destination FROM virtual_aliases WHERE source=$1",
	  { "%s" } },
	/* PostfixAdmin, with || and with CONCAT (VARIADIC "any": ::text) */
	{ "SELECT goto FROM alias,alias_domain WHERE "
	  "alias_domain.alias_domain = '%d' and alias.address = '%u' || "
	  "'@' || alias_domain.target_domain AND alias.active = true",
	  "SELECT goto FROM alias,alias_domain WHERE "
	  "alias_domain.alias_domain = $1 and alias.address = $2 || "
	  "'@' || alias_domain.target_domain AND alias.active = true",
	  { "%d", "%u" } },
	{ "SELECT goto FROM alias WHERE address = CONCAT('%u', '@', d) "
	  "AND x = lower('%s')",
	  "SELECT goto FROM alias WHERE address = CONCAT($1::text, '@', d) "
	  "AND x = lower($2)", { "%u", "%s" } },
	{ "SELECT format('%%s@%%s', '%u', lower('%d'))",
	  "SELECT format('%s@%s', $1::text, lower($2))", { "%u", "%d" } },
	/* several expansions in one literal: one parameter */
	{ "SELECT 1 FROM u WHERE email = '%u@%d'",
	  "SELECT 1 FROM u WHERE email = $1", { "%u@%d" } },
	/* '' inside a literal with an expansion is unescaped */
	{ "SELECT 1 FROM u WHERE k = 'it''s %s'",
	  "SELECT 1 FROM u WHERE k = $1", { "it's %s" } },
	/* literals without expansions stay, %% becomes % (Postfix) */
	{ "SELECT 1 FROM u WHERE k LIKE 'a%%' AND s = 'it''s' AND e = '%s'",
	  "SELECT 1 FROM u WHERE k LIKE 'a%' AND s = 'it''s' AND e = $1",
	  { "%s" } },
	/* %% inside a literal with expansions stays for expansion time */
	{ "SELECT 1 FROM u WHERE k LIKE '%u%%'",
	  "SELECT 1 FROM u WHERE k LIKE $1", { "%u%%" } },
	/* an expansion outside quotes is a parameter on its own */
	{ "SELECT 1 FROM u WHERE id = %s",
	  "SELECT 1 FROM u WHERE id = $1", { "%s" } },
	{ "SELECT 1 FROM u WHERE id = (%1) AND x = 5 %% 2",
	  "SELECT 1 FROM u WHERE id = ($1) AND x = 5 % 2", { "%1" } },
	/* upper-case forms in a query act like lower-case ones */
	{ "SELECT 1 FROM u WHERE a='%S' AND b='%U' AND c='%D'",
	  "SELECT 1 FROM u WHERE a=$1 AND b=$2 AND c=$3",
	  { "%S", "%U", "%D" } },
	/* backslashes in a plain literal are text (standard strings) */
	{ "SELECT 1 FROM u WHERE a='\\' AND b='%s\\'",
	  "SELECT 1 FROM u WHERE a='\\' AND b=$1", { "%s\\" } },
	/* E'' without expansions: copied, its \' does not end it */
	{ "SELECT 1 FROM u WHERE a=E'x\\'y' AND b='%s'",
	  "SELECT 1 FROM u WHERE a=E'x\\'y' AND b=$1", { "%s" } },
	/* quoted identifiers and comments are copied */
	{ "SELECT \"Goto\" FROM \"my \"\"t\"\"\" WHERE a='%s' -- it's %u",
	  "SELECT \"Goto\" FROM \"my \"\"t\"\"\" WHERE a=$1 -- it's %u",
	  { "%s" } },
	{ "SELECT 1 /* it's /* nested */ '%s' */ FROM u WHERE a='%s'",
	  "SELECT 1 /* it's /* nested */ '%s' */ FROM u WHERE a=$1",
	  { "%s" } },
	/* a final ; is dropped; $ inside names and literals is text */
	{ "SELECT a$b FROM u WHERE a='$1 %s' ;;",
	  "SELECT a$b FROM u WHERE a=$1", { "$1 %s" } },
	/* a literal that became $n stays a token of its own: '%u'0 was
	 * $10 (another parameter) and '%s'AS $1AS (fuzz_sqlmap) */
	{ "SELECT 1 FROM u WHERE a = '%u'0|| '@' || b AND c = '%d'",
	  "SELECT 1 FROM u WHERE a = $1 0|| '@' || b AND c = $2",
	  { "%u", "%d" } },
	{ "SELECT '%s'AS k, '%s'::text, ('%s')r",
	  "SELECT $1 AS k, $2::text, ($3)r", { "%s", "%s", "%s" } },
	/* no expansion at all */
	{ "SELECT 1", "SELECT 1", { NULL } },
};

START_TEST(test_compile)
{
	struct sqlmap *sm;
	size_t	 n;

	sm = parse_query(compile_cases[_i].query, NULL);
	ck_assert_str_eq(sm->sql, compile_cases[_i].sql);
	for (n = 0; compile_cases[_i].params[n] != NULL; n++) {
		ck_assert_uint_lt(n, sm->nparams);
		ck_assert_str_eq(sm->params[n].tmpl,
		    compile_cases[_i].params[n]);
	}
	ck_assert_uint_eq(sm->nparams, n);
	ck_assert_str_eq(sm->query_tmpl, compile_cases[_i].query);
	sqlmap_free(&sm);
	ck_assert_ptr_null(sm);
}
END_TEST

/* .cf texts that must be refused, and the exact first error line */
static const struct {
	const char *text;
	const char *error;
} error_cases[] = {
	{ "query = SELECT 1\n",
	  "/etc/postfix/t.cf: dbname is required (the database to query)" },
	{ "dbname =\nquery = SELECT 1\n",
	  "/etc/postfix/t.cf:1: dbname is required (the database to query)" },
	{ "dbname = m\n",
	  "/etc/postfix/t.cf: no query: set query = SELECT ... WHERE ... = "
	  "'%s'" },
	{ "dbname = m\ntable = t\nselect_field = a\n",
	  "/etc/postfix/t.cf: no query, and the legacy form needs all of "
	  "table, select_field and where_field (missing: where_field)" },
	{ CF_HEAD "query = SELECT 1 FROM u WHERE id = %s AND x % 2 = 0\n",
	  "/etc/postfix/t.cf:2: query: an unknown % expansion (valid: %% %s "
	  "%u %d %S %U %D %1..%9; write %% for a literal %)" },
	{ CF_HEAD "query = SELECT 1 FROM u WHERE a = 'x%'\n",
	  "/etc/postfix/t.cf:2: query: an unknown % expansion (valid: %% %s "
	  "%u %d %S %U %D %1..%9; write %% for a literal %)" },
	{ CF_HEAD "query = SELECT 1 FROM u WHERE a = '%s' %\n",
	  "/etc/postfix/t.cf:2: query: a lone '%' at the end (write %% for "
	  "a literal %)" },
	{ CF_HEAD "query = SELECT 1 FROM u WHERE a = $1\n",
	  "/etc/postfix/t.cf:2: query: a $n placeholder (vrcpt numbers its "
	  "own query parameters) at \"$1\"" },
	{ CF_HEAD "query = SELECT 1 FROM u WHERE a = $$%s$$\n",
	  "/etc/postfix/t.cf:2: query: a dollar-quoted string (use '...') "
	  "at \"$$%s$$\"" },
	{ CF_HEAD "query = SELECT 1 FROM u WHERE a = E'%s'\n",
	  "/etc/postfix/t.cf:2: query: a % expansion inside an E'...', "
	  "U&'...' or other prefixed string (use a plain '...') at \"'%s'\"" },
	/* a$'%s' would have become the name a$$1 */
	{ CF_HEAD "query = SELECT a$'%s'\n",
	  "/etc/postfix/t.cf:2: query: a % expansion inside an E'...', "
	  "U&'...' or other prefixed string (use a plain '...') at \"'%s'\"" },
	{ CF_HEAD "query = SELECT 1 FROM \"t%s\"\n",
	  "/etc/postfix/t.cf:2: query: a % expansion inside a \"quoted "
	  "identifier\" at \"%s\"\"" },
	{ CF_HEAD "query = SELECT 1 FROM t_%1 WHERE a = '%s'\n",
	  "/etc/postfix/t.cf:2: query: a % expansion outside quotes must "
	  "stand alone as a value (vrcpt passes it as a query parameter, it "
	  "cannot become part of a name) at \"%1 WHERE a = '%s'\"" },
	{ CF_HEAD "query = SELECT 1 FROM u WHERE a = %u@%d\n",
	  "/etc/postfix/t.cf:2: query: a % expansion outside quotes must "
	  "stand alone as a value (vrcpt passes it as a query parameter, it "
	  "cannot become part of a name) at \"%u@%d\"" },
	{ CF_HEAD "query = SELECT 1 FROM u WHERE a = '%s\n",
	  "/etc/postfix/t.cf:2: query: unterminated quoted string at "
	  "\"'%s\"" },
	{ CF_HEAD "query = SELECT 1; DROP TABLE u\n",
	  "/etc/postfix/t.cf:2: query: more than one SQL statement at "
	  "\"; DROP TABLE u\"" },
	{ CF_HEAD "query = SELECT 1 /* '%s'\n",
	  "/etc/postfix/t.cf:2: query: unterminated /* comment at "
	  "\"/* '%s'\"" },
	{ CF_HEAD "query = \n",
	  "/etc/postfix/t.cf:2: query: empty query at \"\"" },
	{ CF_HEAD "query = SELECT 1\nresult_format =\n",
	  "/etc/postfix/t.cf:3: result_format is empty (the default is %s)" },
	{ CF_HEAD "query = SELECT 1\nresult_format = %x\n",
	  "/etc/postfix/t.cf:3: result_format: an unknown % expansion "
	  "(valid: %% %s %u %d %S %U %D %1..%9; write %% for a literal %)" },
	{ CF_HEAD "query = SELECT 1\ndomain = example.com, "
	  "pgsql:/etc/postfix/d.cf\n",
	  "/etc/postfix/t.cf:3: domain = \"pgsql:/etc/postfix/d.cf\" is not "
	  "supported: list domain names only (no type:table, /file or "
	  "!pattern)" },
	{ CF_HEAD "query = SELECT 1\ndomain = /etc/postfix/domains\n",
	  "/etc/postfix/t.cf:3: domain = \"/etc/postfix/domains\" is not "
	  "supported: list domain names only (no type:table, /file or "
	  "!pattern)" },
	{ CF_HEAD "query = SELECT 1\nexpansion_limit = -1\n",
	  "/etc/postfix/t.cf:3: bad expansion_limit value \"-1\": need a "
	  "whole number >= 0" },
	{ CF_HEAD "query = SELECT 1\nretry_interval = 0\n",
	  "/etc/postfix/t.cf:3: bad retry_interval value \"0\": need a whole "
	  "number >= 1" },
	{ CF_HEAD "query = SELECT 1\nidle_interval = 1m\n",
	  "/etc/postfix/t.cf:3: bad idle_interval value \"1m\": need a whole "
	  "number >= 1" },
	{ CF_HEAD "query = SELECT 1\nhosts = unix:run/postgresql\n",
	  "/etc/postfix/t.cf:3: bad hosts entry \"unix:run/postgresql\": use "
	  "inet:host:port, host:port, host, unix:/directory or a "
	  "postgresql:// URI" },
	{ CF_HEAD "query = SELECT 1\nhosts = inet:\n",
	  "/etc/postfix/t.cf:3: bad hosts entry \"inet:\": use "
	  "inet:host:port, host:port, host, unix:/directory or a "
	  "postgresql:// URI" },
	{ CF_HEAD "query SELECT 1\n",
	  "/etc/postfix/t.cf:2: missing '=' after attribute name (the line "
	  "is not shown: it may hold a password)" },
	{ CF_HEAD "= SELECT 1\n",
	  "/etc/postfix/t.cf:2: missing attribute name (the line is not "
	  "shown: it may hold a password)" },
	/* a password on a line of its own is never echoed */
	{ CF_HEAD "s3cret-Passw0rd\n",
	  "/etc/postfix/t.cf:2: missing '=' after attribute name (the line "
	  "is not shown: it may hold a password)" },
};

START_TEST(test_errors)
{
	struct sqlmap *sm = (struct sqlmap *)1;
	char	*err = NULL, *warn = NULL, *nl;
	const char *text = error_cases[_i].text;

	ck_assert_int_eq(sqlmap_parse("/etc/postfix/t.cf", text, strlen(text),
	    &sm, &warn, &err), -1);
	ck_assert_ptr_null(sm);
	ck_assert_ptr_nonnull(err);
	if ((nl = strchr(err, '\n')) != NULL)
		*nl = '\0';
	ck_assert_str_eq(err, error_cases[_i].error);
	free(err);
	free(warn);
}
END_TEST

/* all problems of a file are reported, one per line */
START_TEST(test_errors_all)
{
	const char *text = "query = SELECT $1\nretry_interval = x\n";
	struct sqlmap *sm;
	char	*err = NULL, *warn = NULL;

	ck_assert_int_eq(sqlmap_parse("t.cf", text, strlen(text), &sm, &warn,
	    &err), -1);
	ck_assert_str_eq(err,
	    "t.cf: dbname is required (the database to query)\n"
	    "t.cf:2: bad retry_interval value \"x\": need a whole number >= 1\n"
	    "t.cf:1: query: a $n placeholder (vrcpt numbers its own query "
	    "parameters) at \"$1\"");
	free(err);
	free(warn);
}
END_TEST

/* the file is too big: refused before anything is read */
START_TEST(test_too_large)
{
	size_t	 len = SQLMAP_TEXT_MAX + 1;
	char	*text = malloc(len), *err = NULL;
	struct sqlmap *sm;

	memset(text, '#', len);
	ck_assert_int_eq(sqlmap_parse("t.cf", text, len, &sm, NULL, &err), -1);
	ck_assert_str_eq(err, "t.cf: file too large (more than 65536 bytes)");
	free(err);
	/* and one byte less is fine as far as size goes */
	memcpy(text, "dbname=x\nquery=SELECT 1\n", 24);
	ck_assert_int_eq(sqlmap_parse("t.cf", text, len - 1, &sm, NULL, &err),
	    0);
	sqlmap_free(&sm);
	free(text);
}
END_TEST

/* parameters, defaults and warnings */
START_TEST(test_params)
{
	struct sqlmap *sm;
	char	*w = NULL;

	/* defaults */
	sm = parse_ok(CF_HEAD "query = SELECT 1\n", &w);
	ck_assert_ptr_null(w);
	ck_assert_uint_eq(sm->conn.nhosts, 1);
	ck_assert_str_eq(sm->conn.hosts[0], "localhost");
	ck_assert_ptr_null(sm->conn.user);
	ck_assert_ptr_null(sm->conn.password);
	ck_assert_str_eq(sm->conn.dbname, "mail");
	ck_assert_uint_eq(sm->conn.retry_interval_s, 60);
	ck_assert_uint_eq(sm->conn.idle_interval_s, 60);
	ck_assert_str_eq(sm->result_format, "%s");
	ck_assert_uint_eq(sm->expansion_limit, 0);
	ck_assert_ptr_null(sm->domains);
	ck_assert_str_eq(sm->path, "/etc/postfix/t.cf");
	sqlmap_free(&sm);

	/* everything set; continuation lines; comments; last one wins */
	sm = parse_ok("# ISPmail\n"
	    "user = mailserver\n"
	    "password = pa$$ w#rd\n"
	    "hosts = inet:db1.example.net:5433,\n"
	    "        db2.example.net  unix:/run/postgresql\n"
	    "# between continuation lines: ignored\n"
	    "\n"
	    "\tpostgresql://db3/mail?sslmode=require\n"
	    "dbname = other\n"
	    "dbname = mailserver\n"
	    "query = SELECT 1 FROM virtual_users\n"
	    "   WHERE email='%s'\n"
	    "domain = Example.COM, example.net\texample.org\n"
	    "result_format = %s OK\n"
	    "expansion_limit = 1\n"
	    "retry_interval = 30\n"
	    "idle_interval = 5\n"
	    "encoding = UTF-8\n", &w);
	ck_assert_str_eq(w, "/etc/postfix/t.cf:10: warning: overriding "
	    "earlier entry: dbname (line 9)");
	free(w);
	ck_assert_uint_eq(sm->conn.nhosts, 4);
	ck_assert_str_eq(sm->conn.hosts[0], "inet:db1.example.net:5433");
	ck_assert_str_eq(sm->conn.hosts[1], "db2.example.net");
	ck_assert_str_eq(sm->conn.hosts[2], "unix:/run/postgresql");
	ck_assert_str_eq(sm->conn.hosts[3],
	    "postgresql://db3/mail?sslmode=require");
	ck_assert_str_eq(sm->conn.user, "mailserver");
	/* no $name expansion and no end-of-line comments in .cf files */
	ck_assert_str_eq(sm->conn.password, "pa$$ w#rd");
	ck_assert_str_eq(sm->conn.dbname, "mailserver");
	ck_assert_str_eq(sm->query_tmpl,
	    "SELECT 1 FROM virtual_users   WHERE email='%s'");
	ck_assert_str_eq(sm->sql, "SELECT 1 FROM virtual_users   WHERE "
	    "email=$1");
	ck_assert_uint_eq(sm->ndomains, 3);
	ck_assert_str_eq(sm->domains[0], "example.com");
	ck_assert_str_eq(sm->domains[1], "example.net");
	ck_assert_str_eq(sm->domains[2], "example.org");
	ck_assert_str_eq(sm->result_format, "%s OK");
	ck_assert_uint_eq(sm->expansion_limit, 1);
	ck_assert_uint_eq(sm->conn.retry_interval_s, 30);
	ck_assert_uint_eq(sm->conn.idle_interval_s, 5);
	sqlmap_free(&sm);

	/* unknown parameters and a non-UTF-8 encoding are warnings */
	sm = parse_ok(CF_HEAD "query = SELECT 1\nquerry = SELECT 2\n"
	    "encoding = LATIN1\n", &w);
	ck_assert_str_eq(w, "/etc/postfix/t.cf:3: warning: unknown parameter "
	    "querry\n/etc/postfix/t.cf:4: warning: encoding = LATIN1 ignored: "
	    "vrcpt always talks UTF8 to PostgreSQL");
	free(w);
	sqlmap_free(&sm);

	/* a logical line may not start with white space */
	sm = parse_ok("  hosts = x\n   more\n" CF_HEAD "query = SELECT 1\n",
	    &w);
	ck_assert_str_eq(w, "/etc/postfix/t.cf:1: warning: logical line must "
	    "not start with whitespace (ignored; the line is not shown: it "
	    "may hold a password)");
	ck_assert_str_eq(sm->conn.hosts[0], "localhost");
	free(w);
	sqlmap_free(&sm);

	/* CRLF line ends are white space at the end of a line */
	sm = parse_ok("dbname = mail\r\nquery = SELECT 1\r\n", NULL);
	ck_assert_str_eq(sm->conn.dbname, "mail");
	ck_assert_str_eq(sm->sql, "SELECT 1");
	sqlmap_free(&sm);

	/* legacy fields, as db_common_sql_build_query() builds them */
	sm = parse_ok(CF_HEAD "table = mxaliases\nselect_field = forw_addr\n"
	    "where_field = alias\nadditional_conditions = AND status = "
	    "'paid'\n", NULL);
	ck_assert_str_eq(sm->query_tmpl, "SELECT forw_addr FROM mxaliases "
	    "WHERE alias='%s' AND status = 'paid'");
	ck_assert_str_eq(sm->sql, "SELECT forw_addr FROM mxaliases WHERE "
	    "alias=$1 AND status = 'paid'");
	sqlmap_free(&sm);
	sm = parse_ok(CF_HEAD "select_function = my_lookup\n", NULL);
	ck_assert_str_eq(sm->sql, "SELECT my_lookup($1)");
	sqlmap_free(&sm);
	/* query wins over the legacy fields */
	sm = parse_ok(CF_HEAD "table = t\nquery = SELECT 2\n", NULL);
	ck_assert_str_eq(sm->sql, "SELECT 2");
	sqlmap_free(&sm);
}
END_TEST

/*
 * Hostile keys: whatever the key holds, the SQL text does not change and
 * the parameter carries the key verbatim.
 */
static const char *const hostile_keys[] = {
	"o'brien@example.com",
	"a\\'b@example.com",
	"x'; DROP TABLE virtual_users; --@example.com",
	"100%@example.com",
	"%s%u%d@example.com",
	"a_b@example.com",
	"$1@example.com",
	"\"quoted local\"@example.com",
	"'')--@example.com",
	"\\@example.com",
	"e'\\x27'@example.com",
	"$$@example.com",
	"/* x */@example.com",
};

START_TEST(test_hostile)
{
	struct sqlmap *sm;
	char	*p[SQLMAP_PARAMS_MAX];
	const char *key = hostile_keys[_i];
	const char *at = strrchr(key, '@');

	sm = parse_query("SELECT 1 FROM u WHERE email = '%s' AND l = '%u' "
	    "AND d = '%d' AND x = %s", NULL);
	ck_assert_str_eq(sm->sql, "SELECT 1 FROM u WHERE email = $1 AND "
	    "l = $2 AND d = $3 AND x = $4");
	ck_assert(sqlmap_expand(sm, key, p));
	ck_assert_str_eq(p[0], key);
	ck_assert_uint_eq(strlen(p[1]), (size_t)(at - key));
	ck_assert(strncmp(p[1], key, strlen(p[1])) == 0);
	ck_assert_str_eq(p[2], "example.com");
	ck_assert_str_eq(p[3], key);
	ck_assert_str_eq(sm->sql, "SELECT 1 FROM u WHERE email = $1 AND "
	    "l = $2 AND d = $3 AND x = $4");
	for (size_t i = 0; i < sm->nparams; i++)
		free(p[i]);
	sqlmap_free(&sm);
}
END_TEST

/*
 * Expansion and suppression (db_common_expand): query, result_format,
 * key -> the parameter values, or NULL when the query is suppressed.
 */
static const struct {
	const char *query;
	const char *fmt;
	const char *key;
	const char *params[MAXV];	/* { NULL } with suppressed */
	bool	 suppressed;
} expand_cases[] = {
	{ "SELECT '%s'", NULL, "user@example.com", { "user@example.com" } },
	{ "SELECT '%s'", NULL, "@example.com", { "@example.com" } },
	{ "SELECT '%s'", NULL, "plain", { "plain" } },
	/* %u: the whole key without @; suppressed when empty */
	{ "SELECT '%u'", NULL, "user@example.com", { "user" } },
	{ "SELECT '%u'", NULL, "plain", { "plain" } },
	{ "SELECT '%u'", NULL, "@example.com", { NULL }, true },
	{ "SELECT '%u'", NULL, "user@", { "user" } },
	/* the last @ separates (strrchr) */
	{ "SELECT '%u', '%d'", NULL, "\"a@b\"@example.com",
	  { "\"a@b\"", "example.com" } },
	/* %d: suppressed without @ or with an empty domain */
	{ "SELECT '%d'", NULL, "user@example.com", { "example.com" } },
	{ "SELECT '%d'", NULL, "@example.com", { "example.com" } },
	{ "SELECT '%d'", NULL, "plain", { NULL }, true },
	{ "SELECT '%d'", NULL, "user@", { NULL }, true },
	/* the common local/domain query never sees the catch-all key */
	{ "SELECT 1 FROM u WHERE local='%u' AND domain='%d'", NULL,
	  "@example.com", { NULL }, true },
	/* %1..%9: labels from the right; too few suppresses */
	{ "SELECT '%1', '%2', '%3'", NULL, "u@mail.example.com",
	  { "com", "example", "mail" } },
	{ "SELECT '%3'", NULL, "u@example.com", { NULL }, true },
	{ "SELECT '%1'", NULL, "plain", { NULL }, true },
	{ "SELECT '%1'", NULL, "u@", { NULL }, true },
	/* empty labels are dropped as Postfix argv_split() does */
	{ "SELECT '%2'", NULL, "u@.com", { NULL }, true },
	{ "SELECT '%2', '%1'", NULL, "u@a..com", { "a", "com" } },
	{ "SELECT '%2'", NULL, "u@example.com.", { "example" } },
	{ "SELECT '%2.%1' ", NULL, "u@example.com", { "example.com" } },
	/* more labels than %1..%9 reach, one-letter and trailing ones
	 * (the label scan computed end[-len - 1] with an unsigned len:
	 * undefined, fuzz_sqlmap under UBSan) */
	{ "SELECT '%9', '%1'", NULL, "u@a.b.c.d.e.f.g.h.i.j.k.",
	  { "c", "k" } },
	{ "SELECT '%1'", NULL, "u@x", { "x" } },
	/* %% and literal text in a parameter */
	{ "SELECT '%%%u%%'", NULL, "joe@example.com", { "%joe%" } },
	{ "SELECT 'x''%s'", NULL, "k", { "x'k" } },
	/* upper case in the query: as lower case */
	{ "SELECT '%U'", NULL, "@example.com", { NULL }, true },
	{ "SELECT '%D'", NULL, "plain", { NULL }, true },
	{ "SELECT '%S/%U/%D'", NULL, "a@b.c", { "a@b.c/a/b.c" } },
	/* result_format needs count too (one db_common context) */
	{ "SELECT '%s'", "%D", "plain", { NULL }, true },
	{ "SELECT '%s'", "%U", "@example.com", { NULL }, true },
	{ "SELECT '%s'", "%3", "u@example.com", { NULL }, true },
	{ "SELECT '%s'", "%d", "plain", { "plain" } },
	/* an expansion in a comment counts, but is no parameter */
	{ "SELECT '%s' -- %d", NULL, "plain", { NULL }, true },
	{ "SELECT '%s' -- %d", NULL, "a@b", { "a@b" } },
};

START_TEST(test_expand)
{
	struct sqlmap *sm;
	char	*p[SQLMAP_PARAMS_MAX];
	size_t	 n;

	sm = parse_query(expand_cases[_i].query, expand_cases[_i].fmt);
	if (expand_cases[_i].suppressed) {
		ck_assert_msg(!sqlmap_expand(sm, expand_cases[_i].key, p),
		    "%s with %s: not suppressed", expand_cases[_i].key,
		    expand_cases[_i].query);
		sqlmap_free(&sm);
		return;
	}
	ck_assert_msg(sqlmap_expand(sm, expand_cases[_i].key, p),
	    "%s with %s: suppressed", expand_cases[_i].key,
	    expand_cases[_i].query);
	for (n = 0; expand_cases[_i].params[n] != NULL; n++) {
		ck_assert_uint_lt(n, sm->nparams);
		ck_assert_str_eq(p[n], expand_cases[_i].params[n]);
	}
	ck_assert_uint_eq(n, sm->nparams);
	for (n = 0; n < sm->nparams; n++)
		free(p[n]);
	sqlmap_free(&sm);
}
END_TEST

/*
 * Results (dict_pgsql_lookup + db_common_expand on values):
 * result_format, expansion_limit, key, values -> fact, value, warning.
 */
#define NV	((const char *)0)	/* an SQL NULL */
#define EMPTYWARN(k) "table \"pgsql:/etc/postfix/t.cf\": empty lookup " \
		    "result for: \"" k "\" -- ignored"

static const struct {
	const char *fmt;
	unsigned limit;
	const char *key;
	size_t	 nvals;
	const char *vals[MAXV];
	enum fact_result result;
	const char *value;	/* FOUND */
	const char *warn;	/* or NULL */
	const char *why;	/* UNAVAILABLE */
} result_cases[] = {
	{ NULL, 0, "a@example.com", 0, { NV }, FACT_NOT_FOUND },
	{ NULL, 0, "a@example.com", 1, { "1" }, FACT_FOUND, "1" },
	/* every column of every row, joined with "," */
	{ NULL, 0, "a@example.com", 3, { "x@e.com", "y@e.com", "z" },
	  FACT_FOUND, "x@e.com,y@e.com,z" },
	/* empty and NULL values are skipped with Postfix's warning */
	{ NULL, 0, "a@example.com", 1, { "" }, FACT_NOT_FOUND, NULL,
	  EMPTYWARN("a@example.com") },
	{ NULL, 0, "a@example.com", 1, { NV }, FACT_NOT_FOUND, NULL,
	  EMPTYWARN("a@example.com") },
	{ NULL, 0, "a@example.com", 4, { NV, "x", "", "y" }, FACT_FOUND,
	  "x,y", EMPTYWARN("a@example.com") },
	/* result_format with text around the value */
	{ "%s OK", 0, "a@example.com", 2, { "x", "y" }, FACT_FOUND,
	  "x OK,y OK" },
	{ "smtp:[%s]", 0, "a@example.com", 1, { "mx.example" }, FACT_FOUND,
	  "smtp:[mx.example]" },
	{ "100%% %s", 0, "k", 1, { "v" }, FACT_FOUND, "100% v" },
	/* %u/%d refer to the value; values without them are skipped */
	{ "%u", 0, "k", 3, { "joe@x.org", "@x.org", "plain" }, FACT_FOUND,
	  "joe,plain" },
	{ "%d", 0, "k", 3, { "joe@x.org", "plain", "joe@" }, FACT_FOUND,
	  "x.org" },
	{ "%d", 0, "k", 1, { "plain" }, FACT_NOT_FOUND },
	/* %S %U %D %1 refer to the key */
	{ "%s for %S", 0, "Joe@Example.com", 1, { "v" }, FACT_FOUND,
	  "v for Joe@Example.com" },
	{ "%U+%u@%D", 0, "joe@example.com", 1, { "box@store.net" },
	  FACT_FOUND, "joe+box@example.com" },
	{ "%2/%1/%s", 0, "joe@mail.example.com", 1, { "v" }, FACT_FOUND,
	  "example/com/v" },
	/* expansion_limit: counts non-empty values; exceeded = failure */
	{ NULL, 1, "a@example.com", 1, { "x" }, FACT_FOUND, "x" },
	{ NULL, 1, "a@example.com", 3, { "x", "", NV }, FACT_FOUND, "x",
	  EMPTYWARN("a@example.com") },
	{ NULL, 1, "a@example.com", 2, { "x", "y" }, FACT_UNAVAILABLE, NULL,
	  NULL, "dict_pgsql_lookup: /etc/postfix/t.cf: Expansion limit "
	  "exceeded for key: 'a@example.com'" },
	{ NULL, 2, "a@example.com", 3, { "x", "y", "z" }, FACT_UNAVAILABLE,
	  NULL, NULL, "dict_pgsql_lookup: /etc/postfix/t.cf: Expansion "
	  "limit exceeded for key: 'a@example.com'" },
	{ "%d", 1, "k", 3, { "a@b", "c", "d" }, FACT_FOUND, "b" },
	/* a key with control characters is sanitised in messages */
	{ NULL, 0, "a\x01" "b@x", 1, { "" }, FACT_NOT_FOUND, NULL,
	  EMPTYWARN("a?b@x") },
};

START_TEST(test_result)
{
	struct sqlmap *sm;
	char	*value, *why, *warn;
	enum fact_result r;

	sm = parse_query("SELECT x FROM t WHERE k = '%s'",
	    result_cases[_i].fmt);
	sm->expansion_limit = result_cases[_i].limit;
	r = sqlmap_result(sm, result_cases[_i].key, result_cases[_i].vals,
	    result_cases[_i].nvals, &value, &why, &warn);
	ck_assert_int_eq(r, result_cases[_i].result);
	if (result_cases[_i].value != NULL)
		ck_assert_str_eq(value, result_cases[_i].value);
	else
		ck_assert_ptr_null(value);
	if (result_cases[_i].warn != NULL)
		ck_assert_str_eq(warn, result_cases[_i].warn);
	else
		ck_assert_ptr_null(warn);
	if (result_cases[_i].why != NULL)
		ck_assert_str_eq(why, result_cases[_i].why);
	else
		ck_assert_ptr_null(why);
	free(value);
	free(why);
	free(warn);
	sqlmap_free(&sm);
}
END_TEST

/*
 * A result that is too long to keep is still "found", cut at
 * SQLMAP_VALUE_MAX: many values, one value alone (a big alias list: this
 * was "not found", so "User unknown", before sqlmap_result() kept what
 * fits; fuzz_sqlmap checks found-iff-usable), one byte over, and a
 * result_format that multiplies a short value.
 */
#define PCT_S_10	"%s%s%s%s%s%s%s%s%s%s"
#define PCT_S_100	PCT_S_10 PCT_S_10 PCT_S_10 PCT_S_10 PCT_S_10 \
			PCT_S_10 PCT_S_10 PCT_S_10 PCT_S_10 PCT_S_10
#define PCT_S_1000	PCT_S_100 PCT_S_100 PCT_S_100 PCT_S_100 PCT_S_100 \
			PCT_S_100 PCT_S_100 PCT_S_100 PCT_S_100 PCT_S_100

static const struct {
	const char *fmt;	/* result_format, NULL: %s */
	size_t	 vlen;		/* bytes of each value */
	size_t	 nvals;
	size_t	 total;		/* of the whole result, uncut */
} big_cases[] = {
	{ NULL, 999, 2 * SQLMAP_VALUE_MAX / 1000,
	  (2 * SQLMAP_VALUE_MAX / 1000) * 1000 - 1 },
	{ NULL, SQLMAP_VALUE_MAX, 1, SQLMAP_VALUE_MAX },
	{ NULL, SQLMAP_VALUE_MAX + 1, 1, SQLMAP_VALUE_MAX + 1 },
	{ NULL, 4 * SQLMAP_VALUE_MAX, 2, 8 * SQLMAP_VALUE_MAX + 1 },
	{ PCT_S_1000, 70, 1, 70000 },
};

START_TEST(test_result_big)
{
	struct sqlmap *sm = parse_query("SELECT x", big_cases[_i].fmt);
	size_t	 n = big_cases[_i].nvals, i, want;
	const char **vals = calloc(n, sizeof(*vals));
	char	*big = malloc(big_cases[_i].vlen + 1), *value, *why, *warn;

	memset(big, 'a', big_cases[_i].vlen);
	big[big_cases[_i].vlen] = '\0';
	for (i = 0; i < n; i++)
		vals[i] = big;
	ck_assert_int_eq(sqlmap_result(sm, "k", vals, n, &value, &why, &warn),
	    FACT_FOUND);
	want = big_cases[_i].total < SQLMAP_VALUE_MAX ?
	    big_cases[_i].total : SQLMAP_VALUE_MAX;
	ck_assert_uint_eq(strlen(value), want);
	ck_assert_uint_eq(strspn(value, "a,"), want);
	free(value);
	free(vals);
	free(big);
	sqlmap_free(&sm);
}
END_TEST

/* the domain filter (db_common_check_domain) */
static const struct {
	const char *key;
	bool	 applies;
} domain_cases[] = {
	{ "user@example.com", true },
	{ "user@EXAMPLE.com", true },
	{ "user@example.net", true },
	{ "user@sub.example.com", false },	/* no parent matching */
	{ "user@example.org", false },
	{ "@example.com", false },	/* no catch-all lookups */
	{ "example.com", false },	/* no bare domains */
	{ "user", false },
	{ "user@", false },
	{ "a@b@example.com", true },	/* last @ */
};

START_TEST(test_domain)
{
	struct sqlmap *sm;

	sm = parse_ok(CF_HEAD "query = SELECT '%s'\n"
	    "domain = Example.COM\n  example.net\n", NULL);
	ck_assert_uint_eq(sm->ndomains, 2);
	ck_assert_int_eq(sqlmap_applies(sm, domain_cases[_i].key),
	    domain_cases[_i].applies);
	sqlmap_free(&sm);
	/* without a filter, everything applies */
	sm = parse_ok(CF_HEAD "query = SELECT '%s'\ndomain =\n", NULL);
	ck_assert_ptr_null(sm->domains);
	ck_assert(sqlmap_applies(sm, domain_cases[_i].key));
	sqlmap_free(&sm);
}
END_TEST

START_TEST(test_same_conn)
{
	struct sqlmap *a, *b, *c, *d, *e;

	a = parse_ok("dbname = m\nuser = u\nquery = SELECT 1\n", NULL);
	b = parse_ok("user = u\ndbname = m\nquery = SELECT 2\n"
	    "result_format = x%s\nhosts = localhost\n", NULL);
	c = parse_ok("dbname = m\nuser = v\nquery = SELECT 1\n", NULL);
	d = parse_ok("dbname = m2\nuser = u\nquery = SELECT 1\n", NULL);
	e = parse_ok("dbname = m\nuser = u\npassword = p\nquery = SELECT 1\n",
	    NULL);
	ck_assert(sqlmap_same_conn(&a->conn, &b->conn));
	ck_assert(sqlmap_same_conn(&b->conn, &a->conn));
	ck_assert(!sqlmap_same_conn(&a->conn, &c->conn));
	ck_assert(!sqlmap_same_conn(&a->conn, &d->conn));
	ck_assert(!sqlmap_same_conn(&a->conn, &e->conn));
	sqlmap_free(&a);
	sqlmap_free(&b);
	sqlmap_free(&c);
	sqlmap_free(&d);
	sqlmap_free(&e);
}
END_TEST

/* the shared main.cf-syntax reader */
START_TEST(test_cf_read)
{
	struct sqlmap_cf cf;
	const char *text = "a = 1\n"
	    "# comment\n"
	    "b=2  \n"
	    "\n"
	    "  # indented comment inside b's logical line\n"
	    "   continued\n"
	    "c =\n"
	    "d = x # not a comment\n"
	    "e\n"
	    "a = 1\n"
	    "a = 3";

	sqlmap_cf_read("m.cf", text, strlen(text), &cf);
	ck_assert_uint_eq(cf.n, 6);
	ck_assert_str_eq(cf.v[0].name, "a");
	ck_assert_str_eq(cf.v[0].value, "1");
	ck_assert_uint_eq(cf.v[0].line, 1);
	ck_assert_str_eq(cf.v[1].name, "b");
	ck_assert_str_eq(cf.v[1].value, "2     continued");
	ck_assert_uint_eq(cf.v[1].line, 3);
	ck_assert_str_eq(cf.v[2].name, "c");
	ck_assert_str_eq(cf.v[2].value, "");
	ck_assert_uint_eq(cf.v[2].line, 7);
	ck_assert_str_eq(cf.v[3].value, "x # not a comment");
	ck_assert_str_eq(cf.v[4].value, "1");
	ck_assert_uint_eq(cf.v[4].line, 10);
	ck_assert_str_eq(cf.v[5].value, "3");
	ck_assert_uint_eq(cf.v[5].line, 11);
	ck_assert_uint_eq(cf.nerrors, 1);
	ck_assert_str_eq(cf.errors[0], "m.cf:9: missing '=' after attribute "
	    "name (the line is not shown: it may hold a password)");
	/* same value again: no warning (dict_load_fp) */
	ck_assert_uint_eq(cf.nwarnings, 1);
	ck_assert_str_eq(cf.warnings[0], "m.cf:11: warning: overriding "
	    "earlier entry: a (line 10)");
	sqlmap_cf_free(&cf);

	/* a NUL byte is an error for its line only */
	sqlmap_cf_read("m.cf", "a = 1\nb = \0x\nc = 3\n", 18, &cf);
	ck_assert_uint_eq(cf.n, 2);
	ck_assert_uint_eq(cf.nerrors, 1);
	ck_assert_str_eq(cf.errors[0], "m.cf:2: NUL byte in line");
	sqlmap_cf_free(&cf);

	/* empty text */
	sqlmap_cf_read("m.cf", "", 0, &cf);
	ck_assert_uint_eq(cf.n, 0);
	ck_assert_uint_eq(cf.nerrors + cf.nwarnings, 0);
	sqlmap_cf_free(&cf);
}
END_TEST

/*
 * Many names: reading is linear (a table of names, not a scan back per
 * line, and entries grown geometrically: a 1 MB vrcptd.cf of distinct
 * names took minutes), and still finds the last earlier assignment of
 * each name.
 */
#define MANY_NAMES	30000

START_TEST(test_cf_many_names)
{
	struct buf text;
	struct sqlmap_cf cf;
	size_t	 i;

	buf_init(&text, 0);
	for (i = 0; i < MANY_NAMES; i++)
		buf_printf(&text, "p%zu = %zu\n", i, i);
	buf_puts(&text, "p7 = 7\np70 = changed\np70 = again\n");
	sqlmap_cf_read("m.cf", text.data, text.len, &cf);
	ck_assert_uint_eq(cf.n, MANY_NAMES + 3);
	ck_assert_uint_eq(cf.nerrors, 0);
	ck_assert_uint_eq(cf.nwarnings, 2);
	ck_assert_str_eq(cf.warnings[0], "m.cf:30002: warning: overriding "
	    "earlier entry: p70 (line 71)");
	ck_assert_str_eq(cf.warnings[1], "m.cf:30003: warning: overriding "
	    "earlier entry: p70 (line 30002)");
	sqlmap_cf_free(&cf);
	buf_free(&text);
}
END_TEST

/* the parameter limit: 16 fit, 17 do not */
START_TEST(test_param_limit)
{
	char	 q[1024] = "SELECT 1 WHERE a IN (";
	struct sqlmap *sm;
	char	*text, *err = NULL;
	int	 i;

	for (i = 0; i < SQLMAP_PARAMS_MAX; i++)
		strcat(q, i ? ", '%s'" : "'%s'");
	strcat(q, ")");
	sm = parse_query(q, NULL);
	ck_assert_uint_eq(sm->nparams, SQLMAP_PARAMS_MAX);
	sqlmap_free(&sm);
	q[strlen(q) - 1] = '\0';
	strcat(q, ", '%u')");
	ck_assert_int_gt(asprintf(&text, CF_HEAD "query = %s\n", q), 0);
	ck_assert_int_eq(sqlmap_parse("t.cf", text, strlen(text), &sm, NULL,
	    &err), -1);
	ck_assert_str_eq(err, "t.cf:2: query: too many % expansions (the "
	    "limit is 16 quoted strings or expansions) at \"'%u')\"");
	free(err);
	free(text);
}
END_TEST

static Suite *
sqlmap_suite(void)
{
	Suite	*s = suite_create("sqlmap");
	TCase	*tc = tcase_create("core");

	tcase_add_loop_test(tc, test_compile, 0,
	    sizeof(compile_cases) / sizeof(compile_cases[0]));
	tcase_add_loop_test(tc, test_errors, 0,
	    sizeof(error_cases) / sizeof(error_cases[0]));
	tcase_add_test(tc, test_errors_all);
	tcase_add_test(tc, test_too_large);
	tcase_add_test(tc, test_params);
	tcase_add_loop_test(tc, test_hostile, 0,
	    sizeof(hostile_keys) / sizeof(hostile_keys[0]));
	tcase_add_loop_test(tc, test_expand, 0,
	    sizeof(expand_cases) / sizeof(expand_cases[0]));
	tcase_add_loop_test(tc, test_result, 0,
	    sizeof(result_cases) / sizeof(result_cases[0]));
	tcase_add_loop_test(tc, test_result_big, 0,
	    sizeof(big_cases) / sizeof(big_cases[0]));
	tcase_add_loop_test(tc, test_domain, 0,
	    sizeof(domain_cases) / sizeof(domain_cases[0]));
	tcase_add_test(tc, test_same_conn);
	tcase_add_test(tc, test_cf_read);
	tcase_add_test(tc, test_cf_many_names);
	tcase_add_test(tc, test_param_limit);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(sqlmap_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
