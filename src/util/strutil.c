/*
 * strutil - small string helpers with no project knowledge.
 *
 * Depends on: libc (locale_t, towlower_l, pthread_once), util/xalloc,
 * util/log.
 *
 * Security: str_sanitize() is what stands between peer bytes and the
 * log; str_valid_utf8() and str_fold_utf8() see raw addresses from the
 * SMTP client. All of them treat input as hostile: bounded, no
 * assumption that the bytes are well-formed.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <wctype.h>

#include "util/log.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define STR_TRUNC_MARK		"..."	/* str_sanitize() cut marker */
#define STR_FOLD_LOCALE		"C.UTF-8"

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

/* str_utf8_put - encode a valid code point; returns bytes written */
static size_t
str_utf8_put(char *d, uint32_t cp)
{
	if (cp < 0x80) {
		d[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (char)(0xc0 | (cp >> 6));
		d[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (char)(0xe0 | (cp >> 12));
		d[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		d[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	d[0] = (char)(0xf0 | (cp >> 18));
	d[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	d[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	d[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
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
 * The case-folding locale: created once, shared by all threads (a
 * locale_t is read-only after newlocale()). When C.UTF-8 is missing we
 * fold ASCII only and say so once.
 */
static pthread_once_t str_fold_once = PTHREAD_ONCE_INIT;
static locale_t str_fold_locale = (locale_t)0;

static void
str_fold_init(void)
{
	int	 saved_errno = errno;

	str_fold_locale = newlocale(LC_CTYPE_MASK, STR_FOLD_LOCALE,
	    (locale_t)0);
	if (str_fold_locale == (locale_t)0)
		msg_warn("locale %s is not available: non-ASCII addresses "
		    "are matched case-sensitively", STR_FOLD_LOCALE);
	errno = saved_errno;
}

/*
 * str_fold_utf8 - lower-case UTF-8 into a fresh allocation. The output
 * can be longer than the input (U+023A, 2 bytes, folds to U+2C65, 3
 * bytes), never more than twice as long.
 */
char *
str_fold_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t	 len = strlen(s), i = 0, o = 0, n;
	char	*out;
	uint32_t cp;
	wint_t	 lc;

	if (len > (SIZE_MAX - 1) / 2)
		msg_panic("str_fold_utf8: size overflow");
	out = xmalloc(2 * len + 1);
	while (i < len) {
		if (p[i] < 0x80) {
			out[o++] = (p[i] >= 'A' && p[i] <= 'Z') ?
			    (char)(p[i] - 'A' + 'a') : (char)p[i];
			i++;
			continue;
		}
		if ((n = str_utf8_seq(p + i, len - i, &cp)) == 0) {
			out[o++] = (char)p[i++];	/* invalid: unchanged */
			continue;
		}
		pthread_once(&str_fold_once, str_fold_init);
		if (str_fold_locale != (locale_t)0) {
			lc = towlower_l((wint_t)cp, str_fold_locale);
			/* never emit something we would not accept */
			if (lc != WEOF && lc <= 0x10ffff &&
			    !(lc >= 0xd800 && lc <= 0xdfff) && lc != 0)
				cp = (uint32_t)lc;
		}
		o += str_utf8_put(out + o, cp);
		i += n;
	}
	out[o] = '\0';
	return out;
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
