#ifndef VRCPT_ADDR_H
#define VRCPT_ADDR_H
/*
 * addr - a recipient address and the lookup keys Postfix derives from it.
 *
 * Input is the "recipient" policy attribute: Postfix's internal form of
 * the RCPT TO address (unquoted, case kept, no <>). From it come:
 *   - the folded address: lower-cased (UTF-8 aware, as Postfix 3.8+
 *     casefold()), one trailing dot of the domain removed;
 *   - the domain used for the class decision (exact match, no parents);
 *   - the ordered key list of Postfix mail_addr_find() for a virtual or
 *     relay domain: user+ext@domain, user@domain (only with an
 *     extension), @domain; each key in its quoted (external, RFC 822)
 *     form first, then unquoted when that differs (MA_FORM_EXTERNAL_FIRST).
 *
 * The extension split follows split_addr.c: at the first character of
 * recipient_delimiter found in the local part; never for postmaster,
 * MAILER-DAEMON or the double-bounce local part; never for owner-* and
 * *-request when owner_request_special is on and '-' is a delimiter;
 * never when it would leave an empty local part.
 *
 * Depends on: util/. No I/O.
 */
#include <stdbool.h>
#include <stddef.h>

#define ADDR_MAX	2048	/* longest recipient accepted, bytes */
#define ADDR_KEYS_MAX	8	/* keys one address can produce */
#define ADDR_PLAIN_MAX	1024	/* addr_plain(): CACHEFMT_KEY_MAX */
#define ADDR_PLAIN_ATEXT "!#$%&'*+/=?^_`{|}~.-"	/* besides a-z 0-9 */

enum addr_key_kind {
	ADDR_KEY_FULL,		/* user+ext@domain */
	ADDR_KEY_NOEXT,		/* user@domain (extension removed) */
	ADDR_KEY_DOMAIN		/* @domain (catch-all) */
};

struct addr_key {
	char	*key;		/* the lookup string */
	enum addr_key_kind kind;
	bool	 quoted;	/* the external (quoted) form */
};

struct addr {
	char	*orig;		/* as received */
	char	*folded;	/* lower-cased, trailing dot removed */
	char	*local;		/* folded local part, internal form */
	char	*domain;	/* folded domain, no trailing dot; "" if none */
	char	*extension;	/* NULL when not split; else text after the
				 * delimiter (may be "") */
	bool	 has_domain;	/* the address contains '@' */
	bool	 ip_literal;	/* domain is [a.b.c.d] or [ipv6:...] */
	struct addr_key keys[ADDR_KEYS_MAX];
	size_t	 nkeys;
};

/* how to split extensions: Postfix main.cf parameters */
struct addr_opts {
	const char *recipient_delimiter;	/* "" = no extensions */
	bool	 owner_request_special;		/* default yes */
	const char *double_bounce_sender;	/* default "double-bounce" */
};

/*
 * addr_parse - analyse a recipient. Returns 0, or -1 with *error_r (a
 * static string) for input no valid RCPT can produce: empty, longer
 * than ADDR_MAX, containing NUL, CR or LF. The caller frees with
 * addr_free().
 */
int	addr_parse(const char *recipient, const struct addr_opts *opts,
	    struct addr *a, const char **error_r);
void	addr_free(struct addr *a);

/*
 * addr_quote_local - the RFC 822 external form of an internal local part
 * (Postfix quote_822_local.c): quoted when it has specials, spaces,
 * leading/trailing/double dots or is empty. Caller frees.
 */
char	*addr_quote_local(const char *local);

/*
 * addr_plain - s[0..len) is a recipient in plain form: lower-case ASCII,
 * one '@', a local part that needs no quoting (RFC 5322 atext and
 * single dots between atoms) and holds no character of delims (may be
 * NULL), a domain of letters, digits, '.', '-', '_' without a trailing
 * dot, at most CACHEFMT_KEY_MAX bytes. Such an address is its own folded
 * form, is never split at an extension, and its only lookup keys are
 * itself, "@domain" and "domain".
 */
bool	addr_plain(const char *s, size_t len, const char *delims);

/* addr_is_postmaster - bare "postmaster" (any case), no domain */
bool	addr_is_bare_postmaster(const struct addr *a);

#endif
