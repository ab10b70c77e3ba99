#ifndef VRCPT_XALLOC_H
#define VRCPT_XALLOC_H
/*
 * xalloc - allocation that never returns NULL.
 *
 * Every function here ends the process with msg_fatal() when memory runs
 * out: a mail filter that cannot allocate a few bytes has nothing sensible
 * left to do (Postfix mymalloc.c). Sizes are overflow-checked.
 */
#include <stddef.h>

void	*xmalloc(size_t size);
void	*xcalloc(size_t nmemb, size_t size);
void	*xreallocarray(void *ptr, size_t nmemb, size_t size);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);
/* printf into a fresh allocation */
char	*xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
