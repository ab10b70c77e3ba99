#ifndef VRCPT_STRUTIL_H
#define VRCPT_STRUTIL_H
/*
 * strutil - small string helpers with no project knowledge.
 */
#include <stdbool.h>
#include <stddef.h>

/* STR_SANITIZE_MAX - default cap for untrusted text in one log field */
#define STR_SANITIZE_MAX	256

/*
 * str_sanitize - copy untrusted text for logging: bytes below 0x20, 0x7f
 * and invalid UTF-8 become '?'; output is cut at max bytes (then "...")
 * and always NUL-terminated. dst must hold max + 4 bytes. Returns dst.
 */
char	*str_sanitize(char *dst, const char *src, size_t srclen, size_t max);

/* str_lower_ascii - lower-case A-Z in place; returns s */
char	*str_lower_ascii(char *s);

/*
 * str_fold_utf8 - lower-case a UTF-8 string into a fresh allocation, as
 * Postfix 3.8+ casefold() does for addresses: ASCII fast path, full
 * Unicode simple case folding for the rest (towlower in C.UTF-8).
 * Invalid UTF-8 bytes are copied unchanged. Never NULL.
 */
char	*str_fold_utf8(const char *s);

/* str_valid_utf8 - whole string is well-formed UTF-8 (no overlongs) */
bool	str_valid_utf8(const char *s, size_t len);

/* str_trim - strip leading and trailing white space in place; returns start */
char	*str_trim(char *s);

/*
 * str_to_uint - parse a decimal number that fits in unsigned int; the
 * whole string must be digits. 0 on success, -1 otherwise.
 */
int	str_to_uint(const char *s, unsigned *num_r);

/*
 * str_to_time - parse a Postfix time value ("10", "10s", "5m", "1h", "2d",
 * "1w"; a bare number uses default_unit 's', 'm', 'h', 'd' or 'w') into
 * milliseconds; "500ms" is accepted too. 0 on success, -1 on bad input
 * or overflow.
 */
int	str_to_time(const char *s, char default_unit, unsigned long long *ms_r);

/*
 * str_to_size - a size in bytes: digits, optionally followed by one of
 * k, m, g (either case, 1024-based; "64m" is 64 MiB). 0 on success, -1 on
 * bad input or overflow.
 */
int	str_to_size(const char *s, unsigned long long *bytes_r);

/* str_to_bool - "yes"/"no" (case-insensitive, as Postfix); 0 / -1 */
int	str_to_bool(const char *s, bool *val_r);

#endif
