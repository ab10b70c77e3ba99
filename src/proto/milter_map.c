/*
 * milter_map - milter facts to a policy request, policy actions to milter
 * verdicts. See milter_map.h.
 *
 * Depends on: util/, core/engine.h (types only), proto/policy.h
 * (pp_parse, limits), proto/declog.h. No I/O, no libmilter: every rule
 * here is a table row in tests/unit/check_milter_map.c.
 *
 * Security: everything here is peer text. Envelope arguments and helo
 * come from the SMTP client through the MTA, actions from vrcptd over a
 * socket. A value with CR or LF is never put into a policy request (it
 * would forge attributes), reply texts are made printable and bounded
 * before they reach smfi_setreply(), and '%' is escaped because the MTA
 * treats the reply text as a format.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/declog.h"
#include "proto/milter_map.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define MILTER_REPLY_CLASS	"Recipient address"
#define MILTER_REJECTED		MILTER_REPLY_CLASS " rejected: "
#define MILTER_TEMP_TEXT	"Temporary lookup failure"
/* what vrcptd answers on a lookup failure (engine LFA_DEFER), and what
 * smtpd's reject_dict_retry() sends natively: 451 4.3.0 */
#define MILTER_TEMP_ACTION	"451 4.3.0 " MILTER_TEMP_TEXT
#define MILTER_TEMP_CODE	451
#define MILTER_TEMP_DSN		"4.3.0"
/* what vrcptd answers on an empty lookup result, and what smtpd's
 * reject_server_error() sends natively: no recipient in it */
#define MILTER_CONF_TEXT	"Server configuration error"
#define MILTER_CONF_DSN		"4.3.5"
#define MILTER_CONF_ACTION	"451 " MILTER_CONF_DSN " " MILTER_CONF_TEXT

/* how a reply is worded */
enum reply_form {
	REPLY_POLICY,		/* "<rcpt>: Recipient address rejected: d" */
	REPLY_NATIVE,		/* "<rcpt>: d" (reject_dict_retry) */
	REPLY_BARE		/* "d" (reject_server_error) */
};
/* Postfix defaults for REJECT / DEFER actions (mail_params.h) */
#define MILTER_MAP_REJECT_CODE	554	/* access_map_reject_code */
#define MILTER_MAP_DEFER_CODE	450	/* access_map_defer_code */
#define MILTER_DSN_DIGS_MAX	3	/* digits in one DSN part */
#define MILTER_IPV6_PREFIX	"IPv6:"
#define MILTER_V4MAPPED_PREFIX	"::ffff:"
#define MILTER_ADDR_GROWTH	1	/* the ']' of an unterminated "[..." */

/* ------------------------------------------------------------ helpers */

/* utf8_len - bytes of the well-formed UTF-8 sequence at s, or 0 */
static size_t
utf8_len(const char *s)
{
	unsigned char c = (unsigned char)s[0];
	size_t	 n;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (strnlen(s, n) < n || !str_valid_utf8(s, n))
		return 0;
	return n;
}

/* smtputf8_enable of the MTA (milter_map_set_utf8) */
static bool milter_utf8 = true;

void
milter_map_set_utf8(bool on)
{
	milter_utf8 = on;
}

/*
 * make_printable - Postfix printable(s, ' '): ASCII controls and bytes
 * that are not part of well-formed UTF-8 become spaces; without
 * smtputf8_enable (util_utf8_enable off) every byte above 0x7f does.
 */
static void
make_printable(char *s)
{
	size_t	 n;

	while (*s != '\0') {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x80 && milter_utf8 && (n = utf8_len(s)) > 0) {
			s += n;
			continue;
		}
		if (c < 0x20 || c == 0x7f || c >= 0x80)
			*s = ' ';
		s++;
	}
}

/* copy_str - bounded copy that always terminates */
static void
copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src);
}

/* is_c_space - isspace() in the C locale, as Postfix ISSPACE */
static bool
is_c_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' ||
	    c == '\f' || c == '\r';
}

/* all_digits - s[0..n) is a non-empty run of ASCII digits */
static bool
all_digits(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* ------------------------------------------------------ milter -> policy */

/*
 * milter_map_addr - smtpd.c extract_addr(), for what a milter sees. The
 * tok822 parser does more (phrases, groups); for an envelope address
 * that Postfix has already accepted the steps below give the same
 * internal form.
 *
 * Output size: every input byte gives at most one output byte, except
 * that a domain literal always gets its ']' (tok822_internalize() adds
 * it for TOK822_DOMLIT whether or not the input closed it). Only the
 * last literal can be unterminated (it runs to the end), so the output
 * is at most MILTER_ADDR_GROWTH bytes longer than the input.
 */
char *
milter_map_addr(const char *arg)
{
	const char *p = arg, *end, *colon;
	size_t	 len = strlen(arg), n = 0;
	char	*out = xmalloc(len + MILTER_ADDR_GROWTH + 1);
	char	 c;
	int	 depth;

	end = arg + len;
	if (len >= 2 && arg[0] == '<' && arg[len - 1] == '>') {
		p++;
		end--;
	}
	/* "Truncate deprecated route address form" */
	if (p < end && *p == '@' &&
	    (colon = memchr(p, ':', (size_t)(end - p))) != NULL)
		p = colon + 1;

	while (p < end) {
		c = *p++;
		switch (c) {
		case ' ': case '\t': case '\r': case '\n':
		case '<': case '>':
			/* between tokens, or route-addr brackets */
			break;
		case '(':
			/* a comment is not part of the address */
			for (depth = 1; p < end && depth > 0; p++) {
				if (*p == '\\' && p + 1 < end)
					p++;
				else if (*p == '(')
					depth++;
				else if (*p == ')')
					depth--;
			}
			break;
		case '"':
		case '[':
			/* quoted string: contents; domain literal: kept
			 * with its brackets. tok822 COLLECT: backslash
			 * quotes the next byte, white space becomes ' ' */
			if (c == '[')
				out[n++] = '[';
			while (p < end && *p != (c == '"' ? '"' : ']')) {
				if (*p == '\\' && ++p >= end)
					break;
				out[n++] = (*p == '\t' || *p == '\r' ||
				    *p == '\n') ? ' ' : *p;
				p++;
			}
			if (p < end)
				p++;		/* the closing quote/bracket */
			if (c == '[')
				out[n++] = ']';	/* even if unterminated */
			if (n > len + MILTER_ADDR_GROWTH)
				msg_panic("milter_map_addr: output bound");
			break;
		case '\\':
			if (p < end)
				out[n++] = *p++;
			break;
		default:
			out[n++] = c;
			break;
		}
	}
	out[n] = '\0';
	return out;
}

char *
milter_map_client_addr(const char *s)
{
	size_t	 len;

	if (s == NULL)
		return xstrdup("");
	len = strlen(s);
	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
	}
	if (len >= sizeof(MILTER_IPV6_PREFIX) - 1 &&
	    strncasecmp(s, MILTER_IPV6_PREFIX,
	    sizeof(MILTER_IPV6_PREFIX) - 1) == 0) {
		s += sizeof(MILTER_IPV6_PREFIX) - 1;
		len -= sizeof(MILTER_IPV6_PREFIX) - 1;
	}
	/* Postfix logs and sends an IPv4 client as a.b.c.d */
	if (len > sizeof(MILTER_V4MAPPED_PREFIX) - 1 &&
	    strncasecmp(s, MILTER_V4MAPPED_PREFIX,
	    sizeof(MILTER_V4MAPPED_PREFIX) - 1) == 0 &&
	    memchr(s + sizeof(MILTER_V4MAPPED_PREFIX) - 1, '.',
	    len - (sizeof(MILTER_V4MAPPED_PREFIX) - 1)) != NULL &&
	    memchr(s + sizeof(MILTER_V4MAPPED_PREFIX) - 1, ':',
	    len - (sizeof(MILTER_V4MAPPED_PREFIX) - 1)) == NULL) {
		s += sizeof(MILTER_V4MAPPED_PREFIX) - 1;
		len -= sizeof(MILTER_V4MAPPED_PREFIX) - 1;
	}
	return xstrndup(s, len);
}

const char *
milter_map_client_name(const char *s)
{
	/* Postfix milter8.c sends "[addr]" for an unknown name, in the
	 * Sendmail manner; the policy protocol says "unknown" */
	if (s == NULL || *s == '\0' || *s == '[')
		return "unknown";
	return s;
}

const char *
milter_map_protocol(const char *r)
{
	if (r != NULL && strncasecmp(r, "ESMTP", 5) == 0)
		return "ESMTP";
	if (r != NULL && strncasecmp(r, "SMTP", 4) == 0)
		return "SMTP";
	return "ESMTP";
}

char *
milter_map_instance(char buf[MILTER_INSTANCE_MAX], unsigned pid,
    unsigned long conn, unsigned long msg)
{
	snprintf(buf, MILTER_INSTANCE_MAX, "%x.%lx.%lx", pid, conn, msg);
	return buf;
}

/* or_empty - s, "" for NULL */
static const char *
or_empty(const char *s)
{
	return s != NULL ? s : "";
}

void
milter_map_request(const struct milter_env *env, struct policy_req *pr)
{
	const char *vals[POLICY_NFIELDS] = { 0 };
	char	*client_address, *sender, *recipient;

	client_address = milter_map_client_addr(env->hostaddr != NULL ?
	    env->hostaddr : env->mac_client_addr);
	sender = milter_map_addr(env->envfrom != NULL ? env->envfrom : "");
	recipient = milter_map_addr(env->envrcpt != NULL ? env->envrcpt : "");
	vals[POLICY_F_request] = "smtpd_access_policy";
	vals[POLICY_F_protocol_state] = "RCPT";
	vals[POLICY_F_protocol_name] = milter_map_protocol(env->mac_protocol);
	vals[POLICY_F_client_address] = client_address;
	vals[POLICY_F_client_name] = milter_map_client_name(
	    env->hostname != NULL ? env->hostname : env->mac_client_name);
	vals[POLICY_F_helo_name] = or_empty(env->helo);
	vals[POLICY_F_sender] = sender;
	vals[POLICY_F_recipient] = recipient;
	vals[POLICY_F_queue_id] = or_empty(env->mac_queue_id);
	vals[POLICY_F_instance] = or_empty(env->instance);
	vals[POLICY_F_sasl_username] = or_empty(env->mac_auth_authen);
	pp_set(pr, vals, 11);
	free(client_address);
	free(sender);
	free(recipient);
}

int
milter_map_format_request(struct buf *out, const struct policy_req *pr)
{
	/* the order of Postfix check_policy_service(); recipient_count is
	 * 0 at RCPT */
	const struct {
		const char *name;
		const char *value;
	} attrs[] = {
		{ "request", pr->request },
		{ "protocol_state", pr->protocol_state },
		{ "protocol_name", pr->protocol_name },
		{ "client_address", pr->client_address },
		{ "client_name", pr->client_name },
		{ "reverse_client_name", pr->reverse_client_name },
		{ "helo_name", pr->helo_name },
		{ "sender", pr->sender },
		{ "recipient", pr->recipient },
		{ "recipient_count", "0" },
		{ "queue_id", pr->queue_id },
		{ "instance", pr->instance },
		{ "sasl_username", pr->sasl_username },
	};
	size_t	 i, start = out->len;

	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		if (attrs[i].value == NULL)
			continue;
		if (strpbrk(attrs[i].value, "\r\n") != NULL ||
		    strlen(attrs[i].name) + 1 + strlen(attrs[i].value) >
		    POLICY_LINE_MAX)
			return -1;
	}
	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		if (attrs[i].value == NULL)
			continue;
		if (buf_printf(out, "%s=%s\n", attrs[i].name,
		    attrs[i].value) < 0)
			goto full;
	}
	if (buf_puts(out, "\n") < 0)
		goto full;
	return 0;

full:
	/* all or nothing: take back what this call appended */
	out->len = start;
	if (out->data != NULL)
		out->data[start] = '\0';
	return -1;
}

/* ------------------------------------------------------ policy -> milter */

enum pp_status
milter_map_parse_reply(const char *buf, size_t len, char **action_r,
    size_t *consumed_r, enum pp_error *why_r)
{
	struct policy_req scratch = { 0 };
	enum pp_status st;
	size_t	 used;

	/* the grammar and limits are those of a request: let the request
	 * parser judge, then pick the one attribute it does not keep */
	st = pp_parse(buf, len, &scratch, &used, why_r);
	policy_req_free(&scratch);
	if (st != PP_DONE)
		return st;
	*consumed_r = used;
	*action_r = pp_reply_value(buf, used, "action");
	return PP_DONE;
}

/* dsn_len - Postfix dsn_valid(): length of "d.ddd.ddd" at s, or 0 */
static size_t
dsn_len(const char *s)
{
	const char *p = s;
	size_t	 n;

	if ((p[0] != '2' && p[0] != '4' && p[0] != '5') || p[1] != '.')
		return 0;
	p += 2;
	n = strspn(p, "0123456789");
	if (n < 1 || n > MILTER_DSN_DIGS_MAX || p[n] != '.')
		return 0;
	p += n + 1;
	n = strspn(p, "0123456789");
	if (n < 1 || n > MILTER_DSN_DIGS_MAX ||
	    (p[n] != '\0' && !is_c_space(p[n])))
		return 0;
	return (size_t)(p + n - s);
}

/*
 * split_dsn - Postfix dsn_split() + smtpd_dsn_fix() for the recipient
 * reply class + smtpd_check_reject()'s "DSN class = SMTP class": the
 * DSN into dsn (MILTER_XCODE_MAX + 1 bytes), the free text returned.
 */
static const char *
split_dsn(const char *text, const char *def_dsn, unsigned code,
    char *dsn)
{
	/* smtpd_dsn_fix.c: sender-address details become recipient ones */
	static const char *const rcpt_detail[] = {
		"0", "1", "2", "3", "4", "5", "6", "3", "2"
	};
	size_t	 n;

	while (is_c_space(*text))
		text++;
	if ((n = dsn_len(text)) > 0) {
		memcpy(dsn, text, n);
		dsn[n] = '\0';
		text += n;
	} else {
		copy_str(dsn, MILTER_XCODE_MAX + 1, def_dsn);
	}
	while (is_c_space(*text))
		text++;
	if (strncmp(dsn + 1, ".1.", 3) == 0) {
		const char *d = dsn + 4;
		size_t	 i = 0;

		if (strlen(d) == 1 && *d >= '1' && *d <= '8')
			i = (size_t)(*d - '0');
		snprintf(dsn + 4, MILTER_XCODE_MAX + 1 - 4, "%s",
		    rcpt_detail[i]);
	}
	dsn[0] = (char)('0' + code / 100);
	return text;
}

/*
 * set_reply - a reject or tempfail outcome worded as form says, made
 * printable as smtpd_check_reject() does. Not cut at
 * MILTER_SMTP_REPLY_MAX: Postfix sends the whole text (see milter_map.h);
 * only libmilter's limit applies, without splitting a UTF-8 sequence.
 */
static void
set_reply(struct milter_outcome *o, unsigned code, const char *dsn,
    const char *rcpt, const char *detail, enum reply_form form)
{
	char	*full;
	const char *text;
	size_t	 skip, n;

	if (form == REPLY_BARE)
		full = xasprintf("%u %s %s", code, dsn, detail);
	else
		full = xasprintf("%u %s <%s>: %s%s", code, dsn, rcpt,
		    form == REPLY_NATIVE ? "" : MILTER_REJECTED, detail);
	make_printable(full);
	o->decision = code >= 500 ? MILTER_REJECT : MILTER_TEMPFAIL;
	o->code = code;
	snprintf(o->rcode, sizeof(o->rcode), "%u", code);
	copy_str(o->xcode, sizeof(o->xcode), dsn);
	skip = strlen(o->rcode) + 1 + strlen(o->xcode) + 1;
	text = full + skip;
	n = strlen(text);
	if (n > MILTER_REPLY_MAX) {
		/* printable: only whole UTF-8 sequences are left */
		n = MILTER_REPLY_MAX;
		while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(o->text, text, n);
	o->text[n] = '\0';
	copy_str(o->detail, sizeof(o->detail), detail);
	make_printable(o->detail);
	o->native = form != REPLY_POLICY;
	o->bare = form == REPLY_BARE;
	free(full);
}

/* word_is - the command word of an action is w (case-insensitive) */
static bool
word_is(const char *action, size_t cmd_len, const char *w)
{
	return strlen(w) == cmd_len && strncasecmp(action, w, cmd_len) == 0;
}

/*
 * is_restriction_list - "reject_unauth_destination" or a list of such
 * names: Postfix runs them itself, before it calls the milters.
 */
static bool
is_restriction_list(const char *s)
{
	bool	 in_word = false, any = false;

	for (; *s != '\0'; s++) {
		if (*s == ',' || *s == ' ' || *s == '\t') {
			in_word = false;
			continue;
		}
		if (!in_word && !(*s >= 'a' && *s <= 'z'))
			return false;
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '_'))
			return false;
		in_word = any = true;
	}
	return any;
}

static void
outcome_init(struct milter_outcome *o, enum milter_cause cause,
    const char *action)
{
	memset(o, 0, sizeof(*o));
	o->decision = MILTER_CONTINUE;
	o->cause = cause;
	copy_str(o->action, sizeof(o->action), action != NULL ? action : "");
	make_printable(o->action);
}

void
milter_map_failure(enum milter_cause cause, const char *rcpt,
    enum lookup_failure_action lfa, struct milter_outcome *o)
{
	if (cause == MILTER_CAUSE_ACTION)
		cause = MILTER_CAUSE_BAD_ACTION;	/* caller's bug */
	outcome_init(o, cause, NULL);
	switch (lfa) {
	case LFA_DEFER:
		set_reply(o, MILTER_TEMP_CODE, MILTER_TEMP_DSN, rcpt,
		    MILTER_TEMP_TEXT, REPLY_NATIVE);
		return;
	case LFA_DUNNO:
		return;
	}
}

void
milter_map_action(const char *action, const char *rcpt,
    enum lookup_failure_action lfa, struct milter_outcome *o)
{
	char	 dsn[MILTER_XCODE_MAX + 1];
	const char *text, *detail;
	size_t	 cmd_len;
	unsigned code;

	if (action == NULL || *action == '\0') {
		milter_map_failure(MILTER_CAUSE_BAD_ACTION, rcpt, lfa, o);
		return;
	}
	outcome_init(o, MILTER_CAUSE_ACTION, action);
	cmd_len = strcspn(action, " \t");
	for (text = action + cmd_len; is_c_space(*text); text++)
		;

	/* the two replies that smtpd words differently from a policy
	 * reply */
	if (strcmp(action, MILTER_TEMP_ACTION) == 0) {
		set_reply(o, MILTER_TEMP_CODE, MILTER_TEMP_DSN, rcpt,
		    MILTER_TEMP_TEXT, REPLY_NATIVE);
		return;
	}
	if (strcmp(action, MILTER_CONF_ACTION) == 0) {
		set_reply(o, MILTER_TEMP_CODE, MILTER_CONF_DSN, rcpt,
		    MILTER_CONF_TEXT, REPLY_BARE);
		return;
	}
	/* smtpd_check.c check_table_result(), in its order */
	if (word_is(action, cmd_len, "DUNNO"))
		return;
	if (word_is(action, cmd_len, "REJECT")) {
		detail = split_dsn(text, "5.7.1", MILTER_MAP_REJECT_CODE, dsn);
		set_reply(o, MILTER_MAP_REJECT_CODE, dsn, rcpt,
		    *detail ? detail : "Access denied", REPLY_POLICY);
		return;
	}
	if (word_is(action, cmd_len, "DEFER")) {
		detail = split_dsn(text, "4.7.1", MILTER_MAP_DEFER_CODE, dsn);
		set_reply(o, MILTER_MAP_DEFER_CODE, dsn, rcpt,
		    *detail ? detail : "Access denied", REPLY_POLICY);
		return;
	}
	if (word_is(action, cmd_len, "DEFER_IF_PERMIT")) {
		/* the milter runs only when the result was "permit" */
		detail = split_dsn(text, "4.7.1", MILTER_MAP_DEFER_CODE, dsn);
		set_reply(o, MILTER_MAP_DEFER_CODE, dsn, rcpt,
		    *detail ? detail : "Service unavailable", REPLY_POLICY);
		return;
	}
	if (all_digits(action, strlen(action)))
		return;				/* permit */
	if (cmd_len == 3 && *text != '\0' &&
	    (action[0] == '4' || action[0] == '5') &&
	    all_digits(action + 1, 2)) {
		code = (unsigned)atoi(action);
		detail = split_dsn(text, action[0] == '4' ? "4.7.1" : "5.7.1",
		    code, dsn);
		set_reply(o, code, dsn, rcpt,
		    *detail ? detail : "Access denied", REPLY_POLICY);
		return;
	}
	if (word_is(action, cmd_len, "OK") || word_is(action, cmd_len, "RELAY"))
		return;
	if (is_restriction_list(action))
		return;		/* Postfix has run its restrictions already */
	milter_map_failure(MILTER_CAUSE_BAD_ACTION, rcpt, lfa, o);
	copy_str(o->action, sizeof(o->action), action);
	make_printable(o->action);
}

int
milter_map_escape(const char *text, char out[MILTER_REPLY_MAX + 1])
{
	size_t	 n = 0, step, need;

	if (strpbrk(text, "\r\n") != NULL) {
		out[0] = '\0';
		return -1;
	}
	while (*text != '\0') {
		if (*text == '%') {
			step = 1;
			need = 2;
		} else {
			step = (unsigned char)*text >= 0x80 ?
			    utf8_len(text) : 1;
			if (step == 0)
				step = 1;
			need = step;
		}
		if (n + need > MILTER_REPLY_MAX)
			break;
		if (*text == '%') {
			out[n++] = '%';
			out[n++] = '%';
		} else {
			memcpy(out + n, text, step);
			n += step;
		}
		text += step;
	}
	out[n] = '\0';
	return 0;
}

/* ----------------------------------------------------------------- log */

void
milter_map_log_line(struct buf *out, const struct policy_req *pr,
    const struct milter_outcome *o, const char *lookup, uint64_t delay_us)
{
	char	 san[DECLOG_FIELD_MAX + 4];
	struct verdict v;
	struct buf line;
	const char *rcpt = pr->recipient != NULL ? pr->recipient : "";
	const char *hit;
	char	*needle;

	memset(&v, 0, sizeof(v));
	copy_str(v.action, sizeof(v.action), o->action);
	switch (o->decision) {
	case MILTER_CONTINUE:
		v.kind = o->cause == MILTER_CAUSE_ACTION &&
		    is_restriction_list(o->action) ?
		    VERDICT_NOT_HANDLED : VERDICT_VALID;
		break;
	case MILTER_REJECT:
	case MILTER_TEMPFAIL:
		v.kind = o->cause == MILTER_CAUSE_ACTION && !o->native ?
		    VERDICT_UNKNOWN : VERDICT_FAILURE;
		v.code = o->code;
		copy_str(v.dsn, sizeof(v.dsn), o->xcode);
		copy_str(v.text, sizeof(v.text), o->detail);
		break;
	}
	buf_init(&line, 0);
	declog_format(&line, pr, &v, lookup, delay_us, milter_utf8);
	if (!o->native) {
		buf_append(out, line.data, line.len);
		buf_free(&line);
		return;
	}
	/*
	 * declog writes every reject as "<r>: Recipient address rejected:
	 * text"; smtpd logs the lookup failure without the reply class,
	 * and the server error without the recipient either. The first
	 * occurrence is ours: only the queue id and client name and
	 * address (all from the MTA, none with '<') come before it.
	 */
	declog_field(san, rcpt, milter_utf8, ' ');
	needle = xasprintf(" %s <%s>: " MILTER_REJECTED, o->xcode, san);
	if ((hit = strstr(buf_str(&line), needle)) == NULL) {
		buf_append(out, line.data, line.len);
	} else {
		size_t	 keep = (size_t)(hit - line.data) + (o->bare ?
		    strlen(o->xcode) + 2 : strlen(needle) -
		    (sizeof(MILTER_REJECTED) - 1));

		buf_append(out, line.data, keep);
		buf_puts(out, hit + strlen(needle));
	}
	free(needle);
	buf_free(&line);
}

/* ---------------------------------------------------------------- misc */

const char *
milter_decision_name(enum milter_decision d)
{
	switch (d) {
	case MILTER_CONTINUE:
		return "continue";
	case MILTER_REJECT:
		return "reject";
	case MILTER_TEMPFAIL:
		return "tempfail";
	}
	return "?";
}

const char *
milter_cause_name(enum milter_cause c)
{
	switch (c) {
	case MILTER_CAUSE_ACTION:
		return "action";
	case MILTER_CAUSE_UNREACHABLE:
		return "policy service unreachable";
	case MILTER_CAUSE_BAD_ACTION:
		return "unusable policy reply";
	case MILTER_CAUSE_BAD_REQUEST:
		return "request cannot be sent";
	}
	return "?";
}
