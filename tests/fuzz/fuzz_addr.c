/*
 * fuzz_addr - libFuzzer target for recipient analysis (core/addr.c):
 * addr_parse() with its extension split and lookup key list, and
 * addr_quote_local().
 *
 *   make fuzz FUZZ_TARGETS=addr	(build/fuzz/fuzz_addr)
 *
 * Input: one byte of switches (bit 0 owner_request_special, bit 1 no
 * double_bounce_sender, bit 2 smtputf8_enable = no), then NUL-separated fields (fuzz.h):
 * recipient_delimiter, double_bounce_sender, the recipient.
 *
 * Invariants (a violation aborts):
 *   - refused exactly when empty, longer than ADDR_MAX or holding CR/LF;
 *   - local@domain is the folded address split at its last '@', the
 *     folded address is the recipient lower-cased with at most one
 *     trailing dot gone, at most twice as long;
 *   - an extension starts right after the first delimiter byte of the
 *     local part, which is not its first byte;
 *   - keys exist only for user@domain: full (quoted form first when it
 *     differs), then without the extension, then "@domain" last; every
 *     key ends in "@domain", so that cachefmt_key_domain() (the "d:"
 *     invalidation) finds that domain in it; at most ADDR_KEYS_MAX;
 *   - an address addr_plain() accepts is its own folded form, is not
 *     split, and has exactly the keys itself and "@domain";
 *   - addr_quote_local() leaves a dot-string alone and otherwise quotes
 *     so that unquoting gives the local part back.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/addr.h"
#include "core/cachefmt.h"
#include "fuzz.h"
#include "util/strutil.h"
#include "util/xalloc.h"

/* fa_unquote - RFC 822 quoted-string contents, backslashes resolved */
static char *
fa_unquote(const char *q, size_t len)
{
	char	*out = xmalloc(len + 1), *op = out;
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (q[i] == '\\' && i + 1 < len)
			i++;
		*op++ = q[i];
	}
	*op = '\0';
	return out;
}

static void
fa_quote(const char *local)
{
	char	*q = addr_quote_local(local), *back;
	const char *start = q, *colon;
	size_t	 qlen = strlen(q), plen = 0;

	FUZZ_ASSERT(qlen <= 2 * strlen(local) + 2);
	if (strcmp(q, local) == 0) {
		/* unquoted: nothing in it needs quotes */
		if (local[0] == '@' && (colon = strchr(local, ':')) != NULL)
			start = colon + 1;
		FUZZ_ASSERT(*start != '\0' && *start != '.');
		FUZZ_ASSERT(strpbrk(start, "()<>@,;:\\\"[] ") == NULL);
		FUZZ_ASSERT(strstr(start, "..") == NULL);
		FUZZ_ASSERT(start[strlen(start) - 1] != '.');
		free(q);
		return;
	}
	/* a source route stays in front, unquoted */
	if (local[0] == '@' && (colon = strchr(local, ':')) != NULL) {
		plen = (size_t)(colon + 1 - local);
		FUZZ_ASSERT(strncmp(q, local, plen) == 0);
	}
	FUZZ_ASSERT(qlen >= plen + 2 && q[plen] == '"' && q[qlen - 1] == '"');
	back = fa_unquote(q + plen + 1, qlen - plen - 2);
	FUZZ_ASSERT(strcmp(back, local + plen) == 0);
	free(back);
	free(q);
}

static void
fa_keys(const struct addr *a, const char *delim)
{
	size_t	 i, dlen = strlen(a->domain), klen, off, len;
	char	*unq, *ext_key;
	const struct addr_key *k;
	bool	 seen_noext = false;

	if (!a->has_domain || a->domain[0] == '\0') {
		FUZZ_ASSERT(a->nkeys == 0);
		return;
	}
	FUZZ_ASSERT(a->nkeys >= 2 && a->nkeys <= ADDR_KEYS_MAX);
	FUZZ_ASSERT(a->nkeys <= 5);
	for (i = 0; i < a->nkeys; i++) {
		k = &a->keys[i];
		klen = strlen(k->key);
		FUZZ_ASSERT(klen > dlen && k->key[klen - dlen - 1] == '@' &&
		    strcmp(k->key + klen - dlen, a->domain) == 0);
		cachefmt_key_domain(k->key, klen, &off, &len);
		FUZZ_ASSERT(len == dlen && off == klen - dlen);
		switch (k->kind) {
		case ADDR_KEY_FULL:
			FUZZ_ASSERT(!seen_noext);
			break;
		case ADDR_KEY_NOEXT:
			FUZZ_ASSERT(a->extension != NULL);
			seen_noext = true;
			break;
		case ADDR_KEY_DOMAIN:
			/* "@domain", last, never quoted */
			FUZZ_ASSERT(i == a->nkeys - 1 && !k->quoted &&
			    klen == dlen + 1);
			break;
		}
		if (k->quoted) {
			/* the quoted form first, then the plain one */
			FUZZ_ASSERT(i + 1 < a->nkeys &&
			    a->keys[i + 1].kind == k->kind &&
			    !a->keys[i + 1].quoted &&
			    strcmp(k->key, a->keys[i + 1].key) != 0);
		}
	}
	FUZZ_ASSERT(a->keys[a->nkeys - 1].kind == ADDR_KEY_DOMAIN);
	/* the first plain key is local@domain */
	k = &a->keys[a->keys[0].quoted ? 1 : 0];
	FUZZ_ASSERT(k->kind == ADDR_KEY_FULL && !k->quoted);
	ext_key = xasprintf("%s@%s", a->local, a->domain);
	FUZZ_ASSERT(strcmp(k->key, ext_key) == 0);
	free(ext_key);
	if (a->keys[0].quoted) {
		unq = addr_quote_local(a->local);
		ext_key = xasprintf("%s@%s", unq, a->domain);
		FUZZ_ASSERT(strcmp(a->keys[0].key, ext_key) == 0);
		free(ext_key);
		free(unq);
	}
	(void)delim;
}

static void
fa_parse(const char *rcpt, const struct addr_opts *o)
{
	struct addr a;
	const char *err = NULL, *at;
	size_t	 len = strlen(rcpt), flen, n;
	char	*fold;

	if (addr_parse(rcpt, o, &a, &err) < 0) {
		FUZZ_ASSERT(err != NULL && *err != '\0');
		FUZZ_ASSERT(len == 0 || len > ADDR_MAX ||
		    strpbrk(rcpt, "\r\n") != NULL);
		addr_free(&a);
		return;
	}
	FUZZ_ASSERT(len > 0 && len <= ADDR_MAX &&
	    strpbrk(rcpt, "\r\n") == NULL);
	FUZZ_ASSERT(strcmp(a.orig, rcpt) == 0);
	fold = str_casefold(rcpt, o->utf8);
	flen = strlen(a.folded);
	/* a code point folds to at most three, each of up to 4 bytes */
	FUZZ_ASSERT(strlen(fold) <= 12 * len);
	/* the folded form, maybe without one trailing dot of the domain */
	FUZZ_ASSERT(strncmp(fold, a.folded, flen) == 0 &&
	    (fold[flen] == '\0' || (fold[flen] == '.' &&
	    fold[flen + 1] == '\0')));
	free(fold);
	at = strrchr(a.folded, '@');
	FUZZ_ASSERT(a.has_domain == (at != NULL));
	if (at != NULL) {
		FUZZ_ASSERT(strlen(a.local) == (size_t)(at - a.folded) &&
		    strncmp(a.local, a.folded, strlen(a.local)) == 0);
		FUZZ_ASSERT(strcmp(a.domain, at + 1) == 0);
	} else {
		FUZZ_ASSERT(strcmp(a.local, a.folded) == 0 &&
		    a.domain[0] == '\0');
	}
	FUZZ_ASSERT(a.ip_literal == (a.domain[0] == '['));
	if (a.extension != NULL) {
		const char *delim = o->recipient_delimiter;

		FUZZ_ASSERT(delim != NULL && *delim != '\0');
		n = strcspn(a.local, delim);
		FUZZ_ASSERT(n > 0 && a.local[n] != '\0' &&
		    strcmp(a.extension, a.local + n + 1) == 0);
		FUZZ_ASSERT(strcasecmp(a.local, "postmaster") != 0 &&
		    strcasecmp(a.local, "mailer-daemon") != 0);
	}
	fa_keys(&a, o->recipient_delimiter);
	if (addr_plain(rcpt, len, o->recipient_delimiter)) {
		/* its own folded form, not split, keys itself and @domain
		 * (server/dispatch caches decisions on it) */
		FUZZ_ASSERT(len <= ADDR_PLAIN_MAX);
		FUZZ_ASSERT(strcmp(a.folded, rcpt) == 0 &&
		    a.extension == NULL && a.has_domain && !a.ip_literal);
		FUZZ_ASSERT(a.nkeys == 2 && !a.keys[0].quoted &&
		    strcmp(a.keys[0].key, rcpt) == 0 &&
		    a.keys[1].kind == ADDR_KEY_DOMAIN &&
		    strcmp(a.keys[1].key, strchr(rcpt, '@')) == 0);
	}
	FUZZ_ASSERT(addr_is_bare_postmaster(&a) ==
	    (strcasecmp(rcpt, "postmaster") == 0));
	fa_quote(a.local);
	addr_free(&a);
}

int
FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t	 flags = fuzz_byte(&in);
	char	*delim = fuzz_str(&in), *dbl = fuzz_str(&in);
	char	*rcpt = fuzz_str(&in);
	struct addr_opts o;

	o.recipient_delimiter = delim;
	o.owner_request_special = (flags & 1) != 0;
	o.double_bounce_sender = flags & 2 ? NULL : dbl;
	o.utf8 = (flags & 4) == 0;	/* smtputf8_enable, default yes */
	fa_parse(rcpt, &o);
	fa_quote(rcpt);
	/* the whole rest, as a local part */
	fa_quote(delim);
	free(delim);
	free(dbl);
	free(rcpt);
	return 0;
}
