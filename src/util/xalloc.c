/*
 * xalloc - allocation that never returns NULL.
 *
 * Depends on: libc and util/log (msg_fatal on exhaustion). Nothing else.
 *
 * Security: every size computation is overflow-checked here, so that a
 * caller multiplying attacker-influenced counts cannot get a short
 * allocation back (Postfix mymalloc.c, OpenBSD reallocarray).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/xalloc.h"

/* xmalloc - malloc that never fails; size 0 still yields a unique pointer */
void *
xmalloc(size_t size)
{
	void	*p;

	if ((p = malloc(size ? size : 1)) == NULL)
		msg_fatal("xmalloc: out of memory (%zu bytes)", size);
	return p;
}

/* xcalloc - zeroed, overflow-checked array allocation */
void *
xcalloc(size_t nmemb, size_t size)
{
	void	*p;

	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	if ((p = calloc(nmemb, size)) == NULL)
		msg_fatal("xcalloc: out of memory (%zu x %zu bytes)",
		    nmemb, size);
	return p;
}

/* xreallocarray - resize to nmemb * size bytes, overflow-checked */
void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	void	*p;
	size_t	 total;

	if (__builtin_mul_overflow(nmemb, size, &total))
		msg_fatal("xreallocarray: size overflow (%zu x %zu)",
		    nmemb, size);
	if ((p = realloc(ptr, total ? total : 1)) == NULL)
		msg_fatal("xreallocarray: out of memory (%zu bytes)", total);
	return p;
}

/* xstrdup - copy a C string */
char *
xstrdup(const char *s)
{
	size_t	 len = strlen(s);
	char	*p = xmalloc(len + 1);

	memcpy(p, s, len + 1);
	return p;
}

/* xstrndup - copy at most n bytes of s, always NUL-terminated */
char *
xstrndup(const char *s, size_t n)
{
	size_t	 len = strnlen(s, n);
	char	*p;

	if (len == SIZE_MAX)
		msg_fatal("xstrndup: size overflow");
	p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* xasprintf - printf into a fresh allocation */
char *
xasprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*p;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		msg_fatal("xasprintf: out of memory");
	return p;
}
