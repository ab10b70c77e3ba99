/*
 * reference - the configuration reference from the parameter table.
 * See reference.h.
 *
 * The prose around the parameters (syntax, table types, how the caches
 * stay right) is here; each parameter's own text is its help in
 * params.h.
 */
#include <string.h>

#include "conf/conf.h"
#include "conf/reference.h"
#include "util/buf.h"

static const char reference_head[] =
"# vrcptd.cf - configuration of vrcptd, the recipient check for Postfix.\n"
"#\n"
"# This file is the configuration reference: every parameter is listed\n"
"# below, commented out, with its default value. Uncomment and change\n"
"# what you need. Test with \"vrcptd -t\" (or \"vrcptctl check\", which\n"
"# also shows where each value comes from); reload a running daemon with\n"
"# SIGHUP (\"systemctl reload vrcptd\"). A reload that finds an error\n"
"# keeps the old configuration; a changed parameter that needs a\n"
"# restart is named in the log and takes effect at the next restart.\n"
"# (Written by \"make docs\" from src/conf/params.h: edit that instead.)\n"
"#\n"
"# SYNTAX: the same as Postfix main.cf (postconf(5)):\n"
"#   - Each logical line has the form \"name = value\". White space around\n"
"#     \"=\" and at the end of the line is ignored.\n"
"#   - A line that starts with white space continues the previous line.\n"
"#   - Empty lines and lines whose first non-blank character is \"#\" are\n"
"#     ignored. A \"#\" after a value is NOT a comment: it is part of the\n"
"#     value.\n"
"#   - \"$name\" and \"${name}\" are replaced with the value of another\n"
"#     parameter (recursively); an undefined name is empty (with a\n"
"#     warning). \"${name?value}\" is value when $name is non-empty,\n"
"#     \"${name:value}\" is value when $name is empty, and\n"
"#     \"${name?{value1}:{value2}}\" chooses. \"$$\" is a literal \"$\" (mind\n"
"#     this in redis_password). You may define names of your own and use\n"
"#     them as $name.\n"
"#   - When a name is assigned twice, the last assignment wins (with a\n"
"#     warning if the values differ). An unknown name is a warning, as in\n"
"#     Postfix; every error names file:line.\n"
"#   - Lists are separated by commas and/or white space; \"{ ... }\" groups\n"
"#     (inline:{...}, static:{...}) are kept whole.\n"
"#   - \"-o name=value\" on the command line of vrcptd, vrcpt-milter and\n"
"#     vrcptctl overrides one parameter, as postfix -o does.\n"
"#\n"
"# Where Postfix has a parameter for the same thing, vrcpt uses Postfix's\n"
"# name and default, so that lines can be copied from main.cf.\n"
"#\n"
"# TABLES (the values of the *_maps and *_domains parameters):\n"
"#   pgsql:/etc/postfix/file.cf\n"
"#       A Postfix pgsql_table(5) file, read unchanged: hosts, user,\n"
"#       password, dbname, query (%s %u %d %1..%9 %%), domain,\n"
"#       result_format, expansion_limit, retry_interval, idle_interval;\n"
"#       the legacy select_field/table/where_field/additional_conditions\n"
"#       and select_function. A relative path is relative to the directory\n"
"#       of this file. The query becomes a prepared statement: each quoted\n"
"#       '...' string that holds a % expansion, and each % expansion\n"
"#       outside quotes, is passed as a parameter, never pasted into the\n"
"#       SQL. vrcpt always talks UTF-8 to PostgreSQL (\"encoding\" is\n"
"#       ignored). A file named in several parameters is read once.\n"
"#   proxy:pgsql:/etc/postfix/file.cf\n"
"#       The same: \"proxy:\" is accepted and ignored.\n"
"#   inline:{ key = value, key2 = value2, { key3 = text, with commas } }\n"
"#       A small table in place. An empty value (\"key =\") is \"not found\".\n"
"#   static:value, static:{ value with spaces }\n"
"#       Every key is found.\n"
"#   example.com\n"
"#       In *_domains parameters only: a domain name (matched exactly,\n"
"#       case-insensitively; one trailing dot is removed). Subdomain\n"
"#       patterns (.example.com), !negation and /file lists are not\n"
"#       supported.\n"
"#   hash:/etc/postfix/virtual, btree:..., lmdb:..., cdb:...\n"
"#       A table built by postmap(1): virtual.db (hash, btree),\n"
"#       virtual.lmdb, virtual.cdb. Looked up as Postfix does (keys folded\n"
"#       to lower case, with and without the trailing NUL postmap writes).\n"
"#   texthash:/etc/postfix/virtual\n"
"#       The postmap source file itself (\"key value\" lines).\n"
"#   regexp:/etc/postfix/virtual.re, pcre:/etc/postfix/virtual.pcre\n"
"#       regexp_table(5), pcre_table(5): flags, IF/ENDIF, $1..$99. Asked\n"
"#       the full address only (as Postfix: not user@domain without the\n"
"#       extension, not @domain). A result that is empty after $n\n"
"#       substitution is a lookup error in *_maps (Postfix: 451 4.3.5),\n"
"#       here lookup_failure_action.\n"
"#   Table files are read whole into memory when vrcptd starts or\n"
"#   reloads (an unreadable file is a configuration error), and again by\n"
"#   themselves within a second after they change (postmap rebuilt\n"
"#   them): no SIGHUP is needed, and no decision made from the old\n"
"#   contents is used again. proxy:hash:... is the same table.\n"
"#   Other Postfix table types (mysql:, ldap:, cidr:, ...) are refused\n"
"#   with an error.\n";

/* what comes under a section heading before its parameters */
static const char *const reference_intro[CONF_NSECTIONS] = {
	[CONF_SEC_CACHE] =
"#\n"
"# Two tiers sit in front of PostgreSQL: an in-process cache (per vrcptd,\n"
"# bounded by cache_max_entries and cache_max_bytes) and, optionally,\n"
"# Redis, shared by every vrcptd that uses it. Both keep \"found\" and \"not\n"
"# found\" answers per table and key, under a name that changes with the\n"
"# table's .cf file, so that a changed query never reads old answers.\n"
"#\n"
"# Changes reach the caches at once through PostgreSQL NOTIFY: load\n"
"# policy/triggers-ispmail.sql or policy/triggers-postfixadmin.sql into\n"
"# the database, after its schema. vrcptd LISTENs on a connection of its\n"
"# own (to the primary). Until it is listening, while that connection is\n"
"# down, and as long as the database has no vrcpt_* triggers, cached\n"
"# answers are not trusted: every RCPT asks the database, and cached\n"
"# answers are used only when the database cannot answer (up to\n"
"# cache_stale_ttl, logged). When the connection comes back, everything\n"
"# cached before is treated that way (it may have missed a change).\n"
"# \"vrcptctl flush\" drops answers by hand, in every running vrcptd and in\n"
"# Redis.\n"
"#\n"
"# With Redis, set \"maxmemory-policy volatile-lru\" (or volatile-ttl) in\n"
"# redis.conf: every cached answer has an expiry, the few epoch keys\n"
"# (\"vrcpt:epoch\", \"vrcpt:de:DOMAIN\") have none and must not be evicted.\n",
};

/*
 * reference_who - "Read by vrcptd and vrcptctl; SIGHUP applies a
 * change." (reload behaviour is vrcptd's)
 */
static void
reference_who(struct buf *out, unsigned flags)
{
	static const struct {
		unsigned flag;
		const char *name;
	} progs[] = {
		{ CONF_D, "vrcptd" },
		{ CONF_M, "vrcpt-milter" },
		{ CONF_C, "vrcptctl" },
	};
	size_t	 i, n = 0, k = 0;

	for (i = 0; i < sizeof(progs) / sizeof(progs[0]); i++)
		n += (flags & progs[i].flag) != 0;
	buf_puts(out, "#\tRead by ");
	for (i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		if (!(flags & progs[i].flag))
			continue;
		k++;
		buf_printf(out, "%s%s", k == 1 ? "" : k == n ? " and " : ", ",
		    progs[i].name);
	}
	if (!(flags & CONF_D))
		buf_puts(out, ".\n");
	else if (flags & CONF_LIVE)
		buf_puts(out, "; SIGHUP applies a change.\n");
	else
		buf_puts(out, "; a change needs a restart.\n");
}

void
reference_cf(struct buf *out)
{
	const struct conf_param *p;
	const char *line, *nl;
	int	 sec = -1;
	size_t	 i;

	buf_puts(out, reference_head);
	for (i = 0; i < CONF_NPARAMS; i++) {
		p = &conf_params[i];
		if ((int)p->section != sec) {
			sec = (int)p->section;
			buf_printf(out, "\n# %s\n", conf_section_titles[sec]);
			if (reference_intro[sec] != NULL)
				buf_puts(out, reference_intro[sec]);
		}
		buf_printf(out, "\n# %s (default: %s)\n", p->name,
		    *p->def != '\0' ? p->def : "empty");
		for (line = p->help; *line != '\0'; line = nl + 1) {
			nl = strchr(line, '\n');
			buf_printf(out, "#\t%.*s\n", (int)(nl - line), line);
		}
		reference_who(out, p->flags);
		buf_printf(out, "#%s =%s%s\n", p->name, *p->def != '\0' ?
		    " " : "", p->def);
	}
}
