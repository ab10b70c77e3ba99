/*
 * mapidx - an indexed table in memory, and the postmap source format. See
 * mapidx.h.
 *
 * The table is an open-addressing hash table (linear probing, at most
 * half full) of records whose bytes live in a few large chunks, so that
 * a table of a million records costs a million small copies, not two
 * million allocations. The keys are the administrator's, not the
 * client's: a client only probes, so no seeded hash is needed.
 *
 * Depends on: util/. No I/O.
 *
 * Security: file contents are trusted (root's tables) but sizes are
 * bounded (MAPIDX_*_MAX); the lookup key is untrusted and only hashed
 * and compared.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/mapidx.h"
#include "util/buf.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define MAPIDX_CHUNK	(256 * 1024)	/* bytes of one arena chunk */
#define MAPIDX_SLOTS0	16		/* first slot array */
#define MAPIDX_SPACE	" \t\n\v\f\r"	/* Postfix ISSPACE() */

struct mapidx_rec {
	const char *key;	/* klen bytes (may end in NUL) */
	const char *val;	/* NUL-terminated */
	uint32_t klen;
	uint64_t hash;
};

struct mapidx_chunk {
	struct mapidx_chunk *next;
	size_t	 used, size;
	char	 data[];
};

struct mapidx {
	struct mapidx_rec *recs;
	size_t	 n, cap;
	uint32_t *slots;	/* 0: empty; else index into recs + 1 */
	size_t	 nslots;	/* a power of two */
	struct mapidx_chunk *chunks;
	uint64_t content;
};

/* FNV-1a, 64 bits */
static uint64_t
mapidx_hash(const void *p, size_t n, uint64_t h)
{
	const unsigned char *s = p;

	while (n-- > 0) {
		h ^= *s++;
		h *= 0x100000001b3ULL;
	}
	return h;
}
#define MAPIDX_HASH0	0xcbf29ce484222325ULL

struct mapidx *
mapidx_new(void)
{
	return xcalloc(1, sizeof(struct mapidx));
}

void
mapidx_free(struct mapidx **p)
{
	struct mapidx *idx = *p;
	struct mapidx_chunk *c, *next;

	*p = NULL;
	if (idx == NULL)
		return;
	for (c = idx->chunks; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(idx->recs);
	free(idx->slots);
	free(idx);
}

/* mapidx_alloc - n bytes from the arena */
static char *
mapidx_alloc(struct mapidx *idx, size_t n)
{
	struct mapidx_chunk *c = idx->chunks;
	size_t	 size;

	if (c == NULL || c->size - c->used < n) {
		size = n > MAPIDX_CHUNK ? n : MAPIDX_CHUNK;
		c = xmalloc(sizeof(*c) + size);
		c->size = size;
		c->used = 0;
		c->next = idx->chunks;
		idx->chunks = c;
	}
	c->used += n;
	return c->data + c->used - n;
}

/* mapidx_find - the slot of key (occupied by it, or the empty one) */
static size_t
mapidx_slot(const struct mapidx *idx, const void *key, size_t klen,
    uint64_t h)
{
	size_t	 mask = idx->nslots - 1, i;
	const struct mapidx_rec *r;

	for (i = (size_t)h & mask;; i = (i + 1) & mask) {
		if (idx->slots[i] == 0)
			return i;
		r = &idx->recs[idx->slots[i] - 1];
		if (r->hash == h && r->klen == klen &&
		    memcmp(r->key, key, klen) == 0)
			return i;
	}
}

static void
mapidx_grow(struct mapidx *idx)
{
	size_t	 i, j, mask;

	free(idx->slots);
	idx->nslots = idx->nslots == 0 ? MAPIDX_SLOTS0 : idx->nslots * 2;
	idx->slots = xcalloc(idx->nslots, sizeof(*idx->slots));
	mask = idx->nslots - 1;
	for (i = 0; i < idx->n; i++) {
		for (j = (size_t)idx->recs[i].hash & mask; idx->slots[j] != 0;
		    j = (j + 1) & mask)
			;
		idx->slots[j] = (uint32_t)(i + 1);
	}
}

int
mapidx_put(struct mapidx *idx, const void *key, size_t klen,
    const void *val, size_t vlen, bool *dup_r)
{
	struct mapidx_rec *r;
	const char *nul;
	uint64_t h, ch;
	size_t	 slot;
	char	*k, *v;

	if (dup_r != NULL)
		*dup_r = false;
	if (klen > MAPIDX_KEY_MAX || vlen > MAPIDX_VALUE_MAX ||
	    idx->n >= MAPIDX_RECORDS_MAX)
		return -1;
	/* SCOPY(): the value is a C string, up to its first NUL */
	if ((nul = memchr(val, '\0', vlen)) != NULL)
		vlen = (size_t)(nul - (const char *)val);
	if ((idx->n + 1) * 2 > idx->nslots)
		mapidx_grow(idx);
	h = mapidx_hash(key, klen, MAPIDX_HASH0);
	slot = mapidx_slot(idx, key, klen, h);
	if (idx->slots[slot] != 0) {
		if (dup_r != NULL)
			*dup_r = true;
		return 0;
	}
	if (idx->n == idx->cap) {
		idx->cap = idx->cap == 0 ? MAPIDX_SLOTS0 : idx->cap * 2;
		idx->recs = xreallocarray(idx->recs, idx->cap,
		    sizeof(*idx->recs));
	}
	k = mapidx_alloc(idx, klen + vlen + 1);
	memcpy(k, key, klen);
	v = k + klen;
	memcpy(v, val, vlen);
	v[vlen] = '\0';
	r = &idx->recs[idx->n];
	r->key = k;
	r->klen = (uint32_t)klen;
	r->val = v;
	r->hash = h;
	idx->slots[slot] = (uint32_t)++idx->n;
	/* order-independent: the sum of the records' hashes */
	ch = mapidx_hash("\377", 1, h);
	ch = mapidx_hash(v, vlen, ch);
	idx->content += ch;
	return 0;
}

const char *
mapidx_get(const struct mapidx *idx, const void *key, size_t klen)
{
	size_t	 slot;

	if (idx->n == 0)
		return NULL;
	slot = mapidx_slot(idx, key, klen, mapidx_hash(key, klen,
	    MAPIDX_HASH0));
	return idx->slots[slot] == 0 ? NULL :
	    idx->recs[idx->slots[slot] - 1].val;
}

const char *
mapidx_lookup(const struct mapidx *idx, const char *key)
{
	const char *v;
	size_t	 len = strlen(key);

	/* dict_db_lookup(): DICT_FLAG_TRY1NULL, then DICT_FLAG_TRY0NULL */
	if ((v = mapidx_get(idx, key, len + 1)) != NULL)
		return v;
	return mapidx_get(idx, key, len);
}

size_t
mapidx_count(const struct mapidx *idx)
{
	return idx->n;
}

uint64_t
mapidx_content(const struct mapidx *idx)
{
	return mapidx_hash(&idx->n, sizeof(idx->n), idx->content);
}

/*
 * The postmap source format.
 */

static bool
mapidx_isspace(char c)
{
	return c != '\0' && strchr(MAPIDX_SPACE, c) != NULL;
}

char *
mapidx_next_line(const char *text, size_t len, size_t *pos,
    unsigned *lineno, unsigned *lineno_r)
{
	struct buf b;
	size_t	 p = *pos, start, i, nul;
	bool	 eof;
	char	*line;

	for (;;) {
		buf_init(&b, 0);
		for (;;) {
			/* one physical line, without its newline */
			start = b.len;
			for (i = p; i < len && text[i] != '\n'; i++)
				;
			if (i > p)
				buf_append(&b, text + p, i - p);
			eof = i >= len;
			if (!eof || b.len > start)
				(*lineno)++;
			p = eof ? len : i + 1;
			/* comment, blank or empty lines vanish */
			for (i = start; i < b.len && mapidx_isspace(b.data[i]);
			    i++)
				;
			if (i == b.len || b.data[i] == '#') {
				b.len = start;
				if (b.data != NULL)
					b.data[start] = '\0';
			}
			if (start == 0)
				*lineno_r = *lineno;
			if (eof)
				break;
			/* the next line continues this one if it starts
			 * with white space or is a comment */
			if (b.len > 0 && p < len && text[p] != '#' &&
			    !mapidx_isspace(text[p]))
				break;
			if (b.len > 0 && p >= len)
				break;
		}
		*pos = p;
		if (b.len == 0) {
			buf_free(&b);
			return NULL;
		}
		/* text after a NUL byte is ignored by every reader */
		for (nul = 0; nul < b.len && b.data[nul] != '\0'; nul++)
			;
		/* "logical line must not start with whitespace" */
		if (mapidx_isspace(b.data[0])) {
			buf_free(&b);
			continue;
		}
		line = xstrndup(b.data, nul);
		buf_free(&b);
		return line;
	}
}

/* mapidx_msg - append "name, line N: text" to *msgs */
static void
mapidx_msg(char **msgs, const char *name, unsigned line, const char *what,
    const char *detail)
{
	char	 q[STR_SANITIZE_MAX + 4];
	char	*m;

	str_sanitize(q, detail, strlen(detail), 60);
	m = xasprintf("%s%s%s, line %u: %s%s%s%s", *msgs ? *msgs : "",
	    *msgs ? "\n" : "", name, line, what, *detail ? " \"" : "",
	    q, *detail ? "\"" : "");
	free(*msgs);
	*msgs = m;
}

int
mapidx_parse_text(struct mapidx *idx, const char *name, const char *text,
    size_t len, bool check_utf8, char **warn_r, char **err_r)
{
	size_t	 pos = 0, vlen;
	unsigned lineno = 0, first;
	char	*line, *value, *end;
	bool	 inq, dup;

	*err_r = NULL;
	while ((line = mapidx_next_line(text, len, &pos, &lineno,
	    &first)) != NULL) {
		if (check_utf8 && !str_valid_utf8(line, strlen(line))) {
			mapidx_msg(warn_r, name, first, "non-UTF-8 input "
			    "-- ignoring this line", "");
			free(line);
			continue;
		}
		/* dict_thash.c: split at the first white space outside
		 * quotes; the key stays in its quoted form */
		inq = false;
		for (value = line; *value != '\0'; value++) {
			if (*value == '\\') {
				if (*++value == '\0')
					break;
			} else if (mapidx_isspace(*value)) {
				if (!inq)
					break;
			} else if (*value == '"') {
				inq = !inq;
			}
		}
		if (inq) {
			mapidx_msg(warn_r, name, first, "unbalanced '\"' "
			    "-- ignoring this line", "");
			free(line);
			continue;
		}
		if (*value != '\0')
			*value++ = '\0';
		while (mapidx_isspace(*value))
			value++;
		for (end = value + strlen(value); end > value &&
		    mapidx_isspace(end[-1]); end--)
			;
		*end = '\0';
		if (*line == '\0' || *value == '\0') {
			mapidx_msg(warn_r, name, first, "expected format: key "
			    "whitespace value -- ignoring this line", "");
			free(line);
			continue;
		}
		if (line[strlen(line) - 1] == ':')
			mapidx_msg(warn_r, name, first, "record is in \"key: "
			    "value\" format; is this an alias file?", "");
		str_lower_ascii(line);
		vlen = strlen(value);
		if (mapidx_put(idx, line, strlen(line), value, vlen,
		    &dup) < 0) {
			*err_r = xasprintf("%s, line %u: record too large or "
			    "too many records", name, first);
			free(line);
			return -1;
		}
		if (dup) {
			char	 q[STR_SANITIZE_MAX + 4];

			*err_r = xasprintf("%s, line %u: duplicate entry: "
			    "\"%s\"", name, first,
			    str_sanitize(q, line, strlen(line), 100));
			free(line);
			return -1;
		}
		free(line);
	}
	return 0;
}
