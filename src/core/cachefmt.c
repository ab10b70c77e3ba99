/*
 * cachefmt - namespaces, Redis records, ages and invalidation messages
 * of the cache tiers. See cachefmt.h.
 *
 * Depends on: libc, util/xalloc, core/sqlmap.h (read only). Pure: no
 * I/O, no clock; "now" is passed in.
 *
 * Security: records come back from Redis, which is a shared service:
 * cachefmt_rec_parse() checks every byte it relies on and the caller
 * treats anything odd as a miss. NOTIFY payloads come from database
 * triggers (or anyone who may NOTIFY): they only ever drop cached
 * answers, never add one, so the worst a forged message does is cost a
 * query.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cachefmt.h"
#include "util/xalloc.h"

#define CACHEFMT_FNV_PRIME	0x100000001b3ULL
#define CACHEFMT_NS_VERSION	"vrcpt-cache-ns-1"
#define CACHEFMT_DNS_VERSION	"vrcpt-decision-ns-1"
#define CACHEFMT_REC_VERSION	"v1"
#define CACHEFMT_U64_DIGITS	20	/* digits of UINT64_MAX */

uint64_t
cachefmt_hash(const void *p, size_t n, uint64_t h)
{
	const unsigned char *s = p;
	size_t	 i;

	for (i = 0; i < n; i++) {
		h ^= s[i];
		h *= CACHEFMT_FNV_PRIME;
	}
	return h;
}

#define SIP_ROTL(x, b)	(uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIP_ROUND(v0, v1, v2, v3) do {					\
	v0 += v1; v1 = SIP_ROTL(v1, 13); v1 ^= v0; v0 = SIP_ROTL(v0, 32); \
	v2 += v3; v3 = SIP_ROTL(v3, 16); v3 ^= v2;			\
	v0 += v3; v3 = SIP_ROTL(v3, 21); v3 ^= v0;			\
	v2 += v1; v1 = SIP_ROTL(v1, 17); v1 ^= v2; v2 = SIP_ROTL(v2, 32); \
} while (0)

/* sip_le64 - 8 bytes, little-endian */
static uint64_t
sip_le64(const unsigned char *p)
{
	uint64_t v = 0;
	int	 i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t
cachefmt_siphash(uint64_t k0, uint64_t k1, const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
	uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
	uint64_t v3 = 0x7465646279746573ULL ^ k1;
	uint64_t m, b = (uint64_t)n << 56;
	size_t	 i, left = n & 7;

	for (i = 0; i + 8 <= n; i += 8) {
		m = sip_le64(s + i);
		v3 ^= m;
		SIP_ROUND(v0, v1, v2, v3);
		SIP_ROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	while (left > 0) {
		left--;
		b |= (uint64_t)s[i + left] << (8 * left);
	}
	v3 ^= b;
	SIP_ROUND(v0, v1, v2, v3);
	SIP_ROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	SIP_ROUND(v0, v1, v2, v3);
	SIP_ROUND(v0, v1, v2, v3);
	SIP_ROUND(v0, v1, v2, v3);
	SIP_ROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* ns_field - hash a length and the bytes, so that fields cannot run into
 * each other ("ab"+"c" differs from "a"+"bc"); NULL differs from "" */
static uint64_t
ns_field(uint64_t h, const char *s)
{
	uint64_t len;

	if (s == NULL) {
		len = UINT64_MAX;
		return cachefmt_hash(&len, sizeof(len), h);
	}
	len = strlen(s);
	h = cachefmt_hash(&len, sizeof(len), h);
	return cachefmt_hash(s, (size_t)len, h);
}

static uint64_t
ns_num(uint64_t h, uint64_t v)
{
	return cachefmt_hash(&v, sizeof(v), h);
}

void
cachefmt_ns(const struct sqlmap *sm, char ns[CACHEFMT_NS_LEN + 1])
{
	uint64_t h = CACHEFMT_HASH_INIT;
	size_t	 i;

	h = ns_field(h, CACHEFMT_NS_VERSION);
	h = ns_num(h, sm->conn.nhosts);
	for (i = 0; i < sm->conn.nhosts; i++)
		h = ns_field(h, sm->conn.hosts[i]);
	h = ns_field(h, sm->conn.user);
	h = ns_field(h, sm->conn.dbname);
	h = ns_field(h, sm->sql);
	h = ns_num(h, sm->nparams);
	for (i = 0; i < sm->nparams; i++)
		h = ns_field(h, sm->params[i].tmpl);
	h = ns_num(h, sm->domains != NULL ? sm->ndomains : UINT64_MAX);
	for (i = 0; sm->domains != NULL && i < sm->ndomains; i++)
		h = ns_field(h, sm->domains[i]);
	h = ns_field(h, sm->result_format);
	h = ns_num(h, sm->expansion_limit);
	snprintf(ns, CACHEFMT_NS_LEN + 1, "%016llx", (unsigned long long)h);
}

/* dns_maplist - a table list, as what its answers depend on */
static uint64_t
dns_maplist(uint64_t h, const struct maplist *ml)
{
	char	 ns[CACHEFMT_NS_LEN + 1];
	size_t	 i, j;

	h = ns_field(h, ml->param);
	h = ns_num(h, ml->n);
	for (i = 0; i < ml->n; i++) {
		const struct map *m = ml->v[i];

		h = ns_num(h, (uint64_t)m->type);
		switch (m->type) {
		case MAP_DOMAIN:
			h = ns_field(h, m->u.domain);
			break;
		case MAP_INLINE:
			h = ns_num(h, m->u.inl.n);
			for (j = 0; j < m->u.inl.n; j++) {
				h = ns_field(h, m->u.inl.kv[j].key);
				h = ns_field(h, m->u.inl.kv[j].value);
			}
			break;
		case MAP_STATIC:
			h = ns_field(h, m->u.static_value);
			break;
		case MAP_PGSQL:
			cachefmt_ns(m->u.sql, ns);
			h = ns_field(h, ns);
			break;
		case MAP_FILE:
			/* what was read, not when: a rebuild with the same
			 * records keeps the decisions, any change drops them */
			h = ns_field(h, m->u.file->type);
			h = ns_field(h, m->u.file->path);
			h = ns_num(h, m->u.file->content);
			break;
		}
	}
	return h;
}

void
cachefmt_dns(const struct engine_cfg *cfg, char ns[CACHEFMT_NS_LEN + 1])
{
	uint64_t h = CACHEFMT_HASH_INIT;

	h = ns_field(h, CACHEFMT_DNS_VERSION);
	/* (only when set: an empty one leaves every namespace as it was) */
	if (cfg->mydestination.n > 0)
		h = dns_maplist(h, &cfg->mydestination);
	h = dns_maplist(h, &cfg->virtual_alias_domains);
	h = dns_maplist(h, &cfg->virtual_mailbox_domains);
	h = dns_maplist(h, &cfg->relay_domains);
	h = ns_num(h, cfg->relay_domains_parent);
	h = dns_maplist(h, &cfg->virtual_alias_maps);
	h = dns_maplist(h, &cfg->virtual_mailbox_maps);
	h = dns_maplist(h, &cfg->relay_recipient_maps);
	h = dns_maplist(h, &cfg->recipient_canonical_maps);
	h = dns_maplist(h, &cfg->canonical_maps);
	h = ns_field(h, cfg->addr.recipient_delimiter);
	h = ns_num(h, cfg->addr.owner_request_special);
	h = ns_field(h, cfg->addr.double_bounce_sender);
	h = ns_num(h, cfg->addr.utf8);
	h = ns_num(h, cfg->unknown_virtual_alias_reject_code);
	h = ns_num(h, cfg->unknown_virtual_mailbox_reject_code);
	h = ns_num(h, cfg->unknown_relay_recipient_reject_code);
	h = ns_num(h, cfg->show_user_unknown_table_name);
	h = ns_num(h, cfg->soft_bounce);
	h = ns_num(h, cfg->warn_if_reject);
	h = ns_num(h, (uint64_t)cfg->lookup_failure_action);
	h = ns_field(h, cfg->other_domain_action);
	snprintf(ns, CACHEFMT_NS_LEN + 1, "%016llx", (unsigned long long)h);
}

void
cachefmt_key_domain(const char *key, size_t klen, size_t *off_r,
    size_t *len_r)
{
	size_t	 i;

	for (i = klen; i > 0; i--)
		if (key[i - 1] == '@') {
			*off_r = i;
			*len_r = klen - i;
			return;
		}
	*off_r = 0;
	*len_r = klen;
}

bool
cachefmt_cacheable(const char *key, size_t klen)
{
	return key != NULL && klen > 0 && klen <= CACHEFMT_KEY_MAX &&
	    memchr(key, '\0', klen) == NULL;
}

char *
cachefmt_rkey(const char *ns, const char *key, size_t klen, size_t *len_r)
{
	size_t	 plen = strlen(CACHEFMT_PREFIX), nlen = strlen(ns);
	char	*k = xmalloc(plen + nlen + 1 + klen + 1);

	memcpy(k, CACHEFMT_PREFIX, plen);
	memcpy(k + plen, ns, nlen);
	k[plen + nlen] = ':';
	memcpy(k + plen + nlen + 1, key, klen);
	k[plen + nlen + 1 + klen] = '\0';
	*len_r = plen + nlen + 1 + klen;
	return k;
}

char *
cachefmt_rkey_depoch(const char *key, size_t klen, size_t *len_r)
{
	size_t	 plen = strlen(CACHEFMT_RKEY_DEPOCH), off, dlen;
	char	*k;

	cachefmt_key_domain(key, klen, &off, &dlen);
	k = xmalloc(plen + dlen + 1);
	memcpy(k, CACHEFMT_RKEY_DEPOCH, plen);
	memcpy(k + plen, key + off, dlen);
	k[plen + dlen] = '\0';
	*len_r = plen + dlen;
	return k;
}

char *
cachefmt_rec_format(uint64_t epoch, uint64_t depoch, enum fact_result result,
    uint64_t stored_ms, const char *value, size_t *len_r)
{
	char	 head[4 * (CACHEFMT_U64_DIGITS + 1) + 8];
	size_t	 hlen, vlen = 0;
	char	*rec;
	int	 n;

	n = snprintf(head, sizeof(head), "%s|%llu|%llu|%c|%llu|",
	    CACHEFMT_REC_VERSION, (unsigned long long)epoch,
	    (unsigned long long)depoch, result == FACT_FOUND ? 'F' : 'N',
	    (unsigned long long)stored_ms);
	hlen = (size_t)n;
	if (result == FACT_FOUND && value != NULL) {
		vlen = strlen(value);
		if (vlen > CACHEFMT_VALUE_MAX)
			vlen = CACHEFMT_VALUE_MAX;
	}
	rec = xmalloc(hlen + vlen + 1);
	memcpy(rec, head, hlen);
	if (vlen > 0)
		memcpy(rec + hlen, value, vlen);
	rec[hlen + vlen] = '\0';
	*len_r = hlen + vlen;
	return rec;
}

char *
cachefmt_tombstone(uint64_t now_ms, size_t *len_r)
{
	char	*t = xasprintf("T|%llu", (unsigned long long)now_ms);

	*len_r = strlen(t);
	return t;
}

int
cachefmt_u64_parse(const char *s, size_t len, uint64_t *v_r)
{
	uint64_t v = 0;
	size_t	 i;

	if (len == 0 || len > CACHEFMT_U64_DIGITS)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*v_r = v;
	return 0;
}

/* rec_field - the next '|'-terminated field of s[*pos..len) */
static int
rec_field(const char *s, size_t len, size_t *pos, const char **f_r,
    size_t *flen_r)
{
	const char *bar;

	if (*pos > len)
		return -1;
	bar = memchr(s + *pos, '|', len - *pos);
	if (bar == NULL)
		return -1;
	*f_r = s + *pos;
	*flen_r = (size_t)(bar - (s + *pos));
	*pos = (size_t)(bar - s) + 1;
	return 0;
}

int
cachefmt_rec_parse(const char *s, size_t len, struct cachefmt_rec *r)
{
	const char *f;
	size_t	 flen, pos = 0;

	memset(r, 0, sizeof(*r));
	if (s == NULL)
		return -1;
	if (len >= 2 && s[0] == 'T' && s[1] == '|') {
		r->tombstone = true;
		return cachefmt_u64_parse(s + 2, len - 2, &r->stored_ms);
	}
	if (rec_field(s, len, &pos, &f, &flen) < 0 ||
	    flen != strlen(CACHEFMT_REC_VERSION) ||
	    memcmp(f, CACHEFMT_REC_VERSION, flen) != 0)
		return -1;
	if (rec_field(s, len, &pos, &f, &flen) < 0 ||
	    cachefmt_u64_parse(f, flen, &r->epoch) < 0)
		return -1;
	if (rec_field(s, len, &pos, &f, &flen) < 0 ||
	    cachefmt_u64_parse(f, flen, &r->depoch) < 0)
		return -1;
	if (rec_field(s, len, &pos, &f, &flen) < 0 || flen != 1)
		return -1;
	if (f[0] == 'F')
		r->result = FACT_FOUND;
	else if (f[0] == 'N')
		r->result = FACT_NOT_FOUND;
	else
		return -1;
	if (rec_field(s, len, &pos, &f, &flen) < 0 ||
	    cachefmt_u64_parse(f, flen, &r->stored_ms) < 0)
		return -1;
	r->value = s + pos;
	r->vlen = len - pos;
	if (r->vlen > CACHEFMT_VALUE_MAX || memchr(r->value, '\0',
	    r->vlen) != NULL)
		return -1;
	/* Postfix: an empty value is "not found"; a record saying FOUND
	 * with nothing is not one we wrote */
	if (r->result == FACT_FOUND && r->vlen == 0)
		return -1;
	if (r->result == FACT_NOT_FOUND && r->vlen != 0)
		return -1;
	return 0;
}

void
cachefmt_read_keys(const char *ns, const char *key, size_t klen,
    char *keys[CACHEFMT_READ_PER], size_t lens[CACHEFMT_READ_PER])
{
	keys[0] = cachefmt_rkey_depoch(key, klen, &lens[0]);
	keys[1] = cachefmt_rkey(ns, key, klen, &lens[1]);
}

enum cachefmt_judgement
cachefmt_judge(const struct cachefmt_ttl *ttl, const uint64_t *epoch,
    const char *dv, size_t dlen, const char *rv, size_t rlen,
    uint64_t now_ms, uint64_t *depoch_r, struct cachefmt_rec *rec_r)
{
	*depoch_r = 0;
	if (dv == NULL)
		return CACHEFMT_J_NO_DEPOCH;
	if (cachefmt_u64_parse(dv, dlen, depoch_r) < 0)
		return CACHEFMT_J_FOREIGN;
	if (rv == NULL)
		return CACHEFMT_J_ABSENT;
	if (cachefmt_rec_parse(rv, rlen, rec_r) < 0)
		return CACHEFMT_J_UNREADABLE;
	if (rec_r->tombstone)
		return CACHEFMT_J_TOMBSTONE;
	if (epoch == NULL || rec_r->epoch != *epoch ||
	    rec_r->depoch != *depoch_r)
		return CACHEFMT_J_FLUSHED;
	switch (cachefmt_age(ttl, rec_r->result, rec_r->stored_ms, now_ms)) {
	case CACHEFMT_FRESH:
		return CACHEFMT_J_FRESH;
	case CACHEFMT_STALE:
		return CACHEFMT_J_STALE;
	case CACHEFMT_EXPIRED:
		break;
	}
	return CACHEFMT_J_EXPIRED;
}

uint64_t
cachefmt_ttl_of(const struct cachefmt_ttl *ttl, enum fact_result result)
{
	return result == FACT_FOUND ? ttl->positive_ms : ttl->negative_ms;
}

enum cachefmt_age
cachefmt_age(const struct cachefmt_ttl *ttl, enum fact_result result,
    uint64_t stored_ms, uint64_t now_ms)
{
	uint64_t age = now_ms > stored_ms ? now_ms - stored_ms : 0;
	uint64_t life = cachefmt_ttl_of(ttl, result);

	if (result == FACT_UNAVAILABLE)
		return CACHEFMT_EXPIRED;	/* never cached */
	if (age < life)
		return CACHEFMT_FRESH;
	if (age - life < ttl->stale_ms)
		return CACHEFMT_STALE;
	return CACHEFMT_EXPIRED;
}

int
cachefmt_inval_parse(const char *payload, enum cachefmt_inval *kind_r,
    const char **arg_r)
{
	size_t	 len;

	if (payload == NULL)
		return -1;
	len = strlen(payload);
	if (len > CACHEFMT_PAYLOAD_MAX)
		return -1;
	if (strcmp(payload, "all") == 0) {
		*kind_r = CACHEFMT_INVAL_ALL;
		*arg_r = payload + len;
		return 0;
	}
	if (len > 2 && payload[1] == ':' && (payload[0] == 'a' ||
	    payload[0] == 'd')) {
		*kind_r = payload[0] == 'a' ? CACHEFMT_INVAL_KEY :
		    CACHEFMT_INVAL_DOMAIN;
		*arg_r = payload + 2;
		return 0;
	}
	return -1;
}
