/*
 * rcachesync - blocking Redis calls with timeouts. See rcachesync.h.
 *
 * Depends on: hiredis (blocking API), store/rcache (endpoint syntax),
 * store/sentinel, util/. Security: the password is sent with AUTH and
 * never logged; replies are only checked for errors here (reads are
 * parsed by the caller through core/cachefmt).
 */
#include <sys/random.h>
#include <sys/time.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "store/rcache.h"
#include "store/rcachesync.h"
#include "store/sentinel.h"
#include "util/clock.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define RCACHESYNC_ERR_MAX	(SENTINEL_ERR_MAX + 64)

struct rcachesync {
	char	*path, *host;
	int	 port;
	struct sentinel *sentinel;	/* NULL: a fixed endpoint */
	uint64_t gen;			/* of the master rs->c is to */
	char	*password;
	unsigned db;
	unsigned timeout_ms;
	redisContext *c;
	bool	 reused;	/* c was open before this call */
	bool	 io_error;	/* the last failure was the connection's */
	char	 err[RCACHESYNC_ERR_MAX];
};

struct rcachesync *
rcachesync_new(const struct rcachesync_opts *opts)
{
	struct rcachesync *rs = xcalloc(1, sizeof(*rs));

	if (opts->sentinel != NULL)
		rs->sentinel = sentinel_ref(opts->sentinel);
	else
		rcache_endpoint_split(opts->endpoint, &rs->path, &rs->host,
		    &rs->port);
	rs->password = opts->password != NULL ? xstrdup(opts->password) :
	    NULL;
	rs->db = opts->db;
	rs->timeout_ms = opts->timeout_ms;
	return rs;
}

static void
rs_close(struct rcachesync *rs)
{
	if (rs->c != NULL)
		redisFree(rs->c);
	rs->c = NULL;
}

void
rcachesync_free(struct rcachesync **rsp)
{
	struct rcachesync *rs = *rsp;

	*rsp = NULL;
	if (rs == NULL)
		return;
	rs_close(rs);
	free(rs->path);
	free(rs->host);
	if (rs->password != NULL) {
		explicit_bzero(rs->password, strlen(rs->password));
		free(rs->password);
	}
	sentinel_unref(&rs->sentinel);
	free(rs);
}

/* rs_fail - remember why, drop the connection; returns -1 */
static int
rs_fail(struct rcachesync *rs, const char *what, const char *why,
    size_t len)
{
	char	 s[STR_SANITIZE_MAX + 4];

	/* with Sentinel, which master it was */
	if (rs->sentinel != NULL && rs->host != NULL && rs->gen != 0)
		snprintf(rs->err, sizeof(rs->err), "master %s:%d: %s: %s",
		    rs->host, rs->port, what, str_sanitize(s, why, len,
		    STR_SANITIZE_MAX));
	else
		snprintf(rs->err, sizeof(rs->err), "%s: %s", what,
		    str_sanitize(s, why, len, STR_SANITIZE_MAX));
	rs_close(rs);
	return -1;
}

/* rs_suspect - with Sentinel, this master failed: let it ask again */
static void
rs_suspect(struct rcachesync *rs)
{
	if (rs->sentinel != NULL)
		sentinel_suspect(rs->sentinel, rs->gen);
}

/* rs_reply - read one reply; -1 on a connection error or an error reply */
static int
rs_reply(struct rcachesync *rs, const char *what, redisReply **reply_r)
{
	redisReply *reply = NULL;

	if (redisGetReply(rs->c, (void **)&reply) != REDIS_OK ||
	    reply == NULL) {
		/* closed or reset, not timed out: worth one more try */
		rs->io_error = rs->c->err == REDIS_ERR_EOF ||
		    (rs->c->err == REDIS_ERR_IO && errno != EAGAIN &&
		    errno != EWOULDBLOCK);
		rs_suspect(rs);
		return rs_fail(rs, what, rs->c->errstr, strlen(rs->c->errstr));
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		int	 rc;

		/* a master turned replica: worth one more try, elsewhere */
		if (sentinel_readonly(reply->str, (size_t)reply->len)) {
			rs->io_error = true;
			rs_suspect(rs);
		}
		rc = rs_fail(rs, what, reply->str, (size_t)reply->len);
		freeReplyObject(reply);
		return rc;
	}
	if (reply_r != NULL)
		*reply_r = reply;
	else
		freeReplyObject(reply);
	return 0;
}

/*
 * rs_master - with Sentinel, the master to use now: a connection to an
 * earlier one is closed. Returns 0, or -1 (*rs->err set).
 */
static int
rs_master(struct rcachesync *rs)
{
	struct sentinel_master m;
	char	 err[SENTINEL_ERR_MAX];

	if (rs->sentinel == NULL)
		return 0;
	if (sentinel_master(rs->sentinel, rs->timeout_ms, &m, err) < 0) {
		rs_close(rs);
		snprintf(rs->err, sizeof(rs->err), "%s", err);
		return -1;
	}
	if (rs->c != NULL && m.gen == rs->gen)
		return 0;
	rs_close(rs);
	free(rs->host);
	rs->host = xstrdup(m.host);
	rs->port = (int)m.port;
	rs->gen = m.gen;
	return 0;
}

/* rs_role - with Sentinel, the master must say it is one */
static int
rs_role(struct rcachesync *rs)
{
	const char *argv[1] = { "ROLE" };
	size_t	 lens[1] = { 4 };
	char	 err[SENTINEL_ERR_MAX];
	redisReply *reply;
	int	 rc;

	redisAppendCommandArgv(rs->c, 1, argv, lens);
	if (rs_reply(rs, "ROLE", &reply) < 0)
		return -1;
	if ((rc = sentinel_role_check(reply, err)) < 0) {
		rs_suspect(rs);
		rs_fail(rs, "ROLE", err, strlen(err));
	}
	freeReplyObject(reply);
	return rc;
}

static int
rs_connect(struct rcachesync *rs)
{
	struct timeval tv;
	const char *argv[2];
	size_t	 lens[2];
	char	 db[16];
	bool	 auth = rs->password != NULL && rs->password[0] != '\0';

	rs->io_error = false;
	if (rs_master(rs) < 0)
		return -1;
	rs->reused = rs->c != NULL;
	if (rs->c != NULL)
		return 0;
	if (rs->path == NULL && rs->host == NULL)
		return -1;
	tv = clock_tv_ms(rs->timeout_ms);
	if (rs->path != NULL)
		rs->c = redisConnectUnixWithTimeout(rs->path, tv);
	else
		rs->c = redisConnectWithTimeout(rs->host, rs->port, tv);
	if (rs->c == NULL)
		return rs_fail(rs, "connect", "out of memory", 13);
	if (rs->c->err) {
		rs_suspect(rs);
		return rs_fail(rs, "connect", rs->c->errstr,
		    strlen(rs->c->errstr));
	}
	if (redisSetTimeout(rs->c, tv) != REDIS_OK)
		return rs_fail(rs, "connect", "cannot set timeout", 18);
	if (auth) {
		argv[0] = "AUTH";
		argv[1] = rs->password;
		lens[0] = 4;
		lens[1] = strlen(rs->password);
		redisAppendCommandArgv(rs->c, 2, argv, lens);
	}
	if (rs->db != 0) {
		snprintf(db, sizeof(db), "%u", rs->db);
		argv[0] = "SELECT";
		argv[1] = db;
		lens[0] = 6;
		lens[1] = strlen(db);
		redisAppendCommandArgv(rs->c, 2, argv, lens);
	}
	if (auth && rs_reply(rs, "AUTH", NULL) < 0)
		return -1;
	if (rs->db != 0 && rs_reply(rs, "SELECT", NULL) < 0)
		return -1;
	if (rs->sentinel != NULL && rs_role(rs) < 0)
		return -1;
	return 0;
}

static int
rs_tombstone(struct rcachesync *rs, const char *const *keys,
    const size_t *klens, size_t n, uint64_t now_ms, uint64_t px_ms,
    const char **error_r)
{
	char	 val[32], px[24];
	size_t	 i;

	*error_r = rs->err;
	if (n > RCACHESYNC_KEYS_MAX)
		return rs_fail(rs, "tombstone", "too many keys", 13);
	if (rs_connect(rs) < 0)
		return -1;
	snprintf(val, sizeof(val), "T|%llu", (unsigned long long)now_ms);
	snprintf(px, sizeof(px), "%llu", (unsigned long long)px_ms);
	for (i = 0; i < n; i++) {
		const char *argv[5] = { "SET", keys[i], val, "PX", px };
		size_t	 lens[5] = { 3, klens[i], strlen(val), 2, strlen(px) };

		redisAppendCommandArgv(rs->c, 5, argv, lens);
	}
	for (i = 0; i < n; i++)
		if (rs_reply(rs, "SET", NULL) < 0)
			return -1;
	return 0;
}

static int
rs_new_epoch(struct rcachesync *rs, const char *key, uint64_t *epoch_r,
    const char **error_r)
{
	uint64_t e;
	char	 val[24], px[24];
	const char *argv[5];
	size_t	 lens[5];

	*error_r = rs->err;
	if (getrandom(&e, sizeof(e), 0) != (ssize_t)sizeof(e))
		return rs_fail(rs, "epoch", "no random numbers", 17);
	if (rs_connect(rs) < 0)
		return -1;
	snprintf(val, sizeof(val), "%llu", (unsigned long long)e);
	snprintf(px, sizeof(px), "%llu",
	    (unsigned long long)CACHEFMT_EPOCH_TTL_MS);
	argv[0] = "SET";
	argv[1] = key;
	argv[2] = val;
	argv[3] = "PX";
	argv[4] = px;
	lens[0] = 3;
	lens[1] = strlen(key);
	lens[2] = strlen(val);
	lens[3] = 2;
	lens[4] = strlen(px);
	redisAppendCommandArgv(rs->c, 5, argv, lens);
	if (rs_reply(rs, "SET", NULL) < 0)
		return -1;
	if (epoch_r != NULL)
		*epoch_r = e;
	return 0;
}

static int
rs_get(struct rcachesync *rs, const char *const *keys, const size_t *klens,
    size_t n, struct rcachesync_val *vals, const char **error_r)
{
	redisReply *reply;
	size_t	 i;

	*error_r = rs->err;
	memset(vals, 0, n * sizeof(*vals));
	if (n > RCACHESYNC_KEYS_MAX)
		return rs_fail(rs, "get", "too many keys", 13);
	if (rs_connect(rs) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		const char *argv[2] = { "GET", keys[i] };
		size_t	 lens[2] = { 3, klens[i] };

		redisAppendCommandArgv(rs->c, 2, argv, lens);
		argv[0] = "PTTL";
		lens[0] = 4;
		redisAppendCommandArgv(rs->c, 2, argv, lens);
	}
	for (i = 0; i < n; i++) {
		if (rs_reply(rs, "GET", &reply) < 0)
			goto fail;
		if (reply->type == REDIS_REPLY_STRING) {
			vals[i].s = xmalloc((size_t)reply->len + 1);
			memcpy(vals[i].s, reply->str, (size_t)reply->len);
			vals[i].s[reply->len] = '\0';
			vals[i].len = (size_t)reply->len;
		}
		freeReplyObject(reply);
		if (rs_reply(rs, "PTTL", &reply) < 0)
			goto fail;
		vals[i].pttl_ms = reply->type == REDIS_REPLY_INTEGER ?
		    reply->integer : -2;
		freeReplyObject(reply);
	}
	return 0;
fail:
	for (i = 0; i < n; i++) {
		free(vals[i].s);
		vals[i].s = NULL;
	}
	return -1;
}

/*
 * A connection that was idle may have been closed by a Redis restart;
 * that shows only when it is used: then one more try on a new one.
 */
#define RS_RETRY(call) do {						\
	int	 rc_ = (call);						\
									\
	if (rc_ < 0 && rs->reused && rs->io_error)			\
		rc_ = (call);						\
	return rc_;							\
} while (0)

int
rcachesync_tombstone(struct rcachesync *rs, const char *const *keys,
    const size_t *klens, size_t n, uint64_t now_ms, uint64_t px_ms,
    const char **error_r)
{
	RS_RETRY(rs_tombstone(rs, keys, klens, n, now_ms, px_ms, error_r));
}

int
rcachesync_new_epoch(struct rcachesync *rs, const char *key,
    uint64_t *epoch_r, const char **error_r)
{
	RS_RETRY(rs_new_epoch(rs, key, epoch_r, error_r));
}

int
rcachesync_get(struct rcachesync *rs, const char *const *keys,
    const size_t *klens, size_t n, struct rcachesync_val *vals,
    const char **error_r)
{
	RS_RETRY(rs_get(rs, keys, klens, n, vals, error_r));
}

int
rcachesync_invalidate(struct rcachesync *rs, const char *payload,
    const char (*ns)[CACHEFMT_NS_LEN + 1], size_t nns, uint64_t now_ms,
    const char **error_r)
{
	enum cachefmt_inval kind;
	const char *arg;
	char	*keys[RCACHESYNC_KEYS_MAX] = { 0 }, *k;
	size_t	 lens[RCACHESYNC_KEYS_MAX], n = 0, i, j;
	int	 rc = 0;

	if (cachefmt_inval_parse(payload, &kind, &arg) < 0)
		kind = CACHEFMT_INVAL_ALL;
	switch (kind) {
	case CACHEFMT_INVAL_KEY:
		for (i = 0; i < nns && n < RCACHESYNC_KEYS_MAX; i++) {
			k = cachefmt_rkey(ns[i], arg, strlen(arg), &lens[n]);
			for (j = 0; j < n && strcmp(keys[j], k) != 0; j++)
				;
			if (j < n)
				free(k);
			else
				keys[n++] = k;
		}
		rc = rcachesync_tombstone(rs, (const char *const *)keys, lens,
		    n, now_ms, CACHEFMT_TOMBSTONE_MS, error_r);
		for (i = 0; i < n; i++)
			free(keys[i]);
		break;
	case CACHEFMT_INVAL_DOMAIN:
		k = xasprintf("%s%s", CACHEFMT_RKEY_DEPOCH, arg);
		rc = rcachesync_new_epoch(rs, k, NULL, error_r);
		free(k);
		break;
	case CACHEFMT_INVAL_ALL:
		rc = rcachesync_new_epoch(rs, CACHEFMT_RKEY_EPOCH, NULL,
		    error_r);
		break;
	}
	return rc;
}
