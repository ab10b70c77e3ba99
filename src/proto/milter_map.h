#ifndef VRCPT_MILTER_MAP_H
#define VRCPT_MILTER_MAP_H
/*
 * milter_map - the pure half of vrcpt-milter: from what a milter is told
 * (xxfi_connect, xxfi_helo, xxfi_envfrom, xxfi_envrcpt arguments and
 * macros) to a Postfix policy request for vrcptd, and from vrcptd's
 * policy action back to a milter verdict whose smfi_setreply() text
 * makes the SMTP client see what native Postfix smtpd would have sent.
 *
 * Postfix calls milters at RCPT only after its own restrictions have
 * passed (smtpd.c rcpt_cmd), so every action that would merely run
 * another Postfix restriction ("DUNNO", "OK", "reject_unlisted_recipient",
 * "reject_unauth_destination", ...) means "continue" here. Replies:
 *
 *   "550 5.1.1 text"  -> reject,   550 5.1.1 "<R>: Recipient address
 *                        rejected: text"       (smtpd_check.c
 *                        check_table_result with reply class
 *                        "Recipient address")
 *   "450 4.x.y text"  -> tempfail, same shape
 *   "451 4.3.0 Temporary lookup failure"
 *                     -> tempfail, 451 4.3.0 "<R>: Temporary lookup
 *                        failure" (the native reject_dict_retry text)
 *   no answer, or an answer we cannot use
 *                     -> lookup_failure_action: defer (as the line
 *                        above) or dunno (continue)
 *
 * R is the recipient in Postfix's internal form (milter_map_addr()).
 *
 * Depends on: util/, core/engine.h (lookup_failure_action, verdict),
 * proto/policy.h, proto/declog.h. No I/O, no libmilter.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/engine.h"
#include "proto/policy.h"
#include "util/buf.h"

#define MILTER_REPLY_MAX	980	/* libmilter MAXREPLYLEN: longest
					 * smfi_setreply() message */
#define MILTER_SMTP_REPLY_MAX	510	/* "NNN x.y.z text": where Postfix
					 * smtpd_check_reject() means to cut;
					 * it does not (vstring_truncate()
					 * without VSTRING_TERMINATE, 3.7 to
					 * 3.12): no longer applied */
#define MILTER_RCODE_LEN	3	/* "550" */
#define MILTER_XCODE_MAX	9	/* "5.999.999" (RFC 3463) */
#define MILTER_DETAIL_MAX	ENGINE_ACTION_MAX	/* text after "Recipient
					 * address rejected: " */
#define MILTER_INSTANCE_MAX	64	/* an instance attribute */

/* what to tell the MTA */
enum milter_decision {
	MILTER_CONTINUE,	/* SMFIS_CONTINUE */
	MILTER_REJECT,		/* SMFIS_REJECT with a 5xx reply */
	MILTER_TEMPFAIL		/* SMFIS_TEMPFAIL with a 4xx reply */
};

/* why: an answer from vrcptd, or lookup_failure_action and the reason */
enum milter_cause {
	MILTER_CAUSE_ACTION,		/* vrcptd answered: its action */
	MILTER_CAUSE_UNREACHABLE,	/* no answer (connect, I/O, timeout) */
	MILTER_CAUSE_BAD_ACTION,	/* an answer we could not use */
	MILTER_CAUSE_BAD_REQUEST	/* the request could not be sent
					 * (CR/LF in a value, too long) */
};

struct milter_outcome {
	enum milter_decision decision;
	enum milter_cause cause;
	/* reject/tempfail only ("", 0 for MILTER_CONTINUE): */
	unsigned code;				/* 550 */
	char	 rcode[MILTER_RCODE_LEN + 1];	/* "550" */
	char	 xcode[MILTER_XCODE_MAX + 1];	/* "5.1.1" */
	/* the reply text after "rcode xcode " exactly as the SMTP client
	 * must see it: "<R>: Recipient address rejected: ..." or, for the
	 * native lookup failure, "<R>: Temporary lookup failure". Whole,
	 * as Postfix sends it, up to the MILTER_REPLY_MAX bytes libmilter
	 * can pass on (cut between UTF-8 sequences), and printable
	 * (controls became spaces, as Postfix printable()). */
	char	 text[MILTER_REPLY_MAX + 1];
	/* the part after "Recipient address rejected: " (for the log) */
	char	 detail[MILTER_DETAIL_MAX];
	bool	 native;	/* text has no "Recipient address rejected:" */
	bool	 bare;		/* nor the recipient: "Server configuration
				 * error" (smtpd reject_server_error) */
	/* vrcptd's action, made printable ("" when none came) */
	char	 action[MILTER_DETAIL_MAX];
};

/*
 * What the milter knows when a RCPT arrives. Every field is borrowed and
 * may be NULL (unknown). hostaddr is the xxfi_connect address already
 * turned into text (inet_ntop), NULL when libmilter gave none.
 */
struct milter_env {
	const char *hostname;		/* xxfi_connect hostname */
	const char *hostaddr;		/* xxfi_connect address, as text */
	const char *mac_client_addr;	/* {client_addr} */
	const char *mac_client_name;	/* {client_name} */
	const char *helo;		/* xxfi_helo argument */
	const char *envfrom;		/* xxfi_envfrom argv[0], raw */
	const char *envrcpt;		/* xxfi_envrcpt argv[0], raw */
	const char *mac_protocol;	/* Sendmail's "r" macro */
	const char *mac_queue_id;	/* "i" */
	const char *mac_auth_authen;	/* {auth_authen} */
	const char *instance;		/* milter_map_instance() */
};

/*
 * milter_map_set_utf8 - the MTA's smtputf8_enable (default yes): the
 * reply and log texts are made printable as Postfix's printable() does
 * with util_utf8_enable on or off. Set once at start-up, before any
 * other call (it is read by every thread).
 */
void	milter_map_set_utf8(bool on);

/*
 * milter_map_addr - the internal form of an envelope address argument,
 * as Postfix smtpd extract_addr() makes it: one pair of enclosing <>
 * removed, a source route "@a,@b:" dropped, quoted strings unquoted and
 * backslash escapes resolved (tok822 internalize), white space and
 * comments outside quotes dropped, case kept. "<>" gives "". Never NULL;
 * the caller frees.
 */
char	*milter_map_addr(const char *arg);

/*
 * milter_map_client_addr - the client address as Postfix's policy
 * client_address attribute writes it: "IPv6:" (the {client_addr} macro
 * form) and "[]" removed, an IPv4-mapped IPv6 address as IPv4. NULL
 * gives "". The caller frees.
 */
char	*milter_map_client_addr(const char *s);

/*
 * milter_map_client_name - the verified client name: NULL, "" and
 * Sendmail's "[a.b.c.d]" (no name) become "unknown". Returns s or a
 * static string.
 */
const char *milter_map_client_name(const char *s);

/* milter_map_protocol - "SMTP" or "ESMTP" from Sendmail's "r" macro
 * ("ESMTPSA" -> "ESMTP"); unknown or NULL -> "ESMTP" */
const char *milter_map_protocol(const char *r);

/*
 * milter_map_instance - a stable instance attribute for one message:
 * process, connection and message numbers in hex ("%x.%lx.%lx"), into
 * buf (MILTER_INSTANCE_MAX bytes). Returns buf.
 */
char	*milter_map_instance(char buf[MILTER_INSTANCE_MAX], unsigned pid,
	    unsigned long conn, unsigned long msg);

/*
 * milter_map_request - fill *pr (zeroed or reused; policy_req_free())
 * for protocol_state RCPT from env. client_name/client_address prefer
 * the xxfi_connect arguments over the macros.
 */
void	milter_map_request(const struct milter_env *env,
	    struct policy_req *pr);

/*
 * milter_map_format_request - append the policy request (name=value
 * lines, request=smtpd_access_policy first, the empty line last). A value
 * that holds CR or LF, or a line longer than POLICY_LINE_MAX, cannot be
 * sent without changing its meaning: -1 and nothing appended (the caller
 * applies lookup_failure_action). -1 too when out reaches its max.
 */
int	milter_map_format_request(struct buf *out, const struct policy_req *pr);

/*
 * milter_map_parse_reply - one policy server reply from buf[0..len):
 * "name=value" lines ending with an empty line; a "\r" before "\n" is
 * tolerated. PP_DONE: *action_r is the value of the first "action"
 * attribute (caller frees), or NULL when there was none (other
 * attributes are ignored); *consumed_r counts the bytes used. PP_AGAIN:
 * need more. PP_ERROR: *why_r (the limits of policy.h apply, checked on
 * partial input too). Nothing is allocated unless PP_DONE.
 */
enum pp_status milter_map_parse_reply(const char *buf, size_t len,
	    char **action_r, size_t *consumed_r, enum pp_error *why_r);

/*
 * milter_map_action - the outcome for a policy action from vrcptd about
 * recipient rcpt (internal form), in the order of smtpd_check.c
 * check_table_result(): DUNNO, OK, RELAY, all digits and lower-case
 * restriction names continue; REJECT, DEFER, DEFER_IF_PERMIT and
 * "[45]NN [x.y.z] text" reply (Postfix's default codes and DSNs, the DSN
 * fixed for the recipient class and given the code's class). Anything
 * else (HOLD, a table, garbage, "") is MILTER_CAUSE_BAD_ACTION and gets
 * lfa.
 */
void	milter_map_action(const char *action, const char *rcpt,
	    enum lookup_failure_action lfa, struct milter_outcome *o);

/*
 * milter_map_failure - the outcome when vrcptd gave no usable answer:
 * LFA_DEFER -> tempfail 451 4.3.0 "<rcpt>: Temporary lookup failure",
 * LFA_DUNNO -> continue. cause is recorded (never MILTER_CAUSE_ACTION).
 */
void	milter_map_failure(enum milter_cause cause, const char *rcpt,
	    enum lookup_failure_action lfa, struct milter_outcome *o);

/*
 * milter_map_escape - text for smfi_setreply(): '%' doubled (the MTA
 * turns "%%" back into '%'), cut at MILTER_REPLY_MAX bytes without
 * splitting a "%%" pair or a UTF-8 sequence. -1 if text holds CR or LF
 * (libmilter would refuse it, and it must never reach the SMTP stream).
 * out must hold MILTER_REPLY_MAX + 1 bytes.
 */
int	milter_map_escape(const char *text, char out[MILTER_REPLY_MAX + 1]);

/*
 * milter_map_log_line - append the Postfix-shaped log line (declog) for
 * the outcome of request pr, e.g.
 *   NOQUEUE: reject: RCPT from h[a]: 550 5.1.1 <r>: Recipient address
 *   rejected: User unknown in virtual mailbox table; from=<s> to=<r>
 *   proto=ESMTP helo=<h> instance=... lookup=LOOKUP delay=...
 * For a native outcome the reply reads "<r>: Temporary lookup failure",
 * as smtpd logs it. A continue outcome gives declog's "permit" line.
 */
void	milter_map_log_line(struct buf *out, const struct policy_req *pr,
	    const struct milter_outcome *o, const char *lookup,
	    uint64_t delay_us);

const char *milter_decision_name(enum milter_decision d); /* "reject", ..*/
const char *milter_cause_name(enum milter_cause c);

#endif
