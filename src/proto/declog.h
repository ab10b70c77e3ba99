#ifndef VRCPT_DECLOG_H
#define VRCPT_DECLOG_H
/*
 * declog - the log line of one decision, shaped like Postfix's own
 * smtpd_check.c log_whatsup() line so that it joins with it and reads
 * the same:
 *
 *   NOQUEUE: reject: RCPT from NAME[ADDR]: 550 5.1.1 <RCPT>: Recipient
 *   address rejected: User unknown in virtual mailbox table;
 *   from=<SENDER> to=<RCPT> proto=ESMTP helo=<HELO> instance=I
 *   lookup=db delay=0.84ms
 *
 * "reject" becomes "reject_warning" under warn_if_reject. Accepts (only
 * logged with log_level >= 1) use "permit" with the text "recipient
 * exists" and other-domain answers "pass" ... neither matches the
 * reject patterns of pflogsumm, logwatch or fail2ban. The <RCPT> of the
 * reply text is the internal form as Postfix prints it; to= and from=
 * use the external (quoted) form, as Postfix 3.5+ info_log_address_format
 * = external does. Every untrusted field is sanitised.
 *
 * Depends on: util/, core/, proto/policy.h. No I/O.
 */
#include <stdbool.h>
#include <stdint.h>

#include "core/engine.h"
#include "proto/policy.h"
#include "util/buf.h"

#define DECLOG_FIELD_MAX	2048	/* bytes of one untrusted field: a
					 * whole RCPT line (line_length_limit),
					 * so that the line is cut only where
					 * Postfix cuts its own */
#define DECLOG_LINE_MAX		2000	/* bytes of one line: Postfix
					 * msg_syslog.c MSG_SYSLOG_RECLEN,
					 * msg_logger.c MSG_LOGGER_RECLEN */

/*
 * declog_format - append the line (without newline) for verdict v of
 * request pr to out. lookup names the source that decided ("db",
 * "cache", "pure", "timeout"); delay_us is the time the decision took.
 * utf8 is smtputf8_enable: without it, Postfix's printable() keeps no
 * byte above 0x7f (a space in the reply text, '?' in the rest of the
 * line), and neither does this. Like Postfix's own, a line longer than
 * DECLOG_LINE_MAX bytes is cut there (so the extras go first, and a cut
 * line still equals Postfix's).
 */
void	declog_format(struct buf *out, const struct policy_req *pr,
	    const struct verdict *v, const char *lookup, uint64_t delay_us,
	    bool utf8);

/*
 * declog_field - untrusted text as a log field, into dst (DECLOG_FIELD_MAX
 * + 4 bytes; returns dst): str_sanitize() with utf8; without it, as
 * str_sanitize() but with every byte above 0x7f replaced by repl too
 * (Postfix printable() with util_utf8_enable off: ' ' for reply text,
 * '?' for the rest of a log line).
 */
const char *declog_field(char *dst, const char *src, bool utf8, char repl);

/*
 * declog_external - the external (RFC 822 quoted) form of an address as
 * Postfix logs it in to=<> and from=<>; caller frees.
 */
char	*declog_external(const char *addr);

#endif
