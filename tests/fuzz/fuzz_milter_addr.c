/*
 * fuzz_milter_addr - libFuzzer target for the pure half of vrcpt-milter
 * (proto/milter_map.c): the envelope argument mapping, the client
 * macros, the request formatter, the reply parser, the action mapping,
 * the reply escaping and the log line.
 *
 *   make fuzz FUZZ_TARGETS=milter_addr	(build/fuzz/fuzz_milter_addr)
 *
 * Input: NUL-separated fields (fuzz.h): an envelope argument as the MTA
 * passes it (MAIL FROM or RCPT TO argv[0]), a second one, a policy
 * action, then the rest of the input as raw reply bytes from vrcptd.
 * The first byte picks lookup_failure_action and a few switches.
 *
 * Invariants (a violation aborts):
 *   - milter_map_addr() output is at most MILTER_ADDR_GROWTH bytes
 *     longer than its argument, and "<x>" maps like x when x has no
 *     angle brackets, white space, comments or quotes of its own;
 *   - a request made of hostile values either formats and then parses
 *     back to the same values, or is refused because a value holds CR or
 *     LF or a line would pass POLICY_LINE_MAX;
 *   - a reply parses like the request grammar, the action is the first
 *     "action=" value, a strict prefix of a complete reply is AGAIN;
 *   - every outcome is consistent: CONTINUE has no reply, REJECT a 5xx
 *     and TEMPFAIL a 4xx code whose class the DSN repeats; the text is
 *     bounded (MILTER_REPLY_MAX), printable UTF-8, names the recipient;
 *   - milter_map_escape() output is bounded, has every '%' doubled and
 *     unescapes to a prefix of its input;
 *   - the log line is one line (no CR, LF or NUL) and bounded;
 *   - an argument that is a milter_listen endpoint gives a libmilter
 *     spec (smfi_setconn) that reads back as the same endpoint.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/endpoint.h"
#include "fuzz.h"
#include "proto/declog.h"
#include "proto/milter_map.h"
#include "proto/policy.h"
#include "util/buf.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define FM_LOG_MAX	(DECLOG_LINE_MAX + 4 * DECLOG_FIELD_MAX)

/* fm_plain - x has none of what milter_map_addr() strips or resolves */
static bool
fm_plain(const char *x)
{
	return strpbrk(x, "<>()\"[]\\ \t\r\n") == NULL && x[0] != '@';
}

static void
fm_addr(const char *arg)
{
	char	*out = milter_map_addr(arg), *wrapped, *out2;

	FUZZ_ASSERT(strlen(out) <= strlen(arg) + 1);
	if (fm_plain(arg)) {
		/* a plain address is its own internal form, with or
		 * without its angle brackets */
		FUZZ_ASSERT(strcmp(out, arg) == 0);
		wrapped = xasprintf("<%s>", arg);
		out2 = milter_map_addr(wrapped);
		FUZZ_ASSERT(strcmp(out2, arg) == 0);
		free(out2);
		free(wrapped);
	}
	free(out);
}

/* fm_text_ok - printable UTF-8, as Postfix printable() leaves a reply */
static bool
fm_text_ok(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return str_valid_utf8(s, strlen(s));
}

/* fm_step - bytes of the character at s: a UTF-8 sequence or one byte */
static size_t
fm_step(const char *s)
{
	unsigned char c = (unsigned char)s[0];
	size_t	 n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

	return strnlen(s, n) == n && str_valid_utf8(s, n) ? n : 1;
}

static void
fm_escape(const char *text)
{
	char	 out[MILTER_REPLY_MAX + 1];
	size_t	 i, j = 0;

	if (milter_map_escape(text, out) < 0) {
		FUZZ_ASSERT(strpbrk(text, "\r\n") != NULL);
		return;
	}
	FUZZ_ASSERT(strlen(out) <= MILTER_REPLY_MAX);
	/* "%%" pairs only, and unescaped it is a prefix of text */
	for (i = 0; out[i] != '\0'; i++, j++) {
		if (out[i] == '%') {
			FUZZ_ASSERT(out[i + 1] == '%');
			i++;
		}
		FUZZ_ASSERT(text[j] == out[i]);
	}
	/* cut only where the next character (a "%%" pair or a whole
	 * UTF-8 sequence) would not fit */
	if (text[j] != '\0')
		FUZZ_ASSERT(i + (text[j] == '%' ? 2 : fm_step(text + j)) >
		    MILTER_REPLY_MAX);
}

static void
fm_outcome(const struct milter_outcome *o, const char *rcpt)
{
	char	*want;

	FUZZ_ASSERT(memchr(o->text, '\0', sizeof(o->text)) != NULL);
	FUZZ_ASSERT(memchr(o->detail, '\0', sizeof(o->detail)) != NULL);
	FUZZ_ASSERT(memchr(o->action, '\0', sizeof(o->action)) != NULL);
	FUZZ_ASSERT(fm_text_ok(o->action));
	switch (o->decision) {
	case MILTER_CONTINUE:
		FUZZ_ASSERT(o->code == 0 && o->text[0] == '\0');
		return;
	case MILTER_REJECT:
		FUZZ_ASSERT(o->code >= 500 && o->code <= 599);
		break;
	case MILTER_TEMPFAIL:
		FUZZ_ASSERT(o->code >= 400 && o->code <= 499);
		break;
	}
	FUZZ_ASSERT(strlen(o->rcode) == 3 &&
	    (unsigned)atoi(o->rcode) == o->code);
	FUZZ_ASSERT(o->xcode[0] == o->rcode[0] && o->xcode[1] == '.');
	FUZZ_ASSERT(strlen(o->xcode) >= 5 && strlen(o->xcode) <=
	    MILTER_XCODE_MAX);
	FUZZ_ASSERT(strlen(o->text) <= MILTER_REPLY_MAX);
	FUZZ_ASSERT(fm_text_ok(o->text));
	FUZZ_ASSERT(fm_text_ok(o->detail));
	/* smtpd's server error names no recipient (reject_server_error) */
	if (o->bare) {
		FUZZ_ASSERT(o->native && o->code == 451 &&
		    strcmp(o->text, o->detail) == 0);
		fm_escape(o->text);
		return;
	}
	FUZZ_ASSERT(o->text[0] == '<');
	/* the recipient, made printable, unless the text had to be cut */
	want = xasprintf("<%s>: ", rcpt);
	for (char *p = want; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	if (strlen(want) < MILTER_REPLY_MAX && str_valid_utf8(want,
	    strlen(want)))
		FUZZ_ASSERT(strncmp(o->text, want, strlen(want)) == 0);
	free(want);
	fm_escape(o->text);
}

static void
fm_log(const struct policy_req *pr, const struct milter_outcome *o)
{
	struct buf line;

	buf_init(&line, 0);
	milter_map_log_line(&line, pr, o, "policy", 1234);
	FUZZ_ASSERT(memchr(line.data, '\0', line.len) == NULL);
	FUZZ_ASSERT(memchr(line.data, '\n', line.len) == NULL);
	FUZZ_ASSERT(memchr(line.data, '\r', line.len) == NULL);
	FUZZ_ASSERT(line.len <= DECLOG_LINE_MAX);
	buf_free(&line);
}

/* fm_same - a value parsed back equals the one formatted */
static void
fm_same(const char *a, const char *b)
{
	FUZZ_ASSERT((a == NULL) == (b == NULL));
	if (a != NULL)
		FUZZ_ASSERT(strcmp(a, b) == 0);
}

static void
fm_request(const char *from, const char *rcpt, const char *helo,
    enum lookup_failure_action lfa, const char *action)
{
	struct milter_env env;
	struct milter_outcome o;
	struct policy_req pr = { 0 }, back = { 0 };
	struct buf out;
	enum pp_error why;
	size_t	 used;
	char	 inst[MILTER_INSTANCE_MAX];

	memset(&env, 0, sizeof(env));
	env.hostname = helo;
	env.mac_client_addr = from;
	env.mac_client_name = rcpt;
	env.helo = helo;
	env.envfrom = from;
	env.envrcpt = rcpt;
	env.mac_protocol = helo;
	env.mac_queue_id = action;
	env.mac_auth_authen = from;
	env.instance = milter_map_instance(inst, 1, 2, 3);
	milter_map_request(&env, &pr);
	buf_init(&out, POLICY_REQUEST_MAX);
	if (milter_map_format_request(&out, &pr) < 0) {
		/* refused: a CR or LF, or a line too long */
		FUZZ_ASSERT(out.len == 0);
		FUZZ_ASSERT(strpbrk(pr.recipient, "\r\n") != NULL ||
		    strpbrk(pr.sender, "\r\n") != NULL ||
		    strpbrk(pr.helo_name, "\r\n") != NULL ||
		    strpbrk(pr.client_name, "\r\n") != NULL ||
		    strpbrk(pr.client_address, "\r\n") != NULL ||
		    strpbrk(pr.queue_id, "\r\n") != NULL ||
		    strpbrk(pr.sasl_username, "\r\n") != NULL ||
		    strlen(pr.recipient) + 10 > POLICY_LINE_MAX ||
		    strlen(pr.sender) + 7 > POLICY_LINE_MAX ||
		    strlen(pr.helo_name) + 10 > POLICY_LINE_MAX ||
		    strlen(pr.client_name) + 12 > POLICY_LINE_MAX ||
		    strlen(pr.client_address) + 15 > POLICY_LINE_MAX ||
		    strlen(pr.queue_id) + 9 > POLICY_LINE_MAX ||
		    strlen(pr.sasl_username) + 14 > POLICY_LINE_MAX);
	} else {
		FUZZ_ASSERT(pp_parse(out.data, out.len, &back, &used, &why) ==
		    PP_DONE);
		FUZZ_ASSERT(used == out.len);
		fm_same(pr.request, back.request);
		fm_same(pr.protocol_state, back.protocol_state);
		fm_same(pr.protocol_name, back.protocol_name);
		fm_same(pr.client_address, back.client_address);
		fm_same(pr.client_name, back.client_name);
		fm_same(pr.helo_name, back.helo_name);
		fm_same(pr.sender, back.sender);
		fm_same(pr.recipient, back.recipient);
		fm_same(pr.queue_id, back.queue_id);
		fm_same(pr.instance, back.instance);
		fm_same(pr.sasl_username, back.sasl_username);
		policy_req_free(&back);
	}
	buf_free(&out);

	milter_map_action(action, pr.recipient, lfa, &o);
	fm_outcome(&o, pr.recipient);
	fm_log(&pr, &o);
	milter_map_failure(MILTER_CAUSE_UNREACHABLE, pr.recipient, lfa, &o);
	FUZZ_ASSERT(o.decision == (lfa == LFA_DEFER ? MILTER_TEMPFAIL :
	    MILTER_CONTINUE));
	fm_outcome(&o, pr.recipient);
	fm_log(&pr, &o);
	policy_req_free(&pr);
}

static void
fm_reply(const char *raw, size_t len)
{
	struct policy_req scratch = { 0 };
	enum pp_error why, why2;
	enum pp_status st;
	size_t	 used, used2;
	char	*action, *action2, *line, *want = NULL;
	const char *p, *nl, *end;

	st = milter_map_parse_reply(raw, len, &action, &used, &why);
	/* the same grammar and limits as a request */
	FUZZ_ASSERT(pp_parse(raw, len, &scratch, &used2, &why2) == st);
	policy_req_free(&scratch);
	if (st != PP_DONE) {
		FUZZ_ASSERT(st == PP_AGAIN ? why == PP_ERR_NONE :
		    why != PP_ERR_NONE);
		return;
	}
	FUZZ_ASSERT(used == used2 && used > 0 && used <= len);
	/* the first "action=" line of the reply, found another way */
	for (p = raw, end = raw + used; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		line = xstrndup(p, (size_t)(nl - p));
		if (line[0] != '\0' && line[strlen(line) - 1] == '\r')
			line[strlen(line) - 1] = '\0';
		if (line[0] == '\0') {
			free(line);
			break;
		}
		if (strncmp(line, "action=", 7) == 0) {
			want = xstrdup(line + 7);
			free(line);
			break;
		}
		free(line);
	}
	fm_same(want, action);
	if (action != NULL)
		FUZZ_ASSERT(strchr(action, '\n') == NULL &&
		    strlen(action) <= POLICY_LINE_MAX);
	/* one byte less is not yet a reply */
	FUZZ_ASSERT(milter_map_parse_reply(raw, used - 1, &action2, &used2,
	    &why) == PP_AGAIN);
	free(want);
	free(action);
}

static void
fm_misc(const char *s)
{
	char	*a, spec[ENDPOINT_TEXT_MAX + 16];	/* as milter.c */
	const char *c, *hint;
	struct endpoint ep, back;

	a = milter_map_client_addr(s);
	FUZZ_ASSERT(strlen(a) <= strlen(s));
	free(a);
	c = milter_map_client_name(s);
	FUZZ_ASSERT(c != NULL && *c != '\0' && *c != '[');
	c = milter_map_protocol(s);
	FUZZ_ASSERT(strcmp(c, "SMTP") == 0 || strcmp(c, "ESMTP") == 0);
	/* milter_listen as vrcpt-milter reads it (conf: CONF_T_MENDPOINT)
	 * and hands it to smfi_setconn() (milter.c setup) */
	if (endpoint_parse(s, ENDPOINT_ANY_HOST | ENDPOINT_MILTER, &ep,
	    &hint) < 0 || ep.kind == ENDPOINT_NONE)
		return;
	FUZZ_ASSERT(strlen(endpoint_milter_spec(&ep, spec, sizeof(spec))) <
	    sizeof(spec) - 1);
	FUZZ_ASSERT(strncmp(spec, "unix:/", 6) == 0 ||
	    strncmp(spec, "inet:", 5) == 0 ||
	    strncmp(spec, "inet6:", 6) == 0);
	/* libmilter's form is read back as the same endpoint */
	FUZZ_ASSERT(endpoint_parse(spec, ENDPOINT_ANY_HOST | ENDPOINT_MILTER,
	    &back, &hint) == 0);
	FUZZ_ASSERT(strcmp(back.text, ep.text) == 0);
}

int
FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t	 flags = fuzz_byte(&in);
	enum lookup_failure_action lfa = flags & 1 ? LFA_DUNNO : LFA_DEFER;
	char	*a1 = fuzz_str(&in), *a2 = fuzz_str(&in);
	char	*action = fuzz_str(&in), *raw;
	size_t	 rlen;

	raw = fuzz_bytes(&in, in.n, &rlen);
	fm_addr(a1);
	fm_addr(a2);
	fm_addr(action);
	fm_misc(a1);
	fm_escape(action);
	fm_escape(a1);
	fm_request(a1, a2, action, lfa, action);
	fm_request(a2, a1, a2, lfa, raw);
	fm_reply(raw, rlen);
	free(a1);
	free(a2);
	free(action);
	free(raw);
	return 0;
}
