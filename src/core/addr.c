/*
 * addr - a recipient address and the lookup keys Postfix derives from it.
 *
 * Reproduces, for one address, what smtpd's check_rcpt_maps() feeds to
 * mail_addr_find(): the resolver's trailing-dot removal
 * (trivial-rewrite/resolve.c: resolve_addr), the case folding of the
 * whole address (smtpd/smtpd_resolve.c: resolve_pagein, casefold()), the
 * extension split (global/split_addr.c: split_addr_internal, via
 * global/strip_addr.c: strip_addr_internal) and the key order with
 * quoted and unquoted forms (global/mail_addr_find.c: mail_addr_find_opt,
 * find_addr, with MA_FIND_DEFAULT and MA_FORM_EXTERNAL_FIRST).
 *
 * Depends on: util/ (xalloc, strutil). No I/O, no project state.
 *
 * Security: the input is the RCPT TO address of an untrusted SMTP client.
 * Its length is bounded (ADDR_MAX) before anything is copied, CR/LF are
 * refused, and every key is built in a fresh allocation sized from its
 * parts, so no input can overrun a buffer. Keys are later passed to SQL
 * as parameters only, never pasted into a statement.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/addr.h"
#include "util/strutil.h"
#include "util/xalloc.h"

/* local parts that split_addr_internal() never splits */
#define ADDR_POSTMASTER		"postmaster"
#define ADDR_MAILER_DAEMON	"mailer-daemon"
/* owner_request_special: owner-foo and foo-request are not split */
#define ADDR_OWNER_PREFIX	"owner-"
#define ADDR_REQUEST_SUFFIX	"-request"

/*
 * addr_is_dot_string - the local part (bytes [s, end)) is an RFC 822
 * dot-string and needs no quotes. Mirrors quote_822_local.c:
 * is_822_dot_string() with QUOTE_FLAG_8BITCLEAN (QUOTE_FLAG_DEFAULT):
 * 8-bit bytes (UTF-8) are left alone.
 */
static bool
addr_is_dot_string(const char *s, const char *end)
{
	const char *cp;
	unsigned char ch;

	if (s == end || *s == '.')
		return false;
	for (cp = s; cp < end; cp++) {
		ch = (unsigned char)*cp;
		if (ch == '.' && cp + 1 < end && cp[1] == '.')
			return false;
		if (ch == ' ' || ch < 0x20 || ch == 0x7f)
			return false;
		if (strchr("()<>@,;:\\\"[]", ch) != NULL)
			return false;
	}
	return cp[-1] != '.';
}

char *
addr_quote_local(const char *local)
{
	const char *start, *colon, *cp;
	char	*out, *op;
	size_t	 len;

	/*
	 * quote_822_local_flags() skips a source route ("@a,@b:") before
	 * the local part and leaves it unquoted.
	 */
	start = local;
	if (local[0] == '@' && (colon = strchr(local, ':')) != NULL)
		start = colon + 1;
	len = strlen(local);
	if (addr_is_dot_string(start, local + len))
		return xstrdup(local);

	/* worst case: every byte escaped, two quotes, NUL */
	out = xmalloc(2 * len + 3);
	memcpy(out, local, (size_t)(start - local));
	op = out + (start - local);
	*op++ = '"';
	for (cp = start; *cp != '\0'; cp++) {
		/* make_822_quoted_string(): escape '"', '\\' and CR */
		if (*cp == '"' || *cp == '\\' || *cp == '\r')
			*op++ = '\\';
		*op++ = *cp;
	}
	*op++ = '"';
	*op = '\0';
	return out;
}

/*
 * addr_split - the position of the extension delimiter in the folded
 * local part, or NULL when Postfix would not split it
 * (split_addr.c: split_addr_internal).
 */
static const char *
addr_split(const char *local, const struct addr_opts *opts)
{
	const char *delim = opts->recipient_delimiter;
	char	*dbl;
	size_t	 len, n;
	bool	 same;

	if (delim == NULL || *delim == '\0')
		return NULL;

	/* never split these, whatever the delimiter */
	if (strcasecmp(local, ADDR_POSTMASTER) == 0 ||
	    strcasecmp(local, ADDR_MAILER_DAEMON) == 0)
		return NULL;
	if (opts->double_bounce_sender != NULL &&
	    *opts->double_bounce_sender != '\0') {
		/* strcasecmp_utf8() in Postfix: compare the folded forms */
		dbl = str_fold_utf8(opts->double_bounce_sender);
		same = strcmp(local, dbl) == 0;
		free(dbl);
		if (same)
			return NULL;
	}

	/*
	 * Backwards compatibility: owner-foo and foo-request are not split
	 * when '-' is a delimiter. "-request" needs at least one byte before
	 * it (strlen - 8 > 0), "owner-" matches as a plain prefix.
	 */
	if (strchr(delim, '-') != NULL && opts->owner_request_special) {
		len = strlen(local);
		if (strncasecmp(local, ADDR_OWNER_PREFIX,
		    strlen(ADDR_OWNER_PREFIX)) == 0)
			return NULL;
		if (len > strlen(ADDR_REQUEST_SUFFIX) &&
		    strcasecmp(local + len - strlen(ADDR_REQUEST_SUFFIX),
		    ADDR_REQUEST_SUFFIX) == 0)
			return NULL;
	}

	/*
	 * Split at the first byte of the local part that is any member of
	 * the delimiter set; not when that leaves an empty local part.
	 */
	n = strcspn(local, delim);
	if (n == 0 || local[n] == '\0')
		return NULL;
	return local + n;
}

/*
 * addr_add_keys - append the key(s) for one local part: the quoted
 * (external) form first, then the unquoted form if it differs
 * (mail_addr_find.c: find_addr with MA_FORM_EXTERNAL_FIRST).
 */
static void
addr_add_keys(struct addr *a, const char *local, enum addr_key_kind kind)
{
	char	*quoted, *ext, *in;

	in = xasprintf("%s@%s", local, a->domain);
	quoted = addr_quote_local(local);
	if (strcmp(quoted, local) != 0) {
		ext = xasprintf("%s@%s", quoted, a->domain);
		a->keys[a->nkeys].key = ext;
		a->keys[a->nkeys].kind = kind;
		a->keys[a->nkeys].quoted = true;
		a->nkeys++;
	}
	free(quoted);
	a->keys[a->nkeys].key = in;
	a->keys[a->nkeys].kind = kind;
	a->keys[a->nkeys].quoted = false;
	a->nkeys++;
}

int
addr_parse(const char *recipient, const struct addr_opts *opts,
    struct addr *a, const char **error_r)
{
	const char *delim;
	char	*at, *bare;
	size_t	 len;

	memset(a, 0, sizeof(*a));
	if (recipient == NULL || *recipient == '\0') {
		*error_r = "empty recipient address";
		return -1;
	}
	if (strnlen(recipient, ADDR_MAX + 1) > ADDR_MAX) {
		*error_r = "recipient address too long";
		return -1;
	}
	if (strpbrk(recipient, "\r\n") != NULL) {
		*error_r = "recipient address contains CR or LF";
		return -1;
	}

	a->orig = xstrdup(recipient);
	a->folded = str_fold_utf8(recipient);

	/*
	 * resolve_addr(): strip one trailing dot at the end of the domain,
	 * "but not dot-dot or at-dot".
	 */
	len = strlen(a->folded);
	at = strrchr(a->folded, '@');
	if (at != NULL && len >= 2 && a->folded + len - 1 > at &&
	    a->folded[len - 1] == '.' && a->folded[len - 2] != '.' &&
	    a->folded[len - 2] != '@')
		a->folded[--len] = '\0';

	if (at != NULL) {
		a->has_domain = true;
		a->local = xstrndup(a->folded, (size_t)(at - a->folded));
		a->domain = xstrdup(at + 1);
	} else {
		a->local = xstrdup(a->folded);
		a->domain = xstrdup("");
	}
	/* resolve_addr(): a domain that starts with '[' is an address */
	a->ip_literal = a->domain[0] == '[';

	if ((delim = addr_split(a->local, opts)) != NULL)
		a->extension = xstrdup(delim + 1);

	/* keys only for user@domain; nothing is looked up otherwise */
	if (!a->has_domain || a->domain[0] == '\0')
		return 0;

	/* ADDR_KEYS_MAX covers 2 + 2 + 1 keys */
	addr_add_keys(a, a->local, ADDR_KEY_FULL);
	if (a->extension != NULL) {
		bare = xstrndup(a->local, (size_t)(delim - a->local));
		addr_add_keys(a, bare, ADDR_KEY_NOEXT);
		free(bare);
	}

	/*
	 * mail_addr_find_opt() looks up "@domain" with a plain maps_find():
	 * one form only, never quoted.
	 */
	a->keys[a->nkeys].key = xasprintf("@%s", a->domain);
	a->keys[a->nkeys].kind = ADDR_KEY_DOMAIN;
	a->keys[a->nkeys].quoted = false;
	a->nkeys++;
	return 0;
}

void
addr_free(struct addr *a)
{
	size_t	 i;

	for (i = 0; i < a->nkeys; i++)
		free(a->keys[i].key);
	free(a->orig);
	free(a->folded);
	free(a->local);
	free(a->domain);
	free(a->extension);
	memset(a, 0, sizeof(*a));
}

bool
addr_is_bare_postmaster(const struct addr *a)
{
	/* smtpd_check_rcpt(): strcasecmp(recipient, "postmaster") == 0 */
	return a->orig != NULL && strcasecmp(a->orig, ADDR_POSTMASTER) == 0;
}

bool
addr_plain(const char *s, size_t len, const char *delims)
{
	const char *at = NULL;
	size_t	 i;
	char	 c, prev = '.';

	if (len == 0 || len > ADDR_PLAIN_MAX)
		return false;
	for (i = 0; i < len; i++) {
		c = s[i];
		if (c == '@') {
			if (at != NULL || prev == '.')
				return false;
			at = s + i;
			prev = c;
			continue;
		}
		if (at == NULL) {
			/* RFC 5322 atext, and dots between atoms */
			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			    (c != '\0' && strchr(ADDR_PLAIN_ATEXT, c) != NULL)))
				return false;
			if (c == '.' && prev == '.')
				return false;
			if (delims != NULL && c != '\0' &&
			    strchr(delims, c) != NULL)
				return false;
		} else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '-' || c == '_')) {
			return false;
		}
		prev = c;
	}
	/* a domain, not ending in a dot (one would be removed) */
	return at != NULL && at + 1 < s + len && s[len - 1] != '.';
}
