/*
 * conf - vrcptd.cf read into a typed struct conf, driven by the one
 * parameter table (params.h). See conf.h.
 *
 * The text is split into "name = value" assignments by the same reader
 * as pgsql .cf files (sqlmap_cf_read: Postfix readllines/split_nameval).
 * A parameter's text is its -o override, else its last assignment, else
 * its default, expanded as Postfix mac_expand() does (recursively; an
 * undefined name is empty, with a warning). Then its type reads it
 * (conf_read_*); an error is reported with "bad KIND configuration:
 * name = value (hint)" as Postfix's mail_conf_*.c say it, and a
 * configuration with errors is not built. Relations between parameters
 * (a timeout that Postfix's own would cut short) are warnings.
 *
 * Below this file, for the parameters Postfix has (CONF_PF): Postfix's
 * main.cf (postfix_config_directory), as postconf expands it
 * (conf/pfconf); its values enter expansion with "$" written "$$", so
 * they are taken as postconf printed them.
 *
 * Depends on: libc, util/, core/ (sqlmap_cf_read, engine types),
 * conf/{endpoint,tables,pfconf}. Reads files and runs postconf
 * (conf/pfconf); no other I/O.
 *
 * Security: the configuration is trusted (root-owned), but its text is
 * still bounded (CONF_FILE_MAX, expansion depth and work) so that a
 * broken file cannot hang vrcptd -t or a reload. Values are quoted in
 * messages only bounded and sanitised.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/load.h"
#include "conf/tables.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define CONF_SPACE		" \t\r\n\v\f"
#define CONF_EXPAND_STEPS	100000	/* $name expansions per load */
#define CONF_QUOTE_MAX		60	/* bytes of a value quoted in errors */
#define CONF_OVERRIDE_SRC	"-o"
/* Postfix's smtpd_policy_service_timeout: Postfix gives up at 100s */
#define CONF_POLICY_TIMEOUT_MS	(100ULL * 1000)
/* Postfix's smtpd_policy_service_max_idle: Postfix closes an idle
 * policy connection first, so idle_timeout should be longer */
#define CONF_POLICY_MAX_IDLE_MS	(300ULL * 1000)

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * Messages.
 */

void
conf_msg_add(struct conf_msgs *msgs, char *m)
{
	msgs->v = xreallocarray(msgs->v, msgs->n + 1, sizeof(*msgs->v));
	msgs->v[msgs->n++] = m;
}

void
conf_msg_lines(struct conf_msgs *msgs, const char *text, size_t *count)
{
	const char *nl;

	while (text != NULL && *text != '\0') {
		nl = strchr(text, '\n');
		conf_msg_add(msgs, nl != NULL ?
		    xstrndup(text, (size_t)(nl - text)) : xstrdup(text));
		if (count != NULL)
			(*count)++;
		text = nl != NULL ? nl + 1 : NULL;
	}
}

/* conf_where - "file:line", "file" (a default) or "-o name" */
static char *
conf_where(const struct conf_ld *ld, const struct conf_origin *o,
    const char *pname)
{
	switch (o->src) {
	case CONF_SRC_DEFAULT:
		break;
	case CONF_SRC_FILE:
		return xasprintf("%s:%u", ld->path, o->line);
	case CONF_SRC_OVERRIDE:
		return xasprintf(CONF_OVERRIDE_SRC " %s", pname);
	case CONF_SRC_MAINCF:
		return xasprintf("%s:%u", ld->cfg->maincf, o->line);
	case CONF_SRC_PFDEFAULT:
		return xasprintf("Postfix's default (%s does not set %s)",
		    ld->cfg->maincf, pname);
	}
	return xstrdup(ld->path);
}

void
conf_err(struct conf_ld *ld, const struct conf_origin *o, const char *pname,
    char *msg)
{
	char	*where = conf_where(ld, o, pname);

	conf_msg_add(ld->msgs, xasprintf("%s: %s", where, msg));
	ld->nerrors++;
	free(where);
	free(msg);
}

void
conf_warn(struct conf_ld *ld, const struct conf_origin *o, const char *pname,
    char *msg)
{
	char	*where = conf_where(ld, o, pname);

	conf_msg_add(ld->msgs, xasprintf("%s: warning: %s", where, msg));
	free(where);
	free(msg);
}

char *
conf_quote(const char *s)
{
	char	 tmp[CONF_QUOTE_MAX + 4];

	str_sanitize(tmp, s, strlen(s), CONF_QUOTE_MAX);
	return xstrdup(tmp);
}

/* conf_dollar_escape - s with each "$" written "$$" (fresh) */
static char *
conf_dollar_escape(const char *s)
{
	char	*out = xmalloc(2 * strlen(s) + 1), *op = out;

	for (; *s != '\0'; s++) {
		if (*s == '$')
			*op++ = '$';
		*op++ = *s;
	}
	*op = '\0';
	return out;
}

/* conf_quote_span - conf_quote() of s[0..len): a value may hold line
 * breaks (-o), a message never does */
static char *
conf_quote_span(const char *s, size_t len)
{
	char	*raw = xstrndup(s, len), *q = conf_quote(raw);

	free(raw);
	return q;
}

void
conf_msgs_free(struct conf_msgs *msgs)
{
	size_t	 i;

	for (i = 0; i < msgs->n; i++)
		free(msgs->v[i]);
	free(msgs->v);
	msgs->v = NULL;
	msgs->n = 0;
}

/*
 * The table.
 */

const struct conf_param *
conf_param_find(const char *name, size_t len)
{
	size_t	 i;

	for (i = 0; i < CONF_NPARAMS; i++)
		if (strlen(conf_params[i].name) == len &&
		    strncmp(conf_params[i].name, name, len) == 0)
			return &conf_params[i];
	return NULL;
}

bool
conf_override_valid(const char *o)
{
	const char *eq = strchr(o, '=');
	const char *p;

	if (eq == NULL || eq == o || strpbrk(o, "\r\n") != NULL)
		return false;
	for (p = o; p < eq; p++)
		if (!islower((unsigned char)*p) &&
		    !isdigit((unsigned char)*p) && *p != '_')
			return false;
	return true;
}

/*
 * Raw values and $name expansion.
 */

/* conf_override - the last -o for name[0..len), or NULL */
static const char *
conf_override(const struct conf_ld *ld, const char *name, size_t len)
{
	size_t	 i;

	for (i = ld->nov; i-- > 0;)
		if (strncmp(ld->ov[i], name, len) == 0 && ld->ov[i][len] == '=')
			return ld->ov[i] + len + 1;
	return NULL;
}

const struct sqlmap_cf_entry *
conf_entry(const struct conf_ld *ld, const char *name, size_t len)
{
	size_t	 i;

	for (i = ld->cf.n; i-- > 0;)
		if (strlen(ld->cf.v[i].name) == len &&
		    strncmp(ld->cf.v[i].name, name, len) == 0)
			return &ld->cf.v[i];
	return NULL;
}

/*
 * conf_pf_line - the line of main.cf that sets name[0..len) (the last
 * one, as Postfix), or 0
 */
static unsigned
conf_pf_line(const struct conf_ld *ld, const char *name, size_t len)
{
	size_t	 i;

	for (i = ld->pf_cf.n; i-- > 0;)
		if (strlen(ld->pf_cf.v[i].name) == len &&
		    strncmp(ld->pf_cf.v[i].name, name, len) == 0)
			return ld->pf_cf.v[i].line;
	return 0;
}

/*
 * conf_pf_raw - name[0..len)'s value in Postfix's configuration, written
 * for conf_mac ("$" as "$$": postconf has expanded it already), and its
 * origin; NULL when main.cf is not read or postconf did not know it
 */
static const char *
conf_pf_raw(const struct conf_ld *ld, const char *name, size_t len,
    struct conf_origin *o)
{
	size_t	 i;

	if (!ld->pf_on)
		return NULL;
	for (i = ld->pf.n; i-- > 0;) {
		if (strlen(ld->pf.names[i]) != len ||
		    strncmp(ld->pf.names[i], name, len) != 0)
			continue;
		o->line = conf_pf_line(ld, name, len);
		o->src = o->line > 0 ? CONF_SRC_MAINCF : CONF_SRC_PFDEFAULT;
		return ld->pf_esc[i];
	}
	return NULL;
}

/* conf_raw - a name's unexpanded text and origin, or NULL if undefined */
static const char *
conf_raw(const struct conf_ld *ld, const char *name, size_t len,
    struct conf_origin *o)
{
	const struct sqlmap_cf_entry *e;
	const struct conf_param *p;
	const char *v;

	memset(o, 0, sizeof(*o));
	if ((v = conf_override(ld, name, len)) != NULL) {
		o->src = CONF_SRC_OVERRIDE;
		return v;
	}
	if ((e = conf_entry(ld, name, len)) != NULL) {
		o->src = CONF_SRC_FILE;
		o->line = e->line;
		return e->value;
	}
	if ((v = conf_pf_raw(ld, name, len, o)) != NULL)
		return v;
	if ((p = conf_param_find(name, len)) != NULL)
		return p->def;
	return NULL;
}

struct conf_exp {
	struct conf_ld *ld;
	const char *pname;	/* the parameter being evaluated */
	struct conf_origin origin;	/* its origin, for messages */
	struct buf out;
	bool	 failed;	/* an error was reported */
};

static void conf_mac(struct conf_exp *x, const char *s, size_t len,
    unsigned depth);

/* conf_exp_fail - report an expansion error once per parameter */
static void
conf_exp_fail(struct conf_exp *x, char *msg)
{
	if (!x->failed)
		conf_err(x->ld, &x->origin, x->pname, xasprintf("%s: %s",
		    x->pname, msg));
	x->failed = true;
	free(msg);
}

/* conf_curly - "{payload}" at *sp (after white space); false if none */
static bool
conf_curly(const char **sp, const char *end, const char **pl, size_t *pllen)
{
	const char *s = *sp, *cp;
	int	 level;

	while (s < end && strchr(CONF_SPACE, *s) != NULL)
		s++;
	if (s >= end || *s != '{')
		return false;
	for (level = 1, cp = s + 1; cp < end; cp++) {
		if (*cp == '{')
			level++;
		else if (*cp == '}' && --level == 0)
			break;
	}
	if (cp >= end)
		return false;
	*pl = s + 1;
	*pllen = (size_t)(cp - s - 1);
	cp++;
	while (cp < end && strchr(CONF_SPACE, *cp) != NULL)
		cp++;
	*sp = cp;
	return true;
}

/* conf_undefined - warn once per load about an undefined $name */
static void
conf_undefined(struct conf_exp *x, const char *name, size_t nlen)
{
	struct conf_ld *ld = x->ld;
	size_t	 i;

	for (i = 0; i < ld->nundef; i++)
		if (strlen(ld->undef[i]) == nlen &&
		    strncmp(ld->undef[i], name, nlen) == 0)
			return;
	ld->undef = xreallocarray(ld->undef, ld->nundef + 1,
	    sizeof(*ld->undef));
	ld->undef[ld->nundef++] = xstrndup(name, nlen);
	conf_warn(ld, &x->origin, x->pname, xasprintf("%s: undefined "
	    "parameter $%.*s is empty", x->pname, (int)nlen, name));
}

/* conf_expr - one "$name" or "${...}" (mac_expand_callback) */
static void
conf_expr(struct conf_exp *x, const char *e, size_t elen, unsigned depth)
{
	const char *end = e + elen, *name, *cp, *val, *pl;
	struct conf_origin vo;
	size_t	 nlen, pllen;
	char	 op;
	char	*q;

	if (x->failed)
		return;
	if (depth > CONF_EXPAND_DEPTH) {
		q = conf_quote_span(e, elen);
		conf_exp_fail(x, xasprintf("unreasonable macro call nesting: "
		    "\"$%s\" (more than %d levels: a loop?)", q,
		    CONF_EXPAND_DEPTH));
		free(q);
		return;
	}
	if (++x->ld->steps > CONF_EXPAND_STEPS) {
		conf_exp_fail(x, xstrdup("too much $name expansion work"));
		return;
	}
	name = e;
	while (name < end && strchr(CONF_SPACE, *name) != NULL)
		name++;
	if (name < end && *name == '{') {
		conf_exp_fail(x, xstrdup("relational expressions "
		    "(${{a} == {b}?...}) are not supported"));
		return;
	}
	for (cp = name; cp < end && (isalnum((unsigned char)*cp) ||
	    *cp == '_'); cp++)
		;
	nlen = (size_t)(cp - name);
	while (cp < end && strchr(CONF_SPACE, *cp) != NULL)
		cp++;
	op = cp < end ? *cp : '\0';
	if (nlen == 0 || (op != '\0' && op != '?' && op != ':')) {
		q = conf_quote_span(e, elen);
		conf_exp_fail(x, xasprintf("attribute name syntax error in "
		    "\"${%s}\"%s", q, op == '{' ?
		    " (function calls are not supported)" : ""));
		free(q);
		return;
	}
	val = conf_raw(x->ld, name, nlen, &vo);

	if (op == '\0') {
		if (val == NULL)
			conf_undefined(x, name, nlen);
		else if (*val != '\0')
			conf_mac(x, val, strlen(val), depth + 1);
		return;
	}

	/* ${name?value}, ${name?{value}:{value}}, ${name:value} */
	cp++;
	if (op == '?') {
		if (conf_curly(&cp, end, &pl, &pllen)) {
			if (val != NULL && *val != '\0')
				conf_mac(x, pl, pllen, depth + 1);
			if (cp >= end)
				return;
			if (*cp != ':') {
				conf_exp_fail(x, xstrdup("\":\" expected "
				    "after ${name?{value}"));
				return;
			}
			cp++;
		} else {
			if (val != NULL && *val != '\0')
				conf_mac(x, cp, (size_t)(end - cp),
				    depth + 1);
			return;
		}
	}
	if (conf_curly(&cp, end, &pl, &pllen)) {
		if (cp < end) {
			conf_exp_fail(x, xstrdup("unexpected text after "
			    "${name:{value}}"));
			return;
		}
	} else {
		pl = cp;
		pllen = (size_t)(end - cp);
	}
	if (val == NULL || *val == '\0')
		conf_mac(x, pl, pllen, depth + 1);
}

/* conf_mac - expand s[0..len) into x->out (mac_parse) */
static void
conf_mac(struct conf_exp *x, const char *s, size_t len, unsigned depth)
{
	const char *cp = s, *end = s + len, *ep;
	char	 open, close;
	int	 level;
	char	*q;

	while (cp < end && !x->failed) {
		if (*cp != '$') {
			for (ep = cp; ep < end && *ep != '$'; ep++)
				;
			if (buf_append(&x->out, cp, (size_t)(ep - cp)) < 0) {
				conf_exp_fail(x, xstrdup("value too long "
				    "after $name expansion"));
				return;
			}
			cp = ep;
			continue;
		}
		if (cp + 1 < end && cp[1] == '$') {
			(void)buf_append(&x->out, "$", 1);
			cp += 2;
			continue;
		}
		cp++;
		if (cp < end && (*cp == '{' || *cp == '(')) {
			open = *cp;
			close = open == '{' ? '}' : ')';
			for (level = 1, ep = cp + 1; ep < end; ep++) {
				if (*ep == open)
					level++;
				else if (*ep == close && --level == 0)
					break;
			}
			if (ep >= end) {
				q = conf_quote(s);
				conf_exp_fail(x, xasprintf("truncated macro "
				    "reference: \"%.*s\"", (int)len, q));
				free(q);
				return;
			}
			conf_expr(x, cp + 1, (size_t)(ep - cp - 1), depth);
			cp = ep + 1;
			continue;
		}
		for (ep = cp; ep < end && (isalnum((unsigned char)*ep) ||
		    *ep == '_'); ep++)
			;
		if (ep == cp) {
			q = conf_quote(s);
			conf_exp_fail(x, xasprintf("empty macro name: \"%s\" "
			    "(write $$ for a literal $)", q));
			free(q);
			return;
		}
		conf_expr(x, cp, (size_t)(ep - cp), depth);
		cp = ep;
	}
}

/*
 * conf_expand - the expanded text of parameter p (fresh) and its origin.
 * false when an error was reported; the text is then the unexpanded
 * default, so that one mistake does not cascade into more messages.
 */
static bool
conf_expand(struct conf_ld *ld, const struct conf_param *p, char **text_r,
    struct conf_origin *o)
{
	struct conf_exp x;
	const char *raw;

	memset(&x, 0, sizeof(x));
	x.ld = ld;
	x.pname = p->name;
	raw = conf_raw(ld, p->name, strlen(p->name), &x.origin);
	buf_init(&x.out, CONF_FILE_MAX);
	conf_mac(&x, raw, strlen(raw), 1);
	*text_r = x.failed ? xstrdup(p->def) :
	    xstrndup(buf_str(&x.out), x.out.len);
	buf_free(&x.out);
	*o = x.origin;
	return !x.failed;
}

/*
 * Lists.
 */

char *
conf_tok(char **sp)
{
	char	*start = *sp + strspn(*sp, CONF_LIST_SEP), *cp;
	int	 level = 0;

	if (*start == '\0') {
		*sp = start;
		return NULL;
	}
	for (cp = start; *cp != '\0'; cp++) {
		if (*cp == '{')
			level++;
		else if (level > 0 && *cp == '}')
			level--;
		else if (level == 0 && strchr(CONF_LIST_SEP, *cp) != NULL) {
			*cp++ = '\0';
			break;
		}
	}
	*sp = cp;
	return start;
}

/*
 * The types: each reads the expanded text into the field, or says what
 * kind of value it wanted ("bad KIND configuration") and a hint.
 */

struct conf_bad {
	const char *kind;	/* "numerical", "time", ... */
	const char *hint;	/* "(use ...)", static or in hintbuf */
	char	 hintbuf[128];
};

static int
conf_read_uint(const struct conf_param *p, const char *v, unsigned *out,
    struct conf_bad *bad)
{
	unsigned val;

	bad->kind = "numerical";
	if (str_to_uint(v, &val) < 0 || val < p->min || val > p->max) {
		snprintf(bad->hintbuf, sizeof(bad->hintbuf),
		    "(use a number from %llu to %llu)", p->min, p->max);
		bad->hint = bad->hintbuf;
		return -1;
	}
	*out = val;
	return 0;
}

static int
conf_read_time(const struct conf_param *p, const char *v, uint64_t *out,
    struct conf_bad *bad)
{
	unsigned long long ms;

	bad->kind = "time";
	bad->hint = p->min > 0 ?
	    "(use a time > 0, e.g. 500ms, 1s, 10m, 1h)" :
	    "(use e.g. 60s, 10m, 1h, 1d)";
	if (str_to_time(v, 's', &ms) < 0 || ms < p->min || ms > p->max)
		return -1;
	*out = ms;
	return 0;
}

static int
conf_read_size(const struct conf_param *p, const char *v, uint64_t *out,
    struct conf_bad *bad)
{
	unsigned long long n;

	bad->kind = "size";
	bad->hint = "(use bytes, or a number with k, m or g)";
	if (str_to_size(v, &n) < 0 || n < p->min || n > p->max)
		return -1;
	*out = n;
	return 0;
}

static int
conf_read_mode(const char *v, unsigned *out, struct conf_bad *bad)
{
	unsigned mode = 0;
	const char *cp;

	bad->kind = "numerical";
	bad->hint = "(use an octal mode such as 0660)";
	for (cp = v; *cp >= '0' && *cp <= '7' && mode <= 07777; cp++)
		mode = mode * 8 + (unsigned)(*cp - '0');
	if (*v == '\0' || *cp != '\0' || mode > 07777)
		return -1;
	*out = mode;
	return 0;
}

static int
conf_read_code(const char *v, unsigned *out, struct conf_bad *bad)
{
	unsigned val;

	bad->kind = "numerical";
	bad->hint = "(use a 4xx or 5xx SMTP reply code)";
	if (strlen(v) != 3 || str_to_uint(v, &val) < 0 || val < 400 ||
	    val > 599)
		return -1;
	*out = val;
	return 0;
}

/* conf_read_target - db_read_target: one of dbhosts_target_name()'s */
static int
conf_read_target(const char *v, enum dbhosts_target *out)
{
	static const enum dbhosts_target all[] = { DBHOSTS_TARGET_ANY,
	    DBHOSTS_TARGET_PREFER_STANDBY, DBHOSTS_TARGET_PRIMARY };
	size_t	 i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcasecmp(v, dbhosts_target_name(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	}
	return -1;
}

/*
 * conf_read_oda - other_domain_action: what Postfix should do with a
 * domain that is not ours. Restriction names are case-insensitive here
 * and written in Postfix's lower case; DUNNO in upper case as a policy
 * action; a literal "4xx/5xx text" reply is kept as written.
 */
static int
conf_read_oda(const char *v, char **out, struct conf_bad *bad)
{
	static const char *const names[] = {
		"reject_unlisted_recipient", "reject_unauth_destination",
		"defer_unauth_destination",
	};
	unsigned code;
	char	 digits[4];
	size_t	 i;

	bad->kind = "action";
	bad->hint = "(use reject_unlisted_recipient, "
	    "reject_unauth_destination, defer_unauth_destination, dunno, or "
	    "\"4xx/5xx text\")";
	for (i = 0; i < NELEM(names); i++)
		if (strcasecmp(v, names[i]) == 0) {
			*out = xstrdup(names[i]);
			return 0;
		}
	if (strcasecmp(v, "dunno") == 0) {
		*out = xstrdup("DUNNO");
		return 0;
	}
	if (strlen(v) >= 3 && (v[3] == '\0' || v[3] == ' ')) {
		memcpy(digits, v, 3);
		digits[3] = '\0';
		if (str_to_uint(digits, &code) == 0 && code >= 400 &&
		    code <= 599) {
			*out = xstrdup(v);
			return 0;
		}
	}
	return -1;
}

/*
 * conf_read_cache - none | redis:unix:/path | redis:inet:h:p | redis:h:p
 * | redis-sentinel:h:p[,h:p...]/name
 */
static int
conf_read_cache(const char *v, struct conf_cache *out, struct conf_bad *bad)
{
	const char *hint;

	bad->kind = "cache";
	bad->hint = "(use none, redis:unix:/path/to/redis.sock, "
	    "redis:inet:host:port or "
	    "redis-sentinel:host:port[,host:port...]/mastername)";
	memset(out, 0, sizeof(*out));
	if (strcasecmp(v, "none") == 0)
		return 0;
	if (strncmp(v, "redis-sentinel:", 15) == 0) {
		if (endpoint_parse_sentinels(v + 15, &out->sentinels,
		    &hint) < 0) {
			bad->hint = hint;
			return -1;
		}
		out->kind = CONF_CACHE_SENTINEL;
		return 0;
	}
	if (strncmp(v, "redis:", 6) != 0 || v[6] == '\0' ||
	    endpoint_parse(v + 6, ENDPOINT_BARE_INET, &out->redis, &hint) < 0)
		return -1;
	out->kind = CONF_CACHE_REDIS;
	return 0;
}

/* conf_read_endpoints - listen = endpoint, endpoint ... */
static int
conf_read_endpoints(struct conf_ld *ld, const struct conf_param *p,
    const struct conf_origin *o, const char *v, struct endpoint_list *out)
{
	char	*copy = xstrdup(v), *cp = copy, *tok, *q;
	const char *hint;
	int	 rc = 0;

	out->n = 0;
	while ((tok = conf_tok(&cp)) != NULL) {
		if (out->n >= p->max) {
			conf_err(ld, o, p->name, xasprintf("%s: more than "
			    "%llu endpoints", p->name, p->max));
			rc = -1;
			break;
		}
		if (endpoint_parse(tok, ENDPOINT_ANY_HOST, &out->v[out->n],
		    &hint) < 0 || out->v[out->n].kind == ENDPOINT_NONE) {
			q = conf_quote(tok);
			conf_err(ld, o, p->name, xasprintf("%s: bad endpoint "
			    "\"%s\" %s", p->name, q, hint));
			free(q);
			rc = -1;
			continue;
		}
		out->n++;
	}
	free(copy);
	if (out->n < p->min && rc == 0) {
		conf_err(ld, o, p->name, xasprintf("%s: no endpoint (the "
		    "default is %s)", p->name, p->def));
		rc = -1;
	}
	return rc;
}

/*
 * conf_read - read parameter p's text v into its field. Returns 0, or
 * -1 after reporting the error.
 */
static int
conf_read(struct conf_ld *ld, const struct conf_param *p,
    const struct conf_origin *o, const char *v)
{
	void	*field = (char *)ld->cfg + p->offset;
	struct conf_bad bad = { "string", NULL, { 0 } };
	const char *hint;
	char	*q;
	int	 rc = 0;

	switch (p->type) {
	case CONF_T_BOOL:
		bad.kind = "boolean";
		bad.hint = "(use yes or no)";
		rc = str_to_bool(v, field);
		break;
	case CONF_T_UINT:
		rc = conf_read_uint(p, v, field, &bad);
		break;
	case CONF_T_TIME:
		rc = conf_read_time(p, v, field, &bad);
		break;
	case CONF_T_SIZE:
		rc = conf_read_size(p, v, field, &bad);
		break;
	case CONF_T_STR:
		*(char **)field = xstrdup(v);
		break;
	case CONF_T_NONEMPTY:
		snprintf(bad.hintbuf, sizeof(bad.hintbuf),
		    "(the default is %s)", p->def);
		bad.hint = bad.hintbuf;
		rc = *v == '\0' ? -1 : 0;
		*(char **)field = xstrdup(rc == 0 ? v : p->def);
		break;
	case CONF_T_PATH:
		bad.kind = "path";
		bad.hint = "(use an absolute path, /dev/stderr, or nothing for "
		    "syslog)";
		rc = *v != '\0' && *v != '/' ? -1 : 0;
		*(char **)field = xstrdup(rc == 0 ? v : "");
		break;
	case CONF_T_ENDPOINT:
		bad.kind = "endpoint";
		rc = endpoint_parse(v, ENDPOINT_ANY_HOST, field, &hint);
		bad.hint = hint;
		break;
	case CONF_T_MENDPOINT:
		bad.kind = "endpoint";
		rc = endpoint_parse(v, ENDPOINT_ANY_HOST | ENDPOINT_MILTER,
		    field, &hint);
		bad.hint = hint;
		break;
	case CONF_T_UENDPOINT:
		bad.kind = "endpoint";
		rc = endpoint_parse(v, ENDPOINT_UNIX_ONLY, field, &hint);
		bad.hint = hint;
		break;
	case CONF_T_ENDPOINTS:
		return conf_read_endpoints(ld, p, o, v, field);
	case CONF_T_MODE:
		rc = conf_read_mode(v, field, &bad);
		break;
	case CONF_T_CODE:
		rc = conf_read_code(v, field, &bad);
		break;
	case CONF_T_FACILITY:
		bad.kind = "facility";
		bad.hint = "(use mail, daemon, local0..local7, ...)";
		rc = log_facility_valid(v) ? 0 : -1;
		*(char **)field = xstrdup(rc == 0 ? v : p->def);
		break;
	case CONF_T_LFA:
		bad.kind = "action";
		bad.hint = "(use defer or dunno)";
		if (strcasecmp(v, "defer") == 0)
			*(enum lookup_failure_action *)field = LFA_DEFER;
		else if (strcasecmp(v, "dunno") == 0)
			*(enum lookup_failure_action *)field = LFA_DUNNO;
		else
			rc = -1;
		break;
	case CONF_T_TARGET:
		bad.kind = "target";
		bad.hint = "(use any, prefer-standby or primary)";
		rc = conf_read_target(v, field);
		break;
	case CONF_T_ODA:
		if ((rc = conf_read_oda(v, field, &bad)) < 0)
			*(char **)field = xstrdup(p->def);
		break;
	case CONF_T_CACHE:
		rc = conf_read_cache(v, field, &bad);
		break;
	case CONF_T_MAPS:
	case CONF_T_DOMAINS:
		*(char **)field = xstrdup(v);
		break;
	}
	if (rc == 0)
		return 0;
	q = conf_quote(v);
	conf_err(ld, o, p->name, xasprintf("bad %s configuration: %s = %s%s%s",
	    bad.kind, p->name, q, bad.hint != NULL ? " " : "",
	    bad.hint != NULL ? bad.hint : ""));
	free(q);
	return -1;
}

/*
 * The whole file.
 */

/* conf_unknown - warn about names that are neither ours nor used */
static void
conf_unknown(struct conf_ld *ld)
{
	const struct sqlmap_cf_entry *e;
	struct conf_origin o = { CONF_SRC_FILE, 0 };
	const char *cp;
	size_t	 i, j, nlen;
	bool	 used;
	char	*q;

	for (i = 0; i < ld->cf.n; i++) {
		e = &ld->cf.v[i];
		nlen = strlen(e->name);
		if (conf_param_find(e->name, nlen) != NULL)
			continue;
		if (conf_entry(ld, e->name, nlen) != e)
			continue;	/* warn once, at the last line */
		/* postconf: a user-defined name that is referenced is fine */
		used = false;
		for (j = 0; j < ld->cf.n && !used; j++) {
			for (cp = ld->cf.v[j].value;
			    (cp = strchr(cp, '$')) != NULL; cp++) {
				if (cp[1] == '$') {
					cp++;
					continue;
				}
				cp += strspn(cp + 1, "{( \t") + 1;
				if (strncmp(cp, e->name, nlen) == 0 &&
				    !isalnum((unsigned char)cp[nlen]) &&
				    cp[nlen] != '_') {
					used = true;
					break;
				}
				cp--;
			}
		}
		if (used)
			continue;
		o.line = e->line;
		q = conf_quote(e->name);
		conf_warn(ld, &o, e->name, xasprintf("unknown parameter %s",
		    q));
		free(q);
	}
}

/* conf_overrides - check the -o options */
static void
conf_overrides(struct conf_ld *ld)
{
	size_t	 i, nlen;
	char	*q;

	for (i = 0; i < ld->nov; i++) {
		q = conf_quote(ld->ov[i]);
		if (!conf_override_valid(ld->ov[i])) {
			conf_msg_add(ld->msgs, xasprintf(CONF_OVERRIDE_SRC
			    " %s: bad override (use name=value)", q));
			ld->nerrors++;
		} else {
			nlen = strcspn(ld->ov[i], "=");
			if (conf_param_find(ld->ov[i], nlen) == NULL)
				conf_msg_add(ld->msgs, xasprintf(
				    CONF_OVERRIDE_SRC " %.*s: warning: unknown "
				    "parameter", (int)nlen, ld->ov[i]));
		}
		free(q);
	}
}

/* conf_warn_param - a warning about parameter id, at its origin */
static void
conf_warn_param(struct conf_ld *ld, enum conf_param_id id, char *msg)
{
	const char *name = conf_params[id].name;

	conf_warn(ld, &ld->cfg->origin[id], name, xasprintf("%s %s", name,
	    msg));
	free(msg);
}

/* conf_relations - what one parameter means for another: warnings */
static void
conf_relations(struct conf_ld *ld)
{
	struct conf *cfg = ld->cfg;
	unsigned what = cfg->what;

	if ((what & (CONF_D | CONF_M)) &&
	    cfg->request_timeout >= CONF_POLICY_TIMEOUT_MS)
		conf_warn_param(ld, CONF_P_request_timeout, xstrdup("is not "
		    "below Postfix's smtpd_policy_service_timeout (100s): "
		    "Postfix gives up first"));
	if (!(what & CONF_D))
		return;
	if (cfg->idle_timeout <= CONF_POLICY_MAX_IDLE_MS)
		conf_warn_param(ld, CONF_P_idle_timeout, xstrdup("is not "
		    "above Postfix's smtpd_policy_service_max_idle (300s): "
		    "vrcptd would close connections that Postfix still means "
		    "to use"));
	if (cfg->redis_timeout >= cfg->request_timeout)
		conf_warn_param(ld, CONF_P_redis_timeout, xasprintf("is not "
		    "below %s: a slow Redis would use up the whole request",
		    conf_params[CONF_P_request_timeout].name));
}

/* conf_reply_4xx - "4NN 4.N.N text", one line: an action Postfix sends */
static bool
conf_reply_4xx(const char *r)
{
	size_t	 n;

	if (strpbrk(r, "\r\n") != NULL || r[0] != '4' ||
	    !isdigit((unsigned char)r[1]) || !isdigit((unsigned char)r[2]) ||
	    r[3] != ' ')
		return false;
	r += 4;
	n = strspn(r, "0123456789.");
	if (n < 5 || r[0] != '4' || r[1] != '.' || r[n] != ' ' ||
	    r[n + 1] == '\0')
		return false;
	return true;
}

/*
 * conf_harvest - directory-harvest protection: the exempt networks
 * parsed, a 4xx reply, and Redis to count in (errors)
 */
static void
conf_harvest(struct conf_ld *ld)
{
	struct conf *cfg = ld->cfg;
	const char *err, *r = cfg->harvest_reply;

	if (!(cfg->what & CONF_D))
		return;
	if (harvest_netlist_parse(cfg->harvest_exempt_networks,
	    &cfg->harvest_exempt, &err) < 0)
		conf_err(ld, &cfg->origin[CONF_P_harvest_exempt_networks],
		    conf_params[CONF_P_harvest_exempt_networks].name,
		    xasprintf("%s: %s", conf_params[
		    CONF_P_harvest_exempt_networks].name, err));
	if (!conf_reply_4xx(r))
		conf_err(ld, &cfg->origin[CONF_P_harvest_reply],
		    conf_params[CONF_P_harvest_reply].name, xasprintf("%s: "
		    "not a 4xx reply \"4NN 4.N.N text\"",
		    conf_params[CONF_P_harvest_reply].name));
	if (cfg->harvest_limit > 0 && cfg->cache.kind == CONF_CACHE_NONE)
		conf_err(ld, &cfg->origin[CONF_P_harvest_limit],
		    conf_params[CONF_P_harvest_limit].name, xasprintf("%s: "
		    "the counters live in Redis: set cache = redis:... (or "
		    "%s = 0)", conf_params[CONF_P_harvest_limit].name,
		    conf_params[CONF_P_harvest_limit].name));
}

/* conf_free_field - release what parameter p's field owns */
static void
conf_free_field(struct conf *cfg, const struct conf_param *p)
{
	void	*field = (char *)cfg + p->offset;

	switch (p->type) {
	case CONF_T_STR:
	case CONF_T_NONEMPTY:
	case CONF_T_PATH:
	case CONF_T_FACILITY:
	case CONF_T_ODA:
	case CONF_T_MAPS:
	case CONF_T_DOMAINS:
		free(*(char **)field);
		*(char **)field = NULL;
		break;
	case CONF_T_BOOL:
	case CONF_T_UINT:
	case CONF_T_TIME:
	case CONF_T_SIZE:
	case CONF_T_ENDPOINT:
	case CONF_T_ENDPOINTS:
	case CONF_T_MENDPOINT:
	case CONF_T_UENDPOINT:
	case CONF_T_MODE:
	case CONF_T_CODE:
	case CONF_T_LFA:
	case CONF_T_TARGET:
	case CONF_T_CACHE:
		break;
	}
}

static void
conf_free(struct conf *cfg)
{
	size_t	 i;

	if (cfg == NULL)
		return;
	tables_free(cfg);
	for (i = 0; i < CONF_NPARAMS; i++) {
		conf_free_field(cfg, &conf_params[i]);
		free(cfg->raw[i]);
	}
	free(cfg->maincf);
	free(cfg->path);
	free(cfg);
}

int
conf_read_file(const char *path, size_t max, char **text_r, size_t *len_r)
{
	struct stat st;
	struct buf b;
	char	 chunk[8192];
	ssize_t	 n;
	int	 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
		saved = S_ISDIR(st.st_mode) ? EISDIR : errno;
		close(fd);
		errno = saved;
		return -1;
	}
	buf_init(&b, max);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			saved = errno;
			goto fail;
		}
		if (n == 0)
			break;
		if (buf_append(&b, chunk, (size_t)n) < 0) {
			saved = EFBIG;
			goto fail;
		}
	}
	close(fd);
	/* by length: NUL bytes stay visible to the parser */
	*len_r = b.len;
	*text_r = xmalloc(b.len + 1);
	memcpy(*text_r, buf_str(&b), b.len + 1);
	buf_free(&b);
	return 0;
fail:
	close(fd);
	buf_free(&b);
	errno = saved;
	return -1;
}

/*
 * Postfix's main.cf: the layer below this file for the CONF_PF
 * parameters (postfix_config_directory).
 */

/* conf_pf_name_add - add name[0..len) to *names unless there already */
static void
conf_pf_name_add(char ***names, size_t *n, const char *name, size_t len)
{
	size_t	 i;

	if (len == 0 || len > PFCONF_NAME_MAX || *n >= PFCONF_NAMES_MAX)
		return;
	for (i = 0; i < *n; i++)
		if (strlen((*names)[i]) == len &&
		    strncmp((*names)[i], name, len) == 0)
			return;
	*names = xreallocarray(*names, *n + 1, sizeof(**names));
	(*names)[(*n)++] = xstrndup(name, len);
}

/*
 * conf_pf_refs - the $names in value that are neither parameters of
 * vrcpt nor assigned in this file: Postfix's may know them
 * ($config_directory, $mydomain, a name of main.cf's own)
 */
static void
conf_pf_refs(const struct conf_ld *ld, const char *value, char ***names,
    size_t *n)
{
	const char *cp, *np;

	for (cp = value; (cp = strchr(cp, '$')) != NULL; cp = np) {
		np = cp + 1;
		if (*np == '$') {
			np++;
			continue;
		}
		if (*np == '{' || *np == '(')
			np++;
		np += strspn(np, CONF_SPACE);
		cp = np;
		while (isalnum((unsigned char)*np) || *np == '_')
			np++;
		if (conf_param_find(cp, (size_t)(np - cp)) == NULL &&
		    conf_entry(ld, cp, (size_t)(np - cp)) == NULL)
			conf_pf_name_add(names, n, cp, (size_t)(np - cp));
	}
}

/* conf_maincf_path - DIR/main.cf (fresh) */
static char *
conf_maincf_path(const char *dir)
{
	size_t	 len = strlen(dir);

	while (len > 1 && dir[len - 1] == '/')
		len--;
	return xasprintf("%.*s%smain.cf", (int)len, dir,
	    dir[len - 1] == '/' ? "" : "/");
}

/*
 * conf_postfix - when postfix_config_directory is set and a parameter
 * of what is one of Postfix's, read main.cf (line numbers) and ask
 * postconf for the values: ld->pf_on. At the default, a directory
 * without main.cf means off; set, it is an error.
 */
static void
conf_postfix(struct conf_ld *ld)
{
	const enum conf_param_id id = CONF_P_postfix_config_directory;
	const struct conf_origin *o = &ld->cfg->origin[id];
	const char *dir = ld->cfg->postfix_config_directory, *pname;
	char	**names = NULL, *path, *text, *err;
	size_t	 i, n = 0, len;
	bool	 need = false;

	if (!(conf_params[id].flags & ld->cfg->what) || ld->bad[id] ||
	    dir == NULL || *dir == '\0')
		return;
	for (i = 0; i < CONF_NPARAMS; i++)
		if ((conf_params[i].flags & ld->cfg->what) &&
		    (conf_params[i].flags & CONF_PF))
			need = true;
	if (!need)
		return;
	pname = conf_params[id].name;
	path = conf_maincf_path(dir);
	if (conf_read_file(path, CONF_FILE_MAX, &text, &len) < 0) {
		if (errno != ENOENT || o->src != CONF_SRC_DEFAULT)
			conf_err(ld, o, pname, xasprintf("%s: cannot read "
			    "%s: %s", pname, path, errno == EFBIG ?
			    "file too large" : strerror(errno)));
		free(path);
		return;
	}
	/* only for line numbers: what Postfix makes of it is postconf's */
	sqlmap_cf_read(path, text, len, &ld->pf_cf);
	free(text);

	for (i = 0; i < CONF_NPARAMS; i++)
		if ((conf_params[i].flags & ld->cfg->what) &&
		    (conf_params[i].flags & CONF_PF))
			conf_pf_name_add(&names, &n, conf_params[i].name,
			    strlen(conf_params[i].name));
	for (i = 0; i < ld->cf.n; i++)
		conf_pf_refs(ld, ld->cf.v[i].value, &names, &n);
	for (i = 0; i < ld->nov; i++)
		if (strchr(ld->ov[i], '=') != NULL)
			conf_pf_refs(ld, strchr(ld->ov[i], '=') + 1, &names,
			    &n);
	if (pfconf_query(dir, (const char *const *)names, n, &ld->pf,
	    &err) < 0) {
		conf_err(ld, o, pname, xasprintf("%s: %s: %s", pname, path,
		    err));
		free(err);
		free(path);
	} else {
		ld->pf_esc = xcalloc(ld->pf.n + 1, sizeof(*ld->pf_esc));
		for (i = 0; i < ld->pf.n; i++)
			ld->pf_esc[i] = conf_dollar_escape(ld->pf.values[i]);
		ld->cfg->maincf = path;
		ld->pf_on = true;
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* conf_same - whether texts a and b are the same value of parameter p */
static bool
conf_same(const struct conf_param *p, const char *a, const char *b)
{
	char	*ca, *cb, *sa, *sb, *ta, *tb;
	bool	 va, vb, same;

	if (p->type == CONF_T_BOOL)
		return str_to_bool(a, &va) == 0 && str_to_bool(b, &vb) == 0 &&
		    va == vb;
	if (p->type != CONF_T_MAPS && p->type != CONF_T_DOMAINS &&
	    p->type != CONF_T_ENDPOINTS)
		return strcmp(a, b) == 0;
	/* the same list, whatever the separators */
	sa = ca = xstrdup(a);
	sb = cb = xstrdup(b);
	do {
		ta = conf_tok(&sa);
		tb = conf_tok(&sb);
		same = (ta == NULL && tb == NULL) || (ta != NULL &&
		    tb != NULL && strcmp(ta, tb) == 0);
	} while (same && ta != NULL);
	free(ca);
	free(cb);
	return same;
}

/*
 * conf_pf_compare - each CONF_PF parameter set in this file or with -o
 * while main.cf was read: what main.cf would have given, and a warning
 * when that differs (vrcpt would not answer as Postfix does)
 */
static void
conf_pf_compare(struct conf_ld *ld)
{
	struct conf *cfg = ld->cfg;
	const struct conf_param *p;
	struct conf_origin po;
	const char *v;
	char	*where;
	size_t	 i;

	if (!ld->pf_on)
		return;
	for (i = 0; i < CONF_NPARAMS; i++) {
		p = &conf_params[i];
		if (!(p->flags & cfg->what) || !(p->flags & CONF_PF) ||
		    ld->bad[i] || (cfg->origin[i].src != CONF_SRC_FILE &&
		    cfg->origin[i].src != CONF_SRC_OVERRIDE))
			continue;
		memset(&po, 0, sizeof(po));
		if (conf_pf_raw(ld, p->name, strlen(p->name), &po) == NULL)
			continue;
		v = pfconf_get(&ld->pf, p->name, strlen(p->name));
		cfg->pf_origin[i] = po;
		cfg->pf_differs[i] = !conf_same(p, cfg->raw[i], v);
		if (!cfg->pf_differs[i])
			continue;
		where = conf_where(ld, &po, p->name);
		conf_warn_param(ld, (enum conf_param_id)i, xasprintf(
		    "differs from %s: vrcpt answers as if Postfix had this "
		    "value, and Postfix does not", where));
		free(where);
	}
}

/* conf_dirname - the directory part of path ("." if none) */
static char *
conf_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* conf_param_load - expand and read parameter id, if what has it */
static void
conf_param_load(struct conf_ld *ld, enum conf_param_id id)
{
	const struct conf_param *p = &conf_params[id];
	struct conf *cfg = ld->cfg;

	if (!(p->flags & cfg->what))
		return;
	if (!conf_expand(ld, p, &cfg->raw[id], &cfg->origin[id]) ||
	    conf_read(ld, p, &cfg->origin[id], cfg->raw[id]) < 0)
		ld->bad[id] = true;
}

int
conf_load_text(const char *path, const char *text, size_t len,
    unsigned what, const char *const *ov, size_t nov, struct conf **cfg_r,
    struct conf_msgs *msgs)
{
	struct conf_ld ld;
	struct conf *cfg;
	size_t	 i;

	*cfg_r = NULL;
	if (len > CONF_FILE_MAX) {
		conf_msg_add(msgs, xasprintf("%s: file too large (more than "
		    "%d bytes)", path, CONF_FILE_MAX));
		return -1;
	}
	if (nov > CONF_OVERRIDES_MAX) {
		conf_msg_add(msgs, xasprintf(CONF_OVERRIDE_SRC ": more than "
		    "%d overrides", CONF_OVERRIDES_MAX));
		return -1;
	}
	memset(&ld, 0, sizeof(ld));
	ld.path = path;
	ld.dir = conf_dirname(path);
	ld.msgs = msgs;
	ld.ov = ov;
	ld.nov = nov;
	sqlmap_cf_read(path, text, len, &ld.cf);
	for (i = 0; i < ld.cf.nwarnings; i++)
		conf_msg_add(msgs, xstrdup(ld.cf.warnings[i]));
	for (i = 0; i < ld.cf.nerrors; i++)
		conf_msg_add(msgs, xstrdup(ld.cf.errors[i]));
	ld.nerrors += ld.cf.nerrors;
	conf_unknown(&ld);
	conf_overrides(&ld);

	cfg = ld.cfg = xcalloc(1, sizeof(*cfg));
	cfg->path = xstrdup(path);
	cfg->what = what;
	atomic_init(&cfg->refs, 1);
	/* first where Postfix's configuration is: the layer below this
	 * file for the parameters Postfix has */
	conf_param_load(&ld, CONF_P_postfix_config_directory);
	conf_postfix(&ld);
	for (i = 0; i < CONF_NPARAMS; i++)
		if (i != CONF_P_postfix_config_directory)
			conf_param_load(&ld, (enum conf_param_id)i);
	conf_pf_compare(&ld);
	if (ld.nerrors == 0) {
		conf_relations(&ld);
		conf_harvest(&ld);
	}
	/* even after errors: every problem of the file in one go */
	if (what & CONF_TABLES)
		tables_build(&ld);

	for (i = 0; i < ld.nundef; i++)
		free(ld.undef[i]);
	free(ld.undef);
	sqlmap_cf_free(&ld.cf);
	sqlmap_cf_free(&ld.pf_cf);
	for (i = 0; i < ld.pf.n; i++)
		free(ld.pf_esc[i]);
	free(ld.pf_esc);
	pfconf_free(&ld.pf);
	free(ld.dir);
	if (ld.nerrors > 0) {
		conf_free(cfg);
		return -1;
	}
	*cfg_r = cfg;
	return 0;
}

int
conf_load(const char *path, unsigned what, const char *const *ov, size_t nov,
    struct conf **cfg_r, struct conf_msgs *msgs)
{
	char	*text;
	size_t	 len;
	int	 rc;

	*cfg_r = NULL;
	if (conf_read_file(path, CONF_FILE_MAX, &text, &len) < 0) {
		conf_msg_add(msgs, xasprintf("%s: cannot read: %s", path,
		    errno == EFBIG ? "file too large" : strerror(errno)));
		return -1;
	}
	rc = conf_load_text(path, text, len, what, ov, nov, cfg_r, msgs);
	free(text);
	return rc;
}

struct conf *
conf_ref(struct conf *cfg)
{
	atomic_fetch_add(&cfg->refs, 1);
	return cfg;
}

void
conf_unref(struct conf **cfgp)
{
	struct conf *cfg = *cfgp;

	*cfgp = NULL;
	if (cfg == NULL)
		return;
	if (atomic_fetch_sub(&cfg->refs, 1) == 1)
		conf_free(cfg);
}

/*
 * Reporting.
 */

const char *
conf_cache_text(const struct conf *cfg, char *buf, size_t size)
{
	switch (cfg->cache.kind) {
	case CONF_CACHE_NONE:
		snprintf(buf, size, "none");
		break;
	case CONF_CACHE_REDIS:
		snprintf(buf, size, "redis:%s", cfg->cache.redis.text);
		break;
	case CONF_CACHE_SENTINEL:
		snprintf(buf, size, "redis-sentinel:%s",
		    cfg->cache.sentinels.text);
		break;
	}
	return buf;
}

char *
conf_format(const struct conf *cfg, enum conf_param_id id)
{
	const struct conf_param *p = &conf_params[id];
	const void *field = (const char *)cfg + p->offset;
	const struct endpoint_list *el;
	struct buf b;
	char	 tmp[CONF_CACHE_TEXT_MAX + 1], *out;
	size_t	 i;

	buf_init(&b, 0);
	switch (p->type) {
	case CONF_T_BOOL:
		buf_puts(&b, *(const bool *)field ? "yes" : "no");
		break;
	case CONF_T_UINT:
	case CONF_T_CODE:
		buf_printf(&b, "%u", *(const unsigned *)field);
		break;
	case CONF_T_MODE:
		buf_printf(&b, "%04o", *(const unsigned *)field);
		break;
	case CONF_T_TIME:
		buf_printf(&b, "%llums",
		    (unsigned long long)*(const uint64_t *)field);
		break;
	case CONF_T_SIZE:
		buf_printf(&b, "%llu",
		    (unsigned long long)*(const uint64_t *)field);
		break;
	case CONF_T_STR:
	case CONF_T_NONEMPTY:
	case CONF_T_PATH:
	case CONF_T_FACILITY:
	case CONF_T_ODA:
	case CONF_T_MAPS:
	case CONF_T_DOMAINS:
		buf_puts(&b, *(char *const *)field ? *(char *const *)field :
		    "");
		break;
	case CONF_T_ENDPOINT:
	case CONF_T_MENDPOINT:
	case CONF_T_UENDPOINT:
		buf_puts(&b, ((const struct endpoint *)field)->text);
		break;
	case CONF_T_ENDPOINTS:
		el = field;
		for (i = 0; i < el->n; i++)
			buf_printf(&b, "%s%s", i > 0 ? ", " : "",
			    el->v[i].text);
		break;
	case CONF_T_LFA:
		buf_puts(&b, *(const enum lookup_failure_action *)field ==
		    LFA_DUNNO ? "dunno" : "defer");
		break;
	case CONF_T_TARGET:
		buf_puts(&b, dbhosts_target_name(
		    *(const enum dbhosts_target *)field));
		break;
	case CONF_T_CACHE:
		buf_puts(&b, conf_cache_text(cfg, tmp, sizeof(tmp)));
		break;
	}
	out = xstrdup(buf_str(&b));
	buf_free(&b);
	return out;
}

/* conf_origin_one - one origin as text (fresh) */
static char *
conf_origin_one(const struct conf *cfg, const struct conf_origin *o)
{
	switch (o->src) {
	case CONF_SRC_DEFAULT:
		break;
	case CONF_SRC_FILE:
		return xasprintf("%s:%u", cfg->path, o->line);
	case CONF_SRC_OVERRIDE:
		return xstrdup(CONF_OVERRIDE_SRC);
	case CONF_SRC_MAINCF:
		return xasprintf("%s:%u", cfg->maincf, o->line);
	case CONF_SRC_PFDEFAULT:
		return xstrdup("postfix default");
	}
	return xstrdup("default");
}

char *
conf_origin_text(const struct conf *cfg, enum conf_param_id id)
{
	char	*a, *b, *out;

	a = conf_origin_one(cfg, &cfg->origin[id]);
	if (cfg->pf_origin[id].src == CONF_SRC_DEFAULT)
		return a;
	b = conf_origin_one(cfg, &cfg->pf_origin[id]);
	out = xasprintf("%s, overrides %s%s", a, b, cfg->pf_differs[id] ?
	    " (differs)" : "");
	free(a);
	free(b);
	return out;
}

size_t
conf_changed(const struct conf *a, const struct conf *b, unsigned what,
    enum conf_param_id ids[CONF_NPARAMS])
{
	size_t	 i, n = 0;
	char	*x, *y;

	for (i = 0; i < CONF_NPARAMS; i++) {
		if (!(conf_params[i].flags & what))
			continue;
		x = conf_format(a, (enum conf_param_id)i);
		y = conf_format(b, (enum conf_param_id)i);
		if (strcmp(x, y) != 0)
			ids[n++] = (enum conf_param_id)i;
		free(x);
		free(y);
	}
	return n;
}
