/*
 * declog - Postfix-shaped decision log lines. See declog.h.
 *
 * Depends on: util/, core/addr.h (quoting), core/engine.h. No I/O.
 * Security: every field comes from the SMTP client through Postfix; all
 * of it passes str_sanitize() so that a hostile address cannot forge a
 * second log line or break a log parser.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "proto/declog.h"
#include "util/strutil.h"
#include "util/xalloc.h"

const char *
declog_field(char *dst, const char *src, bool utf8, char repl)
{
	size_t	 i;

	if (src == NULL)
		src = "";
	str_sanitize(dst, src, strlen(src), DECLOG_FIELD_MAX);
	if (!utf8)
		for (i = 0; dst[i] != '\0'; i++)
			if ((unsigned char)dst[i] >= 0x80)
				dst[i] = repl;
	return dst;
}

/* san - a field of the line outside the reply text */
#define san(dst, src)	declog_field((dst), (src), utf8, '?')

char *
declog_external(const char *addr)
{
	const char *at;
	char *local, *quoted, *out;

	if (*addr == '\0')
		return xstrdup("");
	/* Postfix quotes the local part only: everything before the last @ */
	at = strrchr(addr, '@');
	local = at ? xstrndup(addr, (size_t)(at - addr)) : xstrdup(addr);
	quoted = addr_quote_local(local);
	out = xasprintf("%s%s", quoted, at ? at : "");
	free(local);
	free(quoted);
	return out;
}

void
declog_format(struct buf *out, const struct policy_req *pr,
    const struct verdict *v, const char *lookup, uint64_t delay_us,
    bool utf8)
{
	char f1[DECLOG_FIELD_MAX + 4], f2[DECLOG_FIELD_MAX + 4];
	const char *whatsup;
	char *ext;
	bool rejects = v->code != 0;
	size_t start = out->len;

	if (rejects)
		whatsup = v->warn_only ? "reject_warning" : "reject";
	else if (v->kind == VERDICT_NOT_HANDLED)
		whatsup = "pass";
	else
		whatsup = "permit";

	buf_printf(out, "%s: %s: RCPT from %s",
	    pr->queue_id && *pr->queue_id ? san(f1, pr->queue_id) : "NOQUEUE",
	    whatsup, san(f2, pr->client_name && *pr->client_name ?
	    pr->client_name : "unknown"));
	buf_printf(out, "[%s]: ", san(f1, pr->client_address));
	if (rejects)
		/* smtpd_check_reject(): printable(reply, ' ') */
		buf_printf(out, "%u %s <%s>: Recipient address rejected: %s;",
		    v->code, v->dsn, declog_field(f1, pr->recipient, utf8,
		    ' '), v->text);
	else if (v->kind == VERDICT_NOT_HANDLED)
		buf_printf(out, "<%s>: domain not handled here, action=%s;",
		    san(f1, pr->recipient), v->action);
	else
		buf_printf(out, "<%s>: recipient exists;",
		    san(f1, pr->recipient));
	ext = declog_external(pr->sender ? pr->sender : "");
	buf_printf(out, " from=<%s>", san(f1, ext));
	free(ext);
	ext = declog_external(pr->recipient ? pr->recipient : "");
	buf_printf(out, " to=<%s>", san(f1, ext));
	free(ext);
	if (pr->protocol_name && *pr->protocol_name)
		buf_printf(out, " proto=%s", san(f1, pr->protocol_name));
	if (pr->helo_name && *pr->helo_name)
		buf_printf(out, " helo=<%s>", san(f1, pr->helo_name));
	if (pr->sasl_username && *pr->sasl_username)
		buf_printf(out, " sasl_username=%s",
		    san(f1, pr->sasl_username));
	if (pr->instance && *pr->instance)
		buf_printf(out, " instance=%s", san(f1, pr->instance));
	buf_printf(out, " lookup=%s delay=%" PRIu64 ".%02" PRIu64 "ms",
	    lookup, delay_us / 1000, (delay_us % 1000) / 10);
	/* Postfix: "%.*s" with MSG_SYSLOG_RECLEN, bytes, UTF-8 or not */
	if (out->len - start > DECLOG_LINE_MAX) {
		out->len = start + DECLOG_LINE_MAX;
		out->data[out->len] = '\0';
	}
}
