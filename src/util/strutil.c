/*
 * strutil - small string helpers with no project knowledge.
 *
 * Depends on: libc (pthread_once), ICU (libicuuc: ucasemap, as Postfix
 * casefold()), util/xalloc, util/log.
 *
 * Security: str_sanitize() is what stands between peer bytes and the
 * log; str_valid_utf8() and str_fold_utf8() see raw addresses from the
 * SMTP client. All of them treat input as hostile: bounded, no
 * assumption that the bytes are well-formed.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <unicode/ucasemap.h>
#include <unicode/utypes.h>

#include "util/log.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define STR_TRUNC_MARK		"..."	/* str_sanitize() cut marker */
#define STR_FOLD_LOCALE		"en_US"	/* util/casefold.c */
#define STR_FOLD_MAX		(1 << 24)	/* bytes ICU is given at once */

/*
 * str_utf8_seq - length of the well-formed UTF-8 sequence at s[0..len),
 * or 0 if there is none (RFC 3629: no overlongs, no surrogates, nothing
 * above U+10FFFF). Stores the code point in *cp_r.
 */
static size_t
str_utf8_seq(const unsigned char *s, size_t len, uint32_t *cp_r)
{
	uint32_t cp;
	size_t	 n, i;
	unsigned char c = s[0];

	if (c < 0x80) {
		*cp_r = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;	/* continuation byte, 0xc0/0xc1, 0xf5..0xff */
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	*cp_r = cp;
	return n;
}

/*
 * str_sanitize - copy untrusted text for logging. A multi-byte character
 * is never split by the cut: it goes whole or not at all.
 */
char *
str_sanitize(char *dst, const char *src, size_t srclen, size_t max)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t	 i = 0, o = 0, n;
	uint32_t cp;

	while (i < srclen) {
		if (s[i] < 0x20 || s[i] == 0x7f) {
			n = 1;
			if (o + 1 > max)
				break;
			dst[o++] = '?';
		} else if ((n = str_utf8_seq(s + i, srclen - i, &cp)) == 0) {
			n = 1;
			if (o + 1 > max)
				break;
			dst[o++] = '?';
		} else {
			if (o + n > max)
				break;
			memcpy(dst + o, s + i, n);
			o += n;
		}
		i += n;
	}
	if (i < srclen) {
		memcpy(dst + o, STR_TRUNC_MARK, sizeof(STR_TRUNC_MARK) - 1);
		o += sizeof(STR_TRUNC_MARK) - 1;
	}
	dst[o] = '\0';
	return dst;
}

/* str_lower_ascii - lower-case A-Z in place, locale-independent */
char *
str_lower_ascii(char *s)
{
	char	*p;

	for (p = s; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return s;
}

/*
 * The case map: Postfix's casefold() (util/casefold.c) folds with ICU's
 * ucasemap_utf8FoldCase() for locale "en_US" and U_FOLD_CASE_DEFAULT,
 * full case folding ("straße" -> "strasse", final sigma -> sigma). The
 * same library call gives the same keys. Created once, then only read
 * (the fold takes a const UCaseMap), so shared by all threads. When ICU
 * cannot open it (no data), ASCII is folded only, and that is said once.
 */
static pthread_once_t str_fold_once = PTHREAD_ONCE_INIT;
static UCaseMap *str_fold_csm;

static void
str_fold_init(void)
{
	UErrorCode error = U_ZERO_ERROR;
	int	 saved_errno = errno;

	str_fold_csm = ucasemap_open(STR_FOLD_LOCALE, U_FOLD_CASE_DEFAULT,
	    &error);
	if (U_FAILURE(error)) {
		str_fold_csm = NULL;
		msg_warn("ICU case map for %s: %s: non-ASCII addresses are "
		    "matched case-sensitively", STR_FOLD_LOCALE,
		    u_errorName(error));
	}
	errno = saved_errno;
}

/* str_is_ascii - no byte above 0x7f */
static bool
str_is_ascii(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

/*
 * str_casefold - as Postfix casefold(): with utf8 (smtputf8_enable) and
 * a non-ASCII string, ICU full case folding; otherwise A-Z only. Bytes
 * that are not UTF-8 are left to ICU as Postfix leaves them (it copies
 * them, casefold.c says); a string ICU refuses is folded as ASCII
 * rather than dropped (Postfix would stop with a fatal error).
 */
char *
str_casefold(const char *s, bool utf8)
{
	size_t	 len = strlen(s);
	UErrorCode error;
	int32_t	 cap, need;
	char	*out;

	if (!utf8 || str_is_ascii(s, len))
		return str_lower_ascii(xstrdup(s));
	pthread_once(&str_fold_once, str_fold_init);
	if (str_fold_csm == NULL || len > STR_FOLD_MAX)
		return str_lower_ascii(xstrdup(s));
	/* a code point folds to at most 3 (each up to 4 bytes): the first
	 * try fits nearly always; ICU says how much when it does not */
	cap = (int32_t)(2 * len + 1);
	out = xmalloc((size_t)cap + 1);
	error = U_ZERO_ERROR;
	need = ucasemap_utf8FoldCase(str_fold_csm, out, cap, s, (int32_t)len,
	    &error);
	if (error == U_BUFFER_OVERFLOW_ERROR && need > 0) {
		free(out);
		cap = need + 1;
		out = xmalloc((size_t)cap + 1);
		error = U_ZERO_ERROR;
		need = ucasemap_utf8FoldCase(str_fold_csm, out, cap, s,
		    (int32_t)len, &error);
	}
	/* an exact fit is not terminated by ICU: out has room for it */
	if (U_FAILURE(error) || need < 0 || need > cap) {
		free(out);
		return str_lower_ascii(xstrdup(s));
	}
	out[need] = '\0';
	return out;
}

char *
str_fold_utf8(const char *s)
{
	return str_casefold(s, true);
}

/* str_valid_utf8 - whole string is well-formed UTF-8 */
bool
str_valid_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t	 i = 0, n;
	uint32_t cp;

	while (i < len) {
		if ((n = str_utf8_seq(p + i, len - i, &cp)) == 0)
			return false;
		i += n;
	}
	return true;
}

/* str_is_space - ASCII white space, locale-independent */
static bool
str_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\v' || c == '\f';
}

/* str_trim - strip leading and trailing white space in place */
char *
str_trim(char *s)
{
	char	*end;

	while (str_is_space(*s))
		s++;
	end = s + strlen(s);
	while (end > s && str_is_space(end[-1]))
		end--;
	*end = '\0';
	return s;
}

/* str_to_ull - all-digits decimal into unsigned long long; 0 / -1 */
static int
str_to_ull(const char *s, size_t len, unsigned long long *num_r)
{
	unsigned long long num = 0;
	size_t	 i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (__builtin_mul_overflow(num, 10ULL, &num) ||
		    __builtin_add_overflow(num, (unsigned long long)
		    (s[i] - '0'), &num))
			return -1;
	}
	*num_r = num;
	return 0;
}

/* str_to_uint - decimal digits only, fits in unsigned int */
int
str_to_uint(const char *s, unsigned *num_r)
{
	unsigned long long num;

	if (str_to_ull(s, strlen(s), &num) < 0 || num > UINT_MAX)
		return -1;
	*num_r = (unsigned)num;
	return 0;
}

/* str_time_unit_ms - milliseconds per Postfix time unit, 0 if unknown */
static unsigned long long
str_time_unit_ms(const char *unit)
{
	if (unit[0] == 'm' && unit[1] == 's' && unit[2] == '\0')
		return 1ULL;
	if (unit[0] == '\0' || unit[1] != '\0')
		return 0;
	switch (unit[0]) {
	case 's':
		return 1000ULL;
	case 'm':
		return 60ULL * 1000;
	case 'h':
		return 3600ULL * 1000;
	case 'd':
		return 86400ULL * 1000;
	case 'w':
		return 7ULL * 86400 * 1000;
	}
	return 0;
}

/*
 * str_to_time - Postfix time value (conv_time.c: digits, then at most one
 * unit letter s m h d w) into milliseconds; "ms" is our extension.
 */
int
str_to_time(const char *s, char default_unit, unsigned long long *ms_r)
{
	char	 defunit[2] = { default_unit, '\0' };
	unsigned long long num, unit_ms, ms;
	size_t	 digits = strspn(s, "0123456789");

	if (str_to_ull(s, digits, &num) < 0)
		return -1;
	unit_ms = str_time_unit_ms(s[digits] != '\0' ? s + digits : defunit);
	if (unit_ms == 0)
		return -1;
	if (__builtin_mul_overflow(num, unit_ms, &ms))
		return -1;
	*ms_r = ms;
	return 0;
}

/* str_to_size - bytes, or k/m/g (1024-based) */
int
str_to_size(const char *s, unsigned long long *bytes_r)
{
	unsigned long long num, mult;
	size_t	 digits = strspn(s, "0123456789");

	if (str_to_ull(s, digits, &num) < 0)
		return -1;
	switch (s[digits]) {
	case '\0':
		mult = 1;
		break;
	case 'k':
	case 'K':
		mult = 1ULL << 10;
		break;
	case 'm':
	case 'M':
		mult = 1ULL << 20;
		break;
	case 'g':
	case 'G':
		mult = 1ULL << 30;
		break;
	default:
		return -1;
	}
	if (s[digits] != '\0' && s[digits + 1] != '\0')
		return -1;
	if (__builtin_mul_overflow(num, mult, bytes_r))
		return -1;
	return 0;
}

/* str_to_bool - "yes"/"no", case-insensitive (Postfix mail_conf_bool.c) */
int
str_to_bool(const char *s, bool *val_r)
{
	if (strcasecmp(s, "yes") == 0) {
		*val_r = true;
		return 0;
	}
	if (strcasecmp(s, "no") == 0) {
		*val_r = false;
		return 0;
	}
	return -1;
}
