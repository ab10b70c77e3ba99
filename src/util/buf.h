#ifndef VRCPT_BUF_H
#define VRCPT_BUF_H
/*
 * buf - a growable byte buffer with a hard upper bound.
 *
 * The data is always NUL-terminated (one byte past len) so that text
 * can be handed to string functions, but it may also contain NUL bytes;
 * len is authoritative. A buffer never grows past max: buf_append()
 * fails instead, which is how callers enforce their input limits.
 */
#include <stdbool.h>
#include <stddef.h>

struct buf {
	char	*data;		/* NUL-terminated; NULL until first append */
	size_t	 len;		/* bytes in use */
	size_t	 cap;		/* bytes allocated, excluding the NUL */
	size_t	 max;		/* hard limit for len; 0 = unlimited */
};

/* buf_init - empty buffer that never holds more than max bytes (0: no cap) */
void	buf_init(struct buf *b, size_t max);
/* buf_free - release the storage; the buffer may be reused after buf_init */
void	buf_free(struct buf *b);
/* buf_append - add n bytes; -1 (and nothing added) if len + n > max */
int	buf_append(struct buf *b, const void *p, size_t n);
int	buf_puts(struct buf *b, const char *s);
int	buf_printf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* buf_consume - drop the first n bytes (n <= len) */
void	buf_consume(struct buf *b, size_t n);
/* buf_reset - len = 0, storage kept */
void	buf_reset(struct buf *b);
/* buf_str - the contents as a C string (never NULL) */
const char *buf_str(const struct buf *b);

#endif
