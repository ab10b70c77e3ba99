/*
 * buf - a growable byte buffer with a hard upper bound.
 *
 * Depends on: libc, util/xalloc, util/log (panic on misuse).
 *
 * Security: max is how callers bound what a peer can make us hold; every
 * size computation here is overflow-checked and a failing append leaves
 * the buffer unchanged.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

#define BUF_MIN_ALLOC	64	/* first allocation, bytes (without NUL) */

/* buf_init - empty buffer that never holds more than max bytes */
void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

/* buf_free - release the storage */
void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

/*
 * buf_reserve - make room for need more bytes plus the NUL. The caller
 * has already checked need against max. Grows geometrically, but never
 * allocates far beyond max.
 */
static void
buf_reserve(struct buf *b, size_t need)
{
	size_t	 want, cap;

	if (need > SIZE_MAX - 1 - b->len)
		msg_panic("buf_reserve: size overflow");
	want = b->len + need;
	if (b->data != NULL && want <= b->cap)
		return;
	cap = b->cap ? b->cap : BUF_MIN_ALLOC;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	if (b->max != 0 && cap > b->max)
		cap = want > b->max ? want : b->max;
	b->data = xreallocarray(b->data, cap + 1, 1);
	if (b->cap == 0)
		b->data[0] = '\0';
	b->cap = cap;
}

/* buf_fits - may n more bytes be added without passing max? */
static int
buf_fits(const struct buf *b, size_t n)
{
	return b->max == 0 || (n <= b->max && b->len <= b->max - n);
}

/* buf_append - add n bytes; -1 (and nothing added) past max */
int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (!buf_fits(b, n))
		return -1;
	buf_reserve(b, n);
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

/* buf_puts - append a C string */
int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

/* buf_printf - append formatted text; -1 (nothing added) past max */
int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 room;
	int	 n;

	buf_reserve(b, 0);
	room = b->cap - b->len + 1;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->data[b->len] = '\0';
		return -1;
	}
	if (!buf_fits(b, (size_t)n)) {
		b->data[b->len] = '\0';
		return -1;
	}
	if ((size_t)n >= room) {
		buf_reserve(b, (size_t)n);
		va_start(ap, fmt);
		n = vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->data[b->len] = '\0';
			return -1;
		}
	}
	b->len += (size_t)n;
	b->data[b->len] = '\0';
	return 0;
}

/* buf_consume - drop the first n bytes */
void
buf_consume(struct buf *b, size_t n)
{
	if (n > b->len)
		msg_panic("buf_consume: %zu > length %zu", n, b->len);
	if (n == 0)
		return;
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

/* buf_reset - len = 0, storage kept */
void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

/* buf_str - the contents as a C string (never NULL) */
const char *
buf_str(const struct buf *b)
{
	return b->data != NULL ? b->data : "";
}
