/*
 * reference - the configuration reference from the parameter table.
 * See reference.h.
 *
 * The prose around the parameters (syntax, table types, how the caches
 * stay right) is here; each parameter's own text is its help in
 * params.h.
 */
#include <stdbool.h>
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
"# name and default, and takes its value from Postfix's own main.cf\n"
"# (postfix_config_directory, default /etc/postfix, as \"postconf -x\"\n"
"# expands it) unless this file or -o sets it: list the tables once, in\n"
"# main.cf. Precedence: -o, this file, main.cf, Postfix's default.\n"
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
"#       A small table in place. An empty value (\"key =\") is a\n"
"#       configuration error in *_maps, as in Postfix (451 4.3.5).\n"
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
"#       substitution is a configuration error in *_maps: 451 4.3.5\n"
"#       Server configuration error, as in Postfix (or DUNNO with\n"
"#       lookup_failure_action = dunno).\n"
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
 * reference_who - PREFIX "Read by vrcptd and vrcptctl; SIGHUP applies a
 * change." (reload behaviour is vrcptd's)
 */
static void
reference_who(struct buf *out, unsigned flags, const char *prefix)
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
	buf_printf(out, "%sRead by ", prefix);
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
		reference_who(out, p->flags, "#\t");
		buf_printf(out, "#%s =%s%s\n", p->name, *p->def != '\0' ?
		    " " : "", p->def);
	}
}

/*
 * The manual page vrcptd.cf(5): the same table, in roff (man(7)), with
 * the type, the default and the reload behaviour of each parameter.
 * The prose around it is written for the page, not converted from the
 * comments above.
 */
static const char reference_man_head[] =
".\\\" vrcptd.cf(5): written by \"vrcptctl reference --man\" from the\n"
".\\\" parameter table, src/conf/params.h (\"make docs\"). Edit that.\n"
".TH VRCPTD.CF 5\n"
".ad l\n"
".nh\n"
".SH NAME\n"
"vrcptd.cf \\- configuration of vrcptd, vrcpt\\-milter and vrcptctl\n"
".SH SYNOPSIS\n"
".B /etc/vrcpt/vrcptd.cf\n"
".PP\n"
".B vrcptd \\-t\n"
"[\\fB\\-c\\fR \\fIconfig_file\\fR]\n"
".br\n"
".B vrcptctl\n"
"[\\fB\\-c\\fR \\fIconfig_file\\fR]\n"
".B check\n"
"[\\fB\\-a\\fR]\n"
".SH DESCRIPTION\n"
"This file configures\n"
".BR vrcptd (8),\n"
"the recipient check for Postfix.\n"
".BR vrcpt\\-milter (8)\n"
"and\n"
".BR vrcptctl (8)\n"
"read it too; each program reads the parameters it needs (named with\n"
"each parameter below) and ignores the others. The default file is\n"
".IR /etc/vrcpt/vrcptd.cf ;\n"
"\\fB\\-c\\fR chooses another.\n"
".PP\n"
"\\fBvrcptd \\-t\\fR tests the file; \\fBvrcptctl check\\fR also shows\n"
"every parameter that is set and where its value comes from (\\fB\\-a\\fR:\n"
"every parameter). A running vrcptd reads the file again on SIGHUP\n"
"(\\fBsystemctl reload vrcptd\\fR): the new configuration is built beside\n"
"the old one and used only if it is valid, otherwise vrcptd logs the\n"
"errors and keeps the old one. A changed parameter that SIGHUP does not\n"
"apply is named in the log and takes effect when vrcptd is restarted;\n"
"each parameter below says which of the two it is.\n"
".PP\n"
"Where Postfix has a parameter for the same thing, vrcpt uses Postfix's\n"
"name and default, and takes its value from Postfix's own\n"
".I main.cf\n"
"(postfix_config_directory, as \"postconf -x\" expands it) unless this\n"
"file or -o sets it. Precedence: -o, this file,\n"
".IR main.cf ,\n"
"Postfix's default.\n"
".SH SYNTAX\n"
"The syntax is that of Postfix's\n"
".I main.cf\n"
"(see\n"
".BR postconf (5)):\n"
".IP \\(bu 3\n"
"Each logical line has the form \"\\fIname\\fR = \\fIvalue\\fR\". White\n"
"space around \"=\" and at the end of the line is ignored.\n"
".IP \\(bu\n"
"A line that starts with white space continues the previous line.\n"
".IP \\(bu\n"
"Empty lines and lines whose first non-blank character is \"#\" are\n"
"ignored. A \"#\" after a value is not a comment: it is part of the value.\n"
".IP \\(bu\n"
"\"$\\fIname\\fR\" and \"${\\fIname\\fR}\" are replaced with the value of\n"
"another parameter (recursively); an undefined name is empty (with a\n"
"warning). \"${\\fIname\\fR?\\fIvalue\\fR}\" is \\fIvalue\\fR when\n"
"$\\fIname\\fR is not empty, \"${\\fIname\\fR:\\fIvalue\\fR}\" is\n"
"\\fIvalue\\fR when $\\fIname\\fR is empty, and\n"
"\"${\\fIname\\fR?{\\fIvalue1\\fR}:{\\fIvalue2\\fR}}\" chooses. \"$$\" is a\n"
"literal \"$\" (mind this in \\fBredis_password\\fR). Names of your own may\n"
"be defined and used as $\\fIname\\fR.\n"
".IP \\(bu\n"
"When a name is assigned twice, the last assignment wins (with a warning\n"
"if the values differ). An unknown name is a warning, as in Postfix;\n"
"every error names \\fIfile\\fR:\\fIline\\fR and never quotes the line.\n"
".IP \\(bu\n"
"Lists are separated by commas and/or white space; \"{ ... }\" groups\n"
"(\\fBinline:{...}\\fR, \\fBstatic:{...}\\fR) are kept whole.\n"
".IP \\(bu\n"
"\\fB\\-o\\fR \\fIname\\fR=\\fIvalue\\fR on the command line of vrcptd,\n"
"vrcpt\\-milter and vrcptctl overrides one parameter, as\n"
"\\fBpostfix \\-o\\fR does.\n"
".SH TABLES\n"
"The values of the \\fB*_maps\\fR and \\fB*_domains\\fR parameters are\n"
"lists of tables:\n"
".TP\n"
".BI pgsql: /etc/postfix/file.cf\n"
"A Postfix\n"
".BR pgsql_table (5)\n"
"file, read unchanged: \\fBhosts\\fR, \\fBuser\\fR, \\fBpassword\\fR,\n"
"\\fBdbname\\fR, \\fBquery\\fR (%s %u %d %1..%9 %%), \\fBdomain\\fR,\n"
"\\fBresult_format\\fR, \\fBexpansion_limit\\fR, \\fBretry_interval\\fR,\n"
"\\fBidle_interval\\fR; the legacy \\fBselect_field\\fR, \\fBtable\\fR,\n"
"\\fBwhere_field\\fR, \\fBadditional_conditions\\fR and\n"
"\\fBselect_function\\fR. A relative path is relative to the directory of\n"
"vrcptd.cf. The query becomes a prepared statement: each quoted string\n"
"that holds a % expansion, and each % expansion outside quotes, is passed\n"
"as a parameter, never pasted into the SQL. vrcpt always talks UTF\\-8 to\n"
"PostgreSQL (\\fBencoding\\fR is ignored). A file named in several\n"
"parameters is read once. Debian keeps these files mode 0640,\n"
"owner root, group postfix: vrcptd reads them as a member of that group.\n"
".TP\n"
".BI proxy:pgsql: /etc/postfix/file.cf\n"
"The same: \"proxy:\" is accepted and ignored.\n"
".TP\n"
".B inline:{ key = value, key2 = value2, { key3 = text, with commas } }\n"
"A small table in place. An empty value (\"key =\") is a configuration\n"
"error in \\fB*_maps\\fR, as in Postfix (451 4.3.5).\n"
".TP\n"
"\\fBstatic:\\fIvalue\\fR, \\fBstatic:{ \\fIvalue with spaces\\fB }\\fR\n"
"Every key is found.\n"
".TP\n"
".I example.com\n"
"In \\fB*_domains\\fR parameters only: a domain name (matched exactly,\n"
"case\\-insensitively; one trailing dot is removed). Subdomain patterns\n"
"(.example.com), !negation and /file lists are not supported.\n"
".TP\n"
"\\fBhash:\\fR, \\fBbtree:\\fR, \\fBlmdb:\\fR, \\fBcdb:\\fR, \\fBtexthash:\\fR\\fI/etc/postfix/virtual\\fR\n"
"A table built by\n"
".BR postmap (1)\n"
"(texthash: its source file), looked up as Postfix does: keys folded to\n"
"lower case, with and without the trailing NUL postmap writes.\n"
".TP\n"
"\\fBregexp:\\fR, \\fBpcre:\\fR\\fI/etc/postfix/virtual.re\\fR\n"
".BR regexp_table (5),\n"
".BR pcre_table (5):\n"
"flags, IF/ENDIF, $1..$99; asked the full address only. A result that\n"
"is empty after $n substitution is a configuration error in\n"
"\\fB*_maps\\fR (451 4.3.5), a match in \\fB*_domains\\fR.\n"
".PP\n"
"Table files are read whole into memory at start and reload, and again\n"
"by themselves within a second after postmap rebuilt them. Other Postfix\n"
"table types (mysql:, ldap:, ...) are refused with an error.\n"
".SH PARAMETERS\n"
"Each parameter is shown with its default value, the kind of value it\n"
"takes, the programs that read it, and whether SIGHUP applies a change\n"
"to a running vrcptd. vrcpt\\-milter reads its parameters when it starts\n"
"(restart it after a change).\n";

/* what comes under a section heading before its parameters (roff) */
static const char *const reference_man_intro[CONF_NSECTIONS] = {
	[CONF_SEC_CACHE] =
"Two tiers sit in front of PostgreSQL: an in\\-process cache (per\n"
"vrcptd, bounded by \\fBcache_max_entries\\fR and \\fBcache_max_bytes\\fR)\n"
"and, optionally, Redis, shared by every vrcptd that uses it. Both keep\n"
"\"found\" and \"not found\" answers per table and key, under a name that\n"
"changes with the table's .cf file, so that a changed query never reads\n"
"old answers.\n"
".PP\n"
"Changes reach the caches at once through PostgreSQL NOTIFY: load\n"
".I triggers\\-ispmail.sql\n"
"or\n"
".I triggers\\-postfixadmin.sql\n"
"(in /usr/share/vrcpt/policy) into the database, after its schema.\n"
"vrcptd LISTENs on a connection of its own (to the primary). Until it is\n"
"listening, while that connection is down, and as long as the database\n"
"has no vrcpt_* triggers, cached answers are not trusted: every RCPT\n"
"asks the database, and cached answers are used only when the database\n"
"cannot answer (up to \\fBcache_stale_ttl\\fR, logged). When the\n"
"connection comes back, everything cached before is treated that way\n"
"(it may have missed a change). \\fBvrcptctl flush\\fR drops answers by\n"
"hand, in every running vrcptd and in Redis.\n"
".PP\n"
"With Redis, set \"maxmemory\\-policy volatile\\-lru\" (or volatile\\-ttl)\n"
"in redis.conf: every cached answer has an expiry, the few epoch keys\n"
"(\"vrcpt:epoch\", \"vrcpt:de:DOMAIN\") have none and must not be\n"
"evicted.\n",
};

static const char reference_man_tail[] =
".SH FILES\n"
".TP\n"
".I /etc/vrcpt/vrcptd.cf\n"
"this file (Debian: mode 0640, owner root, group vrcpt)\n"
".TP\n"
".I /usr/share/doc/vrcpt/examples/vrcptd.cf\n"
"the commented reference: every parameter, with its default\n"
".TP\n"
".I /usr/share/vrcpt/policy/\n"
"database schemas, invalidation triggers and Postfix map files\n"
".SH \"SEE ALSO\"\n"
".BR vrcptd (8),\n"
".BR vrcptctl (8),\n"
".BR vrcpt\\-milter (8),\n"
".BR postconf (5),\n"
".BR pgsql_table (5),\n"
".BR postconf (1)\n"
".SH LICENSE\n"
"ISC; see /usr/share/doc/vrcpt/copyright.\n";

/* reference_man_text - help text as roff: filled, escapes neutralised */
static void
reference_man_text(struct buf *out, const char *s)
{
	bool	 bol = true;

	for (; *s != '\0'; s++) {
		if (bol && (*s == '.' || *s == '\''))
			buf_puts(out, "\\&");
		if (*s == '\\')
			buf_puts(out, "\\e");
		else
			buf_append(out, s, 1);
		bol = *s == '\n';
	}
}

/* reference_man_arg - a macro argument: no double quotes, no escapes */
static void
reference_man_arg(struct buf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '"')
			buf_puts(out, "\\(dq");
		else if (*s == '\\')
			buf_puts(out, "\\e");
		else
			buf_append(out, s, 1);
	}
}

/* reference_man_type - "Value: ..." for the page; no default: -Wswitch */
static void
reference_man_type(struct buf *out, const struct conf_param *p)
{
	buf_puts(out, "Value: ");
	switch (p->type) {
	case CONF_T_BOOL:
		buf_puts(out, "yes or no");
		break;
	case CONF_T_UINT:
		buf_printf(out, "a number, %llu to %llu", p->min, p->max);
		break;
	case CONF_T_TIME:
		buf_puts(out, "a time: a number with a unit, ms, s, m, h, d "
		    "or w (a bare number is seconds)");
		break;
	case CONF_T_SIZE:
		buf_puts(out, "a size: bytes, or a number with k, m or g "
		    "(1024\\-based)");
		break;
	case CONF_T_STR:
		buf_puts(out, "text");
		break;
	case CONF_T_NONEMPTY:
		buf_puts(out, "text, not empty");
		break;
	case CONF_T_PATH:
		buf_puts(out, "an absolute path, or empty");
		break;
	case CONF_T_ENDPOINT:
		buf_puts(out, "unix:/path or inet:host:port, or empty");
		break;
	case CONF_T_ENDPOINTS:
		buf_printf(out, "a list of unix:/path and inet:host:port "
		    "endpoints (%llu to %llu)", p->min, p->max);
		break;
	case CONF_T_MENDPOINT:
		buf_puts(out, "a milter endpoint (unix:, inet:, inet6:, "
		    "local:), or empty");
		break;
	case CONF_T_UENDPOINT:
		buf_puts(out, "unix:/path, or empty");
		break;
	case CONF_T_MODE:
		buf_puts(out, "an octal file mode");
		break;
	case CONF_T_CODE:
		buf_printf(out, "an SMTP reply code, %llu to %llu", p->min,
		    p->max);
		break;
	case CONF_T_FACILITY:
		buf_puts(out, "a syslog facility name");
		break;
	case CONF_T_LFA:
		buf_puts(out, "defer or dunno");
		break;
	case CONF_T_TARGET:
		buf_puts(out, "any, prefer\\-standby or primary");
		break;
	case CONF_T_ODA:
		buf_puts(out, "a restriction name, dunno, or a reply "
		    "\"4xx/5xx text\"");
		break;
	case CONF_T_CACHE:
		buf_puts(out, "none, or redis:unix:/path or "
		    "redis:inet:host:port");
		break;
	case CONF_T_MAPS:
		buf_puts(out, "a list of tables (see TABLES)");
		break;
	case CONF_T_DOMAINS:
		buf_puts(out, "a list of tables and domain names (see TABLES)");
		break;
	}
	buf_puts(out, ".\n");
}

void
reference_man(struct buf *out)
{
	const struct conf_param *p;
	int	 sec = -1;
	size_t	 i;

	buf_puts(out, reference_man_head);
	for (i = 0; i < CONF_NPARAMS; i++) {
		p = &conf_params[i];
		if ((int)p->section != sec) {
			sec = (int)p->section;
			buf_puts(out, ".SS \"");
			reference_man_arg(out, conf_section_titles[sec]);
			buf_puts(out, "\"\n");
			if (reference_man_intro[sec] != NULL)
				buf_puts(out, reference_man_intro[sec]);
		}
		buf_puts(out, ".TP\n.B \"");
		reference_man_arg(out, p->name);
		buf_puts(out, " (default: ");
		reference_man_arg(out, *p->def != '\0' ? p->def : "empty");
		buf_puts(out, ")\"\n");
		reference_man_text(out, p->help);
		buf_puts(out, ".IP\n");
		reference_man_type(out, p);
		reference_who(out, p->flags, "");
		if (p->flags & CONF_PF)
			buf_puts(out, "Postfix has this parameter, with the "
			    "same meaning: unless set here, its value is "
			    "Postfix's (postfix_config_directory).\n");
	}
	buf_puts(out, reference_man_tail);
}
