/*
 * sentinelfmt - what Redis and Redis Sentinel say about a master. See
 * sentinelfmt.h.
 *
 * Depends on: libc. Pure.
 * Security: input is untrusted bytes with a length; the only output is
 * a bounded copy of checked hex digits.
 */
#include <string.h>

#include "core/sentinelfmt.h"

#define REPLID_KEY	"master_replid:"

static bool
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

int
sentinelfmt_replid(const char *text, size_t len,
    char replid[SENTINELFMT_REPLID_MAX + 1])
{
	const size_t klen = sizeof(REPLID_KEY) - 1;
	const char *line = text, *end = text + len, *nl, *v;
	size_t	 vlen, i;

	replid[0] = '\0';
	for (; line < end; line = nl + 1) {
		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL)
			nl = end;
		if ((size_t)(nl - line) < klen ||
		    memcmp(line, REPLID_KEY, klen) != 0)
			continue;
		/* master_replid2: is the previous history, not this one */
		v = line + klen;
		vlen = (size_t)(nl - v);
		if (vlen > 0 && v[vlen - 1] == '\r')
			vlen--;
		if (vlen == 0 || vlen > SENTINELFMT_REPLID_MAX)
			return -1;
		for (i = 0; i < vlen; i++)
			if (!is_hex(v[i]))
				return -1;
		memcpy(replid, v, vlen);
		replid[vlen] = '\0';
		return 0;
	}
	return -1;
}

bool
sentinelfmt_switch_of(const char *payload, size_t len, const char *name)
{
	size_t	 nlen = strlen(name);

	return nlen > 0 && len > nlen && memcmp(payload, name, nlen) == 0 &&
	    payload[nlen] == ' ';
}
