/*
 * control - the control requests and replies. See control.h.
 *
 * Depends on: util/. Security: the daemon formats from its own data
 * (actions, counters); vrcptctl parses what a process on a root-only
 * socket sent, still with every limit checked.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/control.h"
#include "util/xalloc.h"

void
control_attr(struct buf *b, const char *name, const char *value)
{
	const unsigned char *p;

	buf_puts(b, name);
	buf_puts(b, "=");
	for (p = (const unsigned char *)value; *p != '\0'; p++)
		buf_append(b, *p < 0x20 || *p == 0x7f ? "?" : (const char *)p,
		    1);
	buf_puts(b, "\n");
}

void
control_attr_u(struct buf *b, const char *name, unsigned long long value)
{
	buf_printf(b, "%s=%llu\n", name, value);
}

void
control_end(struct buf *b)
{
	buf_puts(b, "\n");
}

int
control_reply_parse(const char *buf, size_t len, struct control_reply *r,
    const char **why_r)
{
	char	*line, *end, *nl, *eq;
	size_t	 llen;

	memset(r, 0, sizeof(*r));
	if (memchr(buf, '\0', len) != NULL) {
		*why_r = "a NUL byte in the reply";
		return -1;
	}
	r->text = xmalloc(len + 1);
	memcpy(r->text, buf, len);
	r->text[len] = '\0';
	end = r->text + len;
	for (line = r->text; line < end; line = nl + 1) {
		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL)
			nl = end;
		llen = (size_t)(nl - line);
		if (llen > 0 && line[llen - 1] == '\r')
			llen--;
		if (llen == 0)
			break;			/* the empty line: the end */
		line[llen] = '\0';
		if ((eq = strchr(line, '=')) == NULL || eq == line) {
			*why_r = "a line is not name=value";
			control_reply_free(r);
			return -1;
		}
		if (r->n == CONTROL_ATTRS_MAX) {
			*why_r = "too many lines";
			control_reply_free(r);
			return -1;
		}
		*eq = '\0';
		r->name[r->n] = line;
		r->value[r->n++] = eq + 1;
	}
	return 0;
}

const char *
control_reply_get(const struct control_reply *r, const char *name)
{
	size_t	 i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->name[i], name) == 0)
			return r->value[i];
	return NULL;
}

void
control_reply_free(struct control_reply *r)
{
	free(r->text);
	memset(r, 0, sizeof(*r));
}
