/*
 * fuzz_sentinelfmt - libFuzzer target for what vrcptd reads from Redis
 * and Redis Sentinel about a master (core/sentinelfmt.c): the
 * master_replid line of an INFO replication reply, and whether a
 * "+switch-master" message is about our master.
 *
 *   make fuzz FUZZ_TARGETS=sentinelfmt	(build/fuzz/fuzz_sentinelfmt)
 *
 * Input: a master name up to the first NUL byte (as "cache =
 * redis-sentinel:.../NAME" gives it), then the rest: an INFO reply
 * text and a message payload, both binary (NUL bytes are data).
 *
 * Invariants (a violation aborts):
 *   - sentinelfmt_replid() finds the value of the first line that
 *     starts with "master_replid:" (not "master_replid2:"), CRLF or LF,
 *     exactly when it is 1 to SENTINELFMT_REPLID_MAX lower-case hex
 *     digits (a second, plain implementation says which), and otherwise
 *     leaves replid empty;
 *   - the same value put in a reply of the shape Redis sends is found,
 *     whatever the lines around it;
 *   - sentinelfmt_switch_of() is true exactly when the payload starts
 *     with the non-empty name and a space, never for a name that only
 *     starts the payload's first word.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/sentinelfmt.h"
#include "fuzz.h"
#include "util/xalloc.h"

#define FS_KEY	"master_replid:"
#define FS_HEAD	"# Replication\r\nrole:master\r\nconnected_slaves:0\r\n" \
		"master_replid2:0123456789abcdef\r\n" FS_KEY

/* fs_value_ok - v[0..n) is a replication id we take */
static bool
fs_value_ok(const char *v, size_t n)
{
	size_t	 i;

	if (n == 0 || n > SENTINELFMT_REPLID_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (strchr("0123456789abcdef", v[i]) == NULL || v[i] == '\0')
			return false;
	return true;
}

/* fs_model - the first master_replid: line's value, by index; -1 none */
static int
fs_model(const char *t, size_t len, const char **v_r, size_t *n_r)
{
	size_t	 start = 0, i, end, klen = strlen(FS_KEY);

	while (start < len) {
		for (i = start; i < len && t[i] != '\n'; i++)
			;
		end = i;
		if (end - start >= klen && memcmp(t + start, FS_KEY,
		    klen) == 0) {
			*v_r = t + start + klen;
			*n_r = end - start - klen;
			if (*n_r > 0 && (*v_r)[*n_r - 1] == '\r')
				(*n_r)--;
			return 0;
		}
		start = end + 1;
	}
	return -1;
}

static void
fs_replid(const char *t, size_t len)
{
	char	 id[SENTINELFMT_REPLID_MAX + 1];
	const char *v;
	size_t	 n;
	bool	 want;

	want = fs_model(t, len, &v, &n) == 0 && fs_value_ok(v, n);
	if (sentinelfmt_replid(t, len, id) == 0) {
		FUZZ_ASSERT(want);
		FUZZ_ASSERT(strlen(id) == n && memcmp(id, v, n) == 0);
	} else {
		FUZZ_ASSERT(!want);
		FUZZ_ASSERT(id[0] == '\0');
	}
}

/* fs_shaped - value as the master_replid of a reply shaped like Redis's */
static void
fs_shaped(const char *value, size_t vlen, const char *other, size_t olen)
{
	char	*t, id[SENTINELFMT_REPLID_MAX + 1];
	size_t	 len;
	int	 rc;

	t = xmalloc(sizeof(FS_HEAD) + vlen + olen + 2);
	/* master_replid2 first: another history, never taken */
	memcpy(t, FS_HEAD, sizeof(FS_HEAD) - 1);
	len = sizeof(FS_HEAD) - 1;
	memcpy(t + len, value, vlen);
	len += vlen;
	memcpy(t + len, "\r\n", 2);
	len += 2;
	memcpy(t + len, other, olen);
	len += olen;
	rc = sentinelfmt_replid(t, len, id);
	if (fs_value_ok(value, vlen))
		FUZZ_ASSERT(rc == 0 && strlen(id) == vlen &&
		    memcmp(id, value, vlen) == 0);
	else
		FUZZ_ASSERT(rc == -1);
	free(t);
}

static void
fs_switch(const char *payload, size_t len, const char *name)
{
	size_t	 nlen = strlen(name);
	bool	 want = nlen > 0 && len > nlen &&
		    memcmp(payload, name, nlen) == 0 && payload[nlen] == ' ';
	char	*longer;

	FUZZ_ASSERT(sentinelfmt_switch_of(payload, len, name) == want);
	if (nlen > 0) {
		/* "NAMEx ..." is another master */
		longer = xasprintf("%sx", name);
		FUZZ_ASSERT(!sentinelfmt_switch_of(longer, strlen(longer),
		    name));
		free(longer);
		longer = xasprintf("%s 10.0.0.1 6379 10.0.0.2 6379", name);
		FUZZ_ASSERT(sentinelfmt_switch_of(longer, strlen(longer),
		    name));
		free(longer);
	}
}

int
FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	char	*name = fuzz_str(&in), *rest, *value;
	size_t	 rlen;
	struct fuzz_in tail;

	rest = fuzz_bytes(&in, in.n, &rlen);
	fs_replid(rest, rlen);
	fs_switch(rest, rlen, name);
	/* the rest's first line as a value, the lines after it around it */
	tail.p = (const uint8_t *)rest;
	tail.n = rlen;
	value = fuzz_str(&tail);
	fs_shaped(value, strcspn(value, "\r\n"), (const char *)tail.p,
	    tail.n);
	free(value);
	free(rest);
	free(name);
	return 0;
}
